/* locked.h - rc=locked: a plain update under the object's own mutex (the
 * full header's ob_mutex, the one its critical sections lock): "fine-
 * grained locking everywhere". Only with sync=objlock.
 *
 * Every path: test the immortal bit (no lock for immortal objects), try
 * the mutex (one CAS), load, test again (a string can become immortal
 * meanwhile, under the same lock), store, unlock. The mutex orders
 * everything: every update is inside it, so the thread that takes a count
 * to zero acquired the lock after every other update released it, and sees
 * their uses of the object; no fence. Stores are relaxed atomics only so
 * that unlocked readers (gh_refcnt's snapshots, the immortal test) are not
 * data races. A count reaching zero unlocks before gh_dealloc: nothing is
 * deallocated under the mutex. A busy mutex goes to rc/locked.c.
 *
 * The rule that keeps it from deadlocking (a count update inside a
 * critical section on a container needs its item's mutex), the pins
 * (rc/pins.h) and the argument are in docs/strategies.md ("rc=locked").
 *
 * Included by rc/rc.h only, for the rc=locked flavour.
 *
 * Layer: rc (rc/locked.c also includes sync, for the sections it
 * suspends).
 */
#ifndef GH_RC_LOCKED_H
#define GH_RC_LOCKED_H

#ifndef GH_FL_RC_LOCKED
#error "rc/locked.h is rc=locked's: include rc/rc.h"
#endif

/* The value's name, for tables keyed by it (GH_RC_LOCKED in the scenario
 * layer's enum). */
#define GH_FL_RC_NAME LOCKED

#include "base/atomic.h"
#include "base/inject.h"
#include "object/object.h"
#include "rc/dealloc.h"
#include "rc/pins.h"

/* Acquire (the trylock): pairs with the release of the mutex's previous
 * holder (gh_oblock_unlock), so its update happens-before ours; release
 * (the unlock): pairs with the next holder's acquire. */
GH_INLINE void gh_incref(gh_object *o)
{
    if (GH_UNLIKELY(gh_refcnt_is_immortal(gh_atomic_load_relaxed_u64(&o->ob_refcnt))))
        return;
    gh_oblock *m = gh_ob_lock(o);
    if (GH_LIKELY(gh_oblock_trylock(m, gh_rc_lockstat()))) {
        uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
        GH_INJECT_AT(RC_UPDATE, c); /* under the count lock */
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
        GH_INJECT_AT(RC_UPDATE, c);
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

/* The count plus the pins (references on their way in, rc/pins.h): a
 * snapshot, exact with the world stopped (no pin exists then). */
GH_INLINE uint64_t gh_refcnt(gh_object *o)
{
    uint64_t c = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    return gh_refcnt_is_immortal(c) ? c : c + gh_rc_pins(o);
}

/* Drops a reference without deallocating: true when the count reached zero
 * (the caller then owns the dead object). Under the count lock; a pin
 * keeps it from zero. */
GH_INLINE bool gh_decref_is_zero(gh_object *o) { return gh_rc_locked_decref_is_zero_slow(o); }

/* Sets the count of an object no other thread holds a counted reference
 * to: under the count lock, as every update. */
GH_INLINE void gh_refcnt_set(gh_object *o, uint64_t v) { gh_rc_locked_set_slow(o, v); }

/* Takes a new reference unless the count is zero (CPython's
 * _Py_TryIncref). Zero is refused under the lock, unless a pin says an
 * increment is on its way. The caller keeps o's memory valid (the
 * weak-reference lock): the slow path never pins here. */
GH_INLINE bool gh_try_incref(gh_object *o)
{
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
}

/* A weak reference to o is being made: nothing to do. */
GH_INLINE void gh_rc_weakly_reachable(gh_object *o) { (void)o; }

/* The thread starts or stops using objects (rc/rc.h): nothing to do. */
GH_INLINE void gh_rc_thread_start(struct gh_tstate *ts) { (void)ts; }
GH_INLINE void gh_rc_thread_stop(struct gh_tstate *ts) { (void)ts; }

/* deferred=on's bias (rc/rc.h gh_rc_set_deferred): o is private to the
 * caller, so no count lock is needed; the add is atomic as every count
 * store is (unlocked snapshot readers). */
GH_INLINE void gh_rc_bias_add(gh_object *o)
{
    gh_atomic_add_relaxed_u64(&o->ob_refcnt, GH_DEFERRED_BIAS);
}
/* The collector, world stopped: no count lock is held then. */
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

/* Makes o immortal while other holders may update its count (interning):
 * under o's mutex, as every count update, so no holder's load-and-store
 * undoes it. */
GH_INLINE void gh_rc_make_immortal_live(gh_object *o) { gh_rc_locked_set_slow(o, GH_IMMORTAL_REFCNT); }

#endif
