/* model.h - bool, object(), user classes and their instances, functions
 * with default values, finalizers, weak references, WeakValueDictionary;
 * getrefcount. (Included by containers.h only.) */
#ifndef GH_CONTAINERS_MODEL_H
#define GH_CONTAINERS_MODEL_H
#ifndef GH_CONTAINERS_CONTAINERS_H_BODY
#error "include containers/containers.h"
#endif

/* Clears every weak reference to `self` and runs the callbacks of those
 * that are still alive (CPython's PyObject_ClearWeakRefs). The dealloc of
 * every weak-referenceable type calls it first, when its weak-list head is
 * not NULL. */
GH_NOINLINE void GH_FL(gh_weakrefs_clear)(gh_object *self);

#endif
