/* tiny_model.c - writes the deterministic tiny LLaVA checkpoint described in tiny_model.h.
 *
 * The config.json text is built first and parsed back with eng_config_parse, and every tensor's
 * name and shape then come from eng_tensor_name / eng_tensor_shape, so the files hold exactly the
 * names and shape relations the loader expects of a real checkpoint of that layout. Weights come
 * from a per-(tensor id, layer) SplitMix64 stream seeded by the user seed; nothing depends on the
 * clock, the directory or the host.
 *
 * Storage is F32 by default; params.dtype BF16 (as the real lmms files) or F16 (as llava-hf) rounds
 * the same numbers to nearest even. Not done: the SigLIP text tower.
 */
#include "engine/tiny_model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/rng.h"
#include "engine/tokenizer.h"

/* ---- the tiny configuration ---------------------------------------------------------------- */

enum {
    TINY_IMAGE = 100,
    TINY_PATCH = 14,
    TINY_V_HIDDEN = 48,
    TINY_V_HEADS = 4,
    TINY_V_MLP = 88,
    TINY_V_LAYERS_LMMS = 3, /* with select layer -2 -> 2 run and stored */
    TINY_V_LAYERS_HF = 2,   /* with vision_feature_layer -1 -> 2 */
    TINY_HIDDEN = 64,
    TINY_LAYERS = 4,
    TINY_HEADS = 4,
    TINY_KV_HEADS = 2,
    TINY_MLP = 128,
    TINY_MAX_POS = 4096,
    /* Qwen2.5-VL tiny tower: depth 4 with full attention in blocks 1 and 3 (the spec's executed
     * oracle shape), head_dim 12 (2-D RoPE: 3 + 3 frequency pairs), the real patch / temporal /
     * merge / window sizes, so windows, padding and the merger run their real code */
    TINY_QV_DEPTH = 4,
    TINY_QV_HIDDEN = 48,
    TINY_QV_HEADS = 4,
    TINY_QV_MLP = 88,
};

static void tm_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tm_err(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

eng_tiny_params eng_tiny_default_params(void) {
    eng_tiny_params p;
    memset(&p, 0, sizeof p);
    p.layout = ENG_LAYOUT_LMMS;
    p.seed = 1;
    p.shards = 1;
    p.video = 0;
    p.dtype = ST_F32;
    p.llm_layers = TINY_LAYERS;
    p.image_size = TINY_IMAGE;
    return p;
}

static int check_params(const eng_tiny_params *p, char *err, size_t err_len) {
    if (p->layout != ENG_LAYOUT_LMMS && p->layout != ENG_LAYOUT_HF && p->layout != ENG_LAYOUT_QWEN25VL) {
        tm_err(err, err_len, "tiny model: unknown layout %d", (int)p->layout);
        return -1;
    }
    if (p->shards != 1 && p->shards != 2) {
        tm_err(err, err_len, "tiny model: shards must be 1 or 2, got %d", p->shards);
        return -1;
    }
    if (p->dtype != ST_F32 && p->dtype != ST_F16 && p->dtype != ST_BF16) {
        tm_err(err, err_len, "tiny model: unknown dtype %d", (int)p->dtype);
        return -1;
    }
    if (p->image_size != 0 && (p->image_size < 2 * TINY_PATCH || p->image_size > 1024)) {
        tm_err(err, err_len, "tiny model: image_size must be in %d..1024 (0 = default), got %d", 2 * TINY_PATCH,
               p->image_size);
        return -1;
    }
    if (p->llm_layers < 0 || p->llm_layers > 64) {
        tm_err(err, err_len, "tiny model: llm_layers must be in 1..64 (0 = default), got %d", p->llm_layers);
        return -1;
    }
    if (p->video && p->layout == ENG_LAYOUT_HF) {
        tm_err(err, err_len, "tiny model: the LLaVA-Video flavour exists only in the lmms layout");
        return -1;
    }
    return 0;
}

static const char *dtype_name(st_dtype dt) {
    return dt == ST_BF16 ? "bfloat16" : dt == ST_F16 ? "float16" : "float32";
}

static int tiny_image(const eng_tiny_params *p) { return p->image_size > 0 ? p->image_size : TINY_IMAGE; }

/* The shapes a config.json names, so that the tiny and the full-size writers share one key set
 * per block. */
typedef struct {
    int hidden, mlp, heads, layers, image_size, patch;
} siglip_dims;

typedef struct {
    int hidden, mlp, layers, heads, kv_heads, vocab, max_pos, bos, eos;
} qwen2_dims;

typedef struct {
    int depth, hidden, mlp, heads, out_hidden, patch;
    int fullatt_first, fullatt_step; /* fullatt_block_indexes: first, first + step, ... < depth */
} qwen_vit_dims;

/* A SigLIP vision block (hf: the HF LLaVA-OV layout's vision_use_head = false). */
static cJSON *siglip_block(const siglip_dims *d, int hf) {
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "model_type", "siglip_vision_model");
    cJSON_AddNumberToObject(v, "hidden_size", d->hidden);
    cJSON_AddNumberToObject(v, "image_size", d->image_size);
    cJSON_AddNumberToObject(v, "intermediate_size", d->mlp);
    cJSON_AddNumberToObject(v, "num_attention_heads", d->heads);
    cJSON_AddNumberToObject(v, "num_hidden_layers", d->layers);
    cJSON_AddNumberToObject(v, "patch_size", d->patch);
    cJSON_AddNumberToObject(v, "num_channels", 3);
    cJSON_AddNumberToObject(v, "layer_norm_eps", 1e-6);
    cJSON_AddStringToObject(v, "hidden_act", "gelu_pytorch_tanh");
    if (hf) cJSON_AddBoolToObject(v, "vision_use_head", 0);
    return v;
}

static cJSON *vision_block(int n_layers, int hf, int image_size) {
    siglip_dims d = {TINY_V_HIDDEN, TINY_V_MLP, TINY_V_HEADS, n_layers, image_size, TINY_PATCH};
    return siglip_block(&d, hf);
}

/* Qwen2 keys into o (the root for lmms and Qwen2.5-VL, text_config for hf). */
static void qwen2_keys(cJSON *o, const qwen2_dims *d) {
    cJSON_AddNumberToObject(o, "hidden_size", d->hidden);
    cJSON_AddNumberToObject(o, "intermediate_size", d->mlp);
    cJSON_AddNumberToObject(o, "num_hidden_layers", d->layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", d->heads);
    cJSON_AddNumberToObject(o, "num_key_value_heads", d->kv_heads);
    cJSON_AddNumberToObject(o, "vocab_size", d->vocab);
    cJSON_AddNumberToObject(o, "max_position_embeddings", d->max_pos);
    cJSON_AddNumberToObject(o, "rope_theta", 1000000.0);
    cJSON_AddNumberToObject(o, "rms_norm_eps", 1e-6);
    cJSON_AddStringToObject(o, "hidden_act", "silu");
    cJSON_AddBoolToObject(o, "tie_word_embeddings", 0);
    cJSON_AddBoolToObject(o, "use_sliding_window", 0);
    cJSON_AddNullToObject(o, "rope_scaling");
    cJSON_AddNumberToObject(o, "attention_dropout", 0.0);
    cJSON_AddNumberToObject(o, "bos_token_id", d->bos);
    cJSON_AddNumberToObject(o, "eos_token_id", d->eos);
}

static void llm_keys(cJSON *o, int n_layers) {
    const qwen2_dims d = {TINY_HIDDEN, TINY_MLP,     n_layers,         TINY_HEADS,        TINY_KV_HEADS,
                          ENG_TINY_VOCAB, TINY_MAX_POS, ENG_TINY_ID_ENDOFTEXT, ENG_TINY_ID_IM_END};
    qwen2_keys(o, &d);
}

/* Qwen2.5-VL's additions to the Qwen2 keys: M-RoPE sections (t, h, w pairs), the sliding-window
 * keys, the video token ids, and the ViT in vision_config (transformers 4.50 key set). */
static void qwen25vl_keys(cJSON *r, const int mrope[3], int sliding_window, int max_window_layers,
                          const int ids[5], const qwen_vit_dims *vd) {
    cJSON_DeleteItemFromObject(r, "rope_scaling");
    cJSON *rs = cJSON_AddObjectToObject(r, "rope_scaling");
    cJSON_AddStringToObject(rs, "type", "mrope");
    cJSON *ms = cJSON_AddArrayToObject(rs, "mrope_section");
    for (int k = 0; k < 3; k++) cJSON_AddItemToArray(ms, cJSON_CreateNumber(mrope[k]));
    cJSON_AddNumberToObject(r, "sliding_window", sliding_window);
    cJSON_AddNumberToObject(r, "max_window_layers", max_window_layers);
    static const char *const id_keys[5] = {"vision_start_token_id", "vision_end_token_id", "vision_token_id",
                                           "image_token_id", "video_token_id"};
    for (int k = 0; k < 5; k++) cJSON_AddNumberToObject(r, id_keys[k], ids[k]);
    cJSON *v = cJSON_AddObjectToObject(r, "vision_config");
    cJSON_AddNumberToObject(v, "depth", vd->depth);
    cJSON_AddNumberToObject(v, "hidden_size", vd->hidden);
    cJSON_AddStringToObject(v, "hidden_act", "silu");
    cJSON_AddNumberToObject(v, "intermediate_size", vd->mlp);
    cJSON_AddNumberToObject(v, "num_heads", vd->heads);
    cJSON_AddNumberToObject(v, "in_chans", 3);
    cJSON_AddNumberToObject(v, "out_hidden_size", vd->out_hidden);
    cJSON_AddNumberToObject(v, "patch_size", vd->patch);
    cJSON_AddNumberToObject(v, "spatial_merge_size", 2);
    cJSON_AddNumberToObject(v, "spatial_patch_size", vd->patch);
    cJSON_AddNumberToObject(v, "temporal_patch_size", 2);
    cJSON_AddNumberToObject(v, "window_size", 112);
    cJSON *fa = cJSON_AddArrayToObject(v, "fullatt_block_indexes");
    for (int b = vd->fullatt_first; b < vd->depth; b += vd->fullatt_step) cJSON_AddItemToArray(fa, cJSON_CreateNumber(b));
    cJSON_AddNumberToObject(v, "tokens_per_second", 2);
}

/* The Qwen2.5-VL config.json (transformers 4.50 key set; spec qwen25vl.md §1). */
static void qwen_config(cJSON *r, const eng_tiny_params *p) {
    cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("Qwen2_5_VLForConditionalGeneration"));
    cJSON_AddStringToObject(r, "model_type", "qwen2_5_vl");
    int layers = p->llm_layers > 0 ? p->llm_layers : TINY_LAYERS;
    llm_keys(r, layers);
    int hd2 = TINY_HIDDEN / TINY_HEADS / 2, t = hd2 / 4, h = (hd2 - t) / 2; /* 8 pairs -> 2, 3, 3 */
    const int mrope[3] = {t, h, hd2 - t - h};
    const int ids[5] = {ENG_TINY_ID_VISION_START, ENG_TINY_ID_VISION_END, ENG_TINY_ID_VISION_PAD,
                        ENG_TINY_ID_IMAGE_PAD, ENG_TINY_ID_VIDEO_PAD};
    const qwen_vit_dims vd = {TINY_QV_DEPTH, TINY_QV_HIDDEN, TINY_QV_MLP, TINY_QV_HEADS, TINY_HIDDEN, TINY_PATCH, 1, 2};
    qwen25vl_keys(r, mrope, TINY_MAX_POS, layers, ids, &vd);
    cJSON_AddStringToObject(r, "torch_dtype", dtype_name(p->dtype));
}

/* config.json text (caller frees with free()). */
static char *config_json(const eng_tiny_params *p) {
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    if (p->layout == ENG_LAYOUT_QWEN25VL) {
        qwen_config(r, p);
    } else if (p->layout == ENG_LAYOUT_LMMS) {
        cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
        cJSON_AddItemToArray(arch, cJSON_CreateString("LlavaQwenForCausalLM"));
        cJSON_AddStringToObject(r, "_name_or_path",
                                p->video ? "tango-bench/tiny-llava-video" : "tango-bench/tiny-llava-ov");
        cJSON_AddStringToObject(r, "model_type", "llava");
        llm_keys(r, p->llm_layers > 0 ? p->llm_layers : TINY_LAYERS);
        cJSON_AddStringToObject(r, "torch_dtype", dtype_name(p->dtype));
        cJSON_AddStringToObject(r, "mm_vision_tower", "google/siglip-so400m-patch14-384");
        cJSON_AddNumberToObject(r, "mm_hidden_size", TINY_V_HIDDEN);
        cJSON_AddStringToObject(r, "mm_projector_type", "mlp2x_gelu");
        cJSON_AddNumberToObject(r, "mm_vision_select_layer", -2);
        cJSON_AddStringToObject(r, "mm_vision_select_feature", "patch");
        cJSON_AddStringToObject(r, "mm_patch_merge_type", "spatial_unpad");
        cJSON_AddStringToObject(r, "mm_spatial_pool_mode", "bilinear");
        cJSON_AddNumberToObject(r, "mm_spatial_pool_stride", 2);
        cJSON_AddStringToObject(r, "mm_newline_position", p->video ? "grid" : "one_token");
        cJSON_AddBoolToObject(r, "mm_use_im_start_end", 0);
        cJSON_AddBoolToObject(r, "mm_use_im_patch_token", 0);
        cJSON_AddStringToObject(r, "image_aspect_ratio", "anyres_max_9");
        cJSON_AddNumberToObject(r, "tokenizer_model_max_length", TINY_MAX_POS);
        if (p->video) {
            cJSON_AddBoolToObject(r, "add_faster_video", 0);
            cJSON_AddBoolToObject(r, "force_sample", 1);
            cJSON_AddBoolToObject(r, "add_time_instruction", 1);
        }
        cJSON_AddItemToObject(r, "vision_config", vision_block(TINY_V_LAYERS_LMMS, 0, tiny_image(p)));
    } else {
        cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
        cJSON_AddItemToArray(arch, cJSON_CreateString("LlavaOnevisionForConditionalGeneration"));
        cJSON_AddStringToObject(r, "model_type", "llava_onevision");
        cJSON_AddNumberToObject(r, "image_token_index", ENG_TINY_ID_IMAGE);
        cJSON_AddNumberToObject(r, "video_token_index", ENG_TINY_ID_VIDEO);
        cJSON_AddStringToObject(r, "projector_hidden_act", "gelu");
        cJSON_AddNumberToObject(r, "vision_feature_layer", -1);
        cJSON_AddStringToObject(r, "vision_feature_select_strategy", "full");
        cJSON_AddStringToObject(r, "vision_aspect_ratio", "anyres_max_9");
        cJSON_AddBoolToObject(r, "use_image_newline_parameter", 1);
        cJSON_AddBoolToObject(r, "tie_word_embeddings", 0);
        cJSON_AddStringToObject(r, "torch_dtype", dtype_name(p->dtype));
        cJSON *tc = cJSON_CreateObject();
        cJSON_AddStringToObject(tc, "model_type", "qwen2");
        cJSON *ta = cJSON_AddArrayToObject(tc, "architectures");
        cJSON_AddItemToArray(ta, cJSON_CreateString("Qwen2ForCausalLM"));
        llm_keys(tc, p->llm_layers > 0 ? p->llm_layers : TINY_LAYERS);
        cJSON_AddItemToObject(r, "text_config", tc);
        cJSON_AddItemToObject(r, "vision_config", vision_block(TINY_V_LAYERS_HF, 1, tiny_image(p)));
    }
    char *s = cJSON_Print(r);
    cJSON_Delete(r);
    return s;
}

static char *generation_json(const eng_tiny_params *p) {
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    cJSON_AddNumberToObject(r, "bos_token_id", ENG_TINY_ID_ENDOFTEXT);
    cJSON_AddNumberToObject(r, "pad_token_id", ENG_TINY_ID_ENDOFTEXT);
    if (p->layout == ENG_LAYOUT_LMMS) {
        /* as Qwen2-7B-Instruct's file, which the lmms-lab checkpoints carry (spec §5.5) */
        cJSON *eos = cJSON_AddArrayToObject(r, "eos_token_id");
        cJSON_AddItemToArray(eos, cJSON_CreateNumber(ENG_TINY_ID_IM_END));
        cJSON_AddItemToArray(eos, cJSON_CreateNumber(ENG_TINY_ID_ENDOFTEXT));
        cJSON_AddBoolToObject(r, "do_sample", 1);
        cJSON_AddNumberToObject(r, "repetition_penalty", 1.05);
        cJSON_AddNumberToObject(r, "temperature", 0.7);
        cJSON_AddNumberToObject(r, "top_k", 20);
        cJSON_AddNumberToObject(r, "top_p", 0.8);
    } else {
        cJSON_AddNumberToObject(r, "eos_token_id", ENG_TINY_ID_IM_END); /* hf: no repetition penalty */
    }
    char *s = cJSON_Print(r);
    cJSON_Delete(r);
    return s;
}

int eng_tiny_config(const eng_tiny_params *p, eng_config *cfg, char *err, size_t err_len) {
    memset(cfg, 0, sizeof *cfg);
    if (check_params(p, err, err_len) != 0) return -1;
    char *c = config_json(p), *g = generation_json(p);
    int rc = -1;
    if (!c || !g) {
        tm_err(err, err_len, "tiny model: out of memory");
    } else if (eng_config_parse(c, strlen(c), "tiny config.json", cfg, err, err_len) == 0 &&
               eng_generation_config_parse(g, strlen(g), "tiny generation_config.json", &cfg->gen, err, err_len) == 0) {
        rc = 0;
    }
    free(c);
    free(g);
    return rc;
}

/* ---- random numbers ------------------------------------------------------------------------ */

/* Approximately standard normal: (sum of 4 uniforms - 2) * sqrt(3); exact double arithmetic. */
static float tiny_normal(uint64_t *s) {
    double acc = 0.0;
    for (int i = 0; i < 4; i++)
        acc += (double)(tb_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)((acc - 2.0) * 1.7320508075688772);
}

typedef enum { K_LINEAR, K_BIAS, K_NORM_W, K_NORM_B, K_TABLE } init_kind;

static init_kind kind_of(eng_tensor_id id) {
    switch (id) {
    case ENG_T_V_PATCH_B:
    case ENG_T_V_Q_B:
    case ENG_T_V_K_B:
    case ENG_T_V_V_B:
    case ENG_T_V_O_B:
    case ENG_T_V_FC1_B:
    case ENG_T_V_FC2_B:
    case ENG_T_PROJ1_B:
    case ENG_T_PROJ2_B:
    case ENG_T_L_Q_B:
    case ENG_T_L_K_B:
    case ENG_T_L_V_B:
    case ENG_T_SIG_IN_B:
    case ENG_T_SIG_OUT_B:
    case ENG_T_SIG_FC1_B:
    case ENG_T_SIG_FC2_B:
    case ENG_T_QV_QKV_B:
    case ENG_T_QV_PROJ_B:
    case ENG_T_QV_GATE_B:
    case ENG_T_QV_UP_B:
    case ENG_T_QV_DOWN_B:
    case ENG_T_QV_MERGE1_B:
    case ENG_T_QV_MERGE2_B:
        return K_BIAS;
    case ENG_T_V_LN1_W:
    case ENG_T_V_LN2_W:
    case ENG_T_V_POST_LN_W:
    case ENG_T_L_IN_NORM:
    case ENG_T_L_POST_NORM:
    case ENG_T_NORM:
    case ENG_T_SIG_POST_LN_W:
    case ENG_T_SIG_LN_W:
    case ENG_T_QV_NORM1_W:
    case ENG_T_QV_NORM2_W:
    case ENG_T_QV_MERGE_LN_W:
        return K_NORM_W;
    case ENG_T_V_LN1_B:
    case ENG_T_V_LN2_B:
    case ENG_T_V_POST_LN_B:
    case ENG_T_SIG_POST_LN_B:
    case ENG_T_SIG_LN_B:
        return K_NORM_B;
    case ENG_T_V_POS:
    case ENG_T_EMBED:
    case ENG_T_NEWLINE:
    case ENG_T_SIG_PROBE:
        return K_TABLE;
    default:
        return K_LINEAR;
    }
}

/* Fills data[numel] for (id, layer) of the given shape. */
static void fill(float *data, size_t numel, eng_tensor_id id, int layer, int ndim, const int64_t *shape,
                 uint64_t seed) {
    uint64_t s = seed * 0x100000001b3ull + ((uint64_t)id << 32) + (uint64_t)(layer + 1) * 0x9e3779b9ull;
    (void)tb_splitmix64(&s);
    init_kind k = kind_of(id);
    double fan_in = 1.0;
    for (int i = 1; i < ndim; i++)
        fan_in *= (double)shape[i];
    float scale = k == K_LINEAR ? (float)(1.0 / sqrt(fan_in)) : k == K_TABLE ? 0.5f : k == K_NORM_W ? 0.05f : 0.02f;
    for (size_t i = 0; i < numel; i++) {
        float v = tiny_normal(&s) * scale;
        data[i] = k == K_NORM_W ? 1.0f + v : v;
    }
}

/* ---- files --------------------------------------------------------------------------------- */

/* dir + "/" + name into out; eng_tiny_model_write bounds dir so this cannot truncate. */
static void join(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    int w = snprintf(out, cap, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
    if (w < 0 || (size_t)w >= cap) out[0] = '\0';
}

static int mkdir_p(const char *path, char *err, size_t err_len) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        tm_err(err, err_len, "%s: bad directory path", path);
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                tm_err(err, err_len, "%s: cannot create directory: %s", buf, strerror(errno));
                return -1;
            }
            buf[i] = c;
        }
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        tm_err(err, err_len, "%s: not a directory", path);
        return -1;
    }
    return 0;
}

static int write_text(const char *dir, const char *name, const char *text, char *err, size_t err_len) {
    char path[4096], tmp[4200];
    join(path, sizeof path, dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        tm_err(err, err_len, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n && fputc('\n', f) != EOF;
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        tm_err(err, err_len, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Writes a cJSON tree as a file and deletes the tree. */
static int write_json(const char *dir, const char *name, cJSON *root, char *err, size_t err_len) {
    char *s = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!s) {
        tm_err(err, err_len, "%s/%s: out of memory", dir, name);
        return -1;
    }
    int rc = write_text(dir, name, s, err, err_len);
    free(s);
    return rc;
}

/* ---- tokenizer ----------------------------------------------------------------------------- */

/* GPT-2 bytes_to_unicode: the byte -> code point map and the id order of the 256 byte tokens
 * (printable ranges first, then the remaining bytes mapped to U+0100.. in byte order). */
static void byte_order(int order[256], int cp[256]) {
    int n = 0, extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            order[n++] = b;
            cp[b] = b;
        }
    }
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (!printable) {
            order[n++] = b;
            cp[b] = 256 + extra++;
        }
    }
}

static size_t put_utf8(char *out, int c) {
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

/* Merges in rank order, as "left right" in the byte-level alphabet ("Ġ" = space, "Ċ" = "\n").
 * Each part is a token that exists by then. */
static const char *const k_merges[ENG_TINY_N_MERGES] = {
    "Ġ t",     "h e", "i n", "Ġt he", "e r", "o n",   "Ġ a", "r e", "a t", "e n", "Ġ s",  "o r",  "Ġ w", "Ġ o",
    "e s",     "i s", "Ġ i", "Ġ c",   "a n", "i t",   "Ġ f", "a r", "Ġ p", "Ġ b", "Ġ v",  "i d",  "e o", "Ġv id",
    "Ġvid eo", "o u", "Ġ y", "Ġy ou", "Ġ h", "Ġa re", "s t", "Ċ Ċ", "Ġ A", "Ġ Q", "Ġt o", "in g",
};

/* Builds the vocab (token string -> id) of the byte tokens and merges; tokens[i] owned by caller. */
static int tiny_vocab(char *tokens[256 + ENG_TINY_N_MERGES]) {
    int order[256], cp[256];
    byte_order(order, cp);
    for (int i = 0; i < 256; i++) {
        tokens[i] = calloc(4, 1);
        if (!tokens[i]) return -1;
        put_utf8(tokens[i], cp[order[i]]);
    }
    for (int m = 0; m < ENG_TINY_N_MERGES; m++) {
        const char *sp = strchr(k_merges[m], ' ');
        size_t a = (size_t)(sp - k_merges[m]), b = strlen(sp + 1);
        tokens[256 + m] = malloc(a + b + 1);
        if (!tokens[256 + m]) return -1;
        memcpy(tokens[256 + m], k_merges[m], a);
        memcpy(tokens[256 + m] + a, sp + 1, b + 1);
    }
    return 0;
}

static cJSON *bytelevel(const char *type, int with_regex) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddBoolToObject(o, "add_prefix_space", 0);
    cJSON_AddBoolToObject(o, "trim_offsets", 0);
    cJSON_AddBoolToObject(o, "use_regex", with_regex);
    return o;
}

static const char *const k_pretok_regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

static int write_tokenizer(const char *dir, const eng_tiny_params *p, char *err, size_t err_len) {
    char *tokens[256 + ENG_TINY_N_MERGES] = {0};
    int rc = -1;
    if (tiny_vocab(tokens) != 0) {
        tm_err(err, err_len, "%s: out of memory", dir);
        goto out;
    }
    const char *added_llava[5] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"};
    const char *added_qwen[8] = {"<|endoftext|>",  "<|im_start|>", "<|im_end|>",   "<|vision_start|>",
                                 "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"};
    const char *const *added = p->layout == ENG_LAYOUT_QWEN25VL ? added_qwen : added_llava;
    int n_added = p->layout == ENG_LAYOUT_QWEN25VL ? 8 : p->layout == ENG_LAYOUT_HF ? 5 : 3;

    /* tokenizer.json */
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "version", "1.0");
    cJSON_AddNullToObject(r, "truncation");
    cJSON_AddNullToObject(r, "padding");
    cJSON *at = cJSON_AddArrayToObject(r, "added_tokens");
    for (int i = 0; i < n_added; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", ENG_TINY_ID_ENDOFTEXT + i);
        cJSON_AddStringToObject(t, "content", added[i]);
        cJSON_AddBoolToObject(t, "single_word", 0);
        cJSON_AddBoolToObject(t, "lstrip", 0);
        cJSON_AddBoolToObject(t, "rstrip", 0);
        cJSON_AddBoolToObject(t, "normalized", 0);
        cJSON_AddBoolToObject(t, "special", 1);
        cJSON_AddItemToArray(at, t);
    }
    cJSON *norm = cJSON_AddObjectToObject(r, "normalizer");
    cJSON_AddStringToObject(norm, "type", "NFC");
    cJSON *pre = cJSON_AddObjectToObject(r, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *pts = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON *pat = cJSON_AddObjectToObject(split, "pattern");
    cJSON_AddStringToObject(pat, "Regex", k_pretok_regex);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", 0);
    cJSON_AddItemToArray(pts, split);
    cJSON_AddItemToArray(pts, bytelevel("ByteLevel", 0));
    cJSON_AddItemToObject(r, "post_processor", bytelevel("ByteLevel", 0));
    cJSON_AddItemToObject(r, "decoder", bytelevel("ByteLevel", 0));
    cJSON *model = cJSON_AddObjectToObject(r, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "");
    cJSON_AddStringToObject(model, "end_of_word_suffix", "");
    cJSON_AddBoolToObject(model, "fuse_unk", 0);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddBoolToObject(model, "ignore_merges", 0);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    cJSON *vjson = cJSON_CreateObject(); /* vocab.json twin */
    for (int i = 0; i < 256 + ENG_TINY_N_MERGES; i++) {
        cJSON_AddNumberToObject(vocab, tokens[i], i);
        cJSON_AddNumberToObject(vjson, tokens[i], i);
    }
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    for (int m = 0; m < ENG_TINY_N_MERGES; m++)
        cJSON_AddItemToArray(merges, cJSON_CreateString(k_merges[m]));
    if (write_json(dir, "tokenizer.json", r, err, err_len) != 0) {
        cJSON_Delete(vjson);
        goto out;
    }
    if (write_json(dir, "vocab.json", vjson, err, err_len) != 0) goto out;

    /* merges.txt (with the "#version" first line the slow tokenizer skips) */
    size_t cap = 64 + (size_t)ENG_TINY_N_MERGES * 32, k = 0; /* merges are < 16 bytes */
    char *mt = malloc(cap);
    if (!mt) goto out;
    k += (size_t)snprintf(mt + k, cap - k, "#version: 0.2");
    for (int m = 0; m < ENG_TINY_N_MERGES; m++)
        k += (size_t)snprintf(mt + k, cap - k, "\n%s", k_merges[m]);
    int w = write_text(dir, "merges.txt", mt, err, err_len);
    free(mt);
    if (w != 0) goto out;

    /* added_tokens.json, tokenizer_config.json */
    cJSON *ad = cJSON_CreateObject();
    for (int i = 0; i < n_added; i++)
        cJSON_AddNumberToObject(ad, added[i], ENG_TINY_ID_ENDOFTEXT + i);
    if (write_json(dir, "added_tokens.json", ad, err, err_len) != 0) goto out;
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddBoolToObject(tc, "add_prefix_space", 0);
    cJSON_AddNullToObject(tc, "bos_token");
    cJSON_AddStringToObject(tc, "eos_token", "<|im_end|>");
    cJSON_AddStringToObject(tc, "pad_token", "<|endoftext|>");
    cJSON_AddNullToObject(tc, "unk_token");
    cJSON_AddBoolToObject(tc, "clean_up_tokenization_spaces", 0);
    cJSON_AddBoolToObject(tc, "split_special_tokens", 0);
    cJSON_AddNumberToObject(tc, "model_max_length", TINY_MAX_POS);
    cJSON_AddStringToObject(tc, "tokenizer_class", "Qwen2Tokenizer");
    cJSON_AddStringToObject(tc, "errors", "replace");
    if (write_json(dir, "tokenizer_config.json", tc, err, err_len) != 0) goto out;
    rc = 0;
out:
    for (int i = 0; i < 256 + ENG_TINY_N_MERGES; i++)
        free(tokens[i]);
    return rc;
}

/* ---- weights ------------------------------------------------------------------------------- */

typedef struct {
    st_write_tensor *t; /* names and data owned */
    size_t n, cap;
} tensor_list;

static void list_free(tensor_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->t[i].name);
        free((float *)l->t[i].data);
    }
    free(l->t);
    memset(l, 0, sizeof *l);
}

static int list_add(tensor_list *l, const eng_config *cfg, eng_tensor_id id, int layer, uint64_t seed, char *err,
                    size_t err_len) {
    char name[256];
    int64_t shape[ST_MAX_DIMS];
    if (eng_tensor_name(cfg, id, layer, name, sizeof name, err, err_len) != 0) return -1;
    int nd = eng_tensor_shape(cfg, id, shape);
    if (nd < 0) {
        tm_err(err, err_len, "tiny model: no shape for tensor id %d", (int)id);
        return -1;
    }
    size_t numel = 1;
    for (int i = 0; i < nd; i++)
        numel *= (size_t)shape[i];
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 128;
        st_write_tensor *nt = realloc(l->t, nc * sizeof *nt);
        if (!nt) goto oom;
        l->t = nt;
        l->cap = nc;
    }
    float *data = malloc(numel * sizeof *data);
    size_t nl = strlen(name);
    char *nm = malloc(nl + 1);
    if (!data || !nm) {
        free(data);
        free(nm);
        goto oom;
    }
    memcpy(nm, name, nl + 1);
    fill(data, numel, id, layer, nd, shape, seed);
    st_write_tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    t->ndim = nd;
    memcpy(t->shape, shape, sizeof shape);
    t->data = data;
    return 0;
oom:
    tm_err(err, err_len, "tiny model: out of memory");
    return -1;
}

/* All checkpoint tensors of cfg's layout, in logical order (LLaVA: vision, projector, newline,
 * LLM; Qwen2.5-VL: LLM, then the ViT). */
static int build_llava(tensor_list *l, const eng_config *cfg, uint64_t seed, char *err, size_t err_len) {
    for (int id = 0; id < ENG_T_COUNT; id++) {
        if (!eng_tensor_in_layout(cfg, (eng_tensor_id)id)) continue;
        int lay = eng_tensor_is_layered((eng_tensor_id)id);
        int nl = lay == 1 ? cfg->vision.n_layers : lay == 2 ? cfg->llm.n_layers : 1;
        for (int L = 0; L < nl; L++)
            if (list_add(l, cfg, (eng_tensor_id)id, L, seed, err, err_len) != 0) return -1;
    }
    return 0;
}

/* Writes tensors t[0..n-1] (F32 in memory) to path stored as dtype (F16/BF16 rounded to nearest
 * even, as torch's .to() does). */
static int write_as(const char *path, const st_write_tensor *t, size_t n, st_dtype dtype, char *err, size_t err_len) {
    if (dtype == ST_F32) return st_write(path, t, n, err, err_len);
    st_write_raw_tensor *raw = calloc(n ? n : 1, sizeof *raw);
    uint16_t **bufs = calloc(n ? n : 1, sizeof *bufs);
    int rc = -1;
    if (!raw || !bufs) goto oom;
    for (size_t i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++)
            numel *= (size_t)t[i].shape[d];
        bufs[i] = malloc(numel * sizeof(uint16_t) + 2);
        if (!bufs[i]) goto oom;
        for (size_t j = 0; j < numel; j++) {
            uint16_t h = dtype == ST_BF16 ? st_f32_to_bf16(t[i].data[j]) : st_f32_to_f16(t[i].data[j]);
            unsigned char *b = (unsigned char *)&bufs[i][j]; /* little-endian on disk */
            b[0] = (unsigned char)(h & 0xff);
            b[1] = (unsigned char)(h >> 8);
        }
        raw[i].name = t[i].name;
        raw[i].dtype = dtype;
        raw[i].ndim = t[i].ndim;
        memcpy(raw[i].shape, t[i].shape, sizeof raw[i].shape);
        raw[i].data = bufs[i];
    }
    rc = st_write_raw(path, raw, n, err, err_len);
    goto out;
oom:
    tm_err(err, err_len, "%s: out of memory", path);
out:
    for (size_t i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(raw);
    return rc;
}

static int write_shards(const char *dir, const tensor_list *l, st_dtype dtype, char *err, size_t err_len) {
    char path[4096];
    const char *files[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    size_t half = l->n / 2;
    join(path, sizeof path, dir, files[0]);
    if (write_as(path, l->t, half, dtype, err, err_len) != 0) return -1;
    join(path, sizeof path, dir, files[1]);
    if (write_as(path, l->t + half, l->n - half, dtype, err, err_len) != 0) return -1;

    /* index: weight_map sorted by name, total_size = data bytes */
    size_t *ord = malloc(l->n * sizeof *ord);
    if (!ord) {
        tm_err(err, err_len, "tiny model: out of memory");
        return -1;
    }
    for (size_t i = 0; i < l->n; i++)
        ord[i] = i;
    for (size_t i = 1; i < l->n; i++) { /* insertion sort: a few hundred names */
        size_t v = ord[i], j = i;
        while (j > 0 && strcmp(l->t[ord[j - 1]].name, l->t[v].name) > 0) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = v;
    }
    double total = 0;
    cJSON *r = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(r, "metadata");
    cJSON *wm = cJSON_AddObjectToObject(r, "weight_map");
    for (size_t i = 0; i < l->n; i++) {
        const st_write_tensor *t = &l->t[ord[i]];
        double numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= (double)t->shape[d];
        total += numel * (double)st_dtype_size(dtype);
        cJSON_AddStringToObject(wm, t->name, files[ord[i] < half ? 0 : 1]);
    }
    cJSON_AddNumberToObject(meta, "total_size", total);
    free(ord);
    return write_json(dir, "model.safetensors.index.json", r, err, err_len);
}

int eng_tiny_model_write(const char *dir, const eng_tiny_params *p, char *err, size_t err_len) {
    if (err && err_len) err[0] = '\0';
    eng_config cfg;
    if (!dir || !p) {
        tm_err(err, err_len, "tiny model: no directory or params");
        return -1;
    }
    if (strlen(dir) > 3000) {
        tm_err(err, err_len, "%.100s...: directory path too long", dir);
        return -1;
    }
    if (eng_tiny_config(p, &cfg, err, err_len) != 0) return -1;
    if (mkdir_p(dir, err, err_len) != 0) return -1;
    char sub[4096];
    join(sub, sizeof sub, dir, "siglip");
    if (p->layout != ENG_LAYOUT_QWEN25VL && mkdir_p(sub, err, err_len) != 0) return -1;

    char *c = config_json(p), *g = generation_json(p);
    int rc = -1;
    tensor_list l = {0};
    if (!c || !g) {
        tm_err(err, err_len, "tiny model: out of memory");
        goto out;
    }
    if (write_text(dir, "config.json", c, err, err_len) != 0) goto out;
    if (write_text(dir, "generation_config.json", g, err, err_len) != 0) goto out;
    if (write_tokenizer(dir, p, err, err_len) != 0) goto out;

    /* stale files of the other shard mode would change what st_open picks */
    char path[4096];
    if (p->shards == 1) {
        const char *stale[3] = {"model.safetensors.index.json", "model-00001-of-00002.safetensors",
                                "model-00002-of-00002.safetensors"};
        for (int i = 0; i < 3; i++) {
            join(path, sizeof path, dir, stale[i]);
            unlink(path);
        }
    } else {
        join(path, sizeof path, dir, "model.safetensors");
        unlink(path);
    }
    if (build_llava(&l, &cfg, p->seed, err, err_len) != 0) goto out;
    if (p->shards == 1) {
        join(path, sizeof path, dir, "model.safetensors");
        if (write_as(path, l.t, l.n, p->dtype, err, err_len) != 0) goto out;
    } else if (write_shards(dir, &l, p->dtype, err, err_len) != 0) {
        goto out;
    }
    list_free(&l);
    if (p->layout == ENG_LAYOUT_QWEN25VL) { /* no SigLIP head: the saliency is the ViT's own */
        rc = 0;
        goto out;
    }

    /* SigLIP head checkpoint: post_layernorm + head, and a SiglipModel-style config */
    for (int id = 0; id < ENG_T_COUNT; id++)
        if (eng_tensor_is_siglip((eng_tensor_id)id) && list_add(&l, &cfg, (eng_tensor_id)id, 0, p->seed, err, err_len))
            goto out;
    join(path, sizeof path, sub, "model.safetensors");
    if (write_as(path, l.t, l.n, p->dtype, err, err_len) != 0) goto out;
    cJSON *sc = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(sc, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("SiglipModel"));
    cJSON_AddStringToObject(sc, "model_type", "siglip");
    cJSON_AddStringToObject(sc, "torch_dtype", dtype_name(p->dtype));
    cJSON_AddItemToObject(sc, "vision_config", vision_block(TINY_V_LAYERS_LMMS, 0, tiny_image(p)));
    if (write_json(sub, "config.json", sc, err, err_len) != 0) goto out;
    rc = 0;
out:
    list_free(&l);
    free(c);
    free(g);
    return rc;
}

/* ---- full-size presets (streamed) ---------------------------------------------------------- */

/* The real 7B shapes (spec llava-ov-engine.md §1.1, §1.5, §2.2). */
enum {
    FS_HIDDEN = 3584,
    FS_LAYERS = 28,
    FS_HEADS = 28,
    FS_KV_HEADS = 4,
    FS_MLP = 18944,
    FS_VOCAB = 152064,
    FS_MAX_POS = 32768,
    FS_SHARDS = 4,
};

#define FS_CHUNK ((size_t)1 << 22) /* elements generated per step: bounds the writer's memory */

int eng_preset_parse(const char *name, eng_preset *out) {
    if (!name) return -1;
    if (strcmp(name, "llava-ov-7b") == 0) *out = ENG_PRESET_LLAVA_OV_7B;
    else if (strcmp(name, "llava-video-7b") == 0) *out = ENG_PRESET_LLAVA_VIDEO_7B;
    else if (strcmp(name, "qwen2.5-vl-7b") == 0) *out = ENG_PRESET_QWEN25VL_7B;
    else return -1;
    return 0;
}

/* config.json of the lmms-lab original files: no vision_config block (SigLIP-so400m implied by
 * mm_vision_tower, 27 layers, select -2 -> the 26 stored), bf16. */
static char *fullsize_config_json(eng_preset preset, int bos, int eos) {
    int video = preset == ENG_PRESET_LLAVA_VIDEO_7B;
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("LlavaQwenForCausalLM"));
    cJSON_AddStringToObject(r, "_name_or_path", video ? "tango-bench/random-LLaVA-Video-7B-Qwen2"
                                                      : "tango-bench/random-llava-onevision-qwen2-7b-ov");
    cJSON_AddStringToObject(r, "model_type", "llava");
    const qwen2_dims d = {FS_HIDDEN, FS_MLP, FS_LAYERS, FS_HEADS, FS_KV_HEADS, FS_VOCAB, FS_MAX_POS, bos, eos};
    qwen2_keys(r, &d);
    cJSON_AddStringToObject(r, "torch_dtype", "bfloat16");
    cJSON_AddStringToObject(r, "mm_vision_tower", "google/siglip-so400m-patch14-384");
    cJSON_AddNumberToObject(r, "mm_hidden_size", 1152);
    cJSON_AddStringToObject(r, "mm_projector_type", "mlp2x_gelu");
    cJSON_AddNumberToObject(r, "mm_vision_select_layer", -2);
    cJSON_AddStringToObject(r, "mm_vision_select_feature", "patch");
    cJSON_AddStringToObject(r, "mm_patch_merge_type", "spatial_unpad");
    cJSON_AddStringToObject(r, "mm_spatial_pool_mode", "bilinear");
    cJSON_AddNumberToObject(r, "mm_spatial_pool_stride", 2);
    cJSON_AddStringToObject(r, "mm_newline_position", video ? "grid" : "one_token");
    cJSON_AddBoolToObject(r, "mm_use_im_start_end", 0);
    cJSON_AddBoolToObject(r, "mm_use_im_patch_token", 0);
    cJSON_AddStringToObject(r, "image_aspect_ratio", "anyres_max_9");
    cJSON_AddNumberToObject(r, "tokenizer_model_max_length", FS_MAX_POS);
    if (video) {
        cJSON_AddBoolToObject(r, "add_faster_video", 0);
        cJSON_AddBoolToObject(r, "force_sample", 1);
        cJSON_AddBoolToObject(r, "add_time_instruction", 1);
    }
    char *s = cJSON_Print(r);
    cJSON_Delete(r);
    return s;
}

/* Special ids a full-size config names (from the tokenizer the checkpoint carries). */
typedef struct {
    int bos, eos;                          /* <|endoftext|>, <|im_end|> */
    int vstart, vend, vpad, ipad, videopad; /* Qwen2.5-VL: <|vision_start|> .. <|video_pad|> */
} fs_ids;

/* The real Qwen2.5-VL-7B-Instruct ids (spec qwen25vl.md §1.2). */
static const fs_ids k_qwen_ids = {151643, 151645, 151652, 151653, 151654, 151655, 151656};

/* config.json of Qwen/Qwen2.5-VL-7B-Instruct in the transformers 4.50 key set (spec qwen25vl.md
 * §1.1, §1.2): LLM keys at the top level, the ViT in vision_config, bf16. */
static char *fullsize_qwen_config_json(const fs_ids *id) {
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("Qwen2_5_VLForConditionalGeneration"));
    cJSON_AddStringToObject(r, "_name_or_path", "tango-bench/random-Qwen2.5-VL-7B-Instruct");
    cJSON_AddStringToObject(r, "model_type", "qwen2_5_vl");
    const qwen2_dims d = {FS_HIDDEN, FS_MLP, FS_LAYERS, FS_HEADS, FS_KV_HEADS, FS_VOCAB, 128000, id->bos, id->eos};
    qwen2_keys(r, &d);
    const int mrope[3] = {16, 24, 24};
    const int ids[5] = {id->vstart, id->vend, id->vpad, id->ipad, id->videopad};
    const qwen_vit_dims vd = {32, 1280, 3420, 16, FS_HIDDEN, 14, 7, 8};
    qwen25vl_keys(r, mrope, 32768, FS_LAYERS, ids, &vd);
    cJSON_AddStringToObject(r, "torch_dtype", "bfloat16");
    char *s = cJSON_Print(r);
    cJSON_Delete(r);
    return s;
}

static char *preset_config_json(eng_preset preset, const fs_ids *id) {
    return preset == ENG_PRESET_QWEN25VL_7B ? fullsize_qwen_config_json(id)
                                            : fullsize_config_json(preset, id->bos, id->eos);
}

static int preset_known(eng_preset p) {
    return p == ENG_PRESET_LLAVA_OV_7B || p == ENG_PRESET_LLAVA_VIDEO_7B || p == ENG_PRESET_QWEN25VL_7B;
}

int eng_preset_config(eng_preset preset, eng_config *cfg, char *err, size_t err_len) {
    if (!preset_known(preset)) {
        tm_err(err, err_len, "full-size model: unknown preset %d", (int)preset);
        return -1;
    }
    char *c = preset_config_json(preset, &k_qwen_ids);
    if (!c) {
        tm_err(err, err_len, "full-size model: out of memory");
        return -1;
    }
    int rc = eng_config_parse(c, strlen(c), "full-size config.json", cfg, err, err_len);
    free(c);
    return rc;
}

/* SigLIP-so400m-patch14-384 as a SiglipModel config (the --siglip head file beside the model). */
static cJSON *so400m_block(void) {
    const siglip_dims d = {1152, 4304, 16, 27, 384, 14};
    return siglip_block(&d, 0);
}

/* One tensor of a streamed shard: name, shape, generator key. */
typedef struct {
    char name[256];
    eng_tensor_id id;
    int layer;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
} fs_tensor;

static int fs_add(fs_tensor *t, size_t *n, const eng_config *cfg, eng_tensor_id id, int layer, char *err,
                  size_t err_len) {
    fs_tensor *x = &t[(*n)++];
    memset(x, 0, sizeof *x);
    x->id = id;
    x->layer = layer;
    if (eng_tensor_name(cfg, id, layer, x->name, sizeof x->name, err, err_len) != 0) return -1;
    x->ndim = eng_tensor_shape(cfg, id, x->shape);
    x->numel = 1;
    for (int d = 0; d < x->ndim; d++) x->numel *= (size_t)x->shape[d];
    return 0;
}

/* Element i of tensor (id, layer): a counter-based uniform draw of unit variance (so chunks can be
 * generated in parallel and in any order), scaled like the tiny model's normals. */
static void fs_fill(float *dst, size_t i0, size_t n, const fs_tensor *t, uint64_t seed) {
    init_kind k = kind_of(t->id);
    double fan_in = 1.0;
    for (int d = 1; d < t->ndim; d++) fan_in *= (double)t->shape[d];
    float scale = k == K_LINEAR ? (float)(1.0 / sqrt(fan_in)) : k == K_TABLE ? 0.5f : k == K_NORM_W ? 0.05f : 0.02f;
    uint64_t key = tb_mix64(seed * 0x100000001b3ull + ((uint64_t)t->id << 32) + (uint64_t)(t->layer + 1));
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < n; j++) {
        uint64_t z = tb_mix64(key + (i0 + j) * 0x9E3779B97F4A7C15ull);
        float u = (float)((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0) * 1.7320508f;
        dst[j] = k == K_NORM_W ? 1.0f + u * scale : u * scale;
    }
}

/* Streams tensors t[0..n) to path as BF16, FS_CHUNK elements at a time. */
static int fs_write_file(const char *path, const fs_tensor *t, size_t n, uint64_t seed, float *f32, uint16_t *b16,
                         char *err, size_t err_len) {
    st_write_raw_tensor *raw = calloc(n ? n : 1, sizeof *raw);
    if (!raw) {
        tm_err(err, err_len, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        raw[i].name = t[i].name;
        raw[i].dtype = ST_BF16;
        raw[i].ndim = t[i].ndim;
        memcpy(raw[i].shape, t[i].shape, sizeof raw[i].shape);
    }
    st_stream *w = st_stream_open(path, raw, n, err, err_len);
    free(raw);
    if (!w) return -1;
    for (size_t i = 0; i < n; i++) {
        for (size_t i0 = 0; i0 < t[i].numel; i0 += FS_CHUNK) {
            size_t c = t[i].numel - i0 < FS_CHUNK ? t[i].numel - i0 : FS_CHUNK;
            fs_fill(f32, i0, c, &t[i], seed);
#pragma omp parallel for schedule(static)
            for (size_t j = 0; j < c; j++) b16[j] = st_f32_to_bf16(f32[j]); /* little-endian host */
            if (st_stream_write(w, b16, c * sizeof *b16, err, err_len) != 0) {
                st_stream_close(w, NULL, 0);
                return -1;
            }
        }
    }
    return st_stream_close(w, err, err_len);
}

/* Copies the tokenizer files present in src into dir; vocab.json + merges.txt or tokenizer.json
 * must be among them. */
static int copy_tokenizer(const char *src, const char *dir, char *err, size_t err_len) {
    static const char *const files[] = {"tokenizer.json", "vocab.json", "merges.txt", "added_tokens.json",
                                        "tokenizer_config.json", "special_tokens_map.json"};
    int have[6] = {0};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char from[4096], to[4096];
        join(from, sizeof from, src, files[i]);
        FILE *in = fopen(from, "rb");
        if (!in) continue;
        join(to, sizeof to, dir, files[i]);
        FILE *out = fopen(to, "wb");
        int ok = out != NULL;
        char buf[1 << 16];
        size_t k;
        while (ok && (k = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, k, out) == k;
        ok = ok && !ferror(in);
        fclose(in);
        if (out && fclose(out) != 0) ok = 0;
        if (!ok) {
            tm_err(err, err_len, "%s: cannot copy to %s: %s", from, to, strerror(errno));
            return -1;
        }
        have[i] = 1;
    }
    if (!have[0] && !(have[1] && have[2])) {
        tm_err(err, err_len, "%s: no tokenizer.json and no vocab.json + merges.txt", src);
        return -1;
    }
    return 0;
}

/* Qwen2.5's added tokens after <|endoftext|> <|im_start|> <|im_end|> (151643..151645): the special
 * ones up to <|video_pad|> = 151656 (spec qwen25vl.md §4.2). */
static const char *const k_qwen25_added[11] = {
    "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",  "<|box_end|>",   "<|quad_start|>",
    "<|quad_end|>",         "<|vision_start|>",   "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>",
    "<|video_pad|>"};

/* A copied Qwen2 tokenizer (vocab.json + merges.txt + added_tokens.json) becomes Qwen2.5-VL's: the
 * special tokens it lacks are added to added_tokens.json at their real ids 151646..151656 (after
 * <|im_end|>). A tokenizer.json must already hold them. */
static int qwen25_tokens(const char *dir, char *err, size_t err_len) {
    char path[4096];
    join(path, sizeof path, dir, "tokenizer.json");
    FILE *tj = fopen(path, "rb");
    if (tj) {
        fclose(tj);
        return 0; /* checked by the caller's id lookup */
    }
    join(path, sizeof path, dir, "added_tokens.json");
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n)
        text[n] = 0;
    else {
        free(text);
        text = NULL;
    }
    if (f) fclose(f);
    cJSON *ad = text ? cJSON_Parse(text) : cJSON_CreateObject();
    free(text);
    if (!cJSON_IsObject(ad)) {
        cJSON_Delete(ad);
        tm_err(err, err_len, "%s: not a JSON object", path);
        return -1;
    }
    const cJSON *ie = cJSON_GetObjectItemCaseSensitive(ad, "<|im_end|>");
    if (!cJSON_IsNumber(ie)) {
        cJSON_Delete(ad);
        tm_err(err, err_len, "%s: no <|im_end|> to place Qwen2.5's added tokens after", path);
        return -1;
    }
    for (int i = 0; i < 11; i++)
        if (!cJSON_GetObjectItemCaseSensitive(ad, k_qwen25_added[i]))
            cJSON_AddNumberToObject(ad, k_qwen25_added[i], ie->valuedouble + 1 + i);
    return write_json(dir, "added_tokens.json", ad, err, err_len);
}

/* The special ids of the tokenizer in dir (Qwen2.5-VL: also the vision tokens), each below the
 * embedding rows. */
static int fs_tokenizer_ids(const char *dir, int qwen, fs_ids *id, char *err, size_t err_len) {
    tok_tokenizer *tk = tok_load(dir, err, err_len);
    if (!tk) return -1;
    static const char *const names[7] = {"<|endoftext|>", "<|im_end|>",    "<|vision_start|>", "<|vision_end|>",
                                         "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"};
    int v[7];
    int rc = 0;
    for (int i = 0; i < (qwen ? 7 : 2); i++) {
        v[i] = tok_token_id(tk, names[i]);
        if (v[i] < 0 || v[i] >= FS_VOCAB) {
            tm_err(err, err_len, "%s: tokenizer lacks %s below id %d", dir, names[i], FS_VOCAB);
            rc = -1;
            break;
        }
    }
    tok_free(tk);
    if (rc) return -1;
    *id = (fs_ids){v[0], v[1], -1, -1, -1, -1, -1};
    if (qwen) *id = (fs_ids){v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    return 0;
}

int eng_fullsize_model_write(const char *dir, eng_preset preset, uint64_t seed, const char *tokenizer_dir,
                             char *err, size_t err_len) {
    if (err && err_len) err[0] = '\0';
    if (!dir || strlen(dir) > 3000 || !preset_known(preset)) {
        tm_err(err, err_len, "full-size model: bad directory or preset");
        return -1;
    }
    const int qwen = preset == ENG_PRESET_QWEN25VL_7B;
    char sub[4096], path[4096];
    join(sub, sizeof sub, dir, "siglip");
    if (mkdir_p(dir, err, err_len) != 0 || (!qwen && mkdir_p(sub, err, err_len) != 0)) return -1;
    /* the tokenizer decides the special ids the configs name */
    fs_ids ids;
    if (tokenizer_dir) {
        if (copy_tokenizer(tokenizer_dir, dir, err, err_len) != 0) return -1;
        if (qwen && qwen25_tokens(dir, err, err_len) != 0) return -1;
    } else {
        eng_tiny_params tp = eng_tiny_default_params();
        if (qwen) tp.layout = ENG_LAYOUT_QWEN25VL;
        if (write_tokenizer(dir, &tp, err, err_len) != 0) return -1;
    }
    if (fs_tokenizer_ids(dir, qwen, &ids, err, err_len) != 0) return -1;
    int bos = ids.bos, eos = ids.eos;
    char *c = preset_config_json(preset, &ids);
    cJSON *g = cJSON_CreateObject();
    if (!c || !g) {
        free(c);
        cJSON_Delete(g);
        tm_err(err, err_len, "full-size model: out of memory");
        return -1;
    }
    cJSON_AddNumberToObject(g, "bos_token_id", bos);
    cJSON_AddNumberToObject(g, "pad_token_id", bos);
    cJSON *eo = cJSON_AddArrayToObject(g, "eos_token_id");
    cJSON_AddItemToArray(eo, cJSON_CreateNumber(eos));
    cJSON_AddItemToArray(eo, cJSON_CreateNumber(bos));
    if (!qwen) { /* Qwen2-7B-Instruct's generation_config.json, which the lmms-lab checkpoints carry;
                    Qwen2.5-VL: eos / pad only (spec qwen25vl.md §4.5: VLMEvalKit passes the rest) */
        cJSON_AddBoolToObject(g, "do_sample", 1);
        cJSON_AddNumberToObject(g, "repetition_penalty", 1.05);
        cJSON_AddNumberToObject(g, "temperature", 0.7);
        cJSON_AddNumberToObject(g, "top_k", 20);
        cJSON_AddNumberToObject(g, "top_p", 0.8);
    }
    eng_config cfg;
    int rc = -1;
    fs_tensor *t = NULL;
    float *f32 = NULL;
    uint16_t *b16 = NULL;
    if (write_text(dir, "config.json", c, err, err_len) != 0 || write_json(dir, "generation_config.json", g, err, err_len) != 0)
        goto out;
    if (eng_config_parse(c, strlen(c), "full-size config.json", &cfg, err, err_len) != 0) goto out;
    join(path, sizeof path, dir, "model.safetensors");
    unlink(path); /* st_open would pick it over the index */
    size_t cap = eng_checkpoint_tensor_count(&cfg) + 16, n = 0;
    t = calloc(cap, sizeof *t);
    f32 = malloc(FS_CHUNK * sizeof *f32);
    b16 = malloc(FS_CHUNK * sizeof *b16);
    if (!t || !f32 || !b16) {
        tm_err(err, err_len, "full-size model: out of memory");
        goto out;
    }
    /* file order: globals, then the vision tower and the LLM layer by layer (a forward pass reads
     * the mapped files front to back) */
    for (int id = 0; id < ENG_T_COUNT; id++) {
        if (eng_tensor_is_siglip((eng_tensor_id)id) || eng_tensor_is_layered((eng_tensor_id)id) ||
            !eng_tensor_in_layout(&cfg, (eng_tensor_id)id))
            continue;
        if (fs_add(t, &n, &cfg, (eng_tensor_id)id, 0, err, err_len)) goto out;
    }
    for (int pass = 1; pass <= 2; pass++)
        for (int L = 0; L < (pass == 1 ? cfg.vision.n_layers : cfg.llm.n_layers); L++)
            for (int id = 0; id < ENG_T_COUNT; id++)
                if (eng_tensor_is_layered((eng_tensor_id)id) == pass && eng_tensor_in_layout(&cfg, (eng_tensor_id)id) &&
                    fs_add(t, &n, &cfg, (eng_tensor_id)id, L, err, err_len))
                    goto out;
    if (n != eng_checkpoint_tensor_count(&cfg)) {
        tm_err(err, err_len, "full-size model: %zu tensors listed, the layout holds %zu", n,
               eng_checkpoint_tensor_count(&cfg));
        goto out;
    }
    /* shards of about equal size, named and indexed as the real ones (LLaVA 4, Qwen2.5-VL 5) */
    const int n_shards = qwen ? 5 : FS_SHARDS;
    double total = 0;
    for (size_t i = 0; i < n; i++) total += 2.0 * (double)t[i].numel;
    cJSON *idx = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(idx, "metadata");
    cJSON *wm = cJSON_AddObjectToObject(idx, "weight_map");
    cJSON_AddNumberToObject(meta, "total_size", total);
    size_t first = 0;
    double acc = 0;
    for (int s = 0; s < n_shards; s++) {
        size_t last = first;
        while (last < n && (s == n_shards - 1 || acc + 2.0 * (double)t[last].numel <= total * (s + 1) / n_shards)) {
            acc += 2.0 * (double)t[last].numel;
            last++;
        }
        char name[64];
        snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, n_shards);
        for (size_t i = first; i < last; i++) cJSON_AddStringToObject(wm, t[i].name, name);
        join(path, sizeof path, dir, name);
        if (fs_write_file(path, t + first, last - first, seed, f32, b16, err, err_len) != 0) {
            cJSON_Delete(idx);
            goto out;
        }
        first = last;
    }
    if (write_json(dir, "model.safetensors.index.json", idx, err, err_len) != 0) goto out;
    if (qwen) { /* no SigLIP head: the saliency is the ViT's own */
        rc = 0;
        goto out;
    }
    /* the SigLIP attention-pooling head at full size */
    n = 0;
    for (int id = 0; id < ENG_T_COUNT; id++)
        if (eng_tensor_is_siglip((eng_tensor_id)id) && fs_add(t, &n, &cfg, (eng_tensor_id)id, 0, err, err_len)) goto out;
    join(path, sizeof path, sub, "model.safetensors");
    if (fs_write_file(path, t, n, seed, f32, b16, err, err_len) != 0) goto out;
    cJSON *sc = cJSON_CreateObject();
    cJSON *sa = cJSON_AddArrayToObject(sc, "architectures");
    cJSON_AddItemToArray(sa, cJSON_CreateString("SiglipModel"));
    cJSON_AddStringToObject(sc, "model_type", "siglip");
    cJSON_AddStringToObject(sc, "torch_dtype", "bfloat16");
    cJSON_AddItemToObject(sc, "vision_config", so400m_block());
    if (write_json(sub, "config.json", sc, err, err_len) != 0) goto out;
    rc = 0;
out:
    free(c);
    free(t);
    free(f32);
    free(b16);
    return rc;
}
