/* test_gc_finalize.fl.c - what finalizers may do to a running collection,
 * and collections of big structures, under every flavour (suites
 * gcfin__<flavour>, gcbig__<flavour>).
 *
 * A __del__ runs while the collector still looks at the garbage: it may
 * make new objects (tracked, in gen0 under the GIL), set an attribute of a
 * garbage instance, drop the last reference another garbage object had
 * (the collector holds one of its own, so nothing is freed under it), or
 * call into the gc module (gc.collect() returns 0; introspection works). */
#include <stdlib.h>

#include "gc_helpers.h"

static int ndel;

/* ---- a __del__ that makes objects ------------------------------------------------ */

static gh_object *spawned; /* lists made by finalizers, kept */

static void del_spawn(gh_object *self, void *arg)
{
    (void)arg;
    struct gh_tstate *ts = gh_tstate_get();
    ndel++;
    gh_object *nl = gh_list_new();
    gh_list_append(ts, L(nl), gh_newref(nl)); /* a cycle of its own */
    gh_list_append(ts, L(spawned), nl);
    gh_object *g = gh_list_new();       /* new garbage, right away */
    gh_list_append(ts, L(g), gh_newref(g));
    gh_decref(g);
    /* self is garbage held by the collector: storing a container in its
     * attributes must not link it anywhere. */
    set_attr(self, "extra", gh_list_new());
}

FL_TEST(gcfin, del_that_creates_objects_during_a_collection, .timeout = 10)
{
    leak_begin();
    ndel = 0;
    spawned = gh_list_new();
    gh_object *cls = new_class("Spawner", del_spawn, NULL);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(ndel, 2);
    cr_assert_eq(live_instances_of(cls), 0, "the instances were freed after their __del__");
    cr_assert_eq(gh_list_len(L(spawned)), 2);
    for (int i = 0; i < 2; i++) {
        gh_object *nl = L(spawned)->ob_item[i];
        cr_assert(gh_gc_object_is_tracked(nl), "made during the collection, tracked");
        if (fx_gil())
            cr_assert(in_generation(nl, 0), "... in the youngest generation");
        cr_assert_eq(gh_refcnt(nl), 2);
    }
    gh_decref(spawned);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 4, "the 2 kept and the 2 dropped self-cycles");
    gh_decref(cls);
    leak_end();
}

/* ---- a __del__ that frees what other garbage refers to -------------------------------- */

static void del_clear_next(gh_object *self, void *arg)
{
    (void)arg;
    ndel++;
    gh_object *next = get_attr(self, "next");
    if (!next)
        return; /* the previous finalizer cleared us */
    /* Drops our reference to next, and clears next's attributes (its
     * reference to the instance after it, the last one were it not for
     * the collector's). */
    cr_assert(del_attr(self, "next"));
    next->ob_type->tp_clear(next);
    gh_decref(next);
}

FL_TEST(gcfin, del_dropping_the_last_reference_to_other_garbage_is_safe, .timeout = 10)
{
    leak_begin();
    ndel = 0;
    gh_object *cls = new_class("Dropper", del_clear_next, NULL);
    enum { N = 5 };
    gh_object *ring[N];
    for (int i = 0; i < N; i++)
        ring[i] = gh_instance_new_of(cls);
    for (int i = 0; i < N; i++)
        link_attr(ring[i], "next", ring[(i + 1) % N]);
    for (int i = 0; i < N; i++)
        gh_decref(ring[i]);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), N, "the ring");
    cr_assert_eq(ndel, N, "every __del__ once, on a live object");
    cr_assert_eq(live_instances_of(cls), 0);
    cr_assert_eq(gh_gc_stats.resurrected, 0);
    gh_decref(cls);
    leak_end();
}

/* ---- a __del__ that calls into the gc module ---------------------------------------------- */

static int64_t inner_result;
static int ninner;

static void del_collect(gh_object *self, void *arg)
{
    (void)self, (void)arg;
    ndel++;
    inner_result = gh_gc_collect(gh_tstate_get(), 2);
    ninner++;
}

FL_TEST(gcfin, del_calling_gc_collect_during_a_collection_gets_0, .timeout = 10)
{
    leak_begin();
    ndel = ninner = 0;
    inner_result = -1;
    gh_object *cls = new_class("Collector", del_collect, NULL);
    gh_object *n = gh_instance_new_of(cls);
    link_attr(n, "self", n);
    gh_decref(n);
    uint64_t before = collections_total();
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1);
    cr_assert_eq(ninner, 1);
    cr_assert_eq(inner_result, 0, "re-entrant gc.collect() does nothing (got %jd)",
                 (intmax_t)inner_result);
    cr_assert_eq(collections_total(), before + 1, "one collection");
    cr_assert_eq(live_instances_of(cls), 0);

    /* Outside a collection (a __del__ run by reference counting) it
     * collects: the flag of the finished collection is down. */
    gh_object *junk = gh_list_new();
    gh_list_append(&fx_ts, L(junk), gh_newref(junk));
    gh_decref(junk);
    gh_object *m = gh_instance_new_of(cls);
    gh_decref(m);
    cr_assert_eq(ninner, 2);
    cr_assert_eq(inner_result, 1, "the self-referencing list");
    cr_assert_eq(collections_total(), before + 2);
    gh_decref(cls);
    leak_end();
}

static int64_t introspected;
static void del_introspect(gh_object *self, void *arg)
{
    (void)arg;
    struct gh_tstate *ts = gh_tstate_get();
    ndel++;
    gh_object *objs[1] = {self};
    gh_object *r = gh_gc_get_referrers(ts, objs, 1);
    introspected = gh_list_len(L(r));
    gh_decref(r);
    gh_object *all = gh_gc_get_objects(ts, -1);
    cr_assert_eq(count_in(all, self), 0, "garbage being finalized is not tracked");
    gh_decref(all);
}

/* objgraph-style debugging from a finalizer: introspection during this
 * thread's own collection (the collector's lock is already held). */
FL_TEST(gcfin, del_calling_get_referrers_and_get_objects_during_a_collection, .timeout = 10)
{
    leak_begin();
    ndel = 0;
    introspected = -1;
    gh_object *cls = new_class("Inspector", del_introspect, NULL);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2);
    cr_assert_eq(ndel, 2);
    cr_assert_eq(introspected, 0, "the referrers are garbage themselves: not listed");
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(cls);
    leak_end();
}

/* The same from a gc callback (gc.callbacks run inside the collection). */
static int64_t cb_objects;
static void callback_introspect(const char *phase, const struct gh_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    gh_object *all = gh_gc_get_objects(gh_tstate_get(), -1);
    if (strcmp(phase, "stop") == 0)
        cb_objects = gh_list_len(L(all));
    gh_decref(all);
}

FL_TEST(gcfin, gc_callback_calling_get_objects, .timeout = 10)
{
    leak_begin();
    cb_objects = -1;
    cr_assert_eq(gh_gc_callback_add(callback_introspect, NULL), 0);
    gh_object *l = gh_list_new();
    gh_gc_collect(&fx_ts, 2);
    cr_assert_gt(cb_objects, 0, "the callback saw the heap");
    gh_gc_callback_remove(callback_introspect, NULL);
    gh_decref(l);
    leak_end();
}

/* ---- big structures ------------------------------------------------------------------------ */

FL_TEST(gcbig, a_ring_of_100000_instances_is_collected, .timeout = 120)
{
    leak_begin();
    enum { N = 100000 };
    gh_object *cls = new_class("Link", NULL, NULL);
    gh_object *name = gh_str_new("next", 4);
    gh_object *first = gh_instance_new_of(cls), *prev = first;
    for (int i = 1; i < N; i++) {
        gh_object *o = gh_instance_new_of(cls);
        gh_attr_set(&fx_ts, prev, name, o); /* prev.next = o; prev holds it */
        prev = o;
    }
    gh_attr_set(&fx_ts, prev, name, first); /* closes the ring: our reference moves */
    cr_assert_eq(live_instances_of(cls), N);
    int64_t found = gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(found, N, "every instance, and nothing else (got %jd)", (intmax_t)found);
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(name);
    gh_decref(cls);
    leak_end();
}

FL_TEST(gcbig, a_chain_of_100000_nested_lists_in_a_cycle, .timeout = 120)
{
    leak_begin();
    enum { N = 100000 };
    gh_object *first = gh_list_new(), *prev = first;
    for (int i = 1; i < N; i++) {
        gh_object *l = gh_list_new();
        gh_list_append(&fx_ts, L(prev), l); /* prev holds it */
        prev = l;
    }
    gh_list_append(&fx_ts, L(prev), gh_newref(first));
    /* Reachable from one root, 100000 references deep: no recursion. */
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0);
    cr_assert(gh_gc_object_is_tracked(prev));
    if (fx_gil())
        cr_assert(in_generation(prev, 2), "the whole chain survived into gen2");
    gh_decref(first);
    int64_t found = gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(found, N, "the whole ring (got %jd)", (intmax_t)found);
    leak_end();
}
