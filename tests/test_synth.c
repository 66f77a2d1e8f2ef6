/* test_synth.c - the synthetic benchmark: layout and MVBench record format, determinism from the
 * seed, questions answerable from the pixels (cut count from frame differences, moving vs
 * static square from colour centroids), the `synth` and `frames` commands end to end, and the
 * MVBench adapter reading what synth wrote (`tango-bench samples mvbench`); the salient suite:
 * every question answered from the 8 frames the harness samples, splits, determinism.
 */
#include "tests/tb_test.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <time.h>

#include "datasets/video.h"

static char g_dir[1024];
static char g_dir2[1100];

static int setup_all(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s", tb_test_dir("test_synth"));
    snprintf(g_dir2, sizeof g_dir2, "%s/again", g_dir);
    return 0;
}

static int teardown_all(void **state) {
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_write_and_format(void **state) {
    (void)state;
    char err[512];
    ds_synth_params p = ds_synth_default_params();
    ds_synth_result r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = ds_synth_write(g_dir, &p, &r, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) fail_msg("%s", err);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    print_message("synth: %d videos, %d questions, codec %s, %.2f s\n", r.n_videos, r.n_questions, r.codec, dt);
    assert_true(dt < 10.0);
    assert_int_equal(r.n_videos, 8);
    assert_int_equal(r.n_questions, 16);
    assert_int_equal(r.n_tasks, 2);
    assert_string_equal(r.task_json[0], "moving_attribute.json");
    assert_string_equal(r.task_json[1], "scene_transition.json");
    assert_string_equal(r.codec, ds_have_libx264() ? "libx264" : "mpeg4");
    int total = 0;
    for (int t = 0; t < 2; t++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/json/%s", g_dir, r.task_json[t]);
        char *text = tb_slurp(path, NULL);
        assert_non_null(text);
        cJSON *arr = cJSON_Parse(text);
        assert_non_null(arr);
        assert_true(cJSON_IsArray(arr));
        cJSON *rec;
        cJSON_ArrayForEach(rec, arr) {
            cJSON *video = cJSON_GetObjectItemCaseSensitive(rec, "video");
            cJSON *q = cJSON_GetObjectItemCaseSensitive(rec, "question");
            cJSON *c = cJSON_GetObjectItemCaseSensitive(rec, "candidates");
            cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "answer");
            assert_true(cJSON_IsString(video) && cJSON_IsString(q) && cJSON_IsArray(c) && cJSON_IsString(a));
            int nc = cJSON_GetArraySize(c), hits = 0;
            assert_true(nc >= 3 && nc <= 4);
            cJSON *ci;
            cJSON_ArrayForEach(ci, c) hits += !strcmp(ci->valuestring, a->valuestring);
            assert_int_equal(hits, 1); /* the answer is exactly one candidate's text */
            snprintf(path, sizeof path, "%s/videos/%s/%s", g_dir, r.task_dir[t], video->valuestring);
            ds_video_t *v = NULL;
            if (ds_video_open(path, 0, &v, err, sizeof err)) fail_msg("%s", err);
            ds_video_info in;
            ds_video_get_info(v, &in);
            assert_int_equal(in.n_frames, p.n_video_frames);
            assert_int_equal(in.width, p.width);
            ds_video_free(v);
            total++;
        }
        cJSON_Delete(arr);
        free(text);
    }
    assert_int_equal(total, 16);
}

static void test_deterministic(void **state) {
    (void)state;
    char err[512];
    ds_synth_params p = ds_synth_default_params();
    p.n_videos = 2;
    p.n_video_frames = 40;
    char d1[1200], d2[1200];
    snprintf(d1, sizeof d1, "%s/a", g_dir2);
    snprintf(d2, sizeof d2, "%s/b", g_dir2);
    assert_int_equal(ds_synth_write(d1, &p, NULL, err, sizeof err), 0);
    assert_int_equal(ds_synth_write(d2, &p, NULL, err, sizeof err), 0);
    const char *files[] = {"json/moving_attribute.json", "json/scene_transition.json",
                           "videos/clevrer/video_validation/synth_00.mp4", "videos/scene_qa/video/synth_01.mp4"};
    for (size_t i = 0; i < 4; i++) {
        char a[1400], b[1400];
        snprintf(a, sizeof a, "%s/%s", d1, files[i]);
        snprintf(b, sizeof b, "%s/%s", d2, files[i]);
        size_t na, nb;
        char *ta = tb_slurp(a, &na), *tb = tb_slurp(b, &nb);
        assert_non_null(ta);
        assert_non_null(tb);
        assert_int_equal(na, nb);
        assert_memory_equal(ta, tb, na);
        free(ta);
        free(tb);
    }
    /* another seed gives other content */
    char d3[1200];
    snprintf(d3, sizeof d3, "%s/c", g_dir2);
    p.seed = 99;
    assert_int_equal(ds_synth_write(d3, &p, NULL, err, sizeof err), 0);
    char a[1400], c[1400];
    snprintf(a, sizeof a, "%s/json/moving_attribute.json", d1);
    snprintf(c, sizeof c, "%s/json/moving_attribute.json", d3);
    char *ta = tb_slurp(a, NULL), *tc = tb_slurp(c, NULL);
    assert_true(strcmp(ta, tc) != 0);
    free(ta);
    free(tc);
    /* bad parameters */
    p.n_videos = 0;
    assert_int_equal(ds_synth_write(d3, &p, NULL, err, sizeof err), DS_VIDEO_ERR_ARG);
}

/* All frames of a video as RGB at native size. */
static ds_frames all_frames(const char *path) {
    char err[512];
    ds_video_t *v = NULL;
    if (ds_video_open(path, 0, &v, err, sizeof err)) fail_msg("%s", err);
    ds_video_info in;
    ds_video_get_info(v, &in);
    ds_video_params p = ds_video_default_params();
    p.n_frames = (int)in.n_frames;
    p.size = 0;
    p.keep_rgb = 1;
    ds_frames f;
    if (ds_video_sample(v, &p, &f, err, sizeof err)) fail_msg("%s", err);
    ds_video_free(v);
    return f;
}

/* Colour name -> RGB as synth draws it (kept in step with datasets/synth.c). */
static int colour_rgb(const char *name, int rgb[3]) {
    static const struct { const char *n; int r, g, b; } t[] = {
        {"red", 220, 30, 30},     {"green", 40, 190, 50},   {"blue", 40, 70, 230},     {"yellow", 235, 215, 40},
        {"purple", 160, 60, 200}, {"orange", 245, 135, 20}, {"white", 245, 245, 245},  {"cyan", 40, 210, 220},
        {"black", 10, 10, 10},    {"grey", 110, 110, 110},  {"dark blue", 15, 20, 90}, {"brown", 95, 60, 25},
        {"dark green", 20, 70, 25}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(t[i].n, name)) {
            rgb[0] = t[i].r, rgb[1] = t[i].g, rgb[2] = t[i].b;
            return 0;
        }
    return -1;
}

/* Centroid of pixels within 40 of colour c; returns the pixel count. */
static int centroid(const uint8_t *rgb, int w, int h, const int c[3], double *cx, double *cy) {
    int n = 0;
    double sx = 0, sy = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;
            if (abs(p[0] - c[0]) + abs(p[1] - c[1]) + abs(p[2] - c[2]) < 40) {
                n++;
                sx += x;
                sy += y;
            }
        }
    *cx = n ? sx / n : 0;
    *cy = n ? sy / n : 0;
    return n;
}

static void test_answerable_from_pixels(void **state) {
    (void)state;
    /* uses the benchmark written by test_write_and_format */
    for (int t = 0; t < 2; t++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/json/%s", g_dir, t ? "scene_transition.json" : "moving_attribute.json");
        char *text = tb_slurp(path, NULL);
        assert_non_null(text);
        cJSON *arr = cJSON_Parse(text), *rec;
        cJSON_ArrayForEach(rec, arr) {
            const char *video = cJSON_GetObjectItemCaseSensitive(rec, "video")->valuestring;
            const char *q = cJSON_GetObjectItemCaseSensitive(rec, "question")->valuestring;
            const char *ans = cJSON_GetObjectItemCaseSensitive(rec, "answer")->valuestring;
            snprintf(path, sizeof path, "%s/videos/%s/%s", g_dir, t ? "scene_qa/video" : "clevrer/video_validation",
                     video);
            ds_frames f = all_frames(path);
            size_t fsz = (size_t)f.width * (size_t)f.height * 3;
            if (strstr(q, "How many scene cuts")) {
                int cuts = 0;
                for (int k = 1; k < f.n; k++) {
                    /* a cut changes the background everywhere: mean abs difference of corners */
                    const uint8_t *a = f.rgb + (size_t)(k - 1) * fsz, *b = f.rgb + (size_t)k * fsz;
                    long d = 0, m = 0;
                    for (size_t i = 0; i < fsz; i += 3 * 7) {
                        d += abs(a[i] - b[i]) + abs(a[i + 1] - b[i + 1]) + abs(a[i + 2] - b[i + 2]);
                        m++;
                    }
                    if (d / m > 25) cuts++;
                }
                assert_int_equal(cuts, (int)strtol(ans, NULL, 10));
            } else if (strstr(q, "background colour at the end")) {
                int c[3];
                assert_int_equal(colour_rgb(ans, c), 0);
                const uint8_t *last = f.rgb + (size_t)(f.n - 1) * fsz;
                double cx, cy;
                assert_true(centroid(last, f.width, f.height, c, &cx, &cy) > f.width * f.height / 3);
            } else {
                int c[3];
                assert_int_equal(colour_rgb(ans, c), 0);
                double x0, y0, x1, y1;
                const uint8_t *first = f.rgb, *later = f.rgb + (size_t)(f.n / 2) * fsz;
                assert_true(centroid(first, f.width, f.height, c, &x0, &y0) > 100);
                assert_true(centroid(later, f.width, f.height, c, &x1, &y1) > 100);
                double moved = hypot(x1 - x0, y1 - y0);
                if (strstr(q, "does not move")) assert_true(moved < 2.0);
                else assert_true(moved > 5.0);
            }
            ds_frames_free(&f);
        }
        cJSON_Delete(arr);
        free(text);
    }
}

static void test_cli_synth_frames_samples(void **state) {
    (void)state;
    char cmd[4096], out[16384], dir[1200];
    snprintf(dir, sizeof dir, "%s/cli", g_dir);
    snprintf(cmd, sizeof cmd, "%s synth '%s' --videos 2 --frames 60", tb_test_bin(), dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) fail_msg("synth failed: %s", out);
    assert_non_null(strstr(out, "moving_attribute.json"));
    assert_non_null(strstr(out, "4 questions"));
    /* the MVBench adapter reads the manifest and resolves the videos */
    snprintf(cmd, sizeof cmd, "%s samples mvbench --manifest '%s/json' --videos '%s/videos' --json", tb_test_bin(), dir,
             dir);
    rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) fail_msg("samples failed: %s", out);
    assert_non_null(strstr(out, "synth_00.mp4"));
    assert_non_null(strstr(out, "synth_01.mp4"));
    /* frames: 6 frames of a 2 s clip at 48 px */
    snprintf(cmd, sizeof cmd,
             "%s frames '%s/videos/clevrer/video_validation/synth_00.mp4' --n 6 --start 0.4 --end 2 --size 48 "
             "--out '%s/f.npy'",
             tb_test_bin(), dir, dir);
    rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) fail_msg("frames failed: %s", out);
    assert_non_null(strstr(out, "indices: 10,18,26,34,42,50"));
    assert_non_null(strstr(out, "timestamps: 0.40s,0.72s,1.04s,1.36s,1.68s,2.00s"));
    assert_non_null(strstr(out, "(6, 3, 48, 48)"));
    char npy[1300];
    snprintf(npy, sizeof npy, "%s/f.npy", dir);
    size_t n = 0;
    char *b = tb_slurp(npy, &n);
    assert_non_null(b);
    assert_int_equal(n, 128 + (size_t)6 * 3 * 48 * 48 * 4); /* npy v1 header + float32 data */
    free(b);
    /* bad inputs: one line naming the file, exit 1; usage errors exit 2 */
    snprintf(cmd, sizeof cmd, "%s frames '%s/nope.mp4' --out '%s/x.npy'", tb_test_bin(), dir, dir);
    rc = tb_test_run(cmd, out, sizeof out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "nope.mp4"));
    snprintf(cmd, sizeof cmd, "%s frames '%s/videos/clevrer/video_validation/synth_00.mp4' --start 1 --out x.npy",
             tb_test_bin(), dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s frames '%s/videos/clevrer/video_validation/synth_00.mp4' --seek fast --out x.npy",
             tb_test_bin(), dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s synth '%s/x' --width 101", tb_test_bin(), dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
}

/* ---- the salient suite ---------------------------------------------------------------------- */

/* The record of `video` in DIR/json/TASK.json: the index of its answer among the candidates. */
static int gold_index(const char *dir, const char *task, const char *video) {
    char path[1400];
    snprintf(path, sizeof path, "%s/json/%s.json", dir, task);
    char *text = tb_slurp(path, NULL);
    assert_non_null(text);
    cJSON *arr = cJSON_Parse(text), *rec;
    int gold = -1;
    cJSON_ArrayForEach(rec, arr) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(rec, "video")->valuestring, video)) continue;
        const char *ans = cJSON_GetObjectItemCaseSensitive(rec, "answer")->valuestring;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(rec, "candidates");
        assert_int_equal(cJSON_GetArraySize(c), 4);
        for (int i = 0; i < 4; i++)
            if (!strcmp(cJSON_GetArrayItem(c, i)->valuestring, ans)) gold = i;
    }
    cJSON_Delete(arr);
    free(text);
    assert_true(gold >= 0);
    return gold;
}

/* Every question of the salient suite is answerable from the 8 linspace frames the harness
 * samples, read at native size: the lamp's lit frames, the one frame with a circle (its colour
 * and quadrant), the white square's displacement between the first and the last frame. */
static void test_salient_answerable(void **state) {
    (void)state;
    char err[512], dir[1200];
    snprintf(dir, sizeof dir, "%s/salient", g_dir);
    ds_synth_params p = ds_synth_default_params();
    p.suite = DS_SYNTH_SALIENT;
    p.n_videos = 12;
    ds_synth_result r;
    if (ds_synth_write(dir, &p, &r, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(r.n_tasks, 4);
    assert_int_equal(r.n_questions, 48);
    static const int circle[4][3] = {{220, 30, 30}, {40, 190, 50}, {40, 70, 230}, {235, 215, 40}};
    static const int white[3] = {245, 245, 245}, lamp_on[3] = {40, 210, 220};
    int seen_gold[4][4] = {{0}};
    for (int vi = 0; vi < p.n_videos; vi++) {
        char name[64], path[1400];
        snprintf(name, sizeof name, "test_%04d.mp4", vi);
        snprintf(path, sizeof path, "%s/videos/clevrer/video_validation/%s", dir, name);
        ds_video_params vp = ds_video_default_params();
        vp.n_frames = 8;
        vp.size = 0;
        vp.keep_rgb = 1;
        ds_frames f;
        if (ds_video_sample_path(path, 0, &vp, &f, NULL, err, sizeof err)) fail_msg("%s", err);
        size_t fsz = (size_t)f.width * (size_t)f.height * 3;
        int lit = 0, circle_frame = -1, circle_colour = -1, circle_quadrant = -1;
        double wx[8], wy[8];
        for (int k = 0; k < 8; k++) {
            const uint8_t *img = f.rgb + (size_t)k * fsz;
            double cx, cy;
            lit += centroid(img, f.width, f.height, lamp_on, &cx, &cy) > 40;
            assert_true(centroid(img, f.width, f.height, white, &wx[k], &wy[k]) > 200);
            for (int c = 0; c < 4; c++)
                if (centroid(img, f.width, f.height, circle[c], &cx, &cy) > 80) {
                    assert_int_equal(circle_frame, -1); /* one frame, one colour */
                    circle_frame = k;
                    circle_colour = c;
                    circle_quadrant = (cy + 0.5 >= f.height / 2.0) * 2 + (cx + 0.5 >= f.width / 2.0);
                }
        }
        double dx = wx[7] - wx[0], dy = wy[7] - wy[0];
        int dir_seen = fabs(dx) > fabs(dy) ? (dx < 0 ? 0 : 1) : (dy < 0 ? 2 : 3);
        int gold[4] = {gold_index(dir, "moving_direction", name), gold_index(dir, "moving_attribute", name),
                       gold_index(dir, "moving_count", name), gold_index(dir, "object_shuffle", name)};
        assert_int_equal(dir_seen, gold[0]);
        assert_int_equal(circle_colour, gold[1]);
        assert_int_equal(lit, gold[2] + 1);
        assert_true(circle_frame >= 0);
        assert_int_equal(circle_quadrant, gold[3]);
        for (int t = 0; t < 4; t++) seen_gold[t][gold[t]]++;
        /* the object_shuffle copy is the same file */
        char copy[1400];
        snprintf(copy, sizeof copy, "%s/videos/perception/videos/%s", dir, name);
        size_t na, nb;
        char *a = tb_slurp(path, &na), *b = tb_slurp(copy, &nb);
        assert_non_null(b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        free(a);
        free(b);
        ds_frames_free(&f);
    }
    for (int t = 0; t < 4; t++) { /* 12 videos: every task uses at least 3 of its 4 answers */
        int used = 0;
        for (int g = 0; g < 4; g++) used += seen_gold[t][g] > 0;
        assert_true(used >= 3);
    }
}

/* The salient suite is deterministic; the train split never repeats the test split; bad sizes
 * are refused with a message. */
static void test_salient_splits(void **state) {
    (void)state;
    char err[512], a[1200], b[1200], c[1200];
    snprintf(a, sizeof a, "%s/sal-a", g_dir2);
    snprintf(b, sizeof b, "%s/sal-b", g_dir2);
    snprintf(c, sizeof c, "%s/sal-train", g_dir2);
    ds_synth_params p = ds_synth_default_params();
    p.suite = DS_SYNTH_SALIENT;
    p.n_videos = 3;
    p.n_video_frames = 64;
    assert_int_equal(ds_synth_write(a, &p, NULL, err, sizeof err), 0);
    assert_int_equal(ds_synth_write(b, &p, NULL, err, sizeof err), 0);
    p.split = DS_SYNTH_TRAIN;
    assert_int_equal(ds_synth_write(c, &p, NULL, err, sizeof err), 0);
    char pa[1400], pb[1400], pc[1400];
    snprintf(pa, sizeof pa, "%s/videos/clevrer/video_validation/test_0002.mp4", a);
    snprintf(pb, sizeof pb, "%s/videos/clevrer/video_validation/test_0002.mp4", b);
    snprintf(pc, sizeof pc, "%s/videos/clevrer/video_validation/train_0002.mp4", c);
    size_t na, nb, nc;
    char *ta = tb_slurp(pa, &na), *tb = tb_slurp(pb, &nb), *tc = tb_slurp(pc, &nc);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_non_null(tc);
    assert_int_equal(na, nb);
    assert_memory_equal(ta, tb, na);
    assert_true(na != nc || memcmp(ta, tc, na) != 0);
    free(ta);
    free(tb);
    free(tc);
    p.n_video_frames = 40; /* fewer than 8 shots of 8 frames */
    assert_int_equal(ds_synth_write(c, &p, NULL, err, sizeof err), DS_VIDEO_ERR_ARG);
    assert_non_null(strstr(err, "64 frames"));
    ds_synth_suite su;
    ds_synth_split sp;
    assert_int_equal(ds_synth_suite_parse("salient", &su), 0);
    assert_int_equal(su, DS_SYNTH_SALIENT);
    assert_int_equal(ds_synth_suite_parse("fancy", &su), -1);
    assert_int_equal(ds_synth_split_parse("train", &sp), 0);
    assert_int_equal(ds_synth_split_parse("dev", &sp), -1);
    /* the basic suite has no train split */
    p.suite = DS_SYNTH_BASIC;
    p.n_video_frames = 40;
    assert_int_equal(ds_synth_write(c, &p, NULL, err, sizeof err), DS_VIDEO_ERR_ARG);
    /* the CLI: usage errors exit 2 */
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof cmd, "%s synth '%s/x' --suite fancy", tb_test_bin(), g_dir2);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s synth '%s/x' --split train", tb_test_bin(), g_dir2);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s synth '%s/x' --suite salient --videos 1 --frames 64", tb_test_bin(), g_dir2);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fail_msg("synth --suite salient failed: %s", out);
    assert_non_null(strstr(out, "object_shuffle.json: 1 questions"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_format),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_answerable_from_pixels),
        cmocka_unit_test(test_salient_answerable),
        cmocka_unit_test(test_salient_splits),
        cmocka_unit_test(test_cli_synth_frames_samples),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
