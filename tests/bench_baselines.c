/* bench_baselines.c - wall time of the pre-LLM part of every baseline (the registered run()
 * call: selection, merging, assembly, accounting) on one synthetic LLaVA-OneVision-sized video,
 * 32 frames x 196 tokens x 3584 channels, with 2 threads (OpenMP and OpenBLAS), next to Tango
 * measured in the same run on the same input. Target: each <= 100 ms. Each method runs at the
 * solved knobs for r = 0.10 (and HoliTom / FastVID also at 0.20); the median of 3 timed runs after
 * one warm-up is reported with the realised equivalent retention, and the median process CPU time
 * (both threads; on a machine shared with other jobs the wall time is inflated, the CPU time
 * much less).
 *
 * Usage: bench_baselines [-r REPS]. Exit status 1 only on errors (a method failing), never on
 * timing: the table says which methods exceed the target. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baselines/baselines.h"
#include "harness/registry.h"
#include "tango/primitives.h"

#define T 32
#define H 14
#define L (H * H)
#define D 3584
#define TARGET_MS 100.0

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int reps = 3;
    if (argc == 3 && !strcmp(argv[1], "-r")) {
        long v = strtol(argv[2], NULL, 10);
        reps = v > 0 && v <= 16 ? (int)v : 3;
    }
    omp_set_num_threads(2);
    openblas_set_num_threads(2);
    float *F = malloc(sizeof(float) * (size_t)T * L * D), *A = malloc(sizeof(float) * T * L);
    float *AR = malloc(sizeof(float) * T * L), *G = malloc(sizeof(float) * T * 1152), *ts = malloc(sizeof(float) * T);
    float *base = malloc(sizeof(float) * (size_t)L * D);
    if (!F || !A || !AR || !G || !ts || !base) {
        fprintf(stderr, "bench_baselines: out of memory\n");
        return 1;
    }
    /* scenes of 4 frames (their global vectors differ, so FastVID's DySeg finds 8 segments of 4);
     * 40 % of positions nearly frozen within a scene. Gw: one global direction for the whole video
     * (FastVID's worst case: 7 forced cuts, one segment of 25 frames). */
    float *Gw = malloc(sizeof(float) * T * 1152);
    if (!Gw) return 1;
    tg_rng r;
    tg_rng_seed(&r, 1);
    for (int t = 0; t < T; t++) {
        if (t % 4 == 0)
            for (size_t i = 0; i < (size_t)L * D; i++) base[i] = tg_rng_uniform(&r) - 0.5f;
        for (int l = 0; l < L; l++) {
            float amp = (l % 5 < 2) ? 0.01f : 0.6f;
            float *row = F + ((size_t)t * L + l) * D;
            for (int d = 0; d < D; d++) row[d] = base[(size_t)l * D + d] + amp * (tg_rng_uniform(&r) - 0.5f);
            A[t * L + l] = tg_rng_uniform(&r);
            AR[t * L + l] = tg_rng_uniform(&r);
        }
        for (int g = 0; g < 1152; g++) {
            G[t * 1152 + g] = (t % 4 == 0 ? tg_rng_uniform(&r) - 0.5f : G[(t - 1) * 1152 + g] + 0.01f * (tg_rng_uniform(&r) - 0.5f));
            Gw[t * 1152 + g] = 1.0f + 0.001f * tg_rng_uniform(&r) + (t == 20 ? 0.1f * (tg_rng_uniform(&r) - 0.5f) : 0.0f);
        }
        ts[t] = 0.5f * (float)t;
    }
    struct {
        const char *method;
        double r;
        int worst;
    } runs[] = {{"tango", 0.10, 0},   {"fastv", 0.10, 0},   {"visionzip", 0.10, 0}, {"holitom", 0.10, 0},
                {"holitom", 0.20, 0}, {"fastvid", 0.10, 0}, {"fastvid", 0.20, 0},   {"fastvid", 0.20, 1},
                {"full", 1.0, 0},     {"uniform", 0.10, 0}, {"uniform-frames", 0.10, 0}, {"random", 0.10, 0},
                {"topk", 0.10, 0},    {"dart", 0.10, 0},    {"vidcom2", 0.10, 0}};
    int n_runs = (int)(sizeof runs / sizeof runs[0]);
    printf("pre-LLM pruning, %d x %d x %d float32, 2 threads, median of %d (target <= %.0f ms)\n", T, L, D, reps,
           TARGET_MS);
    printf("%-16s %5s %10s %8s %8s %8s %8s  %s\n", "method", "r", "median ms", "cpu ms", "x tango", "kept", "equiv", "");
    double tango_ms = 0;
    int rc = 0;
    for (int i = 0; i < n_runs; i++) {
        const tg_method *m = reg_method_find(runs[i].method);
        if (!m) {
            printf("%-16s not registered\n", runs[i].method);
            rc = 1;
            continue;
        }
        tg_prune_input in = tg_prune_input_default();
        in.features = F;
        in.n_frames = T;
        in.n_tokens = L;
        in.dim = D;
        in.grid_h = in.grid_w = H;
        in.model = tg_model_layout_default(TB_FAMILY_LLAVA_OV, 28, D);
        in.saliency = A;
        in.saliency_recv = AR;
        in.frame_global = runs[i].worst ? Gw : G;
        in.global_dim = 1152;
        in.timestamps = ts;
        in.ratio = runs[i].r;
        in.n_threads = 2;
        double times[16], cpus[16];
        int nt = reps < 16 ? reps : 16;
        tg_prune_output out;
        char err[256];
        int failed = 0;
        for (int k = 0; k <= nt && !failed; k++) {
            double t0 = now_ms(), c0 = cpu_ms();
            int st = m->run(&in, &out, err, sizeof err);
            double dt = now_ms() - t0, dc = cpu_ms() - c0;
            if (st) {
                printf("%-16s error: %s\n", runs[i].method, err);
                failed = 1;
                rc = 1;
                break;
            }
            if (k > 0) {
                times[k - 1] = dt;
                cpus[k - 1] = dc;
            }
            if (k < nt) tg_prune_output_free(&out);
        }
        if (failed) continue;
        qsort(times, (size_t)nt, sizeof *times, cmp_d);
        qsort(cpus, (size_t)nt, sizeof *cpus, cmp_d);
        double med = times[nt / 2], cmed = cpus[nt / 2];
        if (!strcmp(runs[i].method, "tango")) tango_ms = med;
        char name[64];
        snprintf(name, sizeof name, "%s%s", runs[i].method, runs[i].worst ? " (worst)" : "");
        printf("%-16s %5.2f %10.1f %8.1f %8.2f %8lld %8.4f  %s\n", name, runs[i].r, med, cmed,
               tango_ms > 0 ? med / tango_ms : 0.0, (long long)out.n_kept, out.equiv_retention,
               med <= TARGET_MS ? "ok" : "OVER TARGET");
        tg_prune_output_free(&out);
    }
    free(F);
    free(A);
    free(AR);
    free(G);
    free(Gw);
    free(ts);
    free(base);
    return rc;
}
