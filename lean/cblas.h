/* cblas.h (lean build only) - the part of the CBLAS interface the pruners call (tango/prim_dist.c,
 * baselines/bl_fastvid.c), declared with the standard names, values and signatures, plus
 * OpenBLAS's thread-count pair that tango/tango.c uses. Implemented in plain C by lean/cblas.c.
 * Every other build includes the real <cblas.h> of OpenBLAS; this one is found only through the
 * lean build's -Ilean. */
#ifndef TB_LEAN_CBLAS_H
#define TB_LEAN_CBLAS_H

typedef enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 } CBLAS_ORDER;
typedef enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 } CBLAS_TRANSPOSE;
typedef enum CBLAS_UPLO { CblasUpper = 121, CblasLower = 122 } CBLAS_UPLO;
typedef CBLAS_ORDER CBLAS_LAYOUT;

/* C = alpha op(A) op(B) + beta C, op(A) [M, K], op(B) [K, N], C [M, N]. */
void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                 const int M, const int N, const int K, const float alpha, const float *A, const int lda,
                 const float *B, const int ldb, const float beta, float *C, const int ldc);
/* The uplo triangle of C [N, N] = alpha op(A) op(A)^T + beta C, op(A) [N, K]; the other triangle is
 * not touched. */
void cblas_ssyrk(const enum CBLAS_ORDER order, const enum CBLAS_UPLO uplo, const enum CBLAS_TRANSPOSE trans,
                 const int N, const int K, const float alpha, const float *A, const int lda, const float beta, float *C,
                 const int ldc);

/* OpenMP threads of the two routines above (OpenBLAS's names). */
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);

#endif
