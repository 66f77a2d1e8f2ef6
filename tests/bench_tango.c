/* bench_tango.c - wall time of Tango per video at the LLaVA-OneVision shape (32 x 196 x 3584
 * float32, scenes with static regions and cuts) at r = 0.10, 0.15, 0.20: the fast path
 * (OpenBLAS GEMM distances, 2 threads) next to the plain reference path (direct-form distances,
 * no BLAS, one thread) measured in the same run, and the peak RSS (getrusage).
 *
 * Target: <= 100 ms per video on 2 cores at every ratio, memory < 512 MB.
 *
 * Against PyTorch, in the same run (when $PYTHON has torch and numpy, and $TB_BIN is the CLI): the
 * same input written as .npy, Tango at r = 0.10 (no attention sinks, tau_segment 0.8, official
 * compat) by tests/fixtures/tango/oracle_tango.py (the PyTorch implementation of the official
 * algorithm the tests check the pruner against) and by `tango-bench prune`. Ratios: the pruner's
 * in-process time (summary.json timing.prune_ms) vs the PyTorch tango() call (TB-ORACLE-MS),
 * target >= 10x; the whole `prune` process (start-up, reading 90 MB of .npy, writing the outputs)
 * vs the whole Python process (interpreter, torch import, reading), target >= 3x.
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
#include <unistd.h>

#include "common/clock.h"
#include "harness/npy.h"
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
    in.model = tg_model_layout_default(TB_FAMILY_LLAVA_OV, 28, D);
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

/* Runs cmd, returns its wall seconds (< 0 on failure) and the value after `key` in its output. */
static double run_timed(const char *cmd, const char *key, double *val) {
    double t0 = tb_now_s();
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    *val = NAN;
    while (fgets(line, sizeof line, p)) {
        const char *k = key ? strstr(line, key) : NULL;
        if (k) *val = strtod(k + strlen(key), NULL);
    }
    int rc = pclose(p);
    double dt = tb_now_s() - t0;
    return rc == 0 ? dt : -1;
}

/* The PyTorch comparison (see the header). Returns 1 when a target is missed, 0 otherwise (also
 * when it cannot run: a TB-SKIP line says why). */
static int vs_torch(const float *F, const float *A, const float *ts) {
    const char *py = getenv("PYTHON"), *bin = getenv("TB_BIN"), *build = getenv("TB_BUILD");
    if (!py || !*py) py = "python3";
    if (!bin || !*bin) {
        printf("TB-SKIP: bench_tango vs PyTorch: TB_BIN (the tango-bench binary) not set; run through make bench\n");
        return 0;
    }
    char chk[2400];
    snprintf(chk, sizeof chk, "'%s' -c 'import torch, numpy' > /dev/null 2>&1", py);
    if (system(chk) != 0) {
        printf("TB-SKIP: bench_tango vs PyTorch: %s lacks torch or numpy (scripts/install-deps installs them)\n", py);
        return 0;
    }
    char dir[1024], p[1200], err[256];
    snprintf(dir, sizeof dir, "%s/tmp/bench_tango-%d", build && *build ? build : "build", (int)getpid());
    snprintf(chk, sizeof chk, "mkdir -p '%s'", dir);
    if (system(chk) != 0) return 0;
    int64_t sf[3] = {T, L, D}, sa[2] = {T, L}, st[1] = {T};
    snprintf(p, sizeof p, "%s/F.npy", dir);
    int bad = npy_write(p, NPY_F32, F, 3, sf, err, sizeof err);
    snprintf(p, sizeof p, "%s/A.npy", dir);
    bad |= npy_write(p, NPY_F32, A, 2, sa, err, sizeof err);
    snprintf(p, sizeof p, "%s/T.npy", dir);
    bad |= npy_write(p, NPY_F32, ts, 1, st, err, sizeof err);
    if (bad) {
        printf("bench_tango: cannot write the .npy input: %s\n", err);
        return 1;
    }
    char cmd[8192];
    double c_ms = NAN, py_ms = NAN, c_proc = 1e9, py_proc = 1e9, c_ms_best = 1e9, py_ms_best = 1e9;
    for (int rep = 0; rep < 3; rep++) { /* best of 3 each, alternating */
        snprintf(cmd, sizeof cmd,
                 "'%s' prune --method tango --features '%s/F.npy' --attn '%s/A.npy' --timestamps '%s/T.npy' "
                 "--ratio 0.1 --set sinks= --set tau_segment=0.8 --out '%s/out' > /dev/null && "
                 "grep -o '\"prune_ms\":[^,}]*' '%s/out/summary.json' | tr -d ' '",
                 bin, dir, dir, dir, dir, dir);
        double t = run_timed(cmd, "\"prune_ms\":", &c_ms);
        if (t < 0 || isnan(c_ms)) {
            printf("bench_tango: `tango-bench prune` failed: %s\n", cmd);
            return 1;
        }
        if (t < c_proc) c_proc = t;
        if (c_ms < c_ms_best) c_ms_best = c_ms;
        snprintf(cmd, sizeof cmd, "TB_ORACLE_TIMING=1 '%s' tests/fixtures/tango/oracle_tango.py '%s' r10:0.1:0.8:-:official",
                 py, dir);
        t = run_timed(cmd, "TB-ORACLE-MS r10 ", &py_ms);
        if (t < 0 || isnan(py_ms)) {
            printf("bench_tango: the PyTorch oracle failed: %s\n", cmd);
            return 1;
        }
        if (t < py_proc) py_proc = t;
        if (py_ms < py_ms_best) py_ms_best = py_ms;
    }
    double r_in = py_ms_best / c_ms_best, r_proc = py_proc / c_proc;
    printf("vs PyTorch (oracle_tango.py, r=0.10, best of 3): pruner %.1f ms vs torch %.1f ms: %.1fx (target >= 10x); "
           "whole process %.2f s vs %.2f s: %.1fx (target >= 3x)\n",
           c_ms_best, py_ms_best, r_in, c_proc, py_proc, r_proc);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("bench_tango: could not remove %s\n", dir);
    return r_in < 10.0 || r_proc < 3.0;
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
    if (vs_torch(F, A, ts)) {
        printf("target vs PyTorch: MISSED\n");
        fail = 1;
    }
    free(F);
    free(A);
    return strict ? fail : 0;
}
