/* ds_prompt.c - prompt text per benchmark, model family and convention.
 *
 * Prompts reproduce VLMEvalKit (what Tango's accuracy numbers used) byte for byte, with every
 * text item of the message concatenated and roles ignored (pipeline.roles_ignored), and the
 * lmms-eval variants (datasets.md §2.4, §3.5, §4.4). Answer scoring lives in ds_score*.c. */
#include "datasets/ds_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ds_prompt_params ds_prompt_default_params(void) {
    ds_prompt_params p = {.family = TB_FAMILY_LLAVA_OV, .convention = DS_CONV_VLMEVALKIT};
    return p;
}

/* ============================================================================================
 * Prompt text
 */
static const char VMME_FRAMES_TMPL_NOSUB[] =
    "\nThese are the frames of a video. Select the best answer to the following multiple-choice question based on "
    "the video. Respond with only the letter (A, B, C, or D) of the correct option.\n";
static const char VMME_LMMS_OPTION_PROMPT[] =
    "Select the best answer to the following multiple-choice question based on the video and the subtitles. "
    "Respond with only the letter (A, B, C, or D) of the correct option.";
static const char LETTER_DIRECTLY[] = "Answer with the option's letter from the given choices directly.";
static const char MVB_SYS[] =
    "Carefully watch the video and pay attention to the cause and sequence of events, the detail and movement of "
    "objects, and the action and pose of persons. Based on your observations, select the best option that accurately "
    "addresses the question.\n";
static const char MLVU_SYS[] =
    "Carefully watch this video and pay attention to every detail. Based on your observations, select the best option "
    "that accurately addresses the question.";

/* VLMEvalKit MVBench/MLVU question block: "Question: q\nOptions:\n(A) c0\n(B) c1..." with the
 * trailing whitespace stripped. */
static int mcq_block(tb_buf *b, const ds_sample *s) {
    size_t start = b->len;
    int st = tb_buf_printf(b, "Question: %s\nOptions:\n", s->question);
    for (int i = 0; st == DS_OK && i < s->n_options; i++) st = tb_buf_printf(b, "(%c) %s\n", 'A' + i, s->options[i]);
    if (st) return st;
    while (b->len > start && isspace((unsigned char)b->data[b->len - 1])) b->data[--b->len] = '\0';
    return DS_OK;
}

static int dataset_text(tb_buf *b, const ds_sample *s, ds_convention conv, char *err, size_t err_len) {
    int st = DS_OK;
    if (!ds_convention_lmms(conv)) {
        switch (s->bench) {
        case DS_BENCH_VIDEOMME:
            st = tb_buf_puts(b, VMME_FRAMES_TMPL_NOSUB);
            if (!st) st = tb_buf_printf(b, "Question: %s\n", s->question);
            for (int i = 0; !st && i < s->n_options; i++) {
                if (s->options_raw[i]) st = tb_buf_printf(b, "%s\n", s->options_raw[i]);
                else st = tb_buf_printf(b, "%c. %s\n", 'A' + i, s->options[i]);
            }
            if (!st) st = tb_buf_puts(b, "Answer: ");
            break;
        case DS_BENCH_MVBENCH:
            st = tb_buf_puts(b, MVB_SYS);
            if (!st) st = mcq_block(b, s);
            if (!st) st = tb_buf_puts(b, "\nOnly give the best option.Best option:(");
            break;
        case DS_BENCH_LONGVIDEOBENCH:
            st = tb_buf_printf(b, "%s\n", s->question);
            for (int i = 0; !st && i < s->n_options; i++) st = tb_buf_printf(b, "%c. %s\n", 'A' + i, s->options[i]);
            if (!st) st = tb_buf_puts(b, LETTER_DIRECTLY);
            break;
        case DS_BENCH_MLVU:
            st = tb_buf_puts(b, MLVU_SYS);
            if (!st) st = mcq_block(b, s);
            if (!st) st = tb_buf_puts(b, "\nOnly give the best option.");
            break;
        default: return ds_fail(err, err_len, DS_ERR_ARG, "sample has an unknown benchmark");
        }
    } else {
        switch (s->bench) {
        case DS_BENCH_VIDEOMME:
            st = tb_buf_printf(b, "%s\n%s\n", VMME_LMMS_OPTION_PROMPT, s->question);
            for (int i = 0; !st && i < s->n_options; i++) {
                if (s->options_raw[i]) st = tb_buf_printf(b, "%s\n", s->options_raw[i]);
                else st = tb_buf_printf(b, "%c. %s\n", 'A' + i, s->options[i]);
            }
            if (!st) st = tb_buf_printf(b, "\n%s", LETTER_DIRECTLY);
            break;
        case DS_BENCH_MVBENCH:
            st = tb_buf_printf(b, "Question:%s\nOption:\n", s->question);
            for (int i = 0; !st && i < s->n_options; i++) st = tb_buf_printf(b, "(%c) %s\n", 'A' + i, s->options[i]);
            if (!st) st = tb_buf_puts(b, "Only give the best option.\n");
            break;
        case DS_BENCH_LONGVIDEOBENCH:
            st = tb_buf_printf(b, "%s\n", s->question);
            for (int i = 0; !st && i < s->n_options; i++) st = tb_buf_printf(b, "%c. %s\n", 'A' + i, s->options[i]);
            if (!st) st = tb_buf_printf(b, "%s\n", LETTER_DIRECTLY);
            break;
        case DS_BENCH_MLVU:
            return ds_fail(err, err_len, DS_ERR_UNSUPPORTED,
                           "the lmms-eval MLVU prompt needs the sy1998/MLVU_dev rows (question with embedded options); "
                           "the official MLVU records only support --convention vlmevalkit");
        default: return ds_fail(err, err_len, DS_ERR_ARG, "sample has an unknown benchmark");
        }
    }
    st = ds_buf_status(st);
    if (st) return ds_fail(err, err_len, st, "cannot build the prompt: %s", ds_status_str(st));
    return DS_OK;
}

/* LLaVA-Video time instruction (llava-ov-engine.md §5.2), missing spaces included. */
static int time_instruction(tb_buf *b, const ds_video_time *vt) {
    if (!vt)
        return tb_buf_puts(b, "The video lasts for {DUR} seconds,and {H} frames are uniformly sampled from it.These "
                              "frames are located at {FRAME_TIME}.Please answer the following questions related to "
                              "this video.\n");
    int st = tb_buf_printf(b, "The video lasts for %.2f seconds,and %lld frames are uniformly sampled from it.These "
                              "frames are located at ",
                           vt->duration_s, (long long)vt->frame_height);
    for (int i = 0; !st && i < vt->n_frames; i++)
        st = tb_buf_printf(b, "%s%.2fs", i ? "," : "", vt->frame_times ? vt->frame_times[i] : 0.0);
    if (!st) st = tb_buf_puts(b, ".Please answer the following questions related to this video.\n");
    return st;
}

static char *build(const ds_sample *s, const ds_prompt_params *p, const ds_video_time *vt, int chat, char *err,
                   size_t err_len) {
    if (!s) {
        ds_fail(err, err_len, DS_ERR_ARG, "no sample");
        return NULL;
    }
    ds_prompt_params pp = p ? *p : ds_prompt_default_params();
    if (pp.family == TB_FAMILY_LLAVA_VIDEO && ds_convention_lmms(pp.convention)) {
        ds_fail(err, err_len, DS_ERR_UNSUPPORTED,
                "the lmms-eval prompt is specified for llava-ov only (Tango profiled LLaVA-OV with lmms-eval)");
        return NULL;
    }
    tb_buf b;
    tb_buf_init(&b, (size_t)64 << 20);
    int st = DS_OK;
    if (chat) st = tb_buf_puts(&b, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\n");
    if (!st && pp.family == TB_FAMILY_LLAVA_VIDEO) st = time_instruction(&b, vt);
    st = ds_buf_status(st);
    if (st) {
        ds_fail(err, err_len, st, "cannot build the prompt: %s", ds_status_str(st));
        tb_buf_free(&b);
        return NULL;
    }
    if ((st = dataset_text(&b, s, pp.convention, err, err_len)) != DS_OK) {
        tb_buf_free(&b);
        return NULL;
    }
    if (chat && (st = ds_buf_status(tb_buf_puts(&b, "<|im_end|>\n<|im_start|>assistant\n"))) != DS_OK) {
        ds_fail(err, err_len, st, "cannot build the prompt");
        tb_buf_free(&b);
        return NULL;
    }
    char *r = tb_buf_take(&b);
    if (!r) ds_fail(err, err_len, DS_ERR_NOMEM, "out of memory");
    return r;
}

char *ds_prompt_user(const ds_sample *s, const ds_prompt_params *p, const ds_video_time *vt, char *err, size_t err_len) {
    return build(s, p, vt, 0, err, err_len);
}

char *ds_prompt_chat(const ds_sample *s, const ds_prompt_params *p, const ds_video_time *vt, char *err, size_t err_len) {
    return build(s, p, vt, 1, err, err_len);
}
