/* hist.h - log-linear latency histogram (nanoseconds).
 *
 * Values below 16 ns get a bucket each; above, every power of two is split
 * into 16 sub-buckets, so a bucket's width is at most 1/16 of its lower
 * bound (6.25% relative error on a reported percentile). 64-bit values fit
 * in GH_HIST_BUCKETS buckets. Written by one thread, merged after join.
 *
 * Layer: base.
 */
#ifndef GH_BASE_HIST_H
#define GH_BASE_HIST_H

#include <stdint.h>

#include "base/compiler.h"

#define GH_HIST_SUB_BITS 4
#define GH_HIST_SUB      (1u << GH_HIST_SUB_BITS)
#define GH_HIST_BUCKETS  (GH_HIST_SUB * (64 - GH_HIST_SUB_BITS + 1))

struct gh_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t max;
    uint64_t buckets[GH_HIST_BUCKETS];
};

GH_INLINE unsigned gh_hist_bucket(uint64_t v)
{
    if (v < GH_HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);        /* >= SUB_BITS */
    unsigned sub = (unsigned)(v >> (msb - GH_HIST_SUB_BITS)) & (GH_HIST_SUB - 1);
    return (msb - GH_HIST_SUB_BITS + 1) * GH_HIST_SUB + sub;
}

GH_INLINE void gh_hist_add(struct gh_hist *h, uint64_t v)
{
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
    h->buckets[gh_hist_bucket(v)]++;
}

/* Lower bound of bucket b. */
uint64_t gh_hist_bucket_low(unsigned b);
void gh_hist_merge(struct gh_hist *into, const struct gh_hist *from);
/* The value at quantile q in [0,1]: the upper bound of the bucket holding
 * it, capped at max. 0 for an empty histogram. */
uint64_t gh_hist_quantile(const struct gh_hist *h, double q);

#endif
