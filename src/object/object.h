/* object.h - the object header, the type object, and the model's layout.
 *
 * One struct, two layouts (BRIEF §3; CPython's Include/object.h):
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
 * The object pointer always points at ob_refcnt, so generic code reads the
 * count and the type at the same offsets in both layouts; what a layout adds
 * sits at negative offsets (the 16-byte prefix), as CPython places PyGC_Head
 * before the object. The fields are the free-threaded build's, in another
 * order; the sizes are the same, which is what cache behaviour depends on.
 *
 * Field ownership (which strategy uses a field, and what protects it):
 *   ob_refcnt   rc=plain: plain loads/stores, protected by the GIL (unsafe
 *               without one). rc=atomic: atomic RMW, no lock. High bit set
 *               means immortal (GH_IMMORTAL_REFCNT), never written again.
 *   ob_type     written once at allocation, before the object is published;
 *               read-only afterwards.
 *   ob_tid      (full) owner thread for rc=biased (later issue); 0 otherwise.
 *   ob_mutex    (full) sync=objlock: the object's lock (base/mutex.h).
 *   ob_gc_bits  (full) collector state (later issue).
 *   ob_ref_local(full) rc=biased's owner count (later issue).
 *   gc_next/prev(compact, GC types) collector list links (later issue).
 *
 * Layer: object (includes base only).
 */
#ifndef GH_OBJECT_OBJECT_H
#define GH_OBJECT_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/lockstat.h" // enum gh_lock_class
#include "base/mutex.h"    // gh_mutex, the full layout's ob_mutex

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
    GH_KIND_INT,
    GH_KIND_LIST,
    GH_KIND_DICT,
    GH_KIND_INSTANCE,
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
    /* Hash and equality for dict keys; NULL means identity. */
    uint64_t (*tp_hash)(gh_object *self);
    bool (*tp_equal)(gh_object *a, gh_object *b);
};

GH_INLINE bool gh_is_gc(const gh_object *o) { return o->ob_type->flags & GH_TPFLAG_GC; }

/* ---- the model's process-wide configuration -------------------------- */

/* Chosen once per run, before any object exists, and never changed while
 * objects are alive. Read without synchronisation after the threads start
 * (thread creation orders the writes before them). */
struct gh_model {
    bool full_header; /* the 32-byte layout for every object */
    bool immortal;    /* immortal=on: small ints and singletons skip counting */
};
extern struct gh_model gh_model;

/* Bytes in front of an object of type tp under the current layout. */
GH_INLINE size_t gh_prefix_size(const struct gh_type *tp)
{
    if (gh_model.full_header)
        return sizeof(struct gh_obprefix);
    return (tp->flags & GH_TPFLAG_GC) ? sizeof(struct gh_gchead) : 0;
}

#endif
