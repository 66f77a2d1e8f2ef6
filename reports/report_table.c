/* report_table.c - the paper's Table 1 as a matrix of cells, independent of any output format.
 *
 * Columns: Video-MME short/medium/long/overall, MVBench, LongVideoBench, MLVU (those present, in
 * the paper's order), then any other benchmark alphabetically; Avg. and Perf. follow. Rows: per
 * model, the reference block (runs without a target ratio, shown as 100 %), then one block per
 * target ratio, descending; methods alphabetical inside a block, p->method_last last. Best and
 * second best are marked per column inside each block. The renderers only format these cells. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/rep_internal.h"

/* The paper's benchmark columns, in order; other benchmarks follow alphabetically. */
static const char *const known_benches[] = {"videomme", "mvbench", "longvideobench", "mlvu"};
static const char *const known_labels[] = {"Video-MME", "MVBench", "LongVideoBench", "MLVU"};
enum { N_KNOWN = sizeof known_benches / sizeof known_benches[0] };

int rep_cmp_method(const rep_ctx *c, const char *x, const char *y) {
    const char *last = c->p->method_last;
    int lx = last && !strcmp(x, last), ly = last && !strcmp(y, last);
    if (lx != ly) return lx - ly;
    return strcmp(x, y);
}

/* Stable insertion sorts that see the context (qsort cannot pass one portably); the lists are
 * short, one entry per run at most. */
static void sort_methods(const rep_ctx *c, const char **a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        const char *x = a[i];
        size_t j = i;
        for (; j > 0 && rep_cmp_method(c, a[j - 1], x) > 0; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

static int cmp_run_order(const rep_ctx *c, const rep_run *x, const rep_run *y) {
    int d = strcmp(x->s->model, y->s->model);
    if (!d) d = strcmp(x->s->benchmark, y->s->benchmark);
    if (!d) d = y->reference - x->reference; /* the reference first */
    if (!d) d = rep_cmp_method(c, x->s->method, y->s->method);
    if (!d) d = (x->ratio < y->ratio) - (x->ratio > y->ratio);
    return d;
}

void rep_sort_runs(rep_ctx *c) {
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *x = &c->runs[i];
        size_t j = i;
        for (; j > 0 && cmp_run_order(c, c->sorted[j - 1], x) > 0; j--) c->sorted[j] = c->sorted[j - 1];
        c->sorted[j] = x;
    }
}

/* ---- columns -------------------------------------------------------------------------------- */

static int bench_present(const rep_ctx *c, const char *bench) {
    for (size_t i = 0; i < c->n_runs; i++)
        if (!strcmp(c->runs[i].s->benchmark, bench)) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_col(rep_ctx *c, const char *label, const char *bench, int dur, int in_avg) {
    if (c->n_cols >= REP_MAX_COLS) return;
    rep_col *col = &c->cols[c->n_cols++];
    snprintf(col->label, sizeof col->label, "%s", label);
    snprintf(col->bench, sizeof col->bench, "%s", bench);
    col->dur = dur;
    col->in_avg = in_avg;
}

void rep_build_columns(rep_ctx *c) {
    c->n_cols = 0;
    for (int k = 0; k < N_KNOWN; k++) {
        if (!bench_present(c, known_benches[k])) continue;
        if (k == 0) {
            add_col(c, "VMME-S", "videomme", 0, 0);
            add_col(c, "VMME-M", "videomme", 1, 0);
            add_col(c, "VMME-L", "videomme", 2, 0);
            add_col(c, "Video-MME", "videomme", -1, 1);
        } else {
            add_col(c, known_labels[k], known_benches[k], -1, 1);
        }
    }
    const char *others[REP_MAX_COLS];
    int n_others = 0;
    for (size_t i = 0; i < c->n_runs && n_others < REP_MAX_COLS; i++) {
        const char *b = c->runs[i].s->benchmark;
        int known = 0;
        for (int k = 0; k < N_KNOWN; k++) known |= !strcmp(b, known_benches[k]);
        for (int j = 0; j < n_others; j++) known |= !strcmp(b, others[j]);
        if (!known) others[n_others++] = b;
    }
    qsort(others, (size_t)n_others, sizeof *others, cmp_str);
    for (int j = 0; j < n_others; j++) add_col(c, others[j], others[j], -1, 1);
}

/* ---- rows ----------------------------------------------------------------------------------- */

/* The selected run of a row's (model, method, reference, ratio) on a column's benchmark, or NULL. */
static const rep_run *find_run(const rep_ctx *c, const rep_row *row, const char *bench) {
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        if (r->selected && r->reference == row->reference && r->ratio == row->ratio &&
            !strcmp(r->s->model, row->model) && !strcmp(r->s->method, row->method) && !strcmp(r->s->benchmark, bench))
            return r;
    }
    return NULL;
}

static double cell_value(const rep_run *r, const rep_col *col) {
    if (!r) return NAN;
    return col->dur < 0 ? r->acc : r->dur_acc[col->dur];
}

/* Fills a row's cells, Avg. and both Perf. values relative to ref (NULL: no reference row). */
static void fill_row(const rep_ctx *c, rep_row *row, const rep_row *ref) {
    double sum = 0, rel = 0;
    int n = 0, n_rel = 0;
    for (int k = 0; k < c->n_cols; k++) {
        row->v[k] = cell_value(find_run(c, row, c->cols[k].bench), &c->cols[k]);
        if (!c->cols[k].in_avg || isnan(row->v[k])) continue;
        sum += row->v[k], n++;
        if (ref && !isnan(ref->v[k]) && ref->v[k] > 0) rel += row->v[k] / ref->v[k], n_rel++;
    }
    row->avg = n ? sum / n : NAN;
    row->perf_mean_rel = ref && n_rel ? 100.0 * rel / n_rel : NAN;
    row->perf_rel_avg = ref && ref->avg > 0 && !isnan(row->avg) ? 100.0 * row->avg / ref->avg : NAN;
}

/* Value k of a row in mark order: the columns, then Avg., then the Perf. shown. */
static double mark_value(const rep_ctx *c, const rep_row *r, int k) {
    return k < c->n_cols ? r->v[k] : k == c->n_cols ? r->avg : rep_row_perf(c, r);
}

/* Marks best (1) and second best (2) per column within each block of rows. A reference block of
 * one row is left unmarked. */
static void mark_rows(const rep_ctx *c, rep_row *rows, int n_rows) {
    for (int i = 0; i < n_rows; i++) memset(rows[i].mark, 0, sizeof rows[i].mark);
    for (int k = 0; k < c->n_cols + 2; k++) {
        for (int i = 0; i < n_rows;) {
            int e = i;
            while (e < n_rows && rows[e].block == rows[i].block) e++;
            if (!rows[i].reference || e - i > 1) {
                double best = -INFINITY, second = -INFINITY, worst = INFINITY;
                for (int j = i; j < e; j++) {
                    double v = mark_value(c, &rows[j], k);
                    if (isnan(v)) continue;
                    if (v < worst) worst = v;
                    if (v > best) second = best, best = v;
                    else if (v < best && v > second) second = v;
                }
                /* a column where every method ties says nothing: leave it unmarked */
                for (int j = i; j < e && e - i > 1 && best > worst; j++) {
                    double v = mark_value(c, &rows[j], k);
                    if (isnan(v)) continue;
                    rows[j].mark[k] = v == best ? 1 : v == second ? 2 : 0;
                }
            }
            i = e;
        }
    }
}

static int cmp_double_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Appends a row (growing c->rows); NULL when out of memory. */
static rep_row *add_row(rep_ctx *c, int *cap) {
    if (c->n_rows == *cap) {
        int grown_cap = *cap ? 2 * *cap : 16;
        rep_row *g = realloc(c->rows, (size_t)grown_cap * sizeof *g);
        if (!g) return NULL;
        c->rows = g;
        *cap = grown_cap;
    }
    rep_row *row = &c->rows[c->n_rows++];
    memset(row, 0, sizeof *row);
    return row;
}

int rep_build_rows(rep_ctx *c) {
    int cap = 0, block = 0;
    const char **models = malloc((c->n_runs + 1) * sizeof *models);
    const char **methods = malloc((c->n_runs + 1) * sizeof *methods);
    double *ratios = malloc((c->n_runs + 1) * sizeof *ratios);
    if (!models || !methods || !ratios) goto oom;
    int n_models = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        int seen = 0;
        for (int m = 0; m < n_models; m++) seen |= !strcmp(models[m], c->runs[i].s->model);
        if (!seen) models[n_models++] = c->runs[i].s->model;
    }
    for (int m = 0; m < n_models; m++) {
        int n_ratios = 0;
        for (size_t i = 0; i < c->n_runs; i++) {
            const rep_run *r = &c->runs[i];
            if (strcmp(r->s->model, models[m]) || r->reference || isnan(r->ratio)) continue;
            int seen = 0;
            for (int k = 0; k < n_ratios; k++) seen |= ratios[k] == r->ratio;
            if (!seen) ratios[n_ratios++] = r->ratio;
        }
        qsort(ratios, (size_t)n_ratios, sizeof *ratios, cmp_double_desc);
        int ref_idx = -1; /* the model's first reference row: what Perf. is relative to */
        for (int b = -1; b < n_ratios; b++) {
            int n_methods = 0;
            for (size_t i = 0; i < c->n_runs; i++) {
                const rep_run *r = &c->runs[i];
                if (strcmp(r->s->model, models[m])) continue;
                if (b < 0 ? !r->reference : (r->reference || r->ratio != ratios[b])) continue;
                int seen = 0;
                for (int k = 0; k < n_methods; k++) seen |= !strcmp(methods[k], r->s->method);
                if (!seen) methods[n_methods++] = r->s->method;
            }
            sort_methods(c, methods, (size_t)n_methods);
            for (int k = 0; k < n_methods; k++) {
                rep_row *row = add_row(c, &cap);
                if (!row) goto oom;
                snprintf(row->model, sizeof row->model, "%s", models[m]);
                snprintf(row->method, sizeof row->method, "%s", methods[k]);
                row->reference = b < 0;
                row->ratio = b < 0 ? 1.0 : ratios[b];
                row->block = block;
                fill_row(c, row, ref_idx >= 0 ? &c->rows[ref_idx] : NULL);
                if (b < 0 && ref_idx < 0) {
                    ref_idx = c->n_rows - 1;
                    fill_row(c, row, row);
                }
            }
            block++;
        }
    }
    free(models), free(methods), free(ratios);
    mark_rows(c, c->rows, c->n_rows);
    return 0;
oom:
    free(models), free(methods), free(ratios);
    return rep_fail(c, "out of memory");
}

/* ---- cells ---------------------------------------------------------------------------------- */

double rep_row_perf(const rep_ctx *c, const rep_row *r) {
    return c->p->perf == REP_PERF_MEAN_REL ? r->perf_mean_rel : r->perf_rel_avg;
}

const char *rep_perf_name(rep_perf p) {
    return p == REP_PERF_MEAN_REL ? "mean over benchmarks of acc/acc(full)" : "Avg./Avg.(full)";
}

void rep_fmt_cell(char *buf, size_t n, double v, int mark, rep_style style) {
    if (isnan(v)) {
        snprintf(buf, n, "%s", style == REP_STYLE_TEX ? "--" : "-");
        return;
    }
    static const char *open[3][3] = {{"", "**", "<u>"}, {"", "\\textbf{", "\\underline{"}, {"", "<b>", "<u>"}};
    static const char *close[3][3] = {{"", "**", "</u>"}, {"", "}", "}"}, {"", "</b>", "</u>"}};
    snprintf(buf, n, "%s%.1f%s", open[style][mark], v, close[style][mark]);
}

void rep_fmt_num(char *buf, size_t n, const char *fmt, double v) {
    if (isnan(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, fmt, v);
}

void rep_fmt_acc_ci(char *buf, size_t n, const rep_run *r) {
    if (isnan(r->acc)) snprintf(buf, n, "-");
    else if (isnan(r->ci_lo) || isnan(r->ci_hi)) snprintf(buf, n, "%.1f", r->acc);
    else snprintf(buf, n, "%.1f [%.1f, %.1f]", r->acc, r->ci_lo, r->ci_hi);
}

void rep_ratio_label(char *buf, size_t n, const rep_row *r) {
    if (r->reference) snprintf(buf, n, "100%%");
    else snprintf(buf, n, "%g%%", 100 * r->ratio);
}
