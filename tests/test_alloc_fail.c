/* test_alloc_fail.c - allocation failure at every allocation of the load and prune paths, in the
 * spirit of SQLite's malloc tests and curl's torture mode.
 *
 * The test binary is linked with -Wl,--wrap for malloc, calloc, realloc, free, strdup, strndup
 * and aligned_alloc (Makefile), so every allocation the project's code makes goes through the
 * counting allocator below, and cJSON's through cJSON_InitHooks; the normal build and binary are
 * untouched. Each operation (a checkpoint opened, a config read, a tokenizer loaded and used, the
 * vision tower and the LLM loaded, an .npy read, a manifest parsed, a run config read, every
 * pruning method run once) is first run clean to count its allocations, N; then N more times with
 * allocation k (k = 1..N) failing. Every such run must fail with a message (never crash, never
 * carry on as if nothing happened: on these paths every allocation is needed, so a "success"
 * would be a different result), and must leave no allocation behind: every block the operation
 * allocated through the wrapper is freed when it returns.
 *
 * TB_ALLOC_FAIL_STEP=s tries every s-th allocation only (default 1: all of them);
 * TB_ALLOC_FAIL_TRACE=1 prints the call stack of every failed allocation (to find a culprit). */
#include "tests/tb_test.h"

#include <cjson/cJSON.h>
#include <execinfo.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>

#include "common/check.h"
#include "datasets/datasets.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "engine/safetensors.h"
#include "engine/tokenizer.h"
#include "harness/npy.h"
#include "harness/registry.h"
#include "harness/runner.h"
#include "tango/pruner.h"

/* ---- the counting allocator --------------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_aligned_alloc(size_t al, size_t n);

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static long g_count;    /* allocations since the last reset */
static long g_fail_at;  /* the allocation that fails (1-based), 0 = none */
static int g_failed;    /* 1 once it has failed */
static void **g_live;   /* open-addressing set of live blocks (NULL = empty, TOMB = deleted) */
static size_t g_cap, g_n_live;
#define TOMB ((void *)1)

static size_t slot_of(void *p, size_t cap) {
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 20) & (cap - 1);
}

static void live_add(void *p) {
    if (2 * (g_n_live + 1) > g_cap) {
        size_t nc = g_cap ? 2 * g_cap : 1 << 16;
        void **nl = __real_calloc(nc, sizeof *nl);
        if (!nl) abort();
        for (size_t i = 0; i < g_cap; i++)
            if (g_live[i] && g_live[i] != TOMB) {
                size_t j = slot_of(g_live[i], nc);
                while (nl[j]) j = (j + 1) & (nc - 1);
                nl[j] = g_live[i];
            }
        __real_free(g_live);
        g_live = nl;
        g_cap = nc;
    }
    size_t j = slot_of(p, g_cap);
    while (g_live[j] && g_live[j] != TOMB) j = (j + 1) & (g_cap - 1);
    g_live[j] = p;
    g_n_live++;
}

static void live_del(void *p) {
    if (!g_cap) return;
    for (size_t j = slot_of(p, g_cap);; j = (j + 1) & (g_cap - 1)) {
        if (!g_live[j]) return; /* not ours (allocated inside libc or a library) */
        if (g_live[j] == p) {
            g_live[j] = TOMB;
            g_n_live--;
            return;
        }
    }
}

/* 1 when this allocation must fail. Called with g_mu held. */
static int next_fails(void) {
    g_count++;
    if (g_fail_at && g_count == g_fail_at) {
        g_failed = 1;
        if (getenv("TB_ALLOC_FAIL_TRACE")) {
            void *bt[16];
            int n = backtrace(bt, 16);
            fprintf(stderr, "allocation %ld fails here:\n", g_count);
            backtrace_symbols_fd(bt, n, 2);
        }
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) {
    pthread_mutex_lock(&g_mu);
    void *p = next_fails() ? NULL : __real_malloc(n);
    if (p) live_add(p);
    pthread_mutex_unlock(&g_mu);
    return p;
}

void *__wrap_calloc(size_t a, size_t b) {
    pthread_mutex_lock(&g_mu);
    void *p = next_fails() ? NULL : __real_calloc(a, b);
    if (p) live_add(p);
    pthread_mutex_unlock(&g_mu);
    return p;
}

void *__wrap_aligned_alloc(size_t al, size_t n) {
    pthread_mutex_lock(&g_mu);
    void *p = next_fails() ? NULL : __real_aligned_alloc(al, n);
    if (p) live_add(p);
    pthread_mutex_unlock(&g_mu);
    return p;
}

void *__wrap_realloc(void *old, size_t n) {
    pthread_mutex_lock(&g_mu);
    void *p = next_fails() ? NULL : __real_realloc(old, n);
    if (p) { /* on failure the old block stays live */
        if (old) live_del(old);
        live_add(p);
    }
    pthread_mutex_unlock(&g_mu);
    return p;
}

void __wrap_free(void *p) {
    if (!p) return;
    pthread_mutex_lock(&g_mu);
    live_del(p);
    pthread_mutex_unlock(&g_mu);
    __real_free(p);
}

char *__wrap_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = __wrap_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *__wrap_strndup(const char *s, size_t max) {
    size_t n = strnlen(s, max);
    char *d = __wrap_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- driving an operation through every failure ------------------------------------------- */

typedef int (*op_fn)(char *err, size_t err_len); /* 0 = success */

static char g_dir[1024], g_model[1200];

/* Snapshot of the live blocks: the operation's own allocations are those added after it. */
static size_t live_count(void) {
    pthread_mutex_lock(&g_mu);
    size_t n = g_n_live;
    pthread_mutex_unlock(&g_mu);
    return n;
}

static void arm(long fail_at) {
    pthread_mutex_lock(&g_mu);
    g_count = 0;
    g_fail_at = fail_at;
    g_failed = 0;
    pthread_mutex_unlock(&g_mu);
}

static long step(void) {
    const char *s = getenv("TB_ALLOC_FAIL_STEP");
    long v = s && *s ? strtol(s, NULL, 10) : 1;
    return v > 0 ? v : 1;
}

/* Runs op clean (twice: the first run may fill lazily initialised statics), counts its
 * allocations, then fails each in turn. Returns the number of allocations tried. */
static long torture(const char *name, op_fn op) {
    char err[2048];
    arm(0);
    if (op(err, sizeof err)) fail_msg("%s: fails without fault injection: %s", name, err);
    size_t base = live_count();
    arm(0);
    if (op(err, sizeof err)) fail_msg("%s: fails without fault injection: %s", name, err);
    long n = g_count;
    if (live_count() != base) fail_msg("%s: leaks %zu blocks without fault injection", name, live_count() - base);
    long tried = 0, failed_cleanly = 0;
    for (long k = 1; k <= n; k += step()) {
        err[0] = '\0';
        arm(k);
        int rc = op(err, sizeof err);
        pthread_mutex_lock(&g_mu);
        int hit = g_failed;
        g_fail_at = 0;
        pthread_mutex_unlock(&g_mu);
        tried++;
        if (!hit) fail_msg("%s: allocation %ld of %ld never happened (the operation is not deterministic)", name, k, n);
        /* success despite a failed allocation would be a silently different result (a skipped
         * candidate path, an unfilled array): every path here needs every allocation */
        if (!rc && hit) fail_msg("%s: allocation %ld of %ld failed but the operation succeeded", name, k, n);
        if (rc) {
            if (!err[0]) fail_msg("%s: allocation %ld of %ld failed: error without a message", name, k, n);
            failed_cleanly++;
        }
        size_t now = live_count();
        if (now != base)
            fail_msg("%s: allocation %ld of %ld failed (%s): %zu blocks leaked", name, k, n,
                     rc ? err : "the operation succeeded", now - base);
    }
    printf("%-28s %5ld allocations, each failed once: %ld clean errors, no leaks\n", name, n, failed_cleanly);
    return tried;
}

/* ---- the operations ----------------------------------------------------------------------- */

static int op_st_open(char *err, size_t n) {
    st_file *st = st_open(g_model, err, n);
    if (!st) return -1;
    const st_tensor *t = st_at(st, 0);
    float *v = st_load_f32(st, t->name, t->ndim, t->shape, err, n);
    int rc = v ? 0 : -1;
    free(v);
    st_close(st);
    return rc;
}

static int op_config(char *err, size_t n) {
    eng_config c;
    return eng_config_load(g_model, &c, err, n);
}

static int use_tokenizer(const char *path, char *err, size_t n) {
    tok_tokenizer *tk = tok_load(path, err, n);
    if (!tk) return -1;
    tok_ids ids = {0};
    int rc = tok_chat_encode(tk, "<image>\nthe cat sat on the mat, héllo", &ids, err, n);
    char *back = NULL;
    if (!rc) {
        /* the image placeholder id is no token: decode the ids after it */
        size_t k = 0;
        while (k < ids.n && ids.v[k] != TOK_IMAGE_ID) k++;
        back = tok_decode(tk, ids.v + k + 1, ids.n - k - 1, 0, NULL, err, n);
        if (!back) rc = -1;
    }
    free(back);
    tok_ids_free(&ids);
    tok_free(tk);
    return rc;
}

static int op_tokenizer_json(char *err, size_t n) {
    return use_tokenizer("tests/fixtures/tokenizer/tiny_tokenizer.json", err, n);
}

static int op_tokenizer_vocab_merges(char *err, size_t n) {
    char p[1300];
    snprintf(p, sizeof p, "%s/vm", g_dir);
    return use_tokenizer(p, err, n);
}

static int op_model_load(char *err, size_t n) {
    eng_model_params mp = eng_model_default_params();
    eng_model *m = eng_model_load(g_model, &mp, err, n);
    if (!m) return -1;
    eng_model_free(m);
    return 0;
}

static int op_llm_load(char *err, size_t n) {
    eng_llm_params lp = eng_llm_default_params();
    eng_llm *m = eng_llm_load(g_model, &lp, err, n);
    if (!m) return -1;
    eng_llm_state *s = eng_llm_state_init(m, 64, err, n);
    int rc = s ? 0 : -1;
    eng_llm_state_free(s);
    eng_llm_free(m);
    return rc;
}

static int op_npy(char *err, size_t n) {
    char p[1300];
    snprintf(p, sizeof p, "%s/a.npy", g_dir);
    npy_array a;
    if (npy_read(p, NPY_F64, &a, err, n)) return -1;
    npy_free(&a);
    return 0;
}

static int op_samples(char *err, size_t n) {
    ds_load_params lp = ds_load_default_params();
    lp.manifest = "tests/fixtures/datasets/mvbench";
    lp.videos_root = "/v";
    ds_sample_set *set = NULL;
    if (ds_samples_load(DS_BENCH_MVBENCH, &lp, &set, err, n)) return -1;
    ds_prompt_params pp = ds_prompt_default_params();
    char *prompt = ds_prompt_chat(ds_sample_set_get(set, 0), &pp, NULL, err, n);
    int rc = prompt ? 0 : -1;
    free(prompt);
    ds_sample_set_free(set);
    return rc;
}

static int op_run_config(char *err, size_t n) {
    run_config *c = NULL;
    int rc = run_config_load("configs/table1_llava_ov.json", &c, err, n);
    run_config_free(c);
    return rc;
}

/* Pruning: every registered method once on a small synthetic video (4 frames of the real 14x14
 * pooled grid, every optional signal present), LLaVA-OneVision layout with the 7B models' 28 LLM
 * layers (so the in-LLM methods' default layers exist), ratio 0.3. */
enum { PT = 4, PG = 14, PL = PG * PG, PD = 16, PK = 8, PGD = 8 };
static float g_feat[PT * PL * PD], g_sal[PT * PL], g_recv[PT * PL], g_keys[PT * PL * PK], g_glob[PT * PGD], g_ts[PT];
static const tg_method *g_method;

static int op_prune(char *err, size_t n) {
    tg_prune_input in = tg_prune_input_default();
    in.features = g_feat;
    in.n_frames = PT;
    in.n_tokens = PL;
    in.dim = PD;
    in.grid_h = in.grid_w = PG;
    in.model = tg_model_layout_default(TB_FAMILY_LLAVA_OV, 28, PD);
    in.timestamps = g_ts;
    in.saliency = g_sal;
    in.saliency_recv = g_recv;
    in.keys = g_keys;
    in.key_dim = PK;
    in.frame_global = g_glob;
    in.global_dim = PGD;
    in.ratio = 0.3;
    in.seed = 7;
    in.n_threads = 1;
    tg_prune_output out = {0};
    int rc = g_method->run(&in, &out, err, n);
    tg_prune_output_free(&out);
    return rc == TG_OK ? 0 : -1;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_load_paths(void **state) {
    (void)state;
    long total = 0;
    total += torture("st_open + st_load_f32", op_st_open);
    total += torture("eng_config_load", op_config);
    total += torture("tokenizer.json + text", op_tokenizer_json);
    total += torture("vocab/merges + text", op_tokenizer_vocab_merges);
    total += torture("eng_model_load (vision)", op_model_load);
    total += torture("eng_llm_load + state", op_llm_load);
    total += torture("npy_read", op_npy);
    total += torture("manifest + prompt", op_samples);
    total += torture("run_config_load", op_run_config);
    printf("load paths: %ld failure points, all clean\n", total);
}

static void test_prune_paths(void **state) {
    (void)state;
    long total = 0;
    for (size_t i = 0; i < reg_n_methods(); i++) {
        g_method = reg_method(i);
        char name[64];
        snprintf(name, sizeof name, "prune %s", g_method->name);
        total += torture(name, op_prune);
    }
    printf("prune paths: %ld failure points, all clean\n", total);
}

static int setup(void **state) {
    (void)state;
    omp_set_num_threads(1); /* one order of allocations */
    cJSON_Hooks hooks = {__wrap_malloc, __wrap_free};
    cJSON_InitHooks(&hooks);
    snprintf(g_dir, sizeof g_dir, "%s", tb_test_dir("alloc_fail"));
    snprintf(g_model, sizeof g_model, "%s/tiny", g_dir);
    char cmd[6000], out[4096];
    snprintf(cmd, sizeof cmd, "%s make-tiny-model '%s'", tb_test_bin(), g_model);
    if (tb_test_run(cmd, out, sizeof out) != 0) return -1;
    /* a vocab.json + merges.txt tokenizer (from the tiny model's tokenizer.json) */
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/vm' && %s -c \"import json,sys; d=json.load(open('%s/tokenizer.json')); "
             "json.dump(d['model']['vocab'], open('%s/vm/vocab.json','w')); "
             "open('%s/vm/merges.txt','w').write('#version: 0.2\\n' + '\\n'.join(m if isinstance(m, str) else ' '.join(m) "
             "for m in d['model']['merges']) + '\\n')\"",
             g_dir, tb_test_python(), g_model, g_dir, g_dir);
    if (tb_test_run(cmd, out, sizeof out) != 0) {
        fprintf(stderr, "%s\n", out);
        return -1;
    }
    double a[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    char p[1300], err[512];
    snprintf(p, sizeof p, "%s/a.npy", g_dir);
    if (npy_write(p, NPY_F64, a, 2, shape, err, sizeof err)) return -1;
    uint64_t s = 12345;
    for (size_t i = 0; i < sizeof g_feat / sizeof g_feat[0]; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        g_feat[i] = (float)((s >> 40) & 0xffff) / 65536.0f - 0.5f;
    }
    for (int i = 0; i < PT * PL; i++) g_sal[i] = g_recv[i] = (float)((i * 37) % 101 + 1) / 101.0f;
    for (int i = 0; i < PT * PL * PK; i++) g_keys[i] = (float)((i * 13) % 29) / 29.0f - 0.5f;
    for (int i = 0; i < PT * PGD; i++) g_glob[i] = (float)((i * 7) % 11) / 11.0f;
    for (int i = 0; i < PT; i++) g_ts[i] = 0.5f * (float)i;
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_paths),
        cmocka_unit_test(test_prune_paths),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
