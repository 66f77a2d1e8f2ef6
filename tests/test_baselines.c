/* test_baselines.c - the baselines (baselines/baselines.h) through the C API: the matched-
 * retention solver pinned to the spec's numbers (FastV keep counts, per-frame budgets for OV and
 * LLaVA-Video at 10/15/20 %), hand-checkable cases per method (VisionZip target + mean and the
 * grid position mismatch, HoliTom's DP window / static merge / OV static-first order / in-LLM
 * plan, FastVID's DySeg cuts, OV and Video budget splits, merge weights and original positions)
 * and properties on synthetic videos (realised retention within BL_TOL for r = 0.10/0.15/0.20 on
 * both models, determinism, valid unique indices, bad inputs rejected). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "baselines/baselines.h"
#include "tango/kit.h"
#include "tb_prune_test.h"
#include "tango/primitives.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

static const tg_method *find(const char *name) {
    static const tg_method *const all[] = {&bl_fastv_method,   &bl_visionzip_method,      &bl_holitom_method,
                                           &bl_fastvid_method, &bl_full_method,           &bl_uniform_method,
                                           &bl_uniform_frames_method, &bl_random_method, &bl_topk_method,
                                           &bl_dart_method,    &bl_vidcom2_method};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i]->name, name)) return all[i];
    return NULL;
}

/* Runs a baseline; the model layout comes from the test's "model=" / "layers=" entries. */
static int run(const char *method, const tg_prune_input *in0, tg_prune_output *out, char *err) {
    const tg_method *m = find(method);
    assert_non_null(m);
    tg_prune_input in = *in0;
    tt_params keep;
    if (tt_apply_layout(&in, &keep)) {
        snprintf(err, 256, "unknown model family");
        return TG_ERR_INPUT;
    }
    return m->run(&in, out, err, 256);
}

/* ===== synthetic videos (scenes with frozen and drifting positions) ===== */

typedef struct {
    int64_t T, H, W, L, D;
    float *F, *A, *AR, *G;
} video;

static float gauss(tg_rng *r) {
    float u = tg_rng_uniform(r) + 1e-7f, v = tg_rng_uniform(r);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static video make_video(int64_t T, int64_t H, int64_t D, uint64_t seed) {
    video v = {T, H, H, H * H, D, NULL, NULL, NULL, NULL};
    int64_t L = v.L;
    v.F = malloc(sizeof(float) * (size_t)(T * L * D));
    v.A = malloc(sizeof(float) * (size_t)(T * L));
    v.AR = malloc(sizeof(float) * (size_t)(T * L));
    v.G = malloc(sizeof(float) * (size_t)(T * D));
    float *base = malloc(sizeof(float) * (size_t)(L * D));
    uint8_t *frozen = malloc((size_t)L);
    tg_rng r;
    tg_rng_seed(&r, seed);
    for (int64_t t = 0; t < T; t++) {
        if (t % 6 == 0) {
            for (int64_t i = 0; i < L * D; i++) base[i] = gauss(&r);
            for (int64_t l = 0; l < L; l++) frozen[l] = tg_rng_uniform(&r) < 0.4f;
        }
        for (int64_t l = 0; l < L; l++)
            for (int64_t d = 0; d < D; d++)
                v.F[(t * L + l) * D + d] = base[l * D + d] + gauss(&r) * (frozen[l] ? 0.02f : 0.8f);
        for (int64_t l = 0; l < L; l++) {
            v.A[t * L + l] = expf(gauss(&r));
            v.AR[t * L + l] = expf(gauss(&r));
        }
        for (int64_t d = 0; d < D; d++) {
            double s = 0;
            for (int64_t l = 0; l < L; l++) s += v.F[(t * L + l) * D + d];
            v.G[t * D + d] = (float)(s / (double)L);
        }
    }
    free(base);
    free(frozen);
    return v;
}

static void free_video(video *v) {
    free(v->F);
    free(v->A);
    free(v->AR);
    free(v->G);
}

static tg_prune_input video_input(const video *v, double r, const char *const *kv, int n) {
    tg_prune_input in = tg_prune_input_default();
    in.features = v->F;
    in.n_frames = v->T;
    in.n_tokens = v->L;
    in.dim = v->D;
    in.grid_h = v->H;
    in.grid_w = v->W;
    in.saliency = v->A;
    in.saliency_recv = v->AR;
    in.frame_global = v->G;
    in.global_dim = v->D;
    in.ratio = r;
    in.params = kv;
    in.n_params = n;
    in.n_threads = 1;
    return in;
}

/* ===== solver pins ===== */

static void solve_one(const char *m, tb_family model, double r, bl_knobs *k, double *got, int want) {
    bl_geometry g = bl_geometry_default(model, 28);
    *k = bl_knobs_default(m);
    char err[256] = "";
    int st = bl_solve(m, r, &g, k, got, err, sizeof err);
    if (st != want) fprintf(stderr, "%s r=%g: status %d (%s)\n", m, r, st, err);
    assert_int_equal(st, want);
}

static void test_solver_fastv(void **state) {
    (void)state;
    bl_knobs k;
    double got;
    /* spec §2 table, N = 6273 (OV, newline included) */
    solve_one("fastv", TB_FAMILY_LLAVA_OV, 0.10, &k, &got, BL_SOLVE_OK);
    assert_int_equal(k.keep, 193);
    solve_one("fastv", TB_FAMILY_LLAVA_OV, 0.15, &k, &got, BL_SOLVE_OK);
    assert_int_equal(k.keep, 531);
    solve_one("fastv", TB_FAMILY_LLAVA_OV, 0.20, &k, &got, BL_SOLVE_OK);
    assert_int_equal(k.keep, 869);
    NEAR(got, 0.20, 1e-3);
    assert_int_equal(k.llm_layer, 2);
    /* k = 3 cannot reach 0.10 (needs >= 3/28) */
    bl_geometry g = bl_geometry_default(TB_FAMILY_LLAVA_OV, 28);
    k = bl_knobs_default("fastv");
    k.llm_layer = 3;
    char err[256] = "";
    assert_int_equal(bl_solve("fastv", 0.10, &g, &k, &got, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "infeasible"));
    k = bl_knobs_default("fastv");
    k.llm_layer = 3;
    assert_int_equal(bl_solve("fastv", 0.15, &g, &k, &got, err, sizeof err), BL_SOLVE_OK);
    assert_int_equal(k.keep, 301);
    /* the per-layer plan realises the same number */
    int64_t vis[28];
    bl_plan_layers(&k, 28, vis);
    double s = 0;
    for (int l = 0; l < 28; l++) s += (double)vis[l];
    NEAR(s / (28.0 * 6273.0), got, 1e-12);
    assert_int_equal(vis[2], 6273);
    assert_int_equal(vis[3], 301);
}

static void test_solver_budgets(void **state) {
    (void)state;
    const double rs[3] = {0.10, 0.15, 0.20};
    /* per-frame budgets, seq accounting: OV (T*b + 1) / 6273, Video T*(b + 13) / 11648 */
    const int64_t vz_ov[3] = {20, 29, 39}, vz_vid[3] = {5, 14, 23};
    const int64_t fv_ov[3] = {20, 29, 39}, fv_vid[3] = {9, 14, 23};
    const int64_t dom_ov[3] = {19, 27, 37}; /* int(b * 0.95) */
    for (int i = 0; i < 3; i++) {
        bl_knobs k;
        double got;
        solve_one("visionzip", TB_FAMILY_LLAVA_OV, rs[i], &k, &got, BL_SOLVE_OK);
        assert_int_equal(k.per_frame, vz_ov[i]);
        assert_int_equal(k.dominant, dom_ov[i]);
        assert_int_equal(k.contextual, vz_ov[i] - dom_ov[i]);
        NEAR(got, rs[i], BL_TOL);
        solve_one("visionzip", TB_FAMILY_LLAVA_VIDEO, rs[i], &k, &got, BL_SOLVE_OK);
        assert_int_equal(k.per_frame, vz_vid[i]);
        NEAR(got, (double)(64 * (vz_vid[i] + 13)) / 11648.0, 1e-12);
        solve_one("fastvid", TB_FAMILY_LLAVA_OV, rs[i], &k, &got, BL_SOLVE_OK);
        assert_int_equal(k.per_frame, fv_ov[i]);
        assert_int_equal((int64_t)(196.0 * k.ratio), fv_ov[i]); /* int(N * r) gives F back */
        solve_one("fastvid", TB_FAMILY_LLAVA_VIDEO, rs[i], &k, &got, BL_SOLVE_OK);
        assert_int_equal(k.per_frame, fv_vid[i]);
        assert_int_equal((int64_t)(169.0 * k.ratio), fv_vid[i]);
        /* HoliTom full: the outer ratio comes from the two-stage formula (content accounting) */
        bl_geometry g = bl_geometry_default(TB_FAMILY_LLAVA_OV, 28);
        g.account = BL_ACCOUNT_CONTENT;
        k = bl_knobs_default("holitom");
        char err[256];
        assert_int_equal(bl_solve("holitom", rs[i], &g, &k, &got, err, sizeof err), BL_SOLVE_OK);
        NEAR(k.ratio, 28.0 * rs[i] / (18.0 + 10.0 * 0.5), 1e-9);
        NEAR(got, rs[i], 1e-9);
        /* every method except uniform-frames / full lands within tolerance */
        const char *ms[] = {"fastv", "visionzip", "holitom", "fastvid", "uniform", "random", "topk", "dart", "vidcom2"};
        for (int m = 0; m < 9; m++)
            for (int model = 0; model < 2; model++) {
                solve_one(ms[m], (tb_family)model, rs[i], &k, &got, BL_SOLVE_OK);
                NEAR(got, rs[i], BL_TOL);
            }
    }
    /* uniform-frames at T = 32: 3 frames (0.0939) is the closest to 0.10 and outside tolerance */
    bl_knobs k;
    double got;
    solve_one("uniform-frames", TB_FAMILY_LLAVA_OV, 0.10, &k, &got, BL_SOLVE_INEXACT);
    assert_int_equal(k.frames, 3);
    NEAR(got, 589.0 / 6273.0, 1e-12);
    solve_one("full", TB_FAMILY_LLAVA_OV, 1.0, &k, &got, BL_SOLVE_OK);
    /* Tango's plan on LLaVA-Video: two-stage pre-LLM ratio 28 r / (18 + 10 * 0.5), exact under
     * the content accounting Tango solves in; its grid newlines put it above r in seq accounting */
    solve_one("tango", TB_FAMILY_LLAVA_VIDEO, 0.10, &k, &got, BL_SOLVE_INEXACT);
    NEAR(k.ratio, 2.8 / 23.0, 1e-12);
    assert_int_equal(k.llm_layer, 18);
    assert_true(got > 0.10 + BL_TOL);
    {
        bl_geometry gc = bl_geometry_default(TB_FAMILY_LLAVA_VIDEO, 28);
        gc.account = BL_ACCOUNT_CONTENT;
        k = bl_knobs_default("tango");
        char e2[256];
        assert_int_equal(bl_solve("tango", 0.10, &gc, &k, &got, e2, sizeof e2), BL_SOLVE_OK);
        NEAR(got, 0.10, 1e-3);
    }
    /* bad arguments */
    bl_geometry g = bl_geometry_default(TB_FAMILY_LLAVA_OV, 28);
    char err[256];
    k = bl_knobs_default("nope");
    assert_int_equal(bl_solve("nope", 0.1, &g, &k, &got, err, sizeof err), TG_ERR_INPUT);
    assert_int_equal(bl_solve("fastv", 0.0, &g, &k, &got, err, sizeof err), TG_ERR_INPUT);
    g.n_frames = 0;
    assert_int_equal(bl_solve("topk", 0.1, &g, &k, &got, err, sizeof err), TG_ERR_INPUT);
}

/* ===== VisionZip hand case: 1 frame of 4x4, D = 2, b = 4, ratio 0.75 -> 3 dominant + 1 context ===== */

static void vz_case(const char *model, const char *compat, tg_prune_output *out) {
    static float F[16 * 2], A[16], AR[16];
    for (int l = 0; l < 16; l++) {
        F[2 * l] = (float)l;
        F[2 * l + 1] = 1.0f;
        A[l] = 1.0f;
        AR[l] = 0.01f * (float)l; /* low everywhere but the three below */
    }
    AR[10] = 0.9f;
    AR[3] = 0.8f;
    AR[7] = 0.7f; /* top-k (score) order 10, 3, 7 */
    char m[64], c[64];
    snprintf(m, sizeof m, "model=%s", model);
    snprintf(c, sizeof c, "compat=%s", compat);
    const char *kv[] = {m, c, "spatial_tokens=4", "dominant_ratio=0.75"};
    tg_prune_input in = tg_prune_input_default();
    in.features = F;
    in.n_frames = 1;
    in.n_tokens = 16;
    in.dim = 2;
    in.grid_h = in.grid_w = 4;
    in.saliency = A;
    in.saliency_recv = AR;
    in.ratio = 0.25;
    in.params = kv;
    in.n_params = 4;
    char err[256];
    int st = run("visionzip", &in, out, err);
    if (st) fprintf(stderr, "%s\n", err);
    assert_int_equal(st, TG_OK);
}

static void test_visionzip_hand(void **state) {
    (void)state;
    tg_prune_output out;
    vz_case("llava-ov", "official", &out);
    /* OV: [dominant 3, 7, 10 in raster order] ++ [ctx at target 0] ++ newline */
    int64_t want[5] = {3, 7, 10, 0, TG_NEWLINE};
    assert_int_equal(out.n_seq, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(out.order[i], want[i]);
    assert_int_equal(out.kept[0], 0);
    /* step = 13 / 1; target = filtered[0] = token 0; the 12 others are members:
     * ctx = y0 + mean(others) = (0 + 100/12, 1 + 1) */
    NEAR(out.tokens[0], 100.0 / 12.0, 1e-5);
    NEAR(out.tokens[1], 2.0, 1e-6);
    NEAR(out.tokens[2], 3.0, 0); /* kept[1] = 3, its own vector */
    assert_int_equal(out.n_quirks, 1);
    assert_string_equal(out.quirks[0], "visionzip.ctx_target_plus_mean");
    tg_prune_output_free(&out);

    vz_case("llava-ov", "paper", &out);
    NEAR(out.tokens[0], 100.0 / 13.0, 1e-5); /* mean over target and members */
    NEAR(out.tokens[1], 1.0, 1e-6);
    assert_int_equal(out.n_quirks, 0);
    tg_prune_output_free(&out);

    /* Video grid, official: slots sorted by position, a newline after EVERY row (also empty);
     * dominant vectors in raster order (3, 7, 10) sit at positions in score order (10, 3, 7) */
    vz_case("llava-video", "official", &out);
    int64_t wv[8] = {0, 3, TG_NEWLINE, 7, TG_NEWLINE, 10, TG_NEWLINE, TG_NEWLINE};
    assert_int_equal(out.n_seq, 8);
    for (int i = 0; i < 8; i++) assert_int_equal(out.order[i], wv[i]);
    assert_int_equal(out.n_newlines, 4);
    /* kept = 0, 3, 7, 10: slot 3 holds y7, slot 7 holds y10, slot 10 holds y3 */
    NEAR(out.tokens[2], 7.0, 0);
    NEAR(out.tokens[4], 10.0, 0);
    NEAR(out.tokens[6], 3.0, 0);
    assert_int_equal(out.n_quirks, 2);
    assert_string_equal(out.quirks[1], "visionzip.grid_position_mismatch");
    assert_int_equal(out.n_visual_full, 16 + 4);
    tg_prune_output_free(&out);
    vz_case("llava-video", "paper", &out);
    NEAR(out.tokens[2], 3.0, 0);
    NEAR(out.tokens[4], 7.0, 0);
    NEAR(out.tokens[6], 10.0, 0);
    tg_prune_output_free(&out);
}

/* ===== HoliTom hand case: 2 frames of 1x4, D = 2; positions 2, 3 static, 0, 1 dynamic ===== */

static void ht_case(const char *model, const char *compat, const char *variant, tg_prune_output *out) {
    static const float F[2 * 4 * 2] = {1, 1, 1, -1, 1, 0, 0, 1, /* frame 0 */
                                       -1, 1, -1, -1, 1, 0.01f, 0, 1 /* frame 1 */};
    static const float A[8] = {0.9f, 0.1f, 0.5f, 0.5f, 0.2f, 0.8f, 0.5f, 0.5f};
    char m[64], c[64], v[64];
    snprintf(m, sizeof m, "model=%s", model);
    snprintf(c, sizeof c, "compat=%s", compat);
    snprintf(v, sizeof v, "variant=%s", variant);
    /* r = 0.3 and R = 2 (one window [0, 1] with 2 static positions) give r' = 0.3 * 8 / 6 = 0.4:
     * static round(2 * 0.4) = 1 centre, dynamic ceil(2 * 0.4) = 1 per frame */
    const char *kv[] = {m, c, v, "retain_ratio=0.3", "tau=0.8", "jitter=0"};
    tg_prune_input in = tg_prune_input_default();
    in.features = F;
    in.n_frames = 2;
    in.n_tokens = 4;
    in.dim = 2;
    in.grid_h = 1;
    in.grid_w = 4;
    in.saliency = A;
    in.saliency_recv = A;
    in.ratio = 0.3;
    in.params = kv;
    in.n_params = 6;
    char err[256];
    int st = run("holitom", &in, out, err);
    if (st) fprintf(stderr, "%s\n", err);
    assert_int_equal(st, TG_OK);
}

static void test_holitom_hand(void **state) {
    (void)state;
    /* spec §1.14: OV, T*N = 6272, r = 0.10, R = 2000 -> r' = 0.14681...; a 4-frame segment with
     * 120 static positions keeps round(17.62) = 18 static + ceil(11.16) = 12 per frame */
    double ra = bl_holitom_ratio_adj(0.10, 2000, 6272);
    NEAR(ra, 0.10 / (4272.0 / 6272.0), 1e-15);
    int64_t ks, kd;
    bl_holitom_budget(ra, 120, 76, &ks, &kd);
    assert_int_equal(ks, 18);
    assert_int_equal(kd, 12);
    assert_int_equal(ks + 4 * kd, 66);
    bl_holitom_budget(0.5, 5, 0, &ks, &kd); /* 2.5 -> 2 (half to even), no dynamic tokens */
    assert_int_equal(ks, 2);
    assert_int_equal(kd, 0);
    NEAR(bl_holitom_ratio_adj(0.5, 90, 100), 1.0, 0); /* clipped at 1 */
    tg_prune_output out;
    ht_case("llava-ov", "official", "outer", &out);
    assert_int_equal(out.n_segments, 1);
    assert_int_equal(out.segments[0].len, 2);
    assert_int_equal(out.segments[0].n_static, 2);
    NEAR(out.segments[0].ratio_adj, 0.4, 1e-12);
    assert_int_equal(out.segments[0].kept_static, 1);
    assert_int_equal(out.segments[0].kept_salient, 2);
    /* OV official: [static centre (position 2 of frame 0)] then frame 0 (token 0), frame 1 (token 1) */
    int64_t want[4] = {2, 0, 5, TG_NEWLINE};
    assert_int_equal(out.n_seq, 4);
    for (int i = 0; i < 4; i++) assert_int_equal(out.order[i], want[i]);
    /* static tokens = window means (1, 0.005), (0, 1); centre 0 (ties -> lower index);
     * merged = 0.6 * (1, 0.005) + 0.4 * (0, 1) */
    assert_int_equal(out.kept[1], 2);
    NEAR(out.tokens[2], 0.6, 1e-6);
    NEAR(out.tokens[3], 0.6 * 0.005 + 0.4, 1e-6);
    assert_int_equal(out.plan.layer, 0);
    tg_prune_output_free(&out);

    ht_case("llava-ov", "paper", "outer", &out);
    int64_t wp[4] = {0, 2, 5, TG_NEWLINE}; /* static sorted into the first frame */
    for (int i = 0; i < 4; i++) assert_int_equal(out.order[i], wp[i]);
    NEAR(out.tokens[3], 0.4, 1e-6); /* first-occurrence static token (0 + 0.4 * 1) */
    tg_prune_output_free(&out);

    ht_case("llava-video", "official", "full", &out);
    int64_t wv[5] = {0, 2, TG_NEWLINE, 5, TG_NEWLINE};
    assert_int_equal(out.n_seq, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(out.order[i], wv[i]);
    /* in-LLM plan: layer 18, keep round_half_even(5 * 0.5) = 2, pairwise folding, original positions */
    assert_true(out.plan.layer > 0);
    assert_int_equal(out.plan.layer, 18);
    assert_int_equal(out.n_seq, 5);
    assert_int_equal(out.plan.keep_count, 2);
    assert_int_equal(out.plan.merge, TB_PLAN_MERGE_PAIRWISE);
    assert_int_equal(out.plan.pos, TB_PLAN_POS_KEEP);
    assert_int_equal(out.plan.bidirectional_prev, 1);
    assert_int_equal(out.visual_per_layer[17], 5);
    assert_int_equal(out.visual_per_layer[18], 2);
    NEAR(out.equiv_retention, (18.0 * 5 + 10.0 * 2) / (28.0 * 10), 1e-12);
    int has = 0;
    for (int i = 0; i < out.n_quirks; i++) has |= !strcmp(out.quirks[i], "holitom.layer17_bidirectional");
    assert_true(has);
    tg_prune_output_free(&out);
}

/* ===== FastVID hand cases ===== */

static void fv_small(const char *model, const char *compat, tg_prune_output *out) {
    /* 1 frame of 3x3, D = 2, y_l = (l, 1); salient = all but 2 and 6; r = 0.9 -> F = 8,
     * d = 0.15 -> 7 salient + 1 context */
    static float F[9 * 2], A[9];
    for (int l = 0; l < 9; l++) {
        F[2 * l] = (float)l;
        F[2 * l + 1] = 1.0f;
        A[l] = 0.5f + 0.01f * (float)l;
    }
    A[2] = 0.01f;
    A[6] = 0.02f;
    char m[64], c[64];
    snprintf(m, sizeof m, "model=%s", model);
    snprintf(c, sizeof c, "compat=%s", compat);
    const char *kv[] = {m, c, "retention=0.9", "d=0.15", "jitter=0"};
    tg_prune_input in = tg_prune_input_default();
    in.features = F;
    in.n_frames = 1;
    in.n_tokens = 9;
    in.dim = 2;
    in.grid_h = in.grid_w = 3;
    in.saliency = A;
    in.ratio = 0.9;
    in.params = kv;
    in.n_params = 5;
    char err[256];
    int st = run("fastvid", &in, out, err);
    if (st) fprintf(stderr, "%s\n", err);
    assert_int_equal(st, TG_OK);
}

static void test_fastvid_merge_positions(void **state) {
    (void)state;
    tg_prune_output out;
    fv_small("llava-ov", "official", &out);
    /* target = token 2 (lower index on a density tie); pool = {2, 6} incl. the target:
     * out = 0.6 * y2 + 0.4 * mean(y2, y6) = (2.8, 1) */
    assert_int_equal(out.n_kept, 8);
    assert_int_equal(out.kept[2], 2);
    NEAR(out.tokens[4], 2.8, 1e-5);
    NEAR(out.tokens[5], 1.0, 1e-6);
    /* original order and positions with a gap at 6; the newline keeps position T*L = 9 */
    int64_t wo[9] = {0, 1, 2, 3, 4, 5, 7, 8, TG_NEWLINE}, wp[9] = {0, 1, 2, 3, 4, 5, 7, 8, 9};
    assert_int_equal(out.n_seq, 9);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(out.order[i], wo[i]);
        assert_int_equal(out.positions[i], wp[i]);
    }
    assert_int_equal(out.plan.layer, 0);
    tg_prune_output_free(&out);

    /* Video (paper: any T): target excluded from its pool: out = 0.6 * y2 + 0.4 * y6 = (3.6, 1);
     * positions in the 4-wide grid layout with a newline per row holding a kept token */
    fv_small("llava-video", "paper", &out);
    NEAR(out.tokens[4], 3.6, 1e-5);
    int64_t vo[11] = {0, 1, 2, TG_NEWLINE, 3, 4, 5, TG_NEWLINE, 7, 8, TG_NEWLINE};
    int64_t vp[11] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11};
    assert_int_equal(out.n_seq, 11);
    for (int i = 0; i < 11; i++) {
        assert_int_equal(out.order[i], vo[i]);
        assert_int_equal(out.positions[i], vp[i]);
    }
    tg_prune_output_free(&out);
}

/* 10 frames whose consecutive global cosines are s[] (2-d rotations) */
static const double DYSEG_S[9] = {0.99, 0.5, 0.99, 0.95, 0.3, 0.99, 0.85, 0.99, 0.99};

static void fv_dyseg_case(const char *model, const char *extra, double r, tg_prune_output *out, int want_st) {
    int64_t T = 10, H = 14, L = H * H, D = 4;
    if (!strcmp(model, "llava-video")) H = 13, L = 169;
    video v = make_video(T, H, D, 7);
    double th = 0;
    for (int64_t t = 0; t < T; t++) {
        v.G[t * 2] = (float)cos(th);
        v.G[t * 2 + 1] = (float)sin(th);
        if (t < 9) th += acos(DYSEG_S[t]);
    }
    (void)L;
    char m[64];
    snprintf(m, sizeof m, "model=%s", model);
    const char *kv[] = {m, "c=3", "jitter=0", extra};
    tg_prune_input in = video_input(&v, r, kv, extra ? 4 : 3);
    in.global_dim = 2;
    char err[256];
    int st = run("fastvid", &in, out, err);
    if (st != want_st) fprintf(stderr, "%s\n", err);
    assert_int_equal(st, want_st);
    free_video(&v);
}

static void test_fastvid_dyseg_budgets(void **state) {
    (void)state;
    tg_prune_output out;
    /* c = 3: the 2 lowest (t = 4, 1) plus all below 0.9 (1, 4, 6) -> cuts after 1, 4, 6 */
    fv_dyseg_case("llava-ov", "retention=0.1", 0.1, &out, TG_OK);
    assert_int_equal(out.n_segments, 4);
    const int64_t st[4] = {0, 2, 5, 7}, ln[4] = {2, 3, 2, 3};
    /* OV r = 0.10: F = 19, S = 12 per frame, Cx = 7; one anchor per segment with (7*Lg)//1 */
    for (int g = 0; g < 4; g++) {
        assert_int_equal(out.segments[g].start, st[g]);
        assert_int_equal(out.segments[g].len, ln[g]);
        assert_int_equal(out.segments[g].kept_salient, 12 * ln[g]);
        assert_int_equal(out.segments[g].kept_context, 7 * ln[g]);
    }
    assert_int_equal(out.n_kept, 190);
    tg_prune_output_free(&out);
    /* the spec's OV table at r = 0.15 / 0.20: F = 29 -> 18 + 11, F = 39 -> 24 + 15 */
    fv_dyseg_case("llava-ov", "retention=0.15", 0.15, &out, TG_OK);
    assert_int_equal(out.segments[1].kept_salient, 18 * 3);
    assert_int_equal(out.segments[1].kept_context, 11 * 3);
    tg_prune_output_free(&out);
    fv_dyseg_case("llava-ov", "retention=0.2", 0.2, &out, TG_OK);
    assert_int_equal(out.segments[1].kept_salient, 24 * 3);
    assert_int_equal(out.segments[1].kept_context, 15 * 3);
    assert_int_equal(out.n_kept, 10 * 39);
    tg_prune_output_free(&out);
    /* p = 2: a 3-frame segment has 2 anchors with (7*3)//2 = 10 each: 1 token dropped */
    {
        int64_t T = 10;
        video v = make_video(T, 14, 4, 7);
        double th = 0;
        for (int64_t t = 0; t < T; t++) {
            v.G[t * 2] = (float)cos(th);
            v.G[t * 2 + 1] = (float)sin(th);
            if (t < 9) th += acos(DYSEG_S[t]);
        }
        const char *kv[] = {"c=3", "p=2", "retention=0.1", "jitter=0"};
        tg_prune_input in = video_input(&v, 0.1, kv, 4);
        in.global_dim = 2;
        char err[256];
        assert_int_equal(run("fastvid", &in, &out, err), TG_OK);
        assert_int_equal(out.segments[1].kept_context, 20);
        assert_int_equal(out.segments[0].kept_context, 14);
        assert_int_equal(out.n_kept, 188);
        tg_prune_output_free(&out);
        free_video(&v);
    }
    /* Video budgets (compat=paper for T = 10), r = 0.10: F = 16; a 3-frame segment: R = 48,
     * C = int(19.2) = 19, S = 29 (10 + 10 + 9); a 2-frame one: R = 32, C = 12, S = 20 */
    fv_dyseg_case("llava-video", "retention=0.1", 0.1, &out, TG_ERR_INPUT); /* official: T = 64 only */
    {
        int64_t T = 10;
        video v = make_video(T, 13, 4, 7);
        double th = 0;
        for (int64_t t = 0; t < T; t++) {
            v.G[t * 2] = (float)cos(th);
            v.G[t * 2 + 1] = (float)sin(th);
            if (t < 9) th += acos(DYSEG_S[t]);
        }
        const char *kv[] = {"model=llava-video", "compat=paper", "c=3", "retention=0.1", "jitter=0"};
        tg_prune_input in = video_input(&v, 0.1, kv, 5);
        in.global_dim = 2;
        char err[256];
        assert_int_equal(run("fastvid", &in, &out, err), TG_OK);
        assert_int_equal(out.n_segments, 4);
        assert_int_equal(out.segments[1].kept_salient, 29);
        assert_int_equal(out.segments[1].kept_context, 19);
        assert_int_equal(out.segments[0].kept_salient, 20);
        assert_int_equal(out.segments[0].kept_context, 12);
        assert_int_equal(out.n_kept, 160); /* totals conserved: 10 * 16 */
        const char *k15[] = {"model=llava-video", "compat=paper", "c=3", "retention=0.15", "jitter=0"};
        const char *k20[] = {"model=llava-video", "compat=paper", "c=3", "retention=0.2", "jitter=0"};
        tg_prune_output o15, o20;
        tg_prune_input i15 = video_input(&v, 0.15, k15, 5), i20 = video_input(&v, 0.2, k20, 5);
        i15.global_dim = i20.global_dim = 2;
        assert_int_equal(run("fastvid", &i15, &o15, err), TG_OK);
        assert_int_equal(run("fastvid", &i20, &o20, err), TG_OK);
        assert_int_equal(o15.n_kept, 10 * 25); /* int(169 * 0.15) = 25 */
        assert_int_equal(o20.n_kept, 10 * 33); /* int(169 * 0.20) = 33 */
        tg_prune_output_free(&o15);
        tg_prune_output_free(&o20);
        /* the 3-frame segment's context goes to its last frame (anchor list reversed) */
        int64_t last = 0;
        for (int64_t i = 0; i < out.n_kept; i++) last += out.kept[i] / 169 == 4;
        assert_int_equal(last, 9 + 19);
        /* original positions: every position is t*182 + r*14 + c, increasing */
        for (int64_t i = 1; i < out.n_seq; i++) assert_true(out.positions[i] > out.positions[i - 1]);
        assert_true(out.positions[out.n_seq - 1] < 10 * 182);
        tg_prune_output_free(&out);
        free_video(&v);
    }
}

/* FastVID's Qwen2.5-VL path (spec qwen25vl.md §8.2): 10 slices of 16x16 units (448 px), the
 * DYSEG_S cosines as slice globals. c = 3, tau 0.84: cuts after 1 and 4 -> segments of 2, 3, 5
 * slices. Kept units per slice are counted from the kept ids. */
static void fvq_case(const char *const *kv, int n, double r, int64_t want[10], tg_prune_output *out) {
    video v = make_video(10, 16, 4, 11);
    double th = 0;
    for (int64_t t = 0; t < 10; t++) {
        v.G[t * 2] = (float)cos(th);
        v.G[t * 2 + 1] = (float)sin(th);
        if (t < 9) th += acos(DYSEG_S[t]);
    }
    tg_prune_input in = video_input(&v, r, kv, n);
    in.model = tg_model_layout_default(TB_FAMILY_QWEN25_VL, 28, 0);
    in.saliency_recv = NULL;
    in.global_dim = 2;
    char err[256];
    int st = run("fastvid", &in, out, err);
    if (st) fprintf(stderr, "%s\n", err);
    assert_int_equal(st, TG_OK);
    int64_t got[10] = {0};
    for (int64_t i = 0; i < out->n_kept; i++) got[out->kept[i] / 256]++;
    for (int t = 0; t < 10; t++) {
        if (got[t] != want[t]) fprintf(stderr, "slice %d: %lld kept, want %lld\n", t, (long long)got[t], (long long)want[t]);
        assert_int_equal(got[t], want[t]);
    }
    /* no newline rows; every kept unit keeps its original id as its position */
    assert_int_equal(out->n_seq, out->n_kept);
    for (int64_t i = 0; i < out->n_seq; i++) assert_int_equal(out->positions[i], out->order[i]);
    free_video(&v);
}

static void test_fastvid_qwen_budgets(void **state) {
    (void)state;
    tg_prune_output out;
    /* r = 0.2: F = int(51.2) = 51. ignore 0.96 cuts at the 0.95 and 0.85 transitions.
     *   [0,1]: R 102, C 40, S 62, one sub-segment -> slice 1: 62 + 40.
     *   [2..4]: R 153, C 61, S 92, sub-segments [2,3] [4]: salient 46 / 46; the context list
     *     [61, 0] reversed to [0, 61] -> slice 3: 46, slice 4: 46 + 61.
     *   [5..9]: R 255, C 102, S 153, sub-segments [5,6] [7..9]: 77 / 76 -> slice 6: 77,
     *     slice 9: 76 + 102. Only the last slice of a sub-segment keeps anything. */
    const char *k1[] = {"model=qwen2.5-vl", "c=3", "ignore=0.96", "retention=0.2", "jitter=0"};
    int64_t w1[10] = {0, 102, 0, 46, 107, 0, 77, 0, 0, 178};
    fvq_case(k1, 5, 0.2, w1, &out);
    assert_int_equal(out.n_segments, 3);
    assert_int_equal(out.n_kept, 510);
    assert_int_equal(out.segments[2].kept_context, 102);
    assert_non_null(strstr(out.params_json, "\"tau\":0.83999999999999997"));
    int q = 0;
    for (int i = 0; i < out.n_quirks; i++) q += !strcmp(out.quirks[i], "fastvid_qwen.ctx_budget_reversed");
    assert_int_equal(q, 1);
    tg_prune_output_free(&out);
    /* r = 0.3 (F = 76), every transition a sub-cut (ignore 0.999), p = 2:
     *   [0,1]: R 152, C 60, S 92: 46 / 46, context [60, 0] -> [0, 60].
     *   [2..4]: R 228, C 91, S 137: 46 / 46 / 45, context [46, 0, 45] -> [45, 0, 46].
     *   [5..9]: R 380, C 152, S 228: 46 46 46 45 45, context shares 51 51 50 at entries 0, 2, 4,
     *     reversed: [50, 0, 51, 0, 51]. */
    const char *k2[] = {"model=qwen2.5-vl", "c=3", "ignore=0.999", "p=2", "retention=0.3", "jitter=0"};
    int64_t w2[10] = {46, 106, 91, 46, 91, 96, 46, 97, 45, 96};
    fvq_case(k2, 6, 0.3, w2, &out);
    assert_int_equal(out.n_kept, 760);
    tg_prune_output_free(&out);
    /* r = 0.6 (F = 153) without sub-cuts: the caps. [0,1]: C 122, S 184 -> slice 1: 122 +
     * min(184, 256 - 122) = 256. [2..4]: R 459, C 183 -> min(183, 128) = 128, S 276 -> 128.
     * [5..9]: R 765: 128 + 128. The realised count falls far below 10 * 153. */
    const char *k3[] = {"model=qwen2.5-vl", "c=3", "ignore=-1", "retention=0.6", "jitter=0"};
    int64_t w3[10] = {0, 256, 0, 0, 256, 0, 0, 0, 0, 256};
    fvq_case(k3, 5, 0.6, w3, &out);
    tg_prune_output_free(&out);
    /* no retention: F solved on the data, 51 per slice -> 510 / 2560 = 0.1992 */
    const char *k4[] = {"model=qwen2.5-vl", "c=3", "ignore=0.96", "jitter=0"};
    fvq_case(k4, 4, 0.2, w1, &out);
    assert_non_null(strstr(out.params_json, "\"solve\":\"resolved-on-data\""));
    tg_prune_output_free(&out);
    /* ignore is a Qwen-only knob */
    {
        video v = make_video(10, 14, 4, 7);
        const char *kv[] = {"c=3", "ignore=0.9", "retention=0.1"};
        tg_prune_input in = video_input(&v, 0.1, kv, 3);
        char err[256];
        assert_int_equal(run("fastvid", &in, &out, err), TG_ERR_INPUT);
        assert_non_null(strstr(err, "ignore"));
        free_video(&v);
    }
}

/* ===== FastV ===== */

static void test_holitom_paper_context(void **state) {
    (void)state;
    /* compat=paper, d = 0.5: half of each frame's dynamic budget becomes DPC context tokens */
    video v = make_video(12, 14, 8, 21);
    const char *kv[] = {"compat=paper", "d=0.5", "retain_ratio=0.2", "variant=outer"};
    tg_prune_input in = video_input(&v, 0.2, kv, 4);
    tg_prune_output out;
    char err[256];
    int st = run("holitom", &in, &out, err);
    if (st) fprintf(stderr, "%s\n", err);
    assert_int_equal(st, TG_OK);
    int64_t ctx = 0, sal = 0, total = 0;
    for (int g = 0; g < out.n_segments; g++) {
        ctx += out.segments[g].kept_context;
        sal += out.segments[g].kept_salient;
        total += out.segments[g].kept;
    }
    assert_true(ctx > 0);
    assert_true(llabs(ctx - sal) <= 2 * 12); /* round(total * 0.5) per frame */
    assert_int_equal(total, out.n_kept);
    for (int64_t i = 1; i < out.n_kept; i++) assert_true(out.kept[i] > out.kept[i - 1]);
    tg_prune_output_free(&out);
    free_video(&v);
}

static void test_fastv_plan(void **state) {
    (void)state;
    video v = make_video(32, 14, 4, 3);
    const char *kv[] = {"k=2"};
    tg_prune_input in = video_input(&v, 0.10, kv, 1);
    tg_prune_output out;
    char err[256];
    assert_int_equal(run("fastv", &in, &out, err), TG_OK);
    assert_int_equal(out.n_kept, 32 * 196);
    assert_int_equal(out.n_seq, 6273);
    assert_true(out.plan.layer > 0);
    assert_int_equal(out.plan.layer, 2);
    assert_int_equal(out.plan.keep_count, 193);
    assert_int_equal(out.plan.merge, TB_PLAN_MERGE_NONE);
    assert_int_equal(out.plan.pos, TB_PLAN_POS_KEEP);
    assert_int_equal(out.plan.select, TB_PLAN_SELECT_LAST_QUERY);
    
    NEAR(out.equiv_retention, 0.10, 1e-4);
    assert_string_equal(out.quirks[0], "fastv.last_row_score");
    tg_prune_output_free(&out);
    const char *kp[] = {"compat=paper", "keep=100"};
    in = video_input(&v, 0.10, kp, 2);
    assert_int_equal(run("fastv", &in, &out, err), TG_OK);
    assert_int_equal(out.plan.keep_count, 100);
    assert_int_equal(out.plan.select, TB_PLAN_SELECT_ALL_QUERIES);
    assert_int_equal(out.n_quirks, 0);
    tg_prune_output_free(&out);
    /* a 2-layer model: default k becomes 1 */
    const char *k2l[] = {"layers=2", "keep=50"};
    in = video_input(&v, 0.10, k2l, 2);
    assert_int_equal(run("fastv", &in, &out, err), TG_OK);
    assert_int_equal(out.plan.layer, 1);
    assert_int_equal(out.n_layers, 2);
    tg_prune_output_free(&out);
    /* HoliTom on a 4-layer model: layer round(18 * 4 / 28) = 3 */
    const char *h4[] = {"layers=4", "retain_ratio=0.2"};
    in = video_input(&v, 0.10, h4, 2);
    assert_int_equal(run("holitom", &in, &out, err), TG_OK);
    assert_int_equal(out.plan.layer, 3);
    tg_prune_output_free(&out);
    const char *k3[] = {"k=3"};
    in = video_input(&v, 0.10, k3, 1);
    assert_int_equal(run("fastv", &in, &out, err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "infeasible"));
    free_video(&v);
}

/* ===== DART: the quota of the spec's table and correction §10.2, the plan it hands the engine ===== */

static void test_dart_budget_and_plan(void **state) {
    (void)state;
    bl_knobs k;
    double got;
    /* spec §2 table (N = 6273, K = 2): T = int(N * R / 8) -> kept 4 + 8 T */
    const double rs[4] = {0.10, 0.15, 0.20, 0.25};
    const int64_t T_[4] = {24, 66, 108, 150}, keep[4] = {196, 532, 868, 1204};
    for (int i = 0; i < 4; i++) {
        solve_one("dart", TB_FAMILY_LLAVA_OV, rs[i], &k, &got, BL_SOLVE_OK);
        assert_int_equal(k.per_pivot, T_[i]);
        assert_int_equal(k.keep, keep[i]);
        assert_int_equal(k.llm_layer, 2);
        NEAR(got, (2.0 * 6273 + 26.0 * (double)keep[i]) / (28.0 * 6273), 1e-12);
    }
    /* §10.2: rho = 1 - R in double makes N R / 8 = 1 (N = 80, R = 0.1) give T = 0, not 1 */
    bl_geometry g = bl_geometry_default(TB_FAMILY_LLAVA_OV, 28);
    g.newline = TG_NEWLINE_NONE;
    g.n_frames = 5, g.grid_h = g.grid_w = 4; /* N = 80 */
    k = bl_knobs_default("dart");
    char err[256];
    double r = (2.0 + 26.0 * 0.1) / 28.0; /* R = (28 r - 2) / 26 = 0.1 */
    assert_true(bl_solve("dart", r, &g, &k, &got, err, sizeof err) >= 0);
    assert_int_equal(k.per_pivot, 0);
    assert_int_equal(k.keep, 4);
    /* infeasible below K / L */
    g = bl_geometry_default(TB_FAMILY_LLAVA_OV, 28);
    k = bl_knobs_default("dart");
    assert_int_equal(bl_solve("dart", 0.05, &g, &k, &got, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "infeasible"));
    /* the method: everything enters the LLM, a DART plan at layer 2, official pivot order */
    video v = make_video(32, 14, 4, 3);
    tg_prune_input in = video_input(&v, 0.15, NULL, 0);
    tg_prune_output out;
    assert_int_equal(run("dart", &in, &out, err), TG_OK);
    assert_int_equal(out.n_seq, 6273);
    assert_int_equal(out.plan.layer, 2);
    assert_int_equal(out.plan.select, TB_PLAN_SELECT_DART);
    assert_int_equal(out.plan.pivot_image, 4);
    assert_int_equal(out.plan.pivot_text, 4);
    assert_int_equal(out.plan.per_pivot, 66);
    assert_int_equal(out.plan.pivot_order, TB_PLAN_ORDER_PYSET);
    assert_int_equal(out.plan.merge, TB_PLAN_MERGE_NONE);
    assert_int_equal(out.plan.pos, TB_PLAN_POS_KEEP);
    assert_int_equal(out.visual_per_layer[1], 6273);
    assert_int_equal(out.visual_per_layer[2], 532);
    assert_string_equal(out.quirks[0], "dart.pivot_set_order");
    tg_prune_output_free(&out);
    const char *kp[] = {"compat=paper", "token_topk=10", "pivot_text=2"};
    in = video_input(&v, 0.15, kp, 3);
    assert_int_equal(run("dart", &in, &out, err), TG_OK);
    assert_int_equal(out.plan.pivot_order, TB_PLAN_ORDER_LIST);
    assert_int_equal(out.plan.per_pivot, 10);
    assert_int_equal(out.visual_per_layer[27], 4 + 6 * 10);
    assert_int_equal(out.n_quirks, 0);
    tg_prune_output_free(&out);
    const char *kr[] = {"reduction_ratio=0.9"};
    in = video_input(&v, 0.15, kr, 1);
    assert_int_equal(run("dart", &in, &out, err), TG_OK);
    assert_int_equal(out.plan.per_pivot, (int64_t)(6273.0 * (1.0 - 0.9) / 8.0));
    tg_prune_output_free(&out);
    const char *kb[] = {"reduction_ratio=0.9", "token_topk=3"};
    in = video_input(&v, 0.15, kb, 2);
    assert_int_equal(run("dart", &in, &out, err), TG_ERR_INPUT);
    free_video(&v);
}

/* ===== VidCom2 by hand ===== */

/* 4 frames of 14x14 (196 tokens, the official OV frame), D = 8. Every token of frames 0-2 is
 * about (1,...,1), every token of frame 3 about -(1,...,1) (plus noise 0.05), so every channel has
 * the same variance and any channel half sees unit vectors u (frames 0-2) and -u (frame 3): the
 * video centre is u/2, |x - g|^2 is 1/4 in frames 0-2 and 9/4 in frame 3, frame 3's -mean(vs) is
 * the largest by far and the softmax at tau = 0.01 is one-hot on it. Budgets (spec §6 step 5,
 * p - mean(p) = 3/4 and -1/4): k_3 = round(fp16(fp16(0.2 * 1.75) * 196)) = round(68.625) = 69,
 * k_f = round(fp16(fp16(0.2 * 0.75) * 196)) = round(29.40) = 29. */
static void test_vidcom2_hand(void **state) {
    (void)state;
    enum { T = 4, L = 196, D = 8 };
    static float F[T * L * D], A[T * L];
    tg_rng r;
    tg_rng_seed(&r, 77);
    for (int t = 0; t < T; t++)
        for (int l = 0; l < L; l++)
            for (int d = 0; d < D; d++) {
                (void)d;
                F[(t * L + l) * D + d] = (t < 3 ? 1.0f : -1.0f) + 0.05f * gauss(&r);
            }
    tg_prune_input in = tg_prune_input_default();
    in.features = F;
    in.saliency = A;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = in.grid_w = 14;
    in.ratio = 0.2;
    const char *kv[] = {"base_scale=0.2"};
    in.params = kv;
    in.n_params = 1;
    tg_prune_output out;
    char err[256];
    assert_int_equal(run("vidcom2", &in, &out, err), TG_OK);
    int64_t per[T] = {0};
    for (int64_t i = 0; i < out.n_kept; i++) per[out.kept[i] / L]++;
    assert_int_equal(per[0], 29);
    assert_int_equal(per[1], 29);
    assert_int_equal(per[2], 29);
    assert_int_equal(per[3], 69);
    assert_int_equal(out.n_seq, out.n_kept + 1);
    assert_int_equal(out.order[out.n_seq - 1], TG_NEWLINE);
    assert_non_null(strstr(out.params_json, "\"frame_budgets\":[29,29,29,69]"));
    assert_string_equal(out.quirks[0], "vidcom2.low_variance_channels");
    assert_string_equal(out.quirks[1], "vidcom2.hardcoded_196");
    for (int64_t i = 0; i < out.n_kept; i++) /* tokens gathered from the input, unmerged */
        assert_memory_equal(out.tokens + i * D, F + out.kept[i] * D, D * sizeof(float));
    tg_prune_output_free(&out);
    /* official OV on a 6x6 grid: T*L = 144 is no multiple of the hard-coded 196 */
    in.n_tokens = 36;
    in.grid_h = in.grid_w = 6;
    assert_int_equal(run("vidcom2", &in, &out, err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "vidcom2.hardcoded_196"));
    const char *kp[] = {"base_scale=0.2", "compat=paper"};
    in.params = kp;
    in.n_params = 2;
    assert_int_equal(run("vidcom2", &in, &out, err), TG_OK);
    assert_int_equal(out.n_quirks, 0);
    tg_prune_output_free(&out);
    /* LLaVA-Video official: every frame's H newlines follow its kept tokens */
    const char *kvv[] = {"base_scale=0.2", "model=llava-video"};
    in.params = kvv;
    in.n_params = 2;
    assert_int_equal(run("vidcom2", &in, &out, err), TG_OK);
    assert_int_equal(out.n_newlines, T * 6);
    int64_t pos = 0;
    for (int t = 0; t < T; t++) {
        while (pos < out.n_seq && out.order[pos] != TG_NEWLINE) assert_true(out.order[pos++] / 36 == t);
        for (int h = 0; h < 6; h++) assert_int_equal(out.order[pos++], TG_NEWLINE);
    }
    assert_int_equal(pos, out.n_seq);
    tg_prune_output_free(&out);
}

/* ===== properties over every method, both models, r = 0.10 / 0.15 / 0.20 ===== */

static void check_valid(const tg_prune_output *o, int64_t N) {
    for (int64_t i = 0; i < o->n_kept; i++) {
        assert_true(o->kept[i] >= 0 && o->kept[i] < N);
        if (i) assert_true(o->kept[i] > o->kept[i - 1]);
    }
    int64_t content = 0;
    for (int64_t i = 0; i < o->n_seq; i++) {
        assert_true(o->order[i] == TG_NEWLINE || (o->order[i] >= 0 && o->order[i] < N));
        content += o->order[i] != TG_NEWLINE;
    }
    assert_int_equal(content, o->n_kept);
    assert_int_equal(o->n_seq - content, o->n_newlines);
    for (int64_t i = 0; i < o->n_kept * o->dim; i++) assert_true(isfinite(o->tokens[i]));
    assert_non_null(o->params_json);
}

static void test_matched_retention(void **state) {
    (void)state;
    const char *ms[] = {"fastv", "visionzip", "holitom", "fastvid", "uniform", "random", "topk", "dart", "vidcom2"};
    const double rs[3] = {0.10, 0.15, 0.20};
    for (int model = 0; model < 2; model++) {
        video v = model ? make_video(64, 13, 8, 11) : make_video(32, 14, 8, 5);
        for (int m = 0; m < 9; m++)
            for (int i = 0; i < 3; i++) {
                const char *kv[] = {model ? "model=llava-video" : "model=llava-ov", "seed=3"};
                tg_prune_input in = video_input(&v, rs[i], kv, 2);
                tg_prune_output a, b;
                char err[256];
                int st = run(ms[m], &in, &a, err);
                if (st) fprintf(stderr, "%s: %s\n", ms[m], err);
                assert_int_equal(st, TG_OK);
                check_valid(&a, v.T * v.L);
                if (fabs(a.equiv_retention - rs[i]) > BL_TOL)
                    fprintf(stderr, "%s model %d r=%g realised %g\n", ms[m], model, rs[i], a.equiv_retention);
                NEAR(a.equiv_retention, rs[i], BL_TOL);
                assert_non_null(strstr(a.params_json, "\"matched\":true"));
                /* deterministic */
                assert_int_equal(run(ms[m], &in, &b, err), TG_OK);
                assert_int_equal(a.n_seq, b.n_seq);
                assert_memory_equal(a.order, b.order, (size_t)a.n_seq * sizeof *a.order);
                assert_memory_equal(a.tokens, b.tokens, (size_t)(a.n_kept * a.dim) * sizeof *a.tokens);
                tg_prune_output_free(&a);
                tg_prune_output_free(&b);
            }
        free_video(&v);
    }
}

static void test_controls(void **state) {
    (void)state;
    video v = make_video(32, 14, 4, 9);
    tg_prune_output o;
    char err[256];
    const char *k0[] = {"seed=1"};
    tg_prune_input in = video_input(&v, 0.5, k0, 1);
    assert_int_equal(run("full", &in, &o, err), TG_OK);
    assert_int_equal(o.n_kept, 32 * 196);
    NEAR(o.equiv_retention, 1.0, 0);
    tg_prune_output_free(&o);
    /* random: another seed, another set */
    tg_prune_output o2;
    in = video_input(&v, 0.1, k0, 1);
    assert_int_equal(run("random", &in, &o, err), TG_OK);
    const char *k2[] = {"seed=2"};
    in = video_input(&v, 0.1, k2, 1);
    assert_int_equal(run("random", &in, &o2, err), TG_OK);
    assert_int_equal(o.n_kept, o2.n_kept);
    assert_true(memcmp(o.kept, o2.kept, (size_t)o.n_kept * sizeof *o.kept) != 0);
    tg_prune_output_free(&o);
    tg_prune_output_free(&o2);
    /* topk picks the per-frame maxima */
    const char *kt[] = {"per_frame=1"};
    in = video_input(&v, 0.1, kt, 1);
    assert_int_equal(run("topk", &in, &o, err), TG_OK);
    assert_int_equal(o.n_kept, 32);
    for (int64_t t = 0; t < 32; t++) {
        int64_t best = 0;
        for (int64_t l = 1; l < 196; l++)
            if (v.A[t * 196 + l] > v.A[t * 196 + best]) best = l;
        assert_int_equal(o.kept[t], t * 196 + best);
    }
    tg_prune_output_free(&o);
    /* uniform 14x14 -> 7x7: token ids at the cell centres floor((i + 0.5) * 2) */
    const char *ku[] = {"rows=7", "cols=7"};
    in = video_input(&v, 0.25, ku, 2);
    assert_int_equal(run("uniform", &in, &o, err), TG_OK);
    assert_int_equal(o.n_kept, 32 * 49);
    assert_int_equal(o.kept[0], 1 * 14 + 1);
    assert_int_equal(o.kept[1], 1 * 14 + 3);
    tg_prune_output_free(&o);
    /* uniform-frames: 4 of 32 frames at floor((i + 0.5) * 8) = 4, 12, 20, 28 */
    const char *kf[] = {"frames=4"};
    in = video_input(&v, 0.125, kf, 1);
    assert_int_equal(run("uniform-frames", &in, &o, err), TG_OK);
    assert_int_equal(o.n_kept, 4 * 196);
    assert_int_equal(o.kept[0], 4 * 196);
    assert_int_equal(o.kept[3 * 196], 28 * 196);
    tg_prune_output_free(&o);
    /* without the knob: the closest frame count, flagged as not matched */
    in = video_input(&v, 0.10, k0, 1);
    assert_int_equal(run("uniform-frames", &in, &o, err), TG_OK);
    assert_int_equal(o.n_kept, 3 * 196);
    assert_non_null(strstr(o.params_json, "\"matched\":false"));
    tg_prune_output_free(&o);
    free_video(&v);
}

static void test_bad_inputs(void **state) {
    (void)state;
    video v = make_video(32, 14, 4, 9);
    tg_prune_output o;
    char err[256];
    struct {
        const char *m, *kv;
    } bad[] = {{"fastv", "compat=weird"},      {"fastv", "model=llava-next"},    {"visionzip", "dominant_ratio=1"},
               {"holitom", "d=0.3"},           {"holitom", "variant=half"},      {"fastvid", "p=0"},
               {"topk", "rows=3"},             {"uniform", "rows=3"},            {"random", "keep=0"},
               {"fastv", "keep=-1"},           {"holitom", "unknown=1"},         {"fastvid", "retention=0.001"},
               {"uniform-frames", "frames=33"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv[] = {bad[i].kv};
        tg_prune_input in = video_input(&v, 0.1, kv, 1);
        err[0] = 0;
        int st = run(bad[i].m, &in, &o, err);
        if (st != TG_ERR_INPUT) fprintf(stderr, "%s %s -> %d\n", bad[i].m, bad[i].kv, st);
        assert_int_equal(st, TG_ERR_INPUT);
        assert_true(strlen(err) > 0);
        assert_null(o.kept);
    }
    /* shape errors go through tg_prune_input_check */
    tg_prune_input in = video_input(&v, 0.1, NULL, 0);
    in.grid_h = 13;
    assert_int_equal(run("visionzip", &in, &o, err), TG_ERR_INPUT);
    in = video_input(&v, 1.5, NULL, 0);
    assert_int_equal(run("holitom", &in, &o, err), TG_ERR_INPUT);
    free_video(&v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solver_fastv),
        cmocka_unit_test(test_solver_budgets),
        cmocka_unit_test(test_visionzip_hand),
        cmocka_unit_test(test_holitom_hand),
        cmocka_unit_test(test_fastvid_merge_positions),
        cmocka_unit_test(test_fastvid_dyseg_budgets),
        cmocka_unit_test(test_fastvid_qwen_budgets),
        cmocka_unit_test(test_holitom_paper_context),
        cmocka_unit_test(test_fastv_plan),
        cmocka_unit_test(test_dart_budget_and_plan),
        cmocka_unit_test(test_vidcom2_hand),
        cmocka_unit_test(test_matched_retention),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
