/* dealloc.h - what happens when a count reaches zero.
 * Layer: rc. */
#ifndef GH_RC_DEALLOC_H
#define GH_RC_DEALLOC_H

#include "object/object.h"

/* Deallocates o, whose count has just reached zero, and everything that
 * dies with it. Iterative: a type's tp_dealloc that drops the last reference
 * to another object only queues it (on the calling thread's pending list),
 * so a chain of a million nested lists never deepens the C stack (the
 * purpose of CPython's trashcan). The calling thread must have a bound
 * tstate. */
GH_NOINLINE void gh_dealloc(gh_object *o);

#endif
