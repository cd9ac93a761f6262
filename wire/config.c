/* The wire's configuration from a scenario: its ports, faults and offloads. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

bool wire_carries_gso(const struct scenario *s)
{
	if (s->n_faults || s->reorder)
		return false;
	for (int i = 1; i < s->n; i++)
		/* a lost segment, or one a rate limit serialises, is an MTU's, not 64 KB's */
		if (s->nodes[i].parent == 0 && (s->nodes[i].loss > 0 || s->nodes[i].rate_mbit > 0))
			return false;
	return true;
}

void wire_config_from_scenario(struct wire_config *c, const struct scenario *s)
{
	int port_of[LAB_MAX_NODES];

	memset(c, 0, sizeof(*c));
	for (int i = 1; i < s->n; i++) {
		const struct lab_node *n = &s->nodes[i];
		struct wire_port *p;

		port_of[i] = -1;
		if (n->parent != 0)
			continue;
		port_of[i] = c->n_ports;
		p = &c->ports[c->n_ports++];
		snprintf(p->name, sizeof(p->name), "%s", n->name);
		scenario_node_mac(i, p->mac);
		p->delay_ns = (int64_t)llround(n->delay_ms * 1e6);
		p->jitter_ns = (int64_t)llround(n->jitter_ms * 1e6);
		p->loss = n->loss;
		p->rate_bps = n->rate_mbit * 1e6;
		p->duplicate = n->duplicate;
	}
	for (int k = 0; k < s->n_faults; k++) {
		c->faults[k] = s->faults[k];
		c->faults[k].at = port_of[s->faults[k].at];
	}
	c->n_faults = s->n_faults;
	c->reorder = s->reorder;
	c->gso = wire_carries_gso(s);
	c->seed = s->seed;
}
