/* common.c - the implementations behind common/'s headers: clock, generator, buffer, SHA-256,
 * assertions. libc and OpenSSL only. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/check.h"
#include "common/clock.h"
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

int tb_buf_printf(tb_buf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return TB_BUF_NOMEM;
    if ((size_t)n < sizeof small) return tb_buf_append(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return TB_BUF_NOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int st = tb_buf_append(b, big, (size_t)n);
    free(big);
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

/* ===== SHA-256 ===== */

static void hex32(const unsigned char *md, char out[65]) {
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[64] = '\0';
}

int tb_sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) return -1;
    hex32(md, out);
    return 0;
}

int tb_sha256_file(const char *path, char out[65], int64_t *size, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        tb_set_err(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char chunk[65536];
    size_t n;
    int64_t total = 0;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (!EVP_DigestUpdate(ctx, chunk, n)) ok = 0;
        total += (int64_t)n;
    }
    if (ferror(f)) ok = 0;
    fclose(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (ok && (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)) ok = 0;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        tb_set_err(err, err_len, "cannot hash %s", path);
        return -1;
    }
    hex32(md, out);
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
