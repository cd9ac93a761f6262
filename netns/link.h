/* Links, addresses and routes over rtnetlink (libnl-3), one socket per namespace. */
#ifndef NATLAB_LINK_H
#define NATLAB_LINK_H

#include <netlink/netlink.h>

#include "../common/diag.h"

/* A route socket bound to the calling thread's current namespace. */
struct nl_sock *rtnl_open(struct diag *d);
int link_set_up(struct nl_sock *s, int ifindex, struct diag *d);
/* 1 when the link is running, its operational state up, 0 when not yet, -1. */
int link_running(struct nl_sock *s, int ifindex, struct diag *d);
int bridge_add(struct nl_sock *s, const char *name, int ifindex, struct diag *d);
/* A veth pair: `name` lands in s's namespace (enslaved to `master` if > 0),
 * `peer` in the namespace of peer_ns_fd with index peer_ifindex. Only `name` comes up. */
int veth_add(struct nl_sock *s, const char *name, int ifindex, int master, const char *peer,
	     int peer_ns_fd, int peer_ifindex, const unsigned char *peer_mac, struct diag *d);
/* A permanent neighbour (ARP) entry: ip is at mac on ifindex. */
int neigh_add(struct nl_sock *s, int ifindex, const char *ip, const unsigned char mac[6],
	      struct diag *d);
int addr_add(struct nl_sock *s, int ifindex, const char *cidr, struct diag *d);
/* Turns off tx checksum offload, TSO, GSO and GRO on ifname (ethtool ioctls on sock,
 * a socket in the link's namespace): frames that AF_PACKET hands the wire must be
 * complete and no larger than the MTU (docs/scenarios.md, where offloads stay on). */
int link_offloads_off(int sock, const char *ifname, struct diag *d);
int link_gso_plain(int sock, const char *ifname, struct diag *d);
/* A default route that drops what it takes without a word, as the internet does
 * with a packet to an address no one routes. */
int route_blackhole_add(struct nl_sock *s, struct diag *d);
/* dst: a CIDR, or "default" */
int route_add(struct nl_sock *s, int ifindex, const char *dst, const char *gw, struct diag *d);

#endif
