/* main.c - the `gilheap` program: command dispatch, help, version, and the
 * error and progress messages every command uses. See cli.h for the exit
 * statuses and docs/results.md for what the result files hold.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"  // GH_VERSION, GH_GIT_COMMIT, ...
#include "cli/cli.h"
#include "report/report.h" // gh_report_env_capture
#include "scenario/run.h" // gh_run_request_stop

/* ---- messages ---------------------------------------------------------- */

int gh__cli_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("gilheap: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'gilheap --help'\n", stderr);
    return GH_EXIT_USAGE;
}

int gh__cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    fputs("gilheap: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

void gh__cli_progress(const char *fmt, ...)
{
    va_list ap;
    if (!isatty(STDERR_FILENO))
        return;
    fputs("gilheap: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- Ctrl-C and SIGTERM ---------------------------------------------------- */

volatile sig_atomic_t gh__cli_interrupted;

/* The first SIGINT or SIGTERM records the signal and asks the runner to
 * stop (gh_run_request_stop: one relaxed atomic store, async-signal-safe):
 * the main thread sees it within 10 ms, the workers at their next switch
 * point, and the partial result is reported and written, marked
 * `interrupted`, exit 128 + the signal. A second one restores the default
 * action and re-raises, ending the process at once. */
static void on_signal(int sig)
{
    static const char msg[] = "\ngilheap: interrupted; stopping this run (again to quit now)\n";
    if (gh__cli_interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    gh__cli_interrupted = sig;
    gh_run_request_stop();
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
}

void gh__cli_catch_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sa.sa_flags = SA_RESTART; /* the runner's waits must not see EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int gh__cli_exit_interrupted(void)
{
    return 128 + (gh__cli_interrupted ? gh__cli_interrupted : SIGINT);
}

/* ---- help -------------------------------------------------------------- */

static const char usage_run[] =
    "  gilheap run SCENARIO [--strategy P] [--set AXIS=V]... [--param NAME=V]...\n"
    "                       [--threads N] [--duration D | --ops N] [--seed S]\n"
    "                       [--json FILE] [--csv FILE] [--quiet] [--check | --no-check]\n"
    "                       [--latency-sample N] [--cpus LIST] [--warmup D]\n"
    "                       [--trace FILE] [--timeline] [--timeline-plot FILE]\n"
    "                       [--trace-events N]\n"
    "                       [--lock-profile N] [--report-every D]\n"
    "                       [--inject POINT=DELAY[@P][:THREADS]]... [--stall D]\n";
static const char usage_compare[] =
    "  gilheap compare SCENARIO [--strategies P,Q,...] [--threads N,M,...]\n"
    "                       [--repeat K] [--duration D | --ops N] [--set AXIS=V]...\n"
    "                       [--param NAME=V]... [--seed S] [--json FILE] [--csv FILE]\n"
    "                       [--plot FILE] [--check | --no-check] [--latency-sample N]\n"
    "                       [--cpus LIST] [--warmup D]\n";

void gh__cli_help_run(void)
{
    printf("Usage:\n%s\n", usage_run);
    printf("Runs SCENARIO (a file, or a name from `gilheap list`) once and prints a\n"
           "summary on stdout.\n\n"
           "  --strategy P      preset to start from (default gil; see gilheap list)\n"
           "  --set AXIS=V      override one axis of the preset; repeatable, applied\n"
           "                    in order. AXIS: %s\n"
           "                    (docs/strategies.md)\n"
           "  --param NAME=V    give the scenario's parameter NAME (its `params`) the\n"
           "                    integer V; repeatable\n"
           "  --threads N       worker threads (default: the scenario's)\n"
           "  --duration D      measured phase, e.g. 2s, 500ms, 100us\n"
           "  --ops N           operations per thread instead of a duration\n"
           "  --seed S          PRNG seed, 0..9223372036854775807 (default: the\n"
           "                    scenario's, or 1); printed so a run can be repeated\n"
           "  --json FILE       write the results as JSON (docs/results.md); - is stdout\n"
           "  --csv FILE        write one CSV header and row\n"
           "  --quiet           print nothing on stdout\n"
           "  --check           the checked mode: freed objects are poisoned and\n"
           "                    quarantined, uses of them, torn reads, lost updates,\n"
           "                    faults and leaks are counted as hazards (default: on\n"
           "                    exactly for an unsafe strategy)\n"
           "  --no-check        off (refused for an unsafe strategy: it could crash)\n"
           "  --census D        in the checked mode, count the references to every\n"
           "                    live object every D with the threads parked\n"
           "                    (default 100ms; and always once after they stop)\n"
           "  --latency-sample N  time every Nth op for the latency columns (default\n"
           "                    1024; 0: none). A timed op costs two clock reads\n"
           "  --cpus LIST       pin worker i to LIST[i %% len] (e.g. 0, 0,1, 0-3); the\n"
           "                    main thread runs on the list's CPUs too\n"
           "  --warmup D        a run of D first, in this process, discarded\n"
           "  --trace FILE      write the run's timeline as a Chrome trace-event file\n"
           "                    (Perfetto, chrome://tracing): GIL tenures, waits and\n"
           "                    handoffs, contended lock waits, stops of the world,\n"
           "                    collections, merges, hazards, the timed ops\n"
           "  --timeline        print the timeline after the summary: a line per\n"
           "                    thread, a character per 1/100 of the run (G GIL held,\n"
           "                    W waiting, S stopped, C collecting)\n"
           "  --timeline-plot FILE  the same strip drawn by gnuplot, FILE .png or .svg\n"
           "  --trace-events N  events each thread keeps for --trace and --timeline\n"
           "                    (default 262144; the oldest are dropped first)\n"
           "  --lock-profile N  hold and wait distributions per lock class: every\n"
           "                    contended wait and every GIL tenure timed, and 1 in N\n"
           "                    lock holds (--trace, --timeline: 1024). A timed hold\n"
           "                    costs two clock reads\n"
           "  --report-every D  every D (1ms or more), a line: ops/s of all threads\n"
           "                    and of each, and the heap's size; kept in the JSON\n"
           "                    (throughput.intervals)\n"
           "  --inject POINT=DELAY[@P][:THREADS]  a delay at a named point of the\n"
           "                    runtime while the workers run (gilheap list --inject):\n"
           "                    DELAY 20us, 1ms or hang; @P a probability (0.01, 1%%)\n"
           "                    or 1inN; :THREADS workers such as 0 or 0,2-3; one per\n"
           "                    point, repeatable (docs/torture.md)\n"
           "  --stall D         when no worker makes progress for D, print who holds\n"
           "                    and waits for what, end the run (status stalled, exit\n"
           "                    3); default 10s (x4 under ASan, x10 under TSan); off\n\n"
           "SIGINT (Ctrl-C) or SIGTERM stops the run at the next switch point; the\n"
           "partial result is printed and written, marked interrupted (exit 130/143).\n"
           "With PERF_CTL_FIFO and PERF_ACK_FIFO set (perf --control), perf is\n"
           "enabled only for the measured phase.\n", gh_strategy_axis_names());
}

void gh__cli_help_compare(void)
{
    printf("Usage:\n%s\n", usage_compare);
    printf("Runs SCENARIO under each strategy and thread count, every cell in a\n"
           "fresh child process, and prints one table.\n\n"
           "  --strategies P,Q  presets to compare (default: all)\n"
           "  --threads N,M     thread counts (default 1,2)\n"
           "  --repeat K        runs per cell; the table shows median and min-max (and\n"
           "                    with 5 or more, an interval of the median)\n"
           "  --duration D      measured phase of each run\n"
           "  --ops N           operations per thread instead of a duration\n"
           "  --set AXIS=V      applied to every strategy (AXIS: as for run)\n"
           "  --param NAME=V    a scenario parameter, the same in every cell\n"
           "  --seed S          the same seed in every cell (default 1)\n"
           "  --json FILE       every cell's results and the summary rows; - is stdout\n"
           "  --csv FILE        one row per run, with the cell's coordinates\n"
           "  --plot FILE       draw ops/s against threads, one line per strategy\n"
           "                    (median, bars min-max), with gnuplot; FILE ends in\n"
           "                    .png or .svg\n"
           "  --latency-sample N  passed to every cell (default 1024; 0: none)\n"
           "  --cpus LIST       passed to every cell: worker i on LIST[i %% len], so\n"
           "                    every one-thread cell runs on LIST[0]\n"
           "  --warmup D        passed to every cell: a discarded run of D first\n\n"
           "Before the cells, a short fixed loop is timed on each CPU the cells will\n"
           "use (the --cpus list, or every CPU the process may use); their speeds are\n"
           "printed, with a warning when they differ by more than 10%%.\n\n"
           "A cell that crashes or stalls (timeout: duration x 5 + 30 s) is marked\n"
           "and the others still run (the plot leaves it out); the exit status is\n"
           "then 3.\n");
}

void gh__cli_help_main(void)
{
    printf("gilheap %s - CPython's memory model under swappable concurrency strategies\n\n",
           GH_VERSION);
    printf("Usage:\n%s%s", usage_run, usage_compare);
    printf("  gilheap diff A.json B.json     the same cells of two saved results, side by side\n"
           "  gilheap list [--inject]        scenarios and strategies (or injection points)\n"
           "  gilheap torture [--time D]     random checked cells until D is up (--help)\n"
           "  gilheap --help | --version\n"
           "  gilheap COMMAND --help         the options of one command\n\n"
           "A bare SCENARIO name is looked up as NAME.yaml in ./scenarios, then\n"
           "$GH_SCENARIO_DIR, then the scenarios/ directory of the source tree the\n"
           "binary was built in, then PREFIX/share/gilheap/scenarios beside an\n"
           "installed binary, then the configured install directory.\n\n"
           "Exit status: 0 ran and every check held; 1 ran but a check failed or\n"
           "hazards were found; 2 bad usage or input; 3 internal error, crash or\n"
           "stall; 130 or 143 interrupted (SIGINT or SIGTERM).\n");
}

static void version(void)
{
    printf("gilheap %s (commit %s, %s build%s%s, %s)\n", GH_VERSION, GH_GIT_COMMIT,
           GH_BUILD_TYPE, GH_SANITIZE[0] ? ", sanitize=" : "", GH_SANITIZE, GH_COMPILER);
}

/* ---- dispatch ---------------------------------------------------------- */

int main(int argc, char **argv)
{
    gh_report_env_capture(argc, argv); /* before any thread: results record it */
    if (argc < 2)
        return gh__cli_usage("no command: expected run, compare, diff, list, torture, help or "
                             "--version");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        if (argc > 2 && strcmp(argv[2], "run") == 0)
            gh__cli_help_run();
        else if (argc > 2 && strcmp(argv[2], "compare") == 0)
            gh__cli_help_compare();
        else
            gh__cli_help_main();
        return GH_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        version();
        return GH_EXIT_OK;
    }
    if (strcmp(cmd, "run") == 0)
        return gh__cli_run(argc, argv);
    if (strcmp(cmd, "compare") == 0)
        return gh__cli_compare(argc, argv);
    if (strcmp(cmd, "list") == 0)
        return gh__cli_list(argc, argv);
    if (strcmp(cmd, "diff") == 0)
        return gh__cli_diff(argc, argv);
    if (strcmp(cmd, "torture") == 0)
        return gh__cli_torture(argc, argv);
    if (cmd[0] == '-')
        return gh__cli_usage("unknown option '%s' before the command: expected run, "
                             "compare, list, --help or --version", cmd);
    return gh__cli_usage("unknown command '%s': expected run, compare, diff, list, torture or "
                         "help", cmd);
}
