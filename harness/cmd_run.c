/* cmd_run.c - tango-bench run: evaluate an experiment config into a results database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/runner.h"

int cmd_run(int argc, char **argv) {
    const char *config = NULL, *shard = NULL;
    run_params p = run_default_params();
    int64_t limit = 0, decode_ahead = p.decode_ahead;
    int quiet = 0, dry_run = 0;
    const cli_opt opts[] = {
        {"config", CLI_STR, &config, "FILE", "experiment config (JSON; see configs/)", .required = 1},
        {"db", CLI_STR, &p.db_path, "FILE", "results database (created; a rerun resumes)", .env = "TANGO_DB"},
        {"shard", CLI_STR, &shard, "I/N", "run only the samples of shard I of N (0-based; by a hash of the id)"},
        {"limit", CLI_INT, &limit, "N", "at most N samples per benchmark (0 = all)", 0, 1e12},
        {"quiet", CLI_FLAG, &quiet, NULL, "no progress output"},
        {"decode-ahead", CLI_INT, &decode_ahead, "N",
         "videos decoded ahead of the model in a decoder thread (0 = decode inline)", 0, 64},
        {"dry-run", CLI_FLAG, &dry_run, NULL, "check the config and print the grid; load nothing, run nothing"},
        {0},
    };
    const cli_spec spec = {"run", NULL, 0, 0, "run an experiment grid from a config into a results database", opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    if (shard) {
        char *end;
        long i = strtol(shard, &end, 10);
        long n = *end == '/' ? strtol(end + 1, &end, 10) : 0;
        if (*end || n < 1 || n > 1000000 || i < 0 || i >= n)
            return cli_usage_error(&spec, "--shard '%s' must be I/N with 0 <= I < N", shard);
        p.shard_index = (int)i;
        p.shard_count = (int)n;
    }
    p.limit = limit;
    p.decode_ahead = (int)decode_ahead;
    p.progress = !quiet && isatty(2);

    char err[2048];
    run_config *cfg;
    if (run_config_load(config, &cfg, err, sizeof err)) {
        fprintf(stderr, "tango-bench run: %s\n", err);
        return 1;
    }
    if (run_config_check(cfg, err, sizeof err)) { /* before anything runs, dry or not */
        fprintf(stderr, "tango-bench run: %s\n", err);
        run_config_free(cfg);
        return 1;
    }
    if (dry_run) {
        run_config_print(cfg, stdout);
        run_config_free(cfg);
        return 0;
    }
    if (quiet) p.log_prefix = NULL;
    run_stats stats;
    int rc = run_execute(cfg, &p, &stats, err, sizeof err);
    run_config_free(cfg);
    if (rc) {
        fprintf(stderr, "tango-bench run: %s\n", err);
        return 1;
    }
    printf("%lld runs in %s: %lld results written (%lld failed samples), %lld already present\n",
           (long long)stats.n_runs, p.db_path, (long long)stats.n_written, (long long)stats.n_failed,
           (long long)stats.n_skipped);
    return 0;
}
