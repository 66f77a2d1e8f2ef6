/* fuzz_util.h - what the libFuzzer harnesses in tests/fuzz/ share (test code only).
 *
 * A harness defines LLVMFuzzerTestOneInput and is built twice: by `make fuzz` with clang
 * -fsanitize=fuzzer,address,undefined (tests/fuzz/README.md), and by the suite against
 * tests/fuzz/replay.c, which feeds it every corpus file and every past crash input (under ASan
 * and UBSan in `make asan`). Parsers that take paths read the input from a private scratch
 * directory (removed at exit). Inputs made of several files are split on the line "#####"
 * (FZ_SEP, listed in tests/fuzz/fuzz.dict so the fuzzer keeps the structure). */
#ifndef TB_FUZZ_UTIL_H
#define TB_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FZ_SEP "\n#####\n"
#define FZ_MAX_PARTS 8

static char fz_root[256];

static inline int fz_rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static inline void fz_cleanup(void) {
    if (fz_root[0]) nftw(fz_root, fz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* The scratch directory (created on first use). */
static inline const char *fz_dir(void) {
    if (!fz_root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fz_root, sizeof fz_root, "%s/tb-fuzz-%d", t && *t ? t : "/tmp", (int)getpid());
        mkdir(fz_root, 0700);
        atexit(fz_cleanup);
    }
    return fz_root;
}

/* fz_dir()/name in a static buffer (one of four, so a few paths can be held at once). */
static inline const char *fz_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", fz_dir(), name);
    return buf[k];
}

static inline void fz_write(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort(); /* the scratch directory must be writable */
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

/* Splits data on FZ_SEP into at most max parts; returns the count (>= 1). */
static inline size_t fz_split(const uint8_t *data, size_t n, const uint8_t **part, size_t *len, size_t max) {
    size_t k = 0, sl = strlen(FZ_SEP);
    const uint8_t *p = data, *end = data + n;
    while (k + 1 < max) {
        const uint8_t *hit = memmem(p, (size_t)(end - p), FZ_SEP, sl);
        if (!hit) break;
        part[k] = p;
        len[k++] = (size_t)(hit - p);
        p = hit + sl;
    }
    part[k] = p;
    len[k++] = (size_t)(end - p);
    return k;
}

/* A NUL-terminated malloc'd copy of n bytes. */
static inline char *fz_strndup(const void *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

#endif
