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

#endif
