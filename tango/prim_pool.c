/* prim_pool.c - pooling on token grids (PyTorch bilinear resize with align_corners=False, 2x2
 * average pooling) and ST-RoPE, the spatio-temporal rotary embedding Tango uses as its
 * clustering metric.
 *
 * All arithmetic is float32 in the operation order of the PyTorch reference, so results agree
 * with it to a few ulp (libm's powf/cosf/sinf may differ from PyTorch's vectorised versions in
 * the last bit). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tango/primitives.h"
#include "tango/tg_internal.h"

/* ===== pooling ===== */

/* source index and weights of one output coordinate (PyTorch area_pixel_compute_source_index) */
static void bilin_src(int64_t dst, int64_t in, int64_t out, int64_t *i0, int64_t *i1, float *l0, float *l1) {
    float scale = (float)in / (float)out;
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    int64_t a = (int64_t)src;
    if (a > in - 1) a = in - 1;
    *i0 = a;
    *i1 = a + (a < in - 1 ? 1 : 0);
    *l1 = src - (float)a;
    *l0 = 1.0f - *l1;
}

void tg_pool_bilinear(const float *in, int64_t n, int64_t hi, int64_t wi, int64_t C, int64_t ho, int64_t wo,
                      float *out) {
    for (int64_t f = 0; f < n; f++) {
        const float *src = in + (size_t)f * hi * wi * C;
        float *dst = out + (size_t)f * ho * wo * C;
        for (int64_t y = 0; y < ho; y++) {
            int64_t y0, y1;
            float hy0, hy1;
            bilin_src(y, hi, ho, &y0, &y1, &hy0, &hy1);
            for (int64_t x = 0; x < wo; x++) {
                int64_t x0, x1;
                float wx0, wx1;
                bilin_src(x, wi, wo, &x0, &x1, &wx0, &wx1);
                const float *p00 = src + ((size_t)y0 * wi + x0) * C, *p01 = src + ((size_t)y0 * wi + x1) * C;
                const float *p10 = src + ((size_t)y1 * wi + x0) * C, *p11 = src + ((size_t)y1 * wi + x1) * C;
                float *o = dst + ((size_t)y * wo + x) * C;
                for (int64_t c = 0; c < C; c++)
                    o[c] = hy0 * (wx0 * p00[c] + wx1 * p01[c]) + hy1 * (wx0 * p10[c] + wx1 * p11[c]);
            }
        }
    }
}

void tg_pool_avg2(const float *in, int64_t n, int64_t hi, int64_t wi, int64_t C, float *out) {
    int64_t ho = hi / 2, wo = wi / 2;
    for (int64_t f = 0; f < n; f++) {
        const float *src = in + (size_t)f * hi * wi * C;
        float *dst = out + (size_t)f * ho * wo * C;
        for (int64_t y = 0; y < ho; y++)
            for (int64_t x = 0; x < wo; x++) {
                const float *a = src + ((size_t)(2 * y) * wi + 2 * x) * C, *b = a + C;
                const float *c2 = a + (size_t)wi * C, *d2 = c2 + C;
                float *o = dst + ((size_t)y * wo + x) * C;
                for (int64_t c = 0; c < C; c++) o[c] = (((a[c] + b[c]) + c2[c]) + d2[c]) / 4.0f;
            }
    }
}

/* ===== ST-RoPE ===== */

tg_strope_params tg_strope_default_params(int64_t D) {
    tg_strope_params p;
    p.sec_h = p.sec_w = 2 * (D / 6);
    p.sec_t = D - 2 * p.sec_h;
    p.base_time = 10000.0;
    p.base_space = 1000.0;
    return p;
}

int tg_strope_check(const tg_strope_params *p, int64_t D, char *err, size_t err_len) {
    int64_t s[3] = {p->sec_t, p->sec_h, p->sec_w};
    for (int i = 0; i < 3; i++)
        if (s[i] < 0 || s[i] % 2) {
            tb_set_err(err, err_len, "strope_sections: every section must be even and >= 0 (got %lld,%lld,%lld)",
                       (long long)s[0], (long long)s[1], (long long)s[2]);
            return -1;
        }
    if (s[0] + s[1] + s[2] > D) {
        tb_set_err(err, err_len, "strope_sections: %lld+%lld+%lld exceeds the feature width D=%lld", (long long)s[0],
                   (long long)s[1], (long long)s[2], (long long)D);
        return -1;
    }
    if (!(p->base_time > 0) || !(p->base_space > 0) || !isfinite(p->base_time) || !isfinite(p->base_space)) {
        tb_set_err(err, err_len, "strope bases must be positive and finite (got %g, %g)", p->base_time,
                   p->base_space);
        return -1;
    }
    return 0;
}

/* inverse frequencies of one section of width d: inv[i] = 1 / base^((2i)/d), float32 steps */
static void inv_freq(int64_t d, double base, float *inv) {
    float b = (float)base;
    for (int64_t i = 0; i < d / 2; i++) {
        float e = (float)(2 * i) / (float)d;
        float pw = powf(b, e);
        inv[i] = 1.0f / pw;
    }
}

/* rotate one section (offset off, width d) with per-pair cos/sin */
TG_HOT static void rot_section(float *v, int64_t off, int64_t d, const float *cs, const float *sn) {
    int64_t m = d / 2;
    float *a = v + off, *b = v + off + m;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
        float x1 = a[j], x2 = b[j];
        a[j] = x1 * cs[j] - x2 * sn[j];
        b[j] = x2 * cs[j] + x1 * sn[j];
    }
}

/* cos/sin tables for positions pos[0..n-1] of a section: [n][d/2] each */
static int angle_table(const float *pos, int64_t n, int64_t d, double base, float *cs, float *sn) {
    int64_t m = d / 2;
    float *tmp = malloc((size_t)(m > 0 ? m : 1) * sizeof *tmp);
    if (!tmp) return -1;
    inv_freq(d, base, tmp);
    for (int64_t k = 0; k < n; k++)
        for (int64_t j = 0; j < m; j++) {
            float th = pos[k] * tmp[j];
            cs[(size_t)k * m + j] = cosf(th);
            sn[(size_t)k * m + j] = sinf(th);
        }
    free(tmp);
    return 0;
}

void tg_strope_rotate(float *v, int64_t D, float t, float h, float w, const tg_strope_params *p) {
    (void)D;
    int64_t secs[3] = {p->sec_t, p->sec_h, p->sec_w};
    float pos[3] = {t, h, w};
    double bases[3] = {p->base_time, p->base_space, p->base_space};
    int64_t off = 0;
    for (int s = 0; s < 3; s++) {
        int64_t m = secs[s] / 2;
        float *cs = malloc((size_t)(m > 0 ? 2 * m : 2) * sizeof *cs);
        if (!cs) return;
        if (angle_table(&pos[s], 1, secs[s], bases[s], cs, cs + m) == 0) rot_section(v, off, secs[s], cs, cs + m);
        free(cs);
        off += secs[s];
    }
}

struct tg_strope_ctx {
    int64_t T, H, W, D, mt, mh, mw, sec_t, sec_h;
    float *ct, *st, *ch, *sh, *cw, *sw; /* [T][mt], [H][mh], [W][mw] cos / sin tables */
    float *mem;
};

tg_strope_ctx *tg_strope_ctx_init(int64_t T, int64_t H, int64_t W, int64_t D, const float *timestamps,
                                  const tg_strope_params *p, char *err, size_t err_len) {
    if (tg_strope_check(p, D, err, err_len)) return NULL;
    tg_strope_ctx *c = calloc(1, sizeof *c);
    int64_t mt = p->sec_t / 2, mh = p->sec_h / 2, mw = p->sec_w / 2;
    size_t nt = (size_t)T * mt, nh = (size_t)H * mh, nw = (size_t)W * mw;
    float *mem = c ? malloc((2 * (nt + nh + nw) + (size_t)(H > W ? H : W) + 1) * sizeof *mem) : NULL;
    if (!mem) {
        free(c);
        tb_set_err(err, err_len, "strope: out of memory");
        return NULL;
    }
    *c = (tg_strope_ctx){T, H, W, D, mt, mh, mw, p->sec_t, p->sec_h, NULL, NULL, NULL, NULL, NULL, NULL, mem};
    c->ct = mem;
    c->st = c->ct + nt;
    c->ch = c->st + nt;
    c->sh = c->ch + nh;
    c->cw = c->sh + nh;
    c->sw = c->cw + nw;
    float *idx = c->sw + nw;
    int bad = angle_table(timestamps, T, p->sec_t, p->base_time, c->ct, c->st);
    for (int64_t i = 0; i < H; i++) idx[i] = (float)i;
    bad |= angle_table(idx, H, p->sec_h, p->base_space, c->ch, c->sh);
    for (int64_t i = 0; i < W; i++) idx[i] = (float)i;
    bad |= angle_table(idx, W, p->sec_w, p->base_space, c->cw, c->sw);
    if (bad) {
        tg_strope_ctx_free(c);
        tb_set_err(err, err_len, "strope: out of memory");
        return NULL;
    }
    return c;
}

void tg_strope_ctx_free(tg_strope_ctx *c) {
    if (!c) return;
    free(c->mem);
    free(c);
}

static void ctx_rotate(const tg_strope_ctx *c, float *o, int64_t f, int64_t l) {
    int64_t r = l / c->W, q = l % c->W;
    rot_section(o, 0, 2 * c->mt, c->ct + (size_t)f * c->mt, c->st + (size_t)f * c->mt);
    rot_section(o, c->sec_t, 2 * c->mh, c->ch + (size_t)r * c->mh, c->sh + (size_t)r * c->mh);
    rot_section(o, c->sec_t + c->sec_h, 2 * c->mw, c->cw + (size_t)q * c->mw, c->sw + (size_t)q * c->mw);
}

void tg_strope_ctx_row(const tg_strope_ctx *c, const float *x, int64_t f, int64_t l, float *out) {
    int64_t D = c->D;
    tg_scale_div(x, tg_norm_clamped(x, D), out, D);
    ctx_rotate(c, out, f, l);
}

int tg_strope_rotate_grid(float *P, int64_t T, int64_t H, int64_t W, int64_t D, const float *timestamps,
                          const tg_strope_params *p, int n_threads, char *err, size_t err_len) {
    tg_strope_ctx *c = tg_strope_ctx_init(T, H, W, D, timestamps, p, err, err_len);
    if (!c) return -1;
    int64_t L = H * W, n = T * L;
#pragma omp parallel for schedule(static) num_threads(tg_nthreads(n_threads)) if (n > 64)
    for (int64_t k = 0; k < n; k++) ctx_rotate(c, P + (size_t)k * D, k / L, k % L);
    tg_strope_ctx_free(c);
    return 0;
}

int tg_strope_apply(const float *x, int64_t T, int64_t H, int64_t W, int64_t D, const float *timestamps,
                    const tg_strope_params *p, int n_threads, float *out, char *err, size_t err_len) {
    if (tg_strope_check(p, D, err, err_len)) return -1;
    tg_l2_normalize(x, T * H * W, D, n_threads, out);
    return tg_strope_rotate_grid(out, T, H, W, D, timestamps, p, n_threads, err, err_len);
}
