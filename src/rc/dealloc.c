/* dealloc.c - iterative deallocation (see dealloc.h).
 *
 * Queued objects are linked through their count word: the count is zero and
 * no one else holds a reference, so the word is free to reuse, and queueing
 * needs no memory. */
#include "rc/dealloc.h"

#include "base/die.h"
#include "base/tstate.h"

void gh_dealloc(gh_object *o)
{
    struct gh_tstate *ts = gh_tstate_get();
    gh_assert(ts != NULL);
    o->ob_refcnt = (uint64_t)(uintptr_t)ts->dealloc_pending;
    ts->dealloc_pending = o;
    if (ts->deallocating)
        return; /* an outer gh_dealloc on this thread will get to it */
    ts->deallocating = true;
    while ((o = ts->dealloc_pending) != NULL) {
        ts->dealloc_pending = (gh_object *)(uintptr_t)o->ob_refcnt;
        o->ob_type->tp_dealloc(o);
    }
    ts->deallocating = false;
}
