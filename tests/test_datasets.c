/* test_datasets.c - adapters, prompts and answer extraction of datasets/datasets.h on the verbatim
 * records of specs/datasets.md (tests/fixtures/datasets), plus hostile-input cases. No network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "tests/tb_test.h"

#define FIX "tests/fixtures/datasets"

static char tmp_root[512];

static void mkdir_p(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *c = buf + 1; *c; c++)
        if (*c == '/') {
            *c = 0;
            mkdir(buf, 0777);
            *c = '/';
        }
    mkdir(buf, 0777);
}

static void write_text(const char *path, const char *text) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *s = strrchr(dir, '/');
    if (s) {
        *s = 0;
        mkdir_p(dir);
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static ds_sample_set *load(ds_bench b, const char *manifest, const char *videos) {
    ds_load_params lp = ds_load_default_params();
    lp.manifest = manifest;
    lp.videos_root = videos;
    ds_sample_set *set = NULL;
    char err[512] = "";
    int st = ds_samples_load(b, &lp, &set, err, sizeof err);
    if (st != DS_OK) print_error("load failed: %s\n", err);
    assert_int_equal(st, DS_OK);
    assert_non_null(set);
    return set;
}

/* parse a JSON text; returns status and err */
static int parse(ds_bench b, const char *json, const char *task, char *err, size_t err_len) {
    ds_sample_set *set = NULL;
    ds_load_params lp = ds_load_default_params();
    lp.videos_root = "/videos";
    int st = ds_samples_parse(b, json, strlen(json), task, "inline", &lp, &set, err, err_len);
    if (st == DS_OK) assert_non_null(set);
    else assert_null(set);
    ds_sample_set_free(set);
    return st;
}

static char *user(const ds_sample *s, tb_family fam, ds_convention conv) {
    ds_prompt_params pp = {.family = fam, .convention = conv};
    char err[512] = "";
    char *p = ds_prompt_user(s, &pp, NULL, err, sizeof err);
    if (!p) print_error("prompt failed: %s\n", err);
    assert_non_null(p);
    return p;
}

static const char *cat(const ds_sample *s, const char *key) {
    const char *v = ds_sample_category(s, key);
    assert_non_null(v);
    return v;
}

/* ============================================================================================ */

static const char VMME_USER[] =
    "\nThese are the frames of a video. Select the best answer to the following multiple-choice question based on the "
    "video. Respond with only the letter (A, B, C, or D) of the correct option.\n"
    "Question: When demonstrating the Germany modern Christmas tree is initially decorated with apples, candles and "
    "berries, which kind of the decoration has the largest number?\n"
    "A. Apples.\nB. Candles.\nC. Berries.\nD. The three kinds are of the same number.\nAnswer: ";

static void test_videomme_adapter_and_prompts(void **state) {
    (void)state;
    char root[600];
    snprintf(root, sizeof root, "%s/vmme", tmp_root);
    char vpath[700];
    snprintf(vpath, sizeof vpath, "%s/video/fFjv93ACGo8.MP4", root);
    write_text(vpath, "x");
    ds_sample_set *set = load(DS_BENCH_VIDEOMME, FIX "/videomme.jsonl", root);
    assert_int_equal(ds_sample_set_count(set), 2);
    const ds_sample *s = ds_sample_set_get(set, 0);
    assert_null(ds_sample_set_get(set, 2));
    assert_string_equal(s->id, "001-1");
    assert_int_equal(s->bench, DS_BENCH_VIDEOMME);
    assert_int_equal(s->gold, 'C');
    assert_int_equal(s->n_options, 4);
    assert_string_equal(s->options[0], "Apples.");
    assert_string_equal(s->options[3], "The three kinds are of the same number.");
    assert_string_equal(s->video, vpath); /* found by stem, case-insensitive extension */
    assert_true(isnan(s->start) && isnan(s->end));
    assert_string_equal(cat(s, "duration"), "short");
    assert_string_equal(cat(s, "domain"), "Knowledge");
    assert_string_equal(cat(s, "sub_category"), "Humanity & History");
    assert_string_equal(cat(s, "task_type"), "Counting Problem");
    assert_int_equal(ds_sample_set_get(set, 1)->gold, 'A');
    assert_null(ds_sample_category(s, "task"));
    assert_null(ds_sample_category(NULL, "task"));

    char *p = user(s, TB_FAMILY_LLAVA_OV, DS_CONV_VLMEVALKIT);
    assert_string_equal(p, VMME_USER);
    free(p);
    /* the whole chat prompt of the spec's test vector */
    ds_prompt_params pp = ds_prompt_default_params();
    char err[256];
    char *chat = ds_prompt_chat(s, &pp, NULL, err, sizeof err);
    assert_non_null(chat);
    char expect[4096];
    snprintf(expect, sizeof expect,
             "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\n%s<|im_end|>\n"
             "<|im_start|>assistant\n",
             VMME_USER);
    assert_string_equal(chat, expect);
    free(chat);
    p = user(s, TB_FAMILY_LLAVA_OV, DS_CONV_LMMS_EVAL);
    assert_string_equal(p, "Select the best answer to the following multiple-choice question based on the video and the "
                           "subtitles. Respond with only the letter (A, B, C, or D) of the correct option.\n"
                           "When demonstrating the Germany modern Christmas tree is initially decorated with apples, "
                           "candles and berries, which kind of the decoration has the largest number?\n"
                           "A. Apples.\nB. Candles.\nC. Berries.\nD. The three kinds are of the same number.\n\n"
                           "Answer with the option's letter from the given choices directly.");
    free(p);
    /* no video on disk: canonical <root>/<videoID>.mp4 */
    ds_sample_set_free(set);
    set = load(DS_BENCH_VIDEOMME, FIX "/videomme.jsonl", "/nonexistent");
    assert_string_equal(ds_sample_set_get(set, 0)->video, "/nonexistent/fFjv93ACGo8.mp4");
    ds_sample_set_free(set);
}

static void test_llava_video_time_instruction(void **state) {
    (void)state;
    ds_sample_set *set = load(DS_BENCH_VIDEOMME, FIX "/videomme.jsonl", "/v");
    const ds_sample *s = ds_sample_set_get(set, 0);
    double times[3] = {0.0, 1.5, 3.0};
    ds_video_time vt = {.duration_s = 3.0333, .frame_height = 360, .n_frames = 3, .frame_times = times};
    ds_prompt_params pp = {.family = TB_FAMILY_LLAVA_VIDEO, .convention = DS_CONV_VLMEVALKIT};
    char err[256];
    char *p = ds_prompt_user(s, &pp, &vt, err, sizeof err);
    assert_non_null(p);
    char expect[4096];
    snprintf(expect, sizeof expect,
             "The video lasts for 3.03 seconds,and 360 frames are uniformly sampled from it.These frames are located "
             "at 0.00s,1.50s,3.00s.Please answer the following questions related to this video.\n%s",
             VMME_USER);
    assert_string_equal(p, expect);
    free(p);
    p = ds_prompt_user(s, &pp, NULL, err, sizeof err); /* placeholders without video info */
    assert_non_null(p);
    assert_non_null(strstr(p, "lasts for {DUR} seconds,and {H} frames"));
    free(p);
    pp.convention = DS_CONV_LMMS_EVAL;
    assert_null(ds_prompt_user(s, &pp, NULL, err, sizeof err));
    assert_non_null(strstr(err, "llava-ov"));
    ds_sample_set_free(set);
}

static void test_mvbench_adapter_and_prompts(void **state) {
    (void)state;
    ds_sample_set *set = load(DS_BENCH_MVBENCH, FIX "/mvbench/action_sequence.json", "/data/mvb");
    assert_int_equal(ds_sample_set_count(set), 1);
    const ds_sample *s = ds_sample_set_get(set, 0);
    assert_string_equal(s->id, "action_sequence_0");
    assert_string_equal(s->task, "action_sequence");
    assert_string_equal(cat(s, "task"), "action_sequence");
    assert_int_equal(s->gold, 'A');
    assert_string_equal(s->video, "/data/mvb/video/star/Charades_v1_480/ZS9XR.mp4");
    char *p = user(s, TB_FAMILY_LLAVA_OV, DS_CONV_VLMEVALKIT);
    assert_string_equal(p, "Carefully watch the video and pay attention to the cause and sequence of events, the detail "
                           "and movement of objects, and the action and pose of persons. Based on your observations, "
                           "select the best option that accurately addresses the question.\nQuestion: What happened "
                           "after the person took the food?\nOptions:\n(A) Ate the medicine.\n(B) Tidied up the "
                           "blanket.\n(C) Put down the cup/glass/bottle.\n(D) Took the box.\nOnly give the best "
                           "option.Best option:(");
    free(p);
    p = user(s, TB_FAMILY_LLAVA_OV, DS_CONV_LMMS_EVAL);
    assert_string_equal(p, "Question:What happened after the person took the food?\nOption:\n(A) Ate the medicine.\n(B) "
                           "Tidied up the blanket.\n(C) Put down the cup/glass/bottle.\n(D) Took the box.\nOnly give "
                           "the best option.\n");
    free(p);
    ds_sample_set_free(set);
}

static void test_mvbench_layout_overlay_frames_bounds(void **state) {
    (void)state;
    char dir[600], root[600], path[900];
    snprintf(dir, sizeof dir, "%s/mvb_manifest", tmp_root);
    snprintf(root, sizeof root, "%s/mvb_videos", tmp_root);
    snprintf(path, sizeof path, "%s/action_localization.json", dir);
    write_text(path, "[{\"video\": \"a1.mp4\", \"question\": \"q?\", \"candidates\": [\"x\", \"y\"], \"answer\": \"y\", "
                     "\"start\": 2.5, \"end\": 9}]");
    snprintf(path, sizeof path, "%s/episodic_reasoning.json", dir);
    write_text(path, "[{\"video\": \"s01e02_seg\", \"question\": \"q?\", \"candidates\": [\"x\", \"y\", \"z\"], "
                     "\"answer\": \"z\", \"start\": 0, \"end\": 4.5}]");
    snprintf(path, sizeof path, "%s/object_existence.json", dir);
    write_text(path, "[{\"video\": \"video_10000.mp4\", \"question\": \"q?\", \"candidates\": [\"x\", \"y\"], "
                     "\"answer\": \"x\"}]");
    snprintf(path, sizeof path, "%s/synth_motion.json", dir); /* a non-official task (synthetic benchmark) */
    write_text(path, "[{\"video\": \"synth/clip_000.mp4\", \"question\": \"q?\", \"candidates\": [\"l\", \"r\"], "
                     "\"answer\": \"r\"}]");
    /* data0613 overlay for object_existence */
    snprintf(path, sizeof path, "%s/video/data0613/clevrer/video_validation/video_10000.mp4", root);
    write_text(path, "x");
    ds_sample_set *set = load(DS_BENCH_MVBENCH, dir, root);
    assert_int_equal(ds_sample_set_count(set), 4);
    /* official order: object_existence (6th), action_localization (10th), episodic_reasoning (19th), then others */
    const ds_sample *s0 = ds_sample_set_get(set, 0), *s1 = ds_sample_set_get(set, 1);
    const ds_sample *s2 = ds_sample_set_get(set, 2), *s3 = ds_sample_set_get(set, 3);
    assert_string_equal(s0->task, "object_existence");
    assert_string_equal(s0->video, path);
    assert_string_equal(s1->task, "action_localization");
    assert_true(s1->start == 2.5 && s1->end == 9.0);
    assert_int_equal(s1->gold, 'B');
    assert_string_equal(s2->task, "episodic_reasoning");
    assert_int_equal(s2->video_is_frames, 1);
    assert_true(s2->frames_fps == 3.0);
    assert_int_equal(s2->gold, 'C');
    char expect[900];
    snprintf(expect, sizeof expect, "%s/video/tvqa/frames_fps3_hq/s01e02_seg", root);
    assert_string_equal(s2->video, expect);
    assert_string_equal(s3->task, "synth_motion");
    snprintf(expect, sizeof expect, "%s/synth/clip_000.mp4", root);
    assert_string_equal(s3->video, expect);
    assert_string_equal(s3->id, "synth_motion_0");
    ds_sample_set_free(set);
    /* the video branch layout */
    ds_load_params lp = ds_load_default_params();
    lp.manifest = dir;
    lp.videos_root = "/r";
    lp.revision = "video";
    char err[256];
    assert_int_equal(ds_samples_load(DS_BENCH_MVBENCH, &lp, &set, err, sizeof err), DS_OK);
    assert_string_equal(ds_sample_set_get(set, 1)->video, "/r/sta/sta_video_segment/a1.mp4");
    assert_int_equal(ds_sample_set_get(set, 2)->video_is_frames, 0);
    ds_sample_set_free(set);
}

static void test_lvb_adapter_and_prompts(void **state) {
    (void)state;
    ds_sample_set *set = load(DS_BENCH_LONGVIDEOBENCH, FIX "/lvb_val.json", "/data/lvb");
    assert_int_equal(ds_sample_set_count(set), 2);
    const ds_sample *s = ds_sample_set_get(set, 0);
    assert_string_equal(s->id, "86CxyhFV9MI_0");
    assert_int_equal(s->gold, 'B');
    assert_int_equal(ds_sample_set_get(set, 1)->gold, 'E');
    assert_int_equal(ds_sample_set_get(set, 1)->n_options, 5);
    assert_string_equal(s->video, "/data/lvb/videos/86CxyhFV9MI.mp4");
    assert_string_equal(cat(s, "duration_group"), "600");
    assert_string_equal(cat(s, "question_category"), "TOS");
    assert_true(fabs(s->duration - 190.16) < 1e-9);
    const char *vec =
        "In the video, which subtitles appear at the same time as the man with black hair, dressed in grey clothes "
        "with black sleeves, on stage?\nA. promisc has come to an end, in and run away countless times, i was just "
        "scared, i still\nB. run away countless times, i was just scared, i still and front of our crown, like a world "
        "of souls,\nC. promisc has come to an end, in and front of our crown, like a world of souls,\nD. promisc has "
        "come to an end, in and captain of the godson, three three three three three three\nAnswer with the option's "
        "letter from the given choices directly.";
    char *p = user(s, TB_FAMILY_LLAVA_OV, DS_CONV_VLMEVALKIT);
    assert_string_equal(p, vec);
    free(p);
    p = user(s, TB_FAMILY_LLAVA_OV, DS_CONV_LMMS_EVAL);
    char expect[2048];
    snprintf(expect, sizeof expect, "%s\n", vec);
    assert_string_equal(p, expect);
    free(p);
    ds_sample_set_free(set);
}

static void test_mlvu_adapter_and_prompts(void **state) {
    (void)state;
    ds_sample_set *set = load(DS_BENCH_MLVU, FIX "/mlvu", "/data/mlvu");
    assert_int_equal(ds_sample_set_count(set), 2);
    const ds_sample *s = ds_sample_set_get(set, 0);
    assert_string_equal(s->task, "plotQA");
    assert_string_equal(s->id, "plotQA_0");
    assert_int_equal(s->gold, 'A');
    assert_string_equal(s->video, "/data/mlvu/MLVU/video/1_plotQA/movie101_66.mp4");
    const ds_sample *n = ds_sample_set_get(set, 1);
    assert_string_equal(n->task, "needle"); /* keyed by file, not by question_type findNeedle */
    assert_string_equal(cat(n, "task"), "needle");
    char *p = user(s, TB_FAMILY_LLAVA_OV, DS_CONV_VLMEVALKIT);
    assert_string_equal(p, "Carefully watch this video and pay attention to every detail. Based on your observations, "
                           "select the best option that accurately addresses the question.Question: What color is the "
                           "main male character in the video?\nOptions:\n(A) Yellow\n(B) Red\n(C) Green\n(D) Blue\n"
                           "Only give the best option.");
    free(p);
    ds_prompt_params pp = {.family = TB_FAMILY_LLAVA_OV, .convention = DS_CONV_LMMS_EVAL};
    char err[512];
    assert_null(ds_prompt_user(s, &pp, NULL, err, sizeof err));
    assert_non_null(strstr(err, "MLVU"));
    ds_answer a; /* scoring works under lmms-eval (only the prompt needs the sy1998/MLVU_dev rows) */
    assert_int_equal(ds_answer_score(s, DS_CONV_LMMS_EVAL, "A", &a, err, sizeof err), DS_OK);
    assert_int_equal(a.correct, 1);
    ds_sample_set_free(set);
}

/* ============================================================================================ */

static ds_answer score(const ds_sample *s, ds_convention conv, const char *pred) {
    ds_answer a;
    char err[256];
    assert_int_equal(ds_answer_score(s, conv, pred, &a, err, sizeof err), DS_OK);
    return a;
}

#define EXPECT(s, conv, pred, L, C, P)                                                                                 \
    do {                                                                                                               \
        ds_answer a_ = score(s, conv, pred);                                                                           \
        if (a_.letter != (L) || a_.correct != (C) || (int)a_.parse != (P))                                             \
            print_error("pred \"%s\": letter %c correct %d parse %d\n", pred, a_.letter ? a_.letter : '0', a_.correct, \
                        (int)a_.parse);                                                                                \
        assert_int_equal(a_.letter, L);                                                                                \
        assert_int_equal(a_.correct, C);                                                                               \
        assert_int_equal((int)a_.parse, P);                                                                            \
    } while (0)

static void test_extract_videomme_lvb(void **state) {
    (void)state;
    ds_sample_set *set = load(DS_BENCH_VIDEOMME, FIX "/videomme.jsonl", "/v");
    const ds_sample *s = ds_sample_set_get(set, 0); /* gold C */
    EXPECT(s, DS_CONV_VLMEVALKIT, "C", 'C', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "  The answer is C. Berries.", 'C', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "Based on the video, C", 'B', 0, DS_PARSE_OK); /* TRAP 14 */
    EXPECT(s, DS_CONV_VLMEVALKIT, "Answer: C", 'C', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_LMMS_EVAL, "Answer: C", 'A', 0, DS_PARSE_OK); /* lmms-eval keeps "Answer:" */
    EXPECT(s, DS_CONV_VLMEVALKIT, "", 0, 0, DS_PARSE_FAILED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "c", 0, 0, DS_PARSE_FAILED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "the video shows many things and it is hard to tell which one is the most", 0, 0,
           DS_PARSE_FAILED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "E", 0, 0, DS_PARSE_FAILED); /* E is not a Video-MME letter */
    EXPECT(s, DS_CONV_VLMEVALKIT, "The best option isThe correct option is D", 'D', 0, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "xyz", 0, 0, DS_PARSE_FAILED);
    ds_sample_set_free(set);
    set = load(DS_BENCH_LONGVIDEOBENCH, FIX "/lvb_val.json", "/v");
    s = ds_sample_set_get(set, 1); /* gold E */
    EXPECT(s, DS_CONV_VLMEVALKIT, "E", 'E', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_LMMS_EVAL, "The answer is E.", 'E', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "no idea", 0, 0, DS_PARSE_FAILED);
    ds_sample_set_free(set);
}

static void test_extract_mvbench(void **state) {
    (void)state;
    ds_sample_set *set = load(DS_BENCH_MVBENCH, FIX "/mvbench/action_sequence.json", "/v");
    const ds_sample *s = ds_sample_set_get(set, 0); /* gold A */
    EXPECT(s, DS_CONV_VLMEVALKIT, "A", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "(A) Ate the medicine.", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "A)", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "a.", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "(A)Ate the medicine.", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "", 0, 1, DS_PARSE_FAILED); /* quirk: a missing prediction (NaN) counts */
    EXPECT(s, DS_CONV_VLMEVALKIT, " ", 'A', 1, DS_PARSE_OK);  /* quirk: "" in "(a)" */
    EXPECT(s, DS_CONV_VLMEVALKIT, "A person took the food", 'A', 1, DS_PARSE_OK); /* quirk: article "A" */
    EXPECT(s, DS_CONV_VLMEVALKIT, "B", 'B', 0, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "(B) Tidied up the blanket.", 'B', 0, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "The person put down the cup/glass/bottle.", 'C', 0, DS_PARSE_OK); /* can_infer text */
    EXPECT(s, DS_CONV_VLMEVALKIT, "I think it is D", 'D', 0, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "I do not know", 0, 0, DS_PARSE_FAILED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "Cannot determine the answer", 0, 0, DS_PARSE_REFUSED);
    EXPECT(s, DS_CONV_LMMS_EVAL, "A. Ate the medicine.", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_LMMS_EVAL, "(b)", 'B', 0, DS_PARSE_OK);
    EXPECT(s, DS_CONV_LMMS_EVAL, "the answer is a", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_LMMS_EVAL, "", 0, 0, DS_PARSE_FAILED);
    EXPECT(s, DS_CONV_LMMS_EVAL, "xyz", 0, 0, DS_PARSE_FAILED);
    ds_sample_set_free(set);
}

static void test_extract_mlvu_and_can_infer(void **state) {
    (void)state;
    ds_sample_set *set = load(DS_BENCH_MLVU, FIX "/mlvu/1_plotQA.json", "/v");
    const ds_sample *s = ds_sample_set_get(set, 0); /* gold A (Yellow) */
    assert_string_equal(s->task, "plotQA");
    EXPECT(s, DS_CONV_VLMEVALKIT, "(A) Yellow", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "A", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "A.", 'A', 1, DS_PARSE_OK); /* via can_infer */
    EXPECT(s, DS_CONV_VLMEVALKIT, "B) Red", 'B', 0, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "Yellow", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "It is blue", 'D', 0, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, ")", 0, 0, DS_PARSE_FAILED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "hmm", 0, 0, DS_PARSE_FAILED);
    /* can_infer */
    EXPECT(s, DS_CONV_VLMEVALKIT, "The answer is A", 'A', 1, DS_PARSE_OK);
    EXPECT(s, DS_CONV_VLMEVALKIT, "A man in a yellow coat walks through the snowy park to the red door", 0, 0,
           DS_PARSE_FAILED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "A B", 0, 0, DS_PARSE_FAILED); /* two letters, no text match */
    EXPECT(s, DS_CONV_VLMEVALKIT, "Z", 0, 0, DS_PARSE_REFUSED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "I can't process this file.", 0, 0, DS_PARSE_REFUSED);
    EXPECT(s, DS_CONV_VLMEVALKIT, "green or red", 0, 0, DS_PARSE_FAILED); /* two texts */
    ds_sample_set_free(set);
}

/* ============================================================================================ */

static void test_hostile_records(void **state) {
    (void)state;
    char err[512];
    assert_int_equal(parse(DS_BENCH_MVBENCH, "[{\"video\": \"a.mp4\", \"question\": ", "t", err, sizeof err), DS_ERR_JSON);
    assert_int_equal(parse(DS_BENCH_MVBENCH, "[{\"video\": \"a.mp4\", \"question\": \"q\", \"answer\": \"x\"}]", "t", err,
                           sizeof err),
                     DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'candidates'"));
    assert_int_equal(parse(DS_BENCH_MVBENCH,
                           "[{\"video\": \"a.mp4\", \"question\": 5, \"candidates\": [\"x\",\"y\"], \"answer\": \"x\"}]",
                           "t", err, sizeof err),
                     DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'question'"));
    assert_non_null(strstr(err, "number"));
    assert_int_equal(parse(DS_BENCH_MVBENCH,
                           "[{\"video\": \"../../etc/passwd\", \"question\": \"q\", \"candidates\": [\"x\",\"y\"], "
                           "\"answer\": \"x\"}]",
                           "t", err, sizeof err),
                     DS_ERR_PATH);
    assert_non_null(strstr(err, "'video'"));
    assert_int_equal(parse(DS_BENCH_MVBENCH,
                           "[{\"video\": \"/etc/passwd\", \"question\": \"q\", \"candidates\": [\"x\",\"y\"], "
                           "\"answer\": \"x\"}]",
                           "t", err, sizeof err),
                     DS_ERR_PATH);
    assert_int_equal(parse(DS_BENCH_MVBENCH,
                           "[{\"video\": \"a/../../b.mp4\", \"question\": \"q\", \"candidates\": [\"x\",\"y\"], "
                           "\"answer\": \"x\"}]",
                           "t", err, sizeof err),
                     DS_ERR_PATH);
    assert_int_equal(parse(DS_BENCH_MVBENCH,
                           "[{\"video\": \"a.mp4\", \"question\": \"q\", \"candidates\": [\"x\",\"y\"], \"answer\": \"z\"}]",
                           "t", err, sizeof err),
                     DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'answer'"));
    assert_int_equal(parse(DS_BENCH_MVBENCH,
                           "[{\"video\": \"a.mp4\", \"question\": \"q\", \"candidates\": [\"x\",\"y\"], \"answer\": \"x\", "
                           "\"start\": 3}]",
                           "t", err, sizeof err),
                     DS_ERR_SCHEMA);
    assert_int_equal(parse(DS_BENCH_MVBENCH,
                           "[{\"video\": \"a.mp4\", \"question\": \"q\", \"candidates\": [\"x\",\"y\"], \"answer\": \"x\", "
                           "\"start\": 3, \"end\": \"9\"}]",
                           "t", err, sizeof err),
                     DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'end'"));
    assert_int_equal(parse(DS_BENCH_MVBENCH, "[{\"video\": \"a.mp4\", \"question\": \"q\", \"candidates\": [\"x\"], "
                                             "\"answer\": \"x\"}]",
                           "t", err, sizeof err),
                     DS_ERR_SCHEMA);
    assert_int_equal(parse(DS_BENCH_MVBENCH, "{\"root\": {}, \"meta\": {}}", "t", err, sizeof err), DS_ERR_SCHEMA);
    assert_int_equal(parse(DS_BENCH_MVBENCH, "[3]", "t", err, sizeof err), DS_ERR_SCHEMA);
    assert_int_equal(parse(DS_BENCH_MVBENCH, "[]", "t", err, sizeof err), DS_OK);
    {   /* a repeated candidate text: the gold letter is the last match (VLMEvalKit qa_template) */
        const char *dup = "[{\"video\": \"a.mp4\", \"question\": \"q\", \"candidates\": [\"x\", \"y\", \"x\"], "
                          "\"answer\": \"x\"}]";
        ds_sample_set *set = NULL;
        assert_int_equal(ds_samples_parse(DS_BENCH_MVBENCH, dup, strlen(dup), "t", "dup", NULL, &set, err, sizeof err),
                         DS_OK);
        assert_int_equal(ds_sample_set_get(set, 0)->gold, 'C');
        ds_sample_set_free(set);
    }
    assert_int_equal(parse(DS_BENCH_MVBENCH, "[]", NULL, err, sizeof err), DS_ERR_ARG);
    /* old Video-MME per-video schema: rejected naming the first missing field */
    assert_int_equal(parse(DS_BENCH_VIDEOMME, "[{\"id\": \"001\", \"duration_category\": \"short\", \"questions\": []}]",
                           NULL, err, sizeof err),
                     DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'question_id'"));
    /* Video-MME option without its letter prefix, bad duration, bad answer */
    const char *vm = "{\"video_id\": \"001\", \"duration\": \"%s\", \"domain\": \"K\", \"sub_category\": \"H\", "
                     "\"videoID\": \"%s\", \"question_id\": \"001-1\", \"task_type\": \"T\", \"question\": \"q\", "
                     "\"options\": [\"A. a\", \"%s\", \"C. c\", \"D. d\"], \"answer\": \"%s\"}";
    char rec[1024];
    snprintf(rec, sizeof rec, vm, "short", "abc", "b", "B");
    assert_int_equal(parse(DS_BENCH_VIDEOMME, rec, NULL, err, sizeof err), DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "options[1]"));
    snprintf(rec, sizeof rec, vm, "tiny", "abc", "B. b", "B");
    assert_int_equal(parse(DS_BENCH_VIDEOMME, rec, NULL, err, sizeof err), DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'duration'"));
    snprintf(rec, sizeof rec, vm, "long", "abc", "B. b", "F");
    assert_int_equal(parse(DS_BENCH_VIDEOMME, rec, NULL, err, sizeof err), DS_ERR_SCHEMA);
    snprintf(rec, sizeof rec, vm, "long", "../x", "B. b", "B");
    assert_int_equal(parse(DS_BENCH_VIDEOMME, rec, NULL, err, sizeof err), DS_ERR_PATH);
    snprintf(rec, sizeof rec, vm, "long", "abc", "B. b", "B");
    assert_int_equal(parse(DS_BENCH_VIDEOMME, rec, NULL, err, sizeof err), DS_OK);
    /* rows-API page form, partial: true rejected */
    char page[1400];
    snprintf(page, sizeof page, "{\"rows\": [{\"row_idx\": 0, \"row\": %s}], \"partial\": true}", rec);
    assert_int_equal(parse(DS_BENCH_VIDEOMME, page, NULL, err, sizeof err), DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "partial"));
    snprintf(page, sizeof page, "{\"rows\": [{\"row_idx\": 0, \"row\": %s}], \"partial\": false}", rec);
    assert_int_equal(parse(DS_BENCH_VIDEOMME, page, NULL, err, sizeof err), DS_OK);
    /* LongVideoBench correct_choice out of range / not an integer */
    const char *lv = "[{\"video_id\": \"v\", \"question\": \"q\", \"candidates\": [\"a\", \"b\"], \"correct_choice\": %s, "
                     "\"id\": \"v_0\", \"video_path\": \"v.mp4\", \"duration_group\": 15, \"question_category\": \"S2E\"}]";
    snprintf(rec, sizeof rec, lv, "2");
    assert_int_equal(parse(DS_BENCH_LONGVIDEOBENCH, rec, NULL, err, sizeof err), DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'correct_choice'"));
    snprintf(rec, sizeof rec, lv, "0.5");
    assert_int_equal(parse(DS_BENCH_LONGVIDEOBENCH, rec, NULL, err, sizeof err), DS_ERR_SCHEMA);
    snprintf(rec, sizeof rec, lv, "1");
    assert_int_equal(parse(DS_BENCH_LONGVIDEOBENCH, rec, NULL, err, sizeof err), DS_OK);
    /* MLVU with a string duration */
    assert_int_equal(parse(DS_BENCH_MLVU, "[{\"video\": \"m.mp4\", \"question\": \"q\", \"candidates\": [\"a\",\"b\"], "
                                          "\"answer\": \"a\", \"duration\": \"long\", \"question_type\": \"count\"}]",
                           "4_count", err, sizeof err),
                     DS_ERR_SCHEMA);
    assert_non_null(strstr(err, "'duration'"));
}

/* Deterministic mutation fuzzing of the adapters on the fixture records: every result is a
 * defined status, and every accepted sample can be prompted and scored (ASan/UBSan watch). */
static void test_mutation_fuzz(void **state) {
    (void)state;
    static const struct {
        ds_bench b;
        const char *file, *task;
    } cases[] = {{DS_BENCH_VIDEOMME, FIX "/videomme.jsonl", NULL},
                 {DS_BENCH_MVBENCH, FIX "/mvbench/action_sequence.json", "action_sequence"},
                 {DS_BENCH_LONGVIDEOBENCH, FIX "/lvb_val.json", NULL},
                 {DS_BENCH_MLVU, FIX "/mlvu/1_plotQA.json", "1_plotQA"}};
    static const char junk[] = "\"\\/.[]{}:,0-9eE\x01\xff ..\n";
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int n_ok = 0, n_bad = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len;
        char *orig = tb_slurp(cases[c].file, &len);
        char *buf = malloc(len + 16);
        assert_non_null(buf);
        for (int it = 0; it < 400; it++) {
            memcpy(buf, orig, len);
            size_t n = len;
            int edits = 1 + it % 4;
            for (int e = 0; e < edits; e++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                size_t pos = (size_t)(rng >> 33) % n;
                int kind = (int)((rng >> 20) % 3);
                char ch = junk[(rng >> 12) % (sizeof junk - 1)];
                if (kind == 0) buf[pos] = ch;
                else if (kind == 1) n = pos + 1; /* truncate */
                else if (n < len + 15) {         /* insert */
                    memmove(buf + pos + 1, buf + pos, n - pos);
                    buf[pos] = ch;
                    n++;
                }
            }
            ds_sample_set *set = NULL;
            char err[512];
            int st = ds_samples_parse(cases[c].b, buf, n, cases[c].task, "fuzz", NULL, &set, err, sizeof err);
            assert_true(st == DS_OK || st == DS_ERR_JSON || st == DS_ERR_SCHEMA || st == DS_ERR_PATH);
            if (st != DS_OK) {
                assert_null(set);
                assert_true(strlen(err) > 0);
                n_bad++;
                continue;
            }
            n_ok++;
            ds_prompt_params pp = ds_prompt_default_params();
            for (size_t i = 0; i < ds_sample_set_count(set); i++) {
                const ds_sample *s = ds_sample_set_get(set, i);
                assert_true(s->gold >= 'A' && s->gold < 'A' + s->n_options);
                char *p = ds_prompt_user(s, &pp, NULL, err, sizeof err);
                assert_non_null(p);
                ds_answer a;
                assert_int_equal(ds_answer_score(s, DS_CONV_VLMEVALKIT, p, &a, err, sizeof err), DS_OK);
                free(p);
            }
            ds_sample_set_free(set);
        }
        free(buf);
        free(orig);
    }
    assert_true(n_ok > 0 && n_bad > 0);
}

static void test_api_edges(void **state) {
    (void)state;
    ds_sample_set_free(NULL);
    assert_int_equal(ds_sample_set_count(NULL), 0);
    assert_null(ds_sample_set_get(NULL, 0));
    ds_bench b;
    assert_int_equal(ds_bench_parse("mvbench", &b), 0);
    assert_int_equal(b, DS_BENCH_MVBENCH);
    assert_int_equal(ds_bench_parse("nope", &b), -1);
    assert_string_equal(ds_bench_name(DS_BENCH_LONGVIDEOBENCH), "longvideobench");
    assert_null(ds_bench_name((ds_bench)9));
    tb_family f;
    ds_convention c;
    assert_int_equal(tb_family_parse("llava-video", &f), 0);
    assert_int_equal(f, TB_FAMILY_LLAVA_VIDEO);
    assert_int_equal(ds_convention_parse("lmms-eval", &c), 0);
    assert_int_equal(ds_convention_parse("x", &c), -1);
    assert_string_equal(ds_status_str(DS_ERR_AUTH), "authentication required");
    char err[256];
    ds_sample_set *set = (ds_sample_set *)1;
    ds_load_params lp = ds_load_default_params();
    lp.manifest = "/nonexistent/manifest.json";
    assert_int_equal(ds_samples_load(DS_BENCH_MVBENCH, &lp, &set, err, sizeof err), DS_ERR_IO);
    assert_null(set);
    assert_non_null(strstr(err, "/nonexistent/manifest.json"));
    char cache[600];
    snprintf(cache, sizeof cache, "%s/empty-cache", tmp_root);
    lp = ds_load_default_params();
    lp.cache_dir = cache;
    assert_int_equal(ds_samples_load(DS_BENCH_LONGVIDEOBENCH, &lp, &set, err, sizeof err), DS_ERR_NOT_CACHED);
    assert_non_null(strstr(err, "tango-bench fetch longvideobench"));
    ds_answer a;
    assert_int_equal(ds_answer_score(NULL, DS_CONV_VLMEVALKIT, "A", &a, err, sizeof err), DS_ERR_ARG);
}

static int setup(void **state) {
    (void)state;
    const char *b = getenv("TB_BUILD");
    snprintf(tmp_root, sizeof tmp_root, "%s/tmp/test_datasets.%ld", b ? b : "build", (long)getpid());
    mkdir_p(tmp_root);
    return 0;
}

/* The content digest behind the run key: a copied manifest (file or directory) keeps it, an edited
 * record or a renamed MVBench task file changes it; a parsed text has none. */
static void digest_of(ds_bench b, const char *manifest, char out[65]) {
    ds_sample_set *set = load(b, manifest, "/v");
    const char *d = ds_sample_set_content_sha256(set);
    assert_int_equal(strlen(d), 64);
    snprintf(out, 65, "%s", d);
    ds_sample_set_free(set);
}

static void test_manifest_content_digest(void **state) {
    (void)state;
    char a[65], b[65], dir[700], path[800], path2[800];
    size_t len;
    /* a single file, copied elsewhere */
    char *text = tb_slurp(FIX "/videomme.jsonl", &len);
    snprintf(path, sizeof path, "%s/digest/copy/videomme.jsonl", tmp_root);
    write_text(path, text);
    digest_of(DS_BENCH_VIDEOMME, FIX "/videomme.jsonl", a);
    digest_of(DS_BENCH_VIDEOMME, path, b);
    assert_string_equal(a, b);
    /* one record edited in place */
    char *q = strstr(text, "\"question\": \"");
    assert_non_null(q);
    q[13] = q[13] == 'X' ? 'Y' : 'X';
    write_text(path, text);
    digest_of(DS_BENCH_VIDEOMME, path, b);
    assert_string_not_equal(a, b);
    free(text);
    /* a directory of MLVU task files, copied */
    snprintf(dir, sizeof dir, "%s/digest/mlvu", tmp_root);
    static const char *const files[] = {"1_plotQA.json", "2_needle.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path2, sizeof path2, FIX "/mlvu/%s", files[i]);
        text = tb_slurp(path2, &len);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        write_text(path, text);
        free(text);
    }
    digest_of(DS_BENCH_MLVU, FIX "/mlvu", a);
    digest_of(DS_BENCH_MLVU, dir, b);
    assert_string_equal(a, b);
    /* the same bytes under another MVBench task name are other samples */
    text = tb_slurp(FIX "/mvbench/action_sequence.json", &len);
    snprintf(path, sizeof path, "%s/digest/action_antonym.json", tmp_root);
    write_text(path, text);
    digest_of(DS_BENCH_MVBENCH, FIX "/mvbench/action_sequence.json", a);
    digest_of(DS_BENCH_MVBENCH, path, b);
    assert_string_not_equal(a, b);
    /* a bad record kept as a failed sample is named by file name, not path */
    static const char bad[] = "[{\"video\": \"v.mp4\", \"question\": \"q\", \"candidates\": [\"a\", \"b\"]}]";
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/digest/bad%d/action_count.json", tmp_root, i);
        write_text(path, bad);
        ds_load_params lp = ds_load_default_params();
        lp.manifest = path;
        lp.keep_bad_records = 1;
        ds_sample_set *bs = NULL;
        char berr[512];
        assert_int_equal(ds_samples_load(DS_BENCH_MVBENCH, &lp, &bs, berr, sizeof berr), DS_OK);
        assert_int_equal(ds_sample_set_count(bs), 1);
        assert_non_null(ds_sample_set_get(bs, 0)->error);
        assert_string_equal(ds_sample_set_get(bs, 0)->id, "action_count.json#0");
        ds_sample_set_free(bs);
    }
    /* a parsed text has no manifest */
    ds_sample_set *set = NULL;
    char err[512];
    assert_int_equal(ds_samples_parse(DS_BENCH_MVBENCH, text, len, "action_sequence", "t", NULL, &set, err,
                                      sizeof err),
                     DS_OK);
    assert_string_equal(ds_sample_set_content_sha256(set), "");
    ds_sample_set_free(set);
    free(text);
}

static int teardown(void **state) {
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_videomme_adapter_and_prompts),
        cmocka_unit_test(test_llava_video_time_instruction),
        cmocka_unit_test(test_mvbench_adapter_and_prompts),
        cmocka_unit_test(test_mvbench_layout_overlay_frames_bounds),
        cmocka_unit_test(test_lvb_adapter_and_prompts),
        cmocka_unit_test(test_mlvu_adapter_and_prompts),
        cmocka_unit_test(test_extract_videomme_lvb),
        cmocka_unit_test(test_extract_mvbench),
        cmocka_unit_test(test_extract_mlvu_and_can_infer),
        cmocka_unit_test(test_hostile_records),
        cmocka_unit_test(test_mutation_fuzz),
        cmocka_unit_test(test_api_edges),
        cmocka_unit_test(test_manifest_content_digest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
