/* bench_linear.c - the cpu backend's product with weights in their stored dtype (make bench), at
 * the 7B shapes (Qwen2-7B projections and MLP, SigLIP-so400m MLP): GFLOP/s of `linear` with BF16
 * and F16 weights (panels converted to float32 + sgemm) next to OpenBLAS sgemm on the same shape
 * with float32 weights, measured in the same run, and the ratio (target >= 0.9 for prefill-sized
 * n: the conversion is amortised over the rows). Decode steps (n = 1): GB/s of weight bytes read,
 * BF16 streaming vs sgemv on float32. Also says whether the linked OpenBLAS exports a BF16 GEMM
 * (cblas_sbgemm) and, when it does, its GFLOP/s (it rounds activations to bf16, so the engine
 * does not use it). TB_BENCH_LINEAR_N overrides the prefill row count (default 1024). Exit status
 * 0 unless something fails: ratios are reported, not enforced (shared machine). */
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "engine/kernels.h"
#include "engine/safetensors.h"

typedef int (*call_fn)(void *ctx);

/* Mean seconds per call of each fn[i], called in turn (one warm-up round) until min_s has passed. */
static void interleaved(call_fn *fn, void **ctx, int n, double min_s, double *out) {
    double tot[8] = {0};
    int rounds = 0;
    for (int i = 0; i < n; i++) fn[i](ctx[i]);
    double t_end = tb_now_s() + min_s;
    do {
        for (int i = 0; i < n; i++) {
            double t0 = tb_now_s();
            if (fn[i](ctx[i]) != 0) tot[i] = -1e9;
            tot[i] += tb_now_s() - t0;
        }
        rounds++;
    } while (tb_now_s() < t_end || rounds < 2);
    for (int i = 0; i < n; i++) out[i] = tot[i] / rounds;
}

typedef struct {
    eng_backend *be;
    float *y, *x, *wf;
    eng_act *ya, *xa; /* the same x and y as the backend's activations (what linear takes) */
    eng_weight *w;
    int64_t n, k, m;
} lin_ctx;

static int run_sgemm(void *c_) {
    lin_ctx *c = c_;
    return c->be->k->matmul(c->be, c->y, c->x, c->wf, NULL, c->n, c->k, c->m);
}
static int run_linear(void *c_) {
    lin_ctx *c = c_;
    return c->be->k->linear(c->be, c->ya, c->xa, c->w, NULL, c->n);
}

typedef void (*sbgemm_fn)(int, int, int, int, int, int, float, const uint16_t *, int, const uint16_t *, int, float,
                          float *, int);

int main(void) {
    char err[256];
    eng_backend be;
    if (eng_backend_init(&be, ENG_BACKEND_CPU, err, sizeof err) != 0) {
        fprintf(stderr, "bench_linear: %s\n", err);
        return 1;
    }
    const char *ns = getenv("TB_BENCH_LINEAR_N");
    int64_t N = ns ? strtoll(ns, NULL, 10) : 1024;
    if (N < 16) N = 16;
    sbgemm_fn sbgemm = (sbgemm_fn)dlsym(RTLD_DEFAULT, "cblas_sbgemm");
    printf("bench_linear: cpu backend, prefill n = %lld rows; OpenBLAS %s; BF16 GEMM (cblas_sbgemm) %s\n",
           (long long)N, openblas_get_config(), sbgemm ? "exported" : "not exported by this OpenBLAS build");
    static const struct {
        const char *name;
        int64_t k, m;
    } shapes[] = {{"qwen2 q/o 3584x3584", 3584, 3584}, {"qwen2 k/v 512x3584", 3584, 512},
                  {"qwen2 gate/up 18944x3584", 3584, 18944}, {"qwen2 down 3584x18944", 18944, 3584},
                  {"siglip fc1 4304x1152", 1152, 4304}};
    printf("%-26s %9s %9s %7s %9s %7s %9s\n", "shape (m x k)", "sgemm", "bf16", "ratio", "f16", "ratio",
           "sbgemm");
    int fail = 0;
    double worst = 1e9;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t k = shapes[s].k, m = shapes[s].m;
        size_t nw = (size_t)(k * m);
        float *x = malloc((size_t)(N * k) * sizeof *x), *y = malloc((size_t)(N * m) * sizeof *y), *wf = malloc(nw * sizeof *wf);
        uint16_t *wb = malloc(nw * sizeof *wb), *wh = malloc(nw * sizeof *wh);
        if (!x || !y || !wf || !wb || !wh) {
            fprintf(stderr, "bench_linear: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < (size_t)(N * k); i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        for (size_t i = 0; i < nw; i++) {
            float v = ((float)((i * 104729) % 1000) * 1e-3f - 0.5f) * 0.05f;
            wb[i] = st_f32_to_bf16(v);
            wh[i] = st_f32_to_f16(v);
            wf[i] = st_bf16_to_f32(wb[i]);
        }
        eng_wdesc db = {ENG_DT_BF16, m, k, wb, NULL}, dh = {ENG_DT_F16, m, k, wh, NULL};
        eng_weight w16b, w16h;
        if (be.k->weight_init(&be, &w16b, &db) || be.k->weight_init(&be, &w16h, &dh)) return 1;
        double flop = 2.0 * (double)N * (double)k * (double)m;
        eng_act *xa = be.k->act_alloc(&be, (size_t)(N * k)), *ya = be.k->act_alloc(&be, (size_t)(N * m));
        if (!xa || !ya || be.k->act_upload(&be, xa, x, (size_t)(N * k))) {
            fprintf(stderr, "bench_linear: activations: %s\n", be.err);
            return 1;
        }
        lin_ctx c = {&be, y, x, wf, ya, xa, &w16b, N, k, m}, ch = c;
        ch.w = &w16h;
        /* round robin, so that the three see the same contention on a shared machine */
        call_fn fns[3] = {run_sgemm, run_linear, run_linear};
        void *ctxs[3] = {&c, &c, &ch};
        double tt[3];
        interleaved(fns, ctxs, 3, 2.0, tt);
        double ts = tt[0], tb = tt[1], th = tt[2];
        double tsb = -1.0;
        if (sbgemm) {
            uint16_t *xb = malloc((size_t)(N * k) * sizeof *xb);
            if (xb) {
                for (size_t i = 0; i < (size_t)(N * k); i++) xb[i] = st_f32_to_bf16(x[i]);
                sbgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)m, (int)k, 1.0f, xb, (int)k, wb, (int)k,
                       0.0f, y, (int)m);
                double t0 = tb_now_s();
                sbgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)m, (int)k, 1.0f, xb, (int)k, wb, (int)k,
                       0.0f, y, (int)m);
                tsb = tb_now_s() - t0;
                free(xb);
            }
        }
        if (ts <= 0 || tb <= 0 || th <= 0) fail = 1;
        double gs = flop / ts * 1e-9, gb = flop / tb * 1e-9, gh = flop / th * 1e-9;
        char sb[32] = "-";
        if (tsb > 0) snprintf(sb, sizeof sb, "%.1f", flop / tsb * 1e-9);
        printf("%-26s %9.1f %9.1f %7.2f %9.1f %7.2f %9s  GFLOP/s\n", shapes[s].name, gs, gb, gb / gs, gh, gh / gs, sb);
        if (gb / gs < worst) worst = gb / gs;
        /* decode: one row */
        if (s == 2) {
            c.n = 1;
            c.w = &w16b;
            call_fn f1[2] = {run_sgemm, run_linear};
            void *c1[2] = {&c, &c};
            double t1[2];
            interleaved(f1, c1, 2, 1.0, t1);
            double t1s = t1[0], t1b = t1[1];
            printf("%-26s %9.2f %9.2f %7.2f %9s %7s %9s  GB/s of weights read (n = 1: sgemv f32 vs bf16 stream)\n",
                   "  decode step, same shape", (double)nw * 4 / t1s * 1e-9, (double)nw * 2 / t1b * 1e-9,
                   t1s / t1b, "", "", "");
        }
        be.k->weight_free(&be, &w16b);
        be.k->weight_free(&be, &w16h);
        be.k->act_free(&be, xa);
        be.k->act_free(&be, ya);
        free(x);
        free(y);
        free(wf);
        free(wb);
        free(wh);
    }
    printf("target: bf16 linear >= 0.9 of sgemm at prefill size: %s (worst %.2f)\n", worst >= 0.9 ? "met" : "MISSED",
           worst);
    eng_backend_fini(&be);
    return fail;
}
