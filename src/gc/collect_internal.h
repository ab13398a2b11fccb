/* collect_internal.h - what the collector's files share (flavoured code
 * only): collect.fl.c runs collections, inspect.fl.c the gc module's
 * introspection (get_objects, get_referrers, freeze, the DOT graph). Private
 * to src/gc.
 *
 * Layer: gc.
 */
#ifndef GH_GC_COLLECT_INTERNAL_H
#define GH_GC_COLLECT_INTERNAL_H

#include "gc/gc.h"

/* A growable array of objects (the collector's work lists). */
struct objvec {
    gh_object **v;
    size_t n, cap;
};

GH_NOINLINE void GH_FL(gh_gc_objvec_grow)(struct objvec *a);
void GH_FL(gh_gc_objvec_free)(struct objvec *a);

GH_INLINE void objvec_push(struct objvec *a, gh_object *o)
{
    if (GH_UNLIKELY(a->n == a->cap))
        gh_gc_objvec_grow(a);
    a->v[a->n++] = o;
}

/* o's references, through its type's tp_traverse. */
GH_INLINE void traverse(gh_object *o, gh_visitproc visit, void *arg)
{
    if (o->ob_type->tp_traverse)
        o->ob_type->tp_traverse(o, visit, arg);
}

/* Stops the world for an introspection (the GIL's flavours: nothing, the
 * GIL is held), serialised with collections; and starts it again. */
void GH_FL(gh_gc_inspect_begin)(struct gh_tstate *ts);
void GH_FL(gh_gc_inspect_end)(struct gh_tstate *ts);

#endif
