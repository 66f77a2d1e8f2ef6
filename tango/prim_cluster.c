/* prim_cluster.c - clustering primitives: DPC-KNN (density peaks with a K-nearest-neighbour
 * Gaussian density), nearest-centre assignment, the beta-weighted cluster merge, the HoliTom
 * segmentation dynamic program and static-token masks / pooling.
 *
 * Float32 where the official code is float32 (density, delta, gamma), double accumulation for
 * sums (means of vectors). Deterministic given the generator state; no hidden randomness. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tango/primitives.h"
#include "tango/tg_internal.h"

/* ===== DPC-KNN ===== */

tg_dpc_params tg_dpc_default_params(void) {
    tg_dpc_params p;
    memset(&p, 0, sizeof p);
    p.knn = 7;
    p.drop_self = 1;
    p.dist_div = 1.0;
    p.order = TG_DPC_ORDER_GAMMA;
    p.jitter = 1e-6;
    p.rng = NULL;
    return p;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int tg_dpc_knn(const float *dist, int64_t m, int64_t c, const tg_dpc_params *p, int64_t *centres, float *rho_out,
               float *gamma_out, char *err, size_t err_len) {
    if (m < 0 || c < 0 || c > m) {
        tb_set_err(err, err_len, "dpc-knn: %lld centres requested from %lld points", (long long)c, (long long)m);
        return -1;
    }
    if (p->jitter != 0 && !p->rng && !p->noise) {
        tb_set_err(err, err_len, "dpc-knn: jitter %g needs a generator", p->jitter);
        return -1;
    }
    if (p->knn < 1) {
        tb_set_err(err, err_len, "dpc-knn: knn must be >= 1 (got %d)", p->knn);
        return -1;
    }
    if (m == 0) return 0;
    float *rho = malloc((size_t)m * 2 * sizeof *rho);
    if (!rho) {
        tb_set_err(err, err_len, "dpc-knn: out of memory (%lld points)", (long long)m);
        return -1;
    }
    float *gamma = rho + m;
    int64_t kk = p->drop_self ? (int64_t)p->knn + 1 : (int64_t)p->knn;
    if (kk > m) kk = m;
    int64_t first = p->drop_self ? 1 : 0;
    float *nb = malloc((size_t)(kk > 0 ? kk : 1) * sizeof *nb);
    if (!nb) {
        free(rho);
        tb_set_err(err, err_len, "dpc-knn: out of memory");
        return -1;
    }
    float dmax = -INFINITY;
    float div = (float)p->dist_div;
    int scaled = p->dist_div != 1.0;
#define DIST(i, j) (scaled ? dist[(size_t)(i) * m + (j)] / div : dist[(size_t)(i) * m + (j)])
    for (int64_t i = 0; i < m; i++) {
        /* the kk smallest entries of row i, ascending (insertion into a short sorted list) */
        int64_t cnt = 0;
        for (int64_t j = 0; j < m; j++) {
            float v = DIST(i, j);
            if (v > dmax) dmax = v;
            if (cnt < kk) {
                int64_t q = cnt++;
                while (q > 0 && nb[q - 1] > v) {
                    nb[q] = nb[q - 1];
                    q--;
                }
                nb[q] = v;
            } else if (v < nb[kk - 1]) {
                int64_t q = kk - 1;
                while (q > 0 && nb[q - 1] > v) {
                    nb[q] = nb[q - 1];
                    q--;
                }
                nb[q] = v;
            }
        }
        float acc = 0.0f; /* float32 like (d ** 2).mean(-1) */
        int64_t used = kk - first;
        for (int64_t q = first; q < kk; q++) acc += nb[q] * nb[q];
        float mean = used > 0 ? acc / (float)used : 0.0f;
        rho[i] = expf(-mean);
    }
    if (p->jitter != 0) {
        float jf = (float)p->jitter;
        for (int64_t i = 0; i < m; i++) rho[i] = rho[i] + (p->noise ? p->noise[i] : tg_rng_uniform(p->rng)) * jf;
    }
    for (int64_t i = 0; i < m; i++) {
        float dmin = dmax;
        for (int64_t j = 0; j < m; j++)
            if (rho[j] > rho[i]) {
                float v = DIST(i, j);
                if (v < dmin) dmin = v;
            }
        gamma[i] = dmin * rho[i];
    }
#undef DIST
    int rc = 0;
    if (tg_topk_desc(gamma, m, c, centres) != 0) {
        tb_set_err(err, err_len, "dpc-knn: out of memory in top-k");
        rc = -1;
    } else if (p->order == TG_DPC_ORDER_INDEX) {
        qsort(centres, (size_t)c, sizeof *centres, cmp_i64);
    }
    if (rho_out) memcpy(rho_out, rho, (size_t)m * sizeof *rho);
    if (gamma_out) memcpy(gamma_out, gamma, (size_t)m * sizeof *gamma);
    free(nb);
    free(rho);
    return rc;
}

/* ===== assignment ===== */

void tg_assign_nearest(const float *dist, int64_t m, int64_t c, int64_t *assign) {
    for (int64_t i = 0; i < m; i++) {
        const float *row = dist + (size_t)i * c;
        int64_t best = 0;
        for (int64_t j = 1; j < c; j++)
            if (row[j] < row[best]) best = j;
        assign[i] = c > 0 ? best : -1;
    }
}

/* ===== merge ===== */

int tg_cluster_merge(const float *x, int64_t m, int64_t D, const int64_t *anchors, int64_t c, const int64_t *assign,
                     const tg_merge_params *p, float *out, int64_t *counts, char *err, size_t err_len) {
    if (c <= 0) return 0;
    for (int64_t j = 0; j < c; j++)
        if (anchors[j] < 0 || anchors[j] >= m) {
            tb_set_err(err, err_len, "cluster merge: anchor %lld out of range [0, %lld)", (long long)anchors[j],
                       (long long)m);
            return -1;
        }
    for (int64_t i = 0; i < m; i++)
        if (assign[i] < 0 || assign[i] >= c) {
            tb_set_err(err, err_len, "cluster merge: point %lld assigned to %lld, outside [0, %lld)", (long long)i,
                       (long long)assign[i], (long long)c);
            return -1;
        }
    float *sum = calloc((size_t)c * (size_t)D, sizeof *sum);
    int64_t *n = calloc((size_t)c, sizeof *n);
    if (!sum || !n) {
        free(sum);
        free(n);
        tb_set_err(err, err_len, "cluster merge: out of memory (%lld x %lld)", (long long)c, (long long)D);
        return -1;
    }
    /* index_add_ order: source rows in ascending order, float32 */
    for (int64_t i = 0; i < m; i++) {
        int64_t j = assign[i];
        /* HoliTom-style rules count the members apart from the anchor itself */
        if (p->rule != TG_MERGE_WEIGHT_MAX && i == anchors[j]) continue;
        const float *xi = x + (size_t)i * D;
        float *s = sum + (size_t)j * D;
#pragma omp simd
        for (int64_t d = 0; d < D; d++) s[d] += xi[d];
        n[j]++;
    }
    float beta = tg_round_to(p->beta_round, (float)p->beta);
    for (int64_t j = 0; j < c; j++) {
        const float *xa = x + (size_t)anchors[j] * D;
        const float *s = sum + (size_t)j * D;
        float *o = out + (size_t)j * D;
        int64_t nj = n[j];
        if (counts) counts[j] = nj;
        float cnt = nj > 1 ? (float)nj : 1.0f; /* counts.clamp(min=1) */
        if (p->rule == TG_MERGE_WEIGHT_MAX) {
            /* w = (1 / n).clamp(min=beta); x~ = w x + (1 - w) (sum / n) */
            float w = 1.0f / cnt;
            if (w < beta) w = beta;
            float w1 = 1.0f - w;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) o[d] = w * xa[d] + w1 * (s[d] / cnt);
        } else if (p->rule == TG_MERGE_BETA_EXCL) {
            if (nj == 0) {
                memcpy(o, xa, (size_t)D * sizeof *o);
                continue;
            }
            float b1 = 1.0f - beta, fn = (float)nj;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) o[d] = beta * xa[d] + b1 * (s[d] / fn);
        } else {
            float fn = (float)(nj + 1);
#pragma omp simd
            for (int64_t d = 0; d < D; d++) o[d] = (xa[d] + s[d]) / fn;
        }
    }
    free(sum);
    free(n);
    return 0;
}

/* ===== HoliTom segmentation DP ===== */

int tg_segment_dp(const float *s, int64_t T, int64_t L, double tau, int64_t max_window, int64_t *seg_start,
                  int64_t *seg_len, int64_t *n_seg, int64_t *reduced, char *err, size_t err_len) {
    if (T < 1 || L < 0 || max_window < 1) {
        tb_set_err(err, err_len, "segmentation: bad sizes T=%lld L=%lld max_window=%lld", (long long)T, (long long)L,
                   (long long)max_window);
        return -1;
    }
    int64_t *dp = malloc((size_t)T * 2 * sizeof *dp);
    uint8_t *alive = malloc((size_t)(L > 0 ? L : 1));
    if (!dp || !alive) {
        free(dp);
        free(alive);
        tb_set_err(err, err_len, "segmentation: out of memory");
        return -1;
    }
    int64_t *prev = dp + T;
    const float ftau = (float)tau; /* PyTorch compares a float32 tensor with a scalar in float32 */
    for (int64_t i = 0; i < T; i++) {
        int64_t best = i > 0 ? dp[i - 1] : 0;
        int64_t start = i;
        int64_t wmax = i + 1 < max_window ? i + 1 : max_window;
        /* windows [a, i] for a = i-1 down to i-wmax+1 (sizes 2, 3, ... in increasing order); the
         * static set shrinks as a moves left: static(a, i) = static(a+1, i) AND s[a] > tau */
        memset(alive, 1, (size_t)L);
        int64_t n_alive = L;
        for (int64_t w = 2; w <= wmax; w++) {
            int64_t a = i - w + 1;
            const float *row = s + (size_t)a * L;
            for (int64_t l = 0; l < L; l++)
                if (alive[l] && !(row[l] > ftau)) {
                    alive[l] = 0;
                    n_alive--;
                }
            int64_t v = (a > 0 ? dp[a - 1] : 0) + n_alive * (i - a);
            if (v > best) {
                best = v;
                start = a;
            }
        }
        dp[i] = best;
        prev[i] = start;
    }
    /* backtrack, then reverse into time order */
    int64_t k = 0;
    for (int64_t i = T - 1; i >= 0; i = prev[i] - 1) {
        seg_start[k] = prev[i];
        seg_len[k] = i - prev[i] + 1;
        k++;
    }
    for (int64_t a = 0, b = k - 1; a < b; a++, b--) {
        int64_t t0 = seg_start[a], t1 = seg_len[a];
        seg_start[a] = seg_start[b];
        seg_len[a] = seg_len[b];
        seg_start[b] = t0;
        seg_len[b] = t1;
    }
    *n_seg = k;
    if (reduced) *reduced = dp[T - 1];
    free(dp);
    free(alive);
    return 0;
}

int tg_consecutive_cos(const float *G, int64_t T, int64_t Gd, float *s) {
    if (T < 1 || Gd < 1) return -1;
    if (T == 1) return 0;
    float *gn = malloc((size_t)T * (size_t)Gd * sizeof *gn);
    if (!gn) return -1;
    for (int64_t t = 0; t < T; t++) {
        const float *a = G + (size_t)t * Gd;
        double ss = 0;
        for (int64_t d = 0; d < Gd; d++) ss += (double)a[d] * a[d];
        float nr = (float)sqrt(ss);
        if (nr < 1e-12f) nr = 1e-12f;
        for (int64_t d = 0; d < Gd; d++) gn[(size_t)t * Gd + d] = a[d] / nr;
    }
    for (int64_t t = 0; t + 1 < T; t++) {
        double v = 0;
        for (int64_t d = 0; d < Gd; d++) v += (double)gn[t * Gd + d] * gn[(t + 1) * Gd + d];
        s[t] = (float)v;
    }
    free(gn);
    return 0;
}

int tg_segment_cuts(const float *G, int64_t T, int64_t Gd, int64_t n_low, double tau, int64_t *seg_start,
                    int64_t *seg_len, int64_t *n_seg) {
    *n_seg = 0;
    if (T < 1 || Gd < 1) return -1;
    if (T == 1) {
        seg_start[0] = 0;
        seg_len[0] = 1;
        *n_seg = 1;
        return 0;
    }
    float *sim = malloc((size_t)T * sizeof *sim), *neg = malloc((size_t)T * sizeof *neg);
    int64_t *idx = malloc((size_t)T * sizeof *idx);
    uint8_t *cut = calloc((size_t)T, 1);
    int rc = -1;
    if (!sim || !neg || !idx || !cut || tg_consecutive_cos(G, T, Gd, sim)) goto out;
    for (int64_t t = 0; t + 1 < T; t++) {
        neg[t] = -sim[t];
        if (sim[t] < (float)tau) cut[t] = 1;
    }
    int64_t nlow = n_low < T - 1 ? n_low : T - 1;
    if (nlow > 0) {
        if (tg_topk_desc(neg, T - 1, nlow, idx)) goto out;
        for (int64_t i = 0; i < nlow; i++) cut[idx[i]] = 1;
    }
    int64_t start = 0;
    for (int64_t t = 0; t < T; t++)
        if (cut[t] || t == T - 1) {
            seg_start[*n_seg] = start;
            seg_len[*n_seg] = t - start + 1;
            (*n_seg)++;
            start = t + 1;
        }
    rc = 0;
out:
    free(sim);
    free(neg);
    free(idx);
    free(cut);
    return rc;
}

int64_t tg_static_mask(const float *s, int64_t L, int64_t a, int64_t n, double tau, uint8_t *mask) {
    int64_t cnt = 0;
    const float ftau = (float)tau;
    for (int64_t l = 0; l < L; l++) {
        uint8_t ok = 1;
        for (int64_t f = a; f < a + n - 1 && ok; f++)
            if (!(s[(size_t)f * L + l] > ftau)) ok = 0;
        mask[l] = ok;
        cnt += ok;
    }
    return cnt;
}

void tg_static_pool(const float *x, int64_t n, int64_t L, int64_t D, const uint8_t *mask, float *out) {
    int64_t k = 0;
    float fn = (float)n;
    for (int64_t l = 0; l < L; l++) {
        if (!mask[l]) continue;
        float *o = out + (size_t)k * D;
        memcpy(o, x + (size_t)l * D, (size_t)D * sizeof *o);
        for (int64_t f = 1; f < n; f++) {
            const float *xf = x + ((size_t)f * L + l) * D;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) o[d] += xf[d];
        }
#pragma omp simd
        for (int64_t d = 0; d < D; d++) o[d] /= fn;
        k++;
    }
}
