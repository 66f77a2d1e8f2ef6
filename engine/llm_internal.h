/* llm_internal.h - engine-internal parts of the LLM side (not the public API, engine/llm.h): the
 * model and state layouts shared by llm.c (loading, layers, prefill, decode), llm_plan.c (the
 * in-LLM plan executor) and llm_random.c (a model built in memory with random weights, for
 * benchmarks and tests that need a real-sized Qwen2 without a checkpoint on disk). */
#ifndef TB_ENGINE_LLM_INTERNAL_H
#define TB_ENGINE_LLM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/llm_plan.h"
#include "engine/config.h"
#include "engine/kernels.h"
#include "engine/llm.h"
#include "engine/safetensors.h"

#define MLP_CHUNK 1024  /* rows per MLP step: bounds the [rows, M] gate/up scratch */
#define LOGIT_CHUNK 32  /* rows per lm_head step when every row's logits are asked for */
#define SIM_CHUNK 256   /* dropped rows per similarity GEMM in the merge rules */


/* Matrices are backend weight handles in the checkpoint's dtype (kernels.h: on the host tables a
 * view into the mapped file); vectors are float32 backend buffers. */
typedef struct {
    float *in_norm;       /* [D] */
    eng_weight q_w;       /* [H*Dh, D] */
    float *q_b;           /* [H*Dh] */
    eng_weight k_w, v_w;  /* [G*Dh, D] */
    float *k_b, *v_b;     /* [G*Dh] */
    eng_weight o_w;       /* [D, H*Dh] */
    float *post_norm;     /* [D] */
    eng_weight gate_w;    /* [M, D] */
    eng_weight up_w;      /* [M, D] */
    eng_weight down_w;    /* [D, M] */
} llm_layer;

struct eng_llm {
    eng_config cfg;
    eng_backend be;
    int D, H, G, Dh, M, L;
    int64_t V, Vo;
    st_file *st;      /* the checkpoint, mapped while the weights that view it live (NULL: random) */
    eng_wdesc embed;  /* [V, D] host, stored dtype: rows are gathered (converted) and uploaded */
    eng_weight lm_head; /* [Vo, D]: the first Vo rows of lm_head (tied: of the embedding) */
    float *norm;      /* [D] backend */
    llm_layer *layers; /* [L] backend buffers */
    float *newline;   /* [D] host or NULL */
    int n_stop;
    int stop_ids[8];
    double rep_pen;
    /* Qwen2.5-VL (M-RoPE): 3 position rows (t, h, w) per token, the visual rows replace the
     * video pad ids one for one */
    int mrope;
    eng_rope_sec rsec;   /* sections t/h/w of the M-RoPE, frequency index running on */
    int64_t pad_id;      /* config video_token_id (-1 without M-RoPE) */
    size_t bytes;     /* weight bytes in the stored dtype (mapped or owned) + float32 vectors */
};

struct eng_llm_state {
    eng_llm *m;
    int64_t C;          /* n_ctx: the most rows a sequence may have */
    int64_t cap;        /* rows the sequence buffers hold now (<= C; grown by prefills): below, C
                           in a shape means cap */
    /* backend activations (kernels.h eng_act: elements of the backend's numerics) */
    eng_act **kc, **vc; /* [L] -> [C, G*Dh] RoPE'd keys / values */
    int64_t *kv_len;    /* [L] rows cached per layer */
    eng_act *x;         /* [C, D] residual stream */
    eng_act *xn;        /* [C, D] normed stream */
    eng_act *q;         /* [C, H*Dh] */
    eng_act *att;       /* [C, H*Dh] attention output */
    eng_act *g, *u;     /* [MLP_CHUNK, M] */
    eng_act *row_out;   /* [H*Dh] output of the tap's one-row attention (discarded) */
    eng_act *logits_dev; /* [LOGIT_CHUNK, Vo] */
    /* backend float32 buffers */
    float *row;         /* [C] head-averaged attention row (tap) */
    float *pn;          /* [C, D] normalised rows for the merge similarity */
    float *sim;         /* [SIM_CHUNK, C] */
    /* host */
    float *hx;          /* [C, D] the residual stream during a plan; embeddings at prefill start */
    float *hsim;        /* [SIM_CHUNK, C] */
    float *hrow;        /* [C] attention row of the current tap layer */
    float *htap;        /* [C] the caller's tap (attn_layer), kept apart from the plan's row */
    float *hmean;       /* [C] mean received attention at layer K-1 (TB_PLAN_SELECT_ALL_QUERIES) */
    float *logits;      /* [Vo] last logits */
    float *all_logits;  /* [cap_all] every-row logits (grown on demand by prefill only) */
    size_t cap_all;
    int64_t *pos;       /* [C] position id of each current row; M-RoPE: [3][C], row r at pos + r*C */
    int64_t *orig;      /* [C] spliced-sequence index of each current row */
    int64_t *kept;      /* [C] span-relative kept indices (ascending) */
    int64_t *sel;       /* [C] selection scratch */
    int64_t *assign;    /* [C] merge assignment scratch */
    int64_t *tokens_layer, *visual_layer; /* [L] */
    unsigned char *mark; /* [C] */
    int64_t n_kept;
    int have_plan_kept;
    int prefilled;      /* 1 after a successful prefill */
    int generated;      /* 1 after eng_llm_generate */
    size_t bytes;       /* everything allocated now (backend + host), all_logits aside */
    size_t bytes_fixed; /* the part that does not follow the sequence (MLP chunk, logits) */
    int64_t next_pos;   /* position of the next decoded token */
    eng_llm_timings tm;
};

/* Formats one line into err (NULL / 0-length: ignored) and returns status. */
int eng_llm_fail(char *err, size_t err_len, int status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Moves a host buffer of n floats to the model's backend (host backends keep it), counting its
 * bytes. NULL on failure (the host buffer is freed). */
float *eng_llm_put(eng_llm *m, float *host, size_t n, char *err, size_t err_len);
/* Places a stored matrix on the backend as *w (see eng_wdesc for ownership), counting its bytes.
 * ENG_OK or ENG_ERR_BACKEND with err set. */
int eng_llm_put_weight(eng_llm *m, eng_weight *w, const eng_wdesc *d, char *err, size_t err_len);

/* Checks a plan against the model and the spliced sequence of N rows (span in original
 * coordinates). ENG_OK or ENG_ERR_ARG with a message. */
int eng_llm_plan_check(const eng_llm *m, const tb_llm_plan *p, int64_t N, int64_t span_start, int64_t span_len,
                       char *err, size_t err_len);

/* Executes plan p on the state's current n rows (s->x, s->pos, s->orig), given the scores of layer
 * K-1 (tap[n]: last-query row; s->hmean: received attention) and the current span
 * [*vs, *vs + *vl). Updates n, the span and s->kept. */
int eng_llm_plan_execute(eng_llm_state *s, const tb_llm_plan *p, const float *tap, int64_t *n_io, int64_t *vs_io,
                         int64_t *vl_io, char *err, size_t err_len);

/* Builds a Qwen2 model of shape c (hidden, n_layers, n_heads, n_kv_heads, head_dim, intermediate,
 * vocab, rope_theta, rms_norm_eps; tie_embeddings honoured) with deterministic random weights
 * from seed, matrices held in dtype dt (as a checkpoint of that dtype would store them): Linear
 * weights uniform with variance 1/in, biases +-0.02, norm weights 1, embeddings uniform +-0.5. No
 * image_newline, no stop ids, repetition penalty 1. p may be NULL (defaults). Returns NULL with
 * err set. Free with eng_llm_free. */
eng_llm *eng_llm_new_random(const eng_llm_config *c, const eng_llm_params *p, eng_dtype dt, uint64_t seed, char *err,
                            size_t err_len);

#endif
