#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../../common/timing.h"
#include "../peer.h"
#include "../protocol.h"
#include "strategies.h"

/* As libp2p's DCUtR: side 0 times a round trip through the relay (CONNECT out,
 * CONNECT back), sends SYNC and dials RTT/2 later; side 1 dials when SYNC comes.
 * No clock involved: both dial as SYNC reaches side 1. Both act on the kernel's
 * receive time of a relay message, not on when they woke to read it: side 1
 * answers CONNECT and dials PROTO_RELAY_HOLD_NS after the message came, as the
 * server passes each RELAY line on, and side 0 takes those holds out of the round
 * trip and adds them to its wait. The hold is longer than a wake-up here (p99
 * 0.2-0.5 ms), so no process's wake-up enters the schedule; the links' times do. */
void dcutr(struct peer *p)
{
	double until = mono() + p->deadline_s;

	p->outcome = "timeout";
	p->err = ETIMEDOUT;
	if (p->side == 0) {
		int64_t t0, rtt, sync;

		/* time the round trip once side 1 reads, not its start-up */
		if (!relay_wait(p, "00", until))
			return;
		t0 = timing_now(CLOCK_REALTIME);
		dprintf(p->rv, "RELAY 01\n"); /* CONNECT */
		if (!relay_wait(p, "02", until))
			return;
		/* the server held CONNECT and its answer, side 1 held its answer */
		rtt = p->rstamp - t0 - 3 * PROTO_RELAY_HOLD_NS;
		p->relay_rtt_ms = (double)rtt / 1e6;
		sync = timing_now(CLOCK_REALTIME);
		dprintf(p->rv, "RELAY 03\n"); /* SYNC */
		/* SYNC is held by the server, then by side 1 before it dials */
		p->syn_sched = sync + rtt / 2 + 2 * PROTO_RELAY_HOLD_NS;
	} else {
		/* urgent from here to the SYN: each message's hold (3 ms from the
		 * kernel's stamp) is in the schedule, and a wake-up later than that at
		 * the peers' priority, behind other labs' spinning wires, ran past it */
		timing_urgent(&p->tm);
		dprintf(p->rv, "RELAY 00\n"); /* ready */
		if (!relay_wait(p, "01", until))
			return;
		timing_sleep_until(&p->tm, CLOCK_REALTIME, p->rstamp + PROTO_RELAY_HOLD_NS);
		dprintf(p->rv, "RELAY 02\n");
		if (!relay_wait(p, "03", until))
			return;
		p->syn_sched = p->rstamp + PROTO_RELAY_HOLD_NS;
	}
	punch_prepare(p);
	timing_sleep_until_urgent(&p->tm, CLOCK_REALTIME, p->syn_sched);
	p->start_real = (double)timing_now(CLOCK_REALTIME) / 1e9;
	punch_tcp(p);
}
