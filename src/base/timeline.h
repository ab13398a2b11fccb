/* timeline.h - the run's event timeline (--trace): what each thread did
 * and when, for a trace viewer.
 *
 * Each thread that records has its own buffer (ts->tl), a ring of
 * fixed-size events written only by that thread, without a lock, and only
 * on slow paths: a GIL switch or wait, a contended lock, a stop of the
 * world, a collection, a merge, a hazard, a sampled op. With no buffer
 * (tracing off, the default) each hook is one test of a pointer already
 * in the thread's cache line. A full ring overwrites its oldest events and
 * counts them (gh_tl_dropped). The buffers are read after the threads
 * have joined (pthread_join orders those reads after the writes); report/
 * writes them as a Chrome trace-event file.
 *
 * Slices are recorded when they end, with their start: a slice is whole
 * in the buffer or absent.
 *
 * Layer: base.
 */
#ifndef GH_BASE_TIMELINE_H
#define GH_BASE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/lockprof.h"
#include "base/probes.h"
#include "base/tstate.h"

/* X(name, slice, label): slice 1 has a duration, 0 is an instant. What
 * an event's `arg` and `addr` carry:
 *
 *   GIL_HOLD          arg: the previous holder's index (-2: none)
 *   GIL_WAIT          arg: 0, or 1 when the GIL was free and the wait was
 *                     for its internal mutex only
 *   GIL_DROP_REQUEST  arg: the holder's index
 *   LOCK_WAIT         arg: the lock class (-1: a shared counter set);
 *                     addr: the lock
 *   LOCK_HOLD         a sampled hold (base/lockprof.h); arg: the lock
 *                     class; addr: the lock
 *   LOCK_WAKE         an unlock (or a passed-on wake-up) waking a parked
 *                     waiter of a gh_mutex; arg: 1 when the lock was handed
 *                     to it, else 0; addr: the lock
 *   STOP_WORLD        arg: threads the stopper waited for
 *   GC                arg: the generation
 *   GC_PHASE          arg: enum gh_tl_gc_phase
 *   BRC_MERGE         arg: objects merged
 *   QSBR_GRACE        a batch of deferred frees, from its hand-off to
 *                     call_rcu to its owner finding it done; arg: frees
 *   QSBR_FREE         the owner running a done batch's frees; arg: frees
 *   HAZARD            arg: enum gh_hazard_kind; addr: the op's name
 *                     (a static string) or NULL
 *   OP                arg: the op's kind (a latency-sampled op)
 */
#define GH_TL_KINDS(X)                                                          \
    X(GIL_HOLD, 1, "GIL held")                                                 \
    X(GIL_WAIT, 1, "waiting for the GIL")                                      \
    X(GIL_DROP_REQUEST, 0, "GIL drop request")                                 \
    X(GIL_HANDOFF, 1, "forced GIL handoff")                                    \
    X(LOCK_WAIT, 1, "lock wait")                                               \
    X(LOCK_HOLD, 1, "lock held")                                               \
    X(LOCK_WAKE, 1, "waking a lock's waiter")                                  \
    X(CS_SUSPEND, 0, "critical sections suspended")                            \
    X(STOP_WORLD, 1, "stopping the world")                                     \
    X(WORLD_STOPPED, 1, "world stopped")                                       \
    X(STOPPED, 1, "stopped")                                                   \
    X(DETACHED, 1, "detached")                                                 \
    X(GC, 1, "collection")                                                     \
    X(GC_PHASE, 1, "gc phase")                                                 \
    X(BRC_MERGE, 1, "biased merge")                                            \
    X(QSBR_GRACE, 1, "QSBR grace period")                                      \
    X(QSBR_FREE, 1, "deferred frees")                                          \
    X(HAZARD, 0, "hazard")                                                     \
    X(OP, 1, "op")

enum gh_tl_kind {
#define GH_X_(name, slice, label) GH_TL_##name,
    GH_TL_KINDS(GH_X_)
#undef GH_X_
    GH_TL_NKINDS
};
extern const char *const gh_tl_labels[GH_TL_NKINDS];
extern const bool gh_tl_is_slice[GH_TL_NKINDS];

/* Hazard events kept per thread and kind (base.c). */
#define GH_TL_HAZARDS_MAX 1000

enum gh_tl_gc_phase { GH_TL_GC_FIND, GH_TL_GC_FINALIZE, GH_TL_GC_DELETE, GH_TL_GC_NPHASES };
extern const char *const gh_tl_gc_phase_names[GH_TL_GC_NPHASES];

struct gh_tl_event {
    uint64_t t0;       /* gh_now_ns() at the start (or the instant) */
    uint64_t dur;      /* ns; 0 for an instant */
    const void *addr;  /* per kind (GH_TL_KINDS) */
    int32_t arg;       /* per kind */
    uint32_t kind;     /* enum gh_tl_kind */
};

/* A thread's ring. Written by its owner only; read after it has joined. */
struct gh_tl_buf {
    struct gh_tl_event *ev; /* [cap] */
    uint32_t cap;           /* a power of two */
    uint64_t written;       /* events ever put; the ring holds the last cap */
    /* The slices in progress (owner only): the world this thread stopped,
     * its detachment. (The GIL's tenure is kept by base/lockprof.h.) */
    uint64_t stw_t0, detach_t0;
};

/* A buffer for about `events` events (rounded up to a power of two, at
 * least 64); NULL when out of memory. */
struct gh_tl_buf *gh_tl_new(uint32_t events);
void gh_tl_free(struct gh_tl_buf *b);
/* Events lost to the ring's wrap. */
GH_INLINE uint64_t gh_tl_dropped(const struct gh_tl_buf *b)
{
    return b->written > b->cap ? b->written - b->cap : 0;
}
/* The i-th oldest event still held, 0 <= i < min(written, cap). */
const struct gh_tl_event *gh_tl_at(const struct gh_tl_buf *b, uint64_t i);

/* The slow path of every hook: appends one event. */
GH_NOINLINE void gh_tl_put(struct gh_tl_buf *b, enum gh_tl_kind kind, uint64_t t0, uint64_t t1,
                           const void *addr, int32_t arg);

/* Records one event on the calling thread's buffer, if it has one. */
GH_INLINE void gh_tl_record(struct gh_tstate *ts, enum gh_tl_kind kind, uint64_t t0, uint64_t t1,
                            const void *addr, int32_t arg)
{
    if (GH_UNLIKELY(ts && ts->tl))
        gh_tl_put(ts->tl, kind, t0, t1, addr, arg);
}

/* The lock class a lockstat set stands for on thread ts, -1 when the set
 * is not one of ts's (a shared set). */
GH_INLINE int gh_tl_lock_class(const struct gh_tstate *ts, const struct gh_lockstat *st)
{
    if (!ts || st < &ts->locks[0] || st >= &ts->locks[GH_LOCK_NCLASSES])
        return -1;
    return (int)(st - ts->locks);
}

/* The profiled part of gh_lock_waited (base/lockprof.c): the wait's
 * histogram and its timeline slice. */
GH_NOINLINE void gh_lock_waited_slow(struct gh_tstate *ts, const struct gh_lockstat *st,
                                     const void *lock, uint64_t t0, uint64_t t1);

/* Every lock kind's slow path as it starts to wait, counting in st: the
 * injection point lock.slow, the lock the watchdog sees this thread wait
 * for (base/tstate.h: wait_lock, cleared by gh_lock_waited), and the
 * wait's start. */
GH_INLINE uint64_t gh_lock_wait_begin(const struct gh_lockstat *st, const void *lock)
{
    GH_PROBE1(lock_wait_begin, lock);
    GH_INJECT(LOCK_SLOW);
    struct gh_tstate *ts = gh_tstate_get();
    if (ts) {
        int c = gh_tl_lock_class(ts, st);
        /* Relaxed, pairs with nothing: a snapshot for the watchdog. */
        gh_atomic_store_relaxed_u32(&ts->wait_class, c < 0 ? GH_LOCK_NCLASSES + 1u
                                                           : (uint32_t)c + 1u);
        gh_atomic_store_relaxed_uptr(&ts->wait_lock, (uintptr_t)lock);
    }
    return gh_now_ns();
}

/* Every lock kind's slow path after a contended acquisition: counts it in
 * st and, when the calling thread is profiled or records a timeline, adds
 * the wait to its histogram and its timeline. */
GH_INLINE void gh_lock_waited(struct gh_lockstat *st, const void *lock, uint64_t t0)
{
    uint64_t t1 = gh_now_ns();
    gh_lockstat_contended(st, t1 - t0);
    struct gh_tstate *ts = gh_tstate_get();
    GH_PROBE3(lock_wait_end, lock, gh_tl_lock_class(ts, st), t1 - t0);
    if (ts) /* relaxed: as in gh_lock_wait_begin */
        gh_atomic_store_relaxed_u32(&ts->wait_class, 0);
    if (GH_UNLIKELY(ts && (ts->lp || ts->tl)))
        gh_lock_waited_slow(ts, st, lock, t0, t1);
}

#endif
