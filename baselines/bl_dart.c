/* bl_dart.c - DART, duplication-aware token reduction (spec visionzip-fastv-dart-vidcom2.md §5,
 * §8.3 and the corrections of §10), as the official Qwen2-VL code prunes, ported to the LLaVA
 * video block the way Tango presumably ran it [I]: no pre-LLM pruning; an in-LLM plan that,
 * before 0-based layer k (2), takes P_v = 4 image pivots (the visual rows, newlines included,
 * with the largest L1 norm of their post-RoPE layer k-1 key) and P_t = 4 text pivots (the rows
 * after the visual block with the largest such norm), then lets each pivot retain the T
 * remaining visual rows least cosine-similar to it (layer k-1 outputs through the final norm),
 * greedily; the image pivots and every pick are kept (P_v + (P_v + P_t) T rows), nothing is
 * merged, kept rows keep their original position ids. The engine executes the rule
 * (TB_PLAN_SELECT_DART in common/llm_plan.h); this file only chooses its knobs.
 *
 * Knobs: k (2), pivot_image (4), pivot_text (4), token_topk = T (explicit), reduction_ratio =
 * rho (the official key: T = int(N (1 - rho) / (P_v + P_t))); without either, T is solved from
 * the target r (R = (L r - k) / (L - k), rho = 1 - R; bl_solve).
 * Quirk (compat=official): dart.pivot_set_order, the pivots pick in CPython's set iteration
 * order of their sequence indices; compat=paper: V by descending norm, then Q. */
#include <stdlib.h>
#include <string.h>

#include "baselines/bl_internal.h"

static const char *const bl_dart_keys[] = {"compat",      "seed",       "jitter",     "account",         "k",
                                           "pivot_image", "pivot_text", "token_topk", "reduction_ratio", NULL};

static int bl_dart_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    bl_ctx c;
    int st = bl_ctx_init(&c, "dart", in, bl_dart_keys, err, err_len);
    if (st) return st;
    bl_knobs k = bl_knobs_default("dart");
    if (c.n_layers < 2) {
        tb_set_err(err, err_len, "dart: needs at least 2 LLM layers (the model has %d)", c.n_layers);
        return TG_ERR_INPUT;
    }
    if (k.llm_layer > c.n_layers - 1) k.llm_layer = c.n_layers - 1;
    int64_t kv = k.llm_layer, pv = k.pivot_image, pt = k.pivot_text, topk = -1;
    double rho = -1;
    if ((st = tg_param_int(in, "k", 1, c.n_layers - 1, &kv, err, err_len)) < 0 ||
        (st = tg_param_int(in, "pivot_image", 0, 4096, &pv, err, err_len)) < 0 ||
        (st = tg_param_int(in, "pivot_text", 0, 4096, &pt, err, err_len)) < 0)
        return st;
    int64_t V = bl_full_len(&c.geo);
    int s_topk = tg_param_int(in, "token_topk", 0, V, &topk, err, err_len);
    if (s_topk < 0) return s_topk;
    int s_rho = tg_param_double(in, "reduction_ratio", 0.0, 1.0, &rho, err, err_len);
    if (s_rho < 0) return s_rho;
    if (s_topk && s_rho) {
        tb_set_err(err, err_len, "dart: token_topk and reduction_ratio both set; give one");
        return TG_ERR_INPUT;
    }
    k.llm_layer = (int)kv;
    k.pivot_image = (int)pv;
    k.pivot_text = (int)pt;
    double pred = 0;
    const char *how = "explicit";
    if (!s_topk && !s_rho) {
        st = bl_solve("dart", c.target, &c.geo, &k, &pred, err, err_len);
        if (st < 0) return st;
        how = st == BL_SOLVE_INEXACT ? "solver-inexact" : "solver";
    } else {
        int64_t P = pv + pt;
        k.per_pivot = s_topk ? topk : P > 0 ? (int64_t)((double)V * (1.0 - rho) / (double)P) : 0;
        int64_t keep = pv + P * k.per_pivot;
        k.keep = keep < V ? keep : V;
        k.n_seq = V;
        k.n_llm_keep = k.keep;
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
        tb_set_err(err, err_len, "dart: out of memory");
        return TG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < N; i++) list[i] = (tg_entry){i, in->features + (size_t)i * c.D};

    tb_llm_plan plan = tb_llm_plan_default();
    plan.layer = k.llm_layer;
    plan.select = TB_PLAN_SELECT_DART;
    plan.pivot_image = k.pivot_image;
    plan.pivot_text = k.pivot_text;
    plan.per_pivot = k.per_pivot;
    plan.pivot_order = c.paper ? TB_PLAN_ORDER_LIST : TB_PLAN_ORDER_PYSET;
    plan.keep_count = k.keep;
    plan.keep_ratio = (double)k.keep / (double)V;
    plan.merge = TB_PLAN_MERGE_NONE;
    plan.pos = TB_PLAN_POS_KEEP;
    tg_seq s = {0};
    st = bl_emit_finish(&c, &s, list, N, TG_EMIT_EMPTY_ROWS, out, &plan, err, err_len);
    tg_seq_free(&s);
    free(list);
    if (st == TG_OK) {
        out->ratio_used = 1.0;
        if (!c.paper) bl_quirk(out, "dart.pivot_set_order");
        bl_json j = {0};
        bl_json_common(&j, &c);
        bl_json_add(&j,
                    "\"k\":%d,\"pivot_image\":%d,\"pivot_text\":%d,\"token_topk\":%lld,\"keep\":%lld,\"span\":%lld,"
                    "\"pivot_order\":\"%s\",",
                    k.llm_layer, k.pivot_image, k.pivot_text, (long long)k.per_pivot, (long long)k.keep, (long long)V,
                    c.paper ? "list" : "cpython-set");
        st = bl_json_finish(&j, &c, out, how, pred, err, err_len);
        tb_buf_free(&j.b);
    }
    if (st) tg_prune_output_free(out);
    return st;
}

const tg_method bl_dart_method = {"dart",
                                  "DART: key-norm pivots keep the visual tokens least duplicated with them at LLM layer k",
                                  bl_dart_run, bl_dart_keys, TG_CAP_IN_LLM | TG_CAP_LLM_ONLY};
