#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../peer.h"
#include "strategies.h"

/* STUNT #2: side 0 sends its SYN with a TTL that expires past its own NATs, so it
 * opens them without reaching (and upsetting) the other side's NAT, then waits in
 * SYN_SENT; told through the relay, side 1 dials an ordinary SYN into that opening,
 * and the two sockets meet in a simultaneous open. */
void lowttl(struct peer *p)
{
	double until = mono() + p->deadline_s, start = mono();
	int fd = -1, normal = 64, err = 0, conn = -1;
	socklen_t el = sizeof(err);

	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	if (p->side == 1) {
		if (!relay_wait(p, "04", until))
			return;
		punch_tcp(p);
		return;
	}
	fd = reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port);
	if (fd < 0)
		return;
	p->tries = 1;
	setsockopt(fd, IPPROTO_IP, IP_TTL, &p->low_ttl, sizeof(p->low_ttl));
	connect(fd, (struct sockaddr *)&p->go.peer_tcp, sizeof(p->go.peer_tcp));
	usleep(1000); /* the SYN is out: the rest of the handshake goes at a normal TTL */
	setsockopt(fd, IPPROTO_IP, IP_TTL, &normal, sizeof(normal));
	dprintf(p->rv, "RELAY 04\n"); /* OPEN */
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		double left = until - mono();

		if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			break;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (!err)
			conn = fd;
		else
			p->err = err;
		break;
	}
	p->syn_retrans = total_retrans(fd);
	if (conn >= 0) {
		p->connect_ms = (mono() - start) * 1000;
		p->nonce_ok = exchange_nonce(p, conn);
		p->outcome = p->nonce_ok ? "connected" : "wrong-peer";
		p->err = 0;
	} else if (p->err != ETIMEDOUT) {
		p->outcome = p->err == ECONNREFUSED ? "refused" : p->err == ECONNRESET ? "reset" : "unreachable";
	}
	close(fd);
}
