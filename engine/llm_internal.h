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

#define MLP_CHUNK 1024  /* rows per MLP step: bounds the [rows, M] gate/up scratch */
#define LOGIT_CHUNK 32  /* rows per lm_head step when every row's logits are asked for */
#define SIM_CHUNK 256   /* dropped rows per similarity GEMM in the merge rules */
#define ATTN_QBLOCK 256 /* query rows per causal attention call in prefill */


typedef struct {
    float *in_norm;   /* [D] */
    float *q_w, *q_b; /* [H*Dh, D], [H*Dh] */
    float *k_w, *k_b; /* [G*Dh, D], [G*Dh] */
    float *v_w, *v_b; /* [G*Dh, D], [G*Dh] */
    float *o_w;       /* [D, H*Dh] */
    float *post_norm; /* [D] */
    float *gate_w;    /* [M, D] */
    float *up_w;      /* [M, D] */
    float *down_w;    /* [D, M] */
} llm_layer;

struct eng_llm {
    eng_config cfg;
    eng_backend be;
    int D, H, G, Dh, M, L;
    int64_t V, Vo;
    float *embed;     /* [V, D] host: rows are gathered on the host and uploaded */
    float *lm_head;   /* [V, D] backend (only the first Vo rows are used) */
    int lm_head_is_embed; /* host backends with tied embeddings share the buffer */
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
    size_t bytes;     /* weight bytes held (backend + host embedding + newline) */
};

struct eng_llm_state {
    eng_llm *m;
    int64_t C;          /* n_ctx */
    float **kc, **vc;   /* [L] -> [C, G*Dh] backend, RoPE'd keys / values */
    int64_t *kv_len;    /* [L] rows cached per layer */
    float *x;           /* [C, D] backend residual stream */
    float *xn;          /* [C, D] backend normed stream / projection outputs */
    float *q;           /* [C, H*Dh] backend */
    float *att;         /* [C, H*Dh] backend attention output */
    float *g, *u;       /* [MLP_CHUNK, M] backend */
    float *tmp;         /* [MLP_CHUNK, D] backend */
    float *row;         /* [C] backend: head-averaged attention row (tap) */
    float *row_out;     /* [H*Dh] backend: output of the tap's one-row attention (discarded) */
    float *logits_dev;  /* [LOGIT_CHUNK, Vo] backend */
    float *pn;          /* [C, D] backend: normalised rows for the merge similarity */
    float *sim;         /* [SIM_CHUNK, C] backend */
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
    size_t bytes;       /* everything state_init allocated (backend + host) */
    int64_t next_pos;   /* position of the next decoded token */
    eng_llm_timings tm;
};

/* Formats one line into err (NULL / 0-length: ignored) and returns status. */
int eng_llm_fail(char *err, size_t err_len, int status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Moves a host buffer of n floats to the model's backend (host backends keep it), counting its
 * bytes. NULL on failure (the host buffer is freed). */
float *eng_llm_put(eng_llm *m, float *host, size_t n, char *err, size_t err_len);

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
 * from seed: Linear weights uniform with variance 1/in, biases +-0.02, norm weights 1, embeddings
 * uniform +-0.5. No image_newline, no stop ids, repetition penalty 1. p may be NULL (defaults).
 * Returns NULL with err set. Free with eng_llm_free. */
eng_llm *eng_llm_new_random(const eng_llm_config *c, const eng_llm_params *p, uint64_t seed, char *err,
                            size_t err_len);

#endif
