/* natlab classify --timeouts: how long a UDP mapping lives after one request and
 * its answer. Each probe is a fresh socket X that asks the server its mapped
 * endpoint, waits T seconds, and then has a second fresh socket Y ask the server
 * to answer to X's mapped port instead (RESPONSE-PORT, RFC 5780 7.5): the answer
 * reaches X while the mapping lives. libre's natbd reuses one X for every probe,
 * whose refreshes then move conntrack to its longer stream timeout; fresh sockets
 * keep every probe alike, and let probes run side by side: first T = 1, 2, 4, ...
 * 256 s, then eight steps between the longest that lived and the shortest that
 * did not. Two to four times the lifetime in all. */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/libre.h"
#include "../common/tcpseg.h"
#include "../prober/protocol.h"
#include "lifetime.h"
#include "probes.h"

#define PROBES 9 /* 1 .. 256 s, and the steps between */
#define LONGEST 256

struct life;

struct probe {
	struct life *l;
	struct udp_sock *x, *y;
	struct stun_ctrans *ct; /* its request under way: cancelled with it */
	struct sa mapped;
	unsigned t;
	struct tmr tmr;
	bool busy;
};

struct life {
	const struct re_api *re;
	struct stun *stun;
	struct sa srv, any;
	struct probe p[PROBES];
	unsigned lo, hi; /* longest that lived, shortest that did not (0: none yet) */
	bool refining, ignored, failed;
	struct probe *via; /* the probe whose X an answer came in on, just now */
};

static void probe_end(struct probe *p)
{
	const struct re_api *re = p->l->re;

	re->tmr_cancel(&p->tmr);
	p->ct = re->mem_deref(p->ct);
	p->x = re->mem_deref(p->x);
	p->y = re->mem_deref(p->y);
	p->busy = false;
}

static void launch(struct life *l, int i, unsigned t);

/* the next round's lengths: eight steps between lo and hi; how many */
static int steps_between(unsigned lo, unsigned hi, unsigned *t, int most)
{
	unsigned step = (hi - lo + 7) / 8;
	int n = 0;

	for (unsigned x = lo + step; x < hi && n < most; x += step)
		t[n++] = x;
	return n;
}

/* a probe's verdict; when the round is over, the next round or the end */
static void judged(struct probe *p, int alive)
{
	struct life *l = p->l;
	bool busy = false;

	if (alive > 0 && p->t > l->lo)
		l->lo = p->t;
	if (alive == 0 && (!l->hi || p->t < l->hi))
		l->hi = p->t;
	l->failed |= alive < 0;
	probe_end(p);
	/* the doubling round is over once every probe shorter than a death is in */
	for (int i = 0; i < PROBES; i++)
		busy |= l->p[i].busy && (!l->hi || l->p[i].t < l->hi || l->refining);
	if (busy)
		return;
	for (int i = 0; i < PROBES; i++)
		if (l->p[i].busy)
			probe_end(&l->p[i]);
	if (!l->refining && l->hi > l->lo + 1) {
		unsigned t[PROBES];
		int n = steps_between(l->lo, l->hi, t, PROBES);

		l->refining = true;
		for (int i = 0; i < n; i++)
			launch(l, i, t[i]);
		for (int i = 0; i < PROBES; i++)
			busy |= l->p[i].busy;
		if (busy)
			return;
	}
	l->re->re_cancel();
}

static void y_answer(int err, uint16_t scode, const char *reason, const struct stun_msg *msg, void *arg)
{
	struct probe *p = arg;

	(void)reason;
	(void)msg;
	/* the answer came to this probe's X (the transaction is the stun
	 * instance's, whichever socket hands it in): alive; none: the mapping is gone */
	judged(p, !err && !scode ? (p->l->via == p ? 1 : -1) : err == ETIMEDOUT ? 0 : -1);
}

static void y_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct probe *p = arg;

	(void)src;
	(void)mb;
	/* the answer came back to Y: the server does not know RESPONSE-PORT, and
	 * no probe can tell anything */
	p->l->ignored = true;
	p->l->re->re_cancel();
}

static void x_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct probe *p = arg;

	(void)src;
	p->l->via = p;
	p->l->re->stun_recv(p->l->stun, mb);
	p->l->via = NULL;
}

static void ask(void *arg)
{
	struct probe *p = arg;
	const struct re_api *re = p->l->re;
	uint16_t port = re->sa_port(&p->mapped);

	if (re->udp_listen(&p->y, &p->l->any, y_recv, p) ||
	    re->stun_request(&p->ct, p->l->stun, IPPROTO_UDP, p->y, &p->l->srv, 0, STUN_METHOD_BINDING, NULL, 0,
			     false, y_answer, p, 1, STUN_ATTR_RESP_PORT, &port))
		judged(p, -1);
}

static void x_answer(int err, uint16_t scode, const char *reason, const struct stun_msg *msg, void *arg)
{
	struct probe *p = arg;
	struct stun_attr *m = !err && !scode && msg ? p->l->re->stun_msg_attr(msg, STUN_ATTR_XOR_MAPPED_ADDR) : NULL;

	(void)reason;
	if (!m)
		return judged(p, -1);
	p->mapped = m->v.sa;
	p->l->re->tmr_start(&p->tmr, (uint64_t)p->t * 1000, ask, p);
}

static void launch(struct life *l, int i, unsigned t)
{
	struct probe *p = &l->p[i];
	const struct re_api *re = l->re;

	*p = (struct probe){ .l = l, .t = t, .busy = true };
	re->tmr_init(&p->tmr);
	if (re->udp_listen(&p->x, &l->any, x_recv, p) ||
	    re->stun_request(&p->ct, l->stun, IPPROTO_UDP, p->x, &l->srv, 0, STUN_METHOD_BINDING, NULL, 0, false,
			     x_answer, p, 0))
		judged(p, -1);
}

static void start(void *arg)
{
	struct life *l = arg;

	for (int i = 0; i < PROBES; i++)
		launch(l, i, 1u << i);
}

void udp_lifetime(const struct re_api *re, const struct sockaddr_in *server, const struct stun_conf *conf,
		  struct verdict *v)
{
	struct life l = { .re = re };
	struct tmr t0;

	re->sa_set_in(&l.srv, ntohl(server->sin_addr.s_addr), ntohs(server->sin_port));
	re->sa_set_in(&l.any, INADDR_ANY, 0);
	if (re->stun_alloc(&l.stun, conf, NULL, NULL)) {
		snprintf(v->evidence, sizeof(v->evidence), "libre: no STUN instance");
		return;
	}
	re->tmr_init(&t0);
	re->tmr_start(&t0, 0, start, &l);
	re->re_main(NULL);
	re->tmr_cancel(&t0);
	for (int i = 0; i < PROBES; i++)
		if (l.p[i].busy)
			probe_end(&l.p[i]);
	re->mem_deref(l.stun);
	if (l.ignored)
		snprintf(v->evidence, sizeof(v->evidence), "the server answers RESPONSE-PORT requests where they came from");
	else if (!l.hi && !l.lo)
		snprintf(v->evidence, sizeof(v->evidence), "no probe could run%s", l.failed ? " (requests failed)" : "");
	else if (!l.hi)
		snprintf(v->evidence, sizeof(v->evidence), "a mapping still lived after %u s, the longest tried", LONGEST);
	else {
		snprintf(v->value, sizeof(v->value), "%u", l.hi);
		snprintf(v->evidence, sizeof(v->evidence),
			 "a UDP mapping after one request and its answer lived %u s and not %u s (fresh sockets, RESPONSE-PORT)",
			 l.lo, l.hi);
	}
}

/* TCP's probes, each on a connection of its own to the server that waits for
 * the one line that judges it, side by side. */
struct line_probe {
	int fd;   /* the PROBE's connection; -1: ended */
	int sock; /* SYNLIFE: the socket that stands in for the SYN's; -1 */
	unsigned t;
	double due; /* monotonic s: the answer is late past this */
	char buf[96];
	size_t len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* closed without a FIN or RST: back in repair first */
static void stand_in_close(int fd)
{
	if (fd < 0)
		return;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &(int){ TCP_REPAIR_ON }, sizeof(int));
	close(fd);
}

static void line_probe_end(struct line_probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	stand_in_close(p->sock);
	p->fd = p->sock = -1;
}

/* Each probe's line: judge(line) 1 alive (lo: the longest), 0 dead (hi: the
 * shortest), -1 neither (a failure, into why: the first). A probe with no line
 * by its due time is dead where late_dead (IDLE: its NAT dropped the line), else
 * a failure. Past a death the longer probes are not waited for. */
static void lines_wait(struct line_probe *p, int n, int (*judge)(const char *line), bool late_dead, unsigned *lo,
		       unsigned *hi, char *why, size_t len)
{
	int open = 0;

	for (int i = 0; i < n; i++)
		open += p[i].fd >= 0;
	while (open) {
		struct pollfd pf[PROBES];
		double next = 1e18, now = now_s();

		for (int i = 0; i < n; i++) {
			pf[i] = (struct pollfd){ .fd = p[i].fd, .events = POLLIN };
			if (p[i].fd >= 0 && ((*hi && p[i].t >= *hi) || now >= p[i].due)) {
				if (now >= p[i].due && late_dead && (!*hi || p[i].t < *hi))
					*hi = p[i].t;
				else if (now >= p[i].due && !why[0] && !(*hi && p[i].t >= *hi))
					snprintf(why, len, "the server said nothing of its %u s probe", p[i].t);
				line_probe_end(&p[i]);
				pf[i].fd = -1;
				open--;
			} else if (p[i].fd >= 0 && p[i].due < next)
				next = p[i].due;
		}
		if (!open)
			break;
		if (poll(pf, (nfds_t)n, (int)((next - now) * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			if (!why[0])
				snprintf(why, len, "poll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			ssize_t r;
			int verdict;

			if (p[i].fd < 0 || !pf[i].revents)
				continue;
			r = recv(p[i].fd, p[i].buf + p[i].len, sizeof(p[i].buf) - 1 - p[i].len, 0);
			if (r > 0) {
				p[i].len += (size_t)r;
				p[i].buf[p[i].len] = '\0';
				if (!strchr(p[i].buf, '\n') && p[i].len < sizeof(p[i].buf) - 1)
					continue;
			}
			verdict = r > 0 ? judge(p[i].buf) : -1;
			if (verdict > 0 && p[i].t > *lo)
				*lo = p[i].t;
			else if (verdict == 0 && (!*hi || p[i].t < *hi))
				*hi = p[i].t;
			else if (verdict < 0 && !why[0]) {
				p[i].buf[strcspn(p[i].buf, "\n")] = '\0';
				snprintf(why, len, "the server's %u s probe: %.100s", p[i].t,
					 r > 0 ? p[i].buf : "its connection closed or was reset");
			}
			line_probe_end(&p[i]);
			open--;
		}
	}
	for (int i = 0; i < n; i++)
		line_probe_end(&p[i]);
}

/* TCP: a fresh connection to the server asks PROBE IDLE T and stays idle; the
 * server's "PROBED IDLE alive" T seconds on reaches it while the NAT keeps the
 * connection's mapping (else the NAT drops it, or answers the server with an
 * RST). The same rounds as UDP's: T = 1, 2, 4, ... 256 s side by side until the
 * first death, then eight steps between. */
#define TCP_MARGIN_MS 1000

static int idle_judge(const char *line)
{
	/* else: closed, reset before its time, another answer */
	return !strncmp(line, "PROBED IDLE alive\n", 18) ? 1 : -1;
}

/* one round of probes of the given lengths; lo, hi as in struct life */
static void tcp_round(const struct sockaddr_in *server, const unsigned *t, int n, unsigned *lo, unsigned *hi,
		      char *why, size_t len)
{
	struct line_probe p[PROBES];

	for (int i = 0; i < n; i++) {
		char line[32];
		int k = snprintf(line, sizeof(line), "PROBE IDLE %u\n", t[i]);

		p[i] = (struct line_probe){ .fd = tcp_to(server, 0, 2000), .sock = -1, .t = t[i] };
		if (p[i].fd >= 0 && send(p[i].fd, line, (size_t)k, MSG_NOSIGNAL) != k)
			line_probe_end(&p[i]);
		if (p[i].fd < 0 && !why[0])
			snprintf(why, len, "no connection to the server");
		/* from the request on: its connection may have taken a SYN retransmission */
		p[i].due = now_s() + t[i] + TCP_MARGIN_MS / 1e3;
	}
	lines_wait(p, n, idle_judge, true, lo, hi, why, len);
}

void tcp_lifetime(const struct sockaddr_in *server, struct verdict *v)
{
	unsigned t[PROBES], lo = 0, hi = 0;
	char why[200] = "";

	for (int i = 0; i < PROBES; i++)
		t[i] = 1u << i;
	tcp_round(server, t, PROBES, &lo, &hi, why, sizeof(why));
	if (hi > lo + 1)
		tcp_round(server, t, steps_between(lo, hi, t, PROBES), &lo, &hi, why, sizeof(why));
	if (!hi && !lo)
		snprintf(v->evidence, sizeof(v->evidence), "no probe could run%s", why[0] ? " (connections failed)" : "");
	else if (!hi && lo == LONGEST)
		snprintf(v->evidence, sizeof(v->evidence), "an idle TCP connection still lived after %u s, the longest tried",
			 LONGEST);
	else if (!hi)
		snprintf(v->evidence, sizeof(v->evidence), "an idle TCP connection lived %u s; the longer probes failed "
			 "(refused, reset or cut), so no lifetime", lo);
	else {
		snprintf(v->value, sizeof(v->value), "%u", hi);
		snprintf(v->evidence, sizeof(v->evidence),
			 "an idle established TCP connection's mapping lived %u s and not %u s (the server's PROBE IDLE)",
			 lo, hi);
	}
}

/* SYN_SENT: how long a NAT keeps the entry of a SYN that nothing has answered
 * (tcp_syn_sent_timeout), the time a punch's first SYN holds its hole open for
 * the partner's. A probe is one SYN and nothing else: a SYN socket's own
 * retransmissions would reach the NAT after the entry has gone and open a new
 * one (Linux's come at 1, 3, 7 ... s). So the SYN is sent on a raw socket, and
 * a socket made for it by TCP_REPAIR stands in for the connection that sent it:
 * established without a handshake, its sequence numbers the SYN's and the
 * server's. The server (PROBE SYNLIFE T) swallows the SYN, and T s after it
 * came answers with a SYN-ACK whose own seq is the SYN's; while the NAT keeps
 * the entry it lets that through, the socket acknowledges it (an ACK, which
 * nothing but that socket sends), and the server says answered; past the
 * entry's life the NAT drops or refuses it (none, rst). Needs CAP_NET_ADMIN
 * and CAP_NET_RAW. Rounds as tcp_lifetime's: T = 1, 2, 4 ... 128 s side by side
 * (the server takes 8 probes at once from one address), then eight steps
 * between the longest that lived and the shortest that did not. */
#define SYN_PROBES 8
#define SYN_LONGEST 128

/* established by TCP_REPAIR from self to `to`, both sides' next seq isn + 1
 * (the server's SYN-ACK takes the SYN's seq as its own); its port into *port */
static int stand_in(struct in_addr self, const struct sockaddr_in *to, uint32_t isn, uint16_t *port)
{
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_addr = self };
	socklen_t l = sizeof(at);
	uint32_t next = isn + 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &(int){ TCP_REPAIR_ON }, sizeof(int)) ||
	    bind(fd, (struct sockaddr *)&at, sizeof(at)) || getsockname(fd, (struct sockaddr *)&at, &l) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &(int){ TCP_SEND_QUEUE }, sizeof(int)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &next, sizeof(next)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &(int){ TCP_RECV_QUEUE }, sizeof(int)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &next, sizeof(next)) ||
	    connect(fd, (const struct sockaddr *)to, sizeof(*to)) ||
	    /* out of repair without the window probe it would send: nothing leaves */
	    setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &(int){ TCP_REPAIR_OFF_NO_WP }, sizeof(int))) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	*port = ntohs(at.sin_port);
	return fd;
}

/* one probe asked and its SYN sent; -1 with why (a server's ERR), -2 where
 * this host cannot (no capability): the next would fail alike */
static int syn_launch(const struct sockaddr_in *server, int raw, unsigned t, struct line_probe *p, char *why,
		      size_t len)
{
	char line[PROTO_LINE_MAX];
	struct sockaddr_in self, to = *server, from;
	socklen_t l = sizeof(self);
	struct tcphdr seg;
	struct msg m;
	const char *perr;
	uint32_t isn;
	uint16_t port;
	int k;

	*p = (struct line_probe){ .fd = tcp_to(server, 0, 2000), .sock = -1, .t = t };
	if (p->fd < 0)
		return snprintf(why, len, "no connection to the server: %s", strerror(errno)), -1;
	/* the answer comes on this connection after the wait: a keepalive each second
	 * keeps its own mapping (an idle one may live shorter than the wait) */
	if (setsockopt(p->fd, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 }, sizeof(int)) ||
	    setsockopt(p->fd, IPPROTO_TCP, TCP_KEEPIDLE, &(int){ 1 }, sizeof(int)) ||
	    setsockopt(p->fd, IPPROTO_TCP, TCP_KEEPINTVL, &(int){ 1 }, sizeof(int)))
		return snprintf(why, len, "keepalive: %s", strerror(errno)), -1;
	k = snprintf(line, sizeof(line), "PROBE SYNLIFE %u\n", t);
	if (send(p->fd, line, (size_t)k, MSG_NOSIGNAL) != k)
		return snprintf(why, len, "the server closed the connection"), -1;
	if (!line_from(p->fd, line, sizeof(line), 3000) || proto_parse(line, &m, &perr) || m.type != MSG_PROBING ||
	    !m.port)
		return snprintf(why, len, "the server did not take PROBE SYNLIFE: %.120s", line[0] ? line : "no answer"), -1;
	to.sin_port = htons(m.port);
	if (getsockname(p->fd, (struct sockaddr *)&self, &l) || getrandom(&isn, sizeof(isn), 0) != sizeof(isn))
		return snprintf(why, len, "%s", strerror(errno)), -1;
	p->sock = stand_in(self.sin_addr, &to, isn, &port);
	if (p->sock < 0)
		return snprintf(why, len, "a SYN's stand-in socket (TCP_REPAIR): %s%s", strerror(errno),
				errno == EPERM ? " (it needs CAP_NET_ADMIN: run as root)" : ""),
		       errno == EPERM || errno == EACCES ? -2 : -1;
	from = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = self.sin_addr, .sin_port = htons(port) };
	tcpseg_make(&seg, &from, &to, isn, 0, TH_SYN);
	if (sendto(raw, &seg, sizeof(seg), 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)sizeof(seg))
		return snprintf(why, len, "the SYN was not sent: %s", strerror(errno)),
		       errno == EPERM || errno == EACCES ? -2 : -1;
	/* the server's wait, its sweep, its SYN-ACK's round trip and its own wait */
	p->due = now_s() + t + 5;
	return 0;
}

static int synlife_judge(const char *line)
{
	if (!strncmp(line, "PROBED SYNLIFE answered\n", 24))
		return 1;
	return !strncmp(line, "PROBED SYNLIFE none\n", 20) || !strncmp(line, "PROBED SYNLIFE rst\n", 19) ? 0 : -1;
}

static void syn_round(const struct sockaddr_in *server, int raw, const unsigned *t, int n, unsigned *lo, unsigned *hi,
		      char *why, size_t len)
{
	struct line_probe p[SYN_PROBES];

	for (int i = 0; i < n; i++) {
		char mine[160];
		int rc = syn_launch(server, raw, t[i], &p[i], mine, sizeof(mine));

		if (rc) {
			if (!why[0])
				snprintf(why, len, "%s", mine);
			line_probe_end(&p[i]);
		}
		if (rc == -2) { /* none launched after it: their server probes would be left waiting */
			n = i + 1;
			break;
		}
	}
	lines_wait(p, n, synlife_judge, false, lo, hi, why, len);
}

void tcp_syn_sent_lifetime(const struct sockaddr_in *server, struct verdict *v)
{
	unsigned t[SYN_PROBES], lo = 0, hi = 0;
	char why[200] = "";
	int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);

	if (raw < 0) {
		snprintf(v->evidence, sizeof(v->evidence), "%s: the one SYN goes on a raw socket, which needs "
			 "CAP_NET_RAW (and its stand-in socket CAP_NET_ADMIN): run as root", strerror(errno));
		return;
	}
	for (int i = 0; i < SYN_PROBES; i++)
		t[i] = 1u << i;
	syn_round(server, raw, t, SYN_PROBES, &lo, &hi, why, sizeof(why));
	if (hi > lo + 1)
		syn_round(server, raw, t, steps_between(lo, hi, t, SYN_PROBES), &lo, &hi, why, sizeof(why));
	close(raw);
	if (!hi && why[0])
		snprintf(v->evidence, sizeof(v->evidence), "no lifetime: %s", why);
	else if (!hi && lo == SYN_LONGEST)
		snprintf(v->evidence, sizeof(v->evidence), "an unanswered SYN's entry still lived after %u s, the "
			 "longest tried", SYN_LONGEST);
	else if (!hi)
		snprintf(v->evidence, sizeof(v->evidence), "no probe could tell (the longest that lived: %u s)", lo);
	else {
		snprintf(v->value, sizeof(v->value), "%u", hi);
		/* a probe that failed may have left the bracket wider: said */
		snprintf(v->evidence, sizeof(v->evidence),
			 "an unanswered SYN's entry lived %u s and not %u s (one SYN, the server's SYN-ACK that "
			 "long after it: PROBE SYNLIFE)%s%.90s", lo, hi, why[0] ? "; a probe failed: " : "", why);
	}
}
