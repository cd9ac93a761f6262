/* Reading the wire's events log: what crossed the internet during one attempt. */
#ifndef NATLAB_WIRE_EVENTS_H
#define NATLAB_WIRE_EVENTS_H

#include "../common/diag.h"

#define WIRE_SUMMARY_MAX_EVENTS 64

enum wire_event_kind { WIRE_SYN, WIRE_SYNACK, WIRE_RST, WIRE_ICMP };

/* A TCP pair as the internet sees it: side 0 and side 1, each "ADDR:PORT" (that
 * endpoint) or "ADDR" (any port of that address). */
struct wire_summary {
	double first_syn[2]; /* wall time side i's first SYN reached the core, or would have
			      * (one lost on its link: the link's delay after it left); 0: none */
	unsigned syns[2], synacks[2], rsts[2], icmps[2]; /* sent by side i, through the core */
	unsigned lost_syns[2]; /* SYNs of side i lost before the core */
	int n_events; /* RSTs and ICMP errors, in time order */
	struct {
		double t;
		int kind;
		int from; /* side */
	} events[WIRE_SUMMARY_MAX_EVENTS];
};

/* Summarises the events between since and until (wall time, seconds) for the pair:
 * a segment counts for the side it comes from when it goes to the other side's
 * address (any port), an ICMP error for the side whose address sent it. */
int wire_summary_read(const char *events_path, const char *side0, const char *side1, double since,
		      double until, struct wire_summary *out, struct diag *d);

#endif
