/* gc_bench.fl.c - the cyclic collector's throughput, for comparison with
 * the python3 on the machine (scripts/bench-gc.py runs both sides).
 *
 *   cycles N   N instances of a plain user class in N/2 two-object cycles
 *              (a.other = b; b.other = a, through each instance's attribute
 *              dict), names dropped, then one full collection, timed:
 *              instances collected per second (and everything found
 *              unreachable: instances and their attribute dicts).
 *   live N     a list holding N empty lists (tracked containers), then one
 *              full collection with nothing to collect, timed: objects
 *              examined per second (gh_gc_stats.examined's delta).
 *
 * A program compiles one flavour of the hot code (the containers headers
 * are flavoured and guarded), so CMake builds this file once per preset,
 * as gc_bench_<preset> with that preset's flavour (gh_flavoured) and
 * GC_BENCH_PRESET:
 *
 *   gil     sync=gil rc=plain alloc=arena gc=generational layout=compact
 *   atomic  sync=objlock rc=atomic alloc=thread gc=stw layout=full
 *
 * usage: gc_bench_<preset> [N [REPS [cycles|live]]]
 *                                  warm up once, REPS timed runs of each
 *                                  benchmark, or only the one named
 *                                  (defaults 1000000, 5), medians (for perf)
 *        gc_bench_<preset> --serve      one command a line on stdin ("cycles N",
 *                                  "live N", "quit"), one result line each
 *                                  on stdout: `key=value ...` (for the
 *                                  script, which interleaves the sides)
 */
#ifndef GC_BENCH_PRESET
#error "built by CMake once per preset, with GC_BENCH_PRESET and the preset's flavour"
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "containers/containers.h"
#include "gc/gc.h"
#include "scenario/runtime.h"

#if defined(GH_FL_SYNC_GIL)
#define GC_BENCH_STRATEGY "sync=gil rc=plain alloc=arena gc=generational layout=compact"
#else
#define GC_BENCH_STRATEGY "sync=objlock rc=atomic alloc=thread gc=stw layout=full"
#endif

static struct gh_tstate ts;
static struct gh_runtime rt;
static gh_object *cls;       /* class N: pass */
static gh_object *attr_name; /* "other", a constant as the compiler makes it */

/* As a run of the preset sets up (scenario/runtime.h). */
static void setup(void)
{
    struct gh_strategy st;
    char err[256];
    if (gh_strategy_from_preset(&st, GC_BENCH_PRESET, err, sizeof err) != 0 ||
        gh_runtime_init(&rt, &st, false, &ts, 0, "bench", err, sizeof err) != 0) {
        fprintf(stderr, "gc_bench: %s\n", err);
        exit(3);
    }
    gh_sync_thread_start(&ts);
    /* As the python side's gc.disable(): no automatic collection while
     * building (none could run anyway: no switch point is passed). */
    gh_gc_disable();
    struct gh_class_spec spec = {.name = "N"};
    cls = gh_class_new(&spec);
    attr_name = gh_str_const("other");
}

static void teardown(void)
{
    gh_decref(attr_name);
    gh_decref(cls);
    (void)gh_gc_fini();
    gh_sync_thread_stop(&ts);
    gh_runtime_fini(&rt, NULL);
}

static uint64_t live_bytes(void)
{
    struct gh_alloc_stats st;
    gh_alloc_stats_get(&st);
    return st.live_bytes;
}

struct result {
    int64_t n;            /* instances (cycles) or inner lists (live) */
    double build_s;
    double collect_s;
    int64_t unreachable;  /* gh_gc_collect's result */
    uint64_t examined;    /* gh_gc_stats.examined's delta */
    uint64_t collected;   /* gh_gc_stats.collected's delta */
    int64_t leak_bytes;   /* live bytes after - before (0 expected) */
};

static void bench_cycles(int64_t n, struct result *r)
{
    uint64_t live0 = live_bytes();
    uint64_t t0 = gh_now_ns();
    for (int64_t i = 0; i < n / 2; i++) {
        gh_object *a = gh_instance_new_of(cls);
        gh_object *b = gh_instance_new_of(cls);
        gh_attr_set(&ts, a, attr_name, gh_newref(b));
        gh_attr_set(&ts, b, attr_name, gh_newref(a));
        gh_decref(a);
        gh_decref(b);
    }
    uint64_t t1 = gh_now_ns();
    uint64_t ex0 = gh_gc_stats.examined, col0 = gh_gc_stats.collected;
    uint64_t t2 = gh_now_ns();
    int64_t u = gh_gc_collect(&ts, GH_GC_NGENS - 1);
    uint64_t t3 = gh_now_ns();
    r->n = n / 2 * 2;
    r->build_s = (double)(t1 - t0) / 1e9;
    r->collect_s = (double)(t3 - t2) / 1e9;
    r->unreachable = u;
    r->examined = gh_gc_stats.examined - ex0;
    r->collected = gh_gc_stats.collected - col0;
    r->leak_bytes = (int64_t)(live_bytes() - live0);
}

static void bench_live(int64_t n, struct result *r)
{
    uint64_t live0 = live_bytes();
    uint64_t t0 = gh_now_ns();
    gh_object *l = gh_list_new();
    for (int64_t i = 0; i < n; i++)
        gh_list_append(&ts, (struct gh_list *)(void *)l, gh_list_new());
    uint64_t t1 = gh_now_ns();
    uint64_t ex0 = gh_gc_stats.examined, col0 = gh_gc_stats.collected;
    uint64_t t2 = gh_now_ns();
    int64_t u = gh_gc_collect(&ts, GH_GC_NGENS - 1);
    uint64_t t3 = gh_now_ns();
    r->n = n;
    r->build_s = (double)(t1 - t0) / 1e9;
    r->collect_s = (double)(t3 - t2) / 1e9;
    r->unreachable = u;
    r->examined = gh_gc_stats.examined - ex0;
    r->collected = gh_gc_stats.collected - col0;
    gh_decref(l);
    r->leak_bytes = (int64_t)(live_bytes() - live0);
}

static void print_result(const char *kind, const struct result *r)
{
    printf("kind=%s preset=%s n=%" PRId64 " build_s=%.6f collect_s=%.6f unreachable=%" PRId64
           " examined=%" PRIu64 " collected=%" PRIu64 " leak_bytes=%" PRId64 "\n",
           kind, GC_BENCH_PRESET, r->n, r->build_s, r->collect_s, r->unreachable, r->examined,
           r->collected, r->leak_bytes);
    fflush(stdout);
}

static int serve(void)
{
    char line[256];
    printf("ready preset=%s strategy=\"%s\"\n", GC_BENCH_PRESET, GC_BENCH_STRATEGY);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32];
        long long n = 0;
        int k = sscanf(line, "%31s %lld", cmd, &n);
        if (k < 1)
            continue;
        if (!strcmp(cmd, "quit"))
            break;
        struct result r;
        if (k == 2 && n > 0 && !strcmp(cmd, "cycles")) {
            bench_cycles(n, &r);
            print_result("cycles", &r);
        } else if (k == 2 && n > 0 && !strcmp(cmd, "live")) {
            bench_live(n, &r);
            print_result("live", &r);
        } else {
            printf("error unknown command\n");
            fflush(stdout);
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_REPS 64

static void standalone(int64_t n, int reps, const char *only)
{
    static const char *const kinds[2] = {"cycles", "live"};
    printf("gc_bench preset %s (%s), n=%" PRId64 ", 1 warm-up + %d runs each\n", GC_BENCH_PRESET,
           GC_BENCH_STRATEGY, n, reps);
    for (int k = 0; k < 2; k++) {
        if (only && strcmp(only, kinds[k]))
            continue;
        double rate[MAX_REPS];
        struct result r;
        for (int i = -1; i < reps; i++) {
            if (k == 0)
                bench_cycles(n, &r);
            else
                bench_live(n, &r);
            if (i < 0)
                continue;
            print_result(kinds[k], &r);
            rate[i] = (double)(k == 0 ? (uint64_t)r.n : r.examined) / r.collect_s;
        }
        qsort(rate, (size_t)reps, sizeof(double), cmp_double);
        printf("%s: %s per second: median %.3g (min %.3g, max %.3g)\n", kinds[k],
               k == 0 ? "instances collected" : "objects examined", rate[reps / 2], rate[0],
               rate[reps - 1]);
    }
}

int main(int argc, char **argv)
{
    bool serve_mode = argc > 1 && !strcmp(argv[1], "--serve");
    int64_t n = 1000000;
    int reps = 5;
    const char *only = NULL;
    if (!serve_mode) {
        if (argc > 1)
            n = strtoll(argv[1], NULL, 10);
        if (argc > 2)
            reps = atoi(argv[2]);
        if (argc > 3)
            only = argv[3];
        if (n < 2 || reps < 1 || reps > MAX_REPS ||
            (only && strcmp(only, "cycles") && strcmp(only, "live"))) {
            fprintf(stderr, "usage: gc_bench_%s [N>=2 [REPS 1..%d [cycles|live]]] | --serve\n",
                    GC_BENCH_PRESET,
                    MAX_REPS);
            return 2;
        }
    }
    setup();
    int rc = 0;
    if (serve_mode)
        rc = serve();
    else
        standalone(n, reps, only);
    teardown();
    return rc;
}
