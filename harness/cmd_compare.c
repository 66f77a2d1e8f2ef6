/* cmd_compare.c - tango-bench compare: per-sample paired comparison of two runs (flip counts, exact
 * McNemar test, clustered paired bootstrap CI of the accuracy difference). Exits 3 when run B is
 * worse than run A by more than --threshold percentage points, for CI use. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "reports/stats.h"
#include "store/store.h"

typedef struct {
    char **ids;    /* sample ids, sorted (the store returns them ordered) */
    char **videos;
    int *correct;  /* -1 = failed sample */
    size_t n, cap;
    int oom;
} outcomes;

static char *dup_or_empty(const char *s) {
    size_t n = s ? strlen(s) : 0;
    char *d = malloc(n + 1);
    if (d) {
        if (n) memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int collect(const db_outcome *o, void *ctx) {
    outcomes *out = ctx;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        char **ids = realloc(out->ids, cap * sizeof *ids);
        if (ids) out->ids = ids;
        char **videos = realloc(out->videos, cap * sizeof *videos);
        if (videos) out->videos = videos;
        int *correct = realloc(out->correct, cap * sizeof *correct);
        if (correct) out->correct = correct;
        if (!ids || !videos || !correct) return out->oom = 1;
        out->cap = cap;
    }
    out->ids[out->n] = dup_or_empty(o->sample_id);
    out->videos[out->n] = dup_or_empty(o->video_id ? o->video_id : o->sample_id);
    if (!out->ids[out->n] || !out->videos[out->n]) return out->oom = 1;
    out->correct[out->n] = o->error ? -1 : o->correct;
    out->n++;
    return 0;
}

static void outcomes_free(outcomes *o) {
    for (size_t i = 0; i < o->n; i++) free(o->ids[i]), free(o->videos[i]);
    free(o->ids), free(o->videos), free(o->correct);
}

int cmd_compare(int argc, char **argv) {
    const char *path = NULL;
    double threshold = 1.0;
    int64_t iters = 2000, seed = 1234;
    const cli_opt opts[] = {
        {"db", CLI_STR, &path, "FILE", "results database", .required = 1, .env = "TANGO_DB"},
        {"threshold", CLI_DOUBLE, &threshold, "PP",
         "flag a regression (exit 3) when B's accuracy is below A's by more than this many points", 0, 100},
        {"bootstrap", CLI_INT, &iters, "N", "bootstrap resamples", 100, 1e6},
        {"seed", CLI_INT, &seed, "S", "bootstrap seed", 0, 9e18},
        {0},
    };
    const cli_spec spec = {"compare", "RUN_A RUN_B", 2, 2,
                           "paired per-sample comparison of run B against run A (keys or unique prefixes)", opts};
    char *pos[2];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);

    char err[2048], key_a[DB_KEY_LEN + 1], key_b[DB_KEY_LEN + 1];
    db_store *db = db_open_read(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "tango-bench compare: %s\n", err);
        return 1;
    }
    outcomes a = {0}, b = {0};
    int *pa = NULL, *pb = NULL, *cluster = NULL;
    const char **vkeys = NULL;
    int rc = 1;
    if (db_run_resolve(db, pos[0], key_a) || db_run_resolve(db, pos[1], key_b) ||
        db_samples_each(db, key_a, collect, &a) || db_samples_each(db, key_b, collect, &b)) {
        fprintf(stderr, "tango-bench compare: %s\n", db_errmsg(db));
        goto out;
    }
    if (a.oom || b.oom) {
        fprintf(stderr, "tango-bench compare: out of memory\n");
        goto out;
    }
    size_t cap = a.n < b.n ? a.n : b.n;
    pa = malloc((cap ? cap : 1) * sizeof *pa);
    pb = malloc((cap ? cap : 1) * sizeof *pb);
    cluster = malloc((cap ? cap : 1) * sizeof *cluster);
    vkeys = malloc((cap ? cap : 1) * sizeof *vkeys);
    if (!pa || !pb || !cluster || !vkeys) {
        fprintf(stderr, "tango-bench compare: out of memory\n");
        goto out;
    }
    /* Merge-join on sample id: pair the samples both runs scored. */
    size_t i = 0, j = 0, n = 0, only_a = 0, only_b = 0, failed = 0;
    while (i < a.n && j < b.n) {
        int c = strcmp(a.ids[i], b.ids[j]);
        if (c < 0) { only_a++; i++; continue; }
        if (c > 0) { only_b++; j++; continue; }
        if (a.correct[i] < 0 || b.correct[j] < 0) failed++;
        else {
            pa[n] = a.correct[i];
            pb[n] = b.correct[j];
            vkeys[n] = a.videos[i];
            n++;
        }
        i++, j++;
    }
    only_a += a.n - i;
    only_b += b.n - j;
    if (n == 0) {
        fprintf(stderr, "tango-bench compare: runs %.12s and %.12s share no scored sample\n", key_a, key_b);
        goto out;
    }
    int64_t both = 0, a_only = 0, b_only = 0, neither = 0, sum_a = 0, sum_b = 0;
    for (size_t k = 0; k < n; k++) {
        sum_a += pa[k], sum_b += pb[k];
        if (pa[k] && pb[k]) both++;
        else if (pa[k]) a_only++;
        else if (pb[k]) b_only++;
        else neither++;
    }
    if (stats_dense_clusters(vkeys, n, cluster) < 0) {
        fprintf(stderr, "tango-bench compare: out of memory\n");
        goto out;
    }
    double lo, hi;
    stats_bootstrap_diff(pa, pb, cluster, n, (int)iters, (uint64_t)seed, &lo, &hi);
    double acc_a = 100.0 * sum_a / n, acc_b = 100.0 * sum_b / n, diff = acc_b - acc_a;
    double p = stats_mcnemar_exact(a_only, b_only);
    printf("A %.12s  B %.12s  paired samples %zu (only in A %zu, only in B %zu, failed in either %zu)\n", key_a,
           key_b, n, only_a, only_b, failed);
    printf("accuracy A %.2f%%  B %.2f%%  B-A %+.2f points, 95%% CI [%+.2f, %+.2f] (bootstrap by video, %lld resamples)\n",
           acc_a, acc_b, diff, 100 * lo, 100 * hi, (long long)iters);
    printf("both right %lld  A only %lld  B only %lld  both wrong %lld  McNemar exact p = %.4g\n", (long long)both,
           (long long)a_only, (long long)b_only, (long long)neither, p);
    if (diff < -threshold) {
        printf("REGRESSION: B is %.2f points below A (threshold %.2f)\n", -diff, threshold);
        rc = 3;
    } else {
        printf("no regression beyond %.2f points\n", threshold);
        rc = 0;
    }
out:
    outcomes_free(&a);
    outcomes_free(&b);
    free(pa), free(pb), free(cluster), free(vkeys);
    db_close(db);
    return rc;
}
