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

static double mean_of(const double *acc, int n, void *ctx) {
    (void)ctx;
    double s = 0;
    for (int i = 0; i < n; i++) s += acc[i];
    return s / n;
}

static double ratio_of(const double *acc, int n, void *ctx) {
    (void)ctx;
    (void)n;
    return acc[1] > 0 ? acc[0] / acc[1] : 0;
}

/* Several runs: one set alone equals stats_bootstrap_acc (same draws); the mean of two sets with
 * constant accuracies 0.5 and 1 is exactly 0.75; a ratio of independent runs brackets its point
 * value. */
static void test_bootstrap_multi(void **state) {
    (void)state;
    enum { N = 200 };
    int c1[N], k1[N], c2[N], k2[N];
    for (int i = 0; i < N; i++) {
        c1[i] = (i * 7) % 3 == 0;
        k1[i] = i / 4;
        c2[i] = 1;
        k2[i] = i / 2;
    }
    stats_sample_set one = {c1, k1, N};
    double lo, hi, lo2, hi2;
    assert_int_equal(stats_bootstrap_multi(&one, 1, mean_of, NULL, 500, 9, &lo, &hi), 0);
    assert_int_equal(stats_bootstrap_acc(c1, k1, N, 500, 9, &lo2, &hi2), 0);
    assert_true(fabs(lo - lo2) < 1e-12 && fabs(hi - hi2) < 1e-12);
    int half[N];
    for (int i = 0; i < N; i++) half[i] = i % 2; /* every cluster of 2 holds one right answer */
    stats_sample_set two[2] = {{half, k2, N}, {c2, k2, N}};
    assert_int_equal(stats_bootstrap_multi(two, 2, mean_of, NULL, 300, 1, &lo, &hi), 0);
    assert_true(fabs(lo - 0.75) < 1e-12 && fabs(hi - 0.75) < 1e-12);
    stats_sample_set rat[2] = {{c1, k1, N}, {c2, k2, N}};
    double point = 0;
    for (int i = 0; i < N; i++) point += c1[i];
    point /= N;
    assert_int_equal(stats_bootstrap_multi(rat, 2, ratio_of, NULL, 1000, 3, &lo, &hi), 0);
    assert_true(lo < point && point < hi && hi - lo < 0.3);
    stats_sample_set empty = {c1, k1, 0};
    assert_int_equal(stats_bootstrap_multi(&empty, 1, mean_of, NULL, 500, 1, &lo, &hi), -1);
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
        cmocka_unit_test(test_bootstrap_multi),
        cmocka_unit_test(test_dense_clusters),
        cmocka_unit_test(test_rng_below),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
