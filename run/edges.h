/* A timing window's edges found by search on skew (edges = bisect): from skew 0,
 * which gets through, outwards to the first skew that does not, to a stated
 * resolution. The search itself knows nothing of labs: a probe says whether a
 * skew got through, so the unit tests drive it with a known window. */
#ifndef NATLAB_RUN_EDGES_H
#define NATLAB_RUN_EDGES_H

#include "../natsim/model.h"

/* What probing one skew decided: 1 got through, 0 did not, -1 stop the search */
typedef int (*edge_probe_fn)(double skew_ms, void *arg);

enum edge_found {
	EDGE_MEASURED, /* good_ms got through, bad_ms did not, at most the resolution apart */
	EDGE_BEYOND,   /* the range's end got through: the window is at least that wide */
	EDGE_STOPPED,  /* a probe said stop */
};

struct edge_result {
	enum edge_found found;
	double good_ms, bad_ms; /* signed skews; bad_ms NAN when beyond */
	int probes;
};

/* One side (dir -1: b earlier, +1: b later) of a window whose skew 0 got through,
 * searched up to range_ms (> 0) from 0 to resolution_ms. seed_ms, the model's
 * edge on that side (a magnitude; INFINITY: beyond the range, NAN: no model),
 * is where the first probes go: just inside and just outside it, so a right
 * model costs two probes and a wrong one a search outwards (doubling steps)
 * then a bisection. Assumes what the window's definition does: everything
 * between 0 and the edge gets through. */
int edge_search(int dir, double range_ms, double resolution_ms, double seed_ms, edge_probe_fn probe,
		void *arg, struct edge_result *out);

/* What a search covers on each side: from the lowest of the skews (or 0) to the
 * highest (or 0), range[0] <= 0 <= range[1]; a side at 0 is not searched */
void edge_range(const double *skews_ms, int n, double range[2]);

/* The model's edge on one side of case mc (its skew_ms is ignored), to 0.01 ms
 * by bisection within range_ms: INFINITY when the range's end gets through,
 * NAN when skew 0 does not. */
double edge_predicted(const struct model_case *mc, int dir, double range_ms);

#endif
