/* kernels_ref.c - the reference op table (eng_kernels_ref): plain scalar C, one loop nest per op,
 * no BLAS, no OpenMP, no fast-math. Long sums (dot products, norms, softmax denominators) are
 * accumulated in double so that the oracle is more accurate than anything it judges. Slow by
 * design; used by tests/test_ops.c as the oracle and by tests that run the tiny model.
 *
 * Numerics: in fp32 activations are float32. In fp16 / bf16 the table emulates the GPU regime's
 * storage exactly: activations are held as 16-bit values, every op reads them as float, computes
 * in double and rounds its outputs once (through float32, as a float32 accumulator does); weights
 * and biases are rounded to the type where the CUDA table converts them (weight_init, the bias of
 * linear); norm gains and the position table stay float32, as there. So ref-fp16 against ref-fp32
 * measures what the regime costs, and cuda-fp16 against ref-fp16 what the kernels cost.
 *
 * Host memory helpers (alloc/free/upload/download, activation buffers, ticks) are shared with
 * kernels_cpu.c. */
#include "engine/kernels.h"
#include "engine/kernels_host.h"
#include "engine/safetensors.h" /* the exact f16 / bf16 -> f32 conversions */
#include "common/clock.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- host memory (shared with the cpu table) ------------------------------------------------ */

float *eng_host_alloc(eng_backend *be, size_t n) {
    size_t bytes;
    if (n > (SIZE_MAX - 64) / sizeof(float)) {
        eng_backend_fail(be, "allocation of %zu floats overflows", n);
        return NULL;
    }
    bytes = (n * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) eng_backend_fail(be, "out of memory allocating %zu bytes", bytes);
    return p;
}

void eng_host_free(eng_backend *be, float *p) {
    (void)be;
    free(p);
}

int eng_host_copy(eng_backend *be, float *dst, const float *src, size_t n) {
    (void)be;
    if (n && dst != src) memcpy(dst, src, n * sizeof(float));
    return 0;
}

int eng_host_sync(eng_backend *be) {
    (void)be;
    return 0;
}

eng_act *eng_host_act_alloc(eng_backend *be, size_t n) {
    /* float-sized slots are enough for every activation type */
    return (eng_act *)eng_host_alloc(be, be->act_size == 2 ? (n + 1) / 2 : n);
}

void eng_host_act_free(eng_backend *be, eng_act *p) {
    (void)be;
    free(p);
}

int eng_host_act_upload(eng_backend *be, eng_act *dst, const float *src, size_t n) {
    if (be->dtype == ENG_COMPUTE_FP32 || be->act_size == 4) return eng_host_copy(be, (float *)(void *)dst, src, n);
    for (size_t i = 0; i < n; i++) eng_host_st(be, dst, i, src[i]);
    return 0;
}

int eng_host_act_download(eng_backend *be, float *dst, const eng_act *src, size_t n) {
    if (be->dtype == ENG_COMPUTE_FP32 || be->act_size == 4)
        return eng_host_copy(be, dst, (const float *)(const void *)src, n);
    for (size_t i = 0; i < n; i++) dst[i] = eng_host_ld(be, src, i);
    return 0;
}

int eng_host_tick(eng_backend *be, eng_tick *t) {
    (void)be;
    t->host_s = tb_now_s();
    t->slot = -1;
    return 0;
}

int eng_host_tick_elapsed(eng_backend *be, const eng_tick *a, const eng_tick *b, double *seconds) {
    (void)be;
    *seconds = b->host_s - a->host_s;
    return 0;
}

/* The rotary angle exactly as PyTorch/transformers compute it, in float32:
 * inv_freq = 1 / theta^((2i)/Dh), angle = (float)pos * inv_freq. Shared by every backend. */
float eng_rope_angle(int64_t pos, int64_t i, int64_t head_dim, float theta) {
    float e = (float)(2 * i) / (float)head_dim;
    float inv = (float)(1.0 / (double)powf(theta, e));
    return (float)pos * inv;
}

/* ---- weights in their stored dtype ---------------------------------------------------------- */

size_t eng_dtype_size(eng_dtype dt) {
    return dt == ENG_DT_F32 ? 4 : 2;
}

/* Element i of a stored array (exact conversion). */
static inline float wget(eng_dtype dt, const void *p, size_t i) {
    if (dt == ENG_DT_F32) return ((const float *)p)[i];
    const uint8_t *b = (const uint8_t *)p + 2 * i;
    uint16_t h = (uint16_t)(b[0] | (b[1] << 8));
    return dt == ENG_DT_BF16 ? st_bf16_to_f32(h) : st_f16_to_f32(h);
}

void eng_wdesc_row_f32(const eng_wdesc *w, int64_t r, float *dst) {
    const uint8_t *row = (const uint8_t *)w->host + (size_t)r * (size_t)w->cols * eng_dtype_size(w->dtype);
    if (w->dtype == ENG_DT_F32) {
        memcpy(dst, row, (size_t)w->cols * sizeof *dst);
        return;
    }
    for (int64_t j = 0; j < w->cols; j++) dst[j] = wget(w->dtype, row, (size_t)j);
}

int eng_host_weight_init(eng_backend *be, eng_weight *w, const eng_wdesc *src) {
    memset(w, 0, sizeof *w);
    if (!src || !src->host || src->rows < 0 || src->cols < 0 ||
        (src->dtype != ENG_DT_F32 && src->dtype != ENG_DT_BF16 && src->dtype != ENG_DT_F16)) {
        if (src && src->owned) free(src->owned);
        return eng_backend_fail(be, "weight_init: bad weight descriptor");
    }
    if (be->dtype == ENG_COMPUTE_FP16 && src->dtype != ENG_DT_F16) {
        /* the fp16 regime holds weights as fp16 (the CUDA table converts them once): a value that
         * would become infinite there is refused here too */
        size_t n = (size_t)(src->rows * src->cols), bad = 0;
        float first = 0.0f;
        for (size_t i = 0; i < n; i++) {
            float v = wget(src->dtype, src->host, i);
            if (isfinite(v) && isinf(st_f16_to_f32(st_f32_to_f16(v)))) {
                if (!bad++) first = v;
            }
        }
        if (bad) {
            if (src->owned) free(src->owned);
            return eng_backend_fail(be, "weight_init: %zu values beyond the fp16 range (first %g): use --dtype bf16",
                                    bad, (double)first);
        }
    }
    w->dtype = src->dtype;
    w->rows = src->rows;
    w->cols = src->cols;
    w->data = src->host;
    w->owned = src->owned;
    return 0;
}

void eng_host_weight_free(eng_backend *be, eng_weight *w) {
    (void)be;
    if (!w) return;
    free(w->owned);
    memset(w, 0, sizeof *w);
}

/* ---- ops -------------------------------------------------------------------------------------- */

/* Shorthands: element i of activation buffer p as float; v stored into it. */
#define LD(p, i) eng_host_ld(be, (p), (size_t)(i))
#define ST(p, i, v) eng_host_st(be, (p), (size_t)(i), (float)(v))

/* The stored values converted exactly (rounded to the compute type in fp16 / bf16, as the CUDA
 * table's weight copies are), accumulated in double in j order: in fp32 the same as ref_matmul on
 * the weights stored as float32. acc: y += the product (linear_add). */
static int linear_impl(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b, int64_t n,
                       int acc_y) {
    int64_t k = w->cols, m = w->rows;
    size_t esz = eng_dtype_size(w->dtype);
    double *wrow = malloc((size_t)(k > 0 ? k : 1) * sizeof *wrow);
    if (!wrow) return eng_backend_fail(be, "linear: out of memory");
    for (int64_t o = 0; o < m; o++) {
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)o * (size_t)k * esz;
        for (int64_t j = 0; j < k; j++) wrow[j] = eng_host_round(be, wget(w->dtype, wr, (size_t)j));
        double bo = b ? (double)eng_host_round(be, b[o]) : 0.0;
        for (int64_t i = 0; i < n; i++) {
            double acc = bo;
            for (int64_t j = 0; j < k; j++) acc += (double)LD(x, i * k + j) * wrow[j];
            if (acc_y) acc += (double)LD(y, i * m + o);
            ST(y, i * m + o, (float)acc);
        }
    }
    free(wrow);
    return 0;
}

static int ref_linear(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b, int64_t n) {
    return linear_impl(be, y, x, w, b, n, 0);
}

static int ref_linear_add(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b,
                          int64_t n) {
    return linear_impl(be, y, x, w, b, n, 1);
}

static int ref_matmul(eng_backend *be, float *y, const float *x, const float *w, const float *b, int64_t n,
                      int64_t k, int64_t m) {
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + i * k;
        for (int64_t o = 0; o < m; o++) {
            const float *wr = w + o * k;
            double acc = b ? (double)b[o] : 0.0;
            for (int64_t j = 0; j < k; j++) acc += (double)xr[j] * (double)wr[j];
            y[i * m + o] = (float)acc;
        }
    }
    return 0;
}

static int ref_layernorm(eng_backend *be, eng_act *y, const eng_act *x, const float *g, const float *b, int64_t n,
                         int64_t d, float eps) {
    for (int64_t i = 0; i < n; i++) {
        double mean = 0.0, var = 0.0;
        for (int64_t j = 0; j < d; j++) mean += LD(x, i * d + j);
        mean /= (double)d;
        for (int64_t j = 0; j < d; j++) {
            double t = LD(x, i * d + j) - mean;
            var += t * t;
        }
        var /= (double)d;
        double inv = 1.0 / sqrt(var + (double)eps);
        for (int64_t j = 0; j < d; j++) { /* y may equal x: each element is read before it is written */
            double t = ((double)LD(x, i * d + j) - mean) * inv * (double)g[j];
            if (b) t += (double)b[j];
            ST(y, i * d + j, (float)t);
        }
    }
    return 0;
}

static int ref_rmsnorm(eng_backend *be, eng_act *y, const eng_act *x, const float *g, int64_t n, int64_t d,
                       float eps) {
    for (int64_t i = 0; i < n; i++) {
        double ss = 0.0;
        for (int64_t j = 0; j < d; j++) ss += (double)LD(x, i * d + j) * (double)LD(x, i * d + j);
        double inv = 1.0 / sqrt(ss / (double)d + (double)eps);
        for (int64_t j = 0; j < d; j++) ST(y, i * d + j, (float)((double)LD(x, i * d + j) * inv * (double)g[j]));
    }
    return 0;
}

static int ref_gelu_tanh(eng_backend *be, eng_act *y, const eng_act *x, size_t n) {
    const double c = 0.7978845608028654; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        double v = LD(x, i);
        ST(y, i, (float)(0.5 * v * (1.0 + tanh(c * (v + 0.044715 * v * v * v)))));
    }
    return 0;
}

static int ref_gelu_erf(eng_backend *be, eng_act *y, const eng_act *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = LD(x, i);
        ST(y, i, (float)(0.5 * v * (1.0 + erf(v * 0.7071067811865476))));
    }
    return 0;
}

static int ref_silu(eng_backend *be, eng_act *y, const eng_act *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = LD(x, i);
        ST(y, i, (float)(v / (1.0 + exp(-v))));
    }
    return 0;
}

static int ref_swiglu(eng_backend *be, eng_act *y, const eng_act *gate, const eng_act *up, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = LD(gate, i);
        ST(y, i, (float)(v / (1.0 + exp(-v)) * (double)LD(up, i)));
    }
    return 0;
}

static int ref_softmax(eng_backend *be, eng_act *y, const eng_act *x, int64_t rows, int64_t cols) {
    for (int64_t i = 0; i < rows; i++) {
        float mx = -INFINITY;
        for (int64_t j = 0; j < cols; j++)
            if (LD(x, i * cols + j) > mx) mx = LD(x, i * cols + j);
        double s = 0.0;
        for (int64_t j = 0; j < cols; j++) s += exp((double)LD(x, i * cols + j) - (double)mx);
        for (int64_t j = 0; j < cols; j++) ST(y, i * cols + j, (float)(exp((double)LD(x, i * cols + j) - (double)mx) / s));
    }
    return 0;
}

static int ref_attention(eng_backend *be, eng_act *out, const eng_act *q, const eng_act *k, const eng_act *v,
                         const eng_attn_desc *d, float *probs, float *recv) {
    int64_t B = d->n_batch, nq = d->n_q, nkv = d->n_kv, H = d->n_head, Hkv = d->n_head_kv, Dh = d->head_dim;
    if (H <= 0 || Hkv <= 0 || H % Hkv != 0 || Dh <= 0 || nq < 0 || nkv <= 0 || B < 0 || (d->causal && nq > nkv))
        return eng_backend_fail(be, "attention: bad shape (H %lld, Hkv %lld, Dh %lld, n_q %lld, n_kv %lld)",
                                (long long)H, (long long)Hkv, (long long)Dh, (long long)nq, (long long)nkv);
    int64_t ldq = d->ld_q ? d->ld_q : H * Dh, ldk = d->ld_k ? d->ld_k : Hkv * Dh;
    int64_t ldv = d->ld_v ? d->ld_v : Hkv * Dh, ldo = d->ld_out ? d->ld_out : H * Dh;
    int64_t grp = H / Hkv;
    double scale = d->scale != 0.0f ? (double)d->scale : 1.0 / sqrt((double)Dh);
    double *s = malloc((size_t)nkv * sizeof *s);
    double *acc = malloc((size_t)Dh * sizeof *acc);
    double *rsum = recv ? calloc((size_t)nkv, sizeof *rsum) : NULL;
    if (!s || !acc || (recv && !rsum)) {
        free(s);
        free(acc);
        free(rsum);
        return eng_backend_fail(be, "attention: out of memory");
    }
    for (int64_t b = 0; b < B; b++) {
        if (rsum) memset(rsum, 0, (size_t)nkv * sizeof *rsum);
        for (int64_t h = 0; h < H; h++) {
            int64_t g = h / grp;
            for (int64_t i = 0; i < nq; i++) {
                int64_t qr = (b * nq + i) * ldq + h * Dh;
                int64_t last = d->causal ? nkv - nq + i : nkv - 1; /* last visible key */
                double mx = -INFINITY, den = 0.0;
                for (int64_t j = 0; j < nkv; j++) {
                    if (j > last) {
                        s[j] = -INFINITY;
                        continue;
                    }
                    int64_t kr = (b * nkv + j) * ldk + g * Dh;
                    double dot = 0.0;
                    for (int64_t t = 0; t < Dh; t++) dot += (double)LD(q, qr + t) * (double)LD(k, kr + t);
                    s[j] = dot * scale;
                    if (s[j] > mx) mx = s[j];
                }
                for (int64_t j = 0; j < nkv; j++) {
                    s[j] = j > last ? 0.0 : exp(s[j] - mx);
                    den += s[j];
                }
                for (int64_t t = 0; t < Dh; t++) acc[t] = 0.0;
                for (int64_t j = 0; j < nkv; j++) {
                    double p = den > 0.0 ? s[j] / den : 0.0;
                    s[j] = p;
                    if (p == 0.0) continue;
                    int64_t vr = (b * nkv + j) * ldv + g * Dh;
                    for (int64_t t = 0; t < Dh; t++) acc[t] += p * (double)LD(v, vr + t);
                }
                int64_t orow = (b * nq + i) * ldo + h * Dh;
                for (int64_t t = 0; t < Dh; t++) ST(out, orow + t, (float)acc[t]);
                if (probs) {
                    float *pr = probs + ((b * H + h) * nq + i) * nkv;
                    for (int64_t j = 0; j < nkv; j++) pr[j] = (float)s[j];
                }
                if (rsum)
                    for (int64_t j = 0; j < nkv; j++) rsum[j] += s[j];
            }
        }
        if (recv)
            for (int64_t j = 0; j < nkv; j++) recv[b * nkv + j] = nq > 0 ? (float)(rsum[j] / (double)(H * nq)) : 0.0f;
    }
    free(s);
    free(acc);
    free(rsum);
    return 0;
}

static int ref_rope(eng_backend *be, eng_act *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                    const int64_t *pos, float theta) {
    if (head_dim % 2) return eng_backend_fail(be, "rope: head_dim %lld is odd", (long long)head_dim);
    int64_t half = head_dim / 2;
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t i = 0; i < half; i++) {
            float a = eng_rope_angle(pos[t], i, head_dim, theta);
            double c = cos((double)a), s = sin((double)a);
            for (int64_t h = 0; h < n_head; h++) {
                int64_t o = t * ld + h * head_dim;
                double x0 = LD(x, o + i), x1 = LD(x, o + i + half);
                ST(x, o + i, (float)(x0 * c - x1 * s));
                ST(x, o + i + half, (float)(x1 * c + x0 * s));
            }
        }
    }
    return 0;
}

int eng_rope_sec_check(eng_backend *be, int64_t head_dim, const eng_rope_sec *sec) {
    if (!sec || sec->n_sec < 1 || sec->n_sec > ENG_ROPE_MAX_SEC || head_dim % 2 || sec->freq_dim <= 0)
        return eng_backend_fail(be, "rope_sec: bad sections or head_dim %lld", (long long)head_dim);
    int64_t sum = 0;
    for (int s = 0; s < sec->n_sec; s++) {
        if (sec->pairs[s] < 0) return eng_backend_fail(be, "rope_sec: negative section");
        sum += sec->pairs[s];
    }
    if (sum * 2 != head_dim)
        return eng_backend_fail(be, "rope_sec: sections sum to %lld pairs, head_dim / 2 is %lld", (long long)sum,
                                (long long)head_dim / 2);
    return 0;
}

void eng_rope_sec_pair(const eng_rope_sec *sec, int64_t i, int *section, int64_t *j) {
    int s = 0;
    int64_t first = 0;
    while (s < sec->n_sec - 1 && i >= first + sec->pairs[s]) first += sec->pairs[s++];
    *section = s;
    *j = sec->restart ? i - first : i;
}

static int ref_rope_sec(eng_backend *be, eng_act *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                        const int64_t *pos, int64_t pos_ld, const eng_rope_sec *sec) {
    if (eng_rope_sec_check(be, head_dim, sec)) return -1;
    int64_t half = head_dim / 2;
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t i = 0; i < half; i++) {
            int sc;
            int64_t j;
            eng_rope_sec_pair(sec, i, &sc, &j);
            float a = eng_rope_angle(pos[sc * pos_ld + t], j, sec->freq_dim, sec->theta);
            double c = cos((double)a), s = sin((double)a);
            for (int64_t h = 0; h < n_head; h++) {
                int64_t o = t * ld + h * head_dim;
                double x0 = LD(x, o + i), x1 = LD(x, o + i + half);
                ST(x, o + i, (float)(x0 * c - x1 * s));
                ST(x, o + i + half, (float)(x1 * c + x0 * s));
            }
        }
    }
    return 0;
}

static int ref_add(eng_backend *be, eng_act *y, const eng_act *a, const eng_act *b, size_t n) {
    for (size_t i = 0; i < n; i++) ST(y, i, LD(a, i) + LD(b, i));
    return 0;
}

static int ref_add_bcast(eng_backend *be, eng_act *y, const eng_act *a, const float *b, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) ST(y, r * n + j, LD(a, r * n + j) + b[j]);
    return 0;
}

static int ref_head_mean(eng_backend *be, float *y, const eng_act *x, int64_t ld_x, int64_t n, int64_t n_head,
                         int64_t head_dim) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < head_dim; j++) {
            double s = 0.0;
            for (int64_t h = 0; h < n_head; h++) s += LD(x, i * ld_x + h * head_dim + j);
            y[i * head_dim + j] = (float)(s / (double)n_head);
        }
    return 0;
}

int eng_pool2d_check(eng_backend *be, int64_t H, int64_t W, int64_t C, eng_pool_mode mode, int64_t Ho, int64_t Wo) {
    if (H <= 0 || W <= 0 || C <= 0 || Ho <= 0 || Wo <= 0)
        return eng_backend_fail(be, "pool2d: empty shape %lldx%lld -> %lldx%lld", (long long)H, (long long)W,
                                (long long)Ho, (long long)Wo);
    if (mode == ENG_POOL_AVERAGE && (Ho != H / 2 || Wo != W / 2))
        return eng_backend_fail(be, "pool2d: average maps %lldx%lld to %lldx%lld, not %lldx%lld", (long long)H,
                                (long long)W, (long long)(H / 2), (long long)(W / 2), (long long)Ho, (long long)Wo);
    if (mode != ENG_POOL_AVERAGE && mode != ENG_POOL_BILINEAR)
        return eng_backend_fail(be, "pool2d: unknown mode %d", (int)mode);
    return 0;
}

/* One output cell (b, oy, ox) over all channels; shared with kernels_cpu.c and eng_pool2d_host. */
void eng_pool2d_cell(float *y, const float *x, int64_t b, int64_t H, int64_t W, int64_t C, eng_pool_mode mode,
                     int64_t Ho, int64_t Wo, int64_t oy, int64_t ox) {
    float *yr = y + ((b * Ho + oy) * Wo + ox) * C;
    const float *xb = x + b * H * W * C;
    if (mode == ENG_POOL_AVERAGE) {
        const float *p00 = xb + ((2 * oy) * W + 2 * ox) * C, *p01 = p00 + C;
        const float *p10 = p00 + W * C, *p11 = p10 + C;
        for (int64_t c = 0; c < C; c++) yr[c] = ((p00[c] + p01[c]) + (p10[c] + p11[c])) * 0.25f;
        return;
    }
    int64_t y0, y1, x0, x1;
    float hy0, hy1, wx0, wx1;
    eng_bilinear_index(H, Ho, oy, &y0, &y1, &hy0, &hy1);
    eng_bilinear_index(W, Wo, ox, &x0, &x1, &wx0, &wx1);
    const float *p00 = xb + (y0 * W + x0) * C, *p01 = xb + (y0 * W + x1) * C;
    const float *p10 = xb + (y1 * W + x0) * C, *p11 = xb + (y1 * W + x1) * C;
    for (int64_t c = 0; c < C; c++)
        yr[c] = hy0 * (wx0 * p00[c] + wx1 * p01[c]) + hy1 * (wx0 * p10[c] + wx1 * p11[c]);
}

int eng_pool2d_host(float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C, eng_pool_mode mode,
                    int64_t Ho, int64_t Wo, char *err, size_t err_len) {
    eng_backend tmp;
    memset(&tmp, 0, sizeof tmp);
    if (eng_pool2d_check(&tmp, H, W, C, mode, Ho, Wo)) {
        snprintf(err, err_len, "%s", tmp.err);
        return -1;
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) eng_pool2d_cell(y, x, b, H, W, C, mode, Ho, Wo, oy, ox);
    return 0;
}

/* The cell rule on activation storage: widened to float, pooled, rounded back. */
static int ref_pool2d(eng_backend *be, eng_act *y, const eng_act *x, int64_t B, int64_t H, int64_t W, int64_t C,
                      eng_pool_mode mode, int64_t Ho, int64_t Wo) {
    if (eng_pool2d_check(be, H, W, C, mode, Ho, Wo)) return -1;
    size_t nx = (size_t)(B * H * W * C), ny = (size_t)(B * Ho * Wo * C);
    float *fx = malloc((nx ? nx : 1) * sizeof *fx), *fy = malloc((ny ? ny : 1) * sizeof *fy);
    if (!fx || !fy) {
        free(fx);
        free(fy);
        return eng_backend_fail(be, "pool2d: out of memory");
    }
    eng_host_act_download(be, fx, x, nx);
    for (int64_t b = 0; b < B; b++)
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) eng_pool2d_cell(fy, fx, b, H, W, C, mode, Ho, Wo, oy, ox);
    eng_host_act_upload(be, y, fy, ny);
    free(fx);
    free(fy);
    return 0;
}

const eng_kernels eng_kernels_ref = {
    .name = "ref",
    .on_device = 0,
    .dtypes = (1u << ENG_COMPUTE_FP32) | (1u << ENG_COMPUTE_FP16) | (1u << ENG_COMPUTE_BF16),
    .init = NULL,
    .fini = NULL,
    .describe = NULL,
    .alloc = eng_host_alloc,
    .free = eng_host_free,
    .upload = eng_host_copy,
    .download = eng_host_copy,
    .act_alloc = eng_host_act_alloc,
    .act_free = eng_host_act_free,
    .act_upload = eng_host_act_upload,
    .act_download = eng_host_act_download,
    .sync = eng_host_sync,
    .tick = eng_host_tick,
    .tick_elapsed = eng_host_tick_elapsed,
    .weight_init = eng_host_weight_init,
    .weight_free = eng_host_weight_free,
    .linear = ref_linear,
    .linear_add = ref_linear_add,
    .matmul = ref_matmul,
    .layernorm = ref_layernorm,
    .rmsnorm = ref_rmsnorm,
    .gelu_tanh = ref_gelu_tanh,
    .gelu_erf = ref_gelu_erf,
    .silu = ref_silu,
    .swiglu = ref_swiglu,
    .softmax = ref_softmax,
    .attention = ref_attention,
    .rope = ref_rope,
    .rope_sec = ref_rope_sec,
    .add = ref_add,
    .add_bcast = ref_add_bcast,
    .head_mean = ref_head_mean,
    .pool2d = ref_pool2d,
};
