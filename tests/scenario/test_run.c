/* test_run.c - the runner, parameterized over every preset: determinism of
 * the op sequence, checks and status, exact lock counts, teardown. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

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

ParameterizedTestParameters(run, same_seed_same_ops)
{
    size_t n;
    struct preset_param *p = all_presets(&n);
    return cr_make_param_array(struct preset_param, p, n);
}

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

ParameterizedTestParameters(run, lock_counts_are_exact)
{
    size_t n;
    struct preset_param *p = all_presets(&n);
    return cr_make_param_array(struct preset_param, p, n);
}

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

ParameterizedTestParameters(run, failing_check_fails_the_run)
{
    size_t n;
    struct preset_param *p = all_presets(&n);
    return cr_make_param_array(struct preset_param, p, n);
}

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

ParameterizedTestParameters(run, compute_locks_any_object)
{
    size_t n;
    struct preset_param *p = all_presets(&n);
    return cr_make_param_array(struct preset_param, p, n);
}

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
