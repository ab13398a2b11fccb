/* critsec.h - critical sections on one or two objects (sync=objlock).
 *
 * The model of CPython's Py_BEGIN_CRITICAL_SECTION / ..._SECTION2
 * (Include/internal/pycore_critical_section.h): an operation on a container
 * locks that container's ob_mutex (the full layout's prefix) for its
 * duration; an operation on two containers locks both, the lower address
 * first, so any two threads take any two locks in the same order and cannot
 * deadlock. The same object twice degrades to one lock. Sections form a
 * per-thread stack (ts->cs_top); operations never block inside a section
 * (see docs/architecture.md, "Critical sections").
 *
 * rc=locked (rc/rc.h) takes the same mutex for every count update, so an
 * operation in a section on L that increments an item X takes X's mutex
 * while it holds L's. Its flavour keeps one rule that makes that
 * deadlock-free: a thread never waits for an object's mutex while it
 * holds one. A first section is locked as usual (the thread holds no
 * object lock yet); the second lock of a two-object section, and any lock
 * taken while a section is already held, is only tried; when the try
 * fails, every lock of the thread's sections is released and the whole
 * set is taken again by gh_cs_push_slow (wait for one lock while holding
 * none, try the others, on a failure release all and wait for that one).
 * A count update that finds its mutex busy inside a section suspends the
 * sections the same way (gh_cs_suspend_all, gh_cs_resume_all). The other
 * flavours keep CPython's address order and never suspend.
 *
 * Layer: sync.
 */
#ifndef GH_SYNC_CRITSEC_H
#define GH_SYNC_CRITSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mutex.h"
#include "base/tstate.h"
#include "object/object.h"

/* On the owning thread's C stack; only that thread reads or writes it. */
struct gh_critsec {
    gh_mutex *m1;             /* locked first (lower address) */
    gh_mutex *m2;             /* NULL for a one-object section */
    struct gh_critsec *prev;  /* the enclosing section */
};

GH_INLINE gh_mutex *gh_ob_mutex(gh_object *o) { return &gh_prefix(o)->ob_mutex; }

/* The object whose ob_mutex m is (every section locks an object's). */
GH_INLINE gh_object *gh_ob_of_mutex(gh_mutex *m)
{
    return (gh_object *)(void *)((char *)m - offsetof(struct gh_obprefix, ob_mutex) +
                                 sizeof(struct gh_obprefix));
}

/* Whether m is locked by one of the calling thread's active sections. */
GH_INLINE bool gh_cs_holds(const struct gh_tstate *ts, const gh_mutex *m)
{
    for (const struct gh_critsec *cs = ts->cs_top; cs; cs = cs->prev)
        if (cs->m1 == m || cs->m2 == m)
            return true;
    return false;
}

/* rc=locked's slow paths (critsec.c), flavour-neutral. */
/* Pushes cs (its m1, m2 set, not locked) and takes every lock of the
 * thread's sections, releasing the ones held first: never waits while
 * holding an object's lock. Locks are counted in their objects' classes. */
GH_NOINLINE void gh_cs_push_slow(struct gh_tstate *ts, struct gh_critsec *cs);
/* Releases every lock of the thread's sections (the stack stays) and
 * counts the suspension (ts->cs_suspends). */
void gh_cs_suspend_all(struct gh_tstate *ts);
/* Takes them all again (as gh_cs_push_slow), counted in `st`. */
void gh_cs_resume_all(struct gh_tstate *ts, struct gh_lockstat *st);

GH_INLINE void gh_cs_begin(struct gh_tstate *ts, struct gh_critsec *cs, gh_object *o)
{
    cs->m1 = gh_ob_mutex(o);
    cs->m2 = NULL;
    struct gh_lockstat *st = &ts->locks[o->ob_type->lock_class];
#if defined(GH_FL_RC_LOCKED)
    if (GH_UNLIKELY(ts->cs_top != NULL)) {
        /* A nested section: never wait while holding a lock. */
        if (!gh_mutex_trylock(cs->m1, st)) {
            gh_cs_push_slow(ts, cs);
            return;
        }
    } else {
        gh_mutex_lock(cs->m1, st);
    }
#else
    gh_mutex_lock(cs->m1, st);
#endif
    cs->prev = ts->cs_top;
    ts->cs_top = cs;
}

GH_INLINE void gh_cs_begin2(struct gh_tstate *ts, struct gh_critsec *cs,
                            gh_object *a, gh_object *b)
{
    if (a == b) {
        gh_cs_begin(ts, cs, a);
        return;
    }
    if ((uintptr_t)b < (uintptr_t)a) {
        gh_object *t = a;
        a = b;
        b = t;
    }
    cs->m1 = gh_ob_mutex(a);
    cs->m2 = gh_ob_mutex(b);
#if defined(GH_FL_RC_LOCKED)
    /* The first lock is waited for only when no other is held; the second
     * is only tried (critsec.c takes the set otherwise). */
    struct gh_lockstat *sa = &ts->locks[a->ob_type->lock_class];
    if (GH_UNLIKELY(ts->cs_top != NULL)) {
        if (!gh_mutex_trylock(cs->m1, sa)) {
            gh_cs_push_slow(ts, cs);
            return;
        }
    } else {
        gh_mutex_lock(cs->m1, sa);
    }
    if (GH_UNLIKELY(!gh_mutex_trylock(cs->m2, &ts->locks[b->ob_type->lock_class]))) {
        gh_mutex_unlock(cs->m1);
        gh_cs_push_slow(ts, cs);
        return;
    }
#else
    gh_mutex_lock(cs->m1, &ts->locks[a->ob_type->lock_class]);
    gh_mutex_lock(cs->m2, &ts->locks[b->ob_type->lock_class]);
#endif
    cs->prev = ts->cs_top;
    ts->cs_top = cs;
}

GH_INLINE void gh_cs_end(struct gh_tstate *ts, struct gh_critsec *cs)
{
    if (cs->m2)
        gh_mutex_unlock(cs->m2);
    gh_mutex_unlock(cs->m1);
    ts->cs_top = cs->prev;
}

#endif
