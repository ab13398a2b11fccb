/* brc.c - biased reference counting's slow paths and merge queues (see
 * brc.h).
 *
 * The registry of counting threads and their queues is one list under one
 * mutex: the queue path is rare (an object whose shared count would go
 * below zero, once per object), and at most a few dozen threads run.
 * CPython hashes threads into 257 buckets, each with its own lock, for
 * thousands of threads. The lock is a leaf: nothing is called with it held
 * but pushes and pops; deallocation happens after it is released.
 */
#include "rc/brc.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/die.h"
#include "base/inject.h"
#include "base/timeline.h"
#include "rc/dealloc.h"

/* Protects every registered tstate's brc_queue, brc_len, brc_cap,
 * brc_next, brc_prev and brc_registered, and `registry`. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gh_tstate *registry;

static struct gh_tstate *find_owner(uintptr_t tid)
{
    for (struct gh_tstate *t = registry; t; t = t->brc_next)
        if ((uintptr_t)t == tid)
            return t;
    return NULL;
}

static void queue_push(struct gh_tstate *t, gh_object *o)
{
    if (t->brc_len == t->brc_cap) {
        size_t cap = t->brc_cap ? 2 * t->brc_cap : 64;
        gh_object **q = realloc(t->brc_queue, cap * sizeof *q);
        if (!q)
            gh_die(12 /* ENOMEM */, "growing a biased-count merge queue");
        t->brc_queue = q;
        t->brc_cap = cap;
    }
    t->brc_queue[t->brc_len++] = o;
}

/* Takes t's queue (registry lock held): *out gets the array, the count is
 * returned, and t starts an empty one. */
static size_t queue_take(struct gh_tstate *t, gh_object ***out)
{
    size_t n = t->brc_len;
    *out = t->brc_queue;
    t->brc_queue = NULL;
    t->brc_len = t->brc_cap = 0;
    return n;
}

int64_t gh_brc_explicit_merge(gh_object *o, int64_t extra)
{
    struct gh_obprefix *p = gh_prefix(o);
    uint32_t local = gh_atomic_load_relaxed_u32(&p->ob_ref_local);
    /* Unowned first (CPython gh-121794): whoever reads ob_tid 0 takes the
     * shared path, which the CAS below makes exact. */
    gh_atomic_store_relaxed_u32(&p->ob_ref_local, 0);
    gh_atomic_store_relaxed_uptr(&p->ob_tid, 0);
    uint64_t s = gh_atomic_load_relaxed_u64(&o->ob_refcnt), ns;
    /* Read the shared count, not yet merged: other threads' updates
     * meanwhile make the CAS below fail and read again. */
    GH_INJECT(BRC_MERGE);
    do {
        int64_t count = ((int64_t)s >> GH_REF_SHARED_SHIFT) + (int64_t)local + extra;
        ns = ((uint64_t)count << GH_REF_SHARED_SHIFT) | GH_REF_MERGED;
        /* Acq_rel: release orders our uses before a later free by another
         * thread; acquire makes every other thread's release decrement
         * visible to us if we free (pairs with gh_brc_decref_shared). */
    } while (!gh_atomic_cas_acqrel_u64(&o->ob_refcnt, &s, ns));
    struct gh_tstate *ts = gh_tstate_get();
    if (ts)
        ts->brc_merged++;
    return (int64_t)ns >> GH_REF_SHARED_SHIFT;
}

/* Steals a reference to o, whose shared count was just set QUEUED. */
static void queue_object(gh_object *o)
{
    if (gh_brc_tid(o) == 0) {
        /* The owner merged meanwhile: the reference we hold is in the
         * shared count, drop it there. */
        gh_brc_decref_shared(o);
        return;
    }
    GH_INJECT(REMOTE_FREE); /* a reference on its way to the owner's queue */
    gh_check_pthread(pthread_mutex_lock(&registry_lock));
    struct gh_tstate *owner = find_owner(gh_brc_tid(o));
    if (owner) {
        queue_push(owner, o);
        /* Seq_cst OR, as every eval_breaker RMW (base/tstate.h), pairing
         * with nothing: the owner's relaxed check at its switch point may
         * see it late, which only delays the merge; the queue itself is
         * published by registry_lock. */
        gh_atomic_or_seqcst_u32(&owner->eval_breaker, GH_EVAL_BRC_MERGE);
        gh_check_pthread(pthread_mutex_unlock(&registry_lock));
        gh_tstate_get()->brc_queued++;
        return;
    }
    gh_check_pthread(pthread_mutex_unlock(&registry_lock));
    /* The owner has exited (it unregistered under the lock after its last
     * use of ob_ref_local): merge here, dropping the queue's reference. */
    if (gh_brc_explicit_merge(o, -1) == 0)
        gh_dealloc(o);
}

void gh_brc_decref_shared(gh_object *o)
{
    gh_tstate_get()->brc_shared_decrefs++;
    uint64_t s = gh_atomic_load_relaxed_u64(&o->ob_refcnt), ns;
    bool queue;
    do {
        queue = s == 0 || s == GH_REF_MAYBE_WEAKREF;
        /* A shared count of 0 that is neither queued nor merged: going
         * below zero would be indistinguishable from a leak, so the
         * reference moves to the owner's queue instead. Past QUEUED the
         * count may go negative: the owner's local count covers it. */
        ns = queue ? GH_REF_QUEUED : s - (UINT64_C(1) << GH_REF_SHARED_SHIFT);
        /* Acq_rel, see gh_brc_explicit_merge. */
    } while (!gh_atomic_cas_acqrel_u64(&o->ob_refcnt, &s, ns));
    if (queue)
        queue_object(o);
    else if (ns == GH_REF_MERGED)
        gh_dealloc(o); /* merged, count 0: the last reference was ours */
}

void gh_brc_merge_zero_local(gh_object *o)
{
    /* Acquire: pairs with other threads' acq_rel CAS on the shared count,
     * so a 0 here means none of them ever counted and we may free. */
    uint64_t s = gh_atomic_load_acquire_u64(&o->ob_refcnt);
    if (s == 0) {
        gh_dealloc(o); /* the fast free: nobody else ever held it */
        return;
    }
    gh_tstate_get()->brc_merged++;
    gh_atomic_store_relaxed_uptr(&gh_prefix(o)->ob_tid, 0);
    uint64_t ns;
    do {
        ns = (s & ~GH_REF_STATE_MASK) | GH_REF_MERGED;
        /* Acq_rel, as gh_brc_explicit_merge: pairs with the CAS of
         * gh_brc_decref_shared, so whichever thread frees sees the
         * other's uses. */
    } while (!gh_atomic_cas_acqrel_u64(&o->ob_refcnt, &s, ns));
    if (ns == GH_REF_MERGED)
        gh_dealloc(o);
}

void gh_brc_merge_pending(struct gh_tstate *ts)
{
    /* Seq_cst as every eval_breaker RMW (base/tstate.h); pairs with
     * nothing: the queue is taken under registry_lock. */
    gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_BRC_MERGE);
    gh_object **q;
    uint64_t t0 = ts->tl ? gh_now_ns() : 0;
    gh_check_pthread(pthread_mutex_lock(&registry_lock));
    size_t n = queue_take(ts, &q);
    gh_check_pthread(pthread_mutex_unlock(&registry_lock));
    /* Deallocation may queue more (for others or for us: the bit is set
     * again and the next switch point takes them). */
    for (size_t i = 0; i < n; i++)
        if (gh_brc_explicit_merge(q[i], -1) == 0)
            gh_dealloc(q[i]);
    free(q);
    if (t0)
        gh_tl_record(ts, GH_TL_BRC_MERGE, t0, gh_now_ns(), NULL, (int32_t)n);
}

void gh_brc_set_maybe_weakref(gh_object *o)
{
    if (gh_brc_local(o) == GH_REF_LOCAL_IMMORTAL)
        return;
    uint64_t s = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    /* Acq_rel as every CAS of the field (gh_brc_explicit_merge): pairs
     * with the owner's acquire load in gh_brc_merge_zero_local, which then
     * merges instead of freeing. The bit publishes nothing else. */
    while ((s & GH_REF_STATE_MASK) == 0)
        if (gh_atomic_cas_acqrel_u64(&o->ob_refcnt, &s, s | GH_REF_MAYBE_WEAKREF))
            break;
}

void gh_brc_refcnt_set(gh_object *o, uint64_t v)
{
    struct gh_obprefix *p = gh_prefix(o);
    gh_atomic_store_relaxed_uptr(&p->ob_tid, gh_brc_me());
    gh_atomic_store_relaxed_u32(&p->ob_ref_local, (uint32_t)v);
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, 0);
}

bool gh_brc_decref_is_zero(gh_object *o)
{
    gh_assert(gh_brc_tid(o) == gh_brc_me()); /* gh_brc_refcnt_set made us the owner */
    uint32_t local = gh_brc_local(o) - 1;
    gh_atomic_store_relaxed_u32(&gh_prefix(o)->ob_ref_local, local);
    if (local != 0)
        return false;
    /* Acquire: as gh_brc_merge_zero_local. */
    uint64_t s = gh_atomic_load_acquire_u64(&o->ob_refcnt);
    if (s == 0)
        return true;
    gh_atomic_store_relaxed_uptr(&gh_prefix(o)->ob_tid, 0);
    uint64_t ns;
    do {
        ns = (s & ~GH_REF_STATE_MASK) | GH_REF_MERGED;
        /* Acq_rel, as gh_brc_explicit_merge: pairs with the CAS of
         * gh_brc_decref_shared, so whichever thread frees sees the
         * other's uses. */
    } while (!gh_atomic_cas_acqrel_u64(&o->ob_refcnt, &s, ns));
    return ns == GH_REF_MERGED;
}

void gh_brc_thread_init(struct gh_tstate *ts)
{
    gh_check_pthread(pthread_mutex_lock(&registry_lock));
    gh_assert(!ts->brc_registered);
    ts->brc_queue = NULL;
    ts->brc_len = ts->brc_cap = 0;
    ts->brc_prev = NULL;
    ts->brc_next = registry;
    if (registry)
        registry->brc_prev = ts;
    registry = ts;
    ts->brc_registered = true;
    gh_check_pthread(pthread_mutex_unlock(&registry_lock));
}

void gh_brc_thread_fini(struct gh_tstate *ts)
{
    /* Merge until the queue stays empty, then leave under the same lock:
     * after that nobody can queue for us (CPython's _Py_brc_remove_thread). */
    for (;;) {
        gh_check_pthread(pthread_mutex_lock(&registry_lock));
        if (ts->brc_len == 0) {
            if (ts->brc_prev)
                ts->brc_prev->brc_next = ts->brc_next;
            else
                registry = ts->brc_next;
            if (ts->brc_next)
                ts->brc_next->brc_prev = ts->brc_prev;
            ts->brc_registered = false;
            free(ts->brc_queue);
            ts->brc_queue = NULL;
            ts->brc_cap = 0;
            gh_check_pthread(pthread_mutex_unlock(&registry_lock));
            /* As in gh_brc_merge_pending: pairs with nothing. */
            gh_atomic_and_seqcst_u32(&ts->eval_breaker, ~GH_EVAL_BRC_MERGE);
            return;
        }
        gh_check_pthread(pthread_mutex_unlock(&registry_lock));
        gh_brc_merge_pending(ts);
    }
}

void gh_brc_merge_all_stopped(void (*hold)(gh_object *o, void *arg), void *arg)
{
    gh_check_pthread(pthread_mutex_lock(&registry_lock));
    for (struct gh_tstate *t = registry; t; t = t->brc_next) {
        for (size_t i = 0; i < t->brc_len; i++) {
            gh_object *o = t->brc_queue[i];
            gh_brc_explicit_merge(o, 0); /* the queue's reference, now `hold`'s */
            hold(o, arg);
        }
        t->brc_len = 0; /* its GH_EVAL_BRC_MERGE bit finds an empty queue */
    }
    gh_check_pthread(pthread_mutex_unlock(&registry_lock));
}

void gh_brc_visit_queues(gh_visitproc visit, void *arg)
{
    gh_check_pthread(pthread_mutex_lock(&registry_lock));
    for (struct gh_tstate *t = registry; t; t = t->brc_next)
        for (size_t i = 0; i < t->brc_len; i++)
            visit(t->brc_queue[i], arg);
    gh_check_pthread(pthread_mutex_unlock(&registry_lock));
}
