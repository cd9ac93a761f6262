#include <string.h>

#include "strategy.h"

const struct strategy strategy_table[STRATEGY_COUNT] = {
	{ "so", STRATEGY_SO, RULE_SIMULTANEOUS_OPEN,
	  "bind the rendezvous port (SO_REUSEADDR + SO_REUSEPORT) and connect() to the partner's observed endpoint at the start time",
	  .tcp = true, .direct = true, .by_clock = true, .in_matrix = true },
	{ "so-listen", STRATEGY_SO_LISTEN, RULE_SIMULTANEOUS_OPEN,
	  "as so, and listen() on that port too; whichever completes first",
	  .tcp = true, .direct = true, .by_clock = true, .listens = true, .in_matrix = true },
	{ "retry", STRATEGY_RETRY, RULE_SIMULTANEOUS_OPEN,
	  "as so; on ECONNREFUSED/ECONNRESET dial again at once (1 ms apart) until the deadline",
	  .tcp = true, .direct = true, .by_clock = true, .retries = true, .in_matrix = true },
	{ "dcutr", STRATEGY_DCUTR, RULE_SIMULTANEOUS_OPEN,
	  "libp2p DCUtR: side 0 times a round trip through the relay, sends SYNC, dials RTT/2 later; side 1 dials when SYNC arrives",
	  .tcp = true, .direct = true, .by_round_trips = true, .in_matrix = true },
	{ "lowttl", STRATEGY_LOWTTL, RULE_LOW_TTL,
	  "STUNT #2: side 0's SYN dies in the internet (low TTL), opening its own NATs only; side 1 then dials into them",
	  .tcp = true, .direct = true },
	{ "udp", STRATEGY_UDP, RULE_UDP,
	  "UDP hole punching: both send nonces to the partner's observed UDP endpoint every 20 ms",
	  .direct = true, .udp_socket = true, .by_clock = true, .in_matrix = true },
	{ "relay", STRATEGY_RELAY, RULE_RELAYED,
	  "nonces through the rendezvous server",
	  .by_clock = true, .in_matrix = true },
	{ "auto", STRATEGY_AUTO, RULE_AUTO,
	  "each peer brings its NAT's classification (natlab classify, once per lab), they swap them through the relay and both pick by the behaviour model: udp, else dcutr, so-listen, retry, else the relay at once",
	  .direct = true, .udp_socket = true },
	{ "exec", STRATEGY_EXEC, RULE_PROGRAM,
	  "your own program (exec:PATH, or [strategy.NAME] command = ...), started on both peers at the agreed instant, b after the skew; exit 0 = connected",
	  .direct = true, .by_clock = true },
};

const struct strategy *strategy_by_name(const char *name)
{
	if (name && !strncmp(name, STRATEGY_EXEC_PREFIX, strlen(STRATEGY_EXEC_PREFIX)) &&
	    name[strlen(STRATEGY_EXEC_PREFIX)])
		return &strategy_table[STRATEGY_EXEC];
	for (int i = 0; name && i < STRATEGY_COUNT; i++)
		if (!strcmp(strategy_table[i].name, name))
			return &strategy_table[i];
	return NULL;
}

bool strategy_windowed(const struct strategy *st)
{
	return st && st->by_clock && st->direct;
}
