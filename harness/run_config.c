/* run_config.c - the `tango-bench run` config (see runner.h for the format): reading the JSON file,
 * ${VAR} / ${VAR:-default} expansion, checking every field (unknown fields are errors, so a typo
 * never silently becomes a default), the methods' parameters as "key=value" strings, and printing
 * the grid. Every error is one line "FILE: field: problem". */
#include "harness/run_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "common/file.h"
#include "datasets/video.h"
#include "engine/engine.h"
#include "harness/flops.h"
#include "harness/registry.h"
#include "tango/pruner.h"

/* One line into err; evaluates to -1. */
#define fail(err, err_len, ...) (tb_set_err(err, err_len, __VA_ARGS__), -1)

/* The '}' closing the "${" at p (nested "${...}" in a default skipped), or NULL. */
static const char *closing_brace(const char *p) {
    int depth = 0;
    for (const char *q = p; *q; q++) {
        if (q[0] == '$' && q[1] == '{') {
            depth++;
            q++;
        } else if (*q == '}' && --depth == 0) {
            return q;
        }
    }
    return NULL;
}

/* Copies src[0..len) to dst expanding ${VAR} and ${VAR:-default}; a default may itself hold
 * references (${A:-${B}}, expanded only when used). Returns 0, or -1 when the result does not fit,
 * a reference is unterminated or names an unset variable without a default, or defaults nest
 * deeper than 8. */
static int expand_range(const char *src, size_t len, char *dst, size_t n, int depth, char *bad, size_t bad_len) {
    size_t j = 0;
    const char *end_src = src + len;
    if (depth > 8) {
        snprintf(bad, bad_len, "defaults nested too deeply in '%.80s'", src);
        return -1;
    }
    for (const char *p = src; p < end_src;) {
        if (p + 1 < end_src && p[0] == '$' && p[1] == '{') {
            const char *end = closing_brace(p);
            if (!end || end >= end_src) {
                snprintf(bad, bad_len, "unterminated ${ in '%.*s'", (int)len, src);
                return -1;
            }
            const char *colon = strstr(p + 2, ":-");
            if (colon && colon > end) colon = NULL;
            const char *name_end = colon ? colon : end;
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(name_end - (p + 2)), p + 2);
            const char *val = getenv(name);
            char def[RUN_PATH];
            if (!val || !*val) {
                if (!colon) {
                    snprintf(bad, bad_len, "environment variable %s is not set (in '%.*s')", name, (int)len, src);
                    return -1;
                }
                if (expand_range(colon + 2, (size_t)(end - colon - 2), def, sizeof def, depth + 1, bad, bad_len))
                    return -1;
                val = def;
            }
            size_t vl = strlen(val);
            if (j + vl >= n) goto too_long;
            memcpy(dst + j, val, vl);
            j += vl;
            p = end + 1;
            continue;
        }
        if (j + 1 >= n) goto too_long;
        dst[j++] = *p++;
    }
    dst[j] = '\0';
    return 0;
too_long:
    snprintf(bad, bad_len, "value too long: '%.80s...'", src);
    return -1;
}

static int expand_env(const char *src, char *dst, size_t n, char *bad, size_t bad_len) {
    return expand_range(src, strlen(src), dst, n, 0, bad, bad_len);
}

/* Reads an optional string field (expanded) into dst; absent or null leaves dst as it is. */
static int get_str(const cJSON *obj, const char *key, char *dst, size_t n, const char *where, char *err,
                   size_t err_len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) return fail(err, err_len, "%s.%s must be a string", where, key);
    char bad[512];
    if (expand_env(v->valuestring, dst, n, bad, sizeof bad)) return fail(err, err_len, "%s.%s: %s", where, key, bad);
    return 0;
}

static int get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *dst, const char *where,
                   char *err, size_t err_len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return fail(err, err_len, "%s.%s must be an integer in [%lld, %lld]", where, key, (long long)lo,
                    (long long)hi);
    *dst = (int64_t)v->valuedouble;
    return 0;
}

/* Checks that obj has only the listed keys (a typo must not silently become a default). */
static int known_keys(const cJSON *obj, const char *const *keys, const char *where, char *err, size_t err_len) {
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *k = keys; *k; k++) ok |= !strcmp(c->string, *k);
        if (!ok) return fail(err, err_len, "%s: unknown field '%s'", where, c->string);
    }
    return 0;
}

/* Turns a method's params object into "key=value" strings: numbers %.17g, booleans 1/0, arrays of
 * numbers comma-joined, strings as they are. */
static int method_params(const cJSON *params, run_method *m, const char *where, char *err, size_t err_len) {
    for (const cJSON *c = params ? params->child : NULL; c; c = c->next) {
        if (m->n_kv >= RUN_MAX_PARAMS) return fail(err, err_len, "%s: too many parameters", where);
        char val[512] = "";
        if (cJSON_IsNumber(c)) snprintf(val, sizeof val, "%.17g", c->valuedouble);
        else if (cJSON_IsBool(c)) snprintf(val, sizeof val, "%d", cJSON_IsTrue(c) ? 1 : 0);
        else if (cJSON_IsString(c)) snprintf(val, sizeof val, "%s", c->valuestring);
        else if (cJSON_IsArray(c)) {
            size_t off = 0;
            for (const cJSON *e = c->child; e; e = e->next) {
                if (!cJSON_IsNumber(e)) return fail(err, err_len, "%s.%s: arrays hold numbers only", where, c->string);
                off += (size_t)snprintf(val + off, sizeof val - off, "%s%.17g", off ? "," : "", e->valuedouble);
                if (off >= sizeof val) return fail(err, err_len, "%s.%s: too long", where, c->string);
            }
        } else {
            return fail(err, err_len, "%s.%s: unsupported value type", where, c->string);
        }
        size_t len = strlen(c->string) + strlen(val) + 2;
        char *kv = malloc(len);
        if (!kv) return fail(err, err_len, "out of memory");
        snprintf(kv, len, "%s=%s", c->string, val);
        m->kv[m->n_kv++] = kv;
    }
    return 0;
}

void run_config_free(run_config *cfg) {
    if (!cfg) return;
    for (int i = 0; i < cfg->n_methods; i++) {
        free(cfg->methods[i].params_json);
        for (int k = 0; k < cfg->methods[i].n_kv; k++) free(cfg->methods[i].kv[k]);
    }
    free(cfg);
}

const double *run_model_ratios(const run_config *cfg, const run_model *m, int *n) {
    *n = m->has_ratios ? m->n_ratios : cfg->n_ratios;
    return m->has_ratios ? m->ratios : cfg->ratios;
}

void run_config_print(const run_config *cfg, FILE *out) {
    fprintf(out, "config %s (%s): %d runs\n", cfg->path, cfg->name, run_config_n_runs(cfg));
    for (int i = 0; i < cfg->n_models; i++) {
        const run_model *m = &cfg->models[i];
        fprintf(out, "  model %s: %s (%s, %d frames, %s)", m->name, m->path, m->family, m->n_frames, m->backend);
        if (m->has_ratios) {
            fprintf(out, ", its own ratios:");
            for (int k = 0; k < m->n_ratios; k++) fprintf(out, " %g%%", 100 * m->ratios[k]);
            if (!m->n_ratios) fprintf(out, " none (methods without a ratio only)");
        }
        fprintf(out, "; dtype %s\n", m->dtype);
    }
    for (int i = 0; i < cfg->n_benches; i++) {
        const run_bench *b = &cfg->benches[i];
        fprintf(out, "  benchmark %s: %s%s, videos %s, %s prompts, %s frames, %d new tokens\n", b->name,
                b->manifest[0] ? "manifest " : "cache revision ", b->manifest[0] ? b->manifest : b->revision, b->videos,
                b->convention, b->frame_rule, b->max_new_tokens);
    }
    for (int i = 0; i < cfg->n_methods; i++) {
        const run_method *rm = &cfg->methods[i];
        fprintf(out, "  method %s%s%s%s %s at", rm->name, rm->label[0] ? " (\"" : "", rm->label,
                rm->label[0] ? "\")" : "", rm->params_json);
        if (reg_method_no_ratio(rm->name)) fprintf(out, " 100%%");
        else if (cfg->n_ratios == 0) fprintf(out, " each model's own ratios");
        else
            for (int k = 0; k < cfg->n_ratios; k++) fprintf(out, " %g%%", 100 * cfg->ratios[k]);
        fputc('\n', out);
    }
}

int run_config_n_runs(const run_config *cfg) {
    int n = 0;
    for (int mi = 0; mi < cfg->n_models; mi++) {
        int nr;
        run_model_ratios(cfg, &cfg->models[mi], &nr);
        for (int i = 0; i < cfg->n_methods; i++) n += reg_method_no_ratio(cfg->methods[i].name) ? 1 : nr;
    }
    return n * cfg->n_benches;
}

/* Reads a list of ratios in (0, 1] into r[0..*n). */
static int get_ratios(const cJSON *arr, double *r, int *n, const char *where, char *err, size_t err_len) {
    *n = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > RUN_MAX_RATIOS)
        return fail(err, err_len, "%s: ratios must be a list of at most %d numbers", where, RUN_MAX_RATIOS);
    for (const cJSON *x = arr->child; x; x = x->next) {
        if (!cJSON_IsNumber(x) || !(x->valuedouble > 0) || x->valuedouble > 1)
            return fail(err, err_len, "%s: ratios[%d] must be a number in (0, 1]", where, *n);
        r[(*n)++] = x->valuedouble;
    }
    return 0;
}

/* ---- checking the grid without loading anything ---------------------------------------------- */

/* Runs method m once on a synthetic video shaped like the model's (T frames of the 7B models'
 * pooled grid: 14x14 for LLaVA-OneVision's bilinear pooling, 13x13 for LLaVA-Video's average
 * pooling; every optional signal present; a small feature width) at ratio r: what a parameter does
 * with real data it does here, so an unknown key or an out-of-range value fails now with the
 * method's own message instead of failing every sample of the real run. */
static int check_method(const run_config *cfg, const run_model *rm, const tg_model_layout *lay, const run_method *m,
                        double r, char *err, size_t err_len) {
    const tg_method *md = reg_method_find(m->name);
    enum { D = 8, DK = 4, DG = 4 };
    /* Qwen2.5-VL: 16x16 merged units (448 px) per temporal slice of two frames, the
     * global-query attention and keys, the sampled frames' times; no received attention and no
     * per-frame global vector (session.c answer_qwen) */
    const int qwen = lay->family == TB_FAMILY_QWEN25_VL;
    const int64_t G = qwen ? 16 : lay->family == TB_FAMILY_LLAVA_VIDEO ? 13 : 14, L = G * G,
                  T = qwen ? (rm->n_frames + 1) / 2 : rm->n_frames;
    float *buf = malloc(sizeof(float) * (size_t)T * (L * D + 2 * L + L * DK + DG + 1));
    if (!md || !buf) {
        free(buf);
        return fail(err, err_len, "%s: out of memory", cfg->path);
    }
    float *feat = buf, *sal = feat + T * L * D, *recv = sal + T * L, *keys = recv + T * L, *glob = keys + T * L * DK,
          *ts = glob + T * DG;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int64_t i = 0; i < T * (L * D + 2 * L + L * DK + DG); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (float)((s >> 40) & 0xffff) / 65536.0f + 1e-3f; /* positive: valid saliency too */
    }
    for (int64_t t = 0; t < T; t++) ts[t] = (float)t * 0.5f;
    double ftimes[2048];
    int64_t n_ft = rm->n_frames < 2048 ? rm->n_frames : 2048;
    for (int64_t f = 0; f < n_ft; f++) ftimes[f] = 0.25 * (double)f;
    tg_prune_input in = tg_prune_input_default();
    in.features = feat;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = in.grid_w = G;
    in.model = *lay;
    in.model.hidden = 0; /* the synthetic width is not the model's */
    in.timestamps = ts;
    in.saliency = sal;
    in.saliency_recv = qwen ? NULL : recv;
    in.frame_global = qwen ? NULL : glob;
    in.global_dim = qwen ? 0 : DG;
    if (qwen) {
        in.frame_times = ftimes;
        in.n_frame_times = n_ft;
    }
    in.keys = keys;
    in.key_dim = DK;
    in.ratio = r;
    in.seed = (uint64_t)cfg->seed;
    in.params = (const char *const *)m->kv;
    in.n_params = m->n_kv;
    in.n_threads = 1;
    tg_prune_output out = {0};
    char e[768];
    int rc = md->run(&in, &out, e, sizeof e);
    tg_prune_output_free(&out);
    free(buf);
    if (rc != TG_OK)
        return fail(err, err_len, "%s: method %s%s%s%s %s at ratio %g with model %s: %s", cfg->path, m->name,
                    m->label[0] ? " (" : "", m->label, m->label[0] ? ")" : "", m->params_json, r,
                    rm->name, e);
    return 0;
}

/* The prompt and the scoring of a benchmark for a model family and convention: a combination the
 * references do not define (lmms-eval with LLaVA-Video or MLVU) fails here instead of failing
 * every sample. */
static int check_prompt(const run_config *cfg, const run_model *rm, const run_bench *b, char *err, size_t err_len) {
    char q[] = "q", oa[] = "a", ob[] = "b", oc[] = "c", od[] = "d", task[] = "action_sequence", mlvu_task[] = "plotQA";
    ds_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.bench = b->bench;
    smp.question = q;
    smp.n_options = 4;
    smp.options[0] = oa, smp.options[1] = ob, smp.options[2] = oc, smp.options[3] = od;
    smp.gold = 'A';
    smp.start = smp.end = NAN;
    smp.duration = 60;
    smp.task = b->bench == DS_BENCH_MLVU ? mlvu_task : b->bench == DS_BENCH_MVBENCH ? task : NULL;
    ds_prompt_params pp = ds_prompt_default_params();
    tb_family_parse(rm->family, &pp.family);
    ds_convention_parse(b->convention, &pp.convention);
    char e[768];
    char *user = ds_prompt_user(&smp, &pp, NULL, e, sizeof e);
    ds_answer a;
    int st = user ? ds_answer_score(&smp, pp.convention, "A", &a, e, sizeof e) : -1;
    free(user);
    if (st != DS_OK)
        return fail(err, err_len, "%s: benchmark %s with model %s (%s), convention %s: %s", cfg->path, b->name, rm->name,
                    rm->family, b->convention, e);
    return 0;
}

int run_config_check(const run_config *cfg, char *err, size_t err_len) {
    for (int mi = 0; mi < cfg->n_models; mi++) {
        const run_model *rm = &cfg->models[mi];
        tb_family fam = TB_FAMILY_LLAVA_OV;
        tb_family_parse(rm->family, &fam);
        /* the LLM depth from the checkpoint's config.json when it is there (layer knobs are
         * checked against it); else the 7B models' 28 */
        char cpath[RUN_PATH + 16], e[512];
        fl_model fm;
        snprintf(cpath, sizeof cpath, "%s/config.json", rm->path);
        int n_layers = fl_model_from_config(cpath, &fm, e, sizeof e) == 0 ? fm.n_layers : 28;
        tg_model_layout lay = tg_model_layout_default(fam, n_layers, 0);
        for (int bi = 0; bi < cfg->n_benches; bi++)
            if (check_prompt(cfg, rm, &cfg->benches[bi], err, err_len)) return -1;
        for (int k = 0; k < cfg->n_methods; k++) {
            const run_method *m = &cfg->methods[k];
            if (reg_method_no_ratio(m->name)) {
                if (check_method(cfg, rm, &lay, m, 1.0, err, err_len)) return -1;
                continue;
            }
            int n_r = 0;
            const double *rs = run_model_ratios(cfg, rm, &n_r); /* a model's own list (Fig. 6) */
            for (int ri = 0; ri < n_r; ri++)
                if (check_method(cfg, rm, &lay, m, rs[ri], err, err_len)) return -1;
        }
    }
    return 0;
}

static int parse_config(const char *path, const cJSON *root, run_config *cfg, char *err, size_t err_len) {
    static const char *top_keys[] = {"name", "models", "benchmarks", "methods", "ratios", "seed", "comment", NULL};
    static const char *model_keys[] = {"name", "path", "siglip", "family", "frames", "backend", "dtype", "ratios", NULL};
    static const char *bench_keys[] = {"name", "manifest", "cache", "revision", "videos", "convention",
                                       "frame_rule", "seek", "limit", "max_new_tokens", NULL};
    static const char *method_keys[] = {"name", "label", "params", NULL};
    char where[160];
    if (!cJSON_IsObject(root)) return fail(err, err_len, "%s: not a JSON object", path);
    if (known_keys(root, top_keys, path, err, err_len)) return -1;
    snprintf(cfg->name, sizeof cfg->name, "%s", "run");
    if (get_str(root, "name", cfg->name, sizeof cfg->name, path, err, err_len)) return -1;
    if (get_int(root, "seed", 0, INT64_MAX / 2, &cfg->seed, path, err, err_len)) return -1;

    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!cJSON_IsArray(models) || cJSON_GetArraySize(models) < 1 || cJSON_GetArraySize(models) > RUN_MAX_MODELS)
        return fail(err, err_len, "%s: models must be a list of 1..%d objects", path, RUN_MAX_MODELS);
    for (const cJSON *m = models->child; m; m = m->next) {
        run_model *rm = &cfg->models[cfg->n_models];
        snprintf(where, sizeof where, "%s: models[%d]", path, cfg->n_models);
        if (!cJSON_IsObject(m) || known_keys(m, model_keys, where, err, err_len))
            return err[0] ? -1 : fail(err, err_len, "%s must be an object", where);
        snprintf(rm->family, sizeof rm->family, "llava-ov");
        snprintf(rm->backend, sizeof rm->backend, "cpu");
        snprintf(rm->dtype, sizeof rm->dtype, "auto");
        int64_t frames = 32;
        if (get_str(m, "path", rm->path, sizeof rm->path, where, err, err_len) ||
            get_str(m, "name", rm->name, sizeof rm->name, where, err, err_len) ||
            get_str(m, "siglip", rm->siglip, sizeof rm->siglip, where, err, err_len) ||
            get_str(m, "family", rm->family, sizeof rm->family, where, err, err_len) ||
            get_str(m, "backend", rm->backend, sizeof rm->backend, where, err, err_len) ||
            get_str(m, "dtype", rm->dtype, sizeof rm->dtype, where, err, err_len) ||
            get_int(m, "frames", 1, 1024, &frames, where, err, err_len))
            return -1;
        if (!rm->path[0]) return fail(err, err_len, "%s.path is required", where);
        if (!rm->name[0]) { /* name defaults to the path (truncated) */
            size_t n = strnlen(rm->path, sizeof rm->name - 1);
            memcpy(rm->name, rm->path, n);
            rm->name[n] = '\0';
        }
        tb_family fam;
        if (tb_family_parse(rm->family, &fam))
            return fail(err, err_len, "%s.family '%s' is not llava-ov, llava-video or qwen2.5-vl", where, rm->family);
        eng_backend_kind bk;
        if (eng_backend_parse(rm->backend, &bk))
            return fail(err, err_len, "%s.backend '%s' is not ref, cpu or cuda", where, rm->backend);
        eng_compute_dtype dt;
        if (eng_compute_dtype_parse(rm->dtype, &dt))
            return fail(err, err_len, "%s.dtype '%s' is not auto, fp16, bf16 or fp32", where, rm->dtype);
        rm->n_frames = (int)frames;
        const cJSON *mr = cJSON_GetObjectItemCaseSensitive(m, "ratios");
        if (mr && !cJSON_IsNull(mr)) {
            char w2[200];
            snprintf(w2, sizeof w2, "%s", where);
            if (get_ratios(mr, rm->ratios, &rm->n_ratios, w2, err, err_len)) return -1;
            rm->has_ratios = 1;
        }
        cfg->n_models++;
    }

    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(root, "benchmarks");
    if (!cJSON_IsArray(benches) || cJSON_GetArraySize(benches) < 1 || cJSON_GetArraySize(benches) > RUN_MAX_BENCHES)
        return fail(err, err_len, "%s: benchmarks must be a list of 1..%d objects", path, RUN_MAX_BENCHES);
    for (const cJSON *b = benches->child; b; b = b->next) {
        run_bench *rb = &cfg->benches[cfg->n_benches];
        snprintf(where, sizeof where, "%s: benchmarks[%d]", path, cfg->n_benches);
        if (!cJSON_IsObject(b) || known_keys(b, bench_keys, where, err, err_len))
            return err[0] ? -1 : fail(err, err_len, "%s must be an object", where);
        snprintf(rb->convention, sizeof rb->convention, "vlmevalkit");
        snprintf(rb->frame_rule, sizeof rb->frame_rule, "linspace");
        snprintf(rb->seek, sizeof rb->seek, "exact");
        snprintf(rb->revision, sizeof rb->revision, "main");
        snprintf(rb->videos, sizeof rb->videos, ".");
        int64_t limit = 0, max_new = -1;
        if (get_str(b, "name", rb->name, sizeof rb->name, where, err, err_len) ||
            get_str(b, "manifest", rb->manifest, sizeof rb->manifest, where, err, err_len) ||
            get_str(b, "cache", rb->cache, sizeof rb->cache, where, err, err_len) ||
            get_str(b, "revision", rb->revision, sizeof rb->revision, where, err, err_len) ||
            get_str(b, "videos", rb->videos, sizeof rb->videos, where, err, err_len) ||
            get_str(b, "convention", rb->convention, sizeof rb->convention, where, err, err_len) ||
            get_str(b, "frame_rule", rb->frame_rule, sizeof rb->frame_rule, where, err, err_len) ||
            get_str(b, "seek", rb->seek, sizeof rb->seek, where, err, err_len) ||
            get_int(b, "limit", 0, INT64_MAX / 2, &limit, where, err, err_len) ||
            get_int(b, "max_new_tokens", 1, 4096, &max_new, where, err, err_len))
            return -1;
        if (ds_bench_parse(rb->name, &rb->bench))
            return fail(err, err_len, "%s.name '%s' is not videomme, mvbench, longvideobench or mlvu", where,
                        rb->name);
        ds_convention conv;
        ds_sample_rule rule;
        ds_seek_mode seek;
        if (ds_convention_parse(rb->convention, &conv))
            return fail(err, err_len, "%s.convention '%s' is not one of %s", where, rb->convention, ds_convention_names());
        if (ds_sample_rule_parse(rb->frame_rule, &rule))
            return fail(err, err_len, "%s.frame_rule '%s' is not linspace, centred or interior", where,
                        rb->frame_rule);
        if (ds_seek_mode_parse(rb->seek, &seek))
            return fail(err, err_len, "%s.seek '%s' is not exact or keyframe", where, rb->seek);
        rb->limit = limit;
        /* lmms-eval generates 32 tokens for LongVideoBench, 16 elsewhere (users.md §3). */
        rb->max_new_tokens = max_new > 0 ? (int)max_new : rb->bench == DS_BENCH_LONGVIDEOBENCH ? 32 : 16;
        cfg->n_benches++;
    }

    const cJSON *methods = cJSON_GetObjectItemCaseSensitive(root, "methods");
    if (!cJSON_IsArray(methods) || cJSON_GetArraySize(methods) < 1 || cJSON_GetArraySize(methods) > RUN_MAX_METHODS)
        return fail(err, err_len, "%s: methods must be a list of 1..%d objects", path, RUN_MAX_METHODS);
    for (const cJSON *m = methods->child; m; m = m->next) {
        run_method *rm = &cfg->methods[cfg->n_methods];
        snprintf(where, sizeof where, "%s: methods[%d]", path, cfg->n_methods);
        if (!cJSON_IsObject(m) || known_keys(m, method_keys, where, err, err_len))
            return err[0] ? -1 : fail(err, err_len, "%s must be an object", where);
        if (get_str(m, "name", rm->name, sizeof rm->name, where, err, err_len) ||
            get_str(m, "label", rm->label, sizeof rm->label, where, err, err_len))
            return -1;
        const tg_method *desc = reg_method_find(rm->name);
        if (!desc) return fail(err, err_len, "%s.name '%s' is not a known method", where, rm->name);
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(m, "params");
        if (params && !cJSON_IsObject(params)) return fail(err, err_len, "%s.params must be an object", where);
        cfg->n_methods++; /* counted before filling so run_config_free releases partial params */
        rm->params_json = params ? cJSON_PrintUnformatted(params) : strdup("{}");
        if (!rm->params_json) return fail(err, err_len, "out of memory");
        if (method_params(params, rm, where, err, err_len)) return -1;
        /* every parameter must be one the method accepts (a typo is an error, not a default) */
        for (int q = 0; q < rm->n_kv; q++) {
            size_t kl = strcspn(rm->kv[q], "=");
            int ok = 0;
            for (const char *const *k = desc->param_keys; k && *k && !ok; k++)
                ok = strlen(*k) == kl && !strncmp(*k, rm->kv[q], kl);
            if (!ok)
                return fail(err, err_len, "%s.params: '%.*s' is not a parameter of %s", where, (int)kl, rm->kv[q],
                            rm->name);
        }
        /* two entries of one method need labels to tell their rows apart */
        for (int q = 0; q < cfg->n_methods - 1; q++)
            if (!strcmp(cfg->methods[q].name, rm->name) && !strcmp(cfg->methods[q].label, rm->label))
                return fail(err, err_len, "%s: method %s appears twice with the same label '%s'", where, rm->name,
                            rm->label);
    }

    const cJSON *ratios = cJSON_GetObjectItemCaseSensitive(root, "ratios");
    if (ratios && get_ratios(ratios, cfg->ratios, &cfg->n_ratios, path, err, err_len)) return -1;
    int some_ratios = cfg->n_ratios > 0;
    for (int i = 0; i < cfg->n_models; i++) some_ratios |= cfg->models[i].has_ratios && cfg->models[i].n_ratios > 0;
    for (int i = 0; i < cfg->n_methods; i++)
        if (!reg_method_no_ratio(cfg->methods[i].name) && !some_ratios)
            return fail(err, err_len, "%s: method %s needs at least one entry in ratios", path, cfg->methods[i].name);
    return 0;
}

int run_config_load(const char *path, run_config **out, char *err, size_t err_len) {
    *out = NULL;
    FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, err_len); /* never blocks on a FIFO */
    if (!f) return -1;
    char *text = NULL;
    long len = -1;
    if (!fseek(f, 0, SEEK_END)) len = ftell(f);
    if (len < 0 || len > (4L << 20)) {
        fclose(f);
        return fail(err, err_len, "%s: not a readable config (larger than 4 MiB?)", path);
    }
    rewind(f);
    text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        free(text);
        fclose(f);
        return fail(err, err_len, "%s: read failed", path);
    }
    fclose(f);
    text[len] = '\0';
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        free(text);
        return fail(err, err_len, "%s: malformed JSON near byte %ld", path, off);
    }
    run_config *cfg = calloc(1, sizeof *cfg);
    err[0] = '\0';
    int rc = cfg ? parse_config(path, root, cfg, err, err_len) : fail(err, err_len, "out of memory");
    cJSON_Delete(root);
    free(text);
    if (rc) {
        run_config_free(cfg);
        return -1;
    }
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    *out = cfg;
    return 0;
}
