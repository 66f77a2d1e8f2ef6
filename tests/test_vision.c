/* test_vision.c - the vision side (engine/vision.c through engine.h) against an independent
 * PyTorch implementation (tests/vision_torch_ref.py, float64) on the tiny checkpoint written by
 * engine/tiny_model.c (real tensor names, 7x7 grid, 2 layers run of 3, SigLIP head file):
 * every tap to 1e-4 relative, on the ref and cpu backends, for bilinear and average pooling and
 * for both checkpoint layouts; plus invariants (attention rows sum to 1, chunking does not change
 * the result, the digest is stable) and bad inputs (clear errors, no crash).
 * The torch comparisons (not the rest) are oracle skips (TB-SKIP) when $PYTHON has no torch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "tests/tb_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/tiny_model.h"
#include "harness/npy.h"

static char g_dir[1024];     /* $TB_BUILD/tmp/test_vision_<pid> */
static char g_lmms[1100];    /* tiny lmms model */
static char g_hf[1100];      /* tiny hf model */
static char g_lmms_bf16[1100]; /* the lmms model stored as BF16 */
static char g_pixels[1100];  /* pixels.npy [T,3,S,S] */
#define T_FRAMES 3

static uint64_t g_rng = 12345;
static float frand(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int setup(void **state) {
    (void)state;
    const char *b = getenv("TB_BUILD");
    char err[512];
    snprintf(g_dir, sizeof g_dir, "%s/tmp/test_vision_%d", b ? b : "build", (int)getpid());
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
    if (system(cmd) != 0) return -1;
    snprintf(g_lmms, sizeof g_lmms, "%s/lmms", g_dir);
    snprintf(g_hf, sizeof g_hf, "%s/hf", g_dir);
    snprintf(g_lmms_bf16, sizeof g_lmms_bf16, "%s/lmms_bf16", g_dir);
    eng_tiny_params tp = eng_tiny_default_params();
    if (eng_tiny_model_write(g_lmms, &tp, err, sizeof err) != 0) {
        fprintf(stderr, "tiny model: %s\n", err);
        return -1;
    }
    tp.dtype = ST_BF16; /* the same numbers rounded, as the lmms-lab files store them */
    if (eng_tiny_model_write(g_lmms_bf16, &tp, err, sizeof err) != 0) {
        fprintf(stderr, "tiny model bf16: %s\n", err);
        return -1;
    }
    tp.dtype = ST_F32;
    tp.layout = ENG_LAYOUT_HF;
    tp.seed = 7;
    tp.shards = 2;
    if (eng_tiny_model_write(g_hf, &tp, err, sizeof err) != 0) {
        fprintf(stderr, "tiny model hf: %s\n", err);
        return -1;
    }
    eng_model *m = eng_model_load(g_lmms, NULL, err, sizeof err);
    if (!m) {
        fprintf(stderr, "load: %s\n", err);
        return -1;
    }
    eng_vision_info vi;
    eng_model_vision_info(m, &vi);
    eng_model_free(m);
    int64_t S = vi.image_size, shape[4] = {T_FRAMES, 3, S, S};
    size_t n = (size_t)(T_FRAMES * 3 * S * S);
    float *px = malloc(n * sizeof *px);
    for (size_t i = 0; i < n; i++) px[i] = frand();
    snprintf(g_pixels, sizeof g_pixels, "%s/pixels.npy", g_dir);
    int rc = npy_write(g_pixels, NPY_F32, px, 4, shape, err, sizeof err);
    free(px);
    if (rc) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs the torch reference into g_dir/<tag>; returns 0 on success. */
static int run_torch(const char *model, const char *pool, const char *tag) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' tests/vision_torch_ref.py --model '%s' --siglip '%s/siglip' --pixels '%s' --pool %s --out '%s/%s'",
             tb_test_python(), model, model, g_pixels, pool, g_dir, tag);
    return system(cmd);
}

/* got vs the torch array tag/name.npy: |d| <= 1e-4 (|ref| + max|ref| * 0.1), and the max error
 * relative to max|ref| <= 1e-4. */
static int check_tap(const char *tag, const char *name, const float *got, size_t n) {
    char path[1400], err[256];
    snprintf(path, sizeof path, "%s/%s/%s.npy", g_dir, tag, name);
    npy_array a;
    if (npy_read(path, NPY_F32, &a, err, sizeof err)) {
        printf("FAIL %s: %s\n", name, err);
        return 0;
    }
    int ok = 1;
    if (a.numel != n || !got) {
        printf("FAIL %s: %zu values from torch, %zu from the engine\n", name, a.numel, n);
        npy_free(&a);
        return 0;
    }
    const float *r = a.data;
    double mx = 0, maxerr = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(r[i]));
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - r[i]);
        maxerr = fmax(maxerr, d);
        if (!(d <= 1e-4 * (fabs(r[i]) + 0.1 * mx))) {
            if (shown++ < 5) printf("  MISMATCH %s[%zu]: engine %.8g torch %.8g\n", name, i, got[i], r[i]);
            ok = 0;
        }
    }
    if (!(maxerr <= 1e-4 * mx)) ok = 0;
    printf("  %-18s %8zu values  max|ref| %.3g  max err %.3g  %s\n", name, n, mx, maxerr, ok ? "ok" : "FAIL");
    npy_free(&a);
    return ok;
}

static int compare_all(const char *tag, const eng_vision_out *o, int pooled_only) {
    int ok = 1;
    size_t T = (size_t)o->n_frames, P = (size_t)o->n_patches, L = (size_t)o->n_pooled;
    size_t Dv = (size_t)o->d_vision, D = (size_t)o->d_model, Dh = (size_t)o->head_dim;
    if (!pooled_only) {
        ok &= check_tap(tag, "vision_hidden", o->vision_hidden, T * P * Dv);
        ok &= check_tap(tag, "projected", o->projected, T * P * D);
        ok &= check_tap(tag, "map_attn", o->map_attn, T * P);
        ok &= check_tap(tag, "layer_attn_mean", o->layer_attn_mean, T * P);
        ok &= check_tap(tag, "frame_global", o->frame_global, T * Dv);
    }
    ok &= check_tap(tag, "pooled", o->pooled, T * L * D);
    ok &= check_tap(tag, "pooled_attn", o->pooled_attn, T * L);
    ok &= check_tap(tag, "pooled_layer_attn", o->pooled_layer_attn, T * L);
    ok &= check_tap(tag, "pooled_keys", o->pooled_keys, T * L * Dh);
    return ok;
}

static float *load_pixels(int64_t *T) {
    npy_array a;
    char err[256];
    assert_int_equal(npy_read(g_pixels, NPY_F32, &a, err, sizeof err), 0);
    *T = a.shape[0];
    return a.data; /* caller frees */
}

static void encode_and_compare(const char *model, eng_backend_kind be, eng_vision_pool pool, const char *tag,
                               int frames_per_batch) {
    char err[512];
    eng_model_params mp = eng_model_default_params();
    mp.backend = be;
    eng_model *m = eng_model_load(model, &mp, err, sizeof err);
    if (!m) fail_msg("load %s: %s", model, err);
    eng_vision_info vi;
    eng_model_vision_info(m, &vi);
    assert_int_equal(vi.has_head, 1);
    int64_t T;
    float *px = load_pixels(&T);
    eng_encode_params ep = eng_encode_default_params();
    ep.pool = pool;
    ep.frames_per_batch = frames_per_batch;
    eng_vision_out o;
    int rc = eng_vision_encode(m, px, T, &ep, &o, err, sizeof err);
    if (rc != ENG_OK) fail_msg("encode: %s", err);
    printf("%s backend %s pool %d: T=%lld P=%lld L=%lld Dv=%lld D=%lld Dh=%lld\n", tag, vi.backend, (int)pool,
           (long long)o.n_frames, (long long)o.n_patches, (long long)o.n_pooled, (long long)o.d_vision,
           (long long)o.d_model, (long long)o.head_dim);
    assert_int_equal(o.n_frames, T);
    assert_int_equal(o.n_patches, vi.grid * vi.grid);
    int ok = compare_all(tag, &o, 0);
    eng_vision_out_free(&o);
    eng_model_free(m);
    free(px);
    assert_true(ok);
}

static void test_torch_lmms_bilinear_cpu(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    assert_int_equal(run_torch(g_lmms, "config", "ref_lmms_bil"), 0);
    encode_and_compare(g_lmms, ENG_BACKEND_CPU, ENG_VPOOL_CONFIG, "ref_lmms_bil", 2);
}

static void test_torch_lmms_bilinear_ref(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    /* reuses the arrays of the previous test when present */
    char p[1400];
    struct stat sb;
    snprintf(p, sizeof p, "%s/ref_lmms_bil/pooled.npy", g_dir);
    if (stat(p, &sb) != 0) assert_int_equal(run_torch(g_lmms, "config", "ref_lmms_bil"), 0);
    encode_and_compare(g_lmms, ENG_BACKEND_REF, ENG_VPOOL_CONFIG, "ref_lmms_bil", 4);
}

static void test_torch_lmms_average(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    assert_int_equal(run_torch(g_lmms, "average", "ref_lmms_avg"), 0);
    encode_and_compare(g_lmms, ENG_BACKEND_CPU, ENG_VPOOL_AVERAGE, "ref_lmms_avg", 1);
}

static void test_torch_hf_layout(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    assert_int_equal(run_torch(g_hf, "config", "ref_hf"), 0);
    encode_and_compare(g_hf, ENG_BACKEND_CPU, ENG_VPOOL_CONFIG, "ref_hf", 3);
}

/* BF16 storage: the tower, projector and head run from the mapped 16-bit matrices (cpu: panel
 * conversion + sgemm; ref: exact conversion per element) against the oracle reading the same file. */
static void test_torch_lmms_bf16(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    assert_int_equal(run_torch(g_lmms_bf16, "config", "ref_lmms_bf16"), 0);
    encode_and_compare(g_lmms_bf16, ENG_BACKEND_CPU, ENG_VPOOL_CONFIG, "ref_lmms_bf16", 2);
    encode_and_compare(g_lmms_bf16, ENG_BACKEND_REF, ENG_VPOOL_CONFIG, "ref_lmms_bf16", 4);
}

/* The CUDA backend against the same oracle, when this build and machine have one. */
static void test_torch_cuda(void **state) {
    (void)state;
    char err[512];
    eng_model_params mp = eng_model_default_params();
    mp.backend = ENG_BACKEND_CUDA;
    eng_model *m = eng_model_load(g_lmms, &mp, err, sizeof err);
    if (!m) TB_SKIP("no CUDA backend: %s", err);
    eng_model_free(m);
    TB_NEED_PYTHON("torch, numpy");
    char p[1400];
    struct stat sb;
    snprintf(p, sizeof p, "%s/ref_lmms_bil/pooled.npy", g_dir);
    if (stat(p, &sb) != 0) assert_int_equal(run_torch(g_lmms, "config", "ref_lmms_bil"), 0);
    encode_and_compare(g_lmms, ENG_BACKEND_CUDA, ENG_VPOOL_CONFIG, "ref_lmms_bil", 2);
}

/* Invariants that need no oracle. */
/* Flips the lowest bit of the first data byte of tensor `name` in a single-file safetensors
 * checkpoint (header: 8-byte little-endian length, then JSON with data_offsets). */
static void flip_first_byte(const char *path, const char *name) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    uint8_t len8[8];
    assert_int_equal(fread(len8, 1, 8, f), 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | len8[i];
    assert_true(n > 0 && n < (1u << 24));
    char *hdr = malloc(n + 1);
    assert_non_null(hdr);
    assert_int_equal(fread(hdr, 1, n, f), n);
    hdr[n] = '\0';
    cJSON *h = cJSON_Parse(hdr);
    free(hdr);
    assert_non_null(h);
    cJSON *offs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(h, name), "data_offsets");
    assert_true(cJSON_IsArray(offs));
    long pos = (long)(8 + n + (uint64_t)cJSON_GetArrayItem(offs, 0)->valuedouble);
    cJSON_Delete(h);
    assert_int_equal(fseek(f, pos, SEEK_SET), 0);
    int b = fgetc(f);
    assert_true(b != EOF);
    assert_int_equal(fseek(f, pos, SEEK_SET), 0);
    assert_int_equal(fputc(b ^ 1, f), b ^ 1);
    assert_int_equal(fclose(f), 0);
}

static void test_invariants(void **state) {
    (void)state;
    char err[512];
    eng_model *m = eng_model_load(g_lmms, NULL, err, sizeof err);
    assert_non_null(m);
    int64_t T;
    float *px = load_pixels(&T);
    eng_encode_params ep = eng_encode_default_params();
    ep.frames_per_batch = 1;
    eng_vision_out a, b;
    assert_int_equal(eng_vision_encode(m, px, T, &ep, &a, err, sizeof err), ENG_OK);
    ep.frames_per_batch = 64; /* all frames in one chunk */
    ep.keep_hidden = 0;
    ep.keep_projected = 0;
    assert_int_equal(eng_vision_encode(m, px, T, &ep, &b, err, sizeof err), ENG_OK);
    assert_null(b.vision_hidden);
    assert_null(b.projected);
    /* attention rows sum to 1 over patches */
    for (int64_t t = 0; t < T; t++) {
        double s1 = 0, s2 = 0;
        for (int64_t j = 0; j < a.n_patches; j++) {
            s1 += a.map_attn[t * a.n_patches + j];
            s2 += a.layer_attn_mean[t * a.n_patches + j];
            assert_true(a.map_attn[t * a.n_patches + j] >= 0);
        }
        assert_float_equal(s1, 1.0, 1e-5);
        assert_float_equal(s2, 1.0, 1e-5);
    }
    /* chunking changes nothing (up to BLAS blocking) */
    size_t nL = (size_t)(a.n_frames * a.n_pooled * a.d_model);
    for (size_t i = 0; i < nL; i++) assert_float_equal(a.pooled[i], b.pooled[i], 1e-4 * (1 + fabs(a.pooled[i])));
    /* the pooled grid of the OV config: bilinear G -> ceil(G/2) */
    assert_int_equal(a.grid_pooled, (a.grid + 1) / 2);
    assert_int_equal(a.pool_mode, 0);
    /* newline vector and digest */
    assert_non_null(eng_model_image_newline(m));
    const char *dg = eng_model_digest(m);
    assert_int_equal(strlen(dg), 64);
    char dg1[65];
    snprintf(dg1, sizeof dg1, "%s", dg);
    eng_vision_out_free(&a);
    eng_vision_out_free(&b);
    eng_vision_out_free(&b); /* double free is safe */
    eng_model_free(m);
    /* same weights -> same digest; another seed -> another digest; no head -> another digest */
    m = eng_model_load(g_lmms, NULL, err, sizeof err);
    assert_string_equal(eng_model_digest(m), dg1);
    eng_model_free(m);
    eng_model_params mp = eng_model_default_params();
    mp.siglip_path = "";
    m = eng_model_load(g_lmms, &mp, err, sizeof err);
    assert_non_null(m);
    assert_string_not_equal(eng_model_digest(m), dg1);
    eng_vision_info vi;
    eng_model_vision_info(m, &vi);
    assert_int_equal(vi.has_head, 0);
    ep = eng_encode_default_params();
    assert_int_equal(eng_vision_encode(m, px, 1, &ep, &a, err, sizeof err), ENG_OK);
    assert_null(a.map_attn);
    assert_null(a.frame_global);
    assert_non_null(a.layer_attn_mean);
    eng_vision_out_free(&a);
    eng_model_free(m);
    free(px);
    /* an LLM-only change (one byte of the first LLM layer's down_proj) changes the digest */
    char copy[1200], cmd[3000];
    snprintf(copy, sizeof copy, "%s/llm_changed", g_dir);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", g_lmms, copy);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/model.safetensors", copy);
    flip_first_byte(cmd, "model.layers.0.mlp.down_proj.weight");
    m = eng_model_load(copy, NULL, err, sizeof err);
    assert_non_null(m);
    assert_string_not_equal(eng_model_digest(m), dg1);
    eng_model_free(m);
}

static void test_bad_inputs(void **state) {
    (void)state;
    char err[512] = "";
    eng_model_params mp = eng_model_default_params();
    assert_null(eng_model_load("/nonexistent/model", &mp, err, sizeof err));
    assert_true(strlen(err) > 0);
    assert_null(eng_model_load(NULL, &mp, err, sizeof err));
    mp.siglip_path = "/nonexistent/siglip";
    err[0] = 0;
    assert_null(eng_model_load(g_lmms, &mp, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/siglip"));
#ifndef TB_CUDA
    mp = eng_model_default_params();
    mp.backend = ENG_BACKEND_CUDA;
    assert_null(eng_model_load(g_lmms, &mp, err, sizeof err));
    assert_non_null(strstr(err, "not built with CUDA"));
#endif
    eng_model *m = eng_model_load(g_lmms, NULL, err, sizeof err);
    assert_non_null(m);
    float px[16] = {0};
    eng_vision_out o;
    assert_int_equal(eng_vision_encode(m, px, 0, NULL, &o, err, sizeof err), ENG_ERR_ARG);
    assert_int_equal(eng_vision_encode(m, NULL, 1, NULL, &o, err, sizeof err), ENG_ERR_ARG);
    assert_int_equal(eng_vision_encode(NULL, px, 1, NULL, &o, err, sizeof err), ENG_ERR_ARG);
    eng_encode_params ep = eng_encode_default_params();
    ep.pool = (eng_vision_pool)9;
    assert_int_equal(eng_vision_encode(m, px, 1, &ep, &o, err, sizeof err), ENG_ERR_ARG);
    assert_null(o.pooled);
    eng_model_free(m);
    eng_model_free(NULL);
    eng_vision_out_free(NULL);
    assert_string_equal(eng_status_str(ENG_ERR_FORMAT), "bad checkpoint or config");
    /* a checkpoint with a tensor removed: a clear error naming it */
    char cmd[8192], broken[1200];
    snprintf(broken, sizeof broken, "%s/broken", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/config.json' '%s/' && printf 'junk' > '%s/model.safetensors'", broken,
             g_lmms, broken, broken);
    assert_int_equal(system(cmd), 0);
    assert_null(eng_model_load(broken, NULL, err, sizeof err));
    assert_true(strlen(err) > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_lmms_bilinear_cpu), cmocka_unit_test(test_torch_lmms_bilinear_ref),
        cmocka_unit_test(test_torch_lmms_average),      cmocka_unit_test(test_torch_hf_layout),
        cmocka_unit_test(test_torch_lmms_bf16),         cmocka_unit_test(test_torch_cuda),
        cmocka_unit_test(test_invariants),              cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
