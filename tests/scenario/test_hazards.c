/* test_hazards.c - the positive control: sync=none under the checked mode
 * shows hazards and survives; a safe strategy under the checked mode shows
 * none. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scenario/run.h"

#ifndef GH_SOURCE_DIR
#define GH_SOURCE_DIR "."
#endif

/* Runs scenarios/NAME.yaml under preset (with `set`, an AXIS=V, if given). */
static struct gh_result run_in(const char *name, const char *preset, const char *set,
                               int threads, const char *duration, int check)
{
    struct gh_diag diag = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/scenarios/%s.yaml", GH_SOURCE_DIR, name);
    struct gh_scenario *s = gh_scenario_load(path, &diag);
    cr_assert_not_null(s, "%s", diag.msg);
    struct gh_run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[256];
    cr_assert_eq(gh_strategy_from_preset(&cfg.strategy, preset, err, sizeof err), 0, "%s", err);
    if (set)
        cr_assert_eq(gh_strategy_set(&cfg.strategy, set, err, sizeof err), 0, "%s", err);
    cfg.threads = threads;
    cr_assert_eq(gh_parse_duration(duration, &cfg.duration_ns), 0);
    cfg.seed = 3;
    cfg.seed_given = true;
    cfg.check = check;
    FILE *null = fopen("/dev/null", "w");
    cfg.out = null;
    struct gh_result r;
    cr_assert_eq(gh_run(s, &cfg, &r, &diag), 0, "%s", diag.msg);
    fclose(null);
    r.scenario = NULL; /* freed below */
    gh_scenario_free(s);
    return r;
}

static struct gh_result run(const char *preset, int threads, const char *duration, int check)
{
    return run_in("shared-list", preset, NULL, threads, duration, check);
}

Test(hazards, unsafe_shared_list_is_caught_and_survives, .timeout = 120)
{
    /* Races are probabilistic: up to three 1 s runs (the positive-control
     * rate over 100 two-second runs: docs/strategies.md, "Measuring the
     * positive control"). */
    uint64_t total = 0;
    for (int i = 0; i < 3 && !total; i++) {
        struct gh_result r = run("unsafe", 2, "1s", 0);
        cr_assert(r.checked, "the checked mode is on by default for an unsafe strategy");
        cr_assert_not_null(r.unsafe_reason);
        total = r.hazards_total;
        if (total)
            cr_assert_eq(r.status, GH_STATUS_HAZARDS, "shared-list expects none");
        gh_result_free(&r);
    }
    cr_assert_gt(total, 0, "sync=none rc=plain lost nothing in three runs");
}

Test(hazards, one_thread_under_unsafe_has_nothing_to_race, .timeout = 60)
{
    struct gh_result r = run("unsafe", 1, "300ms", 0);
    cr_assert_eq(r.hazards_total, 0, "one thread: no race, no hazard");
    cr_assert_eq(r.alloc_live_after_teardown, 0);
    gh_result_free(&r);
}

Test(hazards, safe_strategies_show_none_under_the_checked_mode, .timeout = 120)
{
    static const char *const safe[] = {"gil", "gil-ticks", "atomic", "ft"};
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++) {
        struct gh_result r = run(safe[i], 2, "300ms", 1);
        cr_assert(r.checked);
        cr_assert_eq(r.hazards_total, 0, "%s: %llu hazards", safe[i],
                     (unsigned long long)r.hazards_total);
        cr_assert_eq(r.status, GH_STATUS_OK, "%s", safe[i]);
        gh_result_free(&r);
    }
}

/* The container invariant: two threads appending to and popping from one
 * list without a lock lose some of those updates, and the list's length no
 * longer matches the appends and pops that succeeded (lost_update; each
 * worker counts its own, summed after the join). With loads=borrowed: when
 * every op also counts its load of L (loads=counted), the racing plain
 * counts soon free L itself, and its length cannot be read at the end. */
Test(hazards, unsafe_shared_list_breaks_the_length_invariant, .timeout = 120)
{
    uint64_t lost = 0;
    for (int i = 0; i < 3 && !lost; i++) {
        struct gh_result r = run_in("shared-list", "unsafe", "loads=borrowed", 2, "1s", 0);
        cr_assert(r.checked);
        lost = r.hazards.n[GH_HAZARD_LOST_UPDATE];
        gh_result_free(&r);
    }
    cr_assert_gt(lost, 0, "two threads' unlocked appends and pops lost nothing in three runs");
}

/* A counter updated inline by two threads without any lock: updates are
 * lost (lost_rmw), and the racing rebinds release one int twice. */
Test(hazards, unsafe_shared_counter_loses_updates, .timeout = 120)
{
    uint64_t lost = 0;
    for (int i = 0; i < 3 && !lost; i++) {
        struct gh_result r = run_in("shared-counter", "unsafe", NULL, 2, "1s", 0);
        cr_assert(r.checked);
        cr_assert_eq(r.ncounters, 3);
        lost = r.hazards.n[GH_HAZARD_LOST_RMW];
        if (lost)
            cr_assert_eq(r.status, GH_STATUS_HAZARDS);
        gh_result_free(&r);
    }
    cr_assert_gt(lost, 0, "two threads' inline adds lost nothing in three runs");
}

/* Locked containers with racing counts (sync=objlock rc=plain)
 * run, labelled unsafe, in the checked mode, and survive. */
Test(hazards, objlock_with_plain_counts_runs_checked, .timeout = 120)
{
    struct gh_result r = run_in("refcount-contention", "atomic", "rc=plain", 2, "500ms", 0);
    cr_assert(r.checked, "the checked mode is on by default for an unsafe combination");
    cr_assert_not_null(r.unsafe_reason);
    cr_assert(strstr(r.unsafe_reason, "rc=plain"), "%s", r.unsafe_reason);
    gh_result_free(&r);
}
