/* bl_common.c - shared plumbing of the baselines: common --set keys, newline counts, emitting
 * through the method kit's layout emitter, and the JSON run record. No method logic lives here. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

bl_geometry bl_geometry_default(tb_family family, int n_layers) {
    bl_geometry g;
    memset(&g, 0, sizeof g);
    g.family = family;
    g.newline = tg_model_layout_default(family, n_layers, 0).newline;
    g.n_frames = family == TB_FAMILY_LLAVA_VIDEO ? 64 : 32;
    g.grid_h = g.grid_w = family == TB_FAMILY_LLAVA_VIDEO ? 13 : 14;
    if (family == TB_FAMILY_QWEN25_VL) { /* 32 frames = 16 slices of a 16:9 video at 448^2: 336x588 px,
                                           12 x 21 merged units (spec qwen25vl.md §2.2) */
        g.n_frames = 16;
        g.grid_h = 12;
        g.grid_w = 21;
    }
    g.n_layers = n_layers;
    g.account = BL_ACCOUNT_SEQ;
    return g;
}

int64_t bl_full_len(const bl_geometry *g) { return tg_layout_full_len(g->newline, g->n_frames, g->grid_h, g->grid_w); }

int64_t bl_newlines(tg_newline nl, int64_t rows) {
    return nl == TG_NEWLINE_ONE ? 1 : nl == TG_NEWLINE_ROW ? rows : 0;
}

/* ===== common keys ===== */

int bl_ctx_init(bl_ctx *c, const char *name, const tg_prune_input *in, const char *const *keys, char *err,
                size_t err_len) {
    memset(c, 0, sizeof *c);
    c->name = name;
    c->in = in;
    int st = tg_prune_input_check(in, err, err_len);
    if (st != TG_OK) return st;
    st = tg_params_check(in, keys, err, err_len);
    if (st != TG_OK) return st;
    c->T = in->n_frames;
    c->L = in->n_tokens;
    c->H = in->grid_h;
    c->W = in->grid_w;
    c->D = in->dim;
    c->target = in->ratio;
    c->seed = in->seed;
    c->jitter = 1e-6;
    c->family = in->model.family;
    c->newline = in->model.newline;
    c->n_layers = in->model.n_layers;
    const char *v;
    if ((v = tg_param_get(in, "compat"))) {
        if (!strcmp(v, "paper")) c->paper = 1;
        else if (strcmp(v, "official")) {
            tb_set_err(err, err_len, "%s: parameter compat=%s: expected official or paper", name, v);
            return TG_ERR_INPUT;
        }
    }
    if ((v = tg_param_get(in, "account"))) {
        if (!strcmp(v, "content")) c->account = BL_ACCOUNT_CONTENT;
        else if (strcmp(v, "seq")) {
            tb_set_err(err, err_len, "%s: parameter account=%s: expected seq or content", name, v);
            return TG_ERR_INPUT;
        }
    }
    int64_t iv = 0;
    st = tg_param_int(in, "seed", 0, INT64_MAX, &iv, err, err_len);
    if (st < 0) return st;
    if (st == 1) c->seed = (uint64_t)iv;
    st = tg_param_double(in, "jitter", 0.0, 1.0, &c->jitter, err, err_len);
    if (st < 0) return st;
    c->geo.family = c->family;
    c->geo.newline = c->newline;
    c->geo.n_frames = c->T;
    c->geo.grid_h = c->H;
    c->geo.grid_w = c->W;
    c->geo.n_layers = c->n_layers;
    c->geo.account = c->account;
    return TG_OK;
}

/* ===== output ===== */

int bl_emit_finish(const bl_ctx *c, tg_seq *s, const tg_entry *list, int64_t n, int flags, tg_prune_output *out,
                   const tb_llm_plan *plan, char *err, size_t err_len) {
    int st = tg_seq_emit(s, list, n, c->newline, c->T, c->H, c->W, flags);
    if (st == TG_OK) st = tg_seq_finish(s, c->in, out, plan, c->name, err, err_len);
    else tb_set_err(err, err_len, "%s: out of memory assembling the output", c->name);
    if (st == TG_OK) out->compat = c->paper ? "paper" : "official";
    return st;
}

double bl_realised(const tg_prune_output *out, bl_account a) {
    return a == BL_ACCOUNT_CONTENT ? out->equiv_retention_content : out->equiv_retention;
}

void bl_quirk(tg_prune_output *out, const char *name) { tg_quirk(out, name); }

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void bl_sort_i64(int64_t *v, int64_t n) {
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_i64);
}

void bl_normalize_rows(const float *x, int64_t n, int64_t D, float *y) {
    for (int64_t i = 0; i < n; i++) {
        const float *a = x + (size_t)i * D;
        float *b = y + (size_t)i * D;
        double s = 0;
        for (int64_t d = 0; d < D; d++) s += (double)a[d] * a[d];
        float nr = (float)sqrt(s);
        if (nr < 1e-12f) nr = 1e-12f;
        for (int64_t d = 0; d < D; d++) b[d] = a[d] / nr;
    }
}

/* ===== JSON ===== */

void bl_json_add(bl_json *j, const char *fmt, ...) {
    if (j->st) return;
    if (!j->b.max) tb_buf_init(&j->b, (size_t)1 << 20);
    va_list ap;
    va_start(ap, fmt);
    j->st = tb_buf_vprintf(&j->b, fmt, ap);
    va_end(ap);
}

void bl_json_common(bl_json *j, const bl_ctx *c) {
    bl_json_add(j, "{\"method\":\"%s\",\"model\":\"%s\",\"compat\":\"%s\",\"account\":\"%s\",\"layers\":%d,"
                   "\"seed\":%llu,\"jitter\":%.17g,\"target_r\":%.17g,",
                c->name, tb_family_name(c->family), c->paper ? "paper" : "official",
                c->account == BL_ACCOUNT_CONTENT ? "content" : "seq", c->n_layers, (unsigned long long)c->seed,
                c->jitter, c->target);
}

int bl_json_finish(bl_json *j, const bl_ctx *c, tg_prune_output *out, const char *how, double predicted, char *err,
                   size_t err_len) {
    double got = bl_realised(out, c->account);
    bl_json_add(j, "\"solve\":\"%s\",\"predicted\":%.17g,\"realised\":%.17g,\"matched\":%s,"
                   "\"equiv_retention\":%.17g,\"equiv_retention_content\":%.17g}",
                how, predicted, got, fabs(got - c->target) <= BL_TOL ? "true" : "false", out->equiv_retention,
                out->equiv_retention_content);
    if (j->st || !(out->params_json = tb_buf_take(&j->b))) {
        tb_buf_free(&j->b);
        tb_set_err(err, err_len, "%s: out of memory (run record)", c->name);
        return TG_ERR_NOMEM;
    }
    return TG_OK;
}
