/* clock.h - monotonic time in nanoseconds. Never called on a fast path.
 * Layer: base. */
#ifndef GH_BASE_CLOCK_H
#define GH_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "base/compiler.h"

GH_INLINE uint64_t gh_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps for ns nanoseconds, resuming after signals. */
void gh_sleep_ns(uint64_t ns);

/* The CLOCK_REALTIME deadline ns from now, as pthread_mutex_timedlock and
 * pthread_timedjoin_np take it (the GIL's condition variables wait on the
 * monotonic clock instead, gil_lock.c). */
GH_INLINE struct timespec gh_realtime_after(uint64_t ns)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    uint64_t t = (uint64_t)dl.tv_nsec + ns;
    dl.tv_sec += (time_t)(t / 1000000000u);
    dl.tv_nsec = (long)(t % 1000000000u);
    return dl;
}

#endif
