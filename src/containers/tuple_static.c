/* tuple_static.c - storage for (), the empty-tuple singleton: once per
 * process, shared by every flavour, whose gh_tuple_init gives it its
 * type and count before a run's threads start (see tuple.h).
 *
 * Like the singletons of singletons.h it carries the full layout's 16-byte
 * prefix in front, so code that reaches below the object (ob_mutex, the
 * compact layout's GC head, which is the same 16 bytes) finds real storage.
 * The fields after the prefix mirror struct gh_tuple with no items
 * (containers/tuple.h: ob, ob_size, then the empty item array); tuple.h
 * sees this struct as incomplete and uses only its address.
 *
 * Layer: containers (not flavoured).
 */
#include <stddef.h>
#include <stdint.h>

#include "object/object.h" // gh_object, struct gh_obprefix

struct gh_static_tuple {
    struct gh_obprefix pre;
    gh_object ob;
    int64_t ob_size; /* 0, forever */
};
_Static_assert(offsetof(struct gh_static_tuple, ob) == sizeof(struct gh_obprefix),
               "the prefix sits right before the object");
_Static_assert(sizeof(struct gh_static_tuple) == sizeof(struct gh_obprefix) + 24,
               "() is a 24-byte PyTupleObject with no items");

/* Zero until a flavour's gh_tuple_init; then read-only but for its count
 * (counted only with immortal=off). */
struct gh_static_tuple gh_empty_tuple_storage;
