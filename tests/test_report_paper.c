/* test_report_paper.c - what `report` adds to reproduce the paper, on a database whose numbers
 * are known by construction: published values from a registry beside the matching cells (value,
 * difference, CI and whether it covers the paper value; accuracy, Avg., Perf. and speed-up cells;
 * matching by model family, method or label, and ratio), the built-in registry, --paper none and
 * a malformed registry; the rows of labelled variants with the parameters that differ (Table 3
 * layout), a two-parameter grid (Table 4), a sweep plot (Figure 8) and a frame-count plot
 * (Figure 6). */
#include "tests/tb_test.h"

#include <math.h>

#include "store/store.h"

static char dir[1024], db_path[1200];

/* A run of n samples, n_right correct (2 questions per video), with its params JSON. */
static void add_run(db_store *db, const char *model, const char *bench, const char *method, const char *params,
                    const char *frames, int n, int n_right, double total_ms) {
    db_run_spec s = db_run_spec_default();
    s.model = model;
    s.benchmark = bench;
    s.method = method;
    s.params_json = params;
    s.frame_policy = frames;
    s.code_version = "test";
    s.n_expected = n;
    char key[DB_KEY_LEN + 1];
    int resumed;
    assert_int_equal(db_run_open(db, &s, key, &resumed), DB_OK);
    for (int i = 0; i < n; i++) {
        char id[32], vid[32];
        snprintf(id, sizeof id, "%s-%03d", bench, i);
        snprintf(vid, sizeof vid, "v%03d", i / 2);
        db_sample_result r = {.sample_id = id, .video_id = vid, .gold = "A", .parsed = i < n_right ? "A" : "B",
                              .correct = i < n_right, .n_visual_in = 100, .equiv_retention = 0.1};
        for (int k = 0; k < DB_N_STAGES; k++) r.ms[k] = 1;
        r.ms[DB_STAGE_TOTAL] = total_ms;
        assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    }
}

#define OV "\"family\":\"llava-ov\""

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("report-paper"));
    snprintf(db_path, sizeof db_path, "%s/study.db", dir);
    unlink(db_path);
    char err[2048];
    db_store *db = db_open(db_path, err, sizeof err);
    if (!db) return -1;
    const char *f32 = "n=32,rule=linspace,size=384", *f64 = "n=64,rule=linspace,size=384";
    /* model A (32 frames): full 60/90 (66.67) and 40/50 (80), 200 ms */
    add_run(db, "A", "videomme", "full", "{" OV "}", f32, 90, 60, 200);
    add_run(db, "A", "mvbench", "full", "{" OV "}", f32, 50, 40, 200);
    /* tango at 0.1: 57/90 (63.33), 39/50 (78), 100 ms: Perf. (0.95 + 0.975) / 2 = 96.25, 2.00x */
    add_run(db, "A", "videomme", "tango", "{\"ratio\":0.1," OV "}", f32, 90, 57, 100);
    add_run(db, "A", "mvbench", "tango", "{\"ratio\":0.1," OV "}", f32, 50, 39, 100);
    /* three labelled variants at 0.1 differing in alpha (a sweep) */
    const double alpha[3] = {1.0, 1.5, 2.0};
    const int right[3] = {30, 36, 33};
    for (int i = 0; i < 3; i++) {
        char p[256], label[32];
        snprintf(label, sizeof label, "tango alpha=%g", alpha[i]);
        snprintf(p, sizeof p, "{\"ratio\":0.1," OV ",\"label\":\"%s\",\"alpha\":%g,\"sinks\":\"\"}", label, alpha[i]);
        add_run(db, "A", "mvbench", "tango", p, f32, 50, right[i], 100);
    }
    /* a 2 x 2 grid at 0.2: Avg = mvbench accuracy = 40 + 2 * (10 bt_index + bs_index) */
    for (int bt = 0; bt < 2; bt++)
        for (int bs = 0; bs < 2; bs++) {
            char p[256], label[48];
            snprintf(label, sizeof label, "bt%d bs%d", bt, bs);
            snprintf(p, sizeof p, "{\"ratio\":0.2," OV ",\"label\":\"%s\",\"base_time\":%d,\"base_space\":%d}", label,
                     bt ? 100000 : 10000, bs ? 10000 : 1000);
            add_run(db, "A", "mvbench", "tango", p, f32, 50, 20 + 10 * bt + bs, 100);
        }
    /* model B: the same method at 64 frames (the frames plot), another family */
    add_run(db, "B", "mvbench", "tango", "{\"ratio\":0.5,\"family\":\"llava-video\"}", f64, 50, 41, 100);
    db_close(db);
    /* a registry of known cells */
    char path[1300];
    snprintf(path, sizeof path, "%s/paper.tsv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs("# test registry\nmodel\tbenchmark\tmethod\tratio\ttable\tcell\tvalue\tsource\n"
          "llava-ov\tmvbench\ttango\t0.10\tTable 1\tMVBench\t10.0\tfar below\n"
          "llava-ov\tvideomme\ttango\t0.10\tTable 1\tVideo-MME\t63.0\tclose\n"
          "llava-ov\tperf\ttango\t0.1\tTable 1\tPerf.\t96.25\texact\n"
          "llava-ov\tavg\ttango\t0.1\tTable 1\tAvg.\t70.0\n"
          "llava-ov\tspeedup\ttango\t0.1\tFigure 9\tspeed-up\t1.88\tabstract\n"
          "llava-ov\tvideomme\tfull\tfull\tTable 1\tVideo-MME full\t66.7\t\n"
          "llava-ov\tmvbench\ttango alpha=2\t0.1\tFigure 8\talpha 2\t66.0\tlabel match\n"
          "llava-video\tmvbench\ttango\t0.1\tTable 2\tMVBench\t50.0\tno run of this family\n",
          f);
    fclose(f);
    return 0;
}

/* The paper.csv line that starts with "table,cell," (NULL if none); *lo, *hi its CI. */
static const char *paper_line(const char *csv, const char *start, char *line, size_t n, double *lo, double *hi) {
    const char *p = strstr(csv, start);
    if (!p) return NULL;
    size_t len = strcspn(p, "\n");
    snprintf(line, n, "%.*s", (int)len, p);
    *lo = *hi = NAN;
    const char *b = strchr(line, '[');
    if (b) sscanf(b, "[%lf, %lf]", lo, hi);
    return line;
}

static void test_published_values(void **state) {
    (void)state;
    char cmd[4096], out[8192], path[1400], line[2048];
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s/rep --paper %s/paper.tsv --bootstrap 400", tb_test_bin(),
             db_path, dir, dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    snprintf(path, sizeof path, "%s/rep/paper.csv", dir);
    char *csv = tb_slurp(path, NULL);
    assert_non_null(csv);
    double lo, hi;
    /* accuracy: 78.00 vs 10: far outside its CI */
    assert_non_null(paper_line(csv, "Table 1,MVBench,A,tango,10%,mvbench,10.00,78.00,+68.00,", line, sizeof line, &lo, &hi));
    assert_true(lo < 78 && 78 < hi);
    assert_non_null(strstr(line, ",no,far below"));
    /* 63.33 vs 63.0: covered */
    assert_non_null(paper_line(csv, "Table 1,Video-MME,A,tango,10%,videomme,63.00,63.33,+0.33,", line, sizeof line, &lo,
                               &hi));
    assert_non_null(strstr(line, ",yes,close"));
    /* Perf. = (57/60 + 39/40) / 2 = 96.25 exactly; its bootstrap CI over four runs covers it */
    assert_non_null(paper_line(csv, "Table 1,Perf.,A,tango,10%,Perf. over 2 benchmarks,96.25,96.25,+0.00,", line,
                               sizeof line, &lo, &hi));
    assert_true(lo <= 96.25 && 96.25 <= hi && hi - lo > 1);
    /* Avg. = (63.33 + 78) / 2 = 70.67 */
    assert_non_null(paper_line(csv, "Table 1,Avg.,A,tango,10%,Avg. over 2 benchmarks,70.00,70.67,+0.67,", line,
                               sizeof line, &lo, &hi));
    assert_true(lo < 70.67 && 70.67 < hi);
    /* speed-up 200 / 100 ms: no CI */
    assert_non_null(strstr(csv, "Figure 9,speed-up,A,tango,10%,speed-up (total ms),1.88,2.00,+0.12,-,-,abstract"));
    /* the full-token row (ratio "full") and a label */
    assert_non_null(strstr(csv, "Table 1,Video-MME full,A,full,full,videomme,66.70,66.67,-0.03,"));
    assert_non_null(strstr(csv, "Figure 8,alpha 2,A,tango alpha=2,10%,mvbench,66.00,66.00,+0.00,"));
    /* no run of the llava-video family at 10 % */
    assert_null(strstr(csv, "no run of this family"));
    free(csv);
    snprintf(path, sizeof path, "%s/rep/table.md", dir);
    char *md = tb_slurp(path, NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "## Published values (paper) beside the reproduced ones"));
    assert_non_null(strstr(md, "| Table 1 | Perf. | A | tango | 10% | Perf. over 2 benchmarks | 96.25 | 96.25 | +0.00 |"));
    free(md);
    snprintf(path, sizeof path, "%s/rep/index.html", dir);
    char *html = tb_slurp(path, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<h2>Published values (paper) beside the reproduced ones</h2>"));
    free(html);
    snprintf(path, sizeof path, "%s/rep/table.tex", dir);
    char *tex = tb_slurp(path, NULL);
    assert_non_null(tex);
    assert_non_null(strstr(tex, "Published values (paper) beside the reproduced ones"));
    free(tex);
}

/* The built-in registry: the abstract's 98.9 % relative performance of Tango at 10 % on
 * LLaVA-OV matches model A's tango row; --paper none drops the section; a malformed registry is
 * one line naming the file and line, exit 1. */
static void test_builtin_and_errors(void **state) {
    (void)state;
    char cmd[4096], out[8192], path[1400];
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s/rep2 --no-plots --bootstrap 200", tb_test_bin(), db_path, dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/rep2/paper.csv", dir);
    char *csv = tb_slurp(path, NULL);
    assert_non_null(csv);
    assert_non_null(strstr(csv, ",A,tango,10%,Perf. over 2 benchmarks,98.90,96.25,-2.65,"));
    assert_non_null(strstr(csv, ",A,tango,10%,speed-up (total ms),1.88,2.00,+0.12,"));
    free(csv);
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s/rep3 --no-plots --paper none", tb_test_bin(), db_path, dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/rep3/paper.csv", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/bad.tsv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# x\nllava-ov\tmvbench\ttango\t0.1\tTable 1\tMVBench\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s/rep4 --no-plots --paper %s", tb_test_bin(), db_path, dir, path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "bad.tsv:2:"));
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s/rep4 --no-plots --paper %s/none.tsv", tb_test_bin(), db_path,
             dir, dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "none.tsv"));
}

/* Variant rows (alpha), the grid (base_time x base_space) and the plots. */
static void test_variants_grid_plots(void **state) {
    (void)state;
    char path[1400];
    snprintf(path, sizeof path, "%s/rep/table.md", dir); /* written by test_published_values */
    char *md = tb_slurp(path, NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "## A at 10%: variants (component rows)"));
    assert_non_null(strstr(md, "| Variant | alpha | VMME-S | VMME-M | VMME-L | Video-MME | MVBench | Avg. | Perf. |"));
    assert_non_null(strstr(md, "| tango alpha=1.5 | 1.5 | - | - | - | - | 72.0 | 72.0 | 90.0 |"));
    /* sinks="" is set in every variant: not a column */
    assert_null(strstr(md, "| sinks |"));
    assert_non_null(strstr(md, "## A at 20%: variants (component rows)"));
    /* the stored params are canonical (sorted keys): base_space rows, base_time columns, values in
     * numeric order */
    assert_non_null(strstr(md, "## A at 20%: Avg. accuracy, base_space (rows) x base_time (columns)"));
    assert_non_null(strstr(md, "| base_space \\ base_time | 10000 | 100000 |"));
    assert_non_null(strstr(md, "| 1000 | 40.0 | 60.0 |"));
    assert_non_null(strstr(md, "| 10000 | 42.0 | 62.0 |"));
    free(md);
    snprintf(path, sizeof path, "%s/rep/plots/sweep_A_alpha_0.dat", dir);
    char *dat = tb_slurp(path, NULL);
    assert_non_null(dat);
    assert_non_null(strstr(dat, "# Avg.\n1 60.0000\n1.5 72.0000\n2 66.0000\n"));
    free(dat);
    snprintf(path, sizeof path, "%s/rep/plots/sweep_A_alpha_0.svg", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/rep/plots/frames_mvbench.dat", dir);
    dat = tb_slurp(path, NULL);
    assert_non_null(dat);
    assert_non_null(strstr(dat, "# tango\n32 "));
    assert_non_null(strstr(dat, "\n64 82.0000"));
    free(dat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_values),
        cmocka_unit_test(test_builtin_and_errors),
        cmocka_unit_test(test_variants_grid_plots),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
