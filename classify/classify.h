/* A NAT classified from behind it against an RFC 5780 STUN server. */
#ifndef NATLAB_CLASSIFY_H
#define NATLAB_CLASSIFY_H

#include <netinet/in.h>
#include <stdbool.h>

#include "../common/diag.h"

/* one knob's verdict: its value in a profile ("" when no test could tell) and
 * what the test saw */
struct verdict {
	char value[16];
	char evidence[256];
};

struct classification {
	bool udp_blocked;      /* no answer over UDP at all */
	struct verdict mapping, allocation, filtering, hairpin;
	struct verdict mapping_tcp; /* RFC 5780's mapping test over TCP: no knob of its own */
	struct verdict udp_unsolicited, unsolicited_syn, syn_in_syn_sent; /* the server's probes */
	struct verdict udp_timeout; /* with timeouts asked for: a UDP mapping's life, s */
	unsigned delta;        /* allocation = sequential: the step */
	double seconds;        /* how long it took */
};

/* Runs the tests against server (its primary address and port); -1 with d
 * saying why when they could not run (libre missing, no socket). */
int classify_nat(const struct sockaddr_in *server, bool timeouts, struct classification *c, struct diag *d);

#endif
