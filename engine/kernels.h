/* kernels.h - engine-internal: the op table every model computation goes through.
 *
 * One struct of function pointers (eng_kernels) with three instances:
 *   eng_kernels_ref   plain scalar C, IEEE, double accumulators where a sum is long; the oracle;
 *   eng_kernels_cpu   OpenBLAS sgemm for every GEMM (also inside attention), OpenMP elsewhere;
 *   eng_kernels_cuda  CUDA kernels + cuBLAS (engine/kernels_cuda.cu); a build without CUDA links
 *                     engine/kernels_cuda_stub.c, whose init fails with "not built with CUDA".
 * Model code (vision.c, later the Qwen2 LLM) calls be->k->op(be, ...) and never contains #ifdef.
 *
 * Memory: every tensor argument of an op is a backend buffer (device memory for CUDA, 64-byte
 * aligned host memory for ref/cpu) of one of two kinds:
 *   eng_act *  activations: n elements of the backend's numerics (be->dtype: float32, or fp16 /
 *              bf16 on CUDA and on the ref table's emulation). eng_act is an incomplete type, so
 *              model code can neither read nor index one: eng_act_at(be, p, i) is &p[i];
 *              act_alloc / act_free / act_upload / act_download (which convert from and to host
 *              float32) are the only ways in and out;
 *   float *    float32 buffers whatever the numerics: vectors of the weights (norm gains, biases,
 *              the position table), the attention taps, and the plan's similarity products
 *              (matmul); alloc / free / upload / download.
 * Exceptions are named in the op's comment (rope's positions are host memory).
 *
 * Numerics (be->dtype, engine.h eng_compute_dtype): every op reads its activation inputs as float,
 * computes in float (the ref table in double where a sum is long) and rounds its outputs once to
 * the activation type; products accumulate in float32 (CUDA: tensor cores with 32-bit compute).
 * So the ref table in fp16 / bf16 is the oracle of the GPU regime: the same storage, roundings at
 * the same places, exact arithmetic in between.
 *
 * Errors: ops return 0, or -1 with a one-line message in be->err (CUDA launch / cuBLAS errors,
 * out of memory, bad arguments). Host ops never fail on valid arguments except for scratch
 * allocation. Shapes are int64_t; buffers must hold exactly what the shape comment says.
 *
 * Dimension letters used below: n rows (tokens), k input features, m output features, d feature
 * size, B batch (frames / sequences), H heads, Hkv KV heads, Dh head dim.
 *
 * Weights in their stored dtype. A weight matrix W[rows, cols] (a Linear weight [out, in], a
 * conv weight flattened [out, in*kh*kw], an embedding / lm_head table [V, D]) reaches the backend
 * once, at load, as an eng_wdesc: dtype (F32, BF16 or F16, as the checkpoint stores it), shape and
 * a host view of its bytes (normally straight into the mmap'd safetensors file). weight_init turns
 * it into the backend's own eng_weight handle: the host tables keep the view itself (no copy, no
 * conversion: a 7B checkpoint stays 16 GB of bf16 mapped pages, not 30 GB of float32); a device
 * table (CUDA) converts once into a device buffer of the precision it computes in (fp16 / bf16
 * copies on the GPU). linear is the product with such a handle; matmul stays for products of two
 * float32 buffers (the in-LLM plan's similarities). The host linear
 * converts weights to float32 on the fly, exactly (bf16 -> f32 is a shift, f16 -> f32 a table):
 *   ref  element by element inside the double-accumulated dot product, so a BF16/F16 weight gives
 *        bit for bit the result of the same values stored as F32;
 *   cpu  F32: sgemm on the view; BF16/F16 with n > ENG_LINEAR_SMALL_N rows: panels of rows of W
 *        converted into a float32 scratch (<= ENG_LINEAR_PANEL_FLOATS) and sgemm per panel into
 *        the matching columns of y (the conversion is amortised over the n rows; each output
 *        element sums over k in sgemm's order, so the result equals the F32-weight sgemm where
 *        OpenBLAS picks the same kernel for the panel as for the whole matrix); n <= SMALL_N
 *        (decode steps): one pass over the 16-bit weights, OpenMP over output rows (memory bound:
 *        reads 2 bytes per weight instead of 4).
 *
 * Timing: tick records a point in the backend's queue (a CUDA event; the host clock on the host
 * tables); tick_elapsed waits for the later one and returns the seconds between them, so a stage's
 * time is the device's own time, without the host's launch overhead or a synchronisation inside.
 *
 * Deliberately absent: fp16/bf16 arithmetic on the cpu table (OpenBLAS sgemm: fp32 only),
 * quantisation, graph building. New ops arrive with a case in tests/test_ops.c.
 */
#ifndef TB_ENGINE_KERNELS_H
#define TB_ENGINE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h" /* eng_pool_mode */
#include "engine/engine.h"
#include "engine/safetensors.h" /* st_tensor: eng_wdesc_of_tensor */

typedef struct eng_backend eng_backend;

/* Stored element type of a weight (the safetensors dtypes the engine reads). */
typedef enum { ENG_DT_F32 = 0, ENG_DT_BF16 = 1, ENG_DT_F16 = 2 } eng_dtype;

/* Bytes per element (4 or 2). */
size_t eng_dtype_size(eng_dtype dt);

/* A backend activation buffer (see the file comment): never dereferenced outside the op tables. */
typedef struct eng_act eng_act;

/* A weight matrix as stored, in host memory: W[rows, cols] row-major, rows*cols elements of dtype
 * (little-endian; alignment of the element size is enough). Ownership: owned == NULL means host
 * is a view that outlives every handle made from it (the model keeps the checkpoint mapped);
 * owned == host means a malloc'd buffer whose ownership passes to weight_init (host tables keep it
 * until weight_free, device tables free it after the upload, also on failure). */
typedef struct {
    eng_dtype dtype;
    int64_t rows, cols;
    const void *host;
    void *owned;
} eng_wdesc;

/* The descriptor of a checkpoint tensor, viewing its mapped bytes: rows = shape[0], cols = the
 * product of the other dimensions (a conv weight [out, c, kh, kw] -> [out, c*kh*kw]). */
void eng_wdesc_of_tensor(const st_tensor *t, eng_wdesc *d);

/* Row r of a stored matrix converted to float32: dst[cols] (host gathers: embedding rows). */
void eng_wdesc_row_f32(const eng_wdesc *w, int64_t r, float *dst);

/* A backend's handle of one weight matrix (filled by weight_init, released by weight_free; the
 * struct itself belongs to the caller, e.g. a field of the model's layer struct).
 *   dtype, rows, cols  what data holds (host tables: the stored dtype; CUDA: its compute copy);
 *   data               backend memory: host tables: the eng_wdesc's host bytes, as they are;
 *                      CUDA: a device buffer;
 *   owned              what weight_free releases (NULL: a borrowed view). */
typedef struct {
    eng_dtype dtype;
    int64_t rows, cols;
    const void *data;
    void *owned;
} eng_weight;

/* A point in a backend's queue (tick): the host clock, or an event of the CUDA table's pool. */
typedef struct {
    double host_s; /* host tables: tb_now_s() when recorded */
    int slot;      /* CUDA: index of the recorded event (-1: none) */
} eng_tick;

#define ENG_LINEAR_SMALL_N 8                    /* cpu: rows up to which linear streams W once */
#define ENG_LINEAR_PANEL_FLOATS ((int64_t)16 << 20) /* cpu: float32 panel scratch (64 MB): few
                                                     panels, so sgemm packs x few times */

/* Shape of one multi-head attention call. Rows are tokens, heads concatenated inside a row:
 * head h of token t of sequence b lives at q[(b*n_q + t)*ld_q + h*head_dim .. +head_dim). */
typedef struct {
    int64_t n_batch;   /* B independent sequences (frames), each with its own keys */
    int64_t n_q;       /* query rows per sequence */
    int64_t n_kv;      /* key/value rows per sequence */
    int64_t n_head;    /* H query heads */
    int64_t n_head_kv; /* Hkv key/value heads; H % Hkv == 0; query head h uses KV head h / (H/Hkv) */
    int64_t head_dim;  /* Dh */
    int64_t ld_q;      /* elements between consecutive query rows; 0 = H*Dh */
    int64_t ld_k;      /* elements between consecutive key rows; 0 = Hkv*Dh */
    int64_t ld_v;      /* elements between consecutive value rows; 0 = Hkv*Dh */
    int64_t ld_out;    /* elements between consecutive output rows; 0 = H*Dh */
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
    unsigned dtypes;  /* the numerics it computes in: bit (1 << eng_compute_dtype) per regime */

    /* Backend state: init creates be->impl (cuBLAS handle, scratch), fini releases it. be->dtype
     * is set before init. */
    int (*init)(eng_backend *be);
    void (*fini)(eng_backend *be);
    /* One line on what runs (device, libraries, kernel variants), for bench output; may be NULL. */
    const char *(*describe)(eng_backend *be);

    /* float32 buffers of n floats (n may be 0: returns a valid unique pointer). NULL + be->err on
     * failure. free(NULL) is a no-op. */
    float *(*alloc)(eng_backend *be, size_t n);
    void (*free)(eng_backend *be, float *p);
    /* dst[0..n) (backend buffer) = src[0..n) (host), and the reverse. */
    int (*upload)(eng_backend *be, float *dst, const float *src, size_t n);
    int (*download)(eng_backend *be, float *dst, const float *src, size_t n);
    /* Activation buffers of n elements of be->dtype, and the converting copies: act_upload rounds
     * each float to the type (round to nearest even), act_download widens exactly. */
    eng_act *(*act_alloc)(eng_backend *be, size_t n);
    void (*act_free)(eng_backend *be, eng_act *p);
    int (*act_upload)(eng_backend *be, eng_act *dst, const float *src, size_t n);
    int (*act_download)(eng_backend *be, float *dst, const eng_act *src, size_t n);
    /* Waits for all queued work; returns the first asynchronous error, if any. */
    int (*sync)(eng_backend *be);
    /* See "Timing" above; eng_tick is the caller's. */
    int (*tick)(eng_backend *be, eng_tick *t);
    int (*tick_elapsed)(eng_backend *be, const eng_tick *a, const eng_tick *b, double *seconds);

    /* y[n,m] = x[n,k] . w[m,k]^T + b[m]   float32 buffers (the plan's similarity products; b may be
     * NULL). y must not alias x or w. */
    int (*matmul)(eng_backend *be, float *y, const float *x, const float *w, const float *b, int64_t n, int64_t k,
                  int64_t m);
    /* Places a stored weight on the backend (see eng_wdesc for ownership): w receives the handle.
     * 0, or -1 with be->err (bad shape / dtype, device out of memory, a value the compute type
     * cannot hold); on failure w is zeroed and nothing stays owned. weight_free releases what w
     * owns and zeroes it (a zeroed w is fine). */
    int (*weight_init)(eng_backend *be, eng_weight *w, const eng_wdesc *src);
    void (*weight_free)(eng_backend *be, eng_weight *w);
    /* y[n, w->rows] = x[n, w->cols] . W^T + b[w->rows]   (PyTorch Linear; b: float32 vector, may be
     * NULL). y must not alias x. Accuracy: float32 accumulation of the products of the weight
     * values (as the backend holds them) and x.
     * linear_add: y += x . W^T + b (the residual add fused into the product). */
    int (*linear)(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b, int64_t n);
    int (*linear_add)(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b, int64_t n);
    /* y[n,d] = (x - mean) / sqrt(var + eps) * g[d] + b[d] per row (biased variance; g, b float32,
     * b may be NULL). y may equal x. */
    int (*layernorm)(eng_backend *be, eng_act *y, const eng_act *x, const float *g, const float *b, int64_t n,
                     int64_t d, float eps);
    /* y[n,d] = x * 1/sqrt(mean(x^2) + eps) * g[d] per row (g float32). y may equal x. */
    int (*rmsnorm)(eng_backend *be, eng_act *y, const eng_act *x, const float *g, int64_t n, int64_t d, float eps);
    /* Elementwise over n values; y may equal x.
     * gelu_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (SigLIP, "gelu_pytorch_tanh")
     * gelu_erf:  0.5 x (1 + erf(x / sqrt(2)))                       (projector, nn.GELU())
     * silu:      x / (1 + exp(-x))
     * swiglu:    y = silu(gate) * up                                 (Qwen2 MLP) */
    int (*gelu_tanh)(eng_backend *be, eng_act *y, const eng_act *x, size_t n);
    int (*gelu_erf)(eng_backend *be, eng_act *y, const eng_act *x, size_t n);
    int (*silu)(eng_backend *be, eng_act *y, const eng_act *x, size_t n);
    int (*swiglu)(eng_backend *be, eng_act *y, const eng_act *gate, const eng_act *up, size_t n);
    /* y[rows,cols] = softmax of each row of x (max-subtracted). y may equal x. */
    int (*softmax)(eng_backend *be, eng_act *y, const eng_act *x, int64_t rows, int64_t cols);
    /* Multi-head scaled dot-product attention (see eng_attn_desc):
     *   out[B, n_q, ld_out]   head h of row i = sum_j P[b,h,i,j] v[b, j, kvh(h)]
     *   P[b,h,i,j] = softmax_j(scale * q[b,i,h] . k[b,j,kvh(h)]), masked j > pos(i) when causal.
     * Optional taps (float32 buffers; NULL = not computed):
     *   probs[B, H, n_q, n_kv]  the probabilities P (masked entries 0);
     *   recv[B, n_kv]           mean attention received by each key, averaged over heads and query
     *                           rows: recv[b,j] = 1/(H n_q) sum_h sum_i P[b,h,i,j].
     *                           With n_q = 1 this is the head-averaged attention row.
     * out must not alias q, k or v. */
    int (*attention)(eng_backend *be, eng_act *out, const eng_act *q, const eng_act *k, const eng_act *v,
                     const eng_attn_desc *d, float *probs, float *recv);
    /* In-place rotary embedding, "rotate half" (Qwen2/Llama, pairs (i, i+Dh/2)):
     *   x[t, h*Dh + i]        = x_i cos(a) - x_{i+Dh/2} sin(a)
     *   x[t, h*Dh + i + Dh/2] = x_{i+Dh/2} cos(a) + x_i sin(a),  a = pos[t] * theta^(-2i/Dh)
     * x: [n_tok, ld] (backend buffer), n_head heads of Dh (even) each; pos[n_tok]: HOST memory. */
    int (*rope)(eng_backend *be, eng_act *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                const int64_t *pos, float theta);
    /* In-place sectioned rotary embedding, "rotate half" (pairs (i, i+Dh/2)): pair i lies in
     * section s (sections in order, sec->pairs[s] pairs each) and turns by
     *   a = (float)pos[s*pos_ld + t] * inv_j      (j and inv_j: see eng_rope_sec)
     * in every one of the n_head heads of token t. x: [n_tok, ld] (backend buffer); pos: HOST
     * memory, row s of n_tok ids starting at pos + s*pos_ld. */
    int (*rope_sec)(eng_backend *be, eng_act *x, int64_t ld, int64_t n_tok, int64_t n_head, int64_t head_dim,
                    const int64_t *pos, int64_t pos_ld, const eng_rope_sec *sec);
    /* y[n] = a[n] + b[n]; y may equal a or b. */
    int (*add)(eng_backend *be, eng_act *y, const eng_act *a, const eng_act *b, size_t n);
    /* y[r, j] = a[r, j] + b[j] for r < rows, j < n (broadcast of one float32 row); y may equal a. */
    int (*add_bcast)(eng_backend *be, eng_act *y, const eng_act *a, const float *b, int64_t rows, int64_t n);
    /* y[n, Dh] (float32) = mean over heads of x[n, h*Dh + j] (x rows ld_x elements apart). */
    int (*head_mean)(eng_backend *be, float *y, const eng_act *x, int64_t ld_x, int64_t n, int64_t n_head,
                     int64_t head_dim);
    /* Channel-last 2-D pooling: x[B, H, W, C] -> y[B, Ho, Wo, C] (row-major grid, C contiguous).
     *   ENG_POOL_BILINEAR: resize to (Ho, Wo) like PyTorch interpolate(mode="bilinear",
     *                      align_corners=False, size=(Ho, Wo)), no antialias;
     *   ENG_POOL_AVERAGE:  2x2 average, stride 2, no padding, floor mode: requires Ho == H/2, Wo == W/2.
     *   (ENG_POOL_MAX is not implemented: an error.)
     * eng_pool2d_host does the same on host float32 arrays (the taps). */
    int (*pool2d)(eng_backend *be, eng_act *y, const eng_act *x, int64_t B, int64_t H, int64_t W, int64_t C,
                  eng_pool_mode mode, int64_t Ho, int64_t Wo);
} eng_kernels;

/* A backend instance: the op table plus its state. Not shared between threads. */
struct eng_backend {
    const eng_kernels *k;
    eng_compute_dtype dtype; /* the resolved numerics (never AUTO), set before the table's init */
    size_t act_size;         /* bytes per activation element (4 or 2) */
    void *impl;     /* owned by the table's init/fini */
    char err[256];  /* last error, one line */
};

/* &p[i] of an activation buffer (elements of be->dtype). */
static inline eng_act *eng_act_at(const eng_backend *be, const eng_act *p, int64_t i) {
    return (eng_act *)((char *)(uintptr_t)p + (size_t)i * be->act_size);
}

extern const eng_kernels eng_kernels_ref;
extern const eng_kernels eng_kernels_cpu;
extern const eng_kernels eng_kernels_cuda; /* the stub's init fails when built without CUDA */

/* Picks the table for kind and runs its init. Returns 0, or -1 with err set (e.g. CUDA not built,
 * no device). be is zeroed first; release with eng_backend_fini (safe on a failed init). */
int eng_backend_init(eng_backend *be, eng_backend_kind kind, char *err, size_t err_len);
/* The same with a numerics regime: AUTO resolves to eng_compute_dtype_default(kind); a regime the
 * table does not compute in is an error naming both ("the cpu backend computes in fp32 only"). */
int eng_backend_init_dtype(eng_backend *be, eng_backend_kind kind, eng_compute_dtype dtype, char *err, size_t err_len);
void eng_backend_fini(eng_backend *be);

/* The host tables' weight_init / weight_free (kernels_ref.c): the handle is the view itself. */
int eng_host_weight_init(eng_backend *be, eng_weight *w, const eng_wdesc *src);
void eng_host_weight_free(eng_backend *be, eng_weight *w);

/* Writes a formatted one-line error into be->err and returns -1 (for op implementations). */
int eng_backend_fail(eng_backend *be, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pool2d (see the op) on host float32 arrays: the taps pooled after their download. Returns 0, or
 * -1 with a one-line message in err for a bad shape. */
int eng_pool2d_host(float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C, eng_pool_mode mode,
                    int64_t Ho, int64_t Wo, char *err, size_t err_len);
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
