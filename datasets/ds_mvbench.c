/* ds_mvbench.c - the MVBench adapter (datasets.md §3): one record of a task file json/<task>.json
 * -> ds_sample, with the task table (VLMEvalKit order) that maps each task to its video folder on
 * the main and the video branch, the data0613 overlay and the tvqa frame folders. */
#include "datasets/ds_adapt_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MVBench tasks in VLMEvalKit order: json stem, main-branch dir, frame folder?, video-branch dir. */
typedef struct {
    const char *task, *dir_main;
    int frames;
    const char *dir_video;
} mvb_task;

static const mvb_task mvb_tasks[] = {
    {"action_sequence", "star/Charades_v1_480/", 0, "star/Charades_segment/"},
    {"action_prediction", "star/Charades_v1_480/", 0, "star/Charades_segment/"},
    {"action_antonym", "ssv2_video/", 0, "ssv2_video_mp4/"},
    {"fine_grained_action", "Moments_in_Time_Raw/videos/", 0, "Moments_in_Time_Raw/videos/"},
    {"unexpected_action", "FunQA_test/test/", 0, "FunQA_test/test/"},
    {"object_existence", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"object_interaction", "star/Charades_v1_480/", 0, "star/Charades_segment/"},
    {"object_shuffle", "perception/videos/", 0, "perception/videos/"},
    {"moving_direction", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"action_localization", "sta/sta_video/", 0, "sta/sta_video_segment/"},
    {"scene_transition", "scene_qa/video/", 0, "scene_qa/video/"},
    {"action_count", "perception/videos/", 0, "perception/videos/"},
    {"moving_count", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"moving_attribute", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
    {"state_change", "perception/videos/", 0, "perception/videos/"},
    {"fine_grained_pose", "nturgbd/", 0, "nturgbd_convert/"},
    {"character_order", "perception/videos/", 0, "perception/videos/"},
    {"egocentric_navigation", "vlnqa/", 0, "vlnqa/"},
    {"episodic_reasoning", "tvqa/frames_fps3_hq/", 1, "tvqa/video_fps3_hq_segment/"},
    {"counterfactual_inference", "clevrer/video_validation/", 0, "clevrer/video_validation/"},
};
#define N_MVB_TASKS (sizeof mvb_tasks / sizeof mvb_tasks[0])
_Static_assert(N_MVB_TASKS == DS_MVBENCH_N_TASKS, "DS_MVBENCH_N_TASKS must match the task table");

const char *ds_mvbench_task_stem(size_t i) { return i < N_MVB_TASKS ? mvb_tasks[i].task : NULL; }

int ds_adapt_mvbench(const ds_rctx *c, const ds_actx *a, const cJSON *rec, ds_sample *s) {
    const char *video, *q, *ans;
    int st;
    if ((st = ds_rec_str(c, rec, "video", 1, &video)) || (st = ds_rec_str(c, rec, "question", 1, &q)) ||
        (st = ds_rec_str(c, rec, "answer", 1, &ans)) || (st = ds_rec_options(c, rec, "candidates", s)) ||
        (st = ds_answer_letter(c, s, ans, "answer")) || (st = ds_rec_num(c, rec, "start", 0, &s->start)) ||
        (st = ds_rec_num(c, rec, "end", 0, &s->end)))
        return st;
    if (isnan(s->start) != isnan(s->end))
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field '%s': present without '%s'", c->source,
                       c->index, isnan(s->start) ? "end" : "start", isnan(s->start) ? "start" : "end");
    if (!isnan(s->start) && (s->start < 0 || s->end <= s->start))
        return ds_fail(c->err, c->err_len, DS_ERR_SCHEMA, "%s: record %zu: field 'end': bounds [%g, %g] are empty",
                       c->source, c->index, s->start, s->end);
    if ((st = ds_rec_path(c, "video", video))) return st;
    const mvb_task *t = NULL;
    for (size_t i = 0; i < N_MVB_TASKS; i++)
        if (!strcmp(mvb_tasks[i].task, a->task)) t = &mvb_tasks[i];
    if (t) {
        const char *dir = a->video_branch ? t->dir_video : t->dir_main;
        if (a->video_branch) {
            char *rels[] = {ds_cat3(dir, video, ""), ds_cat3("video/", dir, video)};
            st = ds_resolve_list(c, s, a->root, rels, 2);
        } else {
            char *rels[] = {ds_cat3("video/", dir, video), ds_cat3("video/data0613/", dir, video),
                            ds_cat3("data0613/", dir, video), ds_cat3(dir, video, "")};
            /* the data0613 overlay replaces the original clip: check it first */
            char *order[] = {rels[1], rels[2], rels[0], rels[3]};
            int pick = -1;
            for (int i = 0; i < 4 && pick < 0; i++) {
                char *p = order[i] ? ds_path_join(a->root, order[i]) : NULL;
                if (!p) { /* not "absent": another candidate would be picked silently */
                    for (int j = 0; j < 4; j++) free(order[j]);
                    return DS_ERR_NOMEM;
                }
                if (ds_exists(p)) pick = i;
                free(p);
            }
            if (pick > 0) { /* move the existing one first so resolve_video picks it */
                char *tmp = order[0];
                order[0] = order[pick];
                order[pick] = tmp;
            } else if (pick < 0) { /* nothing exists: canonical is video/<dir><video> */
                char *tmp = order[0];
                order[0] = order[2];
                order[2] = tmp;
            }
            st = ds_resolve_list(c, s, a->root, order, 4);
            s->video_is_frames = t->frames;
            s->frames_fps = t->frames ? 3.0 : 0.0;
        }
    } else {
        char *rels[] = {ds_cat3(video, "", ""), ds_cat3(a->task, "/", video)};
        st = ds_resolve_list(c, s, a->root, rels, 2);
    }
    if (st) return st;
    char idbuf[256];
    snprintf(idbuf, sizeof idbuf, "%s_%zu", a->task, a->index);
    s->id = ds_strdup(idbuf);
    s->question = ds_strdup(q);
    s->task = ds_strdup(a->task);
    if (!s->id || !s->question || !s->task) return DS_ERR_NOMEM;
    return ds_add_category(s, "task", a->task);
}
