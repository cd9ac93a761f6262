/* The wire's events log, summarised for one TCP pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../wire/events.h"

static const char log_text[] =
	"{\"t\":99.500000000,\"kind\":\"syn\",\"from\":\"a\",\"to\":\"rv\",\"proto\":6,\"src\":\"1.1.1.1:5\",\"dst\":\"3.3.3.3:3478\"}\n"
	"{\"t\":100.000000000,\"kind\":\"syn\",\"from\":\"a\",\"to\":\"b\",\"proto\":6,\"src\":\"1.1.1.1:5\",\"dst\":\"2.2.2.2:6\"}\n"
	"{\"t\":100.500000000,\"kind\":\"syn\",\"from\":\"x\",\"to\":\"y\",\"proto\":6,\"src\":\"9.9.9.9:5\",\"dst\":\"2.2.2.2:6\"}\n"
	"{\"t\":101.000000000,\"kind\":\"syn\",\"from\":\"a\",\"to\":\"b\",\"proto\":6,\"src\":\"1.1.1.1:5\",\"dst\":\"2.2.2.2:6\"}\n"
	/* b's first SYN, lost on b's link: when it would have reached the core; and
	 * a RST lost likewise, which never reached anyone */
	"{\"t\":101.200000000,\"kind\":\"syn\",\"from\":\"b\",\"to\":\"a\",\"proto\":6,\"src\":\"2.2.2.2:6\",\"dst\":\"1.1.1.1:5\",\"lost\":true}\n"
	"{\"t\":101.220000000,\"kind\":\"rst\",\"from\":\"b\",\"to\":\"a\",\"proto\":6,\"src\":\"2.2.2.2:6\",\"dst\":\"1.1.1.1:5\",\"lost\":true}\n"
	"{\"t\":101.250000000,\"kind\":\"rst\",\"from\":\"b\",\"to\":\"a\",\"proto\":6,\"src\":\"2.2.2.2:6\",\"dst\":\"1.1.1.1:5\"}\n"
	"{\"t\":101.500000000,\"kind\":\"syn\",\"from\":\"b\",\"to\":\"a\",\"proto\":6,\"src\":\"2.2.2.2:6\",\"dst\":\"1.1.1.1:5\"}\n"
	"{\"t\":101.750000000,\"kind\":\"icmp\",\"from\":\"a\",\"to\":\"b\",\"proto\":1,\"src\":\"1.1.1.1:0\",\"dst\":\"2.2.2.2:0\",\"icmp_type\":3,\"icmp_code\":13}\n"
	"{\"t\":105.000000000,\"kind\":\"syn\",\"from\":\"a\",\"to\":\"b\",\"proto\":6,\"src\":\"1.1.1.1:5\",\"dst\":\"2.2.2.2:6\"}\n";

static char path[64];

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/natlab-events-%d", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(log_text, f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void summary_of_a_pair(void **state)
{
	struct wire_summary s;
	struct diag d;

	(void)state;
	/* the window leaves out the SYN at 105; the 9.9.9.9 SYN is another pair; the
	 * SYN to 3.3.3.3 (a rendezvous server) from the same port is not the punch */
	assert_int_equal(wire_summary_read(path, "1.1.1.1:5", "2.2.2.2:6", 99, 104, &s, &d), 0);
	assert_int_equal(s.syns[0], 2);
	assert_int_equal(s.syns[1], 1);
	assert_true(s.first_syn[0] == 100.0);
	/* b's first SYN is the lost one: its retransmission is not taken for a late SYN */
	assert_true(s.first_syn[1] == 101.2);
	assert_int_equal(s.lost_syns[1], 1);
	assert_int_equal(s.lost_syns[0], 0);
	assert_int_equal(s.rsts[1], 1);
	assert_int_equal(s.rsts[0], 0);
	assert_int_equal(s.icmps[0], 1);
	assert_int_equal(s.n_events, 2);
	assert_int_equal(s.events[0].kind, WIRE_RST);
	assert_int_equal(s.events[0].from, 1);
	assert_int_equal(s.events[1].kind, WIRE_ICMP);
	assert_int_equal(s.events[1].from, 0);
}

static void sides_swap(void **state)
{
	struct wire_summary s;
	struct diag d;

	(void)state;
	assert_int_equal(wire_summary_read(path, "2.2.2.2:6", "1.1.1.1:5", 0, 1e9, &s, &d), 0);
	assert_true(s.first_syn[1] == 100.0);
	assert_int_equal(s.syns[1], 3);
	assert_int_equal(s.syns[0], 1);
	assert_int_equal(s.rsts[0], 1);
}

static void sides_by_address(void **state)
{
	struct wire_summary s;
	struct diag d;

	(void)state;
	/* any port of 1.1.1.1 and 2.2.2.2: the same as the endpoints here */
	assert_int_equal(wire_summary_read(path, "1.1.1.1", "2.2.2.2", 99, 104, &s, &d), 0);
	assert_int_equal(s.syns[0], 2);
	assert_int_equal(s.syns[1], 1);
	assert_int_equal(s.rsts[1], 1);
	/* a port that never punched */
	assert_int_equal(wire_summary_read(path, "1.1.1.1:7", "2.2.2.2", 99, 104, &s, &d), 0);
	assert_int_equal(s.syns[0], 0);
	assert_int_equal(s.syns[1], 1);
}

static void bad_log(void **state)
{
	struct wire_summary s;
	struct diag d;
	FILE *f = fopen(path, "a");

	(void)state;
	fputs("not json\n", f);
	fclose(f);
	assert_int_equal(wire_summary_read(path, "a:1", "b:2", 0, 1e9, &s, &d), -1);
	assert_non_null(strstr(d.msg, ":11: "));
	assert_int_equal(wire_summary_read("/nonexistent/x", "a:1", "b:2", 0, 1, &s, &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(summary_of_a_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(sides_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(sides_by_address, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_log, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
