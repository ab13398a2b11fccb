/* spinlock.h - the lock= axis's spinning locks: a test-and-test-and-set
 * byte (gh_tatas) and a ticket lock (gh_ticket). Neither parks: a waiter
 * spins on a cached read with a pause, then yields the CPU
 * (docs/strategies.md, "lock").
 *
 * gh_tatas, one byte (fits the full header's ob_mutex):
 *
 *     bit:   7 ........ 1   0
 *           [   unused   | LOCKED ]
 *
 *   0 -> 1   exchange (acquire)    lock: test (relaxed load) until 0, then
 *                                   test-and-set; the set's old value 0 wins
 *   1 -> 0   store (release)       unlock
 *
 * gh_ticket, two 32-bit words (kept in a stripe of the side table,
 * base/oblock.h):
 *
 *     [ next (tickets handed out) | serving (ticket that owns the lock) ]
 *
 *   lock     t = fetch_add(next, 1) (relaxed: the ticket only orders
 *            waiters); spin until load_acquire(serving) == t
 *   trylock  CAS next: s -> s+1 only if serving == s (acquire)
 *   unlock   store_release(serving, serving + 1); only the holder writes
 *            serving, so tickets are served in the order drawn (FIFO, no
 *            barging).
 *
 * Counters as gh_mutex's; slow paths are GH_NOINLINE in spinlock.c.
 *
 * Layer: base.
 */
#ifndef GH_BASE_SPINLOCK_H
#define GH_BASE_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/compiler.h"
#include "base/lockstat.h"

/* Spins with a pause this many times before each sched_yield. */
#define GH_SPIN_PAUSES 64

typedef struct { uint8_t bits; } gh_tatas;

typedef struct {
    uint32_t next;    /* tickets drawn: RMW by every locker */
    uint32_t serving; /* written only by the holder (release) */
} gh_ticket;

GH_NOINLINE void gh_tatas_lock_slow(gh_tatas *l, struct gh_lockstat *st);
GH_NOINLINE void gh_ticket_wait_slow(gh_ticket *l, uint32_t t, struct gh_lockstat *st);

GH_INLINE bool gh_tatas_trylock(gh_tatas *l, struct gh_lockstat *st)
{
    /* Test first: a busy lock costs a shared read, not a line stolen. */
    if (gh_atomic_load_relaxed_u8(&l->bits))
        return false;
    /* Acquire: pairs with the release store in gh_tatas_unlock. */
    if (gh_atomic_exchange_acquire_u8(&l->bits, 1))
        return false;
    st->acquisitions++;
    return true;
}

GH_INLINE void gh_tatas_lock(gh_tatas *l, struct gh_lockstat *st)
{
    /* Acquire: as gh_tatas_trylock (the uncontended path is the set
     * alone: the byte is expected free). */
    if (GH_LIKELY(gh_atomic_exchange_acquire_u8(&l->bits, 1) == 0)) {
        st->acquisitions++;
        return;
    }
    gh_tatas_lock_slow(l, st);
}

GH_INLINE void gh_tatas_unlock(gh_tatas *l)
{
    /* Release: pairs with the acquire exchange of the next holder. */
    gh_atomic_store_release_u8(&l->bits, 0);
}

GH_INLINE bool gh_tatas_is_locked(const gh_tatas *l) { return gh_atomic_load_relaxed_u8(&l->bits) != 0; }

GH_INLINE void gh_ticket_lock(gh_ticket *l, struct gh_lockstat *st)
{
    /* Relaxed: the ticket's value only says when it is our turn; the
     * acquire is on serving. */
    uint32_t t = gh_atomic_add_relaxed_u32(&l->next, 1);
    /* Acquire: pairs with the release store of serving in
     * gh_ticket_unlock by the previous holder. */
    if (GH_LIKELY(gh_atomic_load_acquire_u32(&l->serving) == t)) {
        st->acquisitions++;
        return;
    }
    gh_ticket_wait_slow(l, t, st);
}

GH_INLINE bool gh_ticket_trylock(gh_ticket *l, struct gh_lockstat *st)
{
    /* Acquire: pairs with the release store of serving (the value read
     * here is the one the CAS below checks against next). */
    uint32_t s = gh_atomic_load_acquire_u32(&l->serving);
    uint32_t expected = s;
    /* Succeeding means next == serving == s, i.e. free, and the ticket
     * drawn is s, ours at once. Acquire pairs with no release (tickets are
     * drawn relaxed): the previous holder's section is ordered by the
     * acquire load of serving above; kept as every lock path's order. */
    if (!gh_atomic_cas_acquire_u32(&l->next, &expected, s + 1))
        return false;
    st->acquisitions++;
    return true;
}

GH_INLINE void gh_ticket_unlock(gh_ticket *l)
{
    /* Only the holder writes serving: a relaxed read of our own value. */
    uint32_t s = gh_atomic_load_relaxed_u32(&l->serving);
    /* Release: pairs with the acquire load of serving by the next ticket. */
    gh_atomic_store_release_u32(&l->serving, s + 1);
}

GH_INLINE bool gh_ticket_is_locked(const gh_ticket *l)
{
    return gh_atomic_load_relaxed_u32(&l->next) != gh_atomic_load_relaxed_u32(&l->serving);
}

#endif
