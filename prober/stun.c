#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stun.h"

#define STUN_COOKIE 0x2112a442u

bool stuns_looks_like(const void *buf, size_t n)
{
	const uint8_t *b = buf;

	return n >= 20 && (b[0] & 0xc0) == 0 &&
	       ((uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7]) == STUN_COOKIE;
}

/* the host's IPv4 addresses, rv's first */
static void host_addresses(struct stun_server *st, const struct sockaddr_in *rv)
{
	struct ifaddrs *all, *i;

	st->n_addr = 0;
	if (rv && rv->sin_addr.s_addr != htonl(INADDR_ANY))
		st->addr[st->n_addr++] = rv->sin_addr;
	if (getifaddrs(&all))
		return;
	for (i = all; i && st->n_addr < STUN_MAX_ADDRS; i = i->ifa_next) {
		struct in_addr a;
		bool known = false;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		for (int k = 0; k < st->n_addr; k++)
			known |= st->addr[k].s_addr == a.s_addr;
		if (!known)
			st->addr[st->n_addr++] = a;
	}
	freeifaddrs(all);
}

static int addr_socket(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr };
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int addr_listener(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* TIME_WAIT of a last run's connections is no reason to fail */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 64)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

bool stuns_load(struct stun_server *st)
{
	struct diag d;

	if (st->re.lib)
		return true;
	if (st->re_failed)
		return false;
	if (re_api_load(&st->re, &d)) {
		st->re_failed = true;
		fprintf(stderr, "natlab-probe server: %s; STUN goes unanswered\n", d.msg);
		return false;
	}
	return true;
}

int stuns_port_index(const struct stun_server *st, uint16_t port)
{
	return port == st->port[0] ? 0 : port == st->port[1] ? 1 : -1;
}

int stuns_open(struct stun_server *st, uint16_t port, int shared, const struct sockaddr_in *rv,
	       struct diag *d)
{
	memset(st, 0, sizeof(*st));
	for (int a = 0; a < STUN_MAX_ADDRS; a++)
		st->sock[a][0] = st->sock[a][1] = st->lsock[a][0] = st->lsock[a][1] = -1;
	if (port == 0 || port == 65535)
		return diag_set(d, "STUN port %u: wants 1 to 65534 (it takes the next one too)", port);
	st->port[0] = port;
	st->port[1] = port + 1;
	host_addresses(st, rv);
	for (int p = 0; p < 2; p++)
		for (int a = 0; a < st->n_addr; a++) {
			char ip[INET_ADDRSTRLEN];

			if (shared >= 0 && rv && ntohs(rv->sin_port) == st->port[p] &&
			    (rv->sin_addr.s_addr == htonl(INADDR_ANY) || rv->sin_addr.s_addr == st->addr[a].s_addr)) {
				st->sock[a][p] = shared;
				continue;
			}
			st->lsock[a][p] = addr_listener(st->addr[a], st->port[p]);
			if (st->lsock[a][p] < 0) {
				diag_set(d, "STUN over TCP on %s:%u: %s",
					 inet_ntop(AF_INET, &st->addr[a], ip, sizeof(ip)), st->port[p], strerror(errno));
				stuns_close(st);
				return -1;
			}
			st->sock[a][p] = addr_socket(st->addr[a], st->port[p]);
			if (st->sock[a][p] < 0) {
				diag_set(d, "STUN on %s:%u: %s", inet_ntop(AF_INET, &st->addr[a], ip, sizeof(ip)),
					 st->port[p], strerror(errno));
				stuns_close(st);
				return -1;
			}
			st->own[a][p] = true;
		}
	return 0;
}

void stuns_close(struct stun_server *st)
{
	for (int a = 0; a < STUN_MAX_ADDRS; a++)
		for (int p = 0; p < 2; p++) {
			if (st->own[a][p] && st->sock[a][p] >= 0)
				close(st->sock[a][p]);
			if (st->lsock[a][p] >= 0)
				close(st->lsock[a][p]);
			st->sock[a][p] = st->lsock[a][p] = -1;
			st->own[a][p] = false;
		}
	re_api_unload(&st->re);
}

static struct sa sa_of(struct in_addr a, uint16_t port)
{
	struct sa s;

	memset(&s, 0, sizeof(s));
	s.u.in.sin_family = AF_INET;
	s.u.in.sin_addr = a;
	s.u.in.sin_port = htons(port);
	s.len = sizeof(s.u.in);
	return s;
}

bool stuns_answer(const struct stun_server *st, const uint8_t *req, size_t n, const struct sockaddr_in *from,
		  struct in_addr to, int port, bool tcp, struct stun_answer *a)
{
	const struct re_api *re = &st->re;
	struct stun_unknown_attr ua = { .typec = 0 };
	struct stun_msg *msg = NULL;
	struct stun_attr *change, *resp_port;
	struct mbuf *in, *out = NULL;
	struct sa mapped, origin, other;
	int self = -1, alt, err;
	bool ok = false;

	/* a datagram is one message, exactly as long as it says (RFC 8489, 6) */
	if (!stuns_looks_like(req, n) || n != 20 + ((size_t)req[2] << 8 | req[3]) || (n & 3) || !re->lib)
		return false;
	/* libre's own memory: the message it decodes holds a reference to it */
	in = re->mbuf_alloc(n);
	if (!in)
		return false;
	memcpy(in->buf, req, n);
	in->end = n;
	if (re->stun_msg_decode(&msg, in, &ua)) {
		re->mem_deref(in);
		return false;
	}
	if (re->stun_msg_class(msg) != STUN_CLASS_REQUEST || re->stun_msg_method(msg) != STUN_METHOD_BINDING)
		goto out;
	for (int k = 0; k < st->n_addr; k++)
		if (st->addr[k].s_addr == to.s_addr)
			self = k;
	if (self < 0 || port < 0 || port > 1)
		goto out;
	alt = (self + 1) % st->n_addr;
	change = re->stun_msg_attr(msg, STUN_ATTR_CHANGE_REQ);
	a->src = to;
	a->port = port;
	a->to_port = 0;
	/* another port of the asker's own address: how a client times a mapping's life */
	if (!tcp && (resp_port = re->stun_msg_attr(msg, STUN_ATTR_RESP_PORT)) && resp_port->v.resp_port)
		a->to_port = resp_port->v.resp_port;
	if (change && change->v.change_req.ip) {
		if (st->n_addr < 2) {
			/* one address: no other to answer from (RFC 5780, 7.2) */
			ua.typev[0] = STUN_ATTR_CHANGE_REQ;
			ua.typec = 1;
		}
		a->src = st->addr[alt];
	}
	if (change && change->v.change_req.port)
		a->port = !port;
	out = re->mbuf_alloc(STUN_ANSWER_MAX);
	if (!out)
		goto out;
	if (ua.typec || (tcp && change && (change->v.change_req.ip || change->v.change_req.port))) {
		struct stun_errcode ec = { 420, "Unknown Attribute" };

		if (!ua.typec)
			ec = (struct stun_errcode){ 400, "CHANGE-REQUEST over TCP" };
		a->src = to;
		a->port = port;
		err = re->stun_msg_encode(out, STUN_METHOD_BINDING, STUN_CLASS_ERROR_RESP, re->stun_msg_tid(msg),
					  &ec, NULL, 0, true, 0x00, 1, STUN_ATTR_UNKNOWN_ATTR, ua.typec ? &ua : NULL);
	} else {
		mapped = sa_of(from->sin_addr, ntohs(from->sin_port));
		origin = sa_of(a->src, st->port[a->port]);
		other = sa_of(st->addr[alt], st->port[!port]);
		err = re->stun_msg_encode(out, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS_RESP, re->stun_msg_tid(msg),
					  NULL, NULL, 0, true, 0x00, 4, STUN_ATTR_XOR_MAPPED_ADDR, &mapped,
					  STUN_ATTR_MAPPED_ADDR, &mapped, STUN_ATTR_RESP_ORIGIN, &origin,
					  STUN_ATTR_OTHER_ADDR, st->n_addr > 1 ? &other : NULL);
	}
	if (!err && out->end <= sizeof(a->buf)) {
		memcpy(a->buf, out->buf, out->end);
		a->len = out->end;
		ok = true;
	}
out:
	re->mem_deref(out);
	re->mem_deref(msg);
	re->mem_deref(in);
	return ok;
}

ssize_t stuns_recv(int fd, void *buf, size_t len, struct sockaddr_in *from, struct in_addr *to)
{
	char ctl[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = from, .msg_namelen = sizeof(*from), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);

	to->s_addr = htonl(INADDR_ANY);
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
			*to = ((struct in_pktinfo *)CMSG_DATA(c))->ipi_addr;
	return n;
}

void stuns_reply(struct stun_server *st, const uint8_t *req, size_t n,
		const struct sockaddr_in *from, struct in_addr to, int port)
{
	struct stun_answer a;
	struct sockaddr_in dst = *from;
	char ctl[CMSG_SPACE(sizeof(struct in_pktinfo))] = { 0 };
	struct iovec iov;
	struct msghdr m = { .msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int fd = -1;

	if (!stuns_looks_like(req, n) || !stuns_load(st) || !stuns_answer(st, req, n, from, to, port, false, &a))
		return;
	for (int k = 0; k < st->n_addr; k++)
		if (st->addr[k].s_addr == a.src.s_addr)
			fd = st->sock[k][a.port];
	if (fd < 0)
		return;
	if (a.to_port)
		dst.sin_port = htons(a.to_port);
	iov.iov_base = a.buf;
	iov.iov_len = a.len;
	/* from the address the answer is due from, whatever the route would pick */
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	((struct in_pktinfo *)CMSG_DATA(c))->ipi_spec_dst = a.src;
	/* a full socket buffer drops the answer, as the network may: the client asks again */
	(void)sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void stuns_read(struct stun_server *st, int k)
{
	uint8_t buf[1500];
	struct sockaddr_in from;
	struct in_addr to;
	ssize_t n;

	for (int i = 0; i < 64 && (n = stuns_recv(st->sock[k / 2][k % 2], buf, sizeof(buf), &from, &to)) >= 0; i++)
		stuns_reply(st, buf, (size_t)n, &from, to.s_addr != htonl(INADDR_ANY) ? to : st->addr[k / 2], k % 2);
}
