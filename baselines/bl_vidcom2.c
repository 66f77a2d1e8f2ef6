/* bl_vidcom2.c - VidCom2, Video Compression Commander (spec visionzip-fastv-dart-vidcom2.md §6,
 * §8.4 and §10.6-7), pre-LLM, on the post-projector pooled features Y [T*L][D]:
 *   1. channel subset: the floor(D / 2) channels of smallest population variance over all tokens
 *      (quirk vidcom2.low_variance_channels; compat=paper takes the largest-variance ones [I]);
 *   2. x = the subset, L2-normalised per token (eps 1e-12); centres g = mean of all x, c_f = mean
 *      of frame f's x;
 *   3. multi-scale Gaussian similarity G(d2) = sum over a in {1/8, 1/4, 1/2, 1, 2} of
 *      exp(-d2 / (2a)): vs = G(|x - g|^2) (to the video), fs = G(|x - c_f|^2) (to the frame);
 *   4. frame budgets: sigma_f = -mean_i vs; p = softmax((sigma - max sigma) / 0.01);
 *      scale_f = min(1, base (1 + p_f - mean(p))); k_f = max(1, round_half_even(fp16(fp16(scale_f)
 *      * tpf))) (the current official code rounds the product in the model's fp16);
 *   5. per frame the k_f tokens with the smallest vs + fs (ties: lower index), ascending.
 * The "frames" of steps 2-5 are runs of tpf consecutive tokens: tpf = L, except that the official
 * llava_ov path hard-codes 196 (quirk vidcom2.hardcoded_196: another grid is split into chunks of
 * 196 tokens, and T*L must be a multiple of 196; compat=paper uses the real grid). The official
 * llava_vid path hard-codes 13x13 likewise; any other grid fails there, so both modes use the
 * real grid for LLaVA-Video (identical on 13x13).
 * Output (positions contiguous: a pre-LLM method): OV one_token: the kept tokens in flat order,
 * then one newline. LLaVA-Video grid: per frame the kept tokens in raster order, then ALL H
 * newline rows at the frame's end (quirk vidcom2.video_newlines_at_frame_end; compat=paper: a
 * newline after every grid row, kept tokens or not [I]). No in-LLM stage.
 * Knobs: base_scale (R_RATIO; else solved from the target r and re-solved on the data, since
 * the per-frame rounding makes the count data-dependent), channel_ratio (0.5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

static const char *const bl_vidcom2_keys[] = {"compat", "seed", "jitter", "account", "base_scale", "channel_ratio",
                                              NULL};

/* The scores of every token: u = vs + fs, and sigma per frame (float32, the official order).
 * nf frames of tpf tokens. */
static int vc_scores(const float *Y, int64_t nf, int64_t tpf, int64_t D, double channel_ratio, int largest,
                     float *u /* [nf*tpf] */, float *sigma /* [nf] */) {
    int64_t N = nf * tpf, C = (int64_t)((double)D * channel_ratio);
    if (C < 1) C = 1;
    double *mean = calloc((size_t)D, sizeof *mean), *var = calloc((size_t)D, sizeof *var);
    float *negv = malloc((size_t)D * sizeof *negv);
    int64_t *ch = malloc((size_t)C * sizeof *ch);
    float *x = malloc((size_t)N * (size_t)C * sizeof *x), *gc = malloc((size_t)C * sizeof *gc);
    float *fc = malloc((size_t)C * sizeof *fc), *vs = malloc((size_t)N * sizeof *vs);
    int rc = -1;
    if (!mean || !var || !negv || !ch || !x || !gc || !fc || !vs) goto out;
    /* 1. population variance per channel (two passes in double) */
    for (int64_t i = 0; i < N; i++)
        for (int64_t d = 0; d < D; d++) mean[d] += Y[i * D + d];
    for (int64_t d = 0; d < D; d++) mean[d] /= (double)N;
    for (int64_t i = 0; i < N; i++)
        for (int64_t d = 0; d < D; d++) {
            double e = Y[i * D + d] - mean[d];
            var[d] += e * e;
        }
    for (int64_t d = 0; d < D; d++) negv[d] = (float)(largest ? var[d] / (double)N : -(var[d] / (double)N));
    if (tg_topk_desc(negv, D, C, ch)) goto out;
    /* 2. the subset, normalised per token */
    for (int64_t i = 0; i < N; i++) {
        float *xi = x + i * C;
        for (int64_t c = 0; c < C; c++) xi[c] = Y[i * D + ch[c]];
    }
    bl_normalize_rows(x, N, C, x);
    /* centres: of the video, then per frame */
    for (int64_t c = 0; c < C; c++) {
        double s = 0;
        for (int64_t i = 0; i < N; i++) s += x[i * C + c];
        gc[c] = (float)(s / (double)N);
    }
    static const float two_a[5] = {0.25f, 0.5f, 1.0f, 2.0f, 4.0f}; /* 2 * 2^k, k = -3..1 */
    for (int64_t f = 0; f < nf; f++) {
        for (int64_t c = 0; c < C; c++) {
            double s = 0;
            for (int64_t i = 0; i < tpf; i++) s += x[(f * tpf + i) * C + c];
            fc[c] = (float)(s / (double)tpf);
        }
        double vsum = 0;
        for (int64_t i = 0; i < tpf; i++) {
            const float *xi = x + (f * tpf + i) * C;
            double dv = 0, df = 0;
            for (int64_t c = 0; c < C; c++) {
                float a = xi[c] - gc[c], b = xi[c] - fc[c];
                dv += (double)a * a;
                df += (double)b * b;
            }
            /* 3. the multi-scale Gaussian, summed in kernel order as Python's sum() adds */
            float gv = 0, gf = 0, d2v = (float)dv, d2f = (float)df;
            for (int k = 0; k < 5; k++) {
                gv += expf(-d2v / two_a[k]);
                gf += expf(-d2f / two_a[k]);
            }
            vs[f * tpf + i] = gv;
            u[f * tpf + i] = gv + gf;
            vsum += gv;
        }
        sigma[f] = -(float)(vsum / (double)tpf);
    }
    rc = 0;
out:
    free(mean), free(var), free(negv), free(ch), free(x), free(gc), free(fc), free(vs);
    return rc;
}

/* 4. per-frame budgets for base scale b; returns their sum. */
static int64_t vc_budgets(const float *sigma, int64_t nf, int64_t tpf, double b, int64_t *k) {
    float mx = sigma[0];
    for (int64_t f = 1; f < nf; f++) mx = sigma[f] > mx ? sigma[f] : mx;
    double z = 0, msum = 0;
    float *p = malloc((size_t)nf * sizeof *p);
    if (!p) return -1;
    for (int64_t f = 0; f < nf; f++) {
        p[f] = expf((sigma[f] - mx) / 0.01f);
        z += p[f];
    }
    for (int64_t f = 0; f < nf; f++) {
        p[f] = (float)((double)p[f] / z);
        msum += p[f];
    }
    float pm = (float)(msum / (double)nf), bf = (float)b;
    int64_t tot = 0;
    for (int64_t f = 0; f < nf; f++) {
        float sc = bf * ((1.0f + p[f]) - pm);
        if (sc > 1.0f) sc = 1.0f;
        double kk = tb_round_half_even((double)tg_fp16_round(tg_fp16_round(sc) * (float)tpf));
        k[f] = kk < 1 ? 1 : kk > (double)tpf ? tpf : (int64_t)kk;
        tot += k[f];
    }
    free(p);
    return tot;
}

static int bl_vidcom2_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "vidcom2", in, bl_vidcom2_keys, err, err_len);
    if (st) return st;
    bl_knobs kn = bl_knobs_default("vidcom2");
    double base = 0, chr = 0.5;
    int sb = tg_param_double(in, "base_scale", 1e-9, 1.0, &base, err, err_len);
    if (sb < 0) return sb;
    if ((st = tg_param_double(in, "channel_ratio", 1e-9, 1.0, &chr, err, err_len)) < 0) return st;
    int64_t T = c.T, L = c.L, D = c.D, N = T * L, tpf = L;
    int hard196 = !c.paper && c.family == TB_FAMILY_LLAVA_OV;
    if (hard196) {
        tpf = 196;
        if (N % 196) {
            tb_set_err(err, err_len,
                       "vidcom2: compat=official splits llava-ov tokens into frames of 196 (quirk "
                       "vidcom2.hardcoded_196), and %lld frames x %lld tokens = %lld is not a multiple of 196; use a "
                       "14x14 grid or compat=paper",
                       (long long)T, (long long)L, (long long)N);
            return TG_ERR_INPUT;
        }
    }
    int64_t nf = N / tpf;
    double pred = 0, nl = (double)bl_newlines(c.newline, T * c.H), full = (double)bl_full_len(&c.geo);
    const char *how = "explicit";
    if (!sb) {
        st = bl_solve("vidcom2", c.target, &c.geo, &kn, &pred, err, err_len);
        if (st < 0) return st;
        how = "solver";
        base = kn.ratio;
    }
    float *u = malloc((size_t)N * sizeof *u), *sigma = malloc((size_t)nf * sizeof *sigma);
    int64_t *kf = malloc((size_t)nf * sizeof *kf), *idx = malloc((size_t)tpf * sizeof *idx);
    float *neg = malloc((size_t)tpf * sizeof *neg);
    tg_entry *list = malloc((size_t)N * sizeof *list);
    tg_seq s = {0};
    if (!u || !sigma || !kf || !idx || !neg || !list || vc_scores(in->features, nf, tpf, D, chr, c.paper, u, sigma)) {
        st = TG_ERR_NOMEM;
        goto done;
    }
    int64_t tot = vc_budgets(sigma, nf, tpf, base, kf);
    if (tot < 0) {
        st = TG_ERR_NOMEM;
        goto done;
    }
#define VC_RET(n) (c.account == BL_ACCOUNT_CONTENT ? (double)(n) / (double)N : ((double)(n) + nl) / full)
    if (sb) {
        pred = VC_RET(tot);
    } else if (fabs(VC_RET(tot) - c.target) > BL_TOL) {
        /* the rounding moved the count: search base_scale on this video (the count is monotone in
         * it up to the softmax's fixed shares) */
        double lo = 1e-6, hi = 1.0, best = base, bd = fabs(VC_RET(tot) - c.target);
        for (int it = 0; it < 50; it++) {
            double mid = 0.5 * (lo + hi);
            int64_t t2 = vc_budgets(sigma, nf, tpf, mid, kf);
            if (t2 < 0) {
                st = TG_ERR_NOMEM;
                goto done;
            }
            double g = VC_RET(t2);
            if (fabs(g - c.target) < bd) bd = fabs(g - c.target), best = mid;
            if (g < c.target) lo = mid;
            else hi = mid;
        }
        base = best;
        how = "solver-data";
        tot = vc_budgets(sigma, nf, tpf, base, kf);
    }
#undef VC_RET
    /* 5. per frame the k_f most distinct tokens, ascending */
    int64_t n = 0;
    for (int64_t f = 0; f < nf; f++) {
        for (int64_t i = 0; i < tpf; i++) neg[i] = -u[f * tpf + i];
        if (tg_topk_desc(neg, tpf, kf[f], idx)) {
            st = TG_ERR_NOMEM;
            goto done;
        }
        bl_sort_i64(idx, kf[f]);
        for (int64_t i = 0; i < kf[f]; i++) {
            int64_t id = f * tpf + idx[i];
            list[n++] = (tg_entry){id, in->features + (size_t)id * D};
        }
    }
    if (c.newline == TG_NEWLINE_ROW && !c.paper) {
        /* official LLaVA-Video order: each frame's kept tokens, then its H newline rows */
        int64_t k = 0;
        for (int64_t t = 0; t < T; t++) {
            for (; k < n && list[k].id / L == t; k++) tg_seq_push(&s, list[k].id, -1, list[k].v);
            for (int64_t r = 0; r < c.H; r++) tg_seq_push(&s, TG_NEWLINE, -1, NULL);
        }
        st = s.oom ? TG_ERR_NOMEM : tg_seq_finish(&s, in, out, NULL, "vidcom2", err, err_len);
        if (st == TG_OK) out->compat = "official";
    } else {
        st = bl_emit_finish(&c, &s, list, n, TG_EMIT_EMPTY_ROWS, out, NULL, err, err_len);
    }
    if (st == TG_OK) {
        out->ratio_used = base;
        if (!c.paper) {
            bl_quirk(out, "vidcom2.low_variance_channels");
            if (hard196) bl_quirk(out, "vidcom2.hardcoded_196");
            if (c.newline == TG_NEWLINE_ROW) bl_quirk(out, "vidcom2.video_newlines_at_frame_end");
        }
        bl_json j = {0};
        bl_json_common(&j, &c);
        bl_json_add(&j, "\"base_scale\":%.17g,\"channel_ratio\":%.17g,\"channels\":\"%s\",\"tokens_per_frame\":%lld,"
                        "\"frames\":%lld,\"frame_budgets\":[",
                    base, chr, c.paper ? "highest-variance" : "lowest-variance", (long long)tpf, (long long)nf);
        for (int64_t f = 0; f < nf; f++) bl_json_add(&j, "%s%lld", f ? "," : "", (long long)kf[f]);
        bl_json_add(&j, "],\"kept\":%lld,", (long long)tot);
        st = bl_json_finish(&j, &c, out, how, pred, err, err_len);
        tb_buf_free(&j.b);
    }
done:
    if (st == TG_ERR_NOMEM) tb_set_err(err, err_len, "vidcom2: out of memory");
    tg_seq_free(&s);
    free(u), free(sigma), free(kf), free(idx), free(neg), free(list);
    if (st) tg_prune_output_free(out);
    return st;
}

const tg_method bl_vidcom2_method = {"vidcom2",
                                     "VidCom2: per-frame budgets by frame uniqueness, keep the most distinct tokens",
                                     bl_vidcom2_run, bl_vidcom2_keys, 0};
