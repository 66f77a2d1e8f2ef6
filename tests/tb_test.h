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

#endif
