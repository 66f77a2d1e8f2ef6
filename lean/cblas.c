/* cblas.c (lean build only) - sgemm and ssyrk of lean/cblas.h in plain C with OpenMP, for the
 * pruners' distance matrices in the lean GPU build, which links no OpenBLAS. Row-major and
 * column-major, both transposes; float accumulation in k order, like a reference BLAS. Not tuned:
 * the pruners' products are small (Tango's largest is a few hundred rows by 3584), and
 * tests/test_lean.c checks the results against OpenBLAS. */
#include <cblas.h>
#include <omp.h>
#include <stddef.h>

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

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                 const int M, const int N, const int K, const float alpha, const float *A, const int lda,
                 const float *B, const int ldb, const float beta, float *C, const int ldc) {
    int tA = ta != CblasNoTrans, tB = tb != CblasNoTrans;
    if (M <= 0 || N <= 0) return;
    if (order == CblasColMajor)
        gemm_cm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T */
        gemm_cm(tB, tA, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc);
}

void cblas_ssyrk(const enum CBLAS_ORDER order, const enum CBLAS_UPLO uplo, const enum CBLAS_TRANSPOSE trans,
                 const int N, const int K, const float alpha, const float *A, const int lda, const float beta, float *C,
                 const int ldc) {
    if (N <= 0) return;
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
