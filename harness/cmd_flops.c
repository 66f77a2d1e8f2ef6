/* cmd_flops.c - tango-bench flops: per-layer and total LLM prefill FLOPs of a visual-token plan,
 * its equivalent retention (paper Eq. 1), and the FastV / two-stage knob solvers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/baselines.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/flops.h"
#include "harness/registry.h"
#include "tango/kit.h"
#include "tango/retention.h"

#define MAX_LAYERS 512

/* Parses a per-layer plan. Two forms:
 *   "n0,n1,...,n{L-1}"        one count per layer (exactly L items)
 *   "COUNT@LAYER,..."         COUNT visual tokens from LAYER on (first item must be @0)
 * Returns 0, or -1 with a message in err. */
static int parse_plan(const char *s, int n_layers, int64_t *out, char *err, size_t n) {
    if (strchr(s, '@')) {
        int64_t cur = -1;
        int next_from = 0;
        const char *p = s;
        while (*p) {
            char *end;
            long long cnt = strtoll(p, &end, 10);
            if (end == p || *end != '@' || cnt < 0) goto bad;
            p = end + 1;
            long long layer = strtoll(p, &end, 10);
            if (end == p || layer < 0 || layer >= n_layers || layer < next_from || (cur < 0 && layer != 0)) goto bad;
            for (int l = next_from; l < layer; l++) out[l] = cur;
            cur = cnt;
            next_from = (int)layer;
            p = end;
            if (*p == ',') p++;
            else if (*p) goto bad;
        }
        if (cur < 0) goto bad;
        for (int l = next_from; l < n_layers; l++) out[l] = cur;
        return 0;
    }
    int64_t tmp[MAX_LAYERS];
    int k = cli_split_ints(s, tmp, MAX_LAYERS);
    if (k != n_layers) {
        snprintf(err, n, "--layer-tokens has %d counts, the model has %d layers (or use COUNT@LAYER,...)", k,
                 n_layers);
        return -1;
    }
    for (int l = 0; l < n_layers; l++) {
        if (tmp[l] < 0) goto bad;
        out[l] = tmp[l];
    }
    return 0;
bad:
    snprintf(err, n, "--layer-tokens '%s' is not a plan (e.g. 6272,6272,... or 6272@0,3136@2)", s);
    return -1;
}

int cmd_flops(int argc, char **argv) {
    const char *model_name = "qwen2-7b", *layer_tokens = NULL, *solve = NULL, *method = NULL, *family = "llava-ov";
    int64_t n_visual = 6272, n_text = 100, k = -1, frames = 0;
    double ratio = 0, keep = 0.5;
    int json = 0;
    const cli_opt opts[] = {
        {"model", CLI_STR, &model_name, "NAME|config.json", "built-in preset (qwen2-7b, qwen2.5-vl-7b, qwen2-0.5b) or a HF config.json"},
        {"visual", CLI_INT, &n_visual, "N", "visual tokens entering the LLM unpruned", 1, 1e7},
        {"text", CLI_INT, &n_text, "N", "text tokens", 0, 1e7},
        {"layer-tokens", CLI_STR, &layer_tokens, "PLAN", "visual tokens per layer: n0,n1,... or COUNT@LAYER,..."},
        {"solve", CLI_STR, &solve, "fastv|two-stage", "solve a method's knob for --ratio"},
        {"ratio", CLI_DOUBLE, &ratio, "R", "target equivalent retention for --solve", 0, 1},
        {"k", CLI_INT, &k, "K", "layer where the in-LLM stage acts (-1: 2 for fastv, 18 for two-stage and the method's own)",
         -1, MAX_LAYERS},
        {"keep", CLI_DOUBLE, &keep, "P", "fraction kept at layer K for --solve two-stage", 0, 1},
        {"method", CLI_STR, &method, "NAME",
         "show a pruning method's plan at --ratio (its knobs solved for that equivalent retention)"},
        {"family", CLI_STR, &family, "llava-ov|llava-video|qwen2.5-vl",
         "geometry for --method (32x14x14, 64x13x13, or 16 slices x 12x21 merged units)"},
        {"frames", CLI_INT, &frames, "T", "frames for --method (0 = the family's default)", 0, 4096},
        {"json", CLI_FLAG, &json, NULL, "print one JSON object instead of a table"},
        {0},
    };
    const cli_spec spec = {"flops", NULL, 0, 0, "LLM prefill FLOPs of a visual-token plan and its equivalent retention",
                           opts};
    char *pos[1];
    int n_pos, st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);

    fl_model m;
    char err[512];
    if (fl_model_preset(model_name, &m) && fl_model_from_config(model_name, &m, err, sizeof err)) {
        if (!strchr(model_name, '/') && !strstr(model_name, ".json"))
            return cli_usage_error(&spec, "unknown model '%s' (presets: qwen2-7b, qwen2.5-vl-7b, qwen2-0.5b; or a config.json path)",
                                   model_name);
        fprintf(stderr, "tango-bench flops: %s\n", err);
        return 1;
    }
    if (m.n_layers > MAX_LAYERS) {
        fprintf(stderr, "tango-bench flops: %s has %d layers, at most %d supported\n", model_name, m.n_layers,
                MAX_LAYERS);
        return 1;
    }
    if (k < 0 && solve) k = !strcmp(solve, "fastv") ? 2 : 18;
    if (k >= m.n_layers) return cli_usage_error(&spec, "--k %lld must be below the layer count %d", (long long)k, m.n_layers);

    int64_t plan[MAX_LAYERS];
    for (int l = 0; l < m.n_layers; l++) plan[l] = n_visual;
    if ((solve != NULL) + (layer_tokens != NULL) + (method != NULL) > 1)
        return cli_usage_error(&spec, "--solve, --layer-tokens and --method exclude each other");
    if (method) {
        char names[512];
        if (!reg_method_find(method)) /* a mistyped name is a usage error (2), not a failure */
            return cli_usage_error(&spec, "--method '%s' is not a known method (%s)", method,
                                   reg_method_names(names, sizeof names, ", "));
        if (ratio <= 0) return cli_usage_error(&spec, "--method needs --ratio in (0, 1]");
        if (m.n_layers > TG_MAX_LAYERS) return cli_usage_error(&spec, "the model has too many layers for a plan");
        tb_family fam;
        if (tb_family_parse(family, &fam))
            return cli_usage_error(&spec, "--family '%s' is not llava-ov, llava-video or qwen2.5-vl", family);
        bl_geometry g = bl_geometry_default(fam, m.n_layers);
        if (frames > 0) g.n_frames = frames;
        bl_knobs kn = bl_knobs_default(method);
        if (k >= 0) kn.llm_layer = (int)k;
        double realised = 0;
        int st2 = bl_solve(method, ratio, &g, &kn, &realised, err, sizeof err);
        if (st2 < 0) {
            fprintf(stderr, "tango-bench flops: %s\n", err);
            return 1;
        }
        bl_plan_layers(&kn, m.n_layers, plan);
        /* the unpruned block of this geometry: tokens plus newlines (OV one, Video one per row) */
        n_visual = tg_layout_full_len(g.newline, g.n_frames, g.grid_h, g.grid_w);
        if (!json) {
            printf("%s at r=%.3f on %s (%lld frames of %lldx%lld): %lld visual tokens enter the LLM", method, ratio,
                   family, (long long)g.n_frames, (long long)g.grid_h, (long long)g.grid_w, (long long)kn.n_seq);
            if (kn.llm_layer > 0) printf(", %lld from layer %d", (long long)kn.n_llm_keep, kn.llm_layer);
            printf("%s%s\n", kn.data_dependent ? " (predicted: the count depends on the video)" : "",
                   st2 == BL_SOLVE_INEXACT ? " [closest reachable, outside the 0.5% tolerance]" : "");
        }
    } else if (solve) {
        if (ratio <= 0) return cli_usage_error(&spec, "--solve needs --ratio in (0, 1]");
        if (!strcmp(solve, "fastv")) {
            double got;
            int64_t r_keep = tg_fastv_keep(m.n_layers, (int)k, n_visual, ratio, 0.005, &got);
            if (r_keep < 0) {
                fprintf(stderr,
                        "tango-bench flops: FastV with K=%lld cannot reach retention %.4f on %d layers "
                        "(closest %.4f)\n",
                        (long long)k, ratio, m.n_layers, got);
                return 1;
            }
            for (int l = (int)k; l < m.n_layers; l++) plan[l] = r_keep;
            if (!json) printf("fastv: K=%lld keep R=%lld of %lld tokens\n", (long long)k, (long long)r_keep, (long long)n_visual);
        } else if (!strcmp(solve, "two-stage")) {
            double pre = tg_two_stage_pre_ratio(m.n_layers, (int)k, keep, ratio);
            if (pre > 1) {
                fprintf(stderr, "tango-bench flops: two-stage K=%lld keep=%.3f needs pre-LLM ratio %.4f > 1\n",
                        (long long)k, keep, pre);
                return 1;
            }
            int64_t n_pre = (int64_t)(pre * (double)n_visual + 0.5);
            int64_t n_post = (int64_t)((double)n_pre * keep + 0.5);
            for (int l = 0; l < m.n_layers; l++) plan[l] = l < k ? n_pre : n_post;
            if (!json)
                printf("two-stage: pre-LLM ratio %.6f (%lld tokens), keep %.3f from layer %lld (%lld tokens)\n", pre,
                       (long long)n_pre, keep, (long long)k, (long long)n_post);
        } else {
            return cli_usage_error(&spec, "--solve '%s' is not one of fastv, two-stage", solve);
        }
    } else if (layer_tokens && parse_plan(layer_tokens, m.n_layers, plan, err, sizeof err)) {
        return cli_usage_error(&spec, "%s", err);
    }
    for (int l = 0; l < m.n_layers; l++)
        if (plan[l] > n_visual && !method)
            return cli_usage_error(&spec, "layer %d holds %lld visual tokens, more than --visual %lld", l,
                                   (long long)plan[l], (long long)n_visual);

    int64_t full[MAX_LAYERS];
    for (int l = 0; l < m.n_layers; l++) full[l] = n_visual;
    double total = fl_prefill_flops(&m, n_text, plan), base = fl_prefill_flops(&m, n_text, full);
    double retention = tg_equiv_retention(plan, m.n_layers, n_visual);
    if (json) {
        printf("{\"model\":\"%s\",\"layers\":%d,\"visual\":%lld,\"text\":%lld,\"tokens_per_layer\":[", m.name,
               m.n_layers, (long long)n_visual, (long long)n_text);
        for (int l = 0; l < m.n_layers; l++) printf("%s%lld", l ? "," : "", (long long)plan[l]);
        printf("],\"tflops\":%.6f,\"tflops_full\":%.6f,\"equivalent_retention\":%.6f}\n", total / 1e12, base / 1e12,
               retention);
        return 0;
    }
    printf("model %s: d=%d m=%d heads=%d kv_heads=%d layers=%d; %lld text + %lld visual tokens\n", model_name, m.d,
           m.m, m.n_heads, m.n_kv_heads, m.n_layers, (long long)n_text, (long long)n_visual);
    printf("%5s %10s %12s\n", "layer", "visual", "TFLOPs");
    for (int l = 0; l < m.n_layers; l++)
        printf("%5d %10lld %12.4f\n", l, (long long)plan[l], fl_layer_flops(&m, (double)(n_text + plan[l])) / 1e12);
    printf("total prefill: %.3f TFLOPs (full tokens %.3f TFLOPs, %.1f%%)\n", total / 1e12, base / 1e12,
           100.0 * total / base);
    printf("equivalent retention: %.4f\n", retention);
    return 0;
}
