/* ds_score.c - the scoring conventions (named, versioned rule sets of the peers), the entry point
 * ds_answer_score that dispatches to VLMEvalKit's (ds_score_vlmeval.c) or lmms-eval's
 * (ds_score_lmms.c) rules, and each convention's aggregation rule. */
#include "datasets/ds_score_internal.h"
#include "datasets/ds_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int lmms;
    const char *source;
} conventions[DS_CONV_COUNT] = {
    [DS_CONV_VLMEVALKIT] = {"vlmevalkit", 0,
                            "xjtupanda/Tango@cc815b6 VLMEvalKit/vlmeval (dataset/{videomme,longvideobench,mvbench,mlvu}.py "
                            "evaluate, dataset/utils/*.py, utils/matching_util.py), exact matching, pandas-read predictions"},
    [DS_CONV_LMMS_EVAL] = {"lmms-eval", 1,
                           "xjtupanda/Tango@cc815b6 lmms-eval/lmms_eval (tasks/{videomme,mvbench,longvideobench,mlvu}/"
                           "utils.py, api/reasoning.py; equal to lmms-eval 0.7.1 on PyPI for these tasks)"},
    [DS_CONV_VLMEVALKIT_E8E78F0] = {"vlmevalkit@e8e78f0", 0,
                                    "open-compass/VLMEvalKit@e8e78f0 vlmeval (the same files), exact matching, "
                                    "pandas-read predictions"},
    [DS_CONV_LMMS_EVAL_073] = {"lmms-eval@0.7.3", 1,
                               "lmms-eval 0.7.3 (PyPI): tasks/{videomme,mvbench,longvideobench,mlvu}/utils.py, "
                               "tasks/_task_utils/mcq_extract.py, api/reasoning.py"},
};

const char *ds_convention_name(ds_convention c) {
    return (unsigned)c < DS_CONV_COUNT ? conventions[c].name : NULL;
}

const char *ds_convention_source(ds_convention c) {
    return (unsigned)c < DS_CONV_COUNT ? conventions[c].source : NULL;
}

int ds_convention_lmms(ds_convention c) { return (unsigned)c < DS_CONV_COUNT && conventions[c].lmms; }

int ds_convention_parse(const char *name, ds_convention *out) {
    for (int i = 0; name && i < DS_CONV_COUNT; i++)
        if (!strcmp(name, conventions[i].name)) {
            *out = (ds_convention)i;
            return 0;
        }
    return -1;
}

const char *ds_convention_names(void) { return "vlmevalkit|lmms-eval|vlmevalkit@e8e78f0|lmms-eval@0.7.3"; }

/* ---- aggregation -------------------------------------------------------------------------------- */

/* lmms-eval mlvu_dev's TASK_TYPES: the seven M-Dev tasks, each weighing 1/7. */
static const char *const mlvu_tasks[] = {"anomaly_reco", "count", "ego", "needle", "order", "plotQA", "topic_reasoning"};

int ds_aggregate_describe(ds_convention c, ds_bench b, char *buf, size_t buf_len) {
    size_t n;
    if (ds_convention_lmms(c) && b == DS_BENCH_MLVU) {
        n = (size_t)snprintf(buf, buf_len, "macro:task:");
        for (size_t i = 0; i < sizeof mlvu_tasks / sizeof mlvu_tasks[0] && n < buf_len; i++)
            n += (size_t)snprintf(buf + n, buf_len - n, "%s%s", i ? "," : "", mlvu_tasks[i]);
    } else {
        n = (size_t)snprintf(buf, buf_len, "micro");
    }
    return n < buf_len ? 0 : -1;
}

/* ---- scoring ------------------------------------------------------------------------------------ */

void ds_answer_letter_set(const ds_sample *s, char L, ds_answer *out) {
    out->letter = L;
    out->parse = L ? DS_PARSE_OK : DS_PARSE_FAILED;
    out->correct = L && L == s->gold;
}

int ds_answer_score_n(const ds_sample *s, ds_convention conv, const char *prediction, size_t len, ds_answer *out,
                      char *err, size_t err_len) {
    if (!s || !out) return ds_fail(err, err_len, DS_ERR_ARG, "ds_answer_score: NULL argument");
    memset(out, 0, sizeof *out);
    if ((unsigned)conv >= DS_CONV_COUNT) return ds_fail(err, err_len, DS_ERR_ARG, "unknown scoring convention");
    if ((unsigned)s->bench >= DS_BENCH_COUNT)
        return ds_fail(err, err_len, DS_ERR_ARG, "sample %s has an unknown benchmark", s->id ? s->id : "?");
    if (s->n_options < 1 || s->n_options > DS_MAX_OPTIONS || s->gold < 'A' || s->gold >= 'A' + s->n_options)
        return ds_fail(err, err_len, DS_ERR_ARG, "sample %s has no valid gold letter", s->id ? s->id : "?");
    if (!prediction) prediction = "", len = 0;
    int st = ds_convention_lmms(conv) ? ds_score_lmms(s, conv, prediction, len, out)
                                      : ds_score_vlmeval(s, conv, prediction, len, out);
    if (st == DS_ERR_NOMEM) return ds_fail(err, err_len, st, "out of memory scoring sample %s", s->id ? s->id : "?");
    if (st) return ds_fail(err, err_len, st, "cannot score sample %s", s->id ? s->id : "?");
    if (out->parse != DS_PARSE_OK) out->letter = 0;
    return DS_OK;
}

int ds_answer_score(const ds_sample *s, ds_convention conv, const char *prediction, ds_answer *out, char *err,
                    size_t err_len) {
    return ds_answer_score_n(s, conv, prediction, prediction ? strlen(prediction) : 0, out, err, err_len);
}
