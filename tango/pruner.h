/* pruner.h - the pruner interface every token-pruning method implements (Tango and the
 * baselines): its input (one video's visual tokens, the model's typed layout, the saliency
 * signals, a budget), its output (the tokens the LLM sees, in order, an optional in-LLM plan, the
 * realised visual-token count at every LLM layer) and the method descriptor with its capability
 * flags. Only types and the shared input checks live here; the registry that names every method
 * is harness/registry.h, the method kit (parameters, the layout emitter, accounting) is
 * tango/kit.h, the retention maths tango/retention.h.
 *
 * Methods are pure: no printing, no exit, no global state; errors come back as a status and one
 * line in the caller's buffer.
 *
 * Usage:
 *     tg_prune_input in = tg_prune_input_default();
 *     in.features = F; in.n_frames = T; in.n_tokens = L; in.dim = D; in.grid_h = 14; in.grid_w = 14;
 *     in.model = tg_model_layout_default(TB_FAMILY_LLAVA_OV, 28, D);  // from the loaded model
 *     in.saliency = A; in.timestamps = ts; in.ratio = 0.1; in.seed = 0;
 *     const char *kv[] = { "compat=official" };
 *     in.params = kv; in.n_params = 1;
 *     tg_prune_output out;
 *     char err[256];
 *     if (tg_tango_method.run(&in, &out, err, sizeof err) != TG_OK) { ... err ... }
 *     // out.kept[0..out.n_kept-1], out.tokens, out.order[0..out.n_seq-1], out.plan, ...
 *     tg_prune_output_free(&out);
 */
#ifndef TG_PRUNER_H
#define TG_PRUNER_H

#include <stddef.h>
#include <stdint.h>

#include "common/family.h"
#include "common/llm_plan.h"

/* Status codes (numbers never reused). */
enum {
    TG_OK = 0,
    TG_ERR_INPUT = -1, /* bad shape, value or parameter: a usage-level error */
    TG_ERR_NOMEM = -2, /* allocation failed */
    TG_ERR_INTERNAL = -3,
};

/* Returns a constant name for a status code. */
const char *tg_status_str(int status);

/* Marker in tg_prune_output.order for a newline (image_newline) token. */
#define TG_NEWLINE (-1)

#define TG_MAX_LAYERS 128
#define TG_MAX_QUIRKS 16

/* ---------------------------------------------------------------------------------------------
 * The model a method prunes for: filled by the caller from the loaded checkpoint (the session),
 * or from command-line options where no model is loaded (`prune`, `flops`).
 * ------------------------------------------------------------------------------------------- */

/* Where the LLM's visual block has image_newline rows. */
typedef enum {
    TG_NEWLINE_ONE = 0,  /* one newline after the whole block (LLaVA-OneVision "one_token") */
    TG_NEWLINE_ROW = 1,  /* one after every grid row that keeps a token (LLaVA-Video "grid") */
    TG_NEWLINE_NONE = 2, /* no newline rows */
} tg_newline;

typedef struct {
    tb_family family;   /* which official per-model code path a method follows */
    tg_newline newline; /* newline layout of the visual block */
    int n_layers;       /* LLM decoder layers L (the depth in-LLM stages and Eq. 1 count) */
    int64_t hidden;     /* LLM width (the features' D) */
} tg_model_layout;

/* The family's own newline layout (OV: one, Video: per row), n_layers and hidden as given. */
tg_model_layout tg_model_layout_default(tb_family family, int n_layers, int64_t hidden);

/* "one" / "row" / "none". */
const char *tg_newline_name(tg_newline n);

/* ---------------------------------------------------------------------------------------------
 * Input: one video
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const float *features;     /* [T][L][D] visual tokens after projector + pooling (borrowed) */
    int64_t n_frames;          /* T */
    int64_t n_tokens;          /* L = grid_h * grid_w */
    int64_t dim;               /* D */
    int64_t grid_h, grid_w;    /* pooled grid, row-major */
    tg_model_layout model;     /* the LLM the tokens are for (required: n_layers >= 1) */
    const float *timestamps;   /* [T] frame times in seconds (borrowed; required by Tango). Qwen2.5-VL:
                                  the "frames" are temporal slices of 2 sampled frames; Tango
                                  derives slice times from frame_times when given */
    const double *frame_times; /* Qwen2.5-VL: [n_frame_times] times in seconds of the sampled
                                  frames (frame index / reader fps), or NULL (borrowed) */
    int64_t n_frame_times;
    const float *saliency;     /* [T][L] per-token saliency, >= 0 (e.g. SigLIP MAP-head attention
                                  pooled like the features; Qwen2.5-VL: the ViT's global-query
                                  attention, spec qwen25vl.md §6.2) (borrowed) */
    const float *saliency_recv;/* [T][L] optional: mean attention each token receives in the last
                                  vision layer, pooled like the features; NULL if absent */
    const float *frame_global; /* [T][G] optional per-frame global vectors (SigLIP head output);
                                  NULL if absent */
    int64_t global_dim;        /* G */
    const float *keys;         /* [T][L][Dk] optional per-token attention keys; NULL if absent */
    int64_t key_dim;           /* Dk */
    double ratio;              /* budget: nominal retention ratio in (0, 1] */
    uint64_t seed;             /* seed of every random draw (methods may override by a param) */
    const char *const *params; /* [n_params] "key=value" method parameters (borrowed) */
    int n_params;
    int n_threads;             /* CPU threads a method may use; <= 0: OpenMP default */
} tg_prune_input;

/* A zeroed input with n_threads = 0 and model.n_layers = 0 (the caller must set the model). */
tg_prune_input tg_prune_input_default(void);

/* Checks the generic part of an input: shapes positive, L = grid_h * grid_w, the model layout
 * (family and newline layout known, 1 <= n_layers <= TG_MAX_LAYERS, hidden == dim when set),
 * features and saliency finite, saliency >= 0, timestamps finite, ratio in (0, 1]. Returns
 * TG_OK or TG_ERR_INPUT with a message. Methods call it first. */
int tg_prune_input_check(const tg_prune_input *in, char *err, size_t err_len);

/* ---------------------------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    int64_t start, len;      /* frames [start, start+len) */
    int64_t n_static;        /* static tokens of the segment (0 for one frame) */
    double ratio_adj;        /* the ratio the segment used (r_adj, or r for one frame) */
    int64_t budget;          /* the segment's nominal budget (tokens) */
    int64_t kept_static;     /* tokens kept from the static pool */
    int64_t kept_salient;    /* salient tokens kept (dynamic part, all frames) */
    int64_t kept_context;    /* context tokens kept (dynamic part, all frames) */
    int64_t kept;            /* total kept tokens of the segment */
} tg_segment_info;

typedef struct {
    int64_t n_kept;          /* pre-LLM visual tokens kept (newlines excluded) */
    int64_t *kept;           /* [n_kept] ascending flat indices t*L + l (owned) */
    float *tokens;           /* [n_kept][D] kept vectors in kept[] order, merged values included,
                                before newline assembly (owned) */
    int64_t dim;             /* D */
    int64_t n_seq;           /* visual tokens the LLM receives (kept + newlines) */
    int64_t *order;          /* [n_seq] flat index, or TG_NEWLINE, in LLM order (owned) */
    int64_t *positions;      /* [n_seq] position id of each entry relative to the start of the
                                visual block (owned) */
    int64_t n_newlines;
    int64_t n_visual_full;   /* visual tokens of the unpruned video in the same layout
                                (T*L plus its newlines) */

    int n_segments;
    tg_segment_info *segments; /* [n_segments] (owned; may be NULL when a method has none) */

    tb_llm_plan plan;        /* the in-LLM stage the engine executes (common/llm_plan.h);
                                plan.layer = 0 when there is none. Its span is the whole visual
                                block, newline rows included; keep_count is the method's
                                predicted count (what the accounting below assumes) */

    int n_layers;                              /* LLM layers counted (in->model.n_layers) */
    int64_t visual_per_layer[TG_MAX_LAYERS];   /* realised visual tokens at each layer (newlines
                                                  included: what runs) */
    double equiv_retention;                    /* mean_l visual_per_layer[l] / n_visual_full */
    double equiv_retention_content;            /* the paper's accounting: content tokens only
                                                  (newlines excluded) over T*L */
    double ratio_used;                         /* the pre-LLM ratio the method applied */

    const char *compat;                        /* "official" or "paper" (static string) */
    int n_quirks;
    const char *quirks[TG_MAX_QUIRKS];         /* active quirk names (static strings) */
    char *params_json;                         /* resolved parameters as one JSON object (owned) */
} tg_prune_output;

/* Frees everything an output owns and zeroes it; safe on a zeroed or already freed output. */
void tg_prune_output_free(tg_prune_output *out);

/* ---------------------------------------------------------------------------------------------
 * Method descriptor
 * ------------------------------------------------------------------------------------------- */

/* Runs the method on one video. On TG_OK *out is filled (caller frees with
 * tg_prune_output_free); on error *out is zeroed and err holds one line. Never modifies the
 * input arrays. */
typedef int (*tg_prune_fn)(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len);

/* Capability flags: what callers may ask of a method instead of testing its name. */
enum {
    TG_CAP_NO_RATIO = 1 << 0,    /* ignores the budget (the full-token reference row) */
    TG_CAP_RECV_ATTN = 1 << 1,   /* its saliency is the mean attention each token RECEIVES in the
                                    last vision layer (in->saliency = saliency_recv), not the
                                    SigLIP attention-pooling head */
    TG_CAP_IN_LLM = 1 << 2,      /* may return an in-LLM plan (out->plan.layer > 0) */
    TG_CAP_NEEDS_KEYS = 1 << 3,  /* reads in->keys when present (VisionZip's key-cosine context) */
    TG_CAP_NEEDS_TIMES = 1 << 4, /* requires in->timestamps */
    TG_CAP_LLM_ONLY = 1 << 5,    /* prunes only inside the LLM: every pre-LLM token is kept and no
                                    vision-side signal (saliency, keys, times) is read (FastV, DART) */
};

typedef struct {
    const char *name;               /* as typed after --method */
    const char *summary;            /* one line */
    tg_prune_fn run;
    const char *const *param_keys;  /* NULL-terminated list of accepted --set keys */
    unsigned caps;                  /* TG_CAP_* */
} tg_method;

#endif
