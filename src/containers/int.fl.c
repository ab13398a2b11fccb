/* int.fl.c - int and None for one flavour. */
#include "containers/containers.h"

static void int_dealloc(gh_object *self) { gh_object_free(self, GH_INT_SIZE); }

static uint64_t int_hash(gh_object *self)
{
    /* CPython hashes an int to its value (modulo 2^61 - 1). */
    int64_t v = ((struct gh_int *)(void *)self)->value;
    return (uint64_t)v;
}

static bool int_equal(gh_object *a, gh_object *b)
{
    return ((struct gh_int *)(void *)a)->value == ((struct gh_int *)(void *)b)->value;
}

const struct gh_type GH_FL(gh_int_type) = {
    .tp_name = "int",
    .kind = GH_KIND_INT,
    .flags = 0,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = GH_INT_SIZE,
    .tp_dealloc = int_dealloc,
    .tp_traverse = NULL,
    .tp_hash = int_hash,
    .tp_equal = int_equal,
};

static void none_dealloc(gh_object *self)
{
    /* None is never freed: with immortal=off the cache's own reference
     * keeps it above zero. Reaching here means a count was lost. */
    (void)self;
    gh_assert(!"None deallocated: a reference count was lost");
}

static void bool_dealloc(gh_object *self)
{
    (void)self;
    gh_assert(!"True or False deallocated: a reference count was lost");
}

/* bool subclasses int: same layout, hash and equality on the value. */
const struct gh_type GH_FL(gh_bool_type) = {
    .tp_name = "bool",
    .kind = GH_KIND_BOOL,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = GH_INT_SIZE,
    .tp_dealloc = bool_dealloc,
    .tp_hash = int_hash,
    .tp_equal = int_equal,
};

const struct gh_type GH_FL(gh_none_type) = {
    .tp_name = "NoneType",
    .kind = GH_KIND_NONE,
    .flags = 0,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = sizeof(gh_object),
    .tp_dealloc = none_dealloc,
};

gh_object *GH_FL(gh_int_new_slow)(int64_t v)
{
    gh_object *o = gh_object_alloc(&gh_int_type, GH_INT_SIZE);
    ((struct gh_int *)(void *)o)->value = v;
    return o;
}

void GH_FL(gh_singletons_init)(void)
{
    for (int i = 0; i < GH_SMALL_INT_COUNT; i++) {
        struct gh_static_int *si = &gh_small_ints[i];
        si->pre = (struct gh_obprefix){0};
        gh_static_counts_init(&si->v.ob);
        si->v.ob.ob_type = &gh_int_type;
        si->v.value = GH_SMALL_INT_MIN + i;
    }
    gh_none_storage.pre = (struct gh_obprefix){0};
    struct gh_static_int *bools[2] = {&gh_false, &gh_true};
    for (int i = 0; i < 2; i++) {
        bools[i]->pre = (struct gh_obprefix){0};
        gh_static_counts_init(&bools[i]->v.ob);
        bools[i]->v.ob.ob_type = &gh_bool_type;
        bools[i]->v.value = i;
    }
    gh_static_counts_init(&gh_none);
    gh_none.ob_type = &gh_none_type;
}
