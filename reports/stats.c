/* stats.c - cluster bootstrap and exact McNemar (see stats.h). */
#include "reports/stats.h"

#include "common/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double stats_mcnemar_exact(int64_t b, int64_t c) {
    int64_t n = b + c, k = b < c ? b : c;
    if (n <= 0) return 1.0;
    /* P(X <= k) for X ~ Binomial(n, 1/2), summed in log space to survive large n. */
    double sum = 0.0;
    for (int64_t i = 0; i <= k; i++) {
        double lp = lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * M_LN2;
        sum += exp(lp);
    }
    double p = 2.0 * sum;
    return p > 1.0 ? 1.0 : p;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile by linear interpolation between order statistics (numpy's default). */
static double percentile(const double *sorted, int n, double q) {
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return sorted[n - 1];
    double f = pos - i;
    return sorted[i] * (1 - f) + sorted[i + 1] * f;
}

/* Shared cluster bootstrap of mean(b) - mean(a) (a = NULL: of mean(b)). */
static int cluster_bootstrap(const int *a, const int *b, const int *cluster, size_t n, int iters, uint64_t seed,
                             double *lo, double *hi) {
    *lo = *hi = NAN;
    if (n == 0 || iters < 100) return -1;
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (cluster[i] + 1 > k) k = cluster[i] + 1;
    double *sum = calloc((size_t)k, sizeof *sum);
    double *cnt = calloc((size_t)k, sizeof *cnt);
    double *stat = malloc((size_t)iters * sizeof *stat);
    if (!sum || !cnt || !stat) {
        free(sum), free(cnt), free(stat);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        sum[cluster[i]] += (double)b[i] - (a ? (double)a[i] : 0.0);
        cnt[cluster[i]] += 1;
    }
    tb_rng r;
    tb_rng_seed(&r, seed);
    for (int it = 0; it < iters; it++) {
        double s = 0, c = 0;
        for (int j = 0; j < k; j++) {
            uint64_t pick = tb_rng_below(&r, (uint64_t)k);
            s += sum[pick];
            c += cnt[pick];
        }
        stat[it] = c > 0 ? s / c : 0.0;
    }
    qsort(stat, (size_t)iters, sizeof *stat, cmp_double);
    *lo = percentile(stat, iters, 0.025);
    *hi = percentile(stat, iters, 0.975);
    free(sum), free(cnt), free(stat);
    return 0;
}

int stats_bootstrap_acc(const int *correct, const int *cluster, size_t n, int iters, uint64_t seed, double *lo,
                        double *hi) {
    return cluster_bootstrap(NULL, correct, cluster, n, iters, seed, lo, hi);
}

int stats_bootstrap_diff(const int *a, const int *b, const int *cluster, size_t n, int iters, uint64_t seed,
                         double *lo, double *hi) {
    return cluster_bootstrap(a, b, cluster, n, iters, seed, lo, hi);
}

int stats_bootstrap_multi(const stats_sample_set *sets, int n_sets,
                          double (*fn)(const double *acc, int n_sets, void *ctx), void *ctx, int iters,
                          uint64_t seed, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (n_sets < 1 || iters < 100) return -1;
    int rc = -1, *k = calloc((size_t)n_sets, sizeof *k);
    double **sum = calloc((size_t)n_sets, sizeof *sum), **cnt = calloc((size_t)n_sets, sizeof *cnt);
    double *acc = malloc((size_t)n_sets * sizeof *acc), *stat = malloc((size_t)iters * sizeof *stat);
    if (!k || !sum || !cnt || !acc || !stat) goto out;
    for (int s = 0; s < n_sets; s++) {
        if (sets[s].n == 0) goto out;
        for (size_t i = 0; i < sets[s].n; i++)
            if (sets[s].cluster[i] + 1 > k[s]) k[s] = sets[s].cluster[i] + 1;
        sum[s] = calloc((size_t)k[s], sizeof **sum);
        cnt[s] = calloc((size_t)k[s], sizeof **cnt);
        if (!sum[s] || !cnt[s]) goto out;
        for (size_t i = 0; i < sets[s].n; i++) {
            sum[s][sets[s].cluster[i]] += sets[s].correct[i] != 0;
            cnt[s][sets[s].cluster[i]] += 1;
        }
    }
    tb_rng r;
    tb_rng_seed(&r, seed);
    for (int it = 0; it < iters; it++) {
        for (int s = 0; s < n_sets; s++) {
            double a = 0, c = 0;
            for (int j = 0; j < k[s]; j++) {
                uint64_t pick = tb_rng_below(&r, (uint64_t)k[s]);
                a += sum[s][pick];
                c += cnt[s][pick];
            }
            acc[s] = c > 0 ? a / c : 0.0;
        }
        stat[it] = fn(acc, n_sets, ctx);
    }
    qsort(stat, (size_t)iters, sizeof *stat, cmp_double);
    *lo = percentile(stat, iters, 0.025);
    *hi = percentile(stat, iters, 0.975);
    rc = 0;
out:
    for (int s = 0; sum && cnt && s < n_sets; s++) free(sum[s]), free(cnt[s]);
    free(k), free(sum), free(cnt), free(acc), free(stat);
    return rc;
}

typedef struct {
    const char *key;
    size_t index;
} keyed;

static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

int stats_dense_clusters(const char *const *keys, size_t n, int *out) {
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    int *rank = malloc((n ? n : 1) * sizeof *rank);
    if (!k || !rank) {
        free(k), free(rank);
        return -1;
    }
    for (size_t i = 0; i < n; i++) k[i] = (keyed){keys[i] ? keys[i] : "", i};
    qsort(k, n, sizeof *k, cmp_keyed);
    /* Each group's leader is its first (smallest) original index; number leaders in index order. */
    for (size_t i = 0; i < n; i++) rank[i] = -1;
    for (size_t g = 0; g < n;) {
        size_t e = g;
        while (e < n && !strcmp(k[e].key, k[g].key)) out[k[e++].index] = (int)k[g].index;
        g = e;
    }
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        if (rank[out[i]] < 0) rank[out[i]] = next++;
        out[i] = rank[out[i]];
    }
    free(k), free(rank);
    return next;
}
