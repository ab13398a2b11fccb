/* cli.h - the pieces of the `gilheap` program shared by its commands.
 *
 * Exit statuses: 0 ran and every check held; 1 ran but a check
 * failed or hazards were found; 2 bad usage or input; 3 internal error, or
 * a compare cell that crashed or stalled. An interrupted run exits 128 +
 * the signal, as a shell reports it: 130 for Ctrl-C (SIGINT), 143 for
 * SIGTERM.
 *
 * Every error is one line on stderr naming the argument or the place and
 * what was expected: "gilheap: error: ..." (usage errors add "Try 'gilheap
 * --help'"), or for a problem inside a scenario file
 * "FILE:LINE:COLUMN: error: ..." (docs/scenarios.md).
 *
 * Layer: cli (top; may include every other layer).
 */
#ifndef GH_CLI_CLI_H
#define GH_CLI_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/compiler.h"     // GH_PRINTF
#include "scenario/strategy.h" // struct gh_strategy

enum {
    GH_EXIT_OK = 0,
    GH_EXIT_CHECKS = 1,
    GH_EXIT_USAGE = 2,
    GH_EXIT_INTERNAL = 3,
    GH_EXIT_INTERRUPTED = 130,
};

/* Largest --threads the CLI accepts. */
#define GH_CLI_MAX_THREADS 1024
/* Largest --repeat. */
#define GH_CLI_MAX_REPEAT 1000
/* Most --set options, strategies or thread counts in one invocation. */
#define GH_CLI_MAX_LIST 64
/* Most entries in a --cpus list (after ranges are expanded). */
#define GH_CLI_MAX_CPUS 1024
/* run --trace-events: at most this many events per thread (32 bytes each),
 * and the default. */
#define GH_CLI_MAX_TRACE_EVENTS (1u << 22)
#define GH_CLI_TRACE_EVENTS_DEFAULT (1u << 18)
/* The latency sample's default period: one op in this many is timed. A
 * timed op costs about 40 ns more than another (two clock reads, the
 * histogram, a call), so 1/16 added 2-2.6 ns to every op, 1/1024 adds
 * under 0.1 (bench/runner; docs/results.md, "The runner's own cost"). */
#define GH_CLI_LATENCY_SAMPLE 1024

/* ---- messages (main.c) ------------------------------------------------- */

/* "gilheap: error: ..." + "Try 'gilheap --help'"; returns GH_EXIT_USAGE. */
GH_PRINTF(1, 2) int gh__cli_usage(const char *fmt, ...);
/* "gilheap: error: ..."; returns `status`. */
GH_PRINTF(2, 3) int gh__cli_error(int status, const char *fmt, ...);
/* Prints a scenario-layer diagnostic ("FILE:LINE:COLUMN: error: WHAT") as
 * "gilheap: error: FILE:LINE:COLUMN: WHAT"; returns `status`. */
struct gh_diag;
int gh__cli_diag(int status, const struct gh_diag *d);
/* Progress line on stderr, only when stderr is a terminal. */
GH_PRINTF(1, 2) void gh__cli_progress(const char *fmt, ...);

/* The signal (SIGINT or SIGTERM) that interrupted the command, or 0; set by
 * the handler gh__cli_catch_sigint installs, which also stops a running
 * gh_run. A second signal while it is set kills the process at once
 * (default action). */
extern volatile sig_atomic_t gh__cli_interrupted;
void gh__cli_catch_sigint(void);
/* 128 + that signal (130 when none was recorded). */
int gh__cli_exit_interrupted(void);

/* ---- options (args.c) --------------------------------------------------- */

struct gh_cli_opts {
    const char *command;            /* "run" or "compare" */
    const char *scenario;           /* as given */
    const char *preset;             /* run --strategy */
    const char *strategies[GH_CLI_MAX_LIST]; /* compare --strategies */
    int nstrategies;
    const char *sets[GH_CLI_MAX_LIST];       /* --set, in order */
    int nsets;
    const char *params[GH_CLI_MAX_LIST];     /* --param NAME=VALUE, in order */
    int nparams;
    int threads[GH_CLI_MAX_LIST];   /* run: one; compare: the list */
    int nthreads;
    const char *duration_text;      /* --duration as given, or NULL */
    uint64_t duration_ns;
    uint64_t ops;                   /* --ops, 0 when not given */
    uint64_t seed;
    bool seed_given;
    unsigned repeat;                /* compare; default 1 */
    const char *json;
    const char *csv;
    const char *plot;               /* compare --plot: .png or .svg */
    bool quiet;
    int check;                      /* --check 1, --no-check -1, default 0 */
    uint64_t census_ns;             /* run --census: the census's period; 0 default */
    const char *trace;              /* run --trace FILE, or NULL */
    uint32_t trace_events;          /* run --trace-events; 0: the default */
    bool timeline;                  /* run --timeline */
    const char *timeline_plot;      /* run --timeline-plot FILE (.png, .svg), or NULL */
    uint64_t report_every_ns;       /* run --report-every D; 0: none */
    uint32_t lock_profile;          /* run --lock-profile N; 0: off (--trace and
                                       --timeline turn it on at 1024) */
    unsigned latency_sample;        /* --latency-sample (default GH_CLI_LATENCY_SAMPLE) */
    struct gh_inject_spec inject[GH_INJ_COUNT]; /* run --inject, in order */
    int ninject;
    uint64_t stall_ns;              /* run --stall: 0 the default, UINT64_MAX off */
    const char *cpus_text;          /* --cpus as given, or NULL */
    const char *warmup_text;        /* --warmup as given, or NULL */
    uint64_t warmup_ns;             /* --warmup: a discarded run first */
    int cpus[GH_CLI_MAX_CPUS];      /* --cpus expanded: worker i runs on cpus[i % ncpus] */
    int ncpus;
    bool help;
    char *owned[GH_CLI_MAX_LIST];   /* copies the lists point into */
    int nowned;
};

/* Parses argv[first..argc) for `command`. Returns 0, or an exit status
 * after printing the error. */
int gh__cli_parse(struct gh_cli_opts *o, const char *command, int argc, char **argv,
                  int first);
void gh__cli_opts_free(struct gh_cli_opts *o);

/* Preset + every --set, with the refusal check; optname ("--strategy")
 * names the option in messages. Returns 0, or GH_EXIT_USAGE after printing
 * the error. */
int gh__cli_strategy(struct gh_strategy *st, const char *optname, const char *preset,
                     const char *const *sets, int nsets);

/* ---- CPUs (cpus.c) ------------------------------------------------------ */

/* Parses a CPU list ("0", "0,1", "0-3", "0,2-3") into cpus[max]; every CPU
 * must be in the process's affinity mask. Returns the count, or -1 with a
 * message in err (what was wrong, and the CPUs allowed). */
int gh__cli_parse_cpus(const char *text, int *cpus, int max, char *err, size_t errlen);
/* The CPUs of the process's affinity mask, in order, into cpus[max];
 * how many. */
int gh__cli_allowed_cpus(int *cpus, int max);
/* "0-1,4" for the list (sorted, duplicates merged). */
void gh__cli_format_cpus(const int *cpus, int n, char *buf, size_t len);

/* The calibration of compare: a fixed allocation-heavy loop timed on each
 * CPU. */
struct gh_cli_calibration {
    int ncpus;
    int cpu[GH_CLI_MAX_CPUS];
    double ns[GH_CLI_MAX_CPUS];     /* ns per iteration, the best of the rounds */
    uint64_t iters;                 /* per round */
    int rounds;
    double spread;                  /* slowest / fastest */
};
/* Times the loop on each of cpus[n] (the calling thread pinned to each in
 * turn, rounds interleaved; its affinity restored after). Returns 0, or -1
 * when a CPU could not be pinned (err says which). */
int gh__cli_calibrate(const int *cpus, int n, struct gh_cli_calibration *out, char *err,
                      size_t errlen);

/* ---- scenarios (scenarios.c) -------------------------------------------- */

/* The directories searched for bare scenario names, in order: ./scenarios,
 * $GH_SCENARIO_DIR, <binary dir>/../scenarios,
 * <binary dir>/../share/gilheap/scenarios, the configured install directory.
 * Fills up to max entries with the ones that exist; returns how many. */
#define GH_CLI_SCENARIO_DIRS 5
/* `gilheap list --json`'s "schema": raised on any incompatible change. */
#define GH_LIST_SCHEMA 1
int gh__cli_scenario_dirs(char dirs[][4096], int max);
/* Resolves SCENARIO (a path, or a bare name looked up as NAME.yaml in the
 * directories above) into path. Returns 0, or GH_EXIT_USAGE after printing
 * the error. */
int gh__cli_scenario_path(const char *arg, char *path, size_t len);

/* ---- plots (plot.c) ---------------------------------------------------- */

enum { GH_PLOT_NONE, GH_PLOT_PNG, GH_PLOT_SVG };

/* The format FILE's extension names (.png or .svg, any case), or
 * GH_PLOT_NONE. */
int gh__cli_plot_format(const char *file);
/* Before any cell runs: FILE could be written and gnuplot is on PATH.
 * Returns 0, or GH_EXIT_USAGE after printing the error (prefixed with
 * opt, the option that named FILE). */
int gh__cli_plot_check(const char *opt, const char *file);
/* `s` as a single-quoted gnuplot string: '' for ', control characters as
 * spaces. */
void gh__cli_plot_put_str(FILE *f, const char *s);
/* --timeline-plot FILE: the run's timeline strip drawn by gnuplot
 * (plot_timeline.c). Returns 0, or GH_EXIT_INTERNAL after printing the
 * error. */
struct gh_result;
int gh__cli_timeline_plot(const char *file, const struct gh_result *r);
/* Runs gnuplot in a fresh temporary directory (removed afterwards) where
 * write(dir, out, arg) put the script plot.gp and its data; plot.gp draws
 * `out` (plot.png or plot.svg, as FILE's extension says), which is copied
 * to FILE whole or not at all. Returns 0, or GH_EXIT_INTERNAL after
 * printing the error, prefixed with opt. write returns 0 or -errno. */
int gh__cli_gnuplot_render(const char *opt, const char *file,
                           int (*write)(const char *dir, const char *out, const void *arg),
                           const void *arg);

/* One strategy x thread count with results. */
struct gh_cli_plot_point {
    int series;                     /* index in gh_cli_plot.series */
    int threads;
    double median, min, max;        /* ops/s over the repeats */
    bool failed;                    /* a check failed or hazards were found */
};

struct gh_cli_plot {
    const char *file;               /* .png or .svg */
    const char *title;              /* the scenario's name */
    const char *const *series;      /* strategy names */
    int nseries;
    const struct gh_cli_plot_point *points;
    int npoints;
    const int *threads;             /* every thread count asked for: the x tics */
    int nthreads;
    unsigned repeat;
    long cores;                     /* online cores; <= 0 unknown */
    const bool *unsafe;             /* per series: unsafe by construction */
    const char *subtitle;           /* duration, repeats, seed, machine, version */
};

/* The style of a strategy in every figure: its colour, marker (a filled
 * gnuplot point type; the hollow one is pointtype - 1) and dash type. */
struct gh_cli_plot_style {
    const char *color;
    int pointtype, dashtype;
};
void gh__cli_plot_style(const char *strategy, struct gh_cli_plot_style *out);

/* Draws the plot with gnuplot (data and script in a temporary directory,
 * removed afterwards) and writes p->file whole or not at all. Returns 0, or
 * GH_EXIT_INTERNAL after printing the error. */
int gh__cli_plot_write(const struct gh_cli_plot *p);

/* ---- a run in a child process (child.c) ----------------------------------- */

enum gh_child_outcome {
    GH_CHILD_EXITED,   /* exit_code set; result too unless it exited 2 */
    GH_CHILD_SIGNALED, /* died of `signal` */
    GH_CHILD_TIMEOUT,  /* outlived the timeout and was killed */
    GH_CHILD_FAILED,   /* could not be started (why) */
};
struct json_t;
struct gh_child {
    int exit_code;            /* -1 unless it exited */
    int signal;
    struct json_t *result;    /* its JSON (the caller decrefs), or NULL */
    uint64_t elapsed_ns;
    char why[256];            /* FAILED: why; else with quiet_stderr the
                                 first line the child wrote there */
};
/* Runs /proc/self/exe with argv[0..n) plus `--json /dev/fd/N --quiet`
 * (argv has room for 4 more entries); quiet_stderr: the child's stderr is
 * kept (its first line in out->why) instead of passed through. */
enum gh_child_outcome gh__cli_run_child(const char **argv, int n, uint64_t timeout_ns,
                                        bool quiet_stderr, struct gh_child *out);

/* ---- commands ----------------------------------------------------------- */

int gh__cli_run(int argc, char **argv);
int gh__cli_compare(int argc, char **argv);
int gh__cli_torture(int argc, char **argv);
int gh__cli_list(int argc, char **argv);
int gh__cli_diff(int argc, char **argv);
void gh__cli_help_main(void);
void gh__cli_help_run(void);
void gh__cli_help_compare(void);

#endif
