/* main.c - the tango-bench entry point: dispatches to a command, and is the only place in the
 * program that exits. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/redact.h"
#include "harness/commands.h"

const tb_command tb_commands[] = {
    {"fetch", cmd_fetch, "download and cache a benchmark manifest (videomme, mvbench, longvideobench, mlvu)"},
    {"samples", cmd_samples, "print a benchmark's normalised samples and prompts"},
    {"frames", cmd_frames, "sample and preprocess video frames into .npy"},
    {"synth", cmd_synth, "write the synthetic benchmark (videos + manifest)"},
    {"encode", cmd_encode, "run the vision tower, projector and pooling; write features and saliency taps"},
    {"forward", cmd_forward, "run the LLM on token ids and visual tokens; write logits"},
    {"tokenize", cmd_tokenize, "tokenise text with a Qwen2 tokenizer"},
    {"infer", cmd_infer, "answer one video question end to end"},
    {"prune", cmd_prune, "apply a pruning method to visual tokens (.npy in, .npy out)"},
    {"run", cmd_run, "run an experiment grid from a config into a results database"},
    {"report", cmd_report, "write tables and plots from a results database"},
    {"compare", cmd_compare, "paired comparison of two runs"},
    {"merge", cmd_merge, "merge shard databases into one"},
    {"runs", cmd_runs, "list the runs of a results database with their progress"},
    {"export", cmd_export, "write a run's per-sample rows (csv, jsonl, lmms-eval or VLMEvalKit layout)"},
    {"score", cmd_score, "score raw answers (JSON lines on stdin) under a named convention"},
    {"rescore", cmd_rescore, "score a run's stored raw outputs under another convention into a new run"},
    {"import", cmd_import, "load lmms-eval samples or VLMEvalKit predictions into a results database"},
    {"flops", cmd_flops, "LLM FLOPs per layer and the equivalent retention of a token plan"},
    {"make-tiny-model", cmd_make_tiny_model, "write a deterministic tiny checkpoint with the real tensor names"},
    {0},
};

static void print_usage(FILE *out) {
    fprintf(out, "usage: tango-bench COMMAND [options]   (tango-bench COMMAND --help for its options)\n\n"
                 "commands:\n");
    for (const tb_command *c = tb_commands; c->name; c++) fprintf(out, "  %-16s %s\n", c->name, c->summary);
    fprintf(out, "\n  --version        print version, git revision and build features\n");
}

/* OpenMP threads that spin while waiting steal the cores that video decoding, OpenBLAS and any
 * other process on the machine need; on a shared 2-core machine that made small prefills 100x
 * slower. libgomp reads OMP_WAIT_POLICY when it loads, before main, so when the user has not
 * chosen a policy we set "passive" and re-execute ourselves once. */
static void ensure_passive_omp(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1)) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with the default policy */
}

/* HF_TOKEN must never be printed, whatever carries it to a print (a server's error page that
 * echoes the Authorization header, a viewer error, a config value): with a token set, stdout and
 * stderr are streams that overwrite it (common/redact.h); finish_output writes what they hold. */
static FILE *real_stdout, *real_stderr;
static void finish_output(void);

static void redact_output(void) {
    const char *secret = tb_secret();
    if (!secret) return;
    FILE *o = tb_redacting_stream(stdout, secret), *e = tb_redacting_stream(stderr, secret);
    if (o) {
        setvbuf(o, NULL, _IOLBF, 0);
        real_stdout = stdout;
        stdout = o;
    }
    if (e) {
        setvbuf(e, NULL, _IONBF, 0);
        real_stderr = stderr;
        stderr = e;
    }
    atexit(finish_output); /* every return from main and exit() write what the streams hold */
}

static void finish_output(void) {
    if (real_stdout) {
        fclose(stdout);
        stdout = real_stdout;
        real_stdout = NULL;
    }
    if (real_stderr) {
        fclose(stderr);
        stderr = real_stderr;
        real_stderr = NULL;
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    ensure_passive_omp(argv);
    redact_output();
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        print_usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("tango-bench %s (git %s)\nfeatures: %s\n", TB_VERSION, TB_GIT_REV, tb_build_features());
        return 0;
    }
    for (const tb_command *c = tb_commands; c->name; c++) {
        if (strcmp(c->name, name)) continue;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "tango-bench: libcurl failed to initialise\n");
            return 1;
        }
        int rc = c->run(argc - 1, argv + 1);
        finish_output();
        curl_global_cleanup();
        exit(rc);
    }
    fprintf(stderr, "tango-bench: unknown command '%s'\n", name);
    print_usage(stderr);
    return 2;
}
