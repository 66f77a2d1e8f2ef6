/* test_peers_io.c - results in and out of lmms-eval and VLMEvalKit: imports of the peers' own
 * files (tests/fixtures/peers, written by tests/peers/make_fixtures.py with the peers' code and
 * carrying the peers' decisions on them), hostile files, round trips (export a run, import it,
 * identical rows) for every benchmark in both layouts, rescoring, `score` against the store, and
 * reports across conventions. Drives the real binary (tango-bench import / export / rescore /
 * score / report) and reads the database through store.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "datasets/datasets.h"
#include "store/store.h"
#include "tests/tb_test.h"

#define FIX "tests/fixtures/peers"

static char dir[1024];

static void run_ok(const char *cmd) {
    char out[16384];
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) print_error("%s\n-> %d: %s\n", cmd, rc, out);
    assert_int_equal(rc, 0);
}

/* ---- the rows of a run --------------------------------------------------------------------------- */

typedef struct {
    char id[128], video[256], cats[512], raw[2048], parsed[8], gold[8], opts[1024];
    int correct, parse_failed;
    double score;
} row;

typedef struct {
    row r[256];
    int n;
} rows;

static int grab(const db_sample_row *s, void *ctx) {
    rows *rs = ctx;
    if (!s->ok || rs->n == 256) return 0;
    row *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", s->sample_id);
    snprintf(r->video, sizeof r->video, "%s", s->video_id ? s->video_id : "");
    snprintf(r->cats, sizeof r->cats, "%s", s->categories_json ? s->categories_json : "");
    snprintf(r->raw, sizeof r->raw, "%s", s->raw_output ? s->raw_output : "");
    snprintf(r->parsed, sizeof r->parsed, "%s", s->parsed ? s->parsed : "");
    snprintf(r->gold, sizeof r->gold, "%s", s->gold ? s->gold : "");
    snprintf(r->opts, sizeof r->opts, "%s", s->options_json ? s->options_json : "");
    r->correct = s->correct, r->parse_failed = s->parse_failed, r->score = s->score;
    return 0;
}

/* The rows of the run of db_path whose key starts with prefix ("" = the only run). */
static void load_rows(const char *db_path, const char *prefix, rows *out) {
    char err[2048], key[DB_KEY_LEN + 1];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    if (prefix && *prefix) {
        assert_int_equal(db_run_resolve(db, prefix, key), DB_OK);
    } else {
        int64_t n;
        assert_int_equal(db_run_count(db, &n), DB_OK);
        assert_int_equal(n, 1);
        db_run_summary *s;
        size_t ns;
        assert_int_equal(db_run_summaries(db, &s, &ns), DB_OK);
        snprintf(key, sizeof key, "%s", s[0].key);
        db_run_summaries_free(s, ns);
    }
    out->n = 0;
    assert_int_equal(db_sample_rows(db, key, grab, out), DB_OK);
    db_close(db);
}

/* The key of the run that `import` / `rescore` printed last ("... run KEY"). */
static void printed_key(const char *out, char key[DB_KEY_LEN + 1]) {
    const char *p = strstr(out, "run ");
    const char *last = NULL;
    while (p) {
        if (strspn(p + 4, "0123456789abcdef") == DB_KEY_LEN) last = p + 4;
        p = strstr(p + 4, "run ");
    }
    assert_non_null(last);
    memcpy(key, last, DB_KEY_LEN);
    key[DB_KEY_LEN] = '\0';
}

/* ---- 1. the peers' own files ------------------------------------------------------------------ */

static void check_fixture(const char *tool, const char *file, const char *bench, const char *conv,
                          const char *first_id) {
    char db_path[1200], cmd[4096], out[8192], exp_path[1200];
    snprintf(db_path, sizeof db_path, "%s/fix-%s.db", dir, bench);
    unlink(db_path);
    snprintf(cmd, sizeof cmd, "%s import %s %s/%s --db %s --model m --benchmark %s --method full --convention %s",
             tb_test_bin(), tool, FIX, file, db_path, bench, conv);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) print_error("%s: %s\n", cmd, out);
    assert_int_equal(rc, 0);
    rows rs;
    load_rows(db_path, "", &rs);
    snprintf(exp_path, sizeof exp_path, "%s/%s.expected.json", FIX, file);
    char *text = tb_slurp(exp_path, NULL);
    assert_non_null(text);
    cJSON *exp = cJSON_Parse(text);
    free(text);
    assert_int_equal(cJSON_GetArraySize(exp), rs.n);
    assert_string_equal(rs.r[0].id, first_id);
    int bad = 0;
    for (int i = 0; i < rs.n; i++) {
        const cJSON *e = cJSON_GetArrayItem(exp, i);
        int correct = cJSON_IsTrue(cJSON_GetObjectItem(e, "correct"));
        const cJSON *sc = cJSON_GetObjectItem(e, "score"), *er = cJSON_GetObjectItem(e, "error");
        int ok;
        if (cJSON_IsString(er)) ok = !rs.r[i].correct && rs.r[i].parse_failed; /* the peer raises: we count it wrong */
        else ok = rs.r[i].correct == correct &&
                  ((cJSON_IsNull(sc) && isnan(rs.r[i].score)) || (cJSON_IsNumber(sc) && sc->valuedouble == rs.r[i].score));
        if (!ok) {
            bad++;
            print_error("%s row %d (%s, raw \"%s\"): ours correct %d score %g, peer %s\n", file, i, rs.r[i].id,
                        rs.r[i].raw, rs.r[i].correct, rs.r[i].score, cJSON_PrintUnformatted(e));
        }
    }
    cJSON_Delete(exp);
    assert_int_equal(bad, 0);
}

static void test_import_peer_files(void **state) {
    (void)state;
    check_fixture("vlmevalkit", "vlmeval_mlvu.xlsx", "mlvu", "vlmevalkit", "plotQA_0");
    check_fixture("vlmevalkit", "vlmeval_mvbench.tsv", "mvbench", "vlmevalkit", "action_sequence_0");
    check_fixture("vlmevalkit", "vlmeval_videomme.json", "videomme", "vlmevalkit", "001-1");
    check_fixture("lmms-eval", "20250101_000000_samples_mvbench_action_sequence.jsonl", "mvbench", "lmms-eval@0.7.3",
                  "action_sequence_0");
    check_fixture("lmms-eval", "20250101_000000_samples_mlvu_dev.jsonl", "mlvu", "lmms-eval@0.7.3", "plotQA_0");
    /* the xlsx cells come back as the model wrote them: the _x001F_ escape decoded, a formula as
     * "=" + formula, a literal "_x0041_" kept */
    rows rs;
    char db_path[1200];
    snprintf(db_path, sizeof db_path, "%s/fix-mlvu.db", dir);
    load_rows(db_path, "", &rs);
    assert_string_equal(rs.r[1].raw, "\x1f" "A");
    assert_string_equal(rs.r[3].raw, "=B");
    assert_string_equal(rs.r[6].raw, "_x0041_");
    assert_string_equal(rs.r[1].opts, "[\"Yellow\",\"Red\",\"Green\",\"Blue\"]");
    assert_string_equal(rs.r[1].cats, "{\"task\":\"needle\"}");
    /* lmms-eval: the raw response ("resps") is scored, the options come from the recorded prompt */
    snprintf(db_path, sizeof db_path, "%s/fix-mvbench.db", dir);
    load_rows(db_path, "", &rs);
    assert_string_equal(rs.r[14].raw, "<think>A</think>C");
    assert_string_equal(rs.r[14].opts, "[\"Yellow\",\"Red\",\"Green\",\"Blue\"]");
    /* importing the same file again adds nothing */
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof cmd, "%s import lmms-eval %s/20250101_000000_samples_mvbench_action_sequence.jsonl --db %s "
                              "--model m --benchmark mvbench --method full --convention lmms-eval@0.7.3",
             tb_test_bin(), FIX, db_path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "imported 0 of 15 samples"));
}

/* ---- 2. hostile files --------------------------------------------------------------------------- */

/* An .xlsx package of the given parts (name, content pairs), in memory. */
static void *make_xlsx(const char *const *parts, int n, size_t *len) {
    char path[1200];
    snprintf(path, sizeof path, "%s/crafted.xlsx", dir);
    unlink(path);
    int ze;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    assert_non_null(z);
    for (int i = 0; i < n; i++) {
        zip_source_t *s = zip_source_buffer(z, parts[2 * i + 1], strlen(parts[2 * i + 1]), 0);
        assert_true(zip_file_add(z, parts[2 * i], s, ZIP_FL_OVERWRITE) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    return tb_slurp(path, len);
}

static const char WB[] = "<workbook xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
                         "<sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char RELS[] = "<Relationships><Relationship Id=\"rId1\" Target=\"worksheets/sheet1.xml\"/></Relationships>";

static int import_bytes(const char *name, const void *data, size_t len, const char *bench, char *err, size_t n) {
    db_import_set set = {0};
    int rc = db_import_vlmeval(name, data, len, bench, &set, err, n);
    db_import_set_free(&set);
    return rc;
}

static void test_hostile_files(void **state) {
    (void)state;
    char err[1024];
    size_t len;
    /* not a zip */
    assert_int_equal(import_bytes("x.xlsx", "PK\3\4garbage", 11, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "x.xlsx: not an .xlsx file"));
    /* no workbook */
    const char *p1[] = {"xl/other.xml", "<a/>"};
    void *x = make_xlsx(p1, 1, &len);
    assert_int_equal(import_bytes("x.xlsx", x, len, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "no part xl/workbook.xml"));
    free(x);
    /* a shared string index past the table */
    const char *p2[] = {"xl/workbook.xml", WB, "xl/_rels/workbook.xml.rels", RELS, "xl/sharedStrings.xml",
                        "<sst><si><t>prediction</t></si></sst>", "xl/worksheets/sheet1.xml",
                        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>7</v></c></row></sheetData></worksheet>"};
    x = make_xlsx(p2, 4, &len);
    assert_int_equal(import_bytes("x.xlsx", x, len, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "shared string index '7' out of range"));
    free(x);
    /* malformed XML, rows out of order, a bad cell reference, a path escaping the package */
    const char *p3[] = {"xl/workbook.xml", "<workbook><sheets>", "xl/_rels/workbook.xml.rels", RELS};
    x = make_xlsx(p3, 2, &len);
    assert_int_equal(import_bytes("x.xlsx", x, len, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "not well-formed XML"));
    free(x);
    const char *p4[] = {"xl/workbook.xml", WB, "xl/_rels/workbook.xml.rels", RELS, "xl/worksheets/sheet1.xml",
                        "<worksheet><sheetData><row r=\"2\"/><row r=\"1\"/></sheetData></worksheet>"};
    x = make_xlsx(p4, 3, &len);
    assert_int_equal(import_bytes("x.xlsx", x, len, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "row number out of order"));
    free(x);
    const char *p5[] = {"xl/workbook.xml", WB, "xl/_rels/workbook.xml.rels", RELS, "xl/worksheets/sheet1.xml",
                        "<worksheet><sheetData><row><c r=\"1A\"/></row></sheetData></worksheet>"};
    x = make_xlsx(p5, 3, &len);
    assert_int_equal(import_bytes("x.xlsx", x, len, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "bad cell reference"));
    free(x);
    const char *p6[] = {"xl/workbook.xml", WB, "xl/_rels/workbook.xml.rels",
                        "<Relationships><Relationship Id=\"rId1\" Target=\"../../etc/passwd\"/></Relationships>"};
    x = make_xlsx(p6, 2, &len);
    assert_int_equal(import_bytes("x.xlsx", x, len, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "no worksheet"));
    free(x);
    /* a well-formed sheet without the columns VLMEvalKit writes */
    const char *p7[] = {"xl/workbook.xml", WB, "xl/_rels/workbook.xml.rels", RELS, "xl/worksheets/sheet1.xml",
                        "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>prediction</t></is></c></row>"
                        "</sheetData></worksheet>"};
    x = make_xlsx(p7, 3, &len);
    assert_int_equal(import_bytes("x.xlsx", x, len, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "missing column"));
    free(x);
    /* text tables and JSON */
    static const char tsv_bad_quote[] = "\"prediction\"\t\"candidates\n";
    assert_int_equal(import_bytes("p.tsv", tsv_bad_quote, strlen(tsv_bad_quote), "mlvu", err, sizeof err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err, "not closed"));
    static const char tsv_bad_cands[] = "prediction\tcandidates\tanswer\ttask_type\nA\t['x', 'y'\tx\tego\n";
    assert_int_equal(import_bytes("p.tsv", tsv_bad_cands, strlen(tsv_bad_cands), "mlvu", err, sizeof err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err, "row 2: field 'candidates'"));
    static const char tsv_bad_answer[] = "prediction\tcandidates\tanswer\ttask_type\nA\t['x', 'y']\tz\tego\n";
    assert_int_equal(import_bytes("p.tsv", tsv_bad_answer, strlen(tsv_bad_answer), "mlvu", err, sizeof err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err, "field 'answer'"));
    assert_int_equal(import_bytes("p.json", "{\"a\": 1}", 8, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_int_equal(import_bytes("p.parquet", "x", 1, "mlvu", err, sizeof err), DB_ERR_INVALID);
    assert_non_null(strstr(err, "not .xlsx, .tsv, .csv or .json"));
    /* a good one-row TSV, escapes of the Python list literal included */
    static const char tsv_ok[] = "index\tprediction\tcandidates\tanswer\ttask_type\n"
                                 "0\t\"(B) it's\"\t\"['a\\\\b', \"\"it's\"\", '\\u00e9\\x41']\"\t\"it's\"\tego\n";
    db_import_set set = {0};
    assert_int_equal(db_import_vlmeval("p.tsv", tsv_ok, strlen(tsv_ok), "mlvu", &set, err, sizeof err), DB_OK);
    assert_int_equal(set.n, 1);
    assert_string_equal(set.rows[0].options_json, "[\"a\\\\b\",\"it's\",\"\xc3\xa9" "A\"]");
    assert_string_equal(set.rows[0].gold, "B");
    assert_string_equal(set.rows[0].sample_id, "ego_0");
    assert_string_equal(set.rows[0].raw, "(B) it's");
    db_import_set_free(&set);
    /* lmms-eval lines */
    static const char l_bad[] = "{\"doc_id\": 0, \"filtered_resps\": \"A\"}\n";
    assert_int_equal(db_import_lmms("x_samples_videomme.jsonl", l_bad, strlen(l_bad), "videomme", &set, err, sizeof err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err, "line 1: no 'videomme_perception_score' object"));
    static const char l_gold[] = "\n{\"doc_id\": 0, \"filtered_resps\": [\"A\"], \"videomme_perception_score\": "
                                 "{\"question_id\": \"001-1\", \"answer\": \"abc\"}}\n";
    assert_int_equal(db_import_lmms("x.jsonl", l_gold, strlen(l_gold), "videomme", &set, err, sizeof err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err, "line 2: field 'videomme_perception_score.answer'"));
    static const char l_task[] = "{\"doc_id\": 0, \"filtered_resps\": \"A\", \"mvbench_accuracy\": {\"gt_answer\": \"A\"}}\n";
    assert_int_equal(db_import_lmms("results.jsonl", l_task, strlen(l_task), "mvbench", &set, err, sizeof err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err, "_samples_mvbench_<task>.jsonl"));
    db_import_set_free(&set);
    /* the command line: unknown tool, missing file */
    char cmd[4096], out[4096];
    snprintf(cmd, sizeof cmd, "%s import opencompass x --db %s/h.db --model m --benchmark mlvu --method full",
             tb_test_bin(), dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s import vlmevalkit %s/none.xlsx --db %s/h.db --model m --benchmark mlvu --method full",
             tb_test_bin(), dir, dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "none.xlsx: cannot open"));
}

/* ---- 3. round trips ------------------------------------------------------------------------------- */

static const char *const corpus[] = {"B", "(C) Berries", "", "The answer is D", "\xe3\x80\x80" "A", "NA", "x\x1f" "B",
                                     "i.e. C", "<think>A</think>B", "Answer: B", "**C**", "Failed to obtain answer via API.",
                                     "it's \"quoted\", with, commas\nand lines", "_x0041_", "=B"};

/* A run of bench scored under conv: one sample per corpus entry, ids, videos, categories and
 * options as the runner writes them. Returns the database path (static). */
static const char *make_run(const char *bench_name, const char *conv_name, int with_timings) {
    static char db_path[1200];
    snprintf(db_path, sizeof db_path, "%s/rt-%s-%s.db", dir, bench_name, conv_name);
    unlink(db_path);
    char err[2048], key[DB_KEY_LEN + 1], agg[512];
    ds_bench b;
    ds_convention c;
    assert_int_equal(ds_bench_parse(bench_name, &b), 0);
    assert_int_equal(ds_convention_parse(conv_name, &c), 0);
    assert_int_equal(ds_aggregate_describe(c, b, agg, sizeof agg), 0);
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    db_run_spec rs = db_run_spec_default();
    rs.model = "tiny/ov", rs.benchmark = bench_name, rs.method = "tango", rs.params_json = "{\"ratio\":0.1}";
    rs.code_version = "test", rs.convention = conv_name, rs.aggregate = agg;
    int resumed;
    assert_int_equal(db_run_open(db, &rs, key, &resumed), DB_OK);
    static char *opts[] = {"Apples.", "Candles, \"lit\"", "Berries", "it's"};
    static const char *const tasks[] = {"action_sequence", "fine_grained_action", "plotQA", "count"};
    static const char *const opts_json = "[\"Apples.\",\"Candles, \\\"lit\\\"\",\"Berries\",\"it's\"]";
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        ds_sample s;
        memset(&s, 0, sizeof s);
        s.bench = b, s.n_options = 4, s.gold = (char)('A' + i % 4), s.id = "x";
        for (int k = 0; k < 4; k++) s.options[k] = opts[k];
        ds_answer a;
        assert_int_equal(ds_answer_score(&s, c, corpus[i], &a, err, sizeof err), DS_OK);
        char id[64], vid[64], cats[256], parsed[2] = {a.letter, 0}, gold[2] = {s.gold, 0};
        const char *task = b == DS_BENCH_MVBENCH ? tasks[i % 2] : tasks[2 + i % 2];
        if (b == DS_BENCH_VIDEOMME) {
            snprintf(id, sizeof id, "%03zu-%zu", i / 3 + 1, i % 3 + 1);
            snprintf(cats, sizeof cats, "{\"duration\":\"%s\",\"domain\":\"Knowledge\",\"sub_category\":\"Law\","
                                        "\"task_type\":\"OCR Problems\"}", i % 2 ? "short" : "long");
        } else if (b == DS_BENCH_LONGVIDEOBENCH) {
            snprintf(id, sizeof id, "vid%zu_%zu", i / 2, i % 2);
            snprintf(cats, sizeof cats, "{\"duration_group\":\"600\",\"question_category\":\"S2E\","
                                        "\"topic_category\":\"NP-News\",\"level\":\"L1-Perception\"}");
        } else {
            snprintf(id, sizeof id, "%s_%zu", task, i / 2);
            snprintf(cats, sizeof cats, "{\"task\":\"%s\"}", task);
        }
        snprintf(vid, sizeof vid, "dir/v%zu.mp4", i / 3);
        db_sample_result r = {.sample_id = id, .video_id = vid, .categories_json = cats, .raw_output = corpus[i],
                              .parsed = a.parse == DS_PARSE_OK ? parsed : NULL, .gold = gold, .correct = a.correct,
                              .parse_failed = a.parse != DS_PARSE_OK, .score_set = 1, .score = a.score,
                              .options_json = opts_json};
        for (int k = 0; k < DB_N_STAGES; k++) r.ms[k] = with_timings ? 10.0 + k : -1;
        int64_t layers[2] = {100, 50};
        if (with_timings) r.n_layers = 2, r.visual_per_layer = layers;
        assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    }
    assert_int_equal(db_run_finish(db, key, DB_RUN_OK), DB_OK);
    db_close(db);
    return db_path;
}

static int by_id(const void *x, const void *y) { return strcmp(((const row *)x)->id, ((const row *)y)->id); }

/* Equal rows, whatever their order (an lmms-eval export writes one file per task). */
static void assert_same_rows(rows *a, rows *b, int answers_only) {
    assert_int_equal(a->n, b->n);
    qsort(a->r, (size_t)a->n, sizeof a->r[0], by_id);
    qsort(b->r, (size_t)b->n, sizeof b->r[0], by_id);
    for (int i = 0; i < a->n; i++) {
        const row *x = &a->r[i], *y = &b->r[i];
        if (!answers_only) {
            assert_string_equal(x->id, y->id);
            assert_string_equal(x->video, y->video);
            assert_string_equal(x->cats, y->cats);
            assert_string_equal(x->raw, y->raw);
            assert_string_equal(x->gold, y->gold);
            assert_string_equal(x->opts, y->opts);
        }
        if (strcmp(x->parsed, y->parsed) || x->correct != y->correct || x->parse_failed != y->parse_failed ||
            !((isnan(x->score) && isnan(y->score)) || x->score == y->score))
            fail_msg("row %s: parsed %s/%s correct %d/%d parse_failed %d/%d score %g/%g", x->id, x->parsed, y->parsed,
                     x->correct, y->correct, x->parse_failed, y->parse_failed, x->score, y->score);
    }
}

static void round_trip(const char *bench, const char *conv, const char *tool) {
    const char *src = make_run(bench, conv, 1);
    char cmd[4096], out[8192], out_dir[1200], dst[1200];
    snprintf(out_dir, sizeof out_dir, "%s/export-%s-%s", dir, bench, tool);
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s export --db %s --run $(sqlite3 %s 'SELECT run_key FROM runs') "
                              "--format %s --out %s",
             out_dir, tb_test_bin(), src, src, tool, out_dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) print_error("%s\n%s\n", cmd, out);
    assert_int_equal(rc, 0);
    snprintf(dst, sizeof dst, "%s/back-%s-%s.db", dir, bench, tool);
    unlink(dst);
    snprintf(cmd, sizeof cmd, "%s import %s $(ls %s/*_samples_*.jsonl %s/*_score.csv 2>/dev/null) --db %s --model m "
                              "--benchmark %s --method tango --ratio 0.1 --convention %s",
             tb_test_bin(), tool, out_dir, out_dir, dst, bench, conv);
    rc = tb_test_run(cmd, out, sizeof out);
    if (rc) print_error("%s\n%s\n", cmd, out);
    assert_int_equal(rc, 0);
    rows a, b;
    load_rows(src, "", &a);
    load_rows(dst, "", &b);
    assert_same_rows(&a, &b, 0);
}

static void test_round_trips(void **state) {
    (void)state;
    static const char *const benches[] = {"videomme", "mvbench", "longvideobench", "mlvu"};
    for (int i = 0; i < 4; i++) {
        round_trip(benches[i], "lmms-eval@0.7.3", "lmms-eval");
        round_trip(benches[i], "lmms-eval", "lmms-eval");
        round_trip(benches[i], "vlmevalkit", "vlmevalkit");
        round_trip(benches[i], "vlmevalkit@e8e78f0", "vlmevalkit");
    }
    /* the lmms-eval results file names the tasks and the headline numbers */
    char path[1400], out[2048];
    snprintf(path, sizeof path, "ls %s/export-mvbench-lmms-eval/*_results.json", dir);
    assert_int_equal(tb_test_run(path, out, sizeof out), 0);
    out[strcspn(out, "\n")] = '\0';
    char *text = tb_slurp(out, NULL);
    assert_non_null(text);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "results"), "mvbench_action_sequence"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "group_subtasks"), "mvbench"));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tango_bench"), "convention")->valuestring,
                        "lmms-eval"); /* the last lmms-eval export of MVBench */
    cJSON_Delete(j);
}

/* ---- 4. rescoring --------------------------------------------------------------------------- */

static void test_rescore(void **state) {
    (void)state;
    const char *a_path = make_run("mlvu", "vlmevalkit", 1);
    char db_path[1200], cmd[4096], out[8192], kb[DB_KEY_LEN + 1], kc[DB_KEY_LEN + 1];
    snprintf(db_path, sizeof db_path, "%s", a_path);
    /* A (vlmevalkit) -> B (lmms-eval@0.7.3): B's answers are what that convention says directly;
     * doing it again finds the run */
    snprintf(cmd, sizeof cmd, "K=$(sqlite3 %s 'SELECT run_key FROM runs') && %s rescore --db %s --run $K --convention "
                              "lmms-eval@0.7.3 && %s rescore --db %s --run $K --convention lmms-eval@0.7.3",
             db_path, tb_test_bin(), db_path, tb_test_bin(), db_path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "rescored 15 samples"));
    assert_non_null(strstr(out, "already holds"));
    printed_key(out, kb);
    rows a, b, direct;
    load_rows(db_path, kb, &b);
    const char *d_path = make_run("mlvu", "lmms-eval@0.7.3", 1);
    load_rows(d_path, "", &direct);
    assert_same_rows(&direct, &b, 0);
    /* B -> C (vlmevalkit): back to A's answers */
    snprintf(cmd, sizeof cmd, "%s rescore --db %s --run %.12s --convention vlmevalkit", tb_test_bin(), db_path, kb);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    printed_key(out, kc);
    rows c;
    char ka[DB_KEY_LEN + 1];
    char err[2048];
    db_store *db = db_open(db_path, err, sizeof err);
    assert_non_null(db);
    db_run_summary *s;
    size_t n;
    assert_int_equal(db_run_summaries(db, &s, &n), DB_OK);
    assert_int_equal(n, 3);
    ka[0] = '\0'; /* A: the run not rescored from another */
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].key, kb) && strcmp(s[i].key, kc)) snprintf(ka, sizeof ka, "%s", s[i].key);
    assert_int_equal(strlen(ka), DB_KEY_LEN);
    /* B's accuracy is lmms-eval's mean over the seven MLVU tasks; per-layer counts and timings came along */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].key, kb)) continue;
        assert_string_equal(s[i].convention, "lmms-eval@0.7.3");
        assert_non_null(strstr(s[i].aggregate_rule, "macro:task:"));
        assert_int_equal(s[i].n_layers, 2);
        assert_true(fabs(s[i].ms[DB_STAGE_TOTAL] - 15.0) < 1e-9);
    }
    db_run_record rec;
    assert_int_equal(db_run_get(db, kb, &rec), DB_OK);
    assert_non_null(strstr(rec.params_json, "\"rescored_from\""));
    assert_non_null(strstr(rec.code_version, "rescored by tango-bench"));
    db_run_record_free(&rec);
    db_run_summaries_free(s, n);
    db_close(db);
    load_rows(db_path, ka, &a);
    load_rows(db_path, kc, &c);
    assert_same_rows(&a, &c, 0);
    /* compare pairs the runs of two conventions sample by sample */
    snprintf(cmd, sizeof cmd, "%s compare --db %s %.12s %.12s --threshold 100", tb_test_bin(), db_path, ka, kb);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "paired samples 15 (only in A 0, only in B 0"));
    /* a run without stored option texts cannot be rescored under VLMEvalKit's MVBench rules */
    snprintf(cmd, sizeof cmd, "sqlite3 %s \"UPDATE samples SET options = NULL\" && %s rescore --db %s --run %.12s "
                              "--convention vlmevalkit@e8e78f0",
             db_path, tb_test_bin(), db_path, kb);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "no option texts stored"));
    snprintf(cmd, sizeof cmd, "%s rescore --db %s --run %.12s --convention vlmevalkit@main", tb_test_bin(), db_path, kb);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
}

/* ---- 5. `score` agrees with the store ----------------------------------------------------------- */

static void test_score_matches_store(void **state) {
    (void)state;
    const char *db_path = make_run("mvbench", "vlmevalkit@e8e78f0", 0);
    rows rs;
    load_rows(db_path, "", &rs);
    char in[1200], cmd[4096], out[16384];
    snprintf(in, sizeof in, "%s/score-in.jsonl", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    for (int i = 0; i < rs.n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "raw", rs.r[i].raw);
        cJSON_AddItemToObject(o, "options", cJSON_Parse(rs.r[i].opts));
        cJSON_AddStringToObject(o, "gold", rs.r[i].gold);
        char *t = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", t);
        free(t);
        cJSON_Delete(o);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s score --benchmark mvbench --convention vlmevalkit@e8e78f0 < %s", tb_test_bin(), in);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    const char *line = out;
    for (int i = 0; i < rs.n; i++) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        const cJSON *L = cJSON_GetObjectItem(o, "letter"), *sc = cJSON_GetObjectItem(o, "score");
        assert_string_equal(cJSON_IsString(L) ? L->valuestring : "", rs.r[i].parsed);
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(o, "correct")), rs.r[i].correct);
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(o, "parse_failed")), rs.r[i].parse_failed);
        assert_true(cJSON_IsNull(sc) ? isnan(rs.r[i].score) : sc->valuedouble == rs.r[i].score);
        cJSON_Delete(o);
        line = strchr(line, '\n') + 1;
    }
}

/* ---- 6. reports across conventions ------------------------------------------------------------ */

static void test_report_conventions_md(void **state) {
    (void)state;
    const char *db_path = make_run("mlvu", "vlmevalkit", 1);
    char cmd[4096], out[8192], rep[1200], md_path[1300];
    snprintf(cmd, sizeof cmd, "%s rescore --db %s --run $(sqlite3 %s 'SELECT run_key FROM runs') --convention "
                              "lmms-eval && %s import vlmevalkit %s/vlmeval_mlvu.xlsx --db %s --model tiny/ov "
                              "--benchmark mlvu --method fastv --ratio 0.1",
             tb_test_bin(), db_path, db_path, tb_test_bin(), FIX, db_path);
    run_ok(cmd);
    snprintf(rep, sizeof rep, "%s/report-conv", dir);
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s --format md --no-plots", tb_test_bin(), db_path, rep);
    run_ok(cmd);
    snprintf(md_path, sizeof md_path, "%s/table.md", rep);
    char *md = tb_slurp(md_path, NULL);
    assert_non_null(md);
    /* two vlmevalkit runs against one: the main table is vlmevalkit's; the Runs table lists all three */
    assert_non_null(strstr(md, "Scoring convention: vlmevalkit"));
    assert_non_null(strstr(md, "| tiny/ov | mlvu | tango | vlmevalkit |"));
    assert_non_null(strstr(md, "| tiny/ov | mlvu | tango | lmms-eval |"));
    assert_non_null(strstr(md, "| tiny/ov | mlvu | fastv | vlmevalkit |"));
    /* the imported run has no timings: its time columns are "-", never "nan" */
    assert_null(strstr(md, "nan"));
    const char *fastv = strstr(md, "| tiny/ov | mlvu | fastv | vlmevalkit |");
    const char *eol = strchr(fastv, '\n');
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(eol - fastv), fastv);
    assert_non_null(strstr(line, "| - | - | - | - | - |"));
    free(md);
    /* asked for lmms-eval, the main table shows that run's accuracy */
    snprintf(cmd, sizeof cmd, "%s report --db %s --out %s --format md --no-plots --convention lmms-eval", tb_test_bin(),
             db_path, rep);
    run_ok(cmd);
    md = tb_slurp(md_path, NULL);
    assert_non_null(strstr(md, "Scoring convention: lmms-eval"));
    free(md);
    /* runs lists the convention and its accuracy */
    snprintf(cmd, sizeof cmd, "%s runs --db %s", tb_test_bin(), db_path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "lmms-eval "));
    assert_non_null(strstr(out, "convention"));
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", tb_test_dir("peers-io"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_peer_files), cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_round_trips),       cmocka_unit_test(test_rescore),
        cmocka_unit_test(test_score_matches_store), cmocka_unit_test(test_report_conventions_md),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
