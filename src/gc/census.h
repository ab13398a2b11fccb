/* census.h - the checked mode's census: counting the references that
 * really exist, at quiescent points, and comparing them with the counts.
 *
 * With every thread parked between two operations (the world stopped, or
 * the GIL held while the others wait for it), the census walks the heap
 * from its roots and from every tracked object, counts the strong
 * references to each object it reaches, and compares that with the
 * object's count (rc=biased: local + shared >> 2):
 *
 *   count < references   refcount_low (a premature free to come)
 *   count > references   refcount_high (a leak)
 *   a reference to a freed (poisoned) object: use_after_free.
 *
 * Roots: the caller's (struct gh_census_roots: the globals and every
 * worker's frame locals), the model's (gh_model_visit_roots), gc.garbage
 * and rc=biased's merge queues. The interned-string table's references are
 * not counted references; immortal objects are not compared. When it runs
 * and what it costs: docs/strategies.md ("The checked mode").
 *
 * Layer: gc (the roots of the layers above are passed in).
 */
#ifndef GH_GC_CENSUS_H
#define GH_GC_CENSUS_H

#include <stdbool.h>
#include <stdint.h>

#include "object/object.h"

struct gh_census_roots {
    /* Calls visit(o, visit_arg) once for every strong reference the
     * caller's roots hold (a slot holding NULL is skipped by the caller). */
    void (*visit)(gh_visitproc visit, void *visit_arg, void *arg);
    /* Called once the heap is quiescent for the census (the world stopped
     * or the GIL held), before the walk: false when some thread is not
     * parked between two operations (it may hold a reference no root
     * shows), and the census is not taken this time. NULL: always true. */
    bool (*quiescent)(void *arg);
    void *arg;
};

struct gh_census_stats {
    uint64_t taken;        /* censuses walked */
    uint64_t skipped;      /* not taken: a thread was not at a switch point */
    uint64_t faults;       /* abandoned on a memory fault (sync=none) */
    uint64_t objects;      /* objects compared, summed over the censuses */
    uint64_t low, high, freed; /* findings, summed */
    uint64_t ns;           /* time spent in censuses, stops included */
};

#if defined(GH_FLAVORED)
#include "base/tstate.h"

/* The walk alone: the caller has made the heap quiescent. Findings are
 * counted as hazards on the calling thread (gh_hazard_note_census) and
 * added to *st. */
void GH_FL(gh_census_walk)(const struct gh_census_roots *roots, struct gh_census_stats *st);

/* A census from a thread that holds nothing (neither the GIL nor an
 * attachment): takes the GIL or stops the world (serialised with
 * collections), asks roots->quiescent, walks, restarts. A memory fault
 * during the walk (only the unprotected strategies corrupt the heap) is
 * caught when the run installed its fault handler (ts->fault_jmp), counted
 * as a fault hazard and the census abandoned. Returns whether it was
 * taken. */
bool GH_FL(gh_census_run)(struct gh_tstate *ts, const struct gh_census_roots *roots,
                          struct gh_census_stats *st);

/* collect.fl.c's part: the census's stop (the GIL or the world, after any
 * collection in progress), the tracked objects, and the collector's own
 * references (gc.garbage). */
/* false: the GIL was not had within gil_wait_ns (gil-ticks only). */
bool GH_FL(gh_gc_census_begin)(struct gh_tstate *ts, uint64_t gil_wait_ns);
void GH_FL(gh_gc_census_end)(struct gh_tstate *ts);
void GH_FL(gh_gc_visit_tracked)(void (*fn)(gh_object *o, void *arg), void *arg);
void GH_FL(gh_gc_visit_roots)(gh_visitproc visit, void *arg);
#endif

#endif
