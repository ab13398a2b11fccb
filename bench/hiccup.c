/* hiccup.c - how often this machine takes a CPU away from a thread that
 * never blocks: a loop reading CLOCK_MONOTONIC, counting the gaps between
 * two reads longer than 100 us and 500 us (another process scheduled in,
 * an interrupt, the hypervisor). It calls nothing of gilheap's, so what
 * it sees is the floor under any latency a run measures, a time to
 * safepoint above all (docs/gc.md, "Slow times to safepoint").
 *
 *   build/hiccup [SECONDS]      default 10; pin it: taskset -c 0 build/hiccup
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 10.0;
    if (!(secs > 0 && secs <= 3600)) {
        fprintf(stderr, "hiccup: SECONDS '%s': expected a number from 0 to 3600\n", argv[1]);
        return 2;
    }
    const uint64_t end = gh_now_ns() + (uint64_t)(secs * 1e9);
    uint64_t prev = gh_now_ns(), max = 0, n100 = 0, n500 = 0, stalled = 0;
    for (;;) {
        uint64_t t = gh_now_ns(), d = t - prev;
        if (d > 100000u) {
            n100++;
            stalled += d;
        }
        n500 += d > 500000u;
        if (d > max)
            max = d;
        prev = t;
        if (t > end)
            break;
    }
    printf("%.0f s: %" PRIu64 " gaps over 100 us (%.2f%% of the time), %" PRIu64
           " over 500 us, longest %.0f us\n",
           secs, n100, 100.0 * (double)stalled / (secs * 1e9), n500, (double)max / 1e3);
    return 0;
}
