/* test_strategy.c - the strategy matrix: presets, every axis, refusals. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scenario/strategy.h"

static struct gh_strategy preset(const char *name)
{
    struct gh_strategy st;
    char err[256];
    cr_assert_eq(gh_strategy_from_preset(&st, name, err, sizeof err), 0, "%s", err);
    return st;
}

static void set_ok(struct gh_strategy *st, const char *a)
{
    char err[256];
    cr_assert_eq(gh_strategy_set(st, a, err, sizeof err), 0, "%s: %s", a, err);
}

static void set_fails(const char *a, const char *want)
{
    struct gh_strategy st = preset("gil");
    char err[512] = "";
    cr_assert_eq(gh_strategy_set(&st, a, err, sizeof err), -1, "%s was accepted", a);
    cr_assert(strstr(err, want), "%s: message '%s' lacks '%s'", a, err, want);
}

Test(strategy, every_preset_runs_as_described, .timeout = 5)
{
    char d[256];
    for (size_t i = 0; i < gh_npresets; i++) {
        struct gh_strategy st = preset(gh_presets[i].name);
        cr_assert_null(gh_strategy_refusal(&st), "preset %s refused: %s", gh_presets[i].name,
                       gh_strategy_refusal(&st));
        cr_assert_not(st.overridden);
        gh_strategy_describe(&st, d, sizeof d);
        char want[64];
        snprintf(want, sizeof want, "sync=%s rc=%s ", gh_sync_names[gh_presets[i].sync],
                 gh_rc_names[gh_presets[i].rc]);
        cr_assert(strstr(d, want), "%s: %s", gh_presets[i].name, d);
    }
}

Test(strategy, the_presets, .timeout = 5)
{
    struct gh_strategy st = preset("gil-ticks");
    cr_assert_eq(st.sync, GH_SYNC_GIL_TICKS);
    cr_assert_not(st.immortal, "CPython <= 3.1 had no immortal objects");
    cr_assert_eq(st.ticks, GH_TICKS_DEFAULT);
    cr_assert_eq(gh_strategy_header(&st), GH_HEADER_COMPACT);
    st = preset("atomic");
    cr_assert_eq(gh_strategy_header(&st), GH_HEADER_FULL);
    cr_assert(st.immortal);
}

Test(strategy, every_axis_parses, .timeout = 5)
{
    struct gh_strategy st = preset("gil");
    set_ok(&st, "immortal=off");
    cr_assert_not(st.immortal);
    set_ok(&st, "header=full");
    cr_assert_eq(gh_strategy_header(&st), GH_HEADER_FULL);
    set_ok(&st, "gc=stw");
    cr_assert_null(gh_strategy_refusal(&st), "%s", gh_strategy_refusal(&st));
    set_ok(&st, "switch=500us");
    cr_assert_eq(st.switch_ns, 500000u);
    set_ok(&st, "sync=gil-ticks");
    set_ok(&st, "ticks=7");
    cr_assert_eq(st.ticks, 7);
    cr_assert(st.overridden);
    char d[256];
    gh_strategy_describe(&st, d, sizeof d);
    cr_assert_str_eq(d, "sync=gil-ticks rc=plain immortal=off alloc=arena gc=stw header=full "
                        "ticks=7");
    set_ok(&st, "lock=ticket");
    set_ok(&st, "deferred=on");
    set_ok(&st, "alloc=mimalloc");
    set_ok(&st, "rc=biased");
    set_ok(&st, "sync=none");
    set_ok(&st, "gc=nostop");
}

Test(strategy, bad_assignments_name_what_was_expected, .timeout = 5)
{
    set_fails("sync", "expected AXIS=VALUE");
    set_fails("colour=red", "unknown axis 'colour'");
    set_fails("sync=fast", "expected one of gil, gil-ticks, objlock, none");
    set_fails("rc=weird", "expected one of plain, atomic, locked, biased");
    set_fails("header=auto", "expected one of compact, full");
    set_fails("immortal=yes", "expected one of off, on");
    set_fails("deferred=yes", "expected one of off, on, immortal");
    set_fails("loads=free", "expected one of counted, borrowed");
    set_fails("switch=5", "expected a duration");
    set_fails("switch=0ms", "from 1us to 10s");
    set_fails("ticks=0", "expected a whole number");
    set_fails("ticks=-3", "expected a whole number");
    set_fails("ticks=12x", "expected a whole number");
}

static const char *refusal_of(const char *p, const char *a, const char *b)
{
    struct gh_strategy st = preset(p);
    set_ok(&st, a);
    if (b)
        set_ok(&st, b);
    return gh_strategy_refusal(&st);
}

Test(strategy, impossible_combinations_are_refused_with_the_reason, .timeout = 5)
{
    const char *why = refusal_of("atomic", "header=compact", NULL);
    cr_assert(why && strstr(why, "mutex"), "%s", why);
    why = refusal_of("gil", "header=full", NULL);
    cr_assert(why && strstr(why, "gc=generational"), "%s", why);
    why = refusal_of("atomic", "gc=generational", NULL);
    cr_assert(why && strstr(why, "gc=generational"), "%s", why);
    why = refusal_of("unsafe", "rc=atomic", NULL);
    cr_assert(why && strstr(why, "sync=none is compiled only with rc=plain"), "%s", why);
    cr_assert_null(refusal_of("unsafe", "immortal=off", NULL));
    /* deferred=on: the free-threaded build's combination only. */
    why = refusal_of("gil", "deferred=on", NULL);
    cr_assert(why && strstr(why, "header=compact"), "%s", why);
    why = refusal_of("unsafe", "deferred=on", NULL);
    cr_assert(why && strstr(why, "sync=objlock only"), "%s", why);
    why = refusal_of("ft", "deferred=on", "gc=off");
    cr_assert(why && strstr(why, "gc=stw"), "%s", why);
    cr_assert_null(refusal_of("ft", "deferred=on", NULL));
    cr_assert_null(refusal_of("atomic", "deferred=on", NULL));
    cr_assert_null(refusal_of("locks", "deferred=on", NULL));
    /* deferred=immortal (3.13t): sync=objlock only, any collector (nothing
     * needs the frames scanned); the ft preset's default. */
    why = refusal_of("gil", "deferred=immortal", NULL);
    cr_assert(why && strstr(why, "sync=objlock only"), "%s", why);
    why = refusal_of("unsafe", "deferred=immortal", NULL);
    cr_assert(why && strstr(why, "sync=objlock only"), "%s", why);
    cr_assert_null(refusal_of("ft", "deferred=immortal", "gc=off"));
    cr_assert_null(refusal_of("atomic", "deferred=immortal", "gc=nostop"));
    cr_assert_null(refusal_of("locks", "deferred=immortal", NULL));
    cr_assert_eq(preset("ft").deferred, GH_DEFERRED_IMMORTAL);
    cr_assert_eq(preset("atomic").deferred, GH_DEFERRED_OFF);
    cr_assert_null(refusal_of("gil", "deferred=off", NULL));
    /* loads= runs under every strategy; counted by default. */
    for (size_t i = 0; i < gh_npresets; i++)
        cr_assert_eq(preset(gh_presets[i].name).loads, GH_LOADS_COUNTED);
    cr_assert_null(refusal_of("gil", "loads=borrowed", NULL));
    cr_assert_null(refusal_of("ft", "loads=borrowed", NULL));
    /* Orthogonal combinations that do run. */
    cr_assert_null(refusal_of("gil", "rc=atomic", NULL));
    cr_assert_null(refusal_of("gil-ticks", "immortal=on", "alloc=thread"));
    cr_assert_null(refusal_of("atomic", "immortal=off", NULL));
    /* The classic unsafe mix: containers locked, counts racing; it runs,
     * labelled unsafe. */
    cr_assert_null(refusal_of("atomic", "rc=plain", NULL));
    struct gh_strategy st = preset("atomic");
    set_ok(&st, "rc=plain");
    const char *unsafe = gh_strategy_unsafe_reason(&st);
    cr_assert(unsafe && strstr(unsafe, "rc=plain without a GIL"), "%s", unsafe);
}

/* gc=nostop: runs where threads run in parallel, always labelled unsafe;
 * refused under a GIL (nothing runs beside the collector there), with
 * rc=biased (its scratch fields are the owner's) and header=compact. */
Test(strategy, gc_nostop_is_unsafe_and_refused_where_it_cannot_show_anything, .timeout = 5)
{
    const char *const ok[] = {"atomic", "locks", "unsafe"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct gh_strategy st = preset(ok[i]);
        if (strcmp(ok[i], "unsafe") != 0)
            cr_assert_null(gh_strategy_unsafe_reason(&st), "%s with gc=stw is safe", ok[i]);
        set_ok(&st, "gc=nostop");
        cr_assert_eq(st.gc, GH_GC_NOSTOP);
        cr_assert_null(gh_strategy_refusal(&st), "%s: %s", ok[i], gh_strategy_refusal(&st));
        const char *why = gh_strategy_unsafe_reason(&st);
        cr_assert(why && strstr(why, "gc=nostop"), "%s gc=nostop labelled: %s", ok[i], why);
        char d[256];
        gh_strategy_describe(&st, d, sizeof d);
        cr_assert(strstr(d, " gc=nostop "), "%s", d);
    }
    const char *why = refusal_of("gil", "gc=nostop", NULL);
    cr_assert(why && strstr(why, "under a GIL"), "%s", why);
    why = refusal_of("gil-ticks", "gc=nostop", NULL);
    cr_assert(why && strstr(why, "under a GIL"), "%s", why);
    why = refusal_of("ft", "gc=nostop", NULL);
    cr_assert(why && strstr(why, "rc=biased"), "%s", why);
    why = refusal_of("unsafe", "gc=nostop", "header=compact");
    cr_assert(why && strstr(why, "header=compact"), "%s", why);
}
