/* store_export.c - a run's per-sample rows as CSV or JSON lines (tango-bench export).
 *
 * One row per stored sample (ok and failed), ordered by sample id, with the per-layer visual
 * counts joined into one space-separated field and one column per timed stage. JSON lines keep
 * categories and method_json as nested JSON; CSV quotes fields as RFC 4180 does. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

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
        " s.method_json"
        " FROM samples s WHERE s.run_key = ?1 ORDER BY s.sample_id";
    static const char *cols[] = {"sample_id", "video_id", "categories", "status", "error", "raw_output",
                                 "parsed", "gold", "correct", "parse_failed", "n_visual_in", "n_text",
                                 "flops", "equiv_retention", "peak_bytes", "visual_per_layer", "ms_decode",
                                 "ms_vision", "ms_prune", "ms_prefill", "ms_generate", "ms_total", "method_json"};
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
            } else if (c == 2 || c == N_COLS - 1) { /* categories and method_json are JSON already */
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
