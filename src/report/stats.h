/* stats.h - the statistics of repeated runs: the median with a
 * distribution-free confidence interval (order statistics), and the test for
 * a spread wider than a tolerance.
 *
 * Layer: report.
 */
#ifndef GH_REPORT_STATS_H
#define GH_REPORT_STATS_H

#include <stdbool.h>

struct gh_median_ci {
    int n;
    double median, min, max;
    /* [lo, hi] covers the true median with probability `level`: the
     * narrowest order-statistic interval with level >= 0.95, or min-max
     * (level below 0.95) when n < 6; level 0 for one run. */
    double lo, hi, level;
};

/* Fills out from xs[0..n-1] (not modified). Returns 0, or -1 when n <= 0 or
 * out of memory. */
int gh_stats_median_ci(const double *xs, int n, struct gh_median_ci *out);

/* Whether min or max lies further than tolerance x median from the median
 * (tolerance 0.10: the spread is wider than +-10%). */
bool gh_stats_wide(const struct gh_median_ci *ci, double tolerance);

#endif
