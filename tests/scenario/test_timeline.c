/* test_timeline.c - what the timeline of a run (--trace) shows, checked
 * as properties a broken strategy would violate, over every preset:
 *
 *   - under a GIL no two threads' tenures overlap; without one there are
 *     no GIL events at all;
 *   - no worker runs an op inside a world another thread stopped, except
 *     while it is detached (waiting for a lock or the collector) or parked
 *     (the op's sampled slice may span the wait);
 *   - gil-ticks shows its convoy: the thread that releases the GIL takes it
 *     straight back, so tenures come in long single-owner runs;
 *   - under objlock no two sampled holds of one lock overlap (a hold is
 *     timed inside the lock's tenure, so a correct lock never shows one),
 *     and the list's lock is seen held; without it no list lock is held;
 *   - unsafe takes no container lock and has nothing to say about one;
 *   - every trace written is a valid Chrome trace-event file, its counter
 *     tracks (ops/s, heap bytes, live blocks) included.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeline.h"
#include "report/report.h"
#include "scenario/run.h"
#include "trace_check.h"

struct preset_param { char name[16]; };

ParameterizedTestParameters(timeline, properties)
{
    static struct preset_param p[16];
    size_t n = 0;
    for (size_t i = 0; i < gh_npresets && n < 16; i++)
        strcpy(p[n++].name, gh_presets[i].name);
    return cr_make_param_array(struct preset_param, p, n);
}

/* Lists only (unsafe runs them at two threads), objects that make work
 * for the collector, and collections asked for by the threads. */
static const char text[] =
    "name: timeline\n"
    "threads: 2\n"
    "duration: 150ms\n"
    "setup:\n"
    "  L: list\n"
    "mix:\n"
    "  - {op: list.append, on: L, value: object, weight: 400}\n"
    "  - {op: list.pop, on: L, weight: 400}\n"
    "  - {op: list.get, on: L, weight: 199}\n"
    "  - {op: gc.collect, generation: 0, weight: 1}\n";

struct span { uint64_t t0, t1; };

static struct span span_of(const struct gh_tl_event *e) { return (struct span){e->t0, e->t0 + e->dur}; }

/* Whether [a, b] is covered by one of ring r's slices of kind k1 or k2. */
static bool covered(const struct gh_tl_buf *r, uint64_t a, uint64_t b, enum gh_tl_kind k1,
                    enum gh_tl_kind k2)
{
    uint64_t n = r->written < r->cap ? r->written : r->cap;
    for (uint64_t i = 0; i < n; i++) {
        const struct gh_tl_event *e = gh_tl_at(r, i);
        if ((e->kind == k1 || e->kind == k2) && e->t0 <= a && e->t0 + e->dur >= b)
            return true;
    }
    return false;
}

static int cmp_span(const void *x, const void *y)
{
    const struct span *a = x, *b = y;
    return (a->t0 > b->t0) - (a->t0 < b->t0);
}

struct hold { const void *lock; struct span s; int thread; };

static int cmp_hold(const void *x, const void *y)
{
    const struct hold *a = x, *b = y;
    if (a->lock != b->lock)
        return (uintptr_t)a->lock > (uintptr_t)b->lock ? 1 : -1;
    return cmp_span(&a->s, &b->s);
}

/* Under objlock: no two sampled holds of one lock overlap, and the
 * list's lock was seen held. Without per-object locks: no list lock held. */
static void check_lock_holds(const struct gh_result *r, const char *preset, bool objlock)
{
    size_t cap = 0, n = 0, lists = 0;
    for (int t = 0; t < r->ntimelines; t++)
        cap += r->timelines[t]->written;
    struct hold *h = calloc(cap ? cap : 1, sizeof *h);
    cr_assert_not_null(h);
    for (int t = 0; t < r->ntimelines; t++) {
        const struct gh_tl_buf *b = r->timelines[t];
        for (uint64_t i = 0; i < b->written; i++) {
            const struct gh_tl_event *e = gh_tl_at(b, i);
            if (e->kind != GH_TL_LOCK_HOLD)
                continue;
            lists += e->arg == GH_LOCK_list;
            h[n++] = (struct hold){e->addr, span_of(e), t};
        }
    }
    if (objlock)
        cr_assert_gt(lists, 0, "%s: no hold of a list lock sampled", preset);
    else
        cr_assert_eq(lists, 0, "%s: a list lock held without per-object locks", preset);
    qsort(h, n, sizeof *h, cmp_hold);
    for (size_t i = 1; i < n; i++)
        if (h[i].lock == h[i - 1].lock)
            cr_assert_leq(h[i - 1].s.t1, h[i].s.t0,
                          "%s: threads %d and %d held lock %p together for %llu ns", preset,
                          h[i - 1].thread, h[i].thread, h[i].lock,
                          (unsigned long long)(h[i - 1].s.t1 - h[i].s.t0));
    free(h);
}

ParameterizedTest(struct preset_param *p, timeline, properties, .timeout = 60)
{
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse(text, strlen(text), "timeline.yaml", &d);
    cr_assert_not_null(s, "%s", d.msg);
    struct gh_run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[256];
    cr_assert_eq(gh_strategy_from_preset(&cfg.strategy, p->name, err, sizeof err), 0, "%s", err);
    cfg.seed = 7;
    cfg.seed_given = true;
    cfg.latency_sample = 64;
    cfg.timeline_events = 1u << 19;
    cfg.lock_profile = 8;
    struct gh_result r;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.ntimelines, r.threads + 1);
    /* The counter tracks' samples, every 10 ms without --report-every,
     * kept for the trace only. */
    cr_assert_geq(r.nintervals, 2, "%s: %d counter samples in 150 ms", p->name, r.nintervals);
    cr_assert_not(r.intervals_reported);
    const bool gil = r.has_gil;

    /* GIL tenures, all threads: none overlaps the next. */
    size_t cap = 0, nh = 0, retakes = 0, handoffs = 0, ops = 0, graces = 0;
    for (int t = 0; t < r.ntimelines; t++)
        cap += r.timelines[t]->cap;
    struct span *holds = calloc(cap, sizeof *holds);
    cr_assert_not_null(holds);
    for (int t = 0; t < r.ntimelines; t++) {
        const struct gh_tl_buf *b = r.timelines[t];
        cr_assert_eq(gh_tl_dropped(b), 0, "a ring of %u wrapped in 150 ms", b->cap);
        uint64_t n = b->written;
        for (uint64_t i = 0; i < n; i++) {
            const struct gh_tl_event *e = gh_tl_at(b, i);
            bool gil_ev = e->kind == GH_TL_GIL_HOLD || e->kind == GH_TL_GIL_WAIT ||
                          e->kind == GH_TL_GIL_DROP_REQUEST || e->kind == GH_TL_GIL_HANDOFF;
            cr_assert(gil || !gil_ev, "%s: a GIL event without a GIL", p->name);
            if (e->kind == GH_TL_GIL_HOLD) {
                holds[nh++] = span_of(e);
                int self = t == r.ntimelines - 1 ? -1 : t;
                retakes += e->arg == self;
                handoffs += e->arg != self && e->arg != -2;
            }
            if (e->kind == GH_TL_OP)
                ops++;
            graces += e->kind == GH_TL_QSBR_GRACE;
            if (e->kind == GH_TL_LOCK_WAIT && !strcmp(p->name, "unsafe"))
                cr_assert(e->arg != GH_LOCK_list && e->arg != GH_LOCK_gil,
                          "unsafe waited for a %s lock", gh_lock_class_names[e->arg]);
        }
    }
    cr_assert_gt(ops, 0, "no sampled op recorded");
    /* ft defers the frees of a shared list's old item arrays to QSBR. */
    if (!strcmp(p->name, "ft"))
        cr_assert_gt(graces, 0, "ft: no QSBR grace period recorded");
    qsort(holds, nh, sizeof *holds, cmp_span);
    for (size_t i = 1; i < nh; i++)
        cr_assert_leq(holds[i - 1].t1, holds[i].t0,
                      "%s: two GIL tenures overlap (%llu ns)", p->name,
                      (unsigned long long)(holds[i - 1].t1 - holds[i].t0));
    if (gil)
        cr_assert_gt(handoffs, 0, "%s: the GIL never changed hands in 150 ms", p->name);
    /* gil-ticks: a release every 100 ops, and the releaser mostly takes it
     * straight back (the convoy): runs of one owner average 2 or more. */
    if (!strcmp(p->name, "gil-ticks"))
        cr_assert_geq(2 * retakes, nh, "gil-ticks: %zu of %zu tenures were retakes", retakes,
                      nh);
    free(holds);
    check_lock_holds(&r, p->name, cfg.strategy.sync == GH_SYNC_OBJLOCK);

    /* No op runs in a world another thread stopped, but for its waits. */
    for (int a = 0; a < r.ntimelines; a++) {
        const struct gh_tl_buf *ra = r.timelines[a];
        for (uint64_t i = 0; i < ra->written; i++) {
            const struct gh_tl_event *w = gh_tl_at(ra, i);
            if (w->kind != GH_TL_WORLD_STOPPED)
                continue;
            struct span ws = span_of(w);
            for (int b = 0; b < r.ntimelines; b++) {
                if (b == a)
                    continue;
                const struct gh_tl_buf *rb = r.timelines[b];
                for (uint64_t k = 0; k < rb->written; k++) {
                    const struct gh_tl_event *o = gh_tl_at(rb, k);
                    if (o->kind != GH_TL_OP || o->t0 >= ws.t1 || o->t0 + o->dur <= ws.t0)
                        continue;
                    uint64_t lo = o->t0 > ws.t0 ? o->t0 : ws.t0;
                    uint64_t hi = o->t0 + o->dur < ws.t1 ? o->t0 + o->dur : ws.t1;
                    cr_assert(covered(rb, lo, hi, GH_TL_DETACHED, GH_TL_STOPPED),
                              "%s: thread %d ran %s inside a world thread %d stopped", p->name,
                              b, gh_op_names[o->arg], a);
                }
            }
        }
    }

    /* The file. */
    char path[] = "/tmp/gh_timeline_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(gh_report_trace(&r, path, err, sizeof err), 0, "%s", err);
    cr_assert_gt(trace_check(path), 0);
    unlink(path);
    gh_result_free(&r);
    gh_scenario_free(s);
}
