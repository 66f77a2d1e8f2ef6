/* test_report.c - tango-bench report on a database whose numbers are known by construction:
 * Table 1 layout, best/second marks, both Perf. definitions, CI columns, plots and HTML. */
#include "tests/tb_test.h"

#include <math.h>

#include "store/store.h"

static char dir[1024], db_path[1200];
static const char *model_name = "tiny-ov"; /* model of the runs add_run writes */

/* Adds a run with n samples of which n_right are correct; Video-MME samples cycle through the
 * duration groups; each sample's video holds 2 questions. */
static void add_run(db_store *db, const char *bench, const char *method, double ratio, int n, int n_right,
                    double total_ms) {
    db_run_spec s = db_run_spec_default();
    s.model = model_name;
    s.benchmark = bench;
    s.method = method;
    char params[64];
    if (ratio < 1) snprintf(params, sizeof params, "{\"ratio\":%g}", ratio);
    else snprintf(params, sizeof params, "{}");
    s.params_json = params;
    s.code_version = "test";
    s.n_expected = n;
    char key[DB_KEY_LEN + 1];
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    int64_t layers[4];
    for (int l = 0; l < 4; l++) layers[l] = (int64_t)(100 * ratio) * (l < 2 ? 1 : 1);
    for (int i = 0; i < n; i++) {
        char id[32], vid[32], cat[64];
        snprintf(id, sizeof id, "%s-%03d", bench, i);
        snprintf(vid, sizeof vid, "v%03d", i / 2);
        static const char *dur[3] = {"short", "medium", "long"};
        snprintf(cat, sizeof cat, "{\"duration\":\"%s\"}", dur[i % 3]);
        db_sample_result r = {.sample_id = id, .video_id = vid, .categories_json = cat, .gold = "A",
                              .parsed = i < n_right ? "A" : "B", .correct = i < n_right, .n_visual_in = 100,
                              .n_layers = 4, .visual_per_layer = layers, .equiv_retention = ratio,
                              .flops = 1e12 * ratio};
        r.ms[DB_STAGE_DECODE] = 1;
        r.ms[DB_STAGE_VISION] = 10;
        r.ms[DB_STAGE_PRUNE] = ratio < 1 ? 1 : 0;
        r.ms[DB_STAGE_PREFILL] = total_ms - 20;
        r.ms[DB_STAGE_GENERATE] = 5;
        r.ms[DB_STAGE_TOTAL] = total_ms;
        assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    }
}

static void add_failed_run(db_store *db, const char *bench, const char *method, double ratio, int n) {
    db_run_spec s = db_run_spec_default();
    s.model = "tiny-ov";
    s.benchmark = bench;
    s.method = method;
    char params[64];
    snprintf(params, sizeof params, "{\"ratio\":%g}", ratio);
    s.params_json = params;
    char key[DB_KEY_LEN + 1];
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "bad-%d", i);
        db_sample_result r = {.sample_id = id, .error = "video.mp4: corrupt", .ms = {-1, -1, -1, -1, -1, -1}};
        assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    }
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("report"));
    snprintf(db_path, sizeof db_path, "%s/study.db", dir);
    unlink(db_path);
    char err[2048];
    db_store *db = db_open(db_path, err, sizeof err);
    if (!db) return -1;
    /* full: videomme 60/90 (66.7), mvbench 40/50 (80.0) */
    add_run(db, "videomme", "full", 1, 90, 60, 200);
    add_run(db, "mvbench", "full", 1, 50, 40, 200);
    /* r = 0.1: tango best on both, fastv second on videomme, visionzip second on mvbench */
    add_run(db, "videomme", "tango", 0.1, 90, 57, 100);
    add_run(db, "mvbench", "tango", 0.1, 50, 39, 100);
    add_run(db, "videomme", "fastv", 0.1, 90, 54, 110);
    add_run(db, "mvbench", "fastv", 0.1, 50, 30, 110);
    add_run(db, "videomme", "visionzip", 0.1, 90, 45, 105);
    add_run(db, "mvbench", "visionzip", 0.1, 50, 35, 105);
    /* a run whose every sample failed (no scored sample) must not upset the report */
    add_failed_run(db, "videomme", "fastv", 0.2, 5);
    /* r = 0.2: only tango */
    add_run(db, "videomme", "tango", 0.2, 90, 59, 120);
    add_run(db, "mvbench", "tango", 0.2, 50, 40, 120);
    /* another model whose reference run is known by its missing ratio, not by a method name:
     * dense 10/20 (50.0) at 200 ms, tango 15/20 (75.0) at 100 ms */
    model_name = "tiny-ref";
    add_run(db, "mvbench", "dense", 1, 20, 10, 200);
    add_run(db, "mvbench", "tango", 0.1, 20, 15, 100);
    model_name = "tiny-ov";
    db_close(db);
    return 0;
}

static void test_report_files(void **state) {
    (void)state;
    char cmd[4096], out[8192], path[1400];
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s/rep", tb_test_bin(), db_path, dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) fail_msg("report failed: %s", out);
    assert_non_null(strstr(out, "report of 13 runs"));

    snprintf(path, sizeof path, "%s/rep/table.md", dir);
    char *md = tb_slurp(path, NULL);
    assert_non_null(md);
    /* columns: Video-MME durations and overall, MVBench, Avg., Perf. */
    assert_non_null(strstr(md, "| Retention | Method | VMME-S | VMME-M | VMME-L | Video-MME | MVBench | Avg. | Perf. |"));
    /* full row: 66.7 and 80.0, Avg 73.3, Perf 100 */
    assert_non_null(strstr(md, "| 100% | full | "));
    assert_non_null(strstr(md, "| 66.7 | 80.0 | 73.3 | 100.0 |"));
    /* r = 10%: tango 63.3 / 78.0 both best; fastv 60.0 second on Video-MME; visionzip 70.0 second on MVBench.
     * tango Perf (mean-rel) = (63.33/66.67 + 78/80)/2 = 96.25 */
    assert_non_null(strstr(md, "| 10% | tango | "));
    assert_non_null(strstr(md, "**63.3** | **78.0** | **70.7** | **96.2** |"));
    assert_non_null(strstr(md, "| <u>60.0</u> | 60.0 |"));
    assert_non_null(strstr(md, "| 50.0 | <u>70.0</u> |"));
    /* Tango is listed last in its block, after fastv and visionzip */
    char *pf = strstr(md, "| 10% | fastv |"), *pv = strstr(md, "| 10% | visionzip |"), *pt = strstr(md, "| 10% | tango |");
    assert_true(pf && pv && pt && pf < pv && pv < pt);
    /* per-run details with counts and CI */
    assert_non_null(strstr(md, "| tiny-ov | videomme | tango | - | 0.100 | 0.1000 | 90/90 | 0 | 0 | 63.3 ["));
    /* a run with nothing scored and nothing timed shows "-", never "nan" */
    assert_non_null(strstr(md, "| tiny-ov | videomme | fastv | - | 0.200 | - | 0/5 | 5 | 0 | - | - | - | - | - | - | - |"));
    assert_null(strstr(md, "nan"));
    /* the ratio-less run is the reference row: 100 %, Perf. relative to it (75.0 / 50.0) */
    assert_non_null(strstr(md, "## tiny-ref"));
    assert_non_null(strstr(md, "| 100% | dense | - | - | - | - | 50.0 | 50.0 | 100.0 |"));
    assert_non_null(strstr(md, "| 10% | tango | - | - | - | - | 75.0 | 75.0 | 150.0 |"));
    free(md);

    snprintf(path, sizeof path, "%s/rep/table.tex", dir);
    char *tex = tb_slurp(path, NULL);
    assert_non_null(tex);
    assert_non_null(strstr(tex, "\\textbf{63.3}"));
    assert_non_null(strstr(tex, "\\underline{60.0}"));
    assert_non_null(strstr(tex, "10\\% & tango"));
    free(tex);

    snprintf(path, sizeof path, "%s/rep/table.csv", dir);
    char *csv = tb_slurp(path, NULL);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "model,method,target_ratio,videomme_short,videomme_medium,videomme_long,videomme,"
                                "mvbench,avg,perf_mean_rel,perf_rel_avg"));
    /* rel-avg Perf for tango@0.1 = 70.667/73.333 = 96.36 */
    assert_non_null(strstr(csv, "tiny-ov,tango,0.1000,"));
    assert_non_null(strstr(csv, ",96.2500,96.3636"));
    free(csv);

    snprintf(path, sizeof path, "%s/rep/index.html", dir);
    char *html = tb_slurp(path, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<b>63.3</b>"));
    assert_non_null(strstr(html, "<img src=\"plots/acc_tiny-ov_videomme.svg\""));
    assert_non_null(strstr(html, "plots/latency_tiny-ov.svg"));
    assert_non_null(strstr(html, "plots/layers_tiny-ov_r10.svg"));
    assert_non_null(
        strstr(html, "<td>0.200</td><td>-</td><td>0/5</td><td>5</td><td>0</td><td>-</td><td>-</td><td>-</td>"));
    assert_null(strstr(html, "nan"));
    free(html);
    static const char *plots[] = {"acc_tiny-ov_videomme", "acc_tiny-ov_mvbench", "latency_tiny-ov",
                                  "layers_tiny-ov_r10", "layers_tiny-ov_r20"};
    for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/rep/plots/%s.png", dir, plots[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 1000);
        snprintf(path, sizeof path, "%s/rep/plots/%s.svg", dir, plots[i]);
        assert_int_equal(stat(path, &st), 0);
    }
    /* latency data: speed-up of tango@10% over full = 200/100 = 2.00 */
    snprintf(path, sizeof path, "%s/rep/plots/latency_tiny-ov.dat", dir);
    char *lat = tb_slurp(path, NULL);
    assert_non_null(strstr(lat, "\"tango@10%\" 10.0000 1.0000 80.0000 5.0000 4.0000 100.0000 2.0000"));
    free(lat);
    /* the reference bar carries the reference method's name; the speed-up is over it */
    snprintf(path, sizeof path, "%s/rep/plots/latency_tiny-ref.dat", dir);
    lat = tb_slurp(path, NULL);
    assert_non_null(lat);
    assert_non_null(strstr(lat, "\"dense\" 10.0000 0.0000 180.0000 5.0000 5.0000 200.0000 1.0000"));
    assert_non_null(strstr(lat, "\"tango@10%\" 10.0000 1.0000 80.0000 5.0000 4.0000 100.0000 2.0000"));
    free(lat);
}

static void test_report_rel_avg_and_errors(void **state) {
    (void)state;
    char cmd[4096], out[8192], path[1400];
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s/rep2 --perf rel-avg --format md --no-plots", tb_test_bin(),
             db_path, dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/rep2/table.md", dir);
    char *md = tb_slurp(path, NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "**70.7** | **96.4** |"));
    free(md);
    snprintf(path, sizeof path, "%s/rep2/table.tex", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(cmd, sizeof cmd, "%s report --db %s --format pdf", tb_test_bin(), db_path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown format in 'pdf'"));
    snprintf(cmd, sizeof cmd, "%s report --db %s --out /proc/forbidden/x --no-plots", tb_test_bin(), db_path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "/proc/forbidden/x"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_files),
        cmocka_unit_test(test_report_rel_avg_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
