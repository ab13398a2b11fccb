/* test_cli.c - the `gilheap` program from the outside: exit statuses and
 * messages for bad invocations (status 2, one "gilheap: error:"
 * line naming the argument), help and version, `list`, and short real runs.
 *
 * The binary is GH_BINARY_DIR/gilheap; it runs with GH_SOURCE_DIR as its
 * working directory, so bare scenario names resolve to scenarios/NAME.yaml.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/config.h"        // GH_SANITIZE
#include "scenario/strategy.h"  // gh_presets
#include "trace_check.h"

#ifndef GH_BINARY_DIR
#error "GH_BINARY_DIR must name the build directory (CMake defines it)"
#endif
#ifndef GH_SOURCE_DIR
#error "GH_SOURCE_DIR must name the source directory (CMake defines it)"
#endif

struct out {
    int status;      /* exit status, or 128 + signal */
    char *out, *err; /* captured stdout and stderr */
};

static char *slurp_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (len + 1024 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    return buf;
}

static int tmpfd(void)
{
    char name[] = "/tmp/gh-test-cli-XXXXXX";
    int fd = mkstemp(name);
    cr_assert_geq(fd, 0);
    unlink(name);
    return fd;
}

/* Runs gilheap with args (NULL-terminated, without argv[0]) and, when env
 * is not NULL, the NAME=VALUE strings of env (NULL-terminated) added to its
 * environment. */
static struct out run_env(const char *const *args, const char *const *env)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = GH_BINARY_DIR "/gilheap";
    while (*args && n < 63)
        argv[n++] = *args++;
    argv[n] = NULL;

    int ofd = tmpfd(), efd = tmpfd();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (chdir(GH_SOURCE_DIR) != 0)
            _exit(126);
        for (; env && *env; env++)
            if (putenv((char *)*env) != 0)
                _exit(126);
        dup2(ofd, STDOUT_FILENO);
        dup2(efd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    struct out o;
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    o.out = slurp_fd(ofd);
    o.err = slurp_fd(efd);
    close(ofd);
    close(efd);
    cr_assert_neq(o.status, 127, "could not run %s", argv[0]);
    return o;
}

static struct out run(const char *const *args)
{
    return run_env(args, NULL);
}

static void out_free(struct out *o)
{
    free(o->out);
    free(o->err);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A usage error: status 2, nothing on stdout, one error line that contains
 * every string in `want`, then the --help hint when `hint`. */
static void expect_error_env(const char *const *args, const char *const *env, bool hint,
                             const char *const *want)
{
    struct out o = run_env(args, env);
    cr_assert_eq(o.status, 2, "status %d, stderr: %s", o.status, o.err);
    cr_assert_str_eq(o.out, "", "stdout: %s", o.out);
    cr_assert(strncmp(o.err, "gilheap: error: ", 16) == 0, "stderr: %s", o.err);
    cr_assert_eq(count_lines(o.err), hint ? 2 : 1, "stderr: %s", o.err);
    if (hint)
        cr_assert(strstr(o.err, "\nTry 'gilheap --help'\n"), "stderr: %s", o.err);
    for (; *want; want++)
        cr_assert(strstr(o.err, *want), "expected '%s' in: %s", *want, o.err);
    out_free(&o);
}

static void expect_error(const char *const *args, bool hint, const char *const *want)
{
    expect_error_env(args, NULL, hint, want);
}

/* A problem inside a scenario file: status 2, nothing on stdout, one line in
 * the documented form FILE:LINE:COLUMN: error: WHAT, containing `want`. */
static void expect_file_error(const char *const *args, const char *const *want)
{
    struct out o = run(args);
    cr_assert_eq(o.status, 2, "status %d, stderr: %s", o.status, o.err);
    cr_assert_str_eq(o.out, "", "stdout: %s", o.out);
    cr_assert_eq(count_lines(o.err), 1, "stderr: %s", o.err);
    const char *e = strstr(o.err, ": error: ");
    cr_assert(e && e > o.err && strncmp(o.err, "gilheap:", 8) != 0, "stderr: %s", o.err);
    for (; *want; want++)
        cr_assert(strstr(o.err, *want), "expected '%s' in: %s", *want, o.err);
    out_free(&o);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define SCEN "scenarios/shared-list.yaml"

/* ---- bad invocations: exit 2 ------------------------------------------- */

TestSuite(cli_usage, .timeout = 30);

Test(cli_usage, no_command)
{
    expect_error((const char *const[]){NULL}, true, ARGS("no command"));
}

Test(cli_usage, unknown_command)
{
    expect_error(ARGS("frobnicate"), true, ARGS("unknown command 'frobnicate'", "run"));
}

Test(cli_usage, unknown_option)
{
    expect_error(ARGS("run", SCEN, "--bogus"), true, ARGS("unknown option '--bogus'"));
    expect_error(ARGS("compare", SCEN, "--quiet"), true, ARGS("unknown option '--quiet'"));
}

Test(cli_usage, missing_option_value)
{
    expect_error(ARGS("run", SCEN, "--threads"), true, ARGS("'--threads' needs a value"));
    expect_error(ARGS("run", SCEN, "--json", "--quiet"), true, ARGS("'--json' needs a value"));
}

Test(cli_usage, threads_zero)
{
    expect_error(ARGS("run", SCEN, "--threads", "0"), true,
                 ARGS("--threads '0'", "thread count"));
    expect_error(ARGS("compare", SCEN, "--threads", "1,0"), true, ARGS("--threads '1,0'"));
}

Test(cli_usage, threads_not_a_number)
{
    expect_error(ARGS("run", SCEN, "--threads", "x"), true, ARGS("--threads 'x'"));
    expect_error(ARGS("run", SCEN, "--threads=4x"), true, ARGS("--threads '4x'"));
    expect_error(ARGS("run", SCEN, "--threads", "-1"), true, ARGS("--threads '-1'"));
}

Test(cli_usage, number_overflow)
{
    expect_error(ARGS("run", SCEN, "--threads", "99999999999999999999999"), true,
                 ARGS("--threads '99999999999999999999999'"));
    expect_error(ARGS("run", SCEN, "--seed", "99999999999999999999999"), true,
                 ARGS("--seed"));
    expect_error(ARGS("run", SCEN, "--ops", "18446744073709551616"), true, ARGS("--ops"));
}

Test(cli_usage, repeat_zero)
{
    expect_error(ARGS("compare", SCEN, "--repeat", "0"), true,
                 ARGS("--repeat '0'", "repeat count"));
}

Test(cli_usage, unknown_strategy_lists_presets)
{
    const char *want[8 + 2] = {"'nope'"};
    size_t n = 1;
    for (size_t i = 0; i < gh_npresets && n < 9; i++)
        want[n++] = gh_presets[i].name;
    want[n] = NULL;
    expect_error(ARGS("run", SCEN, "--strategy", "nope"), true, want);
    expect_error(ARGS("compare", SCEN, "--strategies", "gil,nope"), true, want);
}

Test(cli_usage, set_without_equals)
{
    expect_error(ARGS("run", SCEN, "--set", "bogus"), true, ARGS("'bogus'", "AXIS=VALUE"));
}

Test(cli_usage, set_unknown_value)
{
    expect_error(ARGS("run", SCEN, "--set", "rc=nope"), true,
                 ARGS("'rc=nope'", "plain", "atomic"));
}

Test(cli_usage, set_unknown_axis)
{
    expect_error(ARGS("run", SCEN, "--set", "nope=1"), true,
                 ARGS("'nope=1'", "unknown axis", "sync"));
}

Test(cli_usage, scenario_missing)
{
    expect_error(ARGS("run", "/nonexistent/gh-missing.yaml"), false,
                 ARGS("/nonexistent/gh-missing.yaml", "No such file"));
    expect_error(ARGS("run", "gh-no-such-scenario"), false,
                 ARGS("gh-no-such-scenario", "gilheap list"));
    expect_error(ARGS("run"), true, ARGS("missing SCENARIO"));
}

Test(cli_usage, bad_duration)
{
    expect_error(ARGS("run", SCEN, "--duration", "5parsecs"), true,
                 ARGS("--duration '5parsecs'", "500ms"));
    expect_error(ARGS("run", SCEN, "--duration", "1s", "--ops", "10"), true,
                 ARGS("--duration and --ops"));
    /* Before: start + 2^64-1 ns wrapped, and the run lasted no time. */
    expect_error(ARGS("run", SCEN, "--duration", "18446744073709551615ns"), true,
                 ARGS("--duration '18446744073709551615ns'", "at most 1000000000s"));
    expect_error(ARGS("run", SCEN, "--duration", "1000000001s"), true,
                 ARGS("at most 1000000000s"));
}

Test(cli_usage, bad_census)
{
    expect_error(ARGS("run", SCEN, "--census", "5parsecs"), true,
                 ARGS("--census '5parsecs'", "10ms"));
    expect_error(ARGS("run", SCEN, "--census", "0ms", "--check"), true, ARGS("--census '0ms'"));
    expect_error(ARGS("run", SCEN, "--census", "10ms"), true,
                 ARGS("--census", "checked mode", "--check"));
}

Test(cli_usage, bad_latency_sample)
{
    expect_error(ARGS("run", SCEN, "--latency-sample", "x"), true,
                 ARGS("--latency-sample 'x'", "every Nth op"));
    expect_error(ARGS("run", SCEN, "--latency-sample", "-1"), true,
                 ARGS("--latency-sample '-1'", "from 0"));
    expect_error(ARGS("compare", SCEN, "--latency-sample", "4294967296"), true,
                 ARGS("--latency-sample '4294967296'"));
    expect_error(ARGS("run", SCEN, "--latency-sample"), true, ARGS("'--latency-sample' needs"));
}

/* The first CPU number the process may not run on (below 1024), or -1. */
static int cpu_not_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (!CPU_ISSET(c, &set))
            return c;
    return -1;
}

Test(cli_usage, bad_cpus)
{
    expect_error(ARGS("run", SCEN, "--cpus", "a"), true, ARGS("--cpus 'a'", "0-3"));
    expect_error(ARGS("run", SCEN, "--cpus", "0,,1"), true, ARGS("--cpus '0,,1'", "commas"));
    expect_error(ARGS("run", SCEN, "--cpus", "1-0"), true, ARGS("--cpus '1-0'", "backwards"));
    expect_error(ARGS("compare", SCEN, "--cpus", "99999"), true, ARGS("--cpus '99999'"));
    expect_error(ARGS("run", SCEN, "--cpus", "0-"), true, ARGS("--cpus '0-'"));
    int c = cpu_not_allowed();
    if (c >= 0) {
        char v[16], want[64];
        snprintf(v, sizeof v, "%d", c);
        snprintf(want, sizeof want, "CPU %d is not in this process's affinity mask", c);
        expect_error(ARGS("run", SCEN, "--cpus", v), true, ARGS(want, "allowed: "));
        snprintf(v, sizeof v, "0-%d", c);
        expect_error(ARGS("compare", SCEN, "--cpus", v), true, ARGS(want));
    }
}

/* Decided: an unwritable result file is found before the run (exit 2), so
 * no run is wasted and nothing is left behind. */
Test(cli_usage, json_into_missing_directory)
{
    expect_error(ARGS("run", SCEN, "--json", "/nonexistent-dir/x.json"), false,
                 ARGS("--json", "/nonexistent-dir/x.json", "No such file or directory"));
    expect_error(ARGS("compare", SCEN, "--csv", "/nonexistent-dir/x.csv"), false,
                 ARGS("--csv", "/nonexistent-dir/x.csv"));
    struct stat st;
    cr_assert_neq(stat("/nonexistent-dir", &st), 0);
}

Test(cli_usage, bad_trace)
{
    expect_error(ARGS("run", SCEN, "--trace", ""), true, ARGS("--trace ''", "file name"));
    expect_error(ARGS("run", SCEN, "--trace", "t.json", "--trace-events", "10"), true,
                 ARGS("--trace-events '10'", "from 64"));
    expect_error(ARGS("run", SCEN, "--trace-events", "1000"), true,
                 ARGS("--trace-events", "--trace FILE"));
    expect_error(ARGS("run", SCEN, "--trace", "/nonexistent-dir/t.json"), false,
                 ARGS("--trace", "/nonexistent-dir/t.json", "No such file or directory"));
    expect_error(ARGS("compare", SCEN, "--trace", "t.json"), true, ARGS("--trace"));
    expect_error(ARGS("run", SCEN, "--timeline", "--quiet"), true, ARGS("--timeline", "--quiet"));
    expect_error(ARGS("run", SCEN, "--lock-profile", "0"), true,
                 ARGS("--lock-profile '0'", "from 1"));
    expect_error(ARGS("run", SCEN, "--lock-profile", "64k"), true, ARGS("--lock-profile '64k'"));
    expect_error(ARGS("compare", SCEN, "--lock-profile", "8"), true, ARGS("--lock-profile"));
    expect_error(ARGS("run", SCEN, "--report-every", "500us"), true,
                 ARGS("--report-every '500us'", "1ms or more"));
    expect_error(ARGS("run", SCEN, "--report-every", "1"), true, ARGS("--report-every '1'"));
    expect_error(ARGS("run", SCEN, "--timeline-plot", "t.txt"), true,
                 ARGS("--timeline-plot 't.txt'", ".png or .svg"));
    expect_error(ARGS("run", SCEN, "--timeline-plot", "/nonexistent-dir/t.png"), false,
                 ARGS("--timeline-plot", "/nonexistent-dir/t.png"));
    expect_error(ARGS("compare", SCEN, "--timeline-plot", "t.png"), true,
                 ARGS("--timeline-plot"));
    struct stat st;
    cr_assert_neq(stat("t.json", &st), 0, "a trace was written");
}

Test(cli_usage, plot_bad_extension)
{
    expect_error(ARGS("compare", SCEN, "--plot", "x.txt"), true,
                 ARGS("--plot 'x.txt'", ".png", ".svg"));
    expect_error(ARGS("compare", SCEN, "--plot=plot"), true, ARGS("--plot 'plot'"));
    expect_error(ARGS("compare", SCEN, "--plot", "dir.png/x"), true, ARGS("--plot"));
    expect_error(ARGS("run", SCEN, "--plot", "x.png"), true, ARGS("unknown option '--plot'"));
}

/* Like --json: found before any cell runs (nothing on stdout). */
Test(cli_usage, plot_into_missing_directory)
{
    expect_error(ARGS("compare", SCEN, "--plot", "/nonexistent-dir/p.png"), false,
                 ARGS("--plot", "/nonexistent-dir/p.png", "No such file or directory"));
    struct stat st;
    cr_assert_neq(stat("/nonexistent-dir", &st), 0);
}

Test(cli_usage, plot_without_gnuplot)
{
    char dir[] = "/tmp/gh-test-cli-nognuplot-XXXXXX", file[128], path[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/p.png", dir);
    snprintf(path, sizeof path, "PATH=%s", dir); /* an empty directory */
    expect_error_env(ARGS("compare", SCEN, "--plot", file), ARGS(path), false,
                     ARGS("gilheap: error: --plot: gnuplot not found; apt-get install "
                          "gnuplot-nox\n"));
    cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
}

Test(cli_usage, bad_param)
{
    expect_error(ARGS("run", "gc-pause-vs-heap", "--param", "N"), true,
                 ARGS("--param 'N'", "expected NAME=VALUE"));
    expect_error(ARGS("run", "gc-pause-vs-heap", "--param", "N=lots"), true,
                 ARGS("--param 'N=lots'", "`lots` is not an integer"));
    expect_error(ARGS("compare", "gc-pause-vs-heap", "--param", "N=1", "--param", "N=2"), true,
                 ARGS("--param 'N=2'", "N is already set by --param 'N=1'"));
    /* A name the scenario does not have: found when the file is read, with
     * its position; nothing runs. */
    expect_file_error(ARGS("run", "gc-pause-vs-heap", "--param", "M=5"),
                      ARGS("scenarios/gc-pause-vs-heap.yaml:", "--param M=5: the scenario has no "
                           "parameter `M`; its params are: N, G"));
    expect_file_error(ARGS("compare", "gc-pause-vs-heap", "--param", "N=-5"),
                      ARGS("items: expected an integer from 0 to 10000000, found `$N` = -5 "
                           "(from --param)"));
    expect_file_error(ARGS("run", SCEN, "--param", "N=5"),
                      ARGS("--param N=5: the scenario has no `params`"));
}

/* gc=nostop is unsafe: the checked mode cannot be turned off (as for
 * sync=none); under a GIL it is refused with the reason. */
Test(cli_usage, gc_nostop_refuses_no_check_and_a_gil)
{
    expect_error(ARGS("run", "gc-nostop", "--strategy", "atomic", "--set", "gc=nostop",
                      "--no-check"),
                 true, ARGS("--no-check: the strategy is unsafe (gc=nostop:"));
    expect_error(ARGS("run", "gc-nostop", "--strategy", "gil", "--set", "gc=nostop"), false,
                 ARGS("is refused: gc=nostop under a GIL"));
}

Test(cli_usage, bad_scenario_file_names_line)
{
    char path[] = "/tmp/gh-test-cli-bad-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    static const char text[] = "name: bad\nbogus: [1, 2\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct out o = run(ARGS("run", path));
    unlink(path);
    cr_assert_eq(o.status, 2, "status %d, stderr: %s", o.status, o.err);
    /* The documented form (docs/scenarios.md): FILE:LINE:COLUMN: error: WHAT,
     * here where libyaml found the unclosed sequence. */
    char want[128];
    snprintf(want, sizeof want, "%s:3:1: error: invalid YAML", path);
    cr_assert(strncmp(o.err, want, strlen(want)) == 0, "stderr: %s", o.err);
    cr_assert_eq(count_lines(o.err), 1, "stderr: %s", o.err);
    out_free(&o);
}

/* ---- help, version, list: exit 0 ---------------------------------------- */

TestSuite(cli_info, .timeout = 30);

Test(cli_info, version)
{
    struct out o = run(ARGS("--version"));
    cr_assert_eq(o.status, 0);
    cr_assert(strncmp(o.out, "gilheap ", 8) == 0, "%s", o.out);
    cr_assert_str_eq(o.err, "");
    out_free(&o);
}

Test(cli_info, help)
{
    static const char *const forms[][3] = {
        {"--help", NULL}, {"help", NULL}, {"-h", NULL},
        {"run", "--help"}, {"compare", "--help"}, {"help", "run"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct out o = run(forms[i]);
        cr_assert_eq(o.status, 0, "form %zu: %d %s", i, o.status, o.err);
        cr_assert(strstr(o.out, "Usage:"), "form %zu: %s", i, o.out);
        cr_assert(strstr(o.out, "gilheap run SCENARIO") ||
                      strstr(o.out, "gilheap compare SCENARIO"), "%s", o.out);
        cr_assert_str_eq(o.err, "");
        out_free(&o);
    }
}

Test(cli_info, list_shows_scenarios_and_presets)
{
    struct out o = run(ARGS("list"));
    cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
    DIR *d = opendir(GH_SOURCE_DIR "/scenarios");
    cr_assert_not_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char line[300];
        snprintf(line, sizeof line, "\n  %.*s ", (int)(len - 5), e->d_name);
        cr_assert(strstr(o.out, line), "scenario %s missing from:\n%s", e->d_name, o.out);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 1, "no scenarios shipped");
    for (size_t i = 0; i < gh_npresets; i++) {
        char line[300];
        snprintf(line, sizeof line, "\n  %s ", gh_presets[i].name);
        cr_assert(strstr(o.out, line), "preset %s missing from:\n%s", gh_presets[i].name, o.out);
        cr_assert(strstr(o.out, gh_presets[i].models), "models line of %s", gh_presets[i].name);
        snprintf(line, sizeof line, " gc=%s ", gh_gc_names[gh_presets[i].gc]);
        cr_assert(strstr(o.out, line), "the gc axis of %s in:\n%s", gh_presets[i].name, o.out);
    }
    out_free(&o);
}

/* ---- real runs (need the runner and scenarios/shared-list.yaml) --------- */

TestSuite(cli_run, .timeout = 120);

static bool have_shared_list(void)
{
    return access(GH_SOURCE_DIR "/" SCEN, R_OK) == 0;
}

Test(cli_run, run_writes_json_and_csv)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-run-XXXXXX", json[128], csv[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/r.json", dir);
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    struct out o = run(ARGS("run", "shared-list", "--duration", "100ms", "--threads", "2",
                            "--seed", "42", "--json", json, "--csv", csv));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "seed 42"), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "config"), "seed")), 42);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    FILE *f = fopen(csv, "r");
    cr_assert_not_null(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    cr_assert_eq(lines, 2);
    unlink(json);
    unlink(csv);
    cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
    out_free(&o);
}

/* --trace writes the timeline, a Chrome trace-event file (its rules:
 * tests/trace_check.h), and nothing else. */
Test(cli_run, run_writes_a_trace)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-trace-XXXXXX", path[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.json", dir);
    struct out o = run(ARGS("run", "shared-list", "--strategy", "gil", "--duration", "100ms",
                            "--threads", "2", "--trace", path, "--quiet"));
    cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
    cr_assert_gt(trace_check(path), 10);
    unlink(path);
    cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
    out_free(&o);
    /* --timeline: the strip after the summary, a line per thread. */
    o = run(ARGS("run", "shared-list", "--strategy", "gil", "--duration", "100ms", "--threads",
                 "2", "--timeline"));
    cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
    const char *t = strstr(o.out, "\ntimeline ");
    cr_assert_not_null(t, "%s", o.out);
    cr_assert(strstr(t, "\n  worker-0  ") && strstr(t, "\n  worker-1  ") &&
                  strstr(t, "\n  main      "), "%s", t);
    const char *row = strstr(t, "\n  worker-0  ");
    cr_assert(row && strchr(row + 13, 'G') && strchr(row + 13, 'G') < strchr(row + 13, '\n'),
              "no GIL tenure drawn for worker-0: %s", t);
    cr_assert(strstr(o.out, "lock profile: 1 in 1024 holds timed"), "--timeline profiles: %s",
              o.out);
    out_free(&o);
    /* --lock-profile alone: the table, with the list lock's holds. */
    o = run(ARGS("run", "shared-list", "--strategy", "ft", "--duration", "100ms", "--threads",
                 "2", "--lock-profile", "8"));
    cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
    t = strstr(o.out, "lock profile: 1 in 8 holds timed");
    cr_assert_not_null(t, "%s", o.out);
    cr_assert_not_null(strstr(t, "\n  list      "), "%s", t);
    out_free(&o);
    /* --report-every: a line per interval before the summary. */
    o = run(ARGS("run", "shared-list", "--strategy", "ft", "--duration", "300ms", "--threads",
                 "2", "--report-every", "50ms"));
    cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
    /* Each line: its end (the main thread may wake late: 0.05s or a
     * little more), the rate of all and of each worker, the heap. */
    const char *summary = strstr(o.out, "\nscenario ");
    cr_assert_not_null(summary, "%s", o.out);
    int lines = 0;
    for (const char *l = o.out; l < summary; l = strchr(l, '\n') + 1) {
        cr_assert(!strncmp(l, "[   0.", 6) && strstr(l, "s] ") && strstr(l, " ops/s (") &&
                      strstr(l, ")  heap "), "line %d: %s", lines, o.out);
        lines++;
    }
    cr_assert(lines >= 4 && lines <= 6, "%d lines for 300 ms at 50 ms: %s", lines, o.out);
    out_free(&o);
}

/* The census (gc/census.h) in a checked run of a safe preset: several
 * taken while the threads run, none finding anything. */
Test(cli_run, census_in_the_checked_mode)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-census-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/r.json", dir);
    struct out o = run(ARGS("run", "shared-list", "--duration", "300ms", "--threads", "2",
                            "--check", "--census", "20ms", "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "  census: "), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    json_t *h = json_object_get(j, "hazards");
    cr_assert_eq(json_integer_value(json_object_get(h, "total")), 0);
    json_t *c = json_object_get(h, "census");
    cr_assert_geq(json_integer_value(json_object_get(c, "taken")), 3, "periodic ones and the last");
    cr_assert_gt(json_integer_value(json_object_get(c, "objects")), 0);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(h, "counts"), "refcount_low")), 0);
    json_decref(j);
    unlink(json);
    cr_assert_eq(rmdir(dir), 0);
    out_free(&o);
}

static json_t *cfg_at(json_t *j, const char *key)
{
    return json_object_get(json_object_get(j, "config"), key);
}

/* --cpus is recorded (config.cpus, the text header) and --latency-sample 0
 * times nothing: no latency key at all. The default sample is 1024, and
 * an unpinned run has no cpus key. */
Test(cli_run, run_pins_and_samples)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-pin-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/r.json", dir);
    struct out o = run(ARGS("run", SCEN, "--ops", "20000", "--threads", "2", "--cpus", "0",
                            "--latency-sample", "0", "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "  threads 2  cpus 0  "), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    json_t *cpus = cfg_at(j, "cpus");
    cr_assert_eq(json_array_size(cpus), 1);
    cr_assert_eq(json_integer_value(json_array_get(cpus, 0)), 0);
    cr_assert_eq(json_integer_value(cfg_at(j, "latency_sample")), 0);
    cr_assert_null(json_object_get(j, "latency"), "--latency-sample 0 timed something");
    json_decref(j);
    out_free(&o);

    o = run(ARGS("run", SCEN, "--ops", "20000", "--threads", "1", "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert_null(strstr(o.out, "cpus"), "%s", o.out);
    j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cr_assert_null(cfg_at(j, "cpus"), "an unpinned run has no cpus key");
    cr_assert_eq(json_integer_value(cfg_at(j, "latency_sample")), 1024);
    cr_assert(json_is_object(json_object_get(j, "latency")), "the default samples");
    json_decref(j);
    out_free(&o);
    unlink(json);
    cr_assert_eq(rmdir(dir), 0);
}

/* compare calibrates every CPU it will use (the --cpus list, or the whole
 * affinity mask), records it, and passes --cpus and --latency-sample to
 * every cell. */
Test(cli_run, compare_calibrates_and_pins)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-cal-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/c.json", dir);
    struct out o = run(ARGS("compare", SCEN, "--strategies", "gil", "--threads", "1,2",
                            "--ops", "20000", "--cpus", "0", "--latency-sample", "0",
                            "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "calibration (the --cpus list"), "%s", o.out);
    cr_assert(strstr(o.out, " cpu 0 "), "%s", o.out);
    cr_assert(strstr(o.out, "  cpus 0"), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cr_assert_eq(json_integer_value(json_array_get(cfg_at(j, "cpus"), 0)), 0);
    cr_assert_eq(json_integer_value(cfg_at(j, "latency_sample")), 0);
    json_t *cal = json_object_get(j, "calibration");
    cr_assert(json_is_object(cal));
    cr_assert_eq(json_array_size(json_object_get(cal, "cpus")), 1, "only the listed CPU");
    json_t *c0 = json_array_get(json_object_get(cal, "cpus"), 0);
    cr_assert_eq(json_integer_value(json_object_get(c0, "cpu")), 0);
    cr_assert_gt(json_real_value(json_object_get(c0, "ns_per_iter")), 0);
    cr_assert(json_is_boolean(json_object_get(cal, "warning")));
    json_t *cells = json_object_get(j, "cells");
    cr_assert_eq(json_array_size(cells), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *res = json_object_get(json_array_get(cells, i), "result");
        cr_assert_eq(json_integer_value(json_array_get(cfg_at(res, "cpus"), 0)), 0);
        cr_assert_eq(json_integer_value(cfg_at(res, "latency_sample")), 0);
        cr_assert_null(json_object_get(res, "latency"));
    }
    json_decref(j);
    out_free(&o);

    /* Unpinned: every CPU of the affinity mask. */
    o = run(ARGS("compare", SCEN, "--strategies", "gil", "--threads", "1", "--ops", "20000",
                 "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "calibration (every CPU of the affinity mask"), "%s", o.out);
    j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cpu_set_t set;
    CPU_ZERO(&set);
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(j, "calibration"), "cpus")),
                 (size_t)CPU_COUNT(&set));
    cr_assert_null(cfg_at(j, "cpus"));
    json_decref(j);
    out_free(&o);
    unlink(json);
    cr_assert_eq(rmdir(dir), 0);
}

Test(cli_run, quiet_prints_nothing)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    struct out o = run(ARGS("run", SCEN, "--duration", "100ms", "--quiet"));
    cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
    cr_assert_str_eq(o.out, "");
    out_free(&o);
}

Test(cli_run, compare_table_and_json)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-cmp-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/c.json", dir);
    struct out o = run(ARGS("compare", SCEN, "--strategies", "gil", "--threads", "1,2",
                            "--duration", "100ms", "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "strategy"), "%s", o.out);
    cr_assert(strstr(o.out, "machine: "), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    json_t *cells = json_object_get(j, "cells");
    cr_assert_eq(json_array_size(cells), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *c = json_array_get(cells, i);
        cr_assert_str_eq(json_string_value(json_object_get(c, "status")), "ok");
        cr_assert(json_is_object(json_object_get(c, "result")));
    }
    cr_assert_eq(json_array_size(json_object_get(j, "summary")), 2);
    json_decref(j);
    unlink(json);
    rmdir(dir);
    out_free(&o);
}

/* --plot for real. gnuplot must be installed (scripts/setup.sh installs
 * gnuplot-nox): without it these tests fail rather than skip. TMPDIR is a
 * fresh directory, so the temporary directories of compare and of the plot
 * must be gone from it afterwards. */
static void plot_run(const char *ext, const char *const *magic, bool timeline)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-plot-XXXXXX", tmp[] = "/tmp/gh-test-cli-plottmp-XXXXXX";
    char file[128], tmpenv[128];
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(file, sizeof file, "%s/p.%s", dir, ext);
    snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", tmp);
    struct out o = timeline
                       ? run_env(ARGS("run", SCEN, "--duration", "100ms", "--threads", "2",
                                      "--strategy", "gil", "--timeline-plot", file, "--quiet"),
                                 ARGS(tmpenv))
                       : run_env(ARGS("compare", SCEN, "--duration", "100ms", "--threads",
                                      "1,2", "--strategies", "gil", "--plot", file),
                                 ARGS(tmpenv));
    cr_assert(!strstr(o.err, "gnuplot not found"),
              "gnuplot is not installed: run scripts/setup.sh (apt-get install "
              "gnuplot-nox)\n%s", o.err);
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    if (!timeline)
        cr_assert(strstr(o.out, "strategy"), "the table is still printed: %s", o.out);

    FILE *f = fopen(file, "rb");
    cr_assert_not_null(f, "no %s", file);
    char head[16] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    bool ok = false;
    for (; *magic; magic++)
        ok |= n >= strlen(*magic) && memcmp(head, *magic, strlen(*magic)) == 0;
    cr_assert(ok, "%s does not start like a .%s file: '%.8s'", file, ext, head);

    int entries = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        cr_assert(!strstr(e->d_name, ".tmp."), "temporary file left: %s/%s", dir, e->d_name);
        entries++;
    }
    closedir(d);
    cr_assert_eq(entries, 1, "only the plot in %s", dir);
    unlink(file);
    cr_assert_eq(rmdir(dir), 0);
    cr_assert_eq(rmdir(tmp), 0, "a temporary directory was left in %s", tmp);
    out_free(&o);
}

Test(cli_run, compare_plot_png)
{
    plot_run("png", ARGS("\x89PNG"), false);
}

Test(cli_run, compare_plot_svg)
{
    plot_run("svg", ARGS("<?xml", "<svg"), false);
}

/* run --timeline-plot: the --timeline strip drawn by gnuplot, in a file of
 * its own, temporaries removed. */
Test(cli_run, timeline_plot_png)
{
    plot_run("png", ARGS("\x89PNG"), true);
}

Test(cli_run, timeline_plot_svg)
{
    plot_run("svg", ARGS("<?xml", "<svg"), true);
}

/* A gnuplot that fails: exit 3 naming its status, its stderr passed on,
 * FILE not written (no partial file, no .tmp. file), temporaries removed. */
Test(cli_run, compare_plot_gnuplot_fails)
{
    if (!have_shared_list())
        cr_skip_test("no " SCEN);
    char dir[] = "/tmp/gh-test-cli-plotfail-XXXXXX";
    char file[128], fake[128], pathenv[160], tmpenv[160], tmp[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/p.png", dir);
    snprintf(fake, sizeof fake, "%s/bin", dir);
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    cr_assert_eq(mkdir(fake, 0700), 0);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    snprintf(pathenv, sizeof pathenv, "PATH=%s", fake);
    snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", tmp);
    strcat(fake, "/gnuplot");
    FILE *f = fopen(fake, "w");
    cr_assert_not_null(f);
    fputs("#!/bin/sh\necho 'fake gnuplot: no luck' >&2\nexit 5\n", f);
    fclose(f);
    cr_assert_eq(chmod(fake, 0700), 0);

    struct out o = run_env(ARGS("compare", SCEN, "--duration", "100ms", "--threads", "1",
                                "--strategies", "gil", "--plot", file),
                           ARGS(pathenv, tmpenv));
    cr_assert_eq(o.status, 3, "status %d: %s", o.status, o.err);
    cr_assert(strstr(o.out, "strategy"), "the table is still printed: %s", o.out);
    cr_assert(strstr(o.err, "gilheap: error: --plot: gnuplot failed with exit status 5"),
              "%s", o.err);
    cr_assert(strstr(o.err, "fake gnuplot: no luck"), "%s", o.err);
    struct stat st;
    cr_assert_neq(stat(file, &st), 0, "%s was written", file);
    unlink(fake);
    *strrchr(fake, '/') = 0;
    cr_assert_eq(rmdir(fake), 0);
    cr_assert_eq(rmdir(tmp), 0, "a temporary directory was left in %s", tmp);
    cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
    out_free(&o);
}

/* ---- the collector on the command line ---------------------------------- */

/* run: the gc section of the summary, the params on the first line, and
 * the JSON's gc key; --set gc=off. */
Test(cli_run, run_reports_the_collector)
{
    char dir[] = "/tmp/gh-test-cli-gc-XXXXXX", json[128], csv[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/r.json", dir);
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    struct out o = run(ARGS("run", "gc-pause-vs-heap", "--param", "N=3000", "--duration",
                            "100ms", "--threads", "2", "--json", json, "--csv", csv));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "gc=generational header=compact)"), "%s", o.out);
    cr_assert(strstr(o.out, "  params N=3000 G=2\n"), "%s", o.out);
    cr_assert(strstr(o.out, "\ngc          generational, thresholds 2000/10/10, automatic "
                            "collections disabled: "), "%s", o.out);
    cr_assert(strstr(o.out, "collection (GIL held)"), "%s", o.out);
    cr_assert(strstr(o.out, "time to safepoint: does not apply under a GIL"), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    json_t *gc = json_object_get(j, "gc");
    cr_assert_str_eq(json_string_value(json_object_get(gc, "mode")), "generational");
    cr_assert_gt(json_integer_value(json_object_get(gc, "collections")), 0);
    cr_assert(json_is_object(json_object_get(gc, "pause_ns")));
    cr_assert_null(json_object_get(gc, "tts_ns"));
    json_t *cfg = json_object_get(j, "config");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(cfg, "params"), "N")), 3000);
    json_decref(j);
    FILE *f = fopen(csv, "r");
    cr_assert_not_null(f);
    char line[8192];
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(strstr(line, ",gc,"), "%s", line);
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(strstr(line, ",generational,compact,pymutex,false,2,1,N=3000 G=2,"), "%s", line);
    fclose(f);
    out_free(&o);

    o = run(ARGS("run", "gc-pause-vs-heap", "--param", "N=100", "--duration", "100ms",
                 "--strategy", "atomic", "--threads", "2", "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "\ngc          stw, threshold 2000"), "%s", o.out);
    cr_assert(strstr(o.out, "  world stopped "), "%s", o.out);
    cr_assert(strstr(o.out, "  time to safepoint "), "%s", o.out);
    j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cr_assert(json_is_object(json_object_get(json_object_get(j, "gc"), "tts_ns")));
    json_decref(j);
    out_free(&o);

    /* gc=off: the scenario's checks see no collector and fail (exit 1). */
    o = run(ARGS("run", "gc-pause-vs-heap", "--param", "N=100", "--duration", "100ms",
                 "--set", "gc=off", "--json", json));
    cr_assert_eq(o.status, 1, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "gc=off header=compact)"), "%s", o.out);
    cr_assert(strstr(o.out, "\ngc          off: no cyclic collection"), "%s", o.out);
    cr_assert(strstr(o.out, "FAIL  gc.collections == count(gc.collect)"), "%s", o.out);
    out_free(&o);
    unlink(json);
    unlink(csv);
    cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
}

/* compare: --param reaches every cell; the gc p99 column appears when a
 * run collected, and the summary has it. */
Test(cli_run, compare_shows_gc_pauses)
{
    char dir[] = "/tmp/gh-test-cli-gccmp-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/c.json", dir);
    struct out o = run(ARGS("compare", "gc-pause-vs-heap", "--param", "N=2000", "--threads",
                            "1", "--duration", "100ms", "--json", json));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert(strstr(o.out, "  param N=2000\n"), "%s", o.out);
    cr_assert(strstr(o.out, " gc p99 "), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    json_t *params = json_object_get(json_object_get(j, "config"), "params");
    cr_assert_str_eq(json_string_value(json_array_get(params, 0)), "N=2000");
    json_t *summary = json_object_get(j, "summary");
    cr_assert_eq(json_array_size(summary), gh_npresets);
    for (size_t i = 0; i < json_array_size(summary); i++)
        cr_assert(json_is_number(json_object_get(json_array_get(summary, i), "gc_pause_p99_ns")),
                  "row %zu", i);
    json_t *cell = json_object_get(json_array_get(json_object_get(j, "cells"), 0), "result");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(cell,
                 "config"), "params"), "N")), 2000, "the cell ran with the parameter");
    json_decref(j);
    unlink(json);
    cr_assert_eq(rmdir(dir), 0);
    out_free(&o);

    /* No collection anywhere: no gc column. */
    o = run(ARGS("compare", SCEN, "--strategies", "gil", "--set", "gc=off", "--threads", "1",
                 "--duration", "50ms"));
    cr_assert_eq(o.status, 0, "status %d: %s\n%s", o.status, o.err, o.out);
    cr_assert_null(strstr(o.out, "gc p99"), "%s", o.out);
    out_free(&o);
}

/* ---- signals ------------------------------------------------------------ */

/* Sends sig to `gilheap run shared-list ARGS --json FILE` after it has run
 * for 500 ms; returns its exit status, with the result file's status and
 * measured seconds. Before the fix the first SIGINT only set a flag (a
 * duration run went on to its end, an --ops run until a second Ctrl-C, which
 * lost the result) and SIGTERM killed it with nothing written. */
static int interrupt_run(int sig, const char *mode, const char *amount, char *status,
                         double *measured)
{
    char dir[] = "/tmp/gh-test-cli-sig-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/r.json", dir);
    const char *argv[] = {GH_BINARY_DIR "/gilheap", "run", "shared-list", "--threads", "2",
                          mode, amount, "--json", json, "--quiet", NULL};
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (chdir(GH_SOURCE_DIR) != 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    usleep(500000);
    cr_assert_eq(kill(pid, sig), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "no result written: %s", jerr.text);
    snprintf(status, 32, "%s", json_string_value(json_object_get(j, "status")));
    *measured = (double)json_integer_value(
                    json_object_get(json_object_get(j, "throughput"), "wall_ns")) / 1e9;
    json_decref(j);
    unlink(json);
    rmdir(dir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TestSuite(cli_signal, .timeout = 60);

/* The run ends with 128 + sig, its result written and marked interrupted,
 * and (a duration run) long before its 60 s. */
static void expect_interrupted(int sig, const char *mode, const char *amount)
{
    char status[32];
    double secs;
    int rc = interrupt_run(sig, mode, amount, status, &secs);
    cr_assert_eq(rc, 128 + sig);
    cr_assert_str_eq(status, "interrupted");
    if (strcmp(mode, "--duration") == 0)
        cr_assert_lt(secs, 30.0, "measured %.1f s of a 60 s run", secs);
}

Test(cli_signal, sigint_stops_a_duration_run)
{
    expect_interrupted(SIGINT, "--duration", "60s");
}

Test(cli_signal, sigterm_stops_a_duration_run)
{
    expect_interrupted(SIGTERM, "--duration", "60s");
}

Test(cli_signal, sigint_stops_an_ops_run)
{
    expect_interrupted(SIGINT, "--ops", "100000000000");
}

/* ---- list --json -------------------------------------------------------- */

Test(cli_info, list_json)
{
    struct out o = run(ARGS("list", "--json"));
    cr_assert_eq(o.status, 0, "%s", o.err);
    json_error_t jerr;
    json_t *j = json_loads(o.out, 0, &jerr);
    cr_assert_not_null(j, "not JSON: %s\n%s", jerr.text, o.out);
    cr_assert_eq(json_integer_value(json_object_get(j, "schema")), 1);
    json_t *sc = json_object_get(j, "scenarios");
    cr_assert_geq(json_array_size(sc), 20);
    bool found = false;
    for (size_t i = 0; i < json_array_size(sc); i++) {
        json_t *e = json_array_get(sc, i);
        if (strcmp(json_string_value(json_object_get(e, "name")), "shared-list") == 0) {
            found = true;
            cr_assert(strstr(json_string_value(json_object_get(e, "about")), "one list"));
            cr_assert_null(json_object_get(e, "error"));
        }
    }
    cr_assert(found, "no shared-list in %s", o.out);
    json_t *st = json_object_get(j, "strategies");
    cr_assert_eq(json_array_size(st), gh_npresets);
    for (size_t i = 0; i < json_array_size(st); i++) {
        json_t *e = json_array_get(st, i);
        if (strcmp(json_string_value(json_object_get(e, "name")), "ft") == 0) {
            json_t *ax = json_object_get(e, "axes");
            cr_assert_str_eq(json_string_value(json_object_get(ax, "sync")), "objlock");
            cr_assert_str_eq(json_string_value(json_object_get(ax, "rc")), "biased");
        }
    }
    json_decref(j);
    out_free(&o);
    expect_error(ARGS("list", "--bogus"), true, ARGS("list: unexpected argument '--bogus'"));
}

/* ---- diff --------------------------------------------------------------- */

/* A compare file with six runs per cell: gil at 1 thread around `gil1`, ft at
 * 2 threads around `ft2` (each +-2.5%). */
static void write_compare(const char *path, double gil1, double ft2, const char *cpu)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"gilheap\": {\"commit\": \"abc\"}, \"machine\": {\"cpu_model\": \"%s\"},"
               " \"scenario\": {\"name\": \"s\"}, \"config\": {}, \"cells\": [", cpu);
    for (int r = 0; r < 6; r++) {
        double k = 0.975 + 0.01 * r;
        fprintf(f, "%s{\"strategy\": \"gil\", \"threads\": 1, \"result\": {\"config\": "
                   "{\"threads\": 1}, \"throughput\": {\"ops_per_sec\": %f}}},"
                   "{\"strategy\": \"ft\", \"threads\": 2, \"result\": {\"config\": "
                   "{\"threads\": 2}, \"throughput\": {\"ops_per_sec\": %f}}}",
                r ? "," : "", gil1 * k, ft2 * k);
    }
    fprintf(f, "]}\n");
    fclose(f);
}

Test(cli_run, diff_of_two_compares)
{
    char dir[] = "/tmp/gh-test-cli-diff-XXXXXX", a[128], b[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    write_compare(a, 10e6, 5e6, "cpu one");
    write_compare(b, 10.1e6, 8e6, "cpu two");
    struct out o = run(ARGS("diff", a, b));
    cr_assert_eq(o.status, 0, "%s", o.err);
    cr_assert(strstr(o.out, "note: the machines differ: A \"cpu one\", B \"cpu two\""), "%s",
              o.out);
    /* gil: the intervals overlap; ft: B is 1.6x and the intervals are apart. */
    const char *gil = strstr(o.out, "\ngil ");
    const char *ft = strstr(o.out, "\nft ");
    cr_assert(gil && ft, "%s", o.out);
    cr_assert(strstr(gil, " ~\n") && strstr(gil, " ~\n") < ft, "gil row: %s", o.out);
    cr_assert(strstr(ft, "1.600") && strstr(ft, "faster"), "ft row: %s", o.out);
    cr_assert(strstr(o.out, "2 cells in both, 1 differ"), "%s", o.out);
    out_free(&o);
    expect_error(ARGS("diff", a), true, ARGS("expected two result files"));
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    FILE *f = fopen(bad, "w");
    fputs("{\"a\":\n", f);
    fclose(f);
    expect_error(ARGS("diff", a, bad), false, ARGS(bad, "expected a gilheap result"));
    unlink(a);
    unlink(b);
    unlink(bad);
    rmdir(dir);
}

/* ---- versioned, complete results ---------------------------------------- */

/* Before: the compare CSV had `threads` twice and no JSON had a schema or
 * the environment it was measured in. */
Test(cli_run, results_are_versioned_and_columns_unique)
{
    char dir[] = "/tmp/gh-test-cli-schema-XXXXXX", json[128], csv[128], rjson[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/c.json", dir);
    snprintf(csv, sizeof csv, "%s/c.csv", dir);
    snprintf(rjson, sizeof rjson, "%s/r.json", dir);
    struct out o = run(ARGS("compare", "shared-list", "--strategies", "gil", "--threads", "1",
                            "--duration", "20ms", "--json", json, "--csv", csv));
    cr_assert_eq(o.status, 0, "%s", o.err);
    out_free(&o);
    o = run(ARGS("run", "shared-list", "--threads", "2", "--duration", "20ms", "--json", rjson,
                 "--quiet"));
    cr_assert_eq(o.status, 0, "%s", o.err);
    out_free(&o);
    const char *files[] = {json, rjson};
    for (int f = 0; f < 2; f++) {
        json_error_t jerr;
        json_t *j = json_load_file(files[f], 0, &jerr);
        cr_assert_not_null(j, "%s", jerr.text);
        cr_assert_eq(json_integer_value(json_object_get(j, "schema")), 1, "%s", files[f]);
        json_t *env = json_object_get(j, "environment");
        cr_assert(json_is_string(json_object_get(env, "timestamp")), "%s", files[f]);
        cr_assert(json_is_string(json_object_get(env, "hostname")));
        cr_assert_geq(json_array_size(json_object_get(env, "affinity")), 1);
        json_t *argv = json_object_get(env, "command_line");
        cr_assert_str_eq(json_string_value(json_array_get(argv, 1)), f ? "run" : "compare");
        if (f == 1) {
            cr_assert(json_is_boolean(json_object_get(env, "oversubscribed")));
            /* Two threads of one role: their spread is reported. */
            json_t *fa = json_object_get(json_object_get(j, "throughput"), "fairness");
            cr_assert_eq(json_array_size(fa), 1);
            json_t *e = json_array_get(fa, 0);
            cr_assert_eq(json_integer_value(json_object_get(e, "threads")), 2);
            cr_assert_geq(json_integer_value(json_object_get(e, "max_ops")),
                          json_integer_value(json_object_get(e, "min_ops")));
        }
        json_decref(j);
    }
    FILE *fp = fopen(csv, "r");
    cr_assert_not_null(fp);
    char line[8192];
    cr_assert_not_null(fgets(line, sizeof line, fp));
    fclose(fp);
    line[strcspn(line, "\n")] = 0;
    char *cols[512];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, ",", &save); t && n < 512;
         t = strtok_r(NULL, ",", &save))
        cols[n++] = t;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            cr_assert(strcmp(cols[a], cols[b]) != 0, "column `%s` twice", cols[a]);
    unlink(json);
    unlink(csv);
    unlink(rjson);
    rmdir(dir);
}

/* ---- resource exhaustion ------------------------------------------------ */

/* Runs gilheap with its address space limited to `limit_mb`; returns the
 * exit status (128 + signal when killed) and its stderr in *err. */
static int run_limited(const char *const *args, long limit_mb, char **err)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = GH_BINARY_DIR "/gilheap";
    while (*args && n < 31)
        argv[n++] = *args++;
    argv[n] = NULL;
    int efd = tmpfd();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)limit_mb << 20, (rlim_t)limit_mb << 20};
        if (chdir(GH_SOURCE_DIR) != 0 || setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(126);
        dup2(efd, STDERR_FILENO);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    *err = slurp_fd(efd);
    close(efd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Before: SIGABRT (134) and a "fatal" line naming an OS call. */
Test(cli_run, out_of_memory_or_threads_is_exit_3, .timeout = 60)
{
    if (GH_SANITIZE[0])
        cr_skip_test("a sanitizer reserves more address space than the limit");
    char path[] = "/tmp/gh-test-cli-big-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    static const char text[] = "name: big\nduration: 100ms\nsetup:\n"
                               "  L: {type: list, items: 10000000, value: int}\n"
                               "mix:\n  - {op: list.len, on: L}\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char *err;
    int rc = run_limited(ARGS("run", path, "--quiet"), 400, &err);
    unlink(path);
    cr_assert_eq(rc, 3, "status %d: %s", rc, err);
    cr_assert(strstr(err, "gilheap: error: out of memory"), "%s", err);
    free(err);
    rc = run_limited(ARGS("run", "shared-list", "--threads", "1000", "--duration", "100ms",
                          "--quiet"), 1500, &err);
    cr_assert_eq(rc, 3, "status %d: %s", rc, err);
    cr_assert(strstr(err, "gilheap: error: out of threads"), "%s", err);
    free(err);
}

/* ---- plots -------------------------------------------------------------- */

/* An SVG plot of `strategies` (comma-separated) at 1 and 2 threads, read
 * whole into a malloc'd string. */
static char *plot_svg(const char *strategies, const char *set, bool *hazards)
{
    char dir[] = "/tmp/gh-test-cli-svg-XXXXXX", file[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/p.svg", dir);
    /* Under the sanitizers, a strategy made unsafe with --set runs one
     * thread: at two its races free objects early, and UBSan reports the
     * first null load before the checked mode's fault handler can catch
     * it (the checked mode is what a normal build relies on). */
    const char *threads = set && GH_SANITIZE[0] ? "1" : "1,2";
    struct out o = run(set ? ARGS("compare", SCEN, "--duration", "20ms", "--threads", threads,
                                  "--strategies", strategies, "--plot", file, "--set", set)
                           : ARGS("compare", SCEN, "--duration", "20ms", "--threads", threads,
                                  "--strategies", strategies, "--plot", file));
    /* The output is freed before any assertion, so a failing one leaves no
     * leak for LeakSanitizer to report instead of the status. */
    int status = o.status;
    char err[512];
    snprintf(err, sizeof err, "%s", o.err);
    if (hazards)
        *hazards = strstr(o.out, " FAIL ") || strstr(o.out, " hazards ") || strstr(o.out, " failed ");
    out_free(&o);
    cr_assert(status == 0 || status == 1, "compare exited %d: %s", status, err);
    int fd = open(file, O_RDONLY);
    cr_assert_geq(fd, 0);
    char *svg = slurp_fd(fd);
    close(fd);
    unlink(file);
    rmdir(dir);
    return svg;
}

/* Before: gnuplot's default colours by position, so a strategy's colour
 * changed with the list; one marker for all; nothing said what the figure
 * was made of. Three compares (each calibrating its CPUs and starting a
 * process per cell): about 5 s alone, over 60 s under ASan beside the
 * other tests, hence the long timeout (it bounds a hang, not the speed). */
Test(cli_run, plot_styles_are_fixed_and_the_figure_says_what_it_shows, .timeout = 300)
{
    char *a = plot_svg("ft,gil", NULL, NULL);
    char *b = plot_svg("atomic,locks,ft", NULL, NULL);
    /* ft is the same green (#009E73) wherever it stands in the list. */
    cr_assert(strstr(a, "rgb(  0, 158, 115)"), "ft's colour missing from the first plot");
    cr_assert(strstr(b, "rgb(  0, 158, 115)"), "ft's colour missing from the second plot");
    cr_assert(strstr(a, "rgb(  0, 114, 178)"), "gil's colour (#0072B2) missing");
    cr_assert(!strstr(b, "rgb(  0, 114, 178)"), "gil's colour in a plot without gil");
    cr_assert(strstr(a, "seed 1") && strstr(a, "gilheap "), "no subtitle");
    cr_assert(strstr(a, "20ms x 1 run per point"), "the subtitle gives the duration");
    free(a);
    free(b);
    /* A strategy unsafe by construction is named so in the key (and drawn
     * hollow); its cells that found hazards are circled and the key says so. */
    bool hazards;
    char *c = plot_svg("atomic", "rc=plain", &hazards);
    cr_assert(strstr(c, "atomic (unsafe)"), "the unsafe strategy is not named so");
    if (hazards)
        cr_assert(strstr(c, "checks failed or hazards"), "failed cells are not in the key");
    else
        cr_assert(!strstr(c, "checks failed or hazards"), "no cell failed, yet the key says so");
    free(c);
}

/* ---- compare and signals ------------------------------------------------ */

/* `gilheap run` processes (compare's cells) whose command line holds
 * `marker` (a seed no other test uses). */
static int count_procs_with(const char *marker)
{
    int n = 0;
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        for (ssize_t i = 0; i < len; i++)
            if (buf[i] == 0)
                buf[i] = ' ';
        if (len > 0) {
            buf[len] = 0;
            n += strstr(buf, marker) != NULL && strstr(buf, " run ") != NULL;
        }
    }
    closedir(d);
    return n;
}

/* Starts `gilheap compare shared-list` (3 cells of 30 s, seed `seed`),
 * waits 700 ms, sends sig; returns the pid (not yet waited for). */
static pid_t start_compare(const char *seed, const char *json, int sig)
{
    /* Timing-bound (a cell must be seen running before the signal): under a
     * sanitizer, with the other tests running beside it, the cell's start
     * took longer than the wait. The plain build runs it. */
    if (GH_SANITIZE[0])
        cr_skip_test("timing-bound; run by the plain build");
    const char *argv[] = {GH_BINARY_DIR "/gilheap", "compare", "shared-list", "--strategies",
                          "gil", "--threads", "1", "--repeat", "3", "--duration", "30s",
                          "--seed", seed, "--json", json, NULL};
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (chdir(GH_SOURCE_DIR) != 0)
            _exit(126);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, STDOUT_FILENO);
        dup2(nul, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* After the calibration, the first cell starts: wait for it (20 s at
     * most: a sanitizer build starts slowly), then let it run a little. */
    int running = 0;
    for (int i = 0; i < 2000 && !running; i++) {
        running = count_procs_with(seed);
        if (!running)
            usleep(10000);
    }
    if (running)
        usleep(300000);
    if (!running || kill(pid, sig) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_fail("the compare's first cell never started");
    }
    return pid;
}

/* Before: SIGTERM to compare killed it and left its cell running (and its
 * temporary directory behind), with no result written. */
Test(cli_signal, sigterm_stops_compare_and_its_cell)
{
    char dir[] = "/tmp/gh-test-cli-cmpsig-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/c.json", dir);
    pid_t pid = start_compare("4242424201", json, SIGTERM);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 143, "status %d", st);
    cr_assert_eq(count_procs_with("4242424201"), 0, "a cell outlived its compare");
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "no result: %s", jerr.text);
    json_t *cells = json_object_get(j, "cells");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(cells, 0), "status")),
                     "interrupted");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(cells, 1), "status")),
                     "skipped");
    json_decref(j);
    unlink(json);
    cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
}

/* SIGKILL cannot be caught: the cell dies with its parent all the same
 * (PR_SET_PDEATHSIG), and nothing is left on disk (its result goes to an
 * anonymous file). */
Test(cli_signal, sigkill_of_compare_kills_its_cell)
{
    char dir[] = "/tmp/gh-test-cli-cmpkill-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/c.json", dir);
    pid_t pid = start_compare("4242424202", json, SIGKILL);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    int left = 1;
    for (int i = 0; i < 100 && left; i++) { /* the kernel delivers it at once; allow 1 s */
        left = count_procs_with("4242424202");
        if (left)
            usleep(10000);
    }
    cr_assert_eq(left, 0, "a cell outlived its compare");
    cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);
}

/* Before: run --help named 4 of the 10 --set axes. Every axis --set takes
 * is listed, and every listed one is taken. */
Test(cli_info, help_lists_every_axis)
{
    struct out o = run(ARGS("run", "--help"));
    cr_assert_eq(o.status, 0);
    const char *p = strstr(o.out, "AXIS: ");
    cr_assert_not_null(p, "%s", o.out);
    char list[512];
    snprintf(list, sizeof list, "%.*s", (int)strcspn(p + 6, "\n"), p + 6);
    out_free(&o);
    int n = 0;
    for (char *save = NULL, *a = strtok_r(list, ", ", &save); a; a = strtok_r(NULL, ", ", &save)) {
        char set[64];
        snprintf(set, sizeof set, "%s=nonsense", a);
        struct out e = run(ARGS("run", SCEN, "--set", set));
        cr_assert_eq(e.status, 2);
        cr_assert(!strstr(e.err, "unknown axis"), "listed axis `%s` is refused: %s", a, e.err);
        out_free(&e);
        n++;
    }
    cr_assert_geq(n, 10);
    /* The refusal of an unknown axis names the same list. */
    struct out e = run(ARGS("run", SCEN, "--set", "nonsense=1"));
    cr_assert(strstr(e.err, "unknown axis"), "%s", e.err);
    cr_assert(strstr(e.err, gh_strategy_axis_names()), "%s", e.err);
    out_free(&e);
}

/* A result file that cannot be written after the run (its directory went
 * away meanwhile): one message naming it, exit 3, and the text report is
 * still printed. */
Test(cli_run, unwritable_result_keeps_the_text)
{
    char dir[] = "/tmp/gh-test-cli-gone-XXXXXX", sub[128], json[160];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(json, sizeof json, "%s/r.json", sub);
    const char *argv[] = {GH_BINARY_DIR "/gilheap", "run", "shared-list", "--duration",
                          "600ms", "--json", json, NULL};
    int ofd = tmpfd(), efd = tmpfd();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (chdir(GH_SOURCE_DIR) != 0)
            _exit(126);
        dup2(ofd, STDOUT_FILENO);
        dup2(efd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    usleep(300000); /* checked writable at the start; gone before the end */
    cr_assert_eq(rmdir(sub), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    char *out = slurp_fd(ofd), *err = slurp_fd(efd);
    close(ofd);
    close(efd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %d: %s", st, err);
    cr_assert(strstr(out, "throughput"), "the text report is missing: %s", out);
    cr_assert(strstr(err, "--json") && strstr(err, json), "%s", err);
    free(out);
    free(err);
    rmdir(dir);
}

Test(cli_usage, inject_stall_and_torture_arguments)
{
    expect_error(ARGS("run", SCEN, "--inject", "nosuch=1us"), true,
                 ARGS("--inject 'nosuch=1us'", "unknown point", "rc.update"));
    expect_error(ARGS("run", SCEN, "--inject", "rc.update=5"), true,
                 ARGS("--inject 'rc.update=5'", "DELAY"));
    expect_error(ARGS("run", SCEN, "--inject", "rc.update=1us", "--inject", "rc.update=2us"),
                 true, ARGS("rc.update is injected already"));
    expect_error(ARGS("run", SCEN, "--stall", "5"), true, ARGS("--stall '5'"));
    expect_error(ARGS("compare", SCEN, "--inject", "rc.update=1us"), true,
                 ARGS("unknown option '--inject'"));
    expect_error(ARGS("torture", "--time", "0s"), true, ARGS("--time '0s'"));
    expect_error(ARGS("torture", "--cell", "1ms"), true, ARGS("--cell '1ms'"));
    expect_error(ARGS("torture", "--frob"), true, ARGS("unexpected argument '--frob'"));
}

Test(cli_info, list_inject)
{
    struct out o = run(ARGS("list", "--inject"));
    cr_assert_eq(o.status, 0, "%s", o.err);
    const char *points[] = {"rc.update", "cs.held", "stw.ack", "gc.phase", "brc.merge",
                            "free.remote", "qsbr.read", "lock.slow"};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++)
        cr_assert(strstr(o.out, points[i]), "%s missing:\n%s", points[i], o.out);
    cr_assert(strstr(o.out, "  breaks    "), "%s", o.out);
    out_free(&o);
    o = run(ARGS("list", "--inject", "--json"));
    cr_assert_eq(o.status, 0, "%s", o.err);
    json_error_t jerr;
    json_t *j = json_loads(o.out, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cr_assert_eq(json_array_size(json_object_get(j, "inject_points")), 8);
    json_decref(j);
    out_free(&o);
}

/* The watchdog's positive control through the program: exit 3, the
 * diagnosis on stderr and in the JSON, the run torn down (no leak report,
 * the text report printed). */
Test(cli_run, watchdog_reports_an_injected_hang)
{
    char dir[] = "/tmp/gh-test-cli-hang-XXXXXX", yaml[128], json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(yaml, sizeof yaml, "%s/hang.yaml", dir);
    snprintf(json, sizeof json, "%s/r.json", dir);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fputs("name: hang\nthreads: 2\nduration: 30s\nsetup:\n  L: list\nmix:\n"
          "  - {op: list.append, on: L, value: 1}\n  - {op: list.pop, on: L}\n", f);
    fclose(f);
    struct out o = run(ARGS("run", yaml, "--strategy", "ft", "--inject", "cs.held=hang@1in500:0",
                            "--stall", "300ms", "--json", json));
    cr_assert_eq(o.status, 3, "status %d: %s", o.status, o.err);
    cr_assert(strstr(o.err, "gilheap: stall: no worker made progress for"), "%s", o.err);
    cr_assert(strstr(o.err, "waits for list lock"), "%s", o.err);
    cr_assert(strstr(o.err, "(held by worker-0)"), "%s", o.err);
    cr_assert(strstr(o.out, "status      stalled"), "%s", o.out);
    cr_assert(strstr(o.out, "injected    cs.held=hang@1in500:0: 1 delays"), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "stalled");
    json_t *st = json_object_get(j, "stall");
    cr_assert(json_is_true(json_object_get(st, "workers_ended")));
    json_t *w1 = json_array_get(json_object_get(st, "threads"), 1);
    json_t *wf = json_object_get(w1, "waits_for");
    cr_assert_str_eq(json_string_value(json_object_get(wf, "class")), "list");
    cr_assert_eq(json_integer_value(json_object_get(wf, "holder")), 0);
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(json_object_get(j, "inject"), "cs.held"), "delays")), 1);
    json_decref(j);
    out_free(&o);
    unlink(yaml);
    unlink(json);
    rmdir(dir);
}

/* A short torture: a line per cell, the summary, the JSON; safe cells come
 * out clean (exit 0), or the failure is named with its replay line. */
Test(cli_run, torture_runs_cells_and_sums_them_up, .timeout = 180)
{
    char dir[] = "/tmp/gh-test-cli-torture-XXXXXX", json[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/t.json", dir);
    struct out o = run(ARGS("torture", "--time", "3s", "--cell", "50ms", "--seed", "11",
                            "--json", json));
    /* Under a sanitizer an unsafe cell's race can trip the sanitizer's own
     * check before the checked mode's (a crash there is the sanitizer's
     * finding): the summary is checked, not the verdict. */
    if (GH_SANITIZE[0])
        cr_assert(o.status == 0 || o.status == 1, "status %d:\n%s\n%s", o.status, o.out, o.err);
    else
        cr_assert(o.status == 0 && strstr(o.out, "\nfailures: none\n"), "status %d:\n%s\n%s",
                  o.status, o.out, o.err);
    cr_assert(strstr(o.out, "torture: "), "%s", o.out);
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    cr_assert_not_null(j, "%s", jerr.text);
    json_int_t cells = json_integer_value(json_object_get(j, "cells"));
    cr_assert_gt(cells, 3);
    cr_assert_eq(count_lines(o.out), cells + 1 /* header */ + 7 /* summary */ +
                 (json_array_size(json_object_get(j, "failures")) ? 1 + (int)json_array_size(
                      json_object_get(j, "failures")) : 0),
                 "%s", o.out);
    cr_assert_eq(json_integer_value(json_object_get(j, "seed")), 11);
    json_decref(j);
    out_free(&o);
    unlink(json);
    rmdir(dir);
}
