/* bl_controls.c - the control rows every sweep can include:
 *   full           all visual tokens;
 *   uniform        uniform spatial pooling of every frame to rows x cols (bilinear, PyTorch
 *                  align_corners=False; each pooled token takes the flat index of the source
 *                  token under its centre);
 *   uniform-frames F whole frames at floor((i + 0.5) * T / F), i = 0..F-1;
 *   random         `keep` tokens of the whole video, the prefix of a seeded Fisher-Yates shuffle;
 *   topk           the `per_frame` tokens of each frame with the highest saliency (ties: lower
 *                  index).
 * The model's newline layout (OV: one newline at the end; Video: one per grid row that kept a
 * token), contiguous positions. The budget knob is solved from the target r (bl_solve); on
 * LLaVA-Video random and topk re-solve on the data (the newline count depends on which rows
 * keep a token): every budget's realised retention is computed from the nested selections and
 * the closest is taken. No quirks: compat is accepted and recorded, nothing differs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

#define COMMON_KEYS "compat", "seed", "jitter", "account"
static const char *const bl_full_keys[] = {COMMON_KEYS, NULL};
static const char *const bl_uniform_keys[] = {COMMON_KEYS, "rows", "cols", NULL};
static const char *const bl_uniform_frames_keys[] = {COMMON_KEYS, "frames", NULL};
static const char *const bl_random_keys[] = {COMMON_KEYS, "keep", NULL};
static const char *const bl_topk_keys[] = {COMMON_KEYS, "per_frame", NULL};

/* Emits ascending flat ids with borrowed vectors in the model's layout (contiguous positions) and
 * finishes the output and its record. */
static int finish_subset(const bl_ctx *c, const tg_prune_input *in, const int64_t *ids, int64_t n,
                         tg_prune_output *out, bl_json *j, const char *how, double predicted, char *err,
                         size_t err_len) {
    tg_entry *list = malloc((size_t)(n ? n : 1) * sizeof *list);
    if (!list) {
        tb_set_err(err, err_len, "%s: out of memory", c->name);
        return TG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) list[i] = (tg_entry){ids[i], in->features + (size_t)ids[i] * c->D};
    tg_seq s = {0};
    int st = bl_emit_finish(c, &s, list, n, 0, out, NULL, err, err_len);
    tg_seq_free(&s);
    free(list);
    if (st == TG_OK) {
        out->ratio_used = (double)n / (double)(c->T * c->L);
        st = bl_json_finish(j, c, out, how, predicted, err, err_len);
    }
    return st;
}

static int fail_oom(const bl_ctx *c, char *err, size_t err_len) {
    tb_set_err(err, err_len, "%s: out of memory", c->name);
    return TG_ERR_NOMEM;
}

/* Solves and records the knob (solve status into *how). */
static int solve(const bl_ctx *c, const char *method, bl_knobs *k, double *pred, const char **how, char *err,
                 size_t err_len) {
    int st = bl_solve(method, c->target, &c->geo, k, pred, err, err_len);
    if (st < 0) return st;
    *how = st == BL_SOLVE_INEXACT ? "solver-inexact" : "solver";
    return TG_OK;
}

/* Retention of n content tokens plus nl newlines for a pre-LLM-only layout. */
static double ret_counts(const bl_ctx *c, int64_t n, int64_t nl) {
    if (c->account == BL_ACCOUNT_CONTENT) return (double)n / (double)(c->T * c->L);
    return (double)(n + nl) / (double)bl_full_len(&c->geo);
}

/* ===== full ===== */

static int bl_full_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "full", in, bl_full_keys, err, err_len);
    if (st) return st;
    int64_t N = c.T * c.L;
    int64_t *ids = malloc((size_t)N * sizeof *ids);
    if (!ids) return fail_oom(&c, err, err_len);
    for (int64_t i = 0; i < N; i++) ids[i] = i;
    bl_json j = {0};
    bl_json_common(&j, &c);
    st = finish_subset(&c, in, ids, N, out, &j, "fixed", 1.0, err, err_len);
    free(ids);
    tb_buf_free(&j.b);
    if (st) tg_prune_output_free(out);
    return st;
}

/* ===== uniform ===== */

static int bl_uniform_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "uniform", in, bl_uniform_keys, err, err_len);
    if (st) return st;
    bl_knobs k = bl_knobs_default("uniform");
    double pred = 0;
    const char *how = "explicit";
    int64_t rows = 0, cols = 0;
    int sr = tg_param_int(in, "rows", 1, c.H, &rows, err, err_len);
    if (sr < 0) return sr;
    int sc = tg_param_int(in, "cols", 1, c.W, &cols, err, err_len);
    if (sc < 0) return sc;
    if (sr != sc) {
        tb_set_err(err, err_len, "uniform: set both rows and cols, or neither");
        return TG_ERR_INPUT;
    }
    if (!sr) {
        if ((st = solve(&c, "uniform", &k, &pred, &how, err, err_len))) return st;
        rows = k.rows;
        cols = k.cols;
    } else {
        pred = ret_counts(&c, c.T * rows * cols, bl_newlines(c.newline, c.T * rows));
    }
    int64_t n = c.T * rows * cols, D = c.D;
    tg_seq s = {0};
    float *pooled = tg_seq_block(&s, (size_t)n * (size_t)D);
    tg_entry *list = malloc((size_t)n * sizeof *list);
    if (!pooled || !list) {
        tg_seq_free(&s);
        free(list);
        return fail_oom(&c, err, err_len);
    }
    tg_pool_bilinear(in->features, c.T, c.H, c.W, D, rows, cols, pooled);
    int64_t q = 0;
    for (int64_t t = 0; t < c.T; t++)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t jx = 0; jx < cols; jx++, q++) {
                int64_t ri = (int64_t)floor(((double)i + 0.5) * (double)c.H / (double)rows);
                int64_t cj = (int64_t)floor(((double)jx + 0.5) * (double)c.W / (double)cols);
                list[q] = (tg_entry){t * c.L + ri * c.W + cj, pooled + (size_t)q * D};
            }
    st = bl_emit_finish(&c, &s, list, n, 0, out, NULL, err, err_len);
    tg_seq_free(&s);
    free(list);
    if (st == TG_OK) {
        out->ratio_used = (double)n / (double)(c.T * c.L);
        bl_json j = {0};
        bl_json_common(&j, &c);
        bl_json_add(&j, "\"rows\":%lld,\"cols\":%lld,", (long long)rows, (long long)cols);
        st = bl_json_finish(&j, &c, out, how, pred, err, err_len);
        tb_buf_free(&j.b);
    }
    if (st) tg_prune_output_free(out);
    return st;
}

/* ===== uniform-frames ===== */

static int bl_uniform_frames_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "uniform-frames", in, bl_uniform_frames_keys, err, err_len);
    if (st) return st;
    bl_knobs k = bl_knobs_default("uniform-frames");
    double pred = 0;
    const char *how = "explicit";
    int64_t F = 0;
    int sf = tg_param_int(in, "frames", 1, c.T, &F, err, err_len);
    if (sf < 0) return sf;
    if (!sf) {
        if ((st = solve(&c, "uniform-frames", &k, &pred, &how, err, err_len))) return st;
        F = k.frames;
    } else {
        pred = ret_counts(&c, F * c.L, bl_newlines(c.newline, F * c.H));
    }
    int64_t *ids = malloc((size_t)(F * c.L) * sizeof *ids);
    if (!ids) return fail_oom(&c, err, err_len);
    int64_t q = 0;
    for (int64_t i = 0; i < F; i++) {
        int64_t t = (int64_t)floor(((double)i + 0.5) * (double)c.T / (double)F);
        for (int64_t l = 0; l < c.L; l++) ids[q++] = t * c.L + l;
    }
    bl_json j = {0};
    bl_json_common(&j, &c);
    bl_json_add(&j, "\"frames\":%lld,", (long long)F);
    st = finish_subset(&c, in, ids, q, out, &j, how, pred, err, err_len);
    free(ids);
    tb_buf_free(&j.b);
    if (st) tg_prune_output_free(out);
    return st;
}

/* Chooses the count n in [1, nmax] whose realised retention (content n, newlines nl[n]) is
 * closest to the target; nl has nmax + 1 entries. */
static int64_t closest_count(const bl_ctx *c, const int64_t *nl, int64_t nmax, double *got) {
    int64_t best = 1;
    double bd = INFINITY;
    for (int64_t n = 1; n <= nmax; n++) {
        double v = ret_counts(c, n, nl[n]);
        if (fabs(v - c->target) < bd - 1e-15) {
            bd = fabs(v - c->target);
            best = n;
            *got = v;
        }
    }
    return best;
}

/* ===== random ===== */

static int bl_random_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "random", in, bl_random_keys, err, err_len);
    if (st) return st;
    int64_t N = c.T * c.L, keep = 0;
    int sk = tg_param_int(in, "keep", 1, N, &keep, err, err_len);
    if (sk < 0) return sk;
    bl_knobs k = bl_knobs_default("random");
    double pred = 0, got = 0;
    const char *how = "explicit";
    if (!sk && (st = solve(&c, "random", &k, &pred, &how, err, err_len))) return st;
    int64_t *perm = malloc((size_t)N * sizeof *perm), *nl = malloc((size_t)(N + 1) * sizeof *nl);
    uint8_t *seen = calloc((size_t)(c.T * c.H), 1);
    if (!perm || !nl || !seen) {
        free(perm);
        free(nl);
        free(seen);
        return fail_oom(&c, err, err_len);
    }
    tg_rng rng;
    tg_rng_seed(&rng, c.seed);
    for (int64_t i = 0; i < N; i++) perm[i] = i;
    for (int64_t i = 0; i < N - 1; i++) {
        int64_t jx = i + (int64_t)((double)tg_rng_uniform(&rng) * (double)(N - i));
        if (jx >= N) jx = N - 1;
        int64_t t = perm[i];
        perm[i] = perm[jx];
        perm[jx] = t;
    }
    nl[0] = bl_newlines(c.newline, 0);
    for (int64_t n = 1; n <= N; n++) {
        int64_t row = perm[n - 1] / c.W;
        nl[n] = nl[n - 1];
        if (c.newline == TG_NEWLINE_ROW && !seen[row]) {
            seen[row] = 1;
            nl[n]++;
        }
    }
    if (sk) {
        pred = ret_counts(&c, keep, nl[keep]);
    } else if (c.newline == TG_NEWLINE_ROW) {
        keep = closest_count(&c, nl, N, &got);
        how = fabs(got - c.target) <= BL_TOL ? "resolved-on-data" : "resolved-inexact";
    } else {
        keep = k.keep;
    }
    bl_sort_i64(perm, keep);
    bl_json j = {0};
    bl_json_common(&j, &c);
    bl_json_add(&j, "\"keep\":%lld,", (long long)keep);
    st = finish_subset(&c, in, perm, keep, out, &j, how, pred, err, err_len);
    free(perm);
    free(nl);
    free(seen);
    tb_buf_free(&j.b);
    if (st) tg_prune_output_free(out);
    return st;
}

/* ===== topk ===== */

static int bl_topk_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "topk", in, bl_topk_keys, err, err_len);
    if (st) return st;
    int64_t b = 0, L = c.L, T = c.T;
    int sb = tg_param_int(in, "per_frame", 1, L, &b, err, err_len);
    if (sb < 0) return sb;
    bl_knobs k = bl_knobs_default("topk");
    double pred = 0, got = 0;
    const char *how = "explicit";
    if (!sb && (st = solve(&c, "topk", &k, &pred, &how, err, err_len))) return st;
    int64_t *rank = malloc((size_t)(T * L) * sizeof *rank), *nl = malloc((size_t)(L + 1) * sizeof *nl);
    int64_t *ids = malloc((size_t)(T * L) * sizeof *ids);
    uint8_t *seen = calloc((size_t)(T * c.H), 1);
    if (!rank || !nl || !ids || !seen) {
        free(rank);
        free(nl);
        free(ids);
        free(seen);
        return fail_oom(&c, err, err_len);
    }
    for (int64_t t = 0; t < T; t++) tg_topk_desc(in->saliency + (size_t)t * L, L, L, rank + (size_t)t * L);
    /* newline count for every per-frame budget (nested prefixes) */
    nl[0] = 0;
    for (int64_t n = 1; n <= L; n++) {
        nl[n] = nl[n - 1];
        for (int64_t t = 0; t < T && c.newline == TG_NEWLINE_ROW; t++) {
            int64_t row = t * c.H + rank[(size_t)t * L + n - 1] / c.W;
            if (!seen[row]) {
                seen[row] = 1;
                nl[n]++;
            }
        }
    }
    if (sb) {
        pred = ret_counts(&c, T * b, c.newline == TG_NEWLINE_ROW ? nl[b] : bl_newlines(c.newline, 0));
    } else if (c.newline == TG_NEWLINE_ROW) {
        /* per-frame budgets n -> content T*n, newlines nl[n] */
        double bd = INFINITY;
        for (int64_t n = 1; n <= L; n++) {
            double v = ret_counts(&c, T * n, nl[n]);
            if (fabs(v - c.target) < bd - 1e-15) {
                bd = fabs(v - c.target);
                b = n;
                got = v;
            }
        }
        how = fabs(got - c.target) <= BL_TOL ? "resolved-on-data" : "resolved-inexact";
    } else {
        b = k.per_frame;
    }
    int64_t q = 0;
    for (int64_t t = 0; t < T; t++) {
        int64_t *f = rank + (size_t)t * L;
        bl_sort_i64(f, b);
        for (int64_t i = 0; i < b; i++) ids[q++] = t * L + f[i];
    }
    bl_json j = {0};
    bl_json_common(&j, &c);
    bl_json_add(&j, "\"per_frame\":%lld,", (long long)b);
    st = finish_subset(&c, in, ids, q, out, &j, how, pred, err, err_len);
    free(rank);
    free(nl);
    free(ids);
    free(seen);
    tb_buf_free(&j.b);
    if (st) tg_prune_output_free(out);
    return st;
}

/* ===== descriptors ===== */

const tg_method bl_full_method = {"full", "control: all visual tokens", bl_full_run, bl_full_keys, TG_CAP_NO_RATIO};
const tg_method bl_uniform_method = {"uniform", "control: uniform spatial (bilinear) pooling to the budget",
                                     bl_uniform_run, bl_uniform_keys, 0};
const tg_method bl_uniform_frames_method = {"uniform-frames", "control: keep uniformly spaced whole frames",
                                            bl_uniform_frames_run, bl_uniform_frames_keys, 0};
const tg_method bl_random_method = {"random", "control: seeded uniform random token selection", bl_random_run,
                                    bl_random_keys, 0};
const tg_method bl_topk_method = {"topk", "control: per-frame attention top-k", bl_topk_run, bl_topk_keys, 0};
