/* tg_internal.h - private helpers of the tango/ module (not a public header). */
#ifndef TG_INTERNAL_H
#define TG_INTERNAL_H

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

/* OpenMP thread count for a caller's request (<= 0: the OpenMP default). */
static inline int tg_nthreads(int n) { return n > 0 ? n : omp_get_max_threads(); }

/* Formats a one-line message into a caller-supplied buffer (NULL or 0-length: ignored). */
static inline void tg_set_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void tg_set_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || !err_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ===== float kernels shared by the primitives =====
 * Float32 like PyTorch's own reductions; `omp simd reduction` lets the compiler use several
 * partial sums (vector lanes) without -ffast-math, so only the summation order differs from a
 * sequential loop (PyTorch's vectorised reductions reorder too). */

/* sum_d a[d] * b[d] */
static inline float tg_dotf(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < n; d++) s += a[d] * b[d];
    return s;
}

/* sum_d (a[d] / na) * (b[d] / nb): the dot product of two F.normalize'd rows, unmaterialised */
static inline float tg_dot_normed(const float *a, float na, const float *b, float nb, int64_t n) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < n; d++) s += (a[d] / na) * (b[d] / nb);
    return s;
}

/* sum_d (a[d] - b[d])^2 */
static inline float tg_sqdistf(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < n; d++) {
        float t = a[d] - b[d];
        s += t * t;
    }
    return s;
}

/* max(|a|, 1e-12): the F.normalize denominator */
static inline float tg_norm_clamped(const float *a, int64_t n) {
    float v = sqrtf(tg_dotf(a, a, n));
    return v < 1e-12f ? 1e-12f : v;
}

#endif
