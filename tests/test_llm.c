/* test_llm.c - the Qwen2 LLM side of the engine (engine/llm.h) on the tiny checkpoint of
 * make-tiny-model, against an independent float64 PyTorch implementation
 * (tests/llm_torch_ref.py, run once with $PYTHON over every scenario, in setup): every-position logits, the last-row attention tap,
 * an 8-token greedy continuation (KV cache vs the oracle's full recomputation), in-LLM plans
 * (FastV, HoliTom pairwise fold, Tango weighted fold with the bidirectional layer K-1, renumbered
 * positions, explicit indices), plus C-only checks (decode vs re-prefill, ref vs cpu backend,
 * visual assembly, bad inputs, the forward command). Tolerance: |c - ref| <= 1e-4 * max|ref|. */
#include "tests/tb_test.h"

#include <math.h>

#include "engine/config.h"
#include "engine/llm.h"
#include "engine/tiny_model.h"
#include "harness/npy.h"

#define NV_FRAMES 3
#define NV_GRID 2
#define D_TINY 64

static char g_dir[512];   /* scratch dir */
static char g_model[600]; /* tiny checkpoint */
static int64_t g_ids[] = {ENG_TINY_ID_IM_START, 10, 20, 30, -200, 40, 50, ENG_TINY_ID_IM_END, 10,
                          ENG_TINY_ID_IM_START, 60, 70, 10};
#define N_IDS ((int64_t)(sizeof g_ids / sizeof g_ids[0]))
static float *g_vis;   /* [n_vis, D] assembled */
static int64_t g_nvis;
#define N_LONG 300     /* a visual block longer than the engine's causal query block (256) */
static float *g_long;  /* [N_LONG, D] */

/* ---- helpers -------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float rnd_normal(void) {
    double s = 0;
    for (int i = 0; i < 4; i++) {
        rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
        s += (double)(rng_state >> 11) / 9007199254740992.0;
    }
    return (float)((s - 2.0) * 1.7320508);
}

static void pathf(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", g_dir, name); }

static int setup(void **state) {
    (void)state;
    const char *td = tb_test_dir("llm");
    size_t tl = strlen(td);
    if (tl >= sizeof g_dir) return -1;
    memcpy(g_dir, td, tl + 1);
    snprintf(g_model, sizeof g_model, "%s/tiny", g_dir);
    char err[512];
    eng_tiny_params tp = eng_tiny_default_params();
    if (eng_tiny_model_write(g_model, &tp, err, sizeof err) != 0) {
        fprintf(stderr, "tiny model: %s\n", err);
        return -1;
    }
    /* visual block: 3 frames of a 2x2 pooled grid + the one_token newline (13 rows) */
    eng_llm *m = eng_llm_load(g_model, NULL, err, sizeof err);
    if (!m) {
        fprintf(stderr, "load: %s\n", err);
        return -1;
    }
    float pooled[NV_FRAMES * NV_GRID * NV_GRID * D_TINY];
    for (size_t i = 0; i < sizeof pooled / sizeof pooled[0]; i++) pooled[i] = 0.5f * rnd_normal();
    /* the one_token layout: every pooled token, then the newline */
    g_nvis = NV_FRAMES * NV_GRID * NV_GRID + 1;
    g_vis = malloc((size_t)g_nvis * D_TINY * sizeof(float));
    const float *nl = eng_llm_image_newline(m);
    if (!g_vis || !nl) return -1;
    memcpy(g_vis, pooled, sizeof pooled);
    memcpy(g_vis + (g_nvis - 1) * D_TINY, nl, D_TINY * sizeof(float));
    eng_llm_free(m);
    char p[1200];
    int64_t shp[2] = {N_IDS, 0};
    pathf(p, sizeof p, "ids.npy");
    if (npy_write(p, NPY_I64, g_ids, 1, shp, err, sizeof err) != 0) return -1;
    shp[0] = g_nvis;
    shp[1] = D_TINY;
    pathf(p, sizeof p, "vis.npy");
    if (npy_write(p, NPY_F32, g_vis, 2, shp, err, sizeof err) != 0) return -1;
    g_long = malloc((size_t)N_LONG * D_TINY * sizeof(float));
    if (!g_long) return -1;
    for (int64_t i = 0; i < N_LONG * D_TINY; i++) g_long[i] = 0.5f * rnd_normal();
    shp[0] = N_LONG;
    pathf(p, sizeof p, "vis_long.npy");
    if (npy_write(p, NPY_F32, g_long, 2, shp, err, sizeof err) != 0) return -1;
    /* the same 300 rows as pooled tokens [3, 100, D] for forward --method, and their assembled block
     * (+ the one_token newline) for the oracle */
    {
        int64_t s3[3] = {3, 100, D_TINY};
        pathf(p, sizeof p, "pooled_long.npy");
        if (npy_write(p, NPY_F32, g_long, 3, s3, err, sizeof err) != 0) return -1;
        eng_llm *m2 = eng_llm_load(g_model, NULL, err, sizeof err);
        float *blk = malloc((size_t)(N_LONG + 1) * D_TINY * sizeof(float));
        if (!m2 || !blk) return -1;
        memcpy(blk, g_long, (size_t)N_LONG * D_TINY * sizeof(float));
        memcpy(blk + (size_t)N_LONG * D_TINY, eng_llm_image_newline(m2), D_TINY * sizeof(float));
        eng_llm_free(m2);
        float at[300], ts[3] = {0.0f, 0.5f, 1.0f};
        for (int i = 0; i < 300; i++) at[i] = (float)((i * 37) % 101) / 101.0f;
        int64_t sa[2] = {3, 100}, st1[1] = {3};
        pathf(p, sizeof p, "attn_long.npy");
        if (npy_write(p, NPY_F32, at, 2, sa, err, sizeof err) != 0) return -1;
        pathf(p, sizeof p, "ts3.npy");
        if (npy_write(p, NPY_F32, ts, 1, st1, err, sizeof err) != 0) return -1;
        int64_t s2[2] = {N_LONG + 1, D_TINY};
        pathf(p, sizeof p, "vis_long_nl.npy");
        int wrc = npy_write(p, NPY_F32, blk, 2, s2, err, sizeof err);
        free(blk);
        if (wrc) return -1;
    }
    char cmd[7000], out[4096], why[700];
    if (!tb_test_python_has("torch, numpy", why, sizeof why)) return 0; /* each oracle test reports the skip */
    /* every oracle scenario in one python process (torch's import dominates) */
    pathf(p, sizeof p, "scenarios.txt");
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f, "long --visual %s/vis_long.npy --plan-layer 2 --plan-ratio 0.3 --plan-select attn-mean "
               "--attn-layer 1 --generate 3\n", g_dir);
    fprintf(f, "dart --visual %s/vis_long.npy --plan-layer 2 --plan-select dart --dart-topk 9 --generate 3\n", g_dir);
    fprintf(f, "dartlist --visual %s/vis_long.npy --plan-layer 3 --plan-select dart --dart-pivots 3,6 --dart-topk 7 "
               "--dart-order list\n", g_dir);
    fprintf(f, "dartfw --visual %s/vis_long_nl.npy --plan-layer 2 --plan-select dart --dart-topk 9 --generate 4\n",
            g_dir);
    fputs("base --attn-layer 2 --generate 8\n"
          "fastv --plan-layer 2 --plan-ratio 0.5 --generate 8\n"
          "holitom --plan-layer 1 --plan-keep 4 --plan-merge pairwise --generate 6\n"
          "tango --plan-layer 2 --plan-ratio 0.5 --plan-merge weighted --plan-weight 0.6 --plan-bidir --attn-layer 3\n"
          "mean --plan-layer 3 --plan-keep 7 --plan-select attn-mean --generate 5\n"
          "protect --plan-layer 1 --plan-ratio 0.4 --plan-merge weighted --plan-weight 0.5 "
          "--plan-pool-weight 0.3 --plan-protect 4,9,12 --generate 4\n"
          "indices --plan-layer 2 --plan-indices 12,3,7,0,5 --plan-merge weighted --plan-pos renumber\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s tests/llm_torch_ref.py --model %s --ids %s/ids.npy --visual %s/vis.npy --out %s --batch %s",
             tb_test_python(), g_model, g_dir, g_dir, g_dir, p);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc != 0) {
        fprintf(stderr, "oracle failed (%d): %s\n%s\n", rc, cmd, out);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(g_vis);
    free(g_long);
    return 0;
}

static void load_ref(const char *tag, const char *what, npy_dtype dt, npy_array *a) {
    char p[1200], err[512];
    snprintf(p, sizeof p, "%s/%s_%s.npy", g_dir, tag, what);
    int rc = npy_read(p, dt, a, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

/* |c - r| <= rel * max|r| elementwise; prints the first mismatch. */
static void assert_close(const char *what, const float *c, const double *r, size_t n, double rel) {
    double mx = 0.0, worst = 0.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(r[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - r[i]);
        if (d > worst) {
            worst = d;
            wi = i;
        }
    }
    if (!(worst <= rel * (mx > 0 ? mx : 1.0))) {
        fprintf(stderr, "%s: max |diff| %.3g at %zu (c %.8g ref %.8g), max|ref| %.3g\n", what, worst, wi,
                (double)c[wi], r[wi], mx);
        fail();
    }
}

static eng_llm *load_model(eng_backend_kind be) {
    char err[512];
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = be;
    eng_llm *m = eng_llm_load(g_model, &lp, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    assert_non_null(m);
    return m;
}

static eng_llm_prefill_params base_params(void) {
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = g_ids;
    pp.n_ids = N_IDS;
    pp.visual = g_vis;
    pp.n_visual = g_nvis;
    pp.all_logits = 1;
    return pp;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Every-position logits, the layer-2 attention row and an 8-token greedy continuation (KV cache,
 * repetition penalty 1.05 from generation_config, stop ids) against the torch oracle. */
static void test_llm_logits_attn_generate_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    eng_llm *m = load_model(ENG_BACKEND_CPU);
    char err[512];
    eng_llm_state *s = eng_llm_state_init(m, 64, err, sizeof err);
    assert_non_null(s);
    eng_llm_prefill_params pp = base_params();
    pp.attn_layer = 2;
    eng_llm_prefill_out po;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    int64_t N = N_IDS - 1 + g_nvis;
    assert_int_equal(po.n_tokens, N);
    assert_int_equal(po.visual_start, 4);
    assert_int_equal(po.n_logit_rows, N);
    assert_int_equal(po.vocab_out, ENG_TINY_VOCAB);
    for (int l = 0; l < po.n_layers; l++) {
        assert_int_equal(po.n_tokens_layer[l], N);
        assert_int_equal(po.n_visual_layer[l], g_nvis);
    }
    npy_array lg = {0}, at = {0}, gen = {0};
    load_ref("base", "logits", NPY_F64, &lg);
    assert_int_equal(lg.numel, (size_t)(N * ENG_TINY_VOCAB));
    assert_close("logits", po.logits, lg.data, lg.numel, 1e-4);
    load_ref("base", "attn", NPY_F64, &at);
    assert_int_equal(po.attn_len, N);
    assert_int_equal(at.numel, (size_t)N);
    assert_close("attention row", po.attn_row, at.data, at.numel, 1e-4);
    double sum = 0;
    for (int64_t i = 0; i < po.attn_len; i++) sum += po.attn_row[i];
    assert_true(fabs(sum - 1.0) < 1e-5);
    int64_t toks[8], n_out = 0;
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = 8;
    assert_int_equal(eng_llm_generate(s, &gp, toks, 8, &n_out, err, sizeof err), ENG_OK);
    load_ref("base", "gen", NPY_I64, &gen);
    assert_int_equal((size_t)n_out, gen.numel);
    assert_true(n_out >= 1);
    for (int64_t i = 0; i < n_out; i++) assert_int_equal(toks[i], ((int64_t *)gen.data)[i]);
    eng_llm_timings tm;
    eng_llm_get_timings(s, &tm);
    assert_int_equal(tm.n_prefill, N);
    assert_int_equal(tm.n_decode, n_out - 1); /* the last token is not decoded */
    /* a second generate on the same prefill is refused */
    assert_int_equal(eng_llm_generate(s, &gp, toks, 8, &n_out, err, sizeof err), ENG_ERR_ARG);
    npy_free(&lg);
    npy_free(&at);
    npy_free(&gen);
    eng_llm_state_free(s);
    eng_llm_free(m);
}

/* One plan scenario: engine vs oracle (logits of every final row, kept set, per-layer counts and,
 * when gen > 0, the greedy continuation decoded after pruning). */
static void plan_case_vis(const char *tag, const tb_llm_plan *plan, int gen, int attn_layer, const float *vis,
                          int64_t nvis) {
    eng_llm *m = load_model(ENG_BACKEND_CPU);
    char err[512];
    eng_llm_state *s = eng_llm_state_init(m, N_IDS + nvis + 16, err, sizeof err);
    assert_non_null(s);
    eng_llm_prefill_params pp = base_params();
    pp.visual = vis;
    pp.n_visual = nvis;
    pp.plan = plan;
    pp.attn_layer = attn_layer;
    eng_llm_prefill_out po;
    int rc = eng_llm_prefill(s, &pp, &po, err, sizeof err);
    if (rc) fprintf(stderr, "%s: %s\n", tag, err);
    assert_int_equal(rc, ENG_OK);
    npy_array lg = {0}, kept = {0}, cnt = {0}, g = {0};
    load_ref(tag, "logits", NPY_F64, &lg);
    load_ref(tag, "kept", NPY_I64, &kept);
    load_ref(tag, "counts", NPY_I64, &cnt);
    assert_int_equal(po.n_kept, (int64_t)kept.numel);
    for (size_t i = 0; i < kept.numel; i++) assert_int_equal(po.kept[i], ((int64_t *)kept.data)[i]);
    for (int l = 0; l < po.n_layers; l++) {
        assert_int_equal(po.n_tokens_layer[l], ((int64_t *)cnt.data)[l]);
        assert_int_equal(po.n_visual_layer[l], l < plan->layer ? nvis : (int64_t)kept.numel);
    }
    assert_int_equal(po.n_final, ((int64_t *)cnt.data)[po.n_layers - 1]);
    assert_int_equal(lg.numel, (size_t)(po.n_logit_rows * po.vocab_out));
    assert_close(tag, po.logits, lg.data, lg.numel, 1e-4);
    if (attn_layer >= 0) {
        npy_array at = {0};
        load_ref(tag, "attn", NPY_F64, &at);
        assert_int_equal(po.attn_len, (int64_t)at.numel);
        assert_int_equal(po.attn_len, po.n_tokens_layer[attn_layer]);
        assert_close("attention row after the plan", po.attn_row, at.data, at.numel, 1e-4);
        npy_free(&at);
    }
    /* row_pos maps final rows back to the spliced sequence: text, kept visual, text */
    assert_int_equal(po.row_pos[0], 0);
    for (int64_t i = 0; i < po.n_kept; i++) assert_int_equal(po.row_pos[4 + i], 4 + po.kept[i]);
    if (gen > 0) {
        int64_t toks[16], n_out = 0;
        eng_llm_gen_params gp = eng_llm_gen_default_params();
        gp.max_new_tokens = gen;
        assert_int_equal(eng_llm_generate(s, &gp, toks, 16, &n_out, err, sizeof err), ENG_OK);
        load_ref(tag, "gen", NPY_I64, &g);
        assert_int_equal((size_t)n_out, g.numel);
        for (int64_t i = 0; i < n_out; i++) assert_int_equal(toks[i], ((int64_t *)g.data)[i]);
    }
    npy_free(&lg);
    npy_free(&kept);
    npy_free(&cnt);
    npy_free(&g);
    eng_llm_state_free(s);
    eng_llm_free(m);
}

static void plan_case(const char *tag, const tb_llm_plan *plan, int gen, int attn_layer) {
    plan_case_vis(tag, plan, gen, attn_layer, g_vis, g_nvis);
}

/* A 311-token sequence: the causal prefill runs in query blocks (and the mean-received score is
 * re-weighted across them), the tap at layer 1, FastV compat=paper keeping round(300 * 0.3). */
static void test_llm_long_blocked_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.keep_ratio = 0.3;
    p.select = TB_PLAN_SELECT_ALL_QUERIES;
    plan_case_vis("long", &p, 3, 1, g_long, N_LONG);
}

static void test_llm_plan_fastv_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.keep_ratio = 0.5; /* 13 * 0.5 = 6.5 -> 6 (round half to even) */
    plan_case("fastv", &p, 8, -1);
}

static void test_llm_plan_holitom_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 1;
    p.keep_count = 4;
    p.merge = TB_PLAN_MERGE_PAIRWISE;
    plan_case("holitom", &p, 6, -1);
}

static void test_llm_plan_tango_bidir_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.keep_ratio = 0.5;
    p.merge = TB_PLAN_MERGE_WEIGHTED;
    p.merge_weight = 0.6f;
    p.bidirectional_prev = 1;
    plan_case("tango", &p, 0, 3);
}

static void test_llm_plan_attn_mean_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 3;
    p.keep_count = 7;
    p.select = TB_PLAN_SELECT_ALL_QUERIES;
    plan_case("mean", &p, 5, -1);
}

/* Protected rows (e.g. newlines a method will not prune) and a pool weight w_keep + w_pool != 1:
 * 10 candidates, round(10 * 0.4) = 4 selected + 3 protected kept. */
static void test_llm_plan_protect_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    uint8_t prot[13] = {0};
    prot[4] = prot[9] = prot[12] = 1;
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 1;
    p.keep_ratio = 0.4;
    p.merge = TB_PLAN_MERGE_WEIGHTED;
    p.merge_weight = 0.5f;
    p.merge_pool_weight = 0.3f;
    p.protect = prot;
    plan_case("protect", &p, 4, -1);
}

static void test_llm_plan_indices_renumber_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    static const int64_t idx[] = {12, 3, 7, 0, 5};
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.select = TB_PLAN_SELECT_INDICES;
    p.keep_idx = idx;
    p.n_keep_idx = 5;
    p.merge = TB_PLAN_MERGE_WEIGHTED;
    p.pos = TB_PLAN_POS_RENUMBER;
    plan_case("indices", &p, 0, -1);
}

/* DART at layer 2 on the 311-token sequence (300 visual rows, 8 text rows after them): 4 + 8 x 9
 * rows kept, pivots in CPython's set order of their sequence indices; then 3 and 6 pivots in list
 * order at layer 3. Kept sets, every logit and the continuation against the oracle. */
static void test_llm_plan_dart_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.select = TB_PLAN_SELECT_DART;
    p.per_pivot = 9;
    plan_case_vis("dart", &p, 3, -1, g_long, N_LONG);
    p.layer = 3;
    p.pivot_image = 3;
    p.pivot_text = 6;
    p.per_pivot = 7;
    p.pivot_order = TB_PLAN_ORDER_LIST;
    plan_case_vis("dartlist", &p, 0, -1, g_long, N_LONG);
}

/* C-only: the logits of KV-cache decode steps equal a fresh prefill of the extended sequence
 * (no plan), and greedy argmax reproduces the generated tokens; the ref backend agrees with cpu. */
static void test_llm_kv_cache_vs_reprefill(void **state) {
    (void)state;
    char err[512];
    eng_llm *m = load_model(ENG_BACKEND_CPU);
    eng_llm *mr = load_model(ENG_BACKEND_REF);
    eng_llm_state *s = eng_llm_state_init(m, 40, err, sizeof err);
    eng_llm_state *s2 = eng_llm_state_init(m, 40, err, sizeof err);
    eng_llm_state *sr = eng_llm_state_init(mr, 40, err, sizeof err);
    assert_non_null(s);
    assert_non_null(s2);
    assert_non_null(sr);
    eng_llm_prefill_params pp = base_params();
    pp.all_logits = 0;
    eng_llm_prefill_out po, po2, por;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    assert_int_equal(po.n_logit_rows, 1);
    int64_t N = po.n_tokens;
    /* decode 5 fixed tokens, keeping each step's logits */
    int64_t ext[N_IDS + 5];
    memcpy(ext, g_ids, sizeof g_ids);
    static const int64_t add[5] = {33, 7, 298, 120, 5};
    float steps[5][ENG_TINY_VOCAB];
    for (int k = 0; k < 5; k++) {
        const float *lg = NULL;
        assert_int_equal(eng_llm_decode(s, add[k], &lg, err, sizeof err), ENG_OK);
        memcpy(steps[k], lg, sizeof steps[k]);
        ext[N_IDS + k] = add[k];
    }
    eng_llm_prefill_params p2 = base_params();
    p2.ids = ext;
    p2.n_ids = N_IDS + 5;
    assert_int_equal(eng_llm_prefill(s2, &p2, &po2, err, sizeof err), ENG_OK);
    assert_int_equal(po2.n_logit_rows, N + 5);
    for (int k = 0; k < 5; k++) {
        double ref[ENG_TINY_VOCAB];
        for (int v = 0; v < ENG_TINY_VOCAB; v++) ref[v] = po2.logits[(N + k) * ENG_TINY_VOCAB + v];
        assert_close("decode vs prefill", steps[k], ref, ENG_TINY_VOCAB, 1e-5);
    }
    /* the reference backend */
    assert_int_equal(eng_llm_prefill(sr, &p2, &por, err, sizeof err), ENG_OK);
    double *ref = malloc((size_t)por.n_logit_rows * ENG_TINY_VOCAB * sizeof *ref);
    for (int64_t i = 0; i < por.n_logit_rows * ENG_TINY_VOCAB; i++) ref[i] = por.logits[i];
    assert_close("cpu vs ref backend", po2.logits, ref, (size_t)(po2.n_logit_rows * ENG_TINY_VOCAB), 1e-5);
    free(ref);
    /* the cache is full at n_ctx: 25 + 5 rows used of 40; fill it and expect a clean error */
    for (int64_t k = N + 5; k < 40; k++) assert_int_equal(eng_llm_decode(s, 1, NULL, err, sizeof err), ENG_OK);
    assert_int_equal(eng_llm_decode(s, 1, NULL, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "full"));
    eng_llm_state_free(s);
    eng_llm_state_free(s2);
    eng_llm_state_free(sr);
    eng_llm_free(m);
    eng_llm_free(mr);
}

/* The llava-hf layout and a 2-shard lmms checkpoint of the same seed hold the same numbers under
 * other names / files: the same logits. A constant shift of every position id leaves the logits
 * unchanged (RoPE is relative), a non-uniform change does not. */
static void test_llm_layouts_and_positions(void **state) {
    (void)state;
    char err[512], dir[1200];
    eng_llm *m = load_model(ENG_BACKEND_CPU);
    eng_llm_state *s = eng_llm_state_init(m, 64, err, sizeof err);
    eng_llm_prefill_params pp = base_params();
    eng_llm_prefill_out po;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    size_t nl = (size_t)(po.n_logit_rows * po.vocab_out);
    double *ref = malloc(nl * sizeof *ref);
    for (size_t i = 0; i < nl; i++) ref[i] = po.logits[i];
    /* shifted positions */
    int64_t pos[64];
    for (int64_t i = 0; i < po.n_tokens; i++) pos[i] = i + 1000;
    pp.pos = pos;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    assert_close("shifted positions", po.logits, ref, nl, 1e-4);
    pos[3] += 7; /* a gap before the visual block */
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    double worst = 0;
    for (size_t i = (size_t)(4 * po.vocab_out); i < nl; i++) worst = fmax(worst, fabs(po.logits[i] - ref[i]));
    assert_true(worst > 1e-3);
    eng_llm_state_free(s);
    eng_llm_free(m);
    /* hf layout (its own image token id is a placeholder too) and a sharded lmms checkpoint */
    for (int variant = 0; variant < 2; variant++) {
        eng_tiny_params tp = eng_tiny_default_params();
        if (variant == 0) tp.layout = ENG_LAYOUT_HF;
        else tp.shards = 2;
        snprintf(dir, sizeof dir, "%s/tiny-%s", g_dir, variant == 0 ? "hf" : "shards");
        assert_int_equal(eng_tiny_model_write(dir, &tp, err, sizeof err), 0);
        eng_llm *m2 = eng_llm_load(dir, NULL, err, sizeof err);
        if (!m2) fprintf(stderr, "%s\n", err);
        assert_non_null(m2);
        eng_llm_state *s2 = eng_llm_state_init(m2, 64, err, sizeof err);
        eng_llm_prefill_params p2 = base_params();
        int64_t ids2[N_IDS];
        memcpy(ids2, g_ids, sizeof g_ids);
        if (variant == 0) ids2[4] = ENG_TINY_ID_IMAGE;
        p2.ids = ids2;
        assert_int_equal(eng_llm_prefill(s2, &p2, &po, err, sizeof err), ENG_OK);
        assert_int_equal((size_t)(po.n_logit_rows * po.vocab_out), nl);
        assert_close(variant == 0 ? "hf layout" : "2 shards", po.logits, ref, nl, 1e-6);
        eng_llm_state_free(s2);
        eng_llm_free(m2);
    }
    free(ref);
}

/* Greedy generation picks the first maximum over ids < vocab_limit only. */
static void test_llm_vocab_limit(void **state) {
    (void)state;
    char err[512];
    eng_llm_params lp = eng_llm_default_params();
    lp.vocab_limit = 100;
    eng_llm *m = eng_llm_load(g_model, &lp, err, sizeof err);
    assert_non_null(m);
    eng_llm_info info;
    eng_llm_get_info(m, &info);
    assert_int_equal(info.vocab_out, 100);
    assert_int_equal(info.vocab, ENG_TINY_VOCAB);
    assert_int_equal(info.n_stop, 2);
    assert_true(fabs(info.repetition_penalty - 1.05) < 1e-12);
    /* weights: embedding + lm_head [320, 64], 4 layers of 4*64*64 + 2*2*16*64 + 3*64*128 + biases and
     * norms, final norm, newline */
    size_t per_layer = 64 * 64 * 2 + 2 * 32 * 64 + 3 * 64 * 128 + (64 + 2 * 32) + 2 * 64;
    assert_int_equal(info.weight_bytes, 4 * (2 * 320 * 64 + 4 * per_layer + 64 + 64));
    eng_llm_state *s = eng_llm_state_init(m, 64, err, sizeof err);
    size_t sb = eng_llm_state_bytes(s);
    assert_true(sb > 2 * 4 * 64 * 32 * sizeof(float)); /* at least the KV cache */
    eng_llm_prefill_params pp = base_params();
    eng_llm_prefill_out po;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    assert_int_equal(po.vocab_out, 100);
    assert_int_equal(eng_llm_state_bytes(s), sb + (size_t)po.n_logit_rows * 100 * sizeof(float));
    int64_t toks[6], n = 0;
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = 6;
    gp.repetition_penalty = 1.0;
    assert_int_equal(eng_llm_generate(s, &gp, toks, 6, &n, err, sizeof err), ENG_OK);
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++) assert_true(toks[i] >= 0 && toks[i] < 100);
    eng_llm_state_free(s);
    eng_llm_free(m);
    /* a limit above V is refused */
    lp.vocab_limit = ENG_TINY_VOCAB + 1;
    assert_null(eng_llm_load(g_model, &lp, err, sizeof err));
    assert_non_null(strstr(err, "vocab_limit"));
}

/* Bad inputs: clear errors, no crash, state usable afterwards. */
static void test_llm_bad_inputs(void **state) {
    (void)state;
    char err[512];
    char bad[1200];
    snprintf(bad, sizeof bad, "%s/no-such-model", g_dir);
    assert_null(eng_llm_load(bad, NULL, err, sizeof err));
    assert_non_null(strstr(err, "no-such-model"));
    eng_llm *m = load_model(ENG_BACKEND_CPU);
    assert_null(eng_llm_state_init(m, 0, err, sizeof err));
    eng_llm_state *s = eng_llm_state_init(m, 30, err, sizeof err);
    assert_non_null(s);
    eng_llm_prefill_out po;
    /* decode before prefill */
    assert_int_equal(eng_llm_decode(s, 1, NULL, err, sizeof err), ENG_ERR_ARG);
    /* two placeholders */
    int64_t two[] = {1, -200, 2, -200};
    eng_llm_prefill_params pp = base_params();
    pp.ids = two;
    pp.n_ids = 4;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "placeholder"));
    /* id out of range */
    int64_t oob[] = {1, ENG_TINY_VOCAB, -200};
    pp.ids = oob;
    pp.n_ids = 3;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "outside"));
    /* visual rows without a placeholder */
    int64_t txt[] = {1, 2, 3};
    pp.ids = txt;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    /* longer than n_ctx (25 > 20 is fine at 30; use a smaller state) */
    eng_llm_state *small = eng_llm_state_init(m, 20, err, sizeof err);
    pp = base_params();
    assert_int_equal(eng_llm_prefill(small, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "n_ctx"));
    eng_llm_state_free(small);
    /* tap layer out of range */
    pp.attn_layer = 4;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    pp.attn_layer = -1;
    /* plans: layer outside 1..L-1, weight outside [0,1], repeated / out-of-span indices */
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 4;
    p.keep_ratio = 0.5;
    pp.plan = &p;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "layer"));
    p.layer = 1;
    p.merge_weight = 1.5f;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    p.merge_weight = 0.6f;
    static const int64_t rep[] = {1, 1}, far[] = {13};
    p.select = TB_PLAN_SELECT_INDICES;
    p.keep_idx = rep;
    p.n_keep_idx = 2;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "repeated"));
    p.keep_idx = far;
    p.n_keep_idx = 1;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    /* a failed prefill leaves nothing to decode from; a good one works afterwards */
    assert_int_equal(eng_llm_decode(s, 1, NULL, err, sizeof err), ENG_ERR_ARG);
    pp.plan = NULL;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    assert_int_equal(eng_llm_decode(s, ENG_TINY_VOCAB, NULL, err, sizeof err), ENG_ERR_ARG);
    assert_int_equal(eng_llm_decode(s, 5, NULL, err, sizeof err), ENG_OK);
    /* a plan keeping everything / nothing is well defined */
    p = tb_llm_plan_default();
    p.layer = 1;
    p.keep_ratio = 0.0;
    pp.plan = &p;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    assert_int_equal(po.n_visual_layer[0], g_nvis);
    assert_int_equal(po.n_visual_layer[1], 0);
    assert_int_equal(po.n_final, N_IDS - 1);
    p.keep_ratio = 1.0;
    p.merge = TB_PLAN_MERGE_PAIRWISE;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    assert_int_equal(po.n_visual_layer[3], g_nvis);
    eng_llm_state_free(s);
    eng_llm_free(m);
    eng_llm_state_free(NULL);
    eng_llm_free(NULL);
}

/* The forward command: pooled [T, L, D] input assembled by the command equals the library's
 * assembled run; bad usage returns 2, a missing file 1. */
static void test_llm_forward_cli(void **state) {
    (void)state;
    char err[512], cmd[7000], out[4096], p[1200];
    /* pooled input: rebuild [T, L, D] from g_vis (drop the trailing newline) */
    int64_t shp[3] = {NV_FRAMES, NV_GRID * NV_GRID, D_TINY};
    pathf(p, sizeof p, "pooled.npy");
    assert_int_equal(npy_write(p, NPY_F32, g_vis, 3, shp, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled.npy --out %s/cli_logits.npy "
             "--attn-layer 1 --attn-out %s/cli_attn.npy --generate 4 --gen-out %s/cli_gen.npy "
             "--plan-layer 2 --plan-keep 0.5 --plan-rule tango",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir, g_dir, g_dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "visual tokens per layer: 13 13 6 6"));
    /* same run through the library */
    eng_llm *m = load_model(ENG_BACKEND_CPU);
    eng_llm_state *s = eng_llm_state_init(m, 64, err, sizeof err);
    tb_llm_plan pl = tb_llm_plan_default();
    pl.layer = 2;
    pl.keep_ratio = 0.5;
    pl.merge = TB_PLAN_MERGE_WEIGHTED;
    eng_llm_prefill_params pp = base_params();
    pp.plan = &pl;
    pp.attn_layer = 1;
    eng_llm_prefill_out po;
    assert_int_equal(eng_llm_prefill(s, &pp, &po, err, sizeof err), ENG_OK);
    npy_array a = {0}, b = {0}, g = {0};
    pathf(p, sizeof p, "cli_logits.npy");
    assert_int_equal(npy_read(p, NPY_F64, &a, err, sizeof err), 0);
    assert_int_equal(a.shape[0], po.n_logit_rows);
    assert_close("cli logits", po.logits, a.data, a.numel, 1e-6);
    pathf(p, sizeof p, "cli_attn.npy");
    assert_int_equal(npy_read(p, NPY_F64, &b, err, sizeof err), 0);
    assert_int_equal((int64_t)b.numel, po.n_tokens);
    assert_close("cli attn", po.attn_row, b.data, b.numel, 1e-6);
    pathf(p, sizeof p, "cli_gen.npy");
    assert_int_equal(npy_read(p, NPY_I64, &g, err, sizeof err), 0);
    assert_true(g.numel >= 1 && g.numel <= 4);
    npy_free(&a);
    npy_free(&b);
    npy_free(&g);
    eng_llm_state_free(s);
    eng_llm_free(m);
    /* usage errors -> 2 */
    snprintf(cmd, sizeof cmd, "%s forward --model %s --input-ids %s/ids.npy --out %s/x.npy --plan-rule nope",
             tb_test_bin(), g_model, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "plan-rule"));
    snprintf(cmd, sizeof cmd, "%s forward --model %s --input-ids %s/ids.npy --visual %s/vis.npy --out %s/x.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1); /* 2-D visual without --assembled */
    assert_non_null(strstr(out, "assembled"));
    /* missing file -> 1 naming it */
    snprintf(cmd, sizeof cmd, "%s forward --model %s --input-ids %s/none.npy --out %s/x.npy", tb_test_bin(), g_model,
             g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "none.npy"));
}

/* forward --method dart on pooled tokens [3, 100, D]: the command assembles the block (300 rows +
 * the newline), runs DART's plan at layer 2 with T = 9, and writes the kept span-relative indices
 * (int64, ascending; test_llm_forward_method_dart_vs_torch checks them against the oracle). Other
 * in-LLM methods run through the same path (HoliTom with its pre-LLM stage); pre-LLM methods,
 * missing inputs and a method without a stage on the model are usage errors. */
static void test_llm_forward_method_cli(void **state) {
    (void)state;
    char cmd[7000], out[8192], p[1200], err[512];
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method dart --ratio 0.5 "
             "--set token_topk=9 --kept-out %s/fw_kept.npy --out %s/fw_logits.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir, g_dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "dart: 301 visual tokens enter the LLM"));
    assert_non_null(strstr(out, "visual tokens per layer: 301 301 76 76"));
    npy_array k = {0};
    pathf(p, sizeof p, "fw_kept.npy");
    assert_int_equal(npy_read(p, NPY_I64, &k, err, sizeof err), 0);
    assert_int_equal(k.ndim, 1);
    assert_int_equal((int64_t)k.numel, 76);
    const int64_t *kv = k.data;
    for (size_t i = 1; i < k.numel; i++) assert_true(kv[i] > kv[i - 1] && kv[i] < 301);
    npy_free(&k);
    /* FastV through the same path: on 4 layers with k = 2, r = 0.75 keeps (4 * 0.75 - 2) * 301 / 2
     * = 150.5 -> 151 rows from layer 2 (the solver's keep count) */
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method fastv --ratio 0.75 "
             "--kept-out %s/fw_kept2.npy --out %s/fw_logits2.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir, g_dir);
    rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "visual tokens per layer: 301 301 151 151"));
    /* HoliTom: its pre-LLM stage needs --attn; with it, the block it keeps and a plan at layer 3 */
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method holitom --ratio 0.4 "
             "--out %s/x.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--attn"));
    /* a pre-LLM method is refused, so is a method name that does not exist */
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method vidcom2 --ratio 0.4 "
             "--out %s/x.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "no in-LLM stage"));
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method nope --ratio 0.4 "
             "--out %s/x.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    /* Tango on a one_token (OneVision) model has no in-LLM stage unless asked for */
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method tango --ratio 0.4 "
             "--attn %s/attn_long.npy --timestamps %s/ts3.npy --set sinks= --out %s/x.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "no in-LLM stage"));
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method tango --ratio 0.4 "
             "--attn %s/attn_long.npy --timestamps %s/ts3.npy --set sinks= --set llm_stage=1 --kept-out %s/fw_kt.npy "
             "--out %s/x.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir);
    rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "plan at layer 3"));
    /* --kept-out without a plan, --set without --method */
    snprintf(cmd, sizeof cmd, "%s forward --model %s --input-ids %s/ids.npy --kept-out %s/k.npy --out %s/x.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s forward --model %s --input-ids %s/ids.npy --set k=2 --out %s/x.npy", tb_test_bin(),
             g_model, g_dir, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
}

/* forward --method dart against the oracle: kept rows, every logit, the continuation. */
static void test_llm_forward_method_dart_vs_torch(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    char cmd[7000], out[8192], p[1200], err[512];
    snprintf(cmd, sizeof cmd,
             "%s forward --model %s --input-ids %s/ids.npy --visual %s/pooled_long.npy --method dart --ratio 0.5 "
             "--set token_topk=9 --kept-out %s/fwo_kept.npy --out %s/fwo_logits.npy --generate 4 --gen-out %s/fwo_gen.npy",
             tb_test_bin(), g_model, g_dir, g_dir, g_dir, g_dir, g_dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    npy_array k = {0}, rk = {0}, lg = {0}, rl = {0}, g = {0}, rg = {0};
    pathf(p, sizeof p, "fwo_kept.npy");
    assert_int_equal(npy_read(p, NPY_I64, &k, err, sizeof err), 0);
    load_ref("dartfw", "kept", NPY_I64, &rk);
    assert_int_equal(rk.numel, k.numel);
    assert_memory_equal(rk.data, k.data, k.numel * sizeof(int64_t));
    pathf(p, sizeof p, "fwo_logits.npy");
    assert_int_equal(npy_read(p, NPY_F32, &lg, err, sizeof err), 0);
    load_ref("dartfw", "logits", NPY_F64, &rl);
    assert_int_equal(lg.numel, rl.numel);
    assert_close("forward --method dart logits", lg.data, rl.data, rl.numel, 1e-4);
    pathf(p, sizeof p, "fwo_gen.npy");
    assert_int_equal(npy_read(p, NPY_I64, &g, err, sizeof err), 0);
    load_ref("dartfw", "gen", NPY_I64, &rg);
    assert_int_equal(g.numel, rg.numel);
    assert_memory_equal(g.data, rg.data, g.numel * sizeof(int64_t));
    npy_free(&k), npy_free(&rk), npy_free(&lg), npy_free(&rl), npy_free(&g), npy_free(&rg);
}

/* The infer command end to end on the tiny model and a 2-second test-pattern video: exit 0, an
 * extracted answer, the visual token count of 4 frames x 16 pooled tokens + 1 newline, timings;
 * bad usage 2, a missing video 1 naming it. */
static void test_llm_infer_cli(void **state) {
    (void)state;
    char cmd[7000], out[8192];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -loglevel error -y -f lavfi -i testsrc=size=128x96:rate=10 -t 2 -pix_fmt yuv420p %s/clip.mp4",
             g_dir);
    if (tb_test_run(cmd, out, sizeof out) != 0) TB_SKIP("the ffmpeg CLI could not write a test video: %.300s", out);
    snprintf(cmd, sizeof cmd,
             "%s infer --model %s --video %s/clip.mp4 --question 'What is shown?' "
             "--options 'A. bars|B. cats|C. dogs|D. sky' --frames 4 --max-new-tokens 6 --gold A",
             tb_test_bin(), g_model, g_dir);
    int rc = tb_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "answer: "));
    assert_non_null(strstr(out, "correct: "));
    assert_non_null(strstr(out, " + 65 visual"));
    assert_non_null(strstr(out, "generated 6"));
    assert_non_null(strstr(out, "timings: decode"));
    snprintf(cmd, sizeof cmd, "%s infer --model %s --video %s/clip.mp4 --question q --options 'only one'",
             tb_test_bin(), g_model, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s infer --model %s --video %s/missing.mp4 --question q --options 'A. x|B. y'",
             tb_test_bin(), g_model, g_dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "missing.mp4"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llm_logits_attn_generate_vs_torch),
        cmocka_unit_test(test_llm_long_blocked_vs_torch),
        cmocka_unit_test(test_llm_plan_fastv_vs_torch),
        cmocka_unit_test(test_llm_plan_holitom_vs_torch),
        cmocka_unit_test(test_llm_plan_tango_bidir_vs_torch),
        cmocka_unit_test(test_llm_plan_attn_mean_vs_torch),
        cmocka_unit_test(test_llm_plan_protect_vs_torch),
        cmocka_unit_test(test_llm_plan_indices_renumber_vs_torch),
        cmocka_unit_test(test_llm_plan_dart_vs_torch),
        cmocka_unit_test(test_llm_kv_cache_vs_reprefill),
        cmocka_unit_test(test_llm_layouts_and_positions),
        cmocka_unit_test(test_llm_vocab_limit),
        cmocka_unit_test(test_llm_bad_inputs),
        cmocka_unit_test(test_llm_forward_cli),
        cmocka_unit_test(test_llm_forward_method_cli),
        cmocka_unit_test(test_llm_forward_method_dart_vs_torch),
        cmocka_unit_test(test_llm_infer_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
