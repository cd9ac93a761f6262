/* The statistics a table cell carries: how sure a success rate is. */
#ifndef NATLAB_STATS_H
#define NATLAB_STATS_H

/* The 95 % Wilson score interval of k successes in n trials, as fractions in
 * [0, 1]; NaN for both when n is 0. Wilson's rather than the normal one: it stays
 * inside [0, 1] and says something at 0 of n and n of n, which most of natlab's
 * cells are (Newcombe 1998, "Two-sided confidence intervals for the single
 * proportion", method 3). */
void stats_wilson95(unsigned k, unsigned n, double *lo, double *hi);

#endif
