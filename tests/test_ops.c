/* test_ops.c - every op of the engine's op table, on every available backend, against the
 * reference table (kernels_ref.c), in the style of llama.cpp's test-backend-ops: op x shape cases
 * including awkward sizes (1, primes, 0 rows, head_dim 72, strided rows, GQA, causal with a KV
 * offset), judged by NMSE and a per-element atol + rtol*|ref| bound, printing the first
 * mismatches. Also known-answer checks of the reference itself (hand-computed values, the
 * bilinear 27->14 table of the spec).
 *
 * Usage: test_ops [-o OP] [-b BACKEND] [-m test|perf]
 *   -o OP       only cases of this op (matmul, layernorm, ..., pool2d)
 *   -b BACKEND  only this backend (cpu, cuda); cuda is skipped with a note when not available
 *   -m perf     also print the time of each case per backend */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/tb_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kernels.h"
#include "common/clock.h"

static const char *g_op = NULL;      /* -o filter */
static const char *g_backend = NULL; /* -b filter */
static int g_perf = 0;

/* ---- data and comparison ---------------------------------------------------------------------- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float frand(float lo, float hi) {
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(g_rng >> 11) / 9007199254740992.0;
    return (float)(lo + (hi - lo) * u);
}
static float *rnd(size_t n, float lo, float hi) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = frand(lo, hi);
    return p;
}

/* NMSE + per-element check of got against want; prints the first mismatches. Returns 1 if ok. */
static int compare(const char *what, const char *backend, const float *got, const float *want, size_t n, double nmse_max,
                   double atol, double rtol) {
    double num = 0.0, den = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        num += d * d;
        den += (double)want[i] * (double)want[i];
        if (!(fabs(d) <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 5)
                printf("  MISMATCH %s [%s] at %zu: got %.9g want %.9g (diff %.3g)\n", what, backend, i, got[i], want[i], d);
            bad++;
        }
    }
    double nmse = den > 0 ? num / den : num;
    if (!(nmse <= nmse_max)) {
        printf("  NMSE %s [%s] = %.3g > %.3g\n", what, backend, nmse, nmse_max);
        bad++;
    }
    if (bad) printf("FAIL %s [%s]: %d problems over %zu values\n", what, backend, bad, n);
    return bad == 0;
}

/* ---- backends ----------------------------------------------------------------------------------- */

typedef struct {
    eng_backend be;
    int ok;
} test_be;

static test_be g_ref, g_others[2];
static int g_n_others = 0;

static int group_setup(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(eng_backend_init(&g_ref.be, ENG_BACKEND_REF, err, sizeof err), 0);
    eng_backend_kind kinds[2] = {ENG_BACKEND_CPU, ENG_BACKEND_CUDA};
    for (int i = 0; i < 2; i++) {
        if (g_backend && strcmp(g_backend, eng_backend_name(kinds[i])) != 0) continue;
        if (eng_backend_init(&g_others[g_n_others].be, kinds[i], err, sizeof err) == 0) {
            g_others[g_n_others++].ok = 1;
        } else {
            printf("SKIP %s\n", err);
        }
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    eng_backend_fini(&g_ref.be);
    for (int i = 0; i < g_n_others; i++) eng_backend_fini(&g_others[i].be);
    return 0;
}

/* Backend copies of host arrays, released together. */
typedef struct {
    eng_backend *be;
    float *p[16];
    int n;
} bufs;
static float *put(bufs *b, const float *host, size_t n) {
    float *d = b->be->k->alloc(b->be, n);
    assert_non_null(d);
    if (host) assert_int_equal(b->be->k->upload(b->be, d, host, n), 0);
    b->p[b->n++] = d;
    return d;
}
static void get(bufs *b, float *host, const float *d, size_t n) {
    assert_int_equal(b->be->k->download(b->be, host, d, n), 0);
}
static void release(bufs *b) {
    for (int i = 0; i < b->n; i++) b->be->k->free(b->be, b->p[i]);
    b->n = 0;
}


static int op_selected(const char *op) {
    return !g_op || strcmp(g_op, op) == 0;
}

/* Runs fn(be, ctx, out) on ref and each other backend, compares every output. fn writes n_out
 * arrays of sizes sz[] into outs[backend][i]. */
typedef void (*case_fn)(eng_backend *be, const void *ctx, float **outs);

static int run_case(const char *label, case_fn fn, const void *ctx, int n_out, const size_t *sz, double nmse, double atol,
                    double rtol) {
    float *want[4], *got[4];
    int ok = 1;
    for (int i = 0; i < n_out; i++) want[i] = calloc(sz[i] ? sz[i] : 1, sizeof(float));
    fn(&g_ref.be, ctx, want);
    for (int b = 0; b < g_n_others; b++) {
        for (int i = 0; i < n_out; i++) {
            got[i] = malloc((sz[i] ? sz[i] : 1) * sizeof(float));
            for (size_t j = 0; j < sz[i]; j++) got[i][j] = NAN; /* unwritten output shows up */
        }
        double t0 = tb_now_s();
        fn(&g_others[b].be, ctx, got);
        double dt = tb_now_s() - t0;
        if (g_perf) printf("  perf %-40s %-5s %9.3f ms\n", label, g_others[b].be.k->name, dt * 1e3);
        for (int i = 0; i < n_out; i++) {
            char what[160];
            snprintf(what, sizeof what, "%s out%d", label, i);
            ok &= compare(what, g_others[b].be.k->name, got[i], want[i], sz[i], nmse, atol, rtol);
            free(got[i]);
        }
    }
    for (int i = 0; i < n_out; i++) free(want[i]);
    return ok;
}

/* ---- matmul ----------------------------------------------------------------------------------- */

typedef struct {
    int64_t n, k, m;
    int bias;
    float *x, *w, *b;
} mm_ctx;

static void mm_run(eng_backend *be, const void *c_, float **outs) {
    const mm_ctx *c = c_;
    bufs b = {be, {0}, 0};
    float *x = put(&b, c->x, (size_t)(c->n * c->k)), *w = put(&b, c->w, (size_t)(c->m * c->k));
    float *bb = c->bias ? put(&b, c->b, (size_t)c->m) : NULL, *y = put(&b, NULL, (size_t)(c->n * c->m));
    assert_int_equal(be->k->matmul(be, y, x, w, bb, c->n, c->k, c->m), 0);
    get(&b, outs[0], y, (size_t)(c->n * c->m));
    release(&b);
}

static void test_matmul(void **state) {
    (void)state;
    if (!op_selected("matmul")) TB_SKIP("not selected by -o %s", g_op);
    static const int64_t shapes[][3] = {{1, 1, 1}, {1, 7, 5}, {3, 13, 17}, {17, 64, 33}, {65, 129, 31},
                                        {0, 5, 3}, {4, 0, 3}, {37, 72, 216}, {2, 1152, 7}};
    int ok = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int bias = 0; bias < 2; bias++) {
            mm_ctx c = {shapes[s][0], shapes[s][1], shapes[s][2], bias, NULL, NULL, NULL};
            c.x = rnd((size_t)(c.n * c.k), -1, 1);
            c.w = rnd((size_t)(c.m * c.k), -1, 1);
            c.b = rnd((size_t)c.m, -1, 1);
            char label[96];
            snprintf(label, sizeof label, "matmul n=%lld k=%lld m=%lld bias=%d", (long long)c.n, (long long)c.k,
                     (long long)c.m, bias);
            size_t sz = (size_t)(c.n * c.m);
            ok &= run_case(label, mm_run, &c, 1, &sz, 1e-7, 1e-4, 1e-4);
            free(c.x);
            free(c.w);
            free(c.b);
        }
    assert_true(ok);
}

/* ---- norms -------------------------------------------------------------------------------------- */

typedef struct {
    int64_t n, d;
    int rms, bias;
    float *x, *g, *b;
} norm_ctx;

static void norm_run(eng_backend *be, const void *c_, float **outs) {
    const norm_ctx *c = c_;
    bufs b = {be, {0}, 0};
    size_t nd = (size_t)(c->n * c->d);
    float *x = put(&b, c->x, nd), *g = put(&b, c->g, (size_t)c->d), *bb = put(&b, c->b, (size_t)c->d);
    float *y = put(&b, NULL, nd);
    if (c->rms)
        assert_int_equal(be->k->rmsnorm(be, y, x, g, c->n, c->d, 1e-6f), 0);
    else
        assert_int_equal(be->k->layernorm(be, y, x, g, c->bias ? bb : NULL, c->n, c->d, 1e-6f), 0);
    get(&b, outs[0], y, nd);
    /* in place */
    if (c->rms)
        assert_int_equal(be->k->rmsnorm(be, x, x, g, c->n, c->d, 1e-6f), 0);
    else
        assert_int_equal(be->k->layernorm(be, x, x, g, c->bias ? bb : NULL, c->n, c->d, 1e-6f), 0);
    get(&b, outs[1], x, nd);
    release(&b);
}

static void test_norms(void **state) {
    (void)state;
    int ok = 1, any = 0;
    static const int64_t shapes[][2] = {{1, 1}, {3, 7}, {5, 33}, {17, 1152}, {2, 3584}};
    for (int rms = 0; rms < 2; rms++) {
        if (!op_selected(rms ? "rmsnorm" : "layernorm")) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int bias = 0; bias < 2 - rms; bias++) {
                any = 1;
                norm_ctx c = {shapes[s][0], shapes[s][1], rms, bias, NULL, NULL, NULL};
                c.x = rnd((size_t)(c.n * c.d), -3, 5); /* non-zero mean */
                c.g = rnd((size_t)c.d, 0.5f, 1.5f);
                c.b = rnd((size_t)c.d, -1, 1);
                char label[96];
                snprintf(label, sizeof label, "%s n=%lld d=%lld bias=%d", rms ? "rmsnorm" : "layernorm", (long long)c.n,
                         (long long)c.d, bias);
                size_t sz[2] = {(size_t)(c.n * c.d), (size_t)(c.n * c.d)};
                /* d = 1 layernorm: x - mean = 0 exactly, output = bias */
                ok &= run_case(label, norm_run, &c, 2, sz, 1e-7, 1e-4, 1e-4);
                free(c.x);
                free(c.g);
                free(c.b);
            }
    }
    if (!any) TB_SKIP("no op of this test selected by -o %s", g_op);
    assert_true(ok);
}

/* ---- elementwise -------------------------------------------------------------------------------- */

typedef struct {
    int which; /* 0 gelu_tanh 1 gelu_erf 2 silu 3 swiglu 4 add 5 add_bcast */
    size_t n;
    int64_t rows, cols;
    float *a, *b;
} ew_ctx;
static const char *ew_names[] = {"gelu_tanh", "gelu_erf", "silu", "swiglu", "add", "add_bcast"};

static void ew_run(eng_backend *be, const void *c_, float **outs) {
    const ew_ctx *c = c_;
    bufs b = {be, {0}, 0};
    float *a = put(&b, c->a, c->n), *bb = put(&b, c->b, c->n), *y = put(&b, NULL, c->n);
    int rc = -1;
    switch (c->which) {
    case 0: rc = be->k->gelu_tanh(be, y, a, c->n); break;
    case 1: rc = be->k->gelu_erf(be, y, a, c->n); break;
    case 2: rc = be->k->silu(be, y, a, c->n); break;
    case 3: rc = be->k->swiglu(be, y, a, bb, c->n); break;
    case 4: rc = be->k->add(be, y, a, bb, c->n); break;
    case 5: rc = be->k->add_bcast(be, y, a, bb, c->rows, c->cols); break;
    }
    assert_int_equal(rc, 0);
    get(&b, outs[0], y, c->n);
    release(&b);
}

static void test_elementwise(void **state) {
    (void)state;
    int ok = 1, any = 0;
    static const size_t sizes[] = {1, 7, 1000, 4097};
    for (int w = 0; w < 6; w++) {
        if (!op_selected(ew_names[w])) continue;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            any = 1;
            ew_ctx c = {w, sizes[s], 1, (int64_t)sizes[s], NULL, NULL};
            if (w == 5 && sizes[s] % 7 == 0) c.rows = 7, c.cols = (int64_t)sizes[s] / 7;
            c.a = rnd(c.n, -8, 8);
            c.b = rnd(c.n, -2, 2);
            char label[64];
            snprintf(label, sizeof label, "%s n=%zu", ew_names[w], c.n);
            ok &= run_case(label, ew_run, &c, 1, &c.n, 1e-10, 1e-6, 1e-5);
            free(c.a);
            free(c.b);
        }
    }
    if (!any) TB_SKIP("no op of this test selected by -o %s", g_op);
    assert_true(ok);
}

/* ---- softmax ------------------------------------------------------------------------------------ */

typedef struct {
    int64_t rows, cols;
    float *x;
} sm_ctx;

static void sm_run(eng_backend *be, const void *c_, float **outs) {
    const sm_ctx *c = c_;
    bufs b = {be, {0}, 0};
    size_t n = (size_t)(c->rows * c->cols);
    float *x = put(&b, c->x, n), *y = put(&b, NULL, n);
    assert_int_equal(be->k->softmax(be, y, x, c->rows, c->cols), 0);
    get(&b, outs[0], y, n);
    release(&b);
}

static void test_softmax(void **state) {
    (void)state;
    if (!op_selected("softmax")) TB_SKIP("not selected by -o %s", g_op);
    static const int64_t shapes[][2] = {{1, 1}, {3, 7}, {5, 1000}, {2, 4097}};
    int ok = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        sm_ctx c = {shapes[s][0], shapes[s][1], NULL};
        c.x = rnd((size_t)(c.rows * c.cols), -30, 30); /* large logits: max subtraction matters */
        char label[64];
        snprintf(label, sizeof label, "softmax rows=%lld cols=%lld", (long long)c.rows, (long long)c.cols);
        size_t sz = (size_t)(c.rows * c.cols);
        ok &= run_case(label, sm_run, &c, 1, &sz, 1e-10, 1e-6, 1e-4);
        free(c.x);
    }
    assert_true(ok);
}

/* ---- attention ---------------------------------------------------------------------------------- */

typedef struct {
    eng_attn_desc d;
    int fused; /* q, k, v interleaved in one [rows, (H + 2 Hkv) Dh] buffer (a fused QKV GEMM) */
    float *q, *k, *v; /* dense host inputs, or the fused buffer in q */
} at_ctx;

static void at_run(eng_backend *be, const void *c_, float **outs) {
    const at_ctx *c = c_;
    const eng_attn_desc *d = &c->d;
    bufs b = {be, {0}, 0};
    size_t nqr = (size_t)(d->n_batch * d->n_q), nkr = (size_t)(d->n_batch * d->n_kv);
    size_t qdim = (size_t)(d->n_head * d->head_dim), kdim = (size_t)(d->n_head_kv * d->head_dim);
    float *q, *k, *v;
    if (c->fused) {
        q = put(&b, c->q, nqr * (qdim + 2 * kdim));
        k = q + qdim;
        v = q + qdim + kdim;
    } else {
        q = put(&b, c->q, nqr * qdim);
        k = put(&b, c->k, nkr * kdim);
        v = put(&b, c->v, nkr * kdim);
    }
    size_t ldo = (size_t)(d->ld_out ? d->ld_out : d->n_head * d->head_dim);
    size_t nout = nqr * ldo, nprobs = (size_t)(d->n_batch * d->n_head * d->n_q * d->n_kv);
    float *o = put(&b, NULL, nout), *p = put(&b, NULL, nprobs), *r = put(&b, NULL, (size_t)(d->n_batch * d->n_kv));
    /* output padding columns (ld_out > H*Dh) must stay untouched: fill with zeros first */
    float *zeros = calloc(nout ? nout : 1, sizeof *zeros);
    assert_int_equal(be->k->upload(be, o, zeros, nout), 0);
    free(zeros);
    assert_int_equal(be->k->attention(be, o, q, k, v, d, p, r), 0);
    get(&b, outs[0], o, nout);
    get(&b, outs[1], p, nprobs);
    get(&b, outs[2], r, (size_t)(d->n_batch * d->n_kv));
    /* The same call without taps gives the same output. */
    float *o2 = put(&b, NULL, nout);
    zeros = calloc(nout ? nout : 1, sizeof *zeros);
    assert_int_equal(be->k->upload(be, o2, zeros, nout), 0);
    free(zeros);
    assert_int_equal(be->k->attention(be, o2, q, k, v, d, NULL, NULL), 0);
    get(&b, outs[3], o2, nout);
    release(&b);
}

static void test_attention(void **state) {
    (void)state;
    if (!op_selected("attention")) TB_SKIP("not selected by -o %s", g_op);
    /* B, n_q, n_kv, H, Hkv, Dh, causal, fused, ld_out pad */
    static const int64_t cases[][9] = {
        {1, 1, 1, 1, 1, 1, 0, 0, 0},   {2, 7, 7, 4, 4, 12, 0, 0, 0},  {1, 5, 9, 4, 2, 8, 1, 0, 0},
        {1, 1, 13, 6, 2, 72, 1, 0, 0}, {2, 49, 49, 4, 4, 12, 0, 1, 0}, {1, 33, 33, 28, 4, 16, 1, 0, 0},
        {3, 1, 29, 4, 4, 12, 0, 0, 5}, {1, 0, 5, 2, 1, 4, 0, 0, 0},   {1, 20, 20, 2, 2, 72, 1, 1, 0},
    };
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int64_t *cs = cases[s];
        at_ctx c;
        memset(&c, 0, sizeof c);
        c.d.n_batch = cs[0];
        c.d.n_q = cs[1];
        c.d.n_kv = cs[2];
        c.d.n_head = cs[3];
        c.d.n_head_kv = cs[4];
        c.d.head_dim = cs[5];
        c.d.causal = (int)cs[6];
        c.fused = (int)cs[7];
        int64_t qdim = cs[3] * cs[5], kdim = cs[4] * cs[5];
        if (c.fused) {
            /* self-attention layout: n_q == n_kv rows holding q;k;v */
            c.d.ld_q = c.d.ld_k = c.d.ld_v = qdim + 2 * kdim;
            c.q = rnd((size_t)(cs[0] * cs[1] * (qdim + 2 * kdim)), -2, 2);
        } else {
            c.q = rnd((size_t)(cs[0] * cs[1] * qdim), -2, 2);
            c.k = rnd((size_t)(cs[0] * cs[2] * kdim), -2, 2);
            c.v = rnd((size_t)(cs[0] * cs[2] * kdim), -2, 2);
        }
        if (cs[8]) c.d.ld_out = qdim + cs[8];
        int64_t ldo = c.d.ld_out ? c.d.ld_out : qdim;
        size_t sz[4] = {(size_t)(cs[0] * cs[1] * ldo), (size_t)(cs[0] * cs[3] * cs[1] * cs[2]), (size_t)(cs[0] * cs[2]),
                        (size_t)(cs[0] * cs[1] * ldo)};
        char label[128];
        snprintf(label, sizeof label, "attention B=%lld nq=%lld nkv=%lld H=%lld Hkv=%lld Dh=%lld causal=%lld fused=%lld",
                 (long long)cs[0], (long long)cs[1], (long long)cs[2], (long long)cs[3], (long long)cs[4],
                 (long long)cs[5], (long long)cs[6], (long long)cs[7]);
        ok &= run_case(label, at_run, &c, 4, sz, 1e-9, 1e-5, 1e-4);
        free(c.q);
        free(c.k);
        free(c.v);
    }
    assert_true(ok);
}

/* ---- rope, head_mean, pool2d -------------------------------------------------------------------- */

typedef struct {
    int64_t n_tok, n_head, hd, ld;
    int64_t *pos;
    float *x;
} rope_ctx;

static void rope_run(eng_backend *be, const void *c_, float **outs) {
    const rope_ctx *c = c_;
    bufs b = {be, {0}, 0};
    size_t n = (size_t)(c->n_tok * c->ld);
    float *x = put(&b, c->x, n);
    assert_int_equal(be->k->rope(be, x, c->ld, c->n_tok, c->n_head, c->hd, c->pos, 1e6f), 0);
    get(&b, outs[0], x, n);
    release(&b);
}

static void test_rope(void **state) {
    (void)state;
    if (!op_selected("rope")) TB_SKIP("not selected by -o %s", g_op);
    static const int64_t cases[][4] = {{1, 1, 2, 2}, {5, 3, 16, 48}, {7, 2, 128, 300}, {3, 4, 72, 288}};
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        rope_ctx c = {cases[s][0], cases[s][1], cases[s][2], cases[s][3], NULL, NULL};
        c.pos = malloc((size_t)c.n_tok * sizeof *c.pos);
        for (int64_t t = 0; t < c.n_tok; t++) c.pos[t] = t * 997 % 7000; /* up to ~7k, out of order */
        c.x = rnd((size_t)(c.n_tok * c.ld), -1, 1);
        char label[64];
        snprintf(label, sizeof label, "rope n=%lld H=%lld Dh=%lld ld=%lld", (long long)c.n_tok, (long long)c.n_head,
                 (long long)c.hd, (long long)c.ld);
        size_t sz = (size_t)(c.n_tok * c.ld);
        ok &= run_case(label, rope_run, &c, 1, &sz, 1e-10, 2e-6, 1e-5);
        free(c.pos);
        free(c.x);
    }
    assert_true(ok);
}

typedef struct {
    int64_t n, ld, H, Dh;
    float *x;
} hm_ctx;

static void hm_run(eng_backend *be, const void *c_, float **outs) {
    const hm_ctx *c = c_;
    bufs b = {be, {0}, 0};
    float *x = put(&b, c->x, (size_t)(c->n * c->ld)), *y = put(&b, NULL, (size_t)(c->n * c->Dh));
    assert_int_equal(be->k->head_mean(be, y, x, c->ld, c->n, c->H, c->Dh), 0);
    get(&b, outs[0], y, (size_t)(c->n * c->Dh));
    release(&b);
}

typedef struct {
    int64_t n_tok, n_head, hd, ld;
    int64_t *pos; /* [n_sec][n_tok] */
    eng_rope_sec sec;
    float *x;
} rope_sec_ctx;

static void rope_sec_run(eng_backend *be, const void *c_, float **outs) {
    const rope_sec_ctx *c = c_;
    bufs b = {be, {0}, 0};
    size_t n = (size_t)(c->n_tok * c->ld);
    float *x = put(&b, c->x, n);
    assert_int_equal(be->k->rope_sec(be, x, c->ld, c->n_tok, c->n_head, c->hd, c->pos, c->n_tok, &c->sec), 0);
    get(&b, outs[0], x, n);
    release(&b);
}

/* Qwen2.5-VL's M-RoPE (t/h/w sections of the LLM) and 2-D ViT RoPE (restarting sections), real
 * and tiny shapes; one section without restart must equal the plain rope op bit for bit. */
static void test_rope_sec(void **state) {
    (void)state;
    if (!op_selected("rope_sec")) TB_SKIP("not selected by -o %s", g_op);
    static const struct {
        int64_t n_tok, n_head, hd, ld;
        eng_rope_sec sec;
    } cases[] = {
        {9, 4, 128, 4 * 128 + 3, {3, {16, 24, 24, 0}, 0, 128, 1e6f}}, /* LLM M-RoPE (GQA K rows: 4 heads) */
        {6, 16, 80, 3 * 1280, {2, {20, 20, 0, 0}, 1, 40, 1e4f}},      /* ViT: q inside the qkv rows */
        {5, 2, 16, 32, {3, {2, 3, 3, 0}, 0, 16, 1e6f}},               /* tiny LLM */
        {7, 4, 12, 48, {2, {3, 3, 0, 0}, 1, 6, 1e4f}},                /* tiny ViT */
        {1, 1, 8, 8, {3, {0, 4, 0, 0}, 0, 8, 1e4f}},                  /* empty sections */
    };
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        rope_sec_ctx c = {cases[s].n_tok, cases[s].n_head, cases[s].hd, cases[s].ld, NULL, cases[s].sec, NULL};
        c.pos = malloc((size_t)(4 * c.n_tok) * sizeof *c.pos);
        for (int64_t t = 0; t < 4 * c.n_tok; t++) c.pos[t] = t * 613 % 4100;
        c.x = rnd((size_t)(c.n_tok * c.ld), -1, 1);
        char label[96];
        snprintf(label, sizeof label, "rope_sec n=%lld H=%lld Dh=%lld sec=%d restart=%d", (long long)c.n_tok,
                 (long long)c.n_head, (long long)c.hd, c.sec.n_sec, c.sec.restart);
        size_t sz = (size_t)(c.n_tok * c.ld);
        ok &= run_case(label, rope_sec_run, &c, 1, &sz, 1e-10, 2e-6, 1e-5);
        free(c.pos);
        free(c.x);
    }
    /* one section, no restart, freq_dim = Dh: the plain rope, exactly */
    eng_backend be;
    char err[256];
    assert_int_equal(eng_backend_init(&be, ENG_BACKEND_REF, err, sizeof err), 0);
    int64_t pos[5] = {0, 3, 17, 400, 4095};
    float *a = rnd(5 * 2 * 16, -1, 1), *b = malloc(5 * 2 * 16 * sizeof *b);
    memcpy(b, a, 5 * 2 * 16 * sizeof *b);
    eng_rope_sec one = {1, {8, 0, 0, 0}, 0, 16, 1e6f};
    assert_int_equal(be.k->rope(&be, a, 32, 5, 2, 16, pos, 1e6f), 0);
    assert_int_equal(be.k->rope_sec(&be, b, 32, 5, 2, 16, pos, 5, &one), 0);
    assert_memory_equal(a, b, 5 * 2 * 16 * sizeof *a);
    /* hand check: Dh = 4, two restarting sections of one pair, freq index 0 -> inv 1: pair 0
     * turns by the h id, pair 1 by the w id */
    float x[4] = {1, 1, 0, 0};
    int64_t hw[2] = {0, 0}; /* h row then w row, one token */
    hw[0] = 0;
    hw[1] = 1;
    eng_rope_sec two = {2, {1, 1, 0, 0}, 1, 2, 1e4f};
    assert_int_equal(be.k->rope_sec(&be, x, 4, 1, 1, 4, hw, 1, &two), 0);
    assert_float_equal(x[0], 1.0f, 1e-7);             /* angle 0 */
    assert_float_equal(x[2], 0.0f, 1e-7);
    assert_float_equal(x[1], (float)cos(1.0), 1e-6); /* angle 1 */
    assert_float_equal(x[3], (float)sin(1.0), 1e-6);
    eng_rope_sec bad = {2, {1, 2, 0, 0}, 1, 2, 1e4f};
    assert_int_equal(be.k->rope_sec(&be, x, 4, 1, 1, 4, hw, 1, &bad), -1);
    eng_backend_fini(&be);
    free(a);
    free(b);
    assert_true(ok);
}

static void test_head_mean(void **state) {
    (void)state;
    if (!op_selected("head_mean")) TB_SKIP("not selected by -o %s", g_op);
    static const int64_t cases[][4] = {{1, 1, 1, 1}, {49, 144, 4, 12}, {7, 3456, 16, 72}};
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        hm_ctx c = {cases[s][0], cases[s][1], cases[s][2], cases[s][3], NULL};
        c.x = rnd((size_t)(c.n * c.ld), -1, 1);
        char label[64];
        snprintf(label, sizeof label, "head_mean n=%lld H=%lld Dh=%lld", (long long)c.n, (long long)c.H, (long long)c.Dh);
        size_t sz = (size_t)(c.n * c.Dh);
        ok &= run_case(label, hm_run, &c, 1, &sz, 1e-10, 1e-6, 1e-5);
        free(c.x);
    }
    assert_true(ok);
}

typedef struct {
    int64_t B, H, W, C, Ho, Wo;
    eng_pool_mode mode;
    float *x;
} pool_ctx;

static void pool_run(eng_backend *be, const void *c_, float **outs) {
    const pool_ctx *c = c_;
    bufs b = {be, {0}, 0};
    float *x = put(&b, c->x, (size_t)(c->B * c->H * c->W * c->C));
    size_t no = (size_t)(c->B * c->Ho * c->Wo * c->C);
    float *y = put(&b, NULL, no);
    assert_int_equal(be->k->pool2d(be, y, x, c->B, c->H, c->W, c->C, c->mode, c->Ho, c->Wo), 0);
    get(&b, outs[0], y, no);
    release(&b);
}

static void test_pool2d(void **state) {
    (void)state;
    if (!op_selected("pool2d")) TB_SKIP("not selected by -o %s", g_op);
    /* B, H, W, C, Ho, Wo, mode */
    static const int64_t cases[][7] = {{2, 27, 27, 3, 14, 14, 0}, {1, 7, 7, 5, 4, 4, 0}, {1, 1, 1, 2, 1, 1, 0},
                                       {1, 3, 5, 2, 5, 4, 0},     {2, 27, 27, 3, 13, 13, 1}, {1, 7, 7, 1, 3, 3, 1},
                                       {3, 2, 2, 4, 1, 1, 1},     {1, 27, 27, 72, 14, 14, 0}};
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int64_t *cs = cases[s];
        pool_ctx c = {cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6] ? ENG_POOL_AVERAGE : ENG_POOL_BILINEAR, NULL};
        c.x = rnd((size_t)(c.B * c.H * c.W * c.C), -1, 1);
        char label[96];
        snprintf(label, sizeof label, "pool2d %s %lldx%lld->%lldx%lld C=%lld", cs[6] ? "avg" : "bilinear",
                 (long long)c.H, (long long)c.W, (long long)c.Ho, (long long)c.Wo, (long long)c.C);
        size_t sz = (size_t)(c.B * c.Ho * c.Wo * c.C);
        ok &= run_case(label, pool_run, &c, 1, &sz, 1e-12, 1e-6, 1e-6);
        free(c.x);
    }
    assert_true(ok);
}

/* ---- known answers of the reference ------------------------------------------------------------ */

static void test_ref_known_answers(void **state) {
    (void)state;
    eng_backend *be = &g_ref.be;
    /* matmul: [1 2; 3 4] . [[1 0],[1 1],[0 2]]^T + [0.5 0 -1] */
    float x[4] = {1, 2, 3, 4}, w[6] = {1, 0, 1, 1, 0, 2}, b[3] = {0.5f, 0, -1}, y[6];
    assert_int_equal(be->k->matmul(be, y, x, w, b, 2, 2, 3), 0);
    float want[6] = {1.5f, 3, 3, 3.5f, 7, 7};
    for (int i = 0; i < 6; i++) assert_float_equal(y[i], want[i], 1e-6);
    /* activations at 1 and -2 (values from the closed forms) */
    float a[2] = {1.0f, -2.0f}, r[2];
    assert_int_equal(be->k->gelu_erf(be, r, a, 2), 0);
    assert_float_equal(r[0], 0.8413447460685429, 1e-6);
    assert_float_equal(r[1], -0.04550026389635842, 1e-6);
    assert_int_equal(be->k->gelu_tanh(be, r, a, 2), 0);
    assert_float_equal(r[0], 0.8411919906082768, 1e-6);
    assert_float_equal(r[1], -0.04540230591222276, 1e-6);
    assert_int_equal(be->k->silu(be, r, a, 2), 0);
    assert_float_equal(r[0], 0.7310585786300049, 1e-6);
    /* layernorm of [1 2 3 4]: mean 2.5, var 1.25 */
    float ln[4] = {1, 2, 3, 4}, g[4] = {1, 1, 1, 1}, lo[4];
    assert_int_equal(be->k->layernorm(be, lo, ln, g, NULL, 1, 4, 0.0f), 0);
    assert_float_equal(lo[0], -1.5 / sqrt(1.25), 1e-6);
    assert_float_equal(lo[3], 1.5 / sqrt(1.25), 1e-6);
    /* bilinear 27 -> 14: the spec's table (llava-ov-engine.md §1.3) */
    int64_t i0, i1;
    float w0, w1;
    eng_bilinear_index(27, 14, 0, &i0, &i1, &w0, &w1);
    assert_int_equal(i0, 0);
    assert_int_equal(i1, 1);
    assert_float_equal(w1, 0.464286, 1e-5);
    eng_bilinear_index(27, 14, 7, &i0, &i1, &w0, &w1);
    assert_int_equal(i0, 13);
    assert_float_equal(w0, 0.035714, 1e-5);
    eng_bilinear_index(27, 14, 13, &i0, &i1, &w0, &w1);
    assert_int_equal(i0, 25);
    assert_int_equal(i1, 26);
    assert_float_equal(w1, 0.535714, 1e-5);
    /* attention: two keys, equal logits -> probs 1/2, recv 1/2; output = mean of values */
    float q[2] = {0, 0}, k[4] = {1, 0, 0, 1}, v[4] = {2, 4, 6, 8}, o[2], p[2], rv[2];
    eng_attn_desc d = {.n_batch = 1, .n_q = 1, .n_kv = 2, .n_head = 1, .n_head_kv = 1, .head_dim = 2};
    assert_int_equal(be->k->attention(be, o, q, k, v, &d, p, rv), 0);
    assert_float_equal(o[0], 4, 1e-6);
    assert_float_equal(o[1], 6, 1e-6);
    assert_float_equal(p[0], 0.5, 1e-7);
    assert_float_equal(rv[1], 0.5, 1e-7);
    /* causal: the first of two queries sees only key 0 */
    float q2[4] = {0, 0, 0, 0}, o2[4], p2[4];
    d.n_q = 2;
    d.causal = 1;
    assert_int_equal(be->k->attention(be, o2, q2, k, v, &d, p2, NULL), 0);
    assert_float_equal(p2[0], 1, 1e-7);
    assert_float_equal(p2[1], 0, 0);
    assert_float_equal(o2[0], 2, 1e-6);
    /* avg pool 2x2 of 1..4 (C = 1) */
    float px[9] = {1, 2, 9, 3, 4, 9, 9, 9, 9}, py[1];
    assert_int_equal(be->k->pool2d(be, py, px, 1, 3, 3, 1, ENG_POOL_AVERAGE, 1, 1), 0);
    assert_float_equal(py[0], 2.5, 1e-7);
}

/* Bad arguments: clear errors, no crash, on every backend. */
static void test_bad_args(void **state) {
    (void)state;
    eng_backend *all[3] = {&g_ref.be, NULL, NULL};
    for (int i = 0; i < g_n_others; i++) all[1 + i] = &g_others[i].be;
    for (int i = 0; i < 1 + g_n_others; i++) {
        eng_backend *be = all[i];
        float *x = be->k->alloc(be, 64), *y = be->k->alloc(be, 64);
        assert_non_null(x);
        assert_non_null(y);
        eng_attn_desc d = {.n_batch = 1, .n_q = 1, .n_kv = 1, .n_head = 3, .n_head_kv = 2, .head_dim = 4};
        assert_int_equal(be->k->attention(be, y, x, x, x, &d, NULL, NULL), -1); /* 3 % 2 != 0 */
        assert_non_null(strstr(be->err, "attention"));
        assert_int_equal(be->k->pool2d(be, y, x, 1, 4, 4, 1, ENG_POOL_AVERAGE, 3, 3), -1); /* 4/2 != 3 */
        assert_non_null(strstr(be->err, "pool2d"));
        assert_int_equal(be->k->pool2d(be, y, x, 1, 4, 4, 1, ENG_POOL_MAX, 2, 2), -1);
        assert_int_equal(be->k->rope(be, x, 3, 1, 1, 3, (const int64_t[]){0}, 1e4f), -1); /* odd Dh */
        be->k->free(be, x);
        be->k->free(be, y);
        be->k->free(be, NULL);
    }
    char err[128];
    eng_backend bad;
    assert_int_equal(eng_backend_init(&bad, (eng_backend_kind)42, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown backend"));
    eng_backend_fini(&bad);
    eng_backend_kind k;
    assert_int_equal(eng_backend_parse("gpu", &k), -1);
    assert_int_equal(eng_backend_parse("cpu", &k), 0);
    assert_int_equal(k, ENG_BACKEND_CPU);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) g_op = argv[++i];
        else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) g_backend = argv[++i];
        else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) g_perf = strcmp(argv[++i], "perf") == 0;
        else {
            fprintf(stderr, "usage: %s [-o OP] [-b cpu|cuda] [-m test|perf]\n", argv[0]);
            return 2;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_known_answers), cmocka_unit_test(test_matmul),    cmocka_unit_test(test_norms),
        cmocka_unit_test(test_elementwise),       cmocka_unit_test(test_softmax),   cmocka_unit_test(test_attention),
        cmocka_unit_test(test_rope),              cmocka_unit_test(test_rope_sec), cmocka_unit_test(test_head_mean), cmocka_unit_test(test_pool2d),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
