/* pruner.c - the pruner interface's shared code: input checks, "key=value" parameter parsing,
 * LLaVA output assembly (newline layouts), per-layer token accounting, and the method registry.
 * Methods live in their own files (tango/tango.c, baselines/...). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/flops.h"
#include "tango/primitives.h"
#include "tango/pruner.h"
#include "tango/tg_internal.h"

/* baselines/ registers itself through BL_METHOD_ENTRIES when its header exists; -DTG_NO_BASELINES
 * builds the registry with Tango alone (a tango-only library) */
#if defined(__has_include) && !defined(TG_NO_BASELINES)
#if __has_include("baselines/baselines.h")
#include "baselines/baselines.h"
#endif
#endif
#ifndef BL_METHOD_ENTRIES
#define BL_METHOD_ENTRIES
#endif

/* ===== registry ===== */

/* tango/tango.c */
int tg_tango_prune(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len);
extern const char *const tg_tango_keys[];

const tg_method tg_methods[] = {
    {"tango", "Tango: segmentation, diversity-driven salient selection, ST-RoPE context merging", tg_tango_prune,
     tg_tango_keys},
    BL_METHOD_ENTRIES{NULL, NULL, NULL, NULL},
};

const tg_method *tg_method_find(const char *name) {
    if (!name) return NULL;
    for (const tg_method *m = tg_methods; m->name; m++)
        if (!strcmp(m->name, name)) return m;
    return NULL;
}

const char *tg_status_str(int status) {
    switch (status) {
    case TG_OK: return "ok";
    case TG_ERR_INPUT: return "bad input";
    case TG_ERR_NOMEM: return "out of memory";
    case TG_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

/* ===== input ===== */

tg_prune_input tg_prune_input_default(void) {
    tg_prune_input in;
    memset(&in, 0, sizeof in);
    return in;
}

/* fast vectorisable test first (x * 0 is NaN exactly for NaN and +-Inf; 16 independent lanes),
 * then a scan that names the first bad element */
static int check_finite(const float *v, size_t n, const char *what, int nonneg, char *err, size_t err_len) {
    float acc[16] = {0}, mn[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            float x = v[i + j];
            acc[j] += x * 0.0f;
            mn[j] = x < mn[j] ? x : mn[j];
        }
    int bad = 0;
    for (int j = 0; j < 16; j++) bad |= !(acc[j] == 0.0f) || (nonneg && mn[j] < 0.0f);
    for (; i < n; i++) bad |= !isfinite(v[i]) || (nonneg && v[i] < 0.0f);
    if (!bad) return TG_OK;
    for (i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            tg_set_err(err, err_len, "%s: non-finite value %g at element %zu", what, (double)v[i], i);
            return TG_ERR_INPUT;
        }
        if (nonneg && v[i] < 0) {
            tg_set_err(err, err_len, "%s: negative value %g at element %zu", what, (double)v[i], i);
            return TG_ERR_INPUT;
        }
    }
    return TG_OK;
}

int tg_prune_input_check(const tg_prune_input *in, char *err, size_t err_len) {
    if (!in->features || !in->saliency) {
        tg_set_err(err, err_len, "features and saliency are required");
        return TG_ERR_INPUT;
    }
    if (in->n_frames < 1 || in->n_tokens < 1 || in->dim < 1) {
        tg_set_err(err, err_len, "features must have shape (T, L, D) with T, L, D >= 1 (got %lld, %lld, %lld)",
                   (long long)in->n_frames, (long long)in->n_tokens, (long long)in->dim);
        return TG_ERR_INPUT;
    }
    if (in->grid_h < 1 || in->grid_w < 1 || in->grid_h * in->grid_w != in->n_tokens) {
        tg_set_err(err, err_len, "grid %lldx%lld does not match L=%lld tokens per frame", (long long)in->grid_h,
                   (long long)in->grid_w, (long long)in->n_tokens);
        return TG_ERR_INPUT;
    }
    if (!(in->ratio > 0.0 && in->ratio <= 1.0)) {
        tg_set_err(err, err_len, "ratio %g is outside (0, 1]", in->ratio);
        return TG_ERR_INPUT;
    }
    size_t nf = (size_t)in->n_frames * (size_t)in->n_tokens;
    if (check_finite(in->features, nf * (size_t)in->dim, "features", 0, err, err_len)) return TG_ERR_INPUT;
    if (check_finite(in->saliency, nf, "attention", 1, err, err_len)) return TG_ERR_INPUT;
    if (in->saliency_recv && check_finite(in->saliency_recv, nf, "received attention", 1, err, err_len))
        return TG_ERR_INPUT;
    if (in->timestamps && check_finite(in->timestamps, (size_t)in->n_frames, "timestamps", 0, err, err_len))
        return TG_ERR_INPUT;
    if (in->frame_global &&
        check_finite(in->frame_global, (size_t)in->n_frames * (size_t)in->global_dim, "frame globals", 0, err,
                     err_len))
        return TG_ERR_INPUT;
    return TG_OK;
}

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
            tg_set_err(err, err_len, "parameter '%s' is not key=value", kv ? kv : "(null)");
            return TG_ERR_INPUT;
        }
        int ok = 0;
        for (const char *const *k = keys; k && *k && !ok; k++) ok = key_match(kv, *k);
        if (!ok) {
            tg_set_err(err, err_len, "unknown parameter '%.*s'", (int)(eq - kv), kv);
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
        tg_set_err(err, err_len, "parameter %s=%s: expected a number in [%g, %g]", key, s, lo, hi);
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
        tg_set_err(err, err_len, "parameter %s=%s: expected an integer in [%lld, %lld]", key, s, (long long)lo,
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
            tg_set_err(err, err_len, "parameter %s=%s: expected a comma list of integers", key, s);
            return TG_ERR_INPUT;
        }
        if (*n >= max) {
            tg_set_err(err, err_len, "parameter %s: more than %d values", key, max);
            return TG_ERR_INPUT;
        }
        v[(*n)++] = x;
        if (!*end) break;
        p = end + 1;
    }
    return 1;
}

/* ===== output ===== */

void tg_prune_output_free(tg_prune_output *out) {
    if (!out) return;
    free(out->kept);
    free(out->tokens);
    free(out->order);
    free(out->positions);
    free(out->segments);
    free(out->params_json);
    memset(out, 0, sizeof *out);
}

int tg_assemble_llava(tg_prune_output *out, int64_t T, int64_t H, int64_t W, int newline_grid) {
    int64_t L = H * W, n = out->n_kept;
    int64_t cap = newline_grid ? 2 * n : n + 1;
    int64_t *order = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *order);
    if (!order) return TG_ERR_NOMEM;
    int64_t k = 0, nl = 0;
    if (!newline_grid) {
        for (int64_t i = 0; i < n; i++) order[k++] = out->kept[i];
        order[k++] = TG_NEWLINE;
        nl = 1;
    } else {
        for (int64_t i = 0; i < n; i++) {
            order[k++] = out->kept[i];
            int64_t row = out->kept[i] / W; /* global row id: frame * H + row */
            if (i + 1 == n || out->kept[i + 1] / W != row) {
                order[k++] = TG_NEWLINE;
                nl++;
            }
        }
    }
    int64_t *pos = malloc((size_t)(k > 0 ? k : 1) * sizeof *pos);
    if (!pos) {
        free(order);
        return TG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < k; i++) pos[i] = i;
    free(out->order);
    free(out->positions);
    out->order = order;
    out->positions = pos;
    out->n_seq = k;
    out->n_newlines = nl;
    out->n_visual_full = newline_grid ? T * (L + H) : T * L + 1;
    return TG_OK;
}

void tg_account_layers(tg_prune_output *out, int n_layers, int64_t n_content_full) {
    if (n_layers > TG_MAX_LAYERS) n_layers = TG_MAX_LAYERS;
    if (n_layers < 1) n_layers = 1;
    out->n_layers = n_layers;
    double content = 0;
    for (int l = 0; l < n_layers; l++) {
        int late = out->plan.enabled && l >= out->plan.layer;
        out->visual_per_layer[l] = late ? out->plan.n_keep : out->n_seq;
        content += late ? (double)out->n_kept * out->plan.keep_ratio : (double)out->n_kept;
    }
    out->equiv_retention = fl_equiv_retention(out->visual_per_layer, n_layers, out->n_visual_full);
    out->equiv_retention_content = n_content_full > 0 ? content / n_layers / (double)n_content_full : 0.0;
}

/* ===== in-LLM plan, reference execution ===== */

static int cmp_i64_asc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int tg_llm_plan_fold(const tg_llm_plan *plan, const float *score, const float *hidden, int64_t V, int64_t D,
                     int64_t *keep_idx, float *hidden_out, int64_t *n_out, char *err, size_t err_len) {
    if (!plan->enabled) {
        tg_set_err(err, err_len, "in-LLM plan is disabled");
        return TG_ERR_INPUT;
    }
    int64_t nk = plan->n_keep;
    if (nk <= 0) {
        double x = (double)V * plan->keep_ratio;
        nk = (int64_t)(plan->keep_round == TG_PLAN_ROUND_FLOOR  ? floor(x)
                       : plan->keep_round == TG_PLAN_ROUND_CEIL ? ceil(x)
                                                                : tg_round_half_even(x));
    }
    if (nk < 1 || nk > V) {
        tg_set_err(err, err_len, "in-LLM plan keeps %lld of %lld visual tokens", (long long)nk, (long long)V);
        return TG_ERR_INPUT;
    }
    int rc = TG_ERR_NOMEM;
    int64_t *top = malloc((size_t)nk * sizeof *top), *owner = malloc((size_t)V * sizeof *owner);
    int64_t *cnt = calloc((size_t)nk, sizeof *cnt), *slot = malloc((size_t)V * sizeof *slot);
    float *nrm = malloc((size_t)V * sizeof *nrm), *acc = calloc((size_t)nk * (size_t)D, sizeof *acc);
    uint8_t *is_top = calloc((size_t)V, 1);
    if (!top || !owner || !cnt || !slot || !nrm || !acc || !is_top || tg_topk_desc(score, V, nk, top)) {
        tg_set_err(err, err_len, "in-LLM plan: out of memory (V=%lld)", (long long)V);
        goto out;
    }
    for (int64_t j = 0; j < nk; j++) is_top[top[j]] = 1;
    if (plan->merge == TG_PLAN_MERGE_COSINE_FOLD) {
        for (int64_t i = 0; i < V; i++) {
            double s = 0;
            const float *h = hidden + (size_t)i * D;
            for (int64_t d = 0; d < D; d++) s += (double)h[d] * h[d];
            float v = (float)sqrt(s);
            nrm[i] = v < 1e-12f ? 1e-12f : v;
        }
        for (int64_t i = 0; i < V; i++) {
            if (is_top[i]) continue;
            const float *h = hidden + (size_t)i * D;
            int64_t best = 0;
            double bv = -INFINITY;
            for (int64_t j = 0; j < nk; j++) { /* kept tokens in descending-score order */
                const float *g = hidden + (size_t)top[j] * D;
                double s = 0;
                for (int64_t d = 0; d < D; d++) s += (double)(h[d] / nrm[i]) * (double)(g[d] / nrm[top[j]]);
                if (s > bv) {
                    bv = s;
                    best = j;
                }
            }
            cnt[best]++;
            float *a = acc + (size_t)best * D;
            for (int64_t d = 0; d < D; d++) a[d] += h[d];
        }
    }
    /* output ascending by original index */
    for (int64_t j = 0; j < nk; j++) keep_idx[j] = top[j];
    qsort(keep_idx, (size_t)nk, sizeof *keep_idx, cmp_i64_asc);
    for (int64_t j = 0; j < nk; j++) slot[top[j]] = j;
    for (int64_t q = 0; q < nk; q++) {
        int64_t i = keep_idx[q], j = slot[i];
        const float *h = hidden + (size_t)i * D;
        float *o = hidden_out + (size_t)q * D;
        if (plan->merge != TG_PLAN_MERGE_COSINE_FOLD || cnt[j] == 0) {
            memcpy(o, h, (size_t)D * sizeof *o);
            continue;
        }
        const float *a = acc + (size_t)j * D;
        float den = (float)(1 + cnt[j]), wk = (float)plan->w_keep, wp = (float)plan->w_pool;
        for (int64_t d = 0; d < D; d++) o[d] = wk * h[d] + wp * ((h[d] + a[d]) / den);
    }
    *n_out = nk;
    rc = TG_OK;
out:
    free(top);
    free(owner);
    free(cnt);
    free(slot);
    free(nrm);
    free(acc);
    free(is_top);
    return rc;
}
