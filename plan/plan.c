/* The plan of a lab: the same decisions netns/lab.c acts on, as a list of steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../natsim/ruleset.h"
#include "../wire/wire.h"
#include "plan.h"

void plan_netns(const struct lab_plan *p, int node, char *buf, size_t len)
{
	lab_netns_name(buf, len, p->id, p->s->nodes[node].name);
}

static struct plan_step *step(struct lab_plan *p, enum plan_op op, int node)
{
	struct plan_step *t;

	if (p->n == p->cap) {
		int cap = p->cap ? 2 * p->cap : 64;

		t = realloc(p->steps, sizeof(*t) * (size_t)cap);
		if (!t)
			return NULL;
		p->steps = t;
		p->cap = cap;
	}
	t = &p->steps[p->n++];
	memset(t, 0, sizeof(*t));
	t->op = op;
	t->node = node;
	t->phase = op == PLAN_NETNS || op == PLAN_LINK_UP || op == PLAN_BRIDGE ? PLAN_PHASE_NETNS
		   : op == PLAN_NEIGH					   ? PLAN_PHASE_NEIGH
		   : op == PLAN_NFT					   ? PLAN_PHASE_NAT
		   : op == PLAN_WIRE_PORT				   ? PLAN_PHASE_WIRE
		   : op == PLAN_SERVICE					   ? PLAN_PHASE_SERVICES
									   : PLAN_PHASE_LINKS;
	return t;
}

static int sysctl(struct lab_plan *p, int node, const char *path, const char *value, enum plan_phase phase,
		  bool must)
{
	struct plan_step *t = step(p, PLAN_SYSCTL, node);

	if (!t)
		return -1;
	t->phase = phase;
	t->must = must;
	snprintf(t->addr, sizeof(t->addr), "%s", path);
	snprintf(t->value, sizeof(t->value), "%s", value);
	return 0;
}

static struct plan_step *dev_step_t(struct lab_plan *p, enum plan_op op, int node, const char *dev,
				     int ifindex, const char *addr)
{
	struct plan_step *t = step(p, op, node);

	if (!t)
		return NULL;
	snprintf(t->dev, sizeof(t->dev), "%s", dev);
	t->ifindex = ifindex;
	snprintf(t->addr, sizeof(t->addr), "%s", addr ? addr : "");
	return t;
}

static int dev_step(struct lab_plan *p, enum plan_op op, int node, const char *dev, int ifindex,
		    const char *addr)
{
	return dev_step_t(p, op, node, dev, ifindex, addr) ? 0 : -1;
}

/* The name of a node's link to its parent, inside its own namespace. */
static const char *uplink(const struct lab_node *n)
{
	return n->kind == NODE_NAT ? IF_UPLINK_NAT : IF_UPLINK_HOST;
}

/* A NAT's inside is a bridge only where more than one node hangs on it: one node's
 * link is the NAT's LAN interface itself. A bridge's teardown (br_multicast_dev_del)
 * waits for an rcu_barrier with the rtnl lock held, 17 ms a bridge here while other
 * namespaces were being cleaned up, and every netlink request of the next lab waited
 * behind it. */
static bool nat_bridged(const struct lab_node *n)
{
	return n->kind == NODE_NAT && n->n_children > 1;
}

/* The namespace of node i: sysctls, lo, the bridge its children hang on. */
static int plan_node_ns(struct lab_plan *p, int i)
{
	const struct lab_node *n = &p->s->nodes[i];
	int rc = step(p, PLAN_NETNS, i) ? 0 : -1;

	/* As few sysctls as will do: each write looks its path up among the same names
	 * of every namespace on the machine (proc_sys_compare), so with a thousand
	 * namespaces a write costs milliseconds.
	 * No IPv6 in the lab, no router solicitations or DAD on the wire: "all" sets
	 * "default" too (addrconf_disable_ipv6). */
	rc |= sysctl(p, i, "net/ipv6/conf/all/disable_ipv6", "1", PLAN_PHASE_NETNS, false);
	/* a NAT forwards hairpinned packets out the interface they came in on: no
	 * redirects (a host forwards nothing, and sends none) */
	if (n->kind == NODE_NAT) {
		rc |= sysctl(p, i, "net/ipv4/conf/all/send_redirects", "0", PLAN_PHASE_NETNS, false);
		rc |= sysctl(p, i, "net/ipv4/conf/default/send_redirects", "0", PLAN_PHASE_NETNS, false);
		rc |= sysctl(p, i, "net/ipv4/ip_forward", "1", PLAN_PHASE_NETNS, true);
		/* a LAN is a switch, and a NAT filters at its IP layer only: where
		 * br_netfilter is loaded (Docker loads it), frames on the NAT's bridge
		 * would cross its nftables hooks as frames, and a host's hairpin to its
		 * own mapping went back out bridged, without its SNAT (RFC 5780's
		 * hairpinning test, natlab classify, found it). Absent without it. */
		if (nat_bridged(n))
			rc |= sysctl(p, i, "net/bridge/bridge-nf-call-iptables", "0", PLAN_PHASE_NETNS, false);
	}
	/* peers on a fixed port dial the same endpoints attempt after attempt: the last
	 * attempt's TIME_WAIT must not refuse the next one's connect (EADDRNOTAVAIL).
	 * The delay sysctl is Linux 6.13's; older kernels wait their second. */
	if (p->s->run.local_port && i && (i == p->s->run.pair[0] || i == p->s->run.pair[1])) {
		rc |= sysctl(p, i, "net/ipv4/tcp_tw_reuse", "1", PLAN_PHASE_NETNS, true);
		rc |= sysctl(p, i, "net/ipv4/tcp_tw_reuse_delay", "1", PLAN_PHASE_NETNS, false);
	}
	rc |= dev_step(p, PLAN_LINK_UP, i, "lo", 1, NULL);
	if (n->kind == NODE_NAT ? nat_bridged(n) : n->n_children && p->s->bridge)
		rc |= dev_step(p, PLAN_BRIDGE, i, n->kind == NODE_NAT ? IF_BRIDGE_NAT : IF_BRIDGE_INTERNET,
			       IFINDEX_BRIDGE, NULL);
	return rc;
}

/* Node i's uplink into its parent, its addresses and routes. */
static int plan_node_links(struct lab_plan *p, int i)
{
	const struct lab_node *n = &p->s->nodes[i];
	const char *up = uplink(n);
	bool on_wire = n->parent == 0 && p->wire;
	const struct lab_node *parent = &p->s->nodes[n->parent];
	/* the only node behind its NAT: its link is the NAT's LAN (nat_bridged) */
	bool lan_alone = parent->kind == NODE_NAT && !nat_bridged(parent);
	struct plan_step *t = step(p, PLAN_VETH, n->parent);
	int rc = 0;

	if (!t)
		return -1;
	t->peer = i;
	snprintf(t->dev, sizeof(t->dev), "%s", lan_alone ? IF_BRIDGE_NAT : n->name);
	t->ifindex = IFINDEX_CHILD_BASE + i;
	snprintf(t->master, sizeof(t->master), "%s",
		 on_wire || lan_alone ? "" : parent->kind == NODE_NAT ? IF_BRIDGE_NAT : IF_BRIDGE_INTERNET);
	snprintf(t->peer_dev, sizeof(t->peer_dev), "%s", up);
	t->peer_ifindex = IFINDEX_UPLINK;
	if (n->parent == 0) {
		scenario_node_mac(i, t->mac);
		t->has_mac = true;
	}
	/* a clean wire carries super-frames; any other sees each frame as on a line */
	if (on_wire && !wire_carries_gso(p->s)) {
		rc |= dev_step(p, PLAN_OFFLOADS_OFF, n->parent, n->name, IFINDEX_CHILD_BASE + i, NULL);
		rc |= dev_step(p, PLAN_OFFLOADS_OFF, i, up, IFINDEX_UPLINK, NULL);
	} else if (on_wire) {
		/* only those a virtio_net_hdr describes (TCP, UDP): the node segments the rest */
		rc |= dev_step(p, PLAN_GSO_PLAIN, i, up, IFINDEX_UPLINK, NULL);
	}
	if (lan_alone)
		rc |= dev_step(p, PLAN_ADDR, n->parent, IF_BRIDGE_NAT, IFINDEX_CHILD_BASE + i, parent->lan_addr);
	if (nat_bridged(n))
		rc |= dev_step(p, PLAN_ADDR, i, IF_BRIDGE_NAT, IFINDEX_BRIDGE, n->lan_addr);
	for (int j = 0; j < n->n_addr; j++)
		rc |= dev_step(p, PLAN_ADDR, i, up, IFINDEX_UPLINK, n->addr[j]);
	if (n->gw[0]) {
		if (!(t = dev_step_t(p, PLAN_ROUTE, i, up, IFINDEX_UPLINK, n->gw)))
			return -1;
		snprintf(t->dst, sizeof(t->dst), "default");
	}
	/* firewalls without translation: the internet routes their insides to them */
	for (int k = 1; k < p->s->n && n->parent == 0; k++) {
		const struct lab_node *fw = &p->s->nodes[k];

		if (k == i || fw->kind != NODE_NAT || fw->profile.translation || fw->parent)
			continue;
		if (!(t = dev_step_t(p, PLAN_ROUTE, i, up, IFINDEX_UPLINK, NULL)))
			return -1;
		snprintf(t->addr, sizeof(t->addr), "%.*s", (int)strcspn(fw->addr[0], "/"), fw->addr[0]);
		snprintf(t->dst, sizeof(t->dst), "%s", fw->lan_net);
	}
	/* a NAT on the internet routes only the lab's internet: elsewhere is dropped
	 * unanswered, as on the internet (its own "net unreachable" told a host at
	 * once what in the field takes a timeout) */
	if (!n->gw[0] && n->kind == NODE_NAT && !p->s->unreachable)
		rc |= step(p, PLAN_ROUTE_BLACKHOLE, i) ? 0 : -1;
	return rc;
}

/* Every node in the internet knows every other one's MAC from the start, as a router
 * knows its next hop's: no ARP round trip through the wire's delays before a first
 * packet (which would move every first SYN by an RTT). */
static int plan_neighbours(struct lab_plan *p)
{
	const struct scenario *s = p->s;

	for (int i = 1; i < s->n; i++)
		for (int j = 1; j < s->n && !s->nodes[i].parent; j++) {
			if (j == i || s->nodes[j].parent)
				continue;
			for (int k = 0; k < s->nodes[j].n_addr; k++) {
				struct plan_step *t = step(p, PLAN_NEIGH, i);

				if (!t)
					return -1;
				snprintf(t->dev, sizeof(t->dev), "%s", uplink(&s->nodes[i]));
				t->ifindex = IFINDEX_UPLINK;
				snprintf(t->addr, sizeof(t->addr), "%.*s", (int)strcspn(s->nodes[j].addr[k], "/"),
					 s->nodes[j].addr[k]);
				scenario_node_mac(j, t->mac);
				t->has_mac = true;
			}
		}
	return 0;
}

/* Each NAT's ruleset and the sysctls its profile sets. */
static int plan_nat(struct lab_plan *p, int i)
{
	const struct lab_node *n = &p->s->nodes[i];
	char wan[32], text[16];
	struct nat_iface ifc = { .wan_if = IF_UPLINK_NAT, .wan_addr = wan, .lan_net = n->lan_net };
	struct nat_sysctl sc[4];
	struct plan_step *t;
	int ns;

	snprintf(wan, sizeof(wan), "%.*s", (int)strcspn(n->addr[0], "/"), n->addr[0]);
	if (!(t = step(p, PLAN_NFT, i)) || !(t->text = nat_ruleset_render(&n->profile, &ifc)))
		return -1;
	ns = nat_sysctls(&n->profile, sc);
	for (int k = 0; k < ns; k++) {
		snprintf(text, sizeof(text), "%u", sc[k].value);
		if (sysctl(p, i, sc[k].path, text, PLAN_PHASE_NAT, true))
			return -1;
	}
	return 0;
}

static int plan_wire(struct lab_plan *p)
{
	for (int i = 1; i < p->s->n; i++) {
		const struct lab_node *n = &p->s->nodes[i];
		struct plan_step *t;

		if (n->parent != 0)
			continue;
		if (!(t = step(p, PLAN_WIRE_PORT, 0)))
			return -1;
		t->peer = i;
		snprintf(t->dev, sizeof(t->dev), "%s", n->name);
		t->delay_ms = n->delay_ms;
		t->jitter_ms = n->jitter_ms;
		t->loss = n->loss;
		t->rate_mbit = n->rate_mbit;
		t->duplicate = n->duplicate;
	}
	return 0;
}

int plan_build(struct lab_plan *p, const struct scenario *s, const char *id, struct diag *d)
{
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->s = s;
	p->wire = !s->bridge;
	snprintf(p->id, sizeof(p->id), "%s", id);
	for (int oi = 0; oi < s->n; oi++)
		rc |= plan_node_ns(p, s->order[oi]);
	for (int oi = 1; oi < s->n; oi++)
		rc |= plan_node_links(p, s->order[oi]);
	rc |= plan_neighbours(p);
	for (int oi = 0; oi < s->n; oi++)
		if (s->nodes[s->order[oi]].kind == NODE_NAT)
			rc |= plan_nat(p, s->order[oi]);
	if (p->wire)
		rc |= plan_wire(p);
	/* capture = all: each NAT's both sides, by Debian's dumpcap in its namespace */
	for (int i = 1; i < s->n && s->capture_nats; i++) {
		struct plan_step *t;

		if (s->nodes[i].kind != NODE_NAT)
			continue;
		if (!(t = step(p, PLAN_SERVICE, i))) {
			rc = -1;
			break;
		}
		snprintf(t->value, sizeof(t->value), "capture");
	}
	for (int i = 1; i < s->n; i++) {
		struct plan_step *t;

		if (!s->nodes[i].turn)
			continue;
		if (!(t = step(p, PLAN_SERVICE, i))) {
			rc = -1;
			break;
		}
		snprintf(t->value, sizeof(t->value), "turn");
		snprintf(t->addr, sizeof(t->addr), "%.*s", (int)strcspn(s->nodes[i].addr[0], "/"), s->nodes[i].addr[0]);
	}
	if (rc) {
		plan_free(p);
		return diag_set(d, "out of memory");
	}
	return 0;
}

void plan_free(struct lab_plan *p)
{
	for (int k = 0; k < p->n; k++)
		free(p->steps[k].text);
	free(p->steps);
	p->steps = NULL;
	p->n = p->cap = 0;
}
