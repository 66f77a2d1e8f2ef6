/* redact.c - token redaction (see redact.h). libc only (glibc's fopencookie for the stream). */
#include "common/redact.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

const char *tb_secret(void) {
    const char *t = getenv("HF_TOKEN");
    return t && *t ? t : NULL;
}

size_t tb_redact_mem(char *s, size_t n, const char *secret) {
    if (!s || !secret || !*secret) return 0;
    size_t k = strlen(secret), count = 0;
    char *p = s, *end = s + n;
    while ((size_t)(end - p) >= k) {
        char *hit = memmem(p, (size_t)(end - p), secret, k);
        if (!hit) break;
        memset(hit, '*', k);
        p = hit + k;
        count++;
    }
    return count;
}

size_t tb_redact(char *s, const char *secret) { return s ? tb_redact_mem(s, strlen(s), secret) : 0; }

/* ---- the stream ---------------------------------------------------------------------------- */

typedef struct {
    FILE *under;
    char *secret; /* owned copy */
    size_t k;     /* strlen(secret) */
    char *pend;   /* bytes not yet written (redacted, may end in a prefix of the secret) */
    size_t n, cap;
} redactor;

/* Length of the longest suffix of s[0..n) that is a proper prefix of the secret. */
static size_t prefix_tail(const redactor *r, const char *s, size_t n) {
    size_t m = n < r->k - 1 ? n : r->k - 1;
    for (; m > 0; m--)
        if (!memcmp(s + n - m, r->secret, m)) return m;
    return 0;
}

static int emit(redactor *r, size_t upto) {
    if (upto && fwrite(r->pend, 1, upto, r->under) != upto) return -1;
    if (r->n > upto) memmove(r->pend, r->pend + upto, r->n - upto); /* pend is NULL until a write */
    r->n -= upto;
    return 0;
}

static ssize_t rs_write(void *c, const char *buf, size_t size) {
    redactor *r = c;
    if (r->n + size > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->n + size) cap *= 2;
        char *p = realloc(r->pend, cap);
        if (!p) return -1;
        r->pend = p;
        r->cap = cap;
    }
    memcpy(r->pend + r->n, buf, size);
    r->n += size;
    tb_redact_mem(r->pend, r->n, r->secret);
    if (emit(r, r->n - prefix_tail(r, r->pend, r->n))) return -1;
    fflush(r->under);
    return (ssize_t)size;
}

static int rs_close(void *c) {
    redactor *r = c;
    int rc = emit(r, r->n);
    if (fflush(r->under) != 0) rc = -1;
    free(r->pend);
    free(r->secret);
    free(r);
    return rc;
}

FILE *tb_redacting_stream(FILE *under, const char *secret) {
    if (!under || !secret || !*secret) return NULL;
    redactor *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->under = under;
    r->k = strlen(secret);
    r->secret = malloc(r->k + 1);
    if (!r->secret) {
        free(r);
        return NULL;
    }
    memcpy(r->secret, secret, r->k + 1);
    cookie_io_functions_t io = {.read = NULL, .write = rs_write, .seek = NULL, .close = rs_close};
    FILE *f = fopencookie(r, "w", io);
    if (!f) {
        free(r->secret);
        free(r);
    }
    return f;
}
