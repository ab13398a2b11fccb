/* mutex.h - gh_mutex, a one-byte lock (the PyMutex model).
 *
 * The byte lives in the full header's ob_mutex, or wherever a lock is
 * needed. Zero means unlocked.
 *
 *     bit:   7 ........ 2   1        0
 *           [   unused   | PARKED | LOCKED ]
 *
 *   state   meaning
 *   0b00    unlocked, nobody parked
 *   0b01    locked, nobody parked (the only state the fast paths touch)
 *   0b10    unlocked, a thread is parked (a wake without handoff, or a
 *           passed wake-up, with more waiters queued; the next locker
 *           keeps the bit)
 *   0b11    locked, a thread may be parked waiting
 *
 *   transition                      by
 *   00 -> 01   CAS (acquire)         gh_mutex_lock fast path
 *   01 -> 00   CAS (release)         gh_mutex_unlock fast path
 *   x0 -> x1   CAS (acquire)         a spinning or woken waiter takes it
 *   01 -> 11   CAS (relaxed)         a waiter about to park, with the value
 *                                    it read before spinning (on a failure
 *                                    it starts over with the new value)
 *   11 -> 11   store (release)       unlock handing the lock to a waiter
 *     or 01                          older than GH_MUTEX_FAIR_NS (11 if more
 *                                    waiters stay queued)
 *   11 -> 10   store (release)       unlock waking one waiter to re-contend
 *     or 00                          (10 if more waiters stay queued)
 *   10 -> 10   CAS (relaxed)         pass_wakeup: a woken waiter that waits
 *     or 00                          for the world first wakes the next one
 *
 * Parking: 257 buckets chosen by the mutex's address, each a FIFO queue
 * and a small lock (CPython's Python/parking_lot.c). A waiter re-checks
 * the byte (still 11) under the bucket lock before it queues, then sleeps
 * on a futex word of its own; an unlock that saw PARKED dequeues and
 * writes the new byte under the bucket lock, so no waiter queues in
 * between. The spin, the 1 ms handoff and pass_wakeup are explained in
 * docs/strategies.md ("sync").
 *
 * Ordering: acquisition is acquire, release is release: everything
 * written under the lock is visible to the next holder.
 *
 * Layer: base.
 */
#ifndef GH_BASE_MUTEX_H
#define GH_BASE_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/compiler.h"
#include "base/lockstat.h"

typedef struct { uint8_t bits; } gh_mutex;

#define GH_MUTEX_LOCKED 1u
#define GH_MUTEX_PARKED 2u
#define GH_MUTEX_SPIN   40
#define GH_MUTEX_FAIR_NS 1000000u /* a waiter older than this is handed the lock */

/* The age above which an unlock hands the lock over: GH_MUTEX_FAIR_NS.
 * Tests set it (before their threads start) to make a wake-up with or
 * without a handoff certain. */
extern uint64_t gh_mutex_fair_ns;

GH_NOINLINE void gh_mutex_lock_slow(gh_mutex *m, struct gh_lockstat *st);
GH_NOINLINE void gh_mutex_unlock_slow(gh_mutex *m);
GH_NOINLINE bool gh_mutex_try_unlock_slow(gh_mutex *m);

/* Locks m; st (may not be NULL) is the calling thread's counter set for the
 * lock's class. */
GH_INLINE void gh_mutex_lock(gh_mutex *m, struct gh_lockstat *st)
{
    uint8_t expected = 0;
    /* Acquire: pairs with the release in gh_mutex_unlock of the previous
     * holder, so its critical section happens-before ours. */
    if (GH_LIKELY(gh_atomic_cas_acquire_u8(&m->bits, &expected, GH_MUTEX_LOCKED))) {
        st->acquisitions++;
        return;
    }
    gh_mutex_lock_slow(m, st);
}

GH_INLINE bool gh_mutex_trylock(gh_mutex *m, struct gh_lockstat *st)
{
    uint8_t expected = 0;
    /* Acquire: as in gh_mutex_lock. */
    if (gh_atomic_cas_acquire_u8(&m->bits, &expected, GH_MUTEX_LOCKED)) {
        st->acquisitions++;
        return true;
    }
    return false;
}

GH_INLINE void gh_mutex_unlock(gh_mutex *m)
{
    uint8_t expected = GH_MUTEX_LOCKED;
    /* Release: pairs with the acquire of the next holder's lock. */
    if (GH_LIKELY(gh_atomic_cas_release_u8(&m->bits, &expected, 0)))
        return;
    gh_mutex_unlock_slow(m);
}

/* Unlocks m if it is locked, by whichever thread (threading.Lock's
 * release: CPython's _PyMutex_TryUnlock); false when it was not locked
 * (CPython raises RuntimeError). Safe against a concurrent unlock of the
 * same mutex, which gh_mutex_unlock is not: one of two releases fails. */
GH_INLINE bool gh_mutex_try_unlock(gh_mutex *m)
{
    uint8_t expected = GH_MUTEX_LOCKED;
    /* Release: pairs with the acquire of the next holder's lock. */
    if (GH_LIKELY(gh_atomic_cas_release_u8(&m->bits, &expected, 0)))
        return true;
    if (!(expected & GH_MUTEX_LOCKED))
        return false;
    return gh_mutex_try_unlock_slow(m);
}

GH_INLINE bool gh_mutex_is_locked(const gh_mutex *m)
{
    return gh_atomic_load_relaxed_u8(&m->bits) & GH_MUTEX_LOCKED;
}

/* How many threads are queued parked on m now (for tests and checks; a
 * snapshot, read under m's bucket lock). */
int gh_mutex_parked(const gh_mutex *m);

#endif
