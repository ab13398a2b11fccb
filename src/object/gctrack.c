/* gctrack.c - the collector's shared state and its scheduling slow paths
 * (see gctrack.h). */
#include "object/gctrack.h"

#include <string.h>

struct gh_gcstate gh_gcstate;

void gh_gcstate_init(enum gh_gc_mode mode)
{
    memset(&gh_gcstate, 0, sizeof gh_gcstate);
    gh_gcstate.mode = mode;
    gh_gcstate.enabled = mode != GH_GC_OFF;
    static const int64_t thresholds[GH_GC_NGENS] = {2000, 10, 10};
    for (int i = 0; i < GH_GC_NGENS; i++) {
        gh_gclist_init(&gh_gcstate.gens[i].head);
        gh_gcstate.gens[i].threshold = thresholds[i];
    }
    gh_gclist_init(&gh_gcstate.permanent);
}

/* Whether a young count of `count` calls for a collection now. Generational
 * (CPython 3.12's _PyObject_GC_Link): over gen0's threshold. Stop-the-world
 * (gc_free_threading.c's gc_should_collect): also over a quarter of what
 * survived the last collection, so a growing heap is not rescanned
 * quadratically. Relaxed loads: a decision on a stale value only moves a
 * collection by a few allocations. */
static bool should_collect(int64_t count)
{
    struct gh_gcstate *s = &gh_gcstate;
    int64_t threshold = gh_atomic_load_relaxed_i64(&s->gens[0].threshold);
    if (s->mode == GH_GC_OFF || threshold == 0 || count <= threshold ||
        !gh_atomic_load_relaxed_int(&s->enabled) || gh_atomic_load_relaxed_int(&s->collecting))
        return false;
    if ((s->mode == GH_GC_STW || s->mode == GH_GC_NOSTOP) && count <= gh_atomic_load_relaxed_i64(&s->long_lived_total) / 4)
        return false;
    return true;
}

void gh_gc_schedule_check_slow(struct gh_tstate *ts, int64_t count)
{
    /* Seq_cst as every eval_breaker RMW (base/tstate.h); pairs with
     * nothing: the bit only asks, the collection runs under collect_mutex
     * or the GIL. */
    if (should_collect(count) &&
        !(gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GC_SCHEDULED))
        gh_atomic_or_seqcst_u32(&ts->eval_breaker, GH_EVAL_GC_SCHEDULED);
}

void gh_gc_count_flush_slow(struct gh_tstate *ts)
{
    int64_t delta = ts->gc_alloc_count;
    ts->gc_alloc_count = 0;
    /* Relaxed: a statistic that orders nothing. */
    int64_t c = gh_atomic_add_relaxed_i64(&gh_gcstate.young_count, delta) + delta;
    if (delta > 0)
        gh_gc_schedule_check_slow(ts, c);
}
