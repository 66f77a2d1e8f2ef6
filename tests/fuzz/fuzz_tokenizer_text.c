/* fuzz_tokenizer_text.c - text through the real Qwen2 tokenizer (engine/tokenizer.c: UTF-8
 * checks, NFC, the pre-tokenizer regex, byte-level BPE, added tokens, <image> splitting, the chat
 * template) and ids back through the decoder. The tokenizer is $TB_SHARED/data/qwen2-tokenizer
 * (default ../shared), else the tiny one of tests/fixtures/tokenizer. The input is also read as
 * little-endian int32 ids for the decoder. */
#include "tests/fuzz/fuzz_util.h"

#include "engine/tokenizer.h"

static tok_tokenizer *tk;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char p[1024], err[1024];
    const char *shared = getenv("TB_SHARED");
    snprintf(p, sizeof p, "%s/data/qwen2-tokenizer", shared && *shared ? shared : "../shared");
    tk = tok_load(p, err, sizeof err);
    if (!tk) tk = tok_load("tests/fixtures/tokenizer/tiny_tokenizer.json", err, sizeof err);
    if (!tk) {
        fprintf(stderr, "fuzz_tokenizer_text: no tokenizer: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tk) LLVMFuzzerInitialize(NULL, NULL);
    char err[512];
    tok_ids ids = {0};
    if (tok_encode(tk, (const char *)data, size, &ids, err, sizeof err) == 0) {
        char *back = tok_decode(tk, ids.v, ids.n, 0, NULL, err, sizeof err);
        free(back);
    }
    tok_ids_free(&ids);
    (void)tok_encode_image_split(tk, (const char *)data, size, &ids, err, sizeof err);
    tok_ids_free(&ids);
    char *s = fz_strndup(data, size);
    (void)tok_chat_encode(tk, s, &ids, err, sizeof err);
    tok_ids_free(&ids);
    free(s);
    size_t n = size / 4;
    int32_t *v = malloc(n ? n * sizeof *v : 1);
    if (!v) return 0;
    for (size_t i = 0; i < n; i++) memcpy(&v[i], data + 4 * i, 4);
    char *text = tok_decode(tk, v, n, (int)(size & 1), NULL, err, sizeof err);
    free(text);
    free(v);
    return 0;
}
