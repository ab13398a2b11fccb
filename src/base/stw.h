/* stw.h - stopping the world: every other thread parks at a safe point
 * (free-threaded CPython's _PyEval_StopTheWorld, Python/pystate.c).
 *
 * Every bound thread state is on one registry, in one of three states:
 *
 *   ATTACHED   running model code; it may touch any object.
 *   DETACHED   not touching objects: between runs, in a blocking `io`, or
 *              parked waiting for a lock (base/mutex.c). Counts as
 *              stopped at once.
 *   SUSPENDED  parked at its switch point because the world is stopped.
 *
 * gh_stw_stop sets GH_EVAL_PLEASE_STOP in every attached thread's
 * eval_breaker and waits until each has parked (gh_stw_park) or detached;
 * a detached thread that wants to attach waits in gh_stw_attach until
 * gh_stw_start. One stop at a time: a second stopper waits, stopped.
 *
 * Invariants while the world is stopped: no other thread runs model code;
 * every object is consistent (a thread waiting for a lock may hold the
 * first lock of a two-object section, but has modified nothing under it);
 * the stopper takes no object's lock and frees no object (under rc=locked
 * no thread sleeps holding an object's lock, so its count updates find
 * the lock free).
 *
 * Protection: the registry, the per-thread states and the request are
 * protected by one pthread mutex, which orders everything a stopped thread
 * wrote before the stopper's reads, and the stopper's writes before the
 * threads resume. A switch point pays one relaxed load of eval_breaker.
 *
 * Layer: base.
 */
#ifndef GH_BASE_STW_H
#define GH_BASE_STW_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/compiler.h"
#include "base/tstate.h"

enum gh_thread_state { GH_THREAD_DETACHED, GH_THREAD_ATTACHED, GH_THREAD_SUSPENDED };

/* Adds ts (bound, detached) to the registry / removes it (gh_tstate_bind and
 * gh_tstate_unbind call these). */
void gh_stw_register(struct gh_tstate *ts);
void gh_stw_unregister(struct gh_tstate *ts);

/* ts starts / stops touching objects. attach waits while the world is
 * stopped. */
GH_NOINLINE void gh_stw_attach(struct gh_tstate *ts);
GH_NOINLINE void gh_stw_detach(struct gh_tstate *ts);
/* Attaches ts unless the world is stopped or a stop is requested (then it
 * stays detached and false is returned): for a waiter that was handed a
 * lock while detached and must not hold it while stopped (base/mutex.c). */
bool gh_stw_try_attach(struct gh_tstate *ts);

/* The switch point's slow path: parks until the world restarts. */
GH_NOINLINE void gh_stw_park(struct gh_tstate *ts);

GH_INLINE void gh_stw_checkpoint(struct gh_tstate *ts)
{
    if (GH_UNLIKELY(gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_PLEASE_STOP))
        gh_stw_park(ts);
}

/* Stops every other registered thread; ts must be attached. Returns the
 * nanoseconds it took until the last one stopped (time to safepoint). */
uint64_t gh_stw_stop(struct gh_tstate *ts);
/* Restarts them. */
void gh_stw_start(struct gh_tstate *ts);

/* ts's state, read under the registry's mutex (the census asks, with the
 * world stopped, whether each worker parked at its switch point rather
 * than detached inside an operation). */
enum gh_thread_state gh_stw_state(struct gh_tstate *ts);

/* How many threads the last stop waited for (for tests). */
int gh_stw_last_waited(void);
/* For the stall watchdog: each of the n threads' state (enum
 * gh_thread_state) into states, and the index of the thread stopping the
 * world (-2: none). False, nothing written, when the stop's mutex stayed
 * busy for 100 ms (a thread stuck while holding it). */
bool gh_stw_snapshot(struct gh_tstate *const *threads, int n, int *states, int *stopper);

#endif
