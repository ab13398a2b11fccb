/* gil_lock.c - the GIL's set-up and slow paths (the protocol is in gil_lock.h). */
#include "sync/gil_lock.h"

#include <errno.h>
#include <time.h>

#include "base/clock.h"
#include "base/probes.h"
#include "base/lockprof.h"

struct gh_gil gh__gil;

void gh_gil_init(uint64_t interval_ns, uint32_t ticks)
{
    struct gh_gil *g = &gh__gil;
    pthread_condattr_t ca;
    gh_check_pthread(pthread_mutex_init(&g->mutex, NULL));
    gh_check_pthread(pthread_mutex_init(&g->switch_mutex, NULL));
    gh_check_pthread(pthread_condattr_init(&ca));
    gh_check_pthread(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    gh_check_pthread(pthread_cond_init(&g->cond, &ca));
    gh_check_pthread(pthread_cond_init(&g->switch_cond, &ca));
    pthread_condattr_destroy(&ca);
    g->locked = 0;
    g->holder = NULL;
    g->switch_number = 0;
    g->interval_ns = interval_ns ? interval_ns : 5000000u;
    g->ticks = ticks;
    g->stats = (struct gh_gil_stats_raw){0};
}

void gh_gil_fini(void)
{
    struct gh_gil *g = &gh__gil;
    pthread_mutex_destroy(&g->mutex);
    pthread_mutex_destroy(&g->switch_mutex);
    pthread_cond_destroy(&g->cond);
    pthread_cond_destroy(&g->switch_cond);
}

static struct timespec deadline_after(uint64_t ns)
{
    uint64_t t = gh_now_ns() + ns;
    return (struct timespec){(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
}

void gh_gil_mutex_waited(struct gh_tstate *ts, uint64_t t_asked)
{
    uint64_t t1 = gh_now_ns();
    if (ts->tl && t1 - t_asked >= GH_GIL_MUTEX_WAIT_NS)
        gh_tl_put(ts->tl, GH_TL_GIL_WAIT, t_asked, t1, NULL, 1);
}

void gh_gil_take_wait_slow(struct gh_tstate *ts, uint64_t t_asked)
{
    struct gh_gil *g = &gh__gil;
    struct gh_lockstat *st = &ts->locks[GH_LOCK_gil];
    uint64_t t0 = gh_now_ns();
    st->contended++;
    /* Relaxed, pairs with nothing: what the watchdog sees this thread wait
     * for (base/tstate.h). */
    gh_atomic_store_relaxed_u32(&ts->wait_class, GH_LOCK_gil + 1u);
    gh_atomic_store_relaxed_uptr(&ts->wait_lock, (uintptr_t)g);
    while (g->ticks && g->locked) /* gil-ticks: no requests, wait for a release */
        gh_check_pthread(pthread_cond_wait(&g->cond, &g->mutex));
    while (g->locked) {
        uint64_t seen = g->switch_number;
        struct timespec dl = deadline_after(g->interval_ns);
        int rc = pthread_cond_timedwait(&g->cond, &g->mutex, &dl);
        if (rc != 0 && rc != ETIMEDOUT)
            gh_die(rc, "pthread_cond_timedwait(gil)");
        /* Timed out and nobody took the GIL meanwhile: ask the holder. */
        if (rc == ETIMEDOUT && g->locked && g->switch_number == seen && g->holder) {
            /* Seq_cst OR, as every eval_breaker RMW (base/tstate.h),
             * pairing with nothing: the holder's relaxed check may see it
             * late, which only delays the drop; nothing else is published
             * through it. */
            uint32_t old = gh_atomic_or_seqcst_u32(&g->holder->eval_breaker,
                                                   GH_EVAL_GIL_DROP_REQUEST);
            if (!(old & GH_EVAL_GIL_DROP_REQUEST)) {
                g->stats.drop_requests++;
                GH_PROBE2(gil_drop_request, ts->index, g->holder->index);
                if (ts->tl) {
                    uint64_t now = gh_now_ns();
                    gh_tl_put(ts->tl, GH_TL_GIL_DROP_REQUEST, now, now, NULL,
                              g->holder->index);
                }
            }
        }
    }
    gh_atomic_store_relaxed_u32(&ts->wait_class, 0); /* as above */
    uint64_t t1 = gh_now_ns(), w = t1 - t0;
    st->wait_ns += w;
    if (w > st->wait_max_ns)
        st->wait_max_ns = w;
    if (ts->lp)
        gh_hist_add(&ts->lp->wait[GH_LOCK_gil], w);
    /* The counters time the wait for the GIL itself, profiled or not; the
     * timeline's slice starts where the taker began to block. */
    gh_tl_record(ts, GH_TL_GIL_WAIT, t_asked ? t_asked : t0, t1, NULL, 0);
}

void gh_gil_traced_claim(struct gh_tstate *ts)
{
    struct gh_gil *g = &gh__gil;
    ts->lp->gil_t0 = gh_now_ns();
    ts->lp->gil_prev = g->holder ? g->holder->index : -2;
}

void gh_gil_traced_drop(struct gh_tstate *ts)
{
    struct gh_lockprof *lp = ts->lp;
    if (lp->gil_t0) { /* none when profiling began while the GIL was held */
        uint64_t t1 = gh_now_ns();
        gh_hist_add(&lp->hold[GH_LOCK_gil], t1 - lp->gil_t0);
        if (ts->tl)
            gh_tl_put(ts->tl, GH_TL_GIL_HOLD, lp->gil_t0, t1, NULL, lp->gil_prev);
    }
    lp->gil_t0 = 0;
}

bool gh_gil_take_within(struct gh_tstate *ts, uint64_t ns)
{
    struct gh_gil *g = &gh__gil;
    const uint64_t end = gh_now_ns() + ns;
    gh_check_pthread(pthread_mutex_lock(&g->mutex));
    while (g->locked) {
        uint64_t now = gh_now_ns();
        if (now >= end) {
            gh_check_pthread(pthread_mutex_unlock(&g->mutex));
            return false;
        }
        struct timespec dl = deadline_after(end - now);
        int rc = pthread_cond_timedwait(&g->cond, &g->mutex, &dl);
        if (rc != 0 && rc != ETIMEDOUT)
            gh_die(rc, "pthread_cond_timedwait(gil)");
    }
    gh__gil_claim(ts);
    return true;
}

void gh_gil_drop_handoff_slow(struct gh_tstate *ts)
{
    /* Forced switching: we were asked to drop, so wait until another thread
     * has the GIL rather than take it straight back. One wait, as CPython
     * does; a spurious wakeup only shortens the handoff. */
    struct gh_gil *g = &gh__gil;
    int waited = 0;
    uint64_t t0 = ts->tl ? gh_now_ns() : 0;
    gh_check_pthread(pthread_mutex_lock(&g->switch_mutex));
    if (g->holder == ts) {
        /* Seq_cst as every eval_breaker RMW (base/tstate.h); pairs with
         * nothing: the handoff itself is ordered by the GIL's mutexes. */
        gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_GIL_DROP_REQUEST);
        gh_check_pthread(pthread_cond_wait(&g->switch_cond, &g->switch_mutex));
        waited = 1;
    }
    gh_check_pthread(pthread_mutex_unlock(&g->switch_mutex));
    if (waited) {
        /* Lock order is mutex -> switch_mutex (gh_gil_take), so the counter
         * is updated only after switch_mutex is released. */
        gh_check_pthread(pthread_mutex_lock(&g->mutex));
        g->stats.forced_handoffs++;
        gh_check_pthread(pthread_mutex_unlock(&g->mutex));
        GH_PROBE1(gil_handoff, ts->index);
        if (t0)
            gh_tl_put(ts->tl, GH_TL_GIL_HANDOFF, t0, gh_now_ns(), NULL, -1);
    }
}

void gh_gil_yield_slow(struct gh_tstate *ts)
{
    gh_gil_drop(ts);
    gh_gil_take(ts);
}

void gh_gil_tick_slow(struct gh_tstate *ts)
{
    /* Release and take again at once: whoever wins the mutex race gets it
     * (the take starts a new count). */
    gh_gil_drop(ts);
    gh_gil_take(ts);
}

void gh_gil_stats(struct gh_gil_stats_raw *out)
{
    struct gh_gil *g = &gh__gil;
    gh_check_pthread(pthread_mutex_lock(&g->mutex));
    *out = g->stats;
    gh_check_pthread(pthread_mutex_unlock(&g->mutex));
}

int gh_gil_holder_snapshot(bool *locked)
{
    struct gh_gil *g = &gh__gil;
    struct timespec dl = gh_realtime_after(100000000u);
    if (pthread_mutex_timedlock(&g->mutex, &dl) != 0)
        return -3;
    int who = g->holder ? g->holder->index : -2;
    *locked = g->locked;
    gh_check_pthread(pthread_mutex_unlock(&g->mutex));
    return who;
}
