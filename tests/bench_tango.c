/* bench_tango.c - wall time of Tango per video at the LLaVA-OneVision shape (32 x 196 x 3584
 * float32, scenes with static regions and cuts) at r = 0.10, 0.15, 0.20: the fast path
 * (OpenBLAS GEMM distances, 2 threads) next to the plain reference path (direct-form distances,
 * no BLAS, one thread) measured in the same run, and the peak RSS (getrusage).
 *
 * Target: <= 100 ms per video on 2 cores at every ratio, memory < 512 MB.
 * Usage: bench_tango [-r REPS] [-f] [-s]   (default 5 repetitions of the fast path after one
 * warm-up; the reference path runs once per ratio; -f skips it). The verdict uses the median
 * wall time; CPU time (all threads) is printed next to it because a shared machine inflates wall
 * time. Exits 1 on a pruning error, and on a missed target only with -s (strict). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tango/pruner.h"
#include "tango/tango.h"

enum { T = 32, H = 14, W = 14, L = H * W, D = 3584 };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static float gauss(tg_rng *r) {
    float u = tg_rng_uniform(r) + 1e-7f, v = tg_rng_uniform(r);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* scenes of 2..5 frames (cuts between them), about half the positions frozen in each scene */
static void make_video(float *F, float *A, float *ts) {
    tg_rng r;
    tg_rng_seed(&r, 2026);
    float *base = malloc(sizeof(float) * L * D);
    uint8_t frozen[L];
    int left = 0;
    for (int t = 0; t < T; t++) {
        if (left == 0) {
            left = 2 + (int)(tg_rng_uniform(&r) * 4);
            for (int i = 0; i < L * D; i++) base[i] = gauss(&r);
            for (int l = 0; l < L; l++) frozen[l] = tg_rng_uniform(&r) < 0.5f;
        }
        left--;
        for (int l = 0; l < L; l++)
            for (int d = 0; d < D; d++)
                F[((size_t)t * L + l) * D + d] = base[(size_t)l * D + d] + gauss(&r) * (frozen[l] ? 0.01f : 1.0f);
        double s = 0;
        for (int l = 0; l < L; l++) s += A[t * L + l] = expf(2.0f * gauss(&r));
        for (int l = 0; l < L; l++) A[t * L + l] = (float)(A[t * L + l] / s);
        ts[t] = (float)t * 1.9f;
    }
    free(base);
}

static int run_once(const float *F, const float *A, const float *ts, double r, int ref, double *ms, double *cpu,
                    int64_t *kept, int *nseg) {
    const char *fast[] = {"threads=2", "dist=torch"};
    const char *plain[] = {"threads=1", "dist=direct"};
    tg_prune_input in = tg_prune_input_default();
    in.features = F;
    in.saliency = A;
    in.timestamps = ts;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = H;
    in.grid_w = W;
    in.ratio = r;
    in.params = ref ? plain : fast;
    in.n_params = 2;
    openblas_set_num_threads(ref ? 1 : 2); /* Tango drops OpenBLAS to 1 thread in its segment loop */
    tg_prune_output out;
    char err[256];
    double t0 = now_ms(), c0 = cpu_ms();
    int rc = tg_tango_prune(&in, &out, err, sizeof err);
    *ms = now_ms() - t0;
    *cpu = cpu_ms() - c0;
    if (rc) {
        fprintf(stderr, "bench_tango: %s\n", err);
        return rc;
    }
    *kept = out.n_kept;
    *nseg = out.n_segments;
    tg_prune_output_free(&out);
    return 0;
}

int main(int argc, char **argv) {
    int reps = 5, no_ref = 0, strict = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) reps = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-f")) no_ref = 1;
        else if (!strcmp(argv[i], "-s")) strict = 1;
    }
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    float *F = malloc(sizeof(float) * (size_t)T * L * D), *A = malloc(sizeof(float) * T * L), ts[T];
    if (!F || !A) return 1;
    make_video(F, A, ts);
    printf("bench_tango: LLaVA-OneVision shape %d x %d x %d float32, %d reps (fast) / 1 (reference)\n", T, L, D,
           reps);
    printf("%-6s %-6s %-5s %-20s %-8s %-9s %-13s %-9s %-8s\n", "ratio", "kept", "segs", "fast ms (mean +- sd)", "median",
           "fast cpu", "reference ms", "ref cpu", "speedup");
    int fail = 0;
    double ratios[3] = {0.10, 0.15, 0.20};
    for (int k = 0; k < 3; k++) {
        double ms, cpu, sum = 0, sq = 0, csum = 0, ref_ms = NAN, ref_cpu = NAN, all[64];
        int64_t kept, kept_ref;
        int nseg;
        if (run_once(F, A, ts, ratios[k], 0, &ms, &cpu, &kept, &nseg)) return 1; /* warm-up */
        for (int i = 0; i < reps; i++) {
            if (run_once(F, A, ts, ratios[k], 0, &ms, &cpu, &kept, &nseg)) return 1;
            sum += ms;
            sq += ms * ms;
            csum += cpu;
            all[i] = ms;
        }
        for (int i = 1; i < reps; i++) /* insertion sort for the median */
            for (int j = i; j > 0 && all[j - 1] > all[j]; j--) {
                double t = all[j];
                all[j] = all[j - 1];
                all[j - 1] = t;
            }
        double median = reps % 2 ? all[reps / 2] : 0.5 * (all[reps / 2 - 1] + all[reps / 2]);
        double mean = sum / reps, sd = reps > 1 ? sqrt(fmax(0, (sq - sum * sum / reps) / (reps - 1))) : 0;
        kept_ref = kept;
        if (!no_ref && run_once(F, A, ts, ratios[k], 1, &ref_ms, &ref_cpu, &kept_ref, &nseg)) return 1;
        char cell[64];
        snprintf(cell, sizeof cell, "%.1f +- %.1f", mean, sd);
        printf("%-6.2f %-6lld %-5d %-20s %-8.1f %-9.1f %-13.1f %-9.1f %.1fx%s\n", ratios[k], (long long)kept, nseg,
               cell, median, csum / reps, ref_ms, ref_cpu, ref_ms / median,
               kept != kept_ref ? "  (kept counts differ: near-tie distances)" : "");
        if (median > 100.0) fail = 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = ru.ru_maxrss / 1024.0;
    printf("peak RSS %.1f MB (input features alone: %.1f MB)\n", rss_mb, (double)T * L * D * 4 / 1048576.0);
    if (rss_mb >= 512) fail = 1;
    printf("target: median <= 100 ms per video, < 512 MB: %s\n", fail ? "MISSED" : "met");
    free(F);
    free(A);
    return strict ? fail : 0;
}
