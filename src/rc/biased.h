/* biased.h - rc=biased: free-threaded CPython's biased reference counting
 * (PEP 703; Include/refcount.h's Py_INCREF and Py_DECREF under
 * Py_GIL_DISABLED). The owner thread counts in its plain local count;
 * everyone else in the atomic shared count; a shared count that would go
 * below zero queues the object for its owner to merge. The header's
 * fields, their states and the merge protocol are in rc/brc.h; the slow
 * paths in rc/brc.c. Needs the full header.
 *
 * Included by rc/rc.h only, for the rc=biased flavour.
 *
 * Layer: rc.
 */
#ifndef GH_RC_BIASED_H
#define GH_RC_BIASED_H

#ifndef GH_FL_RC_BIASED
#error "rc/biased.h is rc=biased's: include rc/rc.h"
#endif

/* The value's name, for tables keyed by it (GH_RC_BIASED in the scenario
 * layer's enum). */
#define GH_FL_RC_NAME BIASED

#include "base/atomic.h"
#include "base/inject.h"
#include "base/qsbr.h"
#include "object/object.h"
#include "rc/brc.h"
#include "rc/dealloc.h"

GH_INLINE void gh_incref(gh_object *o)
{
    uint32_t local = gh_brc_local(o);
    if (GH_UNLIKELY(local == GH_REF_LOCAL_IMMORTAL))
        return;
    /* The owner's window between its load and its store of the local
     * count; a non-owner's atomic add has none. */
    GH_INJECT_AT(RC_UPDATE, local);
    if (GH_LIKELY(gh_brc_tid(o) == gh_brc_me()))
        gh_atomic_store_relaxed_u32(&gh_prefix(o)->ob_ref_local, local + 1);
    else
        gh_atomic_add_relaxed_u64(&o->ob_refcnt, UINT64_C(1) << GH_REF_SHARED_SHIFT);
}

GH_INLINE void gh_decref(gh_object *o)
{
    uint32_t local = gh_brc_local(o);
    if (GH_UNLIKELY(local == GH_REF_LOCAL_IMMORTAL))
        return;
    GH_INJECT_AT(RC_UPDATE, local);
    if (GH_LIKELY(gh_brc_tid(o) == gh_brc_me())) {
        gh_atomic_store_relaxed_u32(&gh_prefix(o)->ob_ref_local, --local);
        if (local == 0)
            gh_brc_merge_zero_local(o);
    } else {
        gh_brc_decref_shared(o);
    }
}

GH_INLINE uint64_t gh_refcnt(gh_object *o) { return gh_brc_refcnt(o); }

/* Drops a reference without deallocating: true when the count reached zero
 * (the caller then owns the dead object). */
GH_INLINE bool gh_decref_is_zero(gh_object *o) { return gh_brc_decref_is_zero(o); }

/* Sets the count of an object no other thread holds a counted reference
 * to. */
GH_INLINE void gh_refcnt_set(gh_object *o, uint64_t v) { gh_brc_refcnt_set(o, v); }

/* Takes a new reference unless the object is dead (CPython's
 * _Py_TryIncref). */
GH_INLINE bool gh_try_incref(gh_object *o) { return gh_brc_try_incref(o); }

/* o can be reached without a counted reference from now on (a weak
 * reference to it is being made): its owner must not free it without a
 * merge. */
GH_INLINE void gh_rc_weakly_reachable(gh_object *o) { gh_brc_set_maybe_weakref(o); }

/* The thread registers, so that others queue the objects it owns for it
 * to merge; at its stop it merges its queue and unregisters (rc/rc.h). */
GH_INLINE void gh_rc_thread_start(struct gh_tstate *ts) { gh_brc_thread_init(ts); }

GH_INLINE void gh_rc_thread_stop(struct gh_tstate *ts)
{
    gh_brc_thread_fini(ts);
#if defined(GH_FL_LOCKFREE_READS)
    /* The memory this thread deferred for lock-free readers (base/qsbr.h),
     * its last merges' frees included, goes back while the thread is
     * still attached. */
    gh_qsbr_flush(ts);
#endif
}

/* deferred=on's bias (rc/rc.h gh_rc_set_deferred), in the shared count:
 * o is private to the caller. */
GH_INLINE void gh_rc_bias_add(gh_object *o)
{
    gh_atomic_add_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS << GH_REF_SHARED_SHIFT);
}
/* The collector, world stopped: the bias comes off. */
GH_INLINE void gh_rc_bias_sub(gh_object *o)
{
    gh_atomic_sub_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS << GH_REF_SHARED_SHIFT);
}

/* Makes o immortal (3.13t's _Py_SetImmortal), as CPython marks it: no
 * owner, the local count's immortal value. No other thread may update o's
 * count meanwhile (o is private, or no other thread exists yet); relaxed:
 * thread creation or o's publication orders the writes. */
GH_INLINE void gh_rc_set_immortal(gh_object *o)
{
    gh_atomic_store_relaxed_uptr(&gh_prefix(o)->ob_tid, 0);
    gh_atomic_store_relaxed_u32(&gh_prefix(o)->ob_ref_local, GH_REF_LOCAL_IMMORTAL);
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, GH_IMMORTAL_REFCNT);
}

/* Makes o immortal while other holders may update its count (interning).
 * Only the owner writes ob_ref_local: the caller owns o, or a GIL keeps
 * the owner from running (containers/str.fl.c). A racing shared update is
 * harmless: the immortal test reads the local count first. */
GH_INLINE void gh_rc_make_immortal_live(gh_object *o) { gh_rc_set_immortal(o); }

#endif
