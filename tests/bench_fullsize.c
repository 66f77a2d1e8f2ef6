/* bench_fullsize.c - one full-size sample on this machine (make bench): the LLaVA-OneVision-7B-shaped
 * random-weight checkpoint of `make fullsize-model` (16 GB of bf16, read through the mapped files),
 * a synthetic video, 32 frames, through the code path of `tango-bench infer` / `run`: once with
 * full tokens, once with Tango at 10 % (the video's decode and encode are shared, as the runner
 * shares them). Prints per-stage times (start-up excluded: the load is timed apart), the vision
 * and LLM-prefill GFLOP/s (spec FLOP formulas: fl_vision_frame_flops, fl_prefill_flops) next to
 * OpenBLAS sgemm GFLOP/s on the same GEMM shapes measured in the same run, their ratio, and the
 * peak RSS of the process.
 *
 * Targets: vision and prefill >= 0.7 of sgemm; peak RSS < 20 GB (decimal).
 *
 * The checkpoint: $TB_FULLSIZE_MODEL, default $HOME/.cache/tango-bench/llava-ov-7b (generate it
 * with `make fullsize-model`). Absent: the benchmark prints a TB-SKIP line and exits 0.
 * TB_FULLSIZE_FRAMES overrides the frame count (default 32). Exit status 1 when a sample fails
 * or a target is missed with -s (strict); otherwise 0 (a shared machine makes speed noisy). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "datasets/video.h"
#include "harness/flops.h"
#include "harness/session.h"

/* GFLOP/s of cblas_sgemm over the listed (n, k, m) shapes, each y[n,m] = x[n,k] w[m,k]^T with
 * float32 weights, one warm-up call each, then the whole list reps times. */
static double sgemm_mix_gflops(const int64_t (*sh)[3], int n_sh, int reps) {
    double flop = 0, secs = 0;
    for (int s = 0; s < n_sh; s++) {
        int n = (int)sh[s][0], k = (int)sh[s][1], m = (int)sh[s][2];
        float *x = malloc((size_t)n * k * sizeof *x), *w = malloc((size_t)m * k * sizeof *w),
              *y = malloc((size_t)n * m * sizeof *y);
        if (!x || !w || !y) {
            free(x), free(w), free(y);
            return 0;
        }
        for (size_t i = 0; i < (size_t)n * k; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        for (size_t i = 0; i < (size_t)m * k; i++) w[i] = (float)((i * 104729) % 1000) * 2e-5f - 0.01f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1.0f, x, k, w, k, 0.0f, y, m);
        double t0 = tb_now_s();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1.0f, x, k, w, k, 0.0f, y, m);
        secs += tb_now_s() - t0;
        flop += 2.0 * n * (double)k * m * reps;
        free(x), free(w), free(y);
    }
    return secs > 0 ? flop / secs * 1e-9 : 0;
}

static void print_answer(const char *label, const run_answer *a) {
    printf("%-14s visual %5lld -> %5lld, text %4lld | decode %7.2f s  vision %8.2f s  prune %6.3f s  prefill %8.2f s"
           "  generate %6.2f s (%lld tokens)\n",
           label, (long long)a->n_visual_in, (long long)a->n_seq, (long long)a->n_text, a->ms[DB_STAGE_DECODE] / 1e3,
           a->ms[DB_STAGE_VISION] / 1e3, a->ms[DB_STAGE_PRUNE] / 1e3, a->ms[DB_STAGE_PREFILL] / 1e3,
           a->ms[DB_STAGE_GENERATE] / 1e3, (long long)a->n_generated);
}

int main(int argc, char **argv) {
    int strict = argc > 1 && !strcmp(argv[1], "-s");
    char model[2048], cfgp[2100], err[1024];
    const char *env = getenv("TB_FULLSIZE_MODEL"), *home = getenv("HOME");
    if (env && *env) snprintf(model, sizeof model, "%s", env);
    else snprintf(model, sizeof model, "%s/.cache/tango-bench/llava-ov-7b", home ? home : ".");
    snprintf(cfgp, sizeof cfgp, "%s/config.json", model);
    struct stat sb;
    if (stat(cfgp, &sb) != 0) {
        printf("TB-SKIP: bench_fullsize: no full-size checkpoint at %s (make fullsize-model writes one: 16 GB; or set "
               "TB_FULLSIZE_MODEL)\n",
               model);
        return 0;
    }
    int frames = getenv("TB_FULLSIZE_FRAMES") ? (int)strtol(getenv("TB_FULLSIZE_FRAMES"), NULL, 10) : 32;
    if (frames < 1 || frames > 256) frames = 32;

    /* a synthetic video: 30 s at 25 fps, 320x240 */
    char vdir[2048];
    const char *build = getenv("TB_BUILD");
    snprintf(vdir, sizeof vdir, "%s/tmp/bench_fullsize-%d", build ? build : "build", (int)getpid());
    ds_synth_params sp = ds_synth_default_params();
    sp.n_videos = 2; /* the synthetic benchmark's minimum; the first is used */
    sp.width = 320;
    sp.height = 240;
    sp.n_video_frames = 750;
    ds_synth_result sr;
    if (ds_synth_write(vdir, &sp, &sr, err, sizeof err)) {
        fprintf(stderr, "bench_fullsize: %s\n", err);
        return 1;
    }
    char video[4200];
    snprintf(video, sizeof video, "%s/videos/%s/synth_00.mp4", vdir, sr.task_dir[0]);
    if (stat(video, &sb) != 0) snprintf(video, sizeof video, "%s/videos/%s/synth_01.mp4", vdir, sr.task_dir[0]);

    printf("bench_fullsize: %s, %d frames, cpu backend\n", model, frames);
    double t0 = tb_now_s();
    run_model_spec ms = run_model_spec_default();
    ms.path = model;
    ms.n_frames = frames;
    run_session *s = NULL;
    if (run_session_open(&ms, &s, err, sizeof err)) {
        fprintf(stderr, "bench_fullsize: %s\n", err);
        return 1;
    }
    printf("start-up (load, map and fault in the weights; not in any stage time): %.1f s\n", tb_now_s() - t0);

    ds_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.bench = DS_BENCH_VIDEOMME;
    smp.id = "fullsize";
    smp.video = video;
    smp.question = "What happens in the video?";
    smp.start = smp.end = smp.duration = NAN;
    smp.gold = 'A';
    char o0[] = "a square moves", o1[] = "nothing moves", o2[] = "the scene cuts", o3[] = "it fades";
    char r0[] = "A. a square moves", r1[] = "B. nothing moves", r2[] = "C. the scene cuts", r3[] = "D. it fades";
    smp.options[0] = o0, smp.options[1] = o1, smp.options[2] = o2, smp.options[3] = o3;
    smp.options_raw[0] = r0, smp.options_raw[1] = r1, smp.options_raw[2] = r2, smp.options_raw[3] = r3;
    smp.n_options = 4;

    run_answer full, tango;
    run_answer_params ap = run_answer_default_params();
    ap.max_new_tokens = 8;
    run_session_answer(s, &smp, &ap, &full);
    if (full.error[0]) {
        fprintf(stderr, "bench_fullsize: full tokens: %s\n", full.error);
        return 1;
    }
    print_answer("full tokens", &full);
    ap.method = "tango";
    ap.ratio = 0.10;
    run_session_answer(s, &smp, &ap, &tango); /* the same video: decode and encode are shared */
    if (tango.error[0]) {
        fprintf(stderr, "bench_fullsize: tango: %s\n", tango.error);
        return 1;
    }
    print_answer("tango r=0.10", &tango);

    /* achieved GFLOP/s next to sgemm on the same shapes, in this run */
    fl_vision fv;
    fl_vision_siglip_so400m(&fv);
    /* + the SigLIP head's k;v projection of every patch (the rest of the head is one row per frame) */
    double head = 2.0 * 729 * 1152 * 2304;
    double vis_gf = (fl_vision_frame_flops(&fv) + head) * frames / (full.ms[DB_STAGE_VISION] / 1e3) * 1e-9;
    double pf_full = full.flops / (full.ms[DB_STAGE_PREFILL] / 1e3) * 1e-9;
    double pf_tango = tango.flops / (tango.ms[DB_STAGE_PREFILL] / 1e3) * 1e-9;
    int64_t rows_v = 4 * 729; /* eng_encode_params.frames_per_batch frames of 729 patches */
    const int64_t vsh[][3] = {{rows_v, 588, 1152},  {rows_v, 1152, 3456}, {rows_v, 1152, 1152}, {rows_v, 1152, 4304},
                              {rows_v, 4304, 1152}, {rows_v, 1152, 3584}, {rows_v, 3584, 3584}, {rows_v, 1152, 2304}};
    int64_t N = full.n_text + full.n_seq, nm = N < 1024 ? N : 1024; /* MLP_CHUNK rows */
    const int64_t lsh[][3] = {{N, 3584, 3584}, {N, 3584, 512},    {N, 3584, 512},
                              {N, 3584, 3584}, {nm, 3584, 18944}, {nm, 3584, 18944}, {nm, 18944, 3584}};
    double sg_v = sgemm_mix_gflops(vsh, 8, 2), sg_l = sgemm_mix_gflops(lsh, 7, 1);
    printf("vision          %8.1f GFLOP/s   sgemm same shapes %8.1f GFLOP/s   ratio %.2f (target >= 0.7)\n", vis_gf,
           sg_v, vis_gf / sg_v);
    printf("prefill full    %8.1f GFLOP/s   sgemm same shapes %8.1f GFLOP/s   ratio %.2f (target >= 0.7; %lld tokens, "
           "%.1f TFLOP)\n",
           pf_full, sg_l, pf_full / sg_l, (long long)N, full.flops / 1e12);
    printf("prefill tango   %8.1f GFLOP/s   (%lld tokens enter, %.2f TFLOP, equivalent retention %.4f)\n", pf_tango,
           (long long)(tango.n_text + tango.n_seq), tango.flops / 1e12, tango.retention);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double peak_gb = (double)ru.ru_maxrss * 1024.0 / 1e9;
    printf("peak RSS %.2f GB (mapped weights included; target < 20 GB)\n", peak_gb);
    int miss = vis_gf / sg_v < 0.7 || pf_full / sg_l < 0.7 || peak_gb >= 20.0;
    printf("targets: %s\n", miss ? "MISSED" : "met");
    run_answer_free(&full);
    run_answer_free(&tango);
    run_session_free(s);
    return strict && miss;
}
