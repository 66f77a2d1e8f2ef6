/* config_names.c - the logical-tensor -> checkpoint-name scheme of both LLaVA checkpoint layouts
 * (lmms-lab and llava-hf, SigLIP head file included; see config.h): names, expected shapes, lookup
 * with shape checks, loading as float32, and binding a checkpoint (every expected tensor present
 * with its shape, nothing unexpected). An error names the file and the tensor. */
#include "engine/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"

/* ---- tensor names -------------------------------------------------------------------------- */

typedef enum { G_VIS, G_VIS_L, G_PROJ1, G_PROJ2, G_NEWLINE, G_LLM, G_LLM_L, G_LMHEAD, G_SIG, G_QV, G_QV_L } name_group;

typedef struct {
    name_group group;
    const char *tail;
} name_entry;

static const name_entry k_names[ENG_T_COUNT] = {
    [ENG_T_V_PATCH_W] = {G_VIS, "embeddings.patch_embedding.weight"},
    [ENG_T_V_PATCH_B] = {G_VIS, "embeddings.patch_embedding.bias"},
    [ENG_T_V_POS] = {G_VIS, "embeddings.position_embedding.weight"},
    [ENG_T_V_LN1_W] = {G_VIS_L, "layer_norm1.weight"},
    [ENG_T_V_LN1_B] = {G_VIS_L, "layer_norm1.bias"},
    [ENG_T_V_Q_W] = {G_VIS_L, "self_attn.q_proj.weight"},
    [ENG_T_V_Q_B] = {G_VIS_L, "self_attn.q_proj.bias"},
    [ENG_T_V_K_W] = {G_VIS_L, "self_attn.k_proj.weight"},
    [ENG_T_V_K_B] = {G_VIS_L, "self_attn.k_proj.bias"},
    [ENG_T_V_V_W] = {G_VIS_L, "self_attn.v_proj.weight"},
    [ENG_T_V_V_B] = {G_VIS_L, "self_attn.v_proj.bias"},
    [ENG_T_V_O_W] = {G_VIS_L, "self_attn.out_proj.weight"},
    [ENG_T_V_O_B] = {G_VIS_L, "self_attn.out_proj.bias"},
    [ENG_T_V_LN2_W] = {G_VIS_L, "layer_norm2.weight"},
    [ENG_T_V_LN2_B] = {G_VIS_L, "layer_norm2.bias"},
    [ENG_T_V_FC1_W] = {G_VIS_L, "mlp.fc1.weight"},
    [ENG_T_V_FC1_B] = {G_VIS_L, "mlp.fc1.bias"},
    [ENG_T_V_FC2_W] = {G_VIS_L, "mlp.fc2.weight"},
    [ENG_T_V_FC2_B] = {G_VIS_L, "mlp.fc2.bias"},
    [ENG_T_V_POST_LN_W] = {G_VIS, "post_layernorm.weight"},
    [ENG_T_V_POST_LN_B] = {G_VIS, "post_layernorm.bias"},
    [ENG_T_PROJ1_W] = {G_PROJ1, "weight"},
    [ENG_T_PROJ1_B] = {G_PROJ1, "bias"},
    [ENG_T_PROJ2_W] = {G_PROJ2, "weight"},
    [ENG_T_PROJ2_B] = {G_PROJ2, "bias"},
    [ENG_T_NEWLINE] = {G_NEWLINE, ""},
    [ENG_T_EMBED] = {G_LLM, "embed_tokens.weight"},
    [ENG_T_L_IN_NORM] = {G_LLM_L, "input_layernorm.weight"},
    [ENG_T_L_Q_W] = {G_LLM_L, "self_attn.q_proj.weight"},
    [ENG_T_L_Q_B] = {G_LLM_L, "self_attn.q_proj.bias"},
    [ENG_T_L_K_W] = {G_LLM_L, "self_attn.k_proj.weight"},
    [ENG_T_L_K_B] = {G_LLM_L, "self_attn.k_proj.bias"},
    [ENG_T_L_V_W] = {G_LLM_L, "self_attn.v_proj.weight"},
    [ENG_T_L_V_B] = {G_LLM_L, "self_attn.v_proj.bias"},
    [ENG_T_L_O_W] = {G_LLM_L, "self_attn.o_proj.weight"},
    [ENG_T_L_POST_NORM] = {G_LLM_L, "post_attention_layernorm.weight"},
    [ENG_T_L_GATE_W] = {G_LLM_L, "mlp.gate_proj.weight"},
    [ENG_T_L_UP_W] = {G_LLM_L, "mlp.up_proj.weight"},
    [ENG_T_L_DOWN_W] = {G_LLM_L, "mlp.down_proj.weight"},
    [ENG_T_NORM] = {G_LLM, "norm.weight"},
    [ENG_T_LM_HEAD] = {G_LMHEAD, ""},
    [ENG_T_SIG_POST_LN_W] = {G_SIG, "vision_model.post_layernorm.weight"},
    [ENG_T_SIG_POST_LN_B] = {G_SIG, "vision_model.post_layernorm.bias"},
    [ENG_T_SIG_PROBE] = {G_SIG, "vision_model.head.probe"},
    [ENG_T_SIG_IN_W] = {G_SIG, "vision_model.head.attention.in_proj_weight"},
    [ENG_T_SIG_IN_B] = {G_SIG, "vision_model.head.attention.in_proj_bias"},
    [ENG_T_SIG_OUT_W] = {G_SIG, "vision_model.head.attention.out_proj.weight"},
    [ENG_T_SIG_OUT_B] = {G_SIG, "vision_model.head.attention.out_proj.bias"},
    [ENG_T_SIG_LN_W] = {G_SIG, "vision_model.head.layernorm.weight"},
    [ENG_T_SIG_LN_B] = {G_SIG, "vision_model.head.layernorm.bias"},
    [ENG_T_SIG_FC1_W] = {G_SIG, "vision_model.head.mlp.fc1.weight"},
    [ENG_T_SIG_FC1_B] = {G_SIG, "vision_model.head.mlp.fc1.bias"},
    [ENG_T_SIG_FC2_W] = {G_SIG, "vision_model.head.mlp.fc2.weight"},
    [ENG_T_SIG_FC2_B] = {G_SIG, "vision_model.head.mlp.fc2.bias"},
    [ENG_T_QV_PATCH_W] = {G_QV, "patch_embed.proj.weight"},
    [ENG_T_QV_NORM1_W] = {G_QV_L, "norm1.weight"},
    [ENG_T_QV_NORM2_W] = {G_QV_L, "norm2.weight"},
    [ENG_T_QV_QKV_W] = {G_QV_L, "attn.qkv.weight"},
    [ENG_T_QV_QKV_B] = {G_QV_L, "attn.qkv.bias"},
    [ENG_T_QV_PROJ_W] = {G_QV_L, "attn.proj.weight"},
    [ENG_T_QV_PROJ_B] = {G_QV_L, "attn.proj.bias"},
    [ENG_T_QV_GATE_W] = {G_QV_L, "mlp.gate_proj.weight"},
    [ENG_T_QV_GATE_B] = {G_QV_L, "mlp.gate_proj.bias"},
    [ENG_T_QV_UP_W] = {G_QV_L, "mlp.up_proj.weight"},
    [ENG_T_QV_UP_B] = {G_QV_L, "mlp.up_proj.bias"},
    [ENG_T_QV_DOWN_W] = {G_QV_L, "mlp.down_proj.weight"},
    [ENG_T_QV_DOWN_B] = {G_QV_L, "mlp.down_proj.bias"},
    [ENG_T_QV_MERGE_LN_W] = {G_QV, "merger.ln_q.weight"},
    [ENG_T_QV_MERGE1_W] = {G_QV, "merger.mlp.0.weight"},
    [ENG_T_QV_MERGE1_B] = {G_QV, "merger.mlp.0.bias"},
    [ENG_T_QV_MERGE2_W] = {G_QV, "merger.mlp.2.weight"},
    [ENG_T_QV_MERGE2_B] = {G_QV, "merger.mlp.2.bias"},
};

/* Prefix per group: [variant][group]; variant 0 = lmms, 1 = hf (4.45), 2 = hf (>= 4.52),
 * 3 = qwen2.5-vl (as published), 4 = qwen2.5-vl (>= 4.52 in-memory names, re-saved files). */
#define N_VARIANTS 5
static const char *const k_prefix[N_VARIANTS][G_QV_L + 1] = {
    {"model.vision_tower.vision_tower.vision_model.", "model.vision_tower.vision_tower.vision_model.encoder.layers.",
     "model.mm_projector.0.", "model.mm_projector.2.", "model.image_newline", "model.", "model.layers.",
     "lm_head.weight", ""},
    {"vision_tower.vision_model.", "vision_tower.vision_model.encoder.layers.", "multi_modal_projector.linear_1.",
     "multi_modal_projector.linear_2.", "image_newline", "language_model.model.", "language_model.model.layers.",
     "language_model.lm_head.weight", ""},
    {"model.vision_tower.vision_model.", "model.vision_tower.vision_model.encoder.layers.",
     "model.multi_modal_projector.linear_1.", "model.multi_modal_projector.linear_2.", "model.image_newline",
     "model.language_model.", "model.language_model.layers.", "lm_head.weight", ""},
    {"", "", "", "", "", "model.", "model.layers.", "lm_head.weight", "", "visual.", "visual.blocks."},
    {"", "", "", "", "", "model.language_model.", "model.language_model.layers.", "lm_head.weight", "",
     "model.visual.", "model.visual.blocks."},
};

int eng_tensor_is_layered(eng_tensor_id id) {
    if ((int)id < 0 || id >= ENG_T_COUNT) return 0;
    name_group g = k_names[id].group;
    return g == G_LLM_L ? 2 : (g == G_VIS_L || g == G_QV_L) ? 1 : 0;
}

int eng_tensor_in_layout(const eng_config *cfg, eng_tensor_id id) {
    if ((int)id < 0 || id >= ENG_T_COUNT) return 0;
    name_group g = k_names[id].group;
    if (g == G_SIG) return 0;
    if (id == ENG_T_LM_HEAD && cfg->llm.tie_embeddings) return 0;
    if (g == G_LLM || g == G_LLM_L || g == G_LMHEAD) return 1;
    if (cfg->layout == ENG_LAYOUT_QWEN25VL) return g == G_QV || g == G_QV_L;
    if (id == ENG_T_NEWLINE) return cfg->has_image_newline;
    return g != G_QV && g != G_QV_L;
}

int eng_tensor_is_siglip(eng_tensor_id id) {
    return (int)id >= 0 && id < ENG_T_COUNT && k_names[id].group == G_SIG;
}

static int variant_of(const eng_config *cfg) {
    if (cfg->layout == ENG_LAYOUT_QWEN25VL) return cfg->hf_new_names ? 4 : 3;
    return cfg->layout == ENG_LAYOUT_LMMS ? 0 : cfg->hf_new_names ? 2 : 1;
}

/* The other name variant of a layout that has two (hf, qwen), or -1. */
static int other_variant(const eng_config *cfg, int variant) {
    switch (variant) {
    case 1: return 2;
    case 2: return 1;
    case 3: return 4;
    case 4: return 3;
    }
    (void)cfg;
    return -1;
}

static int name_for_variant(const eng_config *cfg, int variant, eng_tensor_id id, int layer, char *buf, size_t len,
                            char *err, size_t err_len) {
    if ((int)id < 0 || id >= ENG_T_COUNT) {
        tb_set_err(err, err_len, "tensor id %d out of range", (int)id);
        return -1;
    }
    if (id == ENG_T_LM_HEAD && cfg->llm.tie_embeddings) id = ENG_T_EMBED;
    const name_entry *e = &k_names[id];
    int n;
    if (e->group == G_VIS_L || e->group == G_LLM_L || e->group == G_QV_L) {
        int max = e->group == G_LLM_L ? cfg->llm.n_layers : cfg->vision.n_layers;
        if (layer < 0 || layer >= max) {
            tb_set_err(err, err_len, "tensor id %d: layer %d out of range [0, %d)", (int)id, layer, max);
            return -1;
        }
        n = snprintf(buf, len, "%s%d.%s", k_prefix[variant][e->group], layer, e->tail);
    } else {
        n = snprintf(buf, len, "%s%s", k_prefix[variant][e->group], e->tail);
    }
    if (n < 0 || (size_t)n >= len) {
        tb_set_err(err, err_len, "tensor id %d: name buffer too small", (int)id);
        return -1;
    }
    return 0;
}

int eng_tensor_name(const eng_config *cfg, eng_tensor_id id, int layer, char *buf, size_t len, char *err,
                    size_t err_len) {
    return name_for_variant(cfg, variant_of(cfg), id, layer, buf, len, err, err_len);
}

int eng_tensor_shape(const eng_config *cfg, eng_tensor_id id, int64_t shape[ST_MAX_DIMS]) {
    const eng_vision_config *v = &cfg->vision;
    const eng_llm_config *l = &cfg->llm;
    int64_t Dv = v->hidden, Mv = v->intermediate, P = v->patch_size, D = l->hidden, M = l->intermediate;
    int64_t Q = (int64_t)l->n_heads * l->head_dim, KV = (int64_t)l->n_kv_heads * l->head_dim;
    for (int i = 0; i < ST_MAX_DIMS; i++)
        shape[i] = 0;
#define S1(a) (shape[0] = (a), 1)
#define S2(a, b) (shape[0] = (a), shape[1] = (b), 2)
    switch (id) {
    case ENG_T_V_PATCH_W:
        shape[0] = Dv;
        shape[1] = v->n_channels;
        shape[2] = P;
        shape[3] = P;
        return 4;
    case ENG_T_V_POS:
        return S2(v->n_patches, Dv);
    case ENG_T_V_PATCH_B:
    case ENG_T_V_LN1_W:
    case ENG_T_V_LN1_B:
    case ENG_T_V_Q_B:
    case ENG_T_V_K_B:
    case ENG_T_V_V_B:
    case ENG_T_V_O_B:
    case ENG_T_V_LN2_W:
    case ENG_T_V_LN2_B:
    case ENG_T_V_FC2_B:
    case ENG_T_V_POST_LN_W:
    case ENG_T_V_POST_LN_B:
    case ENG_T_SIG_POST_LN_W:
    case ENG_T_SIG_POST_LN_B:
    case ENG_T_SIG_OUT_B:
    case ENG_T_SIG_LN_W:
    case ENG_T_SIG_LN_B:
    case ENG_T_SIG_FC2_B:
        return S1(Dv);
    case ENG_T_V_Q_W:
    case ENG_T_V_K_W:
    case ENG_T_V_V_W:
    case ENG_T_V_O_W:
    case ENG_T_SIG_OUT_W:
        return S2(Dv, Dv);
    case ENG_T_V_FC1_W:
    case ENG_T_SIG_FC1_W:
        return S2(Mv, Dv);
    case ENG_T_V_FC1_B:
    case ENG_T_SIG_FC1_B:
        return S1(Mv);
    case ENG_T_V_FC2_W:
    case ENG_T_SIG_FC2_W:
        return S2(Dv, Mv);
    case ENG_T_SIG_PROBE:
        shape[0] = 1;
        shape[1] = 1;
        shape[2] = Dv;
        return 3;
    case ENG_T_SIG_IN_W:
        return S2(3 * Dv, Dv);
    case ENG_T_SIG_IN_B:
        return S1(3 * Dv);
    case ENG_T_PROJ1_W:
        return S2(D, Dv);
    case ENG_T_PROJ2_W:
        return S2(D, D);
    case ENG_T_PROJ1_B:
    case ENG_T_PROJ2_B:
    case ENG_T_NEWLINE:
    case ENG_T_L_IN_NORM:
    case ENG_T_L_POST_NORM:
    case ENG_T_NORM:
        return S1(D);
    case ENG_T_EMBED:
    case ENG_T_LM_HEAD:
        return S2(l->vocab, D);
    case ENG_T_L_Q_W:
        return S2(Q, D);
    case ENG_T_L_Q_B:
        return S1(Q);
    case ENG_T_L_K_W:
    case ENG_T_L_V_W:
        return S2(KV, D);
    case ENG_T_L_K_B:
    case ENG_T_L_V_B:
        return S1(KV);
    case ENG_T_L_O_W:
        return S2(D, Q);
    case ENG_T_L_GATE_W:
    case ENG_T_L_UP_W:
        return S2(M, D);
    case ENG_T_L_DOWN_W:
        return S2(D, M);
    case ENG_T_QV_PATCH_W:
        shape[0] = cfg->qv.hidden;
        shape[1] = cfg->qv.in_channels;
        shape[2] = cfg->qv.temporal_patch;
        shape[3] = cfg->qv.patch;
        shape[4] = cfg->qv.patch;
        return 5;
    case ENG_T_QV_NORM1_W:
    case ENG_T_QV_NORM2_W:
    case ENG_T_QV_PROJ_B:
    case ENG_T_QV_DOWN_B:
    case ENG_T_QV_MERGE_LN_W:
        return S1(cfg->qv.hidden);
    case ENG_T_QV_QKV_W:
        return S2(3 * (int64_t)cfg->qv.hidden, cfg->qv.hidden);
    case ENG_T_QV_QKV_B:
        return S1(3 * (int64_t)cfg->qv.hidden);
    case ENG_T_QV_PROJ_W:
        return S2(cfg->qv.hidden, cfg->qv.hidden);
    case ENG_T_QV_GATE_W:
    case ENG_T_QV_UP_W:
        return S2(cfg->qv.intermediate, cfg->qv.hidden);
    case ENG_T_QV_GATE_B:
    case ENG_T_QV_UP_B:
        return S1(cfg->qv.intermediate);
    case ENG_T_QV_DOWN_W:
        return S2(cfg->qv.hidden, cfg->qv.intermediate);
    case ENG_T_QV_MERGE1_W: {
        int64_t u = (int64_t)cfg->qv.merge * cfg->qv.merge * cfg->qv.hidden;
        return S2(u, u);
    }
    case ENG_T_QV_MERGE1_B:
        return S1((int64_t)cfg->qv.merge * cfg->qv.merge * cfg->qv.hidden);
    case ENG_T_QV_MERGE2_W:
        return S2(cfg->qv.out_hidden, (int64_t)cfg->qv.merge * cfg->qv.merge * cfg->qv.hidden);
    case ENG_T_QV_MERGE2_B:
        return S1(cfg->qv.out_hidden);
    case ENG_T_COUNT:
        break;
    }
#undef S1
#undef S2
    return -1;
}

static void fmt_shape(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = 0;
    buf[0] = '\0';
    int n = snprintf(buf, len, "[");
    if (n > 0) k = (size_t)n;
    for (int i = 0; i < ndim && k < len; i++) {
        n = snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (n < 0) break;
        k += (size_t)n;
    }
    if (k < len) snprintf(buf + k, len - k, "]");
}

/* Finds (id, layer) under a given name variant and checks the shape; *found_absent = 1 when the
 * name simply is not there (so a caller may try another variant). */
/* check_finite: scan the values too (st_check_finite). Only the tensors a model loads are scanned:
 * the vision model and the LLM map the same checkpoint separately, and a bind that scanned every
 * tensor would make each mapping hold the whole checkpoint (twice its size in resident pages). */
static const st_tensor *find_variant(const st_file *st, const eng_config *cfg, int variant, eng_tensor_id id, int layer,
                                     int check_finite, int *absent, char *err, size_t err_len) {
    char name[512];
    *absent = 0;
    if (name_for_variant(cfg, variant, id, layer, name, sizeof name, err, err_len) != 0) return NULL;
    const st_tensor *t = st_find(st, name);
    if (!t) {
        *absent = 1;
        tb_set_err(err, err_len, "%s: tensor %s: not found", st_path(st), name);
        return NULL;
    }
    int64_t want[ST_MAX_DIMS];
    int nd = eng_tensor_shape(cfg, id, want);
    int same = nd == t->ndim;
    for (int i = 0; same && i < nd; i++)
        same = want[i] == t->shape[i];
    if (!same) {
        char a[128], b[128];
        fmt_shape(a, sizeof a, t->ndim, t->shape);
        fmt_shape(b, sizeof b, nd, want);
        tb_set_err(err, err_len, "%s: tensor %s: shape %s, expected %s", t->file, name, a, b);
        return NULL;
    }
    if (check_finite && st_check_finite(st, t, err, err_len) != 0) return NULL; /* NaN/Inf: refused at load */
    return t;
}

const st_tensor *eng_tensor_find(const st_file *st, const eng_config *cfg, eng_tensor_id id, int layer, char *err,
                                 size_t err_len) {
    if (!st || !cfg) {
        tb_set_err(err, err_len, "eng_tensor_find: no checkpoint or config");
        return NULL;
    }
    int absent = 0;
    int variant = eng_tensor_is_siglip(id) ? 0 : variant_of(cfg);
    const st_tensor *t = find_variant(st, cfg, variant, id, layer, 1, &absent, err, err_len);
    int other = eng_tensor_is_siglip(id) ? -1 : other_variant(cfg, variant);
    if (!t && absent && other >= 0) {
        /* not bound yet: accept the other prefix set, but report the primary name */
        char saved[512];
        snprintf(saved, sizeof saved, "%s", err ? err : "");
        t = find_variant(st, cfg, other, id, layer, 1, &absent, err, err_len);
        if (!t && absent && err && err_len) snprintf(err, err_len, "%s", saved);
    }
    return t;
}

float *eng_tensor_load_f32(const st_file *st, const eng_config *cfg, eng_tensor_id id, int layer, char *err,
                           size_t err_len) {
    const st_tensor *t = eng_tensor_find(st, cfg, id, layer, err, err_len);
    if (!t) return NULL;
    float *out = malloc(t->numel ? t->numel * sizeof(float) : 1);
    if (!out) {
        tb_set_err(err, err_len, "%s: tensor %s: out of memory", t->file, t->name);
        return NULL;
    }
    st_convert_f32(t, out);
    return out;
}

size_t eng_checkpoint_tensor_count(const eng_config *cfg) {
    size_t n = (size_t)cfg->llm.n_layers * 12 + 2 + (cfg->llm.tie_embeddings ? 0 : 1);
    if (cfg->layout == ENG_LAYOUT_QWEN25VL) return n + 1 + (size_t)cfg->qv.depth * 12 + 5;
    n += (size_t)cfg->vision.n_layers * 16 + 5;
    n += 4 + (cfg->has_image_newline ? 1 : 0);
    return n;
}

int eng_checkpoint_bind(eng_config *cfg, const st_file *st, char *err, size_t err_len) {
    if (!st || !cfg) {
        tb_set_err(err, err_len, "eng_checkpoint_bind: no checkpoint or config");
        return -1;
    }
    if (cfg->layout != ENG_LAYOUT_LMMS) {
        char a[256], b[256];
        int v0 = cfg->layout == ENG_LAYOUT_HF ? 1 : 3;
        cfg->hf_new_names = 0;
        if (name_for_variant(cfg, v0, ENG_T_EMBED, 0, a, sizeof a, err, err_len) != 0 ||
            name_for_variant(cfg, v0 + 1, ENG_T_EMBED, 0, b, sizeof b, err, err_len) != 0)
            return -1;
        if (!st_find(st, a) && st_find(st, b)) cfg->hf_new_names = 1;
    }
    if (cfg->layout == ENG_LAYOUT_LMMS) {
        /* LLaVA's SigLIP tower deletes the encoder's last layer before it runs (and before the
         * checkpoint is saved) and runs every layer it keeps: the config names the tower before
         * the deletion (27 for so400m) or after it (26). Count the stored layers and run them all. */
        int stored = 0;
        for (;; stored++) {
            char nm[256];
            snprintf(nm, sizeof nm, "%s%d.%s", k_prefix[0][G_VIS_L], stored, k_names[ENG_T_V_LN1_W].tail);
            if (!st_find(st, nm)) break;
        }
        int ncfg = cfg->vision.n_layers_cfg;
        if (stored == 0 || (ncfg != stored && ncfg != stored + 1)) {
            tb_set_err(err, err_len,
                       "%s: vision num_hidden_layers is %d but the checkpoint stores %d encoder layers: it must equal "
                       "the stored count or exceed it by one (LLaVA deletes SigLIP's last layer before saving)",
                       st_path(st), ncfg, stored);
            return -1;
        }
        cfg->vision.n_layers = stored;
    }
    size_t n = st_count(st);
    unsigned char *seen = calloc(n ? n : 1, 1);
    if (!seen) {
        tb_set_err(err, err_len, "%s: out of memory", st_path(st));
        return -1;
    }
    int rc = -1;
    for (int id = 0; id < ENG_T_COUNT; id++) {
        if (!eng_tensor_in_layout(cfg, (eng_tensor_id)id)) continue;
        int lay = eng_tensor_is_layered((eng_tensor_id)id);
        int nl = lay == 1 ? cfg->vision.n_layers : lay == 2 ? cfg->llm.n_layers : 1;
        for (int L = 0; L < nl; L++) {
            int absent = 0;
            const st_tensor *t = find_variant(st, cfg, variant_of(cfg), (eng_tensor_id)id, L, 0, &absent, err, err_len);
            if (!t) goto out;
            seen[t - st_at(st, 0)] = 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!seen[i]) {
            const st_tensor *t = st_at(st, i);
            tb_set_err(err, err_len, "%s: tensor %s: unexpected in a %s checkpoint with %d vision and %d LLM layers",
                    t->file, t->name, eng_layout_str(cfg->layout), cfg->vision.n_layers, cfg->llm.n_layers);
            goto out;
        }
    }
    rc = 0;
out:
    free(seen);
    return rc;
}

int eng_siglip_check(const eng_config *cfg, const st_file *siglip, char *err, size_t err_len) {
    for (int id = 0; id < ENG_T_COUNT; id++) {
        if (!eng_tensor_is_siglip((eng_tensor_id)id)) continue;
        if (!eng_tensor_find(siglip, cfg, (eng_tensor_id)id, 0, err, err_len)) return -1;
    }
    return 0;
}
