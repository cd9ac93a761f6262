/* [lab] cpus: taskset's list syntax in, the same list out; junk refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../common/cpus.h"

static void lists_and_ranges(void **state)
{
	uint64_t m = 0;
	char buf[64];

	(void)state;
	assert_int_equal(cpus_parse("1", &m), 0);
	assert_true(m == 0x2);
	assert_int_equal(cpus_parse("0-3,6", &m), 0);
	assert_true(m == 0x4f);
	cpus_format(m, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,6");
	assert_int_equal(cpus_parse(" 0 , 2 ", &m), 0);
	assert_true(m == 0x5);
	assert_int_equal(cpus_parse("63", &m), 0);
	cpus_format(m, buf, sizeof(buf));
	assert_string_equal(buf, "63");
	cpus_format(0xffffffffffffffffULL, buf, sizeof(buf));
	assert_string_equal(buf, "0-63");
}

static void junk_is_refused(void **state)
{
	const char *bad[] = { "", "64", "-1", "3-1", "1-", "1,,2", "a", "1 2", "0x1", "1,", NULL };
	uint64_t m = 7;

	(void)state;
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(cpus_parse(bad[i], &m), -1);
		assert_true(m == 7); /* untouched */
	}
}

static void bound_for_a_while_then_back(void **state)
{
	uint64_t own = cpus_usable(~0ULL), first = own & -own;
	long all = cpus_count(0);
	struct cpus_saved saved;

	(void)state;
	if (!first)
		skip(); /* no CPU below 64 to bind to */
	assert_int_equal(cpus_bind_saving(first, &saved), 0);
	assert_true(cpus_usable(~0ULL) == first);
	assert_int_equal(cpus_restore(&saved), 0);
	assert_null(saved.set);
	assert_true(cpus_usable(~0ULL) == own);
	assert_int_equal(cpus_count(0), all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lists_and_ranges),
		cmocka_unit_test(junk_is_refused),
		cmocka_unit_test(bound_for_a_while_then_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
