/* The rendezvous server: peers register, learn their observed endpoints, are
 * introduced and told when to start; it relays for the relay strategy.
 *
 * Built to face peers it does not trust (threat model: prober/PROTOCOL.md): an
 * attempt is known by its id and its secret together, so a stranger without the
 * secret can neither join nor watch one, nor move its UDP endpoint; nothing but a
 * TCP HELLO makes an attempt, so datagrams cannot fill the table; every
 * connection has a deadline for its next step, one source holds a bounded share
 * of the connections, and a full table makes room by closing the oldest
 * connection that has not registered. One epoll loop; the server never blocks
 * on a peer. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/timing.h"
#include "probe.h"
#include "protocol.h"
#include "server.h"

/* epoll tags for the two listening sockets; clients are tagged by index */
#define TAG_LISTEN UINT32_MAX
#define TAG_UDP (UINT32_MAX - 1)
#define TAG_STUN(i) (UINT32_MAX - 2 - (i))

static int parse_limit(const char *opt, const char *v, int max, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > max) {
		fprintf(stderr, "natlab-probe server: %s wants a whole number from 1 to %d, not \"%s\"\n",
			opt, max, v);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* above the peers' (10), below the wire's (20): a peer spinning out the last part
 * of its wait must not hold up the relay message another lab's dcutr is timing.
 * Above the wires it measured worse (dcutr's emit p95 0.61 and 0.68 ms against
 * 0.47 in the suite, 2026-12-01). Its holds are urgent (TIMING_URGENT_PRIO), as
 * a peer's last stretch. */
#define SERVER_RT_PRIO 15

int server_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "hello-timeout", required_argument, NULL, 'h' },
		{ "partner-timeout", required_argument, NULL, 'p' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "per-source", required_argument, NULL, 's' },
		{ "stun-port", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PROBE_PORT) };
	struct limits lim = { .hello_s = 5, .partner_s = 30, .idle_s = 30, .per_source = 64 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct server *s;
	int one = 1, o, rc = 1, stun_port = STUN_PORT;
	struct diag d;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			if (parse_limit("--hello-timeout", optarg, 3600, &lim.hello_s))
				return 2;
			break;
		case 'p':
			if (parse_limit("--partner-timeout", optarg, 3600, &lim.partner_s))
				return 2;
			break;
		case 'i':
			if (parse_limit("--idle-timeout", optarg, 3600, &lim.idle_s))
				return 2;
			break;
		case 's':
			if (parse_limit("--per-source", optarg, MAX_CLIENTS, &lim.per_source))
				return 2;
			break;
		case 'u':
			/* 0: no STUN; else this port and the next */
			if (!strcmp(optarg, "0"))
				stun_port = 0;
			else if (parse_limit("--stun-port", optarg, 65534, &stun_port))
				return 2;
			break;
		default: /* getopt_long said what was wrong */
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "natlab-probe server: one endpoint at most (ADDR:PORT)\n");
		return 2;
	}
	if (argc - optind == 1 && proto_endpoint(argv[optind], &addr)) {
		fprintf(stderr, "natlab-probe server: bad endpoint %s\n", argv[optind]);
		return 2;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return 1;
	s->lim = lim;
	s->max_clients = client_room();
	s->c = calloc((size_t)s->max_clients, sizeof(*s->c));
	s->a = calloc((size_t)s->max_clients, sizeof(*s->a));
	s->lfd = s->ufd = s->ep = -1;
	s->ep_addr = addr;
	if (!s->c || !s->a)
		goto out;
	for (int i = 0; i < s->max_clients; i++)
		s->c[i].fd = s->c[i].probe_fd = s->c[i].probe_aux = -1;
	timing_init(&s->tm);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* STUN to this socket is answered from the address it came to (no
	 * SO_REUSEADDR: another local user could bind beside it and read HELLOs) */
	setsockopt(s->ufd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (s->lfd < 0 || s->ufd < 0 || s->ep < 0 || bind(s->lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(s->lfd, 1024) || bind(s->ufd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "natlab-probe server: %s\n", strerror(errno));
		goto out;
	}
	ev.data.u32 = TAG_LISTEN;
	epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev);
	ev.data.u32 = TAG_UDP;
	epoll_ctl(s->ep, EPOLL_CTL_ADD, s->ufd, &ev);
	if (stun_port) {
		if (stuns_open(&s->stun, (uint16_t)stun_port, s->ufd, &addr, &d)) {
			fprintf(stderr, "natlab-probe server: %s (--stun-port 0: no STUN)\n", d.msg);
			goto out;
		}
		s->stun_on = true;
		for (int a = 0; a < s->stun.n_addr; a++)
			for (int p = 0; p < 2; p++)
			{
				if (s->stun.own[a][p]) {
					ev.data.u32 = TAG_STUN(a * 2 + p);
					epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stun.sock[a][p], &ev);
				}
				if (s->stun.lsock[a][p] >= 0) {
					ev.data.u32 = TAG_STUN(STUN_SOCKS + a * 2 + p);
					epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stun.lsock[a][p], &ev);
				}
			}
	}
	{
		char why[160];

		/* it relays dcutr's round trip: its wake-ups are in that measurement;
		 * refused, its peers are refused too and say so in their reports */
		(void)timing_realtime(SERVER_RT_PRIO, why, sizeof(why));
	}
	printf("ready\n");
	fflush(stdout);
	for (time_t swept = now_s();;) {
		struct epoll_event evs[64];
		/* a probe in flight is given up on to the 50 ms */
		int n = epoll_wait(s->ep, evs, 64, s->n_probes || s->n_udp_waits || s->n_idles ? 50 : 1000);

		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			uint32_t tag = evs[k].data.u32;

			if (tag == TAG_LISTEN)
				accept_clients(s, s->lfd);
			else if (tag == TAG_UDP)
				read_udp(s);
			else if (tag <= TAG_STUN(0) && tag > TAG_STUN(STUN_SOCKS))
				stuns_read(&s->stun, (int)(TAG_STUN(0) - tag));
			else if (tag <= TAG_STUN(STUN_SOCKS) && tag > TAG_STUN(2 * STUN_SOCKS)) {
				int l = (int)(TAG_STUN(STUN_SOCKS) - tag);

				accept_clients(s, s->stun.lsock[l / 2][l % 2]);
			}
			else if (tag >= TAG_PROBE(0) && tag < TAG_PROBE(s->max_clients))
				probe_event(s, (int)(tag - TAG_PROBE(0)));
			else if (s->c[tag].fd >= 0)
				read_client(s, (int)tag);
		}
		if (s->n_probes)
			probe_sweep(s);
		if (s->n_udp_waits)
			udp_waits_sweep(s);
		if (s->n_idles)
			idle_sweep(s);
		if (now_s() != swept)
			expire(s, swept = now_s());
	}
out:
	if (s->stun_on)
		stuns_close(&s->stun);
	if (s->ep >= 0)
		close(s->ep);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->ufd >= 0)
		close(s->ufd);
	free(s->c);
	free(s->a);
	free(s);
	return rc;
}
