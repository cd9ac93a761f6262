#include <math.h>

#include "stats.h"

/* the 97.5th percentile of the standard normal distribution */
#define Z95 1.959963984540054

/* log of the hypergeometric probability of a = k1 with these margins */
static double log_table(unsigned a, unsigned n1, unsigned n2, unsigned k)
{
	unsigned b = k - a;

	return lgamma(n1 + 1.0) - lgamma(a + 1.0) - lgamma(n1 - a + 1.0) + lgamma(n2 + 1.0) - lgamma(b + 1.0) -
	       lgamma(n2 - b + 1.0) - lgamma(n1 + n2 + 1.0) + lgamma(k + 1.0) + lgamma(n1 + n2 - k + 1.0);
}

double stats_fisher_two_sided(unsigned k1, unsigned n1, unsigned k2, unsigned n2)
{
	unsigned k = k1 + k2, lo, hi;
	double seen, p = 0;

	if (!n1 || !n2 || k1 > n1 || k2 > n2)
		return 1;
	lo = k > n2 ? k - n2 : 0;
	hi = k < n1 ? k : n1;
	seen = log_table(k1, n1, n2, k);
	for (unsigned a = lo; a <= hi; a++) {
		double l = log_table(a, n1, n2, k);

		/* no likelier than the one seen, with room for rounding */
		if (l <= seen + 1e-7)
			p += exp(l);
	}
	return p > 1 ? 1 : p;
}

void stats_wilson95(unsigned k, unsigned n, double *lo, double *hi)
{
	double p, z2n, centre, half;

	if (!n || k > n) {
		*lo = *hi = NAN;
		return;
	}
	p = (double)k / n;
	z2n = Z95 * Z95 / n;
	centre = (p + z2n / 2) / (1 + z2n);
	half = Z95 * sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n);
	/* at 0 and n the bound is exact: no rounding past it */
	*lo = k == 0 ? 0 : centre - half;
	*hi = k == n ? 1 : centre + half;
}
