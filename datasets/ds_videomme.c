/* ds_videomme.c - the Video-MME adapter (datasets.md §2): one annotation record (a row of the
 * rows API or of a local JSON file) -> ds_sample. Options arrive as "A. text"; the video is
 * <videoID>.<ext> under the videos root, video/ or data/. */
#include "datasets/ds_adapt_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ds_adapt_videomme(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s) {
    const char *qid, *dur, *domain, *subcat, *vid, *task, *q, *ans, *tmp;
    int st;
    if ((st = ds_rec_str(c, rec, "question_id", 1, &qid)) || (st = ds_rec_str(c, rec, "duration", 1, &dur)) ||
        (st = ds_rec_str(c, rec, "domain", 1, &domain)) || (st = ds_rec_str(c, rec, "sub_category", 1, &subcat)) ||
        (st = ds_rec_str(c, rec, "videoID", 1, &vid)) || (st = ds_rec_str(c, rec, "task_type", 1, &task)) ||
        (st = ds_rec_str(c, rec, "question", 1, &q)) || (st = ds_rec_str(c, rec, "answer", 1, &ans)) ||
        (st = ds_rec_str(c, rec, "video_id", 1, &tmp)) || (st = ds_rec_str(c, rec, "url", 0, &tmp)))
        return st;
    if (strcmp(dur, "short") && strcmp(dur, "medium") && strcmp(dur, "long"))
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA,
                       "%s: record %zu: field 'duration': '%s' is not short, medium or long", c->source, c->index, dur);
    if ((st = ds_rec_options(c, rec, "options", s))) return st;
    /* options are stored "A. text": keep the raw strings for the prompt, strip for the sample */
    for (int i = 0; i < s->n_options; i++) {
        char *o = s->options[i];
        if (o[0] != 'A' + i || o[1] != '.')
            return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA,
                           "%s: record %zu: field 'options[%d]': expected the prefix \"%c.\"", c->source, c->index, i,
                           'A' + i);
        s->options_raw[i] = o;
        s->options[i] = ds_strdup(o + (o[2] == ' ' ? 3 : 2));
        if (!s->options[i]) return DS_ERR_NOMEM;
    }
    if (strlen(ans) != 1 || ans[0] < 'A' || ans[0] >= 'A' + s->n_options)
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field 'answer': '%s' is not an option letter",
                       c->source, c->index, ans);
    s->gold = ans[0];
    if ((st = ds_rec_path(c, "videoID", vid))) return st;
    if (strchr(vid, '/'))
        return ds_fail(c->err, c->err_len, DS_ERR_PATH, "%s: record %zu: field 'videoID': '%s' is not a file stem",
                       c->source, c->index, vid);
    static const char *const dirs[] = {"", "video/", "data/"};
    static const char *const exts[] = {".mp4", ".MP4", ".mkv", ".MKV", ".webm", ".mov", ".avi"};
    char *rels[21];
    int n = 0;
    for (size_t d = 0; d < 3; d++)
        for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) rels[n++] = ds_cat3(dirs[d], vid, exts[e]);
    if ((st = ds_resolve_list(c, s, a->root, rels, n))) return st;
    s->id = ds_strdup(qid);
    s->question = ds_strdup(q);
    if (!s->id || !s->question) return DS_ERR_NOMEM;
    if ((st = ds_add_category(s, "duration", dur)) || (st = ds_add_category(s, "domain", domain)) ||
        (st = ds_add_category(s, "sub_category", subcat)) || (st = ds_add_category(s, "task_type", task)))
        return st;
    return DS_OK;
}
