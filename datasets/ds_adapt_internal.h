/* ds_adapt_internal.h - private to datasets/: between the shared sample loading (ds_samples.c), the
 * typed record access (ds_record.c) and the four benchmark adapters (ds_videomme.c,
 * ds_mvbench.c, ds_lvb.c, ds_mlvu.c). Not for use outside datasets/.
 *
 * An adapter turns one untrusted JSON record into a ds_sample: every field it uses goes through
 * ds_rec_* (type-checked; an error names the source, the record index and the field), video
 * paths through ds_check_rel_path and ds_resolve_list. It returns DS_OK, DS_ERR_SCHEMA,
 * DS_ERR_PATH (message in c->err) or DS_ERR_NOMEM; on error the caller frees the sample. */
#ifndef TB_DS_ADAPT_INTERNAL_H
#define TB_DS_ADAPT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "datasets/ds_internal.h"

/* Where a record comes from, for error messages. */
typedef struct {
    const char *source;   /* file name or "manifest" */
    size_t index;         /* record index within the source */
    char *err;
    size_t err_len;
} ds_rctx;

/* What an adapter needs beyond the record. */
typedef struct {
    ds_bench bench;
    const char *task;     /* file stem (mvbench, mlvu) */
    const char *root;     /* videos root */
    int video_branch;     /* mvbench revision "video" */
    size_t index;         /* record index within its file */
    int keep_bad;         /* ds_load_params.keep_bad_records */
} ds_actx;

/* ---- typed field access (ds_record.c) ------------------------------------------------------- */
/* "string", "number", ... or "nothing" for NULL. */
const char *ds_json_type_name(const cJSON *v);
/* Formats "<source>: record <k>: field '<field>': <what> (got <type>)"; returns DS_ERR_SCHEMA. */
int ds_field_err(const ds_rctx *c, const char *field, const char *what, const cJSON *v);
/* A string field (borrowed from rec); *out = NULL when absent and not required. */
int ds_rec_str(const ds_rctx *c, const cJSON *rec, const char *field, int required, const char **out);
/* A finite number field; *out = NAN when absent and not required. */
int ds_rec_num(const ds_rctx *c, const cJSON *rec, const char *field, int required, double *out);
/* A required integer field in [lo, hi]. */
int ds_rec_int(const ds_rctx *c, const cJSON *rec, const char *field, int64_t lo, int64_t hi, int64_t *out);
/* Copies a JSON array of 2..DS_MAX_OPTIONS strings into s->options (s->n_options). */
int ds_rec_options(const ds_rctx *c, const cJSON *rec, const char *field, ds_sample *s);
/* Appends one category (key borrowed: a string literal; value copied); extra ones are dropped. */
int ds_add_category(ds_sample *s, const char *key, const char *value);
/* Sets s->gold to the letter of `answer` among the options (exact text; the last match when a
 * text repeats, as VLMEvalKit's qa_template loop does), or a schema error naming field. */
int ds_answer_letter(const ds_rctx *c, ds_sample *s, const char *answer, const char *field);

/* ---- video paths (ds_record.c) -------------------------------------------------------------- */
/* ds_check_rel_path on a record's field, the message naming the source and the record. */
int ds_rec_path(const ds_rctx *c, const char *field, const char *rel);
/* Sets s->video / s->video_rel to the first of the n candidate paths (relative to root) that
 * exists, else to the first. An existing candidate must stay inside root once symbolic links are
 * resolved (ds_video_check), else DS_ERR_PATH naming the source and record. Takes ownership of
 * rels[0..n) (any NULL -> DS_ERR_NOMEM). */
int ds_resolve_list(const ds_rctx *c, ds_sample *s, const char *root, char **rels, int n);

/* ---- the adapters ----------------------------------------------------------------------------- */
int ds_adapt_videomme(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s);
int ds_adapt_mvbench(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s);
int ds_adapt_lvb(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s);
int ds_adapt_mlvu(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s);

/* ---- task files, in the official order ------------------------------------------------------ */
#define DS_MVBENCH_N_TASKS 20
#define DS_MLVU_N_FILES 7
/* The i-th MVBench task stem (json/<stem>.json), NULL past the end. Static string. */
const char *ds_mvbench_task_stem(size_t i);
/* The i-th MLVU-Dev MCQ file stem (MLVU/json/<stem>.json), NULL past the end. Static string. */
const char *ds_mlvu_file_stem(size_t i);

#endif
