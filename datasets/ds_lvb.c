/* ds_lvb.c - the LongVideoBench adapter (datasets.md §4): one record of lvb_val.json ->
 * ds_sample; the gold answer is correct_choice, the video videos/<video_path>. */
#include "datasets/ds_adapt_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ds_adapt_lvb(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s) {
    const char *vid, *q, *id, *vpath, *qcat, *topic, *level;
    int64_t cc, dg;
    int st;
    if ((st = ds_rec_str(c, rec, "video_id", 1, &vid)) || (st = ds_rec_str(c, rec, "question", 1, &q)) ||
        (st = ds_rec_str(c, rec, "id", 1, &id)) || (st = ds_rec_str(c, rec, "video_path", 1, &vpath)) ||
        (st = ds_rec_str(c, rec, "question_category", 1, &qcat)) ||
        (st = ds_rec_str(c, rec, "topic_category", 0, &topic)) || (st = ds_rec_str(c, rec, "level", 0, &level)) ||
        (st = ds_rec_options(c, rec, "candidates", s)) ||
        (st = ds_rec_int(c, rec, "correct_choice", 0, s->n_options - 1, &cc)) ||
        (st = ds_rec_int(c, rec, "duration_group", 0, 1000000, &dg)) ||
        (st = ds_rec_num(c, rec, "duration", 0, &s->duration)))
        return st;
    s->gold = (char)('A' + cc);
    s->start = s->end = NAN;
    if ((st = ds_rec_path(c, "video_path", vpath))) return st;
    char *rels[] = {ds_cat3("videos/", vpath, ""), ds_cat3(vpath, "", "")};
    if ((st = ds_resolve_list(c, s, a->root, rels, 2))) return st;
    s->id = ds_strdup(id);
    s->question = ds_strdup(q);
    if (!s->id || !s->question) return DS_ERR_NOMEM;
    char dgs[32];
    snprintf(dgs, sizeof dgs, "%lld", (long long)dg);
    if ((st = ds_add_category(s, "duration_group", dgs)) || (st = ds_add_category(s, "question_category", qcat)))
        return st;
    if (topic && (st = ds_add_category(s, "topic_category", topic))) return st;
    if (level && (st = ds_add_category(s, "level", level))) return st;
    return DS_OK;
}
