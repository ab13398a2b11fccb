/* critsec.h - critical sections on one or two objects (sync=objlock),
 * CPython's Py_BEGIN_CRITICAL_SECTION / ..._SECTION2
 * (Include/internal/pycore_critical_section.h, Python/critical_section.c).
 *
 * An operation on a container holds that container's lock (gh_ob_lock:
 * its ob_mutex, or its stripe of the side table, base/oblock.h) for its
 * duration; a two-object section takes the lower lock address first, and
 * one lock once when both objects have it. Sections form a per-thread
 * stack (ts->cs_top). Rules (CPython's: only the top-most section is sure
 * to be active):
 *
 *   - a section whose lock is busy, begun inside another, suspends every
 *     enclosing section (releases their locks, marks them inactive,
 *     counts ts->cs_suspends) before it waits;
 *   - a section begun inside one that holds its lock is a no-op (l1 ==
 *     NULL, not pushed), as _PyCriticalSection_BeginSlow;
 *   - gh_sync_block_begin suspends them all before the thread detaches,
 *     gh_sync_block_end resumes the top-most after it attaches;
 *   - gh_cs_end resumes the new top-most section if it is inactive.
 *
 * Invariant: a thread waits for a lock holding no lock but, in a
 * two-object section, the lower one of the same section.
 *
 * rc=locked: a thread never waits for an object's lock while it holds
 * one. Every lock after the first is only tried; on a failure
 * gh_cs_push_slow releases the thread's section locks and takes the set
 * again. A count update that finds its lock busy inside a section uses
 * gh_cs_suspend_all / gh_cs_resume_all; afterwards every section of the
 * stack is active again. Why: docs/strategies.md ("rc=locked, the
 * argument").
 *
 * Layer: sync.
 */
#ifndef GH_SYNC_CRITSEC_H
#define GH_SYNC_CRITSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/oblock.h"
#include "base/tstate.h"
#include "object/object.h"

/* On the owning thread's C stack; only that thread reads or writes it.
 * CPython's record is two words (the mutex and the tagged enclosing
 * record); this one is four: the second lock in every record, and the
 * lock classes whose counters (ts->locks) the locks feed when a slow path
 * takes them again, as bytes beside the active flag. (Two lockstat
 * pointers made it six; bench/dispatch showed no measurable difference
 * either way, the smaller record stays.) */
struct gh_critsec {
    gh_oblock *l1;            /* locked first (lower address); NULL: a no-op
                                 section, not on the stack (the top-most
                                 section holds its lock) */
    gh_oblock *l2;            /* NULL for a one-lock section */
    struct gh_critsec *prev;  /* the enclosing section */
    uint8_t cls1;             /* enum gh_lock_class of l1's object */
    uint8_t cls2;             /* of l2's object (set only when l2 is) */
    bool active;              /* its locks are held (false: suspended) */
    bool sampled;             /* its hold is being timed (base/lockprof.h:
                                 ts->lp->cs_open is this record) */
};
_Static_assert(GH_LOCK_NCLASSES <= 256, "a lock class fits gh_critsec's byte");
_Static_assert(sizeof(struct gh_critsec) == 4 * sizeof(void *), "a section record is four words");

/* The counters a section's first or second lock feeds. */
GH_INLINE struct gh_lockstat *gh_cs_st1(struct gh_tstate *ts, const struct gh_critsec *cs)
{
    return &ts->locks[cs->cls1];
}

GH_INLINE struct gh_lockstat *gh_cs_st2(struct gh_tstate *ts, const struct gh_critsec *cs)
{
    return &ts->locks[cs->cls2];
}

/* Whether lock l is held by one of the calling thread's active sections. */
GH_INLINE bool gh_cs_holds(const struct gh_tstate *ts, const gh_oblock *l)
{
    for (const struct gh_critsec *cs = ts->cs_top; cs; cs = cs->prev)
        if (cs->active && (cs->l1 == l || cs->l2 == l))
            return true;
    return false;
}

/* Slow paths (critsec.c), flavour-neutral. */
/* --lock-profile: this section's hold is due to be sampled (its locks are
 * held); ends: records it (before the locks are released). */
GH_NOINLINE void gh_cs_hold_begin(struct gh_tstate *ts, struct gh_critsec *cs);
GH_NOINLINE void gh_cs_hold_end(struct gh_tstate *ts, struct gh_critsec *cs);
/* Suspends the enclosing sections, waits for cs's locks, pushes cs: a
 * nested section whose try failed (flavours other than rc=locked). */
GH_NOINLINE void gh_cs_begin_slow(struct gh_tstate *ts, struct gh_critsec *cs);
/* rc=locked: pushes cs (its l1, l2 set, not locked) and takes every lock of
 * the thread's sections, releasing the ones held first: never waits while
 * holding an object's lock. */
GH_NOINLINE void gh_cs_push_slow(struct gh_tstate *ts, struct gh_critsec *cs);
/* Releases the locks of every active section (the stack stays, marked
 * inactive) and counts the suspension (ts->cs_suspends) if there was one. */
GH_NOINLINE void gh_cs_suspend_all(struct gh_tstate *ts);
/* rc=locked: takes every section's locks again (as gh_cs_push_slow),
 * counted in `st`. */
GH_NOINLINE void gh_cs_resume_all(struct gh_tstate *ts, struct gh_lockstat *st);
/* Takes the top-most section's locks again if it is inactive. */
GH_NOINLINE void gh_cs_resume_top(struct gh_tstate *ts);
/* Ends a nested section, already popped: releases its locks (those an
 * active enclosing section also names stay held: rc=locked takes a shared
 * stripe once) and resumes the new top-most section if it is inactive. */
GH_NOINLINE void gh_cs_end_nested(struct gh_tstate *ts, struct gh_critsec *cs);
/* For the stall watchdog: the index of the thread among `threads` whose
 * active critical sections hold `lock`, or -1. It reads the other threads'
 * section stacks without their cooperation: only for a run whose threads
 * made no progress for the watchdog's limit, as a snapshot (a thread that
 * moves meanwhile may be missed). */
int gh_cs_find_holder(struct gh_tstate *const *threads, int n, uintptr_t lock);

GH_INLINE void gh_cs_push_(struct gh_tstate *ts, struct gh_critsec *cs)
{
    cs->active = true;
    cs->sampled = false;
    cs->prev = ts->cs_top;
    /* Relaxed stores of cs_top (a plain store on x86): the stall watchdog
     * reads it from another thread (gh_cs_find_holder). */
    gh_atomic_store_relaxed_tp(&ts->cs_top, cs);
}

/* After a pushed section's locks are all held: the hold sampling's
 * countdown (base/lockprof.h), one test while profiling is off. */
GH_INLINE void gh_cs_held_(struct gh_tstate *ts, struct gh_critsec *cs)
{
    if (GH_UNLIKELY(ts->hold_left != 0) && --ts->hold_left == 0)
        gh_cs_hold_begin(ts, cs);
}

GH_INLINE void gh_cs_begin(struct gh_tstate *ts, struct gh_critsec *cs, gh_object *o)
{
    enum gh_lock_class cls = o->ob_type->lock_class;
    cs->l1 = gh_ob_lock(o);
    cs->l2 = NULL;
    cs->cls1 = (uint8_t)cls;
    if (GH_UNLIKELY(ts->cs_top != NULL)) {
        /* Nested: the enclosing section may hold the lock already. */
        if (ts->cs_top->active &&
            (ts->cs_top->l1 == cs->l1 || ts->cs_top->l2 == cs->l1)) {
            /* Not pushed: the enclosing stays the top (prev records it,
             * so gh_cs_end restores it unconditionally). */
            cs->l1 = NULL;
            cs->prev = ts->cs_top;
            return;
        }
        if (!gh_oblock_trylock(cs->l1, &ts->locks[cls])) {
#if defined(GH_FL_RC_LOCKED)
            gh_cs_push_slow(ts, cs);
#else
            gh_cs_begin_slow(ts, cs);
#endif
            return;
        }
    } else {
        gh_oblock_lock(cs->l1, &ts->locks[cls]);
    }
    gh_cs_push_(ts, cs);
    gh_cs_held_(ts, cs);
}

GH_INLINE void gh_cs_begin2(struct gh_tstate *ts, struct gh_critsec *cs,
                            gh_object *a, gh_object *b)
{
    gh_oblock *la = gh_ob_lock(a), *lb = gh_ob_lock(b);
    if (la == lb) {
        gh_cs_begin(ts, cs, a);
        return;
    }
    if ((uintptr_t)lb < (uintptr_t)la) {
        gh_object *t = a;
        a = b;
        b = t;
        gh_oblock *u = la;
        la = lb;
        lb = u;
    }
    cs->l1 = la;
    cs->l2 = lb;
    cs->cls1 = (uint8_t)a->ob_type->lock_class;
    cs->cls2 = (uint8_t)b->ob_type->lock_class;
    struct gh_lockstat *st1 = gh_cs_st1(ts, cs), *st2 = gh_cs_st2(ts, cs);
    if (GH_UNLIKELY(ts->cs_top != NULL)) {
        /* Nested: never wait holding the enclosing sections' locks. */
        if (!gh_oblock_trylock(la, st1))
            goto slow;
        if (!gh_oblock_trylock(lb, st2)) {
            gh_oblock_unlock(la);
            goto slow;
        }
        gh_cs_push_(ts, cs);
        gh_cs_held_(ts, cs);
        return;
    }
    gh_oblock_lock(la, st1);
#if defined(GH_FL_RC_LOCKED)
    /* The second lock is only tried (critsec.c takes the set otherwise). */
    if (GH_UNLIKELY(!gh_oblock_trylock(lb, st2))) {
        gh_oblock_unlock(la);
        goto slow;
    }
#else
    gh_oblock_lock(lb, st2);
#endif
    gh_cs_push_(ts, cs);
    gh_cs_held_(ts, cs);
    return;
slow:
#if defined(GH_FL_RC_LOCKED)
    gh_cs_push_slow(ts, cs);
#else
    gh_cs_begin_slow(ts, cs);
#endif
}

GH_INLINE void gh_cs_end(struct gh_tstate *ts, struct gh_critsec *cs)
{
    gh_atomic_store_relaxed_tp(&ts->cs_top, cs->prev); /* see gh_cs_push_ */
    if (!cs->l1)
        return; /* a no-op section: prev is the top it left as it was */
    if (GH_UNLIKELY(cs->sampled))
        gh_cs_hold_end(ts, cs);
    if (GH_UNLIKELY(cs->prev != NULL)) {
        gh_cs_end_nested(ts, cs);
        return;
    }
    if (cs->l2)
        gh_oblock_unlock(cs->l2);
    gh_oblock_unlock(cs->l1);
}
#endif
