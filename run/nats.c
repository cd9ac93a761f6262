/* The lab's NATs as an attempt sees them: their watches, their entries forgotten
 * between attempts, the endpoint the internet saw a side's punch come from. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/diag.h"
#include "../netns/lab.h"
#include "../netns/netns.h"
#include "nats.h"
#include "record.h"

const char *addr_of(const struct lab_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)strcspn(n->addr[0], "/"), n->addr[0]);
	return buf;
}

/* The first NAT above a host, -1 for a host in the internet. */
int nat_above(const struct scenario *s, int host)
{
	return s->nodes[host].parent ? s->nodes[host].parent : -1;
}

/* Outermost node on the way from `node` to the internet. */
int outermost(const struct scenario *s, int node)
{
	while (s->nodes[node].parent)
		node = s->nodes[node].parent;
	return node;
}

struct ct_find {
	struct in_addr int_addr, remote;
	uint16_t int_port;
	uint8_t proto;
	struct ct_mapping found;
	int hit;
};

static int find_mapping(const struct ct_entry *e, void *arg)
{
	struct ct_find *f = arg;
	struct ct_mapping m;

	/* the last match: an entry made again within the attempt supersedes the first */
	if (e->proto != f->proto || !ct_entry_mapping(e, &m))
		return 0;
	if (m.int_addr.s_addr == f->int_addr.s_addr && m.int_port == f->int_port &&
	    (!f->remote.s_addr || m.remote_addr.s_addr == f->remote.s_addr)) {
		f->found = m;
		f->hit = 1;
	}
	return 0;
}

/* The endpoint the internet saw side `host`'s punch come from: follow its mapping
 * through every NAT above it. "" when a NAT holds none. Each NAT's external
 * port goes to ext (n_ext of them). */
void wire_endpoint(const struct scenario *s, const char *id, struct ct_watch *const *watch, int host,
			  uint16_t port, const char *peer_ep, uint8_t proto, char *out, size_t len,
			  int *ext, int *n_ext)
{
	struct sockaddr_in peer;
	struct in_addr addr;
	char buf[INET_ADDRSTRLEN];
	int node = host;

	memset(&peer, 0, sizeof(peer));
	if (peer_ep) {
		char ip[INET_ADDRSTRLEN];

		snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(peer_ep, ":"), peer_ep);
		inet_pton(AF_INET, ip, &peer.sin_addr);
	}
	inet_pton(AF_INET, addr_of(&s->nodes[host], buf, sizeof(buf)), &addr);
	out[0] = '\0';
	while (s->nodes[node].parent) {
		int nat = s->nodes[node].parent;
		struct ct_find f = { .int_addr = addr, .remote = peer.sin_addr, .int_port = port,
				     .proto = proto };

		if (watch[nat]) {
			ct_watch_each(watch[nat], find_mapping, &f);
		} else {
			/* no watch on this NAT (its socket could not be had): the dump,
			 * which walks the whole table (see natsim/conntrack.h) */
			char ns[128];
			struct diag d;
			int fd;

			lab_netns_name(ns, sizeof(ns), id, s->nodes[nat].name);
			fd = netns_open(ns);
			if (fd < 0)
				return;
			ct_dump(fd, find_mapping, &f, &d);
			close(fd);
		}
		if (!f.hit)
			return;
		addr = f.found.ext_addr;
		port = f.found.ext_port;
		if (*n_ext < RECORD_MAX_NATS)
			ext[(*n_ext)++] = port;
		node = nat;
	}
	snprintf(out, len, "%s:%u", inet_ntop(AF_INET, &addr, buf, sizeof(buf)), port);
}

double link_delay(const struct scenario *s, int host)
{
	return s->nodes[outermost(s, host)].delay_ms;
}

/* A sock_diag socket in namespace ns_fd; the thread comes back to where it was. */
static struct mnl_socket *diag_open(int ns_fd)
{
	struct mnl_socket *nl = NULL;
	int back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (back < 0)
		return NULL;
	if (!setns(ns_fd, CLONE_NEWNET)) {
		nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
		if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
			mnl_socket_close(nl);
			nl = NULL;
		}
		if (setns(back, CLONE_NEWNET) && nl) { /* not where it was: give up */
			mnl_socket_close(nl);
			nl = NULL;
		}
	}
	close(back);
	return nl;
}

/* How many TCP sockets of nl's namespace have a FIN not yet acknowledged
 * (FIN_WAIT1, CLOSING, LAST_ACK); -1 where it cannot tell. */
static int fins_unacked(struct mnl_socket *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	int n = 0, done = 0, len;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = AF_INET;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = (1u << TCP_FIN_WAIT1) | (1u << TCP_CLOSING) | (1u << TCP_LAST_ACK);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	while (!done && (len = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			n++;
		}
	return n;
}

/* Until every FIN the pair's hosts and the server sent was acknowledged, or
 * patience_ms: the last ACK of a close (the partner's, of the host's FIN) can
 * cross the host's NAT after the NAT's entry is in TIME_WAIT, and after the
 * round trip natlab run gives the close when the machine stalls. Forgotten before
 * it, the NAT answered that ACK with a RST, and the host's FIN, sent again, left
 * the NAT untranslated and was never answered: its socket stayed in FIN_WAIT1, and
 * every later attempt of the lab from the same port failed to connect
 * (EADDRNOTAVAIL: a matrix lab in 2 of 5 suites, 2026-12-03). */
void hosts_wait_acked(const struct scenario *s, const char *id, double patience_ms)
{
	const int who[3] = { s->run.pair[0], s->run.pair[1], s->run.server };
	struct timespec t;
	double until;

	clock_gettime(CLOCK_MONOTONIC, &t);
	until = t.tv_sec * 1e3 + t.tv_nsec / 1e6 + patience_ms;
	for (int k = 0; k < 3; k++) {
		struct mnl_socket *nl;
		char ns[128];
		int fd;

		if (who[k] <= 0 || who[k] >= s->n)
			continue;
		lab_netns_name(ns, sizeof(ns), id, s->nodes[who[k]].name);
		fd = netns_open(ns);
		nl = fd >= 0 ? diag_open(fd) : NULL;
		if (fd >= 0)
			close(fd);
		if (!nl)
			continue;
		while (fins_unacked(nl) > 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec * 1e3 + t.tv_nsec / 1e6 > until)
				break;
			usleep(1000);
		}
		mnl_socket_close(nl);
	}
}

/* Every attempt meets NATs with no entries: each forgets what the last attempt
 * made, entry by entry (a flush would walk the machine-wide table); where its
 * watch missed some, the whole flush after all. */
void flush_nats(const struct scenario *s, const char *id, struct ct_watch *const *watch)
{
	for (int i = 1; i < s->n; i++) {
		char ns[128];
		struct diag d;
		int fd;

		if (s->nodes[i].kind != NODE_NAT || (watch[i] && !ct_watch_forget(watch[i], &d)))
			continue;
		lab_netns_name(ns, sizeof(ns), id, s->nodes[i].name);
		fd = netns_open(ns);
		if (fd >= 0) {
			ct_flush(fd, &d);
			close(fd);
		}
	}
}

/* The entries the NATs picked up, since the forget at the attempt's start, from the
 * middle of a connection (the last attempt's last ACK, late on a busy machine,
 * crossing a NAT that had just forgotten its connection): deleted before the
 * attempt's punch, whose SYN on that tuple they would make invalid (and leave the
 * NAT untranslated). The number deleted. */
int forget_strays(const struct scenario *s, struct ct_watch *const *watch)
{
	int n = 0;

	for (int i = 1; i < s->n; i++) {
		struct diag d;
		int k;

		if (s->nodes[i].kind == NODE_NAT && watch[i] && (k = ct_watch_forget_strays(watch[i], &d)) > 0)
			n += k;
	}
	return n;
}

/* A watch on each NAT's conntrack, from before its first packet. */
void watch_nats(const struct scenario *s, const char *id, struct ct_watch **watch)
{
	for (int i = 0; i < s->n; i++) {
		char ns[128];
		struct diag d;
		int fd;

		watch[i] = NULL;
		if (s->nodes[i].kind != NODE_NAT)
			continue;
		lab_netns_name(ns, sizeof(ns), id, s->nodes[i].name);
		fd = netns_open(ns);
		if (fd >= 0) {
			watch[i] = ct_watch_open(fd, &d);
			close(fd);
		}
	}
}
