/* gil_lock.h - the global interpreter lock (sync=gil, sync=gil-ticks).
 *
 * CPython 3.2+'s design (Python/ceval_gil.c): a flag guarded by a mutex
 * and signalled by a condition variable. A waiter that times out after the
 * switch interval without the GIL changing hands sets
 * GH_EVAL_GIL_DROP_REQUEST in the holder's eval_breaker; the holder drops
 * at its next switch point and waits until another thread has taken it
 * (forced switching). sync=gil-ticks (before 3.2) releases and re-takes
 * the lock every `ticks` switch points, with no drop request and no
 * handoff. The behaviour and its costs: docs/strategies.md ("sync").
 *
 * Protection and lock order: struct gh_gil below. Take and drop are
 * inline; waiting and forced handoff are the slow paths
 * gh_gil_take_wait_slow and gh_gil_drop_handoff_slow.
 *
 * Layer: sync (includes base).
 */
#ifndef GH_SYNC_GIL_LOCK_H
#define GH_SYNC_GIL_LOCK_H

#include <pthread.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/die.h"
#include "base/probes.h"
#include "base/timeline.h"
#include "base/tstate.h"

struct gh_gil_stats_raw {
    uint64_t switches;         /* the GIL changed hands */
    uint64_t drop_requests;    /* a waiter asked the holder to drop */
    uint64_t forced_handoffs;  /* a holder dropped on request and had to wait
                                  for another thread to take the GIL */
};

/* The one GIL. Protection: every field is protected by `mutex`, except that
 * `holder` and `switch_number` are written with both `mutex` and
 * `switch_mutex` held and may be read under either. Lock order: mutex, then
 * switch_mutex. */
struct gh_gil {
    pthread_mutex_t mutex;
    pthread_cond_t cond;          /* signalled when the GIL is released */
    pthread_mutex_t switch_mutex;
    pthread_cond_t switch_cond;   /* signalled when the GIL is taken */
    int locked;
    struct gh_tstate *holder;     /* the last thread to take it */
    uint64_t switch_number;       /* bumped at every take */
    uint64_t interval_ns;
    uint32_t ticks;               /* gil-ticks: ops between releases; 0: gil.
                                     Written before any thread starts. */
    struct gh_gil_stats_raw stats;
};
extern struct gh_gil gh__gil;

/* Sets up the GIL (unlocked) with the given switch interval (0: 5 ms);
 * ticks > 0 selects gil-ticks with that many switch points per tenure. */
void gh_gil_init(uint64_t interval_ns, uint32_t ticks);
void gh_gil_fini(void);
void gh_gil_stats(struct gh_gil_stats_raw *out);
/* For the stall watchdog: the last thread to take the GIL (its index, -1
 * the main thread, -2 none) and whether it is held; -3 when the GIL's
 * mutex stayed busy for 100 ms (a thread stuck while holding it). */
int gh_gil_holder_snapshot(bool *locked);

/* Slow paths (gil_lock.c). take_wait: called with gil.mutex held while the GIL
 * is locked; returns with it held and the GIL unlocked. handoff: the forced
 * switch after a requested drop. yield: drop and take again. */
GH_NOINLINE void gh_gil_take_wait_slow(struct gh_tstate *ts, uint64_t t_asked);
/* take_wait's t_asked: when the taker blocked on g->mutex first, the clock
 * before it did (its wait starts there), else 0. mutex_waited: profiled,
 * a take that found the GIL free after blocking on g->mutex since
 * t_asked; a block of GH_GIL_MUTEX_WAIT_NS or more is a GIL_WAIT slice
 * (arg 1) on the thread's timeline. */
GH_NOINLINE void gh_gil_mutex_waited(struct gh_tstate *ts, uint64_t t_asked);
#define GH_GIL_MUTEX_WAIT_NS 1000u
GH_NOINLINE void gh_gil_drop_handoff_slow(struct gh_tstate *ts);
GH_NOINLINE void gh_gil_yield_slow(struct gh_tstate *ts);
GH_NOINLINE void gh_gil_tick_slow(struct gh_tstate *ts);
/* --trace: notes the start of a tenure and who held the GIL before
 * (g->mutex and switch_mutex held). */
GH_NOINLINE void gh_gil_traced_claim(struct gh_tstate *ts);
/* --trace: records the tenure that ends (g->mutex held). */
GH_NOINLINE void gh_gil_traced_drop(struct gh_tstate *ts);

/* Takes the GIL, which is free; g->mutex held, and released here. */
GH_INLINE void gh__gil_claim(struct gh_tstate *ts)
{
    struct gh_gil *g = &gh__gil;
    /* Both mutexes, so a forced dropper waiting on switch_cond sees holder
     * and switch_number change together. */
    gh_check_pthread(pthread_mutex_lock(&g->switch_mutex));
    g->locked = 1;
    GH_PROBE2(gil_take, ts->index, g->holder ? g->holder->index : -2);
    if (GH_UNLIKELY(ts->lp))
        gh_gil_traced_claim(ts);
    if (g->holder != ts && g->holder != NULL)
        g->stats.switches++;
    g->holder = ts;
    g->switch_number++;
    ts->gil_ticks_left = g->ticks; /* gil-ticks: a fresh tenure */
    gh_check_pthread(pthread_cond_signal(&g->switch_cond));
    gh_check_pthread(pthread_mutex_unlock(&g->switch_mutex));
    /* A request addressed to our previous tenure is void now. Requests are
     * only set under g->mutex, which we hold, so the relaxed load sees any
     * that exists and the atomic clear is paid only when there is one. The
     * clear is seq_cst as every eval_breaker RMW (base/tstate.h) and pairs
     * with nothing. */
    if (GH_UNLIKELY(gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GIL_DROP_REQUEST))
        gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_GIL_DROP_REQUEST);
    ts->locks[GH_LOCK_gil].acquisitions++;
    gh_check_pthread(pthread_mutex_unlock(&g->mutex));
}

/* Blocks until the calling thread holds the GIL. */
GH_INLINE void gh_gil_take(struct gh_tstate *ts)
{
    struct gh_gil *g = &gh__gil;
    /* Profiled: a taker may block on the GIL's own mutex as well (under
     * gil-ticks the releaser takes it back at once, again and again), so
     * its wait starts there; the clock is read only once the mutex's
     * fast path (the try, the same compare-and-swap as the lock's) has
     * failed, so the race for it is run as it is unprofiled. */
    uint64_t t_asked = 0;
    if (GH_UNLIKELY(ts->lp != NULL)) {
        if (pthread_mutex_trylock(&g->mutex) != 0) {
            t_asked = gh_now_ns();
            gh_check_pthread(pthread_mutex_lock(&g->mutex));
        }
    } else {
        gh_check_pthread(pthread_mutex_lock(&g->mutex));
    }
    if (GH_UNLIKELY(g->locked))
        gh_gil_take_wait_slow(ts, t_asked);
    else if (GH_UNLIKELY(t_asked != 0))
        gh_gil_mutex_waited(ts, t_asked);
    gh__gil_claim(ts);
}

/* The same under gil-ticks, giving up after ns nanoseconds: whether it
 * holds the GIL. It sends no drop request (gil-ticks has none; under gil a
 * request must not be left behind by a waiter that gives up: the holder's
 * forced handoff would wait for a taker that never comes). For a thread
 * outside the model that must not wait without bound (the census's: under
 * gil-ticks a waiter can lose every race for the lock, the convoy). */
bool gh_gil_take_within(struct gh_tstate *ts, uint64_t ns);

/* Releases the GIL; after a drop request, waits for the handoff. */
GH_INLINE void gh_gil_drop(struct gh_tstate *ts)
{
    struct gh_gil *g = &gh__gil;
    gh_check_pthread(pthread_mutex_lock(&g->mutex));
    gh_assert_debug(g->locked && g->holder == ts);
    if (GH_UNLIKELY(ts->lp))
        gh_gil_traced_drop(ts);
    GH_PROBE1(gil_drop, ts->index);
    g->locked = 0;
    gh_check_pthread(pthread_cond_signal(&g->cond));
    gh_check_pthread(pthread_mutex_unlock(&g->mutex));
    /* Relaxed: a request set after this load is addressed to a tenure
     * that has ended; gh_gil_take clears it. */
    if (GH_UNLIKELY(gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GIL_DROP_REQUEST))
        gh_gil_drop_handoff_slow(ts);
}

/* The switch point check: cheap when nobody waits. */
GH_INLINE void gh_gil_checkpoint(struct gh_tstate *ts)
{
    if (GH_UNLIKELY(gh__gil.ticks)) {
        if (--ts->gil_ticks_left == 0)
            gh_gil_tick_slow(ts);
        return;
    }
    /* Relaxed: the bit is only a hint to drop; the handoff itself is
     * ordered by the GIL's mutex. */
    if (GH_UNLIKELY(gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GIL_DROP_REQUEST))
        gh_gil_yield_slow(ts);
}

#endif
