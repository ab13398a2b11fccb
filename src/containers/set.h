/* set.h - set and frozenset (included by containers.h only), CPython
 * 3.12's setobject.c. The probe, the resize rule and the frozenset hash:
 * docs/objects.md ("set and frozenset").
 *
 * An entry of the open-addressing table ({key, hash}; 8 inline in the
 * object, the smalltable, until the first resize) is
 *     unused   key == NULL
 *     dummy    key == the file's dummy marker (a deleted key; probes pass
 *              over it)
 *     active   any other key (a counted reference).
 *
 * Invariants (struct gh_set):
 *     used = #active,  fill = #active + #dummy,  mask + 1 = table size (a
 *     power of two, >= 8),  fill * 5 < mask * 3 after every operation (so an
 *     unused slot always ends a probe),  table == smalltable <=> mask == 7.
 *
 * Protection: a set's fields and entries are protected by its critical
 * section (lock class `set`): add, discard, contains, pop and clear each
 * run in one. `used` is also read without it by gh_set_len (relaxed load;
 * stores to it are relaxed too). A key's hash is computed before the
 * section, and references an operation removes are released after it.
 * A frozenset is built by gh_frozenset_new before anyone else sees it and
 * never locked; its hash is cached on first use with a relaxed store
 * (racing threads store the same value). `weakreflist` (both types) is
 * protected by the weak-reference lists' lock (containers/model.h).
 *
 * Layer: containers.
 */
#ifndef GH_CONTAINERS_SET_H
#define GH_CONTAINERS_SET_H
#ifndef GH_CONTAINERS_CONTAINERS_H_BODY
#error "include containers/containers.h"
#endif

#define GH_SET_MINSIZE 8 /* PySet_MINSIZE: the smalltable's entries */

struct gh_setentry {
    gh_object *key;
    uint64_t hash; /* the key's hash, cached (undefined for unused/dummy) */
};

/* CPython's PySetObject, field for field (200 bytes). */
struct gh_set {
    gh_object ob;
    int64_t fill;                 /* active + dummy entries */
    int64_t used;                 /* active entries; relaxed atomic */
    int64_t mask;                 /* table size - 1 */
    struct gh_setentry *table;    /* smalltable, or gh_alloc'ed */
    uint64_t hash;                /* frozenset: cached hash, or
                                     GH_SET_HASH_UNSET; set: unused */
    int64_t finger;               /* where pop() looks first */
    struct gh_setentry smalltable[GH_SET_MINSIZE];
    gh_object *weakreflist;       /* head of the weak references, or NULL */
};
_Static_assert(sizeof(struct gh_set) == 200, "PySetObject is 200 bytes");

#define GH_SET_HASH_UNSET UINT64_MAX /* CPython: -1 */

extern const struct gh_type GH_FL(gh_set_type);
extern const struct gh_type GH_FL(gh_frozenset_type);

/* Grows (or rebuilds, dropping dummies) the table to the smallest power of
 * two above minused. In the set's critical section, or on a frozenset still
 * being built. */
GH_NOINLINE void GH_FL(gh_set_resize_slow)(struct gh_set *s, int64_t minused);

/* len(s) for a set or a frozenset: one relaxed load, no lock. */
GH_INLINE int64_t gh_set_len(struct gh_set *s) { return gh_atomic_load_relaxed_i64(&s->used); }

/* ---- set ------------------------------------------------------------------ */

/* set(): new, empty. */
gh_object *GH_FL(gh_set_new)(void);
/* s.add(key). Steals key. 1: added; 0: an equal key was present (the set
 * keeps its own and key is released); GH_EUNHASHABLE: key is unhashable and
 * was NOT consumed (the caller still owns it). */
GH_MUST_CHECK int GH_FL(gh_set_add)(struct gh_tstate *ts, struct gh_set *s, gh_object *key);
/* s.discard(key). Borrows key. 1: removed; 0: absent; GH_EUNHASHABLE. */
int GH_FL(gh_set_discard)(struct gh_tstate *ts, struct gh_set *s, gh_object *key);
/* key in s. Borrows key. 1, 0, or GH_EUNHASHABLE. */
int GH_FL(gh_set_contains)(struct gh_tstate *ts, struct gh_set *s, gh_object *key);
/* s.pop(): an arbitrary key (its reference moves to the caller), or NULL
 * when s is empty (CPython's KeyError). */
gh_object *GH_FL(gh_set_pop)(struct gh_tstate *ts, struct gh_set *s);
/* s.clear(): back to an empty smalltable; the keys are released after the
 * critical section, the old table freed. */
void GH_FL(gh_set_clear)(struct gh_tstate *ts, struct gh_set *s);

/* ---- frozenset ------------------------------------------------------------ */

/* frozenset(items[0..n)): steals the n references (equal duplicates after
 * the first are released). NULL when an item is unhashable, in which case
 * nothing was consumed. n == 0 gives a new empty frozenset (CPython 3.12
 * has no empty-frozenset singleton). */
gh_object *GH_FL(gh_frozenset_new)(gh_object *const *items, int64_t n);
/* key in fs. Borrows key. 1, 0, or GH_EUNHASHABLE. No lock. */
int GH_FL(gh_frozenset_contains)(struct gh_set *fs, gh_object *key);

GH_INLINE int64_t gh_frozenset_len(struct gh_set *fs) { return gh_set_len(fs); }

#endif
