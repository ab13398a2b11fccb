/* test_collect.fl.c - the cyclic collector's classic examples, under every
 * strategy flavour (suites gc__<flavour>): what reference counting cannot
 * free, what the collector does with finalizers, legacy finalizers,
 * resurrection and weak references (CPython's rules; docs/gc.md). */
#include "gc_helpers.h"

static int ndel;
static void del_count(gh_object *self, void *arg)
{
    (void)self, (void)arg;
    ndel++;
}

static gh_object *resurrected_into;
static void del_resurrect(gh_object *self, void *arg)
{
    (void)arg;
    ndel++;
    gh_list_append(&fx_ts, L(resurrected_into), gh_newref(self));
}

/* class Node: pass; n = Node(); n.self = n; del n  ->  alive until collect */
FL_TEST(gc, self_reference_survives_del_and_dies_in_collect, .timeout = 10)
{
    gh_object *cls = new_class("Node", NULL, NULL);
    uint64_t before = fx_live();
    gh_object *n = gh_instance_new_of(cls);
    link_attr(n, "self", n);
    gh_decref(n); /* del n */
    cr_assert_eq(live_instances_of(cls), 1, "reference counting alone cannot free it");
    cr_assert_gt(fx_live(), before);
    int64_t found = gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(found, 1, "the node, and nothing else, is unreachable: its attributes are its "
                           "own, no dict object (got %jd)", (intmax_t)found);
    cr_assert_eq(live_instances_of(cls), 0);
    cr_assert_eq(fx_live(), before, "everything came back");
    gh_decref(cls);
}

/* a.other = b; b.other = a with __del__: each finalizer runs once */
FL_TEST(gc, cycle_with_del_is_collected_each_finalizer_once, .timeout = 10)
{
    ndel = 0;
    gh_object *cls = new_class("Node", del_count, NULL);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(ndel, 0);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2, "the two instances (no attribute dicts)");
    cr_assert_eq(ndel, 2, "PEP 442: each __del__ once (got %d)", ndel);
    cr_assert_eq(live_instances_of(cls), 0);
    cr_assert_eq(gh_gc_stats.finalized, 2);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0);
    cr_assert_eq(ndel, 2);
    gh_decref(cls);
}

/* The same with a legacy finalizer: uncollectable, into gc.garbage */
FL_TEST(gc, cycle_with_legacy_finalizer_lands_in_garbage, .timeout = 10)
{
    ndel = 0;
    gh_object *cls = new_class("Node", NULL, del_count);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2, "found unreachable: the two instances");
    cr_assert_eq(ndel, 0, "a legacy finalizer is never called by the collector");
    gh_object *garbage = gh_gc_garbage();
    cr_assert_eq(gh_list_len(L(garbage)), 2, "both instances");
    cr_assert_eq(live_instances_of(cls), 2);
    cr_assert_eq(gh_gc_stats.uncollectable, 2);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0, "gc.garbage keeps them reachable");
    cr_assert_eq(gh_gc_fini(), 2, "fini empties gc.garbage");
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(cls);
}

/* __del__ stores self in a global: resurrected, never finalized again */
FL_TEST(gc, resurrection_keeps_the_object_and_del_runs_once, .timeout = 10)
{
    ndel = 0;
    resurrected_into = gh_list_new();
    gh_object *cls = new_class("Node", del_resurrect, NULL);
    gh_object *n = gh_instance_new_of(cls);
    link_attr(n, "self", n);
    gh_decref(n);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1);
    cr_assert_eq(ndel, 1);
    cr_assert_eq(gh_list_len(L(resurrected_into)), 1);
    cr_assert_eq(live_instances_of(cls), 1, "resurrected");
    cr_assert_eq(gh_gc_stats.resurrected, 1, "the node");
    gh_object *again = gh_list_pop(&fx_ts, L(resurrected_into));
    cr_assert_eq(again, n);
    cr_assert(gh_gc_object_is_tracked(again), "tracked again");
    gh_decref(again); /* still a self-cycle */
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1);
    cr_assert_eq(ndel, 1, "not finalized a second time");
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(resurrected_into);
    gh_decref(cls);
}

static int ncallbacks;
static gh_object *cb_code(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)ts, (void)f, (void)args;
    ncallbacks++;
    return gh_none_new();
}

/* Weak references to cyclic garbage: cleared; the callback runs for a live
 * weak reference, not for one that is itself part of the garbage. */
FL_TEST(gc, weakref_callbacks_on_cyclic_garbage_follow_cpython, .timeout = 10)
{
    ncallbacks = 0;
    gh_object *cls = new_class("Node", NULL, NULL);
    gh_object *a = gh_instance_new_of(cls);
    link_attr(a, "self", a);
    gh_object *cb = gh_function_new("cb", cb_code, 1, NULL, 0);
    gh_object *live_wr = gh_weakref_new(a, gh_newref(cb));
    /* A second weak reference, with a callback, stored in the cycle. */
    gh_object *dead_wr = gh_weakref_new(a, gh_newref(cb));
    link_attr(a, "wr", dead_wr);
    gh_decref(dead_wr);
    gh_decref(a);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2, "a and the weakref in it");
    cr_assert_eq(ncallbacks, 1, "only the live weakref's callback (got %d)", ncallbacks);
    gh_object *r = gh_weakref_get(live_wr);
    cr_assert_null(r, "the live weak reference is dead");
    gh_decref(live_wr);
    gh_decref(cb);
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(cls);
}
