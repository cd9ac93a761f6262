/* so, so-listen and retry: dial the partner's observed endpoint from the
 * rendezvous port; common/strategy.c's listens and retries make the difference.
 * dcutr and lowttl's side 1 dial with it too, once their own timing says so. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/strategy.h"
#include "../peer.h"
#include "strategies.h"

/* Measured in the suite: from the wake-up to the SYN, a socket made and bound took
 * 40 us at the median and up to a millisecond (the kernel's allocations on a busy
 * machine); made ahead, only connect() is left at the instant. A listening socket
 * is bound ahead but listens only from the instant, as the strategy says. */
void punch_prepare(struct peer *p)
{
	const struct strategy *st = strategy_by_name(p->strategy);

	if (st->listens && p->listen_fd < 0)
		p->listen_fd = reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port);
	if (p->dial_fd < 0)
		p->dial_fd = reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port);
}

void punch_tcp(struct peer *p)
{
	double start = mono(), until = start + p->deadline_s;
	const struct strategy *st = strategy_by_name(p->strategy);
	bool listen_too = st->listens;
	bool retry = st->retries;
	int lfd = -1, conn = -1;

	if (listen_too) {
		lfd = p->listen_fd >= 0 ? p->listen_fd : reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port);
		p->listen_fd = -1;
		if (lfd >= 0)
			listen(lfd, 4);
	}
	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	while (conn < 0 && mono() < until) {
		int fd = p->dial_fd >= 0 ? p->dial_fd : reuse_socket(SOCK_STREAM | SOCK_NONBLOCK, p->port);
		bool failed = false;

		p->dial_fd = -1; /* a retry makes its own */
		if (fd < 0) {
			p->outcome = "error";
			p->err = errno;
			break;
		}
		p->tries++;
		/* the SYN leaves within connect(): its path through the NATs is the
		 * lab's, the moment of the call is the peer's */
		mark_sent(p);
		if (connect(fd, (struct sockaddr *)&p->go.peer_tcp, sizeof(p->go.peer_tcp)) &&
		    errno != EINPROGRESS) {
			p->err = errno;
			failed = true;
		}
		timing_calm(&p->tm); /* the SYN is out: urgent no more */
		while (!failed && conn < 0) {
			struct pollfd pf[2] = { { .fd = fd, .events = POLLOUT }, { .fd = lfd, .events = POLLIN } };
			double left = until - mono();
			int err = 0;
			socklen_t el = sizeof(err);

			/* the build lock's window, if held, ends a few ms after the SYN */
			window_end(p, false);
			if (p->window_fd >= 0 && p->window_until - mono() < left)
				left = p->window_until - mono() > 0 ? p->window_until - mono() : 0;
			if (left <= 0 && p->window_fd >= 0)
				continue;
			if (left <= 0 || poll(pf, lfd >= 0 ? 2 : 1, (int)(left * 1000) + 1) < 0)
				break;
			if (lfd >= 0 && (pf[1].revents & POLLIN)) {
				conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (conn >= 0)
					break;
			}
			if (!pf[0].revents)
				continue;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (!err) {
				conn = fd;
				break;
			}
			p->err = err;
			failed = true;
		}
		p->syn_retrans += total_retrans(fd);
		if (conn != fd)
			close(fd);
		if (failed) {
			p->outcome = p->err == ECONNREFUSED ? "refused" : p->err == ECONNRESET ? "reset"
				     : p->err == ETIMEDOUT ? "timeout" : "unreachable";
			if (!(retry && (p->err == ECONNREFUSED || p->err == ECONNRESET)))
				break;
			usleep(1000); /* at once, but not a busy loop: at most 1000 SYNs a second */
		}
	}
	if (conn >= 0) {
		p->connect_ms = (mono() - start) * 1000;
		p->nonce_ok = exchange_nonce(p, conn);
		p->outcome = p->nonce_ok ? "connected" : "wrong-peer";
		p->err = 0;
		close(conn);
	}
	if (lfd >= 0)
		close(lfd);
}
