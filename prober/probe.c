/* natlab-probe: the prober's two halves, started by `natlab run` inside the lab.
 *   natlab-probe server [--hello-timeout S] [--partner-timeout S] [--idle-timeout S]
 *                       [--per-source N] [--stun-port P] [ADDR:PORT]
 *   NATLAB_PROBE_SECRET=HEX natlab-probe peer --server ADDR:PORT --attempt ID --side 0|1
 *                     --strategy S [--secret HEX] [--offset-ms N] [--deadline-s N]
 *                     [--clock-offset-ms N] [--low-ttl N] [--local-port P]
 *                     [--profile FILE] [--turn ADDR:PORT --turn-user U]
 *   (environment: NATLAB_PROBE_SECRET, NATLAB_TURN_PASSWORD, and from natlab run
 *   NATLAB_BUILD_LOCK, the lock a clock-started punch holds shared around its SYN) */
#include <stdio.h>
#include <string.h>

#include "../common/strategy.h"
#include "probe.h"

int main(int argc, char *argv[])
{
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return server_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "peer"))
		return peer_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: natlab-probe server [--hello-timeout S] [--partner-timeout S] "
			"[--idle-timeout S] [--per-source N] [--stun-port P] [ADDR:PORT]\n"
			"       NATLAB_PROBE_SECRET=HEX natlab-probe peer --server ADDR:PORT "
			"--attempt ID --side 0|1 --strategy ");
	for (int i = 0; i < STRATEGY_COUNT; i++)
		fprintf(stderr, "%s%s", i ? "|" : "", strategy_table[i].name);
	fprintf(stderr, " [--secret HEX] [--offset-ms N] [--deadline-s N] [--clock-offset-ms N] "
			"[--low-ttl N] [--local-port P] [--profile FILE] [--turn ADDR:PORT --turn-user U]\n");
	return 2;
}
