/* llm.h - the public C API of the engine's LLM side: the Qwen2 decoder of a LLaVA-OneVision /
 * LLaVA-Video checkpoint (spec llava-ov-engine.md §1.5, §7) with a KV cache, prefill over a
 * sequence that mixes text token embeddings and visual tokens, greedy generation, the
 * last-query-row attention tap, and in-LLM pruning plans (FastV / HoliTom / Tango stages) executed
 * between two decoder layers. Kept apart from engine.h (the vision side) on purpose.
 *
 * Usage:
 *     char err[512];
 *     eng_llm_params lp = eng_llm_default_params();        // cpu backend, all vocabulary rows
 *     eng_llm *m = eng_llm_load("models/llava-ov-7b", &lp, err, sizeof err);
 *     if (!m) { fprintf(stderr, "%s\n", err); return 1; }
 *     eng_llm_state *s = eng_llm_state_init(m, 8192, err, sizeof err);   // KV cache for 8192 tokens
 *     // ids: prompt token ids with ONE image placeholder (-200) where the visual block goes;
 *     // vis: [n_vis, D] the visual block in LLM order, newline rows included (the pruners' layout
 *     // emitter, tango/kit.h, decides that order; the engine takes the block as given)
 *     eng_llm_prefill_params pp = eng_llm_prefill_default_params();
 *     pp.ids = ids; pp.n_ids = n_ids; pp.visual = vis; pp.n_visual = n_vis;
 *     tb_llm_plan plan = tb_llm_plan_default();           // optional in-LLM pruning
 *     plan.layer = 2; plan.keep_ratio = 0.5;              // FastV: K = 2, keep half by attention
 *     pp.plan = &plan;
 *     eng_llm_prefill_out po;
 *     if (eng_llm_prefill(s, &pp, &po, err, sizeof err) != ENG_OK) { ... }
 *     // po.logits: [1, n_vocab_out] for the last position; po.n_visual_layer[l]: realised counts
 *     eng_llm_gen_params gp = eng_llm_gen_default_params();
 *     int64_t out[64], n_out;
 *     eng_llm_generate(s, &gp, out, 64, &n_out, err, sizeof err);   // greedy, stops on eos ids
 *     eng_llm_state_free(s);
 *     eng_llm_free(m);
 *
 * Conventions. D = hidden, V = vocabulary rows, Vo = logits width (vocab_limit or V), N = prefill
 * length after splicing (n_ids - 1 + n_visual), L = number of decoder layers. Layers are 0-based.
 * Position ids are plain 1-D (0..N-1 unless the caller gives its own); decode step k runs at
 * position (last prefill position + 1 + k), i.e. N + k with default positions, whatever a plan
 * removed (HF semantics: the layer-0 cache is full length).
 *
 * Numerics: float32 activations and weights (bf16/fp16 checkpoints converted at load), fp32
 * softmax and norms (the kernels of engine/kernels.h). Not a bitwise match of the fp16 reference.
 *
 * Threading: an eng_llm is read-only after load, but it owns one backend state, so one thread
 * uses it (and its states) at a time. Errors: ENG_OK or a negative eng_status (engine.h), with one
 * line in the caller's err buffer. Nothing here prints or exits.
 */
#ifndef TB_ENGINE_LLM_H
#define TB_ENGINE_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "common/llm_plan.h"
#include "engine/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The LLaVA image placeholder id of the lmms layout (IMAGE_TOKEN_INDEX). The checkpoint's own
 * image_token_id (hf: 151646) is accepted as a placeholder too. */
#define ENG_LLM_IMAGE_PLACEHOLDER (-200)

/* ---- model ---------------------------------------------------------------------------------- */

typedef struct eng_llm eng_llm;             /* opaque: config + LLM weights on a backend */
typedef struct eng_llm_state eng_llm_state; /* opaque: KV cache, activations, scratch, timers */

typedef struct {
    eng_backend_kind backend; /* default ENG_BACKEND_CPU */
    int64_t vocab_limit;      /* logits are computed for ids 0..vocab_limit-1 only, and argmax runs
                                 over them (quirk pipeline.vocab_shrink: 151646 for the real
                                 models); 0 (default) = all V rows */
} eng_llm_params;

eng_llm_params eng_llm_default_params(void);

/* Loads config.json (+ generation_config.json) and the LLM tensors (embedding, 28 decoder layers,
 * final norm, lm_head, image_newline when the config has one) of a LLaVA checkpoint directory,
 * lmms-lab or llava-hf layout. The vision tensors are checked for presence (eng_checkpoint_bind)
 * but not loaded. Returns NULL with err set. Caller frees with eng_llm_free. */
eng_llm *eng_llm_load(const char *dir, const eng_llm_params *p, char *err, size_t err_len);

/* How many times eng_llm_load has succeeded in this process (a diagnostic: a 7B LLM must be loaded
 * once per run; `run` logs it). */
size_t eng_llm_load_count(void);

/* Frees the model; eng_llm_free(NULL) is a no-op. All states of the model must be freed first. */
void eng_llm_free(eng_llm *m);

typedef struct {
    int hidden;         /* D */
    int n_layers;       /* L */
    int n_heads;        /* H */
    int n_kv_heads;     /* G */
    int head_dim;       /* Dh */
    int intermediate;   /* M */
    int64_t vocab;      /* V: embedding / lm_head rows */
    int64_t vocab_out;  /* Vo: logits width (vocab_limit or V) */
    double rope_theta;
    float rms_norm_eps;
    int newline_mode;   /* eng_newline_pos of the config (0 one_token, 1 grid, 2 frame, 3 none) */
    int has_newline;    /* 1 when image_newline was loaded */
    int image_token_id; /* the config's placeholder id (-200 lmms) */
    int n_stop;         /* stop ids: generation_config eos list, else config eos_token_id */
    int stop_ids[8];
    double repetition_penalty; /* generation_config value (1.0 when absent) */
    int mrope;                 /* 1: Qwen2.5-VL (M-RoPE, pad splice); the ids below are set */
    int mrope_section[3];      /* t, h, w frequency pairs */
    int video_token_id;        /* the pad id the visual rows replace */
    int vision_start_id, vision_end_id;
    int tokens_per_second;     /* vision_config.tokens_per_second (M-RoPE temporal scale) */
    int spatial_merge;         /* vision_config.spatial_merge_size */
    size_t weight_bytes;       /* float32 weight bytes held (backend buffers + host embedding) */
    const char *backend;       /* "ref" / "cpu" / "cuda" (borrowed) */
} eng_llm_info;

void eng_llm_get_info(const eng_llm *m, eng_llm_info *out);

/* The learned image_newline vector [D] (host memory, borrowed until eng_llm_free), or NULL. */
const float *eng_llm_image_newline(const eng_llm *m);

/* ---- in-LLM pruning plan -------------------------------------------------------------------- */

/* The plan type and its rules are common/llm_plan.h (tb_llm_plan), shared with the pruners that
 * produce plans. eng_llm_prefill executes one between layers K-1 and K: layers < K run (and
 * cache) the full sequence; layers >= K run and cache only the rows before the visual span, the
 * kept and protected span rows (ascending original order) and the rows after the span. Decode
 * never re-prunes. */

/* Runs a plan's selection and merge rules on ONE span outside a forward pass: the code
 * eng_llm_prefill runs between layers K-1 and K (the span's scores given instead of computed).
 * score [V]: the layer K-1 scores of the span rows (last-query attention, or received attention
 * for TB_PLAN_SELECT_ALL_QUERIES); hidden [V][D] host rows, merged in place (the kept rows hold
 * their merged values afterwards); kept [V] receives the kept and protected span-relative
 * indices, ascending, *n_kept their count. The merge similarities run on `backend`.
 * ENG_OK, ENG_ERR_ARG (a bad rule or index), ENG_ERR_NOMEM or ENG_ERR_BACKEND. */
int eng_llm_plan_apply(eng_backend_kind backend, const tb_llm_plan *p, const float *score, float *hidden, int64_t V,
                       int64_t D, int64_t *kept, int64_t *n_kept, char *err, size_t err_len);

/* DART's signals for one span (TB_PLAN_SELECT_DART), as the prefill derives them at layer K-1. */
typedef struct {
    const double *key_l1; /* [V + n_after] L1 norm of each row's post-RoPE key (all KV heads): the
                             span rows, then the n_after rows that follow the span */
    const float *normed;  /* [V + n_after][D] the rows' layer K-1 outputs through the final norm */
    int64_t n_after;      /* rows after the span (text pivots are drawn from them) */
    int64_t span_start;   /* sequence index of span row 0 (the CPython set order hashes it) */
} eng_plan_pivots;

/* eng_llm_plan_apply for a DART plan: the same selection (and merge, when the plan has one) the
 * prefill runs, from given key norms and normed states. ENG_ERR_ARG for a plan that is not
 * DART's. */
int eng_llm_plan_apply_pivots(eng_backend_kind backend, const tb_llm_plan *p, const eng_plan_pivots *pv,
                              float *hidden, int64_t V, int64_t D, int64_t *kept, int64_t *n_kept, char *err,
                              size_t err_len);

/* ---- state and prefill ---------------------------------------------------------------------- */

/* Creates a state whose KV cache holds n_ctx tokens (prefill length + generated tokens) for every
 * layer; all buffers are allocated here (decode allocates nothing). NULL with err set (n_ctx < 1,
 * out of memory). Caller frees with eng_llm_state_free before freeing the model. */
eng_llm_state *eng_llm_state_init(eng_llm *m, int64_t n_ctx, char *err, size_t err_len);

/* eng_llm_state_free(NULL) is a no-op. */
void eng_llm_state_free(eng_llm_state *s);

typedef struct {
    const int64_t *ids;   /* [n_ids] token ids; at most one placeholder (-200 or the config's
                             image_token_id) marks where the visual block goes */
    int64_t n_ids;
    const float *visual;  /* [n_visual, D] host memory; required when n_visual > 0 */
    int64_t n_visual;     /* rows of the assembled visual block (0 allowed: the placeholder, if
                             any, is simply removed) */
    const int64_t *pos;   /* [N] position ids (host), or NULL = 0..N-1 */
    const int64_t *pos3;  /* M-RoPE models (Qwen2.5-VL): [3][N] position ids, rows t, h, w (host;
                             eng_qwen_rope_index computes them); NULL: all three rows = pos. Decode
                             step k runs at max id + 1 + k in all three rows. Such a model takes
                             the visual rows in place of its video pad ids, one for one: the ids
                             hold exactly n_visual consecutive pads and N = n_ids */
    int attn_layer;       /* >= 0: record layer attn_layer's last-query-row attention (head mean,
                             over all keys of that layer); -1 (default) = none */
    int all_logits;       /* 1: logits for every final-layer row; 0 (default): last row only */
    const tb_llm_plan *plan; /* NULL or plan->layer == 0: no pruning */
} eng_llm_prefill_params;

eng_llm_prefill_params eng_llm_prefill_default_params(void);

/* What a prefill produced. Every pointer is borrowed from the state and valid until the next
 * eng_llm_prefill / eng_llm_decode / eng_llm_generate / eng_llm_state_free on it. */
typedef struct {
    int64_t n_tokens;          /* N: spliced prefill length */
    int64_t visual_start;      /* index of the first visual row in the spliced sequence (-1: none) */
    int64_t n_visual;          /* rows of the visual block */
    const float *logits;       /* [n_logit_rows, vocab_out] */
    int64_t n_logit_rows;      /* 1, or the final-layer sequence length with all_logits */
    int64_t vocab_out;         /* Vo */
    const int64_t *row_pos;    /* [n_final] original index (in the spliced sequence) of each row the
                                  last layer ran (= 0..N-1 without a plan) */
    int64_t n_final;           /* final-layer sequence length */
    const float *attn_row;     /* [attn_len] tap of attn_layer, or NULL */
    int64_t attn_len;          /* keys at that layer (the sequence length that layer ran) */
    const int64_t *n_tokens_layer; /* [L] sequence length each layer ran */
    const int64_t *n_visual_layer; /* [L] visual tokens (span rows) each layer ran */
    int n_layers;              /* L */
    const int64_t *kept;       /* [n_kept] span-relative indices the plan kept (selected and
                                  protected), ascending, or NULL */
    int64_t n_kept;
    double seconds;            /* wall time of the prefill (plan included) */
    double plan_seconds;       /* part of it spent executing the plan */
} eng_llm_prefill_out;

/* Runs the prefill from an empty cache (the state is reset first): splices the sequence, runs
 * every layer (executing the plan between layers K-1 and K), applies the final norm and lm_head
 * on the last row (every row with all_logits; §7.6), fills *out. The last-row logits are kept for
 * eng_llm_generate. Errors: ENG_ERR_ARG for a bad id (outside 0..V-1), more than one
 * placeholder, visual rows without a placeholder, N > n_ctx, a bad plan (layer outside 1..L-1,
 * indices out of range or repeated, weight outside [0,1]) or attn_layer >= L; ENG_ERR_BACKEND
 * for a kernel failure. On failure the state is reset. */
int eng_llm_prefill(eng_llm_state *s, const eng_llm_prefill_params *p, eng_llm_prefill_out *out, char *err,
                    size_t err_len);

/* ---- decode and generation ------------------------------------------------------------------ */

/* Appends one token to the cache (after a prefill) and computes its logits [vocab_out] (borrowed
 * into *logits, valid until the next call on s). ENG_ERR_ARG when no prefill ran, the id is out
 * of range or the cache is full (n_ctx). */
int eng_llm_decode(eng_llm_state *s, int64_t token, const float **logits, char *err, size_t err_len);

typedef struct {
    int64_t max_new_tokens;    /* default 16 */
    double repetition_penalty; /* < 0 (default): the generation_config value (1.0 when absent);
                                  1.0: off; else HF's rule on every distinct GENERATED id
                                  (logit > 0 ? logit / p : logit * p; quirk
                                  pipeline.repetition_penalty: prompt ids are not penalised) */
    int use_stop_ids;          /* 1 (default): stop after emitting a stop id (it is included in the
                                  output, as HF does) */
} eng_llm_gen_params;

eng_llm_gen_params eng_llm_gen_default_params(void);

/* Greedy generation starting from the last prefill logits: picks argmax over ids < vocab_out
 * (first maximum on ties), writes it to tokens, stops on a stop id or after max_new_tokens (or
 * max_tokens, the capacity of tokens), otherwise decodes it and repeats. *n_out = tokens written.
 * The token that ends generation is not decoded (no wasted step). Requires a prefill on s and
 * may be called once per prefill. ENG_ERR_ARG when the cache would overflow. */
int eng_llm_generate(eng_llm_state *s, const eng_llm_gen_params *gp, int64_t *tokens, int64_t max_tokens,
                     int64_t *n_out, char *err, size_t err_len);

/* Per-stage wall times of the state since its last prefill (backend synchronised before each
 * clock read). */
typedef struct {
    double prefill_s;       /* last prefill, plan included */
    double plan_s;          /* plan execution inside it */
    double decode_s;        /* decode steps since the prefill */
    int64_t n_decode;       /* decode steps since the prefill */
    int64_t n_prefill;      /* N of the last prefill */
} eng_llm_timings;

void eng_llm_get_timings(const eng_llm_state *s, eng_llm_timings *out);

/* Bytes the state holds: KV cache, activations, scratch (allocated and touched at init), plus the
 * all-logits buffer grown by prefills that asked for every row. 0 for NULL. */
size_t eng_llm_state_bytes(const eng_llm_state *s);

/* get_rope_index of Qwen2.5-VL (spec qwen25vl.md §4.3) for a sequence with video blocks: each
 * <|video_pad|> run that follows a <|vision_start|> id is the next grid of grids[n_grids][3]
 * (t, h, w in patches; its run must hold t*h*w / merge^2 pads); text tokens get t = h = w =
 * running index; a video starting at s (max id so far + 1) gets
 *   t = s + (int64)(slice * second_per_grid_t * tokens_per_second), h = s + unit row, w = s + unit col
 * (the float product truncated). pos3 [3][n] receives the rows t, h, w; *max_id the largest id
 * (decode continues at max_id + 1). Image pads (image_token_id) are refused. ENG_OK, or
 * ENG_ERR_ARG naming the problem (pad count, missing grid, grid not divisible by merge). */
int eng_qwen_rope_index(const int64_t *ids, int64_t n, const int64_t (*grids)[3], int64_t n_grids,
                        double second_per_grid_t, int tokens_per_second, int merge, int64_t vision_start_id,
                        int64_t video_token_id, int64_t image_token_id, int64_t *pos3, int64_t *max_id, char *err,
                        size_t err_len);

/* FLOPs of one decoder layer over n tokens, spec §8.1 (multiply-add = 2, norms/RoPE/softmax
 * ignored): 4 n D^2 (1 + G/H) + 4 n^2 D + 6 n D M. */
double eng_llm_layer_flops(const eng_llm_info *info, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
