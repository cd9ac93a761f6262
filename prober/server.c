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
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/strategy.h"
#include "../common/timing.h"
#include "probe.h"
#include "protocol.h"

#define MAX_CLIENTS 4096
/* GO must reach both peers before the start: twice the slower round trip, plus margin */
#define START_LEAD_MIN_NS 5000000ULL
#define START_LEAD_MAX_NS 2000000000ULL
/* epoll tags for the two listening sockets; clients are tagged by index */
#define TAG_LISTEN UINT32_MAX
#define TAG_UDP (UINT32_MAX - 1)

struct limits {
	int hello_s;    /* a new connection says HELLO within this */
	int partner_s;  /* a registered side waits this long for its partner */
	int idle_s;     /* after GO: this long without a line closes */
	int per_source; /* connections from one address */
};

struct client {
	int fd; /* -1: free */
	char buf[PROTO_LINE_MAX];
	size_t len;
	int64_t stamp;   /* when the kernel received what buf holds last, real ns */
	time_t since;    /* connected */
	time_t deadline; /* the next step is due by then, or the connection closes */
	struct in_addr from;
	int attempt; /* -1 until HELLO */
	int side;
};

struct attempt {
	int used;
	char id[PROTO_TOKEN_MAX];
	char secret[PROTO_SECRET_MAX + 1];
	int client[2]; /* index, -1 */
	struct sockaddr_in udp[2];
	int has_udp[2];
	int needs_udp;
	int go_sent;
};

struct server {
	int lfd, ufd, ep;
	int max_clients, n_clients;
	struct limits lim;
	struct client *c;
	struct attempt *a; /* as many as clients: each attempt has one */
	struct timing tm;
};

static void say(struct server *s, int ci, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void drop_client(struct server *s, int ci)
{
	struct client *c = &s->c[ci];

	if (c->fd < 0)
		return;
	if (c->attempt >= 0) {
		struct attempt *a = &s->a[c->attempt];

		a->client[c->side] = -1;
		if (a->client[0] < 0 && a->client[1] < 0)
			memset(a, 0, sizeof(*a)); /* free */
	}
	close(c->fd); /* leaves the epoll set with it */
	c->fd = -1;
	s->n_clients--;
}

static void say(struct server *s, int ci, const char *fmt, ...)
{
	char line[PROTO_LINE_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		return;
	line[n++] = '\n';
	/* never wait on a peer: one that does not read loses its connection */
	if (send(s->c[ci].fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		drop_client(s, ci);
}

/* Says ERR and closes: a refused line costs only its own connection. */
static void refuse(struct server *s, int ci, const char *why)
{
	say(s, ci, "ERR %s", why);
	drop_client(s, ci);
}

static void hex_nonce(char out[33])
{
	if (proto_random_hex(out, 16))
		snprintf(out, 33, "%s", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static uint64_t start_lead_ns(struct server *s, const struct attempt *a)
{
	uint64_t lead = 0;

	for (int i = 0; i < 2; i++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (!getsockopt(s->c[a->client[i]].fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
		    2000ULL * ti.tcpi_rtt > lead)
			lead = 2000ULL * ti.tcpi_rtt; /* tcpi_rtt is in us */
	}
	lead += START_LEAD_MIN_NS;
	return lead > START_LEAD_MAX_NS ? START_LEAD_MAX_NS : lead;
}

static void try_go(struct server *s, int ai)
{
	struct attempt *a = &s->a[ai];
	char nonce[2][33], tcp[2][32], udp[2][32];
	uint64_t start;
	time_t idle = now_s() + s->lim.idle_s;

	if (a->go_sent || a->client[0] < 0 || a->client[1] < 0)
		return;
	if (a->needs_udp && !(a->has_udp[0] && a->has_udp[1]))
		return;
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		hex_nonce(nonce[i]);
		if (getpeername(s->c[a->client[i]].fd, (struct sockaddr *)&peer, &len))
			memset(&peer, 0, sizeof(peer));
		proto_fmt_endpoint(&peer, tcp[i], sizeof(tcp[i]));
		if (a->has_udp[i])
			proto_fmt_endpoint(&a->udp[i], udp[i], sizeof(udp[i]));
		else
			snprintf(udp[i], sizeof(udp[i]), "0.0.0.0:0");
	}
	start = wall_ns() + start_lead_ns(s, a);
	a->go_sent = 1;
	for (int i = 0; i < 2; i++) {
		int ci = a->client[i];

		if (ci < 0)
			continue;
		s->c[ci].deadline = idle;
		say(s, ci, "GO %s %s %llu %s %s", tcp[1 - i], udp[1 - i], (unsigned long long)start,
		    nonce[i], nonce[1 - i]);
	}
}

/* The attempt named by id and secret, or a new one (create) if there is a free
 * slot; -1. A wrong secret names another attempt: it never meets this one. */
static int attempt_find(struct server *s, const char *id, const char *secret, int create)
{
	int free_slot = -1;

	for (int i = 0; i < s->max_clients; i++) {
		struct attempt *a = &s->a[i];

		if (a->used && !strcmp(a->id, id) && proto_secret_eq(a->secret, secret))
			return i;
		if (!a->used && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return -1;
	s->a[free_slot] = (struct attempt){ .used = 1, .client = { -1, -1 } };
	snprintf(s->a[free_slot].id, sizeof(s->a[0].id), "%s", id);
	snprintf(s->a[free_slot].secret, sizeof(s->a[0].secret), "%s", secret);
	return free_slot;
}

static void handle_line(struct server *s, int ci, const char *line)
{
	struct client *c = &s->c[ci];
	const char *why;
	struct msg m;
	int ai;

	if (proto_parse(line, &m, &why))
		return refuse(s, ci, why);
	if (m.type == MSG_HELLO && c->attempt < 0) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		char ep[32];

		ai = attempt_find(s, m.attempt, m.secret, 1);
		if (ai < 0 || s->a[ai].client[m.side] >= 0 || s->a[ai].go_sent)
			return refuse(s, ci, ai < 0 ? "too many attempts" : "side taken");
		c->attempt = ai;
		c->side = m.side;
		c->deadline = now_s() + s->lim.partner_s;
		s->a[ai].client[m.side] = ci;
		s->a[ai].needs_udp |= strategy_by_name(m.strategy) && strategy_by_name(m.strategy)->udp_socket;
		getpeername(c->fd, (struct sockaddr *)&peer, &len);
		proto_fmt_endpoint(&peer, ep, sizeof(ep));
		say(s, ci, "SEEN %s", ep);
		if (c->fd >= 0)
			try_go(s, ai);
		return;
	}
	if (m.type == MSG_RELAY && c->attempt >= 0 && s->a[c->attempt].go_sent) {
		int partner = s->a[c->attempt].client[1 - c->side];

		c->deadline = now_s() + s->lim.idle_s;
		if (partner >= 0) {
			timing_sleep_until(&s->tm, CLOCK_REALTIME, c->stamp + PROTO_RELAY_HOLD_NS);
			say(s, partner, "RELAY %s", m.data);
		}
		return;
	}
	refuse(s, ci, "unexpected message");
}

static void read_client(struct server *s, int ci)
{
	struct client *c = &s->c[ci];
	ssize_t n = timing_recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT,
				&c->stamp);
	char *nl;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			drop_client(s, ci);
		return;
	}
	c->len += (size_t)n;
	while (c->fd >= 0 && (nl = memchr(c->buf, '\n', c->len))) {
		char line[PROTO_LINE_MAX];
		size_t ll = (size_t)(nl - c->buf);

		memcpy(line, c->buf, ll);
		line[ll] = '\0';
		memmove(c->buf, nl + 1, c->len - ll - 1);
		c->len -= ll + 1;
		if (memchr(line, '\0', ll))
			return refuse(s, ci, "NUL in line");
		/* a CRLF line (telnet, a Windows peer) is a line; the check above first,
		 * or this '\0' would be taken for a NUL the peer sent */
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		handle_line(s, ci, line);
	}
	if (c->fd >= 0 && c->len == sizeof(c->buf))
		refuse(s, ci, "line too long");
}

/* A datagram names its attempt by id and secret and moves nothing else: one
 * without the secret, or for an attempt no TCP HELLO made, is dropped unread. */
static void read_udp(struct server *s)
{
	char buf[PROTO_LINE_MAX];
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	const char *why;
	struct msg m;
	ssize_t n;
	int ai;

	while ((n = recvfrom(s->ufd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&from,
			     &len)) >= 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		len = sizeof(from);
		if (proto_parse(buf, &m, &why) || m.type != MSG_UDPHELLO)
			continue;
		ai = attempt_find(s, m.attempt, m.secret, 0);
		if (ai < 0 || s->a[ai].go_sent || s->a[ai].client[m.side] < 0)
			continue;
		s->a[ai].udp[m.side] = from;
		s->a[ai].has_udp[m.side] = 1;
		try_go(s, ai);
	}
}

/* Room for one more: the oldest connection that has not said HELLO makes it. */
static int evict_one(struct server *s)
{
	int old = -1;

	for (int i = 0; i < s->max_clients; i++)
		if (s->c[i].fd >= 0 && s->c[i].attempt < 0 &&
		    (old < 0 || s->c[i].since < s->c[old].since))
			old = i;
	if (old >= 0)
		refuse(s, old, "server full");
	return old;
}

static void accept_clients(struct server *s)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	int fd;

	while ((fd = accept4(s->lfd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };
		int ci = -1, same = 0;

		len = sizeof(from);
		for (int i = 0; i < s->max_clients; i++) {
			if (s->c[i].fd < 0 && ci < 0)
				ci = i;
			same += s->c[i].fd >= 0 && s->c[i].from.s_addr == from.sin_addr.s_addr;
		}
		if (same >= s->lim.per_source) {
			close(fd);
			continue;
		}
		if (ci < 0)
			ci = evict_one(s);
		if (ci < 0) {
			close(fd); /* every slot holds a registered peer */
			continue;
		}
		s->c[ci] = (struct client){ .fd = fd, .since = now_s(), .from = from.sin_addr, .attempt = -1 };
		s->c[ci].deadline = s->c[ci].since + s->lim.hello_s;
		ev.data.u32 = (uint32_t)ci;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			s->c[ci].fd = -1;
			continue;
		}
		s->n_clients++;
		/* lines go out as they are written: peers time round trips through us */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		/* and relayed lines leave a fixed time after they came (PROTO_RELAY_HOLD_NS) */
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int));
	}
}

/* Connections whose next step is overdue: HELLO, the partner, or any line after GO. */
static void expire(struct server *s, time_t now)
{
	for (int i = 0; i < s->max_clients; i++) {
		struct client *c = &s->c[i];

		if (c->fd < 0 || now < c->deadline)
			continue;
		if (c->attempt < 0)
			refuse(s, i, "no HELLO in time");
		else if (!s->a[c->attempt].go_sent)
			refuse(s, i, "no partner in time");
		else
			drop_client(s, i);
	}
}

/* As many clients as the descriptor limit allows, up to MAX_CLIENTS. */
static int client_room(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 64;
	if (rl.rlim_cur < MAX_CLIENTS + 16 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < MAX_CLIENTS + 16 ? rl.rlim_max : MAX_CLIENTS + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur >= MAX_CLIENTS + 16 ? MAX_CLIENTS : rl.rlim_cur > 32 ? (int)rl.rlim_cur - 16 : 16;
}

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

/* as the peers' (10), below the wire's (20): a peer spinning out the last part of
 * its wait must not hold up the relay message another lab's dcutr is timing */
#define SERVER_RT_PRIO 15

int server_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "hello-timeout", required_argument, NULL, 'h' },
		{ "partner-timeout", required_argument, NULL, 'p' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "per-source", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PROBE_PORT) };
	struct limits lim = { .hello_s = 5, .partner_s = 30, .idle_s = 30, .per_source = 64 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct server *s;
	int one = 1, o, rc = 1;

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
	if (!s->c || !s->a)
		goto out;
	for (int i = 0; i < s->max_clients; i++)
		s->c[i].fd = -1;
	timing_init(&s->tm);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->lfd < 0 || s->ufd < 0 || s->ep < 0 || bind(s->lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(s->lfd, 1024) || bind(s->ufd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "natlab-probe server: %s\n", strerror(errno));
		goto out;
	}
	ev.data.u32 = TAG_LISTEN;
	epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev);
	ev.data.u32 = TAG_UDP;
	epoll_ctl(s->ep, EPOLL_CTL_ADD, s->ufd, &ev);
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
		int n = epoll_wait(s->ep, evs, 64, 1000);

		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			uint32_t tag = evs[k].data.u32;

			if (tag == TAG_LISTEN)
				accept_clients(s);
			else if (tag == TAG_UDP)
				read_udp(s);
			else if (s->c[tag].fd >= 0)
				read_client(s, (int)tag);
		}
		if (now_s() != swept)
			expire(s, swept = now_s());
	}
out:
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
