/* tg_internal.h - private helpers of the tango/ module (not a public header). */
#ifndef TG_INTERNAL_H
#define TG_INTERNAL_H

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/check.h"

/* OpenMP thread count for a caller's request (<= 0: the OpenMP default). */
static inline int tg_nthreads(int n) { return n > 0 ? n : omp_get_max_threads(); }

/* ===== float kernels shared by the primitives =====
 * Float32 like PyTorch's own reductions. Sums use 16 explicit partial sums combined in a fixed
 * tree, so the result is the same bit for bit whichever vector width the compiler picks; the
 * hot kernels are compiled for AVX-512 / AVX2 / baseline and chosen at load time (ifunc), which
 * changes speed only, never the arithmetic (no FMA contraction: ISO C mode). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(TG_NO_CLONES)
#define TG_HOT __attribute__((target_clones("avx512f", "avx2", "default"), unused))
#else
#define TG_HOT __attribute__((unused))
#endif

#define TG_LANES 16

static inline float tg_lanes_sum(const float *acc) {
    float t[8];
    for (int j = 0; j < 8; j++) t[j] = acc[j] + acc[j + 8];
    for (int j = 0; j < 4; j++) t[j] = t[j] + t[j + 4];
    return (t[0] + t[2]) + (t[1] + t[3]);
}

/* sum_d a[d] * b[d] */
TG_HOT static float tg_dotf(const float *a, const float *b, int64_t n) {
    float acc[TG_LANES] = {0};
    int64_t d = 0;
    for (; d + TG_LANES <= n; d += TG_LANES)
#pragma omp simd
        for (int j = 0; j < TG_LANES; j++) acc[j] += a[d + j] * b[d + j];
    float s = tg_lanes_sum(acc);
    for (; d < n; d++) s += a[d] * b[d];
    return s;
}

/* sum_d (a[d] / na) * (b[d] / nb): the dot product of two F.normalize'd rows, unmaterialised */
TG_HOT static float tg_dot_normed(const float *a, float na, const float *b, float nb, int64_t n) {
    float acc[TG_LANES] = {0};
    int64_t d = 0;
    for (; d + TG_LANES <= n; d += TG_LANES)
#pragma omp simd
        for (int j = 0; j < TG_LANES; j++) acc[j] += (a[d + j] / na) * (b[d + j] / nb);
    float s = tg_lanes_sum(acc);
    for (; d < n; d++) s += (a[d] / na) * (b[d] / nb);
    return s;
}

/* sum_d (a[d] - b[d])^2 */
TG_HOT static float tg_sqdistf(const float *a, const float *b, int64_t n) {
    float acc[TG_LANES] = {0};
    int64_t d = 0;
    for (; d + TG_LANES <= n; d += TG_LANES)
#pragma omp simd
        for (int j = 0; j < TG_LANES; j++) {
            float t = a[d + j] - b[d + j];
            acc[j] += t * t;
        }
    float s = tg_lanes_sum(acc);
    for (; d < n; d++) {
        float t = a[d] - b[d];
        s += t * t;
    }
    return s;
}

/* out[d] = a[d] / nrm */
TG_HOT static void tg_scale_div(const float *a, float nrm, float *out, int64_t n) {
#pragma omp simd
    for (int64_t d = 0; d < n; d++) out[d] = a[d] / nrm;
}

/* max(|a|, 1e-12): the F.normalize denominator */
static inline float tg_norm_clamped(const float *a, int64_t n) {
    float v = sqrtf(tg_dotf(a, a, n));
    return v < 1e-12f ? 1e-12f : v;
}

#endif
