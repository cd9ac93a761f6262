/* A NAT classified from behind it against an RFC 5780 STUN server. */
#ifndef NATLAB_CLASSIFY_H
#define NATLAB_CLASSIFY_H

#include <netinet/in.h>
#include <stdbool.h>

#include "../common/diag.h"

/* one knob's verdict: its value in a profile ("" when no test could tell) and
 * what the test saw */
struct verdict {
	char value[160];
	char evidence[256];
};

struct classification {
	bool udp_blocked;      /* no STUN answer over UDP at all: the tests went over TCP */
	bool tcp_reached;      /* the server's probes had their connection */
	struct verdict translation; /* off: the mapped endpoint is the host's own */
	struct verdict mapping, allocation, filtering, hairpin;
	/* over TCP: no knobs of their own (natlab's are for both), but they stand
	 * in for mapping and filtering where UDP is blocked */
	struct verdict mapping_tcp, filtering_tcp;
	struct verdict outbound_tcp, outbound_udp; /* the server's OUTBOUND probe */
	struct verdict udp_unsolicited, unsolicited_syn, syn_in_syn_sent; /* the server's probes */
	struct verdict udp_timeout; /* with timeouts asked for: a UDP mapping's life, s */
	struct verdict tcp_established_timeout; /* and an idle established TCP connection's */
	struct verdict tcp_syn_sent_timeout;    /* and an unanswered SYN's entry (root only) */
	unsigned delta;        /* allocation = sequential: the step */
	double seconds;        /* how long it took */
};

/* Runs the tests against server (its primary address and port); -1 with d
 * saying why when they could not run (libre missing, no socket). */
int classify_nat(const struct sockaddr_in *server, bool timeouts, struct classification *c, struct diag *d);

#endif
