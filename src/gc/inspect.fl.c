/* inspect.fl.c - the gc module's introspection, compiled once per
 * flavour: gc.get_objects, get_referrers, get_referents, freeze, unfreeze,
 * get_freeze_count, the DOT graph of gc.dot, and what the census
 * (census.fl.c) needs. Each stops the world (gh_gc_inspect_begin) where
 * threads run at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stw.h"
#include "gc/census.h"
#include "gc/collect_internal.h"
#include "gc/gc_internal.h"

/* Calls fn on every tracked object (frozen ones too when `frozen`). */
struct each_ctx {
    void (*fn)(gh_object *o, void *arg);
    void *arg;
    bool frozen;
};

static void each_block(void *block, void *arg)
{
    struct each_ctx *e = arg;
    gh_object *o = (gh_object *)(void *)((char *)block + sizeof(struct gh_obprefix));
    uint8_t bits = *gh_gcbits_ptr(o);
    if ((bits & GH_GCBIT_TRACKED) && (e->frozen || !(bits & GH_GCBIT_FROZEN)))
        e->fn(o, e->arg);
}

static void each_in_list(struct gh_gchead *head, struct each_ctx *e)
{
    for (struct gh_gchead *g = (struct gh_gchead *)head->gc_next; g != head;
         g = (struct gh_gchead *)g->gc_next)
        e->fn(gh_gchead_object(g), e->arg);
}

static void for_each_tracked(int generation, bool frozen, void (*fn)(gh_object *, void *), void *arg)
{
    struct each_ctx e = {fn, arg, frozen};
    if (gh_model.full_header) {
        gh_alloc_visit_gc(each_block, &e);
        return;
    }
    for (int i = 0; i < GH_GC_NGENS; i++)
        if (generation < 0 || generation == i)
            each_in_list(&gh_gcstate.gens[i].head, &e);
    if (frozen)
        each_in_list(&gh_gcstate.permanent, &e);
}

static void collect_into(gh_object *o, void *arg)
{
    gh_incref(o);
    objvec_push(arg, o);
}

/* A list made from held objects (the references move into it). */
static gh_object *list_of(struct gh_tstate *ts, struct objvec *a)
{
    gh_object *l = gh_list_new();
    for (size_t i = 0; i < a->n; i++)
        gh_list_append(ts, (struct gh_list *)(void *)l, a->v[i]);
    gh_gc_objvec_free(a);
    return l;
}

gh_object *GH_FL(gh_gc_get_objects)(struct gh_tstate *ts, int generation)
{
    struct objvec a = {0};
    gh_gc_inspect_begin(ts);
    for_each_tracked(gh_model.full_header ? -1 : generation, false, collect_into, &a);
    gh_gc_inspect_end(ts);
    return list_of(ts, &a);
}

struct referrers {
    gh_object *const *objs;
    int n;
    bool hit;
    struct objvec *out;
};

static void visit_is_target(gh_object *ref, void *arg)
{
    struct referrers *r = arg;
    for (int i = 0; i < r->n && !r->hit; i++)
        if (ref == r->objs[i])
            r->hit = true;
}

static void referrer_check(gh_object *o, void *arg)
{
    struct referrers *r = arg;
    r->hit = false;
    traverse(o, visit_is_target, r);
    if (r->hit)
        collect_into(o, r->out);
}

gh_object *GH_FL(gh_gc_get_referrers)(struct gh_tstate *ts, gh_object *const *objs, int n)
{
    struct objvec a = {0};
    struct referrers r = {objs, n, false, &a};
    gh_gc_inspect_begin(ts);
    for_each_tracked(-1, true, referrer_check, &r);
    gh_gc_inspect_end(ts);
    return list_of(ts, &a);
}

static void visit_collect(gh_object *ref, void *arg) { collect_into(ref, arg); }

gh_object *GH_FL(gh_gc_get_referents)(struct gh_tstate *ts, gh_object *const *objs, int n)
{
    struct objvec a = {0};
    gh_gc_inspect_begin(ts);
    for (int i = 0; i < n; i++)
        traverse(objs[i], visit_collect, &a);
    gh_gc_inspect_end(ts);
    return list_of(ts, &a);
}

static void freeze_one(gh_object *o, void *arg)
{
    (void)arg;
    *gh_gcbits_ptr(o) |= GH_GCBIT_FROZEN;
}

static void unfreeze_one(gh_object *o, void *arg)
{
    (void)arg;
    *gh_gcbits_ptr(o) &= (uint8_t)~GH_GCBIT_FROZEN;
}

static void count_frozen(gh_object *o, void *arg)
{
    if (*gh_gcbits_ptr(o) & GH_GCBIT_FROZEN)
        ++*(int64_t *)arg;
}

static void count_one(gh_object *o, void *arg)
{
    (void)o;
    ++*(int64_t *)arg;
}

void GH_FL(gh_gc_freeze)(struct gh_tstate *ts)
{
    gh_gc_inspect_begin(ts);
    if (gh_model.full_header) {
        for_each_tracked(-1, false, freeze_one, NULL);
    } else {
        for (int i = 0; i < GH_GC_NGENS; i++) {
            gh_gclist_merge(&gh_gcstate.gens[i].head, &gh_gcstate.permanent);
            gh_gcstate.gens[i].count = 0;
        }
    }
    gh_gc_inspect_end(ts);
}

void GH_FL(gh_gc_unfreeze)(struct gh_tstate *ts)
{
    gh_gc_inspect_begin(ts);
    if (gh_model.full_header)
        for_each_tracked(-1, true, unfreeze_one, NULL);
    else
        gh_gclist_merge(&gh_gcstate.permanent, &gh_gcstate.gens[GH_GC_NGENS - 1].head);
    gh_gc_inspect_end(ts);
}

int64_t GH_FL(gh_gc_get_freeze_count)(struct gh_tstate *ts)
{
    int64_t n = 0;
    gh_gc_inspect_begin(ts);
    if (gh_model.full_header) {
        for_each_tracked(-1, true, count_frozen, &n);
    } else {
        struct each_ctx e = {count_one, &n, true};
        each_in_list(&gh_gcstate.permanent, &e);
    }
    gh_gc_inspect_end(ts);
    return n;
}

/* ---- DOT export -------------------------------------------------------------------------------- */

struct dot {
    struct objvec nodes;      /* held; index = node id */
    size_t *depth;
    size_t depth_cap;
    struct objvec edge_from, edge_to; /* not held: both are nodes */
    size_t current;
};

static int64_t dot_find(struct dot *d, gh_object *o)
{
    for (size_t i = 0; i < d->nodes.n; i++)
        if (d->nodes.v[i] == o)
            return (int64_t)i;
    return -1;
}

static void dot_add_node(struct dot *d, gh_object *o, size_t depth)
{
    if (d->nodes.n == d->depth_cap) {
        d->depth_cap = d->depth_cap ? 2 * d->depth_cap : 64;
        d->depth = realloc(d->depth, d->depth_cap * sizeof *d->depth);
        gh_assert(d->depth);
    }
    d->depth[d->nodes.n] = depth;
    collect_into(o, &d->nodes);
}

static void dot_visit(gh_object *ref, void *arg)
{
    struct dot *d = arg;
    if (dot_find(d, ref) < 0)
        dot_add_node(d, ref, d->depth[d->current] + 1);
    objvec_push(&d->edge_from, d->nodes.v[d->current]);
    objvec_push(&d->edge_to, ref);
}

static void dot_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

int64_t GH_FL(gh_gc_write_dot)(struct gh_tstate *ts, FILE *out, gh_object *root, int max_depth)
{
    struct dot d = {0};
    gh_gc_inspect_begin(ts);
    dot_add_node(&d, root, 0);
    for (d.current = 0; d.current < d.nodes.n; d.current++)
        if (d.depth[d.current] < (size_t)max_depth)
            traverse(d.nodes.v[d.current], dot_visit, &d);
    gh_gc_inspect_end(ts);

    fprintf(out, "digraph refs {\n  node [shape=box, fontname=\"monospace\"];\n");
    for (size_t i = 0; i < d.nodes.n; i++) {
        gh_object *o = d.nodes.v[i];
        uint64_t rc = gh_refcnt_counted(o) - 1; /* without our hold */
        fprintf(out, "  o%zu [label=\"", i);
        dot_escape(out, o->ob_type->tp_name);
        if (gh_refcnt_is_immortal(rc + 1))
            fprintf(out, "\\nrefcnt immortal\\n0x%jx\"", (uintmax_t)gh_id(o));
        else
            fprintf(out, "\\nrefcnt %ju\\n0x%jx\"", (uintmax_t)rc, (uintmax_t)gh_id(o));
        fprintf(out, "%s];\n", i == 0 ? ", style=filled, fillcolor=lightblue" : "");
    }
    for (size_t i = 0; i < d.edge_from.n; i++)
        fprintf(out, "  o%jd -> o%jd;\n", (intmax_t)dot_find(&d, d.edge_from.v[i]),
                (intmax_t)dot_find(&d, d.edge_to.v[i]));
    fprintf(out, "}\n");
    int64_t n = (int64_t)d.nodes.n;
    for (size_t i = 0; i < d.nodes.n; i++)
        gh_decref(d.nodes.v[i]);
    gh_gc_objvec_free(&d.nodes);
    gh_gc_objvec_free(&d.edge_from);
    gh_gc_objvec_free(&d.edge_to);
    free(d.depth);
    return n;
}

/* ---- what the census (census.fl.c) needs from the collector ---------------------------- */

bool GH_FL(gh_gc_census_begin)(struct gh_tstate *ts, uint64_t gil_wait_ns)
{
#if defined(GH_FL_SYNC_GIL)
    /* gil-ticks: no drop request makes the holders let a waiter in. */
    if (gh__gil.ticks) {
        if (!gh_gil_take_within(ts, gil_wait_ns))
            return false;
    } else {
        gh_gil_take(ts);
    }
#else
    (void)gil_wait_ns;
    gh_sync_thread_start(ts); /* attached to the world */
#endif
    gh_gc_inspect_begin(ts);        /* no collection half done; the world stopped */
    return true;
}

void GH_FL(gh_gc_census_end)(struct gh_tstate *ts)
{
    gh_gc_inspect_end(ts);
    gh_sync_thread_stop(ts);
}

void GH_FL(gh_gc_visit_tracked)(void (*fn)(gh_object *o, void *arg), void *arg)
{
    for_each_tracked(-1, true, fn, arg);
}
