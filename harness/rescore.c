/* rescore.c - stored raw outputs scored under a convention (see rescore.h). */
#include "harness/rescore.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hs_stored_free(hs_stored *st) {
    if (!st) return;
    cJSON_Delete(st->owner);
    memset(st, 0, sizeof *st);
}

int hs_sample_from_stored(ds_bench bench, ds_convention conv, const char *sample_id, const char *gold,
                          const char *options_json, hs_stored *out, char *err, size_t err_len) {
    static char empty[] = "";
    memset(out, 0, sizeof *out);
    ds_sample *s = &out->s;
    s->id = (char *)(sample_id ? sample_id : "?");
    s->bench = bench;
    if (!gold || strlen(gold) != 1 || gold[0] < 'A' || gold[0] >= 'A' + DS_MAX_OPTIONS) {
        snprintf(err, err_len, "sample %s: gold '%s' is not an option letter", s->id, gold ? gold : "");
        return -1;
    }
    s->gold = gold[0];
    if (options_json) {
        cJSON *a = cJSON_Parse(options_json);
        out->owner = a;
        int ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) >= 1 && cJSON_GetArraySize(a) <= DS_MAX_OPTIONS;
        for (cJSON *it = ok ? a->child : NULL; it; it = it->next) {
            if (!cJSON_IsString(it)) ok = 0;
            else s->options[s->n_options++] = it->valuestring;
        }
        if (!ok) {
            snprintf(err, err_len, "sample %s: stored options are not a JSON array of 1 to %d strings", s->id,
                     DS_MAX_OPTIONS);
            hs_stored_free(out);
            return -1;
        }
    } else if (bench == DS_BENCH_VIDEOMME || bench == DS_BENCH_LONGVIDEOBENCH) {
        s->n_options = bench == DS_BENCH_VIDEOMME ? 4 : 5;
    } else if (!ds_convention_lmms(conv)) {
        snprintf(err, err_len,
                 "sample %s: no option texts stored (recorded by an older tango-bench, or imported without them); "
                 "%s scores %s with them",
                 s->id, ds_convention_name(conv), ds_bench_name(bench));
        return -1;
    } else {
        s->n_options = s->gold - 'A' + 1 > 4 ? s->gold - 'A' + 1 : 4;
    }
    for (int i = 0; i < s->n_options; i++)
        if (!s->options[i]) s->options[i] = empty;
    if (s->gold >= 'A' + s->n_options) {
        snprintf(err, err_len, "sample %s: gold %c is past its %d options", s->id, s->gold, s->n_options);
        hs_stored_free(out);
        return -1;
    }
    return 0;
}

typedef struct {
    ds_bench bench;
    ds_convention conv;
} rescore_ctx;

static int rescore_row(const db_sample_row *row, db_rescored *out, void *vctx, char *err, size_t err_len) {
    rescore_ctx *c = vctx;
    hs_stored st;
    if (hs_sample_from_stored(c->bench, c->conv, row->sample_id, row->gold, row->options_json, &st, err, err_len))
        return -1;
    ds_answer a;
    int rc = ds_answer_score(&st.s, c->conv, row->raw_output ? row->raw_output : "", &a, err, err_len);
    hs_stored_free(&st);
    if (rc) return -1;
    snprintf(out->parsed, sizeof out->parsed, "%s", a.parse == DS_PARSE_OK ? (char[2]){a.letter, 0} : "");
    out->correct = a.correct;
    out->parse_failed = a.parse != DS_PARSE_OK;
    out->score = a.score;
    return 0;
}

int hs_rescore_run(db_store *db, const char *src, const db_run_record *rec, ds_convention conv,
                   char key[DB_KEY_LEN + 1], int *existed, int64_t *n_samples, char *err, size_t err_len) {
    ds_bench bench;
    if (ds_bench_parse(rec->benchmark, &bench)) {
        snprintf(err, err_len, "run %.12s: benchmark '%s' has no scoring rules", src, rec->benchmark);
        return -1;
    }
    char aggregate[512], code_version[1024];
    if (ds_aggregate_describe(conv, bench, aggregate, sizeof aggregate)) {
        snprintf(err, err_len, "aggregation rule too long");
        return -1;
    }
    snprintf(code_version, sizeof code_version, "%s | rescored by tango-bench %s (git %s)", rec->code_version,
             TB_VERSION, TB_GIT_REV);
    cJSON *params = cJSON_Parse(rec->params_json);
    if (!cJSON_IsObject(params)) {
        cJSON_Delete(params);
        snprintf(err, err_len, "run %.12s: its params are not a JSON object", src);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(params, "rescored_from");
    cJSON_AddStringToObject(params, "rescored_from", src);
    char *params_text = cJSON_PrintUnformatted(params);
    cJSON_Delete(params);
    if (!params_text) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    db_run_spec spec = db_run_record_spec(rec);
    spec.convention = ds_convention_name(conv);
    spec.aggregate = aggregate;
    spec.params_json = params_text;
    spec.code_version = code_version;
    rescore_ctx c = {bench, conv};
    int rc = db_run_rescore(db, src, &spec, rescore_row, &c, key, existed, n_samples);
    free(params_text);
    if (rc) {
        snprintf(err, err_len, "%s", db_errmsg(db));
        return -1;
    }
    return 0;
}
