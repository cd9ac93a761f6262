/* The pool's next lab: dcutr's labs (timed by round trips) ahead of the plan's
 * order up to their cap, the others in order, nothing started twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../run/pick.h"

/* o: another lab, r: one timed by round trips; in the plan's order */
static int plan(const char *kinds, struct run_job *jobs)
{
	int n = 0;

	for (; kinds[n]; n++)
		jobs[n] = (struct run_job){ .order = n, .round_trips = kinds[n] == 'r' };
	return n;
}

static void round_trips_first_below_cap(void **state)
{
	struct run_job jobs[8];
	bool started[8] = { false };
	int n = plan("oooorr", jobs);

	/* the plan puts them last; below the cap they start first */
	assert_int_equal(jobs_pick(jobs, n, started, 0, 2), 4);
	started[4] = true;
	assert_int_equal(jobs_pick(jobs, n, started, 1, 2), 5);
	started[5] = true;
	/* none left: the others in order */
	assert_int_equal(jobs_pick(jobs, n, started, 2, 2), 0);
}

static void others_in_order_at_cap(void **state)
{
	struct run_job jobs[8];
	bool started[8] = { false };
	int n = plan("rorrooo", jobs);

	started[0] = started[2] = true;
	/* at the cap: the first other lab not started, never a round-trip one */
	assert_int_equal(jobs_pick(jobs, n, started, 2, 2), 1);
	started[1] = true;
	assert_int_equal(jobs_pick(jobs, n, started, 2, 2), 4);
	/* one of them ended: the next round-trip lab goes ahead of the others */
	assert_int_equal(jobs_pick(jobs, n, started, 1, 2), 3);
}

static void past_the_cap_when_nothing_else_is_left(void **state)
{
	struct run_job jobs[8];
	bool started[8] = { true, true, false, false };
	int n = plan("oorr", jobs);

	/* a run of round-trip labs alone (or its end) is not held to one by one */
	assert_int_equal(jobs_pick(jobs, n, started, 3, 3), 2);
	started[2] = true;
	assert_int_equal(jobs_pick(jobs, n, started, 4, 3), 3);
	started[3] = true;
	assert_int_equal(jobs_pick(jobs, n, started, 0, 3), -1);
}

static void without_round_trips_the_plan_order(void **state)
{
	struct run_job jobs[8];
	bool started[8] = { false };
	int n = plan("ooooo", jobs);

	for (int k = 0; k < n; k++) {
		assert_int_equal(jobs_pick(jobs, n, started, 0, 0), k);
		started[k] = true;
	}
	assert_int_equal(jobs_pick(jobs, n, started, 0, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trips_first_below_cap),
		cmocka_unit_test(others_in_order_at_cap),
		cmocka_unit_test(past_the_cap_when_nothing_else_is_left),
		cmocka_unit_test(without_round_trips_the_plan_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
