/* test_baselines_cli.c - the baselines through `tango-bench prune --method M`: every registered
 * baseline runs on a small synthetic video written as .npy, writes its outputs, and its
 * summary.json carries the realised equivalent retention (within BL_TOL of --ratio), the quirk
 * names and the solved knobs; bad parameters exit with status 2 and one message line. */
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "baselines/baselines.h"
#include "harness/npy.h"
#include "tango/primitives.h"
#include "tests/tb_test.h"

static char g_dir[256];

static void write_video(const char *dir, const char *tag, int64_t T, int64_t H, int64_t D) {
    int64_t L = H * H;
    float *F = malloc(sizeof(float) * (size_t)(T * L * D)), *A = malloc(sizeof(float) * (size_t)(T * L));
    float *G = malloc(sizeof(float) * (size_t)(T * D)), *ts = malloc(sizeof(float) * (size_t)T);
    tg_rng r;
    tg_rng_seed(&r, 17);
    for (int64_t i = 0; i < T * L * D; i++) F[i] = tg_rng_uniform(&r) - 0.5f;
    for (int64_t i = 0; i < T * L; i++) A[i] = tg_rng_uniform(&r);
    for (int64_t i = 0; i < T * D; i++) G[i] = tg_rng_uniform(&r);
    for (int64_t t = 0; t < T; t++) ts[t] = (float)t;
    char path[1200], err[256];
    int64_t s3[3] = {T, L, D}, s2[2] = {T, L}, sg[2] = {T, D}, s1[1] = {T};
    snprintf(path, sizeof path, "%s/%s_F.npy", dir, tag);
    assert_int_equal(npy_write(path, NPY_F32, F, 3, s3, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s_A.npy", dir, tag);
    assert_int_equal(npy_write(path, NPY_F32, A, 2, s2, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s_G.npy", dir, tag);
    assert_int_equal(npy_write(path, NPY_F32, G, 2, sg, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s_T.npy", dir, tag);
    assert_int_equal(npy_write(path, NPY_F32, ts, 1, s1, err, sizeof err), 0);
    free(F);
    free(A);
    free(G);
    free(ts);
}

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s", tb_test_dir("baselines-cli"));
    write_video(g_dir, "ov", 32, 14, 8);
    write_video(g_dir, "vid", 64, 13, 8);
    return 0;
}

static int prune(const char *method, const char *tag, double ratio, const char *sets, const char *out, char *log,
                 size_t n) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s prune --method %s --features %s/%s_F.npy --attn %s/%s_A.npy --attn-recv %s/%s_A.npy "
             "--frame-global %s/%s_G.npy --timestamps %s/%s_T.npy --ratio %g %s --out %s/%s",
             tb_test_bin(), method, g_dir, tag, g_dir, tag, g_dir, tag, g_dir, tag, g_dir, tag, ratio, sets, g_dir,
             out);
    return tb_test_run(cmd, log, n);
}

static cJSON *read_summary(const char *out) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/summary.json", g_dir, out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static void test_every_method(void **state) {
    (void)state;
    const char *ms[] = {"fastv", "visionzip", "holitom", "fastvid", "uniform", "random", "topk", "full"};
    const char *models[] = {"ov", "vid"};
    for (int m = 0; m < 8; m++)
        for (int mo = 0; mo < 2; mo++) {
            char log[4096], out[128], sets[128];
            snprintf(out, sizeof out, "%s-%s", ms[m], models[mo]);
            snprintf(sets, sizeof sets, "--set model=%s", mo ? "llava-video" : "llava-ov");
            double r = !strcmp(ms[m], "full") ? 1.0 : 0.15;
            int rc = prune(ms[m], models[mo], r, sets, out, log, sizeof log);
            if (rc) fprintf(stderr, "%s\n", log);
            assert_int_equal(rc, 0);
            cJSON *j = read_summary(out);
            assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, ms[m]);
            double er = cJSON_GetObjectItem(j, "equiv_retention")->valuedouble;
            assert_true(fabs(er - r) <= BL_TOL);
            cJSON *p = cJSON_GetObjectItem(j, "params");
            assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "matched")));
            assert_non_null(cJSON_GetObjectItem(p, "solve"));
            assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "quirks")));
            if (!strcmp(ms[m], "fastv")) {
                cJSON *pl = cJSON_GetObjectItem(j, "llm_plan");
                assert_int_equal(cJSON_GetObjectItem(pl, "layer")->valueint, 2);
                assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "quirks"), 0)->valuestring,
                                    "fastv.last_row_score");
            }
            cJSON_Delete(j);
            /* kept.npy: ascending and in range */
            char path[1200], err[256];
            snprintf(path, sizeof path, "%s/%s/kept.npy", g_dir, out);
            npy_array k = {0};
            assert_int_equal(npy_read(path, NPY_I64, &k, err, sizeof err), 0);
            const int64_t *kv = (const int64_t *)k.data;
            int64_t N = mo ? 64 * 169 : 32 * 196;
            for (int64_t i = 0; i < k.shape[0]; i++) {
                assert_true(kv[i] >= 0 && kv[i] < N);
                if (i) assert_true(kv[i] > kv[i - 1]);
            }
            npy_free(&k);
        }
}

static void test_bad_parameters(void **state) {
    (void)state;
    struct {
        const char *m, *tag, *sets;
        double r;
        const char *msg;
    } bad[] = {
        {"fastv", "ov", "--set k=3", 0.10, "infeasible"},
        {"fastv", "ov", "--set nonsense=1", 0.10, "unknown parameter"},
        {"visionzip", "ov", "--set dominant_ratio=1", 0.10, "contextual"},
        {"holitom", "ov", "--set d=0.2", 0.10, "dynamic_topk_only"},
        {"holitom", "ov", "--set compat=both", 0.10, "compat"},
        {"fastvid", "ov", "--set model=llava-video", 0.10, "video_hardcoded_layout"},
        {"uniform", "ov", "--set rows=2", 0.10, "rows and cols"},
        {"random", "ov", "--set keep=abc", 0.10, "keep"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char log[4096];
        int rc = prune(bad[i].m, bad[i].tag, bad[i].r, bad[i].sets, "bad", log, sizeof log);
        if (rc != 2 || !strstr(log, bad[i].msg)) fprintf(stderr, "%s %s: rc %d: %s\n", bad[i].m, bad[i].sets, rc, log);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(log, bad[i].msg));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
