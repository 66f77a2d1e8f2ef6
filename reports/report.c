/* report.c - tables and plots from a results database (see report.h).
 *
 * Flow: load every run with its aggregates (one pass of SQL per run), pick the newest run per
 * (model, benchmark, method, ratio), lay out the paper's Table 1 as a matrix of cells, then
 * render the matrix in each format. Plots get their data as whitespace-separated .dat files and
 * one gnuplot script each, so a user can restyle and re-run them. */
#include "reports/report.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "reports/stats.h"

#define REP_MAX_COLS 32
#define REP_MAX_LAYERS 256

static const char *const durations[3] = {"short", "medium", "long"};
/* The paper's benchmark columns, in order; other benchmarks follow alphabetically. */
static const char *const known_benches[] = {"videomme", "mvbench", "longvideobench", "mlvu"};
static const char *const known_labels[] = {"Video-MME", "MVBench", "LongVideoBench", "MLVU"};

typedef struct {
    char key[DB_KEY_LEN + 1];
    char model[256];
    char bench[64];
    char method[64];
    char created[32];
    double ratio;          /* target equivalent retention; 1 for full; NAN when unknown */
    int64_t n, n_ok, n_failed, n_correct, n_parse_failed;
    double acc;            /* percent over scored samples; NAN when none */
    double ci_lo, ci_hi;   /* percent */
    double retention;      /* mean realised equivalent retention */
    double tflops;         /* mean prefill TFLOPs */
    double dur_acc[3];     /* Video-MME short/medium/long, percent */
    int64_t dur_n[3];
    double ms[DB_N_STAGES];/* mean per-stage ms, NAN when not measured */
    int n_layers;
    double layer[REP_MAX_LAYERS]; /* mean visual tokens per LLM layer */
    int selected;          /* newest of its (model, bench, method, ratio) */
} rep_run;

typedef struct {
    char label[64];
    char bench[64];
    int dur;       /* -1 overall, 0..2 Video-MME duration */
    int in_avg;    /* counts in Avg. and Perf. */
} rep_col;

typedef struct {
    sqlite3 *db;
    const rep_params *p;
    char *err;
    size_t err_len;
    rep_run *runs;
    size_t n_runs;
    const rep_run **sorted; /* runs by model, benchmark, method (Tango last), ratio descending */
    rep_col cols[REP_MAX_COLS];
    int n_cols;
} rep_ctx;

static int fail(rep_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rep_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_len, fmt, ap);
    va_end(ap);
    return -1;
}

rep_params rep_default_params(void) {
    return (rep_params){.out_dir = "report", .formats = REP_MD | REP_TEX | REP_CSV | REP_HTML, .plots = 1,
                        .perf = REP_PERF_MEAN_REL, .bootstrap_iters = 1000, .seed = 1234};
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int i) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", s ? s : "");
}

static double col_double_or_nan(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* ---- loading -------------------------------------------------------------------------------- */

static int load_details(rep_ctx *c, rep_run *r) {
    sqlite3_stmt *st = NULL;
    int rc = -1;
    int *correct = NULL, *cluster = NULL;
    char **videos = NULL;
    size_t n = 0;
    /* Video-MME duration groups */
    if (sqlite3_prepare_v2(c->db,
                           "SELECT json_extract(categories, '$.duration'), count(*), sum(correct) FROM samples"
                           " WHERE run_key = ?1 AND status = 'ok' AND json_valid(categories) GROUP BY 1",
                           -1, &st, NULL) != SQLITE_OK)
        goto sql;
    sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
    for (int d = 0; d < 3; d++) r->dur_acc[d] = NAN, r->dur_n[d] = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *g = (const char *)sqlite3_column_text(st, 0);
        for (int d = 0; g && d < 3; d++)
            if (!strcmp(g, durations[d])) {
                r->dur_n[d] = sqlite3_column_int64(st, 1);
                r->dur_acc[d] = 100.0 * sqlite3_column_double(st, 2) / (double)r->dur_n[d];
            }
    }
    sqlite3_finalize(st);
    st = NULL;
    /* mean per-stage timings over scored samples */
    if (sqlite3_prepare_v2(c->db,
                           "SELECT t.stage, avg(t.ms) FROM timings t JOIN samples s USING (run_key, sample_id)"
                           " WHERE t.run_key = ?1 AND s.status = 'ok' GROUP BY t.stage",
                           -1, &st, NULL) != SQLITE_OK)
        goto sql;
    sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
    for (int k = 0; k < DB_N_STAGES; k++) r->ms[k] = NAN;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *stage = (const char *)sqlite3_column_text(st, 0);
        for (int k = 0; stage && k < DB_N_STAGES; k++)
            if (!strcmp(stage, db_stage_names[k])) r->ms[k] = sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    /* mean visual tokens per layer */
    if (sqlite3_prepare_v2(c->db,
                           "SELECT layer, avg(visual) FROM layer_tokens WHERE run_key = ?1 GROUP BY layer"
                           " ORDER BY layer",
                           -1, &st, NULL) != SQLITE_OK)
        goto sql;
    sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
    r->n_layers = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int l = sqlite3_column_int(st, 0);
        if (l != r->n_layers || l >= REP_MAX_LAYERS) break; /* gaps: keep the contiguous prefix */
        r->layer[r->n_layers++] = sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    /* clustered bootstrap CI of the accuracy */
    r->ci_lo = r->ci_hi = NAN;
    if (r->n_ok > 0) {
        if (sqlite3_prepare_v2(c->db,
                               "SELECT correct, coalesce(video_id, sample_id) FROM samples"
                               " WHERE run_key = ?1 AND status = 'ok'",
                               -1, &st, NULL) != SQLITE_OK)
            goto sql;
        sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
        correct = malloc((size_t)r->n_ok * sizeof *correct);
        cluster = malloc((size_t)r->n_ok * sizeof *cluster);
        videos = calloc((size_t)r->n_ok, sizeof *videos);
        if (!correct || !cluster || !videos) {
            fail(c, "out of memory");
            goto out;
        }
        while (n < (size_t)r->n_ok && sqlite3_step(st) == SQLITE_ROW) {
            correct[n] = sqlite3_column_int(st, 0);
            const char *v = (const char *)sqlite3_column_text(st, 1);
            videos[n] = strdup(v ? v : "");
            if (!videos[n]) {
                fail(c, "out of memory");
                goto out;
            }
            n++;
        }
        sqlite3_finalize(st);
        st = NULL;
        if (stats_dense_clusters((const char *const *)videos, n, cluster) < 0) {
            fail(c, "out of memory");
            goto out;
        }
        double lo, hi;
        if (stats_bootstrap_acc(correct, cluster, n, c->p->bootstrap_iters, c->p->seed, &lo, &hi) == 0)
            r->ci_lo = 100 * lo, r->ci_hi = 100 * hi;
    }
    rc = 0;
    goto out;
sql:
    fail(c, "reading run %.12s: %s", r->key, sqlite3_errmsg(c->db));
out:
    sqlite3_finalize(st);
    for (size_t i = 0; videos && i < n; i++) free(videos[i]);
    free(videos), free(correct), free(cluster);
    return rc;
}

static int load_runs(rep_ctx *c) {
    static const char *sql =
        "SELECT r.run_key, r.model, r.benchmark, r.method, r.created, json_extract(r.params, '$.ratio'),"
        " count(s.sample_id), coalesce(sum(s.status = 'ok'), 0), coalesce(sum(s.status = 'failed'), 0),"
        " coalesce(sum(CASE WHEN s.status = 'ok' THEN s.correct END), 0), coalesce(sum(s.parse_failed), 0),"
        " avg(CASE WHEN s.status = 'ok' THEN s.equiv_retention END),"
        " avg(CASE WHEN s.status = 'ok' THEN s.flops END)"
        " FROM runs r LEFT JOIN samples s ON s.run_key = r.run_key"
        " WHERE json_valid(r.params) GROUP BY r.run_key ORDER BY r.created, r.run_key";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(c, "reading runs: %s", sqlite3_errmsg(c->db));
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->n_runs == cap) {
            cap = cap ? cap * 2 : 64;
            rep_run *grown = realloc(c->runs, cap * sizeof *grown);
            if (!grown) {
                sqlite3_finalize(st);
                return fail(c, "out of memory");
            }
            c->runs = grown;
        }
        rep_run *r = &c->runs[c->n_runs++];
        memset(r, 0, sizeof *r);
        copy_col(r->key, sizeof r->key, st, 0);
        copy_col(r->model, sizeof r->model, st, 1);
        copy_col(r->bench, sizeof r->bench, st, 2);
        copy_col(r->method, sizeof r->method, st, 3);
        copy_col(r->created, sizeof r->created, st, 4);
        r->ratio = !strcmp(r->method, "full") ? 1.0 : col_double_or_nan(st, 5);
        r->n = sqlite3_column_int64(st, 6);
        r->n_ok = sqlite3_column_int64(st, 7);
        r->n_failed = sqlite3_column_int64(st, 8);
        r->n_correct = sqlite3_column_int64(st, 9);
        r->n_parse_failed = sqlite3_column_int64(st, 10);
        r->retention = col_double_or_nan(st, 11);
        r->tflops = col_double_or_nan(st, 12) / 1e12;
        r->acc = r->n_ok > 0 ? 100.0 * (double)r->n_correct / (double)r->n_ok : NAN;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail(c, "reading runs: %s", sqlite3_errmsg(c->db));
    for (size_t i = 0; i < c->n_runs; i++)
        if (load_details(c, &c->runs[i])) return -1;
    /* newest run per (model, bench, method, ratio): runs are in creation order */
    for (size_t i = 0; i < c->n_runs; i++) {
        rep_run *r = &c->runs[i];
        r->selected = 1;
        for (size_t j = i + 1; j < c->n_runs; j++) {
            rep_run *o = &c->runs[j];
            int same_ratio = (isnan(r->ratio) && isnan(o->ratio)) || r->ratio == o->ratio;
            if (same_ratio && !strcmp(r->model, o->model) && !strcmp(r->bench, o->bench) &&
                !strcmp(r->method, o->method))
                r->selected = 0;
        }
    }
    return 0;
}

/* ---- table layout --------------------------------------------------------------------------- */

static int bench_present(const rep_ctx *c, const char *bench) {
    for (size_t i = 0; i < c->n_runs; i++)
        if (!strcmp(c->runs[i].bench, bench)) return 1;
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

static void build_columns(rep_ctx *c) {
    c->n_cols = 0;
    for (size_t k = 0; k < sizeof known_benches / sizeof known_benches[0]; k++) {
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
        const char *b = c->runs[i].bench;
        int known = 0;
        for (size_t k = 0; k < sizeof known_benches / sizeof known_benches[0]; k++) known |= !strcmp(b, known_benches[k]);
        for (int j = 0; j < n_others; j++) known |= !strcmp(b, others[j]);
        if (!known) others[n_others++] = b;
    }
    qsort(others, (size_t)n_others, sizeof *others, cmp_str);
    for (int j = 0; j < n_others; j++) add_col(c, others[j], others[j], -1, 1);
}

/* The selected run of (model, method, ratio) on a column's benchmark, or NULL. */
static const rep_run *find_run(const rep_ctx *c, const char *model, const char *method, double ratio,
                               const char *bench) {
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        if (r->selected && !strcmp(r->model, model) && !strcmp(r->method, method) && !strcmp(r->bench, bench) &&
            (r->ratio == ratio || (isnan(r->ratio) && isnan(ratio))))
            return r;
    }
    return NULL;
}

static double cell_value(const rep_run *r, const rep_col *col) {
    if (!r) return NAN;
    return col->dur < 0 ? r->acc : r->dur_acc[col->dur];
}

/* One row of the main table. */
typedef struct {
    char model[256];
    char method[64];
    double ratio;
    int block;                         /* rows of one (model, ratio) share a block id */
    double v[REP_MAX_COLS];            /* accuracy per column, NAN = missing */
    double avg, perf_mean_rel, perf_rel_avg;
    int mark[REP_MAX_COLS + 2];        /* 1 best, 2 second (columns, then Avg., Perf.) */
} rep_row;

static int cmp_double_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Method order inside a block: alphabetical, Tango last (the paper lists "Ours" last). */
static int cmp_method(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int tx = !strcmp(x, "tango"), ty = !strcmp(y, "tango");
    if (tx != ty) return tx - ty;
    return strcmp(x, y);
}

static int cmp_run_order(const void *a, const void *b) {
    const rep_run *x = *(const rep_run *const *)a, *y = *(const rep_run *const *)b;
    int d = strcmp(x->model, y->model);
    if (!d) d = strcmp(x->bench, y->bench);
    if (!d) {
        const char *mx = x->method, *my = y->method;
        int fx = !strcmp(mx, "full"), fy = !strcmp(my, "full");
        d = fx != fy ? fy - fx : cmp_method(&mx, &my);
    }
    if (!d) d = (x->ratio < y->ratio) - (x->ratio > y->ratio);
    return d;
}

static void fill_row(const rep_ctx *c, rep_row *row, const rep_row *full) {
    double sum = 0, rel = 0;
    int n = 0, n_rel = 0;
    for (int k = 0; k < c->n_cols; k++) {
        row->v[k] = cell_value(find_run(c, row->model, row->method, row->ratio, c->cols[k].bench), &c->cols[k]);
        if (!c->cols[k].in_avg || isnan(row->v[k])) continue;
        sum += row->v[k], n++;
        if (full && !isnan(full->v[k]) && full->v[k] > 0) rel += row->v[k] / full->v[k], n_rel++;
    }
    row->avg = n ? sum / n : NAN;
    row->perf_mean_rel = full && n_rel ? 100.0 * rel / n_rel : NAN;
    row->perf_rel_avg = full && full->avg > 0 && !isnan(row->avg) ? 100.0 * row->avg / full->avg : NAN;
}

/* Marks best (1) and second best (2) per column within each block of method rows. */
static void mark_rows(const rep_ctx *c, rep_row *rows, int n_rows) {
    for (int i = 0; i < n_rows; i++) memset(rows[i].mark, 0, sizeof rows[i].mark);
    for (int k = 0; k < c->n_cols + 2; k++) {
        for (int i = 0; i < n_rows;) {
            int e = i;
            while (e < n_rows && rows[e].block == rows[i].block) e++;
            if (strcmp(rows[i].method, "full") || e - i > 1) {
                double best = -INFINITY, second = -INFINITY, worst = INFINITY;
                for (int j = i; j < e; j++) {
                    double v = k < c->n_cols ? rows[j].v[k] : k == c->n_cols ? rows[j].avg
                               : c->p->perf == REP_PERF_MEAN_REL ? rows[j].perf_mean_rel : rows[j].perf_rel_avg;
                    if (isnan(v)) continue;
                    if (v < worst) worst = v;
                    if (v > best) second = best, best = v;
                    else if (v < best && v > second) second = v;
                }
                /* a column where every method ties says nothing: leave it unmarked */
                for (int j = i; j < e && e - i > 1 && best > worst; j++) {
                    double v = k < c->n_cols ? rows[j].v[k] : k == c->n_cols ? rows[j].avg
                               : c->p->perf == REP_PERF_MEAN_REL ? rows[j].perf_mean_rel : rows[j].perf_rel_avg;
                    if (isnan(v)) continue;
                    rows[j].mark[k] = v == best ? 1 : v == second ? 2 : 0;
                }
            }
            i = e;
        }
    }
}

/* Builds every row: per model, the full row then one block per ratio (descending). Caller frees. */
static int build_rows(rep_ctx *c, rep_row **out, int *n_out) {
    int cap = 16, n = 0, block = 0;
    rep_row *rows = malloc((size_t)cap * sizeof *rows);
    const char **models = malloc((c->n_runs + 1) * sizeof *models);
    const char **methods = malloc((c->n_runs + 1) * sizeof *methods);
    double *ratios = malloc((c->n_runs + 1) * sizeof *ratios);
    if (!rows || !models || !methods || !ratios) goto oom;
    int n_models = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        int seen = 0;
        for (int m = 0; m < n_models; m++) seen |= !strcmp(models[m], c->runs[i].model);
        if (!seen) models[n_models++] = c->runs[i].model;
    }
    for (int m = 0; m < n_models; m++) {
        int n_ratios = 0;
        for (size_t i = 0; i < c->n_runs; i++) {
            const rep_run *r = &c->runs[i];
            if (strcmp(r->model, models[m]) || !strcmp(r->method, "full") || isnan(r->ratio)) continue;
            int seen = 0;
            for (int k = 0; k < n_ratios; k++) seen |= ratios[k] == r->ratio;
            if (!seen) ratios[n_ratios++] = r->ratio;
        }
        qsort(ratios, (size_t)n_ratios, sizeof *ratios, cmp_double_desc);
        int full_idx = -1;
        for (int b = -1; b < n_ratios; b++) {
            int n_methods = 0;
            for (size_t i = 0; i < c->n_runs; i++) {
                const rep_run *r = &c->runs[i];
                if (strcmp(r->model, models[m])) continue;
                if (b < 0 ? strcmp(r->method, "full") != 0 : (!strcmp(r->method, "full") || r->ratio != ratios[b]))
                    continue;
                int seen = 0;
                for (int k = 0; k < n_methods; k++) seen |= !strcmp(methods[k], r->method);
                if (!seen) methods[n_methods++] = r->method;
            }
            qsort(methods, (size_t)n_methods, sizeof *methods, cmp_method);
            for (int k = 0; k < n_methods; k++) {
                if (n == cap) {
                    cap *= 2;
                    rep_row *g = realloc(rows, (size_t)cap * sizeof *g);
                    if (!g) goto oom;
                    rows = g;
                }
                rep_row *row = &rows[n];
                memset(row, 0, sizeof *row);
                snprintf(row->model, sizeof row->model, "%s", models[m]);
                snprintf(row->method, sizeof row->method, "%s", methods[k]);
                row->ratio = b < 0 ? 1.0 : ratios[b];
                row->block = block;
                fill_row(c, row, full_idx >= 0 ? &rows[full_idx] : NULL);
                if (b < 0 && full_idx < 0) {
                    full_idx = n;
                    fill_row(c, row, row);
                }
                n++;
            }
            block++;
        }
    }
    free(models), free(methods), free(ratios);
    mark_rows(c, rows, n);
    *out = rows;
    *n_out = n;
    return 0;
oom:
    free(rows), free(models), free(methods), free(ratios);
    return fail(c, "out of memory");
}

/* ---- rendering ------------------------------------------------------------------------------ */

static FILE *open_out(rep_ctx *c, const char *name, char *path, size_t n) {
    snprintf(path, n, "%s/%s", c->p->out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) fail(c, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int close_out(rep_ctx *c, FILE *f, const char *path) {
    int bad = ferror(f);
    if (fclose(f) || bad) return fail(c, "%s: write failed", path);
    return 0;
}

static const char *perf_name(rep_perf p) {
    return p == REP_PERF_MEAN_REL ? "mean over benchmarks of acc/acc(full)" : "Avg./Avg.(full)";
}

static double row_perf(const rep_ctx *c, const rep_row *r) {
    return c->p->perf == REP_PERF_MEAN_REL ? r->perf_mean_rel : r->perf_rel_avg;
}

static void fmt_cell(char *buf, size_t n, double v, int mark, int style /* 0 md, 1 tex, 2 html */) {
    if (isnan(v)) {
        snprintf(buf, n, "%s", style == 1 ? "--" : "-");
        return;
    }
    static const char *open[3][3] = {{"", "**", "<u>"}, {"", "\\textbf{", "\\underline{"}, {"", "<b>", "<u>"}};
    static const char *close[3][3] = {{"", "**", "</u>"}, {"", "}", "}"}, {"", "</b>", "</u>"}};
    snprintf(buf, n, "%s%.1f%s", open[style][mark], v, close[style][mark]);
}

static void ratio_label(char *buf, size_t n, const rep_row *r) {
    if (!strcmp(r->method, "full")) snprintf(buf, n, "100%%");
    else snprintf(buf, n, "%g%%", 100 * r->ratio);
}

static int write_markdown(rep_ctx *c, const rep_row *rows, int n) {
    char path[1200], cell[64], rl[32];
    FILE *f = open_out(c, "table.md", path, sizeof path);
    if (!f) return -1;
    fprintf(f, "# Accuracy (%%) at matched equivalent retention\n\n");
    fprintf(f, "Best per retention block in **bold**, second <u>underlined</u>. Perf. = %s x 100.\n",
            perf_name(c->p->perf));
    const char *model = NULL;
    for (int i = 0; i < n; i++) {
        if (!model || strcmp(model, rows[i].model)) {
            model = rows[i].model;
            fprintf(f, "\n## %s\n\n| Retention | Method |", model);
            for (int k = 0; k < c->n_cols; k++) fprintf(f, " %s |", c->cols[k].label);
            fprintf(f, " Avg. | Perf. |\n|---|---|");
            for (int k = 0; k < c->n_cols + 2; k++) fprintf(f, "---:|");
            fputc('\n', f);
        }
        ratio_label(rl, sizeof rl, &rows[i]);
        fprintf(f, "| %s | %s |", rl, rows[i].method);
        for (int k = 0; k < c->n_cols; k++) {
            fmt_cell(cell, sizeof cell, rows[i].v[k], rows[i].mark[k], 0);
            fprintf(f, " %s |", cell);
        }
        fmt_cell(cell, sizeof cell, rows[i].avg, rows[i].mark[c->n_cols], 0);
        fprintf(f, " %s |", cell);
        fmt_cell(cell, sizeof cell, row_perf(c, &rows[i]), rows[i].mark[c->n_cols + 1], 0);
        fprintf(f, " %s |\n", cell);
    }
    fprintf(f, "\n## Runs\n\n| Model | Benchmark | Method | Target r | Realised r | Scored/Total | Failed | "
               "Parse failures | Acc. (95%% CI, by video) | TFLOPs | ms vision | ms prune | ms prefill | "
               "ms generate | ms total |\n|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = c->sorted[i];
        if (!r->selected) continue;
        fprintf(f, "| %s | %s | %s | %.3f | %.4f | %lld/%lld | %lld | %lld | %.1f [%.1f, %.1f] | %.4g | %.1f | %.1f | "
                   "%.1f | %.1f | %.1f |\n",
                r->model, r->bench, r->method, r->ratio, r->retention, (long long)r->n_ok, (long long)r->n,
                (long long)r->n_failed, (long long)r->n_parse_failed, r->acc, r->ci_lo, r->ci_hi, r->tflops,
                r->ms[DB_STAGE_VISION], r->ms[DB_STAGE_PRUNE], r->ms[DB_STAGE_PREFILL], r->ms[DB_STAGE_GENERATE],
                r->ms[DB_STAGE_TOTAL]);
    }
    return close_out(c, f, path);
}

static void tex_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (strchr("&%$#_{}", *s)) fputc('\\', f);
        fputc(*s, f);
    }
}

static int write_latex(rep_ctx *c, const rep_row *rows, int n) {
    char path[1200], cell[64], rl[32];
    FILE *f = open_out(c, "table.tex", path, sizeof path);
    if (!f) return -1;
    const char *model = NULL;
    int prev_block = -1;
    for (int i = 0; i < n; i++) {
        if (!model || strcmp(model, rows[i].model)) {
            if (model) fprintf(f, "\\bottomrule\n\\end{tabular}\n\\end{table}\n\n");
            model = rows[i].model;
            fprintf(f, "%% generated by tango-bench report; needs \\usepackage{booktabs}\n");
            fprintf(f, "\\begin{table}[t]\n\\centering\n\\caption{");
            tex_escape(f, model);
            fprintf(f, ": accuracy (\\%%) at matched equivalent retention. Perf.: %s.}\n",
                    c->p->perf == REP_PERF_MEAN_REL ? "mean relative accuracy" : "relative Avg.");
            fprintf(f, "\\begin{tabular}{ll");
            for (int k = 0; k < c->n_cols + 2; k++) fputc('c', f);
            fprintf(f, "}\n\\toprule\nRetention & Method");
            for (int k = 0; k < c->n_cols; k++) {
                fprintf(f, " & ");
                tex_escape(f, c->cols[k].label);
            }
            fprintf(f, " & Avg. & Perf. \\\\\n\\midrule\n");
            prev_block = rows[i].block;
        }
        if (rows[i].block != prev_block) fprintf(f, "\\midrule\n");
        prev_block = rows[i].block;
        ratio_label(rl, sizeof rl, &rows[i]);
        for (char *p = rl; *p; p++)
            if (*p == '%') *p = '\0';
        fprintf(f, "%s\\%% & ", rl);
        tex_escape(f, rows[i].method);
        for (int k = 0; k < c->n_cols; k++) {
            fmt_cell(cell, sizeof cell, rows[i].v[k], rows[i].mark[k], 1);
            fprintf(f, " & %s", cell);
        }
        fmt_cell(cell, sizeof cell, rows[i].avg, rows[i].mark[c->n_cols], 1);
        fprintf(f, " & %s", cell);
        fmt_cell(cell, sizeof cell, row_perf(c, &rows[i]), rows[i].mark[c->n_cols + 1], 1);
        fprintf(f, " & %s \\\\\n", cell);
    }
    if (model) fprintf(f, "\\bottomrule\n\\end{tabular}\n\\end{table}\n");
    return close_out(c, f, path);
}

static void csv_num(FILE *f, double v) {
    if (isnan(v)) fputs(",", f);
    else fprintf(f, ",%.4f", v);
}

static void csv_str(FILE *f, const char *s, int first) {
    if (!first) fputc(',', f);
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_csv(rep_ctx *c, const rep_row *rows, int n) {
    char path[1200];
    FILE *f = open_out(c, "table.csv", path, sizeof path);
    if (!f) return -1;
    fputs("model,method,target_ratio", f);
    for (int k = 0; k < c->n_cols; k++) fprintf(f, ",%s%s%s", c->cols[k].bench, c->cols[k].dur >= 0 ? "_" : "",
                                               c->cols[k].dur >= 0 ? durations[c->cols[k].dur] : "");
    fputs(",avg,perf_mean_rel,perf_rel_avg\n", f);
    for (int i = 0; i < n; i++) {
        csv_str(f, rows[i].model, 1);
        csv_str(f, rows[i].method, 0);
        csv_num(f, rows[i].ratio);
        for (int k = 0; k < c->n_cols; k++) csv_num(f, rows[i].v[k]);
        csv_num(f, rows[i].avg);
        csv_num(f, rows[i].perf_mean_rel);
        csv_num(f, rows[i].perf_rel_avg);
        fputc('\n', f);
    }
    if (close_out(c, f, path)) return -1;

    f = open_out(c, "details.csv", path, sizeof path);
    if (!f) return -1;
    fputs("run_key,model,benchmark,method,target_ratio,realised_retention,n_total,n_scored,n_failed,"
          "n_parse_failed,n_correct,acc_pct,ci_lo_pct,ci_hi_pct,tflops,ms_decode,ms_vision,ms_prune,ms_prefill,"
          "ms_generate,ms_total,created\n", f);
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        csv_str(f, r->key, 1);
        csv_str(f, r->model, 0);
        csv_str(f, r->bench, 0);
        csv_str(f, r->method, 0);
        csv_num(f, r->ratio);
        csv_num(f, r->retention);
        fprintf(f, ",%lld,%lld,%lld,%lld,%lld", (long long)r->n, (long long)r->n_ok, (long long)r->n_failed,
                (long long)r->n_parse_failed, (long long)r->n_correct);
        csv_num(f, r->acc);
        csv_num(f, r->ci_lo);
        csv_num(f, r->ci_hi);
        csv_num(f, r->tflops);
        for (int k = 0; k < DB_N_STAGES; k++) csv_num(f, r->ms[k]);
        csv_str(f, r->created, 0);
        fputc('\n', f);
    }
    return close_out(c, f, path);
}

static void html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* Plot files written by write_plots, listed in the HTML page. */
typedef struct {
    char names[64][160];
    char titles[64][512];
    int n;
} plot_list;

static int write_html(rep_ctx *c, const rep_row *rows, int n, const plot_list *plots) {
    char path[1200], cell[64], rl[32];
    FILE *f = open_out(c, "index.html", path, sizeof path);
    if (!f) return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>tango-bench report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;max-width:1400px}\n"
          "table{border-collapse:collapse;margin:1em 0}\n"
          "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
          "th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}\n"
          "tr.block td{border-top:2px solid #444}\n"
          "figure{display:inline-block;margin:1em}\nimg{max-width:640px}\n"
          "</style>\n</head>\n<body>\n<h1>tango-bench report</h1>\n", f);
    fprintf(f, "<p>Accuracy in %%; best per retention block in <b>bold</b>, second <u>underlined</u>. "
               "Perf. = %s &times; 100.</p>\n", perf_name(c->p->perf));
    const char *model = NULL;
    int prev_block = -1;
    for (int i = 0; i < n; i++) {
        if (!model || strcmp(model, rows[i].model)) {
            if (model) fputs("</tbody></table>\n", f);
            model = rows[i].model;
            fputs("<h2>", f);
            html_escape(f, model);
            fputs("</h2>\n<table><thead><tr><th>Retention</th><th>Method</th>", f);
            for (int k = 0; k < c->n_cols; k++) {
                fputs("<th>", f);
                html_escape(f, c->cols[k].label);
                fputs("</th>", f);
            }
            fputs("<th>Avg.</th><th>Perf.</th></tr></thead><tbody>\n", f);
            prev_block = rows[i].block;
        }
        ratio_label(rl, sizeof rl, &rows[i]);
        fprintf(f, "<tr%s><td>%s</td><td>", rows[i].block != prev_block ? " class=\"block\"" : "", rl);
        prev_block = rows[i].block;
        html_escape(f, rows[i].method);
        fputs("</td>", f);
        for (int k = 0; k < c->n_cols; k++) {
            fmt_cell(cell, sizeof cell, rows[i].v[k], rows[i].mark[k], 2);
            fprintf(f, "<td>%s</td>", cell);
        }
        fmt_cell(cell, sizeof cell, rows[i].avg, rows[i].mark[c->n_cols], 2);
        fprintf(f, "<td>%s</td>", cell);
        fmt_cell(cell, sizeof cell, row_perf(c, &rows[i]), rows[i].mark[c->n_cols + 1], 2);
        fprintf(f, "<td>%s</td></tr>\n", cell);
    }
    if (model) fputs("</tbody></table>\n", f);
    fputs("<h2>Runs</h2>\n<table><thead><tr><th>Model</th><th>Benchmark</th><th>Method</th><th>Target r</th>"
          "<th>Realised r</th><th>Scored/Total</th><th>Failed</th><th>Parse failures</th>"
          "<th>Acc. [95% CI]</th><th>TFLOPs</th><th>ms total</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = c->sorted[i];
        if (!r->selected) continue;
        fputs("<tr><td>", f);
        html_escape(f, r->model);
        fputs("</td><td>", f);
        html_escape(f, r->bench);
        fputs("</td><td>", f);
        html_escape(f, r->method);
        fprintf(f, "</td><td>%.3f</td><td>%.4f</td><td>%lld/%lld</td><td>%lld</td><td>%lld</td>"
                   "<td>%.1f [%.1f, %.1f]</td><td>%.4g</td><td>%.1f</td></tr>\n",
                r->ratio, r->retention, (long long)r->n_ok, (long long)r->n, (long long)r->n_failed,
                (long long)r->n_parse_failed, r->acc, r->ci_lo, r->ci_hi, r->tflops, r->ms[DB_STAGE_TOTAL]);
    }
    fputs("</tbody></table>\n", f);
    if (plots->n) fputs("<h2>Plots</h2>\n", f);
    for (int i = 0; i < plots->n; i++) {
        fputs("<figure><img src=\"plots/", f);
        html_escape(f, plots->names[i]);
        fputs(".svg\" alt=\"", f);
        html_escape(f, plots->titles[i]);
        fputs("\"><figcaption>", f);
        html_escape(f, plots->titles[i]);
        fputs(" (<a href=\"plots/", f);
        html_escape(f, plots->names[i]);
        fputs(".png\">PNG</a>)</figcaption></figure>\n", f);
    }
    fputs("</body>\n</html>\n", f);
    return close_out(c, f, path);
}

/* ---- plots ---------------------------------------------------------------------------------- */

static int isalnum_ascii(int ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* A file-name-safe copy of s. */
static void safe_name(char *dst, size_t n, const char *s) {
    size_t j = 0;
    for (; *s && j + 1 < n; s++) dst[j++] = (isalnum_ascii((unsigned char)*s) || *s == '-' || *s == '.') ? *s : '_';
    dst[j] = '\0';
}

/* gnuplot string literal content: drop quotes and backslashes, which titles never need. */
static void gp_str(FILE *f, const char *s) {
    for (; *s; s++)
        if (*s != '"' && *s != '\\') fputc(*s == '_' ? ' ' : *s, f);
}

/* Writes the script head for one plot rendered twice (PNG, then SVG via replot). */
static void gp_begin(FILE *f, const char *name, const char *title, const char *xlabel, const char *ylabel) {
    fprintf(f, "set terminal pngcairo size 900,540 noenhanced\nset output '%s.png'\n", name);
    fputs("set title \"", f);
    gp_str(f, title);
    fprintf(f, "\"\nset xlabel \"%s\"\nset ylabel \"%s\"\nset grid\nset key outside right top\n", xlabel, ylabel);
}

static void gp_end(FILE *f, const char *name) {
    fprintf(f, "set terminal svg size 900,540 noenhanced\nset output '%s.svg'\nreplot\nunset output\n", name);
}

static int run_gnuplot(rep_ctx *c, const char *plot_dir, const char *script) {
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s' > '%s.log' 2>&1", plot_dir, script, script);
    if (strchr(plot_dir, '\'') || strchr(script, '\'')) return fail(c, "%s: unsafe characters in the path", plot_dir);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail(c, "%s/%s: gnuplot failed (is gnuplot installed? see %s.log)", plot_dir, script, script);
    return 0;
}

static int add_plot(plot_list *pl, const char *name, const char *title) {
    if (pl->n >= 64) return 0;
    snprintf(pl->names[pl->n], sizeof pl->names[0], "%s", name);
    snprintf(pl->titles[pl->n], sizeof pl->titles[0], "%s", title);
    pl->n++;
    return 1;
}

static FILE *open_plot_file(rep_ctx *c, const char *dir, const char *name, const char *ext, char *path, size_t n) {
    snprintf(path, n, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "w");
    if (!f) fail(c, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int cmp_run_ratio(const void *a, const void *b) {
    const rep_run *x = *(const rep_run *const *)a, *y = *(const rep_run *const *)b;
    return (x->retention > y->retention) - (x->retention < y->retention);
}

/* Accuracy versus realised equivalent retention, one plot per (model, benchmark). */
static int plot_accuracy(rep_ctx *c, const char *dir, const char *model, const char *bench, plot_list *pl) {
    char base[200], name[160], path[1400], title[512];
    safe_name(base, sizeof base, model);
    snprintf(name, sizeof name, "acc_%.60s_%.40s", base, bench);
    const rep_run **sel = malloc(c->n_runs * sizeof *sel);
    const char **methods = malloc(c->n_runs * sizeof *methods);
    if (!sel || !methods) {
        free(sel), free(methods);
        return fail(c, "out of memory");
    }
    int n_methods = 0;
    const rep_run *full = NULL;
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        if (!r->selected || strcmp(r->model, model) || strcmp(r->bench, bench) || isnan(r->acc)) continue;
        if (!strcmp(r->method, "full")) {
            full = r;
            continue;
        }
        if (isnan(r->retention)) continue;
        int seen = 0;
        for (int k = 0; k < n_methods; k++) seen |= !strcmp(methods[k], r->method);
        if (!seen) methods[n_methods++] = r->method;
    }
    int rc = 0;
    if (n_methods == 0) goto done;
    qsort(methods, (size_t)n_methods, sizeof *methods, cmp_method);
    FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
    if (!dat) {
        rc = -1;
        goto done;
    }
    for (int k = 0; k < n_methods; k++) {
        int n = 0;
        for (size_t i = 0; i < c->n_runs; i++) {
            const rep_run *r = &c->runs[i];
            if (r->selected && !strcmp(r->model, model) && !strcmp(r->bench, bench) && !strcmp(r->method, methods[k]) &&
                !isnan(r->acc) && !isnan(r->retention))
                sel[n++] = r;
        }
        qsort(sel, (size_t)n, sizeof *sel, cmp_run_ratio);
        fprintf(dat, "# %s\n", methods[k]);
        for (int j = 0; j < n; j++) fprintf(dat, "%.6f %.4f\n", sel[j]->retention, sel[j]->acc);
        fputs("\n\n", dat);
    }
    if (close_out(c, dat, path)) {
        rc = -1;
        goto done;
    }
    FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
    if (!gp) {
        rc = -1;
        goto done;
    }
    snprintf(title, sizeof title, "%s on %s: accuracy vs equivalent retention", model, bench);
    gp_begin(gp, name, title, "equivalent retention (realised, mean over layers)", "accuracy (%)");
    fputs("plot ", gp);
    for (int k = 0; k < n_methods; k++)
        fprintf(gp, "%s'%s.dat' index %d using 1:2 with linespoints lw 2 pt 7 title \"%s\"", k ? ", " : "", name, k,
                methods[k]);
    if (full) fprintf(gp, ", %.4f with lines dt 2 lc rgb 'black' title \"full tokens\"", full->acc);
    fputc('\n', gp);
    gp_end(gp, name);
    if (close_out(c, gp, path)) {
        rc = -1;
        goto done;
    }
    snprintf(path, sizeof path, "%s.gp", name);
    rc = run_gnuplot(c, dir, path);
    if (!rc) add_plot(pl, name, title);
done:
    free(sel), free(methods);
    return rc;
}

/* Latency breakdown per (method, ratio) of a model, averaged over its benchmarks by samples. */
static int plot_latency(rep_ctx *c, const char *dir, const char *model, const rep_row *rows, int n_rows,
                        plot_list *pl) {
    char base[200], name[160], path[1400], title[512];
    safe_name(base, sizeof base, model);
    snprintf(name, sizeof name, "latency_%.80s", base);
    double full_total = NAN;
    int n_bars = 0;
    FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
    if (!dat) return -1;
    fputs("# label vision prune prefill generate other total speedup\n", dat);
    for (int i = 0; i < n_rows; i++) {
        const rep_row *row = &rows[i];
        if (strcmp(row->model, model)) continue;
        double ms[DB_N_STAGES] = {0}, w = 0;
        for (size_t j = 0; j < c->n_runs; j++) {
            const rep_run *r = &c->runs[j];
            if (!r->selected || strcmp(r->model, model) || strcmp(r->method, row->method) || r->ratio != row->ratio ||
                isnan(r->ms[DB_STAGE_TOTAL]) || r->n_ok == 0)
                continue;
            for (int k = 0; k < DB_N_STAGES; k++) ms[k] += (isnan(r->ms[k]) ? 0 : r->ms[k]) * (double)r->n_ok;
            w += (double)r->n_ok;
        }
        if (w == 0) continue;
        for (int k = 0; k < DB_N_STAGES; k++) ms[k] /= w;
        double other = ms[DB_STAGE_TOTAL] - ms[DB_STAGE_VISION] - ms[DB_STAGE_PRUNE] - ms[DB_STAGE_PREFILL] -
                       ms[DB_STAGE_GENERATE];
        if (other < 0) other = 0;
        if (!strcmp(row->method, "full")) full_total = ms[DB_STAGE_TOTAL];
        double speedup = !isnan(full_total) && ms[DB_STAGE_TOTAL] > 0 ? full_total / ms[DB_STAGE_TOTAL] : NAN;
        char label[96];
        if (!strcmp(row->method, "full")) snprintf(label, sizeof label, "full");
        else snprintf(label, sizeof label, "%s@%g%%", row->method, 100 * row->ratio);
        fprintf(dat, "\"%s\" %.4f %.4f %.4f %.4f %.4f %.4f %.4f\n", label, ms[DB_STAGE_VISION], ms[DB_STAGE_PRUNE],
                ms[DB_STAGE_PREFILL], ms[DB_STAGE_GENERATE], other, ms[DB_STAGE_TOTAL], isnan(speedup) ? 0 : speedup);
        n_bars++;
    }
    if (close_out(c, dat, path)) return -1;
    if (n_bars == 0) return 0;
    FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
    if (!gp) return -1;
    snprintf(title, sizeof title, "%s: latency per sample (ms) and speed-up over full tokens", model);
    gp_begin(gp, name, title, "method @ equivalent retention", "mean latency per sample (ms)");
    fputs("set style data histograms\nset style histogram rowstacked\nset style fill solid 0.8 border -1\n"
          "set boxwidth 0.7\nset xtics rotate by -40\nset yrange [0:*]\nset offsets 0,0,graph 0.08,0\n", gp);
    fprintf(gp, "plot '%s.dat' using 2:xtic(1) title 'vision', '' using 3 title 'prune', '' using 4 title 'prefill',"
                " '' using 5 title 'generate', '' using 6 title 'other',"
                " '' using 0:7:($8 > 0 ? gprintf('%%.2fx', $8) : '') with labels offset 0,0.8 notitle\n",
            name);
    gp_end(gp, name);
    if (close_out(c, gp, path)) return -1;
    snprintf(path, sizeof path, "%s.gp", name);
    if (run_gnuplot(c, dir, path)) return -1;
    add_plot(pl, name, title);
    return 0;
}

/* Visual tokens per LLM layer, one plot per (model, ratio) with a curve per method. */
static int plot_layers(rep_ctx *c, const char *dir, const char *model, const rep_row *rows, int n_rows,
                       plot_list *pl) {
    for (int i = 0; i < n_rows; i++) {
        if (strcmp(rows[i].model, model) || !strcmp(rows[i].method, "full")) continue;
        if (i > 0 && rows[i - 1].block == rows[i].block && strcmp(rows[i - 1].method, "full")) continue;
        /* rows[i] opens a ratio block: gather its methods' layer curves (first benchmark with data) */
        char base[200], name[160], path[1400], title[512];
        safe_name(base, sizeof base, model);
        snprintf(name, sizeof name, "layers_%.70s_r%g", base, 100 * rows[i].ratio);
        FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
        if (!dat) return -1;
        const char *titles[64];
        int n_curves = 0;
        for (int j = i; j < n_rows && rows[j].block == rows[i].block && n_curves < 64; j++) {
            const rep_run *best = NULL;
            for (size_t k = 0; k < c->n_runs; k++) {
                const rep_run *r = &c->runs[k];
                if (r->selected && !strcmp(r->model, model) && !strcmp(r->method, rows[j].method) &&
                    r->ratio == rows[j].ratio && r->n_layers > 0) {
                    best = r;
                    break;
                }
            }
            if (!best) continue;
            fprintf(dat, "# %s\n", rows[j].method);
            for (int l = 0; l < best->n_layers; l++) fprintf(dat, "%d %.3f\n", l, best->layer[l]);
            fputs("\n\n", dat);
            titles[n_curves++] = rows[j].method;
        }
        if (close_out(c, dat, path)) return -1;
        if (n_curves == 0) continue;
        FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
        if (!gp) return -1;
        snprintf(title, sizeof title, "%s at %g%% equivalent retention: visual tokens per LLM layer", model,
                 100 * rows[i].ratio);
        gp_begin(gp, name, title, "LLM layer", "visual tokens (mean over samples)");
        fputs("set yrange [0:*]\nplot ", gp);
        for (int k = 0; k < n_curves; k++)
            fprintf(gp, "%s'%s.dat' index %d using 1:2 with steps lw 2 title \"%s\"", k ? ", " : "", name, k,
                    titles[k]);
        fputc('\n', gp);
        gp_end(gp, name);
        if (close_out(c, gp, path)) return -1;
        snprintf(path, sizeof path, "%s.gp", name);
        if (run_gnuplot(c, dir, path)) return -1;
        add_plot(pl, name, title);
    }
    return 0;
}

static int write_plots(rep_ctx *c, const rep_row *rows, int n_rows, plot_list *pl) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plots", c->p->out_dir);
    if (mkdir(dir, 0755) && errno != EEXIST) return fail(c, "%s: cannot create: %s", dir, strerror(errno));
    for (int i = 0; i < n_rows; i++) {
        if (i > 0 && !strcmp(rows[i - 1].model, rows[i].model)) continue;
        const char *model = rows[i].model;
        for (int k = 0; k < c->n_cols; k++)
            if (c->cols[k].dur < 0 && plot_accuracy(c, dir, model, c->cols[k].bench, pl)) return -1;
        if (plot_latency(c, dir, model, rows, n_rows, pl) || plot_layers(c, dir, model, rows, n_rows, pl)) return -1;
    }
    return 0;
}

/* ---- entry point ---------------------------------------------------------------------------- */

int rep_write(db_store *db, const rep_params *p, int *n_runs, char *err, size_t err_len) {
    rep_ctx c = {.db = db_handle(db), .p = p, .err = err, .err_len = err_len};
    rep_row *rows = NULL;
    int n_rows = 0, rc = -1;
    plot_list *plots = calloc(1, sizeof *plots);
    if (!plots) return fail(&c, "out of memory");
    if (mkdir(p->out_dir, 0755) && errno != EEXIST) {
        fail(&c, "%s: cannot create: %s", p->out_dir, strerror(errno));
        goto out;
    }
    if (load_runs(&c)) goto out;
    if (n_runs) *n_runs = (int)c.n_runs;
    if (!(c.sorted = malloc((c.n_runs + 1) * sizeof *c.sorted))) {
        fail(&c, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c.n_runs; i++) c.sorted[i] = &c.runs[i];
    qsort(c.sorted, c.n_runs, sizeof *c.sorted, cmp_run_order);
    build_columns(&c);
    if (build_rows(&c, &rows, &n_rows)) goto out;
    if (p->plots && write_plots(&c, rows, n_rows, plots)) goto out;
    if ((p->formats & REP_MD) && write_markdown(&c, rows, n_rows)) goto out;
    if ((p->formats & REP_TEX) && write_latex(&c, rows, n_rows)) goto out;
    if ((p->formats & REP_CSV) && write_csv(&c, rows, n_rows)) goto out;
    if ((p->formats & REP_HTML) && write_html(&c, rows, n_rows, plots)) goto out;
    rc = 0;
out:
    free(rows);
    free(c.sorted);
    free(c.runs);
    free(plots);
    return rc;
}
