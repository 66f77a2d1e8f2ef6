/* tokenizer.h - the Qwen2 tokenizer (byte-level BPE, GPT-2 style) and the qwen_1_5 chat prompt.
 *
 * Reads a Hugging Face tokenizer directory: tokenizer.json (model.vocab, model.merges as "a b"
 * strings or [a, b] pairs, added_tokens), or vocab.json + merges.txt (+ added_tokens.json).
 * Encoding = added tokens matched first (leftmost, longest) -> NFC on the other segments ->
 * Qwen2 pre-tokenizer regex (PCRE2, UTF + UCP) -> GPT-2 byte-to-unicode -> BPE merges by rank.
 * Decoding = ids -> bytes -> UTF-8 (invalid sequences become U+FFFD). See spec
 * llava-ov-engine.md §5-§6. Not done: BPE dropout, byte_fallback, unk tokens, continuing-subword
 * prefixes, lstrip/rstrip/single_word added tokens, post-processor templates - a tokenizer.json
 * asking for any of them is refused with an error naming the field.
 *
 * Usage:
 *     char err[512];
 *     tok_tokenizer *tk = tok_load("path/to/qwen2-tokenizer", err, sizeof err);
 *     if (!tk) { fprintf(stderr, "%s\n", err); return 1; }
 *     tok_ids ids = {0};
 *     if (tok_chat_encode(tk, "<image>\nWhat happens?", &ids, err, sizeof err)) ... ;
 *     // ids.v[0..ids.n-1]: 151644, 8948, ..., TOK_IMAGE_ID, ..., 151644, 77091, 198
 *     char *text = tok_decode(tk, ids.v + 20, 3, 1, NULL, err, sizeof err);  // caller frees
 *     free(text);
 *     tok_ids_free(&ids);
 *     tok_free(tk);
 *
 * A loaded tokenizer is immutable: every function taking a const tok_tokenizer* may be called
 * from several threads at once.
 */
#ifndef TB_ENGINE_TOKENIZER_H
#define TB_ENGINE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* LLaVA's IMAGE_TOKEN_INDEX: the placeholder id spliced in where "<image>" was. */
#define TOK_IMAGE_ID (-200)

typedef enum {
    TOK_OK = 0,
    TOK_ERR_IO = -1,     /* a file could not be read */
    TOK_ERR_FORMAT = -2, /* a tokenizer file is malformed or asks for something unsupported */
    TOK_ERR_NOMEM = -3,  /* out of memory */
    TOK_ERR_INPUT = -4,  /* bad text (invalid UTF-8, NUL byte) or bad id */
} tok_status;

typedef struct tok_tokenizer tok_tokenizer; /* opaque, immutable after tok_load */

/* A growable id list. Zero-initialise ({0}); functions append; free with tok_ids_free. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} tok_ids;

/* One-line description of a status ("ok", "malformed tokenizer file", ...). */
const char *tok_status_str(int status);

/* Loads a tokenizer from path: a directory holding tokenizer.json (preferred) or
 * vocab.json + merges.txt (+ optional added_tokens.json), or the path of a tokenizer.json.
 * Returns NULL with one line in err naming the file (and line/field) on failure. Caller frees
 * with tok_free. */
tok_tokenizer *tok_load(const char *path, char *err, size_t err_len);

/* Frees everything; tok_free(NULL) is a no-op. */
void tok_free(tok_tokenizer *tk);

/* Number of ids: max id + 1 over vocabulary and added tokens (151646 for Qwen2). */
int32_t tok_vocab_size(const tok_tokenizer *tk);

/* Id of a token given its text: an added token's content ("<|im_end|>") or a vocabulary token
 * as text (" the"), or -1 when there is none. */
int32_t tok_token_id(const tok_tokenizer *tk, const char *text);

/* Ids of the Qwen2 special tokens, or -1 when the tokenizer lacks them. */
int32_t tok_id_im_start(const tok_tokenizer *tk);  /* <|im_start|>  151644 */
int32_t tok_id_im_end(const tok_tokenizer *tk);    /* <|im_end|>    151645 */
int32_t tok_id_endoftext(const tok_tokenizer *tk); /* <|endoftext|> 151643 */

/* 1 when id is a special added token (dropped by tok_decode with skip_special), else 0. */
int tok_is_special(const tok_tokenizer *tk, int32_t id);

/* The bytes of one token (not NUL-terminated; may be a partial UTF-8 sequence), with the
 * length in *len; NULL for ids that name no token. Borrowed, valid until tok_free. */
const char *tok_token_bytes(const tok_tokenizer *tk, int32_t id, size_t *len);

/* Appends the ids of text[0..len-1] (UTF-8) to out. Added/special tokens inside the text are
 * recognised. Returns TOK_OK, or TOK_ERR_INPUT for invalid UTF-8 / a NUL byte (err says at
 * which byte), TOK_ERR_NOMEM; out keeps what it had on failure. */
int tok_encode(const tok_tokenizer *tk, const char *text, size_t len, tok_ids *out, char *err,
               size_t err_len);

/* LLaVA's tokenizer_image_token: splits text on the literal "<image>", encodes each chunk on its
 * own (BPE never merges across the placeholder) and joins the chunks with TOK_IMAGE_ID. Appends
 * to out; errors as tok_encode. */
int tok_encode_image_split(const tok_tokenizer *tk, const char *text, size_t len, tok_ids *out,
                           char *err, size_t err_len);

/* Renders the qwen_1_5 conversation (spec §5.1) around the user content:
 * "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" CONTENT
 * "<|im_end|>\n<|im_start|>assistant\n". Returns a NUL-terminated string the caller frees, or
 * NULL when out of memory. */
char *tok_chat_render(const char *content);

/* The token ids of the full qwen_1_5 prompt for content (which normally starts "<image>\n"):
 * tok_chat_render + tok_encode_image_split. Appends to out; errors as tok_encode. */
int tok_chat_encode(const tok_tokenizer *tk, const char *content, tok_ids *out, char *err,
                    size_t err_len);

/* Decodes ids[0..n-1] to UTF-8 text; skip_special drops special added tokens. Invalid UTF-8 in
 * the byte stream becomes U+FFFD (as HF's decode). Returns a NUL-terminated string the caller
 * frees (its length in *len when len is not NULL), or NULL with err set for an id that names no
 * token (TOK_IMAGE_ID included) or when out of memory. */
char *tok_decode(const tok_tokenizer *tk, const int32_t *ids, size_t n, int skip_special,
                 size_t *len, char *err, size_t err_len);

/* Frees the list and zeroes it; NULL is a no-op. */
void tok_ids_free(tok_ids *ids);

#endif
