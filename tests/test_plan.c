/* test_plan.c - the in-LLM plan executor (engine/llm_plan.c, through eng_llm_plan_apply) against an
 * independent reference of the plan rules (common/llm_plan.h) written here, the way the kernels
 * are checked against kernels_ref.c: a hand-checked case, then random spans for every selection
 * and merge rule, on the ref and cpu backends. Kept sets must be identical; merged rows equal to
 * 1e-5 (the reference accumulates in double, the executor's similarities are float GEMMs). */
#include "tests/tb_test.h"

#include <math.h>

#include "common/llm_plan.h"
#include "common/rng.h"
#include "engine/engine.h"
#include "engine/llm.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* ---- the reference -------------------------------------------------------------------------- */

/* Runs plan p on V rows of D: selection (descending score, ties to the lower index; or the given
 * indices), merge of the dropped rows into their most cosine-similar kept row (first maximum in
 * keep order), kept + protected rows ascending into kept[], merged rows into hidden (in place). */
static int64_t ref_apply(const tb_llm_plan *p, const float *score, float *hidden, int64_t V, int64_t D,
                         int64_t *kept) {
    uint8_t *mark = calloc((size_t)V, 1);
    int64_t *sel = malloc((size_t)V * sizeof *sel), nk = 0, n_prot = 0;
    for (int64_t i = 0; p->protect && i < V; i++)
        if (p->protect[i]) mark[i] = 2, n_prot++;
    if (p->select == TB_PLAN_SELECT_INDICES) {
        for (int64_t i = 0; i < p->n_keep_idx; i++) sel[nk++] = p->keep_idx[i], mark[p->keep_idx[i]] = 1;
    } else {
        int64_t want = tb_plan_keep_count(p, V - n_prot);
        while (nk < want) { /* repeated arg-max: O(V^2), obviously right */
            int64_t best = -1;
            for (int64_t i = 0; i < V; i++)
                if (!mark[i] && (best < 0 || score[i] > score[best])) best = i;
            sel[nk++] = best;
            mark[best] = 1;
        }
    }
    if (p->merge != TB_PLAN_MERGE_NONE && nk > 0) {
        float *orig = malloc((size_t)(V * D) * sizeof *orig);
        memcpy(orig, hidden, (size_t)(V * D) * sizeof *orig);
        int64_t *target = malloc((size_t)V * sizeof *target);
        for (int64_t j = 0; j < V; j++) {
            target[j] = -1;
            if (mark[j]) continue;
            double best = -INFINITY, nj = 0;
            for (int64_t d = 0; d < D; d++) nj += (double)orig[j * D + d] * orig[j * D + d];
            for (int64_t t = 0; t < nk; t++) {
                double dot = 0, nt = 0;
                for (int64_t d = 0; d < D; d++) {
                    dot += (double)orig[j * D + d] * orig[sel[t] * D + d];
                    nt += (double)orig[sel[t] * D + d] * orig[sel[t] * D + d];
                }
                double c = dot / (fmax(sqrt(nj), 1e-12) * fmax(sqrt(nt), 1e-12));
                if (c > best) best = c, target[j] = t;
            }
        }
        if (p->merge == TB_PLAN_MERGE_PAIRWISE) {
            for (int64_t j = 0; j < V; j++) /* ascending dropped order, running average */
                if (target[j] >= 0)
                    for (int64_t d = 0; d < D; d++) {
                        float *h = &hidden[sel[target[j]] * D + d];
                        *h = (*h + orig[j * D + d]) * 0.5f;
                    }
        } else {
            double w = p->merge_weight, wp = p->merge_pool_weight < 0 ? 1.0 - w : p->merge_pool_weight;
            for (int64_t t = 0; t < nk; t++) {
                int64_t cnt = 0;
                for (int64_t j = 0; j < V; j++) cnt += target[j] == t;
                for (int64_t d = 0; d < D; d++) {
                    double s = orig[sel[t] * D + d];
                    for (int64_t j = 0; j < V; j++)
                        if (target[j] == t) s += orig[j * D + d];
                    hidden[sel[t] * D + d] = (float)(w * orig[sel[t] * D + d] + wp * s / (double)(1 + cnt));
                }
            }
        }
        free(orig);
        free(target);
    }
    int64_t n = 0;
    for (int64_t i = 0; i < V; i++)
        if (mark[i]) kept[n++] = i;
    free(mark);
    free(sel);
    return n;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* The hand-checkable case of spec tango.md §10: 6 tokens of 2 dims, keep half, Tango's fold. */
static void test_fold_by_hand(void **state) {
    (void)state;
    float h[] = {1, 0, 0, 1, 0.9f, 0.1f, 0.1f, 0.9f, 1, 1, -1, 0};
    float sc[] = {0.5f, 0.4f, 0.1f, 0.05f, 0.3f, 0.01f};
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 1;
    p.keep_ratio = 0.5;
    p.merge = TB_PLAN_MERGE_WEIGHTED;
    p.merge_weight = 0.6;
    p.merge_pool_weight = 0.4;
    int64_t kept[6], n = 0;
    char err[256];
    assert_int_equal(eng_llm_plan_apply(ENG_BACKEND_REF, &p, sc, h, 6, 2, kept, &n, err, sizeof err), ENG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(kept[0], 0);
    assert_int_equal(kept[1], 1);
    assert_int_equal(kept[2], 4);
    NEAR(h[0], 0.98, 1e-6); /* token 0 absorbs token 2: 0.6*1 + 0.4*(1.9/2) */
    NEAR(h[1], 0.02, 1e-6);
    NEAR(h[2], -0.12, 1e-6); /* token 1 absorbs tokens 3 and 5 */
    NEAR(h[3], 0.6 + 0.4 * 1.9 / 3, 1e-6);
    NEAR(h[8], 1, 0); /* token 4 absorbs nothing: 0.6 h + 0.4 h */
    NEAR(h[9], 1, 1e-7);
    /* banker's rounding of the keep count: round(5 * 0.5) = 2 */
    float h5[10] = {1, 0, 0, 1, 0.9f, 0.1f, 0.1f, 0.9f, 1, 1};
    assert_int_equal(eng_llm_plan_apply(ENG_BACKEND_REF, &p, sc, h5, 5, 2, kept, &n, err, sizeof err), ENG_OK);
    assert_int_equal(n, 2);
    /* floor and ceil */
    p.keep_round = TB_ROUND_CEIL;
    assert_int_equal(tb_plan_keep_count(&p, 5), 3);
    p.keep_round = TB_ROUND_FLOOR;
    assert_int_equal(tb_plan_keep_count(&p, 5), 2);
    p.keep_count = 4;
    assert_int_equal(tb_plan_keep_count(&p, 5), 4);
    assert_int_equal(tb_plan_keep_count(&p, 3), 3); /* capped at the candidates */
    /* bad rules are refused */
    p.merge_weight = 1.5;
    assert_int_equal(eng_llm_plan_apply(ENG_BACKEND_REF, &p, sc, h, 6, 2, kept, &n, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "weight"));
}

static void cross_check(eng_backend_kind be, tb_plan_merge merge, tb_plan_select sel, int protect, uint64_t seed) {
    tb_rng r;
    tb_rng_seed(&r, seed);
    int64_t V = 40 + (int64_t)tb_rng_below(&r, 90), D = 8 + (int64_t)tb_rng_below(&r, 40);
    float *h = malloc((size_t)(V * D) * sizeof *h), *h_ref = malloc((size_t)(V * D) * sizeof *h);
    float *sc = malloc((size_t)V * sizeof *sc);
    uint8_t *prot = calloc((size_t)V, 1);
    int64_t *idx = malloc((size_t)V * sizeof *idx), *k1 = malloc((size_t)V * sizeof *k1),
            *k2 = malloc((size_t)V * sizeof *k2);
    for (int64_t i = 0; i < V * D; i++) h[i] = (float)(tb_rng_unit(&r) * 2 - 1);
    for (int64_t i = 0; i < V; i++) sc[i] = (float)tb_rng_unit(&r);
    sc[3] = sc[7]; /* a tie: the lower index wins */
    memcpy(h_ref, h, (size_t)(V * D) * sizeof *h);
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.merge = merge;
    p.select = sel;
    p.keep_ratio = 0.2 + 0.6 * tb_rng_unit(&r);
    p.merge_weight = 0.6;
    if (protect) {
        for (int64_t i = 13; i < V; i += 14) prot[i] = 1; /* newline rows */
        p.protect = prot;
    }
    if (sel == TB_PLAN_SELECT_INDICES) {
        int64_t n = 0;
        for (int64_t i = V - 1; i >= 0; i -= 3)
            if (!prot[i]) idx[n++] = i; /* descending: the keep order is as given */
        p.keep_idx = idx;
        p.n_keep_idx = n;
    }
    int64_t n1 = 0, n2;
    char err[256];
    int rc = eng_llm_plan_apply(be, &p, sc, h, V, D, k1, &n1, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, ENG_OK);
    n2 = ref_apply(&p, sc, h_ref, V, D, k2);
    assert_int_equal(n1, n2);
    assert_memory_equal(k1, k2, (size_t)n1 * sizeof *k1);
    double worst = 0;
    for (int64_t i = 0; i < V * D; i++) worst = fmax(worst, fabs((double)h[i] - h_ref[i]));
    if (worst > 1e-5)
        fprintf(stderr, "backend %s merge %s select %s: max |diff| %g\n", eng_backend_name(be),
                tb_plan_merge_str(merge), tb_plan_select_str(sel), worst);
    assert_true(worst <= 1e-5);
    free(h), free(h_ref), free(sc), free(prot), free(idx), free(k1), free(k2);
}

static void test_executor_vs_reference(void **state) {
    (void)state;
    const eng_backend_kind bes[] = {ENG_BACKEND_REF, ENG_BACKEND_CPU};
    const tb_plan_merge merges[] = {TB_PLAN_MERGE_NONE, TB_PLAN_MERGE_PAIRWISE, TB_PLAN_MERGE_WEIGHTED};
    const tb_plan_select sels[] = {TB_PLAN_SELECT_LAST_QUERY, TB_PLAN_SELECT_INDICES};
    uint64_t seed = 1;
    for (int b = 0; b < 2; b++)
        for (int m = 0; m < 3; m++)
            for (int s = 0; s < 2; s++)
                for (int prot = 0; prot < 2; prot++)
                    for (int rep = 0; rep < 3; rep++) cross_check(bes[b], merges[m], sels[s], prot, seed++);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_by_hand),
        cmocka_unit_test(test_executor_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
