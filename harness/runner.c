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
#include "harness/commands.h"
#include "harness/registry.h"
#include "harness/session.h"
#include "store/store.h"
#include "tango/pruner.h"
#include "common/clock.h"

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

void run_config_print(const run_config *cfg, FILE *out) {
    fprintf(out, "config %s (%s): %d runs\n", cfg->path, cfg->name, run_config_n_runs(cfg));
    for (int i = 0; i < cfg->n_models; i++)
        fprintf(out, "  model %s: %s (%s, %d frames, %s)\n", cfg->models[i].name, cfg->models[i].path,
                cfg->models[i].family, cfg->models[i].n_frames, cfg->models[i].backend);
    for (int i = 0; i < cfg->n_benches; i++) {
        const run_bench *b = &cfg->benches[i];
        fprintf(out, "  benchmark %s: %s%s, videos %s, %s prompts, %s frames, %d new tokens\n", b->name,
                b->manifest[0] ? "manifest " : "cache revision ", b->manifest[0] ? b->manifest : b->revision, b->videos,
                b->convention, b->frame_rule, b->max_new_tokens);
    }
    for (int i = 0; i < cfg->n_methods; i++) {
        fprintf(out, "  method %s %s at", cfg->methods[i].name, cfg->methods[i].params_json);
        if (reg_method_no_ratio(cfg->methods[i].name)) fprintf(out, " 100%%");
        else
            for (int k = 0; k < cfg->n_ratios; k++) fprintf(out, " %g%%", 100 * cfg->ratios[k]);
        fputc('\n', out);
    }
}

int run_config_n_runs(const run_config *cfg) {
    int per = 0;
    for (int i = 0; i < cfg->n_methods; i++) per += reg_method_no_ratio(cfg->methods[i].name) ? 1 : cfg->n_ratios;
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
        tb_family fam;
        if (tb_family_parse(rm->family, &fam))
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
        if (!reg_method_find(rm->name)) return fail(err, err_len, "%s.name '%s' is not a known method", where, rm->name);
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
        if (!reg_method_no_ratio(cfg->methods[i].name) && cfg->n_ratios == 0)
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
    double el = tb_now_s() - pr->t_start;
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
    run_session *l = NULL;
    ds_sample_set *set = NULL;
    size_t *picked = NULL;
    run_slot *slots = NULL;
    run_progress pr = {.p = p, .t_start = tb_now_s(), .tty = p->progress};
    char code_version[128];
    snprintf(code_version, sizeof code_version, "tango-bench %s (git %s)", TB_VERSION, TB_GIT_REV);

    for (int mi = 0; mi < cfg->n_models; mi++) {
        const run_model *m = &cfg->models[mi];
        run_model_spec ms = run_model_spec_default();
        ms.path = m->path;
        ms.siglip = m->siglip[0] ? m->siglip : NULL;
        ms.family = m->family;
        ms.backend = m->backend;
        ms.n_frames = m->n_frames;
        if (run_session_open(&ms, &l, err, err_len)) goto out;
        if (p->log_prefix)
            fprintf(stderr, "%s: model %s: %s, %d LLM layers, %d frames (LLM loads in this process: %zu)\n",
                    p->log_prefix, m->name, run_session_family(l), run_session_llm_layers(l), run_session_frames(l),
                    eng_llm_load_count());
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
                     run_session_image_size(l));
            snprintf(decoder, sizeof decoder, "ffmpeg,seek=%s", b->seek);
            for (int k = 0; k < cfg->n_methods; k++) {
                int is_full = reg_method_no_ratio(cfg->methods[k].name);
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
                    rs.weights_digest = run_session_digest(l);
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

            for (size_t pi = 0; pi < n_pick; pi++) {
                const ds_sample *s = ds_sample_set_get(set, picked[pi]);
                char *cats = NULL;
                for (int k = 0; k < n_slots; k++) {
                    run_slot *sl = &slots[k];
                    int done;
                    if (db_sample_done(db, sl->key, s->id, &done)) {
                        free(cats);
                        fail(err, err_len, "%s", db_errmsg(db));
                        goto out;
                    }
                    if (done) {
                        stats->n_skipped++;
                        pr.done++;
                        continue;
                    }
                    if (!cats) cats = categories_json(s);
                    run_answer_params ap = run_answer_default_params();
                    ap.method = sl->method->name;
                    ap.ratio = sl->ratio;
                    ap.params = (const char *const *)sl->method->kv;
                    ap.n_params = sl->method->n_kv;
                    ap.seed = (uint64_t)cfg->seed;
                    ds_convention_parse(b->convention, &ap.convention);
                    ap.frame_rule = b->frame_rule;
                    ap.seek = b->seek;
                    ap.max_new_tokens = b->max_new_tokens;
                    run_answer o;
                    run_session_answer(l, s, &ap, &o);
                    char gold[2] = {s->gold, 0}; /* "" for a bad record */
                    char parsed[2] = {o.letter, 0};
                    db_sample_result r = {
                        .sample_id = s->id, .video_id = s->video_rel ? s->video_rel : s->video,
                        .categories_json = cats, .error = o.error[0] ? o.error : NULL, .raw_output = o.raw,
                        .parsed = o.letter ? parsed : NULL, .gold = gold, .correct = o.correct,
                        .parse_failed = o.parse_failed, .n_visual_in = o.n_visual_in, .n_text = o.n_text,
                        .n_layers = o.error[0] ? 0 : o.n_layers, .visual_per_layer = o.visual_per_layer,
                        .flops = o.flops, .equiv_retention = o.retention, .peak_bytes = peak_rss_bytes(),
                        .method_json = o.method_json,
                    };
                    memcpy(r.ms, o.ms, sizeof r.ms);
                    int put = db_sample_put(db, sl->key, &r);
                    if (!put && !sl->quirks_recorded && !o.error[0]) { /* first pruned sample names them */
                        put = db_run_set_quirks(db, sl->key, o.quirks);
                        sl->quirks_recorded = 1;
                    }
                    run_answer_free(&o);
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
            for (int k = 0; k < n_slots; k++)
                if (db_run_finish(db, slots[k].key, DB_RUN_OK)) {
                    fail(err, err_len, "%s", db_errmsg(db));
                    goto out;
                }
            free(slots), slots = NULL;
            free(picked), picked = NULL;
            ds_sample_set_free(set), set = NULL;
        }
        run_session_free(l);
        l = NULL;
    }
    progress_show(&pr, "done", 1);
    rc = 0;
out:
    free(slots);
    free(picked);
    ds_sample_set_free(set);
    run_session_free(l);
    db_close(db);
    return rc;
}
