/* runtime.c - the process set up for one strategy (runtime.h). */
#include "scenario/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/die.h"
#include "base/oblock.h"
#include "base/qsbr.h"
#include "gc/gc.h"
#include "object/object.h"
#include "sync/gil_lock.h"

int gh_runtime_init(struct gh_runtime *rt, const struct gh_strategy *st, bool checked,
                    struct gh_tstate *ts, int id, const char *name, char *err, size_t errlen)
{
    memset(rt, 0, sizeof *rt);
    rt->fl = gh_flavor_find(st->sync, st->rc);
    if (!rt->fl) {
        char desc[256];
        snprintf(err, errlen, "strategy %s is not compiled into this build",
                 gh_strategy_describe(st, desc, sizeof desc));
        return -1;
    }
    rt->has_gil = gh_sync_has_gil(st->sync);

    /* The model's configuration: the header the strategy asks for (the full
     * one wherever a per-object lock lives in it), immortality, interning. */
    gh_model.full_header = gh_strategy_header(st) == GH_HEADER_FULL;
    /* The per-object lock's kind, chosen once before any thread starts
     * (base/oblock.h); every other sync value leaves the default. */
    _Static_assert((int)GH_LOCKK_PTHREAD == (int)GH_OBLOCK_PTHREAD &&
                       (int)GH_LOCKK_TATAS == (int)GH_OBLOCK_TATAS &&
                       (int)GH_LOCKK_TICKET == (int)GH_OBLOCK_TICKET,
                   "lock= values and gh_oblock kinds in one order");
    gh_oblock_select(st->sync == GH_SYNC_OBJLOCK ? (enum gh_oblock_kind)st->lock
                                                 : GH_OBLOCK_PYMUTEX);
    gh_model.immortal = st->immortal;
    gh_model.biased = st->rc == GH_RC_BIASED;
    gh_model.deferred = st->deferred == GH_DEFERRED_ON; /* refused unless the header is full */
    gh_model.deferred_immortal = st->deferred == GH_DEFERRED_IMMORTAL;
    gh_model.loads_counted = st->loads == GH_LOADS_COUNTED;
    gh_model.checked = checked;
    /* Without a GIL every interned string is immortal, as in free-threaded
     * CPython: a mortal one could be found in the table by one thread while
     * another drops its last reference (docs/objects.md, "Interning"). */
    gh_model.intern_immortal = !rt->has_gil;
    /* The lock-free-read flavour (sync=objlock rc=biased): QSBR on, so its
     * threads register, report quiescent states and defer their frees
     * (base/qsbr.h). */
    gh_qsbr_enable(st->sync == GH_SYNC_OBJLOCK && st->rc == GH_RC_BIASED);
    /* Fails only for a kind the strategy parser refuses: an internal error. */
    gh_check_pthread(gh_alloc_init(st->alloc, !rt->has_gil) == 0 ? 0 : EINVAL);
    if (rt->has_gil)
        gh_gil_init(st->switch_ns, st->sync == GH_SYNC_GIL_TICKS ? st->ticks : 0);
    gh_gc_init(st->gc);

    rt->ts = ts;
    gh_tstate_bind(ts, id, name);
    gh_alloc_thread_attach();
    rt->fl->init();
    return 0;
}

void gh_runtime_fini(struct gh_runtime *rt, struct gh_alloc_stats *after)
{
    rt->fl->fini();
    gh_qsbr_flush(rt->ts);
    gh_quarantine_flush();
    gh_alloc_thread_detach();
    if (after)
        gh_alloc_stats_get(after);
    gh_model.checked = false;
    gh_model.deferred = false;
    gh_model.deferred_immortal = false;
    gh_model.loads_counted = false;
    gh_gc_set_roots(NULL, NULL);
    gh_tstate_unbind();
    gh_qsbr_enable(false);
    gh_alloc_fini();
    if (rt->has_gil)
        gh_gil_fini();
}

void gh_strategy_for_flavour(struct gh_strategy *st, enum gh_sync_kind sync, enum gh_rc_kind rc)
{
    for (size_t i = 0; i < gh_npresets; i++) {
        if (gh_presets[i].sync == sync && gh_presets[i].rc == rc) {
            gh_assert(gh_strategy_from_preset(st, gh_presets[i].name, NULL, 0) == 0);
            return;
        }
    }
    /* No preset: the one with the same sync, its rc replaced. */
    const char *base = sync == GH_SYNC_GIL ? "gil" : sync == GH_SYNC_NONE ? "unsafe" : "atomic";
    gh_assert(gh_strategy_from_preset(st, base, NULL, 0) == 0);
    st->rc = rc;
}
