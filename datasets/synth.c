/* synth.c - the synthetic benchmark: a handful of short videos written with libavcodec and a
 * manifest in the official MVBench record format, so the real MVBench adapter can read it.
 *
 * Layout (MVBench main-branch names, so `tango-bench samples mvbench --manifest DIR/json
 * --videos DIR/videos` resolves every video through the adapter's own task table):
 *   DIR/json/moving_attribute.json  + DIR/videos/clevrer/video_validation/synth_NN.mp4
 *   DIR/json/scene_transition.json  + DIR/videos/scene_qa/video/synth_NN.mp4
 * Each record is {"video": "synth_NN.mp4", "question": ..., "candidates": [...], "answer": ...}
 * with the answer equal to one candidate's text, as MVBench stores it.
 *
 * Content: a flat background, one static square (top half) and one square moving on a bouncing
 * path (bottom half, so the two never overlap).
 * moving_attribute videos ask the colour of the moving square and of the static square;
 * scene_transition videos contain 0..3 hard cuts (background colour and static square
 * position change at once) and ask how many cuts there are and the final background colour.
 * Everything derives from the seed through splitmix64; no clock, no global state.
 *
 * The salient suite (video.h) asks four questions per video that need particular frames and
 * regions: the direction of a moving square, the colour and the place of a circle shown during one
 * of 8 shots, and the number of flashes of a small corner lamp. It trains and evaluates the demo
 * model (models/demo-tiny-ov/).
 */
#include "datasets/ds_internal.h"
#include "datasets/video.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "common/rng.h"

ds_synth_params ds_synth_default_params(void) {
    ds_synth_params p;
    memset(&p, 0, sizeof p);
    p.seed = 1;
    p.n_videos = 8;
    p.width = 160;
    p.height = 120;
    p.fps = 25;
    p.n_video_frames = 200;
    p.codec = "auto";
    return p;
}

static int rnd(uint64_t *s, int n) { return (int)(tb_splitmix64(s) % (uint64_t)n); }

typedef struct {
    const char *name;
    uint8_t r, g, b;
} colour;

/* Object colours (saturated) and background colours (dark / muted): never confusable. */
static const colour obj_colours[] = {
    {"red", 220, 30, 30},   {"green", 40, 190, 50},   {"blue", 40, 70, 230},   {"yellow", 235, 215, 40},
    {"purple", 160, 60, 200}, {"orange", 245, 135, 20}, {"white", 245, 245, 245}, {"cyan", 40, 210, 220},
};
#define N_OBJ (int)(sizeof obj_colours / sizeof obj_colours[0])
static const colour bg_colours[] = {
    {"black", 10, 10, 10}, {"grey", 110, 110, 110}, {"dark blue", 15, 20, 90}, {"brown", 95, 60, 25},
    {"dark green", 20, 70, 25},
};
#define N_BG (int)(sizeof bg_colours / sizeof bg_colours[0])

static void fill_rect(uint8_t *rgb, int W, int H, int x0, int y0, int w, int h, const colour *c) {
    for (int y = y0 < 0 ? 0 : y0; y < y0 + h && y < H; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x0 + w && x < W; x++) {
            uint8_t *p = rgb + ((size_t)y * (size_t)W + (size_t)x) * 3;
            p[0] = c->r;
            p[1] = c->g;
            p[2] = c->b;
        }
}

static int mkdir_p(const char *path) {
    char buf[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* Shuffles candidate texts (Fisher-Yates) and returns the answer's text. */
static void shuffle(const char **c, int n, uint64_t *s) {
    for (int i = n - 1; i > 0; i--) {
        int j = rnd(s, i + 1);
        const char *t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
}

static cJSON *record(const char *video, const char *question, const char **cands, int n, const char *answer) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "video", video);
    cJSON_AddStringToObject(o, "question", question);
    cJSON *a = cJSON_AddArrayToObject(o, "candidates");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(cands[i]));
    cJSON_AddStringToObject(o, "answer", answer);
    return o;
}

/* Distinct picks from [0, n) avoiding `avoid` (may be -1), written to out[0..k-1]. */
static void pick_distinct(uint64_t *s, int n, int k, int avoid, int *out) {
    int m = 0;
    while (m < k) {
        int c = rnd(s, n);
        int dup = c == avoid;
        for (int i = 0; i < m; i++) dup |= out[i] == c;
        if (!dup) out[m++] = c;
    }
}

static int write_json(const char *path, cJSON *arr, char *err, size_t err_len) {
    char *text = cJSON_Print(arr);
    if (!text) {
        ds_set_err(err, err_len, "%s: out of memory", path);
        return DS_VIDEO_ERR_NOMEM;
    }
    FILE *f = fopen(path, "wb");
    int rc = DS_VIDEO_OK;
    if (!f || fputs(text, f) < 0 || fputc('\n', f) == EOF) rc = DS_VIDEO_ERR_IO;
    if (f && fclose(f) != 0) rc = DS_VIDEO_ERR_IO;
    if (rc) ds_set_err(err, err_len, "%s: cannot write: %s", path, strerror(errno));
    cJSON_free(text);
    return rc;
}

int ds_synth_suite_parse(const char *s, ds_synth_suite *out) {
    if (s && !strcmp(s, "basic")) *out = DS_SYNTH_BASIC;
    else if (s && !strcmp(s, "salient")) *out = DS_SYNTH_SALIENT;
    else return -1;
    return 0;
}

int ds_synth_split_parse(const char *s, ds_synth_split *out) {
    if (s && !strcmp(s, "test")) *out = DS_SYNTH_TEST;
    else if (s && !strcmp(s, "train")) *out = DS_SYNTH_TRAIN;
    else return -1;
    return 0;
}

/* =============================================================================================
 * The salient suite (video.h): questions that need particular frames and regions
 * ============================================================================================= */

#define SAL_SHOTS 8
#define SAL_TASKS 4

static const colour sal_circle[4] = {
    {"red", 220, 30, 30}, {"green", 40, 190, 50}, {"blue", 40, 70, 230}, {"yellow", 235, 215, 40}};
static const colour sal_bg[4] = {
    {"black", 10, 10, 10}, {"brown", 60, 40, 20}, {"dark green", 20, 60, 25}, {"dark purple", 45, 20, 60}};
static const colour sal_white = {"white", 245, 245, 245};
static const colour sal_lamp_off = {"grey", 100, 100, 100};
static const colour sal_lamp_on = {"cyan", 40, 210, 220};

static const char *const sal_task[SAL_TASKS] = {"moving_direction", "moving_attribute", "moving_count",
                                                "object_shuffle"};
static const char *const sal_question[SAL_TASKS] = {
    "Which direction does the white square move?",
    "What colour is the circle that appears only briefly?",
    "How many times does the lamp in the top-left corner light up?",
    "In which part of the picture does the circle appear?",
};
static const char *const sal_cands[SAL_TASKS][4] = {
    {"left", "right", "up", "down"},
    {"red", "green", "blue", "yellow"},
    {"1", "2", "3", "4"},
    {"top left", "top right", "bottom left", "bottom right"},
};

/* Shot of frame k in a video of N frames (8 equal shots, the last one absorbing the remainder). */
static int sal_shot(int64_t k, int N) {
    int s = (int)(k * SAL_SHOTS / N);
    return s < SAL_SHOTS ? s : SAL_SHOTS - 1;
}

static void fill_disc(uint8_t *rgb, int W, int H, double cx, double cy, double r, const colour *c) {
    for (int y = (int)(cy - r) - 1; y <= (int)(cy + r) + 1; y++)
        for (int x = (int)(cx - r) - 1; x <= (int)(cx + r) + 1; x++) {
            if (x < 0 || y < 0 || x >= W || y >= H) continue;
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            if (dx * dx + dy * dy > r * r) continue;
            uint8_t *p = rgb + ((size_t)y * (size_t)W + (size_t)x) * 3;
            p[0] = c->r;
            p[1] = c->g;
            p[2] = c->b;
        }
}

/* One salient video's content: everything its frames and its four answers derive from. */
typedef struct {
    int bg;                 /* sal_bg index */
    int dir;                /* 0 left, 1 right, 2 up, 3 down */
    double x0, y0, x1, y1;  /* the square's top-left corner at the first and last frame */
    int colour;             /* sal_circle index */
    int shot;               /* the circle's shot */
    double cx, cy;          /* circle centre */
    int n_flash;            /* 1..4 */
    int lit[SAL_SHOTS];     /* lamp lit during shot s */
} sal_video;

/* Square position at frame k (linear in time from the first to the last frame). */
static void sal_square_at(const sal_video *v, int64_t k, int N, double *x, double *y) {
    double t = N > 1 ? (double)k / (double)(N - 1) : 0.0;
    *x = v->x0 + (v->x1 - v->x0) * t;
    *y = v->y0 + (v->y1 - v->y0) * t;
}

static void sal_draw(const sal_video *v, int64_t k, int N, int W, int H, uint8_t *rgb) {
    int sq = H / 6, shot = sal_shot(k, N), lamp = H / 10, m = H / 30;
    fill_rect(rgb, W, H, 0, 0, W, H, &sal_bg[v->bg]);
    fill_rect(rgb, W, H, m, m, lamp, lamp, v->lit[shot] ? &sal_lamp_on : &sal_lamp_off);
    double x, y;
    sal_square_at(v, k, N, &x, &y);
    fill_rect(rgb, W, H, (int)x, (int)y, sq, sq, &sal_white);
    if (shot == v->shot) fill_disc(rgb, W, H, v->cx, v->cy, H / 12.0, &sal_circle[v->colour]);
}

/* Draws one video's content from its stream. The square moves across the picture, clear of the
 * lamp's corner; the circle is placed clear of the lamp and of the square during its shot. */
static void sal_plan(uint64_t *s, int W, int H, int N, sal_video *v) {
    memset(v, 0, sizeof *v);
    int sq = H / 6, keep = H / 5; /* keep-out corner of the lamp */
    double r = H / 12.0;
    v->bg = rnd(s, 4);
    v->dir = rnd(s, 4);
    int span_x = W - sq - keep - 4, span_y = H - sq - keep - 4;
    if (v->dir < 2) { /* horizontal: a row below the lamp */
        v->y0 = v->y1 = keep + rnd(s, span_y > 1 ? span_y : 1);
        v->x0 = 4;
        v->x1 = W - sq - 4;
    } else {
        v->x0 = v->x1 = keep + rnd(s, span_x > 1 ? span_x : 1);
        v->y0 = keep;
        v->y1 = H - sq - 4;
    }
    if (v->dir == 0 || v->dir == 2) { /* left / up: start at the far end */
        double tx = v->x0, ty = v->y0;
        v->x0 = v->x1, v->y0 = v->y1;
        v->x1 = tx, v->y1 = ty;
    }
    v->colour = rnd(s, 4);
    v->shot = rnd(s, SAL_SHOTS);
    /* circle: rejection sampling for a centre clear of the lamp corner and of the square's
     * path during the shot (bounding box of its first and last positions in the shot) */
    int64_t f0 = -1, f1 = -1;
    for (int64_t k = 0; k < N; k++)
        if (sal_shot(k, N) == v->shot) {
            if (f0 < 0) f0 = k;
            f1 = k;
        }
    double ax, ay, bx, by;
    sal_square_at(v, f0, N, &ax, &ay);
    sal_square_at(v, f1, N, &bx, &by);
    double bx0 = (ax < bx ? ax : bx) - r - 2, bx1 = (ax > bx ? ax : bx) + sq + r + 2;
    double by0 = (ay < by ? ay : by) - r - 2, by1 = (ay > by ? ay : by) + sq + r + 2;
    for (int tries = 0; tries < 1000; tries++) {
        v->cx = r + 2 + rnd(s, (int)(W - 2 * r - 4));
        v->cy = r + 2 + rnd(s, (int)(H - 2 * r - 4));
        int in_lamp = v->cx < keep + r && v->cy < keep + r;
        int in_sq = v->cx > bx0 && v->cx < bx1 && v->cy > by0 && v->cy < by1;
        int on_mid = fabs(v->cx - W / 2.0) < r || fabs(v->cy - H / 2.0) < r; /* one clear quadrant */
        if (!in_lamp && !in_sq && !on_mid) break;
    }
    /* lamp: n_flash non-adjacent lit shots, uniform over such subsets (rejection) */
    v->n_flash = 1 + rnd(s, 4);
    for (;;) {
        int pick[SAL_SHOTS] = {0}, ok = 1;
        for (int i = 0; i < v->n_flash; i++) {
            int c;
            do c = rnd(s, SAL_SHOTS);
            while (pick[c]);
            pick[c] = 1;
        }
        for (int i = 0; i + 1 < SAL_SHOTS; i++) ok &= !(pick[i] && pick[i + 1]);
        if (ok) {
            memcpy(v->lit, pick, sizeof pick);
            break;
        }
    }
}

static int copy_file(const char *from, const char *to, char *err, size_t err_len) {
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    int rc = DS_VIDEO_OK;
    char buf[65536];
    size_t n;
    if (!a || !b) rc = DS_VIDEO_ERR_IO;
    while (!rc && (n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n) rc = DS_VIDEO_ERR_IO;
    if (a && ferror(a)) rc = DS_VIDEO_ERR_IO;
    if (a) fclose(a);
    if (b && fclose(b) != 0) rc = DS_VIDEO_ERR_IO;
    if (rc) ds_set_err(err, err_len, "%s: cannot write: %s", to, strerror(errno));
    return rc;
}

static int synth_salient(const char *dir, const ds_synth_params *p, ds_synth_result *res, char *err, size_t err_len) {
    int W = p->width, H = p->height, N = p->n_video_frames;
    if (p->n_videos < 1 || p->n_videos > 4096 || N < 64) {
        ds_set_err(err, err_len, "synth salient: 1..4096 videos and >= 64 frames per video (8 shots)");
        return DS_VIDEO_ERR_ARG;
    }
    /* the k-th of 8 linspace frames must land in shot k, or a question would not be answerable */
    int64_t idx[SAL_SHOTS];
    ds_sample_indices(DS_SAMPLE_LINSPACE, 0, N - 1, SAL_SHOTS, idx);
    for (int k = 0; k < SAL_SHOTS; k++)
        if (sal_shot(idx[k], N) != k) {
            ds_set_err(err, err_len, "synth salient: %d frames puts linspace frame %d outside shot %d", N, k, k);
            return DS_VIDEO_ERR_ARG;
        }
    static const char *dirs[2] = {"clevrer/video_validation", "perception/videos"};
    char path[1200], copy[1200];
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/videos/%s", dir, dirs[t]);
        if (mkdir_p(path)) {
            ds_set_err(err, err_len, "%s: cannot create directory: %s", path, strerror(errno));
            return DS_VIDEO_ERR_IO;
        }
    }
    snprintf(path, sizeof path, "%s/json", dir);
    if (mkdir_p(path)) {
        ds_set_err(err, err_len, "%s: cannot create directory: %s", path, strerror(errno));
        return DS_VIDEO_ERR_IO;
    }
    uint8_t *rgb = malloc((size_t)W * (size_t)H * 3);
    cJSON *arr[SAL_TASKS] = {NULL, NULL, NULL, NULL};
    int rc = DS_VIDEO_OK, ok = rgb != NULL;
    char codec[16] = "";
    for (int t = 0; t < SAL_TASKS; t++) ok &= (arr[t] = cJSON_CreateArray()) != NULL;
    if (!ok) {
        ds_set_err(err, err_len, "synth: out of memory");
        rc = DS_VIDEO_ERR_NOMEM;
        goto out;
    }
    /* the train split's stream is salted so that it never repeats a test video */
    uint64_t seed_state = p->seed ^ (p->split == DS_SYNTH_TRAIN ? 0x747261696e73706cull : 0x7465737473706c74ull);
    const char *prefix = p->split == DS_SYNTH_TRAIN ? "train" : "test";
    for (int vi = 0; vi < p->n_videos && !rc; vi++) {
        uint64_t s = tb_splitmix64(&seed_state);
        sal_video v;
        sal_plan(&s, W, H, N, &v);
        char name[64];
        snprintf(name, sizeof name, "%s_%04d.mp4", prefix, vi);
        snprintf(path, sizeof path, "%s/videos/%s/%s", dir, dirs[0], name);
        ds_vwriter_params wp = ds_vwriter_default_params();
        wp.width = W;
        wp.height = H;
        wp.fps = p->fps;
        wp.gop = p->fps * 2;
        wp.codec = p->codec ? p->codec : "auto";
        ds_vwriter_t *w = NULL;
        if ((rc = ds_vwriter_open(path, &wp, &w, err, err_len))) break;
        snprintf(codec, sizeof codec, "%s", ds_vwriter_codec(w));
        for (int k = 0; k < N && !rc; k++) {
            sal_draw(&v, k, N, W, H, rgb);
            rc = ds_vwriter_put_rgb(w, rgb, err, err_len);
        }
        int rc2 = ds_vwriter_close(w, rc ? NULL : err, err_len);
        if (!rc) rc = rc2;
        snprintf(copy, sizeof copy, "%s/videos/%s/%s", dir, dirs[1], name);
        if (!rc) rc = copy_file(path, copy, err, err_len);
        if (rc) break;
        int gold[SAL_TASKS] = {v.dir, v.colour, v.n_flash - 1, (v.cy >= H / 2.0) * 2 + (v.cx >= W / 2.0)};
        for (int t = 0; t < SAL_TASKS; t++)
            cJSON_AddItemToArray(arr[t], record(name, sal_question[t], (const char **)sal_cands[t], 4,
                                                sal_cands[t][gold[t]]));
    }
    for (int t = 0; t < SAL_TASKS && !rc; t++) {
        snprintf(path, sizeof path, "%s/json/%s.json", dir, sal_task[t]);
        rc = write_json(path, arr[t], err, err_len);
    }
    if (!rc && res) {
        res->n_videos = p->n_videos;
        res->n_questions = SAL_TASKS * p->n_videos;
        res->n_tasks = SAL_TASKS;
        for (int t = 0; t < SAL_TASKS; t++) {
            snprintf(res->task_json[t], sizeof res->task_json[t], "%s.json", sal_task[t]);
            snprintf(res->task_dir[t], sizeof res->task_dir[t], "%s", dirs[t == 3]);
            res->task_questions[t] = p->n_videos;
        }
        snprintf(res->codec, sizeof res->codec, "%s", codec);
    }
out:
    free(rgb);
    for (int t = 0; t < SAL_TASKS; t++) cJSON_Delete(arr[t]);
    return rc;
}

int ds_synth_write(const char *dir, const ds_synth_params *p, ds_synth_result *res, char *err, size_t err_len) {
    if (res) memset(res, 0, sizeof *res);
    if (dir && *dir && p && p->suite == DS_SYNTH_SALIENT && p->width >= 64 && p->height >= 64 && !(p->width & 1) &&
        !(p->height & 1) && p->width <= 4096 && p->height <= 4096 && p->fps >= 1 && p->fps <= 240)
        return synth_salient(dir, p, res, err, err_len);
    if (p && p->suite == DS_SYNTH_BASIC && p->split != DS_SYNTH_TEST) {
        ds_set_err(err, err_len, "synth: the basic suite has no train split");
        return DS_VIDEO_ERR_ARG;
    }
    if (!dir || !p || p->suite != DS_SYNTH_BASIC || !*dir || !p || p->n_videos < 2 || p->n_videos > 64 || p->width < 64 || p->height < 64 ||
        (p->width & 1) || (p->height & 1) || p->width > 4096 || p->height > 4096 || p->fps < 1 || p->fps > 240 ||
        p->n_video_frames < 20 || p->n_video_frames > 100000) {
        ds_set_err(err, err_len, "synth: bad parameters (2..64 videos, even size 64..4096, fps 1..240, >= 20 frames)");
        return DS_VIDEO_ERR_ARG;
    }
    static const char *task_name[2] = {"moving_attribute", "scene_transition"};
    static const char *task_dir[2] = {"clevrer/video_validation", "scene_qa/video"};
    char path[1200];
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/videos/%s", dir, task_dir[t]);
        if (mkdir_p(path)) {
            ds_set_err(err, err_len, "%s: cannot create directory: %s", path, strerror(errno));
            return DS_VIDEO_ERR_IO;
        }
    }
    snprintf(path, sizeof path, "%s/json", dir);
    if (mkdir_p(path)) {
        ds_set_err(err, err_len, "%s: cannot create directory: %s", path, strerror(errno));
        return DS_VIDEO_ERR_IO;
    }
    int W = p->width, H = p->height, N = p->n_video_frames;
    uint8_t *rgb = malloc((size_t)W * (size_t)H * 3);
    cJSON *arr[2] = {cJSON_CreateArray(), cJSON_CreateArray()};
    int rc = DS_VIDEO_OK, n_q[2] = {0, 0};
    char codec[16] = "";
    if (!rgb || !arr[0] || !arr[1]) {
        ds_set_err(err, err_len, "synth: out of memory");
        rc = DS_VIDEO_ERR_NOMEM;
        goto out;
    }
    uint64_t seed_state = p->seed;
    int sq = H / 5; /* square side */
    for (int vi = 0; vi < p->n_videos && !rc; vi++) {
        int t = vi % 2;
        uint64_t s = tb_splitmix64(&seed_state); /* per-video stream */
        char name[64];
        snprintf(name, sizeof name, "synth_%02d.mp4", vi);
        snprintf(path, sizeof path, "%s/videos/%s/%s", dir, task_dir[t], name);
        int objs[2];
        pick_distinct(&s, N_OBJ, 2, -1, objs); /* [0] moving, [1] static */
        int n_cuts = t == 1 ? rnd(&s, 4) : 0;
        int cut_at[3] = {0, 0, 0}, bg[4];
        /* cuts at distinct frames, at least 15 frames apart, away from both ends */
        int seg = N / (n_cuts + 1);
        for (int c = 0; c < n_cuts; c++) cut_at[c] = seg * (c + 1) + rnd(&s, seg / 3 + 1) - seg / 6;
        bg[0] = rnd(&s, N_BG);
        for (int c = 1; c <= n_cuts; c++) bg[c] = (bg[c - 1] + 1 + rnd(&s, N_BG - 1)) % N_BG;
        int sx[4], sy[4];
        for (int c = 0; c <= n_cuts; c++) {
            sx[c] = rnd(&s, W - sq);
            sy[c] = rnd(&s, H / 2 - sq); /* top half: never overlaps the moving square */
        }
        /* bouncing motion */
        int ylo = H / 2, yhi = H - sq; /* the moving square stays in the bottom half */
        double x = rnd(&s, W - sq), y = ylo + rnd(&s, yhi - ylo);
        double vx = 1.5 + rnd(&s, 20) / 10.0, vy = 1.0 + rnd(&s, 15) / 10.0;
        if (rnd(&s, 2)) vx = -vx;
        if (rnd(&s, 2)) vy = -vy;
        ds_vwriter_params wp = ds_vwriter_default_params();
        wp.width = W;
        wp.height = H;
        wp.fps = p->fps;
        wp.gop = p->fps * 2;
        wp.codec = p->codec ? p->codec : "auto";
        ds_vwriter_t *w = NULL;
        rc = ds_vwriter_open(path, &wp, &w, err, err_len);
        if (rc) break;
        snprintf(codec, sizeof codec, "%s", ds_vwriter_codec(w));
        for (int k = 0; k < N && !rc; k++) {
            int scene = 0;
            for (int c = 0; c < n_cuts; c++) scene += k >= cut_at[c];
            fill_rect(rgb, W, H, 0, 0, W, H, &bg_colours[bg[scene]]);
            fill_rect(rgb, W, H, sx[scene], sy[scene], sq, sq, &obj_colours[objs[1]]);
            fill_rect(rgb, W, H, (int)x, (int)y, sq, sq, &obj_colours[objs[0]]);
            rc = ds_vwriter_put_rgb(w, rgb, err, err_len);
            x += vx;
            y += vy;
            if (x < 0) x = -x, vx = -vx;
            if (y < ylo) y = 2.0 * ylo - y, vy = -vy;
            if (x > W - sq) x = 2.0 * (W - sq) - x, vx = -vx;
            if (y > yhi) y = 2.0 * yhi - y, vy = -vy;
        }
        int rc2 = ds_vwriter_close(w, rc ? NULL : err, err_len);
        if (!rc) rc = rc2;
        if (rc) break;
        const char *cands[4];
        int others[3];
        if (t == 0) {
            /* colour of the moving square: answer + 3 other object colours (not the static one) */
            int avoid_pair[2] = {objs[0], objs[1]};
            int m = 0;
            while (m < 3) {
                int c = rnd(&s, N_OBJ);
                int dup = c == avoid_pair[0] || c == avoid_pair[1];
                for (int i = 0; i < m; i++) dup |= others[i] == c;
                if (!dup) others[m++] = c;
            }
            cands[0] = obj_colours[objs[0]].name;
            for (int i = 0; i < 3; i++) cands[i + 1] = obj_colours[others[i]].name;
            shuffle(cands, 4, &s);
            cJSON_AddItemToArray(arr[0], record(name, "What colour is the square that moves across the video?", cands, 4,
                                                obj_colours[objs[0]].name));
            /* colour of the static square: 3 candidates including the moving one as distractor */
            pick_distinct(&s, N_OBJ, 1, objs[1], others);
            while (others[0] == objs[0]) pick_distinct(&s, N_OBJ, 1, objs[1], others);
            cands[0] = obj_colours[objs[1]].name;
            cands[1] = obj_colours[objs[0]].name;
            cands[2] = obj_colours[others[0]].name;
            shuffle(cands, 3, &s);
            cJSON_AddItemToArray(arr[0], record(name, "What colour is the square that does not move?", cands, 3,
                                                obj_colours[objs[1]].name));
            n_q[0] += 2;
        } else {
            static const char *counts[4] = {"0", "1", "2", "3"};
            for (int i = 0; i < 4; i++) cands[i] = counts[i];
            shuffle(cands, 4, &s);
            cJSON_AddItemToArray(arr[1], record(name, "How many scene cuts (abrupt changes of the whole picture) does the video contain?",
                                                cands, 4, counts[n_cuts]));
            int final_bg = bg[n_cuts];
            int ob[3];
            pick_distinct(&s, N_BG, 3, final_bg, ob);
            cands[0] = bg_colours[final_bg].name;
            for (int i = 0; i < 3; i++) cands[i + 1] = bg_colours[ob[i]].name;
            shuffle(cands, 4, &s);
            cJSON_AddItemToArray(arr[1], record(name, "What is the background colour at the end of the video?", cands, 4,
                                                bg_colours[final_bg].name));
            n_q[1] += 2;
        }
    }
    if (rc) goto out;
    for (int t = 0; t < 2 && !rc; t++) {
        snprintf(path, sizeof path, "%s/json/%s.json", dir, task_name[t]);
        rc = write_json(path, arr[t], err, err_len);
    }
    if (!rc && res) {
        res->n_videos = p->n_videos;
        res->n_questions = n_q[0] + n_q[1];
        res->n_tasks = 2;
        for (int t = 0; t < 2; t++) {
            snprintf(res->task_json[t], sizeof res->task_json[t], "%s.json", task_name[t]);
            snprintf(res->task_dir[t], sizeof res->task_dir[t], "%s", task_dir[t]);
            res->task_questions[t] = n_q[t];
        }
        snprintf(res->codec, sizeof res->codec, "%s", codec);
    }
out:
    free(rgb);
    cJSON_Delete(arr[0]);
    cJSON_Delete(arr[1]);
    return rc;
}
