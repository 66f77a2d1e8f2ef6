/* qwen_prep.c - see qwen_prep.h. */
#include "harness/qwen_prep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qp_rows_free(qp_rows *r) {
    if (!r) return;
    free(r->rows);
    memset(r, 0, sizeof *r);
}

int qp_frames_to_rows(const uint8_t *frames, int T, int H, int W, double min_px, double max_px, int tp, int patch,
                      int merge, qp_rows *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    int h = 0, w = 0;
    if (T < 1 || !frames) {
        snprintf(err, err_len, "qwen frames: no frames");
        return -1;
    }
    if (ds_qwen_smart_resize(H, W, patch * merge, min_px, max_px, &h, &w, err, err_len)) return -1;
    size_t fsz = (size_t)h * (size_t)w * 3;
    uint8_t *rs = malloc(fsz * (size_t)T);
    int64_t gt = (T + tp - 1) / tp, gh = h / patch, gw = w / patch;
    size_t K = (size_t)3 * (size_t)tp * (size_t)patch * (size_t)patch;
    out->rows = malloc((size_t)(gt * gh * gw) * K * sizeof *out->rows);
    if (!rs || !out->rows) {
        free(rs);
        qp_rows_free(out);
        snprintf(err, err_len, "qwen frames: out of memory for %d frames of %dx%d", T, h, w);
        return -1;
    }
    for (int t = 0; t < T; t++)
        if (ds_qwen_resize_u8(frames + (size_t)t * (size_t)H * (size_t)W * 3, H, W, rs + (size_t)t * fsz, h, w)) {
            free(rs);
            qp_rows_free(out);
            snprintf(err, err_len, "qwen frames: resize %dx%d -> %dx%d failed", H, W, h, w);
            return -1;
        }
    int rc = ds_qwen_patchify(rs, T, h, w, tp, patch, merge, out->rows);
    free(rs);
    if (rc) {
        qp_rows_free(out);
        snprintf(err, err_len, "qwen frames: patchify of %dx%d failed", h, w);
        return -1;
    }
    out->grid[0] = gt, out->grid[1] = gh, out->grid[2] = gw;
    out->height = h, out->width = w, out->n_frames = T;
    return 0;
}

int qp_sample_video(const char *path, const ds_qwen_video_params *p, ds_frames *fr, double *min_px, double *max_px,
                    double *video_fps, char *err, size_t err_len) {
    memset(fr, 0, sizeof *fr);
    ds_video_t *v = NULL;
    if (ds_video_open(path, 0.0, &v, err, err_len)) return -1;
    ds_video_info info;
    ds_video_get_info(v, &info);
    int n = 0;
    if (ds_qwen_nframes(p, info.n_frames, info.avg_fps, &n, err, err_len)) {
        ds_video_free(v);
        return -1;
    }
    ds_video_params vp = ds_video_default_params();
    vp.n_frames = n;
    vp.rule = DS_SAMPLE_QWEN;
    vp.size = 0;
    vp.keep_rgb = 1;
    int rc = ds_video_sample(v, &vp, fr, err, err_len);
    ds_video_free(v);
    if (rc) return -1;
    ds_qwen_frame_budget(p, n, min_px, max_px);
    if (video_fps) *video_fps = info.avg_fps;
    return 0;
}
