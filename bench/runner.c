/* runner.c - what the runner itself costs per op.
 *
 * The worker loop (scenario/worker.fl.c) wraps every op in the same
 * bookkeeping: the op's choice (a script step or a weighted pick), the
 * switch point, the op's counters, the latency sample's clock reads. This
 * times the cheapest op, `list.len` of a global list, through the real
 * runner (gh_run of a one-op script, one thread, ITERS ops) next to a bare
 * C loop doing what the op itself does (the global's slot read, the
 * checked mode's poison test and the kind test, the length's relaxed load
 * added to a sink in memory), K alternating rounds in one process. The
 * difference of the medians is the runner's cost per op; it is printed
 * with the latency sample off (0), at the CLI's default (every 1024th op
 * timed) and at every 16th op, so a row minus the first is what that
 * sampling costs.
 *
 * Each is timed two ways: wall-clock (the run's own measured phase; the
 * bare loop's clock reads) and CPU time (the process's around gh_run: the
 * worker's loop, plus a thread start, the setup and the main thread's
 * polling, under 1% at 10M ops; the bare loop's thread CPU time). On a
 * machine shared with other work the CPU time leaves out the time the
 * thread was descheduled, so its spread is smaller; the runner's cost is
 * computed from it.
 *
 * The op runs with loads=borrowed: under loads=counted (every preset's
 * default, 3.13's bytecode) `list.len` also takes and drops a counted
 * reference to the list, which is the model's cost (the statement's
 * LOAD_GLOBAL), not the runner's; under ft that is a non-owner's two atomic
 * updates of the main thread's list, about 20 ns.
 *
 * usage: runner [ITERS] [ROUNDS] [PRESET,...]   (defaults 10000000, 7, gil)
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/atomic.h"
#include "base/clock.h"
#include "object/object.h"
#include "scenario/run.h"

#define MAX_ROUNDS 64
#define MAX_PRESETS 8

static const char scenario_text[] =
    "name: runner-cost\n"
    "threads: 1\n"
    "ops: 1000\n"
    "setup:\n"
    "  L: {type: list, items: 3}\n"
    "script:\n"
    "  - {op: list.len, on: L}\n";

/* A list's head as containers.h lays it out (the object, then ob_size). */
struct bare_list { gh_object ob; int64_t ob_size; };
static const struct gh_type bare_list_type = {.tp_name = "list", .kind = GH_KIND_LIST};

/* What the op does, by hand: the global's slot, the poison test (a freed
 * object's type is gh_freed_type), the kind test, the length's relaxed
 * load into a sink in memory. The slot array passes through an empty asm
 * each iteration, so nothing is hoisted out of the loop. */
static uint64_t cpu_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ns per op, wall-clock and CPU. */
struct both { double wall, cpu; };

static GH_NOINLINE struct both bare_len(gh_object **globals, uint64_t *sink, uint64_t iters)
{
    uint64_t c0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t t0 = gh_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        __asm__ volatile("" : "+r"(globals));
        gh_object *o = globals[0];
        if (!o || o->ob_type == &gh_freed_type || o->ob_type->kind != GH_KIND_LIST)
            abort();
        *sink += (uint64_t)gh_atomic_load_relaxed_i64(&((struct bare_list *)(void *)o)->ob_size);
        GH_COMPILER_BARRIER();
    }
    uint64_t t1 = gh_now_ns();
    uint64_t c1 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    return (struct both){(double)(t1 - t0) / (double)iters, (double)(c1 - c0) / (double)iters};
}

/* ns per op of one run through gh_run: the measured phase (the worker's
 * own clock reads) over the ops it did. */
static struct both through_runner(struct gh_scenario *s, const char *preset, uint64_t iters,
                             unsigned sample)
{
    struct gh_run_config cfg;
    struct gh_result res;
    struct gh_diag d = {{0}};
    char err[256];
    memset(&cfg, 0, sizeof cfg);
    if (gh_strategy_from_preset(&cfg.strategy, preset, err, sizeof err) != 0 ||
        gh_strategy_set(&cfg.strategy, "loads=borrowed", err, sizeof err) != 0) {
        fprintf(stderr, "runner: %s\n", err);
        exit(2);
    }
    cfg.threads = 1;
    cfg.ops_per_thread = iters;
    cfg.seed = 1;
    cfg.seed_given = true;
    cfg.latency_sample = sample;
    cfg.check = -1;
    memset(&res, 0, sizeof res);
    uint64_t c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    int rc = gh_run(s, &cfg, &res, &d);
    uint64_t c1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (rc != 0) {
        fprintf(stderr, "runner: %s\n", d.msg);
        exit(2);
    }
    if (res.status != GH_STATUS_OK || res.total_ops != iters ||
        res.op[GH_OP_LIST_LEN].done != iters) {
        fprintf(stderr, "runner: the run did not do %" PRIu64 " list.len ops\n", iters);
        exit(1);
    }
    struct both ns = {(double)res.wall_ns / (double)iters, (double)(c1 - c0) / (double)iters};
    gh_result_free(&res);
    return ns;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double med(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Prints a row; returns its median CPU ns/op. */
static double row(const char *strategy, const char *loop, const struct both *v, int n,
                  double bare_cpu)
{
    double wall[MAX_ROUNDS], cpu[MAX_ROUNDS];
    for (int i = 0; i < n; i++) {
        wall[i] = v[i].wall;
        cpu[i] = v[i].cpu;
    }
    double mw = med(wall, n), mc = med(cpu, n);
    char diff[32] = "-";
    if (bare_cpu > 0)
        snprintf(diff, sizeof diff, "%.2f", mc - bare_cpu);
    printf("%-10s %-22s %8.2f %7.2f-%-7.2f %8.2f %7.2f-%-7.2f %10s\n", strategy, loop, mw,
           wall[0], wall[n - 1], mc, cpu[0], cpu[n - 1], diff);
    return mc;
}

int main(int argc, char **argv)
{
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000u;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    char presets_buf[256];
    snprintf(presets_buf, sizeof presets_buf, "%s", argc > 3 ? argv[3] : "gil");
    if (iters == 0 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: runner [ITERS>0] [ROUNDS 1..%d] [PRESET,...]\n", MAX_ROUNDS);
        return 2;
    }
    const char *presets[MAX_PRESETS];
    int np = 0;
    for (char *p = strtok(presets_buf, ","); p && np < MAX_PRESETS; p = strtok(NULL, ","))
        presets[np++] = p;

    struct gh_diag d = {{0}};
    struct gh_scenario *s = gh_scenario_parse(scenario_text, strlen(scenario_text),
                                              "runner-cost.yaml", &d);
    if (!s || gh_scenario_assign_threads(s, 1, &d) != 0) {
        fprintf(stderr, "runner: %s\n", d.msg);
        return 2;
    }

    static struct bare_list bl = {{1, &bare_list_type}, 3};
    gh_object *bare_globals[1] = {(gh_object *)(void *)&bl};
    uint64_t sink = 0;

    static struct both run0[MAX_PRESETS][MAX_ROUNDS], run16[MAX_PRESETS][MAX_ROUNDS];
    static struct both run1024[MAX_PRESETS][MAX_ROUNDS];
    static struct both bare[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        for (int p = 0; p < np; p++) {
            run0[p][r] = through_runner(s, presets[p], iters, 0);
            run1024[p][r] = through_runner(s, presets[p], iters, 1024);
            run16[p][r] = through_runner(s, presets[p], iters, 16);
        }
        bare[r] = bare_len(bare_globals, &sink, iters);
    }

    printf("runner cost: list.len through gh_run (1 thread, a one-op script) vs a bare loop, "
           "%" PRIu64 " ops, %d alternating rounds (medians, min-max)\n", iters, rounds);
    printf("%-10s %-22s %8s %15s %8s %15s %10s\n", "strategy", "loop", "wall ns", "min-max",
           "cpu ns", "min-max", "runner ns");
    double bare_cpu = row("-", "bare", bare, rounds, 0);
    for (int p = 0; p < np; p++) {
        row(presets[p], "runner, no latency", run0[p], rounds, bare_cpu);
        row(presets[p], "runner, latency 1/1024", run1024[p], rounds, bare_cpu);
        row(presets[p], "runner, latency 1/16", run16[p], rounds, bare_cpu);
    }
    printf("runner ns: the row's median CPU ns/op minus the bare loop's\n");
    gh_scenario_free(s);
    return (int)(sink & 0); /* sink is read: the stores stay */
}
