/* common.cuh - shared helpers of the CUDA kernel lab (the .cu programs of tests/kernels, style.md practice 14):
 * checks that abort with file and line (the lab is a standalone program, not library code),
 * seeded random fills, a CUDA-event timer with warm-up, an L2 flush between repeats and a
 * comparison that prints the first mismatches. Each lab program includes the engine's own kernel
 * source, so what it times and validates is exactly what the engine runs. */
#ifndef TB_KERNELS_COMMON_CUH
#define TB_KERNELS_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

#define LAB_CHECK(call)                                                                                            \
    do {                                                                                                           \
        cudaError_t e_ = (call);                                                                                   \
        if (e_ != cudaSuccess) {                                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_));                 \
            abort();                                                                                               \
        }                                                                                                          \
    } while (0)

/* 1 when a CUDA device is present; otherwise prints the TB-SKIP line a script counts. */
static int lab_have_device(const char *prog) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        printf("TB-SKIP: %s: no CUDA device (%s)\n", prog, e != cudaSuccess ? cudaGetErrorString(e) : "count 0");
        return 0;
    }
    cudaDeviceProp p;
    LAB_CHECK(cudaGetDeviceProperties(&p, 0));
    printf("%s: %s (sm_%d%d, %d SMs, %.1f GiB)\n", prog, p.name, p.major, p.minor, p.multiProcessorCount,
           (double)p.totalGlobalMem / (1 << 30));
    return 1;
}

static uint64_t lab_rng = 0x243F6A8885A308D3ull;
static float lab_frand(float lo, float hi) {
    lab_rng = lab_rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((double)(lab_rng >> 11) / 9007199254740992.0);
}

/* Host values rounded to T (so that host references see exactly what the device reads). */
template <class T> static float lab_round(float x);
template <> float lab_round<float>(float x) { return x; }
template <> float lab_round<__half>(float x) { return __half2float(__float2half_rn(x)); }
template <> float lab_round<__nv_bfloat16>(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }
template <class T> static T lab_to(float x);
template <> float lab_to<float>(float x) { return x; }
template <> __half lab_to<__half>(float x) { return __float2half_rn(x); }
template <> __nv_bfloat16 lab_to<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <class T> static float lab_from(T x);
template <> float lab_from<float>(float x) { return x; }
template <> float lab_from<__half>(__half x) { return __half2float(x); }
template <> float lab_from<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

/* A device array of n T filled with rounded uniform values; host copy (as float) in *host. */
template <class T> static T *lab_upload_rand(size_t n, float lo, float hi, std::vector<float> *host) {
    std::vector<T> h(n);
    host->resize(n);
    for (size_t i = 0; i < n; i++) {
        float v = lab_round<T>(lab_frand(lo, hi));
        (*host)[i] = v;
        h[i] = lab_to<T>(v);
    }
    T *d = NULL;
    LAB_CHECK(cudaMalloc(&d, n * sizeof(T) + 16));
    LAB_CHECK(cudaMemcpy(d, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

template <class T> static std::vector<float> lab_download(const T *d, size_t n) {
    std::vector<T> h(n);
    LAB_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    std::vector<float> f(n);
    for (size_t i = 0; i < n; i++) f[i] = lab_from<T>(h[i]);
    return f;
}

/* Max |got - want| / (atol + rtol |want|) over n values: <= 1 passes. Prints the first 3 misses. */
static double lab_compare(const char *what, const float *got, const double *want, size_t n, double atol, double rtol) {
    double worst = 0.0;
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs((double)got[i] - want[i]) / (atol + rtol * fabs(want[i]));
        if (!(r <= 1.0) && shown < 3) {
            printf("  MISMATCH %s at %zu: got %.6g want %.6g\n", what, i, got[i], want[i]);
            shown++;
        }
        if (!(r <= worst)) worst = r; /* NaN sticks */
    }
    return worst;
}

/* Evicts L2 between timed repeats by writing a buffer larger than any L2 (256 MiB). */
static void lab_flush_l2(cudaStream_t st) {
    static void *buf = NULL;
    const size_t n = (size_t)256 << 20;
    if (!buf) LAB_CHECK(cudaMalloc(&buf, n));
    LAB_CHECK(cudaMemsetAsync(buf, 0, n, st));
}

/* Mean milliseconds of fn() over reps after warm runs; L2 flushed before each timed run
 * (outside the timed interval). */
template <class F> static double lab_time_ms(F fn, int warm, int reps, cudaStream_t st) {
    cudaEvent_t a, b;
    LAB_CHECK(cudaEventCreate(&a));
    LAB_CHECK(cudaEventCreate(&b));
    for (int i = 0; i < warm; i++) fn();
    double total = 0.0;
    for (int i = 0; i < reps; i++) {
        lab_flush_l2(st);
        LAB_CHECK(cudaEventRecord(a, st));
        fn();
        LAB_CHECK(cudaEventRecord(b, st));
        LAB_CHECK(cudaEventSynchronize(b));
        float ms = 0.0f;
        LAB_CHECK(cudaEventElapsedTime(&ms, a, b));
        total += ms;
    }
    LAB_CHECK(cudaEventDestroy(a));
    LAB_CHECK(cudaEventDestroy(b));
    return total / reps;
}

#endif
