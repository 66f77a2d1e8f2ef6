/* kernels_cuda.cu - the CUDA op table (eng_kernels_cuda): cuBLAS sgemm for every GEMM (Linear
 * layers; QK^T and PV of attention as strided-batched GEMMs over the query heads of one KV head),
 * simple one-block-per-row kernels for norms and softmax, grid-stride kernels elsewhere. float32
 * throughout, no fast-math; judged against kernels_ref.c by tests/test_ops.c (-b cuda).
 *
 * Every CUDA and cuBLAS call goes through CUDA_CHECK / CUBLAS_CHECK (statement, file, line into
 * be->err, return -1) and every launch is followed by a cudaGetLastError() check. All work is
 * queued on the legacy default stream; upload/download are synchronous copies.
 *
 * Row-major <-> cuBLAS column-major (derivation used by every GEMM below): a row-major matrix
 * A[r, c] with leading dimension ld is the column-major matrix A^T[c, r] with the same ld. So the
 * row-major product Y[n, m] = X[n, k] . W[m, k]^T is, column-major, Y^T[m, n] = W[m, k] . X^T[k, n]:
 *     cublasSgemm(T, N, m, n, k, W (col-major [k, m], ld k), X (col-major [k, n], ld k), Y (ld m)).
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "engine/kernels.h"
}

/* ---- checks ----------------------------------------------------------------------------------- */

#define CUDA_CHECK(be, call)                                                                                       \
    do {                                                                                                           \
        cudaError_t e_ = (call);                                                                                   \
        if (e_ != cudaSuccess)                                                                                     \
            return eng_backend_fail((be), "%s: %s (%s:%d)", #call, cudaGetErrorString(e_), __FILE__, __LINE__);   \
    } while (0)

#define CUBLAS_CHECK(be, call)                                                                                     \
    do {                                                                                                           \
        cublasStatus_t s_ = (call);                                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                           \
            return eng_backend_fail((be), "%s: cuBLAS status %d (%s:%d)", #call, (int)s_, __FILE__, __LINE__);     \
    } while (0)

#define LAUNCH_CHECK(be) CUDA_CHECK((be), cudaGetLastError())

typedef struct {
    cublasHandle_t blas;
    float *scratch;   /* attention scores */
    size_t scratch_n; /* floats */
    double *rsum;     /* [n_kv] column sums for recv */
    size_t rsum_n;
    int64_t *pos;     /* rope positions on the device */
    size_t pos_n;
} cuda_impl;

static cuda_impl *impl_of(eng_backend *be) {
    return (cuda_impl *)be->impl;
}

static int fits_int(int64_t v) {
    return v >= 0 && v <= 2147483647;
}

static unsigned grid_for(size_t n, unsigned block) {
    size_t g = (n + block - 1) / block;
    if (g > 65535u * 8u) g = 65535u * 8u; /* grid-stride loops cover the rest */
    if (g == 0) g = 1;
    return (unsigned)g;
}

/* Grows a device buffer to at least n elements of size esz. */
static int ensure(eng_backend *be, void **buf, size_t *cap, size_t n, size_t esz) {
    if (*cap >= n && *buf) return 0;
    if (*buf) CUDA_CHECK(be, cudaFree(*buf));
    *buf = NULL;
    *cap = 0;
    CUDA_CHECK(be, cudaMalloc(buf, (n ? n : 1) * esz));
    *cap = n;
    return 0;
}

/* ---- lifecycle and memory -------------------------------------------------------------------- */

static int cu_init(eng_backend *be) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0)
        return eng_backend_fail(be, "no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "count 0");
    cuda_impl *im = (cuda_impl *)calloc(1, sizeof *im);
    if (!im) return eng_backend_fail(be, "out of memory");
    be->impl = im;
    cublasStatus_t s = cublasCreate(&im->blas);
    if (s != CUBLAS_STATUS_SUCCESS) {
        free(im);
        be->impl = NULL;
        return eng_backend_fail(be, "cublasCreate: status %d", (int)s);
    }
    /* Plain fp32 GEMMs (no TF32): results comparable with the CPU reference. */
    CUBLAS_CHECK(be, cublasSetMathMode(im->blas, CUBLAS_DEFAULT_MATH));
    return 0;
}

static void cu_fini(eng_backend *be) {
    cuda_impl *im = impl_of(be);
    if (!im) return;
    if (im->blas) cublasDestroy(im->blas);
    cudaFree(im->scratch);
    cudaFree(im->rsum);
    cudaFree(im->pos);
    free(im);
    be->impl = NULL;
}

static float *cu_alloc(eng_backend *be, size_t n) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, (n ? n : 1) * sizeof(float));
    if (e != cudaSuccess) {
        eng_backend_fail(be, "cudaMalloc(%zu floats): %s", n, cudaGetErrorString(e));
        return NULL;
    }
    return (float *)p;
}

static void cu_free(eng_backend *be, float *p) {
    (void)be;
    if (p) cudaFree(p);
}

static int cu_upload(eng_backend *be, float *dst, const float *src, size_t n) {
    if (n) CUDA_CHECK(be, cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

static int cu_download(eng_backend *be, float *dst, const float *src, size_t n) {
    if (n) CUDA_CHECK(be, cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost));
    return 0;
}

static int cu_sync(eng_backend *be) {
    CUDA_CHECK(be, cudaDeviceSynchronize());
    return 0;
}

/* ---- reductions -------------------------------------------------------------------------------- */

#define ROW_BLOCK 256

/* Sum over the block (blockDim.x == ROW_BLOCK); every thread gets the result. */
__device__ static float block_sum(float v, float *sh) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads(); /* sh may still be read from a previous call */
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (ROW_BLOCK / 32) ? sh[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0) sh[0] = v;
    }
    __syncthreads();
    return sh[0];
}

__device__ static float block_max(float v, float *sh) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (ROW_BLOCK / 32) ? sh[lane] : -INFINITY;
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
        if (lane == 0) sh[0] = v;
    }
    __syncthreads();
    return sh[0];
}

/* ---- matmul ----------------------------------------------------------------------------------- */

__global__ static void k_fill_rows(float *y, const float *b, int64_t n, int64_t m) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n * m; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = b ? b[i % m] : 0.0f;
}

static int cu_matmul(eng_backend *be, float *y, const float *x, const float *w, const float *b, int64_t n, int64_t k,
                     int64_t m) {
    if (!fits_int(n) || !fits_int(k) || !fits_int(m))
        return eng_backend_fail(be, "matmul: shape %lldx%lldx%lld exceeds the cuBLAS int range", (long long)n,
                                (long long)k, (long long)m);
    if (n == 0 || m == 0) return 0;
    if (b || k == 0) {
        k_fill_rows<<<grid_for((size_t)(n * m), 256), 256>>>(y, b, n, m);
        LAUNCH_CHECK(be);
    }
    if (k == 0) return 0;
    const float one = 1.0f, beta = b ? 1.0f : 0.0f;
    /* Y^T[m, n] = W[m, k] . X^T[k, n]  (see the file comment) */
    CUBLAS_CHECK(be, cublasSgemm(impl_of(be)->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)n, (int)k, &one, w, (int)k,
                                 x, (int)k, &beta, y, (int)m));
    return 0;
}

/* ---- norms -------------------------------------------------------------------------------------- */

__global__ static void k_layernorm(float *y, const float *x, const float *g, const float *b, int64_t d, float eps) {
    __shared__ float sh[32];
    const float *xr = x + blockIdx.x * d;
    float *yr = y + blockIdx.x * d;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += xr[j];
    float mean = block_sum(s, sh) / (float)d;
    float v = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
        float t = xr[j] - mean;
        v += t * t;
    }
    float inv = 1.0f / sqrtf(block_sum(v, sh) / (float)d + eps);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = (xr[j] - mean) * inv * g[j] + (b ? b[j] : 0.0f);
}

__global__ static void k_rmsnorm(float *y, const float *x, const float *g, int64_t d, float eps) {
    __shared__ float sh[32];
    const float *xr = x + blockIdx.x * d;
    float *yr = y + blockIdx.x * d;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += xr[j] * xr[j];
    float inv = 1.0f / sqrtf(block_sum(s, sh) / (float)d + eps);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = xr[j] * inv * g[j];
}

static int rows_ok(eng_backend *be, int64_t n, const char *op) {
    if (n > 2147483647) return eng_backend_fail(be, "%s: %lld rows exceed the grid limit", op, (long long)n);
    return 0;
}

static int cu_layernorm(eng_backend *be, float *y, const float *x, const float *g, const float *b, int64_t n, int64_t d,
                        float eps) {
    if (n == 0) return 0;
    if (rows_ok(be, n, "layernorm")) return -1;
    k_layernorm<<<(unsigned)n, ROW_BLOCK>>>(y, x, g, b, d, eps);
    LAUNCH_CHECK(be);
    return 0;
}

static int cu_rmsnorm(eng_backend *be, float *y, const float *x, const float *g, int64_t n, int64_t d, float eps) {
    if (n == 0) return 0;
    if (rows_ok(be, n, "rmsnorm")) return -1;
    k_rmsnorm<<<(unsigned)n, ROW_BLOCK>>>(y, x, g, d, eps);
    LAUNCH_CHECK(be);
    return 0;
}

/* ---- elementwise -------------------------------------------------------------------------------- */

#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ static void k_gelu_tanh(float *y, const float *x, size_t n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        /* 0.5 v (1 + tanh z) = v / (1 + exp(-2z)) */
        y[i] = v / (1.0f + expf(-2.0f * 0.7978845608028654f * (v + 0.044715f * v * v * v)));
    }
}
__global__ static void k_gelu_erf(float *y, const float *x, size_t n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = 0.5f * v * erfcf(-v * 0.70710678118654752f);
    }
}
__global__ static void k_silu(float *y, const float *x, size_t n) {
    GRID_STRIDE(i, n) { y[i] = x[i] / (1.0f + expf(-x[i])); }
}
__global__ static void k_swiglu(float *y, const float *g, const float *u, size_t n) {
    GRID_STRIDE(i, n) { y[i] = g[i] / (1.0f + expf(-g[i])) * u[i]; }
}
__global__ static void k_add(float *y, const float *a, const float *b, size_t n) {
    GRID_STRIDE(i, n) { y[i] = a[i] + b[i]; }
}
__global__ static void k_add_bcast(float *y, const float *a, const float *b, size_t total, int64_t n) {
    GRID_STRIDE(i, total) { y[i] = a[i] + b[i % (size_t)n]; }
}

#define EW_LAUNCH(kernel, n, ...)                                                                                  \
    do {                                                                                                           \
        if ((n) == 0) return 0;                                                                                    \
        kernel<<<grid_for((n), 256), 256>>>(__VA_ARGS__);                                                          \
        LAUNCH_CHECK(be);                                                                                          \
        return 0;                                                                                                  \
    } while (0)

static int cu_gelu_tanh(eng_backend *be, float *y, const float *x, size_t n) { EW_LAUNCH(k_gelu_tanh, n, y, x, n); }
static int cu_gelu_erf(eng_backend *be, float *y, const float *x, size_t n) { EW_LAUNCH(k_gelu_erf, n, y, x, n); }
static int cu_silu(eng_backend *be, float *y, const float *x, size_t n) { EW_LAUNCH(k_silu, n, y, x, n); }
static int cu_swiglu(eng_backend *be, float *y, const float *g, const float *u, size_t n) {
    EW_LAUNCH(k_swiglu, n, y, g, u, n);
}
static int cu_add(eng_backend *be, float *y, const float *a, const float *b, size_t n) { EW_LAUNCH(k_add, n, y, a, b, n); }
static int cu_add_bcast(eng_backend *be, float *y, const float *a, const float *b, int64_t rows, int64_t n) {
    size_t total = (size_t)(rows * n);
    EW_LAUNCH(k_add_bcast, total, y, a, b, total, n);
}

/* ---- softmax ------------------------------------------------------------------------------------ */

/* Row r of x[rows, cols] -> y: softmax over columns 0..last, zeros after; last = cols-1, or with
 * causal, off + (r % rows_per_head) (the row's query index inside an attention chunk). */
__global__ static void k_softmax(float *y, const float *x, int64_t cols, int causal, int64_t off, int64_t rows_per_head) {
    __shared__ float sh[32];
    const float *xr = x + blockIdx.x * cols;
    float *yr = y + blockIdx.x * cols;
    int64_t last = causal ? off + (int64_t)(blockIdx.x % rows_per_head) : cols - 1;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j <= last; j += blockDim.x) mx = fmaxf(mx, xr[j]);
    mx = block_max(mx, sh);
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j <= last; j += blockDim.x) s += expf(xr[j] - mx);
    float inv = 1.0f / block_sum(s, sh);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = j <= last ? expf(xr[j] - mx) * inv : 0.0f;
}

static int cu_softmax(eng_backend *be, float *y, const float *x, int64_t rows, int64_t cols) {
    if (rows == 0 || cols == 0) return 0;
    if (rows_ok(be, rows, "softmax")) return -1;
    k_softmax<<<(unsigned)rows, ROW_BLOCK>>>(y, x, cols, 0, 0, 1);
    LAUNCH_CHECK(be);
    return 0;
}

/* ---- attention ---------------------------------------------------------------------------------- */

/* rsum[j] += sum over rows of S[r, j] (one thread per column: coalesced across the warp). */
__global__ static void k_colsum(double *rsum, const float *S, int64_t rows, int64_t cols) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < cols; j += (int64_t)gridDim.x * blockDim.x) {
        double s = 0.0;
        for (int64_t r = 0; r < rows; r++) s += S[r * cols + j];
        rsum[j] += s;
    }
}

__global__ static void k_recv_final(float *recv, const double *rsum, int64_t n, double denom) {
    GRID_STRIDE(j, (size_t)n) { recv[j] = denom > 0 ? (float)(rsum[j] / denom) : 0.0f; }
}

#define ATTN_SCRATCH_FLOATS ((int64_t)16 << 20)

static int cu_attention(eng_backend *be, float *out, const float *q, const float *k, const float *v,
                        const eng_attn_desc *d, float *probs, float *recv) {
    int64_t B = d->n_batch, nq = d->n_q, nkv = d->n_kv, H = d->n_head, Hkv = d->n_head_kv, Dh = d->head_dim;
    if (H <= 0 || Hkv <= 0 || H % Hkv != 0 || Dh <= 0 || nq < 0 || nkv <= 0 || B < 0 || (d->causal && nq > nkv))
        return eng_backend_fail(be, "attention: bad shape (H %lld, Hkv %lld, Dh %lld, n_q %lld, n_kv %lld)",
                                (long long)H, (long long)Hkv, (long long)Dh, (long long)nq, (long long)nkv);
    int64_t ldq = d->ld_q ? d->ld_q : H * Dh, ldk = d->ld_k ? d->ld_k : Hkv * Dh;
    int64_t ldv = d->ld_v ? d->ld_v : Hkv * Dh, ldo = d->ld_out ? d->ld_out : H * Dh;
    if (!fits_int(nkv) || !fits_int(ldq) || !fits_int(ldk) || !fits_int(ldv) || !fits_int(ldo) || !fits_int(Dh))
        return eng_backend_fail(be, "attention: sizes exceed the cuBLAS int range");
    cuda_impl *im = impl_of(be);
    int64_t grp = H / Hkv;
    float scale = d->scale != 0.0f ? d->scale : (float)(1.0 / sqrt((double)Dh));
    int64_t qc = ATTN_SCRATCH_FLOATS / (grp * nkv);
    if (qc < 1) qc = 1;
    if (qc > nq) qc = nq;
    if (ensure(be, (void **)&im->scratch, &im->scratch_n, (size_t)(grp * (qc > 0 ? qc : 1) * nkv), sizeof(float)))
        return -1;
    if (recv && ensure(be, (void **)&im->rsum, &im->rsum_n, (size_t)nkv, sizeof(double))) return -1;
    float *S = im->scratch;
    const float zero = 0.0f, one = 1.0f;
    for (int64_t b = 0; b < B; b++) {
        if (recv) CUDA_CHECK(be, cudaMemsetAsync(im->rsum, 0, (size_t)nkv * sizeof(double), 0));
        for (int64_t g = 0; g < Hkv; g++) {
            const float *kg = k + b * nkv * ldk + g * Dh, *vg = v + b * nkv * ldv + g * Dh;
            for (int64_t i0 = 0; i0 < nq; i0 += qc) {
                int64_t nc = nq - i0 < qc ? nq - i0 : qc;
                const float *q0 = q + (b * nq + i0) * ldq + g * grp * Dh;
                float *o0 = out + (b * nq + i0) * ldo + g * grp * Dh;
                /* S_hh[nc, nkv] = scale Q_hh K_g^T for the grp query heads hh of KV head g.
                 * Column-major: S^T[nkv, nc] = K_g (col-major [Dh, nkv], ld ldk, transposed)
                 *               . Q_hh (col-major [Dh, nc], ld ldq); heads Dh floats apart. */
                CUBLAS_CHECK(be, cublasSgemmStridedBatched(im->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)nkv, (int)nc, (int)Dh,
                                                           &scale, kg, (int)ldk, 0, q0, (int)ldq, (long long)Dh, &zero,
                                                           S, (int)nkv, (long long)(nc * nkv), (int)grp));
                k_softmax<<<(unsigned)(grp * nc), ROW_BLOCK>>>(S, S, nkv, d->causal, nkv - nq + i0, nc);
                LAUNCH_CHECK(be);
                if (probs)
                    for (int64_t hh = 0; hh < grp; hh++) {
                        int64_t h = g * grp + hh;
                        CUDA_CHECK(be, cudaMemcpyAsync(probs + ((b * H + h) * nq + i0) * nkv, S + hh * nc * nkv,
                                                       (size_t)(nc * nkv) * sizeof(float), cudaMemcpyDeviceToDevice, 0));
                    }
                if (recv) {
                    k_colsum<<<grid_for((size_t)nkv, 128), 128>>>(im->rsum, S, grp * nc, nkv);
                    LAUNCH_CHECK(be);
                }
                /* O_hh[nc, Dh] = P_hh[nc, nkv] . V_g[nkv, Dh].
                 * Column-major: O^T[Dh, nc] (ld ldo) = V_g^T (col-major [Dh, nkv], ld ldv)
                 *               . P^T (col-major [nkv, nc], ld nkv); outputs Dh floats apart. */
                CUBLAS_CHECK(be, cublasSgemmStridedBatched(im->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)Dh, (int)nc, (int)nkv,
                                                           &one, vg, (int)ldv, 0, S, (int)nkv, (long long)(nc * nkv),
                                                           &zero, o0, (int)ldo, (long long)Dh, (int)grp));
            }
        }
        if (recv) {
            k_recv_final<<<grid_for((size_t)nkv, 256), 256>>>(recv + b * nkv, im->rsum, nkv, (double)(H * nq));
            LAUNCH_CHECK(be);
        }
    }
    return 0;
}

/* ---- rope, head_mean, pool2d -------------------------------------------------------------------- */

__global__ static void k_rope(float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t hd, const int64_t *pos,
                              float theta) {
    int64_t half = hd / 2;
    GRID_STRIDE(idx, (size_t)(n_tok * half)) {
        int64_t t = (int64_t)idx / half, i = (int64_t)idx % half;
        /* the float32 angle of eng_rope_angle (kernels_ref.c) */
        float e = (float)(2 * i) / (float)hd;
        float inv = (float)(1.0 / (double)powf(theta, e));
        float a = (float)pos[t] * inv;
        float c = (float)cos((double)a), s = (float)sin((double)a);
        for (int64_t h = 0; h < n_head; h++) {
            float *xh = x + t * ld + h * hd;
            float x0 = xh[i], x1 = xh[i + half];
            xh[i] = x0 * c - x1 * s;
            xh[i + half] = x1 * c + x0 * s;
        }
    }
}

static int cu_rope(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                   const int64_t *pos, float theta) {
    if (head_dim % 2) return eng_backend_fail(be, "rope: head_dim %lld is odd", (long long)head_dim);
    if (n_tok == 0) return 0;
    cuda_impl *im = impl_of(be);
    if (ensure(be, (void **)&im->pos, &im->pos_n, (size_t)n_tok, sizeof(int64_t))) return -1;
    CUDA_CHECK(be, cudaMemcpy(im->pos, pos, (size_t)n_tok * sizeof(int64_t), cudaMemcpyHostToDevice));
    k_rope<<<grid_for((size_t)(n_tok * head_dim / 2), 256), 256>>>(x, ld, n_tok, n_head, head_dim, im->pos, theta);
    LAUNCH_CHECK(be);
    return 0;
}

/* Sectioned rope: sec_of / j_of per pair are computed on the host (eng_rope_sec_pair) and passed
 * by value; positions [n_sec][n_tok] are uploaded into im->pos. */
typedef struct {
    int sec[512];
    int j[512];
} rope_sec_map;

__global__ static void k_rope_sec(float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t hd, const int64_t *pos,
                                  rope_sec_map map, int freq_dim, float theta) {
    int64_t half = hd / 2;
    GRID_STRIDE(idx, (size_t)(n_tok * half)) {
        int64_t t = (int64_t)idx / half, i = (int64_t)idx % half;
        float e = (float)(2 * map.j[i]) / (float)freq_dim;
        float inv = (float)(1.0 / (double)powf(theta, e));
        float a = (float)pos[(int64_t)map.sec[i] * n_tok + t] * inv;
        float c = (float)cos((double)a), s = (float)sin((double)a);
        for (int64_t h = 0; h < n_head; h++) {
            float *xh = x + t * ld + h * hd;
            float x0 = xh[i], x1 = xh[i + half];
            xh[i] = x0 * c - x1 * s;
            xh[i + half] = x1 * c + x0 * s;
        }
    }
}

static int cu_rope_sec(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                       const int64_t *pos, int64_t pos_ld, const eng_rope_sec *sec) {
    if (eng_rope_sec_check(be, head_dim, sec)) return -1;
    if (head_dim / 2 > 512) return eng_backend_fail(be, "rope_sec: head_dim %lld above 1024", (long long)head_dim);
    if (n_tok == 0) return 0;
    rope_sec_map map;
    for (int64_t i = 0; i < head_dim / 2; i++) {
        int64_t j;
        eng_rope_sec_pair(sec, i, &map.sec[i], &j);
        map.j[i] = (int)j;
    }
    cuda_impl *im = impl_of(be);
    size_t n = (size_t)sec->n_sec * (size_t)n_tok;
    if (ensure(be, (void **)&im->pos, &im->pos_n, n, sizeof(int64_t))) return -1;
    for (int s = 0; s < sec->n_sec; s++)
        CUDA_CHECK(be, cudaMemcpy(im->pos + (size_t)s * (size_t)n_tok, pos + (size_t)s * (size_t)pos_ld,
                                  (size_t)n_tok * sizeof(int64_t), cudaMemcpyHostToDevice));
    k_rope_sec<<<grid_for((size_t)(n_tok * head_dim / 2), 256), 256>>>(x, ld, n_tok, n_head, head_dim, im->pos, map,
                                                                        sec->freq_dim, sec->theta);
    LAUNCH_CHECK(be);
    return 0;
}

__global__ static void k_head_mean(float *y, const float *x, int64_t ld, int64_t n, int64_t H, int64_t hd) {
    GRID_STRIDE(idx, (size_t)(n * hd)) {
        int64_t i = (int64_t)idx / hd, j = (int64_t)idx % hd;
        float s = 0.0f;
        for (int64_t h = 0; h < H; h++) s += x[i * ld + h * hd + j];
        y[idx] = s * (1.0f / (float)H);
    }
}

static int cu_head_mean(eng_backend *be, float *y, const float *x, int64_t ld_x, int64_t n, int64_t n_head,
                        int64_t head_dim) {
    size_t total = (size_t)(n * head_dim);
    EW_LAUNCH(k_head_mean, total, y, x, ld_x, n, n_head, head_dim);
}

/* The float rule of eng_bilinear_index (kernels.c), on the device. */
__device__ static void bilinear_index(int64_t n_in, int64_t n_out, int64_t o, int64_t *i0, int64_t *i1, float *w0,
                                      float *w1) {
    float scale = (float)n_in / (float)n_out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    int64_t a = (int64_t)src;
    if (a > n_in - 1) a = n_in - 1;
    float l1 = fminf(fmaxf(src - (float)a, 0.0f), 1.0f);
    *i0 = a;
    *i1 = a < n_in - 1 ? a + 1 : a;
    *w1 = l1;
    *w0 = 1.0f - l1;
}

__global__ static void k_pool2d(float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C, int avg, int64_t Ho,
                                int64_t Wo) {
    GRID_STRIDE(idx, (size_t)(B * Ho * Wo * C)) {
        int64_t c = (int64_t)idx % C, cell = (int64_t)idx / C;
        int64_t ox = cell % Wo, oy = (cell / Wo) % Ho, b = cell / (Wo * Ho);
        const float *xb = x + b * H * W * C;
        if (avg) {
            const float *p00 = xb + ((2 * oy) * W + 2 * ox) * C + c;
            y[idx] = ((p00[0] + p00[C]) + (p00[W * C] + p00[W * C + C])) * 0.25f;
        } else {
            int64_t y0, y1, x0, x1;
            float hy0, hy1, wx0, wx1;
            bilinear_index(H, Ho, oy, &y0, &y1, &hy0, &hy1);
            bilinear_index(W, Wo, ox, &x0, &x1, &wx0, &wx1);
            y[idx] = hy0 * (wx0 * xb[(y0 * W + x0) * C + c] + wx1 * xb[(y0 * W + x1) * C + c]) +
                     hy1 * (wx0 * xb[(y1 * W + x0) * C + c] + wx1 * xb[(y1 * W + x1) * C + c]);
        }
    }
}

static int cu_pool2d(eng_backend *be, float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C,
                     eng_pool_mode mode, int64_t Ho, int64_t Wo) {
    if (H <= 0 || W <= 0 || C <= 0 || Ho <= 0 || Wo <= 0)
        return eng_backend_fail(be, "pool2d: empty shape %lldx%lld -> %lldx%lld", (long long)H, (long long)W,
                                (long long)Ho, (long long)Wo);
    if (mode == ENG_POOL_AVERAGE && (Ho != H / 2 || Wo != W / 2))
        return eng_backend_fail(be, "pool2d: average maps %lldx%lld to %lldx%lld, not %lldx%lld", (long long)H,
                                (long long)W, (long long)(H / 2), (long long)(W / 2), (long long)Ho, (long long)Wo);
    if (mode != ENG_POOL_AVERAGE && mode != ENG_POOL_BILINEAR)
        return eng_backend_fail(be, "pool2d: unknown mode %d", (int)mode);
    size_t total = (size_t)(B * Ho * Wo * C);
    EW_LAUNCH(k_pool2d, total, y, x, B, H, W, C, mode == ENG_POOL_AVERAGE, Ho, Wo);
}

extern "C" {
const eng_kernels eng_kernels_cuda = {
    .name = "cuda",
    .on_device = 1,
    .init = cu_init,
    .fini = cu_fini,
    .alloc = cu_alloc,
    .free = cu_free,
    .upload = cu_upload,
    .download = cu_download,
    .sync = cu_sync,
    .matmul = cu_matmul,
    .layernorm = cu_layernorm,
    .rmsnorm = cu_rmsnorm,
    .gelu_tanh = cu_gelu_tanh,
    .gelu_erf = cu_gelu_erf,
    .silu = cu_silu,
    .swiglu = cu_swiglu,
    .softmax = cu_softmax,
    .attention = cu_attention,
    .rope = cu_rope,
    .rope_sec = cu_rope_sec,
    .add = cu_add,
    .add_bcast = cu_add_bcast,
    .head_mean = cu_head_mean,
    .pool2d = cu_pool2d,
};
}
