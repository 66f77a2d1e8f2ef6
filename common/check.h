/* check.h - assertions and error lines, in SQLite's vocabulary.
 *
 *   TB_ASSERT(x)  a proven invariant: aborts with file and line when false (kept on in every
 *                 build: the Makefile compiles with -UNDEBUG, as tests must see it fire).
 *   ALWAYS(x)     a defensive check of something believed always true: evaluates to x, so the
 *   NEVER(x)      code still copes when it is not (`if (NEVER(n < 0)) return -1;`); aborts in
 *                 debug builds (-DTB_DEBUG) so a test run catches the surprise.
 *
 * tb_set_err writes one formatted line into a caller's error buffer (NULL or 0-length: ignored),
 * the way every library function here reports what went wrong. */
#ifndef TB_CHECK_H
#define TB_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void tb_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#define TB_ASSERT(x) ((x) ? (void)0 : tb_assert_fail(#x, __FILE__, __LINE__))
#ifdef TB_DEBUG
#define ALWAYS(x) ((x) ? 1 : (tb_assert_fail(#x, __FILE__, __LINE__), 0))
#define NEVER(x) ((x) ? (tb_assert_fail(#x, __FILE__, __LINE__), 1) : 0)
#else
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

void tb_set_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void tb_vset_err(char *err, size_t err_len, const char *fmt, va_list ap);

/* Untrusted text (a server's error string, a line of a binary file) made safe for an error line:
 * printable ASCII and well-formed UTF-8 as they are, '"' and '\' escaped, every other byte as
 * \n, \t, \r or \xNN (no raw newline, no terminal escape sequence), cut with "..." when it does
 * not fit. Writes at most n bytes (NUL included) into dst; returns dst. */
const char *tb_quote(char *dst, size_t n, const char *src, size_t len);

/* A JSON number from untrusted input as an integer: 1 with *out set when v is integral and inside
 * int64_t, else 0 (casting 1e300 or NaN to an integer is undefined behaviour). */
static inline int tb_double_to_i64(double v, int64_t *out) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0) || v != (double)(int64_t)v) return 0;
    *out = (int64_t)v;
    return 1;
}

#endif
