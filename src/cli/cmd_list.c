/* cmd_list.c - `gilheap list`: the scenarios (name and `about`, one line
 * each) from every scenario directory, then the strategy presets with their
 * axes and what each models. A scenario file that does not load is listed
 * with its error and makes the exit status 2.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "scenario/scenario.h"  // gh_scenario_load
#include "scenario/strategy.h"  // gh_presets

static int yaml_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0;
}

/* One line: newlines and runs of blanks in `about` become single spaces. */
static void print_one_line(const char *text)
{
    bool space = false;
    for (const char *p = text; *p; p++) {
        if (*p == '\n' || *p == ' ' || *p == '\t') {
            space = true;
            continue;
        }
        if (space)
            putchar(' ');
        space = false;
        putchar(*p);
    }
}

int gh__cli_list(int argc, char **argv)
{
    if (argc > 2) {
        if (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
            printf("Usage: gilheap list\n\nPrints the scenarios and the strategy presets.\n");
            return GH_EXIT_OK;
        }
        return gh__cli_usage("list: unexpected argument '%s' (list takes none)", argv[2]);
    }
    int status = GH_EXIT_OK;
    char dirs[GH_CLI_SCENARIO_DIRS][4096];
    int ndirs = gh__cli_scenario_dirs(dirs, GH_CLI_SCENARIO_DIRS);
    char seen[256][64];
    int nseen = 0;

    printf("scenarios:\n");
    if (ndirs == 0)
        printf("  (no scenario directory: ./scenarios, $GH_SCENARIO_DIR, ...)\n");
    for (int d = 0; d < ndirs; d++) {
        struct dirent **ents;
        int n = scandir(dirs[d], &ents, yaml_file, alphasort);
        if (n < 0)
            continue;
        for (int i = 0; i < n; i++) {
            char stem[64], path[8192];
            snprintf(stem, sizeof stem, "%.*s", (int)(strlen(ents[i]->d_name) - 5),
                     ents[i]->d_name);
            bool dup = false;
            for (int k = 0; k < nseen; k++)
                dup |= strcmp(seen[k], stem) == 0;
            if (!dup && nseen < 256)
                snprintf(seen[nseen++], sizeof seen[0], "%s", stem);
            int plen = snprintf(path, sizeof path, "%s/%s", dirs[d], ents[i]->d_name);
            free(ents[i]);
            if (dup)
                continue; /* an earlier directory has it: that one is used */
            if (plen < 0 || (size_t)plen >= sizeof path) {
                printf("  %-20s (path too long)\n", stem);
                continue;
            }

            struct gh_diag diag = {{0}};
            struct gh_scenario *s = gh_scenario_load(path, &diag);
            if (!s) {
                printf("  %-20s (does not load: %s)\n", stem, diag.msg);
                status = GH_EXIT_USAGE;
                continue;
            }
            printf("  %-20s ", s->name ? s->name : stem);
            print_one_line(s->about ? s->about : "");
            printf("\n");
            gh_scenario_free(s);
        }
        free(ents);
    }

    printf("strategies:\n");
    for (size_t i = 0; i < gh_npresets; i++) {
        const struct gh_preset *p = &gh_presets[i];
        struct gh_strategy st;
        char err[8], axes[256];
        if (gh_strategy_from_preset(&st, p->name, err, sizeof err) != 0)
            continue;
        printf("  %-10s %s\n  %-10s   %s\n", p->name, p->models, "",
               gh_strategy_describe(&st, axes, sizeof axes));
    }
    if (ndirs > 0) {
        printf("scenario directories:");
        for (int d = 0; d < ndirs; d++)
            printf(" %s", dirs[d]);
        printf("\n");
    }
    return status;
}
