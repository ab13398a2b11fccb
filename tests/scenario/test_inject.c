/* test_inject.c - fault injection (base/inject.h, --inject) and the stall
 * watchdog (scenario/run.c): the argument's syntax; a delay in the count's
 * window breaks only the strategy with nothing protecting it; an injected
 * hang inside a critical section is reported with its holder. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/run.h"

struct preset_param { char name[16]; };

static size_t presets(bool unsafe, struct preset_param *p, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < gh_npresets && k < cap; i++) {
        struct gh_strategy st;
        char err[256];
        if (gh_strategy_from_preset(&st, gh_presets[i].name, err, sizeof err) == 0 &&
            !gh_strategy_refusal(&st) && !!gh_strategy_unsafe_reason(&st) == unsafe)
            strcpy(p[k++].name, gh_presets[i].name);
    }
    return k;
}

/* The parameters of a test over every safe preset. */
#define SAFE_PRESET_PARAMS(suite, test)                                        \
    ParameterizedTestParameters(suite, test)                                   \
    {                                                                          \
        static struct preset_param p[8];                                       \
        size_t n = presets(false, p, 8);                                       \
        return cr_make_param_array(struct preset_param, p, n);                 \
    }

static struct gh_scenario *parse(const char *text)
{
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse(text, strlen(text), "test.yaml", &d);
    cr_assert_not_null(s, "%s", d.msg);
    return s;
}

static void config(struct gh_run_config *cfg, const char *preset, int threads)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    cr_assert_eq(gh_strategy_from_preset(&cfg->strategy, preset, err, sizeof err), 0, "%s", err);
    cfg->threads = threads;
    cfg->seed = 7;
    cfg->seed_given = true;
    cfg->check = 1;
}

static struct gh_inject_spec spec(const char *text)
{
    struct gh_inject_spec sp;
    char err[768];
    cr_assert_eq(gh_inject_parse(text, &sp, err, sizeof err), 0, "%s: %s", text, err);
    return sp;
}

Test(inject, argument_reads_and_writes_back, .timeout = 10)
{
    const char *good[] = {"rc.update=20us", "cs.held=hang@1in1000:0", "lock.slow=1ms@0.25:0,2-4",
                          "qsbr.read=5us@1%", "gc.phase=2ms:1", "stw.ack=100ns@0.001"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct gh_inject_spec a = spec(good[i]), b;
        char back[320], err[768];
        gh_inject_format(&a, back, sizeof back);
        cr_assert_eq(gh_inject_parse(back, &b, err, sizeof err), 0, "%s -> %s: %s", good[i], back,
                     err);
        cr_assert(a.point == b.point && a.delay_ns == b.delay_ns && a.p == b.p &&
                      a.every == b.every && a.threads == b.threads,
                  "%s -> %s", good[i], back);
    }
    struct gh_inject_spec a = spec("lock.slow=1ms@0.25:0,2-4");
    cr_assert_eq(a.point, GH_INJ_LOCK_SLOW);
    cr_assert_eq(a.delay_ns, 1000000u);
    cr_assert_eq(a.threads, 0x1du);
    cr_assert_eq(spec("rc.update=3us@1%").p, 0.01);
    cr_assert_eq(spec("cs.held=hang").delay_ns, GH_INJECT_HANG);

    const char *bad[] = {"rc.update",        "nosuch=1us",        "rc.update=",
                         "rc.update=5",      "rc.update=0us",     "rc.update=1us@0",
                         "rc.update=1us@2",  "rc.update=1us@1in0", "rc.update=1us@x",
                         "rc.update=1us:64", "rc.update=1us:3-1", "rc.update=1us:",
                         "rc.update=90s"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct gh_inject_spec sp;
        char err[768] = "";
        cr_assert_neq(gh_inject_parse(bad[i], &sp, err, sizeof err), 0, "%s parsed", bad[i]);
        cr_assert(strstr(err, bad[i]) != NULL, "the message names the argument: %s", err);
    }
}

/* Two threads sharing a list and a class: every op increments and
 * decrements shared counts (the list's items, the class). */
static const char shared[] =
    "name: shared\n"
    "threads: 2\n"
    "duration: 300ms\n"
    "setup:\n"
    "  C: {type: class}\n"
    "  L: list\n"
    "mix:\n"
    "  - {op: list.append, on: L, value: C}\n"
    "  - {op: list.pop, on: L}\n"
    "  - {op: list.get, on: L}\n";

static void run_window(const char *preset, struct gh_result *res)
{
    struct gh_scenario *s = parse(shared);
    struct gh_run_config cfg;
    config(&cfg, preset, 2);
    struct gh_inject_spec sp = spec("rc.update=2us@2%");
    cfg.inject = &sp;
    cfg.ninject = 1;
    struct gh_diag d;
    cr_assert_eq(gh_run(s, &cfg, res, &d), 0, "%s", d.msg);
    cr_assert_gt(res->inject_fired[GH_INJ_RC_UPDATE], 0, "%s: the point was never reached", preset);
    gh_scenario_free(s);
}

SAFE_PRESET_PARAMS(inject, window_changes_only_speed)

/* Safe strategies: the delay in the count's window changes nothing the
 * checked mode can see. */
ParameterizedTest(struct preset_param *p, inject, window_changes_only_speed, .timeout = 120)
{
    struct gh_result res;
    run_window(p->name, &res);
    cr_expect_eq(res.hazards_total, 0, "%s: %llu hazards with the delay", p->name,
                 (unsigned long long)res.hazards_total);
    cr_expect_eq(res.status, GH_STATUS_OK, "%s: status %s", p->name,
                 gh_status_names[res.status]);
    gh_result_free(&res);
}

/* unsafe: the same delay loses counts on every run (three seeds). */
Test(inject, window_breaks_unsafe, .timeout = 120)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct gh_scenario *s = parse(shared);
        struct gh_run_config cfg;
        config(&cfg, "unsafe", 2);
        cfg.seed = seed;
        struct gh_inject_spec sp = spec("rc.update=2us@2%");
        cfg.inject = &sp;
        cfg.ninject = 1;
        struct gh_result res;
        struct gh_diag d;
        cr_assert_eq(gh_run(s, &cfg, &res, &d), 0, "%s", d.msg);
        const uint64_t *n = res.hazards.n;
        uint64_t counts = n[GH_HAZARD_USE_AFTER_FREE] + n[GH_HAZARD_DOUBLE_FREE] +
                          n[GH_HAZARD_REFCNT_LOW] + n[GH_HAZARD_REFCNT_HIGH] + n[GH_HAZARD_LEAK] +
                          n[GH_HAZARD_FAULT];
        cr_expect_gt(counts, 0, "seed %llu: no lost count caught (%llu hazards)",
                     (unsigned long long)seed, (unsigned long long)res.hazards_total);
        gh_result_free(&res);
        gh_scenario_free(s);
    }
}

SAFE_PRESET_PARAMS(watchdog, reports_injected_hang)

/* The positive control: worker 0 hangs inside a critical section on the
 * shared list; worker 1 blocks on that list's lock (or on the GIL worker 0
 * keeps). The watchdog names worker 0 as the holder, releases the hang,
 * and the run ends `stalled`. */
ParameterizedTest(struct preset_param *p, watchdog, reports_injected_hang, .timeout = 60)
{
    struct gh_scenario *s = parse("name: hang\nthreads: 2\nduration: 20s\n"
                                  "setup:\n  L: {type: list}\n"
                                  "mix:\n  - {op: list.append, on: L, value: 1}\n"
                                  "  - {op: list.pop, on: L}\n");
    struct gh_run_config cfg;
    config(&cfg, p->name, 2);
    cfg.check = 0;
    struct gh_inject_spec sp = spec("cs.held=hang@1in500:0");
    cfg.inject = &sp;
    cfg.ninject = 1;
    cfg.stall_ns = 300000000u;
    struct gh_result res;
    struct gh_diag d;
    cr_assert_eq(gh_run(s, &cfg, &res, &d), 0, "%s", d.msg);
    cr_assert_eq(res.status, GH_STATUS_STALLED, "%s: status %s", p->name,
                 gh_status_names[res.status]);
    cr_assert_not_null(res.stall);
    cr_assert(res.stall->joined, "%s: the released workers ended", p->name);
    cr_assert_eq(res.inject_fired[GH_INJ_CS_HELD], 1);
    const struct gh_stall_thread *t = &res.stall->thread[1];
    /* Under rc=locked the list's mutex is also its count lock: worker 1
     * may wait for it to count a reference. */
    cr_expect(res.has_gil ? t->wait_class == GH_LOCK_gil
                          : t->wait_class == GH_LOCK_list ||
                                (cfg.strategy.rc == GH_RC_LOCKED && t->wait_class == GH_LOCK_rc),
              "%s: worker 1 waits for class %d", p->name, t->wait_class);
    cr_expect_eq(t->holder, 0, "%s: holder %d", p->name, t->holder);
    cr_expect_eq(res.stall->thread[0].wait_class, -1, "%s: worker 0 waits for nothing", p->name);
    if (res.has_gil)
        cr_expect(res.stall->gil_locked && res.stall->gil_holder == 0, "%s: GIL holder %d",
                  p->name, res.stall->gil_holder);
    cr_expect_str_eq(res.stall->thread[0].phase, "running");
    cr_expect_not_null(res.stall->thread[0].op);
    gh_result_free(&res);
    gh_scenario_free(s);
}

/* Slow is not stuck: every op sleeps 40 ms inside its critical section,
 * so op counts (published once per stretch of ops) stay still for longer
 * than --stall; the delays that end are progress, and the run ends ok.
 * (Found by torture: thousands of delayed remote frees in a worker's
 * `after` phase read as a stall at the join.) */
Test(watchdog, finite_delays_are_progress, .timeout = 60)
{
    struct gh_scenario *s = parse("name: slow\nthreads: 1\nduration: 1500ms\n"
                                  "setup:\n  L: {type: list}\n"
                                  "mix:\n  - {op: list.append, on: L, value: 1}\n"
                                  "  - {op: list.pop, on: L}\n");
    struct gh_run_config cfg;
    config(&cfg, "gil", 1);
    cfg.check = 0;
    struct gh_inject_spec sp = spec("cs.held=40ms");
    cfg.inject = &sp;
    cfg.ninject = 1;
    cfg.stall_ns = 300000000u;
    struct gh_result res;
    struct gh_diag d;
    cr_assert_eq(gh_run(s, &cfg, &res, &d), 0, "%s", d.msg);
    cr_assert_eq(res.status, GH_STATUS_OK, "status %s", gh_status_names[res.status]);
    cr_assert_null(res.stall);
    cr_assert_geq(res.inject_fired[GH_INJ_CS_HELD], 10);
    gh_result_free(&res);
    gh_scenario_free(s);
}

SAFE_PRESET_PARAMS(watchdog, reports_a_real_deadlock)

/* A real deadlock: two roles take two user locks in opposite orders. The
 * watchdog reports both waits; nothing it can release ends them, so the
 * workers are never counted as joined and the run returns without a
 * teardown (the test's process ends with them). */
ParameterizedTest(struct preset_param *p, watchdog, reports_a_real_deadlock, .timeout = 60)
{
    struct gh_scenario *s = parse("name: deadlock\nthreads: 2\nops: 1000000\n"
                                  "setup:\n  A: {type: lock}\n  B: {type: lock}\n"
                                  "roles:\n"
                                  "  - name: ab\n    threads: 1\n    script:\n"
                                  "      - {op: lock.acquire, on: A}\n"
                                  "      - {op: io, us: 2000}\n"
                                  "      - {op: lock.acquire, on: B}\n"
                                  "      - {op: lock.release, on: B}\n"
                                  "      - {op: lock.release, on: A}\n"
                                  "  - name: ba\n    threads: 1\n    script:\n"
                                  "      - {op: lock.acquire, on: B}\n"
                                  "      - {op: io, us: 2000}\n"
                                  "      - {op: lock.acquire, on: A}\n"
                                  "      - {op: lock.release, on: A}\n"
                                  "      - {op: lock.release, on: B}\n");
    struct gh_run_config cfg;
    config(&cfg, p->name, 2);
    cfg.check = 0;
    cfg.stall_ns = 300000000u;
    struct gh_result res;
    struct gh_diag d;
    cr_assert_eq(gh_run(s, &cfg, &res, &d), 0, "%s", d.msg);
    cr_assert_eq(res.status, GH_STATUS_STALLED, "%s: status %s", p->name,
                 gh_status_names[res.status]);
    cr_assert_not_null(res.stall);
    cr_assert(!res.stall->joined, "%s: deadlocked workers counted as ended", p->name);
    for (int i = 0; i < 2; i++) {
        cr_expect_eq(res.stall->thread[i].wait_class, GH_LOCK_user, "%s: worker %d waits for %d",
                     p->name, i, res.stall->thread[i].wait_class);
        cr_expect_str_eq(res.stall->thread[i].op, "lock.acquire");
    }
    /* The diagnosis is the caller's; the rest stays: the stuck workers
     * still use the scenario and their results. */
    free(res.stall->thread);
    free(res.stall);
}
