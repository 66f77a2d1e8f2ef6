/* test_stats.c - McNemar exact test, cluster bootstrap, dense cluster ids. */
#include "tests/tb_test.h"

#include <math.h>

#include "reports/stats.h"
#include "common/rng.h"

static void test_mcnemar_by_hand(void **state) {
    (void)state;
    /* b=0, c=5: 2 * (1/2)^5 = 0.0625 */
    assert_true(fabs(stats_mcnemar_exact(0, 5) - 0.0625) < 1e-12);
    /* b=1, c=4: 2 * (1 + 5) / 32 = 0.375 */
    assert_true(fabs(stats_mcnemar_exact(1, 4) - 0.375) < 1e-12);
    assert_true(fabs(stats_mcnemar_exact(4, 1) - 0.375) < 1e-12);
    assert_true(stats_mcnemar_exact(3, 3) == 1.0);
    assert_true(stats_mcnemar_exact(0, 0) == 1.0);
    /* b=10, c=30: 2 * sum(C(40,k), k<=10) / 2^40 = 0.00222143377 */
    assert_true(fabs(stats_mcnemar_exact(10, 30) - 0.0022214338) < 1e-8);
    /* large n stays finite */
    double p = stats_mcnemar_exact(4000, 4200);
    assert_true(p > 0.01 && p < 0.05);
}

static void test_bootstrap(void **state) {
    (void)state;
    enum { N = 400 };
    int correct[N], cluster[N], other[N];
    for (int i = 0; i < N; i++) {
        correct[i] = (i % 4) != 0; /* 75 %, 3 of the 4 questions of every video */
        other[i] = (i % 5) > 1;    /* 60 % */
        cluster[i] = i / 4;        /* 4 questions per video */
    }
    double lo, hi, lo2, hi2;
    assert_int_equal(stats_bootstrap_acc(correct, cluster, N, 1000, 7, &lo, &hi), 0);
    /* Every video has the same accuracy: the clustered CI collapses to a point. */
    assert_true(fabs(lo - 0.75) < 1e-12 && fabs(hi - 0.75) < 1e-12);
    /* Deterministic under the seed */
    assert_int_equal(stats_bootstrap_acc(other, cluster, N, 1000, 7, &lo, &hi), 0);
    assert_int_equal(stats_bootstrap_acc(other, cluster, N, 1000, 7, &lo2, &hi2), 0);
    assert_true(lo == lo2 && hi == hi2);
    /* i.i.d. clusters: a proper interval around the mean */
    for (int i = 0; i < N; i++) cluster[i] = i;
    assert_int_equal(stats_bootstrap_acc(other, cluster, N, 2000, 3, &lo, &hi), 0);
    assert_true(lo < 0.6 && hi > 0.6 && hi - lo > 0.05 && hi - lo < 0.15);
    assert_int_equal(stats_bootstrap_diff(correct, other, cluster, N, 2000, 3, &lo, &hi), 0);
    assert_true(lo < -0.15 && hi > -0.15 && hi < 0);
    assert_int_equal(stats_bootstrap_acc(correct, cluster, 0, 1000, 1, &lo, &hi), -1);
    assert_true(isnan(lo));
}

static void test_dense_clusters(void **state) {
    (void)state;
    const char *keys[] = {"v9", "v1", "v9", NULL, "v1", "v3", NULL};
    int out[7];
    assert_int_equal(stats_dense_clusters(keys, 7, out), 4);
    int want[7] = {0, 1, 0, 2, 1, 3, 2};
    assert_memory_equal(out, want, sizeof want);
}

static void test_rng_below(void **state) {
    (void)state;
    tb_rng r;
    tb_rng_seed(&r, 42);
    int hist[3] = {0};
    for (int i = 0; i < 30000; i++) hist[tb_rng_below(&r, 3)]++;
    for (int k = 0; k < 3; k++) assert_true(hist[k] > 9500 && hist[k] < 10500);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcnemar_by_hand),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_dense_clusters),
        cmocka_unit_test(test_rng_below),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
