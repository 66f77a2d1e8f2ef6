/* pruner.h - the pruner interface every token-pruning method implements (Tango and the
 * baselines), and the registry table that maps a method name to its implementation.
 *
 * A method takes the visual tokens of one video after projector and pooling and returns the
 * tokens the LLM sees, in order, plus an optional in-LLM plan the engine executes during prefill,
 * plus the realised visual-token count at every LLM layer (so FLOPs and the equivalent retention
 * come from what actually ran). Methods are pure: no printing, no exit, no global state; errors
 * come back as a status and a message in the caller's buffer.
 *
 * Usage:
 *     tg_prune_input in = tg_prune_input_default();
 *     in.features = F; in.n_frames = T; in.n_tokens = L; in.dim = D; in.grid_h = 14; in.grid_w = 14;
 *     in.saliency = A; in.timestamps = ts; in.ratio = 0.1; in.seed = 0;
 *     const char *kv[] = { "model=llava-ov", "compat=official" };
 *     in.params = kv; in.n_params = 2;
 *     const tg_method *m = tg_method_find("tango");
 *     tg_prune_output out;
 *     char err[256];
 *     if (m->run(&in, &out, err, sizeof err) != TG_OK) { ... err ... }
 *     // out.kept[0..out.n_kept-1], out.tokens, out.order[0..out.n_seq-1], out.plan, ...
 *     tg_prune_output_free(&out);
 *
 * Extending the registry from baselines/: if a header "baselines/baselines.h" exists it is
 * included by tango/registry.c and must define the macro BL_METHOD_ENTRIES, a comma-terminated
 * list of tg_method initialisers, e.g.
 *     #define BL_METHOD_ENTRIES { "fastv", "FastV ...", bl_fastv_run, bl_fastv_keys },
 * so baselines register themselves without editing tango/.
 */
#ifndef TG_PRUNER_H
#define TG_PRUNER_H

#include <stddef.h>
#include <stdint.h>

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
 * Input: one video
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const float *features;     /* [T][L][D] visual tokens after projector + pooling (borrowed) */
    int64_t n_frames;          /* T */
    int64_t n_tokens;          /* L = grid_h * grid_w */
    int64_t dim;               /* D */
    int64_t grid_h, grid_w;    /* pooled grid, row-major */
    const float *timestamps;   /* [T] frame times in seconds (borrowed; required by Tango) */
    const float *saliency;     /* [T][L] per-token saliency, >= 0 (e.g. SigLIP MAP-head attention
                                  pooled like the features) (borrowed) */
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

/* A zeroed input with n_threads = 0. */
tg_prune_input tg_prune_input_default(void);

/* Checks the generic part of an input: shapes positive, L = grid_h * grid_w, features and
 * saliency finite, saliency >= 0, timestamps finite, ratio in (0, 1]. Returns TG_OK or
 * TG_ERR_INPUT with a message. Methods call it first. */
int tg_prune_input_check(const tg_prune_input *in, char *err, size_t err_len);

/* ---------------------------------------------------------------------------------------------
 * In-LLM plan: what the engine does between two decoder layers during prefill
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    TG_PLAN_MERGE_NONE = 0,
    TG_PLAN_MERGE_COSINE_FOLD = 1,
    TG_PLAN_MERGE_PAIRWISE_SEQ = 2, /* HoliTom inner merge: cosine of every dropped token to every
                                       kept token computed ONCE (layer-input hidden states); then,
                                       dropped tokens in ascending index order, h_t <- (h_t + h_j) / 2
                                       for t = its most similar kept token (first max wins) */
} tg_plan_merge;
typedef enum { TG_PLAN_POS_ORIGINAL = 0, TG_PLAN_POS_CONTIGUOUS = 1 } tg_plan_pos;
typedef enum { TG_PLAN_ROUND_HALF_EVEN = 0, TG_PLAN_ROUND_FLOOR = 1, TG_PLAN_ROUND_CEIL = 2 } tg_plan_round;

typedef struct {
    int enabled;           /* 0: no in-LLM stage */
    int layer;             /* first 0-based layer that runs on the pruned sequence (18);
                              scores come from layer - 1 */
    int score_layer;       /* layer - 1 (17): attention probabilities taken from this layer */
    double keep_ratio;     /* fraction of the visual span kept (0.5) */
    tg_plan_round keep_round; /* n_keep = round(V * keep_ratio) with this rule (Python round) */
    int span_includes_newlines; /* 1: the visual span V counts newline tokens too */
    int score_last_query;  /* 1: scores = last query row (last prompt token), mean over heads */
    int score_causal_mask; /* 0: the score layer runs WITHOUT a causal mask in prefill
                              (quirk tango.fastv_layer17_bidirectional); 1: causal */
    tg_plan_merge merge;   /* TG_PLAN_MERGE_COSINE_FOLD: each dropped token goes to its most
                              cosine-similar kept token (L2-normalised layer-input hidden states,
                              first max wins); pooled = (h_keep + sum h) / (1 + count);
                              h_keep <- w_keep * h_keep + w_pool * pooled */
    double w_keep;         /* 0.6 */
    double w_pool;         /* 0.4 */
    tg_plan_pos positions; /* TG_PLAN_POS_ORIGINAL: kept tokens keep their original position ids */
    int64_t n_visual_in;   /* V: visual tokens entering the stage (as predicted by the pruner) */
    int64_t n_keep;        /* tokens kept from layer `layer` on */
    int score_all_queries; /* 1: scores = mean attention each visual token receives from all
                              (causal) query rows, head mean (FastV compat=paper); overrides
                              score_last_query. 0: as score_last_query says */
} tg_llm_plan;

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

    tg_llm_plan plan;        /* plan.enabled = 0 when there is no in-LLM stage */

    int n_layers;                              /* LLM layers counted (28 for Qwen2-7B) */
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
 * Registry
 * ------------------------------------------------------------------------------------------- */

/* Runs the method on one video. On TG_OK *out is filled (caller frees with
 * tg_prune_output_free); on error *out is zeroed and err holds one line. Never modifies the
 * input arrays. */
typedef int (*tg_prune_fn)(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len);

typedef struct {
    const char *name;               /* as typed after --method */
    const char *summary;            /* one line */
    tg_prune_fn run;
    const char *const *param_keys;  /* NULL-terminated list of accepted --set keys */
} tg_method;

/* The registry, terminated by an entry with name == NULL. */
extern const tg_method tg_methods[];

/* Finds a method by name; NULL if unknown. */
const tg_method *tg_method_find(const char *name);

/* ---------------------------------------------------------------------------------------------
 * Helpers for methods
 * ------------------------------------------------------------------------------------------- */

/* Validates in->params: each must be "key=value" with key in keys (NULL-terminated); a key may
 * appear more than once (the last one wins). Returns TG_OK or TG_ERR_INPUT naming the entry. */
int tg_params_check(const tg_prune_input *in, const char *const *keys, char *err, size_t err_len);

/* The value of the last "key=..." in in->params, or NULL (borrowed). */
const char *tg_param_get(const tg_prune_input *in, const char *key);

/* Typed getters: leave *v unchanged and return 0 when the key is absent; return 1 when set, or
 * TG_ERR_INPUT with a message when the value does not parse (or is not finite / out of range). */
int tg_param_double(const tg_prune_input *in, const char *key, double lo, double hi, double *v, char *err,
                    size_t err_len);
int tg_param_int(const tg_prune_input *in, const char *key, int64_t lo, int64_t hi, int64_t *v, char *err,
                 size_t err_len);
/* Comma list of integers ("" or "none" = empty list); *n = count. */
int tg_param_int_list(const tg_prune_input *in, const char *key, int64_t *v, int max, int *n, char *err,
                      size_t err_len);

/* Assembles the LLM order for a LLaVA layout from ascending kept flat indices:
 *   newline_grid = 0 ("one_token", OneVision): the kept tokens, then one newline at the end;
 *   newline_grid = 1 ("grid", LLaVA-Video): per frame and grid row holding >= 1 kept token, its
 *   tokens in column order followed by one newline; empty rows emit nothing.
 * Fills out->order, out->positions (contiguous 0..n_seq-1), n_seq, n_newlines, n_visual_full.
 * Returns TG_OK or TG_ERR_NOMEM. */
int tg_assemble_llava(tg_prune_output *out, int64_t T, int64_t H, int64_t W, int newline_grid);

/* Reference execution of an in-LLM plan on the visual span, for the engine (float32; the models
 * accumulate the fold in fp16):
 *   n_keep = plan->n_keep if > 0, else round(V * keep_ratio) with plan->keep_round;
 *   kept = the n_keep largest score[] (ties: lower index), returned ascending in keep_idx
 *   (the positions the engine keeps, with their original position ids);
 *   with TG_PLAN_MERGE_COSINE_FOLD every other token goes to its most cosine-similar kept token
 *   (L2-normalised rows, kept tokens compared in descending-score order, first maximum wins) and
 *   h_keep <- w_keep * h_keep + w_pool * (h_keep + sum of assigned) / (1 + count);
 *   with TG_PLAN_MERGE_NONE the kept rows are copied unchanged.
 * score [V] (attention of the last query row over the span), hidden [V][D] (layer input);
 * keep_idx [V] and hidden_out [V][D] must hold V entries; *n_out gets n_keep. Returns TG_OK,
 * TG_ERR_INPUT (n_keep outside [1, V], plan disabled) or TG_ERR_NOMEM. */
int tg_llm_plan_fold(const tg_llm_plan *plan, const float *score, const float *hidden, int64_t V, int64_t D,
                     int64_t *keep_idx, float *hidden_out, int64_t *n_out, char *err, size_t err_len);

/* Fills visual_per_layer[0..n_layers-1] (n_seq before plan->layer, plan->n_keep from it on when
 * the plan is enabled), equiv_retention (from harness/flops.h fl_equiv_retention) and
 * equiv_retention_content. n_layers <= TG_MAX_LAYERS. */
void tg_account_layers(tg_prune_output *out, int n_layers, int64_t n_content_full);

#endif
