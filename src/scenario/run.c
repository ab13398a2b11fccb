/* run.c - gh_run: set up, start together, stop, join, check, tear down.
 * See run.h. The per-op loop is worker.fl.c. */
#define _GNU_SOURCE
#include "scenario/run.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc/trace.h"
#include "base/clock.h"
#include "base/die.h"
#include "base/inject.h"
#include "base/lockprof.h"
#include "base/qsbr.h"
#include "base/rng.h"
#include "base/stw.h"
#include "base/timeline.h"
#include "object/object.h"
#include "scenario/flavor.h"
#include "containers/singletons.h" // struct gh_int: a counter's value
#include "scenario/runner_internal.h"
#include "scenario/runtime.h"
#include "sync/critsec.h"
#include "sync/gil_lock.h"

const char *const gh_status_names[5] = {"ok", "failed", "hazards", "interrupted", "stalled"};

static int interrupt_requested; /* set from a signal handler: atomic store */

void gh_run_request_stop(void) { gh_atomic_store_relaxed_int(&interrupt_requested, 1); }

const struct gh_flavor *gh_flavor_find(enum gh_sync_kind sync, enum gh_rc_kind rc)
{
    static const struct gh_flavor *const all[] = {
#define GH_X_(s, r) &GH_FL_NAME(gh_flavor, s##_##r),
        GH_FLAVORS(GH_X_)
#undef GH_X_
    };
    /* gil-ticks is the gil flavour; its switch points count ticks instead
     * of watching for drop requests (sync/gil_lock.h, a run-time mode). */
    if (sync == GH_SYNC_GIL_TICKS)
        sync = GH_SYNC_GIL;
    for (size_t i = 0; i < GH_ARRAY_LEN(all); i++)
        if (all[i]->sync == sync && all[i]->rc == rc)
            return all[i];
    return NULL;
}

/* The scenario layer's table of the same flavour as fl. */
static const struct gh_scenario_fl *gh_scenario_fl_find(const struct gh_flavor *fl)
{
#define GH_X_(s, r)                                                            \
    if (fl == &GH_FL_NAME(gh_flavor, s##_##r))                                 \
        return &GH_FL_NAME(gh_scenario_fl, s##_##r);
    GH_FLAVORS(GH_X_)
#undef GH_X_
    return NULL;
}

double gh_result_throughput(const struct gh_result *r)
{
    return r->wall_ns ? (double)r->total_ops * 1e9 / (double)r->wall_ns : 0.0;
}

/* ---- perf --control: profile only the measured phase -------------------- */

static int perf_ctl_fd = -1, perf_ack_fd = -1;

static void perf_ctl_open(void)
{
    const char *ctl = getenv("PERF_CTL_FIFO"), *ack = getenv("PERF_ACK_FIFO");
    if (!ctl)
        return;
    /* perf holds the fifos open; O_NONBLOCK makes open fail (ENXIO) rather
     * than hang when perf is not there. */
    perf_ctl_fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (perf_ctl_fd < 0)
        return;
    fcntl(perf_ctl_fd, F_SETFL, 0);
    if (ack && (perf_ack_fd = open(ack, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0)
        fcntl(perf_ack_fd, F_SETFL, 0);
}

static void perf_ctl(const char *cmd)
{
    char buf[16];
    size_t n = strlen(cmd);
    if (perf_ctl_fd < 0)
        return;
    if (write(perf_ctl_fd, cmd, n) != (ssize_t)n)
        return;
    if (perf_ack_fd >= 0)
        (void)!read(perf_ack_fd, buf, sizeof buf);
}

static void perf_ctl_close(void)
{
    if (perf_ctl_fd >= 0)
        close(perf_ctl_fd);
    if (perf_ack_fd >= 0)
        close(perf_ack_fd);
    perf_ctl_fd = perf_ack_fd = -1;
}

/* ---- the collector's counters ---------------------------------------------- */

static void copy_counts(struct gh_gc_counts *out, const struct gh_gc_stats *st)
{
    memcpy(out->gen, st->gen, sizeof out->gen);
    out->examined = st->examined;
    out->unreachable = st->unreachable;
    out->collected = st->collected;
    out->finalized = st->finalized;
    out->resurrected = st->resurrected;
    out->uncollectable = st->uncollectable;
    out->untracked_tuples = st->untracked_tuples;
    out->untracked_dicts = st->untracked_dicts;
    out->weakrefs_cleared = st->weakrefs_cleared;
    out->weakref_callbacks = st->weakref_callbacks;
}

/* A gc callback: at the end of each collection the collecting thread, which
 * owns gh_gc_stats, publishes the counters for the gc.* expressions. */
static void run_gc_callback(const char *phase, const struct gh_gc_info *info, void *arg)
{
    struct gh_run_shared *run = arg;
    (void)info;
    if (strcmp(phase, "stop") != 0)
        return;
    gh_check_pthread(pthread_mutex_lock(&run->gc_mutex));
    copy_counts(&run->gc, &gh_gc_stats);
    gh_check_pthread(pthread_mutex_unlock(&run->gc_mutex));
}

void gh__run_gc_counts(struct gh_run_shared *run, struct gh_gc_counts *out)
{
    if (!run->gc_live) {
        /* No callback slot was free: read the statistics themselves (exact
         * once the workers have joined). */
        copy_counts(out, &gh_gc_stats);
        return;
    }
    gh_check_pthread(pthread_mutex_lock(&run->gc_mutex));
    *out = run->gc;
    gh_check_pthread(pthread_mutex_unlock(&run->gc_mutex));
}

/* ---- checks --------------------------------------------------------------- */

/* The checks' context: the object functions (the flavour's) read ec. */
struct check_ctx {
    struct gh_eval_ctx ec;    /* first: env.ctx is read as either */
    const struct gh_scenario_fl *sfl;
    const struct gh_result *res;
    const struct gh_op_tally *tally; /* [s->ntallies]: the workers' summed */
};

static uint64_t env_count(void *ctx, enum gh_op_kind op)
{
    return ((struct check_ctx *)ctx)->res->op[op].done;
}

static uint64_t env_failed(void *ctx, enum gh_op_kind op)
{
    return ((struct check_ctx *)ctx)->res->op[op].failed;
}

/* adds(C): the counter's successful adds over the run (counters_finish);
 * 0 for an int global no global.add updates. */
static uint64_t env_adds(void *ctx, int slot)
{
    const struct gh_result *res = ((struct check_ctx *)ctx)->res;
    const char *name = ((struct check_ctx *)ctx)->ec.run->s->globals[slot].name;
    for (int i = 0; i < res->ncounters; i++)
        if (!strcmp(res->counters[i].name, name))
            return res->counters[i].adds;
    return 0;
}

/* count(OP, X), failed(OP, X): the pair's ops over the run (run_merge);
 * every pair an expression reads has a tally. */
static uint64_t env_count_on(void *ctx, enum gh_op_kind op, int slot, bool failed)
{
    const struct check_ctx *c = ctx;
    int t = gh_scenario_tally(c->ec.run->s, op, slot);
    if (t < 0)
        return 0;
    return failed ? c->tally[t].failed : c->tally[t].done;
}

static void run_checks(struct gh_scenario *s, struct check_ctx *ctx, struct gh_result *res)
{
    struct gh_eval_env env = {.count = env_count, .failed = env_failed, .adds = env_adds,
                              .count_on = env_count_on, .ctx = ctx,
                              .object = ctx->sfl->eval_object};
    res->nchecks = s->nchecks;
    res->checks = calloc((size_t)(s->nchecks ? s->nchecks : 1), sizeof *res->checks);
    gh_assert(res->checks);
    for (int i = 0; i < s->nchecks; i++) {
        struct gh_check_result *cr = &res->checks[i];
        int64_t v;
        char err[200];
        cr->text = s->checks[i].text;
        if (gh_expr_eval(s->checks[i].expr, &env, &v, err, sizeof err) != 0) {
            cr->error = true;
            cr->pass = false;
            snprintf(cr->detail, sizeof cr->detail, "cannot evaluate: %s", err);
        } else {
            cr->pass = v != 0;
            /* Show the operands of a top-level comparison. */
            const struct gh_expr *e = s->checks[i].expr;
            int64_t l, r;
            if (gh_expr_is_bool(e) && e->kind != GH_EX_NOT && e->kind != GH_EX_AND &&
                e->kind != GH_EX_OR && e->l && e->r && e->l->kind != GH_EX_NAME &&
                gh_expr_eval(e->l, &env, &l, err, sizeof err) == 0 &&
                gh_expr_eval(e->r, &env, &r, err, sizeof err) == 0)
                snprintf(cr->detail, sizeof cr->detail, "left = %lld, right = %lld",
                         (long long)l, (long long)r);
            else
                snprintf(cr->detail, sizeof cr->detail, "value = %lld", (long long)v);
        }
        if (!cr->pass)
            res->checks_failed++;
    }
}

/* ---- the checked mode -------------------------------------------------------- */

static void hazards_merge(struct gh_hazard_counts *into, const struct gh_hazard_counts *from)
{
    for (int k = 0; k < GH_HAZARD_COUNT; k++) {
        if (!from->n[k])
            continue;
        if (!into->n[k])
            into->first[k] = from->first[k];
        into->n[k] += from->n[k];
    }
}

/* A memory fault inside a checked op (worker.fl.c, exec_op_checked) jumps
 * back to it; anywhere else it is the crash it is. */
static struct sigaction old_segv, old_bus;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    struct gh_tstate *ts = gh_tstate_get();
    if (ts && ts->fault_jmp)
        siglongjmp(*(sigjmp_buf *)ts->fault_jmp, 1);
    sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
    raise(sig);
}

static void fault_handler_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
}

static void fault_handler_remove(void)
{
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

/* The workers' frames, the collector's roots under deferred=on
 * (gh_gc_set_roots): only the tagged slots, the uncounted references to
 * deferred objects (the counted ones are in the counts already). Called by
 * the collecting thread with the world stopped, so no worker writes its
 * frame meanwhile (the stop's handshake orders their writes before these
 * reads); a worker that has not started or has finished has a zeroed
 * frame. */
struct frames {
    struct gh_worker *w;
    int n;
};

static void frames_visit(gh_visitproc visit, void *arg, void *ctx)
{
    const struct frames *f = ctx;
    for (int i = 0; i < f->n; i++) {
        const struct gh_worker *w = &f->w[i];
        for (int k = 0; k < w->frame_slots; k++)
            if (gh_stackref_is_deferred(w->frame[k]))
                visit(gh_stackref_obj(w->frame[k]), arg);
    }
}

/* The checked mode's teardown: what an unsafe strategy left behind (a
 * count too low, a torn slot) may fault while the globals are released; a
 * fault is a hazard, and what was not released yet is left (a leak,
 * counted after). */
static void checked_teardown(const struct gh_scenario_fl *sfl, const struct gh_flavor *fl,
                             struct gh_run_shared *run, struct gh_tstate *ts,
                             struct gh_result *res)
{
    sigjmp_buf jb;
    volatile int stage = 0;
    if (sigsetjmp(jb, 0)) {
        gh_hazard_note(GH_HAZARD_FAULT, NULL);
        ts->deallocating = false;
        ts->dealloc_len = 0;
        ts->c_recursion = 0;
        stage++;
    }
    ts->fault_jmp = &jb;
    if (stage == 0)
        sfl->gc_teardown(run);
    if (stage <= 1) {
        stage = 1;
        sfl->teardown(run);
    }
    if (stage <= 2) {
        stage = 2;
        res->gc_garbage_at_exit = fl->gc_fini();
    }
    if (stage <= 3) {
        stage = 3;
        sfl->immortals_release();
    }
    ts->fault_jmp = NULL;
}

/* ---- the census (gc/census.h) ------------------------------------------------ */

/* Every cfg->census_ns (default CENSUS_INTERVAL_NS) of the measured phase,
 * counted from the end of the last one, so a census of a big heap cannot
 * take the whole run; and once after the workers have stopped. */
#define CENSUS_INTERVAL_NS UINT64_C(100000000)

struct census_ctx {
    struct gh_run_shared *run;
    struct gh_worker *w;       /* NULL after the join: the globals only */
    int nthreads;
    bool has_gil;
};

static void census_visit(gh_visitproc visit, void *visit_arg, void *arg)
{
    struct census_ctx *c = arg;
    const struct gh_scenario *s = c->run->s;
    for (int i = 0; i < s->nglobals; i++)
        if (c->run->globals[i])
            visit(c->run->globals[i], visit_arg);
    for (int i = 0; i < s->nconsts; i++)
        if (c->run->consts[i])
            visit(c->run->consts[i], visit_arg);
    for (int t = 0; c->w && t < c->nthreads; t++) {
        const gh_stackref *frame = c->w[t].census_frame;
        if (!frame)
            continue;
        /* Counted frame references only: a deferred one counts nothing
         * (the census compares with the count without the bias). */
        for (int i = 0; i < c->w[t].frame_slots; i++)
            if (frame[i] && !gh_stackref_is_deferred(frame[i]))
                visit(gh_stackref_obj(frame[i]), visit_arg);
    }
}

/* Every worker is in its loop and parked at its switch point. Under the
 * GIL, holding it is enough: a worker gives it up only at a switch point,
 * or in `io`, which holds nothing its locals do not. Without it, a
 * detached worker may be inside an operation (waiting for a lock, with a
 * new reference in hand), so only a suspended one will do. */
static bool census_quiescent(void *arg)
{
    struct census_ctx *c = arg;
    for (int t = 0; t < c->nthreads; t++) {
        if (!c->w[t].census_frame)
            return false;
        if (!c->has_gil && gh_stw_state(&c->w[t].ts) != GH_THREAD_SUSPENDED)
            return false;
    }
    return true;
}

/* The globals whose length the checked mode's invariant follows. */
static bool is_sized(const gh_object *o)
{
    enum gh_kind k = o->ob_type->kind;
    return k == GH_KIND_LIST || k == GH_KIND_DICT || k == GH_KIND_SET;
}

/* ---- counters (global.add) ------------------------------------------------- */

/* An int global's value; false when the slot holds something else (under
 * sync=none, a freed int the checked mode poisoned). */
static bool int_value(const gh_object *o, int64_t *v)
{
    if (!o || o->ob_type->kind != GH_KIND_INT)
        return false;
    *v = ((const struct gh_int *)(const void *)o)->value;
    return true;
}

/* After the join: each counter's successful adds against its value. A
 * lost inline update is a hazard where the strategy promises that an
 * inline read-modify-write has no switch point inside it: a GIL, and
 * sync=none (the GIL build with the lock taken out). Through a call, and
 * without a GIL, CPython loses updates too: counted, not a hazard. */
static void counters_finish(const struct gh_scenario *s, struct gh_run_shared *run,
                            struct gh_worker *w, int nthreads, const int64_t *initial,
                            struct gh_result *res)
{
    int n = 0;
    for (int g = 0; g < s->nglobals; g++)
        n += s->globals[g].counter != 0;
    if (!n)
        return;
    res->counters = calloc((size_t)n, sizeof *res->counters);
    gh_assert(res->counters);
    bool atomic_inline = gh_sync_has_gil(res->strategy.sync) ||
                         res->strategy.sync == GH_SYNC_NONE;
    for (int g = 0; g < s->nglobals; g++) {
        if (!s->globals[g].counter)
            continue;
        struct gh_counter_result *c = &res->counters[res->ncounters++];
        c->name = s->globals[g].name;
        c->via_call = s->globals[g].counter == 2;
        c->initial = c->expected = initial[g];
        for (int i = 0; i < nthreads; i++) {
            c->adds += w[i].counter_adds[g];
            c->expected += w[i].counter_sum[g];
        }
        c->final_known = int_value(run->globals[g], &c->final);
        c->lost = c->final_known ? c->expected - c->final : 0;
        if (res->checked && atomic_inline && !c->via_call && c->lost) {
            struct gh_hazard_counts h;
            memset(&h, 0, sizeof h);
            h.n[GH_HAZARD_LOST_RMW] = (uint64_t)(c->lost > 0 ? c->lost : -c->lost);
            h.first[GH_HAZARD_LOST_RMW] = (struct gh_hazard_example){-1, "global.add", "int", -1, -1};
            hazards_merge(&res->hazards, &h);
        }
    }
}

/* ---- the run -------------------------------------------------------------- */

/* One run's state, handed from phase to phase. Lives on gh_run's stack for
 * the whole run: the workers, the collector's roots and the census keep
 * pointers into it. */
struct run_state {
    struct gh_scenario *s;
    const struct gh_run_config *cfg;
    struct gh_result *res;
    struct gh_diag *diag;
    const struct gh_flavor *fl;
    const struct gh_scenario_fl *sfl;
    int nthreads;
    size_t ng;                    /* globals, at least 1 (array sizes) */
    cpu_set_t run_cpus, main_cpus;
    struct gh_runtime rt;
    struct gh_tstate main_ts;
    struct gh_run_shared run;
    struct gh_worker *w;          /* [nthreads] */
    struct frames frames;
    int64_t *counter0;            /* [ng]: each counter as the threads find it */
    struct gh_op_tally *tally;    /* [s->ntallies]: the workers' tallies, summed */
    int64_t *len0;                /* [ng], checked: each list's length then */
    struct census_ctx census;
    struct gh_census_roots census_roots;
    uint64_t census_every, next_census;
    /* The intervals (--report-every, the trace's counters): the period,
     * the next sample's time, the last one's, each worker's ops then, and
     * the series' capacity. 0: not sampled. */
    uint64_t sample_every, next_sample, last_sample, sample_t0;
    uint64_t *last_ops;
    int intervals_cap;
    bool interrupted;
    /* The stall watchdog: its limit (0: off), the workers' progress as last
     * seen (progress_token) and when it last changed. */
    uint64_t stall_ns, progress, progress_t;
    bool stalled;
};

/* Refuses what cannot run, before anything is changed: the strategy, the
 * thread count, an op sync=none cannot run safely, a CPU out of range. */
static int run_validate(struct run_state *rs)
{
    const struct gh_strategy *st = &rs->cfg->strategy;
    struct gh_diag *diag = rs->diag;
    const char *why = gh_strategy_refusal(st);
    char desc[256];
    gh_strategy_describe(st, desc, sizeof desc);
    if (why) {
        snprintf(diag->msg, sizeof diag->msg, "strategy %s is refused: %s", desc, why);
        return -1;
    }
    rs->fl = gh_flavor_find(st->sync, st->rc);
    rs->sfl = rs->fl ? gh_scenario_fl_find(rs->fl) : NULL;
    if (!rs->fl || !rs->sfl) {
        snprintf(diag->msg, sizeof diag->msg,
                 "strategy %s is not compiled into this build", desc);
        return -1;
    }
    struct gh_scenario *s = rs->s;
    rs->nthreads = rs->cfg->threads ? rs->cfg->threads : s->threads;
    if (gh_scenario_assign_threads(s, rs->nthreads, diag) != 0)
        return -1;
    /* sync=none with the compact header: every thread links and unlinks
     * objects in the collector's shared lists without a lock, and a torn
     * link makes a cycle the census and the collector would walk forever. */
    if (st->sync == GH_SYNC_NONE && rs->nthreads > 1 &&
        gh_strategy_header(st) == GH_HEADER_COMPACT) {
        snprintf(diag->msg, sizeof diag->msg,
                 "strategy %s is refused with more than one thread: with header=compact the "
                 "collector's object lists are linked without a lock, and a torn link makes a "
                 "cycle the checked mode cannot walk; use header=full (the default without a "
                 "GIL) or --threads 1", desc);
        return -1;
    }
    if (rs->cfg->ninject && gh_inject_probe() != 0) {
        snprintf(diag->msg, sizeof diag->msg,
                 "--inject: the injection points cannot be patched: making the program's code "
                 "writable failed (%s)", strerror(errno));
        return -1;
    }
    for (int i = 0; i < rs->cfg->ninject; i++) {
        const struct gh_inject_spec *a = &rs->cfg->inject[i];
        bool ok = (unsigned)a->point < GH_INJ_COUNT && a->p > 0 && a->p <= 1 && a->threads;
        for (int j = 0; ok && j < i; j++)
            ok = rs->cfg->inject[j].point != a->point;
        if (!ok) {
            snprintf(diag->msg, sizeof diag->msg,
                     "--inject %s: expected one injection per point, a probability in (0, 1] "
                     "and at least one thread",
                     (unsigned)a->point < GH_INJ_COUNT ? gh_inject_docs[a->point].name : "?");
            return -1;
        }
    }
    CPU_ZERO(&rs->run_cpus);
    for (int i = 0; i < rs->cfg->ncpus; i++) {
        int cpu = rs->cfg->cpus[i];
        if (cpu < 0 || cpu >= CPU_SETSIZE) {
            snprintf(diag->msg, sizeof diag->msg, "CPU %d is out of range (0 to %d)", cpu,
                     CPU_SETSIZE - 1);
            return -1;
        }
        CPU_SET(cpu, &rs->run_cpus);
    }
    return 0;
}

static void restore_affinity(struct run_state *rs)
{
    if (rs->cfg->ncpus)
        gh_check_pthread(pthread_setaffinity_np(pthread_self(), sizeof rs->main_cpus,
                                                &rs->main_cpus));
}

/* The result's configuration (what the report says was run), the main
 * thread's CPUs, and the process set up for the strategy. */
static int run_configure(struct run_state *rs)
{
    const struct gh_run_config *cfg = rs->cfg;
    struct gh_scenario *s = rs->s;
    struct gh_result *res = rs->res;
    /* The main thread runs on the list's CPUs too while the run lasts: it
     * sets up the heap, and wakes to poll, interrupt and census. */
    if (cfg->ncpus) {
        gh_check_pthread(pthread_getaffinity_np(pthread_self(), sizeof rs->main_cpus,
                                                &rs->main_cpus));
        if (pthread_setaffinity_np(pthread_self(), sizeof rs->run_cpus, &rs->run_cpus) != 0) {
            snprintf(rs->diag->msg, sizeof rs->diag->msg,
                     "cannot run on the CPUs asked for: some are not in the process's "
                     "affinity mask");
            return -1;
        }
        res->cpus = malloc(sizeof *res->cpus * (size_t)cfg->ncpus);
        gh_assert(res->cpus);
        memcpy(res->cpus, cfg->cpus, sizeof *res->cpus * (size_t)cfg->ncpus);
        res->ncpus = cfg->ncpus;
    }
    res->scenario = s;
    res->strategy = cfg->strategy;
    res->unsafe_reason = gh_strategy_unsafe_reason(&cfg->strategy);
    res->threads = rs->nthreads;
    if (s->once) {
        /* Each thread runs its role's script once: --ops and --duration do
         * not apply. Reported as the longest script. */
        for (int r = 0; r < s->nroles; r++)
            if ((uint64_t)s->roles[r].nops > res->ops_per_thread)
                res->ops_per_thread = (uint64_t)s->roles[r].nops;
    } else if (cfg->ops_per_thread) {
        res->ops_per_thread = cfg->ops_per_thread;
    } else if (cfg->duration_ns) {
        res->duration_ns = cfg->duration_ns;
    } else {
        res->ops_per_thread = s->ops_per_thread;
        res->duration_ns = s->ops_per_thread ? 0 : s->duration_ns;
    }
    res->seed = cfg->seed_given ? cfg->seed : (s->has_seed ? s->seed : 1);
    res->latency_sample = cfg->latency_sample;
    if (cfg->ninject) {
        res->inject = malloc(sizeof *res->inject * (size_t)cfg->ninject);
        gh_assert(res->inject);
        memcpy(res->inject, cfg->inject, sizeof *res->inject * (size_t)cfg->ninject);
        res->ninject = cfg->ninject;
    }
    rs->stall_ns = cfg->stall_ns == UINT64_MAX ? 0
                   : cfg->stall_ns             ? cfg->stall_ns
                                               : GH_RUN_STALL_DEFAULT_NS * GH_RUN_STALL_SCALE;
    res->stall_ns = rs->stall_ns;
    res->has_gil = gh_sync_has_gil(cfg->strategy.sync);
    res->checked = cfg->check > 0 || (cfg->check == 0 && res->unsafe_reason != NULL);
    /* The timeline's rings, a worker's each and the main thread's last:
     * refused with the sizes when they cannot be had. */
    if (cfg->timeline_events) {
        const int n = rs->nthreads;
        res->timelines = calloc((size_t)n + 1, sizeof *res->timelines);
        res->ntimelines = res->timelines ? n + 1 : 0;
        for (int i = 0; i < res->ntimelines; i++) {
            res->timelines[i] = gh_tl_new(cfg->timeline_events);
            if (!res->timelines[i]) {
                snprintf(rs->diag->msg, sizeof rs->diag->msg,
                         "cannot allocate the timeline: %d rings of %u events of %zu bytes",
                         n + 1, cfg->timeline_events, sizeof(struct gh_tl_event));
                gh_result_free(res);
                restore_affinity(rs);
                return -1;
            }
        }
        if (!res->timelines) {
            snprintf(rs->diag->msg, sizeof rs->diag->msg, "cannot allocate the timeline");
            restore_affinity(rs);
            return -1;
        }
    }
    /* The lock profile's histograms, likewise; a timeline needs them (the
     * GIL's tenure and the sampled holds are kept there). */
    uint32_t every = cfg->lock_profile;
    if (!every && cfg->timeline_events)
        every = GH_LOCKPROF_DEFAULT_EVERY;
    if (every) {
        const int n = rs->nthreads;
        res->lockprofs = calloc((size_t)n + 1, sizeof *res->lockprofs);
        res->nlockprofs = res->lockprofs ? n + 1 : 0;
        res->lockprof = gh_lockprof_new(every);
        bool ok = res->lockprofs && res->lockprof;
        for (int i = 0; ok && i < res->nlockprofs; i++)
            ok = (res->lockprofs[i] = gh_lockprof_new(every)) != NULL;
        if (!ok) {
            snprintf(rs->diag->msg, sizeof rs->diag->msg,
                     "cannot allocate the lock profile: %d sets of histograms, %zu bytes each", n + 2,
                     sizeof(struct gh_lockprof));
            gh_result_free(res);
            restore_affinity(rs);
            return -1;
        }
    }
    if (gh_runtime_init(&rs->rt, &cfg->strategy, res->checked, &rs->main_ts, -1, NULL,
                        rs->diag->msg, sizeof rs->diag->msg) != 0) {
        gh_result_free(res);
        restore_affinity(rs);
        return -1;
    }
    return 0;
}

/* The shared state the workers see, and the heap: the globals, the `gc:`
 * section, each counter's first value. */
static void run_setup_heap(struct run_state *rs)
{
    struct gh_scenario *s = rs->s;
    struct gh_run_shared *run = &rs->run;
    run->s = s;
    run->seed = rs->res->seed;
    run->ops_limit = rs->res->ops_per_thread ? rs->res->ops_per_thread : UINT64_MAX;
    run->latency_sample = rs->cfg->latency_sample;
    run->once = s->once;
    run->out = rs->cfg->out ? rs->cfg->out : stdout;
    run->nthreads = rs->nthreads;
    rs->ng = (size_t)(s->nglobals ? s->nglobals : 1);
    run->globals = calloc(rs->ng, sizeof *run->globals);
    run->consts = calloc((size_t)(s->nconsts ? s->nconsts : 1), sizeof *run->consts);
    run->classes = calloc(rs->ng, sizeof *run->classes);
    run->finalized = calloc(rs->ng, sizeof *run->finalized);
    gh_assert(run->globals && run->consts && run->classes && run->finalized);
    run->ns.slots = run->globals;
    _Static_assert(offsetof(struct gh_run_shared, ns.slots) + sizeof run->ns.slots -
                       offsetof(struct gh_run_shared, ns) <= GH_CACHELINE,
                   "the namespace's lock and slots pointer share a line");
    gh_check_pthread(pthread_mutex_init(&run->gc_mutex, NULL));
    run->gc_live = gh_gc_callback_add(run_gc_callback, run) == 0;
    struct gh_rng setup_rng;
    gh_rng_seed(&setup_rng, rs->res->seed, UINT64_C(1) << 32);
    rs->sfl->setup(run, &setup_rng);
    /* The scenario's `gc:` section, as the threads will find it. */
    rs->sfl->gc_setup(run);
    gh_gc_get_threshold(rs->res->gc_thresholds);
    rs->res->gc_enabled = gh_gc_isenabled();
    rs->counter0 = calloc(rs->ng, sizeof *rs->counter0);
    gh_assert(rs->counter0);
    for (int g = 0; g < s->nglobals; g++)
        if (s->globals[g].counter)
            int_value(run->globals[g], &rs->counter0[g]);
}

/* The workers, each with its frame and counters, shown to the collector;
 * the checked mode's state; then the threads, each waiting at the start
 * barrier. */
static void run_spawn(struct run_state *rs)
{
    struct gh_scenario *s = rs->s;
    struct gh_result *res = rs->res;
    const int n = rs->nthreads;
    const size_t ng = rs->ng;
    struct gh_worker *w = NULL;
    gh_check_pthread(posix_memalign((void **)&w, GH_CACHELINE, sizeof *w * (size_t)n));
    memset(w, 0, sizeof *w * (size_t)n);
    rs->w = w;
    res->thread = calloc((size_t)n, sizeof *res->thread);
    gh_assert(res->thread);
    gh_check_pthread(pthread_barrier_init(&rs->run.start, NULL, (unsigned)n + 1));
    int idx = 0;
    for (int r = 0; r < s->nroles; r++) {
        for (int k = 0; k < s->roles[r].nthreads; k++, idx++) {
            struct gh_worker *wi = &w[idx];
            wi->run = &rs->run;
            wi->index = idx;
            wi->role = r;
            wi->res = &res->thread[idx];
            wi->finalized = calloc(ng, sizeof *wi->finalized);
            wi->counter_adds = calloc(ng, sizeof *wi->counter_adds);
            wi->counter_sum = calloc(ng, sizeof *wi->counter_sum);
            if (s->ntallies) {
                wi->tally = calloc((size_t)s->ntallies, sizeof *wi->tally);
                gh_assert(wi->tally);
            }
            wi->frame_slots = s->roles[r].nlocals + 1;
            wi->frame = calloc((size_t)wi->frame_slots, sizeof *wi->frame);
            gh_assert(wi->finalized && wi->counter_adds && wi->counter_sum && wi->frame);
            res->thread[idx].index = idx;
            res->thread[idx].role = r;
        }
    }
    gh_assert(idx == n);
    if (res->ntimelines) {
        for (int i = 0; i < n; i++)
            w[i].tl = res->timelines[i];
        rs->main_ts.tl = res->timelines[n];
        res->timeline_t0 = gh_now_ns();
    }
    if (res->nlockprofs) {
        for (int i = 0; i < n; i++)
            w[i].lp = res->lockprofs[i];
        gh_lockprof_attach(&rs->main_ts, res->lockprofs[n]);
    }
    rs->frames = (struct frames){w, n};
    gh_gc_set_roots(frames_visit, &rs->frames);
    /* The checked mode: the container invariant's counters, each list
     * global's length before the threads, and the fault handler. */
    if (res->checked) {
        rs->len0 = calloc(ng, sizeof *rs->len0);
        gh_assert(rs->len0);
        for (int i = 0; i < n; i++) {
            w[i].len_adds = calloc(ng, sizeof *w[i].len_adds);
            w[i].len_removes = calloc(ng, sizeof *w[i].len_removes);
            gh_assert(w[i].len_adds && w[i].len_removes);
        }
        for (int g = 0; g < s->nglobals; g++)
            if (rs->run.globals[g] && is_sized(rs->run.globals[g]))
                rs->len0[g] = rs->fl->len(rs->run.globals[g]);
        fault_handler_install();
    }
    /* deferred=immortal: a second thread is about to run (3.13t makes
     * classes and functions immortal when its first non-main thread
     * starts). Every worker is a thread besides the main one, which made
     * the globals: with one worker too, as a 3.13t program whose work runs
     * in a thread (the fidelity harness's drivers do; a class the worker
     * does not own would otherwise cost it the shared count's atomics,
     * which neither a single-threaded 3.13t program, where the main thread
     * owns it, nor a threaded one pays). */
    if (gh_model.deferred_immortal && n >= 1)
        rs->sfl->immortals_start(&rs->run);
    for (int i = 0; i < n; i++) {
        pthread_attr_t attr, *ap = NULL;
        if (rs->cfg->ncpus) { /* started on its CPU, never elsewhere */
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(rs->cfg->cpus[i % rs->cfg->ncpus], &one);
            gh_check_pthread(pthread_attr_init(&attr));
            gh_check_pthread(pthread_attr_setaffinity_np(&attr, sizeof one, &one));
            ap = &attr;
        }
        gh_check_pthread(pthread_create(&w[i].thread, ap, rs->fl->worker_main, &w[i]));
        if (ap)
            pthread_attr_destroy(ap);
    }
}

/* ---- the stall watchdog ------------------------------------------------- */

static const char *const wphase_names[] = {"starting", "init", "ready", "running", "after",
                                           "done"};
static const char *const stw_names[] = {"detached", "attached", "suspended"};

/* A number that grows whenever a worker makes progress: its ops in the
 * measured phase and its phase only ever grow, and so do the injected
 * delays it has started. A run slowed down by many finite delays (a
 * worker's `after` phase freeing thousands of objects through a delayed
 * free.remote) is not stuck; a `hang`, started once and never ended,
 * still is. Relaxed loads, as the intervals' (runner_internal.h) and
 * base/inject.h's. */
static uint64_t progress_token(const struct run_state *rs)
{
    uint64_t t = 0;
    for (int i = 0; i < rs->nthreads; i++) {
        t += gh_atomic_load_relaxed_u64(&rs->w[i].ops_live) +
             gh_atomic_load_relaxed_u32(&rs->w[i].phase);
        if (rs->res->ninject)
            for (int p = 0; p < GH_INJ_COUNT; p++)
                t += gh_atomic_load_relaxed_u64(&rs->w[i].ts.inj.fired[p]);
    }
    return t;
}

/* Fills res->stall with what every thread is doing (the runner's phase
 * given), prints it, and lets injected hangs go. */
static void stall_diagnose(struct run_state *rs, const char *phase, uint64_t now)
{
    struct gh_result *res = rs->res;
    const int n = rs->nthreads;
    struct gh_stall *st = calloc(1, sizeof *st);
    struct gh_stall_thread *t = calloc((size_t)n, sizeof *t);
    struct gh_tstate **tss = calloc((size_t)n, sizeof *tss);
    int *stw = calloc((size_t)n, sizeof *stw);
    gh_assert(st && t && tss && stw);
    for (int i = 0; i < n; i++)
        tss[i] = &rs->w[i].ts;
    st->idle_ns = now - rs->progress_t;
    st->phase = phase;
    st->gil_holder = -2;
    if (res->has_gil)
        st->gil_holder = gh_gil_holder_snapshot(&st->gil_locked);
    bool stw_known = gh_stw_snapshot(tss, n, stw, &st->stw_stopper);
    if (!stw_known)
        st->stw_stopper = -3;
    /* Relaxed: the flag is written under the collector's mutex, which a
     * stuck collection may hold. */
    st->collecting = gh_atomic_load_relaxed_int(&gh_gcstate.collecting) != 0;
    st->nthreads = n;
    st->thread = t;
    for (int i = 0; i < n; i++) {
        const struct gh_worker *w = &rs->w[i];
        /* Relaxed loads of what the worker stores relaxed for us
         * (runner_internal.h, base/tstate.h). */
        uint32_t ph = gh_atomic_load_relaxed_u32(&w->phase);
        uint32_t op = gh_atomic_load_relaxed_u32(&w->op_live);
        uint32_t wc = gh_atomic_load_relaxed_u32(&w->ts.wait_class);
        t[i].index = i;
        t[i].phase = wphase_names[ph < GH_ARRAY_LEN(wphase_names) ? ph : 0];
        t[i].op = ph == GH_WPHASE_RUNNING && op && op <= GH_OP_COUNT ? gh_op_names[op - 1]
                                                                     : NULL;
        t[i].ops = gh_atomic_load_relaxed_u64(&w->ops_live);
        t[i].wait_class = wc ? (int)wc - 1 : -1;
        t[i].wait_lock = wc ? gh_atomic_load_relaxed_uptr(&w->ts.wait_lock) : 0;
        t[i].holder = -1;
        if (t[i].wait_class == GH_LOCK_gil)
            t[i].holder = st->gil_holder >= -1 ? st->gil_holder : -1;
        else if (wc)
            t[i].holder = gh_cs_find_holder(tss, n, t[i].wait_lock);
        t[i].stw = stw_known && stw[i] >= 0 && stw[i] < (int)GH_ARRAY_LEN(stw_names)
                   ? stw_names[stw[i]] : "?";
        t[i].qsbr_online =
            gh_atomic_load_relaxed_u8((const uint8_t *)(const void *)&w->ts.qsbr_online) != 0;
    }
    free(tss);
    free(stw);
    res->stall = st;
    gh_inject_release();
}

/* True when the watchdog fires: no progress for its limit. */
static bool watchdog_fired(struct run_state *rs, const char *phase, uint64_t now)
{
    if (!rs->stall_ns || rs->stalled)
        return rs->stalled;
    uint64_t tok = progress_token(rs);
    if (tok != rs->progress) {
        rs->progress = tok;
        rs->progress_t = now;
        return false;
    }
    if (now - rs->progress_t < rs->stall_ns)
        return false;
    rs->stalled = true;
    stall_diagnose(rs, phase, now);
    gh_atomic_store_relaxed_int(&rs->run.stop, 1);
    return true;
}

/* The checked mode's census, when one is due; true when it ran. It takes
 * the GIL or stops the world, which a stuck worker would never allow: it
 * waits while the watchdog has seen no progress since its previous look
 * (its 10 ms polls), so that a hang that starts before the census does not
 * block the watchdog's report. A hang in the census's own few microseconds
 * between that look and the stop still does. */
static bool census_if_due(struct run_state *rs, uint64_t now)
{
    if (!rs->res->checked || now < rs->next_census)
        return false;
    if (rs->stall_ns && rs->progress_t != now)
        return false;
    rs->fl->census(&rs->main_ts, &rs->census_roots, &rs->res->census);
    rs->next_census = gh_now_ns() + rs->census_every;
    return true;
}

/* The intervals: when one is due, each worker's ops since the last and
 * the heap's size; printed with --report-every. */
static void sample_if_due(struct run_state *rs, uint64_t now)
{
    struct gh_result *res = rs->res;
    if (!rs->sample_every || now < rs->next_sample)
        return;
    const int n = rs->nthreads;
    if (res->nintervals == rs->intervals_cap) {
        int cap = rs->intervals_cap ? 2 * rs->intervals_cap : 64;
        struct gh_interval *iv = realloc(res->intervals, (size_t)cap * sizeof *iv);
        if (iv)
            res->intervals = iv;
        uint64_t *ops = iv ? realloc(res->interval_ops, (size_t)cap * (size_t)n * sizeof *ops)
                           : NULL;
        if (ops)
            res->interval_ops = ops;
        if (!iv || !ops) { /* out of memory: the series stops here */
            rs->sample_every = 0;
            return;
        }
        rs->intervals_cap = cap;
    }
    const int k = res->nintervals++;
    uint64_t *ops = &res->interval_ops[(size_t)k * (size_t)n];
    for (int i = 0; i < n; i++) {
        uint64_t v = gh_atomic_load_relaxed_u64(&rs->w[i].ops_live); /* see runner_internal.h */
        ops[i] = v - rs->last_ops[i];
        rs->last_ops[i] = v;
    }
    /* While the threads run the per-heap sums come from different instants:
     * a cross-thread free seen before the allocation it undoes can make
     * them "negative" for a moment, which is clamped to 0. */
    struct gh_alloc_stats a;
    gh_alloc_stats_get(&a);
    int64_t bytes = (int64_t)a.live_bytes, blocks = (int64_t)(a.allocs - a.frees);
    res->intervals[k] = (struct gh_interval){now - rs->sample_t0, now - rs->last_sample,
                                             bytes > 0 ? (uint64_t)bytes : 0,
                                             blocks > 0 ? blocks : 0};
    rs->last_sample = now;
    rs->next_sample += rs->sample_every;
    if (rs->next_sample <= now) /* woke late: the next one a period from now */
        rs->next_sample = now + rs->sample_every;
    if (res->intervals_reported && rs->cfg->on_interval)
        rs->cfg->on_interval(res, k, rs->cfg->on_interval_arg);
}

/* The measured phase: the barrier releases the workers; the main thread
 * sleeps until the duration ends (or the workers finish their ops),
 * polling for an interrupt and running the census, then joins them. */
static void run_measure(struct run_state *rs)
{
    struct gh_result *res = rs->res;
    struct gh_worker *w = rs->w;
    if (rs->cfg->perf_control)
        perf_ctl_open();
    /* Every worker at the barrier first, under the watchdog: a role's init
     * ops may hang too. */
    rs->progress_t = gh_now_ns();
    for (bool ready = false; !ready;) {
        ready = true;
        for (int i = 0; i < rs->nthreads; i++)
            ready &= gh_atomic_load_relaxed_u32(&w[i].phase) >= GH_WPHASE_READY;
        if (!ready) {
            if (watchdog_fired(rs, "start", gh_now_ns())) {
                perf_ctl_close();
                return; /* the workers wait at the barrier: never joined */
            }
            gh_sleep_ns(1000000u);
        }
    }
    /* Before the barrier, which orders it first; every worker waits there,
     * none runs a point. run_validate probed the patching. */
    if (res->ninject && gh_inject_arm(res->inject, res->ninject, res->seed) != 0)
        gh_die(errno, "--inject: patching the injection points");
    int brc = pthread_barrier_wait(&rs->run.start);
    gh_assert(brc == 0 || brc == PTHREAD_BARRIER_SERIAL_THREAD);
    uint64_t t0 = gh_now_ns();
    perf_ctl("enable\n");
    rs->census = (struct census_ctx){&rs->run, w, rs->nthreads, res->has_gil};
    rs->census_roots = (struct gh_census_roots){census_visit, census_quiescent, &rs->census};
    rs->census_every = rs->cfg->census_ns ? rs->cfg->census_ns : CENSUS_INTERVAL_NS;
    rs->next_census = t0 + rs->census_every;
    /* The intervals: --report-every's, else the trace's counters'. */
    rs->sample_every = rs->cfg->report_every_ns ? rs->cfg->report_every_ns
                       : res->ntimelines          ? GH_RUN_TRACE_SAMPLE_NS
                                                  : 0;
    if (rs->sample_every) {
        rs->last_ops = calloc((size_t)rs->nthreads, sizeof *rs->last_ops);
        if (!rs->last_ops)
            rs->sample_every = 0; /* out of memory: no series */
    }
    res->interval_ns = rs->sample_every;
    res->intervals_reported = rs->cfg->report_every_ns != 0 && rs->sample_every != 0;
    rs->sample_t0 = rs->last_sample = res->interval_t0 = t0;
    rs->next_sample = t0 + rs->sample_every;
    if (res->duration_ns) {
        uint64_t end = t0 + res->duration_ns;
        for (uint64_t now = t0; now < end; now = gh_now_ns()) {
            if (gh_atomic_load_relaxed_int(&interrupt_requested)) {
                rs->interrupted = true;
                break;
            }
            sample_if_due(rs, now);
            if (watchdog_fired(rs, "measure", now))
                break;
            if (census_if_due(rs, now))
                continue;
            uint64_t left = end - now;
            if (res->checked && rs->next_census - now < left)
                left = rs->next_census - now;
            if (rs->sample_every && rs->next_sample - now < left)
                left = rs->next_sample > now ? rs->next_sample - now : 0;
            gh_sleep_ns(left < 10000000u ? left : 10000000u);
        }
        gh_atomic_store_relaxed_int(&rs->run.stop, 1);
    }
    uint64_t t_first = UINT64_MAX, t_last = 0;
    int joined = 0; /* w[0..joined) are joined */
    while (joined < rs->nthreads && !rs->stalled) {
        pthread_t th = w[joined].thread;
        for (;;) {
            /* In ops mode the workers run until they are done: the main
             * thread samples meanwhile, and an interrupt still has to stop
             * them. Once stopped, each is waited for, under the watchdog. */
            bool running = !res->duration_ns && !rs->interrupted;
            int jr;
            if (running) {
                jr = pthread_tryjoin_np(th, NULL);
            } else {
                struct timespec dl = gh_realtime_after(10000000u);
                jr = pthread_timedjoin_np(th, NULL, &dl);
            }
            if (jr == 0) {
                joined++;
                break;
            }
            if (jr != EBUSY && jr != ETIMEDOUT)
                gh_die(jr, "pthread_join");
            uint64_t now = gh_now_ns();
            if (running) {
                if (gh_atomic_load_relaxed_int(&interrupt_requested)) {
                    rs->interrupted = true;
                    gh_atomic_store_relaxed_int(&rs->run.stop, 1);
                    continue;
                }
                sample_if_due(rs, now);
            }
            if (watchdog_fired(rs, running ? "measure" : "join", now))
                break;
            if (running)
                census_if_due(rs, now);
            if (running)
                gh_sleep_ns(1000000u);
        }
    }
    if (rs->stalled) {
        /* Reported; the injected hangs are released and the workers told
         * to stop. Those that end within 2 s are joined; if every one does,
         * the run is torn down as usual. */
        uint64_t end = gh_now_ns() + 2000000000u;
        while (joined < rs->nthreads) {
            uint64_t now = gh_now_ns();
            if (now >= end)
                break;
            struct timespec dl = gh_realtime_after(end - now);
            if (pthread_timedjoin_np(w[joined].thread, NULL, &dl) != 0)
                break;
            joined++;
        }
        res->stall->joined = joined == rs->nthreads;
    }
    if (res->ninject && joined == rs->nthreads)
        gh_inject_disarm();
    for (int i = 0; i < joined; i++) {
        /* Joined: the worker's writes to its result are visible. */
        if (w[i].t_stop > t_last)
            t_last = w[i].t_stop;
        if (w[i].t_start < t_first)
            t_first = w[i].t_start;
    }
    perf_ctl("disable\n");
    perf_ctl_close();
    /* The workers' own clock reads bound the measured phase: the main
     * thread may be descheduled right after the barrier. */
    res->wall_ns = t_last > t_first ? t_last - t_first : 0;
    if (res->ntimelines)
        res->timeline_t1 = t_last;
    free(rs->last_ops);
    rs->last_ops = NULL;
}

static void locks_add(struct gh_lockstat *a, const struct gh_lockstat *b)
{
    a->acquisitions += b->acquisitions;
    a->contended += b->contended;
    a->wait_ns += b->wait_ns;
    a->handoffs += b->handoffs;
    if (b->wait_max_ns > a->wait_max_ns)
        a->wait_max_ns = b->wait_max_ns;
}

/* The threads' results into the run's (they have been joined), and the
 * counters'. */
static void run_merge(struct run_state *rs)
{
    struct gh_result *res = rs->res;
    const int ntallies = rs->s->ntallies;
    rs->tally = calloc((size_t)(ntallies ? ntallies : 1), sizeof *rs->tally);
    gh_assert(rs->tally);
    for (int i = 0; i < rs->nthreads; i++) {
        const struct gh_worker *w = &rs->w[i];
        struct gh_thread_result *tr = &res->thread[i];
        tr->elapsed_ns = w->t_stop - w->t_start;
        res->total_ops += tr->ops;
        for (int t = 0; t < ntallies; t++) {
            rs->tally[t].done += w->tally[t].done;
            rs->tally[t].failed += w->tally[t].failed;
        }
        for (int k = 0; k < GH_OP_COUNT; k++) {
            res->op[k].done += tr->op[k].done;
            res->op[k].failed += tr->op[k].failed;
            gh_hist_merge(&res->op[k].latency, &tr->op[k].latency);
        }
        for (int c = 0; c < GH_LOCK_NCLASSES; c++)
            locks_add(&res->locks[c], &tr->locks[c]);
        res->rc.shared_decrefs += tr->rc.shared_decrefs;
        res->rc.queued += tr->rc.queued;
        res->rc.merged += tr->rc.merged;
        res->rc.lockfree_list_fallbacks += tr->rc.lockfree_list_fallbacks;
        res->rc.lockfree_dict_fallbacks += tr->rc.lockfree_dict_fallbacks;
        hazards_merge(&res->hazards, &tr->hazards);
        for (int p = 0; p < GH_INJ_COUNT; p++) {
            res->inject_passes[p] += w->ts.inj.passes[p];
            res->inject_fired[p] += w->ts.inj.fired[p];
        }
    }
    counters_finish(rs->s, &rs->run, rs->w, rs->nthreads, rs->counter0, res);
}

/* What the main thread, the GIL and the allocator counted, the checked
 * mode's last census included. */
static void run_merge_main(struct run_state *rs)
{
    struct gh_result *res = rs->res;
    /* The main thread's locks (setup: the arena's lock without a GIL). */
    for (int c = 0; c < GH_LOCK_NCLASSES; c++)
        locks_add(&res->locks[c], &rs->main_ts.locks[c]);
    /* The lock profiles: the workers' have joined, the main thread's is its
     * own. */
    gh_lockprof_attach(&rs->main_ts, NULL); /* the teardown is not profiled */
    for (int i = 0; i < res->nlockprofs; i++)
        gh_lockprof_merge(res->lockprof, res->lockprofs[i]);
    if (res->has_gil) {
        struct gh_gil_stats_raw g;
        gh_gil_stats(&g);
        res->gil.switches = g.switches;
        res->gil.drop_requests = g.drop_requests;
        res->gil.forced_handoffs = g.forced_handoffs;
    }
    gh_alloc_stats_get(&res->alloc);
}

/* The checked mode's invariants once the workers are gone: each list's,
 * dict's and set's length against its successful insertions and removals
 * (what a lost update changes), and a last census with the globals as the
 * only roots. */
static void run_check_invariants(struct run_state *rs)
{
    struct gh_result *res = rs->res;
    const struct gh_scenario *s = rs->s;
    for (int g = 0; g < s->nglobals; g++) {
        uint64_t adds = 0, removes = 0;
        for (int i = 0; i < rs->nthreads; i++) {
            adds += rs->w[i].len_adds[g];
            removes += rs->w[i].len_removes[g];
        }
        gh_object *l = rs->run.globals[g];
        if (!l || !is_sized(l) || adds + removes == 0)
            continue;
        int64_t want = rs->len0[g] + (int64_t)adds - (int64_t)removes;
        int64_t got = rs->fl->len(l);
        if (got != want) {
            struct gh_hazard_counts h;
            memset(&h, 0, sizeof h);
            h.n[GH_HAZARD_LOST_UPDATE] = (uint64_t)(got > want ? got - want : want - got);
            enum gh_kind k = l->ob_type->kind;
            h.first[GH_HAZARD_LOST_UPDATE] = (struct gh_hazard_example){
                -1, k == GH_KIND_LIST ? "list.append" : k == GH_KIND_DICT ? "dict.set" : "set.add",
                gh_kind_name(k), -1, -1};
            hazards_merge(&res->hazards, &h);
        }
    }
    rs->census.w = NULL;
    const struct gh_census_roots final_roots = {census_visit, NULL, &rs->census};
    rs->fl->census(&rs->main_ts, &final_roots, &res->census);
}

/* The heap torn down: the globals die, a last collection frees their
 * cycles (as CPython's finalisation does) and every allocation must come
 * back; what a freeze left in the permanent generation is unfrozen first.
 * Then the process's set-up is undone and the run's memory freed. */
static void run_teardown(struct run_state *rs)
{
    struct gh_result *res = rs->res;
    struct gh_run_shared *run = &rs->run;
    /* Tracing started by a trace.start op ends with the run. */
    if (rs->s->tracing)
        gh_trace_stop();
    res->gc = gh_gc_stats; /* the checks' gc.collect calls included */
    if (run->gc_live)
        gh_gc_callback_remove(run_gc_callback, run);
    if (res->checked) {
        checked_teardown(rs->sfl, rs->fl, run, &rs->main_ts, res);
    } else {
        rs->sfl->gc_teardown(run);
        rs->sfl->teardown(run);
        res->gc_garbage_at_exit = rs->fl->gc_fini();
        rs->sfl->immortals_release();
    }
    struct gh_alloc_stats after;
    gh_runtime_fini(&rs->rt, &after);
    const struct gh_tstate *mts = &rs->main_ts;
    hazards_merge(&res->hazards, &mts->hazards);
    res->rc.shared_decrefs += mts->brc_shared_decrefs;
    res->rc.queued += mts->brc_queued;
    res->rc.merged += mts->brc_merged;
    res->rc.lockfree_list_fallbacks += mts->lockfree_list_fallbacks;
    res->rc.lockfree_dict_fallbacks += mts->lockfree_dict_fallbacks;
    res->alloc_live_after_teardown = after.live_bytes;
    if (res->checked && after.live_bytes) {
        /* Every object that is not immortal is gone once the roots are
         * dropped and a last collection ran, unless a count was too high. */
        struct gh_hazard_counts h;
        memset(&h, 0, sizeof h);
        h.n[GH_HAZARD_LEAK] = after.allocs > after.frees ? after.allocs - after.frees : 1;
        h.first[GH_HAZARD_LEAK] = (struct gh_hazard_example){-1, NULL, NULL, -1, -1};
        hazards_merge(&res->hazards, &h);
    }
    if (res->checked)
        fault_handler_remove();
    for (int k = 0; k < GH_HAZARD_COUNT; k++)
        res->hazards_total += res->hazards.n[k];
    pthread_barrier_destroy(&run->start);
    pthread_mutex_destroy(&run->gc_mutex);
    free(run->globals);
    free(run->consts);
    free(run->classes);
    free(run->finalized);
    for (int i = 0; i < rs->nthreads; i++) {
        struct gh_worker *w = &rs->w[i];
        free(w->finalized);
        free(w->counter_adds);
        free(w->counter_sum);
        free(w->tally);
        free(w->len_adds);
        free(w->len_removes);
        free(w->frame);
    }
    free(rs->w);
    free(rs->counter0);
    free(rs->len0);
    free(rs->tally);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        res->peak_rss_kb = ru.ru_maxrss;
    restore_affinity(rs);
}

static enum gh_status run_status(const struct run_state *rs)
{
    const struct gh_result *res = rs->res;
    enum gh_expect_hazards expect = rs->s->expect_hazards;
    if (rs->interrupted)
        return GH_STATUS_INTERRUPTED;
    if (res->hazards_total && expect != GH_EXPECT_HAZARDS_SOME)
        return GH_STATUS_HAZARDS; /* unexpected: the failed checks follow from them */
    if (res->checks_failed)
        return GH_STATUS_FAILED;
    if (!res->hazards_total && expect == GH_EXPECT_HAZARDS_SOME && res->checked)
        return GH_STATUS_FAILED; /* a positive control that caught nothing */
    return GH_STATUS_OK;
}

int gh_run(struct gh_scenario *s, const struct gh_run_config *cfg, struct gh_result *res,
           struct gh_diag *diag)
{
    memset(res, 0, sizeof *res);
    /* On the heap: workers the watchdog leaves running still use its
     * `run` (their stop flag, the barrier, the globals), so it must outlive
     * this call then. */
    struct run_state *rs = calloc(1, sizeof *rs);
    gh_assert(rs);
    *rs = (struct run_state){.s = s, .cfg = cfg, .res = res, .diag = diag};
    if (run_validate(rs) != 0 || run_configure(rs) != 0) {
        free(rs);
        return -1;
    }
    run_setup_heap(rs);
    run_spawn(rs);
    run_measure(rs);
    if (rs->stalled && !res->stall->joined) {
        /* Workers are stuck: nothing they use can be merged or freed, rs
         * included (left allocated on purpose). */
        restore_affinity(rs);
        res->status = GH_STATUS_STALLED;
        return 0;
    }
    run_merge(rs);
    if (res->checked)
        run_check_invariants(rs);
    run_merge_main(rs);
    fflush(rs->run.out);          /* what the ops printed comes before the report */
    struct check_ctx cctx = {{&rs->run, NULL, NULL, NULL}, rs->sfl, res, rs->tally};
    run_checks(s, &cctx, res);
    run_teardown(rs);
    res->status = rs->stalled ? GH_STATUS_STALLED : run_status(rs);
    free(rs);
    return 0;
}

void gh_result_free(struct gh_result *res)
{
    free(res->cpus);
    res->cpus = NULL;
    res->ncpus = 0;
    free(res->thread);
    for (int i = 0; i < res->ntimelines; i++)
        gh_tl_free(res->timelines[i]);
    free(res->timelines);
    res->timelines = NULL;
    res->ntimelines = 0;
    for (int i = 0; i < res->nlockprofs; i++)
        gh_lockprof_free(res->lockprofs[i]);
    free(res->lockprofs);
    res->lockprofs = NULL;
    res->nlockprofs = 0;
    gh_lockprof_free(res->lockprof);
    res->lockprof = NULL;
    free(res->intervals);
    free(res->interval_ops);
    res->intervals = NULL;
    res->interval_ops = NULL;
    res->nintervals = 0;
    free(res->checks);
    free(res->counters);
    free(res->inject);
    res->inject = NULL;
    res->ninject = 0;
    if (res->stall)
        free(res->stall->thread);
    free(res->stall);
    res->stall = NULL;
    res->thread = NULL;
    res->checks = NULL;
    res->counters = NULL;
}
