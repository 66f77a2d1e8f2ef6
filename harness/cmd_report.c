/* cmd_report.c - tango-bench report: tables (Markdown, LaTeX, CSV, HTML) and gnuplot plots from a
 * results database. */
#include <stdio.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "store/store.h"
#include "reports/report.h"

/* Parses "md,tex,csv,html" into REP_* bits; 0 on an unknown name. */
static int parse_formats(const char *s, const char **bad) {
    int bits = 0;
    static const struct { const char *name; int bit; } names[] = {
        {"md", REP_MD}, {"tex", REP_TEX}, {"csv", REP_CSV}, {"html", REP_HTML}};
    *bad = s;
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == len && !strncmp(names[i].name, s, len)) bits |= names[i].bit, found = 1;
        if (!found) {
            *bad = s;
            return 0;
        }
        s += len;
        if (*s == ',') s++;
    }
    return bits;
}

int cmd_report(int argc, char **argv) {
    rep_params p = rep_default_params();
    p.method_last = "tango"; /* the paper lists its own method last in each block */
    const char *path = NULL, *formats = "md,tex,csv,html", *perf = "mean-rel";
    int no_plots = 0;
    int64_t iters = p.bootstrap_iters, seed = (int64_t)p.seed;
    const cli_opt opts[] = {
        {"db", CLI_STR, &path, "FILE", "results database", .required = 1, .env = "TANGO_DB"},
        {"out", CLI_STR, &p.out_dir, "DIR", "output directory (created)"},
        {"format", CLI_STR, &formats, "LIST", "comma list of md, tex, csv, html"},
        {"perf", CLI_STR, &perf, "mean-rel|rel-avg",
         "Perf. column: mean over benchmarks of acc/acc(full), or Avg./Avg.(full)"},
        {"no-plots", CLI_FLAG, &no_plots, NULL, "skip the gnuplot plots"},
        {"bootstrap", CLI_INT, &iters, "N", "bootstrap resamples for the confidence intervals", 100, 1e6},
        {"seed", CLI_INT, &seed, "S", "bootstrap seed", 0, 9e18},
        {"paper", CLI_STR, &p.paper_path, "FILE|none",
         "published values set beside the reproduced ones (default: the built-in reports/paper_values.tsv)"},
        {"convention", CLI_STR, &p.convention, "C",
         "scoring convention of the main table and plots (default: the one most runs have)"},
        {0},
    };
    const cli_spec spec = {"report", NULL, 0, 0, "write tables and plots from a results database", opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    const char *bad = NULL;
    p.formats = parse_formats(formats, &bad);
    if (!p.formats)
        return *bad ? cli_usage_error(&spec, "--format: unknown format in '%s' (md, tex, csv, html)", bad)
                    : cli_usage_error(&spec, "--format '%s' names no format (md, tex, csv, html)", formats);
    if (!strcmp(perf, "mean-rel")) p.perf = REP_PERF_MEAN_REL;
    else if (!strcmp(perf, "rel-avg")) p.perf = REP_PERF_REL_AVG;
    else return cli_usage_error(&spec, "--perf '%s' is not one of mean-rel, rel-avg", perf);
    p.plots = !no_plots;
    p.bootstrap_iters = (int)iters;
    p.seed = (uint64_t)seed;

    char err[2048];
    db_store *db = db_open_read(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "tango-bench report: %s\n", err);
        return 1;
    }
    int n_runs = 0, rc = rep_write(db, &p, &n_runs, err, sizeof err);
    db_close(db);
    if (rc) {
        fprintf(stderr, "tango-bench report: %s\n", err);
        return 1;
    }
    printf("report of %d runs written to %s/", n_runs, p.out_dir);
    if (p.formats & REP_HTML) printf(" (open %s/index.html)", p.out_dir);
    printf("\n");
    return 0;
}
