/* test_tango.c - Tango (tango/tango.h) pinned sub-step by sub-step to hand-checkable cases from
 * the spec (r_adj, the budget tables, the write-back permutation, newline assembly, sinks,
 * static pooling) and checked for properties on synthetic videos (budgets, determinism, unique
 * in-range indices, thread-count independence). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/tb_test.h"

#include "harness/npy.h"
#include "tango/pruner.h"
#include "tango/tango.h"
#include "tango/kit.h"
#include "tb_prune_test.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* ===== synthetic videos ===== */

typedef struct {
    int64_t T, H, W, L, D;
    float *F, *A, *ts;
} video;

static float gauss(tg_rng *r) {
    float u = tg_rng_uniform(r) + 1e-7f, v = tg_rng_uniform(r);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* Scenes of scene_len frames (a cut between scenes); in each scene about half the positions
 * are frozen (tiny noise), the rest drift strongly from frame to frame. */
static video make_video(int64_t T, int64_t H, int64_t W, int64_t D, int scene_len, uint64_t seed) {
    video v = {T, H, W, H * W, D, NULL, NULL, NULL};
    int64_t L = v.L;
    v.F = malloc(sizeof(float) * (size_t)(T * L * D));
    v.A = malloc(sizeof(float) * (size_t)(T * L));
    v.ts = malloc(sizeof(float) * (size_t)T);
    tg_rng r;
    tg_rng_seed(&r, seed);
    float *base = malloc(sizeof(float) * (size_t)(L * D));
    uint8_t *frozen = malloc((size_t)L);
    for (int64_t t = 0; t < T; t++) {
        if (t % scene_len == 0) {
            for (int64_t i = 0; i < L * D; i++) base[i] = gauss(&r);
            for (int64_t l = 0; l < L; l++) frozen[l] = tg_rng_uniform(&r) < 0.5f;
        }
        for (int64_t l = 0; l < L; l++)
            for (int64_t d = 0; d < D; d++) {
                float noise = gauss(&r) * (frozen[l] ? 0.01f : 1.0f);
                v.F[(t * L + l) * D + d] = base[l * D + d] + noise;
            }
        double s = 0;
        for (int64_t l = 0; l < L; l++) {
            float e = expf(2.0f * gauss(&r));
            v.A[t * L + l] = e;
            s += e;
        }
        for (int64_t l = 0; l < L; l++) v.A[t * L + l] = (float)(v.A[t * L + l] / s);
        v.ts[t] = 0.5f * (float)t;
    }
    free(base);
    free(frozen);
    return v;
}

static void free_video(video *v) {
    free(v->F);
    free(v->A);
    free(v->ts);
}

static tg_prune_input input_of(const video *v, double ratio, const char *const *kv, int n) {
    tg_prune_input in = tg_prune_input_default();
    in.features = v->F;
    in.saliency = v->A;
    in.timestamps = v->ts;
    in.n_frames = v->T;
    in.n_tokens = v->L;
    in.dim = v->D;
    in.grid_h = v->H;
    in.grid_w = v->W;
    in.ratio = ratio;
    in.params = kv;
    in.n_params = n;
    in.n_threads = 1;
    in.model = tg_model_layout_default(TB_FAMILY_LLAVA_OV, 28, v->D);
    return in;
}

/* input_of for the LLaVA-Video family (13x13 grids, a newline per row, the layer-18 stage). */
static tg_prune_input video_input_of(const video *v, double ratio, const char *const *kv, int n) {
    tg_prune_input in = input_of(v, ratio, kv, n);
    in.model = tg_model_layout_default(TB_FAMILY_LLAVA_VIDEO, 28, v->D);
    return in;
}

/* ===== budget arithmetic ===== */

static void test_r_adj(void **state) {
    (void)state;
    /* spec §8 worked example: OV, r = 0.1, n = 4, S = 50 -> 0.1 / (634/784) */
    double v = tg_tango_r_adj(0.1, 4, 196, 50);
    assert_true(v == 0.1 / ((784.0 - 150.0) / 784.0));
    NEAR(v, 0.12366, 1e-5);
    assert_true(tg_tango_r_adj(0.5, 4, 196, 196) == 1.0); /* clamped */
    assert_true(tg_tango_r_adj(0.1, 3, 196, 0) == 0.1 / (588.0 / 588.0));
    /* the worked budgets */
    tg_tango_budget s = tg_tango_compress_budget(50, v, 0.4, 1.5);
    assert_int_equal(s.R, 7);
    assert_int_equal(s.sal, 4);
    assert_int_equal(s.ctx, 3);
    assert_int_equal(s.cand, 6);
    assert_int_equal(s.k, 4);
    tg_tango_budget d = tg_tango_dynamic_budget(146, v, 0.4, 1.5);
    assert_int_equal(d.R, 19);
    assert_int_equal(d.sal, 11);
    assert_int_equal(d.ctx, 8);
    assert_int_equal(d.cand, 16);
    assert_int_equal(d.ctx * 4, 32);
    assert_int_equal(s.R + 4 * d.R, 83);
}

static void test_budget_tables(void **state) {
    (void)state;
    struct {
        int64_t L;
        double r;
        int64_t R, sal, ctx, cand;
    } rows[] = {
        {196, 0.10, 20, 12, 8, 18}, {196, 0.15, 30, 18, 12, 27}, {196, 0.20, 40, 24, 16, 36},
        {169, 0.121739, 21, 12, 9, 18}, {169, 0.182609, 31, 18, 13, 27}, {169, 0.243478, 42, 25, 17, 37},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tg_tango_budget b = tg_tango_compress_budget(rows[i].L, rows[i].r, 0.4, 1.5);
        assert_int_equal(b.R, rows[i].R);
        assert_int_equal(b.sal, rows[i].sal);
        assert_int_equal(b.ctx, rows[i].ctx);
        assert_int_equal(b.cand, rows[i].cand);
    }
    /* LLaVA-Video pre-LLM ratios: the %.6g strings (official) and exact 28r/23 (paper) */
    assert_true(tg_tango_video_ratio(0.10, 28, 1) == 0.121739);
    assert_true(tg_tango_video_ratio(0.15, 28, 1) == 0.182609);
    assert_true(tg_tango_video_ratio(0.20, 28, 1) == 0.243478);
    assert_true(tg_tango_video_ratio(0.10, 28, 0) == 28.0 * 0.10 / 23.0);
    /* another depth: the stage at round(18 * 4 / 28) = 3 of 4 layers keeping 0.5: 4r / 3.5 */
    assert_true(tg_tango_video_ratio(0.10, 4, 0) == 4.0 * 0.10 / 3.5);
    /* R = 1: sal = int(0.6) = 0, everything is one context anchor */
    tg_tango_budget one = tg_tango_compress_budget(3, 0.1, 0.4, 1.5);
    assert_int_equal(one.R, 1);
    assert_int_equal(one.sal, 0);
    assert_int_equal(one.ctx, 1);
    tg_tango_budget none = tg_tango_compress_budget(0, 0.1, 0.4, 1.5);
    assert_int_equal(none.R, 0);
    /* dynamic budget has no max(1, .): ceil(0) = 0 */
    assert_int_equal(tg_tango_dynamic_budget(5, 0.0, 0.4, 1.5).R, 0);
    /* tau by ratio */
    assert_true(tg_tango_default_tau(0.1) == 0.65);
    assert_true(tg_tango_default_tau(0.15) == 0.8);
    assert_true(tg_tango_default_tau(0.2) == 0.8);
}

/* ===== write-back permutation ===== */

static void test_writeback_map(void **state) {
    (void)state;
    int64_t g[] = {5, 2, 9}, dest[3];
    tg_tango_writeback(g, 3, 1, dest);
    assert_int_equal(dest[0], 5); /* merged vector of anchor 2 (the smallest) lands at 5 */
    assert_int_equal(dest[1], 2);
    assert_int_equal(dest[2], 9);
    tg_tango_writeback(g, 3, 0, dest);
    assert_int_equal(dest[0], 2);
    assert_int_equal(dest[1], 5);
    assert_int_equal(dest[2], 9);
}

static tg_tango_params params_for(int64_t T, int64_t L, int64_t D, const char *const *kv, int n) {
    static float dummy;
    tg_prune_input in = tg_prune_input_default();
    in.features = &dummy;
    in.saliency = &dummy;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = 1;
    in.grid_w = L;
    in.ratio = 0.25;
    in.params = kv;
    in.n_params = n;
    tt_params keep;
    assert_int_equal(tt_apply_layout(&in, &keep), 0);
    tg_tango_params p;
    char err[256];
    int rc = tg_tango_params_resolve(&in, &p, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, TG_OK);
    return p;
}

/* 12 points in 3 clusters on a 4-d line: A (ids 0..3, loose), B (4..7, tight), C (8..11,
 * medium). COMPRESS with ratio 0.25 and context_ratio 1 keeps 3 context anchors (no salient
 * step). The densest cluster's centre comes first by gamma, so gamma order != id order. */
static void build_clusters(float *Q, float *X) {
    const float centre[3] = {0.0f, 10.0f, 20.0f}, spread[3] = {0.5f, 0.05f, 0.2f};
    const float off[4] = {0.0f, 1.0f, -1.0f, 1.7f};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++) {
            int id = c * 4 + i;
            for (int d = 0; d < 4; d++) Q[id * 4 + d] = 0;
            Q[id * 4] = centre[c] + spread[c] * off[i];
            for (int d = 0; d < 4; d++) X[id * 4 + d] = (float)(100 * c + 10 * i + d);
        }
}

static void expected_merge(const float *X, int64_t anchor, int cluster, float beta, float *out) {
    for (int d = 0; d < 4; d++) {
        double mu = 0;
        for (int i = 0; i < 4; i++) mu += X[(cluster * 4 + i) * 4 + d];
        mu /= 4;
        out[d] = (float)(beta * X[anchor * 4 + d] + (1 - beta) * mu);
    }
}

static void test_writeback_compress(void **state) {
    (void)state;
    float Q[48], X[48], a[12];
    build_clusters(Q, X);
    for (int i = 0; i < 12; i++) a[i] = 1.0f;
    for (int mode = 0; mode < 2; mode++) {
        const char *kv[] = {"sinks=", "context_ratio=1", "jitter=0", "knn=3",
                            mode ? "compat=paper" : "compat=official"};
        tg_tango_params p = params_for(1, 12, 4, kv, 5);
        assert_int_equal(p.q_writeback_perm, mode == 0);
        tg_rng rng;
        tg_rng_seed(&rng, 0);
        int64_t kept[12];
        tg_tango_compress_result res;
        char err[256];
        assert_int_equal(tg_tango_compress(X, Q, a, 12, 4, 0.25, &p, &rng, kept, &res, err, sizeof err), TG_OK);
        assert_int_equal(res.n_kept, 3);
        assert_int_equal(res.n_salient, 0);
        assert_int_equal(res.n_merged, 3);
        /* one anchor per cluster, kept sorted */
        for (int q = 0; q < 3; q++) assert_int_equal(kept[q] / 4, q);
        /* merged[q] is the merge of the q-th smallest anchor's cluster */
        float beta = tg_fp16_round(0.6f);
        for (int q = 0; q < 3; q++) {
            float e[4];
            expected_merge(X, kept[q], q, beta, e);
            for (int d = 0; d < 4; d++) NEAR(res.merged[q * 4 + d], e[d], 1e-4);
        }
        if (mode == 0) {
            /* official: position of the q-th anchor BY GAMMA receives merged[q]; the tight
             * cluster B (ids 4..7) leads by gamma, so cluster A's merge lands in cluster B */
            assert_int_equal(res.merged_pos[0] / 4, 1);
            int moved = 0;
            for (int q = 0; q < 3; q++) moved += res.merged_pos[q] != kept[q];
            assert_true(moved >= 2);
        } else {
            for (int q = 0; q < 3; q++) assert_int_equal(res.merged_pos[q], kept[q]);
        }
        tg_tango_compress_result_free(&res);
    }
}

static void test_select_in_clusters(void **state) {
    (void)state;
    /* 9 candidates, three clusters; the best-scored member of each is not its centre */
    float Q[9 * 2] = {0, 0, 0.1f, 0, 0, 0.1f, 5, 5, 5.1f, 5, 5, 5.1f, 9, 0, 9.1f, 0, 9, 0.1f};
    float a[9] = {0.1f, 0.9f, 0.2f, 0.3f, 0.1f, 0.8f, 0.5f, 0.4f, 0.95f};
    const char *kv[] = {"sinks=", "jitter=0", "knn=2"};
    tg_tango_params p = params_for(1, 9, 2, kv, 3);
    int64_t ch[3];
    char err[128];
    assert_int_equal(tg_tango_select_in_clusters(Q, a, 9, 2, 3, &p, NULL, NULL, ch, err, sizeof err), TG_OK);
    int got[9] = {0};
    for (int j = 0; j < 3; j++) got[ch[j]] = 1;
    assert_true(got[1] && got[5] && got[8]);
}

/* ===== parameters, quirks ===== */

static int has_quirk(const tg_prune_output *o, const char *q) {
    for (int i = 0; i < o->n_quirks; i++)
        if (!strcmp(o->quirks[i], q)) return 1;
    return 0;
}

static void test_params_defaults(void **state) {
    (void)state;
    const char *none[] = {NULL};
    tg_tango_params p = params_for(4, 196, 3584, none, 0);
    assert_int_equal(p.family, TB_FAMILY_LLAVA_OV);
    assert_int_equal(p.n_sinks, 6);
    assert_int_equal(p.sinks[0], 28);
    assert_int_equal(p.sinks[3], 169);
    assert_int_equal(p.strope.sec_t, 1196);
    assert_true(p.tau_static == 0.8);
    assert_true(p.knn == 7 && p.alpha == 1.5 && p.beta == 0.6 && p.context_ratio == 0.4);
    assert_true(p.jitter == 1e-6);
    assert_int_equal(p.llm_stage, 0);
    const char *paper[] = {"compat=paper"};
    p = params_for(4, 196, 3584, paper, 1);
    assert_int_equal(p.n_sinks, 1);
    assert_int_equal(p.sinks[0], 28);
    assert_int_equal(p.strope.sec_t, 1186);
    assert_int_equal(p.strope.sec_h, 1184);
    assert_true(p.tau_static == p.tau_segment);
    assert_int_equal(p.q_writeback_perm + p.q_static_tau_fixed + p.q_sinks_extended + p.q_sections_1196, 0);
    const char *vid[] = {"model=llava-video"};
    p = params_for(4, 169, 3584, vid, 1);
    assert_int_equal(p.n_sinks, 3);
    assert_int_equal(p.sinks[0], 26);
    assert_int_equal(p.llm_stage, 1);
    assert_true(p.ratio_pre == 0.304348); /* %.6g of 28*0.25/23 */
    const char *vidp[] = {"model=llava-video", "compat=paper"};
    p = params_for(4, 169, 3584, vidp, 2);
    assert_true(p.ratio_pre == 28.0 * 0.25 / 23.0);
    assert_int_equal(p.sinks[0], 26);
    const char *ov[] = {"sinks=1,2", "strope_sections=4,2,2", "tau_segment=0.5", "tau_static=0.7", "jitter=1"};
    p = params_for(2, 9, 8, ov, 5);
    assert_int_equal(p.n_sinks, 2);
    assert_int_equal(p.strope.sec_t, 4);
    assert_true(p.tau_segment == 0.5 && p.tau_static == 0.7);
    assert_true(p.jitter == 1e-6);
    assert_int_equal(p.q_sinks_extended + p.q_static_tau_fixed, 0);
}

static void expect_param_error(const char *kv0, int64_t L, int64_t D, const char *needle) {
    static float dummy;
    tg_prune_input in = tg_prune_input_default();
    in.features = &dummy;
    in.saliency = &dummy;
    in.n_frames = 2;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = 1;
    in.grid_w = L;
    in.ratio = 0.1;
    const char *kv[] = {kv0};
    in.params = kv;
    in.n_params = kv0 ? 1 : 0;
    in.model = tg_model_layout_default(TB_FAMILY_LLAVA_OV, 28, D);
    tg_tango_params p;
    char err[256] = "";
    assert_int_equal(tg_tango_params_resolve(&in, &p, err, sizeof err), TG_ERR_INPUT);
    if (!strstr(err, needle)) fprintf(stderr, "error '%s' lacks '%s'\n", err, needle);
    assert_non_null(strstr(err, needle));
}

static void test_params_errors(void **state) {
    (void)state;
    expect_param_error("bogus=1", 196, 64, "unknown parameter 'bogus'");
    expect_param_error("compat=both", 196, 64, "compat");
    expect_param_error("model=qwen", 196, 64, "model");
    expect_param_error(NULL, 169, 64, "169"); /* OV sinks on a 13x13 grid */
    expect_param_error("strope_sections=3,2,2", 196, 64, "even");
    expect_param_error("strope_sections=40,20,20", 196, 64, "exceeds");
    expect_param_error("knn=0", 196, 64, "knn");
    expect_param_error("context_ratio=1.5", 196, 64, "context_ratio");
    expect_param_error("sinks=1,x", 196, 64, "sinks");
    expect_param_error("noequals", 196, 64, "key=value");
}

static void test_input_errors(void **state) {
    (void)state;
    video v = make_video(2, 3, 3, 8, 2, 1);
    const char *kv[] = {"sinks="};
    tg_prune_output out;
    char err[256];
    tg_prune_input in = input_of(&v, 0.5, kv, 1);
    assert_int_equal(tg_tango_prune(&in, &out, err, sizeof err), TG_OK);
    tg_prune_output_free(&out);
    tg_prune_output_free(&out); /* idempotent */
    in.ratio = 0;
    assert_int_equal(tg_tango_prune(&in, &out, err, sizeof err), TG_ERR_INPUT);
    in.ratio = 1.5;
    assert_int_equal(tg_tango_prune(&in, &out, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "ratio"));
    in.ratio = 0.5;
    in.grid_w = 4;
    assert_int_equal(tg_tango_prune(&in, &out, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "grid"));
    in.grid_w = 3;
    v.A[3] = -1e-3f;
    assert_int_equal(tg_tango_prune(&in, &out, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "negative"));
    v.A[3] = 0.1f;
    v.F[5] = NAN;
    assert_int_equal(tg_tango_prune(&in, &out, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "non-finite"));
    v.F[5] = 0;
    in.timestamps = NULL;
    assert_int_equal(tg_tango_prune(&in, &out, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "timestamps"));
    assert_null(out.kept);
    free_video(&v);
}

/* ===== assembly and accounting ===== */

static void test_newline_assembly(void **state) {
    (void)state;
    int64_t kept[] = {0, 1, 5, 12, 13, 17}; /* T = 2, 3x3 grid */
    float vec[18][2];
    tg_entry list[6];
    for (int i = 0; i < 6; i++) {
        vec[kept[i]][0] = (float)kept[i];
        vec[kept[i]][1] = -1.0f;
        list[i] = (tg_entry){kept[i], vec[kept[i]]};
    }
    static float dummy[18 * 2];
    tg_prune_input in = tg_prune_input_default();
    in.features = dummy;
    in.n_frames = 2;
    in.n_tokens = 9;
    in.dim = 2;
    in.grid_h = in.grid_w = 3;
    in.model = tg_model_layout_default(TB_FAMILY_LLAVA_OV, 28, 2);
    /* one_token: the tokens, then one newline */
    tg_seq s = {0};
    tg_prune_output o = {0};
    char err[128];
    assert_int_equal(tg_seq_emit(&s, list, 6, TG_NEWLINE_ONE, 2, 3, 3, 0), TG_OK);
    assert_int_equal(tg_seq_finish(&s, &in, &o, NULL, "test", err, sizeof err), TG_OK);
    tg_seq_free(&s);
    assert_int_equal(o.n_seq, 7);
    assert_int_equal(o.n_newlines, 1);
    assert_int_equal(o.order[6], TG_NEWLINE);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(o.order[i], kept[i]);
        assert_int_equal(o.kept[i], kept[i]);
        assert_true(o.tokens[2 * i] == (float)kept[i]);
    }
    assert_int_equal(o.n_visual_full, 19);
    tg_prune_output_free(&o);
    /* grid: a newline after every row that kept a token */
    in.model = tg_model_layout_default(TB_FAMILY_LLAVA_VIDEO, 28, 2);
    int64_t want[] = {0, 1, TG_NEWLINE, 5, TG_NEWLINE, 12, 13, TG_NEWLINE, 17, TG_NEWLINE};
    assert_int_equal(tg_seq_emit(&s, list, 6, TG_NEWLINE_ROW, 2, 3, 3, 0), TG_OK);
    assert_int_equal(tg_seq_finish(&s, &in, &o, NULL, "test", err, sizeof err), TG_OK);
    tg_seq_free(&s);
    assert_int_equal(o.n_seq, 10);
    assert_int_equal(o.n_newlines, 4);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(o.order[i], want[i]);
        assert_int_equal(o.positions[i], i);
    }
    assert_int_equal(o.n_visual_full, 2 * (9 + 3));
    /* original positions: the unpruned grid layout t*H*(W+1) + r*(W+1) + c, newline at c = W */
    tg_prune_output_free(&o);
    assert_int_equal(tg_seq_emit(&s, list, 6, TG_NEWLINE_ROW, 2, 3, 3, TG_EMIT_ORIGINAL_POS), TG_OK);
    assert_int_equal(tg_seq_finish(&s, &in, &o, NULL, "test", err, sizeof err), TG_OK);
    tg_seq_free(&s);
    int64_t want_pos[] = {0, 1, 3, 6, 7, 16, 17, 19, 22, 23};
    for (int i = 0; i < 10; i++) assert_int_equal(o.positions[i], want_pos[i]);
    /* per-layer accounting with an in-LLM plan (18 layers full, 10 at round(V*0.5)) */
    o.plan = tb_llm_plan_default();
    o.plan.layer = 18;
    o.plan.keep_ratio = 0.5;
    o.plan.keep_count = 5;
    tg_account_layers(&o, 28, 18);
    assert_int_equal(o.n_layers, 28);
    assert_int_equal(o.visual_per_layer[17], 10);
    assert_int_equal(o.visual_per_layer[18], 5);
    NEAR(o.equiv_retention, (18.0 * 10 + 10.0 * 5) / 28.0 / 24.0, 1e-12);
    NEAR(o.equiv_retention_content, (18.0 * 6 + 10.0 * 3) / 28.0 / 18.0, 1e-12);
    /* the depth is the model's: 4 layers, the stage at layer 3 */
    o.plan.layer = 3;
    tg_account_layers(&o, 4, 18);
    assert_int_equal(o.n_layers, 4);
    NEAR(o.equiv_retention, (3.0 * 10 + 1.0 * 5) / 4.0 / 24.0, 1e-12);
    tg_prune_output_free(&o);
}

/* ===== end-to-end properties ===== */

static void check_output(const video *v, const tg_prune_output *o, double ratio) {
    int64_t N = v->T * v->L;
    assert_true(o->n_kept > 0);
    for (int64_t i = 0; i < o->n_kept; i++) {
        assert_true(o->kept[i] >= 0 && o->kept[i] < N);
        if (i) assert_true(o->kept[i] > o->kept[i - 1]); /* ascending and unique */
    }
    int64_t sum = 0, budget = 0;
    for (int s = 0; s < o->n_segments; s++) {
        const tg_segment_info *si = &o->segments[s];
        assert_int_equal(si->kept, si->kept_static + si->kept_salient + si->kept_context);
        assert_true(si->kept <= si->budget);
        if (s) assert_int_equal(si->start, o->segments[s - 1].start + o->segments[s - 1].len);
        sum += si->kept;
        budget += si->budget;
    }
    assert_int_equal(sum, o->n_kept);
    /* each segment's budget exceeds r*n*L by less than one token per frame plus one static */
    assert_true((double)budget <= o->ratio_used * (double)N + (double)v->T + (double)o->n_segments);
    assert_true(o->n_kept <= budget);
    (void)ratio;
}

static void test_properties(void **state) {
    (void)state;
    video v = make_video(12, 6, 6, 24, 4, 42);
    const char *kv[] = {"sinks=3,4", "threads=1"};
    for (int k = 0; k < 3; k++) {
        double r = k == 0 ? 0.10 : k == 1 ? 0.15 : 0.20;
        tg_prune_input in = input_of(&v, r, kv, 2);
        in.seed = 5;
        tg_prune_output a, b;
        char err[256];
        assert_int_equal(tg_tango_prune(&in, &a, err, sizeof err), TG_OK);
        check_output(&v, &a, r);
        assert_true(a.n_segments >= 3); /* the cuts are found */
        assert_int_equal(a.n_seq, a.n_kept + 1);
        assert_int_equal(a.order[a.n_seq - 1], TG_NEWLINE);
        assert_int_equal(a.plan.layer, 0);
        assert_int_equal(a.n_layers, 28);
        NEAR(a.equiv_retention, (double)a.n_seq / (double)(12 * 36 + 1), 1e-12);
        /* determinism under a seed, and across thread counts */
        const char *kv2[] = {"sinks=3,4", "threads=2"};
        tg_prune_input in2 = input_of(&v, r, kv2, 2);
        in2.seed = 5;
        assert_int_equal(tg_tango_prune(&in2, &b, err, sizeof err), TG_OK);
        assert_int_equal(a.n_kept, b.n_kept);
        assert_memory_equal(a.kept, b.kept, sizeof(int64_t) * (size_t)a.n_kept);
        assert_memory_equal(a.tokens, b.tokens, sizeof(float) * (size_t)(a.n_kept * v.D));
        tg_prune_output_free(&b);
        /* tokens: kept vectors are input rows, static means or merged anchors */
        int64_t same = 0;
        for (int64_t i = 0; i < a.n_kept; i++)
            same += !memcmp(a.tokens + i * v.D, v.F + a.kept[i] * v.D, sizeof(float) * (size_t)v.D);
        int64_t sal = 0;
        for (int s = 0; s < a.n_segments; s++) sal += a.segments[s].kept_salient;
        assert_true(same >= sal);
        tg_prune_output_free(&a);
    }
    free_video(&v);
}

static void test_sink_masking(void **state) {
    (void)state;
    /* one frame, 14x14; token 28 has the top score. With context_ratio 0 and alpha 1 the salient
     * candidates are kept directly (C = k), i.e. the top-20 by score. */
    video v = make_video(1, 14, 14, 8, 1, 9);
    v.A[28] = 10.0f;
    v.A[27] = 9.0f;
    const char *off[] = {"context_ratio=0", "alpha=1"};
    const char *none[] = {"context_ratio=0", "alpha=1", "sinks=none"};
    const char *paper[] = {"context_ratio=0", "alpha=1", "compat=paper"};
    tg_prune_output o;
    char err[256];
    tg_prune_input in = input_of(&v, 0.1, off, 2);
    assert_int_equal(tg_tango_prune(&in, &o, err, sizeof err), TG_OK);
    assert_int_equal(o.n_kept, 20);
    for (int64_t i = 0; i < o.n_kept; i++) assert_true(o.kept[i] != 28 && o.kept[i] != 27);
    assert_true(has_quirk(&o, TG_Q_SINKS));
    tg_prune_output_free(&o);
    in = input_of(&v, 0.1, none, 3);
    assert_int_equal(tg_tango_prune(&in, &o, err, sizeof err), TG_OK);
    int found = 0;
    for (int64_t i = 0; i < o.n_kept; i++) found += o.kept[i] == 28 || o.kept[i] == 27;
    assert_int_equal(found, 2);
    assert_false(has_quirk(&o, TG_Q_SINKS));
    tg_prune_output_free(&o);
    in = input_of(&v, 0.1, paper, 3); /* paper: only #28 */
    assert_int_equal(tg_tango_prune(&in, &o, err, sizeof err), TG_OK);
    found = 0;
    for (int64_t i = 0; i < o.n_kept; i++) found += (o.kept[i] == 27) * 2 + (o.kept[i] == 28);
    assert_int_equal(found, 2);
    assert_string_equal(o.compat, "paper");
    assert_int_equal(o.n_quirks, 0);
    tg_prune_output_free(&o);
    free_video(&v);
}

static void test_static_pool_placement(void **state) {
    (void)state;
    /* two frames, every token static (frame 1 = 1.02 * frame 0): one segment, the static pool
     * is the temporal mean (1.01 * frame 0) and sits in frame 0 */
    video v = make_video(2, 4, 4, 8, 2, 3);
    for (int64_t i = 0; i < 16 * 8; i++) v.F[16 * 8 + i] = 1.02f * v.F[i];
    const char *kv[] = {"sinks=", "jitter=0"};
    tg_prune_input in = input_of(&v, 0.25, kv, 2);
    tg_prune_output o;
    char err[256];
    assert_int_equal(tg_tango_prune(&in, &o, err, sizeof err), TG_OK);
    assert_int_equal(o.n_segments, 1);
    assert_int_equal(o.segments[0].n_static, 16);
    NEAR(o.segments[0].ratio_adj, 0.5, 1e-15); /* 0.25 / ((32 - 16) / 32) */
    assert_int_equal(o.segments[0].budget, 8);  /* ceil(16 * 0.5) */
    assert_int_equal(o.n_kept, 8);
    int64_t sal = o.segments[0].kept_salient + o.segments[0].kept_context;
    assert_int_equal(sal, 0); /* everything came from the static pool */
    assert_int_equal(o.segments[0].kept_static, 8);
    for (int64_t i = 0; i < o.n_kept; i++) assert_true(o.kept[i] < 16);
    /* compress(16 static, r 0.5): R 8 -> 4 salient (untouched means) + 4 merged anchors */
    int means = 0;
    for (int64_t i = 0; i < o.n_kept; i++) {
        int ok = 1;
        for (int d = 0; d < 8; d++)
            ok &= fabsf(o.tokens[i * 8 + d] - 1.01f * v.F[o.kept[i] * 8 + d]) < 1e-5f;
        means += ok;
    }
    assert_true(means >= 4);
    tg_prune_output_free(&o);
    free_video(&v);
}

static void test_video_model(void **state) {
    (void)state;
    video v = make_video(6, 13, 13, 24, 3, 17);
    const char *kv[] = {NULL};
    tg_prune_input in = video_input_of(&v, 0.1, kv, 0);
    tg_prune_output o;
    char err[256];
    assert_int_equal(tg_tango_prune(&in, &o, err, sizeof err), TG_OK);
    check_output(&v, &o, 0.1);
    assert_true(o.ratio_used == 0.121739);
    /* newline after every (frame, row) that keeps a token */
    int64_t rows = 0;
    for (int64_t i = 0; i < o.n_kept; i++) rows += i == 0 || o.kept[i] / 13 != o.kept[i - 1] / 13;
    assert_int_equal(o.n_newlines, rows);
    assert_int_equal(o.n_seq, o.n_kept + rows);
    assert_int_equal(o.order[o.n_seq - 1], TG_NEWLINE);
    assert_int_equal(o.n_visual_full, 6 * (169 + 13));
    /* the in-LLM plan */
    assert_int_equal(o.plan.layer, 18);
    assert_int_equal(o.plan.select, TB_PLAN_SELECT_LAST_QUERY);
    assert_int_equal(o.plan.keep_count, (int64_t)tb_round_half_even(o.n_seq * 0.5));
    assert_int_equal(o.plan.merge, TB_PLAN_MERGE_WEIGHTED);
    NEAR(o.plan.merge_weight, 0.6, 0);
    NEAR(o.plan.merge_pool_weight, 0.4, 0);
    assert_int_equal(o.plan.pos, TB_PLAN_POS_KEEP);
    assert_int_equal(o.plan.bidirectional_prev, 1);
    assert_null(o.plan.protect);
    assert_int_equal(o.visual_per_layer[17], o.n_seq);
    assert_int_equal(o.visual_per_layer[27], o.plan.keep_count);
    assert_true(has_quirk(&o, TG_Q_VIDEO_RATIO) && has_quirk(&o, TG_Q_LAYER17) && has_quirk(&o, TG_Q_WRITEBACK));
    assert_non_null(strstr(o.params_json, "\"model\":\"llava-video\""));
    tg_prune_output_free(&o);
    free_video(&v);
}

/* ===== independent Python oracle (tests/fixtures/tango/oracle_tango.py, written from the spec) ===== */

static void save_f32(const char *dir, const char *name, const float *d, int nd, const int64_t *shape) {
    char path[700], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(npy_write(path, NPY_F32, d, nd, shape, err, sizeof err), 0);
}

static void compare_case(const char *dir, const char *name, const video *v, const tg_prune_output *o) {
    char path[700], err[256];
    npy_array k, t;
    snprintf(path, sizeof path, "%s/%s_kept.npy", dir, name);
    assert_int_equal(npy_read(path, NPY_I64, &k, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s_tokens.npy", dir, name);
    assert_int_equal(npy_read(path, NPY_F32, &t, err, sizeof err), 0);
    if ((int64_t)k.numel != o->n_kept) fprintf(stderr, "%s: oracle keeps %zu, C %lld\n", name, k.numel, (long long)o->n_kept);
    assert_int_equal(k.numel, o->n_kept);
    assert_memory_equal(k.data, o->kept, sizeof(int64_t) * k.numel);
    double maxd = 0;
    const float *tf = t.data;
    for (size_t i = 0; i < t.numel; i++) maxd = fmax(maxd, fabs((double)tf[i] - o->tokens[i]));
    assert_true(maxd < 1e-5);
    (void)v;
    npy_free(&k);
    npy_free(&t);
}

static void test_python_oracle(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    const char *py = tb_test_python();
    char cmd[1600];
    const char *b = getenv("TB_BUILD");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tmp/test_tango_oracle", b ? b : "build");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    /* 10 frames of 14x14 (scenes of 3, so single-frame segments appear too), D = 48 */
    video v = make_video(10, 14, 14, 48, 3, 77);
    int64_t s3[3] = {v.T, v.L, v.D}, s2[2] = {v.T, v.L}, s1[1] = {v.T};
    save_f32(dir, "F.npy", v.F, 3, s3);
    save_f32(dir, "A.npy", v.A, 2, s2);
    save_f32(dir, "T.npy", v.ts, 1, s1);
    /* the ablation switches' inputs: received attention and per-frame globals (scene vectors) */
    float *AR = malloc(sizeof(float) * (size_t)(v.T * v.L)), *G = malloc(sizeof(float) * (size_t)(v.T * 6));
    assert_non_null(AR);
    assert_non_null(G);
    tg_rng r;
    tg_rng_seed(&r, 5);
    for (int64_t i = 0; i < v.T * v.L; i++) AR[i] = tg_rng_uniform(&r);
    for (int64_t t = 0; t < v.T; t++)
        for (int g = 0; g < 6; g++) G[t * 6 + g] = (float)((t / 3 + g) % 4) + 0.3f * gauss(&r);
    int64_t sg[2] = {v.T, 6};
    save_f32(dir, "AR.npy", AR, 2, s2);
    save_f32(dir, "G.npy", G, 2, sg);
    snprintf(cmd, sizeof cmd,
             "%s tests/fixtures/tango/oracle_tango.py '%s' r10:0.1:0.65:28+27+41+169+11+12:official "
             "r20:0.2:0.8:28+27+41+169+11+12:official p15:0.15:0.8:28:paper "
             "f32:0.15:0.8:28+27+41+169+11+12:official:dtype=fp32 "
             "topk:0.15:0.8:28+27+41+169+11+12:official:selection=topk "
             "unif:0.2:0.8:28+27+41+169+11+12:official:selection=uniform "
             "attn:0.15:0.8:28+27+41+169+11+12:official:score=attn "
             "norope:0.15:0.8:28+27+41+169+11+12:official:st_rope=off "
             "tidx:0.15:0.8:28+27+41+169+11+12:official:time=index "
             "fvseg:0.15:0.8:28+27+41+169+11+12:official:segment=fastvid "
             "combo:0.1:0.65:28:paper:dtype=fp32,selection=topk,time=index",
             py, dir);
    assert_int_equal(system(cmd), 0);
    struct {
        const char *name;
        double r;
        const char *kv[5];
    } cases[] = {
        {"r10", 0.1, {"compat=official"}},
        {"r20", 0.2, {"compat=official"}},
        {"p15", 0.15, {"compat=paper"}},
        {"f32", 0.15, {"score_dtype=fp32"}},
        {"topk", 0.15, {"selection=topk"}},
        {"unif", 0.2, {"selection=uniform"}},
        {"attn", 0.15, {"score=attn"}},
        {"norope", 0.15, {"st_rope=off"}},
        {"tidx", 0.15, {"time=index"}},
        {"fvseg", 0.15, {"segment=fastvid"}},
        {"combo", 0.1, {"compat=paper", "score_dtype=fp32", "selection=topk", "time=index"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *kv[8] = {"jitter=0"};
        int n = 1;
        for (int k = 0; k < 5 && cases[c].kv[k]; k++) kv[n++] = cases[c].kv[k];
        tg_prune_input in = input_of(&v, cases[c].r, kv, n);
        in.saliency_recv = AR;
        in.frame_global = G;
        in.global_dim = 6;
        tg_prune_output o;
        char err[256];
        int rc = tg_tango_prune(&in, &o, err, sizeof err);
        if (rc) fprintf(stderr, "%s: %s\n", cases[c].name, err);
        assert_int_equal(rc, TG_OK);
        compare_case(dir, cases[c].name, &v, &o);
        tg_prune_output_free(&o);
    }
    free(AR);
    free(G);
    free_video(&v);
}

/* Each ablation switch changes what it should and nothing else (the oracle test above pins what
 * each computes): selection keeps the segmentation and the per-segment counts; score=attn is the
 * default run on the received attention; time=index is the default run with timestamps
 * 0, 1, 2, ...; st_rope=off ignores the timestamps; segment=fastvid changes the segments only
 * through the cuts; score_dtype=fp32 keeps the kept set here (no fp16 ties) and moves merged
 * tokens by beta's rounding; every switch shows in the run record. */
static void test_ablation_switches(void **state) {
    (void)state;
    video v = make_video(12, 14, 14, 48, 3, 91);
    float *AR = malloc(sizeof(float) * (size_t)(v.T * v.L)), *ts2 = malloc(sizeof(float) * (size_t)v.T);
    assert_non_null(AR);
    assert_non_null(ts2);
    tg_rng r;
    tg_rng_seed(&r, 6);
    for (int64_t i = 0; i < v.T * v.L; i++) AR[i] = tg_rng_uniform(&r);
    char err[256];
#define RUN(o, ratio, sal, times, ...)                                                                     \
    do {                                                                                                   \
        const char *kv_[] = {"jitter=0", __VA_ARGS__};                                                      \
        tg_prune_input in_ = input_of(&v, ratio, kv_, (int)(sizeof kv_ / sizeof kv_[0]));                   \
        in_.saliency = sal;                                                                                \
        in_.saliency_recv = AR;                                                                            \
        in_.timestamps = times;                                                                            \
        int rc_ = tg_tango_prune(&in_, &(o), err, sizeof err);                                             \
        if (rc_) fprintf(stderr, "%s\n", err);                                                             \
        assert_int_equal(rc_, TG_OK);                                                                      \
    } while (0)
    tg_prune_output base, o, o2;
    RUN(base, 0.15, v.A, v.ts, "compat=official");
    assert_non_null(strstr(base.params_json, "\"selection\":\"diversity\",\"score\":\"p-attn\",\"st_rope\":\"on\","
                                             "\"time\":\"seconds\",\"segment\":\"holitom\""));
    assert_non_null(strstr(base.params_json, "\"score_dtype\":\"fp16\""));
    assert_non_null(strstr(base.params_json, "\"beta_dtype\":\"fp16\""));
    /* selection: same segments, budgets and counts; another salient set */
    const char *sels[] = {"selection=topk", "selection=uniform"};
    for (int k = 0; k < 2; k++) {
        RUN(o, 0.15, v.A, v.ts, sels[k]);
        assert_int_equal(o.n_segments, base.n_segments);
        for (int s = 0; s < o.n_segments; s++) {
            assert_int_equal(o.segments[s].start, base.segments[s].start);
            assert_int_equal(o.segments[s].len, base.segments[s].len);
            assert_int_equal(o.segments[s].budget, base.segments[s].budget);
            assert_int_equal(o.segments[s].kept_salient, base.segments[s].kept_salient);
            assert_int_equal(o.segments[s].kept, base.segments[s].kept);
        }
        assert_int_equal(o.n_kept, base.n_kept);
        assert_true(memcmp(o.kept, base.kept, sizeof(int64_t) * (size_t)o.n_kept) != 0);
        assert_non_null(strstr(o.params_json, k ? "\"selection\":\"uniform\"" : "\"selection\":\"topk\""));
        tg_prune_output_free(&o);
    }
    /* score=attn == the default on the received attention */
    RUN(o, 0.15, v.A, v.ts, "score=attn");
    RUN(o2, 0.15, AR, v.ts, "score=p-attn");
    assert_int_equal(o.n_kept, o2.n_kept);
    assert_memory_equal(o.kept, o2.kept, sizeof(int64_t) * (size_t)o.n_kept);
    assert_memory_equal(o.tokens, o2.tokens, sizeof(float) * (size_t)(o.n_kept * o.dim));
    assert_true(o.n_kept != base.n_kept || memcmp(o.kept, base.kept, sizeof(int64_t) * (size_t)o.n_kept) != 0);
    tg_prune_output_free(&o);
    tg_prune_output_free(&o2);
    /* time=index == the default with timestamps 0, 1, 2, ... (the test video's are 0.5 t) */
    for (int64_t t = 0; t < v.T; t++) ts2[t] = (float)t;
    RUN(o, 0.15, v.A, v.ts, "time=index");
    RUN(o2, 0.15, v.A, ts2, "time=seconds");
    assert_memory_equal(o.kept, o2.kept, sizeof(int64_t) * (size_t)o.n_kept);
    assert_memory_equal(o.tokens, o2.tokens, sizeof(float) * (size_t)(o.n_kept * o.dim));
    assert_true(memcmp(o.tokens, base.tokens, sizeof(float) * (size_t)(o.n_kept * o.dim)) != 0);
    tg_prune_output_free(&o);
    tg_prune_output_free(&o2);
    /* st_rope=off: the timestamps do not matter any more; the segmentation is untouched */
    RUN(o, 0.15, v.A, v.ts, "st_rope=off");
    RUN(o2, 0.15, v.A, ts2, "st_rope=off");
    assert_memory_equal(o.kept, o2.kept, sizeof(int64_t) * (size_t)o.n_kept);
    assert_memory_equal(o.tokens, o2.tokens, sizeof(float) * (size_t)(o.n_kept * o.dim));
    assert_int_equal(o.n_segments, base.n_segments);
    assert_true(!has_quirk(&o, TG_Q_SECTIONS));
    tg_prune_output_free(&o);
    tg_prune_output_free(&o2);
    /* segment=fastvid (frame means as globals, c = 8 -> 7 cuts on 12 frames at least) */
    RUN(o, 0.15, v.A, v.ts, "segment=fastvid");
    assert_true(o.n_segments >= 8);
    assert_true(o.n_segments != base.n_segments);
    tg_prune_output_free(&o);
    /* score_dtype=fp32: the same kept set, merged tokens moved by beta's fp16 rounding (~1e-4) */
    RUN(o, 0.15, v.A, v.ts, "score_dtype=fp32");
    assert_non_null(strstr(o.params_json, "\"beta_dtype\":\"fp32\""));
    assert_int_equal(o.n_kept, base.n_kept);
    assert_memory_equal(o.kept, base.kept, sizeof(int64_t) * (size_t)o.n_kept);
    double dmax = 0;
    for (int64_t i = 0; i < o.n_kept * o.dim; i++) dmax = fmax(dmax, fabs((double)o.tokens[i] - base.tokens[i]));
    assert_true(dmax > 1e-5 && dmax < 1e-2); /* above the oracle comparison's 1e-5: the f32 case is sharp */
    tg_prune_output_free(&o);
    /* bad values are refused by name; score=attn without the received attention too */
    const char *bad[] = {"selection=random", "score=x", "st_rope=maybe", "time=frames", "segment=dp"};
    for (int k = 0; k < 5; k++) {
        const char *kv[] = {bad[k]};
        tg_prune_input in = input_of(&v, 0.15, kv, 1);
        assert_int_equal(tg_tango_prune(&in, &o, err, sizeof err), TG_ERR_INPUT);
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)(strchr(bad[k], '=') - bad[k]), bad[k]);
        assert_non_null(strstr(err, key));
    }
    const char *kva[] = {"score=attn"};
    tg_prune_input in = input_of(&v, 0.15, kva, 1);
    assert_int_equal(tg_tango_prune(&in, &o, err, sizeof err), TG_ERR_INPUT);
#undef RUN
    tg_prune_output_free(&base);
    free(AR);
    free(ts2);
    free_video(&v);
}

/* Qwen2.5-VL runs bf16 (spec qwen25vl.md §6.4, §6.7 tango_qwen.bf16_scores): by default the
 * saliency and beta are rounded to bf16 in both compat modes. Saliencies 0.5 + i * 1e-5 all round
 * to bf16 0.5 (its step there is 2^-9), so the bf16 run's ties go to the lower index while the
 * fp32 run prefers the higher ones: different salient sets. */
static void test_qwen_bf16_scores(void **state) {
    (void)state;
    video v = make_video(8, 6, 8, 48, 3, 5);
    for (int64_t i = 0; i < v.T * v.L; i++) v.A[i] = 0.5f + 1e-5f * (float)(i % v.L);
    char err[256];
    tg_prune_output o[3];
    const char *modes[3] = {"compat=official", "compat=paper", "score_dtype=fp32"};
    for (int k = 0; k < 3; k++) {
        const char *kv[] = {"jitter=0", modes[k]};
        tg_prune_input in = input_of(&v, 0.2, kv, 2);
        in.model = tg_model_layout_default(TB_FAMILY_QWEN25_VL, 28, v.D);
        int rc = tg_tango_prune(&in, &o[k], err, sizeof err);
        if (rc) fprintf(stderr, "%s\n", err);
        assert_int_equal(rc, TG_OK);
        int q = 0;
        for (int i = 0; i < o[k].n_quirks; i++) q += !strcmp(o[k].quirks[i], TG_Q_QWEN_BF16);
        assert_int_equal(q, k < 2);
        assert_non_null(strstr(o[k].params_json, k < 2 ? "\"score_dtype\":\"bf16\"" : "\"score_dtype\":\"fp32\""));
        assert_non_null(strstr(o[k].params_json, k < 2 ? "\"beta_dtype\":\"bf16\"" : "\"beta_dtype\":\"fp32\""));
    }
    assert_int_equal(o[0].n_kept, o[2].n_kept);
    assert_true(memcmp(o[0].kept, o[2].kept, sizeof(int64_t) * (size_t)o[0].n_kept) != 0);
    for (int k = 0; k < 3; k++) tg_prune_output_free(&o[k]);
    free_video(&v);
}

static void test_registry(void **state) {
    (void)state;
    const tg_method *m = &tg_tango_method;
    assert_string_equal(m->name, "tango");
    assert_ptr_equal(m->run, tg_tango_prune);
    assert_true(m->caps & TG_CAP_IN_LLM);
    assert_false(m->caps & (TG_CAP_NO_RATIO | TG_CAP_RECV_ATTN));
    int n = 0;
    for (const char *const *k = m->param_keys; *k; k++) n++;
    assert_true(n >= 14);
    assert_string_equal(tg_status_str(TG_ERR_INPUT), "bad input");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_r_adj),
        cmocka_unit_test(test_qwen_bf16_scores),
        cmocka_unit_test(test_budget_tables),
        cmocka_unit_test(test_writeback_map),
        cmocka_unit_test(test_writeback_compress),
        cmocka_unit_test(test_select_in_clusters),
        cmocka_unit_test(test_params_defaults),
        cmocka_unit_test(test_params_errors),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_newline_assembly),
                cmocka_unit_test(test_properties),
        cmocka_unit_test(test_sink_masking),
        cmocka_unit_test(test_static_pool_placement),
        cmocka_unit_test(test_video_model),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_python_oracle),
        cmocka_unit_test(test_ablation_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
