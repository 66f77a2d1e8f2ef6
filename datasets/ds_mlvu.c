/* ds_mlvu.c - the MLVU-Dev multiple-choice adapter (datasets.md §5): one record of
 * MLVU/json/<n>_<task>.json -> ds_sample, with the table of the seven task files. */
#include "datasets/ds_adapt_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MLVU-Dev MCQ tasks: file stem, task name. */
static const char *const mlvu_files[][2] = {
    {"1_plotQA", "plotQA"},   {"2_needle", "needle"}, {"3_ego", "ego"},
    {"4_count", "count"},     {"5_order", "order"},   {"6_anomaly_reco", "anomaly_reco"},
    {"7_topic_reasoning", "topic_reasoning"},
};
#define N_MLVU_FILES (sizeof mlvu_files / sizeof mlvu_files[0])
_Static_assert(N_MLVU_FILES == DS_MLVU_N_FILES, "DS_MLVU_N_FILES must match the file table");

const char *ds_mlvu_file_stem(size_t i) { return i < N_MLVU_FILES ? mlvu_files[i][0] : NULL; }

int ds_adapt_mlvu(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s) {
    const char *video, *q, *ans, *qt;
    int st;
    if ((st = ds_rec_str(c, rec, "video", 1, &video)) || (st = ds_rec_str(c, rec, "question", 1, &q)) ||
        (st = ds_rec_str(c, rec, "answer", 1, &ans)) || (st = ds_rec_str(c, rec, "question_type", 0, &qt)) ||
        (st = ds_rec_num(c, rec, "duration", 0, &s->duration)) || (st = ds_rec_options(c, rec, "candidates", s)) ||
        (st = ds_answer_letter(c, s, ans, "answer")))
        return st;
    s->start = s->end = NAN;
    if ((st = ds_rec_path(c, "video", video))) return st;
    const char *task = a->task;
    for (size_t i = 0; i < N_MLVU_FILES; i++)
        if (!strcmp(mlvu_files[i][0], a->task)) task = mlvu_files[i][1];
    char *dir = ds_cat3(a->task, "/", "");
    if (!dir) return DS_ERR_NOMEM;
    char *rels[] = {ds_cat3("MLVU/video/", dir, video), ds_cat3("video/", dir, video), ds_cat3(dir, video, "")};
    free(dir);
    if ((st = ds_resolve_list(c, s, a->root, rels, 3))) return st;
    char idbuf[256];
    snprintf(idbuf, sizeof idbuf, "%s_%zu", task, a->index);
    s->id = ds_strdup(idbuf);
    s->question = ds_strdup(q);
    s->task = ds_strdup(task);
    if (!s->id || !s->question || !s->task) return DS_ERR_NOMEM;
    return ds_add_category(s, "task", task);
}
