/* Which planned lab the pool starts next. The plan is longest first, so that the
 * run does not end on one long lab; a lab of dcutr's, whose every relay frame is
 * in its schedule, is short, and so all of them came last, side by side with each
 * other's relay traffic and bring-ups (a build for each lab of five attempts).
 * They start ahead of the order instead, whenever fewer than a few run: spread
 * over the run beside the other labs' quiet stretches (an attempt waiting out its
 * deadline). Two suites each way, 8 labs a core (2026-12-02): wall time 237-245
 * -> 227 s, dcutr's emitted-skew p95 0.29-0.72 -> 0.25-0.43 ms. */
#include "pick.h"

int jobs_pick(const struct run_job *jobs, int n, const bool *started, int round_trips, int cap)
{
	int round_trip = -1, other = -1;

	for (int k = 0; k < n && (round_trip < 0 || other < 0); k++) {
		if (started[k])
			continue;
		if (jobs[k].round_trips && round_trip < 0)
			round_trip = k;
		if (!jobs[k].round_trips && other < 0)
			other = k;
	}
	/* past the cap only when nothing else is left to start: then they go side by
	 * side as before, not one by one (a run of dcutr alone keeps all of its labs
	 * in flight) */
	return round_trip >= 0 && (round_trips < cap || other < 0) ? round_trip : other;
}
