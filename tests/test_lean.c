/* test_lean.c - the lean build's stand-ins against the real libraries they replace there:
 * common/sha256_lean.c (plain C SHA-256) against OpenSSL and the FIPS 180-4 example vectors, and
 * lean/cblas.c (plain C sgemm / ssyrk) against OpenBLAS for every order, transpose and triangle,
 * with alpha / beta and leading dimensions larger than the rows. Both files are compiled into this
 * program under other names, so the library's own SHA-256 and OpenBLAS stay the reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/tb_test.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"

/* ---- the lean SHA-256 under other names ---- */
#define tb_sha256 lean_sha256
#define tb_sha256_new lean_sha256_new
#define tb_sha256_update lean_sha256_update
#define tb_sha256_final lean_sha256_final
#define tb_sha256_free lean_sha256_free
typedef struct lean_sha256 lean_sha256;
#include "common/sha256_lean.c"
#undef tb_sha256
#undef tb_sha256_new
#undef tb_sha256_update
#undef tb_sha256_final
#undef tb_sha256_free

/* ---- the lean CBLAS under other names ---- */
#define cblas_sgemm lean_cblas_sgemm
#define cblas_ssyrk lean_cblas_ssyrk
#define openblas_set_num_threads lean_set_num_threads
#define openblas_get_num_threads lean_get_num_threads
#include "lean/cblas.c"
#undef cblas_sgemm
#undef cblas_ssyrk
#undef openblas_set_num_threads
#undef openblas_get_num_threads

static void lean_hex(const void *data, size_t len, char out[65]) {
    lean_sha256 *h = lean_sha256_new();
    assert_non_null(h);
    assert_int_equal(lean_sha256_update(h, data, len), 0);
    assert_int_equal(lean_sha256_final(h, out), 0);
    assert_int_equal(lean_sha256_final(h, out), -1); /* only once */
    lean_sha256_free(h);
}

static void test_sha256_vectors(void **state) {
    (void)state;
    static const struct {
        const char *msg, *hex;
    } v[] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    char out[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        lean_hex(v[i].msg, strlen(v[i].msg), out);
        assert_string_equal(out, v[i].hex);
    }
    /* one million 'a', fed in uneven pieces */
    static char a[1000000];
    memset(a, 'a', sizeof a);
    lean_sha256 *h = lean_sha256_new();
    size_t off = 0, step = 1;
    while (off < sizeof a) {
        size_t n = sizeof a - off < step ? sizeof a - off : step;
        assert_int_equal(lean_sha256_update(h, a + off, n), 0);
        off += n;
        step = step * 3 % 1001 + 1;
    }
    assert_int_equal(lean_sha256_final(h, out), 0);
    lean_sha256_free(h);
    assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_against_openssl(void **state) {
    (void)state;
    unsigned char buf[777];
    uint64_t x = 0x1234567;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (unsigned char)(x >> 56);
    }
    char want[65], got[65];
    for (size_t len = 0; len <= sizeof buf; len += len < 130 ? 1 : 37) {
        assert_int_equal(tb_sha256_hex(buf, len, want), 0); /* this build's: OpenSSL */
        /* split at every 7th position: block boundaries crossed in every way */
        lean_sha256 *h = lean_sha256_new();
        size_t cut = len % 7 == 0 ? len / 2 : (len * 5) / 7;
        assert_int_equal(lean_sha256_update(h, buf, cut), 0);
        assert_int_equal(lean_sha256_update(h, buf + cut, len - cut), 0);
        assert_int_equal(lean_sha256_final(h, got), 0);
        lean_sha256_free(h);
        assert_string_equal(got, want);
    }
}

/* ---- CBLAS ---- */

static uint64_t g_rng = 42;
static float frand(void) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int close_all(const float *a, const float *b, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)b[i]) <= tol * (1.0 + fabs((double)b[i])))) {
            printf("  element %zu: lean %.9g, OpenBLAS %.9g\n", i, a[i], b[i]);
            return 0;
        }
    return 1;
}

static void test_sgemm_against_openblas(void **state) {
    (void)state;
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 70, 129}, {5, 1, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int order = 0; order < 2; order++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                    enum CBLAS_ORDER o = order ? CblasColMajor : CblasRowMajor;
                    /* stored shapes of A and B (rows x cols in the chosen order), leading dims + 3 */
                    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
                    int lda = (order ? ar : ac) + 3, ldb = (order ? br : bc) + 3, ldc = (order ? M : N) + 2;
                    size_t na = (size_t)lda * (size_t)(order ? ac : ar), nb = (size_t)ldb * (size_t)(order ? bc : br);
                    size_t nc = (size_t)ldc * (size_t)(order ? N : M);
                    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
                    float *C0 = malloc(nc * sizeof *C0), *C1 = malloc(nc * sizeof *C1);
                    for (size_t i = 0; i < na; i++) A[i] = frand();
                    for (size_t i = 0; i < nb; i++) B[i] = frand();
                    for (size_t i = 0; i < nc; i++) C0[i] = C1[i] = frand();
                    enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
                    cblas_sgemm(o, TA, TB, M, N, K, -2.0f, A, lda, B, ldb, 0.5f, C0, ldc);
                    lean_cblas_sgemm(o, TA, TB, M, N, K, -2.0f, A, lda, B, ldb, 0.5f, C1, ldc);
                    if (!close_all(C1, C0, nc, 1e-5))
                        fail_msg("sgemm M=%d N=%d K=%d order=%d ta=%d tb=%d differs", M, N, K, order, ta, tb);
                    free(A), free(B), free(C0), free(C1);
                }
}

static void test_ssyrk_against_openblas(void **state) {
    (void)state;
    static const int shapes[][2] = {{1, 1}, {4, 9}, {33, 17}, {100, 70}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int order = 0; order < 2; order++)
            for (int up = 0; up < 2; up++)
                for (int tr = 0; tr < 2; tr++) {
                    int N = shapes[s][0], K = shapes[s][1];
                    enum CBLAS_ORDER o = order ? CblasColMajor : CblasRowMajor;
                    int ar = tr ? K : N, ac = tr ? N : K;
                    int lda = (order ? ar : ac) + 1, ldc = N + 2;
                    size_t na = (size_t)lda * (size_t)(order ? ac : ar), nc = (size_t)ldc * (size_t)N;
                    float *A = malloc(na * sizeof *A), *C0 = malloc(nc * sizeof *C0), *C1 = malloc(nc * sizeof *C1);
                    for (size_t i = 0; i < na; i++) A[i] = frand();
                    for (size_t i = 0; i < nc; i++) C0[i] = C1[i] = frand();
                    enum CBLAS_UPLO U = up ? CblasUpper : CblasLower;
                    enum CBLAS_TRANSPOSE T = tr ? CblasTrans : CblasNoTrans;
                    cblas_ssyrk(o, U, T, N, K, 1.5f, A, lda, 0.25f, C0, ldc);
                    lean_cblas_ssyrk(o, U, T, N, K, 1.5f, A, lda, 0.25f, C1, ldc);
                    /* the whole buffer: the other triangle and the padding must be untouched */
                    if (!close_all(C1, C0, nc, 1e-5))
                        fail_msg("ssyrk N=%d K=%d order=%d upper=%d trans=%d differs", N, K, order, up, tr);
                    free(A), free(C0), free(C1);
                }
}

static void test_thread_count(void **state) {
    (void)state;
    lean_set_num_threads(3);
    assert_int_equal(lean_get_num_threads(), 3);
    float a[6] = {1, 2, 3, 4, 5, 6}, c[4] = {0};
    lean_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 2, 2, 3, 1.0f, a, 3, a, 3, 0.0f, c, 2);
    assert_float_equal(c[0], 14, 0);
    assert_float_equal(c[1], 32, 0);
    assert_float_equal(c[3], 77, 0);
    lean_set_num_threads(0);
    assert_int_equal(lean_get_num_threads(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),        cmocka_unit_test(test_sha256_against_openssl),
        cmocka_unit_test(test_sgemm_against_openblas), cmocka_unit_test(test_ssyrk_against_openblas),
        cmocka_unit_test(test_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
