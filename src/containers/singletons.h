/* singletons.h - storage for the objects every flavour shares by address:
 * None and the small-int cache (-5..256, CPython's _PY_NSMALLNEGINTS and
 * _PY_NSMALLPOSINTS). The active flavour's init gives them its types.
 *
 * They are statically allocated, as CPython's are, but each carries the
 * 16-byte prefix in front of it like a heap object of the full layout, so
 * code that reaches into the prefix (ob_mutex, ob_tid) finds real storage
 * whatever object it is given.
 *
 * Layer: containers. */
#ifndef GH_CONTAINERS_SINGLETONS_H
#define GH_CONTAINERS_SINGLETONS_H

#include <stddef.h>
#include <stdint.h>

#include "object/object.h"

/* CPython's PyLongObject with one 30-bit digit is 28 bytes on 64-bit. */
#define GH_INT_SIZE 28u

struct gh_int {
    gh_object ob;
    int64_t value;
    uint32_t pad_; /* the digit CPython would store; keeps the 28-byte size */
};

#define GH_SMALL_INT_MIN (-5)
#define GH_SMALL_INT_MAX 256
#define GH_SMALL_INT_COUNT (GH_SMALL_INT_MAX - GH_SMALL_INT_MIN + 1)

struct gh_static_int {
    struct gh_obprefix pre;
    struct gh_int v;
};
struct gh_static_obj {
    struct gh_obprefix pre;
    gh_object ob;
};
_Static_assert(offsetof(struct gh_static_int, v) == sizeof(struct gh_obprefix),
               "the prefix sits right before the object");
_Static_assert(offsetof(struct gh_static_obj, ob) == sizeof(struct gh_obprefix),
               "the prefix sits right before the object");

/* Written by the flavour's init before any thread starts; read-only after
 * (their counts are immortal, or, with immortal=off, counted like any). */
extern struct gh_static_int gh_small_ints[GH_SMALL_INT_COUNT];
extern struct gh_static_obj gh_none_storage;
#define gh_none (gh_none_storage.ob)
/* True and False: ints, as in CPython (bool subclasses int). */
extern struct gh_static_int gh_true, gh_false;

#endif
