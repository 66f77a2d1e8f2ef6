/* test_merge_compare.c - tango-bench merge (shards -> one database) and compare (paired
 * comparison with a regression exit status), through the binary. */
#include "tests/tb_test.h"

#include <sqlite3.h>

#include "store/store.h"

static char dir[1024];

static db_run_spec spec_for(const char *method) {
    db_run_spec s = db_run_spec_default();
    s.model = "tiny";
    s.benchmark = "mvbench";
    s.method = method;
    s.params_json = "{\"ratio\":0.1}";
    s.code_version = "test";
    return s;
}

/* Writes samples [from, to) of a run into the database at path; sample i is correct when
 * right(i). n_expected = to - from. */
static void write_run(const char *path, const char *method, int from, int to, int (*right)(int),
                      char key[DB_KEY_LEN + 1]) {
    char err[2048];
    db_store *db = db_open(path, err, sizeof err);
    assert_non_null(db);
    db_run_spec s = spec_for(method);
    s.n_expected = to - from;
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    for (int i = from; i < to; i++) {
        char id[32], vid[32];
        snprintf(id, sizeof id, "q%03d", i);
        snprintf(vid, sizeof vid, "v%02d", i / 3);
        int64_t layers[2] = {10, 5};
        db_sample_result r = {.sample_id = id, .video_id = vid, .parsed = right(i) ? "A" : "B", .gold = "A",
                              .correct = right(i), .n_layers = 2, .visual_per_layer = layers};
        for (int k = 0; k < DB_N_STAGES; k++) r.ms[k] = 1;
        assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    }
    assert_int_equal(db_run_finish(db, key, DB_RUN_OK), DB_OK);
    db_close(db);
}

static int right_80(int i) { return i % 5 != 0; }
static int right_60(int i) { return i % 5 > 1; }
static int right_79(int i) { return i % 5 != 0 && i != 7; }

static int64_t query(const char *path, const char *sql) {
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void test_merge_shards_equals_single(void **state) {
    (void)state;
    char single[1200], s0[1200], s1[1200], merged[1200], cmd[4096], out[8192];
    char k[DB_KEY_LEN + 1], k0[DB_KEY_LEN + 1], k1[DB_KEY_LEN + 1];
    snprintf(single, sizeof single, "%s/single.db", dir);
    snprintf(s0, sizeof s0, "%s/shard0.db", dir);
    snprintf(s1, sizeof s1, "%s/shard1.db", dir);
    snprintf(merged, sizeof merged, "%s/merged.db", dir);
    write_run(single, "tango", 0, 60, right_80, k);
    write_run(s0, "tango", 0, 25, right_80, k0);
    write_run(s1, "tango", 25, 60, right_80, k1);
    assert_string_equal(k, k0);
    assert_string_equal(k0, k1);
    snprintf(cmd, sizeof cmd, "%s merge %s %s %s", tb_test_bin(), merged, s0, s1);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "35 samples added"));
    static const char *checks[] = {
        "SELECT count(*) FROM samples", "SELECT sum(correct) FROM samples", "SELECT count(*) FROM layer_tokens",
        "SELECT count(*) FROM timings", "SELECT count(*) FROM runs", "SELECT sum(n_expected) FROM runs",
        "SELECT count(*) FROM runs WHERE status = 'ok'",
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        assert_int_equal(query(merged, checks[i]), query(single, checks[i]));
    /* merging into a database that already has runs is refused */
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "already holds 1 runs"));
    /* the same shard twice: duplicates are kept once, n_expected adds up per input */
    snprintf(merged, sizeof merged, "%s/twice.db", dir);
    snprintf(cmd, sizeof cmd, "%s merge %s %s %s", tb_test_bin(), merged, s0, s0);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "25 already present"));
    assert_int_equal(query(merged, "SELECT count(*) FROM samples"), 25);
    assert_int_equal(query(merged, "SELECT count(*) FROM layer_tokens"), 50);
    /* a missing input is one clear error */
    snprintf(merged, sizeof merged, "%s/bad.db", dir);
    snprintf(cmd, sizeof cmd, "%s merge %s %s/nope/missing.db", tb_test_bin(), merged, dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "missing.db"));
}

static void test_merge_conflicts_flagged(void **state) {
    (void)state;
    char a[1200], b[1200], m[1200], cmd[4096], out[8192], k[DB_KEY_LEN + 1];
    snprintf(a, sizeof a, "%s/ca.db", dir);
    snprintf(b, sizeof b, "%s/cb.db", dir);
    snprintf(m, sizeof m, "%s/cm.db", dir);
    write_run(a, "fastv", 0, 10, right_80, k);
    write_run(b, "fastv", 0, 10, right_60, k);
    snprintf(cmd, sizeof cmd, "%s merge %s %s %s", tb_test_bin(), m, a, b);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "2 CONFLICTING"));
    assert_int_equal(query(m, "SELECT sum(correct) FROM samples"), 8); /* the first input wins */
}

static void test_compare_flags_regression(void **state) {
    (void)state;
    char db[1200], cmd[4096], out[8192], ka[DB_KEY_LEN + 1], kb[DB_KEY_LEN + 1], kc[DB_KEY_LEN + 1];
    snprintf(db, sizeof db, "%s/compare.db", dir);
    write_run(db, "full", 0, 300, right_80, ka);
    write_run(db, "random", 0, 300, right_60, kb);
    write_run(db, "tango", 0, 300, right_79, kc);
    snprintf(cmd, sizeof cmd, "%s compare --db %s %.12s %.12s", tb_test_bin(), db, ka, kb);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 3);
    assert_non_null(strstr(out, "accuracy A 80.00%  B 60.00%  B-A -20.00 points"));
    assert_non_null(strstr(out, "both right 180  A only 60  B only 0  both wrong 60"));
    assert_non_null(strstr(out, "REGRESSION"));
    /* one flipped answer out of 300 stays under a 1-point threshold */
    snprintf(cmd, sizeof cmd, "%s compare --db %s --threshold 1 %.12s %.12s", tb_test_bin(), db, ka, kc);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "A only 1  B only 0"));
    assert_non_null(strstr(out, "McNemar exact p = 1"));
    snprintf(cmd, sizeof cmd, "%s compare --db %s %.12s", tb_test_bin(), db, ka);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s compare --db %s %.12s abcdef12", tb_test_bin(), db, ka);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "no run with key abcdef12"));
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", tb_test_dir("merge"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_shards_equals_single),
        cmocka_unit_test(test_merge_conflicts_flagged),
        cmocka_unit_test(test_compare_flags_regression),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
