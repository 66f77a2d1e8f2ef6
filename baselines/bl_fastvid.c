/* bl_fastvid.c - FastVID (spec holitom-fastvid.md §2), on the shared primitives.
 *   DySeg: cosine of consecutive normalised per-frame global vectors (in->frame_global; the mean
 *     feature of the frame when absent, recorded); cuts = the c-1 lowest transitions plus every
 *     transition below tau (8 and 0.9), a segment boundary after each cut frame.
 *   Budgets (int() truncation): F_keep = int(L * r).
 *     OV ("parallel" version, the llava-ov family, compat=official): S = F_keep - int(F_keep * d)
 *       salient tokens in EVERY frame, Cx = F_keep - S; per segment of Lg frames nA = ceil(Lg/p)
 *       anchors (the last frame, then every p-th going back), each with perA = (Cx*Lg) // nA
 *       context tokens (remainder dropped); frames with ctx == Cx take the single-frame path.
 *     Video ("straightforward" version) and OV compat=paper: per segment R = F_keep*Lg,
 *       C = int(R*d), S = R - C; salient S // Lg (+1 for the earliest S % Lg frames), context
 *       C // nA (+1 for the first C % nA entries) placed at frames a*p then reversed.
 *   Per frame: the salient tokens = top by saliency (MAP-head attention). Context tokens of an
 *     anchor frame = the top by DPC score over that frame's non-salient tokens (kNN 4 self
 *     included, distances / sqrt(D), 1e-6 jitter); every token of the merge pool goes to the
 *     context target with the largest cosine (first max); out = w x + (1 - w) mean(assigned),
 *     w = max(1 / (n + 1), beta).
 *     OV: targets in score order, pool = the frame's non-salient tokens (single-frame) or all
 *       non-salient tokens of the segment (anchors), targets included (they vote for themselves).
 *     Video: targets in position order, pool = the segment's non-salient tokens minus this
 *       anchor's own targets (other anchors' targets included).
 *   Output: salient + context tokens in original order with ORIGINAL position ids (gaps); OV keeps
 *     its newline at position T*L; Video emits a row's newline (position r*(W+1)+W of its frame)
 *     when the row kept a token. No in-LLM stage.
 * Knobs: retention (fastvid_retention_ratio; else solved from the target r and re-solved on the
 * data: the segmentation and the Video newline rows decide the realised count), c, tau, d, p,
 * beta. Quirks (compat=official): fastvid.ov_remainder_dropped (OV), fastvid.single_frame_by_ctx
 * (OV), fastvid.ov_target_in_own_mean (OV), fastvid.video_target_excluded (Video),
 * fastvid.video_hardcoded_layout (Video: T = 64 and 13x13 required), fastvid.int_truncation and
 * fastvid.multi_anchor_double_count (no settled alternative: active in both modes).
 *
 * Qwen2.5-VL (spec qwen25vl.md §8, the official fastvid_qwen25vl code): the "frames" are temporal
 *   slices of two frames, the units their 2x2-merged tokens (3584-d merger outputs), the saliency
 *   the ViT's global-query attention, the slice global the plain mean of its merged tokens
 *   (in->frame_global overrides it). DySeg as above with tau 0.84 (eval.sh); per segment of n
 *   slices R = F_keep*n, C = max(int(R*d), 1), S = R - C. n = 1: (S salient, C context). n > 1:
 *   sub-segments end where the consecutive cosine is < ignore (0.95); the k sub-segments share S
 *   evenly (+1 for the first S % k), the ceil(k/p) anchor entries (every p-th sub-segment from
 *   the first) share C evenly (+1 for the first C % nA), each capped at L//2, and that context list
 *   is REVERSED; only the LAST slice of each sub-segment gets its sub-segment's budgets (context
 *   min(ctx, L//2), salient min(sal, L - ctx), or min(sal, L) without context), the others 0.
 *   Selection and merging are the LLaVA-Video rules (context targets by DPC over the slice's
 *   non-salient units, position order; each target's pool = every non-salient unit of the
 *   segment except its own targets, other slices' targets included); kept units keep their
 *   original (t, h, w) M-RoPE ids. No paper alternative is documented for any of its quirks, so
 *   compat=paper runs the same code: fastvid_qwen.last_slice_budget,
 *   fastvid_qwen.ctx_budget_reversed, fastvid_qwen.segment_pool_shared_merge,
 *   fastvid_qwen.density_self_included and fastvid.int_truncation are recorded in both modes.
 *   Deviations (the official code raises): fewer than c slices (topk over T-1 < c-1 transitions)
 *   take every transition as a cut; a segment without any salient unit (F_keep = 1 on a
 *   single-slice segment: torch.cat of an empty list) keeps its context unit only. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

static const char *const bl_fastvid_keys[] = {"compat", "seed", "jitter", "account", "retention", "c",
                                              "tau",    "d",    "p",      "beta",    "ignore", NULL};

typedef struct {
    int64_t c, p;
    double tau, d, beta;
    int ov_variant; /* OV official budgets and merge */
    int target_in_pool; /* OV merge rule */
    int qwen;           /* Qwen2.5-VL budgets (sub-segments, last-slice budgets) */
    double ignore;      /* Qwen: sub-segment cut below this consecutive cosine */
    const float *sim;   /* Qwen: [T-1] consecutive cosines of the slice globals */
} fv_params;

typedef struct {
    int64_t *seg_start, *seg_len, n_seg;
    int64_t *sal, *ctx; /* [T] per-frame counts for the current F_keep */
    int *single;        /* [T] single-frame path */
} fv_plan;

/* Per-frame salient / context counts of every frame for per-frame budget F (see top). */
/* Qwen2.5-VL budgets of one segment (see top): sub-segments at consecutive cosines < ignore,
 * budgets on the last slice of each. */
static void fv_budgets_qwen(const bl_ctx *c, const fv_params *p, int64_t F, int64_t s0, int64_t Lg, fv_plan *pl) {
    int64_t L = c->L, R = F * Lg, C = (int64_t)((double)R * p->d), S;
    if (C < 1) C = 1;
    S = R - C;
    for (int64_t j = 0; j < Lg; j++) {
        pl->sal[s0 + j] = pl->ctx[s0 + j] = 0;
        pl->single[s0 + j] = Lg == 1;
    }
    if (Lg == 1) {
        pl->sal[s0] = S;
        pl->ctx[s0] = C;
        return;
    }
    int64_t k = 1;
    for (int64_t f = s0; f + 1 < s0 + Lg; f++) k += p->sim[f] < (float)p->ignore;
    int64_t nA = (k + p->p - 1) / p->p;
    /* walk the sub-segments; sub-segment i (0-based) ends at slice `end` */
    int64_t i = 0;
    for (int64_t f = s0; f < s0 + Lg; f++) {
        if (f + 1 < s0 + Lg && !(p->sim[f] < (float)p->ignore)) continue;
        int64_t sal = S / k + (i < S % k ? 1 : 0);
        /* the context list (entry i%p==0 holds share i/p, capped at L/2), reversed */
        int64_t ri = k - 1 - i, ctx = 0;
        if (ri % p->p == 0) {
            int64_t a = ri / p->p;
            ctx = C / nA + (a < C % nA ? 1 : 0);
            if (ctx > L / 2) ctx = L / 2;
        }
        if (ctx == 0) {
            pl->sal[f] = sal < L ? sal : L;
        } else {
            pl->ctx[f] = ctx;
            pl->sal[f] = sal < L - ctx ? sal : L - ctx;
        }
        i++;
    }
}

static void fv_budgets(const bl_ctx *c, const fv_params *p, int64_t F, fv_plan *pl) {
    int64_t L = c->L;
    for (int64_t g = 0; g < pl->n_seg; g++) {
        int64_t s0 = pl->seg_start[g], Lg = pl->seg_len[g];
        int64_t nA = (Lg + p->p - 1) / p->p;
        if (p->qwen) {
            fv_budgets_qwen(c, p, F, s0, Lg, pl);
        } else if (p->ov_variant) {
            int64_t S = F - (int64_t)((double)F * p->d), Cx = F - S;
            int64_t perA = (Cx * Lg) / nA;
            for (int64_t j = 0; j < Lg; j++) {
                int anchor = ((Lg - 1 - j) % p->p) == 0;
                int64_t ctx = Lg == 1 ? Cx : (anchor ? perA : 0);
                pl->sal[s0 + j] = S;
                pl->ctx[s0 + j] = ctx;
                pl->single[s0 + j] = ctx > 0 && (c->paper ? Lg == 1 : ctx == Cx);
            }
        } else {
            int64_t R = F * Lg, C = (int64_t)((double)R * p->d), S = R - C;
            for (int64_t j = 0; j < Lg; j++) {
                pl->sal[s0 + j] = Lg == 1 ? S : S / Lg + (j < S % Lg ? 1 : 0);
                pl->ctx[s0 + j] = 0;
                pl->single[s0 + j] = Lg == 1;
            }
            if (Lg == 1) {
                pl->ctx[s0] = C;
            } else {
                int64_t base = C / nA, rem = C % nA;
                for (int64_t a = 0; a < nA; a++) pl->ctx[s0 + Lg - 1 - a * p->p] = base + (a < rem ? 1 : 0);
            }
        }
        for (int64_t j = 0; j < Lg; j++) {
            if (pl->sal[s0 + j] > L) pl->sal[s0 + j] = L;
            if (pl->ctx[s0 + j] > L - pl->sal[s0 + j]) pl->ctx[s0 + j] = L - pl->sal[s0 + j];
        }
    }
}

/* DySeg into pl->seg_start / seg_len (the shared primitive). */
static int fv_dyseg(const bl_ctx *c, const fv_params *p, const float *G, int64_t Gd, fv_plan *pl) {
    return tg_segment_cuts(G, c->T, Gd, p->c - 1, p->tau, pl->seg_start, pl->seg_len, &pl->n_seg);
}

/* Normalises n rows (float math, norms accumulated in float per row, eps 1e-12). Sequential on
 * purpose: only the targets are normalised, and an OpenMP team left spinning next to OpenBLAS's
 * threads costs more than it saves on 2 cores. */
static void norm_rows(const float *const *rows, int64_t n, int64_t D, float *out) {
    for (int64_t i = 0; i < n; i++) {
        const float *x = rows[i];
        float s = 0;
        for (int64_t d = 0; d < D; d++) s += x[d] * x[d];
        float nr = sqrtf(s);
        float inv = 1.0f / (nr < 1e-12f ? 1e-12f : nr);
        float *o = out + (size_t)i * D;
        for (int64_t d = 0; d < D; d++) o[d] = x[d] * inv;
    }
}

/* a[d] += x[d] (vectorised). */
static inline void add_row(float *restrict a, const float *restrict x, int64_t D) {
#pragma omp simd
    for (int64_t d = 0; d < D; d++) a[d] += x[d];
}

/* One context anchor of a segment: its targets are columns [off, off + k) of the segment's
 * similarity matrix; it merges pool rows [r0, r1). */
typedef struct {
    int64_t t, k, off, r0, r1;
} fv_anchor;

/* One run at per-frame budget F (the plan's segments already set). With count_ret != NULL only the
 * selection runs (salient tokens and context targets, no merging, no output): *count_ret gets the
 * realised retention that budget gives, out is left zeroed. */
static int fastvid_once(const bl_ctx *c, const fv_params *p, const tg_prune_input *in, fv_plan *pl, int64_t F,
                        tg_prune_output *out, double *count_ret, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    int64_t T = c->T, L = c->L, D = c->D;
    fv_budgets(c, p, F, pl);
    tg_rng rng;
    tg_rng_seed(&rng, c->seed);
    tg_seq s = {0};
    int rc = TG_ERR_NOMEM;
    int64_t maxlen = 0;
    for (int64_t g = 0; g < pl->n_seg; g++)
        if (pl->seg_len[g] > maxlen) maxlen = pl->seg_len[g];
    size_t segN = (size_t)(maxlen * L);
    tg_entry *list = malloc((size_t)(T * L) * sizeof *list);
    int64_t *rank = malloc(segN * sizeof *rank);
    uint8_t *issal = malloc(segN);
    float *U = malloc((size_t)L * (size_t)D * sizeof *U);
    float *dist = malloc((size_t)L * (size_t)L * sizeof *dist), *Tn = malloc(segN * (size_t)D * sizeof *Tn);
    float *sim = NULL;
    const float **traw = malloc(segN * sizeof *traw);
    int64_t *uidx = malloc((size_t)L * sizeof *uidx), *tgt = malloc((size_t)L * sizeof *tgt);
    int64_t *tpool = malloc(segN * sizeof *tpool), *tflat = malloc(segN * sizeof *tflat);
    fv_anchor *anc = malloc((size_t)(maxlen > 0 ? maxlen : 1) * sizeof *anc);
    out->segments = calloc((size_t)pl->n_seg, sizeof *out->segments);
    if (!list || !rank || !issal || !U || !dist || !Tn || !traw || !uidx || !tgt ||
        !tpool || !tflat || !anc || !out->segments)
        goto oom;
    out->n_segments = (int)pl->n_seg;
    int64_t nl = 0;
    for (int64_t g = 0; g < pl->n_seg; g++) {
        int64_t s0 = pl->seg_start[g], Lg = pl->seg_len[g];
        tg_segment_info *si = &out->segments[g];
        si->start = s0;
        si->len = Lg;
        si->ratio_adj = (double)F / (double)L;
        si->budget = F * Lg;
        /* salient per frame */
        memset(issal, 0, (size_t)(Lg * L));
        for (int64_t j = 0; j < Lg; j++) {
            int64_t t = s0 + j, *rk = rank + (size_t)j * L;
            if (tg_topk_desc(in->saliency + (size_t)t * L, L, pl->sal[t], rk)) goto oom;
            for (int64_t i = 0; i < pl->sal[t]; i++) {
                issal[j * L + rk[i]] = 1;
                list[nl++] = (tg_entry){t * L + rk[i], in->features + ((size_t)t * L + rk[i]) * D};
            }
            si->kept_salient += pl->sal[t];
        }
        /* anchors: targets by DPC score over the frame's own non-salient tokens (sequential:
         * the density jitter is drawn in frame order) */
        int64_t na = 0, ktot = 0;
        for (int64_t j = 0; j < Lg; j++) {
            int64_t t = s0 + j, k = pl->ctx[t];
            if (k <= 0) continue;
            int64_t nu = 0;
            for (int64_t l = 0; l < L; l++)
                if (!issal[j * L + l]) {
                    uidx[nu] = l;
                    memcpy(U + (size_t)nu * D, in->features + ((size_t)t * L + l) * D, (size_t)D * sizeof *U);
                    nu++;
                }
            if (k > nu) k = nu;
            if (k <= 0) continue;
            if (tg_cdist_self(U, nu, D, TG_DIST_TORCH, 1, dist)) goto oom;
            tg_dpc_params dp = tg_dpc_default_params();
            dp.knn = 4;
            dp.drop_self = 0;
            dp.dist_div = sqrt((double)D);
            dp.order = TG_DPC_ORDER_GAMMA;
            dp.jitter = c->jitter;
            dp.rng = &rng;
            if (tg_dpc_knn(dist, nu, k, &dp, tgt, NULL, NULL, err, err_len)) {
                rc = TG_ERR_INTERNAL;
                goto out;
            }
            if (!p->target_in_pool) bl_sort_i64(tgt, k); /* Video: position order */
            fv_anchor *a = &anc[na++];
            a->t = t;
            a->k = k;
            a->off = ktot;
            if (pl->single[t] && p->target_in_pool) { /* OV single-frame path: the frame's own pool */
                a->r0 = j * L;
                a->r1 = (j + 1) * L;
            } else {
                a->r0 = 0;
                a->r1 = Lg * L;
            }
            for (int64_t q = 0; q < k; q++) {
                tflat[ktot + q] = t * L + uidx[tgt[q]];
                tpool[ktot + q] = j * L + uidx[tgt[q]];
                traw[ktot + q] = in->features + (size_t)tflat[ktot + q] * D;
            }
            ktot += k;
        }
        if (na == 0 || count_ret) {
            for (int64_t q = 0; q < ktot; q++) list[nl++] = (tg_entry){tflat[q], NULL};
            si->kept_context += ktot;
            si->kept = si->kept_salient + si->kept_context;
            continue;
        }
        /* dot products of every token of the segment with every normalised target: one GEMM on
         * the contiguous feature block; a row's argmax over targets is its cosine argmax (the
         * row norm is a positive factor), salient rows are skipped */
        norm_rows(traw, ktot, D, Tn);
        float *sim2 = realloc(sim, (size_t)(Lg * L) * (size_t)ktot * sizeof *sim);
        if (!sim2) goto oom;
        sim = sim2;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(Lg * L), (int)ktot, (int)D, 1.0f,
                    in->features + (size_t)s0 * L * D, (int)D, Tn, (int)D, 0.0f, sim, (int)ktot);
        float *merged = tg_seq_block(&s, (size_t)ktot * (size_t)D);
        if (!merged) goto oom;
        int fail = 0;
        int64_t *cnt = malloc((size_t)L * sizeof *cnt);
        float *acc = malloc((size_t)L * (size_t)D * sizeof *acc);
        if (!cnt || !acc) fail = 1;
        for (int64_t ai = 0; ai < na && !fail; ai++) {
            const fv_anchor *a = &anc[ai];
            int64_t k = a->k;
            memset(cnt, 0, (size_t)k * sizeof *cnt);
            memset(acc, 0, (size_t)k * (size_t)D * sizeof *acc);
            for (int64_t i = a->r0; i < a->r1; i++) {
                if (issal[i]) continue;
                if (!p->target_in_pool) { /* Video: this anchor's own targets are not in its pool */
                    int own = 0;
                    for (int64_t q = 0; q < k && !own; q++) own = tpool[a->off + q] == i;
                    if (own) continue;
                }
                const float *row = sim + (size_t)i * ktot + a->off;
                int64_t b = 0;
                for (int64_t q = 1; q < k; q++)
                    if (row[q] > row[b]) b = q;
                cnt[b]++;
                add_row(acc + (size_t)b * D, in->features + ((size_t)s0 * L + i) * D, D);
            }
            for (int64_t q = 0; q < k; q++) {
                double w = 1.0 / (double)(cnt[q] + 1);
                if (w < p->beta) w = p->beta;
                float wf = (float)w, inv = 1.0f / (float)(cnt[q] > 0 ? cnt[q] : 1);
                const float *x = traw[a->off + q];
                float *o = merged + (size_t)(a->off + q) * D;
                const float *ac = acc + (size_t)q * D;
                for (int64_t d = 0; d < D; d++) o[d] = wf * x[d] + (1.0f - wf) * (ac[d] * inv);
            }
        }
        free(cnt);
        free(acc);
        if (fail) goto oom;
        for (int64_t q = 0; q < ktot; q++) list[nl++] = (tg_entry){tflat[q], merged + (size_t)q * D};
        si->kept_context += ktot;
        si->kept = si->kept_salient + si->kept_context;
    }
    qsort(list, (size_t)nl, sizeof *list, tg_entry_cmp);
    if (count_ret) {
        /* newline rows: one per (frame, row) holding a kept token on the grid layout */
        int64_t rows = 0;
        for (int64_t i = 0; i < nl; i++) rows += i == 0 || list[i].id / c->W != list[i - 1].id / c->W;
        rows = bl_newlines(c->newline, rows);
        *count_ret = c->account == BL_ACCOUNT_CONTENT ? (double)nl / (double)(T * L)
                                                       : (double)(nl + rows) / (double)bl_full_len(&c->geo);
        tg_prune_output_free(out);
        rc = TG_OK;
        goto out;
    }
    rc = bl_emit_finish(c, &s, list, nl, TG_EMIT_ORIGINAL_POS, out, NULL, err, err_len);
    if (!rc) out->ratio_used = (double)F / (double)L;
    goto out;
oom:
    tb_set_err(err, err_len, "fastvid: out of memory");
    rc = TG_ERR_NOMEM;
out:
    tg_seq_free(&s);
    free(list);
    free(rank);
    free(issal);
    free(U);
    free(dist);
    free(Tn);
    free(sim);
    free(traw);
    free(uidx);
    free(tgt);
    free(tpool);
    free(tflat);
    free(anc);
    if (rc) tg_prune_output_free(out);
    return rc;
}

static int bl_fastvid_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "fastvid", in, bl_fastvid_keys, err, err_len);
    if (st) return st;
    const int qwen = c.family == TB_FAMILY_QWEN25_VL;
    /* Qwen2.5-VL: fastvid_qwen25vl/scripts/eval.sh's tau 0.84 and DySeg_ignore 0.95 */
    fv_params p = {.c = 8, .p = 4, .tau = qwen ? 0.84 : 0.9, .d = 0.4, .beta = 0.6, .qwen = qwen, .ignore = 0.95};
    if ((st = tg_param_double(in, "ignore", -1.0, 1.0, &p.ignore, err, err_len)) < 0) return st;
    if (st == 1 && !qwen) {
        tb_set_err(err, err_len, "fastvid: parameter ignore (DySeg_ignore) exists only in the qwen2.5-vl code path, "
                                 "not for %s", tb_family_name(c.family));
        return TG_ERR_INPUT;
    }
    if ((st = tg_param_int(in, "c", 1, 1000000, &p.c, err, err_len)) < 0) return st;
    if ((st = tg_param_int(in, "p", 1, 1000000, &p.p, err, err_len)) < 0) return st;
    if ((st = tg_param_double(in, "tau", -1.0, 1.0, &p.tau, err, err_len)) < 0) return st;
    if ((st = tg_param_double(in, "d", 0.0, 1.0, &p.d, err, err_len)) < 0) return st;
    if ((st = tg_param_double(in, "beta", 0.0, 1.0, &p.beta, err, err_len)) < 0) return st;
    double r = 0;
    int sr = tg_param_double(in, "retention", 1e-9, 1.0, &r, err, err_len);
    if (sr < 0) return sr;
    int ov = c.family == TB_FAMILY_LLAVA_OV;
    p.ov_variant = ov && !c.paper;
    p.target_in_pool = ov;
    if (!ov && !qwen && !c.paper && (c.T != 64 || c.H != 13 || c.W != 13)) {
        tb_set_err(err, err_len,
                   "fastvid: the official LLaVA-Video variant hard-codes 64 frames of 13x13 tokens (quirk "
                   "fastvid.video_hardcoded_layout), got %lld frames of %lldx%lld; use compat=paper",
                   (long long)c.T, (long long)c.H, (long long)c.W);
        return TG_ERR_INPUT;
    }
    int64_t T = c.T, L = c.L;
    fv_plan pl = {0};
    pl.seg_start = malloc((size_t)T * sizeof *pl.seg_start);
    pl.seg_len = malloc((size_t)T * sizeof *pl.seg_len);
    pl.sal = malloc((size_t)T * sizeof *pl.sal);
    pl.ctx = malloc((size_t)T * sizeof *pl.ctx);
    pl.single = malloc((size_t)T * sizeof *pl.single);
    float *gmean = NULL, *sim = NULL;
    const float *G = in->frame_global;
    int64_t Gd = in->global_dim;
    if (G && Gd < 1) {
        tb_set_err(err, err_len, "fastvid: frame globals given with global_dim=%lld", (long long)Gd);
        st = TG_ERR_INPUT;
        goto done;
    }
    if (!G) {
        gmean = malloc((size_t)T * (size_t)c.D * sizeof *gmean);
        if (gmean) {
            for (int64_t t = 0; t < T; t++)
                for (int64_t d = 0; d < c.D; d++) {
                    double a = 0;
                    for (int64_t l = 0; l < L; l++) a += in->features[((size_t)t * L + l) * c.D + d];
                    gmean[t * c.D + d] = (float)(a / (double)L);
                }
        }
        G = gmean;
        Gd = c.D;
    }
    if (qwen) { /* the sub-segment signal: the same cosines DySeg cuts on */
        sim = malloc((size_t)T * sizeof *sim);
        if (sim && G && tg_consecutive_cos(G, T, Gd, sim)) {
            free(sim);
            sim = NULL;
        }
        p.sim = sim;
    }
    if (!pl.seg_start || !pl.seg_len || !pl.sal || !pl.ctx || !pl.single || !G || (qwen && !sim) ||
        fv_dyseg(&c, &p, G, Gd, &pl)) {
        tb_set_err(err, err_len, "fastvid: out of memory");
        st = TG_ERR_NOMEM;
        goto done;
    }
    bl_knobs k = bl_knobs_default("fastvid");
    double pred = 0;
    const char *how = "explicit";
    int64_t F;
    if (sr) {
        F = (int64_t)((double)L * r);
        if (F < 1) {
            tb_set_err(err, err_len, "fastvid: retention=%g keeps int(%lld * r) = 0 tokens per frame", r, (long long)L);
            st = TG_ERR_INPUT;
            goto done;
        }
    } else {
        st = bl_solve("fastvid", c.target, &c.geo, &k, &pred, err, err_len);
        if (st < 0) goto done;
        how = "solver";
        /* without grid newlines the realised count is a formula of the segmentation: pick the
         * closest F directly */
        if (c.newline != TG_NEWLINE_ROW) {
            double bd = INFINITY;
            int64_t full = bl_full_len(&c.geo);
            for (int64_t f = 1; f <= L; f++) {
                fv_budgets(&c, &p, f, &pl);
                int64_t n = 0;
                for (int64_t t = 0; t < T; t++) n += pl.sal[t] + pl.ctx[t];
                double v = c.account == BL_ACCOUNT_CONTENT ? (double)n / (double)(T * L)
                                                           : (double)(n + bl_newlines(c.newline, 0)) / (double)full;
                if (fabs(v - c.target) < bd - 1e-15) {
                    bd = fabs(v - c.target);
                    k.per_frame = f;
                }
            }
            how = bd <= BL_TOL ? "resolved-on-data" : "resolved-inexact";
        }
        F = k.per_frame;
    }
    if (!sr && c.newline == TG_NEWLINE_ROW) {
        /* Video: the newline rows depend on the selection: walk F towards the target with
         * selection-only runs (no merging), then run once */
        double got = 0;
        if ((st = fastvid_once(&c, &p, in, &pl, F, out, &got, err, err_len))) goto done;
        int dir = got < c.target ? 1 : -1;
        double bd = fabs(got - c.target);
        for (int it = 0; it < 16 && bd > BL_TOL / 2; it++) {
            int64_t f2 = F + dir;
            if (f2 < 1 || f2 > L) break;
            double g2 = 0;
            if ((st = fastvid_once(&c, &p, in, &pl, f2, out, &g2, err, err_len))) goto done;
            if (fabs(g2 - c.target) >= bd) break;
            bd = fabs(g2 - c.target);
            F = f2;
        }
    }
    st = fastvid_once(&c, &p, in, &pl, F, out, NULL, err, err_len);
    if (st) goto done;
    if (!sr) how = fabs(bl_realised(out, c.account) - c.target) <= BL_TOL ? "resolved-on-data" : "resolved-inexact";
    if (qwen) { /* no paper alternative documented: both modes (see top) */
        bl_quirk(out, "fastvid_qwen.last_slice_budget");
        bl_quirk(out, "fastvid_qwen.ctx_budget_reversed");
        bl_quirk(out, "fastvid_qwen.segment_pool_shared_merge");
        bl_quirk(out, "fastvid_qwen.density_self_included");
    } else {
        if (!c.paper) {
            if (ov) {
                bl_quirk(out, "fastvid.ov_remainder_dropped");
                bl_quirk(out, "fastvid.single_frame_by_ctx");
            } else {
                bl_quirk(out, "fastvid.video_hardcoded_layout");
            }
        }
        bl_quirk(out, ov ? "fastvid.ov_target_in_own_mean" : "fastvid.video_target_excluded");
        bl_quirk(out, "fastvid.multi_anchor_double_count");
    }
    bl_quirk(out, "fastvid.int_truncation");
    {
        double rr = sr ? r : ((double)F + 0.5) / (double)L;
        if (!sr && (int64_t)((double)L * ((double)F / (double)L)) == F) rr = (double)F / (double)L;
        bl_json j = {0};
        bl_json_common(&j, &c);
        bl_json_add(&j,
                    "\"retention\":%.17g,\"f_keep\":%lld,\"c\":%lld,\"tau\":%.17g,\"d\":%.17g,\"p\":%lld,"
                    "\"beta\":%.17g,\"segments\":%lld,\"global_source\":\"%s\",",
                    rr, (long long)F, (long long)p.c, p.tau, p.d, (long long)p.p, p.beta, (long long)pl.n_seg,
                    in->frame_global ? "frame_global" : "feature_mean");
        if (qwen) bl_json_add(&j, "\"ignore\":%.17g,", p.ignore);
        st = bl_json_finish(&j, &c, out, how, pred, err, err_len);
        tb_buf_free(&j.b);
    }
done:
    free(pl.seg_start);
    free(pl.seg_len);
    free(pl.sal);
    free(pl.ctx);
    free(pl.single);
    free(gmean);
    free(sim);
    if (st) tg_prune_output_free(out);
    return st;
}

const tg_method bl_fastvid_method = {"fastvid", "FastVID: DySeg, salient + density tokens, anchor-frame merging, original positions",
                                     bl_fastvid_run, bl_fastvid_keys, 0};
