/* cpus.c - CPU lists (--cpus) and compare's calibration of each CPU.
 *
 * A list is "N", "N-M" or several of those separated by commas; every CPU
 * must be one the process may run on (its affinity mask), so a run never
 * asks for a CPU the kernel would refuse halfway through.
 *
 * The calibration times one fixed loop on each CPU the cells will use. On
 * a VM two vCPUs can differ by far more than the strategies do (1.7x was
 * seen on the 2-vCPU machine these numbers come from), and a one-thread
 * cell lands on either: the calibration says whether that is so before the
 * table is read. The loop is allocation-heavy like the workloads: malloc
 * and free of small blocks of mixed sizes, each block read back through a
 * ring of pointers (a dependent load per iteration).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

int gh__cli_allowed_cpus(int *cpus, int max)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set))
            cpus[n++] = c;
    return n;
}

void gh__cli_format_cpus(const int *cpus, int n, char *buf, size_t len)
{
    static bool seen[CPU_SETSIZE];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < n; i++)
        if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE)
            seen[cpus[i]] = true;
    size_t used = 0;
    buf[0] = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!seen[c])
            continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && seen[e + 1])
            e++;
        int w = e == c ? snprintf(buf + used, len - used, "%s%d", used ? "," : "", c)
                       : snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", c, e);
        if (w < 0 || (size_t)w >= len - used)
            return; /* truncated: what fits */
        used += (size_t)w;
        c = e;
    }
}

/* A CPU number: digits only, below CPU_SETSIZE. */
static int cpu_number(const char *p, size_t n, int *out)
{
    if (n == 0 || n > 6)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v >= CPU_SETSIZE)
        return -1;
    *out = v;
    return 0;
}

int gh__cli_parse_cpus(const char *text, int *cpus, int max, char *err, size_t errlen)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        snprintf(err, errlen, "cannot read the process's CPU affinity: %s", strerror(errno));
        return -1;
    }
    int allowed[GH_CLI_MAX_CPUS];
    char allowed_text[256];
    gh__cli_format_cpus(allowed, gh__cli_allowed_cpus(allowed, GH_CLI_MAX_CPUS), allowed_text,
                        sizeof allowed_text);

    int n = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *dash = memchr(p, '-', len);
        int lo, hi;
        if (dash ? cpu_number(p, (size_t)(dash - p), &lo) != 0 ||
                       cpu_number(dash + 1, len - (size_t)(dash - p) - 1, &hi) != 0
                 : cpu_number(p, len, &lo) != 0) {
            snprintf(err, errlen, "expected CPU numbers (0 to %d) or ranges N-M separated by "
                     "commas, such as 0, 0,1 or 0-3", CPU_SETSIZE - 1);
            return -1;
        }
        if (!dash)
            hi = lo;
        if (hi < lo) {
            snprintf(err, errlen, "the range %d-%d runs backwards; expected N-M with N <= M",
                     lo, hi);
            return -1;
        }
        for (int c = lo; c <= hi; c++) {
            if (!CPU_ISSET(c, &set)) {
                snprintf(err, errlen, "CPU %d is not in this process's affinity mask "
                         "(allowed: %s)", c, allowed_text);
                return -1;
            }
            if (n == max) {
                snprintf(err, errlen, "more than %d CPUs", max);
                return -1;
            }
            cpus[n++] = c;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

/* ---- calibration -------------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

#define CAL_RING 256

/* The loop: each iteration frees the oldest of CAL_RING blocks, allocates
 * one of 16 to 256 bytes in its place, writes it, and reads a word of
 * another block found through the one before (a dependent load). */
static __attribute__((noinline)) uint64_t calibration_loop(uint64_t iters)
{
    uint64_t *ring[CAL_RING];
    memset(ring, 0, sizeof ring);
    uint64_t x = 0x9e3779b97f4a7c15u, sum = 0;
    for (uint64_t i = 0; i < iters; i++) {
        unsigned k = (unsigned)i & (CAL_RING - 1);
        free(ring[k]);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t *b = malloc(16 + (x & 240));
        if (!b)
            abort();
        b[0] = sum + i;
        b[1] = (uint64_t)(uintptr_t)ring[(k + (sum & 63) + 1) & (CAL_RING - 1)];
        ring[k] = b;
        const uint64_t *o = (const uint64_t *)(uintptr_t)b[1];
        sum += o ? o[0] : 1;
    }
    for (int k = 0; k < CAL_RING; k++)
        free(ring[k]);
    return sum;
}

static int pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int gh__cli_calibrate(const int *cpus, int n, struct gh_cli_calibration *out, char *err,
                      size_t errlen)
{
    /* 3 rounds of about 10 ms per CPU (the loop is 25-45 ns an iteration
     * on the VM), interleaved so a burst of other work hits every CPU's
     * rounds alike; each CPU's best round is its speed. */
    enum { ROUNDS = 3 };
    const uint64_t iters = 300000;
    cpu_set_t saved;
    if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) != 0) {
        snprintf(err, errlen, "cannot read the thread's CPU affinity");
        return -1;
    }
    memset(out, 0, sizeof *out);
    /* Each CPU once, in the order given. */
    for (int i = 0; i < n && out->ncpus < GH_CLI_MAX_CPUS; i++) {
        bool dup = false;
        for (int j = 0; j < out->ncpus; j++)
            dup |= out->cpu[j] == cpus[i];
        if (!dup)
            out->cpu[out->ncpus++] = cpus[i];
    }
    out->iters = iters;
    out->rounds = ROUNDS;
    volatile uint64_t sink = 0;
    calibration_loop(iters / 10); /* warm the allocator's caches */
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < out->ncpus; i++) {
            if (pin_self(out->cpu[i]) != 0) {
                snprintf(err, errlen, "cannot run on CPU %d", out->cpu[i]);
                pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
                return -1;
            }
            sched_yield(); /* moved there before the clock starts */
            uint64_t t0 = mono_ns();
            sink += calibration_loop(iters);
            double ns = (double)(mono_ns() - t0) / (double)iters;
            if (r == 0 || ns < out->ns[i])
                out->ns[i] = ns;
        }
    }
    (void)sink;
    pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    double lo = 0, hi = 0;
    for (int i = 0; i < out->ncpus; i++) {
        if (i == 0 || out->ns[i] < lo)
            lo = out->ns[i];
        if (out->ns[i] > hi)
            hi = out->ns[i];
    }
    out->spread = lo > 0 ? hi / lo : 1.0;
    return 0;
}
