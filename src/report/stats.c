/* stats.c - a distribution-free confidence interval of the median.
 *
 * For n independent runs, the number of runs below the true median is
 * Binomial(n, 1/2). The interval [x_(j), x_(n-j+1)] of the sorted sample
 * covers the median with probability 1 - 2 P(B <= j-1); j is the largest
 * rank that keeps that at or above 95%. With fewer than 6 runs no j reaches
 * 95% (n = 5: min-max covers 93.75%), so the interval is the whole range and
 * its level is reported as it is.
 */
#include "report/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* P(B <= k) for B ~ Binomial(n, 1/2). */
static double binom_cdf_half(int n, int k)
{
    double p = 0, c = 1; /* c = C(n, i) */
    for (int i = 0; i <= k; i++) {
        p += c;
        c = c * (n - i) / (i + 1);
    }
    return p * pow(0.5, n);
}

int gh_stats_median_ci(const double *xs, int n, struct gh_median_ci *out)
{
    memset(out, 0, sizeof *out);
    if (n <= 0)
        return -1;
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return -1;
    memcpy(v, xs, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    out->n = n;
    out->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    out->min = v[0];
    out->max = v[n - 1];
    int j = 1;
    while (j + 1 <= (n + 1) / 2 && 1 - 2 * binom_cdf_half(n, j) >= 0.95)
        j++;
    out->lo = v[j - 1];
    out->hi = v[n - j];
    out->level = n == 1 ? 0 : 1 - 2 * binom_cdf_half(n, j - 1);
    free(v);
    return 0;
}

bool gh_stats_wide(const struct gh_median_ci *ci, double tolerance)
{
    return ci->n >= 2 && ci->median > 0 &&
           (ci->median - ci->min > tolerance * ci->median ||
            ci->max - ci->median > tolerance * ci->median);
}
