/* buf.h - a growable byte buffer with a mandatory maximum (curl's dynbuf): network bodies,
 * prompts, JSON records. The data is always NUL-terminated, so text can be read in place.
 *
 * Usage:
 *     tb_buf b;
 *     tb_buf_init(&b, 1 << 20);                    // refuse to grow past 1 MiB
 *     if (tb_buf_printf(&b, "{\"n\":%d}", 3)) ...  // TB_BUF_TOOBIG / TB_BUF_NOMEM
 *     char *s = tb_buf_take(&b);                   // caller frees; b is empty again
 */
#ifndef TB_BUF_H
#define TB_BUF_H

#include <stdarg.h>
#include <stddef.h>

enum {
    TB_BUF_OK = 0,
    TB_BUF_NOMEM = -1,  /* allocation failed */
    TB_BUF_TOOBIG = -2, /* the content would exceed max */
};

typedef struct {
    char *data;  /* NUL-terminated content (NULL while empty) */
    size_t len;  /* bytes of content, NUL excluded */
    size_t cap;  /* bytes allocated */
    size_t max;  /* largest len allowed */
} tb_buf;

void tb_buf_init(tb_buf *b, size_t max);
/* Frees the content; the buffer stays usable (empty). Safe on an initialised empty buffer. */
void tb_buf_free(tb_buf *b);
int tb_buf_append(tb_buf *b, const void *p, size_t n);
int tb_buf_puts(tb_buf *b, const char *s);
int tb_buf_printf(tb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tb_buf_vprintf(tb_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal (quotes included; control characters, quote and backslash
 * escaped; other bytes copied as they are). */
int tb_buf_json_str(tb_buf *b, const char *s);
/* Hands the content to the caller ("" when empty; NULL only when out of memory) and empties b. */
char *tb_buf_take(tb_buf *b);

#endif
