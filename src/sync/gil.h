/* gil.h - the global interpreter lock, CPython 3.2+ design (sync=gil).
 *
 * The GIL is a flag guarded by a mutex and signalled by a condition
 * variable (Python/ceval_gil.c). A thread that wants it waits on the
 * condition for the switch interval (default 5 ms); if it times out and the
 * GIL has not changed hands meanwhile, it sets GH_EVAL_GIL_DROP_REQUEST in
 * the holder's eval_breaker. The holder sees the bit at its next switch
 * point (between two model operations), drops the GIL and - forced
 * switching - waits until some other thread has taken it, so a releasing
 * thread cannot win it straight back on a multi-core machine. Blocking
 * operations (io) drop the GIL around the wait.
 *
 * Protection: every field of the GIL is protected by gil.mutex, except
 * `holder` and `switch_number`, which are also read under switch_mutex
 * (drop side) and written only with both mutexes held.
 *
 * Layer: sync (includes base).
 */
#ifndef GH_SYNC_GIL_H
#define GH_SYNC_GIL_H

#include <stdint.h>

#include "base/atomic.h"
#include "base/tstate.h"

struct gh_gil_stats_raw {
    uint64_t switches;         /* the GIL changed hands */
    uint64_t drop_requests;    /* a waiter asked the holder to drop */
    uint64_t forced_handoffs;  /* a holder dropped on request and waited for
                                  another thread to take the GIL */
};

/* Sets up the GIL (unlocked) with the given switch interval. */
void gh_gil_init(uint64_t interval_ns);
void gh_gil_fini(void);
/* Blocks until the calling thread holds the GIL. */
void gh_gil_take(struct gh_tstate *ts);
/* Releases the GIL; with a pending drop request, waits for the handoff. */
void gh_gil_drop(struct gh_tstate *ts);
/* Drops and re-takes the GIL: what a holder does when asked to. */
GH_NOINLINE void gh_gil_yield_slow(struct gh_tstate *ts);
void gh_gil_stats(struct gh_gil_stats_raw *out);

/* The switch point check: cheap when nobody waits. */
GH_INLINE void gh_gil_checkpoint(struct gh_tstate *ts)
{
    /* Relaxed: the bit is only a hint to drop; the handoff itself is
     * ordered by the GIL's mutex. */
    if (GH_UNLIKELY(gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GIL_DROP_REQUEST))
        gh_gil_yield_slow(ts);
}

#endif
