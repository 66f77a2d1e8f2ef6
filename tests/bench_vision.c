/* bench_vision.c - throughput of the vision side at full SigLIP-so400m size (d 1152, 16 heads,
 * head_dim 72, MLP 4304, 27x27 = 729 patches, projector 1152 -> 3584 -> 3584, bilinear pooling,
 * SigLIP head on) with seeded random weights generated in memory, on 2 frames, through the real
 * eng_vision_encode on the cpu backend (or TB_BENCH_BACKEND=ref|cuda).
 *
 * To keep the run under a minute on a small shared machine it runs TB_BENCH_LAYERS encoder layers
 * (default 2 of the 26 the reference runs) and states the 26-layer figure scaled from the measured
 * per-layer time. Next to it, OpenBLAS sgemm is timed at exactly the GEMM shapes of the same
 * encode (patch embed, qkv, out, fc1, fc2 per layer, projector), in the same run, and the ratio
 * achieved / sgemm is printed against the target 0.6.
 *
 * FLOPs counted (spec llava-ov-engine.md §8.2; multiply-add = 2): per frame, patch embed
 * 2*729*588*1152, per layer 8*N*d^2 + 4*N^2*d + 4*N*d*m (N = 729), projector
 * 2*729*1152*3584 + 2*729*3584^2, and the SigLIP head's k/v projection 2*729*1152*2304 (it runs
 * when the head is loaded; §8.2 leaves it out). Norms, activations, softmax, pooling and the head's
 * one-row layers are not counted (they are run and timed). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/model_impl.h"
#include "common/clock.h"


/* ---- per-op time breakdown: the backend's table wrapped with timers ---------------------------- */

enum { OP_MATMUL, OP_ATTN, OP_NORM, OP_ACT, OP_ADD, OP_POOL, OP_OTHER, OP_N };
static const char *op_names[OP_N] = {"matmul", "attention", "layernorm", "gelu", "add", "pool2d", "other"};
static double op_time[OP_N];
static const eng_kernels *inner;
static eng_kernels timed;

#define TIMED(slot, call)                                                                                          \
    do {                                                                                                           \
        double t0_ = tb_now_s();                                                                                      \
        int r_ = (call);                                                                                           \
        op_time[slot] += tb_now_s() - t0_;                                                                            \
        return r_;                                                                                                 \
    } while (0)

static int t_linear(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b, int64_t n) {
    TIMED(OP_MATMUL, inner->linear(be, y, x, w, b, n));
}
static int t_linear_add(eng_backend *be, eng_act *y, const eng_act *x, const eng_weight *w, const float *b,
                        int64_t n) {
    TIMED(OP_MATMUL, inner->linear_add(be, y, x, w, b, n));
}
static int t_attention(eng_backend *be, eng_act *out, const eng_act *q, const eng_act *k, const eng_act *v,
                       const eng_attn_desc *d, float *probs, float *recv) {
    TIMED(OP_ATTN, inner->attention(be, out, q, k, v, d, probs, recv));
}
static int t_layernorm(eng_backend *be, eng_act *y, const eng_act *x, const float *g, const float *b, int64_t n,
                       int64_t d, float eps) {
    TIMED(OP_NORM, inner->layernorm(be, y, x, g, b, n, d, eps));
}
static int t_gelu_tanh(eng_backend *be, eng_act *y, const eng_act *x, size_t n) {
    TIMED(OP_ACT, inner->gelu_tanh(be, y, x, n));
}
static int t_gelu_erf(eng_backend *be, eng_act *y, const eng_act *x, size_t n) {
    TIMED(OP_ACT, inner->gelu_erf(be, y, x, n));
}
static int t_add(eng_backend *be, eng_act *y, const eng_act *a, const eng_act *b, size_t n) {
    TIMED(OP_ADD, inner->add(be, y, a, b, n));
}
static int t_pool2d(eng_backend *be, eng_act *y, const eng_act *x, int64_t B, int64_t H, int64_t W, int64_t C,
                    eng_pool_mode mode, int64_t Ho, int64_t Wo) {
    TIMED(OP_POOL, inner->pool2d(be, y, x, B, H, W, C, mode, Ho, Wo));
}

/* Median-free simple timing: best of reps after one warm-up. */
static double time_sgemm(int n, int k, int m, int reps) {
    float *x = malloc((size_t)n * k * sizeof *x), *w = malloc((size_t)m * k * sizeof *w), *y = malloc((size_t)n * m * sizeof *y);
    for (size_t i = 0; i < (size_t)n * k; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)m * k; i++) w[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1.0f, x, k, w, k, 0.0f, y, m);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = tb_now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1.0f, x, k, w, k, 0.0f, y, m);
        double dt = tb_now_s() - t0;
        if (dt < best) best = dt;
    }
    free(x);
    free(w);
    free(y);
    return best;
}

int main(void) {
    const char *ls = getenv("TB_BENCH_LAYERS"), *bs = getenv("TB_BENCH_BACKEND");
    int layers = ls ? (int)strtol(ls, NULL, 10) : 2;
    if (layers < 1 || layers > 27) layers = 2;
    eng_backend_kind kind = ENG_BACKEND_CPU;
    if (bs && eng_backend_parse(bs, &kind)) {
        fprintf(stderr, "bench_vision: unknown TB_BENCH_BACKEND '%s'\n", bs);
        return 2;
    }
    const int T = 2, reps = 2;
    eng_config cfg;
    memset(&cfg, 0, sizeof cfg);
    eng_vision_config *vc = &cfg.vision;
    vc->image_size = 384;
    vc->patch_size = 14;
    vc->grid = 27;
    vc->n_patches = 729;
    vc->hidden = 1152;
    vc->n_heads = 16;
    vc->head_dim = 72;
    vc->intermediate = 4304;
    vc->n_layers = layers;
    vc->n_channels = 3;
    vc->layer_norm_eps = 1e-6f;
    vc->gelu_tanh = 1;
    cfg.llm.hidden = 3584;
    cfg.projector = ENG_PROJ_MLP2X_GELU;
    cfg.pool_mode = ENG_POOL_BILINEAR;

    char err[512];
    double t_load = tb_now_s();
    eng_model *m = eng_model_random_vision(&cfg, kind, 42, 1, err, sizeof err);
    if (!m) {
        printf("SKIP bench_vision: %s\n", err);
        return 0;
    }
    t_load = tb_now_s() - t_load;
    size_t npx = (size_t)T * 3 * 384 * 384;
    float *px = malloc(npx * sizeof *px);
    for (size_t i = 0; i < npx; i++) px[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    eng_encode_params ep = eng_encode_default_params();
    ep.frames_per_batch = T;
    eng_vision_out o;
    /* warm-up (first touch of the scratch, OpenBLAS thread start) */
    if (eng_vision_encode(m, px, T, &ep, &o, err, sizeof err) != ENG_OK) {
        printf("FAIL bench_vision: %s\n", err);
        return 1;
    }
    eng_vision_out_free(&o);
    /* wrap the op table for the timed runs */
    inner = m->be.k;
    timed = *inner;
    timed.linear = t_linear;
    timed.linear_add = t_linear_add;
    timed.attention = t_attention;
    timed.layernorm = t_layernorm;
    timed.gelu_tanh = t_gelu_tanh;
    timed.gelu_erf = t_gelu_erf;
    timed.add = t_add;
    timed.pool2d = t_pool2d;
    m->be.k = &timed;
    double best = 1e30, sum = 0, sum2 = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = tb_now_s();
        if (eng_vision_encode(m, px, T, &ep, &o, err, sizeof err) != ENG_OK) {
            printf("FAIL bench_vision: %s\n", err);
            return 1;
        }
        double dt = tb_now_s() - t0;
        eng_vision_out_free(&o);
        best = dt < best ? dt : best;
        sum += dt;
        sum2 += dt * dt;
    }
    double mean = sum / reps, sd = sqrt(fmax(0.0, sum2 / reps - mean * mean));

    /* counted FLOPs of this encode */
    const double N = 729, d = 1152, mm = 4304, D = 3584;
    double f_patch = 2 * N * 588 * d, f_layer = 8 * N * d * d + 4 * N * N * d + 4 * N * d * mm;
    double f_proj = 2 * N * d * D + 2 * N * D * D;
    double f_head = 2 * N * d * 2 * d; /* SigLIP head k/v projection (runs; not in §8.2) */
    double flops = T * (f_patch + layers * f_layer + f_proj + f_head);
    double gflops = flops / best * 1e-9;

    /* sgemm at the same shapes (rows = T*729): time-weighted aggregate over one encode's GEMMs */
    int rows = T * 729;
    struct {
        const char *what;
        int k, m, count;
    } shapes[] = {{"patch 588->1152", 588, 1152, 1},
                  {"qkv 1152->3456", 1152, 3456, layers},
                  {"out 1152->1152", 1152, 1152, layers},
                  {"fc1 1152->4304", 1152, 4304, layers},
                  {"fc2 4304->1152", 4304, 1152, layers},
                  {"proj1 1152->3584", 1152, 3584, 1},
                  {"proj2 3584->3584", 3584, 3584, 1},
                  {"head kv 1152->2304", 1152, 2304, 1}};
    double g_time = 0, g_flops = 0;
    printf("OpenBLAS sgemm at the encode's shapes (rows %d):\n", rows);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        double t = time_sgemm(rows, shapes[i].k, shapes[i].m, 2);
        double f = 2.0 * rows * shapes[i].k * shapes[i].m;
        printf("  %-18s %8.1f GFLOP/s\n", shapes[i].what, f / t * 1e-9);
        g_time += t * shapes[i].count;
        g_flops += f * shapes[i].count;
    }
    double sgemm_gflops = g_flops / g_time * 1e-9;
    double ratio = gflops / sgemm_gflops;

    /* 26-layer estimate: fixed part (patch, projector, head, pooling) + 26 x per-layer time,
     * per-layer time taken from the counted share of FLOPs (an estimate, stated as such) */
    double per_layer_s = best * (f_layer * layers / (f_patch + layers * f_layer + f_proj + f_head)) / layers;
    double fixed_s = best - per_layer_s * layers;
    double est26 = fixed_s + 26 * per_layer_s;

    eng_vision_info vi;
    eng_model_vision_info(m, &vi);
    printf("bench_vision: SigLIP-so400m shapes, %d of 26 layers, %d frames, backend %s, head on, bilinear 27->14\n",
           layers, T, vi.backend);
    printf("  weights generated in %.2f s; encode best %.3f s, mean %.3f +- %.3f s over %d runs (1 warm-up)\n", t_load,
           best, mean, sd, reps);
    printf("  counted %.1f GFLOP -> %.1f GFLOP/s achieved; OpenBLAS sgemm at the same shapes %.1f GFLOP/s\n",
           flops * 1e-9, gflops, sgemm_gflops);
    printf("  ratio achieved/sgemm = %.2f (target >= 0.60): %s\n", ratio, ratio >= 0.6 ? "PASS" : "BELOW TARGET");
    double op_sum = 0;
    for (int i = 0; i < OP_N; i++) op_sum += op_time[i];
    printf("  time per op (mean per encode):");
    for (int i = 0; i < OP_N; i++)
        if (op_time[i] > 0) printf(" %s %.3f s", op_names[i], op_time[i] / reps);
    printf("; unaccounted %.3f s\n", mean - op_sum / reps);
    printf("  estimate for the full 26-layer tower: %.2f s per %d frames (%.2f s/frame; 32 frames ~ %.1f s)\n", est26,
           T, est26 / T, est26 / T * 32);
    free(px);
    m->be.k = inner;
    eng_model_free(m);
    return 0;
}
