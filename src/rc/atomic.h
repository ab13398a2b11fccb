/* atomic.h - rc=atomic: one atomic read-modify-write on the one count (the
 * Gilectomy's scheme). The immortal test comes first, so immortal objects
 * are never written and their cache line is never contended.
 *
 * Ordering, the usual refcount argument: increments are relaxed (a thread
 * can only increment an object it already holds a reference to, so the
 * increment publishes nothing); decrements are release, and the thread
 * that takes the count to zero issues an acquire fence before
 * deallocating, so every other thread's last use of the object (before its
 * release decrement) happens-before the free.
 *
 * Included by rc/rc.h only, for the rc=atomic flavour.
 *
 * Layer: rc.
 */
#ifndef GH_RC_ATOMIC_H
#define GH_RC_ATOMIC_H

#ifndef GH_FL_RC_ATOMIC
#error "rc/atomic.h is rc=atomic's: include rc/rc.h"
#endif

/* The value's name, for tables keyed by it (GH_RC_ATOMIC in the scenario
 * layer's enum). */
#define GH_FL_RC_NAME ATOMIC

#include "base/atomic.h"
#include "base/inject.h"
#include "object/object.h"
#include "rc/dealloc.h"

GH_INLINE void gh_incref(gh_object *o)
{
    if (GH_UNLIKELY(gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt))))
        return;
    GH_INJECT(RC_UPDATE); /* before the update: an atomic one has no window */
    gh_atomic_add_relaxed_u64(&o->ob_refcnt, 1);
}

GH_INLINE void gh_decref(gh_object *o)
{
    if (GH_UNLIKELY(gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt))))
        return;
    GH_INJECT(RC_UPDATE);
#if GH_TSAN
    /* ThreadSanitizer does not model fences: the same ordering as below,
     * with the acquire folded into the decrement itself. */
    if (gh_atomic_sub_acqrel_u64(&o->ob_refcnt, 1) == 1)
        gh_dealloc(o);
#else
    /* Release: pairs with the acquire fence below in whichever thread
     * takes the count to zero. */
    if (gh_atomic_sub_release_u64(&o->ob_refcnt, 1) == 1) {
        gh_atomic_fence_acquire(); /* pairs with the releases above */
        gh_dealloc(o);
    }
#endif
}

GH_INLINE uint64_t gh_refcnt(gh_object *o) { return gh_atomic_load_relaxed_u64(&o->ob_refcnt); }

/* Drops a reference without deallocating: true when the count reached zero
 * (the caller then owns the dead object). Acq_rel: as gh_decref, the
 * zero-taker must see every other thread's last use of the object. */
GH_INLINE bool gh_decref_is_zero(gh_object *o)
{
    return gh_atomic_sub_acqrel_u64(&o->ob_refcnt, 1) == 1;
}

/* Sets the count of an object no other thread holds a counted reference
 * to. Atomic: a weak-reference holder may test the count concurrently. */
GH_INLINE void gh_refcnt_set(gh_object *o, uint64_t v)
{
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, v);
}

/* Takes a new reference unless the count is zero (CPython's
 * _Py_TryIncref). */
GH_INLINE bool gh_try_incref(gh_object *o)
{
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    do {
        if (gh_refcnt_is_immortal(c))
            return true;
        if (c == 0)
            return false;
        /* Relaxed: as gh_incref. A successful CAS reads from the release
         * sequence of the count's decrements, so nothing freed is revived
         * (zero is refused above). */
    } while (!gh_atomic_cas_relaxed_u64(&o->ob_refcnt, &c, c + 1));
    return true;
}

/* A weak reference to o is being made: nothing to do. */
GH_INLINE void gh_rc_weakly_reachable(gh_object *o) { (void)o; }

/* The thread starts or stops using objects (rc/rc.h): nothing to do. */
GH_INLINE void gh_rc_thread_start(struct gh_tstate *ts) { (void)ts; }
GH_INLINE void gh_rc_thread_stop(struct gh_tstate *ts) { (void)ts; }

/* deferred=on's bias (rc/rc.h gh_rc_set_deferred): o is private to the
 * caller; atomic only as every count store is. */
GH_INLINE void gh_rc_bias_add(gh_object *o)
{
    gh_atomic_add_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS);
}
/* The collector, world stopped: the bias comes off. */
GH_INLINE void gh_rc_bias_sub(gh_object *o)
{
    gh_atomic_sub_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS);
}

/* Makes o immortal (3.13t's _Py_SetImmortal). No other thread may update
 * o's count meanwhile (o is private, or no other thread exists yet);
 * relaxed: thread creation or o's publication orders the writes. */
GH_INLINE void gh_rc_set_immortal(gh_object *o)
{
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, GH_IMMORTAL_REFCNT);
}

/* Makes o immortal while other holders may be incrementing or decrementing
 * its count (interning). Relaxed is enough and no update can undo it: the
 * immortal value sits far from both ends of the sign-bit range
 * (object/object.h), so a racing add or subtract leaves the count
 * immortal, and no racer can reach zero because the caller holds a
 * reference. */
GH_INLINE void gh_rc_make_immortal_live(gh_object *o)
{
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, GH_IMMORTAL_REFCNT);
}

#endif
