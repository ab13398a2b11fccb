/* lockprof.h - hold and wait distributions per lock class (--lock-profile,
 * on with --trace and --timeline).
 *
 * A profiled thread (ts->lp set) keeps, per lock class, a histogram of the
 * time it waited in each contended acquisition (every one: that is a slow
 * path already) and of the time it held a sample of its acquisitions:
 * 1 in lp->hold_every, counted down in ts->hold_left across all classes,
 * and every GIL tenure (a tenure is one take and one drop, already slow).
 * A sampled hold is also a LOCK_HOLD slice on the thread's timeline when
 * it has one.
 *
 * With profiling off (ts->lp NULL, ts->hold_left 0) a lock's fast path
 * pays one test of hold_left, a word beside eval_breaker on the line every
 * switch point reads; contended and GIL slow paths test ts->lp.
 *
 * Where holds are sampled: per-object locks at the critical section that
 * takes them (sync/critsec.h), one sampled section open at a time per
 * thread (a section that comes due while another is open passes the sample
 * to the next); the shared arena heap's lock, the globals lock and the
 * interned-string table's lock at their call sites (gh_hold_begin/end).
 * A suspended section's hold ends at the suspension.
 *
 * Written by the owning thread only; read after it has joined.
 *
 * Layer: base.
 */
#ifndef GH_BASE_LOCKPROF_H
#define GH_BASE_LOCKPROF_H

#include <stdint.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/hist.h"
#include "base/lockstat.h"
#include "base/tstate.h"

/* The default sampling when --trace or --timeline turns profiling on. */
#define GH_LOCKPROF_DEFAULT_EVERY 1024u
#define GH_LOCKPROF_MAX_EVERY     (1u << 30)

struct gh_lockprof {
    uint32_t hold_every;                   /* 1 in hold_every holds timed */
    int32_t gil_prev;                      /* the GIL's previous holder (-2: none) */
    uint64_t gil_t0;                       /* the tenure's start; 0: none open */
    const void *cs_open;                   /* the sampled section open, or NULL */
    uint64_t cs_t0;                        /* its start */
    struct gh_hist hold[GH_LOCK_NCLASSES]; /* sampled hold times, ns */
    struct gh_hist wait[GH_LOCK_NCLASSES]; /* contended waits, ns */
};

/* A zeroed profile sampling 1 in `every` holds (>= 1); NULL when out of
 * memory. */
struct gh_lockprof *gh_lockprof_new(uint32_t every);
void gh_lockprof_free(struct gh_lockprof *lp);
/* Adds b's histograms into a's. */
void gh_lockprof_merge(struct gh_lockprof *a, const struct gh_lockprof *b);
/* Makes ts profiled by lp (NULL: not profiled). Before ts runs the model. */
void gh_lockprof_attach(struct gh_tstate *ts, struct gh_lockprof *lp);

/* Slow paths. begin: a sampled hold starts now; resets the countdown and
 * returns the start. end: records a hold of `lock` (class c) from t0. */
GH_NOINLINE uint64_t gh_hold_begin_slow(struct gh_tstate *ts);
GH_NOINLINE void gh_hold_end_slow(struct gh_tstate *ts, enum gh_lock_class c, const void *lock,
                                  uint64_t t0);

/* After an acquisition at a call site: the hold's start when this one is
 * sampled, else 0. */
GH_INLINE uint64_t gh_hold_begin(struct gh_tstate *ts)
{
    if (GH_UNLIKELY(ts->hold_left != 0) && --ts->hold_left == 0)
        return gh_hold_begin_slow(ts);
    return 0;
}

/* Before the matching release. */
GH_INLINE void gh_hold_end(struct gh_tstate *ts, enum gh_lock_class c, const void *lock,
                           uint64_t t0)
{
    if (GH_UNLIKELY(t0 != 0))
        gh_hold_end_slow(ts, c, lock, t0);
}

#endif
