/* pruner.c - the pruner interface's own code: status names, the model layout, input checks and
 * freeing an output. Methods live in their own files (tango/tango.c, baselines/...); what they
 * share is tango/kit.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tango/pruner.h"
#include "tango/tg_internal.h"

const char *tg_status_str(int status) {
    switch (status) {
    case TG_OK: return "ok";
    case TG_ERR_INPUT: return "bad input";
    case TG_ERR_NOMEM: return "out of memory";
    case TG_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

/* ===== model layout ===== */

tg_model_layout tg_model_layout_default(tb_family family, int n_layers, int64_t hidden) {
    tg_model_layout m;
    m.family = family;
    m.newline = family == TB_FAMILY_LLAVA_VIDEO ? TG_NEWLINE_ROW
                : family == TB_FAMILY_QWEN25_VL ? TG_NEWLINE_NONE
                                                : TG_NEWLINE_ONE;
    m.n_layers = n_layers;
    m.hidden = hidden;
    return m;
}

const char *tg_newline_name(tg_newline n) {
    switch (n) {
    case TG_NEWLINE_ONE: return "one";
    case TG_NEWLINE_ROW: return "row";
    case TG_NEWLINE_NONE: return "none";
    }
    return "?";
}

/* ===== input ===== */

tg_prune_input tg_prune_input_default(void) {
    tg_prune_input in;
    memset(&in, 0, sizeof in);
    return in;
}

/* fast vectorisable test first (x * 0 is NaN exactly for NaN and +-Inf; 16 independent lanes),
 * then a scan that names the first bad element */
static int check_finite(const float *v, size_t n, const char *what, int nonneg, char *err, size_t err_len) {
    float acc[16] = {0}, mn[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            float x = v[i + j];
            acc[j] += x * 0.0f;
            mn[j] = x < mn[j] ? x : mn[j];
        }
    int bad = 0;
    for (int j = 0; j < 16; j++) bad |= !(acc[j] == 0.0f) || (nonneg && mn[j] < 0.0f);
    for (; i < n; i++) bad |= !isfinite(v[i]) || (nonneg && v[i] < 0.0f);
    if (!bad) return TG_OK;
    for (i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            tb_set_err(err, err_len, "%s: non-finite value %g at element %zu", what, (double)v[i], i);
            return TG_ERR_INPUT;
        }
        if (nonneg && v[i] < 0) {
            tb_set_err(err, err_len, "%s: negative value %g at element %zu", what, (double)v[i], i);
            return TG_ERR_INPUT;
        }
    }
    return TG_OK;
}

int tg_prune_input_check(const tg_prune_input *in, char *err, size_t err_len) {
    if (!in->features || !in->saliency) {
        tb_set_err(err, err_len, "features and saliency are required");
        return TG_ERR_INPUT;
    }
    if (in->n_frames < 1 || in->n_tokens < 1 || in->dim < 1) {
        tb_set_err(err, err_len, "features must have shape (T, L, D) with T, L, D >= 1 (got %lld, %lld, %lld)",
                   (long long)in->n_frames, (long long)in->n_tokens, (long long)in->dim);
        return TG_ERR_INPUT;
    }
    if (in->grid_h < 1 || in->grid_w < 1 || in->grid_h * in->grid_w != in->n_tokens) {
        tb_set_err(err, err_len, "grid %lldx%lld does not match L=%lld tokens per frame", (long long)in->grid_h,
                   (long long)in->grid_w, (long long)in->n_tokens);
        return TG_ERR_INPUT;
    }
    const tg_model_layout *m = &in->model;
    if ((int)m->family < 0 || (int)m->family >= TB_N_FAMILIES || (int)m->newline < (int)TG_NEWLINE_ONE || (int)m->newline > (int)TG_NEWLINE_NONE) {
        tb_set_err(err, err_len, "unknown model family %d or newline layout %d", (int)m->family, (int)m->newline);
        return TG_ERR_INPUT;
    }
    if (m->n_layers < 1 || m->n_layers > TG_MAX_LAYERS) {
        tb_set_err(err, err_len, "the model's LLM depth %d is outside 1..%d (set the model layout)", m->n_layers,
                   TG_MAX_LAYERS);
        return TG_ERR_INPUT;
    }
    if (m->hidden > 0 && m->hidden != in->dim) {
        tb_set_err(err, err_len, "features have width %lld, the model's LLM has %lld", (long long)in->dim,
                   (long long)m->hidden);
        return TG_ERR_INPUT;
    }
    if (!(in->ratio > 0.0 && in->ratio <= 1.0)) {
        tb_set_err(err, err_len, "ratio %g is outside (0, 1]", in->ratio);
        return TG_ERR_INPUT;
    }
    size_t nf = (size_t)in->n_frames * (size_t)in->n_tokens;
    if (check_finite(in->features, nf * (size_t)in->dim, "features", 0, err, err_len)) return TG_ERR_INPUT;
    if (check_finite(in->saliency, nf, "attention", 1, err, err_len)) return TG_ERR_INPUT;
    if (in->saliency_recv && check_finite(in->saliency_recv, nf, "received attention", 1, err, err_len))
        return TG_ERR_INPUT;
    if (in->timestamps && check_finite(in->timestamps, (size_t)in->n_frames, "timestamps", 0, err, err_len))
        return TG_ERR_INPUT;
    if (in->frame_global &&
        check_finite(in->frame_global, (size_t)in->n_frames * (size_t)in->global_dim, "frame globals", 0, err,
                     err_len))
        return TG_ERR_INPUT;
    return TG_OK;
}

/* ===== output ===== */

void tg_prune_output_free(tg_prune_output *out) {
    if (!out) return;
    free(out->kept);
    free(out->tokens);
    free(out->order);
    free(out->positions);
    free(out->segments);
    free(out->params_json);
    memset(out, 0, sizeof *out);
}
