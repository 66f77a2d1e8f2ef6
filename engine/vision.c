/* vision.c - the vision side of LLaVA-OneVision / LLaVA-Video: SigLIP tower run to LLaVA's select
 * layer, the mlp2x_gelu projector, 2-D pooling on the patch grid, and the saliency taps the
 * pruners read (spec llava-ov-engine.md §1.1-1.3, §2.4, §7.7; tango.md §1.3;
 * visionzip-fastv-dart-vidcom2.md §3.2).
 *
 * Dimension letters: T frames, Bc frames in one chunk, P = G*G patches, G grid side, p patch
 * side, Dv vision width, H heads, Dh = Dv/H, Mv MLP width, D projector output (LLM width),
 * Gp pooled grid side, L = Gp*Gp pooled tokens.
 *
 * Per chunk of Bc frames (all on the backend, through the op table):
 *   x      = patches[Bc*P, 3pp] . Wpe^T + bpe + pos            (Conv2d k=s=p as one GEMM)
 *   layer  : h = LN1(x); qkv = h . Wqkv^T + b; a = MHA(qkv) (no mask, scale Dh^-1/2);
 *            x += a . Wo^T + bo; h = LN2(x); x += fc2(gelu_tanh(fc1(h)))
 *   taps of the last layer run: recv (mean attention received per key, over heads and queries),
 *            keys = head mean of its k projection [Bc*P, Dh]
 *   hidden = x (no post_layernorm: the reference discards it)
 *   proj   = Linear2(gelu_erf(Linear1(x)))                     [Bc*P, D]
 *   pooled = pool2d(proj), pool2d(recv), pool2d(keys)          bilinear G->ceil(G/2) or avg 2x2
 *   head   : z = post_LN(x); attention of the fixed probe query over k,v = in_proj(z); head-mean
 *            probabilities = map_attn [Bc, P]; o = out_proj(attn); frame_global = o + MLP(LN(o)).
 *
 * What this file does not do: preprocessing (frames arrive normalised), newline insertion (the
 * pruners / LLM place image_newline), reduced-precision activation modes. */
#include "engine/model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/clock.h"
#include "common/rng.h"

/* ---- loading ---------------------------------------------------------------------------------- */

/* Loads one tensor and moves it to the backend; *dst stays NULL on failure. */
static int load_to(eng_model *m, const st_file *st, float **dst, eng_tensor_id id, int layer, size_t n, char *err,
                   size_t err_len) {
    float *h = eng_model_load_tensor(m, st, id, layer, err, err_len);
    if (!h) return ENG_ERR_FORMAT;
    *dst = eng_model_to_backend(m, h, n, err, err_len);
    return *dst ? ENG_OK : ENG_ERR_BACKEND;
}

/* Loads q, k, v weights and biases of layer l stacked as [3Dv, Dv] / [3Dv]: the three stored
 * matrices copied one after the other in their dtype (float32 when their dtypes differ). */
static int load_qkv(eng_model *m, int l, eng_vision_layer *ly, char *err, size_t err_len) {
    size_t dv = (size_t)m->cfg.vision.hidden;
    static const eng_tensor_id wid[3] = {ENG_T_V_Q_W, ENG_T_V_K_W, ENG_T_V_V_W};
    static const eng_tensor_id bid[3] = {ENG_T_V_Q_B, ENG_T_V_K_B, ENG_T_V_V_B};
    const st_tensor *tw[3];
    for (int i = 0; i < 3; i++)
        if (!(tw[i] = eng_tensor_find(m->st, &m->cfg, wid[i], l, err, err_len))) return ENG_ERR_FORMAT;
    int same = tw[0]->dtype == tw[1]->dtype && tw[1]->dtype == tw[2]->dtype;
    eng_wdesc d0;
    eng_wdesc_of_tensor(tw[0], &d0);
    eng_dtype dt = same ? d0.dtype : ENG_DT_F32;
    size_t esz = eng_dtype_size(dt);
    uint8_t *w = malloc(3 * dv * dv * esz);
    float *b = malloc(3 * dv * sizeof *b);
    if (!w || !b) {
        free(w);
        free(b);
        snprintf(err, err_len, "out of memory loading vision layer %d", l);
        return ENG_ERR_NOMEM;
    }
    for (int i = 0; i < 3; i++) {
        /* hashed in the order q_w, q_b, k_w, k_b, v_w, v_b (the weights digest is unchanged) */
        float *tb = NULL, *tf = same ? NULL : eng_model_load_tensor(m, m->st, wid[i], l, err, err_len);
        if ((!same && !tf)) goto bad;
        if (same) {
            if (!eng_model_load_tensor_hash(m, tw[i], err, err_len)) goto bad;
            memcpy(w + (size_t)i * dv * dv * esz, tw[i]->data, dv * dv * esz);
        } else {
            memcpy(w + (size_t)i * dv * dv * esz, tf, dv * dv * esz);
            free(tf);
        }
        if (!(tb = eng_model_load_tensor(m, m->st, bid[i], l, err, err_len))) goto bad;
        memcpy(b + (size_t)i * dv, tb, dv * sizeof *b);
        free(tb);
    }
    eng_wdesc d = {dt, 3 * (int64_t)dv, (int64_t)dv, w, w};
    int rc = eng_model_put_weight(m, &ly->qkv_w, &d, err, err_len); /* takes w */
    if (rc != ENG_OK) {
        free(b);
        return rc;
    }
    ly->qkv_b = eng_model_to_backend(m, b, 3 * dv, err, err_len);
    return ly->qkv_b ? ENG_OK : ENG_ERR_BACKEND;
bad:
    free(w);
    free(b);
    return ENG_ERR_FORMAT;
}

/* The SigLIP head: post_layernorm + MAP head from the Google checkpoint at path. */
static int load_head(eng_model *m, const char *path, char *err, size_t err_len) {
    eng_vision_config scfg;
    const eng_vision_config *vc = &m->cfg.vision;
    eng_vision_weights *w = &m->vw;
    size_t dv = (size_t)vc->hidden, mv = (size_t)vc->intermediate;
    int rc = ENG_ERR_FORMAT;
    st_file *st = NULL;
    float *probe = NULL, *in_w = NULL, *in_b = NULL;
    char cfg_path[4096];
    /* The config check is best effort: a bare .safetensors path has no config.json beside it. */
    int n = snprintf(cfg_path, sizeof cfg_path, "%s", path);
    if (n > 0 && (size_t)n < sizeof cfg_path && !strstr(path, ".safetensors")) {
        if (eng_siglip_config_load(path, &scfg, err, err_len) != 0) return ENG_ERR_FORMAT;
        if (eng_siglip_config_check(vc, &scfg, err, err_len) != 0) return ENG_ERR_FORMAT;
    }
    st = m->st_head = st_open(path, err, err_len); /* mapped for the model's life: weights view it */
    if (!st) return ENG_ERR_IO;
    if (eng_siglip_check(&m->cfg, st, err, err_len) != 0) goto out;
    if ((rc = load_to(m, st, &w->post_ln_w, ENG_T_SIG_POST_LN_W, 0, dv, err, err_len)) ||
        (rc = load_to(m, st, &w->post_ln_b, ENG_T_SIG_POST_LN_B, 0, dv, err, err_len)) ||
        (rc = eng_model_load_weight(m, st, ENG_T_SIG_OUT_W, 0, &w->head_out_w, err, err_len)) ||
        (rc = load_to(m, st, &w->head_out_b, ENG_T_SIG_OUT_B, 0, dv, err, err_len)) ||
        (rc = load_to(m, st, &w->head_ln_w, ENG_T_SIG_LN_W, 0, dv, err, err_len)) ||
        (rc = load_to(m, st, &w->head_ln_b, ENG_T_SIG_LN_B, 0, dv, err, err_len)) ||
        (rc = eng_model_load_weight(m, st, ENG_T_SIG_FC1_W, 0, &w->head_fc1_w, err, err_len)) ||
        (rc = load_to(m, st, &w->head_fc1_b, ENG_T_SIG_FC1_B, 0, mv, err, err_len)) ||
        (rc = eng_model_load_weight(m, st, ENG_T_SIG_FC2_W, 0, &w->head_fc2_w, err, err_len)) ||
        (rc = load_to(m, st, &w->head_fc2_b, ENG_T_SIG_FC2_B, 0, dv, err, err_len)))
        goto out;
    rc = ENG_ERR_FORMAT;
    probe = eng_model_load_tensor(m, st, ENG_T_SIG_PROBE, 0, err, err_len);
    in_w = probe ? eng_model_load_tensor(m, st, ENG_T_SIG_IN_W, 0, err, err_len) : NULL;
    in_b = in_w ? eng_model_load_tensor(m, st, ENG_T_SIG_IN_B, 0, err, err_len) : NULL;
    if (!in_b) goto out;
    /* The probe query never depends on the frame: q = probe . Wq^T + bq once, in double. */
    w->head_q = malloc(dv * sizeof *w->head_q);
    float *kv_b = malloc(2 * dv * sizeof *kv_b);
    if (!w->head_q || !kv_b) {
        free(kv_b);
        snprintf(err, err_len, "out of memory loading the SigLIP head");
        rc = ENG_ERR_NOMEM;
        goto out;
    }
    for (size_t o = 0; o < dv; o++) {
        double acc = in_b[o];
        for (size_t j = 0; j < dv; j++) acc += (double)probe[j] * (double)in_w[o * dv + j];
        w->head_q[o] = (float)acc;
    }
    memcpy(kv_b, in_b + dv, 2 * dv * sizeof *kv_b);
    /* k;v projection rows Dv..3Dv-1 of the stored in_proj: a view, no copy */
    const st_tensor *tin = eng_tensor_find(st, &m->cfg, ENG_T_SIG_IN_W, 0, err, err_len);
    eng_wdesc kd;
    eng_wdesc_of_tensor(tin, &kd);
    kd.host = (const uint8_t *)kd.host + dv * dv * eng_dtype_size(kd.dtype);
    kd.rows = 2 * (int64_t)dv;
    if ((rc = eng_model_put_weight(m, &w->head_kv_w, &kd, err, err_len)) != ENG_OK) {
        free(kv_b);
        goto out;
    }
    w->head_kv_b = eng_model_to_backend(m, kv_b, 2 * dv, err, err_len);
    if (!w->head_kv_b) {
        rc = ENG_ERR_BACKEND;
        goto out;
    }
    w->has_head = 1;
    rc = ENG_OK;
out:
    free(probe);
    free(in_w);
    free(in_b);
    return rc;
}

int eng_vision_load(eng_model *m, const char *siglip_path, char *err, size_t err_len) {
    const eng_vision_config *vc = &m->cfg.vision;
    eng_vision_weights *w = &m->vw;
    int rc;
    if (m->cfg.projector != ENG_PROJ_MLP2X_GELU) {
        snprintf(err, err_len, "config: mm_projector_type is not mlp2x_gelu (only mlp2x_gelu is implemented)");
        return ENG_ERR_FORMAT;
    }
    if (vc->hidden <= 0 || vc->n_heads <= 0 || vc->hidden % vc->n_heads || vc->grid <= 0 || vc->n_layers <= 0 ||
        vc->intermediate <= 0 || vc->n_channels != 3 || m->cfg.llm.hidden <= 0) {
        snprintf(err, err_len, "config: unsupported vision shape (hidden %d, heads %d, grid %d, layers %d, channels %d)",
                 vc->hidden, vc->n_heads, vc->grid, vc->n_layers, vc->n_channels);
        return ENG_ERR_FORMAT;
    }
    size_t dv = (size_t)vc->hidden, mv = (size_t)vc->intermediate, d = (size_t)m->cfg.llm.hidden;
    size_t pp = (size_t)vc->patch_size * (size_t)vc->patch_size, np = (size_t)vc->n_patches;
    m->vision_loaded = 1; /* from here on eng_vision_unload has something to release */
    w->layers = calloc((size_t)vc->n_layers, sizeof *w->layers);
    if (!w->layers) {
        snprintf(err, err_len, "out of memory");
        return ENG_ERR_NOMEM;
    }
    (void)pp;
    if ((rc = eng_model_load_weight(m, m->st, ENG_T_V_PATCH_W, 0, &w->patch_w, err, err_len)) ||
        (rc = load_to(m, m->st, &w->patch_b, ENG_T_V_PATCH_B, 0, dv, err, err_len)) ||
        (rc = load_to(m, m->st, &w->pos, ENG_T_V_POS, 0, np * dv, err, err_len)))
        return rc;
    for (int l = 0; l < vc->n_layers; l++) {
        eng_vision_layer *ly = &w->layers[l];
        if ((rc = load_to(m, m->st, &ly->ln1_w, ENG_T_V_LN1_W, l, dv, err, err_len)) ||
            (rc = load_to(m, m->st, &ly->ln1_b, ENG_T_V_LN1_B, l, dv, err, err_len)) ||
            (rc = load_qkv(m, l, ly, err, err_len)) ||
            (rc = eng_model_load_weight(m, m->st, ENG_T_V_O_W, l, &ly->o_w, err, err_len)) ||
            (rc = load_to(m, m->st, &ly->o_b, ENG_T_V_O_B, l, dv, err, err_len)) ||
            (rc = load_to(m, m->st, &ly->ln2_w, ENG_T_V_LN2_W, l, dv, err, err_len)) ||
            (rc = load_to(m, m->st, &ly->ln2_b, ENG_T_V_LN2_B, l, dv, err, err_len)) ||
            (rc = eng_model_load_weight(m, m->st, ENG_T_V_FC1_W, l, &ly->fc1_w, err, err_len)) ||
            (rc = load_to(m, m->st, &ly->fc1_b, ENG_T_V_FC1_B, l, mv, err, err_len)) ||
            (rc = eng_model_load_weight(m, m->st, ENG_T_V_FC2_W, l, &ly->fc2_w, err, err_len)) ||
            (rc = load_to(m, m->st, &ly->fc2_b, ENG_T_V_FC2_B, l, dv, err, err_len)))
            return rc;
    }
    if ((rc = eng_model_load_weight(m, m->st, ENG_T_PROJ1_W, 0, &w->proj1_w, err, err_len)) ||
        (rc = load_to(m, m->st, &w->proj1_b, ENG_T_PROJ1_B, 0, d, err, err_len)) ||
        (rc = eng_model_load_weight(m, m->st, ENG_T_PROJ2_W, 0, &w->proj2_w, err, err_len)) ||
        (rc = load_to(m, m->st, &w->proj2_b, ENG_T_PROJ2_B, 0, d, err, err_len)))
        return rc;
    if (m->cfg.has_image_newline) {
        m->newline = eng_model_load_tensor(m, m->st, ENG_T_NEWLINE, 0, err, err_len);
        if (!m->newline) return ENG_ERR_FORMAT;
    }
    if (siglip_path) return load_head(m, siglip_path, err, err_len);
    return ENG_OK;
}

void eng_vision_unload(eng_model *m) {
    if (!m->vision_loaded) return;
    eng_backend *be = &m->be;
    eng_vision_weights *w = &m->vw;
    float **globals[] = {&w->patch_b,   &w->pos,       &w->proj1_b,    &w->proj2_b,    &w->post_ln_w,
                         &w->post_ln_b, &w->head_kv_b, &w->head_out_b, &w->head_ln_w,  &w->head_ln_b,
                         &w->head_fc1_b, &w->head_fc2_b};
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++) {
        be->k->free(be, *globals[i]);
        *globals[i] = NULL;
    }
    eng_weight *gw[] = {&w->patch_w, &w->proj1_w, &w->proj2_w, &w->head_kv_w, &w->head_out_w, &w->head_fc1_w,
                        &w->head_fc2_w};
    for (size_t i = 0; i < sizeof gw / sizeof gw[0]; i++) be->k->weight_free(be, gw[i]);
    if (w->layers) {
        for (int l = 0; l < m->cfg.vision.n_layers; l++) {
            eng_vision_layer *ly = &w->layers[l];
            float *ps[] = {ly->ln1_w, ly->ln1_b, ly->qkv_b, ly->o_b, ly->ln2_w, ly->ln2_b, ly->fc1_b, ly->fc2_b};
            for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) be->k->free(be, ps[i]);
            eng_weight *ws[] = {&ly->qkv_w, &ly->o_w, &ly->fc1_w, &ly->fc2_w};
            for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) be->k->weight_free(be, ws[i]);
        }
        free(w->layers);
    }
    free(w->head_q);
    memset(w, 0, sizeof *w);
    m->vision_loaded = 0;
}

void eng_model_vision_info(const eng_model *m, eng_vision_info *out) {
    memset(out, 0, sizeof *out);
    if (!m) return;
    const eng_vision_config *vc = &m->cfg.vision;
    out->image_size = vc->image_size;
    out->patch_size = vc->patch_size;
    out->grid = vc->grid;
    out->n_patches = vc->n_patches;
    out->d_vision = vc->hidden;
    out->n_heads = vc->n_heads;
    out->head_dim = vc->hidden / (vc->n_heads > 0 ? vc->n_heads : 1);
    out->n_layers = vc->n_layers;
    out->d_model = m->cfg.llm.hidden;
    out->has_head = m->vw.has_head;
    out->pool_mode = m->cfg.pool_mode == ENG_POOL_AVERAGE ? 1 : 0;
    out->intermediate = vc->intermediate;
    out->backend = m->be.k ? m->be.k->name : "";
    out->dtype = eng_compute_dtype_name(m->be.dtype);
    if (m->cfg.layout == ENG_LAYOUT_QWEN25VL) {
        const eng_qwen_vision_config *q = &m->cfg.qv;
        out->qwen = 1;
        out->image_size = out->grid = out->n_patches = 0;
        out->pool_mode = 0;
        out->temporal_patch = q->temporal_patch;
        out->merge = q->merge;
        out->window = q->window;
        out->depth = q->depth;
        out->patch_size = q->patch;
        out->has_head = 0;
    }
}

/* ---- encode ----------------------------------------------------------------------------------- */

eng_encode_params eng_encode_default_params(void) {
    eng_encode_params p;
    memset(&p, 0, sizeof p);
    p.pool = ENG_VPOOL_CONFIG;
    p.frames_per_batch = 4;
    p.keep_hidden = 1;
    p.keep_projected = 1;
    return p;
}

void eng_vision_out_free(eng_vision_out *o) {
    if (!o) return;
    free(o->vision_hidden);
    free(o->projected);
    free(o->pooled);
    free(o->map_attn);
    free(o->pooled_attn);
    free(o->layer_attn_mean);
    free(o->pooled_layer_attn);
    free(o->frame_global);
    free(o->pooled_keys);
    memset(o, 0, sizeof *o);
}

/* Backend scratch for one chunk of Bc frames: activations (elements of the backend's numerics)
 * and the float32 taps. */
typedef struct {
    eng_act *patches; /* [Bc*P, 3pp] */
    eng_act *x;       /* [Bc*P, Dv] residual stream */
    eng_act *h;       /* [Bc*P, Dv] normed / attention output */
    eng_act *qkv;     /* [Bc*P, 3Dv] (head: k;v [Bc*P, 2Dv]) */
    eng_act *mlp;     /* [Bc*P, Mv] */
    eng_act *t1;      /* [Bc*P, D] projector hidden */
    eng_act *proj;    /* [Bc*P, D] */
    eng_act *pooled;  /* [Bc*L, D] */
    eng_act *hq;      /* [Bc, Dv] probe queries (same row repeated) */
    eng_act *ho;      /* [Bc, Dv] head attention output */
    eng_act *ho2;     /* [Bc, Dv] head residual / frame_global */
    eng_act *hm;      /* [Bc, Mv] */
    float *recv;      /* [Bc, P] mean received attention of the last layer (tap) */
    float *keys;      /* [Bc*P, Dh] head-mean keys (tap) */
    float *map;       /* [Bc, P] SigLIP head attention (tap) */
} vis_scratch;

#define N_ACT 12
#define N_TAP 3

/* Checked product of non-negative sizes; 0 on overflow (callers treat 0 for a non-empty shape as
 * an error). */
static size_t mul3(size_t a, size_t b, size_t c) {
    if (a && b > SIZE_MAX / a) return 0;
    size_t ab = a * b;
    if (ab && c > SIZE_MAX / ab) return 0;
    return ab * c;
}

#define OP(call)                                                                                                   \
    do {                                                                                                           \
        if ((call) != 0) {                                                                                         \
            snprintf(err, err_len, "vision encode (%s backend): %s", be->k->name, be->err);                        \
            rc = ENG_ERR_BACKEND;                                                                                  \
            goto out;                                                                                              \
        }                                                                                                          \
    } while (0)

int eng_vision_encode(eng_model *m, const float *pixels, int64_t n_frames, const eng_encode_params *p,
                      eng_vision_out *out, char *err, size_t err_len) {
    eng_encode_params defp = eng_encode_default_params();
    if (!p) p = &defp;
    if (out) memset(out, 0, sizeof *out);
    if (!m || !out || !pixels || n_frames <= 0) {
        snprintf(err, err_len, "eng_vision_encode: %s", !m ? "no model" : !out ? "no output" : !pixels ? "no pixels"
                                                                                                 : "frame count must be > 0");
        return ENG_ERR_ARG;
    }
    if (!m->vision_loaded) {
        snprintf(err, err_len, "eng_vision_encode: the model was loaded without its vision tower");
        return ENG_ERR_ARG;
    }
    if (p->pool != ENG_VPOOL_CONFIG && p->pool != ENG_VPOOL_BILINEAR && p->pool != ENG_VPOOL_AVERAGE) {
        snprintf(err, err_len, "eng_vision_encode: unknown pool mode %d", (int)p->pool);
        return ENG_ERR_ARG;
    }
    eng_backend *be = &m->be;
    const eng_vision_config *vc = &m->cfg.vision;
    const eng_vision_weights *w = &m->vw;
    const int64_t T = n_frames, G = vc->grid, P = (int64_t)vc->n_patches, ps = vc->patch_size, S = vc->image_size;
    const int64_t Dv = vc->hidden, H = vc->n_heads, Dh = Dv / H, Mv = vc->intermediate, D = m->cfg.llm.hidden;
    const int64_t K3 = 3 * ps * ps;
    /* NaN pixels would give NaN features, and every answer after them token 0 */
    for (int64_t i = 0; i < T * 3 * S * S; i++)
        if (!isfinite(pixels[i])) {
            snprintf(err, err_len, "eng_vision_encode: pixel %lld (frame %lld) is %s", (long long)i,
                     (long long)(i / (3 * S * S)), isnan(pixels[i]) ? "NaN" : "infinite");
            return ENG_ERR_ARG;
        }
    eng_pool_mode pm = p->pool == ENG_VPOOL_BILINEAR  ? ENG_POOL_BILINEAR
                       : p->pool == ENG_VPOOL_AVERAGE ? ENG_POOL_AVERAGE
                                                      : m->cfg.pool_mode;
    if (pm != ENG_POOL_BILINEAR && pm != ENG_POOL_AVERAGE) {
        snprintf(err, err_len, "eng_vision_encode: pool mode %s is not implemented", eng_pool_mode_str(pm));
        return ENG_ERR_ARG;
    }
    /* The reference passes stride 2 whatever mm_spatial_pool_stride says (spec §1.3). */
    const int64_t Gp = pm == ENG_POOL_BILINEAR ? (G + 1) / 2 : G / 2, L = Gp * Gp;
    int64_t Bc = p->frames_per_batch > 0 ? p->frames_per_batch : 4;
    if (Bc > T) Bc = T;
    int (*gelu_act)(eng_backend *, eng_act *, const eng_act *, size_t) =
        vc->gelu_tanh ? be->k->gelu_tanh : be->k->gelu_erf;
    int rc = ENG_OK;
    vis_scratch sc;
    memset(&sc, 0, sizeof sc);
    eng_act **acts[N_ACT] = {&sc.patches, &sc.x, &sc.h, &sc.qkv, &sc.mlp, &sc.t1,
                             &sc.proj,    &sc.pooled, &sc.hq, &sc.ho, &sc.ho2, &sc.hm};
    float **taps[N_TAP] = {&sc.recv, &sc.keys, &sc.map};
    float *host_patches = NULL, *hkeys = NULL;
    eng_tick tk0, tk1;

    /* Output arrays (host). */
    out->n_frames = T;
    out->n_patches = P;
    out->grid = G;
    out->n_pooled = L;
    out->grid_pooled = Gp;
    out->d_vision = Dv;
    out->d_model = D;
    out->head_dim = Dh;
    out->pool_mode = pm == ENG_POOL_AVERAGE ? 1 : 0;
    struct {
        float **dst;
        size_t n;
        int want;
    } outs[] = {
        {&out->vision_hidden, mul3((size_t)T, (size_t)P, (size_t)Dv), p->keep_hidden},
        {&out->projected, mul3((size_t)T, (size_t)P, (size_t)D), p->keep_projected},
        {&out->pooled, mul3((size_t)T, (size_t)L, (size_t)D), 1},
        {&out->map_attn, mul3((size_t)T, (size_t)P, 1), w->has_head},
        {&out->pooled_attn, mul3((size_t)T, (size_t)L, 1), w->has_head},
        {&out->layer_attn_mean, mul3((size_t)T, (size_t)P, 1), 1},
        {&out->pooled_layer_attn, mul3((size_t)T, (size_t)L, 1), 1},
        {&out->frame_global, mul3((size_t)T, (size_t)Dv, 1), w->has_head},
        {&out->pooled_keys, mul3((size_t)T, (size_t)L, (size_t)Dh), 1},
    };
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        if (!outs[i].want) continue;
        if (outs[i].n == 0 || !(*outs[i].dst = malloc(outs[i].n * sizeof(float)))) {
            snprintf(err, err_len, "eng_vision_encode: out of memory for %lld frames", (long long)T);
            rc = ENG_ERR_NOMEM;
            goto out;
        }
    }

    /* Backend scratch sized for one chunk. */
    size_t rows = (size_t)(Bc * P);
    size_t act_n[N_ACT] = {rows * (size_t)K3, rows * (size_t)Dv, rows * (size_t)Dv, rows * 3 * (size_t)Dv,
                           rows * (size_t)Mv, rows * (size_t)D, rows * (size_t)D, (size_t)(Bc * L * D),
                           (size_t)(Bc * Dv), (size_t)(Bc * Dv), (size_t)(Bc * Dv), (size_t)(Bc * Mv)};
    size_t tap_n[N_TAP] = {(size_t)(Bc * P), rows * (size_t)Dh, (size_t)(Bc * P)};
    for (size_t i = 0; i < N_ACT; i++)
        if (!(*acts[i] = be->k->act_alloc(be, act_n[i]))) {
            snprintf(err, err_len, "eng_vision_encode: %s backend: %s", be->k->name, be->err);
            rc = ENG_ERR_NOMEM;
            goto out;
        }
    for (size_t i = 0; i < N_TAP; i++)
        if (!(*taps[i] = be->k->alloc(be, tap_n[i]))) {
            snprintf(err, err_len, "eng_vision_encode: %s backend: %s", be->k->name, be->err);
            rc = ENG_ERR_NOMEM;
            goto out;
        }
    host_patches = malloc(rows * (size_t)K3 * sizeof *host_patches);
    hkeys = malloc(rows * (size_t)Dh * sizeof *hkeys);
    if (!host_patches || !hkeys) {
        snprintf(err, err_len, "eng_vision_encode: out of memory");
        rc = ENG_ERR_NOMEM;
        goto out;
    }
    /* the stage's time starts here, on the backend's clock (allocation is not encode work) */
    OP(be->k->tick(be, &tk0));
    if (w->has_head) {
        /* Every frame's probe query is the same precomputed row. */
        float *hq = malloc((size_t)(Bc * Dv) * sizeof *hq);
        if (!hq) {
            snprintf(err, err_len, "eng_vision_encode: out of memory");
            rc = ENG_ERR_NOMEM;
            goto out;
        }
        for (int64_t b = 0; b < Bc; b++) memcpy(hq + b * Dv, w->head_q, (size_t)Dv * sizeof *hq);
        int up = be->k->act_upload(be, sc.hq, hq, (size_t)(Bc * Dv));
        free(hq);
        OP(up);
    }

    for (int64_t f0 = 0; f0 < T; f0 += Bc) {
        const int64_t B = T - f0 < Bc ? T - f0 : Bc, N = B * P;
        /* im2col: patch (gy, gx) of frame b -> row b*P + gy*G + gx, column c*p*p + ky*p + kx (the
         * Conv2d weight's flattening order). Pixels past G*p are never read. */
        for (int64_t b = 0; b < B; b++) {
            const float *img = pixels + (size_t)(f0 + b) * 3 * (size_t)(S * S);
            for (int64_t gy = 0; gy < G; gy++)
                for (int64_t gx = 0; gx < G; gx++) {
                    float *row = host_patches + ((b * P) + gy * G + gx) * K3;
                    for (int64_t c = 0; c < 3; c++)
                        for (int64_t ky = 0; ky < ps; ky++)
                            memcpy(row + (c * ps + ky) * ps, img + (c * S + gy * ps + ky) * S + gx * ps,
                                   (size_t)ps * sizeof *row);
                }
        }
        OP(be->k->act_upload(be, sc.patches, host_patches, (size_t)(N * K3)));
        OP(be->k->linear(be, sc.x, sc.patches, &w->patch_w, w->patch_b, N));
        OP(be->k->add_bcast(be, sc.x, sc.x, w->pos, B, P * Dv)); /* pos table [P*Dv] per frame */

        eng_attn_desc ad;
        memset(&ad, 0, sizeof ad);
        ad.n_batch = B;
        ad.n_q = P;
        ad.n_kv = P;
        ad.n_head = H;
        ad.n_head_kv = H;
        ad.head_dim = Dh;
        ad.ld_q = ad.ld_k = ad.ld_v = 3 * Dv;
        ad.ld_out = Dv;
        ad.causal = 0;
        ad.scale = (float)(1.0 / sqrt((double)Dh));
        const eng_act *qkv_k = eng_act_at(be, sc.qkv, Dv), *qkv_v = eng_act_at(be, sc.qkv, 2 * Dv);
        for (int l = 0; l < vc->n_layers; l++) {
            const eng_vision_layer *ly = &w->layers[l];
            const int last = l == vc->n_layers - 1;
            OP(be->k->layernorm(be, sc.h, sc.x, ly->ln1_w, ly->ln1_b, N, Dv, vc->layer_norm_eps));
            OP(be->k->linear(be, sc.qkv, sc.h, &ly->qkv_w, ly->qkv_b, N));
            OP(be->k->attention(be, sc.h, sc.qkv, qkv_k, qkv_v, &ad, NULL, last ? sc.recv : NULL));
            if (last) OP(be->k->head_mean(be, sc.keys, qkv_k, 3 * Dv, N, H, Dh));
            OP(be->k->linear_add(be, sc.x, sc.h, &ly->o_w, ly->o_b, N)); /* x += o(attn) */
            OP(be->k->layernorm(be, sc.h, sc.x, ly->ln2_w, ly->ln2_b, N, Dv, vc->layer_norm_eps));
            OP(be->k->linear(be, sc.mlp, sc.h, &ly->fc1_w, ly->fc1_b, N));
            OP(gelu_act(be, sc.mlp, sc.mlp, (size_t)(N * Mv)));
            OP(be->k->linear_add(be, sc.x, sc.mlp, &ly->fc2_w, ly->fc2_b, N)); /* x += fc2(gelu(fc1)) */
        }
        /* Projector (exact erf GELU) and pooling on the G x G grid. */
        OP(be->k->linear(be, sc.t1, sc.x, &w->proj1_w, w->proj1_b, N));
        OP(be->k->gelu_erf(be, sc.t1, sc.t1, (size_t)(N * D)));
        OP(be->k->linear(be, sc.proj, sc.t1, &w->proj2_w, w->proj2_b, N));
        OP(be->k->pool2d(be, sc.pooled, sc.proj, B, G, G, D, pm, Gp, Gp));
        /* SigLIP attention-pooling head on post_layernorm(x). */
        if (w->has_head) {
            eng_attn_desc hd = ad;
            hd.n_q = 1;
            hd.ld_q = Dv;
            hd.ld_k = hd.ld_v = 2 * Dv;
            hd.ld_out = Dv;
            OP(be->k->layernorm(be, sc.h, sc.x, w->post_ln_w, w->post_ln_b, N, Dv, vc->layer_norm_eps));
            OP(be->k->linear(be, sc.qkv, sc.h, &w->head_kv_w, w->head_kv_b, N));
            OP(be->k->attention(be, sc.ho, sc.hq, sc.qkv, qkv_k, &hd, NULL, sc.map));
            OP(be->k->linear(be, sc.ho2, sc.ho, &w->head_out_w, w->head_out_b, B));
            OP(be->k->layernorm(be, sc.ho, sc.ho2, w->head_ln_w, w->head_ln_b, B, Dv, vc->layer_norm_eps));
            OP(be->k->linear(be, sc.hm, sc.ho, &w->head_fc1_w, w->head_fc1_b, B));
            OP(gelu_act(be, sc.hm, sc.hm, (size_t)(B * Mv)));
            OP(be->k->linear_add(be, sc.ho2, sc.hm, &w->head_fc2_w, w->head_fc2_b, B)); /* o + MLP(LN(o)) */
        }
        /* Download this chunk's slices: activations (converted to float), then the float taps */
        struct {
            float *dst;
            const eng_act *src;
            int64_t per_frame;
        } dl[] = {
            {out->vision_hidden, sc.x, P * Dv},
            {out->projected, sc.proj, P * D},
            {out->pooled, sc.pooled, L * D},
            {out->frame_global, sc.ho2, Dv},
        };
        for (size_t i = 0; i < sizeof dl / sizeof dl[0]; i++)
            if (dl[i].dst)
                OP(be->k->act_download(be, dl[i].dst + f0 * dl[i].per_frame, dl[i].src, (size_t)(B * dl[i].per_frame)));
        OP(be->k->download(be, out->layer_attn_mean + f0 * P, sc.recv, (size_t)(B * P)));
        if (out->map_attn) OP(be->k->download(be, out->map_attn + f0 * P, sc.map, (size_t)(B * P)));
        OP(be->k->download(be, hkeys, sc.keys, (size_t)(N * Dh)));
        /* the taps pooled like the features, on the host (a few thousand values per frame) */
        char pe[200];
        if (eng_pool2d_host(out->pooled_layer_attn + f0 * L, out->layer_attn_mean + f0 * P, B, G, G, 1, pm, Gp, Gp,
                            pe, sizeof pe) ||
            eng_pool2d_host(out->pooled_keys + f0 * L * Dh, hkeys, B, G, G, Dh, pm, Gp, Gp, pe, sizeof pe) ||
            (out->map_attn &&
             eng_pool2d_host(out->pooled_attn + f0 * L, out->map_attn + f0 * P, B, G, G, 1, pm, Gp, Gp, pe, sizeof pe))) {
            snprintf(err, err_len, "vision encode: %s", pe);
            rc = ENG_ERR_BACKEND;
            goto out;
        }
    }
    double secs = 0.0;
    OP(be->k->tick(be, &tk1));
    OP(be->k->tick_elapsed(be, &tk0, &tk1, &secs));
    OP(be->k->sync(be));
    out->seconds = secs;
out:
    for (size_t i = 0; i < N_ACT; i++) be->k->act_free(be, *acts[i]);
    for (size_t i = 0; i < N_TAP; i++) be->k->free(be, *taps[i]);
    free(host_patches);
    free(hkeys);
    if (rc != ENG_OK) eng_vision_out_free(out);
    return rc;
}

/* ---- random in-memory model (benchmarks) -------------------------------------------------------- */

/* Seeded uniform values of standard deviation sd around mean (SplitMix64). */
static float *rand_host(uint64_t *state, size_t n, float mean, float sd) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = tb_splitmix64(state);
        double u = (double)(z >> 11) / 9007199254740992.0; /* [0, 1) */
        p[i] = mean + sd * (float)((u - 0.5) * 3.4641016151377544); /* var of U(-a, a) = a^2/3 */
    }
    return p;
}

/* A random float32 matrix [rows, cols] owned by the weight. */
static int rand_w(eng_model *m, uint64_t *state, eng_weight *dst, size_t rows, size_t cols, float sd, char *err,
                  size_t err_len) {
    float *h = rand_host(state, rows * cols, 0, sd);
    if (!h) {
        snprintf(err, err_len, "out of memory");
        return ENG_ERR_NOMEM;
    }
    eng_wdesc d = {ENG_DT_F32, (int64_t)rows, (int64_t)cols, h, h};
    return eng_model_put_weight(m, dst, &d, err, err_len);
}

static int rand_to(eng_model *m, uint64_t *state, float **dst, size_t n, float mean, float sd, char *err,
                   size_t err_len) {
    float *h = rand_host(state, n, mean, sd);
    if (!h) {
        snprintf(err, err_len, "out of memory");
        return ENG_ERR_NOMEM;
    }
    *dst = eng_model_to_backend(m, h, n, err, err_len);
    return *dst ? ENG_OK : ENG_ERR_BACKEND;
}

eng_model *eng_model_random_vision(const eng_config *cfg, eng_backend_kind kind, uint64_t seed, int with_head,
                                   char *err, size_t err_len) {
    eng_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    const eng_vision_config *vc = &m->cfg.vision;
    if (vc->hidden <= 0 || vc->n_heads <= 0 || vc->hidden % vc->n_heads || vc->grid <= 0 || vc->n_layers <= 0 ||
        vc->intermediate <= 0 || vc->n_patches != vc->grid * vc->grid || m->cfg.llm.hidden <= 0) {
        snprintf(err, err_len, "eng_model_random_vision: inconsistent vision config");
        free(m);
        return NULL;
    }
    if (eng_backend_init(&m->be, kind, err, err_len) != 0) {
        free(m);
        return NULL;
    }
    eng_vision_weights *w = &m->vw;
    size_t dv = (size_t)vc->hidden, mv = (size_t)vc->intermediate, d = (size_t)m->cfg.llm.hidden;
    size_t k3 = 3 * (size_t)vc->patch_size * (size_t)vc->patch_size, np = (size_t)vc->n_patches;
    float sdv = 1.0f / sqrtf((float)dv), sdm = 1.0f / sqrtf((float)mv), sdd = 1.0f / sqrtf((float)d);
    uint64_t s = seed;
    int rc;
    m->vision_loaded = 1;
    w->layers = calloc((size_t)vc->n_layers, sizeof *w->layers);
    if (!w->layers) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if ((rc = rand_w(m, &s, &w->patch_w, dv, k3, 1.0f / sqrtf((float)k3), err, err_len)) ||
        (rc = rand_to(m, &s, &w->patch_b, dv, 0, 0.02f, err, err_len)) ||
        (rc = rand_to(m, &s, &w->pos, np * dv, 0, 0.5f, err, err_len)))
        goto fail;
    for (int l = 0; l < vc->n_layers; l++) {
        eng_vision_layer *ly = &w->layers[l];
        if ((rc = rand_to(m, &s, &ly->ln1_w, dv, 1, 0.05f, err, err_len)) ||
            (rc = rand_to(m, &s, &ly->ln1_b, dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &ly->qkv_w, 3 * dv, dv, sdv, err, err_len)) ||
            (rc = rand_to(m, &s, &ly->qkv_b, 3 * dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &ly->o_w, dv, dv, sdv, err, err_len)) ||
            (rc = rand_to(m, &s, &ly->o_b, dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_to(m, &s, &ly->ln2_w, dv, 1, 0.05f, err, err_len)) ||
            (rc = rand_to(m, &s, &ly->ln2_b, dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &ly->fc1_w, mv, dv, sdv, err, err_len)) ||
            (rc = rand_to(m, &s, &ly->fc1_b, mv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &ly->fc2_w, dv, mv, sdm, err, err_len)) ||
            (rc = rand_to(m, &s, &ly->fc2_b, dv, 0, 0.02f, err, err_len)))
            goto fail;
    }
    if ((rc = rand_w(m, &s, &w->proj1_w, d, dv, sdv, err, err_len)) ||
        (rc = rand_to(m, &s, &w->proj1_b, d, 0, 0.02f, err, err_len)) ||
        (rc = rand_w(m, &s, &w->proj2_w, d, d, sdd, err, err_len)) ||
        (rc = rand_to(m, &s, &w->proj2_b, d, 0, 0.02f, err, err_len)))
        goto fail;
    if (with_head) {
        if ((rc = rand_to(m, &s, &w->post_ln_w, dv, 1, 0.05f, err, err_len)) ||
            (rc = rand_to(m, &s, &w->post_ln_b, dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &w->head_kv_w, 2 * dv, dv, sdv, err, err_len)) ||
            (rc = rand_to(m, &s, &w->head_kv_b, 2 * dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &w->head_out_w, dv, dv, sdv, err, err_len)) ||
            (rc = rand_to(m, &s, &w->head_out_b, dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_to(m, &s, &w->head_ln_w, dv, 1, 0.05f, err, err_len)) ||
            (rc = rand_to(m, &s, &w->head_ln_b, dv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &w->head_fc1_w, mv, dv, sdv, err, err_len)) ||
            (rc = rand_to(m, &s, &w->head_fc1_b, mv, 0, 0.02f, err, err_len)) ||
            (rc = rand_w(m, &s, &w->head_fc2_w, dv, mv, sdm, err, err_len)) ||
            (rc = rand_to(m, &s, &w->head_fc2_b, dv, 0, 0.02f, err, err_len)))
            goto fail;
        w->head_q = rand_host(&s, dv, 0, 1.0f);
        if (!w->head_q) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
        w->has_head = 1;
    }
    snprintf(m->digest, sizeof m->digest, "random-%llu", (unsigned long long)seed);
    return m;
fail:
    eng_model_free(m);
    return NULL;
}
