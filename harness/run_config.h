/* run_config.h - private to harness/: the parsed `tango-bench run` config (runner.h's opaque
 * run_config), filled by run_config.c (parsing, checks, printing) and read by runner.c
 * (execution). Every string is NUL-terminated and already ${VAR}-expanded. */
#ifndef TB_RUN_CONFIG_H
#define TB_RUN_CONFIG_H

#include <stdint.h>

#include "datasets/datasets.h"
#include "harness/runner.h"

#define RUN_MAX_MODELS 8
#define RUN_MAX_BENCHES 8
#define RUN_MAX_METHODS 32
#define RUN_MAX_RATIOS 16
#define RUN_MAX_PARAMS 32
#define RUN_PATH 1024

typedef struct {
    char name[128];
    char path[RUN_PATH];
    char siglip[RUN_PATH]; /* "" = DIR/siglip when present */
    char family[16];       /* llava-ov | llava-video */
    int n_frames;
    char backend[8];
    int has_ratios;        /* 1: this model's own "ratios" replace the config's (Fig. 6: one
                              retention per frame count) */
    double ratios[RUN_MAX_RATIOS];
    int n_ratios;
} run_model;

typedef struct {
    char name[32];
    ds_bench bench;
    char manifest[RUN_PATH];
    char cache[RUN_PATH];
    char revision[64];
    char videos[RUN_PATH];
    char convention[32];
    char frame_rule[16];
    char seek[16];
    int64_t limit;
    int max_new_tokens;
} run_bench;

typedef struct {
    char name[32];
    char label[64];                  /* "" or the row label reports show (ablation variants of one
                                        method); recorded in the run's params as "label" */
    char *params_json;               /* canonical parameters object (owned) */
    char *kv[RUN_MAX_PARAMS];        /* "key=value" strings for the pruner (owned) */
    int n_kv;
} run_method;

struct run_config {
    char path[RUN_PATH];
    char name[128];
    run_model models[RUN_MAX_MODELS];
    int n_models;
    run_bench benches[RUN_MAX_BENCHES];
    int n_benches;
    run_method methods[RUN_MAX_METHODS];
    int n_methods;
    double ratios[RUN_MAX_RATIOS];
    int n_ratios;
    int64_t seed;
};

/* The ratios a model runs the ratio-taking methods at: its own list when it has one, else the
 * config's. */
const double *run_model_ratios(const run_config *cfg, const run_model *m, int *n);

#endif
