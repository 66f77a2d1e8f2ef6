/* bench_finite.c - what refusing NaN/Inf weights at load costs (st_check_finite, issue 14).
 *
 * Every tensor a model uses is scanned once for NaN/Inf in its stored dtype when it is looked up.
 * A 7B checkpoint is about 16 GB of BF16, so the scan must be cheap beside what a load does with
 * the same bytes anyway. Measured in the same run on the same page-cached file (256 MiB of BF16
 * and 256 MiB of F32, random finite values): the scan, the conversion to float32 that the CPU
 * loader performs (st_convert_f32), and the SHA-256 of the weights digest (OpenSSL), each as
 * GB/s of stored bytes per second of CPU time (each pass is single-threaded). Target, on BF16
 * (what real checkpoints store): the scan at least 4x faster than the conversion, so it adds
 * under a quarter to the load's own pass over the bytes. F32 (whose "conversion" is a copy) is
 * printed for information.
 *
 * Usage: bench_finite [BUILD_DIR]   (default $TB_BUILD, else build). Needs 0.8 GB of disk and
 * about 1.5 GB of memory. Exit status 1 when the target is missed or on errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sha256.h"
#include "engine/safetensors.h"

#define N_ELEMS ((size_t)128 << 20) /* 128 Mi elements: 256 MiB of BF16 */

static double gbps(size_t bytes, double s) { return (double)bytes / s / 1e9; }

/* Process CPU time: all three passes are single-threaded, so a busy machine stretches the wall
 * clock but not this. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const char *build = argc > 1 ? argv[1] : getenv("TB_BUILD");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/bench_finite.safetensors", build && *build ? build : "build");
    uint16_t *bf = malloc(N_ELEMS * 2);
    float *f32 = malloc(N_ELEMS / 2 * 4);
    if (!bf || !f32) {
        fprintf(stderr, "bench_finite: out of memory\n");
        return 1;
    }
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < N_ELEMS; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        float v = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
        uint32_t x;
        memcpy(&x, &v, 4);
        bf[i] = (uint16_t)(x >> 16);
        if (i < N_ELEMS / 2) f32[i] = v;
    }
    st_write_raw_tensor t[2] = {{"w.bf16", ST_BF16, 1, {(int64_t)N_ELEMS}, bf},
                                {"w.f32", ST_F32, 1, {(int64_t)(N_ELEMS / 2)}, f32}};
    if (st_write_raw(path, t, 2, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    free(bf);
    free(f32);
    int miss = 0;
    for (int k = 0; k < 2; k++) {
        st_file *st = st_open(path, err, sizeof err);
        if (!st) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        const st_tensor *w = st_find(st, k ? "w.f32" : "w.bf16");
        size_t bytes = w->numel * st_dtype_size(w->dtype);
        float *dst = malloc(w->numel * sizeof(float));
        if (!dst) return 1;
        st_convert_f32(w, dst); /* warm: the file is in the page cache from here on */
        double t0 = cpu_s();
        int rc = st_check_finite(st, w, err, sizeof err);
        double t_scan = cpu_s() - t0;
        t0 = cpu_s();
        st_convert_f32(w, dst);
        double t_conv = cpu_s() - t0;
        char hex[65];
        t0 = cpu_s();
        tb_sha256_hex(w->data, bytes, hex);
        double t_sha = cpu_s() - t0;
        if (rc) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double ratio = t_conv / t_scan;
        int target = w->dtype == ST_BF16;
        printf("%-4s %zu MiB: NaN/Inf scan %.2f GB/s, conversion to f32 %.2f GB/s, SHA-256 %.2f GB/s; "
               "scan %.1fx faster than the conversion%s%s\n",
               st_dtype_str(w->dtype), bytes >> 20, gbps(bytes, t_scan), gbps(bytes, t_conv), gbps(bytes, t_sha), ratio,
               target ? " (target >= 4x)" : " (information)", target && ratio < 4 ? "  MISSED" : "");
        miss |= target && ratio < 4;
        free(dst);
        st_close(st);
    }
    unlink(path);
    return miss;
}
