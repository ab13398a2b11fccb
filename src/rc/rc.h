/* rc.h - reference counting for the current flavour (the `rc` axis).
 *
 *   rc=plain   load, test the immortal bit, store: a non-atomic update that
 *              is correct only while something else (the GIL) serialises
 *              every thread's updates.
 *   rc=atomic  atomic read-modify-write on the one count (Gilectomy). The
 *              immortal test comes first, so immortal objects are never
 *              written and their cache line is never contended.
 *
 * The fast paths are static inline; reaching zero calls gh_dealloc, the one
 * out-of-line slow path (rc/dealloc.c), which frees iteratively.
 *
 * Memory ordering (rc=atomic), the usual refcount argument: increments are
 * relaxed (a thread can only increment an object it already holds a
 * reference to, so the increment publishes nothing); decrements are
 * release, and the thread that takes the count to zero issues an acquire
 * fence before deallocating, so every other thread's last use of the object
 * (before its release decrement) happens-before the free.
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

GH_INLINE void gh_incref(gh_object *o)
{
    uint64_t c = o->ob_refcnt;
    if (GH_UNLIKELY(gh_refcnt_is_immortal(c)))
        return;
    o->ob_refcnt = c + 1;
}

GH_INLINE void gh_decref(gh_object *o)
{
    uint64_t c = o->ob_refcnt;
    if (GH_UNLIKELY(gh_refcnt_is_immortal(c)))
        return;
    o->ob_refcnt = --c; /* stored even at zero: a dead object reads as dead */
    if (c == 0)
        gh_dealloc(o);
}

GH_INLINE uint64_t gh_refcnt(gh_object *o) { return o->ob_refcnt; }

#elif defined(GH_FL_RC_ATOMIC)

GH_INLINE void gh_incref(gh_object *o)
{
    if (GH_UNLIKELY(gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt))))
        return;
    gh_atomic_add_relaxed_u64(&o->ob_refcnt, 1);
}

GH_INLINE void gh_decref(gh_object *o)
{
    if (GH_UNLIKELY(gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt))))
        return;
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

#else
#error "no rc flavour: define GH_FL_RC_PLAIN or GH_FL_RC_ATOMIC"
#endif

/* Drops a reference without deallocating: true when the count reached zero
 * (the caller then owns the dead object), false when it stayed positive.
 * For a dealloc that lent a temporary reference to a finalizer. */
GH_INLINE bool gh_decref_is_zero(gh_object *o)
{
#if defined(GH_FL_RC_PLAIN)
    return --o->ob_refcnt == 0;
#else
    /* Acq_rel: as gh_decref, the zero-taker must see every other thread's
     * last use of the object. */
    return gh_atomic_sub_acqrel_u64(&o->ob_refcnt, 1) == 1;
#endif
}

/* Sets the count of an object no other thread holds a counted reference
 * to (a dealloc lending a temporary reference to a finalizer). Atomic under
 * rc=atomic: a weak-reference holder may test the count concurrently. */
GH_INLINE void gh_refcnt_set(gh_object *o, uint64_t v)
{
#if defined(GH_FL_RC_PLAIN)
    o->ob_refcnt = v;
#else
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, v);
#endif
}

/* Takes a new reference unless the count is zero (the object is being
 * deallocated): CPython's _Py_TryIncref, for references that are not
 * counted (weak references). */
GH_INLINE bool gh_try_incref(gh_object *o)
{
#if defined(GH_FL_RC_PLAIN)
    uint64_t c = o->ob_refcnt;
    if (gh_refcnt_is_immortal(c))
        return true;
    if (c == 0)
        return false;
    o->ob_refcnt = c + 1;
    return true;
#else
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
#endif
}

/* A new reference: incref and return. */
GH_INLINE gh_object *gh_newref(gh_object *o)
{
    gh_incref(o);
    return o;
}

#endif
