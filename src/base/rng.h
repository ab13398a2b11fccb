/* rng.h - per-thread deterministic PRNG (xoshiro256** seeded by splitmix64).
 * The same seed gives the same sequence on every machine.
 * Layer: base. */
#ifndef GH_BASE_RNG_H
#define GH_BASE_RNG_H

#include <stdint.h>

#include "base/compiler.h"

struct gh_rng { uint64_t s[4]; };

GH_INLINE uint64_t gh__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Seeds stream `stream` (a thread index) of run seed `seed`. */
GH_INLINE void gh_rng_seed(struct gh_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03u);
    for (int i = 0; i < 4; i++)
        r->s[i] = gh__splitmix64(&x);
}

GH_INLINE uint64_t gh_rng_next(struct gh_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is below
 * 2^-32 for the ranges scenarios use). */
GH_INLINE uint64_t gh_rng_below(struct gh_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)gh_rng_next(r) * n) >> 64);
}

#endif
