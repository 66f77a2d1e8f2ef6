/* common.c - the implementations behind common/'s headers: clock, generator, buffer, assertions,
 * model families, the in-LLM plan's rules, the SHA-256 helpers. libc only (the digest itself is
 * common/sha256.c or common/sha256_lean.c). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/check.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/family.h"
#include "common/llm_plan.h"
#include "common/rng.h"
#include "common/sha256.h"

/* ===== clock ===== */

double tb_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ===== generator ===== */

void tb_rng_seed(tb_rng *r, uint64_t seed) { r->s = seed; }

uint64_t tb_rng_next(tb_rng *r) { return tb_splitmix64(&r->s); }

uint64_t tb_rng_below(tb_rng *r, uint64_t n) {
    /* reject the top partial copy of [0, n) so every residue is equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t x = tb_rng_next(r);
        if (x < limit) return x % n;
    }
}

double tb_rng_unit(tb_rng *r) { return (double)(tb_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

/* ===== buffer ===== */

void tb_buf_init(tb_buf *b, size_t max) {
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void tb_buf_free(tb_buf *b) {
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int tb_buf_append(tb_buf *b, const void *p, size_t n) {
    if (n > b->max || b->len > b->max - n) return TB_BUF_TOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) return TB_BUF_NOMEM;
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d) return TB_BUF_NOMEM;
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return TB_BUF_OK;
}

int tb_buf_puts(tb_buf *b, const char *s) { return tb_buf_append(b, s, strlen(s)); }

int tb_buf_vprintf(tb_buf *b, const char *fmt, va_list ap) {
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    int st;
    if (n < 0) {
        st = TB_BUF_NOMEM;
    } else if ((size_t)n < sizeof small) {
        st = tb_buf_append(b, small, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);
        st = TB_BUF_NOMEM;
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            st = tb_buf_append(b, big, (size_t)n);
            free(big);
        }
    }
    va_end(ap2);
    return st;
}

int tb_buf_printf(tb_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int st = tb_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return st;
}

int tb_buf_json_str(tb_buf *b, const char *s) {
    int st = tb_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; st == TB_BUF_OK && *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            st = tb_buf_append(b, e, 2);
        } else if (*p < 0x20) {
            st = tb_buf_printf(b, "\\u%04x", *p);
        } else {
            st = tb_buf_append(b, p, 1);
        }
    }
    return st ? st : tb_buf_append(b, "\"", 1);
}

char *tb_buf_take(tb_buf *b) {
    if (!b->data && tb_buf_append(b, "", 0) != TB_BUF_OK) return NULL;
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

/* ===== SHA-256 helpers (the digest itself: sha256.c or sha256_lean.c) ===== */

int tb_sha256_hex(const void *data, size_t len, char out[65]) {
    tb_sha256 *h = tb_sha256_new();
    int rc = h && !tb_sha256_update(h, data, len) && !tb_sha256_final(h, out) ? 0 : -1;
    tb_sha256_free(h);
    return rc;
}

int tb_sha256_file(const char *path, char out[65], int64_t *size, char *err, size_t err_len) {
    FILE *f = tb_fopen_read(path, 0, err, err_len);
    if (!f) return -1;
    tb_sha256 *h = tb_sha256_new();
    int ok = h != NULL;
    unsigned char chunk[65536];
    size_t n;
    int64_t total = 0;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (tb_sha256_update(h, chunk, n)) ok = 0;
        total += (int64_t)n;
    }
    if (ferror(f)) ok = 0;
    fclose(f);
    if (ok && tb_sha256_final(h, out)) ok = 0;
    tb_sha256_free(h);
    if (!ok) {
        tb_set_err(err, err_len, "cannot hash %s", path);
        return -1;
    }
    if (size) *size = total;
    return 0;
}

/* ===== assertions and error lines ===== */

void tb_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}

void tb_vset_err(char *err, size_t err_len, const char *fmt, va_list ap) {
    if (!err || !err_len) return;
    vsnprintf(err, err_len, fmt, ap);
}

void tb_set_err(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tb_vset_err(err, err_len, fmt, ap);
    va_end(ap);
}

/* Length of the well-formed UTF-8 sequence (2..4 bytes) starting at s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
    if (s[0] > 0xf4 || k == 0 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return k;
}

const char *tb_quote(char *dst, size_t n, const char *src, size_t len) {
    if (!dst || !n) return dst;
    static const char hx[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)(src ? src : "");
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        char tmp[8];
        size_t tl = 0, adv = 1, u;
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
            tmp[tl++] = (char)s[i];
        } else if (s[i] == '"' || s[i] == '\\' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
            tmp[tl++] = '\\';
            tmp[tl++] = s[i] == '\n' ? 'n' : s[i] == '\t' ? 't' : s[i] == '\r' ? 'r' : (char)s[i];
        } else if (s[i] >= 0x80 && (u = utf8_seq(s + i, len - i)) > 0) {
            memcpy(tmp, s + i, u);
            tl = adv = u;
        } else {
            tmp[0] = '\\', tmp[1] = 'x', tmp[2] = hx[s[i] >> 4], tmp[3] = hx[s[i] & 15];
            tl = 4;
        }
        if (k + tl + 4 > n) { /* room for "..." and the NUL */
            if (n >= 4) {
                memcpy(dst + (k < n - 4 ? k : n - 4), "...", 3);
                k = (k < n - 4 ? k : n - 4) + 3;
            }
            break;
        }
        memcpy(dst + k, tmp, tl);
        k += tl;
        i += adv;
    }
    dst[k < n ? k : n - 1] = '\0';
    return dst;
}

/* ===== model families ===== */

const char *tb_family_name(tb_family f) {
    switch (f) {
    case TB_FAMILY_LLAVA_OV: return "llava-ov";
    case TB_FAMILY_LLAVA_VIDEO: return "llava-video";
    case TB_FAMILY_QWEN25_VL: return "qwen2.5-vl";
    }
    return "?";
}

int tb_family_parse(const char *name, tb_family *out) {
    for (int f = 0; name && f < TB_N_FAMILIES; f++)
        if (!strcmp(name, tb_family_name((tb_family)f))) {
            *out = (tb_family)f;
            return 0;
        }
    return -1;
}

/* ===== in-LLM plan ===== */

tb_llm_plan tb_llm_plan_default(void) {
    tb_llm_plan p;
    memset(&p, 0, sizeof p);
    p.select = TB_PLAN_SELECT_LAST_QUERY;
    p.keep_round = TB_ROUND_HALF_EVEN;
    p.merge = TB_PLAN_MERGE_NONE;
    p.merge_weight = 0.6;
    p.merge_pool_weight = -1.0;
    p.pos = TB_PLAN_POS_KEEP;
    p.span_start = -1;
    p.span_len = -1;
    p.pivot_image = 4;
    p.pivot_text = 4;
    p.per_pivot = 0;
    p.pivot_order = TB_PLAN_ORDER_PYSET;
    return p;
}

double tb_round_half_even(double x) {
    double f = floor(x), d = x - f;
    if (d > 0.5) return f + 1.0;
    if (d < 0.5) return f;
    return fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

int64_t tb_plan_keep_count(const tb_llm_plan *p, int64_t n_candidates) {
    int64_t k;
    if (p->select == TB_PLAN_SELECT_DART) {
        int64_t pv = p->pivot_image > 0 ? p->pivot_image : 0, pt = p->pivot_text > 0 ? p->pivot_text : 0;
        int64_t t = p->per_pivot > 0 ? p->per_pivot : 0;
        k = (pv + pt) > 0 && t > (INT64_MAX / 4) / (pv + pt) ? INT64_MAX / 2 : pv + (pv + pt) * t;
    } else if (p->keep_count > 0) {
        k = p->keep_count;
    } else {
        double x = (double)n_candidates * p->keep_ratio;
        k = (int64_t)(p->keep_round == TB_ROUND_FLOOR ? floor(x)
                      : p->keep_round == TB_ROUND_CEIL ? ceil(x)
                                                        : tb_round_half_even(x));
    }
    if (k < 0) k = 0;
    if (k > n_candidates) k = n_candidates;
    return k;
}

const char *tb_plan_select_str(tb_plan_select s) {
    switch (s) {
    case TB_PLAN_SELECT_LAST_QUERY: return "last-query";
    case TB_PLAN_SELECT_INDICES: return "indices";
    case TB_PLAN_SELECT_ALL_QUERIES: return "all-queries";
    case TB_PLAN_SELECT_DART: return "dart";
    }
    return "?";
}

const char *tb_plan_merge_str(tb_plan_merge m) {
    switch (m) {
    case TB_PLAN_MERGE_NONE: return "none";
    case TB_PLAN_MERGE_PAIRWISE: return "pairwise";
    case TB_PLAN_MERGE_WEIGHTED: return "weighted";
    }
    return "?";
}

/* CPython's set: the table, its probe sequence and its growth rule (Objects/setobject.c,
 * set_add_entry / set_insert_clean / set_table_resize) for integer keys, whose hash is the value.
 * Insertion into a table that holds no deleted entries. */
static void pyset_insert(int64_t *tab, size_t mask, int64_t v) {
    size_t i = (size_t)v & mask, perturb = (size_t)v;
    for (;;) {
        size_t probes = i + 9 <= mask ? 9 : 0; /* LINEAR_PROBES */
        for (size_t j = 0; j <= probes; j++)
            if (tab[i + j] < 0) {
                tab[i + j] = v;
                return;
            }
        perturb >>= 5; /* PERTURB_SHIFT */
        i = (i * 5 + 1 + perturb) & mask;
    }
}

int tb_plan_pyset_order(const int64_t *keys, int n, int64_t *out) {
    if (n < 0) return -1;
    size_t size = 8, used = 0;
    int64_t *tab = malloc(size * sizeof *tab);
    if (!tab) return -1;
    for (size_t i = 0; i < size; i++) tab[i] = -1;
    for (int k = 0; k < n; k++) {
        if (keys[k] < 0) goto bad;
        for (size_t i = 0; i < size; i++)
            if (tab[i] == keys[k]) goto bad;
        pyset_insert(tab, size - 1, keys[k]);
        used++;
        if (used * 5 >= (size - 1) * 3) {
            size_t ns = 8, minused = used > 50000 ? used * 2 : used * 4;
            while (ns <= minused) ns <<= 1;
            int64_t *nt = malloc(ns * sizeof *nt);
            if (!nt) goto bad;
            for (size_t i = 0; i < ns; i++) nt[i] = -1;
            for (size_t i = 0; i < size; i++) /* old slot order */
                if (tab[i] >= 0) pyset_insert(nt, ns - 1, tab[i]);
            free(tab);
            tab = nt;
            size = ns;
        }
    }
    int o = 0;
    for (size_t i = 0; i < size; i++)
        if (tab[i] >= 0) out[o++] = tab[i];
    free(tab);
    return 0;
bad:
    free(tab);
    return -1;
}

const char *tb_plan_pos_str(tb_plan_pos p) { return p == TB_PLAN_POS_RENUMBER ? "renumber" : "keep"; }

const char *tb_round_str(tb_round r) {
    return r == TB_ROUND_FLOOR ? "floor" : r == TB_ROUND_CEIL ? "ceil" : "half-even";
}
