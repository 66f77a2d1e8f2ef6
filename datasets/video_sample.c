/* video_sample.c - frame-index sampling rules and clip ranges (pure arithmetic, no FFmpeg).
 *
 * The rules reproduce the Python reference code bit for bit where it matters: numpy linspace
 * (step = (stop-start)/(N-1) in double, value = i*step + start, last value = stop, cast to int
 * truncates toward zero), Python's round() (half to even, here nearbyint under the default
 * rounding mode) in the MVBench segment-centre rule and bound computation.
 */
#include "datasets/ds_internal.h"
#include "datasets/video.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Python round(): half to even. nearbyint honours the current rounding mode; the default
 * (FE_TONEAREST) is half-to-even, which we assume and do not change anywhere. */
static double round_half_even(double x) { return nearbyint(x); }

const char *ds_video_status_str(int status) {
    switch (status) {
    case DS_VIDEO_OK: return "ok";
    case DS_VIDEO_ERR_ARG: return "bad argument";
    case DS_VIDEO_ERR_MISSING: return "missing";
    case DS_VIDEO_ERR_FORMAT: return "not a video";
    case DS_VIDEO_ERR_NO_VIDEO: return "no video stream";
    case DS_VIDEO_ERR_EMPTY: return "no frames";
    case DS_VIDEO_ERR_TRUNCATED: return "truncated";
    case DS_VIDEO_ERR_DECODE: return "decode error";
    case DS_VIDEO_ERR_NOMEM: return "out of memory";
    case DS_VIDEO_ERR_IO: return "i/o error";
    case DS_VIDEO_ERR_CODEC: return "codec unavailable";
    default: return "unknown status";
    }
}

int ds_sample_rule_parse(const char *s, ds_sample_rule *out) {
    if (!s || !out) return -1;
    if (!strcmp(s, "linspace")) *out = DS_SAMPLE_LINSPACE;
    else if (!strcmp(s, "centred") || !strcmp(s, "centered")) *out = DS_SAMPLE_CENTRED;
    else if (!strcmp(s, "interior")) *out = DS_SAMPLE_INTERIOR;
    else if (!strcmp(s, "qwen")) *out = DS_SAMPLE_QWEN;
    else return -1;
    return 0;
}

const char *ds_sample_rule_str(ds_sample_rule r) {
    switch (r) {
    case DS_SAMPLE_LINSPACE: return "linspace";
    case DS_SAMPLE_CENTRED: return "centred";
    case DS_SAMPLE_INTERIOR: return "interior";
    case DS_SAMPLE_QWEN: return "qwen";
    }
    return "?";
}

int ds_seek_mode_parse(const char *s, ds_seek_mode *out) {
    if (!s || !out) return -1;
    if (!strcmp(s, "exact")) *out = DS_SEEK_EXACT;
    else if (!strcmp(s, "keyframe")) *out = DS_SEEK_KEYFRAME;
    else return -1;
    return 0;
}

const char *ds_seek_mode_str(ds_seek_mode m) { return m == DS_SEEK_KEYFRAME ? "keyframe" : "exact"; }

int ds_clip_range(int64_t total, double fps, int clip, double start_s, double end_s, int64_t *first,
                  int64_t *last, char *err, size_t err_len) {
    if (total < 1) {
        ds_set_err(err, err_len, "clip range: the video has no frames");
        return -1;
    }
    if (!clip) {
        *first = 0;
        *last = total - 1;
        return 0;
    }
    if (!(fps > 0) || !isfinite(fps)) {
        ds_set_err(err, err_len, "clip range: frame rate %g is not usable", fps);
        return -1;
    }
    if (!isfinite(start_s) || !isfinite(end_s) || start_s > end_s) {
        ds_set_err(err, err_len, "clip range: start %g s must not exceed end %g s", start_s, end_s);
        return -1;
    }
    double a = round_half_even(start_s * fps), b = round_half_even(end_s * fps);
    double lim = 9.0e15; /* keep the casts below defined */
    if (a < -lim) a = -lim;
    if (a > lim) a = lim;
    if (b < -lim) b = -lim;
    if (b > lim) b = lim;
    int64_t f = (int64_t)a, l = (int64_t)b;
    if (f < 0) f = 0;
    if (l > total - 1) l = total - 1;
    if (l < f) {
        ds_set_err(err, err_len,
                "clip [%g s, %g s] holds no frame of a %lld-frame video at %g fps (frames %lld..%lld)", start_s,
                end_s, (long long)total, fps, (long long)f, (long long)l);
        return -1;
    }
    *first = f;
    *last = l;
    return 0;
}

int ds_sample_indices(ds_sample_rule rule, int64_t first, int64_t last, int n, int64_t *out) {
    if (n < 1 || last < first || first < 0 || !out) return -1;
    switch (rule) {
    case DS_SAMPLE_QWEN:
        ds_qwen_frame_indices(first, last, n, out);
        return 0;
    case DS_SAMPLE_LINSPACE: {
        /* numpy.linspace(first, last, n).astype(int) */
        double start = (double)first, stop = (double)last;
        if (n == 1) {
            out[0] = first;
            return 0;
        }
        double step = (stop - start) / (double)(n - 1);
        for (int i = 0; i < n; i++) {
            double y = (double)i * step + start;
            if (i == n - 1) y = stop;
            int64_t v = (int64_t)y; /* truncation toward zero; y >= 0 */
            if (v < first) v = first;
            if (v > last) v = last;
            out[i] = v;
        }
        return 0;
    }
    case DS_SAMPLE_CENTRED: {
        /* MVBench get_index: seg = (end-start)/n; int(start + seg/2 + round(seg*k)) */
        double seg = (double)(last - first) / (double)n;
        for (int k = 0; k < n; k++) {
            double y = (double)first + seg / 2.0 + round_half_even(seg * (double)k);
            int64_t v = (int64_t)y;
            if (v < first) v = first;
            if (v > last) v = last;
            out[k] = v;
        }
        return 0;
    }
    case DS_SAMPLE_INTERIOR: {
        /* VLMEvalKit nframe mode: step = count/(n+1); int(i*step), i = 1..n */
        double count = (double)(last - first + 1);
        double step = count / (double)(n + 1);
        for (int i = 1; i <= n; i++) {
            int64_t v = first + (int64_t)((double)i * step);
            if (v > last) v = last;
            out[i - 1] = v;
        }
        return 0;
    }
    }
    return -1;
}
