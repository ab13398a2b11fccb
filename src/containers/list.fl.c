/* list.fl.c - the list type for one flavour (fast paths: containers.h). */
#include <stdlib.h>

#include "containers/containers.h"

static void list_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_list *l = (struct gh_list *)(void *)self;
    for (int64_t i = 0; i < l->ob_size; i++)
        visit(l->ob_item[i], arg);
}

static void list_clear(gh_object *self)
{
    struct gh_list *l = (struct gh_list *)(void *)self;
    gh_object **items = l->ob_item;
    int64_t n = l->ob_size, allocated = l->allocated;
    /* Detach the items first, so a dealloc they trigger sees an empty list
     * (CPython's list_clear does the same). */
    l->ob_item = NULL;
    l->allocated = 0;
    gh_atomic_store_relaxed_i64(&l->ob_size, 0);
    for (int64_t i = 0; i < n; i++)
        gh_decref(items[i]);
    if (items)
        gh_free(items, (size_t)allocated * sizeof(gh_object *));
}

static void list_dealloc(gh_object *self)
{
    /* Nobody else can reach a dead list: no lock. Items are released
     * through gh_decref, whose zeroes only queue (rc/dealloc.c). */
    list_clear(self);
    gh_object_free(self, sizeof(struct gh_list));
}

/* list == list: equal lengths and pairwise ==. The two lists' items are
 * copied (with references) in one two-object critical section and compared
 * after it, so comparing items never runs under the lists' locks. */
static bool list_equal(gh_object *a, gh_object *b)
{
    struct gh_tstate *ts = gh_tstate_get();
    struct gh_list *la = (struct gh_list *)(void *)a, *lb = (struct gh_list *)(void *)b;
    gh_object **items = NULL;
    int64_t n = -1;
    GH_BEGIN_CS2(ts, a, b)
    if (la->ob_size == lb->ob_size) {
        n = la->ob_size;
        items = n ? malloc((size_t)n * 2 * sizeof *items) : NULL;
        gh_assert(n == 0 || items);
        for (int64_t i = 0; i < n; i++) {
            items[2 * i] = gh_newref(la->ob_item[i]);
            items[2 * i + 1] = gh_newref(lb->ob_item[i]);
        }
    }
    GH_END_CS2(ts)
    bool eq = n >= 0;
    bool entered = eq && gh_recursion_enter();
    eq = eq && entered;
    for (int64_t i = 0; i < n; i++) {
        if (eq && !gh_equal(items[2 * i], items[2 * i + 1]))
            eq = false;
        gh_decref(items[2 * i]);
        gh_decref(items[2 * i + 1]);
    }
    free(items);
    if (entered)
        gh_recursion_leave();
    return eq;
}

/* CPython's list.__sizeof__: the struct and the item array, not the items
 * (getsizeof([]) is 56 and does not grow when the items do). */
static size_t list_sizeof(gh_object *self)
{
    return sizeof(struct gh_list) + (size_t)((struct gh_list *)(void *)self)->allocated * sizeof(gh_object *);
}

const struct gh_type GH_FL(gh_list_type) = {
    .tp_name = "list",
    .kind = GH_KIND_LIST,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_list,
    .tp_basicsize = sizeof(struct gh_list),
    .tp_dealloc = list_dealloc,
    .tp_traverse = list_traverse,
    .tp_clear = list_clear,
    .tp_sizeof = list_sizeof,
    .tp_equal = list_equal,
};

gh_object *GH_FL(gh_list_new)(void)
{
    gh_object *o = gh_object_alloc(&GH_FL(gh_list_type), sizeof(struct gh_list));
    struct gh_list *l = (struct gh_list *)(void *)o;
    l->ob_size = 0;
    l->ob_item = NULL;
    l->allocated = 0;
    gh_gc_track(o);
    return o;
}

void GH_FL(gh_list_resize_slow)(struct gh_list *l, int64_t newsize)
{
    int64_t allocated = l->allocated;
    /* CPython's list_resize: keep the array when it is big enough and not
     * more than twice too big. */
    if (allocated >= newsize && newsize >= (allocated >> 1))
        return;
    /* Over-allocate by about 1/8, rounded to a multiple of 4. */
    int64_t want = (newsize + (newsize >> 3) + 6) & ~(int64_t)3;
    if (newsize - l->ob_size > want - newsize)
        want = (newsize + 3) & ~(int64_t)3;
    if (newsize == 0)
        want = 0;
    if (want == allocated)
        return; /* CPython reallocs to the same size here: a no-op */
    gh_object **items = NULL;
    if (want) {
        items = gh_alloc((size_t)want * sizeof(gh_object *));
        int64_t keep = l->ob_size < want ? l->ob_size : want;
        for (int64_t i = 0; i < keep; i++)
            items[i] = l->ob_item[i];
    }
    if (l->ob_item)
        gh_free(l->ob_item, (size_t)allocated * sizeof(gh_object *));
    l->ob_item = items;
    l->allocated = want;
}
