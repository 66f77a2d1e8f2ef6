/* runner.c - the experiment runner (see runner.h).
 *
 * Per model: load the vision side, the LLM and the tokenizer once. Per benchmark: load the
 * samples, open one store run per (method, ratio), then for each sample that some run still
 * lacks: decode its frames, encode them (tower, projector, pooling, saliency taps), and for each
 * pending run prune, assemble the visual block, build the prompt, prefill (executing the
 * method's in-LLM plan), generate, score and store. Decode and vision time are measured once per
 * sample and recorded in every run that used them: they are what that run would have paid
 * alone. The realised visual-token count per layer comes from the engine (what actually ran),
 * and FLOPs and the equivalent retention are computed from it. */
#include "harness/runner.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "datasets/video.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "engine/tokenizer.h"
#include "harness/commands.h"
#include "harness/flops.h"
#include "harness/store.h"
#include "tango/pruner.h"

#define RUN_MAX_MODELS 8
#define RUN_MAX_BENCHES 8
#define RUN_MAX_METHODS 32
#define RUN_MAX_RATIOS 16
#define RUN_MAX_PARAMS 32
#define RUN_PATH 1024

typedef struct {
    char name[128];
    char path[RUN_PATH];
    char siglip[RUN_PATH]; /* "" = DIR/siglip when present */
    char family[16];       /* llava-ov | llava-video */
    int n_frames;
    char backend[8];
} run_model;

typedef struct {
    char name[32];
    ds_bench bench;
    char manifest[RUN_PATH];
    char cache[RUN_PATH];
    char revision[64];
    char videos[RUN_PATH];
    char convention[16];
    char frame_rule[16];
    char seek[16];
    int64_t limit;
    int max_new_tokens;
} run_bench;

typedef struct {
    char name[32];
    char *params_json;               /* canonical parameters object (owned) */
    char *kv[RUN_MAX_PARAMS];        /* "key=value" strings for the pruner (owned) */
    int n_kv;
} run_method;

struct run_config {
    char path[RUN_PATH];
    char name[128];
    run_model models[RUN_MAX_MODELS];
    int n_models;
    run_bench benches[RUN_MAX_BENCHES];
    int n_benches;
    run_method methods[RUN_MAX_METHODS];
    int n_methods;
    double ratios[RUN_MAX_RATIOS];
    int n_ratios;
    int64_t seed;
};

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- config -------------------------------------------------------------------------------- */

/* Copies src to dst expanding ${VAR} and ${VAR:-default}. Returns 0, or -1 when the result does
 * not fit or a reference is unterminated or names an unset variable without a default. */
static int expand_env(const char *src, char *dst, size_t n, char *bad, size_t bad_len) {
    size_t j = 0;
    for (const char *p = src; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) {
                snprintf(bad, bad_len, "unterminated ${ in '%s'", src);
                return -1;
            }
            char name[128];
            const char *colon = strstr(p + 2, ":-");
            const char *name_end = colon && colon < end ? colon : end;
            snprintf(name, sizeof name, "%.*s", (int)(name_end - (p + 2)), p + 2);
            const char *val = getenv(name);
            char def[RUN_PATH] = "";
            if (colon && colon < end) snprintf(def, sizeof def, "%.*s", (int)(end - colon - 2), colon + 2);
            if (!val || !*val) {
                if (!(colon && colon < end)) {
                    snprintf(bad, bad_len, "environment variable %s is not set (in '%s')", name, src);
                    return -1;
                }
                val = def;
            }
            size_t len = strlen(val);
            if (j + len >= n) goto too_long;
            memcpy(dst + j, val, len);
            j += len;
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

int run_config_n_runs(const run_config *cfg) {
    int per = 0;
    for (int i = 0; i < cfg->n_methods; i++) per += strcmp(cfg->methods[i].name, "full") ? cfg->n_ratios : 1;
    return cfg->n_models * cfg->n_benches * per;
}

static int parse_config(const char *path, const cJSON *root, run_config *cfg, char *err, size_t err_len) {
    static const char *top_keys[] = {"name", "models", "benchmarks", "methods", "ratios", "seed", "comment", NULL};
    static const char *model_keys[] = {"name", "path", "siglip", "family", "frames", "backend", NULL};
    static const char *bench_keys[] = {"name", "manifest", "cache", "revision", "videos", "convention",
                                       "frame_rule", "seek", "limit", "max_new_tokens", NULL};
    static const char *method_keys[] = {"name", "params", NULL};
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
        int64_t frames = 32;
        if (get_str(m, "path", rm->path, sizeof rm->path, where, err, err_len) ||
            get_str(m, "name", rm->name, sizeof rm->name, where, err, err_len) ||
            get_str(m, "siglip", rm->siglip, sizeof rm->siglip, where, err, err_len) ||
            get_str(m, "family", rm->family, sizeof rm->family, where, err, err_len) ||
            get_str(m, "backend", rm->backend, sizeof rm->backend, where, err, err_len) ||
            get_int(m, "frames", 1, 1024, &frames, where, err, err_len))
            return -1;
        if (!rm->path[0]) return fail(err, err_len, "%s.path is required", where);
        if (!rm->name[0]) { /* name defaults to the path (truncated) */
            size_t n = strnlen(rm->path, sizeof rm->name - 1);
            memcpy(rm->name, rm->path, n);
            rm->name[n] = '\0';
        }
        ds_family fam;
        if (ds_family_parse(rm->family, &fam))
            return fail(err, err_len, "%s.family '%s' is not llava-ov or llava-video", where, rm->family);
        eng_backend_kind bk;
        if (eng_backend_parse(rm->backend, &bk))
            return fail(err, err_len, "%s.backend '%s' is not ref, cpu or cuda", where, rm->backend);
        rm->n_frames = (int)frames;
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
            return fail(err, err_len, "%s.convention '%s' is not vlmevalkit or lmms-eval", where, rb->convention);
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
        if (get_str(m, "name", rm->name, sizeof rm->name, where, err, err_len)) return -1;
        if (!tg_method_find(rm->name)) return fail(err, err_len, "%s.name '%s' is not a known method", where, rm->name);
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(m, "params");
        if (params && !cJSON_IsObject(params)) return fail(err, err_len, "%s.params must be an object", where);
        cfg->n_methods++; /* counted before filling so run_config_free releases partial params */
        rm->params_json = params ? cJSON_PrintUnformatted(params) : strdup("{}");
        if (!rm->params_json) return fail(err, err_len, "out of memory");
        if (method_params(params, rm, where, err, err_len)) return -1;
    }

    const cJSON *ratios = cJSON_GetObjectItemCaseSensitive(root, "ratios");
    if (ratios && (!cJSON_IsArray(ratios) || cJSON_GetArraySize(ratios) > RUN_MAX_RATIOS))
        return fail(err, err_len, "%s: ratios must be a list of at most %d numbers", path, RUN_MAX_RATIOS);
    for (const cJSON *r = ratios ? ratios->child : NULL; r; r = r->next) {
        if (!cJSON_IsNumber(r) || !(r->valuedouble > 0) || r->valuedouble > 1)
            return fail(err, err_len, "%s: ratios[%d] must be a number in (0, 1]", path, cfg->n_ratios);
        cfg->ratios[cfg->n_ratios++] = r->valuedouble;
    }
    for (int i = 0; i < cfg->n_methods; i++)
        if (strcmp(cfg->methods[i].name, "full") && cfg->n_ratios == 0)
            return fail(err, err_len, "%s: method %s needs at least one entry in ratios", path, cfg->methods[i].name);
    return 0;
}

int run_config_load(const char *path, run_config **out, char *err, size_t err_len) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, err_len, "%s: cannot open: %s", path, strerror(errno));
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

run_params run_default_params(void) {
    return (run_params){.db_path = "results.db", .shard_index = 0, .shard_count = 1, .progress = 0,
                        .log_prefix = "tango-bench run"};
}

int run_shard_of(const char *sample_id, int n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)sample_id; *p; p++) h = (h ^ *p) * 0x100000001b3ULL;
    return n > 1 ? (int)(h % (uint64_t)n) : 0;
}

/* ---- execution ----------------------------------------------------------------------------- */

/* One store run of the grid for the current (model, benchmark). */
typedef struct {
    const run_method *method;
    double ratio;              /* target equivalent retention (1 for full) */
    char key[DB_KEY_LEN + 1];
    char params_json[2048];    /* method params + ratio, as recorded */
    int quirks_recorded;       /* the run's active quirks are in the store */
} run_slot;

/* Everything loaded once per model. */
typedef struct {
    eng_model *vision;
    eng_llm *llm;
    eng_llm_state *state;
    tok_tokenizer *tok;
    eng_vision_info vinfo;
    eng_llm_info linfo;
    fl_model fl;
    int64_t n_ctx;
} run_loaded;

static void loaded_free(run_loaded *l) {
    eng_llm_state_free(l->state);
    eng_llm_free(l->llm);
    eng_model_free(l->vision);
    tok_free(l->tok);
    memset(l, 0, sizeof *l);
}

static int load_model(const run_model *m, run_loaded *l, char *err, size_t err_len) {
    memset(l, 0, sizeof *l);
    char e[1024];
    eng_model_params mp = eng_model_default_params();
    eng_backend_parse(m->backend, &mp.backend);
    if (m->siglip[0]) mp.siglip_path = m->siglip;
    if (!(l->vision = eng_model_load(m->path, &mp, e, sizeof e))) return fail(err, err_len, "%s", e);
    eng_model_vision_info(l->vision, &l->vinfo);
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = mp.backend;
    if (!(l->llm = eng_llm_load(m->path, &lp, e, sizeof e))) goto fail_e;
    eng_llm_get_info(l->llm, &l->linfo);
    if (!(l->tok = tok_load(m->path, e, sizeof e))) goto fail_e;
    /* The real checkpoints carry more embedding rows than the tokenizer has ids: greedy decoding
     * only ever picks a tokenizer id (spec §6.3, quirk pipeline.vocab_shrink). */
    int32_t vs = tok_vocab_size(l->tok);
    if (vs > 0 && vs < l->linfo.vocab) {
        eng_llm_free(l->llm);
        lp.vocab_limit = vs;
        if (!(l->llm = eng_llm_load(m->path, &lp, e, sizeof e))) goto fail_e;
        eng_llm_get_info(l->llm, &l->linfo);
    }
    /* Worst case context: every pooled token of every frame plus a newline per row, the prompt
     * and the answer. */
    int64_t grid = l->vinfo.grid - l->vinfo.grid / 2; /* ceil(G/2) >= floor(G/2) */
    l->n_ctx = (int64_t)m->n_frames * grid * (grid + 1) + 2048;
    if (!(l->state = eng_llm_state_init(l->llm, l->n_ctx, e, sizeof e))) goto fail_e;
    l->fl = (fl_model){.n_layers = l->linfo.n_layers, .d = l->linfo.hidden, .m = l->linfo.intermediate,
                       .n_heads = l->linfo.n_heads, .n_kv_heads = l->linfo.n_kv_heads, .vocab = (int)l->linfo.vocab};
    snprintf(l->fl.name, sizeof l->fl.name, "%.63s", m->name);
    return 0;
fail_e:
    loaded_free(l);
    return fail(err, err_len, "%s", e);
}

/* The saliency each method's spec names: the mean attention received in the last vision layer
 * for VisionZip and HoliTom, the SigLIP attention-pooling head for the others (Tango, FastVID,
 * the attention top-k control). */
static int wants_received_attention(const char *method) {
    return !strcmp(method, "visionzip") || !strcmp(method, "holitom");
}

/* Per-sample work shared by every run. */
typedef struct {
    ds_frames frames;
    eng_vision_out vis;
    float *timestamps;   /* [T] float seconds */
    double decode_ms, vision_ms;
    double duration_s;   /* of the whole video (the LLaVA-Video prompt states it) */
    char error[1024];    /* non-empty: the sample failed before pruning */
} run_sample_work;

/* Equal, NaN included (absent clip bounds). */
static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static void work_free(run_sample_work *w) {
    ds_frames_free(&w->frames);
    eng_vision_out_free(&w->vis);
    free(w->timestamps);
    memset(w, 0, sizeof *w);
}

static void prepare_sample(const run_model *m, const run_bench *b, run_loaded *l, const ds_sample *s,
                           run_sample_work *w) {
    memset(w, 0, sizeof *w);
    char e[1024];
    double t0 = now_s();
    ds_video_t *v = NULL;
    if (ds_video_open(s->video, s->video_is_frames ? s->frames_fps : 0.0, &v, e, sizeof e)) {
        snprintf(w->error, sizeof w->error, "%s", e);
        return;
    }
    ds_video_params vp = ds_video_default_params();
    vp.n_frames = m->n_frames;
    ds_sample_rule_parse(b->frame_rule, &vp.rule);
    ds_seek_mode_parse(b->seek, &vp.seek);
    vp.size = l->vinfo.image_size;
    if (!isnan(s->start) && !isnan(s->end)) {
        vp.clip = 1;
        vp.start_s = s->start;
        vp.end_s = s->end;
    }
    ds_video_info info;
    ds_video_get_info(v, &info);
    w->duration_s = info.duration_s;
    int rc = ds_video_sample(v, &vp, &w->frames, e, sizeof e);
    ds_video_free(v);
    if (rc) {
        snprintf(w->error, sizeof w->error, "%s", e);
        return;
    }
    double t1 = now_s();
    eng_encode_params ep = eng_encode_default_params();
    ep.keep_hidden = 0;
    ep.keep_projected = 0;
    /* VLMEvalKit runs LLaVA-Video with average pooling whatever the config says (quirk
     * pipeline.video_pool_average). */
    if (!strcmp(m->family, "llava-video")) ep.pool = ENG_VPOOL_AVERAGE;
    if (eng_vision_encode(l->vision, w->frames.pixels, w->frames.n, &ep, &w->vis, e, sizeof e) != ENG_OK) {
        snprintf(w->error, sizeof w->error, "%s", e);
        return;
    }
    double t2 = now_s();
    w->decode_ms = 1e3 * (t1 - t0);
    w->vision_ms = 1e3 * (t2 - t1);
    w->timestamps = malloc((size_t)w->frames.n * sizeof *w->timestamps);
    if (!w->timestamps) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return;
    }
    for (int i = 0; i < w->frames.n; i++) w->timestamps[i] = (float)w->frames.timestamps[i];
}

/* 1 when the method takes the --set key. */
static int method_accepts(const tg_method *m, const char *key) {
    for (const char *const *k = m->param_keys; k && *k; k++)
        if (!strcmp(*k, key)) return 1;
    return 0;
}

/* Maps a pruner's in-LLM plan onto the engine's. protect [n_seq] receives the mask of newline
 * rows when the method's span excludes them (they are then always kept, never scored). */
static void map_plan(const tg_prune_output *out, eng_llm_plan *ep, uint8_t *protect) {
    const tg_llm_plan *tp = &out->plan;
    *ep = eng_llm_plan_default();
    if (!tp->enabled) return;
    ep->layer = tp->layer;
    ep->keep_count = tp->n_keep;
    ep->select = tp->score_all_queries ? ENG_PLAN_SELECT_ATTN_MEAN : ENG_PLAN_SELECT_ATTN;
    switch (tp->merge) {
    case TG_PLAN_MERGE_COSINE_FOLD: ep->merge = ENG_PLAN_MERGE_WEIGHTED; break;
    case TG_PLAN_MERGE_PAIRWISE_SEQ: ep->merge = ENG_PLAN_MERGE_PAIRWISE; break;
    default: ep->merge = ENG_PLAN_MERGE_NONE; break;
    }
    ep->merge_weight = (float)tp->w_keep;
    ep->merge_pool_weight = (float)tp->w_pool;
    ep->pos = tp->positions == TG_PLAN_POS_CONTIGUOUS ? ENG_PLAN_POS_RENUMBER : ENG_PLAN_POS_KEEP;
    ep->bidirectional_prev = !tp->score_causal_mask;
    if (!tp->span_includes_newlines && out->n_newlines > 0) {
        for (int64_t i = 0; i < out->n_seq; i++) protect[i] = out->order[i] == TG_NEWLINE;
        ep->protect = protect;
    }
}

/* The outcome of one (sample, run). */
typedef struct {
    char error[1024];
    char *raw;           /* generated text (owned) */
    char parsed[2];
    int correct, parse_failed;
    int64_t n_visual_in, n_text;
    int n_layers;
    int64_t visual_per_layer[TG_MAX_LAYERS];
    double flops, retention;
    double prune_ms, prefill_ms, generate_ms;
    char *method_json;   /* the method's resolved knobs and accounting (owned) */
    char quirks[512];    /* active quirks, comma separated */
} run_outcome;

static void run_one(const run_config *cfg, const run_model *m, const run_bench *b, run_loaded *l,
                    const ds_sample *s, const run_sample_work *w, const run_slot *slot, run_outcome *o) {
    memset(o, 0, sizeof *o);
    char e[768];
    tg_prune_output out = {0};
    float *block = NULL;
    int64_t *pos = NULL;
    uint8_t *protect = NULL;
    char *user = NULL, *content = NULL;
    tok_ids ids = {0};
    int32_t *gen32 = NULL;
    int64_t *ids64 = NULL, gen[4096];
    const eng_vision_out *vis = &w->vis;
    int64_t T = vis->n_frames, L = vis->n_pooled, D = vis->d_model, G = vis->grid_pooled;

    /* prune */
    const char *kv[RUN_MAX_PARAMS + 3];
    int n_kv = 0;
    char model_kv[48];
    snprintf(model_kv, sizeof model_kv, "model=%s", m->family);
    kv[n_kv++] = model_kv;
    const tg_method *method = tg_method_find(slot->method->name);
    char layers_kv[32];
    /* the model's real depth, so in-LLM stages and the Eq. 1 accounting match what runs */
    if (method_accepts(method, "layers")) {
        snprintf(layers_kv, sizeof layers_kv, "layers=%d", l->linfo.n_layers);
        kv[n_kv++] = layers_kv;
    }
    for (int k = 0; k < slot->method->n_kv; k++) kv[n_kv++] = slot->method->kv[k];
    tg_prune_input in = tg_prune_input_default();
    in.features = vis->pooled;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = in.grid_w = G;
    in.timestamps = w->timestamps;
    in.saliency_recv = vis->pooled_layer_attn;
    in.saliency = wants_received_attention(slot->method->name) || !vis->pooled_attn ? vis->pooled_layer_attn
                                                                                     : vis->pooled_attn;
    in.frame_global = vis->frame_global;
    in.global_dim = vis->frame_global ? vis->d_vision : 0;
    in.keys = vis->pooled_keys;
    in.key_dim = vis->pooled_keys ? vis->head_dim : 0;
    in.ratio = slot->ratio;
    in.seed = (uint64_t)cfg->seed;
    in.params = kv;
    in.n_params = n_kv;
    double t0 = now_s();
    if (method->run(&in, &out, e, sizeof e) != TG_OK) {
        snprintf(o->error, sizeof o->error, "%s: %s", slot->method->name, e);
        goto out;
    }
    o->prune_ms = 1e3 * (now_s() - t0);
    if (out.params_json) o->method_json = strdup(out.params_json);
    for (int q = 0, off = 0; q < out.n_quirks && off < (int)sizeof o->quirks; q++)
        off += snprintf(o->quirks + off, sizeof o->quirks - (size_t)off, "%s%s", q ? "," : "", out.quirks[q]);

    /* the visual block in LLM order: kept vectors and newline tokens */
    const float *newline = eng_llm_image_newline(l->llm);
    block = malloc((size_t)(out.n_seq ? out.n_seq : 1) * (size_t)D * sizeof *block);
    protect = malloc((size_t)(out.n_seq ? out.n_seq : 1));
    if (!block || !protect) {
        snprintf(o->error, sizeof o->error, "out of memory");
        goto out;
    }
    int contiguous = 1;
    for (int64_t i = 0; i < out.n_seq; i++) {
        float *dst = block + i * D;
        if (out.order[i] == TG_NEWLINE) {
            if (!newline) {
                snprintf(o->error, sizeof o->error, "%s: the method emits newline tokens, the checkpoint has none",
                         slot->method->name);
                goto out;
            }
            memcpy(dst, newline, (size_t)D * sizeof *dst);
        } else {
            /* kept[] is ascending: binary search the row of this flat index */
            int64_t lo = 0, hi = out.n_kept - 1, row = -1;
            while (lo <= hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (out.kept[mid] == out.order[i]) { row = mid; break; }
                if (out.kept[mid] < out.order[i]) lo = mid + 1;
                else hi = mid - 1;
            }
            if (row < 0) {
                snprintf(o->error, sizeof o->error, "%s: order entry %lld is not a kept token", slot->method->name,
                         (long long)out.order[i]);
                goto out;
            }
            memcpy(dst, out.tokens + row * D, (size_t)D * sizeof *dst);
        }
        if (out.positions[i] != i) contiguous = 0;
    }

    /* prompt */
    ds_prompt_params pp = ds_prompt_default_params();
    ds_family_parse(m->family, &pp.family);
    ds_convention_parse(b->convention, &pp.convention);
    ds_video_time vt = {.duration_s = w->duration_s, .frame_height = w->frames.height, .n_frames = w->frames.n,
                        .frame_times = w->frames.timestamps};
    if (!(user = ds_prompt_user(s, &pp, &vt, e, sizeof e))) {
        snprintf(o->error, sizeof o->error, "prompt: %s", e);
        goto out;
    }
    size_t clen = strlen(user) + 16;
    content = malloc(clen);
    if (!content) goto oom;
    snprintf(content, clen, "<image>\n%s", user);
    if (tok_chat_encode(l->tok, content, &ids, e, sizeof e)) {
        snprintf(o->error, sizeof o->error, "tokenizer: %s", e);
        goto out;
    }
    ids64 = malloc((ids.n ? ids.n : 1) * sizeof *ids64);
    if (!ids64) goto oom;
    int64_t ph = -1;
    for (size_t i = 0; i < ids.n; i++) {
        ids64[i] = ids.v[i];
        if (ids.v[i] == TOK_IMAGE_ID) ph = (int64_t)i;
    }
    if (ph < 0) {
        snprintf(o->error, sizeof o->error, "prompt has no <image> placeholder");
        goto out;
    }
    o->n_text = (int64_t)ids.n - 1;
    if (o->n_text + out.n_seq + b->max_new_tokens > l->n_ctx) {
        snprintf(o->error, sizeof o->error, "sequence of %lld tokens exceeds the context of %lld",
                 (long long)(o->n_text + out.n_seq), (long long)l->n_ctx);
        goto out;
    }
    /* Position ids: the method's own (gaps allowed) inside the visual block, text after it
     * continuing from the block's last position. */
    if (!contiguous) {
        if (!(pos = malloc((size_t)(out.n_seq + (int64_t)ids.n) * sizeof *pos))) goto oom;
        int64_t k = 0, last = ph - 1;
        for (int64_t i = 0; i < ph; i++) pos[k++] = i;
        for (int64_t i = 0; i < out.n_seq; i++) {
            pos[k++] = ph + out.positions[i];
            if (ph + out.positions[i] > last) last = ph + out.positions[i];
        }
        for (size_t i = (size_t)ph + 1; i < ids.n; i++) pos[k++] = ++last;
    }

    /* prefill + generate */
    eng_llm_plan plan;
    map_plan(&out, &plan, protect);
    eng_llm_prefill_params fp = eng_llm_prefill_default_params();
    fp.ids = ids64;
    fp.n_ids = (int64_t)ids.n;
    fp.visual = block;
    fp.n_visual = out.n_seq;
    fp.pos = contiguous ? NULL : pos;
    fp.plan = plan.layer > 0 ? &plan : NULL;
    eng_llm_prefill_out po;
    if (eng_llm_prefill(l->state, &fp, &po, e, sizeof e) != ENG_OK) {
        snprintf(o->error, sizeof o->error, "prefill: %s", e);
        goto out;
    }
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = b->max_new_tokens;
    int64_t n_gen = 0;
    if (eng_llm_generate(l->state, &gp, gen, (int64_t)(sizeof gen / sizeof gen[0]), &n_gen, e, sizeof e) != ENG_OK) {
        snprintf(o->error, sizeof o->error, "generate: %s", e);
        goto out;
    }
    eng_llm_timings tm;
    eng_llm_get_timings(l->state, &tm);
    o->prefill_ms = 1e3 * tm.prefill_s;
    o->generate_ms = 1e3 * tm.decode_s;
    gen32 = malloc((size_t)(n_gen ? n_gen : 1) * sizeof *gen32);
    if (!gen32) goto oom;
    for (int64_t i = 0; i < n_gen; i++) gen32[i] = (int32_t)gen[i];
    size_t raw_len = 0;
    if (!(o->raw = tok_decode(l->tok, gen32, (size_t)n_gen, 1, &raw_len, e, sizeof e))) {
        snprintf(o->error, sizeof o->error, "detokenize: %s", e);
        goto out;
    }

    /* score */
    ds_answer ans;
    if (ds_answer_score(s, pp.convention, o->raw, &ans, e, sizeof e)) {
        snprintf(o->error, sizeof o->error, "scoring: %s", e);
        goto out;
    }
    o->correct = ans.correct;
    o->parse_failed = ans.parse != DS_PARSE_OK;
    o->parsed[0] = ans.parse == DS_PARSE_OK ? ans.letter : 0;

    /* realised accounting from what the engine ran */
    o->n_visual_in = out.n_visual_full;
    o->n_layers = po.n_layers < TG_MAX_LAYERS ? po.n_layers : TG_MAX_LAYERS;
    for (int i = 0; i < o->n_layers; i++) o->visual_per_layer[i] = po.n_visual_layer[i];
    o->retention = fl_equiv_retention(o->visual_per_layer, o->n_layers, out.n_visual_full);
    l->fl.n_layers = o->n_layers;
    o->flops = fl_prefill_flops(&l->fl, o->n_text, o->visual_per_layer);
    goto out;
oom:
    snprintf(o->error, sizeof o->error, "out of memory");
out:
    tg_prune_output_free(&out);
    free(block), free(pos), free(protect), free(user), free(content), free(ids64), free(gen32);
    tok_ids_free(&ids);
}

static int64_t peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return (int64_t)ru.ru_maxrss * 1024;
}

/* Builds the categories JSON object of a sample. Caller frees. */
static char *categories_json(const ds_sample *s) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    for (int i = 0; i < s->n_categories; i++)
        cJSON_AddStringToObject(o, s->category_keys[i], s->category_values[i] ? s->category_values[i] : "");
    if (s->task && !cJSON_GetObjectItemCaseSensitive(o, "task")) cJSON_AddStringToObject(o, "task", s->task);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

typedef struct {
    const run_params *p;
    double t_start;
    int64_t total, done, correct, failed;
    int tty;
} run_progress;

static void progress_show(run_progress *pr, const char *what, int final) {
    if (!pr->p->log_prefix) return; /* quiet */
    double el = now_s() - pr->t_start;
    double rate = el > 0 ? (double)pr->done / el : 0;
    double eta = rate > 0 ? (double)(pr->total - pr->done) / rate : 0;
    int64_t scored = pr->done - pr->failed;
    double acc = scored > 0 ? 100.0 * (double)pr->correct / (double)scored : 0;
    if (pr->tty) {
        fprintf(stderr, "\r%s: %lld/%lld results  acc %.1f%%  failed %lld  %.2f/s  ETA %.0fs  %-40.40s%s",
                pr->p->log_prefix, (long long)pr->done, (long long)pr->total, acc, (long long)pr->failed, rate, eta,
                what, final ? "\n" : "");
    } else if (final || pr->done % 10 == 0) {
        fprintf(stderr, "%s: %lld/%lld results, acc %.1f%%, failed %lld, %.2f/s, ETA %.0fs (%s)\n",
                pr->p->log_prefix, (long long)pr->done, (long long)pr->total, acc, (long long)pr->failed, rate, eta,
                what);
    }
}

int run_execute(const run_config *cfg, const run_params *p, run_stats *stats, char *err, size_t err_len) {
    memset(stats, 0, sizeof *stats);
    if (p->shard_count < 1 || p->shard_index < 0 || p->shard_index >= p->shard_count)
        return fail(err, err_len, "bad shard %d/%d", p->shard_index, p->shard_count);
    char e[2048];
    db_store *db = db_open(p->db_path, e, sizeof e);
    if (!db) return fail(err, err_len, "%s", e);
    int rc = -1;
    run_loaded l = {0};
    ds_sample_set *set = NULL;
    size_t *picked = NULL;
    run_slot *slots = NULL;
    run_sample_work w; /* the decoded and encoded current video, shared by its questions */
    int have_work = 0;
    run_progress pr = {.p = p, .t_start = now_s(), .tty = p->progress};
    char code_version[128];
    snprintf(code_version, sizeof code_version, "tango-bench %s (git %s)", TB_VERSION, TB_GIT_REV);

    for (int mi = 0; mi < cfg->n_models; mi++) {
        const run_model *m = &cfg->models[mi];
        if (load_model(m, &l, err, err_len)) goto out;
        for (int bi = 0; bi < cfg->n_benches; bi++) {
            const run_bench *b = &cfg->benches[bi];
            ds_load_params lp = ds_load_default_params();
            lp.manifest = b->manifest[0] ? b->manifest : NULL;
            lp.cache_dir = b->cache[0] ? b->cache : NULL;
            lp.revision = b->revision;
            lp.videos_root = b->videos;
            lp.keep_bad_records = 1; /* a bad record is one failed sample, not a failed run */
            if (ds_samples_load(b->bench, &lp, &set, e, sizeof e)) {
                fail(err, err_len, "%s", e);
                goto out;
            }
            size_t n_all = ds_sample_set_count(set), n_pick = 0;
            picked = malloc((n_all ? n_all : 1) * sizeof *picked);
            if (!picked) {
                fail(err, err_len, "out of memory");
                goto out;
            }
            for (size_t i = 0; i < n_all; i++) {
                if (b->limit > 0 && (int64_t)i >= b->limit) break;
                const ds_sample *s = ds_sample_set_get(set, i);
                if (run_shard_of(s->id, p->shard_count) != p->shard_index) continue;
                if (p->limit > 0 && (int64_t)n_pick >= p->limit) break;
                picked[n_pick++] = i;
            }

            /* open one store run per (method, ratio) */
            int n_slots = 0;
            slots = calloc((size_t)cfg->n_methods * (size_t)(cfg->n_ratios + 1), sizeof *slots);
            if (!slots) {
                fail(err, err_len, "out of memory");
                goto out;
            }
            char frame_policy[128], decoder[96];
            snprintf(frame_policy, sizeof frame_policy, "n=%d,rule=%s,size=%d", m->n_frames, b->frame_rule,
                     l.vinfo.image_size);
            snprintf(decoder, sizeof decoder, "ffmpeg,seek=%s", b->seek);
            for (int k = 0; k < cfg->n_methods; k++) {
                int is_full = !strcmp(cfg->methods[k].name, "full");
                for (int r = 0; r < (is_full ? 1 : cfg->n_ratios); r++) {
                    run_slot *sl = &slots[n_slots++];
                    sl->method = &cfg->methods[k];
                    sl->ratio = is_full ? 1.0 : cfg->ratios[r];
                    /* params as recorded: the method's own plus the target ratio, model family,
                     * convention, token budget (all of which change answers) */
                    cJSON *pj = cJSON_Parse(sl->method->params_json);
                    if (!pj) {
                        fail(err, err_len, "out of memory");
                        goto out;
                    }
                    if (!is_full) cJSON_AddNumberToObject(pj, "ratio", sl->ratio);
                    cJSON_AddStringToObject(pj, "family", m->family);
                    cJSON_AddStringToObject(pj, "convention", b->convention);
                    cJSON_AddNumberToObject(pj, "max_new_tokens", b->max_new_tokens);
                    char *txt = cJSON_PrintUnformatted(pj);
                    cJSON_Delete(pj);
                    if (!txt || strlen(txt) >= sizeof sl->params_json) {
                        free(txt);
                        fail(err, err_len, "method %s: parameters too long", sl->method->name);
                        goto out;
                    }
                    snprintf(sl->params_json, sizeof sl->params_json, "%s", txt);
                    free(txt);
                    db_run_spec rs = db_run_spec_default();
                    rs.model = m->name;
                    rs.weights_digest = eng_model_digest(l.vision);
                    rs.benchmark = b->name;
                    rs.revision = b->manifest[0] ? b->manifest : b->revision;
                    rs.split = b->bench == DS_BENCH_MLVU ? "dev" : "val";
                    rs.frame_policy = frame_policy;
                    rs.decoder = decoder;
                    rs.method = sl->method->name;
                    rs.params_json = sl->params_json;
                    rs.compat = "official";
                    for (int q = 0; q < sl->method->n_kv; q++)
                        if (!strncmp(sl->method->kv[q], "compat=", 7)) rs.compat = sl->method->kv[q] + 7;
                    rs.seed = cfg->seed;
                    rs.code_version = code_version;
                    rs.n_expected = (int64_t)n_pick;
                    int resumed;
                    if (db_run_open(db, &rs, sl->key, &resumed)) {
                        fail(err, err_len, "%s", db_errmsg(db));
                        goto out;
                    }
                    stats->n_runs++;
                }
            }
            pr.total += (int64_t)n_pick * n_slots;
            char work_video[RUN_PATH] = "";
            double work_start = NAN, work_end = NAN;

            for (size_t pi = 0; pi < n_pick; pi++) {
                const ds_sample *s = ds_sample_set_get(set, picked[pi]);
                int pending[RUN_MAX_METHODS * (RUN_MAX_RATIOS + 1)], n_pending = 0;
                for (int k = 0; k < n_slots; k++) {
                    int done;
                    if (db_sample_done(db, slots[k].key, s->id, &done)) {
                        fail(err, err_len, "%s", db_errmsg(db));
                        goto out;
                    }
                    if (done) {
                        stats->n_skipped++;
                        pr.done++;
                    } else {
                        pending[n_pending++] = k;
                    }
                }
                if (n_pending == 0) continue;
                /* Questions about the same video (and clip) follow each other in every benchmark's
                 * records: decode and encode once, reuse for all of them. */
                int same_video = have_work && !s->error && !w.error[0] && !strcmp(work_video, s->video) &&
                                 same_double(work_start, s->start) && same_double(work_end, s->end);
                if (!same_video) {
                    if (have_work) work_free(&w);
                    have_work = 1;
                    if (s->error) {
                        memset(&w, 0, sizeof w);
                        snprintf(w.error, sizeof w.error, "%s", s->error);
                    } else {
                        prepare_sample(m, b, &l, s, &w);
                    }
                    snprintf(work_video, sizeof work_video, "%s", s->video ? s->video : "");
                    work_start = s->start;
                    work_end = s->end;
                }
                char *cats = categories_json(s);
                for (int q = 0; q < n_pending; q++) {
                    run_slot *sl = &slots[pending[q]];
                    run_outcome o;
                    if (w.error[0]) {
                        memset(&o, 0, sizeof o);
                        snprintf(o.error, sizeof o.error, "%s", w.error);
                    } else {
                        run_one(cfg, m, b, &l, s, &w, sl, &o);
                    }
                    char gold[2] = {s->gold, 0}; /* "" for a bad record */
                    db_sample_result r = {
                        .sample_id = s->id, .video_id = s->video_rel ? s->video_rel : s->video,
                        .categories_json = cats, .error = o.error[0] ? o.error : NULL, .raw_output = o.raw,
                        .parsed = o.parsed[0] ? o.parsed : NULL, .gold = gold, .correct = o.correct,
                        .parse_failed = o.parse_failed, .n_visual_in = o.n_visual_in, .n_text = o.n_text,
                        .n_layers = o.error[0] ? 0 : o.n_layers, .visual_per_layer = o.visual_per_layer,
                        .flops = o.flops, .equiv_retention = o.retention, .peak_bytes = peak_rss_bytes(),
                        .method_json = o.method_json,
                    };
                    for (int k = 0; k < DB_N_STAGES; k++) r.ms[k] = -1;
                    if (!o.error[0]) {
                        r.ms[DB_STAGE_DECODE] = w.decode_ms;
                        r.ms[DB_STAGE_VISION] = w.vision_ms;
                        r.ms[DB_STAGE_PRUNE] = o.prune_ms;
                        r.ms[DB_STAGE_PREFILL] = o.prefill_ms;
                        r.ms[DB_STAGE_GENERATE] = o.generate_ms;
                        r.ms[DB_STAGE_TOTAL] = w.decode_ms + w.vision_ms + o.prune_ms + o.prefill_ms + o.generate_ms;
                    }
                    int put = db_sample_put(db, sl->key, &r);
                    if (!put && !sl->quirks_recorded && !o.error[0]) { /* first pruned sample names them */
                        put = db_run_set_quirks(db, sl->key, o.quirks);
                        sl->quirks_recorded = 1;
                    }
                    free(o.raw);
                    free(o.method_json);
                    if (put) {
                        free(cats);
                        fail(err, err_len, "%s", db_errmsg(db));
                        goto out;
                    }
                    stats->n_written++;
                    stats->n_failed += r.error != NULL;
                    stats->n_correct += !r.error && r.correct;
                    pr.done++;
                    pr.failed += r.error != NULL;
                    pr.correct += !r.error && r.correct;
                    char what[96];
                    snprintf(what, sizeof what, "%s %s@%g %s", b->name, sl->method->name, sl->ratio, s->id);
                    progress_show(&pr, what, 0);
                }
                free(cats);
            }
            if (have_work) work_free(&w);
            have_work = 0;
            for (int k = 0; k < n_slots; k++)
                if (db_run_finish(db, slots[k].key, DB_RUN_OK)) {
                    fail(err, err_len, "%s", db_errmsg(db));
                    goto out;
                }
            free(slots), slots = NULL;
            free(picked), picked = NULL;
            ds_sample_set_free(set), set = NULL;
        }
        loaded_free(&l);
    }
    progress_show(&pr, "done", 1);
    rc = 0;
out:
    if (have_work) work_free(&w);
    free(slots);
    free(picked);
    ds_sample_set_free(set);
    loaded_free(&l);
    db_close(db);
    return rc;
}
