/* test_ops.c - every op of the engine's op table, on every backend and numerics regime, against
 * the reference table in the same regime (kernels_ref.c: in fp16 / bf16 it holds activations as
 * 16-bit values exactly as the GPU does, so the comparison measures the kernels, not the regime),
 * in the style of llama.cpp's test-backend-ops: op x shape cases including awkward sizes (1,
 * primes, 0 rows, head_dim 72, strided rows, GQA, causal with a KV offset), judged by NMSE and a
 * per-element atol + rtol*|ref| bound widened by the regime's unit roundoff, printing the first
 * mismatches. Also known-answer checks of the reference itself (hand-computed values, the bilinear
 * 27->14 table of the spec), exactness of stored-dtype weights on the host tables, activation
 * round trips, ticks, and bad arguments.
 *
 * Each op test runs once per target: cpu (fp32), cuda-fp32, cuda-fp16, cuda-bf16. A target that
 * cannot run here (no CUDA build, no device) makes its tests counted, named skips
 * ("TB-SKIP: matmul[cuda-fp16]: ..."): where a GPU is present every CUDA op is checked.
 *
 * Usage: test_ops [-o OP] [-b BACKEND] [-m test|perf]
 *   -o OP       only cases of this op (matmul, linear, layernorm, ..., pool2d)
 *   -b BACKEND  only targets of this backend (cpu, cuda)
 *   -m perf     also print the time of each case per target */
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

#include "common/clock.h"
#include "engine/kernels.h"
#include "engine/safetensors.h" /* st_f32_to_bf16 / st_f32_to_f16 and back: the test's own rounding */

static const char *g_op = NULL;      /* -o filter */
static const char *g_backend = NULL; /* -b filter */
static int g_perf = 0;

/* ---- targets ------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    eng_backend_kind kind;
    eng_compute_dtype dtype;
    eng_backend be;  /* under test */
    eng_backend ref; /* the ref table in the same numerics: the oracle */
    int ok;
    char why[320];
} target;

static target g_targets[] = {
    {"cpu", ENG_BACKEND_CPU, ENG_COMPUTE_FP32},
    {"cuda-fp32", ENG_BACKEND_CUDA, ENG_COMPUTE_FP32},
    {"cuda-fp16", ENG_BACKEND_CUDA, ENG_COMPUTE_FP16},
    {"cuda-bf16", ENG_BACKEND_CUDA, ENG_COMPUTE_BF16},
};
#define N_TARGETS ((int)(sizeof g_targets / sizeof g_targets[0]))
static eng_backend g_ref32; /* ref fp32: known answers, exactness */

/* Unit roundoff of a regime's activation type: what one rounding of an output may cost. */
static double unit(eng_compute_dtype d) {
    return d == ENG_COMPUTE_FP16 ? 1.0 / 2048 : d == ENG_COMPUTE_BF16 ? 1.0 / 256 : 0.0;
}

/* A test of one op on one target (the state cmocka passes). */
typedef struct {
    char name[64]; /* "matmul[cuda-fp16]" */
    target *t;
} op_case;

static int group_setup(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(eng_backend_init(&g_ref32, ENG_BACKEND_REF, err, sizeof err), 0);
    for (int i = 0; i < N_TARGETS; i++) {
        target *t = &g_targets[i];
        if (g_backend && strcmp(g_backend, eng_backend_name(t->kind)) != 0) {
            snprintf(t->why, sizeof t->why, "not selected by -b %s", g_backend);
            continue;
        }
        if (eng_backend_init_dtype(&t->be, t->kind, t->dtype, err, sizeof err) != 0) {
            snprintf(t->why, sizeof t->why, "%s", err);
            continue;
        }
        assert_int_equal(eng_backend_init_dtype(&t->ref, ENG_BACKEND_REF, t->dtype, err, sizeof err), 0);
        t->ok = 1;
        if (t->be.k->describe) printf("target %s: %s\n", t->name, t->be.k->describe(&t->be));
    }
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    eng_backend_fini(&g_ref32);
    for (int i = 0; i < N_TARGETS; i++) {
        eng_backend_fini(&g_targets[i].be);
        eng_backend_fini(&g_targets[i].ref);
    }
    return 0;
}

/* The target of a test, or a counted skip naming it and why (also when -o leaves the op out). */
#define TARGET(state, op)                                                                                          \
    op_case *oc_ = (op_case *)*(state);                                                                            \
    target *t = oc_->t;                                                                                            \
    do {                                                                                                           \
        if (!op_selected(op)) {                                                                                    \
            tb_test_skip_note(oc_->name, "not selected by -o %s", g_op);                                           \
            skip();                                                                                                \
        }                                                                                                          \
        if (!t->ok) {                                                                                              \
            tb_test_skip_note(oc_->name, "%s", t->why);                                                            \
            skip();                                                                                                \
        }                                                                                                          \
    } while (0)

static int op_selected(const char *op) {
    return !g_op || strcmp(g_op, op) == 0 || (op[0] == '*' && strstr(op + 1, g_op));
}

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

/* NMSE + per-element check of got against want, the bounds widened by u (the regime's unit
 * roundoff): atol + 2u rms(want) + (rtol + 2u)|want| per element, nmse + 4u^2 overall. */
static int compare(const char *what, const char *target_name, const float *got, const float *want, size_t n,
                   double nmse_max, double atol, double rtol, double u) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) den += (double)want[i] * (double)want[i];
    double rms = n ? sqrt(den / (double)n) : 0.0;
    atol += 2 * u * rms;
    rtol += 2 * u;
    nmse_max += 4 * u * u;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        num += d * d;
        if (!(fabs(d) <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 5)
                printf("  MISMATCH %s [%s] at %zu: got %.9g want %.9g (diff %.3g)\n", what, target_name, i, got[i],
                       want[i], d);
            bad++;
        }
    }
    double nmse = den > 0 ? num / den : num;
    if (!(nmse <= nmse_max)) {
        printf("  NMSE %s [%s] = %.3g > %.3g\n", what, target_name, nmse, nmse_max);
        bad++;
    }
    if (bad) printf("FAIL %s [%s]: %d problems over %zu values\n", what, target_name, bad, n);
    return bad == 0;
}

/* Backend copies of host arrays, released together: float32 buffers and activations. */
typedef struct {
    eng_backend *be;
    float *p[16];
    eng_act *a[16];
    int n, na;
} bufs;
static float *put(bufs *b, const float *host, size_t n) {
    float *d = b->be->k->alloc(b->be, n);
    assert_non_null(d);
    if (host) assert_int_equal(b->be->k->upload(b->be, d, host, n), 0);
    b->p[b->n++] = d;
    return d;
}
static eng_act *put_act(bufs *b, const float *host, size_t n) {
    eng_act *d = b->be->k->act_alloc(b->be, n);
    assert_non_null(d);
    if (host) assert_int_equal(b->be->k->act_upload(b->be, d, host, n), 0);
    b->a[b->na++] = d;
    return d;
}
/* An activation buffer of n elements filled with zeros (outputs whose padding must stay 0). */
static eng_act *put_act_zero(bufs *b, size_t n) {
    float *z = calloc(n ? n : 1, sizeof *z);
    assert_non_null(z);
    eng_act *d = put_act(b, z, n);
    free(z);
    return d;
}
static void get(bufs *b, float *host, const float *d, size_t n) {
    assert_int_equal(b->be->k->download(b->be, host, d, n), 0);
}
static void get_act(bufs *b, float *host, const eng_act *d, size_t n) {
    assert_int_equal(b->be->k->act_download(b->be, host, d, n), 0);
}
static void release(bufs *b) {
    for (int i = 0; i < b->n; i++) b->be->k->free(b->be, b->p[i]);
    for (int i = 0; i < b->na; i++) b->be->k->act_free(b->be, b->a[i]);
    b->n = b->na = 0;
}

/* Runs fn(be, ctx, outs) on the target's oracle and on the target, compares every output. fn
 * writes n_out arrays of sizes sz[] into outs[i]. */
typedef void (*case_fn)(eng_backend *be, const void *ctx, float **outs);

static int run_case(target *t, const char *label, case_fn fn, const void *ctx, int n_out, const size_t *sz,
                    double nmse, double atol, double rtol) {
    float *want[4], *got[4];
    int ok = 1;
    for (int i = 0; i < n_out; i++) {
        want[i] = calloc(sz[i] ? sz[i] : 1, sizeof(float));
        got[i] = malloc((sz[i] ? sz[i] : 1) * sizeof(float));
        for (size_t j = 0; j < sz[i]; j++) got[i][j] = NAN; /* unwritten output shows up */
    }
    fn(&t->ref, ctx, want);
    double t0 = tb_now_s();
    fn(&t->be, ctx, got);
    double dt = tb_now_s() - t0;
    if (g_perf) printf("  perf %-50s %-9s %9.3f ms\n", label, t->name, dt * 1e3);
    for (int i = 0; i < n_out; i++) {
        char what[200];
        snprintf(what, sizeof what, "%s out%d", label, i);
        ok &= compare(what, t->name, got[i], want[i], sz[i], nmse, atol, rtol, unit(t->dtype));
        free(got[i]);
        free(want[i]);
    }
    return ok;
}

/* ---- matmul (float32 buffers) ------------------------------------------------------------------ */

typedef struct {
    int64_t n, k, m;
    int bias;
    float *x, *w, *b;
} mm_ctx;

static void mm_run(eng_backend *be, const void *c_, float **outs) {
    const mm_ctx *c = c_;
    bufs b = {be};
    float *x = put(&b, c->x, (size_t)(c->n * c->k)), *w = put(&b, c->w, (size_t)(c->m * c->k));
    float *bb = c->bias ? put(&b, c->b, (size_t)c->m) : NULL, *y = put(&b, NULL, (size_t)(c->n * c->m));
    assert_int_equal(be->k->matmul(be, y, x, w, bb, c->n, c->k, c->m), 0);
    get(&b, outs[0], y, (size_t)(c->n * c->m));
    release(&b);
}

static void test_matmul(void **state) {
    TARGET(state, "matmul");
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
            /* float32 buffers in every regime: fp32 bounds */
            target t32 = *t;
            t32.dtype = ENG_COMPUTE_FP32;
            ok &= run_case(&t32, label, mm_run, &c, 1, &sz, 1e-7, 1e-4, 1e-4);
            free(c.x);
            free(c.w);
            free(c.b);
        }
    assert_true(ok);
}

/* ---- linear and linear_add (weights in their stored dtype) -------------------------------------- */

typedef struct {
    int64_t n, k, m;
    int bias, add;
    eng_dtype dt;
    float *x, *b, *y0;
    const void *w; /* [m, k] of dt */
} lin_ctx;

static void lin_run(eng_backend *be, const void *c_, float **outs) {
    const lin_ctx *c = c_;
    bufs b = {be};
    eng_act *x = put_act(&b, c->x, (size_t)(c->n * c->k));
    float *bb = c->bias ? put(&b, c->b, (size_t)c->m) : NULL;
    eng_act *y = put_act(&b, c->add ? c->y0 : NULL, (size_t)(c->n * c->m));
    eng_wdesc d = {c->dt, c->m, c->k, c->w, NULL};
    eng_weight w;
    assert_int_equal(be->k->weight_init(be, &w, &d), 0);
    if (c->add)
        assert_int_equal(be->k->linear_add(be, y, x, &w, bb, c->n), 0);
    else
        assert_int_equal(be->k->linear(be, y, x, &w, bb, c->n), 0);
    be->k->weight_free(be, &w);
    assert_null(w.data);
    get_act(&b, outs[0], y, (size_t)(c->n * c->m));
    release(&b);
}

/* The weights as dt (bits in wq) and as the float32 values they hold (wf). */
static void quantise(eng_dtype dt, const float *src, size_t n, uint16_t *wq, float *wf) {
    for (size_t i = 0; i < n; i++) {
        if (dt == ENG_DT_BF16) {
            wq[i] = st_f32_to_bf16(src[i]);
            wf[i] = st_bf16_to_f32(wq[i]);
        } else if (dt == ENG_DT_F16) {
            wq[i] = st_f32_to_f16(src[i]);
            wf[i] = st_f16_to_f32(wq[i]);
        } else {
            wf[i] = src[i];
        }
    }
}

static void test_linear(void **state) {
    TARGET(state, "linear");
    /* n crosses ENG_LINEAR_SMALL_N; k = 140001 makes the cpu panels (16 Mi floats / k = 119 rows,
     * 64 after rounding) several per matrix, with a short last one; odd k and m test unaligned
     * device rows; {64, 1152, 576} is a SigLIP-sized tile */
    static const int64_t shapes[][3] = {{1, 1, 1},  {1, 7, 5},     {3, 13, 17},  {8, 72, 33},   {9, 72, 33},
                                        {17, 64, 33}, {65, 129, 131}, {0, 5, 3},  {4, 0, 3},     {12, 140001, 130},
                                        {1, 140001, 40}, {64, 1152, 576}};
    const eng_dtype dts[3] = {ENG_DT_F32, ENG_DT_BF16, ENG_DT_F16};
    int ok = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int dt = 0; dt < 3; dt++)
            for (int v = 0; v < 3; v++) { /* 0: no bias, 1: bias, 2: linear_add with bias */
                lin_ctx c = {shapes[s][0], shapes[s][1], shapes[s][2], v > 0, v == 2, dts[dt], NULL, NULL, NULL, NULL};
                size_t nw = (size_t)(c.m * c.k), ny = (size_t)(c.n * c.m);
                c.x = rnd((size_t)(c.n * c.k), -1, 1);
                c.b = rnd((size_t)c.m, -1, 1);
                c.y0 = rnd(ny, -4, 4);
                float *w0 = rnd(nw, -1, 1), *wf = malloc((nw ? nw : 1) * sizeof *wf);
                uint16_t *wq = malloc((nw ? nw : 1) * sizeof *wq);
                assert_non_null(wf);
                assert_non_null(wq);
                quantise(c.dt, w0, nw, wq, wf);
                c.w = c.dt == ENG_DT_F32 ? (const void *)wf : (const void *)wq;
                char label[128];
                snprintf(label, sizeof label, "%s %s n=%lld k=%lld m=%lld bias=%d", c.add ? "linear_add" : "linear",
                         c.dt == ENG_DT_F32 ? "f32" : c.dt == ENG_DT_BF16 ? "bf16" : "f16", (long long)c.n,
                         (long long)c.k, (long long)c.m, c.bias);
                /* float sums of k > 16384 terms of +-0.3 that cancel to ~0.03: allow the rounding of
                 * the longest sums (the bit-identity checks below are the exact ones) */
                double big = c.k > 16384 ? 10.0 : 1.0;
                ok &= run_case(t, label, lin_run, &c, 1, &ny, 1e-7 * big, 1e-4 * big, 1e-4);
                /* Exactness on the host tables in fp32: the 16-bit weights give what their float32
                 * values give, bit for bit: ref linear vs ref matmul always; cpu linear vs cpu
                 * linear of F32 weights on the panel path (same sgemm order per output element). */
                if (t->kind == ENG_BACKEND_CPU && !c.add && c.dt != ENG_DT_F32 && ny > 0) {
                    lin_ctx cf = c;
                    cf.dt = ENG_DT_F32;
                    cf.w = wf;
                    float *a = malloc(ny * sizeof *a), *r = malloc(ny * sizeof *r);
                    assert_non_null(a);
                    assert_non_null(r);
                    mm_ctx mc = {c.n, c.k, c.m, c.bias, c.x, wf, c.b};
                    lin_run(&g_ref32, &c, &a);
                    mm_run(&g_ref32, &mc, &r);
                    if (memcmp(a, r, ny * sizeof *a) != 0) {
                        printf("FAIL %s [ref]: not bit-identical to the float32 weights\n", label);
                        ok = 0;
                    }
                    if (c.n > ENG_LINEAR_SMALL_N) {
                        lin_run(&t->be, &c, &a);
                        lin_run(&t->be, &cf, &r);
                        if (memcmp(a, r, ny * sizeof *a) != 0) {
                            printf("FAIL %s [cpu]: not bit-identical to the float32 weights\n", label);
                            ok = 0;
                        }
                    }
                    free(a);
                    free(r);
                }
                free(c.x);
                free(c.b);
                free(c.y0);
                free(w0);
                free(wf);
                free(wq);
            }
    assert_true(ok);
}

/* A weight the regime cannot hold is refused at load, naming the problem. */
static void test_weight_range(void **state) {
    TARGET(state, "linear");
    float big[4] = {1.0f, -2.0f, 1e6f, 3.0f}; /* 1e6 > 65504: beyond fp16 */
    eng_wdesc d = {ENG_DT_F32, 2, 2, big, NULL};
    eng_weight w;
    int rc = t->be.k->weight_init(&t->be, &w, &d);
    if (t->dtype == ENG_COMPUTE_FP16) {
        assert_int_equal(rc, -1);
        assert_non_null(strstr(t->be.err, "fp16"));
        /* the oracle refuses it the same way */
        assert_int_equal(t->ref.k->weight_init(&t->ref, &w, &d), -1);
    } else {
        assert_int_equal(rc, 0);
        t->be.k->weight_free(&t->be, &w);
    }
}

/* ---- norms -------------------------------------------------------------------------------------- */

typedef struct {
    int64_t n, d;
    int rms, bias;
    float *x, *g, *b;
} norm_ctx;

static void norm_run(eng_backend *be, const void *c_, float **outs) {
    const norm_ctx *c = c_;
    bufs b = {be};
    size_t nd = (size_t)(c->n * c->d);
    eng_act *x = put_act(&b, c->x, nd), *y = put_act(&b, NULL, nd);
    float *g = put(&b, c->g, (size_t)c->d), *bb = put(&b, c->b, (size_t)c->d);
    if (c->rms)
        assert_int_equal(be->k->rmsnorm(be, y, x, g, c->n, c->d, 1e-6f), 0);
    else
        assert_int_equal(be->k->layernorm(be, y, x, g, c->bias ? bb : NULL, c->n, c->d, 1e-6f), 0);
    get_act(&b, outs[0], y, nd);
    /* in place */
    if (c->rms)
        assert_int_equal(be->k->rmsnorm(be, x, x, g, c->n, c->d, 1e-6f), 0);
    else
        assert_int_equal(be->k->layernorm(be, x, x, g, c->bias ? bb : NULL, c->n, c->d, 1e-6f), 0);
    get_act(&b, outs[1], x, nd);
    release(&b);
}

static void test_norms(void **state) {
    TARGET(state, "*layernorm rmsnorm");
    int ok = 1;
    static const int64_t shapes[][2] = {{1, 1}, {3, 7}, {5, 33}, {17, 1152}, {2, 3584}, {3, 4097}};
    for (int rms = 0; rms < 2; rms++) {
        if (g_op && strcmp(g_op, rms ? "rmsnorm" : "layernorm") != 0) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int bias = 0; bias < 2 - rms; bias++) {
                norm_ctx c = {shapes[s][0], shapes[s][1], rms, bias, NULL, NULL, NULL};
                c.x = rnd((size_t)(c.n * c.d), -3, 5); /* non-zero mean */
                c.g = rnd((size_t)c.d, 0.5f, 1.5f);
                c.b = rnd((size_t)c.d, -1, 1);
                char label[96];
                snprintf(label, sizeof label, "%s n=%lld d=%lld bias=%d", rms ? "rmsnorm" : "layernorm", (long long)c.n,
                         (long long)c.d, bias);
                size_t sz[2] = {(size_t)(c.n * c.d), (size_t)(c.n * c.d)};
                /* d = 1 layernorm: x - mean = 0 exactly, output = bias */
                ok &= run_case(t, label, norm_run, &c, 2, sz, 1e-7, 1e-4, 1e-4);
                free(c.x);
                free(c.g);
                free(c.b);
            }
    }
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
    bufs b = {be};
    eng_act *a = put_act(&b, c->a, c->n), *bb = put_act(&b, c->b, c->n), *y = put_act(&b, NULL, c->n);
    float *bf = put(&b, c->b, (size_t)c->cols);
    int rc = -1;
    switch (c->which) {
    case 0: rc = be->k->gelu_tanh(be, y, a, c->n); break;
    case 1: rc = be->k->gelu_erf(be, y, a, c->n); break;
    case 2: rc = be->k->silu(be, y, a, c->n); break;
    case 3: rc = be->k->swiglu(be, y, a, bb, c->n); break;
    case 4: rc = be->k->add(be, y, a, bb, c->n); break;
    case 5: rc = be->k->add_bcast(be, y, a, bf, c->rows, c->cols); break;
    }
    assert_int_equal(rc, 0);
    get_act(&b, outs[0], y, c->n);
    /* in place (y == x) gives the same */
    if (c->which < 3) {
        rc = c->which == 0 ? be->k->gelu_tanh(be, a, a, c->n) : c->which == 1 ? be->k->gelu_erf(be, a, a, c->n)
                                                                              : be->k->silu(be, a, a, c->n);
        assert_int_equal(rc, 0);
        float *again = malloc((c->n ? c->n : 1) * sizeof *again);
        get_act(&b, again, a, c->n);
        for (size_t i = 0; i < c->n; i++) assert_true(again[i] == outs[0][i]);
        free(again);
    }
    release(&b);
}

static void test_elementwise(void **state) {
    TARGET(state, "*gelu_tanh gelu_erf silu swiglu add add_bcast");
    int ok = 1;
    static const size_t sizes[] = {1, 7, 1000, 4097, 65537};
    for (int w = 0; w < 6; w++) {
        if (g_op && strcmp(g_op, ew_names[w]) != 0) continue;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            ew_ctx c = {w, sizes[s], 1, (int64_t)sizes[s], NULL, NULL};
            if (w == 5 && sizes[s] % 7 == 0) c.rows = 7, c.cols = (int64_t)sizes[s] / 7;
            c.a = rnd(c.n, -8, 8);
            c.b = rnd(c.n, -2, 2);
            char label[64];
            snprintf(label, sizeof label, "%s n=%zu", ew_names[w], c.n);
            ok &= run_case(t, label, ew_run, &c, 1, &c.n, 1e-10, 1e-6, 1e-5);
            free(c.a);
            free(c.b);
        }
    }
    assert_true(ok);
}

/* ---- softmax ------------------------------------------------------------------------------------ */

typedef struct {
    int64_t rows, cols;
    float *x;
} sm_ctx;

static void sm_run(eng_backend *be, const void *c_, float **outs) {
    const sm_ctx *c = c_;
    bufs b = {be};
    size_t n = (size_t)(c->rows * c->cols);
    eng_act *x = put_act(&b, c->x, n), *y = put_act(&b, NULL, n);
    assert_int_equal(be->k->softmax(be, y, x, c->rows, c->cols), 0);
    get_act(&b, outs[0], y, n);
    release(&b);
}

static void test_softmax(void **state) {
    TARGET(state, "softmax");
    static const int64_t shapes[][2] = {{1, 1}, {3, 7}, {5, 1000}, {2, 4097}};
    int ok = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        sm_ctx c = {shapes[s][0], shapes[s][1], NULL};
        c.x = rnd((size_t)(c.rows * c.cols), -30, 30); /* large logits: max subtraction matters */
        char label[64];
        snprintf(label, sizeof label, "softmax rows=%lld cols=%lld", (long long)c.rows, (long long)c.cols);
        size_t sz = (size_t)(c.rows * c.cols);
        ok &= run_case(t, label, sm_run, &c, 1, &sz, 1e-10, 1e-6, 1e-4);
        free(c.x);
    }
    assert_true(ok);
}

/* ---- attention ---------------------------------------------------------------------------------- */

typedef struct {
    eng_attn_desc d;
    int fused;        /* q, k, v interleaved in one [rows, (H + 2 Hkv) Dh] buffer (a fused QKV GEMM) */
    int taps;         /* 1: probs and recv; 2: recv only (the fused kernel's tap); 0: none */
    float *q, *k, *v; /* dense host inputs, or the fused buffer in q */
} at_ctx;

static void at_run(eng_backend *be, const void *c_, float **outs) {
    const at_ctx *c = c_;
    const eng_attn_desc *d = &c->d;
    bufs b = {be};
    size_t nqr = (size_t)(d->n_batch * d->n_q), nkr = (size_t)(d->n_batch * d->n_kv);
    size_t qdim = (size_t)(d->n_head * d->head_dim), kdim = (size_t)(d->n_head_kv * d->head_dim);
    const eng_act *q, *k, *v;
    if (c->fused) {
        eng_act *all = put_act(&b, c->q, nqr * (qdim + 2 * kdim));
        q = all;
        k = eng_act_at(be, all, (int64_t)qdim);
        v = eng_act_at(be, all, (int64_t)(qdim + kdim));
    } else {
        q = put_act(&b, c->q, nqr * qdim);
        k = put_act(&b, c->k, nkr * kdim);
        v = put_act(&b, c->v, nkr * kdim);
    }
    size_t ldo = (size_t)(d->ld_out ? d->ld_out : d->n_head * d->head_dim);
    size_t nout = nqr * ldo, nprobs = (size_t)(d->n_batch * d->n_head * d->n_q * d->n_kv);
    /* output padding columns (ld_out > H*Dh) must stay untouched: zeros first */
    eng_act *o = put_act_zero(&b, nout);
    float *p = c->taps == 1 ? put(&b, NULL, nprobs) : NULL;
    float *r = c->taps ? put(&b, NULL, (size_t)(d->n_batch * d->n_kv)) : NULL;
    assert_int_equal(be->k->attention(be, o, q, k, v, d, p, r), 0);
    get_act(&b, outs[0], o, nout);
    if (p) get(&b, outs[1], p, nprobs);
    if (r) get(&b, outs[c->taps == 1 ? 2 : 1], r, (size_t)(d->n_batch * d->n_kv));
    release(&b);
}

static void test_attention(void **state) {
    TARGET(state, "attention");
    /* B, n_q, n_kv, H, Hkv, Dh, causal, fused, ld_out pad */
    static const int64_t cases[][9] = {
        {1, 1, 1, 1, 1, 1, 0, 0, 0},      {2, 7, 7, 4, 4, 12, 0, 0, 0},    {1, 5, 9, 4, 2, 8, 1, 0, 0},
        {1, 1, 13, 6, 2, 72, 1, 0, 0},    {2, 49, 49, 4, 4, 12, 0, 1, 0},  {1, 33, 33, 28, 4, 16, 1, 0, 0},
        {3, 1, 29, 4, 4, 12, 0, 0, 5},    {1, 0, 5, 2, 1, 4, 0, 0, 0},     {1, 20, 20, 2, 2, 72, 1, 1, 0},
        /* the shapes the fused kernel takes: SigLIP (72, fused qkv layout), LLM (128, GQA 7:1,
         * causal with a KV offset), partial tiles, 16 rows, head dim 64 */
        {2, 100, 100, 4, 4, 72, 0, 1, 0}, {1, 77, 130, 28, 4, 128, 1, 0, 0}, {1, 16, 16, 2, 1, 64, 1, 0, 0},
        {1, 200, 200, 7, 1, 128, 1, 0, 0}, {1, 129, 63, 3, 1, 64, 0, 0, 0},
    };
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++)
        for (int taps = 0; taps < 3; taps++) {
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
            c.taps = taps;
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
            size_t sz[3] = {(size_t)(cs[0] * cs[1] * ldo), 0, 0};
            int n_out = 1;
            if (taps == 1) sz[n_out++] = (size_t)(cs[0] * cs[3] * cs[1] * cs[2]);
            if (taps) sz[n_out++] = (size_t)(cs[0] * cs[2]);
            char label[160];
            snprintf(label, sizeof label,
                     "attention B=%lld nq=%lld nkv=%lld H=%lld Hkv=%lld Dh=%lld causal=%lld fused=%lld taps=%d",
                     (long long)cs[0], (long long)cs[1], (long long)cs[2], (long long)cs[3], (long long)cs[4],
                     (long long)cs[5], (long long)cs[6], (long long)cs[7], taps);
            /* inside the GPU kernels the probabilities meet the values in the activation type: a
             * few units of roundoff more than one output rounding */
            ok &= run_case(t, label, at_run, &c, n_out, sz, 1e-9, 1e-5, 1e-4 + 4 * unit(t->dtype));
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
    bufs b = {be};
    size_t n = (size_t)(c->n_tok * c->ld);
    eng_act *x = put_act(&b, c->x, n);
    assert_int_equal(be->k->rope(be, x, c->ld, c->n_tok, c->n_head, c->hd, c->pos, 1e6f), 0);
    get_act(&b, outs[0], x, n);
    release(&b);
}

static void test_rope(void **state) {
    TARGET(state, "rope");
    static const int64_t cases[][4] = {{1, 1, 2, 2}, {5, 3, 16, 48}, {7, 2, 128, 300}, {3, 4, 72, 288}, {33, 28, 128, 3584}};
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        rope_ctx c = {cases[s][0], cases[s][1], cases[s][2], cases[s][3], NULL, NULL};
        c.pos = malloc((size_t)c.n_tok * sizeof *c.pos);
        for (int64_t i = 0; i < c.n_tok; i++) c.pos[i] = i * 997 % 7000; /* up to ~7k, out of order */
        c.x = rnd((size_t)(c.n_tok * c.ld), -1, 1);
        char label[64];
        snprintf(label, sizeof label, "rope n=%lld H=%lld Dh=%lld ld=%lld", (long long)c.n_tok, (long long)c.n_head,
                 (long long)c.hd, (long long)c.ld);
        size_t sz = (size_t)(c.n_tok * c.ld);
        ok &= run_case(t, label, rope_run, &c, 1, &sz, 1e-10, 2e-6, 1e-5);
        free(c.pos);
        free(c.x);
    }
    assert_true(ok);
}

typedef struct {
    int64_t n_tok, n_head, hd, ld;
    int64_t *pos; /* [n_sec][n_tok] */
    eng_rope_sec sec;
    float *x;
} rope_sec_ctx;

static void rope_sec_run(eng_backend *be, const void *c_, float **outs) {
    const rope_sec_ctx *c = c_;
    bufs b = {be};
    size_t n = (size_t)(c->n_tok * c->ld);
    eng_act *x = put_act(&b, c->x, n);
    assert_int_equal(be->k->rope_sec(be, x, c->ld, c->n_tok, c->n_head, c->hd, c->pos, c->n_tok, &c->sec), 0);
    get_act(&b, outs[0], x, n);
    release(&b);
}

/* Qwen2.5-VL's M-RoPE (t/h/w sections of the LLM) and 2-D ViT RoPE (restarting sections), real
 * and tiny shapes; on the ref fp32 table, one section without restart equals the plain rope op
 * bit for bit, and a hand-checked case. */
static void test_rope_sec(void **state) {
    TARGET(state, "rope_sec");
    static const struct {
        int64_t n_tok, n_head, hd, ld;
        eng_rope_sec sec;
    } cases[] = {
        {9, 4, 128, 4 * 128 + 3, {3, {16, 24, 24, 0}, 0, 128, 1e6f}}, /* LLM M-RoPE (GQA K rows: 4 heads) */
        {6, 16, 80, 3 * 1280, {2, {20, 20, 0, 0}, 1, 40, 1e4f}},      /* ViT: q inside the qkv rows */
        {5, 2, 16, 32, {3, {2, 3, 3, 0}, 0, 16, 1e6f}},               /* tiny LLM */
        {7, 4, 12, 48, {2, {3, 3, 0, 0}, 1, 6, 1e4f}},                /* tiny ViT */
        {1, 1, 8, 8, {3, {0, 4, 0, 0}, 0, 8, 1e4f}},                  /* empty sections */
        {33, 28, 128, 3584, {3, {16, 24, 24, 0}, 0, 128, 1e6f}},      /* 7B LLM rows */
    };
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        rope_sec_ctx c = {cases[s].n_tok, cases[s].n_head, cases[s].hd, cases[s].ld, NULL, cases[s].sec, NULL};
        c.pos = malloc((size_t)(4 * c.n_tok) * sizeof *c.pos);
        assert_non_null(c.pos);
        for (int64_t i = 0; i < 4 * c.n_tok; i++) c.pos[i] = i * 613 % 4100;
        c.x = rnd((size_t)(c.n_tok * c.ld), -1, 1);
        char label[96];
        snprintf(label, sizeof label, "rope_sec n=%lld H=%lld Dh=%lld sec=%d restart=%d", (long long)c.n_tok,
                 (long long)c.n_head, (long long)c.hd, c.sec.n_sec, c.sec.restart);
        size_t sz = (size_t)(c.n_tok * c.ld);
        ok &= run_case(t, label, rope_sec_run, &c, 1, &sz, 1e-10, 2e-6, 1e-5);
        free(c.pos);
        free(c.x);
    }
    if (t->kind == ENG_BACKEND_CPU && t->dtype == ENG_COMPUTE_FP32) { /* once: the ref table's own checks */
        eng_backend *be = &g_ref32;
        int64_t pos[5] = {0, 3, 17, 400, 4095};
        float *a = rnd(5 * 2 * 16, -1, 1), *b = malloc(5 * 2 * 16 * sizeof *b);
        assert_non_null(b);
        memcpy(b, a, 5 * 2 * 16 * sizeof *b);
        eng_rope_sec one = {1, {8, 0, 0, 0}, 0, 16, 1e6f};
        assert_int_equal(be->k->rope(be, (eng_act *)(void *)a, 32, 5, 2, 16, pos, 1e6f), 0);
        assert_int_equal(be->k->rope_sec(be, (eng_act *)(void *)b, 32, 5, 2, 16, pos, 5, &one), 0);
        assert_memory_equal(a, b, 5 * 2 * 16 * sizeof *a);
        /* hand check: Dh = 4, two restarting sections of one pair, freq index 0 -> inv 1: pair 0
         * turns by the h id (0), pair 1 by the w id (1) */
        float x[4] = {1, 1, 0, 0};
        int64_t hw[2] = {0, 1}; /* h row then w row, one token */
        eng_rope_sec two = {2, {1, 1, 0, 0}, 1, 2, 1e4f};
        assert_int_equal(be->k->rope_sec(be, (eng_act *)(void *)x, 4, 1, 1, 4, hw, 1, &two), 0);
        assert_float_equal(x[0], 1.0f, 1e-7); /* angle 0 */
        assert_float_equal(x[2], 0.0f, 1e-7);
        assert_float_equal(x[1], (float)cos(1.0), 1e-6); /* angle 1 */
        assert_float_equal(x[3], (float)sin(1.0), 1e-6);
        eng_rope_sec bad = {2, {1, 2, 0, 0}, 1, 2, 1e4f};
        assert_int_equal(be->k->rope_sec(be, (eng_act *)(void *)x, 4, 1, 1, 4, hw, 1, &bad), -1);
        free(a);
        free(b);
    }
    assert_true(ok);
}

typedef struct {
    int64_t n, ld, H, Dh;
    float *x;
} hm_ctx;

static void hm_run(eng_backend *be, const void *c_, float **outs) {
    const hm_ctx *c = c_;
    bufs b = {be};
    eng_act *x = put_act(&b, c->x, (size_t)(c->n * c->ld));
    float *y = put(&b, NULL, (size_t)(c->n * c->Dh));
    assert_int_equal(be->k->head_mean(be, y, x, c->ld, c->n, c->H, c->Dh), 0);
    get(&b, outs[0], y, (size_t)(c->n * c->Dh));
    release(&b);
}

static void test_head_mean(void **state) {
    TARGET(state, "head_mean");
    static const int64_t cases[][4] = {{1, 1, 1, 1}, {49, 144, 4, 12}, {7, 3456, 16, 72}};
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        hm_ctx c = {cases[s][0], cases[s][1], cases[s][2], cases[s][3], NULL};
        c.x = rnd((size_t)(c.n * c.ld), -1, 1);
        char label[64];
        snprintf(label, sizeof label, "head_mean n=%lld H=%lld Dh=%lld", (long long)c.n, (long long)c.H, (long long)c.Dh);
        size_t sz = (size_t)(c.n * c.Dh);
        /* a float32 output of exact inputs: fp32 bounds */
        target t32 = *t;
        t32.dtype = ENG_COMPUTE_FP32;
        t32.ref = t->ref;
        ok &= run_case(&t32, label, hm_run, &c, 1, &sz, 1e-10, 1e-6, 1e-5);
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
    bufs b = {be};
    eng_act *x = put_act(&b, c->x, (size_t)(c->B * c->H * c->W * c->C));
    size_t no = (size_t)(c->B * c->Ho * c->Wo * c->C);
    eng_act *y = put_act(&b, NULL, no);
    assert_int_equal(be->k->pool2d(be, y, x, c->B, c->H, c->W, c->C, c->mode, c->Ho, c->Wo), 0);
    get_act(&b, outs[0], y, no);
    release(&b);
}

static void test_pool2d(void **state) {
    TARGET(state, "pool2d");
    /* B, H, W, C, Ho, Wo, mode */
    static const int64_t cases[][7] = {{2, 27, 27, 3, 14, 14, 0}, {1, 7, 7, 5, 4, 4, 0}, {1, 1, 1, 2, 1, 1, 0},
                                       {1, 3, 5, 2, 5, 4, 0},     {2, 27, 27, 3, 13, 13, 1}, {1, 7, 7, 1, 3, 3, 1},
                                       {3, 2, 2, 4, 1, 1, 1},     {1, 27, 27, 72, 14, 14, 0}, {2, 27, 27, 3584, 14, 14, 0}};
    int ok = 1;
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int64_t *cs = cases[s];
        pool_ctx c = {cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6] ? ENG_POOL_AVERAGE : ENG_POOL_BILINEAR, NULL};
        c.x = rnd((size_t)(c.B * c.H * c.W * c.C), -1, 1);
        char label[96];
        snprintf(label, sizeof label, "pool2d %s %lldx%lld->%lldx%lld C=%lld", cs[6] ? "avg" : "bilinear",
                 (long long)c.H, (long long)c.W, (long long)c.Ho, (long long)c.Wo, (long long)c.C);
        size_t sz = (size_t)(c.B * c.Ho * c.Wo * c.C);
        ok &= run_case(t, label, pool_run, &c, 1, &sz, 1e-12, 1e-6, 1e-6);
        free(c.x);
    }
    assert_true(ok);
}

/* ---- activation storage and ticks --------------------------------------------------------------- */

/* act_upload rounds to nearest even exactly like the oracle (bitwise), act_download widens
 * exactly; offsets through eng_act_at address the right elements; a tick pair measures >= 0. */
static void test_act_storage(void **state) {
    TARGET(state, "act");
    const size_t n = 4099;
    float *src = rnd(n, -70000, 70000), *a = malloc(n * sizeof *a), *r = malloc(n * sizeof *r);
    src[0] = 1.0f + 1.0f / 4096; /* a tie in fp16: rounds to even */
    src[1] = 65519.0f;           /* the largest value that rounds to a finite fp16 */
    src[2] = 65520.0f;           /* rounds to inf in fp16 */
    src[3] = 1e-8f;              /* subnormal / zero */
    src[4] = NAN;
    bufs b = {&t->be}, br = {&t->ref};
    eng_act *d = put_act(&b, src, n), *dr = put_act(&br, src, n);
    get_act(&b, a, d, n);
    get_act(&br, r, dr, n);
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == r[i] || (isnan(a[i]) && isnan(r[i])))) fail_msg("act round trip at %zu: %.9g vs %.9g", i, a[i], r[i]);
    /* a window through eng_act_at */
    float win[5];
    assert_int_equal(t->be.k->act_download(&t->be, win, eng_act_at(&t->be, d, 1000), 5), 0);
    for (int i = 0; i < 5; i++) assert_true(win[i] == r[1000 + i]);
    assert_int_equal(t->be.k->act_upload(&t->be, eng_act_at(&t->be, d, 2000), src, 3), 0);
    get_act(&b, a, d, n);
    for (int i = 0; i < 3; i++) assert_true(a[2000 + i] == r[i]);
    assert_true(a[1999] == r[1999] && a[2003] == r[2003]);
    eng_tick t0, t1;
    double sec = -1;
    assert_int_equal(t->be.k->tick(&t->be, &t0), 0);
    assert_int_equal(t->be.k->act_upload(&t->be, d, src, n), 0);
    assert_int_equal(t->be.k->tick(&t->be, &t1), 0);
    assert_int_equal(t->be.k->tick_elapsed(&t->be, &t0, &t1, &sec), 0);
    assert_true(sec >= 0.0 && sec < 10.0);
    release(&b);
    release(&br);
    free(src);
    free(a);
    free(r);
}

/* ---- known answers of the reference ------------------------------------------------------------ */

#define FA(p) ((float *)(void *)(p))
#define CA(p) ((eng_act *)(void *)(p))

static void test_ref_known_answers(void **state) {
    (void)state;
    eng_backend *be = &g_ref32; /* fp32: activation buffers are float arrays */
    /* matmul: [1 2; 3 4] . [[1 0],[1 1],[0 2]]^T + [0.5 0 -1] */
    float x[4] = {1, 2, 3, 4}, w[6] = {1, 0, 1, 1, 0, 2}, b[3] = {0.5f, 0, -1}, y[6];
    assert_int_equal(be->k->matmul(be, y, x, w, b, 2, 2, 3), 0);
    float want[6] = {1.5f, 3, 3, 3.5f, 7, 7};
    for (int i = 0; i < 6; i++) assert_float_equal(y[i], want[i], 1e-6);
    /* activations at 1 and -2 (values from the closed forms) */
    float a[2] = {1.0f, -2.0f}, r[2];
    assert_int_equal(be->k->gelu_erf(be, CA(r), CA(a), 2), 0);
    assert_float_equal(r[0], 0.8413447460685429, 1e-6);
    assert_float_equal(r[1], -0.04550026389635842, 1e-6);
    assert_int_equal(be->k->gelu_tanh(be, CA(r), CA(a), 2), 0);
    assert_float_equal(r[0], 0.8411919906082768, 1e-6);
    assert_float_equal(r[1], -0.04540230591222276, 1e-6);
    assert_int_equal(be->k->silu(be, CA(r), CA(a), 2), 0);
    assert_float_equal(r[0], 0.7310585786300049, 1e-6);
    /* layernorm of [1 2 3 4]: mean 2.5, var 1.25 */
    float ln[4] = {1, 2, 3, 4}, g[4] = {1, 1, 1, 1}, lo[4];
    assert_int_equal(be->k->layernorm(be, CA(lo), CA(ln), g, NULL, 1, 4, 0.0f), 0);
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
    assert_int_equal(be->k->attention(be, CA(o), CA(q), CA(k), CA(v), &d, p, rv), 0);
    assert_float_equal(o[0], 4, 1e-6);
    assert_float_equal(o[1], 6, 1e-6);
    assert_float_equal(p[0], 0.5, 1e-7);
    assert_float_equal(rv[1], 0.5, 1e-7);
    /* causal: the first of two queries sees only key 0 */
    float q2[4] = {0, 0, 0, 0}, o2[4], p2[4];
    d.n_q = 2;
    d.causal = 1;
    assert_int_equal(be->k->attention(be, CA(o2), CA(q2), CA(k), CA(v), &d, p2, NULL), 0);
    assert_float_equal(p2[0], 1, 1e-7);
    assert_float_equal(p2[1], 0, 0);
    assert_float_equal(o2[0], 2, 1e-6);
    /* avg pool 2x2 of 1..4 (C = 1), on the device table and on the host helper */
    float px[9] = {1, 2, 9, 3, 4, 9, 9, 9, 9}, py[1];
    assert_int_equal(be->k->pool2d(be, CA(py), CA(px), 1, 3, 3, 1, ENG_POOL_AVERAGE, 1, 1), 0);
    assert_float_equal(py[0], 2.5, 1e-7);
    char err[128];
    assert_int_equal(eng_pool2d_host(py, px, 1, 3, 3, 1, ENG_POOL_AVERAGE, 1, 1, err, sizeof err), 0);
    assert_float_equal(py[0], 2.5, 1e-7);
    assert_int_equal(eng_pool2d_host(py, px, 1, 3, 3, 1, ENG_POOL_AVERAGE, 2, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "pool2d"));
    /* the emulated regimes round where the GPU does: one rounding of the output */
    eng_backend b16;
    assert_int_equal(eng_backend_init_dtype(&b16, ENG_BACKEND_REF, ENG_COMPUTE_BF16, err, sizeof err), 0);
    eng_act *xa = b16.k->act_alloc(&b16, 2), *ya = b16.k->act_alloc(&b16, 2);
    float in[2] = {1.0f, 3.0f}, res[2];
    assert_int_equal(b16.k->act_upload(&b16, xa, in, 2), 0);
    assert_int_equal(b16.k->silu(&b16, ya, xa, 2), 0);
    assert_int_equal(b16.k->act_download(&b16, res, ya, 2), 0);
    assert_true(res[0] == st_bf16_to_f32(st_f32_to_bf16(0.7310585786300049f)));
    b16.k->act_free(&b16, xa);
    b16.k->act_free(&b16, ya);
    eng_backend_fini(&b16);
}

/* Bad arguments: clear errors, no crash, on every target. */
static void test_bad_args(void **state) {
    TARGET(state, "bad_args");
    eng_backend *be = &t->be;
    eng_act *x = be->k->act_alloc(be, 64), *y = be->k->act_alloc(be, 64);
    assert_non_null(x);
    assert_non_null(y);
    eng_attn_desc d = {.n_batch = 1, .n_q = 1, .n_kv = 1, .n_head = 3, .n_head_kv = 2, .head_dim = 4};
    assert_int_equal(be->k->attention(be, y, x, x, x, &d, NULL, NULL), -1); /* 3 % 2 != 0 */
    assert_non_null(strstr(be->err, "attention"));
    assert_int_equal(be->k->pool2d(be, y, x, 1, 4, 4, 1, ENG_POOL_AVERAGE, 3, 3), -1); /* 4/2 != 3 */
    assert_non_null(strstr(be->err, "pool2d"));
    assert_int_equal(be->k->pool2d(be, y, x, 1, 4, 4, 1, ENG_POOL_MAX, 2, 2), -1);
    assert_int_equal(be->k->rope(be, x, 3, 1, 1, 3, (const int64_t[]){0}, 1e4f), -1); /* odd Dh */
    eng_wdesc bad = {(eng_dtype)7, 1, 1, x, NULL};
    eng_weight w;
    assert_int_equal(be->k->weight_init(be, &w, &bad), -1);
    be->k->act_free(be, x);
    be->k->act_free(be, y);
    be->k->act_free(be, NULL);
    be->k->free(be, NULL);
    char err[160];
    eng_backend no;
    assert_int_equal(eng_backend_init(&no, (eng_backend_kind)42, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown backend"));
    eng_backend_fini(&no);
    assert_int_equal(eng_backend_init_dtype(&no, ENG_BACKEND_CPU, ENG_COMPUTE_BF16, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not compute in bf16"));
    eng_backend_kind k;
    assert_int_equal(eng_backend_parse("gpu", &k), -1);
    assert_int_equal(eng_backend_parse("cpu", &k), 0);
    assert_int_equal(k, ENG_BACKEND_CPU);
    eng_compute_dtype dt;
    assert_int_equal(eng_compute_dtype_parse("fp8", &dt), -1);
    assert_int_equal(eng_compute_dtype_parse("bf16", &dt), 0);
    assert_int_equal(dt, ENG_COMPUTE_BF16);
}

/* ---- main: every op test once per target -------------------------------------------------------- */

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
    static const struct {
        const char *name;
        CMUnitTestFunction fn;
    } per_target[] = {
        {"matmul", test_matmul},       {"linear", test_linear},     {"weight_range", test_weight_range},
        {"norms", test_norms},         {"elementwise", test_elementwise}, {"softmax", test_softmax},
        {"attention", test_attention}, {"rope", test_rope},         {"rope_sec", test_rope_sec}, {"head_mean", test_head_mean},
        {"pool2d", test_pool2d},       {"act_storage", test_act_storage}, {"bad_args", test_bad_args},
    };
    enum { N_PER = sizeof per_target / sizeof per_target[0] };
    static op_case cases[N_PER * N_TARGETS];
    static struct CMUnitTest tests[1 + N_PER * N_TARGETS];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ref_known_answers);
    for (int ti = 0; ti < N_TARGETS; ti++)
        for (size_t f = 0; f < N_PER; f++) {
            op_case *c = &cases[ti * N_PER + f];
            snprintf(c->name, sizeof c->name, "%s[%s]", per_target[f].name, g_targets[ti].name);
            c->t = &g_targets[ti];
            tests[n++] = (struct CMUnitTest){c->name, per_target[f].fn, NULL, NULL, c};
        }
    return _cmocka_run_group_tests("test_ops", tests, n, group_setup, group_teardown);
}
