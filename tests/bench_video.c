/* bench_video.c - frame sampling speed: 32 exact frames by seeking versus decoding every frame
 * and keeping 32, measured in the same run on the same file; plus the keyframe-snapping mode.
 *
 * The test video is generated once into <build>/bench/bench_720p_30fps_5min_b3.mp4 (reused when
 * present and valid): 1280x720, 30 fps, 5 minutes (9000 frames), H.264 (libx264 "ultrafast" for
 * generation speed, but with x264's default GOP structure of 3 B-frames and B-pyramid, so half
 * of the frames are non-reference as in typical x264 output) with a keyframe exactly every 250
 * frames; MPEG-4 part 2 when libx264 is missing (said so in the output). Both sides
 * use the same thread budget (all online CPUs, FFmpeg's own threading) and produce native RGB24
 * frames (no resize), so the ratio measures decoding work only; a third line times the exact
 * path with SigLIP preprocessing (384x384) for reference. The seeking result is checked byte
 * for byte against the decode-everything result. Targets: exact >= 4x, keyframe >= 20x.
 *
 * Usage: bench_video [-r REPS] [BUILD_DIR]   (default BUILD_DIR: $TB_BUILD, else the folder
 * above this binary's tests/ folder). Exit status 1 only on errors or a frame mismatch.
 */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datasets/video.h"
#include "common/clock.h"

#define BW 1280
#define BH 720
#define BFPS 30
#define BFRAMES (5 * 60 * BFPS)
#define BGOP 250
#define NSAMPLE 32


static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int generate(const char *path, char *err, size_t err_len) {
    ds_vwriter_params p = ds_vwriter_default_params();
    p.width = BW;
    p.height = BH;
    p.fps = BFPS;
    p.gop = BGOP;
    p.max_b_frames = 3; /* x264's default GOP structure: 3 B-frames, B-pyramid (one B is a reference) */
    p.preset = "ultrafast";
    p.crf = 28;
    p.threads = 2; /* generation speed only; the bench does not need identical bytes */
    ds_vwriter_t *w = NULL;
    int rc = ds_vwriter_open(path, &p, &w, err, err_len);
    if (rc) return rc;
    uint8_t *y = malloc((size_t)BW * BH), *u = malloc((size_t)BW * BH / 4), *v = malloc((size_t)BW * BH / 4);
    if (!y || !u || !v) rc = DS_VIDEO_ERR_NOMEM;
    for (int k = 0; k < BFRAMES && !rc; k++) {
        /* moving texture (so frames differ and motion compensation has work) + a frame counter bar */
        for (int r = 0; r < BH; r++)
            for (int c = 0; c < BW; c++) y[(size_t)r * BW + (size_t)c] = (uint8_t)(64 + ((((c + 3 * k) ^ (r + 2 * k)) & 0xff) >> 1));
        for (int r = 0; r < BH / 2; r++)
            for (int c = 0; c < BW / 2; c++) {
                u[(size_t)r * (BW / 2) + (size_t)c] = (uint8_t)(96 + ((c + k) & 63));
                v[(size_t)r * (BW / 2) + (size_t)c] = (uint8_t)(96 + ((r - k) & 63));
            }
        for (int b = 0; b < 14; b++) {
            uint8_t val = (k >> b) & 1 ? 235 : 16;
            for (int r = 0; r < 32; r++) memset(y + (size_t)r * BW + (size_t)b * 32, val, 32);
        }
        rc = ds_vwriter_put_yuv420(w, y, u, v, err, err_len);
    }
    free(y);
    free(u);
    free(v);
    int rc2 = ds_vwriter_close(w, rc ? NULL : err, err_len);
    return rc ? rc : rc2;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int reps = 1;
    const char *build = getenv("TB_BUILD");
    char defbuild[1024];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) reps = (int)strtol(argv[++i], NULL, 10);
        else build = argv[i];
    }
    if (reps < 1 || reps > 20) reps = 1;
    if (!build || !*build) {
        snprintf(defbuild, sizeof defbuild, "%s", argv[0]);
        char *d = dirname(defbuild); /* .../tests */
        d = dirname(d);              /* build dir */
        build = d;
    }
    char dir[1200], path[1400], err[1024];
    snprintf(dir, sizeof dir, "%s/bench", build);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/bench_720p_30fps_5min_b3.mp4", dir);
    int have_x264 = ds_have_libx264();
    printf("bench_video: %s\n", have_x264 ? "libx264 available: H.264 test video"
                                          : "libx264 NOT available in this FFmpeg build: MPEG-4 part 2 test video");
    ds_video_t *v = NULL;
    int ok = 0;
    if (ds_video_open(path, 0, &v, err, sizeof err) == 0) {
        ds_video_info in;
        ds_video_get_info(v, &in);
        ok = in.n_frames == BFRAMES && in.width == BW && in.height == BH;
        ds_video_free(v);
        v = NULL;
    }
    if (!ok) {
        printf("generating %s (%dx%d, %d fps, %d frames, keyframe every %d) ...\n", path, BW, BH, BFPS, BFRAMES, BGOP);
        fflush(stdout);
        double t0 = tb_now_s();
        if (generate(path, err, sizeof err)) {
            fprintf(stderr, "bench_video: %s\n", err);
            return 1;
        }
        printf("generated in %.1f s\n", tb_now_s() - t0);
    } else {
        printf("reusing %s\n", path);
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ds_video_open(path, 0, &v, err, sizeof err)) {
        fprintf(stderr, "bench_video: %s\n", err);
        return 1;
    }
    ds_video_info in;
    ds_video_get_info(v, &in);
    ds_video_free(v);
    v = NULL;
    printf("video: %s, %dx%d, %lld frames, %.2f fps, %lld keyframes; %ld CPUs; %d repetition(s), median reported\n",
           in.codec, in.width, in.height, (long long)in.n_frames, in.avg_fps, (long long)in.n_keyframes, ncpu, reps);

    size_t fsz = (size_t)BW * BH * 3;
    uint8_t *ref = malloc(fsz * NSAMPLE);
    double t_all[20], t_exact[20], t_key[20], t_pre[20], c_all[20], c_exact[20], c_key[20];
    int64_t dec_all = 0, dec_exact = 0, dec_key = 0;
    int mismatch = 0, workers = 0;
    int64_t idx[NSAMPLE];
    for (int r = 0; r < reps; r++) {
        /* baseline: open + decode every frame, keep 32 */
        double t0 = tb_now_s(), c0 = cpu_s();
        if (ds_video_open(path, 0, &v, err, sizeof err) ||
            ds_video_decode_all_keep(v, (ds_sample_indices(DS_SAMPLE_LINSPACE, 0, in.n_frames - 1, NSAMPLE, idx), idx),
                                     NSAMPLE, 0, ref, &dec_all, err, sizeof err)) {
            fprintf(stderr, "bench_video: %s\n", err);
            return 1;
        }
        ds_video_free(v);
        t_all[r] = tb_now_s() - t0;
        c_all[r] = cpu_s() - c0;

        /* exact seeking: open + sample 32 */
        ds_video_params p = ds_video_default_params();
        p.n_frames = NSAMPLE;
        p.size = 0;
        p.keep_rgb = 1;
        ds_frames f;
        t0 = tb_now_s();
        c0 = cpu_s();
        if (ds_video_open(path, 0, &v, err, sizeof err) || ds_video_sample(v, &p, &f, err, sizeof err)) {
            fprintf(stderr, "bench_video: %s\n", err);
            return 1;
        }
        ds_video_free(v);
        t_exact[r] = tb_now_s() - t0;
        c_exact[r] = cpu_s() - c0;
        dec_exact = f.n_decoded;
        workers = f.n_workers;
        if (memcmp(f.indices, idx, sizeof idx) || memcmp(f.rgb, ref, fsz * NSAMPLE)) mismatch = 1;
        ds_frames_free(&f);

        /* keyframe snapping */
        p.seek = DS_SEEK_KEYFRAME;
        t0 = tb_now_s();
        c0 = cpu_s();
        if (ds_video_open(path, 0, &v, err, sizeof err) || ds_video_sample(v, &p, &f, err, sizeof err)) {
            fprintf(stderr, "bench_video: %s\n", err);
            return 1;
        }
        ds_video_free(v);
        t_key[r] = tb_now_s() - t0;
        c_key[r] = cpu_s() - c0;
        dec_key = f.n_decoded;
        ds_frames_free(&f);

        /* exact + SigLIP preprocessing (for reference) */
        p.seek = DS_SEEK_EXACT;
        p.size = 384;
        p.keep_rgb = 0;
        t0 = tb_now_s();
        if (ds_video_open(path, 0, &v, err, sizeof err) || ds_video_sample(v, &p, &f, err, sizeof err)) {
            fprintf(stderr, "bench_video: %s\n", err);
            return 1;
        }
        ds_video_free(v);
        t_pre[r] = tb_now_s() - t0;
        ds_frames_free(&f);
    }
    free(ref);
    qsort(t_all, (size_t)reps, sizeof(double), cmp_d);
    qsort(t_exact, (size_t)reps, sizeof(double), cmp_d);
    qsort(t_key, (size_t)reps, sizeof(double), cmp_d);
    qsort(t_pre, (size_t)reps, sizeof(double), cmp_d);
    qsort(c_all, (size_t)reps, sizeof(double), cmp_d);
    qsort(c_exact, (size_t)reps, sizeof(double), cmp_d);
    qsort(c_key, (size_t)reps, sizeof(double), cmp_d);
    double a = t_all[reps / 2], e = t_exact[reps / 2], k = t_key[reps / 2], pr = t_pre[reps / 2];
    double ca = c_all[reps / 2], ce = c_exact[reps / 2], ck = c_key[reps / 2];
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 1) load[0] = -1;
    printf("(wall time, and CPU time of this process: the CPU ratio is the work saved, immune to other load;"
           " 1-min load average now %.2f)\n", load[0]);
    printf("decode all, keep %d      : %8.3f s wall %8.3f s CPU  (%lld frames decoded)\n", NSAMPLE, a, ca,
           (long long)dec_all);
    printf("exact seek, %d frames    : %8.3f s wall %8.3f s CPU  (%lld frames decoded, %d workers)  %.1fx faster "
           "(CPU %.1fx)  [target >= 4x: %s]\n",
           NSAMPLE, e, ce, (long long)dec_exact, workers, a / e, ca / ce, a / e >= 4.0 ? "met" : "NOT met");
    printf("keyframe seek, %d frames : %8.3f s wall %8.3f s CPU  (%lld frames decoded)  %.1fx faster (CPU %.1fx)  "
           "[target >= 20x: %s]\n",
           NSAMPLE, k, ck, (long long)dec_key, a / k, ca / ck, a / k >= 20.0 ? "met" : "NOT met");
    printf("exact + preprocess 384   : %8.3f s  (%d frames to float32 CHW)\n", pr, NSAMPLE);
    printf("exact frames identical to decode-all frames: %s\n", mismatch ? "NO (BUG)" : "yes");
    return mismatch ? 1 : 0;
}
