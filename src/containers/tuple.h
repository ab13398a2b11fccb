/* tuple.h - tuple, and hashing that can fail (included by containers.h
 * only). CPython's PyTupleObject: 24 bytes of header and the items, so
 * __sizeof__ is 24 + 8 * n. Details: docs/objects.md ("tuple").
 *
 * Protection: none needed. A tuple is filled by the thread that made it
 * (gh_tuple_set_item_stolen, before anyone else can see it) and published
 * through whatever publishes any object (a container's critical section,
 * a thread start), which orders the item stores before every other
 * thread's reads; afterwards nothing writes it. () is a static singleton
 * (containers/tuple_static.c) given the active flavour's type and count by
 * gh_tuple_init() before any thread starts; every way of making an
 * empty tuple returns it.
 *
 * gh_hash() cannot fail (tp_hash has no error return): on a tuple holding
 * an unhashable item it hashes that item by identity. Code that must
 * refuse unhashable keys (dict, set, frozenset) calls gh_hash_checked().
 */
#ifndef GH_CONTAINERS_TUPLE_H
#define GH_CONTAINERS_TUPLE_H
#ifndef GH_CONTAINERS_CONTAINERS_H_BODY
#error "include containers/containers.h"
#endif

#include <errno.h>  // EINVAL
#include <stdarg.h> // gh_tuple_pack

/* The error code of an operation refused because its key is unhashable
 * (CPython raises TypeError: unhashable type). */
#define GH_EUNHASHABLE (-EINVAL)

/* ---- tuple ---------------------------------------------------------------- */

/* Invariant: ob_size is fixed at creation; ob_item[0..ob_size) are all
 * non-NULL once the tuple has been built and handed to anyone. */
struct gh_tuple {
    gh_object ob;
    int64_t ob_size;
    gh_object *ob_item[];
};
_Static_assert(sizeof(struct gh_tuple) == 24, "PyTupleObject's basic size is 24 bytes");

extern const struct gh_type GH_FL(gh_tuple_type);

/* The empty tuple's storage (containers/tuple_static.c): a 16-byte prefix,
 * then a gh_tuple with no items. Incomplete here on purpose: only its
 * address is used. */
struct gh_static_tuple;
extern struct gh_static_tuple gh_empty_tuple_storage;
#define gh_empty_tuple                                                         \
    ((struct gh_tuple *)(void *)((char *)&gh_empty_tuple_storage + sizeof(struct gh_obprefix)))

/* Gives () this flavour's type and its count (immortal, or 1 when
 * gh_model.immortal is off). Once per run, before any thread starts. */
void GH_FL(gh_tuple_init)(void);

/* A new tuple of n items, all NULL until set with gh_tuple_set_item_stolen
 * (n == 0: a new reference to ()). */
gh_object *GH_FL(gh_tuple_new)(int64_t n);
/* (items[0], ..., items[n-1]); steals the n references. */
gh_object *GH_FL(gh_tuple_from_array)(gh_object *const *items, int64_t n);
/* (a, b, ...) from n gh_object * arguments; steals them (PyTuple_Pack
 * borrows; this model's containers steal). */
gh_object *GH_FL(gh_tuple_pack)(int64_t n, ...);
/* a + b: a new reference to a tuple holding both operands' items (new
 * references to them). The operands are unchanged; `x += (3,)` rebinds x to
 * the result. As CPython's tuple_concat, when one operand is empty the
 * other is returned (a new reference to it), and () + () is (). Borrows
 * a and b. */
gh_object *GH_FL(gh_tuple_concat)(gh_object *a, gh_object *b);
/* hash(t): CPython's tuplehash (the xxHash-based combination of the item
 * hashes, 3.8+), so hash(()) and hash((1, 2)) equal CPython's. *ok is set
 * false when an item (at any depth) is unhashable; the value returned is
 * then the one tp_hash gives (those items hashed by identity). */
uint64_t GH_FL(gh_tuple_hash)(gh_object *t, bool *ok);

GH_INLINE struct gh_tuple *gh_tuple_cast(gh_object *o)
{
    gh_assert_debug(o->ob_type->kind == GH_KIND_TUPLE);
    return (struct gh_tuple *)(void *)o;
}

GH_INLINE int64_t gh_tuple_len(gh_object *t) { return gh_tuple_cast(t)->ob_size; }

/* t[i], borrowed; 0 <= i < len (no negative indexing: a precondition). */
GH_INLINE gh_object *gh_tuple_get(gh_object *t, int64_t i)
{
    struct gh_tuple *tu = gh_tuple_cast(t);
    gh_assert_debug(i >= 0 && i < tu->ob_size);
    return tu->ob_item[i];
}

/* Stores item (stolen) at i of a tuple being built: only by its maker,
 * before the tuple is shared, and only into a slot still NULL. */
GH_INLINE void gh_tuple_set_item_stolen(gh_object *t, int64_t i, gh_object *item)
{
    struct gh_tuple *tu = gh_tuple_cast(t);
    gh_assert_debug(i >= 0 && i < tu->ob_size && tu->ob_item[i] == NULL);
    tu->ob_item[i] = item;
}

/* ---- hashing that can fail ------------------------------------------------ */

/* Kinds whose instances are unhashable: mutable containers define __eq__
 * and set __hash__ to None (WeakValueDictionary through MutableMapping). */
GH_INLINE bool gh_kind_is_unhashable(enum gh_kind k)
{
    return k == GH_KIND_LIST || k == GH_KIND_DICT || k == GH_KIND_SET ||
           k == GH_KIND_BYTEARRAY || k == GH_KIND_WEAKVALUEDICT;
}

/* hash(o) that reports failure: false when o is unhashable (CPython: -1 and
 * TypeError), else true with the hash in *hash. */
GH_INLINE bool gh_hash_checked(gh_object *o, uint64_t *hash)
{
    enum gh_kind k = o->ob_type->kind;
    if (k == GH_KIND_TUPLE) {
        bool ok;
        *hash = gh_tuple_hash(o, &ok);
        return ok;
    }
    if (gh_kind_is_unhashable(k))
        return false;
    *hash = gh_hash(o);
    return true;
}

#endif
