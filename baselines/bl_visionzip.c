/* bl_visionzip.c - VisionZip as ported to SigLIP / LLaVA-OV / LLaVA-Video by HoliTom
 * (spec visionzip-fastv-dart-vidcom2.md §3.2, §8.1). Per frame, with the same budget b:
 *   D = int(b * dominant_ratio), C = b - D (C >= 1 required, as officially);
 *   dominant = the D tokens with the highest score (mean received attention of the last vision
 *     layer pooled like the features: in->saliency_recv; in->saliency when absent, recorded);
 *   filtered = the L - D others in raster order; step = max(1, (L - D) / C); targets = filtered
 *     positions c * step (c < C); every other filtered token goes to the target with the largest
 *     key cosine (in->keys; the features when absent, recorded), first max on ties;
 *   ctx_c = y_target + mean(members) (quirk visionzip.ctx_target_plus_mean; paper: the mean over
 *     the target and its members).
 * Output: OV one_token: per frame [dominant, raster] ++ [ctx_0..ctx_C-1], one newline at the end;
 * Video grid: tokens at their slots sorted by position, one newline after EVERY grid row (also
 * empty ones), where officially the dominant vectors (raster order) sit at the dominant positions
 * in score order (quirk visionzip.grid_position_mismatch; paper: own position). Each ctx token
 * carries its target's flat index. Contiguous positions (pre-LLM method).
 * Knobs: spatial_tokens = b (overrides the solver), dominant_ratio (0.95: the 5 % contextual
 * share of Tango's setting; HoliTom's script uses 54/64 with b = 20/30/40).
 *
 * Qwen2.5-VL (spec qwen25vl.md §7): VisionZip has no official code for this model, so only
 * compat=paper runs (compat=official, the default, is refused with that reason): the same
 * per-frame algorithm on each temporal slice of merger outputs, score = the ViT's global-query
 * attention (in->saliency), metric = the last block's unit-mean keys (in->keys), b = round(L r)
 * per slice unless spatial_tokens is set; a contextual token carries its target's flat index and
 * so its M-RoPE ids (quirk visionzip_qwen.unofficial_port on every such row). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

static const char *const bl_visionzip_keys[] = {"compat", "seed", "jitter", "account", "spatial_tokens",
                                                "dominant_ratio", NULL};

static int bl_visionzip_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "visionzip", in, bl_visionzip_keys, err, err_len);
    if (st) return st;
    bl_knobs k = bl_knobs_default("visionzip");
    if ((st = tg_param_double(in, "dominant_ratio", 0.0, 1.0, &k.dominant_ratio, err, err_len)) < 0) return st;
    int64_t b = 0, L = c.L, T = c.T, D = c.D;
    int qwen = c.family == TB_FAMILY_QWEN25_VL;
    if (qwen && !c.paper) {
        tb_set_err(err, err_len,
                   "visionzip: compat=official does not exist for qwen2.5-vl: the official VisionZip code covers "
                   "CLIP-based LLaVA only and the paper's Qwen rows come from an unpublished port (spec qwen25vl.md "
                   "§7); run compat=paper, the harness's documented adaptation");
        return TG_ERR_INPUT;
    }
    int sb = tg_param_int(in, "spatial_tokens", 1, L, &b, err, err_len);
    if (sb < 0) return sb;
    double pred = 0;
    const char *how = "explicit";
    if (!sb && qwen) {
        b = (int64_t)tb_round_half_even((double)L * c.target); /* b = round(L r) per slice */
        if (b < 1) b = 1;
        how = "round(L*r)";
        sb = 1;
    } else if (!sb) {
        st = bl_solve("visionzip", c.target, &c.geo, &k, &pred, err, err_len);
        if (st < 0) return st;
        how = st == BL_SOLVE_INEXACT ? "solver-inexact" : "solver";
        b = k.per_frame;
    }
    int64_t nd = (int64_t)((double)b * k.dominant_ratio), nc = b - nd;
    if (nc < 1 || L - nd < nc) {
        tb_set_err(err, err_len,
                   "visionzip: spatial_tokens=%lld with dominant_ratio=%g gives %lld dominant + %lld contextual tokens; "
                   "need >= 1 contextual and at most %lld - dominant",
                   (long long)b, k.dominant_ratio, (long long)nd, (long long)nc, (long long)L);
        return TG_ERR_INPUT;
    }
    if (sb) {
        double content = (double)(T * b);
        pred = c.account == BL_ACCOUNT_CONTENT
                   ? content / (double)(T * L)
                   : (content + (double)bl_newlines(c.newline, T * c.H)) / (double)bl_full_len(&c.geo);
    }
    const float *score = in->saliency_recv ? in->saliency_recv : in->saliency;
    const float *metric = in->keys ? in->keys : in->features;
    int64_t Dk = in->keys ? in->key_dim : D;
    if (in->keys && Dk < 1) {
        tb_set_err(err, err_len, "visionzip: keys given with key_dim=%lld", (long long)Dk);
        return TG_ERR_INPUT;
    }

    tg_seq s = {0};
    float *ctx = tg_seq_block(&s, (size_t)(T * nc) * (size_t)D);
    int64_t *dom = malloc((size_t)nd * 2 * sizeof *dom + 8);
    int64_t *filt = malloc((size_t)L * sizeof *filt), *assign = malloc((size_t)L * sizeof *assign);
    int64_t *cnt = malloc((size_t)nc * sizeof *cnt);
    uint8_t *isdom = malloc((size_t)L);
    float *mn = malloc((size_t)L * (size_t)Dk * sizeof *mn);
    double *acc = malloc((size_t)nc * (size_t)D * sizeof *acc);
    tg_entry *slots = malloc((size_t)(T * b) * sizeof *slots);
    if (!ctx || !dom || !filt || !assign || !cnt || !isdom || !mn || !acc || !slots) {
        st = TG_ERR_NOMEM;
        goto done;
    }
    int64_t *dom_sorted = dom + nd, ns = 0;
    for (int64_t t = 0; t < T; t++) {
        const float *Y = in->features + (size_t)t * L * D;
        if (tg_topk_desc(score + (size_t)t * L, L, nd, dom)) {
            st = TG_ERR_NOMEM;
            goto done;
        }
        memcpy(dom_sorted, dom, (size_t)nd * sizeof *dom);
        bl_sort_i64(dom_sorted, nd);
        memset(isdom, 0, (size_t)L);
        for (int64_t i = 0; i < nd; i++) isdom[dom[i]] = 1;
        int64_t nf = 0;
        for (int64_t l = 0; l < L; l++)
            if (!isdom[l]) filt[nf++] = l;
        int64_t step = nf / nc > 1 ? nf / nc : 1;
        /* only the targets are normalised: a token's own norm is a positive factor of all its
         * cosines, so the argmax over targets is the same */
        for (int64_t q = 0; q < nc; q++)
            bl_normalize_rows(metric + ((size_t)t * L + filt[q * step]) * Dk, 1, Dk, mn + (size_t)q * Dk);
        /* assignment of non-targets: argmax cosine over targets (first max) */
        for (int64_t i = 0; i < nf; i++) {
            assign[i] = -1;
            if (i % step == 0 && i / step < nc) continue; /* a target */
            if (nc == 1) {
                assign[i] = 0;
                continue;
            }
            double best = -INFINITY;
            for (int64_t q = 0; q < nc; q++) {
                const float *a = metric + ((size_t)t * L + filt[i]) * Dk, *bq = mn + (size_t)q * Dk;
                double dot = 0;
                for (int64_t d = 0; d < Dk; d++) dot += (double)a[d] * bq[d];
                if (dot > best) {
                    best = dot;
                    assign[i] = q;
                }
            }
        }
        /* one pass: sum every member into its target's accumulator */
        memset(acc, 0, (size_t)nc * (size_t)D * sizeof *acc);
        memset(cnt, 0, (size_t)nc * sizeof *cnt);
        for (int64_t i = 0; i < nf; i++) {
            if (assign[i] < 0) continue;
            const float *yi = Y + (size_t)filt[i] * D;
            double *a = acc + (size_t)assign[i] * D;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) a[d] += yi[d];
            cnt[assign[i]]++;
        }
        for (int64_t q = 0; q < nc; q++) {
            const float *yt = Y + (size_t)filt[q * step] * D;
            const double *a = acc + (size_t)q * D;
            int64_t n = cnt[q];
            float *o = ctx + ((size_t)t * nc + q) * D;
            for (int64_t d = 0; d < D; d++) {
                if (!c.paper) o[d] = (float)((double)yt[d] + (n ? a[d] / (double)n : 0.0));
                else o[d] = (float)(((double)yt[d] + a[d]) / (double)(n + 1));
            }
        }
        if (c.newline != TG_NEWLINE_ROW) {
            /* one_token: the method's own order, [dominant (raster), contexts] per frame */
            for (int64_t i = 0; i < nd; i++) slots[ns++] = (tg_entry){t * L + dom_sorted[i], Y + (size_t)dom_sorted[i] * D};
            for (int64_t q = 0; q < nc; q++) slots[ns++] = (tg_entry){t * L + filt[q * step], ctx + ((size_t)t * nc + q) * D};
        } else {
            /* grid: every token at its slot (the emitter wants ascending ids) */
            int64_t f0 = ns;
            for (int64_t i = 0; i < nd; i++) {
                int64_t pos = c.paper ? dom_sorted[i] : dom[i];
                slots[ns++] = (tg_entry){t * L + pos, Y + (size_t)dom_sorted[i] * D};
            }
            for (int64_t q = 0; q < nc; q++) slots[ns++] = (tg_entry){t * L + filt[q * step], ctx + ((size_t)t * nc + q) * D};
            qsort(slots + f0, (size_t)(ns - f0), sizeof *slots, tg_entry_cmp);
        }
    }
    st = bl_emit_finish(&c, &s, slots, ns, TG_EMIT_EMPTY_ROWS, out, NULL, err, err_len);
    if (st == TG_OK) {
        out->ratio_used = (double)b / (double)L;
        if (qwen) bl_quirk(out, "visionzip_qwen.unofficial_port");
        if (!c.paper) {
            bl_quirk(out, "visionzip.ctx_target_plus_mean");
            if (c.newline == TG_NEWLINE_ROW) bl_quirk(out, "visionzip.grid_position_mismatch");
        }
        bl_json j = {0};
        bl_json_common(&j, &c);
        bl_json_add(&j,
                    "\"spatial_tokens\":%lld,\"dominant_ratio\":%.17g,\"dominant\":%lld,\"contextual\":%lld,"
                    "\"score_source\":\"%s\",\"metric_source\":\"%s\",",
                    (long long)b, k.dominant_ratio, (long long)nd, (long long)nc,
                    in->saliency_recv ? "saliency_recv" : "saliency", in->keys ? "keys" : "features");
        st = bl_json_finish(&j, &c, out, how, pred, err, err_len);
        tb_buf_free(&j.b);
    }
done:
    if (st == TG_ERR_NOMEM) tb_set_err(err, err_len, "visionzip: out of memory");
    tg_seq_free(&s);
    free(dom);
    free(filt);
    free(assign);
    free(cnt);
    free(isdom);
    free(mn);
    free(acc);
    free(slots);
    if (st) tg_prune_output_free(out);
    return st;
}

const tg_method bl_visionzip_method = {"visionzip",
                                       "VisionZip (SigLIP/video port): dominant by received attention + key-cosine context",
                                       bl_visionzip_run, bl_visionzip_keys, TG_CAP_RECV_ATTN | TG_CAP_NEEDS_KEYS};
