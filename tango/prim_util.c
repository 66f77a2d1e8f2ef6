/* prim_util.c - small helpers shared by the pruning methods: the seeded generator, fp16
 * rounding, Python's round and a stable top-k. Deliberately tiny and dependency-free. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tango/primitives.h"
#include "common/rng.h"

/* ===== seeded generator: splitmix64 seeding, xoshiro256** stream ===== */

void tg_rng_seed(tg_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = tb_splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(tg_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

float tg_rng_uniform(tg_rng *rng) {
    /* 24 high bits -> exact float in [0, 1) */
    return (float)(xoshiro_next(rng) >> 40) * (1.0f / 16777216.0f);
}

/* ===== fp16 rounding ===== */

float tg_fp16_round(float x) {
    if (!isfinite(x) || x == 0.0f) return x;
    float ax = fabsf(x);
    if (ax >= 65520.0f) return copysignf(INFINITY, x); /* rounds past the largest half, 65504 */
    int e;
    frexpf(ax, &e); /* ax = m * 2^e, m in [0.5, 1) */
    /* half has 11 significant bits for normals (exponent >= -14, i.e. e >= -13); subnormals have
     * a fixed quantum of 2^-24 */
    int q = (e >= -13) ? e - 11 : -24;
    float scaled = ldexpf(ax, -q);        /* exact: a power-of-two scaling */
    float r = nearbyintf(scaled);         /* default rounding mode: half to even */
    return copysignf(ldexpf(r, q), x);
}

float tg_bf16_round(float x) {
    if (isnan(x)) return x;
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u); /* half to even; a carry into the exponent is the right result */
    u &= 0xffff0000u;
    float r;
    memcpy(&r, &u, sizeof r);
    return r;
}

float tg_round_to(tg_round r, float x) {
    return r == TG_ROUND_FP16 ? tg_fp16_round(x) : r == TG_ROUND_BF16 ? tg_bf16_round(x) : x;
}

const char *tg_round_name(tg_round r) { return r == TG_ROUND_FP16 ? "fp16" : r == TG_ROUND_BF16 ? "bf16" : "fp32"; }

/* ===== stable top-k ===== */

typedef struct {
    float v;
    int64_t i;
} vi_pair;

static int cmp_desc(const void *a, const void *b) {
    const vi_pair *x = a, *y = b;
    if (x->v > y->v) return -1;
    if (x->v < y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

int tg_topk_desc(const float *v, int64_t n, int64_t k, int64_t *idx) {
    if (k < 0 || k > n) return -1;
    if (k == 0) return 0;
    vi_pair stack[256];
    vi_pair *p = n <= 256 ? stack : malloc((size_t)n * sizeof *p);
    if (!p) return -1;
    for (int64_t i = 0; i < n; i++) {
        /* NaN never reaches here from checked inputs; order it last to stay total */
        p[i].v = isnan(v[i]) ? -INFINITY : v[i];
        p[i].i = i;
    }
    qsort(p, (size_t)n, sizeof *p, cmp_desc);
    for (int64_t j = 0; j < k; j++) idx[j] = p[j].i;
    if (p != stack) free(p);
    return 0;
}
