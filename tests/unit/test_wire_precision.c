/* A standing lab's wire figures (natlab show --wire): the quantiles of its
 * lateness histogram by nearest rank, and a warning for each bound it missed. */
#include <jansson.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../run/precision.h"
#include "../../run/wire_figures.h"

static json_t *figures(const char *stats)
{
	json_error_t e;
	json_t *j = json_loads(stats, 0, &e), *p;

	assert_non_null(j);
	p = precision_of_wire(j);
	json_decref(j);
	return p;
}

static long long num(const json_t *p, const char *key)
{
	return (long long)json_integer_value(json_object_get(p, key));
}

static size_t n_warnings(const json_t *p)
{
	return json_array_size(json_object_get(p, "warnings"));
}

static bool warns(const json_t *p, const char *part)
{
	json_t *w;
	size_t i;

	json_array_foreach(json_object_get(p, "warnings"), i, w)
		if (strstr(json_string_value(w), part))
			return true;
	return false;
}

/* 100 frames: 50 at 0 us, 40 at 5, 9 at 90, 1 at 300: the 50th is at 0, the
 * 99th at 90, the last at 300; within both bounds */
static void quantiles_by_nearest_rank(void **state)
{
	json_t *p = figures("{\"frames\":100,\"realtime\":true,\"rx_dropped\":0,"
			    "\"late_us\":[[0,50],[5,40],[90,9],[300,1]]}");

	(void)state;
	assert_non_null(p);
	assert_int_equal(num(p, "frames"), 100);
	assert_int_equal(num(p, "p50"), 0);
	assert_int_equal(num(p, "p99"), 90);
	assert_int_equal(num(p, "max"), 300);
	assert_true(json_is_true(json_object_get(p, "realtime")));
	assert_int_equal(num(p, "dropped"), 0);
	assert_int_equal(num(json_object_get(p, "bounds"), "p50"), PRECISION_WIRE_P50_US);
	assert_int_equal(num(json_object_get(p, "bounds"), "p99"), PRECISION_WIRE_P99_US);
	assert_int_equal(n_warnings(p), 0);
	json_decref(p);
}

/* one frame in a hundred past 100 us is the p99 itself: a warning */
static void past_a_bound_warns(void **state)
{
	json_t *p = figures("{\"realtime\":true,\"late_us\":[[3,98],[101,2]]}");

	(void)state;
	assert_int_equal(num(p, "p99"), 101);
	assert_int_equal(n_warnings(p), 1);
	assert_true(warns(p, "101 us at p99"));
	json_decref(p);
	p = figures("{\"realtime\":true,\"late_us\":[[21,60],[3,40]]}"); /* unsorted: the median is 21 */
	assert_int_equal(num(p, "p50"), 21);
	assert_true(warns(p, "21 us late at the median"));
	json_decref(p);
}

/* the last bucket holds that and anything later; it stays the last */
static void later_than_the_histogram(void **state)
{
	json_t *p = figures("{\"realtime\":true,\"late_us\":[[1,1],[9999,3]]}");

	(void)state;
	assert_int_equal(num(p, "p50"), 9999);
	assert_int_equal(num(p, "max"), 9999);
	assert_true(warns(p, "9999 us or more late at the median and 9999 us or more at p99"));
	json_decref(p);
}

static void no_realtime_and_drops_warn(void **state)
{
	json_t *p = figures("{\"realtime\":false,\"rx_dropped\":7,\"late_us\":[[1,10]]}");

	(void)state;
	assert_int_equal(n_warnings(p), 2);
	assert_true(warns(p, "the wire runs without real-time scheduling"));
	assert_true(warns(p, "full for 7 frames"));
	assert_int_equal(num(p, "dropped"), 7);
	json_decref(p);
}

/* frames due as they came: counted apart, no bound of the delay's, and a
 * millisecond at p99 (the last bucket) is a wire held up */
static void frames_due_as_they_came(void **state)
{
	json_t *p = figures("{\"realtime\":true,\"late_us\":[[2,10]],\"at_once_us\":[[25,90],[60,9],[400,1]]}"),
	       *a = json_object_get(p, "at_once");

	(void)state;
	assert_int_equal(num(p, "frames"), 10);
	assert_int_equal(num(a, "frames"), 100);
	assert_int_equal(num(a, "p50"), 25);
	assert_int_equal(num(a, "p99"), 60);
	assert_int_equal(num(a, "max"), 400);
	assert_int_equal(n_warnings(p), 0); /* 25 us at the median: a wake-up, not a delay's error */
	json_decref(p);
	p = figures("{\"realtime\":true,\"at_once_us\":[[30,98],[1000,2]]}");
	assert_true(json_is_null(json_object_get(p, "p50")) && num(p, "frames") == 0);
	assert_int_equal(n_warnings(p), 1);
	assert_true(warns(p, "due as they came 1000 us or more after they arrived at p99"));
	json_decref(p);
}

/* a run's labs merged: counts add up, real-time only if every wire had it, drops
 * summed; a run of labs without delays still says what they missed */
static void a_run_merges_its_wires(void **state)
{
	const char *lines[] = { "{\"realtime\":true,\"rx_dropped\":2,\"late_us\":[[0,60],[150,1]]}",
				"{\"realtime\":false,\"rx_dropped\":3,\"late_us\":[[0,39]],\"at_once_us\":[[20,5]]}" };
	struct late_hist *h = calloc(1, sizeof(*h));
	json_t *out = json_object(), *warnings = json_array(), *w;

	(void)state;
	h->realtime = true;
	for (size_t i = 0; i < 2; i++) {
		json_error_t e;
		json_t *j = json_loads(lines[i], 0, &e);

		late_hist_add(h, j);
		json_decref(j);
	}
	late_hist_run(h, out, warnings);
	w = json_object_get(out, "wire_delay_error_us");
	assert_int_equal(num(w, "frames"), 100);
	assert_int_equal(num(w, "labs"), 2);
	assert_int_equal(num(w, "p99"), 0); /* the 100th of 100 is the only late one */
	assert_int_equal(num(w, "max"), 150);
	assert_false(json_is_true(json_object_get(w, "realtime")));
	assert_int_equal(num(json_object_get(out, "wire_at_once_us"), "frames"), 5);
	assert_int_equal(json_array_size(warnings), 2); /* no real-time, 5 dropped */
	json_decref(out);
	json_decref(warnings);

	/* only frames due as they came: no delay's figure, the warnings all the same */
	memset(h, 0, sizeof(*h));
	h->realtime = true;
	{
		json_error_t e;
		json_t *j = json_loads("{\"realtime\":false,\"rx_dropped\":9,\"at_once_us\":[[20,40],[1000,10]]}", 0, &e);

		late_hist_add(h, j);
		json_decref(j);
	}
	out = json_object();
	warnings = json_array();
	late_hist_run(h, out, warnings);
	assert_true(json_is_null(json_object_get(out, "wire_delay_error_us")));
	assert_int_equal(num(json_object_get(out, "wire_at_once_us"), "p99"), 1000);
	assert_int_equal(json_array_size(warnings), 3); /* held up, no real-time, dropped */
	json_decref(out);
	json_decref(warnings);
	free(h);
}

/* no frame released yet: no figures, not zeros */
static void nothing_yet(void **state)
{
	(void)state;
	assert_null(figures("{\"frames\":0,\"realtime\":true,\"late_us\":[]}"));
	assert_null(figures("{\"realtime\":true,\"late_us\":[[-1,4],[5,-2]]}")); /* junk counts for nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantiles_by_nearest_rank), cmocka_unit_test(past_a_bound_warns),
		cmocka_unit_test(later_than_the_histogram), cmocka_unit_test(no_realtime_and_drops_warn),
		cmocka_unit_test(frames_due_as_they_came), cmocka_unit_test(a_run_merges_its_wires),
		cmocka_unit_test(nothing_yet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
