/* object_alloc.h - allocating and freeing objects through the alloc axis.
 * Layer: object. */
#ifndef GH_OBJECT_OBJECT_ALLOC_H
#define GH_OBJECT_OBJECT_ALLOC_H

#include "alloc/alloc.h"   // gh_alloc, gh_free
#include "object/object.h"

/* A new object of type tp whose struct is `size` bytes (the layout's prefix
 * is added in front and zeroed). The count is 1; the caller owns that
 * reference. The payload after the header is not initialised. */
gh_object *gh_object_alloc(const struct gh_type *tp, size_t size);
/* Frees an object allocated with the same size. */
void gh_object_free(gh_object *o, size_t size);

#endif
