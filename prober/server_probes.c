/* PROBE: natlab classify's tests that only the server side can run. Asked on a
 * connection that has not said HELLO, the server sends one datagram (UDP) or
 * one SYN (SYN) from its own address to the port named, on the address the
 * connection came from, and says what came back within a second:
 *   PROBED UDP|SYN none | rst | answered | icmp TYPE CODE
 * To the asker's own address only (its NAT's outside, when it is behind one),
 * one at a time, PROBES_PER_CONNECTION in all, PROBES_IN_FLIGHT server-wide:
 * nobody can point the server at a third party, and probes hold few descriptors. */
#include <errno.h>
#include <time.h> /* before linux/errqueue.h, which wants struct timespec */
#include <linux/errqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

#define PROBES_PER_CONNECTION 16
#define PROBES_IN_FLIGHT 64
/* "none" after this (and the sweep's 50 ms): the answer to a probe comes in a
 * round trip, and round trips on the internet stay well under a second */
#define PROBE_WAIT_NS 1000000000LL

void probe_end(struct server *s, int ci, const char *outcome)
{
	struct client *c = &s->c[ci];

	if (c->probe_fd < 0)
		return;
	close(c->probe_fd);
	c->probe_fd = -1;
	s->n_probes--;
	if (outcome)
		say(s, ci, "PROBED %s %s", c->probe_udp ? "UDP" : "SYN", outcome);
}

void probe_sweep(struct server *s)
{
	int64_t now = timing_now(CLOCK_MONOTONIC);

	for (int i = 0; i < s->max_clients && s->n_probes; i++)
		if (s->c[i].fd >= 0 && s->c[i].probe_fd >= 0 && now >= s->c[i].probe_until)
			probe_end(s, i, "none");
}

void probe_start(struct server *s, int ci, const struct msg *m)
{
	struct client *c = &s->c[ci];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = c->from, .sin_port = htons(m->port) };
	struct sockaddr_in self = s->ep_addr;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLERR, .data.u32 = TAG_PROBE(ci) };
	int one = 1, fd;

	if (c->probe_fd >= 0)
		return refuse(s, ci, "one PROBE at a time");
	if (c->probes >= PROBES_PER_CONNECTION || s->n_probes >= PROBES_IN_FLIGHT)
		return refuse(s, ci, "no more PROBEs");
	fd = socket(AF_INET, (m->probe_udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return refuse(s, ci, "no socket for the PROBE");
	/* from the address the asker talks to; ICMP errors to the error queue, even
	 * in SYN_SENT, where TCP would otherwise wait them out */
	self.sin_port = 0;
	if (setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) || bind(fd, (struct sockaddr *)&self, sizeof(self)) ||
	    (connect(fd, (struct sockaddr *)&to, sizeof(to)) && errno != EINPROGRESS) ||
	    (m->probe_udp && send(fd, "natlab probe\n", 13, MSG_NOSIGNAL) < 0)) {
		close(fd);
		return refuse(s, ci, "the PROBE could not be sent");
	}
	if (!m->probe_udp)
		ev.events |= EPOLLOUT;
	epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	c->probe_fd = fd;
	c->probe_udp = m->probe_udp;
	c->probe_until = timing_now(CLOCK_MONOTONIC) + PROBE_WAIT_NS;
	c->probes++;
	s->n_probes++;
	/* the connection lives while it probes */
	c->deadline = now_s() + 2 + s->lim.hello_s;
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

void probe_event(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	char outcome[32], buf[64];
	int err = 0;
	socklen_t l = sizeof(err);

	if (c->fd < 0 || c->probe_fd < 0)
		return;
	if (icmp_error(c->probe_fd, outcome, sizeof(outcome)))
		return probe_end(s, ci, outcome);
	if (c->probe_udp) {
		/* an answer to a datagram sent where no mapping was */
		if (recv(c->probe_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			probe_end(s, ci, "answered");
		return;
	}
	getsockopt(c->probe_fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err == 0)
		probe_end(s, ci, "answered");
	else if (err == ECONNREFUSED)
		probe_end(s, ci, "rst");
	/* else (a timeout's ETIMEDOUT comes later than the sweep): wait */
}
