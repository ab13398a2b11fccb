/* oblock.h - the per-object lock of sync=objlock, whichever lock= kind a
 * run chose: pymutex (gh_mutex, the default), pthread (a pthread mutex),
 * tatas (a test-and-test-and-set spin byte) or ticket (a ticket lock).
 * The kinds, their costs and the storage decision: docs/strategies.md
 * ("lock").
 *
 * Selection: gh_oblock_kind is written once, before any worker starts
 * (gh_oblock_select; pthread_create orders the write before the workers'
 * reads), and never while threads run, so the switch in each inline
 * lock/unlock is a branch on a run constant: no indirect call.
 *
 * Storage: a gh_oblock * names "the lock of an object" (gh_ob_lock):
 *
 *   pymutex, tatas   the full header's one-byte ob_mutex itself
 *   pthread, ticket  a stripe of a side table of GH_OBLOCK_STRIPES
 *                    cache-line-sized slots, chosen by a hash of the
 *                    object's address
 *
 * Two objects may share a stripe, and so a lock. Every user compares
 * locks, not objects (sync/critsec.h), so a shared stripe costs false
 * contention but never self-deadlock.
 *
 * Layer: base.
 */
#ifndef GH_BASE_OBLOCK_H
#define GH_BASE_OBLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/lockstat.h"
#include "base/mutex.h"
#include "base/spinlock.h"

enum gh_oblock_kind { GH_OBLOCK_PYMUTEX, GH_OBLOCK_PTHREAD, GH_OBLOCK_TATAS, GH_OBLOCK_TICKET,
                      GH_OBLOCK_COUNT };

/* Opaque: a gh_mutex, a gh_tatas or a stripe, as gh_oblock_kind says. */
typedef struct gh_oblock gh_oblock;

/* The run's kind: written by gh_oblock_select before threads start, read
 * plainly afterwards (a run constant). */
extern enum gh_oblock_kind gh_oblock_kind;

/* Sets the kind (single-threaded: between runs, before workers exist). */
void gh_oblock_select(enum gh_oblock_kind k);

#define GH_OBLOCK_STRIPES 1024 /* power of two */

/* One side-table slot; a cache line each, so neighbouring stripes do not
 * share a line. Which member is live depends on gh_oblock_kind. */
struct gh_oblock_stripe {
    union {
        pthread_mutex_t pm;
        gh_ticket ticket;
    } u;
} GH_ALIGNED_CACHELINE;

extern struct gh_oblock_stripe gh_oblock_stripes[GH_OBLOCK_STRIPES];

/* Whether the run's kind keeps its lock in the object's header byte. */
GH_INLINE bool gh_oblock_in_header(void)
{
    return gh_oblock_kind == GH_OBLOCK_PYMUTEX || gh_oblock_kind == GH_OBLOCK_TATAS;
}

/* The stripe of an object (its address: objects are 16-byte aligned, and
 * a multiplicative hash spreads neighbours). */
GH_INLINE gh_oblock *gh_oblock_stripe_of(const void *obj)
{
    uint64_t h = ((uint64_t)(uintptr_t)obj >> 4) * 0x9E3779B97F4A7C15ull;
    return (gh_oblock *)(void *)&gh_oblock_stripes[h >> (64 - 10)];
}
_Static_assert(GH_OBLOCK_STRIPES == 1 << 10, "the hash takes 10 bits");

GH_NOINLINE void gh_oblock_pthread_lock_slow(pthread_mutex_t *pm, struct gh_lockstat *st);
GH_NOINLINE void gh_oblock_pthread_unlock_fail(int err);

GH_INLINE void gh_oblock_lock(gh_oblock *l, struct gh_lockstat *st)
{
    switch (gh_oblock_kind) {
    case GH_OBLOCK_TATAS:
        gh_tatas_lock((gh_tatas *)(void *)l, st);
        return;
    case GH_OBLOCK_TICKET:
        gh_ticket_lock(&((struct gh_oblock_stripe *)(void *)l)->u.ticket, st);
        return;
    case GH_OBLOCK_PTHREAD: {
        /* The library's trylock, then its lock: the first tells a
         * contended acquisition apart (pthread_mutex_lock's own fast path
         * is the same CAS). */
        pthread_mutex_t *pm = &((struct gh_oblock_stripe *)(void *)l)->u.pm;
        if (GH_LIKELY(pthread_mutex_trylock(pm) == 0)) {
            st->acquisitions++;
            return;
        }
        gh_oblock_pthread_lock_slow(pm, st);
        return;
    }
    default:
        gh_mutex_lock((gh_mutex *)(void *)l, st);
        return;
    }
}

GH_INLINE bool gh_oblock_trylock(gh_oblock *l, struct gh_lockstat *st)
{
    switch (gh_oblock_kind) {
    case GH_OBLOCK_TATAS:
        return gh_tatas_trylock((gh_tatas *)(void *)l, st);
    case GH_OBLOCK_TICKET:
        return gh_ticket_trylock(&((struct gh_oblock_stripe *)(void *)l)->u.ticket, st);
    case GH_OBLOCK_PTHREAD:
        if (pthread_mutex_trylock(&((struct gh_oblock_stripe *)(void *)l)->u.pm) != 0)
            return false;
        st->acquisitions++;
        return true;
    default:
        return gh_mutex_trylock((gh_mutex *)(void *)l, st);
    }
}

GH_INLINE void gh_oblock_unlock(gh_oblock *l)
{
    switch (gh_oblock_kind) {
    case GH_OBLOCK_TATAS:
        gh_tatas_unlock((gh_tatas *)(void *)l);
        return;
    case GH_OBLOCK_TICKET:
        gh_ticket_unlock(&((struct gh_oblock_stripe *)(void *)l)->u.ticket);
        return;
    case GH_OBLOCK_PTHREAD: {
        int err = pthread_mutex_unlock(&((struct gh_oblock_stripe *)(void *)l)->u.pm);
        if (GH_UNLIKELY(err))
            gh_oblock_pthread_unlock_fail(err);
        return;
    }
    default:
        gh_mutex_unlock((gh_mutex *)(void *)l);
        return;
    }
}

/* Whether l looks locked: a hint for spinning before a try (relaxed read;
 * a pthread mutex exposes no state, so it always looks free and the try
 * decides). */
GH_INLINE bool gh_oblock_is_locked(const gh_oblock *l)
{
    switch (gh_oblock_kind) {
    case GH_OBLOCK_TATAS:
        return gh_tatas_is_locked((const gh_tatas *)(const void *)l);
    case GH_OBLOCK_TICKET:
        return gh_ticket_is_locked(&((const struct gh_oblock_stripe *)(const void *)l)->u.ticket);
    case GH_OBLOCK_PTHREAD:
        return false;
    default:
        return gh_mutex_is_locked((const gh_mutex *)(const void *)l);
    }
}

#endif
