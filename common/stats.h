/* The statistics a table cell carries: how sure a success rate is. */
#ifndef NATLAB_STATS_H
#define NATLAB_STATS_H

/* The 95 % Wilson score interval of k successes in n trials, as fractions in
 * [0, 1]; NaN for both when n is 0. Wilson's rather than the normal one: it stays
 * inside [0, 1] and says something at 0 of n and n of n, which most of natlab's
 * cells are (Newcombe 1998, "Two-sided confidence intervals for the single
 * proportion", method 3). */
void stats_wilson95(unsigned k, unsigned n, double *lo, double *hi);

/* Fisher's exact test of k1 successes in n1 against k2 in n2: the two-sided p
 * (the tables with the same margins no likelier than this one). Exact at the
 * small counts natlab's cells have, where a z-test of two proportions is not;
 * 1 when either n is 0. */
double stats_fisher_two_sided(unsigned k1, unsigned n1, unsigned k2, unsigned n2);

#endif
