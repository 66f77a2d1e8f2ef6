/* stats.h - the statistics behind reports and paired comparisons: cluster bootstrap confidence
 * intervals (questions cluster by video) and the exact McNemar test. Resampling draws from
 * common/rng.h, so a seed gives the same interval on every platform.
 *
 * Usage:
 *     int correct[n], cluster[n];           // cluster[i] = dense video index of sample i
 *     double lo, hi;
 *     stats_bootstrap_acc(correct, cluster, n, 2000, 1234, &lo, &hi);         // 95 % CI of the accuracy
 *     double p = stats_mcnemar_exact(b, c);  // b = A right & B wrong, c = A wrong & B right
 */
#ifndef TB_STATS_H
#define TB_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Two-sided exact McNemar p-value for b and c discordant pairs: the binomial(b + c, 1/2)
 * probability of a split at least as uneven, min(1, 2 * P(X <= min(b, c))). 1 when b + c = 0. */
double stats_mcnemar_exact(int64_t b, int64_t c);

/* 95 % percentile bootstrap CI of the accuracy mean(correct), resampling whole clusters with
 * replacement (cluster[i] in [0, n_clusters), dense). iters >= 100. Returns 0, or -1 for n = 0
 * or out of memory (lo = hi = NaN then). */
int stats_bootstrap_acc(const int *correct, const int *cluster, size_t n, int iters, uint64_t seed, double *lo,
                        double *hi);

/* 95 % CI of mean(b) - mean(a) over paired samples (same cluster array), resampling clusters. */
int stats_bootstrap_diff(const int *a, const int *b, const int *cluster, size_t n, int iters, uint64_t seed,
                         double *lo, double *hi);

/* One run's scored samples for stats_bootstrap_multi: correct[i] in {0, 1}, cluster[i] dense. */
typedef struct {
    const int *correct;
    const int *cluster;
    size_t n;
} stats_sample_set;

/* 95 % percentile bootstrap CI of a statistic of several independent runs' accuracies (Avg. over
 * benchmarks, Perf. relative to a reference run): each iteration resamples every set's clusters
 * with replacement, computes its accuracy acc[k], and evaluates fn(acc, n_sets, ctx). iters >= 100.
 * Returns 0, or -1 (an empty set, out of memory; lo = hi = NaN). */
int stats_bootstrap_multi(const stats_sample_set *sets, int n_sets,
                          double (*fn)(const double *acc, int n_sets, void *ctx), void *ctx, int iters,
                          uint64_t seed, double *lo, double *hi);

/* Maps arbitrary string keys to dense cluster ids 0..k-1 in first-seen order; returns k or -1.
 * out[n]. */
int stats_dense_clusters(const char *const *keys, size_t n, int *out);

#endif
