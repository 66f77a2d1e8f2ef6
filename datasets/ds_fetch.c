/* ds_fetch.c - tango-bench fetch: download a benchmark's official annotation records into a cache
 * keyed by benchmark + revision, validate them with the adapters before committing, and verify a
 * cache entry offline.
 *
 * Cache entry <cache>/<bench>/<revision, percent-encoded>/ holds the record files in their
 * official format (videomme: videomme_test.json, a JSON array of the rows-API `row` objects in
 * row_idx order) and manifest.json, written last, listing each file with its task, size and
 * sha256. An entry without manifest.json is incomplete and is never read. The token is never
 * written anywhere. */
#include "common/check.h"
#include "common/redact.h"
#include "common/sha256.h"
#include "datasets/ds_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define DS_ROWS_PAGE 100
#define DS_ROWS_MAX 1000000
#define DS_CACHE_MANIFEST_MAX ((size_t)4 << 20)

static const char *const repos[DS_BENCH_COUNT] = {"lmms-lab/Video-MME", "OpenGVLab/MVBench",
                                                  "longvideobench/LongVideoBench", "MLVU/MVLU"};

ds_fetch_params ds_fetch_default_params(void) {
    ds_fetch_params p = {.cache_dir = NULL, .revision = NULL, .offline = 0, .force = 0, .hf_endpoint = NULL,
                         .datasets_server = NULL, .token = NULL, .max_retries = -1, .retry_base_ms = -1,
                         .timeout_s = 0, .max_bytes = 0};
    return p;
}

static int64_t env_int(const char *name, int64_t dflt, int64_t lo, int64_t hi) {
    const char *e = getenv(name);
    if (!e || !*e) return dflt;
    char *end = NULL;
    long long v = strtoll(e, &end, 10);
    if (!end || *end || v < lo || v > hi) return dflt;
    return v;
}

/* Revision names become a directory name: a conservative character set, no "..". */
static int check_revision(const char *rev, char *err, size_t err_len) {
    size_t n = strlen(rev);
    if (n == 0 || n > 128 || strstr(rev, "..") || rev[0] == '.' || rev[0] == '/')
        return ds_fail(err, err_len, DS_ERR_ARG, "bad revision '%s'", rev);
    for (const char *c = rev; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_' || *c == '.' || *c == '/'))
            return ds_fail(err, err_len, DS_ERR_ARG, "bad revision '%s' (allowed: letters, digits, - _ . /)", rev);
    return DS_OK;
}

static char *entry_dir(ds_bench bench, const char *cache, const char *rev) {
    char *enc = ds_url_encode(rev, 0);
    if (!enc) return NULL;
    size_t n = strlen(cache) + strlen(enc) + 32;
    char *d = malloc(n);
    if (d) snprintf(d, n, "%s/%s/%s", cache, ds_bench_name(bench), enc);
    free(enc);
    return d;
}

/* ============================================================================================
 * Cache entry reading / verification
 */
int ds_cache_files(ds_bench bench, const char *cache_dir, const char *rev, char ***paths_out, char ***tasks_out,
                   char ***shas_out, size_t *n_out, int verify_sha, char *err, size_t err_len) {
    *paths_out = *tasks_out = NULL;
    if (shas_out) *shas_out = NULL;
    *n_out = 0;
    int st = check_revision(rev, err, err_len);
    if (st) return st;
    char *dir = entry_dir(bench, cache_dir, rev);
    char *mpath = dir ? ds_path_join(dir, "manifest.json") : NULL;
    if (!mpath) {
        free(dir);
        return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    }
    char *text = NULL;
    size_t len = 0;
    cJSON *m = NULL;
    char **paths = NULL, **tasks = NULL, **shas = NULL;
    size_t n = 0;
    if (!ds_exists(mpath)) {
        st = ds_fail(err, err_len, DS_ERR_NOT_CACHED,
                     "%s revision %s is not in the cache %s (run: tango-bench fetch %s --revision %s --cache %s)",
                     ds_bench_name(bench), rev, cache_dir, ds_bench_name(bench), rev, cache_dir);
        goto out;
    }
    if ((st = ds_read_file(mpath, DS_CACHE_MANIFEST_MAX, &text, &len, err, err_len))) goto out;
    m = cJSON_ParseWithLength(text, len);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "benchmark");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "revision");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
    if (!m || !cJSON_IsString(b) || strcmp(b->valuestring, ds_bench_name(bench)) || !cJSON_IsString(r) ||
        strcmp(r->valuestring, rev) || !cJSON_IsArray(files)) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: not a cache manifest of %s revision %s", mpath, ds_bench_name(bench),
                     rev);
        goto out;
    }
    size_t cap = (size_t)cJSON_GetArraySize(files);
    paths = calloc(cap ? cap : 1, sizeof *paths);
    tasks = calloc(cap ? cap : 1, sizeof *tasks);
    shas = calloc(cap ? cap : 1, sizeof *shas);
    if (!paths || !tasks || !shas) {
        st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        goto out;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "task");
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(f, "size");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(f, "sha256");
        if (!cJSON_IsString(p) || !cJSON_IsNumber(sz) || !cJSON_IsString(sh) || !(cJSON_IsString(t) || cJSON_IsNull(t))) {
            st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: files[%zu]: expected path, task, size, sha256", mpath, n);
            goto out;
        }
        char why[512];
        if ((st = ds_check_rel_path(p->valuestring, "path", why, sizeof why))) {
            ds_fail(err, err_len, st, "%s: files[%zu]: %s", mpath, n, why);
            goto out;
        }
        /* a file listed twice would load its samples twice */
        const cJSON *prev;
        cJSON_ArrayForEach(prev, files) {
            if (prev == f) break;
            if (!strcmp(cJSON_GetObjectItemCaseSensitive(prev, "path")->valuestring, p->valuestring)) {
                st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: files[%zu]: '%s' is listed twice (fetch again with --force)",
                             mpath, n, p->valuestring);
                goto out;
            }
        }
        char *full = ds_path_join(dir, p->valuestring);
        if (!full) {
            st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
            goto out;
        }
        paths[n] = full;
        tasks[n] = cJSON_IsString(t) ? ds_strdup(t->valuestring) : NULL;
        shas[n] = ds_strdup(sh->valuestring);
        n++;
        if (!shas[n - 1]) {
            st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
            goto out;
        }
        struct stat stt;
        if (stat(full, &stt) != 0) {
            st = ds_fail(err, err_len, DS_ERR_NOT_CACHED, "cache entry %s is missing %s (fetch again)", dir, p->valuestring);
            goto out;
        }
        if ((double)stt.st_size != sz->valuedouble) {
            st = ds_fail(err, err_len, DS_ERR_CHECKSUM, "%s: size %lld, the cache manifest says %.0f (fetch again with --force)",
                         full, (long long)stt.st_size, sz->valuedouble);
            goto out;
        }
        if (verify_sha) {
            char got[65];
            if (tb_sha256_file(full, got, NULL, err, err_len)) {
                st = DS_ERR_IO;
                goto out;
            }
            if (strcmp(got, sh->valuestring)) {
                st = ds_fail(err, err_len, DS_ERR_CHECKSUM, "%s: sha256 %s, the cache manifest says %s (fetch again with --force)",
                             full, got, sh->valuestring);
                goto out;
            }
        }
    }
    if (n == 0) st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s lists no files", mpath);
out:
    cJSON_Delete(m);
    free(text);
    free(mpath);
    free(dir);
    if (st || !shas_out) {
        for (size_t i = 0; i < n; i++) free(shas[i]);
        free(shas);
        shas = NULL;
    }
    if (st) {
        for (size_t i = 0; i < n; i++) {
            free(paths[i]);
            free(tasks[i]);
        }
        free(paths);
        free(tasks);
        return st;
    }
    *paths_out = paths;
    *tasks_out = tasks;
    if (shas_out) *shas_out = shas;
    *n_out = n;
    return DS_OK;
}

/* ============================================================================================
 * Rows API (Video-MME)
 */
static const char *const vmme_features[] = {"video_id", "duration", "domain", "sub_category", "videoID",
                                            "question_id", "task_type", "question", "options", "answer"};

int ds_rows_init(ds_rows *r) {
    memset(r, 0, sizeof *r);
    r->total = -1;
    r->pages = cJSON_CreateArray();
    return r->pages ? DS_OK : DS_ERR_NOMEM;
}

void ds_rows_free(ds_rows *r) {
    free(r->slots);
    cJSON_Delete(r->pages);
    memset(r, 0, sizeof *r);
}

int ds_rows_page_take(ds_rows *acc, const char *url, const char *body, size_t len, int *got_out, char *err,
                      size_t err_len) {
    *got_out = 0;
    int st = DS_OK;
    cJSON *page = cJSON_ParseWithLength(body, len);
    if (!page) return ds_fail(err, err_len, DS_ERR_JSON, "%s: malformed JSON", url);
    cJSON_AddItemToArray(acc->pages, page);
    const cJSON *perr = cJSON_GetObjectItemCaseSensitive(page, "error");
    const cJSON *partial = cJSON_GetObjectItemCaseSensitive(page, "partial");
    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(page, "num_rows_total");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(page, "rows");
    const cJSON *features = cJSON_GetObjectItemCaseSensitive(page, "features");
    if (!cJSON_IsObject(page) || cJSON_IsString(perr)) {
        /* the server's text, quoted: no raw newline or terminal escape reaches the user */
        char q[400];
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: %s", url,
                     cJSON_IsString(perr) ? tb_quote(q, sizeof q, perr->valuestring, strlen(perr->valuestring))
                                          : "expected a JSON object");
    } else if (cJSON_IsTrue(partial)) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'partial' is true (the viewer could not page the whole split)", url);
    } else if (partial && !cJSON_IsBool(partial)) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'partial': expected a boolean", url);
    } else if (!cJSON_IsArray(rows)) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'rows': expected an array", url);
    } else if (acc->total < 0 && (!cJSON_IsNumber(nt) || nt->valuedouble < 0 || nt->valuedouble > DS_ROWS_MAX ||
                                  nt->valuedouble != floor(nt->valuedouble))) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'num_rows_total': expected an integer in [0, %d]", url,
                     DS_ROWS_MAX);
    } else if (acc->total < 0 && !cJSON_IsArray(features)) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: field 'features': expected an array", url);
    }
    if (st) return st;
    if (acc->total < 0) {
        for (size_t k = 0; k < sizeof vmme_features / sizeof vmme_features[0]; k++) {
            int found = 0;
            const cJSON *f;
            cJSON_ArrayForEach(f, features) {
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(f, "name");
                if (cJSON_IsString(nm) && !strcmp(nm->valuestring, vmme_features[k])) found = 1;
            }
            if (!found)
                return ds_fail(err, err_len, DS_ERR_SCHEMA,
                               "%s: unknown schema: feature '%s' is missing (pin a revision with the current schema)",
                               url, vmme_features[k]);
        }
        acc->slots = calloc(nt->valuedouble > 0 ? (size_t)nt->valuedouble : 1, sizeof *acc->slots);
        if (!acc->slots) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        acc->total = (int64_t)nt->valuedouble;
    }
    int got = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r, "row_idx");
        cJSON *row = cJSON_GetObjectItemCaseSensitive(r, "row");
        const cJSON *tc = cJSON_GetObjectItemCaseSensitive(r, "truncated_cells");
        if (!cJSON_IsNumber(ri) || ri->valuedouble != floor(ri->valuedouble) || ri->valuedouble < 0 ||
            ri->valuedouble >= (double)acc->total || !cJSON_IsObject(row))
            return ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: rows[%d]: field 'row_idx' or 'row' invalid", url, got);
        if (cJSON_IsArray(tc) && cJSON_GetArraySize(tc) > 0)
            return ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: rows[%d]: field 'truncated_cells' is not empty", url, got);
        size_t idx = (size_t)ri->valuedouble;
        if (acc->slots[idx]) return ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: row_idx %zu appears twice", url, idx);
        acc->slots[idx] = row;
        got++;
    }
    *got_out = got;
    return DS_OK;
}

int ds_rows_assemble(const ds_rows *acc, char **json_out, size_t *len_out, char *err, size_t err_len) {
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < acc->total; i++) {
        if (!acc->slots[i]) {
            cJSON_Delete(arr);
            return ds_fail(err, err_len, DS_ERR_SCHEMA, "rows API: row_idx %lld never arrived (num_rows_total=%lld)",
                           (long long)i, (long long)acc->total);
        }
        cJSON *dup = cJSON_Duplicate(acc->slots[i], 1);
        if (!dup || !cJSON_AddItemToArray(arr, dup)) {
            cJSON_Delete(dup);
            cJSON_Delete(arr);
            return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        }
    }
    char *text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!text) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    *json_out = text;
    *len_out = strlen(text);
    return DS_OK;
}

static int fetch_rows(const char *server, const char *repo, const char *config, const char *split, ds_http_opts *o,
                      size_t max_bytes, char **json_out, size_t *len_out, char *err, size_t err_len) {
    ds_rows acc;
    int st = ds_rows_init(&acc);
    char *enc_repo = ds_url_encode(repo, 0), *enc_cfg = ds_url_encode(config, 0), *enc_split = ds_url_encode(split, 0);
    if (st || !enc_repo || !enc_cfg || !enc_split) {
        st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int64_t off = 0; acc.total < 0 || off < acc.total; off += DS_ROWS_PAGE) {
        size_t ul = strlen(server) + strlen(enc_repo) + strlen(enc_cfg) + strlen(enc_split) + 96;
        char *url = malloc(ul);
        if (!url) {
            st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(url, ul, "%s/rows?dataset=%s&config=%s&split=%s&offset=%lld&length=%d", server, enc_repo, enc_cfg,
                 enc_split, (long long)off, DS_ROWS_PAGE);
        tb_buf body;
        tb_buf_init(&body, max_bytes);
        st = ds_http_get(url, o, &body, NULL, NULL, err, err_len);
        int got = 0;
        if (!st) st = ds_rows_page_take(&acc, url, body.data, body.len, &got, err, err_len);
        tb_buf_free(&body);
        if (!st && got == 0 && off < acc.total)
            st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: empty page before num_rows_total=%lld", url,
                         (long long)acc.total);
        free(url);
        if (st) goto out;
    }
    st = ds_rows_assemble(&acc, json_out, len_out, err, err_len);
out:
    ds_rows_free(&acc);
    free(enc_repo);
    free(enc_cfg);
    free(enc_split);
    return st;
}

/* ============================================================================================
 * Hub tree listing: expected sizes and LFS sha256 of the files in one directory
 */
typedef struct {
    int64_t size;  /* -1 unknown */
    char sha[65];  /* LFS sha256 or "" */
} tree_expect;

/* Fills want[i] for paths[i] (all in directory dir). Returns DS_OK with *checked = 1 when the
 * listing was read, DS_OK with *checked = 0 when it was not available (non-auth failure), or an
 * error (auth, malformed listing). */
static int tree_lookup(const char *endpoint, const char *repo, const char *enc_rev, const char *dir,
                       const char *const *paths, size_t n, tree_expect *want, int *checked, ds_http_opts *o, char *err,
                       size_t err_len) {
    *checked = 0;
    for (size_t i = 0; i < n; i++) {
        want[i].size = -1;
        want[i].sha[0] = '\0';
    }
    char *enc_dir = ds_url_encode(dir, 1);
    size_t ul = strlen(endpoint) + strlen(repo) + strlen(enc_rev) + (enc_dir ? strlen(enc_dir) : 0) + 64;
    char *url = malloc(ul);
    if (!enc_dir || !url) {
        free(enc_dir);
        free(url);
        return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    }
    snprintf(url, ul, "%s/api/datasets/%s/tree/%s%s%s", endpoint, repo, enc_rev, *dir ? "/" : "", enc_dir);
    free(enc_dir);
    tb_buf body;
    tb_buf_init(&body, (size_t)16 << 20);
    char terr[512];
    int st = ds_http_get(url, o, &body, NULL, NULL, terr, sizeof terr);
    if (st == DS_ERR_AUTH) {
        ds_fail(err, err_len, st, "%s", terr);
    } else if (st != DS_OK) {
        st = DS_OK; /* no listing (mirror without the API, file:// endpoint): header checks only */
    } else {
        cJSON *doc = cJSON_ParseWithLength(body.data, body.len);
        if (!cJSON_IsArray(doc)) {
            st = ds_fail(err, err_len, doc ? DS_ERR_SCHEMA : DS_ERR_JSON, "%s: expected a JSON array of tree entries", url);
        } else {
            size_t k = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, doc) {
                const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type");
                const cJSON *pa = cJSON_GetObjectItemCaseSensitive(e, "path");
                const cJSON *sz = cJSON_GetObjectItemCaseSensitive(e, "size");
                const cJSON *lfs = cJSON_GetObjectItemCaseSensitive(e, "lfs");
                if (!cJSON_IsString(ty) || !cJSON_IsString(pa)) {
                    st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: entry %zu: field '%s': expected a string", url, k,
                                 cJSON_IsString(ty) ? "path" : "type");
                    break;
                }
                k++;
                if (strcmp(ty->valuestring, "file")) continue;
                if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble != floor(sz->valuedouble)) {
                    st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: entry '%s': field 'size': expected an integer", url,
                                 pa->valuestring);
                    break;
                }
                const cJSON *oid = lfs ? cJSON_GetObjectItemCaseSensitive(lfs, "oid") : NULL;
                if (lfs && (!cJSON_IsObject(lfs) || !cJSON_IsString(oid) || strlen(oid->valuestring) != 64)) {
                    st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: entry '%s': field 'lfs.oid': expected a sha256", url,
                                 pa->valuestring);
                    break;
                }
                for (size_t i = 0; i < n; i++) {
                    if (strcmp(paths[i], pa->valuestring)) continue;
                    want[i].size = (int64_t)sz->valuedouble;
                    if (oid) {
                        for (int j = 0; j < 64; j++)
                            want[i].sha[j] = (char)tolower((unsigned char)oid->valuestring[j]);
                        want[i].sha[64] = '\0';
                    }
                }
            }
            if (st == DS_OK) *checked = 1;
        }
        cJSON_Delete(doc);
    }
    tb_buf_free(&body);
    free(url);
    return st;
}

/* ============================================================================================
 * ds_fetch
 */
typedef struct {
    char *path; /* relative to the entry */
    const char *task;
    int64_t size;
    char sha[65];
} cached_file;

static int write_cache_manifest(const char *dir, ds_bench bench, const char *rev, const char *source,
                                const cached_file *files, int n, size_t n_samples, int tree_checked, char *err,
                                size_t err_len) {
    cJSON *m = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    if (!m || !arr) {
        cJSON_Delete(m);
        cJSON_Delete(arr);
        return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    cJSON_AddNumberToObject(m, "format", 1);
    cJSON_AddStringToObject(m, "benchmark", ds_bench_name(bench));
    cJSON_AddStringToObject(m, "revision", rev);
    cJSON_AddStringToObject(m, "repo", repos[bench]);
    cJSON_AddStringToObject(m, "source", source);
    cJSON_AddStringToObject(m, "fetched_at", when);
    cJSON_AddNumberToObject(m, "n_samples", (double)n_samples);
    cJSON_AddBoolToObject(m, "tree_checked", tree_checked);
    for (int i = 0; i < n; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f) break;
        cJSON_AddStringToObject(f, "path", files[i].path);
        if (files[i].task) cJSON_AddStringToObject(f, "task", files[i].task);
        else cJSON_AddNullToObject(f, "task");
        cJSON_AddNumberToObject(f, "size", (double)files[i].size);
        cJSON_AddStringToObject(f, "sha256", files[i].sha);
        cJSON_AddItemToArray(arr, f);
    }
    cJSON_AddItemToObject(m, "files", arr);
    char *text = cJSON_Print(m);
    cJSON_Delete(m);
    if (!text) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    char *mpath = ds_path_join(dir, "manifest.json");
    int st = mpath ? ds_write_file_atomic(mpath, text, strlen(text), err, err_len)
                   : ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    free(mpath);
    free(text);
    return st;
}

/* Puts the complete staged entry in place of dir in one rename: renameat2(RENAME_EXCHANGE) swaps
 * the two directories atomically, then the old one (now at stage) is removed. Where the file
 * system cannot exchange, the old entry is renamed aside first (a crash between the two renames
 * leaves no entry, never a mixed one). */
static int commit_entry(const char *stage, const char *dir, char *err, size_t err_len) {
    if (!ds_exists(dir)) {
        if (rename(stage, dir) != 0)
            return ds_fail(err, err_len, DS_ERR_IO, "cannot rename %s to %s: %s", stage, dir, strerror(errno));
        return DS_OK;
    }
    if (renameat2(AT_FDCWD, stage, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) return ds_rmtree(stage, err, err_len);
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return ds_fail(err, err_len, DS_ERR_IO, "cannot replace %s: %s", dir, strerror(errno));
    char *old = ds_cat3(dir, ".old", "");
    if (!old) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    int st = ds_exists(old) ? ds_rmtree(old, err, err_len) : DS_OK;
    if (!st && rename(dir, old) != 0)
        st = ds_fail(err, err_len, DS_ERR_IO, "cannot rename %s aside: %s", dir, strerror(errno));
    if (!st && rename(stage, dir) != 0) {
        st = ds_fail(err, err_len, DS_ERR_IO, "cannot rename %s to %s: %s", stage, dir, strerror(errno));
        rename(old, dir); /* put the old entry back */
    }
    if (!st) st = ds_rmtree(old, err, err_len);
    free(old);
    return st;
}

/* Parses a record text as the runner will: a record that fails validation (a missing field, a
 * video path escaping the videos root) is rejected alone and counted in info, and the runner
 * stores it as a failed sample; a text that is not a record list, or whose every record is bad
 * (not this benchmark's format), fails the fetch. */
static int validate_text(ds_bench bench, const char *data, size_t len, const char *task, const char *source,
                         ds_fetch_info *info, char *err, size_t err_len) {
    ds_sample_set *set = NULL;
    ds_load_params lp = ds_load_default_params();
    lp.keep_bad_records = 1;
    int st = ds_samples_parse(bench, data, len, task, source, &lp, &set, err, err_len);
    size_t n = ds_sample_set_count(set), n_bad = 0;
    const char *first_bad = NULL;
    for (size_t i = 0; !st && i < n; i++) {
        const ds_sample *s = ds_sample_set_get(set, i);
        if (!s->error) continue;
        if (!first_bad) first_bad = s->error;
        n_bad++;
    }
    if (!st && n_bad > 0 && n_bad == n) {
        st = ds_fail(err, err_len, DS_ERR_SCHEMA, "%s: every record is invalid (not %s's format?): %s", source,
                     ds_bench_name(bench), first_bad);
    } else if (!st) {
        info->n_samples += n;
        if (n_bad && !info->n_bad_records) snprintf(info->first_bad, sizeof info->first_bad, "%s", first_bad);
        info->n_bad_records += n_bad;
    }
    ds_sample_set_free(set);
    return st;
}

/* Validates the file at path; messages name it as source (its place in the committed entry). */
static int validate_file(ds_bench bench, const char *path, const char *source, const char *task,
                         ds_fetch_info *info, char *err, size_t err_len) {
    char *data = NULL;
    size_t len = 0;
    int st = ds_read_file(path, (size_t)512 << 20, &data, &len, err, err_len);
    if (st) return st;
    st = validate_text(bench, data, len, task, source, info, err, err_len);
    free(data);
    return st;
}

static int fetch_impl(ds_bench bench, const ds_fetch_params *pin, ds_fetch_info *info, char *err, size_t err_len);

/* The token may reach an error line from anywhere (a viewer error string, an error page that
 * echoes the request, a redirect URL): every line ds_fetch returns is redacted. */
int ds_fetch(ds_bench bench, const ds_fetch_params *pin, ds_fetch_info *info, char *err, size_t err_len) {
    int st = fetch_impl(bench, pin, info, err, err_len);
    if (st != DS_OK && err && err_len) {
        err[err_len - 1] = '\0';
        tb_redact(err, pin && pin->token ? pin->token : getenv("HF_TOKEN"));
    }
    return st;
}

static int fetch_impl(ds_bench bench, const ds_fetch_params *pin, ds_fetch_info *info, char *err, size_t err_len) {
    ds_fetch_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    if (bench < 0 || bench >= DS_BENCH_COUNT) return ds_fail(err, err_len, DS_ERR_ARG, "unknown benchmark");
    ds_fetch_params p = pin ? *pin : ds_fetch_default_params();
    const char *cache = p.cache_dir ? p.cache_dir : ds_default_cache_dir();
    const char *rev = p.revision ? p.revision : "main";
    int st = check_revision(rev, err, err_len);
    if (st) return st;
    const char *endpoint = p.hf_endpoint ? p.hf_endpoint : getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = "https://huggingface.co";
    const char *server = p.datasets_server ? p.datasets_server : getenv("HF_DATASETS_SERVER");
    if (!server || !*server) server = "https://datasets-server.huggingface.co";
    const char *token = p.token ? p.token : getenv("HF_TOKEN");
    for (const char *c = token ? token : ""; *c; c++)
        if ((unsigned char)*c < 0x21 || (unsigned char)*c == 0x7f)
            return ds_fail(err, err_len, DS_ERR_ARG, "HF_TOKEN contains whitespace or control characters");
    /* endpoints without trailing slashes */
    char ep_buf[1024], sv_buf[1024];
    snprintf(ep_buf, sizeof ep_buf, "%s", endpoint);
    snprintf(sv_buf, sizeof sv_buf, "%s", server);
    for (size_t k = strlen(ep_buf); k > 0 && ep_buf[k - 1] == '/'; k--) ep_buf[k - 1] = '\0';
    for (size_t k = strlen(sv_buf); k > 0 && sv_buf[k - 1] == '/'; k--) sv_buf[k - 1] = '\0';
    endpoint = ep_buf;
    server = sv_buf;
    ds_http_opts o = {.token = token,
                      .max_retries = p.max_retries >= 0 ? p.max_retries : (int)env_int("TB_RETRY_MAX", 5, 0, 100),
                      .retry_base_ms = p.retry_base_ms >= 0 ? p.retry_base_ms
                                                            : env_int("TB_RETRY_BASE_MS", 500, 0, 60000),
                      .timeout_s = p.timeout_s > 0 ? p.timeout_s : env_int("TB_HTTP_TIMEOUT_S", 300, 1, 86400),
                      .max_bytes = p.max_bytes > 0 ? (size_t)p.max_bytes : (size_t)256 << 20,
                      .gated_repo = repos[bench],
                      .n_requests = 0};
    char *dir = entry_dir(bench, cache, rev);
    if (!dir) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    snprintf(info->dir, sizeof info->dir, "%s", dir);

    /* 1. a complete, intact cache entry is reused */
    if (!p.force || p.offline) {
        char **paths = NULL, **tasks = NULL;
        size_t n = 0;
        char cerr[1024] = "";
        int cst = ds_cache_files(bench, cache, rev, &paths, &tasks, NULL, &n, 1, cerr, sizeof cerr);
        if (cst == DS_OK) {
            for (size_t i = 0; i < n && st == DS_OK; i++) {
                struct stat stt;
                if (stat(paths[i], &stt) == 0) info->n_bytes += (int64_t)stt.st_size;
                st = validate_file(bench, paths[i], paths[i], tasks[i], info, err, err_len);
            }
            info->n_files = (int)n;
            info->from_cache = 1;
        }
        for (size_t i = 0; i < n; i++) {
            free(paths[i]);
            free(tasks[i]);
        }
        free(paths);
        free(tasks);
        if (cst == DS_OK || p.offline) {
            free(dir);
            if (cst != DS_OK) return ds_fail(err, err_len, cst, "--offline: %s", cerr);
            return st;
        }
    }

    /* 2. download into <entry>.incoming (partial files stay there for a resume), then swap it in:
     * a failed fetch, --force included, leaves a complete entry as it was */
    char *stage = ds_cat3(dir, ".incoming", "");
    if (!stage) {
        free(dir);
        return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    }
    if ((st = ds_mkdirs(stage, err, err_len))) {
        free(stage);
        free(dir);
        return st;
    }
    cached_file files[32];
    int n_files = 0;
    char source[1024];
    memset(files, 0, sizeof files);
    if (bench == DS_BENCH_VIDEOMME) {
        if (strcmp(rev, "main")) {
            free(stage);
            free(dir);
            return ds_fail(err, err_len, DS_ERR_UNSUPPORTED,
                           "videomme is paged through the dataset viewer, which serves only the default branch: "
                           "use --revision main");
        }
        snprintf(source, sizeof source, "%s/rows?dataset=%s&config=videomme&split=test", server, repos[bench]);
        char *json = NULL;
        size_t len = 0;
        st = fetch_rows(server, repos[bench], "videomme", "test", &o, o.max_bytes, &json, &len, err, err_len);
        if (!st) st = validate_text(bench, json, len, NULL, "rows API", info, err, err_len);
        char *dest = st ? NULL : ds_path_join(stage, "videomme_test.json");
        if (!st && !dest) st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        if (!st) st = ds_write_file_atomic(dest, json, len, err, err_len);
        if (!st) {
            files[0].path = ds_strdup("videomme_test.json");
            files[0].task = NULL;
            files[0].size = (int64_t)len;
            tb_sha256_hex(json, len, files[0].sha);
            n_files = 1;
        }
        free(dest);
        free(json);
    } else {
        const char *paths[32], *tasks[32];
        size_t n = ds_remote_files(bench, paths, tasks, 32);
        char *enc_rev = ds_url_encode(rev, 0);
        snprintf(source, sizeof source, "%s/datasets/%s/resolve/%s", endpoint, repos[bench], enc_rev ? enc_rev : rev);
        tree_expect want[32];
        char tdir[64] = "";
        const char *slash0 = n ? strrchr(paths[0], '/') : NULL;
        if (slash0) snprintf(tdir, sizeof tdir, "%.*s", (int)(slash0 - paths[0]), paths[0]);
        if (!enc_rev) st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
        else st = tree_lookup(endpoint, repos[bench], enc_rev, tdir, paths, n, want, &info->tree_checked, &o, err, err_len);
        for (size_t i = 0; i < n && st == DS_OK; i++) {
            char *enc_path = ds_url_encode(paths[i], 1);
            char *dest = ds_path_join(stage, paths[i]);
            size_t ul = strlen(source) + (enc_path ? strlen(enc_path) : 0) + 4;
            char *url = malloc(ul);
            if (!enc_path || !dest || !url || !enc_rev) {
                st = ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
            } else {
                snprintf(url, ul, "%s/%s", source, enc_path);
                char *slash = strrchr(dest, '/');
                if (slash) {
                    *slash = '\0';
                    st = ds_mkdirs(dest, err, err_len);
                    *slash = '/';
                }
                if (!st)
                    st = ds_http_download(url, dest, &o, want[i].size, want[i].sha, files[n_files].sha, err, err_len);
                if (!st) {
                    /* validate before committing the entry; an invalid file is removed */
                    char *final = ds_path_join(dir, paths[i]);
                    st = final ? validate_file(bench, dest, final, tasks[i], info, err, err_len)
                               : ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
                    free(final);
                    if (st) unlink(dest);
                }
                if (!st) {
                    struct stat stt;
                    files[n_files].path = ds_strdup(paths[i]);
                    files[n_files].task = tasks[i];
                    files[n_files].size = stat(dest, &stt) == 0 ? (int64_t)stt.st_size : 0;
                    n_files++;
                }
            }
            free(url);
            free(dest);
            free(enc_path);
        }
        free(enc_rev);
    }
    if (!st) st = write_cache_manifest(stage, bench, rev, source, files, n_files, info->n_samples, info->tree_checked,
                                       err, err_len);
    if (!st) st = commit_entry(stage, dir, err, err_len);
    free(stage);
    info->n_files = n_files;
    for (int i = 0; i < n_files; i++) {
        info->n_bytes += files[i].size;
        free(files[i].path);
    }
    info->n_requests = o.n_requests;
    free(dir);
    return st;
}
