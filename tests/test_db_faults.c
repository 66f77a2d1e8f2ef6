/* test_db_faults.c - disk-full and read-only faults while results are written lose nothing.
 *
 * As SQLite's own I/O-error tests do, a shim VFS is registered as the default: it passes every
 * call to the real "unix" VFS, except that from the n-th write or sync on (a countdown the test
 * arms) it fails the way a full disk does (SQLITE_FULL) or the way a file system remounted
 * read-only does (write(2) fails with EROFS: SQLITE_IOERR_WRITE), for as long as the fault lasts.
 * For every n up to the writes a reference run makes, the store writes samples until the fault
 * stops it; then, on the same file without the fault:
 *   - the database passes PRAGMA integrity_check,
 *   - every sample whose db_sample_put returned DB_OK is there, complete (its per-layer counts
 *     and timings), and nothing else is (a failed put left no partial row),
 *   - the run resumes: writing the remaining samples ends with exactly the reference rows.
 * The existing kill -9 test (tests/runner.sh) covers a process killed mid-write. */
#include "tests/tb_test.h"

#include <math.h>
#include <sqlite3.h>

#include "store/store.h"

/* ---- the shim VFS --------------------------------------------------------------------------- */

typedef enum { FAULT_NONE, FAULT_FULL, FAULT_READONLY } fault_kind;

static sqlite3_vfs *g_real;
static fault_kind g_kind;
static long g_countdown; /* writes/syncs left before the fault starts; < 0: no fault armed */
static long g_writes;    /* writes and syncs seen since the last arm */

typedef struct {
    sqlite3_file base; /* pMethods = &shim_io */
    sqlite3_file *real;
} shim_file;

static int fault_now(void) {
    g_writes++;
    if (g_countdown < 0) return SQLITE_OK;
    if (g_countdown > 0) {
        g_countdown--;
        return SQLITE_OK;
    }
    return g_kind == FAULT_FULL ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

#define REAL(f) (((shim_file *)(f))->real)
static int s_close(sqlite3_file *f) {
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    sqlite3_free(REAL(f));
    return rc;
}
static int s_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int s_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
    int rc = fault_now();
    return rc ? rc : REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int s_truncate(sqlite3_file *f, sqlite3_int64 s) {
    int rc = fault_now();
    return rc ? rc : REAL(f)->pMethods->xTruncate(REAL(f), s);
}
static int s_sync(sqlite3_file *f, int fl) {
    int rc = fault_now();
    return rc ? (rc == SQLITE_FULL ? SQLITE_FULL : SQLITE_IOERR_FSYNC) : REAL(f)->pMethods->xSync(REAL(f), fl);
}
static int s_size(sqlite3_file *f, sqlite3_int64 *s) { return REAL(f)->pMethods->xFileSize(REAL(f), s); }
static int s_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int s_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int s_check(sqlite3_file *f, int *o) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), o); }
static int s_fctl(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int s_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int s_dev(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int s_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp) {
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int s_shmlock(sqlite3_file *f, int off, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), off, n, fl); }
static void s_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int s_shmunmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int s_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp) {
    *pp = NULL; /* no memory-mapped I/O: every write goes through xWrite */
    (void)f, (void)o, (void)n;
    return SQLITE_OK;
}
static int s_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) {
    (void)f, (void)o, (void)p;
    return SQLITE_OK;
}

static const sqlite3_io_methods shim_io = {3,        s_close,  s_read,     s_write,   s_truncate,   s_sync,
                                           s_size,   s_lock,   s_unlock,   s_check,   s_fctl,       s_sector,
                                           s_dev,    s_shmmap, s_shmlock,  s_shmbarrier, s_shmunmap, s_fetch,
                                           s_unfetch};

static int v_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out) {
    (void)v;
    shim_file *sf = (shim_file *)f;
    sf->real = sqlite3_malloc(g_real->szOsFile);
    if (!sf->real) return SQLITE_NOMEM;
    memset(sf->real, 0, (size_t)g_real->szOsFile);
    int rc = g_real->xOpen(g_real, name, sf->real, flags, out);
    if (rc != SQLITE_OK) {
        sqlite3_free(sf->real);
        sf->base.pMethods = NULL;
        return rc;
    }
    sf->base.pMethods = &shim_io;
    return SQLITE_OK;
}
static int v_delete(sqlite3_vfs *v, const char *n, int sync) {
    (void)v;
    return g_real->xDelete(g_real, n, sync);
}
static int v_access(sqlite3_vfs *v, const char *n, int fl, int *o) {
    (void)v;
    return g_real->xAccess(g_real, n, fl, o);
}
static int v_full(sqlite3_vfs *v, const char *n, int len, char *o) {
    (void)v;
    return g_real->xFullPathname(g_real, n, len, o);
}
static int v_random(sqlite3_vfs *v, int n, char *o) {
    (void)v;
    return g_real->xRandomness(g_real, n, o);
}
static int v_sleep(sqlite3_vfs *v, int us) {
    (void)v;
    return g_real->xSleep(g_real, us);
}
static int v_time(sqlite3_vfs *v, double *t) {
    (void)v;
    return g_real->xCurrentTime(g_real, t);
}
static int v_err(sqlite3_vfs *v, int n, char *o) {
    (void)v;
    return g_real->xGetLastError(g_real, n, o);
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *t) {
    (void)v;
    return g_real->xCurrentTimeInt64(g_real, t);
}

static sqlite3_vfs shim_vfs = {2,       0,        1024,     NULL,   "tb-fault", NULL,    v_open,   v_delete, v_access,
                               v_full,  NULL,     NULL,     NULL,   NULL,       v_random, v_sleep, v_time,   v_err,
                               v_time64, NULL,    NULL,     NULL};

static void arm(fault_kind k, long after) {
    g_kind = k;
    g_countdown = k == FAULT_NONE ? -1 : after;
    g_writes = 0;
}

/* ---- the workload --------------------------------------------------------------------------- */

#define N_SAMPLES 6
#define N_LAYERS 4
static char g_dir[1024];

static db_run_spec spec(void) {
    db_run_spec rs = db_run_spec_default();
    rs.model = "tiny";
    rs.benchmark = "mvbench";
    rs.method = "fastv";
    rs.params_json = "{\"ratio\":0.2}";
    rs.n_expected = N_SAMPLES;
    return rs;
}

static db_sample_result sample(int i, char *id, int64_t *layers) {
    snprintf(id, 16, "s%02d", i);
    for (int l = 0; l < N_LAYERS; l++) layers[l] = 100 - 10 * l - i;
    db_sample_result r = {.sample_id = id, .video_id = "v", .categories_json = "{\"task\":\"x\"}",
                          .raw_output = "B", .parsed = "B", .gold = i % 2 ? "B" : "A", .correct = i % 2,
                          .n_visual_in = 100, .n_text = 20, .n_layers = N_LAYERS, .visual_per_layer = layers,
                          .flops = 1e9 + i, .equiv_retention = 0.5, .peak_bytes = 1 << 20, .method_json = "{}"};
    for (int s = 0; s < DB_N_STAGES; s++) r.ms[s] = 1.0 + s + i;
    if (i == 3) r.error = "corrupt video";
    return r;
}

/* Writes samples [from, N_SAMPLES) until one fails; returns how many were written. */
static int write_samples(db_store *db, const char *key, int from) {
    for (int i = from; i < N_SAMPLES; i++) {
        char id[16];
        int64_t layers[N_LAYERS];
        db_sample_result r = sample(i, id, layers);
        int done = 0;
        if (db_sample_done(db, key, id, &done) != DB_OK) return i - from;
        if (done) continue;
        if (db_sample_put(db, key, &r) != DB_OK) return i - from;
    }
    return N_SAMPLES - from;
}

/* One line per sample with its layer counts and timings, for comparing databases. */
static void dump(const char *path, char *out, size_t n) {
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s,
                                        "SELECT s.sample_id || s.status || ifnull(s.error, '') || s.correct || "
                                        "(SELECT group_concat(visual) FROM layer_tokens t WHERE t.run_key = s.run_key AND "
                                        "t.sample_id = s.sample_id) || '|' || (SELECT group_concat(ms) FROM timings t WHERE "
                                        "t.run_key = s.run_key AND t.sample_id = s.sample_id) FROM samples s ORDER BY 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t k = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *row = (const char *)sqlite3_column_text(st, 0);
        int w = snprintf(out + k, n - k, "%s\n", row ? row : "(partial)");
        if (w > 0) k += (size_t)w;
    }
    sqlite3_finalize(st);
    sqlite3_close(s);
}

static int integrity_ok(const char *path) {
    sqlite3 *s = NULL;
    if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, "unix") != SQLITE_OK) return 0;
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(s);
    return ok;
}

static void fresh(const char *p) {
    char q[1400];
    unlink(p);
    snprintf(q, sizeof q, "%s-wal", p);
    unlink(q);
    snprintf(q, sizeof q, "%s-shm", p);
    unlink(q);
}

static void faults(fault_kind kind, const char *tag) {
    char ref[1200], p[1200], err[1024], key[DB_KEY_LEN + 1];
    static char want[16384], got[16384], part[16384];
    /* the reference: every sample written without a fault, counting the writes it takes */
    snprintf(ref, sizeof ref, "%s/%s-ref.db", g_dir, tag);
    fresh(ref);
    arm(FAULT_NONE, 0);
    db_store *db = db_open(ref, err, sizeof err);
    if (!db) fail_msg("%s", err);
    db_run_spec rs = spec();
    assert_int_equal(db_run_open(db, &rs, key, NULL), DB_OK);
    long before = g_writes;
    assert_int_equal(write_samples(db, key, 0), N_SAMPLES);
    long n_writes = g_writes - before;
    db_close(db);
    dump(ref, want, sizeof want);
    int faulted = 0;
    for (long k = 0; k < n_writes; k++) {
        snprintf(p, sizeof p, "%s/%s-%ld.db", g_dir, tag, k);
        fresh(p);
        arm(FAULT_NONE, 0);
        db = db_open(p, err, sizeof err);
        if (!db) fail_msg("%s", err);
        assert_int_equal(db_run_open(db, &rs, key, NULL), DB_OK);
        arm(kind, k); /* the k-th write or sync from here on fails, and every one after it */
        int written = write_samples(db, key, 0);
        arm(FAULT_NONE, 0); /* the disk has room again / the file system is writable again */
        db_close(db);
        if (written < N_SAMPLES) faulted++;
        if (!integrity_ok(p)) fail_msg("%s fault at write %ld: integrity_check fails", tag, k);
        /* exactly the samples whose put returned DB_OK, each complete */
        dump(p, got, sizeof got);
        size_t n_lines = 0;
        for (const char *c = got; *c; c++) n_lines += *c == '\n';
        size_t k_lines = 0;
        part[0] = '\0';
        for (const char *c = want; *c && k_lines < n_lines; c++) {
            size_t l = strlen(part);
            part[l] = *c;
            part[l + 1] = '\0';
            k_lines += *c == '\n';
        }
        if ((int)n_lines != written || strcmp(got, part))
            fail_msg("%s fault at write %ld: %d samples written, the file holds %zu:\n%s", tag, k, written, n_lines, got);
        /* resume: the rest of the samples, then the reference rows exactly */
        db = db_open(p, err, sizeof err);
        if (!db) fail_msg("%s fault at write %ld: cannot reopen: %s", tag, k, err);
        int resumed = 0;
        assert_int_equal(db_run_open(db, &rs, key, &resumed), DB_OK);
        assert_int_equal(resumed, 1);
        write_samples(db, key, 0);
        db_close(db);
        dump(p, got, sizeof got);
        if (strcmp(got, want)) fail_msg("%s fault at write %ld: after resuming:\n%s\nwant:\n%s", tag, k, got, want);
        fresh(p);
    }
    printf("%s: a fault at each of %ld writes/syncs (%d stopped the run mid-way): nothing lost, nothing "
           "duplicated, every database intact\n",
           tag, n_writes, faulted);
    assert_true(faulted > 0);
}

static void test_disk_full(void **state) {
    (void)state;
    faults(FAULT_FULL, "full");
}

static void test_read_only(void **state) {
    (void)state;
    faults(FAULT_READONLY, "readonly");
}

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s", tb_test_dir("db_faults"));
    g_real = sqlite3_vfs_find("unix");
    if (!g_real) return -1;
    shim_vfs.szOsFile = (int)sizeof(shim_file);
    shim_vfs.mxPathname = g_real->mxPathname;
    arm(FAULT_NONE, 0);
    return sqlite3_vfs_register(&shim_vfs, 1) == SQLITE_OK ? 0 : -1; /* the default from now on */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
