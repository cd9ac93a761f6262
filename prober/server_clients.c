/* The server's connections: accepting them within the limits, reading their
 * lines, writing to them without waiting, closing them when a step is overdue. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/timing.h"
#include "protocol.h"
#include "server.h"

void drop_client(struct server *s, int ci)
{
	struct client *c = &s->c[ci];

	if (c->fd < 0)
		return;
	probe_end(s, ci, NULL);
	if (c->idle_until) {
		c->idle_until = 0;
		s->n_idles--;
	}
	if (c->attempt >= 0) {
		struct attempt *a = &s->a[c->attempt];

		a->client[c->side] = -1;
		udp_wait_end(s, a);
		if (a->client[0] < 0 && a->client[1] < 0)
			memset(a, 0, sizeof(*a)); /* free */
	}
	close(c->fd); /* leaves the epoll set with it */
	c->fd = -1;
	s->n_clients--;
}

void say(struct server *s, int ci, const char *fmt, ...)
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
void refuse(struct server *s, int ci, const char *why)
{
	say(s, ci, "ERR %s", why);
	drop_client(s, ci);
}

time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* STUN over TCP: messages back to back, each as long as its header says; each
 * answered on the connection */
static void read_stun(struct server *s, int ci)
{
	struct client *c = &s->c[ci];

	while (c->fd >= 0 && c->len >= 20) {
		size_t n = 20 + ((size_t)(unsigned char)c->buf[2] << 8 | (unsigned char)c->buf[3]);
		struct sockaddr_in from, to;
		socklen_t l1 = sizeof(from), l2 = sizeof(to);
		struct stun_answer a;

		if (n > sizeof(c->buf))
			return drop_client(s, ci);
		if (c->len < n)
			return;
		if (!s->stun_on || !stuns_load(&s->stun) || getpeername(c->fd, (struct sockaddr *)&from, &l1) ||
		    getsockname(c->fd, (struct sockaddr *)&to, &l2) ||
		    !stuns_answer(&s->stun, (const uint8_t *)c->buf, n, &from, to.sin_addr,
				  stuns_port_index(&s->stun, ntohs(to.sin_port)), true, &a) ||
		    send(c->fd, a.buf, a.len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)a.len)
			/* not STUN, or not answerable: no more of it */
			return drop_client(s, ci);
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
		c->deadline = now_s() + s->lim.idle_s;
	}
}

void read_client(struct server *s, int ci)
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
	/* a STUN message starts with two zero bits, a line with a letter (RFC 7983):
	 * the connection's first byte says which it speaks, for good */
	if (!c->spoken && (c->buf[0] & 0xc0) == 0)
		c->stun = true;
	c->spoken = true;
	if (c->stun)
		return read_stun(s, ci);
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

/* Room for one more: the oldest connection that has not said HELLO makes it. */
static int evict_one(struct server *s)
{
	int old = -1;

	for (int i = 0; i < s->max_clients; i++)
		if (s->c[i].fd >= 0 && s->c[i].attempt < 0 &&
		    (old < 0 || s->c[i].since < s->c[old].since))
			old = i;
	if (old >= 0 && s->c[old].stun)
		drop_client(s, old); /* no line in a STUN stream */
	else if (old >= 0)
		refuse(s, old, "server full");
	return old;
}

void accept_clients(struct server *s, int lfd)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	int fd;

	for (;;) {
		fd = accept4(lfd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		/* out of descriptors: a connection that has not said HELLO makes room, or
		 * the listener would stay readable and the loop spin */
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && evict_one(s) >= 0)
			continue;
		if (fd < 0)
			break;
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
		s->c[ci] = (struct client){ .fd = fd, .since = now_s(), .from = from.sin_addr, .attempt = -1,
					    .probe_fd = -1, .probe_aux = -1 };
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
void expire(struct server *s, time_t now)
{
	for (int i = 0; i < s->max_clients; i++) {
		struct client *c = &s->c[i];

		if (c->fd < 0 || now < c->deadline)
			continue;
		if (c->stun)
			drop_client(s, i); /* no line in a STUN stream */
		else if (c->attempt < 0)
			refuse(s, i, "no HELLO in time");
		else if (!s->a[c->attempt].go_sent)
			refuse(s, i, "no partner in time");
		else
			drop_client(s, i);
	}
}

/* As many clients as the descriptor limit allows, up to MAX_CLIENTS. */
int client_room(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 64;
	if (rl.rlim_cur < MAX_CLIENTS + FD_RESERVE && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < MAX_CLIENTS + FD_RESERVE ? rl.rlim_max : MAX_CLIENTS + FD_RESERVE;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur >= MAX_CLIENTS + FD_RESERVE ? MAX_CLIENTS
	       : rl.rlim_cur > FD_RESERVE + 16	   ? (int)(rl.rlim_cur - FD_RESERVE)
						   : 16;
}
