/* fl_fixture.h - test fixture for flavoured tests (tests/<layer>/test_*.fl.c).
 *
 * A flavoured test body is compiled once per strategy flavour; its suites
 * are named with GH_FL(suite), e.g. containers__gil_plain. The fixture sets
 * the process up as gh_run does, through gh_runtime_init (scenario/runtime.h),
 * for the flavour's strategy (gh_strategy_for_flavour: its preset), with
 * deferred=off (a test counts its classes' references) and the checked mode
 * off; then the test's thread starts as a model thread does: it holds the
 * GIL while the body runs, or is attached to the world (and, under ft,
 * online for QSBR: list.get and dict.get read without the lock).
 */
#ifndef GH_TESTS_FL_FIXTURE_H
#define GH_TESTS_FL_FIXTURE_H

#include <criterion/criterion.h>

#include "containers/containers.h"
#include "gc/gc.h"
#include "scenario/runtime.h"

static struct gh_tstate fx_ts;
static struct gh_runtime fx_rt;

/* The strategy the fixture runs the flavour under. */
GH_UNUSED static struct gh_strategy fx_strategy(void)
{
    struct gh_strategy st;
    gh_strategy_for_flavour(&st, GH_FL_SYNC_KIND, GH_FL_RC_KIND);
    st.deferred = GH_DEFERRED_OFF;
    return st;
}

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
    struct gh_strategy st = fx_strategy();
    char err[256];
    cr_assert_eq(gh_runtime_init(&fx_rt, &st, false, &fx_ts, 0, "test", err, sizeof err), 0,
                 "%s", err);
    gh_sync_thread_start(&fx_ts);
    gh_rc_thread_start(&fx_ts);
}

/* Live bytes now (everything the test made and still holds). Under
 * rc=biased the test's thread first merges what other threads queued for
 * it, as its next switch point would. Under ft what the thread deferred
 * for lock-free readers (a shared container's replaced array or table, a
 * block over 512 bytes) still counts until gh_qsbr_flush(&fx_ts): a test
 * that compares live bytes across such frees flushes first. */
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
    gh_rc_thread_stop(&fx_ts);
    gh_sync_thread_stop(&fx_ts);
    gh_runtime_fini(&fx_rt, NULL);
}

#define FL_TEST(suite, name, ...)                                              \
    Test(GH_FL(suite), name, .init = fx_setup, .fini = fx_teardown, ##__VA_ARGS__)

#endif
