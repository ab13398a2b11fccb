/* cmd_list.c - `gilheap list [--json]`: the scenarios (name and `about`,
 * one line each) from every scenario directory, then the strategy presets
 * with their axes and what each models. A scenario file that does not load
 * is listed with its error and makes the exit status 2. With --json the same
 * as one JSON object on stdout (docs/results.md, "gilheap list --json").
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "base/inject.h"        // gh_inject_docs
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

/* "sync=gil rc=plain ..." as {"sync": "gil", "rc": "plain", ...}. */
static json_t *axes_json(const char *describe)
{
    json_t *o = json_object();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", describe);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(w, '=');
        if (!eq)
            continue;
        *eq = 0;
        json_object_set_new(o, w, json_string(eq + 1));
    }
    return o;
}

/* One line of `about`, as print_one_line prints it. */
static char *one_line(const char *text)
{
    char *out = malloc(strlen(text) + 1), *q = out;
    bool space = false;
    if (!out)
        return NULL;
    for (const char *p = text; *p; p++) {
        if (*p == '\n' || *p == ' ' || *p == '\t') {
            space = true;
            continue;
        }
        if (space && q > out)
            *q++ = ' ';
        space = false;
        *q++ = *p;
    }
    *q = 0;
    return out;
}

/* Prints `text` after `label`, wrapped at 78 columns, continuation lines
 * indented to the text. */
static void print_wrapped(const char *label, const char *text)
{
    const int indent = 12, width = 78;
    printf("  %-*s", indent - 2, label);
    int col = indent;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, ' ');
        int n = e ? (int)(e - p) : (int)strlen(p);
        if (col > indent && col + 1 + n > width) {
            printf("\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            putchar(' ');
            col++;
        }
        printf("%.*s", n, p);
        col += n;
        p += n;
        while (*p == ' ')
            p++;
    }
    putchar('\n');
}

/* list --inject: the injection points (base/inject.h). */
static int list_inject(bool as_json)
{
    if (!as_json) {
        printf("injection points (run --inject POINT=DELAY[@P][:THREADS]):\n");
        for (int i = 0; i < GH_INJ_COUNT; i++) {
            const struct gh_inject_doc *d = &gh_inject_docs[i];
            printf("%s\n", d->name);
            print_wrapped("where", d->where);
            print_wrapped("breaks", d->breaks);
            print_wrapped("keeps", d->keeps);
        }
        return GH_EXIT_OK;
    }
    json_t *a = json_array();
    for (int i = 0; a && i < GH_INJ_COUNT; i++) {
        const struct gh_inject_doc *d = &gh_inject_docs[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "name", d->name, "where",
                                           d->where, "breaks", d->breaks, "keeps", d->keeps));
    }
    json_t *j = a ? json_pack("{s:i, s:o}", "schema", GH_LIST_SCHEMA, "inject_points", a) : NULL;
    int status = GH_EXIT_OK;
    if (!j || json_dumpf(j, stdout, JSON_INDENT(1)) != 0)
        status = gh__cli_error(GH_EXIT_INTERNAL, "list --json: out of memory");
    else
        putchar('\n');
    json_decref(j);
    return status;
}

int gh__cli_list(int argc, char **argv)
{
    bool as_json = false, inject = false;
    for (int a = 2; a < argc; a++) {
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            printf("Usage: gilheap list [--inject] [--json]\n\nPrints the scenarios and the "
                   "strategy presets.\n\n"
                   "  --inject          the fault-injection points instead (run --inject)\n"
                   "  --json            as one JSON object (docs/results.md)\n");
            return GH_EXIT_OK;
        }
        if (strcmp(argv[a], "--json") == 0) {
            as_json = true;
            continue;
        }
        if (strcmp(argv[a], "--inject") == 0) {
            inject = true;
            continue;
        }
        return gh__cli_usage("list: unexpected argument '%s' (expected --inject, --json or "
                             "--help)", argv[a]);
    }
    if (inject)
        return list_inject(as_json);
    int status = GH_EXIT_OK;
    char dirs[GH_CLI_SCENARIO_DIRS][4096];
    int ndirs = gh__cli_scenario_dirs(dirs, GH_CLI_SCENARIO_DIRS);
    char seen[256][64];
    int nseen = 0;
    json_t *jscen = json_array(), *jstrat = json_array(), *jdirs = json_array();

    if (!as_json) {
        printf("scenarios:\n");
        if (ndirs == 0)
            printf("  (no scenario directory: ./scenarios, $GH_SCENARIO_DIR, ...)\n");
    }
    for (int d = 0; d < ndirs; d++) {
        json_array_append_new(jdirs, json_string(dirs[d]));
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
                if (!as_json)
                    printf("  %-20s (path too long)\n", stem);
                json_array_append_new(jscen, json_pack("{s:s, s:s}", "name", stem, "error",
                                                       "path too long"));
                continue;
            }

            struct gh_diag diag = {{0}};
            struct gh_scenario *s = gh_scenario_load(path, &diag);
            if (!s) {
                if (!as_json)
                    printf("  %-20s (does not load: %s)\n", stem, diag.msg);
                json_array_append_new(jscen, json_pack("{s:s, s:s, s:s}", "name", stem, "path",
                                                       path, "error", diag.msg));
                status = GH_EXIT_USAGE;
                continue;
            }
            if (!as_json) {
                printf("  %-20s ", s->name ? s->name : stem);
                print_one_line(s->about ? s->about : "");
                printf("\n");
            }
            char *about = one_line(s->about ? s->about : "");
            json_array_append_new(jscen, json_pack("{s:s, s:s, s:s}", "name",
                                                   s->name ? s->name : stem, "path", path,
                                                   "about", about ? about : ""));
            free(about);
            gh_scenario_free(s);
        }
        free(ents);
    }

    if (!as_json)
        printf("strategies:\n");
    for (size_t i = 0; i < gh_npresets; i++) {
        const struct gh_preset *p = &gh_presets[i];
        struct gh_strategy st;
        char err[8], axes[256];
        if (gh_strategy_from_preset(&st, p->name, err, sizeof err) != 0)
            continue;
        const char *desc = gh_strategy_describe(&st, axes, sizeof axes);
        if (!as_json)
            printf("  %-10s %s\n  %-10s   %s\n", p->name, p->models, "", desc);
        json_array_append_new(jstrat, json_pack("{s:s, s:s, s:o}", "name", p->name, "models",
                                                p->models, "axes", axes_json(desc)));
    }
    if (!as_json && ndirs > 0) {
        printf("scenario directories:");
        for (int d = 0; d < ndirs; d++)
            printf(" %s", dirs[d]);
        printf("\n");
    }
    if (as_json) {
        json_t *j = json_pack("{s:i, s:o, s:o, s:o}", "schema", GH_LIST_SCHEMA, "scenarios",
                              jscen, "strategies", jstrat, "scenario_dirs", jdirs);
        if (!j || json_dumpf(j, stdout, JSON_INDENT(1)) != 0)
            status = gh__cli_error(GH_EXIT_INTERNAL, "list --json: out of memory");
        else
            putchar('\n');
        json_decref(j);
    } else {
        json_decref(jscen);
        json_decref(jstrat);
        json_decref(jdirs);
    }
    return status;
}
