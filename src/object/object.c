/* object.c - allocation of objects in the model's layout. */
#include "object/object_alloc.h"

#include <string.h>

struct gh_model gh_model;

gh_object *gh_object_alloc(const struct gh_type *tp, size_t size)
{
    size_t pre = gh_prefix_size(tp);
    char *mem = gh_alloc(pre + size);
    memset(mem, 0, pre);
    gh_object *o = (gh_object *)(void *)(mem + pre);
    o->ob_refcnt = 1;
    o->ob_type = tp;
    return o;
}

void gh_object_free(gh_object *o, size_t size)
{
    size_t pre = gh_prefix_size(o->ob_type);
    gh_free((char *)o - pre, pre + size);
}
