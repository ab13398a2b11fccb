/* lock.h - threading.Lock (_thread.lock), CPython 3.13's lockobject: the
 * object header and a PyMutex (Modules/_threadmodule.c). Made by setup
 * (`L: {type: lock}`) and taken by the scenario's lock.acquire,
 * lock.release and `with: L` (docs/scenarios.md, "Locks").
 *
 * acquire is _PyMutex_LockTimed with _PY_LOCK_DETACH: the fast path's CAS,
 * then, when it must wait, the thread stops holding what its strategy
 * holds while it is parked: the GIL is dropped around the wait (and taken
 * again after it, the lock already held); without a GIL the thread is
 * detached while it sleeps (base/mutex.c: class `user` detaches), so a
 * stop of the world never waits for it. A thread that holds a user lock
 * may park at a switch point, do `io` or wait for the GIL: the stopper
 * and the GIL's holder never take a user lock, so nothing waits in a
 * circle through them.
 *
 * release is _PyMutex_TryUnlock: any thread may release a held lock
 * (threading.Lock has no owner); releasing a free one fails, where CPython
 * raises RuntimeError.
 *
 * Included by containers/containers.h (flavoured code only).
 *
 * Layer: containers.
 */
#ifndef GH_CONTAINERS_LOCK_H
#define GH_CONTAINERS_LOCK_H

#include "base/mutex.h"

struct gh_lock {
    gh_object ob;
    gh_mutex mutex;      /* PyMutex: the lock itself */
    uint8_t pad_[3];
    /* The model's bookkeeping, not CPython's (its Lock has no owner; RLock
     * has one): 2 + the tstate index (-1 for the main thread) of the thread
     * that acquired it last, 0 when free. Written by the acquirer once it holds the lock and
     * cleared by the releaser before it releases, both relaxed; read
     * relaxed by a thread asking whether it is the one holding it (a
     * thread reads its own last write or a later one; no other thread
     * writes its index). It lets a thread that ends still holding the
     * lock release it, and refuses a second acquire by the holder, which
     * in CPython would wait forever. */
    int32_t owner;
};
_Static_assert(sizeof(struct gh_lock) == 24, "lockobject: a header and a PyMutex, padded");

#if defined(GH_CONTAINERS_CONTAINERS_H_BODY)
/* ---- the flavoured part ---------------------------------------------------- */

extern const struct gh_type GH_FL(gh_lock_type);

/* A new, unlocked lock. */
gh_object *GH_FL(gh_lock_new)(void);

GH_NOINLINE void GH_FL(gh_lock_acquire_slow)(struct gh_tstate *ts, struct gh_lock *l);

GH_INLINE int32_t gh_lock_me(const struct gh_tstate *ts) { return ts->index + 2; }

/* Whether the calling thread holds l (it acquired it and nobody released
 * it since). */
GH_INLINE bool gh_lock_held_by_me(struct gh_tstate *ts, struct gh_lock *l)
{
    return gh_atomic_load_relaxed_i32(&l->owner) == gh_lock_me(ts);
}

/* L.acquire(): false, without waiting, when the calling thread already
 * holds it (CPython would deadlock). */
GH_INLINE bool gh_lock_acquire(struct gh_tstate *ts, struct gh_lock *l)
{
    if (GH_UNLIKELY(gh_lock_held_by_me(ts, l)))
        return false;
    if (GH_UNLIKELY(!gh_mutex_trylock(&l->mutex, &ts->locks[GH_LOCK_user])))
        gh_lock_acquire_slow(ts, l);
    /* Relaxed: the owner's bookkeeping (lock.h, struct gh_lock). */
    gh_atomic_store_relaxed_i32(&l->owner, gh_lock_me(ts));
    return true;
}

/* L.release(): false when it was not locked (CPython's RuntimeError). */
GH_INLINE bool gh_lock_release(struct gh_tstate *ts, struct gh_lock *l)
{
    (void)ts;
    if (!gh_mutex_is_locked(&l->mutex))
        return false;
    /* Relaxed: as in gh_lock_acquire; cleared while the lock is held. */
    gh_atomic_store_relaxed_i32(&l->owner, 0);
    return gh_mutex_try_unlock(&l->mutex);
}
#endif

#endif
