/* engine.h - the public C API of the tango-bench engine: load a LLaVA-OneVision / LLaVA-Video
 * checkpoint and run its vision side (SigLIP tower -> projector -> 2-D pooling) with the saliency
 * taps the pruners need. The Qwen2 LLM (prefill with taps, in-LLM pruning, decode) is added to
 * this header by its own issue; its entry points go in the section marked "LLM" below.
 *
 * Usage:
 *     char err[512];
 *     eng_model_params mp = eng_model_default_params();   // backend cpu, head from DIR/siglip
 *     eng_model *m = eng_model_load("models/llava-ov-7b", &mp, err, sizeof err);
 *     if (!m) { fprintf(stderr, "%s\n", err); return 1; }
 *     eng_encode_params ep = eng_encode_default_params(); // pool mode from the config
 *     eng_vision_out out;
 *     // pixels: [T, 3, S, S] float32, already normalised ((x/255 - 0.5) / 0.5), S = image_size
 *     if (eng_vision_encode(m, pixels, T, &ep, &out, err, sizeof err) != ENG_OK) { ... }
 *     // out.pooled [T, L, D], out.pooled_attn [T, L], ...
 *     eng_vision_out_free(&out);
 *     eng_model_free(m);
 *
 * Threading: an eng_model is used by one thread at a time (it owns its backend state).
 * Errors: functions return ENG_OK (0) or a negative eng_status, with one line in the caller's
 * err buffer naming the file / tensor / value. Nothing here prints or exits.
 */
#ifndef TB_ENGINE_H
#define TB_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and backends -------------------------------------------------------------------- */

typedef enum {
    ENG_OK = 0,
    ENG_ERR_ARG = -1,     /* bad argument (shape, count, option) */
    ENG_ERR_IO = -2,      /* a file could not be read or written */
    ENG_ERR_FORMAT = -3,  /* checkpoint / config content is wrong (missing tensor, bad shape) */
    ENG_ERR_NOMEM = -4,   /* out of host or device memory */
    ENG_ERR_BACKEND = -5, /* the compute backend failed (CUDA error, not built with CUDA) */
} eng_status;

/* Stable lower-case name of a status ("ok", "bad argument", ...). */
const char *eng_status_str(int status);

typedef enum {
    ENG_BACKEND_REF = 0,  /* plain C reference kernels (slow; the oracle) */
    ENG_BACKEND_CPU = 1,  /* OpenBLAS sgemm + OpenMP (default) */
    ENG_BACKEND_CUDA = 2, /* CUDA + cuBLAS (make CUDA=1); fails to init otherwise */
} eng_backend_kind;

/* "ref" / "cpu" / "cuda". */
const char *eng_backend_name(eng_backend_kind kind);
/* Parses a backend name; 0 or -1 for an unknown name. */
int eng_backend_parse(const char *name, eng_backend_kind *out);

/* Where the LLM's visual block has image_newline rows (the config's mm_newline_position). */
typedef enum {
    ENG_NEWLINE_ONE_TOKEN = 0, /* one image_newline after all frames (OV; code default) */
    ENG_NEWLINE_GRID = 1,      /* one after each pooled row of each frame (LLaVA-Video) */
    ENG_NEWLINE_FRAME = 2,     /* one after each frame (unused by our checkpoints) */
    ENG_NEWLINE_NONE = 3       /* "no_token" */
} eng_newline_pos;
const char *eng_newline_str(eng_newline_pos n); /* "one_token" / "grid" / "frame" / "no_token" */

/* ---- model ---------------------------------------------------------------------------------- */

typedef struct eng_model eng_model; /* opaque: config, weights (on the backend), backend state */

typedef struct {
    eng_backend_kind backend; /* default ENG_BACKEND_CPU */
    const char *siglip_path;  /* SigLIP checkpoint (dir or .safetensors) holding post_layernorm and the
                                 attention-pooling head; NULL: DIR/siglip when it exists, else none;
                                 "": none. Without it map_attn / pooled_attn / frame_global are NULL. */
    int load_vision;          /* 1 (default): load the vision tower, projector and image_newline */
} eng_model_params;

eng_model_params eng_model_default_params(void);

/* Loads config.json + safetensors from dir (lmms-lab or llava-hf layout) and the optional SigLIP
 * head, converts the weights to float32 and places them on the backend. Returns NULL with err
 * set. Caller frees with eng_model_free. */
eng_model *eng_model_load(const char *dir, const eng_model_params *p, char *err, size_t err_len);

/* Frees everything; eng_model_free(NULL) is a no-op. */
void eng_model_free(eng_model *m);

/* Vision-side dimensions of a loaded model (T-independent). */
typedef struct {
    int image_size;   /* S: input side (384) */
    int patch_size;   /* 14 */
    int grid;         /* G: patches per side (27); P = G*G */
    int n_patches;    /* P (729) */
    int d_vision;     /* Dv (1152) */
    int n_heads;      /* 16 */
    int head_dim;     /* Dh (72) */
    int n_layers;     /* layers run (26: LLaVA's select layer) */
    int d_model;      /* D: projector output = LLM hidden (3584) */
    int has_head;     /* 1 when the SigLIP attention-pooling head is loaded */
    int pool_mode;    /* the config's mm_spatial_pool_mode: 0 bilinear, 1 average */
    const char *backend; /* "ref" / "cpu" / "cuda" (borrowed) */
    /* Qwen2.5-VL checkpoints (qwen = 1): the windowed ViT; image_size / grid / n_patches / pool
     * are 0 (the input size varies per video) */
    int qwen;
    int temporal_patch; /* frames per temporal slice (2) */
    int merge;          /* merge side (2): 2x2 patches -> one LLM token */
    int window;         /* window side in pixels (112) */
    int depth;          /* ViT blocks (32) */
} eng_vision_info;

void eng_model_vision_info(const eng_model *m, eng_vision_info *out);

/* Lower-case hex SHA-256 (64 chars): the "weights digest" of feature-cache and run keys. It covers
 * the name, dtype, shape and all bytes of every tensor the model loaded (vision tower, projector,
 * newline, SigLIP head), in load order, plus the name, dtype, shape and three 4 KiB byte samples
 * (start, middle, end) of every other tensor of the checkpoint (the LLM), so two checkpoints that
 * differ anywhere in practice get different digests without hashing 16 GB. Borrowed, valid until
 * eng_model_free. */
const char *eng_model_digest(const eng_model *m);

/* The learned image_newline vector [D] (host memory; borrowed, valid until eng_model_free), or
 * NULL when the checkpoint has none. */
const float *eng_model_image_newline(const eng_model *m);

/* ---- vision encode with taps ---------------------------------------------------------------- */

typedef enum {
    ENG_VPOOL_CONFIG = 0,   /* mm_spatial_pool_mode of the config */
    ENG_VPOOL_BILINEAR = 1, /* bilinear G -> ceil(G/2) (OV: 27 -> 14) */
    ENG_VPOOL_AVERAGE = 2,  /* 2x2 average, stride 2, floor: G -> G/2 (LLaVA-Video: 27 -> 13;
                               VLMEvalKit's override, quirk pipeline.video_pool_average) */
} eng_vision_pool;

typedef struct {
    eng_vision_pool pool; /* default ENG_VPOOL_CONFIG */
    int frames_per_batch; /* frames run through the tower together (memory bound); default 4 */
    int keep_hidden;      /* 1 (default): return vision_hidden; 0: NULL (saves T*P*Dv floats) */
    int keep_projected;   /* 1 (default): return projected; 0: NULL (saves T*P*D floats) */
} eng_encode_params;

eng_encode_params eng_encode_default_params(void);

/* Output of eng_vision_encode. Every array is host memory owned by the struct (free with
 * eng_vision_out_free); shapes use T = n_frames, P = n_patches, L = n_pooled. */
typedef struct {
    int64_t n_frames;    /* T */
    int64_t n_patches;   /* P = grid^2 */
    int64_t grid;        /* G */
    int64_t n_pooled;    /* L = grid_pooled^2 */
    int64_t grid_pooled; /* 14 (bilinear) or 13 (average) for G = 27 */
    int64_t d_vision;    /* Dv */
    int64_t d_model;     /* D */
    int64_t head_dim;    /* Dh */
    int pool_mode;       /* pooling used: 0 bilinear, 1 average */
    float *vision_hidden;     /* [T, P, Dv] residual stream after the last layer run, pre post-LN
                                 (NULL when keep_hidden = 0) */
    float *projected;         /* [T, P, D]  projector output (NULL when keep_projected = 0) */
    float *pooled;            /* [T, L, D]  projected, pooled on the grid: the LLM's visual tokens */
    float *map_attn;          /* [T, P] head-averaged attention of the SigLIP head probe over the
                                 post-layernormed features; each row sums to 1 (NULL: no head) */
    float *pooled_attn;       /* [T, L] map_attn pooled like the features, not renormalised */
    float *layer_attn_mean;   /* [T, P] mean attention each patch receives in the last layer run,
                                 averaged over heads and all P queries (VisionZip's score) */
    float *pooled_layer_attn; /* [T, L] layer_attn_mean pooled like the features */
    float *frame_global;      /* [T, Dv] SigLIP head output (pooled per-frame vector; NULL: no head) */
    float *pooled_keys;       /* [T, L, Dh] raw key projections of the last layer run (bias
                                 included, no RoPE), averaged over heads, pooled like the features */
    double seconds;           /* wall time of the encode (host clock, includes transfers) */
} eng_vision_out;

/* Runs the vision side on T frames. pixels: [T, 3, S, S] float32 host memory, normalised, RGB,
 * S = image_size (only the top-left G*patch pixels are seen, as in the reference). Fills *out
 * (zeroed first; on failure everything is freed). Returns ENG_OK or a negative status. */
int eng_vision_encode(eng_model *m, const float *pixels, int64_t n_frames, const eng_encode_params *p,
                      eng_vision_out *out, char *err, size_t err_len);

/* Frees the arrays of out and zeroes it; safe on a zeroed or already freed struct. */
void eng_vision_out_free(eng_vision_out *out);

/* ---- Qwen2.5-VL vision (checkpoints of layout qwen2.5-vl) ------------------------------------ */

/* Output of eng_qwen_vision_encode (spec qwen25vl.md §3, §6.2). Arrays are host memory owned by
 * the struct (free with eng_qwen_vision_out_free). Gt = grid_t temporal slices (2 frames each),
 * Lh x Lw = the merged-unit grid of a slice (grid_h/2 x grid_w/2), L = Lh*Lw, U = Gt*L. */
typedef struct {
    int64_t grid_t, grid_h, grid_w; /* the patch grid given (video_grid_thw) */
    int64_t unit_h, unit_w;         /* Lh, Lw */
    int64_t n_units;                /* U */
    int64_t units_per_slice;        /* L */
    int64_t d_model;                /* D: merger output = LLM hidden */
    int64_t head_dim;               /* ViT head dim (80) */
    float *merged;    /* [U, D] merger output in raster order (slice, unit row, unit col): the rows
                         that replace the <|video_pad|> embeddings, in order */
    float *gq_attn;   /* [Gt, L] global-query attention of the last block (Tango / FastVID saliency,
                         §6.2): softmax over the slice's units of the slice-mean rotated query
                         against unit-mean rotated keys, mean over heads; rows sum to 1 */
    float *unit_keys; /* [Gt, L, head_dim] the last block's unit-mean rotated keys, mean over
                         heads (VisionZip compat=paper's key metric, §7) */
    double seconds;   /* wall time */
} eng_qwen_vision_out;

/* Runs the Qwen2.5-VL ViT and merger on one video. pixel_rows: [grid_t*grid_h*grid_w, 3*Tp*p*p]
 * float32 host memory in the HF processor's layout (merge-unit order, §2.5; datasets/video.h
 * ds_qwen_patchify writes it); grid_h, grid_w even. Slices are independent throughout (attention
 * never crosses a temporal slice), so they run in chunks of slices_per_batch (<= 0: 4) to bound
 * memory. Fills *out (zeroed first; freed on failure). ENG_ERR_ARG when the model is not
 * Qwen2.5-VL or the grid is bad. */
int eng_qwen_vision_encode(eng_model *m, const float *pixel_rows, int64_t grid_t, int64_t grid_h, int64_t grid_w,
                           int slices_per_batch, eng_qwen_vision_out *out, char *err, size_t err_len);

void eng_qwen_vision_out_free(eng_qwen_vision_out *out);

/* get_window_index of one temporal slice (§3.3): on the Lh x Lw unit grid with windows of v x v
 * units (v = window / patch / merge), lists the unit ids (raster, 0..L-1) window by window
 * (windows row-major over the grid padded by v - Lh mod v rows and v - Lw mod v columns, units
 * row-major inside a window; empty windows vanish) into order[L], and the unit count of each
 * non-empty window into win_units[] (*n_win of them; capacity L). Pure arithmetic. */
void eng_qwen_window_order(int64_t Lh, int64_t Lw, int64_t v, int64_t *order, int64_t *win_units, int64_t *n_win);

/* ---- LLM (reserved: added by the Qwen2 issue) ----------------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif
