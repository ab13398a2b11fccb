/* gc_helpers.h - what the collector's flavoured tests (tests/gc/test_*.fl.c)
 * share: casts, attribute helpers, membership in a result list, and the
 * leak check every test ends with (the allocator's live bytes back to
 * what they were when the test began). */
#ifndef GH_TESTS_GC_HELPERS_H
#define GH_TESTS_GC_HELPERS_H

#include <string.h>

#include "fl_fixture.h"

#define L(o) ((struct gh_list *)(void *)(o))
#define D(o) ((struct gh_dict *)(void *)(o))

/* Live bytes when the test began (set by leak_begin). */
static uint64_t gc_baseline;

GH_UNUSED static void leak_begin(void) { gc_baseline = fx_live(); }

GH_UNUSED static void leak_end(void)
{
    uint64_t now = fx_live();
    cr_assert_eq(now, gc_baseline, "no leak: %jd bytes more than at the start",
                 (intmax_t)(now - gc_baseline));
}

/* The class's count: itself, plus one per instance alive. */
GH_UNUSED static int64_t live_instances_of(gh_object *cls) { return (int64_t)gh_refcnt(cls) - 1; }

GH_UNUSED static gh_object *new_class(const char *name, gh_finalizer_fn del, gh_finalizer_fn legacy)
{
    struct gh_class_spec spec = {.name = name, .del = del, .legacy_del = legacy};
    return gh_class_new(&spec);
}

/* o.attr = value (steals value). */
GH_UNUSED static void set_attr(gh_object *o, const char *attr, gh_object *value)
{
    gh_object *name = gh_str_new(attr, strlen(attr));
    gh_attr_set(gh_tstate_get(), o, name, value);
    gh_decref(name);
}

/* o.attr = target (a new reference to target). */
GH_UNUSED static void link_attr(gh_object *o, const char *attr, gh_object *target)
{
    set_attr(o, attr, gh_newref(target));
}

/* getattr(o, attr): a new reference or NULL. */
GH_UNUSED static gh_object *get_attr(gh_object *o, const char *attr)
{
    gh_object *name = gh_str_new(attr, strlen(attr));
    gh_object *v = gh_attr_get(gh_tstate_get(), o, name);
    gh_decref(name);
    return v;
}

/* del o.attr; false when missing. */
GH_UNUSED static bool del_attr(gh_object *o, const char *attr)
{
    gh_object *name = gh_str_new(attr, strlen(attr));
    bool ok = gh_attr_del(gh_tstate_get(), o, name);
    gh_decref(name);
    return ok;
}

/* How many times o is an item of list l. */
GH_UNUSED static int64_t count_in(gh_object *l, gh_object *o)
{
    int64_t n = 0;
    for (int64_t i = 0; i < gh_list_len(L(l)); i++)
        if (L(l)->ob_item[i] == o)
            n++;
    return n;
}

/* Whether gc.get_objects(generation) holds o (the list is released). */
GH_UNUSED static bool in_generation(gh_object *o, int generation)
{
    gh_object *objs = gh_gc_get_objects(&fx_ts, generation);
    bool found = count_in(objs, o) > 0;
    gh_decref(objs);
    return found;
}

GH_UNUSED static int64_t gc_count(int i)
{
    int64_t c[GH_GC_NGENS];
    gh_gc_get_count(c);
    return c[i];
}

GH_UNUSED static uint64_t collections_total(void)
{
    uint64_t n = 0;
    for (int i = 0; i < GH_GC_NGENS; i++)
        n += gh_gc_stats.gen[i].collections;
    return n;
}

GH_UNUSED static bool gc_scheduled(void)
{
    return gh_atomic_load_relaxed_u32(&fx_ts.eval_breaker) & GH_EVAL_GC_SCHEDULED;
}

#endif
