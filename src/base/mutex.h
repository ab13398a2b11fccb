/* mutex.h - gh_mutex, a one-byte lock (the PyMutex model).
 *
 * The byte lives in the object header (the full layout's ob_mutex) or
 * anywhere else a lock is needed. Zero means unlocked.
 *
 *     bit:   7 ........ 2   1        0
 *           [   unused   | PARKED | LOCKED ]
 *
 *   state        meaning
 *   0b00         unlocked, nobody parked
 *   0b01         locked, nobody parked (the only state the fast paths touch)
 *   0b11         locked, a thread may be parked waiting
 *   (0b10 does not occur: unlock clears the whole byte)
 *
 *   transition                      by
 *   00 -> 01   CAS (acquire)         gh_mutex_lock fast path
 *   01 -> 00   CAS (release)         gh_mutex_unlock fast path
 *   xx -> 11   XCHG (seq_cst)        a waiter about to park (slow path);
 *                                    if it read 0bx0 it owns the lock now
 *   11 -> 00   XCHG (release), then  gh_mutex_unlock, which then wakes the
 *              wake the bucket       parking bucket (slow path)
 *
 * Parking: futexes need a 4-byte word, so waiters park on the sequence word
 * of one of 257 buckets chosen by the mutex's address, like CPython's
 * parking lot (Python/parking_lot.c). An unlock that saw PARKED bumps the
 * sequence and wakes every waiter of the bucket; the woken re-contend.
 * Before parking a thread spins up to GH_MUTEX_SPIN times, yielding the
 * CPU each time, but only while nobody is parked: once a waiter sleeps, a
 * newcomer parks behind it (CPython: MAX_SPIN_COUNT 40 with sched_yield,
 * spinning only without parked waiters).
 *
 * Acquisition gives acquire ordering and release gives release ordering:
 * everything written under the lock is visible to the next holder.
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

GH_NOINLINE void gh_mutex_lock_slow(gh_mutex *m, struct gh_lockstat *st);
GH_NOINLINE void gh_mutex_unlock_slow(gh_mutex *m);

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

GH_INLINE bool gh_mutex_is_locked(const gh_mutex *m)
{
    return gh_atomic_load_relaxed_u8(&m->bits) & GH_MUTEX_LOCKED;
}

#endif
