/* cmd_torture.c - `gilheap torture --time D`: random cells until the time is
 * up, each a `gilheap run` in a child process (child.c), bounded by its own
 * watchdog (--stall) and by a kill after that.
 *
 * A cell draws, from the torture's seed: a preset, sometimes an axis
 * override (--set; gc=nostop more often than the rest, the collector's
 * positive control), a scenario from the scenario directories, a thread
 * count, the run's seed, and zero to two injections (--inject, no hang). It
 * prints a line, and its outcome is one of:
 *
 *   clean     a safe strategy, no hazard, every check held (under gc=off the
 *             leak of uncollected cycles is expected, not a hazard)
 *   caught    an unsafe strategy (unsafe, or any gc=nostop), hazards found
 *             (the kinds are counted) or its watchdog fired
 *   missed    an unsafe strategy, nothing found this time
 *   refused   the run refused the combination (exit 2): not run
 *   check     a safe strategy, no hazard, but a scenario check failed: the
 *             shipped checks include liveness (count(op) > 0, a collection
 *             happened) that a short cell, gc=off or a delay can fail; kept
 *             with a replay line, not a failure
 *   FAILED    a safe strategy with hazards or a stall; any crash, a run
 *             killed without its watchdog firing, an internal error
 *
 * Every cell runs in the checked mode (--check), so a safe strategy's
 * lost count or freed live object is a hazard, not a silent number.
 *
 * The first cell of each failure kind is kept as the command line that
 * replays it. Exit: 1 when a cell failed or an unsafe strategy that ran at
 * least 20 multi-thread cells was never caught; 128 + the signal on SIGINT
 * or SIGTERM; else 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/hazard.h"        // gh_hazard_names
#include "base/rng.h"
#include "cli/cli.h"
#include "report/report.h"      // gh_report_fmt_ns
#include "scenario/run.h"       // gh_inject_format
#include "scenario/scenario.h"  // gh_parse_duration, gh_scenario_load
#include "scenario/strategy.h"

#define MAX_SCENARIOS 128
#define MAX_KINDS 32

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum outcome { OUT_CLEAN, OUT_CAUGHT, OUT_MISSED, OUT_REFUSED, OUT_CHECK, OUT_FAILED, OUT_COUNT };
static const char *const outcome_names[OUT_COUNT] = {"clean", "caught", "missed", "refused",
                                                     "check", "FAILED"};

/* What a cell runs, drawn from the torture's stream. */
struct cell {
    const char *preset;
    char set[64];             /* "" or AXIS=VALUE */
    const char *scenario;     /* a path */
    const char *name;         /* its name, for the line */
    int threads;
    uint64_t seed;
    char inject[2][320];
    int ninject;
};

/* A failure kind and its first replay line. */
struct kind {
    char name[64];
    int count;
    char replay[2048];
};

struct torture {
    uint64_t time_ns, cell_ns, seed, stall_ns;
    const char *cell_text;
    const char *json;
    char paths[MAX_SCENARIOS][4096];
    const char *names[MAX_SCENARIOS];
    char namebuf[MAX_SCENARIOS][128];
    int nscen;
    struct gh_rng rng;
    int ncells;
    int by_outcome[2][OUT_COUNT];          /* [unsafe][outcome] */
    uint64_t hazard_kinds[GH_HAZARD_COUNT]; /* cells of unsafe strategies that caught each */
    int stalls_caught;
    /* Unsafe strategies by label (preset, or preset+gc=nostop): cells at 2+
     * threads that ran, and how many were caught. */
    struct {
        char label[80];
        int ran, caught;
    } unsafe[16];
    int nunsafe;
    struct kind kinds[MAX_KINDS];
    int nkinds;
};

static void usage_text(void)
{
    printf("Usage: gilheap torture [--time D] [--cell D] [--seed S] [--json FILE]\n\n"
           "Random cells until D is up (default 60s): a preset, sometimes an axis\n"
           "override, a scenario, a thread count, a seed and injections, each run\n"
           "in a child process under its stall watchdog. A line per cell, then a\n"
           "summary by outcome and hazard kind, and the first failure of each kind\n"
           "as the command line that replays it (docs/torture.md).\n\n"
           "  --time D          how long to go on (default 60s)\n"
           "  --cell D          each cell's measured phase (default 200ms)\n"
           "  --seed S          the torture's own seed (default: from the clock;\n"
           "                    printed, so a torture can be repeated)\n"
           "  --json FILE       the summary as JSON\n"
           "Exit status: 0 clean, 1 a cell failed or an unsafe strategy was never\n"
           "caught, 2 usage, 130 or 143 interrupted.\n");
}

static int load_scenarios(struct torture *t)
{
    char dirs[GH_CLI_SCENARIO_DIRS][4096];
    int ndirs = gh__cli_scenario_dirs(dirs, GH_CLI_SCENARIO_DIRS);
    for (int d = 0; d < ndirs; d++) {
        struct dirent **ents;
        int n = scandir(dirs[d], &ents, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            const char *f = ents[i]->d_name;
            size_t len = strlen(f);
            bool seen = false;
            if (f[0] != '.' && len > 5 && !strcmp(f + len - 5, ".yaml") && len - 5 < 128 &&
                t->nscen < MAX_SCENARIOS) {
                char stem[128];
                snprintf(stem, sizeof stem, "%.*s", (int)(len - 5), f);
                for (int k = 0; k < t->nscen; k++)
                    seen |= !strcmp(t->namebuf[k], stem);
                char path[8200];
                int pl = snprintf(path, sizeof path, "%s/%s", dirs[d], f);
                struct gh_diag diag;
                struct gh_scenario *s =
                    seen || pl >= (int)sizeof t->paths[0] ? NULL : gh_scenario_load(path, &diag);
                if (s) {
                    strcpy(t->paths[t->nscen], path);
                    strcpy(t->namebuf[t->nscen], stem);
                    t->names[t->nscen] = t->namebuf[t->nscen];
                    t->nscen++;
                    gh_scenario_free(s);
                }
            }
            free(ents[i]);
        }
        if (n >= 0)
            free(ents);
    }
    return t->nscen;
}

static uint64_t below(struct torture *t, uint64_t n) { return gh_rng_below(&t->rng, n); }

/* An axis override valid for the preset, or none. gc=nostop is drawn a
 * third of the time: it is the collector's positive control. */
static void draw_set(struct torture *t, struct cell *c)
{
    c->set[0] = 0;
    if (below(t, 10) >= 4)
        return;
    char cand[64];
    if (below(t, 3) == 0) {
        snprintf(cand, sizeof cand, "gc=nostop");
    } else {
        switch (below(t, 6)) {
        case 0: snprintf(cand, sizeof cand, "alloc=%s", gh_alloc_names[below(t, GH_ALLOC_KIND_COUNT)]); break;
        case 1: snprintf(cand, sizeof cand, "gc=%s", gh_gc_names[below(t, GH_GC_MODE_COUNT)]); break;
        case 2: snprintf(cand, sizeof cand, "header=%s", gh_header_names[1 + below(t, 2)]); break;
        case 3: snprintf(cand, sizeof cand, "deferred=%s", gh_deferred_names[below(t, GH_DEFERRED_COUNT)]); break;
        case 4: snprintf(cand, sizeof cand, "lock=%s", gh_lock_names[below(t, GH_LOCKK_COUNT)]); break;
        default: snprintf(cand, sizeof cand, "loads=%s", gh_loads_names[below(t, GH_LOADS_COUNT)]); break;
        }
    }
    struct gh_strategy st;
    char err[256];
    if (gh_strategy_from_preset(&st, c->preset, err, sizeof err) == 0 &&
        gh_strategy_set(&st, cand, err, sizeof err) == 0 && !gh_strategy_refusal(&st))
        strcpy(c->set, cand);
}

static void draw_injections(struct torture *t, struct cell *c)
{
    static const uint64_t delays[] = {200, 1000, 5000, 50000, 1000000};
    static const double probs[] = {0.001, 0.01, 0.1};
    c->ninject = 0;
    int want = below(t, 2) == 0 ? 0 : below(t, 4) == 0 ? 2 : 1;
    int first = -1;
    for (int k = 0; k < want; k++) {
        int p = (int)below(t, GH_INJ_COUNT);
        if (p == first)
            continue;
        first = p;
        struct gh_inject_spec sp = {.point = (enum gh_inject_point)p, .p = 1,
                                    .threads = UINT64_MAX};
        sp.delay_ns = delays[below(t, sizeof delays / sizeof *delays)];
        if (below(t, 3) == 0)
            sp.every = below(t, 2) ? 100 : 1000;
        else
            sp.p = probs[below(t, sizeof probs / sizeof *probs)];
        if (c->threads > 1 && below(t, 3) == 0)
            sp.threads = UINT64_C(1) << below(t, (uint64_t)c->threads);
        gh_inject_format(&sp, c->inject[c->ninject++], sizeof c->inject[0]);
    }
}

static void draw(struct torture *t, struct cell *c)
{
    static const int threads[] = {1, 2, 2, 3, 4, 8};
    c->preset = gh_presets[below(t, gh_npresets)].name;
    draw_set(t, c);
    int s = (int)below(t, (uint64_t)t->nscen);
    c->scenario = t->paths[s];
    c->name = t->names[s];
    c->threads = threads[below(t, sizeof threads / sizeof *threads)];
    c->seed = gh_rng_next(&t->rng) >> 1;
    draw_injections(t, c);
}

/* The cell's arguments after `gilheap` (argv has room for the child's 4). */
static int cell_argv(const struct torture *t, const struct cell *c, const char **argv,
                     char *threads, char *seed, char *stall)
{
    int n = 0;
    sprintf(threads, "%d", c->threads);
    sprintf(seed, "%" PRIu64, c->seed);
    sprintf(stall, "%" PRIu64 "ms", t->stall_ns / 1000000u);
    argv[n++] = "gilheap";
    argv[n++] = "run";
    argv[n++] = c->scenario;
    argv[n++] = "--strategy";
    argv[n++] = c->preset;
    if (c->set[0]) {
        argv[n++] = "--set";
        argv[n++] = c->set;
    }
    argv[n++] = "--threads";
    argv[n++] = threads;
    argv[n++] = "--seed";
    argv[n++] = seed;
    argv[n++] = "--duration";
    argv[n++] = t->cell_text;
    argv[n++] = "--check";
    for (int i = 0; i < c->ninject; i++) {
        argv[n++] = "--inject";
        argv[n++] = c->inject[i];
    }
    argv[n++] = "--stall";
    argv[n++] = stall;
    return n;
}

static void replay_line(char *buf, size_t len, const char **argv, int n)
{
    size_t off = 0;
    for (int i = 0; i < n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
}

static void note_failure(struct torture *t, const char *kind, const char **argv, int n)
{
    for (int i = 0; i < t->nkinds; i++)
        if (!strcmp(t->kinds[i].name, kind)) {
            t->kinds[i].count++;
            return;
        }
    if (t->nkinds == MAX_KINDS)
        return;
    struct kind *k = &t->kinds[t->nkinds++];
    snprintf(k->name, sizeof k->name, "%s", kind);
    k->count = 1;
    replay_line(k->replay, sizeof k->replay, argv, n);
}

static void note_unsafe(struct torture *t, const char *label, bool caught)
{
    int i = 0;
    while (i < t->nunsafe && strcmp(t->unsafe[i].label, label))
        i++;
    if (i == t->nunsafe) {
        if (t->nunsafe == 16)
            return;
        snprintf(t->unsafe[t->nunsafe++].label, sizeof t->unsafe[0].label, "%s", label);
    }
    t->unsafe[i].ran++;
    t->unsafe[i].caught += caught;
}

/* Runs one cell and prints its line. */
static void run_one(struct torture *t, const struct cell *c)
{
    const char *argv[48];
    char threads[16], seed[32], stall[32];
    int n = cell_argv(t, c, argv, threads, seed, stall);
    char line[2048];
    replay_line(line, sizeof line, argv, n);
    /* The watchdog bounds the run; the kill only a run whose watchdog
     * failed. */
    uint64_t timeout = t->cell_ns + 3 * t->stall_ns + 30000000000u;
    struct gh_child ch;
    enum gh_child_outcome oc = gh__cli_run_child(argv, n, timeout, true, &ch);
    if (gh__cli_interrupted) {
        json_decref(ch.result);
        return;
    }
    const json_t *r = ch.result;
    const json_t *cfg = json_object_get(r, "config");
    bool unsafe = json_is_true(json_object_get(cfg, "unsafe"));
    if (!r) /* no result: decide from the strategy itself */
        unsafe = !strcmp(c->preset, "unsafe") || !strcmp(c->set, "gc=nostop");
    const char *status = json_string_value(json_object_get(r, "status"));
    const json_t *hz = json_object_get(r, "hazards");
    uint64_t hazards = (uint64_t)json_integer_value(json_object_get(hz, "total"));
    /* gc=off: cycles are never collected, so what they hold is still live
     * after the teardown; the checked mode counts it as leak. */
    const char *gc = json_string_value(json_object_get(cfg, "gc"));
    uint64_t leaks = (uint64_t)json_integer_value(
        json_object_get(json_object_get(hz, "counts"), gh_hazard_names[GH_HAZARD_LEAK]));
    bool leak_expected = gc && !strcmp(gc, "off") && leaks;
    if (leak_expected) {
        hazards -= leaks;
        /* The run's own status counted them: without them it is `failed`
         * when a check failed, else `ok`. */
        if (!hazards && status && !strcmp(status, "hazards")) {
            status = "ok";
            const json_t *ck;
            size_t i;
            json_array_foreach(json_object_get(r, "checks"), i, ck)
                if (!json_is_true(json_object_get(ck, "pass")))
                    status = "failed";
        }
    }
    enum outcome out = OUT_CLEAN;
    char what[160] = "";
    char kind[64] = "";
    if (oc == GH_CHILD_FAILED) {
        out = OUT_FAILED;
        snprintf(kind, sizeof kind, "error");
        snprintf(what, sizeof what, "%.150s", ch.why);
    } else if (oc == GH_CHILD_SIGNALED) {
        out = OUT_FAILED;
        snprintf(kind, sizeof kind, "crash:%s", sigabbrev_np(ch.signal) ? sigabbrev_np(ch.signal)
                                                                      : "?");
        snprintf(what, sizeof what, "killed by SIG%s", sigabbrev_np(ch.signal) ? sigabbrev_np(ch.signal) : "?");
    } else if (oc == GH_CHILD_TIMEOUT) {
        out = OUT_FAILED;
        snprintf(kind, sizeof kind, "undiagnosed-stall");
        snprintf(what, sizeof what, "killed after %.0fs: its watchdog did not fire",
                 (double)timeout / 1e9);
    } else if (ch.exit_code == GH_EXIT_USAGE) {
        out = OUT_REFUSED;
        /* "gilheap: error: FILE:L:C: why": the why */
        const char *why = strstr(ch.why, "error: ");
        snprintf(what, sizeof what, "%.60s", why ? why + 7 : ch.why);
    } else if (status && !strcmp(status, "stalled")) {
        const json_t *st = json_object_get(r, "stall");
        snprintf(what, sizeof what, "stalled (runner at %s)",
                 json_string_value(json_object_get(st, "runner_phase")) ?: "?");
        if (unsafe) {
            out = OUT_CAUGHT;
            t->stalls_caught++;
        } else {
            out = OUT_FAILED;
            snprintf(kind, sizeof kind, "stall");
        }
    } else if (!r || !status) {
        out = OUT_FAILED;
        snprintf(kind, sizeof kind, "exit-%d", ch.exit_code);
        snprintf(what, sizeof what, "exit %d without a result", ch.exit_code);
    } else if (unsafe) {
        out = hazards ? OUT_CAUGHT : OUT_MISSED;
    } else if (hazards) {
        out = OUT_FAILED;
        const json_t *counts = json_object_get(hz, "counts");
        for (int k = 0; k < GH_HAZARD_COUNT && !kind[0]; k++)
            if (json_integer_value(json_object_get(counts, gh_hazard_names[k])) > 0)
                snprintf(kind, sizeof kind, "hazard:%s", gh_hazard_names[k]);
    } else if (strcmp(status, "ok") != 0) {
        out = !strcmp(status, "failed") ? OUT_CHECK : OUT_FAILED;
        snprintf(kind, sizeof kind, "%s", !strcmp(status, "failed") ? "check" : status);
        const json_t *ck;
        size_t i;
        json_array_foreach(json_object_get(r, "checks"), i, ck)
            if (!json_is_true(json_object_get(ck, "pass")) && !what[0])
                snprintf(what, sizeof what, "failed: %.120s",
                         json_string_value(json_object_get(ck, "expr")) ?: "?");
    }
    if (hazards || leak_expected) {
        size_t off = strlen(what);
        const json_t *counts = json_object_get(hz, "counts");
        for (int k = 0; k < GH_HAZARD_COUNT; k++) {
            json_int_t v = json_integer_value(json_object_get(counts, gh_hazard_names[k]));
            if (v <= 0)
                continue;
            if (unsafe && out == OUT_CAUGHT && !(leak_expected && k == GH_HAZARD_LEAK))
                t->hazard_kinds[k]++;
            off += (size_t)snprintf(what + off, off < sizeof what ? sizeof what - off : 0,
                                    "%s%s %lld", off ? ", " : "", gh_hazard_names[k],
                                    (long long)v);
            if (off >= sizeof what)
                break;
        }
    }
    t->ncells++;
    t->by_outcome[unsafe][out]++;
    if (out == OUT_FAILED || out == OUT_CHECK)
        note_failure(t, kind[0] ? kind : "failed", argv, n);
    if (unsafe && out != OUT_REFUSED && c->threads > 1)
        note_unsafe(t, !strcmp(c->set, "gc=nostop") ? "gc=nostop" : c->preset,
                    out == OUT_CAUGHT);
    char strat[96], inj[660] = "";
    snprintf(strat, sizeof strat, "%s%s%s", c->preset, c->set[0] ? " +" : "", c->set);
    for (int i = 0; i < c->ninject; i++)
        snprintf(inj + strlen(inj), sizeof inj - strlen(inj), " %s", c->inject[i]);
    printf("%5d %-30s %-26s %dT%s  %-7s %s (%.1fs)\n", t->ncells, strat, c->name, c->threads,
           inj, outcome_names[out], what, (double)ch.elapsed_ns / 1e9);
    fflush(stdout);
    json_decref(ch.result);
}

static void summary(struct torture *t, uint64_t elapsed)
{
    char el[32];
    gh_report_fmt_ns(el, sizeof el, elapsed);
    printf("\ntorture: %d cells in %s, seed %" PRIu64 ", cells of %s\n", t->ncells, el, t->seed,
           t->cell_text);
    for (int u = 0; u < 2; u++) {
        int total = 0;
        for (int o = 0; o < OUT_COUNT; o++)
            total += t->by_outcome[u][o];
        printf("  %-7s %5d:", u ? "unsafe" : "safe", total);
        for (int o = 0; o < OUT_COUNT; o++)
            if (t->by_outcome[u][o])
                printf(" %s %d", outcome_names[o], t->by_outcome[u][o]);
        printf("\n");
    }
    printf("  caught, by hazard kind (cells):");
    for (int k = 0; k < GH_HAZARD_COUNT; k++)
        if (t->hazard_kinds[k])
            printf(" %s %" PRIu64, gh_hazard_names[k], t->hazard_kinds[k]);
    if (t->stalls_caught)
        printf(" stalled %d", t->stalls_caught);
    printf("\n  unsafe strategies at 2+ threads (caught/ran):");
    for (int i = 0; i < t->nunsafe; i++)
        printf("%s %s %d/%d", i ? "," : "", t->unsafe[i].label, t->unsafe[i].caught,
               t->unsafe[i].ran);
    printf("\n");
    int nfail = 0;
    for (int i = 0; i < t->nkinds; i++)
        nfail += strcmp(t->kinds[i].name, "check") != 0;
    if (t->nkinds)
        printf("the first of each kind (replay with the command):\n");
    for (int i = 0; i < t->nkinds; i++)
        printf("  %-22s %3d  %s\n", t->kinds[i].name, t->kinds[i].count, t->kinds[i].replay);
    printf("failures: %s\n", nfail ? "see above" : "none");
}

static int write_json(const struct torture *t, uint64_t elapsed)
{
    json_t *o = json_object(), *by = json_object(), *hk = json_object(), *fk = json_array(),
           *us = json_array();
    if (!o || !by || !hk || !fk || !us)
        goto oom;
    for (int u = 0; u < 2; u++) {
        json_t *x = json_object();
        for (int k = 0; x && k < OUT_COUNT; k++)
            json_object_set_new(x, k == OUT_FAILED ? "failed" : outcome_names[k],
                                json_integer(t->by_outcome[u][k]));
        json_object_set_new(by, u ? "unsafe" : "safe", x);
    }
    for (int k = 0; k < GH_HAZARD_COUNT; k++)
        json_object_set_new(hk, gh_hazard_names[k], json_integer((json_int_t)t->hazard_kinds[k]));
    for (int i = 0; i < t->nunsafe; i++)
        json_array_append_new(us, json_pack("{s:s, s:i, s:i}", "strategy", t->unsafe[i].label,
                                            "ran", t->unsafe[i].ran, "caught",
                                            t->unsafe[i].caught));
    for (int i = 0; i < t->nkinds; i++)
        json_array_append_new(fk, json_pack("{s:s, s:i, s:s}", "kind", t->kinds[i].name, "cells",
                                            t->kinds[i].count, "replay", t->kinds[i].replay));
    json_object_set_new(o, "schema", json_integer(1));
    json_object_set_new(o, "seed", json_integer((json_int_t)t->seed));
    json_object_set_new(o, "cell_ns", json_integer((json_int_t)t->cell_ns));
    json_object_set_new(o, "elapsed_ns", json_integer((json_int_t)elapsed));
    json_object_set_new(o, "cells", json_integer(t->ncells));
    json_object_set_new(o, "outcomes", by);
    json_object_set_new(o, "caught_by_kind", hk);
    json_object_set_new(o, "stalls_caught", json_integer(t->stalls_caught));
    json_object_set_new(o, "unsafe_strategies", us);
    json_object_set_new(o, "failures", fk);
    char err[512];
    int rc = gh_report_write_json(t->json, o, err, sizeof err);
    json_decref(o);
    if (rc != 0)
        return gh__cli_error(GH_EXIT_INTERNAL, "--json: %s", err);
    return 0;
oom:
    json_decref(o);
    json_decref(by);
    json_decref(hk);
    json_decref(fk);
    json_decref(us);
    return gh__cli_error(GH_EXIT_INTERNAL, "out of memory");
}

static int parse_args(struct torture *t, int argc, char **argv)
{
    t->time_ns = 60000000000u;
    t->cell_ns = 200000000u;
    t->cell_text = "200ms";
    t->seed = now_ns() ^ ((uint64_t)getpid() << 32);
    t->seed >>= 1;
    for (int a = 2; a < argc; a++) {
        const char *arg = argv[a], *v = NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage_text();
            return -1;
        }
        const char *names[] = {"--time", "--cell", "--seed", "--json"};
        int which = -1;
        for (int k = 0; k < 4; k++) {
            size_t l = strlen(names[k]);
            if (!strncmp(arg, names[k], l) && (arg[l] == 0 || arg[l] == '=')) {
                which = k;
                v = arg[l] == '=' ? arg + l + 1 : (a + 1 < argc ? argv[++a] : NULL);
            }
        }
        if (which < 0)
            return gh__cli_usage("torture: unexpected argument '%s' (expected --time, --cell, "
                                 "--seed, --json or --help)", arg);
        if (!v)
            return gh__cli_usage("%s: expected a value", names[which]);
        uint64_t d;
        char *end;
        switch (which) {
        case 0:
            if (gh_parse_duration(v, &d) != 0 || d < 1000000000u)
                return gh__cli_usage("--time '%s': expected a duration of 1s or more with a "
                                     "unit, such as 1800s or 60s", v);
            t->time_ns = d;
            break;
        case 1:
            if (gh_parse_duration(v, &d) != 0 || d < 10000000u || d > 60000000000u)
                return gh__cli_usage("--cell '%s': expected a duration from 10ms to 60s, such "
                                     "as 200ms", v);
            t->cell_ns = d;
            t->cell_text = v;
            break;
        case 2:
            if (v[0] < '0' || v[0] > '9' || (d = strtoull(v, &end, 10), *end) ||
                d > INT64_MAX)
                return gh__cli_usage("--seed '%s': expected a seed from 0 to 2^63-1", v);
            t->seed = d;
            break;
        default:
            if (!*v)
                return gh__cli_usage("--json '': expected a file name");
            t->json = v;
        }
    }
    /* The watchdog's limit for each cell: ten cells' length, at least 5 s
     * (the children run under the same sanitizer as this binary, whose
     * default scale does not apply to an explicit --stall). */
    t->stall_ns = t->cell_ns * 10 > 5000000000u ? t->cell_ns * 10 : 5000000000u;
    t->stall_ns *= GH_RUN_STALL_SCALE;
    return 0;
}

int gh__cli_torture(int argc, char **argv)
{
    static struct torture t;
    memset(&t, 0, sizeof t);
    int rc = parse_args(&t, argc, argv);
    if (rc != 0)
        return rc < 0 ? GH_EXIT_OK : rc;
    char err[512];
    if (t.json && gh_report_check_writable(t.json, err, sizeof err) != 0)
        return gh__cli_error(GH_EXIT_USAGE, "--json: %s", err);
    if (load_scenarios(&t) == 0)
        return gh__cli_usage("torture: no scenario found (./scenarios, $GH_SCENARIO_DIR, ...)");
    gh_rng_seed(&t.rng, t.seed, 0);
    gh__cli_catch_sigint();
    printf("torture: %d scenarios, %zu presets, cells of %s, seed %" PRIu64 "\n", t.nscen,
           gh_npresets, t.cell_text, t.seed);
    uint64_t t0 = now_ns();
    while (now_ns() - t0 < t.time_ns && !gh__cli_interrupted) {
        struct cell c;
        draw(&t, &c);
        run_one(&t, &c);
    }
    uint64_t elapsed = now_ns() - t0;
    summary(&t, elapsed);
    if (t.json && (rc = write_json(&t, elapsed)) != 0)
        return rc;
    if (gh__cli_interrupted)
        return gh__cli_exit_interrupted();
    bool never = false;
    for (int i = 0; i < t.nunsafe; i++)
        never |= t.unsafe[i].ran >= 20 && t.unsafe[i].caught == 0;
    return t.by_outcome[0][OUT_FAILED] || t.by_outcome[1][OUT_FAILED] || never ? GH_EXIT_CHECKS
                                                                           : GH_EXIT_OK;
}
