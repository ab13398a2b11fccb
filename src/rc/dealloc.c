/* dealloc.c - iterative deallocation (see dealloc.h).
 *
 * Objects whose count reached zero wait on a per-thread stack. Their count
 * stays zero while they wait: an object still reachable through an
 * uncounted reference (a weak reference in its referent's list, for one)
 * must look dead to a conditional increment (gh_try_incref). An earlier
 * version linked the queue through the dead count word and so made queued
 * weak references look alive (tests/containers/test_model.fl.c,
 * queued_dead_weakref_is_not_revived). */
#include "rc/dealloc.h"

#include <stdlib.h>

#include "base/die.h"
#include "base/tstate.h"
#include "object/gctrack.h"

GH_NOINLINE static void dealloc_stack_grow(struct gh_tstate *ts)
{
    size_t cap = ts->dealloc_cap ? 2 * ts->dealloc_cap : 64;
    gh_object **s = realloc(ts->dealloc_stack, cap * sizeof *s);
    if (!s)
        gh_die(12 /* ENOMEM */, "growing the dealloc stack");
    ts->dealloc_stack = s;
    ts->dealloc_cap = cap;
}

void gh_dealloc(gh_object *o)
{
    struct gh_tstate *ts = gh_tstate_get();
    gh_assert(ts != NULL);
    if (GH_UNLIKELY(gh_model.checked) && !gh_dealloc_claim(o))
        return; /* a double free, counted; the object is left alone */
    /* Out of the collector's sight from now on, queued or not (CPython's
     * deallocs untrack first); a dealloc that resurrects re-tracks. */
    if (gh_is_gc(o))
        gh_gc_untrack(o);
    if (ts->deallocating) {
        /* An outer gh_dealloc on this thread is draining: queue. */
        if (GH_UNLIKELY(ts->dealloc_len == ts->dealloc_cap))
            dealloc_stack_grow(ts);
        ts->dealloc_stack[ts->dealloc_len++] = o;
        return;
    }
    ts->deallocating = true;
    o->ob_type->tp_dealloc(o);
    while (ts->dealloc_len) {
        o = ts->dealloc_stack[--ts->dealloc_len];
        if (GH_UNLIKELY(gh_model.checked) && !o->ob_type->tp_dealloc) {
            /* Its type was freed while it waited (a class whose racing
             * counts reached zero early, dealloc'ed first): left alone. */
            gh_hazard_note(GH_HAZARD_USE_AFTER_FREE, "?");
            continue;
        }
        o->ob_type->tp_dealloc(o);
    }
    ts->deallocating = false;
}
