/* cmd_forward.c - tango-bench forward: run the Qwen2 LLM of a checkpoint on token ids (with the
 * LLaVA image placeholder -200) and visual tokens, optionally with the attention tap, an in-LLM
 * pruning plan and a greedy continuation; write every final-layer row's logits as .npy.
 *
 * Visual input: pooled tokens [T, L, D] (L a square grid) are assembled with image_newline by the
 * model's own convention (config mm_newline_position); an already assembled block [n, D] needs
 * --assembled. The realised token count of every layer is printed on stdout.
 *
 * Qwen2.5-VL checkpoints: the ids hold the <|video_pad|> run of the prompt (one pad per merged
 * unit), V.npy is the merger output [U, D] (encode's merged.npy) and --grid-thw G.npy its grid
 * [[t, h, w]]; the 3-D position ids are computed here (get_rope_index, second_per_grid_t 1.0 by
 * default as VLMEvalKit runs it) and only the last row's logits are written.
 * The plan is either spelled out (--plan-layer, --plan-keep, ...) or a registered method's
 * (--method M --ratio R [--set k=v]...): the method runs on the pooled tokens as it would in
 * `run` (its pre-LLM stage included: HoliTom's and Tango's prune first), its visual block is the
 * one the LLM receives, and its in-LLM plan executes inside the prefill; --kept-out writes the
 * span-relative indices (into that block, int64, ascending) of the visual rows the plan kept. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/llm.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/npy.h"
#include "harness/registry.h"
#include "harness/session.h"
#include "tango/kit.h"

/* Parses --plan-rule into the plan's merge rule. */
static int parse_rule(const char *s, tb_llm_plan *p) {
    if (strcmp(s, "fastv") == 0) p->merge = TB_PLAN_MERGE_NONE;
    else if (strcmp(s, "holitom") == 0) p->merge = TB_PLAN_MERGE_PAIRWISE;
    else if (strcmp(s, "tango") == 0) p->merge = TB_PLAN_MERGE_WEIGHTED;
    else return -1;
    return 0;
}

/* Every pooled token of T frames of grid x grid in the checkpoint's newline layout (the pruners'
 * layout emitter, tango/kit.h), as the visual block [*n_vis, D] (caller frees *block). */
static int assemble_all(const eng_llm *m, const eng_llm_info *info, const float *pooled, int64_t T, int64_t grid,
                        float **block, int64_t *n_vis, char *err, size_t err_len) {
    err[0] = '\0';
    tg_prune_input in = tg_prune_input_default();
    in.features = pooled;
    in.n_frames = T;
    in.n_tokens = grid * grid;
    in.dim = info->hidden;
    in.grid_h = in.grid_w = grid;
    if (run_model_layout(info, TB_FAMILY_LLAVA_OV, &in.model, err, err_len)) return -1;
    int64_t N = T * grid * grid;
    tg_entry *list = malloc((size_t)(N ? N : 1) * sizeof *list);
    if (!list) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (int64_t i = 0; i < N; i++) list[i] = (tg_entry){i, pooled + (size_t)i * (size_t)info->hidden};
    tg_seq seq = {0};
    tg_prune_output out = {0};
    int rc = tg_seq_emit(&seq, list, N, in.model.newline, T, grid, grid, 0) ||
             tg_seq_finish(&seq, &in, &out, NULL, "assemble", err, err_len) ||
             run_visual_block(&out, eng_llm_image_newline(m), block, err, err_len);
    if (rc && !err[0]) snprintf(err, err_len, "out of memory");
    *n_vis = rc ? 0 : out.n_seq;
    tg_seq_free(&seq);
    tg_prune_output_free(&out);
    free(list);
    return rc ? -1 : 0;
}

/* The method's run on the pooled tokens [T, L, D] (see the top): fills *out. Saliency and
 * timestamps are those given; a method that prunes only inside the LLM (TG_CAP_LLM_ONLY) reads
 * neither, and gets a uniform saliency when none is given. Returns 0, 2 (usage) or 1 with a line
 * on stderr. */
static int run_method(const tg_method *meth, const eng_llm_info *info, const npy_array *vis, const npy_array *A,
                      const npy_array *AR, const npy_array *TS, const char *family, double ratio, uint64_t seed,
                      const cli_list *sets, tg_prune_output *out) {
    char err[512];
    int64_t T = vis->shape[0], L = vis->shape[1], D = vis->shape[2];
    int64_t grid = (int64_t)llround(sqrt((double)L));
    if (grid * grid != L) {
        fprintf(stderr, "tango-bench forward: L = %lld tokens per frame is not a square grid\n", (long long)L);
        return 2;
    }
    tb_family fam = info->newline_mode == ENG_NEWLINE_GRID ? TB_FAMILY_LLAVA_VIDEO : TB_FAMILY_LLAVA_OV;
    if (family && tb_family_parse(family, &fam)) {
        fprintf(stderr, "tango-bench forward: --family '%s' is not llava-ov or llava-video\n", family);
        return 2;
    }
    const npy_array *chk[3] = {A, AR, TS};
    const char *what[3] = {"--attn", "--attn-recv", "--timestamps"};
    for (int i = 0; i < 3; i++) {
        if (!chk[i]->data) continue;
        int ok = i < 2 ? chk[i]->ndim == 2 && chk[i]->shape[0] == T && chk[i]->shape[1] == L
                       : chk[i]->ndim == 1 && chk[i]->shape[0] == T;
        if (!ok) {
            fprintf(stderr, "tango-bench forward: %s must be (%lld%s) to match the visual tokens\n", what[i],
                    (long long)T, i < 2 ? ", L" : ",");
            return 2;
        }
    }
    if (!A->data && !(meth->caps & TG_CAP_LLM_ONLY)) {
        fprintf(stderr, "tango-bench forward: method %s prunes before the LLM too: give its saliency with --attn\n",
                meth->name);
        return 2;
    }
    if (!TS->data && (meth->caps & TG_CAP_NEEDS_TIMES)) {
        fprintf(stderr, "tango-bench forward: method %s needs --timestamps\n", meth->name);
        return 2;
    }
    float *uni = NULL;
    if (!A->data) {
        uni = malloc((size_t)(T * L) * sizeof *uni);
        if (!uni) {
            fprintf(stderr, "tango-bench forward: out of memory\n");
            return 1;
        }
        for (int64_t i = 0; i < T * L; i++) uni[i] = 1.0f / (float)L;
    }
    tg_prune_input in = tg_prune_input_default();
    in.features = vis->data;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = in.grid_w = grid;
    if (run_model_layout(info, fam, &in.model, err, sizeof err)) {
        free(uni);
        fprintf(stderr, "tango-bench forward: %s\n", err);
        return 2;
    }
    in.saliency_recv = AR->data;
    in.saliency = A->data ? A->data : ((meth->caps & TG_CAP_RECV_ATTN) && AR->data ? AR->data : uni);
    in.timestamps = TS->data;
    in.ratio = meth->caps & TG_CAP_NO_RATIO ? 1.0 : ratio;
    in.seed = seed;
    in.params = (const char *const *)sets->items;
    in.n_params = sets->n;
    int st = meth->run(&in, out, err, sizeof err);
    free(uni);
    if (st != TG_OK) {
        fprintf(stderr, "tango-bench forward: %s: %s\n", meth->name, err);
        return st == TG_ERR_INPUT ? 2 : 1;
    }
    if (out->plan.layer <= 0) {
        fprintf(stderr, "tango-bench forward: %s has no in-LLM stage on this model (family %s)%s\n", meth->name,
                tb_family_name(fam), (meth->caps & TG_CAP_IN_LLM) ? "; see its --set keys" : "");
        tg_prune_output_free(out);
        return 2;
    }
    return 0;
}

int cmd_forward(int argc, char **argv) {
    const char *model = NULL, *ids_path = NULL, *vis_path = NULL, *out_path = NULL, *attn_out = NULL,
               *gen_out = NULL, *plan_rule = "fastv", *plan_pos = "keep", *plan_idx_path = NULL, *plan_select = "last",
               *backend = "cpu", *dtype = "auto", *grid_path = NULL, *pos_out = NULL, *method = NULL, *kept_out = NULL,
               *m_attn = NULL, *m_recv = NULL, *m_ts = NULL, *family = NULL;
    int assembled = 0, plan_bidir = 0, no_stop = 0;
    int64_t attn_layer = -1, gen_n = 0, plan_layer = 0, vocab_limit = 0, seed = 0;
    double plan_keep = 0.5, plan_weight = 0.6, rep_pen = -1.0, spg = 1.0, ratio = 0.0;
    cli_list sets = {0};
    const cli_opt opts[] = {
        {"model", CLI_STR, &model, "DIR", "LLaVA checkpoint directory", .required = 1},
        {"input-ids", CLI_STR, &ids_path, "IDS.npy", "token ids (int64) with -200 where the visual block goes",
         .required = 1},
        {"visual", CLI_STR, &vis_path, "V.npy", "pooled tokens [T,L,D], or [n,D] with --assembled"},
        {"assembled", CLI_FLAG, &assembled, NULL, "V.npy is already the assembled block [n,D] (newlines included)"},
        {"out", CLI_STR, &out_path, "LOGITS.npy", "logits of every final-layer row [n, V] (float32)", .required = 1},
        {"attn-layer", CLI_INT, &attn_layer, "K", "record layer K's last-row attention (head mean)", -1, 4096},
        {"attn-out", CLI_STR, &attn_out, "A.npy", "where to write that attention row [keys] (float32)"},
        {"generate", CLI_INT, &gen_n, "N", "greedy continuation of up to N tokens", 0, 1e6},
        {"gen-out", CLI_STR, &gen_out, "G.npy", "where to write the continuation (int64)"},
        {"rep-pen", CLI_DOUBLE, &rep_pen, "P", "repetition penalty (-1: generation_config's)", -1, 100},
        {"no-stop", CLI_FLAG, &no_stop, NULL, "do not stop on the checkpoint's stop ids"},
        {"plan-layer", CLI_INT, &plan_layer, "K", "prune between layers K-1 and K (0: no plan)", 0, 4096},
        {"plan-keep", CLI_DOUBLE, &plan_keep, "R", "visual tokens kept: a fraction if <= 1, else a count", 0, 1e9},
        {"plan-rule", CLI_STR, &plan_rule, "fastv|holitom|tango",
         "fastv: drop; holitom: pairwise fold; tango: 0.6/0.4 fold"},
        {"plan-weight", CLI_DOUBLE, &plan_weight, "W", "kept-token weight of the tango fold", 0, 1},
        {"plan-pos", CLI_STR, &plan_pos, "keep|renumber", "position ids after the plan"},
        {"plan-indices", CLI_STR, &plan_idx_path, "I.npy", "keep exactly these span-relative indices (int64)"},
        {"plan-select", CLI_STR, &plan_select, "last|mean",
         "score: last query row (FastV code) or mean over all rows (FastV paper)"},
        {"plan-bidir", CLI_FLAG, &plan_bidir, NULL, "run layer K-1 without the causal mask (Tango quirk)"},
        {"method", CLI_STR, &method, "NAME",
         "run a registered method's plan instead (fastv, dart, holitom, tango: its pre-LLM stage too)"},
        {"ratio", CLI_DOUBLE, &ratio, "R", "target equivalent retention of --method, in (0, 1]", 0, 1},
        {"set", CLI_LIST, &sets, "KEY=VALUE", "a --method parameter, one per --set (see prune --help)"},
        {"attn", CLI_STR, &m_attn, "A.npy", "--method: saliency (T, L) (not read by fastv and dart)"},
        {"attn-recv", CLI_STR, &m_recv, "A.npy", "--method: mean received attention (T, L), optional"},
        {"timestamps", CLI_STR, &m_ts, "T.npy", "--method: frame times in seconds (T,) (tango)"},
        {"family", CLI_STR, &family, "llava-ov|llava-video", "--method: the model family (default: from the layout)"},
        {"seed", CLI_INT, &seed, "N", "--method: seed of its random draws", 0, 9e18},
        {"kept-out", CLI_STR, &kept_out, "K.npy",
         "write the span-relative indices of the visual rows the plan kept (int64, ascending)"},
        {"vocab-limit", CLI_INT, &vocab_limit, "N", "logits / argmax over ids < N only (0: all rows)", 0, 1e9},
        {"backend", CLI_STR, &backend, "ref|cpu|cuda", "compute backend"},
        {"dtype", CLI_STR, &dtype, "T", "numerics: auto (fp16 on cuda, fp32 on ref/cpu), fp16, bf16, fp32"},
        {"grid-thw", CLI_STR, &grid_path, "G.npy",
         "Qwen2.5-VL: the video's patch grid [[t, h, w]] (int64; encode's grid_thw.npy)"},
        {"second-per-grid", CLI_DOUBLE, &spg, "S",
         "Qwen2.5-VL: seconds per temporal slice in the M-RoPE ids (1.0: VLMEvalKit's processor default)", 0, 1e6},
        {"positions-out", CLI_STR, &pos_out, "P.npy", "Qwen2.5-VL: write the position ids [3, n] (int64)"},
        {0},
    };
    const cli_spec spec = {"forward", NULL, 0, 0, "run the LLM on token ids and visual tokens; write logits", opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);

    eng_llm_params lp = eng_llm_default_params();
    if (eng_backend_parse(backend, &lp.backend) != 0) return cli_usage_error(&spec, "unknown backend '%s'", backend);
    if (eng_compute_dtype_parse(dtype, &lp.dtype) != 0)
        return cli_usage_error(&spec, "--dtype must be auto, fp16, bf16 or fp32, got '%s'", dtype);
    lp.vocab_limit = vocab_limit;
    tb_llm_plan plan = tb_llm_plan_default();
    if (parse_rule(plan_rule, &plan) != 0) return cli_usage_error(&spec, "unknown --plan-rule '%s'", plan_rule);
    if (strcmp(plan_pos, "keep") == 0) plan.pos = TB_PLAN_POS_KEEP;
    else if (strcmp(plan_pos, "renumber") == 0) plan.pos = TB_PLAN_POS_RENUMBER;
    else return cli_usage_error(&spec, "unknown --plan-pos '%s'", plan_pos);
    if (strcmp(plan_select, "last") == 0) plan.select = TB_PLAN_SELECT_LAST_QUERY;
    else if (strcmp(plan_select, "mean") == 0) plan.select = TB_PLAN_SELECT_ALL_QUERIES;
    else return cli_usage_error(&spec, "unknown --plan-select '%s'", plan_select);
    if (plan_keep > 1.0) {
        if (plan_keep != floor(plan_keep)) return cli_usage_error(&spec, "--plan-keep %g: a count must be whole", plan_keep);
        plan.keep_count = (int64_t)plan_keep;
    } else {
        plan.keep_ratio = plan_keep;
    }
    plan.merge_weight = plan_weight;
    plan.bidirectional_prev = plan_bidir;
    if (attn_out && attn_layer < 0) return cli_usage_error(&spec, "--attn-out needs --attn-layer");
    if (gen_out && gen_n <= 0) return cli_usage_error(&spec, "--gen-out needs --generate N");
    if (plan_idx_path && plan_layer <= 0) return cli_usage_error(&spec, "--plan-indices needs --plan-layer");
    const tg_method *meth = NULL;
    if (method) {
        if (!(meth = reg_method_find(method))) {
            char names[512];
            return cli_usage_error(&spec, "unknown method '%s' (known: %s)", method,
                                   reg_method_names(names, sizeof names, ", "));
        }
        if (!(meth->caps & TG_CAP_IN_LLM))
            return cli_usage_error(&spec, "method %s has no in-LLM stage (use prune for pre-LLM methods)", method);
        if (plan_layer > 0 || plan_idx_path) return cli_usage_error(&spec, "--method excludes --plan-layer / --plan-indices");
        if (assembled || !vis_path) return cli_usage_error(&spec, "--method needs --visual pooled tokens [T, L, D]");
        if (!(ratio > 0.0 && ratio <= 1.0) && !(meth->caps & TG_CAP_NO_RATIO))
            return cli_usage_error(&spec, "--method needs --ratio in (0, 1]");
    } else if (sets.n || m_attn || m_recv || m_ts || family) {
        return cli_usage_error(&spec, "--set, --attn, --attn-recv, --timestamps and --family go with --method");
    }
    if (kept_out && !method && plan_layer <= 0) return cli_usage_error(&spec, "--kept-out needs a plan (--method or --plan-layer)");

    int rc = 1;
    char err[512];
    npy_array ids = {0}, vis = {0}, pidx = {0}, gthw = {0}, mA = {0}, mAR = {0}, mTS = {0};
    int64_t *pos3 = NULL;
    eng_llm *m = NULL;
    eng_llm_state *s = NULL;
    float *block = NULL;
    int64_t *gen = NULL, *vpos = NULL;
    tg_prune_output mo = {0};
    if (npy_read(ids_path, NPY_I64, &ids, err, sizeof err) != 0) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        goto out;
    }
    if (ids.ndim > 2 || (ids.ndim == 2 && ids.shape[0] != 1)) {
        fprintf(stderr, "tango-bench forward: %s: ids must be 1-D (or [1, n]), got %d dims\n", ids_path, ids.ndim);
        goto out;
    }
    if (vis_path && (npy_read(vis_path, NPY_F32, &vis, err, sizeof err) != 0 ||
                     npy_check_finite(&vis, vis_path, err, sizeof err) != 0)) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        goto out;
    }
    if (plan_idx_path && npy_read(plan_idx_path, NPY_I64, &pidx, err, sizeof err) != 0) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        goto out;
    }
    if ((m_attn && npy_read(m_attn, NPY_F32, &mA, err, sizeof err)) ||
        (m_recv && npy_read(m_recv, NPY_F32, &mAR, err, sizeof err)) ||
        (m_ts && npy_read(m_ts, NPY_F32, &mTS, err, sizeof err))) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        goto out;
    }
    m = eng_llm_load(model, &lp, err, sizeof err);
    if (!m) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        goto out;
    }
    eng_llm_info info;
    eng_llm_get_info(m, &info);
    if ((grid_path || pos_out) && !info.mrope) {
        fprintf(stderr, "tango-bench forward: --grid-thw / --positions-out are for Qwen2.5-VL checkpoints\n");
        rc = 2;
        goto out;
    }

    /* the visual block */
    int64_t n_vis = 0;
    if (info.mrope && meth) {
        fprintf(stderr, "tango-bench forward: %s: --method runs on the LLaVA families' pooled tokens; on Qwen2.5-VL "
                        "give the plan with --plan-layer\n", model);
        rc = 2;
        goto out;
    }
    if (info.mrope) {
        /* Qwen2.5-VL: merged rows replace the pads one for one; positions from ids + grid */
        int64_t n = (int64_t)ids.numel, max_id = 0, n_grids = 0;
        if (vis_path && (vis.ndim != 2 || vis.shape[1] != info.hidden)) {
            fprintf(stderr, "tango-bench forward: %s: merged rows must be [U, %d]\n", vis_path, info.hidden);
            goto out;
        }
        if (vis_path && !grid_path) {
            fprintf(stderr, "tango-bench forward: --visual on a Qwen2.5-VL checkpoint needs --grid-thw\n");
            rc = 2;
            goto out;
        }
        if (grid_path) {
            if (npy_read(grid_path, NPY_I64, &gthw, err, sizeof err) != 0) {
                fprintf(stderr, "tango-bench forward: %s\n", err);
                goto out;
            }
            if (gthw.numel % 3 || gthw.numel == 0 || gthw.shape[gthw.ndim - 1] != 3) {
                fprintf(stderr, "tango-bench forward: %s: expected [n, 3] grids\n", grid_path);
                goto out;
            }
            n_grids = (int64_t)gthw.numel / 3;
        }
        n_vis = vis_path ? vis.shape[0] : 0;
        block = vis.data;
        if (!(pos3 = malloc((size_t)(3 * (n ? n : 1)) * sizeof *pos3))) {
            fprintf(stderr, "tango-bench forward: out of memory\n");
            goto out;
        }
        if (eng_qwen_rope_index(ids.data, n, (const int64_t(*)[3])gthw.data, n_grids, spg, info.tokens_per_second,
                                info.spatial_merge, info.vision_start_id, info.video_token_id, info.image_token_id,
                                pos3, &max_id, err, sizeof err) != ENG_OK) {
            fprintf(stderr, "tango-bench forward: %s: %s\n", ids_path, err);
            rc = 2;
            goto out;
        }
        if (pos_out) {
            int64_t ps[2] = {3, n};
            if (npy_write(pos_out, NPY_I64, pos3, 2, ps, err, sizeof err) != 0) {
                fprintf(stderr, "tango-bench forward: %s\n", err);
                goto out;
            }
        }
    } else if (vis_path) {
        if (assembled) {
            if (vis.ndim != 2 || vis.shape[1] != info.hidden) {
                fprintf(stderr, "tango-bench forward: %s: --assembled needs [n, %d], got %d dims\n", vis_path,
                        info.hidden, vis.ndim);
                goto out;
            }
            n_vis = vis.shape[0];
            block = vis.data;
        } else if (meth) {
            if (vis.ndim != 3 || vis.shape[2] != info.hidden) {
                fprintf(stderr, "tango-bench forward: %s: pooled tokens must be [T, L, %d]\n", vis_path, info.hidden);
                rc = 2;
                goto out;
            }
            int mrc = run_method(meth, &info, &vis, &mA, &mAR, &mTS, family, ratio, (uint64_t)seed, &sets, &mo);
            if (mrc) {
                rc = mrc;
                goto out;
            }
            if (run_visual_block(&mo, eng_llm_image_newline(m), &block, err, sizeof err)) {
                fprintf(stderr, "tango-bench forward: %s: %s\n", method, err);
                goto out;
            }
            n_vis = mo.n_seq;
            printf("%s: %lld visual tokens enter the LLM (of %lld unpruned), plan at layer %d\n", method,
                   (long long)n_vis, (long long)mo.n_visual_full, mo.plan.layer);
        } else {
            if (vis.ndim != 3 || vis.shape[2] != info.hidden) {
                fprintf(stderr, "tango-bench forward: %s: pooled tokens must be [T, L, %d] (or use --assembled)\n",
                        vis_path, info.hidden);
                goto out;
            }
            int64_t grid = (int64_t)llround(sqrt((double)vis.shape[1]));
            if (grid * grid != vis.shape[1]) {
                fprintf(stderr, "tango-bench forward: %s: L = %lld is not a square grid\n", vis_path,
                        (long long)vis.shape[1]);
                goto out;
            }
            if (assemble_all(m, &info, vis.data, vis.shape[0], grid, &block, &n_vis, err, sizeof err)) {
                fprintf(stderr, "tango-bench forward: %s: %s\n", vis_path, err);
                goto out;
            }
        }
    }
    int64_t n_ctx = (int64_t)ids.numel + n_vis + gen_n + 1;
    s = eng_llm_state_init(m, n_ctx, err, sizeof err);
    if (!s) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        goto out;
    }
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = ids.data;
    pp.n_ids = (int64_t)ids.numel;
    pp.visual = block;
    pp.n_visual = n_vis;
    pp.attn_layer = (int)attn_layer;
    pp.all_logits = !info.mrope; /* Qwen: the last row (the spec's forward contract) */
    pp.pos3 = pos3;
    if (meth) {
        int contiguous = 1;
        for (int64_t i = 0; i < mo.n_seq; i++) contiguous &= mo.positions[i] == i;
        int64_t ph = -1;
        for (size_t i = 0; i < ids.numel; i++)
            if (((int64_t *)ids.data)[i] == ENG_LLM_IMAGE_PLACEHOLDER || ((int64_t *)ids.data)[i] == info.image_token_id)
                ph = (int64_t)i;
        if (!contiguous && ph >= 0 && run_visual_positions(&mo, ph, (int64_t)ids.numel, &vpos)) {
            fprintf(stderr, "tango-bench forward: out of memory\n");
            goto out;
        }
        pp.pos = vpos;
        pp.plan = &mo.plan;
    } else if (plan_layer > 0) {
        plan.layer = (int)plan_layer;
        if (plan_idx_path) {
            plan.select = TB_PLAN_SELECT_INDICES;
            plan.keep_idx = pidx.data;
            plan.n_keep_idx = (int64_t)pidx.numel;
        }
        pp.plan = &plan;
    }
    eng_llm_prefill_out po;
    int e = eng_llm_prefill(s, &pp, &po, err, sizeof err);
    if (e != ENG_OK) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        rc = e == ENG_ERR_ARG ? 2 : 1;
        goto out;
    }
    int64_t shp[2] = {po.n_logit_rows, po.vocab_out};
    if (npy_write(out_path, NPY_F32, po.logits, 2, shp, err, sizeof err) != 0) {
        fprintf(stderr, "tango-bench forward: %s\n", err);
        goto out;
    }
    if (attn_out) {
        int64_t as[1] = {po.attn_len};
        if (npy_write(attn_out, NPY_F32, po.attn_row, 1, as, err, sizeof err) != 0) {
            fprintf(stderr, "tango-bench forward: %s\n", err);
            goto out;
        }
    }
    printf("tokens %lld (visual %lld at %lld), final rows %lld, prefill %.3f s (plan %.3f s)\n",
           (long long)po.n_tokens, (long long)po.n_visual, (long long)po.visual_start, (long long)po.n_final,
           po.seconds, po.plan_seconds);
    printf("visual tokens per layer:");
    for (int l = 0; l < po.n_layers; l++) printf(" %lld", (long long)po.n_visual_layer[l]);
    printf("\n");
    if (kept_out) {
        int64_t ks[1] = {po.n_kept};
        int64_t none = 0;
        if (npy_write(kept_out, NPY_I64, po.kept ? po.kept : &none, 1, ks, err, sizeof err) != 0) {
            fprintf(stderr, "tango-bench forward: %s\n", err);
            goto out;
        }
        printf("kept %lld of %lld visual rows at layer %d -> %s\n", (long long)po.n_kept, (long long)po.n_visual,
               meth ? mo.plan.layer : (int)plan_layer, kept_out);
    }
    if (gen_n > 0) {
        gen = malloc((size_t)gen_n * sizeof *gen);
        if (!gen) {
            fprintf(stderr, "tango-bench forward: out of memory\n");
            goto out;
        }
        eng_llm_gen_params gp = eng_llm_gen_default_params();
        gp.max_new_tokens = gen_n;
        gp.repetition_penalty = rep_pen;
        gp.use_stop_ids = !no_stop;
        int64_t n_gen = 0;
        if (eng_llm_generate(s, &gp, gen, gen_n, &n_gen, err, sizeof err) != ENG_OK) {
            fprintf(stderr, "tango-bench forward: %s\n", err);
            goto out;
        }
        eng_llm_timings tm;
        eng_llm_get_timings(s, &tm);
        printf("generated %lld tokens:", (long long)n_gen);
        for (int64_t i = 0; i < n_gen; i++) printf(" %lld", (long long)gen[i]);
        printf("\ndecode %.3f ms/token\n", tm.n_decode ? 1e3 * tm.decode_s / (double)tm.n_decode : 0.0);
        if (gen_out) {
            int64_t gs[1] = {n_gen};
            if (npy_write(gen_out, NPY_I64, gen, 1, gs, err, sizeof err) != 0) {
                fprintf(stderr, "tango-bench forward: %s\n", err);
                goto out;
            }
        }
    }
    rc = 0;
out:
    free(gen);
    free(vpos);
    tg_prune_output_free(&mo);
    npy_free(&mA);
    npy_free(&mAR);
    npy_free(&mTS);
    if (block != vis.data) free(block);
    eng_llm_state_free(s);
    eng_llm_free(m);
    npy_free(&ids);
    npy_free(&vis);
    npy_free(&pidx);
    npy_free(&gthw);
    free(pos3);
    return rc;
}
