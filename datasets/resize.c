/* resize.c - Pillow-compatible bicubic resize for 8-bit images and the SigLIP frame
 * preprocessing (squash-resize, rescale, normalise, HWC -> CHW float32).
 *
 * The resize reproduces Pillow's Resample.c (ImagingResample with BICUBIC, no box, no
 * reducing_gap) so that our frames match transformers' SigLipImageProcessor, which converts
 * each frame to a PIL image and calls resize((S, S), BICUBIC). The facts it depends on:
 *   - per axis: scale = in/out, filterscale = max(scale, 1), support = 2 * filterscale;
 *     output i has centre (i + 0.5) * scale, taps xmin = max(0, (int)(centre - support + 0.5))
 *     .. xmax = min(in, (int)(centre + support + 0.5)), weight k = cubic((xmin + k - centre +
 *     0.5) / filterscale) with Keys' kernel a = -0.5, normalised to sum 1 in double;
 *   - weights become fixed point with 22 fractional bits, rounded half away from zero;
 *     the accumulator starts at 1 << 21 and the result is (acc >> 22) clamped to 0..255;
 *   - horizontal pass first into an 8-bit temporary holding only the source rows the
 *     vertical pass reads, then the vertical pass; a pass is skipped when its size is
 *     unchanged (exactly as Pillow does).
 * The 8-bit rounding between the passes is what makes a float implementation differ by one
 * level; we keep it.
 */
#include "datasets/video.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RS_PRECISION_BITS (32 - 8 - 2)

static double cubic_kernel(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

/* Fixed-point coefficients of one axis. bounds[2*i] = first tap, bounds[2*i+1] = tap count,
 * kk[i*ksize + k] = weight. Returns ksize, or 0 on allocation failure. */
static int precompute_coeffs(int in_size, int out_size, int **bounds_out, int32_t **kk_out) {
    double scale = (double)in_size / (double)out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    int *bounds = malloc(sizeof(int) * 2 * (size_t)out_size);
    double *pre = malloc(sizeof(double) * (size_t)out_size * (size_t)ksize);
    int32_t *kk = malloc(sizeof(int32_t) * (size_t)out_size * (size_t)ksize);
    if (!bounds || !pre || !kk) {
        free(bounds);
        free(pre);
        free(kk);
        return 0;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = ((double)xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *k = &pre[(size_t)xx * (size_t)ksize];
        int x;
        for (x = 0; x < xmax; x++) {
            double w = cubic_kernel(((double)(x + xmin) - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0.0;
        bounds[xx * 2 + 0] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    for (size_t i = 0; i < (size_t)out_size * (size_t)ksize; i++) {
        double v = pre[i] * (double)(1 << RS_PRECISION_BITS);
        kk[i] = pre[i] < 0 ? (int32_t)(-0.5 + v) : (int32_t)(0.5 + v);
    }
    free(pre);
    *bounds_out = bounds;
    *kk_out = kk;
    return ksize;
}

static inline uint8_t clip8(int32_t acc) {
    int32_t v = acc >> RS_PRECISION_BITS; /* arithmetic shift, as Pillow */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass: rows [row0, row0 + n_rows) of src into dst [n_rows][dw][ch]. */
static void resample_h(const uint8_t *src, size_t src_stride, int ch, int row0, int n_rows, uint8_t *dst, int dw,
                       int ksize, const int *bounds, const int32_t *kk) {
    for (int y = 0; y < n_rows; y++) {
        const uint8_t *in = src + (size_t)(row0 + y) * src_stride;
        uint8_t *out = dst + (size_t)y * (size_t)dw * (size_t)ch;
        for (int xx = 0; xx < dw; xx++) {
            int xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1];
            const int32_t *k = &kk[(size_t)xx * (size_t)ksize];
            for (int c = 0; c < ch; c++) {
                int32_t ss = 1 << (RS_PRECISION_BITS - 1);
                for (int x = 0; x < xmax; x++) ss += (int32_t)in[(size_t)(x + xmin) * (size_t)ch + (size_t)c] * k[x];
                out[(size_t)xx * (size_t)ch + (size_t)c] = clip8(ss);
            }
        }
    }
}

/* Vertical pass: src [..][w][ch] (stride src_stride) to dst [dh][w][ch]; bounds already
 * shifted to src's first row. */
static void resample_v(const uint8_t *src, size_t src_stride, int ch, int w, uint8_t *dst, int dh, int ksize,
                       const int *bounds, const int32_t *kk) {
    size_t row = (size_t)w * (size_t)ch;
    for (int yy = 0; yy < dh; yy++) {
        int ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1];
        const int32_t *k = &kk[(size_t)yy * (size_t)ksize];
        uint8_t *out = dst + (size_t)yy * row;
        for (size_t i = 0; i < row; i++) {
            int32_t ss = 1 << (RS_PRECISION_BITS - 1);
            for (int y = 0; y < ymax; y++) ss += (int32_t)src[(size_t)(y + ymin) * src_stride + i] * k[y];
            out[i] = clip8(ss);
        }
    }
}

int ds_resize_bicubic_u8(const uint8_t *src, int sw, int sh, size_t src_stride, int ch, uint8_t *dst, int dw,
                         int dh) {
    if (!src || !dst || sw < 1 || sh < 1 || dw < 1 || dh < 1 || ch < 1 || ch > 4) return -1;
    if (src_stride < (size_t)sw * (size_t)ch) return -1;
    int need_h = dw != sw, need_v = dh != sh;
    size_t drow = (size_t)dw * (size_t)ch;
    if (!need_h && !need_v) {
        for (int y = 0; y < sh; y++) memcpy(dst + (size_t)y * drow, src + (size_t)y * src_stride, drow);
        return 0;
    }
    int *bh = NULL, *bv = NULL;
    int32_t *kh = NULL, *kv = NULL;
    int ksh = 0, ksv = 0, rc = -1;
    uint8_t *tmp = NULL;
    if (need_h && !(ksh = precompute_coeffs(sw, dw, &bh, &kh))) goto out;
    if (need_v && !(ksv = precompute_coeffs(sh, dh, &bv, &kv))) goto out;
    if (need_h && !need_v) {
        resample_h(src, src_stride, ch, 0, sh, dst, dw, ksh, bh, kh);
    } else if (!need_h && need_v) {
        resample_v(src, src_stride, ch, sw, dst, dh, ksv, bv, kv);
    } else {
        int first = bv[0];
        int last = bv[dh * 2 - 2] + bv[dh * 2 - 1];
        for (int i = 0; i < dh; i++) bv[i * 2] -= first;
        tmp = malloc(drow * (size_t)(last - first));
        if (!tmp) goto out;
        resample_h(src, src_stride, ch, first, last - first, tmp, dw, ksh, bh, kh);
        resample_v(tmp, drow, ch, dw, dst, dh, ksv, bv, kv);
    }
    rc = 0;
out:
    free(tmp);
    free(bh);
    free(bv);
    free(kh);
    free(kv);
    return rc;
}

int ds_preprocess_rgb(const uint8_t *rgb, int w, int h, size_t stride, int S, const float mean[3],
                      const float std[3], float *out) {
    if (!rgb || !out || S < 1 || w < 1 || h < 1 || !mean || !std) return -1;
    size_t plane = (size_t)S * (size_t)S;
    uint8_t *tmp = malloc(plane * 3);
    if (!tmp) return -1;
    if (ds_resize_bicubic_u8(rgb, w, h, stride, 3, tmp, S, S)) {
        free(tmp);
        return -1;
    }
    /* Lookup table per channel: float32(v * (1/255.0)) (float64 product, then cast), then
     * (x - mean) / std in float32, as transformers' rescale + normalize. */
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = (float)((double)v * (1.0 / 255.0));
            lut[c][v] = (x - mean[c]) / std[c];
        }
    for (size_t i = 0; i < plane; i++) {
        out[i] = lut[0][tmp[i * 3 + 0]];
        out[plane + i] = lut[1][tmp[i * 3 + 1]];
        out[2 * plane + i] = lut[2][tmp[i * 3 + 2]];
    }
    free(tmp);
    return 0;
}
