/* test_store_query.c - the store's read API on a small database whose aggregates are known by
 * construction: per-run counts, means over scored samples only, Video-MME duration groups,
 * per-stage means (NAN when never timed), per-layer means, the reference run's missing ratio,
 * the scored samples in cluster order, and the empty and malformed cases. */
#include "tests/tb_test.h"

#include <math.h>
#include <sqlite3.h>

#include "store/store.h"

/* cmocka 1.1 compares floats only in single precision */
static void near_at(double got, double want, double eps, int line) {
    if (!(fabs(got - want) <= eps)) fail_msg("line %d: got %.17g, want %.17g (+- %g)", line, got, want, eps);
}
#define assert_near(got, want, eps) near_at((got), (want), (eps), __LINE__)

static char db_path[1100];
static char key_ref[DB_KEY_LEN + 1], key_pruned[DB_KEY_LEN + 1], key_empty[DB_KEY_LEN + 1],
    key_untimed[DB_KEY_LEN + 1];

static void open_run(db_store *db, const char *method, const char *params, char key[DB_KEY_LEN + 1]) {
    db_run_spec s = db_run_spec_default();
    s.model = "tiny";
    s.benchmark = "videomme";
    s.method = method;
    s.params_json = params;
    s.code_version = "test";
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
}

static void put(db_store *db, const char *key, const char *id, const char *video, const char *duration, int correct,
                int parse_failed, double retention, double flops, const int64_t *layers, int n_layers,
                double ms_total, const char *error) {
    char cat[64];
    if (duration) snprintf(cat, sizeof cat, "{\"duration\":\"%s\",\"task\":\"t\"}", duration);
    else snprintf(cat, sizeof cat, "{\"task\":\"t\"}");
    db_sample_result r = {.sample_id = id, .video_id = video, .categories_json = cat, .error = error,
                          .parsed = parse_failed ? NULL : "A", .gold = "A", .correct = correct,
                          .parse_failed = parse_failed, .n_layers = n_layers, .visual_per_layer = layers,
                          .equiv_retention = retention, .flops = flops};
    for (int k = 0; k < DB_N_STAGES; k++) r.ms[k] = -1;
    if (ms_total >= 0) {
        r.ms[DB_STAGE_VISION] = ms_total / 2;
        r.ms[DB_STAGE_TOTAL] = ms_total;
    }
    assert_int_equal(db_sample_put(db, key, &r), DB_OK);
}

static void exec_sql(const char *sql) {
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db_path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static int setup(void **state) {
    (void)state;
    snprintf(db_path, sizeof db_path, "%s/query.db", tb_test_dir("store_query"));
    unlink(db_path);
    char err[2048];
    db_store *db = db_open(db_path, err, sizeof err);
    if (!db) return -1;
    static const int64_t four[4] = {100, 100, 50, 50}, two[2] = {100, 90}, ref[4] = {100, 100, 100, 100};
    /* the reference: no ratio; 3 scored (2 correct, 1 parse failure) and 1 failed sample */
    open_run(db, "dense", "{}", key_ref);
    put(db, key_ref, "q1", "vB", "short", 1, 0, 1.0, 4e12, ref, 4, 100, NULL);
    put(db, key_ref, "q2", "vA", "short", 1, 0, 1.0, 4e12, ref, 4, 200, NULL);
    put(db, key_ref, "q3", NULL, "long", 0, 1, 1.0, 4e12, ref, 4, 300, NULL);
    put(db, key_ref, "q4", "vC", "medium", 0, 0, 0, 0, NULL, 0, 5000, "video.mp4: corrupt");
    /* pruned at 25 %: layers of different lengths (mean per layer over the samples that have it) */
    open_run(db, "m", "{\"ratio\":0.25,\"k\":3}", key_pruned);
    put(db, key_pruned, "q1", "vB", "short", 0, 0, 0.2, 1e12, four, 4, 40, NULL);
    put(db, key_pruned, "q2", "vA", "long", 1, 0, 0.3, 2e12, two, 2, 60, NULL);
    put(db, key_pruned, "q3", "vA", NULL, 1, 0, 0.4, 3e12, four, 4, 80, NULL);
    /* a run without samples, and one never timed */
    open_run(db, "m", "{\"ratio\":0.5}", key_empty);
    open_run(db, "m", "{\"ratio\":null}", key_untimed);
    put(db, key_untimed, "q1", "vA", "short", 1, 0, 0.5, 1e12, NULL, 0, -1, NULL);
    db_close(db);
    /* creation order decides the listing order; make it explicit */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "UPDATE runs SET created = CASE run_key WHEN '%s' THEN '2026-01-01T00:00:00Z'"
             " WHEN '%s' THEN '2026-01-02T00:00:00Z' WHEN '%s' THEN '2026-01-03T00:00:00Z'"
             " ELSE '2026-01-04T00:00:00Z' END",
             key_ref, key_pruned, key_empty);
    exec_sql(sql);
    return 0;
}

static const db_run_summary *find(const db_run_summary *s, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].key, key)) return &s[i];
    fail_msg("run %.12s missing from the summaries", key);
    return NULL;
}

static void test_summaries(void **state) {
    (void)state;
    char err[2048];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    db_run_summary *s = NULL;
    size_t n = 0;
    assert_int_equal(db_run_summaries(db, &s, &n), DB_OK);
    assert_int_equal(n, 4);
    /* oldest first */
    assert_string_equal(s[0].key, key_ref);
    assert_string_equal(s[1].key, key_pruned);
    assert_string_equal(s[2].key, key_empty);
    assert_string_equal(s[3].key, key_untimed);

    const db_run_summary *r = find(s, n, key_ref);
    assert_string_equal(r->model, "tiny");
    assert_string_equal(r->benchmark, "videomme");
    assert_string_equal(r->method, "dense");
    assert_string_equal(r->created, "2026-01-01T00:00:00Z");
    assert_true(isnan(r->target_ratio));
    assert_int_equal(r->n_samples, 4);
    assert_int_equal(r->n_ok, 3);
    assert_int_equal(r->n_failed, 1);
    assert_int_equal(r->n_correct, 2);
    assert_int_equal(r->n_parse_failed, 1);
    assert_near(r->mean_retention, 1.0, 1e-12);
    assert_near(r->mean_flops, 4e12, 1);
    /* the failed sample's 5000 ms and "medium" stay out: only scored samples count */
    assert_near(r->ms[DB_STAGE_TOTAL], 200.0, 1e-9);
    assert_near(r->ms[DB_STAGE_VISION], 100.0, 1e-9);
    assert_true(isnan(r->ms[DB_STAGE_PREFILL]));
    assert_int_equal(r->n_durations, 2);
    assert_string_equal(r->duration[0].value, "long");
    assert_int_equal(r->duration[0].n, 1);
    assert_int_equal(r->duration[0].n_correct, 0);
    assert_string_equal(r->duration[1].value, "short");
    assert_int_equal(r->duration[1].n, 2);
    assert_int_equal(r->duration[1].n_correct, 2);
    assert_int_equal(r->n_layers, 4);
    for (int l = 0; l < 4; l++) assert_near(r->visual_per_layer[l], 100.0, 1e-12);

    r = find(s, n, key_pruned);
    assert_near(r->target_ratio, 0.25, 0);
    assert_int_equal(r->n_samples, 3);
    assert_int_equal(r->n_ok, 3);
    assert_int_equal(r->n_failed, 0);
    assert_int_equal(r->n_correct, 2);
    assert_int_equal(r->n_parse_failed, 0);
    assert_near(r->mean_retention, 0.3, 1e-12);
    assert_near(r->mean_flops, 2e12, 1);
    assert_near(r->ms[DB_STAGE_TOTAL], 60.0, 1e-9);
    assert_int_equal(r->n_durations, 2); /* q3 has no duration */
    assert_string_equal(r->duration[0].value, "long");
    assert_int_equal(r->duration[0].n_correct, 1);
    assert_string_equal(r->duration[1].value, "short");
    assert_int_equal(r->duration[1].n_correct, 0);
    /* layers 0, 1 over three samples; 2, 3 over the two that reach them */
    assert_int_equal(r->n_layers, 4);
    assert_near(r->visual_per_layer[0], 100.0, 1e-12);
    assert_near(r->visual_per_layer[1], (100.0 + 90 + 100) / 3, 1e-12);
    assert_near(r->visual_per_layer[2], 50.0, 1e-12);
    assert_near(r->visual_per_layer[3], 50.0, 1e-12);

    r = find(s, n, key_empty);
    assert_near(r->target_ratio, 0.5, 0);
    assert_int_equal(r->n_samples, 0);
    assert_int_equal(r->n_ok, 0);
    assert_true(isnan(r->mean_retention));
    assert_true(isnan(r->mean_flops));
    assert_int_equal(r->n_durations, 0);
    assert_int_equal(r->n_layers, 0);
    assert_null(r->visual_per_layer);
    for (int k = 0; k < DB_N_STAGES; k++) assert_true(isnan(r->ms[k]));

    /* "ratio": null reads as no ratio, like an absent one */
    r = find(s, n, key_untimed);
    assert_true(isnan(r->target_ratio));
    assert_int_equal(r->n_ok, 1);
    for (int k = 0; k < DB_N_STAGES; k++) assert_true(isnan(r->ms[k]));
    db_run_summaries_free(s, n);
    db_run_summaries_free(NULL, 0);
    db_close(db);
}

static void test_scored_samples(void **state) {
    (void)state;
    char err[2048];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    db_scored sc;
    /* the reference run: failed q4 left out; grouped by video, the sample without one first
     * (its sample id stands for its cluster) */
    assert_int_equal(db_run_scored(db, key_ref, &sc), DB_OK);
    assert_int_equal(sc.n, 3);
    assert_string_equal(sc.cluster[0], "q3");
    assert_int_equal(sc.correct[0], 0);
    assert_string_equal(sc.cluster[1], "vA");
    assert_int_equal(sc.correct[1], 1);
    assert_string_equal(sc.cluster[2], "vB");
    assert_int_equal(sc.correct[2], 1);
    db_scored_free(&sc);
    assert_int_equal(sc.n, 0);
    /* same video: insertion order (q2 before q3) */
    assert_int_equal(db_run_scored(db, key_pruned, &sc), DB_OK);
    assert_int_equal(sc.n, 3);
    assert_string_equal(sc.cluster[0], "vA");
    assert_string_equal(sc.cluster[1], "vA");
    assert_string_equal(sc.cluster[2], "vB");
    assert_int_equal(sc.correct[0] + sc.correct[1], 2);
    assert_int_equal(sc.correct[2], 0);
    db_scored_free(&sc);
    assert_int_equal(db_run_scored(db, "0000", &sc), DB_OK);
    assert_int_equal(sc.n, 0);
    db_scored_free(&sc);
    db_close(db);
}

static void test_empty_and_malformed(void **state) {
    (void)state;
    char err[2048], path[1200];
    snprintf(path, sizeof path, "%s/empty.db", tb_test_dir("store_query"));
    unlink(path);
    db_store *db = db_open(path, err, sizeof err);
    assert_non_null(db);
    db_run_summary *s = (db_run_summary *)1;
    size_t n = 99;
    assert_int_equal(db_run_summaries(db, &s, &n), DB_OK);
    assert_null(s);
    assert_int_equal(n, 0);
    db_close(db);

    /* a run whose params are not JSON is left out, the others still come back */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE runs SET params = 'not json' WHERE run_key = '%s'", key_empty);
    exec_sql(sql);
    db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(db_run_summaries(db, &s, &n), DB_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) assert_string_not_equal(s[i].key, key_empty);
    db_run_summaries_free(s, n);
    /* a broken table is an error naming the database, not a crash */
    exec_sql("DROP TABLE timings");
    assert_int_equal(db_run_summaries(db, &s, &n), DB_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(db_errmsg(db), db_path));
    db_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summaries),
        cmocka_unit_test(test_scored_samples),
        cmocka_unit_test(test_empty_and_malformed),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
