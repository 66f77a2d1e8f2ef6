/* test_tango_cli.c - `tango-bench prune` end to end: the .npy outputs and summary.json of a Tango
 * run (OneVision and LLaVA-Video layouts), determinism of repeated runs, and one clear error with
 * exit code 2 for every kind of bad input. Runs the binary at $TB_BIN. */
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness/npy.h"
#include "tango/primitives.h"

static char dir[512];
static const char *bin;

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void write_f32(const char *name, const float *data, int nd, const int64_t *shape) {
    char p[700], err[256];
    path_of(p, sizeof p, name);
    assert_int_equal(npy_write(p, NPY_F32, data, nd, shape, err, sizeof err), 0);
}

/* A video of T frames on an HxW grid, D = 24: scenes of 3 frames with half the positions frozen. */
static void write_video(const char *prefix, int64_t T, int64_t H, int64_t W, uint64_t seed) {
    int64_t L = H * W, D = 24;
    float *F = malloc(sizeof(float) * (size_t)(T * L * D)), *A = malloc(sizeof(float) * (size_t)(T * L));
    float *ts = malloc(sizeof(float) * (size_t)T), *base = malloc(sizeof(float) * (size_t)(L * D));
    tg_rng r;
    tg_rng_seed(&r, seed);
    for (int64_t t = 0; t < T; t++) {
        if (t % 3 == 0)
            for (int64_t i = 0; i < L * D; i++) base[i] = tg_rng_uniform(&r) * 2 - 1;
        for (int64_t l = 0; l < L; l++)
            for (int64_t d = 0; d < D; d++)
                F[(t * L + l) * D + d] = base[l * D + d] + (tg_rng_uniform(&r) - 0.5f) * (l % 2 ? 0.01f : 2.0f);
        for (int64_t l = 0; l < L; l++) A[t * L + l] = tg_rng_uniform(&r) / (float)L;
        ts[t] = 0.5f * (float)t;
    }
    char name[128];
    int64_t s3[3] = {T, L, D}, s2[2] = {T, L}, s1[1] = {T};
    snprintf(name, sizeof name, "%sF.npy", prefix);
    write_f32(name, F, 3, s3);
    snprintf(name, sizeof name, "%sA.npy", prefix);
    write_f32(name, A, 2, s2);
    snprintf(name, sizeof name, "%sT.npy", prefix);
    write_f32(name, ts, 1, s1);
    /* bad variants */
    F[7] = NAN;
    snprintf(name, sizeof name, "%sFnan.npy", prefix);
    write_f32(name, F, 3, s3);
    A[3] = -0.5f;
    snprintf(name, sizeof name, "%sAneg.npy", prefix);
    write_f32(name, A, 2, s2);
    int64_t s2b[2] = {T, L - 1};
    snprintf(name, sizeof name, "%sAshape.npy", prefix);
    write_f32(name, A, 2, s2b);
    int64_t s1b[1] = {T - 1};
    snprintf(name, sizeof name, "%sTshort.npy", prefix);
    write_f32(name, ts, 1, s1b);
    free(F);
    free(A);
    free(ts);
    free(base);
}

/* Runs "$TB_BIN prune ARGS" with stdout/stderr into files; returns the exit code. */
static int run_prune(const char *args, char *errbuf, size_t errlen) {
    char cmd[4096], ep[700];
    path_of(ep, sizeof ep, "stderr.txt");
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' prune %s >stdout.txt 2>stderr.txt", dir, bin, args);
    int st = system(cmd);
    FILE *f = fopen(ep, "r");
    size_t n = f ? fread(errbuf, 1, errlen - 1, f) : 0;
    errbuf[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static int setup(void **state) {
    (void)state;
    const char *b = getenv("TB_BUILD");
    bin = getenv("TB_BIN");
    static char binbuf[600];
    if (!bin) {
        snprintf(binbuf, sizeof binbuf, "%s/tango-bench", b ? b : "build");
        bin = binbuf;
    }
    if (bin[0] != '/') { /* the commands cd into dir */
        static char abs[1200];
        char cwd[500];
        if (!getcwd(cwd, sizeof cwd)) return -1;
        snprintf(abs, sizeof abs, "%.500s/%.600s", cwd, bin);
        bin = abs;
    }
    char cwd[600];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    snprintf(dir, sizeof dir, "%.250s/%.200s/tmp/test_tango_cli", cwd, b ? b : "build");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) return -1;
    write_video("ov_", 9, 14, 14, 1);
    write_video("vid_", 6, 13, 13, 2);
    return 0;
}

static cJSON *read_json(const char *name) {
    char p[700];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static void read_i64(const char *name, npy_array *a) {
    char p[700], err[256];
    path_of(p, sizeof p, name);
    assert_int_equal(npy_read(p, NPY_I64, a, err, sizeof err), 0);
}

static void test_prune_ov(void **state) {
    (void)state;
    char err[2048];
    int rc = run_prune("--method tango --features ov_F.npy --attn ov_A.npy --timestamps ov_T.npy --ratio 0.15 "
                       "--set sinks=28,27,41,169,11,12 --set seed=4 --out out_ov",
                       err, sizeof err);
    if (rc) fprintf(stderr, "%s", err);
    assert_int_equal(rc, 0);
    npy_array kept, order, pos, tok;
    read_i64("out_ov/kept.npy", &kept);
    read_i64("out_ov/order.npy", &order);
    read_i64("out_ov/positions.npy", &pos);
    char p[700], e2[256];
    path_of(p, sizeof p, "out_ov/tokens.npy");
    assert_int_equal(npy_read(p, NPY_F32, &tok, e2, sizeof e2), 0);
    int64_t *k = kept.data, *o = order.data, *ps = pos.data;
    assert_int_equal(kept.ndim, 1);
    assert_int_equal(tok.ndim, 2);
    assert_int_equal(tok.shape[0], kept.shape[0]);
    assert_int_equal(tok.shape[1], 24);
    for (size_t i = 0; i < kept.numel; i++) {
        assert_true(k[i] >= 0 && k[i] < 9 * 196);
        if (i) assert_true(k[i] > k[i - 1]);
        assert_int_equal(o[i], k[i]);
    }
    assert_int_equal(order.numel, kept.numel + 1);
    assert_int_equal(o[order.numel - 1], -1);
    for (size_t i = 0; i < pos.numel; i++) assert_int_equal(ps[i], (int64_t)i);
    cJSON *j = read_json("out_ov/summary.json");
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "tango");
    assert_string_equal(cJSON_GetObjectItem(j, "compat")->valuestring, "official");
    cJSON *q = cJSON_GetObjectItem(j, "quirks");
    int wb = 0;
    for (cJSON *x = q->child; x; x = x->next) wb += !strcmp(x->valuestring, "tango.merge_writeback_permutation");
    assert_int_equal(wb, 1);
    cJSON *segs = cJSON_GetObjectItem(j, "segments");
    double sum = 0;
    for (cJSON *s = segs->child; s; s = s->next) sum += cJSON_GetObjectItem(s, "kept")->valuedouble;
    assert_true(sum == (double)kept.numel);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "llm_plan")));
    double er = cJSON_GetObjectItem(j, "equiv_retention")->valuedouble;
    assert_true(fabs(er - (double)order.numel / (9.0 * 196 + 1)) < 1e-12);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "visual_per_layer")), 28);
    cJSON *params = cJSON_GetObjectItem(j, "params");
    assert_true(cJSON_GetObjectItem(params, "tau_segment")->valuedouble == 0.8);
    assert_true(cJSON_GetObjectItem(params, "seed")->valuedouble == 4);
    /* the method's in-process time: present, positive, below the process's own wall time */
    cJSON *tm = cJSON_GetObjectItem(j, "timing");
    assert_non_null(tm);
    double pms = cJSON_GetObjectItem(tm, "prune_ms")->valuedouble;
    assert_true(pms > 0 && pms < 60e3);
    cJSON_Delete(j);
    /* a second run with the same seed writes the same tokens */
    rc = run_prune("--method tango --features ov_F.npy --attn ov_A.npy --timestamps ov_T.npy --ratio 0.15 "
                   "--set seed=4 --out out_ov2",
                   err, sizeof err);
    assert_int_equal(rc, 0);
    npy_array tok2;
    path_of(p, sizeof p, "out_ov2/tokens.npy");
    assert_int_equal(npy_read(p, NPY_F32, &tok2, e2, sizeof e2), 0);
    assert_int_equal(tok2.numel, tok.numel);
    assert_memory_equal(tok2.data, tok.data, tok.numel * sizeof(float));
    npy_free(&tok2);
    npy_free(&kept);
    npy_free(&order);
    npy_free(&pos);
    npy_free(&tok);
}

static void test_prune_video(void **state) {
    (void)state;
    char err[2048];
    int rc = run_prune("--method tango --features vid_F.npy --attn vid_A.npy --timestamps vid_T.npy --ratio 0.1 "
                       "--grid 13x13 --set model=llava-video --set compat=paper --out out_vid",
                       err, sizeof err);
    if (rc) fprintf(stderr, "%s", err);
    assert_int_equal(rc, 0);
    npy_array kept, order;
    read_i64("out_vid/kept.npy", &kept);
    read_i64("out_vid/order.npy", &order);
    int64_t *o = order.data, nl = 0;
    for (size_t i = 0; i < order.numel; i++) nl += o[i] == -1;
    assert_int_equal(order.numel, kept.numel + (size_t)nl);
    assert_true(nl >= 6);
    cJSON *j = read_json("out_vid/summary.json");
    assert_string_equal(cJSON_GetObjectItem(j, "compat")->valuestring, "paper");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "quirks")), 0);
    cJSON *plan = cJSON_GetObjectItem(j, "llm_plan");
    assert_true(cJSON_IsObject(plan));
    assert_true(cJSON_GetObjectItem(plan, "layer")->valuedouble == 18);
    assert_true(cJSON_GetObjectItem(plan, "keep_ratio")->valuedouble == 0.5);
    assert_true(cJSON_GetObjectItem(plan, "w_keep")->valuedouble == 0.6);
    assert_string_equal(cJSON_GetObjectItem(plan, "merge")->valuestring, "cosine_fold");
    assert_string_equal(cJSON_GetObjectItem(plan, "positions")->valuestring, "original");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(plan, "score_causal_mask"))); /* paper: causal */
    cJSON *params = cJSON_GetObjectItem(j, "params");
    assert_true(fabs(cJSON_GetObjectItem(params, "ratio_pre")->valuedouble - 28 * 0.1 / 23) < 1e-15);
    cJSON *vpl = cJSON_GetObjectItem(j, "visual_per_layer");
    assert_true(cJSON_GetArrayItem(vpl, 17)->valuedouble == (double)order.numel);
    assert_true(cJSON_GetArrayItem(vpl, 18)->valuedouble == cJSON_GetObjectItem(plan, "n_keep")->valuedouble);
    cJSON_Delete(j);
    npy_free(&kept);
    npy_free(&order);
}

static void expect_usage_error(const char *args, const char *needle) {
    char err[2048];
    int rc = run_prune(args, err, sizeof err);
    if (rc != 2 || !strstr(err, needle)) fprintf(stderr, "args: %s\nrc %d, stderr: %s\n", args, rc, err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, needle));
    assert_true(count_lines(err) >= 1 && count_lines(err) <= 3);
}

#define BASE "--method tango --timestamps ov_T.npy --out out_bad "

static void test_prune_bad_inputs(void **state) {
    (void)state;
    expect_usage_error(BASE "--features ov_F.npy --attn ov_Ashape.npy --ratio 0.1", "attention must be (T, L)");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 0.1 --grid 10x10", "does not match L=196");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 0.1 --grid 14by14", "HxW");
    expect_usage_error(BASE "--features ov_Fnan.npy --attn ov_A.npy --ratio 0.1", "non-finite");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_Aneg.npy --ratio 0.1", "negative");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 0", "outside (0, 1]");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 1.5", "outside (0, 1]");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 0.1 --set nope=1", "unknown parameter 'nope'");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 0.1 --set compat=x", "compat");
    expect_usage_error("--method nomethod --features ov_F.npy --attn ov_A.npy --ratio 0.1 --out o", "unknown method");
    expect_usage_error("--method tango --features ov_F.npy --attn ov_A.npy --timestamps ov_Tshort.npy --ratio 0.1 "
                       "--out o",
                       "timestamps must be");
    expect_usage_error("--method tango --features vid_F.npy --attn vid_A.npy --timestamps vid_T.npy --ratio 0.1 "
                       "--out o",
                       "169"); /* OV sink list on a 13x13 grid */
    expect_usage_error("--method tango --features ov_F.npy --attn ov_A.npy --ratio 0.1 --out o",
                       "timestamps"); /* Tango needs them */
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 0.1 --keys ov_A.npy", "keys must be (T, L, Dk)");
    expect_usage_error(BASE "--features ov_F.npy --attn ov_A.npy --ratio 0.1 --frame-global ov_F.npy",
                       "frame-global must be (T, G)");
    /* a missing file is a runtime failure (exit 1) naming the file */
    char err[2048];
    assert_int_equal(run_prune(BASE "--features missing.npy --attn ov_A.npy --ratio 0.1", err, sizeof err), 1);
    assert_non_null(strstr(err, "missing.npy"));
}

/* --keys reaches the method: VisionZip assigns contextual tokens by key cosine and says so. */
static void test_prune_keys_reach_visionzip(void **state) {
    (void)state;
    char err[2048];
    assert_int_equal(run_prune("--method visionzip --features ov_F.npy --attn ov_A.npy --timestamps ov_T.npy "
                               "--keys ov_F.npy --ratio 0.2 --out out_vz_keys",
                               err, sizeof err),
                     0);
    assert_int_equal(run_prune("--method visionzip --features ov_F.npy --attn ov_A.npy --timestamps ov_T.npy "
                               "--ratio 0.2 --out out_vz_nokeys",
                               err, sizeof err),
                     0);
    cJSON *with = read_json("out_vz_keys/summary.json"), *without = read_json("out_vz_nokeys/summary.json");
    const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(with, "params"), "metric_source"));
    const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(without, "params"), "metric_source"));
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, "keys");
    assert_string_equal(b, "features");
    cJSON_Delete(with);
    cJSON_Delete(without);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_ov),
        cmocka_unit_test(test_prune_video),
        cmocka_unit_test(test_prune_bad_inputs),
        cmocka_unit_test(test_prune_keys_reach_visionzip),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
