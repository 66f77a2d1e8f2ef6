/* ds_text_internal.h - Python's str semantics on Unicode code points, private to datasets/: what
 * the peers' answer scorers (ds_score_*.c) rely on when they call str.strip(), str.split(),
 * str.lower(), str.isalpha() or re's \w, \s and \b, so that a model output with U+3000, a
 * fullwidth colon or a dotted capital I is read exactly as Python reads it.
 *
 * Text is held as code points (uint32_t), so lengths and positions are Python's len() and
 * indices, never bytes. Decoding is Python's surrogateescape: a byte that is not part of valid
 * UTF-8 becomes U+DC80 + (byte - 0x80) (neither space, letter nor word character), so arbitrary
 * bytes are accepted and nothing is lost. Character properties come from libunistring (Unicode
 * 14.0, the version of Python 3.11's unicodedata), except the whitespace set, which is Python's
 * own short list (Py_UNICODE_ISSPACE: bidirectional class WS, B or S, or category Zs).
 *
 * What this deliberately does not do: locale-dependent case mapping (Python has none), regular
 * expressions in general (each scorer spells out the few patterns its peer uses).
 *
 * Usage:
 *     ds_ustr u = {0};
 *     if (ds_u_from_utf8(&u, raw, strlen(raw))) return DS_ERR_NOMEM;
 *     size_t b, e;
 *     ds_u_strip(u.c, u.n, &b, &e);            // raw.strip()
 *     ds_u_free(&u);
 */
#ifndef TB_DS_TEXT_INTERNAL_H
#define TB_DS_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* A growable code-point string. Zero-initialise; free with ds_u_free. c may be NULL when n == 0. */
typedef struct {
    uint32_t *c;
    size_t n, cap;
} ds_ustr;

/* Sentinel of the find functions: not found. */
#define DS_U_NPOS ((size_t)-1)

/* ---- building -------------------------------------------------------------------------------- */
void ds_u_free(ds_ustr *u);
/* Appends one code point / n code points / the decoded UTF-8 bytes. 0 or -1 (out of memory). */
int ds_u_push(ds_ustr *u, uint32_t c);
int ds_u_append(ds_ustr *u, const uint32_t *c, size_t n);
int ds_u_append_utf8(ds_ustr *u, const char *s, size_t len);
/* Replaces u's contents with the decoded bytes (surrogateescape for invalid UTF-8). */
int ds_u_from_utf8(ds_ustr *u, const char *s, size_t len);
/* UTF-8 of c[0..n) (a surrogate escape goes back to its byte), NUL-terminated, malloc'd; NULL
 * when out of memory. */
char *ds_u_to_utf8(const uint32_t *c, size_t n);

/* ---- character classes (Python 3.11) ---------------------------------------------------------- */
int ds_u_isspace(uint32_t c);   /* str.isspace(), re \s */
int ds_u_isalpha(uint32_t c);   /* str.isalpha(): general category L* */
int ds_u_isword(uint32_t c);    /* re \w with re.UNICODE: str.isalnum() or '_' */
int ds_u_isdecimal(uint32_t c); /* re \d with re.UNICODE: general category Nd */
/* The simple lowercase mapping re uses for IGNORECASE (U+0130 -> 'i'). */
uint32_t ds_u_simple_lower(uint32_t c);
/* 1 when c matches the ASCII letter `lower` (a-z) under re.IGNORECASE, as Python's sre decides:
 * its simple lowercase is `lower`, or one of sre's equivalences (dotless i for 'i', long s for
 * 's'). */
int ds_u_ci_letter(uint32_t c, char lower);

/* ---- str methods ------------------------------------------------------------------------------ */
/* str.lower(): the full mapping (U+0130 -> "i\u0307") and the final-sigma rule. out is reset. */
int ds_u_lower(const uint32_t *c, size_t n, ds_ustr *out);
/* str.strip() on c[0..n): the kept span [*b, *e). */
void ds_u_strip(const uint32_t *c, size_t n, size_t *b, size_t *e);
/* str.strip(chars) with the characters of the ASCII string chars. */
void ds_u_strip_chars(const uint32_t *c, size_t n, const char *chars, size_t *b, size_t *e);
/* The number of str.split() fields (whitespace runs separate, none empty). */
size_t ds_u_count_fields(const uint32_t *c, size_t n);
/* str.find(needle, start) / str.rfind(needle); needle is UTF-8. DS_U_NPOS when absent. */
size_t ds_u_find(const uint32_t *c, size_t n, const char *needle, size_t start);
size_t ds_u_rfind(const uint32_t *c, size_t n, const char *needle);
/* needle in s (UTF-8 needle). */
int ds_u_contains(const uint32_t *c, size_t n, const char *needle);
/* The same on a code-point needle. */
size_t ds_u_find_u(const uint32_t *c, size_t n, const uint32_t *needle, size_t nn, size_t start);
/* s = s.replace(old, new) in place (UTF-8 old and new; old non-empty). 0 or -1. */
int ds_u_replace(ds_ustr *s, const char *old, const char *repl);

#endif
