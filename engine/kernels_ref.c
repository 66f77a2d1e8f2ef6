/* kernels_ref.c - the reference op table (eng_kernels_ref): plain scalar C, one loop nest per op,
 * no BLAS, no OpenMP, no fast-math. Long sums (dot products, norms, softmax denominators) are
 * accumulated in double so that the oracle is more accurate than anything it judges. Slow by
 * design; used by tests/test_ops.c as the oracle and by tests that run the tiny model.
 *
 * Host memory helpers (alloc/free/upload/download) are shared with kernels_cpu.c. */
#include "engine/kernels.h"
#include "engine/kernels_host.h"

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

/* The rotary angle exactly as PyTorch/transformers compute it, in float32:
 * inv_freq = 1 / theta^((2i)/Dh), angle = (float)pos * inv_freq. Shared by every backend. */
float eng_rope_angle(int64_t pos, int64_t i, int64_t head_dim, float theta) {
    float e = (float)(2 * i) / (float)head_dim;
    float inv = (float)(1.0 / (double)powf(theta, e));
    return (float)pos * inv;
}

/* ---- ops -------------------------------------------------------------------------------------- */

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

static int ref_layernorm(eng_backend *be, float *y, const float *x, const float *g, const float *b, int64_t n,
                         int64_t d, float eps) {
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + i * d;
        float *yr = y + i * d;
        double mean = 0.0, var = 0.0;
        for (int64_t j = 0; j < d; j++) mean += xr[j];
        mean /= (double)d;
        for (int64_t j = 0; j < d; j++) {
            double t = xr[j] - mean;
            var += t * t;
        }
        var /= (double)d;
        double inv = 1.0 / sqrt(var + (double)eps);
        for (int64_t j = 0; j < d; j++) {
            double t = ((double)xr[j] - mean) * inv * (double)g[j];
            if (b) t += (double)b[j];
            yr[j] = (float)t;
        }
    }
    return 0;
}

static int ref_rmsnorm(eng_backend *be, float *y, const float *x, const float *g, int64_t n, int64_t d,
                       float eps) {
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + i * d;
        float *yr = y + i * d;
        double ss = 0.0;
        for (int64_t j = 0; j < d; j++) ss += (double)xr[j] * (double)xr[j];
        double inv = 1.0 / sqrt(ss / (double)d + (double)eps);
        for (int64_t j = 0; j < d; j++) yr[j] = (float)((double)xr[j] * inv * (double)g[j]);
    }
    return 0;
}

static int ref_gelu_tanh(eng_backend *be, float *y, const float *x, size_t n) {
    (void)be;
    const double c = 0.7978845608028654; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = (float)(0.5 * v * (1.0 + tanh(c * (v + 0.044715 * v * v * v))));
    }
    return 0;
}

static int ref_gelu_erf(eng_backend *be, float *y, const float *x, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = (float)(0.5 * v * (1.0 + erf(v * 0.7071067811865476)));
    }
    return 0;
}

static int ref_silu(eng_backend *be, float *y, const float *x, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = (float)(v / (1.0 + exp(-v)));
    }
    return 0;
}

static int ref_swiglu(eng_backend *be, float *y, const float *gate, const float *up, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) {
        double v = gate[i];
        y[i] = (float)(v / (1.0 + exp(-v)) * (double)up[i]);
    }
    return 0;
}

static void ref_softmax_row(float *y, const float *x, int64_t cols) {
    float mx = -INFINITY;
    for (int64_t j = 0; j < cols; j++)
        if (x[j] > mx) mx = x[j];
    double s = 0.0;
    for (int64_t j = 0; j < cols; j++) s += exp((double)x[j] - (double)mx);
    for (int64_t j = 0; j < cols; j++) y[j] = (float)(exp((double)x[j] - (double)mx) / s);
}

static int ref_softmax(eng_backend *be, float *y, const float *x, int64_t rows, int64_t cols) {
    (void)be;
    for (int64_t i = 0; i < rows; i++) ref_softmax_row(y + i * cols, x + i * cols, cols);
    return 0;
}

static int ref_attention(eng_backend *be, float *out, const float *q, const float *k, const float *v,
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
                const float *qr = q + (b * nq + i) * ldq + h * Dh;
                int64_t last = d->causal ? nkv - nq + i : nkv - 1; /* last visible key */
                double mx = -INFINITY, den = 0.0;
                for (int64_t j = 0; j < nkv; j++) {
                    if (j > last) {
                        s[j] = -INFINITY;
                        continue;
                    }
                    const float *kr = k + (b * nkv + j) * ldk + g * Dh;
                    double dot = 0.0;
                    for (int64_t t = 0; t < Dh; t++) dot += (double)qr[t] * (double)kr[t];
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
                    const float *vr = v + (b * nkv + j) * ldv + g * Dh;
                    for (int64_t t = 0; t < Dh; t++) acc[t] += p * (double)vr[t];
                }
                float *orow = out + (b * nq + i) * ldo + h * Dh;
                for (int64_t t = 0; t < Dh; t++) orow[t] = (float)acc[t];
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

static int ref_rope(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                    const int64_t *pos, float theta) {
    if (head_dim % 2) return eng_backend_fail(be, "rope: head_dim %lld is odd", (long long)head_dim);
    int64_t half = head_dim / 2;
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t i = 0; i < half; i++) {
            float a = eng_rope_angle(pos[t], i, head_dim, theta);
            double c = cos((double)a), s = sin((double)a);
            for (int64_t h = 0; h < n_head; h++) {
                float *xh = x + t * ld + h * head_dim;
                double x0 = xh[i], x1 = xh[i + half];
                xh[i] = (float)(x0 * c - x1 * s);
                xh[i + half] = (float)(x1 * c + x0 * s);
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

static int ref_rope_sec(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
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
                float *xh = x + t * ld + h * head_dim;
                double x0 = xh[i], x1 = xh[i + half];
                xh[i] = (float)(x0 * c - x1 * s);
                xh[i + half] = (float)(x1 * c + x0 * s);
            }
        }
    }
    return 0;
}

static int ref_add(eng_backend *be, float *y, const float *a, const float *b, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    return 0;
}

static int ref_add_bcast(eng_backend *be, float *y, const float *a, const float *b, int64_t rows, int64_t n) {
    (void)be;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) y[r * n + j] = a[r * n + j] + b[j];
    return 0;
}

static int ref_head_mean(eng_backend *be, float *y, const float *x, int64_t ld_x, int64_t n, int64_t n_head,
                         int64_t head_dim) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < head_dim; j++) {
            double s = 0.0;
            for (int64_t h = 0; h < n_head; h++) s += x[i * ld_x + h * head_dim + j];
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

/* One output cell (b, oy, ox) over all channels; shared with kernels_cpu.c. */
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

static int ref_pool2d(eng_backend *be, float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C,
                      eng_pool_mode mode, int64_t Ho, int64_t Wo) {
    if (eng_pool2d_check(be, H, W, C, mode, Ho, Wo)) return -1;
    for (int64_t b = 0; b < B; b++)
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) eng_pool2d_cell(y, x, b, H, W, C, mode, Ho, Wo, oy, ox);
    return 0;
}

const eng_kernels eng_kernels_ref = {
    .name = "ref",
    .on_device = 0,
    .init = NULL,
    .fini = NULL,
    .alloc = eng_host_alloc,
    .free = eng_host_free,
    .upload = eng_host_copy,
    .download = eng_host_copy,
    .sync = eng_host_sync,
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
