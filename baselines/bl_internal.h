/* bl_internal.h - private helpers of the baselines/ module (not a public header): common
 * parameter parsing, the output sequence builder, JSON record building. */
#ifndef BL_INTERNAL_H
#define BL_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "baselines/baselines.h"
#include "tango/primitives.h"
#include "tango/pruner.h"

/* One line into a caller's buffer (NULL / 0-length: ignored). */
void bl_set_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Common settings of every baseline, parsed from the input and its params. */
typedef struct {
    const char *name;     /* method name (static) */
    int paper;            /* compat=paper */
    bl_model model;       /* model=llava-ov (default) | llava-video */
    uint64_t seed;        /* seed=N, else in->seed */
    double jitter;        /* jitter=X (density noise scale), default 1e-6 */
    bl_account account;   /* account=seq (default) | content */
    int n_layers;         /* layers=N (default 28) */
    double target;        /* in->ratio: target equivalent retention */
    int64_t T, L, H, W, D;
    bl_geometry geo;
} bl_ctx;

/* Checks the input (tg_prune_input_check), the keys (tg_params_check) and parses the common
 * keys. Returns TG_OK or TG_ERR_INPUT with a message prefixed by the method name. */
int bl_ctx_init(bl_ctx *c, const char *name, const tg_prune_input *in, const char *const *keys, char *err,
                size_t err_len);

/* ---------------------------------------------------------------------------------------------
 * Output sequence builder: entries in LLM order, each a flat index t*L+l (or TG_NEWLINE), a
 * position id (or -1 = contiguous: its index in the sequence) and, for content entries, the
 * vector (borrowed from the input or from a block the builder owns).
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    int64_t n, cap;
    int64_t *id;
    int64_t *pos;
    const float **vec;
    float **blocks;
    int n_blocks, cap_blocks;
    int oom;
} bl_seq;

/* Appends one entry (sets s->oom on allocation failure; later calls are then no-ops). */
void bl_seq_push(bl_seq *s, int64_t id, int64_t pos, const float *vec);
/* An owned float block of n floats (freed by bl_seq_free), or NULL (sets oom). */
float *bl_seq_block(bl_seq *s, size_t n);
void bl_seq_free(bl_seq *s);

/* LLaVA-Video grid emission of ascending flat ids (with their vectors): per frame, per row, the
 * row's tokens then one newline if the row kept a token (or always when empty_rows = 1).
 * original_pos = 1: positions in the unpruned grid layout (t*H*(W+1) + r*(W+1) + c, the newline
 * at c = W); else contiguous. */
void bl_emit_grid(bl_seq *s, const int64_t *ids, const float *const *vecs, int64_t n, int64_t T, int64_t H,
                  int64_t W, int empty_rows, int original_pos);

/* A kept token: its flat index t*L + l and its vector (borrowed). */
typedef struct {
    int64_t id;
    const float *v;
} bl_entry;

/* qsort comparator: ascending id. */
int bl_entry_cmp(const void *a, const void *b);

/* Emits n entries (ascending ids) in the model's layout: OV the tokens then one newline; Video
 * bl_emit_grid (no empty-row newlines). original_pos = 1: positions of the unpruned layout (OV: the
 * flat id, the newline at T*L); else contiguous. Returns TG_OK or TG_ERR_NOMEM. */
int bl_emit_entries(bl_seq *s, const bl_entry *list, int64_t n, int ov, int64_t T, int64_t H, int64_t W,
                    int original_pos);

/* Fills out from the sequence: kept (ascending), tokens (kept order), order, positions,
 * n_newlines, n_visual_full, the plan and the per-layer accounting (c->n_layers, content T*L).
 * Returns TG_OK, TG_ERR_NOMEM, or TG_ERR_INTERNAL (a flat index twice). */
int bl_seq_finish(bl_seq *s, const bl_ctx *c, tg_prune_output *out, const tg_llm_plan *plan, char *err,
                  size_t err_len);

/* Unpruned visual block length: OV T*L + 1; Video T*(L + H). */
int64_t bl_full_len(const bl_geometry *g);

/* Realised retention of an output under an accounting. */
double bl_realised(const tg_prune_output *out, bl_account a);

/* ---------------------------------------------------------------------------------------------
 * JSON record (a growable string; on allocation failure it becomes NULL and stays so)
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} bl_json;
void bl_json_add(bl_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the record with the common fields: {"method":..,"model":..,"compat":..,"account":..,
 * "layers":..,"seed":..,"target_r":.., */
void bl_json_common(bl_json *j, const bl_ctx *c);
/* Closes with "solve":how,"predicted":p,"realised":..,"equiv_retention":..,"content":..} and hands
 * the string to out->params_json. Returns TG_OK or TG_ERR_NOMEM. */
int bl_json_finish(bl_json *j, const bl_ctx *c, tg_prune_output *out, const char *how, double predicted,
                   char *err, size_t err_len);

/* Sets out->compat and appends a quirk name (static string). */
void bl_quirk(tg_prune_output *out, const char *name);

/* Row-normalises x (n rows of D) into y: y = x / max(|x|, 1e-12), norms in double. */
void bl_normalize_rows(const float *x, int64_t n, int64_t D, float *y);

/* Sorts int64 ascending. */
void bl_sort_i64(int64_t *v, int64_t n);

#endif
