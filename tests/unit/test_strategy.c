/* The strategy table: one row per strategy, and rows that agree with themselves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/strategy.h"

static void names_find_their_row(void **state)
{
	(void)state;
	for (int i = 0; i < STRATEGY_COUNT; i++) {
		assert_int_equal(strategy_table[i].id, i);
		assert_ptr_equal(strategy_by_name(strategy_table[i].name), &strategy_table[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(strategy_table[i].name, strategy_table[j].name);
	}
	assert_null(strategy_by_name("SO"));
	assert_null(strategy_by_name(""));
	assert_null(strategy_by_name(NULL));
}

static void rows_are_consistent(void **state)
{
	(void)state;
	for (int i = 0; i < STRATEGY_COUNT; i++) {
		const struct strategy *s = &strategy_table[i];

		/* a strategy times itself by the clock or by round trips, not both */
		assert_false(s->by_clock && s->by_round_trips);
		/* the simultaneous-open rule is for TCP punches; a relayed one has no punch */
		if (s->rule == RULE_SIMULTANEOUS_OPEN || s->rule == RULE_LOW_TTL)
			assert_true(s->tcp && s->direct);
		if (s->rule == RULE_RELAYED)
			assert_false(s->direct);
		/* listening and retrying are ways of a TCP punch */
		if (s->listens || s->retries)
			assert_true(s->tcp);
	}
	/* the default matrix runs every strategy but lowttl (README, The suite) */
	assert_false(strategy_by_name("lowttl")->in_matrix);
	assert_true(strategy_by_name("so")->in_matrix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_find_their_row),
		cmocka_unit_test(rows_are_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
