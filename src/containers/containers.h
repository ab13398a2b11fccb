/* containers.h - the model's objects for the current flavour: int, None,
 * list, dict and instances of a plain class (str, bytes, float: strings.h;
 * tuple: tuple.h; set: set.h; classes, functions, weak references:
 * model.h).
 *
 * Flavoured (*.fl.c only): the types' dealloc slots decrement with the
 * flavour's reference counting and the operations lock with its sync axis.
 * Hot list operations are static inline here; the rest is out of line in
 * containers/<type>.fl.c.
 *
 * Reference conventions (CPython's): "new" results are owned by the caller;
 * operations that store an object *steal* the reference passed in;
 * operations that remove an object hand its reference to the caller, who
 * releases it *after* the critical section ends, so no deallocation runs
 * under a container lock. Under rc=locked an increment inside a section
 * may suspend it (rc/locked.h): put increments after the section's last
 * modification (or before its first), and check ts->cs_suspends before
 * using what was read before one (list ==).
 *
 * Shared fields and their protection:
 *   list.ob_size    written under the list's critical section with a relaxed
 *                   atomic store; read without a lock by gh_list_len (one
 *                   relaxed load, as CPython's len()).
 *   list.ob_item, list.allocated, the items: the list's critical section
 *                   (the lock-free-read flavour also reads ob_item and the
 *                   items without it: gh_list_get_lockfree).
 *   dict (all fields): the dict's critical section; used is also read
 *                   relaxed by gh_dict_len (and keys and the table's slots
 *                   lock-free by dict_get_lockfree, dict.fl.c).
 *   ob_flags' SHARED bit (lock-free-read flavour): set under the
 *                   container's critical section, read by anyone
 *                   (object/object.h gh_ob_is_shared).
 *   instance.attrs  the instance's critical section (containers/model.h).
 *
 * Layer: containers (includes rc, sync, object, alloc, base).
 */
#ifndef GH_CONTAINERS_CONTAINERS_H
#define GH_CONTAINERS_CONTAINERS_H

#ifndef GH_FLAVORED
#error "containers/containers.h is for flavoured code (*.fl.c) only"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/die.h"
#include "containers/singletons.h"
#include "object/gctrack.h"
#include "object/object_alloc.h"
#include "rc/rc.h"
#include "sync/sync.h"

extern const struct gh_type GH_FL(gh_int_type);
extern const struct gh_type GH_FL(gh_none_type);
extern const struct gh_type GH_FL(gh_list_type);
extern const struct gh_type GH_FL(gh_dict_type);
extern const struct gh_type GH_FL(gh_instance_type);

/* Gives the shared singletons this flavour's types (before any thread). */
void GH_FL(gh_singletons_init)(void);

/* ---- int ----------------------------------------------------------------- */

gh_object *GH_FL(gh_int_new_slow)(int64_t v);

/* A new reference to an int of value v: the cached object for -5..256. */
GH_INLINE gh_object *gh_int_new(int64_t v)
{
    if (v >= GH_SMALL_INT_MIN && v <= GH_SMALL_INT_MAX)
        return gh_newref(&gh_small_ints[v - GH_SMALL_INT_MIN].v.ob);
    return gh_int_new_slow(v);
}

GH_INLINE gh_object *gh_none_new(void) { return gh_newref(&gh_none); }

/* ---- list ----------------------------------------------------------------- */

/* CPython's PyListObject: 16-byte header + ob_size + ob_item + allocated. */
struct gh_list {
    gh_object ob;
    int64_t ob_size;
    gh_object **ob_item;
    int64_t allocated;
};
_Static_assert(sizeof(struct gh_list) == 40, "PyListObject is 40 bytes");

gh_object *GH_FL(gh_list_new)(void);
/* Makes room for newsize items (CPython's list_resize growth and shrink
 * rule). In the list's critical section. */
GH_NOINLINE void GH_FL(gh_list_resize_slow)(struct gh_list *l, int64_t newsize);

/* The lock-free-read flavour: whether a lock-free reader that is not the
 * container's owner may be reading it (object/object.h GH_OBFLAG_SHARED;
 * CPython's _PyObject_GC_IS_SHARED). false in every other flavour. */
GH_INLINE bool gh_container_is_shared(gh_object *o)
{
#if defined(GH_FL_LOCKFREE_READS)
    return gh_ob_is_shared(o);
#else
    (void)o;
    return false;
#endif
}
#define gh_list_is_shared(l) gh_container_is_shared(&(l)->ob)

#if defined(GH_FL_LOCKFREE_READS)
/* Whether the calling thread may read o without its lock: it owns o, or o
 * is marked shared, so whatever o drops waits for readers (CPython's
 * _Py_IsOwnedByCurrentThread(op) || _PyObject_GC_IS_SHARED(op)). */
GH_INLINE bool gh_container_lockfree_ok(gh_object *o)
{
    return gh_brc_tid(o) == gh_brc_me() || gh_ob_is_shared(o);
}

/* Under o's critical section, on the locked read path: o is marked shared
 * (CPython's list_item_impl and ensure_shared_on_read). */
GH_INLINE void gh_container_mark_shared(gh_object *o)
{
    if (!gh_ob_is_shared(o))
        gh_ob_set_shared(o);
}
#endif

GH_INLINE int64_t gh_list_len(struct gh_list *l)
{
    return gh_atomic_load_relaxed_i64(&l->ob_size);
}

/* The item array's capacity. Under sync=none nothing keeps `allocated`
 * and `ob_item` consistent while another thread resizes, so each array
 * carries its own capacity just in front of it (list.fl.c, items_alloc)
 * and every access is bounded by the capacity of the array it uses: a
 * race loses or tears an update (a hazard) but never touches memory
 * outside an array. The other flavours keep `allocated` under the list's
 * critical section (or the GIL). */
GH_INLINE int64_t gh_list_items_cap(const struct gh_list *l, gh_object **items)
{
#if defined(GH_FL_SYNC_NONE) || defined(GH_FL_LOCKFREE_READS)
    (void)l;
    return items ? gh_atomic_load_relaxed_i64(&((int64_t *)(void *)items)[-2]) : 0;
#else
    (void)items;
    return l->allocated;
#endif
}

#if defined(GH_FL_SYNC_NONE)
/* sync=none's append when the array in hand has no room at n: resizes if
 * the list is full, and stores into the array then installed if it has
 * room; else another thread resized under us and the append is lost (the
 * run's length invariant counts it), its reference dropped. */
GH_NOINLINE void GH_FL(gh_list_append_none_slow)(struct gh_list *l, int64_t n, gh_object *item);
#endif

GH_INLINE void gh_list_append_lock_held(struct gh_list *l, gh_object *item)
{
    int64_t n = l->ob_size;
#if defined(GH_FL_SYNC_NONE)
    /* One test against the capacity of the array in hand covers both a
     * full list (n == allocated == capacity) and a race (n negative, or
     * past an array another thread installed); the slow path tells them
     * apart. */
    gh_object **items = l->ob_item;
    if (GH_UNLIKELY((uint64_t)n >= (uint64_t)gh_list_items_cap(l, items))) {
        gh_list_append_none_slow(l, n, item);
        return;
    }
    items[n] = item;
#else
    if (GH_UNLIKELY(n == l->allocated))
        gh_list_resize_slow(l, n + 1);
# if defined(GH_FL_LOCKFREE_READS)
    /* Release: the item's contents before the pointer; pairs with the
     * lock-free reader's acquire load of the slot. */
    gh_atomic_store_release_tp(&l->ob_item[n], item);
# else
    l->ob_item[n] = item;
# endif
#endif
    gh_atomic_store_relaxed_i64(&l->ob_size, n + 1);
}

/* The last item (the reference moves to the caller), or NULL if empty. */
GH_INLINE gh_object *gh_list_pop_lock_held(struct gh_list *l)
{
    int64_t n = l->ob_size;
    if (n <= 0)
        return NULL;
#if defined(GH_FL_SYNC_NONE)
    gh_object **items = l->ob_item;
    int64_t cap = gh_list_items_cap(l, items);
    gh_object *item = n <= cap ? items[n - 1] : NULL;
    if (GH_UNLIKELY(!item)) {
        /* An empty slot, or past the array: a torn read. */
        gh_hazard_note(GH_HAZARD_TORN_READ, "list");
        return NULL;
    }
    /* The shrink test against the array in hand (allocated, which another
     * thread may be changing, is read again by the resize). */
    int64_t allocated = cap;
#else
    gh_object *item = l->ob_item[n - 1];
    int64_t allocated = l->allocated;
# if defined(GH_FL_LOCKFREE_READS)
    /* The slot is cleared (CPython's pop leaves it): the item may be freed
     * at once and its block reused for a new object of its size class
     * (alloc/alloc.h gh_alloc_type_stable) while a lock-free reader that
     * read the slot before the pop still holds the pointer; its re-check
     * must not find the pointer still there. Before the resize, so an old
     * array a shared list's readers may still use has it cleared too.
     * Relaxed: what orders it before such a reader's re-check is that the
     * item's free, and the new object's release store of its local count
     * (object/object.c gh_object_alloc), happen after it, and the reader's
     * conditional increment acquires that count (rc/brc.h). */
    gh_atomic_store_relaxed_tp(&l->ob_item[n - 1], NULL);
# endif
#endif
    /* CPython shrinks when the new size falls below half the allocation. */
    if (GH_UNLIKELY(n - 1 < (allocated >> 1)))
        gh_list_resize_slow(l, n - 1);
    gh_atomic_store_relaxed_i64(&l->ob_size, n - 1);
    return item;
}

/* Steals item. */
GH_INLINE void gh_list_append(struct gh_tstate *ts, struct gh_list *l, gh_object *item)
{
    GH_BEGIN_CS(ts, &l->ob)
    gh_list_append_lock_held(l, item);
    GH_END_CS(ts)
}

GH_INLINE gh_object *gh_list_pop(struct gh_tstate *ts, struct gh_list *l)
{
    gh_object *item;
    GH_BEGIN_CS(ts, &l->ob)
    item = gh_list_pop_lock_held(l);
    GH_END_CS(ts)
    return item;
}

/* A new reference to item i (i < 0 counts from the end), or NULL when out
 * of range. */
GH_INLINE gh_object *gh_list_get_locked(struct gh_tstate *ts, struct gh_list *l, int64_t i)
{
    gh_object *item = NULL;
    GH_BEGIN_CS(ts, &l->ob)
    int64_t n = l->ob_size;
    if (i < 0)
        i += n;
#if defined(GH_FL_SYNC_NONE)
    gh_object **items = l->ob_item;
    if (i >= 0 && i < n) {
        item = i < gh_list_items_cap(l, items) ? items[i] : NULL;
        if (item)
            gh_incref(item);
        else
            gh_hazard_note(GH_HAZARD_TORN_READ, "list");
    }
#else
    if (i >= 0 && i < n)
        item = gh_newref(l->ob_item[i]);
#endif
#if defined(GH_FL_LOCKFREE_READS)
    /* Read under the lock: from now on the list is read lock-free by
     * threads that do not own it, so what its resizes drop waits for them
     * (CPython's list_item_impl marks it shared here). */
    gh_container_mark_shared(&l->ob);
    /* The lock-free path refused this item (count 0 in the shared field:
     * only its owner had counted it). Announce it shared, as a weak
     * reference would (rc/brc.h), so other threads' next reads of it
     * succeed lock-free; its owner's last decrement then merges. */
    if (item && ts->qsbr_online && gh_brc_tid(item) != gh_brc_me())
        gh_brc_set_maybe_weakref(item);
#endif
    GH_END_CS(ts)
    return item;
}

#if defined(GH_FL_LOCKFREE_READS)
/* Tests define it (before including this header) to act between the
 * conditional increment and the re-check, as a racing writer would. */
#ifndef GH_LOCKFREE_TEST_HOOK
#define GH_LOCKFREE_TEST_HOOK(list, item) ((void)0)
#endif
/* And between the read of the slot and the conditional increment (a
 * writer that removes, frees and reuses the item there). */
#ifndef GH_LOCKFREE_TEST_HOOK_READ
#define GH_LOCKFREE_TEST_HOOK_READ(list, item) ((void)0)
#endif

/* Lock-free reads (base/qsbr.h; CPython's list_get_item_ref), by the
 * list's owner or when the list is marked shared (gh_list_get): the item
 * array and the slot are read without the list's lock, the item taken
 * with a conditional increment that refuses a dead object, and the slot
 * read again: still the same object, the reference is good (the item was
 * in the list when the slot was first read); otherwise, or when the
 * increment is refused, the locked path decides. Memory stays valid
 * meanwhile: the thread is online and reports no quiescent state inside
 * an operation; an array a shared list drops waits for a grace period;
 * an item freed meanwhile was freed at once, but into a type-stable pool
 * (alloc/alloc.h gh_alloc_type_stable; other items wait whole), so the
 * pointer still reaches an object header: the dead item's (count 0 or
 * MERGED, refused; or poisoned, immortal-looking, in the checked mode)
 * or a newer object's of the same size class, whose increment the
 * re-check undoes (the slot no longer holds that pointer). NULL with
 * *found false: the locked path must decide. */
GH_INLINE gh_object *gh_list_get_lockfree(struct gh_list *l, int64_t i, bool *found)
{
    int64_t n = gh_atomic_load_relaxed_i64(&l->ob_size);
    if (i < 0)
        i += n;
    /* Acquire: pairs with the release publish in gh_list_resize_slow (the
     * copied items and the array's capacity word). */
    gh_object **items = gh_atomic_load_acquire_tp(&l->ob_item);
    if (i < 0 || i >= n) {
        *found = true; /* out of range at the size's read */
        return NULL;
    }
    if (!items || i >= gh_list_items_cap(l, items))
        return NULL; /* a stale size against a newer array */
    gh_object **slot = &items[i];
    /* The array loaded, its item not yet taken: a resize's free of this
     * array waits for the grace period this read is inside. */
    GH_INJECT_AT(QSBR_READ, items);
    /* Acquire: pairs with the release store of the item (append, set). */
    gh_object *item = gh_atomic_load_acquire_tp(slot);
    GH_LOCKFREE_TEST_HOOK_READ(l, item);
    if (!item || !gh_try_incref(item))
        return NULL;
    GH_LOCKFREE_TEST_HOOK(l, item);
    /* Acquire, as the first load: pairs with the release store of the
     * item; a newer object stored at the same address meanwhile is then
     * seen with its contents. */
    if (GH_UNLIKELY(gh_atomic_load_acquire_tp(slot) != item)) {
        gh_decref(item); /* replaced meanwhile: the increment was on another's item */
        return NULL;
    }
    *found = true;
    return item;
}
#endif

GH_INLINE gh_object *gh_list_get(struct gh_tstate *ts, struct gh_list *l, int64_t i)
{
#if defined(GH_FL_LOCKFREE_READS)
    if (GH_LIKELY(ts->qsbr_online)) {
        /* Neither the owner nor a shared list: the locked path, which marks
         * it shared (counted as a fallback). */
        if (GH_LIKELY(gh_container_lockfree_ok(&l->ob))) {
            bool found = false;
            gh_object *item = gh_list_get_lockfree(l, i, &found);
            if (GH_LIKELY(found))
                return item;
        }
        ts->lockfree_list_fallbacks++;
    }
#endif
    return gh_list_get_locked(ts, l, i);
}

/* Replaces item i with `item` (stolen). Returns the old item (the caller
 * releases it), or NULL when out of range, in which case `item` was NOT
 * consumed. */
GH_INLINE gh_object *gh_list_set(struct gh_tstate *ts, struct gh_list *l, int64_t i,
                                 gh_object *item)
{
    gh_object *old = NULL;
    GH_BEGIN_CS(ts, &l->ob)
    int64_t n = l->ob_size;
    if (i < 0)
        i += n;
    gh_object **items = l->ob_item; /* once: sync=none may swap it meanwhile */
    if (i >= 0 && i < n && i < gh_list_items_cap(l, items)) {
        old = items[i];
#if defined(GH_FL_LOCKFREE_READS)
        /* Release: as append. A lock-free reader that took `old` sees the
         * change at its re-check and lets go. */
        gh_atomic_store_release_tp(&items[i], item);
#else
        items[i] = item;
#endif
    }
    GH_END_CS(ts)
    return old;
}

/* Moves the last item of `from` to the end of `to` in one two-object
 * critical section. False when `from` is empty. */
GH_INLINE bool gh_list_move(struct gh_tstate *ts, struct gh_list *from, struct gh_list *to)
{
    bool moved = false;
    GH_BEGIN_CS2(ts, &from->ob, &to->ob)
    gh_object *item = gh_list_pop_lock_held(from);
    if (item) {
        gh_list_append_lock_held(to, item);
        moved = true;
    }
    GH_END_CS2(ts)
    return moved;
}

/* ---- dict ----------------------------------------------------------------- */

struct gh_dictkeys;

/* CPython's PyDictObject: header + ma_used + ma_version_tag + ma_keys +
 * ma_values = 48 bytes. Keys are allocated on the first insertion (CPython
 * shares one immortal empty-keys object instead). */
struct gh_dict {
    gh_object ob;
    int64_t used;
    uint64_t version;          /* bumped by every mutation */
    struct gh_dictkeys *keys;  /* NULL while empty and never filled */
    void *values;              /* split tables: unused, always NULL */
};
_Static_assert(sizeof(struct gh_dict) == 48, "PyDictObject is 48 bytes");

gh_object *GH_FL(gh_dict_new)(void);
/* d[key] = value; steals both references. Returns 0, or GH_EUNHASHABLE
 * (containers/tuple.h) for an unhashable key (a list, dict, set, bytearray,
 * or a tuple holding one; CPython's TypeError), consuming nothing. Only
 * hashable keys, so comparing keys under the dict's critical section never
 * runs user code or takes another container's lock. */
int GH_FL(gh_dict_set)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key, gh_object *value);
/* gh_dict_set, returning 1 when the key was new, 0 when its value was
 * replaced (or, under sync=none, the insert was lost to a torn table): the
 * checked mode's length invariant counts the first. */
int GH_FL(gh_dict_set_added)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key,
                             gh_object *value);
/* A new reference to d[key], or NULL when missing or unhashable. Borrows key. */
gh_object *GH_FL(gh_dict_get)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key);
/* del d[key]; false when missing or unhashable. Borrows key. */
bool GH_FL(gh_dict_del)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key);
/* del d[key] only if its value is `expected` (CPython's _PyDict_DelItemIf):
 * one critical section, so a value stored meanwhile is not removed. */
bool GH_FL(gh_dict_del_if_is)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key,
                              gh_object *expected);

/* One step of iterating d's keys (see dict.fl.c): a new reference, or NULL
 * at the end or (with *changed set) when d's size is no longer `used`. */
gh_object *GH_FL(gh_dict_next_key)(struct gh_tstate *ts, struct gh_dict *d, int64_t used,
                                   int64_t *pos, bool *changed);
GH_INLINE int64_t gh_dict_len(struct gh_dict *d)
{
    return gh_atomic_load_relaxed_i64(&d->used);
}

/* ---- the rest of the object model, one header per family ---------------- */

#define GH_CONTAINERS_CONTAINERS_H_BODY 1

#include "containers/strings.h"   // str (interning), bytes, bytearray, float
#include "containers/tuple.h"     // tuple
#include "containers/set.h"       // set, frozenset
#include "containers/model.h"     // bool, object(), classes, instances, functions,
                                  // finalizers, weak references, WeakValueDictionary
#include "containers/lock.h"      // threading.Lock

#endif
