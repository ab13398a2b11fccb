/* rc.h - reference counting for the current flavour (the `rc` axis).
 *
 * One header per value, each complete (`diff rc/atomic.h rc/biased.h`
 * shows what biasing changes):
 *
 *   value    header          an update                           slow paths
 *   plain    rc/plain.h      load, test immortal, store          -
 *   atomic   rc/atomic.h     atomic add / sub (release)          -
 *   biased   rc/biased.h     owner: plain local; others: atomic  rc/brc.c
 *                            shared; merge queues (rc/brc.h)
 *   locked   rc/locked.h     load and store under ob_mutex       rc/locked.c
 *
 * Each defines gh_incref, gh_decref, gh_refcnt, gh_decref_is_zero,
 * gh_refcnt_set, gh_try_incref, gh_rc_weakly_reachable,
 * gh_rc_thread_start/stop (around a thread's use of objects, attached:
 * rc=biased registers it for merges and at the stop merges its queue),
 * gh_rc_bias_add/sub (deferred=on's bias), gh_rc_set_immortal (no other
 * thread updates the count) and gh_rc_make_immortal_live (others may). What
 * every value shares (new references, deferred counting, frame
 * references) is below. The fast paths are static inline; reaching zero
 * calls gh_dealloc, the one out-of-line slow path (rc/dealloc.c), which
 * frees iteratively. docs/strategies.md ("rc") has the design of each.
 *
 * Layer: rc (includes object, base).
 */
#ifndef GH_RC_RC_H
#define GH_RC_RC_H

#ifndef GH_FLAVORED
#error "rc/rc.h is for flavoured code (*.fl.c) only"
#endif

#include "base/atomic.h"
#include "object/object.h"
#include "rc/dealloc.h"

#if defined(GH_FL_RC_PLAIN)
#include "rc/plain.h"
#elif defined(GH_FL_RC_ATOMIC)
#include "rc/atomic.h"
#elif defined(GH_FL_RC_BIASED)
#include "rc/biased.h"
#elif defined(GH_FL_RC_LOCKED)
#include "rc/locked.h"
#else
#error "no rc flavour: define GH_FL_RC_PLAIN, GH_FL_RC_ATOMIC, GH_FL_RC_BIASED or GH_FL_RC_LOCKED"
#endif

/* A new reference: incref and return. */
GH_INLINE gh_object *gh_newref(gh_object *o)
{
    gh_incref(o);
    return o;
}

/* ---- deferred reference counting (deferred=on) ------------------------------
 *
 * Free-threaded CPython's deferred counting (3.14t; PEP 703; Objects/object.c
 * _PyObject_SetDeferredRefcount, Include/internal/pycore_stackref.h). A
 * deferred object (classes, functions, module-level objects; the scenario
 * layer decides which) carries GH_OBFLAG_DEFERRED and GH_DEFERRED_BIAS on
 * top of its counted references. A frame's reference to it (gh_stackref)
 * is a tagged pointer that neither increments nor decrements: threads that
 * all load one class or function into their frames never write its count.
 * Counted references (containers, attributes, an instance's reference to
 * its class) count as before. The bias keeps decrements from reaching
 * zero, so only the collector frees a deferred object: with the world
 * stopped it takes the bias off, adds one per tagged frame reference (the
 * frames are its roots, gh_gc_set_roots), and an object left at zero is
 * garbage; its flag and bias go (gh_rc_deferred_clear_stopped) and it dies
 * as garbage does (gc/collect.fl.c, docs/gc.md).
 */

/* Makes o deferred. o is private to the calling thread (just made, not
 * published yet): no other thread reads its flags or count meanwhile. The
 * full header only (deferred=on requires it). Relaxed: publishing o later
 * (a release store, a lock, thread creation) orders these writes before
 * any other thread's reads. */
GH_INLINE void gh_rc_set_deferred(gh_object *o)
{
    gh_atomic_or_relaxed_u16(&gh_prefix(o)->ob_flags, GH_OBFLAG_DEFERRED);
    gh_rc_bias_add(o);
}

/* The collector, world stopped, for a deferred object it found
 * unreachable: flag and bias removed, so its count is its counted
 * references (the collector's hold among them) and the ordinary path frees
 * it. With the world stopped no other thread updates the count (rc=locked:
 * no count lock is held then, docs/strategies.md). Relaxed: the
 * restart of the world orders these writes before the threads' reads. */
GH_INLINE void gh_rc_deferred_clear_stopped(gh_object *o)
{
    gh_atomic_and_relaxed_u16(&gh_prefix(o)->ob_flags, (uint16_t)~GH_OBFLAG_DEFERRED);
    gh_rc_bias_sub(o);
}

/* o's counted references: gh_refcnt without a deferred object's bias
 * (what getrefcount and the collector read). */
GH_INLINE uint64_t gh_refcnt_counted(gh_object *o)
{
    uint64_t c = gh_refcnt(o);
    return gh_is_deferred(o) && !gh_refcnt_is_immortal(c) ? c - GH_DEFERRED_BIAS : c;
}

/* Frame references (gh_stackref, object/object.h has the format). */

/* A frame reference to o, which the caller holds (borrowed): tagged for a
 * deferred object, an increment otherwise (LOAD_GLOBAL, LOAD_FAST). */
GH_INLINE gh_stackref gh_stackref_new(gh_object *o)
{
    if (gh_is_deferred(o))
        return (gh_stackref)o | GH_STACKREF_DEFERRED;
    gh_incref(o);
    return (gh_stackref)o;
}

/* A frame reference that takes over a counted reference (a result). */
GH_INLINE gh_stackref gh_stackref_steal(gh_object *o) { return (gh_stackref)o; }

/* Drops a frame reference: a decrement unless it was deferred. */
GH_INLINE void gh_stackref_close(gh_stackref r)
{
    if (r && !gh_stackref_is_deferred(r))
        gh_decref((gh_object *)r);
}

#endif
