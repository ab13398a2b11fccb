/* stw.c - stopping the world (see stw.h for the protocol). */
#include "base/stw.h"

#include <pthread.h>

#include "base/clock.h"
#include "base/die.h"
#include "base/inject.h"
#include "base/qsbr.h"
#include "base/probes.h"
#include "base/timeline.h"

/* Everything below is protected by `mutex`. */
static struct {
    pthread_mutex_t mutex;
    pthread_cond_t stopped_cond;  /* the stopper waits here for countdown 0 */
    pthread_cond_t world_cond;    /* parked and attaching threads wait here */
    struct gh_tstate *threads;    /* the registry (doubly linked) */
    struct gh_tstate *stopper;    /* non-NULL while a stop is requested or on */
    int countdown;                /* attached threads not yet parked */
    int last_waited;
} stw = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .stopped_cond = PTHREAD_COND_INITIALIZER,
    .world_cond = PTHREAD_COND_INITIALIZER,
};

static void lock(void) { gh_check_pthread(pthread_mutex_lock(&stw.mutex)); }
static void unlock(void) { gh_check_pthread(pthread_mutex_unlock(&stw.mutex)); }

/* ts stops touching objects while a stop waits for it: count it. */
static void count_stopped_locked(struct gh_tstate *ts)
{
    if (stw.stopper && ts != stw.stopper && !ts->stw_stopped) {
        ts->stw_stopped = true;
        if (--stw.countdown == 0)
            gh_check_pthread(pthread_cond_signal(&stw.stopped_cond));
    }
}

/* Waits (mutex held) until no stop is requested, or only ts's own. */
static void wait_world_locked(struct gh_tstate *ts)
{
    while (stw.stopper && stw.stopper != ts)
        gh_check_pthread(pthread_cond_wait(&stw.world_cond, &stw.mutex));
}

void gh_stw_register(struct gh_tstate *ts)
{
    lock();
    ts->stw_state = GH_THREAD_DETACHED;
    ts->stw_stopped = stw.stopper != NULL; /* a stop in progress need not wait for it */
    ts->stw_prev = NULL;
    ts->stw_next = stw.threads;
    if (stw.threads)
        stw.threads->stw_prev = ts;
    stw.threads = ts;
    unlock();
}

void gh_stw_unregister(struct gh_tstate *ts)
{
    lock();
    if (ts->stw_state == GH_THREAD_ATTACHED)
        count_stopped_locked(ts);
    ts->stw_state = GH_THREAD_DETACHED;
    if (ts->stw_prev)
        ts->stw_prev->stw_next = ts->stw_next;
    else if (stw.threads == ts)
        stw.threads = ts->stw_next;
    if (ts->stw_next)
        ts->stw_next->stw_prev = ts->stw_prev;
    ts->stw_next = ts->stw_prev = NULL;
    unlock();
}

/* The timeline's detached slice ends (mutex held); none when the thread
 * detached before it had a ring. */
static void tl_attached(struct gh_tstate *ts)
{
    if (ts->tl->detach_t0)
        gh_tl_put(ts->tl, GH_TL_DETACHED, ts->tl->detach_t0, gh_now_ns(), NULL, -1);
    ts->tl->detach_t0 = 0;
}

void gh_stw_attach(struct gh_tstate *ts)
{
    lock();
    wait_world_locked(ts);
    ts->stw_state = GH_THREAD_ATTACHED;
    if (GH_UNLIKELY(ts->tl))
        tl_attached(ts);
    unlock();
    if (gh_qsbr_enabled)
        gh_qsbr_online(ts);
}

bool gh_stw_try_attach(struct gh_tstate *ts)
{
    lock();
    bool ok = !stw.stopper || stw.stopper == ts;
    if (ok) {
        ts->stw_state = GH_THREAD_ATTACHED;
        if (GH_UNLIKELY(ts->tl))
            tl_attached(ts);
    }
    unlock();
    /* Attached means online, as in gh_stw_attach: an attached thread that
     * stayed offline would free at once what lock-free readers may still
     * read (base/qsbr.h). */
    if (ok && gh_qsbr_enabled)
        gh_qsbr_online(ts);
    return ok;
}

void gh_stw_detach(struct gh_tstate *ts)
{
    gh_qsbr_offline(ts); /* no-op unless online */
    lock();
    count_stopped_locked(ts);
    ts->stw_state = GH_THREAD_DETACHED;
    /* The timeline's detached slice: from here, under the mutex, to the
     * attach that ends it (gh_stw_attach, gh_stw_try_attach). */
    if (GH_UNLIKELY(ts->tl))
        ts->tl->detach_t0 = gh_now_ns();
    unlock();
}

void gh_stw_park(struct gh_tstate *ts)
{
    /* Offline while parked: a grace period must not wait for the world to
     * restart. */
    bool online = ts->qsbr_online;
    GH_INJECT(STW_ACK); /* seen the request, not yet acknowledged */
    gh_qsbr_offline(ts);
    lock();
    /* Seq_cst RMW, as every eval_breaker update; the request itself is read
     * under the mutex. */
    gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_PLEASE_STOP);
    uint64_t t0 = 0;
    if (stw.stopper && stw.stopper != ts) {
        if (ts->tl)
            t0 = gh_now_ns();
        ts->stw_state = GH_THREAD_SUSPENDED;
        count_stopped_locked(ts);
        wait_world_locked(ts);
        ts->stw_state = GH_THREAD_ATTACHED;
    }
    unlock();
    if (t0)
        gh_tl_record(ts, GH_TL_STOPPED, t0, gh_now_ns(), NULL, -1);
    if (online)
        gh_qsbr_online(ts);
}

uint64_t gh_stw_stop(struct gh_tstate *ts)
{
    uint64_t t0 = gh_now_ns();
    GH_PROBE1(stw_begin, ts->index);
    /* Offline while waiting for the others (holding no lock-free pointer):
     * a thread flushing its deferred frees waits for grace periods. */
    bool online = ts->qsbr_online;
    gh_qsbr_offline(ts);
    lock();
    /* Another stop first: we are attached, so it waits for us; park. */
    while (stw.stopper) {
        uint64_t p0 = ts->tl ? gh_now_ns() : 0;
        ts->stw_state = GH_THREAD_SUSPENDED;
        count_stopped_locked(ts);
        wait_world_locked(NULL);
        ts->stw_state = GH_THREAD_ATTACHED;
        if (p0) /* under the mutex: a ring is its owner's alone */
            gh_tl_put(ts->tl, GH_TL_STOPPED, p0, gh_now_ns(), NULL, -1);
    }
    stw.stopper = ts;
    stw.countdown = 0;
    for (struct gh_tstate *t = stw.threads; t; t = t->stw_next) {
        if (t == ts)
            continue;
        t->stw_stopped = t->stw_state != GH_THREAD_ATTACHED;
        if (!t->stw_stopped) {
            stw.countdown++;
            /* Seq_cst as every eval_breaker RMW (base/tstate.h); pairs
             * with nothing: t reads the request itself under the mutex
             * (gh_stw_park). */
            gh_atomic_or_seqcst_u32(&t->eval_breaker, GH_EVAL_PLEASE_STOP);
        }
    }
    stw.last_waited = stw.countdown;
    int waited = stw.countdown;
    while (stw.countdown > 0)
        gh_check_pthread(pthread_cond_wait(&stw.stopped_cond, &stw.mutex));
    /* The timeline's world stops here, under the mutex: every thread it
     * waited for is parked already. */
    uint64_t t1 = gh_now_ns();
    GH_PROBE3(stw_stopped, ts->index, waited, t1 - t0);
    if (GH_UNLIKELY(ts->tl)) {
        gh_tl_put(ts->tl, GH_TL_STOP_WORLD, t0, t1, NULL, waited);
        ts->tl->stw_t0 = t1;
    }
    unlock();
    if (online)
        gh_qsbr_online(ts);
    return gh_now_ns() - t0;
}

void gh_stw_start(struct gh_tstate *ts)
{
    lock();
    gh_assert(stw.stopper == ts);
    stw.stopper = NULL;
    for (struct gh_tstate *t = stw.threads; t; t = t->stw_next)
        t->stw_stopped = false;
    /* Before the broadcast: no parked thread runs before this time. */
    if (GH_UNLIKELY(ts->tl))
        gh_tl_put(ts->tl, GH_TL_WORLD_STOPPED, ts->tl->stw_t0, gh_now_ns(), NULL, -1);
    gh_check_pthread(pthread_cond_broadcast(&stw.world_cond));
    unlock();
    GH_PROBE1(stw_end, ts->index);
}

enum gh_thread_state gh_stw_state(struct gh_tstate *ts)
{
    lock();
    enum gh_thread_state st = (enum gh_thread_state)ts->stw_state;
    unlock();
    return st;
}

int gh_stw_last_waited(void)
{
    lock();
    int n = stw.last_waited;
    unlock();
    return n;
}

bool gh_stw_snapshot(struct gh_tstate *const *threads, int n, int *states, int *stopper)
{
    struct timespec dl = gh_realtime_after(100000000u);
    if (pthread_mutex_timedlock(&stw.mutex, &dl) != 0)
        return false;
    for (int i = 0; i < n; i++)
        states[i] = (int)threads[i]->stw_state;
    *stopper = stw.stopper ? stw.stopper->index : -2;
    unlock();
    return true;
}
