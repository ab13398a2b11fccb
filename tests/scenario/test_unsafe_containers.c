/* test_unsafe_containers.c - dicts, sets, attributes and a shared class
 * raced under sync=none: the checked mode reports hazards and the run
 * completes (no crash, no probe that never ends); the safe presets run the
 * same scenarios with none. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/run.h"

/* One small racing scenario per container kind: every thread mutates and
 * reads one shared object. */
struct race {
    char kind[16];
    char yaml[512];
};

static struct race races[] = {
    {"dict",
     "name: race-dict\nthreads: 2\nduration: 1s\nsetup:\n  D: {type: dict, items: 64, value: int}\nmix:\n"
     "  - {op: dict.set, on: D, key: random, keys: 256, value: int}\n"
     "  - {op: dict.del, on: D, key: random, keys: 256}\n"
     "  - {op: dict.get, on: D, key: random, keys: 256}\n"},
    {"set",
     "name: race-set\nthreads: 2\nduration: 1s\nsetup:\n  S: {type: set, items: [1, 2, 3]}\nmix:\n"
     "  - {op: set.add, on: S, value: int, range: 256}\n"
     "  - {op: set.discard, on: S, value: int, range: 256}\n"
     "  - {op: set.contains, on: S, value: int, range: 256}\n"},
    {"attribute",
     "name: race-attr\nthreads: 2\nduration: 1s\nsetup:\n  O: object\nmix:\n"
     "  - {op: attr.set, on: O, name: a, value: int}\n"
     "  - {op: attr.set, on: O, name: b, value: int}\n"
     "  - {op: attr.get, on: O, name: a}\n"
     "  - {op: attr.get, on: O, name: b}\n"},
    {"class",
     "name: race-class\nthreads: 2\nduration: 1s\nsetup:\n  Point: {type: class}\nscript:\n"
     "  - {op: new, type: Point, as: p}\n"
     "  - {op: attr.set, on: p, name: x, value: int}\n"},
};

/* Runs the race's scenario under preset; gh_run's return must be 0 (it
 * ran to the end). */
static struct gh_result run_race(const struct race *r, const char *preset, int threads,
                                 const char *duration)
{
    struct gh_diag diag = {0};
    struct gh_scenario *s = gh_scenario_parse(r->yaml, strlen(r->yaml), "race.yaml", &diag);
    cr_assert_not_null(s, "%s: %s", r->kind, diag.msg);
    struct gh_run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[256];
    cr_assert_eq(gh_strategy_from_preset(&cfg.strategy, preset, err, sizeof err), 0, "%s", err);
    cfg.threads = threads;
    cr_assert_eq(gh_parse_duration(duration, &cfg.duration_ns), 0);
    cfg.check = 1;
    /* Under unsafe, a 2 us delay in 1% of the containers' windows (no lock
     * holds them shut): slow sanitizer builds otherwise race too rarely
     * for five short runs to be sure of one hazard. */
    struct gh_inject_spec sp;
    if (!strcmp(preset, "unsafe")) {
        cr_assert_eq(gh_inject_parse("cs.held=2us@1%", &sp, err, sizeof err), 0, "%s", err);
        cfg.inject = &sp;
        cfg.ninject = 1;
    }
    FILE *null = fopen("/dev/null", "w");
    cfg.out = null;
    struct gh_result res;
    cr_assert_eq(gh_run(s, &cfg, &res, &diag), 0, "%s under %s: %s", r->kind, preset, diag.msg);
    fclose(null);
    res.scenario = NULL; /* freed below */
    gh_scenario_free(s);
    return res;
}

ParameterizedTestParameters(unsafe_containers, races_are_caught)
{
    return cr_make_param_array(struct race, races, sizeof races / sizeof races[0]);
}

/* Races are probabilistic: up to five runs of 300 ms at 2 threads, then 8
 * (oversubscribed: preemption inside an operation), until one shows a
 * hazard. Every run must complete. */
ParameterizedTest(struct race *r, unsafe_containers, races_are_caught, .timeout = 240)
{
    uint64_t total = 0;
    for (int i = 0; i < 5 && !total; i++) {
        struct gh_result res = run_race(r, "unsafe", i < 3 ? 2 : 8, "300ms");
        cr_assert(res.checked, "%s: unsafe always runs checked", r->kind);
        total = res.hazards_total;
        if (total)
            cr_assert_eq(res.status, GH_STATUS_HAZARDS, "%s", r->kind);
        gh_result_free(&res);
    }
    cr_assert_gt(total, 0, "%s: five racing runs under sync=none showed no hazard", r->kind);
}

/* The same races under every safe preset: no hazard, every check held. */
struct safe_case {
    int race;
    char preset[16];
};

static struct safe_case safe_cases[] = {
    {0, "gil"}, {0, "locks"}, {0, "atomic"}, {0, "ft"},
    {1, "gil"}, {1, "locks"}, {1, "atomic"}, {1, "ft"},
    {2, "gil"}, {2, "locks"}, {2, "atomic"}, {2, "ft"},
    {3, "gil"}, {3, "locks"}, {3, "atomic"}, {3, "ft"},
};

ParameterizedTestParameters(unsafe_containers, safe_presets_show_none)
{
    return cr_make_param_array(struct safe_case, safe_cases,
                               sizeof safe_cases / sizeof safe_cases[0]);
}

ParameterizedTest(struct safe_case *c, unsafe_containers, safe_presets_show_none, .timeout = 120)
{
    const struct race *r = &races[c->race];
    struct gh_result res = run_race(r, c->preset, 2, "200ms");
    cr_assert(res.checked);
    cr_assert_eq(res.hazards_total, 0, "%s under %s: %llu hazards", r->kind, c->preset,
                 (unsigned long long)res.hazards_total);
    cr_assert_eq(res.status, GH_STATUS_OK, "%s under %s", r->kind, c->preset);
    gh_result_free(&res);
}

/* Weak references raced (caches.yaml at 8 threads, oversubscribed, with
 * delays in the counts' window and the locks' slow paths; found by
 * torture): a worker that faulted while releasing its frame's locals, or
 * while holding the weak-reference lock, took the process down or left
 * the lock held for ever. Every run must now complete, never stalled. */
Test(unsafe_containers, weakrefs_raced_complete, .timeout = 120)
{
    char path[512], *text = NULL;
    snprintf(path, sizeof path, "%s/scenarios/caches.yaml", GH_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    for (int c; (c = fgetc(f)) != EOF;)
        fputc(c, mem);
    fclose(mem);
    fclose(f);
    struct gh_diag diag = {0};
    struct gh_scenario *s = gh_scenario_parse(text, len, path, &diag);
    cr_assert_not_null(s, "%s", diag.msg);
    struct gh_inject_spec sp[2];
    char err[256];
    cr_assert_eq(gh_inject_parse("rc.update=50us@1in1000", &sp[0], err, sizeof err), 0, "%s", err);
    cr_assert_eq(gh_inject_parse("lock.slow=1ms@0.1", &sp[1], err, sizeof err), 0, "%s", err);
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct gh_run_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cr_assert_eq(gh_strategy_from_preset(&cfg.strategy, "unsafe", err, sizeof err), 0);
        cfg.threads = 8;
        cfg.seed = seed;
        cfg.seed_given = true;
        cr_assert_eq(gh_parse_duration("200ms", &cfg.duration_ns), 0);
        cfg.check = 1;
        cfg.inject = sp;
        cfg.ninject = 2;
        cfg.stall_ns = 5000000000u;
        FILE *null = fopen("/dev/null", "w");
        cfg.out = null;
        struct gh_result res;
        cr_assert_eq(gh_run(s, &cfg, &res, &diag), 0, "%s", diag.msg);
        fclose(null);
        cr_assert_neq(res.status, GH_STATUS_STALLED, "seed %llu: stalled",
                      (unsigned long long)seed);
        gh_result_free(&res);
    }
    gh_scenario_free(s);
    free(text);
}
