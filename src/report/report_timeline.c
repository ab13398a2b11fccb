/* report_timeline.c - the run's timeline as text (--timeline): a line per
 * thread, a character per slice of time, as `perf sched map` draws a CPU.
 *
 * Each column covers span / width of the run. In each column a thread's
 * time is summed per state (slices of its ring, base/timeline.h):
 *
 *   C  collecting           a collection
 *   S  stopped              parked for another thread's stop of the world
 *   W  waiting              for the GIL (or its handoff) or a contended lock
 *   G  holding the GIL
 *   -  running              no GIL to hold, and none of the above
 *
 * A state that fills half the column or more is printed in capitals (the
 * first of C, S, W, G that does); else the largest in lower case, unless
 * the time in none of them is larger: then '-' (or '.' under a GIL, where
 * a thread neither holding nor waiting for it is outside the model).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeline.h"
#include "report/report.h"

enum cat { CAT_C, CAT_S, CAT_W, CAT_G, NCAT };
static const char cat_char[NCAT] = {'C', 'S', 'W', 'G'};

static int cat_of(uint32_t kind)
{
    switch ((enum gh_tl_kind)kind) {
    case GH_TL_GC:
        return CAT_C;
    case GH_TL_STOPPED:
        return CAT_S;
    case GH_TL_GIL_WAIT:
    case GH_TL_GIL_HANDOFF:
    case GH_TL_LOCK_WAIT:
        return CAT_W;
    case GH_TL_GIL_HOLD:
        return CAT_G;
    default:
        return -1;
    }
}

/* Adds [a, b) to the columns it overlaps. */
static void add_span(double (*cov)[NCAT], int width, uint64_t t0, double col, int cat, uint64_t a,
                     uint64_t b)
{
    if (b <= a)
        return;
    double x0 = (double)(a - t0) / col, x1 = (double)(b - t0) / col;
    if (x0 >= width)
        return;
    if (x1 > width)
        x1 = width; /* no cast of a value past the strip */
    int c0 = (int)x0, c1 = (int)x1;
    for (int c = c0 < 0 ? 0 : c0; c <= c1 && c < width; c++) {
        double lo = x0 > c ? x0 : c, hi = x1 < c + 1 ? x1 : c + 1;
        if (hi > lo)
            cov[c][cat] += hi - lo;
    }
}

static char column_char(const double *cov, bool gil)
{
    for (int k = 0; k < NCAT; k++)
        if (cov[k] >= 0.5)
            return cat_char[k];
    /* None fills half: the largest, unless the time in none of them (the
     * slices nest: C inside G, W inside S) is larger still. */
    int best = -1;
    double sum = 0;
    for (int k = 0; k < NCAT; k++) {
        sum += cov[k];
        if (cov[k] > 0 && (best < 0 || cov[k] > cov[best]))
            best = k;
    }
    if (best >= 0 && cov[best] >= 1.0 - sum)
        return (char)(cat_char[best] - 'A' + 'a');
    return gil ? '.' : '-';
}

int gh_report_timeline_grid(const struct gh_result *r, int width, struct gh_timeline_grid *g)
{
    memset(g, 0, sizeof *g);
    if (!r->ntimelines || width < 10)
        return -1;
    uint64_t t0 = r->timeline_t0, t1 = t0 + 1;
    for (int i = 0; i < r->ntimelines; i++) {
        const struct gh_tl_buf *b = r->timelines[i];
        uint64_t n = b->written < b->cap ? b->written : b->cap;
        for (uint64_t k = 0; k < n; k++) {
            const struct gh_tl_event *e = gh_tl_at(b, k);
            if (e->t0 + e->dur > t1)
                t1 = e->t0 + e->dur;
        }
    }
    /* The strip ends with the measured phase, when it is known (the
     * teardown's collection comes after), and 2% more. */
    if (r->timeline_t1 > t0 && r->timeline_t1 < t1)
        t1 = r->timeline_t1 + (r->timeline_t1 - t0) / 50;
    const double col = (double)(t1 - t0) / width;
    double(*cov)[NCAT] = calloc((size_t)width, sizeof *cov);
    char *cells = malloc((size_t)r->ntimelines * (size_t)width);
    if (!cov || !cells) {
        free(cov);
        free(cells);
        return -1;
    }
    for (int i = 0; i < r->ntimelines; i++) {
        const struct gh_tl_buf *b = r->timelines[i];
        memset(cov, 0, (size_t)width * sizeof *cov);
        uint64_t n = b->written < b->cap ? b->written : b->cap;
        for (uint64_t k = 0; k < n; k++) {
            const struct gh_tl_event *e = gh_tl_at(b, k);
            int c = cat_of(e->kind);
            if (c >= 0 && e->t0 + e->dur > t0)
                add_span(cov, width, t0, col, c, e->t0 > t0 ? e->t0 : t0, e->t0 + e->dur);
        }
        for (int c = 0; c < width; c++)
            cells[(size_t)i * (size_t)width + (size_t)c] = column_char(cov[c], r->has_gil);
    }
    free(cov);
    *g = (struct gh_timeline_grid){t0, t1, col, r->ntimelines, width, cells, false};
    for (int i = 0; i < r->ntimelines; i++)
        g->dropped |= gh_tl_dropped(r->timelines[i]) != 0;
    return 0;
}

void gh_report_timeline_grid_free(struct gh_timeline_grid *g)
{
    free(g->cells);
    g->cells = NULL;
}

void gh_report_timeline_row_name(char *buf, size_t len, const struct gh_result *r, int row)
{
    if (row == r->ntimelines - 1)
        snprintf(buf, len, "main");
    else
        snprintf(buf, len, "worker-%d", row);
}

int gh_report_timeline(FILE *out, const struct gh_result *r, int width)
{
    struct gh_timeline_grid g;
    if (gh_report_timeline_grid(r, width, &g) != 0)
        return -1;
    fprintf(out, "timeline    %.3f ms, %.1f us a column: G GIL held, W waiting (GIL or a "
                 "lock), S stopped for a\n            stop of the world, C collecting, %s; "
                 "lower case: less than half the column\n",
            (double)(g.t1 - g.t0) / 1e6, g.col_ns / 1e3,
            r->has_gil ? ". none of these" : "- running");
    for (int i = 0; i < g.rows; i++) {
        char name[24];
        gh_report_timeline_row_name(name, sizeof name, r, i);
        fprintf(out, "  %-10s%.*s\n", name, g.width, &g.cells[(size_t)i * (size_t)g.width]);
    }
    if (g.dropped)
        fprintf(out, "  (the oldest events were dropped: raise --trace-events)\n");
    gh_report_timeline_grid_free(&g);
    return 0;
}
