/* cmd_rescore.c - tango-bench rescore: a run's stored raw outputs scored under another convention
 * into a new run, without running a model, so numbers can be compared across tools. The new run
 * keeps everything of the old one (spec, samples, per-layer counts, timings) except the answer
 * fields; its key differs by the convention, by params.rescored_from (the source run) and by the
 * code version that rescored it. The prompt stays the one the outputs were generated with
 * (params.convention). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/rescore.h"
#include "store/store.h"

int cmd_rescore(int argc, char **argv) {
    const char *path = NULL, *run = NULL, *conv_name = NULL;
    char conv_help[160];
    snprintf(conv_help, sizeof conv_help, "the convention to score under: %s", ds_convention_names());
    const cli_opt opts[] = {
        {"db", CLI_STR, &path, "FILE", "results database", .required = 1, .env = "TANGO_DB"},
        {"run", CLI_STR, &run, "KEY", "run key or a unique prefix of at least 6 hex digits", .required = 1},
        {"convention", CLI_STR, &conv_name, "C", conv_help, .required = 1},
        {0},
    };
    const cli_spec spec = {"rescore", NULL, 0, 0,
                           "score a run's stored raw outputs under another convention into a new run (no model run)",
                           opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    ds_convention conv;
    if (ds_convention_parse(conv_name, &conv))
        return cli_usage_error(&spec, "unknown convention '%s' (one of %s)", conv_name, ds_convention_names());

    char err[2048], src[DB_KEY_LEN + 1], key[DB_KEY_LEN + 1];
    db_store *db = db_open(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "tango-bench rescore: %s\n", err);
        return 1;
    }
    int rc = 1;
    db_run_record rec = {0};
    if (db_run_resolve(db, run, src) || db_run_get(db, src, &rec)) {
        fprintf(stderr, "tango-bench rescore: %s\n", db_errmsg(db));
        goto done;
    }
    int64_t n = 0;
    int existed = 0;
    if (hs_rescore_run(db, src, &rec, conv, key, &existed, &n, err, sizeof err)) {
        fprintf(stderr, "tango-bench rescore: %s\n", err);
        goto done;
    }
    if (existed)
        printf("run %s already holds run %.12s rescored under %s\n", key, src, ds_convention_name(conv));
    else
        printf("rescored %lld samples of run %.12s (%s) under %s into run %s\n", (long long)n, src,
               rec.convention[0] ? rec.convention : "no convention", ds_convention_name(conv), key);
    rc = 0;
done:
    db_run_record_free(&rec);
    db_close(db);
    return rc;
}
