/* test_hostile.c - library-level regressions of issue 14 (hostile input, faults) that belong to no
 * single module's test: HF_TOKEN redaction in streams and in the store. */
#include "tests/tb_test.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>

#include "common/redact.h"
#include "datasets/datasets.h"
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

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Regressions (issue 14): a symbolic link inside the videos root leading outside it was followed
 * (run decoded an outside video and stored the sample as ok); path-escape messages did not name
 * the file and record. */
static void test_video_symlink_escape(void **state) {
    (void)state;
    char root[1200], outside[1200], p[2000], q[PATH_MAX + 64], man[1400], err[1024];
    snprintf(root, sizeof root, "%s/videos", dir);
    snprintf(outside, sizeof outside, "%s/outside", dir);
    mkdir(root, 0755);
    mkdir(outside, 0755);
    char abs_outside[PATH_MAX];
    assert_non_null(realpath(outside, abs_outside)); /* link targets are resolved from the link's folder */
    snprintf(p, sizeof p, "%s/secret.mp4", outside);
    write_file(p, "not really a video");
    snprintf(p, sizeof p, "%s/needle", root); /* MLVU layout: <root>/<task file stem>/<video> */
    unlink(p);
    assert_int_equal(symlink(abs_outside, p), 0);
    snprintf(p, sizeof p, "%s/inside", root);
    mkdir(p, 0755);
    snprintf(q, sizeof q, "%s/inside/ok.mp4", root);
    write_file(q, "inside");
    snprintf(p, sizeof p, "%s/2_needle", root);
    unlink(p);
    assert_int_equal(symlink("inside", p), 0); /* a link that stays inside is fine */
    snprintf(man, sizeof man, "%s/mlvu", dir);
    mkdir(man, 0755);
    snprintf(p, sizeof p, "%s/2_needle.json", man);
    write_file(p, "[{\"video\": \"ok.mp4\", \"question\": \"q\", \"candidates\": [\"a\", \"b\"], \"answer\": \"a\"}]");
    snprintf(p, sizeof p, "%s/1_plotQA.json", man);
    write_file(p, "[{\"video\": \"../needle/secret.mp4\", \"question\": \"q\", \"candidates\": [\"a\", \"b\"],"
                  " \"answer\": \"a\"}, {\"video\": \"x.mp4\", \"question\": \"q\", \"candidates\": [\"a\", \"b\"],"
                  " \"answer\": \"a\"}]");
    ds_load_params lp = ds_load_default_params();
    lp.manifest = man;
    lp.videos_root = root;
    ds_sample_set *set = NULL;
    /* '..' names the file and the record */
    assert_int_equal(ds_samples_load(DS_BENCH_MLVU, &lp, &set, err, sizeof err), DS_ERR_PATH);
    if (!strstr(err, "1_plotQA.json: record 0: field 'video'") || !strstr(err, "escapes the videos root"))
        fail_msg("%s", err);
    /* a link to a directory outside the root is refused, naming file, record and where it leads */
    snprintf(p, sizeof p, "%s/1_plotQA.json", man);
    write_file(p, "[{\"video\": \"secret.mp4\", \"question\": \"q\", \"candidates\": [\"a\", \"b\"], \"answer\": \"a\"}]");
    snprintf(p, sizeof p, "%s/1_plotQA", root);
    unlink(p);
    assert_int_equal(symlink(abs_outside, p), 0);
    assert_int_equal(ds_samples_load(DS_BENCH_MLVU, &lp, &set, err, sizeof err), DS_ERR_PATH);
    if (!strstr(err, "1_plotQA.json: record 0: video path '1_plotQA/secret.mp4' resolves to") ||
        !strstr(err, "outside the videos root"))
        fail_msg("%s", err);
    /* the runner's load keeps it as a failed sample; the inside link resolves */
    lp.keep_bad_records = 1;
    int st = ds_samples_load(DS_BENCH_MLVU, &lp, &set, err, sizeof err);
    if (st) fail_msg("%s", err);
    assert_int_equal(ds_sample_set_count(set), 2);
    assert_non_null(ds_sample_set_get(set, 0)->error);
    assert_non_null(strstr(ds_sample_set_get(set, 0)->error, "outside the videos root"));
    const ds_sample *ok = ds_sample_set_get(set, 1);
    assert_null(ok->error);
    assert_int_equal(ds_video_check(ok->video, ok->video_rel, err, sizeof err), DS_OK);
    ds_sample_set_free(set);
    /* the check before decoding catches a link that appears after loading */
    snprintf(p, sizeof p, "%s/late.mp4", root);
    unlink(p);
    snprintf(q, sizeof q, "%s/secret.mp4", abs_outside);
    assert_int_equal(symlink(q, p), 0);
    assert_int_equal(ds_video_check(p, "late.mp4", err, sizeof err), DS_ERR_PATH);
    assert_non_null(strstr(err, "late.mp4"));
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
        cmocka_unit_test(test_video_symlink_escape),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
