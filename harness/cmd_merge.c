/* cmd_merge.c - tango-bench merge: combine shard databases (from --shard i/n runs) into one. */
#include <stdio.h>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "store/store.h"

#define MERGE_MAX_INPUTS 4096

int cmd_merge(int argc, char **argv) {
    const cli_opt opts[] = {{0}};
    const cli_spec spec = {"merge", "OUT.db IN1.db [IN2.db ...]", 2, MERGE_MAX_INPUTS + 1,
                           "merge shard databases into a new database, without duplicates", opts};
    static char *pos[MERGE_MAX_INPUTS + 1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);

    char err[2048];
    /* every input first: a mistyped shard is an error before anything is written (it used to
     * become a new empty database, and the merge quietly lacked that shard) */
    for (int i = 1; i < n_pos; i++) {
        db_store *in = db_open_read(pos[i], err, sizeof err);
        if (!in) {
            fprintf(stderr, "tango-bench merge: %s\n", err);
            return 1;
        }
        db_close(in);
    }
    int existed = access(pos[0], F_OK) == 0;
    db_store *out = db_open(pos[0], err, sizeof err);
    if (!out) {
        fprintf(stderr, "tango-bench merge: %s\n", err);
        return 1;
    }
    int64_t existing = 0;
    if (db_run_count(out, &existing) || existing > 0) {
        fprintf(stderr, "tango-bench merge: %s already holds %lld runs; merge into a new file\n", pos[0],
                (long long)existing);
        db_close(out);
        return 1;
    }
    int rc = 0;
    int64_t conflicts = 0;
    for (int i = 1; i < n_pos; i++) {
        db_merge_stats ms;
        if (db_merge_from(out, pos[i], &ms)) {
            fprintf(stderr, "tango-bench merge: %s\n", db_errmsg(out));
            rc = 1;
            break;
        }
        printf("%s: %lld new runs, %lld joined, %lld samples added, %lld already present",
               pos[i], (long long)ms.runs_new, (long long)ms.runs_joined, (long long)ms.samples_added,
               (long long)ms.samples_duplicate);
        if (ms.samples_conflicting) printf(", %lld CONFLICTING (first kept)", (long long)ms.samples_conflicting);
        printf("\n");
        conflicts += ms.samples_conflicting;
    }
    db_close(out);
    if (rc && !existed) { /* no half-merged output left behind */
        char p[4200];
        unlink(pos[0]);
        snprintf(p, sizeof p, "%s-wal", pos[0]);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", pos[0]);
        unlink(p);
    }
    if (rc == 0 && conflicts)
        fprintf(stderr, "tango-bench merge: warning: %lld samples had different results in different inputs\n",
                (long long)conflicts);
    return rc;
}
