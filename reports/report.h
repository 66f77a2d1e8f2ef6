/* report.h - reports from a results database: the paper's Table 1 layout (Markdown, LaTeX, CSV,
 * HTML), a per-run detail table with 95 % confidence intervals (bootstrap clustered by video),
 * and gnuplot plots (PNG and SVG): accuracy versus realised equivalent retention, the latency
 * breakdown with the speed-up over full tokens, and visual tokens per LLM layer. Reports read
 * only the database.
 *
 * Conventions read from the runs (through the store's query API, db_run_summaries): a run's
 * target retention is params.ratio; a run without one (absent or null, as the runner records a
 * method that takes no ratio) is the full-token reference row, shown as 100 % and the base of
 * Perf. and of the speed-ups. Video-MME duration columns come from categories.duration
 * (short/medium/long). A run recorded with params.label is reported under that label (a row of
 * its own: ablation variants of one method). A run's accuracy is its scoring convention's
 * headline number (the store's db_run_summary.accuracy, by the convention's aggregation rule).
 * The main table and the plots show the runs of one convention (rep_params.convention); when
 * several runs share (model, benchmark, method or label, ratio, convention), the newest is
 * reported. The per-run tables list the newest run of every convention with its name. No method
 * is known by name here.
 *
 * Beyond the main table: the paper's published values (reports/paper_values.tsv, built in) beside
 * every reproduced cell that matches one, with the difference and whether the 95 % interval covers
 * it; the rows of a method's labelled variants with the parameters that tell them apart (Table 3),
 * a grid when two parameters vary (Table 4); plots of accuracy against a swept parameter (Figure 8)
 * and against the frame count (Figure 6).
 *
 * Usage:
 *     rep_params p = rep_default_params();
 *     p.out_dir = "report";
 *     if (rep_write(db, &p, err, sizeof err)) fprintf(stderr, "%s\n", err);
 *     // report/table.md, table.tex, table.csv, details.csv, index.html, plots/NAME.png and .svg
 */
#ifndef TB_REPORT_H
#define TB_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum { REP_MD = 1, REP_TEX = 2, REP_CSV = 4, REP_HTML = 8 };

typedef enum {
    REP_PERF_MEAN_REL = 0, /* Perf. = mean over benchmarks of acc / acc(full) x 100 */
    REP_PERF_REL_AVG = 1,  /* Perf. = Avg. / Avg.(full) x 100 */
} rep_perf;

typedef struct {
    const char *out_dir;  /* created if missing */
    int formats;          /* REP_* bits; default all */
    int plots;            /* 1 (default): run gnuplot */
    rep_perf perf;        /* which Perf. definition the main table shows (CSV has both) */
    int bootstrap_iters;  /* default 1000 */
    uint64_t seed;        /* bootstrap seed, default 1234 */
    const char *method_last; /* listed last in every block, as the paper lists its own method
                                ("Ours"); NULL (default): alphabetical only. Borrowed */
    const char *paper_path;  /* registry of published values (format: reports/paper_values.tsv);
                                NULL (default): the one built in; "none": no comparison. Borrowed */
    const char *convention;  /* the scoring convention of the main table and plots; NULL (default):
                                the one most runs have (ties: the first by name). Borrowed */
} rep_params;

rep_params rep_default_params(void);

/* Writes every requested file into p->out_dir. Returns 0, or -1 with one line in err (names the
 * file that could not be written, or the database error). *n_runs (optional) receives the
 * number of runs reported. */
int rep_write(db_store *db, const rep_params *p, int *n_runs, char *err, size_t err_len);

#endif
