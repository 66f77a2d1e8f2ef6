/* test_config.c - config.json parsing for both checkpoint layouts (hand-written fixtures mirroring
 * the real 7B files of lmms-lab/llava-onevision-qwen2-7b-ov, lmms-lab/LLaVA-Video-7B-Qwen2 and
 * llava-hf/llava-onevision-qwen2-7b-ov-hf, spec llava-ov-engine.md §1-§2), the tensor-name scheme
 * against the names and shapes written in the spec, generation_config.json, the SigLIP head config,
 * and bad configs (clear error naming the file and the field). */
#include "tests/tb_test.h"

#include <math.h>

#include "engine/config.h"

static char dir[1024];

/* lmms-lab/llava-onevision-qwen2-7b-ov config.json (keys as in the hub file; the long
 * image_grid_pinpoints list shortened). */
static const char *k_lmms_ov =
    "{\n"
    "  \"_name_or_path\": \"/mnt/bn/vl-research/checkpoints/onevision/llavanext-google_siglip-so400m-patch14-384-"
    "Qwen_Qwen2-7B-Instruct-ov_to_video_am9\",\n"
    "  \"architectures\": [\"LlavaQwenForCausalLM\"],\n"
    "  \"attention_dropout\": 0.0,\n"
    "  \"bos_token_id\": 151643,\n"
    "  \"eos_token_id\": 151645,\n"
    "  \"hidden_act\": \"silu\",\n"
    "  \"hidden_size\": 3584,\n"
    "  \"image_aspect_ratio\": \"anyres_max_9\",\n"
    "  \"image_crop_resolution\": null,\n"
    "  \"image_grid_pinpoints\": [[384, 384], [384, 768], [768, 384]],\n"
    "  \"image_split_resolution\": null,\n"
    "  \"initializer_range\": 0.02,\n"
    "  \"intermediate_size\": 18944,\n"
    "  \"max_position_embeddings\": 32768,\n"
    "  \"max_window_layers\": 28,\n"
    "  \"mm_hidden_size\": 1152,\n"
    "  \"mm_newline_position\": \"one_token\",\n"
    "  \"mm_patch_merge_type\": \"spatial_unpad\",\n"
    "  \"mm_projector_lr\": null,\n"
    "  \"mm_projector_type\": \"mlp2x_gelu\",\n"
    "  \"mm_resampler_type\": null,\n"
    "  \"mm_spatial_pool_mode\": \"bilinear\",\n"
    "  \"mm_tunable_parts\": \"mm_vision_tower,mm_mlp_adapter,mm_language_model\",\n"
    "  \"mm_use_im_patch_token\": false,\n"
    "  \"mm_use_im_start_end\": false,\n"
    "  \"mm_vision_select_feature\": \"patch\",\n"
    "  \"mm_vision_select_layer\": -2,\n"
    "  \"mm_vision_tower\": \"google/siglip-so400m-patch14-384\",\n"
    "  \"mm_vision_tower_lr\": 2e-06,\n"
    "  \"model_type\": \"llava\",\n"
    "  \"num_attention_heads\": 28,\n"
    "  \"num_hidden_layers\": 28,\n"
    "  \"num_key_value_heads\": 4,\n"
    "  \"pos_skipping_range\": 4096,\n"
    "  \"rms_norm_eps\": 1e-06,\n"
    "  \"rope_scaling\": null,\n"
    "  \"rope_theta\": 1000000.0,\n"
    "  \"sliding_window\": 131072,\n"
    "  \"tie_word_embeddings\": false,\n"
    "  \"tokenizer_model_max_length\": 32768,\n"
    "  \"tokenizer_padding_side\": \"right\",\n"
    "  \"torch_dtype\": \"bfloat16\",\n"
    "  \"transformers_version\": \"4.40.0.dev0\",\n"
    "  \"use_cache\": true,\n"
    "  \"use_mm_proj\": true,\n"
    "  \"use_pos_skipping\": false,\n"
    "  \"use_sliding_window\": false,\n"
    "  \"vision_tower_pretrained\": null,\n"
    "  \"vocab_size\": 152064\n"
    "}\n";

/* lmms-lab/LLaVA-Video-7B-Qwen2: the OV keys plus the video ones (grid newlines, bilinear in the
 * file although VLMEvalKit forces average). */
static const char *k_lmms_video =
    "{\"architectures\": [\"LlavaQwenForCausalLM\"], \"model_type\": \"llava\", \"add_faster_video\": false,"
    " \"add_time_instruction\": true, \"force_sample\": true, \"frames_upbound\": 64, \"bos_token_id\": 151643,"
    " \"eos_token_id\": 151645, \"hidden_act\": \"silu\", \"hidden_size\": 3584, \"intermediate_size\": 18944,"
    " \"max_position_embeddings\": 32768, \"mm_hidden_size\": 1152, \"mm_newline_position\": \"grid\","
    " \"mm_patch_merge_type\": \"spatial_unpad\", \"mm_projector_type\": \"mlp2x_gelu\","
    " \"mm_spatial_pool_mode\": \"bilinear\", \"mm_spatial_pool_stride\": 2, \"mm_use_im_patch_token\": false,"
    " \"mm_use_im_start_end\": false, \"mm_vision_select_feature\": \"patch\", \"mm_vision_select_layer\": -2,"
    " \"mm_vision_tower\": \"google/siglip-so400m-patch14-384\", \"num_attention_heads\": 28,"
    " \"num_hidden_layers\": 28, \"num_key_value_heads\": 4, \"rms_norm_eps\": 1e-06, \"rope_scaling\": null,"
    " \"rope_theta\": 1000000.0, \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\","
    " \"use_sliding_window\": false, \"vocab_size\": 152064}";

/* llava-hf/llava-onevision-qwen2-7b-ov-hf config.json (grid pinpoints shortened). */
static const char *k_hf = "{\n"
                          "  \"architectures\": [\"LlavaOnevisionForConditionalGeneration\"],\n"
                          "  \"image_grid_pinpoints\": [[384, 384], [384, 768]],\n"
                          "  \"image_token_index\": 151646,\n"
                          "  \"model_type\": \"llava_onevision\",\n"
                          "  \"projector_hidden_act\": \"gelu\",\n"
                          "  \"text_config\": {\n"
                          "    \"_name_or_path\": \"Qwen/Qwen2-7B-Instruct\",\n"
                          "    \"architectures\": [\"Qwen2ForCausalLM\"],\n"
                          "    \"bos_token_id\": 151643,\n"
                          "    \"eos_token_id\": 151645,\n"
                          "    \"hidden_size\": 3584,\n"
                          "    \"intermediate_size\": 18944,\n"
                          "    \"max_position_embeddings\": 32768,\n"
                          "    \"max_window_layers\": 28,\n"
                          "    \"model_type\": \"qwen2\",\n"
                          "    \"num_attention_heads\": 28,\n"
                          "    \"num_hidden_layers\": 28,\n"
                          "    \"num_key_value_heads\": 4,\n"
                          "    \"rope_theta\": 1000000.0,\n"
                          "    \"sliding_window\": 131072,\n"
                          "    \"tie_word_embeddings\": false,\n"
                          "    \"torch_dtype\": \"bfloat16\",\n"
                          "    \"use_sliding_window\": false,\n"
                          "    \"vocab_size\": 152128\n"
                          "  },\n"
                          "  \"tie_word_embeddings\": false,\n"
                          "  \"torch_dtype\": \"float16\",\n"
                          "  \"transformers_version\": \"4.45.0.dev0\",\n"
                          "  \"use_image_newline_parameter\": true,\n"
                          "  \"video_token_index\": 151647,\n"
                          "  \"vision_aspect_ratio\": \"anyres_max_9\",\n"
                          "  \"vision_config\": {\n"
                          "    \"hidden_size\": 1152,\n"
                          "    \"image_size\": 384,\n"
                          "    \"intermediate_size\": 4304,\n"
                          "    \"model_type\": \"siglip_vision_model\",\n"
                          "    \"num_attention_heads\": 16,\n"
                          "    \"num_hidden_layers\": 26,\n"
                          "    \"patch_size\": 14,\n"
                          "    \"vision_use_head\": false\n"
                          "  },\n"
                          "  \"vision_feature_layer\": -1,\n"
                          "  \"vision_feature_select_strategy\": \"full\"\n"
                          "}\n";

/* google/siglip-so400m-patch14-384 config.json (text_config shortened). */
static const char *k_siglip =
    "{\"architectures\": [\"SiglipModel\"], \"initializer_factor\": 1.0, \"model_type\": \"siglip\","
    " \"text_config\": {\"hidden_size\": 1152, \"intermediate_size\": 4304, \"model_type\": \"siglip_text_model\","
    " \"num_attention_heads\": 16, \"num_hidden_layers\": 27}, \"torch_dtype\": \"float32\","
    " \"transformers_version\": \"4.37.0.dev0\", \"vision_config\": {\"hidden_size\": 1152, \"image_size\": 384,"
    " \"intermediate_size\": 4304, \"model_type\": \"siglip_vision_model\", \"num_attention_heads\": 16,"
    " \"num_hidden_layers\": 27, \"patch_size\": 14}}";

static void write_file(const char *d, const char *name, const char *text) {
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", d, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

static void parse_ok(const char *json, eng_config *cfg) {
    char err[512] = "";
    if (eng_config_parse(json, strlen(json), "fixture/config.json", cfg, err, sizeof err) != 0) fail_msg("%s", err);
}

static void expect_name(const eng_config *cfg, eng_tensor_id id, int layer, const char *want, int ndim, int64_t d0,
                        int64_t d1) {
    char name[256], err[256];
    assert_int_equal(eng_tensor_name(cfg, id, layer, name, sizeof name, err, sizeof err), 0);
    if (strcmp(name, want) != 0) fail_msg("id %d layer %d: got %s, expected %s", (int)id, layer, name, want);
    int64_t shape[ST_MAX_DIMS];
    int nd = eng_tensor_shape(cfg, id, shape);
    if (nd != ndim || shape[0] != d0 || (ndim > 1 && shape[1] != d1))
        fail_msg("%s: shape ndim %d [%lld, %lld], expected ndim %d [%lld, %lld]", want, nd, (long long)shape[0],
                 (long long)shape[1], ndim, (long long)d0, (long long)d1);
}

/* Shapes shared by both layouts (spec §2.2). */
static void check_7b_shapes(const eng_config *c) {
    int64_t s[ST_MAX_DIMS];
    assert_int_equal(eng_tensor_shape(c, ENG_T_V_PATCH_W, s), 4);
    assert_true(s[0] == 1152 && s[1] == 3 && s[2] == 14 && s[3] == 14);
    assert_int_equal(eng_tensor_shape(c, ENG_T_V_POS, s), 2);
    assert_true(s[0] == 729 && s[1] == 1152);
    assert_int_equal(eng_tensor_shape(c, ENG_T_SIG_PROBE, s), 3);
    assert_true(s[0] == 1 && s[1] == 1 && s[2] == 1152);
    assert_int_equal(eng_tensor_shape(c, ENG_T_SIG_IN_W, s), 2);
    assert_true(s[0] == 3456 && s[1] == 1152);
    assert_int_equal(eng_tensor_shape(c, ENG_T_SIG_IN_B, s), 1);
    assert_true(s[0] == 3456);
    assert_int_equal(eng_tensor_shape(c, ENG_T_V_FC1_W, s), 2);
    assert_true(s[0] == 4304 && s[1] == 1152);
    assert_int_equal(eng_tensor_shape(c, ENG_T_COUNT, s), -1);
}

static void check_7b_common(const eng_config *c) {
    const eng_vision_config *v = &c->vision;
    assert_int_equal(v->image_size, 384);
    assert_int_equal(v->patch_size, 14);
    assert_int_equal(v->grid, 27);
    assert_int_equal(v->n_patches, 729);
    assert_int_equal(v->hidden, 1152);
    assert_int_equal(v->n_heads, 16);
    assert_int_equal(v->head_dim, 72);
    assert_int_equal(v->intermediate, 4304);
    assert_int_equal(v->n_layers, 26);
    assert_true(v->layer_norm_eps == 1e-6f);
    assert_int_equal(v->gelu_tanh, 1);
    const eng_llm_config *l = &c->llm;
    assert_int_equal(l->hidden, 3584);
    assert_int_equal(l->n_layers, 28);
    assert_int_equal(l->n_heads, 28);
    assert_int_equal(l->n_kv_heads, 4);
    assert_int_equal(l->head_dim, 128);
    assert_int_equal(l->intermediate, 18944);
    assert_true(l->rope_theta == 1e6);
    assert_true(l->rms_norm_eps == 1e-6f);
    assert_int_equal(l->tie_embeddings, 0);
    assert_int_equal(l->bos_id, 151643);
    assert_int_equal(l->eos_id, 151645);
    assert_int_equal(l->max_position, 32768);
    assert_int_equal(c->projector, ENG_PROJ_MLP2X_GELU);
    assert_int_equal(c->pool_stride, 2);
    assert_int_equal(c->has_image_newline, 1);
    assert_int_equal(eng_config_pooled_grid(c, ENG_POOL_BILINEAR), 14);
    assert_int_equal(eng_config_pooled_grid(c, ENG_POOL_AVERAGE), 13);
    assert_int_equal(eng_checkpoint_tensor_count(c), 765);
    check_7b_shapes(c);
}

static void test_lmms_ov(void **state) {
    (void)state;
    eng_config c;
    parse_ok(k_lmms_ov, &c);
    assert_int_equal(c.layout, ENG_LAYOUT_LMMS);
    assert_string_equal(c.model_type, "llava");
    assert_string_equal(c.torch_dtype, "bfloat16");
    assert_string_equal(c.vision_tower, "google/siglip-so400m-patch14-384");
    assert_int_equal(c.vision.n_layers_cfg, 27);
    assert_int_equal(c.vision.select_layer, -2);
    assert_int_equal(c.llm.vocab, 152064);
    assert_int_equal(c.pool_mode, ENG_POOL_BILINEAR);
    assert_int_equal(c.newline, ENG_NEWLINE_ONE_TOKEN);
    assert_int_equal(c.image_token_id, -200);
    assert_int_equal(c.gen.present, 0);
    assert_true(c.gen.repetition_penalty == 1.0);
    check_7b_common(&c);

    const char *vp = "model.vision_tower.vision_tower.vision_model.";
    char want[256];
    snprintf(want, sizeof want, "%sembeddings.patch_embedding.weight", vp);
    expect_name(&c, ENG_T_V_PATCH_W, 0, want, 4, 1152, 3);
    snprintf(want, sizeof want, "%sembeddings.position_embedding.weight", vp);
    expect_name(&c, ENG_T_V_POS, 0, want, 2, 729, 1152);
    snprintf(want, sizeof want, "%sencoder.layers.0.layer_norm1.weight", vp);
    expect_name(&c, ENG_T_V_LN1_W, 0, want, 1, 1152, 0);
    snprintf(want, sizeof want, "%sencoder.layers.25.self_attn.out_proj.bias", vp);
    expect_name(&c, ENG_T_V_O_B, 25, want, 1, 1152, 0);
    snprintf(want, sizeof want, "%sencoder.layers.7.self_attn.k_proj.weight", vp);
    expect_name(&c, ENG_T_V_K_W, 7, want, 2, 1152, 1152);
    snprintf(want, sizeof want, "%sencoder.layers.3.mlp.fc2.weight", vp);
    expect_name(&c, ENG_T_V_FC2_W, 3, want, 2, 1152, 4304);
    snprintf(want, sizeof want, "%spost_layernorm.bias", vp);
    expect_name(&c, ENG_T_V_POST_LN_B, 0, want, 1, 1152, 0);
    expect_name(&c, ENG_T_PROJ1_W, 0, "model.mm_projector.0.weight", 2, 3584, 1152);
    expect_name(&c, ENG_T_PROJ1_B, 0, "model.mm_projector.0.bias", 1, 3584, 0);
    expect_name(&c, ENG_T_PROJ2_W, 0, "model.mm_projector.2.weight", 2, 3584, 3584);
    expect_name(&c, ENG_T_PROJ2_B, 0, "model.mm_projector.2.bias", 1, 3584, 0);
    expect_name(&c, ENG_T_NEWLINE, 0, "model.image_newline", 1, 3584, 0);
    expect_name(&c, ENG_T_EMBED, 0, "model.embed_tokens.weight", 2, 152064, 3584);
    expect_name(&c, ENG_T_L_IN_NORM, 0, "model.layers.0.input_layernorm.weight", 1, 3584, 0);
    expect_name(&c, ENG_T_L_Q_W, 5, "model.layers.5.self_attn.q_proj.weight", 2, 3584, 3584);
    expect_name(&c, ENG_T_L_Q_B, 5, "model.layers.5.self_attn.q_proj.bias", 1, 3584, 0);
    expect_name(&c, ENG_T_L_K_W, 27, "model.layers.27.self_attn.k_proj.weight", 2, 512, 3584);
    expect_name(&c, ENG_T_L_K_B, 27, "model.layers.27.self_attn.k_proj.bias", 1, 512, 0);
    expect_name(&c, ENG_T_L_V_W, 1, "model.layers.1.self_attn.v_proj.weight", 2, 512, 3584);
    expect_name(&c, ENG_T_L_V_B, 1, "model.layers.1.self_attn.v_proj.bias", 1, 512, 0);
    expect_name(&c, ENG_T_L_O_W, 2, "model.layers.2.self_attn.o_proj.weight", 2, 3584, 3584);
    expect_name(&c, ENG_T_L_POST_NORM, 2, "model.layers.2.post_attention_layernorm.weight", 1, 3584, 0);
    expect_name(&c, ENG_T_L_GATE_W, 9, "model.layers.9.mlp.gate_proj.weight", 2, 18944, 3584);
    expect_name(&c, ENG_T_L_UP_W, 9, "model.layers.9.mlp.up_proj.weight", 2, 18944, 3584);
    expect_name(&c, ENG_T_L_DOWN_W, 27, "model.layers.27.mlp.down_proj.weight", 2, 3584, 18944);
    expect_name(&c, ENG_T_NORM, 0, "model.norm.weight", 1, 3584, 0);
    expect_name(&c, ENG_T_LM_HEAD, 0, "lm_head.weight", 2, 152064, 3584);
    /* the SigLIP head file has fixed names */
    expect_name(&c, ENG_T_SIG_PROBE, 0, "vision_model.head.probe", 3, 1, 1);
    expect_name(&c, ENG_T_SIG_IN_W, 0, "vision_model.head.attention.in_proj_weight", 2, 3456, 1152);
    expect_name(&c, ENG_T_SIG_OUT_W, 0, "vision_model.head.attention.out_proj.weight", 2, 1152, 1152);
    expect_name(&c, ENG_T_SIG_LN_B, 0, "vision_model.head.layernorm.bias", 1, 1152, 0);
    expect_name(&c, ENG_T_SIG_FC1_W, 0, "vision_model.head.mlp.fc1.weight", 2, 4304, 1152);
    expect_name(&c, ENG_T_SIG_FC2_B, 0, "vision_model.head.mlp.fc2.bias", 1, 1152, 0);
    expect_name(&c, ENG_T_SIG_POST_LN_W, 0, "vision_model.post_layernorm.weight", 1, 1152, 0);
    assert_true(eng_tensor_is_siglip(ENG_T_SIG_FC2_B));
    assert_false(eng_tensor_is_siglip(ENG_T_V_POST_LN_W));
    assert_int_equal(eng_tensor_is_layered(ENG_T_V_Q_W), 1);
    assert_int_equal(eng_tensor_is_layered(ENG_T_L_Q_W), 2);
    assert_int_equal(eng_tensor_is_layered(ENG_T_EMBED), 0);

    /* layer ranges: vision 0..25 (the 27th SigLIP layer is not run), LLM 0..27 */
    char name[256], err[256];
    assert_int_equal(eng_tensor_name(&c, ENG_T_V_Q_W, 26, name, sizeof name, err, sizeof err), -1);
    assert_non_null(strstr(err, "layer 26"));
    assert_int_equal(eng_tensor_name(&c, ENG_T_L_Q_W, 28, name, sizeof name, err, sizeof err), -1);
    assert_int_equal(eng_tensor_name(&c, ENG_T_L_Q_W, -1, name, sizeof name, err, sizeof err), -1);
    assert_int_equal(eng_tensor_name(&c, ENG_T_COUNT, 0, name, sizeof name, err, sizeof err), -1);
    assert_int_equal(eng_tensor_name(&c, ENG_T_L_Q_W, 0, name, 8, err, sizeof err), -1);

    /* tied embeddings: lm_head is the embedding, one tensor fewer */
    c.llm.tie_embeddings = 1;
    expect_name(&c, ENG_T_LM_HEAD, 0, "model.embed_tokens.weight", 2, 152064, 3584);
    assert_int_equal(eng_checkpoint_tensor_count(&c), 764);
}

static void test_lmms_video(void **state) {
    (void)state;
    eng_config c;
    parse_ok(k_lmms_video, &c);
    assert_int_equal(c.layout, ENG_LAYOUT_LMMS);
    assert_int_equal(c.newline, ENG_NEWLINE_GRID);
    assert_int_equal(c.pool_mode, ENG_POOL_BILINEAR); /* as in the file; the harness applies the override */
    check_7b_common(&c);
    assert_string_equal(eng_newline_str(c.newline), "grid");
    assert_string_equal(eng_pool_mode_str(ENG_POOL_AVERAGE), "average");
    assert_string_equal(eng_layout_str(c.layout), "lmms");
}

static void test_hf(void **state) {
    (void)state;
    eng_config c;
    parse_ok(k_hf, &c);
    assert_int_equal(c.layout, ENG_LAYOUT_HF);
    assert_string_equal(c.torch_dtype, "float16");
    assert_int_equal(c.vision.n_layers_cfg, 26);
    assert_int_equal(c.vision.select_layer, -1);
    assert_int_equal(c.llm.vocab, 152128);
    assert_int_equal(c.pool_mode, ENG_POOL_BILINEAR);
    assert_int_equal(c.newline, ENG_NEWLINE_ONE_TOKEN);
    assert_int_equal(c.image_token_id, 151646);
    assert_int_equal(c.video_token_id, 151647);
    check_7b_common(&c);
    expect_name(&c, ENG_T_EMBED, 0, "language_model.model.embed_tokens.weight", 2, 152128, 3584);
    expect_name(&c, ENG_T_L_Q_W, 0, "language_model.model.layers.0.self_attn.q_proj.weight", 2, 3584, 3584);
    expect_name(&c, ENG_T_L_DOWN_W, 27, "language_model.model.layers.27.mlp.down_proj.weight", 2, 3584, 18944);
    expect_name(&c, ENG_T_NORM, 0, "language_model.model.norm.weight", 1, 3584, 0);
    expect_name(&c, ENG_T_LM_HEAD, 0, "language_model.lm_head.weight", 2, 152128, 3584);
    expect_name(&c, ENG_T_V_FC2_W, 25, "vision_tower.vision_model.encoder.layers.25.mlp.fc2.weight", 2, 1152, 4304);
    expect_name(&c, ENG_T_V_PATCH_B, 0, "vision_tower.vision_model.embeddings.patch_embedding.bias", 1, 1152, 0);
    expect_name(&c, ENG_T_V_POST_LN_W, 0, "vision_tower.vision_model.post_layernorm.weight", 1, 1152, 0);
    expect_name(&c, ENG_T_PROJ1_W, 0, "multi_modal_projector.linear_1.weight", 2, 3584, 1152);
    expect_name(&c, ENG_T_PROJ2_B, 0, "multi_modal_projector.linear_2.bias", 1, 3584, 0);
    expect_name(&c, ENG_T_NEWLINE, 0, "image_newline", 1, 3584, 0);
    expect_name(&c, ENG_T_SIG_PROBE, 0, "vision_model.head.probe", 3, 1, 1);
    /* transformers >= 4.52 prefixes */
    c.hf_new_names = 1;
    expect_name(&c, ENG_T_EMBED, 0, "model.language_model.embed_tokens.weight", 2, 152128, 3584);
    expect_name(&c, ENG_T_L_K_B, 3, "model.language_model.layers.3.self_attn.k_proj.bias", 1, 512, 0);
    expect_name(&c, ENG_T_LM_HEAD, 0, "lm_head.weight", 2, 152128, 3584);
    expect_name(&c, ENG_T_V_Q_W, 0, "model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", 2, 1152,
                1152);
    expect_name(&c, ENG_T_PROJ1_B, 0, "model.multi_modal_projector.linear_1.bias", 1, 3584, 0);
    expect_name(&c, ENG_T_NEWLINE, 0, "model.image_newline", 1, 3584, 0);

    /* an hf file without a vision_config block: LlavaOnevisionConfig's so400m, 26 layers */
    const char *bare = "{\"model_type\": \"llava_onevision\", \"text_config\": {\"hidden_size\": 64,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 128,"
                       " \"vocab_size\": 100}}";
    parse_ok(bare, &c);
    assert_int_equal(c.vision.hidden, 1152);
    assert_int_equal(c.vision.n_layers, 26);
    assert_int_equal(c.llm.n_kv_heads, 4);    /* defaults to num_attention_heads */
    assert_true(c.llm.rope_theta == 10000.0); /* Qwen2Config default when absent */
}

static void test_generation_config(void **state) {
    (void)state;
    eng_generation_config g;
    char err[512];
    const char *ov = "{\"bos_token_id\": 151643, \"do_sample\": true, \"eos_token_id\": [151645, 151643],"
                     " \"pad_token_id\": 151643, \"repetition_penalty\": 1.05, \"temperature\": 0.7,"
                     " \"top_k\": 20, \"top_p\": 0.8, \"transformers_version\": \"4.40.0\"}";
    assert_int_equal(eng_generation_config_parse(ov, strlen(ov), "g.json", &g, err, sizeof err), 0);
    assert_int_equal(g.present, 1);
    assert_int_equal(g.n_eos, 2);
    assert_int_equal(g.eos_ids[0], 151645);
    assert_int_equal(g.eos_ids[1], 151643);
    assert_int_equal(g.bos_id, 151643);
    assert_int_equal(g.pad_id, 151643);
    assert_true(fabs(g.repetition_penalty - 1.05) < 1e-12);
    assert_int_equal(g.do_sample, 1);
    assert_int_equal(g.top_k, 20);
    assert_true(fabs(g.top_p - 0.8) < 1e-12);
    const char *hf = "{\"bos_token_id\": 151643, \"eos_token_id\": 151645}";
    assert_int_equal(eng_generation_config_parse(hf, strlen(hf), "g.json", &g, err, sizeof err), 0);
    assert_int_equal(g.n_eos, 1);
    assert_int_equal(g.eos_ids[0], 151645);
    assert_true(g.repetition_penalty == 1.0);
    assert_int_equal(g.max_new_tokens, -1);
    const char *bad[] = {"[1]",
                         "{\"repetition_penalty\": \"high\"}",
                         "{\"eos_token_id\": [1, \"x\"]}",
                         "{\"eos_token_id\": [1,2,3,4,5,6,7,8,9]}",
                         "{\"top_p\": 2}",
                         "{\"do_sample\": 1}"};
    const char *field[] = {"not a JSON object", "repetition_penalty", "eos_token_id", "eos_token_id", "top_p",
                           "do_sample"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(eng_generation_config_parse(bad[i], strlen(bad[i]), "gen.json", &g, err, sizeof err), -1);
        if (!strstr(err, "gen.json") || !strstr(err, field[i])) fail_msg("case %zu: %s", i, err);
    }
}

static void test_load_dir(void **state) {
    (void)state;
    char d[1200], err[1024];
    eng_config c;
    snprintf(d, sizeof d, "%s/ov", dir);
    mkdir(d, 0755);
    write_file(d, "config.json", k_lmms_ov);
    assert_int_equal(eng_config_load(d, &c, err, sizeof err), 0);
    assert_int_equal(c.gen.present, 0);
    write_file(d, "generation_config.json", "{\"eos_token_id\": [151645, 151643], \"repetition_penalty\": 1.05}");
    assert_int_equal(eng_config_load(d, &c, err, sizeof err), 0);
    assert_int_equal(c.gen.present, 1);
    assert_int_equal(c.gen.n_eos, 2);
    assert_true(fabs(c.gen.repetition_penalty - 1.05) < 1e-12);
    assert_int_equal(c.llm.hidden, 3584);
    write_file(d, "generation_config.json", "{\"repetition_penalty\": ");
    assert_int_equal(eng_config_load(d, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "generation_config.json"));
    /* no config.json */
    snprintf(d, sizeof d, "%s/none", dir);
    mkdir(d, 0755);
    assert_int_equal(eng_config_load(d, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "config.json"));

    /* SigLIP head config (full SiglipModel config) */
    snprintf(d, sizeof d, "%s/siglip", dir);
    mkdir(d, 0755);
    write_file(d, "config.json", k_siglip);
    eng_vision_config sv;
    assert_int_equal(eng_siglip_config_load(d, &sv, err, sizeof err), 0);
    assert_int_equal(sv.hidden, 1152);
    assert_int_equal(sv.n_heads, 16);
    assert_int_equal(sv.intermediate, 4304);
    assert_int_equal(sv.n_layers_cfg, 27);
    assert_int_equal(sv.grid, 27);
    parse_ok(k_lmms_ov, &c);
    assert_int_equal(eng_siglip_config_check(&c.vision, &sv, err, sizeof err), 0);
    sv.hidden = 768;
    assert_int_equal(eng_siglip_config_check(&c.vision, &sv, err, sizeof err), -1);
    assert_non_null(strstr(err, "1152/768"));
    write_file(d, "config.json", "{\"vision_config\": 3}");
    assert_int_equal(eng_siglip_config_load(d, &sv, err, sizeof err), -1);
    assert_non_null(strstr(err, "vision_config"));
}

/* Replaces the first occurrence of `from` in base with `to`; returns a malloc'd string. */
static char *replace(const char *base, const char *from, const char *to) {
    const char *p = strstr(base, from);
    assert_non_null(p);
    size_t a = (size_t)(p - base), fl = strlen(from), tl = strlen(to), n = strlen(base);
    char *s = malloc(n - fl + tl + 1);
    assert_non_null(s);
    memcpy(s, base, a);
    memcpy(s + a, to, tl);
    memcpy(s + a + tl, p + fl, n - a - fl + 1);
    return s;
}

static void expect_bad(const char *base, const char *from, const char *to, const char *needle) {
    char *s = replace(base, from, to);
    eng_config c;
    char err[512] = "";
    int rc = eng_config_parse(s, strlen(s), "bad/config.json", &c, err, sizeof err);
    free(s);
    if (rc != -1) fail_msg("replacing '%s' by '%s' was accepted", from, to);
    if (!strstr(err, "bad/config.json") || !strstr(err, needle))
        fail_msg("replacing '%s': error '%s' lacks '%s'", from, err, needle);
}

static void test_bad_configs(void **state) {
    (void)state;
    eng_config c;
    char err[512];
    assert_int_equal(eng_config_parse("{not json", 9, "x/config.json", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "x/config.json"));
    assert_non_null(strstr(err, "not a JSON object"));
    assert_int_equal(eng_config_parse("{\"hidden_size\": 8}", 18, "x/config.json", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown layout"));

    expect_bad(k_lmms_ov, "\"hidden_size\": 3584,", "", "hidden_size: missing");
    expect_bad(k_lmms_ov, "\"hidden_size\": 3584", "\"hidden_size\": \"big\"", "hidden_size");
    expect_bad(k_lmms_ov, "\"hidden_size\": 3584", "\"hidden_size\": 3584.5", "hidden_size");
    expect_bad(k_lmms_ov, "\"num_key_value_heads\": 4", "\"num_key_value_heads\": 5", "num_key_value_heads 5");
    expect_bad(k_lmms_ov, "\"vocab_size\": 152064", "\"vocab_size\": -3", "vocab_size");
    expect_bad(k_lmms_ov, "\"mlp2x_gelu\"", "\"identity\"", "mm_projector_type");
    expect_bad(k_lmms_ov, "\"mm_spatial_pool_mode\": \"bilinear\"", "\"mm_spatial_pool_mode\": \"cubic\"",
               "mm_spatial_pool_mode");
    expect_bad(k_lmms_ov, "\"one_token\"", "\"two_tokens\"", "mm_newline_position");
    expect_bad(k_lmms_ov, "\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\"}", "rope_scaling");
    expect_bad(k_lmms_ov, "\"use_sliding_window\": false", "\"use_sliding_window\": true", "use_sliding_window");
    expect_bad(k_lmms_ov, "\"mm_vision_select_layer\": -2", "\"mm_vision_select_layer\": -40", "select layer -40");
    expect_bad(k_lmms_ov, "\"mm_hidden_size\": 1152", "\"mm_hidden_size\": 1024", "mm_hidden_size");
    expect_bad(k_lmms_ov, "\"google/siglip-so400m-patch14-384\"", "\"openai/clip-vit-large-patch14-336\"",
               "mm_vision_tower");
    expect_bad(k_lmms_ov, "\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": 2", "rms_norm_eps");
    expect_bad(k_lmms_ov, "\"hidden_act\": \"silu\"", "\"hidden_act\": \"relu\"", "hidden_act");
    expect_bad(k_lmms_ov, "\"mm_vision_tower\": \"google/siglip-so400m-patch14-384\"",
               "\"mm_vision_tower\": \"google/siglip-so400m-patch14-384\", \"vision_config\": {\"hidden_size\": 1152,"
               " \"num_attention_heads\": 7}",
               "not a multiple");
    expect_bad(k_hf, "\"vision_feature_select_strategy\": \"full\"", "\"vision_feature_select_strategy\": \"default\"",
               "vision_feature_select_strategy");
    expect_bad(k_hf, "\"vision_feature_layer\": -1", "\"vision_feature_layer\": [-2, -1]", "vision_feature_layer");
    expect_bad(k_hf, "\"model_type\": \"qwen2\"", "\"model_type\": \"llama\"", "text_config");
    expect_bad(k_hf, "\"patch_size\": 14", "\"patch_size\": 400", "image_size 384 is smaller");
    expect_bad(k_hf, "\"projector_hidden_act\": \"gelu\"", "\"projector_hidden_act\": \"relu\"",
               "projector_hidden_act");
    expect_bad(k_hf, "\"num_hidden_layers\": 28", "\"num_hidden_layers\": 0", "text_config: field num_hidden_layers");
}

/* Random byte edits of the real configs: parsing either succeeds with a consistent config or fails
 * with a message naming the file (ASan/UBSan watch the rest). */
static void test_mutations(void **state) {
    (void)state;
    const char *bases[3] = {k_lmms_ov, k_lmms_video, k_hf};
    static const char alphabet[] = "0123456789-.e[]{},:\"tfnul ";
    uint64_t rng = 0xfeed;
    int ok = 0, bad = 0;
    for (int it = 0; it < 6000; it++) {
        const char *base = bases[it % 3];
        size_t n = strlen(base);
        char *s = malloc(n + 1);
        memcpy(s, base, n + 1);
        for (int e = 0; e < 1 + it % 2; e++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            s[rng % n] = alphabet[(rng >> 32) % (sizeof alphabet - 1)];
        }
        eng_config c;
        char err[512] = "";
        if (eng_config_parse(s, n, "mut/config.json", &c, err, sizeof err) == 0) {
            ok++;
            assert_true(c.vision.n_layers >= 1 && c.vision.n_layers <= c.vision.n_layers_cfg);
            assert_int_equal(c.vision.hidden % c.vision.n_heads, 0);
            assert_int_equal(c.llm.n_heads % c.llm.n_kv_heads, 0);
            int64_t shape[ST_MAX_DIMS];
            for (int id = 0; id < ENG_T_COUNT; id++)
                assert_true(eng_tensor_shape(&c, (eng_tensor_id)id, shape) > 0);
        } else {
            bad++;
            if (!strstr(err, "mut/config.json")) fail_msg("error does not name the file: %s", err);
        }
        free(s);
    }
    assert_true(ok > 0 && bad > 0);
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("config"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lmms_ov),           cmocka_unit_test(test_lmms_video), cmocka_unit_test(test_hf),
        cmocka_unit_test(test_generation_config), cmocka_unit_test(test_load_dir),   cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
