/* fuzz_run_config.c - the `tango-bench run` config (harness/run_config.c): JSON, ${VAR} and
 * ${VAR:-default} expansion, every field's checks, the methods' parameters, printing the grid.
 * TB_MODELS and TB_DATA are set, TB_UNSET is not. */
#include "tests/fuzz/fuzz_util.h"

#include "harness/runner.h"

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("TB_MODELS", "/models", 1);
    setenv("TB_DATA", "/data", 1);
    unsetenv("TB_UNSET");
    sink = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!sink) LLVMFuzzerInitialize(NULL, NULL);
    const char *p = fz_path("run.json");
    fz_write(p, data, size);
    run_config *cfg = NULL;
    char err[1024];
    if (run_config_load(p, &cfg, err, sizeof err) == 0) {
        (void)run_config_n_runs(cfg);
        run_config_print(cfg, sink);
    }
    run_config_free(cfg);
    return 0;
}
