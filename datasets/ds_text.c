/* ds_text.c - Python's str semantics on code points (see ds_text_internal.h): decoding with
 * surrogateescape, the character classes of str and re (Unicode), str.lower(), strip, split,
 * find and replace. Every property query goes to libunistring; the whitespace set is Python's. */
#include "datasets/ds_text_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>

/* ---- building ------------------------------------------------------------------------------- */

void ds_u_free(ds_ustr *u) {
    if (!u) return;
    free(u->c);
    u->c = NULL;
    u->n = u->cap = 0;
}

/* Every string a ds_u_* call has built owns a buffer, even an empty one, so callers may form
 * u->c + i for i <= u->n (NULL + 0 is undefined behaviour; found by fuzz_videomme). */
static int reserve(ds_ustr *u, size_t extra) {
    if (extra > ((size_t)-1) / sizeof(uint32_t) - u->n) return -1;
    size_t need = u->n + extra;
    if (need <= u->cap && u->c) return 0;
    size_t cap = u->cap ? u->cap : 16;
    while (cap < need) cap = cap > ((size_t)-1) / 8 ? need : cap * 2;
    uint32_t *c = realloc(u->c, cap * sizeof *c);
    if (!c) return -1;
    u->c = c;
    u->cap = cap;
    return 0;
}

int ds_u_push(ds_ustr *u, uint32_t c) {
    if (reserve(u, 1)) return -1;
    u->c[u->n++] = c;
    return 0;
}

int ds_u_append(ds_ustr *u, const uint32_t *c, size_t n) {
    if (reserve(u, n)) return -1;
    if (n) memcpy(u->c + u->n, c, n * sizeof *c);
    u->n += n;
    return 0;
}

/* One code point of strict UTF-8 at s[0..len) (len >= 1): its length, or 0 when s[0] does not
 * start a valid sequence (overlong forms, surrogates and values past U+10FFFF are invalid, as in
 * Python's decoder). */
static size_t utf8_one(const unsigned char *s, size_t len, uint32_t *out) {
    unsigned char b = s[0];
    if (b < 0x80) {
        *out = b;
        return 1;
    }
    size_t k;
    uint32_t c, min;
    if (b >= 0xC2 && b <= 0xDF) k = 2, c = b & 0x1F, min = 0x80;
    else if (b >= 0xE0 && b <= 0xEF) k = 3, c = b & 0x0F, min = 0x800;
    else if (b >= 0xF0 && b <= 0xF4) k = 4, c = b & 0x07, min = 0x10000;
    else return 0;
    if (len < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *out = c;
    return k;
}

int ds_u_append_utf8(ds_ustr *u, const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    if (reserve(u, len)) return -1; /* at most one code point per byte */
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t k = utf8_one(p + i, len - i, &c);
        if (!k) { /* surrogateescape */
            c = 0xDC00 + p[i];
            k = 1;
        }
        u->c[u->n++] = c;
        i += k;
    }
    return 0;
}

int ds_u_from_utf8(ds_ustr *u, const char *s, size_t len) {
    u->n = 0;
    return ds_u_append_utf8(u, s, len);
}

char *ds_u_to_utf8(const uint32_t *c, size_t n) {
    if (n > ((size_t)-1) / 4 - 1) return NULL;
    char *out = malloc(4 * n + 1), *w = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = c[i];
        if (v >= 0xDC80 && v <= 0xDCFF) *w++ = (char)(v - 0xDC00); /* an escaped byte */
        else if (v < 0x80) *w++ = (char)v;
        else if (v < 0x800) {
            *w++ = (char)(0xC0 | (v >> 6));
            *w++ = (char)(0x80 | (v & 0x3F));
        } else if (v < 0x10000) {
            *w++ = (char)(0xE0 | (v >> 12));
            *w++ = (char)(0x80 | ((v >> 6) & 0x3F));
            *w++ = (char)(0x80 | (v & 0x3F));
        } else {
            *w++ = (char)(0xF0 | (v >> 18));
            *w++ = (char)(0x80 | ((v >> 12) & 0x3F));
            *w++ = (char)(0x80 | ((v >> 6) & 0x3F));
            *w++ = (char)(0x80 | (v & 0x3F));
        }
    }
    *w = '\0';
    return out;
}

/* ---- character classes ------------------------------------------------------------------------ */

int ds_u_isspace(uint32_t c) {
    /* Py_UNICODE_ISSPACE (Objects/unicodetype_db.h, Python 3.11): bidirectional WS, B, S or Zs.
     * Note what is NOT here: U+200B ZERO WIDTH SPACE and U+FEFF (format characters, Cf). */
    if (c < 128) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default: return c >= 0x2000 && c <= 0x200A;
    }
}

int ds_u_isalpha(uint32_t c) {
    if (c < 128) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return c <= 0x10FFFF && uc_is_general_category(c, UC_CATEGORY_L);
}

int ds_u_isdecimal(uint32_t c) {
    if (c < 128) return c >= '0' && c <= '9';
    return c <= 0x10FFFF && uc_is_general_category(c, UC_CATEGORY_Nd);
}

int ds_u_isword(uint32_t c) {
    if (c < 128) return c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    if (c > 0x10FFFF) return 0;
    /* str.isalnum(): isalpha or isdecimal or isdigit or isnumeric, i.e. a letter or any
     * character with a numeric value */
    if (uc_is_general_category(c, UC_CATEGORY_L)) return 1;
    uc_fraction_t v = uc_numeric_value(c);
    return v.denominator != 0;
}

uint32_t ds_u_simple_lower(uint32_t c) { return c <= 0x10FFFF ? uc_tolower(c) : c; }

int ds_u_ci_letter(uint32_t c, char lower) {
    uint32_t l = ds_u_simple_lower(c);
    if (l == (uint32_t)(unsigned char)lower) return 1;
    /* sre's _equivalences: characters whose uppercase forms coincide */
    return (lower == 'i' && l == 0x131) || (lower == 's' && l == 0x17F);
}

/* ---- str.lower() ------------------------------------------------------------------------------ */

/* Python's handle_capital_sigma: U+03A3 at i lowercases to final sigma when preceded by a cased
 * character (case-ignorable ones skipped) and not followed by one. */
static uint32_t capital_sigma(const uint32_t *c, size_t n, size_t i) {
    size_t j = i;
    uint32_t p = 0;
    int found = 0;
    while (j > 0) {
        p = c[--j];
        if (!(p <= 0x10FFFF && uc_is_property_case_ignorable(p))) {
            found = 1;
            break;
        }
    }
    int final = found && p <= 0x10FFFF && uc_is_property_cased(p);
    if (final && i + 1 < n) {
        size_t k = i + 1;
        for (; k < n; k++)
            if (!(c[k] <= 0x10FFFF && uc_is_property_case_ignorable(c[k]))) break;
        final = k == n || !(c[k] <= 0x10FFFF && uc_is_property_cased(c[k]));
    }
    return final ? 0x3C2 : 0x3C3;
}

int ds_u_lower(const uint32_t *c, size_t n, ds_ustr *out) {
    out->n = 0;
    if (reserve(out, n)) return -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = c[i];
        int st;
        if (v == 0x3A3) st = ds_u_push(out, capital_sigma(c, n, i));
        else if (v == 0x130) st = ds_u_push(out, 'i') || ds_u_push(out, 0x307); /* SpecialCasing */
        else st = ds_u_push(out, ds_u_simple_lower(v));
        if (st) return -1;
    }
    return 0;
}

/* ---- strip, split, find, replace ------------------------------------------------------------- */

void ds_u_strip(const uint32_t *c, size_t n, size_t *b, size_t *e) {
    size_t i = 0, j = n;
    while (i < j && ds_u_isspace(c[i])) i++;
    while (j > i && ds_u_isspace(c[j - 1])) j--;
    *b = i;
    *e = j;
}

static int in_ascii_set(uint32_t c, const char *chars) {
    return c < 128 && c != 0 && strchr(chars, (int)c) != NULL;
}

void ds_u_strip_chars(const uint32_t *c, size_t n, const char *chars, size_t *b, size_t *e) {
    size_t i = 0, j = n;
    while (i < j && in_ascii_set(c[i], chars)) i++;
    while (j > i && in_ascii_set(c[j - 1], chars)) j--;
    *b = i;
    *e = j;
}

size_t ds_u_count_fields(const uint32_t *c, size_t n) {
    size_t k = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        if (ds_u_isspace(c[i])) in = 0;
        else if (!in) in = 1, k++;
    }
    return k;
}

size_t ds_u_find_u(const uint32_t *c, size_t n, const uint32_t *needle, size_t nn, size_t start) {
    if (start > n) return DS_U_NPOS;
    if (nn == 0) return start;
    for (size_t i = start; i + nn <= n; i++)
        if (c[i] == needle[0] && !memcmp(c + i, needle, nn * sizeof *c)) return i;
    return DS_U_NPOS;
}

/* Decodes a (short, literal) UTF-8 needle onto the stack when it fits. */
#define NEEDLE_MAX 64
static size_t needle_decode(const char *s, uint32_t *buf) {
    ds_ustr u = {0};
    if (ds_u_from_utf8(&u, s, strlen(s)) || u.n > NEEDLE_MAX) {
        ds_u_free(&u);
        return DS_U_NPOS;
    }
    if (u.n) memcpy(buf, u.c, u.n * sizeof *buf);
    size_t n = u.n;
    ds_u_free(&u);
    return n;
}

size_t ds_u_find(const uint32_t *c, size_t n, const char *needle, size_t start) {
    uint32_t nd[NEEDLE_MAX];
    size_t nn = needle_decode(needle, nd);
    if (nn == DS_U_NPOS) return DS_U_NPOS;
    return ds_u_find_u(c, n, nd, nn, start);
}

size_t ds_u_rfind(const uint32_t *c, size_t n, const char *needle) {
    uint32_t nd[NEEDLE_MAX];
    size_t nn = needle_decode(needle, nd);
    if (nn == DS_U_NPOS || nn > n) return DS_U_NPOS;
    for (size_t i = n - nn + 1; i-- > 0;)
        if (!nn || !memcmp(c + i, nd, nn * sizeof *c)) return i;
    return DS_U_NPOS;
}

int ds_u_contains(const uint32_t *c, size_t n, const char *needle) {
    return ds_u_find(c, n, needle, 0) != DS_U_NPOS;
}

int ds_u_replace(ds_ustr *s, const char *old, const char *repl) {
    uint32_t od[NEEDLE_MAX], rd[NEEDLE_MAX];
    size_t on = needle_decode(old, od), rn = needle_decode(repl, rd);
    if (on == DS_U_NPOS || rn == DS_U_NPOS || on == 0) return -1;
    if (ds_u_find_u(s->c, s->n, od, on, 0) == DS_U_NPOS) return 0;
    ds_ustr t = {0};
    for (size_t i = 0; i < s->n;) {
        if (i + on <= s->n && !memcmp(s->c + i, od, on * sizeof *od)) {
            if (ds_u_append(&t, rd, rn)) goto oom;
            i += on;
        } else {
            if (ds_u_push(&t, s->c[i])) goto oom;
            i++;
        }
    }
    ds_u_free(s);
    *s = t;
    return 0;
oom:
    ds_u_free(&t);
    return -1;
}
