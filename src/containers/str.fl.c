/* str.fl.c - the str type and the interned-string table, for one flavour.
 *
 * Strings are CPython's compact ASCII strings (PyASCIIObject followed by
 * the characters and a NUL, one allocation). They are immutable: every
 * operation makes a new object. See docs/objects.md.
 *
 * Interning (Objects/unicodeobject.c, InternalDocs/string_interning.md).
 * One table for the process (strings.h, storage in strings_static.c) maps a
 * text to its canonical str. Three ways in:
 *   gh_str_const   a constant as the compiler makes it: interned, immortal
 *                  when the model has immortality (_PyUnicode_InternImmortal);
 *   gh_str_intern  sys.intern: the string stays mortal (3.12+ GIL builds,
 *                  gh-113993) unless gh_model.intern_immortal (free-threaded
 *                  builds, where every interned string is immortal);
 *   a constant whose text is already interned mortal immortalises that
 *   string (CPython does the same), so identity is kept.
 * The table does not count its reference to a mortal string: when the last
 * counted reference goes, str_dealloc removes the entry (under the table's
 * protection) before freeing. Immortal strings are freed only by
 * gh_strings_fini.
 *
 * Protection: the GIL (sync=gil), or the table's own gh_mutex (sync=objlock,
 * lock class `intern`). The table lock is taken by no code that holds it
 * already and never inside an object critical section (interning is not a
 * container operation, deallocation never runs inside a section); inside it
 * only the allocator's lock may be taken, so the lock order stays
 * object locks -> intern -> allocator.
 *
 * The race free-threaded CPython avoids by immortalising every interned
 * string: without a GIL, thread A finds a mortal interned string in the
 * table and increments its count while thread B, which has just dropped the
 * last counted reference, waits for the table lock in str_dealloc; B then
 * removes and frees the string A now returns. The runner therefore sets
 * intern_immortal under sync=objlock; a mortal interning there fails a
 * debug assertion.
 *
 * The GIL alone does not close the race in one thread: between the count
 * reaching zero and str_dealloc, the dying string waits in the thread's
 * dealloc queue while other deallocations run user code (a __del__, a
 * weak-reference callback) that may intern the same text. A lookup that
 * finds a mortal entry with a zero count therefore treats it as dead: it
 * unlinks it, marks it not interned (so its dealloc skips the table) and
 * interns the text anew (tests/containers/test_strings.fl.c).
 */
#include "containers/containers.h"

#include <string.h>

#define STR_STATE_BASE (GH_SSTATE_KIND_1BYTE | GH_SSTATE_COMPACT | GH_SSTATE_ASCII)
#define INTERN_MIN_LOG2 4 /* 16 slots */

/* ---- objects -------------------------------------------------------------- */

/* The bytes of a string of len characters: what __sizeof__ reports and what
 * is allocated. */
static size_t str_size(int64_t len) { return sizeof(struct gh_str) + (size_t)len + 1; }

/* A new string of len characters, contents not yet written. */
static struct gh_str *str_alloc(int64_t len)
{
    gh_object *o = gh_object_alloc(&gh_str_type, str_size(len));
    struct gh_str *s = GH_AS_STR(o);
    s->length = len;
    s->hash = GH_HASH_UNSET;
    s->state = STR_STATE_BASE;
    s->pad_ = 0;
    s->data[len] = '\0';
    return s;
}

static bool is_ascii(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return false;
    return true;
}

static void str_dealloc(gh_object *self);

static uint64_t str_hash(gh_object *self)
{
    struct gh_str *s = GH_AS_STR(self);
    return gh_cached_hash(&s->hash, s->data, (size_t)s->length);
}

static bool str_equal(gh_object *a, gh_object *b)
{
    struct gh_str *x = GH_AS_STR(a), *y = GH_AS_STR(b);
    return x->length == y->length && memcmp(x->data, y->data, (size_t)x->length) == 0;
}

static size_t str_sizeof(gh_object *self) { return str_size(GH_AS_STR(self)->length); }

const struct gh_type GH_FL(gh_str_type) = {
    .tp_name = "str",
    .kind = GH_KIND_STR,
    .flags = 0,
    .lock_class = GH_LOCK_instance, /* immutable: never locked */
    .tp_basicsize = sizeof(struct gh_str),
    .tp_dealloc = str_dealloc,
    .tp_hash = str_hash,
    .tp_equal = str_equal,
    .tp_sizeof = str_sizeof,
};

/* ---- the interned table (lock held unless said otherwise) ------------------ */

/* Returns the hold's start when it is sampled (base/lockprof.h), else 0. */
static uint64_t table_lock(void)
{
#if defined(GH_FL_NO_GIL)
    /* gh_mutex_lock acquires (pairs with the release in the previous
     * holder's gh_mutex_unlock): the table as it left it is visible. */
    struct gh_tstate *ts = gh_tstate_get();
    gh_mutex_lock(&gh_intern_table.mutex, &ts->locks[GH_LOCK_intern]);
    return gh_hold_begin(ts);
#else
    /* Under the GIL: the caller holds it, which guards the table. */
    return 0;
#endif
}

static void table_unlock(uint64_t h0)
{
#if defined(GH_FL_NO_GIL)
    gh_hold_end(gh_tstate_get(), GH_LOCK_intern, &gh_intern_table.mutex, h0);
    /* Releases (pairs with the next holder's acquire in table_lock). */
    gh_mutex_unlock(&gh_intern_table.mutex);
#else
    (void)h0;
#endif
}

/* The slot a hash starts probing at: Fibonacci hashing (the top log2 bits
 * of h times 2^64/phi), which spreads FNV's weak low bits. */
static size_t table_home(uint64_t h, uint8_t log2)
{
    return (size_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - log2));
}

static size_t table_mask(void) { return ((size_t)1 << gh_intern_table.log2_size) - 1; }

/* The hash of an interned string: set before it entered the table (other
 * threads may store the same value again, hence the relaxed load). */
static uint64_t entry_hash(gh_object *e)
{
    return gh_atomic_load_relaxed_u64(&GH_AS_STR(e)->hash);
}

/* The slot holding the text p[0..n) of hash h, or the empty slot where it
 * would go. The table has slots and at least one is empty. */
static size_t table_probe(const char *p, int64_t n, uint64_t h)
{
    struct gh_intern_table *t = &gh_intern_table;
    size_t mask = table_mask();
    for (size_t i = table_home(h, t->log2_size);; i = (i + 1) & mask) {
        gh_object *e = t->slots[i];
        if (!e)
            return i;
        struct gh_str *s = GH_AS_STR(e);
        if (entry_hash(e) == h && s->length == n && memcmp(s->data, p, (size_t)n) == 0)
            return i;
    }
}

/* Rebuilds the table with 1 << log2 slots. */
GH_NOINLINE static void table_resize_slow(uint8_t log2)
{
    struct gh_intern_table *t = &gh_intern_table;
    size_t ncap = (size_t)1 << log2;
    gh_object **ns = gh_alloc(ncap * sizeof *ns);
    memset(ns, 0, ncap * sizeof *ns);
    if (t->slots) {
        size_t ocap = table_mask() + 1;
        for (size_t j = 0; j < ocap; j++) {
            gh_object *e = t->slots[j];
            if (!e)
                continue;
            size_t i = table_home(entry_hash(e), log2);
            while (ns[i])
                i = (i + 1) & (ncap - 1);
            ns[i] = e;
        }
        gh_free(t->slots, ocap * sizeof *t->slots);
    }
    t->slots = ns;
    t->log2_size = log2;
}

/* Removes the entry of o, which is in the table: backward-shift deletion
 * (Knuth 6.4, Algorithm R), so probes never meet a hole. */
static void table_remove(gh_object *o)
{
    struct gh_intern_table *t = &gh_intern_table;
    size_t mask = table_mask();
    size_t i = table_home(entry_hash(o), t->log2_size);
    while (t->slots[i] != o) {
        gh_assert(t->slots[i] != NULL); /* a mortal interned str is in the table */
        i = (i + 1) & mask;
    }
    /* i is the hole. Move back each following entry whose home is not
     * cyclically in (i, j]: its probe passed through the hole. */
    for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        size_t k = table_home(entry_hash(t->slots[j]), t->log2_size);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    t->slots[i] = NULL;
    gh_atomic_store_relaxed_i64(&t->used, t->used - 1);
}

static void str_set_interned(gh_object *s, unsigned st)
{
    /* Relaxed: readers outside the table's protection only test the bits
     * (strings.h); the table's lock or the GIL orders everything else. */
    gh_atomic_store_relaxed_u32(&GH_AS_STR(s)->state, STR_STATE_BASE | st);
}

static void str_make_immortal(gh_object *s)
{
    gh_rc_make_immortal_live(s);
}

/* Interns the text p[0..n) of hash h and returns a new reference to the
 * canonical string. cand is a string of that text whose reference is
 * stolen, or NULL to make one on a miss. When cand loses to an existing
 * string, *drop receives its reference, to be released after the lock. */
static gh_object *intern_lock_held(const char *p, int64_t n, uint64_t h, gh_object *cand,
                                   bool immortal, gh_object **drop)
{
    struct gh_intern_table *t = &gh_intern_table;
    if (GH_UNLIKELY(!t->slots))
        table_resize_slow(INTERN_MIN_LOG2);
    size_t i = table_probe(p, n, h);
    gh_object *found = t->slots[i];
    /* Mortal interned strings exist only under the GIL (see above), so
     * nothing changes the count while this thread looks at it. */
    if (found && gh_str_interned_state(found) == GH_SSTATE_INTERNED_MORTAL &&
        gh_refcnt(found) == 0) {
        /* A mortal interned string whose count already reached zero: it
         * waits in some thread's dealloc queue (a finalizer running in the
         * same drain can intern its text before its own dealloc runs). It
         * is dead: take it out of the table now, as no longer interned, so
         * its dealloc does not look for it, and intern the text anew. */
        str_set_interned(found, GH_SSTATE_NOT_INTERNED);
        table_remove(found);
        i = table_probe(p, n, h);
        found = NULL;
    }
    if (found) {
        if (immortal && gh_str_interned_state(found) == GH_SSTATE_INTERNED_MORTAL) {
            /* A constant of a text sys.intern()'d before: the existing
             * string becomes immortal, keeping one canonical object. */
            str_make_immortal(found);
            str_set_interned(found, GH_SSTATE_INTERNED_IMMORTAL);
        }
        if (found == cand)
            return cand; /* another thread interned this very object */
        *drop = cand;
        return gh_newref(found);
    }
    if ((size_t)(t->used + 1) * 2 > table_mask() + 1) {
        table_resize_slow((uint8_t)(t->log2_size + 1));
        i = table_probe(p, n, h);
    }
#if defined(GH_FL_RC_BIASED) && !defined(GH_FL_SYNC_GIL)
    /* A string another thread owns cannot be made immortal from here (its
     * owner may be writing its local count): intern a fresh copy. */
    if (cand && immortal && gh_brc_tid(cand) != gh_brc_me()) {
        *drop = cand;
        cand = NULL;
    }
#endif
    if (!cand) {
        struct gh_str *s = str_alloc(n);
        memcpy(s->data, p, (size_t)n);
        s->hash = h;
        cand = &s->ob;
    }
    if (immortal) {
        str_make_immortal(cand);
        str_set_interned(cand, GH_SSTATE_INTERNED_IMMORTAL);
    } else {
#if defined(GH_FL_NO_GIL)
        /* The race in the file comment: mortal interned strings need the
         * GIL. The runner sets gh_model.intern_immortal without one. */
        gh_assert_debug(!"a mortal interned string without the GIL");
#endif
        /* The table's reference is not counted: cand's count stays the
         * caller's one reference (CPython subtracts the dict's two). */
        str_set_interned(cand, GH_SSTATE_INTERNED_MORTAL);
    }
    t->slots[i] = cand;
    gh_atomic_store_relaxed_i64(&t->used, t->used + 1);
    return cand;
}

static void str_dealloc(gh_object *self)
{
    unsigned st = gh_str_interned_state(self);
    gh_assert(st != GH_SSTATE_INTERNED_IMMORTAL); /* freed only by gh_strings_fini */
    if (st == GH_SSTATE_INTERNED_MORTAL) {
        uint64_t h0 = table_lock();
        table_remove(self);
        table_unlock(h0);
    }
    gh_object_free(self, str_size(GH_AS_STR(self)->length));
}

/* ---- the life cycle -------------------------------------------------------- */

void GH_FL(gh_strings_init)(void)
{
    struct gh_intern_table *t = &gh_intern_table;
    gh_assert(t->slots == NULL && t->used == 0); /* the last run's fini ran */
    *t = (struct gh_intern_table){0};
}

void GH_FL(gh_strings_fini)(void)
{
    /* Every other thread has ended: nothing to lock against. */
    struct gh_intern_table *t = &gh_intern_table;
    gh_assert(!gh_mutex_is_locked(&t->mutex));
    if (t->slots) {
        size_t cap = table_mask() + 1;
        for (size_t i = 0; i < cap; i++) {
            gh_object *e = t->slots[i];
            if (!e)
                continue;
            if (gh_str_interned_state(e) == GH_SSTATE_INTERNED_IMMORTAL) {
                gh_object_free(e, str_size(GH_AS_STR(e)->length));
            } else {
                /* A mortal string still referenced (a leak the live-bytes
                 * check reports): its later dealloc must not look for the
                 * table. */
                str_set_interned(e, GH_SSTATE_NOT_INTERNED);
            }
        }
        gh_free(t->slots, cap * sizeof *t->slots);
    }
    *t = (struct gh_intern_table){0};
}

/* ---- operations ------------------------------------------------------------ */

gh_object *GH_FL(gh_str_new)(const char *s, size_t n)
{
    if (!is_ascii(s, n))
        return NULL;
    struct gh_str *r = str_alloc((int64_t)n);
    memcpy(r->data, s, n);
    return &r->ob;
}

gh_object *GH_FL(gh_str_concat)(gh_object *a, gh_object *b)
{
    int64_t na = gh_str_len(a), nb = gh_str_len(b);
    gh_assert(na <= INT64_MAX / 2 - nb); /* CPython: OverflowError */
    struct gh_str *r = str_alloc(na + nb);
    memcpy(r->data, gh_str_data(a), (size_t)na);
    memcpy(r->data + na, gh_str_data(b), (size_t)nb);
    return &r->ob;
}

gh_object *GH_FL(gh_str_repeat)(gh_object *s, int64_t n)
{
    int64_t len = gh_str_len(s);
    if (n <= 0 || len == 0)
        return &str_alloc(0)->ob;
    gh_assert(len <= INT64_MAX / 2 / n); /* CPython: OverflowError */
    int64_t total = len * n;
    struct gh_str *r = str_alloc(total);
    memcpy(r->data, gh_str_data(s), (size_t)len);
    /* Double the copied prefix until full (CPython's _PyBytes_Repeat). */
    for (int64_t done = len; done < total;) {
        int64_t chunk = done <= total - done ? done : total - done;
        memcpy(r->data + done, r->data, (size_t)chunk);
        done += chunk;
    }
    return &r->ob;
}

gh_object *GH_FL(gh_str_const)(const char *s)
{
    size_t n = strlen(s);
    if (!is_ascii(s, n))
        return NULL;
    uint64_t h = gh_hash_fnv1a(s, n);
    gh_object *drop = NULL;
    uint64_t h0 = table_lock();
    gh_object *r = intern_lock_held(s, (int64_t)n, h, NULL,
                                    gh_model.immortal || gh_model.intern_immortal, &drop);
    table_unlock(h0);
    gh_assert(drop == NULL);
    return r;
}

gh_object *GH_FL(gh_str_intern)(gh_object *s)
{
    gh_assert(gh_str_check(s));
    /* Already canonical: the stolen reference is the one returned. */
    if (gh_str_is_interned(s))
        return s;
    uint64_t h = str_hash(s);
    gh_object *drop = NULL;
    uint64_t h0 = table_lock();
    gh_object *r = intern_lock_held(gh_str_data(s), gh_str_len(s), h, s,
                                    gh_model.intern_immortal, &drop);
    table_unlock(h0);
    if (drop)
        gh_decref(drop); /* after the lock: a dealloc never runs under it */
    return r;
}
