/* The peer: registers with the rendezvous server, waits for the start time, then
 * punches (so, so-listen, retry, udp) or relays; prints one JSON line. What its
 * strategies share is here (the rendezvous, the start, the dial's helpers, the
 * report); each strategy's own steps are in strategies/, found by its id. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/strategy.h"
#include "../common/timing.h"
#include "peer.h"
#include "probe.h"
#include "protocol.h"
#include "strategies/strategies.h"

/* below the wire's: a peer's packets wait on the wire */
#define PEER_RT_PRIO 10

/* The first send of a scheduled strategy: the time it really left. */
void mark_sent(struct peer *p)
{
	if (!p->syn_sent)
		p->syn_sent = timing_now(CLOCK_REALTIME);
}

double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int reuse_socket(int type, uint16_t port)
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
int read_line(int fd, char *buf, size_t *len, size_t cap, char *line, double until,
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
	double t0 = mono(), until = t0 + 10, next_udp = 0;
	struct timeval tv = { .tv_sec = 5 };
	int64_t ask;

	p->rv = reuse_socket(SOCK_STREAM, p->local_port);
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
	/* auto brings UDP where its classification says UDP reaches the server */
	if (p->asked && !nat_ports_has(&p->own.outbound_udp, ntohs(p->server.sin_port)))
		p->strategy = "auto-tcp";
	else if (strategy_by_name(p->strategy)->udp_socket) {
		p->udp = reuse_socket(SOCK_DGRAM, p->local_port);
		if (p->udp < 0)
			return -1;
		p->udp_port = local_port(p->udp);
	}
	/* the connect and its NAT mapping come before natlab run's opening: the
	 * rendezvous's first round trip is not a moment anything is timed by */
	if (p->gated) {
		char *go = NULL;
		size_t cap = 0;
		double waited = mono();
		bool ok;

		printf("connected\n");
		fflush(stdout);
		ok = getline(&go, &cap, stdin) > 0 && !strcmp(go, "go\n");
		free(go);
		if (!ok) {
			errno = ECANCELED;
			return -1;
		}
		waited = mono() - waited;
		t0 += waited;
		until += waited;
	}
	/* a program that starts ahead, a clock that runs ahead: the start that far off,
	 * else this host's instant is past when GO comes and it starts late */
	ask = (p->lead_ns + (p->clock_offset_ns > 0 ? p->clock_offset_ns : 0) + 999999) / 1000000;
	if (ask)
		dprintf(p->rv, "HELLO %s %d %s %lld %s\n", p->attempt, p->side, p->strategy,
			(long long)(ask < PROTO_LEAD_MAX_MS ? ask : PROTO_LEAD_MAX_MS), p->secret);
	else
		dprintf(p->rv, "HELLO %s %d %s %s\n", p->attempt, p->side, p->strategy, p->secret);
	if (p->asked)
		p->strategy = p->asked;
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
			p->rendezvous_ms = (mono() - t0) * 1000;
			return 0;
		}
	}
}

/* Around the first SYN of a strategy started by the clock, natlab run's build
 * lock held shared: the kernel's bring-up and teardown work, which nothing
 * preempts here, stays out of it. Taken from WINDOW_LEAD_NS before the instant,
 * without waiting past it: a build under way is let finish, and a SYN never
 * waits for the lock (then it goes without). */
#define WINDOW_LEAD_NS 40000000LL
#define WINDOW_TAIL_S 0.010

static void window_begin_before(struct peer *p, int64_t t)
{
	const char *path = getenv("NATLAB_BUILD_LOCK");
	const struct strategy *st = strategy_by_name(p->strategy);

	if (!path || !st || !st->tcp || !st->by_clock)
		return;
	p->window_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (p->window_fd < 0)
		return;
	timing_sleep_until(&p->tm, CLOCK_REALTIME, t - WINDOW_LEAD_NS);
	while (flock(p->window_fd, LOCK_SH | LOCK_NB)) {
		int err = errno;
		int64_t now = timing_now(CLOCK_REALTIME);

		/* the wait for a build shares the urgent stretch: a look at the lock
		 * woken late at the peers' priority would run into the instant */
		if (now >= t - TIMING_URGENT_LEAD_NS)
			timing_urgent(&p->tm);
		if (now >= t - 2000000 || (err != EWOULDBLOCK && err != EINTR)) {
			close(p->window_fd);
			p->window_fd = -1;
			return;
		}
		usleep(500);
	}
}

void window_end(struct peer *p, bool force)
{
	if (p->window_fd < 0)
		return;
	if (!p->window_until && p->syn_sent)
		p->window_until = mono() + WINDOW_TAIL_S;
	if (force || (p->window_until && mono() >= p->window_until)) {
		close(p->window_fd); /* and the lock with it */
		p->window_fd = -1;
	}
}

void wait_start(struct peer *p)
{
	/* this host's clock reads real time + clock_offset: it starts when it shows start */
	int64_t t = (int64_t)p->go.start_ns + p->offset_ns - p->clock_offset_ns - p->lead_ns;

	window_begin_before(p, t);
	/* early wake and a short spin: a plain sleep comes back 40-200 us late;
	 * urgent until the first send (timing_calm), where that send is measured
	 * (relay's nonces go through the server, untimed) */
	if (strategy_by_name(p->strategy)->direct)
		timing_sleep_until_urgent(&p->tm, CLOCK_REALTIME, t);
	else
		timing_sleep_until(&p->tm, CLOCK_REALTIME, t);
	p->syn_sched = t;
	p->start_real = (double)timing_now(CLOCK_REALTIME) / 1e9;
}

unsigned total_retrans(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return 0;
	return ti.tcpi_total_retrans;
}

/* Both sides show their nonce on the new connection: the partner, not a stranger. */
bool exchange_nonce(struct peer *p, int fd)
{
	char buf[PROTO_LINE_MAX], line[PROTO_LINE_MAX], want[64];
	size_t len = 0;
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	dprintf(fd, "NONCE %s\n", p->go.nonce);
	snprintf(want, sizeof(want), "NONCE %s", p->go.peer_nonce);
	return read_line(fd, buf, &len, sizeof(buf), line, mono() + 3, NULL) == 1 && !strcmp(line, want);
}

/* One RELAY line with payload `want` from the partner, until `until`. */
bool relay_wait(struct peer *p, const char *want, double until)
{
	char line[PROTO_LINE_MAX], expect[PROTO_LINE_MAX];

	snprintf(expect, sizeof(expect), "RELAY %s", want);
	while (read_line(p->rv, p->rbuf, &p->rlen, sizeof(p->rbuf), line, until, &p->rstamp) == 1)
		if (!strcmp(line, expect))
			return true;
	return false;
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
	       "\"relay_rtt_ms\":%.3f,\"rendezvous_ms\":%.3f,\"syn_sched\":%.9f,\"syn_sent\":%.9f,"
	       "\"realtime\":%s,\"pid\":%ld",
	       p->side, p->asked ? p->asked : p->strategy, p->outcome, p->err ? strerrorname_np(p->err) : "", p->port,
	       p->udp_port, seen, peer_tcp, peer_udp, p->start_real, p->connect_ms, p->syn_retrans,
	       p->tries, p->nonce_ok ? "true" : "false", p->relay_rtt_ms, p->rendezvous_ms, (double)p->syn_sched / 1e9,
	       (double)p->syn_sent / 1e9, p->realtime ? "true" : "false", (long)getpid());
	/* auto: what it picked, when, and the two classifications it picked from */
	if (p->relay_via)
		printf(",\"relay\":\"%s\"", p->relay_via);
	if (p->asked)
		printf(",\"decision\":\"%s\",\"decide_ms\":%.3f,\"class\":\"%s\",\"peer_class\":\"%s\"",
		       p->decision, p->decide_ms, p->class_mine, p->class_theirs);
	/* exec: the program's exit status and last line, a JSON string (its bytes
	 * past ASCII as '?': the line is the program's, not necessarily UTF-8; its
	 * control bytes as spaces: escaped, a line of them outgrew natlab run's read) */
	if (p->command) {
		printf(",\"program\":{\"exit\":%d,\"last\":\"", p->program_exit);
		for (const unsigned char *c = (const unsigned char *)p->program_last; *c; c++)
			if (*c == '"' || *c == '\\')
				printf("\\%c", *c);
			else if (*c < 0x20 || *c == 0x7f)
				putchar(' ');
			else
				putchar(*c < 0x80 ? *c : '?');
		printf("\",\"signal\":{\"sent\":%u,\"received\":%u,\"dropped\":%u}}", p->signal_sent,
		       p->signal_received, p->signal_dropped);
	}
	printf("}\n");
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
		{ "local-port", required_argument, NULL, 'p' },
		{ "profile", required_argument, NULL, 'P' },
		{ "turn", required_argument, NULL, 'T' },
		{ "turn-user", required_argument, NULL, 'U' },
		{ "command", required_argument, NULL, 'C' },
		{ "cwd", required_argument, NULL, 'W' },
		{ "lead-ms", required_argument, NULL, 'L' },
		{ "gate", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	struct peer p = { .side = -1, .deadline_s = 10, .rv = -1, .udp = -1, .low_ttl = 2,
			  .dial_fd = -1, .listen_fd = -1, .window_fd = -1, .program_exit = -1 };
	const struct strategy *st;
	const char *server = NULL, *profile = NULL;
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
		case 'p':
			if (opt_number("local-port", optarg, true, 0, 65535, &v))
				return 2;
			p.local_port = (uint16_t)v;
			break;
		case 'P':
			profile = optarg;
			break;
		case 'T':
			if (proto_endpoint(optarg, &p.turn)) {
				fprintf(stderr, "natlab-probe peer: --turn: \"%s\" is not ADDR:PORT\n", optarg);
				return 2;
			}
			p.use_turn = true;
			break;
		case 'U':
			p.turn_user = optarg;
			break;
		case 'C':
			p.command = optarg;
			break;
		case 'g':
			p.gated = true;
			break;
		case 'W':
			p.cwd = optarg;
			break;
		case 'L':
			if (opt_number("lead-ms", optarg, false, 0, 10000, &v))
				return 2;
			p.lead_ns = (int64_t)(v * 1e6);
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
	/* the TURN password from the environment, as the secret */
	if (p.use_turn) {
		p.turn_password = getenv("NATLAB_TURN_PASSWORD");
		if (!p.turn_user || !p.turn_password) {
			fprintf(stderr, "natlab-probe peer: --turn needs --turn-user U and NATLAB_TURN_PASSWORD\n");
			return 2;
		}
	}
	if (st->id == STRATEGY_EXEC && !p.command) {
		fprintf(stderr, "natlab-probe peer: %s needs --command CMD (the user's program)\n", p.strategy);
		return 2;
	}
	/* auto picks from its own classification and the partner's */
	if (st->id == STRATEGY_AUTO) {
		struct diag d;

		if (!profile) {
			fprintf(stderr, "natlab-probe peer: auto needs --profile FILE (this host's natlab classify)\n");
			return 2;
		}
		if (nat_profile_parse_file(&p.own, profile, &d)) {
			fprintf(stderr, "natlab-probe peer: --profile: %s\n", d.msg);
			return 2;
		}
		p.asked = "auto";
	}
	/* a row in common/strategy.c without its row in strategies/table.c */
	if (!strategy_peer[st->id]) {
		fprintf(stderr, "natlab-probe peer: strategy %s has no peer side (prober/strategies/table.c)\n",
			p.strategy);
		return 2;
	}
	timing_init(&p.tm);
	/* a write to a connection the server closed is an error to report, not the
	 * end of the peer (and of its report) */
	signal(SIGPIPE, SIG_IGN);
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
	if (st->by_clock && st->tcp)
		punch_prepare(&p);
	if (st->id == STRATEGY_EXEC)
		program_prepare(&p);
	if (st->by_clock)
		wait_start(&p);
	strategy_peer[st->id](&p);
	timing_calm(&p.tm);
	window_end(&p, true);
	report(&p);
	return 0;
}
