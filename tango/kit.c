/* kit.c - parameter parsing, the layout emitter and the per-layer accounting every method shares
 * (see kit.h). */
#include "tango/kit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tango/retention.h"
#include "tango/tg_internal.h"

/* ===== parameters ===== */

static int key_match(const char *kv, const char *key) {
    size_t n = strlen(key);
    return !strncmp(kv, key, n) && kv[n] == '=';
}

int tg_params_check(const tg_prune_input *in, const char *const *keys, char *err, size_t err_len) {
    for (int i = 0; i < in->n_params; i++) {
        const char *kv = in->params[i];
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq || eq == kv) {
            tb_set_err(err, err_len, "parameter '%s' is not key=value", kv ? kv : "(null)");
            return TG_ERR_INPUT;
        }
        int ok = 0;
        for (const char *const *k = keys; k && *k && !ok; k++) ok = key_match(kv, *k);
        if (!ok) {
            tb_set_err(err, err_len, "unknown parameter '%.*s'", (int)(eq - kv), kv);
            return TG_ERR_INPUT;
        }
    }
    return TG_OK;
}

const char *tg_param_get(const tg_prune_input *in, const char *key) {
    const char *v = NULL;
    for (int i = 0; i < in->n_params; i++)
        if (in->params[i] && key_match(in->params[i], key)) v = in->params[i] + strlen(key) + 1;
    return v;
}

int tg_param_double(const tg_prune_input *in, const char *key, double lo, double hi, double *v, char *err,
                    size_t err_len) {
    const char *s = tg_param_get(in, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(x) || x < lo || x > hi) {
        tb_set_err(err, err_len, "parameter %s=%s: expected a number in [%g, %g]", key, s, lo, hi);
        return TG_ERR_INPUT;
    }
    *v = x;
    return 1;
}

int tg_param_int(const tg_prune_input *in, const char *key, int64_t lo, int64_t hi, int64_t *v, char *err,
                 size_t err_len) {
    const char *s = tg_param_get(in, key);
    if (!s) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno || x < lo || x > hi) {
        tb_set_err(err, err_len, "parameter %s=%s: expected an integer in [%lld, %lld]", key, s, (long long)lo,
                   (long long)hi);
        return TG_ERR_INPUT;
    }
    *v = x;
    return 1;
}

int tg_param_int_list(const tg_prune_input *in, const char *key, int64_t *v, int max, int *n, char *err,
                      size_t err_len) {
    const char *s = tg_param_get(in, key);
    if (!s) return 0;
    *n = 0;
    if (!*s || !strcmp(s, "none")) return 1;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || (*end && *end != ',')) {
            tb_set_err(err, err_len, "parameter %s=%s: expected a comma list of integers", key, s);
            return TG_ERR_INPUT;
        }
        if (*n >= max) {
            tb_set_err(err, err_len, "parameter %s: more than %d values", key, max);
            return TG_ERR_INPUT;
        }
        v[(*n)++] = x;
        if (!*end) break;
        p = end + 1;
    }
    return 1;
}

int tg_param_choice(const tg_prune_input *in, const char *key, const char *const *names, int *v, char *err,
                    size_t err_len) {
    const char *s = tg_param_get(in, key);
    if (!s) return 0;
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) {
            *v = i;
            return 1;
        }
    char list[256];
    size_t k = 0;
    list[0] = '\0';
    for (int i = 0; names[i] && k < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? "|" : "", names[i]);
    tb_set_err(err, err_len, "parameter %s=%s: expected %s", key, s, list);
    return TG_ERR_INPUT;
}

/* ===== the layout emitter ===== */

int64_t tg_layout_full_len(tg_newline nl, int64_t T, int64_t H, int64_t W) {
    switch (nl) {
    case TG_NEWLINE_ONE: return T * H * W + 1;
    case TG_NEWLINE_ROW: return T * H * (W + 1);
    case TG_NEWLINE_NONE: return T * H * W;
    }
    return -1;
}

int tg_entry_cmp(const void *a, const void *b) {
    int64_t x = ((const tg_entry *)a)->id, y = ((const tg_entry *)b)->id;
    return (x > y) - (x < y);
}

void tg_seq_push(tg_seq *s, int64_t id, int64_t pos, const float *vec) {
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

float *tg_seq_block(tg_seq *s, size_t n) {
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

void tg_seq_free(tg_seq *s) {
    if (!s) return;
    free(s->id);
    free(s->pos);
    free(s->vec);
    for (int i = 0; i < s->n_blocks; i++) free(s->blocks[i]);
    free(s->blocks);
    memset(s, 0, sizeof *s);
}

int tg_seq_emit(tg_seq *s, const tg_entry *list, int64_t n, tg_newline nl, int64_t T, int64_t H, int64_t W,
                int flags) {
    int orig = flags & TG_EMIT_ORIGINAL_POS;
    if (nl != TG_NEWLINE_ROW) {
        for (int64_t i = 0; i < n; i++) tg_seq_push(s, list[i].id, orig ? list[i].id : -1, list[i].v);
        if (nl == TG_NEWLINE_ONE) tg_seq_push(s, TG_NEWLINE, orig ? T * H * W : -1, NULL);
        return s->oom ? TG_ERR_NOMEM : TG_OK;
    }
    int64_t L = H * W, k = 0;
    for (int64_t t = 0; t < T; t++)
        for (int64_t r = 0; r < H; r++) {
            int64_t row_id = t * H + r, cnt = 0, base = t * H * (W + 1) + r * (W + 1);
            while (k < n && list[k].id / W == row_id) {
                int64_t col = (list[k].id - t * L) % W;
                tg_seq_push(s, list[k].id, orig ? base + col : -1, list[k].v);
                k++;
                cnt++;
            }
            if (cnt > 0 || (flags & TG_EMIT_EMPTY_ROWS)) tg_seq_push(s, TG_NEWLINE, orig ? base + W : -1, NULL);
        }
    return s->oom ? TG_ERR_NOMEM : TG_OK;
}

typedef struct {
    int64_t id, at;
} id_at;

static int cmp_id_at(const void *a, const void *b) {
    int64_t x = ((const id_at *)a)->id, y = ((const id_at *)b)->id;
    return (x > y) - (x < y);
}

int tg_seq_finish(tg_seq *s, const tg_prune_input *in, tg_prune_output *out, const tb_llm_plan *plan,
                  const char *who, char *err, size_t err_len) {
    if (s->oom) goto oom;
    int64_t n_content = 0, D = in->dim;
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
            tb_set_err(err, err_len, "%s: internal error: flat index %lld emitted twice", who, (long long)ia[j].id);
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
    out->n_visual_full = tg_layout_full_len(in->model.newline, in->n_frames, in->grid_h, in->grid_w);
    out->plan = plan ? *plan : tb_llm_plan_default();
    tg_account_layers(out, in->model.n_layers, in->n_frames * in->n_tokens);
    return TG_OK;
oom:
    tb_set_err(err, err_len, "%s: out of memory assembling the output", who);
    return TG_ERR_NOMEM;
}

/* ===== accounting ===== */

void tg_account_layers(tg_prune_output *out, int n_layers, int64_t n_content_full) {
    if (n_layers > TG_MAX_LAYERS) n_layers = TG_MAX_LAYERS;
    if (n_layers < 1) n_layers = 1;
    out->n_layers = n_layers;
    int64_t late_keep = out->plan.layer > 0 ? tb_plan_keep_count(&out->plan, out->n_seq) : out->n_seq;
    double content = 0;
    for (int l = 0; l < n_layers; l++) {
        int late = out->plan.layer > 0 && l >= out->plan.layer;
        out->visual_per_layer[l] = late ? late_keep : out->n_seq;
        content += late ? (double)out->n_kept * out->plan.keep_ratio : (double)out->n_kept;
    }
    out->equiv_retention = tg_equiv_retention(out->visual_per_layer, n_layers, out->n_visual_full);
    out->equiv_retention_content = n_content_full > 0 ? content / n_layers / (double)n_content_full : 0.0;
}

void tg_quirk(tg_prune_output *out, const char *name) {
    if (out->n_quirks < TG_MAX_QUIRKS) out->quirks[out->n_quirks++] = name;
}
