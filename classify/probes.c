/* natlab classify's tests over TCP, against natlab-probe server: its PROBEs
 * (prober/PROTOCOL.md), run from a control connection that has a listener on
 * its own port beside it, and STUN bindings over fresh TCP connections.
 *   OUTBOUND         which of a list of well-known ports our SYNs and datagrams
 *                    reach: outbound_tcp, outbound_udp
 *   UDP / SYN PORT   what the NAT does with a datagram or a SYN to a port no
 *                    mapping holds: udp_unsolicited, unsolicited_syn
 *   SYN / ALTSYN 0   a SYN to our own mapped endpoint from the server's other
 *                    port, and from its other address: filtering over TCP
 *   SYNSENT [PORT]   the server's SYN to the NAT's entry of ours in SYN_SENT:
 *                    syn_in_syn_sent (to a port OUTBOUND saw reach the server) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../natsim/profile.h"
#include "../prober/protocol.h"
#include "probes.h"

/* Ports a firewall is most likely to let out, and two it has no reason to:
 * OUTBOUND tries these (and the server's own). */
#define CANARY_PORT_LO 29123
#define CANARY_PORT_HI 62123
static const uint16_t try_tcp[] = { 21, 22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 1194, 1723,
				    3389, 3478, 3479, 5060, 5222, 5349, 8080, 8443, CANARY_PORT_LO, CANARY_PORT_HI };
static const uint16_t try_udp[] = { 53, 123, 443, 500, 1194, 1701, 3478, 3479, 4500, 5060, 5349, CANARY_PORT_LO,
				    CANARY_PORT_HI };

void say(struct verdict *v, const char *value, const char *fmt, ...)
{
	va_list ap;

	snprintf(v->value, sizeof(v->value), "%s", value);
	va_start(ap, fmt);
	vsnprintf(v->evidence, sizeof(v->evidence), fmt, ap);
	va_end(ap);
}

int tcp_to(const struct sockaddr_in *to, uint16_t port, int ms)
{
	struct sockaddr_in self = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t l = sizeof(err);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) ||
	    bind(fd, (struct sockaddr *)&self, sizeof(self)) ||
	    (connect(fd, (const struct sockaddr *)to, sizeof(*to)) && errno != EINPROGRESS))
		goto fail;
	if (poll(&p, 1, ms) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
		errno = err ? err : errno;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, 0))
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	return getsockname(fd, (struct sockaddr *)&a, &l) ? 0 : ntohs(a.sin_port);
}

/* a line to the server; a closed connection is an error, not a SIGPIPE */
static void send_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_line(int fd, const char *fmt, ...)
{
	char line[PROTO_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)send(fd, line, (size_t)n, MSG_NOSIGNAL);
}

bool line_from(int fd, char *buf, size_t len, int ms)
{
	size_t n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (n + 1 < len && poll(&p, 1, ms) == 1) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return false;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return true;
		}
		n++;
	}
	buf[n] = '\0';
	return false;
}

/* The control connection: to the server, with a listener on its own port, so
 * that a SYN the NAT lets through to that port is answered (SYN 0, ALTSYN 0). */
struct control {
	int fd, listener;
};

static int control_open(const struct sockaddr_in *server, struct control *k)
{
	struct sockaddr_in self = { .sin_family = AF_INET };

	k->listener = -1;
	k->fd = tcp_to(server, 0, 2000);
	if (k->fd < 0)
		return -1;
	self.sin_port = htons(local_port(k->fd));
	k->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->listener >= 0 &&
	    (setsockopt(k->listener, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) ||
	     bind(k->listener, (struct sockaddr *)&self, sizeof(self)) || listen(k->listener, 4))) {
		close(k->listener);
		k->listener = -1;
	}
	return 0;
}

static void control_close(struct control *k)
{
	if (k->fd >= 0)
		close(k->fd);
	if (k->listener >= 0)
		close(k->listener);
	k->fd = k->listener = -1;
}

/* `line` asked (NULL: asked already), the PROBED that answers it into m; false with why */
static bool ask(int fd, const char *line, struct msg *m, char *why, size_t len)
{
	char got[PROTO_LINE_MAX] = "";
	const char *perr;

	if (line)
		send_line(fd, "%s\n", line);
	if (!line_from(fd, got, sizeof(got), 5000) || proto_parse(got, m, &perr) || m->type != MSG_PROBED) {
		snprintf(why, len, "the server did not say what its probe met: %s", got[0] ? got : "no answer");
		return false;
	}
	return true;
}

/* A port of the NAT that no mapping of ours holds: a random one of 1024-65535
 * outside this host's ephemeral range. Our probes' sockets take their ports from
 * that range, and a NAT that keeps ports (allocation = preserve) maps them to the
 * same ones, which a SYN from the server's address then reaches through an
 * address-dependent filter (a restricted cone answered one "rst", 2026-12-03);
 * a NAT that draws its own ports may still have drawn this one, a few dozen of
 * 64,512. */
static uint16_t unmapped_port(void)
{
	unsigned lo = 0, hi = 0, r = 0, span;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	if (!f || fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535)
		lo = hi = 0;
	if (f)
		fclose(f);
	if (lo < 1024)
		lo = 1024;
	if (hi < lo)
		hi = lo - 1; /* none to leave out */
	span = (65536 - 1024) - (hi + 1 - lo);
	if (!span) /* the whole range is ephemeral: any */
		lo = 65536, hi = 65535, span = 65536 - 1024;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)getpid();
	r = 1024 + r % span;
	return (uint16_t)(r < lo ? r : r + (hi + 1 - lo));
}

/* What a datagram or a SYN to an unmapped port met: udp_unsolicited, unsolicited_syn. */
static void unsolicited(int fd, bool tcp, struct verdict *v)
{
	uint16_t port = unmapped_port();
	char line[64], why[PROTO_LINE_MAX + 64], what[96];
	struct msg m;

	snprintf(line, sizeof(line), "PROBE %s %u", tcp ? "SYN" : "UDP", port);
	snprintf(what, sizeof(what), "a %s from the server to port %u of the NAT", tcp ? "SYN" : "datagram", port);
	if (!ask(fd, line, &m, why, sizeof(why)))
		return say(v, "", "%s", why);
	if (!strcmp(m.outcome, "none"))
		say(v, "drop", "%s met nothing (no answer, no error)", what);
	else if (!strcmp(m.outcome, "rst") && tcp)
		/* a rule's RST and the NAT's own stack's look the same from outside */
		say(v, "rst", "%s was answered with an RST", what);
	else if (!strcmp(m.outcome, "icmp"))
		say(v, "icmp", "%s was answered with ICMP type %d code %d", what, m.icmp_type, m.icmp_code);
	else
		say(v, "", "%s met %s, which no knob says", what, m.outcome);
}

/* A SYN to our own mapped endpoint (the control connection's), from another
 * port (SYN 0) or address (ALTSYN 0): true when it came through to our listener. */
static int through(int fd, const char *kind, char *seen, size_t len)
{
	char line[32], why[PROTO_LINE_MAX + 64];
	struct msg m;

	snprintf(line, sizeof(line), "PROBE %s 0", kind);
	if (!ask(fd, line, &m, why, sizeof(why))) {
		snprintf(seen, len, "%.100s", why);
		return -1;
	}
	snprintf(seen, len, "%s", m.outcome);
	return !strcmp(m.outcome, "answered");
}

static void filtering_tcp(struct control *k, struct verdict *v)
{
	char port[160], addr[160];
	int p, a;

	if (k->listener < 0)
		return say(v, "", "no listener beside the control connection: %s", strerror(errno));
	p = through(k->fd, "SYN", port, sizeof(port));
	if (p < 0)
		return say(v, "", "%s", port);
	a = through(k->fd, "ALTSYN", addr, sizeof(addr));
	if (a < 0 && p)
		return say(v, "", "the server's SYN from its other port came through (%s); from its other address, "
			   "no test (%s)", port, addr);
	if (a > 0 && p)
		say(v, "eif", "SYNs to our mapped endpoint from the server's other address and from its other "
			      "port came through");
	else if (p)
		say(v, "adf", "a SYN to our mapped endpoint from the server's other port came through, from its "
			      "other address not (%s)", addr);
	else if (a <= 0)
		say(v, "apdf", "a SYN to our mapped endpoint from the server's other port met %s%s%s", port,
		    a < 0 ? "" : ", from its other address ", a < 0 ? "" : addr);
	else
		say(v, "", "a SYN to our mapped endpoint came through from the server's other address, not from "
			   "its other port (%s), which no knob says", port);
}

/* Is `port` in the comma-separated list? */
static bool listed(const char *list, unsigned port)
{
	char want[8];
	size_t wl = (size_t)snprintf(want, sizeof(want), "%u", port);

	for (const char *at = list; at && *at; at = strchr(at, ','), at = at ? at + 1 : NULL)
		if (!strncmp(at, want, wl) && (at[wl] == ',' || !at[wl]))
			return true;
	return false;
}

/* The ports of the server our SYNs or datagrams reached (`list`), among those
 * tried, as a knob: every one → any; none → none; the two no firewall has a
 * reason to open among them → every port but those missed (a firewall that
 * blocks a few); else only those reached. A value natlab up takes (16 ranges at
 * most), or none with the reason. */
static void ports_verdict(struct verdict *v, const char *proto, const uint16_t *tried, size_t n_tried, uint16_t server_port,
			  const char *list)
{
	uint16_t all[64];
	size_t n = 0, hit = 0, ranges = 0, o = 0;
	char value[sizeof(v->value)] = "";
	bool open_by_default = listed(list, CANARY_PORT_LO) && listed(list, CANARY_PORT_HI);

	for (size_t i = 0; i < n_tried; i++)
		all[n++] = tried[i];
	for (size_t i = 0; i < n && server_port; i++)
		if (all[i] == server_port)
			server_port = 0;
	if (server_port)
		all[n++] = server_port;
	/* ascending, for the profile */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && all[j - 1] > all[j]; j--) {
			uint16_t t = all[j];

			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		hit += listed(list, all[i]);
	if (hit == n)
		return say(v, "any", "our %s to every one of %zu ports of the server tried reached it", proto, n);
	if (!hit)
		return say(v, "none", "of %zu ports of the server tried, our %s reached none", n, proto);
	if (open_by_default) {
		unsigned from = 1;

		for (size_t i = 0; i < n; i++) {
			if (listed(list, all[i]))
				continue;
			if (all[i] > from && o < sizeof(value)) {
				o += (size_t)snprintf(value + o, sizeof(value) - o, "%s%u-%u", o ? "," : "", from, all[i] - 1u);
				ranges++;
			}
			from = all[i] + 1u;
		}
		if (from <= 65535 && o < sizeof(value)) {
			o += (size_t)snprintf(value + o, sizeof(value) - o, "%s%u-65535", o ? "," : "", from);
			ranges++;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			if (listed(list, all[i]) && o < sizeof(value)) {
				o += (size_t)snprintf(value + o, sizeof(value) - o, "%s%u", o ? "," : "", all[i]);
				ranges++;
			}
	}
	if (ranges > NAT_PORTS_MAX || o >= sizeof(value))
		return say(v, "", "of %zu ports of the server tried, our %s reached %zu: more ranges than a profile takes (%d)",
			   n, proto, hit, NAT_PORTS_MAX);
	say(v, value, open_by_default ? "of %zu ports of the server tried, our %s reached all but %zu, among them two no "
					"firewall has a reason to open: every port but those missed"
				      : "of %zu ports of the server tried, our %s reached only these (%zu); the ports not tried are "
					"not known",
	    n, proto, open_by_default ? n - hit : hit);
}

/* OUTBOUND: a SYN and a datagram to each port tried, and where they arrived */
static void outbound(int fd, const struct sockaddr_in *server, struct classification *c)
{
	const size_t nt = sizeof(try_tcp) / sizeof(try_tcp[0]), nu = sizeof(try_udp) / sizeof(try_udp[0]);
	uint16_t server_port = ntohs(server->sin_port);
	char got[PROTO_LINE_MAX] = "", why[PROTO_LINE_MAX + 64];
	int syns[sizeof(try_tcp) / sizeof(try_tcp[0]) + 1], n = 0, udp;
	const char *perr;
	struct msg m;

	send_line(fd, "PROBE OUTBOUND\n");
	if (!line_from(fd, got, sizeof(got), 4000) || proto_parse(got, &m, &perr) || m.type != MSG_PROBING) {
		say(&c->outbound_tcp, "", "the server would not probe: %s", got[0] ? got : "no answer");
		c->outbound_udp = c->outbound_tcp;
		return;
	}
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (size_t i = 0; i <= nt; i++) {
		struct sockaddr_in to = *server;

		if (i == nt && !server_port)
			break;
		to.sin_port = htons(i < nt ? try_tcp[i] : server_port);
		syns[n] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (syns[n] >= 0)
			(void)connect(syns[n++], (struct sockaddr *)&to, sizeof(to));
	}
	for (size_t i = 0; udp >= 0 && i <= nu; i++) {
		struct sockaddr_in to = *server;

		to.sin_port = htons(i < nu ? try_udp[i] : server_port);
		(void)sendto(udp, "natlab outbound\n", 16, 0, (struct sockaddr *)&to, sizeof(to));
	}
	if (!ask(fd, NULL, &m, why, sizeof(why)) || m.probe != PROBE_OUTBOUND) {
		say(&c->outbound_tcp, "", "%s", why);
		c->outbound_udp = c->outbound_tcp;
	} else {
		ports_verdict(&c->outbound_tcp, "SYNs", try_tcp, nt, server_port, m.ports[0]);
		ports_verdict(&c->outbound_udp, "datagrams", try_udp, nu, server_port, m.ports[1]);
	}
	for (int i = 0; i < n; i++)
		close(syns[i]);
	if (udp >= 0)
		close(udp);
}

/* SYNSENT: our SYN to a port the server swallows it at, then the server's SYN
 * from there to the NAT's SYN_SENT entry. At `port` (0: the server's choice). */
static bool syn_in_syn_sent(struct control *k, const struct sockaddr_in *server, uint16_t port, struct verdict *v)
{
	char line[PROTO_LINE_MAX] = "", why[PROTO_LINE_MAX + 64], what[128];
	const char *perr;
	struct sockaddr_in to = *server;
	struct msg m;
	int syn;

	if (port)
		send_line(k->fd, "PROBE SYNSENT %u\n", port);
	else
		send_line(k->fd, "PROBE SYNSENT\n");
	if (!line_from(k->fd, line, sizeof(line), 4000) || proto_parse(line, &m, &perr) || m.type != MSG_PROBING) {
		say(v, "", "the server would not probe: %s", line[0] ? line : "no answer");
		return false; /* the server closes after an ERR */
	}
	/* our SYN, which the server swallows: the NAT's entry stays in SYN_SENT */
	to.sin_port = htons(m.port);
	syn = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (syn < 0 || (connect(syn, (struct sockaddr *)&to, sizeof(to)) && errno != EINPROGRESS)) {
		say(v, "", "no SYN to the server's port %u: %s", m.port, strerror(errno));
		if (syn >= 0)
			close(syn);
		return true;
	}
	snprintf(what, sizeof(what), "the server's SYN from port %u, to the NAT's entry of our SYN to it (in SYN_SENT),",
		 m.port);
	if (!ask(k->fd, NULL, &m, why, sizeof(why)))
		say(v, "", "%s", why);
	else if (!strcmp(m.outcome, "none"))
		say(v, "drop", "%s met nothing (no answer, no error)", what);
	else if (!strcmp(m.outcome, "rst"))
		say(v, "rst", "%s was answered with an RST", what);
	else if (!strcmp(m.outcome, "answered"))
		say(v, "accept", "%s was let through: we answered it, a simultaneous open", what);
	else if (!strcmp(m.outcome, "nosyn"))
		say(v, "", "our SYN to the server's port %u never reached it (outbound TCP blocked there?)", to.sin_port ?
			   ntohs(to.sin_port) : 0);
	else
		say(v, "", "%s met %s, which no knob says", what, m.outcome);
	close(syn);
	return true;
}

/* ports OUTBOUND saw our SYNs reach, the server's own left out: where SYNSENT
 * may open its swallowing listener when outbound TCP is limited */
static int synsent_ports(const struct classification *c, uint16_t server_port, uint16_t *out, int max)
{
	const char *at = c->outbound_tcp.value;
	int n = 0;

	/* a firewall that lets all but a few out: the server's own choice of port */
	if (!strcmp(at, "any") || !strcmp(at, "none") || !at[0] || strchr(at, '-')) {
		out[n++] = 0;
		return n;
	}
	while (*at && n < max) {
		unsigned long p = strtoul(at, (char **)&at, 10);

		if (p && p != server_port)
			out[n++] = (uint16_t)p;
		at += *at == ',';
	}
	return n;
}

/* The probes in three legs side by side, each on a control connection of its
 * own (the server runs one probe at a time per connection, and most wait out
 * their second): OUTBOUND then SYNSENT (at a port OUTBOUND saw reached);
 * the unsolicited datagram and SYN; the SYNs to our own mapped endpoint. */
struct leg {
	const struct sockaddr_in *server;
	struct classification *c;
	int which;
	pthread_t thread;
	bool started, reached;
};

static void *leg_run(void *arg)
{
	struct leg *g = arg;
	struct classification *c = g->c;
	struct verdict *mine[3][2] = { { &c->outbound_tcp, &c->syn_in_syn_sent },
				       { &c->udp_unsolicited, &c->unsolicited_syn },
				       { &c->filtering_tcp, NULL } };
	struct control k;
	uint16_t ports[8];
	int n;

	if (control_open(g->server, &k)) {
		for (int i = 0; i < 2; i++)
			if (mine[g->which][i])
				say(mine[g->which][i], "", "no TCP connection to the server's port for its probes: %s",
				    strerror(errno));
		if (g->which == 0)
			c->outbound_udp = c->outbound_tcp;
		return NULL;
	}
	g->reached = true;
	switch (g->which) {
	case 0:
		outbound(k.fd, g->server, c);
		/* a refused OUTBOUND closed the connection: SYNSENT gets a new one */
		if (!c->outbound_tcp.value[0])
			control_close(&k);
		/* the server closes a connection whose PROBE it refused (a port taken
		 * there): the next port on a new connection */
		n = synsent_ports(c, ntohs(g->server->sin_port), ports, 8);
		for (int i = 0; i < n; i++) {
			if (k.fd < 0 && control_open(g->server, &k)) {
				say(&c->syn_in_syn_sent, "", "no new connection to the server for the SYN_SENT probe: %s",
				    strerror(errno));
				break;
			}
			if (syn_in_syn_sent(&k, g->server, ports[i], &c->syn_in_syn_sent))
				break;
			control_close(&k);
			/* every port OUTBOUND saw reach it refused (taken there); else the
			 * server's own refusal stands as it said it */
			if (i == n - 1 && ports[0])
				say(&c->syn_in_syn_sent, "", "our SYNs reach the server at %s only, where it has "
							      "listeners of its own: no port to swallow a SYN at",
				    c->outbound_tcp.value);
		}
		if (!n)
			say(&c->syn_in_syn_sent, "", "our SYNs reach the server at its own port only, where it "
						      "cannot swallow one");
		break;
	case 1:
		unsolicited(k.fd, false, &c->udp_unsolicited);
		unsolicited(k.fd, true, &c->unsolicited_syn);
		break;
	default:
		filtering_tcp(&k, &c->filtering_tcp);
	}
	control_close(&k);
	return NULL;
}

void server_probes(const struct sockaddr_in *server, struct classification *c)
{
	struct leg legs[3];

	for (int i = 0; i < 3; i++) {
		legs[i] = (struct leg){ .server = server, .c = c, .which = i };
		legs[i].started = !pthread_create(&legs[i].thread, NULL, leg_run, &legs[i]);
		if (!legs[i].started)
			leg_run(&legs[i]);
	}
	for (int i = 0; i < 3; i++) {
		if (legs[i].started)
			pthread_join(legs[i].thread, NULL);
		c->tcp_reached |= legs[i].reached;
	}
}

int tcp_binding(const struct re_api *re, const struct sockaddr_in *server, struct sockaddr_in *local,
		struct sockaddr_in *mapped)
{
	struct mbuf *req = re->mbuf_alloc(64), *in = NULL;
	struct stun_msg *msg = NULL;
	struct stun_attr *m;
	uint8_t tid[STUN_TID_SIZE], head[20];
	socklen_t l = sizeof(*local);
	int fd = -1, rc = -1;
	size_t body;

	errno = 0;
	if (!req || getrandom(tid, sizeof(tid), 0) != sizeof(tid) ||
	    re->stun_msg_encode(req, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, tid, NULL, NULL, 0, false, 0x00, 0))
		goto out;
	fd = tcp_to(server, 0, 2000);
	if (fd < 0) {
		rc = -2; /* no connection: errno says why */
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)local, &l) ||
	    send(fd, req->buf, req->end, MSG_NOSIGNAL) != (ssize_t)req->end)
		goto out;
	/* the answer's length is in its header (RFC 8489 6.2: TCP carries messages as they are) */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = 2 }, sizeof(struct timeval));
	if (recv(fd, head, sizeof(head), MSG_WAITALL) != sizeof(head))
		goto out;
	body = (size_t)head[2] << 8 | head[3];
	if (body > 512 || !(in = re->mbuf_alloc(sizeof(head) + body)))
		goto out;
	memcpy(in->buf, head, sizeof(head));
	if (body && recv(fd, in->buf + sizeof(head), body, MSG_WAITALL) != (ssize_t)body)
		goto out;
	in->end = sizeof(head) + body;
	if (re->stun_msg_decode(&msg, in, NULL) || re->stun_msg_class(msg) != STUN_CLASS_SUCCESS_RESP ||
	    memcmp(re->stun_msg_tid(msg), tid, sizeof(tid)))
		goto out;
	if (!(m = re->stun_msg_attr(msg, STUN_ATTR_XOR_MAPPED_ADDR)) && !(m = re->stun_msg_attr(msg, STUN_ATTR_MAPPED_ADDR)))
		goto out;
	*mapped = m->v.sa.u.in;
	rc = 0;
out:
	/* no answer in time (SO_RCVTIMEO): a timeout; a short read or a message that
	 * is not the answer: a bad message */
	if (rc && (errno == EAGAIN || errno == EWOULDBLOCK))
		errno = ETIMEDOUT;
	else if (rc && !errno)
		errno = EBADMSG;
	{
		int e = errno; /* the caller says it: close and free may not change it */

		if (fd >= 0)
			close(fd);
		re->mem_deref(msg);
		re->mem_deref(in);
		re->mem_deref(req);
		errno = e;
	}
	return rc;
}
