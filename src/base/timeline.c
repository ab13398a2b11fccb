/* timeline.c - the per-thread event rings (timeline.h). */
#include "base/timeline.h"

#include <stdlib.h>
#include <string.h>

const char *const gh_tl_labels[GH_TL_NKINDS] = {
#define GH_X_(name, slice, label) label,
    GH_TL_KINDS(GH_X_)
#undef GH_X_
};

const bool gh_tl_is_slice[GH_TL_NKINDS] = {
#define GH_X_(name, slice, label) slice,
    GH_TL_KINDS(GH_X_)
#undef GH_X_
};

const char *const gh_tl_gc_phase_names[GH_TL_GC_NPHASES] = {
    "find garbage", "finalizers", "delete garbage",
};

struct gh_tl_buf *gh_tl_new(uint32_t events)
{
    uint32_t cap = 64;
    while (cap < events && cap < (1u << 30))
        cap <<= 1;
    struct gh_tl_buf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->ev = malloc((size_t)cap * sizeof *b->ev);
    if (!b->ev) {
        free(b);
        return NULL;
    }
    /* Touched now, before the run: a page's first write faults (a few us),
     * which inside the measured phase would land in the recorded gaps. */
    memset(b->ev, 0, (size_t)cap * sizeof *b->ev);
    b->cap = cap;
    return b;
}

void gh_tl_free(struct gh_tl_buf *b)
{
    if (!b)
        return;
    free(b->ev);
    free(b);
}

const struct gh_tl_event *gh_tl_at(const struct gh_tl_buf *b, uint64_t i)
{
    uint64_t first = b->written > b->cap ? b->written - b->cap : 0;
    return &b->ev[(first + i) & (b->cap - 1)];
}

void gh_tl_put(struct gh_tl_buf *b, enum gh_tl_kind kind, uint64_t t0, uint64_t t1,
               const void *addr, int32_t arg)
{
    struct gh_tl_event *e = &b->ev[b->written & (b->cap - 1)];
    e->t0 = t0;
    e->dur = t1 > t0 ? t1 - t0 : 0;
    e->addr = addr;
    e->arg = arg;
    e->kind = (uint32_t)kind;
    b->written++;
}
