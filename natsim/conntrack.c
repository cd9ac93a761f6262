#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/libnfct.h"
#include "conntrack.h"

const char *ct_tcp_state_name(int state)
{
	static const char *const names[] = { "NONE",	   "SYN_SENT", "SYN_RECV",  "ESTABLISHED",
					     "FIN_WAIT",   "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
					     "CLOSE",	   "SYN_SENT2" };

	return state >= 0 && state < 10 ? names[state] : "";
}

const char *ct_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_ICMP ? "icmp" : "other";
}

struct dump_ctx {
	const struct nfct_api *nfct;
	ct_entry_fn fn;
	void *arg;
	int rc;
};

/* One ctnetlink message into an entry: libnetfilter_conntrack reads it. */
static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	const struct nfct_api *nf = c->nfct;
	struct nf_conntrack *ct = nf->nfct_new();
	struct ct_entry e = { .tcp_state = -1 };

	if (!ct || nf->nfct_nlmsg_parse(nlh, ct) < 0) {
		if (ct)
			nf->nfct_destroy(ct);
		return MNL_CB_OK; /* not an entry we can read: as if not there */
	}
	e.proto = nf->nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	e.orig.src.s_addr = nf->nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);
	e.orig.dst.s_addr = nf->nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);
	e.orig.sport = ntohs(nf->nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
	e.orig.dport = ntohs(nf->nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	e.reply.src.s_addr = nf->nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC);
	e.reply.dst.s_addr = nf->nfct_get_attr_u32(ct, ATTR_REPL_IPV4_DST);
	e.reply.sport = ntohs(nf->nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	e.reply.dport = ntohs(nf->nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST));
	e.status = nf->nfct_get_attr_u32(ct, ATTR_STATUS);
	e.timeout = nf->nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	if (nf->nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0)
		e.tcp_state = nf->nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	nf->nfct_destroy(ct);
	if (c->fn(&e, c->arg)) {
		c->rc = -1;
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

/* A ctnetlink socket in namespace ns_fd, joined to `groups` (NF_NETLINK_CONNTRACK_*
 * bits); the thread comes back to where it was. */
static struct mnl_socket *ct_open_groups(int ns_fd, unsigned groups, struct diag *d)
{
	struct mnl_socket *nl = NULL;
	int back = -1;

	if (ns_fd >= 0) {
		back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (back < 0 || setns(ns_fd, CLONE_NEWNET)) {
			diag_set(d, "setns: %s", strerror(errno));
			if (back >= 0)
				close(back);
			return NULL;
		}
	}
	/* close-on-exec: a watch's sockets must not live on in the lab's programs */
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (nl && mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID)) {
		mnl_socket_close(nl);
		nl = NULL;
	}
	if (!nl)
		diag_set(d, "ctnetlink: %s", strerror(errno));
	if (back >= 0) {
		if (setns(back, CLONE_NEWNET) && nl) {
			diag_set(d, "setns back: %s", strerror(errno));
			mnl_socket_close(nl);
			nl = NULL;
		}
		close(back);
	}
	return nl;
}

static struct mnl_socket *ct_open(int ns_fd, struct diag *d)
{
	return ct_open_groups(ns_fd, 0, d);
}

/* A ctnetlink request's header in buf: message msg, NLM_F_REQUEST | flags, seq. */
static struct nlmsghdr *ct_header(char *buf, uint8_t msg, uint16_t flags, unsigned seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfh;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
	nfh->nfgen_family = AF_INET;
	nfh->version = NFNETLINK_V0;
	nfh->res_id = 0;
	return nlh;
}

static int ct_request(int ns_fd, uint8_t msg, uint16_t flags, ct_entry_fn fn, void *arg,
		      struct diag *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfct_api nfct = { 0 };
	struct mnl_socket *nl;
	struct dump_ctx c = { .nfct = &nfct, .fn = fn, .arg = arg };
	struct nlmsghdr *nlh;
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int ret = MNL_CB_OK;

	/* the library reads the entries; a flush has none to read */
	if (fn && nfct_api_load(&nfct, d))
		return -1;
	nl = ct_open(ns_fd, d);
	if (!nl) {
		nfct_api_unload(&nfct);
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = ct_header(buf, msg, flags, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		mnl_socket_close(nl);
		nfct_api_unload(&nfct);
		return diag_set(d, "ctnetlink send: %s", strerror(errno));
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, fn ? entry_cb : NULL, &c);
		if (ret <= MNL_CB_STOP)
			break;
	}
	mnl_socket_close(nl);
	nfct_api_unload(&nfct);
	if (c.rc)
		return -1;
	if (n < 0 || ret == MNL_CB_ERROR) {
		/* an empty table in a namespace that never used conntrack answers ENOENT */
		if (errno == ENOENT)
			return 0;
		return diag_set(d, "ctnetlink: %s", strerror(errno));
	}
	return 0;
}

int ct_dump(int ns_fd, ct_entry_fn fn, void *arg, struct diag *d)
{
	return ct_request(ns_fd, IPCTNL_MSG_CT_GET, NLM_F_DUMP, fn, arg, d);
}

int ct_flush(int ns_fd, struct diag *d)
{
	return ct_request(ns_fd, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, NULL, NULL, d);
}

bool ct_entry_mapping(const struct ct_entry *e, struct ct_mapping *m)
{
	memset(m, 0, sizeof(*m));
	if (e->status & IPS_DST_NAT && !(e->status & IPS_SRC_NAT)) {
		/* opened from outside: orig is remote -> external, reply is internal -> remote */
		m->inbound = true;
		m->int_addr = e->reply.src;
		m->int_port = e->reply.sport;
		m->ext_addr = e->orig.dst;
		m->ext_port = e->orig.dport;
		m->remote_addr = e->orig.src;
		m->remote_port = e->orig.sport;
		return true;
	}
	if (!(e->status & IPS_SRC_NAT))
		return false;
	m->int_addr = e->orig.src;
	m->int_port = e->orig.sport;
	m->ext_addr = e->reply.dst;
	m->ext_port = e->reply.dport;
	m->remote_addr = e->orig.dst;
	m->remote_port = e->orig.dport;
	return true;
}

struct ct_watch {
	struct nfct_api nfct;
	struct mnl_socket *events, *req;
	struct ct_entry *seen;
	size_t n, cap;
	bool lost; /* the socket overflowed: entries were made that we did not see */
};

struct ct_watch *ct_watch_open(int ns_fd, struct diag *d)
{
	struct ct_watch *w = calloc(1, sizeof(*w));
	int big = 1 << 20;

	if (!w) {
		diag_set(d, "out of memory");
		return NULL;
	}
	if (nfct_api_load(&w->nfct, d)) {
		free(w);
		return NULL;
	}
	w->events = ct_open_groups(ns_fd, NF_NETLINK_CONNTRACK_NEW, d);
	w->req = w->events ? ct_open(ns_fd, d) : NULL;
	if (!w->req) {
		ct_watch_close(w);
		return NULL;
	}
	/* a whole attempt's entries wait here between two reads */
	setsockopt(mnl_socket_get_fd(w->events), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	fcntl(mnl_socket_get_fd(w->events), F_SETFL, O_NONBLOCK);
	return w;
}

void ct_watch_close(struct ct_watch *w)
{
	if (!w)
		return;
	if (w->events)
		mnl_socket_close(w->events);
	if (w->req)
		mnl_socket_close(w->req);
	nfct_api_unload(&w->nfct);
	free(w->seen);
	free(w);
}

static int keep_entry(const struct ct_entry *e, void *arg)
{
	struct ct_watch *w = arg;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 32;
		struct ct_entry *v = realloc(w->seen, cap * sizeof(*v));

		if (!v) {
			w->lost = true;
			return 0;
		}
		w->seen = v;
		w->cap = cap;
	}
	w->seen[w->n++] = *e;
	return 0;
}

/* Takes in every event that has arrived. */
static void watch_drain(struct ct_watch *w)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx c = { .nfct = &w->nfct, .fn = keep_entry, .arg = w };
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(w->events, buf, sizeof(buf));
		if (n > 0) {
			mnl_cb_run(buf, (size_t)n, 0, 0, entry_cb, &c);
		} else if (n < 0 && errno == ENOBUFS) {
			w->lost = true; /* some were dropped: read on, the caller flushes */
		} else {
			break;
		}
	}
}

int ct_watch_each(struct ct_watch *w, ct_entry_fn fn, void *arg)
{
	watch_drain(w);
	for (size_t i = 0; i < w->n; i++)
		if (fn(&w->seen[i], arg))
			return -1;
	return 0;
}

/* The delete request for one entry, named by its original tuple. */
static int put_tuple(const struct nfct_api *nf, struct nlmsghdr *nlh, uint8_t proto, const struct ct_tuple *t)
{
	struct nf_conntrack *ct = nf->nfct_new();
	int rc;

	if (!ct)
		return -1;
	nf->nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nf->nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, proto);
	nf->nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, t->src.s_addr);
	nf->nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, t->dst.s_addr);
	nf->nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(t->sport));
	nf->nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(t->dport));
	rc = nf->nfct_nlmsg_build(nlh, ct);
	nf->nfct_destroy(ct);
	return rc;
}

/* Deletes entry e (request number seq) by its original tuple; one with no ports
 * to name it by is left to age out. */
static int ct_delete(struct ct_watch *w, const struct ct_entry *e, unsigned seq, struct diag *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(w->req);
	struct nlmsghdr *nlh;
	ssize_t n;

	if (e->proto != IPPROTO_TCP && e->proto != IPPROTO_UDP)
		return 0;
	nlh = ct_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, seq);
	if (put_tuple(&w->nfct, nlh, e->proto, &e->orig) < 0 || mnl_socket_sendto(w->req, nlh, nlh->nlmsg_len) < 0)
		return diag_set(d, "ctnetlink delete: %s", strerror(errno));
	n = mnl_socket_recvfrom(w->req, buf, sizeof(buf)); /* the answer overwrites nlh */
	/* gone already (timed out, or closed and reaped) is as good as deleted */
	if (n <= 0 || (mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0 && errno != ENOENT))
		return diag_set(d, "ctnetlink delete: %s", strerror(errno));
	return 0;
}

int ct_watch_forget(struct ct_watch *w, struct diag *d)
{
	int rc = 0;

	watch_drain(w);
	for (size_t i = 0; i < w->n && !rc; i++)
		rc = ct_delete(w, &w->seen[i], (unsigned)i + 1, d);
	w->n = 0;
	if (w->lost && !rc)
		rc = diag_set(d, "ctnetlink events were lost");
	w->lost = false;
	return rc;
}

int ct_watch_forget_strays(struct ct_watch *w, struct diag *d)
{
	size_t kept = 0;
	int strays = 0, rc = 0;

	watch_drain(w);
	for (size_t i = 0; i < w->n; i++) {
		const struct ct_entry *e = &w->seen[i];

		/* a connection's first packet is its SYN: an entry born in any other
		 * state was picked up from the middle of one */
		if (e->proto != IPPROTO_TCP || e->tcp_state < 0 || e->tcp_state == TCP_CONNTRACK_SYN_SENT) {
			w->seen[kept++] = *e;
			continue;
		}
		if (ct_delete(w, e, (unsigned)i + 1, d)) {
			w->seen[kept++] = *e; /* still watched: the next forget tries again */
			rc = -1;
			continue;
		}
		strays++;
	}
	w->n = kept;
	return rc ? rc : strays;
}
