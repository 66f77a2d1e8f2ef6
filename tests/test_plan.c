/* test_plan.c - the in-LLM plan executor (engine/llm_plan.c, through eng_llm_plan_apply and
 * eng_llm_plan_apply_pivots) against an independent reference of the plan rules
 * (common/llm_plan.h) written here, the way the kernels are checked against kernels_ref.c:
 * hand-checked cases (Tango's fold; DART's pivots, greedy picks and pivot order; CPython's set
 * order on orders printed by CPython 3.11), then random spans for every selection and merge
 * rule, on the ref and cpu backends. Kept sets must be identical; merged rows equal to 1e-5 (the
 * reference accumulates in double, the executor's similarities are float GEMMs). */
#include "tests/tb_test.h"

#include <math.h>

#include "common/llm_plan.h"
#include "common/rng.h"
#include "engine/engine.h"
#include "engine/llm.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* ---- the reference -------------------------------------------------------------------------- */

/* DART's signals for ref_apply (set by the DART tests before each call). */
static struct {
    const double *l1;
    const float *hn;
    int64_t na, span_start;
} g_dart;

static int64_t ref_dart_select(const tb_llm_plan *p, const double *l1, const float *hn, int64_t V, int64_t na,
                               int64_t D, int64_t span_start, uint8_t *mark, int64_t *sel);

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
    } else if (p->select == TB_PLAN_SELECT_DART) {
        nk = ref_dart_select(p, g_dart.l1, g_dart.hn, V, g_dart.na, D, g_dart.span_start, mark, sel);
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

/* DART's rule, written from the header's description: image pivots = top P_v candidates by key
 * norm, text pivots = top P_t rows after the span, then each pivot (list order or CPython set
 * order of the sequence indices) retains the per_pivot remaining candidates of lowest cosine.
 * Repeated arg-min / arg-max, O(V^2 P): obviously right. Marks selected rows (1) and protected
 * rows (2) in mark[], the keep order in sel[]; returns the count selected. */
static int64_t ref_dart_select(const tb_llm_plan *p, const double *l1, const float *hn, int64_t V, int64_t na,
                               int64_t D, int64_t span_start, uint8_t *mark, int64_t *sel) {
    int64_t nk = 0, piv[64], n_piv = 0;
    for (int k = 0; k < p->pivot_image; k++) {
        int64_t best = -1;
        for (int64_t i = 0; i < V; i++)
            if (!mark[i] && (best < 0 || l1[i] > l1[best])) best = i;
        if (best < 0) break;
        mark[best] = 1, sel[nk++] = best, piv[n_piv++] = best;
    }
    uint8_t taken[64] = {0};
    for (int k = 0; k < p->pivot_text && k < na; k++) {
        int64_t best = -1;
        for (int64_t j = 0; j < na; j++)
            if (!taken[j] && (best < 0 || l1[V + j] > l1[V + best])) best = j;
        taken[best] = 1, piv[n_piv++] = V + best;
    }
    if (p->pivot_order == TB_PLAN_ORDER_PYSET) {
        int64_t abs_[64] = {0};
        for (int k = 0; k < n_piv; k++) abs_[k] = span_start + piv[k];
        assert_int_equal(tb_plan_pyset_order(abs_, (int)n_piv, abs_), 0);
        for (int k = 0; k < n_piv; k++) piv[k] = abs_[k] - span_start;
    }
    for (int k = 0; k < n_piv; k++) {
        const float *a = hn + piv[k] * D;
        for (int64_t t = 0; t < p->per_pivot; t++) {
            int64_t best = -1;
            double bc = 0;
            for (int64_t i = 0; i < V; i++) {
                if (mark[i]) continue;
                double dot = 0, n1 = 0, n2 = 0;
                for (int64_t d = 0; d < D; d++) {
                    dot += (double)a[d] * hn[i * D + d];
                    n1 += (double)a[d] * a[d];
                    n2 += (double)hn[i * D + d] * hn[i * D + d];
                }
                double cs = dot / sqrt(fmax(n1 * n2, 1e-16));
                if (best < 0 || cs < bc) best = i, bc = cs;
            }
            if (best < 0) break;
            mark[best] = 1, sel[nk++] = best;
        }
    }
    return nk;
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

/* CPython 3.11's list(set(keys)) for a few pivot lists (printed by python3): the emulation must
 * reproduce them exactly; the four 8-key cases are ones where a naive "ascending key mod 32"
 * order is wrong. */
static void test_pyset_order_known(void **state) {
    (void)state;
    static const struct {
        int n;
        int64_t in[8], want[8];
    } cases[] = {
        {2, {11, 17}, {17, 11}},
        {2, {1, 7}, {1, 7}},
        {8, {4858, 4462, 1072, 3034, 6323, 6319, 6306, 6304}, {6304, 6306, 4858, 4462, 6319, 1072, 6323, 3034}},
        {8, {4902, 5918, 3205, 5880, 6343, 6342, 6344, 6334}, {3205, 4902, 6343, 6342, 6344, 5880, 6334, 5918}},
        {8, {5079, 5778, 4781, 1040, 6519, 6516, 6508, 6513}, {6508, 4781, 1040, 6513, 5778, 5079, 6516, 6519}},
        {8, {6111, 3745, 6175, 5435, 6320, 6313, 6321, 6314}, {3745, 6313, 6314, 6320, 6321, 6111, 5435, 6175}},
        {5, {0, 8, 16, 24, 32}, {0, 32, 8, 16, 24}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t out[8];
        assert_int_equal(tb_plan_pyset_order(cases[c].in, cases[c].n, out), 0);
        for (int i = 0; i < cases[c].n; i++) {
            if (out[i] != cases[c].want[i]) fprintf(stderr, "case %zu slot %d: %lld, CPython %lld\n", c, i,
                                                    (long long)out[i], (long long)cases[c].want[i]);
            assert_int_equal(out[i], cases[c].want[i]);
        }
    }
    int64_t dup[2] = {3, 3}, neg[1] = {-1}, o[2];
    assert_int_equal(tb_plan_pyset_order(dup, 2, o), -1);
    assert_int_equal(tb_plan_pyset_order(neg, 1, o), -1);
}

/* DART by hand: 6 span rows and 3 rows after them in 2-D, one image and one text pivot, two picks
 * per pivot. Image pivot = row 1 (largest key norm), text pivot = after-row 1 (sequence index
 * span_start + 7). Row 1 = (0,1) picks the rows of lowest cosine: row 5 (-1), then rows 0 and 3
 * tie at 0 -> row 0; the text pivot (-0.6,0.8) then picks rows 2 (-0.517) and 4 (0.141).
 * Kept {0,1,2,4,5}. With span_start = 10 CPython's set order puts 17 (slot 1) before 11
 * (slot 3): the text pivot picks first (rows 5, 0), then row 1 picks rows 3 and 2: kept
 * {0,1,2,3,5}. The list order (compat=paper) keeps {0,1,2,4,5} whatever the start. */
static void test_dart_by_hand(void **state) {
    (void)state;
    float hn[] = {1, 0, 0, 1, 1, 0.1f, -1, 0, 0.7f, 0.7f, 0, -1, /* span */ 1, 0, -0.6f, 0.8f, 0, 1};
    double l1[] = {1, 5, 2, 3, 0.5, 4, 0.2, 0.9, 0.1};
    float hid[12];
    memcpy(hid, hn, sizeof hid);
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.select = TB_PLAN_SELECT_DART;
    p.pivot_image = 1;
    p.pivot_text = 1;
    p.per_pivot = 2;
    eng_plan_pivots pv = {l1, hn, 3, 0};
    int64_t kept[6], n = 0;
    char err[256];
    static const int64_t want0[] = {0, 1, 2, 4, 5}, want10[] = {0, 1, 2, 3, 5};
    for (int order = 0; order < 2; order++)
        for (int start = 0; start <= 10; start += 10) {
            p.pivot_order = order ? TB_PLAN_ORDER_LIST : TB_PLAN_ORDER_PYSET;
            pv.span_start = start;
            int rc = eng_llm_plan_apply_pivots(ENG_BACKEND_REF, &p, &pv, hid, 6, 2, kept, &n, err, sizeof err);
            if (rc) fprintf(stderr, "%s\n", err);
            assert_int_equal(rc, ENG_OK);
            assert_int_equal(n, 5);
            assert_int_equal(tb_plan_keep_count(&p, 6), 5);
            const int64_t *want = !order && start == 10 ? want10 : want0;
            for (int i = 0; i < 5; i++) assert_int_equal(kept[i], want[i]);
        }
    /* T = 0 keeps the image pivots only; a quota past the candidates keeps what is left */
    p.per_pivot = 0;
    assert_int_equal(eng_llm_plan_apply_pivots(ENG_BACKEND_REF, &p, &pv, hid, 6, 2, kept, &n, err, sizeof err), ENG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(kept[0], 1);
    p.per_pivot = 9;
    assert_int_equal(eng_llm_plan_apply_pivots(ENG_BACKEND_REF, &p, &pv, hid, 6, 2, kept, &n, err, sizeof err), ENG_OK);
    assert_int_equal(n, 6);
    /* a DART plan through the score-only entry point is refused; bad pivot counts too */
    float sc[6] = {0};
    assert_int_equal(eng_llm_plan_apply(ENG_BACKEND_REF, &p, sc, hid, 6, 2, kept, &n, err, sizeof err), ENG_ERR_ARG);
    p.pivot_text = -1;
    assert_int_equal(eng_llm_plan_apply_pivots(ENG_BACKEND_REF, &p, &pv, hid, 6, 2, kept, &n, err, sizeof err),
                     ENG_ERR_ARG);
    assert_non_null(strstr(err, "DART"));
}

/* Random DART spans (V up to 300 rows, pivots up to 8 + 8, with and without merge and protected
 * rows, both pivot orders, spans starting anywhere) against the reference. */
static void dart_cross_check(eng_backend_kind be, tb_plan_merge merge, int protect, uint64_t seed) {
    tb_rng r;
    tb_rng_seed(&r, seed);
    int64_t V = 20 + (int64_t)tb_rng_below(&r, 280), D = 4 + (int64_t)tb_rng_below(&r, 40);
    int64_t na = 1 + (int64_t)tb_rng_below(&r, 12);
    float *hn = malloc((size_t)((V + na) * D) * sizeof *hn), *h = malloc((size_t)(V * D) * sizeof *h);
    float *h_ref = malloc((size_t)(V * D) * sizeof *h);
    double *l1 = malloc((size_t)(V + na) * sizeof *l1);
    uint8_t *prot = calloc((size_t)V, 1);
    int64_t *k1 = malloc((size_t)V * sizeof *k1), *k2 = malloc((size_t)V * sizeof *k2);
    for (int64_t i = 0; i < (V + na) * D; i++) hn[i] = (float)(tb_rng_unit(&r) * 2 - 1);
    for (int64_t i = 0; i < V * D; i++) h[i] = (float)(tb_rng_unit(&r) * 2 - 1);
    for (int64_t i = 0; i < V + na; i++) l1[i] = tb_rng_unit(&r) * 10;
    memcpy(h_ref, h, (size_t)(V * D) * sizeof *h);
    tb_llm_plan p = tb_llm_plan_default();
    p.layer = 2;
    p.select = TB_PLAN_SELECT_DART;
    p.pivot_image = (int)tb_rng_below(&r, 9);
    p.pivot_text = (int)tb_rng_below(&r, 9);
    p.per_pivot = (int64_t)tb_rng_below(&r, (uint64_t)(V / 8 + 2));
    p.pivot_order = tb_rng_below(&r, 2) ? TB_PLAN_ORDER_LIST : TB_PLAN_ORDER_PYSET;
    p.merge = merge;
    if (protect) {
        for (int64_t i = 13; i < V; i += 14) prot[i] = 1;
        p.protect = prot;
    }
    int64_t start = (int64_t)tb_rng_below(&r, 7000);
    eng_plan_pivots pv = {l1, hn, na, start};
    g_dart.l1 = l1, g_dart.hn = hn, g_dart.na = na, g_dart.span_start = start;
    int64_t n1 = 0, n2;
    char err[256];
    int rc = eng_llm_plan_apply_pivots(be, &p, &pv, h, V, D, k1, &n1, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, ENG_OK);
    n2 = ref_apply(&p, NULL, h_ref, V, D, k2);
    assert_int_equal(n1, n2);
    assert_memory_equal(k1, k2, (size_t)n1 * sizeof *k1);
    double worst = 0;
    for (int64_t i = 0; i < V * D; i++) worst = fmax(worst, fabs((double)h[i] - h_ref[i]));
    assert_true(worst <= 1e-5);
    free(hn), free(h), free(h_ref), free(l1), free(prot), free(k1), free(k2);
}

static void test_dart_vs_reference(void **state) {
    (void)state;
    const eng_backend_kind bes[] = {ENG_BACKEND_REF, ENG_BACKEND_CPU};
    const tb_plan_merge merges[] = {TB_PLAN_MERGE_NONE, TB_PLAN_MERGE_WEIGHTED};
    uint64_t seed = 1000;
    for (int b = 0; b < 2; b++)
        for (int m = 0; m < 2; m++)
            for (int prot = 0; prot < 2; prot++)
                for (int rep = 0; rep < 6; rep++) dart_cross_check(bes[b], merges[m], prot, seed++);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_by_hand),
        cmocka_unit_test(test_executor_vs_reference),
        cmocka_unit_test(test_pyset_order_known),
        cmocka_unit_test(test_dart_by_hand),
        cmocka_unit_test(test_dart_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
