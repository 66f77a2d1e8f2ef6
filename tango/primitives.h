/* primitives.h - the shared token primitives of tango-bench: one implementation each, used by
 * Tango (tango/tango.c) and by every baseline (baselines/). Plain C11 over float32 row-major
 * arrays; nothing here allocates behind the caller's back except where a contract says so,
 * prints, or exits.
 *
 * What lives here:
 *   - consecutive-frame cosine similarity;
 *   - pairwise Euclidean distances in two forms (direct differences; the OpenBLAS GEMM/SYRK
 *     form sqrt(clamp(|x|^2 + |y|^2 - 2 x.y, 1e-30))) and PyTorch cdist's choice between them;
 *   - DPC-KNN (density peaks with a K-nearest-neighbour Gaussian density) with seeded jitter;
 *   - nearest-centre assignment and the beta-weighted cluster merge;
 *   - the HoliTom segmentation dynamic program, FastVID's DySeg cuts, static-token masks / pooling;
 *   - bilinear (PyTorch align_corners=False) and 2x2 average pooling on token grids;
 *   - ST-RoPE (spatio-temporal rotary embedding, half-split pairing per section);
 *   - helpers the methods share: fp16 rounding, a seeded generator, stable top-k.
 *
 * Dimension letters: T frames, L = H*W tokens per frame, D feature width, m/n point counts,
 * c cluster count.
 *
 * Usage (cluster m points of width D into c centres and merge):
 *     float *dist = malloc(m * m * sizeof *dist);
 *     tg_cdist_self(Y, m, D, TG_DIST_TORCH, dist);            // PyTorch's path choice
 *     tg_dpc_params dp = tg_dpc_default_params();              // Tango: K = 7, drop self, gamma order
 *     tg_rng rng; tg_rng_seed(&rng, 42);  dp.rng = &rng;
 *     int64_t centres[c];
 *     tg_dpc_knn(dist, m, c, &dp, centres, err, sizeof err);
 */
#ifndef TG_PRIMITIVES_H
#define TG_PRIMITIVES_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * Small shared helpers
 * ------------------------------------------------------------------------------------------- */

/* A seeded pseudo-random generator (xoshiro256** seeded through splitmix64). Deterministic for a
 * seed on every platform. Plain struct: no init/free needed. */
typedef struct {
    uint64_t s[4];
} tg_rng;

/* Seeds rng from a 64-bit seed. */
void tg_rng_seed(tg_rng *rng, uint64_t seed);

/* Next uniform float in [0, 1) with 24 random bits (like torch.rand for float32). */
float tg_rng_uniform(tg_rng *rng);

/* Rounds a float to the nearest IEEE binary16 value (round half to even, subnormals and
 * overflow to inf as in a float->half conversion) and returns it widened back to float. */
float tg_fp16_round(float x);

/* Rounds a float to the nearest bfloat16 value (the top 16 bits of float32, round half to even,
 * as torch's .to(torch.bfloat16)) and returns it widened back to float. NaN stays NaN. */
float tg_bf16_round(float x);

/* A 16-bit model dtype whose roundings a method reproduces (none: float32 throughout). */
typedef enum { TG_ROUND_NONE = 0, TG_ROUND_FP16 = 1, TG_ROUND_BF16 = 2 } tg_round;

/* x rounded to r's dtype (tg_fp16_round / tg_bf16_round), or x for TG_ROUND_NONE. */
float tg_round_to(tg_round r, float x);

/* "fp32" / "fp16" / "bf16". */
const char *tg_round_name(tg_round r);


/* Top-k by value, descending; ties go to the lower index (a stable order; PyTorch's order on
 * ties is implementation-defined). Writes k indices into idx (k <= n). Returns 0, or -1 when
 * k > n or allocation fails. Scratch is allocated internally for n > 256. */
int tg_topk_desc(const float *v /* [n] */, int64_t n, int64_t k, int64_t *idx /* [k] */);

/* ---------------------------------------------------------------------------------------------
 * Similarity and distances
 * ------------------------------------------------------------------------------------------- */

/* Cosine similarity of the same token in consecutive frames, in the official form
 * (F.normalize then a dot product): s[f][l] = sum_d (x[f][l][d]/n1) * (x[f+1][l][d]/n2) with
 * n = max(|x|, 1e-12); float32 throughout (vectorised partial sums). f = 0..T-2. Uses up to
 * n_threads OpenMP threads (<= 0: the OpenMP default). Equals tg_dot_consecutive of
 * tg_l2_normalize(x) without materialising it. Returns 0, or -1 when scratch allocation fails. */
int tg_cos_consecutive(const float *x /* [T][L][D] */, int64_t T, int64_t L, int64_t D, int n_threads,
                        float *s /* [T-1][L] */);

/* out[i] = x[i] / max(|x[i]|, 1e-12) (PyTorch F.normalize, float32); out may equal x. */
void tg_l2_normalize(const float *x /* [n][D] */, int64_t n, int64_t D, int n_threads, float *out /* [n][D] */);

/* s[f][l] = xn[f][l] . xn[f+1][l] for already-normalised rows (float32, 8 partial sums). */
void tg_dot_consecutive(const float *xn /* [T][L][D] */, int64_t T, int64_t L, int64_t D, int n_threads,
                        float *s /* [T-1][L] */);

/* Distance form. TG_DIST_TORCH picks like PyTorch cdist (p = 2, default compute mode): the GEMM
 * form when either side has more than 25 rows, else the direct form. */
typedef enum { TG_DIST_TORCH = 0, TG_DIST_DIRECT = 1, TG_DIST_GEMM = 2 } tg_dist_mode;

/* Euclidean distances out[i][j] = |x_i - y_j|.
 *   direct: sqrt(sum_d (x_id - y_jd)^2) in float32 (PyTorch's direct path);
 *   GEMM:   sqrt(max(|x_i|^2 + |y_j|^2 - 2 x_i.y_j, 1e-30)) with cblas_sgemm in float32 (the
 *           self-distance of a point is then ~1e-4, not 0, exactly as PyTorch's mm path).
 * n_threads bounds the OpenMP threads of the direct form (<= 0: default). Returns 0, or -1 when
 * scratch allocation fails (GEMM form). */
int tg_cdist(const float *x /* [m][D] */, int64_t m, const float *y /* [n][D] */, int64_t n, int64_t D,
             tg_dist_mode mode, int n_threads, float *out /* [m][n] */);

/* Self distances out[i][j] = |y_i - y_j| with the same forms; the GEMM form uses cblas_ssyrk and
 * mirrors the triangle, so out is exactly symmetric. Returns 0 or -1 (allocation). */
int tg_cdist_self(const float *y /* [m][D] */, int64_t m, int64_t D, tg_dist_mode mode, int n_threads,
                  float *out /* [m][m] */);

/* True (1) when mode resolves to the GEMM form for an (m x n) distance matrix. */
int tg_dist_uses_gemm(tg_dist_mode mode, int64_t m, int64_t n);

/* ---------------------------------------------------------------------------------------------
 * DPC-KNN, assignment, merging
 * ------------------------------------------------------------------------------------------- */

typedef enum {
    TG_DPC_ORDER_GAMMA = 0, /* centres in descending gamma = rho*delta (Tango: topk order) */
    TG_DPC_ORDER_INDEX = 1, /* centres sorted ascending by point index (HoliTom) */
} tg_dpc_order;

typedef struct {
    int knn;           /* K neighbours in the density (Tango 7) */
    int drop_self;     /* 1: take the min(K+1, m) smallest of each row and drop the first (Tango);
                          0: the min(K, m) smallest, self included (HoliTom) */
    double dist_div;   /* distances are divided by this before use (HoliTom sqrt(C); Tango 1) */
    tg_dpc_order order;
    double jitter;     /* rho += U[0,1) * jitter in float32 (1e-6 officially); 0 disables */
    tg_rng *rng;       /* generator for the jitter; required when jitter != 0 and noise is NULL */
    const float *noise;/* [m] pre-drawn U[0,1) values used instead of rng (batched callers draw
                          the noise of several calls up front, in the official order); or NULL */
} tg_dpc_params;

/* Tango's defaults: knn 7, drop_self 1, dist_div 1, gamma order, jitter 1e-6, rng and noise
 * NULL (set one). */
tg_dpc_params tg_dpc_default_params(void);

/* DPC-KNN on a precomputed distance matrix. For every point i:
 *   rho_i   = exp(-mean of d^2 over its neighbour distances) (+ jitter, drawn i = 0..m-1 in order);
 *   delta_i = min{ d_ij : rho_j > rho_i }, or the global max of the matrix if no j is denser;
 *   gamma_i = rho_i * delta_i;
 * and the c points with the largest gamma are the centres (ties: lower index first), returned in
 * p->order. Exactly m jitter values are drawn (none when jitter is 0), even when c >= m.
 * rho_out / gamma_out may be NULL. Returns 0, or -1 with a message (c > m, c < 0, missing rng,
 * allocation). */
int tg_dpc_knn(const float *dist /* [m][m] */, int64_t m, int64_t c, const tg_dpc_params *p,
               int64_t *centres /* [c] */, float *rho_out /* [m] or NULL */, float *gamma_out /* [m] or NULL */,
               char *err, size_t err_len);

/* Nearest-centre assignment: assign[i] = argmin_j dist[i][j] over the c columns; the first
 * minimum wins ties. */
void tg_assign_nearest(const float *dist /* [m][c] */, int64_t m, int64_t c, int64_t *assign /* [m] */);

typedef enum {
    TG_MERGE_WEIGHT_MAX = 0,   /* Tango / FastVID: mu = mean of members INCLUDING the anchor,
                                  w = max(1/n, beta), x~ = w x + (1-w) mu */
    TG_MERGE_BETA_EXCL = 1,    /* HoliTom: mu = mean of members EXCLUDING the anchor,
                                  x~ = beta x + (1-beta) mu (x unchanged without members) */
    TG_MERGE_PLAIN_MEAN = 2,   /* mean of {anchor} U members (HoliTom NO_BETA) */
} tg_merge_rule;

typedef struct {
    tg_merge_rule rule;
    double beta;        /* 0.6 */
    tg_round beta_round; /* beta rounded to the model dtype first, as the models run:
                            fp16(0.6) = 0.60009766 (LLaVA), bf16(0.6) = 0.6015625 (Qwen2.5-VL) */
} tg_merge_params;

/* Cluster merge. Points x[0..m-1]; anchors[j] (j = 0..c-1) is the point index of anchor j;
 * assign[i] in [0, c) is the anchor of point i (an anchor normally assigns to itself; if it does
 * not, TG_MERGE_WEIGHT_MAX treats it like any member: n_j counts the points with assign == j and
 * mu their mean, n_j = 0 leaves the anchor unchanged). Float32 in PyTorch's order: sums
 * in ascending point order (index_add_), mean = sum / max(n, 1), w = max(1/max(n, 1), beta).
 * Writes out[j] = merged vector of anchor j, in anchor-list order. counts (may be NULL) gets n_j.
 * Returns 0, or -1 with a message (an assign value out of range, allocation). */
int tg_cluster_merge(const float *x /* [m][D] */, int64_t m, int64_t D, const int64_t *anchors /* [c] */, int64_t c,
                     const int64_t *assign /* [m] */, const tg_merge_params *p, float *out /* [c][D] */,
                     int64_t *counts /* [c] or NULL */, char *err, size_t err_len);

/* ---------------------------------------------------------------------------------------------
 * Temporal segmentation and static tokens
 * ------------------------------------------------------------------------------------------- */

/* HoliTom segmentation DP over T frames. Token l is static over [a, e] (a < e) iff
 * s[f][l] > tau (strict, compared in float32 as PyTorch compares a float32 tensor with a Python
 * scalar: 0.8f > 0.8 is false) for every f = a..e-1; C(a, e) = (#static) * (e - a). dp[i] = max of
 * dp[i-1] (singleton, tried first) and dp[a-1] + C(a, i) over windows of 2..min(i+1, max_window)
 * frames in increasing size, replaced only when strictly larger (ties: singleton, then the
 * shorter window). Backtracks into seg_start[k], seg_len[k] (k = 0..*n_seg-1, in time order).
 * *reduced (may be NULL) = dp[T-1]. Returns 0, or -1 (T < 1, max_window < 1, allocation). */
int tg_segment_dp(const float *s /* [T-1][L] */, int64_t T, int64_t L, double tau, int64_t max_window,
                  int64_t *seg_start /* [T] */, int64_t *seg_len /* [T] */, int64_t *n_seg, int64_t *reduced,
                  char *err, size_t err_len);

/* Cosines of consecutive per-frame global vectors: s[t] = <G[t]/|G[t]|, G[t+1]/|G[t+1]|> for
 * t = 0..T-2 (norms and dot in double, norm clamped at 1e-12, each cosine rounded to float32):
 * the DySeg transition signal. Returns 0, or -1 (T < 1, Gd < 1, allocation). */
int tg_consecutive_cos(const float *G /* [T][Gd] */, int64_t T, int64_t Gd, float *s /* [T-1] */);

/* FastVID's DySeg (spec holitom-fastvid.md §2, tango.md §4.2), Tango's segment=fastvid: the
 * cosines of consecutive per-frame global vectors G[t] (tg_consecutive_cos); a cut after
 * transition t when it is among the n_low lowest (ties: lower index) or below tau (float32,
 * strict); segments end at the cuts and at T-1.
 * Writes seg_start[k], seg_len[k] (k < *n_seg, time order). Returns 0, or -1 (T < 1,
 * allocation). */
int tg_segment_cuts(const float *G /* [T][Gd] */, int64_t T, int64_t Gd, int64_t n_low, double tau,
                    int64_t *seg_start /* [T] */, int64_t *seg_len /* [T] */, int64_t *n_seg);

/* Static mask of window [a, a+n-1] (n >= 1): mask[l] = 1 iff s[f][l] > (float)tau for all f = a..a+n-2
 * (all tokens are static when n = 1 by this definition; callers treat n = 1 separately).
 * Returns the number of static tokens. */
int64_t tg_static_mask(const float *s /* [T-1][L] */, int64_t L, int64_t a, int64_t n, double tau,
                       uint8_t *mask /* [L] */);

/* Static-token pooling: out[k] = mean over the n frames of x[f][l_k] for the k-th static token
 * l_k (ascending l with mask[l] = 1); float32, frames summed in order, then divided by n.
 * Writes (#static) rows. */
void tg_static_pool(const float *x /* [n][L][D] */, int64_t n, int64_t L, int64_t D, const uint8_t *mask /* [L] */,
                    float *out /* [#static][D] */);

/* ---------------------------------------------------------------------------------------------
 * Pooling on token grids (token-major layout, C channels per token)
 * ------------------------------------------------------------------------------------------- */

/* Bilinear resize with PyTorch semantics (align_corners = False, no antialias):
 * src = max((dst + 0.5) * in/out - 0.5, 0), i1 = min(i0 + 1, in - 1), float weights.
 * For each of n maps: in [n][hi*wi][C] -> out [n][ho*wo][C]. */
void tg_pool_bilinear(const float *in, int64_t n, int64_t hi, int64_t wi, int64_t C, int64_t ho, int64_t wo,
                      float *out);

/* 2x2 average pooling at stride 2, floor (a last odd row / column is dropped):
 * in [n][hi*wi][C] -> out [n][(hi/2)*(wi/2)][C]. */
void tg_pool_avg2(const float *in, int64_t n, int64_t hi, int64_t wi, int64_t C, float *out);

/* ---------------------------------------------------------------------------------------------
 * ST-RoPE
 * ------------------------------------------------------------------------------------------- */

typedef struct {
    int64_t sec_t, sec_h, sec_w; /* contiguous sections [0,t) [t,t+h) [t+h,t+h+w); each even and >= 0;
                                    sum <= D (dims past the sum are left unrotated) */
    double base_time;            /* 10000 */
    double base_space;           /* 1000 */
} tg_strope_params;

/* Default sections for width D: d_h = d_w = 2*floor(D/6), d_t = D - 2*d_h (1196/1194/1194 for
 * D = 3584), bases 1e4 / 1e3. */
tg_strope_params tg_strope_default_params(int64_t D);

/* Checks the sections against D (even, positive, sum <= D). Returns 0 or -1 with a message. */
int tg_strope_check(const tg_strope_params *p, int64_t D, char *err, size_t err_len);

/* Rotates one vector in place at position (t seconds, row h, col w). Inverse frequencies in
 * float32: e_i = (float)(2i)/d, inv_i = 1/powf(base, e_i); angle = (float)pos * inv_i; half-split
 * pairing inside each section: out[j] = x[j] cos - x[j+m] sin, out[j+m] = x[j+m] cos + x[j] sin.
 * Does NOT normalise. */
void tg_strope_rotate(float *v /* [D] */, int64_t D, float t, float h, float w, const tg_strope_params *p);

/* Precomputed cos/sin tables of one video's positions (frame times, grid rows, grid columns), so
 * ST-RoPE rows can be made on demand (Tango needs the metric only of the tokens it clusters).
 * Opaque; create with tg_strope_ctx_init, free with tg_strope_ctx_free (NULL is a no-op). */
typedef struct tg_strope_ctx tg_strope_ctx;

/* Builds the tables for T frames at timestamps[] seconds on an H x W grid of width D. Returns
 * NULL with a message (bad sections, allocation). */
tg_strope_ctx *tg_strope_ctx_init(int64_t T, int64_t H, int64_t W, int64_t D, const float *timestamps /* [T] */,
                                  const tg_strope_params *p, char *err, size_t err_len);
void tg_strope_ctx_free(tg_strope_ctx *c);

/* out = rotate(x / max(|x|, 1e-12)) at (timestamps[f], l / W, l % W); x and out must not overlap. */
void tg_strope_ctx_row(const tg_strope_ctx *c, const float *x /* [D] */, int64_t f, int64_t l,
                       float *out /* [D] */);

/* Rotates every row of a video in place (no normalisation): P[f][l] = rotate(P[f][l]) at
 * (timestamps[f], l / W, l % W). Returns 0, or -1 with a message (bad sections, allocation). */
int tg_strope_rotate_grid(float *P /* [T][L][D] */, int64_t T, int64_t H, int64_t W, int64_t D,
                          const float *timestamps /* [T] seconds */, const tg_strope_params *p, int n_threads,
                          char *err, size_t err_len);

/* The full ST-RoPE metric of a video: P[f][l] = rotate(x[f][l] / max(|x[f][l]|, 1e-12)) at
 * (timestamps[f], l / W, l % W) (tg_l2_normalize then tg_strope_rotate_grid). Uses up to n_threads OpenMP threads. Returns 0, or -1 with a
 * message (bad sections, allocation). */
int tg_strope_apply(const float *x /* [T][L][D] */, int64_t T, int64_t H, int64_t W, int64_t D,
                    const float *timestamps /* [T] seconds */, const tg_strope_params *p, int n_threads,
                    float *out /* [T][L][D] */, char *err, size_t err_len);

#endif
