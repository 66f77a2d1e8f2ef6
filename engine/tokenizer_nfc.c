/* tokenizer_nfc.c - Unicode NFC (canonical decomposition, canonical ordering, canonical
 * composition; UAX #15) for the tokenizer. Hangul syllables are handled algorithmically; the
 * other data comes from tokenizer_nfc_data.h, generated from Python's unicodedata by
 * tests/fixtures/tokenizer/gen_nfc_data.py. Not done: stream-safe format (no limit on runs of
 * combining marks; the canonical-ordering sort is quadratic in the run length only).
 */
#include "engine/tokenizer_nfc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tokenizer_nfc_data.h"

/* Hangul constants (Unicode §3.12). */
enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21,
       TCOUNT = 28, NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

const char *tok_nfc_unicode_version(void) { return NFC_UNICODE_VERSION; }

static int ccc_of(uint32_t cp) {
    size_t lo = 0, hi = sizeof NFC_CCC / sizeof NFC_CCC[0];
    if (cp < 0x300) return 0;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (cp < NFC_CCC[m].lo) hi = m;
        else if (cp > NFC_CCC[m].hi) lo = m + 1;
        else return NFC_CCC[m].ccc;
    }
    return 0;
}

/* Index into NFC_DECOMP, or -1. */
static long decomp_of(uint32_t cp) {
    size_t lo = 0, hi = sizeof NFC_DECOMP / sizeof NFC_DECOMP[0];
    if (cp < 0xC0) return -1;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (cp < NFC_DECOMP[m].cp) hi = m;
        else if (cp > NFC_DECOMP[m].cp) lo = m + 1;
        else return (long)m;
    }
    return -1;
}

/* Primary composite of a b, or 0. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    size_t lo = 0, hi = sizeof NFC_COMP / sizeof NFC_COMP[0];
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (a < NFC_COMP[m].a || (a == NFC_COMP[m].a && b < NFC_COMP[m].b)) hi = m;
        else if (a > NFC_COMP[m].a || b > NFC_COMP[m].b) lo = m + 1;
        else return NFC_COMP[m].c;
    }
    return 0;
}

/* Decodes one code point of valid UTF-8. */
static uint32_t utf8_next(const unsigned char *s, size_t *i) {
    unsigned char c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    uint32_t v = c & (0x3F >> n);
    for (int k = 1; k <= n; k++) v = (v << 6) | (s[*i + k] & 0x3F);
    *i += (size_t)n + 1;
    return v;
}

static size_t utf8_put(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int tok_nfc(const char *s, size_t len, char **out, size_t *out_len) {
    const unsigned char *u = (const unsigned char *)s;
    *out = NULL;
    *out_len = 0;
    /* Below U+0300 every character is NFC-stable and composes with nothing before it: a text
     * whose bytes are all < 0xCC (lead bytes of U+0000..U+02FF, and continuation bytes) is NFC. */
    size_t i = 0;
    while (i < len && u[i] < 0xCC) i++;
    if (i == len) return 0;

    /* Decompose. Every code point decomposes to at most 18 (full NFD); a Hangul syllable to 3. */
    size_t cap = len + 16, n = 0;
    uint32_t *cp = malloc(cap * sizeof *cp);
    if (!cp) return -1;
    for (i = 0; i < len;) {
        uint32_t c = utf8_next(u, &i);
        uint32_t tmp[3];
        const uint32_t *d = &c;
        size_t dn = 1;
        if (c >= SBASE && c < SBASE + SCOUNT) {
            uint32_t si = c - SBASE;
            tmp[0] = LBASE + si / NCOUNT;
            tmp[1] = VBASE + (si % NCOUNT) / TCOUNT;
            tmp[2] = TBASE + si % TCOUNT;
            dn = tmp[2] == TBASE ? 2 : 3;
            d = tmp;
        } else {
            long k = decomp_of(c);
            if (k >= 0) {
                d = NFC_DECOMP_CP + NFC_DECOMP[k].off;
                dn = NFC_DECOMP[k].len;
            }
        }
        if (n + dn > cap) {
            cap = 2 * cap + dn;
            uint32_t *p = realloc(cp, cap * sizeof *p);
            if (!p) {
                free(cp);
                return -1;
            }
            cp = p;
        }
        memcpy(cp + n, d, dn * sizeof *d);
        n += dn;
    }

    /* Canonical ordering: stable insertion sort of each run of non-starters by ccc. */
    for (size_t a = 1; a < n; a++) {
        int ca = ccc_of(cp[a]);
        if (!ca) continue;
        size_t b = a;
        uint32_t x = cp[a];
        while (b > 0) {
            int cb = ccc_of(cp[b - 1]);
            if (cb <= ca) break;
            cp[b] = cp[b - 1];
            b--;
        }
        cp[b] = x;
    }

    /* Canonical composition: a character joins the last starter unless blocked by a character
     * in between with ccc 0 or ccc >= its own. */
    size_t m = 0;
    long starter = -1;
    int last_cc = 0;
    for (size_t a = 0; a < n; a++) {
        uint32_t c = cp[a];
        int cc = ccc_of(c);
        if (starter >= 0) {
            int adjacent = (size_t)starter == m - 1;
            if (adjacent || (last_cc != 0 && last_cc < cc)) {
                uint32_t comp = compose(cp[starter], c);
                if (comp) {
                    cp[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) starter = (long)m;
        last_cc = cc;
        cp[m++] = c;
    }

    /* Re-encode; report "unchanged" when the result equals the input. */
    char *o = malloc(4 * m + 1);
    if (!o) {
        free(cp);
        return -1;
    }
    size_t on = 0;
    for (size_t a = 0; a < m; a++) on += utf8_put(o + on, cp[a]);
    o[on] = '\0';
    free(cp);
    if (on == len && !memcmp(o, s, len)) {
        free(o);
        return 0;
    }
    *out = o;
    *out_len = on;
    return 0;
}
