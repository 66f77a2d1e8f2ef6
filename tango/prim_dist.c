/* prim_dist.c - similarity and distance primitives: consecutive-frame cosine similarity and
 * Euclidean distance matrices in the direct form and in PyTorch's matrix-multiply form
 * (OpenBLAS), with PyTorch cdist's rule for choosing between them.
 *
 * The GEMM form reproduces ATen's _euclidean_dist: |x|^2 + |y|^2 - 2 x.y, clamped below at 1e-30,
 * then sqrt, all float32; its self-distances are rounding noise (~1e-4 for unit vectors), not 0.
 * The direct form is float32 too (PyTorch's direct path). Neither form uses fast-math; the
 * reductions use omp simd partial sums (see tg_internal.h). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tango/primitives.h"
#include "tango/tg_internal.h"

/* ===== cosine of consecutive frames ===== */

void tg_l2_normalize(const float *x, int64_t n, int64_t D, int n_threads, float *out) {
#pragma omp parallel for schedule(static) num_threads(tg_nthreads(n_threads)) if (n > 64)
    for (int64_t i = 0; i < n; i++) {
        const float *a = x + (size_t)i * D;
        float *o = out + (size_t)i * D;
        tg_scale_div(a, tg_norm_clamped(a, D), o, D);
    }
}

void tg_dot_consecutive(const float *xn, int64_t T, int64_t L, int64_t D, int n_threads, float *s) {
    if (T < 2) return;
    int64_t n = (T - 1) * L;
#pragma omp parallel for schedule(static) num_threads(tg_nthreads(n_threads)) if (n > 64)
    for (int64_t k = 0; k < n; k++) s[k] = tg_dotf(xn + (size_t)k * D, xn + (size_t)(k + L) * D, D);
}

int tg_cos_consecutive(const float *x, int64_t T, int64_t L, int64_t D, int n_threads, float *s) {
    if (T < 2) return 0;
    int64_t N = T * L, n = (T - 1) * L;
    float *nrm = malloc(sizeof(float) * (size_t)N);
    if (!nrm) return -1;
#pragma omp parallel num_threads(tg_nthreads(n_threads)) if (n > 64)
    {
#pragma omp for schedule(static)
        for (int64_t k = 0; k < N; k++) nrm[k] = tg_norm_clamped(x + (size_t)k * D, D);
#pragma omp for schedule(static)
        for (int64_t k = 0; k < n; k++)
            s[k] = tg_dot_normed(x + (size_t)k * D, nrm[k], x + (size_t)(k + L) * D, nrm[k + L], D);
    }
    free(nrm);
    return 0;
}

/* ===== distances ===== */

int tg_dist_uses_gemm(tg_dist_mode mode, int64_t m, int64_t n) {
    if (mode == TG_DIST_GEMM) return 1;
    if (mode == TG_DIST_DIRECT) return 0;
    return m > 25 || n > 25;
}

static void sqnorms(const float *x, int64_t m, int64_t D, float *out) {
    for (int64_t i = 0; i < m; i++) out[i] = tg_dotf(x + (size_t)i * D, x + (size_t)i * D, D);
}

static void direct_block(const float *x, int64_t m, const float *y, int64_t n, int64_t D, int nt, float *out,
                         int symmetric) {
#pragma omp parallel for schedule(dynamic, 4) num_threads(tg_nthreads(nt)) if (m * n * D > 4000000)
    for (int64_t i = 0; i < m; i++) {
        const float *a = x + (size_t)i * D;
        for (int64_t j = symmetric ? i : 0; j < n; j++) {
            float v = sqrtf(tg_sqdistf(a, y + (size_t)j * D, D));
            out[(size_t)i * n + j] = v;
            if (symmetric) out[(size_t)j * n + i] = v;
        }
    }
}

int tg_cdist(const float *x, int64_t m, const float *y, int64_t n, int64_t D, tg_dist_mode mode, int n_threads,
             float *out) {
    if (m <= 0 || n <= 0) return 0;
    if (!tg_dist_uses_gemm(mode, m, n)) {
        direct_block(x, m, y, n, D, n_threads, out, 0);
        return 0;
    }
    float *xn = malloc((size_t)(m + n) * sizeof *xn);
    if (!xn) return -1;
    float *yn = xn + m;
    sqnorms(x, m, D, xn);
    sqnorms(y, n, D, yn);
    /* Row-major out[m][n] = -2 * X[m][D] . Y[n][D]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)D, -2.0f, x, (int)D, y, (int)D, 0.0f,
                out, (int)n);
    for (int64_t i = 0; i < m; i++) {
        float *row = out + (size_t)i * n;
        for (int64_t j = 0; j < n; j++) {
            float v = row[j] + xn[i] + yn[j];
            row[j] = sqrtf(v < 1e-30f ? 1e-30f : v);
        }
    }
    free(xn);
    return 0;
}

int tg_cdist_self(const float *y, int64_t m, int64_t D, tg_dist_mode mode, int n_threads, float *out) {
    if (m <= 0) return 0;
    if (!tg_dist_uses_gemm(mode, m, m)) {
        direct_block(y, m, y, m, D, n_threads, out, 1);
        return 0;
    }
    float *yn = malloc((size_t)m * sizeof *yn);
    if (!yn) return -1;
    sqnorms(y, m, D, yn);
    /* Upper triangle of out[m][m] = -2 * Y . Y^T (row-major), then mirrored */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)m, (int)D, -2.0f, y, (int)D, 0.0f, out, (int)m);
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = i; j < m; j++) {
            float v = out[(size_t)i * m + j] + yn[i] + yn[j];
            v = sqrtf(v < 1e-30f ? 1e-30f : v);
            out[(size_t)i * m + j] = v;
            out[(size_t)j * m + i] = v;
        }
    }
    free(yn);
    return 0;
}
