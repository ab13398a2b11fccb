/* hazard.h - what the checked mode catches, counted per thread.
 *
 * A hazard is a symptom of a strategy that does not protect what it should:
 * the unsafe presets must show them, the safe ones never. Each thread counts
 * what it detects in its own gh_tstate (no sharing on the hot path); the
 * first example of each kind keeps the thread, the operation and the
 * object's type. The runner merges them into the run's results.
 *
 * Layer: base.
 */
#ifndef GH_BASE_HAZARD_H
#define GH_BASE_HAZARD_H

#include <stdint.h>

enum gh_hazard_kind {
    GH_HAZARD_USE_AFTER_FREE, /* an operation met a freed (poisoned) object */
    GH_HAZARD_DOUBLE_FREE,    /* a freed object was deallocated again */
    GH_HAZARD_TORN_READ,      /* a container slot read empty, or past its array */
    GH_HAZARD_LOST_UPDATE,    /* a container's length disagrees with its
                                 successful appends and pops */
    GH_HAZARD_LOST_RMW,       /* a read-modify-write lost increments */
    GH_HAZARD_FAULT,          /* a memory fault inside an operation, caught
                                 and the operation abandoned */
    GH_HAZARD_LEAK,           /* an object still alive after teardown */
    GH_HAZARD_REFCNT_LOW,     /* the census (gc/census.h) found more strong
                                 references to a live object than its count:
                                 it will be freed while still referenced */
    GH_HAZARD_REFCNT_HIGH,    /* the census found fewer references than the
                                 count: the object can never be freed */
    GH_HAZARD_LIVE_COLLECTED, /* the collector cleared an object that was still
                                 referenced from outside what it collected
                                 (gc=nostop: a reference moved during its scan) */
    GH_HAZARD_COUNT
};

extern const char *const gh_hazard_names[GH_HAZARD_COUNT];

/* The first occurrence of a kind. The strings are static (op and type
 * names). */
struct gh_hazard_example {
    int thread;               /* worker index; -1: the main thread */
    const char *op;           /* the operation in progress, or NULL */
    const char *type;         /* the object's type name, or NULL */
    /* The census's findings (refcount_low, refcount_high): the object's
     * count and the strong references the census found to it; -1 for the
     * other kinds. */
    int64_t count, refs;
};

struct gh_hazard_counts {
    uint64_t n[GH_HAZARD_COUNT];
    struct gh_hazard_example first[GH_HAZARD_COUNT];
};

#endif
