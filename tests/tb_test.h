/* tb_test.h - small helpers shared by the cmocka test programs (header-only, test code only). */
#ifndef TB_TEST_H
#define TB_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh scratch directory $TB_BUILD/tmp/<name>-<pid> (created; not removed, for post-mortems).
 * Returns a static buffer. */
static inline const char *tb_test_dir(const char *name) {
    static char dir[1024];
    const char *build = getenv("TB_BUILD");
    char base[900];
    snprintf(base, sizeof base, "%s/tmp", build && *build ? build : "build");
    mkdir(base, 0755);
    snprintf(dir, sizeof dir, "%s/%s-%d", base, name, (int)getpid());
    mkdir(dir, 0755);
    return dir;
}

/* The whole file at path, NUL-terminated (caller frees); *len (when not NULL) gets its size.
 * NULL when the file cannot be opened; a failed allocation or short read fails the test. */
static inline char *tb_slurp(const char *path, size_t *len) {
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(n >= 0);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

/* Path of the tango-bench binary under test. */
static inline const char *tb_test_bin(void) {
    const char *b = getenv("TB_BIN");
    return b && *b ? b : "build/tango-bench";
}

/* Runs a shell command, capturing stdout+stderr into out (NUL-terminated, truncated to n-1).
 * Returns the exit status, or -1 if it did not exit normally. */
static inline int tb_test_run(const char *cmd, char *out, size_t n) {
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t len = 0;
    if (out && n) {
        len = fread(out, 1, n - 1, p);
        out[len] = '\0';
    }
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- counted, named skips --------------------------------------------------------------------
 * A test that cannot run says why and is counted as skipped, never as passed: TB_SKIP(fmt, ...)
 * prints one line "TB-SKIP: <test>: <reason>" and calls cmocka's skip(); scripts/run-tests counts
 * the skip and prints the line. A reason that starts with "oracle:" marks a missing test oracle
 * (Python with numpy, torch or Pillow); run-tests turns those into failures when CI=true, so CI
 * can never pass with the oracle tier missing. Call TB_SKIP from the test function itself: the
 * name printed is __func__, the name cmocka lists. */
#define TB_SKIP(...)                                                                                \
    do {                                                                                            \
        tb_test_skip_note(__func__, __VA_ARGS__);                                                   \
        skip();                                                                                     \
    } while (0)

/* Skips the calling test as an oracle skip unless $PYTHON imports every module of `modules`
 * (a Python import list: "torch, numpy"). */
#define TB_NEED_PYTHON(modules)                                                                     \
    do {                                                                                            \
        char why_[700];                                                                             \
        if (!tb_test_python_has(modules, why_, sizeof why_)) TB_SKIP("oracle: %s", why_);          \
    } while (0)

__attribute__((format(printf, 2, 3))) static inline void tb_test_skip_note(const char *test, const char *fmt, ...) {
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    fflush(stdout);
    printf("TB-SKIP: %s: %s\n", test, reason);
    fflush(stdout);
}

/* The Python the oracles run with: $PYTHON, else /usr/bin/python3. */
static inline const char *tb_test_python(void) {
    const char *py = getenv("PYTHON");
    return py && *py ? py : "/usr/bin/python3";
}

/* 1 when $PYTHON imports every module of `modules`; else 0 with one line in why naming the
 * interpreter and Python's last error line. Each module list is probed once per process (torch
 * takes seconds to import). */
static inline int tb_test_python_has(const char *modules, char *why, size_t why_len) {
    static struct {
        char modules[128];
        int ok;
        char why[600];
    } cache[4];
    static int n_cache;
    for (int i = 0; i < n_cache; i++)
        if (strcmp(cache[i].modules, modules) == 0) {
            snprintf(why, why_len, "%s", cache[i].why);
            return cache[i].ok;
        }
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import %s'", tb_test_python(), modules);
    int ok = tb_test_run(cmd, out, sizeof out) == 0;
    /* Python's last non-empty output line: "ModuleNotFoundError: No module named 'torch'" */
    char last[400] = "";
    for (char *line = out; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len) snprintf(last, sizeof last, "%.*s", (int)len, line);
        line += len + (end != NULL);
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s cannot import %s (%s)", tb_test_python(), modules, *last ? last : "no output");
    if (n_cache < 4) {
        snprintf(cache[n_cache].modules, sizeof cache[n_cache].modules, "%s", modules);
        cache[n_cache].ok = ok;
        snprintf(cache[n_cache].why, sizeof cache[n_cache].why, "%s", ok ? "" : msg);
        n_cache++;
    }
    snprintf(why, why_len, "%s", ok ? "" : msg);
    return ok;
}

#endif
