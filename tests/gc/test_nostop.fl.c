/* test_nostop.fl.c - gc=nostop, the collector that does not stop the world
 * (docs/gc.md, "gc=nostop"), on one thread: a test hook moves a reference
 * between the collector's subtraction and its scan, where a mutator
 * running in parallel would, and the collector clears a live object; the
 * checked mode sees it. The same heap under gc=stw (the move made before
 * the collection, the only place a stopped world allows) keeps it.
 *
 * gc=nostop runs only without a GIL and without rc=biased (strategy.c):
 * the other flavours skip. */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>

#include "gc_helpers.h"

static bool nostop_applies(void)
{
#if defined(GH_FL_NO_GIL) && !defined(GH_FL_RC_BIASED)
    return true;
#else
    return false;
#endif
}

/* The "global" list L holds X; the "mutator" pops X into its "local". */
static struct {
    gh_object *L;
    gh_object *local;
    int calls;
} mv;

static void pop_into_local(void *arg)
{
    (void)arg;
    mv.calls++;
    mv.local = gh_list_pop(&fx_ts, L(mv.L));
}

/* L = [X], X = [Z]; the collector counts and subtracts (X: 1 - 1 = 0, Z:
 * 1 - 1 = 0), then x = L.pop() moves X's only reference out of the heap
 * into a local, and the scan from L (1, the test's reference) reaches
 * neither: both are "garbage". X is cleared under its holder (Z, which
 * only X held, is freed) and counted as a live object collected. */
static void build(void)
{
    mv.L = gh_list_new();
    gh_object *x = gh_list_new();
    gh_list_append(&fx_ts, L(x), gh_list_new()); /* Z */
    gh_list_append(&fx_ts, L(mv.L), x);
    mv.local = NULL;
    mv.calls = 0;
}

FL_TEST(gc, nostop_clears_a_live_object_whose_reference_moved_during_the_scan, .timeout = 10)
{
    if (!nostop_applies())
        cr_skip_test("gc=nostop is refused with a GIL and with rc=biased");
    gh_gc_init(GH_GC_NOSTOP);
    gh_model.checked = true; /* poison and quarantine: a freed Z stays readable */
    leak_begin();
    build();
    gh_object *x = L(mv.L)->ob_item[0];
    gh_object *z = L(x)->ob_item[0];

    gh_gc_set_scan_hook(pop_into_local, NULL);
    int64_t found = gh_gc_collect(&fx_ts, 2);
    gh_gc_set_scan_hook(NULL, NULL);

    cr_assert_eq(mv.calls, 1, "the hook runs once per nostop collection");
    cr_assert_eq(mv.local, x, "the local holds X");
    cr_assert_eq(found, 2, "X and Z found unreachable (got %jd)", (intmax_t)found);
    cr_assert_eq(gh_gc_stats.nostop_live_collected, 1, "X was live: its holder still has it");
    cr_assert_eq(fx_ts.hazards.n[GH_HAZARD_LIVE_COLLECTED], 1, "the checked mode counts it");
    cr_assert_str_eq(fx_ts.hazards.first[GH_HAZARD_LIVE_COLLECTED].type, "list");
    cr_assert_eq(gh_list_len(L(x)), 0, "X was cleared under its holder");
    cr_assert(gh_is_freed(z), "Z, reachable through the live X, was freed");
    cr_assert(gh_gc_object_is_tracked(x), "X is tracked again after it was found live");
    cr_assert_str_eq(gh_freed_kind_name(z), "list", "poisoned, its kind kept");

    gh_decref(mv.local);
    gh_decref(mv.L);
    gh_quarantine_flush();
    gh_model.checked = false;
    leak_end();
}

/* The control: gc=stw. With the world stopped the move can only come
 * before or after the collection; before it, X's count (the local) is a
 * reference from outside the heap, and nothing is collected. */
FL_TEST(gc, stw_keeps_the_object_a_stopped_world_cannot_move_under_it, .timeout = 10)
{
    if (!nostop_applies())
        cr_skip_test("the control of gc=nostop's test");
    gh_gc_init(GH_GC_STW);
    leak_begin();
    build();
    gh_gc_set_scan_hook(pop_into_local, NULL);
    pop_into_local(NULL);
    gh_object *x = mv.local;
    gh_object *z = L(x)->ob_item[0];
    int64_t found = gh_gc_collect(&fx_ts, 2);
    gh_gc_set_scan_hook(NULL, NULL);
    cr_assert_eq(mv.calls, 1, "gc=stw never calls nostop's hook");
    cr_assert_eq(found, 0);
    cr_assert_eq(gh_list_len(L(x)), 1, "X keeps Z");
    cr_assert_eq(L(x)->ob_item[0], z);
    cr_assert_eq(gh_gc_stats.nostop_live_collected, 0);
    gh_decref(mv.local);
    gh_decref(mv.L);
    leak_end();
}

/* The fault net: a memory fault inside a nostop collection (here raised by
 * the hook, between the subtraction and the scan) is counted, the
 * collection abandoned and the heap put back as if it had not started; the
 * next collection and the teardown work. The handler is the run's
 * (scenario/run.c): back to the thread's sigsetjmp, if it has one. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    struct gh_tstate *ts = gh_tstate_get();
    if (ts && ts->fault_jmp)
        siglongjmp(*(sigjmp_buf *)ts->fault_jmp, 1);
    abort();
}

static void fault_in_scan(void *arg)
{
    (void)arg;
    mv.calls++;
    raise(SIGSEGV);
}

FL_TEST(gc, nostop_fault_abandons_the_collection_and_restores_the_heap, .timeout = 10)
{
    if (!nostop_applies())
        cr_skip_test("gc=nostop is refused with a GIL and with rc=biased");
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGSEGV, &sa, &old), 0);
    gh_gc_init(GH_GC_NOSTOP);
    gh_model.checked = true;
    leak_begin();
    build();
    gh_object *x = L(mv.L)->ob_item[0];
    gh_object *z = L(x)->ob_item[0];
    /* and a cycle nothing holds, which the abandoned collection had found */
    gh_object *cyc = gh_list_new();
    gh_list_append(&fx_ts, L(cyc), gh_newref(cyc));
    gh_decref(cyc);

    gh_gc_set_scan_hook(fault_in_scan, NULL);
    int64_t found = gh_gc_collect(&fx_ts, 2);
    gh_gc_set_scan_hook(NULL, NULL);
    cr_assert_eq(mv.calls, 1);
    cr_assert_eq(found, 0, "an abandoned collection finds nothing");
    cr_assert_eq(fx_ts.hazards.n[GH_HAZARD_FAULT], 1, "the fault is a hazard");
    cr_assert_eq(gh_gc_stats.nostop_abandoned, 1);
    cr_assert_null(fx_ts.fault_jmp, "no net left behind");
    cr_assert_not(fx_ts.gc_collecting, "the collector's lock is released");
    for (gh_object *const *o = (gh_object *const[]){mv.L, x, z, cyc, NULL}; *o; o++) {
        cr_assert_not(gh_is_freed(*o));
        cr_assert_eq(gh_gc_bits(*o) & GH_GCBIT_UNREACHABLE, 0, "scratch cleared");
        cr_assert(gh_gc_object_is_tracked(*o));
    }
    cr_assert_eq(gh_list_len(L(x)), 1, "X keeps Z");

    /* The next collection is whole: only the cycle is garbage. */
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1);
    cr_assert_eq(gh_gc_stats.nostop_live_collected, 0);
    gh_decref(mv.L);
    gh_quarantine_flush();
    gh_model.checked = false;
    leak_end();
    sigaction(SIGSEGV, &old, NULL);
}
