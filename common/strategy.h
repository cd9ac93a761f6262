/* The punching strategies, each declared once: what its peers do and how the
 * run, the model and the report treat it. Every other place asks this table. */
#ifndef NATLAB_STRATEGY_H
#define NATLAB_STRATEGY_H

#include <stdbool.h>

enum strategy_id {
	STRATEGY_SO,
	STRATEGY_SO_LISTEN,
	STRATEGY_RETRY,
	STRATEGY_DCUTR,
	STRATEGY_LOWTTL,
	STRATEGY_UDP,
	STRATEGY_RELAY,
	STRATEGY_AUTO,
	STRATEGY_EXEC,
	STRATEGY_COUNT
};

/* A user's program is a strategy called "exec:NAME" (a [strategy.NAME] section,
 * or exec:PATH, named for PATH's last part); its properties are STRATEGY_EXEC's. */
#define STRATEGY_EXEC_PREFIX "exec:"
#define STRATEGY_NAME_MAX 32

/* which rule of the behaviour model (natsim/model.c) predicts it */
enum strategy_rule {
	RULE_SIMULTANEOUS_OPEN, /* both SYNs cross the NATs: tcp_punch */
	RULE_LOW_TTL,           /* a's SYN dies past a's NAT, b's meets a's entry */
	RULE_UDP,               /* both NATs must pass the other's datagrams */
	RULE_RELAYED,           /* always relayed: nothing to predict */
	RULE_AUTO,              /* the first of model_auto_choice's candidates that connects, else relayed */
	RULE_PROGRAM,           /* a user's program: unknown, unless it says which built-in it is like */
};

struct strategy {
	const char *name;
	enum strategy_id id;
	enum strategy_rule rule;
	const char *summary;  /* what the peers do, one line */
	bool tcp;             /* a TCP punch: SYNs on the wire, SYN retransmissions */
	bool direct;          /* the peers end up connected to each other (not through the relay);
			       * auto: as its decision says */
	bool udp_socket;      /* each peer brings a UDP socket to the rendezvous (auto: where
			       * its classification says UDP reaches the server) */
	bool by_clock;        /* both start at an agreed instant, b after the skew */
	bool by_round_trips;  /* times itself by the relay's round trip (DCUtR): both emit together */
	bool listens;         /* also listens on its port for the other's SYN */
	bool retries;         /* dials again when refused, until the deadline */
	bool in_matrix;       /* run by a [matrix] that names no strategies */
};

extern const struct strategy strategy_table[STRATEGY_COUNT];

/* Has it a timing window to search (edges = bisect)? Both peers start by the
 * clock and connect to each other: not the relay, whose skew does nothing. */
bool strategy_windowed(const struct strategy *st);
/* The strategy called `name` (any "exec:NAME": STRATEGY_EXEC's entry); NULL for none. */
const struct strategy *strategy_by_name(const char *name);

#endif
