/* cmd_compare.c - `gilheap compare SCENARIO ...`: every cell (strategy x
 * thread count x repeat) runs in a fresh child process, so one crashing or
 * stalling cell never loses the others, and no run inherits another's heap.
 *
 * A child is `gilheap run SCENARIO --strategy P --threads N --seed S ...`
 * run by child.c (its result read back from an anonymous file; killed with
 * the parent; a Ctrl-C passed on once): the same binary, the same seed in
 * every cell (so cells differ only by strategy and threads). After a Ctrl-C
 * the parent reports the cells it has. It builds one table from them; the
 * CSV rows come from the same JSON (gh_report_csv_row), so the three outputs agree. --plot draws the
 * table's ops/s column with gnuplot (plot.c), leaving out the cells that
 * have no results.
 *
 * Cell status: the child's own status (ok, failed, hazards, interrupted), or
 *   crashed  the child died of a signal
 *   stalled  its watchdog fired (its result says who held what), or it
 *            outlived duration x 5 + 30 s and was killed
 *   error    it exited 2, or 3 without a stall, or left no readable results
 *   skipped  never started (Ctrl-C)
 * Exit status: 3 if any cell crashed, stalled or failed to run; else 130 if
 * interrupted; else 1 if any check failed or hazards were found; else 0.
 *
 * Before the cells, the calibration (cpus.c) times one fixed loop on each
 * CPU the cells will use (the --cpus list, or every CPU of the affinity
 * mask) and warns when they differ by more than 10%. With --cpus every
 * cell gets the list: worker i on LIST[i % len], so every one-thread cell
 * runs on LIST[0] in every repeat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"        // GH_VERSION, GH_GIT_COMMIT
#include "cli/cli.h"
#include "report/report.h"      // gh_report_*
#include "report/stats.h"       // gh_stats_median_ci
#include "scenario/scenario.h"  // gh_scenario_load

enum cell_status {
    CELL_SKIPPED, CELL_OK, CELL_FAILED, CELL_HAZARDS, CELL_INTERRUPTED,
    CELL_ERROR, CELL_STALLED, CELL_CRASHED,
};
/* In order of severity: a row shows its worst cell. */
static const char *const cell_names[] = {
    "skipped", "ok", "failed", "hazards", "interrupted", "error", "stalled", "crashed",
};

struct cell {
    int strategy;             /* index in cmp.presets */
    int threads;
    unsigned repeat;          /* 1-based */
    enum cell_status status;
    int signal;               /* crashed: the signal */
    int exit_code;            /* error: the child's exit status */
    json_t *result;           /* the child's JSON, or NULL */
};

struct cmp {
    struct gh_cli_opts o;
    const char *presets[GH_CLI_MAX_LIST];
    int npresets;
    bool unsafe[GH_CLI_MAX_LIST];
    char path[4096];
    const char *name;         /* the scenario's */
    uint64_t seed;
    uint64_t timeout_ns;
    uint64_t t_start;         /* when the first cell started (progress) */
    int ndone;                /* cells run so far (progress) */
    struct cell *cells;       /* [repeat][npresets][nthreads] */
    int ncells;
    struct gh_cli_calibration cal;
    bool has_cal;
};

/* Calibrations that differ by more than this (slowest / fastest) are
 * warned about. */
#define CAL_WARN_SPREAD 1.10

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static enum cell_status status_from_json(const json_t *res)
{
    const char *s = json_string_value(json_object_get(res, "status"));
    if (!s)
        return CELL_ERROR;
    for (int i = CELL_OK; i <= CELL_INTERRUPTED; i++)
        if (strcmp(s, cell_names[i]) == 0)
            return (enum cell_status)i;
    if (strcmp(s, "stalled") == 0) /* its own watchdog fired */
        return CELL_STALLED;
    return CELL_ERROR;
}

/* ---- one cell ---------------------------------------------------------- */

static void run_cell(struct cmp *c, struct cell *cell, int index)
{
    char threads[16], seed[32], ops[32], sample[16];
    const char *argv[32 + 4 * GH_CLI_MAX_LIST];
    int n = 0;

    snprintf(threads, sizeof threads, "%d", cell->threads);
    snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
    argv[n++] = "gilheap";
    argv[n++] = "run";
    argv[n++] = c->path;
    argv[n++] = "--strategy";
    argv[n++] = c->presets[cell->strategy];
    for (int i = 0; i < c->o.nsets; i++) {
        argv[n++] = "--set";
        argv[n++] = c->o.sets[i];
    }
    for (int i = 0; i < c->o.nparams; i++) {
        argv[n++] = "--param";
        argv[n++] = c->o.params[i];
    }
    argv[n++] = "--threads";
    argv[n++] = threads;
    argv[n++] = "--seed";
    argv[n++] = seed;
    if (c->o.duration_text) {
        argv[n++] = "--duration";
        argv[n++] = c->o.duration_text;
    }
    if (c->o.ops) {
        snprintf(ops, sizeof ops, "%" PRIu64, c->o.ops);
        argv[n++] = "--ops";
        argv[n++] = ops;
    }
    if (c->o.check)
        argv[n++] = c->o.check > 0 ? "--check" : "--no-check";
    snprintf(sample, sizeof sample, "%u", c->o.latency_sample);
    argv[n++] = "--latency-sample";
    argv[n++] = sample;
    if (c->o.cpus_text) {
        argv[n++] = "--cpus";
        argv[n++] = c->o.cpus_text;
    }
    if (c->o.warmup_text) {
        argv[n++] = "--warmup";
        argv[n++] = c->o.warmup_text;
    }

    struct gh_child ch;
    switch (gh__cli_run_child(argv, n, c->timeout_ns, false, &ch)) {
    case GH_CHILD_FAILED:
        gh__cli_error(0, "cell %d: %s", index, ch.why);
        cell->status = CELL_ERROR;
        cell->exit_code = -1;
        return;
    case GH_CHILD_TIMEOUT:
        cell->status = CELL_STALLED;
        return;
    case GH_CHILD_SIGNALED:
        cell->status = CELL_CRASHED;
        cell->signal = ch.signal;
        return;
    case GH_CHILD_EXITED:
        break;
    }
    int code = ch.exit_code;
    cell->result = ch.result;
    if (code == GH_EXIT_OK || code == GH_EXIT_CHECKS || code == 128 + SIGINT ||
        code == 128 + SIGTERM || code == GH_EXIT_INTERNAL)
        cell->status = cell->result ? status_from_json(cell->result) : CELL_ERROR;
    else
        cell->status = CELL_ERROR;
    /* Exit 3 is a stall only when the child says so. */
    if (code == GH_EXIT_INTERNAL && cell->status != CELL_STALLED)
        cell->status = CELL_ERROR;
    if (cell->status == CELL_ERROR)
        cell->exit_code = code;
}

/* ---- progress ----------------------------------------------------------- */

/* One line on a terminal, rewritten in place: cells done, the cell now
 * running, the time so far and an estimate of the time left (the mean time
 * of the cells done, or the duration with its start-up before the first).
 * Nothing when stderr is not a terminal. */
static void progress(struct cmp *c, const struct cell *cell)
{
    if (!isatty(STDERR_FILENO))
        return;
    double elapsed = (double)(now_ns() - c->t_start) / 1e9;
    double per = c->ndone ? elapsed / c->ndone
                 : c->o.duration_text ? (double)(c->o.duration_ns + c->o.warmup_ns) / 1e9 + 0.2
                                      : 0;
    int left = c->ncells - c->ndone;
    char eta[48] = "";
    if (per > 0) {
        double t = per * left;
        if (t >= 90)
            snprintf(eta, sizeof eta, ", ~%.0f min %02.0f s left", t / 60 - 0.5,
                     t - 60 * (int)(t / 60));
        else
            snprintf(eta, sizeof eta, ", ~%.0f s left", t);
    }
    fprintf(stderr, "\r\033[Kgilheap: [%d/%d] %s, %d thread%s, run %u of %u; %.0f s so far%s",
            c->ndone + 1, c->ncells, c->presets[cell->strategy], cell->threads,
            cell->threads == 1 ? "" : "s", cell->repeat, c->o.repeat, elapsed, eta);
    fflush(stderr);
}

static void progress_clear(void)
{
    if (isatty(STDERR_FILENO))
        fputs("\r\033[K", stderr);
}

/* ---- summary ----------------------------------------------------------- */

struct row {
    int strategy, threads;
    int runs;                 /* cells with results */
    double median, min, max;
    double ratio;             /* 0: no baseline */
    bool has_locks;
    double contended_pct;
    bool has_gil;
    double gil_switches;      /* median over the runs */
    bool has_gc;              /* some run collected */
    double gc_pause_p99;      /* ns, median over the runs that collected */
    int checks;               /* -1 none run, 0 all passed, 1 some failed */
    enum cell_status status;
    struct gh_median_ci ci;   /* of the runs' ops/s (report/stats.h) */
    bool wide;                /* min or max further than 10% from the median */
    bool has_lat;             /* latency of the cells' most frequent op */
    const char *lat_op;       /* its name (in a cell's result) */
    double p50, p99;          /* ns, median over the runs */
};

/* A spread wider than this fraction of the median is warned about. */
#define WIDE_SPREAD 0.10

/* The op with the most latency samples in one run's result. */
static const json_t *busiest_op(const json_t *res, const char **name)
{
    const json_t *best = NULL, *v;
    const char *key;
    double most = 0;
    json_object_foreach((json_t *)json_object_get(res, "latency"), key, v) {
        double n = json_number_value(json_object_get(v, "samples"));
        if (n > most) {
            most = n;
            best = v;
            *name = key;
        }
    }
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double num(const json_t *j)
{
    return json_is_number(j) ? json_number_value(j) : 0.0;
}

static void summarize(struct cmp *c, struct row *rows)
{
    int nt = c->o.nthreads;
    double *vals = calloc((size_t)c->o.repeat, sizeof *vals);
    double *gils = calloc((size_t)c->o.repeat, sizeof *gils);
    double *gcs = calloc((size_t)c->o.repeat, sizeof *gcs);
    double *p50s = calloc((size_t)c->o.repeat, sizeof *p50s);
    double *p99s = calloc((size_t)c->o.repeat, sizeof *p99s);
    for (int s = 0; s < c->npresets; s++) {
        for (int t = 0; t < nt; t++) {
            struct row *r = &rows[s * nt + t];
            memset(r, 0, sizeof *r);
            r->strategy = s;
            r->threads = c->o.threads[t];
            r->checks = -1;
            double acq = 0, cont = 0;
            int ngil = 0, ngc = 0, nlat = 0;
            for (unsigned k = 0; k < c->o.repeat; k++) {
                const struct cell *cell = &c->cells[((size_t)k * c->npresets + s) * nt + t];
                if (cell->status > r->status)
                    r->status = cell->status;
                const json_t *res = cell->result;
                if (!res)
                    continue;
                const json_t *tp = json_object_get(res, "throughput");
                if (vals && json_is_number(json_object_get(tp, "ops_per_sec")))
                    vals[r->runs++] = num(json_object_get(tp, "ops_per_sec"));
                const char *key;
                const json_t *lk;
                json_object_foreach((json_t *)json_object_get(res, "locks"), key, lk) {
                    acq += num(json_object_get(lk, "acquisitions"));
                    cont += num(json_object_get(lk, "contended"));
                }
                const json_t *sw = json_object_get(json_object_get(json_object_get(res, "locks"), "gil"), "switches");
                if (gils && json_is_number(sw))
                    gils[ngil++] = num(sw);
                const char *opname = NULL;
                const json_t *lat = busiest_op(res, &opname);
                if (lat && p50s && p99s) {
                    p50s[nlat] = num(json_object_get(lat, "p50"));
                    p99s[nlat++] = num(json_object_get(lat, "p99"));
                    r->lat_op = opname;
                }
                const json_t *gp = json_object_get(json_object_get(json_object_get(res, "gc"), "pause_ns"), "p99");
                if (gcs && json_is_number(gp))
                    gcs[ngc++] = num(gp);
                const json_t *checks = json_object_get(res, "checks");
                size_t i;
                const json_t *ck;
                if (json_is_array(checks) && r->checks < 0)
                    r->checks = 0;
                json_array_foreach(checks, i, ck) {
                    if (!json_is_true(json_object_get(ck, "pass")))
                        r->checks = 1;
                }
            }
            if (r->runs) {
                r->median = median(vals, r->runs);
                r->min = vals[0];
                r->max = vals[r->runs - 1];
                if (gh_stats_median_ci(vals, r->runs, &r->ci) == 0)
                    r->wide = gh_stats_wide(&r->ci, WIDE_SPREAD);
            }
            if (nlat) {
                r->has_lat = true;
                r->p50 = median(p50s, nlat);
                r->p99 = median(p99s, nlat);
            }
            if (acq > 0) {
                r->has_locks = true;
                r->contended_pct = 100.0 * cont / acq;
            }
            if (ngil) {
                r->has_gil = true;
                r->gil_switches = median(gils, ngil);
            }
            if (ngc) {
                r->has_gc = true;
                r->gc_pause_p99 = median(gcs, ngc);
            }
        }
    }
    free(vals);
    free(gils);
    free(gcs);
    free(p50s);
    free(p99s);

    /* The baseline: the gil preset at 1 thread, or else the first row with
     * a measurement. */
    const struct row *base = NULL;
    for (int i = 0; i < c->npresets * nt && !base; i++)
        if (rows[i].runs && rows[i].threads == 1 && strcmp(c->presets[rows[i].strategy], "gil") == 0)
            base = &rows[i];
    for (int i = 0; i < c->npresets * nt && !base; i++)
        if (rows[i].runs)
            base = &rows[i];
    for (int i = 0; i < c->npresets * nt; i++)
        if (base && rows[i].runs && base->median > 0)
            rows[i].ratio = rows[i].median / base->median;
}

static void print_table(const struct cmp *c, const struct row *rows, int nrows)
{
    const struct gh_machine *m = gh_report_machine();
    printf("compare %s (%s)  seed %" PRIu64, c->name, c->path, c->seed);
    if (c->o.duration_text)
        printf("  duration %s", c->o.duration_text);
    if (c->o.ops)
        printf("  ops %" PRIu64 "/thread", c->o.ops);
    printf("  repeat %u", c->o.repeat);
    for (int i = 0; i < c->o.nsets; i++)
        printf("  set %s", c->o.sets[i]);
    for (int i = 0; i < c->o.nparams; i++)
        printf("  param %s", c->o.params[i]);
    if (c->o.cpus_text)
        printf("  cpus %s", c->o.cpus_text);
    int rw = c->o.repeat > 1 ? 21 : 0; /* the (min-max) column, with its space */
    bool ci = c->o.repeat >= 5;        /* the median's interval, with its space */
    int cw = ci ? 21 : 0;
    /* The collector's pause column, when some run collected; latency when
     * some run sampled it. */
    bool gc = false, lat = false;
    const char *lat_op = NULL;
    bool lat_same = true;
    for (int i = 0; i < nrows; i++) {
        gc |= rows[i].has_gc;
        lat |= rows[i].has_lat;
        if (rows[i].has_lat) {
            if (lat_op && strcmp(lat_op, rows[i].lat_op) != 0)
                lat_same = false;
            lat_op = rows[i].lat_op;
        }
    }
    int gw = gc ? 10 : 0;
    printf("\n%-10s %7s %9s%-*s%-*s %6s %7s %9s %*s%s", "strategy", "threads", "ops/s", rw,
           rw ? " (min-max)" : "", cw, ci ? " [CI of median]" : "", "ratio", "cont%", "GIL sw",
           gw, gc ? "gc p99" : "", gc ? " " : "");
    if (lat)
        printf("%8s %8s ", "p50", "p99");
    printf("%6s %s\n", "checks", "status");
    int nwide = 0;
    double level = 1;
    for (int i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        char med[32] = "-", range[80] = "", ratio[16] = "-", cont[16] = "-", gil[32] = "-";
        char gcp[32] = "-", cis[80] = "";
        if (r->has_gc)
            gh_report_fmt_ns(gcp, sizeof gcp, (uint64_t)r->gc_pause_p99);
        if (r->runs) {
            gh_report_fmt_rate(med, sizeof med, r->median);
            if (r->wide) {
                strcat(med, "!");
                nwide++;
            }
            if (c->o.repeat > 1) {
                char lo[32], hi[32];
                gh_report_fmt_rate(lo, sizeof lo, r->min);
                gh_report_fmt_rate(hi, sizeof hi, r->max);
                snprintf(range, sizeof range, " (%s-%s)", lo, hi);
            }
            if (ci && r->ci.n >= 2) {
                char lo[32], hi[32];
                gh_report_fmt_rate(lo, sizeof lo, r->ci.lo);
                gh_report_fmt_rate(hi, sizeof hi, r->ci.hi);
                snprintf(cis, sizeof cis, " [%s-%s]", lo, hi);
                if (r->ci.level < level)
                    level = r->ci.level;
            }
        }
        if (r->ratio > 0)
            snprintf(ratio, sizeof ratio, "%.2f", r->ratio);
        if (r->has_locks)
            snprintf(cont, sizeof cont, "%.1f%%", r->contended_pct);
        if (r->has_gil)
            snprintf(gil, sizeof gil, "%.0f", r->gil_switches);
        printf("%-10s %7d %9s%-*s%-*s %6s %7s %9s %*s%s", c->presets[r->strategy], r->threads,
               med, rw, range, cw, cis, ratio, cont, gil, gw, gc ? gcp : "", gc ? " " : "");
        if (lat) {
            char a[32] = "-", b[32] = "-";
            if (r->has_lat) {
                gh_report_fmt_ns(a, sizeof a, (uint64_t)r->p50);
                gh_report_fmt_ns(b, sizeof b, (uint64_t)r->p99);
            }
            printf("%8s %8s ", a, b);
        }
        printf("%6s %-*s%s\n", r->checks < 0 ? "-" : r->checks ? "FAIL" : "pass",
               c->unsafe[r->strategy] ? 11 : 0, cell_names[r->status],
               c->unsafe[r->strategy] ? " unsafe" : "");
    }
    if (ci)
        printf("CI: an interval of the median from the runs' order statistics, covering it "
               "with %.1f%% confidence or more\n", 100 * level);
    if (nwide)
        printf("!: %d row%s spread more than %.0f%% from the median (min or max): a noisy "
               "machine, or too few runs to trust the ratio; more --repeat, --cpus, or a "
               "quieter machine\n", nwide, nwide == 1 ? "" : "s", 100 * WIDE_SPREAD);
    if (lat)
        printf("p50, p99: latency of %s%s%s, median over the runs (1 op in %u timed)\n",
               lat_same && lat_op ? "`" : "each cell's most frequent op",
               lat_same && lat_op ? lat_op : "", lat_same && lat_op ? "`" : "",
               c->o.latency_sample);
    int maxt = 0;
    for (int t = 0; t < c->o.nthreads; t++)
        if (c->o.threads[t] > maxt)
            maxt = c->o.threads[t];
    printf("machine: %s, %ld cores", m->cpu_model[0] ? m->cpu_model : "unknown cpu", m->cores);
    if (m->cores > 0 && maxt > m->cores)
        printf("; oversubscribed: %d threads on %ld cores", maxt, m->cores);
    printf("\n");
}

/* ---- outputs ----------------------------------------------------------- */

/* jansson steals the value even on failure; a NULL value (no memory) or a
 * failed insert sets *oom, checked once at the end. */
static void set_new(bool *oom, json_t *obj, const char *key, json_t *val)
{
    if (!val || json_object_set_new(obj, key, val) != 0)
        *oom = true;
}

static void add_new(bool *oom, json_t *arr, json_t *val)
{
    if (!val || json_array_append_new(arr, val) != 0)
        *oom = true;
}

static json_t *compare_json(const struct cmp *c, const struct row *rows, int nrows)
{
    bool oom = false;
#define SET(o, k, v) set_new(&oom, (o), (k), (v))
#define ADD(a, v) add_new(&oom, (a), (v))
    json_t *top = json_object(), *cfg = json_object(), *cells = json_array(),
           *summary = json_array(), *arr;
    if (!top || !cfg || !cells || !summary) {
        json_decref(top);
        json_decref(cfg);
        json_decref(cells);
        json_decref(summary);
        return NULL;
    }
    SET(top, "schema", json_integer(GH_REPORT_SCHEMA));
    SET(top, "gilheap", gh_report_build_json());
    SET(top, "machine", gh_report_machine_json());
    SET(top, "environment", gh_report_env_json(0));
    SET(top, "scenario", json_pack("{s:s, s:s}", "name", c->name, "file", c->path));
    arr = json_array();
    for (int i = 0; arr && i < c->npresets; i++)
        ADD(arr, json_string(c->presets[i]));
    SET(cfg, "strategies", arr);
    arr = json_array();
    for (int i = 0; arr && i < c->o.nsets; i++)
        ADD(arr, json_string(c->o.sets[i]));
    SET(cfg, "sets", arr);
    if (c->o.nparams) {
        arr = json_array();
        for (int i = 0; arr && i < c->o.nparams; i++)
            ADD(arr, json_string(c->o.params[i]));
        SET(cfg, "params", arr);
    }
    arr = json_array();
    for (int i = 0; arr && i < c->o.nthreads; i++)
        ADD(arr, json_integer(c->o.threads[i]));
    SET(cfg, "threads", arr);
    SET(cfg, "repeat", json_integer(c->o.repeat));
    SET(cfg, "seed", json_integer((json_int_t)c->seed));
    if (c->o.duration_text)
        SET(cfg, "duration_ns", json_integer((json_int_t)c->o.duration_ns));
    if (c->o.ops)
        SET(cfg, "ops_per_thread", json_integer((json_int_t)c->o.ops));
    SET(cfg, "latency_sample", json_integer(c->o.latency_sample));
    if (c->o.warmup_text)
        SET(cfg, "warmup_ns", json_integer((json_int_t)c->o.warmup_ns));
    if (c->o.ncpus) {
        arr = json_array();
        for (int i = 0; arr && i < c->o.ncpus; i++)
            ADD(arr, json_integer(c->o.cpus[i]));
        SET(cfg, "cpus", arr);
    }
    SET(top, "config", cfg);
    if (c->has_cal) {
        json_t *cal = json_object();
        arr = json_array();
        for (int i = 0; arr && i < c->cal.ncpus; i++)
            ADD(arr, json_pack("{s:i, s:f}", "cpu", c->cal.cpu[i], "ns_per_iter", c->cal.ns[i]));
        if (cal) {
            SET(cal, "loop", json_string("malloc/free of 16-256 byte blocks, each read back "
                                         "through a ring of 256 pointers"));
            SET(cal, "iterations", json_integer((json_int_t)c->cal.iters));
            SET(cal, "rounds", json_integer(c->cal.rounds));
            SET(cal, "cpus", arr);
            SET(cal, "spread", json_real(c->cal.spread));
            SET(cal, "warning", json_boolean(c->cal.spread > CAL_WARN_SPREAD));
        } else {
            json_decref(arr);
        }
        SET(top, "calibration", cal);
    }

    for (int i = 0; i < c->ncells; i++) {
        const struct cell *cell = &c->cells[i];
        json_t *e = json_object();
        if (!e) {
            oom = true;
            break;
        }
        SET(e, "strategy", json_string(c->presets[cell->strategy]));
        SET(e, "threads", json_integer(cell->threads));
        SET(e, "repeat", json_integer(cell->repeat));
        SET(e, "status", json_string(cell_names[cell->status]));
        if (cell->status == CELL_CRASHED)
            SET(e, "signal", json_string(sigabbrev_np(cell->signal) ? sigabbrev_np(cell->signal) : "?"));
        if (cell->status == CELL_ERROR)
            SET(e, "exit_code", json_integer(cell->exit_code));
        SET(e, "result", cell->result ? json_incref(cell->result) : json_null());
        ADD(cells, e);
    }
    SET(top, "cells", cells);

    for (int i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        json_t *e = json_object();
        if (!e) {
            oom = true;
            break;
        }
        SET(e, "strategy", json_string(c->presets[r->strategy]));
        SET(e, "threads", json_integer(r->threads));
        SET(e, "unsafe", json_boolean(c->unsafe[r->strategy]));
        SET(e, "runs", json_integer(r->runs));
        if (r->runs) {
            json_t *ops = json_pack("{s:f, s:f, s:f}", "median", r->median, "min", r->min,
                                    "max", r->max);
            if (ops && r->ci.n >= 2) {
                SET(ops, "ci_lo", json_real(r->ci.lo));
                SET(ops, "ci_hi", json_real(r->ci.hi));
                SET(ops, "ci_level", json_real(r->ci.level));
            }
            if (ops)
                SET(ops, "wide_spread", json_boolean(r->wide));
            SET(e, "ops_per_sec", ops);
        }
        if (r->has_lat)
            SET(e, "latency", json_pack("{s:s, s:f, s:f}", "op", r->lat_op, "p50_ns", r->p50,
                                        "p99_ns", r->p99));
        if (r->ratio > 0)
            SET(e, "ratio", json_real(r->ratio));
        if (r->has_locks)
            SET(e, "contended_pct", json_real(r->contended_pct));
        if (r->has_gil)
            SET(e, "gil_switches", json_real(r->gil_switches));
        if (r->has_gc)
            SET(e, "gc_pause_p99_ns", json_real(r->gc_pause_p99));
        if (r->checks >= 0)
            SET(e, "checks", json_string(r->checks ? "FAIL" : "pass"));
        SET(e, "status", json_string(cell_names[r->status]));
        ADD(summary, e);
    }
    SET(top, "summary", summary);
#undef SET
#undef ADD
    if (oom) {
        json_decref(top);
        return NULL;
    }
    return top;
}

static int compare_csv(const struct cmp *c, char **buf, size_t *len)
{
    size_t cap = 0;
    char num[32];
    int rc = gh_report_csv_raw(buf, len, &cap, "cell_strategy,cell_threads,cell_repeat,cell_status,");
    if (rc == 0)
        rc = gh_report_csv_raw(buf, len, &cap, gh_report_csv_header());
    if (rc == 0)
        rc = gh_report_csv_raw(buf, len, &cap, "\n");
    for (int i = 0; rc == 0 && i < c->ncells; i++) {
        const struct cell *cell = &c->cells[i];
        rc = gh_report_csv_field(buf, len, &cap, c->presets[cell->strategy], 0);
        snprintf(num, sizeof num, "%d", cell->threads);
        if (rc == 0)
            rc = gh_report_csv_field(buf, len, &cap, num, 1);
        snprintf(num, sizeof num, "%u", cell->repeat);
        if (rc == 0)
            rc = gh_report_csv_field(buf, len, &cap, num, 1);
        if (rc == 0)
            rc = gh_report_csv_field(buf, len, &cap, cell_names[cell->status], 1);
        if (rc == 0)
            rc = gh_report_csv_raw(buf, len, &cap, ",");
        if (rc == 0)
            rc = gh_report_csv_row(cell->result, buf, len, &cap);
        if (rc == 0)
            rc = gh_report_csv_raw(buf, len, &cap, "\n");
    }
    return rc;
}

/* ---- --plot ------------------------------------------------------------ */

/* The rows with results; the cells without (crashed, stalled, failed to
 * run, skipped) are named on stderr. Returns 0 or an exit status. */
static int plot(const struct cmp *c, const struct row *rows, int nrows)
{
    struct gh_cli_plot_point *pts = calloc((size_t)nrows, sizeof *pts);
    if (!pts)
        return gh__cli_error(GH_EXIT_INTERNAL, "--plot: out of memory");
    int n = 0;
    for (int i = 0; i < nrows; i++) {
        if (!rows[i].runs)
            continue;
        pts[n].series = rows[i].strategy;
        pts[n].threads = rows[i].threads;
        pts[n].median = rows[i].median;
        pts[n].min = rows[i].min;
        pts[n].max = rows[i].max;
        pts[n].failed = rows[i].checks == 1 || rows[i].status == CELL_FAILED ||
                        rows[i].status == CELL_HAZARDS;
        n++;
    }
    bool unsafe[GH_CLI_MAX_LIST] = {false};
    for (int s = 0; s < c->npresets && s < GH_CLI_MAX_LIST; s++) {
        struct gh_strategy st;
        char e2[256];
        bool ok = gh_strategy_from_preset(&st, c->presets[s], e2, sizeof e2) == 0;
        for (int k = 0; ok && k < c->o.nsets; k++)
            ok = gh_strategy_set(&st, c->o.sets[k], e2, sizeof e2) == 0;
        unsafe[s] = ok && gh_strategy_unsafe_reason(&st) != NULL;
    }
    /* What the figure is made of, under its title. */
    char subtitle[512], len[64];
    const struct gh_machine *m = gh_report_machine();
    if (c->o.duration_text)
        snprintf(len, sizeof len, "%s", c->o.duration_text);
    else if (c->o.ops)
        snprintf(len, sizeof len, "%" PRIu64 " ops/thread", c->o.ops);
    else
        snprintf(len, sizeof len, "the scenario's length");
    snprintf(subtitle, sizeof subtitle, "%s x %u run%s per point, seed %" PRIu64 "%s%s  |  "
             "%s, %ld cores  |  gilheap %s (%s)", len, c->o.repeat, c->o.repeat == 1 ? "" : "s",
             c->seed, c->o.nsets ? ", " : "", c->o.nsets ? "--set applied" : "",
             m->cpu_model[0] ? m->cpu_model : "unknown CPU", m->cores, GH_VERSION,
             GH_GIT_COMMIT);
    int missing = 0;
    for (int i = 0; i < c->ncells; i++)
        missing += c->cells[i].result == NULL;
    if (missing) {
        fprintf(stderr, "gilheap: --plot leaves out %d cell%s without results:", missing,
                missing == 1 ? "" : "s");
        int shown = 0;
        for (int i = 0; i < c->ncells && shown < 8; i++) {
            const struct cell *cell = &c->cells[i];
            if (cell->result)
                continue;
            fprintf(stderr, "%s %s x %d threads (run %u, %s)", shown++ ? "," : "",
                    c->presets[cell->strategy], cell->threads, cell->repeat,
                    cell_names[cell->status]);
        }
        fprintf(stderr, "%s\n", missing > shown ? ", ..." : "");
    }
    struct gh_cli_plot p = {
        .file = c->o.plot,
        .title = c->name,
        .series = c->presets,
        .nseries = c->npresets,
        .points = pts,
        .npoints = n,
        .threads = c->o.threads,
        .nthreads = c->o.nthreads,
        .repeat = c->o.repeat,
        .cores = gh_report_machine()->cores,
        .unsafe = unsafe,
        .subtitle = subtitle,
    };
    int rc = gh__cli_plot_write(&p);
    free(pts);
    return rc;
}

/* ---- calibration ------------------------------------------------------- */

/* Times the calibration loop on each CPU the cells will use, prints the
 * speeds, warns when they differ by more than 10%. A failure to pin is a
 * warning: the cells still run. */
static void calibrate(struct cmp *c)
{
    static int cpus[GH_CLI_MAX_CPUS];
    int n = c->o.ncpus;
    if (n)
        memcpy(cpus, c->o.cpus, sizeof *cpus * (size_t)n);
    else
        n = gh__cli_allowed_cpus(cpus, GH_CLI_MAX_CPUS);
    char err[256];
    if (n == 0 || gh__cli_calibrate(cpus, n, &c->cal, err, sizeof err) != 0) {
        fprintf(stderr, "gilheap: warning: calibration skipped: %s\n",
                n ? err : "no CPU in the affinity mask");
        return;
    }
    c->has_cal = true;
    double lo = c->cal.ns[0];
    for (int i = 1; i < c->cal.ncpus; i++)
        if (c->cal.ns[i] < lo)
            lo = c->cal.ns[i];
    printf("calibration (%s; best of %d rounds of %" PRIu64 " malloc/free iterations):",
           c->o.ncpus ? "the --cpus list" : "every CPU of the affinity mask", c->cal.rounds,
           c->cal.iters);
    for (int i = 0; i < c->cal.ncpus; i++)
        printf("%s cpu %d %.1f ns (%.2fx)", i ? "," : "", c->cal.cpu[i], c->cal.ns[i],
               c->cal.ns[i] / lo);
    printf("\n");
    fflush(stdout);
    if (c->cal.spread > CAL_WARN_SPREAD)
        fprintf(stderr, "gilheap: warning: the CPUs differ in speed by %.0f%% (slowest / "
                "fastest %.2f)%s\n", (c->cal.spread - 1) * 100, c->cal.spread,
                c->o.ncpus ? ": cells with more threads than the first CPU's run on slower ones"
                           : ": one-thread cells land on either; pin them with --cpus N");
}

/* ---- the command ------------------------------------------------------- */

static int prepare(struct cmp *c)
{
    struct gh_diag diag = {{0}};
    char err[512];
    int rc;
    struct gh_cli_opts *o = &c->o;

    if (o->nstrategies) {
        c->npresets = o->nstrategies;
        memcpy(c->presets, o->strategies, sizeof(char *) * (size_t)o->nstrategies);
    } else {
        for (size_t i = 0; i < gh_npresets && i < GH_CLI_MAX_LIST; i++)
            c->presets[c->npresets++] = gh_presets[i].name;
    }
    for (int i = 0; i < c->npresets; i++) {
        struct gh_strategy st;
        if ((rc = gh__cli_strategy(&st, "--strategies", c->presets[i], o->sets, o->nsets)) != 0)
            return rc;
        c->unsafe[i] = gh_strategy_unsafe_reason(&st) != NULL;
    }
    if (!o->nthreads) {
        o->threads[0] = 1;
        o->threads[1] = 2;
        o->nthreads = 2;
    }
    if (o->json && gh_report_check_writable(o->json, err, sizeof err) != 0)
        return gh__cli_error(GH_EXIT_USAGE, "--json: %s", err);
    if (o->csv && gh_report_check_writable(o->csv, err, sizeof err) != 0)
        return gh__cli_error(GH_EXIT_USAGE, "--csv: %s", err);
    if (o->plot && (rc = gh__cli_plot_check("--plot", o->plot)) != 0)
        return rc;
    if ((rc = gh__cli_scenario_path(o->scenario, c->path, sizeof c->path)) != 0)
        return rc;

    /* Load it here too: a bad file or thread count is reported once, with
     * exit status 2, instead of once per cell. */
    struct gh_scenario *s = gh_scenario_load_cli(c->path, o->params, o->nparams,
                                                 o->duration_text || o->ops, &diag);
    if (!s)
        return gh__cli_diag(GH_EXIT_USAGE, &diag);
    rc = 0;
    for (int t = 0; t < o->nthreads && rc == 0; t++)
        if (gh_scenario_assign_threads(s, o->threads[t], &diag) != 0)
            rc = gh__cli_diag(GH_EXIT_USAGE, &diag);
    static char name[256];
    snprintf(name, sizeof name, "%s", s->name ? s->name : o->scenario);
    c->name = name;
    uint64_t duration = o->duration_text ? o->duration_ns : o->ops ? 0 : s->duration_ns;
    gh_scenario_free(s);
    if (rc != 0)
        return rc;

    /* Every cell runs with the same seed, so cells differ only by strategy
     * and thread count. */
    c->seed = o->seed_given ? o->seed : 1;
    /* A run counted in ops has no known length: allow it 10 minutes. */
    c->timeout_ns = duration ? duration * 5 + 30ull * 1000000000u : 600ull * 1000000000u;
    if (o->warmup_text)
        c->timeout_ns += o->warmup_ns;
    return 0;
}

int gh__cli_compare(int argc, char **argv)
{
    struct cmp c;
    struct row *rows = NULL;
    json_t *j = NULL;
    char err[512];
    int rc;

    memset(&c, 0, sizeof c);
    rc = gh__cli_parse(&c.o, "compare", argc, argv, 2);
    if (rc != 0 || c.o.help) {
        if (rc == 0)
            gh__cli_help_compare();
        gh__cli_opts_free(&c.o);
        return rc;
    }
    if ((rc = prepare(&c)) != 0)
        goto out;

    int nt = c.o.nthreads;
    c.ncells = (int)c.o.repeat * c.npresets * nt;
    c.cells = calloc((size_t)c.ncells, sizeof *c.cells);
    rows = calloc((size_t)(c.npresets * nt), sizeof *rows);
    if (!c.cells || !rows) {
        rc = gh__cli_error(GH_EXIT_INTERNAL, "out of memory");
        goto out_tmp;
    }
    calibrate(&c);
    gh__cli_catch_sigint();
    c.t_start = now_ns();
    for (unsigned k = 0; k < c.o.repeat; k++) {
        for (int s = 0; s < c.npresets; s++) {
            for (int t = 0; t < nt; t++) {
                int i = ((int)k * c.npresets + s) * nt + t;
                struct cell *cell = &c.cells[i];
                cell->strategy = s;
                cell->threads = c.o.threads[t];
                cell->repeat = k + 1;
                if (gh__cli_interrupted) {
                    cell->status = CELL_SKIPPED;
                    continue;
                }
                progress(&c, cell);
                run_cell(&c, cell, i);
                c.ndone++;
                if (cell->status == CELL_CRASHED || cell->status == CELL_STALLED)
                    progress_clear();
                if (cell->status == CELL_CRASHED)
                    gh__cli_error(0, "cell %s x %d threads (run %u) crashed: signal %s",
                                  c.presets[s], cell->threads, k + 1,
                                  sigabbrev_np(cell->signal) ? sigabbrev_np(cell->signal) : "?");
                else if (cell->status == CELL_STALLED)
                    gh__cli_error(0, "cell %s x %d threads (run %u) stalled: killed after %.0f s",
                                  c.presets[s], cell->threads, k + 1,
                                  (double)c.timeout_ns / 1e9);
            }
        }
    }

    progress_clear();
    summarize(&c, rows);
    print_table(&c, rows, c.npresets * nt);
    fflush(stdout);

    rc = GH_EXIT_OK;
    for (int i = 0; i < c.ncells; i++) {
        enum cell_status s = c.cells[i].status;
        /* An unsafe strategy's hazards (and the failed checks they cause)
         * are expected: its row is labelled, not a failure of the run. */
        if (s == CELL_FAILED || s == CELL_HAZARDS) {
            struct gh_strategy st;
            char e2[256];
            bool ok = gh_strategy_from_preset(&st, c.presets[c.cells[i].strategy], e2,
                                              sizeof e2) == 0;
            for (int k = 0; ok && k < c.o.nsets; k++)
                ok = gh_strategy_set(&st, c.o.sets[k], e2, sizeof e2) == 0;
            if (ok && gh_strategy_unsafe_reason(&st))
                continue;
        }
        int r = s >= CELL_ERROR ? GH_EXIT_INTERNAL
                : s == CELL_INTERRUPTED || s == CELL_SKIPPED ? GH_EXIT_INTERRUPTED
                : s == CELL_FAILED || s == CELL_HAZARDS ? GH_EXIT_CHECKS
                : GH_EXIT_OK;
        /* 3 beats 130 beats 1 beats 0. */
        if (r == GH_EXIT_INTERNAL || (r == GH_EXIT_INTERRUPTED && rc != GH_EXIT_INTERNAL) ||
            (r == GH_EXIT_CHECKS && rc == GH_EXIT_OK))
            rc = r;
    }

    if (rc == GH_EXIT_INTERRUPTED)
        rc = gh__cli_exit_interrupted(); /* 130 or 143 */
    if (c.o.json) {
        j = compare_json(&c, rows, c.npresets * nt);
        if (!j)
            rc = gh__cli_error(GH_EXIT_INTERNAL, "out of memory building the results");
        else if (gh_report_write_json(c.o.json, j, err, sizeof err) != 0)
            rc = gh__cli_error(GH_EXIT_INTERNAL, "--json: %s", err);
    }
    if (c.o.csv) {
        char *buf = NULL;
        size_t len = 0;
        if (compare_csv(&c, &buf, &len) != 0)
            rc = gh__cli_error(GH_EXIT_INTERNAL, "out of memory building the CSV");
        else if (gh_report_write_file(c.o.csv, buf, len, err, sizeof err) != 0)
            rc = gh__cli_error(GH_EXIT_INTERNAL, "--csv: %s", err);
        free(buf);
    }
    if (c.o.plot) {
        int prc = plot(&c, rows, c.npresets * nt);
        if (prc != 0)
            rc = prc;
    }

out_tmp:
out:
    json_decref(j);
    for (int i = 0; c.cells && i < c.ncells; i++)
        json_decref(c.cells[i].result);
    free(c.cells);
    free(rows);
    gh__cli_opts_free(&c.o);
    return rc;
}
