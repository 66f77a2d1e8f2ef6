/* bl_internal.h - private helpers of the baselines/ module (not a public header): the settings
 * every baseline parses, newline counts of a layout, the JSON run record. The output sequence
 * and its layout come from the method kit (tango/kit.h). */
#ifndef BL_INTERNAL_H
#define BL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "baselines/baselines.h"
#include "common/buf.h"
#include "common/check.h"
#include "tango/kit.h"
#include "tango/primitives.h"
#include "tango/pruner.h"

/* Common settings of every baseline, parsed from the input and its params. */
typedef struct {
    const char *name;     /* method name (static) */
    const tg_prune_input *in;
    int paper;            /* compat=paper */
    tb_family family;     /* in->model.family: the official per-model code path */
    tg_newline newline;   /* in->model.newline: the visual block's layout */
    uint64_t seed;        /* seed=N, else in->seed */
    double jitter;        /* jitter=X (density noise scale), default 1e-6 */
    bl_account account;   /* account=seq (default) | content */
    int n_layers;         /* in->model.n_layers */
    double target;        /* in->ratio: target equivalent retention */
    int64_t T, L, H, W, D;
    bl_geometry geo;
} bl_ctx;

/* Checks the input (tg_prune_input_check), the keys (tg_params_check) and parses the common
 * keys. Returns TG_OK or TG_ERR_INPUT with a message prefixed by the method name. */
int bl_ctx_init(bl_ctx *c, const char *name, const tg_prune_input *in, const char *const *keys, char *err,
                size_t err_len);

/* Newline rows of a block whose kept tokens fill `rows` grid rows (ROW layout; counted by the
 * caller) under the context's layout: ONE 1, ROW rows, NONE 0. */
int64_t bl_newlines(tg_newline nl, int64_t rows);

/* Emits entries (ascending ids) in the context's layout and finishes the output (tango/kit.h). */
int bl_emit_finish(const bl_ctx *c, tg_seq *s, const tg_entry *list, int64_t n, int flags, tg_prune_output *out,
                   const tb_llm_plan *plan, char *err, size_t err_len);

/* Unpruned visual block length of a geometry (tg_layout_full_len). */
int64_t bl_full_len(const bl_geometry *g);

/* Realised retention of an output under an accounting. */
double bl_realised(const tg_prune_output *out, bl_account a);

/* Sets out->compat and appends a quirk name (static string). */
void bl_quirk(tg_prune_output *out, const char *name);

/* ---------------------------------------------------------------------------------------------
 * JSON run record (common/buf.h; a failed append makes the record fail with TG_ERR_NOMEM)
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    tb_buf b;
    int st;   /* first failure, sticky */
} bl_json;
void bl_json_add(bl_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the record with the common fields: {"method":..,"model":..,"compat":..,"account":..,
 * "layers":..,"seed":..,"jitter":..,"target_r":.., */
void bl_json_common(bl_json *j, const bl_ctx *c);
/* Closes with "solve":how,"predicted":p,"realised":..,"equiv_retention":..,"content":..} and hands
 * the string to out->params_json. Returns TG_OK or TG_ERR_NOMEM. */
int bl_json_finish(bl_json *j, const bl_ctx *c, tg_prune_output *out, const char *how, double predicted,
                   char *err, size_t err_len);

/* Row-normalises x (n rows of D) into y: y = x / max(|x|, 1e-12), norms in double. */
void bl_normalize_rows(const float *x, int64_t n, int64_t D, float *y);

/* Sorts int64 ascending. */
void bl_sort_i64(int64_t *v, int64_t n);

#endif
