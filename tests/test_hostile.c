/* test_hostile.c - library-level regressions of issue 14 (hostile input, faults) that belong to no
 * single module's test: HF_TOKEN redaction in streams and in the store. */
#include "tests/tb_test.h"

#include <math.h>
#include <sqlite3.h>

#include "common/redact.h"
#include "store/store.h"

static char dir[1024];

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = calloc((size_t)n + 1, 1);
    if (d && n > 0 && fread(d, 1, (size_t)n, f) != (size_t)n) d[0] = 0;
    fclose(f);
    return d;
}

/* The secret split across writes, repeated, at the very end, and a near miss that must survive. */
static void test_redacting_stream(void **state) {
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/stream.txt", dir);
    FILE *under = fopen(path, "wb");
    assert_non_null(under);
    FILE *f = tb_redacting_stream(under, "hf_SeCrEt42");
    assert_non_null(f);
    setvbuf(f, NULL, _IONBF, 0); /* every fputs is one write: the secret arrives in pieces */
    fputs("token hf_Se", f);
    fputs("CrE", f);
    fputs("t42 and hf_SeCrEt42hf_SeCrEt42, near miss hf_SeCrEt4 x\nend hf_SeCr", f);
    fputs("Et42", f);
    assert_int_equal(fclose(f), 0);
    fclose(under);
    char *got = slurp(path);
    assert_string_equal(got, "token *********** and **********************, near miss hf_SeCrEt4 x\nend ***********");
    free(got);
    /* a held-back prefix that never completes is written at close */
    under = fopen(path, "wb");
    f = tb_redacting_stream(under, "hf_SeCrEt42");
    setvbuf(f, NULL, _IONBF, 0);
    fputs("ends with hf_Se", f);
    fclose(f);
    fclose(under);
    got = slurp(path);
    assert_string_equal(got, "ends with hf_Se");
    free(got);
    char s[] = "a hf_SeCrEt42 b";
    assert_int_equal(tb_redact(s, "hf_SeCrEt42"), 1);
    assert_string_equal(s, "a *********** b");
    assert_int_equal(tb_redact(s, NULL), 0);
    assert_int_equal(tb_redact(s, ""), 0);
}

/* Regression (issue 14): the token is stored nowhere, whatever text carries it to the store. */
static void test_store_redacts_token(void **state) {
    (void)state;
    char path[1200], err[512];
    snprintf(path, sizeof path, "%s/redact.db", dir);
    unlink(path);
    setenv("HF_TOKEN", "hf_SeCrEt42", 1);
    db_store *db = db_open(path, err, sizeof err);
    assert_non_null(db);
    db_run_spec rs = db_run_spec_default();
    rs.model = "/models/hf_SeCrEt42/llava";
    rs.benchmark = "mvbench";
    rs.method = "full";
    char key[DB_KEY_LEN + 1];
    assert_int_equal(db_run_open(db, &rs, key, NULL), DB_OK);
    db_sample_result r = {.sample_id = "s1", .error = "HTTP 400 from x: Authorization: Bearer hf_SeCrEt42",
                          .raw_output = "hf_SeCrEt42", .flops = NAN, .equiv_retention = NAN};
    for (int i = 0; i < DB_N_STAGES; i++) r.ms[i] = -1;
    assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    db_close(db);
    unsetenv("HF_TOKEN");
    /* read every byte back through SQLite (the WAL included) */
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT (SELECT group_concat(model || spec) FROM runs) ||"
                                           " (SELECT group_concat(error || raw_output) FROM samples)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *all = (const char *)sqlite3_column_text(st, 0);
    assert_non_null(all);
    assert_null(strstr(all, "hf_SeCrEt42"));
    assert_non_null(strstr(all, "Bearer ***********"));
    sqlite3_finalize(st);
    sqlite3_close(s);
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("hostile"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redacting_stream),
        cmocka_unit_test(test_store_redacts_token),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
