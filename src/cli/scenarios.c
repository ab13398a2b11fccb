/* scenarios.c - finding scenario files: a SCENARIO argument is a path, or a
 * bare name looked up as NAME.yaml in the scenario directories (the same
 * ones `gilheap list` shows), in this order:
 *
 *   1. ./scenarios                 running from the source tree
 *   2. $GH_SCENARIO_DIR            set by the user
 *   3. <binary dir>/../scenarios   the source tree of a build directory
 *                                  (build/gilheap -> scenarios/)
 *   4. <binary dir>/../share/gilheap/scenarios
 *                                  an installed tree, wherever its prefix
 *                                  was moved (cmake --install --prefix)
 *   5. GH_SCENARIO_INSTALL_DIR     the configured install directory
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#ifndef GH_SCENARIO_INSTALL_DIR
#define GH_SCENARIO_INSTALL_DIR "/usr/local/share/gilheap/scenarios"
#endif

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Adds `dir` unless it does not exist or is already listed (by real path). */
static void add_dir(char dirs[][4096], int *n, int max, const char *dir)
{
    char real[PATH_MAX], other[PATH_MAX];
    if (*n >= max || !dir || !*dir || !is_dir(dir) || !realpath(dir, real))
        return;
    for (int i = 0; i < *n; i++)
        if (realpath(dirs[i], other) && strcmp(other, real) == 0)
            return;
    snprintf(dirs[*n], 4096, "%s", dir);
    (*n)++;
}

int gh__cli_scenario_dirs(char dirs[][4096], int max)
{
    int n = 0;
    char exe[PATH_MAX], up[PATH_MAX + 32];
    add_dir(dirs, &n, max, "scenarios");
    add_dir(dirs, &n, max, getenv("GH_SCENARIO_DIR"));
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(up, sizeof up, "%s/../scenarios", exe);
            add_dir(dirs, &n, max, up);
            snprintf(up, sizeof up, "%s/../share/gilheap/scenarios", exe);
            add_dir(dirs, &n, max, up);
        }
    }
    add_dir(dirs, &n, max, GH_SCENARIO_INSTALL_DIR);
    return n;
}

static bool looks_like_path(const char *a)
{
    size_t n = strlen(a);
    return strchr(a, '/') || (n > 5 && strcmp(a + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(a + n - 4, ".yml") == 0);
}

int gh__cli_scenario_path(const char *arg, char *path, size_t len)
{
    struct stat st;
    if (is_file(arg) || looks_like_path(arg)) {
        if (stat(arg, &st) != 0)
            return gh__cli_error(GH_EXIT_USAGE, "scenario file '%s': %s", arg,
                                 strerror(errno));
        if (!S_ISREG(st.st_mode))
            return gh__cli_error(GH_EXIT_USAGE, "scenario file '%s': not a regular file",
                                 arg);
        snprintf(path, len, "%s", arg);
        return 0;
    }
    char dirs[GH_CLI_SCENARIO_DIRS][4096];
    int n = gh__cli_scenario_dirs(dirs, GH_CLI_SCENARIO_DIRS);
    for (int i = 0; i < n; i++) {
        snprintf(path, len, "%s/%s.yaml", dirs[i], arg);
        if (is_file(path))
            return 0;
    }
    char where[1024] = "";
    size_t off = 0;
    for (int i = 0; i < n && off < sizeof where; i++)
        off += (size_t)snprintf(where + off, sizeof where - off, "%s%s", i ? ", " : "",
                                dirs[i]);
    return gh__cli_error(GH_EXIT_USAGE,
                         "scenario '%s': no file of that name and no %s.yaml in %s "
                         "(gilheap list shows the scenarios)",
                         arg, arg, n ? where : "any scenario directory");
}
