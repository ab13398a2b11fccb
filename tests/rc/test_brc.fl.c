/* test_brc.fl.c - biased reference counting (rc/brc.h): the owner's local
 * count, the shared count and its states, merge queues, thread exit, weak
 * references and the collector. Built for the flavours with rc=biased
 * (CMake reads the line below). */
/* flavours: objlock:biased */
#include <pthread.h>

#include "fl_fixture.h"

#if !defined(GH_FL_RC_BIASED)
#error "rc=biased only: see the flavours line"
#endif

#define L(o) ((struct gh_list *)(void *)(o))

static uint64_t shared_of(gh_object *o) { return gh_atomic_load_relaxed_u64(&o->ob_refcnt); }

/* Runs fn(arg) on a new thread that counts under rc=biased (started and
 * stopped as a worker is), and waits for it. */
struct other {
    void (*fn)(struct gh_tstate *ts, void *arg);
    void *arg;
    struct gh_tstate ts;
};

static void *other_main(void *p)
{
    struct other *a = p;
    gh_tstate_bind(&a->ts, 7, "brc-other");
    gh_alloc_thread_attach();
    gh_sync_thread_start(&a->ts);
    gh_rc_thread_start(&a->ts);
    a->fn(&a->ts, a->arg);
    gh_rc_thread_stop(&a->ts);
    gh_sync_thread_stop(&a->ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    return NULL;
}

static void on_other_thread(void (*fn)(struct gh_tstate *, void *), void *arg)
{
    struct other a = {.fn = fn, .arg = arg};
    pthread_t t;
    /* The test's thread waits detached, as a thread blocked in a join
     * does (the other thread's collector may stop the world). */
    gh_sync_block_begin(&fx_ts);
    cr_assert_eq(pthread_create(&t, NULL, other_main, &a), 0);
    pthread_join(t, NULL);
    gh_sync_block_end(&fx_ts);
}

FL_TEST(brc, owner_counts_locally_and_frees_without_a_merge, .timeout = 10)
{
    uint64_t live0 = fx_live();
    uint64_t merged0 = fx_ts.brc_merged;
    gh_object *o = gh_list_new();
    cr_assert_eq(gh_prefix(o)->ob_tid, (uintptr_t)&fx_ts, "owned by its maker");
    for (int i = 0; i < 5; i++)
        gh_incref(o);
    cr_assert_eq(gh_prefix(o)->ob_ref_local, 6);
    cr_assert_eq(shared_of(o), 0, "the owner never touches the shared count");
    cr_assert_eq(gh_refcnt(o), 6);
    for (int i = 0; i < 6; i++)
        gh_decref(o);
    cr_assert_eq(fx_live(), live0, "freed at local 0 with shared 0");
    cr_assert_eq(fx_ts.brc_merged, merged0, "the fast free merges nothing");
}

static void incref_twice_decref_once(struct gh_tstate *ts, void *arg)
{
    (void)ts;
    gh_object *o = arg;
    gh_incref(o);
    gh_incref(o);
    gh_decref(o);
}

FL_TEST(brc, other_threads_use_the_shared_count, .timeout = 10)
{
    gh_object *o = gh_list_new();
    on_other_thread(incref_twice_decref_once, o);
    cr_assert_eq(gh_prefix(o)->ob_ref_local, 1);
    cr_assert_eq(shared_of(o), (uint64_t)1 << GH_REF_SHARED_SHIFT, "one shared reference");
    cr_assert_eq(gh_refcnt(o), 2, "true count = local + shared");
    /* Our last local reference: the shared count is not 0, so the counts
     * merge instead of freeing, and the object becomes unowned. */
    gh_decref(o);
    cr_assert_eq(gh_prefix(o)->ob_tid, 0);
    cr_assert_eq(shared_of(o) & GH_REF_STATE_MASK, GH_REF_MERGED);
    cr_assert_eq(gh_refcnt(o), 1);
    uint64_t live0 = fx_live();
    gh_decref(o); /* merged: a shared decrement to 0 frees */
    cr_assert_lt(fx_live(), live0);
}

static void decref_one(struct gh_tstate *ts, void *arg)
{
    (void)ts;
    gh_decref(arg);
}

FL_TEST(brc, decref_below_zero_queues_for_the_owner, .timeout = 10)
{
    uint64_t live0 = fx_live();
    gh_object *o = gh_list_new();
    /* The other thread drops the only reference, which we counted: its
     * shared count would go to -1, so it queues the object for us. */
    on_other_thread(decref_one, o);
    cr_assert_eq(shared_of(o), GH_REF_QUEUED, "queued, count unchanged");
    cr_assert_eq(fx_ts.brc_len, 1);
    cr_assert(gh_atomic_load_relaxed_u32(&fx_ts.eval_breaker) & GH_EVAL_BRC_MERGE);
    gh_switch_point(&fx_ts); /* the owner merges: local 1 + shared 0 - the queue's 1 */
    cr_assert_eq(fx_ts.brc_len, 0);
    cr_assert_not(gh_atomic_load_relaxed_u32(&fx_ts.eval_breaker) & GH_EVAL_BRC_MERGE);
    struct gh_alloc_stats st;
    gh_alloc_stats_get(&st);
    cr_assert_eq(st.live_bytes, live0, "freed by the owner's merge");
}

struct made {
    gh_object *o;
};

static void make_one(struct gh_tstate *ts, void *arg)
{
    (void)ts;
    ((struct made *)arg)->o = gh_list_new();
}

FL_TEST(brc, an_exited_owners_objects_are_merged_by_whoever_queues, .timeout = 10)
{
    uint64_t live0 = fx_live();
    struct made m;
    on_other_thread(make_one, &m); /* its owner has exited */
    cr_assert_eq(gh_refcnt(m.o), 1);
    uint64_t merged0 = fx_ts.brc_merged;
    gh_decref(m.o); /* not ours, shared 0: queued, owner gone, merged here */
    cr_assert_eq(fx_ts.brc_merged, merged0 + 1);
    cr_assert_eq(fx_ts.brc_len, 0);
    cr_assert_eq(fx_live(), live0);
}

struct ping {
    gh_object *objs[64];
    int n;
    pthread_barrier_t made, dropped;
    uint64_t queue_at_stop;
};

static void owner_waits_for_drops(struct gh_tstate *ts, void *arg)
{
    struct ping *p = arg;
    for (int i = 0; i < p->n; i++)
        p->objs[i] = gh_list_new();
    gh_sync_block_begin(ts);
    pthread_barrier_wait(&p->made);
    pthread_barrier_wait(&p->dropped); /* the test's thread dropped them all */
    gh_sync_block_end(ts);
    p->queue_at_stop = ts->brc_len; /* merged by gh_rc_thread_stop */
}

static void *owner_thread(void *arg)
{
    struct other a = {.fn = owner_waits_for_drops, .arg = arg};
    return other_main(&a);
}

FL_TEST(brc, an_exiting_owner_merges_its_queue, .timeout = 30)
{
    uint64_t live0 = fx_live();
    struct ping p = {.n = 64};
    pthread_barrier_init(&p.made, NULL, 2);
    pthread_barrier_init(&p.dropped, NULL, 2);
    pthread_t t;
    gh_sync_block_begin(&fx_ts);
    cr_assert_eq(pthread_create(&t, NULL, owner_thread, &p), 0);
    pthread_barrier_wait(&p.made);
    gh_sync_block_end(&fx_ts);
    for (int i = 0; i < p.n; i++)
        gh_decref(p.objs[i]); /* non-owner, shared 0: each queued for the owner */
    gh_sync_block_begin(&fx_ts);
    pthread_barrier_wait(&p.dropped);
    pthread_join(t, NULL);
    gh_sync_block_end(&fx_ts);
    cr_assert_eq(p.queue_at_stop, 64, "all 64 were queued for the running owner");
    cr_assert_eq(fx_live(), live0, "its stop merged and freed them all");
    pthread_barrier_destroy(&p.made);
    pthread_barrier_destroy(&p.dropped);
}

static void deref_weak(struct gh_tstate *ts, void *arg)
{
    (void)ts;
    gh_object **w = arg;
    gh_object *o = gh_weakref_get(w[0]);
    w[1] = o; /* a new reference, counted on the shared count */
}

FL_TEST(brc, weak_reference_deref_from_another_thread, .timeout = 10)
{
    gh_object *o = gh_instance_new();
    gh_object *w[2] = {gh_weakref_new(o, NULL), NULL};
    cr_assert_eq(shared_of(o) & GH_REF_STATE_MASK, GH_REF_MAYBE_WEAKREF);
    on_other_thread(deref_weak, w);
    cr_assert_eq(w[1], o, "alive: the conditional increment succeeds");
    cr_assert_eq(gh_refcnt(o), 2);
    gh_decref(o); /* ours: local 0, shared 1: merged, alive */
    cr_assert_eq(gh_prefix(o)->ob_tid, 0);
    gh_decref(o);  /* the other thread's: dead, the weak reference cleared */
    cr_assert_null(gh_weakref_get(w[0]));
    gh_decref(w[0]);
}

FL_TEST(brc, collection_keeps_owners_and_local_counts, .timeout = 30)
{
    uint64_t live0 = fx_live();
    gh_object *l = gh_list_new();
    for (int i = 0; i < 1000; i++)
        gh_list_append(&fx_ts, L(l), gh_list_new());
    gh_incref(L(l)->ob_item[7]);
    gh_object *cyc = gh_list_new();
    gh_list_append(&fx_ts, L(cyc), gh_newref(cyc)); /* a self-cycle */
    gh_decref(cyc);
    int64_t found = gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(found, 1, "the self-cycle");
    cr_assert_eq(gh_prefix(l)->ob_tid, (uintptr_t)&fx_ts, "owner restored");
    cr_assert_eq(gh_prefix(l)->ob_ref_local, 1);
    cr_assert_eq(gh_prefix(L(l)->ob_item[7])->ob_ref_local, 2, "local count restored");
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(gh_prefix(L(l)->ob_item[i])->ob_tid, (uintptr_t)&fx_ts);
    gh_decref(L(l)->ob_item[7]);
    gh_decref(l);
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(brc, collector_merges_the_queues, .timeout = 30)
{
    uint64_t live0 = fx_live();
    struct made m;
    on_other_thread(make_one, &m);
    /* Keep a second reference on the object the other (exited) thread
     * made, queue nothing; then make one of ours queued by another thread:
     * the collection merges it and releases the queue's reference. */
    gh_object *mine = gh_list_new();
    gh_incref(mine);
    on_other_thread(decref_one, mine);
    cr_assert_eq(fx_ts.brc_len, 1);
    gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(fx_ts.brc_len, 0, "the collector merged our queue");
    cr_assert_eq(gh_prefix(mine)->ob_tid, 0, "merged");
    cr_assert_eq(gh_refcnt(mine), 1);
    gh_decref(mine);
    gh_decref(m.o);
    cr_assert_eq(fx_live(), live0);
}

FL_TEST(brc, immortal_objects_are_never_written, .timeout = 10)
{
    gh_object *none = &gh_none;
    cr_assert_eq(gh_prefix(none)->ob_ref_local, GH_REF_LOCAL_IMMORTAL);
    uint64_t s = shared_of(none);
    gh_incref(none);
    gh_decref(none);
    on_other_thread(decref_one, none);
    cr_assert_eq(shared_of(none), s);
    cr_assert_eq(gh_prefix(none)->ob_ref_local, GH_REF_LOCAL_IMMORTAL);
    cr_assert(gh_refcnt_is_immortal(gh_refcnt(none)));
}
