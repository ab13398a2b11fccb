/* test_report_trace.c - the timeline as a Chrome trace-event file: the
 * format's rules (trace_check.h) on a made-up timeline whose slices cross,
 * whose GIL changes hands and whose ring has wrapped. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeline.h"
#include "report/report.h"
#include "trace_check.h"

struct made {
    struct gh_result r;
    struct gh_scenario s;
    struct gh_tl_buf *rings[3];
};

/* Worker 0 holds the GIL 0-100 us with a sampled op 90-120 us that
 * crosses the tenure's end (an op that blocked); worker 1 waits 10-100 and
 * holds 100-200 (a handoff from worker 0); the main thread ran a
 * collection with a stop of the world; worker 1's ring of 64 wrapped
 * (72 events: the 8 oldest dropped). */
static void make(struct made *m)
{
    memset(m, 0, sizeof *m);
    m->s.name = "made-up";
    m->r.scenario = &m->s;
    char err[256];
    cr_assert_eq(gh_strategy_from_preset(&m->r.strategy, "gil", err, sizeof err), 0, "%s", err);
    m->r.threads = 2;
    m->r.has_gil = true;
    const uint64_t b = 1000000000ull, us = 1000;
    m->r.timeline_t0 = b;
    for (int i = 0; i < 3; i++) {
        m->rings[i] = gh_tl_new(64);
        cr_assert_not_null(m->rings[i]);
    }
    struct gh_tl_buf *w0 = m->rings[0], *w1 = m->rings[1], *mn = m->rings[2];
    gh_tl_put(w0, GH_TL_OP, b + 90 * us, b + 120 * us, NULL, GH_OP_LIST_APPEND);
    gh_tl_put(w0, GH_TL_GIL_HOLD, b, b + 100 * us, NULL, -2);
    gh_tl_put(w0, GH_TL_LOCK_WAIT, b + 20 * us, b + 30 * us, (void *)0x1000, GH_LOCK_list);
    gh_tl_put(w0, GH_TL_HAZARD, b + 40 * us, b + 40 * us, "list.pop", GH_HAZARD_TORN_READ);
    for (int k = 0; k < 70; k++)
        gh_tl_put(w1, GH_TL_GIL_DROP_REQUEST, b + 5 * us, b + 5 * us, NULL, 0);
    gh_tl_put(w1, GH_TL_GIL_WAIT, b + 10 * us, b + 100 * us, NULL, -1);
    gh_tl_put(w1, GH_TL_GIL_HOLD, b + 100 * us, b + 200 * us, NULL, 0);
    gh_tl_put(mn, GH_TL_STOP_WORLD, b + 300 * us, b + 310 * us, NULL, 2);
    gh_tl_put(mn, GH_TL_WORLD_STOPPED, b + 310 * us, b + 400 * us, NULL, -1);
    gh_tl_put(mn, GH_TL_GC_PHASE, b + 320 * us, b + 390 * us, NULL, GH_TL_GC_FIND);
    gh_tl_put(mn, GH_TL_GC, b + 299 * us, b + 420 * us, NULL, 2);
    m->r.timelines = m->rings;
    m->r.ntimelines = 3;
}

static void unmake(struct made *m)
{
    for (int i = 0; i < 3; i++)
        gh_tl_free(m->rings[i]);
}

static json_t *write_and_load(struct made *m, char *path)
{
    strcpy(path, "/tmp/gh_trace_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char err[256];
    cr_assert_eq(gh_report_trace(&m->r, path, err, sizeof err), 0, "%s", err);
    trace_check(path);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root);
    return root;
}

static size_t count(json_t *evs, const char *ph, const char *name, long long tid)
{
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(evs, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "ph")), ph))
            continue;
        if (name && strcmp(json_string_value(json_object_get(e, "name")), name))
            continue;
        if (tid >= 0 && json_integer_value(json_object_get(e, "tid")) != tid)
            continue;
        n++;
    }
    return n;
}

Test(report_trace, follows_the_format, .timeout = 10)
{
    struct made m;
    make(&m);
    char path[64];
    json_t *root = write_and_load(&m, path);
    json_t *evs = json_object_get(root, "traceEvents");
    /* The op that crossed the tenure went to worker-0's second lane. */
    cr_assert_eq(count(evs, "X", "list.append", 1 + 1000), 1);
    cr_assert_eq(count(evs, "X", "GIL held", 1), 1);
    cr_assert_eq(count(evs, "M", "thread_name", 1 + 1000), 1);
    /* One handoff: worker 0 to worker 1, one flow. */
    cr_assert_eq(count(evs, "s", NULL, 1), 1);
    cr_assert_eq(count(evs, "f", NULL, 2), 1);
    cr_assert_eq(count(evs, "X", "wait: list lock", 1), 1);
    cr_assert_eq(count(evs, "i", "hazard: torn_read", 1), 1);
    cr_assert_eq(count(evs, "X", "collection (generation 2)", 0), 1);
    cr_assert_eq(count(evs, "X", "gc: find garbage", 0), 1);
    /* The wrap is said: 8 of worker 1's 72 events. */
    json_t *od = json_object_get(root, "otherData");
    cr_assert_eq(json_integer_value(json_object_get(od, "dropped_events")), 8);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(od, "dropped_by_thread"),
                                                    "worker-1")), 8);
    cr_assert_eq(count(evs, "i", "GIL drop request", 2), 62);
    json_decref(root);
    unlink(path);
    unmake(&m);
}

/* A lock's wake-up: an arrow from the unlocker's wake (here the main
 * thread's, inside worker-0's wait for the same lock) to the wait's end,
 * named for a handoff; a wake of another lock, or one after the wait,
 * draws none. */
Test(report_trace, lock_wake_flows, .timeout = 10)
{
    struct made m;
    make(&m);
    const uint64_t b = 1000000000ull, us = 1000;
    gh_tl_put(m.rings[2], GH_TL_LOCK_WAKE, b + 25 * us, b + 26 * us, (void *)0x1000, 1);
    gh_tl_put(m.rings[2], GH_TL_LOCK_WAKE, b + 27 * us, b + 28 * us, (void *)0x2000, 0);
    gh_tl_put(m.rings[2], GH_TL_LOCK_WAKE, b + 31 * us, b + 32 * us, (void *)0x1000, 0);
    gh_tl_put(m.rings[2], GH_TL_LOCK_HOLD, b + 33 * us, b + 34 * us, (void *)0x1000, GH_LOCK_list);
    /* Two grace periods that overlap: async slices, not lanes. */
    gh_tl_put(m.rings[0], GH_TL_QSBR_GRACE, b + 10 * us, b + 150 * us, NULL, 256);
    gh_tl_put(m.rings[0], GH_TL_QSBR_GRACE, b + 50 * us, b + 250 * us, NULL, 256);
    char path[64];
    json_t *root = write_and_load(&m, path);
    json_t *evs = json_object_get(root, "traceEvents");
    cr_assert_eq(count(evs, "X", "waking a lock's waiter", 0), 3);
    cr_assert_eq(count(evs, "s", "lock handoff", 0), 1, "from the main thread's wake");
    cr_assert_eq(count(evs, "f", "lock handoff", 1), 1, "to worker-0's wait");
    cr_assert_eq(count(evs, "s", "lock wake-up", -1), 0, "the other wakes end no wait");
    cr_assert_eq(count(evs, "X", "hold: list lock", 0), 1, "a sampled hold, named by class");
    cr_assert_eq(count(evs, "b", "QSBR grace period", 1), 2);
    cr_assert_eq(count(evs, "e", "QSBR grace period", 1), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(root, "otherData"),
                                                    "slices_not_drawn")), 0);
    json_decref(root);
    unlink(path);
    unmake(&m);
}

/* --timeline's strip of the same: 10 columns of 42 us (the last event
 * ends at 420 us). Worker 1 waits, then holds the GIL from 100 us (2.4
 * columns in); the main thread collects from 299 us. */
Test(report_trace, timeline_strip, .timeout = 10)
{
    struct made m;
    make(&m);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(gh_report_timeline(f, &m.r, 10), 0);
    fclose(f);
    cr_assert(strstr(buf, "\n  worker-0  GG........\n"), "%s", buf);
    cr_assert(strstr(buf, "\n  worker-1  WWGGG.....\n"), "%s", buf);
    cr_assert(strstr(buf, "\n  main      .......CCC\n"), "%s", buf);
    cr_assert(strstr(buf, "the oldest events were dropped"), "%s", buf);
    free(buf);
    struct gh_result none;
    memset(&none, 0, sizeof none);
    cr_assert_eq(gh_report_timeline(stdout, &none, 10), -1);
    unmake(&m);
}

/* A run without a timeline has nothing to write: refused, no file. */
Test(report_trace, refuses_a_run_without_a_timeline, .timeout = 10)
{
    struct gh_result r;
    memset(&r, 0, sizeof r);
    char err[256], path[] = "/tmp/gh_trace_none_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    cr_assert_neq(gh_report_trace(&r, path, err, sizeof err), 0);
    cr_assert(strstr(err, "no timeline"), "%s", err);
    cr_assert_neq(access(path, F_OK), 0, "a file was written");
}
