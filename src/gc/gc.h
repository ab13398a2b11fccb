/* gc.h - the cyclic garbage collector and the `gc` module's interface.
 *
 * Trial deletion (CPython's Modules/gcmodule.c, Python/gc_free_threading.c):
 * copy each candidate's count into gc_refs, subtract the references found
 * inside the set; what no positive remainder reaches is garbage.
 *
 *   gc=generational  three generations (2000, 10, 10), the compact
 *                    layout's lists; needs the GIL
 *   gc=stw           the whole heap each time; without a GIL the world is
 *                    stopped (twice when finalizers ran); under the GIL the
 *                    lists serve and the GIL is the stop
 *   gc=off           no cyclic collection: gc.collect() finds nothing
 *   gc=nostop        gc=stw without stopping the world: the unsafe positive
 *                    control (objlock with rc=atomic/locked, or sync=none)
 *
 * The algorithm, the order of destruction, the pauses and the measured
 * costs: docs/gc.md.
 *
 * Layer: gc (includes containers and below).
 */
#ifndef GH_GC_GC_H
#define GH_GC_GC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/hist.h"
#include "object/gctrack.h"

/* gc.DEBUG_SAVEALL: garbage goes to gc.garbage instead of being freed. */
#define GH_GC_DEBUG_SAVEALL 32u

/* Per generation, as gc.get_stats(). */
struct gh_gc_genstats {
    uint64_t collections;
    uint64_t collected;      /* freed (resurrected objects excluded) */
    uint64_t uncollectable;  /* set aside for gc.garbage (legacy finalizers) */
};

/* What the collector did during a run. Written by the collecting thread
 * (one at a time: the GIL or the collector's mutex); read when no
 * collection runs (after the workers are joined, or by the collecting
 * thread itself). */
struct gh_gc_stats {
    struct gh_gc_genstats gen[GH_GC_NGENS];
    uint64_t examined;       /* objects in the collected sets */
    uint64_t unreachable;    /* found unreachable (collect()'s result) */
    uint64_t collected;      /* freed */
    uint64_t finalized;      /* __del__ calls made by the collector */
    uint64_t resurrected;    /* unreachable, then referenced again by a finalizer */
    uint64_t uncollectable;  /* legacy finalizers and what they reach */
    uint64_t untracked_tuples, untracked_dicts;
    uint64_t weakrefs_cleared, weakref_callbacks;
    uint64_t collect_ns;     /* total time in collections */
    struct gh_hist pause;    /* each stop (without a GIL: one per collection,
                                two when finalizers or callbacks ran; time to
                                safepoint included); under the GIL one per
                                collection, its whole duration */
    struct gh_hist tts;      /* time to safepoint of each stop (no GIL only) */
    /* gc=nostop only (docs/gc.md, "gc=nostop"): */
    uint64_t nostop_live_collected; /* found unreachable and cleared, yet still
                                       referenced from outside the garbage */
    uint64_t nostop_freed_met;      /* set members a mutator freed during the scan */
    uint64_t nostop_abandoned;      /* collections abandoned after a fault */
};
extern struct gh_gc_stats gh_gc_stats;

/* gc.callbacks: called at the start and the end of every collection by the
 * collecting thread ("start"/"stop", and CPython's info dict fields). */
struct gh_gc_info {
    int generation;
    int64_t collected;       /* at "stop": found unreachable and freed */
    int64_t uncollectable;
};
typedef void (*gh_gc_callback_fn)(const char *phase, const struct gh_gc_info *info, void *arg);
#define GH_GC_MAX_CALLBACKS 8
/* 0, or -1 when the table is full. Between runs or from one thread. */
int gh_gc_callback_add(gh_gc_callback_fn fn, void *arg);
void gh_gc_callback_remove(gh_gc_callback_fn fn, void *arg);

/* gc=nostop's test hook: called by the collecting thread once per
 * collection, after the counts are taken and the internal references
 * subtracted and before the scan, so that a single-threaded test can move
 * a reference where a mutator would (tests/gc/test_nostop.fl.c). NULL fn:
 * none. Set between runs. */
struct gh_gc_scan_hook {
    void (*fn)(void *arg);
    void *arg;
};
extern struct gh_gc_scan_hook gh__gc_scan_hook;
void gh_gc_set_scan_hook(void (*fn)(void *arg), void *arg);

/* A run's collector: mode and defaults (gh_gcstate_init), stats reset,
 * no root visitor. */
void gh_gc_init(enum gh_gc_mode mode);

/* deferred=on (rc/rc.h): the references the collector cannot see in any
 * count, the frames' tagged references to deferred objects, come from the
 * layer that owns the frames (scenario), which registers a visitor here:
 * the collector calls fn(visit, visit_arg, ctx) with the world stopped,
 * and fn calls visit once per tagged frame reference (free-threaded
 * CPython's gc_visit_thread_stacks). Set between runs or from the only
 * thread; NULL: no frames. The collector calls it only under deferred=on
 * with the full header (gc=stw, docs/gc.md). */
typedef void (*gh_gc_roots_fn)(gh_visitproc visit, void *visit_arg, void *ctx);
void gh_gc_set_roots(gh_gc_roots_fn fn, void *ctx);

/* gc.enable() / disable() / isenabled(). */
void gh_gc_enable(void);
void gh_gc_disable(void);
bool gh_gc_isenabled(void);
/* gc.set_threshold(t0, t1, t2) / get_threshold(). */
void gh_gc_set_threshold(int64_t t0, int64_t t1, int64_t t2);
void gh_gc_get_threshold(int64_t out[GH_GC_NGENS]);
/* gc.get_count(): gen0's allocations minus frees, and the two collection
 * counts (the full layout buffers up to GH_GC_LOCAL_COUNT per thread). */
void gh_gc_get_count(int64_t out[GH_GC_NGENS]);
/* gc.get_stats() */
void gh_gc_get_stats(struct gh_gc_genstats out[GH_GC_NGENS]);
/* gc.set_debug() / get_debug() */
void gh_gc_set_debug(unsigned flags);
unsigned gh_gc_get_debug(void);
/* gc.is_tracked(o) */
GH_INLINE bool gh_gc_object_is_tracked(gh_object *o) { return gh_is_gc(o) && gh_gc_is_tracked(o); }

#if defined(GH_FLAVORED)
#include "containers/containers.h"

/* gc.collect(generation): the number of objects found unreachable (freed,
 * resurrected or uncollectable), 0 under gc=off or when called from a
 * finalizer of a running collection. generation 0..2; under gc=stw every
 * collection is of the whole heap. */
int64_t GH_FL(gh_gc_collect)(struct gh_tstate *ts, int generation);

/* The collection a switch point found scheduled (GH_EVAL_GC_SCHEDULED):
 * the oldest generation over its threshold (generational), the heap (stw). */
GH_NOINLINE void GH_FL(gh_gc_collect_scheduled)(struct gh_tstate *ts);

/* Every eval_breaker bit a switch point acts on. */
#if defined(GH_FL_RC_BIASED)
#define GH_SWITCH_EVAL_BITS (GH_SYNC_EVAL_BITS | GH_EVAL_BRC_MERGE | GH_EVAL_GC_SCHEDULED)
#else
#define GH_SWITCH_EVAL_BITS (GH_SYNC_EVAL_BITS | GH_EVAL_GC_SCHEDULED)
#endif

/* A switch point once some bit of GH_SWITCH_EVAL_BITS was seen: the sync
 * axis's request (GIL drop, stop the world), rc=biased's merge, then a
 * scheduled collection, each bit read again. */
GH_NOINLINE void GH_FL(gh_switch_point_slow)(struct gh_tstate *ts);

/* A switch point: the sync axis's (gil-ticks' tick, QSBR's quiescent
 * state; a GIL drop request, a stop-the-world request), rc=biased's
 * merge, then a scheduled collection. The requests are bits of the
 * thread's eval_breaker, tested with one load (as CPython's eval breaker
 * is); what they ask for is done out of line. */
GH_INLINE void gh_switch_point(struct gh_tstate *ts)
{
    gh_sync_checkpoint_counted(ts);
    if (GH_UNLIKELY(gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_SWITCH_EVAL_BITS))
        gh_switch_point_slow(ts);
}

/* gc=nostop: a thread about to really free what its quarantine held
 * (gh_quarantine_flush, when it leaves a run) first waits until no
 * collection runs and keeps any from starting until gh_gc_exclude_end: a
 * collection in progress may still have those objects in its set, and the
 * quarantine is what keeps its reads of them in memory that is still
 * theirs. A collection that starts afterwards never gathers them (they
 * were poisoned untracked). Nothing under the other modes. */
void GH_FL(gh_gc_exclude_begin)(struct gh_tstate *ts);
void GH_FL(gh_gc_exclude_end)(struct gh_tstate *ts);

/* gc.garbage (borrowed; made on first use). */
gh_object *GH_FL(gh_gc_garbage)(void);
/* gc.get_objects(generation): a new list; generation -1 for all. */
gh_object *GH_FL(gh_gc_get_objects)(struct gh_tstate *ts, int generation);
/* gc.get_referrers(*objs) / gc.get_referents(*objs): new lists. */
gh_object *GH_FL(gh_gc_get_referrers)(struct gh_tstate *ts, gh_object *const *objs, int n);
gh_object *GH_FL(gh_gc_get_referents)(struct gh_tstate *ts, gh_object *const *objs, int n);
/* gc.freeze() / unfreeze() / get_freeze_count() */
void GH_FL(gh_gc_freeze)(struct gh_tstate *ts);
void GH_FL(gh_gc_unfreeze)(struct gh_tstate *ts);
int64_t GH_FL(gh_gc_get_freeze_count)(struct gh_tstate *ts);

/* The reference graph from root, breadth first, max_depth edges deep, in
 * Graphviz DOT (objgraph's show_refs): one node per object labelled with
 * its type and reference count, one edge per reference. Returns the number
 * of nodes written. */
int64_t GH_FL(gh_gc_write_dot)(struct gh_tstate *ts, FILE *out, gh_object *root, int max_depth);

/* After a run, its globals released (one thread): a last collection, as
 * CPython's finalisation makes; then gc.garbage is emptied, each object
 * cleared (tp_clear) so its cycle is freed instead of leaking, and
 * released. Returns how many objects gc.garbage held (CPython warns of
 * them at exit). */
int64_t GH_FL(gh_gc_fini)(void);
#endif

#endif
