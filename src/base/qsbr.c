/* qsbr.c - liburcu QSBR registration, quiescent states and deferred frees
 * (the design is in qsbr.h). */
#define _LGPL_SOURCE 1
#include <urcu/urcu-qsbr.h> /* the urcu_qsbr_-prefixed names only, no flavour macros */

#include "base/qsbr.h"

#include <stdlib.h>

#include "base/atomic.h"
#include "base/die.h"
#include "base/stw.h"
#include "base/timeline.h"

#if GH_TSAN
#include <sanitizer/tsan_interface.h>
/* The grace period as ThreadSanitizer sees it: every quiescent state and
 * every going-offline releases this object; every callback acquires it
 * (TSan cannot see liburcu's grace periods, which order with the
 * membarrier and futex calls it does not model). */
static char gp_sync;
#define GP_RELEASE() __tsan_release(&gp_sync)
#define GP_ACQUIRE() __tsan_acquire(&gp_sync)
#else
#define GP_RELEASE() ((void)0)
#define GP_ACQUIRE() ((void)0)
#endif

bool gh_qsbr_enabled;

/* Statistics: relaxed atomic counters, read after the threads end. Both
 * are added to once per batch, as it is handed to call_rcu: an atomic add
 * per deferred free, on a line every freeing thread shares, was 4% of the
 * CPU samples of ft on shared-list at 2 threads (perf, cpu-clock). */
static uint64_t stat_batches, stat_deferred;

struct batch {
    struct rcu_head head;  /* call_rcu's link, written before call_rcu */
    struct batch *next;    /* the owner's FIFO: owner only */
    uint32_t done;         /* 0 -> 1 by the callback (release store), read
                              by the owner (acquire load) */
    uint32_t n;            /* owner only */
    uint64_t t_submit;     /* --trace: when it was handed to call_rcu (owner
                              only; 0 without a timeline) */
    struct {
        void (*fn)(void *p, size_t n);
        void *p;
        size_t size;
    } e[GH_QSBR_BATCH];
};

void gh_qsbr_enable(bool on)
{
    gh_qsbr_enabled = on;
    gh_atomic_store_relaxed_u64(&stat_batches, 0);
    gh_atomic_store_relaxed_u64(&stat_deferred, 0);
}

void gh_qsbr_online(struct gh_tstate *ts)
{
    if (!ts->qsbr_registered) {
        urcu_qsbr_register_thread(); /* registered threads start online */
        ts->qsbr_registered = true;
    } else {
        urcu_qsbr_thread_online();
    }
    ts->qsbr_online = true;
    ts->qsbr_countdown = GH_QSBR_PERIOD;
}

void gh_qsbr_offline(struct gh_tstate *ts)
{
    if (!ts->qsbr_online)
        return;
    ts->qsbr_online = false;
    GP_RELEASE(); /* our reads so far happen-before any later callback */
    urcu_qsbr_thread_offline();
}

static void batch_done(struct rcu_head *h)
{
    GP_ACQUIRE(); /* pairs with GP_RELEASE in every reader */
    struct batch *b = caa_container_of(h, struct batch, head);
    /* Release: pairs with the owner's acquire in reclaim, so the owner's
     * frees come after the grace period (and TSan sees it). */
    gh_atomic_store_release_u32(&b->done, 1);
}

static void batch_free(struct batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        b->e[i].fn(b->e[i].p, b->e[i].size);
    free(b);
}

/* Frees the done batches at the head of the FIFO (call_rcu runs callbacks
 * in order, so the first not done ends the walk). */
static void reclaim(struct gh_tstate *ts)
{
    struct batch *b;
    /* Acquire: pairs with the release store of done in batch_done, so the
     * frees below come after the grace period. */
    while ((b = ts->qsbr_head) && gh_atomic_load_acquire_u32(&b->done)) {
        ts->qsbr_head = b->next;
        if (!b->next)
            ts->qsbr_tail = NULL;
        if (GH_UNLIKELY(ts->tl && b->t_submit)) {
            uint64_t t1 = gh_now_ns();
            int32_t n = (int32_t)b->n;
            gh_tl_put(ts->tl, GH_TL_QSBR_GRACE, b->t_submit, t1, NULL, n);
            batch_free(b);
            gh_tl_put(ts->tl, GH_TL_QSBR_FREE, t1, gh_now_ns(), NULL, n);
            continue;
        }
        batch_free(b);
    }
}

void gh_qsbr_quiescent(struct gh_tstate *ts)
{
    ts->qsbr_countdown = GH_QSBR_PERIOD;
    GP_RELEASE();
    urcu_qsbr_quiescent_state();
    if (ts->qsbr_head)
        reclaim(ts);
}

/* Hands the pending batch to call_rcu (the thread is online). */
static void submit(struct gh_tstate *ts)
{
    struct batch *b = ts->qsbr_pending;
    if (!b)
        return;
    ts->qsbr_pending = NULL;
    b->next = NULL;
    if (ts->qsbr_tail)
        ((struct batch *)ts->qsbr_tail)->next = b;
    else
        ts->qsbr_head = b;
    ts->qsbr_tail = b;
    b->t_submit = ts->tl ? gh_now_ns() : 0;
    gh_atomic_add_relaxed_u64(&stat_batches, 1);
    gh_atomic_add_relaxed_u64(&stat_deferred, b->n);
    urcu_qsbr_call_rcu(&b->head, batch_done);
}

void gh_qsbr_defer(void (*fn)(void *p, size_t n), void *p, size_t n)
{
    struct gh_tstate *ts = gh_tstate_get();
    gh_assert(ts && ts->qsbr_online);
    struct batch *b = ts->qsbr_pending;
    if (!b) {
        b = malloc(sizeof *b);
        gh_assert(b != NULL);
        b->done = 0;
        b->n = 0;
        ts->qsbr_pending = b;
    }
    b->e[b->n].fn = fn;
    b->e[b->n].p = p;
    b->e[b->n].size = n;
    if (++b->n == GH_QSBR_BATCH)
        submit(ts);
}

void gh_qsbr_flush(struct gh_tstate *ts)
{
    if (!ts->qsbr_registered)
        return;
    bool was_online = ts->qsbr_online;
    if (!was_online)
        gh_qsbr_online(ts); /* call_rcu needs an online thread */
    /* A callback may defer again (a free that empties a type-stable pool,
     * alloc/heap.c, holds it for a grace period of its own): until a round
     * defers nothing. Each round's callbacks release pools no later one
     * defers again (nothing is allocated meanwhile), so a few rounds do. */
    for (int round = 0;; round++) {
        gh_assert(round < 8);
        if (!ts->qsbr_online)
            gh_qsbr_online(ts);
        submit(ts);
        if (!ts->qsbr_head)
            break;
        /* Wait for every callback detached (offline): a stop of the world
         * may come meanwhile and must not wait for us, nor our grace
         * period for the stopper. */
        bool attached = ts->stw_state == GH_THREAD_ATTACHED;
        if (attached)
            gh_stw_detach(ts); /* goes offline */
        else
            gh_qsbr_offline(ts);
        urcu_qsbr_barrier();
        if (attached)
            gh_stw_attach(ts); /* online again */
        reclaim(ts); /* every batch so far; callbacks may have added more */
    }
    if (!was_online && ts->qsbr_online)
        gh_qsbr_offline(ts);
    else if (was_online && !ts->qsbr_online)
        gh_qsbr_online(ts);
}

void gh_qsbr_thread_exit(struct gh_tstate *ts)
{
    if (!ts->qsbr_registered)
        return;
    if (ts->qsbr_pending || ts->qsbr_head)
        gh_qsbr_flush(ts); /* a thread that did not flush at its stop */
    GP_RELEASE();
    urcu_qsbr_unregister_thread(); /* goes offline first if online */
    ts->qsbr_online = ts->qsbr_registered = false;
}

void gh_qsbr_stats_get(struct gh_qsbr_stats *out)
{
    out->batches = gh_atomic_load_relaxed_u64(&stat_batches);
    out->deferred = gh_atomic_load_relaxed_u64(&stat_deferred);
}
