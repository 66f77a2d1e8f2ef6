/* pipeline.c - the model-side steps shared by the session and the lean GPU bench (pipeline.h):
 * the pruners' view of the LLM, the pruner input from the vision output, the visual block in LLM
 * order, the prompt's position ids. Engine and pruner types only: no decoder, tokenizer or store. */
#include "harness/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int run_model_layout(const eng_llm_info *info, tb_family family, tg_model_layout *out, char *err, size_t err_len) {
    *out = tg_model_layout_default(family, info->n_layers, info->hidden);
    switch (info->newline_mode) {
    case ENG_NEWLINE_ONE_TOKEN: out->newline = TG_NEWLINE_ONE; return 0;
    case ENG_NEWLINE_GRID: out->newline = TG_NEWLINE_ROW; return 0;
    case ENG_NEWLINE_NONE: out->newline = TG_NEWLINE_NONE; return 0;
    default: break;
    }
    snprintf(err, err_len, "mm_newline_position '%s' is not supported by the pruners (one_token, grid, no_token)",
             eng_newline_str((eng_newline_pos)info->newline_mode));
    return -1;
}

int run_visual_block(const tg_prune_output *out, const float *newline, float **block, char *err, size_t err_len) {
    int64_t D = out->dim;
    *block = NULL;
    float *b = malloc((size_t)(out->n_seq ? out->n_seq : 1) * (size_t)(D ? D : 1) * sizeof *b);
    if (!b) {
        snprintf(err, err_len, "out of memory for %lld visual rows", (long long)out->n_seq);
        return -1;
    }
    for (int64_t i = 0; i < out->n_seq; i++) {
        float *dst = b + i * D;
        if (out->order[i] == TG_NEWLINE) {
            if (!newline) {
                snprintf(err, err_len, "the layout has newline rows, the checkpoint has no image_newline");
                free(b);
                return -1;
            }
            memcpy(dst, newline, (size_t)D * sizeof *dst);
            continue;
        }
        /* kept[] is ascending: binary search the row of this flat index */
        int64_t lo = 0, hi = out->n_kept - 1, row = -1;
        while (lo <= hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (out->kept[mid] == out->order[i]) {
                row = mid;
                break;
            }
            if (out->kept[mid] < out->order[i]) lo = mid + 1;
            else hi = mid - 1;
        }
        if (row < 0) {
            snprintf(err, err_len, "order entry %lld is not a kept token", (long long)out->order[i]);
            free(b);
            return -1;
        }
        memcpy(dst, out->tokens + row * D, (size_t)D * sizeof *dst);
    }
    *block = b;
    return 0;
}

tg_prune_input run_prune_input(const eng_vision_out *vis, const tg_model_layout *layout, const tg_method *method,
                               const float *timestamps, double ratio, uint64_t seed) {
    tg_prune_input in = tg_prune_input_default();
    in.features = vis->pooled;
    in.n_frames = vis->n_frames;
    in.n_tokens = vis->n_pooled;
    in.dim = vis->d_model;
    in.grid_h = in.grid_w = vis->grid_pooled;
    in.model = *layout;
    in.timestamps = timestamps;
    in.saliency_recv = vis->pooled_layer_attn;
    /* the saliency each method's spec names: received attention (VisionZip, HoliTom), else the
     * SigLIP attention-pooling head when the checkpoint has one */
    in.saliency = (method->caps & TG_CAP_RECV_ATTN) || !vis->pooled_attn ? vis->pooled_layer_attn : vis->pooled_attn;
    in.frame_global = vis->frame_global;
    in.global_dim = vis->frame_global ? vis->d_vision : 0;
    in.keys = vis->pooled_keys;
    in.key_dim = vis->pooled_keys ? vis->head_dim : 0;
    in.ratio = method->caps & TG_CAP_NO_RATIO ? 1.0 : ratio;
    in.seed = seed;
    return in;
}

int run_visual_positions(const tg_prune_output *out, int64_t ph, int64_t n_ids, int64_t **pos_out) {
    /* the method's own positions (gaps allowed) inside the visual block, text after it continuing
     * from the block's last position */
    int64_t *pos = malloc((size_t)(out->n_seq + n_ids) * sizeof *pos);
    *pos_out = pos;
    if (!pos) return -1;
    int64_t k = 0, last = ph - 1;
    for (int64_t i = 0; i < ph; i++) pos[k++] = i;
    for (int64_t i = 0; i < out->n_seq; i++) {
        pos[k++] = ph + out->positions[i];
        if (ph + out->positions[i] > last) last = ph + out->positions[i];
    }
    for (int64_t i = ph + 1; i < n_ids; i++) pos[k++] = ++last;
    return 0;
}
