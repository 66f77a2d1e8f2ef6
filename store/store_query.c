/* store_query.c - the store's read side: run listings, key prefixes, per-sample outcomes, and
 * the per-run aggregates that reports and comparisons are built from (see store.h, "Reading").
 *
 * Every statement here is a prepared read; nothing writes. Aggregates are computed in SQL over
 * the stored rows, so a report of a running study sees the rows committed so far. A number that
 * has no rows behind it (no scored sample, a stage never timed) comes back as NAN, never as 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/aggregate.h"
#include "store/store.h"
#include "store/store_internal.h"

/* ---- the headline accuracy -------------------------------------------------------------------- */

int db_run_accuracy(db_store *db, const char *key, const char *rule, double *acc) {
    tb_agg a;
    if (tb_agg_init(&a, rule)) return db_set_err(db, DB_ERR_IO, "run %.12s: bad aggregation rule '%s'", key, rule);
    sqlite3_stmt *st;
    static const char *sql = "SELECT score, CASE WHEN json_valid(categories) THEN json_extract(categories, ?2) END"
                             " FROM samples WHERE run_key = ?1 AND status = 'ok' AND score IS NOT NULL";
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_sql_err(db, "reading scores");
    char path[TB_AGG_NAME + 8];
    snprintf(path, sizeof path, "$.\"%s\"", a.key);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        tb_agg_add(&a, sqlite3_column_double(st, 0), (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_sql_err(db, "reading scores");
    *acc = tb_agg_value(&a);
    return DB_OK;
}

/* ---- listings ------------------------------------------------------------------------------ */

int db_run_resolve(db_store *db, const char *prefix, char key[DB_KEY_LEN + 1]) {
    size_t n = strlen(prefix);
    if (n < 6 || n > DB_KEY_LEN || strspn(prefix, "0123456789abcdef") != n)
        return db_set_err(db, DB_ERR_INVALID, "run key '%s' must be 6 to 64 lowercase hex digits", prefix);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT run_key FROM runs WHERE substr(run_key, 1, ?2) = ?1 LIMIT 2", -1, &st,
                           NULL) != SQLITE_OK)
        return db_sql_err(db, "looking up the run");
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)n);
    int found = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (found++ == 0) snprintf(key, DB_KEY_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_sql_err(db, "looking up the run");
    if (found == 0) return db_set_err(db, DB_ERR_NOT_FOUND, "no run with key %s", prefix);
    if (found > 1) return db_set_err(db, DB_ERR_INVALID, "run key prefix %s is ambiguous", prefix);
    return DB_OK;
}

int db_runs_list(db_store *db, int (*fn)(const db_run_info *info, void *ctx), void *ctx) {
    static const char *sql =
        "SELECT r.run_key, r.created, r.method, r.benchmark, r.model, r.status, r.n_expected,"
        " count(s.sample_id), coalesce(sum(s.status = 'failed'), 0), coalesce(sum(s.correct), 0),"
        " coalesce(sum(s.parse_failed), 0), r.convention, r.aggregate"
        " FROM runs r LEFT JOIN samples s ON s.run_key = r.run_key"
        " GROUP BY r.run_key ORDER BY r.created DESC, r.run_key";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_sql_err(db, "listing runs");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        db_run_info info;
        memset(&info, 0, sizeof info);
        snprintf(info.key, sizeof info.key, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(info.created, sizeof info.created, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(info.method, sizeof info.method, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(info.benchmark, sizeof info.benchmark, "%s", (const char *)sqlite3_column_text(st, 3));
        snprintf(info.model, sizeof info.model, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(info.status, sizeof info.status, "%s", (const char *)sqlite3_column_text(st, 5));
        info.n_expected = sqlite3_column_int64(st, 6);
        info.n_done = sqlite3_column_int64(st, 7);
        info.n_failed = sqlite3_column_int64(st, 8);
        info.n_correct = sqlite3_column_int64(st, 9);
        info.n_parse_failed = sqlite3_column_int64(st, 10);
        snprintf(info.convention, sizeof info.convention, "%s", (const char *)sqlite3_column_text(st, 11));
        if (db_run_accuracy(db, info.key, (const char *)sqlite3_column_text(st, 12), &info.accuracy)) {
            sqlite3_finalize(st);
            return DB_ERR_IO;
        }
        if (fn(&info, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_sql_err(db, "listing runs");
    return DB_OK;
}

int db_samples_each(db_store *db, const char *key, int (*fn)(const db_outcome *o, void *ctx), void *ctx) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT sample_id, video_id, categories, error, correct, parse_failed FROM samples"
                           " WHERE run_key = ?1 ORDER BY sample_id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_sql_err(db, "reading samples");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        db_outcome o = {
            .sample_id = (const char *)sqlite3_column_text(st, 0),
            .video_id = (const char *)sqlite3_column_text(st, 1),
            .categories_json = (const char *)sqlite3_column_text(st, 2),
            .error = (const char *)sqlite3_column_text(st, 3),
            .correct = sqlite3_column_int(st, 4),
            .parse_failed = sqlite3_column_int(st, 5),
        };
        if (fn(&o, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_sql_err(db, "reading samples");
    return DB_OK;
}

int db_run_count(db_store *db, int64_t *n) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT count(*) FROM runs", -1, &st, NULL) != SQLITE_OK)
        return db_sql_err(db, "counting runs");
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? DB_OK : db_sql_err(db, "counting runs");
}

/* ---- aggregates for reports ---------------------------------------------------------------- */

static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int i) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", s ? s : "");
}

static double double_or_nan(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

void db_run_summaries_free(db_run_summary *s, size_t n) {
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].visual_per_layer);
        free(s[i].params_json);
    }
    free(s);
}

/* Fills the per-run details of s (duration groups, stage means, layer means) with the three
 * prepared statements, each bound to the run key and reset afterwards. */
static int summary_details(db_store *db, db_run_summary *s, sqlite3_stmt *dur, sqlite3_stmt *ms,
                           sqlite3_stmt *layers) {
    int rc;
    sqlite3_bind_text(dur, 1, s->key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(dur)) == SQLITE_ROW) {
        if (sqlite3_column_type(dur, 0) == SQLITE_NULL || s->n_durations == DB_MAX_GROUPS) continue;
        db_group *g = &s->duration[s->n_durations++];
        copy_text(g->value, sizeof g->value, dur, 0);
        g->n = sqlite3_column_int64(dur, 1);
        g->n_correct = sqlite3_column_int64(dur, 2);
    }
    sqlite3_reset(dur);
    if (rc != SQLITE_DONE) return db_sql_err(db, "reading duration groups");

    for (int k = 0; k < DB_N_STAGES; k++) s->ms[k] = NAN;
    sqlite3_bind_text(ms, 1, s->key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(ms)) == SQLITE_ROW) {
        const char *stage = (const char *)sqlite3_column_text(ms, 0);
        for (int k = 0; stage && k < DB_N_STAGES; k++)
            if (!strcmp(stage, db_stage_names[k])) s->ms[k] = sqlite3_column_double(ms, 1);
    }
    sqlite3_reset(ms);
    if (rc != SQLITE_DONE) return db_sql_err(db, "reading timings");

    size_t cap = 0;
    sqlite3_bind_text(layers, 1, s->key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(layers)) == SQLITE_ROW) {
        int l = sqlite3_column_int(layers, 0);
        if (l != s->n_layers) break; /* a gap: keep the contiguous prefix from layer 0 */
        if ((size_t)s->n_layers == cap) {
            cap = cap ? 2 * cap : 32;
            double *grown = realloc(s->visual_per_layer, cap * sizeof *grown);
            if (!grown) {
                sqlite3_reset(layers);
                return db_set_err(db, DB_ERR_IO, "out of memory reading per-layer token counts");
            }
            s->visual_per_layer = grown;
        }
        s->visual_per_layer[s->n_layers++] = sqlite3_column_double(layers, 1);
    }
    sqlite3_reset(layers);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_sql_err(db, "reading per-layer token counts");
    return DB_OK;
}

int db_run_summaries(db_store *db, db_run_summary **out, size_t *n_out) {
    static const char *runs_sql =
        "SELECT r.run_key, r.model, r.benchmark, r.method, r.created, json_extract(r.params, '$.ratio'),"
        " count(s.sample_id), coalesce(sum(s.status = 'ok'), 0), coalesce(sum(s.status = 'failed'), 0),"
        " coalesce(sum(CASE WHEN s.status = 'ok' THEN s.correct END), 0), coalesce(sum(s.parse_failed), 0),"
        " avg(CASE WHEN s.status = 'ok' THEN s.equiv_retention END),"
        " avg(CASE WHEN s.status = 'ok' THEN s.flops END), json_extract(r.params, '$.label'), r.frame_policy,"
        " r.params, r.convention, r.aggregate"
        " FROM runs r LEFT JOIN samples s ON s.run_key = r.run_key"
        " WHERE json_valid(r.params) GROUP BY r.run_key ORDER BY r.created, r.run_key";
    static const char *dur_sql =
        "SELECT json_extract(categories, '$.duration'), count(*), sum(score) FROM samples"
        " WHERE run_key = ?1 AND status = 'ok' AND score IS NOT NULL AND json_valid(categories)"
        " GROUP BY 1 ORDER BY 1";
    static const char *ms_sql =
        "SELECT t.stage, avg(t.ms) FROM timings t JOIN samples s USING (run_key, sample_id)"
        " WHERE t.run_key = ?1 AND s.status = 'ok' GROUP BY t.stage";
    static const char *layers_sql =
        "SELECT layer, avg(visual) FROM layer_tokens WHERE run_key = ?1 GROUP BY layer ORDER BY layer";
    *out = NULL;
    *n_out = 0;
    db_run_summary *runs = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL, *dur = NULL, *ms = NULL, *layers = NULL;
    int status = DB_ERR_IO, rc;
    if (sqlite3_prepare_v2(db->db, runs_sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db, dur_sql, -1, &dur, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db, ms_sql, -1, &ms, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db, layers_sql, -1, &layers, NULL) != SQLITE_OK) {
        db_sql_err(db, "reading runs");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            db_run_summary *grown = realloc(runs, cap * sizeof *grown);
            if (!grown) {
                db_set_err(db, DB_ERR_IO, "out of memory reading runs");
                goto out;
            }
            runs = grown;
        }
        db_run_summary *s = &runs[n++];
        memset(s, 0, sizeof *s);
        copy_text(s->key, sizeof s->key, st, 0);
        copy_text(s->model, sizeof s->model, st, 1);
        copy_text(s->benchmark, sizeof s->benchmark, st, 2);
        copy_text(s->method, sizeof s->method, st, 3);
        copy_text(s->created, sizeof s->created, st, 4);
        s->target_ratio = double_or_nan(st, 5);
        s->n_samples = sqlite3_column_int64(st, 6);
        s->n_ok = sqlite3_column_int64(st, 7);
        s->n_failed = sqlite3_column_int64(st, 8);
        s->n_correct = sqlite3_column_int64(st, 9);
        s->n_parse_failed = sqlite3_column_int64(st, 10);
        s->mean_retention = double_or_nan(st, 11);
        s->mean_flops = double_or_nan(st, 12);
        if (sqlite3_column_type(st, 13) == SQLITE_TEXT) copy_text(s->label, sizeof s->label, st, 13);
        copy_text(s->frame_policy, sizeof s->frame_policy, st, 14);
        const char *pj = (const char *)sqlite3_column_text(st, 15);
        if (!(s->params_json = strdup(pj ? pj : "{}"))) {
            db_set_err(db, DB_ERR_IO, "out of memory reading runs");
            goto out;
        }
        copy_text(s->convention, sizeof s->convention, st, 16);
        copy_text(s->aggregate_rule, sizeof s->aggregate_rule, st, 17);
    }
    if (rc != SQLITE_DONE) {
        db_sql_err(db, "reading runs");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (summary_details(db, &runs[i], dur, ms, layers) ||
            db_run_accuracy(db, runs[i].key, runs[i].aggregate_rule, &runs[i].accuracy))
            goto out;
    *out = runs;
    *n_out = n;
    runs = NULL;
    status = DB_OK;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(dur);
    sqlite3_finalize(ms);
    sqlite3_finalize(layers);
    db_run_summaries_free(runs, n);
    return status;
}

void db_scored_free(db_scored *s) {
    if (!s) return;
    for (size_t i = 0; s->cluster && i < s->n; i++) free(s->cluster[i]);
    free(s->correct);
    free(s->cluster);
    memset(s, 0, sizeof *s);
}

int db_run_scored(db_store *db, const char *key, db_scored *out) {
    /* Grouped by video, the way the samples_by_video index reads them, so the order (and with
     * it the cluster numbering a bootstrap derives) does not depend on the query planner. */
    static const char *sql = "SELECT score, coalesce(video_id, sample_id) FROM samples"
                             " WHERE run_key = ?1 AND status = 'ok' AND score IS NOT NULL ORDER BY video_id, rowid";
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_sql_err(db, "reading samples");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 256;
            int *correct = realloc(out->correct, cap * sizeof *correct);
            if (correct) out->correct = correct;
            char **cluster = realloc(out->cluster, cap * sizeof *cluster);
            if (cluster) out->cluster = cluster;
            if (!correct || !cluster) goto oom;
        }
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (!(out->cluster[out->n] = strdup(v ? v : ""))) goto oom;
        out->correct[out->n++] = sqlite3_column_int(st, 0); /* 1, 0, or a penalty of -1 */
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_scored_free(out);
        return db_sql_err(db, "reading samples");
    }
    return DB_OK;
oom:
    sqlite3_finalize(st);
    db_scored_free(out);
    return db_set_err(db, DB_ERR_IO, "out of memory reading the samples of run %.12s", key);
}

/* ---- every field of a run's samples --------------------------------------------------------------- */

int db_sample_rows(db_store *db, const char *key, int (*fn)(const db_sample_row *r, void *ctx), void *ctx) {
    static const char *sql =
        "SELECT sample_id, video_id, categories, error, raw_output, parsed, gold, options, method_json,"
        " status = 'ok', correct, parse_failed, score FROM samples WHERE run_key = ?1 ORDER BY rowid";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_sql_err(db, "reading samples");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc, stop = 0;
    int64_t index = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        db_sample_row r = {
            .sample_id = (const char *)sqlite3_column_text(st, 0),
            .video_id = (const char *)sqlite3_column_text(st, 1),
            .categories_json = (const char *)sqlite3_column_text(st, 2),
            .error = (const char *)sqlite3_column_text(st, 3),
            .raw_output = (const char *)sqlite3_column_text(st, 4),
            .parsed = (const char *)sqlite3_column_text(st, 5),
            .gold = (const char *)sqlite3_column_text(st, 6),
            .options_json = (const char *)sqlite3_column_text(st, 7),
            .method_json = (const char *)sqlite3_column_text(st, 8),
            .ok = sqlite3_column_int(st, 9),
            .correct = sqlite3_column_int(st, 10),
            .parse_failed = sqlite3_column_int(st, 11),
            .score = double_or_nan(st, 12),
            .index = index++,
        };
        if ((stop = fn(&r, ctx))) break;
    }
    sqlite3_finalize(st);
    if (stop) return stop;
    if (rc != SQLITE_DONE) return db_sql_err(db, "reading samples");
    return DB_OK;
}
