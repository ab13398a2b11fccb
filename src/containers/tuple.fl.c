/* tuple.fl.c - the tuple type for one flavour (fast paths and the design:
 * containers/tuple.h; docs/objects.md). */
#include "containers/containers.h"

#include <string.h>

_Static_assert(offsetof(struct gh_tuple, ob_size) == 16 && offsetof(struct gh_tuple, ob_item) == 24,
               "PyObject_VAR_HEAD, then the items");

static size_t tuple_bytes(int64_t n) { return sizeof(struct gh_tuple) + (size_t)n * sizeof(gh_object *); }

static void tuple_dealloc(gh_object *self)
{
    struct gh_tuple *t = (struct gh_tuple *)(void *)self;
    /* () is static: with immortal=off it keeps a reference of its own, so
     * reaching zero means a count was lost somewhere. */
    gh_assert(t != gh_empty_tuple);
    /* Nobody else can reach a dead tuple. Items may be NULL when it died
     * while being built or after tuple_clear; zeroes only queue. */
    for (int64_t i = 0; i < t->ob_size; i++)
        if (t->ob_item[i])
            gh_decref(t->ob_item[i]);
    gh_object_free(self, tuple_bytes(t->ob_size));
}

static void tuple_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_tuple *t = (struct gh_tuple *)(void *)self;
    for (int64_t i = 0; i < t->ob_size; i++)
        if (t->ob_item[i])
            visit(t->ob_item[i], arg);
}

/* For the cyclic collector only, on an unreachable tuple (CPython's tuple
 * has no tp_clear and relies on a mutable member of the cycle being
 * cleared; the model clears tuples too). The size stays (the free needs
 * it); each slot is emptied before its reference is dropped, so a dealloc
 * the drop triggers sees NULL, never a dangling item. */
static void tuple_clear(gh_object *self)
{
    struct gh_tuple *t = (struct gh_tuple *)(void *)self;
    for (int64_t i = 0; i < t->ob_size; i++) {
        gh_object *item = t->ob_item[i];
        t->ob_item[i] = NULL;
        if (item)
            gh_decref(item);
    }
}

/* CPython's tuplehash (Objects/tupleobject.c since 3.8): each item's hash is
 * one lane of an xxHash64 round; the length is mixed in at the end with a
 * constant chosen so hash(()) kept its historical value. */
#define XXPRIME_1 UINT64_C(11400714785074694791)
#define XXPRIME_2 UINT64_C(14029467366897019727)
#define XXPRIME_5 UINT64_C(2870177450012600261)

uint64_t GH_FL(gh_tuple_hash)(gh_object *self, bool *ok)
{
    struct gh_tuple *t = gh_tuple_cast(self);
    uint64_t acc = XXPRIME_5;
    *ok = true;
    if (!gh_recursion_enter()) {
        *ok = false; /* nested too deep: RecursionError in CPython */
        return (uint64_t)(uintptr_t)self;
    }
    for (int64_t i = 0; i < t->ob_size; i++) {
        uint64_t lane;
        if (!gh_hash_checked(t->ob_item[i], &lane)) {
            /* Unhashable (or nested too deep): stop here. Hashing the item
             * again by identity would repeat the whole descent at every
             * level on the way back, exponentially. The value returned for
             * such a tuple means nothing (TypeError in CPython). */
            *ok = false;
            break;
        }
        acc += lane * XXPRIME_2;
        acc = (acc << 31) | (acc >> 33);
        acc *= XXPRIME_1;
    }
    gh_recursion_leave();
    acc += (uint64_t)t->ob_size ^ (XXPRIME_5 ^ UINT64_C(3527539));
    /* -1 is CPython's error return, so it maps that value elsewhere; kept
     * so the numbers match CPython's. */
    if (acc == UINT64_MAX)
        return UINT64_C(1546275796);
    return acc;
}

/* The slot cannot fail: an unhashable item hashes by identity here (see
 * tuple.h; gh_hash_checked is the checked form). */
static uint64_t tuple_tp_hash(gh_object *self)
{
    bool ok;
    return gh_tuple_hash(self, &ok);
}

static bool tuple_equal(gh_object *a, gh_object *b)
{
    struct gh_tuple *x = (struct gh_tuple *)(void *)a, *y = (struct gh_tuple *)(void *)b;
    if (x->ob_size != y->ob_size || !gh_recursion_enter())
        return false;
    bool eq = true;
    for (int64_t i = 0; i < x->ob_size && eq; i++)
        eq = gh_equal(x->ob_item[i], y->ob_item[i]);
    gh_recursion_leave();
    return eq;
}

/* tuple.__sizeof__: the basic size plus one pointer per item. */
static size_t tuple_sizeof(gh_object *self)
{
    return tuple_bytes(((struct gh_tuple *)(void *)self)->ob_size);
}

const struct gh_type GH_FL(gh_tuple_type) = {
    .tp_name = "tuple",
    .kind = GH_KIND_TUPLE,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_instance, /* never locked: immutable */
    .tp_basicsize = sizeof(struct gh_tuple),
    .tp_dealloc = tuple_dealloc,
    .tp_traverse = tuple_traverse,
    .tp_clear = tuple_clear,
    .tp_hash = tuple_tp_hash,
    .tp_equal = tuple_equal,
    .tp_sizeof = tuple_sizeof,
    .tp_weaklistoffset = 0, /* not weak-referenceable, as in CPython */
};

void GH_FL(gh_tuple_init)(void)
{
    struct gh_tuple *e = gh_empty_tuple;
    memset(gh_prefix(&e->ob), 0, sizeof(struct gh_obprefix));
    gh_static_counts_init(&e->ob);
    e->ob.ob_type = &gh_tuple_type;
    e->ob_size = 0;
}

static gh_object *tuple_empty(void)
{
    /* A run that never called gh_tuple_init would hand out () with another
     * flavour's type (or none). */
    gh_assert(gh_empty_tuple->ob.ob_type == &gh_tuple_type);
    return gh_newref(&gh_empty_tuple->ob);
}

gh_object *GH_FL(gh_tuple_new)(int64_t n)
{
    gh_assert(n >= 0);
    if (n == 0)
        return tuple_empty();
    gh_object *o = gh_object_alloc(&gh_tuple_type, tuple_bytes(n));
    struct gh_tuple *t = (struct gh_tuple *)(void *)o;
    t->ob_size = n;
    memset(t->ob_item, 0, (size_t)n * sizeof(gh_object *));
    /* Tracked at once, items still NULL (traverse skips them), as
     * PyTuple_New; the collector untracks it later if every item is
     * atomic (gc layer). */
    gh_gc_track(o);
    return o;
}

gh_object *GH_FL(gh_tuple_from_array)(gh_object *const *items, int64_t n)
{
    gh_object *o = gh_tuple_new(n);
    for (int64_t i = 0; i < n; i++)
        gh_tuple_set_item_stolen(o, i, items[i]);
    return o;
}

gh_object *GH_FL(gh_tuple_pack)(int64_t n, ...)
{
    gh_object *o = gh_tuple_new(n);
    va_list ap;
    va_start(ap, n);
    for (int64_t i = 0; i < n; i++)
        gh_tuple_set_item_stolen(o, i, va_arg(ap, gh_object *));
    va_end(ap);
    return o;
}

gh_object *GH_FL(gh_tuple_concat)(gh_object *a, gh_object *b)
{
    struct gh_tuple *x = gh_tuple_cast(a), *y = gh_tuple_cast(b);
    if (y->ob_size == 0)
        return gh_newref(a);
    if (x->ob_size == 0)
        return gh_newref(b);
    int64_t n = x->ob_size + y->ob_size;
    gh_object *o = gh_tuple_new(n);
    struct gh_tuple *t = (struct gh_tuple *)(void *)o;
    for (int64_t i = 0; i < x->ob_size; i++)
        t->ob_item[i] = gh_newref(x->ob_item[i]);
    for (int64_t i = 0; i < y->ob_size; i++)
        t->ob_item[x->ob_size + i] = gh_newref(y->ob_item[i]);
    return o;
}
