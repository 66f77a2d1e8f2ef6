/* cmd_export.c - tango-bench export: a run's per-sample rows as CSV or JSON lines, or in the
 * layouts of lmms-eval (results JSON + per-sample JSONL) and VLMEvalKit (score CSV), so runs drop
 * into scripts written for those tools; `tango-bench import` reads both back. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "store/store.h"

int cmd_export(int argc, char **argv) {
    const char *path = NULL, *run = NULL, *format = "csv", *out_path = NULL;
    const cli_opt opts[] = {
        {"db", CLI_STR, &path, "FILE", "results database", .required = 1, .env = "TANGO_DB"},
        {"run", CLI_STR, &run, "KEY", "run key or a unique prefix of at least 6 hex digits", .required = 1},
        {"format", CLI_STR, &format, "csv|jsonl|lmms-eval|vlmevalkit",
         "output format; lmms-eval and vlmevalkit write files into the --out folder"},
        {"out", CLI_STR, &out_path, "PATH", "csv, jsonl: write here instead of standard output; lmms-eval, "
                                             "vlmevalkit: the folder to write into (required)"},
        {0},
    };
    const cli_spec spec = {"export", NULL, 0, 0,
                           "write a run's per-sample rows (csv, jsonl, lmms-eval or VLMEvalKit layout)", opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    db_export_format fmt = DB_EXPORT_CSV;
    int peer = 0; /* 1 lmms-eval, 2 vlmevalkit */
    if (!strcmp(format, "csv")) fmt = DB_EXPORT_CSV;
    else if (!strcmp(format, "jsonl")) fmt = DB_EXPORT_JSONL;
    else if (!strcmp(format, "lmms-eval")) peer = 1;
    else if (!strcmp(format, "vlmevalkit")) peer = 2;
    else return cli_usage_error(&spec, "--format '%s' is not one of csv, jsonl, lmms-eval, vlmevalkit", format);
    if (peer && !out_path) return cli_usage_error(&spec, "--format %s writes files: give the folder with --out", format);

    char err[2048], key[DB_KEY_LEN + 1];
    db_store *db = db_open_read(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "tango-bench export: %s\n", err);
        return 1;
    }
    int rc = 1;
    FILE *out = stdout;
    if (db_run_resolve(db, run, key)) {
        fprintf(stderr, "tango-bench export: %s\n", db_errmsg(db));
        goto done;
    }
    if (peer) {
        char written[4096];
        int st2 = peer == 1 ? db_export_lmms(db, key, out_path, written, sizeof written)
                            : db_export_vlmeval(db, key, out_path, written, sizeof written);
        if (st2) {
            fprintf(stderr, "tango-bench export: %s\n", db_errmsg(db));
            goto done;
        }
        fputs(written, stdout);
        rc = 0;
        goto done;
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        fprintf(stderr, "tango-bench export: %s: cannot write: %s\n", out_path, strerror(errno));
        out = stdout;
        goto done;
    }
    if (db_export(db, key, fmt, out)) {
        fprintf(stderr, "tango-bench export: %s\n", db_errmsg(db));
        goto done;
    }
    rc = 0;
done:
    if (out != stdout && fclose(out) && rc == 0) {
        fprintf(stderr, "tango-bench export: %s: write failed\n", out_path);
        rc = 1;
    }
    db_close(db);
    return rc;
}
