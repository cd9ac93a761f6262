/* The address plan: each node's addresses, gateway and inside network; MACs. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

void scenario_node_mac(int node, unsigned char mac[6])
{
	const unsigned char m[6] = { 0x02, 0x4e, 0x4c, 0x00, (unsigned char)(node >> 8),
				     (unsigned char)node };

	memcpy(mac, m, 6);
}

static void fmt_addr(char *buf, size_t len, uint32_t a, int prefix)
{
	snprintf(buf, len, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, prefix);
}

/* Addresses, in order: the internet's hosts 198.18.J.I/15 (I-th host, J-th
 * address), its NATs 198.19.0.0/15 from .1 on; the k-th NAT's inside 10.0.k.0/24
 * (a carrier NAT's, with NATs behind it: 100.64.k.0/24, RFC 6598), past k = 255 on
 * into the next second octet; a NAT with more than 250 nodes behind it gets a
 * /16 of its own (10.128.0.0/16 on, 100.96.0.0/16 on). Its .1 is the NAT, the
 * nodes behind it count from .2. */
void plan_addresses(struct scenario *s)
{
	int k = 0, n_inet_hosts = 0, n_top_nats = 0, n_nats = 0, n_big[2] = { 0, 0 };
	static const uint32_t small_base[2] = { 10u << 24, (100u << 24) | (64u << 16) };
	static const uint32_t big_base[2] = { (10u << 24) | (128u << 16), (100u << 24) | (96u << 16) };
	int child_no[LAB_MAX_NODES] = { 0 };

	/* parents before children: by depth, then file order */
	for (int depth = 0; k < s->n; depth++)
		for (int i = 0; i < s->n; i++)
			if (s->nodes[i].depth == depth)
				s->order[k++] = i;
	for (int i = 1; i < s->n; i++)
		s->nodes[s->nodes[i].parent].n_children++;
	for (int i = 1; i < s->n; i++) {
		struct lab_node *n = &s->nodes[i];
		int nested = 0;
		uint32_t net;

		if (n->kind != NODE_NAT)
			continue;
		n_nats++;
		for (int j = 1; j < s->n; j++)
			if (s->nodes[j].parent == i && s->nodes[j].kind == NODE_NAT)
				nested = 1;
		if (n->n_children > LAB_SMALL_LAN) {
			n->lan_prefix = 16;
			net = big_base[nested] + ((uint32_t)n_big[nested]++ << 16);
		} else {
			n->lan_prefix = 24;
			net = small_base[nested] + ((uint32_t)n_nats << 8);
		}
		n->lan_base = net;
		fmt_addr(n->lan_net, sizeof(n->lan_net), net, n->lan_prefix);
		fmt_addr(n->lan_addr, sizeof(n->lan_addr), net + 1, n->lan_prefix);
	}
	for (int oi = 1; oi < s->n; oi++) {
		int i = s->order[oi];
		struct lab_node *n = &s->nodes[i];
		struct lab_node *p = &s->nodes[n->parent];

		if (n->parent == 0) {
			if (n->kind == NODE_NAT) {
				fmt_addr(n->addr[0], sizeof(n->addr[0]), (198u << 24) | (19u << 16) | (uint32_t)++n_top_nats,
					 15);
				n->n_addr = 1;
			} else {
				n_inet_hosts++;
				for (unsigned j = 0; j < n->addresses; j++)
					snprintf(n->addr[j], sizeof(n->addr[0]), "198.18.%u.%d/15", j,
						 n_inet_hosts);
				n->n_addr = (int)n->addresses;
			}
			continue;
		}
		fmt_addr(n->addr[0], sizeof(n->addr[0]), p->lan_base + 2 + (uint32_t)child_no[n->parent]++,
			 p->lan_prefix);
		n->n_addr = 1;
		fmt_addr(n->gw, sizeof(n->gw), p->lan_base + 1, 32);
		n->gw[strcspn(n->gw, "/")] = '\0';
	}
}

int check_addresses(const struct scenario *s, struct diag *d)
{
	int n_top = 0, n_host = 0, n_nat = 0, n_big[2] = { 0, 0 };

	for (int i = 1; i < s->n; i++) {
		const struct lab_node *n = &s->nodes[i];

		n_nat += n->kind == NODE_NAT;
		n_top += n->parent == 0 && n->kind == NODE_NAT;
		n_host += n->parent == 0 && n->kind == NODE_HOST;
		n_big[n->lan_base >> 24 == 100] += n->kind == NODE_NAT && n->lan_prefix == 16;
	}
	/* what the address plan above has room for */
	if (n_host > 250)
		return diag_set(d, "%s: more than 250 hosts in the internet", s->path);
	if (n_big[0] > 64 || n_big[1] > 32 || n_nat > 8000)
		return diag_set(d, "%s: too many NATs", s->path);
	(void)n_top;
	return 0;
}
