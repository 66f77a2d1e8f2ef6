/* test_primitives.c - the shared token primitives (tango/primitives.h) pinned to hand-checkable
 * cases, plus an independent PyTorch oracle (tests/fixtures/tango/oracle_primitives.py) for
 * cdist, ST-RoPE and the grid pooling. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "tests/tb_test.h"

#include "harness/npy.h"
#include "common/llm_plan.h"
#include "tango/primitives.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* ===== helpers ===== */

static void test_fp16_round(void **state) {
    (void)state;
    assert_true(tg_fp16_round(0.6f) == 0.60009765625f);
    assert_true(tg_fp16_round(1.0f) == 1.0f);
    assert_true(tg_fp16_round(65504.0f) == 65504.0f);
    assert_true(isinf(tg_fp16_round(70000.0f)));
    assert_true(tg_fp16_round(1.0f + 1.0f / 2048.0f) == 1.0f);                  /* tie -> even */
    assert_true(tg_fp16_round(1.0f + 3.0f / 2048.0f) == 1.0f + 2.0f / 1024.0f); /* tie -> even (up) */
    assert_true(tg_fp16_round(1e-8f) == 0.0f);                                  /* below half the subnormal step */
    assert_true(tg_fp16_round(4e-8f) == ldexpf(1.0f, -24));                     /* smallest subnormal */
    assert_true(tg_fp16_round(-0.6f) == -0.60009765625f);
    /* bf16: 8 significant bits, float32's exponent range */
    assert_true(tg_bf16_round(0.6f) == 0.6015625f);
    assert_true(tg_bf16_round(-0.6f) == -0.6015625f);
    assert_true(tg_bf16_round(1.0f + 1.0f / 256.0f) == 1.0f);                 /* tie -> even */
    assert_true(tg_bf16_round(1.0f + 3.0f / 256.0f) == 1.0f + 4.0f / 256.0f); /* tie -> even (up) */
    assert_true(tg_bf16_round(1.0f + 1.1f / 256.0f) == 1.0f + 2.0f / 256.0f);
    assert_true(tg_bf16_round(70000.0f) == 70144.0f);
    assert_true(isinf(tg_bf16_round(3.4e38f)));                             /* past bf16's largest */
    assert_true(isnan(tg_bf16_round(NAN)));
    assert_true(tg_round_to(TG_ROUND_NONE, 0.6f) == 0.6f);
    assert_true(tg_round_to(TG_ROUND_FP16, 0.6f) == 0.60009765625f);
    assert_true(tg_round_to(TG_ROUND_BF16, 0.6f) == 0.6015625f);
    assert_string_equal(tg_round_name(TG_ROUND_BF16), "bf16");
}

static void test_round_half_even(void **state) {
    (void)state;
    assert_true(tb_round_half_even(0.5) == 0.0);
    assert_true(tb_round_half_even(1.5) == 2.0);
    assert_true(tb_round_half_even(2.5) == 2.0);
    assert_true(tb_round_half_even(325.5) == 326.0);
    assert_true(tb_round_half_even(2.4999) == 2.0);
    assert_true(tb_round_half_even(-1.5) == -2.0);
}

static void test_topk_stable(void **state) {
    (void)state;
    float v[] = {1, 3, 3, 2, 3};
    int64_t idx[4];
    assert_int_equal(tg_topk_desc(v, 5, 4, idx), 0);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 4);
    assert_int_equal(idx[3], 3);
    assert_int_equal(tg_topk_desc(v, 5, 6, idx), -1);
}

static void test_rng(void **state) {
    (void)state;
    tg_rng a, b;
    tg_rng_seed(&a, 7);
    tg_rng_seed(&b, 7);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        float x = tg_rng_uniform(&a), y = tg_rng_uniform(&b);
        assert_true(x == y);
        assert_true(x >= 0.0f && x < 1.0f);
    }
    tg_rng_seed(&b, 8);
    for (int i = 0; i < 10; i++) differ |= tg_rng_uniform(&a) != tg_rng_uniform(&b);
    assert_true(differ);
}

/* ===== similarity and distances ===== */

static void test_cos_consecutive(void **state) {
    (void)state;
    /* T = 3, L = 2, D = 2 */
    float x[] = {1, 0, 0, 0, /* f0: (1,0) (0,0) */
                 1, 1, 2, 0, /* f1: (1,1) (2,0) */
                 -1, -1, 0, 5 /* f2 */};
    float s[4];
    tg_cos_consecutive(x, 3, 2, 2, 1, s);
    NEAR(s[0], sqrt(0.5), 1e-7); /* (1,0).(1,1) */
    NEAR(s[1], 0.0, 1e-7);       /* zero vector: eps-clamped norm */
    NEAR(s[2], -1.0, 1e-7);      /* opposite */
    NEAR(s[3], 0.0, 1e-7);       /* orthogonal */
}

static void test_cdist_forms(void **state) {
    (void)state;
    float x[] = {0, 0, 3, 4, 1, 1};
    float d1[9], d2[9], d3[9];
    assert_int_equal(tg_cdist(x, 3, x, 3, 2, TG_DIST_DIRECT, 1, d1), 0);
    NEAR(d1[1], 5.0, 1e-6);
    NEAR(d1[0], 0.0, 0);
    NEAR(d1[5], sqrt(4 + 9), 1e-6);
    assert_int_equal(tg_cdist(x, 3, x, 3, 2, TG_DIST_GEMM, 1, d2), 0);
    assert_int_equal(tg_cdist_self(x, 3, 2, TG_DIST_GEMM, 1, d3), 0);
    for (int i = 0; i < 9; i++) {
        NEAR(d2[i], d1[i], 1e-3);
        NEAR(d3[i], d1[i], 1e-3);
        assert_true(d3[i] == d3[(i % 3) * 3 + i / 3]); /* symmetric */
    }
    /* the GEMM form's clamp: self distances are >= sqrt(1e-30), never NaN */
    for (int i = 0; i < 3; i++) assert_true(d3[i * 4] >= 1e-15f && !isnan(d3[i * 4]));
    /* PyTorch's path rule: more than 25 rows on either side */
    assert_false(tg_dist_uses_gemm(TG_DIST_TORCH, 25, 25));
    assert_true(tg_dist_uses_gemm(TG_DIST_TORCH, 26, 3));
    assert_true(tg_dist_uses_gemm(TG_DIST_TORCH, 3, 26));
    assert_false(tg_dist_uses_gemm(TG_DIST_DIRECT, 1000, 1000));
    assert_true(tg_dist_uses_gemm(TG_DIST_GEMM, 2, 2));
}

static void test_cdist_gemm_self_noise(void **state) {
    (void)state;
    /* unit vectors of width 512: the GEMM self-distance is rounding noise, tiny but typically
     * non-zero (~1e-4), as PyTorch's mm path */
    enum { M = 30, D = 512 };
    float *y = malloc(sizeof(float) * M * D), *d = malloc(sizeof(float) * M * M);
    tg_rng r;
    tg_rng_seed(&r, 1);
    for (int i = 0; i < M; i++) {
        double n = 0;
        for (int k = 0; k < D; k++) {
            y[i * D + k] = tg_rng_uniform(&r) - 0.5f;
            n += (double)y[i * D + k] * y[i * D + k];
        }
        for (int k = 0; k < D; k++) y[i * D + k] = (float)(y[i * D + k] / sqrt(n));
    }
    assert_int_equal(tg_cdist_self(y, M, D, TG_DIST_TORCH, 1, d), 0);
    for (int i = 0; i < M; i++) assert_true(d[i * M + i] < 2e-3f);
    free(y);
    free(d);
}

/* ===== DPC-KNN, assignment, merge ===== */

static void test_dpc_line_ties(void **state) {
    (void)state;
    /* points 0, 1, 2, 10 on a line; K = 1 (drop self): neighbour distance 1, 1, 1, 8 ->
     * rho = e^-1 (x3), e^-64; nobody is strictly denser than p0..p2 -> delta = global max 10;
     * p3's delta = 8; gamma = 10/e for p0..p2 (ties -> lower index first) */
    float pts[] = {0, 1, 2, 10};
    float dist[16];
    assert_int_equal(tg_cdist(pts, 4, pts, 4, 1, TG_DIST_DIRECT, 1, dist), 0);
    tg_dpc_params p = tg_dpc_default_params();
    p.knn = 1;
    p.jitter = 0;
    int64_t c[2];
    float rho[4], gamma[4];
    char err[128];
    assert_int_equal(tg_dpc_knn(dist, 4, 2, &p, c, rho, gamma, err, sizeof err), 0);
    NEAR(rho[0], exp(-1.0), 1e-7);
    NEAR(rho[3], expf(-64.0f), 1e-30);
    NEAR(gamma[0], 10.0 * exp(-1.0), 1e-6);
    NEAR(gamma[3], 8.0 * expf(-64.0f), 1e-30);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 1);
    /* HoliTom form: self included (K = 2 -> {0, 1}), distances divided by 2 */
    p.knn = 2;
    p.drop_self = 0;
    p.dist_div = 2.0;
    assert_int_equal(tg_dpc_knn(dist, 4, 2, &p, c, rho, gamma, err, sizeof err), 0);
    NEAR(rho[0], exp(-(0.0 + 0.25) / 2), 1e-7);
    NEAR(rho[3], exp(-(0.0 + 16.0) / 2), 1e-9);
    /* errors */
    assert_int_equal(tg_dpc_knn(dist, 4, 5, &p, c, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "5 centres"));
    p.jitter = 1e-6;
    p.rng = NULL;
    assert_int_equal(tg_dpc_knn(dist, 4, 1, &p, c, NULL, NULL, err, sizeof err), -1);
}

static void test_dpc_obvious_clusters(void **state) {
    (void)state;
    /* three tight 2-D clusters of 6 points around (0,0), (10,0), (0,10); the densest point of
     * each cluster is its middle one */
    float pts[18 * 2];
    float cx[3] = {0, 10, 0}, cy[3] = {0, 0, 10};
    float off[6][2] = {{0, 0}, {0.1f, 0}, {-0.1f, 0}, {0, 0.1f}, {0, -0.1f}, {0.12f, 0.12f}};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 6; i++) {
            pts[(k * 6 + i) * 2] = cx[k] + off[i][0];
            pts[(k * 6 + i) * 2 + 1] = cy[k] + off[i][1];
        }
    float dist[18 * 18], gamma[18];
    assert_int_equal(tg_cdist_self(pts, 18, 2, TG_DIST_DIRECT, 1, dist), 0);
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    tg_dpc_params p = tg_dpc_default_params();
    p.knn = 4;
    p.rng = &rng;
    int64_t c[3], c2[3];
    char err[128];
    assert_int_equal(tg_dpc_knn(dist, 18, 3, &p, c, NULL, gamma, err, sizeof err), 0);
    int seen[3] = {0, 0, 0};
    for (int j = 0; j < 3; j++) {
        seen[c[j] / 6]++;
        assert_int_equal(c[j] % 6, 0); /* the cluster's middle point */
        if (j) assert_true(gamma[c[j - 1]] >= gamma[c[j]]);
    }
    assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    /* same seed -> same centres; index order sorts them */
    tg_rng_seed(&rng, 3);
    p.order = TG_DPC_ORDER_INDEX;
    assert_int_equal(tg_dpc_knn(dist, 18, 3, &p, c2, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(c2[0], 0);
    assert_int_equal(c2[1], 6);
    assert_int_equal(c2[2], 12);
    /* assignment: every point to its own cluster's centre */
    float dc[18 * 3];
    int64_t as[18];
    for (int i = 0; i < 18; i++)
        for (int j = 0; j < 3; j++) dc[i * 3 + j] = dist[i * 18 + c2[j]];
    tg_assign_nearest(dc, 18, 3, as);
    for (int i = 0; i < 18; i++) assert_int_equal(as[i], i / 6);
}

static void test_assign_first_min(void **state) {
    (void)state;
    float d[] = {2, 1, 1, 0.5f, 0.5f, 0.5f};
    int64_t a[2];
    tg_assign_nearest(d, 2, 3, a);
    assert_int_equal(a[0], 1);
    assert_int_equal(a[1], 0);
}

static void test_merge_weights(void **state) {
    (void)state;
    /* anchor 0 = (1,0) with members (0,1), (0,3); anchor 3 = (5,5) alone */
    float x[] = {1, 0, 0, 1, 0, 3, 5, 5};
    int64_t anchors[] = {0, 3}, assign[] = {0, 0, 0, 1}, cnt[2];
    float out[4];
    char err[128];
    tg_merge_params p = {TG_MERGE_WEIGHT_MAX, 0.6, 0};
    assert_int_equal(tg_cluster_merge(x, 4, 2, anchors, 2, assign, &p, out, cnt, err, sizeof err), 0);
    assert_int_equal(cnt[0], 3);
    assert_int_equal(cnt[1], 1);
    NEAR(out[0], 0.6 * 1 + 0.4 * (1.0 / 3), 1e-6);
    NEAR(out[1], 0.6 * 0 + 0.4 * (4.0 / 3), 1e-6);
    assert_true(out[2] == 5 && out[3] == 5); /* singleton unchanged */
    p.beta_round = TG_ROUND_FP16;            /* fp16(0.6) = 0.60009765625 */
    assert_int_equal(tg_cluster_merge(x, 4, 2, anchors, 2, assign, &p, out, NULL, err, sizeof err), 0);
    NEAR(out[0], 0.60009765625 + (1 - 0.60009765625) / 3, 1e-6);
    p.beta_round = TG_ROUND_BF16; /* Qwen2.5-VL: bf16(0.6) = 0.6015625 */
    assert_int_equal(tg_cluster_merge(x, 4, 2, anchors, 2, assign, &p, out, NULL, err, sizeof err), 0);
    NEAR(out[0], 0.6015625 + (1 - 0.6015625) / 3, 1e-6);
    /* two members: 1/n = 0.5 < beta -> beta wins; beta 0.2 < 1/2 -> w = 1/2 (the plain mean) */
    int64_t a2[] = {0, 0, 1, 1};
    int64_t an2[] = {0, 2};
    p.beta_round = TG_ROUND_NONE;
    p.beta = 0.2;
    assert_int_equal(tg_cluster_merge(x, 4, 2, an2, 2, a2, &p, out, NULL, err, sizeof err), 0);
    NEAR(out[0], 0.5 * 1 + 0.5 * 0.5, 1e-6);
    /* HoliTom: beta*x + (1-beta)*mean(members without the anchor) */
    tg_merge_params h = {TG_MERGE_BETA_EXCL, 0.6, 0};
    assert_int_equal(tg_cluster_merge(x, 4, 2, anchors, 2, assign, &h, out, cnt, err, sizeof err), 0);
    NEAR(out[0], 0.6, 1e-6);
    NEAR(out[1], 0.8, 1e-6);
    assert_int_equal(cnt[0], 2);
    assert_true(out[2] == 5 && out[3] == 5);
    tg_merge_params pm = {TG_MERGE_PLAIN_MEAN, 0.6, 0};
    assert_int_equal(tg_cluster_merge(x, 4, 2, anchors, 2, assign, &pm, out, NULL, err, sizeof err), 0);
    NEAR(out[0], 1.0 / 3, 1e-6);
    NEAR(out[1], 4.0 / 3, 1e-6);
    /* a bad assignment is an error, not a crash */
    int64_t bad[] = {0, 2, 0, 1};
    assert_int_equal(tg_cluster_merge(x, 4, 2, anchors, 2, bad, &p, out, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "assigned"));
}

/* ===== segmentation ===== */

static void run_dp(const float *s, int64_t T, int64_t L, double tau, int64_t maxw, int64_t *n, int64_t *st,
                   int64_t *len, int64_t *red) {
    char err[128];
    assert_int_equal(tg_segment_dp(s, T, L, tau, maxw, st, len, n, red, err, sizeof err), 0);
}

static void test_dp_cases(void **state) {
    (void)state;
    int64_t n, st[8], len[8], red;
    /* one frame */
    run_dp(NULL, 1, 3, 0.5, 1024, &n, st, len, &red);
    assert_int_equal(n, 1);
    assert_int_equal(len[0], 1);
    /* everything static: one window */
    float s1[] = {0.9f, 0.9f, 0.9f, 0.9f};
    run_dp(s1, 3, 2, 0.5, 1024, &n, st, len, &red);
    assert_int_equal(n, 1);
    assert_int_equal(len[0], 3);
    assert_int_equal(red, 4);
    /* strict threshold: s == tau is not static -> singletons (value 0 never beats 0) */
    float s2[] = {0.5f};
    run_dp(s2, 2, 1, 0.5, 1024, &n, st, len, &red);
    assert_int_equal(n, 2);
    assert_int_equal(red, 0);
    /* tie between window [1,2] and [0,2] (both 2): the shorter wins -> [0] [1,2] */
    float s3[] = {0.9f, 0.1f, 0.9f, 0.9f};
    run_dp(s3, 3, 2, 0.5, 1024, &n, st, len, &red);
    assert_int_equal(n, 2);
    assert_int_equal(st[0], 0);
    assert_int_equal(len[0], 1);
    assert_int_equal(st[1], 1);
    assert_int_equal(len[1], 2);
    assert_int_equal(red, 2);
    /* a worked 4-frame case: dp = 0, 1, 2, 4 -> [0] [1,3] */
    float s4[] = {0.9f, 0.1f, 0.9f, 0.9f, 0.9f, 0.9f};
    run_dp(s4, 4, 2, 0.5, 1024, &n, st, len, &red);
    assert_int_equal(n, 2);
    assert_int_equal(len[0], 1);
    assert_int_equal(st[1], 1);
    assert_int_equal(len[1], 3);
    assert_int_equal(red, 4);
    /* the same with windows of at most 2 frames: [0] [1,2] [3]? dp3 = max(dp2=2, dp1+C(2,3)=3) -> [0,1] [2,3] */
    run_dp(s4, 4, 2, 0.5, 2, &n, st, len, &red);
    assert_int_equal(n, 2);
    assert_int_equal(len[0], 2);
    assert_int_equal(len[1], 2);
    assert_int_equal(red, 3);
    /* singleton preferred over an equal-valued window: token static in [0,1] only, value 1;
     * at i = 2 window [1,2] gives dp0 + 0 = 0 < dp1 = 1 -> [0,1] [2] */
    float s5[] = {0.9f, 0.1f};
    run_dp(s5, 3, 1, 0.5, 1024, &n, st, len, &red);
    assert_int_equal(n, 2);
    assert_int_equal(len[0], 2);
    assert_int_equal(len[1], 1);
    char err[64];
    assert_int_equal(tg_segment_dp(s5, 0, 1, 0.5, 4, st, len, &n, NULL, err, sizeof err), -1);
}

static void test_static_mask_pool(void **state) {
    (void)state;
    /* T = 3, L = 3: token 0 static in all, token 1 broken at f1, token 2 at f0 */
    float s[] = {0.9f, 0.9f, 0.8f, 0.95f, 0.7f, 0.99f};
    uint8_t m[3];
    assert_int_equal(tg_static_mask(s, 3, 0, 3, 0.8, m), 1);
    assert_true(m[0] == 1 && m[1] == 0 && m[2] == 0);
    assert_int_equal(tg_static_mask(s, 3, 1, 2, 0.8, m), 2); /* window [1,2] uses row 1 only */
    assert_true(m[0] && !m[1] && m[2]);
    float x[] = {1, 2, 0, 0, 5, 5, /* f0: tokens 0..2, D = 2 */
                 3, 4, 0, 0, 7, 9};
    uint8_t mk[3] = {1, 0, 1};
    float out[4];
    tg_static_pool(x, 2, 3, 2, mk, out);
    NEAR(out[0], 2, 0);
    NEAR(out[1], 3, 0);
    NEAR(out[2], 6, 0);
    NEAR(out[3], 7, 0);
}

/* ===== pooling ===== */

static void test_pool_hand(void **state) {
    (void)state;
    float in[] = {1, 2, 3, 4}; /* 2x2, C = 1 */
    float o[1];
    tg_pool_bilinear(in, 1, 2, 2, 1, 1, 1, o);
    NEAR(o[0], 2.5, 1e-7);
    float in3[] = {1, 2, 9, 3, 4, 9, 9, 9, 9};
    tg_pool_avg2(in3, 1, 3, 3, 1, o);
    NEAR(o[0], 2.5, 1e-7);
    /* identity size: bilinear returns the input */
    float o4[4];
    tg_pool_bilinear(in, 1, 2, 2, 1, 2, 2, o4);
    for (int i = 0; i < 4; i++) NEAR(o4[i], in[i], 1e-7);
}

/* ===== ST-RoPE ===== */

static void test_strope_defaults(void **state) {
    (void)state;
    tg_strope_params p = tg_strope_default_params(3584);
    assert_int_equal(p.sec_t, 1196);
    assert_int_equal(p.sec_h, 1194);
    assert_int_equal(p.sec_w, 1194);
    assert_true(p.base_time == 10000.0 && p.base_space == 1000.0);
    p = tg_strope_default_params(64);
    assert_int_equal(p.sec_h, 20);
    assert_int_equal(p.sec_t, 24);
    char err[128];
    assert_int_equal(tg_strope_check(&p, 64, err, sizeof err), 0);
    p.sec_t = 25;
    assert_int_equal(tg_strope_check(&p, 64, err, sizeof err), -1);
    p.sec_t = 30;
    assert_int_equal(tg_strope_check(&p, 64, err, sizeof err), -1);
    assert_non_null(strstr(err, "exceeds"));
}

static void test_strope_unit_rotation(void **state) {
    (void)state;
    /* D = 12, sections 4/4/4: pair j with j+2 inside each section; inv_0 = 1 */
    tg_strope_params p = {4, 4, 4, 10000.0, 1000.0};
    float v[12] = {0};
    v[0] = 1; /* temporal section, first pair */
    tg_strope_rotate(v, 12, 1.5f, 0, 0, &p);
    NEAR(v[0], cosf(1.5f), 1e-7);
    NEAR(v[2], sinf(1.5f), 1e-7);
    float v2[12] = {0};
    v2[4 + 3] = 1; /* height section, second half of pair 1: inv_1 = 1/1000^(2/4) */
    tg_strope_rotate(v2, 12, 0, 3, 0, &p);
    float th = 3.0f * (1.0f / powf(1000.0f, 0.5f));
    NEAR(v2[4 + 3], cosf(th), 1e-7);
    NEAR(v2[4 + 1], -sinf(th), 1e-7);
    float v3[12] = {0};
    v3[8] = 1; /* width section */
    tg_strope_rotate(v3, 12, 0, 0, 2, &p);
    NEAR(v3[8], cosf(2.0f), 1e-7);
    NEAR(v3[10], sinf(2.0f), 1e-7);
    /* position 0 is the identity, and norms are kept */
    float u[12];
    for (int i = 0; i < 12; i++) u[i] = (float)(i + 1) / 10;
    float w[12];
    memcpy(w, u, sizeof u);
    tg_strope_rotate(w, 12, 0, 0, 0, &p);
    for (int i = 0; i < 12; i++) NEAR(w[i], u[i], 0);
    tg_strope_rotate(w, 12, 7.25f, 5, 9, &p);
    double n0 = 0, n1 = 0;
    for (int i = 0; i < 12; i++) {
        n0 += (double)u[i] * u[i];
        n1 += (double)w[i] * w[i];
    }
    NEAR(n0, n1, 1e-5);
}

static double strope_sim(const float *u, int64_t D, const tg_strope_params *p, float t1, float h1, float t2,
                         float h2) {
    float *a = malloc(sizeof(float) * D), *b = malloc(sizeof(float) * D);
    memcpy(a, u, sizeof(float) * D);
    memcpy(b, u, sizeof(float) * D);
    tg_strope_rotate(a, D, t1, h1, 0, p);
    tg_strope_rotate(b, D, t2, h2, 0, p);
    double s = 0;
    for (int64_t i = 0; i < D; i++) s += (double)a[i] * b[i];
    free(a);
    free(b);
    return s;
}

static void test_strope_decay(void **state) {
    (void)state;
    /* the same unit vector at growing temporal / spatial distance: similarity decays */
    enum { D = 3584 };
    float *u = malloc(sizeof(float) * D);
    for (int i = 0; i < D; i++) u[i] = 1.0f / sqrtf((float)D);
    tg_strope_params p = tg_strope_default_params(D);
    double prev = 1.0 + 1e-6;
    float dts[] = {0, 1, 2, 4, 8, 16};
    for (int k = 0; k < 6; k++) {
        double s = strope_sim(u, D, &p, 0, 0, dts[k], 0);
        assert_true(s < prev);
        prev = s;
    }
    prev = 1.0 + 1e-6;
    float dhs[] = {0, 1, 2, 4, 8, 13};
    for (int k = 0; k < 6; k++) {
        double s = strope_sim(u, D, &p, 0, 0, 0, dhs[k]);
        assert_true(s < prev);
        prev = s;
    }
    /* translation invariance: only the difference of positions matters */
    NEAR(strope_sim(u, D, &p, 3, 2, 5, 6), strope_sim(u, D, &p, 0, 0, 2, 4), 1e-5);
    free(u);
}

/* ===== PyTorch oracle ===== */

static const char *tmpdir(void) {
    static char dir[512];
    const char *b = getenv("TB_BUILD");
    snprintf(dir, sizeof dir, "%s/tmp/test_primitives", b ? b : "build");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0) return NULL;
    return dir;
}

static void save(const char *dir, const char *name, npy_dtype dt, const void *data, int nd, const int64_t *shape) {
    char path[700], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(npy_write(path, dt, data, nd, shape, err, sizeof err), 0);
}

static float *load(const char *dir, const char *name, size_t *n) {
    char path[700], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    npy_array a;
    assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), 0);
    *n = a.numel;
    return a.data;
}

static void test_torch_oracle(void **state) {
    (void)state;
    TB_NEED_PYTHON("torch, numpy");
    const char *py = tb_test_python();
    const char *dir = tmpdir();
    assert_non_null(dir);
    tg_rng r;
    tg_rng_seed(&r, 11);
    enum { M = 30, N = 20, DD = 40, T = 3, H = 4, W = 5, DV = 64, NI = 2, C = 3 };
    static float x[M * DD], y[N * DD], v[T * H * W * DV], img[NI * 729 * C];
    for (int i = 0; i < M * DD; i++) x[i] = tg_rng_uniform(&r) * 2 - 1;
    for (int i = 0; i < N * DD; i++) y[i] = tg_rng_uniform(&r) * 2 - 1;
    for (int i = 0; i < T * H * W * DV; i++) v[i] = tg_rng_uniform(&r) * 2 - 1;
    for (int i = 0; i < NI * 729 * C; i++) img[i] = tg_rng_uniform(&r) * 4 - 2;
    float ts[T] = {0.0f, 1.37f, 12.5f};
    tg_strope_params sp = tg_strope_default_params(DV); /* 24/20/20 */
    int64_t grid[5] = {H, W, sp.sec_t, sp.sec_h, sp.sec_w};
    int64_t sx[2] = {M, DD}, sy[2] = {N, DD}, sv[3] = {T, H * W, DV}, st[1] = {T}, sg[1] = {5},
            si[3] = {NI, 729, C};
    save(dir, "x.npy", NPY_F32, x, 2, sx);
    save(dir, "y.npy", NPY_F32, y, 2, sy);
    save(dir, "v.npy", NPY_F32, v, 3, sv);
    save(dir, "ts.npy", NPY_F32, ts, 1, st);
    save(dir, "grid.npy", NPY_I64, grid, 1, sg);
    save(dir, "img.npy", NPY_F32, img, 3, si);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s tests/fixtures/tango/oracle_primitives.py '%s'", py, dir);
    assert_int_equal(system(cmd), 0);
    size_t n;
    /* cdist: 30 x 20 takes the mm path in PyTorch and in TG_DIST_TORCH */
    float *ref = load(dir, "cdist_xy.npy", &n), *got = malloc(sizeof(float) * M * M);
    assert_int_equal(n, (size_t)M * N);
    assert_int_equal(tg_cdist(x, M, y, N, DD, TG_DIST_TORCH, 1, got), 0);
    for (size_t i = 0; i < n; i++) NEAR(got[i], ref[i], 2e-5);
    free(ref);
    ref = load(dir, "cdist_xx.npy", &n);
    assert_int_equal(tg_cdist_self(x, M, DD, TG_DIST_TORCH, 1, got), 0);
    for (size_t i = 0; i < n; i++) NEAR(got[i], ref[i], 2e-3); /* diagonal: both are rounding noise */
    free(ref);
    free(got);
    /* ST-RoPE */
    ref = load(dir, "strope.npy", &n);
    got = malloc(sizeof(float) * n);
    char err[128];
    assert_int_equal(tg_strope_apply(v, T, H, W, DV, ts, &sp, 1, got, err, sizeof err), 0);
    double maxd = 0;
    for (size_t i = 0; i < n; i++) maxd = fmax(maxd, fabs((double)got[i] - ref[i]));
    assert_true(maxd < 2e-6);
    free(ref);
    free(got);
    /* pooling */
    ref = load(dir, "bilinear.npy", &n);
    got = malloc(sizeof(float) * NI * 196 * C);
    assert_int_equal(n, (size_t)NI * 196 * C);
    tg_pool_bilinear(img, NI, 27, 27, C, 14, 14, got);
    for (size_t i = 0; i < n; i++) NEAR(got[i], ref[i], 1e-5);
    free(ref);
    free(got);
    ref = load(dir, "avgpool.npy", &n);
    got = malloc(sizeof(float) * NI * 169 * C);
    tg_pool_avg2(img, NI, 27, 27, C, got);
    for (size_t i = 0; i < n; i++) NEAR(got[i], ref[i], 1e-6);
    free(ref);
    free(got);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_round),
        cmocka_unit_test(test_round_half_even),
        cmocka_unit_test(test_topk_stable),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_cos_consecutive),
        cmocka_unit_test(test_cdist_forms),
        cmocka_unit_test(test_cdist_gemm_self_noise),
        cmocka_unit_test(test_dpc_line_ties),
        cmocka_unit_test(test_dpc_obvious_clusters),
        cmocka_unit_test(test_assign_first_min),
        cmocka_unit_test(test_merge_weights),
        cmocka_unit_test(test_dp_cases),
        cmocka_unit_test(test_static_mask_pool),
        cmocka_unit_test(test_pool_hand),
        cmocka_unit_test(test_strope_defaults),
        cmocka_unit_test(test_strope_unit_rotation),
        cmocka_unit_test(test_strope_decay),
        cmocka_unit_test(test_torch_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
