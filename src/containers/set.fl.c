/* set.fl.c - set and frozenset for one flavour (layout, invariants and
 * locking: containers/set.h; docs/objects.md).
 *
 * Follows CPython 3.12's Objects/setobject.c:
 *  - lookup: from hash & mask, check up to LINEAR_PROBES (9) consecutive
 *    slots when they fit before the end of the table, then jump to
 *    i = (5*i + 1 + perturb) & mask with perturb >>= 5; an unused slot ends
 *    the search, a dummy does not.
 *  - add: the same probe; a key not found goes into the first dummy met on
 *    the way if there was one (measured on 3.11-3.13: {0,1,2,3} minus 0 and
 *    2, plus 8, iterates [8, 1, 3]: 8 took slot 0, not slot 2), which
 *    changes neither fill nor the resize check, else
 *    into the unused slot that ended the probe: fill++, and then
 *        if fill*5 >= mask*3: resize to used > 50000 ? used*2 : used*4
 *    (the table is kept under 60% full, dummies counted; x4 growth up to
 *    50000 keys, x2 beyond).
 *  - resize: the smallest power of two > minused, at least 8; the
 *    smalltable when that is 8 (a rebuild that only drops dummies); dummies
 *    are not copied, so fill becomes used.
 *  - discard: the entry becomes a dummy, used--; a set never shrinks on
 *    discard (only clear() returns it to the smalltable).
 *  - pop: scan from the finger for an active entry, make it a dummy, move
 *    the finger past it.
 * CPython marks a dummy's hash -1 and relies on no real hash being -1; this
 * model's hashes use all 64 bits, so entries are told apart by key alone.
 */
#include "containers/containers.h"

#include <string.h>

#define LINEAR_PROBES 9
#define PERTURB_SHIFT 5

/* The dummy marker: never counted, never handed out, per flavour. */
static gh_object set_dummy_marker;
#define DUMMY (&set_dummy_marker)

GH_INLINE bool entry_active(const struct gh_setentry *e) { return e->key && e->key != DUMMY; }

static size_t table_bytes(int64_t mask) { return (size_t)(mask + 1) * sizeof(struct gh_setentry); }

GH_INLINE struct gh_set *set_of(gh_object *o) { return (struct gh_set *)(void *)o; }

#if defined(GH_FL_SYNC_NONE)
/* sync=none (the checked mode is always on): `table` and `mask` are two
 * fields other threads write at different moments, so the mask read next
 * to a table may be another table's. An allocated table carries its own
 * mask in an entry in front of it, and every operation reads the table
 * once and its size from it (the smalltable's is fixed); every probe is
 * bounded by that size. A table a racing resize freed is zeroed by the
 * checked mode (and quarantined): it reads mask 0 and empty. None of this
 * is compiled into the other flavours. */
static struct gh_setentry *table_alloc(int64_t size)
{
    struct gh_setentry *t = gh_alloc((size_t)(size + 1) * sizeof(struct gh_setentry));
    t[0].key = NULL;
    t[0].hash = (uint64_t)(size - 1);
    return t + 1;
}

/* Frees a table this thread took out of its set (nobody else frees it). */
static void table_free(struct gh_setentry *t)
{
    gh_checked_free(t - 1, table_bytes((int64_t)t[-1].hash + 1));
}

/* The mask of the table in hand (not NULL). Relaxed, pairing with
 * nothing: written once before the table is installed; 0 once freed. */
GH_INLINE size_t mask_of(const struct gh_set *s, const struct gh_setentry *t)
{
    return t == s->smalltable ? GH_SET_MINSIZE - 1
                              : (size_t)gh_atomic_load_relaxed_u64(&((struct gh_setentry *)(uintptr_t)t)[-1].hash);
}

/* A set whose table pointer reads NULL: the set itself was freed (its
 * payload zeroed) by racing counts. */
#define NONE_TABLE_GONE(t) (GH_UNLIKELY(!(t)) && (gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, "set"), true))
#else
static struct gh_setentry *table_alloc(int64_t size)
{
    return gh_alloc((size_t)size * sizeof(struct gh_setentry));
}

static void table_free(struct gh_setentry *t, int64_t mask)
{
    gh_checked_free(t, table_bytes(mask));
}

GH_INLINE size_t mask_of(const struct gh_set *s, const struct gh_setentry *t)
{
    (void)t;
    return (size_t)s->mask;
}
#endif

/* Frees an allocated table of mask `mask`. */
#if defined(GH_FL_SYNC_NONE)
#define TABLE_FREE(t, mask) ((void)(mask), table_free(t))
#else
#define TABLE_FREE(t, mask) table_free((t), (mask))
#endif

/* ---- probing (the set's critical section held, or a private set) -------- */

/* The active entry holding a key equal to `key`, or NULL. */
static struct gh_setentry *set_lookup_lock_held(struct gh_set *s, gh_object *key, uint64_t hash)
{
    struct gh_setentry *table = s->table;
#if defined(GH_FL_SYNC_NONE)
    if (NONE_TABLE_GONE(table))
        return NULL;
#endif
    size_t mask = mask_of(s, table);
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
#if defined(GH_FL_SYNC_NONE)
    /* Each round reads at least one entry: mask + 1 rounds cover the
     * table. */
    for (size_t round = 0; round <= mask; round++) {
#else
    for (;;) {
#endif
        struct gh_setentry *e = &table[i];
        int probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
        do {
#if defined(GH_FL_SYNC_NONE)
            /* The key read once (relaxed, pairing with nothing). */
            gh_object *ek = gh_atomic_load_relaxed_tp(&e->key);
            if (ek == NULL)
                return NULL;
            if (e->hash == hash && ek != DUMMY && (ek == key || gh_equal(ek, key)))
                return e;
#else
            if (e->key == NULL)
                return NULL;
            if (e->hash == hash && e->key != DUMMY && (e->key == key || gh_equal(e->key, key)))
                return e;
#endif
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + (size_t)perturb) & mask;
    }
#if defined(GH_FL_SYNC_NONE)
    /* No unused slot met: racing inserts filled the table past its 60%. */
    gh_hazard_note(GH_HAZARD_TORN_READ, "set");
    return NULL;
#endif
}

/* Places a key known to be absent into a table that has no dummies
 * (CPython's set_insert_clean); counts are the caller's. sync=none: false
 * when the table has no room (the key is not placed). */
static bool set_insert_clean(struct gh_setentry *table, size_t mask, gh_object *key, uint64_t hash)
{
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
#if defined(GH_FL_SYNC_NONE)
    for (size_t round = 0; round <= mask; round++) {
#else
    for (;;) {
#endif
        struct gh_setentry *e = &table[i];
        int probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
        do {
            if (e->key == NULL) {
                e->key = key;
                e->hash = hash;
                return true;
            }
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + (size_t)perturb) & mask;
    }
#if defined(GH_FL_SYNC_NONE)
    return false;
#endif
}

void GH_FL(gh_set_resize_slow)(struct gh_set *s, int64_t minused)
{
#if defined(GH_FL_SYNC_NONE)
    /* minused comes from a count other threads race on. */
    if (minused < 0)
        minused = 0;
    if (minused > ((int64_t)1 << 30))
        minused = (int64_t)1 << 30;
#endif
    gh_assert(minused >= 0);
    int64_t newsize = GH_SET_MINSIZE;
    while (newsize <= minused)
        newsize <<= 1;
    struct gh_setentry *old = s->table;
#if defined(GH_FL_SYNC_NONE)
    if (NONE_TABLE_GONE(old))
        return;
#endif
    int64_t oldmask = (int64_t)mask_of(s, old);
    bool old_allocated = old != s->smalltable;
    struct gh_setentry small_copy[GH_SET_MINSIZE];
    struct gh_setentry *table;
    if (newsize == GH_SET_MINSIZE) {
        table = s->smalltable;
        if (!old_allocated) {
            if (s->fill == s->used)
                return; /* no dummies: nothing to rebuild */
            memcpy(small_copy, old, sizeof small_copy);
            old = small_copy;
        }
    } else {
        table = table_alloc(newsize);
    }
    memset(table, 0, (size_t)newsize * sizeof(struct gh_setentry));
#if defined(GH_FL_SYNC_NONE)
    /* Filled before it is installed when it is new; the smalltable is in
     * the set, where racing threads see it filling. Entries past what it
     * holds (racing inserts lost the count the size came from) are lost,
     * and the length invariant counts them. */
    for (int64_t j = 0; j <= oldmask; j++) {
        gh_object *k = gh_atomic_load_relaxed_tp(&old[j].key);
        if (k && k != DUMMY && !set_insert_clean(table, (size_t)(newsize - 1), k, old[j].hash))
            break;
    }
    s->mask = newsize - 1;
    s->fill = s->used;
    /* Each allocated table is freed by the one thread whose exchange took
     * it out of the set, so never twice (as gh_list_resize_slow's arrays).
     * The exchange that installs a table pairs with the one that takes it
     * out, so the installer's writes to it happen before its free.
     * Seq_cst is more than that needs. */
    struct gh_setentry *out = gh_atomic_exchange_seqcst_tp(&s->table, table);
    if (out && out != s->smalltable && out != table) /* NULL: the set was freed */
        table_free(out);
#else
    s->table = table;
    s->mask = newsize - 1;
    s->fill = s->used;
    for (int64_t j = 0; j <= oldmask; j++)
        if (entry_active(&old[j]))
            set_insert_clean(table, (size_t)(newsize - 1), old[j].key, old[j].hash);
    if (old_allocated)
        table_free(old, oldmask);
#endif
}

/* Inserts key (stolen) unless an equal key is present. Returns NULL when
 * it was inserted, else key itself, for the caller to release after the
 * section. */
static gh_object *set_insert_lock_held(struct gh_set *s, gh_object *key, uint64_t hash)
{
    struct gh_setentry *table = s->table;
#if defined(GH_FL_SYNC_NONE)
    if (NONE_TABLE_GONE(table))
        return key; /* not inserted: handed back to be released */
#endif
    size_t mask = mask_of(s, table);
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
    struct gh_setentry *freeslot = NULL, *e;
#if defined(GH_FL_SYNC_NONE)
    for (size_t round = 0; round <= mask; round++) {
#else
    for (;;) {
#endif
        e = &table[i];
        int probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
        do {
#if defined(GH_FL_SYNC_NONE)
            /* The key read once (relaxed, pairing with nothing). */
            gh_object *ek = gh_atomic_load_relaxed_tp(&e->key);
#else
            gh_object *ek = e->key;
#endif
            if (ek == NULL)
                goto found_unused;
            if (ek == DUMMY) {
                if (!freeslot)
                    freeslot = e;
            }
            else if (e->hash == hash && (ek == key || gh_equal(ek, key)))
                return key; /* present: the set keeps its own key */
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + (size_t)perturb) & mask;
    }
#if defined(GH_FL_SYNC_NONE)
    if (!freeslot) {
        /* No unused slot and no dummy: racing inserts filled the table.
         * The insert is lost (the key handed back to be released). */
        gh_hazard_note(GH_HAZARD_TORN_READ, "set");
        return key;
    }
#endif
found_unused:
    if (freeslot) {
        /* Reusing a dummy: fill is unchanged, so no resize check. */
        freeslot->key = key;
        freeslot->hash = hash;
        gh_atomic_store_relaxed_i64(&s->used, s->used + 1);
        return NULL;
    }
    e->key = key;
    e->hash = hash;
    s->fill++;
    gh_atomic_store_relaxed_i64(&s->used, s->used + 1);
    if (GH_UNLIKELY((size_t)s->fill * 5 >= mask * 3))
        gh_set_resize_slow(s, s->used > 50000 ? s->used * 2 : s->used * 4);
    return NULL;
}

/* ---- the types' slots ----------------------------------------------------- */

static void set_dealloc(gh_object *self)
{
    struct gh_set *s = set_of(self);
    /* Weak references first, as CPython's set_dealloc: their callbacks
     * must not find the set half torn down. */
    if (gh_has_weakrefs(self))
        gh_weakrefs_clear(self);
    /* Nobody else can reach a dead set: no lock; zeroes only queue.
     * sync=none: racing counts may free a set another thread is resizing;
     * the table is taken by exchange, as a resize takes it. */
#if defined(GH_FL_SYNC_NONE)
    struct gh_setentry *table = gh_atomic_exchange_seqcst_tp(&s->table, &s->smalltable[0]);
    if (!table) /* zeroed: never reached (a freed set's dealloc is refused) */
        table = s->smalltable;
#else
    struct gh_setentry *table = s->table;
#endif
    int64_t mask = (int64_t)mask_of(s, table);
    for (int64_t j = 0; j <= mask; j++)
        if (entry_active(&table[j]))
            gh_decref(table[j].key);
    if (table != s->smalltable)
        TABLE_FREE(table, mask);
    gh_object_free(self, sizeof(struct gh_set));
}

static void set_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_set *s = set_of(self);
    struct gh_setentry *table = s->table;
    int64_t mask = (int64_t)mask_of(s, table);
    for (int64_t j = 0; j <= mask; j++)
        if (entry_active(&table[j]))
            visit(table[j].key, arg);
}

/* A table detached from a set, to be released outside any section. */
struct detached {
    struct gh_setentry *table; /* the allocated table, or `small` */
    int64_t mask;
    struct gh_setentry small[GH_SET_MINSIZE];
};

/* Empties s back to its smalltable (CPython's set_clear_internal): the
 * entries move to *d first, so nothing reachable from s is released while
 * s still shows them. */
static void set_detach_lock_held(struct gh_set *s, struct detached *d)
{
#if defined(GH_FL_SYNC_NONE)
    /* Taken by exchange, as a resize takes it (freed once). */
    struct gh_setentry *table = gh_atomic_exchange_seqcst_tp(&s->table, &s->smalltable[0]);
    if (!table) /* the set was freed (zeroed) */
        table = s->smalltable;
#else
    struct gh_setentry *table = s->table;
#endif
    if (table != s->smalltable) {
        d->table = table;
        d->mask = (int64_t)mask_of(s, table);
    } else {
        memcpy(d->small, s->smalltable, sizeof d->small);
        d->table = d->small;
        d->mask = GH_SET_MINSIZE - 1;
    }
    memset(s->smalltable, 0, sizeof s->smalltable);
    s->table = s->smalltable;
    s->mask = GH_SET_MINSIZE - 1;
    s->fill = 0;
    s->finger = 0;
    gh_atomic_store_relaxed_i64(&s->used, 0);
}

static void detached_release(struct detached *d)
{
    for (int64_t j = 0; j <= d->mask; j++)
        if (entry_active(&d->table[j]))
            gh_decref(d->table[j].key);
    if (d->table != d->small)
        TABLE_FREE(d->table, d->mask);
}

/* For the cyclic collector: drop every key, keep a valid empty set. */
static void set_tp_clear(gh_object *self)
{
    struct detached d;
    set_detach_lock_held(set_of(self), &d);
    detached_release(&d);
}

/* set.__sizeof__: the object, plus the table when it is not inline. */
static size_t set_sizeof(gh_object *self)
{
    struct gh_set *s = set_of(self);
    size_t n = sizeof(struct gh_set);
    struct gh_setentry *table = s->table;
    if (table != s->smalltable)
        n += table_bytes((int64_t)mask_of(s, table));
    return n;
}

/* Every key of a is in b (the caller has checked the lengths are equal). */
static bool set_subset_lock_held(struct gh_set *a, struct gh_set *b)
{
    struct gh_setentry *table = a->table;
#if defined(GH_FL_SYNC_NONE)
    if (NONE_TABLE_GONE(table))
        return false;
#endif
    int64_t mask = (int64_t)mask_of(a, table);
    for (int64_t j = 0; j <= mask; j++) {
        struct gh_setentry *e = &table[j];
        if (entry_active(e) && !set_lookup_lock_held(b, e->key, e->hash))
            return false;
    }
    return true;
}

/* set == set, in one two-object critical section (CPython 3.13t locks both
 * operands of a set comparison). tp_equal has no thread-state argument, so
 * the calling thread's is looked up. Keys are hashable, so comparing them
 * takes no further set lock. */
static bool set_equal(gh_object *a, gh_object *b)
{
    struct gh_tstate *ts = gh_tstate_get();
    struct gh_set *x = set_of(a), *y = set_of(b);
    bool eq;
    if (!gh_recursion_enter())
        return false;
    GH_BEGIN_CS2(ts, a, b)
    eq = x->used == y->used && set_subset_lock_held(x, y);
    GH_END_CS2(ts)
    gh_recursion_leave();
    return eq;
}

/* Mixes one entry hash (the splitmix64 finalizer): spreads every input bit
 * over the word, so the commutative combinations below do not cancel
 * patterns (nested frozensets, consecutive ints). */
static uint64_t hash_mix(uint64_t h)
{
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

/* hash(frozenset): order-independent, as CPython's, but NOT CPython's
 * function (which xors shuffled bits of every slot, unused ones included,
 * and corrects for them): the sum and the xor of the mixed entry hashes,
 * both commutative, combined with the length. Equal frozensets have the
 * same entries' hashes whatever their insertion order, hence the same
 * hash. Cached; racing threads store the same value (relaxed: the value
 * publishes nothing else). */
static uint64_t frozenset_hash(gh_object *self)
{
    struct gh_set *s = set_of(self);
    uint64_t h = gh_atomic_load_relaxed_u64(&s->hash);
    if (h != GH_SET_HASH_UNSET)
        return h;
    uint64_t sum = 0, x = 0;
    for (int64_t j = 0; j <= s->mask; j++) {
        if (entry_active(&s->table[j])) {
            uint64_t m = hash_mix(s->table[j].hash);
            sum += m;
            x ^= m;
        }
    }
    h = hash_mix(sum ^ hash_mix(x + (uint64_t)s->used * UINT64_C(0x9e3779b97f4a7c15)));
    if (h == GH_SET_HASH_UNSET)
        h = UINT64_C(590923713); /* keep the sentinel free */
    gh_atomic_store_relaxed_u64(&s->hash, h);
    return h;
}

/* frozenset == frozenset: immutable, no lock; two cached hashes that differ
 * settle it early (as CPython's set_richcompare). */
static bool frozenset_equal(gh_object *a, gh_object *b)
{
    struct gh_set *x = set_of(a), *y = set_of(b);
    if (x->used != y->used)
        return false;
    uint64_t hx = gh_atomic_load_relaxed_u64(&x->hash), hy = gh_atomic_load_relaxed_u64(&y->hash);
    if (hx != GH_SET_HASH_UNSET && hy != GH_SET_HASH_UNSET && hx != hy)
        return false;
    if (!gh_recursion_enter())
        return false;
    bool eq = set_subset_lock_held(x, y);
    gh_recursion_leave();
    return eq;
}

const struct gh_type GH_FL(gh_set_type) = {
    .tp_name = "set",
    .kind = GH_KIND_SET,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_set,
    .tp_basicsize = sizeof(struct gh_set),
    .tp_dealloc = set_dealloc,
    .tp_traverse = set_traverse,
    .tp_clear = set_tp_clear,
    .tp_hash = NULL, /* unhashable: gh_hash_checked refuses the kind */
    .tp_equal = set_equal,
    .tp_sizeof = set_sizeof,
    .tp_weaklistoffset = offsetof(struct gh_set, weakreflist),
};

const struct gh_type GH_FL(gh_frozenset_type) = {
    .tp_name = "frozenset",
    .kind = GH_KIND_FROZENSET,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_set, /* never locked: immutable */
    .tp_basicsize = sizeof(struct gh_set),
    .tp_dealloc = set_dealloc,
    .tp_traverse = set_traverse,
    .tp_clear = set_tp_clear,
    .tp_hash = frozenset_hash,
    .tp_equal = frozenset_equal,
    .tp_sizeof = set_sizeof,
    .tp_weaklistoffset = offsetof(struct gh_set, weakreflist),
};

/* ---- set operations --------------------------------------------------------- */

static gh_object *set_alloc(const struct gh_type *tp)
{
    gh_object *o = gh_object_alloc(tp, sizeof(struct gh_set));
    struct gh_set *s = set_of(o);
    s->fill = 0;
    s->used = 0;
    s->mask = GH_SET_MINSIZE - 1;
    s->table = s->smalltable;
    s->hash = GH_SET_HASH_UNSET;
    s->finger = 0;
    memset(s->smalltable, 0, sizeof s->smalltable);
    s->weakreflist = NULL;
    gh_gc_track(o); /* sets and frozensets are always tracked, as in CPython */
    return o;
}

gh_object *GH_FL(gh_set_new)(void) { return set_alloc(&gh_set_type); }

int GH_FL(gh_set_add)(struct gh_tstate *ts, struct gh_set *s, gh_object *key)
{
    uint64_t hash;
    if (!gh_hash_checked(key, &hash))
        return GH_EUNHASHABLE;
    gh_object *dup;
    GH_BEGIN_CS(ts, &s->ob)
    dup = set_insert_lock_held(s, key, hash);
    GH_END_CS(ts)
    if (dup) {
        gh_decref(dup);
        return 0;
    }
    return 1;
}

int GH_FL(gh_set_discard)(struct gh_tstate *ts, struct gh_set *s, gh_object *key)
{
    uint64_t hash;
    if (!gh_hash_checked(key, &hash))
        return GH_EUNHASHABLE;
    gh_object *old = NULL;
    GH_BEGIN_CS(ts, &s->ob)
    struct gh_setentry *e = set_lookup_lock_held(s, key, hash);
#if defined(GH_FL_SYNC_NONE)
    /* The key taken with an exchange, so two racing discards of one key
     * do not both release it (seq_cst, pairing with nothing: the
     * exchange's atomicity picks one taker; the other reads a dummy). */
    if (e) {
        old = gh_atomic_exchange_seqcst_tp(&e->key, DUMMY);
        if (old == DUMMY || !old) {
            gh_hazard_note(GH_HAZARD_TORN_READ, "set");
            old = NULL;
        } else {
            e->hash = 0;
            gh_atomic_store_relaxed_i64(&s->used, s->used - 1);
        }
    }
#else
    if (e) {
        old = e->key;
        e->key = DUMMY;
        e->hash = 0;
        gh_atomic_store_relaxed_i64(&s->used, s->used - 1);
    }
#endif
    GH_END_CS(ts)
    if (!old)
        return 0;
    gh_decref(old);
    return 1;
}

int GH_FL(gh_set_contains)(struct gh_tstate *ts, struct gh_set *s, gh_object *key)
{
    uint64_t hash;
    if (!gh_hash_checked(key, &hash))
        return GH_EUNHASHABLE;
    bool found;
    GH_BEGIN_CS(ts, &s->ob)
    found = set_lookup_lock_held(s, key, hash) != NULL;
    GH_END_CS(ts)
    return found;
}

gh_object *GH_FL(gh_set_pop)(struct gh_tstate *ts, struct gh_set *s)
{
    gh_object *key = NULL;
    GH_BEGIN_CS(ts, &s->ob)
    if (s->used > 0) {
        /* At least one active entry exists, so the scan ends. */
        struct gh_setentry *table = s->table;
#if defined(GH_FL_SYNC_NONE)
        if (NONE_TABLE_GONE(table))
            table = s->smalltable; /* reads empty: nothing popped */
#endif
        int64_t mask = (int64_t)mask_of(s, table);
        int64_t j = s->finger & mask;
#if defined(GH_FL_SYNC_NONE)
        /* sync=none: `used` may count entries racing threads took. */
        int64_t left = mask + 1;
        while (left-- > 0 && !entry_active(&table[j]))
            j = (j + 1) & mask;
        key = left >= 0 ? gh_atomic_exchange_seqcst_tp(&table[j].key, DUMMY) : NULL;
        if (key == DUMMY || !key) {
            /* Seq_cst, pairing with nothing: the exchange picks one taker
             * among racing pops. */
            gh_hazard_note(GH_HAZARD_TORN_READ, "set");
            key = NULL;
        } else {
#else
        while (!entry_active(&table[j]))
            j = (j + 1) & mask;
        key = table[j].key;
        table[j].key = DUMMY;
        {
#endif
            table[j].hash = 0;
            gh_atomic_store_relaxed_i64(&s->used, s->used - 1);
            s->finger = j + 1;
        }
    }
    GH_END_CS(ts)
    return key;
}

void GH_FL(gh_set_clear)(struct gh_tstate *ts, struct gh_set *s)
{
    struct detached d;
    GH_BEGIN_CS(ts, &s->ob)
    set_detach_lock_held(s, &d);
    GH_END_CS(ts)
    detached_release(&d);
}

/* ---- frozenset -------------------------------------------------------------- */

gh_object *GH_FL(gh_frozenset_new)(gh_object *const *items, int64_t n)
{
    /* Refuse before taking anything, so a failure consumes nothing. The
     * hashes are computed again below; building is not a hot path. */
    for (int64_t i = 0; i < n; i++) {
        uint64_t h;
        if (!gh_hash_checked(items[i], &h))
            return NULL;
    }
    gh_object *o = set_alloc(&gh_frozenset_type);
    struct gh_set *s = set_of(o);
    /* Not yet shared: the insertions need no lock. Growth follows set.add
     * one key at a time, as frozenset(iterable) does in CPython. */
    for (int64_t i = 0; i < n; i++) {
        gh_object *dup = set_insert_lock_held(s, items[i], gh_hash(items[i]));
        if (dup)
            gh_decref(dup);
    }
    return o;
}

int GH_FL(gh_frozenset_contains)(struct gh_set *fs, gh_object *key)
{
    gh_assert_debug(fs->ob.ob_type->kind == GH_KIND_FROZENSET);
    uint64_t hash;
    if (!gh_hash_checked(key, &hash))
        return GH_EUNHASHABLE;
    return set_lookup_lock_held(fs, key, hash) != NULL;
}
