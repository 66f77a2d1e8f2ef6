/* ds_score_lmms.c - lmms-eval's scoring of videomme, mvbench, longvideobench_val_v and mlvu_dev,
 * as two rule sets:
 *   lmms-eval         the copy vendored in xjtupanda/Tango@cc815b6 (its task files equal
 *                     lmms-eval 0.7.1 on PyPI for these four benchmarks)
 *   lmms-eval@0.7.3   lmms-eval 0.7.3 from PyPI (upstream today)
 * Re-derived from those sources, not copied (README "Scoring conventions" lists what differs):
 *   - the evaluator first strips reasoning blocks with its default --reasoning_tags
 *     (<think>..</think>, <analysis>..</analysis>) and str.strip()s the response, in both;
 *   - Video-MME: cc815b6 strips six prefixes (two glued) and takes the first capital A-D; 0.7.3
 *     uses _task_utils/mcq_extract.py extract_mcq_answer (formats ranked, last occurrence wins);
 *   - LongVideoBench: eight prefixes, properly separated, then the first capital A-E; a failure
 *     is a random choice in lmms-eval (not copied: recorded as a parse failure, scored 0);
 *   - MVBench: mcq_acc's normalisation (periods and punctuation deleted or spaced as the peer
 *     decides, then \b[A-E]\b with Unicode word characters); the aggregate leaves out samples
 *     whose response is empty (score NaN here);
 *   - MLVU: cc815b6 takes the character before the first ')' (else the whole response); 0.7.3
 *     uses extract_mcq_answer over A-D. The aggregate is the mean of the seven task accuracies. */
#include "datasets/ds_score_internal.h"
#include "datasets/ds_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* api/reasoning.py strip_reasoning_tags with the evaluator's default tag pairs. */
static int strip_reasoning(ds_ustr *r) {
    static const char *const tags[][2] = {{"<think>", "</think>"}, {"<analysis>", "</analysis>"}};
    for (size_t t = 0; t < 2; t++) {
        const char *st = tags[t][0], *en = tags[t][1];
        size_t en_len = strlen(en);
        while (ds_u_contains(r->c, r->n, st) && ds_u_contains(r->c, r->n, en)) {
            size_t a = ds_u_find(r->c, r->n, st, 0), b = ds_u_find(r->c, r->n, en, a);
            if (a == DS_U_NPOS || b == DS_U_NPOS) break;
            size_t cut = b + en_len;
            memmove(r->c + a, r->c + cut, (r->n - cut) * sizeof *r->c);
            r->n -= cut - a;
        }
        if (ds_u_contains(r->c, r->n, en) && !ds_u_contains(r->c, r->n, st)) {
            size_t last = ds_u_rfind(r->c, r->n, en), from = last + en_len;
            memmove(r->c, r->c + from, (r->n - from) * sizeof *r->c);
            r->n -= from;
        }
    }
    size_t b, e;
    ds_u_strip(r->c, r->n, &b, &e);
    if (e > b) memmove(r->c, r->c + b, (e - b) * sizeof *r->c);
    r->n = e - b;
    return 0;
}

/* The prefix deletion + first capital letter of Video-MME (cc815b6) and LongVideoBench:
 * 'glued' selects cc815b6's Video-MME list (six entries, two of them concatenations). */
static int prefix_letter(const ds_ustr *p, int glued, char max_letter, char *letter) {
    static const char *const vmme[] = {"The best answer is", "The correct answer is", "The answer is", "The answer",
                                       "The best option isThe correct option is", "Best answer:Best option:"};
    static const char *const lvb[] = {"The best answer is", "The correct answer is", "The answer is", "The answer",
                                      "The best option is", "The correct option is", "Best answer:", "Best option:"};
    const char *const *list = glued ? vmme : lvb;
    size_t n_list = glued ? 6 : 8;
    *letter = 0;
    size_t b, e;
    ds_u_strip(p->c, p->n, &b, &e);
    ds_ustr s = {0};
    if (ds_u_append(&s, p->c + b, e - b)) return DS_ERR_NOMEM;
    for (size_t i = 0; i < n_list; i++)
        if (ds_u_replace(&s, list[i], "")) {
            ds_u_free(&s);
            return DS_ERR_NOMEM;
        }
    char first = 0;
    for (size_t i = 0; i < s.n && !first; i++)
        if (s.c[i] >= 'A' && s.c[i] <= (uint32_t)max_letter) first = (char)s.c[i];
    if (!(ds_u_count_fields(s.c, s.n) > 10 && !first)) *letter = first;
    ds_u_free(&s);
    return DS_OK;
}

/* ---- extract_mcq_answer (lmms-eval 0.7.3, _task_utils/mcq_extract.py) ------------------------ */

typedef struct {
    char letter;
    size_t pos;
    int prio;
} mcq_cand;

static void cand_add(mcq_cand *best, int *have, char L, size_t pos, int prio) {
    /* sorted by (priority, position) descending, stable: the first of equal keys wins */
    if (!*have || prio > best->prio || (prio == best->prio && pos > best->pos)) {
        best->letter = L;
        best->pos = pos;
        best->prio = prio;
        *have = 1;
    }
}

static int extract_mcq(const ds_ustr *resp, int n_choices, char *letter) {
    static const char *const phrases[] = {
        "the answer is", "answer is", "the correct answer is", "correct answer is", "the best answer is",
        "best answer is", "the correct option is", "correct option is", "the best option is", "best option is",
        "the choice is", "choice is", "the correct choice is", "correct choice is", "i choose", "i select",
        "i pick", "my answer is", "my choice is", "\xec\x98\xb5\xec\x85\x98" /* 옵션 */,
        "\xec\xa0\x95\xeb\x8b\xb5\xec\x9d\x80" /* 정답은 */, "\xeb\x8b\xb5\xec\x9d\x80" /* 답은 */,
        "\xeb\x8b\xb5:" /* 답: */, "\xe7\xad\x94\xe6\xa1\x88\xe6\x98\xaf" /* 答案是 */,
        "\xe7\xad\x94\xe6\xa1\x88\xe4\xb8\xba" /* 答案为 */, "\xe9\x80\x89" /* 选 */,
        "\xe7\xad\x94\xe3\x81\x88\xe3\x81\xaf" /* 答えは */};
    *letter = 0;
    size_t b, e;
    ds_u_strip(resp->c, resp->n, &b, &e);
    if (b == e) return DS_OK;
    /* text.strip(char) for each of , . ! ? ; : ' " in turn, then padded with spaces */
    static const char strip_seq[] = ",.!?;:'\"";
    for (const char *ch = strip_seq; *ch; ch++) {
        char one[2] = {*ch, 0};
        size_t b2, e2;
        ds_u_strip_chars(resp->c + b, e - b, one, &b2, &e2);
        e = b + e2;
        b = b + b2;
    }
    ds_ustr text = {0}, low = {0};
    int st = DS_ERR_NOMEM;
    if (ds_u_push(&text, ' ') || ds_u_append(&text, resp->c + b, e - b) || ds_u_push(&text, ' ')) goto done;
    mcq_cand best = {0};
    int have = 0;
    static const struct {
        const char *fmt; /* the letter goes where '@' is */
        int prio;
    } forms[] = {{"(@)", 6}, {"@.", 5}, {"@:", 4}, {"@)", 3}, {"@ ", 2}};
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++)
        for (int k = 0; k < n_choices; k++) {
            char pat[4];
            snprintf(pat, sizeof pat, "%s", forms[f].fmt);
            *strchr(pat, '@') = (char)('A' + k);
            size_t at = ds_u_rfind(text.c, text.n, pat);
            if (at != DS_U_NPOS) cand_add(&best, &have, (char)('A' + k), at, forms[f].prio);
        }
    /* answer phrases: found in text.lower(), the letter searched in text from the same index */
    if (ds_u_lower(text.c, text.n, &low)) goto done;
    for (size_t ph = 0; ph < sizeof phrases / sizeof phrases[0]; ph++) {
        size_t idx = ds_u_find(low.c, low.n, phrases[ph], 0);
        if (idx == DS_U_NPOS) continue;
        ds_ustr pu = {0};
        if (ds_u_from_utf8(&pu, phrases[ph], strlen(phrases[ph]))) goto done;
        size_t after = idx + pu.n;
        ds_u_free(&pu);
        for (int k = 0; k < n_choices; k++) {
            char pat[2] = {(char)('A' + k), 0};
            size_t at = ds_u_find(text.c, text.n, pat, after);
            if (at != DS_U_NPOS) cand_add(&best, &have, (char)('A' + k), at, 7);
        }
    }
    /* a standalone letter at the start / at the end of text.strip() */
    size_t sb, se;
    ds_u_strip(text.c, text.n, &sb, &se);
    size_t sl = se - sb;
    for (int k = 0; k < n_choices && sl; k++)
        if (text.c[sb] == (uint32_t)('A' + k) && (sl == 1 || !ds_u_isalpha(text.c[sb + 1])))
            cand_add(&best, &have, (char)('A' + k), 0, 10);
    for (int k = 0; k < n_choices && sl; k++)
        if (text.c[se - 1] == (uint32_t)('A' + k) && (sl == 1 || !ds_u_isalpha(text.c[se - 2])))
            cand_add(&best, &have, (char)('A' + k), text.n - 1, 9);
    if (!have)
        for (int k = 0; k < n_choices; k++) {
            char pat[2] = {(char)('A' + k), 0};
            size_t at = ds_u_rfind(text.c, text.n, pat);
            if (at != DS_U_NPOS) cand_add(&best, &have, (char)('A' + k), at, 0);
        }
    if (have) *letter = best.letter;
    st = DS_OK;
done:
    ds_u_free(&text);
    ds_u_free(&low);
    return st;
}

/* ---- MVBench mcq_acc -------------------------------------------------------------------------- */

/* processPunctuation: each punctuation mark is deleted when it touches a space or the text holds
 * "digit,digit" anywhere, else replaced by a space (tests on the input text, replacements on the
 * output); then at most 32 periods not followed by a digit are deleted (re.sub's count argument
 * receives re.UNICODE, 32). */
static int process_punctuation(ds_ustr *t) {
    static const char punct[] = ";/[]\"{}()=+\\_-><@`,?!";
    int comma_digits = 0;
    for (size_t i = 0; i + 2 < t->n && !comma_digits; i++)
        comma_digits = ds_u_isdecimal(t->c[i]) && t->c[i + 1] == ',' && ds_u_isdecimal(t->c[i + 2]);
    ds_ustr in = {0};
    if (ds_u_append(&in, t->c, t->n)) return DS_ERR_NOMEM;
    for (const char *p = punct; *p; p++) {
        char one[2] = {*p, 0}, sp_before[3] = {' ', *p, 0}, sp_after[3] = {*p, ' ', 0};
        int del = ds_u_contains(in.c, in.n, sp_after) || ds_u_contains(in.c, in.n, sp_before) || comma_digits;
        if (ds_u_replace(t, one, del ? "" : " ")) {
            ds_u_free(&in);
            return DS_ERR_NOMEM;
        }
    }
    ds_u_free(&in);
    size_t w = 0, removed = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->c[i] == '.' && removed < 32 && !(i + 1 < t->n && ds_u_isdecimal(t->c[i + 1]))) {
            removed++;
            continue;
        }
        t->c[w++] = t->c[i];
    }
    t->n = w;
    return DS_OK;
}

/* mcq_acc's process(): "X. text" gives X; else the normalised text, reduced to its first
 * standalone letter a-e when it has one. out receives the result. */
static int mcq_process(const uint32_t *c, size_t n, ds_ustr *out) {
    out->n = 0;
    size_t b, e;
    ds_u_strip(c, n, &b, &e);
    /* ^([A-E])\.\s*(.+)$ with IGNORECASE on the stripped text */
    if (e - b >= 3 && c[b + 1] == '.') {
        for (char L = 'a'; L <= 'e'; L++) {
            if (!ds_u_ci_letter(c[b], L)) continue;
            size_t i = b + 2;
            while (i < e && ds_u_isspace(c[i])) i++;
            int newline = 0;
            for (size_t j = i; j < e; j++) newline |= c[j] == '\n';
            if (i < e && !newline) return ds_u_push(out, (uint32_t)(L - 'a' + 'A')) ? DS_ERR_NOMEM : DS_OK;
        }
    }
    ds_ustr t = {0}, low = {0};
    int st = DS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (ds_u_push(&t, c[i] == '\n' || c[i] == '\t' ? ' ' : c[i])) goto done;
    ds_u_strip(t.c, t.n, &b, &e);
    if (e > b) memmove(t.c, t.c + b, (e - b) * sizeof *t.c);
    t.n = e - b;
    if ((st = process_punctuation(&t))) goto done;
    st = DS_ERR_NOMEM;
    static const char *const strips[] = {"'", "\"", ")", "("};
    b = 0, e = t.n;
    for (size_t k = 0; k < 4; k++) {
        size_t b2, e2;
        ds_u_strip_chars(t.c + b, e - b, strips[k], &b2, &e2);
        e = b + e2;
        b = b + b2;
    }
    size_t b2, e2;
    ds_u_strip(t.c + b, e - b, &b2, &e2);
    if (ds_u_lower(t.c + b + b2, e2 - b2, &low)) goto done;
    /* \b([A-E])\b, IGNORECASE, Unicode word characters */
    for (size_t i = 0; i < low.n; i++) {
        char L = 0;
        for (char x = 'a'; x <= 'e' && !L; x++)
            if (ds_u_ci_letter(low.c[i], x)) L = x;
        if (!L) continue;
        if ((i == 0 || !ds_u_isword(low.c[i - 1])) && (i + 1 == low.n || !ds_u_isword(low.c[i + 1]))) {
            st = ds_u_push(out, (uint32_t)(L - 'a' + 'A')) ? DS_ERR_NOMEM : DS_OK;
            goto done;
        }
    }
    st = ds_u_append(out, low.c, low.n) ? DS_ERR_NOMEM : DS_OK;
done:
    ds_u_free(&t);
    ds_u_free(&low);
    return st;
}

static int score_mvbench(const ds_sample *s, const ds_ustr *p, ds_answer *out) {
    ds_ustr pr = {0}, gr = {0};
    uint32_t g = (uint32_t)s->gold;
    int st = DS_ERR_NOMEM;
    if (mcq_process(p->c, p->n, &pr) || mcq_process(&g, 1, &gr)) goto done;
    int equal = pr.n == gr.n && (!pr.n || !memcmp(pr.c, gr.c, pr.n * sizeof *pr.c));
    char L = pr.n == 1 && pr.c[0] >= 'A' && pr.c[0] <= 'E' ? (char)pr.c[0] : 0;
    ds_answer_letter_set(s, L, out);
    out->correct = equal;
    if (equal && !L) out->letter = s->gold; /* a gold past E compares as text */
    if (equal) out->parse = DS_PARSE_OK;
    out->score = p->n == 0 ? NAN : (double)equal; /* an empty response is left out */
    st = DS_OK;
done:
    ds_u_free(&pr);
    ds_u_free(&gr);
    return st;
}

int ds_score_lmms(const ds_sample *s, ds_convention conv, const char *raw, size_t raw_len, ds_answer *out) {
    int v073 = conv == DS_CONV_LMMS_EVAL_073;
    ds_ustr p = {0};
    if (ds_u_from_utf8(&p, raw, raw_len) || strip_reasoning(&p)) {
        ds_u_free(&p);
        return DS_ERR_NOMEM;
    }
    int st = DS_OK;
    char L = 0;
    switch (s->bench) {
    case DS_BENCH_VIDEOMME:
        st = v073 ? extract_mcq(&p, 4, &L) : prefix_letter(&p, 1, 'D', &L);
        break;
    case DS_BENCH_LONGVIDEOBENCH: st = prefix_letter(&p, 0, 'E', &L); break;
    case DS_BENCH_MVBENCH:
        st = score_mvbench(s, &p, out);
        ds_u_free(&p);
        return st;
    case DS_BENCH_MLVU:
        if (v073) {
            st = extract_mcq(&p, 4, &L);
        } else { /* s.strip(); the character before the first ')', else the whole text */
            size_t b, e, rp = DS_U_NPOS;
            ds_u_strip(p.c, p.n, &b, &e);
            for (size_t i = b; i < e && rp == DS_U_NPOS; i++)
                if (p.c[i] == ')') rp = i;
            uint32_t one = 0;
            if (rp != DS_U_NPOS) {
                if (rp > b) one = p.c[rp - 1]; /* at the start, s[-1:0] is empty */
            } else if (e - b == 1) {
                one = p.c[b];
            }
            if (one >= 'A' && one <= 'Z') L = (char)one;
        }
        break;
    default: st = DS_ERR_ARG;
    }
    ds_u_free(&p);
    if (st) return st;
    ds_answer_letter_set(s, L, out);
    out->score = out->correct;
    return DS_OK;
}
