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
#include <stdio.h>
#include <string.h>

#include "../common/libre.h"
#include "lifetime.h"

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
