/* test_cuda.c - the tiny checkpoints end to end on the cuda backend, in every numerics regime,
 * against the host: the LLM's logits (prefill of text + visual rows, with and without an in-LLM
 * plan), its greedy answer, the vision tower's features and saliency taps, and out-of-memory as a
 * status. Each test runs where a CUDA device is present and is a counted, named skip elsewhere
 * (it builds and runs in the lean build too: no Python, no tokenizer needed).
 *
 * The references: in fp32 the cpu backend (OpenBLAS) where built, else the ref table; in fp16 /
 * bf16 the ref table in the same regime (it holds activations as 16-bit values exactly as the GPU
 * does), so the bounds measure the kernels, not the regime. Bounds: max |diff| <= tol * max|ref|
 * with tol = 1e-4 (fp32), 16 units of roundoff (fp16: 2^-11, bf16: 2^-8), the roundings of a few
 * layers adding up. The greedy answer must be the same token for token, except where the
 * reference itself has a tie within that bound at the first step that differs (reported).
 *
 * The same for the tiny Qwen2.5-VL checkpoint: its windowed ViT and merger (merged rows, the
 * global-query saliency, the unit keys) and its M-RoPE prefill and greedy answer.
 *
 * Usage: test_cuda   (TB_BUILD names the scratch folder root; TB_TEST_DEVICE=ref: see g_dev) */
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

#include "engine/engine.h"
#include "engine/kernels.h"
#include "engine/llm.h"
#include "engine/tiny_model.h"

static char g_model[1100], g_qmodel[1100]; /* tiny LLaVA-OneVision, tiny Qwen2.5-VL (both bf16) */
/* The backend under test: cuda, or with TB_TEST_DEVICE=ref the ref table standing in for it (a dry
 * run of this program's own logic on a machine without a GPU; never part of make test). */
static eng_backend_kind g_dev = ENG_BACKEND_CUDA;
static const int64_t g_ids[] = {ENG_TINY_ID_IM_START, 10, 20, 30, -200, 40, 50, ENG_TINY_ID_IM_END, 10,
                                ENG_TINY_ID_IM_START, 60, 70, 10};
#define N_IDS ((int64_t)(sizeof g_ids / sizeof g_ids[0]))

typedef struct {
    char name[48];
    eng_compute_dtype dtype;
} regime;
static regime g_regimes[3] = {{"fp32", ENG_COMPUTE_FP32}, {"fp16", ENG_COMPUTE_FP16}, {"bf16", ENG_COMPUTE_BF16}};

static double tol_of(eng_compute_dtype d) {
    return d == ENG_COMPUTE_FP16 ? 16.0 / 2048 : d == ENG_COMPUTE_BF16 ? 16.0 / 256 : 1e-4;
}

/* The host reference of a regime: cpu in fp32 when this build has it, else ref. */
static eng_backend_kind host_kind(eng_compute_dtype d) {
    if (d != ENG_COMPUTE_FP32) return ENG_BACKEND_REF;
    char err[256];
    eng_backend b;
    if (eng_backend_init(&b, ENG_BACKEND_CPU, err, sizeof err) == 0) {
        eng_backend_fini(&b);
        return ENG_BACKEND_CPU;
    }
    return ENG_BACKEND_REF;
}

/* Skips the calling test (named with its regime) unless cuda runs in d here. */
static void need_cuda(const char *test, eng_compute_dtype d) {
    char err[256], name[96];
    eng_backend b;
    snprintf(name, sizeof name, "%.60s[%s]", test, eng_compute_dtype_name(d));
    if (eng_backend_init_dtype(&b, g_dev, d, err, sizeof err) != 0) {
        tb_test_skip_note(name, "%s", err);
        skip();
    }
    printf("%s: %s\n", name, b.k->describe ? b.k->describe(&b) : "ref standing in for cuda (TB_TEST_DEVICE)");
    eng_backend_fini(&b);
}

static int setup(void **state) {
    (void)state;
    char err[512];
    snprintf(g_model, sizeof g_model, "%.1000s/model", tb_test_dir("test_cuda"));
    eng_tiny_params tp = eng_tiny_default_params();
    tp.dtype = ST_BF16; /* as the real checkpoints store it */
    if (eng_tiny_model_write(g_model, &tp, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snprintf(g_qmodel, sizeof g_qmodel, "%.1000s/qwen", tb_test_dir("test_cuda"));
    tp.layout = ENG_LAYOUT_QWEN25VL;
    if (eng_tiny_model_write(g_qmodel, &tp, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

/* max |a - r| <= tol * max |r|; prints the worst element. */
static int close_enough(const char *what, const float *a, const float *r, size_t n, double tol) {
    double mx = 0.0, worst = 0.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs((double)r[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)r[i]);
        if (!(d <= worst)) { /* NaN sticks */
            worst = d;
            wi = i;
        }
    }
    int ok = worst <= tol * (mx > 0 ? mx : 1.0);
    printf("%s %s: max |diff| %.3g (at %zu: %.6g vs %.6g), max |ref| %.3g, bound %.3g\n", ok ? "ok  " : "FAIL", what,
           worst, wi, n ? a[wi] : 0.0f, n ? r[wi] : 0.0f, mx, tol * mx);
    return ok;
}

/* ---- the LLM ------------------------------------------------------------------------------------ */

typedef struct {
    float *logits;   /* [Vo] last row */
    int64_t gen[12];
    int64_t n_gen;
    float *step0;    /* [Vo] logits the first generated token was chosen from (= logits) */
    int64_t kept[64];
    int64_t n_kept;
    int64_t vo;
} llm_run;

static void llm_run_free(llm_run *r) { free(r->logits); }

/* Prefill (with a FastV-style plan when plan != 0) and 8 greedy tokens on (kind, d). */
static void run_llm(eng_backend_kind kind, eng_compute_dtype d, int plan, llm_run *out) {
    char err[512];
    memset(out, 0, sizeof *out);
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = kind;
    lp.dtype = d;
    eng_llm *m = eng_llm_load(g_model, &lp, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    assert_non_null(m);
    eng_llm_info info;
    eng_llm_get_info(m, &info);
    eng_llm_state *s = eng_llm_state_init(m, 256, err, sizeof err);
    assert_non_null(s);
    /* 6 frames x 16 pooled tokens + one newline: a visual block the plan can prune */
    const int64_t nv = 97, D = info.hidden;
    float *vis = malloc((size_t)(nv * D) * sizeof *vis);
    uint64_t x = 12345;
    for (int64_t i = 0; i < nv * D; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        vis[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
    }
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = g_ids;
    pp.n_ids = N_IDS;
    pp.visual = vis;
    pp.n_visual = nv;
    tb_llm_plan pl = tb_llm_plan_default();
    if (plan) {
        pl.layer = 2;
        pl.keep_ratio = 0.5;
        pp.plan = &pl;
    }
    eng_llm_prefill_out po;
    int rc = eng_llm_prefill(s, &pp, &po, err, sizeof err);
    if (rc != ENG_OK) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, ENG_OK);
    out->vo = po.vocab_out;
    out->logits = malloc((size_t)po.vocab_out * sizeof(float));
    memcpy(out->logits, po.logits, (size_t)po.vocab_out * sizeof(float));
    if (po.kept) {
        out->n_kept = po.n_kept < 64 ? po.n_kept : 64;
        memcpy(out->kept, po.kept, (size_t)out->n_kept * sizeof *po.kept);
    }
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = 8;
    gp.use_stop_ids = 0;
    gp.repetition_penalty = 1.0;
    assert_int_equal(eng_llm_generate(s, &gp, out->gen, 12, &out->n_gen, err, sizeof err), ENG_OK);
    free(vis);
    eng_llm_state_free(s);
    eng_llm_free(m);
}

/* The same greedy tokens, or a tie in the reference's first-step logits within the bound (then the
 * rest cannot be compared). Only the first step's logits are kept: later ties fail, visibly. */
static int same_answer(const llm_run *a, const llm_run *r, double tol) {
    for (int64_t i = 0; i < a->n_gen && i < r->n_gen; i++) {
        if (a->gen[i] == r->gen[i]) continue;
        if (i == 0) {
            double mx = 0.0;
            for (int64_t v = 0; v < r->vo; v++) mx = fmax(mx, fabs((double)r->logits[v]));
            double gap = fabs((double)r->logits[r->gen[0]] - (double)r->logits[a->gen[0]]);
            if (gap <= tol * mx) {
                printf("tie: first tokens %lld / %lld differ by %.3g <= %.3g in the reference\n", (long long)a->gen[0],
                       (long long)r->gen[0], gap, tol * mx);
                return 1;
            }
        }
        printf("FAIL greedy answers differ at step %lld: %lld vs %lld\n", (long long)i, (long long)a->gen[i],
               (long long)r->gen[i]);
        return 0;
    }
    return a->n_gen == r->n_gen;
}

static void llm_case(void **state, int plan) {
    regime *g = (regime *)*state;
    need_cuda(plan ? "test_llm_plan" : "test_llm", g->dtype);
    llm_run c, r;
    run_llm(g_dev, g->dtype, plan, &c);
    run_llm(host_kind(g->dtype), g->dtype, plan, &r);
    char what[160];
    snprintf(what, sizeof what, "LLM last-row logits cuda-%s vs %s-%s", g->name, eng_backend_name(host_kind(g->dtype)),
             g->name);
    int ok = close_enough(what, c.logits, r.logits, (size_t)c.vo, tol_of(g->dtype));
    ok &= same_answer(&c, &r, tol_of(g->dtype));
    if (plan) {
        /* the plan keeps the same rows (its scores come from the same attention, up to roundoff) */
        int same = c.n_kept == r.n_kept && !memcmp(c.kept, r.kept, (size_t)c.n_kept * sizeof *c.kept);
        printf("%s plan kept %lld rows on cuda, %lld on the host%s\n", same ? "ok  " : "NOTE", (long long)c.n_kept,
               (long long)r.n_kept, same ? ", the same" : "");
        if (g->dtype == ENG_COMPUTE_FP32) ok &= same;
    }
    /* the regime costs something but not much: cuda-T against fp32 on the host */
    if (g->dtype != ENG_COMPUTE_FP32) {
        llm_run r32;
        run_llm(host_kind(ENG_COMPUTE_FP32), ENG_COMPUTE_FP32, plan, &r32);
        snprintf(what, sizeof what, "LLM logits cuda-%s vs host fp32 (the regime)", g->name);
        ok &= close_enough(what, c.logits, r32.logits, (size_t)c.vo, 2 * tol_of(g->dtype));
        llm_run_free(&r32);
    }
    llm_run_free(&c);
    llm_run_free(&r);
    assert_true(ok);
}

static void test_llm(void **state) { llm_case(state, 0); }
static void test_llm_plan(void **state) { llm_case(state, 1); }

/* ---- the vision tower ---------------------------------------------------------------------------- */

static void encode(eng_backend_kind kind, eng_compute_dtype d, const float *px, int64_t T, eng_vision_out *o) {
    char err[512];
    eng_model_params mp = eng_model_default_params();
    mp.backend = kind;
    mp.dtype = d;
    eng_model *m = eng_model_load(g_model, &mp, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    assert_non_null(m);
    eng_encode_params ep = eng_encode_default_params();
    ep.frames_per_batch = 2; /* two chunks of 2 frames and one of 1 */
    int rc = eng_vision_encode(m, px, T, &ep, o, err, sizeof err);
    if (rc != ENG_OK) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, ENG_OK);
    eng_model_free(m);
}

static void test_vision(void **state) {
    regime *g = (regime *)*state;
    need_cuda("test_vision", g->dtype);
    eng_vision_info vi;
    {
        char err[512];
        eng_model_params mp = eng_model_default_params();
        mp.backend = ENG_BACKEND_REF; /* in every build, the lean one too */
        eng_model *m = eng_model_load(g_model, &mp, err, sizeof err);
        assert_non_null(m);
        eng_model_vision_info(m, &vi);
        eng_model_free(m);
    }
    const int64_t T = 5, S = vi.image_size;
    float *px = malloc((size_t)(T * 3 * S * S) * sizeof *px);
    uint64_t x = 777;
    for (int64_t i = 0; i < T * 3 * S * S; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        px[i] = (float)((double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    eng_vision_out c, r;
    encode(g_dev, g->dtype, px, T, &c);
    encode(host_kind(g->dtype), g->dtype, px, T, &r);
    double tol = tol_of(g->dtype);
    struct {
        const char *name;
        const float *a, *b;
        size_t n;
    } arr[] = {
        {"pooled features", c.pooled, r.pooled, (size_t)(T * c.n_pooled * c.d_model)},
        {"vision hidden", c.vision_hidden, r.vision_hidden, (size_t)(T * c.n_patches * c.d_vision)},
        {"map attention", c.map_attn, r.map_attn, (size_t)(T * c.n_patches)},
        {"received attention", c.layer_attn_mean, r.layer_attn_mean, (size_t)(T * c.n_patches)},
        {"pooled keys", c.pooled_keys, r.pooled_keys, (size_t)(T * c.n_pooled * c.head_dim)},
        {"frame global", c.frame_global, r.frame_global, (size_t)(T * c.d_vision)},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++) {
        if (!arr[i].a || !arr[i].b) {
            printf("FAIL %s missing\n", arr[i].name);
            ok = 0;
            continue;
        }
        char what[160];
        snprintf(what, sizeof what, "vision %s cuda-%s", arr[i].name, g->name);
        ok &= close_enough(what, arr[i].a, arr[i].b, arr[i].n, tol);
    }
    printf("vision encode: cuda %.3f ms, host %.3f ms (%lld frames)\n", 1e3 * c.seconds, 1e3 * r.seconds, (long long)T);
    eng_vision_out_free(&c);
    eng_vision_out_free(&r);
    free(px);
    assert_true(ok);
}

/* ---- Qwen2.5-VL ------------------------------------------------------------------------------ */

/* 2 temporal slices of a 4 x 12 patch grid: 2 x 6 merged units per slice, windows of 2 x 4 and
 * 2 x 2 units (window 112 / patch 14 / merge 2 = 4 units a side), full attention in blocks 1, 3. */
enum { QG_T = 2, QG_H = 4, QG_W = 12, Q_UNITS = QG_T * QG_H * QG_W / 4 };

static void qwen_encode(eng_backend_kind kind, eng_compute_dtype d, const float *rows, eng_qwen_vision_out *o) {
    char err[512];
    eng_model_params mp = eng_model_default_params();
    mp.backend = kind;
    mp.dtype = d;
    eng_model *m = eng_model_load(g_qmodel, &mp, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    assert_non_null(m);
    int rc = eng_qwen_vision_encode(m, rows, QG_T, QG_H, QG_W, 1, o, err, sizeof err); /* one slice a chunk */
    if (rc != ENG_OK) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, ENG_OK);
    eng_model_free(m);
}

/* Prefill of text + the merged rows at the M-RoPE positions, then 6 greedy tokens. */
static void qwen_llm(eng_backend_kind kind, eng_compute_dtype d, const float *merged, llm_run *out) {
    char err[512];
    memset(out, 0, sizeof *out);
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = kind;
    lp.dtype = d;
    eng_llm *m = eng_llm_load(g_qmodel, &lp, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    assert_non_null(m);
    eng_llm_info info;
    eng_llm_get_info(m, &info);
    enum { N = 3 + Q_UNITS + 3 };
    int64_t ids[N] = {ENG_TINY_ID_IM_START, 40, info.vision_start_id}, pos3[3 * N], max_id = 0;
    for (int i = 0; i < Q_UNITS; i++) ids[3 + i] = info.video_token_id;
    ids[3 + Q_UNITS] = ENG_TINY_ID_VISION_END, ids[4 + Q_UNITS] = 50, ids[5 + Q_UNITS] = 51;
    const int64_t grid[1][3] = {{QG_T, QG_H, QG_W}};
    assert_int_equal(eng_qwen_rope_index(ids, N, grid, 1, 1.0, info.tokens_per_second, info.spatial_merge,
                                         info.vision_start_id, info.video_token_id, info.image_token_id, pos3,
                                         &max_id, err, sizeof err),
                     ENG_OK);
    eng_llm_state *s = eng_llm_state_init(m, 128, err, sizeof err);
    assert_non_null(s);
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = ids;
    pp.n_ids = N;
    pp.visual = merged;
    pp.n_visual = Q_UNITS;
    pp.pos3 = pos3;
    eng_llm_prefill_out po;
    int rc = eng_llm_prefill(s, &pp, &po, err, sizeof err);
    if (rc != ENG_OK) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, ENG_OK);
    out->vo = po.vocab_out;
    out->logits = malloc((size_t)po.vocab_out * sizeof(float));
    assert_non_null(out->logits);
    memcpy(out->logits, po.logits, (size_t)po.vocab_out * sizeof(float));
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = 6;
    gp.use_stop_ids = 0;
    gp.repetition_penalty = 1.0;
    assert_int_equal(eng_llm_generate(s, &gp, out->gen, 12, &out->n_gen, err, sizeof err), ENG_OK);
    eng_llm_state_free(s);
    eng_llm_free(m);
}

static void test_qwen(void **state) {
    regime *g = (regime *)*state;
    need_cuda("test_qwen", g->dtype);
    const int64_t K = 3 * 2 * 14 * 14, n_rows = (int64_t)QG_T * QG_H * QG_W;
    float *rows = malloc((size_t)(n_rows * K) * sizeof *rows);
    assert_non_null(rows);
    uint64_t x = 4242;
    for (int64_t i = 0; i < n_rows * K; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        rows[i] = (float)((double)(x >> 11) / 9007199254740992.0 * 4.0 - 2.0); /* normalised pixels */
    }
    eng_qwen_vision_out c, r;
    qwen_encode(g_dev, g->dtype, rows, &c);
    qwen_encode(host_kind(g->dtype), g->dtype, rows, &r);
    assert_int_equal(c.n_units, Q_UNITS);
    double tol = tol_of(g->dtype);
    char what[160];
    int ok = 1;
    snprintf(what, sizeof what, "qwen merged rows cuda-%s", g->name);
    ok &= close_enough(what, c.merged, r.merged, (size_t)(Q_UNITS * c.d_model), tol);
    snprintf(what, sizeof what, "qwen global-query saliency cuda-%s", g->name);
    ok &= close_enough(what, c.gq_attn, r.gq_attn, (size_t)Q_UNITS, tol);
    snprintf(what, sizeof what, "qwen unit keys cuda-%s", g->name);
    ok &= close_enough(what, c.unit_keys, r.unit_keys, (size_t)(Q_UNITS * c.head_dim), tol);
    /* the LLM on the host's merged rows (the comparison isolates the LLM) */
    llm_run lc, lr;
    qwen_llm(g_dev, g->dtype, r.merged, &lc);
    qwen_llm(host_kind(g->dtype), g->dtype, r.merged, &lr);
    snprintf(what, sizeof what, "qwen LLM last-row logits (M-RoPE) cuda-%s", g->name);
    ok &= close_enough(what, lc.logits, lr.logits, (size_t)lc.vo, tol);
    ok &= same_answer(&lc, &lr, tol);
    llm_run_free(&lc);
    llm_run_free(&lr);
    eng_qwen_vision_out_free(&c);
    eng_qwen_vision_out_free(&r);
    free(rows);
    assert_true(ok);
}

/* Device memory exhaustion is a status with a message, never a crash. */
static void test_out_of_memory(void **state) {
    regime *g = (regime *)*state;
    need_cuda("test_out_of_memory", g->dtype);
    char err[512];
    eng_backend be;
    assert_int_equal(eng_backend_init_dtype(&be, g_dev, g->dtype, err, sizeof err), 0);
    eng_act *p = be.k->act_alloc(&be, (size_t)1 << 50);
    assert_null(p);
    assert_true(strstr(be.err, "cudaMalloc") || strstr(be.err, "out of memory"));
    float *f = be.k->alloc(&be, (size_t)1 << 50);
    assert_null(f);
    /* the backend still works afterwards */
    eng_act *q = be.k->act_alloc(&be, 16);
    assert_non_null(q);
    float in[16] = {1, 2, 3}, outv[16];
    assert_int_equal(be.k->act_upload(&be, q, in, 16), 0);
    assert_int_equal(be.k->act_download(&be, outv, q, 16), 0);
    assert_true(outv[2] == 3.0f);
    be.k->act_free(&be, q);
    eng_backend_fini(&be);
    /* a state too large for the device: ENG_ERR_NOMEM from the engine */
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = g_dev;
    lp.dtype = g->dtype;
    eng_llm *m = eng_llm_load(g_model, &lp, err, sizeof err);
    assert_non_null(m);
    eng_llm_state *s = eng_llm_state_init(m, (int64_t)1 << 31, err, sizeof err);
    if (s) {
        /* the state reserves rows on the first prefill: ask for all of them */
        eng_llm_prefill_params pp = eng_llm_prefill_default_params();
        pp.ids = g_ids;
        pp.n_ids = N_IDS;
        pp.n_reserve = ((int64_t)1 << 31) - 64;
        eng_llm_prefill_out po;
        int rc = eng_llm_prefill(s, &pp, &po, err, sizeof err);
        assert_int_equal(rc, ENG_ERR_NOMEM);
        printf("ok   out-of-memory status: %s\n", err);
        eng_llm_state_free(s);
    } else {
        printf("ok   out-of-memory status at state init: %s\n", err);
    }
    eng_llm_free(m);
}

int main(void) {
    static const struct {
        const char *name;
        CMUnitTestFunction fn;
    } per_regime[] = {{"test_llm", test_llm},
                      {"test_llm_plan", test_llm_plan},
                      {"test_vision", test_vision},
                      {"test_qwen", test_qwen},
                      {"test_out_of_memory", test_out_of_memory}};
    enum { N_PER = sizeof per_regime / sizeof per_regime[0] };
    static char names[N_PER * 3][96];
    const char *dev = getenv("TB_TEST_DEVICE");
    if (dev && strcmp(dev, "ref") == 0) g_dev = ENG_BACKEND_REF;
    static struct CMUnitTest tests[N_PER * 3];
    size_t n = 0;
    for (int g = 0; g < 3; g++)
        for (size_t f = 0; f < N_PER; f++) {
            snprintf(names[n], sizeof names[n], "%.40s[%.8s]", per_regime[f].name, g_regimes[g].name);
            tests[n] = (struct CMUnitTest){names[n], per_regime[f].fn, NULL, NULL, &g_regimes[g]};
            n++;
        }
    return _cmocka_run_group_tests("test_cuda", tests, n, setup, NULL);
}
