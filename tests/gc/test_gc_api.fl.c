/* test_gc_api.fl.c - the gc module's interface under every flavour (suites
 * gcapi__<flavour>, gcweak__<flavour>): get_objects, is_tracked,
 * get_referrers, get_referents, freeze, DEBUG_SAVEALL, gc.callbacks, the
 * DOT export, and weak references to cyclic garbage. */
#include <stdio.h>
#include <stdlib.h>

#include "gc_helpers.h"

/* ---- get_objects, is_tracked ------------------------------------------------ */

FL_TEST(gcapi, get_objects_lists_tracked_containers_only, .timeout = 10)
{
    leak_begin();
    gh_object *l = gh_list_new();
    gh_object *d = gh_dict_new();
    gh_object *in = gh_instance_new();
    gh_object *t = gh_tuple_pack(1, gh_list_new());
    gh_object *big = gh_int_new(1234567);

    gh_object *all = gh_gc_get_objects(&fx_ts, -1);
    cr_assert_eq(count_in(all, l), 1, "a list, once");
    cr_assert_eq(count_in(all, in), 1, "an instance");
    cr_assert_eq(count_in(all, t), 1, "a tuple holding a list");
    cr_assert_eq(count_in(all, ((struct gh_tuple *)(void *)t)->ob_item[0]), 1, "the list in it");
    cr_assert_eq(count_in(all, d), 0, "an untracked dict is not listed");
    cr_assert_eq(count_in(all, big), 0, "an int is not a container");
    cr_assert_eq(count_in(all, all), 0, "the result is made after the walk");
    int64_t n_all = gh_list_len(L(all));
    gh_decref(all);

    if (fx_gil()) {
        cr_assert(in_generation(l, 0));
        cr_assert_not(in_generation(l, 1));
        cr_assert_not(in_generation(l, 2));
        gh_object *g0 = gh_gc_get_objects(&fx_ts, 0);
        gh_object *g1 = gh_gc_get_objects(&fx_ts, 1);
        gh_object *g2 = gh_gc_get_objects(&fx_ts, 2);
        cr_assert_eq(gh_list_len(L(g0)) + gh_list_len(L(g1)) + gh_list_len(L(g2)), n_all,
                     "the generations partition the tracked objects");
        gh_decref(g0);
        gh_decref(g1);
        gh_decref(g2);
    }
    gh_decref(l);
    gh_decref(d);
    gh_decref(in);
    gh_decref(t);
    gh_decref(big);
    leak_end();
}

FL_TEST(gcapi, is_tracked_follows_cpython, .timeout = 10)
{
    leak_begin();
    gh_object *i = gh_int_new(5), *big = gh_int_new(1 << 30), *s = gh_str_new("s", 1);
    gh_object *l = gh_list_new(), *d = gh_dict_new(), *in = gh_instance_new();
    gh_object *empty = gh_tuple_new(0);
    cr_assert_not(gh_gc_object_is_tracked(i));
    cr_assert_not(gh_gc_object_is_tracked(big));
    cr_assert_not(gh_gc_object_is_tracked(s));
    cr_assert_not(gh_gc_object_is_tracked(&gh_none));
    cr_assert(gh_gc_object_is_tracked(l));
    cr_assert_not(gh_gc_object_is_tracked(d), "gc.is_tracked({}) is False");
    cr_assert(gh_gc_object_is_tracked(in));
    cr_assert(gh_gc_object_is_tracked(gh_plain_class()), "a class");
    cr_assert_not(gh_gc_object_is_tracked(empty), "gc.is_tracked(()) is False");
    gh_decref(i);
    gh_decref(big);
    gh_decref(s);
    gh_decref(l);
    gh_decref(d);
    gh_decref(in);
    gh_decref(empty);
    leak_end();
}

/* ---- get_referrers, get_referents -------------------------------------------- */

FL_TEST(gcapi, get_referrers_and_get_referents, .timeout = 10)
{
    leak_begin();
    gh_object *x = gh_list_new();
    gh_object *l1 = gh_list_new();
    gh_list_append(&fx_ts, L(l1), gh_newref(x));
    gh_object *d = gh_dict_new();
    gh_object *k = gh_str_new("k", 1);
    gh_dict_set(&fx_ts, D(d), gh_newref(k), gh_newref(x));
    gh_object *in = gh_instance_new();
    link_attr(in, "x", x); /* stored in the instance itself: no attribute dict */
    gh_object *unrelated = gh_list_new();
    gh_list_append(&fx_ts, L(unrelated), gh_newref(l1));

    gh_object *objs[2] = {x, NULL};
    gh_object *r = gh_gc_get_referrers(&fx_ts, objs, 1);
    cr_assert_eq(count_in(r, l1), 1, "the list holding x");
    cr_assert_eq(count_in(r, d), 1, "the dict holding x");
    cr_assert_eq(count_in(r, in), 1, "the instance holding x (CPython 3.11+: inline values)");
    cr_assert_eq(count_in(r, unrelated), 0);
    cr_assert_eq(gh_list_len(L(r)), 3, "nothing else refers to x (got %jd)",
                 (intmax_t)gh_list_len(L(r)));
    gh_decref(r);

    objs[1] = l1;
    r = gh_gc_get_referrers(&fx_ts, objs, 2);
    cr_assert_eq(count_in(r, unrelated), 1, "referrers of any of the objects");
    cr_assert_eq(count_in(r, l1), 1, "each referrer once");
    cr_assert_eq(gh_list_len(L(r)), 4);
    gh_decref(r);

    gh_object *pair[2] = {l1, d};
    r = gh_gc_get_referents(&fx_ts, pair, 2);
    cr_assert_eq(count_in(r, x), 2, "x from the list and from the dict");
    cr_assert_eq(count_in(r, k), 1, "the dict's key");
    cr_assert_eq(gh_list_len(L(r)), 3);
    gh_decref(r);
    gh_object *one[1] = {in};
    r = gh_gc_get_referents(&fx_ts, one, 1);
    cr_assert_eq(count_in(r, x), 1, "an instance refers to its attribute values");
    cr_assert_eq(count_in(r, gh_plain_class()), 1, "an instance refers to its class");
    /* ... and to nothing else: as in CPython, not to the attribute names
     * (CPython keeps them in the class's shared keys). */
    cr_assert_eq(gh_list_len(L(r)), 2, "x and the class (got %jd)",
                 (intmax_t)gh_list_len(L(r)));
    gh_decref(r);

    gh_decref(x);
    gh_decref(l1);
    gh_decref(d);
    gh_decref(k);
    gh_decref(in);
    gh_decref(unrelated);
    leak_end();
}

/* ---- freeze -------------------------------------------------------------------- */

FL_TEST(gcapi, a_frozen_cycle_is_not_collected_until_unfreeze, .timeout = 10)
{
    leak_begin();
    gh_object *cls = new_class("Frozen", NULL, NULL);
    gh_object *n = gh_instance_new_of(cls);
    link_attr(n, "self", n);
    gh_decref(n);
    cr_assert_eq(gh_gc_get_freeze_count(&fx_ts), 0);
    gh_gc_freeze(&fx_ts);
    int64_t frozen = gh_gc_get_freeze_count(&fx_ts);
    cr_assert_geq(frozen, 2, "the class and the node at least (got %jd)",
                  (intmax_t)frozen);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0, "the permanent generation is not collected");
    cr_assert_eq(live_instances_of(cls), 1);

    /* What is made after the freeze is collected as usual. */
    gh_object *m = gh_instance_new_of(cls);
    link_attr(m, "self", m);
    gh_decref(m);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1);
    cr_assert_eq(live_instances_of(cls), 1);
    cr_assert_eq(gh_gc_get_freeze_count(&fx_ts), frozen);

    gh_gc_unfreeze(&fx_ts);
    cr_assert_eq(gh_gc_get_freeze_count(&fx_ts), 0);
    if (fx_gil())
        cr_assert(in_generation(cls, 2), "unfreeze moves them to the oldest generation");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "collected after unfreeze");
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(cls);
    leak_end();
}

/* ---- DEBUG_SAVEALL --------------------------------------------------------------- */

FL_TEST(gcapi, debug_saveall_keeps_the_garbage_uncleared_in_gc_garbage, .timeout = 10)
{
    leak_begin();
    gh_object *cls = new_class("Saved", NULL, NULL);
    gh_gc_set_debug(GH_GC_DEBUG_SAVEALL);
    cr_assert_eq(gh_gc_get_debug(), GH_GC_DEBUG_SAVEALL);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2);
    gh_object *garbage = gh_gc_garbage();
    cr_assert_eq(gh_list_len(L(garbage)), 2, "both instances (no attribute dicts)");
    cr_assert_eq(count_in(garbage, a), 1);
    cr_assert_eq(count_in(garbage, b), 1);
    cr_assert_eq(live_instances_of(cls), 2, "nothing freed");
    gh_object *o = get_attr(a, "other");
    cr_assert_eq(o, b, "not cleared: a.other is still b");
    gh_decref(o);
    cr_assert(gh_gc_object_is_tracked(a), "tracked again, as gc.garbage's items are");
    cr_assert_eq(gh_gc_stats.gen[GH_GC_NGENS - 1].uncollectable, 0,
                 "saved garbage is not 'uncollectable'");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0, "gc.garbage keeps them reachable");

    gh_gc_set_debug(0);
    cr_assert_eq(gh_gc_fini(), 2, "fini empties gc.garbage");
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(cls);
    leak_end();
}

/* ---- gc.callbacks ---------------------------------------------------------------- */

struct event {
    char phase[8];
    struct gh_gc_info info;
    void *arg;
};
static struct event events[32];
static int nevents;

static void record_event(const char *phase, const struct gh_gc_info *info, void *arg)
{
    cr_assert_lt(nevents, 32);
    struct event *e = &events[nevents++];
    strncpy(e->phase, phase, sizeof e->phase - 1);
    e->info = *info;
    e->arg = arg;
}

static void legacy_noop(gh_object *self, void *arg) { (void)self, (void)arg; }

FL_TEST(gcapi, callbacks_get_start_and_stop_with_generation_collected_uncollectable, .timeout = 10)
{
    leak_begin();
    nevents = 0;
    static int tag1, tag2;
    cr_assert_eq(gh_gc_callback_add(record_event, &tag1), 0);
    gh_object *cls = new_class("Node", NULL, NULL);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2);
    cr_assert_eq(nevents, 2);
    cr_assert_str_eq(events[0].phase, "start");
    cr_assert_str_eq(events[1].phase, "stop");
    cr_assert_eq(events[0].arg, &tag1, "the callback's argument is passed back");
    cr_assert_eq(events[0].info.generation, 2);
    cr_assert_eq(events[0].info.collected, 0, "nothing is known at start");
    cr_assert_eq(events[1].info.generation, 2);
    cr_assert_eq(events[1].info.collected, 2);
    cr_assert_eq(events[1].info.uncollectable, 0);

    if (fx_gil()) {
        nevents = 0;
        gh_gc_collect(&fx_ts, 0);
        cr_assert_eq(nevents, 2);
        cr_assert(events[0].info.generation == 0 && events[1].info.generation == 0);
        cr_assert_eq(events[1].info.collected, 0);
    }

    /* Uncollectable: a legacy finalizer's cycle. */
    gh_object *lcls = new_class("Legacy", NULL, legacy_noop);
    a = gh_instance_new_of(lcls);
    b = gh_instance_new_of(lcls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_decref(a);
    gh_decref(b);
    nevents = 0;
    cr_assert_eq(gh_gc_callback_add(record_event, &tag2), 0, "a second callback");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2);
    cr_assert_eq(nevents, 4, "both callbacks, at start and at stop");
    cr_assert_str_eq(events[0].phase, "start");
    cr_assert_str_eq(events[1].phase, "start");
    cr_assert_eq(events[0].arg, &tag1, "in registration order");
    cr_assert_eq(events[1].arg, &tag2);
    cr_assert_str_eq(events[3].phase, "stop");
    cr_assert_eq(events[3].info.collected, 0);
    cr_assert_eq(events[3].info.uncollectable, 2, "both instances (nothing else in the cycle)");

    gh_gc_callback_remove(record_event, &tag1);
    gh_gc_callback_remove(record_event, &tag2);
    nevents = 0;
    cr_assert_eq(gh_gc_fini(), 2);
    cr_assert_eq(nevents, 0, "removed callbacks are not called");

    /* The table holds GH_GC_MAX_CALLBACKS. */
    static int tags[GH_GC_MAX_CALLBACKS + 1];
    for (int i = 0; i < GH_GC_MAX_CALLBACKS; i++)
        cr_assert_eq(gh_gc_callback_add(record_event, &tags[i]), 0);
    cr_assert_eq(gh_gc_callback_add(record_event, &tags[GH_GC_MAX_CALLBACKS]), -1, "full");
    for (int i = 0; i < GH_GC_MAX_CALLBACKS; i++)
        gh_gc_callback_remove(record_event, &tags[i]);
    gh_decref(cls);
    gh_decref(lcls);
    leak_end();
}

/* ---- DOT export -------------------------------------------------------------------- */

struct dot_node {
    long id;
    char type[48];
    char refcnt[24];
    uintmax_t addr;
};
struct dot_graph {
    struct dot_node nodes[64];
    int nnodes;
    long edges[64][2];
    int nedges;
    bool header, footer;
};

/* Parses what gh_gc_write_dot writes (one node or edge per line). */
static void dot_parse(const char *text, struct dot_graph *g)
{
    memset(g, 0, sizeof *g);
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char buf[256];
        cr_assert_lt(n, sizeof buf);
        memcpy(buf, line, n);
        buf[n] = 0;
        struct dot_node *nd = &g->nodes[g->nnodes];
        long a, b;
        if (strncmp(buf, "digraph", 7) == 0) {
            g->header = true;
        } else if (strcmp(buf, "}") == 0) {
            g->footer = true;
        } else if (sscanf(buf, " o%ld -> o%ld;", &a, &b) == 2) {
            cr_assert_lt(g->nedges, 64);
            g->edges[g->nedges][0] = a;
            g->edges[g->nedges][1] = b;
            g->nedges++;
        } else if (sscanf(buf, " o%ld [label=\"%47[^\\]\\nrefcnt %23[^\\]\\n0x%jx\"", &nd->id,
                          nd->type, nd->refcnt, &nd->addr) == 4) {
            cr_assert_lt(g->nnodes, 63);
            g->nnodes++;
        }
        line = end ? end + 1 : line + n;
    }
}

static const struct dot_node *dot_node_of(const struct dot_graph *g, gh_object *o)
{
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].addr == (uintmax_t)gh_id(o))
            return &g->nodes[i];
    return NULL;
}

static bool dot_has_edge(const struct dot_graph *g, gh_object *from, gh_object *to)
{
    const struct dot_node *a = dot_node_of(g, from), *b = dot_node_of(g, to);
    if (!a || !b)
        return false;
    for (int i = 0; i < g->nedges; i++)
        if (g->edges[i][0] == a->id && g->edges[i][1] == b->id)
            return true;
    return false;
}

/* gh_gc_write_dot into a string (freed by the caller). */
static char *dot_text(gh_object *root, int depth, int64_t *nodes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    *nodes = gh_gc_write_dot(&fx_ts, f, root, depth);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

FL_TEST(gcapi, dot_export_has_typed_counted_nodes_and_every_edge, .timeout = 10)
{
    leak_begin();
    gh_object *root = gh_list_new();
    gh_object *d = gh_dict_new();
    gh_object *k = gh_str_new("key", 3);
    gh_object *v = gh_int_new(1000);
    gh_dict_set(&fx_ts, D(d), gh_newref(k), gh_newref(v));
    gh_object *inner = gh_list_new();
    gh_object *five = gh_int_new(5);
    gh_list_append(&fx_ts, L(root), gh_newref(d));
    gh_list_append(&fx_ts, L(root), gh_newref(inner));
    gh_list_append(&fx_ts, L(root), gh_newref(five));
    gh_list_append(&fx_ts, L(root), gh_newref(inner)); /* two edges to one node */

    int64_t n;
    char *text = dot_text(root, 5, &n);
    struct dot_graph g;
    dot_parse(text, &g);
    cr_assert(g.header && g.footer, "a whole digraph:\n%s", text);
    cr_assert_eq(n, 6, "root, dict, key, 1000, inner, 5 (got %jd)\n%s", (intmax_t)n, text);
    cr_assert_eq(g.nnodes, 6, "one node per object:\n%s", text);

    const struct dot_node *nr = dot_node_of(&g, root), *nd = dot_node_of(&g, d);
    const struct dot_node *nk = dot_node_of(&g, k), *nv = dot_node_of(&g, v);
    const struct dot_node *ni = dot_node_of(&g, inner), *n5 = dot_node_of(&g, five);
    cr_assert(nr && nd && nk && nv && ni && n5, "every object is a node:\n%s", text);
    cr_assert_eq(nr->id, 0, "the root is o0");
    cr_assert_str_eq(nr->type, "list");
    cr_assert_str_eq(nr->refcnt, "1", "the count without the export's own hold");
    cr_assert_str_eq(nd->type, "dict");
    cr_assert_str_eq(nd->refcnt, "2");
    cr_assert_str_eq(nk->type, "str");
    cr_assert_str_eq(nv->type, "int");
    cr_assert_str_eq(nv->refcnt, "2");
    cr_assert_str_eq(ni->type, "list");
    cr_assert_str_eq(ni->refcnt, "3");
    cr_assert_str_eq(n5->type, "int");
    cr_assert_str_eq(n5->refcnt, gh_model.immortal ? "immortal" : n5->refcnt);

    cr_assert_eq(g.nedges, 6, "one edge per reference:\n%s", text);
    cr_assert(dot_has_edge(&g, root, d));
    cr_assert(dot_has_edge(&g, root, inner));
    cr_assert(dot_has_edge(&g, root, five));
    cr_assert(dot_has_edge(&g, d, k));
    cr_assert(dot_has_edge(&g, d, v));
    cr_assert_not(dot_has_edge(&g, d, root));
    free(text);

    gh_decref(root);
    gh_decref(d);
    gh_decref(k);
    gh_decref(v);
    gh_decref(inner);
    gh_decref(five);
    leak_end();
}

FL_TEST(gcapi, dot_export_respects_the_depth_limit_and_cycles, .timeout = 10)
{
    leak_begin();
    gh_object *chain[5];
    for (int i = 0; i < 5; i++)
        chain[i] = gh_list_new();
    for (int i = 0; i < 4; i++)
        gh_list_append(&fx_ts, L(chain[i]), gh_newref(chain[i + 1]));

    int64_t n;
    struct dot_graph g;
    char *text = dot_text(chain[0], 2, &n);
    dot_parse(text, &g);
    cr_assert_eq(n, 3, "two edges deep: three nodes (got %jd)\n%s", (intmax_t)n, text);
    cr_assert_eq(g.nnodes, 3);
    cr_assert_eq(g.nedges, 2);
    cr_assert(dot_has_edge(&g, chain[0], chain[1]));
    cr_assert(dot_has_edge(&g, chain[1], chain[2]));
    cr_assert_null(dot_node_of(&g, chain[3]), "beyond the limit:\n%s", text);
    free(text);

    text = dot_text(chain[0], 0, &n);
    dot_parse(text, &g);
    cr_assert_eq(n, 1);
    cr_assert_eq(g.nedges, 0, "depth 0: the root alone");
    free(text);

    /* A cycle is written once. */
    gh_list_append(&fx_ts, L(chain[4]), gh_newref(chain[0]));
    text = dot_text(chain[0], 100, &n);
    dot_parse(text, &g);
    cr_assert_eq(n, 5);
    cr_assert_eq(g.nedges, 5);
    cr_assert(dot_has_edge(&g, chain[4], chain[0]), "the back edge");
    cr_assert_str_eq(dot_node_of(&g, chain[0])->refcnt, "2");
    free(text);

    for (int i = 0; i < 5; i++)
        gh_decref(chain[i]);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 5, "the ring of lists");
    leak_end();
}

/* ---- weak references to cyclic garbage ---------------------------------------------- */

static int ncallbacks;
static gh_object *cb_count(struct gh_tstate *ts, struct gh_function *f, gh_object **args)
{
    (void)ts, (void)f, (void)args;
    ncallbacks++;
    return gh_none_new();
}

/* CPython's handle_weakrefs: a weak reference that is itself garbage gets
 * no callback, even when it and its referent are in different cycles, and
 * its callback (a function in the garbage too) is never called. */
FL_TEST(gcweak, a_garbage_weakref_to_garbage_gets_no_callback, .timeout = 10)
{
    leak_begin();
    ncallbacks = 0;
    gh_object *cls = new_class("Node", NULL, NULL);
    gh_object *a = gh_instance_new_of(cls);
    link_attr(a, "self", a);
    gh_object *c = gh_instance_new_of(cls);
    link_attr(c, "self", c);
    gh_object *cb = gh_function_new("cb", cb_count, 1, NULL, 0);
    gh_object *wr = gh_weakref_new(a, gh_newref(cb));
    cr_assert_not_null(wr);
    link_attr(c, "wr", wr); /* the weakref lives in another cycle */
    link_attr(c, "cb", cb); /* and so does its callback */
    gh_decref(wr);
    gh_decref(cb);
    gh_decref(a);
    gh_decref(c);
    int64_t found = gh_gc_collect(&fx_ts, 2);
    cr_assert_eq(found, 4, "a, c, the weakref and the function (got %jd)",
                 (intmax_t)found);
    cr_assert_eq(ncallbacks, 0, "no callback for a weakref that is itself garbage");
    cr_assert_eq(gh_gc_stats.weakref_callbacks, 0);
    cr_assert_eq(live_instances_of(cls), 0);
    gh_decref(cls);
    leak_end();
}

FL_TEST(gcweak, a_live_weakref_to_garbage_gets_its_callback_once, .timeout = 10)
{
    leak_begin();
    ncallbacks = 0;
    gh_object *cls = new_class("Node", NULL, NULL);
    gh_object *a = gh_instance_new_of(cls), *b = gh_instance_new_of(cls);
    link_attr(a, "other", b);
    link_attr(b, "other", a);
    gh_object *cb = gh_function_new("cb", cb_count, 1, NULL, 0);
    gh_object *wa = gh_weakref_new(a, gh_newref(cb));
    gh_object *wb = gh_weakref_new(b, NULL);
    gh_decref(a);
    gh_decref(b);
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 2);
    cr_assert_eq(ncallbacks, 1, "the live weakref's callback, once");
    cr_assert_null(gh_weakref_get(wa), "cleared");
    cr_assert_null(gh_weakref_get(wb), "cleared, without a callback");
    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 0);
    cr_assert_eq(ncallbacks, 1);
    gh_decref(wa);
    gh_decref(wb);
    gh_decref(cb);
    gh_decref(cls);
    leak_end();
}

FL_TEST(gcweak, wvdict_entry_goes_when_its_value_dies_in_a_collection, .timeout = 10)
{
    leak_begin();
    gh_object *cls = new_class("Value", NULL, NULL);
    gh_object *wvd = gh_wvdict_new();
    gh_object *k1 = gh_int_new(1000), *k2 = gh_int_new(2000);
    gh_object *cyclic = gh_instance_new_of(cls);
    link_attr(cyclic, "self", cyclic);
    gh_object *alive = gh_instance_new_of(cls);
    gh_wvdict_set(&fx_ts, wvd, gh_newref(k1), cyclic);
    gh_wvdict_set(&fx_ts, wvd, gh_newref(k2), alive);
    gh_decref(cyclic);
    cr_assert_eq(gh_wvdict_len(wvd), 2, "the cycle keeps its value alive");
    gh_object *got = gh_wvdict_get(&fx_ts, wvd, k1);
    cr_assert_eq(got, cyclic);
    gh_decref(got);

    cr_assert_eq(gh_gc_collect(&fx_ts, 2), 1, "the self-referencing value");
    cr_assert_eq(gh_wvdict_len(wvd), 1, "the dead value's entry was removed");
    cr_assert_null(gh_wvdict_get(&fx_ts, wvd, k1));
    got = gh_wvdict_get(&fx_ts, wvd, k2);
    cr_assert_eq(got, alive, "the live one stays");
    gh_decref(got);

    gh_decref(alive);
    cr_assert_eq(gh_wvdict_len(wvd), 0, "and goes by reference counting");
    gh_decref(wvd);
    gh_decref(k1);
    gh_decref(k2);
    gh_decref(cls);
    leak_end();
}
