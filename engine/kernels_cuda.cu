/* kernels_cuda.cu - the CUDA op table (eng_kernels_cuda): half-precision (fp16 / bf16) or fp32
 * activations and weight copies, float32 accumulation everywhere.
 *
 *   GEMMs        cuBLASLt matmul on tensor cores (CUBLAS_COMPUTE_32F with 16-bit A/B/D; fp32:
 *                plain fp32, no TF32), the bias in the epilogue, the residual of linear_add as
 *                C = D with beta = 1; one heuristic query per shape and alignment (cached); when
 *                cuBLASLt offers no algorithm, cublasGemmEx with the same types;
 *   attention    engine/kernels_cuda_attn.cu (fused FlashAttention-style kernel, row kernel);
 *   the rest     one kernel per op (norms one block per row, RoPE one thread per rotated pair over
 *                all heads, elementwise grid-stride), all reading T and computing in float.
 * Weights arrive in their stored dtype (kernels.h eng_wdesc) and are converted once, on the device,
 * into the compute type; an fp16 conversion that would overflow is refused with a message. Biases
 * are float32 vectors in the op table's contract; the epilogue wants them in the output type, so
 * each bias gets a converted copy on first use, keyed by its pointer and dropped when the float32
 * buffer is freed or uploaded again.
 *
 * Everything is queued on one non-blocking stream of the backend; downloads synchronise it (the
 * host needs the data); uploads from pageable memory return once the source has been staged, so
 * the caller may reuse it. Ticks are CUDA events on that stream. Every CUDA / cuBLAS call goes
 * through CUDA_CHECK / CUBLAS_CHECK (statement, file, line into be->err) and every launch is
 * followed by a cudaGetLastError() check. Judged against kernels_ref.c, in the same numerics, by
 * tests/test_ops.c (-b cuda), and timed by the kernel lab (tests/kernels/).
 *
 * Row-major <-> column-major (every GEMM below): a row-major matrix A[r, c] with leading dimension
 * ld is the column-major matrix A^T[c, r] with the same ld. So Y[n, m] = X[n, k] . W[m, k]^T is,
 * column-major, Y^T[m, n] = op(W)[m, k] . X^T[k, n] with W stored column-major [k, m] (ld k) and
 * opA = transpose: cuBLAS(m, n, k, A = W (ld k, T), B = X (ld k, N), C = D = Y (ld m)).
 *
 * Environment: TB_CUDA_ATTN=rows runs every attention call on the row kernel (the fallback).
 */
#include <cublasLt.h>
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
#include "engine/kernels_cuda_internal.h"

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

/* ---- state ------------------------------------------------------------------------------------ */

#define LT_CACHE 128      /* GEMM shapes with a remembered algorithm */
#define N_EVENTS 64       /* tick ring */
#define LT_WORKSPACE ((size_t)32 << 20)
#define WEIGHT_STAGE ((size_t)64 << 20) /* bytes of stored weight moved per conversion step */

typedef struct {
    int used;
    int64_t n, k, m;
    int dt, bias, acc;
    unsigned al_a, al_b, al_c, al_bias;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
    int has_algo; /* 0: cuBLASLt found none: cublasGemmEx */
} lt_entry;

typedef struct {
    const float *src; /* the float32 bias buffer (key) */
    void *dev;        /* its copy in the compute type */
    int64_t n;
} bias_entry;

typedef struct {
    int dt;               /* activation type: 0 float, 1 __half, 2 __nv_bfloat16 */
    cudaStream_t st;
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    void *ws;             /* cuBLASLt workspace */
    lt_entry cache[LT_CACHE];
    int cache_next;
    bias_entry *biases;
    int n_bias, cap_bias;
    float *stage;         /* device float staging for activation up/downloads */
    size_t stage_n;
    void *wstage;         /* device staging for stored weights (WEIGHT_STAGE bytes once allocated) */
    size_t wstage_n;
    int *counter;         /* device: values an fp16 conversion could not hold */
    int64_t *pos_dev;     /* rope positions on the device, and the host copy they came from */
    int64_t *pos_host;
    size_t pos_n, pos_cap;
    float *inv_freq;      /* rope: theta^(-2i/Dh) for the current (theta, Dh), computed on the host */
    float inv_theta;
    int64_t inv_dh;
    int64_t *pos_sec;     /* rope_sec: the position rows of the last call [n_sec][n_tok], and the */
    int64_t *pos_sec_host; /* host copy they came from (pos_sec_n values) */
    size_t pos_sec_cap, pos_sec_n, pos_sec_host_cap;
    float *sec_inv;       /* rope_sec: per pair, its section's inverse frequency [Dh/2] */
    int *sec_of;          /* rope_sec: per pair, its section [Dh/2] */
    size_t sec_cap;
    eng_rope_sec sec_key; /* the sections and Dh the tables hold (sec_dh 0: none) */
    int64_t sec_dh;
    cudaEvent_t ev[N_EVENTS];
    int ev_next;
    tb_attn_kind attn_kind;
    const char *attn_used;
    char desc[320];
    char desc_out[400];   /* describe()'s line */
} cuda_impl;

static cuda_impl *impl_of(eng_backend *be) { return (cuda_impl *)be->impl; }

static int fits_int(int64_t v) { return v >= 0 && v <= 2147483647; }

static unsigned grid_for(size_t n, unsigned block) {
    size_t g = (n + block - 1) / block;
    if (g > 65535u * 16u) g = 65535u * 16u; /* grid-stride loops cover the rest */
    if (g == 0) g = 1;
    return (unsigned)g;
}

/* Grows a device buffer to at least n elements of size esz (contents not kept). */
static int ensure(eng_backend *be, void **buf, size_t *cap, size_t n, size_t esz) {
    if (*cap >= n && *buf) return 0;
    if (*buf) CUDA_CHECK(be, cudaFree(*buf));
    *buf = NULL;
    *cap = 0;
    CUDA_CHECK(be, cudaMalloc(buf, (n ? n : 1) * esz));
    *cap = n;
    return 0;
}

/* Largest power of two (<= 256) dividing the address: cuBLASLt's alignment preference. */
static unsigned align_of(const void *p) {
    uintptr_t a = (uintptr_t)p;
    unsigned al = 256;
    while (al > 1 && (a & (al - 1))) al >>= 1;
    return al;
}

static cudaDataType_t cuda_type(int dt) { return dt == 1 ? CUDA_R_16F : dt == 2 ? CUDA_R_16BF : CUDA_R_32F; }
static size_t type_size(int dt) { return dt == 0 ? 4 : 2; }

/* ---- kernels: conversion ---------------------------------------------------------------------- */

#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* Stored weight elements (raw little-endian bytes of sdt: 0 f32, 1 bf16, 2 f16, the eng_dtype
 * values) -> T; counts finite values that became infinite (the fp16 range). */
template <class T> __global__ static void k_convert_weight(T *dst, const void *src, int sdt, size_t n, int *overflow) {
    GRID_STRIDE(i, n) {
        float v;
        if (sdt == ENG_DT_F32) v = ((const float *)src)[i];
        else if (sdt == ENG_DT_BF16) v = __bfloat162float(((const __nv_bfloat16 *)src)[i]);
        else v = __half2float(((const __half *)src)[i]);
        T o = tb_from_f<T>(v);
        if (overflow && isfinite(v) && isinf(tb_to_f(o))) atomicAdd(overflow, 1);
        dst[i] = o;
    }
}

template <class T> __global__ static void k_from_float(T *dst, const float *src, size_t n) {
    GRID_STRIDE(i, n) { dst[i] = tb_from_f<T>(src[i]); }
}

template <class T> __global__ static void k_to_float(float *dst, const T *src, size_t n) {
    GRID_STRIDE(i, n) { dst[i] = tb_to_f(src[i]); }
}

/* y[i, :] (+)= b (float) for n rows of m; b NULL: zeros (or nothing with acc). */
template <class T> __global__ static void k_bias_rows(T *y, const float *b, int64_t n, int64_t m, int acc) {
    GRID_STRIDE(i, (size_t)(n * m)) {
        float v = b ? b[i % (size_t)m] : 0.0f;
        y[i] = tb_from_f<T>(acc ? tb_to_f(y[i]) + v : v);
    }
}


/* ---- lifecycle and memory ---------------------------------------------------------------------- */

static void cu_fini(eng_backend *be);

static int cu_init(eng_backend *be) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0)
        return eng_backend_fail(be, "no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "count 0");
    cudaDeviceProp prop;
    CUDA_CHECK(be, cudaGetDeviceProperties(&prop, 0));
    if (prop.major < 8)
        return eng_backend_fail(be, "%s is sm_%d%d: the CUDA backend needs sm_80 or newer (bf16 tensor cores, "
                                    "cp.async)", prop.name, prop.major, prop.minor);
    cuda_impl *im = (cuda_impl *)calloc(1, sizeof *im);
    if (!im) return eng_backend_fail(be, "out of memory");
    be->impl = im;
    im->dt = be->dtype == ENG_COMPUTE_FP16 ? 1 : be->dtype == ENG_COMPUTE_BF16 ? 2 : 0;
    const char *ak = getenv("TB_CUDA_ATTN");
    im->attn_kind = ak && strcmp(ak, "rows") == 0 ? TB_ATTN_ROWS : TB_ATTN_AUTO;
    im->attn_used = "none yet";
    CUDA_CHECK(be, cudaStreamCreateWithFlags(&im->st, cudaStreamNonBlocking));
    CUBLAS_CHECK(be, cublasCreate(&im->blas));
    CUBLAS_CHECK(be, cublasSetStream(im->blas, im->st));
    /* fp32 means fp32: no TF32 in the fallback GEMMs and matmul */
    CUBLAS_CHECK(be, cublasSetMathMode(im->blas, CUBLAS_DEFAULT_MATH));
    CUBLAS_CHECK(be, cublasLtCreate(&im->lt));
    CUDA_CHECK(be, cudaMalloc(&im->ws, LT_WORKSPACE));
    CUDA_CHECK(be, cudaMalloc((void **)&im->counter, sizeof(int)));
    for (int i = 0; i < N_EVENTS; i++) CUDA_CHECK(be, cudaEventCreate(&im->ev[i]));
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    snprintf(im->desc, sizeof im->desc, "%s (sm_%d%d, %d SMs, %.1f GiB), CUDA runtime %d, driver %d, cuBLASLt %zu, %s",
             prop.name, prop.major, prop.minor, prop.multiProcessorCount, (double)prop.totalGlobalMem / (1 << 30), rt,
             drv, cublasLtGetVersion(), eng_compute_dtype_name(be->dtype));
    return 0;
}

static void cu_fini(eng_backend *be) {
    cuda_impl *im = impl_of(be);
    if (!im) return;
    if (im->st) cudaStreamSynchronize(im->st);
    for (int i = 0; i < LT_CACHE; i++) {
        lt_entry *c = &im->cache[i];
        if (!c->used) continue;
        cublasLtMatmulDescDestroy(c->op);
        cublasLtMatrixLayoutDestroy(c->la);
        cublasLtMatrixLayoutDestroy(c->lb);
        cublasLtMatrixLayoutDestroy(c->lc);
    }
    for (int i = 0; i < im->n_bias; i++) cudaFree(im->biases[i].dev);
    free(im->biases);
    for (int i = 0; i < N_EVENTS; i++)
        if (im->ev[i]) cudaEventDestroy(im->ev[i]);
    if (im->lt) cublasLtDestroy(im->lt);
    if (im->blas) cublasDestroy(im->blas);
    cudaFree(im->ws);
    cudaFree(im->stage);
    cudaFree(im->wstage);
    cudaFree(im->counter);
    cudaFree(im->pos_dev);
    cudaFree(im->inv_freq);
    cudaFree(im->pos_sec);
    free(im->pos_sec_host);
    cudaFree(im->sec_inv);
    cudaFree(im->sec_of);
    free(im->pos_host);
    if (im->st) cudaStreamDestroy(im->st);
    free(im);
    be->impl = NULL;
}

static const char *cu_describe(eng_backend *be) {
    cuda_impl *im = impl_of(be);
    if (!im) return "cuda (not initialised)";
    snprintf(im->desc_out, sizeof im->desc_out, "%s, attention %s%s", im->desc,
             im->attn_kind == TB_ATTN_ROWS ? "rows (TB_CUDA_ATTN)" : "auto: ",
             im->attn_kind == TB_ATTN_ROWS ? "" : im->attn_used);
    return im->desc_out;
}

static void *dev_alloc(eng_backend *be, size_t bytes) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky-free allocation error */
        eng_backend_fail(be, "cudaMalloc(%zu bytes): %s", bytes, cudaGetErrorString(e));
        return NULL;
    }
    return p;
}

/* Drops the converted bias copy keyed by p, if any (its float32 source is going away or changing). */
static void bias_forget(cuda_impl *im, const void *p) {
    for (int i = 0; i < im->n_bias; i++)
        if (im->biases[i].src == p) {
            cudaFree(im->biases[i].dev);
            im->biases[i] = im->biases[--im->n_bias];
            return;
        }
}

static float *cu_alloc(eng_backend *be, size_t n) { return (float *)dev_alloc(be, n * sizeof(float)); }

static void cu_free(eng_backend *be, float *p) {
    if (!p) return;
    if (impl_of(be)) bias_forget(impl_of(be), p);
    cudaFree(p);
}

static int cu_upload(eng_backend *be, float *dst, const float *src, size_t n) {
    cuda_impl *im = impl_of(be);
    bias_forget(im, dst);
    if (n) CUDA_CHECK(be, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, im->st));
    return 0;
}

static int cu_download(eng_backend *be, float *dst, const float *src, size_t n) {
    cuda_impl *im = impl_of(be);
    if (!n) return 0;
    CUDA_CHECK(be, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, im->st));
    CUDA_CHECK(be, cudaStreamSynchronize(im->st));
    return 0;
}

static eng_act *cu_act_alloc(eng_backend *be, size_t n) { return (eng_act *)dev_alloc(be, n * be->act_size); }

static void cu_act_free(eng_backend *be, eng_act *p) {
    (void)be;
    if (p) cudaFree(p);
}

/* The float staging buffer of at least n floats. */
static float *stage(eng_backend *be, size_t n) {
    cuda_impl *im = impl_of(be);
    if (ensure(be, (void **)&im->stage, &im->stage_n, n, sizeof(float))) return NULL;
    return im->stage;
}

static int cu_act_upload(eng_backend *be, eng_act *dst, const float *src, size_t n) {
    cuda_impl *im = impl_of(be);
    if (!n) return 0;
    if (im->dt == 0) {
        CUDA_CHECK(be, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, im->st));
        return 0;
    }
    float *s = stage(be, n);
    if (!s) return -1;
    CUDA_CHECK(be, cudaMemcpyAsync(s, src, n * sizeof(float), cudaMemcpyHostToDevice, im->st));
    if (im->dt == 1) k_from_float<__half><<<grid_for(n, 256), 256, 0, im->st>>>((__half *)dst, s, n);
    else k_from_float<__nv_bfloat16><<<grid_for(n, 256), 256, 0, im->st>>>((__nv_bfloat16 *)dst, s, n);
    LAUNCH_CHECK(be);
    return 0;
}

static int cu_act_download(eng_backend *be, float *dst, const eng_act *src, size_t n) {
    cuda_impl *im = impl_of(be);
    if (!n) return 0;
    if (im->dt == 0) {
        CUDA_CHECK(be, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, im->st));
    } else {
        float *s = stage(be, n);
        if (!s) return -1;
        if (im->dt == 1) k_to_float<__half><<<grid_for(n, 256), 256, 0, im->st>>>(s, (const __half *)src, n);
        else k_to_float<__nv_bfloat16><<<grid_for(n, 256), 256, 0, im->st>>>(s, (const __nv_bfloat16 *)src, n);
        LAUNCH_CHECK(be);
        CUDA_CHECK(be, cudaMemcpyAsync(dst, s, n * sizeof(float), cudaMemcpyDeviceToHost, im->st));
    }
    CUDA_CHECK(be, cudaStreamSynchronize(im->st));
    return 0;
}

static int cu_sync(eng_backend *be) {
    CUDA_CHECK(be, cudaStreamSynchronize(impl_of(be)->st));
    CUDA_CHECK(be, cudaGetLastError());
    return 0;
}

static int cu_tick(eng_backend *be, eng_tick *t) {
    cuda_impl *im = impl_of(be);
    t->host_s = 0.0;
    t->slot = im->ev_next;
    im->ev_next = (im->ev_next + 1) % N_EVENTS;
    CUDA_CHECK(be, cudaEventRecord(im->ev[t->slot], im->st));
    return 0;
}

static int cu_tick_elapsed(eng_backend *be, const eng_tick *a, const eng_tick *b, double *seconds) {
    cuda_impl *im = impl_of(be);
    if (a->slot < 0 || b->slot < 0 || a->slot >= N_EVENTS || b->slot >= N_EVENTS)
        return eng_backend_fail(be, "tick_elapsed: not CUDA ticks");
    CUDA_CHECK(be, cudaEventSynchronize(im->ev[b->slot]));
    float ms = 0.0f;
    CUDA_CHECK(be, cudaEventElapsedTime(&ms, im->ev[a->slot], im->ev[b->slot]));
    *seconds = 1e-3 * (double)ms;
    return 0;
}

/* ---- weights ----------------------------------------------------------------------------------- */

static int cu_weight_init(eng_backend *be, eng_weight *w, const eng_wdesc *src) {
    cuda_impl *im = impl_of(be);
    memset(w, 0, sizeof *w);
    int rc = -1;
    void *dev = NULL;
    if (!src || !src->host || src->rows < 0 || src->cols < 0 ||
        (src->dtype != ENG_DT_F32 && src->dtype != ENG_DT_BF16 && src->dtype != ENG_DT_F16)) {
        eng_backend_fail(be, "weight_init: bad weight descriptor");
        goto out;
    }
    {
        const size_t n = (size_t)src->rows * (size_t)src->cols, ssz = eng_dtype_size(src->dtype);
        const size_t tsz = type_size(im->dt);
        if (!(dev = dev_alloc(be, n * tsz))) goto out;
        const int same = (im->dt == 0 && src->dtype == ENG_DT_F32) || (im->dt == 1 && src->dtype == ENG_DT_F16) ||
                         (im->dt == 2 && src->dtype == ENG_DT_BF16);
        if (same) {
            if (n && cudaMemcpyAsync(dev, src->host, n * ssz, cudaMemcpyHostToDevice, im->st) != cudaSuccess) {
                eng_backend_fail(be, "weight_init: upload of %zu bytes failed", n * ssz);
                goto out;
            }
        } else {
            if (ensure(be, &im->wstage, &im->wstage_n, WEIGHT_STAGE, 1)) goto out;
            int *ovf = im->dt == 1 ? im->counter : NULL;
            if (ovf && cudaMemsetAsync(ovf, 0, sizeof(int), im->st) != cudaSuccess) goto out_cuda;
            const size_t per = WEIGHT_STAGE / ssz;
            for (size_t o = 0; o < n; o += per) {
                size_t c = n - o < per ? n - o : per;
                if (cudaMemcpyAsync(im->wstage, (const char *)src->host + o * ssz, c * ssz, cudaMemcpyHostToDevice,
                                    im->st) != cudaSuccess)
                    goto out_cuda;
                char *d = (char *)dev + o * tsz;
                if (im->dt == 0) k_convert_weight<float><<<grid_for(c, 256), 256, 0, im->st>>>((float *)d, im->wstage, src->dtype, c, ovf);
                else if (im->dt == 1) k_convert_weight<__half><<<grid_for(c, 256), 256, 0, im->st>>>((__half *)d, im->wstage, src->dtype, c, ovf);
                else k_convert_weight<__nv_bfloat16><<<grid_for(c, 256), 256, 0, im->st>>>((__nv_bfloat16 *)d, im->wstage, src->dtype, c, ovf);
                if (cudaGetLastError() != cudaSuccess) goto out_cuda;
            }
            if (ovf) {
                int bad = 0;
                if (cudaMemcpyAsync(&bad, ovf, sizeof bad, cudaMemcpyDeviceToHost, im->st) != cudaSuccess ||
                    cudaStreamSynchronize(im->st) != cudaSuccess)
                    goto out_cuda;
                if (bad) {
                    eng_backend_fail(be, "weight_init: %d values beyond the fp16 range: use --dtype bf16", bad);
                    goto out;
                }
            }
        }
        /* the stored bytes may go (an owned buffer) only once the copies have read them */
        if (cudaStreamSynchronize(im->st) != cudaSuccess) goto out_cuda;
        w->dtype = im->dt == 1 ? ENG_DT_F16 : im->dt == 2 ? ENG_DT_BF16 : ENG_DT_F32;
        w->rows = src->rows;
        w->cols = src->cols;
        w->data = dev;
        w->owned = dev;
        dev = NULL;
        rc = 0;
        goto out;
    }
out_cuda:
    eng_backend_fail(be, "weight_init: %s", cudaGetErrorString(cudaGetLastError()));
out:
    if (dev) cudaFree(dev);
    if (src && src->owned) free(src->owned);
    return rc;
}

static void cu_weight_free(eng_backend *be, eng_weight *w) {
    (void)be;
    if (!w) return;
    if (w->owned) cudaFree(w->owned);
    memset(w, 0, sizeof *w);
}

/* ---- GEMMs ------------------------------------------------------------------------------------- */

/* y[n, m] (+)= b on the activation type (b NULL: zeros, or nothing with acc). */
static int bias_rows(eng_backend *be, void *y, const float *b, int64_t n, int64_t m, int acc) {
    cuda_impl *im = impl_of(be);
    unsigned g = grid_for((size_t)(n * m), 256);
    if (im->dt == 0) k_bias_rows<float><<<g, 256, 0, im->st>>>((float *)y, b, n, m, acc);
    else if (im->dt == 1) k_bias_rows<__half><<<g, 256, 0, im->st>>>((__half *)y, b, n, m, acc);
    else k_bias_rows<__nv_bfloat16><<<g, 256, 0, im->st>>>((__nv_bfloat16 *)y, b, n, m, acc);
    LAUNCH_CHECK(be);
    return 0;
}

/* The bias in the compute type (the epilogue's), converted once per float32 buffer. */
static const void *bias_dev(eng_backend *be, const float *b, int64_t n) {
    cuda_impl *im = impl_of(be);
    if (im->dt == 0) return b;
    for (int i = 0; i < im->n_bias; i++)
        if (im->biases[i].src == b && im->biases[i].n == n) return im->biases[i].dev;
    if (im->n_bias == im->cap_bias) {
        int cap = im->cap_bias ? 2 * im->cap_bias : 256;
        bias_entry *nb = (bias_entry *)realloc(im->biases, (size_t)cap * sizeof *nb);
        if (!nb) {
            eng_backend_fail(be, "out of memory for the bias table");
            return NULL;
        }
        im->biases = nb;
        im->cap_bias = cap;
    }
    void *d = dev_alloc(be, (size_t)n * 2);
    if (!d) return NULL;
    if (im->dt == 1) k_from_float<__half><<<grid_for((size_t)n, 256), 256, 0, im->st>>>((__half *)d, b, (size_t)n);
    else k_from_float<__nv_bfloat16><<<grid_for((size_t)n, 256), 256, 0, im->st>>>((__nv_bfloat16 *)d, b, (size_t)n);
    if (cudaGetLastError() != cudaSuccess) {
        cudaFree(d);
        eng_backend_fail(be, "bias conversion failed");
        return NULL;
    }
    im->biases[im->n_bias++] = (bias_entry){b, d, n};
    return d;
}

/* The cached cuBLASLt plan of a shape (descriptors and the heuristic's first algorithm). */
static lt_entry *lt_plan(eng_backend *be, int64_t n, int64_t k, int64_t m, int bias, int acc, const void *A,
                         const void *B, const void *C, const void *bp) {
    cuda_impl *im = impl_of(be);
    unsigned al_a = align_of(A), al_b = align_of(B), al_c = align_of(C), al_bias = bp ? align_of(bp) : 256;
    for (int i = 0; i < LT_CACHE; i++) {
        lt_entry *c = &im->cache[i];
        if (c->used && c->n == n && c->k == k && c->m == m && c->dt == im->dt && c->bias == bias && c->acc == acc &&
            c->al_a == al_a && c->al_b == al_b && c->al_c == al_c && c->al_bias == al_bias)
            return c;
    }
    lt_entry *c = &im->cache[im->cache_next];
    im->cache_next = (im->cache_next + 1) % LT_CACHE;
    if (c->used) {
        cublasLtMatmulDescDestroy(c->op);
        cublasLtMatrixLayoutDestroy(c->la);
        cublasLtMatrixLayoutDestroy(c->lb);
        cublasLtMatrixLayoutDestroy(c->lc);
    }
    memset(c, 0, sizeof *c);
    cudaDataType_t t = cuda_type(im->dt);
    cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
    cublasLtEpilogue_t epi = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    if (cublasLtMatmulDescCreate(&c->op, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulDescSetAttribute(c->op, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulDescSetAttribute(c->op, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulDescSetAttribute(c->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&c->la, t, (uint64_t)k, (uint64_t)m, k) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&c->lb, t, (uint64_t)k, (uint64_t)n, k) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&c->lc, t, (uint64_t)m, (uint64_t)n, m) != CUBLAS_STATUS_SUCCESS) {
        eng_backend_fail(be, "cuBLASLt: descriptor creation failed for %lldx%lldx%lld", (long long)n, (long long)k,
                         (long long)m);
        return NULL;
    }
    c->used = 1;
    c->n = n, c->k = k, c->m = m, c->dt = im->dt, c->bias = bias, c->acc = acc;
    c->al_a = al_a, c->al_b = al_b, c->al_c = al_c, c->al_bias = al_bias;
    if (bias)
        cublasLtMatmulDescSetAttribute(c->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp);
    cublasLtMatmulPreference_t pref;
    if (cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS) return c; /* has_algo 0: GemmEx */
    size_t ws = LT_WORKSPACE;
    uint32_t a32 = al_a, b32 = al_b, c32 = al_c;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &a32, sizeof a32);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &b32, sizeof b32);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &c32, sizeof c32);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &c32, sizeof c32);
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    if (cublasLtMatmulAlgoGetHeuristic(im->lt, c->op, c->la, c->lb, c->lc, c->lc, pref, 1, &res, &found) ==
            CUBLAS_STATUS_SUCCESS &&
        found > 0 && res.state == CUBLAS_STATUS_SUCCESS) {
        c->algo = res.algo;
        c->has_algo = 1;
    }
    cublasLtMatmulPreferenceDestroy(pref);
    return c;
}

/* y[n, m] (+)= x[n, k] . W[m, k]^T + b, all in the compute type (W: a weight copy, or an
 * activation buffer for matmul-like uses). */
static int gemm(eng_backend *be, void *y, const void *x, const void *W, const float *b, int64_t n, int64_t k,
                int64_t m, int acc) {
    cuda_impl *im = impl_of(be);
    if (!fits_int(n) || !fits_int(k) || !fits_int(m))
        return eng_backend_fail(be, "linear: shape %lldx%lldx%lld exceeds the cuBLAS int range", (long long)n,
                                (long long)k, (long long)m);
    if (n == 0 || m == 0) return 0;
    if (k == 0) return bias_rows(be, y, b, n, m, acc); /* an empty product: the bias alone */
    const void *bp = b ? bias_dev(be, b, m) : NULL;
    if (b && !bp) return -1;
    lt_entry *c = lt_plan(be, n, k, m, b != NULL, acc, W, x, y, bp);
    if (!c) return -1;
    const float one = 1.0f, beta = acc ? 1.0f : 0.0f;
    if (c->has_algo) {
        if (b) CUBLAS_CHECK(be, cublasLtMatmulDescSetAttribute(c->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp));
        /* C = D = y: in place, the residual of linear_add read before it is overwritten */
        CUBLAS_CHECK(be, cublasLtMatmul(im->lt, c->op, &one, W, c->la, x, c->lb, &beta, y, c->lc, y, c->lc, &c->algo,
                                        im->ws, LT_WORKSPACE, im->st));
        return 0;
    }
    /* no cuBLASLt algorithm for this shape / alignment: cublasGemmEx, the bias added first */
    float gbeta = beta;
    if (b) {
        if (bias_rows(be, y, b, n, m, acc)) return -1;
        gbeta = 1.0f;
    }
    cudaDataType_t t = cuda_type(im->dt);
    CUBLAS_CHECK(be, cublasGemmEx(im->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)n, (int)k, &one, W, t, (int)k, x, t,
                                  (int)k, &gbeta, y, t, (int)m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

static int cu_linear(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b, int64_t n) {
    cuda_impl *im = impl_of(be);
    int want = im->dt == 1 ? ENG_DT_F16 : im->dt == 2 ? ENG_DT_BF16 : ENG_DT_F32;
    if ((int)w->dtype != want) return eng_backend_fail(be, "linear: weight not placed by this backend");
    return gemm(be, y, x, w->data, b, n, w->cols, w->rows, 0);
}

static int cu_linear_add(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b,
                         int64_t n) {
    cuda_impl *im = impl_of(be);
    int want = im->dt == 1 ? ENG_DT_F16 : im->dt == 2 ? ENG_DT_BF16 : ENG_DT_F32;
    if ((int)w->dtype != want) return eng_backend_fail(be, "linear_add: weight not placed by this backend");
    return gemm(be, y, x, w->data, b, n, w->cols, w->rows, 1);
}

__global__ static void k_fill_rows(float *y, const float *b, int64_t n, int64_t m) {
    GRID_STRIDE(i, (size_t)(n * m)) { y[i] = b ? b[i % (size_t)m] : 0.0f; }
}

/* float32 buffers (the plan's similarities): plain fp32 sgemm, no TF32. */
static int cu_matmul(eng_backend *be, float *y, const float *x, const float *w, const float *b, int64_t n, int64_t k,
                     int64_t m) {
    cuda_impl *im = impl_of(be);
    if (!fits_int(n) || !fits_int(k) || !fits_int(m))
        return eng_backend_fail(be, "matmul: shape %lldx%lldx%lld exceeds the cuBLAS int range", (long long)n,
                                (long long)k, (long long)m);
    if (n == 0 || m == 0) return 0;
    if (b || k == 0) {
        k_fill_rows<<<grid_for((size_t)(n * m), 256), 256, 0, im->st>>>(y, b, n, m);
        LAUNCH_CHECK(be);
    }
    if (k == 0) return 0;
    const float one = 1.0f, beta = b ? 1.0f : 0.0f;
    CUBLAS_CHECK(be, cublasSgemm(im->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)n, (int)k, &one, w, (int)k, x, (int)k,
                                 &beta, y, (int)m));
    return 0;
}

/* ---- norms ------------------------------------------------------------------------------------ */

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

/* One block per row; two-pass mean / variance in float; y may equal x (every element is read by
 * the thread that writes it, after both reductions). */
template <class T>
__global__ static void k_layernorm(T *y, const T *x, const float *g, const float *b, int64_t d, float eps) {
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * d;
    T *yr = y + blockIdx.x * d;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += tb_to_f(xr[j]);
    const float mean = block_sum(s, sh) / (float)d;
    float v = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
        float t = tb_to_f(xr[j]) - mean;
        v += t * t;
    }
    const float inv = rsqrtf(block_sum(v, sh) / (float)d + eps);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
        yr[j] = tb_from_f<T>((tb_to_f(xr[j]) - mean) * inv * g[j] + (b ? b[j] : 0.0f));
}

template <class T> __global__ static void k_rmsnorm(T *y, const T *x, const float *g, int64_t d, float eps) {
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * d;
    T *yr = y + blockIdx.x * d;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
        float t = tb_to_f(xr[j]);
        s += t * t;
    }
    const float inv = rsqrtf(block_sum(s, sh) / (float)d + eps);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = tb_from_f<T>(tb_to_f(xr[j]) * inv * g[j]);
}

static int rows_ok(eng_backend *be, int64_t n, const char *op) {
    if (n > 2147483647) return eng_backend_fail(be, "%s: %lld rows exceed the grid limit", op, (long long)n);
    return 0;
}

static int cu_layernorm(eng_backend *be, eng_act *y, const eng_act *x, const float *g, const float *b, int64_t n,
                        int64_t d, float eps) {
    cuda_impl *im = impl_of(be);
    if (n == 0) return 0;
    if (rows_ok(be, n, "layernorm")) return -1;
    if (im->dt == 0) k_layernorm<float><<<(unsigned)n, ROW_BLOCK, 0, im->st>>>((float *)y, (const float *)x, g, b, d, eps);
    else if (im->dt == 1) k_layernorm<__half><<<(unsigned)n, ROW_BLOCK, 0, im->st>>>((__half *)y, (const __half *)x, g, b, d, eps);
    else k_layernorm<__nv_bfloat16><<<(unsigned)n, ROW_BLOCK, 0, im->st>>>((__nv_bfloat16 *)y, (const __nv_bfloat16 *)x, g, b, d, eps);
    LAUNCH_CHECK(be);
    return 0;
}

static int cu_rmsnorm(eng_backend *be, eng_act *y, const eng_act *x, const float *g, int64_t n, int64_t d, float eps) {
    cuda_impl *im = impl_of(be);
    if (n == 0) return 0;
    if (rows_ok(be, n, "rmsnorm")) return -1;
    if (im->dt == 0) k_rmsnorm<float><<<(unsigned)n, ROW_BLOCK, 0, im->st>>>((float *)y, (const float *)x, g, d, eps);
    else if (im->dt == 1) k_rmsnorm<__half><<<(unsigned)n, ROW_BLOCK, 0, im->st>>>((__half *)y, (const __half *)x, g, d, eps);
    else k_rmsnorm<__nv_bfloat16><<<(unsigned)n, ROW_BLOCK, 0, im->st>>>((__nv_bfloat16 *)y, (const __nv_bfloat16 *)x, g, d, eps);
    LAUNCH_CHECK(be);
    return 0;
}

/* ---- elementwise ------------------------------------------------------------------------------ */

template <class T> __global__ static void k_gelu_tanh(T *y, const T *x, size_t n) {
    GRID_STRIDE(i, n) {
        float v = tb_to_f(x[i]);
        /* 0.5 v (1 + tanh z) = v / (1 + exp(-2z)): no cancellation for very negative v */
        y[i] = tb_from_f<T>(v / (1.0f + expf(-2.0f * 0.7978845608028654f * (v + 0.044715f * v * v * v))));
    }
}
template <class T> __global__ static void k_gelu_erf(T *y, const T *x, size_t n) {
    GRID_STRIDE(i, n) {
        float v = tb_to_f(x[i]);
        y[i] = tb_from_f<T>(0.5f * v * erfcf(-v * 0.70710678118654752f));
    }
}
template <class T> __global__ static void k_silu(T *y, const T *x, size_t n) {
    GRID_STRIDE(i, n) {
        float v = tb_to_f(x[i]);
        y[i] = tb_from_f<T>(v / (1.0f + expf(-v)));
    }
}
template <class T> __global__ static void k_swiglu(T *y, const T *g, const T *u, size_t n) {
    GRID_STRIDE(i, n) {
        float v = tb_to_f(g[i]);
        y[i] = tb_from_f<T>(v / (1.0f + expf(-v)) * tb_to_f(u[i]));
    }
}
template <class T> __global__ static void k_add(T *y, const T *a, const T *b, size_t n) {
    GRID_STRIDE(i, n) { y[i] = tb_from_f<T>(tb_to_f(a[i]) + tb_to_f(b[i])); }
}
template <class T> __global__ static void k_add_bcast(T *y, const T *a, const float *b, size_t total, int64_t n) {
    GRID_STRIDE(i, total) { y[i] = tb_from_f<T>(tb_to_f(a[i]) + b[i % (size_t)n]); }
}

/* Launches a unary / binary elementwise kernel on the activation type. */
#define EW(kernel, n, ...)                                                                                         \
    do {                                                                                                           \
        cuda_impl *im = impl_of(be);                                                                               \
        if ((n) == 0) return 0;                                                                                    \
        if (im->dt == 0) kernel<float><<<grid_for((n), 256), 256, 0, im->st>>>(__VA_ARGS__(float));                \
        else if (im->dt == 1) kernel<__half><<<grid_for((n), 256), 256, 0, im->st>>>(__VA_ARGS__(__half));        \
        else kernel<__nv_bfloat16><<<grid_for((n), 256), 256, 0, im->st>>>(__VA_ARGS__(__nv_bfloat16));           \
        LAUNCH_CHECK(be);                                                                                          \
        return 0;                                                                                                  \
    } while (0)

/* argument lists per type T (a macro taking T so that EW can cast the opaque buffers) */
#define ARGS_YX(T) (T *)y, (const T *)x, n
#define ARGS_YGU(T) (T *)y, (const T *)g, (const T *)u, n
#define ARGS_YAB(T) (T *)y, (const T *)a, (const T *)b, n
#define ARGS_BCAST(T) (T *)y, (const T *)a, b, total, n

static int cu_gelu_tanh(eng_backend *be, eng_act *y, const eng_act *x, size_t n) { EW(k_gelu_tanh, n, ARGS_YX); }
static int cu_gelu_erf(eng_backend *be, eng_act *y, const eng_act *x, size_t n) { EW(k_gelu_erf, n, ARGS_YX); }
static int cu_silu(eng_backend *be, eng_act *y, const eng_act *x, size_t n) { EW(k_silu, n, ARGS_YX); }
static int cu_swiglu(eng_backend *be, eng_act *y, const eng_act *g, const eng_act *u, size_t n) {
    EW(k_swiglu, n, ARGS_YGU);
}
static int cu_add(eng_backend *be, eng_act *y, const eng_act *a, const eng_act *b, size_t n) { EW(k_add, n, ARGS_YAB); }
static int cu_add_bcast(eng_backend *be, eng_act *y, const eng_act *a, const float *b, int64_t rows, int64_t n) {
    size_t total = (size_t)(rows * n);
    EW(k_add_bcast, total, ARGS_BCAST);
}

/* ---- softmax ----------------------------------------------------------------------------------- */

template <class T> __global__ static void k_softmax(T *y, const T *x, int64_t cols) {
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * cols;
    T *yr = y + blockIdx.x * cols;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, tb_to_f(xr[j]));
    mx = block_max(mx, sh);
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += expf(tb_to_f(xr[j]) - mx);
    const float inv = 1.0f / block_sum(s, sh);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = tb_from_f<T>(expf(tb_to_f(xr[j]) - mx) * inv);
}

static int cu_softmax(eng_backend *be, eng_act *y, const eng_act *x, int64_t rows, int64_t cols) {
    cuda_impl *im = impl_of(be);
    if (rows == 0 || cols == 0) return 0;
    if (rows_ok(be, rows, "softmax")) return -1;
    if (im->dt == 0) k_softmax<float><<<(unsigned)rows, ROW_BLOCK, 0, im->st>>>((float *)y, (const float *)x, cols);
    else if (im->dt == 1) k_softmax<__half><<<(unsigned)rows, ROW_BLOCK, 0, im->st>>>((__half *)y, (const __half *)x, cols);
    else k_softmax<__nv_bfloat16><<<(unsigned)rows, ROW_BLOCK, 0, im->st>>>((__nv_bfloat16 *)y, (const __nv_bfloat16 *)x, cols);
    LAUNCH_CHECK(be);
    return 0;
}

/* ---- attention --------------------------------------------------------------------------------- */

static int cu_attention(eng_backend *be, eng_act *out, const eng_act *q, const eng_act *k, const eng_act *v,
                        const eng_attn_desc *d, float *probs, float *recv) {
    cuda_impl *im = impl_of(be);
    int64_t B = d->n_batch, nq = d->n_q, nkv = d->n_kv, H = d->n_head, Hkv = d->n_head_kv, Dh = d->head_dim;
    if (H <= 0 || Hkv <= 0 || H % Hkv != 0 || Dh <= 0 || nq < 0 || nkv <= 0 || B < 0 || (d->causal && nq > nkv))
        return eng_backend_fail(be, "attention: bad shape (H %lld, Hkv %lld, Dh %lld, n_q %lld, n_kv %lld)",
                                (long long)H, (long long)Hkv, (long long)Dh, (long long)nq, (long long)nkv);
    if (Dh > 256 || H > 65535 || B > 65535 || nq > 2147483647)
        return eng_backend_fail(be, "attention: head_dim %lld, %lld heads or %lld batches beyond the kernels' limits",
                                (long long)Dh, (long long)H, (long long)B);
    tb_attn_args a;
    memset(&a, 0, sizeof a);
    a.q = q, a.k = k, a.v = v, a.out = out;
    a.ldq = d->ld_q ? d->ld_q : H * Dh;
    a.ldk = d->ld_k ? d->ld_k : Hkv * Dh;
    a.ldv = d->ld_v ? d->ld_v : Hkv * Dh;
    a.ldo = d->ld_out ? d->ld_out : H * Dh;
    a.n_batch = B, a.n_q = nq, a.n_kv = nkv;
    a.n_head = (int)H, a.n_head_kv = (int)Hkv, a.head_dim = (int)Dh;
    a.causal = d->causal;
    a.scale = d->scale != 0.0f ? d->scale : (float)(1.0 / sqrt((double)Dh));
    a.probs = probs;
    a.recv = recv;
    if (recv) CUDA_CHECK(be, cudaMemsetAsync(recv, 0, (size_t)(B * nkv) * sizeof(float), im->st)); /* kernels add */
    const char *used = NULL;
    CUDA_CHECK(be, tb_cuda_attention(&a, im->dt, im->attn_kind, im->st, &used));
    if (used && nq >= 16) im->attn_used = used; /* the kernel of the bulk calls, for describe */
    return 0;
}

/* ---- rope, head_mean, pool2d -------------------------------------------------------------------- */

/* One thread per (token, pair): the float32 angle of eng_rope_angle (pos * inv[i], inv computed on
 * the host exactly as there), cos / sin in double as the reference, applied to every head. */
template <class T>
__global__ static void k_rope(T *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t hd, const int64_t *pos,
                              const float *inv) {
    const int64_t half = hd / 2;
    GRID_STRIDE(idx, (size_t)(n_tok * half)) {
        const int64_t t = (int64_t)idx / half, i = (int64_t)idx % half;
        const float a = (float)pos[t] * inv[i];
        const float c = (float)cos((double)a), s = (float)sin((double)a);
        for (int64_t h = 0; h < n_head; h++) {
            T *xh = x + t * ld + h * hd;
            const float x0 = tb_to_f(xh[i]), x1 = tb_to_f(xh[i + half]);
            xh[i] = tb_from_f<T>(x0 * c - x1 * s);
            xh[i + half] = tb_from_f<T>(x1 * c + x0 * s);
        }
    }
}

/* eng_rope_angle's inverse frequency: (float)(1 / (double)powf(theta, (float)(2i) / Dh)). */
static float rope_inv(int64_t i, int64_t hd, float theta) {
    float e = (float)(2 * i) / (float)hd;
    return (float)(1.0 / (double)powf(theta, e));
}

static int cu_rope(eng_backend *be, eng_act *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                   const int64_t *pos, float theta) {
    cuda_impl *im = impl_of(be);
    if (head_dim % 2) return eng_backend_fail(be, "rope: head_dim %lld is odd", (long long)head_dim);
    if (n_tok == 0) return 0;
    /* the frequency table once per (theta, Dh); checked against eng_rope_angle by rope's op test */
    if (!im->inv_freq || im->inv_theta != theta || im->inv_dh != head_dim) {
        float *h = (float *)malloc((size_t)(head_dim / 2) * sizeof *h);
        if (!h) return eng_backend_fail(be, "rope: out of memory");
        for (int64_t i = 0; i < head_dim / 2; i++) h[i] = rope_inv(i, head_dim, theta);
        cudaFree(im->inv_freq);
        im->inv_freq = NULL;
        cudaError_t e = cudaMalloc((void **)&im->inv_freq, (size_t)(head_dim / 2 + 1) * sizeof(float));
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(im->inv_freq, h, (size_t)(head_dim / 2) * sizeof(float), cudaMemcpyHostToDevice, im->st);
        free(h);
        if (e != cudaSuccess) {
            im->inv_freq = NULL;
            return eng_backend_fail(be, "rope: %s", cudaGetErrorString(e));
        }
        im->inv_theta = theta;
        im->inv_dh = head_dim;
    }
    /* positions: uploaded when they differ from the last ones (a prefill's ropes share them) */
    if (im->pos_n != (size_t)n_tok || memcmp(im->pos_host, pos, (size_t)n_tok * sizeof *pos) != 0) {
        if (im->pos_cap < (size_t)n_tok) {
            int64_t *nh = (int64_t *)realloc(im->pos_host, (size_t)n_tok * sizeof *nh);
            if (!nh) return eng_backend_fail(be, "rope: out of memory");
            im->pos_host = nh;
            size_t cap = 0;
            im->pos_cap = 0;
            cudaFree(im->pos_dev);
            im->pos_dev = NULL;
            if (ensure(be, (void **)&im->pos_dev, &cap, (size_t)n_tok, sizeof(int64_t))) return -1;
            im->pos_cap = (size_t)n_tok;
        }
        memcpy(im->pos_host, pos, (size_t)n_tok * sizeof *pos);
        im->pos_n = (size_t)n_tok;
        /* pageable source: returns once staged, so pos_host may change afterwards */
        CUDA_CHECK(be, cudaMemcpyAsync(im->pos_dev, im->pos_host, (size_t)n_tok * sizeof(int64_t),
                                       cudaMemcpyHostToDevice, im->st));
    }
    size_t n = (size_t)(n_tok * head_dim / 2);
    unsigned g = grid_for(n, 256);
    if (im->dt == 0) k_rope<float><<<g, 256, 0, im->st>>>((float *)x, ld, n_tok, n_head, head_dim, im->pos_dev, im->inv_freq);
    else if (im->dt == 1) k_rope<__half><<<g, 256, 0, im->st>>>((__half *)x, ld, n_tok, n_head, head_dim, im->pos_dev, im->inv_freq);
    else k_rope<__nv_bfloat16><<<g, 256, 0, im->st>>>((__nv_bfloat16 *)x, ld, n_tok, n_head, head_dim, im->pos_dev, im->inv_freq);
    LAUNCH_CHECK(be);
    return 0;
}

/* Sectioned rope (M-RoPE, 2-D ViT rope): pair i turns by pos[sec_of[i]][t] * inv[i], the section
 * and frequency of each pair resolved on the host (eng_rope_sec_pair, eng_rope_angle's inverse
 * frequency); cos / sin in double as the reference. */
template <class T>
__global__ static void k_rope_sec(T *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t hd, const int64_t *pos,
                                  const int *sec_of, const float *inv) {
    const int64_t half = hd / 2;
    GRID_STRIDE(idx, (size_t)(n_tok * half)) {
        const int64_t t = (int64_t)idx / half, i = (int64_t)idx % half;
        const float a = (float)pos[(int64_t)sec_of[i] * n_tok + t] * inv[i];
        const float c = (float)cos((double)a), s = (float)sin((double)a);
        for (int64_t h = 0; h < n_head; h++) {
            T *xh = x + t * ld + h * hd;
            const float x0 = tb_to_f(xh[i]), x1 = tb_to_f(xh[i + half]);
            xh[i] = tb_from_f<T>(x0 * c - x1 * s);
            xh[i + half] = tb_from_f<T>(x1 * c + x0 * s);
        }
    }
}

static int same_sec(const eng_rope_sec *a, const eng_rope_sec *b) {
    if (a->n_sec != b->n_sec || a->restart != b->restart || a->freq_dim != b->freq_dim || a->theta != b->theta)
        return 0;
    for (int i = 0; i < ENG_ROPE_MAX_SEC; i++)
        if (a->pairs[i] != b->pairs[i]) return 0;
    return 1;
}

static int cu_rope_sec(eng_backend *be, eng_act *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                       const int64_t *pos, int64_t pos_ld, const eng_rope_sec *sec) {
    cuda_impl *im = impl_of(be);
    if (eng_rope_sec_check(be, head_dim, sec)) return -1;
    if (n_tok == 0) return 0;
    const int64_t half = head_dim / 2;
    /* Both tables and the positions are uploaded only when they differ from the last call's: an
     * upload from pageable memory waits for the stream, and a prefill makes 2 calls per layer
     * with the same positions. */
    if (im->sec_dh != head_dim || !same_sec(&im->sec_key, sec)) {
        float *hinv = (float *)malloc((size_t)half * sizeof *hinv);
        int *hsec = (int *)malloc((size_t)half * sizeof *hsec);
        if (!hinv || !hsec) {
            free(hinv);
            free(hsec);
            return eng_backend_fail(be, "rope_sec: out of memory");
        }
        for (int64_t i = 0; i < half; i++) {
            int64_t j;
            eng_rope_sec_pair(sec, i, &hsec[i], &j);
            hinv[i] = rope_inv(j, sec->freq_dim, sec->theta);
        }
        im->sec_dh = 0;
        cudaError_t e = cudaSuccess;
        if (im->sec_cap < (size_t)half) {
            cudaFree(im->sec_inv);
            cudaFree(im->sec_of);
            im->sec_inv = NULL;
            im->sec_of = NULL;
            im->sec_cap = 0;
            e = cudaMalloc((void **)&im->sec_inv, (size_t)half * sizeof(float));
            if (e == cudaSuccess) e = cudaMalloc((void **)&im->sec_of, (size_t)half * sizeof(int));
            if (e == cudaSuccess) im->sec_cap = (size_t)half;
        }
        /* pageable sources: the copies return once staged, so the host arrays may go */
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(im->sec_inv, hinv, (size_t)half * sizeof(float), cudaMemcpyHostToDevice, im->st);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(im->sec_of, hsec, (size_t)half * sizeof(int), cudaMemcpyHostToDevice, im->st);
        free(hinv);
        free(hsec);
        if (e != cudaSuccess) return eng_backend_fail(be, "rope_sec: %s", cudaGetErrorString(e));
        im->sec_key = *sec;
        im->sec_dh = head_dim;
    }
    size_t n = (size_t)sec->n_sec * (size_t)n_tok;
    int same = im->pos_sec_n == n;
    for (int s = 0; same && s < sec->n_sec; s++)
        same = memcmp(im->pos_sec_host + (size_t)s * (size_t)n_tok, pos + (size_t)s * (size_t)pos_ld,
                      (size_t)n_tok * sizeof *pos) == 0;
    if (!same) {
        if (im->pos_sec_host_cap < n) {
            int64_t *nh = (int64_t *)realloc(im->pos_sec_host, n * sizeof *nh);
            if (!nh) return eng_backend_fail(be, "rope_sec: out of memory");
            im->pos_sec_host = nh;
            im->pos_sec_host_cap = n;
        }
        im->pos_sec_n = 0;
        if (ensure(be, (void **)&im->pos_sec, &im->pos_sec_cap, n, sizeof(int64_t))) return -1;
        for (int s = 0; s < sec->n_sec; s++)
            memcpy(im->pos_sec_host + (size_t)s * (size_t)n_tok, pos + (size_t)s * (size_t)pos_ld,
                   (size_t)n_tok * sizeof *pos);
        CUDA_CHECK(be, cudaMemcpyAsync(im->pos_sec, im->pos_sec_host, n * sizeof(int64_t), cudaMemcpyHostToDevice,
                                       im->st));
        im->pos_sec_n = n;
    }
    unsigned g = grid_for((size_t)(n_tok * half), 256);
    if (im->dt == 0) k_rope_sec<float><<<g, 256, 0, im->st>>>((float *)x, ld, n_tok, n_head, head_dim, im->pos_sec, im->sec_of, im->sec_inv);
    else if (im->dt == 1) k_rope_sec<__half><<<g, 256, 0, im->st>>>((__half *)x, ld, n_tok, n_head, head_dim, im->pos_sec, im->sec_of, im->sec_inv);
    else k_rope_sec<__nv_bfloat16><<<g, 256, 0, im->st>>>((__nv_bfloat16 *)x, ld, n_tok, n_head, head_dim, im->pos_sec, im->sec_of, im->sec_inv);
    LAUNCH_CHECK(be);
    return 0;
}

template <class T>
__global__ static void k_head_mean(float *y, const T *x, int64_t ld, int64_t n, int64_t H, int64_t hd) {
    GRID_STRIDE(idx, (size_t)(n * hd)) {
        const int64_t i = (int64_t)idx / hd, j = (int64_t)idx % hd;
        float s = 0.0f;
        for (int64_t h = 0; h < H; h++) s += tb_to_f(x[i * ld + h * hd + j]);
        y[idx] = s * (1.0f / (float)H);
    }
}

static int cu_head_mean(eng_backend *be, float *y, const eng_act *x, int64_t ld_x, int64_t n, int64_t n_head,
                        int64_t head_dim) {
    size_t total = (size_t)(n * head_dim);
#define ARGS_HM(T) y, (const T *)x, ld_x, n, n_head, head_dim
    EW(k_head_mean, total, ARGS_HM);
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

template <class T>
__global__ static void k_pool2d(T *y, const T *x, int64_t B, int64_t H, int64_t W, int64_t C, int avg, int64_t Ho,
                                int64_t Wo) {
    GRID_STRIDE(idx, (size_t)(B * Ho * Wo * C)) {
        const int64_t c = (int64_t)idx % C, cell = (int64_t)idx / C;
        const int64_t ox = cell % Wo, oy = (cell / Wo) % Ho, b = cell / (Wo * Ho);
        const T *xb = x + b * H * W * C;
        float v;
        if (avg) {
            const T *p00 = xb + ((2 * oy) * W + 2 * ox) * C + c;
            v = ((tb_to_f(p00[0]) + tb_to_f(p00[C])) + (tb_to_f(p00[W * C]) + tb_to_f(p00[W * C + C]))) * 0.25f;
        } else {
            int64_t y0, y1, x0, x1;
            float hy0, hy1, wx0, wx1;
            bilinear_index(H, Ho, oy, &y0, &y1, &hy0, &hy1);
            bilinear_index(W, Wo, ox, &x0, &x1, &wx0, &wx1);
            v = hy0 * (wx0 * tb_to_f(xb[(y0 * W + x0) * C + c]) + wx1 * tb_to_f(xb[(y0 * W + x1) * C + c])) +
                hy1 * (wx0 * tb_to_f(xb[(y1 * W + x0) * C + c]) + wx1 * tb_to_f(xb[(y1 * W + x1) * C + c]));
        }
        y[idx] = tb_from_f<T>(v);
    }
}

static int cu_pool2d(eng_backend *be, eng_act *y, const eng_act *x, int64_t B, int64_t H, int64_t W, int64_t C,
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
    const int avg = mode == ENG_POOL_AVERAGE;
#define ARGS_POOL(T) (T *)y, (const T *)x, B, H, W, C, avg, Ho, Wo
    EW(k_pool2d, total, ARGS_POOL);
}

extern "C" {
const eng_kernels eng_kernels_cuda = {
    .name = "cuda",
    .on_device = 1,
    .dtypes = (1u << ENG_COMPUTE_FP32) | (1u << ENG_COMPUTE_FP16) | (1u << ENG_COMPUTE_BF16),
    .init = cu_init,
    .fini = cu_fini,
    .describe = cu_describe,
    .alloc = cu_alloc,
    .free = cu_free,
    .upload = cu_upload,
    .download = cu_download,
    .act_alloc = cu_act_alloc,
    .act_free = cu_act_free,
    .act_upload = cu_act_upload,
    .act_download = cu_act_download,
    .sync = cu_sync,
    .tick = cu_tick,
    .tick_elapsed = cu_tick_elapsed,
    .matmul = cu_matmul,
    .weight_init = cu_weight_init,
    .weight_free = cu_weight_free,
    .linear = cu_linear,
    .linear_add = cu_linear_add,
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
