/* lockstat.h - per-thread lock counters, one set per lock class.
 *
 * Lock classes are an X-macro so the enum, the names in results and the
 * counters cannot drift apart. Counters live in the thread's own state and
 * are written only by that thread; they are summed after the threads have
 * joined (pthread_join orders those reads after the writes).
 *
 * Layer: base.
 */
#ifndef GH_BASE_LOCKSTAT_H
#define GH_BASE_LOCKSTAT_H

#include <stdint.h>

#define GH_LOCK_CLASSES(X)                                                     \
    X(gil,      "the global interpreter lock")                                 \
    X(list,     "per-object mutex of a list")                                  \
    X(dict,     "per-object mutex of a dict")                                  \
    X(instance, "per-object mutex of an instance")                             \
    X(set,      "per-object mutex of a set")                                   \
    X(bytearray, "per-object mutex of a bytearray")                            \
    X(intern,   "the interned-string table's lock (no GIL)")                   \
    X(weakref,  "the weak-reference lists' lock (no GIL)")                     \
    X(alloc,    "the lock of the shared arena heap (no GIL)")                  \
    X(rc,       "an object's mutex taken for its count (rc=locked)")           \
    X(globals,  "the globals namespace's lock (no GIL): global.add's write, and its reads where they are not lock-free") \
    X(user,     "a scenario's threading.Lock (lock.acquire, `with:`), under every strategy")

enum gh_lock_class {
#define GH_X_(name, doc) GH_LOCK_##name,
    GH_LOCK_CLASSES(GH_X_)
#undef GH_X_
    GH_LOCK_NCLASSES
};

extern const char *const gh_lock_class_names[GH_LOCK_NCLASSES];

struct gh_lockstat {
    uint64_t acquisitions; /* every successful acquisition */
    uint64_t contended;    /* acquisitions that did not succeed at once */
    uint64_t wait_ns;      /* time spent in contended acquisitions */
    uint64_t wait_max_ns;  /* longest single contended acquisition */
    uint64_t handoffs;     /* acquisitions handed over by the unlocker to this
                            * thread, parked longer than the fairness limit
                            * (gh_mutex: GH_MUTEX_FAIR_NS) */
    uint64_t spins;        /* yields before parking (gh_mutex; counted once
                            * the lock is held; not reported, tests read it) */
};

/* Counts one contended acquisition that waited `waited` ns (every lock
 * kind's slow path). Written only by the owning thread. */
static inline void gh_lockstat_contended(struct gh_lockstat *st, uint64_t waited)
{
    st->acquisitions++;
    st->contended++;
    st->wait_ns += waited;
    if (waited > st->wait_max_ns)
        st->wait_max_ns = waited;
}

#endif
