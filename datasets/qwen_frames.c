/* qwen_frames.c - Qwen2.5-VL video preprocessing as qwen-vl-utils and the Hugging Face
 * processor do it (spec qwen25vl.md §2): the frame count rule, the frame indices
 * (torch.linspace in float32, rounded half to even), the per-frame pixel budget, smart_resize,
 * torchvision's antialiased bicubic resize of uint8 frames reproduced bit for bit (ATen's scalar
 * CPU kernel), and the processor's rescale + normalise + patchify into pixel_values_videos rows.
 *
 * The resize (ATen upsample_bicubic2d_aa, separable, width first then height, float32
 * intermediate, no rounding between the passes; §2.3):
 *   per axis n -> m: scale = (float)n / m; support = scale >= 1 ? 2 scale : 2;
 *   invscale = scale >= 1 ? 1 / scale : 1; for output i: center = (float)(scale (i + 0.5));
 *   xmin = max((int64)((double)(center - support) + 0.5), 0);
 *   xmax = min((int64)((double)(center + support) + 0.5), n);
 *   w_j = k((float)(((double)((float)(j + xmin) - center) + 0.5) * invscale)), Keys cubic
 *   a = -0.5 in float32, normalised by the float32 running sum; out = sum_j src * w_j in float32,
 *   left to right (no FMA: this file must not be built with -ffp-contract=fast);
 *   then torchvision clamps to [0, 255], rounds half to even and casts to uint8.
 * An axis whose size does not change is skipped. */
#include "datasets/video.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- frame count, indices, budget --------------------------------------------------------- */

ds_qwen_video_params ds_qwen_video_default_params(void) {
    ds_qwen_video_params p;
    memset(&p, 0, sizeof p);
    p.nframes = 32;
    p.fps = 2.0;
    p.min_frames = 4;
    p.max_frames = 0;
    p.min_pixels = 0;
    p.max_pixels = 0;
    p.total_pixels = 0.0;
    p.factor = 28;
    return p;
}

static double round_half_even(double x) {
    double r = nearbyint(x); /* default rounding mode: to nearest, ties to even */
    return r;
}

int ds_qwen_nframes(const ds_qwen_video_params *p, int64_t total, double video_fps, int *n, char *err,
                    size_t err_len) {
    double nf;
    if (total < 1 || !(video_fps > 0)) {
        snprintf(err, err_len, "qwen frames: %lld frames at %g fps cannot be sampled", (long long)total, video_fps);
        return -1;
    }
    if (p->nframes > 0) {
        nf = round_half_even((double)p->nframes / 2.0) * 2.0;
    } else {
        double minf = ceil((double)(p->min_frames > 0 ? p->min_frames : 4) / 2.0) * 2.0;
        double maxf = floor((double)(p->max_frames > 0 ? p->max_frames : (total < 768 ? total : 768)) / 2.0) * 2.0;
        nf = (double)total / video_fps * (p->fps > 0 ? p->fps : 2.0);
        nf = nf > minf ? nf : minf;
        nf = nf < maxf ? nf : maxf;
        nf = nf < (double)total ? nf : (double)total;
        nf = floor(nf / 2.0) * 2.0;
    }
    if (!(nf >= 2.0 && nf <= (double)total)) {
        snprintf(err, err_len, "qwen frames: %g frames asked of a video of %lld (qwen-vl-utils needs 2 <= n <= total)",
                 nf, (long long)total);
        return -1;
    }
    *n = (int)nf;
    return 0;
}

void ds_qwen_frame_indices(int64_t start, int64_t end, int n, int64_t *idx) {
    /* torch.linspace(start, end, n) in float32 (ATen: step = (end - start) / (n - 1), the first
     * half start + step i, the second half end - step (n - 1 - i)), then .round() */
    float fs = (float)start, fe = (float)end;
    float step = n > 1 ? (fe - fs) / (float)(n - 1) : 0.0f;
    int64_t half = n / 2;
    for (int64_t i = 0; i < n; i++) {
        float v = i < half ? fs + step * (float)i : fe - step * (float)(n - 1 - i);
        idx[i] = (int64_t)nearbyintf(v);
    }
}

void ds_qwen_frame_budget(const ds_qwen_video_params *p, int n, double *min_px, double *max_px) {
    double f2 = (double)p->factor * (double)p->factor;
    double mn = p->min_pixels > 0 ? (double)p->min_pixels : 128.0 * f2;
    double total = p->total_pixels > 0 ? p->total_pixels : 128000.0 * f2 * 0.9;
    double mx = 768.0 * f2;
    double per = total / (double)n * 2.0;
    mx = mx < per ? mx : per;
    double floor_min = (double)(int64_t)(mn * 1.05);
    mx = mx > floor_min ? mx : floor_min;
    if (p->max_pixels > 0 && (double)p->max_pixels < mx) mx = (double)p->max_pixels;
    *min_px = mn;
    *max_px = mx;
}

int ds_qwen_smart_resize(int H, int W, int factor, double min_px, double max_px, int *h_out, int *w_out, char *err,
                         size_t err_len) {
    if (H < 1 || W < 1 || factor < 1 || !(max_px >= min_px)) {
        snprintf(err, err_len, "qwen resize: bad size %dx%d or budget [%g, %g]", H, W, min_px, max_px);
        return -1;
    }
    double big = H > W ? H : W, small = H > W ? W : H;
    if (big / small > 200.0) {
        snprintf(err, err_len, "qwen resize: aspect ratio of %dx%d exceeds 200", H, W);
        return -1;
    }
    double f = factor;
    double hb = round_half_even(H / f) * f, wb = round_half_even(W / f) * f;
    if (hb < f) hb = f;
    if (wb < f) wb = f;
    if (hb * wb > max_px) {
        double beta = sqrt((double)H * (double)W / max_px);
        hb = floor((double)H / beta / f) * f;
        wb = floor((double)W / beta / f) * f;
    } else if (hb * wb < min_px) {
        double beta = sqrt(min_px / ((double)H * (double)W));
        hb = ceil((double)H * beta / f) * f;
        wb = ceil((double)W * beta / f) * f;
    }
    if (hb < f || wb < f || hb > 65536 || wb > 65536) {
        snprintf(err, err_len, "qwen resize: %dx%d maps to %gx%g", H, W, hb, wb);
        return -1;
    }
    *h_out = (int)hb;
    *w_out = (int)wb;
    return 0;
}

/* ---- the antialiased bicubic resize ------------------------------------------------------- */

static float aa_cubic(float x) {
    const float a = -0.5f;
    x = fabsf(x);
    if (x < 1.0f) return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
    if (x < 2.0f) return ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
    return 0.0f;
}

/* Taps of one axis: bounds[2i] = xmin, bounds[2i+1] = count, w[i*ksize + j]. Returns ksize or 0. */
static int aa_weights(int n, int m, int **bounds_out, float **w_out) {
    float scale = (float)n / (float)m;
    float support = scale >= 1.0f ? 2.0f * scale : 2.0f;
    float invscale = scale >= 1.0f ? 1.0f / scale : 1.0f;
    int ksize = (int)ceilf(support) * 2 + 1;
    int *bounds = malloc(sizeof(int) * 2 * (size_t)m);
    float *w = calloc((size_t)m * (size_t)ksize, sizeof *w);
    if (!bounds || !w) {
        free(bounds);
        free(w);
        return 0;
    }
    for (int i = 0; i < m; i++) {
        float center = (float)((double)scale * ((double)i + 0.5));
        int64_t xmin = (int64_t)((double)(center - support) + 0.5);
        if (xmin < 0) xmin = 0;
        int64_t xmax = (int64_t)((double)(center + support) + 0.5);
        if (xmax > n) xmax = n;
        int64_t cnt = xmax - xmin;
        if (cnt > ksize) cnt = ksize;
        float total = 0.0f;
        float *wi = w + (size_t)i * (size_t)ksize;
        for (int64_t j = 0; j < cnt; j++) {
            float d = (float)(j + xmin) - center;
            float x = (float)(((double)d + 0.5) * (double)invscale);
            wi[j] = aa_cubic(x);
            total += wi[j];
        }
        if (total != 0.0f)
            for (int64_t j = 0; j < cnt; j++) wi[j] /= total;
        bounds[2 * i] = (int)xmin;
        bounds[2 * i + 1] = (int)cnt;
    }
    *bounds_out = bounds;
    *w_out = w;
    return ksize;
}

static uint8_t to_u8(float v) {
    v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
    return (uint8_t)nearbyintf(v);
}

int ds_qwen_resize_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw) {
    if (!src || !dst || sh < 1 || sw < 1 || dh < 1 || dw < 1) return -1;
    int *bx = NULL, *by = NULL;
    float *wx = NULL, *wy = NULL;
    int kx = 0, ky = 0, rc = -1;
    size_t tn = (size_t)sh * (size_t)dw * 3;
    float *tmp = malloc(tn * sizeof *tmp);
    if (!tmp) return -1;
    if (dw != sw && !(kx = aa_weights(sw, dw, &bx, &wx))) goto out;
    if (dh != sh && !(ky = aa_weights(sh, dh, &by, &wy))) goto out;
    /* width pass (or a plain copy to float) */
    for (int y = 0; y < sh; y++) {
        const uint8_t *sr = src + (size_t)y * (size_t)sw * 3;
        float *tr = tmp + (size_t)y * (size_t)dw * 3;
        if (dw == sw) {
            for (int i = 0; i < sw * 3; i++) tr[i] = (float)sr[i];
            continue;
        }
        for (int x = 0; x < dw; x++) {
            int x0 = bx[2 * x], cnt = bx[2 * x + 1];
            const float *w = wx + (size_t)x * (size_t)kx;
            for (int c = 0; c < 3; c++) {
                float acc = (float)sr[x0 * 3 + c] * w[0];
                for (int j = 1; j < cnt; j++) acc += (float)sr[(x0 + j) * 3 + c] * w[j];
                tr[x * 3 + c] = acc;
            }
        }
    }
    /* height pass, clamp, round half to even */
    for (int y = 0; y < dh; y++) {
        uint8_t *dr = dst + (size_t)y * (size_t)dw * 3;
        if (dh == sh) {
            const float *tr = tmp + (size_t)y * (size_t)dw * 3;
            for (int i = 0; i < dw * 3; i++) dr[i] = to_u8(tr[i]);
            continue;
        }
        int y0 = by[2 * y], cnt = by[2 * y + 1];
        const float *w = wy + (size_t)y * (size_t)ky;
        for (int i = 0; i < dw * 3; i++) {
            float acc = tmp[(size_t)y0 * (size_t)dw * 3 + (size_t)i] * w[0];
            for (int j = 1; j < cnt; j++) acc += tmp[(size_t)(y0 + j) * (size_t)dw * 3 + (size_t)i] * w[j];
            dr[i] = to_u8(acc);
        }
    }
    rc = 0;
out:
    free(tmp);
    free(bx), free(by), free(wx), free(wy);
    return rc;
}

/* ---- processor: rescale, normalise, patchify ---------------------------------------------- */

int ds_qwen_patchify(const uint8_t *frames, int T, int h, int w, int tp, int patch, int merge, float *rows) {
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    if (!frames || !rows || T < 1 || tp < 1 || patch < 1 || merge < 1 || h % (patch * merge) || w % (patch * merge))
        return -1;
    /* x = (float)((double)u8 * (1/255)), then (x - mean) / std in float32: one table per channel */
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = (float)((double)v * (1.0 / 255.0));
            lut[c][v] = (x - mean[c]) / std[c];
        }
    int gt = (T + tp - 1) / tp, gh = h / patch, gw = w / patch, bh_n = gh / merge, bw_n = gw / merge;
    size_t K = (size_t)3 * (size_t)tp * (size_t)patch * (size_t)patch;
    size_t row = 0;
    for (int t = 0; t < gt; t++)
        for (int bh = 0; bh < bh_n; bh++)
            for (int bw = 0; bw < bw_n; bw++)
                for (int mh = 0; mh < merge; mh++)
                    for (int mw = 0; mw < merge; mw++, row++) {
                        float *r = rows + row * K;
                        int ph = bh * merge + mh, pw = bw * merge + mw;
                        for (int c = 0; c < 3; c++)
                            for (int f = 0; f < tp; f++) {
                                int fi = t * tp + f;
                                if (fi >= T) fi = T - 1; /* an odd count repeats the last frame */
                                const uint8_t *fr = frames + (size_t)fi * (size_t)h * (size_t)w * 3;
                                for (int y = 0; y < patch; y++)
                                    for (int x = 0; x < patch; x++) {
                                        size_t px = ((size_t)(ph * patch + y) * (size_t)w + (size_t)(pw * patch + x)) * 3;
                                        r[((size_t)(c * tp + f) * (size_t)patch + (size_t)y) * (size_t)patch + (size_t)x] =
                                            lut[c][fr[px + (size_t)c]];
                                    }
                            }
                    }
    return 0;
}
