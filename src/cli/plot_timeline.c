/* plot_timeline.c - `gilheap run ... --timeline-plot FILE`: the --timeline
 * strip drawn by gnuplot (plot.c runs it).
 *
 * The same cells as the text (report_timeline.c, gh_report_timeline_grid),
 * at PLOT_COLUMNS columns: a row per thread, a bar per run of equal cells,
 * in the state's colour when it fills half its column or more (the text's
 * capital), in a pale tint of it otherwise (lower case). Colours from the
 * Okabe-Ito palette; running (or, under a GIL, neither holding nor waiting)
 * is left blank.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "report/report.h"
#include "scenario/run.h"

#define PLOT_COLUMNS 800

static const struct {
    char c;
    unsigned rgb;
    const char *label;
} states[] = {
    {'G', 0x0072B2, "G  GIL held"},
    {'W', 0xD55E00, "W  waiting (GIL or a lock)"},
    {'S', 0x999999, "S  stopped for a stop of the world"},
    {'C', 0x009E73, "C  collecting"},
};

struct job {
    const struct gh_result *r;
    const struct gh_timeline_grid *g;
    const char *file;
};

static int state_of(char c)
{
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (c == states[i].c || c == states[i].c - 'A' + 'a')
            return (int)i;
    return -1;
}

/* rgb mixed half and half with white: the lower-case cells' tint. */
static unsigned tint(unsigned rgb)
{
    unsigned out = 0;
    for (int sh = 0; sh < 24; sh += 8)
        out |= ((((rgb >> sh) & 0xFF) + 0xFF) / 2) << sh;
    return out;
}

/* data.dat: x_center_ms row half_width_ms half_height rgb, one line a bar.
 * plot.gp: the script. */
static int write_files(const char *dir, const char *out, const void *arg)
{
    const struct job *j = arg;
    const struct gh_timeline_grid *g = j->g;
    const struct gh_result *r = j->r;
    char path[PATH_MAX];
    const double col_ms = g->col_ns / 1e6;

    snprintf(path, sizeof path, "%s/data.dat", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs("# x_center_ms row half_width_ms half_height rgb\n", f);
    int bars = 0;
    for (int row = 0; row < g->rows; row++) {
        const char *cells = &g->cells[(size_t)row * (size_t)g->width];
        for (int c = 0; c < g->width;) {
            int e = c + 1;
            while (e < g->width && cells[e] == cells[c])
                e++;
            int s = state_of(cells[c]);
            if (s >= 0) {
                bool full = cells[c] >= 'A' && cells[c] <= 'Z';
                fprintf(f, "%.6f %d %.6f 0.38 %u\n", (c + e) / 2.0 * col_ms, row,
                        (e - c) / 2.0 * col_ms, full ? states[s].rgb : tint(states[s].rgb));
                bars++;
            }
            c = e;
        }
    }
    if (bars == 0) /* gnuplot refuses an empty file: one bar of nothing */
        fputs("0 0 0 0 16777215\n", f);
    if (fclose(f) != 0)
        return -errno;

    snprintf(path, sizeof path, "%s/plot.gp", dir);
    f = fopen(path, "w");
    if (!f)
        return -errno;
    const int height = 230 + 46 * g->rows;
    fputs("# written by gilheap run --timeline-plot\n", f);
    fprintf(f, "set terminal %s size 1100,%d noenhanced font 'sans,11' background rgb 'white'\n",
            gh__cli_plot_format(j->file) == GH_PLOT_SVG ? "svg" : "pngcairo", height);
    fprintf(f, "set output '%s'\n", out);
    char title[256];
    snprintf(title, sizeof title, "gilheap: %s under %s, %d thread%s",
             r->scenario && r->scenario->name ? r->scenario->name : "run",
             r->strategy.preset ? r->strategy.preset : "a custom strategy", r->threads,
             r->threads == 1 ? "" : "s");
    fputs("set title ", f);
    gh__cli_plot_put_str(f, title);
    fputs(" font 'sans,13'\n", f);
    char sub[200];
    snprintf(sub, sizeof sub,
             "%.3f ms, %.1f us a column; pale: the state fills less than half its column",
             (double)(g->t1 - g->t0) / 1e6, g->col_ns / 1e3);
    fputs("set label 90 ", f);
    gh__cli_plot_put_str(f, sub);
    fputs(" at graph 0.5, graph 1.04 center font 'sans,9' textcolor rgb 'gray25'\n", f);
    fputs("set tmargin 4\n", f);
    fputs("set xlabel 'time since the workers started (ms)'\n", f);
    fprintf(f, "set xrange [0:%.6f]\n", (double)(g->t1 - g->t0) / 1e6);
    fprintf(f, "set yrange [%d.6:-0.6]\n", g->rows - 1);
    fputs("set ytics (", f);
    for (int row = 0; row < g->rows; row++) {
        char name[24];
        gh_report_timeline_row_name(name, sizeof name, r, row);
        fprintf(f, "%s'%s' %d", row ? ", " : "", name, row);
    }
    fputs(") scale 0\n", f);
    fputs("set grid xtics front linecolor rgb 'gray80'\n", f);
    fputs("set style fill solid 1.0 noborder\n", f);
    fputs("set key below center horizontal maxrows 1 reverse Left samplen 1.5 width 1\n", f);
    fputs("plot 'data.dat' using 1:2:3:4:5 with boxxyerror linecolor rgb variable notitle", f);
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        fprintf(f, ", \\\n    keyentry with boxes fillcolor rgb '#%06X' title ", states[i].rgb);
        gh__cli_plot_put_str(f, states[i].label);
    }
    fputc('\n', f);
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

int gh__cli_timeline_plot(const char *file, const struct gh_result *r)
{
    struct gh_timeline_grid g;
    if (gh_report_timeline_grid(r, PLOT_COLUMNS, &g) != 0)
        return gh__cli_error(GH_EXIT_INTERNAL, "--timeline-plot: the run recorded no timeline");
    struct job j = {r, &g, file};
    int rc = gh__cli_gnuplot_render("--timeline-plot", file, write_files, &j);
    gh_report_timeline_grid_free(&g);
    return rc;
}
