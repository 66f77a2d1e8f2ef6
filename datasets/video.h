/* video.h - video frame sampling, SigLIP preprocessing, a small video writer and the synthetic
 * benchmark generator (module prefix ds_, the datasets module).
 *
 * What it does: opens a video file (any container/codec FFmpeg's libav* can demux and decode)
 * or a folder of JPEG frames, picks N frame indices by a sampling rule (whole video or a
 * [start, end] clip), decodes exactly those frames (seek to the preceding keyframe, decode
 * forward; groups of targets are decoded in parallel, each worker using FFmpeg's own codec
 * threading), converts them to RGB24 exactly as decord's FFmpeg filter graph does (swscale,
 * default flags, matrix and range from the frame), squash-resizes them with a Pillow-compatible
 * bicubic filter and writes float32 CHW pixels normalised for SigLIP. What it deliberately does not do: audio,
 * subtitles, rotation metadata (frames come out as stored), AnyRes tiling.
 *
 * Frame count and indices (the decord rule, see ds_video_open): frame i is the i-th packet of
 * the video stream in presentation-timestamp order; the count is the number of video packets the
 * demuxer returns, which is what decord's len(VideoReader) reports (decord indexes packets the
 * same way; it only falls back to nb_frames or duration x fps when no packet can be read, which
 * is an error here). Timestamps are i / avg_fps (avg_fps = the stream's avg_frame_rate, as
 * decord's get_avg_fps; r_frame_rate, then count / duration when it is missing), absolute in the
 * source video even for clips (subtract first_index / avg_fps for clip-relative times). When the
 * packets carry no usable presentation order (no timestamps, duplicate timestamps, or dts only
 * with B-frames, e.g. AVI with packed B-frames) frame i is the i-th frame the decoder outputs and
 * frames are found by decoding from the start ("sequential" mode, info.pts_ordered = 0); the
 * keyframe index is then just frame 0. A wanted frame the decoder never outputs (damaged data) is
 * replaced by the previous decoded frame, as decord does, and counted in n_substituted.
 *
 * Usage:
 *     char err[512];
 *     ds_video_t *v = NULL;
 *     if (ds_video_open("clip.mp4", 0.0, &v, err, sizeof err)) { puts(err); return 1; }
 *     ds_video_params p = ds_video_default_params();   // 32 frames, linspace, exact, 384
 *     p.n_frames = 16;
 *     p.clip = 1; p.start_s = 2.0; p.end_s = 7.5;        // optional clip
 *     ds_frames f;
 *     if (ds_video_sample(v, &p, &f, err, sizeof err)) { puts(err); ds_video_free(v); return 1; }
 *     // f.pixels: [f.n][3][f.size][f.size] float32 in [-1,1]; f.indices[i]; f.timestamps[i]
 *     ds_frames_free(&f);
 *     ds_video_free(v);
 *
 *     // JPEG frame folder (MVBench episodic_reasoning): files sorted by name, 3 fps
 *     ds_video_open("tvqa/frames_fps3_hq/some_clip", 3.0, &v, err, sizeof err);
 *
 *     // synthetic benchmark (videos + MVBench-format manifest) into DIR (see ds_synth_write)
 *     ds_synth_params sp = ds_synth_default_params();
 *     ds_synth_result sr;
 *     ds_synth_write("DIR", &sp, &sr, err, sizeof err);
 *
 * Threading: a ds_video_t may be used by one thread at a time; ds_video_sample starts its own
 * worker threads and joins them before returning. Nothing here prints or exits; errors come back
 * as a status and one line in the caller's buffer, naming the file.
 */
#ifndef TB_DS_VIDEO_H
#define TB_DS_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------------------------ */

typedef enum {
    DS_VIDEO_OK = 0,
    DS_VIDEO_ERR_ARG = -1,       /* bad parameter (n_frames < 1, start > end, ...)              */
    DS_VIDEO_ERR_MISSING = -2,   /* file or folder does not exist / cannot be read              */
    DS_VIDEO_ERR_FORMAT = -3,    /* not a recognised container, or corrupt headers              */
    DS_VIDEO_ERR_NO_VIDEO = -4,  /* no video stream (e.g. audio-only file)                      */
    DS_VIDEO_ERR_EMPTY = -5,     /* a video stream with zero frames / an empty JPEG folder      */
    DS_VIDEO_ERR_TRUNCATED = -6, /* fewer packets than the container lists, or cut-off data     */
    DS_VIDEO_ERR_DECODE = -7,    /* the decoder failed or a wanted frame never came out         */
    DS_VIDEO_ERR_NOMEM = -8,
    DS_VIDEO_ERR_IO = -9,        /* writing failed (writer, synth)                              */
    DS_VIDEO_ERR_CODEC = -10,    /* no usable encoder/decoder in this FFmpeg build              */
} ds_video_status;

/* Short stable name of a status ("ok", "missing", ...). Never NULL. */
const char *ds_video_status_str(int status);

/* ---- sampling rules (pure arithmetic, usable without a video) ---------------------------- */

typedef enum {
    /* numpy linspace(first, last, N) cast to int: endpoints included, truncation toward zero.
     * What LLaVA-OneVision (VLMEvalKit and lmms-eval) uses; the default. */
    DS_SAMPLE_LINSPACE = 0,
    /* VLMEvalKit/MVBench segment centres: seg = (last - first) / N,
     * idx_k = int(first + seg/2 + round_half_even(seg*k)). */
    DS_SAMPLE_CENTRED = 1,
    /* VLMEvalKit dataset-side nframe mode: step = count / (N+1), idx = first + floor(i*step),
     * i = 1..N (endpoints excluded). */
    DS_SAMPLE_INTERIOR = 2,
    /* qwen-vl-utils: torch.linspace(first, last, N) in float32, rounded half to even
     * (ds_qwen_frame_indices); N itself comes from ds_qwen_nframes. */
    DS_SAMPLE_QWEN = 3,
} ds_sample_rule;

typedef enum {
    DS_SEEK_EXACT = 0,    /* the requested frames exactly (decode forward from the keyframe) */
    DS_SEEK_KEYFRAME = 1, /* snap each index to its preceding keyframe (fast, approximate)    */
} ds_seek_mode;

/* Parses "linspace" | "centred" (also "centered") | "interior" | "qwen"; returns 0 or -1. */
int ds_sample_rule_parse(const char *s, ds_sample_rule *out);
const char *ds_sample_rule_str(ds_sample_rule r);
/* Parses "exact" | "keyframe"; returns 0 or -1. */
int ds_seek_mode_parse(const char *s, ds_seek_mode *out);
const char *ds_seek_mode_str(ds_seek_mode m);

/* Frame index range [*first, *last] (inclusive) of a clip, the MVBench bound rule:
 * first = max(base, round_half_even(start_s*fps)), last = min(round_half_even(end_s*fps),
 * base + total - 1), with base = 0. clip = 0 gives the whole video [0, total-1].
 * Returns 0, or -1 with a message when total < 1, fps <= 0, start > end, or the clip holds no
 * frame of the video. */
int ds_clip_range(int64_t total, double fps, int clip, double start_s, double end_s, int64_t *first,
                  int64_t *last, char *err, size_t err_len);

/* Writes N indices in [first, last] by rule into out[0..n-1] (non-decreasing; may repeat when
 * the range holds fewer than N frames). Returns 0, or -1 when n < 1 or last < first. */
int ds_sample_indices(ds_sample_rule rule, int64_t first, int64_t last, int n, int64_t *out);

/* ---- opening a video --------------------------------------------------------------------- */

typedef struct ds_video ds_video_t; /* opaque */

typedef struct {
    int64_t n_frames;     /* decord-compatible frame count (see the file comment)            */
    double avg_fps;       /* stream avg_frame_rate; folder: the fps given to ds_video_open   */
    double duration_s;    /* n_frames / avg_fps                                              */
    int width, height;    /* coded size of the stream; folder: size of the first JPEG        */
    int64_t n_keyframes;  /* keyframe packets (folder: n_frames, every file is a keyframe)   */
    int is_folder;        /* 1 for a JPEG frame folder                                       */
    int pts_ordered;      /* 1: frames located by pts; 0: no usable timestamps, frames are
                             counted by decoding from the start (slow, still exact)           */
    const char *codec;    /* decoder name ("h264", "mjpeg", ...); borrowed from the handle   */
    const char *path;     /* borrowed from the handle                                        */
} ds_video_info;

/* Opens path: a video file, or a directory of *.jpg / *.jpeg files (sorted by name, frame i =
 * i-th file) played at folder_fps frames per second (folder_fps <= 0 means 3, MVBench's
 * rate; ignored for files). Reads every video packet once (no decoding) to build the
 * decord-compatible frame index. On success *out is a new handle (free with ds_video_free).
 * Errors (status < 0, one line in err naming the file): missing file, not a video, audio-only,
 * zero frames, truncated (fewer packets than the container's own frame count, or a corrupt
 * last packet). */
int ds_video_open(const char *path, double folder_fps, ds_video_t **out, char *err, size_t err_len);

/* Fills *info (pointers borrowed from v, valid until ds_video_free). */
void ds_video_get_info(const ds_video_t *v, ds_video_info *info);

/* Frees the handle; NULL is a no-op. */
void ds_video_free(ds_video_t *v);

/* ---- sampling + preprocessing ------------------------------------------------------------ */

typedef struct {
    int n_frames;          /* N >= 1 (default 32)                                              */
    ds_sample_rule rule;   /* default DS_SAMPLE_LINSPACE                                       */
    ds_seek_mode seek;     /* default DS_SEEK_EXACT                                            */
    int clip;              /* 1: sample inside [start_s, end_s] (ds_clip_range)                */
    double start_s, end_s;
    int size;              /* output side S (default 384); 0 = no preprocessing (pixels NULL) */
    float mean[3], std[3]; /* normalisation (default 0.5, 0.5: SigLIP)                         */
    int n_threads;         /* total CPU threads for decoding; 0 = all online CPUs             */
    int keep_rgb;          /* 1: also return the native-size RGB24 frames in ds_frames.rgb     */
} ds_video_params;

/* Defaults: 32 frames, linspace, exact, clip off, 384, mean = std = 0.5, all CPUs, no rgb. */
ds_video_params ds_video_default_params(void);

typedef struct {
    int n;               /* frames returned (= params.n_frames)                                */
    int size;            /* S, 0 when params.size was 0                                        */
    float *pixels;       /* [n][3][S][S] float32, R,G,B planes, (x/255 - mean)/std; or NULL    */
    int64_t *indices;    /* [n] frame index actually returned (keyframe mode: the keyframe)    */
    int64_t *requested;  /* [n] frame index the rule asked for                                 */
    double *timestamps;  /* [n] indices[i] / avg_fps, seconds                                  */
    int64_t first_index, last_index; /* the sampled range (clip bounds in frames)             */
    int64_t n_decoded;   /* frames the decoder produced (work measure, all workers)           */
    int64_t n_substituted; /* wanted frames that never came out of the decoder and were
                              replaced by the previous decoded frame (decord's behaviour)    */
    int n_workers;       /* parallel seek workers used                                         */
    int width, height;   /* native frame size (of the first returned frame)                    */
    uint8_t *rgb;        /* keep_rgb: [n][height][width][3] RGB24; else NULL                   */
} ds_frames;

/* Samples p->n_frames frames of v by p->rule (inside the clip when p->clip), decodes them
 * (p->seek) and preprocesses them. On success fills *out (caller frees with ds_frames_free);
 * on failure *out is zeroed and err names the file and the reason. A folder whose JPEGs differ
 * in size is fine unless keep_rgb is set (then an error). */
int ds_video_sample(ds_video_t *v, const ds_video_params *p, ds_frames *out, char *err, size_t err_len);

/* Convenience: ds_video_open + ds_video_sample + ds_video_free. When info is non-NULL it
 * receives the video's info (its path/codec pointers are NULL: the handle is gone). */
int ds_video_sample_path(const char *path, double folder_fps, const ds_video_params *p, ds_frames *out,
                         ds_video_info *info, char *err, size_t err_len);

/* Frees the arrays of f and zeroes it (safe on a zeroed or already freed struct). */
void ds_frames_free(ds_frames *f);

/* Decodes every frame of v in order, keeping only the frames whose indices are listed
 * (sorted or not, repeats allowed) as native RGB24 into rgb_out [n][height][width][3]
 * (caller-allocated, width/height from ds_video_get_info). The brute-force reference the
 * seeking path is tested and benchmarked against. n_threads as in ds_video_params.
 * *n_decoded (may be NULL) receives the number of frames decoded. */
int ds_video_decode_all_keep(ds_video_t *v, const int64_t *indices, int n, int n_threads, uint8_t *rgb_out,
                             int64_t *n_decoded, char *err, size_t err_len);

/* ---- Pillow-compatible resize and SigLIP normalisation ----------------------------------- */

/* Resizes an 8-bit interleaved image src [sh][sw][ch] (row stride src_stride bytes) to
 * dst [dh][dw][ch] (tightly packed) exactly as Pillow's Image.resize(BICUBIC, reducing_gap=None)
 * does for 8-bit modes: separable, horizontal pass first into an 8-bit temporary (only the rows
 * the vertical pass needs), Keys cubic a = -0.5 with support 2*max(scale,1), fixed-point weights
 * with 22 fractional bits. ch in 1..4. Returns 0, or -1 on bad sizes / out of memory. */
int ds_resize_bicubic_u8(const uint8_t *src, int sw, int sh, size_t src_stride, int ch, uint8_t *dst, int dw,
                         int dh);

/* RGB24 [h][w][3] (row stride `stride` bytes) -> squash-resize to S x S (Pillow bicubic) ->
 * float32 CHW [3][S][S], value = (float)(x * (1/255.0)) then (v - mean[c]) / std[c] in float32
 * (SigLipImageProcessor: rescale in float64 then cast, normalise in float32).
 * Returns 0, or -1 on bad sizes / out of memory. */
int ds_preprocess_rgb(const uint8_t *rgb, int w, int h, size_t stride, int S, const float mean[3],
                      const float std[3], float *out);

/* ---- Qwen2.5-VL preprocessing (qwen-vl-utils + the HF processor; spec qwen25vl.md §2) -------- */

typedef struct {
    int nframes;          /* > 0: qwen-vl-utils "nframes" (rounded half-even to even); <= 0: fps mode */
    double fps;           /* fps mode: sampling rate (default 2.0) */
    int min_frames;       /* fps mode (default 4) */
    int max_frames;       /* fps mode; <= 0: min(768, total) */
    int64_t min_pixels;   /* per frame; <= 0: 128 * 28^2 = 100352 (the video default) */
    int64_t max_pixels;   /* per frame; <= 0: not given (the budget rule alone) */
    double total_pixels;  /* <= 0: 128000 * 28^2 * 0.9 */
    int factor;           /* patch * merge (28) */
} ds_qwen_video_params;

/* nframes 32, fps 2, min_frames 4, the qwen-vl-utils pixel defaults, factor 28. */
ds_qwen_video_params ds_qwen_video_default_params(void);

/* qwen-vl-utils smart_nframes for a video of `total` frames at video_fps. 0, or -1 with err
 * when the result is outside [2, total]. */
int ds_qwen_nframes(const ds_qwen_video_params *p, int64_t total, double video_fps, int *n, char *err,
                    size_t err_len);

/* torch.linspace(start, end, n) in float32, rounded half to even: idx[n]. */
void ds_qwen_frame_indices(int64_t start, int64_t end, int n, int64_t *idx);

/* The per-frame pixel budget of fetch_video for n frames: min = min_pixels,
 * max = min(given max_pixels, max(min(768 f^2, total / n * 2), int(min * 1.05))). */
void ds_qwen_frame_budget(const ds_qwen_video_params *p, int n, double *min_px, double *max_px);

/* qwen-vl-utils smart_resize (Python float arithmetic, round half to even, the max(f, .) floor):
 * the resized (h, w), multiples of factor. 0, or -1 with err (aspect ratio > 200, bad sizes). */
int ds_qwen_smart_resize(int H, int W, int factor, double min_px, double max_px, int *h_out, int *w_out, char *err,
                         size_t err_len);

/* torchvision resize(BICUBIC, antialias=True) of one uint8 RGB frame src [sh][sw][3] to dst
 * [dh][dw][3], bit for bit as PyTorch's scalar CPU kernel (see qwen_frames.c). 0 or -1. */
int ds_qwen_resize_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw);

/* The HF Qwen2VLImageProcessor on T resized frames [T][h][w][3] (uint8): rescale by 1/255,
 * normalise with the CLIP mean / std, repeat the last frame when T is odd, and write
 * pixel_values_videos rows [ceil(T/tp) * (h/patch) * (w/patch)][3 * tp * patch^2] in merge-unit
 * order (row ((t (gh/m) + bh) (gw/m) + bw) m^2 + mh m + mw; column ((c tp + f) patch + y) patch
 * + x). h, w multiples of patch * merge. 0 or -1. */
int ds_qwen_patchify(const uint8_t *frames, int T, int h, int w, int tp, int patch, int merge, float *rows);

/* ---- a small video writer (tests, benchmark, synth) -------------------------------------- */

typedef struct ds_vwriter ds_vwriter_t; /* opaque */

typedef struct {
    int width, height;     /* even sizes                                                       */
    int fps;               /* constant frame rate (frames per second, integer)                 */
    int gop;               /* keyframe interval in frames (exact: no scene-cut keyframes)      */
    int max_b_frames;      /* B-frames between references (H.264/MPEG-4); default 2            */
    const char *codec;     /* "auto" (libx264, else mpeg4), "h264", "mpeg4"                    */
    const char *preset;    /* libx264 preset (default "veryfast")                              */
    int crf;               /* libx264 CRF (default 23); mpeg4 uses qscale 4                    */
    int threads;           /* encoder threads (default 1: deterministic output)                */
} ds_vwriter_params;

/* Defaults: 320x240, 25 fps, gop 25, 2 B-frames, codec "auto", preset "veryfast", crf 23, 1 thread. */
ds_vwriter_params ds_vwriter_default_params(void);

/* Creates path (the container is chosen from the extension: .mp4, .mkv, .avi, ...) and opens
 * the encoder. On success *out is a handle; call ds_vwriter_close to finish the file. */
int ds_vwriter_open(const char *path, const ds_vwriter_params *p, ds_vwriter_t **out, char *err, size_t err_len);

/* Name of the encoder in use ("libx264" or "mpeg4"); borrowed. */
const char *ds_vwriter_codec(const ds_vwriter_t *w);

/* Appends one frame given as RGB24 [height][width][3] (tightly packed). */
int ds_vwriter_put_rgb(ds_vwriter_t *w, const uint8_t *rgb, char *err, size_t err_len);

/* Appends one frame given as YUV 4:2:0 planes (tightly packed: y [h][w], u and v [h/2][w/2]),
 * limited range BT.601. Faster than RGB for large synthetic videos. */
int ds_vwriter_put_yuv420(ds_vwriter_t *w, const uint8_t *y, const uint8_t *u, const uint8_t *v, char *err,
                          size_t err_len);

/* Flushes the encoder, writes the trailer and frees w (also on error). NULL is a no-op
 * returning 0. Returns 0 or a negative status. */
int ds_vwriter_close(ds_vwriter_t *w, char *err, size_t err_len);

/* 1 when this FFmpeg build has the libx264 encoder. */
int ds_have_libx264(void);

/* ---- synthetic MVBench-format benchmark -------------------------------------------------- */

typedef enum {
    DS_SYNTH_BASIC = 0,   /* 2 questions per video: square colours, scene cuts (the default)   */
    DS_SYNTH_SALIENT = 1, /* 4 questions per video that need particular frames and regions    */
} ds_synth_suite;

typedef enum {
    DS_SYNTH_TEST = 0,    /* the evaluation split                                              */
    DS_SYNTH_TRAIN = 1,   /* a disjoint stream of the same generator (salient suite only)      */
} ds_synth_split;

typedef struct {
    ds_synth_suite suite; /* default DS_SYNTH_BASIC                                            */
    ds_synth_split split; /* default DS_SYNTH_TEST                                             */
    uint64_t seed;        /* everything (colours, motion, cuts, answer order) derives from it */
    int n_videos;         /* basic 2..64, salient 1..4096; default 8                           */
    int width, height;    /* default 160x120                                                   */
    int fps;              /* default 25                                                        */
    int n_video_frames;   /* frames per video, default 200 (8 s)                               */
    const char *codec;    /* as ds_vwriter_params.codec, default "auto"                        */
} ds_synth_params;

ds_synth_params ds_synth_default_params(void);

#define DS_SYNTH_MAX_TASKS 4

typedef struct {
    int n_videos;
    int n_questions;
    int n_tasks;
    char task_json[DS_SYNTH_MAX_TASKS][64]; /* manifest file names under DIR/json/            */
    char task_dir[DS_SYNTH_MAX_TASKS][64];  /* video folder of each task under DIR/videos/    */
    int task_questions[DS_SYNTH_MAX_TASKS];
    char codec[16];                         /* encoder used ("libx264" or "mpeg4")            */
} ds_synth_result;

/* Parses "basic" | "salient" and "test" | "train"; return 0 or -1. */
int ds_synth_suite_parse(const char *s, ds_synth_suite *out);
int ds_synth_split_parse(const char *s, ds_synth_split *out);

/* Writes the synthetic benchmark into dir (created if missing), using real MVBench task names
 * and main-branch folders so the MVBench adapter resolves the videos unchanged:
 *   dir/json/moving_attribute.json   dir/videos/clevrer/video_validation/synth_NN.mp4
 *   dir/json/scene_transition.json   dir/videos/scene_qa/video/synth_NN.mp4
 * Records: [{"video": "synth_NN.mp4", "question", "candidates" (3-4), "answer" (= a candidate's
 * text)}]. moving_attribute asks the colour of the moving / the static square; scene_transition
 * asks the number of scene cuts (0..3) and the final background colour. Videos alternate
 * between the two tasks; 2 questions per video. Deterministic from p->seed (identical bytes for
 * the same seed, FFmpeg build and codec). Fills *res when non-NULL.
 *
 * The salient suite (p->suite = DS_SYNTH_SALIENT) is built for 8-frame linspace sampling: a video
 * is 8 shots of n_video_frames / 8 frames (n_video_frames >= 64), and the k-th of 8 linspace
 * frames always falls in shot k. Each video holds a white square moving straight across the
 * picture (left, right, up or down), a circle (red, green, blue or yellow) shown during exactly
 * one shot, and a small lamp in the top-left corner lit during 1..4 non-adjacent shots, on one of
 * four dark backgrounds. Four questions per video, one per MVBench task, candidates in a fixed
 * order per task (the gold letter is uniform over A..D):
 *   moving_direction     which direction the white square moves       left/right/up/down
 *   moving_attribute     the colour of the circle shown briefly        red/green/blue/yellow
 *   moving_count         how many times the lamp lights up             1/2/3/4
 *   object_shuffle       where in the picture the circle appears       top/bottom left/right
 * Videos: dir/videos/clevrer/video_validation/NAME and a copy in dir/videos/perception/videos/NAME
 * (object_shuffle's MVBench folder), NAME = test_NNNN.mp4 or train_NNNN.mp4. The train split
 * draws from a stream disjoint from the test split's for the same seed. */
int ds_synth_write(const char *dir, const ds_synth_params *p, ds_synth_result *res, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
