/* report_trace.c - a run's timeline as a Chrome trace-event file (the JSON
 * Object Format that Perfetto's UI and chrome://tracing load).
 *
 *   {"displayTimeUnit": "ns",
 *    "traceEvents": [metadata, slices ("X"), instants ("i"), flows ("s"/"f")],
 *    "otherData": {...}}
 *
 * One process; a track per thread (tid: the worker's index + 1, the main
 * thread 0). Timestamps are microseconds from the start of the workers. A
 * viewer needs the slices of one track properly nested; the rings hold
 * slices that may cross (an op that blocks drops the GIL inside it), so
 * each thread's slices are laid out in lanes: a slice that would cross one
 * already placed goes to the thread's next lane, a track of its own named
 * "worker-0 (2)" (tid + 1000 * lane). A GIL tenure that followed another
 * thread's starts with a flow arrow from the end of that thread's tenure.
 * Each event is built and escaped by jansson and the whole file written by
 * gh_report_write_file: whole or not at all.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hazard.h"
#include "base/lockstat.h"
#include "base/timeline.h"
#include "report/report.h"
#include "scenario/ops.h"

#define LANES 4
#define LANE_TID 1000

struct slice {
    const struct gh_tl_event *e;
    uint64_t end;
    uint64_t pos;    /* its index in the ring, oldest first */
};

#define NOT_DRAWN 0xff

static int by_start(const void *a, const void *b)
{
    const struct slice *x = a, *y = b;
    if (x->e->t0 != y->e->t0)
        return x->e->t0 < y->e->t0 ? -1 : 1;
    /* Same start: the longer encloses the shorter, so it comes first. */
    return (x->end < y->end) - (x->end > y->end);
}

struct writer {
    FILE *f;
    const struct gh_result *r;
    uint64_t base;
    bool first;
    int failed;
    uint8_t **lane;     /* [ring][pos]: the lane a slice was drawn on */
    uint64_t undrawn;   /* slices that fitted no lane (nested too deep) */
    uint64_t async_id;  /* the next async slice's id */
};

static double usec(const struct writer *w, uint64_t t)
{
    return t >= w->base ? (double)(t - w->base) / 1000.0 : -(double)(w->base - t) / 1000.0;
}

/* Appends one event (stolen reference). */
static void emit(struct writer *w, json_t *ev)
{
    if (!ev) {
        w->failed = 1;
        return;
    }
    if (!w->first && fputs(",\n", w->f) < 0)
        w->failed = 1;
    w->first = false;
    if (json_dumpf(ev, w->f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)))
        w->failed = 1;
    json_decref(ev);
}

static int tid_of(const struct gh_result *r, int ring)
{
    return ring == r->ntimelines - 1 ? 0 : ring + 1;
}

static void thread_name(char *buf, size_t len, const struct gh_result *r, int ring, int lane)
{
    if (ring == r->ntimelines - 1)
        snprintf(buf, len, lane ? "main (%d)" : "main", lane + 1);
    else
        snprintf(buf, len, lane ? "worker-%d (%d)" : "worker-%d", ring, lane + 1);
}

static void meta(struct writer *w, int tid, const char *name, int sort)
{
    emit(w, json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "ph", "M", "name", "thread_name", "pid",
                      1, "tid", tid, "args", "name", name));
    emit(w, json_pack("{s:s, s:s, s:i, s:i, s:{s:i}}", "ph", "M", "name", "thread_sort_index",
                      "pid", 1, "tid", tid, "args", "sort_index", sort));
}

/* The name and arguments of an event. */
static json_t *event_json(struct writer *w, const struct gh_tl_event *e, int tid)
{
    char name[96], addr[32];
    json_t *args = json_object();
    const char *cat = "run";
    snprintf(name, sizeof name, "%s", gh_tl_labels[e->kind]);
    switch ((enum gh_tl_kind)e->kind) {
    case GH_TL_GIL_HOLD:
    case GH_TL_GIL_WAIT:
    case GH_TL_GIL_DROP_REQUEST:
    case GH_TL_GIL_HANDOFF:
        cat = "gil";
        if (e->kind == GH_TL_GIL_HOLD && e->arg != -2)
            json_object_set_new(args, "previous_holder", json_integer(e->arg));
        if (e->kind == GH_TL_GIL_DROP_REQUEST)
            json_object_set_new(args, "holder", json_integer(e->arg));
        if (e->kind == GH_TL_GIL_WAIT && e->arg == 1)
            json_object_set_new(args, "internal_mutex_only", json_true());
        break;
    case GH_TL_LOCK_WAKE:
        cat = "lock";
        snprintf(addr, sizeof addr, "%p", e->addr);
        json_object_set_new(args, "lock", json_string(addr));
        json_object_set_new(args, "handed_off", json_boolean(e->arg == 1));
        break;
    case GH_TL_LOCK_WAIT:
    case GH_TL_LOCK_HOLD:
    case GH_TL_CS_SUSPEND:
        cat = "lock";
        if (e->kind != GH_TL_CS_SUSPEND) {
            const char *cls = e->arg >= 0 && e->arg < GH_LOCK_NCLASSES
                                  ? gh_lock_class_names[e->arg] : "shared";
            snprintf(name, sizeof name, "%s: %s lock",
                     e->kind == GH_TL_LOCK_WAIT ? "wait" : "hold", cls);
            snprintf(addr, sizeof addr, "%p", e->addr);
            json_object_set_new(args, "class", json_string(cls));
            json_object_set_new(args, "lock", json_string(addr));
        }
        break;
    case GH_TL_STOP_WORLD:
    case GH_TL_WORLD_STOPPED:
    case GH_TL_STOPPED:
    case GH_TL_DETACHED:
        cat = "stw";
        if (e->kind == GH_TL_STOP_WORLD)
            json_object_set_new(args, "threads_waited_for", json_integer(e->arg));
        break;
    case GH_TL_GC:
        cat = "gc";
        snprintf(name, sizeof name, "collection (generation %d)", (int)e->arg);
        break;
    case GH_TL_GC_PHASE:
        cat = "gc";
        if (e->arg >= 0 && e->arg < GH_TL_GC_NPHASES)
            snprintf(name, sizeof name, "gc: %s", gh_tl_gc_phase_names[e->arg]);
        break;
    case GH_TL_QSBR_GRACE:
    case GH_TL_QSBR_FREE:
        cat = "qsbr";
        json_object_set_new(args, "deferred_frees", json_integer(e->arg));
        break;
    case GH_TL_BRC_MERGE:
        cat = "rc";
        json_object_set_new(args, "objects", json_integer(e->arg));
        break;
    case GH_TL_HAZARD:
        cat = "hazard";
        if (e->arg >= 0 && e->arg < GH_HAZARD_COUNT)
            snprintf(name, sizeof name, "hazard: %s", gh_hazard_names[e->arg]);
        if (e->addr)
            json_object_set_new(args, "op", json_string((const char *)e->addr));
        break;
    case GH_TL_OP:
        cat = "op";
        if (e->arg >= 0 && e->arg < GH_OP_COUNT)
            snprintf(name, sizeof name, "%s", gh_op_names[e->arg]);
        break;
    case GH_TL_NKINDS:
        break;
    }
    json_t *ev;
    if (gh_tl_is_slice[e->kind])
        ev = json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:o}", "name", name, "cat", cat, "ph",
                       "X", "ts", usec(w, e->t0), "dur", (double)e->dur / 1000.0, "pid", 1,
                       "tid", tid, "args", args);
    else
        ev = json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:i, s:o}", "name", name, "cat", cat,
                       "ph", "i", "s", "t", "ts", usec(w, e->t0), "pid", 1, "tid", tid, "args",
                       args);
    return ev;
}

/* A QSBR grace period: from a batch's hand-off to call_rcu to its owner
 * finding it done. Batches overlap (the next is handed off before the
 * last is done), so each is an async slice ("b"/"e", an id of its own) on
 * a track of its own, not a lane of the thread's. */
static void write_async(struct writer *w, const struct gh_tl_event *e, int tid)
{
    json_int_t id = (json_int_t)w->async_id++;
    emit(w, json_pack("{s:s, s:s, s:s, s:I, s:f, s:i, s:i, s:{s:i}}", "name",
                      "QSBR grace period", "cat", "qsbr", "ph", "b", "id", id, "ts",
                      usec(w, e->t0), "pid", 1, "tid", tid, "args", "deferred_frees", e->arg));
    emit(w, json_pack("{s:s, s:s, s:s, s:I, s:f, s:i, s:i}", "name", "QSBR grace period", "cat",
                      "qsbr", "ph", "e", "id", id, "ts", usec(w, e->t0 + e->dur), "pid", 1, "tid",
                      tid));
}

/* A thread's events: instants on its first lane, slices laid out in lanes
 * so that each lane's slices nest. Returns the lanes used. */
static int write_ring(struct writer *w, int ring)
{
    const struct gh_tl_buf *b = w->r->timelines[ring];
    uint64_t n = b->written < b->cap ? b->written : b->cap;
    struct slice *s = malloc((size_t)(n ? n : 1) * sizeof *s);
    uint8_t *lane_of = malloc((size_t)(n ? n : 1));
    if (!s || !lane_of) {
        free(s);
        free(lane_of);
        w->failed = 1;
        return 1;
    }
    memset(lane_of, NOT_DRAWN, (size_t)(n ? n : 1));
    w->lane[ring] = lane_of;
    size_t ns = 0;
    const int tid = tid_of(w->r, ring);
    for (uint64_t i = 0; i < n; i++) {
        const struct gh_tl_event *e = gh_tl_at(b, i);
        if (e->kind >= GH_TL_NKINDS)
            continue;
        if (e->kind == GH_TL_QSBR_GRACE) { /* overlapping: an async slice */
            write_async(w, e, tid);
            continue;
        }
        if (gh_tl_is_slice[e->kind])
            s[ns++] = (struct slice){e, e->t0 + e->dur, i};
        else
            emit(w, event_json(w, e, tid));
    }
    qsort(s, ns, sizeof *s, by_start);
    /* Per lane, the ends of the slices that enclose the current point. */
    uint64_t stack[LANES][64];
    int depth[LANES] = {0};
    int used = 1;
    for (size_t i = 0; i < ns; i++) {
        int lane = 0;
        for (; lane < LANES; lane++) {
            int *d = &depth[lane];
            while (*d && stack[lane][*d - 1] <= s[i].e->t0)
                (*d)--;
            if ((*d == 0 || s[i].end <= stack[lane][*d - 1]) && *d < 64)
                break;
        }
        if (lane == LANES) { /* crosses every lane, or nested 64 deep */
            w->undrawn++;
            continue;
        }
        lane_of[s[i].pos] = (uint8_t)lane;
        stack[lane][depth[lane]++] = s[i].end;
        if (lane + 1 > used)
            used = lane + 1;
        emit(w, event_json(w, s[i].e, tid + LANE_TID * lane));
    }
    free(s);
    return used;
}

/* The counter tracks, from the run's intervals: ops/s (a series per
 * worker), the heap's live bytes and live blocks (objects and the rest),
 * each value from its interval's start. */
static void write_counters(struct writer *w)
{
    const struct gh_result *r = w->r;
    for (int k = 0; k < r->nintervals && !w->failed; k++) {
        const struct gh_interval *iv = &r->intervals[k];
        const uint64_t *ops = &r->interval_ops[(size_t)k * (size_t)r->threads];
        double ts = usec(w, r->interval_t0 + iv->t_ns - iv->dur_ns);
        json_t *series = json_object();
        for (int i = 0; series && i < r->threads; i++) {
            char name[24];
            snprintf(name, sizeof name, "worker-%d", i);
            double v = iv->dur_ns ? (double)ops[i] * 1e9 / (double)iv->dur_ns : 0;
            if (json_object_set_new(series, name, json_real(v)) != 0)
                w->failed = 1;
        }
        if (!series) {
            w->failed = 1;
            return;
        }
        emit(w, json_pack("{s:s, s:s, s:s, s:f, s:i, s:o}", "name", "ops/s", "cat", "run", "ph",
                          "C", "ts", ts, "pid", 1, "args", series));
        emit(w, json_pack("{s:s, s:s, s:s, s:f, s:i, s:{s:I}}", "name", "heap bytes", "cat",
                          "alloc", "ph", "C", "ts", ts, "pid", 1, "args", "live",
                          (json_int_t)iv->live_bytes));
        emit(w, json_pack("{s:s, s:s, s:s, s:f, s:i, s:{s:I}}", "name", "live blocks", "cat",
                          "alloc", "ph", "C", "ts", ts, "pid", 1, "args", "live",
                          (json_int_t)iv->live_blocks));
    }
}

/* A LOCK_WAKE of some ring, for the lock flows. */
struct wake_ref {
    const void *lock;
    uint64_t t0;   /* the wake's start */
    int ring;
    uint64_t pos;  /* its index in the ring */
};

static int cmp_wake(const void *x, const void *y)
{
    const struct wake_ref *a = x, *b = y;
    if (a->lock != b->lock)
        return (uintptr_t)a->lock > (uintptr_t)b->lock ? 1 : -1;
    return (a->t0 > b->t0) - (a->t0 < b->t0);
}

/* An arrow from each wake of a lock's waiter (the unlocker's LOCK_WAKE) to
 * the end of the wait it ended: the last wake of that lock, by another
 * thread, inside the wait. */
static void write_lock_flows(struct writer *w, uint64_t *id)
{
    const struct gh_result *r = w->r;
    size_t n = 0, cap = 0;
    for (int ring = 0; ring < r->ntimelines; ring++)
        cap += r->timelines[ring]->written < r->timelines[ring]->cap
                   ? r->timelines[ring]->written : r->timelines[ring]->cap;
    struct wake_ref *wk = malloc((cap ? cap : 1) * sizeof *wk);
    if (!wk) {
        w->failed = 1;
        return;
    }
    for (int ring = 0; ring < r->ntimelines; ring++) {
        const struct gh_tl_buf *b = r->timelines[ring];
        uint64_t ne = b->written < b->cap ? b->written : b->cap;
        for (uint64_t i = 0; i < ne; i++) {
            const struct gh_tl_event *e = gh_tl_at(b, i);
            if (e->kind == GH_TL_LOCK_WAKE && w->lane[ring][i] != NOT_DRAWN)
                wk[n++] = (struct wake_ref){e->addr, e->t0, ring, i};
        }
    }
    qsort(wk, n, sizeof *wk, cmp_wake);
    for (int ring = 0; ring < r->ntimelines && !w->failed; ring++) {
        const struct gh_tl_buf *b = r->timelines[ring];
        uint64_t ne = b->written < b->cap ? b->written : b->cap;
        for (uint64_t i = 0; i < ne; i++) {
            const struct gh_tl_event *e = gh_tl_at(b, i);
            if (e->kind != GH_TL_LOCK_WAIT || e->dur < 2 || w->lane[ring][i] == NOT_DRAWN)
                continue;
            /* The first wake of this lock from the wait's end on (the
             * arrow ends 1 ns before it, and may not start after)... */
            struct wake_ref key = {e->addr, e->t0 + e->dur - 1, 0, 0};
            size_t lo = 0, hi = n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cmp_wake(&wk[mid], &key) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            /* ...then back to the last one before it, by another thread,
             * that began inside the wait. */
            const struct wake_ref *hit = NULL;
            for (size_t k = lo; k-- > 0;) {
                if (wk[k].lock != e->addr || wk[k].t0 < e->t0)
                    break;
                if (wk[k].ring != ring) {
                    hit = &wk[k];
                    break;
                }
            }
            if (!hit)
                continue;
            const struct gh_tl_event *we = gh_tl_at(r->timelines[hit->ring], hit->pos);
            const char *name = we->arg == 1 ? "lock handoff" : "lock wake-up";
            emit(w, json_pack("{s:s, s:s, s:s, s:I, s:f, s:i, s:i}", "name", name, "cat", "lock",
                              "ph", "s", "id", (json_int_t)*id, "ts", usec(w, we->t0), "pid", 1,
                              "tid", tid_of(r, hit->ring) + LANE_TID * w->lane[hit->ring][hit->pos]));
            emit(w, json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:i, s:i}", "name", name, "cat",
                              "lock", "ph", "f", "bp", "e", "id", (json_int_t)*id, "ts",
                              usec(w, e->t0 + e->dur - 1), "pid", 1, "tid",
                              tid_of(r, ring) + LANE_TID * w->lane[ring][i]));
            (*id)++;
        }
    }
    free(wk);
}

/* The flow arrows of the GIL's handoffs: from the end of the previous
 * holder's tenure to the start of the next one's, each on the lane its
 * tenure was drawn on. A thread's tenures are in its ring in the order
 * they ended (recorded at each drop), so the previous holder's last
 * tenure before a start is found by bisection. */
static void write_flows(struct writer *w)
{
    const struct gh_result *r = w->r;
    const int nr = r->ntimelines;
    uint64_t id = 1;
    uint64_t **holds = calloc((size_t)nr, sizeof *holds);
    uint64_t *nholds = calloc((size_t)nr, sizeof *nholds);
    if (!holds || !nholds) {
        free(holds);
        free(nholds);
        w->failed = 1;
        return;
    }
    for (int ring = 0; ring < nr; ring++) {
        const struct gh_tl_buf *b = r->timelines[ring];
        uint64_t n = b->written < b->cap ? b->written : b->cap;
        holds[ring] = malloc((size_t)(n ? n : 1) * sizeof **holds);
        if (!holds[ring]) {
            w->failed = 1;
            goto out;
        }
        for (uint64_t i = 0; i < n; i++)
            if (gh_tl_at(b, i)->kind == GH_TL_GIL_HOLD)
                holds[ring][nholds[ring]++] = i;
    }
    for (int ring = 0; ring < nr; ring++) {
        const struct gh_tl_buf *b = r->timelines[ring];
        for (uint64_t h = 0; h < nholds[ring]; h++) {
            const uint64_t i = holds[ring][h];
            const struct gh_tl_event *e = gh_tl_at(b, i);
            int from = e->arg == -1 ? nr - 1 : e->arg;
            if (e->arg == -2 || from < 0 || from >= nr || from == ring ||
                w->lane[ring][i] == NOT_DRAWN)
                continue;
            const struct gh_tl_buf *pb = r->timelines[from];
            uint64_t lo = 0, hi = nholds[from]; /* first tenure ending after e->t0 */
            while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                const struct gh_tl_event *p = gh_tl_at(pb, holds[from][mid]);
                if (p->t0 + p->dur <= e->t0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == 0)
                continue;
            const uint64_t ppos = holds[from][lo - 1];
            const struct gh_tl_event *prev = gh_tl_at(pb, ppos);
            if (w->lane[from][ppos] == NOT_DRAWN)
                continue;
            uint64_t at = prev->t0 + prev->dur - (prev->dur > 1 ? 1 : 0);
            emit(w, json_pack("{s:s, s:s, s:s, s:I, s:f, s:i, s:i}", "name", "GIL handoff", "cat",
                              "gil", "ph", "s", "id", (json_int_t)id, "ts", usec(w, at), "pid",
                              1, "tid", tid_of(r, from) + LANE_TID * w->lane[from][ppos]));
            emit(w, json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:i, s:i}", "name", "GIL handoff",
                              "cat", "gil", "ph", "f", "bp", "e", "id", (json_int_t)id, "ts",
                              usec(w, e->t0), "pid", 1, "tid",
                              tid_of(r, ring) + LANE_TID * w->lane[ring][i]));
            id++;
        }
    }
    write_lock_flows(w, &id);
out:
    for (int ring = 0; ring < nr; ring++)
        free(holds[ring]);
    free(holds);
    free(nholds);
}

static json_t *other_data(const struct gh_result *r, uint64_t undrawn)
{
    char desc[256];
    gh_strategy_describe(&r->strategy, desc, sizeof desc);
    json_t *dropped = json_object();
    uint64_t total = 0;
    for (int i = 0; i < r->ntimelines; i++) {
        char name[32];
        thread_name(name, sizeof name, r, i, 0);
        uint64_t d = gh_tl_dropped(r->timelines[i]);
        total += d;
        json_object_set_new(dropped, name, json_integer((json_int_t)d));
    }
    char note[320];
    snprintf(note, sizeof note,
             "a thread's ring keeps its latest events; dropped_events were overwritten (the "
             "oldest first). Ops are the latency-sampled ones; hazards the first %d of each "
             "kind per thread (the result counts them all).",
             GH_TL_HAZARDS_MAX);
    return json_pack("{s:s, s:s?, s:s, s:i, s:I, s:I, s:I, s:o, s:I, s:s}", "generator", "gilheap",
                     "scenario", r->scenario ? r->scenario->name : NULL, "strategy", desc,
                     "threads", r->threads, "zero_clock_monotonic_ns",
                     (json_int_t)r->timeline_t0, "events_per_thread",
                     (json_int_t)(r->ntimelines ? r->timelines[0]->cap : 0),
                     "dropped_events", (json_int_t)total, "dropped_by_thread", dropped,
                     "slices_not_drawn", (json_int_t)undrawn, "note", note);
}

int gh_report_trace(const struct gh_result *r, const char *path, char *err, size_t errlen)
{
    if (!r->ntimelines) {
        snprintf(err, errlen, "the run recorded no timeline");
        return -1;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct writer w = {f, r, r->timeline_t0, true, 0, NULL, 0, 1};
    w.lane = calloc((size_t)r->ntimelines, sizeof *w.lane);
    if (!w.lane)
        w.failed = 1;
    fputs("{\"displayTimeUnit\": \"ns\",\n\"traceEvents\": [\n", f);
    char pname[160];
    snprintf(pname, sizeof pname, "gilheap %s (%s)", r->scenario ? r->scenario->name : "run",
             r->strategy.preset ? r->strategy.preset : "custom");
    emit(&w, json_pack("{s:s, s:s, s:i, s:{s:s}}", "ph", "M", "name", "process_name", "pid", 1,
                       "args", "name", pname));
    for (int ring = 0; ring < r->ntimelines && !w.failed; ring++) {
        int lanes = write_ring(&w, ring);
        for (int lane = 0; lane < lanes; lane++) {
            char name[32];
            thread_name(name, sizeof name, r, ring, lane);
            int tid = tid_of(r, ring);
            meta(&w, tid + LANE_TID * lane, name, tid * LANES + lane);
        }
    }
    if (!w.failed)
        write_flows(&w);
    if (!w.failed)
        write_counters(&w);
    /* Last, so that it can count what the events could not show. */
    fputs("\n],\n\"otherData\": ", f);
    json_t *od = other_data(r, w.undrawn);
    if (!od || json_dumpf(od, f, JSON_COMPACT | JSON_PRESERVE_ORDER))
        w.failed = 1;
    json_decref(od);
    fputs("}\n", f);
    if (ferror(f))
        w.failed = 1;
    if (fclose(f) != 0)
        w.failed = 1;
    if (w.lane)
        for (int ring = 0; ring < r->ntimelines; ring++)
            free(w.lane[ring]);
    free(w.lane);
    int rc = -1;
    if (w.failed)
        snprintf(err, errlen, "out of memory writing the trace");
    else
        rc = gh_report_write_file(path, buf, len, err, errlen);
    free(buf);
    return rc;
}
