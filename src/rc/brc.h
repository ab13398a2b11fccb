/* brc.h - biased reference counting (rc=biased), free-threaded CPython's
 * design (PEP 703; Include/refcount.h, Objects/object.c, Python/brc.c).
 * The algorithm: docs/strategies.md ("rc", biased).
 *
 * Each object has an owner and two counts (the full header,
 * object/object.h):
 *
 *   ob_tid        the owner's gh_tstate address; 0: no owner (merged)
 *   ob_ref_local  the owner's count: plain (relaxed) load and store, no
 *                 read-modify-write; UINT32_MAX: immortal
 *   ob_refcnt     the shared count, updated atomically by everyone else:
 *
 *       63                                   2 1 0
 *      +--------------------------------------+---+
 *      |  shared count (signed, may go < 0)   |st |
 *      +--------------------------------------+---+
 *       st: 0 INIT          only the owner has counted
 *           1 MAYBE_WEAKREF reachable without a counted reference (a weak
 *                           reference): the owner may not free it on its
 *                           own when its local count reaches 0
 *           2 QUEUED        queued for its owner to merge (the queue holds
 *                           the reference that would have taken the
 *                           shared count below 0)
 *           3 MERGED        ob_tid 0: the shared count is the whole count
 *       States only move up. The true count is local + (shared >> 2).
 *
 * Memory ordering: the owner's accesses to ob_ref_local and ob_tid are
 * relaxed atomics (only to avoid data-race undefined behaviour: other
 * threads read them during a merge of an exited owner's object or with the
 * world stopped, both ordered by a lock or the stop protocol). The shared
 * count's CAS is acq_rel: its release orders a thread's last use of the
 * object before whoever frees it, its acquire makes the freeing thread see
 * them (the rc=atomic argument).
 *
 * Layer: rc (includes object, base).
 */
#ifndef GH_RC_BRC_H
#define GH_RC_BRC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/atomic.h"
#include "base/tstate.h"
#include "object/object.h"

#define GH_REF_SHARED_SHIFT   2
#define GH_REF_STATE_MASK     UINT64_C(3)
#define GH_REF_MAYBE_WEAKREF  UINT64_C(1)
#define GH_REF_QUEUED         UINT64_C(2)
#define GH_REF_MERGED         UINT64_C(3)
#define GH_REF_LOCAL_IMMORTAL UINT32_MAX

/* The calling thread's owner id, as ob_tid holds it. */
GH_INLINE uintptr_t gh_brc_me(void) { return (uintptr_t)gh_tstate_get(); }

GH_INLINE uint32_t gh_brc_local(gh_object *o)
{
    return gh_atomic_load_relaxed_u32(&gh_prefix(o)->ob_ref_local);
}

GH_INLINE uintptr_t gh_brc_tid(gh_object *o)
{
    return gh_atomic_load_relaxed_uptr(&gh_prefix(o)->ob_tid);
}

/* Whether a shared field holds the checked mode's poison
 * (GH_POISON_REFCNT, about -2^62 read as a count), or a poison a
 * hazardous update has moved by a few counts. A real shared count never
 * goes below about -2^40. */
GH_INLINE bool gh_brc_shared_is_poison(uint64_t s)
{
    return (int64_t)s < -(INT64_C(1) << 61);
}

/* A new reference unless the object is dead (CPython's _Py_TryIncrefFast
 * then _Py_TryIncRefShared). The owner with a local count above 0 adds to
 * it. Anyone else CASes the shared count, refusing 0 (INIT: only the owner
 * ever counted, and it may free without a merge at any moment), MERGED
 * with count 0 (dead) and the checked mode's poison (freed). Inline: the
 * lock-free reads' hot path. */
GH_INLINE bool gh_brc_try_incref(gh_object *o)
{
    /* Acquire: pairs with the release store of the local count when an
     * object is made (object/object.c gh_object_alloc) or poisoned: a
     * lock-free reader whose pointer now reaches a newer object in the
     * same block (a type-stable pool, alloc/alloc.h) then sees the slot
     * it re-checks as it was when that object was made, no older. */
    uint32_t local = gh_atomic_load_acquire_u32(&gh_prefix(o)->ob_ref_local);
    if (local == GH_REF_LOCAL_IMMORTAL) {
        /* Immortal, or poisoned by the checked mode, which looks the same
         * to the count: "taking" either writes nothing. A poisoned one must
         * be refused, because its block may, while this reader stalls, be
         * reused for a new item put back in the same slot, which would then
         * pass the reader's re-check uncounted. Acquire: pairs with the
         * release store of the type in gh_object_alloc. Three cases:
         *   - the type is the poison: refused;
         *   - a newer object's type: its count, stored before its type, is
         *     what the load below sees (or later), not immortal: refused;
         *   - the object's own type, count still immortal: immortal.
         * The poisoner stores the type before the count (release, paired
         * with the acquire above), so a poisoned count is never read with
         * the type it replaced. Left open: the block reused and the new
         * object freed and poisoned again between the type's load and the
         * count's, a whole quarantine (64 MiB of frees) during a stall of
         * a few instructions. */
        const struct gh_type *tp = gh_atomic_load_acquire_tp(&o->ob_type);
        return tp != &gh_freed_type &&
               gh_atomic_load_relaxed_u32(&gh_prefix(o)->ob_ref_local) == GH_REF_LOCAL_IMMORTAL;
    }
    if (local != 0 && gh_brc_tid(o) == gh_brc_me()) {
        gh_atomic_store_relaxed_u32(&gh_prefix(o)->ob_ref_local, local + 1);
        return true;
    }
    uint64_t s = gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    do {
        /* A poison (the checked mode's freed object): this reader loaded
         * the local count before the poisoner stored it, the shared field
         * after. Refused, as the dead count it replaced would be. */
        if (s == 0 || s == GH_REF_MERGED || gh_brc_shared_is_poison(s))
            return false;
        /* Acq_rel, as every CAS of the field (gh_brc_explicit_merge): the
         * increment itself needs no order, the field's protocol does. */
    } while (!gh_atomic_cas_acqrel_u64(&o->ob_refcnt, &s, s + (UINT64_C(1) << GH_REF_SHARED_SHIFT)));
    return true;
}

/* The true count (local + shared), GH_IMMORTAL_REFCNT for an immortal
 * object. Exact for the owner or with the world stopped; a snapshot
 * otherwise. */
GH_INLINE uint64_t gh_brc_refcnt(gh_object *o)
{
    uint32_t local = gh_brc_local(o);
    if (local == GH_REF_LOCAL_IMMORTAL)
        return GH_IMMORTAL_REFCNT;
    int64_t shared = (int64_t)gh_atomic_load_relaxed_u64(&o->ob_refcnt);
    return (uint64_t)((int64_t)local + (shared >> GH_REF_SHARED_SHIFT));
}

/* Slow paths (brc.c), named for perf. */
/* A non-owner's decrement. */
GH_NOINLINE void gh_brc_decref_shared(gh_object *o);
/* The owner's local count has just reached 0. */
GH_NOINLINE void gh_brc_merge_zero_local(gh_object *o);
/* The owner's merge of its queue (its switch point, GH_EVAL_BRC_MERGE). */
GH_NOINLINE void gh_brc_merge_pending(struct gh_tstate *ts);
/* Both counts into the shared one, plus `extra`; the object is left
 * MERGED and unowned. Returns the merged count. The caller is the owner,
 * or the owner has exited, or the world is stopped. */
int64_t gh_brc_explicit_merge(gh_object *o, int64_t extra);
/* Marks o reachable without a counted reference (a weak reference is
 * being made to it). */
void gh_brc_set_maybe_weakref(gh_object *o);
/* A dealloc lending a temporary reference to a finalizer: the calling
 * thread becomes the owner with local count v, shared 0. */
void gh_brc_refcnt_set(gh_object *o, uint64_t v);
/* A decrement that reports reaching zero instead of deallocating. */
bool gh_brc_decref_is_zero(gh_object *o);

/* A thread that will count under rc=biased registers before its first
 * object and unregisters at exit: its queue is merged, and objects queued
 * for it afterwards are merged by whoever queues them. */
void gh_brc_thread_init(struct gh_tstate *ts);
void gh_brc_thread_fini(struct gh_tstate *ts);

/* The collector, with the world stopped: every thread's queue merged
 * (keeping the queue's reference, which `hold` receives; the collector
 * drops them after restarting the world). */
void gh_brc_merge_all_stopped(void (*hold)(gh_object *o, void *arg), void *arg);

/* The census (gc/census.h), with the world stopped: calls visit on every
 * object waiting in a merge queue, once per entry (each entry holds the
 * reference its queuing thread did not subtract). Changes nothing. */
void gh_brc_visit_queues(gh_visitproc visit, void *arg);

#endif
