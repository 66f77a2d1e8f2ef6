/* cmd_frames.c - tango-bench frames VIDEO: sample N frames of a video (or of a [start,end] clip,
 * or of a JPEG frame folder at --fps), preprocess them for SigLIP and write a float32 .npy of
 * shape (N, 3, S, S); print the frame indices and timestamps. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "datasets/video.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/npy.h"
#include "common/clock.h"


int cmd_frames(int argc, char **argv) {
    int64_t n = 32, size = 384, threads = 0;
    double start = -1.0, end = -1.0, fps = 3.0;
    const char *rule_s = "linspace", *seek_s = "exact", *out = NULL;
    int quiet = 0;
    const cli_opt opts[] = {
        {"n", CLI_INT, &n, "N", "number of frames to sample", .min = 1, .max = 100000},
        {"start", CLI_DOUBLE, &start, "S", "clip start in seconds, with --end (-1: whole video)"},
        {"end", CLI_DOUBLE, &end, "E", "clip end in seconds, clamped to the video (-1: whole video)"},
        {"rule", CLI_STR, &rule_s, "RULE", "index rule: linspace (LLaVA), centred (VLMEvalKit/MVBench), interior"},
        {"seek", CLI_STR, &seek_s, "MODE", "exact (decode forward from the keyframe) or keyframe (snap, fast)"},
        {"size", CLI_INT, &size, "S", "output side in pixels (squash resize, Pillow bicubic)", .min = 1, .max = 8192},
        {"fps", CLI_DOUBLE, &fps, "F", "frame rate of a JPEG frame folder", .min = 0.001, .max = 1000},
        {"threads", CLI_INT, &threads, "N", "decoding threads (0 = all CPUs)", .min = 0, .max = 256},
        {"out", CLI_STR, &out, "FILE", "output .npy (float32, shape (N, 3, S, S))", .required = 1},
        {"quiet", CLI_FLAG, &quiet, NULL, "do not print the per-frame table"},
        {0}};
    const cli_spec spec = {"frames", "VIDEO", 1, 1,
                           "sample and preprocess video frames (file or JPEG folder) into .npy", opts};
    char *pos[1];
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    ds_video_params p = ds_video_default_params();
    if (ds_sample_rule_parse(rule_s, &p.rule))
        return cli_usage_error(&spec, "--rule: unknown rule '%s' (linspace, centred, interior)", rule_s);
    if (ds_seek_mode_parse(seek_s, &p.seek))
        return cli_usage_error(&spec, "--seek: unknown mode '%s' (exact, keyframe)", seek_s);
    int has_start = start != -1.0, has_end = end != -1.0;
    if (has_start != has_end) return cli_usage_error(&spec, "--start and --end go together");
    if (has_start && (start < 0 || end < start))
        return cli_usage_error(&spec, "clip [%g, %g]: need 0 <= start <= end", start, end);
    p.n_frames = (int)n;
    p.size = (int)size;
    p.n_threads = (int)threads;
    p.clip = has_start;
    p.start_s = start;
    p.end_s = end;

    char err[1024];
    ds_video_t *v = NULL;
    double t0 = tb_now_s();
    int rc = ds_video_open(pos[0], fps, &v, err, sizeof err);
    if (rc) {
        fprintf(stderr, "tango-bench frames: %s\n", err);
        return 1;
    }
    double t1 = tb_now_s();
    ds_video_info in;
    ds_video_get_info(v, &in);
    printf("video: %s (%s, %dx%d, %lld frames, %.3f fps, %.2f s, %lld keyframes%s)\n", in.path,
           in.is_folder ? "JPEG folder" : in.codec, in.width, in.height, (long long)in.n_frames, in.avg_fps,
           in.duration_s, (long long)in.n_keyframes, in.pts_ordered ? "" : ", no usable timestamps: sequential decoding");
    ds_frames f;
    rc = ds_video_sample(v, &p, &f, err, sizeof err);
    double t2 = tb_now_s();
    if (rc) {
        fprintf(stderr, "tango-bench frames: %s\n", err);
        ds_video_free(v);
        return rc == DS_VIDEO_ERR_ARG ? 2 : 1;
    }
    printf("sampled %d frames (%s, %s) from frames %lld..%lld: open %.3f s, decode+preprocess %.3f s "
           "(%lld frames decoded, %d workers%s)\n",
           f.n, ds_sample_rule_str(p.rule), ds_seek_mode_str(p.seek), (long long)f.first_index,
           (long long)f.last_index, t1 - t0, t2 - t1, (long long)f.n_decoded, f.n_workers,
           f.n_substituted ? ", some frames substituted by their predecessor" : "");
    if (f.n_substituted) printf("warning: %lld frames never came out of the decoder; the previous frame was used\n", (long long)f.n_substituted);
    if (!quiet) {
        printf("%5s %10s %10s %12s\n", "i", "index", "requested", "time_s");
        for (int i = 0; i < f.n; i++)
            printf("%5d %10lld %10lld %12.6f\n", i, (long long)f.indices[i], (long long)f.requested[i], f.timestamps[i]);
    }
    printf("indices: ");
    for (int i = 0; i < f.n; i++) printf("%s%lld", i ? "," : "", (long long)f.indices[i]);
    printf("\ntimestamps: ");
    for (int i = 0; i < f.n; i++) printf("%s%.2fs", i ? "," : "", f.timestamps[i]);
    printf("\n");
    int64_t shape[4] = {f.n, 3, f.size, f.size};
    if (npy_write(out, NPY_F32, f.pixels, 4, shape, err, sizeof err)) {
        fprintf(stderr, "tango-bench frames: %s\n", err);
        ds_frames_free(&f);
        ds_video_free(v);
        return 1;
    }
    printf("wrote %s: float32 (%d, 3, %d, %d)\n", out, f.n, f.size, f.size);
    ds_frames_free(&f);
    ds_video_free(v);
    return 0;
}
