/* cmd_synth.c - tango-bench synth DIR: write the synthetic benchmark (short libavcodec videos
 * and an MVBench-format manifest) and print what was written. */
#include <stdio.h>
#include <time.h>

#include "datasets/video.h"
#include "harness/cli.h"
#include "harness/commands.h"

int cmd_synth(int argc, char **argv) {
    int64_t seed = 1, videos = 8, frames = 200, width = 160, height = 120, fps = 25;
    const char *codec = "auto", *suite = "basic", *split = "test";
    const cli_opt opts[] = {
        {"suite", CLI_STR, &suite, "NAME",
         "basic (2 questions per video) or salient (4 questions that need particular frames and regions)"},
        {"split", CLI_STR, &split, "NAME", "salient suite: test or train (a disjoint stream of the same generator)"},
        {"seed", CLI_INT, &seed, "N", "random seed (everything derives from it)", .min = 0, .max = 9e18},
        {"videos", CLI_INT, &videos, "N", "number of videos (basic: 2..64, salient: 1..4096)", .min = 1, .max = 4096},
        {"frames", CLI_INT, &frames, "N", "frames per video", .min = 20, .max = 100000},
        {"width", CLI_INT, &width, "W", "frame width (even)", .min = 64, .max = 4096},
        {"height", CLI_INT, &height, "H", "frame height (even)", .min = 64, .max = 4096},
        {"fps", CLI_INT, &fps, "F", "frame rate", .min = 1, .max = 240},
        {"codec", CLI_STR, &codec, "NAME", "auto (libx264, else mpeg4), h264 or mpeg4"},
        {0}};
    const cli_spec spec = {"synth", "DIR", 1, 1, "write the synthetic benchmark (videos + MVBench-format manifest)",
                           opts};
    char *pos[1];
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    if ((width & 1) || (height & 1)) return cli_usage_error(&spec, "--width and --height must be even");
    ds_synth_params p = ds_synth_default_params();
    if (ds_synth_suite_parse(suite, &p.suite)) return cli_usage_error(&spec, "--suite must be basic or salient");
    if (ds_synth_split_parse(split, &p.split)) return cli_usage_error(&spec, "--split must be test or train");
    if (p.suite == DS_SYNTH_BASIC && p.split != DS_SYNTH_TEST)
        return cli_usage_error(&spec, "--split train exists only for --suite salient");
    p.seed = (uint64_t)seed;
    p.n_videos = (int)videos;
    p.n_video_frames = (int)frames;
    p.width = (int)width;
    p.height = (int)height;
    p.fps = (int)fps;
    p.codec = codec;
    char err[1024];
    ds_synth_result r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = ds_synth_write(pos[0], &p, &r, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fprintf(stderr, "tango-bench synth: %s\n", err);
        return rc == DS_VIDEO_ERR_ARG ? 2 : 1;
    }
    double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("synth: %d videos (%s, %dx%d, %d frames at %d fps), %d questions, seed %lld, %.2f s\n", r.n_videos, r.codec,
           p.width, p.height, p.n_video_frames, p.fps, r.n_questions, (long long)seed, dt);
    for (int t = 0; t < r.n_tasks; t++)
        printf("  %s/json/%s: %d questions, videos in %s/videos/%s/\n", pos[0], r.task_json[t], r.task_questions[t],
               pos[0], r.task_dir[t]);
    printf("read it with: tango-bench samples mvbench --manifest %s/json --videos %s/videos\n", pos[0], pos[0]);
    return 0;
}
