/* fuzz_store_merge.c - a results database from elsewhere (store/): the input is a whole SQLite
 * file. It is opened as the reading commands open a --db (db_open_read: schema version, tables,
 * migration), its runs
 * are listed, summarised, compared and exported through the read API, and it is merged into a
 * fresh database, as `tango-bench merge` does with shard files, whose result is read back the
 * same way.
 * The store's importers of other tools' files have their own harnesses: fuzz_import_lmms.c and
 * fuzz_import_vlmeval.c. */
#include "tests/fuzz/fuzz_util.h"

#include "store/store.h"

static FILE *sink;

static int each_outcome(const db_outcome *o, void *ctx) {
    (void)ctx;
    return o->sample_id == NULL;
}

static void read_back(db_store *db) {
    db_run_summary *s = NULL;
    size_t n = 0;
    if (db_run_summaries(db, &s, &n) == DB_OK) {
        for (size_t i = 0; i < n; i++) {
            db_scored sc;
            if (db_run_scored(db, s[i].key, &sc) == DB_OK) db_scored_free(&sc);
            (void)db_samples_each(db, s[i].key, each_outcome, NULL);
            (void)db_export(db, s[i].key, DB_EXPORT_CSV, sink);
            (void)db_export(db, s[i].key, DB_EXPORT_JSONL, sink);
        }
        db_run_summaries_free(s, n);
    }
    int64_t count;
    (void)db_run_count(db, &count);
    char key[DB_KEY_LEN + 1];
    (void)db_run_resolve(db, "000000", key);
}

static void fresh(const char *p) {
    char q[600];
    unlink(p);
    snprintf(q, sizeof q, "%s-wal", p);
    unlink(q);
    snprintf(q, sizeof q, "%s-shm", p);
    unlink(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!sink) sink = fopen("/dev/null", "w");
    const char *in = fz_path("in.db"), *out = fz_path("out.db");
    char err[1024];
    fresh(in);
    fz_write(in, data, size);
    db_store *db = db_open_read(in, err, sizeof err);
    if (db) {
        read_back(db);
        db_close(db);
    }
    fresh(in);
    fz_write(in, data, size);
    fresh(out);
    db = db_open(out, err, sizeof err);
    if (!db) abort(); /* a fresh database in the scratch directory always opens */
    db_merge_stats ms;
    if (db_merge_from(db, in, &ms) == DB_OK) read_back(db);
    db_close(db);
    return 0;
}
