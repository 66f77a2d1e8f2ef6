/* test_store.c - the SQLite results store: run keys, resume, crash safety, duplicates,
 * migrations, refusal of newer/corrupt/foreign databases, export. */
#include "tests/tb_test.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "store/store.h"

static char db_path[1100];

static db_run_spec spec_for(const char *method, const char *params) {
    db_run_spec s = db_run_spec_default();
    s.model = "tiny";
    s.weights_digest = "abc";
    s.benchmark = "mvbench";
    s.revision = "r1";
    s.frame_policy = "n=8,rule=linspace";
    s.decoder = "ffmpeg-exact";
    s.method = method;
    s.params_json = params;
    s.seed = 7;
    s.code_version = "test";
    s.n_expected = 10;
    return s;
}

static db_sample_result result_for(const char *id, int correct) {
    static int64_t layers[4] = {100, 100, 50, 50};
    db_sample_result r = {.sample_id = id, .video_id = "v1", .categories_json = "{\"task\":\"count\"}",
                          .raw_output = "A.", .parsed = "A", .gold = correct ? "A" : "B", .correct = correct,
                          .n_visual_in = 100, .n_text = 20, .n_layers = 4, .visual_per_layer = layers,
                          .flops = 1e9, .equiv_retention = 0.75, .peak_bytes = 1 << 20};
    for (int i = 0; i < DB_N_STAGES; i++) r.ms[i] = 1.5 * (i + 1);
    return r;
}

static void fresh_db(const char *name) {
    snprintf(db_path, sizeof db_path, "%s/%s.db", tb_test_dir("store"), name);
    unlink(db_path);
    char wal[1200];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", db_path);
    unlink(wal);
}

static int64_t count_rows(const char *sql) {
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db_path, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void test_run_key_canonical(void **state) {
    (void)state;
    char k1[DB_KEY_LEN + 1], k2[DB_KEY_LEN + 1], k3[DB_KEY_LEN + 1], err[256];
    char *canon = NULL;
    db_run_spec a = spec_for("tango", "{\"ratio\": 0.15, \"alpha\": {\"y\": 1, \"x\": 2}}");
    db_run_spec b = spec_for("tango", "{\"alpha\":{\"x\":2,\"y\":1},\"ratio\":0.15}");
    db_run_spec c = spec_for("tango", "{\"alpha\":{\"x\":2,\"y\":1},\"ratio\":0.2}");
    assert_int_equal(db_run_key(&a, k1, &canon, err, sizeof err), DB_OK);
    assert_int_equal(db_run_key(&b, k2, NULL, err, sizeof err), DB_OK);
    assert_int_equal(db_run_key(&c, k3, NULL, err, sizeof err), DB_OK);
    assert_string_equal(k1, k2);          /* key order and whitespace do not matter */
    assert_string_not_equal(k1, k3);      /* a changed parameter is a different run */
    assert_int_equal(strlen(k1), 64);
    assert_non_null(strstr(canon, "\"params\":{\"alpha\":{\"x\":2,\"y\":1},\"ratio\":0.15}"));
    free(canon);
    a.seed = 8;
    assert_int_equal(db_run_key(&a, k3, NULL, err, sizeof err), DB_OK);
    assert_string_not_equal(k1, k3);
    db_run_spec bad = spec_for("tango", "[1,2]");
    assert_int_equal(db_run_key(&bad, k3, NULL, err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "not a JSON object"));
}

static void test_resume_and_duplicates(void **state) {
    (void)state;
    fresh_db("resume");
    char err[2048], key[DB_KEY_LEN + 1], key2[DB_KEY_LEN + 1];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    db_run_spec s = spec_for("tango", "{\"ratio\":0.1}");
    int resumed = -1, done = -1;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    assert_int_equal(resumed, 0);
    db_sample_result r = result_for("s1", 1);
    assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    assert_int_equal(db_sample_done(db, key, "s1", &done), DB_OK);
    assert_int_equal(done, 1);
    assert_int_equal(db_sample_done(db, key, "s2", &done), DB_OK);
    assert_int_equal(done, 0);
    /* Writing the same sample again is refused and changes nothing. */
    r.raw_output = "B.";
    assert_int_equal(db_sample_put(db, key, &r), DB_ERR_DUPLICATE);
    assert_non_null(strstr(db_errmsg(db), "s1"));
    db_close(db);

    db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(db_run_open(db, &s, key2, &resumed), DB_OK);
    assert_int_equal(resumed, 1);
    assert_string_equal(key, key2);
    db_sample_result f = {.sample_id = "s2", .error = "video.mp4: corrupt", .ms = {-1, -1, -1, -1, -1, -1}};
    assert_int_equal(db_sample_put(db, key, &f), DB_OK);
    assert_int_equal(db_run_finish(db, key, DB_RUN_OK), DB_OK);
    assert_int_equal(db_run_finish(db, "0000", DB_RUN_OK), DB_ERR_NOT_FOUND);
    db_close(db);
    assert_int_equal(count_rows("SELECT count(*) FROM samples"), 2);
    assert_int_equal(count_rows("SELECT count(*) FROM samples WHERE status = 'failed' AND correct = 0"), 1);
    assert_int_equal(count_rows("SELECT count(*) FROM layer_tokens"), 4);
    assert_int_equal(count_rows("SELECT count(*) FROM timings"), DB_N_STAGES);
    assert_int_equal(count_rows("SELECT count(*) FROM samples WHERE raw_output = 'A.'"), 1);
    assert_int_equal(count_rows("SELECT count(*) FROM runs WHERE status = 'ok'"), 1);
}

/* Fault hook: SIGKILL the process at the given step of db_sample_put's transaction. */
static void kill_at_step(int step, void *ctx) {
    int *target = ctx;
    if (*target == step) raise(SIGKILL);
}

static void test_crash_mid_transaction(void **state) {
    (void)state;
    fresh_db("crash");
    char err[2048], key[DB_KEY_LEN + 1];
    db_run_spec s = spec_for("fastv", "{\"k\":2}");
    for (int step = 1; step <= 3; step++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            db_store *db = db_open(db_path, err, sizeof err);
            if (!db) _exit(3);
            int resumed;
            if (db_run_open(db, &s, key, &resumed)) _exit(4);
            for (int i = 0; i < 10; i++) {
                char id[16];
                snprintf(id, sizeof id, "s%d", i);
                int done;
                if (db_sample_done(db, key, id, &done)) _exit(5);
                if (done) continue;
                static int target;
                target = step;
                if (i == 5 + step) db_set_fault_hook(db, kill_at_step, &target);
                db_sample_result r = result_for(id, i % 2);
                if (db_sample_put(db, key, &r)) _exit(6);
            }
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* Exactly the committed samples survive; the killed one left nothing behind. */
        int64_t n = count_rows("SELECT count(*) FROM samples");
        assert_int_equal(n, 5 + step);
        assert_int_equal(count_rows("SELECT count(*) FROM layer_tokens"), 4 * n);
        assert_int_equal(count_rows("SELECT count(*) FROM timings"), DB_N_STAGES * n);
    }
    /* Resume to the end: 8 samples, no duplicates, one run. */
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    assert_int_equal(resumed, 1);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        int done;
        assert_int_equal(db_sample_done(db, key, id, &done), DB_OK);
        if (done) continue;
        db_sample_result r = result_for(id, i % 2);
        assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    }
    db_close(db);
    assert_int_equal(count_rows("SELECT count(*) FROM samples"), 10);
    assert_int_equal(count_rows("SELECT count(DISTINCT sample_id) FROM samples"), 10);
    assert_int_equal(count_rows("SELECT count(*) FROM runs"), 1);
    assert_int_equal(count_rows("SELECT count(*) FROM layer_tokens"), 40);
}

static void exec_raw(const char *sql) {
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db_path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void test_migration_from_v1(void **state) {
    (void)state;
    fresh_db("migrate");
    /* A version-1 database as the first release wrote it (abridged to the tables v2 touches). */
    exec_raw("CREATE TABLE runs (run_key TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL,"
             " code_version TEXT NOT NULL, model TEXT NOT NULL, weights_digest TEXT NOT NULL, benchmark TEXT NOT NULL,"
             " revision TEXT NOT NULL, split TEXT NOT NULL, frame_policy TEXT NOT NULL, decoder TEXT NOT NULL,"
             " method TEXT NOT NULL, params TEXT NOT NULL, compat TEXT NOT NULL, quirks TEXT NOT NULL,"
             " seed INTEGER NOT NULL, spec TEXT NOT NULL, n_expected INTEGER NOT NULL DEFAULT 0,"
             " status TEXT NOT NULL);"
             "CREATE TABLE samples (run_key TEXT NOT NULL, sample_id TEXT NOT NULL, video_id TEXT, categories TEXT,"
             " status TEXT NOT NULL, error TEXT, raw_output TEXT, parsed TEXT, gold TEXT,"
             " correct INTEGER NOT NULL DEFAULT 0, parse_failed INTEGER NOT NULL DEFAULT 0, n_visual_in INTEGER,"
             " n_text INTEGER, flops REAL, equiv_retention REAL, peak_bytes INTEGER, created TEXT NOT NULL,"
             " PRIMARY KEY (run_key, sample_id));"
             "CREATE TABLE layer_tokens (run_key TEXT, sample_id TEXT, layer INTEGER, visual INTEGER);"
             "CREATE TABLE timings (run_key TEXT, sample_id TEXT, stage TEXT, ms REAL);"
             "INSERT INTO runs VALUES ('k1','t','t','v','m','d','b','r','s','f','dec','tango','{}','official','',"
             " 0,'{}',3,'ok');"
             "INSERT INTO runs VALUES ('k2','t','t','v','m','d','b','r','s','f','dec','tango',"
             " '{\"convention\":\"lmms-eval\"}','official','',0,'{}',3,'ok');"
             "INSERT INTO samples (run_key, sample_id, status, correct, created) VALUES ('k1','old','ok',1,'t');"
             "INSERT INTO samples (run_key, sample_id, status, correct, created) VALUES ('k1','bad','failed',0,'t');"
             "PRAGMA user_version = 1;");
    char err[2048];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), DB_SCHEMA_VERSION);
    db_close(db);
    assert_int_equal(count_rows("SELECT count(*) FROM samples WHERE sample_id = 'old' AND kl_mean IS NULL"), 1);
    assert_int_equal(count_rows("SELECT count(*) FROM samples WHERE method_json IS NULL"), 2);
    assert_int_equal(count_rows("SELECT count(*) FROM sqlite_schema WHERE name = 'samples_by_video'"), 1);
    /* 4: the convention comes from params, old answers keep their 0/1 as score, failed ones none */
    assert_int_equal(count_rows("SELECT count(*) FROM runs WHERE run_key = 'k1' AND convention = ''"
                                " AND aggregate = 'micro'"), 1);
    assert_int_equal(count_rows("SELECT count(*) FROM runs WHERE run_key = 'k2' AND convention = 'lmms-eval'"), 1);
    assert_int_equal(count_rows("SELECT count(*) FROM samples WHERE sample_id = 'old' AND score = 1"), 1);
    assert_int_equal(count_rows("SELECT count(*) FROM samples WHERE sample_id = 'bad' AND score IS NULL"), 1);
}

static void test_refuses_newer_foreign_corrupt(void **state) {
    (void)state;
    char err[2048];
    fresh_db("newer");
    exec_raw("CREATE TABLE x (a); PRAGMA user_version = 99;");
    assert_null(db_open(db_path, err, sizeof err));
    assert_non_null(strstr(err, "schema version 99 is newer"));
    assert_non_null(strstr(err, db_path));

    fresh_db("foreign");
    exec_raw("CREATE TABLE something_else (a);");
    assert_null(db_open(db_path, err, sizeof err));
    assert_non_null(strstr(err, "not a tango-bench database"));

    fresh_db("corrupt");
    FILE *f = fopen(db_path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 300; i++) fputs("this is not a database file at all ", f);
    fclose(f);
    assert_null(db_open(db_path, err, sizeof err));
    assert_non_null(strstr(err, db_path));
    assert_non_null(strstr(err, "not an SQLite database"));

    /* A location that cannot be written: a path below a regular file. */
    char bad[1200];
    snprintf(bad, sizeof bad, "%s/inside.db", db_path);
    assert_null(db_open(bad, err, sizeof err));
    assert_non_null(strstr(err, bad));
    assert_non_null(strstr(err, "cannot open"));
}

static void test_export_and_resolve(void **state) {
    (void)state;
    fresh_db("export");
    char err[2048], key[DB_KEY_LEN + 1], got[DB_KEY_LEN + 1];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    db_run_spec s = spec_for("tango", "{}");
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    db_sample_result r = result_for("q,1", 1);
    r.raw_output = "says \"A\"\nthen more";
    assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", key);
    assert_int_equal(db_run_resolve(db, prefix, got), DB_OK);
    assert_string_equal(got, key);
    assert_int_equal(db_run_resolve(db, "zz", got), DB_ERR_INVALID);
    char other[11];
    snprintf(other, sizeof other, "%.10s", key);
    other[0] = other[0] == '0' ? '1' : '0';
    assert_int_equal(db_run_resolve(db, other, got), DB_ERR_NOT_FOUND);

    char path[1200];
    snprintf(path, sizeof path, "%s.csv", db_path);
    FILE *out = fopen(path, "w+");
    assert_int_equal(db_export(db, key, DB_EXPORT_CSV, out), DB_OK);
    rewind(out);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, out);
    buf[n] = '\0';
    fclose(out);
    assert_non_null(strstr(buf, "sample_id,video_id,categories,status"));
    assert_non_null(strstr(buf, "\"q,1\",v1,\"{\"\"task\"\":\"\"count\"\"}\",ok,"));
    assert_non_null(strstr(buf, "\"says \"\"A\"\"\nthen more\""));
    assert_non_null(strstr(buf, "100 100 50 50"));

    out = fopen(path, "w+");
    assert_int_equal(db_export(db, key, DB_EXPORT_JSONL, out), DB_OK);
    rewind(out);
    n = fread(buf, 1, sizeof buf - 1, out);
    buf[n] = '\0';
    fclose(out);
    assert_non_null(strstr(buf, "\"categories\":{\"task\":\"count\"}"));
    assert_non_null(strstr(buf, "\"visual_per_layer\":[100,100,50,50]"));
    assert_non_null(strstr(buf, "\"ms_total\":9"));
    db_close(db);
}

static void test_cli_runs_export(void **state) {
    (void)state;
    fresh_db("cli");
    char err[2048], key[DB_KEY_LEN + 1], cmd[2400], out[8192];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    db_run_spec s = spec_for("visionzip", "{}");
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "x%d", i);
        db_sample_result r = result_for(id, i != 1);
        assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    }
    db_close(db);
    snprintf(cmd, sizeof cmd, "%s runs --db %s", tb_test_bin(), db_path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "visionzip"));
    assert_non_null(strstr(out, "3/10"));
    assert_non_null(strstr(out, "66.7"));
    snprintf(cmd, sizeof cmd, "%s export --db %s --run %.10s --format jsonl", tb_test_bin(), db_path, key);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"sample_id\":\"x2\""));
    snprintf(cmd, sizeof cmd, "%s export --db %s --run %.10s --format xml", tb_test_bin(), db_path, key);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--format 'xml'"));
    snprintf(cmd, sizeof cmd, "%s export --db %s --run 123456", tb_test_bin(), db_path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "no run with key 123456"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_key_canonical),
        cmocka_unit_test(test_resume_and_duplicates),
        cmocka_unit_test(test_crash_mid_transaction),
        cmocka_unit_test(test_migration_from_v1),
        cmocka_unit_test(test_refuses_newer_foreign_corrupt),
        cmocka_unit_test(test_export_and_resolve),
        cmocka_unit_test(test_cli_runs_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
