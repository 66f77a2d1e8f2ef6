/* test_hostile_files.c - every reader of untrusted files against what is not a plain file: a FIFO
 * without a writer (open(2) blocks forever on it), a directory, a socket-free device (/dev/null).
 * Each case runs in a child process with a 10 s alarm, so a regression shows as a failed case,
 * never as a hung suite. Regression for issue 14: a FIFO named in model.safetensors.index.json
 * made encode/forward block forever. */
#include "tests/tb_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common/file.h"
#include "engine/config.h"
#include "engine/safetensors.h"
#include "engine/tokenizer.h"
#include "harness/npy.h"
#include "harness/run_config.h"

static char dir[1024];

typedef int (*reader_fn)(const char *path, char *err, size_t err_len); /* 0 = accepted */

/* Runs fn(path) in a child with an alarm; the child reports through its exit status: 0 refused
 * with a message containing want, 1 accepted, 2 refused with another message; a signal (the
 * alarm) means it blocked or crashed. */
static void expect_refused(reader_fn fn, const char *path, const char *want) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        char err[1024] = "";
        int rc = fn(path, err, sizeof err);
        if (rc == 0) _exit(1);
        if (!strstr(err, want) || !strstr(err, path)) {
            fprintf(stderr, "message '%s' lacks '%s' or the path\n", err, want);
            _exit(2);
        }
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st)) fail_msg("%s: reader blocked or crashed (signal %d)", path, WTERMSIG(st));
    if (WEXITSTATUS(st) == 1) fail_msg("%s: accepted", path);
    if (WEXITSTATUS(st) != 0) fail_msg("%s: refused without naming it (see stderr)", path);
}

static int rd_st_open(const char *path, char *err, size_t n) {
    st_file *st = st_open(path, err, n);
    st_close(st);
    return st ? 0 : -1;
}

static int rd_config(const char *path, char *err, size_t n) {
    eng_config cfg;
    return eng_config_load(path, &cfg, err, n);
}

static int rd_tokenizer(const char *path, char *err, size_t n) {
    tok_tokenizer *tk = tok_load(path, err, n);
    tok_free(tk);
    return tk ? 0 : -1;
}

static int rd_npy(const char *path, char *err, size_t n) {
    npy_array a;
    int rc = npy_read(path, NPY_F32, &a, err, n);
    if (!rc) npy_free(&a);
    return rc;
}

static int rd_run_config(const char *path, char *err, size_t n) {
    run_config *c = NULL;
    int rc = run_config_load(path, &c, err, n);
    run_config_free(c);
    return rc;
}

static void make_fifo(const char *path) {
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A FIFO as a shard named by the index, as the only .safetensors of a directory, and as a file. */
static void test_safetensors_fifo(void **state) {
    (void)state;
    char d[1200], p[1400];
    snprintf(d, sizeof d, "%s/sharded", dir);
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/model-00001-of-00001.safetensors", d);
    make_fifo(p);
    char idx[1400];
    snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", d);
    write_text(idx, "{\"weight_map\": {\"a.w\": \"model-00001-of-00001.safetensors\"}}");
    expect_refused(rd_st_open, d, "not a regular file (a FIFO)");
    snprintf(d, sizeof d, "%s/single", dir);
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    make_fifo(p);
    expect_refused(rd_st_open, d, "not a regular file (a FIFO)");
    expect_refused(rd_st_open, p, "not a regular file (a FIFO)");
    expect_refused(rd_st_open, "/dev/null", "not a regular file (a character device)");
}

static void test_model_files_fifo(void **state) {
    (void)state;
    char d[1200], p[1400];
    snprintf(d, sizeof d, "%s/cfg", dir);
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/config.json", d);
    make_fifo(p);
    expect_refused(rd_config, d, "not a regular file (a FIFO)");
    snprintf(d, sizeof d, "%s/tok", dir);
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/tokenizer.json", d);
    make_fifo(p);
    expect_refused(rd_tokenizer, p, "not a regular file (a FIFO)");
    snprintf(p, sizeof p, "%s/x.npy", dir);
    make_fifo(p);
    expect_refused(rd_npy, p, "not a regular file (a FIFO)");
    expect_refused(rd_npy, dir, "not a regular file (a directory)");
    snprintf(p, sizeof p, "%s/run.json", dir);
    make_fifo(p);
    expect_refused(rd_run_config, p, "not a regular file (a FIFO)");
}

/* tb_open_read itself: a FIFO without a writer opens at once without TB_OPEN_REGULAR and reads as
 * empty; a directory is refused either way. */
static void test_open_read(void **state) {
    (void)state;
    char p[1400], err[1600];
    snprintf(p, sizeof p, "%s/plain.fifo", dir);
    make_fifo(p);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        char e[1600];
        FILE *f = tb_fopen_read(p, 0, e, sizeof e);
        if (!f) _exit(2);
        int c = fgetc(f);
        fclose(f);
        _exit(c == EOF ? 0 : 3);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_null(tb_fopen_read(dir, 0, err, sizeof err));
    assert_non_null(strstr(err, "a directory"));
    snprintf(p, sizeof p, "%s/missing", dir);
    errno = 0;
    assert_null(tb_fopen_read(p, TB_OPEN_REGULAR, err, sizeof err));
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, "cannot open"));
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("hostile_files"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors_fifo),
        cmocka_unit_test(test_model_files_fifo),
        cmocka_unit_test(test_open_read),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
