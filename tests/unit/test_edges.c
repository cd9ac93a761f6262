/* The edge search against windows whose edges are known: it must bracket the
 * true edge to the resolution whatever the model's seed says, and cost two
 * probes when the seed is right. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../run/edges.h"

struct window {
	double lo, hi; /* skews in [lo, hi] get through */
	int calls;
	double last;
};

static int probe(double skew_ms, void *arg)
{
	struct window *w = arg;

	w->calls++;
	w->last = skew_ms;
	return skew_ms >= w->lo && skew_ms <= w->hi;
}

static void bracket(int dir, double edge, double range, double res, double seed, int max_probes)
{
	struct window w = { .lo = dir < 0 ? -edge : -1e9, .hi = dir > 0 ? edge : 1e9 };
	struct edge_result r;

	assert_int_equal(edge_search(dir, range, res, seed, probe, &w, &r), 0);
	assert_int_equal(r.found, EDGE_MEASURED);
	assert_int_equal(r.probes, w.calls);
	/* good got through and bad did not, around the true edge, res apart at most */
	assert_true(fabs(r.good_ms) <= edge && fabs(r.bad_ms) > edge);
	assert_true(fabs(r.bad_ms - r.good_ms) <= res + 1e-9);
	assert_true(dir * r.good_ms >= 0 && dir * r.bad_ms > 0);
	assert_true(r.probes <= max_probes);
}

static void right_seed_costs_two_probes(void **state)
{
	(void)state;
	bracket(+1, 10, 3000, 1, 10, 2);
	bracket(-1, 10, 3000, 1, 10, 2);
	bracket(+1, 50, 3000, 1, 50.2, 2);
	bracket(+1, 100, 3000, 0.5, 100, 2);
}

static void wrong_seed_still_brackets(void **state)
{
	(void)state;
	/* the true edge far beyond the seed, far inside it, and no seed at all */
	bracket(+1, 337.3, 3000, 1, 10, 20);
	bracket(-1, 3.7, 3000, 1, 500, 20);
	bracket(+1, 1234.5, 3000, 1, NAN, 20);
	bracket(+1, 0.3, 3000, 1, INFINITY, 20);
	bracket(-1, 2999.5, 3000, 1, 5, 25);
}

static void window_wider_than_range(void **state)
{
	struct window w = { .lo = -1e9, .hi = 1e9 };
	struct edge_result r;

	(void)state;
	assert_int_equal(edge_search(-1, 3000, 1, INFINITY, probe, &w, &r), 0);
	assert_int_equal(r.found, EDGE_BEYOND);
	assert_true(r.good_ms == -3000 && isnan(r.bad_ms));
	assert_int_equal(r.probes, 1);
	/* a wrong seed finds it too, by doubling steps */
	assert_int_equal(edge_search(+1, 200, 1, 10, probe, &w, &r), 0);
	assert_int_equal(r.found, EDGE_BEYOND);
	assert_true(r.good_ms == 200 && w.last == 200);
}

static int stop_at_third(double skew_ms, void *arg)
{
	int *n = arg;

	(void)skew_ms;
	return ++*n == 3 ? -1 : 1;
}

static void a_probe_can_stop_it(void **state)
{
	struct edge_result r;
	int n = 0;

	(void)state;
	assert_int_equal(edge_search(+1, 3000, 1, 10, stop_at_third, &n, &r), -1);
	assert_int_equal(r.found, EDGE_STOPPED);
	assert_int_equal(n, 3);
}

static struct nat_profile preset(const char *name)
{
	struct nat_profile p;
	struct diag d;

	assert_int_equal(nat_profile_load(&p, name, NULL, &d), 0);
	return p;
}

/* the model's own edges, worked out by hand from the knobs (as in test_model) */
static void model_edges(void **state)
{
	struct nat_profile ld = preset("linux-default"), rst = preset("rst-on-syn"),
			   prc = preset("port-restricted-cone");
	struct model_case mc = { .strategy = "so", .a = &ld, .b = &ld, .one_way_ms = 10, .deadline_s = 5 };

	(void)state;
	/* a refusing NAT: |skew| <= the one-way delay */
	assert_true(fabs(edge_predicted(&mc, +1, 3000) - 10) <= 0.01);
	assert_true(fabs(edge_predicted(&mc, -1, 3000) - 10) <= 0.01);
	mc.one_way_ms = 100;
	assert_true(fabs(edge_predicted(&mc, +1, 3000) - 100) <= 0.01);
	/* one that answers RST has no window; one that drops waits out the range */
	mc.a = mc.b = &rst;
	assert_true(isnan(edge_predicted(&mc, +1, 3000)));
	mc.a = mc.b = &prc;
	assert_true(isinf(edge_predicted(&mc, -1, 3000)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(right_seed_costs_two_probes),
		cmocka_unit_test(wrong_seed_still_brackets),
		cmocka_unit_test(window_wider_than_range),
		cmocka_unit_test(a_probe_can_stop_it),
		cmocka_unit_test(model_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
