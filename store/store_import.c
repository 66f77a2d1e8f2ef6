/* store_import.c - other tools' per-sample outputs as rows for the store (see store.h, "Import"):
 * lmms-eval's samples JSONL and VLMEvalKit's prediction / score tables. Pure functions of the
 * file's bytes, which are untrusted: every field is type-checked and an error names the file, the
 * row or line and the field.
 *
 * Sample ids follow tango-bench's adapters where the file allows it, so `compare` pairs an
 * imported run with a run of ours: Video-MME question_id ("001-1"; VLMEvalKit's table has none,
 * its row `index` i is question (i/3+1, i%3+1) of the parquet order), LongVideoBench `id`,
 * MVBench "<task>_<n>" (n: the sample's position in its task), MLVU "<task>_<n>". A file that
 * tango-bench exported carries its own ids (VLMEvalKit: a `sample_id` column; lmms-eval: a
 * "tango_bench" object per line), which win. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "store/store.h"
#include "store/store_internal.h"

static int fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return DB_ERR_INVALID;
}

void db_import_set_free(db_import_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        db_import_row *r = &s->rows[i];
        free(r->sample_id), free(r->video_id), free(r->raw), free(r->gold), free(r->options_json);
        free(r->categories_json);
    }
    free(s->rows);
    memset(s, 0, sizeof *s);
}

/* Appends a row built from borrowed strings (copied); options / categories are cJSON items
 * (printed; may be NULL). */
static int add_row(db_import_set *io, const char *id, const char *video, const char *raw, char gold,
                   const cJSON *options, const cJSON *categories) {
    if (io->n == io->cap) {
        size_t cap = io->cap ? 2 * io->cap : 256;
        db_import_row *g = realloc(io->rows, cap * sizeof *g);
        if (!g) return -1;
        io->rows = g, io->cap = cap;
    }
    db_import_row *r = &io->rows[io->n];
    memset(r, 0, sizeof *r);
    char g1[2] = {gold, 0};
    r->sample_id = strdup(id);
    r->video_id = video && *video ? strdup(video) : NULL;
    r->raw = strdup(raw ? raw : "");
    r->gold = strdup(g1);
    r->options_json = options ? cJSON_PrintUnformatted(options) : NULL;
    r->categories_json = cJSON_PrintUnformatted(categories);
    io->n++;
    if (!r->sample_id || !r->raw || !r->gold || (options && !r->options_json) || !r->categories_json ||
        (video && *video && !r->video_id))
        return -1;
    return 0;
}

/* ---- Python list literals (VLMEvalKit's `candidates` column is str(list)) --------------------- */

static int put_utf8(char *w, unsigned long v) {
    if (v < 0x80) return w[0] = (char)v, 1;
    if (v < 0x800) return w[0] = (char)(0xC0 | (v >> 6)), w[1] = (char)(0x80 | (v & 0x3F)), 2;
    if (v < 0x10000)
        return w[0] = (char)(0xE0 | (v >> 12)), w[1] = (char)(0x80 | ((v >> 6) & 0x3F)), w[2] = (char)(0x80 | (v & 0x3F)), 3;
    if (v > 0x10FFFF) return -1;
    w[0] = (char)(0xF0 | (v >> 18)), w[1] = (char)(0x80 | ((v >> 12) & 0x3F)), w[2] = (char)(0x80 | ((v >> 6) & 0x3F));
    w[3] = (char)(0x80 | (v & 0x3F));
    return 4;
}

/* Parses "['a', \"b\"]" (Python string literals with their escapes) into a JSON array of
 * strings; NULL when s is not such a literal. */
static cJSON *pylist_parse(const char *s) {
    cJSON *arr = cJSON_CreateArray();
    char *buf = malloc(strlen(s) + 1);
    if (!arr || !buf) goto bad;
    const char *p = s;
    while (*p == ' ') p++;
    if (*p++ != '[') goto bad;
    for (int first = 1;; first = 0) {
        while (*p == ' ' || *p == '\n') p++;
        if (*p == ']') {
            p++;
            break;
        }
        if (!first) {
            if (*p++ != ',') goto bad;
            while (*p == ' ' || *p == '\n') p++;
            if (*p == ']') { /* a trailing comma */
                p++;
                break;
            }
        }
        if (*p == 'u' || *p == 'U') p++;
        char q = *p++;
        if (q != '\'' && q != '"') goto bad;
        char *w = buf;
        while (*p != q) {
            if (!*p) goto bad;
            if (*p != '\\') {
                *w++ = *p++;
                continue;
            }
            p++;
            unsigned long v = 0;
            int k = 0, n = 0;
            switch (*p) {
            case 'n': *w++ = '\n', p++; break;
            case 't': *w++ = '\t', p++; break;
            case 'r': *w++ = '\r', p++; break;
            case '0': *w++ = '\0', p++; break;
            case 'x': n = 2; break;
            case 'u': n = 4; break;
            case 'U': n = 8; break;
            case '\\': case '\'': case '"': *w++ = *p++; break;
            default: goto bad;
            }
            if (n) {
                p++;
                for (; k < n; k++, p++) {
                    char c = *p;
                    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                    if (d < 0) goto bad;
                    v = v * 16 + (unsigned long)d;
                }
                int m = put_utf8(w, v);
                if (m < 0) goto bad;
                w += m;
            }
        }
        p++;
        *w = '\0';
        cJSON *str = cJSON_CreateString(buf);
        if (!str) goto bad;
        cJSON_AddItemToArray(arr, str);
    }
    while (*p == ' ' || *p == '\n') p++;
    if (*p) goto bad;
    free(buf);
    return arr;
bad:
    free(buf);
    cJSON_Delete(arr);
    return NULL;
}

/* ---- VLMEvalKit -------------------------------------------------------------------------------- */

/* MVBench's task_type ("Fine-grained Action") -> our task file stem ("fine_grained_action"). */
static void task_stem(const char *task_type, char *out, size_t n) {
    size_t k = 0;
    for (const char *c = task_type; *c && k + 1 < n; c++)
        out[k++] = *c == ' ' || *c == '-' ? '_' : (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
    out[k] = '\0';
}

/* The table of a JSON records file ([{col: value}, ...]), columns in first-seen order. */
static int json_records_table(const char *data, size_t len, db_table *t, char *err, size_t err_len) {
    memset(t, 0, sizeof *t);
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return fail(err, err_len, "not a JSON array of records");
    }
    size_t n_rows = (size_t)cJSON_GetArraySize(root) + 1, n_cols = 0;
    const char *cols[256];
    for (cJSON *rec = root->child; rec; rec = rec->next) {
        if (!cJSON_IsObject(rec)) {
            cJSON_Delete(root);
            return fail(err, err_len, "record %zu is not an object", n_cols);
        }
        for (cJSON *f = rec->child; f; f = f->next) {
            size_t c = 0;
            while (c < n_cols && strcmp(cols[c], f->string)) c++;
            if (c == n_cols) {
                if (n_cols == 256) {
                    cJSON_Delete(root);
                    return fail(err, err_len, "more than 256 columns");
                }
                cols[n_cols++] = f->string;
            }
        }
    }
    t->n_rows = n_rows, t->n_cols = n_cols;
    t->cells = calloc(n_rows * (n_cols ? n_cols : 1), sizeof *t->cells);
    int ok = t->cells != NULL;
    for (size_t c = 0; ok && c < n_cols; c++) ok = (t->cells[c] = strdup(cols[c])) != NULL;
    size_t r = 1;
    for (cJSON *rec = root->child; ok && rec; rec = rec->next, r++)
        for (size_t c = 0; ok && c < n_cols; c++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, cols[c]);
            char *text;
            int64_t iv;
            if (cJSON_IsString(v)) text = strdup(v->valuestring);
            else if (!v || cJSON_IsNull(v)) text = strdup("");
            else if (cJSON_IsNumber(v) && tb_double_to_i64(v->valuedouble, &iv)) {
                char num[32];
                snprintf(num, sizeof num, "%lld", (long long)iv);
                text = strdup(num);
            } else if (cJSON_IsArray(v)) { /* a list column, as Python prints it would be; JSON parses too */
                text = cJSON_PrintUnformatted(v);
            } else {
                text = cJSON_PrintUnformatted(v);
            }
            ok = (t->cells[r * n_cols + c] = text) != NULL;
        }
    for (size_t i = 0; ok && i < n_rows * n_cols; i++)
        if (!t->cells[i]) ok = (t->cells[i] = strdup("")) != NULL;
    cJSON_Delete(root);
    if (!ok) {
        db_table_free(t);
        return fail(err, err_len, "out of memory");
    }
    return DB_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int db_import_vlmeval(const char *name, const void *data, size_t len, const char *bench, db_import_set *io,
                      char *err, size_t err_len) {
    db_table t;
    char e[512];
    int st;
    if (ends_with(name, ".xlsx")) st = db_xlsx_read(data, len, &t, e, sizeof e);
    else if (ends_with(name, ".tsv")) st = db_dsv_read(data, len, '\t', &t, e, sizeof e);
    else if (ends_with(name, ".csv")) st = db_dsv_read(data, len, ',', &t, e, sizeof e);
    else if (ends_with(name, ".json")) st = json_records_table(data, len, &t, e, sizeof e);
    else return fail(err, err_len, "%s: not .xlsx, .tsv, .csv or .json", name);
    if (st) return fail(err, err_len, "%s: %s", name, e);
    int is_vmme = !strcmp(bench, "videomme"), is_lvb = !strcmp(bench, "longvideobench");
    int is_mvb = !strcmp(bench, "mvbench"), is_mlvu = !strcmp(bench, "mlvu");
    st = DB_ERR_INVALID;
    cJSON *opts = NULL, *cats = NULL;
    char **tasks = NULL;
    if (!is_vmme && !is_lvb && !is_mvb && !is_mlvu) {
        fail(err, err_len, "%s: unknown benchmark '%s'", name, bench);
        goto out;
    }
    long c_pred = db_table_col(&t, "prediction"), c_cand = db_table_col(&t, "candidates"),
         c_ans = db_table_col(&t, "answer"), c_cc = db_table_col(&t, "correct_choice"),
         c_index = db_table_col(&t, "index"), c_task = db_table_col(&t, "task_type"),
         c_sid = db_table_col(&t, "sample_id"), c_qid = db_table_col(&t, "question_id"), c_id = db_table_col(&t, "id"),
         c_video = db_table_col(&t, "video");
    if (c_pred < 0 || c_cand < 0 || (is_lvb ? c_cc < 0 : c_ans < 0) || ((is_mvb || is_mlvu) && c_task < 0 && c_sid < 0)) {
        fail(err, err_len, "%s: missing column (needs prediction, candidates, %s%s)", name,
             is_lvb ? "correct_choice" : "answer", is_mvb || is_mlvu ? ", task_type" : "");
        goto out;
    }
    static const char *const cat_cols[][4] = {{"duration", "domain", "sub_category", "task_type"},
                                              {"duration_group", "question_category", "topic_category", "level"}};
    if (!(tasks = calloc(t.n_rows ? t.n_rows : 1, sizeof *tasks))) goto oom;
    for (size_t r = 1; r < t.n_rows; r++) {
        char where[64];
        snprintf(where, sizeof where, "%s: row %zu", name, r + 1);
        /* option texts */
        opts = pylist_parse(db_table_cell(&t, r, (size_t)c_cand));
        if (!opts || cJSON_GetArraySize(opts) < 1 || cJSON_GetArraySize(opts) > 8) {
            fail(err, err_len, "%s: field 'candidates': not a list of 1 to 8 strings", where);
            goto out;
        }
        if (is_vmme) /* Video-MME's options carry their letters ("A. Apples.") */
            for (cJSON *o = opts->child; o; o = o->next) {
                const char *v = o->valuestring;
                if (v[0] >= 'A' && v[0] <= 'H' && v[1] == '.' && v[2] == ' ') {
                    char *rest = strdup(v + 3); /* cJSON copies in place: the source must not overlap */
                    if (!rest || !cJSON_SetValuestring(o, rest)) {
                        free(rest);
                        goto oom;
                    }
                    free(rest);
                }
            }
        int n_opt = cJSON_GetArraySize(opts);
        /* gold letter */
        char gold = 0;
        if (is_lvb) {
            char *end;
            long k = strtol(db_table_cell(&t, r, (size_t)c_cc), &end, 10);
            if (*end || end == db_table_cell(&t, r, (size_t)c_cc) || k < 0 || k >= n_opt) {
                fail(err, err_len, "%s: field 'correct_choice': '%s' is not an option number", where,
                     db_table_cell(&t, r, (size_t)c_cc));
                goto out;
            }
            gold = (char)('A' + k);
        } else if (is_vmme) {
            const char *a = db_table_cell(&t, r, (size_t)c_ans);
            if (strlen(a) != 1 || a[0] < 'A' || a[0] >= 'A' + n_opt) {
                fail(err, err_len, "%s: field 'answer': '%s' is not an option letter", where, a);
                goto out;
            }
            gold = a[0];
        } else { /* the answer text: the last option equal to it, as evaluate() takes it */
            const char *a = db_table_cell(&t, r, (size_t)c_ans);
            int k = 0;
            for (cJSON *o = opts->child; o; o = o->next, k++)
                if (!strcmp(o->valuestring, a)) gold = (char)('A' + k);
            if (!gold && strlen(a) == 1 && a[0] >= 'A' && a[0] < 'A' + n_opt) gold = a[0]; /* already a letter */
            if (!gold) {
                fail(err, err_len, "%s: field 'answer': '%.80s' is none of the candidates", where, a);
                goto out;
            }
        }
        /* id and categories */
        char id[512] = "", stem[128] = "";
        if (!(cats = cJSON_CreateObject())) goto oom;
        if (is_vmme || is_lvb)
            for (int k = 0; k < 4; k++) {
                long c = db_table_col(&t, cat_cols[is_lvb][k]);
                if (c >= 0) cJSON_AddStringToObject(cats, cat_cols[is_lvb][k], db_table_cell(&t, r, (size_t)c));
            }
        if (is_mvb || is_mlvu) {
            const char *tt = c_task >= 0 ? db_table_cell(&t, r, (size_t)c_task) : "";
            if (is_mvb) task_stem(tt, stem, sizeof stem);
            else snprintf(stem, sizeof stem, "%s", tt);
            if (!(tasks[r] = strdup(stem))) goto oom;
            cJSON_AddStringToObject(cats, "task", stem);
        }
        if (c_sid >= 0 && *db_table_cell(&t, r, (size_t)c_sid)) {
            snprintf(id, sizeof id, "%s", db_table_cell(&t, r, (size_t)c_sid));
        } else if (is_vmme && c_qid >= 0) {
            snprintf(id, sizeof id, "%s", db_table_cell(&t, r, (size_t)c_qid));
        } else if (is_vmme && c_index >= 0) {
            char *end;
            long k = strtol(db_table_cell(&t, r, (size_t)c_index), &end, 10);
            if (*end || k < 0) {
                fail(err, err_len, "%s: field 'index': not a row number", where);
                goto out;
            }
            snprintf(id, sizeof id, "%03ld-%ld", k / 3 + 1, k % 3 + 1);
        } else if (is_lvb && c_id >= 0) {
            snprintf(id, sizeof id, "%s", db_table_cell(&t, r, (size_t)c_id));
        } else if (is_mvb || is_mlvu) {
            size_t n_before = 0;
            for (size_t q = 1; q < r; q++) n_before += tasks[q] && !strcmp(tasks[q], stem);
            snprintf(id, sizeof id, "%s_%zu", stem, n_before);
        }
        if (!id[0]) {
            fail(err, err_len, "%s: no id (needs %s)", where, is_lvb ? "column id" : "column index or question_id");
            goto out;
        }
        const char *video = c_video >= 0 ? db_table_cell(&t, r, (size_t)c_video) : NULL;
        if (add_row(io, id, video, db_table_cell(&t, r, (size_t)c_pred), gold, opts, cats)) goto oom;
        cJSON_Delete(opts), cJSON_Delete(cats);
        opts = cats = NULL;
    }
    st = DB_OK;
    goto out;
oom:
    fail(err, err_len, "%s: out of memory", name);
out:
    for (size_t r = 0; tasks && r < t.n_rows; r++) free(tasks[r]);
    free(tasks);
    cJSON_Delete(opts), cJSON_Delete(cats);
    db_table_free(&t);
    return st;
}

/* ---- lmms-eval ------------------------------------------------------------------------------------ */

/* The first string in a (possibly nested) resps value. */
static const char *first_string(const cJSON *v) {
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsArray(v)) return v->child ? first_string(v->child) : NULL;
    return NULL;
}

/* Option texts from the prompt lmms-eval recorded ("input"): consecutive lines "(A) text" (MVBench
 * style) or "A. text" (Video-MME, LongVideoBench). NULL when fewer than two are found. */
static cJSON *options_from_prompt(const char *input) {
    for (int style = 0; input && style < 2; style++) {
        cJSON *arr = cJSON_CreateArray();
        if (!arr) return NULL;
        char next = 'A';
        for (const char *line = input; *line;) {
            const char *end = strchr(line, '\n');
            size_t n = end ? (size_t)(end - line) : strlen(line);
            int hit = style == 0 ? n >= 4 && line[0] == '(' && line[1] == next && line[2] == ')' && line[3] == ' '
                                 : n >= 3 && line[0] == next && line[1] == '.' && line[2] == ' ';
            if (hit && next < 'I') {
                size_t skip = style == 0 ? 4 : 3;
                char *text = malloc(n - skip + 1);
                if (!text) break;
                memcpy(text, line + skip, n - skip);
                text[n - skip] = '\0';
                cJSON_AddItemToArray(arr, cJSON_CreateString(text));
                free(text);
                next++;
            }
            line += n + (end != NULL);
        }
        if (cJSON_GetArraySize(arr) >= 2) return arr;
        cJSON_Delete(arr);
    }
    return NULL;
}

static const char *str_field(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int db_import_lmms(const char *name, const char *data, size_t len, const char *bench, db_import_set *io, char *err,
                   size_t err_len) {
    static const struct {
        const char *bench, *metric, *gold;
    } metrics[] = {{"videomme", "videomme_perception_score", "answer"},
                   {"mvbench", "mvbench_accuracy", "gt_answer"},
                   {"longvideobench", "lvb_acc", "answer"},
                   {"mlvu", "mlvu_percetion_score", "answer"}};
    int b = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(bench, metrics[i].bench)) b = i;
    if (b < 0) return fail(err, err_len, "%s: unknown benchmark '%s'", name, bench);
    char task[128] = "";
    const char *tm = strstr(name, "_samples_mvbench_");
    if (b == 1 && tm) {
        snprintf(task, sizeof task, "%s", tm + strlen("_samples_mvbench_"));
        char *dot = strstr(task, ".jsonl");
        if (dot) *dot = '\0';
    }
    size_t lineno = 0;
    for (const char *line = data; line < data + len;) {
        const char *end = memchr(line, '\n', (size_t)(data + len - line));
        size_t n = end ? (size_t)(end - line) : (size_t)(data + len - line);
        lineno++;
        const char *next = line + n + (end != NULL);
        size_t blank = 0; /* within the line only: the bytes need not end in NUL */
        while (blank < n && (line[blank] == ' ' || line[blank] == '\t' || line[blank] == '\r')) blank++;
        if (blank == n) {
            line = next;
            continue;
        }
        cJSON *o = cJSON_ParseWithLength(line, n), *opts = NULL, *cats = NULL;
        char where[600];
        snprintf(where, sizeof where, "%s: line %zu", name, lineno);
        int st = DB_ERR_INVALID;
        if (!cJSON_IsObject(o)) {
            fail(err, err_len, "%s: not a JSON object", where);
            goto line_out;
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, metrics[b].metric);
        const cJSON *tb = cJSON_GetObjectItemCaseSensitive(o, "tango_bench");
        const cJSON *doc_id = cJSON_GetObjectItemCaseSensitive(o, "doc_id");
        if (!cJSON_IsObject(m)) {
            fail(err, err_len, "%s: no '%s' object (is this a %s samples file?)", where, metrics[b].metric, bench);
            goto line_out;
        }
        const char *raw = first_string(cJSON_GetObjectItemCaseSensitive(o, "resps"));
        if (!raw) raw = first_string(cJSON_GetObjectItemCaseSensitive(o, "filtered_resps"));
        if (!raw) {
            fail(err, err_len, "%s: field 'resps' / 'filtered_resps': no string", where);
            goto line_out;
        }
        const char *gold = str_field(m, metrics[b].gold);
        if (b == 3 && !gold) gold = str_field(o, "target");
        if (cJSON_IsObject(tb) && str_field(tb, "gold")) gold = str_field(tb, "gold");
        if (!gold || strlen(gold) != 1 || gold[0] < 'A' || gold[0] > 'H') {
            fail(err, err_len, "%s: field '%s.%s': not an option letter", where, metrics[b].metric, metrics[b].gold);
            goto line_out;
        }
        char id[512] = "";
        const char *video = NULL;
        if (!(cats = cJSON_CreateObject())) goto line_oom;
        if (b == 0) {
            const char *qid = str_field(m, "question_id");
            snprintf(id, sizeof id, "%s", qid ? qid : "");
            static const char *const map[][2] = {
                {"duration", "duration"}, {"domain", "category"}, {"sub_category", "sub_category"},
                {"task_type", "task_category"}};
            for (int k = 0; k < 4; k++)
                if (str_field(m, map[k][1])) cJSON_AddStringToObject(cats, map[k][0], str_field(m, map[k][1]));
            video = str_field(m, "videoID");
        } else if (b == 2) {
            const char *lid = str_field(m, "id");
            snprintf(id, sizeof id, "%s", lid ? lid : "");
            const cJSON *dg = cJSON_GetObjectItemCaseSensitive(m, "duration_group");
            char dgs[32] = "";
            int64_t iv;
            if (cJSON_IsNumber(dg) && tb_double_to_i64(dg->valuedouble, &iv)) snprintf(dgs, sizeof dgs, "%lld", (long long)iv);
            else if (cJSON_IsNumber(dg)) snprintf(dgs, sizeof dgs, "%.17g", dg->valuedouble);
            else if (cJSON_IsString(dg)) snprintf(dgs, sizeof dgs, "%s", dg->valuestring);
            if (dgs[0]) cJSON_AddStringToObject(cats, "duration_group", dgs);
            if (str_field(m, "question_category"))
                cJSON_AddStringToObject(cats, "question_category", str_field(m, "question_category"));
        } else {
            const char *t = b == 1 ? task : str_field(m, "task_type");
            if (t && *t) cJSON_AddStringToObject(cats, "task", t);
            int64_t di;
            if (t && *t && cJSON_IsNumber(doc_id) && tb_double_to_i64(doc_id->valuedouble, &di))
                snprintf(id, sizeof id, "%s_%lld", t, (long long)di);
        }
        opts = options_from_prompt(str_field(o, "input"));
        if (cJSON_IsObject(tb)) { /* a file tango-bench exported: its own fields */
            const cJSON *tcats = cJSON_GetObjectItemCaseSensitive(tb, "categories");
            const cJSON *topts = cJSON_GetObjectItemCaseSensitive(tb, "options");
            if (str_field(tb, "sample_id")) snprintf(id, sizeof id, "%s", str_field(tb, "sample_id"));
            if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(tb, "video_id"))) video = str_field(tb, "video_id");
            if (cJSON_IsObject(tcats)) {
                cJSON_Delete(cats);
                if (!(cats = cJSON_Duplicate(tcats, 1))) goto line_oom;
            }
            if (cJSON_IsArray(topts)) {
                cJSON_Delete(opts);
                if (!(opts = cJSON_Duplicate(topts, 1))) goto line_oom;
            } else if (cJSON_IsNull(topts)) {
                cJSON_Delete(opts);
                opts = NULL;
            }
        }
        if (!id[0]) {
            fail(err, err_len, "%s: cannot tell the sample's id%s", where,
                 b == 1 && !task[0] ? " (the MVBench task comes from a file named *_samples_mvbench_<task>.jsonl)" : "");
            goto line_out;
        }
        if (add_row(io, id, video, raw, gold[0], opts, cats)) goto line_oom;
        st = DB_OK;
        goto line_out;
    line_oom:
        fail(err, err_len, "%s: out of memory", where);
    line_out:
        cJSON_Delete(o), cJSON_Delete(opts), cJSON_Delete(cats);
        if (st) return st;
        line = next;
    }
    return DB_OK;
}
