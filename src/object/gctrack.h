/* gctrack.h - which objects the cyclic collector sees, and when it runs:
 * the part every constructor and dealloc needs (CPython's
 * _PyObject_GC_TRACK in pycore_object.h); the collector is gc/gc.h.
 *
 * A container is tracked at the end of its constructor (gh_gc_track) and
 * untracked when its count reaches zero (rc/dealloc.c) or when the
 * collector proves it holds only atomic objects (tuple, dict).
 *
 *   compact layout (the GIL build): the 16 bytes in front of a GC object
 *   link it into a generation list (CPython's PyGC_Head):
 *
 *       gc_next:  [ next gh_gchead *                          | 0 ]  0 = untracked
 *       gc_prev:  [ prev gh_gchead *  or  gc_refs << 2  | COLL | FIN ]
 *                   bit 0 FINALIZED (__del__ ran), bit 1 COLLECTING (in the
 *                   set being collected; gc_refs in the upper bits)
 *
 *   Lists and counts are protected by the GIL.
 *
 *   full layout (the free-threaded build): no lists. ob_gc_bits holds
 *
 *       bit:   7 6 5     4         3        2           1        0
 *             [ 0 0 0 | ALIVE | FROZEN | UNREACHABLE | TRACKED | FINALIZED ]
 *
 *   and the collector walks the allocator's collector pools
 *   (gh_alloc_visit_gc) with the world stopped; gc_refs lives in ob_tid
 *   during a collection. A bit is written by the thread that builds or
 *   frees the object, by the holder of its critical section (dict
 *   re-tracking), or by the collector with the world stopped.
 *
 * Counting: gen0's count is collector objects allocated minus freed; under
 * the full layout each thread adds its share every GH_GC_LOCAL_COUNT. The
 * allocation that passes the threshold sets GH_EVAL_GC_SCHEDULED on its
 * own thread (docs/gc.md, "Strategies").
 *
 * Layer: object.
 */
#ifndef GH_OBJECT_GCTRACK_H
#define GH_OBJECT_GCTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/compiler.h"
#include "base/tstate.h"
#include "object/object.h"

/* compact: gc_prev's low bits */
#define GH_GC_PREV_FINALIZED  1u
#define GH_GC_PREV_COLLECTING 2u
#define GH_GC_PREV_SHIFT      2
#define GH_GC_PREV_MASK       3u
/* full: ob_gc_bits */
#define GH_GCBIT_TRACKED      2u
#define GH_GCBIT_UNREACHABLE  4u
#define GH_GCBIT_FROZEN       8u
#define GH_GCBIT_ALIVE        16u

#define GH_GC_NGENS        3
#define GH_GC_LOCAL_COUNT  512

/* NOSTOP: the positive control, a collector that does not stop the world. */
enum gh_gc_mode { GH_GC_GENERATIONAL, GH_GC_STW, GH_GC_OFF, GH_GC_NOSTOP, GH_GC_MODE_COUNT };

struct gh_gc_gen {
    struct gh_gchead head;   /* compact: circular list of the generation */
    int64_t threshold;
    int64_t count;           /* gen0: allocations - frees; genN: collections
                                of gen N-1 since gen N's last */
};

/* The collector's shared state. `mode` is set before any thread starts and
 * never changes during a run. Under the GIL every other field is protected
 * by it. Without one: enabled, the thresholds and young_count are relaxed
 * atomics (a schedule decision may use a stale value, as in CPython);
 * long_lived_* and the stats are written only by the collecting thread,
 * which holds the collector's mutex (gc layer). */
struct gh_gcstate {
    enum gh_gc_mode mode;
    int enabled;                   /* gc.enable() / gc.disable() */
    int collecting;                /* a collection is in progress */
    struct gh_gc_gen gens[GH_GC_NGENS];
    struct gh_gchead permanent;    /* compact: gc.freeze()'s generation */
    int64_t young_count;           /* full: flushed allocations - frees */
    int64_t long_lived_total;      /* survivors of the last full collection */
    int64_t long_lived_pending;    /* promoted into gen2 since then */
};
extern struct gh_gcstate gh_gcstate;

/* Resets the state for a run: empty lists, default thresholds (2000, 10,
 * 10), enabled unless mode is off. Before any object exists. */
void gh_gcstate_init(enum gh_gc_mode mode);

GH_INLINE struct gh_gchead *gh_gchead(gh_object *o) { return (struct gh_gchead *)(void *)o - 1; }
GH_INLINE gh_object *gh_gchead_object(struct gh_gchead *g) { return (gh_object *)(void *)(g + 1); }
GH_INLINE struct gh_gchead *gh_gchead_prev(struct gh_gchead *g)
{
    return (struct gh_gchead *)(g->gc_prev & ~(uintptr_t)GH_GC_PREV_MASK);
}

/* compact: appends g to the list headed by head (g unlinked). */
GH_INLINE void gh_gclist_append(struct gh_gchead *head, struct gh_gchead *g)
{
    struct gh_gchead *last = gh_gchead_prev(head);
    last->gc_next = (uintptr_t)g;
    g->gc_prev = (uintptr_t)last | (g->gc_prev & GH_GC_PREV_MASK);
    g->gc_next = (uintptr_t)head;
    head->gc_prev = (uintptr_t)g;
}

GH_INLINE void gh_gclist_unlink(struct gh_gchead *g)
{
    struct gh_gchead *prev = gh_gchead_prev(g);
    struct gh_gchead *next = (struct gh_gchead *)g->gc_next;
    prev->gc_next = (uintptr_t)next;
    next->gc_prev = (uintptr_t)prev | (next->gc_prev & GH_GC_PREV_MASK);
    g->gc_next = 0;
    g->gc_prev &= GH_GC_PREV_MASK;
}

GH_INLINE void gh_gclist_init(struct gh_gchead *head)
{
    head->gc_next = head->gc_prev = (uintptr_t)head;
}

GH_INLINE bool gh_gclist_empty(struct gh_gchead *head) { return head->gc_next == (uintptr_t)head; }

/* Moves every object of `from` to the end of `to`. */
GH_INLINE void gh_gclist_merge(struct gh_gchead *from, struct gh_gchead *to)
{
    if (gh_gclist_empty(from))
        return;
    struct gh_gchead *to_last = gh_gchead_prev(to);
    struct gh_gchead *first = (struct gh_gchead *)from->gc_next;
    struct gh_gchead *last = gh_gchead_prev(from);
    to_last->gc_next = (uintptr_t)first;
    first->gc_prev = (uintptr_t)to_last | (first->gc_prev & GH_GC_PREV_MASK);
    last->gc_next = (uintptr_t)to;
    to->gc_prev = (uintptr_t)last;
    gh_gclist_init(from);
}

/* The full layout's bits, plain: see the header comment for who writes. */
GH_INLINE uint8_t *gh_gcbits_ptr(gh_object *o) { return &gh_prefix(o)->ob_gc_bits; }

/* Only for objects of GC types (gh_is_gc). */
GH_INLINE bool gh_gc_is_tracked(gh_object *o)
{
    if (gh_model.full_header)
        return *gh_gcbits_ptr(o) & GH_GCBIT_TRACKED;
    return gh_gchead(o)->gc_next != 0;
}

/* Adds a built object of a GC type to the youngest generation. */
GH_INLINE void gh_gc_track(gh_object *o)
{
    if (gh_model.full_header) {
        *gh_gcbits_ptr(o) |= GH_GCBIT_TRACKED;
        return;
    }
    struct gh_gchead *g = gh_gchead(o);
    if (g->gc_next == 0)
        gh_gclist_append(&gh_gcstate.gens[0].head, g);
}

/* Removes o from the collector's view (idempotent). */
GH_INLINE void gh_gc_untrack(gh_object *o)
{
    if (gh_model.full_header) {
        *gh_gcbits_ptr(o) &= (uint8_t)~GH_GCBIT_TRACKED;
        return;
    }
    struct gh_gchead *g = gh_gchead(o);
    if (g->gc_next != 0)
        gh_gclist_unlink(g);
}

/* CPython's _PyObject_GC_MAY_BE_TRACKED: whether o could be part of a
 * cycle, so a dict holding it must be tracked. */
GH_INLINE bool gh_gc_may_be_tracked(gh_object *o)
{
    if (!gh_is_gc(o))
        return false;
    if (o->ob_type->kind == GH_KIND_TUPLE)
        return gh_gc_is_tracked(o);
    return true;
}

GH_NOINLINE void gh_gc_count_flush_slow(struct gh_tstate *ts);
GH_NOINLINE void gh_gc_schedule_check_slow(struct gh_tstate *ts, int64_t count);

/* A collector object was allocated (+1) or freed (-1). */
GH_INLINE void gh_gc_count(int delta)
{
    if (gh_model.full_header) {
        struct gh_tstate *ts = gh_tstate_get();
        if (GH_UNLIKELY(!ts))
            return;
        ts->gc_alloc_count += delta;
        if (GH_UNLIKELY(ts->gc_alloc_count >= GH_GC_LOCAL_COUNT ||
                        ts->gc_alloc_count <= -GH_GC_LOCAL_COUNT))
            gh_gc_count_flush_slow(ts);
        return;
    }
    int64_t c = gh_gcstate.gens[0].count + delta;
    if (c < 0)
        c = 0; /* CPython's gc_dealloc stops at zero too */
    gh_gcstate.gens[0].count = c;
    /* Under the GIL (the compact layout) plain reads: enabled and the
     * threshold change only under it. */
    if (GH_UNLIKELY(delta > 0 && c > gh_gcstate.gens[0].threshold) && gh_gcstate.enabled &&
        gh_tstate_get())
        gh_gc_schedule_check_slow(gh_tstate_get(), c);
}

#endif
