/* session.h - answer benchmark samples one at a time with a loaded Video LLM and any pruning
 * method: frames -> vision tower and taps -> pruner -> visual block -> prompt -> prefill (with
 * the method's in-LLM plan) -> greedy generation -> answer extraction, with per-stage timings and
 * the realised visual tokens per LLM layer. `tango-bench infer` answers one sample with it; the
 * experiment runner (runner.h) answers whole grids.
 *
 * A session keeps the last decoded and encoded video, so consecutive questions about the same
 * video (and clip, and frame policy) run the tower once.
 *
 * Usage:
 *     run_model_spec ms = run_model_spec_default();
 *     ms.path = "models/llava-onevision-qwen2-7b-ov";
 *     run_session *s;
 *     if (run_session_open(&ms, &s, err, sizeof err)) ...
 *     run_answer_params ap = run_answer_default_params();
 *     ap.method = "tango"; ap.ratio = 0.15;
 *     run_answer a;
 *     run_session_answer(s, sample, &ap, &a);   // a.error[0] != 0: this sample failed
 *     printf("%s -> %c\n", a.raw, a.letter);
 *     run_answer_free(&a);
 *     run_session_free(s);
 */
#ifndef TB_SESSION_H
#define TB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/datasets.h"
#include "engine/llm.h"
#include "store/store.h"
#include "tango/pruner.h"

typedef struct run_session run_session; /* opaque: vision model, LLM, tokenizer, KV cache */

typedef struct {
    const char *path;    /* checkpoint directory (config.json, safetensors, tokenizer) */
    const char *siglip;  /* SigLIP head checkpoint; NULL: DIR/siglip when present */
    const char *family;  /* "llava-ov" | "llava-video"; NULL: from the checkpoint's newline layout */
    const char *backend; /* "ref" | "cpu" | "cuda" */
    int n_frames;        /* frames per video; 0: 32 (llava-ov) or 64 (llava-video) */
} run_model_spec;

run_model_spec run_model_spec_default(void);

/* Loads everything and sizes the KV cache for the worst case of n_frames. Returns 0, or -1 with
 * one line in err. Caller frees with run_session_free. */
int run_session_open(const run_model_spec *m, run_session **out, char *err, size_t err_len);
void run_session_free(run_session *s);

/* What the session resolved: family, frames, input side, LLM depth, the weights digest. Borrowed. */
const char *run_session_family(const run_session *s);
int run_session_frames(const run_session *s);
int run_session_image_size(const run_session *s);
int run_session_llm_layers(const run_session *s);
const char *run_session_digest(const run_session *s);

typedef struct {
    const char *method;         /* a registered pruner ("full" = no pruning) */
    double ratio;               /* target equivalent retention (ignored by "full") */
    const char *const *params;  /* the method's "key=value" parameters (borrowed) */
    int n_params;
    uint64_t seed;
    ds_convention convention;   /* prompt and scoring rules */
    const char *frame_rule;     /* "linspace" | "centred" | "interior" */
    const char *seek;           /* "exact" | "keyframe" */
    int max_new_tokens;
} run_answer_params;

/* method "full", ratio 1, VLMEvalKit, linspace, exact, 16 new tokens. */
run_answer_params run_answer_default_params(void);

/* One answered (or failed) sample. */
typedef struct {
    char error[1024];        /* non-empty: the sample failed (corrupt video, method error, ...) */
    char *raw;               /* generated text (owned) */
    char letter;             /* extracted option letter, 0 on a parse failure */
    int correct;
    int parse_failed;
    double score;            /* the sample's term in the convention's accuracy (ds_answer.score) */
    int64_t n_visual_in;     /* visual block of the unpruned video (newlines included) */
    int64_t n_seq;           /* visual tokens the LLM received */
    int64_t n_text;          /* prompt tokens */
    int64_t n_generated;
    int n_layers;
    int64_t visual_per_layer[TG_MAX_LAYERS]; /* what each LLM layer ran (engine count) */
    double flops;            /* prefill FLOPs from those counts */
    double retention;        /* paper Eq. 1 from those counts */
    double ms[DB_N_STAGES];  /* decode, vision, prune, prefill, generate, total; < 0 = not run */
    char *method_json;       /* the method's resolved knobs and accounting (owned, may be NULL) */
    char quirks[512];        /* the method's active quirks, comma separated */
} run_answer;

/* Answers sample with the method of p. Per-sample problems go into out->error (the return is
 * still 0); -1 only for a misuse (NULL arguments, unknown method), also with out->error set.
 * Decode and vision times are those of the video's decode and encode even when the session
 * reused them for a previous question: they are what the sample costs on its own. */
int run_session_answer(run_session *s, const ds_sample *sample, const run_answer_params *p, run_answer *out);

/* The pruners' view of a loaded LLM (tango/pruner.h): the family given, the checkpoint's newline
 * layout (one_token, grid or no_token; "frame" is refused), its depth and width. Returns 0, or -1
 * with one line in err. */
int run_model_layout(const eng_llm_info *info, tb_family family, tg_model_layout *out, char *err, size_t err_len);

/* The visual block in the LLM's order from a pruner's output: order[i] is a kept token (its row
 * of out->tokens) or TG_NEWLINE (the checkpoint's image_newline vector [D], required then).
 * *block: [n_seq][D] (caller frees). Returns 0, or -1 with one line in err. */
int run_visual_block(const tg_prune_output *out, const float *newline, float **block, char *err, size_t err_len);

/* Position ids of a prompt of n_ids ids whose placeholder at index ph is replaced by a pruner's
 * visual block: 0..ph-1, then ph + out->positions[i] (gaps allowed), then the text after the
 * block continuing from the block's largest position. *pos: [out->n_seq + n_ids - 1] (caller
 * frees). Returns 0, or -1 when out of memory. */
int run_visual_positions(const tg_prune_output *out, int64_t ph, int64_t n_ids, int64_t **pos);

/* Frees what an answer owns; safe on a zeroed answer. */
void run_answer_free(run_answer *a);

#endif
