/* How late a lab's wire released its frames against their due time: the
 * histogram in its figures (LAB.wire.stats), one wire's or several merged. */
#ifndef NATLAB_WIRE_FIGURES_H
#define NATLAB_WIRE_FIGURES_H

#include <jansson.h>
#include <stdbool.h>

#include "../wire/wire.h"

/* The last bucket is "that or later". Zeroed, with realtime true, before the
 * first add. count: frames with a delay to keep, against its end (the bounds
 * are theirs); at_once: frames due as they came, against their arrival (the
 * wire's wake-up, no bound). */
struct late_hist {
	unsigned long long count[WIRE_LATE_BUCKETS], frames, dropped;
	unsigned long long at_once[WIRE_AT_ONCE_BUCKETS], at_once_frames;
	int wires;
	bool realtime;
};

/* one wire's figures (the object it writes) added */
void late_hist_add(struct late_hist *h, const json_t *wire);
/* {p50, p99, max (us, nearest rank), frames, realtime}; NULL for no frame */
json_t *late_hist_figures(const struct late_hist *h, double *p50, double *p99);
/* the frames due as they came: {p50, p99, max, frames}; NULL for none */
json_t *late_hist_at_once(const struct late_hist *h);
/* a warning for each bound missed; who: "a wire ran" (a run's), "the wire runs" */
void late_hist_warn(const struct late_hist *h, double p50, double p99, const char *who, json_t *warnings);

/* A wire's figures (LAB.wire.stats), not through a symlink. The wire rewrites
 * them in place: a read that meets half a write reads again, `tries` reads 1 ms
 * apart in all. NULL where there are none (no frame yet) or none whole. */
json_t *wire_stats_load(const char *path, int tries);

/* a line added to a precision object's warnings, as printf formats it (255 bytes at most) */
void figures_warn(json_t *warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A run's labs merged, into its precision object `out`: wire_delay_error_us
 * ({p50,p99,max,frames,labs,realtime} or null) and wire_at_once_us
 * ({p50,p99,max,frames} or null), and a warning for each bound missed, whether
 * the labs' frames had a delay to keep or not. */
void late_hist_run(const struct late_hist *h, json_t *out, json_t *warnings);

/* One wire's figures, for a standing lab (natlab show --wire):
 * {"p50","p99","max" (us late against each frame's due time), "frames",
 *  "realtime", "dropped" (frames its socket had no room for), "bounds":{p50,p99},
 *  "at_once":{p50,p99,max,frames} or null (frames due as they came: how soon
 *  after their arrival they left), "warnings":[...]}; NULL when it has released
 *  no frame yet (or no memory). */
json_t *precision_of_wire(const json_t *stats);

#endif
