/* cmd_runs.c - tango-bench runs: list a database's runs with their progress and accuracy. */
#include <math.h>
#include <stdio.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "store/store.h"

static int print_run(const db_run_info *r, void *ctx) {
    int *n = ctx;
    if ((*n)++ == 0)
        printf("%-12s  %-20s  %-10s  %-16s  %-18s  %-8s  %11s  %6s  %6s  %s\n", "run", "created", "method", "benchmark",
               "convention", "status", "done", "failed", "acc%", "model");
    char done[32];
    if (r->n_expected > 0)
        snprintf(done, sizeof done, "%lld/%lld", (long long)r->n_done, (long long)r->n_expected);
    else
        snprintf(done, sizeof done, "%lld", (long long)r->n_done);
    char acc[16] = "-"; /* the convention's headline accuracy (its aggregation rule) */
    if (!isnan(r->accuracy)) snprintf(acc, sizeof acc, "%.1f", 100.0 * r->accuracy);
    printf("%.12s  %-20s  %-10s  %-16s  %-18s  %-8s  %11s  %6lld  %6s  %s\n", r->key, r->created, r->method,
           r->benchmark, r->convention[0] ? r->convention : "-", r->status, done, (long long)r->n_failed, acc, r->model);
    return 0;
}

int cmd_runs(int argc, char **argv) {
    const char *path = NULL;
    const cli_opt opts[] = {
        {"db", CLI_STR, &path, "FILE", "results database", .required = 1, .env = "TANGO_DB"},
        {0},
    };
    const cli_spec spec = {"runs", NULL, 0, 0, "list the runs of a results database with their progress", opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    char err[2048];
    db_store *db = db_open_read(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "tango-bench runs: %s\n", err);
        return 1;
    }
    int n = 0, rc = db_runs_list(db, print_run, &n);
    if (rc) fprintf(stderr, "tango-bench runs: %s\n", db_errmsg(db));
    else if (n == 0) printf("no runs in %s\n", path);
    db_close(db);
    return rc ? 1 : 0;
}
