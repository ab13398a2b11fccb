/* object.c - allocation of objects in the model's layout. */
#include "object/object_alloc.h"

#include <stdlib.h>
#include <string.h>

#include "base/die.h"
#include "base/qsbr.h"
#include "object/gctrack.h"

struct gh_model gh_model;

gh_object *gh_object_alloc(const struct gh_type *tp, size_t size)
{
    size_t pre = gh_prefix_size(tp);
    bool gc = tp->flags & GH_TPFLAG_GC;
    /* The full layout's collector objects come from the pools the
     * collector walks (alloc/alloc.h gh_alloc_gc). */
    char *mem = gc && gh_model.full_header ? gh_alloc_gc(pre + size) : gh_alloc_obj(pre + size);
    gh_object *o = (gh_object *)(void *)(mem + pre);
    if (gh_model.full_header) {
        /* Field by field, relaxed: under QSBR the block may have held an
         * object of the same size class a moment ago (alloc/alloc.h,
         * gh_alloc_type_stable), and a lock-free reader with a stale
         * pointer to it may be loading these counts and the owner right
         * now (rc/brc.h gh_brc_try_incref; it re-checks its slot after).
         * rc=biased (rc/brc.h, a layer above): owned by the calling
         * thread, local count 1, shared 0. */
        struct gh_obprefix *p = gh_prefix(o);
        bool biased = gh_model.biased;
        gh_atomic_store_relaxed_uptr(&p->ob_tid, biased ? (uintptr_t)gh_tstate_get() : 0);
        gh_atomic_store_relaxed_u16(&p->ob_flags, 0);
        p->ob_mutex = (gh_mutex){0};
        p->ob_gc_bits = 0;
        gh_atomic_store_relaxed_u64(&o->ob_refcnt, biased ? 0 : 1);
        /* Release: pairs with the acquire load in gh_brc_try_incref (a
         * stale reader's slot re-check sees what this thread cleared or
         * replaced before the block came back to it). */
        gh_atomic_store_release_u32(&p->ob_ref_local, biased ? 1 : 0);
    } else {
        memset(mem, 0, pre);
        o->ob_refcnt = 1;
    }
    /* Release: pairs with the acquire load of the type in
     * gh_brc_try_incref. A stale reader that finds this type finds the
     * counts stored above, so it never takes the block's previous,
     * poisoned, immortal-looking count for this object's. */
    gh_atomic_store_release_tp(&o->ob_type, tp);
    if (gc)
        gh_gc_count(+1);
    return o;
}

/* ---- the checked mode -------------------------------------------------------- */

static const char *const kind_names[GH_KIND_COUNT] = {
    "NoneType", "bool", "int", "float", "str", "bytes", "bytearray", "tuple", "list", "dict",
    "set", "frozenset", "object", "type", "instance", "function", "weakref",
    "WeakValueDictionary", "instance (__slots__)", "_thread.lock", "<freed>",
};

static void freed_dealloc(gh_object *self)
{
    (void)self; /* never reached: gh_dealloc_claim refuses poisoned objects */
}

const struct gh_type gh_freed_type = {
    .tp_name = "<freed object>",
    .kind = GH_KIND_FREED,
    .tp_basicsize = sizeof(gh_object),
    .tp_dealloc = freed_dealloc,
};

const char *gh_kind_name(enum gh_kind kind)
{
    return (unsigned)kind < GH_KIND_COUNT ? kind_names[kind] : "?";
}

const char *gh_freed_kind_name(const gh_object *o)
{
    /* The count may have been overwritten by a racing plain increment:
     * check before indexing. */
    uint64_t rc = gh_atomic_load_relaxed_u64(&((gh_object *)(uintptr_t)o)->ob_refcnt);
    unsigned k = (unsigned)(rc >> 8) & 0xffu;
    return (rc & 0xffu) == 0xdeu && k < GH_KIND_COUNT ? kind_names[k] : "?";
}

bool gh_dealloc_claim(gh_object *o)
{
    if (!o->ob_type || !o->ob_type->tp_dealloc) {
        /* Not an object (a stale pointer into reused memory). */
        gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, "?");
        return false;
    }
    if (gh_is_freed(o)) {
        gh_hazard_note(GH_HAZARD_DOUBLE_FREE, gh_freed_kind_name(o));
        return false;
    }
    if (!gh_model.full_header)
        return true; /* the compact header has no flags: the GIL is the claim */
    /* Seq_cst, pairing with nothing: the RMW's atomicity alone picks one
     * claimant among racing deallocations, and the loser needs nothing
     * the winner wrote (it counts a hazard). Relaxed would do; the checked
     * mode only. */
    uint16_t old = gh_atomic_or_seqcst_u16(&gh_prefix(o)->ob_flags, GH_OBFLAG_DYING);
    if (old & GH_OBFLAG_DYING) {
        gh_hazard_note(GH_HAZARD_DOUBLE_FREE, kind_names[o->ob_type->kind < GH_KIND_COUNT
                                                           ? o->ob_type->kind
                                                           : GH_KIND_FREED]);
        return false;
    }
    return true;
}

void gh_object_revive(gh_object *o)
{
    /* Seq_cst as the claim, pairing with nothing: the resurrected object
     * is this thread's. An RMW because other threads may set SHARED or
     * pins in the same word. */
    if (gh_model.checked && gh_model.full_header)
        gh_atomic_and_seqcst_u16(&gh_prefix(o)->ob_flags, (uint16_t)~GH_OBFLAG_DYING);
}

/* A FIFO of freed blocks, per thread, GH_QUARANTINE_BYTES long. */
struct qentry {
    void *p;
    size_t size;
    bool gc; /* from gh_alloc_gc */
};
struct quarantine {
    struct qentry *v;
    size_t cap, head, n; /* ring: entries head .. head+n-1 (mod cap) */
    size_t bytes;
};

static void really_free(const struct qentry *e)
{
    if (e->gc)
        gh_free_gc(e->p, e->size);
    else
        gh_free(e->p, e->size);
}

static void quarantine_put(void *p, size_t size, bool gc)
{
    struct gh_tstate *ts = gh_tstate_get();
    struct quarantine *q = ts->quarantine;
    if (!q) {
        q = calloc(1, sizeof *q);
        gh_assert(q != NULL);
        ts->quarantine = q;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 4096;
        struct qentry *v = malloc(cap * sizeof *v);
        gh_assert(v != NULL);
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->n++) % q->cap] = (struct qentry){p, size, gc};
    q->bytes += size;
    while (q->bytes > GH_QUARANTINE_BYTES) {
        struct qentry *e = &q->v[q->head];
        q->head = (q->head + 1) % q->cap;
        q->n--;
        q->bytes -= e->size;
        really_free(e);
    }
}

void gh_quarantine_flush(void)
{
    struct gh_tstate *ts = gh_tstate_get();
    struct quarantine *q = ts ? ts->quarantine : NULL;
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        really_free(&q->v[(q->head + i) % q->cap]);
    free(q->v);
    free(q);
    ts->quarantine = NULL;
}

void gh_checked_free(void *p, size_t size)
{
    if (gh_model.checked) {
        memset(p, 0, size); /* a stale reader finds empty slots, not old pointers */
        quarantine_put(p, size, false);
    } else {
        gh_free(p, size);
    }
}

/* Poisons o (kind kept in the count) and quarantines its block. */
static void poison_and_quarantine(gh_object *o, size_t pre, size_t size, bool gc)
{
    enum gh_kind k = o->ob_type->kind;
    /* The type first: a lock-free reader that sees the immortal-looking
     * count below then sees the object as freed and refuses it
     * (gh_brc_try_incref); it is stored again with the header below. */
    gh_atomic_store_relaxed_tp(&o->ob_type, &gh_freed_type);
    if (gh_model.full_header) {
        struct gh_obprefix *p = gh_prefix(o);
        /* rc=biased: immortal-looking. Release: pairs with the acquire load
         * in gh_brc_try_incref (which then sees the type stored above), as
         * in gh_object_alloc. */
        gh_atomic_store_release_u32(&p->ob_ref_local, UINT32_MAX);
        gh_atomic_store_relaxed_uptr(&p->ob_tid, 0);
        p->ob_gc_bits = 0; /* not tracked: the heap walk skips it */
    }
    /* The payload zeroed (a stale reader sees an empty object: no items,
     * no arrays), then the header. Relaxed: the checks test the type
     * pointer and, in the lock-free reader's conditional increment, the
     * count word (rc/brc.h); nothing else is published through them. */
    memset((char *)o + sizeof(gh_object), 0, size - sizeof(gh_object));
    gh_atomic_store_relaxed_u64(&o->ob_refcnt, GH_POISON_REFCNT(k));
    gh_atomic_store_relaxed_tp(&o->ob_type, &gh_freed_type);
    quarantine_put((char *)o - pre, pre + size, gc);
}

/* The memory of a dead object (the collector's bits already cleared). */
static void object_release(void *p, size_t size)
{
    gh_object *o = p;
    const struct gh_type *tp = o->ob_type;
    size_t pre = gh_prefix_size(tp);
    bool gc = (tp->flags & GH_TPFLAG_GC) && gh_model.full_header;
    if (gh_model.checked)
        poison_and_quarantine(o, pre, size, gc);
    else if (gc)
        gh_free_gc((char *)o - pre, pre + size);
    else
        gh_free((char *)o - pre, pre + size);
}

void gh_object_free(gh_object *o, size_t size)
{
    if (o->ob_type->flags & GH_TPFLAG_GC) {
        gh_gc_count(-1);
        /* A freed block must not look tracked to the heap walk (nor one
         * waiting for its grace period). */
        if (gh_model.full_header)
            *gh_gcbits_ptr(o) = 0;
    }
    /* Lock-free readers may still read its counts (base/qsbr.h). A small
     * block of alloc=thread is freed at once, as free-threaded CPython
     * frees an object at once to mimalloc: its pool stays a pool of the
     * same size class for a grace period after it empties
     * (gh_alloc_type_stable), so a stale reader's conditional increment
     * meets this object's dead count or a new object of the class, and its
     * re-check of the slot refuses it. Any other block (above 512 bytes:
     * malloc's; alloc=malloc, mimalloc, arena) could be reused for
     * anything or unmapped: the object waits for a grace period whole. */
    if (!gh_alloc_type_stable(gh_prefix_size(o->ob_type) + size) && gh_qsbr_deferring())
        gh_qsbr_defer(object_release, o, size);
    else
        object_release(o, size);
}

void gh_free_after_readers(void *p, size_t size)
{
    if (gh_qsbr_deferring())
        gh_qsbr_defer(gh_checked_free, p, size);
    else
        gh_checked_free(p, size);
}
