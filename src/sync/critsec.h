/* critsec.h - critical sections on one or two objects (sync=objlock).
 *
 * The model of CPython's Py_BEGIN_CRITICAL_SECTION / ..._SECTION2
 * (Include/internal/pycore_critical_section.h): an operation on a container
 * locks that container's ob_mutex (the full layout's prefix) for its
 * duration; an operation on two containers locks both, the lower address
 * first, so any two threads take any two locks in the same order and cannot
 * deadlock. The same object twice degrades to one lock. Sections form a
 * per-thread stack (ts->cs_top) for the suspension on blocking that a later
 * issue adds; operations never block inside a section today (see
 * docs/architecture.md, "Critical sections").
 *
 * Layer: sync.
 */
#ifndef GH_SYNC_CRITSEC_H
#define GH_SYNC_CRITSEC_H

#include <stdint.h>

#include "base/mutex.h"
#include "base/tstate.h"
#include "object/object.h"

struct gh_critsec {
    gh_mutex *m1;             /* locked first (lower address) */
    gh_mutex *m2;             /* NULL for a one-object section */
    struct gh_critsec *prev;  /* the enclosing section */
};

GH_INLINE gh_mutex *gh_ob_mutex(gh_object *o) { return &gh_prefix(o)->ob_mutex; }

GH_INLINE void gh_cs_begin(struct gh_tstate *ts, struct gh_critsec *cs, gh_object *o)
{
    cs->m1 = gh_ob_mutex(o);
    cs->m2 = NULL;
    gh_mutex_lock(cs->m1, &ts->locks[o->ob_type->lock_class]);
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
    gh_mutex_lock(cs->m1, &ts->locks[a->ob_type->lock_class]);
    gh_mutex_lock(cs->m2, &ts->locks[b->ob_type->lock_class]);
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
