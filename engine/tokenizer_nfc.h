/* tokenizer_nfc.h - engine-internal: Unicode NFC normalisation for the tokenizer (Qwen2's
 * tokenizer.json carries an NFC normalizer). Tables: tokenizer_nfc_data.h (generated). */
#ifndef TB_ENGINE_TOKENIZER_NFC_H
#define TB_ENGINE_TOKENIZER_NFC_H

#include <stddef.h>

/* NFC of the valid UTF-8 text s[0..len-1]. Returns 0 with *out == NULL when s is already NFC
 * (the common case; nothing is allocated), or 0 with *out a malloc'd NUL-terminated string of
 * *out_len bytes that the caller frees; -1 when out of memory. s must be valid UTF-8. */
int tok_nfc(const char *s, size_t len, char **out, size_t *out_len);

/* The Unicode version of the tables ("14.0.0"). */
const char *tok_nfc_unicode_version(void);

#endif
