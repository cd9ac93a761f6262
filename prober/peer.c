/* The peer: registers with the rendezvous server, waits for the start time, then
 * punches (so, so-listen, retry, udp) or relays; prints one JSON line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/strategy.h"
#include "../common/timing.h"
#include "probe.h"
#include "protocol.h"

/* below the wire's: a peer's packets wait on the wire */
#define PEER_RT_PRIO 10

struct peer {
	struct sockaddr_in server;
	const char *attempt, *strategy, *secret;
	int side;
	int64_t offset_ns, clock_offset_ns;
	double deadline_s;
	int rv, udp;
	char rbuf[PROTO_LINE_MAX];
	size_t rlen;
	int64_t rstamp; /* real time the kernel received what rbuf holds last */
	uint16_t port, udp_port;
	struct msg seen, go;
	/* what happened */
	const char *outcome;
	int err;
	double connect_ms;
	unsigned syn_retrans, tries;
	bool nonce_ok;
	double start_real;
	double relay_rtt_ms; /* dcutr: the round trip it measured through the relay */
	int low_ttl;         /* lowttl: a TTL that passes this side's NATs and no more */
	/* when the first SYN (or datagram) was meant to leave and when it did, real
	 * time in ns; 0 where there is no schedule */
	int64_t syn_sched, syn_sent;
	struct timing tm;
	bool realtime;
};

/* The first send of a scheduled strategy: the time it really left. */
static void mark_sent(struct peer *p)
{
	if (!p->syn_sent)
		p->syn_sent = timing_now(CLOCK_REALTIME);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int reuse_socket(int type, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

/* One line from fd into buf, waiting until `until` (monotonic); 1, 0 on timeout, -1.
 * *stamp (if given) is when the kernel received the read that brought it. */
static int read_line(int fd, char *buf, size_t *len, size_t cap, char *line, double until,
		     int64_t *stamp)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *len);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = until - mono();
		ssize_t n;

		if (nl) {
			size_t ll = (size_t)(nl - buf);

			memcpy(line, buf, ll);
			line[ll] = '\0';
			memmove(buf, nl + 1, *len - ll - 1);
			*len -= ll + 1;
			return 1;
		}
		if (*len == cap || left <= 0)
			return *len == cap ? -1 : 0;
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = timing_recv(fd, buf + *len, cap - *len, 0, stamp);
		if (n <= 0)
			return -1;
		*len += (size_t)n;
	}
}

static int rendezvous(struct peer *p)
{
	char line[PROTO_LINE_MAX];
	const char *why;
	double until = mono() + 10, next_udp = 0;
	struct timeval tv = { .tv_sec = 5 };

	p->rv = reuse_socket(SOCK_STREAM, 0);
	if (p->rv < 0)
		return -1;
	setsockopt(p->rv, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* relay round trips are measured on this connection: no Nagle wait in them */
	setsockopt(p->rv, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	/* dcutr acts on when a relay message arrived, not when this process woke */
	setsockopt(p->rv, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int));
	if (connect(p->rv, (struct sockaddr *)&p->server, sizeof(p->server)))
		return -1;
	p->port = local_port(p->rv);
	if (strategy_by_name(p->strategy)->udp_socket) {
		p->udp = reuse_socket(SOCK_DGRAM, 0);
		if (p->udp < 0)
			return -1;
		p->udp_port = local_port(p->udp);
	}
	dprintf(p->rv, "HELLO %s %d %s %s\n", p->attempt, p->side, p->strategy, p->secret);
	for (;;) {
		int r;

		if (p->udp >= 0 && mono() >= next_udp) {
			char hello[PROTO_LINE_MAX];
			int n = snprintf(hello, sizeof(hello), "UDPHELLO %s %d %s", p->attempt, p->side,
					 p->secret);

			sendto(p->udp, hello, (size_t)n, 0, (struct sockaddr *)&p->server, sizeof(p->server));
			next_udp = mono() + 0.1;
		}
		r = read_line(p->rv, p->rbuf, &p->rlen, sizeof(p->rbuf), line,
			      p->udp >= 0 ? (next_udp < until ? next_udp : until) : until, &p->rstamp);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (mono() >= until)
				return -1;
			continue;
		}
		struct msg m;

		if (proto_parse(line, &m, &why) || m.type == MSG_ERR) {
			fprintf(stderr, "natlab-probe peer: server said \"%s\"\n", line);
			return -1;
		}
		if (m.type == MSG_SEEN)
			p->seen = m;
		else if (m.type == MSG_GO) {
			p->go = m;
			return 0;
		}
	}
}

static void wait_start(struct peer *p)
{
	/* this host's clock reads real time + clock_offset: it starts when it shows start */
	int64_t t = (int64_t)p->go.start_ns + p->offset_ns - p->clock_offset_ns;

	/* early wake and a short spin: a plain sleep comes back 40-200 us late */
	timing_sleep_until(&p->tm, CLOCK_REALTIME, t);
	p->syn_sched = t;
	p->start_real = (double)timing_now(CLOCK_REALTIME) / 1e9;
}

static unsigned total_retrans(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return 0;
	return ti.tcpi_total_retrans;
}

/* Both sides show their nonce on the new connection: the partner, not a stranger. */
static bool exchange_nonce(struct peer *p, int fd)
{
	char buf[PROTO_LINE_MAX], line[PROTO_LINE_MAX], want[64];
	size_t len = 0;
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	dprintf(fd, "NONCE %s\n", p->go.nonce);
	snprintf(want, sizeof(want), "NONCE %s", p->go.peer_nonce);
	return read_line(fd, buf, &len, sizeof(buf), line, mono() + 3, NULL) == 1 && !strcmp(line, want);
}

static void punch_tcp(struct peer *p)
{
	double start = mono(), until = start + p->deadline_s;
	const struct strategy *st = strategy_by_name(p->strategy);
	bool listen_too = st->listens;
	bool retry = st->retries;
	int lfd = -1, conn = -1;

	if (listen_too && (lfd = reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port)) >= 0)
		listen(lfd, 4);
	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	while (conn < 0 && mono() < until) {
		int fd = reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port);
		bool failed = false;

		if (fd < 0) {
			p->outcome = "error";
			p->err = errno;
			break;
		}
		p->tries++;
		/* the SYN leaves within connect(): its path through the NATs is the
		 * lab's, the moment of the call is the peer's */
		mark_sent(p);
		if (connect(fd, (struct sockaddr *)&p->go.peer_tcp, sizeof(p->go.peer_tcp)) &&
		    errno != EINPROGRESS) {
			p->err = errno;
			failed = true;
		}
		while (!failed && conn < 0) {
			struct pollfd pf[2] = { { .fd = fd, .events = POLLOUT }, { .fd = lfd, .events = POLLIN } };
			double left = until - mono();
			int err = 0;
			socklen_t el = sizeof(err);

			if (left <= 0 || poll(pf, lfd >= 0 ? 2 : 1, (int)(left * 1000) + 1) < 0)
				break;
			if (lfd >= 0 && (pf[1].revents & POLLIN)) {
				conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (conn >= 0)
					break;
			}
			if (!pf[0].revents)
				continue;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (!err) {
				conn = fd;
				break;
			}
			p->err = err;
			failed = true;
		}
		p->syn_retrans += total_retrans(fd);
		if (conn != fd)
			close(fd);
		if (failed) {
			p->outcome = p->err == ECONNREFUSED ? "refused" : p->err == ECONNRESET ? "reset"
				     : p->err == ETIMEDOUT ? "timeout" : "unreachable";
			if (!(retry && (p->err == ECONNREFUSED || p->err == ECONNRESET)))
				break;
			usleep(1000); /* at once, but not a busy loop: at most 1000 SYNs a second */
		}
	}
	if (conn >= 0) {
		p->connect_ms = (mono() - start) * 1000;
		p->nonce_ok = exchange_nonce(p, conn);
		p->outcome = p->nonce_ok ? "connected" : "wrong-peer";
		p->err = 0;
		close(conn);
	}
	if (lfd >= 0)
		close(lfd);
}

static void punch_udp(struct peer *p)
{
	double start = mono(), until = start + p->deadline_s, got_at = 0, next = 0;
	char punch[64], gotmsg[64], want_punch[64], want_got[64];
	bool got = false, acked = false;

	snprintf(punch, sizeof(punch), "PUNCH %s", p->go.nonce);
	snprintf(gotmsg, sizeof(gotmsg), "GOT %s", p->go.nonce);
	snprintf(want_punch, sizeof(want_punch), "PUNCH %s", p->go.peer_nonce);
	snprintf(want_got, sizeof(want_got), "GOT %s", p->go.peer_nonce);
	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	/* done once the partner's nonce came and it confirmed ours, or 1 s later */
	while (mono() < until && !(got && (acked || mono() > got_at + 1))) {
		struct pollfd pf = { .fd = p->udp, .events = POLLIN };
		char buf[128];
		ssize_t n;

		if (mono() >= next) {
			mark_sent(p);
			sendto(p->udp, got ? gotmsg : punch, strlen(got ? gotmsg : punch), 0,
			       (struct sockaddr *)&p->go.peer_udp, sizeof(p->go.peer_udp));
			p->tries++;
			next = mono() + 0.02;
		}
		if (poll(&pf, 1, 5) <= 0)
			continue;
		n = recv(p->udp, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (!strcmp(buf, want_punch) || !strcmp(buf, want_got)) {
			if (!got) {
				got = true;
				got_at = mono();
				p->connect_ms = (got_at - start) * 1000;
			}
			acked |= !strcmp(buf, want_got);
		}
	}
	if (got) {
		p->outcome = "connected";
		p->err = 0;
		p->nonce_ok = true;
		/* a last confirmation, so the partner need not wait its second */
		sendto(p->udp, gotmsg, strlen(gotmsg), 0, (struct sockaddr *)&p->go.peer_udp,
		       sizeof(p->go.peer_udp));
	}
}

static void relay(struct peer *p)
{
	char line[PROTO_LINE_MAX], want[64];
	double start = mono();

	dprintf(p->rv, "RELAY %s\n", p->go.nonce);
	snprintf(want, sizeof(want), "RELAY %s", p->go.peer_nonce);
	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	while (read_line(p->rv, p->rbuf, &p->rlen, sizeof(p->rbuf), line, start + p->deadline_s,
			 &p->rstamp) == 1)
		if (!strcmp(line, want)) {
			p->outcome = "relayed";
			p->err = 0;
			p->nonce_ok = true;
			/* less the server's hold, which a relay of the field has not */
			p->connect_ms = (mono() - start) * 1000 - PROTO_RELAY_HOLD_NS / 1e6;
			break;
		}
}

/* One RELAY line with payload `want` from the partner, until `until`. */
static bool relay_wait(struct peer *p, const char *want, double until)
{
	char line[PROTO_LINE_MAX], expect[PROTO_LINE_MAX];

	snprintf(expect, sizeof(expect), "RELAY %s", want);
	while (read_line(p->rv, p->rbuf, &p->rlen, sizeof(p->rbuf), line, until, &p->rstamp) == 1)
		if (!strcmp(line, expect))
			return true;
	return false;
}

/* As libp2p's DCUtR: side 0 times a round trip through the relay (CONNECT out,
 * CONNECT back), sends SYNC and dials RTT/2 later; side 1 dials when SYNC comes.
 * No clock involved: both dial as SYNC reaches side 1. Both act on the kernel's
 * receive time of a relay message, not on when they woke to read it: side 1
 * answers CONNECT and dials PROTO_RELAY_HOLD_NS after the message came, as the
 * server passes each RELAY line on, and side 0 takes those holds out of the round
 * trip and adds them to its wait. The hold is longer than a wake-up here (p99
 * 0.2-0.5 ms), so no process's wake-up enters the schedule; the links' times do. */
static void dcutr(struct peer *p)
{
	double until = mono() + p->deadline_s;

	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	if (p->side == 0) {
		int64_t t0, rtt, sync;

		/* time the round trip once side 1 reads, not its start-up */
		if (!relay_wait(p, "00", until))
			return;
		t0 = timing_now(CLOCK_REALTIME);
		dprintf(p->rv, "RELAY 01\n"); /* CONNECT */
		if (!relay_wait(p, "02", until))
			return;
		/* the server held CONNECT and its answer, side 1 held its answer */
		rtt = p->rstamp - t0 - 3 * PROTO_RELAY_HOLD_NS;
		p->relay_rtt_ms = (double)rtt / 1e6;
		sync = timing_now(CLOCK_REALTIME);
		dprintf(p->rv, "RELAY 03\n"); /* SYNC */
		/* SYNC is held by the server, then by side 1 before it dials */
		p->syn_sched = sync + rtt / 2 + 2 * PROTO_RELAY_HOLD_NS;
	} else {
		dprintf(p->rv, "RELAY 00\n"); /* ready */
		if (!relay_wait(p, "01", until))
			return;
		timing_sleep_until(&p->tm, CLOCK_REALTIME, p->rstamp + PROTO_RELAY_HOLD_NS);
		dprintf(p->rv, "RELAY 02\n");
		if (!relay_wait(p, "03", until))
			return;
		p->syn_sched = p->rstamp + PROTO_RELAY_HOLD_NS;
	}
	timing_sleep_until(&p->tm, CLOCK_REALTIME, p->syn_sched);
	p->start_real = (double)timing_now(CLOCK_REALTIME) / 1e9;
	punch_tcp(p);
}

/* STUNT #2: side 0 sends its SYN with a TTL that expires past its own NATs, so it
 * opens them without reaching (and upsetting) the other side's NAT, then waits in
 * SYN_SENT; told through the relay, side 1 dials an ordinary SYN into that opening,
 * and the two sockets meet in a simultaneous open. */
static void lowttl(struct peer *p)
{
	double until = mono() + p->deadline_s, start = mono();
	int fd = -1, normal = 64, err = 0, conn = -1;
	socklen_t el = sizeof(err);

	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	if (p->side == 1) {
		if (!relay_wait(p, "04", until))
			return;
		punch_tcp(p);
		return;
	}
	fd = reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port);
	if (fd < 0)
		return;
	p->tries = 1;
	setsockopt(fd, IPPROTO_IP, IP_TTL, &p->low_ttl, sizeof(p->low_ttl));
	connect(fd, (struct sockaddr *)&p->go.peer_tcp, sizeof(p->go.peer_tcp));
	usleep(1000); /* the SYN is out: the rest of the handshake goes at a normal TTL */
	setsockopt(fd, IPPROTO_IP, IP_TTL, &normal, sizeof(normal));
	dprintf(p->rv, "RELAY 04\n"); /* OPEN */
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		double left = until - mono();

		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			break;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (!err)
			conn = fd;
		else
			p->err = err;
		break;
	}
	p->syn_retrans = total_retrans(fd);
	if (conn >= 0) {
		p->connect_ms = (mono() - start) * 1000;
		p->nonce_ok = exchange_nonce(p, conn);
		p->outcome = p->nonce_ok ? "connected" : "wrong-peer";
		p->err = 0;
	} else if (p->err != ETIMEDOUT) {
		p->outcome = p->err == ECONNREFUSED ? "refused" : p->err == ECONNRESET ? "reset" : "unreachable";
	}
	close(fd);
}

static void report(const struct peer *p)
{
	char seen[32] = "", peer_tcp[32] = "", peer_udp[32] = "";

	if (p->seen.type == MSG_SEEN)
		proto_fmt_endpoint(&p->seen.ep, seen, sizeof(seen));
	if (p->go.type == MSG_GO) {
		proto_fmt_endpoint(&p->go.peer_tcp, peer_tcp, sizeof(peer_tcp));
		proto_fmt_endpoint(&p->go.peer_udp, peer_udp, sizeof(peer_udp));
	}
	printf("{\"side\":%d,\"strategy\":\"%s\",\"outcome\":\"%s\",\"errno\":\"%s\","
	       "\"local_port\":%u,\"udp_port\":%u,\"seen\":\"%s\",\"peer_tcp\":\"%s\",\"peer_udp\":\"%s\","
	       "\"start\":%.9f,\"connect_ms\":%.3f,\"syn_retrans\":%u,\"tries\":%u,\"nonce_ok\":%s,"
	       "\"relay_rtt_ms\":%.3f,\"syn_sched\":%.9f,\"syn_sent\":%.9f,\"realtime\":%s}\n",
	       p->side, p->strategy, p->outcome, p->err ? strerrorname_np(p->err) : "", p->port,
	       p->udp_port, seen, peer_tcp, peer_udp, p->start_real, p->connect_ms, p->syn_retrans,
	       p->tries, p->nonce_ok ? "true" : "false", p->relay_rtt_ms, (double)p->syn_sched / 1e9,
	       (double)p->syn_sent / 1e9, p->realtime ? "true" : "false");
	fflush(stdout);
}

/* `v`, the value of option `name`, as a number (a whole one if `whole`) in
 * [lo, hi], all of it */
static int opt_number(const char *name, const char *v, bool whole, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(*out) || *out < lo || *out > hi ||
	    (whole && *out != (double)(long)*out)) {
		fprintf(stderr, "natlab-probe peer: --%s: \"%s\" is not a %s from %g to %g\n", name, v,
			whole ? "whole number" : "number", lo, hi);
		return -1;
	}
	return 0;
}

int peer_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "attempt", required_argument, NULL, 'a' },
		{ "side", required_argument, NULL, 'i' },
		{ "strategy", required_argument, NULL, 't' },
		{ "offset-ms", required_argument, NULL, 'o' },
		{ "deadline-s", required_argument, NULL, 'd' },
		{ "low-ttl", required_argument, NULL, 'l' },
		{ "clock-offset-ms", required_argument, NULL, 'c' },
		{ "secret", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct peer p = { .side = -1, .deadline_s = 10, .rv = -1, .udp = -1, .low_ttl = 2 };
	const struct strategy *st;
	const char *server = NULL;
	double v;
	int o;

	/* an hour bounds every time: a lab's attempt is seconds */
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			server = optarg;
			break;
		case 'a':
			p.attempt = optarg;
			break;
		case 't':
			p.strategy = optarg;
			break;
		case 'i':
			if (opt_number("side", optarg, true, 0, 1, &v))
				return 2;
			p.side = (int)v;
			break;
		case 'o':
			if (opt_number("offset-ms", optarg, false, 0, 3600e3, &v))
				return 2;
			p.offset_ns = (int64_t)(v * 1e6);
			break;
		case 'd':
			if (opt_number("deadline-s", optarg, false, 0.001, 3600, &v))
				return 2;
			p.deadline_s = v;
			break;
		case 'l':
			if (opt_number("low-ttl", optarg, true, 1, 255, &v))
				return 2;
			p.low_ttl = (int)v;
			break;
		case 'k':
			p.secret = optarg;
			break;
		case 'c':
			if (opt_number("clock-offset-ms", optarg, false, -3600e3, 3600e3, &v))
				return 2;
			p.clock_offset_ns = (int64_t)(v * 1e6);
			break;
		default: /* getopt_long said what was wrong */
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "natlab-probe peer: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	/* from the environment, a secret is not on the command line for others to read */
	if (!p.secret)
		p.secret = getenv("NATLAB_PROBE_SECRET");
	if (!server || !p.attempt || !p.strategy || p.side < 0 || !p.secret) {
		fprintf(stderr, "natlab-probe peer: need --server ADDR:PORT --attempt ID --side 0|1 --strategy S, "
				"and the attempt's secret in NATLAB_PROBE_SECRET (or --secret HEX)\n");
		return 2;
	}
	if (proto_secret_ok(p.secret)) {
		fprintf(stderr, "natlab-probe peer: the secret must be %d to %d lowercase hex digits\n",
			PROTO_SECRET_MIN, PROTO_SECRET_MAX);
		return 2;
	}
	if (proto_endpoint(server, &p.server)) {
		fprintf(stderr, "natlab-probe peer: --server: \"%s\" is not ADDR:PORT\n", server);
		return 2;
	}
	st = strategy_by_name(p.strategy);
	if (!st) {
		fprintf(stderr, "natlab-probe peer: unknown strategy %s\n", p.strategy);
		return 2;
	}
	timing_init(&p.tm);
	{
		char why[160];

		/* before the rendezvous: the relay round trip dcutr measures is ours too.
		 * Refused, the report says so (realtime: false) and the run warns once;
		 * a line per peer would bury the terminal. */
		p.realtime = !timing_realtime(PEER_RT_PRIO, why, sizeof(why));
	}
	if (rendezvous(&p)) {
		p.outcome = "no-rendezvous";
		p.err = errno ? errno : EPROTO;
		report(&p);
		return 1;
	}
	/* the clock's strategies wait for their instant; the others time themselves */
	if (st->by_clock)
		wait_start(&p);
	switch (st->id) {
	case STRATEGY_DCUTR:
		dcutr(&p);
		break;
	case STRATEGY_LOWTTL:
		lowttl(&p);
		break;
	case STRATEGY_UDP:
		punch_udp(&p);
		break;
	case STRATEGY_RELAY:
		relay(&p);
		break;
	default:
		punch_tcp(&p);
		break;
	}
	report(&p);
	return 0;
}
