/* runtime.h - the process set up for one strategy, in one place.
 *
 * gh_run, the flavoured test fixture (tests/fl_fixture.h), the stress
 * drivers and the benchmarks all set up through here, so none can drift
 * from what a run does (a fixture that never turned QSBR on tested ft's
 * list.get with the container's lock taken).
 *
 *   gh_runtime_init    before any model thread: the model's flags, the
 *                      per-object lock's kind, QSBR (the lock-free-read
 *                      flavour), the allocator, the GIL, the collector;
 *                      then the calling thread bound and attached to the
 *                      allocator, and the flavour's singletons made
 *   ... model threads run, then stop; the caller drops its objects ...
 *   gh_runtime_fini    the singletons released, the thread's deferred
 *                      frees and the checked mode's quarantine flushed,
 *                      the allocator's final statistics taken (live bytes:
 *                      what leaked), everything above undone
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_RUNTIME_H
#define GH_SCENARIO_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc/alloc.h"
#include "base/tstate.h"
#include "scenario/flavor.h"
#include "scenario/strategy.h"

struct gh_runtime {
    const struct gh_flavor *fl; /* the strategy's compiled flavour */
    struct gh_tstate *ts;       /* the calling thread's state, bound */
    bool has_gil;
};

/* Sets the process up for `st` (not refused: gh_strategy_refusal) and binds
 * the calling thread to ts as `name` (id -1: the main thread; tests and
 * drivers may give another). checked: the checked mode. 0, or -1 with a
 * message, before anything is set, when the strategy's flavour is not
 * compiled. */
int gh_runtime_init(struct gh_runtime *rt, const struct gh_strategy *st, bool checked,
                    struct gh_tstate *ts, int id, const char *name, char *err, size_t errlen);

/* After every model thread has stopped and the caller has released its
 * objects. *after (may be NULL) receives the allocator's statistics once
 * the singletons are gone and the thread detached. ts stays readable (its
 * counters) but is unbound. */
void gh_runtime_fini(struct gh_runtime *rt, struct gh_alloc_stats *after);

/* The strategy a flavour's tests and drivers run under: its preset (gil,
 * atomic, ft, locks, unsafe), or the nearest one with the rc axis set
 * (gil_atomic: gil with rc=atomic; objlock_plain: atomic with rc=plain). */
void gh_strategy_for_flavour(struct gh_strategy *st, enum gh_sync_kind sync, enum gh_rc_kind rc);

#endif
