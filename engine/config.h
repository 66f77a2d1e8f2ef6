/* config.h - engine-internal: the parsed model configuration of a LLaVA-OneVision / LLaVA-Video
 * checkpoint (both layouts), its tensor-name scheme, and generation_config.json.
 *
 * Two checkpoint layouts are understood (spec llava-ov-engine.md §2):
 *   ENG_LAYOUT_LMMS  original lmms-lab files (model_type "llava"/"llava_qwen"): flat Qwen2 keys plus
 *                    mm_* keys; the vision tower is implied by mm_vision_tower (SigLIP-so400m-
 *                    patch14-384 defaults) and may be overridden by an explicit "vision_config"
 *                    block (the tiny models use one). Tensor names "model.layers.L...",
 *                    "model.vision_tower.vision_tower.vision_model....", "model.mm_projector.0...".
 *   ENG_LAYOUT_HF    llava-hf files (model_type "llava_onevision"): "text_config" and
 *                    "vision_config" blocks. Tensor names "language_model.model.layers.L...",
 *                    "vision_tower.vision_model....", "multi_modal_projector.linear_1...";
 *                    the newer in-memory prefixes ("model.language_model....", "lm_head.weight",
 *                    ...) are accepted too (detected by eng_checkpoint_bind).
 *
 * Vision layers actually run (vision.n_layers) follow the select-layer rule of the reference:
 * hidden_states has n_layers_cfg+1 entries (embeddings, then one per layer), so a negative select
 * index s runs n_layers_cfg+1+s layers and a positive s runs s layers. lmms: SigLIP 27 layers,
 * mm_vision_select_layer -2 -> 26 layers (the checkpoint stores exactly those 26). hf:
 * vision_config.num_hidden_layers 26, vision_feature_layer -1 -> 26 layers. The checkpoint must
 * store layers 0..n_layers-1 and no others. lmms layout, at bind time: LLaVA's tower deletes
 * SigLIP's last layer and runs all the others, so an explicit vision_config may give
 * num_hidden_layers as the stored count (26) or one more (27); either way every stored layer runs
 * (eng_checkpoint_bind sets n_layers to the stored count); any other count is an error stating
 * this rule.
 *
 * Tensors are asked for by logical id (eng_tensor_id + layer index); a missing, mis-shaped or
 * unknown tensor is an error naming file and tensor, never a silent zero.
 *
 * The SigLIP attention-pooling head (for Tango saliency) lives in a separate Google checkpoint
 * (--siglip PATH, e.g. google/siglip-so400m-patch14-384 or DIR/siglip of a tiny model): ids
 * ENG_T_SIG_* have fixed names "vision_model.post_layernorm.*" / "vision_model.head.*" in that
 * file whatever the LLaVA layout; their shapes come from cfg->vision.
 *
 * Usage:
 *     eng_config cfg;
 *     char err[512];
 *     if (eng_config_load("model_dir", &cfg, err, sizeof err) != 0) { ...err... }
 *     st_file *st = st_open("model_dir", err, sizeof err);
 *     if (!st || eng_checkpoint_bind(&cfg, st, err, sizeof err) != 0) { ...err... }
 *     float *wq = eng_tensor_load_f32(st, &cfg, ENG_T_V_Q_W, 0, err, sizeof err); // [Dv, Dv]
 *     ...
 *     free(wq); st_close(st);
 */
#ifndef TB_ENGINE_CONFIG_H
#define TB_ENGINE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/safetensors.h"

/* ENG_LAYOUT_QWEN25VL: Qwen/Qwen2.5-VL-*-Instruct (model_type "qwen2_5_vl", spec qwen25vl.md §1):
 * the Qwen2 LLM keys at the top level (transformers >= 4.53 re-saves them under "text_config";
 * both read), a "vision_config" block for the windowed ViT, rope_scaling {"mrope_section"}.
 * Tensor names "visual.*" + "model.*" + "lm_head.weight", or the >= 4.52 in-memory names
 * "model.visual.*" + "model.language_model.*" (both accepted, detected by eng_checkpoint_bind). */
typedef enum { ENG_LAYOUT_LMMS = 0, ENG_LAYOUT_HF = 1, ENG_LAYOUT_QWEN25VL = 2 } eng_layout;

/* mm_spatial_pool_mode. VLMEvalKit forces AVERAGE for LLaVA-Video (quirk
 * pipeline.video_pool_average): the caller applies that override, the parser reports the file. */
typedef enum { ENG_POOL_BILINEAR = 0, ENG_POOL_AVERAGE = 1, ENG_POOL_MAX = 2 } eng_pool_mode;


/* mm_projector_type. Only mlp2x_gelu (Linear -> exact erf GELU -> Linear) is in use; the parser
 * rejects every other value with a clear error (LINEAR is reserved). */
typedef enum { ENG_PROJ_MLP2X_GELU = 0, ENG_PROJ_LINEAR = 1 } eng_projector_type;

/* Vision tower (SigLIP). Dv = hidden, Mv = intermediate, P = patch, G = grid = image/patch. */
typedef struct {
    int image_size;       /* input side in pixels (384); pixels past grid*patch are never seen */
    int patch_size;       /* P (14) */
    int grid;             /* G = image_size / patch_size, floor (27) */
    int n_patches;        /* G*G (729) */
    int hidden;           /* Dv (1152) */
    int n_heads;          /* (16) */
    int head_dim;         /* Dv / n_heads (72) */
    int intermediate;     /* Mv (4304) */
    int n_layers_cfg;     /* num_hidden_layers in the config (27 lmms/SigLIP default, 26 hf) */
    int select_layer;     /* raw select index (mm_vision_select_layer / vision_feature_layer) */
    int n_layers;         /* layers run and stored in the checkpoint (26) */
    int n_channels;       /* 3 */
    float layer_norm_eps; /* 1e-6 */
    int gelu_tanh;        /* 1: hidden_act gelu_pytorch_tanh (SigLIP); 0: exact erf gelu */
} eng_vision_config;

/* LLM (Qwen2). D = hidden, H = n_heads, G = n_kv_heads, Dh = head_dim, M = intermediate. */
typedef struct {
    int hidden;         /* D (3584) */
    int n_layers;       /* (28) */
    int n_heads;        /* H (28) */
    int n_kv_heads;     /* G (4) */
    int head_dim;       /* D / H (128) */
    int intermediate;   /* M (18944) */
    int vocab;          /* embedding / lm_head rows (152064 lmms, 152128 hf) */
    int max_position;   /* max_position_embeddings (32768) */
    double rope_theta;  /* (1e6); Qwen2Config default 10000 when absent */
    float rms_norm_eps; /* (1e-6) */
    int tie_embeddings; /* tie_word_embeddings: 1 -> lm_head is embed_tokens (no lm_head tensor) */
    int bos_id;         /* config bos_token_id or -1 (151643) */
    int eos_id;         /* config eos_token_id or -1 (151645) */
} eng_llm_config;

#define ENG_MAX_EOS 8
#define ENG_QWEN_MAX_FULLATT 64

/* Qwen2.5-VL vision transformer (vision_config; spec qwen25vl.md §1.1, §3). C = hidden, Mv =
 * intermediate, p = patch, Tp = temporal patch, m = spatial merge. The LLaVA eng_vision_config
 * of the same checkpoint mirrors hidden / heads / head_dim / intermediate / patch / depth (as
 * n_layers), so per-layer tensor names share one rule. */
typedef struct {
    int depth;             /* blocks (32) */
    int hidden;            /* C (1280) */
    int n_heads;           /* (16) */
    int head_dim;          /* C / n_heads (80; not a power of two) */
    int intermediate;      /* Mv (3420), SwiGLU with biases */
    int patch;             /* p (14) */
    int temporal_patch;    /* Tp (2): frames per temporal slice */
    int merge;             /* m (2): m x m patches -> one LLM token */
    int window;            /* window side in pixels (112 -> 112/p/m = 4 merged units) */
    int n_fullatt;         /* blocks with full (per-slice) attention */
    int fullatt[ENG_QWEN_MAX_FULLATT]; /* their indexes ([7, 15, 23, 31]) */
    int out_hidden;        /* merger output = LLM hidden (3584) */
    int tokens_per_second; /* M-RoPE temporal scale (2) */
    int in_channels;       /* 3 */
} eng_qwen_vision_config;

/* generation_config.json (all optional). */
typedef struct {
    int present; /* 1 when the file was found and parsed */
    int n_eos;   /* eos_token_id (int or list) */
    int eos_ids[ENG_MAX_EOS];
    int bos_id;                /* -1 when absent */
    int pad_id;                /* -1 when absent */
    double repetition_penalty; /* 1.0 when absent (lmms OV: 1.05) */
    int do_sample;             /* 0 when absent */
    double temperature;        /* 1.0 when absent */
    double top_p;              /* 1.0 when absent */
    int top_k;                 /* 50 when absent (HF default); informational */
    int max_new_tokens;        /* -1 when absent */
} eng_generation_config;

typedef struct {
    eng_layout layout;
    int hf_new_names;       /* hf only: 1 when the checkpoint uses the >=4.52 prefixes;
                               set by eng_checkpoint_bind */
    char model_type[32];    /* "llava", "llava_qwen", "llava_onevision" */
    char torch_dtype[16];   /* "bfloat16", "float16", "float32" or "" */
    char vision_tower[128]; /* mm_vision_tower (lmms) or "" */
    eng_vision_config vision;
    eng_projector_type projector; /* mm_projector_type / projector_hidden_act */
    eng_pool_mode pool_mode;      /* mm_spatial_pool_mode (hf: bilinear) */
    int pool_stride;              /* mm_spatial_pool_stride, default 2 (the reference hard-codes 2) */
    eng_newline_pos newline;      /* mm_newline_position (hf: one_token) */
    int has_image_newline;        /* 1: image_newline tensor expected (spatial_unpad / hf) */
    int image_token_id;           /* placeholder id: -200 lmms, image_token_index hf (151646) */
    int video_token_id;           /* hf video_token_index (151647), qwen video_token_id (151656), or -1 */
    /* Qwen2.5-VL only (layout ENG_LAYOUT_QWEN25VL; zero otherwise) */
    eng_qwen_vision_config qv;
    int mrope_section[3];         /* rope_scaling.mrope_section: frequency pairs driven by t, h, w
                                     ([16, 24, 24], sum = head_dim / 2) */
    int vision_start_id;          /* <|vision_start|> (151652) */
    int vision_end_id;            /* <|vision_end|> (151653) */
    eng_llm_config llm;
    eng_generation_config gen;
} eng_config;

/* ---- parsing ------------------------------------------------------------------------------- */

/* Reads DIR/config.json (required) and DIR/generation_config.json (optional) into *cfg.
 * Returns 0, or -1 with "PATH: field: problem" in err. */
int eng_config_load(const char *dir, eng_config *cfg, char *err, size_t err_len);

/* Parses a config.json text of len bytes (not necessarily NUL-terminated); source names it in
 * errors. Leaves cfg->gen at its defaults. Returns 0 or -1 with err set. */
int eng_config_parse(const char *json, size_t len, const char *source, eng_config *cfg, char *err, size_t err_len);

/* Parses a generation_config.json text into *gen (defaults first). Returns 0 or -1. */
int eng_generation_config_parse(const char *json, size_t len, const char *source, eng_generation_config *gen, char *err,
                                size_t err_len);

/* Sets *gen to the "absent file" defaults (present = 0, penalty 1.0, ...). */
void eng_generation_config_default(eng_generation_config *gen);

/* Reads the config.json of a Google SigLIP checkpoint directory (the --siglip PATH; a full
 * SiglipModel config with a "vision_config" block, or a bare SiglipVisionConfig) into *out
 * (transformers SiglipVisionConfig defaults for absent keys, as transformers would; n_layers =
 * n_layers_cfg). path may be the directory or the config.json. Returns 0 or -1. */
int eng_siglip_config_load(const char *path, eng_vision_config *out, char *err, size_t err_len);

/* Checks that a SigLIP head checkpoint matches the LLaVA vision tower (hidden, heads,
 * intermediate equal). Returns 0 or -1 with both values named in err. */
int eng_siglip_config_check(const eng_vision_config *llava, const eng_vision_config *siglip, char *err, size_t err_len);

/* Pooled grid side for the configured pool mode: bilinear ceil(G/stride), average/max
 * floor(G/stride) (27 -> 14 / 13). mode is passed explicitly so callers can apply the
 * LLaVA-Video "average" override. */
int eng_config_pooled_grid(const eng_config *cfg, eng_pool_mode mode);

const char *eng_layout_str(eng_layout l);       /* "lmms" / "hf" / "qwen2.5-vl" */
const char *eng_pool_mode_str(eng_pool_mode m); /* "bilinear" / "average" / "max" */

/* ---- tensor-name scheme -------------------------------------------------------------------- */

/* Logical tensors. (L) = per layer: the layer argument is 0..n_layers-1 of the vision tower or
 * the LLM; other ids ignore it. Shapes in brackets (PyTorch Linear weights are [out, in]). */
typedef enum {
    /* vision tower (LLaVA checkpoint) */
    ENG_T_V_PATCH_W = 0, /* [Dv, 3, P, P] */
    ENG_T_V_PATCH_B,     /* [Dv] */
    ENG_T_V_POS,         /* [G*G, Dv] */
    ENG_T_V_LN1_W,       /* (L) [Dv] */
    ENG_T_V_LN1_B,       /* (L) [Dv] */
    ENG_T_V_Q_W,         /* (L) [Dv, Dv] */
    ENG_T_V_Q_B,         /* (L) [Dv] */
    ENG_T_V_K_W,         /* (L) [Dv, Dv] */
    ENG_T_V_K_B,         /* (L) [Dv] */
    ENG_T_V_V_W,         /* (L) [Dv, Dv] */
    ENG_T_V_V_B,         /* (L) [Dv] */
    ENG_T_V_O_W,         /* (L) [Dv, Dv]  self_attn.out_proj */
    ENG_T_V_O_B,         /* (L) [Dv] */
    ENG_T_V_LN2_W,       /* (L) [Dv] */
    ENG_T_V_LN2_B,       /* (L) [Dv] */
    ENG_T_V_FC1_W,       /* (L) [Mv, Dv] */
    ENG_T_V_FC1_B,       /* (L) [Mv] */
    ENG_T_V_FC2_W,       /* (L) [Dv, Mv] */
    ENG_T_V_FC2_B,       /* (L) [Dv] */
    ENG_T_V_POST_LN_W,   /* [Dv] (stored, output unused by the reference) */
    ENG_T_V_POST_LN_B,   /* [Dv] */
    /* projector + newline */
    ENG_T_PROJ1_W, /* [D, Dv]  mm_projector.0 / linear_1 */
    ENG_T_PROJ1_B, /* [D] */
    ENG_T_PROJ2_W, /* [D, D]   mm_projector.2 / linear_2 */
    ENG_T_PROJ2_B, /* [D] */
    ENG_T_NEWLINE, /* [D]      image_newline */
    /* LLM */
    ENG_T_EMBED,       /* [V, D] */
    ENG_T_L_IN_NORM,   /* (L) [D] input_layernorm */
    ENG_T_L_Q_W,       /* (L) [H*Dh, D] */
    ENG_T_L_Q_B,       /* (L) [H*Dh] */
    ENG_T_L_K_W,       /* (L) [G*Dh, D] */
    ENG_T_L_K_B,       /* (L) [G*Dh] */
    ENG_T_L_V_W,       /* (L) [G*Dh, D] */
    ENG_T_L_V_B,       /* (L) [G*Dh] */
    ENG_T_L_O_W,       /* (L) [D, H*Dh] */
    ENG_T_L_POST_NORM, /* (L) [D] post_attention_layernorm */
    ENG_T_L_GATE_W,    /* (L) [M, D] */
    ENG_T_L_UP_W,      /* (L) [M, D] */
    ENG_T_L_DOWN_W,    /* (L) [D, M] */
    ENG_T_NORM,        /* [D] final norm */
    ENG_T_LM_HEAD,     /* [V, D] (the embedding when tie_embeddings) */
    /* SigLIP attention-pooling head: separate Google checkpoint (--siglip), fixed names */
    ENG_T_SIG_POST_LN_W, /* [Dv] vision_model.post_layernorm.weight */
    ENG_T_SIG_POST_LN_B, /* [Dv] */
    ENG_T_SIG_PROBE,     /* [1, 1, Dv] vision_model.head.probe */
    ENG_T_SIG_IN_W,      /* [3*Dv, Dv] head.attention.in_proj_weight (q;k;v stacked) */
    ENG_T_SIG_IN_B,      /* [3*Dv] head.attention.in_proj_bias */
    ENG_T_SIG_OUT_W,     /* [Dv, Dv] head.attention.out_proj.weight */
    ENG_T_SIG_OUT_B,     /* [Dv] */
    ENG_T_SIG_LN_W,      /* [Dv] head.layernorm.weight */
    ENG_T_SIG_LN_B,      /* [Dv] */
    ENG_T_SIG_FC1_W,     /* [Mv, Dv] head.mlp.fc1.weight */
    ENG_T_SIG_FC1_B,     /* [Mv] */
    ENG_T_SIG_FC2_W,     /* [Dv, Mv] head.mlp.fc2.weight */
    ENG_T_SIG_FC2_B,     /* [Dv] */
    /* Qwen2.5-VL vision transformer (layout ENG_LAYOUT_QWEN25VL); (L) = block 0..depth-1 */
    ENG_T_QV_PATCH_W,   /* [C, 3, Tp, p, p]  Conv3d, no bias */
    ENG_T_QV_NORM1_W,   /* (L) [C] RMSNorm */
    ENG_T_QV_NORM2_W,   /* (L) [C] */
    ENG_T_QV_QKV_W,     /* (L) [3C, C]  rows q, k, v */
    ENG_T_QV_QKV_B,     /* (L) [3C] */
    ENG_T_QV_PROJ_W,    /* (L) [C, C] */
    ENG_T_QV_PROJ_B,    /* (L) [C] */
    ENG_T_QV_GATE_W,    /* (L) [Mv, C] */
    ENG_T_QV_GATE_B,    /* (L) [Mv] */
    ENG_T_QV_UP_W,      /* (L) [Mv, C] */
    ENG_T_QV_UP_B,      /* (L) [Mv] */
    ENG_T_QV_DOWN_W,    /* (L) [C, Mv] */
    ENG_T_QV_DOWN_B,    /* (L) [C] */
    ENG_T_QV_MERGE_LN_W, /* [C] merger.ln_q (RMSNorm) */
    ENG_T_QV_MERGE1_W,  /* [m*m*C, m*m*C] merger.mlp.0 */
    ENG_T_QV_MERGE1_B,  /* [m*m*C] */
    ENG_T_QV_MERGE2_W,  /* [D, m*m*C] merger.mlp.2 */
    ENG_T_QV_MERGE2_B,  /* [D] */
    ENG_T_COUNT
} eng_tensor_id;

/* 1 for a per-layer vision-tower tensor (layer in 0..vision.n_layers-1), 2 for a per-layer LLM
 * tensor (layer in 0..llm.n_layers-1), 0 for a global tensor (layer ignored). */
int eng_tensor_is_layered(eng_tensor_id id);

/* 1 for the ENG_T_SIG_* ids (they live in the --siglip checkpoint). */
int eng_tensor_is_siglip(eng_tensor_id id);

/* 1 when a checkpoint of cfg's layout stores id: the LLaVA layouts hold the SigLIP tower,
 * projector, (newline) and LLM ids; Qwen2.5-VL holds the ENG_T_QV_* and LLM ids. The lm_head is
 * absent with tied embeddings, the newline without has_image_newline. */
int eng_tensor_in_layout(const eng_config *cfg, eng_tensor_id id);

/* Writes the checkpoint name of (id, layer) for cfg's layout into buf. Returns 0, or -1 with err
 * set for a bad id or out-of-range layer or a too-small buffer. */
int eng_tensor_name(const eng_config *cfg, eng_tensor_id id, int layer, char *buf, size_t len, char *err,
                    size_t err_len);

/* Expected shape of id under cfg: writes shape[0..ndim-1], returns ndim (1..5) or -1 for a bad
 * id. */
int eng_tensor_shape(const eng_config *cfg, eng_tensor_id id, int64_t shape[ST_MAX_DIMS]);

/* Looks up (id, layer) in st and checks its shape and that every value is finite (scanned once
 * per tensor, st_check_finite). Returns the borrowed tensor (data in the checkpoint's dtype), or
 * NULL with "FILE: tensor NAME: ..." (missing / shape / NaN or Inf) in err. */
const st_tensor *eng_tensor_find(const st_file *st, const eng_config *cfg, eng_tensor_id id, int layer, char *err,
                                 size_t err_len);

/* Loads (id, layer) as a new float32 buffer of the expected shape (F16/BF16 converted). Caller
 * frees with free(). NULL with err set when missing / mis-shaped. */
float *eng_tensor_load_f32(const st_file *st, const eng_config *cfg, eng_tensor_id id, int layer, char *err,
                           size_t err_len);

/* Checks a LLaVA checkpoint against cfg: every expected (non-SigLIP) tensor present with its
 * shape; no unknown names (a stray tensor such as a vision layer past n_layers or a "head" is an
 * error naming it); for hf, detects the name prefix variant and sets cfg->hf_new_names. Values are
 * not read here (eng_tensor_find scans each tensor a model loads), so a model mapping the
 * checkpoint touches only its own tensors. Returns 0 or -1 with err naming file and tensor. */
int eng_checkpoint_bind(eng_config *cfg, const st_file *st, char *err, size_t err_len);

/* Checks that the --siglip checkpoint holds the post_layernorm and head tensors (ENG_T_SIG_*)
 * with the shapes of cfg->vision (other tensors, e.g. the text tower, are ignored). Returns 0 or
 * -1 with err naming file and tensor. */
int eng_siglip_check(const eng_config *cfg, const st_file *siglip, char *err, size_t err_len);

/* Number of tensors a checkpoint of this config holds (765 for the 7B lmms layout, 729 for
 * Qwen2.5-VL-7B). */
size_t eng_checkpoint_tensor_count(const eng_config *cfg);

#endif
