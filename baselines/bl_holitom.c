/* bl_holitom.c - HoliTom (spec holitom-fastvid.md §1), on the shared primitives:
 *   per-position cosine of consecutive frames (tg_cos_consecutive) -> the global segmentation DP
 *   (tg_segment_dp, strict > tau, ties to shorter windows, max window 1024) -> R reduced tokens ->
 *   r' = min(r / ((T*L - R) / (T*L)), 1);
 *   per multi-frame segment: static positions (tg_static_mask), their mean over the window
 *   (tg_static_pool), k_stat = round_half_even(n_stat * r') centres by DPC-kNN (kNN = min(K, k_stat),
 *   self included, distances / sqrt(D), centres in index order, 1e-6 jitter), nearest-centre
 *   assignment, merge 0.6 * centre + 0.4 * mean(other members) (TG_MERGE_BETA_EXCL);
 *   per frame: the ceil(n_dyn * r') dynamic tokens with the highest attention, ascending
 *   (D = 0: no clustering of dynamic tokens);
 *   assembly: OV per segment [static merged (ascending centre)] then each frame's dynamic tokens,
 *   one newline at the end; Video: static tokens sorted into the segment's first frame, per
 *   frame raster order with a newline after each row that kept a token; contiguous positions;
 *   variant=full adds the in-LLM plan: before layer 18 (of 28; round(18 * layers / 28) on another
 *   depth unless `layer` is set) keep round_half_even(V * (1 - 0.5)) of the
 *   V visual tokens (newlines included) by last-query attention of layer 17, fold the others
 *   sequentially by pairwise averaging into the most cosine-similar kept token, original
 *   positions (of the outer-pruned sequence) kept.
 * Attention: in->saliency_recv (mean received attention of the last vision layer, pooled); the
 * saliency when absent (recorded). The outer ratio (RETAIN_RATIO, key retain_ratio) is solved
 * from the target r: the closed form tg_two_stage_pre_ratio / the count model of bl_solve, then a
 * bisection on the data (the segmentation decides the realised count) until within BL_TOL / 2.
 * Quirks (compat=official): holitom.dynamic_topk_only (d > 0 rejected: broken officially),
 * holitom.knn_capped, holitom.static_window_mean, holitom.ov_static_first (OV),
 * holitom.layer17_bidirectional (variant=full), holitom.inner_merge_sequential (variant=full;
 * no known alternative, so active in both modes). compat=paper: d > 0 runs the intended
 * dominant + DPC-context path, kNN = min(K, n_stat), the static token is the first frame's token
 * [I], OV static tokens sorted into the first frame, causal score layer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"
#include "tango/retention.h"

static const char *const bl_holitom_keys[] = {"compat", "seed",        "jitter",       "account",    "tau",
                                              "beta",   "d",           "k",            "variant",    "layer",
                                              "layer_ratio", "retain_ratio", "max_window", NULL};

double bl_holitom_ratio_adj(double r, int64_t R, int64_t TN) {
    double tn = (double)TN;
    double v = r / ((tn - (double)R) / tn);
    return v < 1.0 ? v : 1.0;
}

void bl_holitom_budget(double radj, int64_t n_stat, int64_t n_dyn, int64_t *k_stat, int64_t *k_dyn) {
    int64_t ks = n_stat > 0 ? (int64_t)tb_round_half_even((double)n_stat * radj) : 0;
    int64_t kd = n_dyn > 0 ? (int64_t)ceil((double)n_dyn * radj) : 0;
    *k_stat = ks < n_stat ? ks : n_stat;
    *k_dyn = kd < n_dyn ? kd : n_dyn;
}

/* The official OneVision code emits each segment's static tokens first (quirk
 * holitom.ov_static_first); the grid layout and compat=paper use ascending order. */
static int ov_static_first(const bl_ctx *c) {
    return c->family == TB_FAMILY_LLAVA_OV && c->newline != TG_NEWLINE_ROW && !c->paper;
}

typedef struct {
    double tau, beta, d;
    int64_t knn, max_window;
    int full, layer;
    double layer_ratio; /* fraction removed inside the LLM (HOLITOM_r) */
} ht_params;

typedef struct {
    float *sim;          /* [T-1][L] */
    int64_t *seg_start, *seg_len, n_seg, R;
    const float *A;      /* [T][L] attention */
    int64_t *nstat;      /* [n_seg] static positions of each segment (0 for one frame) */
} ht_pre;

/* Predicted realised retention of a run at outer ratio rp: exact on OV (the counts depend only on
 * the segmentation); on Video the newlines are estimated as min(H, tokens of the frame). */
static double ht_predict(const bl_ctx *c, const ht_params *p, const ht_pre *pre, double rp, double nl_off,
                         double *nl_out) {
    int64_t T = c->T, L = c->L;
    double TN = (double)(T * L);
    double radj = bl_holitom_ratio_adj(rp, pre->R, T * L);
    int64_t content = 0, nl = bl_newlines(c->newline, 0);
    for (int64_t g = 0; g < pre->n_seg; g++) {
        int64_t W = pre->seg_len[g], ns = W > 1 ? pre->nstat[g] : 0, nd = L - ns;
        int64_t ks, kd;
        bl_holitom_budget(radj, ns, nd, &ks, &kd);
        content += ks + W * kd;
        if (c->newline == TG_NEWLINE_ROW)
            nl += (ks + kd < c->H ? ks + kd : c->H) + (W - 1) * (kd < c->H ? kd : c->H);
    }
    if (nl_out) *nl_out = (double)nl;
    double V = (double)(content + nl) + nl_off;
    int NL = c->n_layers, K = p->full ? p->layer : NL;
    double keep = p->full ? 1.0 - p->layer_ratio : 1.0;
    if (c->account == BL_ACCOUNT_CONTENT)
        return ((double)K * content + (double)(NL - K) * content * keep) / ((double)NL * TN);
    double nk = p->full ? tb_round_half_even(V * keep) : V;
    return ((double)K * V + (double)(NL - K) * nk) / ((double)NL * (double)bl_full_len(&c->geo));
}

/* The outer ratio whose predicted retention (newline estimate + nl_off) is nearest the target. */
static double ht_solve_rp(const bl_ctx *c, const ht_params *p, const ht_pre *pre, double nl_off) {
    if (ht_predict(c, p, pre, 1.0, nl_off, NULL) < c->target) return 1.0;
    double lo = 0.0, hi = 1.0;
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (ht_predict(c, p, pre, mid, nl_off, NULL) < c->target) lo = mid;
        else hi = mid;
    }
    double dhi = fabs(ht_predict(c, p, pre, hi, nl_off, NULL) - c->target);
    double dlo = lo > 0 ? fabs(ht_predict(c, p, pre, lo, nl_off, NULL) - c->target) : INFINITY;
    return dlo < dhi ? lo : hi;
}

/* DPC-kNN + nearest-centre assignment + beta merge of m points (rows of X) into k centres.
 * centres (ascending index) and merged [k][D] out. */
static int cluster_merge(const bl_ctx *c, const ht_params *p, const float *X, int64_t m, int64_t k, int64_t knn,
                         tg_rng *rng, int64_t *centres, float *merged, char *err, size_t err_len) {
    int64_t D = c->D;
    float *dist = malloc((size_t)m * (size_t)m * sizeof *dist);
    float *dc = malloc((size_t)m * (size_t)k * sizeof *dc);
    int64_t *assign = malloc((size_t)m * sizeof *assign);
    int rc = TG_ERR_NOMEM;
    if (!dist || !dc || !assign) goto out;
    if (tg_cdist_self(X, m, D, TG_DIST_TORCH, 1, dist)) goto out;
    tg_dpc_params dp = tg_dpc_default_params();
    dp.knn = (int)(knn > 0 ? knn : 1);
    dp.drop_self = 0;
    dp.dist_div = sqrt((double)D);
    dp.order = TG_DPC_ORDER_INDEX;
    dp.jitter = c->jitter;
    dp.rng = rng;
    if (tg_dpc_knn(dist, m, k, &dp, centres, NULL, NULL, err, err_len)) {
        rc = TG_ERR_INTERNAL;
        goto out;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < k; j++) dc[(size_t)i * k + j] = dist[(size_t)i * m + centres[j]];
    tg_assign_nearest(dc, m, k, assign);
    for (int64_t j = 0; j < k; j++) assign[centres[j]] = j;
    tg_merge_params mp = {TG_MERGE_BETA_EXCL, p->beta, 0};
    if (tg_cluster_merge(X, m, D, centres, k, assign, &mp, merged, NULL, err, err_len)) {
        rc = TG_ERR_INTERNAL;
        goto out;
    }
    rc = TG_OK;
out:
    if (rc == TG_ERR_NOMEM) tb_set_err(err, err_len, "holitom: out of memory (clustering %lld tokens)", (long long)m);
    free(dist);
    free(dc);
    free(assign);
    return rc;
}


/* One full run at outer ratio rp: fills out (tokens, order, plan, accounting, segments). */
static int holitom_once(const bl_ctx *c, const ht_params *p, const tg_prune_input *in, const ht_pre *pre, double rp,
                        tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    int64_t T = c->T, L = c->L, D = c->D;
    double radj = bl_holitom_ratio_adj(rp, pre->R, T * L);
    tg_rng rng;
    tg_rng_seed(&rng, c->seed);
    tg_seq s = {0};
    int rc = TG_ERR_NOMEM;
    tg_entry *list = malloc((size_t)(T * L) * sizeof *list); /* every kept token, in OV official order */
    uint8_t *mask = malloc((size_t)L);
    int64_t *dyn = malloc((size_t)L * sizeof *dyn), *idx = malloc((size_t)L * sizeof *idx);
    int64_t *cent = malloc((size_t)L * sizeof *cent), *spos = malloc((size_t)L * sizeof *spos);
    float *sc = malloc((size_t)L * sizeof *sc), *Xs = malloc((size_t)L * (size_t)D * sizeof *Xs);
    out->segments = calloc((size_t)pre->n_seg, sizeof *out->segments);
    if (!list || !mask || !dyn || !idx || !cent || !spos || !sc || !Xs || !out->segments) goto oom;
    out->n_segments = (int)pre->n_seg;
    int64_t nl = 0;
    for (int64_t g = 0; g < pre->n_seg; g++) {
        int64_t s0 = pre->seg_start[g], W = pre->seg_len[g];
        tg_segment_info *si = &out->segments[g];
        si->start = s0;
        si->len = W;
        si->ratio_adj = radj;
        int64_t nstat = 0;
        if (W > 1) nstat = tg_static_mask(pre->sim, L, s0, W, p->tau, mask);
        else memset(mask, 0, (size_t)L);
        int64_t ndyn = 0;
        for (int64_t l = 0; l < L; l++)
            if (!mask[l]) dyn[ndyn++] = l;
        si->n_static = nstat;
        /* static tokens */
        int64_t kstat, total;
        bl_holitom_budget(radj, nstat, ndyn, &kstat, &total);
        if (kstat > 0) {
            int64_t q = 0;
            for (int64_t l = 0; l < L; l++)
                if (mask[l]) spos[q++] = l;
            if (c->paper) {
                for (int64_t i = 0; i < nstat; i++)
                    memcpy(Xs + (size_t)i * D, in->features + ((size_t)s0 * L + spos[i]) * D, (size_t)D * sizeof *Xs);
            } else {
                tg_static_pool(in->features + (size_t)s0 * L * D, W, L, D, mask, Xs);
            }
            float *merged = tg_seq_block(&s, (size_t)kstat * (size_t)D);
            if (!merged) goto oom;
            int64_t knn = c->paper ? (p->knn < nstat ? p->knn : nstat) : (p->knn < kstat ? p->knn : kstat);
            rc = cluster_merge(c, p, Xs, nstat, kstat, knn, &rng, cent, merged, err, err_len);
            if (rc) goto out;
            for (int64_t j = 0; j < kstat; j++) list[nl++] = (tg_entry){s0 * L + spos[cent[j]], merged + (size_t)j * D};
        }
        si->kept_static = kstat;
        si->budget += kstat;
        /* dynamic tokens, per frame */
        int64_t dom = p->d > 0 ? (int64_t)tb_round_half_even((double)total * (1.0 - p->d)) : total;
        int64_t ctx = total - dom;
        si->budget += W * total;
        for (int64_t f = s0; f < s0 + W && total > 0; f++) {
            for (int64_t j = 0; j < ndyn; j++) sc[j] = pre->A[f * L + dyn[j]];
            if (tg_topk_desc(sc, ndyn, ndyn, idx)) goto oom;
            bl_sort_i64(idx, dom);
            for (int64_t j = 0; j < dom; j++) list[nl++] = (tg_entry){f * L + dyn[idx[j]], in->features + ((size_t)f * L + dyn[idx[j]]) * D};
            si->kept_salient += dom;
            if (ctx > 0) {
                /* compat=paper with d > 0: DPC over the non-dominant tokens, context centres */
                int64_t m = ndyn - dom;
                bl_sort_i64(idx + dom, m);
                for (int64_t j = 0; j < m; j++)
                    memcpy(Xs + (size_t)j * D, in->features + ((size_t)f * L + dyn[idx[dom + j]]) * D, (size_t)D * sizeof *Xs);
                float *merged = tg_seq_block(&s, (size_t)ctx * (size_t)D);
                if (!merged) goto oom;
                rc = cluster_merge(c, p, Xs, m, ctx, p->knn < ctx ? p->knn : ctx, &rng, cent, merged, err, err_len);
                if (rc) goto out;
                for (int64_t j = 0; j < ctx; j++) list[nl++] = (tg_entry){f * L + dyn[idx[dom + cent[j]]], merged + (size_t)j * D};
                si->kept_context += ctx;
            }
        }
        si->kept = si->kept_static + si->kept_salient + si->kept_context;
    }
    /* assembly */
    /* the official OV code keeps its own order (static first); the grid layout needs ascending ids */
    if (!ov_static_first(c)) qsort(list, (size_t)nl, sizeof *list, tg_entry_cmp);
    if (tg_seq_emit(&s, list, nl, c->newline, T, c->H, c->W, 0) != TG_OK) goto oom;
    tb_llm_plan plan = tb_llm_plan_default();
    if (p->full) {
        plan.layer = p->layer;
        plan.select = TB_PLAN_SELECT_LAST_QUERY;
        plan.keep_ratio = 1.0 - p->layer_ratio;
        plan.keep_count = (int64_t)tb_round_half_even((double)s.n * plan.keep_ratio);
        plan.merge = TB_PLAN_MERGE_PAIRWISE;
        plan.pos = TB_PLAN_POS_KEEP;
        plan.bidirectional_prev = !c->paper;
    }
    rc = tg_seq_finish(&s, c->in, out, &plan, c->name, err, err_len);
    if (rc) goto out;
    out->compat = c->paper ? "paper" : "official";
    out->ratio_used = rp;
    goto out;
oom:
    tb_set_err(err, err_len, "holitom: out of memory");
    rc = TG_ERR_NOMEM;
out:
    tg_seq_free(&s);
    free(list);
    free(mask);
    free(dyn);
    free(idx);
    free(cent);
    free(spos);
    free(sc);
    free(Xs);
    if (rc) tg_prune_output_free(out);
    return rc;
}

static int bl_holitom_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "holitom", in, bl_holitom_keys, err, err_len);
    if (st) return st;
    ht_params p = {.tau = fabs(c.target - 0.10) < 1e-9 ? 0.65 : 0.8,
                   .beta = 0.6,
                   .d = 0.0,
                   .knn = 7,
                   .max_window = 1024,
                   .full = 1,
                   .layer = 18,
                   .layer_ratio = 0.5};
    double rp = 0;
    int64_t iv;
    if ((st = tg_param_double(in, "tau", -1.0, 1.0, &p.tau, err, err_len)) < 0) return st;
    if ((st = tg_param_double(in, "beta", 0.0, 1.0, &p.beta, err, err_len)) < 0) return st;
    if ((st = tg_param_double(in, "d", 0.0, 1.0, &p.d, err, err_len)) < 0) return st;
    if ((st = tg_param_int(in, "k", 1, 1000000, &p.knn, err, err_len)) < 0) return st;
    if ((st = tg_param_int(in, "max_window", 1, 1000000, &p.max_window, err, err_len)) < 0) return st;
    /* default layer 18 of Qwen2-7B's 28; on another depth the same fraction of the layers
     * (round(18 * layers / 28), within [1, layers - 1]) unless set explicitly */
    p.layer = tg_scaled_layer(18, c.n_layers);
    iv = p.layer;
    if ((st = tg_param_int(in, "layer", 1, c.n_layers - 1, &iv, err, err_len)) < 0) return st;
    p.layer = (int)iv;
    if ((st = tg_param_double(in, "layer_ratio", 0.0, 1.0, &p.layer_ratio, err, err_len)) < 0) return st;
    const char *v = tg_param_get(in, "variant");
    if (v) {
        if (!strcmp(v, "outer")) p.full = 0;
        else if (strcmp(v, "full")) {
            tb_set_err(err, err_len, "holitom: parameter variant=%s: expected outer or full", v);
            return TG_ERR_INPUT;
        }
    }
    int srp = tg_param_double(in, "retain_ratio", 1e-9, 1.0, &rp, err, err_len);
    if (srp < 0) return srp;
    if (p.d > 0 && !c.paper) {
        tb_set_err(err, err_len,
                   "holitom: d=%g > 0 is broken in the official release (quirk holitom.dynamic_topk_only); use "
                   "compat=paper",
                   p.d);
        return TG_ERR_INPUT;
    }

    bl_knobs k = bl_knobs_default("holitom");
    k.holitom_full = p.full;
    k.llm_layer = p.full ? p.layer : 0;
    k.llm_keep_ratio = p.full ? 1.0 - p.layer_ratio : 1.0;
    double pred = 0;
    const char *how = "explicit";
    if (!srp) {
        st = bl_solve("holitom", c.target, &c.geo, &k, &pred, err, err_len);
        if (st < 0) return st;
        rp = k.ratio;
        how = "solver";
    }

    ht_pre pre = {0};
    pre.A = in->saliency_recv ? in->saliency_recv : in->saliency;
    pre.sim = malloc((size_t)(c.T > 1 ? c.T - 1 : 1) * (size_t)c.L * sizeof *pre.sim);
    pre.seg_start = malloc((size_t)c.T * sizeof *pre.seg_start);
    pre.seg_len = malloc((size_t)c.T * sizeof *pre.seg_len);
    if (!pre.sim || !pre.seg_start || !pre.seg_len) {
        st = TG_ERR_NOMEM;
        tb_set_err(err, err_len, "holitom: out of memory");
        goto done;
    }
    if (c.T > 1 && tg_cos_consecutive(in->features, c.T, c.L, c.D, in->n_threads, pre.sim)) {
        st = TG_ERR_NOMEM; /* the segmentation would read an unfilled similarity array */
        tb_set_err(err, err_len, "holitom: out of memory");
        goto done;
    }
    if (tg_segment_dp(pre.sim, c.T, c.L, p.tau, p.max_window, pre.seg_start, pre.seg_len, &pre.n_seg, &pre.R, err,
                      err_len)) {
        st = TG_ERR_INTERNAL;
        goto done;
    }
    pre.nstat = malloc((size_t)pre.n_seg * sizeof *pre.nstat);
    uint8_t *mask = malloc((size_t)c.L);
    if (!pre.nstat || !mask) {
        free(mask);
        st = TG_ERR_NOMEM;
        tb_set_err(err, err_len, "holitom: out of memory");
        goto done;
    }
    for (int64_t g = 0; g < pre.n_seg; g++)
        pre.nstat[g] = pre.seg_len[g] > 1 ? tg_static_mask(pre.sim, c.L, pre.seg_start[g], pre.seg_len[g], p.tau, mask) : 0;
    free(mask);
    if (!srp) {
        /* the predicted retention is monotone in rp: bisect to the count step nearest the target;
         * exact on OV. On Video the newline estimate is corrected by what a run realised (up to 3
         * more runs), then a bisection on full runs if still outside BL_TOL / 2. */
        double off = 0, nl_pred = 0;
        rp = ht_solve_rp(&c, &p, &pre, off);
        st = holitom_once(&c, &p, in, &pre, rp, out, err, err_len);
        if (st) goto done;
        double best_d = fabs(bl_realised(out, c.account) - c.target);
        for (int it = 0; it < 3 && c.newline == TG_NEWLINE_ROW && best_d > BL_TOL / 2; it++) {
            ht_predict(&c, &p, &pre, rp, 0, &nl_pred);
            off = (double)out->n_newlines - nl_pred;
            double rp2 = ht_solve_rp(&c, &p, &pre, off);
            if (rp2 == rp) break;
            tg_prune_output o2;
            st = holitom_once(&c, &p, in, &pre, rp2, &o2, err, err_len);
            if (st) goto done;
            double d2 = fabs(bl_realised(&o2, c.account) - c.target);
            if (d2 < best_d) {
                best_d = d2;
                tg_prune_output_free(out);
                *out = o2;
                rp = rp2;
            } else {
                tg_prune_output_free(&o2);
                break;
            }
        }
        if (c.newline == TG_NEWLINE_ROW && best_d > BL_TOL / 2) {
            double got = bl_realised(out, c.account);
            double lo = got < c.target ? rp : 0.0, hi = got < c.target ? 1.0 : rp;
            for (int it = 0; it < 14 && best_d > BL_TOL / 2; it++) {
                double mid = 0.5 * (lo + hi);
                tg_prune_output o2;
                st = holitom_once(&c, &p, in, &pre, mid, &o2, err, err_len);
                if (st) goto done;
                double g2 = bl_realised(&o2, c.account);
                if (g2 < c.target) lo = mid;
                else hi = mid;
                if (fabs(g2 - c.target) < best_d) {
                    best_d = fabs(g2 - c.target);
                    tg_prune_output_free(out);
                    *out = o2;
                    rp = mid;
                } else {
                    tg_prune_output_free(&o2);
                }
            }
        }
        how = best_d <= BL_TOL ? "resolved-on-data" : "resolved-inexact";
    } else {
        st = holitom_once(&c, &p, in, &pre, rp, out, err, err_len);
        if (st) goto done;
    }
    if (!c.paper) {
        bl_quirk(out, "holitom.dynamic_topk_only");
        bl_quirk(out, "holitom.knn_capped");
        bl_quirk(out, "holitom.static_window_mean");
        if (ov_static_first(&c)) bl_quirk(out, "holitom.ov_static_first");
        if (p.full) bl_quirk(out, "holitom.layer17_bidirectional");
    }
    if (p.full) bl_quirk(out, "holitom.inner_merge_sequential");
    {
        bl_json j = {0};
        bl_json_common(&j, &c);
        bl_json_add(&j,
                    "\"variant\":\"%s\",\"retain_ratio\":%.17g,\"tau\":%.17g,\"beta\":%.17g,\"d\":%.17g,\"k\":%lld,"
                    "\"layer\":%d,\"layer_ratio\":%.17g,\"max_window\":%lld,\"reduced\":%lld,\"segments\":%lld,"
                    "\"attention_source\":\"%s\",",
                    p.full ? "full" : "outer", rp, p.tau, p.beta, p.d, (long long)p.knn, p.full ? p.layer : 0,
                    p.full ? p.layer_ratio : 0.0, (long long)p.max_window, (long long)pre.R, (long long)pre.n_seg,
                    in->saliency_recv ? "saliency_recv" : "saliency");
        st = bl_json_finish(&j, &c, out, how, pred, err, err_len);
        tb_buf_free(&j.b);
    }
done:
    free(pre.sim);
    free(pre.seg_start);
    free(pre.seg_len);
    free(pre.nstat);
    if (st) tg_prune_output_free(out);
    return st;
}

const tg_method bl_holitom_method = {"holitom", "HoliTom: DP segmentation, static DPC merging, dynamic top-k, in-LLM folding",
                                     bl_holitom_run, bl_holitom_keys, TG_CAP_RECV_ATTN | TG_CAP_IN_LLM};
