/* test_mutex.c - gh_mutex's fairness: a waiter parked longer than
 * GH_MUTEX_FAIR_NS is handed the lock directly; a younger one is woken to
 * re-contend. */
#include <criterion/criterion.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/qsbr.h"
#include "base/stw.h"
#include "base/tstate.h"

static gh_mutex m;
static uint64_t counter;        /* protected by m */
static struct gh_lockstat wst;  /* the waiter's counters, read after join */
/* The flags below are seq_cst for a test's simplicity: each is a one-way
 * handshake, for which a release store and an acquire load would do. */
static int got;                 /* the waiter owns m */
static int release_it;          /* the main thread lets it unlock */
static uint64_t waiter_start;   /* when the waiter called lock */

static void sleep_ns(long ns)
{
    struct timespec t = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&t, NULL);
}

static void *waiter(void *p)
{
    (void)p;
    gh_atomic_store_seqcst_u64(&waiter_start, gh_now_ns()); /* pairs with the age's load */
    gh_mutex_lock(&m, &wst);
    counter++;
    gh_atomic_store_seqcst_int(&got, 1); /* pairs with the test's wait for got */
    /* Pairs with the test's store of release_it (no_handoff_below_1ms sets
     * it before pthread_create, which orders it). */
    while (!gh_atomic_load_seqcst_int(&release_it))
        sched_yield();
    gh_mutex_unlock(&m);
    return NULL;
}

static void wait_parked(void)
{
    while (gh_mutex_parked(&m) != 1)
        sched_yield();
}

/* The waiter has been queued for more than 1 ms when the holder unlocks:
 * the lock must stay locked, owned by the waiter, so the holder's own
 * try right after its unlock fails. */
Test(mutex, handoff_after_1ms, .timeout = 20)
{
    struct gh_lockstat st = {0};
    pthread_t t;
    gh_mutex_lock(&m, &st);
    cr_assert_eq(pthread_create(&t, NULL, waiter, NULL), 0);
    wait_parked();
    sleep_ns(3 * (long)GH_MUTEX_FAIR_NS);
    gh_mutex_unlock(&m);
    cr_assert_not(gh_mutex_trylock(&m, &st), "a handed-off lock stays locked for its new owner");
    while (!gh_atomic_load_seqcst_int(&got)) /* pairs with the waiter's store */
        sched_yield();
    cr_assert_eq(gh_mutex_parked(&m), 0);
    gh_atomic_store_seqcst_int(&release_it, 1); /* pairs with the waiter's load */
    pthread_join(t, NULL);
    cr_assert_eq(wst.handoffs, 1, "the waiter counted the handoff");
    cr_assert_eq(wst.contended, 1);
    cr_assert_geq(wst.wait_ns, GH_MUTEX_FAIR_NS);
    cr_assert_eq(m.bits, 0, "unlocked, nobody parked");
}

/* Below the limit the waiter is only woken: the lock is free after the
 * unlock (the holder could barge) and no handoff is counted. The waiter's
 * age is checked before the unlock; a run too slow to stay under half the
 * limit is tried again. */
Test(mutex, no_handoff_below_1ms, .timeout = 20)
{
    int tries = 0;
    for (;; tries++) {
        cr_assert_lt(tries, 50, "the machine never let a waiter park within 0.5 ms");
        struct gh_lockstat st = {0};
        memset(&wst, 0, sizeof wst);
        /* Before pthread_create, which orders them: they pair with
         * nothing. */
        gh_atomic_store_seqcst_int(&got, 0);
        gh_atomic_store_seqcst_int(&release_it, 1);
        gh_atomic_store_seqcst_u64(&waiter_start, 0);
        pthread_t t;
        gh_mutex_lock(&m, &st);
        cr_assert_eq(pthread_create(&t, NULL, waiter, NULL), 0);
        wait_parked();
        /* Pairs with the waiter's store of waiter_start. */
        uint64_t age = gh_now_ns() - gh_atomic_load_seqcst_u64(&waiter_start);
        gh_mutex_unlock(&m);
        pthread_join(t, NULL);
        cr_assert_eq(counter, (uint64_t)tries + 1);
        counter = tries + 1;
        if (age >= GH_MUTEX_FAIR_NS / 2)
            continue;
        cr_assert_eq(wst.handoffs, 0, "a waiter younger than 1 ms (%llu ns) is not handed the lock",
                     (unsigned long long)age);
        cr_assert_eq(wst.contended, 1);
        break;
    }
    cr_assert_eq(m.bits, 0);
}

/* A waiter that finds the lock held yields GH_MUTEX_SPIN times before it
 * looks at the lock again, as 3.13's _PyMutex_LockTimed does (its spin
 * keeps the value it read before spinning): a lock freed during the spin is
 * taken only after the last yield. The holder frees the lock as soon as
 * the waiter has started; a try in which the waiter found the lock already
 * free, or parked (the holder was off its CPU for the whole spin), is made
 * again. The bug: the spin re-read the lock after every yield, so a waiter
 * took a lock freed during its spin at once, and two contending threads
 * handed the lock's line back and forth far more often than 3.13t's do. */
static int spin_started; /* the spinner is about to lock (seq_cst, as got) */

static void *spinner(void *p)
{
    (void)p;
    gh_atomic_store_seqcst_int(&spin_started, 1); /* pairs with the test's wait */
    gh_mutex_lock(&m, &wst);
    counter++;
    gh_mutex_unlock(&m);
    return NULL;
}

Test(mutex, a_waiter_yields_its_whole_spin_before_it_looks_again, .timeout = 60)
{
    int tries = 0;
    for (;; tries++) {
        cr_assert_lt(tries, 200, "no try had the lock freed during the waiter's spin");
        struct gh_lockstat st = {0};
        memset(&wst, 0, sizeof wst);
        gh_atomic_store_seqcst_int(&spin_started, 0); /* before pthread_create: no pair */
        gh_mutex_lock(&m, &st);
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, spinner, NULL), 0);
        while (!gh_atomic_load_seqcst_int(&spin_started)) /* pairs with the spinner's store */
            sched_yield();
        /* Let it reach its spin: a few of its yields, not all of them. */
        for (int k = 0; k < 200; k++)
            gh_cpu_relax();
        /* Unlock by hand to learn whether the waiter had parked (the
         * PARKED bit fails this exchange; gh_mutex_unlock would hide it). */
        uint8_t held = GH_MUTEX_LOCKED;
        /* Release: pairs with the waiter's acquire CAS. */
        bool parked = !gh_atomic_cas_release_u8(&m.bits, &held, 0);
        if (parked)
            gh_mutex_unlock_slow(&m);
        pthread_join(t, NULL);
        if (parked || wst.contended == 0 || wst.spins == 0)
            continue; /* it parked, found the lock free, or read it free */
        /* It read the lock held, began to spin, and the lock was freed
         * before it parked. */
        cr_assert_eq(wst.spins, GH_MUTEX_SPIN,
                     "the waiter took a lock freed during its spin after %llu of %d yields",
                     (unsigned long long)wst.spins, GH_MUTEX_SPIN);
        break;
    }
    cr_assert_eq(m.bits, 0);
}

/* The holder re-locks in a loop while one thread waits: without handoff a
 * parked waiter could lose every race to the barging holder; with it, once
 * it has waited 1 ms it gets the lock, so the waiter is served all 20 times
 * (the test's timeout would catch starvation). Mutual exclusion is checked
 * by the plain counter both increment. */
#define LOOP_ITERS 2000000

static uint64_t looped; /* the looper's own acquisitions, read after join */
static int looping;     /* the looper holds the lock in its loop (seq_cst, as got) */

static void *looper(void *p)
{
    (void)p;
    struct gh_lockstat st = {0};
    for (int i = 0; i < LOOP_ITERS; i++) {
        gh_mutex_lock(&m, &st);
        gh_atomic_store_seqcst_int(&looping, 1); /* pairs with the contender's wait */
        looped++;
        counter++;
        /* Hold the lock a while, so the other thread parks. */
        for (int k = 0; k < 200; k++)
            gh_cpu_relax();
        gh_mutex_unlock(&m);
        if (gh_atomic_load_seqcst_int(&got) >= 20) /* pairs with the contender's add */
            break;
    }
    return NULL;
}

static void *contender(void *p)
{
    (void)p;
    /* Only once the looper is re-locking: a contender that ran first
     * would take the lock 20 times uncontended and test nothing. */
    while (!gh_atomic_load_seqcst_int(&looping)) /* pairs with the looper's store */
        gh_cpu_relax();
    for (int i = 0; i < 20; i++) {
        gh_mutex_lock(&m, &wst);
        counter++;
        gh_mutex_unlock(&m);
        gh_atomic_add_seqcst_int(&got, 1); /* pairs with the looper's load */
    }
    return NULL;
}

Test(mutex, handoff_to_waiter_of_relocking_holder, .timeout = 60)
{
    pthread_t a, b;
    cr_assert_eq(pthread_create(&a, NULL, looper, NULL), 0);
    cr_assert_eq(pthread_create(&b, NULL, contender, NULL), 0);
    pthread_join(b, NULL);
    pthread_join(a, NULL);
    cr_assert_eq(got, 20, "the waiter got the lock every time");
    cr_assert_eq(counter, looped + 20, "no increment lost: mutual exclusion held");
    cr_assert_eq(m.bits, 0);
    /* Whether the waiter parked past 1 ms here depends on the scheduler
     * (it often finds the lock free between two of the looper's sections);
     * handoff_after_1ms shows the handoff itself deterministically. */
    cr_assert_leq(wst.handoffs, wst.contended, "a handoff is a contended acquisition");
}

/* A waiter attached to the world (a model thread) detaches while it
 * sleeps and is attached again when handed the lock; with QSBR on (the ft
 * flavour's lock-free reads) attached means online, or its frees would skip
 * the grace period that lock-free readers rely on. The bug: the handoff's
 * attach left it offline (TSan saw a key freed under a lock-free dict.get). */
static struct gh_tstate wts;
static int online_after; /* the waiter's qsbr_online after the handoff (read after join) */

static void *attached_waiter(void *p)
{
    (void)p;
    gh_tstate_bind(&wts, 1, "waiter");
    gh_stw_attach(&wts);
    /* Seq_cst as in waiter; pairs with nothing: this test reads neither
     * waiter_start nor online_after before pthread_join, which orders
     * them. */
    gh_atomic_store_seqcst_u64(&waiter_start, gh_now_ns());
    gh_mutex_lock(&m, &wts.locks[GH_LOCK_list]);
    gh_atomic_store_seqcst_int(&online_after, wts.qsbr_online ? 1 : 2);
    gh_mutex_unlock(&m);
    gh_stw_detach(&wts);
    gh_tstate_unbind();
    return NULL;
}

Test(mutex, handoff_keeps_an_attached_waiter_online, .timeout = 20)
{
    struct gh_lockstat st = {0};
    pthread_t t;
    gh_qsbr_enable(true);
    gh_mutex_lock(&m, &st);
    cr_assert_eq(pthread_create(&t, NULL, attached_waiter, NULL), 0);
    wait_parked();
    sleep_ns(3 * (long)GH_MUTEX_FAIR_NS);
    gh_mutex_unlock(&m);
    pthread_join(t, NULL);
    gh_qsbr_enable(false);
    cr_assert_eq(wts.locks[GH_LOCK_list].handoffs, 1, "the waiter was handed the lock");
    cr_assert_eq(online_after, 1, "a waiter attached again by a handoff is online for QSBR");
}

/* threading.Lock's release (gh_mutex_try_unlock): a free mutex is not
 * released (false, CPython's RuntimeError), a held one is, by a thread
 * that did not lock it; with a waiter parked it is woken (here after the
 * fairness limit, so handed the lock), and a second release then releases
 * the waiter's hold: a Lock has no owner. */
Test(mutex, try_unlock_releases_only_a_held_lock, .timeout = 20)
{
    struct gh_lockstat st = {0};
    m.bits = 0;
    cr_assert_not(gh_mutex_try_unlock(&m), "a free lock cannot be released");
    gh_mutex_lock(&m, &st);
    cr_assert(gh_mutex_try_unlock(&m));
    cr_assert_eq(m.bits, 0);
    cr_assert_not(gh_mutex_try_unlock(&m), "released once only");

    gh_mutex_lock(&m, &st);
    gh_atomic_store_seqcst_int(&got, 0);          /* no waiter runs yet */
    gh_atomic_store_seqcst_int(&release_it, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, waiter, NULL), 0);
    wait_parked();
    sleep_ns(3 * (long)GH_MUTEX_FAIR_NS);
    cr_assert(gh_mutex_try_unlock(&m), "the slow path (a waiter parked) releases it");
    while (!gh_atomic_load_seqcst_int(&got)) /* pairs with the waiter's store */
        sched_yield();
    cr_assert_eq(gh_mutex_parked(&m), 0);
    cr_assert(gh_mutex_is_locked(&m), "handed to the waiter");
    gh_atomic_store_seqcst_int(&release_it, 1); /* pairs with the waiter's load */
    pthread_join(t, NULL);
    cr_assert_eq(m.bits, 0);
    cr_assert_not(gh_mutex_try_unlock(&m));
}
