/* udp: both send nonces to the partner's observed UDP endpoint every 20 ms. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../peer.h"
#include "strategies.h"

void punch_udp(struct peer *p)
{
	double start = mono(), until = start + p->deadline_s, got_at = 0, next = 0;
	char punch[64], gotmsg[64], want_punch[64], want_got[64];
	bool got = false, acked = false;

	snprintf(punch, sizeof(punch), "PUNCH %s", p->go.nonce);
	snprintf(gotmsg, sizeof(gotmsg), "GOT %s", p->go.nonce);
	snprintf(want_punch, sizeof(want_punch), "PUNCH %s", p->go.peer_nonce);
	snprintf(want_got, sizeof(want_got), "GOT %s", p->go.peer_nonce);
	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	/* a UDPHELLO (ours or the partner's) never reached the server: UDP is blocked */
	if (!p->go.peer_udp.sin_port) {
		p->outcome = "no-udp";
		p->err = 0;
		return;
	}
	/* done once the partner's nonce came and it confirmed ours, or 1 s later */
	while (mono() < until && !(got && (acked || mono() > got_at + 1))) {
		struct pollfd pf = { .fd = p->udp, .events = POLLIN };
		char buf[128];
		ssize_t n;

		if (mono() >= next) {
			mark_sent(p);
			sendto(p->udp, got ? gotmsg : punch, strlen(got ? gotmsg : punch), 0,
			       (struct sockaddr *)&p->go.peer_udp, sizeof(p->go.peer_udp));
			timing_calm(&p->tm);
			p->tries++;
			next = mono() + 0.02;
		}
		if (poll(&pf, 1, 5) <= 0)
			continue;
		n = recv(p->udp, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (!strcmp(buf, want_punch) || !strcmp(buf, want_got)) {
			if (!got) {
				got = true;
				got_at = mono();
				p->connect_ms = (got_at - start) * 1000;
			}
			acked |= !strcmp(buf, want_got);
		}
	}
	if (got) {
		p->outcome = "connected";
		p->err = 0;
		p->nonce_ok = true;
		/* a last confirmation, so the partner need not wait its second */
		sendto(p->udp, gotmsg, strlen(gotmsg), 0, (struct sockaddr *)&p->go.peer_udp,
		       sizeof(p->go.peer_udp));
	}
}
