/* cmd_fetch.c - tango-bench fetch BENCH: download and cache a benchmark's official annotation
 * records (datasets/datasets.h, ds_fetch), or with --offline verify the cache entry. */
#include <stdio.h>
#include <string.h>

#include "datasets/datasets.h"
#include "harness/cli.h"
#include "harness/commands.h"

int cmd_fetch(int argc, char **argv) {
    const char *revision = "main", *cache = NULL;
    int offline = 0, force = 0;
    const cli_opt opts[] = {
        {"revision", CLI_STR, &revision, "REV", "dataset revision: branch or 40-hex commit"},
        {"cache", CLI_STR, &cache, "DIR", "cache root (default $XDG_CACHE_HOME/tango-bench)", .env = "TB_CACHE"},
        {"offline", CLI_FLAG, &offline, NULL, "use only the cache: verify the entry, never touch the network"},
        {"force", CLI_FLAG, &force, NULL, "download again even when the cache entry is complete"},
        {0}};
    const cli_spec spec = {"fetch", "BENCH", 1, 1,
                           "download and cache a benchmark manifest (videomme, mvbench, longvideobench, mlvu); "
                           "env: HF_ENDPOINT, HF_DATASETS_SERVER, HF_TOKEN, TB_RETRY_MAX, TB_RETRY_BASE_MS, "
                           "TB_HTTP_TIMEOUT_S",
                           opts};
    char *pos[1];
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    ds_bench bench;
    if (ds_bench_parse(pos[0], &bench) != 0)
        return cli_usage_error(&spec, "unknown benchmark '%s' (videomme, mvbench, longvideobench, mlvu)", pos[0]);
    ds_fetch_params p = ds_fetch_default_params();
    p.cache_dir = cache && *cache ? cache : NULL;
    p.revision = revision;
    p.offline = offline;
    p.force = force;
    ds_fetch_info info;
    char err[1024] = "";
    int rc = ds_fetch(bench, &p, &info, err, sizeof err);
    if (rc != DS_OK) {
        fprintf(stderr, "tango-bench fetch: %s\n", err[0] ? err : ds_status_str(rc));
        return rc == DS_ERR_ARG || rc == DS_ERR_UNSUPPORTED ? 2 : 1;
    }
    printf("%s %s: %zu samples, %d file%s, %lld bytes in %s (%s", ds_bench_name(bench), revision, info.n_samples,
           info.n_files, info.n_files == 1 ? "" : "s", (long long)info.n_bytes, info.dir,
           info.from_cache ? "cache verified" : "downloaded");
    if (!info.from_cache) {
        printf(", %d request%s", info.n_requests, info.n_requests == 1 ? "" : "s");
        if (bench != DS_BENCH_VIDEOMME)
            printf(", %s", info.tree_checked ? "sizes checked against the Hub tree listing"
                                             : "no Hub tree listing: sizes from HTTP headers only");
    }
    printf(")\n");
    if (info.n_bad_records)
        printf("%zu record%s rejected (run stores each as a failed sample); the first: %s\n", info.n_bad_records,
               info.n_bad_records == 1 ? "" : "s", info.first_bad);
    return 0;
}
