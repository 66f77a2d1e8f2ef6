/* runner.h - the experiment runner behind `tango-bench run`: a config names models, benchmarks,
 * methods with parameters and target equivalent-retention ratios; the runner evaluates the whole
 * grid one sample at a time, decoding and encoding each video once and reusing the features for
 * every (method, ratio), and writes every sample result to the SQLite store in its own
 * transaction (so a killed run resumes where it stopped).
 *
 * Config (JSON; strings may use ${VAR} and ${VAR:-default} from the environment):
 *     {
 *       "name": "demo",
 *       "models": [{"name": "tiny-ov", "path": "DIR", "siglip": "DIR/siglip",
 *                   "family": "llava-ov", "frames": 8, "backend": "cpu", "dtype": "auto"}],
 *       "benchmarks": [{"name": "mvbench", "manifest": "SYNTH/json", "videos": "SYNTH/videos",
 *                       "cache": null, "revision": "main", "convention": "vlmevalkit",
 *                       "frame_rule": "linspace", "seek": "exact", "limit": 0,
 *                       "max_new_tokens": 16}],
 *       "methods": [{"name": "full"}, {"name": "tango", "params": {"compat": "official"}}],
 *       "ratios": [0.10, 0.15, 0.20],
 *       "seed": 0
 *     }
 * "full" runs once (ratio 1); every other method runs once per ratio. A model may carry its own
 * "ratios" (they replace the config's for that model: Figure 6 runs each frame count at the ratio
 * that keeps 32x196 tokens). A method entry may carry a "label": several entries of one method
 * (Tango's ablation switches) are then separate rows in the reports; the label is recorded in the
 * run's params. Every method parameter must be one of the method's --set keys.
 *
 * Usage:
 *     run_config *cfg;
 *     if (run_config_load("configs/demo.json", &cfg, err, sizeof err)) ...
 *     run_params rp = run_default_params();
 *     rp.db_path = "study.db";
 *     run_stats st;
 *     int rc = run_execute(cfg, &rp, &st, err, sizeof err);
 *     run_config_free(cfg);
 */
#ifndef TB_RUNNER_H
#define TB_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct run_config run_config; /* opaque: the parsed config */

/* Parses the config file. Returns 0, or -1 with "FILE: field: problem" in err. Caller frees with
 * run_config_free. */
int run_config_load(const char *path, run_config **out, char *err, size_t err_len);
void run_config_free(run_config *cfg);

/* Prints the grid the config describes (models, benchmarks, methods x ratios), one line each. */
/* Checks what the config asks beyond its syntax without loading a model: every method with its
 * parameters runs once per ratio on a synthetic video (unknown or out-of-range parameters fail
 * with the method's message), and every benchmark's prompt and scoring exist for each model
 * family and convention. `run --dry-run` and the start of every run call it. Returns 0, or -1
 * with one line naming the config, the method or benchmark and the problem. */
int run_config_check(const run_config *cfg, char *err, size_t err_len);

void run_config_print(const run_config *cfg, FILE *out);

/* Number of (model, benchmark, method, ratio) runs the config describes. */
int run_config_n_runs(const run_config *cfg);

typedef struct {
    const char *db_path;  /* results database (created) */
    int shard_index;      /* this process runs the samples with hash(id) % shard_count == index */
    int shard_count;      /* 1 = no sharding */
    int64_t limit;        /* > 0: at most this many samples per benchmark (after sharding) */
    int progress;         /* 1: a live progress line on stderr; 0: plain log lines */
    const char *log_prefix; /* printed before log lines ("tango-bench run") */
    int decode_ahead;     /* videos FFmpeg may decode ahead of the model in its own thread (a
                             bounded queue; default 2); 0: decode inline, before each sample */
} run_params;

run_params run_default_params(void);

typedef struct {
    int64_t n_runs;             /* runs opened */
    int64_t n_written;          /* sample results written by this process */
    int64_t n_skipped;          /* sample results already present (resumed) */
    int64_t n_failed;           /* of the written, failed samples */
    int64_t n_correct;          /* of the written, correct answers */
} run_stats;

/* Runs the grid. Per-sample problems (a corrupt video, a record whose video is missing, a method
 * error) are stored as failed samples and the run goes on; setup problems (a model that does not
 * load, an unreadable manifest, a database error) stop it with -1 and one line in err. */
int run_execute(const run_config *cfg, const run_params *p, run_stats *stats, char *err, size_t err_len);

/* The shard a sample id falls in: FNV-1a 64 of the id, modulo n. */
int run_shard_of(const char *sample_id, int n);

#endif
