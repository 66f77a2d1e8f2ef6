/* kernels.h - engine-internal: the op table every model computation goes through.
 *
 * One struct of function pointers (eng_kernels) with three instances:
 *   eng_kernels_ref   plain scalar C, IEEE, double accumulators where a sum is long; the oracle;
 *   eng_kernels_cpu   OpenBLAS sgemm for every GEMM (also inside attention), OpenMP elsewhere;
 *   eng_kernels_cuda  CUDA kernels + cuBLAS (engine/kernels_cuda.cu); a build without CUDA links
 *                     engine/kernels_cuda_stub.c, whose init fails with "not built with CUDA".
 * Model code (vision.c, later the Qwen2 LLM) calls be->k->op(be, ...) and never contains #ifdef.
 *
 * Memory: every tensor argument of an op is a buffer obtained from be->k->alloc (device memory
 * for CUDA, 64-byte aligned host memory for ref/cpu). Host data moves in and out only through
 * upload/download. Exceptions are named in the op's comment (rope's positions are host memory).
 *
 * Errors: ops return 0, or -1 with a one-line message in be->err (CUDA launch / cuBLAS errors,
 * out of memory, bad arguments). Host ops never fail on valid arguments except for scratch
 * allocation. Shapes are int64_t; buffers must hold exactly what the shape comment says.
 *
 * Dimension letters used below: n rows (tokens), k input features, m output features, d feature
 * size, B batch (frames / sequences), H heads, Hkv KV heads, Dh head dim.
 *
 * Deliberately absent: dtypes other than float32 (bf16/fp16 activations come with the GPU
 * precision modes), quantisation, graph building. New ops arrive with a case in tests/test_ops.c.
 */
#ifndef TB_ENGINE_KERNELS_H
#define TB_ENGINE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h" /* eng_pool_mode */
#include "engine/engine.h"

typedef struct eng_backend eng_backend;

/* Shape of one multi-head attention call. Rows are tokens, heads concatenated inside a row:
 * head h of token t of sequence b lives at q[(b*n_q + t)*ld_q + h*head_dim .. +head_dim). */
typedef struct {
    int64_t n_batch;   /* B independent sequences (frames), each with its own keys */
    int64_t n_q;       /* query rows per sequence */
    int64_t n_kv;      /* key/value rows per sequence */
    int64_t n_head;    /* H query heads */
    int64_t n_head_kv; /* Hkv key/value heads; H % Hkv == 0; query head h uses KV head h / (H/Hkv) */
    int64_t head_dim;  /* Dh */
    int64_t ld_q;      /* floats between consecutive query rows; 0 = H*Dh */
    int64_t ld_k;      /* floats between consecutive key rows; 0 = Hkv*Dh */
    int64_t ld_v;      /* floats between consecutive value rows; 0 = Hkv*Dh */
    int64_t ld_out;    /* floats between consecutive output rows; 0 = H*Dh */
    int causal;        /* 1: query i is at absolute position n_kv - n_q + i and sees keys j <= it */
    float scale;       /* logit scale; 0 means 1/sqrt(Dh) */
} eng_attn_desc;

/* Sections of a sectioned rotary embedding (op rope_sec): the M-RoPE of Qwen2.5-VL's LLM (three
 * position rows t, h, w; pairs 16 / 24 / 24 of Dh/2 = 64; frequency index running on) and the
 * 2-D RoPE of its ViT (rows h, w; 20 / 20 pairs of Dh/2 = 40, each section restarting the
 * frequency index over freq_dim = Dh/2). */
#define ENG_ROPE_MAX_SEC 4
typedef struct {
    int n_sec;                   /* position rows (1..ENG_ROPE_MAX_SEC) */
    int pairs[ENG_ROPE_MAX_SEC]; /* frequency pairs per section; their sum is Dh/2 */
    int restart;                 /* 0: pair i has frequency index j = i; 1: j = i - first pair of
                                    its section */
    int freq_dim;                /* inv_j = 1 / theta^(2j / freq_dim) (float32, as transformers) */
    float theta;
} eng_rope_sec;

typedef struct eng_kernels {
    const char *name; /* "ref", "cpu", "cuda" */
    int on_device;    /* 1: buffers are device memory (upload/download copy across) */

    /* Backend state: init creates be->impl (cuBLAS handle, scratch), fini releases it. */
    int (*init)(eng_backend *be);
    void (*fini)(eng_backend *be);

    /* Buffers of n floats (n may be 0: returns a valid unique pointer). NULL + be->err on failure.
     * free(NULL) is a no-op. */
    float *(*alloc)(eng_backend *be, size_t n);
    void (*free)(eng_backend *be, float *p);
    /* dst[0..n) (backend buffer) = src[0..n) (host), and the reverse. */
    int (*upload)(eng_backend *be, float *dst, const float *src, size_t n);
    int (*download)(eng_backend *be, float *dst, const float *src, size_t n);
    /* Waits for all queued work; returns the first asynchronous error, if any. */
    int (*sync)(eng_backend *be);

    /* y[n,m] = x[n,k] . w[m,k]^T + b[m]   (PyTorch Linear layout; b may be NULL). y must not
     * alias x or w. */
    int (*matmul)(eng_backend *be, float *y, const float *x, const float *w, const float *b, int64_t n, int64_t k,
                  int64_t m);
    /* y[n,d] = (x - mean) / sqrt(var + eps) * g[d] + b[d] per row (biased variance; b may be NULL).
     * y may equal x. */
    int (*layernorm)(eng_backend *be, float *y, const float *x, const float *g, const float *b, int64_t n,
                     int64_t d, float eps);
    /* y[n,d] = x * 1/sqrt(mean(x^2) + eps) * g[d] per row. y may equal x. */
    int (*rmsnorm)(eng_backend *be, float *y, const float *x, const float *g, int64_t n, int64_t d, float eps);
    /* Elementwise over n values; y may equal x.
     * gelu_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (SigLIP, "gelu_pytorch_tanh")
     * gelu_erf:  0.5 x (1 + erf(x / sqrt(2)))                       (projector, nn.GELU())
     * silu:      x / (1 + exp(-x))
     * swiglu:    y = silu(gate) * up                                 (Qwen2 MLP) */
    int (*gelu_tanh)(eng_backend *be, float *y, const float *x, size_t n);
    int (*gelu_erf)(eng_backend *be, float *y, const float *x, size_t n);
    int (*silu)(eng_backend *be, float *y, const float *x, size_t n);
    int (*swiglu)(eng_backend *be, float *y, const float *gate, const float *up, size_t n);
    /* y[rows,cols] = softmax of each row of x (max-subtracted). y may equal x. */
    int (*softmax)(eng_backend *be, float *y, const float *x, int64_t rows, int64_t cols);
    /* Multi-head scaled dot-product attention (see eng_attn_desc):
     *   out[B, n_q, ld_out]   head h of row i = sum_j P[b,h,i,j] v[b, j, kvh(h)]
     *   P[b,h,i,j] = softmax_j(scale * q[b,i,h] . k[b,j,kvh(h)]), masked j > pos(i) when causal.
     * Optional taps (NULL = not computed):
     *   probs[B, H, n_q, n_kv]  the probabilities P (masked entries 0);
     *   recv[B, n_kv]           mean attention received by each key, averaged over heads and query
     *                           rows: recv[b,j] = 1/(H n_q) sum_h sum_i P[b,h,i,j].
     *                           With n_q = 1 this is the head-averaged attention row.
     * out must not alias q, k or v. */
    int (*attention)(eng_backend *be, float *out, const float *q, const float *k, const float *v,
                     const eng_attn_desc *d, float *probs, float *recv);
    /* In-place rotary embedding, "rotate half" (Qwen2/Llama, pairs (i, i+Dh/2)):
     *   x[t, h*Dh + i]        = x_i cos(a) - x_{i+Dh/2} sin(a)
     *   x[t, h*Dh + i + Dh/2] = x_{i+Dh/2} cos(a) + x_i sin(a),  a = pos[t] * theta^(-2i/Dh)
     * x: [n_tok, ld] (backend buffer), n_head heads of Dh (even) each; pos[n_tok]: HOST memory. */
    int (*rope)(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                const int64_t *pos, float theta);
    /* In-place sectioned rotary embedding, "rotate half" (pairs (i, i+Dh/2)): pair i lies in
     * section s (sections in order, sec->pairs[s] pairs each) and turns by
     *   a = (float)pos[s*pos_ld + t] * inv_j      (j and inv_j: see eng_rope_sec)
     * in every one of the n_head heads of token t. x: [n_tok, ld] (backend buffer); pos: HOST
     * memory, row s of n_tok ids starting at pos + s*pos_ld. */
    int (*rope_sec)(eng_backend *be, float *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                    const int64_t *pos, int64_t pos_ld, const eng_rope_sec *sec);
    /* y[n] = a[n] + b[n]; y may equal a or b. */
    int (*add)(eng_backend *be, float *y, const float *a, const float *b, size_t n);
    /* y[r, j] = a[r, j] + b[j] for r < rows, j < n (broadcast of one row); y may equal a. */
    int (*add_bcast)(eng_backend *be, float *y, const float *a, const float *b, int64_t rows, int64_t n);
    /* y[n, Dh] = mean over heads of x[n, h*Dh + j] (x rows ld_x floats apart). */
    int (*head_mean)(eng_backend *be, float *y, const float *x, int64_t ld_x, int64_t n, int64_t n_head,
                     int64_t head_dim);
    /* Channel-last 2-D pooling: x[B, H, W, C] -> y[B, Ho, Wo, C] (row-major grid, C contiguous).
     *   ENG_POOL_BILINEAR: resize to (Ho, Wo) like PyTorch interpolate(mode="bilinear",
     *                      align_corners=False, size=(Ho, Wo)), no antialias;
     *   ENG_POOL_AVERAGE:  2x2 average, stride 2, no padding, floor mode: requires Ho == H/2, Wo == W/2.
     *   (ENG_POOL_MAX is not implemented: an error.) */
    int (*pool2d)(eng_backend *be, float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C,
                  eng_pool_mode mode, int64_t Ho, int64_t Wo);
} eng_kernels;

/* A backend instance: the op table plus its state. Not shared between threads. */
struct eng_backend {
    const eng_kernels *k;
    void *impl;     /* owned by the table's init/fini */
    char err[256];  /* last error, one line */
};

extern const eng_kernels eng_kernels_ref;
extern const eng_kernels eng_kernels_cpu;
extern const eng_kernels eng_kernels_cuda; /* the stub's init fails when built without CUDA */

/* Picks the table for kind and runs its init. Returns 0, or -1 with err set (e.g. CUDA not built,
 * no device). be is zeroed first; release with eng_backend_fini (safe on a failed init). */
int eng_backend_init(eng_backend *be, eng_backend_kind kind, char *err, size_t err_len);
void eng_backend_fini(eng_backend *be);

/* Writes a formatted one-line error into be->err and returns -1 (for op implementations). */
int eng_backend_fail(eng_backend *be, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks a rope_sec call (sections sum to Dh/2, even Dh, freq_dim > 0); 0 or -1 with be->err. */
int eng_rope_sec_check(eng_backend *be, int64_t head_dim, const eng_rope_sec *sec);
/* Section and frequency index of pair i (i < Dh/2) under sec. */
void eng_rope_sec_pair(const eng_rope_sec *sec, int64_t i, int *section, int64_t *j);

/* Reference pooling weights, shared by every backend so that they agree bit for bit: PyTorch's
 * bilinear source index for output index o of an n_in -> n_out resize (align_corners=False,
 * size given): src = max(0, (n_in/n_out) (o + 0.5) - 0.5) in float; i0 = floor(src),
 * i1 = min(i0 + 1, n_in - 1), w1 = src - i0, w0 = 1 - w1. */
void eng_bilinear_index(int64_t n_in, int64_t n_out, int64_t o, int64_t *i0, int64_t *i1, float *w0, float *w1);

#endif
