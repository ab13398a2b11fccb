/* test_run.c - the runner, parameterized over every preset: determinism of
 * the op sequence, checks and status, exact lock counts, teardown. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/trace.h"
#include "scenario/run.h"

struct preset_param { char name[16]; };

static struct preset_param *all_presets(size_t *n)
{
    static struct preset_param p[8];
    for (size_t i = 0; i < gh_npresets && i < 8; i++)
        strcpy(p[i].name, gh_presets[i].name);
    *n = gh_npresets;
    return p;
}

/* The parameter list of ParameterizedTest(struct preset_param *p, run, test):
 * every preset. */
#define PRESET_PARAMS(test)                                                    \
    ParameterizedTestParameters(run, test)                                     \
    {                                                                          \
        size_t n;                                                              \
        struct preset_param *p = all_presets(&n);                              \
        return cr_make_param_array(struct preset_param, p, n);                 \
    }

static struct gh_scenario *parse(const char *text)
{
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse(text, strlen(text), "test.yaml", &d);
    cr_assert_not_null(s, "%s", d.msg);
    return s;
}

static void config(struct gh_run_config *cfg, const char *preset, int threads, uint64_t ops,
                   uint64_t seed)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    cr_assert_eq(gh_strategy_from_preset(&cfg->strategy, preset, err, sizeof err), 0, "%s", err);
    cfg->threads = threads;
    cfg->ops_per_thread = ops;
    cfg->seed = seed;
    cfg->seed_given = true;
    cfg->latency_sample = 16;
}

static const char mixed[] =
    "name: mixed\n"
    "threads: 2\n"
    "ops: 1000\n"
    "setup:\n"
    "  L: list\n"
    "  D: {type: dict, items: 50, value: int}\n"
    "mix:\n"
    "  - {op: list.append, on: L, value: object, weight: 4}\n"
    "  - {op: list.pop, on: L, weight: 4}\n"
    "  - {op: list.get, on: L, weight: 1}\n"
    "  - {op: dict.set, on: D, keys: 100, value: int, weight: 2}\n"
    "  - {op: dict.get, on: D, keys: 100, weight: 2}\n"
    "  - {op: dict.del, on: D, keys: 100, weight: 1}\n"
    "checks:\n"
    "  - len(L) == count(list.append) - count(list.pop)\n";

PRESET_PARAMS(same_seed_same_ops)

/* Per thread, the sequence of ops chosen depends only on the seed: two runs
 * with one seed choose the same ops (done + failed per kind), whatever the
 * interleaving made of them; another seed chooses differently. */
ParameterizedTest(struct preset_param *p, run, same_seed_same_ops, .timeout = 60)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_result r[3];
    struct gh_diag d;
    static const uint64_t seeds[3] = {42, 42, 43};
    for (int k = 0; k < 3; k++) {
        struct gh_run_config cfg;
        config(&cfg, p->name, 2, 20000, seeds[k]);
        cr_assert_eq(gh_run(s, &cfg, &r[k], &d), 0, "%s", d.msg);
        cr_assert_eq(r[k].status, GH_STATUS_OK);
        cr_assert_eq(r[k].seed, seeds[k]);
        cr_assert_eq(r[k].alloc_live_after_teardown, 0, "nothing leaked");
    }
    bool differs = false;
    for (int t = 0; t < 2; t++) {
        for (int op = 0; op < GH_OP_COUNT; op++) {
            uint64_t a = r[0].thread[t].op[op].done + r[0].thread[t].op[op].failed;
            uint64_t b = r[1].thread[t].op[op].done + r[1].thread[t].op[op].failed;
            uint64_t c = r[2].thread[t].op[op].done + r[2].thread[t].op[op].failed;
            cr_assert_eq(a, b, "thread %d op %s: %llu vs %llu", t, gh_op_names[op],
                         (unsigned long long)a, (unsigned long long)b);
            differs |= a != c;
        }
        cr_assert_eq(r[0].thread[t].ops, 20000);
    }
    cr_assert(differs, "a different seed chose a different sequence");
    for (int k = 0; k < 3; k++)
        gh_result_free(&r[k]);
    gh_scenario_free(s);
}

PRESET_PARAMS(lock_counts_are_exact)

ParameterizedTest(struct preset_param *p, run, lock_counts_are_exact, .timeout = 60)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 10000, 7);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    uint64_t list_ops = 0, dict_ops = 0;
    for (int op = GH_OP_LIST_APPEND; op <= GH_OP_LIST_GET; op++)
        list_ops += r.op[op].done + r.op[op].failed;
    for (int op = GH_OP_DICT_SET; op <= GH_OP_DICT_DEL; op++)
        dict_ops += r.op[op].done + r.op[op].failed;
    if (r.strategy.sync == GH_SYNC_OBJLOCK) {
        /* One critical section per container op; the setup's 50 dict.set
         * ran in the main thread, whose counts are merged in too. */
        cr_assert_eq(r.locks[GH_LOCK_list].acquisitions, list_ops);
        cr_assert_eq(r.locks[GH_LOCK_dict].acquisitions, dict_ops + 50);
        cr_assert_eq(r.locks[GH_LOCK_gil].acquisitions, 0);
        cr_assert_not(r.has_gil);
    } else {
        cr_assert_eq(r.locks[GH_LOCK_list].acquisitions, 0, "no object locks under the GIL");
        cr_assert_geq(r.locks[GH_LOCK_gil].acquisitions, 4, "each thread takes it at least twice");
        cr_assert(r.has_gil);
    }
    cr_assert_leq(r.locks[GH_LOCK_list].contended, r.locks[GH_LOCK_list].acquisitions);
    gh_result_free(&r);
    gh_scenario_free(s);
}

PRESET_PARAMS(failing_check_fails_the_run)

ParameterizedTest(struct preset_param *p, run, failing_check_fails_the_run, .timeout = 30)
{
    struct gh_scenario *s = parse("name: f\nthreads: 1\nops: 100\nsetup:\n  L: list\n"
                                  "mix:\n  - {op: list.append, on: L, value: int}\n"
                                  "checks:\n  - len(L) == 100\n  - len(L) == 99\n"
                                  "  - count(list.append) / (len(L) - 100) == 1\n");
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 1, 0, 1); /* the file's ops: 100 */
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.nchecks, 3);
    cr_assert(r.checks[0].pass);
    cr_assert_not(r.checks[1].pass);
    cr_assert_not(r.checks[2].pass);
    cr_assert(r.checks[2].error, "division by zero is an evaluation error");
    cr_assert_eq(r.checks_failed, 2);
    cr_assert_eq(r.status, GH_STATUS_FAILED);
    gh_result_free(&r);
    gh_scenario_free(s);
}

Test(run, refused_combination, .timeout = 10)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    char err[256];
    config(&cfg, "atomic", 2, 100, 1);
    cr_assert_eq(gh_strategy_set(&cfg.strategy, "rc=plain", err, sizeof err), 0);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), -1);
    cr_assert(strstr(d.msg, "refused") && strstr(d.msg, "rc=plain"), "%s", d.msg);
    gh_scenario_free(s);
}

Test(run, gil_with_atomic_counts_runs, .timeout = 30)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    char err[256];
    config(&cfg, "gil", 2, 5000, 1);
    cr_assert_eq(gh_strategy_set(&cfg.strategy, "rc=atomic", err, sizeof err), 0);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.status, GH_STATUS_OK);
    cr_assert_null(r.unsafe_reason);
    cr_assert(r.strategy.overridden);
    gh_result_free(&r);
    gh_scenario_free(s);
}

Test(run, latency_sampling_can_be_off, .timeout = 30)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, "gil", 2, 1000, 1);
    cfg.latency_sample = 0;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    for (int op = 0; op < GH_OP_COUNT; op++)
        cr_assert_eq(r.op[op].latency.count, 0, "op %s was timed", gh_op_names[op]);
    cr_assert_gt(r.wall_ns, 0);
    gh_result_free(&r);
    config(&cfg, "gil", 2, 1000, 1);
    cfg.latency_sample = 10;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    uint64_t timed = 0;
    for (int op = 0; op < GH_OP_COUNT; op++)
        timed += r.op[op].latency.count;
    cr_assert_eq(timed, 2 * 100, "ops 0, 10, 20, ... of each thread");
    gh_result_free(&r);
    gh_scenario_free(s);
}

PRESET_PARAMS(compute_locks_any_object)

/* compute with `on` takes that object's lock: any object, including the
 * statically allocated small ints, has a real ob_mutex in front of it. */
ParameterizedTest(struct preset_param *p, run, compute_locks_any_object, .timeout = 30)
{
    struct gh_scenario *s = parse("name: c\nthreads: 2\nops: 2000\nsetup:\n"
                                  "  N: {type: int, value: -5}\n  M: {type: int, value: 256}\n"
                                  "mix:\n  - {op: compute, on: N, iters: 10}\n"
                                  "  - {op: compute, on: M, iters: 10}\n");
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 0, 3);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.status, GH_STATUS_OK);
    cr_assert_eq(r.op[GH_OP_COMPUTE].done, 4000);
    if (r.strategy.sync == GH_SYNC_OBJLOCK)
        cr_assert_eq(r.locks[GH_LOCK_instance].acquisitions, 4000);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* ---- the object model's ops ---------------------------------------------- */

/* Runs text once under preset with its output captured; *out is malloc'ed. */
static void run_captured(const char *text, const char *preset, int threads, struct gh_result *r,
                         struct gh_scenario **sp, char **out)
{
    struct gh_scenario *s = parse(text);
    struct gh_run_config cfg;
    struct gh_diag d;
    size_t len = 0;
    config(&cfg, preset, threads, 0, 1);
    cfg.out = open_memstream(out, &len);
    cr_assert_not_null(cfg.out);
    cr_assert_eq(gh_run(s, &cfg, r, &d), 0, "%s", d.msg);
    fclose(cfg.out);
    cr_assert_eq(r->alloc_live_after_teardown, 0, "nothing leaked");
    *sp = s;
}

static const char model_ops[] =
    "name: m\nops: once\n"
    "setup:\n  Node: {type: class, del: count}\n  Grave: list\n"
    "  Phoenix: {type: class, del: resurrect, into: Grave}\n"
    "script:\n"
    "  - {op: new, type: int, value: 256, as: a}\n"              /* 8 */
    "  - {op: new, type: int, value: 256, as: b}\n"
    "  - {op: new, type: int, value: 257, as: c}\n"
    "  - {op: new, type: int, value: 257, as: d}\n"
    "  - {op: is, a: a, b: b, label: small}\n"                    /* 12 */
    "  - {op: is, a: c, b: d}\n"
    "  - {op: eq, a: c, b: d}\n"
    "  - {op: show, expr: \"c is d\"}\n"                          /* 15 */
    "  - {op: show, expr: \"getrefcount(c)\"}\n"                  /* 16 */
    "  - {op: new, type: str, value: \"ab\", const: true, as: s}\n"
    "  - {op: new, type: str, value: \"a\", as: t}\n"
    "  - {op: str.concat, on: t, value: \"b\"}\n"
    "  - {op: assert, expr: \"s == t and s is not t and not interned(t)\"}\n"
    "  - {op: str.intern, on: t}\n"
    "  - {op: assert, expr: \"s is t\"}\n"
    "  - {op: new, type: tuple, items: [1, a], as: tu}\n"
    "  - {op: bind, as: tv, value: tu}\n"
    "  - {op: tuple.concat, on: tu, value: 3}\n"
    "  - {op: assert, expr: \"len(tu) == 3 and len(tv) == 2 and tu is not tv\"}\n"
    "  - {op: new, type: set, items: [1, 2], as: st}\n"
    "  - {op: set.add, on: st, value: 2}\n"                       /* fails: present */
    "  - {op: set.add, on: st, value: 3}\n"
    "  - {op: set.discard, on: st, value: 1}\n"
    "  - {op: set.contains, on: st, value: 3}\n"
    "  - {op: assert, expr: \"len(st) == 2\"}\n"
    "  - {op: new, type: object, as: o}\n"
    "  - {op: attr.get, on: o, name: x}\n"                        /* fails: missing */
    "  - {op: attr.set, on: o, name: x, value: c}\n"
    "  - {op: attr.get, on: o, name: x, as: cx}\n"
    "  - {op: assert, expr: \"cx is c and getrefcount(c) == 4\"}\n"
    "  - {op: new, type: Node, as: n}\n"
    "  - {op: weakref.new, on: n, as: r, callback: count}\n"
    "  - {op: weakref.get, on: r}\n"
    "  - {op: drop, on: n}\n"
    "  - {op: weakref.get, on: r}\n"                              /* fails: dead */
    "  - {op: assert, expr: \"not alive(r) and finalized(Node) == 1 and callbacks() == 1\"}\n"
    "  - {op: weakref.new, on: a, as: ra}\n"                      /* fails: an int */
    "  - {op: new, type: weakvaluedict, as: w}\n"
    "  - {op: new, type: Node, as: v}\n"
    "  - {op: wvdict.set, on: w, key: 5, value: v}\n"
    "  - {op: wvdict.get, on: w, key: 5, as: v2}\n"
    "  - {op: drop, on: v}\n  - {op: drop, on: v2}\n"
    "  - {op: wvdict.get, on: w, key: 5}\n"                       /* fails */
    "  - {op: assert, expr: \"len(w) == 0 and finalized(Node) == 2\"}\n"
    "  - {op: new, type: function, def: append-one, as: f}\n"
    "  - {op: call, on: f, as: l1}\n  - {op: call, on: f, as: l2}\n"
    "  - {op: new, type: function, def: append-one-none, as: g}\n"
    "  - {op: call, on: g, as: m1}\n  - {op: call, on: g, as: m2}\n"
    "  - {op: assert, expr: \"l1 is l2 and len(l1) == 2 and m1 is not m2 and len(m2) == 1\"}\n"
    "  - {op: new, type: Phoenix, as: ph}\n  - {op: drop, on: ph}\n"
    "  - {op: assert, expr: \"finalized(Phoenix) == 1 and len(Grave) == 1\"}\n"
    "  - {op: assert, expr: \"1 == 2\"}\n"                        /* fails on purpose */
    "checks:\n"
    "  - count(is) == 1 and failed(is) == 1 and count(eq) == 1\n"
    "  - failed(assert) == 1 and count(assert) == 9\n"
    "  - count(set.add) == 1 and failed(set.add) == 1 and count(set.contains) == 1\n"
    "  - failed(attr.get) == 1 and failed(weakref.get) == 1 and failed(weakref.new) == 1\n"
    "  - failed(wvdict.get) == 1 and count(call) == 4\n"
    "  - finalized(Node) == 2 and callbacks() == 1 and len(Grave) == finalized(Phoenix)\n";

PRESET_PARAMS(model_ops_do_what_they_say)

ParameterizedTest(struct preset_param *p, run, model_ops_do_what_they_say, .timeout = 30)
{
    struct gh_result r;
    struct gh_scenario *s;
    char *out = NULL;
    run_captured(model_ops, p->name, 1, &r, &s, &out);
    for (int i = 0; i < r.nchecks; i++)
        cr_expect(r.checks[i].pass, "check %d `%s`: %s", i, r.checks[i].text, r.checks[i].detail);
    cr_assert_eq(r.status, GH_STATUS_OK, "the checks decide the status");
    /* What a learner sees, in order. */
    const char *want[] = {
        "test.yaml:12: small = True\n",
        "test.yaml:15: c is d = False\n",
        "test.yaml:16: getrefcount(c) = 2\n",
        "1 == 2 = False   <- assertion failed\n",
    };
    const char *at = out;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *f = strstr(at, want[i]);
        cr_assert_not_null(f, "`%s` not in order in:\n%s", want[i], out);
        at = f + strlen(want[i]);
    }
    cr_assert_null(strstr(out, "error"), "no evaluation errors:\n%s", out);
    gh_result_free(&r);
    gh_scenario_free(s);
    free(out);
}

PRESET_PARAMS(tracing_shows_the_leak)

/* The caches scenario's shape: the leaky dict's lines grow by one value per
 * pass, the bounded one stays at 100; tracing ends with the run. */
ParameterizedTest(struct preset_param *p, run, tracing_shows_the_leak, .timeout = 30)
{
    struct gh_result r;
    struct gh_scenario *s;
    char *out = NULL;
    run_captured("name: c\nops: 1500\n"
                 "init:\n  - {op: new, type: dict, as: leaky}\n"
                 "  - {op: new, type: dict, as: bounded}\n"
                 "  - {op: trace.start}\n  - {op: trace.snapshot, as: s0}\n"
                 "script:\n"
                 "  - {op: new, type: object, as: v}\n"                              /* 9 */
                 "  - {op: dict.set, on: leaky, key: {iter: 0}, value: v}\n"
                 "  - {op: new, type: object, as: u}\n"                              /* 11 */
                 "  - {op: dict.set, on: bounded, key: {iter: 0}, value: u}\n"
                 "  - {op: dict.del, on: bounded, key: {iter: -100}}\n"
                 "after:\n  - {op: trace.compare, from: s0, top: 2}\n"
                 "  - {op: assert, expr: \"len(leaky) == 300 and len(bounded) == 100\"}\n",
                 p->name, 1, &r, &s, &out);
    cr_assert_eq(r.status, GH_STATUS_OK);
    cr_assert_eq(r.op[GH_OP_ASSERT].done, 1, "%s", out);
    cr_assert_eq(r.op[GH_OP_DICT_DEL].done, 200);
    cr_assert_eq(r.op[GH_OP_DICT_DEL].failed, 100);
    cr_assert(strstr(out, "test.yaml:15: top 2 of "), "%s", out);
    /* The biggest growth is the leaky dict's values (line 9, 300 of them). */
    cr_assert(strstr(out, "    test.yaml:9: size="), "%s", out);
    cr_assert(strstr(out, "count=300 (+300)"), "%s", out);
    cr_assert_not(gh_trace_is_tracing(), "tracing stops with the run");
    gh_result_free(&r);
    gh_scenario_free(s);
    free(out);
}

/* With several threads, every line an op prints names its thread; with one,
 * the line is the plain FILE:LINE: form. */
Test(run, printed_lines_name_their_thread, .timeout = 30)
{
    static const char text[] = "name: p\nops: once\nscript:\n"
                               "  - {op: new, type: int, value: 5, as: x}\n"
                               "  - {op: show, expr: \"value(x)\"}\n";
    for (int threads = 1; threads <= 2; threads++) {
        struct gh_result r;
        struct gh_scenario *s;
        char *out = NULL;
        run_captured(text, "gil", threads, &r, &s, &out);
        if (threads == 1) {
            cr_assert_str_eq(out, "test.yaml:5: value(x) = 5\n");
        } else {
            cr_assert(strstr(out, "test.yaml:5: [worker-0] value(x) = 5\n"), "%s", out);
            cr_assert(strstr(out, "test.yaml:5: [worker-1] value(x) = 5\n"), "%s", out);
        }
        free(out);
        gh_result_free(&r);
        gh_scenario_free(s);
    }
}
