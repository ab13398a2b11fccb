/* test_run.c - the runner, parameterized over every preset: determinism of
 * the op sequence, checks and status, exact lock counts, teardown. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "alloc/trace.h"
#include "base/lockprof.h"
#include "base/rng.h"
#include "scenario/run.h"

struct preset_param { char name[16]; };

/* The safe presets that run with `set` applied (NULL: as they are), into
 * p[8]; how many. These tests check what a strategy guarantees (the unsafe
 * positive control has its own, tests/scenario/test_hazards.c). */
static size_t safe_presets(const char *set, struct preset_param *p)
{
    size_t k = 0;
    for (size_t i = 0; i < gh_npresets && k < 8; i++) {
        struct gh_strategy st;
        char err[256];
        if (gh_strategy_from_preset(&st, gh_presets[i].name, err, sizeof err) == 0 &&
            !gh_strategy_unsafe_reason(&st) &&
            (!set || (gh_strategy_set(&st, set, err, sizeof err) == 0 &&
                      !gh_strategy_refusal(&st))))
            strcpy(p[k++].name, gh_presets[i].name);
    }
    return k;
}

/* Every safe preset. */
static struct preset_param *all_presets(size_t *n)
{
    static struct preset_param p[8];
    *n = safe_presets(NULL, p);
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
    if (!r.has_gil) {
        /* One critical section per container op; the setup's 50 dict.set
         * ran in the main thread, whose counts are merged in too. Under
         * sync=objlock rc=biased list.get and dict.get read without one,
         * except those that fell back to the lock (counted). */
        uint64_t list_locked = list_ops, dict_locked = dict_ops + 50;
        if (r.strategy.sync == GH_SYNC_OBJLOCK && r.strategy.rc == GH_RC_BIASED) {
            list_locked -= r.op[GH_OP_LIST_GET].done + r.op[GH_OP_LIST_GET].failed;
            list_locked += r.rc.lockfree_list_fallbacks;
            dict_locked -= r.op[GH_OP_DICT_GET].done + r.op[GH_OP_DICT_GET].failed;
            dict_locked += r.rc.lockfree_dict_fallbacks;
            cr_assert_gt(r.op[GH_OP_LIST_GET].done + r.op[GH_OP_DICT_GET].done, 0);
        }
        cr_assert_eq(r.locks[GH_LOCK_list].acquisitions, list_locked);
        cr_assert_eq(r.locks[GH_LOCK_dict].acquisitions, dict_locked);
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
    cr_assert_eq(gh_strategy_set(&cfg.strategy, "header=compact", err, sizeof err), 0);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), -1);
    cr_assert(strstr(d.msg, "refused") && strstr(d.msg, "header=compact"), "%s", d.msg);
    gh_scenario_free(s);
}

/* Found by torture: unsafe with the compact header at 8 threads tore a
 * link of the collector's lists, and the final census walked the cycle
 * forever. Refused at 2+ threads; one thread runs. */
Test(run, unsafe_compact_header_refused_with_threads, .timeout = 30)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    char err[256];
    config(&cfg, "unsafe", 2, 100, 1);
    cr_assert_eq(gh_strategy_set(&cfg.strategy, "header=compact", err, sizeof err), 0);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), -1);
    cr_assert(strstr(d.msg, "refused with more than one thread") &&
                  strstr(d.msg, "header=compact"), "%s", d.msg);
    config(&cfg, "unsafe", 1, 100, 1);
    cr_assert_eq(gh_strategy_set(&cfg.strategy, "header=compact", err, sizeof err), 0);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    gh_result_free(&r);
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

/* The measured loop picks a mix's ops as the weighted scan always did:
 * one draw below the total weight from the thread's `choice` stream (seed,
 * stream 2 * index), the first op whose running sum exceeds it. Replayed
 * here by that rule for a mix of unequal weights, one of equal weights
 * (which the loop draws below the op count instead) and one op (which it
 * does not draw for): per thread, every op kind's count must match. */
static void replay_mix(const char *text, uint64_t ops, uint64_t seed, const char *preset)
{
    struct gh_scenario *s = parse(text);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, preset, 2, ops, seed);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    const struct gh_role *role = &s->roles[0];
    for (int t = 0; t < 2; t++) {
        uint64_t want[GH_OP_COUNT] = {0};
        struct gh_rng choice;
        gh_rng_seed(&choice, seed, 2 * (uint64_t)t);
        for (uint64_t k = 0; k < ops; k++) {
            uint64_t x = gh_rng_below(&choice, role->total_weight), sum = 0;
            int i = 0;
            while ((sum += role->ops[i].weight) <= x)
                i++;
            want[role->ops[i].kind]++;
        }
        for (int op = 0; op < GH_OP_COUNT; op++)
            cr_assert_eq(r.thread[t].op[op].done + r.thread[t].op[op].failed, want[op],
                         "%s thread %d op %s: %llu, the weighted scan picks %llu", preset, t,
                         gh_op_names[op],
                         (unsigned long long)(r.thread[t].op[op].done + r.thread[t].op[op].failed),
                         (unsigned long long)want[op]);
    }
    gh_result_free(&r);
    gh_scenario_free(s);
}

Test(run, mix_picks_as_the_weighted_scan, .timeout = 60)
{
    static const char unequal[] =
        "name: unequal\nthreads: 2\nops: 1\nsetup:\n  L: list\nmix:\n"
        "  - {op: list.append, on: L, value: none, weight: 45}\n"
        "  - {op: list.pop, on: L, weight: 45}\n"
        "  - {op: list.len, on: L, weight: 7}\n"
        "  - {op: list.get, on: L, weight: 3}\n";
    static const char equal[] =
        "name: equal\nthreads: 2\nops: 1\nsetup:\n  L: list\nmix:\n"
        "  - {op: list.append, on: L, value: none, weight: 3}\n"
        "  - {op: list.pop, on: L, weight: 3}\n"
        "  - {op: list.len, on: L, weight: 3}\n";
    static const char one[] =
        "name: one\nthreads: 2\nops: 1\nsetup:\n  L: list\nmix:\n"
        "  - {op: list.len, on: L, weight: 5}\n";
    replay_mix(unequal, 30000, 7, "gil");
    replay_mix(unequal, 30000, 8, "ft");
    replay_mix(equal, 30000, 7, "gil");
    replay_mix(equal, 30000, 9, "atomic");
    replay_mix(one, 1000, 7, "gil");
}

/* A script runs its steps in order, looping: with the latency sample on
 * and off, in the fast loop and the checked one, every step runs the same
 * number of times (ops / steps), and `{iter: K}` sees the pass count. */
Test(run, script_steps_in_order, .timeout = 60)
{
    static const char text[] =
        "name: steps\nthreads: 1\nops: 1\nsetup:\n  L: list\nscript:\n"
        "  - {op: list.append, on: L, value: none}\n"
        "  - {op: list.append, on: L, value: none}\n"
        "  - {op: list.pop, on: L}\n"
        "  - {op: list.len, on: L}\n";
    struct gh_scenario *s = parse(text);
    for (int k = 0; k < 4; k++) {
        struct gh_run_config cfg;
        struct gh_result r;
        struct gh_diag d;
        config(&cfg, "gil", 1, 4003, 1);
        cfg.latency_sample = k & 1 ? 0 : 7;
        cfg.check = k & 2 ? 1 : -1;
        cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
        cr_assert_eq(r.checked, (k & 2) != 0);
        cr_assert_eq(r.op[GH_OP_LIST_APPEND].done, 2 * 1001, "run %d", k);
        cr_assert_eq(r.op[GH_OP_LIST_POP].done, 1001, "run %d", k);
        cr_assert_eq(r.op[GH_OP_LIST_LEN].done, 1000, "run %d", k);
        cr_assert_eq(r.total_ops, 4003);
        uint64_t timed = 0;
        for (int op = 0; op < GH_OP_COUNT; op++)
            timed += r.op[op].latency.count;
        cr_assert_eq(timed, k & 1 ? 0 : (4003 + 6) / 7, "run %d: ops 0, 7, 14... timed", k);
        gh_result_free(&r);
    }
    gh_scenario_free(s);
}

/* --cpus: the run keeps the list (worker i on cpus[i % n]), the main
 * thread's own affinity is what it was afterwards, and a CPU out of range
 * is refused before anything runs. */
Test(run, pinning_is_recorded_and_undone, .timeout = 30)
{
    struct gh_scenario *s = parse(mixed);
    cpu_set_t before, after;
    cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof before, &before), 0);
    int first = -1;
    for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
        if (CPU_ISSET(c, &before))
            first = c;
    int cpus[2] = {first, first};
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, "gil", 2, 2000, 1);
    cfg.cpus = cpus;
    cfg.ncpus = 2;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.status, GH_STATUS_OK);
    cr_assert_eq(r.ncpus, 2);
    cr_assert_eq(r.cpus[0], first);
    cr_assert_eq(r.cpus[1], first);
    cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof after, &after), 0);
    cr_assert(CPU_EQUAL(&before, &after), "the main thread's affinity was not restored");
    gh_result_free(&r);
    cr_assert_null(r.cpus);

    int bad[1] = {CPU_SETSIZE};
    cfg.cpus = bad;
    cfg.ncpus = 1;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), -1);
    cr_assert(strstr(d.msg, "out of range"), "%s", d.msg);
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
    if (!r.has_gil)
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

/* ---- the cyclic collector ------------------------------------------------ */

/* Like run_captured, with an axis override (NULL for none) and without the
 * leak assertion (gc=off leaks cycles by construction). */
static void run_set(const char *text, const char *preset, const char *set, int threads,
                    struct gh_result *r, struct gh_scenario **sp, char **out)
{
    struct gh_scenario *s = parse(text);
    struct gh_run_config cfg;
    struct gh_diag d;
    char err[256];
    size_t len = 0;
    config(&cfg, preset, threads, 0, 1);
    if (set)
        cr_assert_eq(gh_strategy_set(&cfg.strategy, set, err, sizeof err), 0, "%s", err);
    cfg.out = open_memstream(out, &len);
    cr_assert_not_null(cfg.out);
    cr_assert_eq(gh_run(s, &cfg, r, &d), 0, "%s", d.msg);
    fclose(cfg.out);
    *sp = s;
}

static void expect_checks_pass(const struct gh_result *r, const char *out)
{
    for (int i = 0; i < r->nchecks; i++)
        cr_expect(r->checks[i].pass, "check %d `%s`: %s\n%s", i, r->checks[i].text,
                  r->checks[i].detail, out);
    cr_assert_eq(r->status, GH_STATUS_OK, "%s", out);
    cr_assert_null(strstr(out, "error"), "no evaluation errors:\n%s", out);
    cr_assert_null(strstr(out, "assertion failed"), "%s", out);
}

static const char cycle_ops[] =
    "name: c\nops: once\n"
    "setup:\n  Node: {type: class, del: count}\n"
    "script:\n"
    "  - {op: cycle.new, cls: Node, size: 3, as: n}\n"                  /* 6 */
    "  - {op: assert, expr: \"gc.is_tracked(n) and getrefcount(n) == 3\"}\n"
    "  - {op: weakref.new, on: n, as: r}\n"
    "  - {op: attr.get, on: n, name: next, as: m}\n"
    "  - {op: attr.get, on: m, name: next, as: k}\n"
    "  - {op: attr.get, on: k, name: next, as: back}\n"
    "  - {op: assert, expr: \"back is n and m is not n and k is not m\"}\n"
    "  - {op: drop, on: n}\n  - {op: drop, on: m}\n  - {op: drop, on: k}\n"
    "  - {op: drop, on: back}\n"
    "  - {op: assert, expr: \"alive(r)\"}\n"                             /* 17 */
    "  - {op: gc.collect, as: found}\n"
    "  - {op: show, expr: \"value(found)\"}\n"                           /* 19 */
    "  - {op: assert, expr: \"not alive(r) and finalized(Node) == 3\"}\n"
    "  - {op: cycle.new, size: 1}\n"                                    /* Plain, self */
    "  - {op: gc.collect, generation: 0, as: young}\n"
    "  - {op: show, expr: \"value(young)\"}\n"                           /* 23 */
    "checks:\n"
    "  - failed(assert) == 0 and count(assert) == 4\n"
    "  - finalized(Node) == 3 and gc.finalized == 3\n"
    "  - gc.collections == 2 and gc.collected == 4 and gc.unreachable == 4\n"
    "  - gc.uncollectable == 0 and gc.resurrected == 0\n";

PRESET_PARAMS(cycles_are_collected)

/* A ring outlives its last reference until gc.collect finds it: its
 * members (attributes inline, as CPython 3.11+) are unreachable, each __del__ runs
 * once, and the ring is freed. A generation-0 collection (the youngest)
 * finds the self-referencing node too (gc=stw: every collection is full). */
ParameterizedTest(struct preset_param *p, run, cycles_are_collected, .timeout = 30)
{
    struct gh_result r;
    struct gh_scenario *s;
    char *out = NULL;
    run_captured(cycle_ops, p->name, 1, &r, &s, &out);
    expect_checks_pass(&r, out);
    cr_assert(strstr(out, "test.yaml:19: value(found) = 3\n"), "3 nodes, no dicts:\n%s", out);
    cr_assert(strstr(out, "test.yaml:23: value(young) = 1\n"), "%s", out);
    cr_assert_eq(r.op[GH_OP_CYCLE_NEW].done, 2);
    cr_assert_eq(r.op[GH_OP_GC_COLLECT].done, 2);
    uint64_t n = 0;
    for (int g = 0; g < 3; g++)
        n += r.gc.gen[g].collections;
    cr_assert_eq(n, 2, "the result's statistics");
    cr_assert_eq(r.gc.finalized, 3);
    /* Without a GIL the first collection stops the world twice (its
     * finalizers ran: the resurrection check), the second once. */
    cr_assert_eq(r.gc.pause.count, r.has_gil ? 2 : 3,
                 "one pause per collection under the GIL; without it one stop, "
                 "and a second after finalizers ran");
    if (r.has_gil)
        cr_assert_eq(r.gc.tts.count, 0, "no time to safepoint under the GIL");
    else
        cr_assert_eq(r.gc.tts.count, 3);
    cr_assert_eq(r.gc_garbage_at_exit, 0);
    gh_result_free(&r);
    gh_scenario_free(s);
    free(out);
}

static const char gc_settings[] =
    "name: g\nops: once\n"
    "setup:\n  O: object\n  Node: {type: class, del: count}\n"
    "gc:\n  thresholds: [100, 5]\n  enabled: false\n  debug: saveall\n  freeze: true\n"
    "script:\n"
    "  - {op: assert, expr: \"gc.threshold == 100 and gc.gen1.threshold == 5 and "
    "gc.gen2.threshold == 10\"}\n"
    "  - {op: assert, expr: \"not gc.isenabled and gc.freeze_count > 0\"}\n"
    "  - {op: attr.set, on: O, name: me, value: O}\n"               /* a global cycle */
    "  - {op: cycle.new, cls: Node, size: 2}\n"
    "  - {op: gc.collect}\n"
    "  - {op: assert, expr: \"len(gc.garbage) == 2 and finalized(Node) == 2\"}\n"
    "  - {op: gc.set_threshold, thresholds: 7}\n"
    "  - {op: gc.enable}\n"
    "  - {op: assert, expr: \"gc.threshold == 7 and gc.gen1.threshold == 5 and gc.isenabled()\"}\n"
    "  - {op: gc.disable}\n"
    "  - {op: gc.unfreeze}\n"
    "  - {op: assert, expr: \"gc.freeze_count == 0 and not gc.isenabled\"}\n"
    "  - {op: gc.freeze}\n"
    "checks:\n"
    "  - failed(assert) == 0 and count(assert) == 5\n"
    "  - count(gc.enable) == 1 and failed(gc.enable) == 0\n";

PRESET_PARAMS(gc_section_and_settings)

/* The gc section is in force when the threads start; DEBUG_SAVEALL keeps
 * the garbage in gc.garbage (the two nodes), whose
 * __del__s still ran; the teardown unfreezes, so the global's cycle is
 * collected and nothing leaks. */
ParameterizedTest(struct preset_param *p, run, gc_section_and_settings, .timeout = 30)
{
    struct gh_result r;
    struct gh_scenario *s;
    char *out = NULL;
    run_captured(gc_settings, p->name, 1, &r, &s, &out);
    expect_checks_pass(&r, out);
    cr_assert_eq(r.gc_thresholds[0], 100);
    cr_assert_eq(r.gc_thresholds[1], 5);
    cr_assert_eq(r.gc_thresholds[2], 10);
    cr_assert_not(r.gc_enabled);
    cr_assert_geq(r.gc_garbage_at_exit, 3, "saveall: gc.garbage held the garbage at exit");
    gh_result_free(&r);
    gh_scenario_free(s);
    free(out);
}

/* Resurrection and legacy finalizers, seen from the checks after the run. */
PRESET_PARAMS(finalizers_in_cycles)

ParameterizedTest(struct preset_param *p, run, finalizers_in_cycles, .timeout = 30)
{
    struct gh_result r;
    struct gh_scenario *s;
    char *out = NULL;
    run_captured("name: f\nops: once\n"
                 "setup:\n  Grave: list\n  Phoenix: {type: class, del: resurrect, into: Grave}\n"
                 "  Old: {type: class, del: count, legacy: true}\n"
                 "script:\n"
                 "  - {op: cycle.new, cls: Phoenix, size: 2, as: p}\n"
                 "  - {op: weakref.new, on: p, as: rp}\n  - {op: drop, on: p}\n"
                 "  - {op: cycle.new, cls: Old, size: 3, as: o}\n"
                 "  - {op: weakref.new, on: o, as: ro}\n  - {op: drop, on: o}\n"
                 "  - {op: gc.collect, as: n}\n"
                 "  - {op: assert, expr: \"value(n) == 5 and not alive(rp) and alive(ro)\"}\n"
                 "checks:\n"
                 "  - failed(assert) == 0\n"
                 "  - len(Grave) == 2 and finalized(Phoenix) == 2 and gc.finalized == 2\n"
                 "  - gc.resurrected == 2 and gc.collected == 0\n"
                 "  - len(gc.garbage) == 3 and gc.uncollectable == 3 and finalized(Old) == 0\n"
                 "  - gc.gen2.uncollectable == gc.uncollectable\n",
                 p->name, 1, &r, &s, &out);
    expect_checks_pass(&r, out);
    cr_assert_eq(r.gc_garbage_at_exit, 3, "the three Olds were still in gc.garbage");
    gh_result_free(&r);
    gh_scenario_free(s);
    free(out);
}

/* gc=off: gc.collect finds nothing, gc.enable fails, and the cycle leaks
 * (reported by the teardown's live bytes). */
Test(run, gc_off_has_no_collector, .timeout = 30)
{
    struct gh_result r;
    struct gh_scenario *s;
    char *out = NULL;
    run_set("name: o\nops: once\nscript:\n"
            "  - {op: cycle.new, size: 2}\n"
            "  - {op: gc.enable}\n"
            "  - {op: gc.collect, as: n}\n"
            "  - {op: assert, expr: \"value(n) == 0 and not gc.isenabled and "
            "gc.collections == 0\"}\n"
            "checks:\n  - failed(gc.enable) == 1 and failed(assert) == 0\n",
            "gil", "gc=off", 1, &r, &s, &out);
    expect_checks_pass(&r, out);
    cr_assert_eq(r.strategy.gc, GH_GC_OFF);
    cr_assert_gt(r.alloc_live_after_teardown, 0, "a cycle without a collector leaks");
    gh_result_free(&r);
    gh_scenario_free(s);
    free(out);
}

PRESET_PARAMS(automatic_collections_under_load)

/* Two threads drop rings while appending to and popping from a shared
 * list: the allocations trigger collections at the threads' switch points;
 * every ring is found whole, and the statistics the checks read agree
 * with the result's. */
ParameterizedTest(struct preset_param *p, run, automatic_collections_under_load, .timeout = 60)
{
    struct gh_scenario *s = parse("name: l\nthreads: 2\nops: 20000\n"
                                  "setup:\n  L: list\n  Node: {type: class, del: count}\n"
                                  "gc:\n  thresholds: [200]\n"
                                  "mix:\n  - {op: list.append, on: L, value: list, weight: 4}\n"
                                  "  - {op: list.pop, on: L, weight: 4}\n"
                                  "  - {op: cycle.new, cls: Node, weight: 2}\n"
                                  "checks:\n  - gc.collections > 0\n"
                                  "  - finalized(Node) == gc.finalized\n"
                                  "  - finalized(Node) % 2 == 0\n"
                                  "  - len(L) == count(list.append) - count(list.pop)\n");
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 0, 5);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    for (int i = 0; i < r.nchecks; i++)
        cr_expect(r.checks[i].pass, "check `%s`: %s", r.checks[i].text, r.checks[i].detail);
    cr_assert_eq(r.status, GH_STATUS_OK);
    cr_assert_gt(r.gc.collected, 0);
    cr_assert_gt(r.gc.pause.count, 0);
    cr_assert_eq(r.alloc_live_after_teardown, 0, "every ring freed by the teardown at the latest");
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* gc.dot: to the output ("-"), and to a file, one per thread when there
 * are several. */
Test(run, gc_dot_writes_the_graph, .timeout = 30)
{
    char dir[] = "/tmp/gh-test-dot-XXXXXX", text[1024], path[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(text, sizeof text,
             "name: d\nops: once\nsetup:\n  Node: {type: class}\nscript:\n"
             "  - {op: cycle.new, cls: Node, size: 2, as: n}\n"
             "  - {op: gc.dot, on: n, path: '-', depth: 1}\n"
             "  - {op: gc.dot, on: n, path: %s/refs.dot}\n"
             "  - {op: gc.dot, on: n, path: %s/missing/refs.dot}\n"
             "checks:\n  - count(gc.dot) == 2 * failed(gc.dot)\n", dir, dir);
    for (int threads = 1; threads <= 2; threads++) {
        struct gh_result r;
        struct gh_scenario *s;
        char *out = NULL;
        run_captured(text, threads == 1 ? "gil" : "atomic", threads, &r, &s, &out);
        cr_assert_eq(r.status, GH_STATUS_OK, "%s", out);
        if (threads == 1) {
            /* depth 1: the node, its class and the next node */
            cr_assert(strstr(out, "test.yaml:7: gc.dot(n, depth 1): 3 objects\ndigraph refs {\n"),
                      "%s", out);
            snprintf(path, sizeof path, "%s/refs.dot", dir);
        } else {
            cr_assert(strstr(out, "test.yaml:7: [worker-1] gc.dot(n, depth 1): 3 objects\n"),
                      "%s", out);
            snprintf(path, sizeof path, "%s/refs.1.dot", dir);
        }
        cr_assert(strstr(out, "objects written to "), "%s", out);
        cr_assert(strstr(out, "gc.dot(n): cannot write "), "%s", out);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s not written:\n%s", path, out);
        char buf[4096] = {0};
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        cr_assert_gt(got, 0);
        cr_assert(strncmp(buf, "digraph refs {", 14) == 0, "%s", buf);
        cr_assert(strstr(buf, "label=\"Node\\n"), "%s", buf);
        cr_assert(strstr(buf, "o0 -> o2;\n") && strstr(buf, "o2 -> o0;\n"),
                  "node -> next node -> node: %s", buf);
        unlink(path);
        free(out);
        gh_result_free(&r);
        gh_scenario_free(s);
    }
    snprintf(path, sizeof path, "%s/refs.0.dot", dir);
    cr_assert_eq(unlink(path), 0, "thread 0's graph");
    cr_assert_eq(rmdir(dir), 0, "something else was left in %s", dir);
}

/* Parameters reach the run: the heap is $N lists. */
Test(run, params_size_the_heap, .timeout = 30)
{
    static const char text[] = "name: h\nparams: {N: 10}\nops: once\n"
                               "setup:\n  Heap: {type: list, items: $N, value: list}\n"
                               "script:\n  - {op: gc.collect}\n"
                               "checks:\n  - len(Heap) == $N and gc.examined >= $N\n";
    const char *const over[] = {"N=5000"};
    struct gh_diag d;
    struct gh_scenario *s = gh_scenario_parse_params(text, strlen(text), "h.yaml", over, 1, &d);
    cr_assert_not_null(s, "%s", d.msg);
    struct gh_run_config cfg;
    struct gh_result r;
    config(&cfg, "gil", 1, 0, 1);
    cfg.out = fopen("/dev/null", "w");
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    fclose(cfg.out);
    cr_assert_eq(r.status, GH_STATUS_OK, "%s", r.checks[0].detail);
    cr_assert_geq(r.gc.examined, 5000);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* ---- counters: global.add ------------------------------------------------- */

static const char counter_text[] =
    "name: counter\n"
    "setup:\n"
    "  I: {type: int, value: 5}\n"
    "  K: {type: int, value: 0}\n"
    "ops: 4000\n"
    "script:\n"
    "  - {op: global.add, on: I, value: 2}\n"
    "  - {op: global.add, on: K, via: call}\n"
    "  - {op: list.iter, on: L}\n"
    "  - {op: dict.iter, on: D}\n"
    "checks:\n"
    "  - value(I) <= 5 + 2 * count(global.add)\n";

/* Every preset: each counter's adds, expected and final value add up; the
 * list and dict iterations run. Under a GIL the inline form loses nothing:
 * that is what a GIL guarantees, whatever the interleaving, so the test
 * can rely on it (the call form may lose, or not). */
PRESET_PARAMS(counters_add_up)
ParameterizedTest(struct preset_param *p, run, counters_add_up, .timeout = 60)
{
    char text[1024];
    snprintf(text, sizeof text, "%s", counter_text);
    /* L and D for the iterations, set up after the counters. */
    char *at = strstr(text, "ops:");
    char tail[512];
    snprintf(tail, sizeof tail, "%s", at);
    snprintf(at, sizeof text - (size_t)(at - text), "  L: {type: list, items: 50}\n"
             "  D: {type: dict, items: 50}\n%s", tail);
    struct gh_scenario *s = parse(text);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 4000, 1);
    cfg.check = 1;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.ncounters, 2);
    const struct gh_counter_result *ci = &r.counters[0], *ck = &r.counters[1];
    cr_assert_str_eq(ci->name, "I");
    cr_assert_not(ci->via_call);
    cr_assert(ck->via_call);
    cr_assert_eq(ci->adds, 2 * 1000, "each thread's script adds to I once a pass");
    cr_assert_eq(ck->adds, 2 * 1000);
    cr_assert_eq(ci->initial, 5);
    cr_assert_eq(ci->expected, 5 + 2 * 2000);
    cr_assert_eq(ck->expected, 2000);
    cr_assert(ci->final_known && ck->final_known);
    cr_assert_eq(ci->final + ci->lost, ci->expected);
    cr_assert_eq(ck->final + ck->lost, ck->expected);
    cr_assert_geq(ci->lost, 0);
    cr_assert_geq(ck->lost, 0);
    if (gh_sync_has_gil(cfg.strategy.sync))
        cr_assert_eq(ci->lost, 0, "the GIL makes the inline read-modify-write atomic");
    cr_assert_eq(r.op[GH_OP_LIST_ITER].done, 2000);
    cr_assert_eq(r.op[GH_OP_DICT_ITER].done, 2000, "nothing changes the dict's size");
    cr_assert_eq(r.hazards_total, 0);
    cr_assert_eq(r.status, GH_STATUS_OK);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* The counter's read under lock-free reads (ft): 3.13t's LOAD_GLOBAL takes
 * the namespace's lock only when its conditional increment fails; one
 * thread reads the ints it made itself, so only the stores lock. Under the
 * other objlock presets the read locks too: two acquisitions per add. */
Test(run, counter_read_is_lock_free_under_ft, .timeout = 60)
{
    static const char text[] = "name: c\n"
                               "setup:\n"
                               "  I: {type: int, value: 0}\n"
                               "ops: 1000\n"
                               "script:\n"
                               "  - {op: global.add, on: I}\n";
    const char *presets[] = {"ft", "atomic"};
    for (int k = 0; k < 2; k++) {
        struct gh_scenario *s = parse(text);
        struct gh_run_config cfg;
        struct gh_result r;
        struct gh_diag d;
        config(&cfg, presets[k], 1, 1000, 1);
        cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
        uint64_t acq = r.locks[GH_LOCK_globals].acquisitions;
        cr_assert_eq(r.counters[0].adds, 1000);
        cr_assert_eq(acq, k == 0 ? 1000 : 2000, "%s: %llu acquisitions of the namespace's lock",
                     presets[k], (unsigned long long)acq);
        cr_assert_eq(r.rc.lockfree_dict_fallbacks, 0);
        gh_result_free(&r);
        gh_scenario_free(s);
    }
}

/* deferred=immortal (docs/strategies.md): the presets that build it. */
static struct preset_param *immortal_presets(size_t *n)
{
    static struct preset_param p[8];
    *n = safe_presets("deferred=immortal", p);
    return p;
}

ParameterizedTestParameters(run, deferred_immortal)
{
    size_t n;
    struct preset_param *p = immortal_presets(&n);
    return cr_make_param_array(struct preset_param, p, n);
}

/* C, f and the plain class are immortal from the start of the workers (one
 * or more), a function made by a worker is immortal from birth. */
static const char immortal_scenario[] =
    "name: immortal\n"
    "ops: once\n"
    "setup:\n"
    "  f: {type: function, def: append-one-none}\n"
    "  C: class\n"
    "  L: list\n"
    "script:\n"
    "  - {op: new, type: C, as: obj}\n"
    "  - {op: list.append, on: L, value: obj}\n"
    "  - {op: list.append, on: L, value: object}\n"
    "  - {op: new, type: function, def: append-one, as: fn}\n"
    "  - {op: show, expr: \"getrefcount(C)\"}\n"
    "  - {op: assert, expr: \"getrefcount(C) == 4294967295\"}\n"
    "  - {op: assert, expr: \"getrefcount(f) == 4294967295\"}\n"
    "  - {op: assert, expr: \"getrefcount(fn) == 4294967295\"}\n"
    "checks:\n"
    "  - count(assert) + failed(assert) > 0\n";

/* The runner makes classes and functions immortal when it starts its
 * workers, one thread or two (3.13t: when a thread besides the main one
 * starts), the checked mode finds no hazard, and the teardown still frees
 * every one of them. With deferred=off all three asserts fail. */
ParameterizedTest(struct preset_param *p, run, deferred_immortal, .timeout = 30)
{
    struct gh_scenario *s = parse(immortal_scenario);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    char err[256];
    for (int k = 0; k < 3; k++) {
        int threads = k == 1 ? 1 : 2;
        config(&cfg, p->name, threads, 0, 1);
        cfg.check = 1;
        cfg.out = fopen("/dev/null", "w");
        cr_assert_eq(gh_strategy_set(&cfg.strategy,
                                     k == 2 ? "deferred=off" : "deferred=immortal", err,
                                     sizeof err), 0, "%s", err);
        cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
        fclose(cfg.out);
        cr_assert_eq(r.hazards_total, 0, "%s run %d", p->name, k);
        cr_assert_eq(r.alloc_live_after_teardown, 0, "%s run %d: the immortal ones too",
                     p->name, k);
        if (k < 2)
            cr_assert_eq(r.op[GH_OP_ASSERT].failed, 0, "%s run %d: immortal", p->name, k);
        else
            cr_assert_eq(r.op[GH_OP_ASSERT].failed, 3 * (uint64_t)threads,
                         "%s run %d: counted", p->name, k);
        gh_result_free(&r);
    }
    gh_scenario_free(s);
}

/* Instantiating a class shared by two threads: under deferred=off each
 * instance's reference to C (and the frame's while C is called) is a
 * non-owner's count update on C (the main thread made it); once C is
 * immortal there is none. rc=biased counts them. */
Test(run, deferred_immortal_instantiation_writes_no_count, .timeout = 30)
{
    struct gh_scenario *s = parse("name: inst\n"
                                  "ops: 2000\n"
                                  "setup:\n"
                                  "  C: class\n"
                                  "mix:\n"
                                  "  - {op: new, type: C, as: obj, weight: 1}\n");
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    char err[256];
    for (int k = 0; k < 2; k++) {
        config(&cfg, "ft", 2, 2000, 1);
        if (k == 1)
            cr_assert_eq(gh_strategy_set(&cfg.strategy, "deferred=off", err, sizeof err), 0);
        cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
        cr_assert_eq(r.status, GH_STATUS_OK);
        cr_assert_eq(r.alloc_live_after_teardown, 0);
        if (k == 0)
            cr_assert_eq(r.rc.shared_decrefs, 0, "immortal C: no count traffic");
        else
            cr_assert_geq(r.rc.shared_decrefs, 2 * 2000, "C's count, by both threads");
        gh_result_free(&r);
    }
    gh_scenario_free(s);
}

/* loads=counted (3.13): each op on a named container increments and
 * decrements the container's count; under 3.13t (sync=objlock) a dict
 * store also takes and drops a second reference to its key and value.
 * rc=biased counts the decrements the worker makes on objects the main
 * thread owns: per pass, L twice (append, pop), D once, and G (the stored
 * value) once more than the overwrite's. loads=borrowed (3.14): none of
 * these. Items are small ints and the key 0: immortal, never counted. */
Test(run, loads_counted_write_the_containers_counts, .timeout = 30)
{
    struct gh_scenario *s = parse("name: loads\n"
                                  "ops: 999\n"
                                  "setup:\n"
                                  "  L: list\n"
                                  "  D: dict\n"
                                  "  G: object\n"
                                  "script:\n"
                                  "  - {op: list.append, on: L, value: 5}\n"
                                  "  - {op: list.pop, on: L}\n"
                                  "  - {op: dict.set, on: D, key: 0, value: G}\n");
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    char err[256];
    uint64_t decrefs[2];
    for (int k = 0; k < 2; k++) {
        config(&cfg, "ft", 1, 0, 1);
        cfg.check = 1;
        cr_assert_eq(gh_strategy_set(&cfg.strategy, k ? "loads=borrowed" : "loads=counted",
                                     err, sizeof err), 0, "%s", err);
        cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
        cr_assert_eq(r.status, GH_STATUS_OK);
        cr_assert_eq(r.hazards_total, 0);
        decrefs[k] = r.rc.shared_decrefs;
        gh_result_free(&r);
    }
    cr_assert_eq(decrefs[0] - decrefs[1], 333 * (2 + 1 + 1), "counted %llu, borrowed %llu",
                 (unsigned long long)decrefs[0], (unsigned long long)decrefs[1]);
    gh_scenario_free(s);
}

/* tuple.get and str-keyed dict ops under every preset: x = t[i] takes a
 * reference to the item (getrefcount counts the tuple's, x's and the
 * call's), a str constant key finds what the same constant stored, and
 * the checked mode finds no hazard. Two threads: the instance in T is
 * shared. */
PRESET_PARAMS(tuple_get_and_str_keys)
ParameterizedTest(struct preset_param *p, run, tuple_get_and_str_keys, .timeout = 30)
{
    struct gh_scenario *s = parse("name: t\n"
                                  "ops: once\n"
                                  "setup:\n"
                                  "  T: {type: tuple, items: [1, object]}\n"
                                  "script:\n"
                                  "  - {op: new, type: dict, as: d}\n"
                                  "  - {op: tuple.get, on: T, index: 1, as: x}\n"
                                  "  - {op: assert, expr: \"getrefcount(x) >= 3\"}\n"
                                  "  - {op: tuple.get, on: T, index: 2}\n"
                                  "  - {op: tuple.get, on: T, as: y}\n"
                                  "  - {op: dict.set, on: d, key: {str: name}, value: x}\n"
                                  "  - {op: dict.get, on: d, key: {str: name}}\n"
                                  "  - {op: dict.get, on: d, key: {str: other}}\n"
                                  "  - {op: dict.del, on: d, key: {str: name}}\n"
                                  "  - {op: dict.get, on: d, key: {str: name}}\n"
                                  "  - {op: drop, on: x}\n"
                                  /* 2 (the global's and the call's), or 3 while
                                   * the other thread is inside a load of T */
                                  "  - {op: assert, expr: \"getrefcount(T) >= 2 and "
                                  "getrefcount(T) <= 3\"}\n");
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 0, 1);
    cfg.check = 1;
    cfg.out = fopen("/dev/null", "w");
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    fclose(cfg.out);
    cr_assert_eq(r.hazards_total, 0, "%s", p->name);
    cr_assert_eq(r.op[GH_OP_ASSERT].failed, 0, "%s", p->name);
    cr_assert_eq(r.op[GH_OP_TUPLE_GET].done, 2 * 2);
    cr_assert_eq(r.op[GH_OP_TUPLE_GET].failed, 2, "index 2 is out of range");
    cr_assert_eq(r.op[GH_OP_DICT_GET].done, 2);
    cr_assert_eq(r.op[GH_OP_DICT_GET].failed, 2 * 2);
    cr_assert_eq(r.op[GH_OP_DICT_DEL].done, 2);
    cr_assert_eq(r.alloc_live_after_teardown, 0);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* A __slots__ class under every preset: its instances are 48 bytes with
 * two slots (CPython's getsizeof in both builds), only the slots' names
 * can be set and read, they are not weak-referenceable, a cycle through a
 * slot is collected (its __del__ runs once) and the checked mode finds no
 * hazard. */
PRESET_PARAMS(slots_instances)
ParameterizedTest(struct preset_param *p, run, slots_instances, .timeout = 30)
{
    struct gh_scenario *s = parse("name: slots\n"
                                  "ops: once\n"
                                  "setup:\n"
                                  "  S: {type: class, slots: [a, b], del: count}\n"
                                  "script:\n"
                                  "  - {op: new, type: S, as: o}\n"
                                  "  - {op: assert, expr: \"getsizeof(o) == 48\"}\n"
                                  "  - {op: new, type: object, as: p}\n"
                                  "  - {op: attr.set, on: o, name: a, value: p}\n"
                                  "  - {op: attr.set, on: o, name: c, value: 1}\n"
                                  "  - {op: attr.get, on: o, name: a, as: q}\n"
                                  "  - {op: attr.get, on: o, name: b}\n"
                                  "  - {op: assert, expr: \"q is p\"}\n"
                                  "  - {op: assert, expr: \"getrefcount(p) == 4\"}\n"
                                  "  - {op: weakref.new, on: o, as: r}\n"
                                  "  - {op: attr.set, on: o, name: b, value: o}\n"
                                  "  - {op: drop, on: o}\n"
                                  "  - {op: assert, expr: \"finalized(S) == 0\"}\n"
                                  "  - {op: gc.collect}\n"
                                  "  - {op: assert, expr: \"finalized(S) == 1\"}\n"
                                  "  - {op: assert, expr: \"getrefcount(p) == 3\"}\n");
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 1, 0, 1);
    cfg.check = 1;
    cfg.out = fopen("/dev/null", "w");
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    fclose(cfg.out);
    cr_assert_eq(r.hazards_total, 0, "%s", p->name);
    cr_assert_eq(r.op[GH_OP_ASSERT].failed, 0, "%s", p->name);
    cr_assert_eq(r.op[GH_OP_ATTR_SET].done, 2);
    cr_assert_eq(r.op[GH_OP_ATTR_SET].failed, 1, "c is not a slot");
    cr_assert_eq(r.op[GH_OP_ATTR_GET].done, 1);
    cr_assert_eq(r.op[GH_OP_ATTR_GET].failed, 1, "b is unset");
    cr_assert_eq(r.op[GH_OP_WEAKREF_NEW].failed, 1, "no __weakref__ slot");
    cr_assert_eq(r.alloc_live_after_teardown, 0);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* deferred=on (docs/strategies.md): the presets that build it. */
static struct preset_param *deferred_presets(size_t *n)
{
    static struct preset_param p[8];
    *n = safe_presets("deferred=on", p);
    return p;
}

ParameterizedTestParameters(run, deferred_frame_references)
{
    size_t n;
    struct preset_param *p = deferred_presets(&n);
    return cr_make_param_array(struct preset_param, p, n);
}

static const char deferred_scenario[] =
    "name: deferred\n"
    "threads: 1\n"
    "ops: once\n"
    "setup:\n"
    "  f: {type: function, def: append-one-none}\n"
    "  C: class\n"
    "script:\n"
    "  - {op: bind, as: g, value: f}\n"                    /* g = f: a frame reference */
    "  - {op: assert, expr: \"getrefcount(f) == 2\"}\n"   /* the global's and the call's */
    "  - {op: call, on: g}\n"
    "  - {op: new, type: C, as: obj}\n"
    "  - {op: assert, expr: \"getrefcount(C) == 3\"}\n"   /* the global, obj's class, the call */
    "  - {op: new, type: function, def: append-one, as: fn}\n"
    "  - {op: weakref.new, on: fn, as: r}\n"
    "  - {op: drop, on: fn}\n"
    "  - {op: assert, expr: \"alive(r)\"}\n"              /* no decrement frees a deferred one */
    "  - {op: gc.collect}\n"
    "  - {op: assert, expr: \"not alive(r)\"}\n"          /* the collection does */
    "checks:\n"
    "  - count(assert) == 4 and failed(assert) == 0\n";

/* A frame's reference to a deferred object is not counted, a deferred
 * object dropped by its last counted reference waits for a collection, the
 * checked mode finds no hazard and the teardown leaves nothing. The same
 * scenario without deferred=on fails its first and third asserts. */
ParameterizedTest(struct preset_param *p, run, deferred_frame_references, .timeout = 30)
{
    struct gh_scenario *s = parse(deferred_scenario);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    char err[256];
    config(&cfg, p->name, 1, 0, 1);
    cfg.check = 1;
    cr_assert_eq(gh_strategy_set(&cfg.strategy, "deferred=on", err, sizeof err), 0, "%s", err);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.status, GH_STATUS_OK, "%s+deferred: status %s", p->name,
                 gh_status_names[r.status]);
    cr_assert_eq(r.hazards_total, 0);
    cr_assert_eq(r.alloc_live_after_teardown, 0, "the teardown's collection frees them all");
    gh_result_free(&r);

    config(&cfg, p->name, 1, 0, 1);
    cfg.check = 1;
    /* Not the preset's default: ft's (deferred=immortal) makes f immortal. */
    cr_assert_eq(gh_strategy_set(&cfg.strategy, "deferred=off", err, sizeof err), 0, "%s", err);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.status, GH_STATUS_FAILED, "without deferred=on the frame counts");
    cr_assert_eq(r.op[GH_OP_ASSERT].failed, 2, "getrefcount(f) is 3, and fn dies at once");
    cr_assert_eq(r.alloc_live_after_teardown, 0);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* --report-every: the main thread samples each worker's ops every period;
 * each interval is reported as it ends, in order, and the series adds up
 * to no more than the threads did (the part after the last interval is in
 * no interval). Run under every preset: the workers publish their count
 * in the measured loop whatever the strategy. */
struct seen { int calls, last; uint64_t t_prev; bool ordered; };

static void on_interval(const struct gh_result *r, int k, void *arg)
{
    struct seen *s = arg;
    s->ordered &= k == s->last + 1 && r->intervals[k].t_ns > s->t_prev && k < r->nintervals;
    s->last = k;
    s->t_prev = r->intervals[k].t_ns;
    s->calls++;
}

PRESET_PARAMS(intervals_add_up)

ParameterizedTest(struct preset_param *p, run, intervals_add_up, .timeout = 60)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 0, 1);
    cfg.duration_ns = 200000000u;
    cfg.report_every_ns = 20000000u;
    struct seen seen = {0, -1, 0, true};
    cfg.on_interval = on_interval;
    cfg.on_interval_arg = &seen;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert(r.intervals_reported);
    cr_assert_eq(r.interval_ns, 20000000u);
    /* 10 at most; fewer when the main thread wakes late (it takes one
     * interval per wake-up), as on a loaded machine. */
    cr_assert(r.nintervals >= 2 && r.nintervals <= 10, "%s: %d intervals of 20 ms in 200 ms",
              p->name, r.nintervals);
    cr_assert_eq(seen.calls, r.nintervals, "each interval reported once");
    cr_assert(seen.ordered, "in order, as they end");
    for (int i = 0; i < r.threads; i++) {
        uint64_t sum = 0;
        for (int k = 0; k < r.nintervals; k++)
            sum += r.interval_ops[(size_t)k * 2 + (size_t)i];
        cr_assert_leq(sum, r.thread[i].ops, "%s: thread %d's intervals hold %llu ops of %llu",
                      p->name, i, (unsigned long long)sum, (unsigned long long)r.thread[i].ops);
        cr_assert_gt(sum, 0, "%s: thread %d: none of its %llu ops in an interval", p->name, i,
                     (unsigned long long)r.thread[i].ops);
    }
    for (int k = 0; k < r.nintervals; k++)
        cr_assert_gt(r.intervals[k].live_bytes, 0, "the heap holds the setup's objects");
    gh_result_free(&r);
    /* Off by default: no series. */
    config(&cfg, p->name, 2, 1000, 1);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.nintervals, 0);
    cr_assert_not(r.intervals_reported);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* --lock-profile: every contended acquisition a class counts is in its
 * wait histogram, whatever path counted it (the lock kinds' slow paths,
 * the GIL's, rc=locked's spin on a count lock), and holds are sampled. */
PRESET_PARAMS(lock_profile_counts_every_wait)
ParameterizedTest(struct preset_param *p, run, lock_profile_counts_every_wait, .timeout = 60)
{
    struct gh_scenario *s = parse(mixed);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 0, 1);
    cfg.duration_ns = 200000000u;
    cfg.lock_profile = 4;
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_not_null(r.lockprof);
    uint64_t holds = 0;
    for (int c = 0; c < GH_LOCK_NCLASSES; c++) {
        cr_assert_eq(r.lockprof->wait[c].count, r.locks[c].contended,
                     "%s: class %s counted %llu contended acquisitions, its histogram %llu",
                     p->name, gh_lock_class_names[c], (unsigned long long)r.locks[c].contended,
                     (unsigned long long)r.lockprof->wait[c].count);
        holds += r.lockprof->hold[c].count;
    }
    cr_assert_gt(holds, 0, "%s: no hold sampled", p->name);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* ---- locks (threading.Lock) ---------------------------------------------- */

static const char lock_counter_text[] =
    "name: lock-counter\n"
    "setup:\n"
    "  called: {type: int, value: 0}\n"
    "  locked: {type: int, value: 0}\n"
    "  L: {type: lock}\n"
    "duration: 300ms\n"
    "mix:\n"
    "  - {op: global.add, on: called, via: call}\n"
    "  - {op: global.add, on: locked, via: call, with: L}\n"
    "  - {op: compute, iters: 1}\n"   /* one switch point: gil-ticks' switches land
                                        * inside the calls too, not only between ops */
    "checks:\n"
    "  - value(locked) == adds(locked)\n";

/* The same statement without the lock, alone: the race the lock must
 * close. */
static const char race_counter_text[] =
    "name: race-counter\n"
    "setup:\n"
    "  called: {type: int, value: 0}\n"
    "duration: 300ms\n"
    "mix:\n"
    "  - {op: global.add, on: called, via: call}\n"
    "  - {op: compute, iters: 1}\n";

/* Every safe preset at 2 threads: `C = C + f()` under `with L:` loses
 * nothing. That the race is there to be lost is shown by the statement
 * without the lock run alone, which must lose in one of six runs (under a
 * GIL at the call's switch point, without one at any time), or the test
 * proves nothing. (Beside the locked one in the same run, under a GIL,
 * the unlocked counter often loses nothing: the switches land at the
 * waits for L.) Every locked add acquired L once (the `user` class). */
PRESET_PARAMS(user_lock_counter_loses_nothing)
ParameterizedTest(struct preset_param *p, run, user_lock_counter_loses_nothing, .timeout = 120)
{
    struct gh_scenario *s = parse(lock_counter_text);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 0, 1);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.ncounters, 2);
    const struct gh_counter_result *cc = &r.counters[0], *cl = &r.counters[1];
    cr_assert_str_eq(cl->name, "locked");
    cr_assert_gt(cl->adds, 0);
    cr_assert(cl->final_known && cc->final_known);
    cr_assert_eq(cl->lost, 0, "%s: the locked counter lost %" PRId64 " of %" PRIu64, p->name,
                 cl->lost, cl->adds);
    cr_assert_eq(r.locks[GH_LOCK_user].acquisitions, cl->adds,
                 "one acquisition of L per locked add");
    cr_assert_eq(r.op[GH_OP_GLOBAL_ADD].failed, 0);
    cr_assert(r.checks[0].pass, "%s", r.checks[0].detail);
    cr_assert_eq(r.status, GH_STATUS_OK);
    gh_result_free(&r);
    gh_scenario_free(s);

    s = parse(race_counter_text);
    int64_t lost = 0;
    for (int attempt = 0; attempt < 6 && !lost; attempt++) {
        config(&cfg, p->name, 2, 0, 1 + (uint64_t)attempt);
        cfg.duration_ns = 300000000u * (1u + (uint64_t)attempt);
        cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
        cr_assert_eq(r.ncounters, 1);
        lost = r.counters[0].lost;
        gh_result_free(&r);
    }
    cr_assert_gt(lost, 0, "%s: the unlocked statement lost nothing in six runs: the test "
                 "could not tell a working lock from none", p->name);
    gh_scenario_free(s);
}

/* The holder keeps L across an `io` (the GIL dropped, or detached) and a
 * gc.collect (a stop of the world without a GIL) while the other thread
 * waits for L: neither the GIL's handoff nor the stop waits for the
 * parked waiter, so the run ends, and the waiter did wait. */
static const char lock_block_text[] =
    "name: lock-block\n"
    "setup:\n"
    "  C: {type: int, value: 0}\n"
    "  L: {type: lock}\n"
    "duration: 300ms\n"
    "roles:\n"
    "  - name: holder\n"
    "    threads: 1\n"
    "    script:\n"
    "      - {op: lock.acquire, on: L}\n"
    "      - {op: io, us: 2000}\n"
    "      - {op: gc.collect}\n"
    "      - {op: lock.release, on: L}\n"
    "  - name: waiter\n"
    "    threads: 1\n"
    "    mix:\n"
    "      - {op: global.add, on: C, via: call, with: L, weight: 9}\n"
    "      - {op: gc.collect, generation: 0}\n";

PRESET_PARAMS(user_lock_waiter_blocks_nothing)
ParameterizedTest(struct preset_param *p, run, user_lock_waiter_blocks_nothing, .timeout = 60)
{
    struct gh_scenario *s = parse(lock_block_text);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 0, 1);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_gt(r.op[GH_OP_LOCK_ACQUIRE].done, 0);
    cr_assert_eq(r.op[GH_OP_LOCK_ACQUIRE].failed, 0);
    cr_assert_eq(r.op[GH_OP_LOCK_RELEASE].failed, 0);
    cr_assert_gt(r.op[GH_OP_GC_COLLECT].done, 0);
    cr_assert_gt(r.locks[GH_LOCK_user].contended, 0, "the waiter never waited for L");
    cr_assert_eq(r.counters[0].lost, 0);
    cr_assert_eq(r.status, GH_STATUS_OK);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* Run-time misuse: a release of a free lock fails (RuntimeError); a second
 * acquire by the holder fails (CPython would hang); a thread that ends
 * holding L releases it, so the other, waiting for L, ends too. */
static const char lock_misuse_text[] =
    "name: lock-misuse\n"
    "setup:\n"
    "  L: {type: lock}\n"
    "ops: 300\n"
    "script:\n"
    "  - {op: lock.acquire, on: L}\n"
    "  - {op: lock.release, on: L}\n"
    "  - {op: lock.release, on: L}\n"
    "  - {op: lock.acquire, on: L}\n"
    "  - {op: lock.acquire, on: L}\n"
    "  - {op: io, us: 10}\n";

PRESET_PARAMS(user_lock_misuse_fails_the_op)
ParameterizedTest(struct preset_param *p, run, user_lock_misuse_fails_the_op, .timeout = 60)
{
    struct gh_scenario *s = parse(lock_misuse_text);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 1, 300, 1);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    /* 50 passes: acquire, release, a release of the free lock (fails), an
     * acquire (done), a second one by the holder (fails: a deadlock in
     * CPython), io; the next pass's first acquire fails too (still held). */
    cr_assert_eq(r.op[GH_OP_LOCK_RELEASE].failed, 50);
    cr_assert_eq(r.op[GH_OP_LOCK_ACQUIRE].done, 1 + 50);
    cr_assert_eq(r.op[GH_OP_LOCK_ACQUIRE].failed, 50 + 49);
    gh_result_free(&r);
    /* Two threads: each ends holding L; the other waits for it until the
     * first ends and releases it. The run ends. */
    config(&cfg, p->name, 2, 300, 1);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.total_ops, 600);
    gh_result_free(&r);
    gh_scenario_free(s);
}

/* ---- count(OP, X), failed(OP, X) --------------------------------------- */

/* One thread, a script of 7 ops run 100 times: every per-target count is
 * known. Each op is tallied once, whichever path ran it: the fast loop,
 * a timed op (latency_sample 16), the checked mode's hooks. The assert
 * reads this thread's counts as they go (the whole pass so far, its own
 * ops before it); the last check is false (B's sets are not A's). */
static const char per_target_script[] =
    "name: per-target-script\n"
    "threads: 1\n"
    "ops: 700\n"
    "setup:\n"
    "  A: dict\n"
    "  B: dict\n"
    "  K: {type: lock}\n"
    "script:\n"
    "  - {op: dict.set, on: A, key: 1, value: int}\n"
    "  - {op: dict.set, on: B, key: 1, value: int, with: K}\n"
    "  - {op: dict.del, on: A, key: 1}\n"
    "  - {op: dict.del, on: A, key: 1}\n"             /* fails: gone */
    "  - {op: dict.del, on: B, key: 2, with: K}\n"    /* fails: never set */
    "  - {op: dict.iter, on: B}\n"
    "  - {op: assert, expr: \"count(dict.set, A) + count(dict.set, B) == count(dict.set) "
    "and failed(dict.del, A) + failed(dict.del, B) == failed(dict.del) "
    "and count(dict.iter, B) > 0\"}\n"
    "checks:\n"
    "  - count(dict.set, A) == 100 and count(dict.set, B) == 100\n"
    "  - count(dict.del, A) == 100 and failed(dict.del, A) == 100\n"
    "  - count(dict.del, B) == 0 and failed(dict.del, B) == 100\n"
    "  - count(dict.iter, B) == 100 and failed(dict.iter, B) == 0\n"
    "  - count(dict.set, A) + count(dict.set, B) == count(dict.set)\n"
    "  - failed(dict.del, A) + failed(dict.del, B) == failed(dict.del)\n"
    "  - count(assert) == 100 and failed(assert) == 0\n"
    "  - count(dict.set, A) == count(dict.set)\n";

PRESET_PARAMS(count_on_is_exact)
ParameterizedTest(struct preset_param *p, run, count_on_is_exact, .timeout = 60)
{
    struct gh_scenario *s = parse(per_target_script);
    static const int check[] = {-1, 1};
    for (int k = 0; k < 2; k++) {
        struct gh_run_config cfg;
        struct gh_result r;
        struct gh_diag d;
        config(&cfg, p->name, 1, 0, 1); /* the file's ops: 700 */
        cfg.check = check[k];
        FILE *null = fopen("/dev/null", "w");
        cfg.out = null;
        cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
        fclose(null);
        cr_assert_eq(r.checked, check[k] == 1);
        cr_assert_eq(r.total_ops, 700);
        cr_assert_eq(r.nchecks, 8);
        for (int i = 0; i < 7; i++)
            cr_expect(r.checks[i].pass, "%s, check %d: `%s`: %s", p->name, check[k],
                      r.checks[i].text, r.checks[i].detail);
        cr_assert_not(r.checks[7].pass);
        cr_assert_not(r.checks[7].error);
        cr_assert_str_eq(r.checks[7].detail, "left = 100, right = 200");
        cr_assert_eq(r.checks_failed, 1);
        cr_assert_eq(r.status, GH_STATUS_FAILED);
        gh_result_free(&r);
    }
    gh_scenario_free(s);
}

/* Two threads on two dicts: A used without a lock, B only under K. The
 * per-target counts split count() and failed() exactly, and B's
 * iteration, which K keeps every writer out of from its first step to its
 * last, never fails. */
static const char per_target_mix[] =
    "name: per-target-mix\n"
    "ops: 20000\n"
    "setup:\n"
    "  A: {type: dict, items: 50}\n"
    "  B: {type: dict, items: 50}\n"
    "  K: {type: lock}\n"
    "mix:\n"
    "  - {op: dict.set, on: A, keys: 100, value: int, weight: 3}\n"
    "  - {op: dict.set, on: B, keys: 100, value: int, with: K, weight: 3}\n"
    "  - {op: dict.del, on: A, keys: 100, weight: 3}\n"
    "  - {op: dict.del, on: B, keys: 100, with: K, weight: 3}\n"
    "  - {op: dict.iter, on: A}\n"
    "  - {op: dict.iter, on: B, with: K}\n"
    "checks:\n"
    "  - count(dict.set, A) + count(dict.set, B) == count(dict.set)\n"
    "  - count(dict.del, A) + count(dict.del, B) == count(dict.del)\n"
    "  - failed(dict.del, A) + failed(dict.del, B) == failed(dict.del)\n"
    "  - count(dict.iter, A) + count(dict.iter, B) == count(dict.iter)\n"
    "  - failed(dict.iter, A) + failed(dict.iter, B) == failed(dict.iter)\n"
    "  - count(dict.set, A) > 0 and count(dict.set, B) > 0\n"
    "  - count(dict.iter, B) > 0 and failed(dict.iter, B) == 0\n";

PRESET_PARAMS(count_on_splits_count_by_target)
ParameterizedTest(struct preset_param *p, run, count_on_splits_count_by_target, .timeout = 60)
{
    struct gh_scenario *s = parse(per_target_mix);
    struct gh_run_config cfg;
    struct gh_result r;
    struct gh_diag d;
    config(&cfg, p->name, 2, 20000, 1);
    cr_assert_eq(gh_run(s, &cfg, &r, &d), 0, "%s", d.msg);
    cr_assert_eq(r.nchecks, 7);
    for (int i = 0; i < r.nchecks; i++)
        cr_expect(r.checks[i].pass, "%s: check `%s`: %s", p->name, r.checks[i].text,
                  r.checks[i].detail);
    cr_assert_eq(r.status, GH_STATUS_OK);
    gh_result_free(&r);
    gh_scenario_free(s);
}
