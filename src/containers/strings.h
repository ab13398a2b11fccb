/* strings.h - str (ASCII only, with interning), bytes, bytearray and float.
 * Included by containers.h only; strings_static.c includes the first part,
 * the process-wide storage, on its own. Sizes and behaviour:
 * docs/objects.md.
 *
 * __sizeof__ (CPython 3.12, 64-bit; each object allocated with exactly
 * that many bytes; the full layout adds 16 in front, '' is 57):
 *
 *   str        40 + length + 1 (NUL)                  ''  -> 41, 'abc'  -> 44
 *   bytes      24 + ob_shash 8 + n + 1                b'' -> 33, b'abc' -> 36
 *   bytearray  56 + ob_alloc                          bytearray() -> 56
 *   float      16 + double 8                          24
 *
 * Shared fields and their protection (str, bytes and float are never
 * locked; every other field is written before the object is published):
 *   str.hash, bytes.ob_shash   GH_HASH_UNSET until first hashed; then any
 *                   thread may store the value with a relaxed store and
 *                   readers load it relaxed. Every thread computes the same
 *                   value from immutable bytes, so a race stores the same
 *                   word twice and publishes nothing else: no ordering.
 *   str.state       interned bits: written under the interned table's
 *                   protection (the GIL, or gh_intern_table.mutex) with
 *                   relaxed stores; read relaxed anywhere (is_interned).
 *   gh_intern_table every field: the GIL (sync=gil) or its own mutex
 *                   (sync=objlock, lock class `intern`); `used` is also read
 *                   relaxed, as a statistic, by gh_str_interned_count.
 *   bytearray.ob_size, ob_alloc  written under the bytearray's critical
 *                   section (lock class `bytearray`) with relaxed stores;
 *                   read relaxed by __sizeof__ (no lock).
 *   bytearray.ob_bytes and the bytes it points to: its critical section.
 *
 * Layer: containers.
 */
#ifndef GH_CONTAINERS_STRINGS_H
#define GH_CONTAINERS_STRINGS_H
#if !defined(GH_CONTAINERS_CONTAINERS_H_BODY) && !defined(GH_BUILD_STRINGS_STATIC)
#error "include containers/containers.h"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/mutex.h"     // gh_mutex, the interned table's lock
#include "object/object.h"

/* ---- process-wide storage (strings_static.c) ------------------------------ */

/* The interned-string table: one for the process, shared by every thread
 * (CPython keeps one per interpreter). A hash set of str objects keyed by
 * their contents: open addressing with linear probing from a Fibonacci hash
 * of the str hash, at most half full, doubled when it would not be;
 * deletion shifts the following entries back (no tombstones).
 *
 * The table's reference to a mortal interned string is not counted (as in
 * CPython): that string's dealloc removes it. Immortal ones stay until
 * gh_strings_fini frees them. */
struct gh_intern_table {
    gh_mutex mutex;       /* sync=objlock: guards every field below; unused
                             under the GIL, which guards them instead */
    uint8_t log2_size;    /* capacity = 1 << log2_size; 0 while slots is NULL */
    int64_t used;         /* strings in the table; relaxed stores (reads
                             without the lock are statistics) */
    gh_object **slots;    /* NULL (empty) or an interned str */
};
extern struct gh_intern_table gh_intern_table;

GH_INLINE int64_t gh_str_interned_count(void)
{
    return gh_atomic_load_relaxed_i64(&gh_intern_table.used);
}

/* ---- hashing --------------------------------------------------------------- */

/* Not computed yet (CPython's -1). A computed hash equal to it is stored as
 * GH_HASH_UNSET - 1 (CPython maps -1 to -2). */
#define GH_HASH_UNSET UINT64_MAX

/* 64-bit FNV-1a of n bytes: the hash of str and bytes, so equal contents
 * hash equally across the two types (as CPython's hash('abc') ==
 * hash(b'abc')). CPython uses SipHash-1-3 with a key randomised per process
 * (PYTHONHASHSEED); the model's hash is unkeyed and deterministic. */
GH_INLINE uint64_t gh_hash_fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h == GH_HASH_UNSET ? GH_HASH_UNSET - 1 : h;
}

/* The hash of n bytes at p, cached in *cache (GH_HASH_UNSET until first
 * computed), for the immutable str and bytes. Relaxed: every thread that
 * races here stores the same value, and it publishes nothing else. */
GH_INLINE uint64_t gh_cached_hash(uint64_t *cache, const void *p, size_t n)
{
    uint64_t h = gh_atomic_load_relaxed_u64(cache);
    if (h == GH_HASH_UNSET) {
        h = gh_hash_fnv1a(p, n);
        gh_atomic_store_relaxed_u64(cache, h);
    }
    return h;
}

/* ---- str ------------------------------------------------------------------- */

/* state, CPython's PyASCIIObject.state bit-field:
 *
 *     bit:  31 ...... 7    6       5      4 .. 2    1 .. 0
 *          [  unused   | ascii | compact |  kind  | interned ]
 *
 * kind is always 1 (PyUnicode_1BYTE_KIND), compact and ascii always set:
 * the model has only compact ASCII strings. interned:
 *
 *   from               to                 by
 *   NOT_INTERNED    -> INTERNED_MORTAL    sys.intern (gil, intern_immortal off)
 *   NOT_INTERNED    -> INTERNED_IMMORTAL  a constant (immortal on), or any
 *                                         interning with intern_immortal on
 *   INTERNED_MORTAL -> INTERNED_IMMORTAL  a constant of the same text (the
 *                                         existing string is immortalised)
 *   INTERNED_MORTAL -> (freed)            its dealloc, which first removes it
 *                                         from the table
 *   INTERNED_IMMORTAL -> (freed)          gh_strings_fini only
 *   INTERNED_MORTAL -> NOT_INTERNED       gh_strings_fini, for a string still
 *                                         alive (leaked) when the table goes
 */
#define GH_SSTATE_NOT_INTERNED      0u
#define GH_SSTATE_INTERNED_MORTAL   1u
#define GH_SSTATE_INTERNED_IMMORTAL 2u
#define GH_SSTATE_INTERNED_MASK     3u
#define GH_SSTATE_KIND_1BYTE        (1u << 2)
#define GH_SSTATE_COMPACT           (1u << 5)
#define GH_SSTATE_ASCII             (1u << 6)

struct gh_str {
    gh_object ob;
    int64_t length;   /* characters (= bytes: ASCII); immutable */
    uint64_t hash;    /* GH_HASH_UNSET until hashed; see the file comment */
    uint32_t state;   /* GH_SSTATE_*; interned bits as above */
    uint32_t pad_;    /* CPython's struct padding */
    char data[];      /* length characters and a NUL */
};
_Static_assert(sizeof(struct gh_str) == 40, "PyASCIIObject is 40 bytes");

/* ---- bytes ----------------------------------------------------------------- */

struct gh_bytes {
    gh_object ob;
    int64_t ob_size;  /* bytes; immutable */
    uint64_t ob_shash; /* GH_HASH_UNSET until hashed; see the file comment */
    char ob_sval[];   /* ob_size bytes and a NUL */
};
_Static_assert(sizeof(struct gh_bytes) == 32, "PyBytesObject is 32 bytes + ob_sval");

/* ---- bytearray ------------------------------------------------------------- */

/* CPython's PyByteArrayObject: VAR_HEAD 24 + ob_alloc + ob_bytes + ob_start
 * + ob_exports (4, padded) = 56. The model never deletes from the front, so
 * ob_start is always ob_bytes, and it has no buffer exports. */
struct gh_bytearray {
    gh_object ob;
    int64_t ob_size;     /* bytes in use */
    int64_t ob_alloc;    /* bytes allocated (ob_size + 1 <= ob_alloc), 0 with
                            no buffer */
    char *ob_bytes;      /* NULL, or ob_alloc bytes from gh_alloc; NUL at
                            ob_bytes[ob_size] */
    char *ob_start;      /* == ob_bytes */
    int32_t ob_exports;  /* always 0 */
    int32_t pad_;
};
_Static_assert(sizeof(struct gh_bytearray) == 56, "PyByteArrayObject is 56 bytes");

/* ---- float ----------------------------------------------------------------- */

struct gh_float {
    gh_object ob;
    double ob_fval;      /* immutable */
};
_Static_assert(sizeof(struct gh_float) == 24, "PyFloatObject is 24 bytes");

#if defined(GH_CONTAINERS_CONTAINERS_H_BODY)
/* ---- the flavoured part ---------------------------------------------------- */

extern const struct gh_type GH_FL(gh_str_type);
extern const struct gh_type GH_FL(gh_bytes_type);
extern const struct gh_type GH_FL(gh_bytearray_type);
extern const struct gh_type GH_FL(gh_float_type);

/* The interned table's life: init once per run before any thread starts
 * (the table must be empty); fini after every thread has ended and the
 * run's objects are dropped: frees the table and every immortal interned
 * string (the model's runtime finalization). */
void GH_FL(gh_strings_init)(void);
void GH_FL(gh_strings_fini)(void);

#define GH_AS_STR(o) ((struct gh_str *)(void *)(o))
#define GH_AS_BYTES(o) ((struct gh_bytes *)(void *)(o))
#define GH_AS_BYTEARRAY(o) ((struct gh_bytearray *)(void *)(o))

/* -- str -- */

GH_INLINE bool gh_str_check(gh_object *o) { return o->ob_type->kind == GH_KIND_STR; }
GH_INLINE const char *gh_str_data(gh_object *s) { return GH_AS_STR(s)->data; }
GH_INLINE int64_t gh_str_len(gh_object *s) { return GH_AS_STR(s)->length; }

GH_INLINE unsigned gh_str_interned_state(gh_object *s)
{
    return gh_atomic_load_relaxed_u32(&GH_AS_STR(s)->state) & GH_SSTATE_INTERNED_MASK;
}
GH_INLINE bool gh_str_is_interned(gh_object *s)
{
    return gh_str_interned_state(s) != GH_SSTATE_NOT_INTERNED;
}

/* A new runtime string of n ASCII bytes (not interned), or NULL when a
 * byte is >= 0x80: the model refuses non-ASCII text. */
gh_object *GH_FL(gh_str_new)(const char *s, size_t n);
/* a + b and s * n: new runtime strings (borrowing their arguments). str is
 * immutable: `s += t` binds s to a new object and the old one is
 * unchanged. n <= 0 gives ''. */
gh_object *GH_FL(gh_str_concat)(gh_object *a, gh_object *b);
gh_object *GH_FL(gh_str_repeat)(gh_object *s, int64_t n);
/* A string constant as the compiler makes it: interned, and immortal when
 * gh_model.immortal or gh_model.intern_immortal (CPython's
 * _PyUnicode_InternImmortal for code constants). A new reference; NULL for
 * non-ASCII text. */
gh_object *GH_FL(gh_str_const)(const char *s);
/* sys.intern(s): steals s, returns a new reference to the canonical
 * interned string of that text (s itself if none existed). The string is
 * mortal (its table entry is not counted) unless gh_model.intern_immortal,
 * as in 3.12+ GIL builds; immortal with intern_immortal (free-threaded). */
gh_object *GH_FL(gh_str_intern)(gh_object *s);

/* -- bytes -- */

GH_INLINE const char *gh_bytes_data(gh_object *b) { return GH_AS_BYTES(b)->ob_sval; }
GH_INLINE int64_t gh_bytes_len(gh_object *b) { return GH_AS_BYTES(b)->ob_size; }

/* bytes(p[0..n)): a new object. */
gh_object *GH_FL(gh_bytes_new)(const void *p, size_t n);
/* a + b: a new object (borrows its arguments). */
gh_object *GH_FL(gh_bytes_concat)(gh_object *a, gh_object *b);

/* -- bytearray -- */

/* bytearray(p[0..n)): allocated as CPython's constructor does (exactly
 * n + 1 bytes, no buffer for n == 0). */
gh_object *GH_FL(gh_bytearray_new)(const void *p, size_t n);
/* CPython's PyByteArray_Resize to newsize (see bytes.fl.c for the rule).
 * In the bytearray's critical section. */
GH_NOINLINE void GH_FL(gh_bytearray_resize_slow)(struct gh_bytearray *ba, int64_t newsize);

GH_INLINE void gh_bytearray_append_lock_held(struct gh_bytearray *ba, uint8_t byte)
{
    int64_t n = ba->ob_size;
    /* Room for the byte and the NUL: PyByteArray_Resize's quick exit. */
    if (GH_UNLIKELY(n + 2 > ba->ob_alloc))
        gh_bytearray_resize_slow(ba, n + 1);
    ba->ob_bytes[n] = (char)byte;
    ba->ob_bytes[n + 1] = '\0';
    gh_atomic_store_relaxed_i64(&ba->ob_size, n + 1);
}

/* ba.append(byte) */
GH_INLINE void gh_bytearray_append(struct gh_tstate *ts, gh_object *ba, uint8_t byte)
{
    GH_BEGIN_CS(ts, ba)
    gh_bytearray_append_lock_held(GH_AS_BYTEARRAY(ba), byte);
    GH_END_CS(ts)
}

GH_INLINE int64_t gh_bytearray_len(struct gh_tstate *ts, gh_object *ba)
{
    int64_t n;
    GH_BEGIN_CS(ts, ba)
    n = GH_AS_BYTEARRAY(ba)->ob_size;
    GH_END_CS(ts)
    return n;
}

/* ba[i] (i < 0 counts from the end): 0..255, or -1 when out of range. */
GH_INLINE int gh_bytearray_get(struct gh_tstate *ts, gh_object *ba, int64_t i)
{
    int v = -1;
    GH_BEGIN_CS(ts, ba)
    struct gh_bytearray *b = GH_AS_BYTEARRAY(ba);
    if (i < 0)
        i += b->ob_size;
    if (i >= 0 && i < b->ob_size)
        v = (unsigned char)b->ob_bytes[i];
    GH_END_CS(ts)
    return v;
}

/* ba += other / ba.extend(other), in place (the same object grows). other
 * (borrowed) is a bytes or a bytearray, possibly ba itself (both are locked
 * in one two-object section). False, with nothing changed, for any other
 * kind (TypeError). */
bool GH_FL(gh_bytearray_extend)(struct gh_tstate *ts, gh_object *ba, gh_object *other);
/* Copies up to cap bytes of ba into out (in its critical section) and
 * returns its length. */
int64_t GH_FL(gh_bytearray_read)(struct gh_tstate *ts, gh_object *ba, char *out, size_t cap);

/* -- float -- */

GH_INLINE double gh_float_value(gh_object *f) { return ((struct gh_float *)(void *)f)->ob_fval; }

gh_object *GH_FL(gh_float_new)(double v);

#endif /* GH_CONTAINERS_CONTAINERS_H_BODY */
#endif
