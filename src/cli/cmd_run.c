/* cmd_run.c - `gilheap run SCENARIO ...`: one run, a summary on stdout,
 * results to the files asked for.
 *
 * Order of checks, so that nothing runs on bad input: options (syntax,
 * numbers), the strategy (preset, --set, refusal), the result files (can
 * they be written?), the scenario file (parse errors name file:line:column),
 * the thread count against the scenario's roles. Only then gh_run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "report/report.h"      // gh_report_*
#include "scenario/run.h"       // gh_run
#include "scenario/scenario.h"  // gh_scenario_load

/* A problem in a file is printed as the scenario layer writes it,
 * "FILE:LINE:COLUMN: error: WHAT" (docs/scenarios.md, the form editors and
 * build tools jump to); any other problem as "gilheap: error: WHAT". */
int gh__cli_diag(int status, const struct gh_diag *d)
{
    if (strstr(d->msg, ": error: ")) {
        fprintf(stderr, "%s\n", d->msg);
        return status;
    }
    return gh__cli_error(status, "%s", d->msg[0] ? d->msg : "(no message)");
}

/* --report-every: a line on stdout as each interval ends. */
static void print_interval(const struct gh_result *res, int k, void *arg)
{
    (void)arg;
    gh_report_interval(stdout, res, k);
}

static int write_csv(const char *path, const json_t *run)
{
    char *buf = NULL, err[512];
    size_t len = 0, cap = 0;
    int rc = gh_report_csv_raw(&buf, &len, &cap, gh_report_csv_header());
    if (rc == 0)
        rc = gh_report_csv_raw(&buf, &len, &cap, "\n");
    if (rc == 0)
        rc = gh_report_csv_row(run, &buf, &len, &cap);
    if (rc == 0)
        rc = gh_report_csv_raw(&buf, &len, &cap, "\n");
    if (rc != 0) {
        free(buf);
        return gh__cli_error(GH_EXIT_INTERNAL, "--csv '%s': out of memory", path);
    }
    rc = gh_report_write_file(path, buf, len, err, sizeof err);
    free(buf);
    if (rc != 0)
        return gh__cli_error(GH_EXIT_INTERNAL, "--csv: %s", err);
    return 0;
}

int gh__cli_run(int argc, char **argv)
{
    struct gh_cli_opts o;
    struct gh_strategy st;
    struct gh_diag diag = {{0}};
    char path[4096], err[512];
    FILE *devnull = NULL; /* the output of `show` under --quiet */
    int rc = gh__cli_parse(&o, "run", argc, argv, 2);
    if (rc != 0 || o.help) {
        if (rc == 0)
            gh__cli_help_run();
        gh__cli_opts_free(&o);
        return rc;
    }
    if ((rc = gh__cli_strategy(&st, "--strategy", o.preset ? o.preset : "gil", o.sets,
                               o.nsets)) != 0)
        goto out;
    if (o.json && gh_report_check_writable(o.json, err, sizeof err) != 0) {
        rc = gh__cli_error(GH_EXIT_USAGE, "--json: %s", err);
        goto out;
    }
    if (o.csv && gh_report_check_writable(o.csv, err, sizeof err) != 0) {
        rc = gh__cli_error(GH_EXIT_USAGE, "--csv: %s", err);
        goto out;
    }
    if (o.trace_events && !o.trace && !o.timeline && !o.timeline_plot) {
        rc = gh__cli_usage("--trace-events: it sizes the timeline of --trace FILE, "
                           "--timeline or --timeline-plot FILE, which are missing");
        goto out;
    }
    if (o.timeline && o.quiet) {
        rc = gh__cli_usage("--timeline prints on stdout, which --quiet silences");
        goto out;
    }
    if (o.trace && gh_report_check_writable(o.trace, err, sizeof err) != 0) {
        rc = gh__cli_error(GH_EXIT_USAGE, "--trace: %s", err);
        goto out;
    }
    if (o.timeline_plot && (rc = gh__cli_plot_check("--timeline-plot", o.timeline_plot)) != 0)
        goto out;
    if ((rc = gh__cli_scenario_path(o.scenario, path, sizeof path)) != 0)
        goto out;

    struct gh_scenario *s = gh_scenario_load_cli(path, o.params, o.nparams,
                                                 o.duration_text || o.ops, &diag);
    if (!s) {
        rc = gh__cli_diag(GH_EXIT_USAGE, &diag);
        goto out;
    }
    int threads = o.nthreads ? o.threads[0] : s->threads;
    if (gh_scenario_assign_threads(s, threads, &diag) != 0) {
        rc = gh__cli_diag(GH_EXIT_USAGE, &diag);
        goto out_scenario;
    }

    if (o.check < 0 && gh_strategy_unsafe_reason(&st)) {
        rc = gh__cli_usage("--no-check: the strategy is unsafe (%s); without the checked "
                           "mode its hazards would crash the program",
                           gh_strategy_unsafe_reason(&st));
        goto out_scenario;
    }
    if (o.census_ns && o.check <= 0 && !(o.check == 0 && gh_strategy_unsafe_reason(&st))) {
        rc = gh__cli_usage("--census: the census runs only in the checked mode; add --check");
        goto out_scenario;
    }
    struct gh_run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.strategy = st;
    cfg.threads = o.nthreads ? o.threads[0] : 0;
    cfg.duration_ns = o.duration_text ? o.duration_ns : 0;
    cfg.ops_per_thread = o.ops;
    cfg.seed = o.seed;
    cfg.seed_given = o.seed_given;
    cfg.latency_sample = o.latency_sample;
    cfg.cpus = o.cpus;
    cfg.ncpus = o.ncpus;
    cfg.check = o.check;
    cfg.census_ns = o.census_ns;
    if (o.trace || o.timeline || o.timeline_plot)
        cfg.timeline_events = o.trace_events ? o.trace_events : GH_CLI_TRACE_EVENTS_DEFAULT;
    cfg.lock_profile = o.lock_profile;
    cfg.report_every_ns = o.report_every_ns;
    if (!o.quiet) /* printed as each interval ends; kept in the JSON either way */
        cfg.on_interval = print_interval;
    cfg.perf_control = getenv("PERF_CTL_FIFO") && getenv("PERF_ACK_FIFO");
    cfg.inject = o.inject;
    cfg.ninject = o.ninject;
    cfg.stall_ns = o.stall_ns;
    /* --quiet silences everything on stdout, the scenario's `show` lines
     * too (compare runs its cells with --quiet). */
    if (o.quiet) {
        devnull = fopen("/dev/null", "w");
        if (!devnull) {
            rc = gh__cli_error(GH_EXIT_INTERNAL, "/dev/null: %s", strerror(errno));
            goto out_scenario;
        }
        cfg.out = devnull;
    }

    gh__cli_catch_sigint();
    if (!o.quiet) /* compare's cells are quiet: its own line says what runs */
        gh__cli_progress("running %s under %s, %d threads...", s->name ? s->name : path,
                         st.preset, threads);

    struct gh_result res;
    memset(&res, 0, sizeof res);
    if (o.warmup_text) {
        /* A run of --warmup D first, in this process, discarded (its output
         * too): the measured run starts with the binary's pages, the
         * allocator's memory and the CPUs' clocks warm. */
        FILE *wout = devnull ? devnull : fopen("/dev/null", "w");
        struct gh_run_config wcfg = cfg;
        wcfg.duration_ns = o.warmup_ns;
        wcfg.ops_per_thread = 0;
        wcfg.perf_control = false;
        wcfg.timeline_events = 0;
        wcfg.lock_profile = 0;
        wcfg.report_every_ns = 0;
        wcfg.ninject = 0;
        wcfg.out = wout;
        int wrc = wout ? gh_run(s, &wcfg, &res, &diag) : -1;
        /* Not while stuck workers of a stalled warmup may still print. */
        if (wout && wout != devnull && !(wrc == 0 && res.stall && !res.stall->joined))
            fclose(wout);
        if (wrc != 0) {
            rc = wout ? gh__cli_diag(GH_EXIT_USAGE, &diag)
                      : gh__cli_error(GH_EXIT_INTERNAL, "/dev/null: %s", strerror(errno));
            goto out_scenario;
        }
        if (res.status != GH_STATUS_STALLED) { /* else it is what is reported */
            gh_result_free(&res);
            memset(&res, 0, sizeof res);
        }
    }
    if (res.status != GH_STATUS_STALLED && gh_run(s, &cfg, &res, &diag) != 0) {
        rc = gh__cli_diag(GH_EXIT_USAGE, &diag);
        goto out_scenario;
    }
    /* The watchdog's diagnosis, on stderr, even with --quiet. */
    if (res.stall)
        gh_report_stall(stderr, &res);
    if (gh__cli_interrupted)
        res.status = GH_STATUS_INTERRUPTED;

    json_t *j = NULL;
    if ((o.json || o.csv) && gh_report_json(&res, &j) != 0) {
        rc = gh__cli_error(GH_EXIT_INTERNAL, "out of memory building the results");
        goto out_result;
    }
    if (j && o.warmup_text &&
        json_object_set_new(json_object_get(j, "config"), "warmup_ns",
                            json_integer((json_int_t)o.warmup_ns)) != 0) {
        rc = gh__cli_error(GH_EXIT_INTERNAL, "out of memory building the results");
        goto out_json;
    }
    /* The text first: a result file that cannot be written after all (its
     * directory removed during the run) loses nothing else. */
    if (!o.quiet) {
        if (o.warmup_text)
            printf("warmup      a %s run first, discarded\n", o.warmup_text);
        gh_report_text(stdout, &res);
        if (o.timeline)
            gh_report_timeline(stdout, &res, 100);
        fflush(stdout);
    }
    int wrc = 0;
    if (o.json && gh_report_write_json(o.json, j, err, sizeof err) != 0)
        wrc = gh__cli_error(GH_EXIT_INTERNAL, "--json: %s", err);
    if (o.csv && write_csv(o.csv, j) != 0)
        wrc = GH_EXIT_INTERNAL; /* write_csv printed why */
    if (o.trace && gh_report_trace(&res, o.trace, err, sizeof err) != 0)
        wrc = gh__cli_error(GH_EXIT_INTERNAL, "--trace: %s", err);
    if (o.timeline_plot && gh__cli_timeline_plot(o.timeline_plot, &res) != 0)
        wrc = GH_EXIT_INTERNAL; /* it printed why */
    if (wrc != 0) {
        rc = wrc;
        goto out_json;
    }
    switch (res.status) {
    case GH_STATUS_OK:
        rc = GH_EXIT_OK;
        break;
    case GH_STATUS_FAILED:
    case GH_STATUS_HAZARDS:
        rc = GH_EXIT_CHECKS;
        break;
    case GH_STATUS_INTERRUPTED:
        rc = gh__cli_exit_interrupted();
        break;
    default:
        rc = GH_EXIT_INTERNAL;
    }

out_json:
    json_decref(j);
out_result:
    if (res.stall && !res.stall->joined) {
        /* Stuck workers still run: nothing they use may be freed, and the
         * process ends here (what was asked for is written). */
        fflush(NULL);
        _exit(rc);
    }
    gh_result_free(&res);
out_scenario:
    if (devnull)
        fclose(devnull);
    gh_scenario_free(s);
out:
    gh__cli_opts_free(&o);
    return rc;
}
