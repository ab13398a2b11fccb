/* flavor.h - the table of compiled strategy flavours (sync x rc).
 *
 * Each flavour is the same hot source (*.fl.c) compiled with its own macros
 * (see GH_FL in base/compiler.h). A run looks its flavour up once and calls
 * its entry points; inside a flavour every reference-count, lock and
 * container operation is a direct or inlined call, never an indirect one.
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_FLAVOR_H
#define GH_SCENARIO_FLAVOR_H

#include <stdint.h>

#include "gc/census.h"       // struct gh_census_roots
#include "object/object.h"
#include "scenario/flavors.h"  // GH_FLAVORS(X): X(sync, rc) per compiled flavour,
                               // generated from the list in CMakeLists.txt
#include "scenario/scenario.h" // struct gh_global
#include "scenario/strategy.h"

/* In flavoured code: the flavour's own sync and rc values (the per-value
 * headers name them, rc/rc.h and sync/sync.h). */
#define GH_FL_SYNC_KIND GH_CAT(GH_SYNC_, GH_FL_SYNC_NAME)
#define GH_FL_RC_KIND   GH_CAT(GH_RC_, GH_FL_RC_NAME)

struct gh_worker;
struct gh_run_shared;
struct gh_rng;


/* One primitive's cost, measured by bench/dispatch. */
struct gh_bench_costs {
    double incdec_ns;     /* one incref + decref pair */
    double lock_ns;       /* one lock + unlock pair of the flavour's lock */
    double append_pop_ns; /* one list append + pop pair */
};

struct gh_flavor {
    const char *name;              /* "gil_plain" */
    enum gh_sync_kind sync;
    enum gh_rc_kind rc;
    /* The model's own state (singletons, the interned strings, the plain
     * class): made before any thread, released after the run. */
    void (*init)(void);
    void (*fini)(void);
    /* The worker thread's body (pthread start routine; arg: gh_worker). */
    void *(*worker_main)(void *worker);
    /* Setup and teardown of globals (single-threaded). */
    gh_object *(*make_global)(const struct gh_global *g, struct gh_rng *rng);
    void (*decref)(gh_object *o);
    int64_t (*len)(gh_object *o);
    /* The collector: gc.collect(generation) from the calling thread; and,
     * after the globals are gone, a last collection and gc.garbage's
     * release (gc/gc.h). */
    int64_t (*gc_collect)(struct gh_tstate *ts, int generation);
    int64_t (*gc_fini)(void);
    /* The checked mode's census (gc/census.h) from a thread that holds
     * neither the GIL nor an attachment. */
    bool (*census)(struct gh_tstate *ts, const struct gh_census_roots *roots,
                   struct gh_census_stats *st);
    /* Microbenchmarks of the hot primitives, `iters` iterations each. */
    void (*bench)(struct gh_bench_costs *out, uint64_t iters);
};

#define GH_X_(s, r) extern const struct gh_flavor GH_FL_NAME(gh_flavor, s##_##r);
GH_FLAVORS(GH_X_)
#undef GH_X_

/* The flavour for this sync and rc, or NULL when none is compiled. */
const struct gh_flavor *gh_flavor_find(enum gh_sync_kind sync, enum gh_rc_kind rc);

#endif
