/* cmd_prune.c - tango-bench prune: apply a registered pruning method (tango/pruner.h) to the
 * visual tokens of one video given as .npy files, and write what the LLM would receive.
 *
 *   tango-bench prune --method tango --features F.npy --attn A.npy --timestamps T.npy --ratio R
 *                     [--grid HxW] [--set key=value]... --out DIR
 *
 * Outputs in DIR: kept.npy (int64, ascending flat t*L+l), tokens.npy (float32 [n_kept][D], merged
 * values included, before newline assembly), order.npy (int64, LLM order, -1 = newline),
 * positions.npy (int64 position id of each order entry, relative to the visual block) and
 * summary.json (counts per segment, budgets, realised equivalent retention, active quirks, the
 * in-LLM plan, and "timing": {"prune_ms"}: the method's own wall time in this process). Bad input: one line, exit 2; runtime failure (I/O, memory): one line, exit 1. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/npy.h"
#include "harness/registry.h"
#include "tango/pruner.h"

static int mkdir_p(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST) return -1;
            buf[i] = c;
        }
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static int parse_grid(const char *s, int64_t *h, int64_t *w) {
    char *end;
    errno = 0;
    long long a = strtoll(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X') || errno || a < 1 || a > 100000) return -1;
    const char *p = end + 1;
    long long b = strtoll(p, &end, 10);
    if (end == p || *end || errno || b < 1 || b > 100000) return -1;
    *h = a;
    *w = b;
    return 0;
}

/* The plan as summary.json has always written it (field names kept stable for scripts). */
static cJSON *plan_json(const tg_prune_output *out) {
    const tb_llm_plan *pl = &out->plan;
    if (pl->layer <= 0) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "layer", pl->layer);
    cJSON_AddNumberToObject(o, "score_layer", pl->layer - 1);
    cJSON_AddNumberToObject(o, "keep_ratio", pl->keep_ratio);
    cJSON_AddStringToObject(o, "keep_round", pl->keep_round == TB_ROUND_HALF_EVEN ? "half_even"
                                             : pl->keep_round == TB_ROUND_FLOOR ? "floor" : "ceil");
    cJSON_AddBoolToObject(o, "span_includes_newlines", pl->protect == NULL);
    cJSON_AddStringToObject(o, "score", pl->select == TB_PLAN_SELECT_ALL_QUERIES  ? "received_attention_all_queries_head_mean"
                                        : pl->select == TB_PLAN_SELECT_LAST_QUERY ? "last_query_row_head_mean"
                                        : pl->select == TB_PLAN_SELECT_DART       ? "dart_key_l1_pivots_least_cosine"
                                                                                  : "indices");
    if (pl->select == TB_PLAN_SELECT_DART) {
        cJSON_AddNumberToObject(o, "pivot_image", pl->pivot_image);
        cJSON_AddNumberToObject(o, "pivot_text", pl->pivot_text);
        cJSON_AddNumberToObject(o, "per_pivot", (double)pl->per_pivot);
        cJSON_AddStringToObject(o, "pivot_order", pl->pivot_order == TB_PLAN_ORDER_PYSET ? "cpython-set" : "list");
    }
    cJSON_AddBoolToObject(o, "score_causal_mask", !pl->bidirectional_prev);
    double wk = 1.0, wp = 0.0;
    if (pl->merge == TB_PLAN_MERGE_WEIGHTED) {
        wk = pl->merge_weight;
        wp = pl->merge_pool_weight < 0 ? 1.0 - pl->merge_weight : pl->merge_pool_weight;
    } else if (pl->merge == TB_PLAN_MERGE_PAIRWISE) {
        wk = wp = 0.5;
    }
    cJSON_AddStringToObject(o, "merge", pl->merge == TB_PLAN_MERGE_WEIGHTED   ? "cosine_fold"
                                        : pl->merge == TB_PLAN_MERGE_PAIRWISE ? "pairwise_sequential"
                                                                              : "none");
    cJSON_AddNumberToObject(o, "w_keep", wk);
    cJSON_AddNumberToObject(o, "w_pool", wp);
    cJSON_AddStringToObject(o, "positions", pl->pos == TB_PLAN_POS_KEEP ? "original" : "contiguous");
    cJSON_AddNumberToObject(o, "n_visual_in", (double)out->n_seq);
    cJSON_AddNumberToObject(o, "n_keep", (double)tb_plan_keep_count(pl, out->n_seq));
    return o;
}

static char *summary_text(const char *method, const tg_prune_input *in, const tg_prune_output *out, double prune_ms) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "method", method);
    cJSON_AddStringToObject(root, "compat", out->compat ? out->compat : "official");
    cJSON *q = cJSON_AddArrayToObject(root, "quirks");
    for (int i = 0; i < out->n_quirks; i++) cJSON_AddItemToArray(q, cJSON_CreateString(out->quirks[i]));
    cJSON *params = out->params_json ? cJSON_Parse(out->params_json) : NULL;
    cJSON_AddItemToObject(root, "params", params ? params : cJSON_CreateObject());
    cJSON *inp = cJSON_AddObjectToObject(root, "input");
    cJSON_AddNumberToObject(inp, "frames", (double)in->n_frames);
    cJSON_AddNumberToObject(inp, "tokens_per_frame", (double)in->n_tokens);
    cJSON_AddNumberToObject(inp, "dim", (double)in->dim);
    cJSON_AddNumberToObject(inp, "grid_h", (double)in->grid_h);
    cJSON_AddNumberToObject(inp, "grid_w", (double)in->grid_w);
    cJSON_AddNumberToObject(inp, "ratio", in->ratio);
    cJSON_AddStringToObject(inp, "family", tb_family_name(in->model.family));
    cJSON_AddStringToObject(inp, "newline", tg_newline_name(in->model.newline));
    cJSON_AddNumberToObject(inp, "llm_layers", in->model.n_layers);
    int64_t full = in->n_frames * in->n_tokens;
    cJSON *c = cJSON_AddObjectToObject(root, "counts");
    cJSON_AddNumberToObject(c, "visual_full", (double)full);
    cJSON_AddNumberToObject(c, "budget_nominal", in->ratio * (double)full);
    cJSON_AddNumberToObject(c, "ratio_used", out->ratio_used);
    cJSON_AddNumberToObject(c, "budget_pre_llm", out->ratio_used * (double)full);
    cJSON_AddNumberToObject(c, "kept", (double)out->n_kept);
    cJSON_AddNumberToObject(c, "kept_fraction", full > 0 ? (double)out->n_kept / (double)full : 0.0);
    cJSON_AddNumberToObject(c, "newlines", (double)out->n_newlines);
    cJSON_AddNumberToObject(c, "llm_visual_tokens", (double)out->n_seq);
    cJSON_AddNumberToObject(c, "llm_visual_tokens_full", (double)out->n_visual_full);
    cJSON *segs = cJSON_AddArrayToObject(root, "segments");
    for (int s = 0; s < out->n_segments; s++) {
        const tg_segment_info *si = &out->segments[s];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "start", (double)si->start);
        cJSON_AddNumberToObject(o, "frames", (double)si->len);
        cJSON_AddNumberToObject(o, "static", (double)si->n_static);
        cJSON_AddNumberToObject(o, "ratio_adj", si->ratio_adj);
        cJSON_AddNumberToObject(o, "budget", (double)si->budget);
        cJSON_AddNumberToObject(o, "kept_static", (double)si->kept_static);
        cJSON_AddNumberToObject(o, "kept_salient", (double)si->kept_salient);
        cJSON_AddNumberToObject(o, "kept_context", (double)si->kept_context);
        cJSON_AddNumberToObject(o, "kept", (double)si->kept);
        cJSON_AddItemToArray(segs, o);
    }
    cJSON_AddItemToObject(root, "llm_plan", plan_json(out));
    cJSON_AddNumberToObject(root, "n_layers", out->n_layers);
    cJSON *vl = cJSON_AddArrayToObject(root, "visual_per_layer");
    for (int l = 0; l < out->n_layers; l++) cJSON_AddItemToArray(vl, cJSON_CreateNumber((double)out->visual_per_layer[l]));
    cJSON_AddNumberToObject(root, "equiv_retention", out->equiv_retention);
    cJSON_AddNumberToObject(root, "equiv_retention_content", out->equiv_retention_content);
    /* the method's own time in this process (monotonic clock): no start-up, no .npy reading */
    cJSON *tm = cJSON_AddObjectToObject(root, "timing");
    cJSON_AddNumberToObject(tm, "prune_ms", prune_ms);
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    return txt;
}

/* "--set" help: one line per registered method with the keys it accepts. */
static const char *set_help(char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "method parameter, one per --set");
    for (size_t i = 0; i < reg_n_methods() && k < n; i++) {
        const tg_method *m = reg_method(i);
        k += (size_t)snprintf(buf + k, n - k, "; %s keys:", m->name);
        for (const char *const *key = m->param_keys; key && *key && k < n; key++)
            k += (size_t)snprintf(buf + k, n - k, " %s", *key);
    }
    return buf;
}

int cmd_prune(int argc, char **argv) {
    static char set_buf[4096];
    const char *method = NULL, *feat = NULL, *attn = NULL, *ts = NULL, *grid = NULL, *outdir = NULL;
    const char *attn_recv = NULL, *globals = NULL, *keys = NULL, *family = "llava-ov";
    double ratio = 0.0;
    int64_t seed = 0, threads = 0, llm_layers = 28;
    cli_list sets = {0};
    const cli_opt opts[] = {
        {"method", CLI_STR, &method, "NAME", "pruning method (tango, or a registered baseline)", .required = 1},
        {"features", CLI_STR, &feat, "F.npy", "visual tokens (T, L, D) float32", .required = 1},
        {"attn", CLI_STR, &attn, "A.npy", "saliency per token (T, L), >= 0", .required = 1},
        {"timestamps", CLI_STR, &ts, "T.npy", "frame times in seconds (T,)"},
        {"attn-recv", CLI_STR, &attn_recv, "A.npy", "optional mean received attention (T, L)"},
        {"frame-global", CLI_STR, &globals, "G.npy", "optional per-frame global vectors (T, G): encode's frame_global"},
        {"keys", CLI_STR, &keys, "K.npy", "optional per-token keys (T, L, Dk): encode's pooled_keys (VisionZip)"},
        {"ratio", CLI_DOUBLE, &ratio, "R", "retention ratio in (0, 1]", .required = 1},
        {"grid", CLI_STR, &grid, "HxW", "token grid (default: square root of L)"},
        {"family", CLI_STR, &family, "llava-ov|llava-video|qwen2.5-vl",
         "the model the tokens are for: its newline layout and official code paths (also --set model=)"},
        {"llm-layers", CLI_INT, &llm_layers, "N", "LLM decoder layers (Qwen2-7B: 28; also --set layers=)", .min = 1,
         .max = TG_MAX_LAYERS},
        {"set", CLI_LIST, &sets, "KEY=VALUE", set_help(set_buf, sizeof set_buf)},
        {"seed", CLI_INT, &seed, "N", "seed of the method's random draws", .min = 0, .max = 9e18},
        {"threads", CLI_INT, &threads, "N", "CPU threads (0 = OpenMP default)", .min = 0, .max = 1024},
        {"out", CLI_STR, &outdir, "DIR", "output directory (created)", .required = 1},
        {0}};
    const cli_spec spec = {"prune", NULL, 0, 0, "apply a pruning method to visual tokens (.npy in, .npy out)", opts};
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, NULL, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    if (!(ratio > 0.0 && ratio <= 1.0)) return cli_usage_error(&spec, "--ratio %g is outside (0, 1]", ratio);
    const tg_method *m = reg_method_find(method);
    if (!m) {
        char names[512];
        return cli_usage_error(&spec, "unknown method '%s' (known: %s)", method, reg_method_names(names, sizeof names, ", "));
    }
    /* the model layout: --family / --llm-layers, or their older spellings --set model= / layers=
     * (taken out of the method's parameters: methods read the typed layout) */
    int n_kv = 0;
    for (int i = 0; i < sets.n; i++) {
        const char *kv = sets.items[i];
        if (!strncmp(kv, "model=", 6)) {
            family = kv + 6;
        } else if (!strncmp(kv, "layers=", 7)) {
            char *end;
            long long v = strtoll(kv + 7, &end, 10);
            if (end == kv + 7 || *end || v < 1 || v > TG_MAX_LAYERS)
                return cli_usage_error(&spec, "--set %s: expected an integer in 1..%d", kv, TG_MAX_LAYERS);
            llm_layers = v;
        } else {
            sets.items[n_kv++] = sets.items[i];
        }
    }
    sets.n = n_kv;
    tb_family fam;
    if (tb_family_parse(family, &fam))
        return cli_usage_error(&spec, "--family '%s' is not llava-ov, llava-video or qwen2.5-vl", family);

    int rc = 1;
    char err[512];
    npy_array F = {0}, A = {0}, TS = {0}, AR = {0}, G = {0}, K = {0};
    tg_prune_output out = {0};
    char *txt = NULL;
    if (npy_read(feat, NPY_F32, &F, err, sizeof err) || npy_read(attn, NPY_F32, &A, err, sizeof err) ||
        (ts && npy_read(ts, NPY_F32, &TS, err, sizeof err)) ||
        (attn_recv && npy_read(attn_recv, NPY_F32, &AR, err, sizeof err)) ||
        (globals && npy_read(globals, NPY_F32, &G, err, sizeof err)) ||
        (keys && npy_read(keys, NPY_F32, &K, err, sizeof err))) {
        fprintf(stderr, "tango-bench prune: %s\n", err);
        goto done;
    }
    rc = 2;
    if (F.ndim != 3) {
        fprintf(stderr, "tango-bench prune: %s: features must be (T, L, D), got %d dimensions\n", feat, F.ndim);
        goto done;
    }
    int64_t T = F.shape[0], L = F.shape[1], D = F.shape[2];
    if (A.ndim != 2 || A.shape[0] != T || A.shape[1] != L) {
        fprintf(stderr, "tango-bench prune: %s: attention must be (T, L) = (%lld, %lld) to match the features\n", attn,
                (long long)T, (long long)L);
        goto done;
    }
    if (ts && (TS.ndim != 1 || TS.shape[0] != T)) {
        fprintf(stderr, "tango-bench prune: %s: timestamps must be (T,) = (%lld,)\n", ts, (long long)T);
        goto done;
    }
    if (attn_recv && (AR.ndim != 2 || AR.shape[0] != T || AR.shape[1] != L)) {
        fprintf(stderr, "tango-bench prune: %s: received attention must be (T, L) = (%lld, %lld)\n", attn_recv,
                (long long)T, (long long)L);
        goto done;
    }
    if (globals && (G.ndim != 2 || G.shape[0] != T)) {
        fprintf(stderr, "tango-bench prune: %s: frame-global must be (T, G) with T = %lld\n", globals, (long long)T);
        goto done;
    }
    if (keys && (K.ndim != 3 || K.shape[0] != T || K.shape[1] != L)) {
        fprintf(stderr, "tango-bench prune: %s: keys must be (T, L, Dk) with T = %lld, L = %lld\n", keys, (long long)T,
                (long long)L);
        goto done;
    }
    int64_t gh, gw;
    if (grid) {
        if (parse_grid(grid, &gh, &gw)) {
            fprintf(stderr, "tango-bench prune: --grid '%s': expected HxW, e.g. 14x14\n", grid);
            goto done;
        }
    } else {
        gh = gw = (int64_t)llround(sqrt((double)L));
        if (gh * gw != L) {
            fprintf(stderr, "tango-bench prune: L=%lld tokens per frame is not a square; pass --grid HxW\n",
                    (long long)L);
            goto done;
        }
    }
    if (gh * gw != L) {
        fprintf(stderr, "tango-bench prune: --grid %lldx%lld does not match L=%lld tokens per frame\n", (long long)gh,
                (long long)gw, (long long)L);
        goto done;
    }

    tg_prune_input in = tg_prune_input_default();
    in.features = F.data;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = gh;
    in.grid_w = gw;
    in.model = tg_model_layout_default(fam, (int)llm_layers, D);
    in.saliency = A.data;
    in.timestamps = ts ? TS.data : NULL;
    in.saliency_recv = attn_recv ? AR.data : NULL;
    in.frame_global = globals ? G.data : NULL;
    in.global_dim = globals ? G.shape[1] : 0;
    in.keys = keys ? K.data : NULL;
    in.key_dim = keys ? K.shape[2] : 0;
    in.ratio = ratio;
    in.seed = (uint64_t)seed;
    in.n_threads = (int)threads;
    in.params = (const char *const *)sets.items;
    in.n_params = sets.n;
    double t0 = tb_now_s();
    st = m->run(&in, &out, err, sizeof err);
    double prune_ms = 1e3 * (tb_now_s() - t0);
    if (st != TG_OK) {
        fprintf(stderr, "tango-bench prune: %s: %s\n", method, err);
        rc = st == TG_ERR_INPUT ? 2 : 1;
        goto done;
    }

    rc = 1;
    if (mkdir_p(outdir)) {
        fprintf(stderr, "tango-bench prune: cannot create output directory %s: %s\n", outdir, strerror(errno));
        goto done;
    }
    char path[4200];
    int64_t shp[2] = {out.n_kept, out.dim};
    int64_t sq[1] = {out.n_seq};
    snprintf(path, sizeof path, "%s/kept.npy", outdir);
    if (npy_write(path, NPY_I64, out.kept, 1, shp, err, sizeof err)) goto io_fail;
    snprintf(path, sizeof path, "%s/tokens.npy", outdir);
    if (npy_write(path, NPY_F32, out.tokens, 2, shp, err, sizeof err)) goto io_fail;
    snprintf(path, sizeof path, "%s/order.npy", outdir);
    if (npy_write(path, NPY_I64, out.order, 1, sq, err, sizeof err)) goto io_fail;
    snprintf(path, sizeof path, "%s/positions.npy", outdir);
    if (npy_write(path, NPY_I64, out.positions, 1, sq, err, sizeof err)) goto io_fail;
    txt = summary_text(method, &in, &out, prune_ms);
    snprintf(path, sizeof path, "%s/summary.json", outdir);
    FILE *fp = txt ? fopen(path, "w") : NULL;
    if (!fp || fputs(txt, fp) < 0 || fputc('\n', fp) < 0) {
        fprintf(stderr, "tango-bench prune: cannot write %s: %s\n", path, strerror(errno));
        if (fp) fclose(fp);
        goto done;
    }
    if (fclose(fp)) {
        fprintf(stderr, "tango-bench prune: cannot write %s: %s\n", path, strerror(errno));
        goto done;
    }
    printf("%s: kept %lld of %lld tokens (%lld in the LLM with newlines), equivalent retention %.4f -> %s\n", method,
           (long long)out.n_kept, (long long)(T * L), (long long)out.n_seq, out.equiv_retention, outdir);
    rc = 0;
    goto done;
io_fail:
    fprintf(stderr, "tango-bench prune: %s\n", err);
done:
    free(txt);
    tg_prune_output_free(&out);
    npy_free(&F);
    npy_free(&A);
    npy_free(&TS);
    npy_free(&AR);
    npy_free(&G);
    npy_free(&K);
    return rc;
}
