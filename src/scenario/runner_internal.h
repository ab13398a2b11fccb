/* runner_internal.h - what run.c shares with the flavoured worker loop.
 * Layer: scenario (private). */
#ifndef GH_SCENARIO_RUNNER_INTERNAL_H
#define GH_SCENARIO_RUNNER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "base/tstate.h"
#include "object/object.h"
#include "scenario/run.h"

/* Shared by all threads of a run. Everything is written by the main thread
 * before the workers are created (pthread_create orders it before them) and
 * read-only afterwards, except `stop`. */
struct gh_run_shared {
    const struct gh_scenario *s;
    gh_object **globals;        /* [s->nglobals]; the run owns a reference */
    pthread_barrier_t start;    /* workers + the main thread */
    /* Set to 1 by the main thread when the duration is over or on an
     * interrupt; read relaxed by workers between ops. It publishes nothing:
     * results travel through pthread_join. */
    int stop;
    uint64_t ops_limit;         /* per thread; UINT64_MAX in duration mode */
    uint64_t latency_sample;    /* time every latency_sample-th op; 0: none */
    uint64_t seed;
};

struct gh_worker {
    struct gh_tstate ts;        /* first: cache-line aligned */
    struct gh_run_shared *run;
    int index;
    int role;
    struct gh_thread_result *res; /* written only by this worker */
    uint64_t t_start, t_stop;   /* measured phase, by this worker's clock reads */
    uint64_t sink;              /* keeps reads (list.len) from being optimised away */
    pthread_t thread;
};

#endif
