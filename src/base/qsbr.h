/* qsbr.h - quiescent-state-based reclamation (liburcu's QSBR flavour) for
 * the lock-free reads of sync=objlock rc=biased (the ft preset).
 *
 * A lock-free reader (list.get, dict.get: containers/containers.h) may
 * still be reading an item array, a dict table or an object after it is
 * dropped; that memory is not reused before the reader has passed a
 * quiescent state.
 *
 *   online     attached (base/stw.h) means online: gh_stw_attach brings a
 *              thread online (registering it the first time),
 *              gh_stw_detach takes it offline, so every wait that detaches
 *              is an extended quiescent state.
 *   quiescent  the flavour's switch point (gh_sync_checkpoint) reports one
 *              every GH_QSBR_PERIOD switch points. No reader keeps an
 *              unprotected pointer across a switch point.
 *   deferred   gh_qsbr_defer puts what must wait into the freeing thread's
 *              batch; a full batch (GH_QSBR_BATCH) goes to call_rcu, whose
 *              callback only marks it done. The owner frees done batches
 *              itself, attached, at its next quiescent state.
 *   flush      gh_qsbr_flush (a thread's stop; before alloc=thread's heap
 *              detaches): hand the batch to call_rcu, detach, rcu_barrier,
 *              attach, free; again while the callbacks deferred more.
 *
 * Only when enabled (gh_qsbr_enable, before any thread attaches; the
 * runtime enables it for the objlock:biased flavour). A thread that is not
 * online runs alone among object users (setup, teardown) and frees at once.
 *
 * ThreadSanitizer does not see liburcu's grace periods: quiescent states
 * and going offline release a dummy sync object that the callback
 * acquires; the done flag is a release store the owner acquires.
 *
 * What waits and why: docs/strategies.md ("Lock-free reads").
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
