/* report_paper.c - what a report adds to the main table to reproduce the paper (rep_internal.h):
 *
 *   - the published values: the registry reports/paper_values.tsv (built into the binary; a file of
 *     the same format with rep_params.paper_path) lists cells of the paper as (model family,
 *     benchmark or avg / perf / speedup, method or label, ratio, table, cell, value, source);
 *     every row of the main table that matches one gets a line with the paper value, the
 *     reproduced one, the difference and the 95 % CI (clustered bootstrap: a benchmark's run
 *     alone, or the row's runs on every Avg. column, with the reference row's runs for Perf.) and
 *     whether it covers the paper value;
 *   - variant rows: the labelled runs of one (model, ratio) - a config's ablation entries - with
 *     the parameters that tell them apart as columns (the paper's Table 3 layout);
 *   - a grid when exactly two parameters vary among them (Table 4: base_time x base_space);
 *   - a sweep (plotted by report_plot.c) when exactly one numeric parameter varies over >= 3
 *     variants (Figure 8: alpha).
 * No method is known by name: variants are found from the recorded params and labels.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "reports/rep_internal.h"
#include "reports/stats.h"

/* The registry built into the binary (NUL-terminated). */
__asm__(".section .rodata\n"
        ".global rep_paper_builtin\n"
        ".type rep_paper_builtin, @object\n"
        "rep_paper_builtin:\n"
        ".incbin \"reports/paper_values.tsv\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char rep_paper_builtin[];

/* Params recorded by the runner for bookkeeping, not as a method's knobs. */
static const char *const bookkeeping[] = {"ratio", "label", "family", "convention", "max_new_tokens", NULL};

#define MAX_VKEYS 8
#define MAX_VROWS 64

/* ---- sections ------------------------------------------------------------------------------- */

static rep_section *section_new(rep_ctx *c, int n_cols, const char *file, const char *title) {
    rep_section *g = realloc(c->sections, (size_t)(c->n_sections + 1) * sizeof *g);
    if (!g) return NULL;
    c->sections = g;
    rep_section *s = &c->sections[c->n_sections++];
    memset(s, 0, sizeof *s);
    s->n_cols = n_cols;
    snprintf(s->file, sizeof s->file, "%s", file);
    snprintf(s->title, sizeof s->title, "%s", title);
    s->cells = calloc((size_t)n_cols, sizeof *s->cells);
    return s->cells ? s : NULL;
}

/* Appends a body row of n_cols preformatted cells (copied). */
static int section_row(rep_section *s, const char *const *cells) {
    char **g = realloc(s->cells, (size_t)(s->n_rows + 2) * (size_t)s->n_cols * sizeof *g);
    if (!g) return -1;
    s->cells = g;
    char **row = g + (size_t)(s->n_rows + 1) * s->n_cols;
    for (int k = 0; k < s->n_cols; k++) row[k] = NULL;
    s->n_rows++;
    for (int k = 0; k < s->n_cols; k++)
        if (!(row[k] = strdup(cells[k] ? cells[k] : ""))) return -1;
    return 0;
}

static int section_header(rep_section *s, const char *const *cells) {
    for (int k = 0; k < s->n_cols; k++)
        if (!(s->cells[k] = strdup(cells[k]))) return -1;
    return 0;
}

void rep_paper_free(rep_ctx *c) {
    for (int i = 0; i < c->n_sections; i++) {
        rep_section *s = &c->sections[i];
        for (int k = 0; s->cells && k < (s->n_rows + 1) * s->n_cols; k++) free(s->cells[k]);
        free(s->cells);
    }
    free(c->sections);
    free(c->sweeps);
    c->sections = NULL;
    c->sweeps = NULL;
    c->n_sections = c->n_sweeps = 0;
}

/* ---- runs of a row -------------------------------------------------------------------------- */

static const rep_run *row_run(const rep_ctx *c, const rep_row *row, const char *bench) {
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        if (r->selected && r->reference == row->reference && r->ratio == row->ratio && !strcmp(r->s->model, row->model) &&
            !strcmp(r->s->method, row->method) && (!bench || !strcmp(r->s->benchmark, bench)))
            return r;
    }
    return NULL;
}

/* The model's reference row (what Perf. and the speed-up are relative to), or NULL. */
static const rep_row *ref_row(const rep_ctx *c, const char *model) {
    for (int i = 0; i < c->n_rows; i++)
        if (c->rows[i].reference && !strcmp(c->rows[i].model, model)) return &c->rows[i];
    return NULL;
}

/* A string param of a run's recorded params ("" when absent). */
static void run_param(const rep_run *r, const char *key, char *out, size_t n) {
    out[0] = '\0';
    cJSON *o = r && r->s->params_json ? cJSON_Parse(r->s->params_json) : NULL;
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (cJSON_IsString(v)) snprintf(out, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(out, n, "%.10g", v->valuedouble);
    cJSON_Delete(o);
}

int rep_run_frames(const rep_run *r) {
    const char *p = strstr(r->s->frame_policy, "n=");
    return p ? (int)strtol(p + 2, NULL, 10) : 0;
}

/* ---- bootstrap of Avg. and Perf. ------------------------------------------------------------ */

typedef struct {
    int n_bench; /* sets [0, n) are the row's runs, [n, 2n) the reference's (Perf.) */
    int mode;    /* 0 Avg., 1 Perf. mean of ratios, 2 Perf. ratio of means */
} boot_ctx;

static double boot_stat(const double *acc, int n_sets, void *vctx) {
    const boot_ctx *b = vctx;
    (void)n_sets;
    double s = 0, r = 0, sr = 0;
    for (int k = 0; k < b->n_bench; k++) {
        s += acc[k];
        if (b->mode) {
            sr += acc[b->n_bench + k];
            r += acc[b->n_bench + k] > 0 ? acc[k] / acc[b->n_bench + k] : 0;
        }
    }
    if (b->mode == 0) return 100.0 * s / b->n_bench;
    if (b->mode == 1) return 100.0 * r / b->n_bench;
    return sr > 0 ? 100.0 * s / sr : 0;
}

typedef struct {
    int *correct, *cluster;
    size_t n;
} owned_set;

static int load_set(rep_ctx *c, db_store *db, const rep_run *r, owned_set *o, stats_sample_set *s) {
    db_scored sc;
    memset(o, 0, sizeof *o);
    if (db_run_scored(db, r->s->key, &sc)) return rep_fail(c, "%s", db_errmsg(db));
    o->n = sc.n;
    o->correct = malloc((sc.n ? sc.n : 1) * sizeof *o->correct);
    o->cluster = malloc((sc.n ? sc.n : 1) * sizeof *o->cluster);
    if (!o->correct || !o->cluster ||
        stats_dense_clusters((const char *const *)sc.cluster, sc.n, o->cluster) < 0) {
        db_scored_free(&sc);
        return rep_fail(c, "out of memory");
    }
    memcpy(o->correct, sc.correct, sc.n * sizeof *o->correct);
    db_scored_free(&sc);
    *s = (stats_sample_set){o->correct, o->cluster, o->n};
    return 0;
}

/* 95 % CI of a row's Avg. (mode 0) or Perf. (1, 2) over the Avg. columns the row (and, for Perf.,
 * the reference row) has. *n_bench gets the benchmarks used. */
static int boot_row(rep_ctx *c, db_store *db, const rep_row *row, const rep_row *ref, int mode, double *lo,
                    double *hi, int *n_bench) {
    *lo = *hi = NAN;
    *n_bench = 0;
    const rep_run *rr[REP_MAX_COLS], *fr[REP_MAX_COLS];
    int n = 0;
    for (int k = 0; k < c->n_cols; k++) {
        if (!c->cols[k].in_avg) continue;
        const rep_run *a = row_run(c, row, c->cols[k].bench), *b = ref ? row_run(c, ref, c->cols[k].bench) : NULL;
        if (!a || isnan(a->acc) || (mode && (!b || isnan(b->acc)))) continue;
        rr[n] = a;
        fr[n] = b;
        n++;
    }
    *n_bench = n;
    if (n == 0) return 0;
    int n_sets = mode ? 2 * n : n, rc = 0;
    owned_set *own = calloc((size_t)n_sets, sizeof *own);
    stats_sample_set *sets = calloc((size_t)n_sets, sizeof *sets);
    if (!own || !sets) {
        free(own), free(sets);
        return rep_fail(c, "out of memory");
    }
    for (int k = 0; k < n_sets && !rc; k++) rc = load_set(c, db, k < n ? rr[k] : fr[k - n], &own[k], &sets[k]);
    boot_ctx bc = {n, mode};
    if (!rc) stats_bootstrap_multi(sets, n_sets, boot_stat, &bc, c->p->bootstrap_iters, c->p->seed, lo, hi);
    for (int k = 0; k < n_sets; k++) free(own[k].correct), free(own[k].cluster);
    free(own), free(sets);
    return rc;
}

/* Mean total latency of a row's runs (weighted by scored samples), NAN when none timed. */
static double row_total_ms(const rep_ctx *c, const rep_row *row) {
    double ms = 0, w = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        if (!r->selected || r->reference != row->reference || r->ratio != row->ratio ||
            strcmp(r->s->model, row->model) || strcmp(r->s->method, row->method) || isnan(r->s->ms[DB_STAGE_TOTAL]) ||
            r->s->n_ok == 0)
            continue;
        ms += r->s->ms[DB_STAGE_TOTAL] * (double)r->s->n_ok;
        w += (double)r->s->n_ok;
    }
    return w > 0 ? ms / w : NAN;
}

/* ---- published values ----------------------------------------------------------------------- */

typedef struct {
    char model[32], bench[32], method[64], table[64], cell[160], source[600];
    double ratio; /* < 0: the full-token row */
    double value;
} pub_cell;

/* Parses the registry text into *out (caller frees). Comment and header lines are skipped. */
static int parse_registry(rep_ctx *c, const char *text, const char *name, pub_cell **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    int cap = 0, line_no = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        line_no++;
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        p += len + (e ? 1 : 0);
        if (len && line[len - 1] == '\r') line[len - 1] = '\0';
        if (!line[0] || line[0] == '#' || !strncmp(line, "model\t", 6)) continue;
        char *f[8];
        int nf = 0;
        for (char *q = line; nf < 8;) {
            f[nf++] = q;
            char *t = strchr(q, '\t');
            if (!t) break;
            *t = '\0';
            q = t + 1;
        }
        char *end = NULL, *end2 = NULL;
        double ratio = NAN, value = NAN;
        if (nf >= 7) {
            ratio = !strcmp(f[3], "full") ? -1.0 : strtod(f[3], &end);
            value = strtod(f[6], &end2);
        }
        if (nf < 7 || (end && (end == f[3] || *end)) || !end2 || end2 == f[6] || *end2 || isnan(ratio) ||
            !isfinite(value) || (ratio >= 0 && !(ratio > 0 && ratio <= 1))) {
            free(*out);
            *out = NULL;
            return rep_fail(c, "%s:%d: expected model, benchmark, method, ratio (0..1 or full), table, cell, "
                               "value[, source] separated by tabs",
                            name, line_no);
        }
        if (*n_out == cap) {
            cap = cap ? 2 * cap : 16;
            pub_cell *g = realloc(*out, (size_t)cap * sizeof *g);
            if (!g) {
                free(*out);
                *out = NULL;
                return rep_fail(c, "out of memory");
            }
            *out = g;
        }
        pub_cell *pc = &(*out)[(*n_out)++];
        memset(pc, 0, sizeof *pc);
        snprintf(pc->model, sizeof pc->model, "%s", f[0]);
        snprintf(pc->bench, sizeof pc->bench, "%s", f[1]);
        snprintf(pc->method, sizeof pc->method, "%s", f[2]);
        snprintf(pc->table, sizeof pc->table, "%s", f[4]);
        snprintf(pc->cell, sizeof pc->cell, "%s", f[5]);
        snprintf(pc->source, sizeof pc->source, "%s", nf > 7 ? f[7] : "");
        pc->ratio = ratio;
        pc->value = value;
    }
    return 0;
}

static char *read_text(rep_ctx *c, const char *path) {
    FILE *f = tb_fopen_read(path, 0, NULL, 0); /* a FIFO never blocks the open (common/file.h) */
    if (!f) {
        rep_fail(c, "%s: cannot open the published-values registry", path);
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            if (cap > ((size_t)16 << 20)) break;
            char *g = realloc(buf, cap);
            if (!g) break;
            buf = g;
        }
        size_t k = fread(buf + n, 1, 4096, f);
        n += k;
        if (k < 4096) break;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        rep_fail(c, "%s: cannot read the published-values registry", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void fmt(char *b, size_t n, const char *f, double v) { rep_fmt_num(b, n, f, v); }

static int build_published(rep_ctx *c, db_store *db) {
    const char *path = c->p->paper_path;
    if (path && !strcmp(path, "none")) return 0;
    char *text = NULL;
    if (path && !(text = read_text(c, path))) return -1;
    pub_cell *pubs;
    int n_pub;
    int rc = parse_registry(c, text ? text : rep_paper_builtin, path ? path : "reports/paper_values.tsv (built in)",
                            &pubs, &n_pub);
    free(text);
    if (rc) return -1;
    static const char *const head[] = {"Table", "Cell", "Model", "Method", "Retention", "Benchmark", "Paper",
                                       "Reproduced", "Diff.", "95% CI", "CI covers paper", "Source"};
    rep_section *s = section_new(c, 12, "paper.csv", "Published values (paper) beside the reproduced ones");
    if (!s || section_header(s, head)) {
        free(pubs);
        return rep_fail(c, "out of memory");
    }
    snprintf(s->caption, sizeof s->caption,
             "%d published cells in the registry (%s); a row matches a cell by model family (params.family), "
             "method or label, and target retention. Diff. = reproduced - paper. Avg. and Perf. are over the "
             "benchmarks this report has (the paper's four when all ran); their CI resamples every run involved. "
             "Cells the registry does not list are not known: see reports/paper_values.tsv.",
             n_pub, path ? path : "built in");
    for (int i = 0; i < c->n_rows && !rc; i++) {
        const rep_row *row = &c->rows[i];
        char fam[32];
        run_param(row_run(c, row, NULL), "family", fam, sizeof fam);
        for (int q = 0; q < n_pub && !rc; q++) {
            const pub_cell *p = &pubs[q];
            if (strcmp(p->model, fam) || strcmp(p->method, row->method)) continue;
            if (p->ratio < 0 ? !row->reference : (row->reference || fabs(p->ratio - row->ratio) > 1e-9)) continue;
            double v = NAN, lo = NAN, hi = NAN;
            int nb = 0;
            char what[64] = "";
            if (!strcmp(p->bench, "avg")) {
                v = row->avg;
                rc = boot_row(c, db, row, NULL, 0, &lo, &hi, &nb);
                snprintf(what, sizeof what, "Avg. over %d benchmark%s", nb, nb == 1 ? "" : "s");
            } else if (!strcmp(p->bench, "perf")) {
                const rep_row *ref = ref_row(c, row->model);
                v = rep_row_perf(c, row);
                if (ref) rc = boot_row(c, db, row, ref, c->p->perf == REP_PERF_MEAN_REL ? 1 : 2, &lo, &hi, &nb);
                snprintf(what, sizeof what, "Perf. over %d benchmark%s", nb, nb == 1 ? "" : "s");
            } else if (!strcmp(p->bench, "speedup")) {
                const rep_row *ref = ref_row(c, row->model);
                double t = row_total_ms(c, row), t0 = ref ? row_total_ms(c, ref) : NAN;
                v = t > 0 && !isnan(t0) ? t0 / t : NAN;
                snprintf(what, sizeof what, "speed-up (total ms)");
            } else {
                int dur = -1;
                char bench[32];
                snprintf(bench, sizeof bench, "%s", p->bench);
                for (int d = 0; d < 3; d++) {
                    char sfx[40];
                    snprintf(sfx, sizeof sfx, "-%s", rep_durations[d]);
                    char *at = strstr(bench, sfx);
                    if (at && !at[strlen(sfx)]) *at = '\0', dur = d;
                }
                int present = 0;
                for (int k = 0; k < c->n_cols; k++)
                    if (c->cols[k].dur == dur && !strcmp(c->cols[k].bench, bench)) v = row->v[k], present = 1;
                if (!present) continue; /* the benchmark did not run: nothing to set beside */
                const rep_run *r = dur < 0 ? row_run(c, row, bench) : NULL;
                if (r) lo = r->ci_lo, hi = r->ci_hi;
                snprintf(what, sizeof what, "%s", p->bench);
            }
            /* a matched cell whose value is undefined here (no scored sample, a full-token accuracy
             * of 0 under Perf., no timing) is still listed, with "-" */
            if (rc) continue;
            char ratio[32], paper[32], rep[32], diff[32], ci[64], cov[8];
            if (p->ratio < 0) snprintf(ratio, sizeof ratio, "full");
            else snprintf(ratio, sizeof ratio, "%g%%", 100 * p->ratio);
            snprintf(paper, sizeof paper, "%.2f", p->value);
            fmt(rep, sizeof rep, "%.2f", v);
            double d = v - p->value;
            fmt(diff, sizeof diff, "%+.2f", fabs(d) < 0.005 ? 0.0 : d); /* no "-0.00" */
            if (isnan(v) || isnan(lo) || isnan(hi)) {
                snprintf(ci, sizeof ci, "-");
                snprintf(cov, sizeof cov, "-");
            } else {
                snprintf(ci, sizeof ci, "[%.2f, %.2f]", lo, hi);
                snprintf(cov, sizeof cov, "%s", lo <= p->value && p->value <= hi ? "yes" : "no");
            }
            const char *cells[12] = {p->table, p->cell, row->model, row->method, ratio, what, paper, rep, diff, ci,
                                     cov, p->source};
            if (section_row(s, cells)) rc = rep_fail(c, "out of memory");
        }
    }
    free(pubs);
    return rc;
}

/* ---- variants ------------------------------------------------------------------------------- */

typedef struct {
    char key[48];
    char val[MAX_VROWS][64]; /* per variant row; "(default)" when the run does not set it */
    int numeric;
} vkey;

static int is_bookkeeping(const char *k) {
    for (const char *const *b = bookkeeping; *b; b++)
        if (!strcmp(*b, k)) return 1;
    return 0;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Distinct values of key k among the rows, ordered (numerically when all numeric). */
static int distinct_values(const vkey *k, int n_rows, const char **out) {
    int n = 0;
    for (int i = 0; i < n_rows; i++) {
        int seen = 0;
        for (int j = 0; j < n; j++) seen |= !strcmp(out[j], k->val[i]);
        if (!seen) out[n++] = k->val[i];
    }
    if (k->numeric)
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && strtod(out[j - 1], NULL) > strtod(out[j], NULL); j--) {
                const char *t = out[j];
                out[j] = out[j - 1];
                out[j - 1] = t;
            }
    return n;
}

/* One (model, ratio) block's labelled rows rows[0..n): their section, grid or sweep. */
static int build_variant_group(rep_ctx *c, const rep_row *const *rows, int n) {
    vkey keys[MAX_VKEYS * 4];
    int n_keys = 0;
    cJSON *params[MAX_VROWS];
    for (int i = 0; i < n; i++) {
        const rep_run *r = row_run(c, rows[i], NULL);
        params[i] = r && r->s->params_json ? cJSON_Parse(r->s->params_json) : NULL;
        for (const cJSON *it = params[i] ? params[i]->child : NULL; it; it = it->next) {
            if (is_bookkeeping(it->string)) continue;
            int seen = 0;
            for (int k = 0; k < n_keys; k++) seen |= !strcmp(keys[k].key, it->string);
            if (!seen && n_keys < (int)(sizeof keys / sizeof keys[0])) {
                memset(&keys[n_keys], 0, sizeof keys[n_keys]);
                snprintf(keys[n_keys++].key, sizeof keys[0].key, "%s", it->string);
            }
        }
    }
    int n_vary = 0;
    for (int k = 0; k < n_keys; k++) {
        keys[k].numeric = 1;
        int vary = 0;
        for (int i = 0; i < n; i++) {
            const cJSON *v = params[i] ? cJSON_GetObjectItemCaseSensitive(params[i], keys[k].key) : NULL;
            if (cJSON_IsNumber(v)) snprintf(keys[k].val[i], sizeof keys[k].val[i], "%.10g", v->valuedouble);
            else if (cJSON_IsString(v)) snprintf(keys[k].val[i], sizeof keys[k].val[i], "%s", v->valuestring);
            else if (cJSON_IsBool(v)) snprintf(keys[k].val[i], sizeof keys[k].val[i], "%d", cJSON_IsTrue(v));
            else snprintf(keys[k].val[i], sizeof keys[k].val[i], "(default)");
            if (!cJSON_IsNumber(v)) keys[k].numeric = 0;
            if (i && strcmp(keys[k].val[i], keys[k].val[0])) vary = 1;
        }
        if (vary && n_vary < MAX_VKEYS) keys[n_vary++] = keys[k];
    }
    for (int i = 0; i < n; i++) cJSON_Delete(params[i]);
    const rep_row *r0 = rows[0];
    char title[200], file[96], rl[32];
    rep_ratio_label(rl, sizeof rl, r0);
    snprintf(title, sizeof title, "%.120s at %s: variants (component rows)", r0->model, rl);
    snprintf(file, sizeof file, "variants_%d.csv", c->n_sections);
    int n_cols = 1 + n_vary + c->n_cols + 2;
    rep_section *s = section_new(c, n_cols, file, title);
    if (!s) return rep_fail(c, "out of memory");
    const char *hd[1 + MAX_VKEYS + REP_MAX_COLS + 2];
    hd[0] = "Variant";
    for (int k = 0; k < n_vary; k++) hd[1 + k] = keys[k].key;
    for (int k = 0; k < c->n_cols; k++) hd[1 + n_vary + k] = c->cols[k].label;
    hd[n_cols - 2] = "Avg.";
    hd[n_cols - 1] = "Perf.";
    if (section_header(s, hd)) return rep_fail(c, "out of memory");
    snprintf(s->caption, sizeof s->caption,
             "The labelled runs of %s at %s (a config's ablation entries) and the %d parameter%s that tell them "
             "apart; accuracy in %%, Perf. as in the main table. This is the layout of the paper's Table 3 "
             "(component rows).",
             r0->model, rl, n_vary, n_vary == 1 ? "" : "s");
    char buf[1 + MAX_VKEYS + REP_MAX_COLS + 2][64];
    for (int i = 0; i < n; i++) {
        const char *cells[1 + MAX_VKEYS + REP_MAX_COLS + 2];
        cells[0] = rows[i]->method;
        for (int k = 0; k < n_vary; k++) cells[1 + k] = keys[k].val[i];
        for (int k = 0; k < c->n_cols; k++) {
            fmt(buf[k], sizeof buf[k], "%.1f", rows[i]->v[k]);
            cells[1 + n_vary + k] = buf[k];
        }
        fmt(buf[c->n_cols], sizeof buf[0], "%.1f", rows[i]->avg);
        fmt(buf[c->n_cols + 1], sizeof buf[0], "%.1f", rep_row_perf(c, rows[i]));
        cells[n_cols - 2] = buf[c->n_cols];
        cells[n_cols - 1] = buf[c->n_cols + 1];
        if (section_row(s, cells)) return rep_fail(c, "out of memory");
    }
    if (n_vary == 2) {
        /* the grid: Avg. over the first key (rows) x the second (columns) */
        const char *rv[MAX_VROWS], *cv[MAX_VROWS];
        int nr = distinct_values(&keys[0], n, rv), nc = distinct_values(&keys[1], n, cv);
        char t2[320], f2[96];
        snprintf(t2, sizeof t2, "%.100s at %s: Avg. accuracy, %s (rows) x %s (columns)", r0->model, rl, keys[0].key,
                 keys[1].key);
        snprintf(f2, sizeof f2, "grid_%d.csv", c->n_sections);
        rep_section *g = section_new(c, 1 + nc, f2, t2);
        if (!g) return rep_fail(c, "out of memory");
        const char *gh[1 + MAX_VROWS];
        char corner[120];
        snprintf(corner, sizeof corner, "%s \\ %s", keys[0].key, keys[1].key);
        gh[0] = corner;
        for (int j = 0; j < nc; j++) gh[1 + j] = cv[j];
        if (section_header(g, gh)) return rep_fail(c, "out of memory");
        snprintf(g->caption, sizeof g->caption,
                 "Avg. accuracy (%%) of the variants above on a grid of their two varying parameters, the layout "
                 "of the paper's Table 4 (ST-RoPE frequency bases); '-' where no variant ran.");
        char gb[1 + MAX_VROWS][32];
        for (int a = 0; a < nr; a++) {
            const char *cells[1 + MAX_VROWS];
            cells[0] = rv[a];
            for (int b = 0; b < nc; b++) {
                double v = NAN;
                for (int i = 0; i < n; i++)
                    if (!strcmp(keys[0].val[i], rv[a]) && !strcmp(keys[1].val[i], cv[b])) v = rows[i]->avg;
                fmt(gb[b], sizeof gb[b], "%.1f", v);
                cells[1 + b] = gb[b];
            }
            if (section_row(g, cells)) return rep_fail(c, "out of memory");
        }
    }
    if (n_vary == 1 && keys[0].numeric && n >= 3) {
        rep_sweep *g = realloc(c->sweeps, (size_t)(c->n_sweeps + 1) * sizeof *g);
        if (!g) return rep_fail(c, "out of memory");
        c->sweeps = g;
        rep_sweep *w = &c->sweeps[c->n_sweeps++];
        memset(w, 0, sizeof *w);
        snprintf(w->model, sizeof w->model, "%s", r0->model);
        w->ratio = r0->ratio;
        snprintf(w->key, sizeof w->key, "%s", keys[0].key);
        double xs[MAX_VROWS];
        for (int i = 0; i < n; i++) xs[i] = strtod(keys[0].val[i], NULL);
        double sorted[MAX_VROWS];
        memcpy(sorted, xs, (size_t)n * sizeof *xs);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_dbl);
        for (int j = 0; j < n && w->n < REP_MAX_SWEEP; j++) {
            if (j && sorted[j] == sorted[j - 1]) continue;
            for (int i = 0; i < n; i++)
                if (xs[i] == sorted[j]) {
                    w->x[w->n] = xs[i];
                    w->avg[w->n] = rows[i]->avg;
                    for (int k = 0; k < c->n_cols; k++) w->v[w->n][k] = rows[i]->v[k];
                    w->n++;
                    break;
                }
        }
    }
    return 0;
}

static int build_variants(rep_ctx *c) {
    const rep_row *grp[MAX_VROWS];
    for (int i = 0; i < c->n_rows;) {
        int e = i;
        while (e < c->n_rows && c->rows[e].block == c->rows[i].block) e++;
        int n = 0;
        for (int j = i; j < e && n < MAX_VROWS; j++) {
            const rep_run *r = row_run(c, &c->rows[j], NULL);
            if (r && r->s->label[0]) grp[n++] = &c->rows[j];
        }
        if (n >= 2 && build_variant_group(c, grp, n)) return -1;
        i = e;
    }
    return 0;
}

int rep_paper_build(rep_ctx *c, db_store *db) {
    if (build_published(c, db)) return -1;
    return build_variants(c);
}

/* ---- renderers ------------------------------------------------------------------------------ */

static const char *cell(const rep_section *s, int row, int col) {
    const char *v = s->cells[(size_t)row * s->n_cols + col];
    return v ? v : "";
}

void rep_sections_md(const rep_ctx *c, FILE *f) {
    for (int i = 0; i < c->n_sections; i++) {
        const rep_section *s = &c->sections[i];
        fprintf(f, "\n## %s\n\n%s\n", s->title, s->caption);
        if (!s->n_rows) {
            fputs("\n(no row of this report matches)\n", f);
            continue;
        }
        fputs("\n|", f);
        for (int k = 0; k < s->n_cols; k++) fprintf(f, " %s |", cell(s, 0, k));
        fputs("\n|", f);
        for (int k = 0; k < s->n_cols; k++) fputs(k ? "---:|" : "---|", f);
        fputc('\n', f);
        for (int r = 1; r <= s->n_rows; r++) {
            fputc('|', f);
            for (int k = 0; k < s->n_cols; k++) fprintf(f, " %s |", cell(s, r, k));
            fputc('\n', f);
        }
    }
}

static void tex_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (strchr("&%$#_{}", *s)) fputc('\\', f), fputc(*s, f);
        else if (*s == '\\') fputs("\\textbackslash{}", f);
        else if (*s == '~') fputs("\\textasciitilde{}", f);
        else if (*s == '^') fputs("\\textasciicircum{}", f);
        else fputc(*s, f);
    }
}

void rep_sections_tex(const rep_ctx *c, FILE *f) {
    for (int i = 0; i < c->n_sections; i++) {
        const rep_section *s = &c->sections[i];
        if (!s->n_rows) continue;
        fputs("\n\\begin{table}[t]\n\\centering\n\\small\n\\caption{", f);
        tex_escape(f, s->title);
        fputs("}\n\\begin{tabular}{l", f);
        for (int k = 1; k < s->n_cols; k++) fputc('r', f);
        fputs("}\n\\toprule\n", f);
        for (int r = 0; r <= s->n_rows; r++) {
            for (int k = 0; k < s->n_cols; k++) {
                if (k) fputs(" & ", f);
                tex_escape(f, cell(s, r, k));
            }
            fputs(r == 0 ? " \\\\\n\\midrule\n" : " \\\\\n", f);
        }
        fputs("\\bottomrule\n\\end{tabular}\n\\end{table}\n", f);
    }
}

static void html_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

void rep_sections_html(const rep_ctx *c, FILE *f) {
    for (int i = 0; i < c->n_sections; i++) {
        const rep_section *s = &c->sections[i];
        fputs("<h2>", f);
        html_text(f, s->title);
        fputs("</h2>\n<p>", f);
        html_text(f, s->caption);
        fputs("</p>\n", f);
        if (!s->n_rows) {
            fputs("<p>(no row of this report matches)</p>\n", f);
            continue;
        }
        fputs("<table class=\"section\"><thead><tr>", f);
        for (int k = 0; k < s->n_cols; k++) {
            fputs("<th>", f);
            html_text(f, cell(s, 0, k));
            fputs("</th>", f);
        }
        fputs("</tr></thead><tbody>\n", f);
        for (int r = 1; r <= s->n_rows; r++) {
            fputs("<tr>", f);
            for (int k = 0; k < s->n_cols; k++) {
                fputs("<td>", f);
                html_text(f, cell(s, r, k));
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
}

static void csv_field(FILE *f, const char *s) {
    int quote = strpbrk(s, ",\"\n") != NULL;
    if (!quote) {
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

int rep_sections_csv(rep_ctx *c) {
    for (int i = 0; i < c->n_sections; i++) {
        const rep_section *s = &c->sections[i];
        char path[1400];
        FILE *f = rep_open(c, c->p->out_dir, s->file, path, sizeof path);
        if (!f) return -1;
        for (int r = 0; r <= s->n_rows; r++) {
            for (int k = 0; k < s->n_cols; k++) {
                if (k) fputc(',', f);
                csv_field(f, cell(s, r, k));
            }
            fputc('\n', f);
        }
        if (rep_close(c, f, path)) return -1;
    }
    return 0;
}
