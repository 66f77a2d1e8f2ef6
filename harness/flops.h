/* flops.h - LLM FLOPs per layer (Tango paper formula), vision tower FLOPs per frame and model
 * presets. The equivalent retention of a token plan (paper Eq. 1) and the FastV / two-stage
 * solvers are tango/retention.h.
 *
 * Usage:
 *     fl_model m;
 *     fl_model_preset("qwen2-7b", &m);
 *     double f = fl_layer_flops(&m, 6372);             // 3.552e12
 *     int64_t per_layer[28] = {...};                   // realised visual tokens at each layer
 *     double r = tg_equiv_retention(per_layer, 28, 6272);     // tango/retention.h
 */
#ifndef TB_FLOPS_H
#define TB_FLOPS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char name[64];
    int n_layers;   /* decoder layers L */
    int d;          /* hidden size */
    int m;          /* MLP intermediate size */
    int n_heads;    /* H */
    int n_kv_heads; /* G */
    int vocab;
} fl_model;

typedef struct {
    char name[64];
    int n_layers;   /* layers that run */
    int d;          /* hidden size d_v */
    int m;          /* MLP size m_v */
    int patch;      /* patch size p */
    int image;      /* image side */
    int proj_d;     /* projector output width (LLM d); 0 = no projector */
} fl_vision;

/* Built-in presets: "qwen2-7b" (LLaVA-OneVision-7B / LLaVA-Video-7B LLM), "qwen2-0.5b".
 * Returns 0, or -1 for an unknown name. */
int fl_model_preset(const char *name, fl_model *out);

/* Reads hidden_size, intermediate_size, num_attention_heads, num_key_value_heads,
 * num_hidden_layers (from the top level or "text_config") of a Hugging Face config.json.
 * Returns 0 or -1 with a message naming the file and field. */
int fl_model_from_config(const char *path, fl_model *out, char *err, size_t err_len);

/* SigLIP-so400m-patch14-384 as LLaVA runs it (26 of 27 layers) with the 2-layer projector. */
void fl_vision_siglip_so400m(fl_vision *out);

/* FLOPs of one decoder layer over n tokens: n*(4d^2(1+G/H) + 6dm) + 4n^2 d. */
double fl_layer_flops(const fl_model *m, double n_tokens);

/* Prefill FLOPs of a plan: sum over layers of fl_layer_flops(text + visual[l]). */
double fl_prefill_flops(const fl_model *m, int64_t n_text, const int64_t *visual_per_layer);

/* Vision tower + projector FLOPs per frame. */
double fl_vision_frame_flops(const fl_vision *v);


#endif
