/* config.c - config.json / generation_config.json parsing for both LLaVA checkpoint layouts (see
 * config.h; the tensor-name scheme is in config_names.c).
 *
 * Every value read from a file is type- and range-checked; an error names the file and the key.
 * Defaults follow the library that wrote each layout: lmms-lab files are read like LLaVA-NeXT
 * (SigLIP-so400m-patch14-384 implied by mm_vision_tower), llava-hf files like transformers
 * (LlavaOnevisionConfig, whose vision_config block falls back to SiglipVisionConfig defaults for
 * absent keys). Not supported (rejected with a clear error): projectors other than mlp2x_gelu,
 * rope_scaling, sliding-window attention, multi-layer vision features, the "default" (drop first
 * token) feature strategy, vision towers other than SigLIP.
 */
#include "engine/config.h"

#include "common/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CFG_MAX_FILE (16u << 20) /* config files larger than this are refused */

static void cfg_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cfg_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static void copy_str(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- typed JSON getters -------------------------------------------------------------------- */
/* Each returns 0 when the key is absent (out untouched), 1 when read, -1 on a bad value (err set).
 * `where` is the file name plus an optional block ("config.json: text_config"). */

static int get_int(const cJSON *obj, const char *key, long lo, long hi, int *out, const char *where, char *err,
                   size_t err_len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        cfg_err(err, err_len, "%s: field %s: expected an integer in [%ld, %ld]", where, key, lo, hi);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 1;
}

static int get_double(const cJSON *obj, const char *key, double lo, double hi, double *out, const char *where,
                      char *err, size_t err_len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        cfg_err(err, err_len, "%s: field %s: expected a number in [%g, %g]", where, key, lo, hi);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

static int get_float(const cJSON *obj, const char *key, double lo, double hi, float *out, const char *where, char *err,
                     size_t err_len) {
    double d = 0;
    int r = get_double(obj, key, lo, hi, &d, where, err, err_len);
    if (r == 1) *out = (float)d;
    return r;
}

static int get_bool(const cJSON *obj, const char *key, int *out, const char *where, char *err, size_t err_len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) {
        cfg_err(err, err_len, "%s: field %s: expected true or false", where, key);
        return -1;
    }
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 1;
}

/* String value (borrowed from the JSON tree). */
static int get_str(const cJSON *obj, const char *key, const char **out, const char *where, char *err, size_t err_len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) {
        cfg_err(err, err_len, "%s: field %s: expected a string", where, key);
        return -1;
    }
    *out = v->valuestring;
    return 1;
}

static int need(int r, const char *key, const char *where, char *err, size_t err_len) {
    if (r == 0) {
        cfg_err(err, err_len, "%s: field %s: missing", where, key);
        return -1;
    }
    return r < 0 ? -1 : 0;
}

/* eos_token_id may be an int or a list of ints; fills ids[0..*n-1]. */
static int get_id_list(const cJSON *obj, const char *key, int *ids, int *n, const char *where, char *err,
                       size_t err_len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    *n = 0;
    if (cJSON_IsNumber(v)) return get_int(obj, key, 0, 100000000, &ids[(*n)++], where, err, err_len);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > ENG_MAX_EOS) {
        cfg_err(err, err_len, "%s: field %s: expected an integer or a list of at most %d integers", where, key,
                ENG_MAX_EOS);
        return -1;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
            e->valuedouble > 100000000) {
            cfg_err(err, err_len, "%s: field %s: list item is not a token id", where, key);
            return -1;
        }
        ids[(*n)++] = (int)e->valuedouble;
    }
    return 1;
}

/* ---- defaults ------------------------------------------------------------------------------ */

/* google/siglip-so400m-patch14-384 (what LLaVA's SigLipVisionConfig defaults to). */
static void vision_so400m(eng_vision_config *v) {
    memset(v, 0, sizeof *v);
    v->image_size = 384;
    v->patch_size = 14;
    v->hidden = 1152;
    v->n_heads = 16;
    v->intermediate = 4304;
    v->n_layers_cfg = 27;
    v->select_layer = -2;
    v->n_channels = 3;
    v->layer_norm_eps = 1e-6f;
    v->gelu_tanh = 1;
}

/* transformers SiglipVisionConfig() defaults (used for keys absent from an explicit hf block). */
static void vision_hf_defaults(eng_vision_config *v) {
    memset(v, 0, sizeof *v);
    v->image_size = 224;
    v->patch_size = 16;
    v->hidden = 768;
    v->n_heads = 12;
    v->intermediate = 3072;
    v->n_layers_cfg = 12;
    v->select_layer = -1;
    v->n_channels = 3;
    v->layer_norm_eps = 1e-6f;
    v->gelu_tanh = 1;
}

void eng_generation_config_default(eng_generation_config *gen) {
    memset(gen, 0, sizeof *gen);
    gen->bos_id = -1;
    gen->pad_id = -1;
    gen->repetition_penalty = 1.0;
    gen->temperature = 1.0;
    gen->top_p = 1.0;
    gen->top_k = 50;
    gen->max_new_tokens = -1;
}

/* ---- blocks -------------------------------------------------------------------------------- */

/* Overrides v's fields from a SigLIP vision config object and derives grid / head_dim. */
static int parse_vision_block(const cJSON *o, eng_vision_config *v, const char *where, char *err, size_t err_len) {
    if (get_int(o, "image_size", 1, 16384, &v->image_size, where, err, err_len) < 0) return -1;
    if (get_int(o, "patch_size", 1, 1024, &v->patch_size, where, err, err_len) < 0) return -1;
    if (get_int(o, "hidden_size", 1, 65536, &v->hidden, where, err, err_len) < 0) return -1;
    if (get_int(o, "num_attention_heads", 1, 1024, &v->n_heads, where, err, err_len) < 0) return -1;
    if (get_int(o, "intermediate_size", 1, 1 << 20, &v->intermediate, where, err, err_len) < 0) return -1;
    if (get_int(o, "num_hidden_layers", 1, 1024, &v->n_layers_cfg, where, err, err_len) < 0) return -1;
    if (get_int(o, "num_channels", 1, 16, &v->n_channels, where, err, err_len) < 0) return -1;
    if (get_float(o, "layer_norm_eps", 0.0, 1.0, &v->layer_norm_eps, where, err, err_len) < 0) return -1;
    const char *act = NULL;
    if (get_str(o, "hidden_act", &act, where, err, err_len) < 0) return -1;
    if (act) {
        if (strcmp(act, "gelu_pytorch_tanh") == 0)
            v->gelu_tanh = 1;
        else if (strcmp(act, "gelu") == 0)
            v->gelu_tanh = 0;
        else {
            cfg_err(err, err_len, "%s: field hidden_act: unsupported value \"%.40s\"", where, act);
            return -1;
        }
    }
    const char *mt = NULL;
    if (get_str(o, "model_type", &mt, where, err, err_len) < 0) return -1;
    if (mt && strcmp(mt, "siglip_vision_model") != 0 && strcmp(mt, "siglip") != 0) {
        cfg_err(err, err_len, "%s: field model_type: unsupported vision tower \"%.40s\" (SigLIP only)", where, mt);
        return -1;
    }
    int use_head = 0;
    if (get_bool(o, "vision_use_head", &use_head, where, err, err_len) < 0) return -1;
    return 0;
}

/* Derived vision fields and consistency; where names the file. */
static int finish_vision(eng_vision_config *v, const char *where, char *err, size_t err_len) {
    if (v->hidden % v->n_heads != 0) {
        cfg_err(err, err_len, "%s: vision hidden_size %d is not a multiple of num_attention_heads %d", where, v->hidden,
                v->n_heads);
        return -1;
    }
    if (v->image_size < v->patch_size) {
        cfg_err(err, err_len, "%s: vision image_size %d is smaller than patch_size %d", where, v->image_size,
                v->patch_size);
        return -1;
    }
    v->head_dim = v->hidden / v->n_heads;
    v->grid = v->image_size / v->patch_size;
    v->n_patches = v->grid * v->grid;
    /* hidden_states = [embeddings, layer 1 out, ..., layer n out]; index s (negative from the end). */
    int run = v->select_layer < 0 ? v->n_layers_cfg + 1 + v->select_layer : v->select_layer;
    if (run < 1 || run > v->n_layers_cfg) {
        cfg_err(err, err_len, "%s: vision select layer %d is out of range for %d layers", where, v->select_layer,
                v->n_layers_cfg);
        return -1;
    }
    v->n_layers = run;
    return 0;
}

/* rope_scaling of a Qwen2.5-VL config: {"type"/"rope_type": "mrope" or "default",
 * "mrope_section": [t, h, w]}; the sections must sum to head_dim / 2 (checked by the caller). */
static int parse_mrope(const cJSON *rs, int *sec, const char *where, char *err, size_t err_len) {
    if (!cJSON_IsObject(rs)) {
        cfg_err(err, err_len, "%s: field rope_scaling: expected an object with mrope_section", where);
        return -1;
    }
    const char *keys[] = {"type", "rope_type"};
    for (int i = 0; i < 2; i++) {
        const char *t = NULL;
        if (get_str(rs, keys[i], &t, where, err, err_len) < 0) return -1;
        if (t && strcmp(t, "mrope") != 0 && strcmp(t, "default") != 0) {
            cfg_err(err, err_len, "%s: field rope_scaling.%s: unsupported value \"%.40s\" (mrope expected)", where,
                    keys[i], t);
            return -1;
        }
    }
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(rs, "mrope_section");
    if (!cJSON_IsArray(ms) || cJSON_GetArraySize(ms) != 3) {
        cfg_err(err, err_len, "%s: field rope_scaling.mrope_section: expected a list of 3 integers", where);
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(ms, i);
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
            e->valuedouble > 4096) {
            cfg_err(err, err_len, "%s: field rope_scaling.mrope_section: item %d is not a count in [0, 4096]", where,
                    i);
            return -1;
        }
        sec[i] = (int)e->valuedouble;
    }
    return 0;
}

/* Qwen2 fields from obj (root for lmms / qwen, text_config for hf / newer qwen). mrope: NULL
 * rejects rope_scaling (LLaVA); else receives its mrope_section (Qwen2.5-VL, required). */
static int parse_llm_block(const cJSON *o, eng_llm_config *l, const char *where, int *mrope, char *err,
                           size_t err_len) {
    memset(l, 0, sizeof *l);
    l->rope_theta = 10000.0; /* Qwen2Config default */
    l->rms_norm_eps = 1e-6f;
    l->max_position = 32768;
    l->bos_id = -1;
    l->eos_id = -1;
    l->n_kv_heads = -1;
    l->tie_embeddings = -1;
    if (need(get_int(o, "hidden_size", 1, 65536, &l->hidden, where, err, err_len), "hidden_size", where, err, err_len) <
        0)
        return -1;
    if (need(get_int(o, "num_hidden_layers", 1, 1024, &l->n_layers, where, err, err_len), "num_hidden_layers", where,
             err, err_len) < 0)
        return -1;
    if (need(get_int(o, "num_attention_heads", 1, 1024, &l->n_heads, where, err, err_len), "num_attention_heads", where,
             err, err_len) < 0)
        return -1;
    if (need(get_int(o, "intermediate_size", 1, 1 << 20, &l->intermediate, where, err, err_len), "intermediate_size",
             where, err, err_len) < 0)
        return -1;
    if (need(get_int(o, "vocab_size", 1, 10000000, &l->vocab, where, err, err_len), "vocab_size", where, err, err_len) <
        0)
        return -1;
    if (get_int(o, "num_key_value_heads", 1, 1024, &l->n_kv_heads, where, err, err_len) < 0) return -1;
    if (get_int(o, "max_position_embeddings", 1, 1 << 30, &l->max_position, where, err, err_len) < 0) return -1;
    if (get_double(o, "rope_theta", 1.0, 1e12, &l->rope_theta, where, err, err_len) < 0) return -1;
    if (get_float(o, "rms_norm_eps", 0.0, 1.0, &l->rms_norm_eps, where, err, err_len) < 0) return -1;
    if (get_bool(o, "tie_word_embeddings", &l->tie_embeddings, where, err, err_len) < 0) return -1;
    if (get_int(o, "bos_token_id", 0, 100000000, &l->bos_id, where, err, err_len) < 0) return -1;
    int eos[ENG_MAX_EOS], n_eos = 0;
    int r = get_id_list(o, "eos_token_id", eos, &n_eos, where, err, err_len);
    if (r < 0) return -1;
    if (r == 1 && n_eos > 0) l->eos_id = eos[0];
    if (l->n_kv_heads < 0) l->n_kv_heads = l->n_heads;
    const char *act = NULL;
    if (get_str(o, "hidden_act", &act, where, err, err_len) < 0) return -1;
    if (act && strcmp(act, "silu") != 0) {
        cfg_err(err, err_len, "%s: field hidden_act: unsupported LLM activation \"%.40s\" (silu expected)", where, act);
        return -1;
    }
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "rope_scaling");
    if (mrope) {
        if (parse_mrope(rs, mrope, where, err, err_len) < 0) return -1;
    } else if (rs && !cJSON_IsNull(rs)) {
        cfg_err(err, err_len, "%s: field rope_scaling: not supported (null expected)", where);
        return -1;
    }
    int sw = 0;
    if (get_bool(o, "use_sliding_window", &sw, where, err, err_len) < 0) return -1;
    if (sw) {
        cfg_err(err, err_len, "%s: field use_sliding_window: sliding-window attention is not supported", where);
        return -1;
    }
    if (l->hidden % l->n_heads != 0 || l->n_heads % l->n_kv_heads != 0) {
        cfg_err(err, err_len, "%s: hidden_size %d, num_attention_heads %d, num_key_value_heads %d are inconsistent",
                where, l->hidden, l->n_heads, l->n_kv_heads);
        return -1;
    }
    l->head_dim = l->hidden / l->n_heads;
    if (l->head_dim % 2 != 0) {
        cfg_err(err, err_len, "%s: head dimension %d is odd (RoPE needs an even one)", where, l->head_dim);
        return -1;
    }
    return 0;
}

static int parse_lmms(const cJSON *root, eng_config *cfg, const char *src, char *err, size_t err_len) {
    cfg->layout = ENG_LAYOUT_LMMS;
    if (parse_llm_block(root, &cfg->llm, src, NULL, err, err_len) < 0) return -1;
    if (cfg->llm.tie_embeddings < 0) cfg->llm.tie_embeddings = 0; /* Qwen2Config default */

    const char *tower = NULL;
    if (get_str(root, "mm_vision_tower", &tower, src, err, err_len) < 0) return -1;
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    if (vc && !cJSON_IsNull(vc) && !cJSON_IsObject(vc)) {
        cfg_err(err, err_len, "%s: field vision_config: expected an object", src);
        return -1;
    }
    if (!tower && !cJSON_IsObject(vc)) {
        cfg_err(err, err_len, "%s: field mm_vision_tower: missing (and no vision_config block)", src);
        return -1;
    }
    if (tower) copy_str(cfg->vision_tower, sizeof cfg->vision_tower, tower);
    if (tower && !strstr(tower, "siglip") && !cJSON_IsObject(vc)) {
        cfg_err(err, err_len, "%s: field mm_vision_tower: unsupported vision tower \"%.60s\" (SigLIP only)", src,
                tower);
        return -1;
    }
    vision_so400m(&cfg->vision);
    if (cJSON_IsObject(vc)) {
        char where[300];
        snprintf(where, sizeof where, "%s: vision_config", src);
        if (parse_vision_block(vc, &cfg->vision, where, err, err_len) < 0) return -1;
    }
    if (get_int(root, "mm_vision_select_layer", -1024, 1024, &cfg->vision.select_layer, src, err, err_len) < 0)
        return -1;
    if (finish_vision(&cfg->vision, src, err, err_len) < 0) return -1;
    int mm_hidden = cfg->vision.hidden;
    if (get_int(root, "mm_hidden_size", 1, 65536, &mm_hidden, src, err, err_len) < 0) return -1;
    if (mm_hidden != cfg->vision.hidden) {
        cfg_err(err, err_len, "%s: field mm_hidden_size: %d but the vision tower's hidden size is %d", src, mm_hidden,
                cfg->vision.hidden);
        return -1;
    }

    const char *s = NULL;
    if (get_str(root, "mm_projector_type", &s, src, err, err_len) < 0) return -1;
    if (!s) {
        cfg_err(err, err_len, "%s: field mm_projector_type: missing", src);
        return -1;
    }
    if (strcmp(s, "mlp2x_gelu") != 0) {
        cfg_err(err, err_len, "%s: field mm_projector_type: unsupported value \"%.40s\" (mlp2x_gelu expected)", src, s);
        return -1;
    }
    cfg->projector = ENG_PROJ_MLP2X_GELU;

    s = NULL;
    if (get_str(root, "mm_spatial_pool_mode", &s, src, err, err_len) < 0) return -1;
    cfg->pool_mode = ENG_POOL_BILINEAR;
    if (s) {
        if (strcmp(s, "bilinear") == 0)
            cfg->pool_mode = ENG_POOL_BILINEAR;
        else if (strcmp(s, "average") == 0)
            cfg->pool_mode = ENG_POOL_AVERAGE;
        else {
            /* "max" is LLaVA-NeXT's third mode, but no LLaVA-OneVision or LLaVA-Video checkpoint
             * uses it and the engine has no kernel for it: refused here, naming the file, rather
             * than at the first encode */
            cfg_err(err, err_len, "%s: field mm_spatial_pool_mode: unsupported value \"%.40s\" (bilinear or average)",
                    src, s);
            return -1;
        }
    }
    cfg->pool_stride = 2;
    if (get_int(root, "mm_spatial_pool_stride", 1, 64, &cfg->pool_stride, src, err, err_len) < 0) return -1;

    s = NULL;
    if (get_str(root, "mm_newline_position", &s, src, err, err_len) < 0) return -1;
    cfg->newline = ENG_NEWLINE_ONE_TOKEN;
    if (s) {
        if (strcmp(s, "one_token") == 0)
            cfg->newline = ENG_NEWLINE_ONE_TOKEN;
        else if (strcmp(s, "grid") == 0)
            cfg->newline = ENG_NEWLINE_GRID;
        else if (strcmp(s, "frame") == 0)
            cfg->newline = ENG_NEWLINE_FRAME;
        else if (strcmp(s, "no_token") == 0)
            cfg->newline = ENG_NEWLINE_NONE;
        else {
            cfg_err(err, err_len, "%s: field mm_newline_position: unsupported value \"%.40s\"", src, s);
            return -1;
        }
    }
    s = NULL;
    if (get_str(root, "mm_patch_merge_type", &s, src, err, err_len) < 0) return -1;
    /* image_newline exists for the "spatial*unpad" merge types (the lmms-lab checkpoints). */
    cfg->has_image_newline = s && strstr(s, "unpad") != NULL;
    if (!cfg->has_image_newline) cfg->newline = ENG_NEWLINE_NONE;
    int start_end = 0;
    if (get_bool(root, "mm_use_im_start_end", &start_end, src, err, err_len) < 0) return -1;
    if (start_end) {
        cfg_err(err, err_len, "%s: field mm_use_im_start_end: true is not supported", src);
        return -1;
    }
    cfg->image_token_id = -200; /* IMAGE_TOKEN_INDEX of LLaVA */
    cfg->video_token_id = -1;
    return 0;
}

static int parse_hf(const cJSON *root, eng_config *cfg, const char *src, char *err, size_t err_len) {
    cfg->layout = ENG_LAYOUT_HF;
    char where[300];
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    if (!cJSON_IsObject(tc)) {
        cfg_err(err, err_len, "%s: field text_config: missing or not an object", src);
        return -1;
    }
    snprintf(where, sizeof where, "%s: text_config", src);
    const char *mt = NULL;
    if (get_str(tc, "model_type", &mt, where, err, err_len) < 0) return -1;
    if (mt && strcmp(mt, "qwen2") != 0) {
        cfg_err(err, err_len, "%s: field model_type: unsupported language model \"%.40s\" (qwen2 expected)", where, mt);
        return -1;
    }
    if (parse_llm_block(tc, &cfg->llm, where, NULL, err, err_len) < 0) return -1;
    if (cfg->llm.tie_embeddings < 0) {
        int t = 0;
        if (get_bool(root, "tie_word_embeddings", &t, src, err, err_len) < 0) return -1;
        cfg->llm.tie_embeddings = t;
    }

    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    if (vc && !cJSON_IsNull(vc)) {
        if (!cJSON_IsObject(vc)) {
            cfg_err(err, err_len, "%s: field vision_config: expected an object", src);
            return -1;
        }
        vision_hf_defaults(&cfg->vision);
        snprintf(where, sizeof where, "%s: vision_config", src);
        if (parse_vision_block(vc, &cfg->vision, where, err, err_len) < 0) return -1;
    } else { /* LlavaOnevisionConfig's built-in vision config */
        vision_so400m(&cfg->vision);
        cfg->vision.n_layers_cfg = 26;
    }
    cfg->vision.select_layer = -1;
    const cJSON *vfl = cJSON_GetObjectItemCaseSensitive(root, "vision_feature_layer");
    if (cJSON_IsArray(vfl)) {
        cfg_err(err, err_len, "%s: field vision_feature_layer: multi-layer features are not supported", src);
        return -1;
    }
    if (get_int(root, "vision_feature_layer", -1024, 1024, &cfg->vision.select_layer, src, err, err_len) < 0) return -1;
    if (finish_vision(&cfg->vision, src, err, err_len) < 0) return -1;
    const char *s = NULL;
    if (get_str(root, "vision_feature_select_strategy", &s, src, err, err_len) < 0) return -1;
    if (s && strcmp(s, "full") != 0) {
        cfg_err(err, err_len, "%s: field vision_feature_select_strategy: unsupported value \"%.40s\" (full expected)",
                src, s);
        return -1;
    }
    s = NULL;
    if (get_str(root, "projector_hidden_act", &s, src, err, err_len) < 0) return -1;
    if (s && strcmp(s, "gelu") != 0) {
        cfg_err(err, err_len, "%s: field projector_hidden_act: unsupported value \"%.40s\" (gelu expected)", src, s);
        return -1;
    }
    int pbias = 1;
    if (get_bool(root, "multimodal_projector_bias", &pbias, src, err, err_len) < 0) return -1;
    if (!pbias) {
        cfg_err(err, err_len, "%s: field multimodal_projector_bias: false is not supported", src);
        return -1;
    }
    cfg->projector = ENG_PROJ_MLP2X_GELU;
    cfg->pool_mode = ENG_POOL_BILINEAR; /* LlavaOnevisionModel.apply_pooling */
    cfg->pool_stride = 2;
    cfg->newline = ENG_NEWLINE_ONE_TOKEN;
    int use_nl = 1;
    if (get_bool(root, "use_image_newline_parameter", &use_nl, src, err, err_len) < 0) return -1;
    cfg->has_image_newline = use_nl;
    if (!use_nl) cfg->newline = ENG_NEWLINE_NONE;
    cfg->image_token_id = 151646;
    cfg->video_token_id = 151647;
    if (get_int(root, "image_token_index", 0, 100000000, &cfg->image_token_id, src, err, err_len) < 0) return -1;
    if (get_int(root, "video_token_index", 0, 100000000, &cfg->video_token_id, src, err, err_len) < 0) return -1;
    return 0;
}

/* The Qwen2.5-VL vision_config block (Qwen2_5_VLVisionConfig: absent keys take the class
 * defaults, as transformers would; the published files set every key). */
static int parse_qwen_vision(const cJSON *o, eng_qwen_vision_config *v, const char *where, char *err,
                             size_t err_len) {
    memset(v, 0, sizeof *v);
    v->depth = 32;
    v->hidden = 3584;
    v->n_heads = 16;
    v->intermediate = 3420;
    v->patch = 14;
    v->temporal_patch = 2;
    v->merge = 2;
    v->window = 112;
    v->out_hidden = 3584;
    v->tokens_per_second = 4;
    v->in_channels = 3;
    const int def_full[4] = {7, 15, 23, 31};
    v->n_fullatt = 4;
    memcpy(v->fullatt, def_full, sizeof def_full);
    if (get_int(o, "depth", 1, 1024, &v->depth, where, err, err_len) < 0) return -1;
    if (get_int(o, "hidden_size", 1, 65536, &v->hidden, where, err, err_len) < 0) return -1;
    if (get_int(o, "num_heads", 1, 1024, &v->n_heads, where, err, err_len) < 0) return -1;
    if (get_int(o, "intermediate_size", 1, 1 << 20, &v->intermediate, where, err, err_len) < 0) return -1;
    if (get_int(o, "patch_size", 1, 1024, &v->patch, where, err, err_len) < 0) return -1;
    int sp = v->patch;
    if (get_int(o, "spatial_patch_size", 1, 1024, &sp, where, err, err_len) < 0) return -1;
    if (sp != v->patch) {
        cfg_err(err, err_len, "%s: field spatial_patch_size: %d differs from patch_size %d", where, sp, v->patch);
        return -1;
    }
    if (get_int(o, "temporal_patch_size", 1, 64, &v->temporal_patch, where, err, err_len) < 0) return -1;
    if (get_int(o, "spatial_merge_size", 1, 64, &v->merge, where, err, err_len) < 0) return -1;
    if (get_int(o, "window_size", 1, 1 << 16, &v->window, where, err, err_len) < 0) return -1;
    if (get_int(o, "out_hidden_size", 1, 65536, &v->out_hidden, where, err, err_len) < 0) return -1;
    if (get_int(o, "tokens_per_second", 0, 1 << 20, &v->tokens_per_second, where, err, err_len) < 0) return -1;
    if (get_int(o, "in_channels", 1, 16, &v->in_channels, where, err, err_len) < 0) return -1;
    if (get_int(o, "in_chans", 1, 16, &v->in_channels, where, err, err_len) < 0) return -1;
    const char *act = NULL;
    if (get_str(o, "hidden_act", &act, where, err, err_len) < 0) return -1;
    if (act && strcmp(act, "silu") != 0) {
        cfg_err(err, err_len, "%s: field hidden_act: unsupported value \"%.40s\" (silu expected)", where, act);
        return -1;
    }
    const cJSON *fa = cJSON_GetObjectItemCaseSensitive(o, "fullatt_block_indexes");
    if (fa && !cJSON_IsNull(fa)) {
        if (!cJSON_IsArray(fa) || cJSON_GetArraySize(fa) > ENG_QWEN_MAX_FULLATT) {
            cfg_err(err, err_len, "%s: field fullatt_block_indexes: expected a list of at most %d block indexes", where,
                    ENG_QWEN_MAX_FULLATT);
            return -1;
        }
        v->n_fullatt = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, fa) {
            if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
                e->valuedouble >= v->depth) {
                cfg_err(err, err_len, "%s: field fullatt_block_indexes: item is not a block index in [0, %d)", where,
                        v->depth);
                return -1;
            }
            v->fullatt[v->n_fullatt++] = (int)e->valuedouble;
        }
    }
    if (v->hidden % v->n_heads != 0 || (v->hidden / v->n_heads) % 4 != 0) {
        cfg_err(err, err_len, "%s: hidden_size %d / num_heads %d must give a head dimension divisible by 4 (2-D RoPE)",
                where, v->hidden, v->n_heads);
        return -1;
    }
    v->head_dim = v->hidden / v->n_heads;
    if (v->window % (v->patch * v->merge) != 0) {
        cfg_err(err, err_len, "%s: window_size %d is not a multiple of patch_size x spatial_merge_size = %d", where,
                v->window, v->patch * v->merge);
        return -1;
    }
    return 0;
}

/* Qwen2.5-VL (model_type qwen2_5_vl): the LLM keys at the top level or under text_config, the
 * vision_config block, the special token ids (absent: the published 7B values). */
static int parse_qwen(const cJSON *root, eng_config *cfg, const char *src, char *err, size_t err_len) {
    cfg->layout = ENG_LAYOUT_QWEN25VL;
    char where[300];
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    const cJSON *lo = cJSON_IsObject(tc) ? tc : root;
    snprintf(where, sizeof where, "%s%s", src, lo == root ? "" : ": text_config");
    if (parse_llm_block(lo, &cfg->llm, where, cfg->mrope_section, err, err_len) < 0) return -1;
    /* Qwen2_5_VLConfig defaults differ from Qwen2Config's for absent keys */
    if (!cJSON_GetObjectItemCaseSensitive(lo, "rms_norm_eps")) cfg->llm.rms_norm_eps = 1e-5f;
    if (!cJSON_GetObjectItemCaseSensitive(lo, "rope_theta")) cfg->llm.rope_theta = 1000000.0;
    if (cfg->llm.tie_embeddings < 0) {
        int t = 0;
        if (get_bool(root, "tie_word_embeddings", &t, src, err, err_len) < 0) return -1;
        cfg->llm.tie_embeddings = t;
    }
    int sum = cfg->mrope_section[0] + cfg->mrope_section[1] + cfg->mrope_section[2];
    if (sum * 2 != cfg->llm.head_dim) {
        cfg_err(err, err_len, "%s: field rope_scaling.mrope_section: sums to %d, head_dim / 2 is %d", where, sum,
                cfg->llm.head_dim / 2);
        return -1;
    }
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    if (!cJSON_IsObject(vc)) {
        cfg_err(err, err_len, "%s: field vision_config: missing or not an object", src);
        return -1;
    }
    snprintf(where, sizeof where, "%s: vision_config", src);
    if (parse_qwen_vision(vc, &cfg->qv, where, err, err_len) < 0) return -1;
    if (cfg->qv.out_hidden != cfg->llm.hidden) {
        cfg_err(err, err_len, "%s: field out_hidden_size: %d but the LLM hidden size is %d", where, cfg->qv.out_hidden,
                cfg->llm.hidden);
        return -1;
    }
    /* the shared per-layer naming rule reads the tower's depth and widths from cfg->vision */
    memset(&cfg->vision, 0, sizeof cfg->vision);
    cfg->vision.hidden = cfg->qv.hidden;
    cfg->vision.n_heads = cfg->qv.n_heads;
    cfg->vision.head_dim = cfg->qv.head_dim;
    cfg->vision.intermediate = cfg->qv.intermediate;
    cfg->vision.patch_size = cfg->qv.patch;
    cfg->vision.n_layers = cfg->vision.n_layers_cfg = cfg->qv.depth;
    cfg->vision.n_channels = cfg->qv.in_channels;
    cfg->vision.layer_norm_eps = 1e-6f;
    cfg->newline = ENG_NEWLINE_NONE;
    cfg->has_image_newline = 0;
    cfg->image_token_id = 151655;
    cfg->video_token_id = 151656;
    cfg->vision_start_id = 151652;
    cfg->vision_end_id = 151653;
    if (get_int(root, "image_token_id", 0, 100000000, &cfg->image_token_id, src, err, err_len) < 0) return -1;
    if (get_int(root, "video_token_id", 0, 100000000, &cfg->video_token_id, src, err, err_len) < 0) return -1;
    if (get_int(root, "vision_start_token_id", 0, 100000000, &cfg->vision_start_id, src, err, err_len) < 0) return -1;
    if (get_int(root, "vision_end_token_id", 0, 100000000, &cfg->vision_end_id, src, err, err_len) < 0) return -1;
    int ids[4] = {cfg->image_token_id, cfg->video_token_id, cfg->vision_start_id, cfg->vision_end_id};
    for (int i = 0; i < 4; i++)
        if (ids[i] >= cfg->llm.vocab) {
            cfg_err(err, err_len, "%s: special token id %d is outside the vocabulary of %d rows", src, ids[i],
                    cfg->llm.vocab);
            return -1;
        }
    return 0;
}

int eng_config_parse(const char *json, size_t len, const char *source, eng_config *cfg, char *err, size_t err_len) {
    const char *src = source ? source : "config.json";
    memset(cfg, 0, sizeof *cfg);
    eng_generation_config_default(&cfg->gen);
    if (!json) {
        cfg_err(err, err_len, "%s: no text", src);
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cfg_err(err, err_len, "%s: not a JSON object", src);
        cJSON_Delete(root);
        return -1;
    }
    int rc = -1;
    const char *mt = NULL, *dt = NULL;
    if (get_str(root, "model_type", &mt, src, err, err_len) < 0) goto out;
    if (get_str(root, "torch_dtype", &dt, src, err, err_len) < 0) goto out;
    if (mt) copy_str(cfg->model_type, sizeof cfg->model_type, mt);
    if (dt) copy_str(cfg->torch_dtype, sizeof cfg->torch_dtype, dt);
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    if (mt && strcmp(mt, "qwen2_5_vl") == 0) {
        rc = parse_qwen(root, cfg, src, err, err_len);
    } else if ((tc && !cJSON_IsNull(tc)) || (mt && strcmp(mt, "llava_onevision") == 0)) {
        rc = parse_hf(root, cfg, src, err, err_len);
    } else if (cJSON_GetObjectItemCaseSensitive(root, "mm_vision_tower") ||
               cJSON_GetObjectItemCaseSensitive(root, "mm_projector_type") ||
               (mt && (strcmp(mt, "llava") == 0 || strcmp(mt, "llava_qwen") == 0))) {
        rc = parse_lmms(root, cfg, src, err, err_len);
    } else {
        cfg_err(err, err_len,
                "%s: unknown layout: neither text_config (llava-hf) nor mm_vision_tower (lmms-lab) is present", src);
    }
out:
    cJSON_Delete(root);
    return rc;
}

int eng_generation_config_parse(const char *json, size_t len, const char *source, eng_generation_config *gen, char *err,
                                size_t err_len) {
    const char *src = source ? source : "generation_config.json";
    eng_generation_config_default(gen);
    cJSON *root = json ? cJSON_ParseWithLength(json, len) : NULL;
    if (!root || !cJSON_IsObject(root)) {
        cfg_err(err, err_len, "%s: not a JSON object", src);
        cJSON_Delete(root);
        return -1;
    }
    int rc = -1;
    if (get_id_list(root, "eos_token_id", gen->eos_ids, &gen->n_eos, src, err, err_len) < 0) goto out;
    if (get_int(root, "bos_token_id", 0, 100000000, &gen->bos_id, src, err, err_len) < 0) goto out;
    if (get_int(root, "pad_token_id", 0, 100000000, &gen->pad_id, src, err, err_len) < 0) goto out;
    if (get_double(root, "repetition_penalty", 1e-6, 1e6, &gen->repetition_penalty, src, err, err_len) < 0) goto out;
    if (get_bool(root, "do_sample", &gen->do_sample, src, err, err_len) < 0) goto out;
    if (get_double(root, "temperature", 0.0, 1e6, &gen->temperature, src, err, err_len) < 0) goto out;
    if (get_double(root, "top_p", 0.0, 1.0, &gen->top_p, src, err, err_len) < 0) goto out;
    if (get_int(root, "top_k", 0, 100000000, &gen->top_k, src, err, err_len) < 0) goto out;
    if (get_int(root, "max_new_tokens", 0, 100000000, &gen->max_new_tokens, src, err, err_len) < 0) goto out;
    gen->present = 1;
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- files --------------------------------------------------------------------------------- */

/* Reads a whole (small) file; NULL with err set. *missing = 1 when it does not exist. */
static char *slurp(const char *path, size_t *len, int *missing, char *err, size_t err_len) {
    *missing = 0;
    errno = 0;
    FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, err_len);
    if (!f) {
        *missing = errno == ENOENT;
        return NULL;
    }
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n == cap) {
            if (cap >= CFG_MAX_FILE) {
                cfg_err(err, err_len, "%s: larger than %u bytes", path, CFG_MAX_FILE);
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (buf && ferror(f)) {
        cfg_err(err, err_len, "%s: read error", path);
        free(buf);
        buf = NULL;
    } else if (!buf && err && err_len && !err[0]) {
        cfg_err(err, err_len, "%s: out of memory", path);
    }
    fclose(f);
    if (buf) *len = n;
    return buf;
}

/* dir + "/" + name into out; -1 when it does not fit. */
static int join(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    int w = snprintf(out, cap, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int eng_config_load(const char *dir, eng_config *cfg, char *err, size_t err_len) {
    if (err && err_len) err[0] = '\0';
    char path[4096];
    size_t len = 0;
    int missing = 0;
    if (join(path, sizeof path, dir, "config.json") != 0) {
        cfg_err(err, err_len, "%.100s...: path too long", dir);
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    char *text = slurp(path, &len, &missing, err, err_len);
    if (!text) {
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    int rc = eng_config_parse(text, len, path, cfg, err, err_len);
    free(text);
    if (rc != 0) return -1;
    if (join(path, sizeof path, dir, "generation_config.json") != 0) {
        cfg_err(err, err_len, "%.100s...: path too long", dir);
        return -1;
    }
    text = slurp(path, &len, &missing, err, err_len);
    if (!text) {
        if (missing) {
            if (err && err_len) err[0] = '\0';
            return 0;
        }
        return -1;
    }
    rc = eng_generation_config_parse(text, len, path, &cfg->gen, err, err_len);
    free(text);
    return rc;
}

int eng_siglip_config_load(const char *path, eng_vision_config *out, char *err, size_t err_len) {
    char p[4096];
    struct stat sb;
    int w = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) ? join(p, sizeof p, path, "config.json")
                                                        : (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p ? -1 : 0);
    if (w != 0) {
        cfg_err(err, err_len, "%.100s...: path too long", path);
        return -1;
    }
    size_t len = 0;
    int missing = 0;
    char *text = slurp(p, &len, &missing, err, err_len);
    if (!text) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    int rc = -1;
    if (!root || !cJSON_IsObject(root)) {
        cfg_err(err, err_len, "%s: not a JSON object", p);
        goto out;
    }
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    if (vc && !cJSON_IsObject(vc)) {
        cfg_err(err, err_len, "%s: field vision_config: expected an object", p);
        goto out;
    }
    vision_hf_defaults(out);
    char where[4200];
    snprintf(where, sizeof where, "%s%s", p, vc ? ": vision_config" : "");
    if (parse_vision_block(vc ? vc : root, out, where, err, err_len) < 0) goto out;
    out->select_layer = -1; /* the head reads the last layer the LLaVA tower runs; keep all here */
    if (finish_vision(out, where, err, err_len) < 0) goto out;
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int eng_siglip_config_check(const eng_vision_config *llava, const eng_vision_config *siglip, char *err,
                            size_t err_len) {
    if (llava->hidden != siglip->hidden || llava->n_heads != siglip->n_heads ||
        llava->intermediate != siglip->intermediate) {
        cfg_err(err, err_len,
                "SigLIP head checkpoint does not match the vision tower: hidden %d/%d, heads %d/%d, intermediate "
                "%d/%d (LLaVA/SigLIP)",
                llava->hidden, siglip->hidden, llava->n_heads, siglip->n_heads, llava->intermediate,
                siglip->intermediate);
        return -1;
    }
    return 0;
}

int eng_config_pooled_grid(const eng_config *cfg, eng_pool_mode mode) {
    int g = cfg->vision.grid, s = cfg->pool_stride > 0 ? cfg->pool_stride : 2;
    return mode == ENG_POOL_BILINEAR ? (g + s - 1) / s : g / s;
}

const char *eng_layout_str(eng_layout l) {
    return l == ENG_LAYOUT_QWEN25VL ? "qwen2.5-vl" : l == ENG_LAYOUT_HF ? "hf" : "lmms";
}

const char *eng_pool_mode_str(eng_pool_mode m) {
    switch (m) {
    case ENG_POOL_BILINEAR:
        return "bilinear";
    case ENG_POOL_AVERAGE:
        return "average";
    case ENG_POOL_MAX:
        return "max";
    }
    return "?";
}

const char *eng_newline_str(eng_newline_pos n) {
    switch (n) {
    case ENG_NEWLINE_ONE_TOKEN:
        return "one_token";
    case ENG_NEWLINE_GRID:
        return "grid";
    case ENG_NEWLINE_FRAME:
        return "frame";
    case ENG_NEWLINE_NONE:
        return "no_token";
    }
    return "?";
}
