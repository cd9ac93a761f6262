#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

static int nl_fail(struct diag *d, const char *what, const char *name, int err)
{
	return diag_set(d, "%s %s: %s", what, name, nl_geterror(err));
}

struct nl_sock *rtnl_open(struct diag *d)
{
	struct nl_sock *s = nl_socket_alloc();
	int err;

	if (!s) {
		diag_set(d, "netlink: out of memory");
		return NULL;
	}
	err = nl_connect(s, NETLINK_ROUTE);
	if (err) {
		diag_set(d, "netlink: %s", nl_geterror(err));
		nl_socket_free(s);
		return NULL;
	}
	return s;
}

int link_set_up(struct nl_sock *s, int ifindex, struct diag *d)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int err;

	if (!l)
		return diag_set(d, "netlink: out of memory");
	/* RTM_NEWLINK without NLM_F_CREATE on an existing index changes that link */
	rtnl_link_set_ifindex(l, ifindex);
	rtnl_link_set_flags(l, IFF_UP);
	err = rtnl_link_add(s, l, 0);
	rtnl_link_put(l);
	return err ? nl_fail(d, "link up", "", err) : 0;
}

int link_running(struct nl_sock *s, int ifindex, struct diag *d)
{
	struct rtnl_link *l = NULL;
	int err = rtnl_link_get_kernel(s, ifindex, NULL, &l);
	bool running;

	if (err)
		return nl_fail(d, "link state", "", err);
	/* operational state up, not only "unknown" (which IFF_RUNNING also allows):
	 * the kernel has applied the carrier */
	running = (rtnl_link_get_flags(l) & IFF_RUNNING) && rtnl_link_get_operstate(l) == IF_OPER_UP;
	rtnl_link_put(l);
	return running;
}

int bridge_add(struct nl_sock *s, const char *name, int ifindex, struct diag *d)
{
	struct rtnl_link *l = rtnl_link_bridge_alloc();
	int err;

	if (!l)
		return diag_set(d, "netlink: out of memory");
	rtnl_link_set_name(l, name);
	rtnl_link_set_ifindex(l, ifindex);
	rtnl_link_set_flags(l, IFF_UP);
	err = rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	return err ? nl_fail(d, "bridge", name, err) : 0;
}

int veth_add(struct nl_sock *s, const char *name, int ifindex, int master, const char *peer,
	     int peer_ns_fd, int peer_ifindex, const unsigned char *peer_mac, struct diag *d)
{
	struct rtnl_link *l = rtnl_link_veth_alloc();
	struct rtnl_link *p;
	int err;

	if (!l)
		return diag_set(d, "netlink: out of memory");
	p = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, name);
	rtnl_link_set_ifindex(l, ifindex);
	rtnl_link_set_flags(l, IFF_UP);
	if (master > 0)
		rtnl_link_set_master(l, master);
	/* one queue each way, asked for: a veth given the default (one per CPU) is cut
	 * down to one after it exists, and each cut waits for an expedited RCU grace
	 * period (two per pair, 0.2-1 ms each here) */
	rtnl_link_set_num_tx_queues(l, 1);
	rtnl_link_set_num_rx_queues(l, 1);
	rtnl_link_set_num_tx_queues(p, 1);
	rtnl_link_set_num_rx_queues(p, 1);
	rtnl_link_set_name(p, peer);
	/* no IFF_UP here: opening the peer before its twin exists fails (ENOTCONN) */
	rtnl_link_set_ns_fd(p, peer_ns_fd);
	rtnl_link_set_ifindex(p, peer_ifindex);
	if (peer_mac) {
		struct nl_addr *mac = nl_addr_build(AF_LLC, peer_mac, 6);

		if (mac) {
			rtnl_link_set_addr(p, mac);
			nl_addr_put(mac);
		}
	}
	err = rtnl_link_add(s, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(p);
	rtnl_link_put(l);
	return err ? nl_fail(d, "veth", name, err) : 0;
}

int addr_add(struct nl_sock *s, int ifindex, const char *cidr, struct diag *d)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	int err;

	if (!a)
		return diag_set(d, "netlink: out of memory");
	err = nl_addr_parse(cidr, AF_INET, &local);
	if (!err) {
		rtnl_addr_set_ifindex(a, ifindex);
		err = rtnl_addr_set_local(a, local);
	}
	if (!err)
		err = rtnl_addr_add(s, a, NLM_F_EXCL);
	nl_addr_put(local);
	rtnl_addr_put(a);
	return err ? nl_fail(d, "address", cidr, err) : 0;
}

int route_blackhole_add(struct nl_sock *s, struct diag *d)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *dst = NULL;
	int err;

	if (!r)
		return diag_set(d, "netlink: out of memory");
	err = nl_addr_parse("0.0.0.0/0", AF_INET, &dst);
	if (!err) {
		rtnl_route_set_family(r, AF_INET);
		rtnl_route_set_dst(r, dst);
		rtnl_route_set_table(r, RT_TABLE_MAIN);
		rtnl_route_set_protocol(r, RTPROT_STATIC);
		rtnl_route_set_type(r, RTN_BLACKHOLE);
		err = rtnl_route_add(s, r, NLM_F_EXCL);
	}
	nl_addr_put(dst);
	rtnl_route_put(r);
	return err ? nl_fail(d, "blackhole route", "", err) : 0;
}

int route_add(struct nl_sock *s, int ifindex, const char *to, const char *gw, struct diag *d)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL, *via = NULL;
	int err;

	if (!r || !nh) {
		if (r)
			rtnl_route_put(r);
		if (nh)
			rtnl_route_nh_free(nh);
		return diag_set(d, "netlink: out of memory");
	}
	err = nl_addr_parse(strcmp(to, "default") ? to : "0.0.0.0/0", AF_INET, &dst);
	if (!err)
		err = nl_addr_parse(gw, AF_INET, &via);
	if (!err) {
		rtnl_route_set_family(r, AF_INET);
		rtnl_route_set_dst(r, dst);
		rtnl_route_set_table(r, RT_TABLE_MAIN);
		rtnl_route_set_protocol(r, RTPROT_STATIC);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_nh_set_gateway(nh, via);
		rtnl_route_add_nexthop(r, nh);
		nh = NULL;
		err = rtnl_route_add(s, r, NLM_F_EXCL);
	}
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(via);
	rtnl_route_put(r);
	return err ? nl_fail(d, "route via", gw, err) : 0;
}

int link_offloads_off(int sock, const char *ifname, struct diag *d)
{
	static const unsigned cmds[] = { ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct ethtool_value ev = { .cmd = cmds[i], .data = 0 };
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_data = (void *)&ev;
		if (ioctl(sock, SIOCETHTOOL, &ifr) && errno != EOPNOTSUPP)
			return diag_set(d, "ethtool %s: %s", ifname, strerror(errno));
	}
	return 0;
}

/* The GSO kinds a virtio_net_hdr cannot describe: a frame of one of them reached a
 * clean wire's packet socket as a TCP super-frame (a tunnel's, whose TCP inside a
 * VXLAN tunnel then stalled) or not at all (SCTP's; and a receive ring then stops
 * for good). Off on the node's uplink, the node segments them before the wire. */
static const char *const gso_not_plain[] = {
	"tx-gre-segmentation",	   "tx-gre-csum-segmentation",	   "tx-ipxip4-segmentation",
	"tx-ipxip6-segmentation",  "tx-udp_tnl-segmentation",	   "tx-udp_tnl-csum-segmentation",
	"tx-gso-partial",	   "tx-tunnel-remcsum-segmentation", "tx-sctp-segmentation",
	"tx-esp-segmentation",	   "tx-gso-list",
};

int link_gso_plain(int sock, const char *ifname, struct diag *d)
{
	/* the set's size follows the header, in its flexible data[] (a struct of the
	 * two is a GNU extension that clang, make fuzz's compiler, refuses) */
	struct ethtool_sset_info *set = calloc(1, sizeof(*set) + sizeof(set->data[0]));
	struct ethtool_gstrings *names = NULL;
	struct ethtool_sfeatures *sf = NULL;
	struct ifreq ifr;
	uint32_t n, blocks;
	int rc = -1;

	if (!set)
		return diag_set(d, "out of memory");
	set->cmd = ETHTOOL_GSSET_INFO;
	set->sset_mask = 1ULL << ETH_SS_FEATURES;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)set;
	if (ioctl(sock, SIOCETHTOOL, &ifr) || !set->sset_mask) {
		diag_set(d, "ethtool %s: the features' names: %s", ifname, strerror(errno));
		goto out;
	}
	n = set->data[0];
	blocks = (n + 31) / 32;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	sf = calloc(1, sizeof(*sf) + blocks * sizeof(sf->features[0]));
	if (!names || !sf) {
		diag_set(d, "out of memory");
		goto out;
	}
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_FEATURES;
	names->len = n;
	ifr.ifr_data = (void *)names;
	if (ioctl(sock, SIOCETHTOOL, &ifr)) {
		diag_set(d, "ethtool %s: the features' names: %s", ifname, strerror(errno));
		goto out;
	}
	sf->cmd = ETHTOOL_SFEATURES;
	sf->size = blocks;
	for (uint32_t b = 0; b < n; b++)
		for (size_t k = 0; k < sizeof(gso_not_plain) / sizeof(gso_not_plain[0]); k++)
			if (!strncmp((const char *)names->data + (size_t)b * ETH_GSTRING_LEN, gso_not_plain[k],
				     ETH_GSTRING_LEN))
				sf->features[b / 32].valid |= 1u << (b % 32); /* requested stays 0: off */
	ifr.ifr_data = (void *)sf;
	/* a positive answer (ETHTOOL_F_*) names features this device cannot change */
	if (ioctl(sock, SIOCETHTOOL, &ifr) < 0) {
		diag_set(d, "ethtool %s: GSO to TCP and UDP: %s", ifname, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(set);
	free(names);
	free(sf);
	return rc;
}

int neigh_add(struct nl_sock *s, int ifindex, const char *ip, const unsigned char mac[6],
	      struct diag *d)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *dst = NULL, *ll = nl_addr_build(AF_LLC, mac, 6);
	int err = -NLE_NOMEM;

	if (n && ll && !(err = nl_addr_parse(ip, AF_INET, &dst))) {
		rtnl_neigh_set_ifindex(n, ifindex);
		rtnl_neigh_set_dst(n, dst);
		rtnl_neigh_set_lladdr(n, ll);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
		err = rtnl_neigh_add(s, n, NLM_F_CREATE | NLM_F_REPLACE);
	}
	if (dst)
		nl_addr_put(dst);
	if (ll)
		nl_addr_put(ll);
	if (n)
		rtnl_neigh_put(n);
	return err ? nl_fail(d, "neighbour", ip, err) : 0;
}
