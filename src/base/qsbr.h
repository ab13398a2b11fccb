/* qsbr.h - quiescent-state-based reclamation (liburcu's QSBR flavour) for
 * the lock-free reads of sync=objlock rc=biased (the ft preset).
 *
 * A lock-free reader (list.get, dict.get: containers/containers.h) loads an
 * item array or a dict table and an object pointer without the container's
 * lock. Memory it may still be reading must not be reused until it has
 * passed a quiescent state. Here:
 *
 *   online     a registered thread that is attached (base/stw.h) is online:
 *              gh_stw_attach brings it online (registering it the first
 *              time), gh_stw_detach takes it offline. So every block that
 *              already detaches (io, parking on a container mutex, waiting
 *              for a stopped world to restart, a thread's stop) is also an
 *              extended quiescent state and never stalls a grace period.
 *   quiescent  the flavour's switch point (sync/sync.h, gh_sync_checkpoint)
 *              reports one every GH_QSBR_PERIOD switch points. A reader
 *              holds no unprotected pointer across a switch point.
 *   deferred   under QSBR what a lock-free reader may still be reading
 *              when it is dropped goes to the freeing thread's current
 *              batch (gh_qsbr_defer): the item arrays and tables a shared
 *              list or dict drops (containers/containers.h), objects
 *              whose block is not type-stable (object/object.c), and the
 *              release of a type-stable pool that emptied (alloc/heap.c;
 *              objects in such pools are freed at once, as free-threaded
 *              CPython frees them to mimalloc). A full batch is handed to
 *              call_rcu; its callback (on liburcu's call_rcu thread) only
 *              marks the batch done. The owner frees done batches itself at
 *              its next quiescent state: the memory goes back on the thread
 *              that gave it up, while that thread is attached, as every
 *              other free (alloc=thread's ownership and the collector's
 *              heap walk under a stopped world both rely on that).
 *   flush      gh_qsbr_flush, at a thread's stop (gh_rc_thread_stop under
 *              the flavour) and before alloc=thread's heap detaches: the
 *              pending batch goes to call_rcu, the thread detaches,
 *              rcu_barrier() waits for every callback, and the thread
 *              attaches again and frees all its batches; again while the
 *              callbacks deferred more (a freed array that empties a
 *              pool holds the pool for a grace period of its own).
 *
 * Why call_rcu and not synchronize_rcu: a free happens inside operations,
 * possibly under a container's lock; synchronize_rcu would block the
 * freeing thread until every other online thread reached a switch point.
 * call_rcu never blocks it; its cost is one helper thread (liburcu's, which
 * registers itself) and a batch of GH_QSBR_BATCH frees per callback.
 *
 * Only when enabled (gh_qsbr_enable, before any thread attaches; the runner
 * does it for the objlock:biased flavour). A thread that is not online runs
 * alone among object users (setup, teardown) and frees at once.
 *
 * ThreadSanitizer does not see liburcu's grace periods (inline asm, futex,
 * volatile counters): quiescent
 * states and going offline release a dummy sync object that the callback
 * acquires; the done flag is a release store the owner acquires.
 *
 * Layer: base (the only user of liburcu).
 */
#ifndef GH_BASE_QSBR_H
#define GH_BASE_QSBR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/tstate.h"

/* Switch points between two reported quiescent states. */
#define GH_QSBR_PERIOD 16u
/* Frees per batch (one call_rcu each). */
#define GH_QSBR_BATCH 256u

/* Written once before any thread starts (thread creation publishes it). */
extern bool gh_qsbr_enabled;
void gh_qsbr_enable(bool on);

/* The calling thread's QSBR state, from base/stw.c's attach and detach. */
GH_NOINLINE void gh_qsbr_online(struct gh_tstate *ts);
GH_NOINLINE void gh_qsbr_offline(struct gh_tstate *ts);
/* Reports a quiescent state and frees the batches whose grace period has
 * ended. Online threads only. */
GH_NOINLINE void gh_qsbr_quiescent(struct gh_tstate *ts);

/* At a switch point. */
GH_INLINE void gh_qsbr_checkpoint(struct gh_tstate *ts)
{
    if (GH_UNLIKELY(ts->qsbr_online && --ts->qsbr_countdown == 0))
        gh_qsbr_quiescent(ts);
}

/* Whether the calling thread defers its frees (it is online). */
GH_INLINE bool gh_qsbr_deferring(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    return ts && ts->qsbr_online;
}

/* fn(p, n) after a grace period, on this thread. gh_qsbr_deferring(). */
void gh_qsbr_defer(void (*fn)(void *p, size_t n), void *p, size_t n);

/* Frees everything this thread deferred (waits for the grace periods,
 * detached meanwhile). The thread is attached, or runs alone. */
void gh_qsbr_flush(struct gh_tstate *ts);
/* Unregisters the calling thread (gh_tstate_unbind); nothing may be
 * pending. */
void gh_qsbr_thread_exit(struct gh_tstate *ts);

/* Since gh_qsbr_enable: batches handed to call_rcu, and the frees
 * deferred in them (a batch not yet handed over is not counted: read after
 * the threads' gh_qsbr_flush). */
struct gh_qsbr_stats {
    uint64_t batches, deferred;
};
void gh_qsbr_stats_get(struct gh_qsbr_stats *out);

#endif
