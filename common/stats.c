#include <math.h>

#include "stats.h"

/* the 97.5th percentile of the standard normal distribution */
#define Z95 1.959963984540054

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
