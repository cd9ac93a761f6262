/* The early-wake estimator: how far ahead of a deadline a process wakes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/timing.h"

/* feeds `n` wake-ups, `late_us[i % k]` late each */
static void feed(struct timing *t, const int64_t *late_us, int k, int n)
{
	for (int i = 0; i < n; i++)
		timing_track(t, 1000000000, 1000000000 + late_us[i % k] * 1000);
}

static void default_until_measured(void **state)
{
	struct timing t;
	int64_t five[] = { 5 };

	(void)state;
	timing_init(&t);
	assert_int_equal(t.early_ns, TIMING_EARLY_DEFAULT_NS);
	/* a few short wake-ups are not enough to give up the default */
	feed(&t, five, 1, 7);
	assert_int_equal(t.early_ns, TIMING_EARLY_DEFAULT_NS);
	/* many are: 5 us late + the 10 us margin, raised to the floor */
	feed(&t, five, 1, 8);
	assert_int_equal(t.early_ns, TIMING_EARLY_MIN_NS);
}

static void follows_the_99th_percentile(void **state)
{
	struct timing t;
	int64_t late[100];

	(void)state;
	/* one wake-up in a hundred 400 us late (the 50th), the rest 30: the ring of
	 * the last 256 holds two or three slow ones, and the p99 (its 3rd largest) is
	 * slow only when it holds three */
	for (int i = 0; i < 100; i++)
		late[i] = i == 50 ? 400 : 30;
	timing_init(&t);
	feed(&t, late, 100, 256); /* wake-ups 0-255: 50, 150 and 250 slow */
	assert_int_equal(t.early_ns, (400 + 10) * 1000);
	timing_init(&t);
	feed(&t, late, 100, 316); /* 60-315: 150 and 250 */
	assert_int_equal(t.early_ns, (30 + 10) * 1000);
	/* a p90 would not see them at all; a maximum would spin for every one */
}

static void capped(void **state)
{
	struct timing t;
	int64_t stall[] = { 4000 }; /* a 4 ms vCPU stall is not spun for */

	(void)state;
	timing_init(&t);
	feed(&t, stall, 1, 20);
	assert_int_equal(t.early_ns, TIMING_EARLY_MAX_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_until_measured),
		cmocka_unit_test(follows_the_99th_percentile),
		cmocka_unit_test(capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
