/* lockprof.c - hold and wait histograms per lock class (lockprof.h). */
#include "base/lockprof.h"

#include <stdlib.h>

#include "base/timeline.h"

struct gh_lockprof *gh_lockprof_new(uint32_t every)
{
    struct gh_lockprof *lp = calloc(1, sizeof *lp);
    if (!lp)
        return NULL;
    lp->hold_every = every ? every : 1;
    lp->gil_prev = -2;
    return lp;
}

void gh_lockprof_free(struct gh_lockprof *lp) { free(lp); }

void gh_lockprof_merge(struct gh_lockprof *a, const struct gh_lockprof *b)
{
    for (int c = 0; c < GH_LOCK_NCLASSES; c++) {
        gh_hist_merge(&a->hold[c], &b->hold[c]);
        gh_hist_merge(&a->wait[c], &b->wait[c]);
    }
}

void gh_lockprof_attach(struct gh_tstate *ts, struct gh_lockprof *lp)
{
    ts->lp = lp;
    ts->hold_left = lp ? lp->hold_every : 0;
}

uint64_t gh_hold_begin_slow(struct gh_tstate *ts)
{
    ts->hold_left = ts->lp->hold_every;
    return gh_now_ns();
}

void gh_hold_end_slow(struct gh_tstate *ts, enum gh_lock_class c, const void *lock, uint64_t t0)
{
    uint64_t t1 = gh_now_ns();
    gh_hist_add(&ts->lp->hold[c], t1 - t0);
    if (ts->tl)
        gh_tl_put(ts->tl, GH_TL_LOCK_HOLD, t0, t1, lock, (int32_t)c);
}

void gh_lock_waited_slow(struct gh_tstate *ts, const struct gh_lockstat *st, const void *lock,
                         uint64_t t0, uint64_t t1)
{
    int c = gh_tl_lock_class(ts, st);
    if (ts->lp && c >= 0)
        gh_hist_add(&ts->lp->wait[c], t1 - t0);
    if (ts->tl)
        gh_tl_put(ts->tl, GH_TL_LOCK_WAIT, t0, t1, lock, c);
}
