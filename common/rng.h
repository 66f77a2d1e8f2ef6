/* rng.h - the seeded generator of the whole project: splitmix64 (Steele, Lea and Flood 2014).
 * Small, seedable and identical on every platform, so every random draw (synthetic data, random
 * test weights, bootstrap resamples, pruner jitter seeding) is reproducible from its seed.
 *
 * Usage:
 *     tb_rng r;
 *     tb_rng_seed(&r, 1234);
 *     uint64_t x = tb_rng_next(&r);         // full 64 bits
 *     uint64_t k = tb_rng_below(&r, 10);    // uniform in [0, 10), no modulo bias
 *     double u = tb_rng_unit(&r);           // uniform in [0, 1), 53 bits
 */
#ifndef TB_RNG_H
#define TB_RNG_H

#include <stdint.h>

/* One splitmix64 step: advances *state by the golden-ratio increment and returns the mixed
 * value. Callers that keep a bare uint64_t state use this directly. */
/* splitmix64's output function: a bijective 64-bit mixer. Alone, it turns a counter into a
 * stateless random stream (value i = tb_mix64(key + i * odd constant)). */
static inline uint64_t tb_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t tb_splitmix64(uint64_t *state) { return tb_mix64(*state += 0x9E3779B97F4A7C15ull); }

typedef struct {
    uint64_t s; /* splitmix64 state */
} tb_rng;

void tb_rng_seed(tb_rng *r, uint64_t seed);
uint64_t tb_rng_next(tb_rng *r);
/* Uniform integer in [0, n), n > 0 (rejection sampling, no modulo bias). */
uint64_t tb_rng_below(tb_rng *r, uint64_t n);
/* Uniform double in [0, 1) from the top 53 bits. */
double tb_rng_unit(tb_rng *r);

#endif
