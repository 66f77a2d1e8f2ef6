/* store_export.c - a run's per-sample rows (tango-bench export): as CSV or JSON lines, and in
 * the layouts of lmms-eval (results JSON + per-sample JSONL) and VLMEvalKit (score CSV).
 *
 * CSV / JSONL: one row per stored sample (ok and failed), ordered by sample id, with the per-layer
 * visual counts joined into one space-separated field and one column per timed stage. JSON lines
 * keep categories, options and method_json as nested JSON; CSV quotes fields as RFC 4180 does. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/aggregate.h"
#include "common/buf.h"
#include "common/sha256.h"

#include "store/store.h"
#include "store/store_internal.h"

static void csv_field(FILE *out, const char *s) {
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int db_export(db_store *db, const char *key, db_export_format fmt, FILE *out) {
    static const char *sql =
        "SELECT s.sample_id, s.video_id, s.categories, s.status, s.error, s.raw_output, s.parsed, s.gold,"
        " s.correct, s.parse_failed, s.n_visual_in, s.n_text, s.flops, s.equiv_retention, s.peak_bytes,"
        " (SELECT group_concat(visual, ' ') FROM (SELECT visual FROM layer_tokens t"
        "   WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id ORDER BY layer)),"
        " (SELECT ms FROM timings t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id AND stage = 'decode'),"
        " (SELECT ms FROM timings t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id AND stage = 'vision'),"
        " (SELECT ms FROM timings t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id AND stage = 'prune'),"
        " (SELECT ms FROM timings t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id AND stage = 'prefill'),"
        " (SELECT ms FROM timings t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id AND stage = 'generate'),"
        " (SELECT ms FROM timings t WHERE t.run_key = s.run_key AND t.sample_id = s.sample_id AND stage = 'total'),"
        " s.method_json, s.score, s.options"
        " FROM samples s WHERE s.run_key = ?1 ORDER BY s.sample_id";
    static const char *cols[] = {"sample_id", "video_id", "categories", "status", "error", "raw_output",
                                 "parsed", "gold", "correct", "parse_failed", "n_visual_in", "n_text",
                                 "flops", "equiv_retention", "peak_bytes", "visual_per_layer", "ms_decode",
                                 "ms_vision", "ms_prune", "ms_prefill", "ms_generate", "ms_total", "method_json",
                                 "score", "options"};
    enum { N_COLS = sizeof cols / sizeof cols[0] };
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_sql_err(db, "exporting samples");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (fmt == DB_EXPORT_CSV) {
        for (int c = 0; c < N_COLS; c++) fprintf(out, "%s%s", c ? "," : "", cols[c]);
        fputc('\n', out);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fmt == DB_EXPORT_CSV) {
            for (int c = 0; c < N_COLS; c++) {
                if (c) fputc(',', out);
                csv_field(out, (const char *)sqlite3_column_text(st, c));
            }
            fputc('\n', out);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        for (int c = 0; c < N_COLS && o; c++) {
            int type = sqlite3_column_type(st, c);
            if (type == SQLITE_NULL) {
                cJSON_AddNullToObject(o, cols[c]);
            } else if (c == 2 || c == 22 || c == 24) { /* categories, method_json, options are JSON already */
                cJSON *cat = cJSON_Parse((const char *)sqlite3_column_text(st, c));
                if (cat) cJSON_AddItemToObject(o, cols[c], cat);
                else cJSON_AddStringToObject(o, cols[c], (const char *)sqlite3_column_text(st, c));
            } else if (c == 15) {
                cJSON *arr = cJSON_CreateArray();
                const char *p = (const char *)sqlite3_column_text(st, c);
                while (p && *p) {
                    char *end;
                    double v = strtod(p, &end);
                    if (end == p) break;
                    cJSON_AddItemToArray(arr, cJSON_CreateNumber(v));
                    p = end;
                }
                cJSON_AddItemToObject(o, cols[c], arr);
            } else if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
                cJSON_AddNumberToObject(o, cols[c], sqlite3_column_double(st, c));
            } else {
                cJSON_AddStringToObject(o, cols[c], (const char *)sqlite3_column_text(st, c));
            }
        }
        char *line = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!line) {
            sqlite3_finalize(st);
            return db_set_err(db, DB_ERR_IO, "out of memory exporting samples");
        }
        fprintf(out, "%s\n", line);
        free(line);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_sql_err(db, "exporting samples");
    if (ferror(out)) return db_set_err(db, DB_ERR_IO, "write error during export");
    return DB_OK;
}

/* ==============================================================================================
 * Other tools' layouts: lmms-eval's results JSON + per-sample JSONL, VLMEvalKit's score CSV.
 */

/* The rows of a run that the peer layouts hold: scored samples, in the run's order. */
typedef struct {
    char *sample_id, *video_id, *raw, *parsed, *gold, *options, *categories;
    int correct, parse_failed;
    double score;
} peer_row;

typedef struct {
    peer_row *rows;
    size_t n, cap;
    int oom;
} peer_rows;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int collect_row(const db_sample_row *r, void *vctx) {
    peer_rows *pr = vctx;
    if (!r->ok) return 0;
    if (pr->n == pr->cap) {
        size_t cap = pr->cap ? 2 * pr->cap : 256;
        peer_row *g = realloc(pr->rows, cap * sizeof *g);
        if (!g) return pr->oom = 1;
        pr->rows = g, pr->cap = cap;
    }
    peer_row *o = &pr->rows[pr->n++];
    memset(o, 0, sizeof *o);
    o->sample_id = dup_or_null(r->sample_id), o->video_id = dup_or_null(r->video_id);
    o->raw = strdup(r->raw_output ? r->raw_output : ""), o->parsed = strdup(r->parsed ? r->parsed : "");
    o->gold = strdup(r->gold ? r->gold : ""), o->options = dup_or_null(r->options_json);
    o->categories = strdup(r->categories_json ? r->categories_json : "{}");
    o->correct = r->correct, o->parse_failed = r->parse_failed, o->score = r->score;
    if (!o->sample_id || !o->raw || !o->parsed || !o->gold || !o->categories) return pr->oom = 1;
    return 0;
}

static void peer_rows_free(peer_rows *pr) {
    for (size_t i = 0; i < pr->n; i++) {
        peer_row *o = &pr->rows[i];
        free(o->sample_id), free(o->video_id), free(o->raw), free(o->parsed), free(o->gold), free(o->options);
        free(o->categories);
    }
    free(pr->rows);
    memset(pr, 0, sizeof *pr);
}

/* Reads the run and its scored rows. */
static int peer_load(db_store *db, const char *key, db_run_record *rec, peer_rows *pr) {
    memset(pr, 0, sizeof *pr);
    if (db_run_get(db, key, rec)) return DB_ERR_NOT_FOUND;
    int rc = db_sample_rows(db, key, collect_row, pr);
    if (pr->oom) rc = db_set_err(db, DB_ERR_IO, "out of memory exporting run %.12s", key);
    if (rc) {
        peer_rows_free(pr);
        db_run_record_free(rec);
    }
    return rc;
}

/* mkdir -p */
static int make_dir(db_store *db, const char *dir) {
    char p[1024];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return db_set_err(db, DB_ERR_IO, "%s: path too long", dir);
    for (char *c = p + 1;; c++) {
        if (*c && *c != '/') continue;
        char keep = *c;
        *c = '\0';
        if (mkdir(p, 0755) && errno != EEXIST) return db_set_err(db, DB_ERR_IO, "%s: cannot create: %s", p, strerror(errno));
        if (!keep) break;
        *c = keep;
    }
    return DB_OK;
}

static void note_written(char *written, size_t len, const char *path) {
    if (!written || !len) return;
    size_t n = strlen(written);
    snprintf(written + n, len - n, "%s\n", path);
}

static const char *cat_str(const cJSON *cats, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cats, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The option text of letter L (from the stored options), or "". */
static const char *option_text(const cJSON *opts, const char *gold) {
    int k = gold && gold[0] >= 'A' ? gold[0] - 'A' : -1;
    const cJSON *o = k >= 0 ? cJSON_GetArrayItem(opts, k) : NULL;
    return cJSON_IsString(o) ? o->valuestring : "";
}

/* lmms-eval's task of a row. */
static void lmms_task(const char *bench, const cJSON *cats, char *out, size_t n) {
    if (!strcmp(bench, "videomme")) snprintf(out, n, "videomme");
    else if (!strcmp(bench, "longvideobench")) snprintf(out, n, "longvideobench_val_v");
    else if (!strcmp(bench, "mlvu")) snprintf(out, n, "mlvu_dev");
    else snprintf(out, n, "mvbench_%s", cat_str(cats, "task"));
}

static const char *lmms_metric(const char *bench) {
    return !strcmp(bench, "videomme")         ? "videomme_perception_score"
           : !strcmp(bench, "longvideobench") ? "lvb_acc"
           : !strcmp(bench, "mlvu")           ? "mlvu_percetion_score"
                                              : "mvbench_accuracy";
}

/* The metric dict process_results writes for a row, filled from what the store holds. */
static cJSON *lmms_metric_dict(const char *bench, const peer_row *r, const cJSON *cats) {
    cJSON *m = cJSON_CreateObject();
    if (!m) return NULL;
    if (!strcmp(bench, "videomme")) {
        cJSON_AddStringToObject(m, "question_id", r->sample_id);
        cJSON_AddStringToObject(m, "duration", cat_str(cats, "duration"));
        cJSON_AddStringToObject(m, "category", cat_str(cats, "domain"));
        cJSON_AddStringToObject(m, "sub_category", cat_str(cats, "sub_category"));
        cJSON_AddStringToObject(m, "task_category", cat_str(cats, "task_type"));
        cJSON_AddStringToObject(m, "pred_answer", r->parsed);
        cJSON_AddStringToObject(m, "answer", r->gold);
        cJSON_AddNumberToObject(m, "score", r->correct ? 1.0 : 0.0);
        cJSON_AddStringToObject(m, "videoID", r->video_id ? r->video_id : "");
    } else if (!strcmp(bench, "longvideobench")) {
        cJSON_AddStringToObject(m, "id", r->sample_id);
        cJSON_AddNumberToObject(m, "duration_group", strtod(cat_str(cats, "duration_group"), NULL));
        cJSON_AddStringToObject(m, "question_category", cat_str(cats, "question_category"));
        cJSON_AddStringToObject(m, "answer", r->gold);
        cJSON_AddStringToObject(m, "parsed_pred", r->parsed);
    } else if (!strcmp(bench, "mlvu")) {
        cJSON_AddStringToObject(m, "question_id", "");
        cJSON_AddStringToObject(m, "task_type", cat_str(cats, "task"));
        cJSON_AddStringToObject(m, "pred_answer", r->parsed);
        cJSON_AddStringToObject(m, "answer", r->gold);
    } else {
        cJSON_AddStringToObject(m, "pred_answer", r->raw);
        cJSON_AddStringToObject(m, "gt_answer", r->gold);
        cJSON_AddNumberToObject(m, "score", r->correct);
    }
    return m;
}

int db_export_lmms(db_store *db, const char *key, const char *dir, char *written, size_t written_len) {
    db_run_record rec;
    peer_rows pr;
    if (written && written_len) written[0] = '\0';
    int prc = peer_load(db, key, &rec, &pr);
    if (prc) return prc;
    int rc = DB_ERR_IO;
    char date[32] = "", path[1400], task[160];
    cJSON *results = cJSON_CreateObject(), *per_task = cJSON_CreateObject(), *n_samples = cJSON_CreateObject();
    cJSON *versions = cJSON_CreateObject(), *nshot = cJSON_CreateObject(), *hib = cJSON_CreateObject();
    cJSON *subtasks = cJSON_CreateArray();
    FILE *f = NULL;
    if (!results || !per_task || !n_samples || !versions || !nshot || !hib || !subtasks) goto oom;
    if (make_dir(db, dir)) goto out;
    /* "<date>": the run's creation time as lmms-eval names its files */
    for (const char *c = rec.created; *c && strlen(date) < 15; c++)
        if (*c >= '0' && *c <= '9') snprintf(date + strlen(date), sizeof date - strlen(date), "%c", *c);
    if (strlen(date) == 14) memmove(date + 9, date + 8, 7), date[8] = '_';
    /* one file per task, rows in the run's order; doc_id counts within the task */
    for (size_t i = 0; i < pr.n; i++) {
        cJSON *cats = cJSON_Parse(pr.rows[i].categories);
        lmms_task(rec.benchmark, cats, task, sizeof task);
        cJSON_Delete(cats);
        if (cJSON_GetObjectItemCaseSensitive(per_task, task)) continue;
        cJSON_AddItemToObject(per_task, task, cJSON_CreateObject());
        snprintf(path, sizeof path, "%s/%s_samples_%s.jsonl", dir, date, task);
        if (!(f = fopen(path, "w"))) {
            db_set_err(db, DB_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            goto out;
        }
        tb_agg ag;
        tb_agg_init(&ag, "micro");
        int64_t doc = 0, n_task = 0;
        for (size_t j = i; j < pr.n; j++) {
            const peer_row *r = &pr.rows[j];
            char t2[160];
            cJSON *c2 = cJSON_Parse(r->categories), *opts = r->options ? cJSON_Parse(r->options) : NULL;
            lmms_task(rec.benchmark, c2, t2, sizeof t2);
            if (strcmp(t2, task)) {
                cJSON_Delete(c2), cJSON_Delete(opts);
                continue;
            }
            cJSON *line = cJSON_CreateObject(), *tb = cJSON_CreateObject();
            cJSON_AddNumberToObject(line, "doc_id", (double)doc++);
            if (!strcmp(rec.benchmark, "mvbench")) cJSON_AddStringToObject(line, "target", option_text(opts, r->gold));
            else if (!strcmp(rec.benchmark, "longvideobench")) {
                char cc[8];
                snprintf(cc, sizeof cc, "%d", r->gold[0] ? r->gold[0] - 'A' : 0);
                cJSON_AddStringToObject(line, "target", cc);
            } else cJSON_AddStringToObject(line, "target", r->gold);
            cJSON_AddStringToObject(line, "filtered_resps", r->raw);
            cJSON_AddItemToObject(line, lmms_metric(rec.benchmark), lmms_metric_dict(rec.benchmark, r, c2));
            if (!strcmp(rec.benchmark, "longvideobench")) {
                cJSON *sub = cJSON_CreateObject();
                cJSON_AddStringToObject(sub, r->sample_id, r->raw);
                cJSON_AddItemToObject(line, "submission", sub);
            }
            char hash[65];
            tb_sha256_hex(r->sample_id, strlen(r->sample_id), hash);
            cJSON_AddStringToObject(line, "doc_hash", hash);
            cJSON_AddStringToObject(line, "input", "");
            cJSON_AddStringToObject(tb, "sample_id", r->sample_id);
            if (r->video_id) cJSON_AddStringToObject(tb, "video_id", r->video_id);
            else cJSON_AddNullToObject(tb, "video_id");
            cJSON_AddStringToObject(tb, "gold", r->gold);
            if (opts) cJSON_AddItemToObject(tb, "options", opts), opts = NULL;
            else cJSON_AddNullToObject(tb, "options");
            cJSON_AddItemToObject(tb, "categories", c2 ? c2 : cJSON_CreateObject());
            c2 = NULL;
            cJSON_AddStringToObject(tb, "convention", rec.convention);
            cJSON_AddItemToObject(line, "tango_bench", tb);
            char *text = cJSON_PrintUnformatted(line);
            cJSON_Delete(line), cJSON_Delete(opts);
            if (!text) goto oom;
            fprintf(f, "%s\n", text);
            free(text);
            tb_agg_add(&ag, r->score, NULL);
            n_task++;
        }
        if (fclose(f)) {
            f = NULL;
            db_set_err(db, DB_ERR_IO, "%s: write failed", path);
            goto out;
        }
        f = NULL;
        note_written(written, written_len, path);
        /* the task's headline number in lmms-eval's unit (a fraction for LongVideoBench) */
        double acc = tb_agg_value(&ag);
        if (strcmp(rec.benchmark, "mvbench") && db_run_accuracy(db, key, rec.aggregate, &acc)) goto out;
        char mkey[96], skey[112];
        snprintf(mkey, sizeof mkey, "%s,none", lmms_metric(rec.benchmark));
        snprintf(skey, sizeof skey, "%s_stderr,none", lmms_metric(rec.benchmark));
        cJSON *tr = cJSON_CreateObject();
        cJSON_AddStringToObject(tr, "alias", task);
        if (isnan(acc)) cJSON_AddNullToObject(tr, mkey);
        else cJSON_AddNumberToObject(tr, mkey, !strcmp(rec.benchmark, "longvideobench") ? acc : 100 * acc);
        cJSON_AddStringToObject(tr, skey, "N/A");
        cJSON_AddItemToObject(results, task, tr);
        cJSON *ns = cJSON_CreateObject();
        cJSON_AddNumberToObject(ns, "original", (double)n_task);
        cJSON_AddNumberToObject(ns, "effective", (double)n_task);
        cJSON_AddItemToObject(n_samples, task, ns);
        cJSON_AddStringToObject(versions, task, "Yaml");
        cJSON_AddNumberToObject(nshot, task, 0);
        cJSON *h = cJSON_CreateObject();
        cJSON_AddTrueToObject(h, lmms_metric(rec.benchmark));
        cJSON_AddItemToObject(hib, task, h);
        if (!strcmp(rec.benchmark, "mvbench")) cJSON_AddItemToArray(subtasks, cJSON_CreateString(task));
    }
    cJSON *root = cJSON_CreateObject();
    if (!root) goto oom;
    cJSON_AddItemToObject(root, "results", results);
    cJSON *groups = cJSON_CreateObject();
    if (!strcmp(rec.benchmark, "mvbench")) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "alias", "mvbench");
        cJSON_AddItemToObject(results, "mvbench", g);
        cJSON_AddItemToObject(groups, "mvbench", subtasks);
    } else {
        cJSON_Delete(subtasks);
    }
    subtasks = NULL;
    cJSON_AddItemToObject(root, "group_subtasks", groups);
    cJSON_AddItemToObject(root, "configs", cJSON_CreateObject());
    cJSON_AddItemToObject(root, "versions", versions);
    cJSON_AddItemToObject(root, "n-shot", nshot);
    cJSON_AddItemToObject(root, "higher_is_better", hib);
    cJSON_AddItemToObject(root, "n-samples", n_samples);
    results = versions = nshot = hib = n_samples = NULL;
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "model", "tango-bench");
    cJSON_AddStringToObject(cfg, "model_args", rec.model);
    cJSON_AddItemToObject(root, "config", cfg);
    cJSON_AddStringToObject(root, "model_name", rec.model);
    cJSON_AddStringToObject(root, "date", date);
    cJSON *tb = cJSON_CreateObject();
    cJSON_AddStringToObject(tb, "run_key", key);
    cJSON_AddStringToObject(tb, "benchmark", rec.benchmark);
    cJSON_AddStringToObject(tb, "method", rec.method);
    cJSON_AddStringToObject(tb, "convention", rec.convention);
    cJSON_AddStringToObject(tb, "aggregate", rec.aggregate);
    cJSON *params = cJSON_Parse(rec.params_json);
    cJSON_AddItemToObject(tb, "params", params ? params : cJSON_CreateObject());
    cJSON_AddStringToObject(tb, "code_version", rec.code_version);
    cJSON_AddItemToObject(root, "tango_bench", tb);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) goto oom;
    snprintf(path, sizeof path, "%s/%s_results.json", dir, date);
    if (!(f = fopen(path, "w"))) {
        free(text);
        db_set_err(db, DB_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    fprintf(f, "%s\n", text);
    free(text);
    if (fclose(f)) {
        f = NULL;
        db_set_err(db, DB_ERR_IO, "%s: write failed", path);
        goto out;
    }
    f = NULL;
    note_written(written, written_len, path);
    rc = DB_OK;
    goto out;
oom:
    db_set_err(db, DB_ERR_IO, "out of memory exporting run %.12s", key);
out:
    if (f) fclose(f);
    cJSON_Delete(results), cJSON_Delete(per_task), cJSON_Delete(n_samples), cJSON_Delete(versions);
    cJSON_Delete(nshot), cJSON_Delete(hib), cJSON_Delete(subtasks);
    peer_rows_free(&pr);
    db_run_record_free(&rec);
    return rc;
}

/* ---- VLMEvalKit -------------------------------------------------------------------------------- */

/* A field of VLMEvalKit's CSV: always quoted, quotes doubled (csv.QUOTE_ALL). */
static void qfield(FILE *f, const char *s, int first) {
    if (!first) fputc(',', f);
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* str(list_of_str) as Python prints it, so that VLMEvalKit's eval() reads it back. */
static char *py_list(const cJSON *opts, int with_letters) {
    tb_buf b;
    tb_buf_init(&b, (size_t)16 << 20);
    int st = tb_buf_puts(&b, "[");
    int k = 0;
    for (const cJSON *o = opts ? opts->child : NULL; !st && o; o = o->next, k++) {
        const char *s = cJSON_IsString(o) ? o->valuestring : "";
        char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
        st = tb_buf_printf(&b, "%s%c", k ? ", " : "", q);
        if (!st && with_letters) st = tb_buf_printf(&b, "%c. ", 'A' + k);
        for (const unsigned char *c = (const unsigned char *)s; !st && *c; c++) {
            if (*c == '\\' || *c == (unsigned char)q) st = tb_buf_printf(&b, "\\%c", *c);
            else if (*c == '\n') st = tb_buf_puts(&b, "\\n");
            else if (*c == '\r') st = tb_buf_puts(&b, "\\r");
            else if (*c == '\t') st = tb_buf_puts(&b, "\\t");
            else if (*c < 0x20 || *c == 0x7f) st = tb_buf_printf(&b, "\\x%02x", *c);
            else st = tb_buf_append(&b, c, 1);
        }
        if (!st) st = tb_buf_printf(&b, "%c", q);
    }
    if (!st) st = tb_buf_puts(&b, "]");
    if (st) {
        tb_buf_free(&b);
        return NULL;
    }
    return tb_buf_take(&b);
}

/* MVBench's task stem ("fine_grained_action") as VLMEvalKit names it ("Fine-grained Action"). */
static void vlmeval_task_type(const char *stem, char *out, size_t n) {
    size_t k = 0;
    int word_start = 1, fine = !strncmp(stem, "fine_grained_", 13);
    for (const char *c = stem; *c && k + 1 < n; c++) {
        if (*c == '_') {
            out[k++] = fine && c == stem + 4 ? '-' : ' ';
            word_start = !(fine && c == stem + 4);
            continue;
        }
        out[k++] = word_start && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
        word_start = 0;
    }
    out[k] = '\0';
}

int db_export_vlmeval(db_store *db, const char *key, const char *dir, char *written, size_t written_len) {
    db_run_record rec;
    peer_rows pr;
    if (written && written_len) written[0] = '\0';
    int prc = peer_load(db, key, &rec, &pr);
    if (prc) return prc;
    int rc = DB_ERR_IO;
    FILE *f = NULL;
    const char *b = rec.benchmark;
    int is_vmme = !strcmp(b, "videomme"), is_lvb = !strcmp(b, "longvideobench"), is_mvb = !strcmp(b, "mvbench");
    const char *dataset = is_vmme ? "Video-MME" : is_lvb ? "LongVideoBench" : is_mvb ? "MVBench" : "MLVU_MCQ";
    if (!is_vmme && !is_lvb && !is_mvb && strcmp(b, "mlvu")) {
        db_set_err(db, DB_ERR_INVALID, "run %.12s: benchmark '%s' has no VLMEvalKit layout", key, b);
        goto out;
    }
    char model[256], path[1400];
    snprintf(model, sizeof model, "%s", rec.model);
    for (char *c = model; *c; c++)
        if (*c == '/' || *c == ' ') *c = '_';
    if (make_dir(db, dir)) goto out;
    snprintf(path, sizeof path, "%s/%s_%s_score.csv", dir, model, dataset);
    if (!(f = fopen(path, "w"))) {
        db_set_err(db, DB_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        goto out;
    }
    static const char *const h_vmme[] = {"index", "video", "duration", "domain", "sub_category", "task_type",
                                         "question", "candidates", "answer", "prediction", "score", "question_id",
                                         "sample_id", NULL};
    static const char *const h_lvb[] = {"index", "video", "id", "question", "candidates", "correct_choice",
                                        "duration_group", "question_category", "topic_category", "level",
                                        "prediction", "score", "sample_id", NULL};
    static const char *const h_mc[] = {"index", "task_type", "video", "question", "candidates", "answer",
                                       "prediction", "score", "sample_id", NULL};
    const char *const *h = is_vmme ? h_vmme : is_lvb ? h_lvb : h_mc;
    for (int i = 0; h[i]; i++) qfield(f, h[i], i == 0);
    fputc('\n', f);
    for (size_t i = 0; i < pr.n; i++) {
        const peer_row *r = &pr.rows[i];
        cJSON *cats = cJSON_Parse(r->categories), *opts = r->options ? cJSON_Parse(r->options) : NULL;
        char *cands = py_list(opts, is_vmme), idx[32], score[32] = "", tt[128], cc[8];
        if (!cands) {
            cJSON_Delete(cats), cJSON_Delete(opts);
            goto oom;
        }
        snprintf(idx, sizeof idx, "%zu", i);
        if (!isnan(r->score)) snprintf(score, sizeof score, "%g", r->score);
        const char *video = r->video_id ? r->video_id : "";
        if (is_vmme) {
            const char *v[] = {idx, video, cat_str(cats, "duration"), cat_str(cats, "domain"),
                               cat_str(cats, "sub_category"), cat_str(cats, "task_type"), "", cands, r->gold, r->raw,
                               score, r->sample_id, r->sample_id};
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) qfield(f, v[k], k == 0);
        } else if (is_lvb) {
            snprintf(cc, sizeof cc, "%d", r->gold[0] ? r->gold[0] - 'A' : 0);
            const char *v[] = {idx, video, r->sample_id, "", cands, cc, cat_str(cats, "duration_group"),
                               cat_str(cats, "question_category"), cat_str(cats, "topic_category"),
                               cat_str(cats, "level"), r->raw, score, r->sample_id};
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) qfield(f, v[k], k == 0);
        } else {
            if (is_mvb) vlmeval_task_type(cat_str(cats, "task"), tt, sizeof tt);
            else snprintf(tt, sizeof tt, "%s", cat_str(cats, "task"));
            const char *v[] = {idx, tt, video, "", cands, option_text(opts, r->gold), r->raw, score, r->sample_id};
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) qfield(f, v[k], k == 0);
        }
        fputc('\n', f);
        free(cands);
        cJSON_Delete(cats), cJSON_Delete(opts);
    }
    if (fclose(f)) {
        f = NULL;
        db_set_err(db, DB_ERR_IO, "%s: write failed", path);
        goto out;
    }
    f = NULL;
    note_written(written, written_len, path);
    rc = DB_OK;
    goto out;
oom:
    db_set_err(db, DB_ERR_IO, "out of memory exporting run %.12s", key);
out:
    if (f) fclose(f);
    peer_rows_free(&pr);
    db_run_record_free(&rec);
    return rc;
}
