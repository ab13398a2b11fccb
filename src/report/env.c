/* env.c - the environment a result was measured in: when, where, how it
 * was started, which CPUs it could use at what governor, and how loaded the
 * machine was when it started (docs/results.md, `environment`). Captured
 * once, at the program's start, before any thread is created.
 */
#define _GNU_SOURCE
#include "report/report.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
    bool captured;
    char timestamp[40];
    char hostname[256];
    int argc;
    char **argv;
    int ncpus;          /* CPUs in the affinity mask */
    int cpus[CPU_SETSIZE];
    char governor[64];  /* "" unreadable; "mixed" when the CPUs differ */
    double load[3];
    bool have_load;
} env;

static void read_governor(void)
{
    for (int i = 0; i < env.ncpus; i++) {
        char path[96], g[64] = "";
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor",
                 env.cpus[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            return; /* no cpufreq (a VM): left out */
        if (!fgets(g, sizeof g, f))
            g[0] = 0;
        fclose(f);
        g[strcspn(g, "\n")] = 0;
        if (i == 0)
            snprintf(env.governor, sizeof env.governor, "%s", g);
        else if (strcmp(env.governor, g) != 0)
            snprintf(env.governor, sizeof env.governor, "mixed");
    }
}

void gh_report_env_capture(int argc, char **argv)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(env.timestamp, sizeof env.timestamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(env.timestamp + n, sizeof env.timestamp - n, ".%03ldZ", (long)tv.tv_usec / 1000);
    if (gethostname(env.hostname, sizeof env.hostname) != 0)
        env.hostname[0] = 0;
    env.hostname[sizeof env.hostname - 1] = 0;
    env.argc = argc;
    env.argv = argv;
    cpu_set_t set;
    env.ncpus = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set))
                env.cpus[env.ncpus++] = c;
    read_governor();
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        env.have_load = fscanf(f, "%lf %lf %lf", &env.load[0], &env.load[1], &env.load[2]) == 3;
        fclose(f);
    }
    env.captured = true;
}

int gh_report_env_ncpus(void)
{
    return env.captured ? env.ncpus : 0;
}

json_t *gh_report_env_json(int threads)
{
    if (!env.captured)
        return NULL;
    json_t *o = json_object(), *argv = json_array(), *cpus = json_array(), *load = NULL;
    if (!o || !argv || !cpus)
        goto oom;
    for (int i = 0; i < env.argc; i++)
        if (json_array_append_new(argv, json_string(env.argv[i])))
            goto oom;
    for (int i = 0; i < env.ncpus; i++)
        if (json_array_append_new(cpus, json_integer(env.cpus[i])))
            goto oom;
    if (env.have_load && !(load = json_pack("[f,f,f]", env.load[0], env.load[1], env.load[2])))
        goto oom;
    if (json_object_set_new(o, "timestamp", json_string(env.timestamp)) ||
        json_object_set_new(o, "hostname", json_string(env.hostname)) ||
        json_object_set_new(o, "command_line", argv) ||
        json_object_set_new(o, "affinity", cpus))
        goto oom_parts_taken;
    argv = cpus = NULL;
    if (env.governor[0] && json_object_set_new(o, "governor", json_string(env.governor)))
        goto oom_parts_taken;
    if (load && json_object_set_new(o, "load_at_start", load))
        goto oom_parts_taken;
    load = NULL;
    if (threads > 0 && env.ncpus > 0 &&
        json_object_set_new(o, "oversubscribed", json_boolean(threads > env.ncpus)))
        goto oom_parts_taken;
    return o;
oom:
    json_decref(argv);
    json_decref(cpus);
oom_parts_taken:
    json_decref(load);
    json_decref(o);
    return NULL;
}
