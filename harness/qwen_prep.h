/* qwen_prep.h - Qwen2.5-VL video input for the commands and the session: qwen-vl-utils frame
 * sampling of a video file (frame count rule, float32 linspace indices, the per-frame pixel
 * budget) and the processor chain from uint8 frames to pixel_values_videos rows (smart_resize,
 * torchvision's antialiased bicubic resize, rescale + normalise + patchify); spec qwen25vl.md
 * §2. The arithmetic lives in datasets/ (video.h, ds_qwen_*); this glues it together. */
#ifndef TB_QWEN_PREP_H
#define TB_QWEN_PREP_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/video.h"

/* Rows ready for eng_qwen_vision_encode. */
typedef struct {
    float *rows;        /* [grid_t * grid_h * grid_w, 3 * tp * patch^2] (owned) */
    int64_t grid[3];    /* t, h, w in patches (video_grid_thw) */
    int height, width;  /* the resized frame size */
    int n_frames;       /* frames given (odd counts repeat the last one) */
} qp_rows;

/* Resizes T uint8 RGB frames [T][H][W][3] to smart_resize(H, W, 28, min_px, max_px) and
 * patchifies them (tp frames per slice, patch, merge). 0, or -1 with err set. Free with
 * qp_rows_free. */
int qp_frames_to_rows(const uint8_t *frames, int T, int H, int W, double min_px, double max_px, int tp, int patch,
                      int merge, qp_rows *out, char *err, size_t err_len);

void qp_rows_free(qp_rows *r);

/* Samples a video as qwen-vl-utils' fetch_video with {"nframes": p->nframes} (or fps mode):
 * native RGB frames in fr->rgb (keep_rgb), fr->indices, fr->timestamps; *min_px / *max_px the
 * per-frame budget for that frame count (ds_qwen_frame_budget). 0, or -1 with err. */
int qp_sample_video(const char *path, const ds_qwen_video_params *p, ds_frames *fr, double *min_px, double *max_px,
                    double *video_fps, char *err, size_t err_len);

#endif
