/* bl_common.c - shared plumbing of the baselines: common --set keys, the LLM-order sequence
 * builder that turns (flat index, position, vector) entries into a tg_prune_output, newline
 * layouts, per-layer accounting and the JSON run record. No method logic lives here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

void bl_set_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || !err_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

bl_geometry bl_geometry_default(bl_model model) {
    bl_geometry g;
    memset(&g, 0, sizeof g);
    g.model = model;
    g.n_frames = model == BL_MODEL_VIDEO ? 64 : 32;
    g.grid_h = g.grid_w = model == BL_MODEL_VIDEO ? 13 : 14;
    g.n_layers = 28;
    g.account = BL_ACCOUNT_SEQ;
    return g;
}

int64_t bl_full_len(const bl_geometry *g) {
    int64_t L = g->grid_h * g->grid_w;
    return g->model == BL_MODEL_VIDEO ? g->n_frames * (L + g->grid_h) : g->n_frames * L + 1;
}

/* ===== common keys ===== */

int bl_ctx_init(bl_ctx *c, const char *name, const tg_prune_input *in, const char *const *keys, char *err,
                size_t err_len) {
    memset(c, 0, sizeof *c);
    c->name = name;
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
    c->n_layers = 28;
    const char *v;
    if ((v = tg_param_get(in, "compat"))) {
        if (!strcmp(v, "paper")) c->paper = 1;
        else if (strcmp(v, "official")) {
            bl_set_err(err, err_len, "%s: parameter compat=%s: expected official or paper", name, v);
            return TG_ERR_INPUT;
        }
    }
    if ((v = tg_param_get(in, "model"))) {
        if (!strcmp(v, "llava-video")) c->model = BL_MODEL_VIDEO;
        else if (strcmp(v, "llava-ov")) {
            bl_set_err(err, err_len, "%s: parameter model=%s: expected llava-ov or llava-video", name, v);
            return TG_ERR_INPUT;
        }
    }
    if ((v = tg_param_get(in, "account"))) {
        if (!strcmp(v, "content")) c->account = BL_ACCOUNT_CONTENT;
        else if (strcmp(v, "seq")) {
            bl_set_err(err, err_len, "%s: parameter account=%s: expected seq or content", name, v);
            return TG_ERR_INPUT;
        }
    }
    int64_t iv = 0;
    st = tg_param_int(in, "seed", 0, INT64_MAX, &iv, err, err_len);
    if (st < 0) return st;
    if (st == 1) c->seed = (uint64_t)iv;
    st = tg_param_double(in, "jitter", 0.0, 1.0, &c->jitter, err, err_len);
    if (st < 0) return st;
    iv = c->n_layers;
    st = tg_param_int(in, "layers", 1, TG_MAX_LAYERS, &iv, err, err_len);
    if (st < 0) return st;
    c->n_layers = (int)iv;
    c->geo.model = c->model;
    c->geo.n_frames = c->T;
    c->geo.grid_h = c->H;
    c->geo.grid_w = c->W;
    c->geo.n_layers = c->n_layers;
    c->geo.account = c->account;
    return TG_OK;
}

/* ===== sequence builder ===== */

void bl_seq_push(bl_seq *s, int64_t id, int64_t pos, const float *vec) {
    if (s->oom) return;
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 1024;
        int64_t *a = realloc(s->id, (size_t)cap * sizeof *a);
        if (a) s->id = a;
        int64_t *b = a ? realloc(s->pos, (size_t)cap * sizeof *b) : NULL;
        if (b) s->pos = b;
        const float **v = b ? realloc(s->vec, (size_t)cap * sizeof *v) : NULL;
        if (!v) {
            s->oom = 1;
            return;
        }
        s->vec = v;
        s->cap = cap;
    }
    s->id[s->n] = id;
    s->pos[s->n] = pos;
    s->vec[s->n] = vec;
    s->n++;
}

float *bl_seq_block(bl_seq *s, size_t n) {
    if (s->oom) return NULL;
    if (s->n_blocks == s->cap_blocks) {
        int cap = s->cap_blocks ? 2 * s->cap_blocks : 16;
        float **b = realloc(s->blocks, (size_t)cap * sizeof *b);
        if (!b) {
            s->oom = 1;
            return NULL;
        }
        s->blocks = b;
        s->cap_blocks = cap;
    }
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        s->oom = 1;
        return NULL;
    }
    s->blocks[s->n_blocks++] = p;
    return p;
}

void bl_seq_free(bl_seq *s) {
    if (!s) return;
    free(s->id);
    free(s->pos);
    free(s->vec);
    for (int i = 0; i < s->n_blocks; i++) free(s->blocks[i]);
    free(s->blocks);
    memset(s, 0, sizeof *s);
}

int bl_entry_cmp(const void *a, const void *b) {
    int64_t x = ((const bl_entry *)a)->id, y = ((const bl_entry *)b)->id;
    return (x > y) - (x < y);
}

int bl_emit_entries(bl_seq *s, const bl_entry *list, int64_t n, int ov, int64_t T, int64_t H, int64_t W,
                    int original_pos) {
    if (ov) {
        for (int64_t i = 0; i < n; i++) bl_seq_push(s, list[i].id, original_pos ? list[i].id : -1, list[i].v);
        bl_seq_push(s, TG_NEWLINE, original_pos ? T * H * W : -1, NULL);
        return s->oom ? TG_ERR_NOMEM : TG_OK;
    }
    int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    const float **vv = malloc((size_t)(n ? n : 1) * sizeof *vv);
    if (!ids || !vv) {
        free(ids);
        free(vv);
        return TG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        ids[i] = list[i].id;
        vv[i] = list[i].v;
    }
    bl_emit_grid(s, ids, vv, n, T, H, W, 0, original_pos);
    free(ids);
    free(vv);
    return s->oom ? TG_ERR_NOMEM : TG_OK;
}

void bl_emit_grid(bl_seq *s, const int64_t *ids, const float *const *vecs, int64_t n, int64_t T, int64_t H,
                  int64_t W, int empty_rows, int original_pos) {
    int64_t L = H * W, k = 0;
    for (int64_t t = 0; t < T; t++)
        for (int64_t r = 0; r < H; r++) {
            int64_t row_id = t * H + r, cnt = 0;
            while (k < n && ids[k] / W == row_id) {
                int64_t l = ids[k] - t * L, col = l % W;
                bl_seq_push(s, ids[k], original_pos ? t * H * (W + 1) + r * (W + 1) + col : -1, vecs[k]);
                k++;
                cnt++;
            }
            if (cnt > 0 || empty_rows) bl_seq_push(s, TG_NEWLINE, original_pos ? t * H * (W + 1) + r * (W + 1) + W : -1, NULL);
        }
}

typedef struct {
    int64_t id, at;
} id_at;

static int cmp_id_at(const void *a, const void *b) {
    int64_t x = ((const id_at *)a)->id, y = ((const id_at *)b)->id;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void bl_sort_i64(int64_t *v, int64_t n) {
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_i64);
}

int bl_seq_finish(bl_seq *s, const bl_ctx *c, tg_prune_output *out, const tg_llm_plan *plan, char *err,
                  size_t err_len) {
    if (s->oom) goto oom;
    int64_t n_content = 0, D = c->D;
    for (int64_t i = 0; i < s->n; i++) n_content += s->id[i] != TG_NEWLINE;
    id_at *ia = malloc((size_t)(n_content ? n_content : 1) * sizeof *ia);
    out->kept = malloc((size_t)(n_content ? n_content : 1) * sizeof *out->kept);
    out->tokens = malloc((size_t)(n_content ? n_content : 1) * (size_t)D * sizeof *out->tokens);
    out->order = malloc((size_t)(s->n ? s->n : 1) * sizeof *out->order);
    out->positions = malloc((size_t)(s->n ? s->n : 1) * sizeof *out->positions);
    if (!ia || !out->kept || !out->tokens || !out->order || !out->positions) {
        free(ia);
        goto oom;
    }
    int64_t k = 0;
    for (int64_t i = 0; i < s->n; i++) {
        out->order[i] = s->id[i];
        out->positions[i] = s->pos[i] >= 0 ? s->pos[i] : i;
        if (s->id[i] != TG_NEWLINE) ia[k++] = (id_at){s->id[i], i};
    }
    qsort(ia, (size_t)n_content, sizeof *ia, cmp_id_at);
    for (int64_t j = 0; j < n_content; j++) {
        if (j > 0 && ia[j].id == ia[j - 1].id) {
            bl_set_err(err, err_len, "%s: internal error: flat index %lld emitted twice", c->name, (long long)ia[j].id);
            free(ia);
            return TG_ERR_INTERNAL;
        }
        out->kept[j] = ia[j].id;
        memcpy(out->tokens + (size_t)j * D, s->vec[ia[j].at], (size_t)D * sizeof *out->tokens);
    }
    free(ia);
    out->n_kept = n_content;
    out->dim = D;
    out->n_seq = s->n;
    out->n_newlines = s->n - n_content;
    out->n_visual_full = bl_full_len(&c->geo);
    if (plan) out->plan = *plan;
    tg_account_layers(out, c->n_layers, c->T * c->L);
    out->compat = c->paper ? "paper" : "official";
    return TG_OK;
oom:
    bl_set_err(err, err_len, "%s: out of memory assembling the output", c->name);
    return TG_ERR_NOMEM;
}

double bl_realised(const tg_prune_output *out, bl_account a) {
    return a == BL_ACCOUNT_CONTENT ? out->equiv_retention_content : out->equiv_retention;
}

void bl_quirk(tg_prune_output *out, const char *name) {
    if (out->n_quirks < TG_MAX_QUIRKS) out->quirks[out->n_quirks++] = name;
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
    if (j->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = j->cap - j->n;
        int w = j->s ? vsnprintf(j->s + j->n, room, fmt, ap) : -2;
        va_end(ap);
        if (w >= 0 && (size_t)w < room) {
            j->n += (size_t)w;
            return;
        }
        if (w == -1) {
            j->oom = 1;
            return;
        }
        size_t cap = j->cap ? 2 * j->cap : 512;
        while (w > 0 && cap < j->n + (size_t)w + 1) cap *= 2;
        char *p = realloc(j->s, cap);
        if (!p) {
            j->oom = 1;
            return;
        }
        j->s = p;
        j->cap = cap;
    }
}

void bl_json_common(bl_json *j, const bl_ctx *c) {
    bl_json_add(j, "{\"method\":\"%s\",\"model\":\"%s\",\"compat\":\"%s\",\"account\":\"%s\",\"layers\":%d,"
                   "\"seed\":%llu,\"jitter\":%.17g,\"target_r\":%.17g,",
                c->name, c->model == BL_MODEL_VIDEO ? "llava-video" : "llava-ov", c->paper ? "paper" : "official",
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
    if (j->oom) {
        free(j->s);
        j->s = NULL;
        bl_set_err(err, err_len, "%s: out of memory (run record)", c->name);
        return TG_ERR_NOMEM;
    }
    out->params_json = j->s;
    j->s = NULL;
    return TG_OK;
}
