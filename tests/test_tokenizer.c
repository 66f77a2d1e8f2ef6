/* test_tokenizer.c - the Qwen2 tokenizer against the REAL Qwen2 vocabulary
 * (${TB_SHARED:-../shared}/data/qwen2-tokenizer: vocab.json + merges.txt + added_tokens.json).
 *
 * How the expected ids were derived: HF `tokenizers` 0.23.3 was installed once into
 * $TB_BUILD/pyoracle (pip install --target), and tests/fixtures/tokenizer/oracle.py rebuilt the
 * Qwen2 fast tokenizer (NFC, Split(Qwen2 regex, Isolated), ByteLevel) from the same three files
 * and printed the ids; the suite does not depend on that package. Each case was then checked by
 * hand: the pre-token split the regex must give, and the byte-level token strings (shown in the
 * comments, Ġ = space, Ċ = newline, ĉ = tab, č = CR) whose concatenation is the text.
 * The 14-id system prefix and "\n" = 198 / "\n\n" = 271 are also given in the spec (§6.3) and
 * in the data README. A randomised comparison of 21,000 strings (mixed scripts, combining marks,
 * whitespace runs, emoji, special tokens) against the oracle agreed except one string of
 * recent combining marks (see the NFC note in engine/tokenizer.c).
 */
#include "tests/tb_test.h"

#include "engine/tokenizer.h"

#include <time.h>

static tok_tokenizer *g_tk;
static char g_dir[1024];

static int setup(void **state) {
    (void)state;
    const char *shared = getenv("TB_SHARED");
    snprintf(g_dir, sizeof g_dir, "%s/data/qwen2-tokenizer", shared && *shared ? shared : "../shared");
    char err[512];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    g_tk = tok_load(g_dir, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (!g_tk) {
        fprintf(stderr, "cannot load the Qwen2 tokenizer: %s\n", err);
        return -1;
    }
    printf("# loaded %s in %.3f s\n", g_dir, (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tok_free(g_tk);
    return 0;
}

/* Encodes text and compares with the expected ids; also checks that decoding gives text back
 * (for NFC-stable text). */
static void check_ids(const char *text, const int32_t *want, size_t n_want, int roundtrip) {
    tok_ids ids = {0};
    char err[256];
    int st = tok_encode(g_tk, text, strlen(text), &ids, err, sizeof err);
    if (st) fprintf(stderr, "encode failed: %s\n", err);
    assert_int_equal(st, TOK_OK);
    if (ids.n != n_want || memcmp(ids.v, want, n_want * sizeof *want)) {
        fprintf(stderr, "text \"%s\": got", text);
        for (size_t i = 0; i < ids.n; i++) fprintf(stderr, " %d", ids.v[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(ids.n, n_want);
    assert_memory_equal(ids.v, want, n_want * sizeof *want);
    if (roundtrip) {
        size_t len = 0;
        char *back = tok_decode(g_tk, ids.v, ids.n, 0, &len, err, sizeof err);
        assert_non_null(back);
        assert_int_equal(len, strlen(text));
        assert_string_equal(back, text);
        free(back);
    }
    tok_ids_free(&ids);
}

#define CHECK(text, ...)                                                                            \
    do {                                                                                            \
        static const int32_t w_[] = {__VA_ARGS__};                                                  \
        check_ids(text, w_, sizeof w_ / sizeof w_[0], 1);                                           \
    } while (0)
#define CHECK_NORM(text, ...)                                                                       \
    do {                                                                                            \
        static const int32_t w_[] = {__VA_ARGS__};                                                  \
        check_ids(text, w_, sizeof w_ / sizeof w_[0], 0);                                           \
    } while (0)

static void test_vocab_and_special_ids(void **state) {
    (void)state;
    assert_int_equal(tok_vocab_size(g_tk), 151646); /* 151643 BPE + 3 special (spec §6.3) */
    assert_int_equal(tok_id_endoftext(g_tk), 151643);
    assert_int_equal(tok_id_im_start(g_tk), 151644);
    assert_int_equal(tok_id_im_end(g_tk), 151645);
    assert_true(tok_is_special(g_tk, 151645));
    assert_false(tok_is_special(g_tk, 198));
    assert_false(tok_is_special(g_tk, -200));
    assert_int_equal(tok_token_id(g_tk, "<|im_end|>"), 151645);
    assert_int_equal(tok_token_id(g_tk, "\n"), 198);
    assert_int_equal(tok_token_id(g_tk, " world"), 1879);
    assert_int_equal(tok_token_id(g_tk, "no-such-token-xyz"), -1);
    size_t len = 0;
    const char *b = tok_token_bytes(g_tk, 1879, &len);
    assert_non_null(b);
    assert_int_equal(len, 6);
    assert_memory_equal(b, " world", 6);
    assert_null(tok_token_bytes(g_tk, 151646, &len));
    assert_null(tok_token_bytes(g_tk, -1, &len));
}

static void test_chat_prefix_and_newlines(void **state) {
    (void)state;
    /* spec §6.3 / data README: system  Ċ  You  Ġare  Ġa  Ġhelpful  Ġassistant  .  ... user  Ċ */
    CHECK("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n", 151644, 8948, 198,
          2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198);
    CHECK("<|im_end|>\n<|im_start|>assistant\n", 151645, 198, 151644, 77091, 198);
    CHECK("\n", 198);        /* Ċ */
    CHECK("\n\n", 271);      /* ĊĊ: \s*[\r\n]+ takes both newlines as one pre-token */
    CHECK("hello world", 14990, 1879); /* hello | Ġworld */
}

static void test_whitespace_runs(void **state) {
    (void)state;
    /* "a  b": \s+(?!\S) backs off to one space, the second space joins "b": a | Ġ | Ġb */
    CHECK("a  b", 64, 220, 293);
    CHECK("   x", 256, 856);      /* ĠĠ | Ġx */
    CHECK("x   ", 87, 262);       /* x | ĠĠĠ (trailing run: \s+) */
    CHECK("\t\tx", 197, 10225);   /* ĉ | ĉx ([^\r\n\p{L}\p{N}]? takes one tab) */
    CHECK(" \n ", 715, 220);      /* ĠĊ (\s*[\r\n]+) | Ġ */
    CHECK("line1\n\n\nline2", 1056, 16, 1406, 1056, 17); /* line | 1 | ĊĊĊ | line | 2 */
    CHECK("a\r\nb", 64, 319, 65); /* a | čĊ | b */
    CHECK("Answer: ", 16141, 25, 220); /* Answer | : | Ġ (Video-MME's trailing space) */
}

static void test_digits_split_one_by_one(void **state) {
    (void)state;
    CHECK("12345", 16, 17, 18, 19, 20);               /* \p{N} matches one digit */
    CHECK("3.14", 18, 13, 16, 19);                    /* 3 | . | 1 | 4 */
    CHECK("1,000 apples", 16, 11, 15, 15, 15, 40676); /* 1 | , | 0 | 0 | 0 | Ġapples */
}

static void test_contractions(void **state) {
    (void)state;
    CHECK("I'm", 40, 2776);              /* I | 'm */
    CHECK("don't", 15007, 944);          /* don | 't */
    CHECK("she's done", 31058, 594, 2814); /* she | 's | Ġdone */
    /* (?i:'ll) matches "'LL" as one pre-token; there is no "'LL" token and no merge "' LL": ' | LL */
    CHECK("WE'LL", 12457, 6, 4086);
    CHECK("Best option:(", 14470, 2999, 3269); /* Best | Ġoption | :( (MVBench's suffix) */
}

static void test_non_ascii_and_emoji(void **state) {
    (void)state;
    CHECK("h\xc3\xa9llo", 71, 18503, 385);                 /* h | Ã©l | lo  (é = C3 A9) */
    CHECK("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 101059, 102819); /* 日本 | 語 */
    CHECK("\xd1\x80\xd1\x83\xd1\x81\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9", 129089, 126302); /* рус | ский */
    CHECK("\xf0\x9f\x98\x80", 141334);                     /* 😀 one token: ðŁĺĢ */
    CHECK("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 144349, 145375); /* 👍 | 🏽 (skin tone) */
}

static void test_nfc(void **state) {
    (void)state;
    /* e + U+0301 combining acute composes to é (C3 A9) = "Ã©" 963 */
    CHECK_NORM("e\xcc\x81", 963);
    /* U+212B ANGSTROM SIGN is a singleton decomposing to Å (U+00C5) = "Ãħ" 144044 */
    CHECK_NORM("\xe2\x84\xab", 144044);
    CHECK("\xc3\x85", 144044);
}

static void test_special_tokens_inside_text(void **state) {
    (void)state;
    CHECK("<|im_start|>user\nhi<|im_end|>", 151644, 872, 198, 6023, 151645);
    CHECK("<|im_start|><|im_end|>", 151644, 151645);
    /* an incomplete special token is ordinary text: < | | | im | _start */
    CHECK("<|im_start", 27, 91, 318, 4906);
}

static void test_image_split(void **state) {
    (void)state;
    tok_ids ids = {0};
    char err[256];
    /* Whole: "<image>\n\nThese are the frames of a video." is < | image | >ĊĊ | These ... */
    CHECK("<image>\n\nThese are the frames of a video.", 27, 1805, 1339, 9485, 525, 279, 14087, 315, 264, 2766, 13);
    /* Split: "" | -200 | "\n\nThese are the frames of a video." (ĊĊ | These | Ġare ...) */
    const char *t = "<image>\n\nThese are the frames of a video.";
    assert_int_equal(tok_encode_image_split(g_tk, t, strlen(t), &ids, err, sizeof err), TOK_OK);
    static const int32_t want[] = {-200, 271, 9485, 525, 279, 14087, 315, 264, 2766, 13};
    assert_int_equal(ids.n, sizeof want / sizeof want[0]);
    assert_memory_equal(ids.v, want, sizeof want);
    tok_ids_free(&ids);
    /* two placeholders and text on both sides; BPE never merges across them */
    t = "a<image>b<image>";
    assert_int_equal(tok_encode_image_split(g_tk, t, strlen(t), &ids, err, sizeof err), TOK_OK);
    static const int32_t want2[] = {64, -200, 65, -200};
    assert_int_equal(ids.n, 4);
    assert_memory_equal(ids.v, want2, sizeof want2);
    tok_ids_free(&ids);
}

static void test_chat_encode(void **state) {
    (void)state;
    tok_ids ids = {0};
    char err[256];
    assert_int_equal(tok_chat_encode(g_tk, "<image>\nWhat is shown?", &ids, err, sizeof err), TOK_OK);
    /* 14-id prefix, -200, "\nWhat is shown?" = Ċ What Ġis Ġshown ?, suffix <|im_end|> Ċ <|im_start|> assistant Ċ */
    static const int32_t want[] = {151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198,
                                   -200, 198, 3838, 374, 6839, 30, 151645, 198, 151644, 77091, 198};
    assert_int_equal(ids.n, sizeof want / sizeof want[0]);
    assert_memory_equal(ids.v, want, sizeof want);
    assert_int_equal(ids.v[14], TOK_IMAGE_ID); /* visual tokens start at position 14 (spec §5.4) */
    tok_ids_free(&ids);
    char *r = tok_chat_render("X");
    assert_string_equal(r, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nX"
                           "<|im_end|>\n<|im_start|>assistant\n");
    free(r);
}

static void test_decode(void **state) {
    (void)state;
    char err[256];
    size_t len = 0;
    static const int32_t ids[] = {151644, 872, 198, 6023, 151645};
    char *s = tok_decode(g_tk, ids, 5, 0, &len, err, sizeof err);
    assert_string_equal(s, "<|im_start|>user\nhi<|im_end|>");
    free(s);
    s = tok_decode(g_tk, ids, 5, 1, &len, err, sizeof err); /* skip special */
    assert_string_equal(s, "user\nhi");
    assert_int_equal(len, 7);
    free(s);
    /* "h" + the single-byte token 0xF0 (the first byte of a 4-byte sequence, e.g. 👍 F0 9F 91 8D)
     * decodes to "h" + U+FFFD, as HF's lossy decode does */
    int32_t f0 = -1;
    for (int32_t id = 0; id < 256 && f0 < 0; id++) {
        size_t n;
        const char *b = tok_token_bytes(g_tk, id, &n);
        if (b && n == 1 && (unsigned char)b[0] == 0xF0) f0 = id;
    }
    assert_true(f0 >= 0);
    int32_t half[2] = {71, f0};
    s = tok_decode(g_tk, half, 2, 0, &len, err, sizeof err);
    assert_string_equal(s, "h\xef\xbf\xbd");
    free(s);
    /* bad ids: the image placeholder and an id past the vocabulary */
    int32_t bad[2] = {71, TOK_IMAGE_ID};
    assert_null(tok_decode(g_tk, bad, 2, 0, &len, err, sizeof err));
    assert_non_null(strstr(err, "-200"));
    bad[1] = 151646;
    assert_null(tok_decode(g_tk, bad, 2, 0, &len, err, sizeof err));
    assert_non_null(strstr(err, "151646"));
    s = tok_decode(g_tk, NULL, 0, 0, &len, err, sizeof err); /* nothing -> "" */
    assert_string_equal(s, "");
    free(s);
}

static void test_roundtrip_mixed(void **state) {
    (void)state;
    const char *t = "Qwen2 \xe2\x80\x94 \xe4\xb8\xad\xe6\x96\x87 \xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9"
                    " \xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80 \xf0\x9f\x87\xab\xf0\x9f\x87\xb7"
                    "\t\r\n  x = y+1; // 'quoted' \"dq\" $100 <|endoftext|> tail   \n";
    tok_ids ids = {0};
    char err[256];
    assert_int_equal(tok_encode(g_tk, t, strlen(t), &ids, err, sizeof err), TOK_OK);
    assert_true(ids.n > 10);
    int found_eot = 0;
    for (size_t i = 0; i < ids.n; i++) {
        assert_true(ids.v[i] >= 0 && ids.v[i] < 151646);
        found_eot += ids.v[i] == 151643;
    }
    assert_int_equal(found_eot, 1);
    size_t len = 0;
    char *back = tok_decode(g_tk, ids.v, ids.n, 0, &len, err, sizeof err);
    assert_string_equal(back, t);
    free(back);
    tok_ids_free(&ids);
}

static void test_bad_input(void **state) {
    (void)state;
    tok_ids ids = {0};
    char err[256];
    assert_int_equal(tok_encode(g_tk, "ab\xff", 3, &ids, err, sizeof err), TOK_ERR_INPUT);
    assert_non_null(strstr(err, "byte 2"));
    assert_int_equal(ids.n, 0);
    assert_int_equal(tok_encode(g_tk, "\xed\xa0\x80", 3, &ids, err, sizeof err), TOK_ERR_INPUT); /* surrogate */
    assert_int_equal(tok_encode(g_tk, "\xc0\xaf", 2, &ids, err, sizeof err), TOK_ERR_INPUT);     /* overlong */
    /* a failed append leaves earlier ids in place */
    assert_int_equal(tok_encode(g_tk, "hi", 2, &ids, err, sizeof err), TOK_OK);
    assert_int_equal(tok_encode(g_tk, "x\xe2\x82", 3, &ids, err, sizeof err), TOK_ERR_INPUT);
    assert_int_equal(ids.n, 1);
    assert_int_equal(ids.v[0], 6023);
    /* an embedded NUL is ordinary text (byte 0 has a token) */
    assert_int_equal(tok_encode(g_tk, "a\0b", 3, &ids, err, sizeof err), TOK_OK);
    assert_int_equal(ids.n, 4);
    tok_ids_free(&ids);
    tok_ids_free(NULL);
    tok_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_and_special_ids),
        cmocka_unit_test(test_chat_prefix_and_newlines),
        cmocka_unit_test(test_whitespace_runs),
        cmocka_unit_test(test_digits_split_one_by_one),
        cmocka_unit_test(test_contractions),
        cmocka_unit_test(test_non_ascii_and_emoji),
        cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_special_tokens_inside_text),
        cmocka_unit_test(test_image_split),
        cmocka_unit_test(test_chat_encode),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_roundtrip_mixed),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
