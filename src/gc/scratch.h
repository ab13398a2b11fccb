/* scratch.h - a collection's per-object scratch, and the inlined
 * traversals of its hot passes (collect.fl.c only; flavoured).
 *
 * One algorithm for both layouts; only where the scratch lives differs
 * (object/gctrack.h has the diagrams):
 *
 *                 in the set          gc_refs            tracked
 *   compact       gc_prev COLLECTING  gc_prev >> 2       gc_next != 0
 *   full          UNREACHABLE bit     ob_tid             TRACKED bit
 *
 * Only the collecting thread reads or writes the scratch, during a
 * collection. Under rc=biased, ob_tid is the owner's id the rest of the
 * time: collect.fl.c saves it before and restores it after (brc_saved).
 *
 * Layer: gc.
 */
#ifndef GH_GC_SCRATCH_H
#define GH_GC_SCRATCH_H

#include "gc/collect_internal.h"

/* gc_refs of an object that is referenced from outside anything the
 * collector could free (immortal), and of one proven reachable. */
#define REFS_IMMORTAL ((int64_t)1 << 40)
#define REFS_REACHED  ((int64_t)1 << 41)

GH_INLINE bool in_set(gh_object *o)
{
    if (gh_model.full_header)
        return *gh_gcbits_ptr(o) & GH_GCBIT_UNREACHABLE;
    return gh_is_gc(o) && (gh_gchead(o)->gc_prev & GH_GC_PREV_COLLECTING);
}

GH_INLINE int64_t refs_get(gh_object *o)
{
    if (gh_model.full_header)
        return (int64_t)gh_prefix(o)->ob_tid;
    /* Arithmetic shift: a count that traversal over-subtracted (a bug in a
     * type's traverse) reads back negative, not huge. */
    return (int64_t)gh_gchead(o)->gc_prev >> GH_GC_PREV_SHIFT;
}

GH_INLINE void refs_set(gh_object *o, int64_t v)
{
    if (gh_model.full_header) {
        gh_prefix(o)->ob_tid = (uintptr_t)v;
        return;
    }
    struct gh_gchead *g = gh_gchead(o);
    g->gc_prev = ((uintptr_t)v << GH_GC_PREV_SHIFT) | (g->gc_prev & GH_GC_PREV_MASK);
}

/* Puts o in the set with gc_refs = v. */
GH_INLINE void set_enter(gh_object *o, int64_t v)
{
    if (gh_model.full_header) {
        *gh_gcbits_ptr(o) |= GH_GCBIT_UNREACHABLE;
        gh_prefix(o)->ob_tid = (uintptr_t)v;
        return;
    }
    struct gh_gchead *g = gh_gchead(o);
    g->gc_prev = ((uintptr_t)v << GH_GC_PREV_SHIFT) | GH_GC_PREV_COLLECTING |
                 (g->gc_prev & GH_GC_PREV_FINALIZED);
}

/* Takes o out of the set, untracked; its scratch is cleared (compact:
 * gc_prev keeps only FINALIZED, ready to be linked; full: ob_tid back to
 * 0, which is its value for every strategy without biased counts). */
GH_INLINE void set_leave(gh_object *o)
{
    if (gh_model.full_header) {
        *gh_gcbits_ptr(o) &= (uint8_t)~(GH_GCBIT_UNREACHABLE | GH_GCBIT_TRACKED);
#if defined(GH_FL_RC_BIASED)
        /* A settled object got its owner and local count back
         * (brc_restore); garbage was merged, and a merged object is
         * unowned with local count 0. */
        if ((gh_atomic_load_relaxed_u64(&o->ob_refcnt) & GH_REF_STATE_MASK) != GH_REF_MERGED)
            return;
#endif
        gh_prefix(o)->ob_tid = 0;
        gh_prefix(o)->ob_ref_local = 0;
        return;
    }
    struct gh_gchead *g = gh_gchead(o);
    g->gc_next = 0;
    g->gc_prev &= GH_GC_PREV_FINALIZED;
}

/* compact: gc_next of garbage the collector holds. Not a list link, but
 * not 0 either, so the object still reads as tracked while finalizers
 * run (as in CPython, where it sits on the `unreachable` list) and a dict
 * a finalizer writes to is not linked into a generation (MAINTAIN_TRACKING)
 * while its gc_prev is scratch. Nothing unlinks it: the hold keeps it from
 * being deallocated. */
#define GC_NEXT_HELD ((uintptr_t)1)

/* A candidate's index in the work array, so that settling it through a
 * referrer can clear its slot and the scan need not touch it again:
 * compact: gc_next = index << 2 | 2 (not a link: the list was taken apart
 * into the array; not 0: still tracked); full: ob_ref_local (scratch during
 * a collection, as free-threaded CPython uses it in its second pause). */
GH_INLINE void index_set(gh_object *o, size_t i)
{
    if (gh_model.full_header)
        gh_prefix(o)->ob_ref_local = (uint32_t)i;
    else
        gh_gchead(o)->gc_next = ((uintptr_t)i << 2) | 2u;
}

GH_INLINE size_t index_get(gh_object *o)
{
    if (gh_model.full_header)
        return gh_prefix(o)->ob_ref_local;
    return (size_t)(gh_gchead(o)->gc_next >> 2);
}

/* The counted references: a deferred object's bias is not one
 * (deferred=on, rc/rc.h); its frame references are added as roots. */
GH_INLINE int64_t count_as_refs(gh_object *o, int64_t held)
{
    uint64_t c = gh_refcnt_counted(o);
    return gh_refcnt_is_immortal(c) ? REFS_IMMORTAL : (int64_t)c - held;
}

/* The hot passes traverse the common containers inline, with the visitor
 * inlined too: a million-item list otherwise costs a million indirect
 * calls per pass. Same visits, same order as the types' tp_traverse
 * (list.fl.c, tuple.fl.c, model.fl.c's instance_traverse); anything else
 * goes through tp_traverse. */
#define GC_PREFETCH_AHEAD 8
/* sync=none: a race may have left a list's size past its array, or an
 * empty slot (containers.h, gh_list_items_cap), and a slot torn by a
 * racing write may hold what is no object pointer at all: the collector
 * skips what cannot be one (objects are 16-byte aligned, above the first
 * pages). A heuristic: the positive control's collector must not crash,
 * not be exact. Elsewhere neither happens while the world is stopped. */
#if defined(GH_FL_SYNC_NONE)
#define LIST_TORN 1
#else
#define LIST_TORN 0
#endif
/* gc=nostop (any flavour): the collector reads containers while the
 * mutators change them, so every reference it reads may be torn in the
 * same ways, and a list's size, array and capacity are read at different
 * moments. Its passes bound each list by the array's capacity, skip an
 * array already taken away (NULL), and its visitors skip what cannot be an
 * object pointer (REF_PLAUSIBLE_ANY). What is still wrong (a stale pointer
 * to an object freed under the scan) is what the positive control shows;
 * a fault is caught by collect_guarded. */
#define REF_PLAUSIBLE_ANY(p) \
    ((p) && ((uintptr_t)(p) & 15u) == 0 && (uintptr_t)(p) >= ((uintptr_t)1 << 16))
#define LIST_USED_ANY(l, it)                                                           \
    ((it) == NULL ? 0                                                                  \
     : (l)->ob_size < gh_list_items_cap((l), (it)) ? (l)->ob_size                      \
                                                   : gh_list_items_cap((l), (it)))
/* TORN: 0 for a collection nothing changes under (the world stopped, the
 * GIL held), 1 for one whose references may be torn (sync=none, nostop). */
#define TRAVERSE_INLINE_T(o, VISIT, arg, TORN)                                         \
    do {                                                                               \
        gh_object *t_o_ = (o);                                                         \
        switch (t_o_->ob_type->kind) {                                                 \
        case GH_KIND_LIST: {                                                           \
            struct gh_list *t_l_ = (struct gh_list *)(void *)t_o_;                     \
            gh_object **t_it_ = t_l_->ob_item;                                         \
            int64_t t_n_ = (TORN) ? LIST_USED_ANY(t_l_, t_it_) : t_l_->ob_size;        \
            for (int64_t t_i_ = 0; t_i_ < t_n_; t_i_++) {                              \
                if (t_i_ + GC_PREFETCH_AHEAD < t_n_ && !(TORN))                        \
                    __builtin_prefetch((char *)t_it_[t_i_ + GC_PREFETCH_AHEAD] - 16, 1); \
                if (!(TORN) || REF_PLAUSIBLE_ANY(t_it_[t_i_]))                         \
                    VISIT(t_it_[t_i_], arg);                                           \
            }                                                                          \
            break;                                                                     \
        }                                                                              \
        case GH_KIND_TUPLE: {                                                          \
            struct gh_tuple *t_t_ = (struct gh_tuple *)(void *)t_o_;                   \
            for (int64_t t_i_ = 0; t_i_ < t_t_->ob_size; t_i_++)                       \
                if (t_t_->ob_item[t_i_])                                               \
                    VISIT(t_t_->ob_item[t_i_], arg);                                   \
            break;                                                                     \
        }                                                                              \
        case GH_KIND_INSTANCE: {                                                       \
            struct gh_attrs *t_a_ = ((struct gh_instance *)(void *)t_o_)->attrs;       \
            VISIT(&gh_class_of(t_o_)->ob, arg);                                        \
            if (t_a_ && (!(TORN) || REF_PLAUSIBLE_ANY(t_a_)))                          \
                for (uint32_t t_i_ = 0; t_i_ < t_a_->used; t_i_++)                     \
                    if (!(TORN) || REF_PLAUSIBLE_ANY(t_a_->items[t_i_].value))         \
                        VISIT(t_a_->items[t_i_].value, arg);                           \
            break;                                                                     \
        }                                                                              \
        default:                                                                       \
            traverse(t_o_, VISIT, arg);                                                \
        }                                                                              \
    } while (0)
#define TRAVERSE_INLINE(o, VISIT, arg) TRAVERSE_INLINE_T(o, VISIT, arg, LIST_TORN)

/* An empty list or tuple: descending into it would find nothing. The
 * test costs less than the call, and containers kept empty (free lists of
 * work, placeholders) are common. */
GH_INLINE bool references_nothing(gh_object *o)
{
    enum gh_kind k = o->ob_type->kind;
    if (k == GH_KIND_LIST)
        return ((struct gh_list *)(void *)o)->ob_size == 0;
    if (k == GH_KIND_TUPLE)
        return ((struct gh_tuple *)(void *)o)->ob_size == 0;
    return false;
}

#endif
