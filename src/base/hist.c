/* hist.c - see hist.h. */
#include "base/hist.h"

uint64_t gh_hist_bucket_low(unsigned b)
{
    if (b < GH_HIST_SUB)
        return b;
    unsigned group = b / GH_HIST_SUB;            /* >= 1 */
    unsigned sub = b % GH_HIST_SUB;
    unsigned msb = group + GH_HIST_SUB_BITS - 1;
    return ((uint64_t)1 << msb) | ((uint64_t)sub << (msb - GH_HIST_SUB_BITS));
}

void gh_hist_merge(struct gh_hist *into, const struct gh_hist *from)
{
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
    for (unsigned i = 0; i < GH_HIST_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
}

uint64_t gh_hist_quantile(const struct gh_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < GH_HIST_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen > rank) {
            uint64_t hi = b + 1 < GH_HIST_BUCKETS ? gh_hist_bucket_low(b + 1) - 1 : UINT64_MAX;
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}
