/* How late a lab's wire released its frames against their due time, from the
 * figures it writes (LAB.wire.stats, wire/stats.c): one wire's for natlab show,
 * every lab's merged for a run's meta.json (precision.c). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "precision.h"
#include "wire_figures.h"

json_t *wire_stats_load(const char *path, int tries)
{
	for (int k = 0; k < tries; k++) {
		json_error_t e;
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		json_t *j;

		if (fd < 0)
			return NULL; /* none before the wire's first frame */
		j = json_loadfd(fd, 0, &e);
		close(fd);
		if (json_is_object(j))
			return j;
		json_decref(j);
		usleep(1000);
	}
	return NULL;
}

void figures_warn(json_t *warnings, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(warnings, json_string(buf));
}

/* [[US,COUNT],...] into a histogram of `buckets`, the last "that or later" */
static void add_pairs(const json_t *pairs, unsigned long long *count, int buckets, unsigned long long *frames)
{
	const json_t *pair;
	size_t i;

	json_array_foreach(pairs, i, pair) {
		json_int_t us = json_integer_value(json_array_get(pair, 0));
		json_int_t n = json_integer_value(json_array_get(pair, 1));

		if (us < 0 || n < 0)
			continue;
		count[us < buckets ? us : buckets - 1] += (unsigned long long)n;
		*frames += (unsigned long long)n;
	}
}

void late_hist_add(struct late_hist *h, const json_t *wire)
{
	h->wires++;
	h->realtime &= json_is_true(json_object_get(wire, "realtime"));
	if (json_integer_value(json_object_get(wire, "rx_dropped")) > 0)
		h->dropped += (unsigned long long)json_integer_value(json_object_get(wire, "rx_dropped"));
	add_pairs(json_object_get(wire, "late_us"), h->count, WIRE_LATE_BUCKETS, &h->frames);
	add_pairs(json_object_get(wire, "at_once_us"), h->at_once, WIRE_AT_ONCE_BUCKETS, &h->at_once_frames);
}

/* p50, p99 and the last non-empty bucket of a histogram of `frames` */
static void quantiles(const unsigned long long *count, int buckets, unsigned long long frames, int *p50, int *p99,
		      int *max)
{
	unsigned long long sum = 0;

	*p50 = *p99 = -1;
	*max = 0;
	for (int us = 0; us < buckets; us++) {
		sum += count[us];
		if (*p50 < 0 && sum * 2 >= frames)
			*p50 = us;
		if (*p99 < 0 && sum * 100 >= frames * 99)
			*p99 = us;
		if (count[us])
			*max = us;
	}
}

json_t *late_hist_at_once(const struct late_hist *h)
{
	int p50, p99, max;

	if (!h->at_once_frames)
		return NULL;
	quantiles(h->at_once, WIRE_AT_ONCE_BUCKETS, h->at_once_frames, &p50, &p99, &max);
	return json_pack("{s:i,s:i,s:i,s:I}", "p50", p50, "p99", p99, "max", max, "frames",
			 (json_int_t)h->at_once_frames);
}

/* {p50, p99, max, frames, realtime} in us, nearest rank; NULL for no frame */
json_t *late_hist_figures(const struct late_hist *h, double *p50, double *p99)
{
	int q50, q99, max;

	*p50 = *p99 = -1;
	if (!h->frames)
		return NULL;
	quantiles(h->count, WIRE_LATE_BUCKETS, h->frames, &q50, &q99, &max);
	*p50 = q50;
	*p99 = q99;
	return json_pack("{s:i,s:i,s:i,s:I,s:b}", "p50", q50, "p99", q99, "max", max, "frames",
			 (json_int_t)h->frames, "realtime", h->realtime);
}

/* who: "a wire ran" (a run's), "the wire runs" (a standing lab's) */
void late_hist_warn(const struct late_hist *h, double p50, double p99, const char *who, json_t *warnings)
{
	const double last = WIRE_LATE_BUCKETS - 1; /* that or later */

	if (p50 > PRECISION_WIRE_P50_US || p99 > PRECISION_WIRE_P99_US)
		figures_warn(warnings, "the wire released frames %g us%s late at the median and %g us%s at p99 "
				       "(bound: %d and %d)", p50, p50 >= last ? " or more" : "", p99,
			     p99 >= last ? " or more" : "", PRECISION_WIRE_P50_US, PRECISION_WIRE_P99_US);
	if (h->at_once_frames) {
		int a50, a99, amax;

		quantiles(h->at_once, WIRE_AT_ONCE_BUCKETS, h->at_once_frames, &a50, &a99, &amax);
		if (a99 >= PRECISION_WIRE_AT_ONCE_P99_US)
			figures_warn(warnings, "the wire sent frames due as they came %d us or more after they arrived "
					       "at p99 (bound: under %d): it was held up", a99, PRECISION_WIRE_AT_ONCE_P99_US);
	}
	if (!h->realtime)
		figures_warn(warnings, "%s without real-time scheduling (see its log)", who);
	if (h->dropped)
		figures_warn(warnings, "the wire's socket was full for %llu frames, which were lost",
			     h->dropped);
}

void late_hist_run(const struct late_hist *h, json_t *out, json_t *warnings)
{
	double p50, p99;
	json_t *w = late_hist_figures(h, &p50, &p99);

	if (w)
		json_object_set_new(w, "labs", json_integer(h->wires));
	if (h->frames || h->at_once_frames)
		late_hist_warn(h, p50, p99, "a wire ran", warnings);
	json_object_set_new(out, "wire_delay_error_us", w ? w : json_null());
	w = late_hist_at_once(h);
	json_object_set_new(out, "wire_at_once_us", w ? w : json_null());
}

json_t *precision_of_wire(const json_t *stats)
{
	struct late_hist *h = calloc(1, sizeof(*h));
	json_t *out, *warnings = json_array();
	double p50, p99;

	if (!h || !warnings) {
		free(h);
		json_decref(warnings);
		return NULL;
	}
	h->realtime = true;
	late_hist_add(h, stats);
	out = late_hist_figures(h, &p50, &p99);
	if (!out && h->at_once_frames) /* only frames due as they came: no figure has a bound */
		out = json_pack("{s:n,s:n,s:n,s:i,s:b}", "p50", "p99", "max", "frames", 0, "realtime", h->realtime);
	if (out) {
		json_t *at_once = late_hist_at_once(h);

		json_object_set_new(out, "at_once", at_once ? at_once : json_null());
		late_hist_warn(h, p50, p99, "the wire runs", warnings);
		json_object_set_new(out, "dropped", json_integer((json_int_t)h->dropped));
		json_object_set_new(out, "bounds", json_pack("{s:i,s:i}", "p50", PRECISION_WIRE_P50_US, "p99",
								 PRECISION_WIRE_P99_US));
		json_object_set_new(out, "warnings", warnings);
	} else {
		json_decref(warnings);
	}
	free(h);
	return out;
}

