/* test_video_resize.c - the Pillow-compatible bicubic resize and the SigLIP preprocessing,
 * checked against python3 + Pillow (tests/fixtures/video/pil_resize.py) as the oracle.
 *
 * Sizes cover upscaling (small frames), downscaling by large and fractional factors (720p and
 * odd sizes to 384), one-axis-only resizes and the identity. The 8-bit result must match
 * Pillow within 1 level per channel (it is expected to be identical); the float32 CHW output
 * must match the oracle's normalisation of its own resize to 1e-6. An oracle skip (TB-SKIP)
 * when $PYTHON has no Pillow.
 */
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
#include <unistd.h>

#include "datasets/video.h"

static char g_dir[512];
static const char *g_py;

static int setup_all(void **state) {
    (void)state;
    const char *b = getenv("TB_BUILD");
    g_py = tb_test_python();
    snprintf(g_dir, sizeof g_dir, "%s/tmp/test_video_resize_%d", b ? b : "build", (int)getpid());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
    if (system(cmd) != 0) return -1;
    return 0;
}

static int teardown_all(void **state) {
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Deterministic test image: smooth gradients + hard edges + pseudo-random noise. */
static void make_image(uint8_t *img, int w, int h, uint32_t seed) {
    uint32_t s = seed;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s = s * 1664525u + 1013904223u;
            uint8_t *p = img + ((size_t)y * (size_t)w + (size_t)x) * 3;
            int edge = ((x / 7) + (y / 5)) & 1 ? 200 : 30;
            p[0] = (uint8_t)((x * 255) / (w > 1 ? w - 1 : 1));
            p[1] = (uint8_t)edge;
            p[2] = (uint8_t)(s >> 24);
        }
}

static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static void read_file(const char *path, void *d, size_t n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(d, 1, n, f), n);
    fclose(f);
}

static void check_size(int w, int h, int dw, int dh, int with_float) {
    char in[700], out[700], outf[700], cmd[3000];
    snprintf(in, sizeof in, "%s/in_%dx%d.raw", g_dir, w, h);
    snprintf(out, sizeof out, "%s/out_%dx%d_%dx%d.raw", g_dir, w, h, dw, dh);
    snprintf(outf, sizeof outf, "%s/outf_%dx%d_%dx%d.raw", g_dir, w, h, dw, dh);
    size_t n_in = (size_t)w * (size_t)h * 3, n_out = (size_t)dw * (size_t)dh * 3;
    uint8_t *img = malloc(n_in), *mine = malloc(n_out), *theirs = malloc(n_out);
    make_image(img, w, h, (uint32_t)(w * 31 + h));
    write_file(in, img, n_in);
    snprintf(cmd, sizeof cmd, "'%s' tests/fixtures/video/pil_resize.py '%s' %d %d '%s' %d %d %s%s%s", g_py, in, w, h, out,
             dw, dh, with_float ? "'" : "", with_float ? outf : "", with_float ? "'" : "");
    assert_int_equal(system(cmd), 0);
    read_file(out, theirs, n_out);
    assert_int_equal(ds_resize_bicubic_u8(img, w, h, (size_t)w * 3, 3, mine, dw, dh), 0);
    int maxd = 0;
    size_t n_diff = 0;
    for (size_t i = 0; i < n_out; i++) {
        int d = abs((int)mine[i] - (int)theirs[i]);
        if (d > maxd) maxd = d;
        n_diff += d != 0;
    }
    print_message("resize %dx%d -> %dx%d: max diff %d, %zu of %zu values differ\n", w, h, dw, dh, maxd, n_diff, n_out);
    assert_true(maxd <= 1);
    if (with_float) {
        size_t nf = (size_t)3 * (size_t)dw * (size_t)dh;
        float *pf = malloc(nf * sizeof(float)), *mf = malloc(nf * sizeof(float));
        read_file(outf, pf, nf * sizeof(float));
        const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.5f, 0.5f};
        assert_int_equal(dw, dh);
        assert_int_equal(ds_preprocess_rgb(img, w, h, (size_t)w * 3, dw, mean, std, mf), 0);
        double maxf = 0;
        for (size_t i = 0; i < nf; i++) {
            double d = fabs((double)mf[i] - (double)pf[i]);
            if (d > maxf) maxf = d;
        }
        print_message("  preprocess float32 CHW: max abs diff %g\n", maxf);
        assert_true(maxf <= 2.0 / 255.0 + 1e-6); /* within one 8-bit level */
        free(pf);
        free(mf);
    }
    free(img);
    free(mine);
    free(theirs);
}

static void test_resize_vs_pillow(void **state) {
    (void)state;
    TB_NEED_PYTHON("PIL, numpy");
    check_size(160, 96, 384, 384, 1);    /* upscale */
    check_size(1280, 720, 384, 384, 1);  /* 720p downscale */
    check_size(640, 360, 384, 384, 0);
    check_size(37, 53, 384, 384, 0);     /* tiny, odd */
    check_size(500, 300, 123, 77, 0);    /* fractional factors, non-square output */
    check_size(384, 200, 384, 384, 0);   /* vertical pass only */
    check_size(200, 384, 384, 384, 0);   /* horizontal pass only */
    check_size(384, 384, 384, 384, 1);   /* identity */
}

static void test_resize_properties(void **state) {
    (void)state;
    /* a constant image stays constant (weights sum to one, fixed-point rounding included) */
    uint8_t src[40 * 30 * 3], dst[17 * 11 * 3];
    memset(src, 77, sizeof src);
    assert_int_equal(ds_resize_bicubic_u8(src, 40, 30, 40 * 3, 3, dst, 17, 11), 0);
    for (size_t i = 0; i < sizeof dst; i++) assert_int_equal(dst[i], 77);
    /* bad arguments */
    assert_int_equal(ds_resize_bicubic_u8(src, 0, 30, 40 * 3, 3, dst, 17, 11), -1);
    assert_int_equal(ds_resize_bicubic_u8(src, 40, 30, 10, 3, dst, 17, 11), -1);
    assert_int_equal(ds_resize_bicubic_u8(src, 40, 30, 40 * 3, 5, dst, 17, 11), -1);
    assert_int_equal(ds_resize_bicubic_u8(NULL, 40, 30, 40 * 3, 3, dst, 17, 11), -1);
    /* normalisation lookup: 0 -> -1, 255 -> 1, per-channel mean/std honoured */
    uint8_t px[2 * 2 * 3] = {0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255};
    float out[3 * 2 * 2];
    const float mean[3] = {0.5f, 0.5f, 0.0f}, std[3] = {0.5f, 0.5f, 1.0f};
    assert_int_equal(ds_preprocess_rgb(px, 2, 2, 6, 2, mean, std, out), 0);
    assert_true(out[0] == -1.0f && out[3] == 1.0f);
    assert_true(out[8] == 0.0f && out[11] == 1.0f);
    assert_int_equal(ds_preprocess_rgb(px, 2, 2, 6, 0, mean, std, out), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_vs_pillow),
        cmocka_unit_test(test_resize_properties),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
