/* flops.c - FLOPs and equivalent-retention maths (see flops.h). Formulas from the Tango paper
 * and specs/llava-ov-engine.md §8: a multiply-add counts 2 FLOPs; norms, RoPE and softmax are
 * ignored, as in the paper. */
#include "harness/flops.h"

#include "common/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fl_model presets[] = {
    /* Qwen2-7B as configured in LLaVA-OneVision-7B and LLaVA-Video-7B. */
    {"qwen2-7b", 28, 3584, 18944, 28, 4, 152064},
    /* Qwen2.5-VL-7B's LLM (GQA 28/4, 28 layers, m 18944; untied lm_head). */
    {"qwen2.5-vl-7b", 28, 3584, 18944, 28, 4, 152064},
    /* Qwen2-0.5B (LLaVA-OneVision-0.5B). */
    {"qwen2-0.5b", 24, 896, 4864, 14, 2, 151936},
};

int fl_model_preset(const char *name, fl_model *out) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(presets[i].name, name)) {
            *out = presets[i];
            return 0;
        }
    return -1;
}

static int read_int(const cJSON *obj, const cJSON *alt, const char *key, int *dst, const char *path, char *err,
                    size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v && alt) v = cJSON_GetObjectItemCaseSensitive(alt, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e7 || v->valuedouble != floor(v->valuedouble)) {
        snprintf(err, n, "%s: field %s is missing or not a positive integer", path, key);
        return -1;
    }
    *dst = (int)v->valuedouble;
    return 0;
}

int fl_model_from_config(const char *path, fl_model *out, char *err, size_t err_len) {
    int rc = -1;
    char *text = NULL;
    cJSON *root = NULL;
    FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, err_len);
    if (!f) return -1;
    if (fseek(f, 0, SEEK_END) || ftell(f) < 0 || ftell(f) > (16L << 20)) {
        snprintf(err, err_len, "%s: not a readable config (missing or larger than 16 MiB)", path);
        goto out;
    }
    long len = ftell(f);
    rewind(f);
    text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        snprintf(err, err_len, "%s: read failed", path);
        goto out;
    }
    text[len] = '\0';
    root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        snprintf(err, err_len, "%s: not a JSON object", path);
        goto out;
    }
    /* llava-hf nests the LLM under text_config; lmms-lab puts it at the top level. */
    const cJSON *text_cfg = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    const cJSON *obj = cJSON_IsObject(text_cfg) ? text_cfg : root;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "config");
    if (read_int(obj, root, "hidden_size", &out->d, path, err, err_len) ||
        read_int(obj, root, "intermediate_size", &out->m, path, err, err_len) ||
        read_int(obj, root, "num_attention_heads", &out->n_heads, path, err, err_len) ||
        read_int(obj, root, "num_hidden_layers", &out->n_layers, path, err, err_len))
        goto out;
    if (read_int(obj, root, "num_key_value_heads", &out->n_kv_heads, path, err, err_len))
        out->n_kv_heads = out->n_heads; /* absent means plain multi-head attention */
    if (read_int(obj, root, "vocab_size", &out->vocab, path, err, err_len)) out->vocab = 0;
    if (out->n_kv_heads > out->n_heads || out->n_heads % out->n_kv_heads) {
        snprintf(err, err_len, "%s: num_key_value_heads %d does not divide num_attention_heads %d", path,
                 out->n_kv_heads, out->n_heads);
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    fclose(f);
    return rc;
}

void fl_vision_siglip_so400m(fl_vision *out) {
    *out = (fl_vision){.n_layers = 26, .d = 1152, .m = 4304, .patch = 14, .image = 384, .proj_d = 3584};
    snprintf(out->name, sizeof out->name, "siglip-so400m-patch14-384");
}

double fl_layer_flops(const fl_model *m, double n) {
    double d = m->d, g_over_h = (double)m->n_kv_heads / m->n_heads;
    return n * (4.0 * d * d * (1.0 + g_over_h) + 6.0 * d * m->m) + 4.0 * n * n * d;
}

double fl_prefill_flops(const fl_model *m, int64_t n_text, const int64_t *visual_per_layer) {
    double total = 0;
    for (int l = 0; l < m->n_layers; l++) total += fl_layer_flops(m, (double)(n_text + visual_per_layer[l]));
    return total;
}

double fl_vision_frame_flops(const fl_vision *v) {
    double n = (double)(v->image / v->patch) * (v->image / v->patch);
    double d = v->d;
    double patch_in = 3.0 * v->patch * v->patch;
    double total = 2.0 * n * patch_in * d;                                    /* patch embedding GEMM */
    total += v->n_layers * (8.0 * n * d * d + 4.0 * n * n * d + 4.0 * n * d * v->m); /* QKVO, attention, MLP */
    if (v->proj_d > 0) total += 2.0 * n * d * v->proj_d + 2.0 * n * (double)v->proj_d * v->proj_d;
    return total;
}
