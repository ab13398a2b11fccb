/* run.h - running a scenario under a strategy, and what a run produces.
 *
 * gh_run() builds the heap the scenario's setup describes, starts the
 * threads together at a barrier, lets them run their roles for the duration
 * (or op count), joins them, evaluates the checks and tears the heap down.
 * Everything measured is in struct gh_result; report/ turns it into text,
 * JSON and CSV.
 *
 * Layer: scenario.
 */
#ifndef GH_SCENARIO_RUN_H
#define GH_SCENARIO_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alloc/alloc.h"      // struct gh_alloc_stats
#include "base/hazard.h"      // struct gh_hazard_counts
#include "base/hist.h"        // struct gh_hist
#include "base/inject.h"      // struct gh_inject_spec, GH_INJ_COUNT
#include "base/lockstat.h"    // struct gh_lockstat, GH_LOCK_NCLASSES
#include "gc/census.h"        // struct gh_census_stats
#include "gc/gc.h"            // struct gh_gc_stats
#include "scenario/scenario.h"
#include "scenario/strategy.h"

struct gh_result;

struct gh_run_config {
    struct gh_strategy strategy;
    int threads;              /* 0: the scenario's */
    uint64_t duration_ns;     /* 0: the scenario's */
    uint64_t ops_per_thread;  /* 0: the scenario's */
    uint64_t seed;
    bool seed_given;          /* else the scenario's (or 1) */
    /* Latency: one op in `latency_sample` is timed (0 = none). Timing every
     * op would measure the clock (two reads per timed op). The CLI's
     * default is 1024 (--latency-sample). */
    unsigned latency_sample;
    /* Pinning (--cpus): worker i runs on cpus[i % ncpus], and the main
     * thread, for the run, on any CPU of the list (its own affinity is
     * restored after). ncpus 0: no pinning. Each CPU below CPU_SETSIZE
     * and one the process may use (the CLI checks; else the run refuses). */
    const int *cpus;
    int ncpus;
    /* perf --control fifos (PERF_CTL_FIFO/PERF_ACK_FIFO): when set, the run
     * enables perf only for the measured phase. */
    bool perf_control;
    /* Where show, assert, labelled is/eq and trace.* ops print (NULL:
     * stdout). */
    FILE *out;
    /* The checked mode (--check / --no-check): 0 the default (on exactly
     * for a strategy that is unsafe by construction), 1 on, -1 off. */
    int check;
    /* The checked mode's census (gc/census.h): its period during the
     * measured phase, 0 for the default (100 ms). */
    uint64_t census_ns;
    /* The timeline (--trace, base/timeline.h): each thread's ring holds
     * about this many events (0: no timeline, the default). */
    uint32_t timeline_events;
    /* Hold and wait distributions per lock class (--lock-profile,
     * base/lockprof.h): 1 in lock_profile holds timed (0: not profiled,
     * the default). */
    uint32_t lock_profile;
    /* --report-every: the measured phase's ops per thread sampled every
     * this many ns, a line printed on `out` for each interval and the
     * series kept (0: none). The trace's counter tracks sample without it,
     * every GH_RUN_TRACE_SAMPLE_NS. */
    uint64_t report_every_ns;
    /* Called by the main thread for each --report-every interval k as it
     * ends (res->intervals[k] and its ops are filled); NULL: none. */
    void (*on_interval)(const struct gh_result *res, int k, void *arg);
    void *on_interval_arg;
    /* --inject: delays at named points of the runtime (base/inject.h),
     * armed while the workers run; at most one spec per point. */
    const struct gh_inject_spec *inject;
    int ninject;
    /* The stall watchdog (--stall): when no worker makes progress for this
     * long the run is diagnosed (res->stall) and ended with status
     * `stalled`. 0: GH_RUN_STALL_DEFAULT_NS (times GH_RUN_STALL_SCALE
     * under a sanitizer); UINT64_MAX: no watchdog. */
    uint64_t stall_ns;
};

#define GH_RUN_STALL_DEFAULT_NS 10000000000u
#if GH_TSAN
#define GH_RUN_STALL_SCALE 10u
#elif GH_ASAN
#define GH_RUN_STALL_SCALE 4u
#else
#define GH_RUN_STALL_SCALE 1u
#endif

/* What the watchdog saw of one worker when it fired. */
struct gh_stall_thread {
    int index;
    const char *phase;        /* "starting", "init", "ready", "running",
                                 "after", "done" */
    const char *op;           /* the op it was running (measured loop), or NULL */
    uint64_t ops;             /* ops done in the measured phase (a stretch old) */
    int wait_class;           /* enum gh_lock_class of the lock it waits
                                 for; -1: none; GH_LOCK_NCLASSES: a lock
                                 of no thread's class */
    uintptr_t wait_lock;      /* that lock's address */
    int holder;               /* the worker holding it in a critical
                                 section; -1: not found (a lock held
                                 outside critical sections is not
                                 recorded); the GIL: the GIL's holder */
    const char *stw;          /* "attached", "detached", "suspended" (parked
                                 for a stop), or "?" */
    bool qsbr_online;
};

struct gh_stall {
    uint64_t idle_ns;         /* no progress for this long */
    const char *phase;        /* the runner's: "start" (workers not all at
                                 the start barrier), "measure", "join" */
    int gil_holder;           /* has_gil: the GIL's last taker (-2 none,
                                 -3 its mutex stayed busy) */
    bool gil_locked;
    int stw_stopper;          /* the thread stopping the world (-2 none,
                                 -3 the stop's mutex stayed busy) */
    bool collecting;          /* a collection is under way */
    int nthreads;
    struct gh_stall_thread *thread;
    bool joined;              /* after the report the injected hangs were
                                 released and every worker ended: the run
                                 was torn down as usual */
};

/* The trace's counter tracks' period without --report-every. */
#define GH_RUN_TRACE_SAMPLE_NS 10000000u

/* One interval of the measured phase, as the main thread sampled it. */
struct gh_interval {
    uint64_t t_ns;       /* its end, from the start of the measured phase */
    uint64_t dur_ns;     /* its length (the main thread may wake late) */
    uint64_t live_bytes; /* the allocator's live bytes at its end */
    int64_t live_blocks; /* allocations minus frees at its end */
};

struct gh_op_result {
    uint64_t done;            /* succeeded */
    uint64_t failed;          /* ran but failed (pop on empty, missing key) */
    struct gh_hist latency;   /* sampled, ns */
};

/* rc=biased's slow paths (rc/brc.h), counted by the thread that took them.
 * The fast paths are not counted: a counter there would cost as much as
 * what it counts. */
struct gh_rc_stats {
    uint64_t shared_decrefs; /* decrements of an object another thread owns */
    uint64_t queued;         /* objects queued for their owner to merge */
    uint64_t merged;         /* merges: local count reached 0 with others
                                counting, queue merges, merges for an exited
                                owner, the collector's */
    /* sync=objlock rc=biased's lock-free reads (containers/containers.h):
     * list.get / dict.get that fell back to the locked path (a refused
     * conditional increment, a slot changed under the read). */
    uint64_t lockfree_list_fallbacks, lockfree_dict_fallbacks;
};

struct gh_thread_result {
    int index;
    int role;                 /* index in scenario->roles */
    uint64_t ops;             /* done + failed, all kinds */
    uint64_t elapsed_ns;      /* from the barrier to this thread's stop */
    struct gh_op_result op[GH_OP_COUNT];
    struct gh_lockstat locks[GH_LOCK_NCLASSES];
    struct gh_rc_stats rc;
    struct gh_hazard_counts hazards;
};

struct gh_gil_stats {
    uint64_t switches;        /* the GIL changed hands */
    uint64_t drop_requests;   /* a waiter timed out and asked the holder to drop */
    uint64_t forced_handoffs; /* a holder dropped on request and waited until
                                 another thread had taken the GIL */
};

struct gh_check_result {
    const char *text;         /* points into the scenario */
    bool pass;
    bool error;               /* could not be evaluated (message in detail) */
    char detail[256];         /* "len(L) = 17, count(list.append) - count(list.pop) = 17" style */
};

/* A counter global (the target of global.add) after the run. */
struct gh_counter_result {
    const char *name;         /* the global's, in the scenario */
    bool via_call;
    uint64_t adds;            /* successful global.add ops on it */
    int64_t initial;          /* its value after setup */
    int64_t expected;         /* initial + the sum of what the adds added */
    int64_t final;            /* its value after the threads stopped */
    bool final_known;         /* false: the slot held no int (a freed one) */
    int64_t lost;             /* expected - final: updates overwritten by a
                                 racing read-modify-write (0 when unknown) */
};

enum gh_status {
    GH_STATUS_OK, GH_STATUS_FAILED, GH_STATUS_HAZARDS, GH_STATUS_INTERRUPTED, GH_STATUS_STALLED
};
extern const char *const gh_status_names[5];

struct gh_result {
    const struct gh_scenario *scenario;
    struct gh_strategy strategy;
    const char *unsafe_reason;      /* NULL when the combination is safe */
    int threads;
    uint64_t duration_ns;           /* as configured (0 with ops) */
    uint64_t ops_per_thread;        /* as configured (0 with duration) */
    uint64_t seed;
    unsigned latency_sample;
    int *cpus;                      /* [ncpus]: the --cpus list (worker i on
                                       cpus[i % ncpus]); NULL, 0 when unpinned */
    int ncpus;

    uint64_t wall_ns;               /* measured phase: the first worker's start
                                       (after the barrier) to the last one's stop */
    uint64_t total_ops;             /* done + failed, all threads */
    struct gh_thread_result *thread; /* [threads] */
    struct gh_op_result op[GH_OP_COUNT];             /* merged */
    struct gh_lockstat locks[GH_LOCK_NCLASSES];     /* merged */
    struct gh_rc_stats rc;                          /* merged, main thread's included */
    bool checked;                   /* the checked mode was on */
    struct gh_hazard_counts hazards; /* merged; first example: the first
                                        thread's (by index) that saw one */
    uint64_t hazards_total;
    struct gh_census_stats census;  /* the checked mode's censuses (gc/census.h) */
    bool has_gil;
    struct gh_gil_stats gil;
    struct gh_alloc_stats alloc;    /* at the end of the measured phase */
    struct gh_gc_stats gc;          /* collections up to the checks (the
                                       teardown's last collection excluded) */
    int64_t gc_thresholds[GH_GC_NGENS]; /* as the threads started (after the
                                       scenario's `gc:` section) */
    bool gc_enabled;                /* likewise: automatic collections on */
    int64_t gc_garbage_at_exit;     /* len(gc.garbage) after the teardown's
                                       collection (uncollectable cycles) */
    uint64_t alloc_live_after_teardown; /* bytes still live after the heap
                                           was torn down: a leak if > 0 */
    long peak_rss_kb;               /* getrusage ru_maxrss */
    struct gh_counter_result *counters; /* [ncounters], in setup order */
    int ncounters;
    struct gh_check_result *checks; /* [scenario->nchecks] */
    int nchecks;
    int checks_failed;
    /* The timeline, when cfg->timeline_events: one ring per worker (index
     * i) and the main thread's last ([threads]); freed by gh_result_free.
     * timeline_t0 is the clock as the workers were started. */
    struct gh_tl_buf **timelines;
    int ntimelines;
    uint64_t timeline_t0;
    uint64_t timeline_t1;           /* the clock as the last worker stopped */
    /* The lock profile, when cfg->lock_profile: one per worker (index i)
     * and the main thread's last ([threads]), and all merged; freed by
     * gh_result_free. */
    struct gh_lockprof **lockprofs;
    int nlockprofs;
    struct gh_lockprof *lockprof;   /* merged; NULL: not profiled */
    /* The intervals (cfg->report_every_ns, or the trace's sampling):
     * interval_ops[k * threads + i] is what worker i did in interval k.
     * intervals_reported: they were --report-every's (printed, and in the
     * JSON). Freed by gh_result_free. */
    uint64_t interval_ns;
    uint64_t interval_t0;           /* the clock as the intervals began */
    int nintervals;
    struct gh_interval *intervals;
    uint64_t *interval_ops;
    bool intervals_reported;
    /* --inject: the specs as run (a copy), and what each point did over
     * the workers: passes through it that matched the thread filter, and
     * the delays made. */
    struct gh_inject_spec *inject;
    int ninject;
    uint64_t inject_passes[GH_INJ_COUNT], inject_fired[GH_INJ_COUNT];
    uint64_t stall_ns;              /* the watchdog's limit (0: off) */
    struct gh_stall *stall;         /* NULL unless the watchdog fired */
    enum gh_status status;
};

/* --inject's argument POINT=DELAY[@P][:THREADS] (scenario/inject_arg.c):
 * 0, or -1 with the message in err. Format writes a spec back in that
 * syntax (what parses to the same spec). */
int gh_inject_parse(const char *text, struct gh_inject_spec *out, char *err, size_t errlen);
void gh_inject_format(const struct gh_inject_spec *sp, char *buf, size_t len);

/* Runs. Returns 0 with *res filled (free with gh_result_free), or -1 with a
 * message in diag for a configuration that cannot run (exit status 2).
 * A run the watchdog stopped whose workers did not end (res->stall->joined
 * false) leaves them running, and nothing torn down: the caller reports
 * and exits the process. */
int gh_run(struct gh_scenario *s, const struct gh_run_config *cfg,
           struct gh_result *res, struct gh_diag *diag);
void gh_result_free(struct gh_result *res);

/* Asks a running gh_run to stop early (async-signal-safe: one atomic
 * store); the result's status is then `interrupted`. */
void gh_run_request_stop(void);

/* Operations per second over the measured phase. */
double gh_result_throughput(const struct gh_result *r);

#endif
