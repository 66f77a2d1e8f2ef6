/* test_tiny_model.c - make-tiny-model: determinism (same seed -> same bytes), the written checkpoint
 * loads through exactly the path a real one uses (config, safetensors, name/shape binding, SigLIP
 * head file) in both layouts and sharded, the weights are non-degenerate and identical across
 * layouts, the tokenizer.json follows the HF format, binding rejects missing / mis-shaped /
 * unexpected tensors, and the CLI. Python (numpy) reads one file independently. */
#include "tests/tb_test.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/safetensors.h"
#include "engine/tiny_model.h"

static char dir[1024];

/* 1 when both files exist and are byte-identical. */
static int same_file(const char *d1, const char *d2, const char *name) {
    char p1[2048], p2[2048];
    snprintf(p1, sizeof p1, "%s/%s", d1, name);
    snprintf(p2, sizeof p2, "%s/%s", d2, name);
    size_t n1 = 0, n2 = 0;
    char *a = tb_slurp(p1, &n1), *b = tb_slurp(p2, &n2);
    int same = a && b && n1 == n2 && memcmp(a, b, n1) == 0;
    free(a);
    free(b);
    return same;
}

static void make(const char *sub, eng_layout layout, uint64_t seed, int shards, int video, char *out, size_t n) {
    char err[1024];
    snprintf(out, n, "%s/%s", dir, sub);
    eng_tiny_params p = eng_tiny_default_params();
    p.layout = layout;
    p.seed = seed;
    p.shards = shards;
    p.video = video;
    if (eng_tiny_model_write(out, &p, err, sizeof err) != 0) fail_msg("%s", err);
}

static const char *k_files[] = {
    "config.json",    "generation_config.json", "model.safetensors", "siglip/config.json", "siglip/model.safetensors",
    "tokenizer.json", "tokenizer_config.json",  "vocab.json",        "merges.txt",         "added_tokens.json"};

static void test_determinism(void **state) {
    (void)state;
    char a[1200], b[1200], c[1200];
    make("det_a", ENG_LAYOUT_LMMS, 7, 1, 0, a, sizeof a);
    make("det_b", ENG_LAYOUT_LMMS, 7, 1, 0, b, sizeof b);
    make("det_c", ENG_LAYOUT_LMMS, 8, 1, 0, c, sizeof c);
    for (size_t i = 0; i < sizeof k_files / sizeof k_files[0]; i++)
        if (!same_file(a, b, k_files[i])) fail_msg("%s differs between two runs with seed 7", k_files[i]);
    assert_false(same_file(a, c, "model.safetensors"));
    assert_false(same_file(a, c, "siglip/model.safetensors"));
    assert_true(same_file(a, c, "config.json"));
    /* rewriting in place gives the same bytes, and switching to shards removes model.safetensors */
    make("det_a", ENG_LAYOUT_LMMS, 7, 1, 0, a, sizeof a);
    assert_true(same_file(a, b, "model.safetensors"));
    make("det_a", ENG_LAYOUT_LMMS, 7, 2, 0, a, sizeof a);
    char p[1300];
    snprintf(p, sizeof p, "%s/model.safetensors", a);
    assert_int_equal(access(p, F_OK), -1);
    make("det_d", ENG_LAYOUT_LMMS, 7, 2, 0, c, sizeof c);
    assert_true(same_file(a, c, "model-00001-of-00002.safetensors"));
    assert_true(same_file(a, c, "model-00002-of-00002.safetensors"));
    assert_true(same_file(a, c, "model.safetensors.index.json"));
}

/* Loads dir the way the engine does; checks the tiny config and returns the bound checkpoint. */
static st_file *load(const char *d, eng_config *cfg) {
    char err[1024];
    if (eng_config_load(d, cfg, err, sizeof err) != 0) fail_msg("%s", err);
    st_file *st = st_open(d, err, sizeof err);
    if (!st) fail_msg("%s", err);
    if (eng_checkpoint_bind(cfg, st, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(st_count(st), eng_checkpoint_tensor_count(cfg));
    /* the SigLIP head file */
    char sp[1300];
    snprintf(sp, sizeof sp, "%s/siglip", d);
    eng_vision_config sv;
    if (eng_siglip_config_load(sp, &sv, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(eng_siglip_config_check(&cfg->vision, &sv, err, sizeof err), 0);
    assert_int_equal(sv.n_layers_cfg, 3);
    st_file *sg = st_open(sp, err, sizeof err);
    if (!sg) fail_msg("%s", err);
    if (eng_siglip_check(cfg, sg, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(st_count(sg), 13);
    st_close(sg);
    return st;
}

static void check_tiny_cfg(const eng_config *c) {
    assert_int_equal(c->vision.image_size, 100);
    assert_int_equal(c->vision.patch_size, 14);
    assert_int_equal(c->vision.grid, 7);
    assert_int_equal(c->vision.n_patches, 49);
    assert_int_equal(c->vision.hidden, 48);
    assert_int_equal(c->vision.n_heads, 4);
    assert_int_equal(c->vision.head_dim, 12);
    assert_int_equal(c->vision.intermediate, 88);
    assert_int_equal(c->vision.n_layers, 2);
    assert_int_equal(c->llm.hidden, 64);
    assert_int_equal(c->llm.n_layers, 4);
    assert_int_equal(c->llm.n_heads, 4);
    assert_int_equal(c->llm.n_kv_heads, 2);
    assert_int_equal(c->llm.head_dim, 16);
    assert_int_equal(c->llm.intermediate, 128);
    assert_int_equal(c->llm.vocab, ENG_TINY_VOCAB);
    assert_true(c->llm.rope_theta == 1e6);
    assert_int_equal(c->llm.tie_embeddings, 0);
    assert_int_equal(c->llm.eos_id, ENG_TINY_ID_IM_END);
    assert_int_equal(c->has_image_newline, 1);
    assert_int_equal(eng_config_pooled_grid(c, ENG_POOL_BILINEAR), 4);
    assert_int_equal(eng_config_pooled_grid(c, ENG_POOL_AVERAGE), 3);
    assert_int_equal(c->gen.present, 1);
    assert_int_equal(c->gen.eos_ids[0], ENG_TINY_ID_IM_END);
}

static void stats(const float *x, size_t n, double *mean, double *sd) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
}

static void test_load_layouts(void **state) {
    (void)state;
    char lm[1200], hf[1200], sh[1200], vid[1200], err[1024];
    make("lmms", ENG_LAYOUT_LMMS, 3, 1, 0, lm, sizeof lm);
    make("hf", ENG_LAYOUT_HF, 3, 1, 0, hf, sizeof hf);
    make("sharded", ENG_LAYOUT_LMMS, 3, 2, 0, sh, sizeof sh);
    make("video", ENG_LAYOUT_LMMS, 3, 1, 1, vid, sizeof vid);
    eng_config cl, ch, cs, cv, ct;
    st_file *sl = load(lm, &cl), *shf = load(hf, &ch), *ss = load(sh, &cs), *sv = load(vid, &cv);
    check_tiny_cfg(&cl);
    check_tiny_cfg(&ch);
    check_tiny_cfg(&cs);
    check_tiny_cfg(&cv);
    assert_int_equal(cl.layout, ENG_LAYOUT_LMMS);
    assert_int_equal(cl.vision.n_layers_cfg, 3);
    assert_int_equal(cl.vision.select_layer, -2);
    assert_int_equal(cl.newline, ENG_NEWLINE_ONE_TOKEN);
    assert_int_equal(cl.image_token_id, -200);
    assert_true(fabs(cl.gen.repetition_penalty - 1.05) < 1e-12);
    assert_int_equal(cl.gen.n_eos, 2);
    assert_int_equal(ch.layout, ENG_LAYOUT_HF);
    assert_int_equal(ch.hf_new_names, 0);
    assert_int_equal(ch.vision.n_layers_cfg, 2);
    assert_int_equal(ch.image_token_id, ENG_TINY_ID_IMAGE);
    assert_int_equal(ch.video_token_id, ENG_TINY_ID_VIDEO);
    assert_true(ch.gen.repetition_penalty == 1.0);
    assert_int_equal(cv.newline, ENG_NEWLINE_GRID);
    assert_int_equal(cv.pool_mode, ENG_POOL_BILINEAR);
    /* eng_tiny_config is exactly what is read back */
    eng_tiny_params p = eng_tiny_default_params();
    p.layout = ENG_LAYOUT_HF;
    assert_int_equal(eng_tiny_config(&p, &ct, err, sizeof err), 0);
    assert_memory_equal(&ct.vision, &ch.vision, sizeof ct.vision);
    assert_memory_equal(&ct.llm, &ch.llm, sizeof ct.llm);
    p.shards = 3;
    assert_int_equal(eng_tiny_config(&p, &ct, err, sizeof err), -1);
    assert_non_null(strstr(err, "shards"));

    /* the same seed gives the same numbers under both layouts' names (and sharded) */
    static const eng_tensor_id ids[] = {ENG_T_V_PATCH_W, ENG_T_V_Q_W, ENG_T_PROJ2_W, ENG_T_NEWLINE,
                                        ENG_T_EMBED,     ENG_T_L_K_B, ENG_T_LM_HEAD};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int layer = eng_tensor_is_layered(ids[i]) ? 1 : 0;
        float *a = eng_tensor_load_f32(sl, &cl, ids[i], layer, err, sizeof err);
        float *b = eng_tensor_load_f32(shf, &ch, ids[i], layer, err, sizeof err);
        float *c = eng_tensor_load_f32(ss, &cs, ids[i], layer, err, sizeof err);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        const st_tensor *t = eng_tensor_find(sl, &cl, ids[i], layer, err, sizeof err);
        assert_memory_equal(a, b, t->numel * sizeof(float));
        assert_memory_equal(a, c, t->numel * sizeof(float));
        free(a);
        free(b);
        free(c);
    }
    /* sensible scales: Linear ~ 1/sqrt(fan_in), norms ~ 1, biases small, tensors differ by layer */
    double m, sd;
    float *q0 = eng_tensor_load_f32(sl, &cl, ENG_T_L_Q_W, 0, err, sizeof err);
    float *q1 = eng_tensor_load_f32(sl, &cl, ENG_T_L_Q_W, 1, err, sizeof err);
    assert_non_null(q0);
    assert_non_null(q1);
    stats(q0, 64 * 64, &m, &sd);
    assert_true(fabs(m) < 0.02 && sd > 0.1 && sd < 0.15);
    assert_true(memcmp(q0, q1, 64 * 64 * sizeof(float)) != 0);
    free(q0);
    free(q1);
    float *ln = eng_tensor_load_f32(sl, &cl, ENG_T_V_LN1_W, 0, err, sizeof err);
    stats(ln, 48, &m, &sd);
    assert_true(fabs(m - 1.0) < 0.05 && sd > 0.01 && sd < 0.1);
    free(ln);
    float *kb = eng_tensor_load_f32(sl, &cl, ENG_T_L_K_B, 0, err, sizeof err);
    stats(kb, 32, &m, &sd);
    assert_true(sd > 0.005 && sd < 0.05);
    free(kb);
    float *pw = eng_tensor_load_f32(sl, &cl, ENG_T_V_PATCH_W, 0, err, sizeof err);
    stats(pw, 48 * 3 * 14 * 14, &m, &sd);
    assert_true(fabs(sd - 1.0 / sqrt(588.0)) < 0.005);
    free(pw);
    st_close(sl);
    st_close(shf);
    st_close(ss);
    st_close(sv);
}

/* Copies a checkpoint's tensors (as F32) into path, applying one edit. */
typedef enum { EDIT_DROP, EDIT_RESHAPE, EDIT_EXTRA, EDIT_NEW_HF_NAMES } edit_kind;

static char *new_hf_name(const char *n) {
    static const char *const map[][2] = {{"language_model.model.", "model.language_model."},
                                         {"language_model.lm_head.", "lm_head."},
                                         {"vision_tower.", "model.vision_tower."},
                                         {"multi_modal_projector.", "model.multi_modal_projector."},
                                         {"image_newline", "model.image_newline"}};
    for (size_t i = 0; i < 5; i++) {
        size_t k = strlen(map[i][0]);
        if (strncmp(n, map[i][0], k) == 0) {
            size_t len = strlen(map[i][1]) + strlen(n + k) + 1;
            char *s = malloc(len);
            snprintf(s, len, "%s%s", map[i][1], n + k);
            return s;
        }
    }
    fail_msg("unmapped name %s", n);
    return NULL;
}

static void copy_edit(const st_file *src, const char *path, edit_kind kind, const char *target) {
    size_t n = st_count(src);
    st_write_tensor *t = calloc(n + 1, sizeof *t);
    float **bufs = calloc(n + 1, sizeof *bufs);
    char **names = calloc(n + 1, sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const st_tensor *s = st_at(src, i);
        if (kind == EDIT_DROP && strcmp(s->name, target) == 0) continue;
        bufs[k] = malloc(s->numel * sizeof(float) + 4);
        st_convert_f32(s, bufs[k]);
        t[k].name = s->name;
        if (kind == EDIT_NEW_HF_NAMES) t[k].name = names[k] = new_hf_name(s->name);
        t[k].ndim = s->ndim;
        memcpy(t[k].shape, s->shape, sizeof t[k].shape);
        t[k].data = bufs[k];
        if (kind == EDIT_RESHAPE && strcmp(s->name, target) == 0) {
            t[k].ndim = 2;
            t[k].shape[0] = s->shape[1];
            t[k].shape[1] = s->shape[0];
        }
        k++;
    }
    if (kind == EDIT_EXTRA) {
        bufs[k] = calloc(48, sizeof(float));
        t[k].name = target;
        t[k].ndim = 1;
        t[k].shape[0] = 48;
        t[k].data = bufs[k];
        k++;
    }
    char err[512];
    if (st_write(path, t, k, err, sizeof err) != 0) fail_msg("%s", err);
    for (size_t i = 0; i <= n; i++) {
        free(bufs[i]);
        free(names[i]);
    }
    free(bufs);
    free(names);
    free(t);
}

static void expect_bind_error(const char *path, eng_config *cfg, const char *n1, const char *n2) {
    char err[1024] = "";
    st_file *st = st_open(path, err, sizeof err);
    if (!st) fail_msg("%s", err);
    int rc = eng_checkpoint_bind(cfg, st, err, sizeof err);
    st_close(st);
    if (rc != -1) fail_msg("bind accepted %s", path);
    if (!strstr(err, path) || !strstr(err, n1) || (n2 && !strstr(err, n2)))
        fail_msg("error '%s' lacks the file, '%s' or '%s'", err, n1, n2 ? n2 : "");
}

static void test_bind_errors(void **state) {
    (void)state;
    char lm[1200], hf[1200], p[1300], err[1024];
    make("bind_lmms", ENG_LAYOUT_LMMS, 5, 1, 0, lm, sizeof lm);
    make("bind_hf", ENG_LAYOUT_HF, 5, 1, 0, hf, sizeof hf);
    eng_config cl, ch;
    st_file *sl = load(lm, &cl), *sh = load(hf, &ch);

    snprintf(p, sizeof p, "%s/missing.safetensors", dir);
    copy_edit(sl, p, EDIT_DROP, "model.layers.1.mlp.up_proj.weight");
    expect_bind_error(p, &cl, "model.layers.1.mlp.up_proj.weight", "not found");

    snprintf(p, sizeof p, "%s/reshaped.safetensors", dir);
    copy_edit(sl, p, EDIT_RESHAPE, "model.mm_projector.0.weight");
    expect_bind_error(p, &cl, "model.mm_projector.0.weight", "shape [48, 64], expected [64, 48]");
    /* the same through the single-tensor API */
    st_file *bad = st_open(p, err, sizeof err);
    assert_non_null(bad);
    assert_null(eng_tensor_load_f32(bad, &cl, ENG_T_PROJ1_W, 0, err, sizeof err));
    assert_non_null(strstr(err, "model.mm_projector.0.weight"));
    assert_non_null(strstr(err, p));
    st_close(bad);

    /* a vision layer past the ones run (the deleted SigLIP layer) is refused, as is a head */
    snprintf(p, sizeof p, "%s/extra.safetensors", dir);
    copy_edit(sl, p, EDIT_EXTRA, "model.vision_tower.vision_tower.vision_model.encoder.layers.2.layer_norm1.bias");
    expect_bind_error(p, &cl, "encoder.layers.2.layer_norm1.bias", "unexpected");
    copy_edit(sl, p, EDIT_EXTRA, "model.vision_tower.vision_tower.vision_model.head.layernorm.bias");
    expect_bind_error(p, &cl, "head.layernorm.bias", "unexpected");

    /* lmms names under an hf config: the first expected hf tensor is missing */
    snprintf(p, sizeof p, "%s/model.safetensors", lm);
    expect_bind_error(p, &ch, "not found", NULL);

    /* transformers >= 4.52 prefixes are accepted and detected */
    snprintf(p, sizeof p, "%s/newnames.safetensors", dir);
    copy_edit(sh, p, EDIT_NEW_HF_NAMES, NULL);
    st_file *sn = st_open(p, err, sizeof err);
    assert_non_null(sn);
    eng_config cn = ch;
    assert_non_null(eng_tensor_find(sn, &cn, ENG_T_EMBED, 0, err, sizeof err)); /* before bind: fallback */
    if (eng_checkpoint_bind(&cn, sn, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(cn.hf_new_names, 1);
    float *a = eng_tensor_load_f32(sn, &cn, ENG_T_L_V_W, 2, err, sizeof err);
    float *b = eng_tensor_load_f32(sh, &ch, ENG_T_L_V_W, 2, err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a, b, 32 * 64 * sizeof(float));
    free(a);
    free(b);
    assert_non_null(st_find(sn, "model.language_model.layers.3.mlp.down_proj.weight"));
    assert_non_null(st_find(sn, "lm_head.weight"));
    st_close(sn);

    /* siglip head check against the LLaVA checkpoint (which has no head) */
    assert_int_equal(eng_siglip_check(&cl, sl, err, sizeof err), -1);
    assert_non_null(strstr(err, "vision_model.post_layernorm.weight"));
    st_close(sl);
    st_close(sh);
}

static void test_tokenizer_json(void **state) {
    (void)state;
    char d[1200], p[1300];
    make("tok_hf", ENG_LAYOUT_HF, 1, 1, 0, d, sizeof d);
    snprintf(p, sizeof p, "%s/tokenizer.json", d);
    size_t len = 0;
    char *text = tb_slurp(p, &len);
    assert_non_null(text);
    cJSON *r = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(r);
    cJSON *model = cJSON_GetObjectItemCaseSensitive(r, "model");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(model, "type")->valuestring, "BPE");
    cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    assert_int_equal(cJSON_GetArraySize(vocab), 256 + ENG_TINY_N_MERGES);
    assert_int_equal(cJSON_GetArraySize(merges), ENG_TINY_N_MERGES);
    /* byte-level alphabet: "!" is id 0, byte 0 is U+0100 at id 188, space is U+0120 */
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(vocab, "!")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(vocab, "\xc4\x80")->valueint, 188);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(vocab, "\xc4\xa0"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(vocab, "\xc4\xa0the")->valueint, 256 + 3);
    /* every merge joins two tokens that exist with lower ids, and its result is the next id */
    int rank = 0;
    cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        assert_true(cJSON_IsString(m));
        char buf[64];
        snprintf(buf, sizeof buf, "%s", m->valuestring);
        char *sp = strchr(buf, ' ');
        assert_non_null(sp);
        *sp = '\0';
        cJSON *l = cJSON_GetObjectItemCaseSensitive(vocab, buf), *rr = cJSON_GetObjectItemCaseSensitive(vocab, sp + 1);
        char joined[64];
        snprintf(joined, sizeof joined, "%s%s", buf, sp + 1);
        cJSON *res = cJSON_GetObjectItemCaseSensitive(vocab, joined);
        if (!l || !rr || !res) fail_msg("merge %s", m->valuestring);
        assert_true(l->valueint < 256 + rank && rr->valueint < 256 + rank);
        assert_int_equal(res->valueint, 256 + rank);
        rank++;
    }
    cJSON *added = cJSON_GetObjectItemCaseSensitive(r, "added_tokens");
    assert_int_equal(cJSON_GetArraySize(added), 5);
    const char *names[5] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"};
    for (int i = 0; i < 5; i++) {
        cJSON *t = cJSON_GetArrayItem(added, i);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(t, "content")->valuestring, names[i]);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(t, "id")->valueint, ENG_TINY_ID_ENDOFTEXT + i);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "special")));
    }
    assert_true(ENG_TINY_ID_VIDEO < ENG_TINY_VOCAB);
    cJSON *pre = cJSON_GetObjectItemCaseSensitive(r, "pre_tokenizer");
    cJSON *split = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers"), 0);
    assert_non_null(strstr(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(split, "pattern"), "Regex")->valuestring,
        "\\p{L}+|\\p{N}|"));
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "normalizer"), "type")->valuestring,
        "NFC");
    cJSON_Delete(r);

    /* lmms: three added tokens */
    make("tok_lmms", ENG_LAYOUT_LMMS, 1, 1, 0, d, sizeof d);
    snprintf(p, sizeof p, "%s/tokenizer.json", d);
    text = tb_slurp(p, &len);
    r = cJSON_ParseWithLength(text, len);
    free(text);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "added_tokens")), 3);
    cJSON_Delete(r);
}

/* BF16 (lmms-lab's dtype) and F16 (llava-hf's) storage: the same numbers, rounded to nearest even. */
static void test_half_dtypes(void **state) {
    (void)state;
    char d32[1200], d16[1200], err[1024];
    static const st_dtype dts[2] = {ST_BF16, ST_F16};
    static const eng_layout lays[2] = {ENG_LAYOUT_LMMS, ENG_LAYOUT_HF};
    for (int k = 0; k < 2; k++) {
        snprintf(d32, sizeof d32, "%s/dt32_%d", dir, k);
        snprintf(d16, sizeof d16, "%s/dt16_%d", dir, k);
        eng_tiny_params p = eng_tiny_default_params();
        p.layout = lays[k];
        p.seed = 9;
        assert_int_equal(eng_tiny_model_write(d32, &p, err, sizeof err), 0);
        p.dtype = dts[k];
        p.shards = 2;
        if (eng_tiny_model_write(d16, &p, err, sizeof err) != 0) fail_msg("%s", err);
        eng_config c32, c16;
        st_file *s32 = load(d32, &c32), *s16 = load(d16, &c16);
        assert_string_equal(c16.torch_dtype, k == 0 ? "bfloat16" : "float16");
        const st_tensor *t = eng_tensor_find(s16, &c16, ENG_T_L_GATE_W, 3, err, sizeof err);
        assert_non_null(t);
        assert_int_equal(t->dtype, dts[k]);
        float *a = eng_tensor_load_f32(s32, &c32, ENG_T_L_GATE_W, 3, err, sizeof err);
        float *b = eng_tensor_load_f32(s16, &c16, ENG_T_L_GATE_W, 3, err, sizeof err);
        assert_non_null(a);
        assert_non_null(b);
        int differ = 0;
        for (size_t i = 0; i < t->numel; i++) {
            float r = k == 0 ? st_bf16_to_f32(st_f32_to_bf16(a[i])) : st_f16_to_f32(st_f32_to_f16(a[i]));
            if (memcmp(&r, &b[i], 4) != 0) fail_msg("element %zu: %g stored as %g", i, a[i], b[i]);
            differ += a[i] != b[i];
        }
        assert_true(differ > 0); /* really rounded */
        free(a);
        free(b);
        st_close(s32);
        st_close(s16);
    }
}

/* The vision_config rule of the lmms layout: num_hidden_layers may name the SigLIP tower before
 * LLaVA deleted its last layer (stored + 1, the tiny default: 3 with 2 stored) or after (stored);
 * both run every stored layer. Anything else is refused with the rule in the message. */
static void set_vision_layers(const char *d, int n) {
    char p[1300], err[256];
    snprintf(p, sizeof p, "%s/config.json", d);
    size_t len = 0;
    char *txt = tb_slurp(p, &len);
    assert_non_null(txt);
    cJSON *r = cJSON_Parse(txt);
    free(txt);
    assert_non_null(r);
    cJSON *vc = cJSON_GetObjectItem(r, "vision_config");
    cJSON_ReplaceItemInObject(vc, "num_hidden_layers", cJSON_CreateNumber(n));
    char *out = cJSON_Print(r);
    cJSON_Delete(r);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    free(out);
    (void)err;
}

static void test_vision_config_rule(void **state) {
    (void)state;
    char d[1200], err[1024];
    make("vrule", ENG_LAYOUT_LMMS, 4, 1, 0, d, sizeof d);
    static const int cfg_layers[4] = {3, 2, 4, 5};
    for (int k = 0; k < 4; k++) {
        set_vision_layers(d, cfg_layers[k]);
        eng_config c;
        assert_int_equal(eng_config_load(d, &c, err, sizeof err), 0);
        assert_int_equal(c.vision.n_layers_cfg, cfg_layers[k]);
        st_file *st = st_open(d, err, sizeof err);
        assert_non_null(st);
        int rc = eng_checkpoint_bind(&c, st, err, sizeof err);
        if (k < 2) {
            if (rc != 0) fail_msg("num_hidden_layers %d: %s", cfg_layers[k], err);
            assert_int_equal(c.vision.n_layers, 2); /* every stored layer runs */
            eng_model *m = eng_model_load(d, NULL, err, sizeof err);
            if (!m) fail_msg("num_hidden_layers %d: %s", cfg_layers[k], err);
            eng_vision_info vi;
            eng_model_vision_info(m, &vi);
            assert_int_equal(vi.n_layers, 2);
            eng_model_free(m);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "stores 2 encoder layers"));
            assert_non_null(strstr(err, "or exceed it by one"));
        }
        st_close(st);
    }
}

/* The full-size presets describe the real lmms-lab checkpoints (spec llava-ov-engine.md §2.2):
 * 765 tensors, 8,030,348,832 parameters, 26 SigLIP layers run; OV one_token, LLaVA-Video grid;
 * and Qwen2.5-VL-7B-Instruct. (Writing one is 16 GB: make fullsize-model, never a test.) */
static void test_fullsize_presets(void **state) {
    (void)state;
    char err[512];
    eng_preset pr;
    assert_int_equal(eng_preset_parse("llava-ov-7b", &pr), 0);
    assert_int_equal(pr, ENG_PRESET_LLAVA_OV_7B);
    assert_int_equal(eng_preset_parse("llava-video-7b", &pr), 0);
    assert_int_equal(eng_preset_parse("llava-13b", &pr), -1);
    for (int k = 0; k < 2; k++) {
        eng_config c;
        if (eng_preset_config(k ? ENG_PRESET_LLAVA_VIDEO_7B : ENG_PRESET_LLAVA_OV_7B, &c, err, sizeof err))
            fail_msg("%s", err);
        assert_int_equal(eng_checkpoint_tensor_count(&c), 765);
        assert_int_equal(c.vision.n_layers, 26);
        assert_int_equal(c.vision.grid, 27);
        assert_int_equal(c.llm.hidden, 3584);
        assert_int_equal(c.llm.vocab, 152064);
        assert_int_equal(c.newline, k ? ENG_NEWLINE_GRID : ENG_NEWLINE_ONE_TOKEN);
        assert_string_equal(c.torch_dtype, "bfloat16");
        double params = 0;
        for (int id = 0; id < ENG_T_COUNT; id++) {
            if (eng_tensor_is_siglip((eng_tensor_id)id)) continue;
            if (id == ENG_T_LM_HEAD && c.llm.tie_embeddings) continue;
            if (id == ENG_T_NEWLINE && !c.has_image_newline) continue;
            int lay = eng_tensor_is_layered((eng_tensor_id)id);
            int nl = lay == 1 ? c.vision.n_layers : lay == 2 ? c.llm.n_layers : 1;
            int64_t sh[ST_MAX_DIMS];
            int nd = eng_tensor_shape(&c, (eng_tensor_id)id, sh);
            double n = 1;
            for (int d = 0; d < nd; d++) n *= (double)sh[d];
            params += n * nl;
        }
        assert_true(params == 8030348832.0);
    }
    /* Qwen2.5-VL-7B-Instruct (spec qwen25vl.md §1.4): 729 tensors; vision 676,550,144 and LLM
     * 7,615,616,512 parameters, 8,292,166,656 in all; the real config values */
    assert_int_equal(eng_preset_parse("qwen2.5-vl-7b", &pr), 0);
    assert_int_equal(pr, ENG_PRESET_QWEN25VL_7B);
    {
        eng_config c;
        if (eng_preset_config(ENG_PRESET_QWEN25VL_7B, &c, err, sizeof err)) fail_msg("%s", err);
        assert_int_equal(c.layout, ENG_LAYOUT_QWEN25VL);
        assert_int_equal(eng_checkpoint_tensor_count(&c), 729);
        assert_int_equal(c.qv.depth, 32);
        assert_int_equal(c.qv.hidden, 1280);
        assert_int_equal(c.qv.n_fullatt, 4);
        assert_int_equal(c.qv.fullatt[3], 31);
        assert_int_equal(c.llm.n_layers, 28);
        assert_int_equal(c.llm.vocab, 152064);
        assert_int_equal(c.video_token_id, 151656);
        assert_string_equal(c.torch_dtype, "bfloat16");
        double vis = 0, llm = 0;
        for (int id = 0; id < ENG_T_COUNT; id++) {
            if (!eng_tensor_in_layout(&c, (eng_tensor_id)id)) continue;
            int lay = eng_tensor_is_layered((eng_tensor_id)id);
            int nl = lay == 1 ? c.vision.n_layers : lay == 2 ? c.llm.n_layers : 1;
            int64_t sh[ST_MAX_DIMS];
            int nd = eng_tensor_shape(&c, (eng_tensor_id)id, sh);
            double n = 1;
            for (int d = 0; d < nd; d++) n *= (double)sh[d];
            char name[256];
            assert_int_equal(eng_tensor_name(&c, (eng_tensor_id)id, 0, name, sizeof name, err, sizeof err), 0);
            if (!strncmp(name, "visual.", 7)) vis += n * nl;
            else llm += n * nl;
        }
        assert_true(vis == 676550144.0);
        assert_true(llm == 7615616512.0);
    }
    char d[1200];
    snprintf(d, sizeof d, "%s/fs_bad", dir);
    assert_int_equal(eng_fullsize_model_write(d, (eng_preset)9, 1, NULL, err, sizeof err), -1);
}

static void test_cli(void **state) {
    (void)state;
    char cmd[4096], out[4096], d[1200], ref[1200];
    snprintf(d, sizeof d, "%s/cli", dir);
    snprintf(cmd, sizeof cmd, "%s make-tiny-model %s --layout hf --seed 11 --shards 2", tb_test_bin(), d);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) fail_msg("rc %d: %s", rc, out);
    assert_non_null(strstr(out, "wrote tiny hf"));
    make("cli_ref", ENG_LAYOUT_HF, 11, 2, 0, ref, sizeof ref);
    assert_true(same_file(d, ref, "model-00001-of-00002.safetensors"));
    assert_true(same_file(d, ref, "model.safetensors.index.json"));
    assert_true(same_file(d, ref, "config.json"));

    snprintf(cmd, sizeof cmd, "%s make-tiny-model %s --layout gguf", tb_test_bin(), d);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--layout"));
    snprintf(cmd, sizeof cmd, "%s make-tiny-model %s --dtype f8", tb_test_bin(), d);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--dtype"));
    snprintf(cmd, sizeof cmd, "%s make-tiny-model %s --shards 3", tb_test_bin(), d);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s make-tiny-model %s --layout hf --video", tb_test_bin(), d);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s make-tiny-model", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s make-tiny-model /proc/no/such/dir", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "/proc/no"));
}

/* An independent reader: numpy parses shard 2 of a sharded hf checkpoint and sums one tensor. */
static void test_numpy_reads_shard(void **state) {
    (void)state;
    TB_NEED_PYTHON("numpy");
    char cmd[4096], out[4096], d[1200];
    make("numpy_ref", ENG_LAYOUT_HF, 11, 2, 0, d, sizeof d);
    snprintf(
        cmd, sizeof cmd,
        "%s -c \"import json,struct,sys,numpy as np\n"
        "b=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',b[:8])[0]; h=json.loads(b[8:8+n])\n"
        "e=h['language_model.model.norm.weight']; s,t=e['data_offsets']\n"
        "a=np.frombuffer(b[8+n+s:8+n+t],dtype='<f4'); print('%%d %%.17g' %% (a.size, a.astype(np.float64).sum()))\n"
        "\" %s/model-00002-of-00002.safetensors",
        tb_test_python(), d);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) fail_msg("python: %s", out);
    eng_config c;
    char err[512];
    st_file *st = NULL;
    assert_int_equal(eng_config_load(d, &c, err, sizeof err), 0);
    st = st_open(d, err, sizeof err);
    assert_non_null(st);
    float *w = eng_tensor_load_f32(st, &c, ENG_T_NORM, 0, err, sizeof err);
    assert_non_null(w);
    double sum = 0;
    for (int i = 0; i < 64; i++)
        sum += w[i];
    free(w);
    st_close(st);
    int n = 0;
    double pysum = 0;
    assert_int_equal(sscanf(out, "%d %lf", &n, &pysum), 2);
    assert_int_equal(n, 64);
    assert_true(fabs(pysum - sum) < 1e-9);
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("tiny_model"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_load_layouts),
        cmocka_unit_test(test_bind_errors), cmocka_unit_test(test_tokenizer_json),
        cmocka_unit_test(test_half_dtypes), cmocka_unit_test(test_cli),
        cmocka_unit_test(test_numpy_reads_shard), cmocka_unit_test(test_vision_config_rule),
        cmocka_unit_test(test_fullsize_presets),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
