/* object.h - the object header, the type object, and the model's layout.
 *
 * One struct, two layouts (CPython's Include/object.h):
 *
 *   compact (the GIL build, 16 bytes):
 *                      [ gc_next | gc_prev ]   only for GC types (PyGC_Head)
 *       object ->      [ ob_refcnt         ]  8
 *                      [ ob_type           ]  8
 *
 *   full (the free-threaded build, 32 bytes, every type):
 *                      [ ob_tid                               ]  8
 *                      [ ob_flags | ob_mutex | ob_gc_bits | ob_ref_local ] 2+1+1+4
 *       object ->      [ ob_refcnt  (ob_ref_shared for rc=biased)]  8
 *                      [ ob_type                              ]  8
 *
 * The object pointer always points at ob_refcnt: the count and the type
 * are at the same offsets in both layouts, and what a layout adds sits in
 * the 16-byte prefix at negative offsets (as PyGC_Head does). The fields
 * are the free-threaded build's, with the same sizes, in another order.
 *
 * Field ownership (which strategy uses a field, and what protects it):
 *   ob_refcnt   rc=plain: plain loads/stores, protected by the GIL (unsafe
 *               without one). rc=atomic: atomic RMW, no lock. rc=locked:
 *               load and store under ob_mutex (rc/locked.h). High bit set
 *               means immortal (GH_IMMORTAL_REFCNT), never written again.
 *   ob_type     written once at allocation, before the object is published;
 *               read-only afterwards.
 *   ob_tid      (full) owner thread for rc=biased (rc/brc.h): written by the
 *               owner (merge) or with the world stopped; 0 otherwise.
 *   ob_mutex    (full) sync=objlock: the object's lock (base/mutex.h)
 *               with lock=pymutex, a gh_tatas (base/spinlock.h) with
 *               lock=tatas, unused with lock=pthread and lock=ticket,
 *               whose locks live in a side table (base/oblock.h);
 *               gh_ob_lock names it. rc=locked takes that lock for every
 *               count update too.
 *   ob_flags    (full) bit 0: the checked mode's DYING claim (seq_cst RMW);
 *               bit 1: DEFERRED, deferred=on (rc/rc.h): set while the
 *               object is private to its creator, cleared only with the
 *               world stopped (relaxed RMW; read relaxed by anyone);
 *               bit 2: SHARED, a list or dict of the lock-free-read
 *               flavour that a thread other than its owner has read or
 *               resized (CPython's _PyGC_BITS_SHARED): set once, under
 *               the container's critical section (release RMW), never
 *               cleared; read with an acquire load (gh_ob_is_shared);
 *               bits 4-15: rc=locked's pins (relaxed RMW, rc/pins.h).
 *
 *                 15            4 3   2      1        0
 *                +---------------+---+------+--------+-------+
 *                | locked's pins | 0 |SHARED|DEFERRED| DYING |
 *                +---------------+---+------+--------+-------+
 *   ob_gc_bits  (full) the collector's bits (object/gctrack.h: TRACKED,
 *               FINALIZED, UNREACHABLE, FROZEN, ALIVE).
 *   ob_ref_local(full) rc=biased's owner count (rc/brc.h): the owner's
 *               relaxed stores; others read it only in a merge.
 *   gc_next/prev(compact, GC types) generation-list links and the
 *               collector's gc_refs (object/gctrack.h); the GIL.
 *
 * Layer: object (includes base only).
 */
#ifndef GH_OBJECT_OBJECT_H
#define GH_OBJECT_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/atomic.h"   // gh_has_weakrefs
#include "base/compiler.h"
#include "base/lockstat.h" // enum gh_lock_class
#include "base/mutex.h"    // gh_mutex, the full layout's ob_mutex
#include "base/oblock.h"   // gh_oblock, the object's lock under sync=objlock
#include "base/tstate.h"   // gh_recursion_enter

struct gh_type;

typedef struct gh_object {
    uint64_t ob_refcnt;
    const struct gh_type *ob_type;
} gh_object;

/* The full layout's prefix, just below the object. */
struct gh_obprefix {
    uintptr_t ob_tid;
    uint16_t ob_flags;
    gh_mutex ob_mutex;
    uint8_t ob_gc_bits;
    uint32_t ob_ref_local;
};

/* The compact layout's collector links, just below a GC object. */
struct gh_gchead {
    uintptr_t gc_next;
    uintptr_t gc_prev;
};

_Static_assert(sizeof(gh_object) == 16, "compact header is 16 bytes");
_Static_assert(sizeof(struct gh_obprefix) == 16, "full header is 16 + 16 bytes");
_Static_assert(sizeof(struct gh_gchead) == 16, "PyGC_Head is 16 bytes");

GH_INLINE struct gh_obprefix *gh_prefix(gh_object *o)
{
    return (struct gh_obprefix *)(void *)o - 1;
}

/* The object's lock under sync=objlock (base/oblock.h): the ob_mutex byte
 * of its full header (lock=pymutex, lock=tatas) or its stripe of the side
 * table (lock=pthread, lock=ticket). */
GH_INLINE gh_oblock *gh_ob_lock(gh_object *o)
{
    if (GH_LIKELY(gh_oblock_in_header()))
        return (gh_oblock *)(void *)&gh_prefix(o)->ob_mutex;
    return gh_oblock_stripe_of(o);
}

/* An immortal object's count: the sign bit set (testing it is one
 * instruction), and the initial value far from both ends, so a count that
 * drifts by a few (a racing unsafe strategy) stays immortal. Increments and
 * decrements test the bit and skip the write (PEP 683). */
#define GH_IMMORTAL_BIT    (UINT64_C(1) << 63)
#define GH_IMMORTAL_REFCNT (UINT64_C(3) << 62)

GH_INLINE bool gh_refcnt_is_immortal(uint64_t rc) { return (int64_t)rc < 0; }

/* ---- types ----------------------------------------------------------- */

enum gh_kind {
    GH_KIND_NONE,
    GH_KIND_BOOL,
    GH_KIND_INT,
    GH_KIND_FLOAT,
    GH_KIND_STR,
    GH_KIND_BYTES,
    GH_KIND_BYTEARRAY,
    GH_KIND_TUPLE,
    GH_KIND_LIST,
    GH_KIND_DICT,
    GH_KIND_SET,
    GH_KIND_FROZENSET,
    GH_KIND_OBJECT,          /* a bare object(): no attributes */
    GH_KIND_CLASS,           /* a user class */
    GH_KIND_INSTANCE,        /* an instance of a user class (inline attributes) */
    GH_KIND_FUNCTION,        /* a function with default values */
    GH_KIND_WEAKREF,
    GH_KIND_WEAKVALUEDICT,
    GH_KIND_SLOTS,           /* an instance of a class with __slots__: the
                                values inline, no attributes block, not
                                weak-referenceable */
    GH_KIND_LOCK,            /* threading.Lock (containers/lock.h) */
    GH_KIND_FREED,           /* the checked mode's poison (gh_freed_type) */
    GH_KIND_COUNT
};

typedef void (*gh_visitproc)(gh_object *referent, void *arg);

#define GH_TPFLAG_GC (1u << 0) /* may hold references: a container */

/* A type. The type objects of a strategy flavour are defined by the
 * flavour's own build of containers/ (their dealloc slots decrement with
 * that flavour's reference counting), so generic code identifies a type by
 * `kind`, never by address. */
struct gh_type {
    const char *tp_name;
    enum gh_kind kind;
    unsigned flags;                  /* GH_TPFLAG_* */
    enum gh_lock_class lock_class;   /* which counters its ob_mutex feeds */
    size_t tp_basicsize;             /* CPython's struct size, without the
                                        layout prefix; getsizeof's base */
    /* Releases what the object references and frees its memory; called
     * once, when the count has reached zero. */
    void (*tp_dealloc)(gh_object *self);
    /* Calls visit on every object self references (strong references). */
    void (*tp_traverse)(gh_object *self, gh_visitproc visit, void *arg);
    /* Drops every reference self holds, leaving it valid and empty (how the
     * cyclic collector breaks a cycle). NULL for types that hold none. */
    void (*tp_clear)(gh_object *self);
    /* Hash and equality for dict keys; NULL means identity. tp_equal is
     * called only for two objects of the same kind. */
    uint64_t (*tp_hash)(gh_object *self);
    bool (*tp_equal)(gh_object *a, gh_object *b);
    /* CPython's __sizeof__: the object's own bytes without the GC head or
     * the layout prefix (list: the struct plus its item array); NULL means
     * tp_basicsize. sys.getsizeof adds the prefix (gh_getsizeof). */
    size_t (*tp_sizeof)(gh_object *self);
    /* Offset of the `gh_object *` field heading the object's list of weak
     * references (CPython's tp_weaklistoffset); 0: not weak-referenceable. */
    size_t tp_weaklistoffset;
};

/* hash and == recurse through nested tuples, lists and frozensets. Past
 * this depth they give up instead of overflowing the C stack, where CPython
 * raises RecursionError at its C recursion limit: hash reports the object
 * unhashable, == reports false. */
#define GH_C_RECURSION_LIMIT 2000

GH_INLINE bool gh_recursion_enter(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    if (ts->c_recursion >= GH_C_RECURSION_LIMIT)
        return false;
    ts->c_recursion++;
    return true;
}

GH_INLINE void gh_recursion_leave(void) { gh_tstate_get()->c_recursion--; }

/* Python's == for two objects: identity, or the type's tp_equal for two
 * objects of the same kind (the model does not compare across kinds, so
 * 1 == 1.0 is false here; docs/objects.md). */
GH_INLINE bool gh_equal(gh_object *a, gh_object *b)
{
    return a == b || (a->ob_type->kind == b->ob_type->kind && a->ob_type->tp_equal &&
                      a->ob_type->tp_equal(a, b));
}

/* hash(o): the type's tp_hash, or the identity hash (the address rotated,
 * as object.__hash__). */
GH_INLINE uint64_t gh_hash(gh_object *o)
{
    if (o->ob_type->tp_hash)
        return o->ob_type->tp_hash(o);
    uintptr_t a = (uintptr_t)o;
    return (uint64_t)((a >> 4) | (a << (8 * sizeof a - 4)));
}

/* The head of o's weak-reference list, or NULL if its type has none.
 * The head is written only with the weak-reference lists' lock held (or
 * under the GIL), with release stores; a dying object's dealloc tests it
 * without the lock (gh_has_weakrefs). */
GH_INLINE gh_object **gh_weaklist_ptr(gh_object *o)
{
    size_t off = o->ob_type->tp_weaklistoffset;
    return off ? (gh_object **)(void *)((char *)o + off) : NULL;
}

/* Whether a dying object (count zero: no new weak reference can be made to
 * it) still has weak references to clear. Acquire: pairs with the release
 * store of the last unlink (model.fl.c), so a NULL seen here orders that
 * thread's last write to the object before our free. */
GH_INLINE bool gh_has_weakrefs(gh_object *o)
{
    gh_object **head = gh_weaklist_ptr(o);
    return head && gh_atomic_load_acquire_tp(head) != NULL;
}

GH_INLINE bool gh_is_gc(const gh_object *o) { return o->ob_type->flags & GH_TPFLAG_GC; }

/* ---- the model's process-wide configuration -------------------------- */

/* Chosen once per run, before any object exists, and never changed while
 * objects are alive. Read without synchronisation after the threads start
 * (thread creation orders the writes before them). */
struct gh_model {
    bool full_header;     /* the 32-byte layout for every object */
    bool immortal;        /* immortal=on: small ints and singletons skip counting */
    bool intern_immortal; /* every interned string is immortal (the
                             free-threaded build); else only constants are
                             and sys.intern()'d strings stay mortal (3.12+) */
    bool biased;          /* rc=biased: new objects are owned (rc/brc.h) */
    bool checked;         /* the checked mode: freed objects are poisoned
                             and quarantined, uses of them are hazards */
    bool deferred;        /* deferred=on: classes, functions and module-level
                             objects are counted deferred (rc/rc.h); needs
                             the full header */
    bool deferred_immortal; /* deferred=immortal: classes and functions are
                             made immortal once a second thread runs
                             (scenario/worker.fl.c, 3.13t's stop-gap) */
    bool loads_counted;   /* loads=counted: an op on a named container
                             counts the load of the name (3.13's LOAD_FAST,
                             LOAD_GLOBAL; scenario/worker.fl.c) */
};
extern struct gh_model gh_model;

/* ---- the checked mode ----------------------------------------------------
 *
 * A freed object is poisoned instead of released: its type becomes
 * gh_freed_type (kind GH_KIND_FREED), its count an immortal-looking value
 * (so a stray increment or decrement writes nothing and never frees it
 * again) that remembers the kind it had, and its memory waits in the
 * freeing thread's quarantine (a FIFO of GH_QUARANTINE_BYTES) before it is
 * really freed. An operation that meets a poisoned object counts a
 * use-after-free hazard and gives up; a deallocation of one counts a
 * double free. Item arrays a container drops go through the same
 * quarantine (gh_checked_free), so a racing reader reads stale but mapped
 * memory. */
extern const struct gh_type gh_freed_type;
#define GH_QUARANTINE_BYTES ((size_t)64 << 20)
#define GH_POISON_REFCNT(kind) (GH_IMMORTAL_REFCNT | ((uint64_t)(kind) << 8) | 0xdeu)
/* ob_flags: a deallocation has started (the checked mode's claim). */
#define GH_OBFLAG_DYING 1u
/* ob_flags: deferred reference counting (deferred=on, rc/rc.h): frame
 * references to the object are not counted, its count carries
 * GH_DEFERRED_BIAS, and only the collector frees it. */
#define GH_OBFLAG_DEFERRED 2u
/* ob_flags: a container a lock-free reader that is not its owner may be
 * reading (see the field comment above; containers/containers.h). */
#define GH_OBFLAG_SHARED 4u
/* What a deferred object's count carries on top of its counted references
 * (free-threaded CPython's _Py_REF_DEFERRED): so large that decrements of
 * counted references never take it to zero, far below the immortal bit. */
#define GH_DEFERRED_BIAS (UINT64_C(1) << 40)

/* Whether o is counted deferred. Only under deferred=on (full header):
 * the compact layout has no ob_flags. Relaxed: the bit is set before o is
 * published and cleared only with the world stopped. */
GH_INLINE bool gh_is_deferred(gh_object *o)
{
    return GH_UNLIKELY(gh_model.deferred) &&
           (gh_atomic_load_relaxed_u16(&gh_prefix(o)->ob_flags) & GH_OBFLAG_DEFERRED);
}

/* Whether o is marked shared (full header only). Acquire: pairs with the
 * release OR in gh_ob_set_shared, so a reader that sees the mark also sees
 * every item array and table installed under the container's lock before
 * the mark was set (those freed at once are no longer reachable from it). */
GH_INLINE bool gh_ob_is_shared(gh_object *o)
{
    return gh_atomic_load_acquire_u16(&gh_prefix(o)->ob_flags) & GH_OBFLAG_SHARED;
}

/* Marks o shared; under o's critical section. */
GH_INLINE void gh_ob_set_shared(gh_object *o)
{
    /* Release: pairs with the acquire load in gh_ob_is_shared. */
    gh_atomic_or_release_u16(&gh_prefix(o)->ob_flags, GH_OBFLAG_SHARED);
}

GH_INLINE bool gh_is_freed(const gh_object *o) { return o->ob_type == &gh_freed_type; }
/* A kind's name ("list", "instance"; "?" out of range): a static string,
 * unlike a heap type's tp_name, which dies with its class (hazard examples
 * outlive the objects). */
const char *gh_kind_name(enum gh_kind kind);
/* The name of the kind a poisoned object had ("list"). */
const char *gh_freed_kind_name(const gh_object *o);
/* The checked mode, before a deallocation: false when o is already freed
 * or another thread is deallocating it (a double free, counted). */
GH_NOINLINE bool gh_dealloc_claim(gh_object *o);
/* An object that a finalizer resurrected is alive again. */
void gh_object_revive(gh_object *o);
/* Frees a block that is not an object (an item array): into the
 * quarantine in the checked mode. */
void gh_checked_free(void *p, size_t size);
/* gh_checked_free after a QSBR grace period when the calling thread is
 * online (base/qsbr.h): for item arrays and dict tables that lock-free
 * readers may still be reading. */
void gh_free_after_readers(void *p, size_t size);
/* Really frees what this thread's quarantine holds (before its heap is
 * detached). */
void gh_quarantine_flush(void);

/* A statically allocated object's counts (the singletons, the empty
 * tuple): immortal under immortal=on, else one reference the runtime holds.
 * rc=biased marks immortality in ob_ref_local (UINT32_MAX; rc/brc.h), its
 * objects are unowned (ob_tid 0) and their shared count starts at 1 << 2.
 * The prefix must be zeroed first. */
GH_INLINE void gh_static_counts_init(gh_object *o)
{
    if (gh_model.biased) {
        if (gh_model.immortal) {
            ((struct gh_obprefix *)(void *)o - 1)->ob_ref_local = UINT32_MAX;
            o->ob_refcnt = GH_IMMORTAL_REFCNT;
        } else {
            o->ob_refcnt = (uint64_t)1 << 2 | 3; /* count 1, MERGED */
        }
        return;
    }
    o->ob_refcnt = gh_model.immortal ? GH_IMMORTAL_REFCNT : 1;
}

/* A frame's reference (a local slot, the evaluation-stack slot): a
 * pointer whose low bit says the reference is not counted (objects are
 * 16-byte aligned; CPython's Py_TAG_DEFERRED):
 *
 *      63                                        1      0
 *     +-------------------------------------------+-----+
 *     |  object address (16-byte aligned)         | DEF |
 *     +-------------------------------------------+-----+
 *      DEF 1: the object is deferred, nothing was counted, closing counts
 *             nothing
 *          0: an ordinary counted reference (or 0: no reference)
 *
 * Whoever reads a frame slot untags it (gh_stackref_obj). The collector
 * visits only the tagged ones (gh_gc_set_roots): the counted ones are in
 * the counts already. */
typedef uintptr_t gh_stackref;
#define GH_STACKREF_DEFERRED ((uintptr_t)1)

GH_INLINE gh_object *gh_stackref_obj(gh_stackref r)
{
    return (gh_object *)(r & ~GH_STACKREF_DEFERRED);
}

GH_INLINE bool gh_stackref_is_deferred(gh_stackref r) { return r & GH_STACKREF_DEFERRED; }

/* Bytes in front of an object of type tp under the current layout. */
GH_INLINE size_t gh_prefix_size(const struct gh_type *tp)
{
    if (gh_model.full_header)
        return sizeof(struct gh_obprefix);
    return (tp->flags & GH_TPFLAG_GC) ? sizeof(struct gh_gchead) : 0;
}

/* sys.getsizeof: __sizeof__ plus what the layout puts in front (the GC head
 * of a container in the compact layout, the 16 extra header bytes of the
 * full one), so [] is 56 and 0 is 28 under the GIL layout, object() 32 and
 * 0 is 44 under the free-threaded one (CPython 3.12 / 3.13t, 64-bit). */
GH_INLINE size_t gh_getsizeof(gh_object *o)
{
    const struct gh_type *tp = o->ob_type;
    return gh_prefix_size(tp) + (tp->tp_sizeof ? tp->tp_sizeof(o) : tp->tp_basicsize);
}

/* Collector state bits, in whichever field the layout keeps them: the low
 * bits of gc_prev (compact; CPython's _PyGC_PREV_MASK_FINALIZED) or
 * ob_gc_bits (full; _PyGC_BITS_FINALIZED). Only GC types have them in the
 * compact layout. Written by the thread that owns the object's last
 * reference or under its critical section. */
#define GH_GCBIT_FINALIZED 1u /* tp_finalize (__del__) has run: never again */

GH_INLINE unsigned gh_gc_bits(gh_object *o)
{
    if (gh_model.full_header)
        return gh_prefix(o)->ob_gc_bits;
    return (unsigned)(((struct gh_gchead *)(void *)o - 1)->gc_prev & 3u);
}

GH_INLINE void gh_gc_bits_set(gh_object *o, unsigned bits)
{
    if (gh_model.full_header)
        gh_prefix(o)->ob_gc_bits |= (uint8_t)bits;
    else
        ((struct gh_gchead *)(void *)o - 1)->gc_prev |= bits & 3u;
}

#endif
