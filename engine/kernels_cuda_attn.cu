/* kernels_cuda_attn.cu - the attention of the CUDA op table (kernels.h, eng_attn_desc): one fused
 * kernel in the FlashAttention-2 style for every call with enough query rows (LLM prefill: causal,
 * GQA 28/4, head dim 128; SigLIP: bidirectional, 729 tokens, head dim 72), and a row kernel for
 * the rest (one query row per block: decode steps, the last-row tap, the SigLIP head's probe,
 * fp32 mode, the probabilities tap, odd shapes). Both use an online softmax: no score matrix ever
 * reaches global memory. Timed and validated by the kernel lab, tests/kernels/attention.cu, which
 * includes this file; judged against kernels_ref.c by tests/test_ops.c.
 *
 * Taps, without materialising what they do not need:
 *   recv[b, j] += 1/(H n_q) sum_h sum_i P[b,h,i,j]   a second pass over the keys once each row's
 *                 log-sum-exp is known (normalised probabilities exp(s - lse), column sums reduced
 *                 in registers, shared memory, then one atomicAdd per key and block);
 *   probs         the row kernel writes each normalised row (the tap is the matrix itself).
 *
 * ---- the fused kernel (flash_fwd) ----
 * Block: 4 warps, BM = 64 query rows (16 per warp) of one head h of one batch b; key tiles of
 * BN = 64 rows. Tensor cores through mma.sync.m16n8k16 (fp16 or bf16 inputs, fp32 accumulation),
 * operands from shared memory through ldmatrix. Per key tile:
 *   S[16, 64] = Q_w K^T           (A: Q from registers, loaded once; B: K rows via ldmatrix)
 *   online softmax in the log2 domain: s' = s * scale * log2(e); m = running row max; p =
 *   exp2(s' - m); l = running row sum (per thread, reduced over the 4 threads of a row at the end)
 *   O[16, Dh] += P V              (A: P straight from the S accumulators, see below; B: V rows
 *                                  via ldmatrix.trans)
 * Pipelining with single buffers: K(t+1) is fetched (cp.async) while the softmax and P V of tile
 * t run, V(t+1) while S of tile t+1 runs.
 *
 * Fragment layouts (PTX ISA, mma.m16n8k16, lane = 4 g + tq, g = lane >> 2, tq = lane & 3):
 *   A (16x16, row):  R0 = (row g,   cols 2tq, 2tq+1)   R1 = (row g+8, cols 2tq, 2tq+1)
 *                    R2 = (row g,   cols 2tq+8, +9)    R3 = (row g+8, cols 2tq+8, +9)
 *   B (16x8, col):   R0 = (k 2tq, 2tq+1; n g)          R1 = (k 2tq+8, +9; n g)
 *   C (16x8, f32):   c0,c1 = (row g, cols 2tq, 2tq+1)  c2,c3 = (row g+8, same cols)
 * so the accumulators of S n-tiles 2kk and 2kk+1 ARE the A fragment of P for k-step kk (keys
 * 16kk..16kk+15): R0 = half2(S[2kk].c0, c1), R1 = half2(S[2kk].c2, c3), R2 = half2(S[2kk+1].c0,
 * c1), R3 = half2(S[2kk+1].c2, c3) - P never leaves registers.
 * ldmatrix.x4: lanes 8m..8m+7 give the row addresses of 8x8 matrix m; lane receives (row lane>>2,
 * cols 2(lane&3), +1) of each matrix (with .trans: of its transpose).
 *
 * Requirements (tb_cuda_attention_fused_ok, else the row kernel runs): fp16/bf16, no probs tap,
 * head dim 64, 72, 80 or 128 (padded to a multiple of 16 in shared memory with zeros), every row
 * stride and the head dim multiples of 8 elements and the base pointers 16-byte aligned (cp.async
 * moves 16 bytes), n_q >= 16.
 */
#include "engine/kernels_cuda_internal.h"

#include <math.h>
#include <stdint.h>

#define LOG2E 1.4426950408889634f

/* ============================================================================================
 * Row kernel: one block of ROW_WARPS warps per (query row i, head h, batch b)
 * ============================================================================================ */

#define ROW_WARPS 4
#define ROW_MAX_DH 256 /* the row kernel's head-dim limit (each lane owns Dh/32 output dims) */

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* s' = scale*log2e * q . k_j for the key row kr (q in shared memory as float). */
template <class T>
__device__ __forceinline__ float row_score(const float *sq, const T *kr, int dh, float scale_log2) {
    float dot = 0.0f;
    for (int d = 0; d < dh; d++) dot += sq[d] * tb_to_f(kr[d]);
    return dot * scale_log2;
}

/* grid (n_q, H, B), block 32*ROW_WARPS. Keys in chunks of 32, one per lane; warp w takes chunks
 * w, w + ROW_WARPS, ...; each warp keeps its own (m, l, acc) and the block merges them. Then, for
 * the taps, a second pass with the row's final lse writes / accumulates normalised probabilities. */
template <class T>
__global__ void __launch_bounds__(32 * ROW_WARPS) attn_rows(tb_attn_args a, float scale_log2) {
    const int i = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int dh = a.head_dim, grp = a.n_head / a.n_head_kv, g = h / grp;
    const int64_t nkv = a.n_kv;
    const int64_t last = a.causal ? nkv - a.n_q + i : nkv - 1; /* last visible key */
    const T *Q = (const T *)a.q + ((int64_t)b * a.n_q + i) * a.ldq + (int64_t)h * dh;
    const T *K = (const T *)a.k + (int64_t)b * nkv * a.ldk + (int64_t)g * dh;
    const T *V = (const T *)a.v + (int64_t)b * nkv * a.ldv + (int64_t)g * dh;

    __shared__ float sq[ROW_MAX_DH];
    __shared__ float s_m[ROW_WARPS], s_l[ROW_WARPS];
    __shared__ float s_acc[ROW_WARPS][ROW_MAX_DH];
    for (int d = threadIdx.x; d < dh; d += blockDim.x) sq[d] = tb_to_f(Q[d]);
    __syncthreads();

    const int nr = (dh + 31) / 32; /* output dims per lane: d = lane + 32 r */
    float acc[ROW_MAX_DH / 32];
    for (int r = 0; r < ROW_MAX_DH / 32; r++) acc[r] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    const int64_t n_vis = last + 1; /* keys 0..last */
    for (int64_t j0 = (int64_t)warp * 32; j0 < n_vis; j0 += 32 * ROW_WARPS) {
        const int64_t j = j0 + lane;
        float s = j < n_vis ? row_score(sq, K + j * a.ldk, dh, scale_log2) : -INFINITY;
        float mc = warp_max(s);
        float m_new = fmaxf(m, mc); /* finite: the chunk has at least one visible key */
        float corr = exp2f(m - m_new);
        float p = j < n_vis ? exp2f(s - m_new) : 0.0f;
        l = l * corr + warp_sum(p);
        const int nt = n_vis - j0 < 32 ? (int)(n_vis - j0) : 32;
        for (int r = 0; r < nr; r++) acc[r] *= corr;
        for (int t = 0; t < nt; t++) {
            float pt = __shfl_sync(0xffffffffu, p, t);
            const T *vr = V + (j0 + t) * a.ldv;
            for (int r = 0; r < nr; r++) {
                int d = lane + 32 * r;
                if (d < dh) acc[r] += pt * tb_to_f(vr[d]);
            }
        }
        m = m_new;
    }
    /* merge the warps: M = max m_w, L = sum l_w 2^(m_w - M), O = sum acc_w 2^(m_w - M) / L */
    if (lane == 0) {
        s_m[warp] = m;
        s_l[warp] = l;
    }
    for (int r = 0; r < nr; r++) {
        int d = lane + 32 * r;
        if (d < dh) s_acc[warp][d] = acc[r];
    }
    __syncthreads();
    float M = -INFINITY;
    for (int w = 0; w < ROW_WARPS; w++) M = fmaxf(M, s_m[w]);
    float L = 0.0f;
    for (int w = 0; w < ROW_WARPS; w++) L += s_m[w] == -INFINITY ? 0.0f : s_l[w] * exp2f(s_m[w] - M);
    const float inv_l = L > 0.0f ? 1.0f / L : 0.0f;
    T *O = (T *)a.out + ((int64_t)b * a.n_q + i) * a.ldo + (int64_t)h * dh;
    for (int d = threadIdx.x; d < dh; d += blockDim.x) {
        float o = 0.0f;
        for (int w = 0; w < ROW_WARPS; w++)
            if (s_m[w] != -INFINITY) o += s_acc[w][d] * exp2f(s_m[w] - M);
        O[d] = tb_from_f<T>(o * inv_l);
    }
    if (!a.probs && !a.recv) return;
    /* taps: p_j = exp2(s'_j - lse), lse = M + log2 L; masked keys 0 */
    const float lse = M + log2f(L);
    const float recv_scale = 1.0f / ((float)a.n_head * (float)a.n_q);
    float *prow = a.probs ? a.probs + (((int64_t)b * a.n_head + h) * a.n_q + i) * nkv : NULL;
    for (int64_t j = threadIdx.x; j < nkv; j += blockDim.x) {
        float p = 0.0f;
        if (j <= last) p = exp2f(row_score(sq, K + j * a.ldk, dh, scale_log2) - lse);
        if (prow) prow[j] = p;
        if (a.recv && p != 0.0f) atomicAdd(&a.recv[(int64_t)b * nkv + j], p * recv_scale);
    }
}

/* ============================================================================================
 * Fused kernel (FlashAttention-2 style, tensor cores)
 * ============================================================================================ */

#define FA_BM 64          /* query rows per block (16 per warp) */
#define FA_BN 64          /* keys per tile */
#define FA_WARPS 4
#define FA_PAD 8          /* shared row padding (16 bytes): conflict-free ldmatrix */

__device__ __forceinline__ uint32_t smem_u32(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* 16-byte global -> shared copy, L2 only (cp.async.cg). */
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem) {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_u32(smem)), "l"(gmem));
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
/* Waits until at most n of this thread's committed groups are still pending. */
template <int N> __device__ __forceinline__ void cp_async_wait() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void *smem) {
#if __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(smem)));
#endif
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void *smem) {
#if __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(smem)));
#endif
}

/* d[4] += A[16x16] . B[16x8] in float32. */
template <class T> __device__ __forceinline__ void mma16816(float d[4], const uint32_t a[4], const uint32_t b[2]);
template <> __device__ __forceinline__ void mma16816<__half>(float d[4], const uint32_t a[4], const uint32_t b[2]) {
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float d[4], const uint32_t a[4], const uint32_t b[2]) {
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

/* Two floats as one register of two T (lo = the lower column). */
template <class T> __device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <> __device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

/* Copies rows [r0, r0 + FA_BM or FA_BN) of a [n, ld] matrix (head columns col0 .. col0 + DH) into a
 * shared tile [ROWS][DHP + FA_PAD]; rows >= n and columns >= DH are zero-filled. 16-byte chunks,
 * spread over the block's threads. */
template <class T, int DH, int DHP, int ROWS>
__device__ __forceinline__ void load_tile(T *sm, const T *g, int64_t ld, int64_t r0, int64_t n) {
    constexpr int CH = DHP / 8;          /* 16-byte chunks per row */
    constexpr int LDS = DHP + FA_PAD;
    for (int c = threadIdx.x; c < ROWS * CH; c += FA_WARPS * 32) {
        const int r = c / CH, k = (c % CH) * 8;
        T *dst = sm + r * LDS + k;
        if (r0 + r < n && k < DH)
            cp_async16(dst, g + (r0 + r) * ld + k);
        else
            *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
    }
}

/* grid (ceil(n_q / FA_BM), H, B), block FA_WARPS * 32, dynamic shared memory
 * (FA_BM + 2 FA_BN) (DHP + FA_PAD) elements of T + FA_BN floats (the recv column sums). */
template <class T, int DH>
__global__ void __launch_bounds__(FA_WARPS * 32) flash_fwd(tb_attn_args a, float scale_log2) {
    constexpr int DHP = (DH + 15) / 16 * 16; /* k16 steps of Q K^T cover the padded head dim */
    constexpr int LDS = DHP + FA_PAD;
    constexpr int KS = DHP / 16;             /* k-steps of S = Q K^T */
    constexpr int NO = (DH + 7) / 8;         /* n8 tiles of O (head dim) */
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T *sQ = reinterpret_cast<T *>(smem_raw);
    T *sK = sQ + FA_BM * LDS;
    T *sV = sK + FA_BN * LDS;
    float *sRecv = reinterpret_cast<float *>(sV + FA_BN * LDS);

    const int qb = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, tq = lane & 3;
    const int grp = a.n_head / a.n_head_kv, kvh = h / grp;
    const int64_t nq = a.n_q, nkv = a.n_kv, off = nkv - nq; /* query i sits at position off + i */
    const int64_t q0 = (int64_t)qb * FA_BM;
    const T *Qg = (const T *)a.q + (int64_t)b * nq * a.ldq + (int64_t)h * DH;
    const T *Kg = (const T *)a.k + (int64_t)b * nkv * a.ldk + (int64_t)kvh * DH;
    const T *Vg = (const T *)a.v + (int64_t)b * nkv * a.ldv + (int64_t)kvh * DH;

    /* keys this block needs: [0, kend) */
    int64_t kend = nkv;
    if (a.causal) {
        int64_t last_row = q0 + FA_BM < nq ? q0 + FA_BM - 1 : nq - 1;
        kend = off + last_row + 1;
    }
    const int n_tiles = (int)((kend + FA_BN - 1) / FA_BN);

    /* this thread's two query rows (fragment rows g and g + 8 of the warp's 16) */
    const int64_t row0 = q0 + warp * 16 + g, row1 = row0 + 8;
    const int64_t pos0 = off + row0, pos1 = off + row1;

    /* prologue: Q and K(0) in one group, V(0) in the next */
    load_tile<T, DH, DHP, FA_BM>(sQ, Qg, a.ldq, q0, nq);
    load_tile<T, DH, DHP, FA_BN>(sK, Kg, a.ldk, 0, nkv);
    cp_async_commit();
    load_tile<T, DH, DHP, FA_BN>(sV, Vg, a.ldv, 0, nkv);
    cp_async_commit();

    uint32_t qf[KS][4];
    float o[NO][4];
    #pragma unroll
    for (int t = 0; t < NO; t++) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

    for (int kt = 0; kt < n_tiles; kt++) {
        const int64_t k0 = (int64_t)kt * FA_BN;
        cp_async_wait<1>(); /* K(kt) (and Q) landed; V(kt) may be in flight */
        __syncthreads();
        if (kt == 0) {
            /* Q fragments, once: matrix m of ldmatrix.x4 = rows (m & 1) * 8.., cols 16 ks + (m >> 1) * 8 */
            const int mi = lane >> 3, rr = lane & 7;
            #pragma unroll
            for (int ks = 0; ks < KS; ks++)
                ldmatrix_x4(qf[ks], sQ + (warp * 16 + (mi & 1) * 8 + rr) * LDS + ks * 16 + (mi >> 1) * 8);
        }
        /* S = Q K^T over the tile's 64 keys: 8 n-tiles, two per ldmatrix.x4 */
        float s[FA_BN / 8][4];
        #pragma unroll
        for (int nt = 0; nt < FA_BN / 8; nt++) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
        {
            const int mi = lane >> 3, rr = lane & 7;
            #pragma unroll
            for (int ks = 0; ks < KS; ks++)
                for (int np = 0; np < FA_BN / 16; np++) {
                    /* m0: keys 16np + rr, dims 16ks; m1: same keys, dims +8; m2, m3: keys +8 */
                    uint32_t kf[4];
                    ldmatrix_x4(kf, sK + (np * 16 + (mi >> 1) * 8 + rr) * LDS + ks * 16 + (mi & 1) * 8);
                    uint32_t b0[2] = {kf[0], kf[1]}, b1[2] = {kf[2], kf[3]};
                    mma16816<T>(s[2 * np], qf[ks], b0);
                    mma16816<T>(s[2 * np + 1], qf[ks], b1);
                }
        }
        __syncthreads(); /* every warp is done with sK: fetch K(kt + 1) under the softmax and P V */
        if (kt + 1 < n_tiles) load_tile<T, DH, DHP, FA_BN>(sK, Kg, a.ldk, k0 + FA_BN, nkv);
        cp_async_commit();

        /* scale, mask (keys past n_kv; causal: keys past the row's position), online softmax */
        const bool need_mask = k0 + FA_BN > nkv || (a.causal && k0 + FA_BN - 1 > off + q0);
        float mx0 = -INFINITY, mx1 = -INFINITY;
        #pragma unroll
        for (int nt = 0; nt < FA_BN / 8; nt++)
            for (int e = 0; e < 4; e++) {
                float v = s[nt][e] * scale_log2;
                if (need_mask) {
                    const int64_t j = k0 + nt * 8 + 2 * tq + (e & 1);
                    const int64_t pos = e < 2 ? pos0 : pos1;
                    if (j >= nkv || (a.causal && j > pos)) v = -INFINITY;
                }
                s[nt][e] = v;
                if (e < 2) mx0 = fmaxf(mx0, v);
                else mx1 = fmaxf(mx1, v);
            }
        /* the 4 threads of a row (same g) hold its 64 columns between them */
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
        /* a row with no visible key so far keeps m = -inf: use 0 as the base (all p = 0) */
        const float base0 = mn0 == -INFINITY ? 0.0f : mn0, base1 = mn1 == -INFINITY ? 0.0f : mn1;
        const float c0 = exp2f(m0 - base0), c1 = exp2f(m1 - base1); /* m = -inf -> 0 */
        m0 = mn0;
        m1 = mn1;
        float rs0 = 0.0f, rs1 = 0.0f;
        #pragma unroll
        for (int nt = 0; nt < FA_BN / 8; nt++) {
            s[nt][0] = exp2f(s[nt][0] - base0);
            s[nt][1] = exp2f(s[nt][1] - base0);
            s[nt][2] = exp2f(s[nt][2] - base1);
            s[nt][3] = exp2f(s[nt][3] - base1);
            rs0 += s[nt][0] + s[nt][1];
            rs1 += s[nt][2] + s[nt][3];
        }
        l0 = l0 * c0 + rs0;
        l1 = l1 * c1 + rs1;
        #pragma unroll
        for (int t = 0; t < NO; t++) {
            o[t][0] *= c0;
            o[t][1] *= c0;
            o[t][2] *= c1;
            o[t][3] *= c1;
        }

        cp_async_wait<1>(); /* V(kt) landed (K(kt + 1) may be in flight) */
        __syncthreads();
        /* O += P V: k-steps over the tile's keys (16 each), n-tiles over the head dim, two per
         * ldmatrix.x4.trans (m0: keys 16kk.., dims 8dn; m1: keys +8; m2, m3: dims 8(dn+1)) */
        {
            const int mi = lane >> 3, rr = lane & 7;
            #pragma unroll
            for (int kk = 0; kk < FA_BN / 16; kk++) {
                uint32_t pf[4];
                pf[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
                pf[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
                pf[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
                pf[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
                #pragma unroll
                for (int dn = 0; dn < NO; dn += 2) {
                    uint32_t vf[4];
                    /* dims 8(dn+1).. may be the zero padding (NO odd): in bounds, result unused */
                    ldmatrix_x4_trans(vf, sV + (kk * 16 + (mi & 1) * 8 + rr) * LDS + (dn + (mi >> 1)) * 8);
                    uint32_t b0[2] = {vf[0], vf[1]}, b1[2] = {vf[2], vf[3]};
                    mma16816<T>(o[dn], pf, b0);
                    if (dn + 1 < NO) mma16816<T>(o[dn + 1], pf, b1);
                }
            }
        }
        __syncthreads(); /* every warp is done with sV: fetch V(kt + 1) under the next Q K^T */
        if (kt + 1 < n_tiles) load_tile<T, DH, DHP, FA_BN>(sV, Vg, a.ldv, k0 + FA_BN, nkv);
        cp_async_commit();
    }
    cp_async_wait<0>();

    /* row sums over the 4 threads of each row, then O / l */
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
    T *Og = (T *)a.out + (int64_t)b * nq * a.ldo + (int64_t)h * DH;
    #pragma unroll
    for (int t = 0; t < NO; t++) {
        const int d = t * 8 + 2 * tq; /* DH % 8 == 0: d + 1 < DH */
        if (row0 < nq) {
            Og[row0 * a.ldo + d] = tb_from_f<T>(o[t][0] * inv0);
            Og[row0 * a.ldo + d + 1] = tb_from_f<T>(o[t][1] * inv0);
        }
        if (row1 < nq) {
            Og[row1 * a.ldo + d] = tb_from_f<T>(o[t][2] * inv1);
            Og[row1 * a.ldo + d + 1] = tb_from_f<T>(o[t][3] * inv1);
        }
    }
    if (!a.recv) return;

    /* ---- recv tap: second pass, normalised p = exp2(s' - lse), lse = m + log2(l) ---- */
    const float lse0 = m0 + log2f(l0), lse1 = m1 + log2f(l1);
    const bool ok0 = row0 < nq && l0 > 0.0f, ok1 = row1 < nq && l1 > 0.0f;
    const float recv_scale = 1.0f / ((float)a.n_head * (float)nq);
    for (int kt = 0; kt < n_tiles; kt++) {
        const int64_t k0 = (int64_t)kt * FA_BN;
        __syncthreads(); /* sK and sRecv free */
        load_tile<T, DH, DHP, FA_BN>(sK, Kg, a.ldk, k0, nkv);
        cp_async_commit();
        for (int j = tid; j < FA_BN; j += FA_WARPS * 32) sRecv[j] = 0.0f;
        cp_async_wait<0>();
        __syncthreads();
        float s[FA_BN / 8][4];
        #pragma unroll
        for (int nt = 0; nt < FA_BN / 8; nt++) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
        const int mi = lane >> 3, rr = lane & 7;
        #pragma unroll
        for (int ks = 0; ks < KS; ks++)
            for (int np = 0; np < FA_BN / 16; np++) {
                uint32_t kf[4];
                ldmatrix_x4(kf, sK + (np * 16 + (mi >> 1) * 8 + rr) * LDS + ks * 16 + (mi & 1) * 8);
                uint32_t b0[2] = {kf[0], kf[1]}, b1[2] = {kf[2], kf[3]};
                mma16816<T>(s[2 * np], qf[ks], b0);
                mma16816<T>(s[2 * np + 1], qf[ks], b1);
            }
        #pragma unroll
        for (int nt = 0; nt < FA_BN / 8; nt++) {
            float cs[2];
            for (int e = 0; e < 2; e++) {
                const int64_t j = k0 + nt * 8 + 2 * tq + e;
                float p0 = 0.0f, p1 = 0.0f;
                if (j < nkv) {
                    if (ok0 && (!a.causal || j <= pos0)) p0 = exp2f(s[nt][e] * scale_log2 - lse0);
                    if (ok1 && (!a.causal || j <= pos1)) p1 = exp2f(s[nt][2 + e] * scale_log2 - lse1);
                }
                float c = p0 + p1;
                /* sum over the 8 row groups g (lanes with the same tq) */
                c += __shfl_xor_sync(0xffffffffu, c, 4);
                c += __shfl_xor_sync(0xffffffffu, c, 8);
                c += __shfl_xor_sync(0xffffffffu, c, 16);
                cs[e] = c;
            }
            if (g == 0) { /* lanes 0..3: columns nt*8 + 2tq, +1 of this warp's 16 rows */
                atomicAdd(&sRecv[nt * 8 + 2 * tq], cs[0]);
                atomicAdd(&sRecv[nt * 8 + 2 * tq + 1], cs[1]);
            }
        }
        __syncthreads();
        for (int j = tid; j < FA_BN; j += FA_WARPS * 32)
            if (k0 + j < nkv && sRecv[j] != 0.0f) atomicAdd(&a.recv[(int64_t)b * nkv + k0 + j], sRecv[j] * recv_scale);
    }
}

/* ============================================================================================
 * Dispatch
 * ============================================================================================ */

static bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

int tb_cuda_attention_fused_ok(const tb_attn_args *a, int dtype) {
    if (dtype != 1 && dtype != 2) return 0;           /* tensor cores: fp16 / bf16 only */
    if (a->probs) return 0;                           /* the probabilities tap is the row kernel's */
    if (a->head_dim != 64 && a->head_dim != 72 && a->head_dim != 80 && a->head_dim != 128) return 0;
    if (a->n_q < 16) return 0;                        /* decode steps and taps: the row kernel */
    if (a->ldq % 8 || a->ldk % 8 || a->ldv % 8 || a->ldo % 2) return 0;
    if (!aligned16(a->q) || !aligned16(a->k) || !aligned16(a->v)) return 0;
    if (a->n_kv > 0x7fffffff || a->n_q > (int64_t)0x7fffffff * FA_BM) return 0;
    return 1;
}

template <class T, int DH> static cudaError_t launch_flash(const tb_attn_args *a, cudaStream_t st) {
    constexpr int DHP = (DH + 15) / 16 * 16;
    const size_t smem = (size_t)(FA_BM + 2 * FA_BN) * (DHP + FA_PAD) * sizeof(T) + FA_BN * sizeof(float);
    static bool attr_set = false; /* per instantiation: once per process (the attribute is per kernel) */
    if (!attr_set) {
        cudaError_t e = cudaFuncSetAttribute(flash_fwd<T, DH>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess) return e;
        attr_set = true;
    }
    dim3 grid((unsigned)((a->n_q + FA_BM - 1) / FA_BM), (unsigned)a->n_head, (unsigned)a->n_batch);
    flash_fwd<T, DH><<<grid, FA_WARPS * 32, smem, st>>>(*a, a->scale * LOG2E);
    return cudaGetLastError();
}

template <class T> static cudaError_t launch_flash_t(const tb_attn_args *a, cudaStream_t st) {
    switch (a->head_dim) {
    case 64: return launch_flash<T, 64>(a, st);
    case 72: return launch_flash<T, 72>(a, st);
    case 80: return launch_flash<T, 80>(a, st); /* Qwen2.5-VL ViT */
    case 128: return launch_flash<T, 128>(a, st);
    }
    return cudaErrorInvalidValue;
}

template <class T> static cudaError_t launch_rows(const tb_attn_args *a, cudaStream_t st) {
    dim3 grid((unsigned)a->n_q, (unsigned)a->n_head, (unsigned)a->n_batch);
    attn_rows<T><<<grid, 32 * ROW_WARPS, 0, st>>>(*a, a->scale * LOG2E);
    return cudaGetLastError();
}

cudaError_t tb_cuda_attention(const tb_attn_args *a, int dtype, tb_attn_kind kind, cudaStream_t stream,
                              const char **used) {
    if (a->n_batch == 0 || a->n_q == 0) {
        if (used) *used = "none";
        return cudaSuccess;
    }
    if (a->head_dim > ROW_MAX_DH || a->n_q > 0x7fffffff || a->n_head > 65535 || a->n_batch > 65535)
        return cudaErrorInvalidValue;
    if (kind == TB_ATTN_AUTO && tb_cuda_attention_fused_ok(a, dtype)) {
        if (used) *used = "flash-mma";
        return dtype == 1 ? launch_flash_t<__half>(a, stream) : launch_flash_t<__nv_bfloat16>(a, stream);
    }
    if (used) *used = "rows";
    switch (dtype) {
    case 0: return launch_rows<float>(a, stream);
    case 1: return launch_rows<__half>(a, stream);
    case 2: return launch_rows<__nv_bfloat16>(a, stream);
    }
    return cudaErrorInvalidValue;
}
