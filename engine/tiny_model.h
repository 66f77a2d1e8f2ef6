/* tiny_model.h - engine-internal: writes a deterministic tiny LLaVA-OneVision-style checkpoint with
 * the real tensor names and the real shape relations, so tests run exactly the loading and
 * forward code a real checkpoint uses (tango-bench make-tiny-model).
 *
 * Files written into DIR (created if absent; files of the other shard mode removed):
 *   config.json                 lmms layout (model_type "llava", mm_* keys, explicit vision_config
 *                               block) or hf layout (model_type "llava_onevision", text_config,
 *                               vision_config)
 *   generation_config.json      lmms: eos [im_end, endoftext], repetition_penalty 1.05, do_sample,
 *                               temperature 0.7, top_k 20, top_p 0.8 (as Qwen2-7B-Instruct's);
 *                               hf: eos im_end, no repetition penalty
 *   model.safetensors           F32 (or BF16 / F16 with params.dtype); with shards = 2 instead
 *                               model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
 *   siglip/config.json          SiglipModel-style config with a vision_config block (3 layers)
 *   siglip/model.safetensors    vision_model.post_layernorm.* + vision_model.head.* (13 tensors)
 *   tokenizer.json              HF tokenizer.json: NFC normalizer, Qwen2 Split regex + ByteLevel
 *                               pre-tokenizer, BPE model (vocab = 256 byte symbols in GPT-2
 *                               bytes_to_unicode order + merge results; merges as "a b" strings),
 *                               added tokens <|endoftext|>, <|im_start|>, <|im_end|> (hf layout
 *                               also <image>, <video>), all special
 *   vocab.json, merges.txt (with a "#version" first line), added_tokens.json,
 *   tokenizer_config.json       eos "<|im_end|>", pad "<|endoftext|>", bos null
 *
 * The tiny configuration (both layouts; the real 7B values in brackets):
 *   vision:  image 100 px [384], patch 14 [14] -> grid 7x7 = 49 patches [27x27 = 729]; like the
 *            real tower the last 100-98 = 2 pixel rows/cols are never seen; the odd grid keeps
 *            bilinear (7 -> 4x4 = 16 tokens/frame) and 2x2 average (7 -> 3x3 = 9, last row/col
 *            dropped) different, as 27 -> 14 / 13 are; hidden 48 [1152], 4 heads, head_dim 12
 *            [72, not a power of two either], MLP 88 [4304], gelu_pytorch_tanh, LN eps 1e-6.
 *            lmms: vision_config.num_hidden_layers 3 with mm_vision_select_layer -2 -> 2 layers
 *            run and stored [27, -2 -> 26]; hf: num_hidden_layers 2, vision_feature_layer -1.
 *   projector: mlp2x_gelu, 48 -> 64 -> 64.
 *   pooling: lmms: mm_spatial_pool_mode "bilinear", mm_newline_position "one_token" (OV);
 *            hf: bilinear / one_token implied.
 *   LLM:     hidden 64 [3584], 4 layers [28], 4 heads [28], 2 KV heads [4] (head_dim 16), MLP 128
 *            [18944], rope_theta 1e6, rms eps 1e-6, untied lm_head, q/k/v bias.
 *   tokenizer: 256 byte tokens + ENG_TINY_N_MERGES merges (ids 0..255+N), then <|endoftext|>,
 *            <|im_start|>, <|im_end|> (+ <image>, <video> for hf); vocab (embedding rows) = that
 *            count rounded up to a multiple of 64 (lmms 320; hf 320).
 *   weights: a seeded SplitMix64 stream per logical tensor (id, layer), so the lmms and hf models
 *            of one seed hold the same numbers under different names; normals are Irwin-Hall
 *            (sum of 4 uniforms, rescaled: exact arithmetic, portable bytes). Linear and conv
 *            weights (lm_head and the head's in_proj included) normal / sqrt(fan_in), so
 *            activations neither vanish nor explode; biases normal * 0.02; norm weights
 *            1 + normal * 0.05; LN biases normal * 0.02; embeddings, position table,
 *            image_newline and the head probe normal * 0.5. The same seed gives byte-identical
 *            files.
 */
#ifndef TB_ENGINE_TINY_MODEL_H
#define TB_ENGINE_TINY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"

#define ENG_TINY_N_MERGES 40

typedef struct {
    eng_layout layout; /* ENG_LAYOUT_LMMS (default), ENG_LAYOUT_HF or ENG_LAYOUT_QWEN25VL (the
                          Qwen2.5-VL tiny model: ViT depth 4 (full attention in blocks 1, 3),
                          width 48, 4 heads (head_dim 12), MLP 88, patch 14, temporal patch 2,
                          merge 2, window 112; the LLM below with mrope_section [2, 3, 3];
                          tokenizer with <|vision_start|> .. <|video_pad|> = 299..303; no
                          siglip/; image_size and video ignored) */
    uint64_t seed;     /* default 1 */
    int shards;        /* 1 (single model.safetensors, default) or 2 (index + 2 shards) */
    int video;         /* lmms only: 1 -> LLaVA-Video flavour (mm_newline_position "grid",
                          pool mode still "bilinear" in the file as in the real config) */
    st_dtype dtype;    /* stored dtype: ST_F32 (default), ST_BF16 (as lmms-lab) or ST_F16 (as
                          llava-hf); the same seed gives the same numbers, rounded */
    int image_size;    /* vision input side (default 100 -> 7x7 patches); 384 gives the real 27x27
                          grid and 14x14 / 13x13 pooled grids, so pruning budgets are the real ones */
    int llm_layers;    /* decoder layers (default 4); 28 gives the real depth, so in-LLM stages
                          at their real layers (FastV K=2, HoliTom/Tango layer 18) can run */
} eng_tiny_params;

/* Default parameters (lmms, seed 1, 1 shard, OV flavour, F32). */
eng_tiny_params eng_tiny_default_params(void);

/* Fills *cfg with the tiny configuration of p: exactly what eng_config_load reads back from the
 * written directory (it parses the same config.json / generation_config.json text). Returns 0 or
 * -1 with err set (only for bad params). */
int eng_tiny_config(const eng_tiny_params *p, eng_config *cfg, char *err, size_t err_len);

/* Token ids of the tiny tokenizer (lmms and hf): 256 byte tokens, ENG_TINY_N_MERGES merges, then
 * the added tokens. Embedding rows: ENG_TINY_VOCAB. */
#define ENG_TINY_ID_ENDOFTEXT (256 + ENG_TINY_N_MERGES)    /* 296 */
#define ENG_TINY_ID_IM_START (256 + ENG_TINY_N_MERGES + 1) /* 297 */
#define ENG_TINY_ID_IM_END (256 + ENG_TINY_N_MERGES + 2)   /* 298 */
#define ENG_TINY_ID_IMAGE (256 + ENG_TINY_N_MERGES + 3)    /* 299, hf layout only */
#define ENG_TINY_ID_VIDEO (256 + ENG_TINY_N_MERGES + 4)    /* 300, hf layout only */
/* Qwen2.5-VL layout: after <|im_end|> come the vision tokens (ENG_TINY_ID_IMAGE / _VIDEO unused) */
#define ENG_TINY_ID_VISION_START (256 + ENG_TINY_N_MERGES + 3) /* 299 */
#define ENG_TINY_ID_VISION_END (256 + ENG_TINY_N_MERGES + 4)   /* 300 */
#define ENG_TINY_ID_VISION_PAD (256 + ENG_TINY_N_MERGES + 5)   /* 301 */
#define ENG_TINY_ID_IMAGE_PAD (256 + ENG_TINY_N_MERGES + 6)    /* 302 */
#define ENG_TINY_ID_VIDEO_PAD (256 + ENG_TINY_N_MERGES + 7)    /* 303 */
#define ENG_TINY_VOCAB 320

/* Writes the tiny checkpoint into dir (created if absent; existing files replaced). Returns 0, or
 * -1 with "PATH: ..." in err. */
int eng_tiny_model_write(const char *dir, const eng_tiny_params *p, char *err, size_t err_len);

/* ---- full-size presets ----------------------------------------------------------------------
 * `make-tiny-model DIR --preset llava-ov-7b|llava-video-7b`: the real lmms-lab layout at the real
 * size (spec llava-ov-engine.md §2.2: 765 tensors, 8.03 B parameters, 16.06 GB of BF16 in four
 * shards model-0000{1..4}-of-00004.safetensors + index), random weights, config.json as the
 * lmms-lab files write it (no vision_config block: SigLIP-so400m implied, 27 layers, select -2,
 * 26 stored; OV one_token newline, LLaVA-Video grid newline), Qwen2-7B-Instruct's
 * generation_config.json, and siglip/ with the full-size SigLIP head (post_layernorm + MAP head,
 * 13 tensors). The tokenizer files are copied from tokenizer_dir (the real Qwen2 vocabulary:
 * vocab.json + merges.txt + added_tokens.json, or tokenizer.json) when given, else the tiny
 * byte-level tokenizer is written (its ids fit the 152064 rows). Weights: element i of tensor
 * (id, layer) is a counter-based uniform draw of unit variance scaled as the tiny model's (so the
 * same seed gives the same bytes), generated and written 4 Mi elements at a time: the writer's
 * memory stays under 100 MB whatever the checkpoint size.
 *
 * `--preset qwen2.5-vl-7b`: Qwen/Qwen2.5-VL-7B-Instruct's Hugging Face layout at the real size (spec
 * qwen25vl.md §1.4: 729 tensors, 8.29 B parameters, 16.58 GB of BF16 in five shards
 * model-0000{1..5}-of-00005.safetensors + index; the raw names visual.* / model.* / lm_head),
 * config.json in the transformers 4.50 key set (vision_config: depth 32, 1280 wide, full-attention
 * blocks 7/15/23/31; M-RoPE sections 16/24/24), no siglip/. A copied Qwen2 tokenizer
 * (vocab.json + merges.txt + added_tokens.json) gets Qwen2.5's special added tokens
 * <|object_ref_start|> .. <|video_pad|> at their real ids 151646..151656 (the 8 non-special ones,
 * <tool_call> .. <|file_sep|>, are not added); without --tokenizer the tiny Qwen tokenizer is
 * written. */
typedef enum { ENG_PRESET_LLAVA_OV_7B = 1, ENG_PRESET_LLAVA_VIDEO_7B = 2, ENG_PRESET_QWEN25VL_7B = 3 } eng_preset;

/* "llava-ov-7b" / "llava-video-7b" / "qwen2.5-vl-7b"; 0, or -1 for another name. */
int eng_preset_parse(const char *name, eng_preset *out);

/* The configuration a preset's config.json parses to (the real Qwen2 tokenizer's special ids), as
 * eng_config_parse gives it. 0 or -1 with err set. */
int eng_preset_config(eng_preset preset, eng_config *cfg, char *err, size_t err_len);

/* Writes the full-size checkpoint of preset into dir (created; a model.safetensors there is
 * removed). tokenizer_dir may be NULL. Returns 0, or -1 with "PATH: ..." in err (a failed shard
 * leaves no partial file under its final name). */
int eng_fullsize_model_write(const char *dir, eng_preset preset, uint64_t seed, const char *tokenizer_dir, char *err,
                             size_t err_len);

#endif
