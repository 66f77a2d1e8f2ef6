/* kernels_cpu.c - the fast CPU op table (eng_kernels_cpu): OpenBLAS sgemm for every GEMM
 * (Linear layers and the two products inside attention), OpenMP for the row-wise and elementwise
 * ops. Float accumulation; judged against kernels_ref.c by tests/test_ops.c.
 *
 * Threading: OpenBLAS (pthread build) threads each sgemm itself, so sgemm is only called from
 * serial code, never inside an OpenMP region (that would oversubscribe the cores). */
#include "engine/kernels.h"
#include "engine/kernels_host.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* exp(x) for the fast path: Cephes-style range reduction x = n ln2 + r, degree-6 polynomial,
 * 2^n through the exponent bits; about 1 ulp on [-87, 88], clamped outside (exp(-87) = 1.6e-38
 * stands in for smaller values, which only ever meet a sum >= 1 or a 1 + ... here). Branch-free so
 * that the loops calling it vectorise (libm's expf does not without -ffast-math). */
static inline float exp_fast(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    n = n == n ? n : 0.0f; /* NaN input: keep the int conversion defined; y below stays NaN */
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } sc;
    sc.i = ((int32_t)n + 127) << 23;
    return y * sc.f;
}

/* Work (values touched) below which an op runs on the calling thread: waking the OpenMP team costs
 * more than it saves, and every hand-over between the team and OpenBLAS's own threads costs their
 * spin-wait on a loaded machine. */
#define PAR_MIN ((int64_t)1 << 15)

/* Backend state: the attention score scratch, kept between calls (grown on demand). */
typedef struct {
    float *scores;
    size_t scores_n; /* floats */
} cpu_impl;

static int cpu_init(eng_backend *be) {
    be->impl = calloc(1, sizeof(cpu_impl));
    return be->impl ? 0 : eng_backend_fail(be, "out of memory");
}

static void cpu_fini(eng_backend *be) {
    cpu_impl *im = be->impl;
    if (!im) return;
    free(im->scores);
    free(im);
    be->impl = NULL;
}

/* The score scratch of at least n floats, or NULL with be->err set. */
static float *cpu_scores(eng_backend *be, size_t n) {
    cpu_impl *im = be->impl;
    if (!im) {
        eng_backend_fail(be, "cpu backend used without eng_backend_init");
        return NULL;
    }
    if (im->scores_n < n || !im->scores) {
        free(im->scores);
        im->scores = eng_host_alloc(be, n);
        im->scores_n = im->scores ? n : 0;
    }
    return im->scores;
}

static int fits_int(int64_t v) {
    return v >= 0 && v <= INT_MAX;
}

static int cpu_matmul(eng_backend *be, float *y, const float *x, const float *w, const float *b, int64_t n, int64_t k,
                      int64_t m) {
    if (!fits_int(n) || !fits_int(k) || !fits_int(m))
        return eng_backend_fail(be, "matmul: shape %lldx%lldx%lld exceeds the BLAS int range", (long long)n,
                                (long long)k, (long long)m);
    if (n == 0 || m == 0) return 0;
    if (b) {
#pragma omp parallel for schedule(static) if (n * m > PAR_MIN)
        for (int64_t i = 0; i < n; i++) memcpy(y + i * m, b, (size_t)m * sizeof *y);
    }
    if (k == 0) {
        if (!b) memset(y, 0, (size_t)(n * m) * sizeof *y);
        return 0;
    }
    /* One row (decode steps, probes): sgemv reads w once; sgemm would pack all of w first. */
    if (n == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, 1.0f, w, (int)k, x, 1, b ? 1.0f : 0.0f, y, 1);
        return 0;
    }
    /* Row-major y[n,m] = x[n,k] . w[m,k]^T (+ y holding the bias when b). */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)k, 1.0f, x, (int)k, w, (int)k,
                b ? 1.0f : 0.0f, y, (int)m);
    return 0;
}

static int cpu_layernorm(eng_backend *be, float *y, const float *x, const float *g, const float *b, int64_t n,
                         int64_t d, float eps) {
    (void)be;
#pragma omp parallel for schedule(static) if (n * d > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + i * d;
        float *yr = y + i * d;
        float mean = 0.0f, var = 0.0f;
        for (int64_t j = 0; j < d; j++) mean += xr[j];
        mean /= (float)d;
        for (int64_t j = 0; j < d; j++) {
            float t = xr[j] - mean;
            var += t * t;
        }
        var /= (float)d;
        float inv = 1.0f / sqrtf(var + eps);
        if (b)
            for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mean) * inv * g[j] + b[j];
        else
            for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mean) * inv * g[j];
    }
    return 0;
}

static int cpu_rmsnorm(eng_backend *be, float *y, const float *x, const float *g, int64_t n, int64_t d, float eps) {
    (void)be;
#pragma omp parallel for schedule(static) if (n * d > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + i * d;
        float *yr = y + i * d;
        float ss = 0.0f;
        for (int64_t j = 0; j < d; j++) ss += xr[j] * xr[j];
        float inv = 1.0f / sqrtf(ss / (float)d + eps);
        for (int64_t j = 0; j < d; j++) yr[j] = xr[j] * inv * g[j];
    }
    return 0;
}

static int cpu_gelu_tanh(eng_backend *be, float *y, const float *x, size_t n) {
    (void)be;
    const float c = 0.7978845608028654f;
#pragma omp parallel for simd schedule(static) if ((int64_t)n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        /* 0.5 v (1 + tanh z) = v / (1 + exp(-2z)): no cancellation for very negative v */
        y[i] = v / (1.0f + exp_fast(-2.0f * c * (v + 0.044715f * v * v * v)));
    }
    return 0;
}

static int cpu_gelu_erf(eng_backend *be, float *y, const float *x, size_t n) {
    (void)be;
#pragma omp parallel for schedule(static) if ((int64_t)n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * erfcf(-v * 0.70710678118654752f); /* = 1 + erf(v/sqrt2), no cancellation */
    }
    return 0;
}

static int cpu_silu(eng_backend *be, float *y, const float *x, size_t n) {
    (void)be;
#pragma omp parallel for simd schedule(static) if ((int64_t)n > PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + exp_fast(-x[i]));
    return 0;
}

static int cpu_swiglu(eng_backend *be, float *y, const float *gate, const float *up, size_t n) {
    (void)be;
#pragma omp parallel for simd schedule(static) if ((int64_t)n > PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = gate[i] / (1.0f + exp_fast(-gate[i])) * up[i];
    return 0;
}

/* Softmax of row r[0..n) in place over the visible prefix [0, last], zeros after it. */
static void softmax_prefix(float *r, int64_t n, int64_t last) {
    float mx = -INFINITY, s = 0.0f;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j <= last; j++) mx = r[j] > mx ? r[j] : mx;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j <= last; j++) {
        r[j] = exp_fast(r[j] - mx);
        s += r[j];
    }
    float inv = 1.0f / s;
    for (int64_t j = 0; j <= last; j++) r[j] *= inv;
    for (int64_t j = last + 1; j < n; j++) r[j] = 0.0f;
}

static int cpu_softmax(eng_backend *be, float *y, const float *x, int64_t rows, int64_t cols) {
    (void)be;
#pragma omp parallel for schedule(static) if (rows * cols > PAR_MIN)
    for (int64_t i = 0; i < rows; i++) {
        if (y != x) memcpy(y + i * cols, x + i * cols, (size_t)cols * sizeof *y);
        softmax_prefix(y + i * cols, cols, cols - 1);
    }
    return 0;
}

/* Score scratch bound: H * qc * n_kv floats (64 MB); qc = query rows per block. */
#define ATTN_SCRATCH_FLOATS ((int64_t)16 << 20)

/* Three phases per (sequence, query block), so that the OpenBLAS thread pool and the OpenMP team
 * hand over the cores only twice per block instead of twice per head (on a loaded machine each
 * hand-over costs the spin-wait of the idle pool):
 *   1. S_h = scale Q_h K_g^T for every head h (threaded sgemm, serial loop);
 *   2. masked softmax of all H*qc rows, probs copy and column sums (one OpenMP region each);
 *   3. O_h = S_h V_g for every head (threaded sgemm, serial loop). */
static int cpu_attention(eng_backend *be, float *out, const float *q, const float *k, const float *v,
                         const eng_attn_desc *d, float *probs, float *recv) {
    int64_t B = d->n_batch, nq = d->n_q, nkv = d->n_kv, H = d->n_head, Hkv = d->n_head_kv, Dh = d->head_dim;
    if (H <= 0 || Hkv <= 0 || H % Hkv != 0 || Dh <= 0 || nq < 0 || nkv <= 0 || B < 0 || (d->causal && nq > nkv))
        return eng_backend_fail(be, "attention: bad shape (H %lld, Hkv %lld, Dh %lld, n_q %lld, n_kv %lld)",
                                (long long)H, (long long)Hkv, (long long)Dh, (long long)nq, (long long)nkv);
    int64_t ldq = d->ld_q ? d->ld_q : H * Dh, ldk = d->ld_k ? d->ld_k : Hkv * Dh;
    int64_t ldv = d->ld_v ? d->ld_v : Hkv * Dh, ldo = d->ld_out ? d->ld_out : H * Dh;
    if (!fits_int(nkv) || !fits_int(ldq) || !fits_int(ldk) || !fits_int(ldv) || !fits_int(ldo) || !fits_int(Dh))
        return eng_backend_fail(be, "attention: sizes exceed the BLAS int range");
    int64_t grp = H / Hkv;
    float scale = d->scale != 0.0f ? d->scale : (float)(1.0 / sqrt((double)Dh));
    int64_t qc = ATTN_SCRATCH_FLOATS / (H * nkv);
    if (qc < 1) qc = 1;
    if (qc > nq) qc = nq;
    float *S = cpu_scores(be, (size_t)(H * qc * nkv));
    double *rsum = recv ? calloc((size_t)nkv, sizeof *rsum) : NULL;
    if (!S || (recv && !rsum)) {
        free(rsum);
        return eng_backend_fail(be, "attention: out of memory for scores");
    }
    for (int64_t b = 0; b < B; b++) {
        if (rsum) memset(rsum, 0, (size_t)nkv * sizeof *rsum);
        for (int64_t i0 = 0; i0 < nq; i0 += qc) {
            int64_t nc = nq - i0 < qc ? nq - i0 : qc;
            /* 1. S[h][nc, nkv] = scale * Q[i0.., h] . K[:, g(h)]^T */
            for (int64_t h = 0; h < H; h++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nc, (int)nkv, (int)Dh, scale,
                            q + (b * nq + i0) * ldq + h * Dh, (int)ldq, k + b * nkv * ldk + (h / grp) * Dh, (int)ldk,
                            0.0f, S + h * nc * nkv, (int)nkv);
            /* 2. softmax rows (row r of head h is query i0 + r % nc) */
#pragma omp parallel for schedule(static) if (H * nc * nkv > PAR_MIN)
            for (int64_t hr = 0; hr < H * nc; hr++) {
                int64_t h = hr / nc, r = hr % nc;
                int64_t last = d->causal ? nkv - nq + i0 + r : nkv - 1;
                softmax_prefix(S + hr * nkv, nkv, last);
                if (probs) memcpy(probs + ((b * H + h) * nq + i0 + r) * nkv, S + hr * nkv, (size_t)nkv * sizeof *S);
            }
            if (rsum) {
                /* column sums over all H*nc rows, each thread owning a block of columns */
#pragma omp parallel for schedule(static) if (H * nc * nkv > PAR_MIN)
                for (int64_t j0 = 0; j0 < nkv; j0 += 64) {
                    int64_t j1 = j0 + 64 < nkv ? j0 + 64 : nkv;
                    for (int64_t hr = 0; hr < H * nc; hr++)
                        for (int64_t j = j0; j < j1; j++) rsum[j] += S[hr * nkv + j];
                }
            }
            /* 3. O[i0.., h] = S[h] . V[:, g(h)] */
            for (int64_t h = 0; h < H; h++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nc, (int)Dh, (int)nkv, 1.0f,
                            S + h * nc * nkv, (int)nkv, v + b * nkv * ldv + (h / grp) * Dh, (int)ldv, 0.0f,
                            out + (b * nq + i0) * ldo + h * Dh, (int)ldo);
        }
        if (recv)
            for (int64_t j = 0; j < nkv; j++) recv[b * nkv + j] = nq > 0 ? (float)(rsum[j] / (double)(H * nq)) : 0.0f;
    }
    free(rsum);
    return 0;
}

static int cpu_rope(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                    const int64_t *pos, float theta) {
    if (head_dim % 2) return eng_backend_fail(be, "rope: head_dim %lld is odd", (long long)head_dim);
    int64_t half = head_dim / 2;
#pragma omp parallel for schedule(static) if (n_tok * head_dim * n_head > PAR_MIN)
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t i = 0; i < half; i++) {
            float a = eng_rope_angle(pos[t], i, head_dim, theta);
            float c = (float)cos((double)a), s = (float)sin((double)a);
            for (int64_t h = 0; h < n_head; h++) {
                float *xh = x + t * ld + h * head_dim;
                float x0 = xh[i], x1 = xh[i + half];
                xh[i] = x0 * c - x1 * s;
                xh[i + half] = x1 * c + x0 * s;
            }
        }
    }
    return 0;
}

/* Angles per (token, pair) first (one cos/sin per pair, shared by the heads), as cpu_rope. */
static int cpu_rope_sec(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                        const int64_t *pos, int64_t pos_ld, const eng_rope_sec *sec) {
    if (eng_rope_sec_check(be, head_dim, sec)) return -1;
    int64_t half = head_dim / 2;
    int sc_of[512];
    int64_t j_of[512];
    if (half > 512) return eng_backend_fail(be, "rope_sec: head_dim %lld above 1024", (long long)head_dim);
    for (int64_t i = 0; i < half; i++) eng_rope_sec_pair(sec, i, &sc_of[i], &j_of[i]);
#pragma omp parallel for schedule(static) if (n_tok * head_dim * n_head > PAR_MIN)
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t i = 0; i < half; i++) {
            float a = eng_rope_angle(pos[sc_of[i] * pos_ld + t], j_of[i], sec->freq_dim, sec->theta);
            float c = (float)cos((double)a), s = (float)sin((double)a);
            for (int64_t h = 0; h < n_head; h++) {
                float *xh = x + t * ld + h * head_dim;
                float x0 = xh[i], x1 = xh[i + half];
                xh[i] = x0 * c - x1 * s;
                xh[i + half] = x1 * c + x0 * s;
            }
        }
    }
    return 0;
}

static int cpu_add(eng_backend *be, float *y, const float *a, const float *b, size_t n) {
    (void)be;
#pragma omp parallel for schedule(static) if ((int64_t)n > PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    return 0;
}

static int cpu_add_bcast(eng_backend *be, float *y, const float *a, const float *b, int64_t rows, int64_t n) {
    (void)be;
#pragma omp parallel for schedule(static) if (rows * n > PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) y[r * n + j] = a[r * n + j] + b[j];
    return 0;
}

static int cpu_head_mean(eng_backend *be, float *y, const float *x, int64_t ld_x, int64_t n, int64_t n_head,
                         int64_t head_dim) {
    (void)be;
    float inv = 1.0f / (float)n_head;
#pragma omp parallel for schedule(static) if (n * n_head * head_dim > PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < head_dim; j++) {
            float s = 0.0f;
            for (int64_t h = 0; h < n_head; h++) s += x[i * ld_x + h * head_dim + j];
            y[i * head_dim + j] = s * inv;
        }
    return 0;
}

static int cpu_pool2d(eng_backend *be, float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C,
                      eng_pool_mode mode, int64_t Ho, int64_t Wo) {
    if (eng_pool2d_check(be, H, W, C, mode, Ho, Wo)) return -1;
    int64_t cells = B * Ho * Wo;
#pragma omp parallel for schedule(static) if (cells * C > PAR_MIN)
    for (int64_t c = 0; c < cells; c++) {
        int64_t b = c / (Ho * Wo), rem = c % (Ho * Wo);
        eng_pool2d_cell(y, x, b, H, W, C, mode, Ho, Wo, rem / Wo, rem % Wo);
    }
    return 0;
}

const eng_kernels eng_kernels_cpu = {
    .name = "cpu",
    .on_device = 0,
    .init = cpu_init,
    .fini = cpu_fini,
    .alloc = eng_host_alloc,
    .free = eng_host_free,
    .upload = eng_host_copy,
    .download = eng_host_copy,
    .sync = eng_host_sync,
    .matmul = cpu_matmul,
    .layernorm = cpu_layernorm,
    .rmsnorm = cpu_rmsnorm,
    .gelu_tanh = cpu_gelu_tanh,
    .gelu_erf = cpu_gelu_erf,
    .silu = cpu_silu,
    .swiglu = cpu_swiglu,
    .softmax = cpu_softmax,
    .attention = cpu_attention,
    .rope = cpu_rope,
    .rope_sec = cpu_rope_sec,
    .add = cpu_add,
    .add_bcast = cpu_add_bcast,
    .head_mean = cpu_head_mean,
    .pool2d = cpu_pool2d,
};
