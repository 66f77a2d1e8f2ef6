/* model_impl.h - engine-internal: the definition of eng_model (opaque in engine.h), shared by the
 * engine's model files (vision.c now, the Qwen2 LLM later). Weights are float32 buffers owned by
 * the model's backend (device memory for CUDA); host copies are freed after upload. */
#ifndef TB_ENGINE_MODEL_IMPL_H
#define TB_ENGINE_MODEL_IMPL_H

#include <openssl/evp.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/kernels.h"
#include "engine/safetensors.h"

/* One SigLIP encoder layer. Dv = hidden, Mv = MLP width. */
typedef struct {
    float *ln1_w, *ln1_b; /* [Dv] */
    float *qkv_w;         /* [3*Dv, Dv]  q;k;v projections stacked (one GEMM) */
    float *qkv_b;         /* [3*Dv] */
    float *o_w, *o_b;     /* [Dv, Dv], [Dv] */
    float *ln2_w, *ln2_b; /* [Dv] */
    float *fc1_w, *fc1_b; /* [Mv, Dv], [Mv] */
    float *fc2_w, *fc2_b; /* [Dv, Mv], [Dv] */
} eng_vision_layer;

typedef struct {
    float *patch_w;           /* [Dv, 3*p*p]  Conv2d weight flattened (c, ky, kx) */
    float *patch_b;           /* [Dv] */
    float *pos;               /* [P, Dv] */
    eng_vision_layer *layers; /* [n_layers] */
    float *proj1_w, *proj1_b; /* [D, Dv], [D] */
    float *proj2_w, *proj2_b; /* [D, D], [D] */
    /* SigLIP attention-pooling head (has_head) */
    int has_head;
    float *post_ln_w, *post_ln_b; /* [Dv] */
    float *head_q;                /* [Dv]  host: probe . Wq^T + bq, precomputed in double */
    float *head_kv_w;             /* [2*Dv, Dv]  in_proj rows Dv..3Dv-1 (k;v) */
    float *head_kv_b;             /* [2*Dv] */
    float *head_out_w, *head_out_b; /* [Dv, Dv], [Dv] */
    float *head_ln_w, *head_ln_b;   /* [Dv] */
    float *head_fc1_w, *head_fc1_b; /* [Mv, Dv], [Mv] */
    float *head_fc2_w, *head_fc2_b; /* [Dv, Mv], [Dv] */
} eng_vision_weights;

/* One Qwen2.5-VL ViT block (spec qwen25vl.md §3.4). C = hidden, Mv = MLP width. */
typedef struct {
    float *norm1, *norm2;         /* [C] RMSNorm weights */
    float *qkv_w, *qkv_b;         /* [3C, C], [3C] */
    float *proj_w, *proj_b;       /* [C, C], [C] */
    float *gate_w, *gate_b;       /* [Mv, C], [Mv] */
    float *up_w, *up_b;           /* [Mv, C], [Mv] */
    float *down_w, *down_b;       /* [C, Mv], [C] */
    int full;                     /* 1: full (per-slice) attention; 0: windowed */
} eng_qwen_block;

typedef struct {
    float *patch_w;               /* [C, 3*Tp*p*p]  Conv3d weight flattened (c, t, y, x) */
    eng_qwen_block *blocks;       /* [depth] */
    float *merge_ln;              /* [C] */
    float *merge1_w, *merge1_b;   /* [4C, 4C], [4C] */
    float *merge2_w, *merge2_b;   /* [D, 4C], [D] */
} eng_qwen_vision_weights;

struct eng_model {
    eng_config cfg;
    eng_backend be;
    st_file *st;          /* the LLaVA checkpoint (kept open for later loaders) */
    int vision_loaded;
    eng_vision_weights vw;
    eng_qwen_vision_weights qw;   /* layout qwen2.5-vl (vision_loaded) */
    float *newline;       /* [D] host, or NULL */
    EVP_MD_CTX *digest_ctx; /* open while loading */
    char digest[65];
};

/* vision.c: loads the vision tower, projector, newline and (siglip_path != NULL) the SigLIP head
 * onto m->be, feeding every tensor into m->digest_ctx. Returns ENG_OK or a negative status. */
int eng_vision_load(eng_model *m, const char *siglip_path, char *err, size_t err_len);
/* Releases what eng_vision_load placed (safe after a partial load). */
void eng_vision_unload(eng_model *m);

/* model.c: loads (id, layer) from st as host float32 (caller frees) and hashes its name, dtype,
 * shape and raw bytes into m->digest_ctx. NULL with err set. */
float *eng_model_load_tensor(eng_model *m, const st_file *st, eng_tensor_id id, int layer, char *err,
                             size_t err_len);
/* Moves a host buffer of n floats to the backend: returns it unchanged for host backends,
 * otherwise uploads it into a new backend buffer and frees the host copy. On failure the host
 * buffer is freed too and NULL is returned with err set. */
float *eng_model_to_backend(eng_model *m, float *host, size_t n, char *err, size_t err_len);

/* qwen_vision.c: loads / releases the Qwen2.5-VL ViT and merger (layout qwen2.5-vl). */
int eng_qwen_vision_load(eng_model *m, char *err, size_t err_len);
void eng_qwen_vision_unload(eng_model *m);

/* vision.c, for benchmarks and tests: a model whose vision tower, projector, newline and (with_head)
 * SigLIP head hold seeded random weights of the shapes in *cfg (only cfg->vision, cfg->llm.hidden,
 * cfg->projector and cfg->pool_mode are used), generated in memory: no checkpoint on disk. The digest
 * is "random-<seed>". Returns NULL with err set. Free with eng_model_free. */
eng_model *eng_model_random_vision(const eng_config *cfg, eng_backend_kind kind, uint64_t seed, int with_head,
                                   char *err, size_t err_len);

#endif
