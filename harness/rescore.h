/* rescore.h - scoring stored or imported raw outputs under a convention: the glue between the
 * scorers (datasets/) and the results store, and the one place where a stored sample (gold
 * letter, option texts as JSON) becomes a ds_sample again. Used by tango-bench rescore and import.
 *
 * Usage:
 *     hs_stored st;
 *     if (hs_sample_from_stored(DS_BENCH_MVBENCH, DS_CONV_VLMEVALKIT, "id", "B", "[\"x\",\"y\"]", &st, err, n))
 *         ...;
 *     ds_answer_score(&st.s, DS_CONV_VLMEVALKIT, raw, &a, err, n);
 *     hs_stored_free(&st);
 */
#ifndef TB_HARNESS_RESCORE_H
#define TB_HARNESS_RESCORE_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/datasets.h"
#include "store/store.h"

/* A sample rebuilt from its stored fields; s's strings point into it. */
typedef struct {
    ds_sample s;
    void *owner; /* the parsed option list */
} hs_stored;

/* Rebuilds the scorer's view of a stored sample: its benchmark, gold letter and option texts
 * (options_json: a JSON array of strings, or NULL). Without stored options, Video-MME has 4 and
 * LongVideoBench 5 (texts unused by their rules); MVBench and MLVU under VLMEvalKit, whose
 * fallback matches option texts, are refused; under lmms-eval (which never reads them) the
 * sample gets max(4, gold) empty options. Returns 0, or -1 with one line in err naming the
 * sample. Free with hs_stored_free. */
int hs_sample_from_stored(ds_bench bench, ds_convention conv, const char *sample_id, const char *gold,
                          const char *options_json, hs_stored *out, char *err, size_t err_len);
void hs_stored_free(hs_stored *st);

/* Rescoring of run src (its record rec) under conv into a new run (store.h db_run_rescore): the
 * spec of rec with the convention and its aggregation rule, params.rescored_from = src, and the
 * code version extended by this tango-bench's. key receives the new run's key. Returns 0, or -1
 * with one line in err. */
int hs_rescore_run(db_store *db, const char *src, const db_run_record *rec, ds_convention conv,
                   char key[DB_KEY_LEN + 1], int *existed, int64_t *n_samples, char *err, size_t err_len);

#endif
