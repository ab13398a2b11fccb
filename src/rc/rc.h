/* rc.h - reference counting for the current flavour (the `rc` axis).
 *
 *   rc=plain   load, test the immortal bit, store: a non-atomic update that
 *              is correct only while something else (the GIL) serialises
 *              every thread's updates.
 *   rc=atomic  atomic read-modify-write on the one count (Gilectomy). The
 *              immortal test comes first, so immortal objects are never
 *              written and their cache line is never contended.
 *   rc=biased  the owner thread's plain local count, everyone else's
 *              atomic shared count, merge queues (rc/brc.h, free-threaded
 *              CPython). Needs the full header.
 *   rc=locked  a plain update under the object's own mutex (the full
 *              header's ob_mutex, the one its critical sections lock):
 *              "fine-grained locking everywhere". Only with sync=objlock.
 *              The design is below, after rc=atomic's ordering.
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
 * rc=locked. An update tests the immortal bit (no lock for immortal
 * objects), tries the mutex (one CAS), loads, tests again (a string can
 * become immortal meanwhile, under the same lock), stores, and unlocks.
 * The mutex orders everything: every update is inside it, so the thread
 * that takes a count to zero acquired the lock after every other update
 * released it, and sees their uses of the object; no fence. Stores are
 * relaxed atomics only so that unlocked readers (gh_refcnt's snapshots,
 * the immortal test) are not data races. A count reaching zero unlocks
 * before gh_dealloc: nothing is deallocated under the mutex.
 *
 * The hard part: the mutex is also the object's critical-section lock,
 * and an operation in a section on a container L increments an item X
 * (list.get, dict.get, getattr) while it holds L's lock. Waiting for X's
 * lock there deadlocks when another thread holds X's section and
 * increments L (L and X in each other, a cycle), and a list that holds
 * itself would wait for its own lock. The flavour keeps one rule instead:
 *
 *     a thread never waits for an object's mutex while it holds one.
 *
 *   - A first critical section waits as usual (no object lock is held);
 *     a second lock (two-object sections, a nested section) is only
 *     tried, and on a failure every lock of the thread's sections is
 *     released and the set taken again: wait for one while holding none,
 *     try the rest, back off on a failure (sync/critsec.c).
 *   - A count update holds the mutex for a load and a store and waits for
 *     nothing meanwhile.
 *   - A count update that finds the mutex taken:
 *       o its mutex is one of this thread's sections' (the self case):
 *         the count is protected already; update it directly;
 *       o no section held: wait (holding no object lock);
 *       o inside a section: retry a few times (a count update in
 *         progress ends in nanoseconds); then pin X, suspend the sections
 *         (release their locks), wait for X's lock holding none, update,
 *         unpin, unlock, and take the sections again as above.
 *
 * No deadlock: a thread that waits for an object's mutex holds none, so
 * no cycle of waiting threads passes through object mutexes; a holder of
 * one runs to its release, waiting at most for a leaf lock (the arena's,
 * the allocation tracer's) whose holders take nothing else. The
 * weak-reference and interned-string locks may be held by a thread that
 * waits for a count lock, but no holder of an object mutex ever waits for
 * them. No waiting for the world either: a holder of an object mutex is
 * attached and running, so count waits do not detach (base/mutex.c), a
 * stop waits for them to finish, and while the world is stopped no
 * object mutex is held, so the collector's own updates (holding garbage,
 * conditional increments of weak references) never wait.
 *
 * What a suspension costs the operation, and why it is still correct:
 *   - X stays alive while its incrementer waits with the container
 *     released: the pin (rc/locked.h) is taken while the section still
 *     keeps X alive, and a decrement that reaches zero with a pin present
 *     does not deallocate; the pinner's increment (under X's lock, before
 *     the unpin) brings the count back to 1. gh_refcnt counts pins, and
 *     a conditional increment treats 0-with-a-pin as alive, so nothing
 *     observes X as dead in between.
 *   - Anything the operation read under its sections may be stale after
 *     the increment returns. An increment that is the section's last use
 *     of what it read (list.get, dict.get, getattr return the item: the
 *     operation takes effect when the item was read) needs nothing more.
 *     list == list copies many items: it checks ts->cs_suspends after each
 *     increment and starts again if a suspension happened. setattr takes
 *     the name's reference before its section, as it modifies the
 *     instance before storing the name. A count update inside a section
 *     must come after the section's last modification, or before any
 *     (the state is consistent when the locks go).
 *   - A thread whose sections are suspended holds counted references only
 *     (plus its pin), so the world may stop then: the collector sees
 *     consistent containers.
 *
 * Costs show in the lock counters: class rc counts every count lock taken
 * (and a suspension's re-acquisitions), contended = the fast try failed.
 *
 * Layer: rc (includes object, base; rc/locked.c also sync, for the
 * sections it suspends).
 */
#ifndef GH_RC_RC_H
#define GH_RC_RC_H

#ifndef GH_FLAVORED
#error "rc/rc.h is for flavoured code (*.fl.c) only"
#endif

#include "base/atomic.h"
#include "base/qsbr.h"
#include "object/object.h"
#include "rc/brc.h"
#include "rc/dealloc.h"
#include "rc/locked.h"

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

#elif defined(GH_FL_RC_BIASED)

/* Include/refcount.h's Py_INCREF / Py_DECREF for Py_GIL_DISABLED. */
GH_INLINE void gh_incref(gh_object *o)
{
    uint32_t local = gh_brc_local(o);
    if (GH_UNLIKELY(local == GH_REF_LOCAL_IMMORTAL))
        return;
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
    if (GH_LIKELY(gh_brc_tid(o) == gh_brc_me())) {
        gh_atomic_store_relaxed_u32(&gh_prefix(o)->ob_ref_local, --local);
        if (local == 0)
            gh_brc_merge_zero_local(o);
    } else {
        gh_brc_decref_shared(o);
    }
}

GH_INLINE uint64_t gh_refcnt(gh_object *o) { return gh_brc_refcnt(o); }

#elif defined(GH_FL_RC_LOCKED)

/* The design is in the comment at the top. Every path: immortal test, one
 * CAS on the object's mutex (acquire: pairs with the release of its
 * previous holder, gh_mutex_unlock, so that holder's update happens-before
 * ours), load, store, unlock (release: pairs with the next holder's
 * acquire). A busy mutex goes to rc/locked.c. */
GH_INLINE void gh_incref(gh_object *o)
{
    if (GH_UNLIKELY(gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt))))
        return;
    gh_oblock *m = gh_ob_lock(o);
    if (GH_LIKELY(gh_oblock_trylock(m, gh_rc_lockstat()))) {
        uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
        if (GH_LIKELY(!gh_refcnt_is_immortal(c)))
            gh_atomic_store_relaxed_u64(&o->ob_refcnt, c + 1);
        gh_oblock_unlock(m);
        return;
    }
    gh_rc_locked_incref_slow(o);
}

GH_INLINE void gh_decref(gh_object *o)
{
    if (GH_UNLIKELY(gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt))))
        return;
    gh_oblock *m = gh_ob_lock(o);
    if (GH_LIKELY(gh_oblock_trylock(m, gh_rc_lockstat()))) {
        uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
        if (GH_LIKELY(!gh_refcnt_is_immortal(c))) {
            gh_atomic_store_relaxed_u64(&o->ob_refcnt, c - 1);
            if (GH_UNLIKELY(c == 1)) {
                gh_rc_locked_zero(o); /* unlocks, then deallocates unless pinned */
                return;
            }
        }
        gh_oblock_unlock(m);
        return;
    }
    gh_rc_locked_decref_slow(o);
}

/* The count plus the pins (references on their way in, rc/locked.h): a
 * snapshot, exact with the world stopped (no pin exists then). */
GH_INLINE uint64_t gh_refcnt(gh_object *o)
{
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    return gh_refcnt_is_immortal(c) ? c : c + gh_rc_pins(o);
}

#else
#error "no rc flavour: define GH_FL_RC_PLAIN, GH_FL_RC_ATOMIC, GH_FL_RC_BIASED or GH_FL_RC_LOCKED"
#endif

/* Drops a reference without deallocating: true when the count reached zero
 * (the caller then owns the dead object), false when it stayed positive.
 * For a dealloc that lent a temporary reference to a finalizer. */
GH_INLINE bool gh_decref_is_zero(gh_object *o)
{
#if defined(GH_FL_RC_PLAIN)
    return --o->ob_refcnt == 0;
#elif defined(GH_FL_RC_BIASED)
    return gh_brc_decref_is_zero(o);
#elif defined(GH_FL_RC_LOCKED)
    /* Under the count lock; a pin keeps it from zero (rc/locked.h). */
    return gh_rc_locked_decref_is_zero_slow(o);
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
#elif defined(GH_FL_RC_BIASED)
    gh_brc_refcnt_set(o, v);
#elif defined(GH_FL_RC_LOCKED)
    gh_rc_locked_set_slow(o, v); /* under the count lock, as every update */
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
#elif defined(GH_FL_RC_BIASED)
    return gh_brc_try_incref(o);
#elif defined(GH_FL_RC_LOCKED)
    /* Zero is refused under the lock, unless a pin says an increment is
     * on its way (rc/locked.h). The caller keeps o's memory valid (the
     * weak-reference lock): the slow path never pins here. */
    if (gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt)))
        return true;
    gh_oblock *m = gh_ob_lock(o);
    if (!gh_oblock_trylock(m, gh_rc_lockstat()))
        return gh_rc_locked_try_incref_slow(o);
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    bool ok = true;
    if (!gh_refcnt_is_immortal(c)) {
        if (c == 0 && gh_rc_pins(o) == 0)
            ok = false;
        else
            gh_atomic_store_relaxed_u64(&o->ob_refcnt, c + 1);
    }
    gh_oblock_unlock(m);
    return ok;
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

/* o can be reached without a counted reference from now on (a weak
 * reference to it is being made): rc=biased must not let its owner free it
 * without a merge. */
GH_INLINE void gh_rc_weakly_reachable(gh_object *o)
{
#if defined(GH_FL_RC_BIASED)
    gh_brc_set_maybe_weakref(o);
#else
    (void)o;
#endif
}

/* Around a thread's use of objects, inside gh_sync_thread_start/stop (the
 * thread attached): rc=biased registers the thread, so that others queue
 * the objects it owns for it to merge, and at the stop merges its queue and
 * unregisters. A thread that is not between start and stop touches no
 * count, so an object queued for it meanwhile is merged by whoever queues
 * it (rc/brc.h). */
GH_INLINE void gh_rc_thread_start(struct gh_tstate *ts)
{
#if defined(GH_FL_RC_BIASED)
    gh_brc_thread_init(ts);
#else
    (void)ts;
#endif
}

GH_INLINE void gh_rc_thread_stop(struct gh_tstate *ts)
{
#if defined(GH_FL_RC_BIASED)
    gh_brc_thread_fini(ts);
#endif
#if defined(GH_FL_LOCKFREE_READS)
    /* The memory this thread deferred for lock-free readers (base/qsbr.h),
     * its last merges' frees included, goes back while the thread is
     * still attached. */
    gh_qsbr_flush(ts);
#else
    (void)ts;
#endif
}

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
#if defined(GH_FL_RC_PLAIN)
    o->ob_refcnt += GH_DEFERRED_BIAS;
#elif defined(GH_FL_RC_BIASED)
    gh_atomic_add_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS << GH_REF_SHARED_SHIFT);
#else
    /* rc=locked: the object is private, so no count lock is needed; the
     * add is atomic as every count store is (unlocked snapshot readers). */
    gh_atomic_add_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS);
#endif
}

/* Makes o immortal (deferred=immortal: 3.13t's _Py_SetImmortal of the
 * objects marked for deferred counting). No other thread may update o's
 * count meanwhile: o is private to the caller, or no other thread exists
 * yet. Relaxed: thread creation or o's publication orders the writes. */
GH_INLINE void gh_rc_set_immortal(gh_object *o)
{
#if defined(GH_FL_RC_PLAIN)
    o->ob_refcnt = GH_IMMORTAL_REFCNT;
#elif defined(GH_FL_RC_BIASED)
    gh_atomic_store_relaxed_uptr(&gh_prefix(o)->ob_tid, 0);
    gh_atomic_store_relaxed_u32(&gh_prefix(o)->ob_ref_local, GH_REF_LOCAL_IMMORTAL);
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, GH_IMMORTAL_REFCNT);
#else
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, GH_IMMORTAL_REFCNT);
#endif
}

/* The collector, world stopped, for a deferred object it found
 * unreachable: flag and bias removed, so its count is its counted
 * references (the collector's hold among them) and the ordinary path frees
 * it. With the world stopped no other thread updates the count (rc=locked:
 * no count lock is held then, see the top of this file). Relaxed: the
 * restart of the world orders these writes before the threads' reads. */
GH_INLINE void gh_rc_deferred_clear_stopped(gh_object *o)
{
    gh_atomic_and_relaxed_u16(&gh_prefix(o)->ob_flags, (uint16_t)~GH_OBFLAG_DEFERRED);
#if defined(GH_FL_RC_PLAIN)
    o->ob_refcnt -= GH_DEFERRED_BIAS;
#elif defined(GH_FL_RC_BIASED)
    gh_atomic_sub_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS << GH_REF_SHARED_SHIFT);
#else
    gh_atomic_sub_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS);
#endif
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
