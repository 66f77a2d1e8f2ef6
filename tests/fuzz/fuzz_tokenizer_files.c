/* fuzz_tokenizer_files.c - the tokenizer files (engine/tokenizer.c), then text through them.
 * Parts: "tokenizer.json ##### TEXT", or "vocab.json ##### merges.txt ##### TEXT", or
 * "vocab.json ##### merges.txt ##### added_tokens.json ##### TEXT". A tokenizer that loads
 * encodes TEXT (plain, split on <image>, in the chat template) and decodes the ids again. */
#include "tests/fuzz/fuzz_util.h"

#include "engine/tokenizer.h"

static void use(const tok_tokenizer *tk, const uint8_t *text, size_t n) {
    char err[512];
    tok_ids ids = {0};
    if (tok_encode(tk, (const char *)text, n, &ids, err, sizeof err) == 0) {
        char *back = tok_decode(tk, ids.v, ids.n, 0, NULL, err, sizeof err);
        free(back);
        back = tok_decode(tk, ids.v, ids.n, 1, NULL, err, sizeof err);
        free(back);
    }
    tok_ids_free(&ids);
    (void)tok_encode_image_split(tk, (const char *)text, n, &ids, err, sizeof err);
    tok_ids_free(&ids);
    char *s = fz_strndup(text, n);
    (void)tok_chat_encode(tk, s, &ids, err, sizeof err);
    tok_ids_free(&ids);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[4];
    size_t len[4];
    size_t n = fz_split(data, size, part, len, 4);
    if (n < 2) return 0;
    const char *dir = fz_path("tok");
    mkdir(dir, 0700);
    static const char *const names[] = {"tokenizer.json", "vocab.json", "merges.txt", "added_tokens.json"};
    char p[4][600];
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
        unlink(p[i]);
    }
    if (n == 2) {
        fz_write(p[0], part[0], len[0]);
    } else {
        fz_write(p[1], part[0], len[0]);
        fz_write(p[2], part[1], len[1]);
        if (n == 4) fz_write(p[3], part[2], len[2]);
    }
    char err[1024];
    tok_tokenizer *tk = tok_load(dir, err, sizeof err);
    if (tk) use(tk, part[n - 1], len[n - 1]);
    tok_free(tk);
    return 0;
}
