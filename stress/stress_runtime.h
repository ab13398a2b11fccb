/* stress_runtime.h - a flavoured stress driver's set-up and teardown, the
 * same as a run's and the test fixture's (scenario/runtime.h): the
 * flavour's preset (gh_strategy_for_flavour) with deferred=off and the
 * per-object lock `lock`. Under ft that turns QSBR on, so list.get and
 * dict.get read without the lock here too. */
#ifndef GH_STRESS_RUNTIME_H
#define GH_STRESS_RUNTIME_H

#include <stdio.h>
#include <stdlib.h>

#include "scenario/runtime.h"

/* Binds the calling thread to ts as the main thread; exits 3 on failure. */
static void stress_runtime_init(struct gh_runtime *rt, struct gh_tstate *ts, const char *name,
                                enum gh_lock_kind lock)
{
    struct gh_strategy st;
    gh_strategy_for_flavour(&st, GH_FL_SYNC_KIND, GH_FL_RC_KIND);
    st.deferred = GH_DEFERRED_OFF;
    st.lock = lock;
    char err[256];
    if (gh_runtime_init(rt, &st, false, ts, -1, name, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(3);
    }
}

#endif
