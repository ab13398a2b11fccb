/* list.fl.c - the list type for one flavour (fast paths: containers.h). */
#include <stdlib.h>
#include <string.h>

#include "containers/containers.h"

/* The item array: under sync=none and the lock-free-read flavour with its
 * capacity in front (see gh_list_items_cap). */
static gh_object **items_alloc(int64_t n)
{
#if defined(GH_FL_SYNC_NONE) || defined(GH_FL_LOCKFREE_READS)
    int64_t *block = gh_alloc((size_t)(n + 2) * sizeof(gh_object *));
    /* Zeroed: a slot a racing size counts but nobody wrote reads empty (a
     * torn read, caught; a lock-free reader takes the locked path), never
     * as a stale pointer. */
    memset(block + 2, 0, (size_t)n * sizeof(gh_object *));
    block[0] = n;
    block[1] = 0;
    return (gh_object **)(void *)(block + 2);
#else
    return gh_alloc((size_t)n * sizeof(gh_object *));
#endif
}

/* shared: the lock-free-read flavour's list is marked shared (a lock-free
 * reader that is not its owner may hold this array: after a grace period;
 * CPython's free_list_items(items, use_qsbr)). */
static void items_free(gh_object **items, int64_t n, bool shared)
{
#if defined(GH_FL_SYNC_NONE)
    (void)shared;
    gh_checked_free((int64_t *)(void *)items - 2, (size_t)(n + 2) * sizeof(gh_object *));
#elif defined(GH_FL_LOCKFREE_READS)
    if (shared)
        gh_free_after_readers((int64_t *)(void *)items - 2, (size_t)(n + 2) * sizeof(gh_object *));
    else
        gh_checked_free((int64_t *)(void *)items - 2, (size_t)(n + 2) * sizeof(gh_object *));
#else
    (void)shared;
    gh_checked_free(items, (size_t)n * sizeof(gh_object *));
#endif
}

/* The items a traversal may visit: ob_size, bounded by the array under
 * sync=none (a race may have left ob_size past it). */
GH_INLINE int64_t items_used(struct gh_list *l)
{
    int64_t n = l->ob_size, cap = gh_list_items_cap(l, l->ob_item);
    return n < cap ? n : cap;
}

static void list_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_list *l = (struct gh_list *)(void *)self;
    int64_t n = items_used(l);
    for (int64_t i = 0; i < n; i++)
        if (l->ob_item[i])
            visit(l->ob_item[i], arg);
}

static void list_clear(gh_object *self)
{
    struct gh_list *l = (struct gh_list *)(void *)self;
    int64_t n = items_used(l);
    /* Detach the items first, so a dealloc they trigger sees an empty list
     * (CPython's list_clear does the same); under sync=none by exchange,
     * as in resize (seq_cst: see there), pairing with the resize's
     * exchange that installed the array. */
#if defined(GH_FL_SYNC_NONE)
    gh_object **items = gh_atomic_exchange_seqcst_tp(&l->ob_item, NULL);
    if (items && n > gh_list_items_cap(l, items))
        n = gh_list_items_cap(l, items);
#elif defined(GH_FL_LOCKFREE_READS)
    /* Lock-free readers load ob_item with acquire: NULL reads as empty. */
    gh_object **items = l->ob_item;
    gh_atomic_store_release_tp(&l->ob_item, NULL);
#else
    gh_object **items = l->ob_item;
    l->ob_item = NULL;
#endif
    int64_t allocated = gh_list_items_cap(l, items);
    l->allocated = 0;
    gh_atomic_store_relaxed_i64(&l->ob_size, 0);
    for (int64_t i = 0; i < n; i++)
        if (items[i])
            gh_decref(items[i]);
    /* At once even when shared (CPython's list dealloc and tp_clear): a
     * dead list has no readers, and the collector clears garbage, which
     * no reader can reach, with the world stopped. */
    if (items)
        items_free(items, allocated, false);
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
    gh_object **items;
    int64_t n, taken;
again:
    items = NULL;
    n = -1;
    taken = 0;
    GH_BEGIN_CS2(ts, a, b)
    if (la->ob_size == lb->ob_size) {
        n = la->ob_size;
        items = n ? malloc((size_t)n * 2 * sizeof *items) : NULL;
        gh_assert(n == 0 || items);
        /* items[2i] is a's item i, items[2i + 1] b's. Under rc=locked an
         * increment may suspend the section (rc/locked.h) and the lists change
         * meanwhile: the copy stops there and starts again. */
        uint64_t suspends = ts->cs_suspends;
        for (; taken < 2 * n && ts->cs_suspends == suspends; taken++)
            items[taken] = gh_newref((taken & 1 ? lb : la)->ob_item[taken >> 1]);
    }
    GH_END_CS2(ts)
    if (taken < 2 * n) {
        while (taken)
            gh_decref(items[--taken]);
        free(items);
        goto again;
    }
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
    gh_object *o = gh_object_alloc(&gh_list_type, sizeof(struct gh_list));
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
#if !defined(GH_FL_LOCKFREE_READS)
    /* The GIL build reallocates, within the block's size class: nothing
     * moves. 3.13t never reallocates in place (a lock-free reader may hold
     * the array): it allocates a new array of the same capacity, copies,
     * and frees the old one, after a grace period if the list is shared. */
    if (want == allocated)
        return;
#endif
    gh_object **items = NULL, **old = l->ob_item;
    if (want) {
        items = items_alloc(want);
        /* Bounded by the array read above (sync=none: another thread may
         * have installed a different one since). */
        int64_t keep = l->ob_size, cap = gh_list_items_cap(l, old);
        if (keep > cap)
            keep = cap;
        if (keep > want)
            keep = want;
        for (int64_t i = 0; i < keep; i++)
            items[i] = old[i];
    }
#if defined(GH_FL_SYNC_NONE)
    /* Two threads may resize at once: each array is freed by the one
     * thread whose exchange took it out of the list, so never twice. The
     * exchange that installs an array pairs with the one that later takes
     * it out (a racing resize or clear), so the installer's writes to the
     * array happen before its free. Seq_cst is more than that needs
     * (acq_rel would do); sync=none's other readers load ob_item plainly. */
    old = gh_atomic_exchange_seqcst_tp(&l->ob_item, items);
#elif defined(GH_FL_LOCKFREE_READS)
    /* Release: the copied items (and the zeroed rest) before the array;
     * pairs with the acquire load in gh_list_get's lock-free path. */
    gh_atomic_store_release_tp(&l->ob_item, items);
    /* A resize by a thread that is not the owner marks the list shared
     * (CPython 3.13.5's ensure_shared_on_resize): the owner reads it
     * lock-free without looking at the mark, so the array it may hold
     * must wait for a grace period. */
    if (!gh_ob_is_shared(&l->ob) && gh_brc_tid(&l->ob) != gh_brc_me())
        gh_ob_set_shared(&l->ob);
#else
    l->ob_item = items;
#endif
    if (old)
        items_free(old, gh_list_items_cap(l, old), gh_list_is_shared(l));
    l->allocated = want;
}

#if defined(GH_FL_SYNC_NONE)
void GH_FL(gh_list_append_none_slow)(struct gh_list *l, int64_t n, gh_object *item)
{
    if (n == l->allocated)
        gh_list_resize_slow(l, n + 1);
    gh_object **items = l->ob_item;
    if (n < 0 || n >= gh_list_items_cap(l, items)) {
        gh_decref(item);
        return;
    }
    items[n] = item;
    gh_atomic_store_relaxed_i64(&l->ob_size, n + 1);
}
#endif
