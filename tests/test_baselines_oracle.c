/* test_baselines_oracle.c - VisionZip, HoliTom (outer stage), FastVID (OV, and the LLaVA-Video
 * rules at any T) and VidCom2 (both layouts; OV official on a 7x7 grid whose 8 frames the
 * official code splits into two "frames" of 196) and FastVID's Qwen2.5-VL path through
 * `tango-bench prune`, compared entry by
 * entry with an
 * independent numpy/torch rendering of the specs (tests/fixtures/baselines/oracle.py, run once
 * with $PYTHON over all cases): the LLM order (flat indices and newlines), the position ids and
 * every token vector (merged values included, |diff| <= 1e-4 + 1e-4 |ref|). Both sides run with
 * jitter=0 and lower-index-first ties; the video is small (8 frames of 6x6, D = 16) with frozen
 * positions and scene cuts so that segmentation, static merging, single-frame and multi-anchor
 * context merging all happen. A last case changes beta on the C side only and must be caught.
 * Each comparison is an oracle skip (TB-SKIP) when $PYTHON has no numpy/torch. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/npy.h"
#include "tango/primitives.h"
#include "tango/pruner.h"
#include "tests/tb_test.h"

#define T 8
#define H 6
#define L (H * H)
#define D 16

static char g_dir[1024];
static int g_have_python;

static float gauss(tg_rng *r) {
    float u = tg_rng_uniform(r) + 1e-7f, v = tg_rng_uniform(r);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s", tb_test_dir("baselines-oracle"));
    if (strlen(g_dir) > 200) return -1; /* paths below are printed with %.200s */
    char why[700];
    g_have_python = tb_test_python_has("numpy, torch", why, sizeof why);
    static float F[T * L * D], A[T * L], AR[T * L], G[T * 8], base[L * D], gb[8], F49[T * 49 * D], A49[T * 49];
    uint8_t frozen[L];
    tg_rng r;
    tg_rng_seed(&r, 2024);
    for (int t = 0; t < T; t++) {
        if (t % 3 == 0) {
            for (int i = 0; i < L * D; i++) base[i] = gauss(&r);
            for (int l = 0; l < L; l++) frozen[l] = tg_rng_uniform(&r) < 0.5f;
            for (int g = 0; g < 8; g++) gb[g] = gauss(&r);
        }
        for (int l = 0; l < L; l++)
            for (int d = 0; d < D; d++) F[(t * L + l) * D + d] = base[l * D + d] + gauss(&r) * (frozen[l] ? 0.01f : 0.9f);
        for (int l = 0; l < L; l++) {
            A[t * L + l] = tg_rng_uniform(&r);
            AR[t * L + l] = tg_rng_uniform(&r);
        }
        for (int g = 0; g < 8; g++) G[t * 8 + g] = gb[g] + 0.2f * gauss(&r);
    }
    for (int i = 0; i < T * 49 * D; i++) F49[i] = gauss(&r);
    for (int i = 0; i < T * 49; i++) A49[i] = tg_rng_uniform(&r);
    char path[512], err[256];
    int64_t s3[3] = {T, L, D}, s2[2] = {T, L}, sg[2] = {T, 8}, s49[3] = {T, 49, D}, s49a[2] = {T, 49};
    snprintf(path, sizeof path, "%.200s/F49.npy", g_dir);
    if (npy_write(path, NPY_F32, F49, 3, s49, err, sizeof err)) return -1;
    snprintf(path, sizeof path, "%.200s/A49.npy", g_dir);
    if (npy_write(path, NPY_F32, A49, 2, s49a, err, sizeof err)) return -1;
    snprintf(path, sizeof path, "%.200s/F.npy", g_dir);
    if (npy_write(path, NPY_F32, F, 3, s3, err, sizeof err)) return -1;
    snprintf(path, sizeof path, "%.200s/A.npy", g_dir);
    if (npy_write(path, NPY_F32, A, 2, s2, err, sizeof err)) return -1;
    snprintf(path, sizeof path, "%.200s/AR.npy", g_dir);
    if (npy_write(path, NPY_F32, AR, 2, s2, err, sizeof err)) return -1;
    snprintf(path, sizeof path, "%.200s/G.npy", g_dir);
    if (npy_write(path, NPY_F32, G, 2, sg, err, sizeof err)) return -1;
    return 0;
}

typedef struct {
    const char *method, *model, *kv;
    int grid7; /* the 7x7 video F49.npy / A49.npy instead of F.npy / A.npy */
} job;

static const job JOBS[] = {
    {"visionzip", "llava-ov", "spatial_tokens=7 dominant_ratio=0.6"},
    {"visionzip", "llava-ov", "spatial_tokens=7 dominant_ratio=0.6 compat=paper"},
    {"visionzip", "llava-video", "spatial_tokens=7 dominant_ratio=0.6"},
    {"visionzip", "llava-video", "spatial_tokens=7 dominant_ratio=0.6 compat=paper"},
    {"holitom", "llava-ov", "retain_ratio=0.3 tau=0.8 variant=outer"},
    {"holitom", "llava-ov", "retain_ratio=0.15 tau=0.65 variant=outer"},
    {"holitom", "llava-ov", "retain_ratio=0.3 tau=0.8 variant=outer compat=paper"},
    {"holitom", "llava-video", "retain_ratio=0.3 tau=0.8 variant=outer"},
    {"fastvid", "llava-ov", "retention=0.5 c=3"},
    {"fastvid", "llava-ov", "retention=0.3 c=3 p=2"},
    {"fastvid", "llava-ov", "retention=0.5 c=2 tau=0.5 d=0.6"},
    {"fastvid", "llava-ov", "retention=0.5 c=8"},
    {"fastvid", "llava-ov", "retention=0.4 c=5"},
    {"fastvid", "llava-video", "retention=0.5 c=3 compat=paper"},
    {"fastvid", "llava-video", "retention=0.4 c=3 p=2 compat=paper"},
    {"fastvid", "llava-video", "retention=0.4 c=6 compat=paper"},
    {"vidcom2", "llava-ov", "base_scale=0.3", 1},
    {"vidcom2", "llava-ov", "base_scale=0.3 compat=paper", 1},
    {"vidcom2", "llava-ov", "base_scale=0.2 compat=paper"},
    {"vidcom2", "llava-video", "base_scale=0.25"},
    {"vidcom2", "llava-video", "base_scale=0.35 compat=paper"},
    /* FastVID's Qwen2.5-VL path (slice means as globals: no --frame-global): DySeg with tau
     * 0.84 and sub-segments at 0.95; every transition a sub-cut with two anchors (p = 2);
     * no sub-cut (the whole budget on the last slice, capped at L/2 and L - ctx); d = 0.6 */
    {"fastvid", "qwen2.5-vl", "retention=0.5 c=3"},
    {"fastvid", "qwen2.5-vl", "retention=0.5 c=2 tau=-1 ignore=0.999 p=2"},
    {"fastvid", "qwen2.5-vl", "retention=0.4 c=2 tau=-1 ignore=-1"},
    {"fastvid", "qwen2.5-vl", "retention=0.3 c=3 ignore=0.9 d=0.6"},
    {"fastvid", "llava-ov", "retention=0.5 c=3 beta=0.7"}, /* the oracle keeps 0.6: must differ */
};
#define N_JOBS ((int)(sizeof JOBS / sizeof JOBS[0]))

/* Runs every job on the C side (DIR/cN), then the oracle once over all of them. */
static int run_all(void **state) {
    if (setup(state)) return -1;
    if (!g_have_python) return 0;
    char cmd[2048], log[4096], path[512];
    snprintf(path, sizeof path, "%.200s/jobs.txt", g_dir);
    FILE *jf = fopen(path, "w");
    if (!jf) return -1;
    for (int j = 0; j < N_JOBS; j++) {
        char sets[1024] = "", buf[512];
        size_t n = 0;
        snprintf(buf, sizeof buf, "%s", JOBS[j].kv);
        for (char *tok = buf, *sp; tok && *tok; tok = sp) {
            sp = strchr(tok, ' ');
            if (sp) *sp++ = 0;
            n += (size_t)snprintf(sets + n, sizeof sets - n, " --set %s", tok);
        }
        if (JOBS[j].grid7)
            snprintf(cmd, sizeof cmd,
                     "%.300s prune --method %s --features %.200s/F49.npy --attn %.200s/A49.npy --ratio 0.3 "
                     "--set model=%s --set jitter=0%s --out %.200s/c%d",
                     tb_test_bin(), JOBS[j].method, g_dir, g_dir, JOBS[j].model, sets, g_dir, j);
        else if (!strcmp(JOBS[j].model, "qwen2.5-vl"))
            snprintf(cmd, sizeof cmd,
                     "%.300s prune --method %s --features %.200s/F.npy --attn %.200s/A.npy --ratio 0.3 "
                     "--set model=%s --set jitter=0%s --out %.200s/c%d",
                     tb_test_bin(), JOBS[j].method, g_dir, g_dir, JOBS[j].model, sets, g_dir, j);
        else
            snprintf(cmd, sizeof cmd,
                     "%.300s prune --method %s --features %.200s/F.npy --attn %.200s/A.npy --attn-recv %.200s/AR.npy "
                     "--frame-global %.200s/G.npy --ratio 0.3 --set model=%s --set jitter=0%s --out %.200s/c%d",
                     tb_test_bin(), JOBS[j].method, g_dir, g_dir, g_dir, g_dir, JOBS[j].model, sets, g_dir, j);
        if (tb_test_run(cmd, log, sizeof log)) {
            fprintf(stderr, "%s\n%s\n", cmd, log);
            fclose(jf);
            return -1;
        }
        fprintf(jf, "r%d %s %s %s%s\n", j, JOBS[j].method, JOBS[j].model, JOBS[j].kv,
                JOBS[j].grid7 ? " features=F49.npy" : "");
    }
    fclose(jf);
    snprintf(cmd, sizeof cmd, "%.300s tests/fixtures/baselines/oracle.py %.200s %.400s", tb_test_python(), g_dir, path);
    if (tb_test_run(cmd, log, sizeof log)) {
        fprintf(stderr, "%s\n", log);
        return -1;
    }
    return 0;
}

static void load(const char *name, npy_dtype ty, npy_array *a) {
    char path[512], err[256];
    snprintf(path, sizeof path, "%.200s/%s", g_dir, name);
    int rc = npy_read(path, ty, a, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

/* Compares job j: the LLM order, the positions and every token vector. Returns the number of
 * mismatching entries (a different length counts as all of them). */
static int64_t mismatches(int j) {
    char nm[7][64];
    snprintf(nm[0], 64, "c%d/order.npy", j);
    snprintf(nm[1], 64, "c%d/positions.npy", j);
    snprintf(nm[2], 64, "c%d/kept.npy", j);
    snprintf(nm[3], 64, "c%d/tokens.npy", j);
    snprintf(nm[4], 64, "r%d_order.npy", j);
    snprintf(nm[5], 64, "r%d_positions.npy", j);
    snprintf(nm[6], 64, "r%d_tokens.npy", j);
    npy_array o = {0}, p = {0}, k = {0}, tk = {0}, ro = {0}, rp = {0}, rt = {0};
    load(nm[0], NPY_I64, &o);
    load(nm[1], NPY_I64, &p);
    load(nm[2], NPY_I64, &k);
    load(nm[3], NPY_F32, &tk);
    load(nm[4], NPY_I64, &ro);
    load(nm[5], NPY_I64, &rp);
    load(nm[6], NPY_F32, &rt);
    const char *method = JOBS[j].method, *model = JOBS[j].model;
    const int64_t *co = (const int64_t *)o.data, *cp = (const int64_t *)p.data, *ck = (const int64_t *)k.data;
    const int64_t *ref = (const int64_t *)ro.data, *refp = (const int64_t *)rp.data;
    const float *ct = (const float *)tk.data, *rtok = (const float *)rt.data;
    if (o.shape[0] != ro.shape[0])
        fprintf(stderr, "%s %s %s: %lld vs %lld entries\n", method, model, JOBS[j].kv, (long long)o.shape[0],
                (long long)ro.shape[0]);
    int same_len = o.shape[0] == ro.shape[0];
    int64_t nk = k.shape[0], bad = same_len ? 0 : o.shape[0] + 1;
    for (int64_t i = 0; same_len && i < o.shape[0]; i++) {
        if (co[i] != ref[i] || cp[i] != refp[i]) {
            if (bad++ < 5)
                fprintf(stderr, "%s %s: entry %lld = (%lld at %lld), oracle (%lld at %lld)\n", method, model, (long long)i,
                        (long long)co[i], (long long)cp[i], (long long)ref[i], (long long)refp[i]);
            continue;
        }
        if (co[i] < 0) continue;
        int64_t lo = 0, hi = nk - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (ck[mid] < co[i]) lo = mid + 1;
            else hi = mid;
        }
        assert_int_equal(ck[lo], co[i]);
        for (int d = 0; d < D; d++) {
            float a = ct[lo * D + d], b = rtok[i * D + d];
            if (fabsf(a - b) > 1e-4f + 1e-4f * fabsf(b)) {
                if (bad++ < 5)
                    fprintf(stderr, "%s %s: token %lld dim %d: %g vs oracle %g\n", method, model, (long long)co[i], d,
                            (double)a, (double)b);
                break;
            }
        }
    }
    npy_free(&o);
    npy_free(&p);
    npy_free(&k);
    npy_free(&tk);
    npy_free(&ro);
    npy_free(&rp);
    npy_free(&rt);
    return bad;
}

static void compare(int j) {
    assert_int_equal(mismatches(j), 0);
}

static void test_visionzip_ov(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    compare(0);
    compare(1);
}

static void test_visionzip_video(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    compare(2);
    compare(3);
}

static void test_holitom(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    for (int j = 4; j < 8; j++) compare(j);
}

static void test_fastvid_ov(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    for (int j = 8; j < 13; j++) compare(j);
}

/* the comparison is sharp: beta = 0.7 on the C side only moves the merged tokens */
static void test_fastvid_video(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    for (int j = 13; j < 16; j++) compare(j);
}

/* VidCom2: kept sets, the LLM order (newlines at each LLaVA-Video frame's end officially) and the
 * gathered vectors, both compat modes; OV official on 7x7 frames split into frames of 196. */
static void test_vidcom2(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    for (int j = 16; j < 21; j++) compare(j);
}

/* FastVID's Qwen2.5-VL code path (spec qwen25vl.md §8): sub-segment budgets on the last slice,
 * reversed context shares, the shared segment merge pool, original positions */
static void test_fastvid_qwen(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    for (int j = 21; j < 25; j++) compare(j);
}

static void test_oracle_detects_change(void **s) {
    (void)s;
    TB_NEED_PYTHON("numpy, torch");
    assert_true(mismatches(N_JOBS - 1) > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visionzip_ov),
        cmocka_unit_test(test_visionzip_video),
        cmocka_unit_test(test_holitom),
        cmocka_unit_test(test_fastvid_ov),
        cmocka_unit_test(test_fastvid_video),
        cmocka_unit_test(test_vidcom2),
        cmocka_unit_test(test_fastvid_qwen),
        cmocka_unit_test(test_oracle_detects_change),
    };
    return cmocka_run_group_tests(tests, run_all, NULL);
}
