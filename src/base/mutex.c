/* mutex.c - slow paths of gh_mutex: spinning, parking, waking.
 * The state machine is drawn in mutex.h. */
#define _GNU_SOURCE
#include "base/mutex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/die.h"
#include "base/stw.h"
#include "base/tstate.h"

#define PARK_BUCKETS 257

/* seq changes whenever a parked waiter of this bucket may proceed. */
static struct park_bucket {
    uint32_t seq;
} GH_ALIGNED_CACHELINE park_table[PARK_BUCKETS];

static struct park_bucket *bucket_of(const gh_mutex *m)
{
    return &park_table[((uintptr_t)m >> 3) % PARK_BUCKETS];
}

static void futex_wait(uint32_t *addr, uint32_t expected)
{
    long rc = syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
    if (rc != 0 && errno != EAGAIN && errno != EINTR)
        gh_die(errno, "futex wait");
}

static void futex_wake_all(uint32_t *addr)
{
    if (syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) < 0)
        gh_die(errno, "futex wake");
}

/* Whether a thread parking on this lock counts as stopped for a
 * stop-the-world (base/stw.h): an attached thread waiting for an object's
 * lock or a table's lock has not started to modify what it wants to lock.
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

void gh_mutex_lock_slow(gh_mutex *m, struct gh_lockstat *st)
{
    uint64_t t0 = gh_now_ns();

    for (int spin = 0; spin < GH_MUTEX_SPIN; spin++) {
        uint8_t v = gh_atomic_load_relaxed_u8(&m->bits);
        /* Acquire: pairs with the release in gh_mutex_unlock. */
        if (!(v & GH_MUTEX_LOCKED) &&
            gh_atomic_cas_acquire_u8(&m->bits, &v, (uint8_t)(v | GH_MUTEX_LOCKED)))
            goto acquired;
        if (v & GH_MUTEX_PARKED)
            break; /* someone already sleeps: queue behind it */
        sched_yield();
    }

    struct park_bucket *b = bucket_of(m);
    for (;;) {
        /* Sequentially consistent, with the exchange below: the sequence
         * must be read before we announce ourselves, so that an unlock which
         * sees PARKED bumps a sequence newer than the one we wait on. */
        uint32_t seq = gh_atomic_load_seqcst_u32(&b->seq);
        uint8_t old = gh_atomic_exchange_seqcst_u8(&m->bits, GH_MUTEX_LOCKED | GH_MUTEX_PARKED);
        if (!(old & GH_MUTEX_LOCKED))
            goto acquired; /* we own it, with PARKED set conservatively */
        /* A detaching waiter is detached only while it sleeps, and attaches
         * (waiting while the world is stopped) before it contends again:
         * it never holds this lock while stopped. */
        struct gh_tstate *ts = detaching_waiter(st);
        if (ts)
            gh_stw_detach(ts);
        futex_wait(&b->seq, seq);
        if (ts)
            gh_stw_attach(ts);
    }

acquired:;
    uint64_t waited = gh_now_ns() - t0;
    st->acquisitions++;
    st->contended++;
    st->wait_ns += waited;
    if (waited > st->wait_max_ns)
        st->wait_max_ns = waited;
}

void gh_mutex_unlock_slow(gh_mutex *m)
{
    /* Release: publishes the critical section to the next holder. */
    uint8_t old = gh_atomic_exchange_release_u8(&m->bits, 0);
    gh_assert(old & GH_MUTEX_LOCKED);
    if (old & GH_MUTEX_PARKED) {
        struct park_bucket *b = bucket_of(m);
        /* Seq_cst: see the comment in gh_mutex_lock_slow. */
        gh_atomic_add_seqcst_u32(&b->seq, 1);
        futex_wake_all(&b->seq);
    }
}
