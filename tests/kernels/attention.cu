/* attention.cu - kernel lab for the engine's attention (engine/kernels_cuda_attn.cu, included
 * here as it is): the fused FlashAttention-style kernel ("flash-mma") and the row kernel
 * ("rows") against a float64 CPU reference on inputs rounded to fp16 / bf16, then timed with CUDA
 * events (warm-up, L2 flushed between repeats) at the shapes the engine runs:
 *   llm     LLM prefill: causal, GQA 28/4, head dim 128, 6400 tokens (q, k, v in separate buffers)
 *   siglip  the SigLIP tower: bidirectional, 32 frames x 729 tokens, 16 heads of 72, q/k/v inside
 *           one fused [rows, 3 * 1152] buffer (the engine's layout)
 * with and without the received-attention tap. At the real shapes a sample of query rows of
 * every head is checked against the reference (the full reference would take minutes on a CPU).
 *
 * Usage: attention [-q] [-r REPS]   (-q: validation only; REPS timed repeats, default 10)
 * Exits 0 when every check passes, 1 otherwise; prints "TB-SKIP: ..." and exits 0 without a GPU. */
#include "tests/kernels/common.cuh"

#include "engine/kernels_cuda_attn.cu"

typedef struct {
    const char *name;
    int B, nq, nkv, H, Hkv, Dh, causal, fused; /* fused: q, k, v interleaved per row */
} shape;

/* Float64 reference of rows [rows] of head h, batch b: out[Dh] per row, and the row's normalised
 * probabilities (for the recv sum). Inputs are the host copies (already rounded to T). */
static void ref_row(const shape &s, const std::vector<float> &q, const std::vector<float> &k,
                    const std::vector<float> &v, int64_t ldq, int64_t ldk, int64_t ldv, int b, int h, int i,
                    double *out, double *prob) {
    int grp = s.H / s.Hkv, g = h / grp;
    int64_t last = s.causal ? (int64_t)s.nkv - s.nq + i : s.nkv - 1;
    double scale = 1.0 / sqrt((double)s.Dh), mx = -INFINITY, den = 0.0;
    const float *qr = &q[((int64_t)b * s.nq + i) * ldq + (int64_t)h * s.Dh];
    for (int64_t j = 0; j < s.nkv; j++) {
        if (j > last) {
            prob[j] = -INFINITY;
            continue;
        }
        const float *kr = &k[((int64_t)b * s.nkv + j) * ldk + (int64_t)g * s.Dh];
        double d = 0.0;
        for (int t = 0; t < s.Dh; t++) d += (double)qr[t] * (double)kr[t];
        prob[j] = d * scale;
        if (prob[j] > mx) mx = prob[j];
    }
    for (int64_t j = 0; j < s.nkv; j++) {
        prob[j] = j > last ? 0.0 : exp(prob[j] - mx);
        den += prob[j];
    }
    for (int t = 0; t < s.Dh; t++) out[t] = 0.0;
    for (int64_t j = 0; j <= last; j++) {
        prob[j] /= den;
        const float *vr = &v[((int64_t)b * s.nkv + j) * ldv + (int64_t)g * s.Dh];
        for (int t = 0; t < s.Dh; t++) out[t] += prob[j] * (double)vr[t];
    }
}

/* Runs kind on shape s in dtype T; checks sample_rows rows per (b, h) (0: all) and, with recv, the
 * full recv tap (all rows, computed by the reference only when sample_rows == 0). Times it when
 * reps > 0. Returns 1 when it passed. */
template <class T>
static int run_shape(const shape &s, int dtype, tb_attn_kind kind, int with_recv, int sample_rows, int reps) {
    const int64_t qd = (int64_t)s.H * s.Dh, kd = (int64_t)s.Hkv * s.Dh;
    int64_t ldq = s.fused ? qd + 2 * kd : qd, ldk = s.fused ? qd + 2 * kd : kd, ldv = ldk, ldo = qd;
    std::vector<float> hq, hk, hv;
    T *dq, *dk, *dv;
    if (s.fused) { /* one [B*n, qd + 2kd] buffer: q | k | v per row (n_q == n_kv) */
        dq = lab_upload_rand<T>((size_t)s.B * s.nq * ldq, -2, 2, &hq);
        dk = dq + qd;
        dv = dq + qd + kd;
        hk.assign(hq.begin() + qd, hq.end());
        hv.assign(hq.begin() + qd + kd, hq.end());
        hk.resize(hq.size()); /* padded views: indices stay in range */
        hv.resize(hq.size());
    } else {
        dq = lab_upload_rand<T>((size_t)s.B * s.nq * ldq, -2, 2, &hq);
        dk = lab_upload_rand<T>((size_t)s.B * s.nkv * ldk, -2, 2, &hk);
        dv = lab_upload_rand<T>((size_t)s.B * s.nkv * ldv, -2, 2, &hv);
    }
    T *dout;
    float *drecv = NULL;
    LAB_CHECK(cudaMalloc(&dout, (size_t)s.B * s.nq * ldo * sizeof(T)));
    LAB_CHECK(cudaMemset(dout, 0, (size_t)s.B * s.nq * ldo * sizeof(T)));
    if (with_recv) LAB_CHECK(cudaMalloc(&drecv, (size_t)s.B * s.nkv * sizeof(float)));
    tb_attn_args a;
    memset(&a, 0, sizeof a);
    a.q = dq, a.k = dk, a.v = dv, a.out = dout;
    a.ldq = ldq, a.ldk = ldk, a.ldv = ldv, a.ldo = ldo;
    a.n_batch = s.B, a.n_q = s.nq, a.n_kv = s.nkv, a.n_head = s.H, a.n_head_kv = s.Hkv, a.head_dim = s.Dh;
    a.causal = s.causal;
    a.scale = (float)(1.0 / sqrt((double)s.Dh));
    a.recv = drecv;
    const char *used = "?";
    if (drecv) LAB_CHECK(cudaMemset(drecv, 0, (size_t)s.B * s.nkv * sizeof(float)));
    LAB_CHECK(tb_cuda_attention(&a, dtype, kind, 0, &used));
    LAB_CHECK(cudaDeviceSynchronize());
    std::vector<float> got = lab_download(dout, (size_t)s.B * s.nq * ldo);
    std::vector<float> grecv;
    if (drecv) {
        grecv.resize((size_t)s.B * s.nkv);
        LAB_CHECK(cudaMemcpy(grecv.data(), drecv, grecv.size() * sizeof(float), cudaMemcpyDeviceToHost));
    }
    /* reference */
    std::vector<double> out(s.Dh), prob(s.nkv), rrecv((size_t)s.B * s.nkv, 0.0);
    std::vector<float> g_rows;
    std::vector<double> w_rows;
    const double tol = dtype == 2 ? 1.6e-2 : dtype == 1 ? 2e-3 : 1e-5; /* one rounding of the output */
    int rows = sample_rows > 0 && sample_rows < s.nq ? sample_rows : s.nq;
    for (int b = 0; b < s.B; b++)
        for (int h = 0; h < s.H; h++)
            for (int r = 0; r < rows; r++) {
                int i = rows == s.nq ? r : (int)(((int64_t)r * 7919 + h * 31 + b) % s.nq);
                ref_row(s, hq, hk, hv, ldq, ldk, ldv, b, h, i, out.data(), prob.data());
                for (int t = 0; t < s.Dh; t++) {
                    g_rows.push_back(got[((int64_t)b * s.nq + i) * ldo + (int64_t)h * s.Dh + t]);
                    w_rows.push_back(out[t]);
                }
                if (rows == s.nq)
                    for (int64_t j = 0; j < s.nkv; j++) rrecv[(size_t)b * s.nkv + j] += prob[j] / ((double)s.H * s.nq);
            }
    char what[160];
    snprintf(what, sizeof what, "%s %s %s out", s.name, dtype == 2 ? "bf16" : dtype == 1 ? "fp16" : "fp32", used);
    double worst = lab_compare(what, g_rows.data(), w_rows.data(), g_rows.size(), tol, tol);
    double worst_r = 0.0;
    if (drecv && rows == s.nq) {
        snprintf(what, sizeof what, "%s %s %s recv", s.name, dtype == 2 ? "bf16" : "fp16", used);
        worst_r = lab_compare(what, grecv.data(), rrecv.data(), grecv.size(), 1e-6, 2e-2);
    }
    int ok = worst <= 1.0 && worst_r <= 1.0;
    printf("%-4s %-8s %-10s %-9s recv=%d: checked %zu values, worst %.3f of tolerance%s", ok ? "ok" : "FAIL", s.name,
           used, dtype == 2 ? "bf16" : dtype == 1 ? "fp16" : "fp32", with_recv, g_rows.size(), worst > worst_r ? worst : worst_r,
           reps > 0 ? "" : "\n");
    if (reps > 0) {
        double visible = 0.0; /* query-key pairs computed, per head and batch */
        for (int64_t i = 0; i < s.nq; i++) visible += s.causal ? (double)(s.nkv - s.nq + i + 1) : (double)s.nkv;
        double flops = 4.0 * s.B * s.H * s.Dh * visible * (with_recv ? 1.5 : 1.0); /* recv: Q K^T again */
        double ms = lab_time_ms(
            [&]() {
                if (drecv) LAB_CHECK(cudaMemsetAsync(drecv, 0, (size_t)s.B * s.nkv * sizeof(float), 0));
                LAB_CHECK(tb_cuda_attention(&a, dtype, kind, 0, NULL));
            },
            2, reps, 0);
        printf(", %.3f ms, %.1f TFLOP/s\n", ms, flops / ms * 1e-9);
    }
    if (s.fused) {
        LAB_CHECK(cudaFree(dq));
    } else {
        LAB_CHECK(cudaFree(dq));
        LAB_CHECK(cudaFree(dk));
        LAB_CHECK(cudaFree(dv));
    }
    LAB_CHECK(cudaFree(dout));
    if (drecv) LAB_CHECK(cudaFree(drecv));
    return ok;
}

int main(int argc, char **argv) {
    int quick = 0, reps = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-q")) quick = 1;
        else if (!strcmp(argv[i], "-r") && i + 1 < argc) reps = (int)strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [-q] [-r REPS]\n", argv[0]);
            return 2;
        }
    }
    if (!lab_have_device("attention")) return 0;
    int ok = 1;
    /* exhaustive checks at small, awkward shapes: partial tiles, GQA, causal with a KV offset,
     * fused layout, 16 query rows (the fused kernel's minimum) */
    static const shape small[] = {
        {"s-bidir72", 2, 100, 100, 4, 4, 72, 0, 1},  {"s-causal128", 1, 77, 130, 28, 4, 128, 1, 0},
        {"s-min16", 1, 16, 16, 2, 1, 64, 1, 0},      {"s-kv-off", 2, 65, 200, 4, 2, 128, 1, 0},
        {"s-bidir64", 1, 129, 63, 3, 1, 64, 0, 0},   {"s-win80", 3, 64, 64, 16, 16, 80, 0, 1},
    };
    for (const shape &s : small)
        for (int recv = 0; recv < 2; recv++) {
            ok &= run_shape<__half>(s, 1, TB_ATTN_AUTO, recv, 0, 0);
            ok &= run_shape<__nv_bfloat16>(s, 2, TB_ATTN_AUTO, recv, 0, 0);
            ok &= run_shape<__half>(s, 1, TB_ATTN_ROWS, recv, 0, 0);
        }
    ok &= run_shape<float>(small[1], 0, TB_ATTN_AUTO, 1, 0, 0); /* fp32: the row kernel */
    /* the engine's shapes, sampled rows, timed */
    static const shape llm = {"llm", 1, 6400, 6400, 28, 4, 128, 1, 0};
    static const shape sig = {"siglip", 32, 729, 729, 16, 16, 72, 0, 1};
    int r = quick ? 0 : reps;
    ok &= run_shape<__half>(llm, 1, TB_ATTN_AUTO, 0, 8, r);
    ok &= run_shape<__nv_bfloat16>(llm, 2, TB_ATTN_AUTO, 0, 8, r);
    ok &= run_shape<__half>(llm, 1, TB_ATTN_AUTO, 1, 8, r);
    ok &= run_shape<__half>(sig, 1, TB_ATTN_AUTO, 0, 8, r);
    ok &= run_shape<__half>(sig, 1, TB_ATTN_AUTO, 1, 8, r);
    ok &= run_shape<__half>(sig, 1, TB_ATTN_ROWS, 0, 4, quick ? 0 : 2);
    printf("attention lab: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
