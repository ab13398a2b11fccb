/* test_report.c - the report layer on a synthetic run: JSON keys and values
 * (absent keys absent, unsafe runs labelled), CSV columns and RFC 4180
 * quoting, atomic file writes, and the text summary.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/lockprof.h"
#include "report/report.h"

/* ---- a synthetic run ---------------------------------------------------- */

struct fixture {
    struct gh_role role;
    struct gh_scenario scen;
    struct gh_thread_result thread[2];
    struct gh_check_result checks[2];
    struct gh_result res;
};

/* A two-thread gil run of a fake scenario: list.append and list.pop ran,
 * only list.append was timed; the gil and list locks were taken. */
static struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    f->role.name = "worker";
    f->role.nthreads = 2;
    f->scen.name = "shared-list";
    f->scen.about = "test";
    f->scen.file = "scenarios/shared-list.yaml";
    f->scen.content_hash = 0x00ab00cd00ef0012ull;
    f->scen.threads = 2;
    f->scen.duration_ns = 2000000000ull;
    f->scen.roles = &f->role;
    f->scen.nroles = 1;

    struct gh_result *r = &f->res;
    r->scenario = &f->scen;
    char err[256];
    cr_assert_eq(gh_strategy_from_preset(&r->strategy, "gil", err, sizeof err), 0, "%s", err);
    r->threads = 2;
    r->duration_ns = 100000000ull;
    r->seed = 42;
    r->latency_sample = 16;
    r->wall_ns = 100000000ull; /* 0.1 s */
    r->total_ops = 3000;
    r->thread = f->thread;
    for (int i = 0; i < 2; i++) {
        f->thread[i].index = i;
        f->thread[i].role = 0;
        f->thread[i].ops = 1000u * (unsigned)(i + 1);
        f->thread[i].elapsed_ns = 100000000ull;
    }
    r->op[GH_OP_LIST_APPEND].done = 1600;
    r->op[GH_OP_LIST_POP].done = 1300;
    r->op[GH_OP_LIST_POP].failed = 100;
    for (uint64_t v = 1; v <= 100; v++)
        gh_hist_add(&r->op[GH_OP_LIST_APPEND].latency, v * 10);
    r->locks[GH_LOCK_gil] = (struct gh_lockstat){.acquisitions = 200, .contended = 50,
                                                 .wait_ns = 7000, .wait_max_ns = 900};
    r->locks[GH_LOCK_list] = (struct gh_lockstat){.acquisitions = 3000};
    r->has_gil = true;
    r->gil = (struct gh_gil_stats){.switches = 11, .drop_requests = 3, .forced_handoffs = 2};
    r->alloc.peak_bytes = 65536;
    r->alloc.allocs = 1600;
    r->alloc.frees = 1500;
    r->peak_rss_kb = 5000;
    f->checks[0].text = "len(L) == count(list.append) - count(list.pop)";
    f->checks[0].pass = true;
    snprintf(f->checks[0].detail, sizeof f->checks[0].detail, "len(L) = 300, 1600 - 1300 = 300");
    f->checks[1].text = "failed(list.pop) == 0";
    f->checks[1].pass = false;
    snprintf(f->checks[1].detail, sizeof f->checks[1].detail, "failed(list.pop) = 100");
    r->checks = f->checks;
    r->nchecks = 2;
    r->checks_failed = 1;
    r->status = GH_STATUS_FAILED;
    return f;
}

/* The collector's side of the run: 13 collections over three generations,
 * a parameter N = 5. Under preset "atomic" (gc=stw) the stops have a time
 * to safepoint too. */
static struct gh_param fixture_params[1] = {{.name = "N", .value = 5}};

static void fixture_gc(struct fixture *f, const char *preset)
{
    char err[256];
    struct gh_result *r = &f->res;
    cr_assert_eq(gh_strategy_from_preset(&r->strategy, preset, err, sizeof err), 0, "%s", err);
    r->has_gil = gh_sync_has_gil(r->strategy.sync);
    f->scen.params = fixture_params;
    f->scen.nparams = 1;
    struct gh_gc_stats *g = &r->gc;
    g->gen[0] = (struct gh_gc_genstats){10, 100, 0};
    g->gen[1] = (struct gh_gc_genstats){2, 5, 0};
    g->gen[2] = (struct gh_gc_genstats){1, 4, 2};
    g->examined = 5000;
    g->unreachable = 111;
    g->collected = 109;
    g->finalized = 7;
    g->resurrected = 1;
    g->uncollectable = 2;
    g->untracked_tuples = 3;
    g->untracked_dicts = 4;
    g->weakrefs_cleared = 5;
    g->weakref_callbacks = 6;
    g->collect_ns = 123456;
    for (uint64_t v = 1; v <= 13; v++) {
        gh_hist_add(&g->pause, v * 1000);
        if (!gh_sync_has_gil(r->strategy.sync))
            gh_hist_add(&g->tts, v * 10);
    }
    r->gc_thresholds[0] = 700;
    r->gc_thresholds[1] = 10;
    r->gc_thresholds[2] = 10;
    r->gc_enabled = true;
    r->gc_garbage_at_exit = 2;
}

static struct fixture *fixture_gc_new(const char *preset)
{
    struct fixture *f = fixture_new();
    fixture_gc(f, preset);
    return f;
}

static json_t *to_json(const struct gh_result *r)
{
    json_t *j = NULL;
    cr_assert_eq(gh_report_json(r, &j), 0);
    cr_assert_not_null(j);
    return j;
}

/* The value at a dotted path, or NULL. */
static json_t *at(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && j;
         k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    return j;
}

static long long int_at(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    cr_assert(json_is_integer(v), "%s is not an integer", path);
    return json_integer_value(v);
}

static const char *str_at(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    cr_assert(json_is_string(v), "%s is not a string", path);
    return json_string_value(v);
}

/* ---- JSON --------------------------------------------------------------- */

TestSuite(report_json, .timeout = 10);

Test(report_json, top_level_keys_in_order)
{
    struct fixture *f = fixture_new();
    json_t *j = to_json(&f->res);
    /* No `environment`: this process never captured one (the CLI does). */
    static const char *const keys[] = {"schema", "gilheap", "machine", "scenario", "config",
                                       "throughput", "latency", "locks", "gc", "alloc",
                                       "memory", "hazards", "checks", "status"};
    cr_assert_eq(json_object_size(j), sizeof keys / sizeof keys[0]);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        cr_assert_str_eq(k, keys[i], "key %zu is %s, expected %s", i, k, keys[i]);
        i++;
    }
    /* rc only for rc=biased; hazards always, saying whether it checked. */
    cr_assert_null(json_object_get(j, "rc"));
    cr_assert(json_is_false(json_object_get(json_object_get(j, "hazards"), "checked")));
    json_decref(j);
    free(f);
}

Test(report_json, build_machine_scenario_config)
{
    struct fixture *f = fixture_new();
    json_t *j = to_json(&f->res);
    cr_assert_str_eq(str_at(j, "gilheap.version"), GH_VERSION);
    cr_assert_str_eq(str_at(j, "gilheap.commit"), GH_GIT_COMMIT);
    cr_assert_str_eq(str_at(j, "gilheap.build_type"), GH_BUILD_TYPE);
    cr_assert_not_null(at(j, "gilheap.sanitize"));
    cr_assert_str_eq(str_at(j, "machine.compiler"), GH_COMPILER);
    cr_assert_gt(int_at(j, "machine.cores"), 0);
    cr_assert_gt(strlen(str_at(j, "machine.kernel")), 0);

    cr_assert_str_eq(str_at(j, "scenario.name"), "shared-list");
    cr_assert_str_eq(str_at(j, "scenario.file"), "scenarios/shared-list.yaml");
    cr_assert_str_eq(str_at(j, "scenario.hash"), "00ab00cd00ef0012");

    cr_assert_str_eq(str_at(j, "config.preset"), "gil");
    cr_assert_str_eq(str_at(j, "config.sync"), "gil");
    cr_assert_str_eq(str_at(j, "config.rc"), "plain");
    cr_assert_str_eq(str_at(j, "config.alloc"), "arena");
    cr_assert(json_is_false(at(j, "config.unsafe")));
    cr_assert_null(at(j, "config.unsafe_reason"));
    cr_assert_eq(int_at(j, "config.threads"), 2);
    cr_assert_eq(int_at(j, "config.duration_ns"), 100000000);
    cr_assert_null(at(j, "config.ops_per_thread"), "a timed run has no op count");
    cr_assert_eq(int_at(j, "config.seed"), 42);
    cr_assert_eq(int_at(j, "config.latency_sample"), 16);
    json_decref(j);
    free(f);
}

Test(report_json, throughput_and_latency)
{
    struct fixture *f = fixture_new();
    json_t *j = to_json(&f->res);
    cr_assert_eq(int_at(j, "throughput.total_ops"), 3000);
    cr_assert_eq(int_at(j, "throughput.wall_ns"), 100000000);
    cr_assert_float_eq(json_real_value(at(j, "throughput.ops_per_sec")), 30000.0, 1e-6);

    json_t *pt = at(j, "throughput.per_thread");
    cr_assert_eq(json_array_size(pt), 2);
    json_t *t1 = json_array_get(pt, 1);
    cr_assert_eq(int_at(t1, "index"), 1);
    cr_assert_str_eq(str_at(t1, "role"), "worker");
    cr_assert_eq(int_at(t1, "ops"), 2000);
    cr_assert_float_eq(json_real_value(at(t1, "ops_per_sec")), 20000.0, 1e-6);

    json_t *po = at(j, "throughput.per_op");
    cr_assert_eq(json_object_size(po), 2, "only ops that ran");
    json_t *pop = json_object_get(po, "list.pop");
    cr_assert_eq(int_at(pop, "done"), 1300);
    cr_assert_eq(int_at(pop, "failed"), 100);
    cr_assert_float_eq(json_real_value(at(pop, "ops_per_sec")), 14000.0, 1e-6);
    cr_assert_null(json_object_get(po, "dict.get"));

    json_t *lat = at(j, "latency");
    cr_assert_eq(json_object_size(lat), 1, "only ops with samples");
    json_t *la = json_object_get(lat, "list.append");
    cr_assert_eq(int_at(la, "samples"), 100);
    cr_assert_eq(int_at(la, "max"), 1000);
    long long p50 = int_at(la, "p50"), p99 = int_at(la, "p99");
    cr_assert(p50 >= 470 && p50 <= 560, "p50 = %lld", p50);
    cr_assert(p99 >= p50 && p99 <= int_at(la, "max"));
    cr_assert(int_at(la, "p90") <= int_at(la, "p999"));
    json_decref(j);
    free(f);
}

Test(report_json, locks_gil_alloc_memory_checks_status)
{
    struct fixture *f = fixture_new();
    json_t *j = to_json(&f->res);
    json_t *locks = at(j, "locks");
    cr_assert_eq(json_object_size(locks), 2, "only classes that were acquired");
    cr_assert_eq(int_at(locks, "gil.acquisitions"), 200);
    cr_assert_eq(int_at(locks, "gil.contended"), 50);
    cr_assert_float_eq(json_real_value(at(locks, "gil.contended_pct")), 25.0, 1e-9);
    cr_assert_eq(int_at(locks, "gil.wait_ns"), 7000);
    cr_assert_eq(int_at(locks, "gil.wait_max_ns"), 900);
    cr_assert_eq(int_at(locks, "gil.switches"), 11);
    cr_assert_eq(int_at(locks, "gil.drop_requests"), 3);
    cr_assert_eq(int_at(locks, "gil.forced_handoffs"), 2);
    cr_assert_eq(int_at(locks, "list.acquisitions"), 3000);
    cr_assert_null(json_object_get(locks, "dict"));

    cr_assert_eq(int_at(j, "alloc.peak_bytes"), 65536);
    cr_assert_eq(int_at(j, "alloc.allocs"), 1600);
    cr_assert_eq(int_at(j, "alloc.live_after_teardown"), 0);
    cr_assert_eq(json_object_size(at(j, "alloc")), 13);
    cr_assert_eq(int_at(j, "memory.peak_rss_kb"), 5000);

    json_t *checks = at(j, "checks");
    cr_assert_eq(json_array_size(checks), 2);
    cr_assert(json_is_true(at(json_array_get(checks, 0), "pass")));
    cr_assert(json_is_false(at(json_array_get(checks, 1), "pass")));
    cr_assert_str_eq(str_at(json_array_get(checks, 1), "expr"), "failed(list.pop) == 0");
    cr_assert_str_eq(str_at(json_array_get(checks, 1), "detail"), "failed(list.pop) = 100");
    cr_assert_str_eq(str_at(j, "status"), "failed");
    json_decref(j);
    free(f);
}

Test(report_json, unsafe_is_labelled)
{
    struct fixture *f = fixture_new();
    f->res.unsafe_reason = "rc=plain without a GIL: counts race";
    json_t *j = to_json(&f->res);
    cr_assert(json_is_true(at(j, "config.unsafe")));
    cr_assert_str_eq(str_at(j, "config.unsafe_reason"), "rc=plain without a GIL: counts race");
    json_decref(j);
    free(f);
}

Test(report_json, absent_without_data)
{
    struct fixture *f = fixture_new();
    struct gh_result *r = &f->res;
    /* No GIL, no timing, no RSS, an op-counted run. */
    r->has_gil = false;
    r->locks[GH_LOCK_gil] = (struct gh_lockstat){0};
    memset(&r->op[GH_OP_LIST_APPEND].latency, 0, sizeof r->op[GH_OP_LIST_APPEND].latency);
    r->peak_rss_kb = 0;
    r->duration_ns = 0;
    r->ops_per_thread = 500;
    json_t *j = to_json(r);
    cr_assert_null(at(j, "locks.gil"), "no GIL: no gil key");
    cr_assert_not_null(at(j, "locks.list"));
    cr_assert_null(json_object_get(j, "latency"), "nothing sampled: no latency key");
    cr_assert_null(json_object_get(j, "memory"));
    cr_assert_null(at(j, "config.duration_ns"));
    cr_assert_eq(int_at(j, "config.ops_per_thread"), 500);

    /* And with no lock taken at all, no locks key. */
    r->locks[GH_LOCK_list] = (struct gh_lockstat){0};
    json_decref(j);
    j = to_json(r);
    cr_assert_null(json_object_get(j, "locks"));
    json_decref(j);
    free(f);
}

Test(report_json, gil_counters_without_acquisitions)
{
    struct fixture *f = fixture_new();
    f->res.locks[GH_LOCK_gil] = (struct gh_lockstat){0};
    json_t *j = to_json(&f->res);
    cr_assert_null(at(j, "locks.gil.acquisitions"));
    cr_assert_eq(int_at(j, "locks.gil.switches"), 11);
    json_decref(j);
    free(f);
}

Test(report_json, gc_generational_under_the_gil)
{
    struct fixture *f = fixture_new();
    fixture_gc(f, "gil");
    json_t *j = to_json(&f->res);
    cr_assert_str_eq(str_at(j, "config.gc"), "generational");
    cr_assert_eq(int_at(j, "config.params.N"), 5);
    json_t *gc = at(j, "gc");
    cr_assert_str_eq(str_at(gc, "mode"), "generational");
    cr_assert(json_is_true(at(gc, "enabled")));
    json_t *t = at(gc, "thresholds");
    cr_assert_eq(json_array_size(t), 3);
    cr_assert_eq(json_integer_value(json_array_get(t, 0)), 700);
    cr_assert_eq(int_at(gc, "collections"), 13);
    json_t *gens = at(gc, "generations");
    cr_assert_eq(json_array_size(gens), 3);
    cr_assert_eq(int_at(json_array_get(gens, 0), "collections"), 10);
    cr_assert_eq(int_at(json_array_get(gens, 0), "collected"), 100);
    cr_assert_eq(int_at(json_array_get(gens, 2), "uncollectable"), 2);
    cr_assert_eq(int_at(gc, "collect_ns"), 123456);
    cr_assert_eq(int_at(gc, "pause_ns.count"), 13);
    cr_assert_eq(int_at(gc, "pause_ns.max"), 13000);
    long long med = int_at(gc, "pause_ns.median"), p99 = int_at(gc, "pause_ns.p99");
    cr_assert(med >= 7000 && med <= 7500, "median %lld", med);
    cr_assert(p99 >= med && p99 <= 13000, "p99 %lld", p99);
    cr_assert_null(at(gc, "tts_ns"), "no time to safepoint under the GIL: nothing is stopped");
    cr_assert_eq(int_at(gc, "examined"), 5000);
    cr_assert_eq(int_at(gc, "unreachable"), 111);
    cr_assert_eq(int_at(gc, "collected"), 109);
    cr_assert_eq(int_at(gc, "finalized"), 7);
    cr_assert_eq(int_at(gc, "resurrected"), 1);
    cr_assert_eq(int_at(gc, "uncollectable"), 2);
    cr_assert_eq(int_at(gc, "untracked_tuples"), 3);
    cr_assert_eq(int_at(gc, "untracked_dicts"), 4);
    cr_assert_eq(int_at(gc, "weakrefs_cleared"), 5);
    cr_assert_eq(int_at(gc, "weakref_callbacks"), 6);
    cr_assert_eq(int_at(gc, "garbage_at_exit"), 2);
    json_decref(j);
    free(f);
}

Test(report_json, gc_stw_has_tts_and_no_generations)
{
    struct fixture *f = fixture_new();
    fixture_gc(f, "atomic");
    json_t *j = to_json(&f->res);
    cr_assert_str_eq(str_at(j, "config.gc"), "stw");
    json_t *gc = at(j, "gc");
    cr_assert_str_eq(str_at(gc, "mode"), "stw");
    cr_assert_null(at(gc, "generations"), "one generation: no per-generation array");
    cr_assert_eq(json_array_size(at(gc, "thresholds")), 1);
    cr_assert_eq(int_at(gc, "collections"), 13);
    cr_assert_eq(int_at(gc, "tts_ns.count"), 13);
    cr_assert_eq(int_at(gc, "tts_ns.max"), 130);
    json_decref(j);
    free(f);
}

Test(report_json, gc_off_and_no_collection)
{
    struct fixture *f = fixture_new();
    char err[256];
    cr_assert_eq(gh_strategy_set(&f->res.strategy, "gc=off", err, sizeof err), 0, "%s", err);
    json_t *j = to_json(&f->res);
    cr_assert_str_eq(str_at(j, "config.gc"), "off");
    cr_assert_eq(json_object_size(at(j, "gc")), 1, "gc=off: only the mode");
    cr_assert_str_eq(str_at(j, "gc.mode"), "off");
    cr_assert_null(at(j, "config.params"), "no params: no key");
    json_decref(j);
    /* A collector that never ran: counts of 0, no pause. */
    cr_assert_eq(gh_strategy_set(&f->res.strategy, "gc=generational", err, sizeof err), 0);
    j = to_json(&f->res);
    cr_assert_eq(int_at(j, "gc.collections"), 0);
    cr_assert_null(at(j, "gc.pause_ns"));
    cr_assert_null(at(j, "gc.tts_ns"));
    json_decref(j);
    free(f);
}

/* ---- CSV ---------------------------------------------------------------- */

TestSuite(report_csv, .timeout = 10);

static char *field(const char *in)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cr_assert_eq(gh_report_csv_field(&buf, &len, &cap, in, 0), 0);
    cr_assert_eq(strlen(buf), len);
    return buf;
}

Test(report_csv, quoting_rfc4180)
{
    static const char *const cases[][2] = {
        {"plain", "plain"},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\r", "\"cr\r\""},
        {"\"", "\"\"\"\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = field(cases[i][0]);
        cr_assert_str_eq(got, cases[i][1], "case %zu", i);
        free(got);
    }
}

static int count_fields(const char *line)
{
    /* Counts commas outside quotes. */
    int n = 1;
    bool q = false;
    for (const char *p = line; *p; p++) {
        if (*p == '"')
            q = !q;
        else if (*p == ',' && !q)
            n++;
    }
    return n;
}

Test(report_csv, row_matches_header)
{
    struct fixture *f = fixture_new();
    f->scen.name = "odd, \"name\"";
    json_t *j = to_json(&f->res);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cr_assert_eq(gh_report_csv_row(j, &buf, &len, &cap), 0);
    const char *h = gh_report_csv_header();
    static const char head[] = "scenario,preset,sync,rc,immortal,alloc,gc,header,lock,unsafe,threads,seed,params,"
                               "lock_profile,wall_ns,total_ops,ops_per_sec,lock_gil_acquisitions,"
                               "lock_gil_contended,lock_gil_wait_ns,lock_gil_handoffs,"
                               "lock_gil_hold_p50_ns,lock_gil_hold_p90_ns,lock_gil_hold_p99_ns,"
                               "lock_gil_hold_max_ns,lock_gil_wait_p50_ns,lock_gil_wait_p90_ns,"
                               "lock_gil_wait_p99_ns,lock_gil_wait_max_ns,lock_list_acquisitions,";
    cr_assert(strncmp(h, head, strlen(head)) == 0, "header: %s", h);
    cr_assert(strstr(h, ",gil_switches,gil_drop_requests,gil_forced_handoffs,gc_collections,"
                        "gc_collect_ns,gc_pause_median_ns,gc_pause_p99_ns,gc_pause_max_ns,"
                        "gc_tts_median_ns,gc_tts_p99_ns,gc_tts_max_ns,gc_examined,gc_collected,"
                        "gc_finalized,gc_resurrected,gc_uncollectable,gc_garbage_at_exit,"
                        "peak_bytes,peak_rss_kb,checks_failed,status"), "header: %s", h);
    cr_assert_eq(count_fields(buf), count_fields(h), "row: %s", buf);
    static const char row[] = "\"odd, \"\"name\"\"\",gil,gil,plain,on,arena,generational,compact,pymutex,false,2,"
                              "42,,,100000000,3000,30000.000,200,50,7000,0,,,,,,,,,3000,0,0,0,";
    cr_assert(strncmp(buf, row, strlen(row)) == 0, "row: %s", buf);
    /* gil counters; the collector: no collection (no pause, no tts); peak
     * bytes, RSS, one failed check, status */
    cr_assert(strstr(buf, ",11,3,2,0,0,,,,,,,0,0,0,0,0,0,65536,5000,1,failed"), "row: %s", buf);
    free(buf);
    json_decref(j);
    free(f);
}

Test(report_csv, no_result_gives_empty_fields)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cr_assert_eq(gh_report_csv_row(NULL, &buf, &len, &cap), 0);
    cr_assert_eq(count_fields(buf), count_fields(gh_report_csv_header()));
    for (const char *p = buf; *p; p++)
        cr_assert_eq(*p, ',', "only separators: %s", buf);
    free(buf);
}

Test(report_csv, no_gil_leaves_gil_fields_empty)
{
    struct fixture *f = fixture_new();
    f->res.has_gil = false;
    json_t *j = to_json(&f->res);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cr_assert_eq(gh_report_csv_row(j, &buf, &len, &cap), 0);
    cr_assert(strstr(buf, ",,,,0,0,,,,,,,0,0,0,0,0,0,65536,5000,1,failed"), "row: %s", buf);
    free(buf);
    json_decref(j);
    free(f);
}

Test(report_csv, gc_columns_and_params)
{
    struct fixture *f = fixture_gc_new("atomic");
    json_t *j = to_json(&f->res);
    char *buf = NULL, want[256];
    size_t len = 0, cap = 0;
    cr_assert_eq(gh_report_csv_row(j, &buf, &len, &cap), 0);
    cr_assert_eq(count_fields(buf), count_fields(gh_report_csv_header()), "row: %s", buf);
    cr_assert(strstr(buf, ",atomic,objlock,atomic,on,thread,stw,full,pymutex,false,2,42,N=5,"), "row: %s", buf);
    const struct gh_gc_stats *g = &f->res.gc;
    snprintf(want, sizeof want, ",13,123456,%llu,%llu,13000,%llu,%llu,130,5000,109,7,1,2,2,",
             (unsigned long long)gh_hist_quantile(&g->pause, 0.5),
             (unsigned long long)gh_hist_quantile(&g->pause, 0.99),
             (unsigned long long)gh_hist_quantile(&g->tts, 0.5),
             (unsigned long long)gh_hist_quantile(&g->tts, 0.99));
    cr_assert(strstr(buf, want), "want %s in row: %s", want, buf);
    free(buf);
    json_decref(j);
    free(f);
}

/* ---- files -------------------------------------------------------------- */

TestSuite(report_file, .timeout = 10);

static char *tmpdir(void)
{
    char *d = strdup("/tmp/gh-test-report-XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

/* Names in dir, other than . and .., joined by spaces. */
static int list_dir(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    int n = 0;
    size_t off = 0;
    struct dirent *e;
    cr_assert_not_null(d);
    out[0] = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        off += (size_t)snprintf(out + off, len - off, "%s ", e->d_name);
    }
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void rm_tree(char *dir)
{
    char names[4096];
    list_dir(dir, names, sizeof names);
    for (char *save = NULL, *n = strtok_r(names, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, n);
        unlink(p);
    }
    rmdir(dir);
    free(dir);
}

Test(report_file, writes_whole_and_replaces)
{
    char *dir = tmpdir(), path[512], err[256], names[1024];
    snprintf(path, sizeof path, "%s/out.json", dir);
    cr_assert_eq(gh_report_write_file(path, "old\n", 4, err, sizeof err), 0, "%s", err);
    char *got = slurp(path);
    cr_assert_str_eq(got, "old\n");
    free(got);

    cr_assert_eq(gh_report_write_file(path, "new content\n", 12, err, sizeof err), 0, "%s", err);
    got = slurp(path);
    cr_assert_str_eq(got, "new content\n");
    free(got);
    cr_assert_eq(list_dir(dir, names, sizeof names), 1, "left behind: %s", names);
    cr_assert_str_eq(names, "out.json ");
    rm_tree(dir);
}

Test(report_file, json_file_parses)
{
    struct fixture *f = fixture_new();
    json_t *j = to_json(&f->res);
    char *dir = tmpdir(), path[512], err[256], names[1024];
    snprintf(path, sizeof path, "%s/r.json", dir);
    cr_assert_eq(gh_report_write_json(path, j, err, sizeof err), 0, "%s", err);
    json_error_t jerr;
    json_t *back = json_load_file(path, 0, &jerr);
    cr_assert_not_null(back, "%s", jerr.text);
    cr_assert(json_equal(j, back));
    char *text = slurp(path);
    cr_assert_eq(text[strlen(text) - 1], '\n');
    free(text);
    cr_assert_eq(list_dir(dir, names, sizeof names), 1, "left behind: %s", names);
    json_decref(back);
    json_decref(j);
    rm_tree(dir);
    free(f);
}

Test(report_file, missing_directory_fails_cleanly)
{
    char *dir = tmpdir(), path[512], err[256], names[1024];
    snprintf(path, sizeof path, "%s/nope/out.json", dir);
    int rc = gh_report_write_file(path, "x", 1, err, sizeof err);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(err, path), "message names the path: %s", err);
    cr_assert(strstr(err, "No such file or directory"), "message says why: %s", err);
    cr_assert_eq(list_dir(dir, names, sizeof names), 0, "left behind: %s", names);

    cr_assert_lt(gh_report_check_writable(path, err, sizeof err), 0);
    cr_assert(strstr(err, path), "%s", err);
    rm_tree(dir);
}

Test(report_file, check_writable_leaves_nothing)
{
    char *dir = tmpdir(), path[512], err[256], names[1024];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    cr_assert_eq(gh_report_check_writable(path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(list_dir(dir, names, sizeof names), 0, "left behind: %s", names);
    /* A directory is not a result file. */
    cr_assert_lt(gh_report_check_writable(dir, err, sizeof err), 0);
    cr_assert(strstr(err, "Is a directory"), "%s", err);
    cr_assert_lt(gh_report_write_file(dir, "x", 1, err, sizeof err), 0);
    rm_tree(dir);
}

/* Before: the temporary file was PATH.tmp.PID, opened with O_TRUNC
 * following links, so a link planted there by anyone who can write to the
 * directory made gilheap truncate and overwrite the link's target. */
Test(report_file, planted_links_do_not_redirect)
{
    char *dir = tmpdir(), path[512], victim[512], link[600], err[256], buf[64];
    snprintf(path, sizeof path, "%s/out.json", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    FILE *f = fopen(victim, "w");
    cr_assert_not_null(f);
    fputs("precious\n", f);
    fclose(f);
    /* Every name the old scheme could have used, for pids near ours. */
    for (long pid = getpid() - 2; pid <= getpid() + 2; pid++) {
        snprintf(link, sizeof link, "%s.tmp.%ld", path, pid);
        cr_assert_eq(symlink(victim, link), 0);
    }
    cr_assert_eq(gh_report_write_file(path, "result\n", 7, err, sizeof err), 0, "%s", err);
    char *got = slurp(victim);
    cr_assert_str_eq(got, "precious\n", "the victim was overwritten");
    free(got);
    got = slurp(path);
    cr_assert_str_eq(got, "result\n");
    free(got);
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert(S_ISREG(st.st_mode), "the result is a file of its own, not a link");
    snprintf(link, sizeof link, "%s.tmp.%ld", path, (long)getpid());
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    cr_assert_gt(n, 0, "the planted link is left alone");
    for (long pid = getpid() - 2; pid <= getpid() + 2; pid++) {
        snprintf(link, sizeof link, "%s.tmp.%ld", path, pid);
        unlink(link);
    }
    rm_tree(dir);
}

/* A link the user named is followed: the result replaces its target, in
 * the target's directory, and the link stays a link. */
Test(report_file, link_is_followed_to_its_target)
{
    char *dir = tmpdir(), path[512], sub[512], target[600], err[256], names[1024];
    snprintf(path, sizeof path, "%s/out.json", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(target, sizeof target, "%s/real.json", sub);
    cr_assert_eq(symlink("sub/real.json", path), 0); /* relative, dangling */
    cr_assert_eq(gh_report_check_writable(path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(gh_report_write_file(path, "one\n", 4, err, sizeof err), 0, "%s", err);
    cr_assert_eq(gh_report_write_file(path, "two\n", 4, err, sizeof err), 0, "%s", err);
    char *got = slurp(target);
    cr_assert_str_eq(got, "two\n");
    free(got);
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link stays a link");
    cr_assert_eq(list_dir(sub, names, sizeof names), 1, "left behind: %s", names);
    unlink(target);
    rmdir(sub);
    rm_tree(dir);
}

/* "-", /dev/stdout and /dev/fd/1 write to the descriptor: nothing is
 * replaced, and what was printed before stays. */
Test(report_file, standard_output_aliases)
{
    /* /dev/stdout last: a writer that replaced files there would replace
     * the system's link, so it is tried only once the others went to the
     * descriptor. */
    static const char *const names[] = {"-", "/dev/fd/1", "/proc/self/fd/1", "/dev/stdout"};
    char *dir = tmpdir(), cap[512], err[256];
    snprintf(cap, sizeof cap, "%s/captured", dir);
    int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    int saved = dup(STDOUT_FILENO);
    cr_assert_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    close(fd);
    cr_assert_eq(write(STDOUT_FILENO, "text\n", 5), 5);
    int rc[4] = {0};
    for (int i = 0; i < 4; i++) {
        rc[i] = gh_report_check_writable(names[i], err, sizeof err);
        if (rc[i] == 0)
            rc[i] = gh_report_write_file(names[i], "json\n", 5, err, sizeof err);
        if (rc[i] != 0)
            break;
    }
    dup2(saved, STDOUT_FILENO);
    close(saved);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(rc[i], 0, "%s: %s", names[i], err); /* stops at the first failure */
    char *got = slurp(cap);
    cr_assert_str_eq(got, "text\njson\njson\njson\njson\n");
    free(got);
    rm_tree(dir);
}

/* A FIFO is written directly (a reader gets the result), not replaced by a
 * regular file. */
Test(report_file, fifo_is_written_directly)
{
    char *dir = tmpdir(), path[512], err[256], buf[64] = {0};
    snprintf(path, sizeof path, "%s/pipe", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    int rd = open(path, O_RDONLY | O_NONBLOCK); /* so the writer's open does not block */
    cr_assert_geq(rd, 0);
    cr_assert_eq(gh_report_check_writable(path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(gh_report_write_file(path, "through\n", 8, err, sizeof err), 0, "%s", err);
    cr_assert_eq(read(rd, buf, sizeof buf - 1), 8);
    cr_assert_str_eq(buf, "through\n");
    close(rd);
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode));
    rm_tree(dir);
}

/* A read-only directory: one clear message, nothing written. (Skipped as
 * root, whom permissions do not stop.) */
Test(report_file, read_only_directory_fails_cleanly)
{
    if (geteuid() == 0)
        cr_skip_test("root ignores directory permissions");
    char *dir = tmpdir(), path[512], err[256];
    snprintf(path, sizeof path, "%s/out.json", dir);
    cr_assert_eq(chmod(dir, 0500), 0);
    cr_assert_lt(gh_report_check_writable(path, err, sizeof err), 0);
    cr_assert(strstr(err, "Permission denied"), "%s", err);
    cr_assert_lt(gh_report_write_file(path, "x", 1, err, sizeof err), 0);
    chmod(dir, 0700);
    rm_tree(dir);
}

/* ---- text --------------------------------------------------------------- */

TestSuite(report_text, .timeout = 10);

static char *text_of(const struct gh_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    gh_report_text(f, r);
    fclose(f);
    return buf;
}

Test(report_text, summary)
{
    struct fixture *f = fixture_new();
    char *t = text_of(&f->res);
    cr_assert(strstr(t, "shared-list"), "%s", t);
    cr_assert(strstr(t, "sync=gil rc=plain immortal=on alloc=arena"), "%s", t);
    cr_assert(strstr(t, "threads 2"), "%s", t);
    cr_assert(strstr(t, "seed 42"), "%s", t);
    cr_assert(strstr(t, "list.append"), "%s", t);
    cr_assert(strstr(t, "11 switches"), "%s", t);
    cr_assert(strstr(t, "PASS  len(L)"), "%s", t);
    cr_assert(strstr(t, "FAIL  failed(list.pop) == 0"), "%s", t);
    cr_assert(strstr(t, "status      failed"), "%s", t);
    cr_assert_null(strstr(t, "UNSAFE"), "%s", t);
    free(t);

    f->res.unsafe_reason = "counts race";
    t = text_of(&f->res);
    cr_assert(strstr(t, "UNSAFE: counts race"), "%s", t);
    free(t);
    free(f);
}

Test(report_text, formats)
{
    char b[32];
    gh_report_fmt_rate(b, sizeof b, 1234567.0);
    cr_assert_str_eq(b, "1.23M");
    gh_report_fmt_rate(b, sizeof b, 12.0);
    cr_assert_str_eq(b, "12");
    gh_report_fmt_ns(b, sizeof b, 850);
    cr_assert_str_eq(b, "850ns");
    gh_report_fmt_ns(b, sizeof b, 4560000);
    cr_assert_str_eq(b, "4.56ms");
    gh_report_fmt_bytes(b, sizeof b, 512);
    cr_assert_str_eq(b, "512B");
    gh_report_fmt_bytes(b, sizeof b, 1536);
    cr_assert_str_eq(b, "1.5KiB");
}

Test(report_text, gc_section)
{
    struct fixture *f = fixture_gc_new("gil");
    char *t = text_of(&f->res);
    cr_assert(strstr(t, "gc=generational header=compact)"), "%s", t);
    cr_assert(strstr(t, "seed 42  params N=5\n"), "%s", t);
    cr_assert(strstr(t, "gc          generational, thresholds 700/10/10: 13 collections "
                        "(gen0 10, gen1 2, gen2 1), 123us in all\n"), "%s", t);
    cr_assert(strstr(t, "examined 5000, unreachable 111: collected 109, finalized 7, "
                        "resurrected 1, uncollectable 2;"), "%s", t);
    cr_assert(strstr(t, "garbage at exit 2\n"), "%s", t);
    cr_assert(strstr(t, "  gc pause                  count     median        p99        max\n"),
              "%s", t);
    char row[64];
    snprintf(row, sizeof row, "  %-22s %8d ", "collection (GIL held)", 13);
    cr_assert(strstr(t, row), "%s", t);
    cr_assert(strstr(t, "13us\n"), "the max: %s", t);
    cr_assert(strstr(t, "time to safepoint: does not apply under a GIL"), "%s", t);
    free(t);
    free(f);

    f = fixture_gc_new("atomic");
    f->res.gc_enabled = false;
    t = text_of(&f->res);
    cr_assert(strstr(t, "gc          stw, threshold 700, automatic collections disabled: "
                        "13 collections, 123us in all\n"), "%s", t);
    snprintf(row, sizeof row, "  %-22s %8d ", "world stopped", 13);
    cr_assert(strstr(t, row), "%s", t);
    snprintf(row, sizeof row, "  %-22s %8d ", "time to safepoint", 13);
    cr_assert(strstr(t, row), "%s", t);
    cr_assert_null(strstr(t, "does not apply"), "%s", t);
    free(t);

    memset(&f->res.gc, 0, sizeof f->res.gc);
    t = text_of(&f->res);
    cr_assert(strstr(t, "13 collections") == NULL && strstr(t, ": no collection;"), "%s", t);
    cr_assert_null(strstr(t, "gc pause"), "no pause table without a collection: %s", t);
    free(t);

    char err[256];
    cr_assert_eq(gh_strategy_set(&f->res.strategy, "gc=off", err, sizeof err), 0);
    t = text_of(&f->res);
    cr_assert(strstr(t, "gc          off: no cyclic collection"), "%s", t);
    free(t);
    free(f);
}

/* --lock-profile: the hold and wait distributions per class taken, in the
 * text, the JSON (locks.<class>.hold_ns, .contended_wait_ns) and the CSV;
 * none of it without a profile. */
Test(report_text, lock_profile_everywhere)
{
    struct fixture *f = fixture_new();
    char *t = text_of(&f->res);
    cr_assert_null(strstr(t, "lock profile"), "%s", t);
    free(t);
    json_t *j = to_json(&f->res);
    cr_assert_null(at(j, "locks.list.hold_ns"));
    cr_assert_null(at(j, "config.lock_profile"));
    json_decref(j);

    struct gh_lockprof *lp = gh_lockprof_new(16);
    cr_assert_not_null(lp);
    for (uint64_t v = 1; v <= 100; v++)
        gh_hist_add(&lp->hold[GH_LOCK_list], v * 10); /* 10..1000 ns */
    gh_hist_add(&lp->wait[GH_LOCK_gil], 5000000);
    f->res.lockprof = lp;
    t = text_of(&f->res);
    cr_assert(strstr(t, "lock profile: 1 in 16 holds timed"), "%s", t);
    cr_assert(strstr(t, "  list            100   511ns   927ns     1us     1us        0       -"),
              "the list's holds, no wait: %s", t);
    cr_assert(strstr(t, "  gil               0       -       -       -       -        1     5ms"),
              "the GIL's wait: %s", t);
    cr_assert(strstr(t, "5ms     5ms       11\n"), "the GIL's handoffs are its switches: %s", t);
    free(t);

    j = to_json(&f->res);
    cr_assert_eq(int_at(j, "config.lock_profile"), 16);
    cr_assert_eq(int_at(j, "locks.list.hold_ns.samples"), 100);
    long long p50 = int_at(j, "locks.list.hold_ns.p50");
    cr_assert(p50 >= 500 && p50 <= 540, "p50 %lld", p50);
    cr_assert_eq(int_at(j, "locks.list.hold_ns.max"), 1000);
    cr_assert_null(at(j, "locks.list.contended_wait_ns"), "no wait recorded: absent");
    cr_assert_eq(int_at(j, "locks.gil.contended_wait_ns.samples"), 1);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    cr_assert_eq(gh_report_csv_row(j, &buf, &len, &cap), 0);
    cr_assert_eq(count_fields(buf), count_fields(gh_report_csv_header()), "row: %s", buf);
    char want[128];
    snprintf(want, sizeof want, ",3000,0,0,0,%lld,", p50);
    cr_assert(strstr(buf, want), "list: acquisitions, contended, wait, handoffs, p50: %s", buf);
    cr_assert(strstr(buf, ",42,,16,100000000,"), "the profile's period: %s", buf);
    free(buf);
    json_decref(j);
    f->res.lockprof = NULL;
    gh_lockprof_free(lp);
    free(f);
}

/* --report-every: the series in the JSON (throughput.intervals) and the
 * live line; nothing of it without the option. */
Test(report_text, intervals_line_and_json)
{
    struct fixture *f = fixture_new();
    json_t *j = to_json(&f->res);
    cr_assert_null(at(j, "throughput.intervals"));
    cr_assert_null(at(j, "config.report_every_ns"));
    json_decref(j);

    struct gh_interval iv[2] = {{100000000u, 100000000u, 2048, 40},
                                {200000000u, 100000000u, 4096, 80}};
    uint64_t ops[4] = {1000, 3000, 500, 0}; /* [interval][thread] */
    f->res.intervals = iv;
    f->res.interval_ops = ops;
    f->res.nintervals = 2;
    f->res.interval_ns = 100000000u;
    f->res.intervals_reported = true;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    cr_assert_not_null(m);
    gh_report_interval(m, &f->res, 0);
    gh_report_interval(m, &f->res, 1);
    fclose(m);
    cr_assert_str_eq(buf, "[   0.10s]     40k ops/s (10k 30k)  heap 2KiB\n"
                          "[   0.20s]      5k ops/s (5k 0)  heap 4KiB\n");
    free(buf);
    j = to_json(&f->res);
    cr_assert_eq(int_at(j, "config.report_every_ns"), 100000000);
    json_t *a = at(j, "throughput.intervals");
    cr_assert(json_is_array(a) && json_array_size(a) == 2);
    json_t *e = json_array_get(a, 1);
    cr_assert_eq(json_integer_value(json_object_get(e, "t_ns")), 200000000);
    cr_assert_float_eq(json_real_value(json_object_get(e, "ops_per_sec")), 5000.0, 1e-6);
    cr_assert_float_eq(json_real_value(json_array_get(json_object_get(e, "per_thread"), 0)),
                       5000.0, 1e-6);
    cr_assert_eq(json_integer_value(json_object_get(e, "live_bytes")), 4096);
    cr_assert_eq(json_integer_value(json_object_get(e, "live_blocks")), 80);
    json_decref(j);
    f->res.intervals = NULL;
    f->res.interval_ops = NULL;
    free(f);
}
