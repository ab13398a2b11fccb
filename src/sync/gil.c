/* gil.c - the GIL (see gil.h for the protocol). */
#include "sync/gil.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "base/clock.h"
#include "base/die.h"

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;          /* signalled when the GIL is released */
    pthread_mutex_t switch_mutex;
    pthread_cond_t switch_cond;   /* signalled when the GIL is taken */
    int locked;                   /* protected by mutex */
    struct gh_tstate *holder;     /* last thread to take it; mutex + switch_mutex */
    uint64_t switch_number;       /* bumped at every take; mutex + switch_mutex */
    uint64_t interval_ns;
    struct gh_gil_stats_raw stats; /* protected by mutex */
} gil;

void gh_gil_init(uint64_t interval_ns)
{
    pthread_condattr_t ca;
    gh_check_pthread(pthread_mutex_init(&gil.mutex, NULL));
    gh_check_pthread(pthread_mutex_init(&gil.switch_mutex, NULL));
    gh_check_pthread(pthread_condattr_init(&ca));
    gh_check_pthread(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    gh_check_pthread(pthread_cond_init(&gil.cond, &ca));
    gh_check_pthread(pthread_cond_init(&gil.switch_cond, &ca));
    pthread_condattr_destroy(&ca);
    gil.locked = 0;
    gil.holder = NULL;
    gil.switch_number = 0;
    gil.interval_ns = interval_ns ? interval_ns : 5000000u;
    gil.stats = (struct gh_gil_stats_raw){0};
}

void gh_gil_fini(void)
{
    pthread_mutex_destroy(&gil.mutex);
    pthread_mutex_destroy(&gil.switch_mutex);
    pthread_cond_destroy(&gil.cond);
    pthread_cond_destroy(&gil.switch_cond);
}

static struct timespec deadline_after(uint64_t ns)
{
    uint64_t t = gh_now_ns() + ns;
    return (struct timespec){(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
}

void gh_gil_take(struct gh_tstate *ts)
{
    struct gh_lockstat *st = &ts->locks[GH_LOCK_gil];
    uint64_t t0 = 0;
    gh_check_pthread(pthread_mutex_lock(&gil.mutex));
    if (gil.locked) {
        t0 = gh_now_ns();
        st->contended++;
    }
    while (gil.locked) {
        uint64_t seen = gil.switch_number;
        struct timespec dl = deadline_after(gil.interval_ns);
        int rc = pthread_cond_timedwait(&gil.cond, &gil.mutex, &dl);
        if (rc != 0 && rc != ETIMEDOUT)
            gh_die(rc, "pthread_cond_timedwait(gil)");
        /* Timed out and nobody took the GIL meanwhile: ask the holder. */
        if (rc == ETIMEDOUT && gil.locked && gil.switch_number == seen && gil.holder) {
            /* Seq_cst OR: the holder's relaxed check may see it late, which
             * only delays the drop; nothing else is published through it. */
            uint32_t old = gh_atomic_or_seqcst_u32(&gil.holder->eval_breaker,
                                                   GH_EVAL_GIL_DROP_REQUEST);
            if (!(old & GH_EVAL_GIL_DROP_REQUEST))
                gil.stats.drop_requests++;
        }
    }
    /* Taking it: both mutexes, so a forced dropper waiting on switch_cond
     * sees holder and switch_number change together. */
    gh_check_pthread(pthread_mutex_lock(&gil.switch_mutex));
    gil.locked = 1;
    if (gil.holder != ts && gil.holder != NULL)
        gil.stats.switches++;
    gil.holder = ts;
    gil.switch_number++;
    gh_check_pthread(pthread_cond_signal(&gil.switch_cond));
    gh_check_pthread(pthread_mutex_unlock(&gil.switch_mutex));
    /* A request addressed to our previous tenure is void now. */
    gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_GIL_DROP_REQUEST);
    st->acquisitions++;
    gh_check_pthread(pthread_mutex_unlock(&gil.mutex));
    if (t0) {
        uint64_t w = gh_now_ns() - t0;
        st->wait_ns += w;
        if (w > st->wait_max_ns)
            st->wait_max_ns = w;
    }
}

void gh_gil_drop(struct gh_tstate *ts)
{
    gh_check_pthread(pthread_mutex_lock(&gil.mutex));
    gh_assert(gil.locked && gil.holder == ts);
    gil.locked = 0;
    gh_check_pthread(pthread_cond_signal(&gil.cond));
    gh_check_pthread(pthread_mutex_unlock(&gil.mutex));

    /* Forced switching: if we were asked to drop, wait until another thread
     * has the GIL, so we do not take it straight back. One wait, as CPython
     * does; a spurious wakeup only shortens the handoff. */
    if (gh_atomic_load_relaxed_u32(&ts->eval_breaker) & GH_EVAL_GIL_DROP_REQUEST) {
        int waited = 0;
        gh_check_pthread(pthread_mutex_lock(&gil.switch_mutex));
        if (gil.holder == ts) {
            gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_GIL_DROP_REQUEST);
            gh_check_pthread(pthread_cond_wait(&gil.switch_cond, &gil.switch_mutex));
            waited = 1;
        }
        gh_check_pthread(pthread_mutex_unlock(&gil.switch_mutex));
        if (waited) {
            /* Lock order is mutex -> switch_mutex (gh_gil_take), so the
             * counter is updated only after switch_mutex is released. */
            gh_check_pthread(pthread_mutex_lock(&gil.mutex));
            gil.stats.forced_handoffs++;
            gh_check_pthread(pthread_mutex_unlock(&gil.mutex));
        }
    }
}

void gh_gil_yield_slow(struct gh_tstate *ts)
{
    gh_gil_drop(ts);
    gh_gil_take(ts);
}

void gh_gil_stats(struct gh_gil_stats_raw *out)
{
    gh_check_pthread(pthread_mutex_lock(&gil.mutex));
    *out = gil.stats;
    gh_check_pthread(pthread_mutex_unlock(&gil.mutex));
}
