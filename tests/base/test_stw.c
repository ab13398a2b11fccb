/* test_stw.c - stopping the world (base/stw.c) and the detaching lock
 * waiter (base/mutex.c), with real threads.
 *
 * Workers are bound thread states that attach and loop over
 * gh_stw_checkpoint (their switch point), counting. While the world is
 * stopped no counter may move; a detached thread counts as stopped at once
 * and waits in gh_stw_attach until the world restarts; two stoppers take
 * turns; a thread that unbinds while a stop waits for it releases the
 * stop; a thread waiting (detached) for an object's lock does not take it
 * while the world is stopped.
 *
 * Every wait in these tests is bounded (deadline) or covered by the test's
 * timeout, so a lost wake-up fails instead of hanging the suite. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic.h"
#include "base/clock.h"
#include "base/mutex.h"
#include "base/stw.h"
#include "base/tstate.h"

#define MS (1000000ull)

/* Spins (sleeping 100 us) until *p != 0 or `ms` pass; returns *p.
 * Acquire: pairs with set_flag's release store, so what the setter did
 * before is visible once the flag reads set. */
static int wait_flag(const int *p, uint64_t ms)
{
    uint64_t end = gh_now_ns() + ms * MS;
    while (!gh_atomic_load_acquire_int(p) && gh_now_ns() < end)
        gh_sleep_ns(100000);
    return gh_atomic_load_acquire_int(p);
}

/* Release: pairs with the acquire loads of wait_flag and the tests. */
static void set_flag(int *p) { gh_atomic_store_release_int(p, 1); }

/* ---- counting workers ----------------------------------------------------- */

struct worker {
    struct gh_tstate ts;
    pthread_t thread;
    uint64_t count;     /* written by the worker (relaxed), read by the test */
    int quit;           /* set by the test */
    int started;
    int io_every;       /* >0: detach for a moment every io_every rounds */
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    gh_tstate_bind(&w->ts, 1, "stw-worker");
    gh_stw_attach(&w->ts);
    set_flag(&w->started);
    uint64_t n = 0;
    while (!gh_atomic_load_relaxed_int(&w->quit)) {
        gh_stw_checkpoint(&w->ts);
        gh_atomic_store_relaxed_u64(&w->count, ++n);
        if (w->io_every && n % (uint64_t)w->io_every == 0) {
            gh_stw_detach(&w->ts); /* a blocking call: counts as stopped */
            sched_yield();
            gh_stw_attach(&w->ts);
        }
    }
    gh_stw_detach(&w->ts);
    gh_tstate_unbind();
    return NULL;
}

static void workers_start(struct worker *w, int n, int io_every)
{
    for (int i = 0; i < n; i++) {
        w[i].io_every = io_every;
        cr_assert_eq(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < n; i++)
        cr_assert(wait_flag(&w[i].started, 5000), "worker %d started", i);
}

static void workers_stop(struct worker *w, int n)
{
    for (int i = 0; i < n; i++)
        gh_atomic_store_relaxed_int(&w[i].quit, 1);
    for (int i = 0; i < n; i++)
        pthread_join(w[i].thread, NULL);
}

static uint64_t count_of(struct worker *w) { return gh_atomic_load_relaxed_u64(&w->count); }

/* Waits until every worker counted past `than[i]`. */
static void wait_moving(struct worker *w, int n, const uint64_t *than)
{
    uint64_t end = gh_now_ns() + 5000 * MS;
    for (int i = 0; i < n; i++)
        while (count_of(&w[i]) <= (than ? than[i] : 0)) {
            cr_assert_lt(gh_now_ns(), end, "worker %d runs while the world runs", i);
            sched_yield();
        }
}

#define NW 3
static struct worker workers[NW];
static struct gh_tstate main_ts;

Test(stw, stopped_workers_do_not_move_until_start, .timeout = 60)
{
    gh_tstate_bind(&main_ts, -1, "stw-main");
    gh_stw_attach(&main_ts);
    workers_start(workers, NW, 0);
    for (int round = 0; round < 20; round++) {
        wait_moving(workers, NW, NULL);
        gh_stw_stop(&main_ts);
        cr_assert_eq(gh_stw_last_waited(), NW, "every attached worker was waited for");
        uint64_t snap[NW];
        for (int i = 0; i < NW; i++)
            snap[i] = count_of(&workers[i]);
        gh_sleep_ns(round == 0 ? 50 * MS : 2 * MS);
        for (int i = 0; i < NW; i++)
            cr_assert_eq(count_of(&workers[i]), snap[i], "round %d: worker %d moved while stopped",
                         round, i);
        gh_stw_start(&main_ts);
        wait_moving(workers, NW, snap);
    }
    workers_stop(workers, NW);
    gh_stw_detach(&main_ts);
    gh_tstate_unbind();
}

Test(stw, workers_that_detach_for_io_are_stopped_too, .timeout = 60)
{
    gh_tstate_bind(&main_ts, -1, "stw-main");
    gh_stw_attach(&main_ts);
    workers_start(workers, NW, 7);
    for (int round = 0; round < 200; round++) {
        uint64_t snap[NW];
        gh_stw_stop(&main_ts);
        for (int i = 0; i < NW; i++)
            snap[i] = count_of(&workers[i]);
        for (int spin = 0; spin < 50; spin++)
            sched_yield();
        for (int i = 0; i < NW; i++)
            cr_assert_eq(count_of(&workers[i]), snap[i], "round %d: worker %d moved", round, i);
        gh_stw_start(&main_ts);
        sched_yield();
    }
    workers_stop(workers, NW);
    gh_stw_detach(&main_ts);
    gh_tstate_unbind();
}

/* ---- detached threads --------------------------------------------------------- */

struct sleeper {
    struct gh_tstate ts;
    pthread_t thread;
    int bound, go_attach, attached, quit;
    bool bind_late; /* bind only when told to attach */
};

static void *sleeper_main(void *p)
{
    struct sleeper *s = p;
    if (!s->bind_late) {
        gh_tstate_bind(&s->ts, 2, "stw-sleeper");
        set_flag(&s->bound);
    }
    /* Detached (never attached yet): waiting for something outside the
     * model. Acquire: pairs with the test's set_flag(go_attach). */
    while (!gh_atomic_load_acquire_int(&s->go_attach))
        gh_sleep_ns(100000);
    if (s->bind_late) {
        gh_tstate_bind(&s->ts, 3, "stw-late");
        set_flag(&s->bound);
    }
    gh_stw_attach(&s->ts);
    set_flag(&s->attached);
    /* Acquire: pairs with the test's set_flag(quit). */
    while (!gh_atomic_load_acquire_int(&s->quit)) {
        gh_stw_checkpoint(&s->ts);
        sched_yield();
    }
    gh_stw_detach(&s->ts);
    gh_tstate_unbind();
    return NULL;
}

Test(stw, a_detached_thread_counts_as_stopped_and_attach_waits_for_start, .timeout = 30)
{
    static struct sleeper s, late;
    late.bind_late = true;
    gh_tstate_bind(&main_ts, -1, "stw-main");
    gh_stw_attach(&main_ts);
    cr_assert_eq(pthread_create(&s.thread, NULL, sleeper_main, &s), 0);
    cr_assert_eq(pthread_create(&late.thread, NULL, sleeper_main, &late), 0);
    cr_assert(wait_flag(&s.bound, 5000));

    uint64_t tts = gh_stw_stop(&main_ts); /* returns although s never reaches a switch point */
    cr_assert_eq(gh_stw_last_waited(), 0, "a detached thread is not waited for");
    cr_assert_lt(tts, 1000 * MS, "at once (%ju ns)", (uintmax_t)tts);

    /* Both try to attach now (one binds first, during the stop). */
    set_flag(&s.go_attach);
    set_flag(&late.go_attach);
    cr_assert(wait_flag(&late.bound, 5000), "binding during a stop does not wait");
    gh_sleep_ns(100 * MS);
    /* Acquire: pairs with sleeper_main's set_flag(attached). */
    cr_assert_not(gh_atomic_load_acquire_int(&s.attached), "attach waits while the world is stopped");
    cr_assert_not(gh_atomic_load_acquire_int(&late.attached), "... for a thread bound during the stop too");
    gh_stw_start(&main_ts);
    cr_assert(wait_flag(&s.attached, 5000), "attached after start");
    cr_assert(wait_flag(&late.attached, 5000));

    /* Attached now: the next stop waits for both. */
    gh_stw_stop(&main_ts);
    cr_assert_eq(gh_stw_last_waited(), 2);
    gh_stw_start(&main_ts);

    set_flag(&s.quit);
    set_flag(&late.quit);
    pthread_join(s.thread, NULL);
    pthread_join(late.thread, NULL);
    gh_stw_detach(&main_ts);
    gh_tstate_unbind();
}

/* ---- two stoppers ------------------------------------------------------------------ */

static int in_stop;     /* stoppers inside their stopped section */
static int overlaps;    /* times two were inside at once */
static int moved;       /* times a worker moved inside a stopped section */

static pthread_barrier_t stoppers_meet;

struct stopper {
    struct gh_tstate ts;
    pthread_t thread;
    int rounds;
};

static void *stopper_main(void *p)
{
    struct stopper *s = p;
    gh_tstate_bind(&s->ts, 4, "stw-stopper");
    gh_stw_attach(&s->ts);
    for (int r = 0; r < s->rounds; r++) {
        /* Meet detached (the other may still be stopping the world), then
         * meet again attached (nobody stops between the two meetings), then
         * both stop at once: one finds the other's stop requested. */
        gh_stw_detach(&s->ts);
        int rc = pthread_barrier_wait(&stoppers_meet);
        cr_assert(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
        gh_stw_attach(&s->ts);
        rc = pthread_barrier_wait(&stoppers_meet);
        cr_assert(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
        gh_stw_stop(&s->ts);
        /* Pairs with the other stopper's add and subtract: the RMW's
         * atomicity shows an overlap. Seq_cst is more than needed (the
         * stops are ordered by the stop's mutex); relaxed would do. */
        if (gh_atomic_add_seqcst_int(&in_stop, 1) != 0)
            gh_atomic_add_relaxed_int(&overlaps, 1);
        uint64_t snap[NW];
        for (int i = 0; i < NW; i++)
            snap[i] = count_of(&workers[i]);
        for (int spin = 0; spin < 20; spin++)
            sched_yield();
        for (int i = 0; i < NW; i++)
            if (count_of(&workers[i]) != snap[i])
                gh_atomic_add_relaxed_int(&moved, 1);
        gh_atomic_sub_relaxed_int(&in_stop, 1);
        gh_stw_start(&s->ts);
        /* A stopper is a thread like the others: its switch point. */
        gh_stw_checkpoint(&s->ts);
    }
    gh_stw_detach(&s->ts);
    gh_tstate_unbind();
    return NULL;
}

Test(stw, two_concurrent_stoppers_take_turns, .timeout = 30)
{
    static struct stopper st[2];
    cr_assert_eq(pthread_barrier_init(&stoppers_meet, NULL, 2), 0);
    workers_start(workers, NW, 5);
    for (int i = 0; i < 2; i++) {
        st[i].rounds = 300;
        cr_assert_eq(pthread_create(&st[i].thread, NULL, stopper_main, &st[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(st[i].thread, NULL);
    cr_assert_eq(overlaps, 0, "one stop at a time");
    cr_assert_eq(moved, 0, "no worker ran during a stop");
    workers_stop(workers, NW);
    pthread_barrier_destroy(&stoppers_meet);
}

/* ---- unbinding while a stop waits ------------------------------------------------------ */

struct blocked {
    struct gh_tstate ts;
    pthread_t thread;
    int attached, release, detach_instead;
};

static void *blocked_main(void *p)
{
    struct blocked *b = p;
    gh_tstate_bind(&b->ts, 5, "stw-blocked");
    gh_stw_attach(&b->ts);
    set_flag(&b->attached);
    /* Attached but not at a switch point (a long operation). Acquire:
     * pairs with the test's set_flag(release). */
    while (!gh_atomic_load_acquire_int(&b->release))
        gh_sleep_ns(100000);
    if (b->detach_instead)
        gh_stw_detach(&b->ts);
    gh_tstate_unbind(); /* without detaching first, or after */
    return NULL;
}

struct stop_call {
    struct gh_tstate ts;
    pthread_t thread;
    int stopped;
};

static void *stop_call_main(void *p)
{
    struct stop_call *c = p;
    gh_tstate_bind(&c->ts, 6, "stw-stopcall");
    gh_stw_attach(&c->ts);
    gh_stw_stop(&c->ts);
    set_flag(&c->stopped);
    gh_stw_start(&c->ts);
    gh_stw_detach(&c->ts);
    gh_tstate_unbind();
    return NULL;
}

static void unbind_during_pending_stop(bool detach_instead)
{
    static struct blocked b;
    static struct stop_call c;
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    b.detach_instead = detach_instead;
    cr_assert_eq(pthread_create(&b.thread, NULL, blocked_main, &b), 0);
    cr_assert(wait_flag(&b.attached, 5000));
    cr_assert_eq(pthread_create(&c.thread, NULL, stop_call_main, &c), 0);
    /* The stop is pending: it asked b to stop, and waits. */
    uint64_t end = gh_now_ns() + 5000 * MS;
    while (!(gh_atomic_load_relaxed_u32(&b.ts.eval_breaker) & GH_EVAL_PLEASE_STOP))
        cr_assert_lt(gh_now_ns(), end, "the stopper asked b to stop");
    gh_sleep_ns(50 * MS);
    /* Acquire: pairs with stop_call_main's set_flag(stopped). */
    cr_assert_not(gh_atomic_load_acquire_int(&c.stopped), "the stop waits for attached b");
    set_flag(&b.release);
    cr_assert(wait_flag(&c.stopped, 5000), "b leaving releases the stop");
    pthread_join(b.thread, NULL);
    pthread_join(c.thread, NULL);
}

Test(stw, unbinding_while_a_stop_is_pending_does_not_hang, .timeout = 30)
{
    unbind_during_pending_stop(false);
}

Test(stw, detaching_while_a_stop_is_pending_releases_it, .timeout = 30)
{
    unbind_during_pending_stop(true);
}

/* ---- the detaching lock waiter (base/mutex.c) ---------------------------------------------- */

static gh_mutex obj_lock; /* stands for an object's lock */

struct lock_waiter {
    struct gh_tstate ts;
    pthread_t thread;
    int attached, acquired;
};

static void *lock_waiter_main(void *p)
{
    struct lock_waiter *w = p;
    gh_tstate_bind(&w->ts, 7, "stw-lockwait");
    gh_stw_attach(&w->ts);
    set_flag(&w->attached);
    gh_mutex_lock(&obj_lock, &w->ts.locks[GH_LOCK_instance]);
    set_flag(&w->acquired);
    gh_mutex_unlock(&obj_lock);
    gh_stw_detach(&w->ts);
    gh_tstate_unbind();
    return NULL;
}

Test(stw, a_thread_waiting_for_an_object_lock_is_stopped_and_does_not_take_it, .timeout = 30)
{
    static struct lock_waiter w;
    gh_tstate_bind(&main_ts, -1, "stw-main");
    gh_stw_attach(&main_ts);
    gh_mutex_lock(&obj_lock, &main_ts.locks[GH_LOCK_instance]);
    cr_assert_eq(pthread_create(&w.thread, NULL, lock_waiter_main, &w), 0);
    cr_assert(wait_flag(&w.attached, 5000));
    /* Wait until it sleeps on the lock (detached). */
    uint64_t end = gh_now_ns() + 5000 * MS;
    while (gh_stw_state(&w.ts) != GH_THREAD_DETACHED)
        cr_assert_lt(gh_now_ns(), end, "the waiter parks detached");
    gh_mutex_unlock(&obj_lock); /* wakes it: it must attach before it contends */
    /* The main thread holds nothing now: it may stop the world. A waiter
     * woken just before the stop is attached (and parks nowhere until it
     * has the lock and returns), so take the lock back first if it won. */
    gh_stw_stop(&main_ts);
    /* Acquire (both loads): pairs with lock_waiter_main's set_flag(acquired). */
    if (!gh_atomic_load_acquire_int(&w.acquired)) {
        gh_sleep_ns(100 * MS);
        cr_assert_not(gh_atomic_load_acquire_int(&w.acquired),
                      "a stopped thread does not take the lock it waited for");
        cr_assert_not(gh_mutex_is_locked(&obj_lock), "nobody holds it while the world is stopped");
    }
    gh_stw_start(&main_ts);
    cr_assert(wait_flag(&w.acquired, 5000), "it takes the lock after start");
    pthread_join(w.thread, NULL);
    gh_stw_detach(&main_ts);
    gh_tstate_unbind();
}

/* A wake-up without a handoff goes to a detached waiter that then finds
 * the world stopping and waits for the restart. The lock is free, and the
 * next waiter, one that stays attached while it sleeps (class rc: the
 * stop waits for it), must not sleep on: the first passes its wake-up on.
 * The bug: the stop waited for the attached sleeper forever (stress_run
 * --deferred hung once in 61 runs here, under locks+deferred). */
struct stop_arg {
    struct gh_tstate ts;
    pthread_t thread;
    int stopped;
};

static void *one_stop_main(void *p)
{
    struct stop_arg *s = p;
    gh_tstate_bind(&s->ts, 9, "stw-stopper");
    gh_stw_attach(&s->ts);
    gh_stw_stop(&s->ts);
    set_flag(&s->stopped);
    gh_stw_start(&s->ts);
    gh_stw_detach(&s->ts);
    gh_tstate_unbind();
    return NULL;
}

static void *rc_waiter_main(void *p)
{
    struct lock_waiter *w = p;
    gh_tstate_bind(&w->ts, 8, "stw-rcwait");
    gh_stw_attach(&w->ts);
    set_flag(&w->attached);
    gh_mutex_lock(&obj_lock, &w->ts.locks[GH_LOCK_rc]); /* sleeps attached */
    set_flag(&w->acquired);
    gh_mutex_unlock(&obj_lock);
    gh_stw_detach(&w->ts); /* counts as stopped */
    gh_tstate_unbind();
    return NULL;
}

Test(stw, a_wakeup_a_stopped_waiter_cannot_use_goes_to_the_next, .timeout = 30)
{
    static struct lock_waiter detached_w, rc_w;
    static struct stop_arg s;
    gh_mutex_fair_ns = UINT64_MAX; /* wake-ups only, never a handoff */
    gh_tstate_bind(&main_ts, -1, "stw-main");
    gh_stw_attach(&main_ts);
    gh_mutex_lock(&obj_lock, &main_ts.locks[GH_LOCK_instance]);
    /* First in the queue: an object-lock waiter, detached while it sleeps. */
    cr_assert_eq(pthread_create(&detached_w.thread, NULL, lock_waiter_main, &detached_w), 0);
    uint64_t end = gh_now_ns() + 5000 * MS;
    while (gh_mutex_parked(&obj_lock) != 1 ||
           gh_stw_state(&detached_w.ts) != GH_THREAD_DETACHED)
        cr_assert_lt(gh_now_ns(), end, "the object-lock waiter parks detached");
    /* Second: a count-lock waiter, attached while it sleeps. */
    cr_assert_eq(pthread_create(&rc_w.thread, NULL, rc_waiter_main, &rc_w), 0);
    while (gh_mutex_parked(&obj_lock) != 2)
        cr_assert_lt(gh_now_ns(), end, "the count-lock waiter parks");
    cr_assert_eq(gh_stw_state(&rc_w.ts), GH_THREAD_ATTACHED);
    /* A stop, which waits for this thread and the count-lock waiter. */
    cr_assert_eq(pthread_create(&s.thread, NULL, one_stop_main, &s), 0);
    while (!(gh_atomic_load_relaxed_u32(&main_ts.eval_breaker) & GH_EVAL_PLEASE_STOP))
        cr_assert_lt(gh_now_ns(), end, "the stop is requested");
    /* Wakes the detached waiter (first), which must wait for the world;
     * then this thread parks for the stop. */
    gh_mutex_unlock(&obj_lock);
    gh_stw_checkpoint(&main_ts);
    cr_assert(wait_flag(&s.stopped, 5000), "the world stopped (the count-lock waiter got the lock)");
    cr_assert(wait_flag(&rc_w.acquired, 5000));
    cr_assert(wait_flag(&detached_w.acquired, 5000), "the first waiter takes it after the restart");
    pthread_join(s.thread, NULL);
    pthread_join(rc_w.thread, NULL);
    pthread_join(detached_w.thread, NULL);
    gh_stw_detach(&main_ts);
    gh_tstate_unbind();
    gh_mutex_fair_ns = GH_MUTEX_FAIR_NS;
}
