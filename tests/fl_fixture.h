/* fl_fixture.h - test fixture for flavoured tests (tests/<layer>/test_*.fl.c).
 *
 * A flavoured test body is compiled once per strategy flavour; its suites
 * are named with GH_FL(suite), e.g. containers__gil_plain. The fixture sets
 * up what gh_run would for that flavour: the layout, the allocator (arena
 * under the GIL, per-thread heaps with per-object locks), the GIL, a bound
 * thread state, the collector's state (gh_gc_init), and the model (gh_model_init: singletons, the plain class,
 * ...; released again by gh_model_fini); the GIL is held by the test's thread
 * while the body runs, as a model thread holds it between switch points.
 */
#ifndef GH_TESTS_FL_FIXTURE_H
#define GH_TESTS_FL_FIXTURE_H

#include <criterion/criterion.h>

#include "containers/containers.h"
#include "gc/gc.h"

static struct gh_tstate fx_ts;

GH_UNUSED static bool fx_gil(void)
{
#if defined(GH_FL_SYNC_GIL)
    return true;
#else
    return false;
#endif
}

/* Whether the flavour locks containers (objlock): sync=none locks nothing. */
GH_UNUSED static bool fx_objlock(void)
{
#if defined(GH_FL_SYNC_OBJLOCK)
    return true;
#else
    return false;
#endif
}

/* sync=none, and objlock with plain counts, promise nothing when threads
 * share objects: a test of what a strategy guarantees to threads skips it
 * (the hazard tests cover them). */
#if defined(GH_FL_SYNC_NONE) || (defined(GH_FL_SYNC_OBJLOCK) && defined(GH_FL_RC_PLAIN))
#define FX_REQUIRE_THREAD_SAFETY() cr_skip_test("sync=none guarantees nothing to threads")
#else
#define FX_REQUIRE_THREAD_SAFETY() ((void)0)
#endif

GH_UNUSED static void fx_setup(void)
{
    gh_model.full_header = !fx_gil();
    gh_model.immortal = true;
#if defined(GH_FL_RC_BIASED)
    gh_model.biased = true;
#else
    gh_model.biased = false;
#endif
    gh_model.intern_immortal = !fx_gil(); /* as gh_run sets it */
    cr_assert_eq(gh_alloc_init(fx_gil() ? GH_ALLOC_ARENA : GH_ALLOC_THREAD, !fx_gil()), 0);
    if (fx_gil())
        gh_gil_init(5000000u, 0);
    /* The collector's state as the flavour's preset has it (nothing is
     * collected unless a test asks: the thresholds are never reached by a
     * test's few objects, and no switch point runs a scheduled one). */
    gh_gc_init(fx_gil() ? GH_GC_GENERATIONAL : GH_GC_STW);
    gh_tstate_bind(&fx_ts, 0, "test");
    gh_alloc_thread_attach();
    GH_FL(gh_model_init)();
    gh_sync_thread_start(&fx_ts);
    gh_rc_thread_start(&fx_ts);
}

/* Live bytes now (everything the test made and still holds). Under
 * rc=biased the test's thread first merges what other threads queued for
 * it, as its next switch point would. */
GH_UNUSED static uint64_t fx_live(void)
{
#if defined(GH_FL_RC_BIASED)
    gh_brc_merge_pending(&fx_ts);
#endif
    struct gh_alloc_stats st;
    gh_alloc_stats_get(&st);
    return st.live_bytes;
}

GH_UNUSED static void fx_teardown(void)
{
    GH_FL(gh_model_fini)();
    gh_rc_thread_stop(&fx_ts);
    gh_sync_thread_stop(&fx_ts);
    gh_alloc_thread_detach();
    gh_tstate_unbind();
    gh_alloc_fini();
    if (fx_gil())
        gh_gil_fini();
}

#define FL_TEST(suite, name, ...)                                              \
    Test(GH_FL(suite), name, .init = fx_setup, .fini = fx_teardown, ##__VA_ARGS__)

#endif
