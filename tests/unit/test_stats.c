/* The Wilson interval against published values (Newcombe 1998, table I, method 3;
 * and the textbook 0/10, 5/10, 10/10 cases). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/stats.h"

static void check(unsigned k, unsigned n, double lo, double hi)
{
	double l, h;

	stats_wilson95(k, n, &l, &h);
	assert_true(fabs(l - lo) < 0.00005);
	assert_true(fabs(h - hi) < 0.00005);
}

static void published_values(void **state)
{
	(void)state;
	check(81, 263, 0.2553, 0.3662);  /* Newcombe's example 1 */
	check(15, 148, 0.0624, 0.1605);  /* example 2 */
	check(0, 20, 0.0, 0.1611);       /* example 3 */
	check(1, 29, 0.0061, 0.1718);    /* example 4 */
	check(0, 10, 0.0, 0.2775);
	check(5, 10, 0.2366, 0.7634);
	check(10, 10, 0.7225, 1.0);
}

/* Fisher's exact test, two-sided, against R's fisher.test */
static void fisher_values(void **state)
{
	(void)state;
	/* the lady tasting tea: 3 of 4 against 1 of 4 */
	assert_true(fabs(stats_fisher_two_sided(3, 4, 1, 4) - 0.4857143) < 1e-6);
	/* 5 of 5 against 0 of 5: 2/252 */
	assert_true(fabs(stats_fisher_two_sided(5, 5, 0, 5) - 0.007936508) < 1e-8);
	/* 10 of 10 against 5 of 10 */
	assert_true(fabs(stats_fisher_two_sided(10, 10, 5, 10) - 0.03250774) < 1e-7);
	/* the same rate: nothing to tell */
	assert_true(fabs(stats_fisher_two_sided(4, 8, 2, 4) - 1.0) < 1e-9);
	assert_true(stats_fisher_two_sided(0, 0, 3, 5) == 1);
}

static void edges(void **state)
{
	double l, h;

	(void)state;
	stats_wilson95(0, 0, &l, &h);
	assert_true(isnan(l) && isnan(h));
	stats_wilson95(3, 2, &l, &h);
	assert_true(isnan(l) && isnan(h));
	/* inside [0, 1] and around the rate, for every k of a cell of 50 */
	for (unsigned k = 0; k <= 50; k++) {
		stats_wilson95(k, 50, &l, &h);
		assert_true(l >= 0 && h <= 1 && l <= k / 50.0 && h >= k / 50.0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(published_values),
		cmocka_unit_test(fisher_values),
		cmocka_unit_test(edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
