#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "events.h"

/* "a.b.c.d:port" and "a.b.c.d:other" share an address */
static int same_addr(const char *a, const char *b)
{
	size_t n = strcspn(a, ":");

	return n == strcspn(b, ":") && !strncmp(a, b, n);
}

/* A side is "ADDR:PORT" (that endpoint) or "ADDR" (any port of it). */
static int is_side(const char *ep, const char *side)
{
	return strchr(side, ':') ? !strcmp(ep, side) : same_addr(ep, side);
}

static int side_of(const char *ep, const char *side0, const char *side1)
{
	return is_side(ep, side0) ? 0 : is_side(ep, side1) ? 1 : -1;
}

int wire_summary_read(const char *events_path, const char *side0, const char *side1, double since,
		      double until, struct wire_summary *out, struct diag *d)
{
	FILE *f = fopen(events_path, "r");
	char line[1024];
	int lineno = 0;

	memset(out, 0, sizeof(*out));
	if (!f)
		return diag_set(d, "%s: %s", events_path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		json_error_t err;
		json_t *e = json_loads(line, 0, &err);
		const char *kind, *src, *dst;
		double t;
		int from, k;
		bool lost;

		lineno++;
		if (!e) {
			fclose(f);
			return diag_set(d, "%s:%d: %s", events_path, lineno, err.text);
		}
		kind = json_string_value(json_object_get(e, "kind"));
		src = json_string_value(json_object_get(e, "src"));
		dst = json_string_value(json_object_get(e, "dst"));
		t = json_number_value(json_object_get(e, "t"));
		lost = json_is_true(json_object_get(e, "lost"));
		if (!kind || !src || !dst || t < since || t > until) {
			json_decref(e);
			continue;
		}
		k = !strcmp(kind, "syn") ? WIRE_SYN : !strcmp(kind, "synack") ? WIRE_SYNACK
			: !strcmp(kind, "rst") ? WIRE_RST : WIRE_ICMP;
		/* from a side to the partner's address, on any port: a SYN aimed at a stale
		 * endpoint of the partner (a symmetric NAT's) still counts; one to the
		 * rendezvous server from the same port does not */
		if (k == WIRE_ICMP) {
			from = same_addr(src, side0) ? 0 : same_addr(src, side1) ? 1 : -1;
		} else {
			from = side_of(src, side0, side1);
			if (from >= 0 && !same_addr(dst, from ? side0 : side1))
				from = -1;
		}
		json_decref(e);
		if (from < 0)
			continue;
		if (k == WIRE_SYN && (!out->first_syn[from] || t < out->first_syn[from]))
			out->first_syn[from] = t;
		if (lost) {
			/* never crossed the core: only a SYN's time counts (above) */
			out->lost_syns[from] += k == WIRE_SYN;
			continue;
		}
		switch (k) {
		case WIRE_SYN:
			out->syns[from]++;
			break;
		case WIRE_SYNACK:
			out->synacks[from]++;
			break;
		case WIRE_RST:
		case WIRE_ICMP:
			if (k == WIRE_RST)
				out->rsts[from]++;
			else
				out->icmps[from]++;
			if (out->n_events < WIRE_SUMMARY_MAX_EVENTS) {
				out->events[out->n_events].t = t;
				out->events[out->n_events].kind = k;
				out->events[out->n_events++].from = from;
			}
			break;
		}
	}
	fclose(f);
	return 0;
}
