/* runner_internal.h - what run.c shares with the flavoured worker loop.
 * Layer: scenario (private). */
#ifndef GH_SCENARIO_RUNNER_INTERNAL_H
#define GH_SCENARIO_RUNNER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "base/tstate.h"
#include "object/object.h"
#include "scenario/flavor.h"   // GH_FLAVORS
#include "scenario/run.h"

struct gh_run_shared;

/* The collector's counters as of its last completed collection: what the
 * gc.* expressions read. The collecting thread copies them from
 * gh_gc_stats in its "stop" callback (run.c) under gc_mutex; readers copy
 * them under the same mutex. Neither holds it across anything that could
 * wait (a switch point, a stop of the world), so it never deadlocks with
 * a collection; and no reader touches gh_gc_stats while a collection in
 * another thread writes it. */
struct gh_gc_counts {
    struct gh_gc_genstats gen[GH_GC_NGENS];
    uint64_t examined, unreachable, collected, finalized, resurrected, uncollectable;
    uint64_t untracked_tuples, untracked_dicts, weakrefs_cleared, weakref_callbacks;
};

/* What a user class's __del__ gets as its argument. */
struct gh_class_ctx {
    struct gh_run_shared *run;
    int slot;                   /* the class's global index */
};

/* Shared by all threads of a run. Everything is written by the main thread
 * before the workers are created (pthread_create orders it before them) and
 * read-only afterwards, except `stop`, the counters below (relaxed atomics)
 * and the collector's counters (under gc_mutex). */
struct gh_run_shared {
    const struct gh_scenario *s;
    gh_object **globals;        /* [s->nglobals]; the run owns a reference */
    gh_object **consts;         /* [s->nconsts]: the str constants (LOAD_CONST);
                                   the run owns a reference */
    pthread_barrier_t start;    /* workers + the main thread */
    /* Set to 1 by the main thread when the duration is over or on an
     * interrupt; read relaxed by workers between ops. It publishes nothing:
     * results travel through pthread_join. */
    int stop;
    uint64_t ops_limit;         /* per thread; UINT64_MAX in duration mode */
    uint64_t latency_sample;    /* time every latency_sample-th op; 0: none */
    uint64_t seed;
    bool once;                  /* `ops: once`: each worker runs its script once */
    FILE *out;                  /* show, assert, labelled is/eq, trace.* print here */
    int nthreads;               /* > 1: those lines name their thread */
    struct gh_class_ctx *classes; /* [s->nglobals]: the __del__ arguments */
    /* Counters the model's callbacks bump from any thread (relaxed atomic
     * adds; read after the join): per class global, how many times its
     * __del__ (or legacy finalizer) ran; and counting weakref callbacks. */
    int64_t *finalized;         /* [s->nglobals] */
    uint64_t callbacks;
    /* The collector's counters (struct gh_gc_counts); gc_live: the
     * callback is registered (else readers fall back to gh_gc_stats). */
    pthread_mutex_t gc_mutex;
    struct gh_gc_counts gc;
    bool gc_live;
    /* The globals namespace's header, laid out as 3.13t's module dict's:
     * its lock (ob_mutex) and the pointer to its slots (ma_keys) share a
     * cache line. Under sync=objlock global.add takes the lock to rebind a
     * counter's slot (and to read it when it cannot read lock-free); a
     * lock-free read loads `slots` before and after it takes the value, as
     * _Py_dict_lookup_threadsafe loads ma_keys, so it reads the line every
     * store's lock writes (worker.fl.c). `slots` is run->globals, set
     * before the workers start and never changed. */
    struct {
        gh_mutex lock;
        gh_object **slots;
    } GH_ALIGNED_CACHELINE ns;
};

/* Copies the collector's counters as of its last completed collection. */
void gh__run_gc_counts(struct gh_run_shared *run, struct gh_gc_counts *out);

/* The outcomes of the ops a count(OP, X) or failed(OP, X) reads, per pair
 * of gh_scenario.tallies. */
struct gh_op_tally {
    uint64_t done, failed;
};

enum gh_worker_phase {
    GH_WPHASE_STARTING, GH_WPHASE_INIT, GH_WPHASE_READY, GH_WPHASE_RUNNING,
    GH_WPHASE_AFTER, GH_WPHASE_DONE
};

struct gh_worker {
    struct gh_tstate ts;        /* first: cache-line aligned */
    struct gh_run_shared *run;
    int index;
    int role;
    struct gh_thread_result *res; /* written only by this worker */
    uint64_t t_start, t_stop;   /* measured phase, by this worker's clock reads */
    /* Ops done in the measured phase so far: stored relaxed by this worker
     * before each stretch of ops (worker.fl.c), loaded relaxed by the main
     * thread for the intervals (run.c). A progress count: nothing is
     * published through it, and a value a stretch old is as good. */
    uint64_t ops_live;
    /* For the stall watchdog (run.c): where this worker is (enum
     * gh_worker_phase) and, in the measured loop, the op it runs (its kind
     * plus one; 0 between ops' stretches). Stored relaxed by this worker,
     * loaded relaxed by the main thread; as ops_live, nothing is published
     * through them. */
    uint32_t phase;
    uint32_t op_live;
    uint64_t sink;              /* keeps reads (list.len) from being optimised away */
    pthread_t thread;
    /* The same counters, for what ran on this thread only (what show and
     * assert inside a role read). Written only by this worker. */
    int64_t *finalized;         /* [s->nglobals] */
    uint64_t callbacks;
    uint64_t pass;              /* script passes completed ({iter: K} keys) */
    /* global.add on each counter global: successful adds and the sum of
     * what they added ([s->nglobals]; written only by this worker, summed
     * after the join: what the counter would hold if nothing were lost). */
    uint64_t *counter_adds;
    int64_t *counter_sum;
    /* The measured ops each pair of s->tallies counts, done and failed
     * ([s->ntallies], NULL when none): written only by this worker, when
     * such an op returns (worker.fl.c, exec_op_special; a fault in the
     * checked mode, exec_op_checked); read by its own show and assert as
     * they go, and summed over the workers after the join (run.c). */
    struct gh_op_tally *tally;
    /* The checked mode: the successful insertions (list.append, a new
     * key's dict.set, set.add) and removals (list.pop, dict.del,
     * set.discard) on each list, dict or set global ([s->nglobals]; NULL
     * when not checked), for the container invariant len == len0 + adds -
     * removes. Written only by this worker, summed
     * over the workers after the join. Plain counts: an atomic add per
     * operation on a line every thread shares would cost the checked runs
     * what it measures. */
    uint64_t *len_adds, *len_removes;
    /* The frame: the role's locals and one evaluation-stack slot
     * (worker.fl.c). Allocated zeroed by run.c before the thread starts;
     * written only by this worker while it is attached; read by the
     * collector with the world stopped (the frames are its roots under
     * deferred=on: run.c's frames_visit). */
    gh_stackref *frame;
    int frame_slots;            /* role->nlocals + 1 */
    /* The frame while the worker runs its loop, else NULL: what the census
     * counts as this thread's roots (its counted references; a deferred
     * frame reference counts nothing). Written by the worker holding the
     * GIL or attached to the world; read by the census with the GIL held
     * or the world stopped (ordered by the GIL's or the stop's mutex). */
    gh_stackref *census_frame;
    /* --trace: this worker's event ring (base/timeline.h), or NULL. */
    struct gh_tl_buf *tl;
    struct gh_lockprof *lp;          /* base/lockprof.h, or NULL */
};

/* What an expression reads: the run, and inside a role the thread's
 * locals (role, locals and w are NULL for the checks after the run). */
struct gh_eval_ctx {
    struct gh_run_shared *run;
    const struct gh_role *role;
    const gh_stackref *locals;  /* the frame (worker.fl.c): read untagged */
    struct gh_worker *w;
};

/* The scenario layer's own flavoured entry points (worker.fl.c), one table
 * per flavour beside its struct gh_flavor; run.c picks the one of the
 * run's flavour (gh_scenario_fl_find). */
struct gh_scenario_fl {
    /* Builds run->globals from the scenario's setup, in order (main thread,
     * before the workers start). */
    void (*setup)(struct gh_run_shared *run, struct gh_rng *rng);
    /* Releases the globals, in order; each slot is cleared before its
     * object is released (a __del__ that resurrects into it finds NULL). */
    void (*teardown)(struct gh_run_shared *run);
    /* deferred=immortal (worker.fl.c): before the workers are created, classes and functions become immortal; after the teardown's
     * last collection, they are made mortal with the references left to
     * them and released. */
    void (*immortals_start)(struct gh_run_shared *run);
    void (*immortals_release)(void);
    /* gh_eval_env.object; ctx is a struct gh_eval_ctx. */
    int (*eval_object)(void *ctx, const struct gh_expr *e, int64_t *out, char *err,
                       size_t errlen);
    /* After setup, before the workers (main thread): the scenario's `gc:`
     * section (thresholds, enabled, debug, freeze), and gc.garbage made
     * when an expression reads it. */
    void (*gc_setup)(struct gh_run_shared *run);
    /* After the checks, before the teardown: unfreezes what a freeze left
     * in the permanent generation, so the last collection sees it. */
    void (*gc_teardown)(struct gh_run_shared *run);
};

#define GH_X_(s, r) extern const struct gh_scenario_fl GH_FL_NAME(gh_scenario_fl, s##_##r);
GH_FLAVORS(GH_X_)
#undef GH_X_

#endif
