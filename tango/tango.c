/* tango.c - Tango, faithful to the official implementation (spec /work/shared/specs/tango.md),
 * built on the shared primitives (tango/primitives.h). compat=official reproduces the official
 * code including its named quirks (spec §13); compat=paper runs the intended algorithm.
 *
 * Arithmetic follows the official float32 operation order (F.normalize-then-dot cosines,
 * PyTorch cdist's direct / matrix-multiply paths, float32 density, index_add_-ordered merge sums,
 * Python-double budgets). With float32 inputs, jitter=0 and score_dtype=fp32 the kept indices and
 * the merged vectors agree bit for bit with the official code run on float32 tensors (checked on
 * 20+ synthetic videos, OV and Video grids, D = 64..3584).
 *
 * Deliberate differences, all documented in the report:
 *   - fp16 / bf16 storage of features is not emulated (inputs are float32); the saliency IS
 *     rounded to the model dtype (score_dtype: fp16 for LLaVA, bf16 for Qwen2.5-VL, whose ties
 *     are frequent) and so is beta (fp16(0.6) = 0.60009766, bf16(0.6) = 0.6015625); Qwen's
 *     bf16 head mean of the per-head probabilities is approximated by rounding the float32
 *     head mean once;
 *   - top-k ties (frequent among fp16 scores) go to the lower index; PyTorch leaves the order
 *     unspecified (CUDA's top-k also takes the lowest indices among ties at the boundary);
 *   - the density jitter comes from our seeded generator, one stream per segment (seeded by the
 *     seed and the segment's first frame), drawn in the official order inside the segment;
 *   - a duplicated salient pick (an empty cluster falling back to its centre, which another
 *     cluster also chose) is kept once, so kept indices are unique.
 * The in-LLM stage is not executed here: it is described as a tg_llm_plan for the engine. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tango/tango.h"

#include "common/buf.h"
#include "tango/kit.h"
#include "tango/retention.h"
#include "tango/tg_internal.h"

const char *const tg_tango_keys[] = {
    "tau_segment", "tau_static", "context_ratio", "alpha", "beta", "knn", "sinks", "strope_sections",
    "base_time", "base_space", "jitter", "seed", "compat", "max_window", "dist", "threads",
    "score_dtype", "llm_stage", "llm_layer", "llm_keep", "selection", "score", "st_rope", "time", "segment", NULL,
};

#define SEG_ERR_LEN 256

static const int64_t SINKS_OV[] = {28, 27, 41, 169, 11, 12};
static const int64_t SINKS_VIDEO[] = {26, 157, 11};

/* =============================================================================================
 * Budget arithmetic (spec §5.2, §6.1, §8): Python doubles, the same operation order
 * ============================================================================================= */

double tg_tango_default_tau(double r) { return fabs(r - 0.1) < 1e-12 ? 0.65 : 0.8; }

double tg_tango_video_ratio(double r, int n_layers, int six_sig) {
    double x = tg_two_stage_pre_ratio(n_layers, tg_scaled_layer(18, n_layers), 0.5, r);
    if (!six_sig) return x;
    char buf[64];
    snprintf(buf, sizeof buf, "%.6g", x);
    return strtod(buf, NULL);
}

double tg_tango_r_adj(double r, int64_t n, int64_t L, int64_t S) {
    double nL = (double)(n * L);
    double v = r / (((double)(n * L) - (double)((n - 1) * S)) / nL);
    return v < 1.0 ? v : 1.0;
}

tg_tango_budget tg_tango_compress_budget(int64_t m, double rho, double cr, double alpha) {
    tg_tango_budget b = {0, 0, 0, 0, 0};
    if (m <= 0) return b;
    b.R = (int64_t)ceil((double)m * rho);
    if (b.R < 1) b.R = 1;
    b.sal = (int64_t)((double)b.R * (1.0 - cr));
    b.ctx = b.R - b.sal;
    if (b.sal > 0) {
        int64_t c = (int64_t)(alpha * (double)b.sal);
        b.cand = c < m ? c : m;
        b.k = b.sal < b.cand ? b.sal : b.cand;
    }
    return b;
}

tg_tango_budget tg_tango_dynamic_budget(int64_t Ld, double r_adj, double cr, double alpha) {
    tg_tango_budget b = {0, 0, 0, 0, 0};
    if (Ld <= 0) return b;
    b.R = (int64_t)ceil((double)Ld * r_adj);
    b.sal = (int64_t)((double)b.R * (1.0 - cr));
    b.ctx = b.R - b.sal;
    b.k = b.sal < Ld ? b.sal : Ld;
    int64_t c = (int64_t)(alpha * (double)b.k);
    b.cand = c < Ld ? c : Ld;
    return b;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void tg_tango_writeback(const int64_t *anchors_gamma, int64_t c, int permuted, int64_t *dest) {
    for (int64_t q = 0; q < c; q++) dest[q] = anchors_gamma[q];
    if (!permuted) qsort(dest, (size_t)c, sizeof *dest, cmp_i64);
}

/* Grow-only scratch buffers reused across the calls of one run, so the per-segment gathers and
 * distance matrices do not fault fresh pages in every time. */
enum { SCR_Q = 0, SCR_X, SCR_DIST, SCR_DA, SCR_FRAMEQ, SCR_N };
typedef struct {
    void *p[SCR_N];
    size_t cap[SCR_N];
} scratch;

static void *scr_get(scratch *s, int slot, size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (s->cap[slot] < bytes) {
        free(s->p[slot]);
        s->p[slot] = malloc(bytes);
        s->cap[slot] = s->p[slot] ? bytes : 0;
    }
    return s->p[slot];
}

static void scr_free(scratch *s) {
    for (int i = 0; i < SCR_N; i++) free(s->p[i]);
    memset(s, 0, sizeof *s);
}

/* =============================================================================================
 * Clustering steps
 * ============================================================================================= */

static tg_dpc_params dpc_params(const tg_tango_params *p, tg_rng *rng, const float *noise) {
    tg_dpc_params d = tg_dpc_default_params();
    d.knn = p->knn;
    d.jitter = p->jitter;
    d.rng = rng;
    d.noise = noise;
    return d;
}

int tg_tango_select_in_clusters(const float *Qc, const float *ac, int64_t C, int64_t D, int64_t k,
                                const tg_tango_params *p, tg_rng *rng, const float *noise, int64_t *chosen,
                                char *err, size_t err_len) {
    int rc = TG_ERR_NOMEM;
    float *dist = malloc((size_t)C * (size_t)C * sizeof *dist);
    float *dc = malloc((size_t)C * (size_t)k * sizeof *dc);
    int64_t *centres = malloc((size_t)k * sizeof *centres), *assign = malloc((size_t)C * sizeof *assign);
    if (!dist || !dc || !centres || !assign) {
        tb_set_err(err, err_len, "tango: out of memory (cluster selection, %lld candidates)", (long long)C);
        goto out;
    }
    /* one self-distance matrix serves both DPC and the assignment: cdist(Qc, Qc[centres]) takes
     * the same path (direct iff C <= 25, and k < C) and the same values */
    if (tg_cdist_self(Qc, C, D, p->dist_mode, 1, dist)) {
        tb_set_err(err, err_len, "tango: out of memory (distances)");
        goto out;
    }
    tg_dpc_params dp = dpc_params(p, rng, noise);
    if (tg_dpc_knn(dist, C, k, &dp, centres, NULL, NULL, err, err_len)) {
        rc = TG_ERR_INTERNAL;
        goto out;
    }
    for (int64_t i = 0; i < C; i++)
        for (int64_t j = 0; j < k; j++) dc[(size_t)i * k + j] = dist[(size_t)i * C + centres[j]];
    tg_assign_nearest(dc, C, k, assign);
    for (int64_t j = 0; j < k; j++) {
        int64_t best = -1;
        for (int64_t i = 0; i < C; i++)
            if (assign[i] == j && (best < 0 || ac[i] > ac[best])) best = i;
        chosen[j] = best >= 0 ? best : centres[j];
    }
    rc = TG_OK;
out:
    free(dist);
    free(dc);
    free(centres);
    free(assign);
    return rc;
}

/* Context merging of a pool of np points (X features, Q metric) into B anchors: DPC-KNN anchors
 * in gamma order, every pool point assigned to its nearest anchor (anchors in ascending order),
 * beta-weighted merge, write-back per tg_tango_writeback. dest[q] = pool index receiving
 * merged[q]. */
static int context_merge(const float *X, const float *Q, int64_t np, int64_t D, int64_t B, const tg_tango_params *p,
                         tg_rng *rng, scratch *sc, int64_t *dest, float *merged, char *err, size_t err_len) {
    int rc = TG_ERR_NOMEM;
    float *dist = scr_get(sc, SCR_DIST, (size_t)np * (size_t)np * sizeof *dist);
    float *da = scr_get(sc, SCR_DA, (size_t)np * (size_t)B * sizeof *da);
    int64_t *anchors = malloc((size_t)B * 2 * sizeof *anchors), *assign = malloc((size_t)np * sizeof *assign);
    if (!dist || !da || !anchors || !assign) {
        tb_set_err(err, err_len, "tango: out of memory (context pool of %lld tokens)", (long long)np);
        goto out;
    }
    int64_t *sorted = anchors + B;
    if (tg_cdist_self(Q, np, D, p->dist_mode, p->n_threads, dist)) {
        tb_set_err(err, err_len, "tango: out of memory (distances)");
        goto out;
    }
    tg_dpc_params dp = dpc_params(p, rng, NULL);
    if (tg_dpc_knn(dist, np, B, &dp, anchors, NULL, NULL, err, err_len)) {
        rc = TG_ERR_INTERNAL;
        goto out;
    }
    memcpy(sorted, anchors, (size_t)B * sizeof *sorted);
    qsort(sorted, (size_t)B, sizeof *sorted, cmp_i64);
    for (int64_t i = 0; i < np; i++)
        for (int64_t q = 0; q < B; q++) da[(size_t)i * B + q] = dist[(size_t)i * np + sorted[q]];
    tg_assign_nearest(da, np, B, assign);
    tg_merge_params mp = {TG_MERGE_WEIGHT_MAX, p->beta, p->beta_round};
    if (tg_cluster_merge(X, np, D, sorted, B, assign, &mp, merged, NULL, err, err_len)) {
        rc = TG_ERR_INTERNAL;
        goto out;
    }
    tg_tango_writeback(anchors, B, p->q_writeback_perm, dest);
    rc = TG_OK;
out:
    free(anchors);
    free(assign);
    return rc;
}

/* =============================================================================================
 * COMPRESS (spec §6.1)
 * ============================================================================================= */

void tg_tango_compress_result_free(tg_tango_compress_result *res) {
    if (!res) return;
    free(res->merged_pos);
    free(res->merged);
    memset(res, 0, sizeof *res);
}

static int compress_impl(const float *X, const float *Q, const float *a, int64_t m, int64_t D, double rho,
                         const tg_tango_params *p, tg_rng *rng, scratch *sc, int64_t *kept,
                         tg_tango_compress_result *res, char *err, size_t err_len) {
    memset(res, 0, sizeof *res);
    tg_tango_budget b = tg_tango_compress_budget(m, rho, p->context_ratio, p->alpha);
    res->budget = b;
    if (m <= 0) return TG_OK;
    int rc = TG_ERR_NOMEM;
    uint8_t *is_kept = calloc((size_t)m, 1);
    int64_t *cand = malloc((size_t)m * sizeof *cand), *pool = malloc((size_t)m * sizeof *pool);
    float *gq = scr_get(sc, SCR_Q, (size_t)m * (size_t)D * sizeof *gq);
    float *gx = scr_get(sc, SCR_X, (size_t)m * (size_t)D * sizeof *gx);
    float *ga = malloc((size_t)m * sizeof *ga);
    int64_t *chosen = malloc((size_t)m * sizeof *chosen);
    if (!is_kept || !cand || !pool || !gq || !gx || !ga || !chosen) {
        tb_set_err(err, err_len, "tango: out of memory (compress, %lld tokens)", (long long)m);
        goto out;
    }
    /* salient: top-C candidates, then one max-score member per cluster (or the ablations' rules) */
    if (b.sal > 0 && p->selection == TG_SELECT_TOPK) {
        if (tg_topk_desc(a, m, b.k, cand)) {
            tb_set_err(err, err_len, "tango: top-k failed");
            goto out;
        }
        for (int64_t i = 0; i < b.k; i++) is_kept[cand[i]] = 1;
    } else if (b.sal > 0 && p->selection == TG_SELECT_UNIFORM) {
        for (int64_t i = 0; i < b.k; i++) is_kept[(i * m) / b.k] = 1;
    } else if (b.sal > 0) {
        if (tg_topk_desc(a, m, b.cand, cand)) {
            tb_set_err(err, err_len, "tango: top-k failed");
            goto out;
        }
        if (b.cand <= b.k || b.cand <= 1) {
            for (int64_t i = 0; i < b.cand; i++) is_kept[cand[i]] = 1;
        } else {
            for (int64_t i = 0; i < b.cand; i++) {
                memcpy(gq + (size_t)i * D, Q + (size_t)cand[i] * D, (size_t)D * sizeof *gq);
                ga[i] = a[cand[i]];
            }
            rc = tg_tango_select_in_clusters(gq, ga, b.cand, D, b.k, p, rng, NULL, chosen, err, err_len);
            if (rc) goto out;
            for (int64_t j = 0; j < b.k; j++) is_kept[cand[chosen[j]]] = 1;
        }
    }
    for (int64_t i = 0; i < m; i++) res->n_salient += is_kept[i];
    /* context: the rest, in ascending index order */
    int64_t np = 0;
    for (int64_t i = 0; i < m; i++)
        if (!is_kept[i]) pool[np++] = i;
    int64_t c = b.ctx < np ? b.ctx : np;
    if (np <= c) {
        for (int64_t i = 0; i < np; i++) is_kept[pool[i]] = 1;
        res->n_context = np;
    } else if (c > 0) {
        res->merged = malloc((size_t)c * (size_t)D * sizeof *res->merged);
        res->merged_pos = malloc((size_t)c * sizeof *res->merged_pos);
        if (!res->merged || !res->merged_pos) {
            tb_set_err(err, err_len, "tango: out of memory (merged anchors)");
            rc = TG_ERR_NOMEM;
            goto out;
        }
        for (int64_t i = 0; i < np; i++) {
            memcpy(gq + (size_t)i * D, Q + (size_t)pool[i] * D, (size_t)D * sizeof *gq);
            memcpy(gx + (size_t)i * D, X + (size_t)pool[i] * D, (size_t)D * sizeof *gx);
        }
        rc = context_merge(gx, gq, np, D, c, p, rng, sc, res->merged_pos, res->merged, err, err_len);
        if (rc) goto out;
        for (int64_t q = 0; q < c; q++) {
            res->merged_pos[q] = pool[res->merged_pos[q]];
            is_kept[res->merged_pos[q]] = 1;
        }
        res->n_merged = c;
        res->n_context = c;
    }
    for (int64_t i = 0; i < m; i++)
        if (is_kept[i]) kept[res->n_kept++] = i;
    rc = TG_OK;
out:
    if (rc) tg_tango_compress_result_free(res);
    free(is_kept);
    free(cand);
    free(pool);
    free(ga);
    free(chosen);
    return rc;
}

int tg_tango_compress(const float *X, const float *Q, const float *a, int64_t m, int64_t D, double rho,
                      const tg_tango_params *p, tg_rng *rng, int64_t *kept, tg_tango_compress_result *res,
                      char *err, size_t err_len) {
    scratch sc;
    memset(&sc, 0, sizeof sc);
    int rc = compress_impl(X, Q, a, m, D, rho, p, rng, &sc, kept, res, err, err_len);
    scr_free(&sc);
    return rc;
}

/* =============================================================================================
 * Parameters
 * ============================================================================================= */

int tg_tango_params_resolve(const tg_prune_input *in, tg_tango_params *p, char *err, size_t err_len) {
    memset(p, 0, sizeof *p);
    int st = tg_params_check(in, tg_tango_keys, err, err_len);
    if (st) return st;
    const char *v;
    p->compat = TG_COMPAT_OFFICIAL;
    if ((v = tg_param_get(in, "compat"))) {
        if (!strcmp(v, "official")) p->compat = TG_COMPAT_OFFICIAL;
        else if (!strcmp(v, "paper")) p->compat = TG_COMPAT_PAPER;
        else {
            tb_set_err(err, err_len, "parameter compat=%s: expected official or paper", v);
            return TG_ERR_INPUT;
        }
    }
    p->family = in->model.family;
    int n_layers = in->model.n_layers;
    int off = p->compat == TG_COMPAT_OFFICIAL;
    int64_t iv;
    double dv;
#define GETD(key, lo, hi, dst)                                                                                 \
    do {                                                                                                       \
        if ((st = tg_param_double(in, key, lo, hi, &dv, err, err_len)) < 0) return st;                         \
        if (st == 1) dst = dv;                                                                                 \
    } while (0)
#define GETI(key, lo, hi, dst)                                                                                 \
    do {                                                                                                       \
        if ((st = tg_param_int(in, key, lo, hi, &iv, err, err_len)) < 0) return st;                            \
        if (st == 1) dst = iv;                                                                                 \
    } while (0)

    /* in-LLM stage and the pre-LLM ratio */
    p->ratio = in->ratio;
    p->llm_stage = p->family == TB_FAMILY_LLAVA_VIDEO && n_layers >= 2;
    p->llm_layer = tg_scaled_layer(18, n_layers);
    p->llm_keep = 0.5;
    GETI("llm_stage", 0, 1, p->llm_stage);
    if (p->llm_stage && n_layers < 2) {
        tb_set_err(err, err_len, "llm_stage=1 needs an LLM of at least 2 layers (the model has %d)", n_layers);
        return TG_ERR_INPUT;
    }
    GETI("llm_layer", 1, n_layers > 1 ? n_layers - 1 : 1, p->llm_layer);
    GETD("llm_keep", 1e-9, 1.0, p->llm_keep);
    p->q_video_ratio_6sig = off && p->llm_stage;
    p->q_layer17_bidir = off && p->llm_stage;
    if (p->llm_stage) {
        double x = tg_two_stage_pre_ratio(n_layers, p->llm_layer, p->llm_keep, p->ratio);
        if (p->q_video_ratio_6sig) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.6g", x);
            x = strtod(buf, NULL);
        }
        p->ratio_pre = x;
    } else {
        p->ratio_pre = p->ratio;
    }

    /* thresholds and method constants */
    p->tau_segment = tg_tango_default_tau(p->ratio);
    GETD("tau_segment", -1.0, 1.0, p->tau_segment);
    p->q_static_tau_fixed = off;
    p->tau_static = off ? 0.8 : p->tau_segment;
    if (tg_param_get(in, "tau_static")) p->q_static_tau_fixed = 0;
    GETD("tau_static", -1.0, 1.0, p->tau_static);
    p->context_ratio = 0.4;
    GETD("context_ratio", 0.0, 1.0, p->context_ratio);
    p->alpha = 1.5;
    GETD("alpha", 1.0, 100.0, p->alpha);
    p->beta = 0.6;
    GETD("beta", 0.0, 1.0, p->beta);
    p->knn = 7;
    GETI("knn", 1, 100000, p->knn);
    p->max_window = 1024;
    GETI("max_window", 1, 1000000000, p->max_window);

    /* attention sinks */
    const int64_t *sk = p->family == TB_FAMILY_LLAVA_VIDEO ? SINKS_VIDEO : SINKS_OV;
    int nsk = p->family == TB_FAMILY_LLAVA_VIDEO ? 3 : 6;
    p->n_sinks = off ? nsk : 1;
    /* Qwen: the official Qwen pruner has no sink step (its sinks would be SigLIP positions) */
    if (p->family == TB_FAMILY_QWEN25_VL) p->n_sinks = 0;
    p->q_qwen_interp = p->family == TB_FAMILY_QWEN25_VL && off;
    for (int i = 0; i < p->n_sinks; i++) p->sinks[i] = sk[i];
    p->q_sinks_extended = off && p->family != TB_FAMILY_QWEN25_VL;
    if ((st = tg_param_int_list(in, "sinks", p->sinks, TG_TANGO_MAX_SINKS, &p->n_sinks, err, err_len)) < 0) return st;
    if (st == 1) p->q_sinks_extended = 0;
    for (int i = 0; i < p->n_sinks; i++)
        if (p->sinks[i] < 0 || p->sinks[i] >= in->n_tokens) {
            tb_set_err(err, err_len,
                       "sink index %lld is outside the %lld-token grid (model %s; set sinks= to match the grid)",
                       (long long)p->sinks[i], (long long)in->n_tokens, tb_family_name(p->family));
            return TG_ERR_INPUT;
        }

    /* ST-RoPE */
    p->strope = tg_strope_default_params(in->dim);
    p->q_sections_1196 = off && in->dim == 3584;
    if (!off && in->dim == 3584) {
        p->strope.sec_t = 1186;
        p->strope.sec_h = p->strope.sec_w = 1184;
    }
    int64_t secs[3];
    int nsec = 0;
    if ((st = tg_param_int_list(in, "strope_sections", secs, 3, &nsec, err, err_len)) < 0) return st;
    if (st == 1) {
        if (nsec != 3) {
            tb_set_err(err, err_len, "parameter strope_sections: expected three values t,h,w");
            return TG_ERR_INPUT;
        }
        p->strope.sec_t = secs[0];
        p->strope.sec_h = secs[1];
        p->strope.sec_w = secs[2];
        p->q_sections_1196 = 0;
    }
    GETD("base_time", 1e-6, 1e12, p->strope.base_time);
    GETD("base_space", 1e-6, 1e12, p->strope.base_space);
    if (tg_strope_check(&p->strope, in->dim, err, err_len)) return TG_ERR_INPUT;

    /* randomness, execution */
    p->jitter = 1e-6;
    double jv = -1;
    GETD("jitter", 0.0, 1.0, jv);
    if (jv == 0.0) p->jitter = 0.0;
    else if (jv > 0.0 && jv < 1.0) p->jitter = jv; /* 1 keeps the official amplitude 1e-6 */
    p->seed = in->seed;
    int64_t seed = -1;
    GETI("seed", 0, INT64_MAX, seed);
    if (seed >= 0) p->seed = (uint64_t)seed;
    p->dist_mode = TG_DIST_TORCH;
    if ((v = tg_param_get(in, "dist"))) {
        if (!strcmp(v, "torch")) p->dist_mode = TG_DIST_TORCH;
        else if (!strcmp(v, "direct")) p->dist_mode = TG_DIST_DIRECT;
        else if (!strcmp(v, "gemm")) p->dist_mode = TG_DIST_GEMM;
        else {
            tb_set_err(err, err_len, "parameter dist=%s: expected torch, direct or gemm", v);
            return TG_ERR_INPUT;
        }
    }
    p->n_threads = in->n_threads;
    GETI("threads", 0, 1024, p->n_threads);
    /* the model dtype's roundings: the LLaVA models run fp16, Qwen2.5-VL bf16 (spec qwen25vl.md
     * §6.4, §6.7 tango_qwen.bf16_scores: in both compat modes) */
    int qwen = p->family == TB_FAMILY_QWEN25_VL;
    p->score_round = qwen ? TG_ROUND_BF16 : TG_ROUND_FP16;
    if ((v = tg_param_get(in, "score_dtype"))) {
        if (!strcmp(v, "fp16")) p->score_round = TG_ROUND_FP16;
        else if (!strcmp(v, "bf16")) p->score_round = TG_ROUND_BF16;
        else if (!strcmp(v, "fp32")) p->score_round = TG_ROUND_NONE;
        else {
            tb_set_err(err, err_len, "parameter score_dtype=%s: expected fp16, bf16 or fp32", v);
            return TG_ERR_INPUT;
        }
    }
    p->beta_round = p->score_round; /* one switch: the model dtype's rounding of scores and beta */
    /* ablation switches */
    static const char *const sel_names[] = {"diversity", "topk", "uniform", NULL};
    static const char *const score_names[] = {"p-attn", "attn", NULL};
    static const char *const onoff[] = {"off", "on", NULL};
    static const char *const time_names[] = {"seconds", "index", NULL};
    static const char *const seg_names[] = {"holitom", "fastvid", NULL};
    int ch = 0;
    if ((st = tg_param_choice(in, "selection", sel_names, &ch, err, err_len)) < 0) return st;
    p->selection = st ? (tg_tango_selection)ch : TG_SELECT_DIVERSITY;
    ch = 0;
    if ((st = tg_param_choice(in, "score", score_names, &ch, err, err_len)) < 0) return st;
    p->score_recv = ch;
    ch = 1;
    if ((st = tg_param_choice(in, "st_rope", onoff, &ch, err, err_len)) < 0) return st;
    p->st_rope = ch;
    ch = 0;
    if ((st = tg_param_choice(in, "time", time_names, &ch, err, err_len)) < 0) return st;
    p->time_index = ch;
    ch = 0;
    if ((st = tg_param_choice(in, "segment", seg_names, &ch, err, err_len)) < 0) return st;
    p->segment_fastvid = ch;
    if (p->score_recv && !in->saliency_recv) {
        tb_set_err(err, err_len, "score=attn needs the mean received attention (saliency_recv / --attn-recv)");
        return TG_ERR_INPUT;
    }
    if (!p->st_rope) { /* no rotation: the metric is the normalised features */
        p->strope.sec_t = p->strope.sec_h = p->strope.sec_w = 0;
        p->q_sections_1196 = 0;
    }
    p->q_writeback_perm = off;
#undef GETD
#undef GETI
    return TG_OK;
}

/* =============================================================================================
 * The pruner
 * ============================================================================================= */

/* Run state: per flat token, the vector it will carry if kept. */
typedef struct {
    const tg_tango_params *p;
    int64_t T, L, H, W, D;
    const float *F;     /* [T][L][D] input features */
    tg_strope_ctx *rope; /* ST-RoPE tables: metric rows are made on demand */
    float *A;           /* [T][L] scores after sink masking (fp16-rounded) */
    float *sim;         /* [T-1][L] consecutive cosines of F */
    uint8_t *keep;      /* [T*L] */
    const float **src;  /* [T*L] vector of each kept token */
    void **blocks;      /* buffers that src points into, freed at the end */
    int64_t n_blocks, cap_blocks;
} tango_run;

/* Per-segment working state: segments run in parallel (OpenMP over segments), each with its own
 * jitter stream, seeded by (seed, first frame), and its thread's scratch buffers. */
typedef struct {
    scratch *sc;
    tg_rng rng;
} seg_state;

static int add_block(tango_run *r, void *b) {
    int rc = 0;
#pragma omp critical(tg_tango_blocks)
    {
        if (r->n_blocks == r->cap_blocks) {
            int64_t nc = r->cap_blocks ? 2 * r->cap_blocks : 64;
            void **nb = realloc(r->blocks, (size_t)nc * sizeof *nb);
            if (nb) {
                r->blocks = nb;
                r->cap_blocks = nc;
            }
        }
        if (r->n_blocks < r->cap_blocks) r->blocks[r->n_blocks++] = b;
        else rc = -1;
    }
    return rc;
}

/* COMPRESS over the m tokens at flat ids ids[] whose vectors are X rows; marks the kept tokens
 * and their vectors; *sum receives the counts and the budget (its buffers are released). */
static int run_compress(tango_run *r, seg_state *w, const float *X, const float *Q, const float *a, int64_t m, double rho,
                        const int64_t *ids, tg_tango_compress_result *sum, char *err, size_t err_len) {
    memset(sum, 0, sizeof *sum);
    int64_t *kept = malloc((size_t)(m > 0 ? m : 1) * sizeof *kept);
    if (!kept) {
        tb_set_err(err, err_len, "tango: out of memory");
        return TG_ERR_NOMEM;
    }
    tg_tango_compress_result res;
    int rc = compress_impl(X, Q, a, m, r->D, rho, r->p, &w->rng, w->sc, kept, &res, err, err_len);
    if (rc) {
        free(kept);
        return rc;
    }
    for (int64_t i = 0; i < res.n_kept; i++) {
        int64_t id = ids[kept[i]];
        r->keep[id] = 1;
        r->src[id] = X + (size_t)kept[i] * r->D;
    }
    for (int64_t q = 0; q < res.n_merged; q++) r->src[ids[res.merged_pos[q]]] = res.merged + (size_t)q * r->D;
    free(kept);
    if (res.merged && add_block(r, res.merged)) {
        tg_tango_compress_result_free(&res);
        tb_set_err(err, err_len, "tango: out of memory");
        return TG_ERR_NOMEM;
    }
    free(res.merged_pos);
    *sum = res;
    sum->merged = NULL;
    sum->merged_pos = NULL;
    return TG_OK;
}

/* One segment of n >= 2 frames starting at f0 (spec §5.2). */
static int run_segment(tango_run *r, seg_state *w, int64_t f0, int64_t n, tg_segment_info *si, char *err, size_t err_len) {
    const tg_tango_params *p = r->p;
    int64_t L = r->L, D = r->D;
    int rc = TG_ERR_NOMEM;
    uint8_t *mask = malloc((size_t)L);
    int64_t *stat = malloc((size_t)L * sizeof *stat), *dyn = malloc((size_t)L * sizeof *dyn);
    int64_t *ids = malloc((size_t)L * sizeof *ids);
    float *meanF = NULL, *Qs = NULL, *as = NULL, *noise = NULL, *gx = NULL, *gq = NULL, *merged = NULL;
    int64_t *sal_pos = NULL, *pool = NULL, *dest = NULL;
    uint8_t *is_sal = NULL;
    if (!mask || !stat || !dyn || !ids) goto oom;
    int64_t S = tg_static_mask(r->sim, L, f0, n, p->tau_static, mask);
    int64_t Ld = L - S, ns = 0, nd = 0;
    for (int64_t l = 0; l < L; l++) {
        if (mask[l]) stat[ns++] = l;
        else dyn[nd++] = l;
    }
    double r_adj = tg_tango_r_adj(p->ratio_pre, n, L, S);
    si->n_static = S;
    si->ratio_adj = r_adj;

    /* static pool: temporal mean features, first-frame metric, mean scores */
    if (S > 0) {
        meanF = malloc((size_t)S * (size_t)D * sizeof *meanF);
        Qs = scr_get(w->sc, SCR_FRAMEQ, (size_t)S * (size_t)D * sizeof *Qs);
        as = malloc((size_t)S * sizeof *as);
        if (!meanF || !Qs || !as) goto oom;
        tg_static_pool(r->F + (size_t)f0 * L * D, n, L, D, mask, meanF);
        for (int64_t k = 0; k < S; k++) {
            int64_t l = stat[k];
            tg_strope_ctx_row(r->rope, r->F + ((size_t)f0 * L + l) * D, f0, l, Qs + (size_t)k * D);
            float acc = 0.0f; /* float32 mean over the frames */
            for (int64_t f = 0; f < n; f++) acc += r->A[(f0 + f) * L + l];
            as[k] = acc / (float)n;
            as[k] = tg_round_to(p->score_round, as[k]);
            ids[k] = f0 * L + l;
        }
        if (add_block(r, meanF)) goto oom;
        float *mf = meanF;
        meanF = NULL; /* owned by the block list now */
        tg_tango_compress_result cs;
        rc = run_compress(r, w, mf, Qs, as, S, r_adj, ids, &cs, err, err_len);
        if (rc) goto out;
        si->budget += cs.budget.R;
        si->kept_static = cs.n_kept;
        si->kept += cs.n_kept;
    }

    /* dynamic tokens */
    if (Ld > 0) {
        tg_tango_budget b = tg_tango_dynamic_budget(Ld, r_adj, p->context_ratio, p->alpha);
        si->budget += n * b.R;
        sal_pos = malloc((size_t)n * (size_t)(b.cand > 0 ? b.cand : 1) * sizeof *sal_pos);
        is_sal = calloc((size_t)n * (size_t)Ld, 1);
        if (!sal_pos || !is_sal) goto oom;
        int64_t per = 0; /* salient picks per frame (before de-duplication) */
        if (b.cand > 0 && p->selection != TG_SELECT_DIVERSITY) {
            /* ablations: per frame the top-k dynamic tokens by score, or k evenly spaced ones */
            per = b.k;
            for (int64_t f = 0; f < n && per > 0; f++) {
                int64_t *out_f = sal_pos + (size_t)f * b.cand;
                if (p->selection == TG_SELECT_UNIFORM) {
                    for (int64_t i = 0; i < per; i++) out_f[i] = (i * Ld) / per;
                    continue;
                }
                float *sc = malloc((size_t)Ld * sizeof *sc);
                if (!sc) goto oom;
                const float *af = r->A + (f0 + f) * L;
                for (int64_t j = 0; j < Ld; j++) sc[j] = af[dyn[j]];
                int bad = tg_topk_desc(sc, Ld, per, out_f);
                free(sc);
                if (bad) goto oom;
            }
        } else if (b.cand > 0) {
            int direct = b.cand <= b.k || b.cand <= 1;
            per = direct ? b.cand : b.k;
            if (!direct && p->jitter != 0) {
                noise = malloc((size_t)n * (size_t)b.cand * sizeof *noise);
                if (!noise) goto oom;
                for (int64_t i = 0; i < n * b.cand; i++) noise[i] = tg_rng_uniform(&w->rng);
            }
            /* frames in order within the segment (segments themselves run in parallel); each
             * selection is small (C <= 37 candidates at the paper's ratios) */
            int fail = 0;
            {
                float *sc = malloc((size_t)Ld * sizeof *sc);
                float *q = malloc((size_t)b.cand * (size_t)D * sizeof *q);
                float *ac = malloc((size_t)b.cand * sizeof *ac);
                int64_t *cand = malloc((size_t)b.cand * sizeof *cand), *ch = malloc((size_t)b.k * sizeof *ch + 8);
                char lerr[256];
                if (!sc || !q || !ac || !cand || !ch) {
                    fail = 1;
                }
                for (int64_t f = 0; f < n; f++) {
                    if (fail) continue;
                    const float *af = r->A + (f0 + f) * L;
                    for (int64_t j = 0; j < Ld; j++) sc[j] = af[dyn[j]];
                    if (tg_topk_desc(sc, Ld, b.cand, cand)) {
                        fail = 1;
                        continue;
                    }
                    int64_t *out_f = sal_pos + (size_t)f * b.cand;
                    if (direct) {
                        for (int64_t i = 0; i < b.cand; i++) out_f[i] = cand[i];
                        continue;
                    }
                    for (int64_t i = 0; i < b.cand; i++) {
                        int64_t l = dyn[cand[i]];
                        tg_strope_ctx_row(r->rope, r->F + ((size_t)(f0 + f) * L + l) * D, f0 + f, l,
                                          q + (size_t)i * D);
                        ac[i] = sc[cand[i]];
                    }
                    if (tg_tango_select_in_clusters(q, ac, b.cand, D, b.k, p, NULL,
                                                    noise ? noise + (size_t)f * b.cand : NULL, ch, lerr,
                                                    sizeof lerr)) {
                        fail = 1;
                        continue;
                    }
                    for (int64_t i = 0; i < b.k; i++) out_f[i] = cand[ch[i]];
                }
                free(sc);
                free(q);
                free(ac);
                free(cand);
                free(ch);
            }
            if (fail) goto oom;
        }
        int64_t n_sal = 0;
        for (int64_t f = 0; f < n; f++)
            for (int64_t i = 0; i < per; i++) {
                int64_t j = sal_pos[(size_t)f * b.cand + i];
                if (is_sal[(size_t)f * Ld + j]) continue; /* duplicate pick (empty cluster): keep once */
                is_sal[(size_t)f * Ld + j] = 1;
                int64_t id = (f0 + f) * L + dyn[j];
                r->keep[id] = 1;
                r->src[id] = r->F + (size_t)id * D;
                n_sal++;
            }
        si->kept_salient += n_sal;
        si->kept += n_sal;

        /* context: the whole segment's non-salient dynamic tokens, frame-major */
        int64_t np = n * Ld - n_sal, B = b.ctx * n;
        pool = malloc((size_t)(np > 0 ? np : 1) * sizeof *pool);
        if (!pool) goto oom;
        int64_t k = 0;
        for (int64_t f = 0; f < n; f++)
            for (int64_t j = 0; j < Ld; j++)
                if (!is_sal[(size_t)f * Ld + j]) pool[k++] = (f0 + f) * L + dyn[j];
        if (np <= B) {
            for (int64_t i = 0; i < np; i++) {
                r->keep[pool[i]] = 1;
                r->src[pool[i]] = r->F + (size_t)pool[i] * D;
            }
            si->kept_context += np;
            si->kept += np;
        } else if (B > 0) {
            gx = scr_get(w->sc, SCR_X, (size_t)np * (size_t)D * sizeof *gx);
            gq = scr_get(w->sc, SCR_Q, (size_t)np * (size_t)D * sizeof *gq);
            merged = malloc((size_t)B * (size_t)D * sizeof *merged);
            dest = malloc((size_t)B * sizeof *dest);
            if (!gx || !gq || !merged || !dest) goto oom;
            for (int64_t i = 0; i < np; i++) {
                memcpy(gx + (size_t)i * D, r->F + (size_t)pool[i] * D, (size_t)D * sizeof *gx);
                tg_strope_ctx_row(r->rope, r->F + (size_t)pool[i] * D, pool[i] / L, pool[i] % L, gq + (size_t)i * D);
            }
            rc = context_merge(gx, gq, np, D, B, p, &w->rng, w->sc, dest, merged, err, err_len);
            if (rc) goto out;
            if (add_block(r, merged)) goto oom;
            for (int64_t q = 0; q < B; q++) {
                int64_t id = pool[dest[q]];
                r->keep[id] = 1;
                r->src[id] = merged + (size_t)q * D;
            }
            merged = NULL;
            si->kept_context += B;
            si->kept += B;
        }
    }
    rc = TG_OK;
    goto out;
oom:
    tb_set_err(err, err_len, "tango: out of memory (segment at frame %lld, %lld frames)", (long long)f0,
               (long long)n);
    rc = TG_ERR_NOMEM;
out:
    free(mask);
    free(stat);
    free(dyn);
    free(ids);
    free(meanF);
    free(as);
    free(noise);
    free(merged);
    free(sal_pos);
    free(pool);
    free(dest);
    free(is_sal);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Parameters as JSON for the run record
 * ------------------------------------------------------------------------------------------- */

static char *params_json(const tg_tango_params *p) {
    tb_buf b;
    tb_buf_init(&b, (size_t)1 << 20);
    int st = 0; /* sticky: the first failure makes the record NULL */
    static const char *dist_names[] = {"torch", "direct", "gemm"};
    st |= tb_buf_printf(&b, "{\"model\":\"%s\",\"compat\":\"%s\",\"ratio\":%.17g,\"ratio_pre\":%.17g,",
           tb_family_name(p->family),
           p->compat == TG_COMPAT_OFFICIAL ? "official" : "paper", p->ratio, p->ratio_pre);
    st |= tb_buf_printf(&b, "\"tau_segment\":%.17g,\"tau_static\":%.17g,\"context_ratio\":%.17g,\"alpha\":%.17g,\"beta\":%.17g,",
           p->tau_segment, p->tau_static, p->context_ratio, p->alpha, p->beta);
    st |= tb_buf_printf(&b, "\"knn\":%d,\"max_window\":%lld,\"sinks\":[", p->knn, (long long)p->max_window);
    for (int i = 0; i < p->n_sinks; i++) st |= tb_buf_printf(&b, "%s%lld", i ? "," : "", (long long)p->sinks[i]);
    st |= tb_buf_printf(&b, "],\"strope_sections\":[%lld,%lld,%lld],\"base_time\":%.17g,\"base_space\":%.17g,",
           (long long)p->strope.sec_t, (long long)p->strope.sec_h, (long long)p->strope.sec_w, p->strope.base_time,
           p->strope.base_space);
    st |= tb_buf_printf(&b, "\"jitter\":%.17g,\"seed\":%llu,\"dist\":\"%s\",\"threads\":%d,\"score_dtype\":\"%s\",", p->jitter,
           (unsigned long long)p->seed, dist_names[p->dist_mode], p->n_threads, tg_round_name(p->score_round));
    static const char *sel_names[] = {"diversity", "topk", "uniform"};
    st |= tb_buf_printf(&b, "\"beta_dtype\":\"%s\",\"llm_stage\":%d,\"llm_layer\":%d,\"llm_keep\":%.17g,",
           tg_round_name(p->beta_round), p->llm_stage, p->llm_layer, p->llm_keep);
    st |= tb_buf_printf(&b, "\"selection\":\"%s\",\"score\":\"%s\",\"st_rope\":\"%s\",\"time\":\"%s\",\"segment\":\"%s\"}",
           sel_names[p->selection], p->score_recv ? "attn" : "p-attn", p->st_rope ? "on" : "off",
           p->time_index ? "index" : "seconds", p->segment_fastvid ? "fastvid" : "holitom");
    if (st) {
        tb_buf_free(&b);
        return NULL;
    }
    return tb_buf_take(&b);
}

static void set_quirks(const tg_tango_params *p, tg_prune_output *out) {
    out->compat = p->compat == TG_COMPAT_OFFICIAL ? "official" : "paper";
    out->n_quirks = 0;
    if (p->q_writeback_perm) out->quirks[out->n_quirks++] = TG_Q_WRITEBACK;
    if (p->q_static_tau_fixed) out->quirks[out->n_quirks++] = TG_Q_STATIC_TAU;
    if (p->q_sinks_extended) out->quirks[out->n_quirks++] = TG_Q_SINKS;
    if (p->family == TB_FAMILY_QWEN25_VL) {
        out->quirks[out->n_quirks++] = TG_Q_QWEN_GQ;
        out->quirks[out->n_quirks++] = TG_Q_QWEN_NOSINK;
        if (p->q_qwen_interp) out->quirks[out->n_quirks++] = TG_Q_QWEN_INTERP;
        if (p->score_round == TG_ROUND_BF16) out->quirks[out->n_quirks++] = TG_Q_QWEN_BF16;
    }
    if (p->q_sections_1196) out->quirks[out->n_quirks++] = TG_Q_SECTIONS;
    if (p->q_video_ratio_6sig) out->quirks[out->n_quirks++] = TG_Q_VIDEO_RATIO;
    if (p->q_layer17_bidir) out->quirks[out->n_quirks++] = TG_Q_LAYER17;
}

int tg_tango_run(const tg_prune_input *in, const tg_tango_params *p, tg_prune_output *out, char *err,
                 size_t err_len) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < p->n_sinks; i++)
        if (p->sinks[i] < 0 || p->sinks[i] >= in->n_tokens) {
            tb_set_err(err, err_len, "sink index %lld is outside the %lld-token grid", (long long)p->sinks[i],
                       (long long)in->n_tokens);
            return TG_ERR_INPUT;
        }
    if (!in->timestamps && p->st_rope && !p->time_index) {
        tb_set_err(err, err_len, "tango needs frame timestamps (seconds) for ST-RoPE (or time=index / st_rope=off)");
        return TG_ERR_INPUT;
    }
    const float *score_src = p->score_recv ? in->saliency_recv : in->saliency;
    if (!score_src) {
        tb_set_err(err, err_len, "tango: score=attn needs the mean received attention");
        return TG_ERR_INPUT;
    }
    tango_run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.T = in->n_frames;
    r.L = in->n_tokens;
    r.H = in->grid_h;
    r.W = in->grid_w;
    r.D = in->dim;
    r.F = in->features;
    int64_t T = r.T, L = r.L, D = r.D, N = T * L;
    int rc = TG_ERR_NOMEM;
    int64_t *seg_start = NULL, *seg_len = NULL;
    float *tpos = NULL, *gmean = NULL;
    scratch *scrs = NULL;
    int *seg_rc = NULL;
    char *seg_err = NULL;
    int64_t *seg_order = NULL;
    int64_t n_seg = 0;
    int n_thr = 1;
    r.A = malloc((size_t)N * sizeof *r.A);
    r.sim = malloc((size_t)(T > 1 ? (T - 1) * L : 1) * sizeof *r.sim);
    r.keep = calloc((size_t)N, 1);
    r.src = calloc((size_t)N, sizeof *r.src);
    seg_start = malloc((size_t)T * sizeof *seg_start);
    seg_len = malloc((size_t)T * sizeof *seg_len);
    if (!r.A || !r.sim || !r.keep || !r.src || !seg_start || !seg_len) {
        tb_set_err(err, err_len, "tango: out of memory (T=%lld L=%lld D=%lld)", (long long)T, (long long)L,
                   (long long)D);
        goto out;
    }

    /* 1. sink masking (zero, not -inf) and the score dtype */
    memcpy(r.A, score_src, (size_t)N * sizeof *r.A);
    for (int64_t t = 0; t < T; t++)
        for (int i = 0; i < p->n_sinks; i++) r.A[t * L + p->sinks[i]] = 0.0f;
    if (p->score_round != TG_ROUND_NONE)
        for (int64_t i = 0; i < N; i++) r.A[i] = tg_round_to(p->score_round, r.A[i]);

    /* 2. ST-RoPE tables (metric rows P = rotate(F / |F|) are made when a token is clustered) */
    const float *times = in->timestamps;
    float *slice_t = NULL;
    if (p->family == TB_FAMILY_QWEN25_VL && in->frame_times && in->n_frame_times > 0) {
        /* Qwen slice times (spec qwen25vl.md §6.3): official = np.interp of the n sampled-frame
         * times at k (n-1)/(T-1) (quirk tango_qwen.slice_time_interp); paper = the pair's first
         * frame. float64, then float32. */
        slice_t = malloc((size_t)T * sizeof *slice_t);
        if (!slice_t) goto oom;
        int64_t n = in->n_frame_times;
        for (int64_t k = 0; k < T; k++) {
            double v;
            if (p->q_qwen_interp) {
                double x = T > 1 ? (double)k * (double)(n - 1) / (double)(T - 1) : 0.0;
                int64_t i0 = (int64_t)x;
                if (i0 >= n - 1) v = in->frame_times[n - 1];
                else v = in->frame_times[i0] + (x - (double)i0) * (in->frame_times[i0 + 1] - in->frame_times[i0]);
            } else {
                int64_t f = 2 * k < n ? 2 * k : n - 1;
                v = in->frame_times[f];
            }
            slice_t[k] = (float)v;
        }
        times = slice_t;
    }
    /* time=index: t = 0, 1, 2, ... (also when ST-RoPE is off and no timestamps are given) */
    if (p->time_index || !times) {
        if (!(tpos = malloc((size_t)T * sizeof *tpos))) {
            free(slice_t);
            goto oom;
        }
        for (int64_t t = 0; t < T; t++) tpos[t] = (float)t;
        times = tpos;
    }
    r.rope = tg_strope_ctx_init(T, r.H, r.W, D, times, &p->strope, err, err_len);
    free(slice_t);
    if (!r.rope) {
        rc = TG_ERR_INPUT;
        goto out;
    }

    /* 3. consecutive-frame cosines (F.normalize then dot, float32) */
    if (T > 1 && tg_cos_consecutive(r.F, T, L, D, p->n_threads, r.sim)) goto oom;

    /* segmentation: the HoliTom DP on the token cosines, or FastVID's cuts on per-frame globals
     * (the SigLIP head output; the frame's mean feature when absent) with c = 8 */
    if (p->segment_fastvid) {
        const float *G = in->frame_global;
        int64_t Gd = in->global_dim;
        if (!G || Gd < 1) {
            if (!(gmean = calloc((size_t)T * (size_t)D, sizeof *gmean))) goto oom;
            for (int64_t t = 0; t < T; t++) {
                for (int64_t l = 0; l < L; l++)
                    for (int64_t d = 0; d < D; d++) gmean[t * D + d] += r.F[((size_t)t * L + l) * D + d];
                for (int64_t d = 0; d < D; d++) gmean[t * D + d] /= (float)L;
            }
            G = gmean;
            Gd = D;
        }
        if (tg_segment_cuts(G, T, Gd, 7, p->tau_segment, seg_start, seg_len, &n_seg)) goto oom;
    } else if (tg_segment_dp(r.sim, T, L, p->tau_segment, p->max_window, seg_start, seg_len, &n_seg, NULL, err,
                             err_len)) {
        rc = TG_ERR_INTERNAL;
        goto out;
    }
    out->segments = calloc((size_t)n_seg, sizeof *out->segments);
    if (!out->segments) goto oom;
    out->n_segments = (int)n_seg;

    /* 4. per segment, segments in parallel (they own disjoint frames, hence disjoint keep/src
     * entries); each segment draws its jitter from its own stream, in the official order */
    n_thr = tg_nthreads(p->n_threads);
    if (n_thr > n_seg) n_thr = (int)n_seg;
    if (n_thr < 1) n_thr = 1;
    scrs = calloc((size_t)n_thr, sizeof *scrs);
    seg_rc = calloc((size_t)n_seg, sizeof *seg_rc);
    seg_err = calloc((size_t)n_seg, SEG_ERR_LEN);
    seg_order = malloc((size_t)n_seg * sizeof *seg_order);
    if (!scrs || !seg_rc || !seg_err || !seg_order) goto oom;
    /* OpenBLAS runs single-threaded inside the parallel segment loop (restored afterwards), so
     * the two levels of threads do not oversubscribe the cores */
    int blas_prev = openblas_get_num_threads();
    if (n_thr > 1) openblas_set_num_threads(1);
    /* longest segments first (their pools dominate), for a balanced dynamic schedule; results do
     * not depend on the order */
    for (int64_t i = 0; i < n_seg; i++) seg_order[i] = i;
    for (int64_t i = 1; i < n_seg; i++)
        for (int64_t j = i; j > 0 && seg_len[seg_order[j]] > seg_len[seg_order[j - 1]]; j--) {
            int64_t t = seg_order[j];
            seg_order[j] = seg_order[j - 1];
            seg_order[j - 1] = t;
        }
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_thr) if (n_thr > 1)
    for (int64_t oi = 0; oi < n_seg; oi++) {
        int64_t s = seg_order[oi];
        tg_segment_info *si = &out->segments[s];
        int64_t f0 = seg_start[s], n = seg_len[s];
        char *serr = seg_err + (size_t)s * SEG_ERR_LEN;
        seg_state w;
        w.sc = &scrs[omp_get_thread_num()];
        tg_rng_seed(&w.rng, p->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(f0 + 1)));
        si->start = f0;
        si->len = n;
        int src = TG_OK;
        if (n == 1) {
            si->ratio_adj = p->ratio_pre;
            int64_t *ids = malloc((size_t)L * sizeof *ids);
            float *Q = scr_get(w.sc, SCR_FRAMEQ, (size_t)L * (size_t)D * sizeof *Q);
            if (!ids || !Q) {
                tb_set_err(serr, SEG_ERR_LEN, "tango: out of memory (frame %lld)", (long long)f0);
                src = TG_ERR_NOMEM;
            } else {
                tg_tango_compress_result cs;
                for (int64_t l = 0; l < L; l++) {
                    ids[l] = f0 * L + l;
                    tg_strope_ctx_row(r.rope, r.F + ((size_t)f0 * L + l) * D, f0, l, Q + (size_t)l * D);
                }
                src = run_compress(&r, &w, r.F + (size_t)f0 * L * D, Q, r.A + f0 * L, L, p->ratio_pre, ids, &cs,
                                   serr, SEG_ERR_LEN);
                if (!src) {
                    si->budget = cs.budget.R;
                    si->kept = cs.n_kept;
                    si->kept_salient = cs.n_salient;
                    si->kept_context = cs.n_context;
                }
            }
            free(ids);
        } else {
            src = run_segment(&r, &w, f0, n, si, serr, SEG_ERR_LEN);
        }
        seg_rc[s] = src;
    }
    if (n_thr > 1) openblas_set_num_threads(blas_prev);
    for (int64_t s = 0; s < n_seg; s++)
        if (seg_rc[s]) {
            tb_set_err(err, err_len, "%s", seg_err + (size_t)s * SEG_ERR_LEN);
            rc = seg_rc[s];
            goto out;
        }

    /* 5. output: ascending flat order in the model's layout, the in-LLM plan, accounting */
    int64_t nk = 0;
    for (int64_t i = 0; i < N; i++) nk += r.keep[i];
    tg_entry *list = malloc((size_t)(nk > 0 ? nk : 1) * sizeof *list);
    if (!list) goto oom;
    for (int64_t i = 0, k = 0; i < N; i++)
        if (r.keep[i]) list[k++] = (tg_entry){i, r.src[i]};
    tb_llm_plan plan = tb_llm_plan_default();
    tg_seq seq = {0};
    rc = tg_seq_emit(&seq, list, nk, in->model.newline, T, r.H, r.W, 0);
    if (rc == TG_OK && p->llm_stage) {
        plan.layer = p->llm_layer;
        plan.select = TB_PLAN_SELECT_LAST_QUERY;
        plan.keep_ratio = p->llm_keep;
        plan.keep_count = (int64_t)tb_round_half_even((double)seq.n * p->llm_keep);
        plan.merge = TB_PLAN_MERGE_WEIGHTED;
        plan.merge_weight = 0.6;
        plan.merge_pool_weight = 0.4;
        plan.pos = TB_PLAN_POS_KEEP;
        plan.bidirectional_prev = p->q_layer17_bidir;
    }
    if (rc == TG_OK) rc = tg_seq_finish(&seq, in, out, &plan, "tango", err, err_len);
    tg_seq_free(&seq);
    free(list);
    if (rc == TG_ERR_NOMEM) goto oom;
    if (rc) goto out;
    out->ratio_used = p->ratio_pre;
    set_quirks(p, out);
    out->params_json = params_json(p);
    if (!out->params_json) goto oom;
    rc = TG_OK;
    goto out;
oom:
    tb_set_err(err, err_len, "tango: out of memory");
    rc = TG_ERR_NOMEM;
out:
    for (int64_t i = 0; i < r.n_blocks; i++) free(r.blocks[i]);
    free(r.blocks);
    free(r.A);
    tg_strope_ctx_free(r.rope);
    if (scrs)
        for (int i = 0; i < n_thr; i++) scr_free(&scrs[i]);
    free(scrs);
    free(seg_rc);
    free(seg_err);
    free(seg_order);
    free(r.sim);
    free(r.keep);
    free(r.src);
    free(seg_start);
    free(seg_len);
    free(tpos);
    free(gmean);
    if (rc) tg_prune_output_free(out);
    return rc;
}

int tg_tango_prune(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    int rc = tg_prune_input_check(in, err, err_len);
    if (rc) return rc;
    tg_tango_params p;
    rc = tg_tango_params_resolve(in, &p, err, err_len);
    if (rc) return rc;
    return tg_tango_run(in, &p, out, err, err_len);
}

const tg_method tg_tango_method = {"tango",
                                   "Tango: segmentation, diversity-driven salient selection, ST-RoPE context merging",
                                   tg_tango_prune, tg_tango_keys, TG_CAP_IN_LLM | TG_CAP_NEEDS_TIMES};
