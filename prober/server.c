/* The rendezvous server: peers register, learn their observed endpoints, are
 * introduced and told when to start; it relays for the relay strategy. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/strategy.h"
#include "../common/timing.h"
#include "probe.h"
#include "protocol.h"

#define MAX_CLIENTS 256
#define MAX_ATTEMPTS 128
#define IDLE_S 30
/* GO must reach both peers before the start: twice the slower round trip, plus margin */
#define START_LEAD_MIN_NS 5000000ULL
#define START_LEAD_MAX_NS 2000000000ULL

struct client {
	int fd;
	char buf[PROTO_LINE_MAX];
	size_t len;
	time_t last;
	int64_t stamp; /* when the kernel received what buf holds last, real ns */
	int attempt; /* -1 until HELLO */
	int side;
};

struct attempt {
	char id[PROTO_TOKEN_MAX];
	int client[2]; /* index, -1 */
	struct sockaddr_in udp[2];
	int has_udp[2];
	int needs_udp;
	int go_sent;
};

struct server {
	int lfd, ufd;
	struct client c[MAX_CLIENTS];
	struct attempt a[MAX_ATTEMPTS];
	struct timing tm;
};

static void say(struct server *s, int ci, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void drop_client(struct server *s, int ci)
{
	struct client *c = &s->c[ci];

	if (c->attempt >= 0) {
		struct attempt *a = &s->a[c->attempt];

		a->client[c->side] = -1;
		if (a->client[0] < 0 && a->client[1] < 0)
			a->id[0] = '\0'; /* free */
	}
	close(c->fd);
	c->fd = -1;
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

static void hex_nonce(char out[33])
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		memset(r, 0x5a, sizeof(r));
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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
	for (int i = 0; i < 2; i++)
		if (a->client[i] >= 0)
			say(s, a->client[i], "GO %s %s %llu %s %s", tcp[1 - i], udp[1 - i],
			    (unsigned long long)start, nonce[i], nonce[1 - i]);
}

static int attempt_find(struct server *s, const char *id, int create)
{
	int free_slot = -1;

	for (int i = 0; i < MAX_ATTEMPTS; i++) {
		if (s->a[i].id[0] && !strcmp(s->a[i].id, id))
			return i;
		if (!s->a[i].id[0] && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return -1;
	memset(&s->a[free_slot], 0, sizeof(s->a[0]));
	snprintf(s->a[free_slot].id, sizeof(s->a[0].id), "%s", id);
	s->a[free_slot].client[0] = s->a[free_slot].client[1] = -1;
	return free_slot;
}

static void handle_line(struct server *s, int ci, const char *line)
{
	struct client *c = &s->c[ci];
	const char *why;
	struct msg m;
	int ai;

	if (proto_parse(line, &m, &why)) {
		say(s, ci, "ERR %s", why);
		if (c->fd >= 0)
			drop_client(s, ci);
		return;
	}
	if (m.type == MSG_HELLO && c->attempt < 0) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		char ep[32];

		ai = attempt_find(s, m.attempt, 1);
		if (ai < 0 || s->a[ai].client[m.side] >= 0 || s->a[ai].go_sent) {
			say(s, ci, "ERR %s", ai < 0 ? "too many attempts" : "side taken");
			if (c->fd >= 0)
				drop_client(s, ci);
			return;
		}
		c->attempt = ai;
		c->side = m.side;
		s->a[ai].client[m.side] = ci;
		s->a[ai].needs_udp |= strategy_by_name(m.strategy) && strategy_by_name(m.strategy)->udp_socket;
		getpeername(c->fd, (struct sockaddr *)&peer, &len);
		proto_fmt_endpoint(&peer, ep, sizeof(ep));
		say(s, ci, "SEEN %s", ep);
		if (c->fd >= 0)
			try_go(s, ai);
		return;
	}
	if (m.type == MSG_RELAY && c->attempt >= 0) {
		int partner = s->a[c->attempt].client[1 - c->side];

		if (partner >= 0) {
			timing_sleep_until(&s->tm, CLOCK_REALTIME, c->stamp + PROTO_RELAY_HOLD_NS);
			say(s, partner, "RELAY %s", m.data);
		}
		return;
	}
	say(s, ci, "ERR unexpected %s", line);
	if (c->fd >= 0)
		drop_client(s, ci);
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
	c->last = time(NULL);
	while (c->fd >= 0 && (nl = memchr(c->buf, '\n', c->len))) {
		char line[PROTO_LINE_MAX];
		size_t ll = (size_t)(nl - c->buf);

		memcpy(line, c->buf, ll);
		line[ll] = '\0';
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		memmove(c->buf, nl + 1, c->len - ll - 1);
		c->len -= ll + 1;
		if (memchr(line, '\0', ll)) {
			say(s, ci, "ERR NUL in line");
			if (c->fd >= 0)
				drop_client(s, ci);
			return;
		}
		handle_line(s, ci, line);
	}
	if (c->fd >= 0 && c->len == sizeof(c->buf)) {
		say(s, ci, "ERR line too long");
		if (c->fd >= 0)
			drop_client(s, ci);
	}
}

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
			continue; /* garbage on the UDP port is ignored */
		ai = attempt_find(s, m.attempt, 1);
		if (ai < 0 || s->a[ai].go_sent)
			continue;
		s->a[ai].udp[m.side] = from;
		s->a[ai].has_udp[m.side] = 1;
		try_go(s, ai);
	}
}

static void accept_clients(struct server *s)
{
	int fd;

	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		int ci = -1;

		for (int i = 0; i < MAX_CLIENTS; i++)
			if (s->c[i].fd < 0) {
				ci = i;
				break;
			}
		if (ci < 0) {
			close(fd); /* full: the newest loses */
			continue;
		}
		memset(&s->c[ci], 0, sizeof(s->c[ci]));
		/* lines go out as they are written: peers time round trips through us */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		/* and relayed lines leave a fixed time after they came (PROTO_RELAY_HOLD_NS) */
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int));
		s->c[ci].fd = fd;
		s->c[ci].attempt = -1;
		s->c[ci].last = time(NULL);
	}
}

/* above the peers' (10), below the wire's (20): a peer spinning out the last
 * part of its wait must not hold up the relay message another lab's dcutr is timing */
#define SERVER_RT_PRIO 15

int server_main(int argc, char *argv[])
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PROBE_PORT) };
	struct server *s = calloc(1, sizeof(*s));
	int one = 1;

	if (argc > 2) {
		fprintf(stderr, "natlab-probe server: one endpoint at most (ADDR:PORT)\n");
		free(s);
		return 2;
	}
	if (argc == 2 && proto_endpoint(argv[1], &addr)) {
		fprintf(stderr, "natlab-probe server: bad endpoint %s\n", argv[1]);
		free(s);
		return 2;
	}
	if (!s)
		return 1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		s->c[i].fd = -1;
	timing_init(&s->tm);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->lfd < 0 || s->ufd < 0 || bind(s->lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(s->lfd, 128) || bind(s->ufd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "natlab-probe server: %s\n", strerror(errno));
		return 1;
	}
	{
		char why[160];

		/* it relays dcutr's round trip: its wake-ups are in that measurement;
		 * refused, its peers are refused too and say so in their reports */
		(void)timing_realtime(SERVER_RT_PRIO, why, sizeof(why));
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd[MAX_CLIENTS + 2];
		int idx[MAX_CLIENTS + 2], n = 2;
		time_t now = time(NULL);

		pfd[0].fd = s->lfd;
		pfd[1].fd = s->ufd;
		pfd[0].events = pfd[1].events = POLLIN;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (s->c[i].fd < 0)
				continue;
			if (now - s->c[i].last > IDLE_S) {
				drop_client(s, i);
				continue;
			}
			pfd[n].fd = s->c[i].fd;
			pfd[n].events = POLLIN;
			idx[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents)
			accept_clients(s);
		if (pfd[1].revents)
			read_udp(s);
		for (int k = 2; k < n; k++)
			if (pfd[k].revents && s->c[idx[k]].fd == pfd[k].fd)
				read_client(s, idx[k]);
	}
}
