/* test_generations.fl.c - when the collector runs and what it looks at,
 * under every flavour (suites gcgen__<flavour>, gcuntrack__<flavour>):
 * gen0's count, the thresholds, promotion of survivors, which generation
 * a scheduled collection picks, the long-lived-pending rule, scheduling
 * from allocations and running at a switch point, gc.disable(), and
 * untracking of tuples and dicts that cannot be part of a cycle.
 *
 * The generational rules (CPython 3.12/3.13's gc_collect_main and
 * gc_collect_generations) apply under the GIL's compact layout; under
 * objlock every collection is of the whole heap (gc=stw), and the tests
 * that only make sense for generations say so and skip. */
#include <stdlib.h>

#include "gc_helpers.h"

/* ---- thresholds and counts ----------------------------------------------- */

FL_TEST(gcgen, thresholds_default_to_2000_10_10_and_are_settable, .timeout = 10)
{
    int64_t t[GH_GC_NGENS];
    gh_gc_get_threshold(t);
    cr_assert(t[0] == 2000 && t[1] == 10 && t[2] == 10, "CPython 3.13's defaults (got %jd %jd %jd)",
              (intmax_t)t[0], (intmax_t)t[1], (intmax_t)t[2]);
    gh_gc_set_threshold(700, 5, 3);
    gh_gc_get_threshold(t);
    cr_assert(t[0] == 700 && t[1] == 5 && t[2] == 3);
    gh_gc_set_threshold(0, 0, 0);
    gh_gc_get_threshold(t);
    cr_assert(t[0] == 0 && t[1] == 0 && t[2] == 0);
}

FL_TEST(gcgen, gen0_count_rises_with_container_allocations_and_falls_with_frees, .timeout = 10)
{
    leak_begin();
    int64_t c0 = gc_count(0);
    gh_object *lists[10];
    for (int i = 0; i < 10; i++)
        lists[i] = gh_list_new();
    cr_assert_eq(gc_count(0), c0 + 10, "one per container (got %jd, expected %jd)",
                 (intmax_t)gc_count(0), (intmax_t)(c0 + 10));
    /* Objects of non-container types are not the collector's. */
    gh_object *big = gh_int_new(1000000), *s = gh_str_new("abc", 3);
    cr_assert_eq(gc_count(0), c0 + 10, "ints and strs are not counted");
    /* An (untracked) dict is still a collector object: counted. */
    gh_object *d = gh_dict_new();
    cr_assert_not(gh_gc_object_is_tracked(d));
    cr_assert_eq(gc_count(0), c0 + 11, "an untracked dict counts too (_PyObject_GC_Link)");
    gh_decref(d);
    gh_decref(big);
    gh_decref(s);
    for (int i = 0; i < 10; i++) {
        gh_decref(lists[i]);
        cr_assert_eq(gc_count(0), c0 + 9 - i, "a free counts down");
    }
    leak_end();
}

/* ---- generations (gil flavours) ----------------------------------------------- */

FL_TEST(gcgen, survivors_are_promoted_one_generation_per_collection, .timeout = 10)
{
    if (!fx_gil())
        cr_skip_test("gc=stw has one generation");
    leak_begin();
    gh_object *l = gh_list_new();
    cr_assert(in_generation(l, 0), "a new container is in gen0");
    cr_assert_not(in_generation(l, 1));

    int64_t c1 = gc_count(1), c2 = gc_count(2);
    gh_gc_collect(&fx_ts, 0);
    cr_assert_eq(gc_count(0), 0, "gen0's count starts again");
    cr_assert_eq(gc_count(1), c1 + 1, "gen1 counts one more gen0 collection");
    cr_assert_eq(gc_count(2), c2);
    cr_assert_not(in_generation(l, 0), "survivors leave gen0");
    cr_assert(in_generation(l, 1), "... for gen1");

    gh_gc_collect(&fx_ts, 0);
    cr_assert(in_generation(l, 1), "a gen0 collection leaves gen1 alone");
    cr_assert_eq(gc_count(1), c1 + 2);

    gh_gc_collect(&fx_ts, 1);
    cr_assert_eq(gc_count(1), 0);
    cr_assert_eq(gc_count(2), c2 + 1, "gen2 counts gen1 collections");
    cr_assert(in_generation(l, 2), "survivors of gen1 go to gen2");
    cr_assert_not(in_generation(l, 1));

    gh_gc_collect(&fx_ts, 2);
    cr_assert(in_generation(l, 2), "gen2 is the last");
    cr_assert_eq(gc_count(2), 0);
    cr_assert(gh_gc_object_is_tracked(l));
    gh_decref(l);
    leak_end();
}

/* Which generation's collection count moved in a step. */
static int collected_generation(const struct gh_gc_genstats before[GH_GC_NGENS])
{
    struct gh_gc_genstats now[GH_GC_NGENS];
    gh_gc_get_stats(now);
    int which = -1;
    for (int i = 0; i < GH_GC_NGENS; i++) {
        if (now[i].collections == before[i].collections + 1) {
            cr_assert_eq(which, -1, "one collection per scheduled run");
            which = i;
        } else {
            cr_assert_eq(now[i].collections, before[i].collections);
        }
    }
    return which;
}

/* Allocates containers (kept in keep[*n...]) until a collection is
 * scheduled, then passes a switch point; returns the generation that was
 * collected (-1: none). */
static int allocate_and_switch(gh_object **keep, int *n, int max)
{
    struct gh_gc_genstats before[GH_GC_NGENS];
    gh_gc_get_stats(before);
    while (!gc_scheduled()) {
        cr_assert_lt(*n, max, "a collection is scheduled past the threshold");
        keep[(*n)++] = gh_list_new();
    }
    gh_switch_point(&fx_ts);
    cr_assert_not(gc_scheduled(), "the switch point took the request");
    return collected_generation(before);
}

FL_TEST(gcgen, a_scheduled_collection_picks_the_oldest_generation_over_threshold, .timeout = 10)
{
    if (!fx_gil())
        cr_skip_test("gc=stw has one generation");
    leak_begin();
    enum { MAX = 200 };
    gh_object *keep[MAX];
    int n = 0;
    gh_gc_set_threshold(5, 2, 1000);
    /* gen1 is collected when more than 2 gen0 collections happened since
     * its last one: gen0, gen0, gen0, then gen1. */
    static const int expected[] = {0, 0, 0, 1, 0};
    for (int r = 0; r < 5; r++) {
        int g = allocate_and_switch(keep, &n, MAX);
        cr_assert_eq(g, expected[r], "round %d: generation %d collected, expected %d", r, g,
                     expected[r]);
        if (r < 3)
            cr_assert_eq(gc_count(1), r + 1, "gen1's count after %d gen0 collections", r + 1);
    }
    cr_assert_eq(gc_count(2), 1, "one gen1 collection so far");
    /* gen2 over its threshold now; no full collection yet, so nothing is
     * long-lived and the 25% rule does not hold it back. */
    gh_gc_set_threshold(5, 2, 0);
    cr_assert_eq(allocate_and_switch(keep, &n, MAX), 2, "gen2 is the oldest over its threshold");
    cr_assert(gc_count(0) == 0 && gc_count(1) == 0 && gc_count(2) == 0,
              "a full collection resets every count");
    /* All the kept lists survived into gen2. */
    for (int i = 0; i < n; i++)
        cr_assert(in_generation(keep[i], 2));
    for (int i = 0; i < n; i++)
        gh_decref(keep[i]);
    leak_end();
}

FL_TEST(gcgen, long_lived_pending_rule_defers_full_collections, .timeout = 30)
{
    if (!fx_gil())
        cr_skip_test("gc=stw has no generations to promote into");
    leak_begin();
    enum { OLD = 400, MAX = 64 };
    gh_object *old[OLD], *young[MAX];
    int ny = 0;
    for (int i = 0; i < OLD; i++)
        old[i] = gh_list_new();
    gh_gc_collect(&fx_ts, 2);
    int64_t total = gh_gcstate.long_lived_total;
    cr_assert_geq(total, OLD, "a full collection records what it left (%jd)", (intmax_t)total);
    cr_assert_eq(gh_gcstate.long_lived_pending, 0);

    /* gen2 over threshold 0 after one gen1 collection, which promotes
     * next to nothing. */
    gh_gc_set_threshold(5, 1000, 0);
    gh_gc_collect(&fx_ts, 1);
    cr_assert_eq(gc_count(2), 1);
    cr_assert_lt(gh_gcstate.long_lived_pending, total / 4);
    int g = allocate_and_switch(young, &ny, MAX);
    cr_assert_eq(g, 0, "pending %jd < total/4 %jd: gen2 waits, gen0 is collected (got gen %d)",
                 (intmax_t)gh_gcstate.long_lived_pending, (intmax_t)(total / 4), g);

    /* Promote more than a quarter of the long-lived objects. */
    int64_t k = total / 4 + 10;
    gh_object **more = calloc((size_t)k, sizeof *more);
    cr_assert_not_null(more);
    for (int64_t i = 0; i < k; i++)
        more[i] = gh_list_new();
    gh_gc_collect(&fx_ts, 1);
    cr_assert_gt(gh_gcstate.long_lived_pending, total / 4, "gen1's survivors are pending");
    cr_assert_eq(gc_count(2), 2);
    g = allocate_and_switch(young, &ny, MAX);
    cr_assert_eq(g, 2, "pending > total/4: the full collection runs (got gen %d)", g);
    cr_assert_eq(gh_gcstate.long_lived_pending, 0);
    cr_assert_geq(gh_gcstate.long_lived_total, OLD + k, "the new long-lived total");

    for (int64_t i = 0; i < k; i++)
        gh_decref(more[i]);
    free(more);
    for (int i = 0; i < OLD; i++)
        gh_decref(old[i]);
    for (int i = 0; i < ny; i++)
        gh_decref(young[i]);
    leak_end();
}

/* ---- scheduling -------------------------------------------------------------------- */

FL_TEST(gcgen, allocating_past_the_threshold_schedules_and_the_switch_point_runs_it, .timeout = 20)
{
    leak_begin();
    enum { MAX = 2000 };
    gh_object **keep = calloc(MAX, sizeof *keep);
    cr_assert_not_null(keep);
    int n = 0;
    if (fx_gil()) {
        /* Exactly: scheduled when the count passes the threshold. */
        int64_t c0 = gc_count(0);
        gh_gc_set_threshold(c0 + 10, 10, 10);
        while (n < 10) {
            keep[n++] = gh_list_new();
            cr_assert_not(gc_scheduled(), "count %jd is not over the threshold",
                          (intmax_t)gc_count(0));
        }
        keep[n++] = gh_list_new();
        cr_assert(gc_scheduled(), "count %jd > threshold %jd", (intmax_t)gc_count(0),
                  (intmax_t)(c0 + 10));
    } else {
        /* Each thread flushes its count every GH_GC_LOCAL_COUNT. */
        gh_gc_set_threshold(100, 10, 10);
        while (n < MAX && !gc_scheduled())
            keep[n++] = gh_list_new();
        cr_assert(gc_scheduled());
        cr_assert_leq(n, GH_GC_LOCAL_COUNT, "scheduled at the first flush (after %d)", n);
    }
    cr_assert_eq(collections_total(), 0, "nothing runs inside an operation");
    /* More allocations do not run it either. */
    for (int i = 0; i < 5; i++)
        keep[n++] = gh_list_new();
    cr_assert_eq(collections_total(), 0);

    gh_switch_point(&fx_ts);
    cr_assert_not(gc_scheduled());
    /* Under gc=stw too: the whole heap, recorded as generation 0, the one
     * an automatic collection asks for (free-threaded CPython). */
    cr_assert_eq(gh_gc_stats.gen[0].collections, 1, "an automatic collection at the switch point");
    cr_assert_lt(gc_count(0), GH_GC_LOCAL_COUNT, "the young count starts again");
    gh_switch_point(&fx_ts);
    cr_assert_eq(collections_total(), 1, "one request, one collection");
    for (int i = 0; i < n; i++)
        gh_decref(keep[i]);
    free(keep);
    leak_end();
}

FL_TEST(gcgen, disabled_collector_schedules_nothing_but_collect_still_works, .timeout = 20)
{
    leak_begin();
    gh_object *cls = new_class("Node", NULL, NULL);
    cr_assert(gh_gc_isenabled());
    gh_gc_disable();
    cr_assert_not(gh_gc_isenabled());
    gh_gc_set_threshold(10, 10, 10);
    enum { N = 1200 };
    gh_object **keep = calloc(N, sizeof *keep);
    cr_assert_not_null(keep);
    for (int i = 0; i < N; i++)
        keep[i] = gh_list_new();
    cr_assert_not(gc_scheduled(), "disabled: allocations schedule nothing");
    gh_switch_point(&fx_ts);
    cr_assert_eq(collections_total(), 0);
    /* A request made before gc.disable() is dropped at the switch point.
     * Seq_cst as every eval_breaker RMW (base/tstate.h); pairs with
     * nothing: this thread reads its own bit. */
    gh_atomic_or_seqcst_u32(&fx_ts.eval_breaker, GH_EVAL_GC_SCHEDULED);
    gh_switch_point(&fx_ts);
    cr_assert_not(gc_scheduled());
    cr_assert_eq(collections_total(), 0, "a stale request does not collect while disabled");

    gh_object *n = gh_instance_new_of(cls);
    link_attr(n, "self", n);
    gh_decref(n);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "gc.collect() works while disabled");
    cr_assert_eq(live_instances_of(cls), 0);
    cr_assert_eq(collections_total(), 1);

    gh_gc_enable();
    cr_assert(gh_gc_isenabled());
    for (int i = 0; i < N; i++)
        gh_decref(keep[i]);
    free(keep);
    gh_decref(cls);
    leak_end();
}

/* ---- untracking ------------------------------------------------------------------------ */

FL_TEST(gcuntrack, a_tuple_of_atomic_values_is_untracked_by_a_collection, .timeout = 10)
{
    leak_begin();
    gh_object *atomic = gh_tuple_pack(3, gh_int_new(1), gh_int_new(1000000),
                                             gh_str_new("x", 1));
    gh_object *with_list = gh_tuple_pack(2, gh_int_new(1), gh_list_new());
    gh_object *inner = gh_tuple_pack(1, gh_int_new(7));
    gh_object *nested = gh_tuple_pack(1, gh_newref(inner));
    cr_assert(gh_gc_object_is_tracked(atomic), "a new tuple is tracked");
    cr_assert(gh_gc_object_is_tracked(with_list));
    uint64_t before = gh_gc_stats.untracked_tuples;

    /* Tuples are untracked by every collection, gen0's included. */
    gh_gc_collect(&fx_ts, 0);
    cr_assert_not(gh_gc_object_is_tracked(atomic), "ints and strs cannot form a cycle");
    cr_assert(gh_gc_object_is_tracked(with_list), "a tuple holding a list stays tracked");
    cr_assert_not(gh_gc_object_is_tracked(inner));
    cr_assert_geq(gh_gc_stats.untracked_tuples, before + 2);
    gh_gc_collect(&fx_ts, 2);
    cr_assert_not(gh_gc_object_is_tracked(nested),
                  "a tuple of untracked tuples is untracked (at the latest by the next collection)");
    cr_assert(gh_gc_object_is_tracked(with_list));
    cr_assert_not(in_generation(atomic, -1), "gc.get_objects() no longer sees it");

    gh_decref(atomic);
    gh_decref(with_list);
    gh_decref(inner);
    gh_decref(nested);
    leak_end();
}

FL_TEST(gcuntrack, a_dict_is_tracked_while_it_may_hold_a_cycle, .timeout = 10)
{
    leak_begin();
    gh_object *d = gh_dict_new();
    cr_assert_not(gh_gc_object_is_tracked(d), "a new dict is untracked");
    gh_object *k = gh_str_new("k", 1);
    gh_dict_set(&fx_ts, D(d), gh_int_new(1), gh_int_new(2));
    gh_dict_set(&fx_ts, D(d), gh_newref(k), gh_str_new("v", 1));
    cr_assert_not(gh_gc_object_is_tracked(d), "atomic keys and values keep it untracked");
    gh_dict_set(&fx_ts, D(d), gh_newref(k), gh_list_new());
    cr_assert(gh_gc_object_is_tracked(d), "tracked once it holds a list (MAINTAIN_TRACKING)");
    cr_assert(gh_dict_del(&fx_ts, D(d), k));
    cr_assert(gh_gc_object_is_tracked(d), "deleting does not untrack");

    uint64_t before = gh_gc_stats.untracked_dicts;
    if (fx_gil()) {
        gh_gc_collect(&fx_ts, 0);
        gh_gc_collect(&fx_ts, 1);
        cr_assert(gh_gc_object_is_tracked(d), "dicts are untracked only by full collections");
        cr_assert_eq(gh_gc_stats.untracked_dicts, before);
    }
    gh_gc_collect(&fx_ts, 2);
    cr_assert_not(gh_gc_object_is_tracked(d), "a full collection untracks a dict of atomics");
    cr_assert_geq(gh_gc_stats.untracked_dicts, before + 1);

    /* An untracked tuple does not make a dict tracked; a tracked one does. */
    gh_object *t_atomic = gh_tuple_pack(1, gh_int_new(3));
    gh_gc_collect(&fx_ts, 0);
    cr_assert_not(gh_gc_object_is_tracked(t_atomic));
    gh_dict_set(&fx_ts, D(d), gh_int_new(5), gh_newref(t_atomic));
    cr_assert_not(gh_gc_object_is_tracked(d), "an untracked tuple cannot be part of a cycle");
    gh_dict_set(&fx_ts, D(d), gh_int_new(6),
                       gh_tuple_pack(1, gh_list_new()));
    cr_assert(gh_gc_object_is_tracked(d), "a tracked tuple may be");

    gh_decref(t_atomic);
    gh_decref(k);
    gh_decref(d);
    leak_end();
}
