/* test_critsec.fl.c - critical sections (sync/critsec.h) under every
 * sync=objlock flavour and every lock= kind: one and two objects, address
 * (lock) order, shared stripes, suspension before blocking and resumption
 * after. */
#include <criterion/parameterized.h>
#include <pthread.h>
#include <sched.h>

#include "base/lockprof.h"
#include "fl_fixture.h"

static const char *const kind_names[] = {"pymutex", "pthread", "tatas", "ticket"};

#define KIND_PARAMS(name)                                                           \
    ParameterizedTestParameters(GH_FL(critsec), name)                               \
    {                                                                               \
        static enum gh_oblock_kind kinds[] = {GH_OBLOCK_PYMUTEX, GH_OBLOCK_PTHREAD, \
                                              GH_OBLOCK_TATAS, GH_OBLOCK_TICKET};   \
        return cr_make_param_array(enum gh_oblock_kind, kinds, GH_ARRAY_LEN(kinds)); \
    }
#define KIND_TEST(name, ...)                                                        \
    ParameterizedTest(enum gh_oblock_kind *kind, GH_FL(critsec), name, .init = fx_setup, \
                      .fini = fx_teardown, ##__VA_ARGS__)

static void begin_kind(enum gh_oblock_kind k)
{
    if (!fx_objlock())
        cr_skip_test("critical sections lock only under sync=objlock");
    gh_oblock_select(k);
}

static void *try_take(void *p)
{
    struct gh_lockstat st = {0};
    bool got = gh_oblock_trylock(p, &st);
    if (got)
        gh_oblock_unlock(p);
    return (void *)(uintptr_t)got;
}

/* Whether another thread could take l now. */
static bool free_for_others(gh_oblock *l)
{
    pthread_t t;
    void *got;
    cr_assert_eq(pthread_create(&t, NULL, try_take, l), 0);
    pthread_join(t, &got);
    return (uintptr_t)got != 0;
}

KIND_PARAMS(one_and_two_objects)
KIND_TEST(one_and_two_objects, .timeout = 30)
{
    begin_kind(*kind);
    gh_object *a = gh_list_new(), *b = gh_list_new();
    gh_oblock *la = gh_ob_lock(a), *lb = gh_ob_lock(b);
    struct gh_critsec cs;

    gh_cs_begin(&fx_ts, &cs, a);
    cr_assert_eq(fx_ts.cs_top, &cs);
    cr_assert_not(free_for_others(la), "lock=%s: a one-object section holds it", kind_names[*kind]);
    gh_cs_end(&fx_ts, &cs);
    cr_assert_null(fx_ts.cs_top);
    cr_assert(free_for_others(la));

    if (la != lb) {
        /* Either argument order: the lower lock address is taken first. */
        gh_cs_begin2(&fx_ts, &cs, b, a);
        cr_assert_lt((uintptr_t)cs.l1, (uintptr_t)cs.l2, "lock=%s: address-ordered",
                     kind_names[*kind]);
        cr_assert_not(free_for_others(la));
        cr_assert_not(free_for_others(lb));
        gh_cs_end(&fx_ts, &cs);
        gh_cs_begin2(&fx_ts, &cs, a, b);
        cr_assert_lt((uintptr_t)cs.l1, (uintptr_t)cs.l2);
        gh_cs_end(&fx_ts, &cs);
        cr_assert(free_for_others(la) && free_for_others(lb));
    }
    /* The same object twice is one lock. */
    gh_cs_begin2(&fx_ts, &cs, a, a);
    cr_assert_null(cs.l2);
    cr_assert_not(free_for_others(la));
    gh_cs_end(&fx_ts, &cs);
    cr_assert(free_for_others(la));
    gh_decref(a);
    gh_decref(b);
}

/* pthread and ticket keep locks in stripes: two objects on one stripe
 * share the lock. A two-object section takes it once, and a section on
 * one nested in a section on the other is a no-op: neither deadlocks. */
KIND_PARAMS(shared_stripe)
KIND_TEST(shared_stripe, .timeout = 30)
{
    begin_kind(*kind);
    if (gh_oblock_in_header())
        cr_skip_test("lock=%s keeps the lock in the object", kind_names[*kind]);
    enum { MAXN = 4 * GH_OBLOCK_STRIPES };
    static gh_object *objs[MAXN];
    int n = 0, x = -1, y = -1;
    for (; n < MAXN && x < 0; n++) {
        objs[n] = gh_list_new();
        for (int j = 0; j < n; j++)
            if (gh_ob_lock(objs[j]) == gh_ob_lock(objs[n])) {
                x = j;
                y = n;
                break;
            }
    }
    cr_assert_geq(x, 0, "some two of %d objects share a stripe", MAXN);
    gh_oblock *l = gh_ob_lock(objs[x]);
    struct gh_critsec cs, inner;
    gh_cs_begin2(&fx_ts, &cs, objs[x], objs[y]);
    cr_assert_null(cs.l2, "one stripe, one lock");
    cr_assert_not(free_for_others(l));
    gh_cs_end(&fx_ts, &cs);
    cr_assert(free_for_others(l));

    gh_cs_begin(&fx_ts, &cs, objs[x]);
    gh_cs_begin(&fx_ts, &inner, objs[y]);
    cr_assert_null(inner.l1, "a no-op section: the enclosing one holds the stripe");
    cr_assert_eq(fx_ts.cs_top, &cs);
    gh_cs_end(&fx_ts, &inner);
    cr_assert_not(free_for_others(l), "still held by the enclosing section");
    gh_cs_end(&fx_ts, &cs);
    cr_assert(free_for_others(l));
    for (int i = 0; i < n; i++)
        gh_decref(objs[i]);
}

/* A nested section whose lock is busy suspends the enclosing section
 * before it waits (its lock is free for others meanwhile) and the
 * enclosing section is active again after. */
static gh_oblock *held_b, *watch_a;
/* 1: B is held, 2: A was seen free. Seq_cst for a test's simplicity;
 * release stores and acquire loads would do. */
static int phase;

static void *hold_b(void *p)
{
    (void)p;
    struct gh_lockstat st = {0};
    gh_oblock_lock(held_b, &st);
    gh_atomic_store_seqcst_int(&phase, 1); /* pairs with the test's wait for 1 */
    /* Wait until the main thread, blocked on B, has released A. */
    for (;;) {
        if (gh_oblock_trylock(watch_a, &st)) {
            gh_oblock_unlock(watch_a);
            break;
        }
        sched_yield();
    }
    /* Pairs with the test's check for 2 (B's unlock below orders it too). */
    gh_atomic_store_seqcst_int(&phase, 2);
    gh_oblock_unlock(held_b);
    return NULL;
}

KIND_PARAMS(nested_wait_suspends)
KIND_TEST(nested_wait_suspends, .timeout = 30)
{
    begin_kind(*kind);
    gh_object *a = gh_list_new(), *b = gh_list_new();
    int extra = 0;
    static gh_object *spare[4 * GH_OBLOCK_STRIPES];
    while (gh_ob_lock(a) == gh_ob_lock(b)) { /* distinct locks wanted */
        spare[extra++] = b;
        b = gh_list_new();
    }
    watch_a = gh_ob_lock(a);
    held_b = gh_ob_lock(b);
    phase = 0;
    struct gh_critsec outer, inner;
    gh_cs_begin(&fx_ts, &outer, a);
    uint64_t suspends = fx_ts.cs_suspends;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hold_b, NULL), 0);
    while (gh_atomic_load_seqcst_int(&phase) < 1) /* pairs with hold_b's store of 1 */
        sched_yield();
    gh_cs_begin(&fx_ts, &inner, b); /* blocks until hold_b saw A free */
    /* Pairs with hold_b's store of 2, made before it unlocked B. */
    cr_assert_eq(gh_atomic_load_seqcst_int(&phase), 2,
                 "lock=%s: the enclosing section was released while waiting", kind_names[*kind]);
    cr_assert_eq(fx_ts.cs_suspends, suspends + 1, "the suspension is counted");
    pthread_join(t, NULL);
    cr_assert_not(free_for_others(held_b));
#if defined(GH_FL_RC_LOCKED)
    /* rc=locked takes the whole stack again: the outer is active at once. */
    cr_assert(outer.active);
    cr_assert_not(free_for_others(watch_a));
#else
    /* Only the top-most section is guaranteed active (CPython's rule). */
    cr_assert_not(outer.active);
#endif
    gh_cs_end(&fx_ts, &inner);
    cr_assert(outer.active, "ending the inner section resumes the enclosing one");
    cr_assert_not(free_for_others(watch_a));
    cr_assert(free_for_others(held_b));
    gh_cs_end(&fx_ts, &outer);
    cr_assert(free_for_others(watch_a));
    gh_decref(a);
    gh_decref(b);
    for (int i = 0; i < extra; i++)
        gh_decref(spare[i]);
}

/* A blocking wait (sync.h's block_begin/end, as the io op) releases the
 * thread's sections before it detaches and takes them again after. */
KIND_PARAMS(blocking_suspends)
KIND_TEST(blocking_suspends, .timeout = 30)
{
    begin_kind(*kind);
    gh_object *a = gh_list_new();
    gh_oblock *la = gh_ob_lock(a);
    struct gh_critsec cs;
    gh_cs_begin(&fx_ts, &cs, a);
    gh_sync_block_begin(&fx_ts);
    cr_assert(free_for_others(la), "lock=%s: released while blocked", kind_names[*kind]);
    cr_assert_not(cs.active);
    gh_sync_block_end(&fx_ts);
    cr_assert(cs.active);
    cr_assert_not(free_for_others(la), "held again after");
    gh_cs_end(&fx_ts, &cs);
    cr_assert(free_for_others(la));
    gh_decref(a);
}

/* --lock-profile: 1 in N sections has its hold timed, each lock of a
 * two-object section in its class; a suspension ends the timed hold (the
 * lock was released there), and profiling off times nothing. */
KIND_PARAMS(sampled_holds)
KIND_TEST(sampled_holds, .timeout = 30)
{
    begin_kind(*kind);
    gh_object *a = gh_list_new(), *d = gh_dict_new();
    struct gh_lockprof *lp = gh_lockprof_new(4);
    cr_assert_not_null(lp);
    struct gh_critsec cs;

    for (int i = 0; i < 8; i++) { /* off: nothing timed */
        gh_cs_begin(&fx_ts, &cs, a);
        gh_cs_end(&fx_ts, &cs);
    }
    gh_lockprof_attach(&fx_ts, lp);
    for (int i = 0; i < 100; i++) {
        gh_cs_begin(&fx_ts, &cs, a);
        gh_cs_end(&fx_ts, &cs);
    }
    cr_assert_eq(lp->hold[GH_LOCK_list].count, 25, "lock=%s: %llu of 100 holds timed, not 1 in 4",
                 kind_names[*kind], (unsigned long long)lp->hold[GH_LOCK_list].count);
    if (gh_ob_lock(a) != gh_ob_lock(d)) {
        for (int i = 0; i < 4; i++) {
            gh_cs_begin2(&fx_ts, &cs, a, d);
            gh_cs_end(&fx_ts, &cs);
        }
        cr_assert_eq(lp->hold[GH_LOCK_list].count, 26);
        cr_assert_eq(lp->hold[GH_LOCK_dict].count, 1, "the second lock's class too");
    }
    /* Suspended while timed: the hold ends at the suspension, once. */
    uint64_t before = lp->hold[GH_LOCK_list].count;
    fx_ts.hold_left = 1;
    gh_cs_begin(&fx_ts, &cs, a);
    cr_assert(cs.sampled);
    gh_sync_block_begin(&fx_ts);
    cr_assert_not(cs.sampled);
    cr_assert_null(lp->cs_open);
    gh_sync_block_end(&fx_ts);
    gh_cs_end(&fx_ts, &cs);
    cr_assert_eq(lp->hold[GH_LOCK_list].count, before + 1);
    gh_lockprof_attach(&fx_ts, NULL);
    cr_assert_eq(fx_ts.hold_left, 0);
    gh_lockprof_free(lp);
    gh_decref(a);
    gh_decref(d);
}
