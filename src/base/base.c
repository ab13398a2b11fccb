/* base.c - small out-of-line pieces of the base layer. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/lockstat.h"
#include "base/probes.h"
#include "base/qsbr.h"
#include "base/stw.h"
#include "base/timeline.h"
#include "base/tstate.h"

_Thread_local struct gh_tstate *gh__tstate_current;

const char *const gh_lock_class_names[GH_LOCK_NCLASSES] = {
#define GH_X_(name, doc) #name,
    GH_LOCK_CLASSES(GH_X_)
#undef GH_X_
};

const char *const gh_hazard_names[GH_HAZARD_COUNT] = {
    "use_after_free", "double_free", "torn_read", "lost_update", "lost_rmw", "fault", "leak",
    "refcount_low", "refcount_high",
    "live_collected",
};

void gh_hazard_note(enum gh_hazard_kind kind, const char *type)
{
    struct gh_tstate *ts = gh__tstate_current;
    if (!ts)
        return;
    if (ts->hazards.n[kind]++ == 0)
        ts->hazards.first[kind] = (struct gh_hazard_example){ts->index, ts->cur_op, type, -1, -1};
    GH_PROBE3(hazard, ts->index, (int)kind, ts->cur_op);
    /* The timeline keeps a thread's first GH_TL_HAZARDS_MAX of a kind: an
     * unprotected run meets millions, which would push everything else out
     * of the ring; the result counts them all. */
    if (ts->tl && ts->hazards.n[kind] <= GH_TL_HAZARDS_MAX) {
        uint64_t now = gh_now_ns();
        gh_tl_put(ts->tl, GH_TL_HAZARD, now, now, ts->cur_op, (int32_t)kind);
    }
}

void gh_hazard_note_census(enum gh_hazard_kind kind, const char *type, int64_t count,
                           int64_t refs)
{
    struct gh_tstate *ts = gh__tstate_current;
    if (!ts)
        return;
    if (ts->hazards.n[kind]++ == 0)
        ts->hazards.first[kind] = (struct gh_hazard_example){-1, "census", type, count, refs};
}

void gh_tstate_bind(struct gh_tstate *ts, int index, const char *name)
{
    if (gh__tstate_current) /* rebinding without an unbind */
        gh_stw_unregister(gh__tstate_current);
    memset(ts, 0, sizeof *ts);
    ts->index = index;
    if (name) {
        strncpy(ts->name, name, sizeof ts->name - 1);
        pthread_setname_np(pthread_self(), ts->name); /* best effort */
    }
    gh__tstate_current = ts;
    gh_stw_register(ts);
}

void gh_tstate_unbind(void)
{
    struct gh_tstate *ts = gh__tstate_current;
    if (ts) {
        gh_qsbr_thread_exit(ts);
        gh_stw_unregister(ts);
        free(ts->dealloc_stack);
        ts->dealloc_stack = NULL;
        ts->dealloc_len = ts->dealloc_cap = 0;
    }
    gh__tstate_current = NULL;
}

void gh_sleep_ns(uint64_t ns)
{
    struct timespec req = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&req, &req) != 0 && errno == EINTR)
        ;
}
