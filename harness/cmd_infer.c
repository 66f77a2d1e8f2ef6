/* cmd_infer.c - tango-bench infer: answer one multiple-choice question about one video end to end
 * (frames, tower, pruning method, prompt, prefill with the method's in-LLM plan, generation,
 * answer extraction) through harness/session.h, the code path the experiment runner uses.
 * Prints the generated text, the extracted letter (and correctness with --gold), token counts
 * and the per-stage wall times. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/registry.h"
#include "harness/session.h"

/* Splits "A. x|B. y|..." into the sample's options: options[i] without a leading "X. " (X the
 * expected letter), options_raw[i] with it. Returns the count, or -1 (bad count / out of memory). */
static int split_options(const char *s, ds_sample *smp) {
    int n = 0;
    const char *p = s;
    while (1) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (n >= DS_MAX_OPTIONS || len == 0) return -1;
        char letter = (char)('A' + n);
        const char *body = p;
        size_t blen = len;
        if (len >= 3 && p[0] == letter && p[1] == '.' && p[2] == ' ') {
            body = p + 3;
            blen = len - 3;
        }
        smp->options[n] = strndup(body, blen);
        smp->options_raw[n] = malloc(blen + 4);
        if (!smp->options[n] || !smp->options_raw[n]) return -1;
        snprintf(smp->options_raw[n], blen + 4, "%c. %.*s", letter, (int)blen, body);
        n++;
        smp->n_options = n;
        if (!bar) break;
        p = bar + 1;
    }
    return n >= 2 ? n : -1;
}

static void sample_free(ds_sample *smp) {
    for (int i = 0; i < DS_MAX_OPTIONS; i++) {
        free(smp->options[i]);
        free(smp->options_raw[i]);
    }
}

int cmd_infer(int argc, char **argv) {
    const char *model = NULL, *siglip = NULL, *video = NULL, *question = NULL, *options = NULL,
               *bench_name = "videomme", *family_name = NULL, *convention_name = "vlmevalkit", *gold = NULL,
               *backend = "cpu", *method = "full", *rule = "linspace", *seek = "exact";
    int64_t n_frames = 0, max_new = 32, seed = 0;
    double ratio = 1.0;
    cli_list sets = {0};
    const cli_opt opts[] = {
        {"model", CLI_STR, &model, "DIR", "LLaVA checkpoint directory (with its tokenizer)", .required = 1},
        {"siglip", CLI_STR, &siglip, "PATH", "SigLIP checkpoint with the attention-pooling head (optional)"},
        {"video", CLI_STR, &video, "FILE", "video file (or a folder of JPEG frames at 3 fps)", .required = 1},
        {"question", CLI_STR, &question, "TEXT", "the question", .required = 1},
        {"options", CLI_STR, &options, "\"A. ..|B. ..\"", "the options, '|'-separated", .required = 1},
        {"benchmark", CLI_STR, &bench_name, "B", "prompt and answer rules: videomme|mvbench|longvideobench|mlvu"},
        {"family", CLI_STR, &family_name, "NAME", "llava-ov | llava-video | qwen2.5-vl (default: from the checkpoint)"},
        {"convention", CLI_STR, &convention_name, "NAME", "vlmevalkit | lmms-eval | vlmevalkit@e8e78f0 | lmms-eval@0.7.3"},
        {"frames", CLI_INT, &n_frames, "N", "frames sampled (default 32 OV, 64 LLaVA-Video)", 0, 4096},
        {"frame-rule", CLI_STR, &rule, "RULE", "linspace | centred | interior"},
        {"seek", CLI_STR, &seek, "MODE", "exact | keyframe"},
        {"method", CLI_STR, &method, "NAME", "pruning method (full = all tokens)"},
        {"ratio", CLI_DOUBLE, &ratio, "R", "target equivalent retention for --method", 0, 1},
        {"set", CLI_LIST, &sets, "KEY=VALUE", "method parameter (repeatable)"},
        {"seed", CLI_INT, &seed, "S", "seed of the method's random draws", 0, 9e18},
        {"max-new-tokens", CLI_INT, &max_new, "N", "generation limit", 1, 4096},
        {"gold", CLI_STR, &gold, "LETTER", "correct option, to print whether the answer is right"},
        {"backend", CLI_STR, &backend, "ref|cpu|cuda", "compute backend"},
        {0},
    };
    const cli_spec spec = {"infer", NULL, 0, 0, "answer one video question end to end", opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);

    ds_bench bench;
    run_answer_params ap = run_answer_default_params();
    if (ds_bench_parse(bench_name, &bench) != 0) return cli_usage_error(&spec, "unknown benchmark '%s'", bench_name);
    if (ds_convention_parse(convention_name, &ap.convention) != 0)
        return cli_usage_error(&spec, "unknown convention '%s' (one of %s)", convention_name, ds_convention_names());
    tb_family fam;
    if (family_name && tb_family_parse(family_name, &fam) != 0)
        return cli_usage_error(&spec, "--family must be llava-ov, llava-video or qwen2.5-vl, not '%s'", family_name);
    const tg_method *meth = reg_method_find(method);
    if (!meth) return cli_usage_error(&spec, "unknown method '%s'", method);
    int no_ratio = (meth->caps & TG_CAP_NO_RATIO) != 0;
    if (!no_ratio && !(ratio > 0)) return cli_usage_error(&spec, "--method %s needs --ratio in (0, 1]", method);
    if (gold && (strlen(gold) != 1 || gold[0] < 'A' || gold[0] > 'H'))
        return cli_usage_error(&spec, "--gold must be one letter A..H");
    ds_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.bench = bench;
    smp.id = "infer";
    smp.video = (char *)video;
    smp.question = (char *)question;
    smp.start = smp.end = smp.duration = NAN;
    smp.gold = gold ? gold[0] : 'A';
    if (split_options(options, &smp) < 0) {
        sample_free(&smp);
        return cli_usage_error(&spec, "--options needs 2..%d non-empty '|'-separated options", DS_MAX_OPTIONS);
    }
    if (bench != DS_BENCH_VIDEOMME)
        for (int i = 0; i < smp.n_options; i++) {
            free(smp.options_raw[i]);
            smp.options_raw[i] = NULL;
        }

    char err[1024];
    run_model_spec ms = run_model_spec_default();
    ms.path = model;
    ms.siglip = siglip;
    ms.family = family_name;
    ms.backend = backend;
    ms.n_frames = (int)n_frames;
    run_session *sess = NULL;
    if (run_session_open(&ms, &sess, err, sizeof err)) {
        fprintf(stderr, "tango-bench infer: %s\n", err);
        sample_free(&smp);
        return 1;
    }
    ap.method = method;
    ap.ratio = ratio;
    ap.params = sets.items;
    ap.n_params = sets.n;
    ap.seed = (uint64_t)seed;
    ap.frame_rule = rule;
    ap.seek = seek;
    ap.max_new_tokens = (int)max_new;
    run_answer a;
    run_session_answer(sess, &smp, &ap, &a);
    int rc = 0;
    if (a.error[0]) {
        fprintf(stderr, "tango-bench infer: %s\n", a.error);
        rc = 1;
    } else {
        printf("prediction: %s\n", a.raw);
        if (!a.parse_failed) printf("answer: %c\n", a.letter);
        else printf("answer: (none: no option letter could be extracted)\n");
        if (gold) printf("correct: %s (gold %c)\n", a.correct ? "yes" : "no", gold[0]);
        printf("method: %s at r=%g on %s, %d frames: %lld of %lld visual tokens enter the LLM, equivalent retention "
               "%.4f, %.3f TFLOPs prefill\n",
               method, no_ratio ? 1.0 : ratio, run_session_family(sess), run_session_frames(sess),
               (long long)a.n_seq, (long long)a.n_visual_in, a.retention, a.flops / 1e12);
        printf("tokens: %lld prompt + %lld visual, generated %lld\n", (long long)a.n_text, (long long)a.n_seq,
               (long long)a.n_generated);
        printf("timings: decode %.3f s, vision %.3f s, prune %.3f s, prefill %.3f s, generate %.3f s (%.1f ms/token)\n",
               a.ms[DB_STAGE_DECODE] / 1e3, a.ms[DB_STAGE_VISION] / 1e3, a.ms[DB_STAGE_PRUNE] / 1e3,
               a.ms[DB_STAGE_PREFILL] / 1e3, a.ms[DB_STAGE_GENERATE] / 1e3,
               a.n_generated > 1 ? a.ms[DB_STAGE_GENERATE] / (double)(a.n_generated - 1) : 0.0);
    }
    run_answer_free(&a);
    run_session_free(sess);
    sample_free(&smp);
    return rc;
}
