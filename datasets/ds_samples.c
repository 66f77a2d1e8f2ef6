/* ds_samples.c - the four benchmark adapters: official records (untrusted JSON) -> ds_sample.
 *
 * Every field an adapter uses is type-checked; a record that lacks a required field or has the
 * wrong type fails the load with "<source>: record <k>: field '<name>': ...". Video paths from the
 * records are checked not to escape the videos root and are resolved with the layouts of
 * datasets.md (§2.2, §3.1/§3.2 incl. the data0613 overlay and the tvqa frame folders, §4.2, §5.2):
 * the first existing candidate wins, else the canonical one is reported.
 * Loading from the cache (written by ds_fetch) or from a local manifest file / directory. */
#include "datasets/ds_internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DS_MANIFEST_MAX ((size_t)512 << 20)

/* ============================================================================================
 * Benchmark names and task tables
 */
static const char *const bench_names[DS_BENCH_COUNT] = {"videomme", "mvbench", "longvideobench", "mlvu"};

const char *ds_bench_name(ds_bench b) { return (b >= 0 && b < DS_BENCH_COUNT) ? bench_names[b] : NULL; }

int ds_bench_parse(const char *name, ds_bench *out) {
    if (!name) return -1;
    for (int i = 0; i < DS_BENCH_COUNT; i++)
        if (!strcmp(name, bench_names[i])) {
            *out = (ds_bench)i;
            return 0;
        }
    return -1;
}

int ds_convention_parse(const char *name, ds_convention *out) {
    if (name && !strcmp(name, "vlmevalkit")) *out = DS_CONV_VLMEVALKIT;
    else if (name && !strcmp(name, "lmms-eval")) *out = DS_CONV_LMMS_EVAL;
    else return -1;
    return 0;
}

/* MVBench tasks in VLMEvalKit order: json stem, main-branch dir, frame folder?, video-branch dir. */
typedef struct {
    const char *task, *dir_main;
    int frames;
    const char *dir_video;
} mvb_task;

static const mvb_task mvb_tasks[] = {
    {"action_sequence", "star/Charades_v1_480/", 0, "star/Charades_segment/"},
    {"action_prediction", "star/Charades_v1_480/", 0, "star/Charades_segment/"},
    {"action_antonym", "ssv2_video/", 0, "ssv2_video_mp4/"},
    {"fine_grained_action", "Moments_in_Time_Raw/videos/", 0, "Moments_in_Time_Raw/videos/"},
    {"unexpected_action", "FunQA_test/test/", 0, "FunQA_test/test/"},
    {"object_existence", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"object_interaction", "star/Charades_v1_480/", 0, "star/Charades_segment/"},
    {"object_shuffle", "perception/videos/", 0, "perception/videos/"},
    {"moving_direction", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"action_localization", "sta/sta_video/", 0, "sta/sta_video_segment/"},
    {"scene_transition", "scene_qa/video/", 0, "scene_qa/video/"},
    {"action_count", "perception/videos/", 0, "perception/videos/"},
    {"moving_count", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"moving_attribute", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"state_change", "perception/videos/", 0, "perception/videos/"},
    {"fine_grained_pose", "nturgbd/", 0, "nturgbd_convert/"},
    {"character_order", "perception/videos/", 0, "perception/videos/"},
    {"egocentric_navigation", "vlnqa/", 0, "vlnqa/"},
    {"episodic_reasoning", "tvqa/frames_fps3_hq/", 1, "tvqa/video_fps3_hq_segment/"},
    {"counterfactual_inference", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
};
#define N_MVB_TASKS (sizeof mvb_tasks / sizeof mvb_tasks[0])

/* MLVU-Dev MCQ tasks: file stem, task name. */
static const char *const mlvu_files[][2] = {
    {"1_plotQA", "plotQA"},   {"2_needle", "needle"}, {"3_ego", "ego"},
    {"4_count", "count"},     {"5_order", "order"},   {"6_anomaly_reco", "anomaly_reco"},
    {"7_topic_reasoning", "topic_reasoning"},
};
#define N_MLVU_FILES (sizeof mlvu_files / sizeof mlvu_files[0])

size_t ds_remote_files(ds_bench b, const char **paths, const char **tasks, size_t max) {
    static char mvb_paths[N_MVB_TASKS][64];
    static char mlvu_paths[N_MLVU_FILES][64];
    size_t n = 0;
    if (b == DS_BENCH_MVBENCH) {
        for (size_t i = 0; i < N_MVB_TASKS && n < max; i++, n++) {
            snprintf(mvb_paths[i], sizeof mvb_paths[i], "json/%s.json", mvb_tasks[i].task);
            paths[n] = mvb_paths[i];
            tasks[n] = mvb_tasks[i].task;
        }
    } else if (b == DS_BENCH_MLVU) {
        for (size_t i = 0; i < N_MLVU_FILES && n < max; i++, n++) {
            snprintf(mlvu_paths[i], sizeof mlvu_paths[i], "MLVU/json/%s.json", mlvu_files[i][0]);
            paths[n] = mlvu_paths[i];
            tasks[n] = mlvu_files[i][0];
        }
    } else if (b == DS_BENCH_LONGVIDEOBENCH && max) {
        paths[0] = "lvb_val.json";
        tasks[0] = NULL;
        n = 1;
    }
    return n;
}

/* ============================================================================================
 * Sample set
 */
size_t ds_sample_set_count(const ds_sample_set *set) { return set ? set->n : 0; }

const ds_sample *ds_sample_set_get(const ds_sample_set *set, size_t i) {
    return (set && i < set->n) ? &set->items[i] : NULL;
}

const char *ds_sample_category(const ds_sample *s, const char *key) {
    if (!s || !key) return NULL;
    for (int i = 0; i < s->n_categories && i < DS_MAX_CATEGORIES; i++)
        if (s->category_keys[i] && !strcmp(s->category_keys[i], key)) return s->category_values[i];
    return NULL;
}

static void sample_clear(ds_sample *s) {
    free(s->id);
    free(s->video);
    free(s->video_rel);
    free(s->question);
    free(s->task);
    free(s->error);
    for (int i = 0; i < DS_MAX_OPTIONS; i++) {
        free(s->options[i]);
        free(s->options_raw[i]);
    }
    for (int i = 0; i < DS_MAX_CATEGORIES; i++) free(s->category_values[i]);
    memset(s, 0, sizeof *s);
}

void ds_sample_set_free(ds_sample_set *set) {
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) sample_clear(&set->items[i]);
    free(set->items);
    free(set);
}

static int set_push(ds_sample_set *set, ds_sample *s) {
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        ds_sample *it = realloc(set->items, cap * sizeof *it);
        if (!it) return DS_ERR_NOMEM;
        set->items = it;
        set->cap = cap;
    }
    set->items[set->n++] = *s;
    memset(s, 0, sizeof *s);
    return DS_OK;
}

ds_load_params ds_load_default_params(void) {
    ds_load_params p = {.cache_dir = NULL, .revision = NULL, .manifest = NULL, .videos_root = NULL};
    return p;
}

/* ============================================================================================
 * Typed field access with messages naming the field
 */
typedef struct {
    const char *source;
    size_t index;
    char *err;
    size_t err_len;
} rctx;

static const char *json_type_name(const cJSON *v) {
    if (!v) return "nothing";
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsObject(v)) return "object";
    return "invalid";
}

static int field_err(const rctx *c, const char *field, const char *what, const cJSON *v) {
    return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field '%s': %s (got %s)", c->source, c->index,
                   field, what, json_type_name(v));
}

static int get_str(const rctx *c, const cJSON *rec, const char *field, int required, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    *out = NULL;
    if (!v && !required) return DS_OK;
    if (!cJSON_IsString(v) || !v->valuestring) return field_err(c, field, v ? "expected a string" : "missing", v);
    *out = v->valuestring;
    return DS_OK;
}

static int get_num(const rctx *c, const cJSON *rec, const char *field, int required, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    *out = NAN;
    if (!v && !required) return DS_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return field_err(c, field, v ? "expected a finite number" : "missing", v);
    *out = v->valuedouble;
    return DS_OK;
}

static int get_int(const rctx *c, const cJSON *rec, const char *field, int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi) {
        char what[96];
        snprintf(what, sizeof what, "%s integer in [%lld, %lld]", v ? "expected an" : "missing,", (long long)lo,
                 (long long)hi);
        return field_err(c, field, what, v);
    }
    *out = (int64_t)v->valuedouble;
    return DS_OK;
}

/* Copies a JSON array of 2..DS_MAX_OPTIONS strings into s->options. */
static int get_options(const rctx *c, const cJSON *rec, const char *field, ds_sample *s) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    if (!cJSON_IsArray(v)) return field_err(c, field, v ? "expected an array of strings" : "missing", v);
    int n = cJSON_GetArraySize(v);
    if (n < 2 || n > DS_MAX_OPTIONS) {
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field '%s': %d options, expected 2..%d",
                       c->source, c->index, field, n, DS_MAX_OPTIONS);
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e) || !e->valuestring) {
            char f[96];
            snprintf(f, sizeof f, "%s[%d]", field, i);
            return field_err(c, f, "expected a string", e);
        }
        s->options[i] = ds_strdup(e->valuestring);
        if (!s->options[i]) return DS_ERR_NOMEM;
        i++;
    }
    s->n_options = n;
    return DS_OK;
}

static int add_cat(ds_sample *s, const char *key, const char *value) {
    if (s->n_categories >= DS_MAX_CATEGORIES) return DS_OK;
    char *v = ds_strdup(value);
    if (!v) return DS_ERR_NOMEM;
    s->category_keys[s->n_categories] = key;
    s->category_values[s->n_categories++] = v;
    return DS_OK;
}

/* Letter of `answer` among the options (exact text match; the last match when a candidate text
 * repeats, as VLMEvalKit's qa_template loop does), or a schema error. */
static int answer_letter(const rctx *c, ds_sample *s, const char *answer, const char *field) {
    for (int i = s->n_options - 1; i >= 0; i--)
        if (!strcmp(s->options[i], answer)) {
            s->gold = (char)('A' + i);
            return DS_OK;
        }
    return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field '%s': answer is not one of the candidates",
                   c->source, c->index, field);
}

/* ============================================================================================
 * Video path resolution
 */
/* Sets s->video / s->video_rel to the first candidate (relative to root) that exists, else to
 * the first candidate. */
static int resolve_video(ds_sample *s, const char *root, const char *const *rels, int n) {
    int pick = 0;
    char *abs = NULL;
    for (int i = 0; i < n; i++) {
        char *p = ds_path_join(root, rels[i]);
        if (!p) return DS_ERR_NOMEM;
        if (ds_exists(p)) {
            pick = i;
            abs = p;
            break;
        }
        free(p);
    }
    if (!abs) abs = ds_path_join(root, rels[0]);
    if (!abs) return DS_ERR_NOMEM;
    s->video = abs;
    s->video_rel = ds_strdup(rels[pick]);
    return s->video_rel ? DS_OK : DS_ERR_NOMEM;
}

static char *cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *r = malloc(la + lb + lc + 1);
    if (!r) return NULL;
    memcpy(r, a, la);
    memcpy(r + la, b, lb);
    memcpy(r + la + lb, c, lc + 1);
    return r;
}

static int resolve_list(ds_sample *s, const char *root, char **rels, int n) {
    for (int i = 0; i < n; i++)
        if (!rels[i]) {
            for (int j = 0; j < n; j++) free(rels[j]);
            return DS_ERR_NOMEM;
        }
    int st = resolve_video(s, root, (const char *const *)rels, n);
    for (int j = 0; j < n; j++) free(rels[j]);
    return st;
}

/* ============================================================================================
 * Adapters
 */
typedef struct {
    ds_bench bench;
    const char *task;     /* file stem (mvbench, mlvu) */
    const char *root;     /* videos root */
    int video_branch;     /* mvbench revision "video" */
    size_t index;         /* record index within its file */
    int keep_bad;         /* ds_load_params.keep_bad_records */
} actx;

static int adapt_videomme(const rctx *c, const actx *a, const cJSON *rec, ds_sample *s) {
    const char *qid, *dur, *domain, *subcat, *vid, *task, *q, *ans, *tmp;
    int st;
    if ((st = get_str(c, rec, "question_id", 1, &qid)) || (st = get_str(c, rec, "duration", 1, &dur)) ||
        (st = get_str(c, rec, "domain", 1, &domain)) || (st = get_str(c, rec, "sub_category", 1, &subcat)) ||
        (st = get_str(c, rec, "videoID", 1, &vid)) || (st = get_str(c, rec, "task_type", 1, &task)) ||
        (st = get_str(c, rec, "question", 1, &q)) || (st = get_str(c, rec, "answer", 1, &ans)) ||
        (st = get_str(c, rec, "video_id", 1, &tmp)) || (st = get_str(c, rec, "url", 0, &tmp)))
        return st;
    if (strcmp(dur, "short") && strcmp(dur, "medium") && strcmp(dur, "long"))
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA,
                       "%s: record %zu: field 'duration': '%s' is not short, medium or long", c->source, c->index, dur);
    if ((st = get_options(c, rec, "options", s))) return st;
    /* options are stored "A. text": keep the raw strings for the prompt, strip for the sample */
    for (int i = 0; i < s->n_options; i++) {
        char *o = s->options[i];
        if (o[0] != 'A' + i || o[1] != '.')
            return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA,
                           "%s: record %zu: field 'options[%d]': expected the prefix \"%c.\"", c->source, c->index, i,
                           'A' + i);
        s->options_raw[i] = o;
        s->options[i] = ds_strdup(o + (o[2] == ' ' ? 3 : 2));
        if (!s->options[i]) return DS_ERR_NOMEM;
    }
    if (strlen(ans) != 1 || ans[0] < 'A' || ans[0] >= 'A' + s->n_options)
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field 'answer': '%s' is not an option letter",
                       c->source, c->index, ans);
    s->gold = ans[0];
    if ((st = ds_check_rel_path(vid, "videoID", c->err, c->err_len))) return st;
    if (strchr(vid, '/'))
        return ds_fail(c->err, c->err_len, DS_ERR_PATH, "%s: record %zu: field 'videoID': '%s' is not a file stem",
                       c->source, c->index, vid);
    static const char *const dirs[] = {"", "video/", "data/"};
    static const char *const exts[] = {".mp4", ".MP4", ".mkv", ".MKV", ".webm", ".mov", ".avi"};
    char *rels[21];
    int n = 0;
    for (size_t d = 0; d < 3; d++)
        for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) rels[n++] = cat3(dirs[d], vid, exts[e]);
    if ((st = resolve_list(s, a->root, rels, n))) return st;
    s->id = ds_strdup(qid);
    s->question = ds_strdup(q);
    if (!s->id || !s->question) return DS_ERR_NOMEM;
    if ((st = add_cat(s, "duration", dur)) || (st = add_cat(s, "domain", domain)) ||
        (st = add_cat(s, "sub_category", subcat)) || (st = add_cat(s, "task_type", task)))
        return st;
    return DS_OK;
}

static int adapt_mvbench(const rctx *c, const actx *a, const cJSON *rec, ds_sample *s) {
    const char *video, *q, *ans;
    int st;
    if ((st = get_str(c, rec, "video", 1, &video)) || (st = get_str(c, rec, "question", 1, &q)) ||
        (st = get_str(c, rec, "answer", 1, &ans)) || (st = get_options(c, rec, "candidates", s)) ||
        (st = answer_letter(c, s, ans, "answer")) || (st = get_num(c, rec, "start", 0, &s->start)) ||
        (st = get_num(c, rec, "end", 0, &s->end)))
        return st;
    if (isnan(s->start) != isnan(s->end))
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field '%s': present without '%s'", c->source,
                       c->index, isnan(s->start) ? "end" : "start", isnan(s->start) ? "start" : "end");
    if (!isnan(s->start) && (s->start < 0 || s->end <= s->start))
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field 'end': bounds [%g, %g] are empty",
                       c->source, c->index, s->start, s->end);
    if ((st = ds_check_rel_path(video, "video", c->err, c->err_len))) return st;
    const mvb_task *t = NULL;
    for (size_t i = 0; i < N_MVB_TASKS; i++)
        if (!strcmp(mvb_tasks[i].task, a->task)) t = &mvb_tasks[i];
    if (t) {
        const char *dir = a->video_branch ? t->dir_video : t->dir_main;
        if (a->video_branch) {
            char *rels[] = {cat3(dir, video, ""), cat3("video/", dir, video)};
            st = resolve_list(s, a->root, rels, 2);
        } else {
            char *rels[] = {cat3("video/", dir, video), cat3("video/data0613/", dir, video),
                            cat3("data0613/", dir, video), cat3(dir, video, "")};
            /* the data0613 overlay replaces the original clip: check it first */
            char *order[] = {rels[1], rels[2], rels[0], rels[3]};
            int pick = -1;
            for (int i = 0; i < 4 && pick < 0; i++) {
                char *p = order[i] ? ds_path_join(a->root, order[i]) : NULL;
                if (p && ds_exists(p)) pick = i;
                free(p);
            }
            if (pick > 0) { /* move the existing one first so resolve_video picks it */
                char *tmp = order[0];
                order[0] = order[pick];
                order[pick] = tmp;
            } else if (pick < 0) { /* nothing exists: canonical is video/<dir><video> */
                char *tmp = order[0];
                order[0] = order[2];
                order[2] = tmp;
            }
            st = resolve_list(s, a->root, order, 4);
            s->video_is_frames = t->frames;
            s->frames_fps = t->frames ? 3.0 : 0.0;
        }
    } else {
        char *rels[] = {cat3(video, "", ""), cat3(a->task, "/", video)};
        st = resolve_list(s, a->root, rels, 2);
    }
    if (st) return st;
    char idbuf[256];
    snprintf(idbuf, sizeof idbuf, "%s_%zu", a->task, a->index);
    s->id = ds_strdup(idbuf);
    s->question = ds_strdup(q);
    s->task = ds_strdup(a->task);
    if (!s->id || !s->question || !s->task) return DS_ERR_NOMEM;
    return add_cat(s, "task", a->task);
}

static int adapt_lvb(const rctx *c, const actx *a, const cJSON *rec, ds_sample *s) {
    const char *vid, *q, *id, *vpath, *qcat, *topic, *level;
    int64_t cc, dg;
    int st;
    if ((st = get_str(c, rec, "video_id", 1, &vid)) || (st = get_str(c, rec, "question", 1, &q)) ||
        (st = get_str(c, rec, "id", 1, &id)) || (st = get_str(c, rec, "video_path", 1, &vpath)) ||
        (st = get_str(c, rec, "question_category", 1, &qcat)) || (st = get_str(c, rec, "topic_category", 0, &topic)) ||
        (st = get_str(c, rec, "level", 0, &level)) || (st = get_options(c, rec, "candidates", s)) ||
        (st = get_int(c, rec, "correct_choice", 0, s->n_options - 1, &cc)) ||
        (st = get_int(c, rec, "duration_group", 0, 1000000, &dg)) || (st = get_num(c, rec, "duration", 0, &s->duration)))
        return st;
    s->gold = (char)('A' + cc);
    s->start = s->end = NAN;
    if ((st = ds_check_rel_path(vpath, "video_path", c->err, c->err_len))) return st;
    char *rels[] = {cat3("videos/", vpath, ""), cat3(vpath, "", "")};
    if ((st = resolve_list(s, a->root, rels, 2))) return st;
    s->id = ds_strdup(id);
    s->question = ds_strdup(q);
    if (!s->id || !s->question) return DS_ERR_NOMEM;
    char dgs[32];
    snprintf(dgs, sizeof dgs, "%lld", (long long)dg);
    if ((st = add_cat(s, "duration_group", dgs)) || (st = add_cat(s, "question_category", qcat))) return st;
    if (topic && (st = add_cat(s, "topic_category", topic))) return st;
    if (level && (st = add_cat(s, "level", level))) return st;
    return DS_OK;
}

static int adapt_mlvu(const rctx *c, const actx *a, const cJSON *rec, ds_sample *s) {
    const char *video, *q, *ans, *qt;
    int st;
    if ((st = get_str(c, rec, "video", 1, &video)) || (st = get_str(c, rec, "question", 1, &q)) ||
        (st = get_str(c, rec, "answer", 1, &ans)) || (st = get_str(c, rec, "question_type", 0, &qt)) ||
        (st = get_num(c, rec, "duration", 0, &s->duration)) || (st = get_options(c, rec, "candidates", s)) ||
        (st = answer_letter(c, s, ans, "answer")))
        return st;
    s->start = s->end = NAN;
    if ((st = ds_check_rel_path(video, "video", c->err, c->err_len))) return st;
    const char *task = a->task;
    for (size_t i = 0; i < N_MLVU_FILES; i++)
        if (!strcmp(mlvu_files[i][0], a->task)) task = mlvu_files[i][1];
    char *dir = cat3(a->task, "/", "");
    if (!dir) return DS_ERR_NOMEM;
    char *rels[] = {cat3("MLVU/video/", dir, video), cat3("video/", dir, video), cat3(dir, video, "")};
    free(dir);
    if ((st = resolve_list(s, a->root, rels, 3))) return st;
    char idbuf[256];
    snprintf(idbuf, sizeof idbuf, "%s_%zu", task, a->index);
    s->id = ds_strdup(idbuf);
    s->question = ds_strdup(q);
    s->task = ds_strdup(task);
    if (!s->id || !s->question || !s->task) return DS_ERR_NOMEM;
    return add_cat(s, "task", task);
}

/* ============================================================================================
 * Parsing a JSON text of records
 */
static int adapt_one(ds_bench b, const rctx *c, const actx *a, const cJSON *rec, ds_sample_set *set) {
    ds_sample s;
    memset(&s, 0, sizeof s);
    s.bench = b;
    s.start = s.end = s.duration = NAN;
    int st;
    if (!cJSON_IsObject(rec)) {
        st = ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: expected an object (got %s)", c->source,
                     c->index, json_type_name(rec));
    } else {
        switch (b) {
        case DS_BENCH_VIDEOMME: st = adapt_videomme(c, a, rec, &s); break;
        case DS_BENCH_MVBENCH: st = adapt_mvbench(c, a, rec, &s); break;
        case DS_BENCH_LONGVIDEOBENCH: st = adapt_lvb(c, a, rec, &s); break;
        case DS_BENCH_MLVU: st = adapt_mlvu(c, a, rec, &s); break;
        default: st = DS_ERR_ARG;
        }
    }
    if (st == DS_ERR_NOMEM) ds_fail(c->err, c->err_len, st, "out of memory");
    if ((st == DS_ERR_SCHEMA || st == DS_ERR_PATH) && a->keep_bad) {
        /* keep the bad record as a failed sample: the run records it and goes on */
        sample_clear(&s);
        s.bench = b;
        s.start = s.end = s.duration = NAN;
        char id[512];
        snprintf(id, sizeof id, "%s#%zu", c->source, c->index);
        s.id = ds_strndup(id, strlen(id));
        s.error = ds_strndup(c->err, strlen(c->err));
        st = s.id && s.error ? DS_OK : DS_ERR_NOMEM;
    }
    if (st == DS_OK) st = set_push(set, &s);
    if (st != DS_OK) sample_clear(&s);
    return st;
}

/* videomme rows-API page: validates the page envelope and yields the row objects in row_idx order. */
static int rows_page_records(const cJSON *page, const char *source, cJSON ***out, size_t *n_out, char *err,
                             size_t err_len) {
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(page, "rows");
    if (!cJSON_IsArray(rows))
        return ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'rows': expected an array (got %s)", source,
                       json_type_name(rows));
    size_t n = (size_t)cJSON_GetArraySize(rows);
    cJSON **recs = calloc(n ? n : 1, sizeof *recs);
    int64_t *idx = calloc(n ? n : 1, sizeof *idx);
    if (!recs || !idx) {
        free(recs);
        free(idx);
        return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r, "row_idx");
        const cJSON *row = cJSON_GetObjectItemCaseSensitive(r, "row");
        if (!cJSON_IsNumber(ri) || ri->valuedouble < 0 || ri->valuedouble != floor(ri->valuedouble) ||
            !cJSON_IsObject(row)) {
            free(recs);
            free(idx);
            return ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: rows[%zu]: field '%s': expected %s", source, k,
                           cJSON_IsNumber(ri) ? "row" : "row_idx", cJSON_IsNumber(ri) ? "an object" : "an integer");
        }
        /* insertion by row_idx (pages are small) */
        size_t j = k;
        while (j > 0 && idx[j - 1] > (int64_t)ri->valuedouble) {
            idx[j] = idx[j - 1];
            recs[j] = recs[j - 1];
            j--;
        }
        idx[j] = (int64_t)ri->valuedouble;
        recs[j] = (cJSON *)row;
        k++;
    }
    free(idx);
    *out = recs;
    *n_out = n;
    return DS_OK;
}

int ds_samples_parse(ds_bench bench, const char *json, size_t json_len, const char *task, const char *source,
                     const ds_load_params *p, ds_sample_set **io_set, char *err, size_t err_len) {
    if (bench < 0 || bench >= DS_BENCH_COUNT || !json || !io_set)
        return ds_fail(err, err_len, DS_ERR_ARG, "ds_samples_parse: bad arguments");
    if ((bench == DS_BENCH_MVBENCH || bench == DS_BENCH_MLVU) && (!task || !*task))
        return ds_fail(err, err_len, DS_ERR_ARG, "%s: a task name is needed for %s records", source, ds_bench_name(bench));
    ds_load_params lp = p ? *p : ds_load_default_params();
    const char *rev = lp.revision ? lp.revision : "main";
    actx a = {.bench = bench, .task = task, .root = lp.videos_root ? lp.videos_root : ".",
              .video_branch = !strcmp(rev, "video"), .keep_bad = lp.keep_bad_records};
    int created = 0;
    if (!*io_set) {
        *io_set = calloc(1, sizeof **io_set);
        if (!*io_set) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        created = 1;
    }
    ds_sample_set *set = *io_set;
    size_t n_before = set->n;
    rctx c = {.source = source ? source : "manifest", .index = 0, .err = err, .err_len = err_len};
    int st = DS_OK;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, json_len, &end, 0);
    size_t rest = doc ? json_len - (size_t)(end - json) : 0;
    while (rest && (end[0] == ' ' || end[0] == '\n' || end[0] == '\r' || end[0] == '\t' || end[0] == '\0')) {
        end++;
        rest--;
    }
    if (doc && cJSON_IsArray(doc) && rest == 0) {
        const cJSON *rec;
        cJSON_ArrayForEach(rec, doc) {
            a.index = c.index;
            if ((st = adapt_one(bench, &c, &a, rec, set))) break;
            c.index++;
        }
    } else if (doc && cJSON_IsObject(doc) && rest == 0 && cJSON_GetObjectItemCaseSensitive(doc, "rows")) {
        cJSON **recs = NULL;
        size_t n = 0;
        const cJSON *partial = cJSON_GetObjectItemCaseSensitive(doc, "partial");
        if (cJSON_IsTrue(partial)) st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'partial' is true", c.source);
        else st = rows_page_records(doc, c.source, &recs, &n, err, err_len);
        for (size_t i = 0; st == DS_OK && i < n; i++) {
            a.index = c.index;
            st = adapt_one(bench, &c, &a, recs[i], set);
            c.index++;
        }
        free(recs);
    } else if (doc && cJSON_IsObject(doc)) {
        /* JSON Lines: one object per line */
        cJSON_Delete(doc);
        doc = NULL;
        const char *q = json, *qe = json + json_len;
        while (st == DS_OK && q < qe) {
            const char *nl = memchr(q, '\n', (size_t)(qe - q));
            size_t ll = nl ? (size_t)(nl - q) : (size_t)(qe - q);
            size_t w = 0;
            while (w < ll && (q[w] == ' ' || q[w] == '\t' || q[w] == '\r')) w++;
            if (w < ll) {
                cJSON *rec = cJSON_ParseWithLength(q, ll);
                if (!rec) {
                    st = ds_fail(err, err_len, DS_ERR_JSON, "%s: line %zu: malformed JSON", c.source, c.index + 1);
                } else {
                    a.index = c.index;
                    st = adapt_one(bench, &c, &a, rec, set);
                    cJSON_Delete(rec);
                    c.index++;
                }
            }
            q += ll + 1;
        }
    } else if (doc) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: expected a JSON array of records (got %s)", c.source,
                     json_type_name(doc));
    } else {
        size_t off = end ? (size_t)(end - json) : 0;
        st = ds_fail(err, err_len, DS_ERR_JSON, "%s: malformed JSON near byte %zu", c.source, off);
    }
    cJSON_Delete(doc);
    if (st == DS_OK && set->n == n_before && json_len > 0) {
        /* an empty list is legal but suspicious; keep it legal */
    }
    if (st != DS_OK) {
        while (set->n > n_before) sample_clear(&set->items[--set->n]);
        if (created) {
            ds_sample_set_free(set);
            *io_set = NULL;
        }
    }
    return st;
}

/* ============================================================================================
 * Loading from files, directories and the cache
 */
static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* task = file stem (without .json / .jsonl) */
static char *file_stem(const char *path) {
    const char *b = base_name(path);
    const char *dot = strrchr(b, '.');
    return ds_strndup(b, dot ? (size_t)(dot - b) : strlen(b));
}

static int load_file(ds_bench bench, const char *path, const char *task, const ds_load_params *p, ds_sample_set **set,
                     char *err, size_t err_len) {
    char *data = NULL;
    size_t len = 0;
    int st = ds_read_file(path, DS_MANIFEST_MAX, &data, &len, err, err_len);
    if (st) return st;
    char *stem = NULL;
    if (!task) {
        stem = file_stem(path);
        if (!stem) {
            free(data);
            return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        }
        task = stem;
    }
    ds_sample_set *before = *set;
    st = ds_samples_parse(bench, data, len, task, path, p, set, err, err_len);
    if (st && before) *set = before;
    free(stem);
    free(data);
    return st;
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted *.json (and *.jsonl) names in dir. */
static int list_json(const char *dir, char ***out, size_t *n_out, char *err, size_t err_len) {
    DIR *d = opendir(dir);
    if (!d) return ds_fail(err, err_len, DS_ERR_IO, "cannot open directory %s", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int st = DS_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (!has_suffix(e->d_name, ".json") && !has_suffix(e->d_name, ".jsonl")) continue;
        if (!strcmp(e->d_name, "manifest.json") || !strcmp(e->d_name, "test.json")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = DS_ERR_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = ds_strdup(e->d_name))) {
            st = DS_ERR_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (st) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return ds_fail(err, err_len, st, "out of memory");
    }
    if (n) qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    *n_out = n;
    return DS_OK;
}

static int load_dir(ds_bench bench, const char *dir_in, const ds_load_params *p, ds_sample_set **set, char *err,
                    size_t err_len) {
    char **names = NULL;
    size_t n = 0;
    char *dir = ds_strdup(dir_in);
    if (!dir) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    int st = list_json(dir, &names, &n, err, err_len);
    /* official layouts keep the task files under json/ (or MLVU/json/) */
    static const char *const subs[] = {"json", "MLVU/json"};
    for (size_t k = 0; st == DS_OK && n == 0 && k < 2; k++) {
        char *sub = ds_path_join(dir_in, subs[k]);
        if (!sub) {
            st = DS_ERR_NOMEM;
            break;
        }
        if (ds_is_dir(sub)) {
            free(names);
            names = NULL;
            free(dir);
            dir = sub;
            st = list_json(dir, &names, &n, err, err_len);
        } else {
            free(sub);
        }
    }
    if (st) {
        free(dir);
        return st;
    }
    if (n == 0) {
        free(dir);
        free(names);
        return ds_fail(err, err_len, DS_ERR_NOT_CACHED, "%s: no .json manifest files in this directory", dir_in);
    }
    char *used = calloc(n, 1);
    if (!used) st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    /* official task order first */
    const char *order[32];
    size_t n_order = 0;
    if (bench == DS_BENCH_MVBENCH)
        for (size_t i = 0; i < N_MVB_TASKS; i++) order[n_order++] = mvb_tasks[i].task;
    if (bench == DS_BENCH_MLVU)
        for (size_t i = 0; i < N_MLVU_FILES; i++) order[n_order++] = mlvu_files[i][0];
    if (bench == DS_BENCH_LONGVIDEOBENCH) order[n_order++] = "lvb_val";
    for (size_t pass = 0; st == DS_OK && pass <= n_order; pass++) {
        for (size_t i = 0; st == DS_OK && i < n; i++) {
            if (used[i]) continue;
            if (pass < n_order) {
                char *stem = file_stem(names[i]);
                int match = stem && !strcmp(stem, order[pass]);
                free(stem);
                if (!match) continue;
            } else if (bench == DS_BENCH_LONGVIDEOBENCH && n_order && ds_sample_set_count(*set) > 0) {
                break; /* lvb_val.json found: ignore other json files (e.g. lvb_test_wo_gt.json) */
            }
            used[i] = 1;
            char *path = ds_path_join(dir, names[i]);
            if (!path) {
                st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
                break;
            }
            st = load_file(bench, path, NULL, p, set, err, err_len);
            free(path);
        }
    }
    free(used);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(dir);
    return st;
}

const char *ds_default_cache_dir(void) {
    static char buf[1024];
    const char *e = getenv("TB_CACHE");
    if (e && *e) return e;
    e = getenv("XDG_CACHE_HOME");
    if (e && *e) {
        snprintf(buf, sizeof buf, "%s/tango-bench", e);
        return buf;
    }
    e = getenv("HOME");
    if (e && *e) {
        snprintf(buf, sizeof buf, "%s/.cache/tango-bench", e);
        return buf;
    }
    return ".tango-bench-cache";
}

int ds_samples_load(ds_bench bench, const ds_load_params *p, ds_sample_set **out, char *err, size_t err_len) {
    if (!out) return ds_fail(err, err_len, DS_ERR_ARG, "ds_samples_load: out is NULL");
    *out = NULL;
    if (bench < 0 || bench >= DS_BENCH_COUNT) return ds_fail(err, err_len, DS_ERR_ARG, "unknown benchmark");
    ds_load_params lp = p ? *p : ds_load_default_params();
    ds_sample_set *set = calloc(1, sizeof *set);
    if (!set) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    int st;
    if (lp.manifest) {
        if (ds_is_dir(lp.manifest)) st = load_dir(bench, lp.manifest, &lp, &set, err, err_len);
        else st = load_file(bench, lp.manifest, NULL, &lp, &set, err, err_len);
    } else {
        const char *cache = lp.cache_dir ? lp.cache_dir : ds_default_cache_dir();
        const char *rev = lp.revision ? lp.revision : "main";
        char **paths = NULL, **tasks = NULL;
        size_t n = 0;
        st = ds_cache_files(bench, cache, rev, &paths, &tasks, &n, 0, err, err_len);
        for (size_t i = 0; st == DS_OK && i < n; i++) st = load_file(bench, paths[i], tasks[i], &lp, &set, err, err_len);
        for (size_t i = 0; i < n; i++) {
            free(paths[i]);
            free(tasks[i]);
        }
        free(paths);
        free(tasks);
    }
    if (st) {
        ds_sample_set_free(set);
        return st;
    }
    *out = set;
    return DS_OK;
}
