/* test_video.c - frame sampling tests on videos the test writes itself.
 *
 * Every frame of a generated video carries its own frame number as a row of black/white
 * 16x16 blocks, so a decoded frame identifies itself: the tests check exact indices and
 * timestamps, clip ranges, keyframe snapping, JPEG frame folders, parallel vs serial decoding,
 * the seeking path against decoding every frame, other containers and codecs (mkv, ts, webm
 * VP8/VP9, avi MPEG-4 with and without B-frames, MJPEG, open-GOP H.264), RGB conversion against
 * FFmpeg's filter graph (decord's path), and every bad-file case (missing, corrupt, truncated,
 * zero frames, audio-only, empty folder, broken JPEG).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/tb_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/video.h"

#define VW 160
#define VH 96
#define NBITS 10

static char g_dir[512];
static char g_h264[600];  /* 60 frames, 25 fps, gop 12, 2 B-frames */
static char g_mpeg4[600]; /* 40 frames, 20 fps, gop 10, MPEG-4 part 2 */
static char g_frames[600];/* JPEG folder from g_h264, 1-based names */

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_dir, name); }

/* RGB frame k: moving gradient background + NBITS bit blocks in the top row. */
static void draw_frame(uint8_t *rgb, int k) {
    for (int y = 0; y < VH; y++)
        for (int x = 0; x < VW; x++) {
            uint8_t *p = rgb + ((size_t)y * VW + x) * 3;
            p[0] = (uint8_t)((x * 2 + k * 3) & 0xff);
            p[1] = (uint8_t)((y * 2 + k * 5) & 0xff);
            p[2] = (uint8_t)(((x + y) + k * 7) & 0xff);
        }
    for (int b = 0; b < NBITS; b++) {
        uint8_t v = (k >> b) & 1 ? 255 : 0;
        for (int y = 16; y < 32; y++)
            for (int x = b * 16; x < b * 16 + 16; x++) {
                uint8_t *p = rgb + ((size_t)y * VW + x) * 3;
                p[0] = p[1] = p[2] = v;
            }
    }
}

/* Reads the frame number back from an RGB frame (block centres, luma-ish threshold). */
static int read_frame_number(const uint8_t *rgb, int w) {
    int k = 0;
    for (int b = 0; b < NBITS; b++) {
        int sum = 0;
        for (int y = 20; y < 28; y++)
            for (int x = b * 16 + 4; x < b * 16 + 12; x++) {
                const uint8_t *p = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;
                sum += p[0] + p[1] + p[2];
            }
        if (sum / (64 * 3) > 128) k |= 1 << b;
    }
    return k;
}

static int write_video(const char *path, int n, int fps, int gop, int bframes, const char *codec) {
    ds_vwriter_params p = ds_vwriter_default_params();
    p.width = VW;
    p.height = VH;
    p.fps = fps;
    p.gop = gop;
    p.max_b_frames = bframes;
    p.codec = codec;
    p.crf = 18;
    char err[512];
    ds_vwriter_t *w = NULL;
    if (ds_vwriter_open(path, &p, &w, err, sizeof err)) {
        fprintf(stderr, "writer: %s\n", err);
        return -1;
    }
    uint8_t *rgb = malloc((size_t)VW * VH * 3);
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        draw_frame(rgb, k);
        rc = ds_vwriter_put_rgb(w, rgb, err, sizeof err);
    }
    free(rgb);
    int rc2 = ds_vwriter_close(w, err, sizeof err);
    if (rc || rc2) fprintf(stderr, "writer: %s\n", err);
    return rc || rc2 ? -1 : 0;
}

static int setup_all(void **state) {
    (void)state;
    const char *b = getenv("TB_BUILD");
    snprintf(g_dir, sizeof g_dir, "%s/tmp/test_video_%d", b ? b : "build", (int)getpid());
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
    if (system(cmd) != 0) return -1;
    path_in(g_h264, sizeof g_h264, "pattern.mp4");
    path_in(g_mpeg4, sizeof g_mpeg4, "pattern_mpeg4.mp4");
    path_in(g_frames, sizeof g_frames, "frames");
    if (write_video(g_h264, 60, 25, 12, 2, "auto")) return -1;
    if (write_video(g_mpeg4, 40, 20, 10, 1, "mpeg4")) return -1;
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && ffmpeg -loglevel error -y -i '%s' -q:v 2 -start_number 1 '%s/%%05d.jpg'", g_frames,
             g_h264, g_frames);
    if (system(cmd) != 0) return -1;
    return 0;
}

static int teardown_all(void **state) {
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- pure index rules ------------------------------------------------------------------------ */

static void test_rules_match_numpy(void **state) {
    (void)state;
    int64_t o[8];
    const int64_t lin60[7] = {0, 9, 19, 29, 39, 49, 59};
    assert_int_equal(ds_sample_indices(DS_SAMPLE_LINSPACE, 0, 59, 7, o), 0);
    assert_memory_equal(o, lin60, sizeof lin60);
    const int64_t lin100[8] = {0, 14, 28, 42, 56, 70, 84, 99};
    ds_sample_indices(DS_SAMPLE_LINSPACE, 0, 99, 8, o);
    assert_memory_equal(o, lin100, sizeof lin100);
    const int64_t linclip[5] = {12, 19, 27, 34, 42};
    ds_sample_indices(DS_SAMPLE_LINSPACE, 12, 42, 5, o);
    assert_memory_equal(o, linclip, sizeof linclip);
    const int64_t rep[5] = {0, 0, 1, 1, 2}; /* fewer frames than N: repeats, as numpy */
    ds_sample_indices(DS_SAMPLE_LINSPACE, 0, 2, 5, o);
    assert_memory_equal(o, rep, sizeof rep);
    const int64_t c100[8] = {6, 18, 31, 43, 56, 68, 80, 93}; /* MVBench get_index, round half even */
    ds_sample_indices(DS_SAMPLE_CENTRED, 0, 99, 8, o);
    assert_memory_equal(o, c100, sizeof c100);
    const int64_t c60[7] = {4, 12, 21, 29, 38, 46, 55};
    ds_sample_indices(DS_SAMPLE_CENTRED, 0, 59, 7, o);
    assert_memory_equal(o, c60, sizeof c60);
    const int64_t cclip[4] = {15, 23, 30, 37};
    ds_sample_indices(DS_SAMPLE_CENTRED, 12, 42, 4, o);
    assert_memory_equal(o, cclip, sizeof cclip);
    const int64_t in100[8] = {11, 22, 33, 44, 55, 66, 77, 88};
    ds_sample_indices(DS_SAMPLE_INTERIOR, 0, 99, 8, o);
    assert_memory_equal(o, in100, sizeof in100);
    ds_sample_indices(DS_SAMPLE_LINSPACE, 5, 20, 1, o);
    assert_int_equal(o[0], 5);
    assert_int_equal(ds_sample_indices(DS_SAMPLE_LINSPACE, 0, 9, 0, o), -1);
    assert_int_equal(ds_sample_indices(DS_SAMPLE_LINSPACE, 9, 0, 3, o), -1);
    /* clip bounds: Python round() is half-to-even: 0.5*25 = 12.5 -> 12, 1.7*25 = 42.5 -> 42 */
    int64_t f, l;
    char err[256];
    assert_int_equal(ds_clip_range(60, 25.0, 1, 0.5, 1.7, &f, &l, err, sizeof err), 0);
    assert_int_equal(f, 12);
    assert_int_equal(l, 42);
    assert_int_equal(ds_clip_range(60, 25.0, 1, 1.0, 100.0, &f, &l, err, sizeof err), 0);
    assert_int_equal(l, 59);
    assert_int_equal(ds_clip_range(60, 25.0, 1, 3.0, 2.0, &f, &l, err, sizeof err), -1);
    assert_int_equal(ds_clip_range(60, 25.0, 1, 10.0, 20.0, &f, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds no frame"));
    ds_sample_rule r;
    assert_int_equal(ds_sample_rule_parse("centered", &r), 0);
    assert_int_equal(r, DS_SAMPLE_CENTRED);
    assert_int_equal(ds_sample_rule_parse("bogus", &r), -1);
}

/* ---- opening and exact sampling -------------------------------------------------------------- */

static void check_content(const ds_frames *f) {
    for (int j = 0; j < f->n; j++) {
        const uint8_t *fr = f->rgb + (size_t)j * (size_t)f->width * (size_t)f->height * 3;
        int got = read_frame_number(fr, f->width);
        if (got != (int)f->indices[j]) fail_msg("position %d: decoded frame shows %d, expected %lld", j, got, (long long)f->indices[j]);
    }
}

static void test_open_info(void **state) {
    (void)state;
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_h264, 0, &v, err, sizeof err), 0);
    ds_video_info in;
    ds_video_get_info(v, &in);
    assert_int_equal(in.n_frames, 60);
    assert_true(in.avg_fps > 24.999 && in.avg_fps < 25.001);
    assert_int_equal(in.width, VW);
    assert_int_equal(in.height, VH);
    assert_int_equal(in.n_keyframes, 5); /* 0, 12, 24, 36, 48 */
    assert_int_equal(in.pts_ordered, 1);
    assert_int_equal(in.is_folder, 0);
    ds_video_free(v);
    ds_video_free(NULL);
}

static void test_exact_linspace(void **state) {
    (void)state;
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_h264, 0, &v, err, sizeof err), 0);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 7;
    p.keep_rgb = 1;
    p.size = 64;
    ds_frames f;
    int rc = ds_video_sample(v, &p, &f, err, sizeof err);
    if (rc) fail_msg("%s", err);
    const int64_t want[7] = {0, 9, 19, 29, 39, 49, 59};
    assert_memory_equal(f.indices, want, sizeof want);
    assert_memory_equal(f.requested, want, sizeof want);
    for (int j = 0; j < 7; j++) assert_true(f.timestamps[j] == (double)want[j] / 25.0);
    check_content(&f);
    assert_int_equal(f.n_substituted, 0);
    /* fewer frames decoded than a full decode (seeking worked) */
    assert_true(f.n_decoded < 60);
    /* pixels are normalised into [-1, 1] */
    for (size_t i = 0; i < (size_t)7 * 3 * 64 * 64; i += 97) assert_true(f.pixels[i] >= -1.0f && f.pixels[i] <= 1.0f);
    /* the same frames byte for byte as decoding every frame */
    uint8_t *ref = malloc((size_t)7 * VW * VH * 3);
    int64_t nd = 0;
    assert_int_equal(ds_video_decode_all_keep(v, want, 7, 1, ref, &nd, err, sizeof err), 0);
    assert_int_equal(nd, 60);
    assert_memory_equal(ref, f.rgb, (size_t)7 * VW * VH * 3);
    free(ref);
    ds_frames_free(&f);
    ds_frames_free(&f); /* idempotent */
    ds_video_free(v);
    /* the one-call form gives the same frames */
    ds_video_info in;
    assert_int_equal(ds_video_sample_path(g_h264, 0, &p, &f, &in, err, sizeof err), 0);
    assert_int_equal(in.n_frames, 60);
    assert_memory_equal(f.indices, want, sizeof want);
    check_content(&f);
    ds_frames_free(&f);
    assert_int_equal(ds_video_sample_path("/nonexistent/x.mp4", 0, &p, &f, &in, err, sizeof err), DS_VIDEO_ERR_MISSING);
    assert_null(f.pixels);
}

static void test_every_frame_exact(void **state) {
    (void)state;
    /* N = total with the centred rule on a 2-B-frame stream: every frame, including B-frames
     * decoded after skipped non-reference frames, must identify itself. */
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_h264, 0, &v, err, sizeof err), 0);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 60;
    p.size = 0;
    p.keep_rgb = 1;
    p.n_threads = 2;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    for (int j = 0; j < 60; j++) assert_int_equal(f.indices[j], j);
    assert_null(f.pixels);
    check_content(&f);
    ds_frames_free(&f);
    /* each frame alone (worst case for seeking: one group per frame) */
    for (int64_t k = 0; k < 60; k += 7) {
        p.n_frames = 1;
        p.clip = 1;
        p.start_s = (double)k / 25.0;
        p.end_s = p.start_s;
        if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
        assert_int_equal(f.indices[0], k);
        check_content(&f);
        ds_frames_free(&f);
    }
    ds_video_free(v);
}

static void test_clip_and_centred(void **state) {
    (void)state;
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_h264, 0, &v, err, sizeof err), 0);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 5;
    p.clip = 1;
    p.start_s = 0.5;
    p.end_s = 1.7;
    p.size = 32;
    p.keep_rgb = 1;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    const int64_t want[5] = {12, 19, 27, 34, 42};
    assert_memory_equal(f.indices, want, sizeof want);
    assert_int_equal(f.first_index, 12);
    assert_int_equal(f.last_index, 42);
    assert_true(f.timestamps[0] == 12 / 25.0); /* absolute timestamps */
    check_content(&f);
    ds_frames_free(&f);
    p.rule = DS_SAMPLE_CENTRED;
    p.n_frames = 4;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    const int64_t wc[4] = {15, 23, 30, 37};
    assert_memory_equal(f.indices, wc, sizeof wc);
    check_content(&f);
    ds_frames_free(&f);
    /* clip past the end is clamped; clip outside the video is an error naming the file */
    p.start_s = 2.0;
    p.end_s = 99.0;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(f.last_index, 59);
    ds_frames_free(&f);
    p.start_s = 10.0;
    p.end_s = 20.0;
    assert_int_equal(ds_video_sample(v, &p, &f, err, sizeof err), DS_VIDEO_ERR_ARG);
    assert_non_null(strstr(err, g_h264));
    assert_null(f.indices);
    p.n_frames = 0;
    assert_int_equal(ds_video_sample(v, &p, &f, err, sizeof err), DS_VIDEO_ERR_ARG);
    ds_video_free(v);
}

static void test_keyframe_mode(void **state) {
    (void)state;
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_h264, 0, &v, err, sizeof err), 0);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 7;
    p.seek = DS_SEEK_KEYFRAME;
    p.size = 0;
    p.keep_rgb = 1;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    const int64_t req[7] = {0, 9, 19, 29, 39, 49, 59};
    const int64_t snap[7] = {0, 0, 12, 24, 36, 48, 48};
    assert_memory_equal(f.requested, req, sizeof req);
    assert_memory_equal(f.indices, snap, sizeof snap);
    for (int j = 0; j < 7; j++) assert_true(f.timestamps[j] == (double)snap[j] / 25.0);
    check_content(&f);
    assert_true(f.n_decoded <= 5 * 3); /* about one frame per keyframe */
    ds_frames_free(&f);
    ds_video_free(v);
}

static void test_parallel_equals_serial(void **state) {
    (void)state;
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_h264, 0, &v, err, sizeof err), 0);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 9;
    p.size = 48;
    ds_frames a, b;
    p.n_threads = 1;
    if (ds_video_sample(v, &p, &a, err, sizeof err)) fail_msg("%s", err);
    p.n_threads = 3;
    if (ds_video_sample(v, &p, &b, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(a.n_workers, 1);
    assert_true(b.n_workers > 1);
    assert_memory_equal(a.indices, b.indices, 9 * sizeof(int64_t));
    assert_memory_equal(a.pixels, b.pixels, (size_t)9 * 3 * 48 * 48 * sizeof(float));
    ds_frames_free(&a);
    ds_frames_free(&b);
    ds_video_free(v);
}

static void test_mpeg4(void **state) {
    (void)state;
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_mpeg4, 0, &v, err, sizeof err), 0);
    ds_video_info in;
    ds_video_get_info(v, &in);
    assert_int_equal(in.n_frames, 40);
    assert_string_equal(in.codec, "mpeg4");
    assert_true(in.avg_fps > 19.999 && in.avg_fps < 20.001);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 40;
    p.size = 0;
    p.keep_rgb = 1;
    p.n_threads = 2;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    check_content(&f);
    ds_frames_free(&f);
    ds_video_free(v);
}

static void test_frame_folder(void **state) {
    (void)state;
    char err[512];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_frames, 3.0, &v, err, sizeof err), 0);
    ds_video_info in;
    ds_video_get_info(v, &in);
    assert_int_equal(in.is_folder, 1);
    assert_int_equal(in.n_frames, 60);
    assert_true(in.avg_fps == 3.0);
    assert_int_equal(in.width, VW);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 8;
    p.size = 64;
    p.keep_rgb = 1;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    const int64_t want[8] = {0, 8, 16, 25, 33, 42, 50, 59};
    assert_memory_equal(f.indices, want, sizeof want);
    for (int j = 0; j < 8; j++) assert_true(f.timestamps[j] == (double)want[j] / 3.0);
    check_content(&f); /* file k+1 holds frame k */
    ds_frames_free(&f);
    /* clip at 3 fps: [2 s, 10 s] -> frames 6..30 */
    p.clip = 1;
    p.start_s = 2.0;
    p.end_s = 10.0;
    p.n_frames = 4;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(f.first_index, 6);
    assert_int_equal(f.last_index, 30);
    check_content(&f);
    ds_frames_free(&f);
    ds_video_free(v);
    /* default fps is 3 */
    assert_int_equal(ds_video_open(g_frames, 0, &v, err, sizeof err), 0);
    ds_video_get_info(v, &in);
    assert_true(in.avg_fps == 3.0);
    ds_video_free(v);
}

/* ---- other containers / codecs (made with the ffmpeg CLI from the pattern video) ----------- */

/* Returns -1 with the reason in why when the ffmpeg CLI cannot write the file (an encoder this
 * FFmpeg build lacks): the caller skips. Asserts everything else. */
static int check_container(const char *name, const char *ffargs, int64_t want_frames, char *why, size_t why_len) {
    char path[700], cmd[2000], err[512], out[1024];
    path_in(path, sizeof path, name);
    snprintf(cmd, sizeof cmd, "ffmpeg -loglevel error -y -i '%s' %s '%s'", g_h264, ffargs, path);
    if (tb_test_run(cmd, out, sizeof out) != 0) {
        out[strcspn(out, "\n")] = '\0';
        snprintf(why, why_len, "the ffmpeg CLI could not write %s (%s): %.300s", name, ffargs, out);
        return -1;
    }
    ds_video_t *v = NULL;
    if (ds_video_open(path, 0, &v, err, sizeof err)) fail_msg("%s", err);
    ds_video_info in;
    ds_video_get_info(v, &in);
    print_message("%s: %s, %lld frames, %.3f fps, %lld keyframes, pts_ordered %d\n", name, in.codec,
                  (long long)in.n_frames, in.avg_fps, (long long)in.n_keyframes, in.pts_ordered);
    assert_int_equal(in.n_frames, want_frames);
    ds_video_params p = ds_video_default_params();
    p.n_frames = (int)want_frames;
    p.size = 0;
    p.keep_rgb = 1;
    p.n_threads = 2;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    check_content(&f);
    assert_int_equal(f.n_substituted, 0);
    ds_frames_free(&f);
    p.n_frames = 5;
    p.seek = DS_SEEK_KEYFRAME;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    check_content(&f);
    ds_frames_free(&f);
    ds_video_free(v);
    return 0;
}

/* One test per container/codec, so a missing encoder is one counted skip. */
#define CONTAINER_TEST(fn, name, ffargs)                                                            \
    static void fn(void **state) {                                                                  \
        (void)state;                                                                                \
        char why[600];                                                                              \
        if (check_container(name, ffargs, 60, why, sizeof why)) TB_SKIP("%s", why);                 \
    }
CONTAINER_TEST(test_container_mkv_copy, "copy.mkv", "-c copy")
CONTAINER_TEST(test_container_ts_copy, "copy.ts", "-c copy")
CONTAINER_TEST(test_container_vp8, "vp8.webm", "-c:v libvpx -b:v 1M -g 15")
CONTAINER_TEST(test_container_vp9, "vp9.webm", "-c:v libvpx-vp9 -b:v 1M -g 15 -deadline realtime -cpu-used 8")
CONTAINER_TEST(test_container_mpeg4, "mpeg4.avi", "-c:v mpeg4 -q:v 3 -g 15 -bf 0")
CONTAINER_TEST(test_container_mjpeg, "mjpeg.avi", "-c:v mjpeg -q:v 3")
CONTAINER_TEST(test_container_mpeg4_bframes, "mpeg4_bf.avi", "-c:v mpeg4 -q:v 3 -g 15 -bf 2")
CONTAINER_TEST(test_container_h264_open_gop, "h264_bf.mkv", "-c:v libx264 -g 15 -bf 3 -x264-params open-gop=1")

/* YUV -> RGB: decord converts through an FFmpeg filter graph ("scale=W:H" to rgb24); the ffmpeg
 * CLI with the same graph is the reference. Our frames must be byte-identical to it. */
static void test_rgb_matches_ffmpeg_graph(void **state) {
    (void)state;
    char ref[700], cmd[2000], err[512];
    path_in(ref, sizeof ref, "ref.rgb");
    snprintf(cmd, sizeof cmd, "ffmpeg -loglevel error -y -i '%s' -vf scale=%d:%d -pix_fmt rgb24 -f rawvideo '%s'",
             g_h264, VW, VH, ref);
    assert_int_equal(system(cmd), 0);
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open(g_h264, 0, &v, err, sizeof err), 0);
    ds_video_params p = ds_video_default_params();
    p.n_frames = 60;
    p.size = 0;
    p.keep_rgb = 1;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    size_t n = (size_t)60 * VW * VH * 3;
    uint8_t *r = malloc(n);
    FILE *fp = fopen(ref, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(r, 1, n, fp), n);
    fclose(fp);
    assert_memory_equal(r, f.rgb, n);
    free(r);
    ds_frames_free(&f);
    ds_video_free(v);
}

/* ---- bad inputs ------------------------------------------------------------------------------ */

static void expect_open_error(const char *path, int want_status) {
    char err[512] = "";
    ds_video_t *v = (ds_video_t *)(uintptr_t)1;
    int rc = ds_video_open(path, 0, &v, err, sizeof err);
    if (rc != want_status) fail_msg("%s: status %d (%s), expected %d; err: %s", path, rc, ds_video_status_str(rc), want_status, err);
    assert_null(v);
    if (!strstr(err, path)) fail_msg("error does not name the file: %s", err);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz);
    assert_int_equal(fread(b, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    *n = (size_t)sz;
    return b;
}

static void test_bad_files(void **state) {
    (void)state;
    char p[700];
    /* missing */
    path_in(p, sizeof p, "does_not_exist.mp4");
    expect_open_error(p, DS_VIDEO_ERR_MISSING);
    /* empty file */
    path_in(p, sizeof p, "empty.mp4");
    write_bytes(p, "", 0);
    expect_open_error(p, DS_VIDEO_ERR_FORMAT);
    /* corrupt: random bytes */
    path_in(p, sizeof p, "corrupt.mp4");
    uint8_t junk[4096];
    uint32_t s = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        s = s * 1103515245u + 12345u;
        junk[i] = (uint8_t)(s >> 16);
    }
    write_bytes(p, junk, sizeof junk);
    expect_open_error(p, DS_VIDEO_ERR_FORMAT);
    /* truncated mp4, index (moov) at the end: the index is lost */
    size_t n;
    uint8_t *whole = read_all(g_h264, &n);
    path_in(p, sizeof p, "truncated.mp4");
    write_bytes(p, whole, n / 2);
    expect_open_error(p, DS_VIDEO_ERR_FORMAT);
    free(whole);
    /* truncated mp4 with the index first (faststart): fewer packets than the index lists */
    char fs[700], cmd[1600];
    path_in(fs, sizeof fs, "faststart.mp4");
    snprintf(cmd, sizeof cmd, "ffmpeg -loglevel error -y -i '%s' -c copy -movflags +faststart '%s'", g_h264, fs);
    assert_int_equal(system(cmd), 0);
    whole = read_all(fs, &n);
    path_in(p, sizeof p, "truncated_faststart.mp4");
    write_bytes(p, whole, n * 2 / 3);
    expect_open_error(p, DS_VIDEO_ERR_TRUNCATED);
    free(whole);
    /* zero frames: a video stream without packets */
    path_in(p, sizeof p, "zero.mp4");
    assert_int_equal(write_video(p, 0, 25, 12, 0, "auto"), 0);
    {
        char err[512] = "";
        ds_video_t *v = NULL;
        int rc = ds_video_open(p, 0, &v, err, sizeof err);
        assert_true(rc == DS_VIDEO_ERR_EMPTY || rc == DS_VIDEO_ERR_NO_VIDEO || rc == DS_VIDEO_ERR_FORMAT);
        assert_null(v);
        assert_non_null(strstr(err, p));
    }
    /* audio only: a WAV file with one second of silence */
    path_in(p, sizeof p, "audio.wav");
    {
        uint8_t wav[44 + 16000];
        memset(wav, 0, sizeof wav);
        uint32_t data_len = 16000, riff = 36 + data_len, fmt_len = 16, rate = 8000, byte_rate = 16000;
        uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
        memcpy(wav, "RIFF", 4);
        memcpy(wav + 4, &riff, 4);
        memcpy(wav + 8, "WAVEfmt ", 8);
        memcpy(wav + 16, &fmt_len, 4);
        memcpy(wav + 20, &pcm, 2);
        memcpy(wav + 22, &ch, 2);
        memcpy(wav + 24, &rate, 4);
        memcpy(wav + 28, &byte_rate, 4);
        memcpy(wav + 32, &align, 2);
        memcpy(wav + 34, &bits, 2);
        memcpy(wav + 36, "data", 4);
        memcpy(wav + 40, &data_len, 4);
        write_bytes(p, wav, sizeof wav);
    }
    expect_open_error(p, DS_VIDEO_ERR_NO_VIDEO);
    /* empty frame folder, and a folder with a broken JPEG */
    path_in(p, sizeof p, "empty_frames");
    mkdir(p, 0755);
    expect_open_error(p, DS_VIDEO_ERR_EMPTY);
    path_in(p, sizeof p, "bad_frames");
    mkdir(p, 0755);
    char jp[800];
    snprintf(jp, sizeof jp, "%s/00001.jpg", p);
    write_bytes(jp, junk, 100);
    {
        char err[512] = "";
        ds_video_t *v = NULL;
        assert_int_equal(ds_video_open(p, 3.0, &v, err, sizeof err), DS_VIDEO_ERR_FORMAT);
        assert_non_null(strstr(err, "00001.jpg"));
    }
    /* NULL / empty path */
    char err[128];
    ds_video_t *v = NULL;
    assert_int_equal(ds_video_open("", 0, &v, err, sizeof err), DS_VIDEO_ERR_ARG);
    assert_int_equal(ds_video_open(NULL, 0, &v, err, sizeof err), DS_VIDEO_ERR_ARG);
    assert_string_equal(ds_video_status_str(DS_VIDEO_ERR_TRUNCATED), "truncated");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_match_numpy),
        cmocka_unit_test(test_open_info),
        cmocka_unit_test(test_exact_linspace),
        cmocka_unit_test(test_every_frame_exact),
        cmocka_unit_test(test_clip_and_centred),
        cmocka_unit_test(test_keyframe_mode),
        cmocka_unit_test(test_parallel_equals_serial),
        cmocka_unit_test(test_mpeg4),
        cmocka_unit_test(test_frame_folder),
        cmocka_unit_test(test_container_mkv_copy),
        cmocka_unit_test(test_container_ts_copy),
        cmocka_unit_test(test_container_vp8),
        cmocka_unit_test(test_container_vp9),
        cmocka_unit_test(test_container_mpeg4),
        cmocka_unit_test(test_container_mjpeg),
        cmocka_unit_test(test_container_mpeg4_bframes),
        cmocka_unit_test(test_container_h264_open_gop),
        cmocka_unit_test(test_rgb_matches_ffmpeg_graph),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
