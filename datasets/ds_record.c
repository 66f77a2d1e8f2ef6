/* ds_record.c - what every benchmark adapter shares: typed access to the fields of one untrusted
 * JSON record, with errors naming the source, the record index and the field, and the
 * resolution of a record's video path among candidate layouts (datasets.md §2.2, §3.1/§3.2,
 * §4.2, §5.2): the first existing candidate wins, else the canonical (first) one is reported. */
#include "datasets/ds_adapt_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================================================
 * Typed field access with messages naming the field
 */
const char *ds_json_type_name(const cJSON *v) {
    if (!v) return "nothing";
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsObject(v)) return "object";
    return "invalid";
}

int ds_field_err(const ds_rctx *c, const char *field, const char *what, const cJSON *v) {
    return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field '%s': %s (got %s)", c->source, c->index,
                   field, what, ds_json_type_name(v));
}

int ds_rec_str(const ds_rctx *c, const cJSON *rec, const char *field, int required, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    *out = NULL;
    if (!v && !required) return DS_OK;
    if (!cJSON_IsString(v) || !v->valuestring) return ds_field_err(c, field, v ? "expected a string" : "missing", v);
    *out = v->valuestring;
    return DS_OK;
}

int ds_rec_num(const ds_rctx *c, const cJSON *rec, const char *field, int required, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    *out = NAN;
    if (!v && !required) return DS_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return ds_field_err(c, field, v ? "expected a finite number" : "missing", v);
    *out = v->valuedouble;
    return DS_OK;
}

int ds_rec_int(const ds_rctx *c, const cJSON *rec, const char *field, int64_t lo, int64_t hi, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi) {
        char what[96];
        snprintf(what, sizeof what, "%s integer in [%lld, %lld]", v ? "expected an" : "missing,", (long long)lo,
                 (long long)hi);
        return ds_field_err(c, field, what, v);
    }
    *out = (int64_t)v->valuedouble;
    return DS_OK;
}

/* Copies a JSON array of 2..DS_MAX_OPTIONS strings into s->options. */
int ds_rec_options(const ds_rctx *c, const cJSON *rec, const char *field, ds_sample *s) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
    if (!cJSON_IsArray(v)) return ds_field_err(c, field, v ? "expected an array of strings" : "missing", v);
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
            return ds_field_err(c, f, "expected a string", e);
        }
        s->options[i] = ds_strdup(e->valuestring);
        if (!s->options[i]) return DS_ERR_NOMEM;
        i++;
    }
    s->n_options = n;
    return DS_OK;
}

int ds_add_category(ds_sample *s, const char *key, const char *value) {
    if (s->n_categories >= DS_MAX_CATEGORIES) return DS_OK;
    char *v = ds_strdup(value);
    if (!v) return DS_ERR_NOMEM;
    s->category_keys[s->n_categories] = key;
    s->category_values[s->n_categories++] = v;
    return DS_OK;
}

/* Letter of `answer` among the options (exact text match; the last match when a candidate text
 * repeats, as VLMEvalKit's qa_template loop does), or a schema error. */
int ds_answer_letter(const ds_rctx *c, ds_sample *s, const char *answer, const char *field) {
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
int ds_rec_path(const ds_rctx *c, const char *field, const char *rel) {
    char why[768];
    int st = ds_check_rel_path(rel, field, why, sizeof why);
    if (st) return ds_fail(c->err, c->err_len, st, "%s: record %zu: %s", c->source, c->index, why);
    return DS_OK;
}

int ds_video_check(const char *video, const char *video_rel, char *err, size_t err_len) {
    if (!video || !video_rel) return DS_OK;
    size_t n = strlen(video), k = strlen(video_rel);
    if (k >= n || strcmp(video + n - k, video_rel) || video[n - k - 1] != '/') return DS_OK;
    char *root = ds_strndup(video, n - k - 1);
    if (!root) return ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    char *real_root = realpath(root[0] ? root : "/", NULL);
    char *real = real_root ? realpath(video, NULL) : NULL;
    int st = DS_OK;
    if (real) { /* exists: it must lie below the resolved root */
        size_t r = strlen(real_root);
        int inside = !strncmp(real, real_root, r) && (real[r] == '/' || (r == 1 && real_root[0] == '/'));
        if (!inside)
            st = ds_fail(err, err_len, DS_ERR_PATH,
                         "video path '%s' resolves to %s, outside the videos root %s (a symbolic link?)", video_rel,
                         real, real_root);
    }
    free(real);
    free(real_root);
    free(root);
    return st;
}

/* Sets s->video / s->video_rel to the first candidate (relative to root) that exists, else to
 * the first candidate. */
static int resolve_video(const ds_rctx *c, ds_sample *s, const char *root, const char *const *rels, int n) {
    int pick = 0;
    char *abs = NULL;
    for (int i = 0; i < n; i++) {
        char *p = ds_path_join(root, rels[i]);
        if (!p) return DS_ERR_NOMEM;
        if (ds_exists(p)) {
            char why[1024];
            int st = ds_video_check(p, rels[i], why, sizeof why);
            if (st) {
                free(p);
                return ds_fail(c->err, c->err_len, st, "%s: record %zu: %s", c->source, c->index, why);
            }
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

char *ds_cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *r = malloc(la + lb + lc + 1);
    if (!r) return NULL;
    memcpy(r, a, la);
    memcpy(r + la, b, lb);
    memcpy(r + la + lb, c, lc + 1);
    return r;
}

int ds_resolve_list(const ds_rctx *c, ds_sample *s, const char *root, char **rels, int n) {
    for (int i = 0; i < n; i++)
        if (!rels[i]) {
            for (int j = 0; j < n; j++) free(rels[j]);
            return DS_ERR_NOMEM;
        }
    int st = resolve_video(c, s, root, (const char *const *)rels, n);
    for (int j = 0; j < n; j++) free(rels[j]);
    return st;
}
