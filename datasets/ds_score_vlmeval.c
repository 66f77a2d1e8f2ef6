/* ds_score_vlmeval.c - VLMEvalKit's exact-matching scoring (no LLM judge) of Video-MME,
 * LongVideoBench, MVBench and MLVU_MCQ, as two rule sets:
 *   vlmevalkit          the copy vendored in xjtupanda/Tango@cc815b6 (what the paper's numbers mean)
 *   vlmevalkit@e8e78f0  open-compass/VLMEvalKit@e8e78f0 (upstream today)
 * The rules are re-derived from those sources, not copied (specs/datasets.md §2.5, §3.6, §4.5,
 * §5.5 describe them; README "Scoring conventions" lists what differs):
 *   - every dataset's evaluate() reads the prediction back from the .xlsx it wrote (see "the
 *     prediction as evaluate() reads it" below): an empty prediction or a pandas missing-value
 *     marker ("NA", "None", "nan", ...) is NaN, control characters come back as "_xHHHH_", a
 *     formula as 0;
 *   - Video-MME / LongVideoBench: utils/videomme.py extract_characters_regex (prefix list with two
 *     glued entries, first capital A-D / A-E); the fallback extract_option has no choices to
 *     match (the stored question carries no option lines), so it never succeeds without a judge;
 *   - MVBench: check_ans_with_model's first-token rule, then can_infer; a missing prediction is
 *     never scored (score NaN) and a "Failed to obtain answer via API." scores -1, and
 *     get_dimension_rating counts both as correct (`if item['score']` is true for NaN and -1);
 *   - MLVU: the character before the first ')' must equal the gold letter, else can_infer; a
 *     missing or failed prediction scores -1, which M-Avg subtracts (cc815b6); e8e78f0 dropped the
 *     pd.isna test, so a missing prediction makes its evaluate() raise TypeError (we score it 0);
 *   - can_infer (utils/matching_util.py): option letters as standalone tokens among the last four,
 *     then option texts as substrings; e8e78f0 adds "(correct) answer is X" in between. */
#include "datasets/ds_score_internal.h"
#include "datasets/ds_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char FAIL_MSG[] = "Failed to obtain answer via API.";

/* ---- the prediction as evaluate() reads it ---------------------------------------------------
 * VLMEvalKit writes the predictions into an .xlsx (its default PRED_FORMAT) with pandas +
 * XlsxWriter and evaluate() reads them back with pandas + openpyxl. What comes back is not always
 * what the model wrote, and the scorers see what comes back:
 *   - a string starting with "=" is written as a formula (cc815b6; e8e78f0 turns that off), as is
 *     "{=...}" (both), and read back as its cached value, the number 0;
 *   - a URL-like string becomes a hyperlink cell whose text drops "mailto:" / "internal:" and
 *     turns file:// and external: paths into Windows paths; a link longer than 2079 characters
 *     is not written at all (an empty cell);
 *   - a string is cut to 32767 characters; control characters other than \t and \n become
 *     "_xHHHH_" (as do U+FFFE and U+FFFF), a literal "_xHHHH_" gets "_x005F" in front, and the
 *     reader only deletes every "x005F_";
 *   - pandas reads an empty cell, or one that is exactly one of its default missing-value markers
 *     ("NA", "None", "nan", ...), as NaN.
 * The XlsxWriter rules are those of XlsxWriter 3.2 (worksheet._write_token_as_string, url.py,
 * xmlwriter._escape_control_characters); the marker list is pandas 2.x STR_NA_VALUES. */
typedef enum { CELL_TEXT, CELL_MISSING, CELL_ZERO } cell_kind;

static int pandas_missing(const uint32_t *c, size_t n) {
    static const char *const na[] = {"",    "-1.#IND", "1.#QNAN", "1.#IND", "-1.#QNAN", "#N/A N/A", "#N/A",
                                     "N/A", "n/a",     "NA",      "<NA>",   "#NA",      "NULL",     "null",
                                     "NaN", "-NaN",    "nan",     "-nan",   "None"};
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++) {
        size_t len = strlen(na[i]);
        if (len != n) continue;
        size_t k = 0;
        while (k < n && c[k] == (uint32_t)(unsigned char)na[i][k]) k++;
        if (k == n) return 1;
    }
    return 0;
}

static int starts_with(const ds_ustr *u, const char *ascii) {
    size_t n = strlen(ascii);
    if (u->n < n) return 0;
    for (size_t i = 0; i < n; i++)
        if (u->c[i] != (uint32_t)(unsigned char)ascii[i]) return 0;
    return 1;
}

/* The text of the hyperlink XlsxWriter writes for a URL-like string (u changed in place); *blank
 * when the link is too long to be written. */
static int url_text(ds_ustr *u, int *blank) {
    size_t hash = DS_U_NPOS;
    for (size_t i = 0; i < u->n && hash == DS_U_NPOS; i++)
        if (u->c[i] == '#') hash = i;
    size_t url_len = hash == DS_U_NPOS ? u->n : hash, anchor_len = hash == DS_U_NPOS ? 0 : u->n - hash - 1;
    if (url_len > 2079 || anchor_len > 2079) {
        *blank = 1;
        return 0;
    }
    if (starts_with(u, "mailto:") || starts_with(u, "internal:")) {
        size_t k = starts_with(u, "mailto:") ? 7 : 9;
        memmove(u->c, u->c + k, (u->n - k) * sizeof *u->c);
        u->n -= k;
    } else if (starts_with(u, "file://") || starts_with(u, "external:")) {
        /* file_url = s.replace("external:", "file:///", 1); then the first "file:///", then the
         * first "file://" are dropped and every "/" becomes "\" */
        char *utf = ds_u_to_utf8(u->c, u->n);
        if (!utf) return -1;
        ds_ustr t = {0};
        int st = ds_u_from_utf8(&t, utf, strlen(utf));
        free(utf);
        if (st) return -1;
        size_t at;
        static const char *const steps[][2] = {{"external:", "file:///"}, {"file:///", ""}, {"file://", ""}};
        for (size_t k = 0; k < 3; k++)
            if ((at = ds_u_find(t.c, t.n, steps[k][0], 0)) != DS_U_NPOS) {
                ds_ustr r = {0};
                if (ds_u_append(&r, t.c, at) || ds_u_append_utf8(&r, steps[k][1], strlen(steps[k][1])) ||
                    ds_u_append(&r, t.c + at + strlen(steps[k][0]), t.n - at - strlen(steps[k][0]))) {
                    ds_u_free(&r), ds_u_free(&t);
                    return -1;
                }
                ds_u_free(&t);
                t = r;
            }
        for (size_t i = 0; i < t.n; i++)
            if (t.c[i] == '/') t.c[i] = '\\';
        ds_u_free(u);
        *u = t;
    }
    return 0;
}

/* raw -> what evaluate() reads back (into out, for CELL_TEXT). */
static int vlmeval_cell(const char *raw, size_t len, int upstream, ds_ustr *out, cell_kind *kind) {
    ds_ustr s = {0};
    *kind = CELL_TEXT;
    out->n = 0;
    if (ds_u_from_utf8(&s, raw, len)) return DS_ERR_NOMEM;
    int st = DS_ERR_NOMEM;
    if (s.n == 0) {
        *kind = CELL_MISSING;
        st = DS_OK;
        goto done;
    }
    if ((!upstream && s.c[0] == '=') || (starts_with(&s, "{=") && s.c[s.n - 1] == '}')) {
        *kind = CELL_ZERO;
        st = DS_OK;
        goto done;
    }
    int colon = 0;
    for (size_t i = 0; i < s.n && !colon; i++) colon = s.c[i] == ':';
    int url = colon && (starts_with(&s, "http://") || starts_with(&s, "https://") || starts_with(&s, "ftp://") ||
                        starts_with(&s, "ftps://") || starts_with(&s, "mailto:") || starts_with(&s, "internal:") ||
                        starts_with(&s, "external:") || starts_with(&s, "file://"));
    if (url) {
        int blank = 0;
        if (url_text(&s, &blank)) goto done;
        if (blank) {
            *kind = CELL_MISSING;
            st = DS_OK;
            goto done;
        }
    }
    if (s.n > 32767) s.n = 32767;
    /* XlsxWriter's escapes: "_xHHHH_" -> "_x005F_xHHHH_" (left to right), control characters
     * and U+FFFE/U+FFFF -> "_xHHHH_"; then openpyxl deletes every "x005F_" */
    ds_ustr w = {0};
    for (size_t i = 0; i < s.n;) {
        uint32_t c = s.c[i];
        int lit = c == '_' && i + 6 < s.n && s.c[i + 1] == 'x' && s.c[i + 6] == '_';
        for (size_t k = 2; lit && k < 6; k++) {
            uint32_t h = s.c[i + k];
            lit = (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
        }
        if (lit) {
            if (ds_u_append_utf8(&w, "_x005F", 6) || ds_u_append(&w, s.c + i, 7)) goto fail_w;
            i += 7;
            continue;
        }
        if ((c <= 0x08) || (c >= 0x0B && c <= 0x1F) || c == 0xFFFE || c == 0xFFFF) {
            char esc[16];
            snprintf(esc, sizeof esc, "_x%04X_", (unsigned)c);
            if (ds_u_append_utf8(&w, esc, strlen(esc))) goto fail_w;
        } else if (ds_u_push(&w, c)) {
            goto fail_w;
        }
        i++;
    }
    if (ds_u_replace(&w, "x005F_", "") || ds_u_append(out, w.c, w.n)) goto fail_w;
    ds_u_free(&w);
    if (pandas_missing(out->c, out->n)) *kind = CELL_MISSING;
    st = DS_OK;
    goto done;
fail_w:
    ds_u_free(&w);
done:
    ds_u_free(&s);
    return st;
}

/* utils/videomme.py (and utils/longvideobench.py) extract_characters_regex: the letter or 0. The
 * prefix list lacks two commas in the source, so Python concatenates those literals. */
static int extract_characters(const uint32_t *c, size_t n, char max_letter, char *letter) {
    static const char *const prefixes[] = {"The best answer is", "The correct answer is",
                                           "The answer is",      "The answer",
                                           "The best option isThe correct option is",
                                           "Best answer:Best option:", "Answer:", "Option:"};
    *letter = 0;
    size_t b, e;
    ds_u_strip(c, n, &b, &e);
    ds_ustr s = {0};
    if (ds_u_append(&s, c + b, e - b)) return DS_ERR_NOMEM;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (ds_u_replace(&s, prefixes[i], "")) {
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

/* ---- can_infer ------------------------------------------------------------------------------ */

/* e8e78f0's _VERBOSE_ANSWER_RE, (?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**, searched in c:
 * the letter of the leftmost match (upper case), or 0. The optional "correct" only moves the
 * start of a match, so the first "answer is X" decides. */
static char verbose_answer(const uint32_t *c, size_t n) {
    static const char word[] = "answer";
    for (size_t i = 0; i + 6 <= n; i++) {
        size_t k = 0;
        while (k < 6 && ds_u_ci_letter(c[i + k], word[k])) k++;
        if (k < 6) continue;
        size_t j = i + 6, w = j;
        while (j < n && ds_u_isspace(c[j])) j++;
        if (j == w || j + 2 > n || !ds_u_ci_letter(c[j], 'i') || !ds_u_ci_letter(c[j + 1], 's')) continue;
        j += 2;
        w = j;
        while (j < n && ds_u_isspace(c[j])) j++;
        if (j == w) continue;
        while (j < n && c[j] == '*') j++;
        if (j < n)
            for (char L = 'a'; L <= 'd'; L++)
                if (ds_u_ci_letter(c[j], L)) return (char)(L - 'a' + 'A');
    }
    return 0;
}

/* can_infer_option: 'A'.. a letter, 'Z' a refusal, 0 nothing (Python's False). */
static char can_infer_option(const uint32_t *c, size_t n, int n_options, int upstream) {
    if (ds_u_contains(c, n, "Failed to obtain answer via API")) return 0;
    static const char *const reject[] = {"Sorry, I can't help with images of people yet.",
                                         "I can't process this file.", "I'm sorry, but without the image provided",
                                         "Cannot determine the answer"};
    for (size_t i = 0; i < sizeof reject / sizeof reject[0]; i++)
        if (ds_u_contains(c, n, reject[i])) return 'Z';
    /* answer_mod: each of .()[],:;!*#{} replaced by a space, then str.split() */
    size_t n_tok = 0, first_idx[26], z_seen = 0;
    for (int k = 0; k < 26; k++) first_idx[k] = DS_U_NPOS;
    for (size_t i = 0; i < n;) {
        while (i < n && (ds_u_isspace(c[i]) || (c[i] < 128 && strchr(".()[],:;!*#{}", (int)c[i]) && c[i]))) i++;
        if (i == n) break;
        size_t s = i;
        while (i < n && !(ds_u_isspace(c[i]) || (c[i] < 128 && strchr(".()[],:;!*#{}", (int)c[i]) && c[i]))) i++;
        if (i - s == 1 && c[s] >= 'A' && c[s] <= 'Z') {
            int k = (int)(c[s] - 'A');
            if (first_idx[k] == DS_U_NPOS) first_idx[k] = n_tok;
            if (c[s] == 'Z') z_seen = 1;
        }
        n_tok++;
    }
    int count = 0;
    for (int k = 0; k < n_options && k < 26; k++) count += first_idx[k] != DS_U_NPOS;
    if (count == 1) {
        for (int k = 0; k < n_options && k < 26; k++)
            if (first_idx[k] != DS_U_NPOS && (long long)first_idx[k] > (long long)n_tok - 5) return (char)('A' + k);
    } else if (count == 0 && z_seen) {
        return 'Z';
    }
    if (upstream) {
        char v = verbose_answer(c, n);
        if (v && v - 'A' < n_options) return v;
    }
    return 0;
}

/* can_infer_text: the one option whose lowercased text is inside the lowercased answer. The
 * length guard compares len(answer.lower()) with twice the options' total length, in code
 * points as Python counts. */
static int can_infer_text(const uint32_t *c, size_t n, const ds_sample *s, char *out) {
    *out = 0;
    ds_ustr low = {0}, opt = {0}, optl = {0};
    int st = DS_ERR_NOMEM;
    if (ds_u_lower(c, n, &low)) goto done;
    size_t total = 0;
    for (int k = 0; k < s->n_options; k++) {
        const char *o = s->options[k] ? s->options[k] : "";
        if (ds_u_from_utf8(&opt, o, strlen(o))) goto done;
        total += opt.n;
    }
    st = DS_OK;
    if (low.n > 2 * total) goto done;
    int hits = 0;
    char hit = 0;
    for (int k = 0; k < s->n_options; k++) {
        const char *o = s->options[k] ? s->options[k] : "";
        if (ds_u_from_utf8(&opt, o, strlen(o)) || ds_u_lower(opt.c, opt.n, &optl)) {
            st = DS_ERR_NOMEM;
            goto done;
        }
        if (ds_u_find_u(low.c, low.n, optl.c, optl.n, 0) != DS_U_NPOS) hits++, hit = (char)('A' + k);
    }
    if (hits == 1) *out = hit;
done:
    ds_u_free(&low);
    ds_u_free(&opt);
    ds_u_free(&optl);
    return st;
}

/* can_infer(answer, {A: options[0], ...}) */
static int can_infer(const uint32_t *c, size_t n, const ds_sample *s, int upstream, char *out) {
    *out = can_infer_option(c, n, s->n_options, upstream);
    if (*out) return DS_OK;
    return can_infer_text(c, n, s, out);
}

/* Records a can_infer outcome. */
static void infer_result(const ds_sample *s, char c, ds_answer *out) {
    if (c == 'Z') out->parse = DS_PARSE_REFUSED;
    else ds_answer_letter_set(s, c, out);
    out->score = out->correct;
}

/* ---- per benchmark ---------------------------------------------------------------------------- */

/* utils/mvbench.py check_ans_with_model: pred_option = pred.lower().strip().split(' ')[0]; a match
 * when pred_option without dots is a substring of "(g)", or "(g)" is inside pred_option. */
static int mvbench_first_token(const uint32_t *c, size_t n, char gold, int *match) {
    ds_ustr low = {0};
    if (ds_u_lower(c, n, &low)) return DS_ERR_NOMEM;
    size_t b, e;
    ds_u_strip(low.c, low.n, &b, &e);
    size_t t = b;
    while (t < e && low.c[t] != ' ') t++;
    uint32_t g[3] = {'(', (uint32_t)(gold - 'A' + 'a'), ')'};
    /* pred_option.replace('.', '') in gt_option */
    uint32_t nodot[3];
    size_t m = 0;
    int fits = 1;
    for (size_t i = b; i < t; i++) {
        if (low.c[i] == '.') continue;
        if (m == 3) {
            fits = 0;
            break;
        }
        nodot[m++] = low.c[i];
    }
    *match = fits && ds_u_find_u(g, 3, nodot, m, 0) != DS_U_NPOS;
    /* gt_option in pred_option */
    if (!*match) *match = ds_u_find_u(low.c + b, t - b, g, 3, 0) != DS_U_NPOS;
    ds_u_free(&low);
    return DS_OK;
}

static int score_mvbench(const ds_sample *s, int upstream, const ds_ustr *p, int missing, ds_answer *out) {
    if (missing || ds_u_contains(p->c, p->n, FAIL_MSG)) {
        /* never scored (NaN) / scored -1: both truthy in get_dimension_rating */
        out->correct = 1;
        out->score = 1;
        out->parse = DS_PARSE_FAILED;
        return DS_OK;
    }
    int match;
    if (mvbench_first_token(p->c, p->n, s->gold, &match)) return DS_ERR_NOMEM;
    if (match) {
        ds_answer_letter_set(s, s->gold, out);
        out->score = 1;
        return DS_OK;
    }
    char c;
    if (can_infer(p->c, p->n, s, upstream, &c)) return DS_ERR_NOMEM;
    infer_result(s, c, out);
    return DS_OK;
}

static int score_mlvu(const ds_sample *s, int upstream, const ds_ustr *p, int missing, ds_answer *out) {
    if (missing && upstream) { /* e8e78f0 raises TypeError here; we count a wrong answer */
        out->parse = DS_PARSE_FAILED;
        return DS_OK;
    }
    if (missing || ds_u_contains(p->c, p->n, FAIL_MSG)) {
        out->parse = DS_PARSE_FAILED;
        out->score = -1;
        return DS_OK;
    }
    /* pred[i-1:i] for the first ')' at i (empty when i == 0), else the whole prediction */
    size_t rp = DS_U_NPOS;
    for (size_t i = 0; i < p->n && rp == DS_U_NPOS; i++)
        if (p->c[i] == ')') rp = i;
    uint32_t one = 0;
    int single = 0;
    if (rp != DS_U_NPOS) {
        if (rp > 0) one = p->c[rp - 1], single = 1;
    } else if (p->n == 1) {
        one = p->c[0], single = 1;
    }
    if (single && one == (uint32_t)s->gold) {
        ds_answer_letter_set(s, s->gold, out);
        out->score = 1;
        return DS_OK;
    }
    char c;
    if (can_infer(p->c, p->n, s, upstream, &c)) return DS_ERR_NOMEM;
    if (!c && single && one >= 'A' && one < (uint32_t)('A' + s->n_options)) c = (char)one; /* a wrong letter */
    infer_result(s, c, out);
    return DS_OK;
}

int ds_score_vlmeval(const ds_sample *s, ds_convention conv, const char *raw, size_t raw_len, ds_answer *out) {
    int upstream = conv == DS_CONV_VLMEVALKIT_E8E78F0;
    ds_ustr p = {0};
    cell_kind kind;
    if (vlmeval_cell(raw, raw_len, upstream, &p, &kind)) {
        ds_u_free(&p);
        return DS_ERR_NOMEM;
    }
    int missing = kind == CELL_MISSING;
    /* Video-MME and LongVideoBench score str(prediction): "nan" for a missing one, "0" for a formula */
    if (kind != CELL_TEXT && ds_u_from_utf8(&p, missing ? "nan" : "0", missing ? 3 : 1)) return DS_ERR_NOMEM;
    int st = DS_OK;
    char L;
    if (kind == CELL_ZERO && (s->bench == DS_BENCH_MVBENCH || s->bench == DS_BENCH_MLVU)) {
        /* `FAIL_MSG in pred` on the number 0: evaluate() raises TypeError; we count a wrong answer */
        out->parse = DS_PARSE_FAILED;
        ds_u_free(&p);
        return DS_OK;
    }
    switch (s->bench) {
    case DS_BENCH_VIDEOMME:
    case DS_BENCH_LONGVIDEOBENCH:
        st = extract_characters(p.c, p.n, s->bench == DS_BENCH_VIDEOMME ? 'D' : 'E', &L);
        if (!st) {
            ds_answer_letter_set(s, L, out);
            out->score = out->correct;
        }
        break;
    case DS_BENCH_MVBENCH: st = score_mvbench(s, upstream, &p, missing, out); break;
    case DS_BENCH_MLVU: st = score_mlvu(s, upstream, &p, missing, out); break;
    default: st = DS_ERR_ARG;
    }
    ds_u_free(&p);
    return st;
}
