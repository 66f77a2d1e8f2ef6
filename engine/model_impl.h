/* model_impl.h - engine-internal: the definition of eng_model (opaque in engine.h), shared by the
 * engine's vision files. Matrices are backend weight handles in the checkpoint's dtype (on the
 * host tables views into the mapped files, kept open by the model); vectors (biases, norms, the
 * position table) are float32 backend buffers, host copies freed after upload. */
#ifndef TB_ENGINE_MODEL_IMPL_H
#define TB_ENGINE_MODEL_IMPL_H

#include "common/sha256.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/kernels.h"
#include "engine/safetensors.h"

/* One SigLIP encoder layer. Dv = hidden, Mv = MLP width. */
typedef struct {
    float *ln1_w, *ln1_b; /* [Dv] */
    eng_weight qkv_w;     /* [3*Dv, Dv]  q;k;v projections stacked (one GEMM; an owned copy of the
                             three stored matrices, same dtype) */
    float *qkv_b;         /* [3*Dv] */
    eng_weight o_w;       /* [Dv, Dv] */
    float *o_b;           /* [Dv] */
    float *ln2_w, *ln2_b; /* [Dv] */
    eng_weight fc1_w;     /* [Mv, Dv] */
    float *fc1_b;         /* [Mv] */
    eng_weight fc2_w;     /* [Dv, Mv] */
    float *fc2_b;         /* [Dv] */
} eng_vision_layer;

typedef struct {
    eng_weight patch_w;       /* [Dv, 3*p*p]  Conv2d weight flattened (c, ky, kx) */
    float *patch_b;           /* [Dv] */
    float *pos;               /* [P, Dv] */
    eng_vision_layer *layers; /* [n_layers] */
    eng_weight proj1_w;       /* [D, Dv] */
    float *proj1_b;           /* [D] */
    eng_weight proj2_w;       /* [D, D] */
    float *proj2_b;           /* [D] */
    /* SigLIP attention-pooling head (has_head) */
    int has_head;
    float *post_ln_w, *post_ln_b; /* [Dv] */
    float *head_q;                /* [Dv]  host: probe . Wq^T + bq, precomputed in double */
    eng_weight head_kv_w;         /* [2*Dv, Dv]  in_proj rows Dv..3Dv-1 (k;v): a view */
    float *head_kv_b;             /* [2*Dv] */
    eng_weight head_out_w;        /* [Dv, Dv] */
    float *head_out_b;            /* [Dv] */
    float *head_ln_w, *head_ln_b; /* [Dv] */
    eng_weight head_fc1_w;        /* [Mv, Dv] */
    float *head_fc1_b;            /* [Mv] */
    eng_weight head_fc2_w;        /* [Dv, Mv] */
    float *head_fc2_b;            /* [Dv] */
} eng_vision_weights;

/* One Qwen2.5-VL ViT block (spec qwen25vl.md §3.4). C = hidden, Mv = MLP width. */
typedef struct {
    float *norm1, *norm2;         /* [C] RMSNorm weights */
    eng_weight qkv_w;             /* [3C, C] */
    float *qkv_b;                 /* [3C] */
    eng_weight proj_w;            /* [C, C] */
    float *proj_b;                /* [C] */
    eng_weight gate_w, up_w;      /* [Mv, C] */
    float *gate_b, *up_b;         /* [Mv] */
    eng_weight down_w;            /* [C, Mv] */
    float *down_b;                /* [C] */
    int full;                     /* 1: full (per-slice) attention; 0: windowed */
} eng_qwen_block;

typedef struct {
    eng_weight patch_w;           /* [C, 3*Tp*p*p]  Conv3d weight flattened (c, t, y, x) */
    eng_qwen_block *blocks;       /* [depth] */
    float *merge_ln;              /* [C] */
    eng_weight merge1_w;          /* [4C, 4C] */
    float *merge1_b;              /* [4C] */
    eng_weight merge2_w;          /* [D, 4C] */
    float *merge2_b;              /* [D] */
} eng_qwen_vision_weights;

struct eng_model {
    eng_config cfg;
    eng_backend be;
    st_file *st;          /* the LLaVA checkpoint (mapped while the weights view it) */
    st_file *st_head;     /* the SigLIP head checkpoint (idem), or NULL */
    int vision_loaded;
    eng_vision_weights vw;
    eng_qwen_vision_weights qw;   /* layout qwen2.5-vl (vision_loaded) */
    float *newline;       /* [D] host, or NULL */
    tb_sha256 *digest_ctx; /* open while loading */
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
/* Hashes (id, layer) of st like eng_model_load_tensor and places it on the backend as *w, a view
 * of its stored bytes (rows = shape[0], cols = the rest). ENG_OK or a negative status, err set. */
int eng_model_load_weight(eng_model *m, const st_file *st, eng_tensor_id id, int layer, eng_weight *w, char *err,
                          size_t err_len);
/* Hashes t into the digest as eng_model_load_tensor would (without converting it). 1, or 0 with
 * err set. */
int eng_model_load_tensor_hash(eng_model *m, const st_tensor *t, char *err, size_t err_len);
/* Places a descriptor on the backend (ownership as eng_wdesc says). ENG_OK or ENG_ERR_BACKEND. */
int eng_model_put_weight(eng_model *m, eng_weight *w, const eng_wdesc *d, char *err, size_t err_len);

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
