/* bl_fastv.c - FastV (spec visionzip-fastv-dart-vidcom2.md §4, §8.2): no pre-LLM pruning; an
 * in-LLM plan that, before 0-based layer k, keeps the M visual tokens (the whole inserted block,
 * newlines included) with the highest head-mean attention of the last query row of layer k-1,
 * drops the rest without merging, and keeps the original position ids (gaps). Layers >= k and
 * their KV cache hold only the kept tokens.
 *
 * Knobs: k (default 2; layers - 1 on a shallower model), keep = M (absolute count, overrides the solver). Without keep, M is
 * solved from the target r by tg_fastv_keep: r = (k + (L - k) M / V) / L (infeasible when
 * r < k / L, e.g. k = 3 at r = 0.10: an error).
 * Quirk (compat=official): fastv.last_row_score. compat=paper: the score is the mean attention
 * each token receives from all causal query rows (TB_PLAN_SELECT_ALL_QUERIES). */
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

static const char *const bl_fastv_keys[] = {"compat", "seed", "jitter", "account", "k", "keep", NULL};

static int bl_fastv_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "fastv", in, bl_fastv_keys, err, err_len);
    if (st) return st;
    bl_knobs k = bl_knobs_default("fastv");
    if (c.n_layers < 2) {
        tb_set_err(err, err_len, "fastv: needs at least 2 LLM layers (the model has %d)", c.n_layers);
        return TG_ERR_INPUT;
    }
    if (k.llm_layer > c.n_layers - 1) k.llm_layer = c.n_layers - 1; /* default k = 2, shallower models */
    int64_t kv = k.llm_layer, keep = -1;
    if ((st = tg_param_int(in, "k", 1, c.n_layers - 1, &kv, err, err_len)) < 0) return st;
    k.llm_layer = (int)kv;
    int64_t V = bl_full_len(&c.geo);
    int sk = tg_param_int(in, "keep", 0, V, &keep, err, err_len);
    if (sk < 0) return sk;
    double pred = 0;
    const char *how = "explicit";
    if (!sk) {
        st = bl_solve("fastv", c.target, &c.geo, &k, &pred, err, err_len);
        if (st < 0) return st;
        how = st == BL_SOLVE_INEXACT ? "solver-inexact" : "solver";
        keep = k.keep;
    } else {
        k.keep = keep;
        k.n_seq = V;
        k.n_llm_keep = keep;
        int64_t vis[TG_MAX_LAYERS];
        bl_plan_layers(&k, c.n_layers, vis);
        double s = 0;
        for (int l = 0; l < c.n_layers; l++) s += (double)vis[l];
        pred = s / ((double)c.n_layers * (double)V);
    }

    /* pre-LLM: everything, in the model's layout */
    int64_t N = c.T * c.L;
    tg_entry *list = malloc((size_t)N * sizeof *list);
    if (!list) {
        tb_set_err(err, err_len, "fastv: out of memory");
        return TG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < N; i++) list[i] = (tg_entry){i, in->features + (size_t)i * c.D};

    tb_llm_plan plan = tb_llm_plan_default();
    plan.layer = k.llm_layer;
    plan.select = c.paper ? TB_PLAN_SELECT_ALL_QUERIES : TB_PLAN_SELECT_LAST_QUERY;
    plan.keep_count = keep;
    plan.keep_ratio = (double)keep / (double)V;
    plan.merge = TB_PLAN_MERGE_NONE;
    plan.pos = TB_PLAN_POS_KEEP;
    tg_seq s = {0};
    st = bl_emit_finish(&c, &s, list, N, TG_EMIT_EMPTY_ROWS, out, &plan, err, err_len);
    tg_seq_free(&s);
    free(list);
    if (st == TG_OK) {
        out->ratio_used = 1.0;
        if (!c.paper) bl_quirk(out, "fastv.last_row_score");
        bl_json j = {0};
        bl_json_common(&j, &c);
        bl_json_add(&j, "\"k\":%d,\"keep\":%lld,\"span\":%lld,", k.llm_layer, (long long)keep, (long long)V);
        st = bl_json_finish(&j, &c, out, how, pred, err, err_len);
        tb_buf_free(&j.b);
    }
    if (st) tg_prune_output_free(out);
    return st;
}

const tg_method bl_fastv_method = {"fastv", "FastV: keep the top-M visual tokens by last-query attention at LLM layer k",
                                   bl_fastv_run, bl_fastv_keys, TG_CAP_IN_LLM | TG_CAP_LLM_ONLY};
