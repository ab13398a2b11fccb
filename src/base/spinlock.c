/* spinlock.c - slow paths of gh_tatas and gh_ticket (spinlock.h). */
#include "base/spinlock.h"

#include <sched.h>

#include "base/clock.h"
#include "base/timeline.h"

void gh_tatas_lock_slow(gh_tatas *l, struct gh_lockstat *st)
{
    uint64_t t0 = gh_lock_wait_begin(st, l);
    for (;;) {
        /* Test: spin on a shared copy of the line until it looks free. */
        for (int i = 0; gh_atomic_load_relaxed_u8(&l->bits); i++) {
            if (i < GH_SPIN_PAUSES) {
                gh_cpu_relax();
            } else {
                sched_yield();
                i = 0;
            }
        }
        /* Acquire: pairs with the release store in gh_tatas_unlock. */
        if (gh_atomic_exchange_acquire_u8(&l->bits, 1) == 0)
            break;
    }
    gh_lock_waited(st, l, t0);
}

void gh_ticket_wait_slow(gh_ticket *l, uint32_t t, struct gh_lockstat *st)
{
    uint64_t t0 = gh_lock_wait_begin(st, l);
    /* Acquire: pairs with the release store of serving in gh_ticket_unlock. */
    for (int i = 0; gh_atomic_load_acquire_u32(&l->serving) != t; i++) {
        if (i < GH_SPIN_PAUSES) {
            gh_cpu_relax();
        } else {
            sched_yield();
            i = 0;
        }
    }
    gh_lock_waited(st, l, t0);
}
