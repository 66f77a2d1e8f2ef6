/* test_vision_encode.c - `tango-bench encode` end to end and the feature cache
 * (harness/feature_cache.h): output files and shapes, equality with the library call, cache hit on
 * the second run and miss on a different key, the cache API round trip and damaged entries, a
 * real video through datasets/video (timestamps), and bad command lines (exit 2) / bad inputs
 * (exit 1 with one clear line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/tb_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sha256.h"
#include "engine/engine.h"
#include "datasets/datasets.h"
#include "harness/feature_cache.h"
#include "harness/npy.h"

static char g_dir[1024], g_model[1100], g_pixels[1100];
static const char *g_bin;

/* Runs a shell command, captures stdout+stderr into out; returns the exit status. */
static int run(char *out, size_t out_len, const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    size_t n = strlen(cmd);
    snprintf(cmd + n, sizeof cmd - n, " 2>&1");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t got = fread(out, 1, out_len - 1, p);
    out[got] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state) {
    (void)state;
    const char *b = getenv("TB_BUILD");
    g_bin = getenv("TB_BIN");
    if (!g_bin) g_bin = "build/tango-bench";
    snprintf(g_dir, sizeof g_dir, "%s/tmp/test_vision_encode_%d", b ? b : "build", (int)getpid());
    snprintf(g_model, sizeof g_model, "%s/model", g_dir);
    snprintf(g_pixels, sizeof g_pixels, "%s/px.npy", g_dir);
    char out[4096];
    if (run(out, sizeof out, "mkdir -p '%s' && '%s' make-tiny-model '%s'", g_dir, g_bin, g_model) != 0) {
        fprintf(stderr, "make-tiny-model: %s\n", out);
        return -1;
    }
    /* 2 frames of the tiny model's size (100) */
    int64_t shape[4] = {2, 3, 100, 100};
    size_t n = 2 * 3 * 100 * 100;
    float *px = malloc(n * sizeof *px);
    for (size_t i = 0; i < n; i++) px[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    char err[256];
    int rc = npy_write(g_pixels, NPY_F32, px, 4, shape, err, sizeof err);
    free(px);
    return rc;
}

static int teardown(void **state) {
    (void)state;
    char out[256];
    return run(out, sizeof out, "rm -rf '%s'", g_dir) == 0 ? 0 : -1;
}

static npy_array load(const char *dir, const char *name) {
    char p[2400], err[256];
    npy_array a;
    snprintf(p, sizeof p, "%s/%s.npy", dir, name);
    if (npy_read(p, NPY_F32, &a, err, sizeof err)) fail_msg("%s", err);
    return a;
}

static void test_encode_pixels_matches_library(void **state) {
    (void)state;
    char out[8192], od[1200];
    snprintf(od, sizeof od, "%s/out_px", g_dir);
    int rc = run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out '%s'", g_bin, g_model, g_pixels, od);
    printf("%s", out);
    assert_int_equal(rc, 0);
    static const struct {
        const char *name;
        int ndim;
        int64_t s1, s2; /* T = 2; tiny: P 49, L 16, Dv 48, D 64, Dh 12 */
    } want[] = {{"vision_hidden", 3, 49, 48}, {"projected", 3, 49, 64}, {"pooled", 3, 16, 64},
                {"map_attn", 2, 49, 0},       {"pooled_attn", 2, 16, 0}, {"layer_attn_mean", 2, 49, 0},
                {"pooled_layer_attn", 2, 16, 0}, {"frame_global", 2, 48, 0}, {"pooled_keys", 3, 16, 12}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        npy_array a = load(od, want[i].name);
        assert_int_equal(a.ndim, want[i].ndim);
        assert_int_equal(a.shape[0], 2);
        assert_int_equal(a.shape[1], want[i].s1);
        if (want[i].ndim == 3) assert_int_equal(a.shape[2], want[i].s2);
        npy_free(&a);
    }
    /* the files hold what the library computes */
    char err[512];
    eng_model *m = eng_model_load(g_model, NULL, err, sizeof err);
    assert_non_null(m);
    npy_array px = load(g_dir, "px");
    eng_vision_out o;
    assert_int_equal(eng_vision_encode(m, px.data, 2, NULL, &o, err, sizeof err), ENG_OK);
    npy_array pooled = load(od, "pooled"), attn = load(od, "pooled_attn");
    for (size_t i = 0; i < pooled.numel; i++)
        assert_float_equal(((float *)pooled.data)[i], o.pooled[i], 1e-5 * (1 + fabs(o.pooled[i])));
    for (size_t i = 0; i < attn.numel; i++) assert_float_equal(((float *)attn.data)[i], o.pooled_attn[i], 1e-7);
    npy_free(&pooled);
    npy_free(&attn);
    npy_free(&px);
    eng_vision_out_free(&o);
    eng_model_free(m);
    /* --no-hidden drops the large arrays; --siglip '' style: no head -> no map_attn */
    snprintf(od, sizeof od, "%s/out_nohidden", g_dir);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out '%s' --no-hidden --quiet", g_bin,
                         g_model, g_pixels, od),
                     0);
    assert_string_equal(out, "");
    char p[2400];
    struct stat sb;
    snprintf(p, sizeof p, "%s/vision_hidden.npy", od);
    assert_int_not_equal(stat(p, &sb), 0);
    snprintf(p, sizeof p, "%s/pooled.npy", od);
    assert_int_equal(stat(p, &sb), 0);
}

static int count_entries(const char *dir) {
    char out[4096];
    if (run(out, sizeof out, "ls '%s' | wc -l", dir) != 0) return -1;
    return (int)strtol(out, NULL, 10);
}

static void test_cache_hit_and_miss(void **state) {
    (void)state;
    char out[8192], cache[1200], o1[1200], o2[1200], o3[1200];
    snprintf(cache, sizeof cache, "%s/cache", g_dir);
    snprintf(o1, sizeof o1, "%s/c1", g_dir);
    snprintf(o2, sizeof o2, "%s/c2", g_dir);
    snprintf(o3, sizeof o3, "%s/c3", g_dir);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out '%s' --cache '%s'", g_bin, g_model,
                         g_pixels, o1, cache),
                     0);
    assert_non_null(strstr(out, "cache: miss"));
    assert_int_equal(count_entries(cache), 1);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out '%s' --cache '%s'", g_bin, g_model,
                         g_pixels, o2, cache),
                     0);
    assert_non_null(strstr(out, "cache: hit"));
    assert_int_equal(count_entries(cache), 1);
    assert_int_equal(run(out, sizeof out, "cmp '%s/pooled.npy' '%s/pooled.npy' && cmp '%s/map_attn.npy' '%s/map_attn.npy'",
                         o1, o2, o1, o2),
                     0);
    /* another pooling mode is another key */
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out '%s' --cache '%s' --pool average",
                         g_bin, g_model, g_pixels, o3, cache),
                     0);
    assert_non_null(strstr(out, "cache: miss"));
    assert_int_equal(count_entries(cache), 2);
    npy_array a = load(o3, "pooled");
    assert_int_equal(a.shape[1], 9); /* 7 -> 3x3 */
    npy_free(&a);
}

static void test_cache_api(void **state) {
    (void)state;
    char err[512], cache[1200];
    snprintf(cache, sizeof cache, "%s/cache_api/sub", g_dir); /* created on store */
    eng_vision_out o, back;
    memset(&o, 0, sizeof o);
    o.n_frames = 2;
    o.n_patches = 4;
    o.grid = 2;
    o.n_pooled = 1;
    o.grid_pooled = 1;
    o.d_vision = 3;
    o.d_model = 5;
    o.head_dim = 2;
    o.pool_mode = 1;
    float pooled[10], keys[4], la[8], pla[2];
    for (int i = 0; i < 10; i++) pooled[i] = (float)i * 0.5f;
    for (int i = 0; i < 4; i++) keys[i] = (float)-i;
    for (int i = 0; i < 8; i++) la[i] = 0.25f;
    pla[0] = pla[1] = 0.25f;
    o.pooled = pooled;
    o.pooled_keys = keys;
    o.layer_attn_mean = la;
    o.pooled_layer_attn = pla;
    double ts[2] = {0.5, 1.25}, *ts_back = NULL;
    int64_t n_ts = 0;
    assert_int_equal(fcache_lookup(cache, "key A", NULL, 0, &back, &ts_back, &n_ts, err, sizeof err), 0); /* miss */
    assert_int_equal(fcache_store(cache, "key A", &o, ts, 2, err, sizeof err), 0);
    assert_int_equal(fcache_store(cache, "key A", &o, ts, 2, err, sizeof err), 0); /* idempotent */
    assert_int_equal(fcache_lookup(cache, "key A", NULL, 0, &back, &ts_back, &n_ts, err, sizeof err), 1);
    assert_int_equal(back.n_frames, 2);
    assert_int_equal(back.pool_mode, 1);
    assert_int_equal(back.d_model, 5);
    assert_memory_equal(back.pooled, pooled, sizeof pooled);
    assert_memory_equal(back.pooled_keys, keys, sizeof keys);
    assert_null(back.map_attn);
    assert_null(back.vision_hidden);
    assert_int_equal(n_ts, 2);
    assert_float_equal(ts_back[1], 1.25, 0);
    eng_vision_out_free(&back);
    free(ts_back);
    assert_int_equal(fcache_lookup(cache, "key B", NULL, 0, &back, NULL, NULL, err, sizeof err), 0);
    /* a damaged entry is an error, not a silent miss */
    char h[65], p[2400], out[256];
    assert_int_equal(tb_sha256_hex("key A", 5, h), 0);
    snprintf(p, sizeof p, "%s/%s/pooled.npy", cache, h);
    assert_int_equal(run(out, sizeof out, "printf 'garbage' > '%s'", p), 0);
    assert_int_equal(fcache_lookup(cache, "key A", NULL, 0, &back, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "pooled.npy"));
    assert_null(back.pooled);
    /* known SHA-256 vector */
    assert_int_equal(tb_sha256_hex("abc", 3, h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char key[64];
    assert_int_equal(fcache_key_encode(key, sizeof key, "d", "fp32", "s", 1, "r", 2, "p", 1, 1), -1); /* too small */
    assert_int_not_equal(tb_sha256_file("/nonexistent/file", h, NULL, err, sizeof err), 0);
    assert_non_null(strstr(err, "/nonexistent/file"));
}

static void test_encode_video(void **state) {
    (void)state;
    char out[8192], vid[1200], od[1200];
    snprintf(vid, sizeof vid, "%s/clip.mp4", g_dir);
    snprintf(od, sizeof od, "%s/out_vid", g_dir);
    if (run(out, sizeof out, "ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=10 -t 2 -pix_fmt yuv420p '%s'", vid) != 0) {
        TB_SKIP("the ffmpeg CLI could not write a test video: %.300s", out);
    }
    int rc = run(out, sizeof out, "'%s' encode --model '%s' --video '%s' --frames 4 --out '%s'", g_bin, g_model, vid, od);
    printf("%s", out);
    assert_int_equal(rc, 0);
    npy_array a = load(od, "pooled");
    assert_int_equal(a.shape[0], 4);
    assert_int_equal(a.shape[1], 16);
    assert_int_equal(a.shape[2], 64);
    npy_free(&a);
    char p[2400], err[256];
    snprintf(p, sizeof p, "%s/timestamps.npy", od);
    npy_array t;
    assert_int_equal(npy_read(p, NPY_F64, &t, err, sizeof err), 0);
    assert_int_equal(t.numel, 4);
    const double *ts = t.data;
    /* 20 frames at 10 fps, linspace(0, 19, 4) -> 0, 6, 12, 19 */
    assert_float_equal(ts[0], 0.0, 1e-9);
    assert_float_equal(ts[1], 0.6, 1e-9);
    assert_float_equal(ts[3], 1.9, 1e-9);
    npy_free(&t);
}

static void test_bad_command_lines(void **state) {
    (void)state;
    char out[8192];
    assert_int_equal(run(out, sizeof out, "'%s' encode --pixels '%s' --out /tmp/x", g_bin, g_pixels), 2);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --out /tmp/x", g_bin, g_model), 2);
    assert_non_null(strstr(out, "exactly one of"));
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels a --video b --out /tmp/x", g_bin, g_model), 2);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out /tmp/x --backend gpu", g_bin, g_model,
                         g_pixels),
                     2);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out /tmp/x --pool max", g_bin, g_model,
                         g_pixels),
                     2);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out /tmp/x --frames 0", g_bin, g_model,
                         g_pixels),
                     2);
    /* runtime failures: exit 1, one line naming the problem */
    char od[1200];
    snprintf(od, sizeof od, "%s/bad_out", g_dir);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels /nonexistent.npy --out '%s'", g_bin, g_model, od), 1);
    assert_non_null(strstr(out, "/nonexistent.npy"));
    assert_int_equal(run(out, sizeof out, "'%s' encode --model /nonexistent/model --pixels '%s' --out '%s'", g_bin, g_pixels, od),
                     1);
    char badpx[1200];
    snprintf(badpx, sizeof badpx, "%s/bad_px.npy", g_dir);
    float z[3 * 50 * 50] = {0};
    int64_t shape[4] = {1, 3, 50, 50};
    char err[256];
    assert_int_equal(npy_write(badpx, NPY_F32, z, 4, shape, err, sizeof err), 0);
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out '%s'", g_bin, g_model, badpx, od), 1);
    assert_non_null(strstr(out, "shape must be"));
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --video /nonexistent.mp4 --out '%s'", g_bin, g_model, od), 1);
    assert_non_null(strstr(out, "/nonexistent.mp4"));
#ifndef TB_CUDA
    assert_int_equal(run(out, sizeof out, "'%s' encode --model '%s' --pixels '%s' --out '%s' --backend cuda", g_bin, g_model,
                         g_pixels, od),
                     1);
    assert_non_null(strstr(out, "not built with CUDA"));
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_pixels_matches_library), cmocka_unit_test(test_cache_hit_and_miss),
        cmocka_unit_test(test_cache_api),                     cmocka_unit_test(test_encode_video),
        cmocka_unit_test(test_bad_command_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
