/* test_hostile.c - library-level regressions of issue 14 (hostile input, faults) that belong to no
 * single module's test: HF_TOKEN redaction in streams and in the store. */
#include "tests/tb_test.h"

#include <limits.h>
#include <math.h>
#include <sys/wait.h>
#include <sqlite3.h>

#include "common/check.h"
#include "common/redact.h"
#include "common/sha256.h"
#include "datasets/datasets.h"
#include "datasets/ds_internal.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "engine/safetensors.h"
#include "store/store.h"

static char dir[1024];

/* A missing file reads as "" (the checks look for text in files that may not exist). */
static char *slurp(const char *path) {
    char *s = tb_slurp(path, NULL);
    return s ? s : calloc(1, 1);
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
    /* closed without a write (a command that printed nothing): nothing held, nothing written */
    under = fopen(path, "wb");
    f = tb_redacting_stream(under, "hf_SeCrEt42");
    assert_int_equal(fclose(f), 0);
    fclose(under);
    got = slurp(path);
    assert_string_equal(got, "");
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

/* Overwrites element k of tensor name in the safetensors file path with the low bytes of bits
 * (the tensor's element size). The tensor's file offset is 8 + header length + its distance from
 * the lowest tensor, which every writer here puts at data offset 0. */
static void poke(const char *path, const char *name, size_t k, uint32_t bits) {
    char err[512];
    st_file *st = st_open(path, err, sizeof err);
    if (!st) fail_msg("%s", err);
    const st_tensor *t = st_find(st, name);
    if (!t) fail_msg("%s: no tensor %s", path, name);
    const uint8_t *base = NULL;
    for (size_t i = 0; i < st_count(st); i++) {
        const uint8_t *d = st_at(st, i)->data;
        if (!base || d < base) base = d;
    }
    size_t esz = st_dtype_size(t->dtype), rel = (size_t)((const uint8_t *)t->data - base) + k * esz;
    st_close(st);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    unsigned char b8[8];
    assert_int_equal(fread(b8, 1, 8, f), 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b8[i];
    assert_int_equal(fseek(f, (long)(8 + hlen + rel), SEEK_SET), 0);
    unsigned char v[4] = {(unsigned char)bits, (unsigned char)(bits >> 8), (unsigned char)(bits >> 16),
                          (unsigned char)(bits >> 24)};
    assert_int_equal(fwrite(v, 1, esz, f), esz);
    fclose(f);
}

/* Regression (issue 14): NaN/Inf weights were accepted (encode wrote NaN features, forward
 * "generated" token 0). The loaders refuse them, naming the file, the tensor and the element. */
static void test_nonfinite_weights(void **state) {
    (void)state;
    char m[1200], cmd[3000], out[4096], err[1024], path[1400];
    static const char *const dtypes[] = {"f32", "bf16", "f16"};
    static const uint32_t nan_bits[] = {0x7fc00000u, 0x7fc0u, 0x7e00u};
    static const uint32_t inf_bits[] = {0xff800000u, 0xff80u, 0xfc00u};
    for (int d = 0; d < 3; d++) {
        snprintf(m, sizeof m, "%s/tiny-%s", dir, dtypes[d]);
        snprintf(cmd, sizeof cmd, "%s make-tiny-model --dtype %s '%s'", tb_test_bin(), dtypes[d], m);
        assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
        snprintf(path, sizeof path, "%s/model.safetensors", m);
        /* a clean checkpoint loads */
        eng_llm_params lp = eng_llm_default_params();
        eng_llm *llm = eng_llm_load(m, &lp, err, sizeof err);
        if (!llm) fail_msg("%s", err);
        eng_llm_free(llm);
        /* NaN in an LLM matrix */
        const char *w = "model.layers.1.mlp.down_proj.weight";
        poke(path, w, 5, nan_bits[d]);
        llm = eng_llm_load(m, &lp, err, sizeof err);
        assert_null(llm);
        if (!strstr(err, "tensor model.layers.1.mlp.down_proj.weight: element 5 is NaN") || !strstr(err, path))
            fail_msg("%s: %s", dtypes[d], err);
        /* the vision loader reads only its own tensors (binding checks names and shapes): with
         * both loaders mapping one checkpoint, scanning everything made each mapping hold the
         * whole file (a full-size Qwen2.5-VL infer peaked at 33 GB resident) */
        {
            eng_model_params mp0 = eng_model_default_params();
            eng_model *vm0 = eng_model_load(m, &mp0, err, sizeof err);
            if (!vm0) fail_msg("%s: the vision loader read an LLM tensor: %s", dtypes[d], err);
            eng_model_free(vm0);
        }
        /* -Inf in a vision tensor: the vision loader refuses too */
        snprintf(cmd, sizeof cmd, "%s make-tiny-model --dtype %s '%s'", tb_test_bin(), dtypes[d], m);
        assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
        poke(path, "model.vision_tower.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", 0,
             inf_bits[d]);
        eng_model_params mp = eng_model_default_params();
        eng_model *vm = eng_model_load(m, &mp, err, sizeof err);
        assert_null(vm);
        if (!strstr(err, "layers.0.self_attn.q_proj.weight: element 0 is -Inf")) fail_msg("%s: %s", dtypes[d], err);
    }
}

/* st_check_finite's word-at-a-time scan: a NaN or an Inf at every kind of position (first, inside
 * a word, at word and 512-byte block edges, in the tail), and the extreme finite values (largest,
 * smallest subnormal, -0) accepted, in each stored dtype. */
static void test_finite_scan_edges(void **state) {
    (void)state;
    enum { N = 1100 };
    static const size_t pos[] = {0, 1, 3, 4, 7, 8, 127, 128, 255, 256, 257, 511, 512, 1023, 1024, 1099};
    static const st_dtype dts[] = {ST_F32, ST_BF16, ST_F16};
    static const uint32_t bad[3][3] = {{0x7fc00000u, 0x7f800000u, 0xff800001u}, /* NaN, +Inf, -NaN */
                                       {0x7fc0u, 0x7f80u, 0xff81u},
                                       {0x7e00u, 0x7c00u, 0xfc01u}};
    static const uint32_t edge[3][4] = {{0x7f7fffffu, 0xff7fffffu, 0x00000001u, 0x80000000u}, /* max, -max, sub, -0 */
                                        {0x7f7fu, 0xff7fu, 0x0001u, 0x8000u},
                                        {0x7bffu, 0xfbffu, 0x0001u, 0x8000u}};
    char path[1200], err[512];
    snprintf(path, sizeof path, "%s/finite.safetensors", dir);
    uint8_t buf[N * 4];
    for (int d = 0; d < 3; d++) {
        size_t esz = dts[d] == ST_F32 ? 4 : 2;
        for (int c = -1; c < (int)(sizeof pos / sizeof pos[0]) * 3; c++) {
            for (size_t i = 0; i < N; i++) { /* finite values, the extremes among them */
                uint32_t v = edge[d][i % 4];
                memcpy(buf + esz * i, &v, esz);
            }
            size_t at = c < 0 ? N : pos[c / 3];
            if (c >= 0) memcpy(buf + esz * at, &bad[d][c % 3], esz);
            st_write_raw_tensor t = {"w", dts[d], 1, {N}, buf};
            assert_int_equal(st_write_raw(path, &t, 1, err, sizeof err), 0);
            st_file *st = st_open(path, err, sizeof err);
            assert_non_null(st);
            int rc = st_check_finite(st, st_find(st, "w"), err, sizeof err);
            st_close(st);
            if (c < 0) {
                if (rc) fail_msg("%s: finite extremes refused: %s", st_dtype_str(dts[d]), err);
                continue;
            }
            char want[64];
            snprintf(want, sizeof want, "element %zu is ", at);
            if (!rc || !strstr(err, want)) fail_msg("%s: bad value at %zu: rc %d, %s", st_dtype_str(dts[d]), at, rc, err);
        }
    }
}

/* Regressions (issue 14): NaN pixels and NaN visual tokens were accepted (NaN features, then the
 * argmax of an all-NaN logit row "generated" token 0), and generation ran past
 * max_position_embeddings without a word. */
static void test_nonfinite_inputs_and_positions(void **state) {
    (void)state;
    char m[1200], cmd[3000], out[4096], err[1024];
    snprintf(m, sizeof m, "%s/tiny-inputs", dir);
    snprintf(cmd, sizeof cmd, "%s make-tiny-model '%s'", tb_test_bin(), m);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    /* vision: one NaN pixel */
    eng_model_params mp = eng_model_default_params();
    eng_model *vm = eng_model_load(m, &mp, err, sizeof err);
    if (!vm) fail_msg("%s", err);
    eng_vision_info vi;
    eng_model_vision_info(vm, &vi);
    size_t np = (size_t)3 * vi.image_size * vi.image_size;
    float *px = calloc(np, sizeof *px);
    assert_non_null(px);
    px[np / 2] = NAN;
    eng_vision_out vo;
    assert_int_equal(eng_vision_encode(vm, px, 1, NULL, &vo, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "is NaN"));
    free(px);
    eng_model_free(vm);
    /* LLM: a NaN visual token, then positions past max_position_embeddings */
    eng_llm_params lp = eng_llm_default_params();
    eng_llm *llm = eng_llm_load(m, &lp, err, sizeof err);
    if (!llm) fail_msg("%s", err);
    eng_llm_info li;
    eng_llm_get_info(llm, &li);
    eng_llm_state *s = eng_llm_state_init(llm, 64, err, sizeof err);
    assert_non_null(s);
    int64_t ids[4] = {1, -200, 2, 3};
    float *vis = calloc((size_t)2 * li.hidden, sizeof *vis);
    assert_non_null(vis);
    vis[li.hidden + 3] = NAN;
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = ids;
    pp.n_ids = 4;
    pp.visual = vis;
    pp.n_visual = 2;
    eng_llm_prefill_out po;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    if (!strstr(err, "visual token 1, dimension 3 is NaN")) fail_msg("%s", err);
    vis[li.hidden + 3] = 0.5f;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    eng_llm_state_free(s);
    eng_llm_free(llm);
    free(vis);
    /* a config whose max_position_embeddings is 8: 5 prompt positions, then generation stops
     * with an error at position 8 instead of running on */
    char cfg[1400];
    snprintf(cfg, sizeof cfg, "%s/config.json", m);
    FILE *f = fopen(cfg, "rb");
    assert_non_null(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *at = strstr(text, "\"max_position_embeddings\":\t4096");
    assert_non_null(at);
    memcpy(at + strlen("\"max_position_embeddings\":\t"), "   8", 4);
    f = fopen(cfg, "wb");
    fwrite(text, 1, n, f);
    fclose(f);
    llm = eng_llm_load(m, &lp, err, sizeof err);
    if (!llm) fail_msg("%s", err);
    s = eng_llm_state_init(llm, 64, err, sizeof err);
    int64_t ids5[5] = {1, 2, 3, 4, 5};
    pp = eng_llm_prefill_default_params();
    pp.ids = ids5;
    pp.n_ids = 5;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = 10;
    gp.use_stop_ids = 0;
    int64_t toks[10], n_out = 0;
    assert_int_equal(eng_llm_generate(s, &gp, toks, 10, &n_out, err, sizeof err), ENG_ERR_ARG);
    if (!strstr(err, "position 8 is past max_position_embeddings 8")) fail_msg("%s", err);
    assert_int_equal(n_out, 4); /* positions 5, 6, 7 decoded; the 4th token would sit at 8 */
    eng_llm_state_free(s);
    eng_llm_free(llm);
}

static int count_run(const db_run_info *info, void *ctx) {
    (void)info;
    (*(int *)ctx)++;
    return 0;
}

/* Writes a database with one run and one sample at path (WAL mode, as every store is). */
static void small_db(const char *path) {
    char err[512], key[DB_KEY_LEN + 1];
    unlink(path);
    db_store *db = db_open(path, err, sizeof err);
    if (!db) fail_msg("%s", err);
    db_run_spec rs = db_run_spec_default();
    rs.model = "m";
    rs.benchmark = "mvbench";
    rs.method = "full";
    assert_int_equal(db_run_open(db, &rs, key, NULL), DB_OK);
    db_sample_result r = {.sample_id = "s", .flops = NAN, .equiv_retention = NAN};
    for (int i = 0; i < DB_N_STAGES; i++) r.ms[i] = -1;
    assert_int_equal(db_sample_put(db, key, &r), DB_OK);
    db_close(db);
}

/* Regressions (issue 14): the reading commands and merge created a database for a mistyped path
 * (a mistyped shard left a merge silently incomplete); a database without its samples table was
 * reported without its name; a WAL database on a read-only location could not be read. */
static void test_store_open_read(void **state) {
    (void)state;
    char p[1200], q[1300], err[2048];
    snprintf(p, sizeof p, "%s/mistyped.db", dir);
    unlink(p);
    assert_null(db_open_read(p, err, sizeof err));
    assert_non_null(strstr(err, "mistyped.db: no such database"));
    assert_int_not_equal(access(p, F_OK), 0);
    /* merge: the mistyped input is named, nothing is created for it */
    snprintf(q, sizeof q, "%s/merged.db", dir);
    unlink(q);
    db_store *out = db_open(q, err, sizeof err);
    assert_non_null(out);
    db_merge_stats ms;
    assert_int_not_equal(db_merge_from(out, p, &ms), DB_OK);
    assert_non_null(strstr(db_errmsg(out), "mistyped.db: no such database"));
    assert_int_not_equal(access(p, F_OK), 0);
    db_close(out);
    /* a database without its samples table: one line naming the file */
    snprintf(p, sizeof p, "%s/nosamples.db", dir);
    small_db(p);
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open(p, &s), SQLITE_OK);
    assert_int_equal(sqlite3_exec(s, "PRAGMA foreign_keys=OFF; DROP TABLE layer_tokens; DROP TABLE timings;"
                                     " DROP TABLE samples;", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(s);
    assert_null(db_open_read(p, err, sizeof err));
    if (!strstr(err, "nosamples.db: not a tango-bench database: table samples is missing")) fail_msg("%s", err);
    out = db_open(q, err, sizeof err);
    assert_int_not_equal(db_merge_from(out, p, &ms), DB_OK);
    if (!strstr(db_errmsg(out), "nosamples.db")) fail_msg("%s", db_errmsg(out));
    db_close(out);
    /* a negative schema version (found by fuzz_store_merge: migrations[-256] was read and run) */
    snprintf(p, sizeof p, "%s/negver.db", dir);
    small_db(p);
    assert_int_equal(sqlite3_open(p, &s), SQLITE_OK);
    assert_int_equal(sqlite3_exec(s, "PRAGMA user_version = -256", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
    assert_null(db_open_read(p, err, sizeof err));
    if (!strstr(err, "negver.db: schema version -256 is not a tango-bench schema version")) fail_msg("%s", err);
    assert_null(db_open(p, err, sizeof err));
    /* read-only: a WAL database in a directory nobody may write (a read-only mount) is read as
     * it is. The child drops root, which ignores permissions, to the nobody user. */
    char ro[1200];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    mkdir(ro, 0755);
    snprintf(p, sizeof p, "%s/ro/study.db", dir);
    small_db(p);
    char wal[1300];
    snprintf(wal, sizeof wal, "%s-wal", p);
    assert_int_not_equal(access(wal, F_OK), 0); /* closed cleanly: no pending WAL */
    assert_int_equal(chmod(p, 0444), 0);
    assert_int_equal(chmod(ro, 0555), 0);
    chmod(dir, 0755);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
        char e[2048];
        db_store *db = db_open_read(p, e, sizeof e);
        if (!db) {
            fprintf(stderr, "%s\n", e);
            _exit(1);
        }
        int n = 0;
        int rc = db_runs_list(db, count_run, &n);
        db_close(db);
        _exit(rc == DB_OK && n == 1 ? 0 : 2);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    chmod(ro, 0755);
    chmod(p, 0644);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* Regressions (issue 14): a cache manifest listing a file twice loaded its samples twice; loading
 * from the cache checked sizes only, so a same-size edit was used (samples --cache now checks the
 * SHA-256 too, as fetch --offline does). */
static void test_cache_manifest_duplicate(void **state) {
    (void)state;
    char d[1200], p[1400], err[1024], cmd[3000];
    snprintf(d, sizeof d, "%s/cache/mvbench/main/json", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp tests/fixtures/datasets/mvbench/action_sequence.json '%s/'", d, d);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s/action_sequence.json", d);
    char sha[65];
    int64_t size = 0;
    assert_int_equal(tb_sha256_file(p, sha, &size, err, sizeof err), 0);
    char entry[600], man[2000];
    snprintf(entry, sizeof entry, "{\"path\": \"json/action_sequence.json\", \"task\": \"action_sequence\", "
                                  "\"size\": %lld, \"sha256\": \"%s\"}",
             (long long)size, sha);
    for (int twice = 0; twice < 2; twice++) {
        snprintf(man, sizeof man, "{\"benchmark\": \"mvbench\", \"revision\": \"main\", \"files\": [%s%s%s]}", entry,
                 twice ? ", " : "", twice ? entry : "");
        snprintf(p, sizeof p, "%s/cache/mvbench/main/manifest.json", dir);
        write_file(p, man);
        ds_load_params lp = ds_load_default_params();
        snprintf(p, sizeof p, "%s/cache", dir);
        lp.cache_dir = p;
        ds_sample_set *set = NULL;
        int st = ds_samples_load(DS_BENCH_MVBENCH, &lp, &set, err, sizeof err);
        if (!twice) {
            if (st) fail_msg("%s", err);
            assert_int_equal(ds_sample_set_count(set), 1);
            ds_sample_set_free(set);
        } else {
            assert_int_equal(st, DS_ERR_SCHEMA);
            if (!strstr(err, "manifest.json: files[1]: 'json/action_sequence.json' is listed twice")) fail_msg("%s", err);
        }
    }
    /* one entry again, then one byte of the file changed (same size) */
    snprintf(man, sizeof man, "{\"benchmark\": \"mvbench\", \"revision\": \"main\", \"files\": [%s]}", entry);
    snprintf(p, sizeof p, "%s/cache/mvbench/main/manifest.json", dir);
    write_file(p, man);
    snprintf(p, sizeof p, "%s/action_sequence.json", d);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, -3, SEEK_END), 0);
    fputc(' ', f);
    fclose(f);
    ds_load_params lp = ds_load_default_params();
    snprintf(p, sizeof p, "%s/cache", dir);
    lp.cache_dir = p;
    ds_sample_set *set = NULL;
    assert_int_equal(ds_samples_load(DS_BENCH_MVBENCH, &lp, &set, err, sizeof err), DS_ERR_CHECKSUM);
    if (!strstr(err, "action_sequence.json: sha256") || !strstr(err, "the cache manifest says")) fail_msg("%s", err);
}

/* Regression (issue 14): the dataset viewer's "error" string reached the terminal raw (newlines,
 * escape sequences). It is quoted (tb_quote). */
static void test_viewer_error_quoted(void **state) {
    (void)state;
    ds_rows acc;
    assert_int_equal(ds_rows_init(&acc), DS_OK);
    const char *body = "{\"error\": \"bad\\nline \\u001b[2J\\u001b]0;pwned\\u0007 \\\"q\\\" caf\\u00e9\"}";
    char err[512];
    int got = 0;
    assert_int_equal(ds_rows_page_take(&acc, "http://x/rows", body, strlen(body), &got, err, sizeof err),
                     DS_ERR_SCHEMA);
    ds_rows_free(&acc);
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, 0x1b));
    assert_null(strchr(err, 0x07));
    if (!strstr(err, "http://x/rows: bad\\nline \\x1b[2J\\x1b]0;pwned\\x07 \\\"q\\\" caf\xc3\xa9")) fail_msg("%s", err);
    char q[16];
    assert_string_equal(tb_quote(q, sizeof q, "abcdefghijklmnopqrstuvwxyz", 26), "abcdefghijkl...");
    assert_string_equal(tb_quote(q, sizeof q, "\xe2\x82", 2), "\\xe2\\x82"); /* a cut UTF-8 sequence */
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
        cmocka_unit_test(test_nonfinite_weights),
        cmocka_unit_test(test_finite_scan_edges),
        cmocka_unit_test(test_nonfinite_inputs_and_positions),
        cmocka_unit_test(test_store_open_read),
        cmocka_unit_test(test_cache_manifest_duplicate),
        cmocka_unit_test(test_viewer_error_quoted),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
