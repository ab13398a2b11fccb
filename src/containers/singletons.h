/* singletons.h - storage for the objects every flavour shares by address:
 * None and the small-int cache (-5..256, CPython's _PY_NSMALLNEGINTS and
 * _PY_NSMALLPOSINTS). The active flavour's init gives them its types.
 * Layer: containers. */
#ifndef GH_CONTAINERS_SINGLETONS_H
#define GH_CONTAINERS_SINGLETONS_H

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

/* Written by the flavour's init before any thread starts; read-only after. */
extern struct gh_int gh_small_ints[GH_SMALL_INT_COUNT];
extern gh_object gh_none;

#endif
