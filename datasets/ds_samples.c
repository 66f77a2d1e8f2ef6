/* ds_samples.c - the shared part of the benchmark adapters: benchmark names, the remote file
 * lists, the sample set, the dispatch of each record to its adapter (ds_videomme.c,
 * ds_mvbench.c, ds_lvb.c, ds_mlvu.c; typed field access and video path resolution in
 * ds_record.c), parsing a JSON text of records, and loading from the cache (written by
 * ds_fetch) or from a local manifest file / directory.
 *
 * A record that lacks a required field or has the wrong type fails the load with
 * "<source>: record <k>: field '<name>': ...", or, with keep_bad_records, becomes a failed
 * sample that the run records. */
#include "datasets/ds_adapt_internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "common/sha256.h"

#define DS_MANIFEST_MAX ((size_t)512 << 20)

/* ============================================================================================
 * Benchmark names
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

/* ============================================================================================
 * Remote files (ds_fetch.c)
 */
size_t ds_remote_files(ds_bench b, const char **paths, const char **tasks, size_t max) {
    static char mvb_paths[DS_MVBENCH_N_TASKS][64];
    static char mlvu_paths[DS_MLVU_N_FILES][64];
    size_t n = 0;
    if (b == DS_BENCH_MVBENCH) {
        for (size_t i = 0; i < DS_MVBENCH_N_TASKS && n < max; i++, n++) {
            snprintf(mvb_paths[i], sizeof mvb_paths[i], "json/%s.json", ds_mvbench_task_stem(i));
            paths[n] = mvb_paths[i];
            tasks[n] = ds_mvbench_task_stem(i);
        }
    } else if (b == DS_BENCH_MLVU) {
        for (size_t i = 0; i < DS_MLVU_N_FILES && n < max; i++, n++) {
            snprintf(mlvu_paths[i], sizeof mlvu_paths[i], "MLVU/json/%s.json", ds_mlvu_file_stem(i));
            paths[n] = mlvu_paths[i];
            tasks[n] = ds_mlvu_file_stem(i);
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

const char *ds_sample_set_content_sha256(const ds_sample_set *set) { return set ? set->content_sha256 : ""; }

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
 * Parsing a JSON text of records
 */
static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int adapt_one(ds_bench b, const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample_set *set) {
    ds_sample s;
    memset(&s, 0, sizeof s);
    s.bench = b;
    s.start = s.end = s.duration = NAN;
    int st;
    if (!cJSON_IsObject(rec)) {
        st = ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: expected an object (got %s)", c->source,
                     c->index, ds_json_type_name(rec));
    } else {
        switch (b) {
        case DS_BENCH_VIDEOMME: st = ds_adapt_videomme(c, a, rec, &s); break;
        case DS_BENCH_MVBENCH: st = ds_adapt_mvbench(c, a, rec, &s); break;
        case DS_BENCH_LONGVIDEOBENCH: st = ds_adapt_lvb(c, a, rec, &s); break;
        case DS_BENCH_MLVU: st = ds_adapt_mlvu(c, a, rec, &s); break;
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
        /* the file name without its directory: a moved manifest keeps its sample ids */
        snprintf(id, sizeof id, "%s#%zu", base_name(c->source), c->index);
        s.id = ds_strndup(id, strlen(id));
        s.error = ds_strndup(c->err, strlen(c->err));
        st = s.id && s.error ? DS_OK : DS_ERR_NOMEM;
    }
    if (st == DS_OK && (st = set_push(set, &s)) != DS_OK) ds_fail(c->err, c->err_len, st, "out of memory");
    if (st != DS_OK) sample_clear(&s);
    return st;
}

/* videomme rows-API page: validates the page envelope and yields the row objects in row_idx order. */
static int rows_page_records(const cJSON *page, const char *source, cJSON ***out, size_t *n_out, char *err,
                             size_t err_len) {
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(page, "rows");
    if (!cJSON_IsArray(rows))
        return ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'rows': expected an array (got %s)", source,
                       ds_json_type_name(rows));
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
        int64_t ri_v = -1;
        int idx_ok = cJSON_IsNumber(ri) && tb_double_to_i64(ri->valuedouble, &ri_v) && ri_v >= 0;
        if (!idx_ok || !cJSON_IsObject(row)) {
            free(recs);
            free(idx);
            return ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: rows[%zu]: field '%s': expected %s", source, k,
                           idx_ok ? "row" : "row_idx", idx_ok ? "an object" : "a non-negative integer");
        }
        /* insertion by row_idx (pages are small) */
        size_t j = k;
        while (j > 0 && idx[j - 1] > ri_v) {
            idx[j] = idx[j - 1];
            recs[j] = recs[j - 1];
            j--;
        }
        idx[j] = ri_v;
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
    ds_actx a = {.bench = bench, .task = task, .root = lp.videos_root ? lp.videos_root : ".",
              .video_branch = !strcmp(rev, "video"), .keep_bad = lp.keep_bad_records};
    int created = 0;
    if (!*io_set) {
        *io_set = calloc(1, sizeof **io_set);
        if (!*io_set) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        created = 1;
    }
    ds_sample_set *set = *io_set;
    size_t n_before = set->n;
    ds_rctx c = {.source = source ? source : "manifest", .index = 0, .err = err, .err_len = err_len};
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
                     ds_json_type_name(doc));
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

/* task = file stem (without .json / .jsonl) */
static char *file_stem(const char *path) {
    const char *b = base_name(path);
    const char *dot = strrchr(b, '.');
    return ds_strndup(b, dot ? (size_t)(dot - b) : strlen(b));
}

/* Folds one loaded file into the set's content digest: SHA-256 over the previous digest, the task
 * stem where the adapter uses it (MVBench, MLVU: it names the task and the sample ids) and the
 * file's own SHA-256. The path is left out, so a moved or copied manifest keeps its digest. */
static int chain_content(ds_sample_set *set, ds_bench bench, const char *task, const char *file_sha,
                         const char *path, char *err, size_t err_len) {
    char link[65 + 256 + 65 + 4];
    int uses_task = bench == DS_BENCH_MVBENCH || bench == DS_BENCH_MLVU;
    int n = snprintf(link, sizeof link, "%s\n%.256s\n%s", set->content_sha256, uses_task && task ? task : "", file_sha);
    if (n < 0 || (size_t)n >= sizeof link || tb_sha256_hex(link, (size_t)n, set->content_sha256))
        return ds_fail(err, err_len, DS_ERR_IO, "%s: cannot hash", path);
    return DS_OK;
}

/* want_sha: the cache manifest's sha256 of the file (NULL: a manifest given by path). The bytes
 * are hashed for the content digest anyway, so a cache file is checked against its manifest
 * entry at no extra cost: loading checks sizes and SHA-256, like fetch --offline. */
static int load_file(ds_bench bench, const char *path, const char *task, const char *want_sha,
                     const ds_load_params *p, ds_sample_set **set, char *err, size_t err_len) {
    char *data = NULL;
    size_t len = 0;
    int st = ds_read_file(path, DS_MANIFEST_MAX, &data, &len, err, err_len);
    if (st) return st;
    char file_sha[65];
    if (tb_sha256_hex(data, len, file_sha)) {
        free(data);
        return ds_fail(err, err_len, DS_ERR_IO, "%s: cannot hash", path);
    }
    if (want_sha && strcmp(file_sha, want_sha)) {
        free(data);
        return ds_fail(err, err_len, DS_ERR_CHECKSUM,
                       "%s: sha256 %s, the cache manifest says %s (fetch again with --force)", path, file_sha, want_sha);
    }
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
    if (st == DS_OK) st = chain_content(*set, bench, task, file_sha, path, err, err_len);
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
            st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
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
        for (size_t i = 0; i < DS_MVBENCH_N_TASKS; i++) order[n_order++] = ds_mvbench_task_stem(i);
    if (bench == DS_BENCH_MLVU)
        for (size_t i = 0; i < DS_MLVU_N_FILES; i++) order[n_order++] = ds_mlvu_file_stem(i);
    if (bench == DS_BENCH_LONGVIDEOBENCH) order[n_order++] = "lvb_val";
    for (size_t pass = 0; st == DS_OK && pass <= n_order; pass++) {
        for (size_t i = 0; st == DS_OK && i < n; i++) {
            if (used[i]) continue;
            if (pass < n_order) {
                char *stem = file_stem(names[i]);
                if (!stem) { /* not "no match": the official order would change silently */
                    st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
                    break;
                }
                int match = !strcmp(stem, order[pass]);
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
            st = load_file(bench, path, NULL, NULL, p, set, err, err_len);
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
        else st = load_file(bench, lp.manifest, NULL, NULL, &lp, &set, err, err_len);
    } else {
        const char *cache = lp.cache_dir ? lp.cache_dir : ds_default_cache_dir();
        const char *rev = lp.revision ? lp.revision : "main";
        char **paths = NULL, **tasks = NULL, **shas = NULL;
        size_t n = 0;
        st = ds_cache_files(bench, cache, rev, &paths, &tasks, &shas, &n, 0, err, err_len);
        for (size_t i = 0; st == DS_OK && i < n; i++)
            st = load_file(bench, paths[i], tasks[i], shas[i], &lp, &set, err, err_len);
        for (size_t i = 0; i < n; i++) {
            free(paths[i]);
            free(tasks[i]);
            free(shas[i]);
        }
        free(paths);
        free(tasks);
        free(shas);
    }
    if (st) {
        ds_sample_set_free(set);
        return st;
    }
    *out = set;
    return DS_OK;
}
