/* What holds only once the whole file is read: parents, cycles, profiles, the wire's
 * links and faults, [run] and [matrix]. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

bool scenario_needs_wire(const struct scenario *s)
{
	if (s->capture || s->n_faults)
		return true;
	for (int i = 1; i < s->n; i++)
		if (s->nodes[i].delay_ms || s->nodes[i].jitter_ms || s->nodes[i].loss || s->nodes[i].rate_mbit ||
		    s->nodes[i].duplicate)
			return true;
	return false;
}

/* Link keys and faults act on links into the internet, which only the wire has. */
static int resolve_wire(struct scenario *s, struct diag *d)
{
	for (int i = 1; i < s->n; i++)
		if (s->nodes[i].link_line && s->nodes[i].parent != 0)
			return diag_set(d, "%s:%d: only links into the internet are emulated; [%s.%s] is behind %s",
					s->path, s->nodes[i].link_line, node_kind_name(s->nodes[i].kind),
					s->nodes[i].name, s->nodes[s->nodes[i].parent].name);
	for (int k = 0; k < s->n_faults; k++) {
		struct wire_fault *f = &s->faults[k];

		if (!f->at_line)
			return diag_set(d, "%s:%d: [fault.%s] has no \"at\" (a node in the internet)", s->path,
					f->line, f->name);
		f->at = scenario_find(s, f->at_name);
		if (f->at <= 0 || s->nodes[f->at].parent != 0)
			return diag_set(d, "%s:%d: at: \"%s\" is not a node attached to the internet", s->path,
					f->at_line, f->at_name);
		if (!f->action_line)
			return diag_set(d, "%s:%d: [fault.%s] has no \"action\" (drop or delay)", s->path,
					f->line, f->name);
		if (f->action == FAULT_DELAY && !f->extra_line)
			return diag_set(d, "%s:%d: action = delay needs extra_ms", s->path, f->action_line);
		if (f->action == FAULT_DROP && f->extra_line)
			return diag_set(d, "%s:%d: extra_ms goes with action = delay", s->path, f->extra_line);
	}
	/* reorder too: it would be taken and do nothing */
	if (s->bridge && (scenario_needs_wire(s) || s->reorder))
		return diag_set(d, "%s:%d: internet = bridge cannot emulate links, faults, reordering or capture",
				s->path, s->bridge_line);
	if (s->bridge && s->wire_cpus_line)
		return diag_set(d, "%s:%d: wire_cpus: internet = bridge has no wire", s->path, s->wire_cpus_line);
	return 0;
}

/* Parents, cycles, profiles; errors point at the line that causes them. */
int resolve(struct scenario *s, struct diag *d)
{
	if (resolve_programs(s, d))
		return -1;
	for (int i = 1; i < s->n; i++) {
		struct lab_node *n = &s->nodes[i];
		const char *key = n->kind == NODE_NAT ? "uplink" : "behind";

		if (!n->parent_line) {
			if (n->kind == NODE_HOST)
				return diag_set(d, "%s:%d: [host.%s] has no \"behind\" (a NAT's name or internet)",
						s->path, n->line, n->name);
			n->parent = 0; /* a NAT's uplink defaults to the internet */
			continue;
		}
		n->parent = scenario_find(s, n->parent_name);
		if (n->parent < 0 || s->nodes[n->parent].kind == NODE_HOST)
			return diag_set(d, "%s:%d: %s: no NAT named \"%s\" (a NAT's name or internet)",
					s->path, n->parent_line, key, n->parent_name);
		if (n->parent == i)
			return diag_set(d, "%s:%d: uplink: [nat.%s] cannot be its own uplink", s->path,
					n->parent_line, n->name);
	}
	for (int i = 1; i < s->n; i++) {
		int p = i, steps = 0;

		while (p != 0 && steps <= s->n) {
			p = s->nodes[p].parent;
			steps++;
		}
		if (p != 0)
			return diag_set(d, "%s:%d: uplink: cycle through [nat.%s]", s->path,
					s->nodes[i].parent_line, s->nodes[i].name);
		s->nodes[i].depth = steps;
	}
	for (int i = 1; i < s->n; i++) {
		struct lab_node *n = &s->nodes[i];
		struct diag sub;

		if (n->kind == NODE_HOST && n->parent != 0 && n->turn)
			return diag_set(d, "%s:%d: service: a TURN server is a host in the internet", s->path,
					n->service_line);
		if (n->kind == NODE_HOST && n->parent != 0 && n->addresses_line && n->addresses > 1)
			return diag_set(d, "%s:%d: addresses: only hosts in the internet have several",
					s->path, n->addresses_line);
		if (n->kind != NODE_NAT)
			continue;
		if (!n->profile_line)
			return diag_set(d, "%s:%d: [nat.%s] has no \"profile\"", s->path, n->line, n->name);
		switch (nat_profile_load(&n->profile, n->profile_spec, s->dir, &sub)) {
		case 0:
			break;
		case NAT_PROFILE_EFILE: /* the profile file's own error names its file and line */
			return diag_set(d, "%s", sub.msg);
		default:
			return diag_set(d, "%s:%d: profile: %s", s->path, n->profile_line, sub.msg);
		}
		for (int k = 0; k < n->n_ov; k++)
			if (nat_profile_set(&n->profile, n->ov[k].key, n->ov[k].value, &sub))
				return diag_set(d, "%s:%d: %s", s->path, n->ov[k].line, sub.msg);
		/* the internet routes its inside to it; a NAT above would have to as well */
		if (!n->profile.translation && n->parent)
			return diag_set(d, "%s:%d: [nat.%s]: translation = off needs uplink = internet", s->path,
					n->line, n->name);
	}
	/* a clock ahead and a program started ahead both move the instant further
	 * off, and the rendezvous puts it at most 10 s off (PROTO_LEAD_MAX_MS) */
	for (int i = 1; i < s->n; i++)
		for (int k = 0; k < s->n_programs && s->nodes[i].clock_offset_ms > 0; k++)
			if (s->nodes[i].clock_offset_ms + s->programs[k].lead_ms > 10000)
				return diag_set(d, "%s:%d: clock_offset_ms: %d ms ahead and [strategy.%s]'s lead_ms %g "
						"come to more than the 10000 ms the rendezvous puts an instant off",
						s->path, s->nodes[i].clock_line, s->nodes[i].clock_offset_ms,
						s->programs[k].name, s->programs[k].lead_ms);
	return resolve_wire(s, d) || resolve_run(s, d) || resolve_matrix(s, d);
}
