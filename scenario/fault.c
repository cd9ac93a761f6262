/* [fault.NAME]: a scripted fault on the wire. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const match_names[] = { "any", "tcp", "tcp-syn", "tcp-synack", "tcp-ack",
					   "tcp-rst", "udp", "icmp", NULL };

const char *fault_match_name(int m)
{
	return match_names[m];
}

int fault_find(const struct scenario *s, const char *name)
{
	for (int i = 0; i < s->n_faults; i++)
		if (!strcmp(s->faults[i].name, name))
			return i;
	return -1;
}

int fault_section(struct scenario *s, const char *name, int line, struct diag *d)
{
	struct wire_fault *f;
	int prev;

	if (check_name(name, NODE_NAME_MAX, d))
		return -1;
	prev = fault_find(s, name);
	if (prev >= 0)
		return diag_set(d, "duplicate fault \"%s\" (first at line %d)", name, s->faults[prev].line);
	if (s->n_faults >= LAB_MAX_FAULTS)
		return diag_set(d, "too many faults (at most %d)", LAB_MAX_FAULTS);
	f = &s->faults[s->n_faults++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->line = line;
	return 0;
}

int fault_key(struct wire_fault *f, const char *key, const char *value, int line,
	      struct diag *d)
{
	long v;

	if (!strcmp(key, "at")) {
		if (set_once(&f->at_line, line, key, d))
			return -1;
		if (strlen(value) >= sizeof(f->at_name))
			return diag_set(d, "at: no node \"%s\"", value);
		snprintf(f->at_name, sizeof(f->at_name), "%s", value);
	} else if (!strcmp(key, "match")) {
		for (int i = 0; match_names[i]; i++)
			if (!strcmp(match_names[i], value)) {
				f->match = i;
				return 0;
			}
		return diag_set(d, "match: unknown value \"%s\" (expected any, tcp, tcp-syn, tcp-synack, tcp-ack, tcp-rst, udp, icmp)",
				value);
	} else if (!strcmp(key, "action")) {
		if (set_once(&f->action_line, line, key, d))
			return -1;
		if (strcmp(value, "drop") && strcmp(value, "delay"))
			return diag_set(d, "action: expected drop or delay, not \"%s\"", value);
		f->action = !strcmp(value, "drop") ? FAULT_DROP : FAULT_DELAY;
	} else if (!strcmp(key, "direction")) {
		if (strcmp(value, "out") && strcmp(value, "in"))
			return diag_set(d, "direction: expected out or in, not \"%s\"", value);
		f->inbound = !strcmp(value, "in");
	} else if (!strcmp(key, "count")) {
		if (parse_int(value, 0, 1000000, &v))
			return diag_set(d, "count: \"%s\" is not a number from 0 to 1000000", value);
		f->count = (unsigned)v;
	} else if (!strcmp(key, "extra_ms")) {
		if (set_once(&f->extra_line, line, key, d))
			return -1;
		if (parse_double(value, 0, 60000, &f->extra_ms))
			return diag_set(d, "extra_ms: \"%s\" is not a number of ms from 0 to 60000", value);
	} else {
		return diag_set(d, "unknown key \"%s\" in [fault.%s] (expected at, match, action, direction, count, extra_ms)",
				key, f->name);
	}
	return 0;
}
