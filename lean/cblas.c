/* cblas.c (lean build only) - sgemm and ssyrk of lean/cblas.h in plain C with OpenMP, for the
 * pruners' distance matrices in the lean GPU build, which links no OpenBLAS. Row-major and
 * column-major, both transposes. The form the pruners call (row-major X . Y^T and X . X^T: dot
 * products of contiguous rows, up to 1024 x 1024 x 3584 for Tango) has a fast path: four dots at a
 * time sharing the loads of one row, OpenMP over rows, SIMD over k; everything else goes through
 * the general loop (float accumulation in k order, like a reference BLAS). tests/test_lean.c
 * checks both against OpenBLAS. */
#include <cblas.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

static int g_threads = 0; /* 0: OpenMP's default */

void openblas_set_num_threads(int n) { g_threads = n > 0 ? n : 0; }

int openblas_get_num_threads(void) { return g_threads; }

static int n_threads(void) {
    return g_threads > 0 ? g_threads : omp_get_max_threads();
}

/* Element (i, j) of op(X) for a column-major X with leading dimension ld. */
static inline float at(const float *X, int ld, int trans, int i, int j) {
    return trans ? X[(size_t)i * (size_t)ld + (size_t)j] : X[(size_t)j * (size_t)ld + (size_t)i];
}

/* Column-major C[M, N] = alpha op(A) op(B) + beta C: the one kernel both layouts reduce to. */
static void gemm_cm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc) {
    int nt = n_threads();
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && (long long)M * N * K > 100000)
    for (int j = 0; j < N; j++) {
        for (int i = 0; i < M; i++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc += at(A, lda, ta, i, k) * at(B, ldb, tb, k, j);
            float *c = &C[(size_t)j * (size_t)ldc + (size_t)i];
            *c = alpha * acc + (beta == 0.0f ? 0.0f : beta * *c);
        }
    }
}

/* Eight floats as one GCC vector (SSE pairs, AVX or AVX-512 halves, whatever the clone targets):
 * the loops below vectorise whatever the optimisation level, without fast-math. */
#pragma GCC diagnostic ignored "-Wpsabi" /* 32-byte vectors by value in static inline functions only */
typedef float v8f __attribute__((vector_size(32)));
static inline v8f ld8(const float *p) {
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline float hsum8(v8f v) {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* out[j] = x . y_j for 4 rows y_j (k contiguous floats each): eight lanes per row, one load of x
 * shared by the four rows. */
static inline void dot4(const float *x, const float *y0, const float *y1, const float *y2, const float *y3, int K,
                        float out[4]) {
    v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        v8f v = ld8(x + k);
        a0 += v * ld8(y0 + k);
        a1 += v * ld8(y1 + k);
        a2 += v * ld8(y2 + k);
        a3 += v * ld8(y3 + k);
    }
    float s0 = hsum8(a0), s1 = hsum8(a1), s2 = hsum8(a2), s3 = hsum8(a3);
    for (; k < K; k++) {
        s0 += x[k] * y0[k];
        s1 += x[k] * y1[k];
        s2 += x[k] * y2[k];
        s3 += x[k] * y3[k];
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

static inline float dot1(const float *x, const float *y, int K) {
    v8f a = {0};
    int k = 0;
    for (; k + 8 <= K; k += 8) a += ld8(x + k) * ld8(y + k);
    float s = hsum8(a);
    for (; k < K; k++) s += x[k] * y[k];
    return s;
}

/* c[j] = alpha a . B_j + beta c[j] for j in [j, j1): one row of A against a tile of rows of B. Compiled
 * for AVX-512, AVX2 and baseline x86-64, picked at run time (target_clones: the binary runs on any
 * host; it sits outside the OpenMP region, which GCC outlines into a function of its own). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "arch=haswell", "default")))
#endif
static void row_tile(const float *a, const float *B, int ldb, int K, float alpha, float beta, float *c, int j, int j1) {
    for (; j + 4 <= j1; j += 4) {
        float d[4];
        const float *b = B + (size_t)j * (size_t)ldb;
        dot4(a, b, b + ldb, b + 2 * (size_t)ldb, b + 3 * (size_t)ldb, K, d);
        for (int t = 0; t < 4; t++) c[j + t] = alpha * d[t] + (beta == 0.0f ? 0.0f : beta * c[j + t]);
    }
    for (; j < j1; j++) c[j] = alpha * dot1(a, B + (size_t)j * (size_t)ldb, K) + (beta == 0.0f ? 0.0f : beta * c[j]);
}

/* Row-major C[i][j] = alpha A_i . B_j + beta C[i][j] for j in [j_lo(i), N) (j_lo = i: the upper
 * triangle of a syrk, else 0): A [M, K] and B [N, K] row-major. Tiles of ROWS_TILE rows of B stay in
 * L2 while every row of A passes over them. */
static void rows_dot(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                     float *C, int ldc, int upper) {
    int nt = n_threads();
    enum { ROWS_TILE = 64 };
    for (int j0 = 0; j0 < N; j0 += ROWS_TILE) {
        const int j1 = N - j0 < ROWS_TILE ? N : j0 + ROWS_TILE;
        const int i_end = upper ? (j1 < M ? j1 : M) : M; /* upper: rows past the tile see none of it */
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt) if (nt > 1 && (long long)i_end * (j1 - j0) * K > 100000)
        for (int i = 0; i < i_end; i++)
            row_tile(A + (size_t)i * (size_t)lda, B, ldb, K, alpha, beta, C + (size_t)i * (size_t)ldc,
                     upper && i > j0 ? i : j0, j1);
    }
}

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                 const int M, const int N, const int K, const float alpha, const float *A, const int lda,
                 const float *B, const int ldb, const float beta, float *C, const int ldc) {
    int tA = ta != CblasNoTrans, tB = tb != CblasNoTrans;
    if (M <= 0 || N <= 0) return;
    if (order == CblasRowMajor && !tA && tB) { /* X . Y^T: the pruners' form */
        rows_dot(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0);
        return;
    }
    if (order == CblasColMajor)
        gemm_cm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T */
        gemm_cm(tB, tA, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc);
}

void cblas_ssyrk(const enum CBLAS_ORDER order, const enum CBLAS_UPLO uplo, const enum CBLAS_TRANSPOSE trans,
                 const int N, const int K, const float alpha, const float *A, const int lda, const float beta, float *C,
                 const int ldc) {
    if (N <= 0) return;
    if (order == CblasRowMajor && uplo == CblasUpper && trans == CblasNoTrans) { /* X . X^T, upper */
        rows_dot(N, N, K, alpha, A, lda, A, lda, beta, C, ldc, 1);
        return;
    }
    /* Row-major C = A A^T (A [N, K] row-major) is column-major C^T = A'^T A' with A' = A^T column-
     * major: the same matrix with the triangle and the transpose flipped. */
    int upper = uplo == CblasUpper, tr = trans != CblasNoTrans;
    if (order == CblasRowMajor) {
        upper = !upper;
        tr = !tr;
    }
    int nt = n_threads();
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt) if (nt > 1 && (long long)N * N * K > 100000)
    for (int j = 0; j < N; j++) {
        int i0 = upper ? 0 : j, i1 = upper ? j : N - 1;
        for (int i = i0; i <= i1; i++) {
            /* column-major: op(A) [N, K] = A (no trans, ld lda) or A^T */
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc += at(A, lda, tr, i, k) * at(A, lda, tr, j, k);
            float *c = &C[(size_t)j * (size_t)ldc + (size_t)i];
            *c = alpha * acc + (beta == 0.0f ? 0.0f : beta * *c);
        }
    }
}
