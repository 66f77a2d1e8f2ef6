/* runner.c - the experiment runner (see runner.h; the config is parsed in run_config.c).
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
#include <time.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "datasets/video.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "harness/commands.h"
#include "harness/peak_mem.h"
#include "harness/registry.h"
#include "harness/run_config.h"
#include "harness/session.h"
#include "store/store.h"
#include "tango/pruner.h"
#include "common/clock.h"

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
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

/* The sample's option texts as a JSON array (what rescoring under another convention needs), or
 * NULL for a record that did not validate. Caller frees. */
static char *options_json(const ds_sample *s) {
    if (s->error || s->n_options <= 0) return NULL;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < s->n_options; i++) cJSON_AddItemToArray(a, cJSON_CreateString(s->options[i] ? s->options[i] : ""));
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
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
    /* peak_bytes is each sample's own peak where the platform can reset the high-water mark, else
     * the process's; the run names which (peak_mem.h) */
    peak_mem_kind peak_kind = peak_mem_probe();
    char code_version[160];
    snprintf(code_version, sizeof code_version, "tango-bench %s (git %s) peak_bytes=%s", TB_VERSION, TB_GIT_REV,
             peak_mem_kind_name(peak_kind));

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
            int n_mr = 0;
            const double *mratios = run_model_ratios(cfg, m, &n_mr);
            slots = calloc((size_t)cfg->n_methods * (size_t)(n_mr + 1), sizeof *slots);
            if (!slots) {
                fail(err, err_len, "out of memory");
                goto out;
            }
            char frame_policy[128], decoder[96];
            if (!strcmp(run_session_family(l), "qwen2.5-vl")) /* qwen-vl-utils sampling at 448^2 */
                snprintf(frame_policy, sizeof frame_policy, "n=%d,rule=qwen,max_pixels=200704", m->n_frames);
            else
                snprintf(frame_policy, sizeof frame_policy, "n=%d,rule=%s,size=%d", m->n_frames, b->frame_rule,
                         run_session_image_size(l));
            snprintf(decoder, sizeof decoder, "ffmpeg,seek=%s", b->seek);
            /* the manifest by content, never by path: a moved copy keeps its runs, an edited
             * record starts new ones; a cache entry also by its revision name */
            char revision[160];
            snprintf(revision, sizeof revision, "%s%ssha256:%s", b->manifest[0] ? "" : b->revision,
                     b->manifest[0] ? "" : "@", ds_sample_set_content_sha256(set));
            ds_convention conv = DS_CONV_VLMEVALKIT;
            ds_convention_parse(b->convention, &conv);
            char aggregate[512];
            if (ds_aggregate_describe(conv, b->bench, aggregate, sizeof aggregate)) {
                fail(err, err_len, "benchmark %s: aggregation rule too long", b->name);
                goto out;
            }
            for (int k = 0; k < cfg->n_methods; k++) {
                int is_full = reg_method_no_ratio(cfg->methods[k].name);
                for (int r = 0; r < (is_full ? 1 : n_mr); r++) {
                    run_slot *sl = &slots[n_slots++];
                    sl->method = &cfg->methods[k];
                    sl->ratio = is_full ? 1.0 : mratios[r];
                    /* params as recorded: the method's own plus the target ratio, model family,
                     * convention, token budget (all of which change answers) */
                    cJSON *pj = cJSON_Parse(sl->method->params_json);
                    if (!pj) {
                        fail(err, err_len, "out of memory");
                        goto out;
                    }
                    if (!is_full) cJSON_AddNumberToObject(pj, "ratio", sl->ratio);
                    if (sl->method->label[0]) cJSON_AddStringToObject(pj, "label", sl->method->label);
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
                    rs.revision = revision;
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
                    rs.convention = b->convention;
                    rs.aggregate = aggregate;
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
                char *cats = NULL, *opts = NULL;
                for (int k = 0; k < n_slots; k++) {
                    run_slot *sl = &slots[k];
                    int done;
                    if (db_sample_done(db, sl->key, s->id, &done)) {
                        free(cats), free(opts);
                        fail(err, err_len, "%s", db_errmsg(db));
                        goto out;
                    }
                    if (done) {
                        stats->n_skipped++;
                        pr.done++;
                        continue;
                    }
                    if (!cats) cats = categories_json(s);
                    if (!opts) opts = options_json(s);
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
                    int peak_ok = peak_kind == PEAK_MEM_PROCESS || peak_mem_reset() == 0;
                    run_session_answer(l, s, &ap, &o);
                    int64_t peak = peak_ok ? peak_mem_read(peak_kind) : 0; /* 0: not measured */
                    char gold[2] = {s->gold, 0}; /* "" for a bad record */
                    char parsed[2] = {o.letter, 0};
                    db_sample_result r = {
                        .sample_id = s->id, .video_id = s->video_rel ? s->video_rel : s->video,
                        .categories_json = cats, .error = o.error[0] ? o.error : NULL, .raw_output = o.raw,
                        .parsed = o.letter ? parsed : NULL, .gold = gold, .correct = o.correct,
                        .parse_failed = o.parse_failed, .n_visual_in = o.n_visual_in, .n_text = o.n_text,
                        .n_layers = o.error[0] ? 0 : o.n_layers, .visual_per_layer = o.visual_per_layer,
                        .flops = o.flops, .equiv_retention = o.retention, .peak_bytes = peak,
                        .method_json = o.method_json, .score_set = 1, .score = o.score, .options_json = opts,
                    };
                    memcpy(r.ms, o.ms, sizeof r.ms);
                    int put = db_sample_put(db, sl->key, &r);
                    if (!put && !sl->quirks_recorded && !o.error[0]) { /* first pruned sample names them */
                        put = db_run_set_quirks(db, sl->key, o.quirks);
                        sl->quirks_recorded = 1;
                    }
                    run_answer_free(&o);
                    if (put) {
                        free(cats), free(opts);
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
                free(cats), free(opts);
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
