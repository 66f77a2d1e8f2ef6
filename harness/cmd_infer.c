/* cmd_infer.c - tango-bench infer: answer one multiple-choice question about one video, end to
 * end and without pruning: frame sampling (datasets/video.h) -> vision tower, projector, pooling
 * (engine.h) -> visual block with image_newline -> the benchmark's prompt (datasets.h) in the
 * qwen_1_5 template, tokenised around <image> (engine/tokenizer.h) -> Qwen2 prefill + greedy
 * generation (engine/llm.h) -> answer extraction. Prints the generated text, the extracted
 * letter (and correctness with --gold) and the per-stage wall times. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets/datasets.h"
#include "datasets/video.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "engine/tokenizer.h"
#include "harness/cli.h"
#include "harness/commands.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
               *backend = "cpu";
    int64_t n_frames = 0, max_new = 32;
    const cli_opt opts[] = {
        {"model", CLI_STR, &model, "DIR", "LLaVA checkpoint directory (with its tokenizer)", .required = 1},
        {"siglip", CLI_STR, &siglip, "PATH", "SigLIP checkpoint with the attention-pooling head (optional)"},
        {"video", CLI_STR, &video, "FILE", "video file (or a folder of JPEG frames at 3 fps)", .required = 1},
        {"question", CLI_STR, &question, "TEXT", "the question", .required = 1},
        {"options", CLI_STR, &options, "\"A. ..|B. ..\"", "the options, '|'-separated", .required = 1},
        {"benchmark", CLI_STR, &bench_name, "B", "prompt and answer rules: videomme|mvbench|longvideobench|mlvu"},
        {"family", CLI_STR, &family_name, "NAME", "llava-ov | llava-video (default: from mm_newline_position)"},
        {"convention", CLI_STR, &convention_name, "NAME", "vlmevalkit | lmms-eval"},
        {"frames", CLI_INT, &n_frames, "N", "frames sampled (default 32 OV, 64 LLaVA-Video)", 0, 4096},
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
    ds_prompt_params prp = ds_prompt_default_params();
    eng_backend_kind bk;
    if (ds_bench_parse(bench_name, &bench) != 0) return cli_usage_error(&spec, "unknown benchmark '%s'", bench_name);
    if (ds_convention_parse(convention_name, &prp.convention) != 0)
        return cli_usage_error(&spec, "unknown convention '%s'", convention_name);
    if (family_name && ds_family_parse(family_name, &prp.family) != 0)
        return cli_usage_error(&spec, "--family must be llava-ov or llava-video, not '%s'", family_name);
    if (eng_backend_parse(backend, &bk) != 0) return cli_usage_error(&spec, "unknown backend '%s'", backend);
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

    int rc = 1;
    char err[1024];
    double t_decode = 0, t_vision = 0, t_prompt = 0;
    eng_model *vm = NULL;
    eng_llm *lm = NULL;
    eng_llm_state *ls = NULL;
    tok_tokenizer *tk = NULL;
    ds_video_t *v = NULL;
    ds_frames fr;
    memset(&fr, 0, sizeof fr);
    eng_vision_out vo;
    memset(&vo, 0, sizeof vo);
    tok_ids ids = {0};
    float *block = NULL;
    int64_t *id64 = NULL, *gen = NULL;
    int32_t *gen32 = NULL;
    char *chat = NULL, *text = NULL;

    /* models and tokenizer */
    eng_model_params mp = eng_model_default_params();
    mp.backend = bk;
    mp.siglip_path = siglip;
    vm = eng_model_load(model, &mp, err, sizeof err);
    if (!vm) goto fail;
    tk = tok_load(model, err, sizeof err);
    if (!tk) goto fail;
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = bk;
    lm = eng_llm_load(model, &lp, err, sizeof err);
    if (!lm) goto fail;
    eng_llm_info li;
    eng_llm_get_info(lm, &li);
    /* quirk pipeline.vocab_shrink: argmax over the tokenizer's ids only */
    if (tok_vocab_size(tk) < li.vocab) {
        eng_llm_free(lm);
        lp.vocab_limit = tok_vocab_size(tk);
        lm = eng_llm_load(model, &lp, err, sizeof err);
        if (!lm) goto fail;
        eng_llm_get_info(lm, &li);
    }
    if (!family_name) prp.family = li.newline_mode == ENG_NEWLINE_GRID ? DS_FAMILY_LLAVA_VIDEO : DS_FAMILY_LLAVA_OV;
    if (n_frames == 0) n_frames = prp.family == DS_FAMILY_LLAVA_VIDEO ? 64 : 32;
    eng_vision_info vi;
    eng_model_vision_info(vm, &vi);

    /* frames */
    double t0 = now_s();
    if (ds_video_open(video, 3.0, &v, err, sizeof err) != 0) goto fail;
    ds_video_params vp = ds_video_default_params();
    vp.n_frames = (int)n_frames;
    vp.size = vi.image_size;
    if (ds_video_sample(v, &vp, &fr, err, sizeof err) != 0) goto fail;
    ds_video_info vinf;
    ds_video_get_info(v, &vinf);
    t_decode = now_s() - t0;

    /* vision tower -> pooled [T, L, D] -> visual block */
    t0 = now_s();
    eng_encode_params ep = eng_encode_default_params();
    ep.keep_hidden = 0;
    ep.keep_projected = 0;
    if (prp.family == DS_FAMILY_LLAVA_VIDEO) ep.pool = ENG_VPOOL_AVERAGE; /* quirk pipeline.video_pool_average */
    if (eng_vision_encode(vm, fr.pixels, fr.n, &ep, &vo, err, sizeof err) != ENG_OK) goto fail;
    int64_t n_vis = eng_llm_visual_count(li.newline_mode, vo.n_frames, vo.grid_pooled);
    block = n_vis > 0 ? malloc((size_t)n_vis * (size_t)li.hidden * sizeof *block) : NULL;
    if (n_vis <= 0 || !block) {
        snprintf(err, sizeof err, "cannot size the visual block (%lld rows)", (long long)n_vis);
        goto fail;
    }
    if (eng_llm_assemble_visual(vo.pooled, vo.n_frames, vo.grid_pooled, li.hidden, li.newline_mode,
                                eng_llm_image_newline(lm), block, err, sizeof err) < 0)
        goto fail;
    t_vision = now_s() - t0;

    /* prompt -> ids with the -200 placeholder */
    t0 = now_s();
    ds_video_time vt;
    vt.duration_s = vinf.duration_s;
    vt.frame_height = fr.height;
    vt.n_frames = fr.n;
    vt.frame_times = fr.timestamps;
    chat = ds_prompt_chat(&smp, &prp, &vt, err, sizeof err);
    if (!chat) goto fail;
    if (tok_encode_image_split(tk, chat, strlen(chat), &ids, err, sizeof err) != TOK_OK) goto fail;
    id64 = malloc((ids.n ? ids.n : 1) * sizeof *id64);
    if (!id64) goto nomem;
    for (size_t i = 0; i < ids.n; i++) id64[i] = ids.v[i];
    t_prompt = now_s() - t0;

    /* LLM */
    ls = eng_llm_state_init(lm, (int64_t)ids.n + n_vis + max_new + 1, err, sizeof err);
    if (!ls) goto fail;
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = id64;
    pp.n_ids = (int64_t)ids.n;
    pp.visual = block;
    pp.n_visual = n_vis;
    eng_llm_prefill_out po;
    if (eng_llm_prefill(ls, &pp, &po, err, sizeof err) != ENG_OK) goto fail;
    gen = malloc((size_t)max_new * sizeof *gen);
    gen32 = malloc((size_t)max_new * sizeof *gen32);
    if (!gen || !gen32) goto nomem;
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = max_new;
    int64_t n_gen = 0;
    if (eng_llm_generate(ls, &gp, gen, max_new, &n_gen, err, sizeof err) != ENG_OK) goto fail;
    for (int64_t i = 0; i < n_gen; i++) gen32[i] = (int32_t)gen[i];
    text = tok_decode(tk, gen32, (size_t)n_gen, 1, NULL, err, sizeof err);
    if (!text) goto fail;
    ds_answer ans;
    if (ds_answer_score(&smp, prp.convention, text, &ans, err, sizeof err) != DS_OK) goto fail;
    eng_llm_timings tm;
    eng_llm_get_timings(ls, &tm);

    printf("prediction: %s\n", text);
    if (ans.parse == DS_PARSE_OK) printf("answer: %c\n", ans.letter);
    else printf("answer: (none: %s)\n", ans.parse == DS_PARSE_REFUSED ? "refused" : "no letter found");
    if (gold) printf("correct: %s (gold %c)\n", ans.correct ? "yes" : "no", gold[0]);
    printf("tokens: %lld prompt + %lld visual = %lld, generated %lld\n", (long long)ids.n - 1, (long long)n_vis,
           (long long)po.n_tokens, (long long)n_gen);
    printf("timings: decode %.3f s (%d frames), vision %.3f s, prompt %.3f s, prefill %.3f s, generate %.3f s "
           "(%.1f ms/token)\n",
           t_decode, fr.n, t_vision, t_prompt, tm.prefill_s, tm.decode_s,
           tm.n_decode ? 1e3 * tm.decode_s / (double)tm.n_decode : 0.0);
    rc = 0;
    goto out;
nomem:
    snprintf(err, sizeof err, "out of memory");
fail:
    fprintf(stderr, "tango-bench infer: %s\n", err);
    rc = 1;
out:
    free(text);
    free(gen);
    free(gen32);
    free(id64);
    free(chat);
    free(block);
    tok_ids_free(&ids);
    eng_vision_out_free(&vo);
    ds_frames_free(&fr);
    ds_video_free(v);
    eng_llm_state_free(ls);
    eng_llm_free(lm);
    tok_free(tk);
    eng_model_free(vm);
    sample_free(&smp);
    return rc;
}
