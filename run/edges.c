/* The search for a window's edges (edges.h). */
#include <math.h>

#include "edges.h"

/* Probe points to 0.01 ms: the schedule is good to about a tenth of a ms */
static double tidy(double ms)
{
	return round(ms * 100) / 100;
}

/* What is known of one side: good got through, bad did not (INFINITY: none yet) */
struct side {
	int dir;
	double good, bad;
	edge_probe_fn probe;
	void *arg;
	int probes;
};

static int try_skew(struct side *s, double x)
{
	int r = s->probe(s->dir * x, s->arg);

	s->probes++;
	if (r > 0)
		s->good = x;
	else if (!r)
		s->bad = x;
	return r;
}

int edge_search(int dir, double range_ms, double resolution_ms, double seed_ms, edge_probe_fn probe,
		void *arg, struct edge_result *out)
{
	struct side s = { .dir = dir, .good = 0, .bad = INFINITY, .probe = probe, .arg = arg };
	double step = range_ms; /* no edge expected inside: the range's end first */
	int r = 0;

	*out = (struct edge_result){ .found = EDGE_STOPPED, .good_ms = 0, .bad_ms = NAN };
	if (isfinite(seed_ms) && seed_ms > 0 && seed_ms < range_ms) {
		double in = tidy(seed_ms - resolution_ms / 2), beyond = tidy(seed_ms + resolution_ms / 2);

		if (in <= 0)
			in = tidy(seed_ms / 2);
		if (beyond > range_ms)
			beyond = range_ms;
		r = try_skew(&s, in);
		if (r > 0 && beyond > in)
			r = try_skew(&s, beyond);
		step = resolution_ms;
	}
	/* outwards, each step twice the last, until a skew does not get through */
	while (r >= 0 && isinf(s.bad) && s.good < range_ms) {
		double x = tidy(s.good + step < range_ms ? s.good + step : range_ms);

		r = try_skew(&s, x > s.good ? x : range_ms);
		step *= 2;
	}
	/* then halving the gap, to the resolution or as fine as skews go (0.01 ms) */
	while (r >= 0 && isfinite(s.bad) && s.bad - s.good > resolution_ms + 1e-9) {
		double mid = tidy((s.good + s.bad) / 2);

		if (mid <= s.good || mid >= s.bad)
			break;
		r = try_skew(&s, mid);
	}
	out->probes = s.probes;
	if (r < 0)
		return -1;
	out->found = isinf(s.bad) ? EDGE_BEYOND : EDGE_MEASURED;
	out->good_ms = s.good ? dir * s.good : 0;
	out->bad_ms = isinf(s.bad) ? NAN : dir * s.bad;
	return 0;
}

void edge_range(const double *skews_ms, int n, double range[2])
{
	range[0] = range[1] = 0;
	for (int k = 0; k < n; k++) {
		range[0] = fmin(range[0], skews_ms[k]);
		range[1] = fmax(range[1], skews_ms[k]);
	}
}

static bool predicted_through(const struct model_case *base, double skew_ms)
{
	struct model_case mc = *base;
	enum model_outcome o;

	mc.skew_ms = skew_ms;
	o = model_predict(&mc);
	return o == PREDICT_CONNECTED || o == PREDICT_RELAYED;
}

double edge_predicted(const struct model_case *mc, int dir, double range_ms)
{
	double good = 0, bad = range_ms;

	if (!predicted_through(mc, 0))
		return NAN;
	if (predicted_through(mc, dir * range_ms))
		return INFINITY;
	while (bad - good > 0.005) {
		double mid = (good + bad) / 2;

		if (predicted_through(mc, dir * mid))
			good = mid;
		else
			bad = mid;
	}
	return round(good * 100) / 100;
}
