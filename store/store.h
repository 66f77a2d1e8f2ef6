/* store.h - the SQLite results store: one database file per study.
 *
 * A run is keyed by a SHA-256 over the canonical JSON of everything that can change an answer
 * (db_run_spec). Opening a run with the same key resumes it; each sample result is written in
 * its own transaction, so a killed process never leaves half a row and a result is never
 * written twice. The schema is versioned with PRAGMA user_version and migrated forward on open;
 * a database written by a newer tango-bench is refused. Only prepared statements are used.
 *
 * Usage:
 *     char err[512];
 *     db_store *db = db_open("study.db", err, sizeof err);     // NULL + err on failure
 *     db_run_spec rs = db_run_spec_default();
 *     rs.model = "llava-onevision-qwen2-7b-ov"; rs.benchmark = "videomme"; rs.method = "tango";
 *     rs.params_json = "{\"ratio\":0.15}";
 *     char key[DB_KEY_LEN + 1]; int resumed;
 *     if (db_run_open(db, &rs, key, &resumed)) fprintf(stderr, "%s\n", db_errmsg(db));
 *     int done;
 *     db_sample_done(db, key, "vid-001-q1", &done);
 *     if (!done) { db_sample_result r = {.sample_id = "vid-001-q1", ...}; db_sample_put(db, key, &r); }
 *     db_run_finish(db, key, DB_RUN_OK);
 *
 *     db_run_summary *runs; size_t n;                            // reading: per-run aggregates
 *     if (db_run_summaries(db, &runs, &n) == DB_OK) { ...; db_run_summaries_free(runs, n); }
 *     db_close(db);
 *
 * Files: store.c (open, migrate, write, merge, rescore), store_query.c (reads), store_export.c
 * (export, also in lmms-eval's and VLMEvalKit's layouts), store_import.c (lmms-eval samples and
 * VLMEvalKit prediction files), store_xlsx.c (the .xlsx reader, libzip + libxml2).
 */
#ifndef TB_STORE_H
#define TB_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DB_KEY_LEN 64          /* hex SHA-256 */
#define DB_SCHEMA_VERSION 5

typedef struct db_store db_store; /* opaque: one open database */

typedef enum {
    DB_OK = 0,
    DB_ERR_OPEN = -1,      /* cannot open or create the file */
    DB_ERR_SCHEMA = -2,    /* newer schema, or not a tango-bench database */
    DB_ERR_IO = -3,        /* a statement failed (disk full, read-only, corrupt page, ...) */
    DB_ERR_DUPLICATE = -4, /* the sample already has a result in this run */
    DB_ERR_NOT_FOUND = -5, /* no such run */
    DB_ERR_INVALID = -6,   /* bad argument (missing field, malformed params JSON) */
} db_status;

typedef enum { DB_RUN_RUNNING, DB_RUN_OK, DB_RUN_FAILED } db_run_status;

/* Stage order of db_sample_result.ms and the timings table. */
typedef enum { DB_STAGE_DECODE, DB_STAGE_VISION, DB_STAGE_PRUNE, DB_STAGE_PREFILL, DB_STAGE_GENERATE, DB_STAGE_TOTAL,
               DB_N_STAGES } db_stage;
extern const char *const db_stage_names[DB_N_STAGES];

/* Everything that can change an answer. All strings are borrowed; NULL reads as "". */
typedef struct {
    const char *model;          /* model name or checkpoint path */
    const char *weights_digest; /* digest of the weights actually loaded */
    const char *dtype;          /* the engine's resolved numerics: fp16, bf16 or fp32 */
    const char *benchmark;
    const char *revision;       /* benchmark manifest revision */
    const char *split;          /* e.g. "val", "dev" */
    const char *frame_policy;   /* e.g. "n=32,rule=linspace" */
    const char *decoder;        /* video decoder and seek mode */
    const char *method;         /* pruning method */
    const char *params_json;    /* method parameters as a JSON object (canonicalised for the key) */
    const char *compat;         /* "official" or "paper" */
    const char *quirks;         /* active quirks, comma separated (recorded, part of the key) */
    int64_t seed;
    const char *code_version;   /* tango-bench version + git revision */
    const char *convention;     /* scoring convention ("vlmevalkit", "lmms-eval@0.7.3", ...), in the key */
    const char *aggregate;      /* the convention's aggregation rule (common/aggregate.h), NULL "micro";
                                   follows from convention and benchmark, so not in the key */
    int64_t n_expected;         /* samples the run will attempt (progress only, not in the key); 0 = unknown */
} db_run_spec;

/* One sample's result. Strings borrowed; NULL stores SQL NULL. */
typedef struct {
    const char *sample_id;
    const char *video_id;
    const char *categories_json; /* JSON object of strings, e.g. {"duration":"short"} */
    const char *error;           /* non-NULL: the sample failed (corrupt video, bad record, ...) */
    const char *raw_output;
    const char *parsed;          /* parsed answer letter; NULL on a parse failure */
    const char *gold;
    int correct;                 /* 0/1 */
    int parse_failed;            /* 0/1 */
    int64_t n_visual_in;         /* visual tokens before pruning */
    int64_t n_text;              /* text tokens of the prompt */
    int n_layers;                /* entries in visual_per_layer (0 = none recorded) */
    const int64_t *visual_per_layer; /* [n_layers] realised visual tokens at each LLM layer */
    double flops;                /* prefill FLOPs computed from the realised counts */
    double equiv_retention;      /* paper Eq. 1 from the realised counts */
    double ms[DB_N_STAGES];      /* per-stage wall time in milliseconds; < 0 = not measured */
    int64_t peak_bytes;          /* peak memory; 0 = not measured */
    double decode_wait_ms;       /* how long the model waited for this sample's decoded frames (the
                                    runner decodes ahead in its own thread); < 0 = not measured (NULL).
                                    Zero-initialised results store 0. */
    const char *method_json;     /* the method's resolved knobs and accounting for this sample (JSON
                                    object: solved knobs, predicted and realised retention, ...) */
    int score_set;               /* 0: the sample's score is `correct`; 1: `score` below */
    double score;                /* the sample's term in the convention's accuracy (1, 0, -1); NAN:
                                    left out of the denominator */
    const char *options_json;    /* JSON array of the option texts (what rescoring needs), or NULL */
} db_sample_result;

/* Default spec: empty strings, compat "official", seed 0. */
db_run_spec db_run_spec_default(void);

/* Opens (creating if absent) and migrates the database at path; WAL mode, foreign keys on.
 * Returns NULL with a one-line message naming the file in err. Caller frees with db_close. */
db_store *db_open(const char *path, char *err, size_t err_len);

/* Opens an existing database for the commands that read one (runs, report, export, compare) and
 * for merge inputs: never creates a file, so a mistyped path is an error naming it. A writable
 * file is migrated as db_open does; a read-only one (a read-only mount, another user's file) is
 * read as it is, immutable when SQLite cannot create its -shm there, and must have the current
 * schema. A file without the four tables is refused. NULL with one line naming the file in err. */
db_store *db_open_read(const char *path, char *err, size_t err_len);

/* Closes; db_close(NULL) is a no-op. */
void db_close(db_store *db);

/* The last error on this handle (one line, names the database file). Borrowed. */
const char *db_errmsg(const db_store *db);

/* Schema version stored in the open database. */
int db_schema_version(db_store *db);

/* Computes the run key of spec: hex SHA-256 of its canonical JSON (sorted keys, no spaces).
 * canonical (optional) receives the JSON text, caller frees with free(). Returns DB_OK or
 * DB_ERR_INVALID (params_json not a JSON object; message in err). */
int db_run_key(const db_run_spec *spec, char key[DB_KEY_LEN + 1], char **canonical, char *err, size_t err_len);

/* Creates the run of spec, or reopens it when the key exists (*resumed = 1), and marks it
 * running. key receives the run key. */
int db_run_open(db_store *db, const db_run_spec *spec, char key[DB_KEY_LEN + 1], int *resumed);

/* Records the quirks a run's method reported as active (comma separated). They follow from the
 * method, its parameters and the compat mode, which the key already holds, so the key is
 * unchanged; the runner learns them from the first pruned sample. */
int db_run_set_quirks(db_store *db, const char *key, const char *quirks);

/* Marks a run finished (ok or failed). */
int db_run_finish(db_store *db, const char *key, db_run_status status);

/* *done = 1 when the sample already has a result (ok or failed) in the run. */
int db_sample_done(db_store *db, const char *key, const char *sample_id, int *done);

/* Writes one sample result (with its per-layer counts and timings) in one transaction.
 * DB_ERR_DUPLICATE when the sample already has one; nothing is written then. */
int db_sample_put(db_store *db, const char *key, const db_sample_result *r);

/* Merge statistics of db_merge_from. */
typedef struct {
    int64_t runs_new, runs_joined; /* runs created / runs already present whose rows were added */
    int64_t samples_added, samples_duplicate, samples_conflicting;
} db_merge_stats;

/* Copies every run and sample of the database at in_path (migrated first) into db, in one
 * transaction. A run present in both is joined: its expected count adds up and its status is
 * failed if either is failed, running if either is running, else ok. A sample present in both
 * is kept once; *conflicting counts those whose stored outcome differs (the first is kept). */
int db_merge_from(db_store *db, const char *in_path, db_merge_stats *stats);

/* Test hook (fault injection): when set, called between the statements of db_sample_put's
 * transaction with the step number (1 = after the sample row, 2 = after layer counts,
 * 3 = after timings, before COMMIT). */
void db_set_fault_hook(db_store *db, void (*hook)(int step, void *ctx), void *ctx);

/* ---- Reading (store_query.c) ----------------------------------------------------------------
 * Read-only queries: what `runs`, `compare` and the reports are built from, so no other folder
 * needs SQL. Counts are over the stored sample rows; "scored" means status ok (a failed sample
 * has an error and no answer). A mean with no rows behind it is NAN, never 0. */

/* Per-run summary row for listings. */
typedef struct {
    char key[DB_KEY_LEN + 1];
    char created[32];
    char method[64];
    char benchmark[64];
    char model[256];
    char status[16];
    char convention[32];
    int64_t n_expected, n_done, n_failed, n_correct, n_parse_failed;
    double accuracy;  /* by the run's aggregation rule, as a fraction; NAN when nothing is scored */
} db_run_info;

/* Calls fn for each run, newest first; stops early when fn returns non-zero. */
int db_runs_list(db_store *db, int (*fn)(const db_run_info *info, void *ctx), void *ctx);

/* Resolves a key prefix (at least 6 hex digits) to a full run key; DB_ERR_NOT_FOUND when none,
 * DB_ERR_INVALID when ambiguous. */
int db_run_resolve(db_store *db, const char *prefix, char key[DB_KEY_LEN + 1]);

/* Number of runs in the database (0 for a fresh file). */
int db_run_count(db_store *db, int64_t *n);

/* One sample's outcome as stored, for paired comparisons. Strings borrowed for the callback. */
typedef struct {
    const char *sample_id;
    const char *video_id;
    const char *categories_json;
    const char *error;  /* non-NULL: the sample failed */
    int correct;
    int parse_failed;
} db_outcome;

/* Calls fn for each sample of a run (ok and failed), ordered by sample id; stops when fn
 * returns non-zero. */
int db_samples_each(db_store *db, const char *key, int (*fn)(const db_outcome *o, void *ctx), void *ctx);

#define DB_MAX_GROUPS 8

/* Scored samples that share one value of a category (e.g. categories.duration = "short"). */
typedef struct {
    char value[32];
    int64_t n;         /* scored samples with this value that the convention counts (score set) */
    int64_t n_correct; /* the sum of their scores */
} db_group;

/* Aggregates of one run, as reports need them. */
typedef struct {
    char key[DB_KEY_LEN + 1];
    char model[256];
    char benchmark[64];
    char method[64];
    char label[64];          /* params.label as recorded (a config's row label for one of several
                                variants of a method); "" when absent */
    char frame_policy[128];  /* as recorded, e.g. "n=32,rule=linspace,size=384" */
    char *params_json;       /* the run's params as recorded (a JSON object; owned by the array) */
    char created[32];        /* ISO 8601, UTC */
    char convention[32];     /* the scoring convention ("" for a run recorded without one) */
    char aggregate_rule[256];/* its aggregation rule (common/aggregate.h) */
    double accuracy;         /* the convention's headline accuracy over the scored samples, by the
                                run's aggregation rule (common/aggregate.h), as a fraction; NAN
                                when nothing is scored */
    double target_ratio;     /* params.ratio as recorded; NAN when absent or null, which is what the
                                runner writes for a method without a ratio (the full-token reference) */
    int64_t n_samples;       /* sample rows stored (ok + failed) */
    int64_t n_ok;            /* scored */
    int64_t n_failed;
    int64_t n_correct;       /* correct among the scored (as the convention counts) */
    int64_t n_parse_failed;  /* answers with no parsable letter */
    double mean_retention;   /* mean realised equivalent retention (Eq. 1) over scored samples */
    double mean_flops;       /* mean prefill FLOPs over scored samples */
    int n_durations;         /* entries of duration */
    db_group duration[DB_MAX_GROUPS]; /* scored samples by categories.duration (Video-MME's
                                short/medium/long), ordered by value; samples without the field
                                are left out, groups past DB_MAX_GROUPS dropped */
    double ms[DB_N_STAGES];  /* mean wall time per stage over scored samples that timed it */
    int n_layers;            /* entries of visual_per_layer; 0 when no counts were recorded */
    double *visual_per_layer;/* [n_layers] mean realised visual tokens at LLM layer l over the
                                samples with counts (layers 0.. without a gap). Owned by the array */
} db_run_summary;

/* Every run of the database with its aggregates, oldest first (by creation time, then key).
 * Runs whose params are not a valid JSON text are left out. *out receives an array of *n_out
 * summaries (NULL and 0 for an empty database), which the caller frees with
 * db_run_summaries_free. */
int db_run_summaries(db_store *db, db_run_summary **out, size_t *n_out);

/* Frees an array from db_run_summaries; (NULL, 0) is a no-op. */
void db_run_summaries_free(db_run_summary *s, size_t n);

/* The scored samples of one run, for resampling (the bootstrap clusters questions by video). */
typedef struct {
    size_t n;
    int *correct;    /* [n] the sample's score: 1, 0, or -1 (a convention's penalty); samples the
                        convention leaves out of the denominator are not listed */
    char **cluster;  /* [n] the sample's video id, or its sample id when no video was recorded */
} db_scored;

/* Fills *out with the scored samples of run key, grouped by video (ordered by video id, samples
 * without one first, then by insertion), so equal databases give equal orders. An unknown key
 * gives n = 0. The caller frees with db_scored_free, which also empties *out. */
int db_run_scored(db_store *db, const char *key, db_scored *out);
void db_scored_free(db_scored *s);

/* A run as stored: every field of its spec (strings owned; free with db_run_record_free). */
typedef struct {
    char *model, *weights_digest, *benchmark, *revision, *split, *frame_policy, *decoder, *method, *params_json,
        *compat, *quirks, *code_version, *convention, *aggregate, *status, *created;
    int64_t seed, n_expected;
} db_run_record;

/* Reads run key (a full key). DB_ERR_NOT_FOUND when absent. */
int db_run_get(db_store *db, const char *key, db_run_record *out);
void db_run_record_free(db_run_record *r);
/* A spec that borrows r's strings (valid while r is). */
db_run_spec db_run_record_spec(const db_run_record *r);

/* One stored sample, every field the exports and rescoring read. Strings borrowed for the
 * callback; NULL for SQL NULL. */
typedef struct {
    const char *sample_id, *video_id, *categories_json, *error, *raw_output, *parsed, *gold, *options_json,
        *method_json;
    int ok;            /* status 'ok' (else failed) */
    int correct, parse_failed;
    double score;      /* NAN: left out of the denominator (or a failed sample) */
    int64_t index;     /* 0.. in insertion order */
} db_sample_row;

/* Calls fn for each sample of a run in insertion order (the order of the benchmark's samples);
 * stops when fn returns non-zero (that value is returned). */
int db_sample_rows(db_store *db, const char *key, int (*fn)(const db_sample_row *r, void *ctx), void *ctx);

/* ---- Rescoring (store.c) ---------------------------------------------------------------------
 * A run's stored raw outputs scored again under another convention, into a new run: the spec,
 * the samples, per-layer counts and timings are copied, the answer fields come from fn. */
typedef struct {
    char parsed[8];    /* the letter read, "" for none */
    int correct, parse_failed;
    double score;      /* 1, 0, -1; NAN: left out of the denominator */
} db_rescored;

/* fn scores one ok sample (failed samples are copied as they are); returns 0, or non-zero with
 * one line in err to abandon the rescoring. */
typedef int (*db_rescore_fn)(const db_sample_row *row, db_rescored *out, void *ctx, char *err, size_t err_len);

/* Creates the run of spec and fills it with src's samples rescored by fn, in one transaction.
 * key receives the new run's key. When that run exists already (the same rescoring was done)
 * nothing is written and *existed = 1. */
int db_run_rescore(db_store *db, const char *src, const db_run_spec *spec, db_rescore_fn fn, void *ctx,
                   char key[DB_KEY_LEN + 1], int *existed, int64_t *n_samples);

/* ---- Import (store_import.c) -----------------------------------------------------------------
 * Other tools' per-sample outputs as rows the store can hold. The parsers are pure functions of
 * the file's bytes (untrusted; fuzzable), per benchmark ("videomme", "mvbench", "longvideobench",
 * "mlvu"); scoring the rows is the caller's (tango-bench import). */
typedef struct {
    char *sample_id;       /* tango-bench's id when it can be derived (README "Import"), else the tool's */
    char *video_id;        /* may be NULL */
    char *raw;             /* the model's output as the tool recorded it ("" when it recorded none) */
    char *gold;            /* one option letter */
    char *options_json;    /* JSON array of the option texts, or NULL when the file has none */
    char *categories_json; /* JSON object of the sample's categories (as the runner writes them) */
} db_import_row;

typedef struct {
    db_import_row *rows;
    size_t n, cap;
} db_import_set;

void db_import_set_free(db_import_set *s);

/* Appends the samples of one lmms-eval per-sample file ("<date>_samples_<task>.jsonl": one JSON
 * object per line with doc_id, target, resps / filtered_resps and the task's metric dict) to io.
 * name is the file's name: an MVBench task comes from its "_samples_mvbench_<task>" part. The raw
 * output is "resps" when present (the response before lmms-eval stripped reasoning tags), else
 * "filtered_resps". Returns DB_OK, or DB_ERR_INVALID with one line in err naming the line and
 * field. */
int db_import_lmms(const char *name, const char *data, size_t len, const char *bench, db_import_set *io, char *err,
                   size_t err_len);

/* Appends the rows of one VLMEvalKit prediction file (the eval file with its `prediction` column,
 * or a score file) to io: .xlsx, .tsv, .csv or .json (records), chosen by name's extension. The
 * option texts come from `candidates` (a Python list literal), the gold letter from `answer` or
 * `correct_choice`. Returns DB_OK, or DB_ERR_INVALID with one line in err. */
int db_import_vlmeval(const char *name, const void *data, size_t len, const char *bench, db_import_set *io,
                      char *err, size_t err_len);

/* ---- Export (store_export.c) ---------------------------------------------------------------- */

typedef enum { DB_EXPORT_CSV, DB_EXPORT_JSONL } db_export_format;

/* Writes the run's per-sample rows (ordered by sample id) to out. */
int db_export(db_store *db, const char *key, db_export_format fmt, FILE *out);

/* The run in lmms-eval's output layout, in dir (created if missing): <date>_results.json (the
 * task's headline number under the run's convention in results[task]["<metric>,none"], plus
 * "tango_bench" provenance) and <date>_samples_<task>.jsonl (one line per scored sample: doc_id,
 * target, filtered_resps = the raw output, the task's metric dict, and a "tango_bench" object
 * with the sample's id, options and categories, which import reads back). Tasks: videomme,
 * longvideobench_val_v, mlvu_dev, mvbench_<task>. <date> is the run's creation time. written
 * (optional) receives the file paths, one per line. Failed samples are not exported. */
int db_export_lmms(db_store *db, const char *key, const char *dir, char *written, size_t written_len);

/* The run as VLMEvalKit's per-sample score file, <dir>/<model>_<Dataset>_score.csv (Dataset:
 * Video-MME, MVBench, LongVideoBench, MLVU_MCQ; every field quoted, as VLMEvalKit's dump writes
 * CSV): the dataset's columns as far as the store has them (candidates as a Python list literal,
 * answer as VLMEvalKit keeps it), prediction = the raw output, score = the sample's term in the
 * run's accuracy, and sample_id. Failed samples are not exported. */
int db_export_vlmeval(db_store *db, const char *key, const char *dir, char *written, size_t written_len);

#endif
