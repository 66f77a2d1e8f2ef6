/* cmd_make_tiny_model.c - tango-bench make-tiny-model DIR: writes the deterministic tiny LLaVA
 * checkpoint of engine/tiny_model.h (config, generation config, safetensors with the real tensor
 * names, SigLIP head file, byte-level BPE tokenizer), lmms-lab or llava-hf layout. */
#include <stdio.h>
#include <string.h>

#include "engine/tiny_model.h"
#include "harness/cli.h"
#include "harness/commands.h"

int cmd_make_tiny_model(int argc, char **argv) {
    const char *layout = "lmms", *dtype = "f32", *family = NULL, *preset = NULL, *tokenizer = NULL;
    int64_t seed = 1, shards = 1, llm_layers = 4, image_size = 100;
    int video = 0;
    const cli_opt opts[] = {
        {"layout", CLI_STR, &layout, "lmms|hf", "checkpoint layout: lmms-lab original or llava-hf"},
        {"seed", CLI_INT, &seed, "S", "weight seed (same seed -> same bytes)", .min = 0, .max = 9.0e15},
        {"shards", CLI_INT, &shards, "N", "1: model.safetensors; 2: two shards + model.safetensors.index.json",
         .min = 1, .max = 2},
        {"dtype", CLI_STR, &dtype, "f32|bf16|f16", "stored dtype (real lmms-lab files are bf16, llava-hf f16)"},
        {"image-size", CLI_INT, &image_size, "PX", "vision input side (384 = the real 27x27 patch grid)", .min = 28,
         .max = 1024},
        {"llm-layers", CLI_INT, &llm_layers, "N", "LLM decoder layers (28 = the real depth)", .min = 1, .max = 64},
        {"video", CLI_FLAG, &video, NULL, "LLaVA-Video flavour (lmms only): mm_newline_position \"grid\""},
        {"family", CLI_STR, &family, "NAME",
         "model family: llava-ov (default; --layout picks lmms or hf), llava-video (= --video), qwen2.5-vl "
         "(the Qwen2.5-VL layout)"},
        {"preset", CLI_STR, &preset, "llava-ov-7b|llava-video-7b|qwen2.5-vl-7b",
         "full-size checkpoint instead (real names, shapes, bf16, 4 shards, 16 GB; qwen2.5-vl-7b: 5 shards, 16.6 GB; random weights; streamed)"},
        {"tokenizer", CLI_STR, &tokenizer, "DIR", "with --preset: copy the tokenizer files of DIR (the real Qwen2 vocabulary)"},
        {0}};
    const cli_spec spec = {
        "make-tiny-model", "DIR", 1, 1, "write a deterministic tiny LLaVA-OneVision checkpoint for tests", opts};
    char *pos[1];
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);

    char err[1024];
    if (preset) {
        eng_preset pr;
        if (eng_preset_parse(preset, &pr))
            return cli_usage_error(&spec, "--preset must be llava-ov-7b, llava-video-7b or qwen2.5-vl-7b, got '%s'", preset);
        if (eng_fullsize_model_write(pos[0], pr, (uint64_t)seed, tokenizer, err, sizeof err) != 0) {
            fprintf(stderr, "tango-bench make-tiny-model: %s\n", err);
            return 1;
        }
        printf("wrote full-size %s checkpoint (bf16, seed %lld, %s tokenizer) to %s\n", preset, (long long)seed,
               tokenizer ? "copied" : "tiny", pos[0]);
        return 0;
    }
    if (tokenizer) return cli_usage_error(&spec, "--tokenizer needs --preset");
    eng_tiny_params p = eng_tiny_default_params();
    if (family && !strcmp(family, "qwen2.5-vl")) {
        layout = "qwen2.5-vl";
        p.layout = ENG_LAYOUT_QWEN25VL;
    } else if (family && !strcmp(family, "llava-video")) {
        video = 1;
    } else if (family && strcmp(family, "llava-ov") != 0) {
        return cli_usage_error(&spec, "--family must be llava-ov, llava-video or qwen2.5-vl, got '%s'", family);
    }
    if (p.layout == ENG_LAYOUT_QWEN25VL) {
        if (video) return cli_usage_error(&spec, "--video is a LLaVA flavour, not for --family qwen2.5-vl");
    } else if (strcmp(layout, "lmms") == 0)
        p.layout = ENG_LAYOUT_LMMS;
    else if (strcmp(layout, "hf") == 0)
        p.layout = ENG_LAYOUT_HF;
    else
        return cli_usage_error(&spec, "--layout must be lmms or hf, got '%s'", layout);
    if (video && p.layout != ENG_LAYOUT_LMMS) return cli_usage_error(&spec, "--video needs --layout lmms");
    if (strcmp(dtype, "f32") == 0)
        p.dtype = ST_F32;
    else if (strcmp(dtype, "bf16") == 0)
        p.dtype = ST_BF16;
    else if (strcmp(dtype, "f16") == 0)
        p.dtype = ST_F16;
    else
        return cli_usage_error(&spec, "--dtype must be f32, bf16 or f16, got '%s'", dtype);
    p.seed = (uint64_t)seed;
    p.shards = (int)shards;
    p.video = video;
    p.llm_layers = (int)llm_layers;
    p.image_size = (int)image_size;

    if (eng_tiny_model_write(pos[0], &p, err, sizeof err) != 0) {
        fprintf(stderr, "tango-bench make-tiny-model: %s\n", err);
        return 1;
    }
    printf("wrote tiny %s%s checkpoint (%s, seed %lld, %d shard%s) to %s\n", layout, video ? " video" : "", dtype,
           (long long)seed, p.shards, p.shards == 1 ? "" : "s", pos[0]);
    return 0;
}
