/* ds_prompt.c - prompt text and answer scoring per benchmark, model family and convention.
 *
 * Prompts reproduce VLMEvalKit (what Tango's accuracy numbers used) byte for byte, with every
 * text item of the message concatenated and roles ignored (pipeline.roles_ignored), and the
 * lmms-eval variants (datasets.md §2.4, §3.5, §4.4). Scoring reproduces the exact-matching paths
 * (no LLM judge): datasets.md §2.5, §3.6, §4.5, §5.5, quirks included. A prediction from which no
 * letter can be extracted is reported as DS_PARSE_FAILED, never guessed (lmms-eval's random
 * fallback for LongVideoBench is deliberately not copied). */
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
    if (conv == DS_CONV_VLMEVALKIT) {
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
    if (pp.family == TB_FAMILY_LLAVA_VIDEO && pp.convention == DS_CONV_LMMS_EVAL) {
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

/* ============================================================================================
 * Extraction helpers
 */
static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Deletes every occurrence of needle in s (in place), like Python str.replace(needle, ""). */
static void delete_all(char *s, const char *needle) {
    size_t nl = strlen(needle);
    char *w = s;
    const char *r = s;
    while (*r) {
        if (!strncmp(r, needle, nl)) {
            r += nl;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

char ds_extract_letter(const char *prediction, char max_letter, int lmms_eval) {
    if (!prediction) return 0;
    /* 1. strip */
    const char *a = prediction;
    while (*a && is_ws((unsigned char)*a)) a++;
    size_t n = strlen(a);
    while (n && is_ws((unsigned char)a[n - 1])) n--;
    char *s = ds_strndup(a, n);
    if (!s) return 0;
    /* 2. prefix removal (VLMEvalKit list: two entries are accidental concatenations) */
    static const char *const prefixes[] = {"The best answer is", "The correct answer is", "The answer is", "The answer",
                                           "The best option isThe correct option is", "Best answer:Best option:",
                                           "Answer:", "Option:"};
    int n_pref = lmms_eval ? 6 : 8;
    for (int i = 0; i < n_pref; i++) delete_all(s, prefixes[i]);
    /* 3. > 10 words and no letter of the class -> fail */
    int words = 0, in_word = 0, has = 0;
    for (const char *c = s; *c; c++) {
        if (is_ws((unsigned char)*c)) in_word = 0;
        else if (!in_word) {
            in_word = 1;
            words++;
        }
        if (*c >= 'A' && *c <= max_letter) has = 1;
    }
    char r = 0;
    if (!(words > 10 && !has)) {
        /* 4. first capital letter of the class anywhere */
        for (const char *c = s; *c; c++)
            if (*c >= 'A' && *c <= max_letter) {
                r = *c;
                break;
            }
    }
    free(s);
    return r;
}

/* whitespace-split tokens of s (modified in place) into tok[]; returns the count (capped). */
static size_t split_ws(char *s, char **tok, size_t max) {
    size_t n = 0;
    char *c = s;
    while (*c) {
        while (*c && is_ws((unsigned char)*c)) c++;
        if (!*c) break;
        char *start = c;
        while (*c && !is_ws((unsigned char)*c)) c++;
        if (*c) *c++ = '\0';
        if (n < max) tok[n] = start;
        n++;
    }
    return n;
}

char ds_can_infer(const char *prediction, const char *const *options, int n_options) {
    if (!prediction || n_options <= 0 || n_options > 26) return 0;
    /* can_infer_option */
    if (strstr(prediction, "Failed to obtain answer via API")) goto text;
    static const char *const refusals[] = {"Sorry, I can't help with images of people yet.", "I can't process this file.",
                                           "I'm sorry, but without the image provided", "Cannot determine the answer"};
    for (size_t i = 0; i < 4; i++)
        if (strstr(prediction, refusals[i])) return 'Z';
    {
        char *m = ds_strdup(prediction);
        if (!m) return 0;
        for (char *c = m; *c; c++)
            if (strchr(".()[],:;!*#{}", *c)) *c = ' ';
        size_t cap = strlen(m) / 2 + 2;
        char **tok = malloc(cap * sizeof *tok);
        if (!tok) {
            free(m);
            return 0;
        }
        size_t nt = split_ws(m, tok, cap);
        if (nt > cap) nt = cap;
        int count = 0, has_z = 0;
        char found = 0;
        size_t found_idx = 0;
        for (int k = 0; k < n_options; k++) {
            char L[2] = {(char)('A' + k), 0};
            for (size_t i = 0; i < nt; i++)
                if (!strcmp(tok[i], L)) {
                    count++;
                    if (!found) {
                        found = L[0];
                        found_idx = i;
                    }
                    break;
                }
        }
        for (size_t i = 0; i < nt; i++)
            if (!strcmp(tok[i], "Z")) has_z = 1;
        free(tok);
        free(m);
        if (count == 1) {
            if ((long long)found_idx > (long long)nt - 5) return found;
        } else if (count == 0 && has_z) {
            return 'Z';
        }
    }
text:
    /* can_infer_text */
    {
        size_t total = 0;
        for (int k = 0; k < n_options; k++) total += strlen(options[k] ? options[k] : "");
        size_t plen = strlen(prediction);
        if (plen > 2 * total) return 0;
        char *lp = ds_strdup(prediction);
        if (!lp) return 0;
        for (char *c = lp; *c; c++) *c = (char)tolower((unsigned char)*c);
        int n_hit = 0;
        char hit = 0;
        for (int k = 0; k < n_options; k++) {
            char *lo = ds_strdup(options[k] ? options[k] : "");
            if (!lo) break;
            for (char *c = lo; *c; c++) *c = (char)tolower((unsigned char)*c);
            if (strstr(lp, lo)) {
                n_hit++;
                hit = (char)('A' + k);
            }
            free(lo);
        }
        free(lp);
        return n_hit == 1 ? hit : 0;
    }
}

/* VLMEvalKit MVBench check_ans_with_model, exact-matching path. */
static void score_mvbench_vlmeval(const ds_sample *s, const char *pred, ds_answer *out) {
    /* pred_option = first ' '-token of the stripped, lowercased prediction */
    const char *a = pred;
    while (*a && is_ws((unsigned char)*a)) a++;
    size_t n = strlen(a);
    while (n && is_ws((unsigned char)a[n - 1])) n--;
    const char *sp = memchr(a, ' ', n);
    size_t tl = sp ? (size_t)(sp - a) : n;
    char popt[64];
    size_t k = 0;
    int too_long = tl >= sizeof popt;
    for (size_t i = 0; i < tl && k + 1 < sizeof popt; i++) popt[k++] = (char)tolower((unsigned char)a[i]);
    popt[k] = '\0';
    char nodot[64];
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (popt[i] != '.') nodot[m++] = popt[i];
    nodot[m] = '\0';
    char gopt[4] = {'(', (char)tolower((unsigned char)s->gold), ')', 0};
    int ok = (!too_long && strstr(gopt, nodot) != NULL) || (!too_long && strstr(popt, gopt) != NULL);
    if (too_long && !ok) {
        /* a long first token cannot be inside "(x)"; it may still contain it */
        char *low = ds_strndup(a, tl);
        if (low) {
            for (char *c = low; *c; c++) *c = (char)tolower((unsigned char)*c);
            ok = strstr(low, gopt) != NULL;
            free(low);
        }
    }
    if (ok) {
        out->letter = s->gold;
        out->correct = 1;
        out->parse = DS_PARSE_OK;
        return;
    }
    char c = ds_can_infer(pred, (const char *const *)s->options, s->n_options);
    if (c == 'Z') {
        out->parse = DS_PARSE_REFUSED;
    } else if (c) {
        out->letter = c;
        out->correct = c == s->gold;
        out->parse = DS_PARSE_OK;
    } else {
        out->parse = DS_PARSE_FAILED;
    }
}

/* VLMEvalKit MLVU check_ans_with_model, exact-matching path. */
static void score_mlvu_vlmeval(const ds_sample *s, const char *pred, ds_answer *out) {
    const char *rp = strchr(pred, ')');
    char c1 = 0;
    int single = 0;
    if (rp) {
        if (rp > pred) c1 = rp[-1];
        single = 1;
    } else if (strlen(pred) == 1) {
        c1 = pred[0];
        single = 1;
    }
    if (single && c1 == s->gold) {
        out->letter = s->gold;
        out->correct = 1;
        out->parse = DS_PARSE_OK;
        return;
    }
    char c = ds_can_infer(pred, (const char *const *)s->options, s->n_options);
    if (c && c != 'Z') {
        out->letter = c;
        out->correct = c == s->gold;
        out->parse = DS_PARSE_OK;
    } else if (single && c1 >= 'A' && c1 < 'A' + s->n_options) {
        out->letter = c1; /* a valid letter that is not the gold one */
        out->parse = DS_PARSE_OK;
    } else {
        out->parse = c == 'Z' ? DS_PARSE_REFUSED : DS_PARSE_FAILED;
    }
}

/* lmms-eval mvbench mcq_acc normalisation of one string: a letter, or 0. */
static char lmms_norm_letter(const char *text) {
    const char *a = text;
    while (*a && is_ws((unsigned char)*a)) a++;
    size_t n = strlen(a);
    while (n && is_ws((unsigned char)a[n - 1])) n--;
    /* ^([A-E])\.\s*(.+)$ on the stripped text ('.' does not cross a newline) */
    if (n >= 3 && a[0] >= 'A' && a[0] <= 'E' && a[1] == '.') {
        size_t i = 2;
        while (i < n && is_ws((unsigned char)a[i])) i++;
        if (i < n && !memchr(a + i, '\n', n - i)) return a[0];
    }
    char *t = ds_strndup(a, n);
    if (!t) return 0;
    for (char *c = t; *c; c++) {
        if (*c == '\n' || *c == '\t') *c = ' ';
        else if (strchr(";/[]\"{}()=+\\_-><@`,?!'", *c)) *c = ' ';
        else if (*c == '.' && !isdigit((unsigned char)c[1])) *c = ' ';
        *c = (char)tolower((unsigned char)*c);
    }
    char r = 0;
    for (char *c = t; *c; c++) {
        if (*c < 'a' || *c > 'e') continue;
        unsigned char prev = c > t ? (unsigned char)c[-1] : ' ';
        unsigned char next = (unsigned char)c[1];
        int wb_prev = !(isalnum(prev) || prev == '_' || prev >= 0x80);
        int wb_next = !(isalnum(next) || next == '_' || next >= 0x80);
        if (wb_prev && wb_next) {
            r = (char)toupper((unsigned char)*c);
            break;
        }
    }
    free(t);
    return r;
}

int ds_answer_score(const ds_sample *s, ds_convention conv, const char *prediction, ds_answer *out, char *err,
                    size_t err_len) {
    if (!s || !out) return ds_fail(err, err_len, DS_ERR_ARG, "ds_answer_score: NULL argument");
    memset(out, 0, sizeof *out);
    const char *pred = prediction ? prediction : "";
    if (s->gold < 'A' || s->gold >= 'A' + s->n_options)
        return ds_fail(err, err_len, DS_ERR_ARG, "sample %s has no valid gold letter", s->id ? s->id : "?");
    char c = 0;
    switch (s->bench) {
    case DS_BENCH_VIDEOMME:
    case DS_BENCH_LONGVIDEOBENCH:
        c = ds_extract_letter(pred, s->bench == DS_BENCH_VIDEOMME ? 'D' : 'E', conv == DS_CONV_LMMS_EVAL);
        break;
    case DS_BENCH_MVBENCH:
        if (conv == DS_CONV_VLMEVALKIT) {
            score_mvbench_vlmeval(s, pred, out);
            return DS_OK;
        }
        if (!*pred) break; /* lmms-eval averages over non-empty predictions only */
        c = lmms_norm_letter(pred);
        break;
    case DS_BENCH_MLVU:
        if (conv != DS_CONV_VLMEVALKIT)
            return ds_fail(err, err_len, DS_ERR_UNSUPPORTED, "lmms-eval MLVU scoring is not supported on official records");
        score_mlvu_vlmeval(s, pred, out);
        return DS_OK;
    default: return ds_fail(err, err_len, DS_ERR_ARG, "sample has an unknown benchmark");
    }
    if (!c) {
        out->parse = DS_PARSE_FAILED;
        return DS_OK;
    }
    out->letter = c;
    out->correct = c == s->gold;
    out->parse = DS_PARSE_OK;
    return DS_OK;
}
