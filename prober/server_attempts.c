/* The server's attempt table: an attempt is its id and secret together, with a
 * client per side; GO introduces the two sides once both (and, for a strategy
 * that brings one, their UDP endpoints) are here; RELAY lines pass between them. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../common/strategy.h"
#include "../common/timing.h"
#include "protocol.h"
#include "server.h"

/* GO must reach both peers before the start: twice the slower round trip, plus margin */
#define START_LEAD_MIN_NS 5000000ULL
#define START_LEAD_MAX_NS 2000000000ULL

static void try_go(struct server *s, int ai);


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
	return (lead > START_LEAD_MAX_NS ? START_LEAD_MAX_NS : lead) + 1000000ULL * a->lead_ms;
}

void udp_wait_end(struct server *s, struct attempt *a)
{
	if (a->udp_until) {
		a->udp_until = 0;
		s->n_udp_waits--;
	}
}

/* GO for the attempts whose UDP wait is over. */
void udp_waits_sweep(struct server *s)
{
	int64_t now = timing_now(CLOCK_MONOTONIC);

	for (int i = 0; i < s->max_clients && s->n_udp_waits; i++)
		if (s->a[i].udp_until && now >= s->a[i].udp_until)
			try_go(s, i);
}

static void try_go(struct server *s, int ai)
{
	struct attempt *a = &s->a[ai];
	char nonce[2][33], tcp[2][32], udp[2][32];
	uint64_t start;
	time_t idle = now_s() + s->lim.idle_s;

	if (a->go_sent || a->client[0] < 0 || a->client[1] < 0)
		return;
	if (a->brings_udp[0] && a->brings_udp[1] && !(a->has_udp[0] && a->has_udp[1])) {
		int64_t now = timing_now(CLOCK_MONOTONIC);

		if (!a->udp_until) {
			a->udp_until = now + PROTO_UDP_WAIT_NS;
			s->n_udp_waits++;
		}
		if (now < a->udp_until)
			return;
	}
	udp_wait_end(s, a);
	/* a nonce anyone could guess would let a stranger pass for a peer: without
	 * random bytes the attempt ends, and says why */
	if (proto_random_hex(nonce[0], 16) || proto_random_hex(nonce[1], 16)) {
		int c0 = a->client[0], c1 = a->client[1];

		fprintf(stderr, "natlab-probe server: no random bytes for an attempt's nonces: %s\n", strerror(errno));
		refuse(s, c0, "no random bytes for the nonces");
		refuse(s, c1, "no random bytes for the nonces");
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		if (getpeername(s->c[a->client[i]].fd, (struct sockaddr *)&peer, &len))
			memset(&peer, 0, sizeof(peer));
		proto_fmt_endpoint(&peer, tcp[i], sizeof(tcp[i]));
		/* one side's UDP blocked: neither gets a UDP endpoint, both learn it at once */
		if (a->has_udp[0] && a->has_udp[1])
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

void handle_line(struct server *s, int ci, const char *line)
{
	struct client *c = &s->c[ci];
	const char *why;
	struct msg m;
	int ai;

	if (proto_parse(line, &m, &why))
		return refuse(s, ci, why);
	/* a PROBE's answer must not land in a peer's stream */
	if (m.type == MSG_HELLO && (c->probe_fd >= 0 || c->idle_until))
		return refuse(s, ci, "a PROBE is under way");
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
		/* dcutr, and auto, which may pick it ("auto-tcp": auto without UDP) */
		if ((strategy_by_name(m.strategy) && (strategy_by_name(m.strategy)->by_round_trips ||
						      strategy_by_name(m.strategy)->id == STRATEGY_AUTO)) ||
		    !strcmp(m.strategy, "auto-tcp"))
			s->a[ai].timed_relay = 1;
		if (m.lead_ms > s->a[ai].lead_ms)
			s->a[ai].lead_ms = m.lead_ms;
		/* a side whose strategy brings no UDP socket (auto-tcp: auto where its
		 * classification says UDP does not reach here) is not waited for */
		s->a[ai].brings_udp[m.side] = strategy_by_name(m.strategy) && strategy_by_name(m.strategy)->udp_socket;
		getpeername(c->fd, (struct sockaddr *)&peer, &len);
		proto_fmt_endpoint(&peer, ep, sizeof(ep));
		say(s, ci, "SEEN %s", ep);
		if (c->fd >= 0)
			try_go(s, ai);
		return;
	}
	if (m.type == MSG_PROBE && c->attempt < 0)
		return probe_start(s, ci, &m);
	if (m.type == MSG_RELAY && c->attempt >= 0 && s->a[c->attempt].go_sent) {
		int partner = s->a[c->attempt].client[1 - c->side];

		/* both ends of a conversation are alive: a side that only listens (a
		 * program waiting for its partner's lines) is not idle */
		c->deadline = now_s() + s->lim.idle_s;
		if (partner >= 0)
			s->c[partner].deadline = c->deadline;
		if (partner >= 0) {
			/* the hold is in dcutr's schedule: urgent, as the peers' */
			if (s->a[c->attempt].timed_relay)
				timing_sleep_until_urgent(&s->tm, CLOCK_REALTIME, c->stamp + PROTO_RELAY_HOLD_NS);
			else
				timing_sleep_until(&s->tm, CLOCK_REALTIME, c->stamp + PROTO_RELAY_HOLD_NS);
			say(s, partner, "RELAY %s", m.data);
			timing_calm(&s->tm);
		}
		return;
	}
	refuse(s, ci, "unexpected message");
}

/* A datagram names its attempt by id and secret and moves nothing else: one
 * without the secret, or for an attempt no TCP HELLO made, is dropped unread. */
void read_udp(struct server *s)
{
	char buf[PROTO_LINE_MAX];
	struct sockaddr_in from;
	struct in_addr to;
	const char *why;
	struct msg m;
	ssize_t n;
	int ai;

	/* a bounded batch: a flood here does not keep the loop from the rest */
	for (int k = 0; k < 64 && (n = stuns_recv(s->ufd, buf, sizeof(buf) - 1, &from, &to)) >= 0; k++) {
		if (stuns_looks_like(buf, (size_t)n)) {
			/* STUN to the rendezvous's own port and address */
			int p = s->stun_on ? stuns_port_index(&s->stun, ntohs(s->ep_addr.sin_port)) : -1;

			if (p >= 0)
				stuns_reply(&s->stun, (const uint8_t *)buf, (size_t)n, &from,
					    to.s_addr != htonl(INADDR_ANY) ? to : s->ep_addr.sin_addr, p);
			continue;
		}
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
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
