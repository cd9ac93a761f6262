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
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/libre.h"
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
		unsigned step = (l->hi - l->lo + 7) / 8;

		l->refining = true;
		for (unsigned t = l->lo + step, i = 0; t < l->hi && i < PROBES; t += step, i++)
			launch(l, (int)i, t);
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

/* TCP: a fresh connection to the server asks PROBE IDLE T and stays idle; the
 * server's "PROBED IDLE alive" T seconds on reaches it while the NAT keeps the
 * connection's mapping (else the NAT drops it, or answers the server with an
 * RST). The same rounds as UDP's: T = 1, 2, 4, ... 256 s side by side until the
 * first death, then eight steps between. */
#define TCP_MARGIN_MS 1000

struct idle_probe {
	int fd;
	unsigned t;
	double due; /* monotonic s: the answer is late past this */
	char buf[64];
	size_t len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* one round of probes of the given lengths; lo, hi as in struct life */
static void tcp_round(const struct sockaddr_in *server, const unsigned *t, int n, unsigned *lo, unsigned *hi,
		      bool *failed)
{
	struct idle_probe p[PROBES];
	int open = 0;

	for (int i = 0; i < n; i++) {
		char line[32];
		int k = snprintf(line, sizeof(line), "PROBE IDLE %u\n", t[i]);

		p[i] = (struct idle_probe){ .fd = tcp_to(server, 0, 2000), .t = t[i] };
		if (p[i].fd >= 0 && send(p[i].fd, line, (size_t)k, MSG_NOSIGNAL) != k) {
			close(p[i].fd);
			p[i].fd = -1;
		}
		/* from the request on: its connection may have taken a SYN retransmission */
		p[i].due = now_s() + t[i] + TCP_MARGIN_MS / 1e3;
		*failed |= p[i].fd < 0;
		open += p[i].fd >= 0;
	}
	while (open) {
		struct pollfd pf[PROBES];
		double next = 1e18, now = now_s();

		for (int i = 0; i < n; i++) {
			pf[i] = (struct pollfd){ .fd = p[i].fd, .events = POLLIN };
			/* past a death, the longer ones are not waited for */
			if (p[i].fd >= 0 && ((*hi && p[i].t >= *hi) || now >= p[i].due)) {
				if (now >= p[i].due && (!*hi || p[i].t < *hi))
					*hi = p[i].t;
				close(p[i].fd);
				p[i].fd = pf[i].fd = -1;
				open--;
			} else if (p[i].fd >= 0 && p[i].due < next)
				next = p[i].due;
		}
		if (!open)
			break;
		if (poll(pf, (nfds_t)n, (int)((next - now) * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			*failed = true;
			break;
		}
		for (int i = 0; i < n; i++) {
			ssize_t r;

			if (p[i].fd < 0 || !pf[i].revents)
				continue;
			r = recv(p[i].fd, p[i].buf + p[i].len, sizeof(p[i].buf) - 1 - p[i].len, 0);
			if (r > 0) {
				p[i].len += (size_t)r;
				p[i].buf[p[i].len] = '\0';
				if (!strstr(p[i].buf, "\n") && p[i].len < sizeof(p[i].buf) - 1)
					continue;
			}
			if (r > 0 && !strncmp(p[i].buf, "PROBED IDLE alive\n", 18)) {
				if (p[i].t > *lo)
					*lo = p[i].t;
			} else
				*failed = true; /* closed, reset before its time, or another answer */
			close(p[i].fd);
			p[i].fd = -1;
			open--;
		}
	}
	for (int i = 0; i < n; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
}

void tcp_lifetime(const struct sockaddr_in *server, struct verdict *v)
{
	unsigned t[PROBES], lo = 0, hi = 0;
	bool failed = false;
	int n = 0;

	for (int i = 0; i < PROBES; i++)
		t[i] = 1u << i;
	tcp_round(server, t, PROBES, &lo, &hi, &failed);
	if (hi > lo + 1) {
		unsigned step = (hi - lo + 7) / 8;

		for (unsigned x = lo + step; x < hi && n < PROBES; x += step)
			t[n++] = x;
		tcp_round(server, t, n, &lo, &hi, &failed);
	}
	if (!hi && !lo)
		snprintf(v->evidence, sizeof(v->evidence), "no probe could run%s", failed ? " (connections failed)" : "");
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
