/* bl_solve.c - the matched-retention solver: for a target FLOP-equivalent retention r (paper
 * Eq. 1: mean over the LLM layers of the visual tokens each layer runs, over the unpruned
 * count), find each method's own knobs. Closed forms where the count is a formula of the knobs
 * (FastV via tango/retention.h tg_fastv_keep, two-stage methods via tg_two_stage_pre_ratio), else
 * an exhaustive or bisection search over the knob with the count model written here. */
#include <math.h>
#include <string.h>

#include "baselines/bl_internal.h"
#include "tango/retention.h"

bl_knobs bl_knobs_default(const char *method) {
    bl_knobs k;
    memset(&k, 0, sizeof k);
    k.dominant_ratio = 0.95;
    k.llm_keep_ratio = 1.0;
    if (method && !strcmp(method, "fastv")) k.llm_layer = 2;
    k.pivot_image = 4;
    k.pivot_text = 4;
    if (method && !strcmp(method, "dart")) k.llm_layer = 2;
    if (method && !strcmp(method, "holitom")) {
        k.llm_layer = 18;
        k.llm_keep_ratio = 0.5;
        k.holitom_full = 1;
    }
    return k;
}

void bl_plan_layers(const bl_knobs *k, int n_layers, int64_t *visual) {
    for (int l = 0; l < n_layers && l < TG_MAX_LAYERS; l++)
        visual[l] = (k->llm_layer > 0 && l >= k->llm_layer) ? k->n_llm_keep : k->n_seq;
}

/* Retention of a predicted plan: seq counts n_seq / n_keep over the full block; content counts
 * content tokens (n_llm_keep scaled by content / n_seq) over T*L. Real-valued counts allowed. */
static double plan_retention(const bl_geometry *g, double content, double n_seq, int layer, double n_keep) {
    int NL = g->n_layers;
    int K = layer > 0 && layer < NL ? layer : NL;
    if (g->account == BL_ACCOUNT_CONTENT) {
        double late = n_seq > 0 ? content * n_keep / n_seq : 0;
        return ((double)K * content + (double)(NL - K) * late) / ((double)NL * (double)(g->n_frames * g->grid_h * g->grid_w));
    }
    return ((double)K * n_seq + (double)(NL - K) * n_keep) / ((double)NL * (double)bl_full_len(g));
}

static double lo_min(double a, double b) { return a < b ? a : b; }

/* Predicted newlines of a layout with `content` tokens spread evenly over the frames. */
static double pred_newlines(const bl_geometry *g, double content) {
    if (g->newline != TG_NEWLINE_ROW) return (double)bl_newlines(g->newline, 0);
    double per = content / (double)g->n_frames;
    return (double)g->n_frames * lo_min((double)g->grid_h, ceil(per));
}

/* ===== per-method searches ===== */

static int finish(double got, double r, double *realised) {
    if (realised) *realised = got;
    return fabs(got - r) <= BL_TOL ? BL_SOLVE_OK : BL_SOLVE_INEXACT;
}

/* Integer knob search: the n in [lo, hi] whose retention is closest to r. */
typedef double (*count_ret_fn)(const bl_geometry *g, int64_t n, const bl_knobs *k);

static int64_t search_int(const bl_geometry *g, const bl_knobs *k, int64_t lo, int64_t hi, double r, count_ret_fn f,
                          double *best_ret) {
    int64_t best = -1;
    double bd = INFINITY;
    for (int64_t n = lo; n <= hi; n++) {
        double v = f(g, n, k);
        if (isnan(v)) continue;
        if (fabs(v - r) < bd - 1e-15) {
            bd = fabs(v - r);
            best = n;
            *best_ret = v;
        }
    }
    return best;
}

static double ret_visionzip(const bl_geometry *g, int64_t b, const bl_knobs *k) {
    int64_t L = g->grid_h * g->grid_w, D = (int64_t)((double)b * k->dominant_ratio), C = b - D;
    if (C < 1 || L - D < C) return NAN;
    double content = (double)(g->n_frames * b);
    double seq = content + (double)bl_newlines(g->newline, g->n_frames * g->grid_h);
    return plan_retention(g, content, seq, 0, 0);
}

static double ret_per_frame(const bl_geometry *g, int64_t b, const bl_knobs *k) {
    (void)k;
    double content = (double)(g->n_frames * b);
    return plan_retention(g, content, content + pred_newlines(g, content), 0, 0);
}

static double ret_frames(const bl_geometry *g, int64_t F, const bl_knobs *k) {
    (void)k;
    int64_t L = g->grid_h * g->grid_w;
    double content = (double)(F * L);
    double seq = content + (double)bl_newlines(g->newline, F * g->grid_h);
    return plan_retention(g, content, seq, 0, 0);
}

static double ret_random(const bl_geometry *g, int64_t n, const bl_knobs *k) {
    (void)k;
    double nl = g->newline == TG_NEWLINE_ROW ? lo_min((double)n, (double)(g->n_frames * g->grid_h))
                                              : (double)bl_newlines(g->newline, 0);
    return plan_retention(g, (double)n, (double)n + nl, 0, 0);
}

static double holitom_ret(const bl_geometry *g, double rp, const bl_knobs *k) {
    double content = rp * (double)(g->n_frames * g->grid_h * g->grid_w);
    double seq = content + pred_newlines(g, content);
    if (!k->holitom_full) return plan_retention(g, content, seq, 0, 0);
    return plan_retention(g, content, seq, k->llm_layer, seq * k->llm_keep_ratio);
}

/* FastVID's nominal ratio for a per-frame budget F: F / L when int(L * (F / L)) == F in double,
 * else (F + 0.5) / L. */
static double fastvid_ratio_for(int64_t F, int64_t L) {
    double r = (double)F / (double)L;
    if ((int64_t)((double)L * r) == F) return r;
    return ((double)F + 0.5) / (double)L;
}

int bl_solve(const char *method, double r, const bl_geometry *g, bl_knobs *k, double *realised, char *err,
             size_t err_len) {
    if (!method || !g || !k) {
        tb_set_err(err, err_len, "solve: missing argument");
        return TG_ERR_INPUT;
    }
    if (!(r > 0 && r <= 1)) {
        tb_set_err(err, err_len, "solve %s: target r=%g outside (0, 1]", method, r);
        return TG_ERR_INPUT;
    }
    if (g->n_frames < 1 || g->grid_h < 1 || g->grid_w < 1 || g->n_layers < 1 || g->n_layers > TG_MAX_LAYERS) {
        tb_set_err(err, err_len, "solve %s: bad geometry T=%lld grid=%lldx%lld layers=%d", method,
                   (long long)g->n_frames, (long long)g->grid_h, (long long)g->grid_w, g->n_layers);
        return TG_ERR_INPUT;
    }
    int64_t T = g->n_frames, H = g->grid_h, W = g->grid_w, L = H * W, full = bl_full_len(g);
    double got = 0;
    k->data_dependent = 0;
    if (!strcmp(method, "full")) {
        k->n_seq = full;
        k->n_llm_keep = full;
        return finish(1.0, r, realised);
    }
    if (!strcmp(method, "fastv")) {
        int K = k->llm_layer;
        if (K < 1 || K >= g->n_layers) {
            tb_set_err(err, err_len, "solve fastv: k=%d outside [1, %d)", K, g->n_layers);
            return TG_ERR_INPUT;
        }
        int64_t M = tg_fastv_keep(g->n_layers, K, full, r, BL_TOL, &got);
        if (M < 0) {
            tb_set_err(err, err_len,
                       "solve fastv: r=%g is infeasible with k=%d (needs r >= k/%d = %.4f; closest realised %.4f)", r, K,
                       g->n_layers, (double)K / g->n_layers, got);
            return TG_ERR_INPUT;
        }
        k->keep = M;
        k->n_seq = full;
        k->n_llm_keep = M;
        k->llm_keep_ratio = (double)M / (double)full;
        /* content accounting gives the same number: content scales with the kept fraction */
        return finish(got, r, realised);
    }
    if (!strcmp(method, "dart")) {
        int K = k->llm_layer, NL = g->n_layers;
        if (K < 1 || K >= NL || k->pivot_image < 0 || k->pivot_text < 0) {
            tb_set_err(err, err_len, "solve dart: k=%d outside [1, %d) or negative pivots", K, NL);
            return TG_ERR_INPUT;
        }
        double R = ((double)NL * r - (double)K) / (double)(NL - K);
        if (R < 0) {
            tb_set_err(err, err_len, "solve dart: r=%g is infeasible with k=%d (needs r >= k/%d = %.4f)", r, K, NL,
                       (double)K / NL);
            return TG_ERR_INPUT;
        }
        if (R > 1) R = 1;
        /* the official quota: reduction_ratio rho = 1 - R, T = int(N * (1 - rho) / (P_v + P_t)) */
        int64_t P = (int64_t)k->pivot_image + k->pivot_text;
        double rho = 1.0 - R;
        k->per_pivot = P > 0 ? (int64_t)((double)full * (1.0 - rho) / (double)P) : 0;
        int64_t keep = k->pivot_image + P * k->per_pivot;
        k->keep = keep < full ? keep : full;
        k->n_seq = full;
        k->n_llm_keep = k->keep;
        k->llm_keep_ratio = (double)k->keep / (double)full;
        got = plan_retention(g, (double)(T * L), (double)full, K, (double)k->keep);
        return finish(got, r, realised);
    }
    if (!strcmp(method, "vidcom2")) {
        /* every newline row is kept (OV one, Video H per frame, moved to the frame's end) */
        double nl = (double)bl_newlines(g->newline, T * H), TL = (double)(T * L);
        double base = g->account == BL_ACCOUNT_CONTENT ? r : (r * (double)full - nl) / TL;
        if (!(base > 0)) {
            tb_set_err(err, err_len,
                       "solve vidcom2: r=%g is infeasible: the %g newline rows alone exceed it (needs r > %.4f)", r, nl,
                       nl / (double)full);
            return TG_ERR_INPUT;
        }
        if (base > 1) base = 1;
        k->ratio = base;
        k->n_seq = (int64_t)llround(base * TL + nl);
        k->n_llm_keep = k->n_seq;
        k->data_dependent = 1;
        got = plan_retention(g, base * TL, base * TL + nl, 0, 0);
        return finish(got, r, realised);
    }
    if (!strcmp(method, "visionzip")) {
        int64_t b = search_int(g, k, 1, L, r, ret_visionzip, &got);
        if (b < 0) {
            tb_set_err(err, err_len, "solve visionzip: no per-frame budget has a contextual token (dominant_ratio=%g)",
                       k->dominant_ratio);
            return TG_ERR_INPUT;
        }
        k->per_frame = b;
        k->dominant = (int64_t)((double)b * k->dominant_ratio);
        k->contextual = b - k->dominant;
        k->n_seq = T * b + bl_newlines(g->newline, T * H);
        k->n_llm_keep = k->n_seq;
        return finish(got, r, realised);
    }
    if (!strcmp(method, "topk")) {
        k->per_frame = search_int(g, k, 1, L, r, ret_per_frame, &got);
        k->n_seq = T * k->per_frame + (int64_t)pred_newlines(g, (double)(T * k->per_frame));
        k->n_llm_keep = k->n_seq;
        k->data_dependent = g->newline == TG_NEWLINE_ROW;
        return finish(got, r, realised);
    }
    if (!strcmp(method, "random")) {
        k->keep = search_int(g, k, 1, T * L, r, ret_random, &got);
        k->n_seq = k->keep + bl_newlines(g->newline, (k->keep < T * H ? k->keep : T * H));
        k->n_llm_keep = k->n_seq;
        k->data_dependent = g->newline == TG_NEWLINE_ROW;
        return finish(got, r, realised);
    }
    if (!strcmp(method, "uniform-frames")) {
        k->frames = search_int(g, k, 1, T, r, ret_frames, &got);
        k->n_seq = k->frames * L + bl_newlines(g->newline, k->frames * H);
        k->n_llm_keep = k->n_seq;
        return finish(got, r, realised);
    }
    if (!strcmp(method, "uniform")) {
        /* among (rows, cols) within tolerance the one closest to the grid's aspect, else closest */
        int64_t br = 1, bc = 1;
        double bd = INFINITY, bgot = 0;
        int have_tol = 0;
        for (int64_t a = 1; a <= H; a++)
            for (int64_t b = 1; b <= W; b++) {
                double content = (double)(T * a * b);
                double seq = content + (double)bl_newlines(g->newline, T * a);
                double v = plan_retention(g, content, seq, 0, 0);
                int in_tol = fabs(v - r) <= BL_TOL;
                double key = in_tol ? fabs((double)a / H - (double)b / W) + 1e-9 * fabs(v - r) : fabs(v - r);
                if ((in_tol && !have_tol) || (in_tol == have_tol && key < bd)) {
                    have_tol = in_tol;
                    bd = key;
                    br = a;
                    bc = b;
                    bgot = v;
                }
            }
        k->rows = br;
        k->cols = bc;
        k->per_frame = br * bc;
        k->n_seq = T * br * bc + bl_newlines(g->newline, T * br);
        k->n_llm_keep = k->n_seq;
        return finish(bgot, r, realised);
    }
    if (!strcmp(method, "fastvid")) {
        int64_t F = search_int(g, k, 1, L, r, ret_per_frame, &got);
        k->per_frame = F;
        k->ratio = fastvid_ratio_for(F, L);
        k->n_seq = T * F + (int64_t)pred_newlines(g, (double)(T * F));
        k->n_llm_keep = k->n_seq;
        k->data_dependent = 1;
        return finish(got, r, realised);
    }
    if (!strcmp(method, "tango")) {
        /* Tango solves its own ratio (tango/tango.c); this is the plan it realises: on LLaVA-Video
         * the two-stage pre-LLM ratio (in-LLM stage at layer 18 of 28 keeping 0.5), on OV pre-LLM
         * only */
        int video = g->family == TB_FAMILY_LLAVA_VIDEO && g->n_layers >= 2;
        int K = tg_scaled_layer(18, g->n_layers);
        double rp = video ? tg_two_stage_pre_ratio(g->n_layers, K, 0.5, r) : r;
        if (rp > 1.0) rp = 1.0;
        k->ratio = rp;
        k->llm_layer = video ? K : 0;
        k->llm_keep_ratio = video ? 0.5 : 1.0;
        double content = rp * (double)(T * L);
        k->n_seq = (int64_t)llround(content + pred_newlines(g, content));
        k->n_llm_keep = video ? (int64_t)tb_round_half_even((double)k->n_seq * 0.5) : k->n_seq;
        k->data_dependent = 1;
        got = plan_retention(g, content, (double)k->n_seq, k->llm_layer, (double)k->n_llm_keep);
        return finish(got, r, realised);
    }
    if (!strcmp(method, "holitom")) {
        if (k->holitom_full && (k->llm_layer < 1 || k->llm_layer >= g->n_layers || !(k->llm_keep_ratio > 0) ||
                                k->llm_keep_ratio > 1)) {
            tb_set_err(err, err_len, "solve holitom: layer=%d / kept fraction %g out of range", k->llm_layer,
                       k->llm_keep_ratio);
            return TG_ERR_INPUT;
        }
        /* start from the closed form (content only) and refine by bisection on the count model */
        double rp = k->holitom_full ? tg_two_stage_pre_ratio(g->n_layers, k->llm_layer, k->llm_keep_ratio, r) : r;
        double lo = 0.0, hi = 1.0;
        if (holitom_ret(g, 1.0, k) < r) {
            rp = 1.0;
        } else {
            for (int it = 0; it < 60; it++) {
                double mid = 0.5 * (lo + hi);
                if (holitom_ret(g, mid, k) < r) lo = mid;
                else hi = mid;
            }
            rp = hi;
        }
        got = holitom_ret(g, rp, k);
        k->ratio = rp;
        double content = rp * (double)(T * L);
        k->n_seq = (int64_t)llround(content + pred_newlines(g, content));
        k->n_llm_keep = k->holitom_full ? (int64_t)tb_round_half_even((double)k->n_seq * k->llm_keep_ratio) : k->n_seq;
        k->data_dependent = 1;
        if (k->holitom_full && rp >= 1.0 && fabs(got - r) > BL_TOL) {
            tb_set_err(err, err_len, "solve holitom: r=%g is infeasible with the in-LLM stage (max %.4f)", r, got);
            return TG_ERR_INPUT;
        }
        return finish(got, r, realised);
    }
    tb_set_err(err, err_len, "solve: unknown method '%s'", method);
    return TG_ERR_INPUT;
}
