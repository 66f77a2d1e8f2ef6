/* redact.h - keeping the Hugging Face token out of everything printed or stored.
 *
 * HF_TOKEN is sent to the Hugging Face hosts only, and must never reach a terminal, a log, a
 * database or a cache file, whatever carried it there (a server's error page that echoes the
 * Authorization header, a viewer error string, a config that expands ${HF_TOKEN}). Library code
 * redacts the token it was given from its error lines (tb_redact); the store redacts tb_secret()
 * from every text it writes; harness/main.c routes stdout and stderr through
 * tb_redacting_stream, so no print path can leak it. Redaction overwrites each occurrence with
 * '*' (same length, in place).
 *
 *     char err[512];  ... an error line that may quote a server's body ...
 *     tb_redact(err, token);
 */
#ifndef TB_REDACT_H
#define TB_REDACT_H

#include <stddef.h>
#include <stdio.h>

/* The token of this process: $HF_TOKEN, or NULL when unset or empty. Borrowed. */
const char *tb_secret(void);

/* Overwrites every occurrence of secret in the n bytes at s with '*'; returns the count.
 * secret NULL or "": nothing. */
size_t tb_redact_mem(char *s, size_t n, const char *secret);

/* The same on a NUL-terminated string (NULL: nothing). */
size_t tb_redact(char *s, const char *secret);

/* A stream that writes to under with every occurrence of secret overwritten, also across
 * separate writes: only a tail that could still begin the secret is held back, and fclose
 * writes it. NULL when out of memory. Closing it does not close under. */
FILE *tb_redacting_stream(FILE *under, const char *secret);

#endif
