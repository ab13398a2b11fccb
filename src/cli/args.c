/* args.c - option parsing for `run` and `compare`.
 *
 * A small hand-written parser rather than getopt_long: getopt permutes argv
 * and prints its own messages, while every error here must be one line that
 * names the argument and says what was expected. Options take their value
 * as "--opt VALUE" or "--opt=VALUE". Numbers are parsed strictly: digits
 * only, no sign, no trailing text, no overflow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/lockprof.h"      // GH_LOCKPROF_MAX_EVERY
#include "scenario/run.h"       // gh_inject_parse
#include "scenario/scenario.h"  // gh_parse_duration

enum opt_id {
    OPT_STRATEGY, OPT_STRATEGIES, OPT_SET, OPT_PARAM, OPT_THREADS, OPT_DURATION, OPT_OPS,
    OPT_SEED, OPT_REPEAT, OPT_JSON, OPT_CSV, OPT_PLOT, OPT_QUIET, OPT_CHECK, OPT_NO_CHECK,
    OPT_CENSUS, OPT_LATENCY_SAMPLE, OPT_CPUS, OPT_WARMUP, OPT_TRACE, OPT_TRACE_EVENTS, OPT_TIMELINE,
    OPT_LOCK_PROFILE, OPT_REPORT_EVERY, OPT_TIMELINE_PLOT, OPT_INJECT, OPT_STALL, OPT_HELP,
};

struct opt {
    const char *name;
    enum opt_id id;
    const char *meta;   /* what the value is; NULL for a flag */
    unsigned commands;  /* bit 0: run, bit 1: compare */
};

#define RUN 1u
#define CMP 2u

static const struct opt opts[] = {
    {"--strategy", OPT_STRATEGY, "a preset name", RUN},
    {"--strategies", OPT_STRATEGIES, "a comma-separated list of presets", CMP},
    {"--set", OPT_SET, "AXIS=VALUE", RUN | CMP},
    {"--param", OPT_PARAM, "NAME=VALUE", RUN | CMP},
    {"--threads", OPT_THREADS, "a thread count", RUN | CMP},
    {"--duration", OPT_DURATION, "a duration such as 2s or 500ms", RUN | CMP},
    {"--ops", OPT_OPS, "an operation count per thread", RUN | CMP},
    {"--seed", OPT_SEED, "a seed", RUN | CMP},
    {"--repeat", OPT_REPEAT, "a repeat count", CMP},
    {"--json", OPT_JSON, "a file name", RUN | CMP},
    {"--csv", OPT_CSV, "a file name", RUN | CMP},
    {"--plot", OPT_PLOT, "a file name ending in .png or .svg", CMP},
    {"--quiet", OPT_QUIET, NULL, RUN},
    {"--check", OPT_CHECK, NULL, RUN | CMP},
    {"--no-check", OPT_NO_CHECK, NULL, RUN | CMP},
    {"--census", OPT_CENSUS, "a duration such as 10ms", RUN},
    {"--latency-sample", OPT_LATENCY_SAMPLE, "a period N: every Nth op timed, 0 for none",
     RUN | CMP},
    {"--cpus", OPT_CPUS, "a CPU list such as 0, 0,1 or 0-3", RUN | CMP},
    {"--warmup", OPT_WARMUP, "a duration such as 500ms", RUN | CMP},
    {"--trace", OPT_TRACE, "a file name", RUN},
    {"--trace-events", OPT_TRACE_EVENTS, "an event count per thread", RUN},
    {"--timeline", OPT_TIMELINE, NULL, RUN},
    {"--timeline-plot", OPT_TIMELINE_PLOT, "a file name ending in .png or .svg", RUN},
    {"--lock-profile", OPT_LOCK_PROFILE, "a period N: 1 in N lock holds timed", RUN},
    {"--report-every", OPT_REPORT_EVERY, "a duration such as 1s or 100ms", RUN},
    {"--inject", OPT_INJECT, "POINT=DELAY[@P][:THREADS], such as rc.update=20us@1%", RUN},
    {"--stall", OPT_STALL, "a duration such as 10s, or off", RUN},
    {"--help", OPT_HELP, NULL, RUN | CMP},
};

/* Strict unsigned parse: returns 0, or -1 when `text` is not a plain
 * decimal number in [min, max]. */
static int parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return -1; /* strtoull would accept " 7", "+7" and "-7" */
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno == ERANGE || *end != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int bad_threads(const char *opt, const char *v)
{
    return gh__cli_usage("%s '%s': expected a thread count from 1 to %d", opt, v,
                         GH_CLI_MAX_THREADS);
}

/* Splits a comma list into a copy owned by o. Returns the count, or -1 for
 * an empty item, too many items or no memory. */
static int split_list(struct gh_cli_opts *o, const char *text, const char **items)
{
    if (o->nowned == GH_CLI_MAX_LIST)
        return -1;
    char *copy = strdup(text);
    if (!copy)
        return -1;
    o->owned[o->nowned++] = copy;

    int count = 0;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        if (!*p || count == GH_CLI_MAX_LIST)
            return -1;
        items[count++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return count;
}

void gh__cli_opts_free(struct gh_cli_opts *o)
{
    for (int i = 0; i < o->nowned; i++)
        free(o->owned[i]);
    o->nowned = 0;
}

static const struct opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < GH_ARRAY_LEN(opts); i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int apply(struct gh_cli_opts *o, const struct opt *op, const char *v, bool compare)
{
    uint64_t n;
    switch (op->id) {
    case OPT_STRATEGY:
        o->preset = v;
        return 0;
    case OPT_STRATEGIES: {
        int c = split_list(o, v, o->strategies);
        if (c < 0)
            return gh__cli_usage("--strategies '%s': expected preset names separated by "
                                 "commas (at most %d)", v, GH_CLI_MAX_LIST);
        o->nstrategies = c;
        return 0;
    }
    case OPT_SET:
        if (o->nsets == GH_CLI_MAX_LIST)
            return gh__cli_usage("--set '%s': at most %d --set options", v, GH_CLI_MAX_LIST);
        o->sets[o->nsets++] = v;
        return 0;
    case OPT_PARAM: {
        char name[64], err[256], other[64];
        int64_t value;
        if (gh_param_assignment(v, name, sizeof name, &value, err, sizeof err) != 0)
            return gh__cli_usage("--param '%s': %s", v, err);
        for (int i = 0; i < o->nparams; i++) {
            int64_t ov;
            if (gh_param_assignment(o->params[i], other, sizeof other, &ov, err,
                                    sizeof err) == 0 && strcmp(other, name) == 0)
                return gh__cli_usage("--param '%s': %s is already set by --param '%s'", v,
                                     name, o->params[i]);
        }
        if (o->nparams == GH_CLI_MAX_LIST)
            return gh__cli_usage("--param '%s': at most %d --param options", v,
                                 GH_CLI_MAX_LIST);
        o->params[o->nparams++] = v;
        return 0;
    }
    case OPT_THREADS:
        if (!compare) {
            if (parse_u64(v, 1, GH_CLI_MAX_THREADS, &n) != 0)
                return bad_threads("--threads", v);
            o->threads[0] = (int)n;
            o->nthreads = 1;
        } else {
            const char *items[GH_CLI_MAX_LIST];
            int c = split_list(o, v, items);
            if (c < 0)
                return gh__cli_usage("--threads '%s': expected thread counts separated by "
                                     "commas, such as 1,2,4 (at most %d)", v, GH_CLI_MAX_LIST);
            for (int i = 0; i < c; i++) {
                if (parse_u64(items[i], 1, GH_CLI_MAX_THREADS, &n) != 0)
                    return gh__cli_usage("--threads '%s': '%s' is not a thread count from 1 "
                                         "to %d", v, items[i], GH_CLI_MAX_THREADS);
                o->threads[i] = (int)n;
            }
            o->nthreads = c;
        }
        return 0;
    case OPT_DURATION:
        if (gh_parse_duration(v, &o->duration_ns) != 0 || o->duration_ns == 0)
            return gh__cli_usage("--duration '%s': expected a positive duration with a unit, "
                                 "such as 2s, 500ms, 100us or 1.5s, at most 1000000000s", v);
        o->duration_text = v;
        return 0;
    case OPT_OPS:
        if (parse_u64(v, 1, UINT64_MAX, &o->ops) != 0)
            return gh__cli_usage("--ops '%s': expected a positive number of operations per "
                                 "thread", v);
        return 0;
    case OPT_SEED:
        /* Capped at 2^63 - 1 so that it survives JSON (signed 64-bit). */
        if (parse_u64(v, 0, INT64_MAX, &o->seed) != 0)
            return gh__cli_usage("--seed '%s': expected an integer from 0 to %" PRId64, v,
                                 INT64_MAX);
        o->seed_given = true;
        return 0;
    case OPT_REPEAT:
        if (parse_u64(v, 1, GH_CLI_MAX_REPEAT, &n) != 0)
            return gh__cli_usage("--repeat '%s': expected a repeat count from 1 to %d", v,
                                 GH_CLI_MAX_REPEAT);
        o->repeat = (unsigned)n;
        return 0;
    case OPT_JSON:
        if (!*v)
            return gh__cli_usage("--json '': expected a file name");
        o->json = v;
        return 0;
    case OPT_CSV:
        if (!*v)
            return gh__cli_usage("--csv '': expected a file name");
        o->csv = v;
        return 0;
    case OPT_PLOT:
        if (gh__cli_plot_format(v) == GH_PLOT_NONE)
            return gh__cli_usage("--plot '%s': expected a file name ending in .png or "
                                 ".svg", v);
        o->plot = v;
        return 0;
    case OPT_TIMELINE_PLOT:
        if (gh__cli_plot_format(v) == GH_PLOT_NONE)
            return gh__cli_usage("--timeline-plot '%s': expected a file name ending in .png "
                                 "or .svg", v);
        o->timeline_plot = v;
        return 0;
    case OPT_QUIET:
        o->quiet = true;
        return 0;
    case OPT_CHECK:
        o->check = 1;
        return 0;
    case OPT_NO_CHECK:
        o->check = -1;
        return 0;
    case OPT_WARMUP:
        if (gh_parse_duration(v, &o->warmup_ns) != 0)
            return gh__cli_usage("--warmup '%s': expected a positive duration with a unit, "
                                 "such as 500ms or 1s, at most 1000000000s", v);
        o->warmup_text = v;
        return 0;
    case OPT_REPORT_EVERY:
        if (gh_parse_duration(v, &o->report_every_ns) != 0 || o->report_every_ns < 1000000u)
            return gh__cli_usage("--report-every '%s': expected a duration of 1ms or more with "
                                 "a unit, such as 1s or 100ms", v);
        return 0;
    case OPT_CENSUS:
        if (gh_parse_duration(v, &o->census_ns) != 0 || o->census_ns == 0)
            return gh__cli_usage("--census '%s': expected a positive duration with a unit, "
                                 "such as 100ms or 10ms, at most 1000000000s", v);
        return 0;
    case OPT_LATENCY_SAMPLE:
        if (parse_u64(v, 0, UINT32_MAX, &n) != 0)
            return gh__cli_usage("--latency-sample '%s': expected a period from 0 (no op "
                                 "timed) to %" PRIu32 ": every Nth op is timed", v, UINT32_MAX);
        o->latency_sample = (unsigned)n;
        return 0;
    case OPT_CPUS: {
        char err[256];
        int c = gh__cli_parse_cpus(v, o->cpus, GH_CLI_MAX_CPUS, err, sizeof err);
        if (c < 0)
            return gh__cli_usage("--cpus '%s': %s", v, err);
        o->ncpus = c;
        o->cpus_text = v;
        return 0;
    }
    case OPT_TRACE:
        if (!*v)
            return gh__cli_usage("--trace '': expected a file name");
        o->trace = v;
        return 0;
    case OPT_TRACE_EVENTS:
        if (parse_u64(v, 64, GH_CLI_MAX_TRACE_EVENTS, &n) != 0)
            return gh__cli_usage("--trace-events '%s': expected an event count per thread "
                                 "from 64 to %u", v, GH_CLI_MAX_TRACE_EVENTS);
        o->trace_events = (uint32_t)n;
        return 0;
    case OPT_TIMELINE:
        o->timeline = true;
        return 0;
    case OPT_LOCK_PROFILE:
        if (parse_u64(v, 1, GH_LOCKPROF_MAX_EVERY, &n) != 0)
            return gh__cli_usage("--lock-profile '%s': expected a period from 1 (every "
                                 "hold timed) to %u: 1 in N lock holds is timed", v,
                                 GH_LOCKPROF_MAX_EVERY);
        o->lock_profile = (uint32_t)n;
        return 0;
    case OPT_INJECT: {
        char err[768];
        if (o->ninject == GH_INJ_COUNT)
            return gh__cli_usage("--inject '%s': at most one per point (%d points)", v,
                                 GH_INJ_COUNT);
        if (gh_inject_parse(v, &o->inject[o->ninject], err, sizeof err) != 0)
            return gh__cli_usage("%s", err);
        for (int i = 0; i < o->ninject; i++)
            if (o->inject[i].point == o->inject[o->ninject].point)
                return gh__cli_usage("--inject '%s': point %s is injected already", v,
                                     gh_inject_docs[o->inject[i].point].name);
        o->ninject++;
        return 0;
    }
    case OPT_STALL:
        if (!strcmp(v, "off")) {
            o->stall_ns = UINT64_MAX;
            return 0;
        }
        if (gh_parse_duration(v, &o->stall_ns) != 0 || o->stall_ns < 1000000u ||
            o->stall_ns == UINT64_MAX)
            return gh__cli_usage("--stall '%s': expected a duration of 1ms or more with a unit, "
                                 "such as 10s, or off", v);
        return 0;
    case OPT_HELP:
        o->help = true;
        return 0;
    }
    return gh__cli_error(GH_EXIT_INTERNAL, "unhandled option %s", op->name);
}

int gh__cli_parse(struct gh_cli_opts *o, const char *command, int argc, char **argv,
                  int first)
{
    bool compare = strcmp(command, "compare") == 0;
    unsigned mask = compare ? CMP : RUN;
    bool only_positional = false;
    int rc;

    memset(o, 0, sizeof *o);
    o->command = command;
    o->repeat = 1;
    o->latency_sample = GH_CLI_LATENCY_SAMPLE;

    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == 0) {
            if (o->scenario)
                return gh__cli_usage("%s: unexpected argument '%s' (one SCENARIO only)",
                                     command, a);
            o->scenario = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            o->help = true;
            continue;
        }
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t namelen = eq ? (size_t)(eq - a) : strlen(a);
        const struct opt *op = a[1] == '-' ? find_opt(a, namelen) : NULL;
        if (!op || !(op->commands & mask))
            return gh__cli_usage("%s: unknown option '%.*s'", command, (int)namelen, a);
        const char *v = NULL;
        if (op->meta) {
            if (eq) {
                v = eq + 1;
            } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                v = argv[++i];
            } else {
                return gh__cli_usage("option '%s' needs a value (%s)", op->name, op->meta);
            }
        } else if (eq) {
            return gh__cli_usage("option '%s' takes no value", op->name);
        }
        if ((rc = apply(o, op, v, compare)) != 0)
            return rc;
    }
    if (o->help)
        return 0;
    if (!o->scenario)
        return gh__cli_usage("%s: missing SCENARIO (a file, or a name from 'gilheap list')",
                             command);
    if (o->duration_text && o->ops)
        return gh__cli_usage("%s: --duration and --ops cannot be combined: a run is timed "
                             "or counted", command);
    return 0;
}

int gh__cli_strategy(struct gh_strategy *st, const char *optname, const char *preset,
                     const char *const *sets, int nsets)
{
    char err[512];
    if (gh_strategy_from_preset(st, preset, err, sizeof err) != 0)
        return gh__cli_usage("%s: %s", optname, err);
    for (int i = 0; i < nsets; i++)
        if (gh_strategy_set(st, sets[i], err, sizeof err) != 0)
            return gh__cli_usage("--set %s", err);
    const char *why = gh_strategy_refusal(st);
    char desc[256];
    if (why)
        return gh__cli_error(GH_EXIT_USAGE, "strategy %s (%s) is refused: %s", preset,
                             gh_strategy_describe(st, desc, sizeof desc), why);
    return 0;
}
