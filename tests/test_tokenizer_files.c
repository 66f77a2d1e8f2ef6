/* test_tokenizer_files.c - the tokenizer file readers (tokenizer.json as HF writes it, in both
 * merge formats; vocab.json + merges.txt), malformed files (clear errors naming the file), NFC,
 * and the `tango-bench tokenize` command.
 *
 * tests/fixtures/tokenizer/tiny_tokenizer.json was written by HF `tokenizers` 0.23.3
 * (tests/fixtures/tokenizer/gen_tiny.py: a 300-token byte-level BPE with the Qwen2 normalizer and
 * pre-tokenizer, merges saved as [a, b] pairs, specials at ids 0..2); the expected ids below are
 * what that library printed for the same strings, checked by hand against its merge list
 * (e.g. "the" = t h -> th (merge 0), th e -> the (merge 1) = 260).
 */
#include "tests/tb_test.h"

#include "engine/tokenizer.h"
#include "engine/tokenizer_nfc.h"

#include <cjson/cJSON.h>

#define TINY "tests/fixtures/tokenizer/tiny_tokenizer.json"

static char g_tmp[1024];

static int setup(void **state) {
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "%s", tb_test_dir("tokenizer_files"));
    return 0;
}

static void write_file(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    assert_int_equal(fread(b, 1, (size_t)sz, f), (size_t)sz);
    b[sz] = '\0';
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void expect_ids(tok_tokenizer *tk, const char *text, const int32_t *want, size_t n) {
    tok_ids ids = {0};
    char err[256];
    assert_int_equal(tok_encode(tk, text, strlen(text), &ids, err, sizeof err), TOK_OK);
    assert_int_equal(ids.n, n);
    assert_memory_equal(ids.v, want, n * sizeof *want);
    char *back = tok_decode(tk, ids.v, ids.n, 0, NULL, err, sizeof err);
    assert_string_equal(back, text);
    free(back);
    tok_ids_free(&ids);
}

/* The ids HF printed for the tiny tokenizer (gen_tiny.py). */
static void check_tiny(tok_tokenizer *tk) {
    assert_int_equal(tok_vocab_size(tk), 300);
    assert_int_equal(tok_id_endoftext(tk), 0);
    assert_int_equal(tok_id_im_start(tk), 1);
    assert_int_equal(tok_id_im_end(tk), 2);
    static const int32_t a[] = {260, 274}; /* the | Ġcat */
    expect_ids(tk, "the cat", a, 2);
    /* the | Ġ | do | g | Ġs | at | Ġo | n | Ġthe | Ġ | mat */
    static const int32_t b[] = {260, 223, 279, 73, 273, 261, 263, 80, 262, 223, 287};
    expect_ids(tk, "the dog sat on the mat", b, 11);
    static const int32_t c[] = {1, 87, 85, 267, 201, 260, 274, 2}; /* <|im_start|> u s er Ċ the Ġcat <|im_end|> */
    expect_ids(tk, "<|im_start|>user\nthe cat<|im_end|>", c, 8);
    static const int32_t d[] = {74, 130, 105, 78, 78, 81, 223, 19, 20, 21}; /* h Ã © l l o Ġ 1 2 3 */
    expect_ids(tk, "h\xc3\xa9llo 123", d, 10);
}

static void test_tiny_tokenizer_json_pairs(void **state) {
    (void)state;
    char err[512];
    tok_tokenizer *tk = tok_load(TINY, err, sizeof err);
    if (!tk) fprintf(stderr, "%s\n", err);
    assert_non_null(tk);
    check_tiny(tk);
    tok_free(tk);
}

/* Rewrites the fixture with merges as "a b" strings (the older HF format) and loads it from a
 * directory (tokenizer.json is preferred there). */
static void test_tiny_tokenizer_json_strings_dir(void **state) {
    (void)state;
    size_t n;
    char *txt = read_all(TINY, &n);
    cJSON *root = cJSON_Parse(txt);
    free(txt);
    assert_non_null(root);
    cJSON *merges = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "merges");
    cJSON *strs = cJSON_CreateArray();
    for (cJSON *m = merges->child; m; m = m->next) {
        char line[256];
        snprintf(line, sizeof line, "%s %s", m->child->valuestring, m->child->next->valuestring);
        cJSON_AddItemToArray(strs, cJSON_CreateString(line));
    }
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "model"), "merges", strs);
    char *out = cJSON_PrintUnformatted(root);
    char dir[1200], path[1300];
    snprintf(dir, sizeof dir, "%s/strmerges", g_tmp);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_file(path, out, strlen(out));
    free(out);
    cJSON_Delete(root);
    char err[512];
    tok_tokenizer *tk = tok_load(dir, err, sizeof err);
    if (!tk) fprintf(stderr, "%s\n", err);
    assert_non_null(tk);
    check_tiny(tk);
    tok_free(tk);
}

/* The same tiny tokenizer as vocab.json + merges.txt + added_tokens.json. */
static void test_tiny_vocab_merges(void **state) {
    (void)state;
    size_t n;
    char *txt = read_all(TINY, &n);
    cJSON *root = cJSON_Parse(txt);
    free(txt);
    cJSON *model = cJSON_GetObjectItem(root, "model");
    char dir[1200], path[1300];
    snprintf(dir, sizeof dir, "%s/vm", g_tmp);
    mkdir(dir, 0755);
    char *v = cJSON_PrintUnformatted(cJSON_GetObjectItem(model, "vocab"));
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    write_file(path, v, strlen(v));
    free(v);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    FILE *f = fopen(path, "wb");
    fprintf(f, "#version: 0.2\n");
    for (cJSON *m = cJSON_GetObjectItem(model, "merges")->child; m; m = m->next)
        fprintf(f, "%s %s\n", m->child->valuestring, m->child->next->valuestring);
    fclose(f);
    snprintf(path, sizeof path, "%s/added_tokens.json", dir);
    const char *added = "{\"<|endoftext|>\": 0, \"<|im_start|>\": 1, \"<|im_end|>\": 2}";
    write_file(path, added, strlen(added));
    cJSON_Delete(root);
    char err[512];
    tok_tokenizer *tk = tok_load(dir, err, sizeof err);
    if (!tk) fprintf(stderr, "%s\n", err);
    assert_non_null(tk);
    check_tiny(tk);
    tok_free(tk);
}

/* Writes name in a fresh directory with the given text; returns the directory. */
static const char *one_file_dir(const char *tag, const char *name, const char *text) {
    static char dir[1200];
    char path[1400];
    snprintf(dir, sizeof dir, "%s/%s", g_tmp, tag);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, text, strlen(text));
    return dir;
}

/* Expects tok_load(path) to fail with a message containing both needles. */
static void expect_load_error(const char *path, const char *needle1, const char *needle2) {
    char err[512] = "";
    tok_tokenizer *tk = tok_load(path, err, sizeof err);
    if (tk || !strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
        fprintf(stderr, "load %s: err = \"%s\" (want \"%s\", \"%s\")\n", path, err, needle1, needle2 ? needle2 : "");
    assert_null(tk);
    assert_non_null(strstr(err, needle1));
    if (needle2) assert_non_null(strstr(err, needle2));
}

/* A minimal valid tokenizer.json body around a model object. */
static char *tj(const char *model_inner, const char *extra) {
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"added_tokens\": [], \"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\","
             " \"add_prefix_space\": false, \"use_regex\": true}, \"decoder\": {\"type\": \"ByteLevel\"}%s,"
             " \"model\": {\"type\": \"BPE\"%s%s}}",
             extra, model_inner[0] ? ", " : "", model_inner);
    return buf;
}

static void test_malformed_tokenizer_json(void **state) {
    (void)state;
    char path[1400];
    /* sanity: the minimal body itself loads */
    const char *ok = one_file_dir("ok", "tokenizer.json", tj("\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]", ""));
    char err[512];
    tok_tokenizer *tk = tok_load(ok, err, sizeof err);
    assert_non_null(tk);
    static const int32_t ab[] = {2};
    expect_ids(tk, "ab", ab, 1);
    tok_ids ids = {0};
    assert_int_equal(tok_encode(tk, "c", 1, &ids, err, sizeof err), TOK_ERR_INPUT); /* no token for 'c' */
    assert_non_null(strstr(err, "0x63"));
    tok_free(tk);

    const char *d = one_file_dir("badjson", "tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0,, }}}");
    snprintf(path, sizeof path, "%s/tokenizer.json", d);
    expect_load_error(d, path, "invalid JSON at line 1");

    d = one_file_dir("truncated", "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b");
    expect_load_error(d, "tokenizer.json", "truncated");

    d = one_file_dir("novocab", "tokenizer.json", tj("\"merges\": []", ""));
    expect_load_error(d, "tokenizer.json", "missing object model.vocab");

    d = one_file_dir("nomerges", "tokenizer.json", tj("\"vocab\": {\"a\": 0}", ""));
    expect_load_error(d, "tokenizer.json", "model.merges");

    d = one_file_dir("unkmerge", "tokenizer.json", tj("\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\", \"a z\"]", ""));
    expect_load_error(d, "tokenizer.json", "model.merges[1] references unknown token \"z\"");

    d = one_file_dir("noresult", "tokenizer.json", tj("\"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]", ""));
    expect_load_error(d, "tokenizer.json", "merged token \"ab\" is not in the vocabulary");

    d = one_file_dir("badmerge", "tokenizer.json", tj("\"vocab\": {\"a\": 0}, \"merges\": [\"a\"]", ""));
    expect_load_error(d, "tokenizer.json", "model.merges[0]");

    d = one_file_dir("badid", "tokenizer.json", tj("\"vocab\": {\"a\": -3}, \"merges\": []", ""));
    expect_load_error(d, "tokenizer.json", "bad id");

    d = one_file_dir("dupid", "tokenizer.json", tj("\"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []", ""));
    expect_load_error(d, "tokenizer.json", "id 0 is used by two tokens");

    d = one_file_dir("wordpiece", "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
    expect_load_error(d, "tokenizer.json", "WordPiece");

    d = one_file_dir("nfkc", "tokenizer.json",
                     "{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(d, "tokenizer.json", "NFKC");

    d = one_file_dir("nopretok", "tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(d, "tokenizer.json", "pre_tokenizer");

    d = one_file_dir("template", "tokenizer.json", tj("\"vocab\": {\"a\": 0}, \"merges\": []",
                                                       ", \"post_processor\": {\"type\": \"TemplateProcessing\"}"));
    expect_load_error(d, "tokenizer.json", "TemplateProcessing");

    d = one_file_dir("lstrip", "tokenizer.json",
                     "{\"added_tokens\": [{\"id\": 1, \"content\": \"<m>\", \"lstrip\": true}], \"pre_tokenizer\":"
                     " {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(d, "tokenizer.json", "lstrip");

    d = one_file_dir("addedclash", "tokenizer.json",
                     "{\"added_tokens\": [{\"id\": 0, \"content\": \"<m>\", \"special\": true}], \"pre_tokenizer\":"
                     " {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(d, "tokenizer.json", "vocabulary gives to another token");

    d = one_file_dir("addednfc", "tokenizer.json",
                     "{\"added_tokens\": [{\"id\": 1, \"content\": \"e\\u0301\", \"normalized\": true}],"
                     " \"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"},"
                     " \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(d, "tokenizer.json", "NFC changes it");

    d = one_file_dir("badregex", "tokenizer.json",
                     "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\":"
                     " {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\","
                     " \"use_regex\": false}]}, \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_load_error(d, "tokenizer.json", "regex does not compile");

    d = one_file_dir("notobject", "tokenizer.json", "[1, 2]");
    expect_load_error(d, "tokenizer.json", "not a JSON object");

    snprintf(path, sizeof path, "%s/does-not-exist", g_tmp);
    expect_load_error(path, "does-not-exist", NULL);
    snprintf(path, sizeof path, "%s/empty", g_tmp);
    mkdir(path, 0755);
    expect_load_error(path, "no tokenizer.json and no vocab.json", NULL);
}

static void test_malformed_vocab_merges(void **state) {
    (void)state;
    const char *vocab = "{\"a\": 0, \"b\": 1, \"ab\": 2, \"\xc4\xa0\": 3}"; /* Ġ = space */
    char dir[1200], path[1400];
    struct {
        const char *tag, *vocab, *merges, *added, *n1, *n2;
    } cases[] = {
        {"ok", vocab, "#version: 0.2\na b\n", NULL, NULL, NULL},
        {"trunc_vocab", "{\"a\": 0, \"b\": 1, \"a", "a b\n", NULL, "vocab.json", "truncated"},
        {"bad_vocab_type", "[\"a\"]", "a b\n", NULL, "vocab.json", "JSON object"},
        {"unknown_tok", vocab, "#version: 0.2\na b\nab q\n", NULL, "merges.txt: merge line 3", "unknown token \"q\""},
        {"trunc_merges", vocab, "#version: 0.2\na b\nab", NULL, "merges.txt: line 3", "truncated"},
        {"no_merges", vocab, NULL, NULL, "merges.txt", "cannot open"},
        {"bad_added", vocab, "a b\n", "{\"<s>\": \"x\"}", "added_tokens.json", "bad id"},
        {"trunc_added", vocab, "a b\n", "{\"<s>\": 4", "added_tokens.json", "invalid JSON"},
        {"bad_utf8_merge", vocab, "a \xff\n", NULL, "merges.txt", "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(dir, sizeof dir, "%s/vm_%s", g_tmp, cases[i].tag);
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/vocab.json", dir);
        write_file(path, cases[i].vocab, strlen(cases[i].vocab));
        if (cases[i].merges) {
            snprintf(path, sizeof path, "%s/merges.txt", dir);
            write_file(path, cases[i].merges, strlen(cases[i].merges));
        }
        if (cases[i].added) {
            snprintf(path, sizeof path, "%s/added_tokens.json", dir);
            write_file(path, cases[i].added, strlen(cases[i].added));
        }
        if (!cases[i].n1) {
            char err[512];
            tok_tokenizer *tk = tok_load(dir, err, sizeof err);
            assert_non_null(tk);
            static const int32_t w[] = {2, 3, 0}; /* ab | Ġ | a: "ab a" -> ab, " a" has no merge Ġ a */
            expect_ids(tk, "ab a", w, 3);
            tok_free(tk);
        } else {
            expect_load_error(dir, cases[i].n1, cases[i].n2);
        }
    }
}

/* Regression (issue 14): vocab.json {"": 0, ...} made vocab_insert compute NULL + 0 (the pool was
 * never allocated for an empty first token): undefined behaviour UBSan reports. The empty token
 * now has bytes in the pool like any other. */
static void test_empty_vocab_token(void **state) {
    (void)state;
    char dir[1200], path[1400], err[512];
    snprintf(dir, sizeof dir, "%s/vm_empty_token", g_tmp);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    write_file(path, "{\"\": 0}", 8); /* the only token: nothing else allocates the pool */
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    write_file(path, "#version: 0.2\n", 14);
    tok_tokenizer *tk = tok_load(dir, err, sizeof err);
    if (!tk) fail_msg("%s", err);
    size_t n = 99;
    const char *b = tok_token_bytes(tk, 0, &n);
    assert_non_null(b);
    assert_int_equal(n, 0);
    tok_free(tk);
}

static char *nfc(const char *s) {
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(tok_nfc(s, strlen(s), &out, &n), 0);
    if (!out) return strdup(s);
    assert_int_equal(strlen(out), n);
    return out;
}

static void test_nfc_unit(void **state) {
    (void)state;
    char *o;
    char *unused = NULL;
    size_t n = 0;
    assert_int_equal(tok_nfc("plain ascii", 11, &unused, &n), 0);
    assert_null(unused); /* already NFC: nothing allocated */
    assert_int_equal(tok_nfc("caf\xc3\xa9", 5, &unused, &n), 0);
    assert_null(unused);
    o = nfc("cafe\xcc\x81"); /* e + U+0301 -> U+00E9 */
    assert_string_equal(o, "caf\xc3\xa9");
    free(o);
    o = nfc("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"); /* Hangul jamo L V T -> U+AC01 */
    assert_string_equal(o, "\xea\xb0\x81");
    free(o);
    /* a + U+0323 (ccc 220) + U+0302 (ccc 230) and a + U+0302 + U+0323 both become U+1EAD */
    o = nfc("a\xcc\x82\xcc\xa3");
    assert_string_equal(o, "\xe1\xba\xad");
    free(o);
    o = nfc("a\xcc\xa3\xcc\x82");
    assert_string_equal(o, "\xe1\xba\xad");
    free(o);
    o = nfc("\xe2\x84\xa6"); /* U+2126 OHM SIGN -> U+03A9 */
    assert_string_equal(o, "\xce\xa9");
    free(o);
    o = nfc("\xef\xac\x81"); /* U+FB01 ligature fi is a compatibility mapping: unchanged by NFC */
    assert_string_equal(o, "\xef\xac\x81");
    free(o);
    /* U+0958 (Devanagari QA) is a composition exclusion: NFC keeps it decomposed U+0915 U+093C */
    o = nfc("\xe0\xa5\x98");
    assert_string_equal(o, "\xe0\xa4\x95\xe0\xa4\xbc");
    free(o);
    assert_non_null(tok_nfc_unicode_version());
}

static void test_cli(void **state) {
    (void)state;
    char cmd[4096], out[8192];
    const char *bin = tb_test_bin();
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --text 'the cat'", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "[260, 274]\n");
    /* --image-split: "the <image> cat" -> the Ġ | -200 | Ġcat */
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --text 'the<image> cat' --image-split", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "[260, -200, 274]\n");
    /* --chat without --image-split keeps "<image>" as text; with it, -200 appears once */
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --text '<image>' --chat --image-split", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "-200"));
    assert_int_equal(strncmp(out, "[1, ", 4), 0); /* starts with <|im_start|> = 1 */
    assert_non_null(strstr(out, ", 201]\n"));    /* ends with Ċ */
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --text '<image>' --chat", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_null(strstr(out, "-200"));
    /* --file */
    char path[1400];
    snprintf(path, sizeof path, "%s/in.txt", g_tmp);
    write_file(path, "the cat", 7);
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --file %s", bin, TINY, path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "[260, 274]\n");
    /* --decode */
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --decode 1,260,274,2", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "<|im_start|>the cat<|im_end|>\n");
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --decode 1,260,274,2 --skip-special", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "the cat\n");
    /* errors: usage (2) and runtime (1), one clear line */
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "exactly one of"));
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --decode 1,x", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --decode 99999", bin, TINY);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "99999"));
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s/nope --text hi", bin, g_tmp);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "nope"));
    snprintf(cmd, sizeof cmd, "%s tokenize --tokenizer %s --file %s/missing.txt", bin, TINY, g_tmp);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "missing.txt"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_tokenizer_json_pairs),
        cmocka_unit_test(test_tiny_tokenizer_json_strings_dir),
        cmocka_unit_test(test_tiny_vocab_merges),
        cmocka_unit_test(test_malformed_tokenizer_json),
        cmocka_unit_test(test_malformed_vocab_merges),
        cmocka_unit_test(test_empty_vocab_token),
        cmocka_unit_test(test_nfc_unit),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
