/* mutex.c - slow paths of gh_mutex: spinning, parking, waking.
 * The state machine is drawn in mutex.h. */
#define _GNU_SOURCE
#include "base/mutex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/die.h"
#include "base/stw.h"
#include "base/timeline.h"
#include "base/tstate.h"

#define PARK_BUCKETS 257

uint64_t gh_mutex_fair_ns = GH_MUTEX_FAIR_NS;

/* A parked waiter, on its own stack while it sleeps. `next` and `m` are
 * protected by the bucket lock; `handed_off` is written by whoever dequeues
 * it (gh_mutex_unlock_slow, pass_wakeup) under the bucket lock before it
 * publishes `woken` (wake), and read by the waiter after it has read
 * `woken` (acquire). */
struct park_waiter {
    struct park_waiter *next; /* FIFO order within the bucket */
    const gh_mutex *m;        /* the mutex it waits for */
    uint64_t start_ns;        /* when it entered the slow path */
    bool handed_off;          /* the unlocker passed the lock to it */
    uint32_t woken;           /* futex word: 0 asleep, 1 dequeued and woken */
};

/* `head`, `tail` and every queued waiter's `next` are protected by
 * `lock`, a test-and-set byte held only for a few list operations (the
 * model of CPython's _PyRawMutex around a bucket's list). */
static struct park_bucket {
    uint8_t lock;
    struct park_waiter *head, *tail;
} GH_ALIGNED_CACHELINE park_table[PARK_BUCKETS];

static struct park_bucket *bucket_of(const gh_mutex *m)
{
    return &park_table[((uintptr_t)m >> 3) % PARK_BUCKETS];
}

static void bucket_lock(struct park_bucket *b)
{
    /* Acquire: pairs with the release in bucket_unlock. */
    while (gh_atomic_exchange_acquire_u8(&b->lock, 1)) {
        for (int i = 0; gh_atomic_load_relaxed_u8(&b->lock); i++) {
            if (i < 64)
                gh_cpu_relax();
            else
                sched_yield();
        }
    }
}

static void bucket_unlock(struct park_bucket *b)
{
    /* Release: pairs with the acquire in bucket_lock. */
    gh_atomic_store_release_u8(&b->lock, 0);
}

static void futex_wait(uint32_t *addr, uint32_t expected)
{
    long rc = syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
    if (rc != 0 && errno != EAGAIN && errno != EINTR)
        gh_die(errno, "futex wait");
}

static void futex_wake_one(uint32_t *addr)
{
    if (syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0)
        gh_die(errno, "futex wake");
}

int gh_mutex_parked(const gh_mutex *m)
{
    struct park_bucket *b = bucket_of(m);
    int n = 0;
    bucket_lock(b);
    for (struct park_waiter *w = b->head; w; w = w->next)
        n += w->m == m;
    bucket_unlock(b);
    return n;
}

/* Queues w on m's bucket if m is still locked with PARKED set (checked
 * under the bucket lock, which the unlocker holds while it decides the new
 * byte: the futex's "compare, then sleep" at the level of the queue).
 * Returns false when the byte changed: the caller contends again. */
static bool park_enqueue(gh_mutex *m, struct park_waiter *w)
{
    struct park_bucket *b = bucket_of(m);
    bucket_lock(b);
    if (gh_atomic_load_relaxed_u8(&m->bits) != (GH_MUTEX_LOCKED | GH_MUTEX_PARKED)) {
        bucket_unlock(b);
        return false;
    }
    w->next = NULL;
    w->m = m;
    w->handed_off = false;
    gh_atomic_store_relaxed_u32(&w->woken, 0);
    if (b->tail)
        b->tail->next = w;
    else
        b->head = w;
    b->tail = w;
    bucket_unlock(b);
    return true;
}

/* Whether a thread parking on this lock counts as stopped for a
 * stop-the-world (base/stw.h): an attached thread waiting for an object's
 * lock or a table's lock has not started to modify what it wants to lock;
 * one waiting for a user lock (a scenario's threading.Lock, class user) is
 * between two ops.
 * The GIL and the allocator's lock are taken inside operations, between
 * modifications, and never held across a wait: they do not detach. Nor
 * does rc=locked's count lock (class rc, rc/rc.h): its waiter may hold the
 * weak-reference or interned-string lock, which the collector takes with
 * the world stopped, and the mutex it waits for is held only by an
 * attached thread that releases it without waiting for the world. */
static struct gh_tstate *detaching_waiter(struct gh_lockstat *st)
{
    struct gh_tstate *ts = gh_tstate_get();
    if (!ts || ts->stw_state != GH_THREAD_ATTACHED)
        return NULL;
    if (st < &ts->locks[0] || st >= &ts->locks[GH_LOCK_NCLASSES])
        return NULL;
    enum gh_lock_class c = (enum gh_lock_class)(st - ts->locks);
    return c == GH_LOCK_gil || c == GH_LOCK_alloc || c == GH_LOCK_rc ? NULL : ts;
}


/* Removes and returns the first waiter of m in b's queue (b's lock held);
 * *more: another waiter of m stays queued. NULL: none queued. */
static struct park_waiter *dequeue_first(struct park_bucket *b, const gh_mutex *m, bool *more)
{
    struct park_waiter *w = NULL, *prev = NULL;
    *more = false;
    for (struct park_waiter *p = NULL, *q = b->head; q; p = q, q = q->next) {
        if (q->m != m)
            continue;
        if (!w) {
            w = q;
            prev = p;
        } else {
            *more = true;
            break;
        }
    }
    if (w) {
        if (prev)
            prev->next = w->next;
        else
            b->head = w->next;
        if (b->tail == w)
            b->tail = prev;
    }
    return w;
}

/* Wakes a dequeued waiter (b's lock released). */
static void wake(struct park_waiter *w)
{
    /* Release: pairs with the waiter's acquire load of `woken`. After
     * this store the waiter may return and its frame be gone: the wake
     * below only names the address (a stale wake is harmless, every futex
     * waiter here re-checks its own word). */
    uint32_t *word = &w->woken;
    gh_atomic_store_release_u32(word, 1);
    futex_wake_one(word);
}

/* wake(w), as a LOCK_WAKE slice on the calling thread's timeline when it
 * records one (the trace draws an arrow from it to the waiter's wait). */
static void wake_traced(gh_mutex *m, struct park_waiter *w)
{
    struct gh_tstate *ts = gh_tstate_get();
    if (GH_LIKELY(!ts || !ts->tl)) {
        wake(w);
        return;
    }
    bool handed = w->handed_off; /* read before the wake: w may be gone after */
    uint64_t t0 = gh_now_ns();
    wake(w);
    gh_tl_put(ts->tl, GH_TL_LOCK_WAKE, t0, gh_now_ns(), m, handed);
}

/* A woken waiter that will not contend now hands its wake-up on: if m is
 * free with waiters queued (10), the first of them is woken to contend (no
 * handoff: nobody holds the lock to hand). If m is held, its holder's
 * unlock wakes the next one. */
static void pass_wakeup(gh_mutex *m)
{
    struct park_bucket *b = bucket_of(m);
    struct park_waiter *w = NULL;
    bucket_lock(b);
    uint8_t v = gh_atomic_load_relaxed_u8(&m->bits);
    if (v == GH_MUTEX_PARKED) {
        bool more;
        w = dequeue_first(b, m, &more);
        /* Relaxed: nothing is published (the lock is free); the CAS fails
         * only if a barging locker took it meanwhile, whose unlock then
         * wakes the next waiter: put this one back at the head. */
        if (w && !gh_atomic_cas_relaxed_u8(&m->bits, &v,
                                           more ? GH_MUTEX_PARKED : (uint8_t)0)) {
            w->next = b->head;
            b->head = w;
            if (!b->tail)
                b->tail = w;
            w = NULL;
        }
        if (w)
            w->handed_off = false;
    }
    bucket_unlock(b);
    if (w)
        wake_traced(m, w);
}

void gh_mutex_lock_slow(gh_mutex *m, struct gh_lockstat *st)
{
    uint64_t t0 = gh_lock_wait_begin(st, m);
    int spin = 0;
    struct gh_tstate *ts = detaching_waiter(st);

    uint8_t v = gh_atomic_load_relaxed_u8(&m->bits);
    for (;;) {
        if (!(v & GH_MUTEX_LOCKED)) {
            /* Acquire: pairs with the release in gh_mutex_unlock (or the
             * release store of gh_mutex_unlock_slow). PARKED is kept: the
             * waiters still queued need the next unlock to wake them. */
            if (gh_atomic_cas_acquire_u8(&m->bits, &v, (uint8_t)(v | GH_MUTEX_LOCKED)))
                break;
            continue;
        }
        if (!(v & GH_MUTEX_PARKED) && spin < GH_MUTEX_SPIN) {
            /* Spin only while nobody sleeps: else queue behind them. v is
             * not read again: the whole spin runs on the value read before
             * it, as 3.13's does (mutex.h). */
            spin++;
            sched_yield();
            continue;
        }
        /* Relaxed: the bit only tells the unlocker to look at the queue;
         * the queue itself is ordered by the bucket lock. */
        if (!(v & GH_MUTEX_PARKED) &&
            !gh_atomic_cas_relaxed_u8(&m->bits, &v, (uint8_t)(v | GH_MUTEX_PARKED)))
            continue;
        struct park_waiter w;
        w.start_ns = t0;
        if (!park_enqueue(m, &w)) {
            v = gh_atomic_load_relaxed_u8(&m->bits);
            continue;
        }
        /* A detaching waiter is detached only while it sleeps. */
        if (ts)
            gh_stw_detach(ts);
        /* Acquire: pairs with the release store of `woken` in
         * gh_mutex_unlock_slow, which follows its write of handed_off and,
         * on a handoff, the previous holder's critical section. */
        while (gh_atomic_load_acquire_u32(&w.woken) == 0)
            futex_wait(&w.woken, 0);
        if (w.handed_off) {
            /* We own the lock. A thread handed it while detached must not
             * keep it while the world is stopped (the stopper may need it,
             * base/stw.h): when it cannot attach at once it passes the lock
             * on, waits for the world, and contends again. */
            if (!ts || gh_stw_try_attach(ts)) {
                st->handoffs++;
                st->spins += (uint64_t)spin;
                gh_lock_waited(st, m, t0);
                return;
            }
            gh_mutex_unlock(m);
            gh_stw_attach(ts);
            v = gh_atomic_load_relaxed_u8(&m->bits);
            continue;
        }
        if (ts && !gh_stw_try_attach(ts)) {
            /* Woken to contend, but the world is stopping and this thread
             * waits for its restart first: the wake-up goes on to the next
             * waiter, who may be one the stop waits for (mutex.h). */
            pass_wakeup(m);
            gh_stw_attach(ts);
        }
        v = gh_atomic_load_relaxed_u8(&m->bits);
    }
    /* Counted only now, the lock held: a counter set may be shared by
     * threads without a state of their own, under this lock (alloc.c). */
    st->spins += (uint64_t)spin;
    gh_lock_waited(st, m, t0);
}

void gh_mutex_unlock_slow(gh_mutex *m)
{
    struct park_bucket *b = bucket_of(m);
    bucket_lock(b);
    uint8_t old = gh_atomic_load_relaxed_u8(&m->bits);
    gh_assert(old & GH_MUTEX_LOCKED);
    /* The first waiter of m, and whether another stays queued. */
    bool more;
    struct park_waiter *w = dequeue_first(b, m, &more);
    uint8_t nv = more ? GH_MUTEX_PARKED : 0;
    if (w) {
        w->handed_off = gh_now_ns() - w->start_ns > gh_mutex_fair_ns;
        if (w->handed_off)
            nv |= GH_MUTEX_LOCKED;
    }
    /* Release: publishes the critical section to the next holder (a
     * barging locker's acquire CAS; a handed-off waiter is ordered by
     * `woken` below instead). */
    gh_atomic_store_release_u8(&m->bits, nv);
    bucket_unlock(b);
    if (w)
        wake_traced(m, w);
}

bool gh_mutex_try_unlock_slow(gh_mutex *m)
{
    struct park_bucket *b = bucket_of(m);
    bucket_lock(b);
    uint8_t old = gh_atomic_load_relaxed_u8(&m->bits);
    for (;;) {
        if (!(old & GH_MUTEX_LOCKED)) {
            bucket_unlock(b);
            return false;
        }
        bool more;
        struct park_waiter *w = dequeue_first(b, m, &more);
        uint8_t nv = more ? GH_MUTEX_PARKED : 0;
        if (w) {
            w->handed_off = gh_now_ns() - w->start_ns > gh_mutex_fair_ns;
            if (w->handed_off)
                nv |= GH_MUTEX_LOCKED;
        }
        /* Release: as in gh_mutex_unlock_slow. A CAS, not a store: without
         * the lock's ownership the byte may change under us (a waiter
         * setting PARKED, another release); then the waiter goes back at
         * the head and the new byte is looked at again. */
        if (gh_atomic_cas_release_u8(&m->bits, &old, nv)) {
            bucket_unlock(b);
            if (w)
                wake_traced(m, w);
            return true;
        }
        if (w) {
            w->next = b->head;
            b->head = w;
            if (!b->tail)
                b->tail = w;
        }
    }
}
