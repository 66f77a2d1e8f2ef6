/* rep_internal.h - what the report's files share; not for other folders (they use report.h).
 *
 *   report.c         entry point: loads the runs through the store's query API, derives
 *                    accuracy, CIs and the reference rows, picks the newest run per cell
 *   report_table.c   the Table 1 layout: columns, rows, Avg./Perf., best/second marks, cells
 *   report_md.c      table.md         report_tex.c   table.tex
 *   report_csv.c     table.csv, details.csv
 *   report_html.c    index.html (tables plus the plots)
 *   report_plot.c    gnuplot: one .dat and one .gp per plot, rendered to PNG and SVG
 *
 * The reference row: a run without a recorded target ratio (params.ratio absent or null, as the
 * runner writes for a method without a ratio) is the full-token reference of its model; it shows
 * as 100 % and is what Perf. and the speed-ups are relative to. No file here tests a method's
 * name. */
#ifndef TB_REP_INTERNAL_H
#define TB_REP_INTERNAL_H

#include <stdio.h>

#include "reports/report.h"
#include "store/store.h"

#define REP_MAX_COLS 32
#define REP_MAX_PLOTS 64

/* Video-MME duration groups, in column order (categories.duration). */
extern const char *const rep_durations[3];

/* One run as reported: the store's aggregates plus what the report derives from them. */
typedef struct {
    const db_run_summary *s; /* borrowed from the context's summaries */
    int reference;           /* no target ratio: the full-token reference row */
    double ratio;            /* target equivalent retention; 1 for a reference run */
    double acc;              /* percent over scored samples; NAN when none */
    double ci_lo, ci_hi;     /* 95 % bootstrap CI of acc (clustered by video), percent; NAN when none */
    double tflops;           /* mean prefill TFLOPs */
    double dur_acc[3];       /* Video-MME short/medium/long accuracy, percent; NAN when no sample */
    int latest;              /* newest run of its (model, benchmark, method, reference, ratio, convention) */
    int selected;            /* latest, and of the table's convention */
} rep_run;

typedef struct {
    char label[64];
    char bench[64];
    int dur;    /* -1 overall, 0..2 Video-MME duration */
    int in_avg; /* counts in Avg. and Perf. */
} rep_col;

/* One row of the main table. */
typedef struct {
    char model[256];
    char method[64];
    int reference;              /* a reference (full-token) row */
    double ratio;               /* 1 for reference rows */
    int block;                  /* rows of one (model, ratio) share a block id */
    double v[REP_MAX_COLS];     /* accuracy per column, NAN = missing */
    double avg, perf_mean_rel, perf_rel_avg;
    int mark[REP_MAX_COLS + 2]; /* 1 best, 2 second (columns, then Avg., Perf.) */
} rep_row;

#define REP_MAX_SWEEP 64

/* A table beyond the main one (published values beside reproduced ones, a method's variant rows,
 * a grid over two parameters): a title, a caption, a header row and body rows of preformatted
 * cells; every renderer prints it its own way, CSV as OUT/file. Built by report_paper.c. */
typedef struct {
    char title[200];
    char caption[1024];
    char file[96];
    int n_cols, n_rows;
    char **cells; /* [(n_rows + 1) * n_cols] owned, the header first */
} rep_section;

/* Labelled variants of one (model, ratio) that differ in ONE numeric parameter (the layout of the
 * paper's Figure 8, the alpha sweep): plotted as accuracy against that parameter. */
typedef struct {
    char model[256];
    double ratio;
    char key[48];
    int n;                               /* points, ascending x */
    double x[REP_MAX_SWEEP];
    double avg[REP_MAX_SWEEP];
    double v[REP_MAX_SWEEP][REP_MAX_COLS]; /* accuracy per column (c->cols) */
} rep_sweep;

/* Plots written by rep_write_plots, listed in the HTML page. */
typedef struct {
    char names[REP_MAX_PLOTS][160];
    char titles[REP_MAX_PLOTS][512];
    int n;
} rep_plot_list;

typedef struct {
    const rep_params *p;
    char *err;
    size_t err_len;
    db_run_summary *summaries; /* [n_runs] from the store, owned */
    rep_run *runs;             /* [n_runs] in creation order */
    size_t n_runs;
    const rep_run **sorted;    /* [n_runs] by model, benchmark, reference first, method, ratio descending */
    rep_col cols[REP_MAX_COLS];
    int n_cols;
    rep_row *rows;             /* [n_rows] the main table, per model: reference block, then ratios */
    int n_rows;
    rep_plot_list plots;
    rep_section *sections;     /* [n_sections] report_paper.c */
    int n_sections;
    rep_sweep *sweeps;         /* [n_sweeps] report_paper.c */
    int n_sweeps;
    char convention[32];       /* the scoring convention of the main table and plots */
} rep_ctx;

/* ---- report.c: errors and output files ---- */

/* Writes one line into the caller's err buffer; returns -1. */
int rep_fail(rep_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens DIR/NAME for writing (path receives it); NULL with the error recorded. */
FILE *rep_open(rep_ctx *c, const char *dir, const char *name, char *path, size_t n);

/* Closes f and checks every earlier write; -1 with the error recorded. */
int rep_close(rep_ctx *c, FILE *f, const char *path);

/* ---- report_table.c: layout and cells ---- */

/* Method order inside a block: alphabetical, p->method_last (the paper's "Ours") last. */
int rep_cmp_method(const rep_ctx *c, const char *x, const char *y);

/* Orders c->sorted (see rep_ctx). */
void rep_sort_runs(rep_ctx *c);

/* Fills c->cols from the benchmarks present: the paper's, in its order, then others
 * alphabetically. */
void rep_build_columns(rep_ctx *c);

/* Fills c->rows and their marks; -1 when out of memory. */
int rep_build_rows(rep_ctx *c);

/* The Perf. value the main table shows for a row (p->perf). */
double rep_row_perf(const rep_ctx *c, const rep_row *r);

/* Text of the Perf. definition, for captions. */
const char *rep_perf_name(rep_perf p);

typedef enum { REP_STYLE_MD, REP_STYLE_TEX, REP_STYLE_HTML } rep_style;

/* One accuracy cell: "-" ("--" in LaTeX) when missing, else %.1f wrapped in the mark's style. */
void rep_fmt_cell(char *buf, size_t n, double v, int mark, rep_style style);

/* A number for the runs tables: printf(fmt, v), or "-" when v is NAN (no sample, not timed). */
void rep_fmt_num(char *buf, size_t n, const char *fmt, double v);

/* "63.3 [58.1, 68.4]", "63.3" without a CI, "-" without scored samples. */
void rep_fmt_acc_ci(char *buf, size_t n, const rep_run *r);

/* "100%" for a reference row, else the target ratio as a percentage ("10%"). */
void rep_ratio_label(char *buf, size_t n, const rep_row *r);

/* ---- report_paper.c: published values, variant rows, grids, sweeps ---- */

/* Builds c->sections and c->sweeps from the rows and runs: the published values of the registry
 * (p->paper_path, or the built-in reports/paper_values.tsv) that match a row, with the reproduced
 * value, the difference and the 95 % CI (clustered bootstrap over the row's runs, and its
 * reference runs for Perf.); for every (model, ratio) with labelled variants of a method, their
 * rows with the parameters that tell them apart (the paper's Table 3 layout), a grid when two
 * parameters vary (its Table 4 layout), a sweep when one numeric parameter varies (Figure 8).
 * Reads the scored samples through the store. -1 with the error recorded. */
int rep_paper_build(rep_ctx *c, db_store *db);
void rep_paper_free(rep_ctx *c);

/* The sections in each format (after the main tables); CSV writes one file per section. */
void rep_sections_md(const rep_ctx *c, FILE *f);
void rep_sections_tex(const rep_ctx *c, FILE *f);
void rep_sections_html(const rep_ctx *c, FILE *f);
int rep_sections_csv(rep_ctx *c);

/* Frame count of a run (the "n=" of its frame policy), 0 when absent. */
int rep_run_frames(const rep_run *r);

/* ---- renderers (one file each) ---- */

int rep_write_markdown(rep_ctx *c);
int rep_write_latex(rep_ctx *c);
int rep_write_csv(rep_ctx *c);
int rep_write_html(rep_ctx *c);

/* ---- report_plot.c ---- */

/* Writes every plot into OUT/plots and lists it in c->plots; -1 when a file cannot be written
 * or gnuplot fails. */
int rep_write_plots(rep_ctx *c);

#endif
