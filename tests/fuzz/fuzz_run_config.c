/* fuzz_run_config.c - the `tango-bench run` config (harness/run_config.c): JSON, ${VAR} and
 * ${VAR:-default} expansion, every field's checks, the methods' parameters, printing the grid,
 * and run_config_check (each method run once with its parameters, prompts per convention).
 * TB_MODELS and TB_DATA are set, TB_UNSET is not. */
#include "tests/fuzz/fuzz_util.h"

#include "harness/run_config.h"
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
        /* every method with its fuzzed parameters on a synthetic video, when the grid is small
         * (more frames or a bigger grid only make it slower under the sanitizers, not different:
         * the shipped 64-frame Table 2 config takes 15 s there, 1 s in a normal build) */
        int work = 0, small = 1;
        for (int i = 0; i < cfg->n_models; i++) small &= cfg->models[i].n_frames <= 16;
        work = cfg->n_models * cfg->n_methods * (cfg->n_ratios ? cfg->n_ratios : 1);
        if (small && work <= 32) (void)run_config_check(cfg, err, sizeof err);
    }
    run_config_free(cfg);
    return 0;
}
