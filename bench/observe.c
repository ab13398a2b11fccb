/* observe.c - what one observation costs (the per-event price behind
 * --trace, --timeline, --lock-profile and --report-every): a clock read, a
 * timeline event (gh_tl_put), a sampled hold (two clock reads and a
 * histogram add), a hold-sampling countdown that does not fire, and the
 * relaxed store a worker makes per stretch of ops. Median of ROUNDS
 * rounds of ITERS each, ns per call; pin it (taskset -c 0).
 *
 *   build/observe [ITERS [ROUNDS]]      default 2000000 11
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/atomic.h"
#include "base/clock.h"
#include "base/compiler.h"
#include "base/lockprof.h"
#include "base/timeline.h"
#include "base/tstate.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct gh_tstate ts;
static uint64_t published;

static double run(int which, uint64_t iters)
{
    uint64_t t0 = gh_now_ns(), sink = 0;
    for (uint64_t i = 0; i < iters; i++) {
        switch (which) {
        case 0:
            sink += gh_now_ns();
            break;
        case 1:
            gh_tl_put(ts.tl, GH_TL_LOCK_WAIT, i, i + 10, &ts, 1);
            break;
        case 2: {
            uint64_t h0 = gh_hold_begin_slow(&ts);
            gh_hold_end_slow(&ts, GH_LOCK_list, &ts, h0);
            break;
        }
        case 3: {
            uint64_t h0 = gh_hold_begin(&ts); /* counts down, fires 1 in 2^30 */
            gh_hold_end(&ts, GH_LOCK_list, &ts, h0);
            break;
        }
        default:
            gh_atomic_store_relaxed_u64(&published, i);
            break;
        }
        GH_COMPILER_BARRIER();
    }
    if (sink == 1)
        printf(" ");
    return (double)(gh_now_ns() - t0) / (double)iters;
}

int main(int argc, char **argv)
{
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000u;
    int rounds = argc > 2 ? atoi(argv[2]) : 11;
    if (iters == 0 || rounds <= 0 || rounds > 1000) {
        fprintf(stderr, "observe: expected ITERS > 0 and ROUNDS in 1..1000\n");
        return 2;
    }
    gh_tstate_bind(&ts, 0, NULL);
    ts.tl = gh_tl_new(1u << 16);
    struct gh_lockprof *lp = gh_lockprof_new(GH_LOCKPROF_MAX_EVERY);
    if (!ts.tl || !lp)
        return 3;
    gh_lockprof_attach(&ts, lp);
    static const char *const names[] = {
        "clock read (gh_now_ns)", "timeline event (gh_tl_put)",
        "sampled hold (2 clock reads, histogram, event)", "hold countdown, not firing",
        "ops_live publish (relaxed store)",
    };
    double *v = malloc(sizeof *v * (size_t)rounds);
    if (!v)
        return 3;
    printf("%-48s %8s  (median of %d rounds of %" PRIu64 ")\n", "observation", "ns", rounds,
           iters);
    for (int k = 0; k < 5; k++) {
        for (int r = 0; r < rounds; r++)
            v[r] = run(k, iters);
        qsort(v, (size_t)rounds, sizeof *v, cmp_double);
        printf("%-48s %8.2f\n", names[k], v[rounds / 2]);
    }
    free(v);
    gh_lockprof_attach(&ts, NULL);
    gh_lockprof_free(lp);
    gh_tl_free(ts.tl);
    gh_tstate_unbind();
    return 0;
}
