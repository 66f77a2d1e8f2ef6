/* qwen_vision.c - the vision side of Qwen2.5-VL (spec qwen25vl.md §3, §6.2): the Conv3d patch
 * embedding, the windowed vision transformer with its 2-D rotary table and full-attention
 * blocks, the 2x2 patch merger, and the global-query saliency tap of the last block.
 *
 * Dimension letters: Gt temporal slices (2 frames each), gh x gw patch grid of a slice,
 * S = gh*gw patches per slice, Lh x Lw = gh/2 x gw/2 merged units, L = Lh*Lw, C ViT width,
 * H heads, hd = C/H, Mv MLP width, K = 3*Tp*p*p pixel columns, D LLM width, v window side in
 * units (window / p / merge = 4), nb slices in one chunk, Nc = nb*S rows of the chunk.
 *
 * Row orders. The processor delivers patch rows in merge-unit order (unit-major, the 4 patches
 * of a 2x2 unit consecutive, units raster per slice). The reference permutes the rows unit-wise
 * into window order before block 0 and un-permutes the merger output (§3.3, §3.5); the
 * permutation is applied here to the pixel rows on the host before the upload (the patch
 * embedding is row-wise, so the result is the same) and undone on the merger rows after the
 * download, so no gather op is needed on the backend. Slices never exchange information, so
 * they run in chunks of nb slices (memory bound).
 *
 * Per chunk, through the op table:
 *   x   = px . Wpe^T                                           [Nc, C]  (Conv3d k = s as one GEMM)
 *   block b: y = rms(x, n1); qkv = y . Wqkv^T + b; rotate q, k (2-D RoPE, sections (h, w));
 *            att = softmax(q k^T / sqrt(hd)) v per segment (per slice: full blocks; per window
 *            of units: the others); x += att . Wo^T + bo;
 *            y = rms(x, n2); x += down(silu(gate(y)) * up(y))  (Linears with bias)
 *   merger:  y = rms(x, ln_q) viewed [Nc/4, 4C]; out = W2 . gelu_erf(W1 . y + b1) + b2
 * The last block's rotated q, k also give the saliency tap (on the host, double sums).
 *
 * What this file does not do: preprocessing (datasets/: sampling, resize, patchify), bf16
 * activations, FlashAttention's tiling. */
#include "engine/model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define QV_MLP_CHUNK 1024 /* rows per MLP step: bounds the [rows, Mv] scratch */

/* ---- loading ---------------------------------------------------------------------------------- */

static int qload(eng_model *m, float **dst, eng_tensor_id id, int layer, char *err, size_t err_len) {
    int64_t shape[ST_MAX_DIMS];
    int nd = eng_tensor_shape(&m->cfg, id, shape);
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
    float *h = eng_model_load_tensor(m, m->st, id, layer, err, err_len);
    if (!h) return ENG_ERR_FORMAT;
    *dst = eng_model_to_backend(m, h, n, err, err_len);
    return *dst ? ENG_OK : ENG_ERR_BACKEND;
}

int eng_qwen_vision_load(eng_model *m, char *err, size_t err_len) {
    const eng_qwen_vision_config *q = &m->cfg.qv;
    eng_qwen_vision_weights *w = &m->qw;
    int rc;
    m->vision_loaded = 1; /* from here on eng_qwen_vision_unload has something to release */
    w->blocks = calloc((size_t)q->depth, sizeof *w->blocks);
    if (!w->blocks) {
        snprintf(err, err_len, "out of memory loading the Qwen2.5-VL vision tower");
        return ENG_ERR_NOMEM;
    }
    if ((rc = qload(m, &w->patch_w, ENG_T_QV_PATCH_W, 0, err, err_len))) return rc;
    for (int b = 0; b < q->depth; b++) {
        eng_qwen_block *k = &w->blocks[b];
        struct { float **dst; eng_tensor_id id; } t[] = {
            {&k->norm1, ENG_T_QV_NORM1_W}, {&k->norm2, ENG_T_QV_NORM2_W}, {&k->qkv_w, ENG_T_QV_QKV_W},
            {&k->qkv_b, ENG_T_QV_QKV_B},   {&k->proj_w, ENG_T_QV_PROJ_W}, {&k->proj_b, ENG_T_QV_PROJ_B},
            {&k->gate_w, ENG_T_QV_GATE_W}, {&k->gate_b, ENG_T_QV_GATE_B}, {&k->up_w, ENG_T_QV_UP_W},
            {&k->up_b, ENG_T_QV_UP_B},     {&k->down_w, ENG_T_QV_DOWN_W}, {&k->down_b, ENG_T_QV_DOWN_B},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if ((rc = qload(m, t[i].dst, t[i].id, b, err, err_len))) return rc;
        for (int f = 0; f < q->n_fullatt; f++)
            if (q->fullatt[f] == b) k->full = 1;
    }
    if ((rc = qload(m, &w->merge_ln, ENG_T_QV_MERGE_LN_W, 0, err, err_len)) ||
        (rc = qload(m, &w->merge1_w, ENG_T_QV_MERGE1_W, 0, err, err_len)) ||
        (rc = qload(m, &w->merge1_b, ENG_T_QV_MERGE1_B, 0, err, err_len)) ||
        (rc = qload(m, &w->merge2_w, ENG_T_QV_MERGE2_W, 0, err, err_len)) ||
        (rc = qload(m, &w->merge2_b, ENG_T_QV_MERGE2_B, 0, err, err_len)))
        return rc;
    return ENG_OK;
}

void eng_qwen_vision_unload(eng_model *m) {
    if (!m->vision_loaded) return;
    eng_backend *be = &m->be;
    eng_qwen_vision_weights *w = &m->qw;
    float *g[] = {w->patch_w, w->merge_ln, w->merge1_w, w->merge1_b, w->merge2_w, w->merge2_b};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) be->k->free(be, g[i]);
    if (w->blocks) {
        for (int b = 0; b < m->cfg.qv.depth; b++) {
            eng_qwen_block *k = &w->blocks[b];
            float *ps[] = {k->norm1,  k->norm2,  k->qkv_w, k->qkv_b, k->proj_w, k->proj_b,
                           k->gate_w, k->gate_b, k->up_w,  k->up_b,  k->down_w, k->down_b};
            for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) be->k->free(be, ps[i]);
        }
        free(w->blocks);
    }
    memset(w, 0, sizeof *w);
    m->vision_loaded = 0;
}

/* ---- window order ----------------------------------------------------------------------------- */

void eng_qwen_window_order(int64_t Lh, int64_t Lw, int64_t v, int64_t *order, int64_t *win_units, int64_t *n_win) {
    /* The reference pads by v - L mod v, i.e. a whole empty window row/column when L is a
     * multiple of v (§3.3); empty windows vanish, so only the non-empty ones are listed. */
    int64_t nwh = (Lh + v - Lh % v) / v, nww = (Lw + v - Lw % v) / v, k = 0, nw = 0;
    for (int64_t wr = 0; wr < nwh; wr++)
        for (int64_t wc = 0; wc < nww; wc++) {
            int64_t cnt = 0;
            for (int64_t r = wr * v; r < wr * v + v && r < Lh; r++)
                for (int64_t c = wc * v; c < wc * v + v && c < Lw; c++) {
                    order[k++] = r * Lw + c;
                    cnt++;
                }
            if (cnt) win_units[nw++] = cnt;
        }
    *n_win = nw;
}

/* ---- encode ----------------------------------------------------------------------------------- */

void eng_qwen_vision_out_free(eng_qwen_vision_out *out) {
    if (!out) return;
    free(out->merged);
    free(out->gq_attn);
    free(out->unit_keys);
    memset(out, 0, sizeof *out);
}

/* Backend buffers of one encode, sized for a chunk of Nc rows. */
typedef struct {
    float *px, *x, *xn, *qkv, *att, *tmp, *g, *u, *h1, *mout;
} qv_bufs;

#define KCALL(expr)                                                                                           \
    do {                                                                                                      \
        if ((expr) != 0) {                                                                                    \
            snprintf(err, err_len, "qwen vision: %s: %s", #expr, be->err);                                    \
            rc = ENG_ERR_BACKEND;                                                                             \
            goto out;                                                                                         \
        }                                                                                                     \
    } while (0)

/* The global-query tap of one slice (§6.2) from the rotated q and k rows of the last block, in
 * window order: q[S][ld] (head h at h*hd), k likewise. Writes A[L] and keys[L][hd] at the raster
 * positions order[j] of the window-ordered units j. Double sums, float32 results. */
static int gq_tap(const float *q, const float *k, int64_t ld, int64_t S, int64_t H, int64_t hd, const int64_t *order,
                  float *A, float *keys) {
    int64_t L = S / 4;
    double *qm = calloc((size_t)hd, sizeof *qm), *km = malloc((size_t)(L * hd) * sizeof *km);
    double *sc = malloc((size_t)L * sizeof *sc), *acc = calloc((size_t)L, sizeof *acc);
    double *kacc = calloc((size_t)(L * hd), sizeof *kacc);
    if (!qm || !km || !sc || !acc || !kacc) {
        free(qm), free(km), free(sc), free(acc), free(kacc);
        return -1;
    }
    double inv_s = 1.0 / sqrt((double)hd);
    for (int64_t h = 0; h < H; h++) {
        memset(qm, 0, (size_t)hd * sizeof *qm);
        for (int64_t r = 0; r < S; r++)
            for (int64_t d = 0; d < hd; d++) qm[d] += q[r * ld + h * hd + d];
        for (int64_t d = 0; d < hd; d++) qm[d] /= (double)S;
        double mx = -INFINITY;
        for (int64_t j = 0; j < L; j++) {
            double dot = 0.0;
            for (int64_t d = 0; d < hd; d++) {
                double kv = 0.0;
                for (int64_t i = 0; i < 4; i++) kv += k[(4 * j + i) * ld + h * hd + d];
                kv /= 4.0;
                km[j * hd + d] = kv;
                kacc[j * hd + d] += kv;
                dot += qm[d] * kv;
            }
            sc[j] = dot * inv_s;
            if (sc[j] > mx) mx = sc[j];
        }
        double den = 0.0;
        for (int64_t j = 0; j < L; j++) den += (sc[j] = exp(sc[j] - mx));
        for (int64_t j = 0; j < L; j++) acc[j] += sc[j] / den;
    }
    for (int64_t j = 0; j < L; j++) {
        A[order[j]] = (float)(acc[j] / (double)H);
        for (int64_t d = 0; d < hd; d++) keys[order[j] * hd + d] = (float)(kacc[j * hd + d] / (double)H);
    }
    free(qm), free(km), free(sc), free(acc), free(kacc);
    return 0;
}

int eng_qwen_vision_encode(eng_model *m, const float *pixel_rows, int64_t grid_t, int64_t grid_h, int64_t grid_w,
                           int slices_per_batch, eng_qwen_vision_out *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (!m || !pixel_rows || m->cfg.layout != ENG_LAYOUT_QWEN25VL || !m->vision_loaded) {
        snprintf(err, err_len, "eng_qwen_vision_encode: %s", !m || !pixel_rows ? "NULL argument"
                                                                                 : "not a Qwen2.5-VL model with vision");
        return ENG_ERR_ARG;
    }
    const eng_qwen_vision_config *q = &m->cfg.qv;
    int64_t mg = q->merge;
    if (grid_t < 1 || grid_h < mg || grid_w < mg || grid_h % mg || grid_w % mg || grid_h > 4096 || grid_w > 4096 ||
        grid_t > 65536) {
        snprintf(err, err_len, "qwen vision: bad grid %lld x %lld x %lld (t >= 1; h, w positive multiples of %lld)",
                 (long long)grid_t, (long long)grid_h, (long long)grid_w, (long long)mg);
        return ENG_ERR_ARG;
    }
    double t0 = tb_now_s();
    eng_backend *be = &m->be;
    const eng_qwen_vision_weights *w = &m->qw;
    int64_t C = q->hidden, H = q->n_heads, hd = q->head_dim, Mv = q->intermediate, D = q->out_hidden;
    int64_t K = (int64_t)q->in_channels * q->temporal_patch * q->patch * q->patch, U4 = mg * mg;
    int64_t S = grid_h * grid_w, Lh = grid_h / mg, Lw = grid_w / mg, L = Lh * Lw, v = q->window / q->patch / mg;
    int64_t nb = slices_per_batch > 0 ? slices_per_batch : 4;
    if (nb > grid_t) nb = grid_t;
    int64_t Nmax = nb * S;
    int rc = ENG_OK;
    qv_bufs b;
    memset(&b, 0, sizeof b);
    int64_t *order = malloc((size_t)L * sizeof *order), *win = malloc((size_t)L * sizeof *win);
    int64_t *pos = malloc((size_t)(2 * Nmax) * sizeof *pos), n_win = 0;
    float *hpx = malloc((size_t)(Nmax * K) * sizeof *hpx), *hqkv = malloc((size_t)(S * 3 * C) * sizeof *hqkv);
    float *hm = malloc((size_t)(Nmax / U4 * D) * sizeof *hm);
    out->grid_t = grid_t, out->grid_h = grid_h, out->grid_w = grid_w, out->unit_h = Lh, out->unit_w = Lw;
    out->n_units = grid_t * L, out->units_per_slice = L, out->d_model = D, out->head_dim = hd;
    out->merged = malloc((size_t)(grid_t * L * D) * sizeof *out->merged);
    out->gq_attn = malloc((size_t)(grid_t * L) * sizeof *out->gq_attn);
    out->unit_keys = malloc((size_t)(grid_t * L * hd) * sizeof *out->unit_keys);
    if (!order || !win || !pos || !hpx || !hqkv || !hm || !out->merged || !out->gq_attn || !out->unit_keys) {
        snprintf(err, err_len, "qwen vision: out of memory for a %lld x %lld x %lld grid", (long long)grid_t,
                 (long long)grid_h, (long long)grid_w);
        rc = ENG_ERR_NOMEM;
        goto out;
    }
    if (!(b.px = be->k->alloc(be, (size_t)(Nmax * K))) || !(b.x = be->k->alloc(be, (size_t)(Nmax * C))) ||
        !(b.xn = be->k->alloc(be, (size_t)(Nmax * C))) || !(b.qkv = be->k->alloc(be, (size_t)(Nmax * 3 * C))) ||
        !(b.att = be->k->alloc(be, (size_t)(Nmax * C))) || !(b.tmp = be->k->alloc(be, (size_t)(Nmax * C))) ||
        !(b.g = be->k->alloc(be, (size_t)(QV_MLP_CHUNK * Mv))) || !(b.u = be->k->alloc(be, (size_t)(QV_MLP_CHUNK * Mv))) ||
        !(b.h1 = be->k->alloc(be, (size_t)(Nmax * C))) || !(b.mout = be->k->alloc(be, (size_t)(Nmax / U4 * D)))) {
        snprintf(err, err_len, "qwen vision: %s", be->err);
        rc = ENG_ERR_NOMEM;
        goto out;
    }
    eng_qwen_window_order(Lh, Lw, v, order, win, &n_win);
    /* (h, w) patch coordinates of every row of a chunk, in window order (identical per slice) */
    for (int64_t s = 0; s < nb; s++)
        for (int64_t j = 0; j < S; j++) {
            int64_t u = order[j / U4], i = j % U4;
            pos[s * S + j] = (u / Lw) * mg + i / mg;        /* h */
            pos[Nmax + s * S + j] = (u % Lw) * mg + i % mg; /* w */
        }
    eng_rope_sec rs = {2, {(int)(hd / 4), (int)(hd / 4), 0, 0}, 1, (int)(hd / 2), 10000.0f};

    for (int64_t t0s = 0; t0s < grid_t; t0s += nb) {
        int64_t ns = grid_t - t0s < nb ? grid_t - t0s : nb, Nc = ns * S;
        /* pixel rows of the chunk, permuted unit-wise into window order */
        for (int64_t s = 0; s < ns; s++)
            for (int64_t j = 0; j < S; j++) {
                int64_t src = (t0s + s) * S + order[j / U4] * U4 + j % U4;
                memcpy(hpx + (s * S + j) * K, pixel_rows + src * K, (size_t)K * sizeof *hpx);
            }
        KCALL(be->k->upload(be, b.px, hpx, (size_t)(Nc * K)));
        KCALL(be->k->matmul(be, b.x, b.px, w->patch_w, NULL, Nc, K, C));
        for (int blk = 0; blk < q->depth; blk++) {
            const eng_qwen_block *k = &w->blocks[blk];
            KCALL(be->k->rmsnorm(be, b.xn, b.x, k->norm1, Nc, C, 1e-6f));
            KCALL(be->k->matmul(be, b.qkv, b.xn, k->qkv_w, k->qkv_b, Nc, C, 3 * C));
            KCALL(be->k->rope_sec(be, b.qkv, 3 * C, Nc, H, hd, pos, Nmax, &rs));
            KCALL(be->k->rope_sec(be, b.qkv + C, 3 * C, Nc, H, hd, pos, Nmax, &rs));
            eng_attn_desc ad;
            memset(&ad, 0, sizeof ad);
            ad.n_head = ad.n_head_kv = H;
            ad.head_dim = hd;
            ad.ld_q = ad.ld_k = ad.ld_v = 3 * C;
            ad.ld_out = C;
            if (k->full) {
                ad.n_batch = ns; /* one sequence per slice */
                ad.n_q = ad.n_kv = S;
                KCALL(be->k->attention(be, b.att, b.qkv, b.qkv + C, b.qkv + 2 * C, &ad, NULL, NULL));
            } else {
                /* windows in order; consecutive windows of equal size (also across slices, whose
                 * window layouts are equal) go into one batched call */
                int64_t n_seg = ns * n_win, r0 = 0;
                for (int64_t i = 0; i < n_seg;) {
                    int64_t len = U4 * win[i % n_win], cnt = 1;
                    while (i + cnt < n_seg && U4 * win[(i + cnt) % n_win] == len) cnt++;
                    ad.n_batch = cnt;
                    ad.n_q = ad.n_kv = len;
                    KCALL(be->k->attention(be, b.att + r0 * C, b.qkv + r0 * 3 * C, b.qkv + r0 * 3 * C + C,
                                           b.qkv + r0 * 3 * C + 2 * C, &ad, NULL, NULL));
                    r0 += cnt * len;
                    i += cnt;
                }
            }
            if (blk == q->depth - 1) {
                /* the saliency tap: rotated q, k of the last block, per slice */
                for (int64_t s = 0; s < ns; s++) {
                    KCALL(be->k->download(be, hqkv, b.qkv + s * S * 3 * C, (size_t)(S * 3 * C)));
                    if (gq_tap(hqkv, hqkv + C, 3 * C, S, H, hd, order, out->gq_attn + (t0s + s) * L,
                               out->unit_keys + (t0s + s) * L * hd)) {
                        snprintf(err, err_len, "qwen vision: out of memory in the saliency tap");
                        rc = ENG_ERR_NOMEM;
                        goto out;
                    }
                }
            }
            KCALL(be->k->matmul(be, b.tmp, b.att, k->proj_w, k->proj_b, Nc, C, C));
            KCALL(be->k->add(be, b.x, b.x, b.tmp, (size_t)(Nc * C)));
            KCALL(be->k->rmsnorm(be, b.xn, b.x, k->norm2, Nc, C, 1e-6f));
            for (int64_t r0 = 0; r0 < Nc; r0 += QV_MLP_CHUNK) {
                int64_t nr = Nc - r0 < QV_MLP_CHUNK ? Nc - r0 : QV_MLP_CHUNK;
                KCALL(be->k->matmul(be, b.g, b.xn + r0 * C, k->gate_w, k->gate_b, nr, C, Mv));
                KCALL(be->k->matmul(be, b.u, b.xn + r0 * C, k->up_w, k->up_b, nr, C, Mv));
                KCALL(be->k->swiglu(be, b.g, b.g, b.u, (size_t)(nr * Mv)));
                KCALL(be->k->matmul(be, b.tmp, b.g, k->down_w, k->down_b, nr, Mv, C));
                KCALL(be->k->add(be, b.x + r0 * C, b.x + r0 * C, b.tmp, (size_t)(nr * C)));
            }
        }
        /* merger: 4 consecutive rows (one 2x2 unit) -> one [4C] row */
        int64_t Uc = Nc / U4;
        KCALL(be->k->rmsnorm(be, b.xn, b.x, w->merge_ln, Nc, C, 1e-6f));
        KCALL(be->k->matmul(be, b.h1, b.xn, w->merge1_w, w->merge1_b, Uc, U4 * C, U4 * C));
        KCALL(be->k->gelu_erf(be, b.h1, b.h1, (size_t)(Uc * U4 * C)));
        KCALL(be->k->matmul(be, b.mout, b.h1, w->merge2_w, w->merge2_b, Uc, U4 * C, D));
        KCALL(be->k->download(be, hm, b.mout, (size_t)(Uc * D)));
        KCALL(be->k->sync(be));
        /* undo the window order: window-ordered unit j of slice s is raster unit order[j] */
        for (int64_t s = 0; s < ns; s++)
            for (int64_t j = 0; j < L; j++)
                memcpy(out->merged + ((t0s + s) * L + order[j]) * D, hm + (s * L + j) * D, (size_t)D * sizeof *hm);
    }
    out->seconds = tb_now_s() - t0;
out:
    {
        float *bl[] = {b.px, b.x, b.xn, b.qkv, b.att, b.tmp, b.g, b.u, b.h1, b.mout};
        for (size_t i = 0; i < sizeof bl / sizeof bl[0]; i++) be->k->free(be, bl[i]);
    }
    free(order), free(win), free(pos), free(hpx), free(hqkv), free(hm);
    if (rc != ENG_OK) eng_qwen_vision_out_free(out);
    return rc;
}
