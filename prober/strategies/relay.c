/* relay: the nonces go through the rendezvous server (with --turn, through a
 * TURN server: turn.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../peer.h"
#include "../protocol.h"
#include "strategies.h"

void relay(struct peer *p)
{
	char line[PROTO_LINE_MAX], want[64];
	double start = mono();

	if (p->use_turn)
		return relay_turn(p);
	p->relay_via = "builtin";
	dprintf(p->rv, "RELAY %s\n", p->go.nonce);
	snprintf(want, sizeof(want), "RELAY %s", p->go.peer_nonce);
	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	while (read_line(p->rv, p->rbuf, &p->rlen, sizeof(p->rbuf), line, start + p->deadline_s,
			 &p->rstamp) == 1)
		if (!strcmp(line, want)) {
			p->outcome = "relayed";
			p->err = 0;
			p->nonce_ok = true;
			/* less the server's hold, which a relay of the field has not: the
			 * part of it after this side's start (the later side finds its
			 * partner's line waiting, held before it began: 0, not -3 ms) */
			p->connect_ms = (mono() - start) * 1000 - PROTO_RELAY_HOLD_NS / 1e6;
			if (p->connect_ms < 0)
				p->connect_ms = 0;
			break;
		}
}
