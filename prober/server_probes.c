/* PROBE: natlab classify's tests that only the server side can run. Asked on a
 * connection that has not said HELLO, the server sends toward the address that
 * connection comes from, and says what came back within its wait (3 round
 * trips of that connection + 200 ms, a second at most):
 *   PROBE UDP PORT   one datagram to PORT
 *   PROBE SYN PORT   one SYN (a connect) to PORT
 *   PROBE SYNSENT    the server says PROBING Q; the asker sends a SYN to port Q,
 *                    which a listener here swallows unanswered (a socket filter
 *                    that drops all), so the asker's NAT holds an entry in
 *                    SYN_SENT; seen on a raw socket, that SYN tells the NAT's
 *                    outside endpoint, and a SYN from port Q goes to it: a
 *                    simultaneous open, as the NAT lets it through or not
 *   PROBE ALTSYN PORT  a SYN from the server's other address
 *                    (SYN and ALTSYN to port 0: to the port the asking
 *                    connection comes from, the NAT's filtering for TCP)
 *   PROBE IDLE T     the server says PROBED IDLE alive on this connection T s
 *                    on (1-600): it reaches the asker while its NAT keeps the
 *                    connection's mapping (no other traffic, no descriptor)
 *   PROBE SYNLIFE T  as SYNSENT, but the server answers the asker's SYN (seen
 *                    on the raw socket) T s after it came (1-300), with a
 *                    SYN-ACK from port Q whose own seq is the SYN's: the
 *                    NAT lets it through while it keeps the SYN's entry, and
 *                    the asker's socket (made for it, TCP_REPAIR) acknowledges
 *                    it: answered; else none, or rst
 *   PROBE OUTBOUND   the server says PROBING 0 and notes for its wait which
 *                    of its ports the asker's SYNs and datagrams reach (raw
 *                    sockets): PROBED OUTBOUND T:PORTS U:PORTS ("-": none)
 *   PROBED KIND none | rst | answered | icmp TYPE CODE
 *               (SYNSENT and SYNLIFE also: nosyn, the asker's SYN never came;
 *               error; SYNLIFE no icmp)
 * To the asker's own address only (its NAT's outside, when it is behind one),
 * one at a time, PROBES_PER_CONNECTION in all, PROBES_PER_SOURCE at once from
 * one address and PROBES_IN_FLIGHT server-wide: nobody can point the server at
 * a third party, nor take every probe for itself, and probes hold few descriptors.
 * SYNSENT and SYNLIFE need CAP_NET_RAW for their raw socket; without it, ERR
 * says so. SYNLIFE holds its two descriptors for its wait, up to 300 s: its own
 * caps (SYNLIFES_PER_SOURCE, SYNLIFES_IN_FLIGHT) leave the other probes theirs. */
#include <errno.h>
#include <time.h> /* before linux/errqueue.h, which wants struct timespec */
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/tcpseg.h"
#include "server.h"

/* "none" after this (and the sweep's 50 ms): the answer to a probe comes in a
 * round trip, and round trips on the internet stay well under a second; the
 * asker's own connection's round trip, three times and 200 ms more, where that
 * is less */
#define PROBE_WAIT_NS 1000000000LL
#define PROBE_WAIT_MIN_NS 200000000LL
/* SYNSENT: the asker's SYN is due within this after PROBING */
#define SYN_WAIT_NS 3000000000LL

void probe_end(struct server *s, int ci, const char *outcome)
{
	struct client *c = &s->c[ci];

	if (c->probe_fd < 0)
		return;
	close(c->probe_fd);
	if (c->probe_aux >= 0)
		close(c->probe_aux);
	c->probe_fd = c->probe_aux = -1;
	s->n_probes--;
	if (c->probe_kind == PROBE_SYNLIFE) {
		s->n_synlifes--;
		/* its long wait is over: the connection's next step is due as ever */
		c->deadline = now_s() + s->lim.hello_s;
	}
	if (outcome && c->probe_kind == PROBE_OUTBOUND && c->seen) {
		char list[2][PROBE_OUTBOUND_PORTS * 6 + 2];

		for (int p = 0; p < 2; p++) {
			size_t o = 0;

			list[p][0] = '\0';
			for (int k = 0; k < c->seen->n[p]; k++)
				o += (size_t)snprintf(list[p] + o, sizeof(list[p]) - o, "%s%u", k ? "," : "",
						      c->seen->port[p][k]);
		}
		say(s, ci, "PROBED OUTBOUND T:%s U:%s", list[0][0] ? list[0] : "-", list[1][0] ? list[1] : "-");
	} else if (outcome)
		say(s, ci, "PROBED %s %s", probe_kind_name[c->probe_kind], outcome);
	free(c->seen);
	c->seen = NULL;
}

void idle_sweep(struct server *s)
{
	int64_t now = timing_now(CLOCK_MONOTONIC);

	for (int i = 0; i < s->max_clients && s->n_idles; i++)
		if (s->c[i].fd >= 0 && s->c[i].idle_until && now >= s->c[i].idle_until) {
			s->c[i].idle_until = 0;
			s->n_idles--;
			s->c[i].deadline = now_s() + s->lim.hello_s;
			say(s, i, "PROBED IDLE alive");
		}
}

static int64_t probe_wait(const struct server *s, int ci);

/* SYNLIFE's second half, its wait over: the SYN-ACK, from the port and address
 * the asker's SYN went to, its seq the SYN's own (the asker's socket expects it),
 * on the raw socket; then the wait for the asker's ACK of it */
static void synlife_answer(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	struct tcphdr t;

	tcpseg_make(&t, &c->probe_self, &c->probe_peer, c->probe_isn, c->probe_isn + 1, TH_SYN | TH_ACK);
	if (sendto(c->probe_fd, &t, sizeof(t), 0, (const struct sockaddr *)&c->probe_peer, sizeof(c->probe_peer)) !=
	    (ssize_t)sizeof(t))
		return probe_end(s, ci, "error");
	c->probe_synack_sent = true;
	c->probe_until = timing_now(CLOCK_MONOTONIC) + probe_wait(s, ci);
}

void probe_sweep(struct server *s)
{
	int64_t now = timing_now(CLOCK_MONOTONIC);

	for (int i = 0; i < s->max_clients && s->n_probes; i++) {
		struct client *c = &s->c[i];

		if (c->fd < 0 || c->probe_fd < 0 || now < c->probe_until)
			continue;
		if (c->probe_kind == PROBE_SYNLIFE && c->probe_syn_seen && !c->probe_synack_sent)
			synlife_answer(s, i);
		else
			probe_end(s, i, (c->probe_kind == PROBE_SYNSENT || c->probe_kind == PROBE_SYNLIFE) &&
						!c->probe_syn_seen ? "nosyn" : "none");
	}
}

/* a TCP socket at addr:port (0: any port), sharing it (SO_REUSEPORT) with the
 * SYNSENT listener */
static int tcp_socket(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in self = { .sin_family = AF_INET, .sin_addr = addr, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
			setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) ||
			bind(fd, (struct sockaddr *)&self, sizeof(self)))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int64_t probe_wait(const struct server *s, int ci)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	int64_t w;

	if (getsockopt(s->c[ci].fd, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return PROBE_WAIT_NS;
	w = PROBE_WAIT_MIN_NS + 3000LL * ti.tcpi_rtt; /* tcpi_rtt is in us */
	return w < PROBE_WAIT_NS ? w : PROBE_WAIT_NS;
}

static void watch(struct server *s, int ci, int fd, bool out, int64_t wait_ns)
{
	struct client *c = &s->c[ci];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLERR | (out ? EPOLLOUT : 0), .data.u32 = TAG_PROBE(ci) };

	epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	if (c->probe_kind == PROBE_OUTBOUND && c->probe_aux >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_ADD, c->probe_aux, &ev);
	c->probe_fd = fd;
	c->probe_until = timing_now(CLOCK_MONOTONIC) + wait_ns;
	/* the connection lives while it probes */
	c->deadline = now_s() + (time_t)(wait_ns / 1000000000) + 1 + s->lim.hello_s;
}

/* the address the asker's connection came to: probes leave from it */
static struct in_addr local_addr(const struct server *s, int ci)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	return getsockname(s->c[ci].fd, (struct sockaddr *)&a, &l) ? s->ep_addr.sin_addr : a.sin_addr;
}

/* the server's other address than the one the asker talks to; false with one */
static bool other_addr(const struct server *s, int ci, struct in_addr *out)
{
	struct in_addr here = local_addr(s, ci);

	for (int a = 0; s->stun_on && a < s->stun.n_addr; a++)
		if (s->stun.addr[a].s_addr != here.s_addr) {
			*out = s->stun.addr[a];
			return true;
		}
	return false;
}

/* A raw socket of `proto` that keeps only what comes from `from` and, for a
 * `port` (not 0), goes to that TCP or UDP port (a socket filter on the IP
 * header's source, then the transport header's destination): it would see
 * everything the host gets, and SYNLIFE holds its socket for its whole wait */
static int raw_from(int proto, struct in_addr from, uint16_t port)
{
	struct sock_filter only[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12), /* the source address */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(from.s_addr), 0, 4),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),  /* the IP header's length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),   /* the destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { sizeof(only) / sizeof(only[0]), only };
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);

	if (!port) /* any port: from the source's match straight to keeping it */
		only[2] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 2, 0, 0);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* OUTBOUND: raw sockets see the asker's TCP segments and datagrams */
static const char *outbound_start(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	int tcp = raw_from(IPPROTO_TCP, c->from, 0);
	int udp = raw_from(IPPROTO_UDP, c->from, 0);

	c->seen = calloc(1, sizeof(*c->seen));
	if (tcp < 0 || udp < 0 || !c->seen) {
		if (tcp >= 0)
			close(tcp);
		if (udp >= 0)
			close(udp);
		free(c->seen);
		c->seen = NULL;
		return "PROBE OUTBOUND needs raw sockets (CAP_NET_RAW) here";
	}
	c->probe_aux = udp;
	watch(s, ci, tcp, false, probe_wait(s, ci));
	say(s, ci, "PROBING 0");
	return NULL;
}

/* OUTBOUND: the asker's SYNs and datagrams, by the port they reached */
static void outbound_seen(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	unsigned char pkt[64];
	ssize_t n;

	for (int p = 0; p < 2; p++)
		for (int k = 0; k < 64 && (n = recv(p ? c->probe_aux : c->probe_fd, pkt, sizeof(pkt), MSG_DONTWAIT)) >= 20;
		     k++) {
			const struct iphdr *ip = (const void *)pkt;
			size_t hl = ip->ihl * 4u;
			uint16_t port;
			int j;

			/* the destination port is the transport header's bytes 2-3, TCP and UDP alike */
			if ((size_t)n < hl + 14 || ip->saddr != c->from.s_addr)
				continue;
			if (!p && (pkt[hl + 13] & 0x12) != 0x02) /* a SYN, not a SYN-ACK */
				continue;
			port = (uint16_t)(pkt[hl + 2] << 8 | pkt[hl + 3]);
			for (j = 0; j < c->seen->n[p] && c->seen->port[p][j] != port; j++)
				;
			if (j == c->seen->n[p] && j < PROBE_OUTBOUND_PORTS)
				c->seen->port[p][c->seen->n[p]++] = port;
		}
}

/* Does a SYNSENT of another asker's hold a listener at addr:port? Then the port
 * is ours already: the new listener joins its group (SO_REUSEPORT), both drop
 * every SYN, and each raw socket sees its own asker's. */
static bool synsent_listener_at(const struct server *s, struct in_addr addr, uint16_t port)
{
	for (int i = 0; i < s->max_clients; i++) {
		const struct client *o = &s->c[i];

		if (o->fd >= 0 && o->probe_fd >= 0 && o->probe_kind == PROBE_SYNSENT && o->probe_aux >= 0 &&
		    o->probe_port == port && local_addr(s, i).s_addr == addr.s_addr)
			return true;
	}
	return false;
}

/* SYNSENT's first half: a listener that answers nothing (at `port`, or any), a
 * raw socket to see the asker's SYN come to it */
static const char *synsent_start(struct server *s, int ci, uint16_t port)
{
	struct client *c = &s->c[ci];
	struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { 1, &drop_all };
	struct sockaddr_in at;
	socklen_t len = sizeof(at);
	int lst, raw;

	/* a port the asker names must be free: a listener of another program
	 * there (with SO_REUSEPORT) would otherwise share its SYNs with ours */
	if (port && !synsent_listener_at(s, local_addr(s, ci), port)) {
		struct sockaddr_in at_port = { .sin_family = AF_INET, .sin_addr = local_addr(s, ci), .sin_port = htons(port) };
		int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* SO_REUSEADDR: a TIME_WAIT of an earlier probe's is no listener */
		bool taken = probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) ||
			     bind(probe, (struct sockaddr *)&at_port, sizeof(at_port));

		if (probe >= 0)
			close(probe);
		if (taken)
			return "that port is taken here";
	}
	lst = tcp_socket(local_addr(s, ci), port);
	if (lst < 0 || setsockopt(lst, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) || listen(lst, 1) ||
	    getsockname(lst, (struct sockaddr *)&at, &len)) {
		if (lst >= 0)
			close(lst);
		return port ? "that port is taken here" : "no listener for the PROBE";
	}
	raw = raw_from(IPPROTO_TCP, c->from, ntohs(at.sin_port));
	if (raw < 0) {
		close(lst);
		return c->probe_kind == PROBE_SYNLIFE ? "PROBE SYNLIFE needs a raw socket (CAP_NET_RAW) here"
						      : "PROBE SYNSENT needs a raw socket (CAP_NET_RAW) here";
	}
	c->probe_aux = lst;
	c->probe_port = ntohs(at.sin_port);
	c->probe_syn_seen = false;
	watch(s, ci, raw, false, SYN_WAIT_NS);
	say(s, ci, "PROBING %u", c->probe_port);
	return NULL;
}

void probe_start(struct server *s, int ci, const struct msg *m)
{
	struct client *c = &s->c[ci];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = c->from, .sin_port = htons(m->port) };
	const char *why = NULL;
	int fd = -1;

	if (c->probe_fd >= 0 || c->idle_until)
		return refuse(s, ci, "one PROBE at a time");
	/* IDLE sends nothing anywhere and holds no descriptor: only the connection's own cap */
	if (m->probe == PROBE_IDLE && c->probes < PROBES_PER_CONNECTION) {
		c->probes++;
		c->probe_kind = PROBE_IDLE;
		c->idle_until = timing_now(CLOCK_MONOTONIC) + (int64_t)m->seconds * 1000000000LL;
		c->deadline = now_s() + (time_t)m->seconds + 1 + s->lim.hello_s;
		s->n_idles++;
		return;
	}
	{
		bool long_one = m->probe == PROBE_SYNLIFE;

		if (c->probes >= PROBES_PER_CONNECTION ||
		    (long_one ? s->n_synlifes >= SYNLIFES_IN_FLIGHT : s->n_probes - s->n_synlifes >= PROBES_IN_FLIGHT))
			return refuse(s, ci, "no more PROBEs");
		for (int i = 0, same = 0; i < s->max_clients; i++)
			if (s->c[i].fd >= 0 && s->c[i].probe_fd >= 0 && s->c[i].from.s_addr == c->from.s_addr &&
			    (s->c[i].probe_kind == PROBE_SYNLIFE) == long_one &&
			    ++same >= (long_one ? SYNLIFES_PER_SOURCE : PROBES_PER_SOURCE))
				return refuse(s, ci, "no more PROBEs from this address at once");
	}
	c->probe_kind = m->probe;
	if (!m->port && (m->probe == PROBE_SYN || m->probe == PROBE_ALTSYN)) {
		struct sockaddr_in peer;
		socklen_t l = sizeof(peer);

		if (getpeername(c->fd, (struct sockaddr *)&peer, &l))
			return refuse(s, ci, "the connection has no peer");
		to.sin_port = peer.sin_port;
	}
	if (m->probe == PROBE_SYNSENT)
		why = synsent_start(s, ci, m->port);
	else if (m->probe == PROBE_SYNLIFE) {
		c->probe_seconds = m->seconds;
		c->probe_synack_sent = false;
		why = synsent_start(s, ci, 0);
		/* the connection waits with it: no HELLO is due meanwhile */
		if (!why)
			c->deadline = now_s() + (time_t)m->seconds + 5 + s->lim.hello_s;
	}
	else if (m->probe == PROBE_OUTBOUND)
		why = outbound_start(s, ci);
	else {
		struct sockaddr_in self = { .sin_family = AF_INET, .sin_addr = local_addr(s, ci) };
		int one = 1;

		if (m->probe == PROBE_ALTSYN && !other_addr(s, ci, &self.sin_addr))
			return refuse(s, ci, "PROBE ALTSYN: this server has one address");
		/* from the address the asker talks to (ALTSYN: the other); ICMP errors to
		 * the error queue, even in SYN_SENT, where TCP would otherwise wait them out */
		self.sin_port = 0;
		fd = m->probe == PROBE_UDP ? socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
					   : tcp_socket(self.sin_addr, 0);
		if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) ||
		    (m->probe == PROBE_UDP && bind(fd, (struct sockaddr *)&self, sizeof(self))) ||
		    (connect(fd, (struct sockaddr *)&to, sizeof(to)) && errno != EINPROGRESS) ||
		    (m->probe == PROBE_UDP && send(fd, "natlab probe\n", 13, MSG_NOSIGNAL) < 0)) {
			if (fd >= 0)
				close(fd);
			why = "the PROBE could not be sent";
		} else
			watch(s, ci, fd, m->probe != PROBE_UDP, probe_wait(s, ci));
	}
	if (why)
		return refuse(s, ci, why);
	c->probes++;
	s->n_probes++;
	s->n_synlifes += m->probe == PROBE_SYNLIFE;
}

/* an ICMP error in the socket's error queue: "icmp TYPE CODE" into out */
static bool icmp_error(int fd, char *out, size_t len)
{
	char ctl[512], data[64];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };

	if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) {
			const struct sock_extended_err *ee = (const void *)CMSG_DATA(c);

			if (ee->ee_origin != SO_EE_ORIGIN_ICMP)
				continue;
			snprintf(out, len, "icmp %u %u", ee->ee_type, ee->ee_code);
			return true;
		}
	return false;
}

/* SYNSENT's second half: the asker's SYN to the listener's port, seen on the raw
 * socket, and the server's own SYN from that port to where it came from */
static void synsent_seen(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	/* a socket filter for a TCP socket (it sees the TCP header first): a segment
	 * with SYN and not ACK is dropped, anything else kept */
	struct sock_filter bare_syn[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),    /* the flags */
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12), /* SYN | ACK */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	struct sock_fprog no_bare_syn = { sizeof(bare_syn) / sizeof(bare_syn[0]), bare_syn };
	unsigned char pkt[128];
	ssize_t n;

	/* a bounded batch: the raw socket sees every segment of the asker's to its port */
	for (int k = 0; k < 64 && (n = recv(c->probe_fd, pkt, sizeof(pkt), MSG_DONTWAIT)) >= 20; k++) {
		const struct iphdr *ip = (const void *)pkt;
		const struct tcphdr *tcp = (const void *)(pkt + ip->ihl * 4);
		struct sockaddr_in from = { .sin_family = AF_INET };
		int fd;

		if ((size_t)n < ip->ihl * 4u + sizeof(*tcp) || ip->saddr != c->from.s_addr ||
		    ntohs(tcp->dest) != c->probe_port || !tcp->syn || tcp->ack)
			continue;
		from.sin_addr.s_addr = ip->saddr;
		from.sin_port = tcp->source;
		/* from the address and port the SYN went to; deaf to that SYN's
		 * retransmission, which would otherwise meet this socket in SYN_SENT
		 * and open the connection whatever the NAT did with our SYN */
		fd = tcp_socket((struct in_addr){ ip->daddr }, c->probe_port);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &no_bare_syn, sizeof(no_bare_syn)) ||
		    (connect(fd, (struct sockaddr *)&from, sizeof(from)) && errno != EINPROGRESS)) {
			if (fd >= 0)
				close(fd);
			return probe_end(s, ci, "error");
		}
		close(c->probe_fd);
		c->probe_syn_seen = true;
		watch(s, ci, fd, true, probe_wait(s, ci));
		return;
	}
}

/* SYNLIFE's raw socket: the asker's bare SYN to the listener's port (its seq,
 * where it came from and went), then, once the SYN-ACK has gone, the asker's
 * answer to it: an ACK of it (answered) or a RST. A bounded batch, as above. */
static void synlife_seen(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	struct sockaddr_in self_addr;
	unsigned char pkt[128];
	ssize_t n;

	for (int k = 0; k < 64 && (n = recv(c->probe_fd, pkt, sizeof(pkt), MSG_DONTWAIT)) >= 20; k++) {
		const struct iphdr *ip = (const void *)pkt;
		const struct tcphdr *tcp = (const void *)(pkt + ip->ihl * 4);

		if ((size_t)n < ip->ihl * 4u + sizeof(*tcp) || ip->saddr != c->from.s_addr ||
		    ntohs(tcp->dest) != c->probe_port)
			continue;
		if (!c->probe_syn_seen && tcp->syn && !tcp->ack) {
			c->probe_isn = ntohl(tcp->seq);
			c->probe_peer = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = ip->saddr,
							      .sin_port = tcp->source };
			c->probe_self = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = ip->daddr,
							      .sin_port = htons(c->probe_port) };
			/* the SYN-ACK leaves from the address the SYN came to */
			self_addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = ip->daddr };
			if (bind(c->probe_fd, (const struct sockaddr *)&self_addr, sizeof(self_addr)))
				return probe_end(s, ci, "error");
			c->probe_syn_seen = true;
			c->probe_until = timing_now(CLOCK_MONOTONIC) + (int64_t)c->probe_seconds * 1000000000LL;
			continue;
		}
		if (!c->probe_synack_sent || tcp->source != c->probe_peer.sin_port)
			continue;
		if (tcp->rst)
			return probe_end(s, ci, "rst");
		if (tcp->ack && !tcp->syn && ntohl(tcp->ack_seq) == c->probe_isn + 1)
			return probe_end(s, ci, "answered");
	}
}

void probe_event(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	char outcome[32], buf[64];
	int err = 0;
	socklen_t l = sizeof(err);

	if (c->fd < 0 || c->probe_fd < 0)
		return;
	if (c->probe_kind == PROBE_SYNSENT && !c->probe_syn_seen)
		return synsent_seen(s, ci);
	if (c->probe_kind == PROBE_SYNLIFE)
		return synlife_seen(s, ci);
	if (c->probe_kind == PROBE_OUTBOUND)
		return outbound_seen(s, ci);
	if (icmp_error(c->probe_fd, outcome, sizeof(outcome)))
		return probe_end(s, ci, outcome);
	if (c->probe_kind == PROBE_UDP) {
		/* an answer to a datagram sent where no mapping was */
		if (recv(c->probe_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			probe_end(s, ci, "answered");
		return;
	}
	err = 0;
	l = sizeof(err);
	getsockopt(c->probe_fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err == 0)
		probe_end(s, ci, "answered");
	else if (err == ECONNREFUSED)
		probe_end(s, ci, "rst");
	/* else (a timeout's ETIMEDOUT comes later than the sweep): wait */
}
