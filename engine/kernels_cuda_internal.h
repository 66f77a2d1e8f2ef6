/* kernels_cuda_internal.h - engine-internal, CUDA C++ only: what the CUDA op table's translation
 * units (kernels_cuda.cu: memory, GEMMs, norms, elementwise; kernels_cuda_attn.cu: attention)
 * share, and what the kernel lab (tests/kernels/) includes to time and validate the very kernels
 * the engine runs (one source, no copies). Not for C code.
 *
 * Element types: the activation dtype of the backend is a template parameter T of every kernel:
 * __half (fp16), __nv_bfloat16 (bf16) or float (fp32). Arithmetic is float32 throughout (loads
 * convert to float, stores round to T); tensor-core products accumulate in float32. */
#ifndef TB_ENGINE_KERNELS_CUDA_INTERNAL_H
#define TB_ENGINE_KERNELS_CUDA_INTERNAL_H

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

/* ---- element conversion ---------------------------------------------------------------------- */

static __device__ __forceinline__ float tb_to_f(float x) { return x; }
static __device__ __forceinline__ float tb_to_f(__half x) { return __half2float(x); }
static __device__ __forceinline__ float tb_to_f(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T> static __device__ __forceinline__ T tb_from_f(float x);
template <> __device__ __forceinline__ float tb_from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __half tb_from_f<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 tb_from_f<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

/* ---- attention launch ---------------------------------------------------------------------- */

/* One attention call in element units (see eng_attn_desc in kernels.h; pointers are device memory
 * of element type T, already offset to the first row of batch 0). */
typedef struct {
    const void *q, *k, *v;
    void *out;
    int64_t ldq, ldk, ldv, ldo; /* elements between consecutive rows */
    int64_t n_batch, n_q, n_kv;
    int n_head, n_head_kv, head_dim;
    int causal;                 /* query i at position n_kv - n_q + i sees keys j <= it */
    float scale;                /* logit scale (already resolved: never 0 here) */
    float *probs;               /* [B, H, n_q, n_kv] or NULL (float32) */
    float *recv;                /* [B, n_kv] or NULL (float32); the kernels ADD into it: zero it first */
} tb_attn_args;

/* Which kernel tb_cuda_attention runs. */
typedef enum {
    TB_ATTN_AUTO = 0,   /* the fused tensor-core kernel where it applies, else the row kernel */
    TB_ATTN_ROWS = 1,   /* always the row kernel (the fallback, any shape, fp32 included) */
} tb_attn_kind;

/* Queues the attention of a on stream. dtype: 0 float, 1 __half, 2 __nv_bfloat16. Returns
 * cudaSuccess or the launch error; *used (optional) receives the kernel that ran ("flash-mma",
 * "rows"). The recv tap needs recv zeroed before the call (it accumulates). */
cudaError_t tb_cuda_attention(const tb_attn_args *a, int dtype, tb_attn_kind kind, cudaStream_t stream,
                              const char **used);

/* 1 when the fused tensor-core kernel handles a (shape, alignment, dtype, no probs tap). */
int tb_cuda_attention_fused_ok(const tb_attn_args *a, int dtype);

#endif
