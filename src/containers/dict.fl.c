/* dict.fl.c - the dict type for one flavour.
 *
 * CPython's compact, insertion-ordered dict (Objects/dictobject.c): a
 * power-of-two index table of int32 slots (EMPTY, DUMMY or an entry number)
 * probed with the perturbation sequence i = 5*i + perturb + 1, and a dense
 * array of entries {hash, key, value} in insertion order. The table is at
 * most 2/3 full (USABLE_FRACTION); when the entries run out it is rebuilt
 * for used*3 (GROWTH_RATE), which also drops deleted entries. CPython picks
 * 1-, 2-, 4- or 8-byte index slots by table size; this model always uses 4
 * (documented in docs/architecture.md).
 */
#include "containers/containers.h"

#include <string.h>

#define DKIX_EMPTY (-1)
#define DKIX_DUMMY (-2)
#define DICT_MINSIZE 8

struct gh_dictentry {
    uint64_t hash;
    gh_object *key;   /* NULL: deleted */
    gh_object *value;
};

struct gh_dictkeys {
    uint8_t log2_size;
    int64_t usable;     /* entries that may still be appended */
    int64_t nentries;   /* entries used, deleted ones included */
    int32_t indices[];  /* 1 << log2_size slots, then the entries */
};

static size_t keys_bytes(uint8_t log2)
{
    int64_t size = (int64_t)1 << log2;
    int64_t usable = (size << 1) / 3;
    return sizeof(struct gh_dictkeys) + (size_t)size * sizeof(int32_t) +
           (size_t)usable * sizeof(struct gh_dictentry);
}

static struct gh_dictentry *entries_of(struct gh_dictkeys *k)
{
    return (struct gh_dictentry *)(void *)&k->indices[(int64_t)1 << k->log2_size];
}

static struct gh_dictkeys *keys_new(uint8_t log2)
{
    struct gh_dictkeys *k = gh_alloc(keys_bytes(log2));
    int64_t size = (int64_t)1 << log2;
    k->log2_size = log2;
    k->usable = (size << 1) / 3;
    k->nentries = 0;
    memset(k->indices, 0xff, (size_t)size * sizeof(int32_t)); /* all DKIX_EMPTY */
    return k;
}

/* shared: the dict is marked shared (the lock-free-read flavour), so a
 * lock-free reader that is not its owner may still probe this table: after
 * a grace period (CPython's free_keys_object(keys, use_qsbr)). */
static void keys_free(struct gh_dictkeys *k, bool shared)
{
    if (shared)
        gh_free_after_readers(k, keys_bytes(k->log2_size));
    else
        gh_checked_free(k, keys_bytes(k->log2_size));
}

/* Writes to what lock-free readers read (the lock-free-read flavour; plain
 * stores elsewhere). Writers read these fields plainly: every write is
 * under the dict's critical section. */
#if defined(GH_FL_LOCKFREE_READS)
/* Release: the entry (hash, key, value) before the index that reaches it;
 * pairs with the reader's acquire load in lookup_lockfree. */
#define SET_INDEX(k, i, v) gh_atomic_store_release_i32(&(k)->indices[i], (int32_t)(v))
/* Release: the object's contents before the pointer; pairs with the
 * reader's acquire loads of the entry's key and value (dict_get_lockfree,
 * lockfree_keys_equal). */
#define SET_PTR(field, v) gh_atomic_store_release_tp(&(field), (v))
/* Release: a new table's entries and indices before the table; pairs with
 * the reader's acquire load of d->keys. */
#define SET_KEYS(d, v) gh_atomic_store_release_tp(&(d)->keys, (v))
#else
#define SET_INDEX(k, i, v) ((k)->indices[i] = (int32_t)(v))
#define SET_PTR(field, v) ((field) = (v))
#define SET_KEYS(d, v) ((d)->keys = (v))
#endif

#define keys_equal gh_equal

#if defined(GH_FL_SYNC_NONE)
/* sync=none (the checked mode is always on): nothing orders one thread's
 * table against another's, so every loop here is bounded by the table in
 * hand and every entry number checked against it. A table is read through
 * one pointer and its log2_size read once: a racing resize may free it
 * meanwhile (the checked mode zeroes it and keeps the block in its
 * quarantine), and a zeroed table reads log2_size 0 (a live one has at
 * least 3: DICT_MINSIZE), indices 0 (an entry number, not EMPTY: an
 * unbounded probe of it never ends) and NULL keys. None of this is
 * compiled into the other flavours. */
#define NONE_LOG2_OK(log2) ((log2) >= 3 && (log2) <= 40)
GH_INLINE int64_t entries_cap(uint8_t log2)
{
    return NONE_LOG2_OK(log2) ? (((int64_t)1 << log2) << 1) / 3 : 0;
}
#define NO_SLOT SIZE_MAX
#endif

/* The entry number of key, or -1; *slot receives the index slot where the
 * probe ended (the key's slot, or the first empty one). */
static int64_t lookup(struct gh_dictkeys *k, gh_object *key, uint64_t hash, size_t *slot)
{
#if defined(GH_FL_SYNC_NONE)
    uint8_t log2 = k->log2_size;
    if (GH_UNLIKELY(!NONE_LOG2_OK(log2))) {
        /* A table another thread's resize freed (zeroed). */
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, "dict");
        *slot = NO_SLOT;
        return -1;
    }
    size_t mask = ((size_t)1 << log2) - 1;
    int64_t cap = entries_cap(log2);
    struct gh_dictentry *ep = (struct gh_dictentry *)(void *)&k->indices[mask + 1];
#else
    size_t mask = ((size_t)1 << k->log2_size) - 1;
    struct gh_dictentry *ep = entries_of(k);
#endif
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
#if defined(GH_FL_SYNC_NONE)
    for (size_t probes = 0; probes <= mask; probes++) {
#else
    for (;;) {
#endif
        int32_t ix = k->indices[i];
        if (ix == DKIX_EMPTY) {
            *slot = i;
            return -1;
        }
#if defined(GH_FL_SYNC_NONE)
        if (GH_UNLIKELY(ix >= cap || ix < DKIX_DUMMY)) {
            /* An index past the entries: torn by a racing write. */
            gh_hazard_note(GH_HAZARD_TORN_READ, "dict");
            *slot = NO_SLOT;
            return -1;
        }
        if (ix >= 0) {
            /* The key read once (relaxed, pairing with nothing: racing
             * writers order nothing); what it points to may be freed,
             * which gh_equal's type test meets as the freed type. */
            gh_object *ek = gh_atomic_load_relaxed_tp(&ep[ix].key);
            if (GH_UNLIKELY(!ek || !ep[ix].value || (ek == key && ep[ix].hash != hash))) {
                /* An entry without its key or value (a racing insert or
                 * delete half done), or the key with another key's hash
                 * (two racing inserts wrote the same entry): torn. */
                gh_hazard_note(GH_HAZARD_TORN_READ, "dict");
                *slot = NO_SLOT;
                return -1;
            }
            if (ep[ix].hash == hash && keys_equal(ek, key)) {
                *slot = i;
                return ix;
            }
        }
#else
        if (ix >= 0 && ep[ix].hash == hash && keys_equal(ep[ix].key, key)) {
            *slot = i;
            return ix;
        }
#endif
        perturb >>= 5;
        i = (i * 5 + (size_t)perturb + 1) & mask;
    }
#if defined(GH_FL_SYNC_NONE)
    /* Every slot probed and none empty: racing inserts filled the table
     * past its two thirds (or a freed one was zeroed under the probe). */
    gh_hazard_note(GH_HAZARD_TORN_READ, "dict");
    *slot = NO_SLOT;
    return -1;
#endif
}

/* The first empty index slot of hash's probe; sync=none: NO_SLOT when
 * the table in hand has none (or was freed). */
static size_t find_empty_slot(struct gh_dictkeys *k, uint64_t hash)
{
#if defined(GH_FL_SYNC_NONE)
    uint8_t log2 = k->log2_size;
    if (!NONE_LOG2_OK(log2))
        return NO_SLOT;
    size_t mask = ((size_t)1 << log2) - 1;
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
    for (size_t probes = 0; probes <= mask; probes++) {
        if (k->indices[i] == DKIX_EMPTY)
            return i;
        perturb >>= 5;
        i = (i * 5 + (size_t)perturb + 1) & mask;
    }
    return NO_SLOT;
#else
    size_t mask = ((size_t)1 << k->log2_size) - 1;
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
    while (k->indices[i] != DKIX_EMPTY) {
        perturb >>= 5;
        i = (i * 5 + (size_t)perturb + 1) & mask;
    }
    return i;
#endif
}

/* The entries a walk may read: nentries, under sync=none no more than the
 * table in hand holds (0 for a freed one). */
GH_INLINE int64_t keys_nentries(const struct gh_dictkeys *k)
{
#if defined(GH_FL_SYNC_NONE)
    uint8_t log2 = k->log2_size;
    int64_t n = k->nentries, cap = entries_cap(log2);
    return n < 0 ? 0 : n > cap ? cap : n;
#else
    return k->nentries;
#endif
}

/* Rebuilds the table for at least `minsize` live entries. */
GH_NOINLINE static void dict_resize_slow(struct gh_dict *d, int64_t minsize)
{
#if defined(GH_FL_SYNC_NONE)
    /* minsize comes from a count other threads race on. */
    if (minsize > ((int64_t)1 << 30))
        minsize = (int64_t)1 << 30;
#endif
    uint8_t log2 = 3;
    while (((int64_t)1 << log2) < minsize)
        log2++;
    struct gh_dictkeys *nk = keys_new(log2);
    struct gh_dictkeys *ok = d->keys;
    if (ok) {
        struct gh_dictentry *src = entries_of(ok), *dst = entries_of(nk);
        int64_t n = 0, nold = keys_nentries(ok);
        for (int64_t j = 0; j < nold; j++) {
            if (!src[j].key)
                continue;
#if defined(GH_FL_SYNC_NONE)
            /* More live entries than the count the size came from (racing
             * inserts lost its updates): those left out are lost, and
             * the length invariant counts them. */
            if (n == nk->usable)
                break;
#endif
            dst[n] = src[j];
            nk->indices[find_empty_slot(nk, src[j].hash)] = (int32_t)n;
            n++;
        }
        nk->nentries = n;
        nk->usable -= n;
    }
#if defined(GH_FL_SYNC_NONE)
    /* Two threads may resize at once: each table is freed by the one
     * thread whose exchange took it out of the dict, so never twice (as
     * gh_list_resize_slow's arrays). The exchange that installs a table
     * pairs with the one that takes it out, so the installer's writes to
     * it happen before its free. Seq_cst is more than that needs. */
    ok = gh_atomic_exchange_seqcst_tp(&d->keys, nk);
#else
    SET_KEYS(d, nk);
#endif
#if defined(GH_FL_LOCKFREE_READS)
    /* A resize by a thread that is not the owner marks the dict shared
     * (CPython's ensure_shared_on_resize): the owner reads it lock-free
     * without looking at the mark. */
    if (!gh_ob_is_shared(&d->ob) && gh_brc_tid(&d->ob) != gh_brc_me())
        gh_ob_set_shared(&d->ob);
#endif
    if (ok)
        keys_free(ok, gh_container_is_shared(&d->ob));
}

static void dict_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_dict *d = (struct gh_dict *)(void *)self;
    struct gh_dictkeys *k = d->keys;
    if (!k)
        return;
    struct gh_dictentry *ep = entries_of(k);
    int64_t n = keys_nentries(k);
    for (int64_t j = 0; j < n; j++) {
        if (ep[j].key) {
            visit(ep[j].key, arg);
#if defined(GH_FL_SYNC_NONE)
            if (ep[j].value) /* a torn entry */
#endif
            visit(ep[j].value, arg);
        }
    }
}

static void dict_clear(gh_object *self)
{
    struct gh_dict *d = (struct gh_dict *)(void *)self;
#if defined(GH_FL_SYNC_NONE)
    /* By exchange, as a resize: a racing resize of a dict freed early
     * (racing counts) must not free the same table. */
    struct gh_dictkeys *k = gh_atomic_exchange_seqcst_tp(&d->keys, NULL);
#else
    struct gh_dictkeys *k = d->keys;
    SET_KEYS(d, NULL); /* detached first, as list_clear */
#endif
    gh_atomic_store_relaxed_i64(&d->used, 0);
    d->version++;
    if (!k)
        return;
    struct gh_dictentry *ep = entries_of(k);
    int64_t n = keys_nentries(k);
    for (int64_t j = 0; j < n; j++) {
        if (ep[j].key) {
            gh_decref(ep[j].key);
#if defined(GH_FL_SYNC_NONE)
            if (ep[j].value) /* a torn entry */
#endif
            gh_decref(ep[j].value);
        }
    }
    /* At once (dealloc, or the collector's clear of garbage with the world
     * stopped): nobody can reach the dict any more. */
    keys_free(k, false);
}

static void dict_dealloc(gh_object *self)
{
    /* Nobody else can reach a dead dict: no lock. */
    dict_clear(self);
    gh_object_free(self, sizeof(struct gh_dict));
}

/* CPython's dict.__sizeof__: the struct, plus the keys table when the dict
 * owns one (an empty dict shares CPython's immortal empty keys: 64 bytes). */
static size_t dict_sizeof(gh_object *self)
{
    struct gh_dict *d = (struct gh_dict *)(void *)self;
    return sizeof(struct gh_dict) + (d->keys ? keys_bytes(d->keys->log2_size) : 0);
}

const struct gh_type GH_FL(gh_dict_type) = {
    .tp_name = "dict",
    .kind = GH_KIND_DICT,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_dict,
    .tp_basicsize = sizeof(struct gh_dict),
    .tp_dealloc = dict_dealloc,
    .tp_traverse = dict_traverse,
    .tp_clear = dict_clear,
    .tp_sizeof = dict_sizeof,
};

gh_object *GH_FL(gh_dict_new)(void)
{
    gh_object *o = gh_object_alloc(&gh_dict_type, sizeof(struct gh_dict));
    struct gh_dict *d = (struct gh_dict *)(void *)o;
    d->used = 0;
    d->version = 0;
    d->keys = NULL;
    d->values = NULL;
    return o;
}

/* d[key] = value; *added (when not NULL) tells whether the key was new. */
static int dict_set_impl(struct gh_tstate *ts, struct gh_dict *d, gh_object *key,
                         gh_object *value, bool *added)
{
    uint64_t hash;
    if (!gh_hash_checked(key, &hash))
        return GH_EUNHASHABLE;
    gh_object *old_value = NULL, *dup_key = NULL;
    bool is_new = false;
    GH_BEGIN_CS(ts, &d->ob)
    size_t slot;
#if defined(GH_FL_SYNC_NONE)
    /* One table in hand for the whole operation (another thread may
     * install a new one at any point). */
    struct gh_dictkeys *k = d->keys;
    int64_t ix = k ? lookup(k, key, hash, &slot) : -1;
    if (ix >= 0) {
        struct gh_dictentry *e = &entries_of(k)[ix];
        old_value = e->value;
        e->value = value;
        dup_key = key;
    } else if (k && slot == NO_SLOT) {
        /* The probe met a torn or freed table (counted): the insert is
         * not made and its references are dropped. */
        old_value = value;
        dup_key = key;
    } else {
        if (!k || k->usable <= 0 || k->nentries >= entries_cap(k->log2_size))
            dict_resize_slow(d, d->used * 3 > DICT_MINSIZE ? d->used * 3 : DICT_MINSIZE);
        k = d->keys;
        slot = k ? find_empty_slot(k, hash) : NO_SLOT;
        int64_t n = k ? k->nentries : -1;
        if (slot == NO_SLOT || n < 0 || n >= entries_cap(k->log2_size)) {
            /* Racing inserts filled the table in hand, or freed it: the
             * insert is lost (the torn table counted). */
            gh_hazard_note(GH_HAZARD_TORN_READ, "dict");
            old_value = value;
            dup_key = key;
        } else {
            struct gh_dictentry *e = &entries_of(k)[n];
            e->hash = hash;
            e->key = key;
            e->value = value;
            k->indices[slot] = (int32_t)n;
            k->nentries = n + 1;
            k->usable--;
            gh_atomic_store_relaxed_i64(&d->used, d->used + 1);
            is_new = true;
        }
    }
#else
    int64_t ix = d->keys ? lookup(d->keys, key, hash, &slot) : -1;
    if (ix >= 0) {
        struct gh_dictentry *e = &entries_of(d->keys)[ix];
        old_value = e->value;
        SET_PTR(e->value, value);
        dup_key = key; /* the stored key stays, as in CPython */
    } else {
        if (!d->keys || d->keys->usable <= 0)
            dict_resize_slow(d, d->used * 3 > DICT_MINSIZE ? d->used * 3 : DICT_MINSIZE);
        struct gh_dictkeys *k = d->keys;
        slot = find_empty_slot(k, hash);
        int64_t n = k->nentries;
        struct gh_dictentry *e = &entries_of(k)[n];
        e->hash = hash;
        e->key = key;
        e->value = value;
        SET_INDEX(k, slot, n);
        k->nentries = n + 1;
        k->usable--;
        gh_atomic_store_relaxed_i64(&d->used, d->used + 1);
        is_new = true;
    }
#endif
    d->version++;
    /* A dict starts untracked and is tracked once it holds something that
     * could be part of a cycle (CPython <= 3.13's MAINTAIN_TRACKING). */
    if (!gh_gc_is_tracked(&d->ob) && (gh_gc_may_be_tracked(key) || gh_gc_may_be_tracked(value)))
        gh_gc_track(&d->ob);
    GH_END_CS(ts)
    if (old_value)
        gh_decref(old_value);
    if (dup_key)
        gh_decref(dup_key);
    if (added)
        *added = is_new;
    return 0;
}

int GH_FL(gh_dict_set)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key, gh_object *value)
{
    return dict_set_impl(ts, d, key, value, NULL);
}

int GH_FL(gh_dict_set_added)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key,
                             gh_object *value)
{
    bool added = false;
    int rc = dict_set_impl(ts, d, key, value, &added);
    return rc < 0 ? rc : added;
}

/* d[key] under the dict's critical section. */
static gh_object *dict_get_locked(struct gh_tstate *ts, struct gh_dict *d, gh_object *key,
                                  uint64_t hash)
{
    gh_object *v = NULL;
    GH_BEGIN_CS(ts, &d->ob)
    size_t slot;
#if defined(GH_FL_SYNC_NONE)
    /* One table in hand; the value read once (a racing delete may clear
     * it after the probe saw it). */
    struct gh_dictkeys *k = d->keys;
    int64_t ix = k ? lookup(k, key, hash, &slot) : -1;
    if (ix >= 0) {
        v = gh_atomic_load_relaxed_tp(&entries_of(k)[ix].value);
        if (v)
            gh_incref(v);
        else
            gh_hazard_note(GH_HAZARD_TORN_READ, "dict");
    }
#else
    int64_t ix = d->keys ? lookup(d->keys, key, hash, &slot) : -1;
    if (ix >= 0)
        v = gh_newref(entries_of(d->keys)[ix].value);
#endif
#if defined(GH_FL_LOCKFREE_READS)
    /* Read under the lock: marked shared, so other threads read it
     * lock-free from now on (CPython's ensure_shared_on_read). */
    gh_container_mark_shared(&d->ob);
    /* As gh_list_get_locked: a value the lock-free path refused is
     * announced shared, so other threads' next reads succeed. */
    if (v && ts->qsbr_online && gh_brc_tid(v) != gh_brc_me())
        gh_brc_set_maybe_weakref(v);
#endif
    GH_END_CS(ts)
    return v;
}

#if defined(GH_FL_LOCKFREE_READS)
/* Whether the key `found`, read from *src, equals the probe without
 * running anything but a comparison of immutable inline data (str, int,
 * float, bytes). Another kind: the locked path decides (-1). The same
 * pointer needs no read. Otherwise `found` is taken first with a
 * conditional increment and *src read again (CPython's
 * compare_unicode_unicode_threadsafe: _Py_TryIncrefCompare): a key deleted
 * meanwhile may have been freed at once and its block reused for another
 * object of its size class (alloc/alloc.h gh_alloc_type_stable), whose
 * type and data the comparison must not read. Refused, or replaced: -1. */
GH_INLINE int lockfree_keys_equal(gh_object *found, gh_object *key, gh_object *const *src)
{
    if (found == key)
        return 1;
    enum gh_kind kind = key->ob_type->kind;
    if (kind != GH_KIND_STR && kind != GH_KIND_INT && kind != GH_KIND_FLOAT && kind != GH_KIND_BYTES)
        return -1;
    if (!gh_try_incref(found))
        return -1;
    /* Acquire: pairs with SET_PTR of the entry's key (dict_del_impl). */
    if (gh_atomic_load_acquire_tp(src) != found) {
        gh_decref(found);
        return -1;
    }
    /* gh_equal's test, on a key we hold. */
    int eq = found->ob_type->kind == kind && key->ob_type->tp_equal &&
             key->ob_type->tp_equal(found, key);
    gh_decref(found);
    return eq;
}

/* The lock-free lookup (CPython's _Py_dict_lookup_threadsafe): the table
 * and its slots are read with acquire loads, the value taken with a
 * conditional increment, and the entry and the table read again. NULL with
 * *found false: the locked path must decide. */
static gh_object *dict_get_lockfree(struct gh_dict *d, gh_object *key, uint64_t hash, bool *found)
{
    /* Acquire: pairs with SET_KEYS (a new table's contents). */
    struct gh_dictkeys *k = gh_atomic_load_acquire_tp(&d->keys);
    GH_INJECT_AT(QSBR_READ, k); /* the table loaded: its free waits for us */
    if (!k) {
        *found = true; /* empty when the pointer was read */
        return NULL;
    }
    size_t mask = ((size_t)1 << k->log2_size) - 1; /* immutable per table */
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
    struct gh_dictentry *ep = entries_of(k);
    for (size_t probes = 0; probes <= mask; probes++) {
        /* Acquire: pairs with SET_INDEX (the entry it reaches). */
        int32_t ix = gh_atomic_load_acquire_i32(&k->indices[i]);
        if (ix == DKIX_EMPTY) {
            *found = true; /* missing */
            return NULL;
        }
        if (ix >= 0) {
            struct gh_dictentry *e = &ep[ix];
            /* Acquire: pairs with SET_PTR(e->key, NULL) in dict_del_impl;
             * the key's contents came with the index's acquire above. */
            gh_object *ek = gh_atomic_load_acquire_tp(&e->key);
            if (ek && e->hash == hash) {
                int eq = lockfree_keys_equal(ek, key, &e->key);
                if (eq < 0)
                    return NULL;
                if (eq) {
                    /* Acquire: pairs with SET_PTR of the value (dict_set
                     * replacing it): the value's contents. */
                    gh_object *v = gh_atomic_load_acquire_tp(&e->value);
                    if (!v || !gh_try_incref(v))
                        return NULL;
                    /* The re-check: the same value in the same entry of the
                     * same table; else the increment was on a value that
                     * may have left the dict. Acquire loads, pairing with
                     * SET_PTR of the value and SET_KEYS, as above. */
                    if (GH_UNLIKELY(gh_atomic_load_acquire_tp(&e->value) != v ||
                                    gh_atomic_load_acquire_tp(&d->keys) != k)) {
                        gh_decref(v);
                        return NULL;
                    }
                    *found = true;
                    return v;
                }
            }
        }
        perturb >>= 5;
        i = (i * 5 + (size_t)perturb + 1) & mask;
    }
    return NULL; /* no empty slot met: a table changing under us */
}
#endif

gh_object *GH_FL(gh_dict_get)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key)
{
    uint64_t hash;
    if (!gh_hash_checked(key, &hash))
        return NULL;
#if defined(GH_FL_LOCKFREE_READS)
    if (GH_LIKELY(ts->qsbr_online)) {
        /* Neither the owner nor a shared dict: the locked path marks it
         * shared (counted as a fallback). */
        if (GH_LIKELY(gh_container_lockfree_ok(&d->ob))) {
            bool found = false;
            gh_object *v = dict_get_lockfree(d, key, hash, &found);
            if (GH_LIKELY(found))
                return v;
        }
        ts->lockfree_dict_fallbacks++;
    }
#endif
    return dict_get_locked(ts, d, key, hash);
}

static bool dict_del_impl(struct gh_tstate *ts, struct gh_dict *d, gh_object *key,
                          gh_object *expected)
{
    uint64_t hash;
    if (!gh_hash_checked(key, &hash))
        return false;
    gh_object *old_key = NULL, *old_value = NULL;
    GH_BEGIN_CS(ts, &d->ob)
    size_t slot;
#if defined(GH_FL_SYNC_NONE)
    /* One table in hand; the entry's key and value taken with exchanges,
     * so two racing deletes of one key do not both release them (the
     * loser finds NULL: a torn read). Seq_cst, pairing with nothing but
     * each other: the exchanges' atomicity picks one winner. */
    struct gh_dictkeys *k = d->keys;
    int64_t ix = k ? lookup(k, key, hash, &slot) : -1;
    if (ix >= 0 && (!expected || entries_of(k)[ix].value == expected)) {
        struct gh_dictentry *e = &entries_of(k)[ix];
        old_key = gh_atomic_exchange_seqcst_tp(&e->key, NULL);
        old_value = gh_atomic_exchange_seqcst_tp(&e->value, NULL);
        k->indices[slot] = DKIX_DUMMY;
        if (old_key && old_value) {
            gh_atomic_store_relaxed_i64(&d->used, d->used - 1);
        } else {
            gh_hazard_note(GH_HAZARD_TORN_READ, "dict");
            if (old_key)
                gh_decref(old_key); /* sync=none: no section to leave first */
            if (old_value)
                gh_decref(old_value);
            old_key = old_value = NULL;
        }
        d->version++;
    }
#else
    int64_t ix = d->keys ? lookup(d->keys, key, hash, &slot) : -1;
    if (ix >= 0 && (!expected || entries_of(d->keys)[ix].value == expected)) {
        struct gh_dictentry *e = &entries_of(d->keys)[ix];
        old_key = e->key;
        old_value = e->value;
        SET_PTR(e->key, NULL);
        SET_PTR(e->value, NULL);
        SET_INDEX(d->keys, slot, DKIX_DUMMY);
        gh_atomic_store_relaxed_i64(&d->used, d->used - 1);
        d->version++;
    }
#endif
    GH_END_CS(ts)
    if (!old_key)
        return false;
    gh_decref(old_key);
    gh_decref(old_value);
    return true;
}

bool GH_FL(gh_dict_del)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key)
{
    return dict_del_impl(ts, d, key, NULL);
}

bool GH_FL(gh_dict_del_if_is)(struct gh_tstate *ts, struct gh_dict *d, gh_object *key,
                              gh_object *expected)
{
    return dict_del_impl(ts, d, key, expected);
}

/* One step of `for k in d` (CPython's dictiter_iternextkey): the key at or
 * after entry *pos, as a new reference, with *pos moved past it. NULL at
 * the end, or when the dict's size is no longer *used (the size the
 * iteration started with): CPython raises "dictionary changed size during
 * iteration" there, and *changed tells the two apart. The step runs in the
 * dict's critical section; between steps other threads may mutate it. */
gh_object *GH_FL(gh_dict_next_key)(struct gh_tstate *ts, struct gh_dict *d, int64_t used,
                                   int64_t *pos, bool *changed)
{
    gh_object *k = NULL;
    *changed = false;
    GH_BEGIN_CS(ts, &d->ob)
    if (d->used != used) {
        *changed = true;
    } else if (d->keys) {
#if defined(GH_FL_SYNC_NONE)
        /* One table in hand, walked no further than it holds; the key
         * read once (a racing delete may clear it). */
        struct gh_dictkeys *keys = d->keys;
        struct gh_dictentry *e = entries_of(keys);
        int64_t i = *pos < 0 ? 0 : *pos, n = keys_nentries(keys);
        gh_object *ek = NULL;
        while (i < n && !(ek = gh_atomic_load_relaxed_tp(&e[i].key)))
            i++;
        if (ek) {
            k = gh_newref(ek);
            i++;
        }
#else
        struct gh_dictentry *e = entries_of(d->keys);
        int64_t i = *pos;
        while (i < d->keys->nentries && !e[i].key)
            i++;
        if (i < d->keys->nentries) {
            k = gh_newref(e[i].key);
            i++;
        }
#endif
        *pos = i;
    }
    GH_END_CS(ts)
    return k;
}
