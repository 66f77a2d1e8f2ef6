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
 */
#include "datasets/ds_internal.h"
#include "datasets/video.h"

#include <cjson/cJSON.h>
#include <errno.h>
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

int ds_synth_write(const char *dir, const ds_synth_params *p, ds_synth_result *res, char *err, size_t err_len) {
    if (res) memset(res, 0, sizeof *res);
    if (!dir || !*dir || !p || p->n_videos < 2 || p->n_videos > 64 || p->width < 64 || p->height < 64 ||
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
