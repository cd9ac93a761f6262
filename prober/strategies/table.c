/* Each strategy's peer side by its id (common/strategy.h); so, so-listen and
 * retry share one dial, which their rows in common/strategy.c tell apart. */
#include "../../common/strategy.h"
#include "strategies.h"

strategy_fn *const strategy_peer[STRATEGY_COUNT] = {
	[STRATEGY_SO] = punch_tcp,
	[STRATEGY_SO_LISTEN] = punch_tcp,
	[STRATEGY_RETRY] = punch_tcp,
	[STRATEGY_DCUTR] = dcutr,
	[STRATEGY_LOWTTL] = lowttl,
	[STRATEGY_UDP] = punch_udp,
	[STRATEGY_RELAY] = relay,
	[STRATEGY_AUTO] = auto_pick,
	[STRATEGY_EXEC] = run_program,
};
