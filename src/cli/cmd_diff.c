/* cmd_diff.c - `gilheap diff A.json B.json`: the same cells of two saved
 * runs or compares, side by side.
 *
 * A cell is a (strategy, threads) pair: every run of a `run` file, every
 * cell of a `compare` file (its repeats are the cell's samples). For each
 * cell in both files: the median ops/s of each side with a confidence
 * interval of the median (report/stats.h), the ratio B/A with the interval
 * [B.lo / A.hi, B.hi / A.lo], and a verdict: `faster` or `slower` when the
 * two intervals do not overlap, `~` when they do. Files from different
 * machines, builds, scenarios or configurations are called out first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "report/report.h" // gh_report_fmt_rate
#include "report/stats.h"  // gh_stats_median_ci

#define MAX_CELLS 512
#define MAX_SAMPLES 1024

struct dcell {
    char strategy[64];
    int threads;
    int n;
    double ops[MAX_SAMPLES];
};

struct dfile {
    const char *path;
    json_t *j;
    bool is_compare;
    int ncells;
    struct dcell cells[MAX_CELLS];
};

static struct dcell *cell_for(struct dfile *f, const char *strategy, int threads)
{
    for (int i = 0; i < f->ncells; i++)
        if (f->cells[i].threads == threads && strcmp(f->cells[i].strategy, strategy) == 0)
            return &f->cells[i];
    if (f->ncells == MAX_CELLS)
        return NULL;
    struct dcell *c = &f->cells[f->ncells++];
    memset(c, 0, sizeof *c);
    snprintf(c->strategy, sizeof c->strategy, "%s", strategy);
    c->threads = threads;
    return c;
}

/* A run result's strategy label: the preset, or the preset and its axes
 * when --set changed them. */
static void run_label(json_t *config, char *buf, size_t len)
{
    const char *preset = json_string_value(json_object_get(config, "preset"));
    snprintf(buf, len, "%s", preset ? preset : "?");
    if (json_is_true(json_object_get(config, "overridden"))) {
        static const char *const axes[] = {"sync", "rc", "alloc", "gc", "lock", "deferred"};
        size_t off = strlen(buf);
        for (size_t i = 0; i < sizeof axes / sizeof axes[0] && off < len; i++) {
            const char *v = json_string_value(json_object_get(config, axes[i]));
            if (v)
                off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", i ? "," : ":",
                                        axes[i], v);
        }
    }
}

static int add_run(struct dfile *f, json_t *run, const char *strategy)
{
    json_t *config = json_object_get(run, "config");
    json_t *ops = json_object_get(json_object_get(run, "throughput"), "ops_per_sec");
    json_t *threads = json_object_get(config, "threads");
    if (!json_is_number(ops) || !json_is_integer(threads))
        return -1;
    char label[64];
    if (!strategy) {
        run_label(config, label, sizeof label);
        strategy = label;
    }
    struct dcell *c = cell_for(f, strategy, (int)json_integer_value(threads));
    if (c && c->n < MAX_SAMPLES)
        c->ops[c->n++] = json_number_value(ops);
    return 0;
}

static int load(struct dfile *f, const char *path)
{
    json_error_t jerr;
    f->path = path;
    f->j = json_load_file(path, 0, &jerr);
    if (!f->j) {
        if (jerr.line <= 0) /* could not open or read */
            return gh__cli_error(GH_EXIT_USAGE, "%s: %s", path, jerr.text);
        return gh__cli_error(GH_EXIT_USAGE, "%s:%d:%d: expected a gilheap result (JSON): %s",
                             path, jerr.line, jerr.column, jerr.text);
    }
    if (!json_is_object(json_object_get(f->j, "gilheap")))
        return gh__cli_error(GH_EXIT_USAGE, "%s: expected the JSON of `gilheap run` or "
                             "`gilheap compare` (it has no \"gilheap\" object)", path);
    json_t *cells = json_object_get(f->j, "cells");
    f->is_compare = json_is_array(cells);
    if (f->is_compare) {
        size_t i;
        json_t *c;
        json_array_foreach(cells, i, c) {
            json_t *res = json_object_get(c, "result");
            const char *st = json_string_value(json_object_get(c, "strategy"));
            if (json_is_object(res) && st && add_run(f, res, st) != 0)
                return gh__cli_error(GH_EXIT_USAGE, "%s: cell %zu: expected throughput."
                                     "ops_per_sec and config.threads", path, i + 1);
        }
    } else if (add_run(f, f->j, NULL) != 0) {
        return gh__cli_error(GH_EXIT_USAGE, "%s: expected throughput.ops_per_sec and "
                             "config.threads", path);
    }
    if (f->ncells == 0)
        return gh__cli_error(GH_EXIT_USAGE, "%s: no cell has a result", path);
    return 0;
}

/* Prints a note when the two files' `obj.key` differ. */
static void differ(const struct dfile *a, const struct dfile *b, const char *obj,
                   const char *key, const char *what)
{
    json_t *va = json_object_get(json_object_get(a->j, obj), key);
    json_t *vb = json_object_get(json_object_get(b->j, obj), key);
    if (json_is_array(va) && json_array_size(va) == 0)
        va = NULL; /* a compare's empty `sets` is a run's absent one */
    if (json_is_array(vb) && json_array_size(vb) == 0)
        vb = NULL;
    if (!va && !vb)
        return;
    if (va && vb && json_equal(va, vb))
        return;
    char *sa = va ? json_dumps(va, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *sb = vb ? json_dumps(vb, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    printf("note: %s differ: A %s, B %s\n", what, sa ? sa : "(none)", sb ? sb : "(none)");
    free(sa);
    free(sb);
}

static void fmt_ci(char *buf, size_t len, const struct gh_median_ci *ci)
{
    char m[32], lo[32], hi[32];
    gh_report_fmt_rate(m, sizeof m, ci->median);
    if (ci->n < 2) {
        snprintf(buf, len, "%s (1 run)", m);
        return;
    }
    gh_report_fmt_rate(lo, sizeof lo, ci->lo);
    gh_report_fmt_rate(hi, sizeof hi, ci->hi);
    snprintf(buf, len, "%s [%s-%s]", m, lo, hi);
}

int gh__cli_diff(int argc, char **argv)
{
    const char *paths[2];
    int np = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: gilheap diff A.json B.json\n\n"
                   "Puts the same cells (strategy x threads) of two saved `run` or `compare`\n"
                   "results side by side: the median ops/s of each with a confidence interval\n"
                   "of the median, B/A with its interval, and `faster`/`slower` when the two\n"
                   "intervals do not overlap (`~` when they do). Different machines, builds,\n"
                   "scenarios or settings are called out first.\n");
            return GH_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return gh__cli_usage("diff: unknown option '%s'", argv[i]);
        if (np == 2)
            return gh__cli_usage("diff: unexpected argument '%s' (expected two files)", argv[i]);
        paths[np++] = argv[i];
    }
    if (np != 2)
        return gh__cli_usage("diff: expected two result files, A.json and B.json");

    struct dfile *f = calloc(2, sizeof *f);
    if (!f)
        return gh__cli_error(GH_EXIT_INTERNAL, "out of memory");
    int rc = load(&f[0], paths[0]);
    if (rc == 0)
        rc = load(&f[1], paths[1]);
    if (rc != 0)
        goto out;

    printf("diff A %s (%s) -> B %s (%s)\n", paths[0], f[0].is_compare ? "compare" : "run",
           paths[1], f[1].is_compare ? "compare" : "run");
    differ(&f[0], &f[1], "scenario", "name", "the scenarios");
    differ(&f[0], &f[1], "machine", "cpu_model", "the machines");
    differ(&f[0], &f[1], "machine", "cores", "the core counts");
    differ(&f[0], &f[1], "gilheap", "commit", "the builds");
    differ(&f[0], &f[1], "gilheap", "build_type", "the build types");
    differ(&f[0], &f[1], "gilheap", "sanitize", "the sanitizers");
    differ(&f[0], &f[1], "config", "duration_ns", "the durations");
    differ(&f[0], &f[1], "config", "ops_per_thread", "the op counts");
    differ(&f[0], &f[1], "config", "sets", "the --set overrides");
    differ(&f[0], &f[1], "config", "params", "the --param values");

    printf("%-24s %7s  %-26s %-26s %-20s %s\n", "strategy", "threads", "A ops/s [CI]",
           "B ops/s [CI]", "B/A [interval]", "");
    int nboth = 0, nsig = 0;
    double min_level = 1;
    for (int i = 0; i < f[0].ncells; i++) {
        struct dcell *a = &f[0].cells[i], *b = NULL;
        for (int k = 0; k < f[1].ncells; k++)
            if (f[1].cells[k].threads == a->threads &&
                strcmp(f[1].cells[k].strategy, a->strategy) == 0)
                b = &f[1].cells[k];
        if (!b)
            continue;
        struct gh_median_ci ca, cb;
        if (gh_stats_median_ci(a->ops, a->n, &ca) || gh_stats_median_ci(b->ops, b->n, &cb))
            continue;
        nboth++;
        if (ca.n > 1 && ca.level < min_level)
            min_level = ca.level;
        if (cb.n > 1 && cb.level < min_level)
            min_level = cb.level;
        char sa[128], sb[128], sr[64];
        fmt_ci(sa, sizeof sa, &ca);
        fmt_ci(sb, sizeof sb, &cb);
        double r = ca.median > 0 ? cb.median / ca.median : 0;
        if (ca.n > 1 && cb.n > 1 && ca.lo > 0)
            snprintf(sr, sizeof sr, "%.3f [%.3f-%.3f]", r, ca.hi > 0 ? cb.lo / ca.hi : 0,
                     cb.hi / ca.lo);
        else
            snprintf(sr, sizeof sr, "%.3f", r);
        const char *verdict = "~";
        if (ca.n > 1 && cb.n > 1 && (cb.lo > ca.hi || cb.hi < ca.lo)) {
            verdict = cb.lo > ca.hi ? "faster" : "slower";
            nsig++;
        } else if (ca.n < 2 || cb.n < 2) {
            verdict = "(no interval: one run)";
        }
        printf("%-24s %7d  %-26s %-26s %-20s %s\n", a->strategy, a->threads, sa, sb, sr,
               verdict);
    }
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < f[s].ncells; i++) {
            struct dcell *c = &f[s].cells[i];
            bool other = false;
            for (int k = 0; k < f[1 - s].ncells; k++)
                other |= f[1 - s].cells[k].threads == c->threads &&
                         strcmp(f[1 - s].cells[k].strategy, c->strategy) == 0;
            if (!other)
                printf("only in %c: %s, %d threads\n", s ? 'B' : 'A', c->strategy, c->threads);
        }
    }
    if (nboth == 0) {
        rc = gh__cli_error(GH_EXIT_USAGE, "diff: %s and %s have no cell in common "
                           "(strategy and threads)", paths[0], paths[1]);
        goto out;
    }
    printf("%d cells in both, %d differ (intervals apart)", nboth, nsig);
    if (min_level < 1)
        printf("; each interval covers the median with at least %.1f%% confidence%s",
               100 * min_level, min_level < 0.95 ? " (fewer than 6 runs: min-max)" : "");
    printf("\n");
    rc = GH_EXIT_OK;
out:
    json_decref(f[0].j);
    json_decref(f[1].j);
    free(f);
    return rc;
}
