/* kit.h - the method kit: what every pruning method (tango/, baselines/) shares besides the
 * token primitives: "key=value" parameter parsing, ONE layout emitter that turns kept tokens into
 * the visual block in LLM order (newline rows included) and fills a tg_prune_output, the per-layer
 * accounting and quirk records. (JSON run records are built with common/buf.h.)
 *
 * Usage (a method that keeps some tokens of T frames of H x W):
 *     tg_seq s = {0};
 *     tg_entry list[n];                          // ascending flat ids t*L + l, borrowed vectors
 *     tg_seq_emit(&s, list, n, in->model.newline, T, H, W, 0);
 *     tb_llm_plan plan = tb_llm_plan_default();   // or an in-LLM stage
 *     int st = tg_seq_finish(&s, in, out, &plan, "mymethod", err, err_len);
 *     tg_seq_free(&s);
 */
#ifndef TG_KIT_H
#define TG_KIT_H

#include <stddef.h>
#include <stdint.h>

#include "tango/pruner.h"

/* ---------------------------------------------------------------------------------------------
 * Parameters
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
/* One of the NULL-terminated names: *v = its index. 0 absent, 1 set, TG_ERR_INPUT listing the
 * choices. */
int tg_param_choice(const tg_prune_input *in, const char *key, const char *const *names, int *v, char *err,
                    size_t err_len);

/* ---------------------------------------------------------------------------------------------
 * The layout emitter
 * ------------------------------------------------------------------------------------------- */

/* Length of the UNPRUNED visual block of T frames of H x W under a newline layout:
 * ONE T*H*W + 1, ROW T*H*(W + 1), NONE T*H*W. */
int64_t tg_layout_full_len(tg_newline nl, int64_t T, int64_t H, int64_t W);

/* A kept token: its flat index t*L + l and its vector (borrowed). */
typedef struct {
    int64_t id;
    const float *v;
} tg_entry;

/* qsort comparator: ascending id. */
int tg_entry_cmp(const void *a, const void *b);

/* The visual block being built: entries in LLM order, each a flat index (or TG_NEWLINE), a
 * position id (< 0: contiguous, its index in the block) and, for tokens, its vector (borrowed
 * from the input or from a block the builder owns). Zero-initialise; free with tg_seq_free. */
typedef struct {
    int64_t n, cap;
    int64_t *id;
    int64_t *pos;
    const float **vec;
    float **blocks;
    int n_blocks, cap_blocks;
    int oom;
} tg_seq;

/* Appends one entry (sets s->oom on allocation failure; later calls are then no-ops). */
void tg_seq_push(tg_seq *s, int64_t id, int64_t pos, const float *vec);
/* An owned float block of n floats (freed by tg_seq_free), or NULL (sets oom). */
float *tg_seq_block(tg_seq *s, size_t n);
void tg_seq_free(tg_seq *s);

enum {
    TG_EMIT_ORIGINAL_POS = 1, /* positions of the unpruned layout (ONE/NONE: the flat id, ONE's
                                 newline at T*L; ROW: t*H*(W+1) + r*(W+1) + c, the newline at
                                 c = W); else contiguous */
    TG_EMIT_EMPTY_ROWS = 2,   /* ROW: a newline after every grid row, kept tokens or not */
};

/* Emits n entries with ascending ids in the layout: ONE the tokens then one newline; ROW per
 * frame and grid row the row's tokens then one newline when the row kept a token (or always with
 * TG_EMIT_EMPTY_ROWS); NONE the tokens. Returns TG_OK or TG_ERR_NOMEM. */
int tg_seq_emit(tg_seq *s, const tg_entry *list, int64_t n, tg_newline nl, int64_t T, int64_t H, int64_t W,
                int flags);

/* Fills out from the sequence: kept (ascending), tokens (kept order), order, positions,
 * n_newlines, n_visual_full (the unpruned block of in's layout), the plan (NULL: none; its span
 * is the whole block) and the per-layer accounting over in->model.n_layers, content T*L. `who`
 * prefixes errors. Returns TG_OK, TG_ERR_NOMEM, or TG_ERR_INTERNAL (a flat index twice). */
int tg_seq_finish(tg_seq *s, const tg_prune_input *in, tg_prune_output *out, const tb_llm_plan *plan,
                  const char *who, char *err, size_t err_len);

/* Fills visual_per_layer[0..n_layers-1] (n_seq before plan.layer, the plan's keep count of the
 * n_seq-row span from it on), equiv_retention (tg_equiv_retention) and equiv_retention_content
 * (content tokens only, the in-LLM stage scaling them by keep count / n_seq, over
 * n_content_full). n_layers <= TG_MAX_LAYERS. */
void tg_account_layers(tg_prune_output *out, int n_layers, int64_t n_content_full);

/* Appends a quirk name (static string) to out->quirks (ignored beyond TG_MAX_QUIRKS). */
void tg_quirk(tg_prune_output *out, const char *name);

#endif
