/* object.c - allocation of objects in the model's layout. */
#include "object/object_alloc.h"

#include <string.h>

#include "object/gctrack.h"

struct gh_model gh_model;

gh_object *gh_object_alloc(const struct gh_type *tp, size_t size)
{
    size_t pre = gh_prefix_size(tp);
    bool gc = tp->flags & GH_TPFLAG_GC;
    /* The full layout's collector objects come from the pools the
     * collector walks (alloc/alloc.h gh_alloc_gc). */
    char *mem = gc && gh_model.full_header ? gh_alloc_gc(pre + size) : gh_alloc(pre + size);
    memset(mem, 0, pre);
    gh_object *o = (gh_object *)(void *)(mem + pre);
    o->ob_refcnt = 1;
    o->ob_type = tp;
    if (gc)
        gh_gc_count(+1);
    return o;
}

void gh_object_free(gh_object *o, size_t size)
{
    const struct gh_type *tp = o->ob_type;
    size_t pre = gh_prefix_size(tp);
    if (tp->flags & GH_TPFLAG_GC) {
        gh_gc_count(-1);
        if (gh_model.full_header) {
            /* A freed block must not look tracked to the heap walk. */
            *gh_gcbits_ptr(o) = 0;
            gh_free_gc((char *)o - pre, pre + size);
            return;
        }
    }
    gh_free((char *)o - pre, pre + size);
}
