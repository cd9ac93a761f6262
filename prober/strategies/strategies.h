/* Each strategy's peer side, found by its id: a new strategy is a row in
 * common/strategy.c, a file here and a row in table.c. */
#ifndef NATLAB_STRATEGIES_H
#define NATLAB_STRATEGIES_H

#include "../../common/strategy.h"

struct peer;

/* From GO (for a strategy started by the clock, from its start time) to an
 * outcome in p: outcome, err and what the report says of the punch. */
typedef void strategy_fn(struct peer *p);

extern strategy_fn *const strategy_peer[STRATEGY_COUNT];

strategy_fn punch_tcp; /* so.c: so, so-listen, retry */
/* so.c: punch_tcp's first sockets made and bound ahead of its instant */
void punch_prepare(struct peer *p);
strategy_fn dcutr;
strategy_fn lowttl;
strategy_fn punch_udp; /* udp.c */
strategy_fn relay;
strategy_fn relay_turn; /* turn.c: relay's way through a TURN server */
strategy_fn auto_pick; /* auto.c */
strategy_fn run_program; /* exec.c: a user's program */
/* exec.c: its environment set ahead of its instant */
void program_prepare(struct peer *p);

#endif
