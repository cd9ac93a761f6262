/* natlab-probe: the prober's two halves, started by `natlab run` inside the lab.
 *   natlab-probe server [--hello-timeout S] [--partner-timeout S] [--idle-timeout S]
 *                       [--per-source N] [--stun-port P] [ADDR:PORT]
 *   NATLAB_PROBE_SECRET=HEX natlab-probe peer --server ADDR:PORT --attempt ID --side 0|1
 *                     --strategy S [--secret HEX] [--offset-ms N] [--deadline-s N]
 *                     [--clock-offset-ms N] [--low-ttl N] [--local-port P]
 *                     [--profile FILE] [--turn ADDR:PORT --turn-user U]
 *   natlab-probe peers   (a peer for one attempt after another: the arguments of
 *                     peer, with --secret, a line each on stdin; with --gate it
 *                     prints "connected" once connected and waits for "go")
 *   (environment: NATLAB_PROBE_SECRET, NATLAB_TURN_PASSWORD, and from natlab run
 *   NATLAB_BUILD_LOCK, the lock a clock-started punch holds shared around its SYN) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/strategy.h"
#include "probe.h"

/* natlab-probe peers: a peer that stays, an attempt for each line on stdin (the
 * arguments of `peer`, separated by spaces, the secret as --secret: stdin is no
 * one else's to read) and its report a line on stdout. natlab run keeps one on
 * each host of a lab: a process started and ended for each attempt is
 * milliseconds of kernel work (exec, exit) that nothing preempts here, and the
 * wires' frames waited for it (p99 1.03 -> 1.73 ms at 1 ms of delay beside
 * 40 such processes a second). */
static int peers_main(void)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) > 0) {
		char *argv[64], *save = NULL;
		int argc = 0, rc;

		argv[argc++] = "peer";
		for (char *tok = strtok_r(line, " \n", &save); tok && argc < 63; tok = strtok_r(NULL, " \n", &save))
			argv[argc++] = tok;
		argv[argc] = NULL;
		optind = 0; /* getopt from the start, its state of the last attempt gone */
		rc = peer_main(argc, argv);
		/* a line however it went: natlab run waits for one */
		if (rc == 2)
			printf("{\"outcome\":\"no-start\"}\n");
		fflush(stdout);
		/* what the attempt left open (its sockets, the build lock) closes, as at
		 * an exit; a kernel before 5.9 has no close_range */
		if (close_range(3, ~0U, 0))
			for (int fd = 3; fd < 65536; fd++)
				close(fd);
	}
	free(line);
	return 0;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: natlab-probe server [--hello-timeout S] [--partner-timeout S] "
		   "[--idle-timeout S] [--per-source N] [--stun-port P] [ADDR:PORT]\n"
		   "       NATLAB_PROBE_SECRET=HEX natlab-probe peer --server ADDR:PORT "
		   "--attempt ID --side 0|1 --strategy ");
	for (int i = 0; i < STRATEGY_COUNT; i++)
		fprintf(f, "%s%s", i ? "|" : "", strategy_table[i].name);
	fprintf(f, " [--secret HEX] [--offset-ms N] [--deadline-s N] [--clock-offset-ms N] "
		   "[--low-ttl N] [--local-port P] [--profile FILE] [--turn ADDR:PORT --turn-user U]\n"
		   "       natlab-probe peers   (one attempt a line on stdin: peer's arguments and --secret HEX;\n"
		   "                             with --gate: \"connected\" once connected, HELLO on a \"go\" line)\n"
		   "The rendezvous server and the peers natlab run starts; `natlab-probe server` on a\n"
		   "public host is the STUN server natlab classify asks (man natlab, docs/classify.md).\n");
	return rc;
}

int main(int argc, char *argv[])
{
	/* --help anywhere before an option's value: natlab-probe, natlab-probe server --help */
	for (int i = 1; i < argc && i < 3; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, 0);
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return server_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "peer"))
		return peer_main(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "peers"))
		return peers_main();
	return usage(stderr, 2);
}
