/* report.c - tables and plots from a results database (see report.h); the entry point.
 *
 * Flow: read every run's aggregates through the store's query API (db_run_summaries), derive
 * accuracy, the clustered bootstrap CI and the reference flag, pick the newest run per
 * (model, benchmark, method, ratio), lay out the paper's Table 1 (report_table.c), write the
 * plots first (report_plot.c: the HTML page lists them), then each requested format. The files
 * and what each owns are listed in rep_internal.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/rep_internal.h"
#include "reports/stats.h"

const char *const rep_durations[3] = {"short", "medium", "long"};

rep_params rep_default_params(void) {
    return (rep_params){.out_dir = "report", .formats = REP_MD | REP_TEX | REP_CSV | REP_HTML, .plots = 1,
                        .perf = REP_PERF_MEAN_REL, .bootstrap_iters = 1000, .seed = 1234, .method_last = NULL,
                        .paper_path = NULL};
}

int rep_fail(rep_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_len, fmt, ap);
    va_end(ap);
    return -1;
}

FILE *rep_open(rep_ctx *c, const char *dir, const char *name, char *path, size_t n) {
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) rep_fail(c, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

int rep_close(rep_ctx *c, FILE *f, const char *path) {
    int bad = ferror(f);
    if (fclose(f) || bad) return rep_fail(c, "%s: write failed", path);
    return 0;
}

/* ---- loading -------------------------------------------------------------------------------- */

/* The 95 % CI of r's accuracy, resampling videos (questions about one video are not
 * independent). */
static int load_ci(rep_ctx *c, db_store *db, rep_run *r) {
    r->ci_lo = r->ci_hi = NAN;
    if (r->s->n_ok == 0) return 0;
    db_scored sc;
    if (db_run_scored(db, r->s->key, &sc)) return rep_fail(c, "%s", db_errmsg(db));
    int *cluster = malloc((sc.n ? sc.n : 1) * sizeof *cluster);
    if (!cluster || stats_dense_clusters((const char *const *)sc.cluster, sc.n, cluster) < 0) {
        free(cluster);
        db_scored_free(&sc);
        return rep_fail(c, "out of memory");
    }
    double lo, hi;
    if (stats_bootstrap_acc(sc.correct, cluster, sc.n, c->p->bootstrap_iters, c->p->seed, &lo, &hi) == 0)
        r->ci_lo = 100 * lo, r->ci_hi = 100 * hi;
    free(cluster);
    db_scored_free(&sc);
    return 0;
}

static int same_cell(const rep_run *a, const rep_run *b) {
    return a->reference == b->reference && a->ratio == b->ratio && !strcmp(a->s->model, b->s->model) &&
           !strcmp(a->s->benchmark, b->s->benchmark) && !strcmp(a->s->method, b->s->method) &&
           !strcmp(a->s->convention, b->s->convention);
}

static int load_runs(rep_ctx *c, db_store *db) {
    if (db_run_summaries(db, &c->summaries, &c->n_runs)) return rep_fail(c, "%s", db_errmsg(db));
    if (c->n_runs == 0) return 0;
    if (!(c->runs = calloc(c->n_runs, sizeof *c->runs))) return rep_fail(c, "out of memory");
    for (size_t i = 0; i < c->n_runs; i++) {
        rep_run *r = &c->runs[i];
        /* a run recorded with a label (one variant of a method, e.g. an ablation) is reported
         * under its label: its own row, never merged with the method's plain runs */
        if (c->summaries[i].label[0])
            snprintf(c->summaries[i].method, sizeof c->summaries[i].method, "%s", c->summaries[i].label);
        const db_run_summary *s = r->s = &c->summaries[i];
        r->reference = isnan(s->target_ratio);
        r->ratio = r->reference ? 1.0 : s->target_ratio;
        r->acc = 100.0 * s->accuracy; /* NAN stays NAN */
        r->tflops = s->mean_flops / 1e12;
        for (int d = 0; d < 3; d++) {
            r->dur_acc[d] = NAN;
            for (int g = 0; g < s->n_durations; g++)
                if (!strcmp(s->duration[g].value, rep_durations[d]) && s->duration[g].n > 0)
                    r->dur_acc[d] = 100.0 * (double)s->duration[g].n_correct / (double)s->duration[g].n;
        }
        if (load_ci(c, db, r)) return -1;
    }
    /* newest run per cell and convention: the summaries come in creation order */
    for (size_t i = 0; i < c->n_runs; i++) {
        c->runs[i].latest = 1;
        for (size_t j = i + 1; j < c->n_runs && c->runs[i].latest; j++)
            if (same_cell(&c->runs[i], &c->runs[j])) c->runs[i].latest = 0;
    }
    /* the main table's convention: the one asked for, else the one most runs have */
    if (c->p->convention) {
        snprintf(c->convention, sizeof c->convention, "%s", c->p->convention);
    } else {
        size_t best = 0;
        for (size_t i = 0; i < c->n_runs; i++) {
            size_t k = 0;
            for (size_t j = 0; j < c->n_runs; j++) k += !strcmp(c->summaries[i].convention, c->summaries[j].convention);
            if (k > best || (k == best && strcmp(c->summaries[i].convention, c->convention) < 0)) {
                best = k;
                snprintf(c->convention, sizeof c->convention, "%s", c->summaries[i].convention);
            }
        }
    }
    for (size_t i = 0; i < c->n_runs; i++)
        c->runs[i].selected = c->runs[i].latest && !strcmp(c->summaries[i].convention, c->convention);
    return 0;
}

/* ---- entry point ---------------------------------------------------------------------------- */

int rep_write(db_store *db, const rep_params *p, int *n_runs, char *err, size_t err_len) {
    rep_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    c->p = p;
    c->err = err;
    c->err_len = err_len;
    int rc = -1;
    if (mkdir(p->out_dir, 0755) && errno != EEXIST) {
        rep_fail(c, "%s: cannot create: %s", p->out_dir, strerror(errno));
        goto out;
    }
    if (load_runs(c, db)) goto out;
    if (n_runs) *n_runs = (int)c->n_runs;
    if (!(c->sorted = malloc((c->n_runs + 1) * sizeof *c->sorted))) {
        rep_fail(c, "out of memory");
        goto out;
    }
    rep_sort_runs(c);
    rep_build_columns(c);
    if (rep_build_rows(c)) goto out;
    if (rep_paper_build(c, db)) goto out;
    if (p->plots && rep_write_plots(c)) goto out;
    if ((p->formats & REP_MD) && rep_write_markdown(c)) goto out;
    if ((p->formats & REP_TEX) && rep_write_latex(c)) goto out;
    if ((p->formats & REP_CSV) && (rep_write_csv(c) || rep_sections_csv(c))) goto out;
    if ((p->formats & REP_HTML) && rep_write_html(c)) goto out;
    rc = 0;
out:
    rep_paper_free(c);
    free(c->rows);
    free(c->sorted);
    free(c->runs);
    db_run_summaries_free(c->summaries, c->n_runs);
    free(c);
    return rc;
}
