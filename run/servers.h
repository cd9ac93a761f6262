/* A program's own server on the run's rendezvous host (docs/programs.md). */
#ifndef NATLAB_RUN_SERVERS_H
#define NATLAB_RUN_SERVERS_H

#include "../common/diag.h"
#include "../scenario/scenario.h"
#include "child.h"

/* servers_start's return where a signal to stop came while it waited */
#define SERVERS_STOPPED 130

/* one strategy's server: its process, and how it ended ("": running, or none) */
struct own_server {
	struct child kid;
	char ended[24];
};

/* None started yet. */
void servers_init(struct own_server sv[RUN_MAX_STRATEGIES]);
/* Whether any of the run's strategies is a program with a server_command. */
bool servers_any(const struct scenario *s);
/* Starts the server_command of each of the run's programs that has one, sv[k]
 * for strategy k, and waits until each listens on its server_port: 0, -1 (d says
 * why) or SERVERS_STOPPED. */
int servers_start(const struct scenario *s, const char *id, struct own_server sv[RUN_MAX_STRATEGIES],
		  struct diag *d);
/* Says once, on stderr, of each server that has ended meanwhile (called before
 * each attempt: with attempts left), and keeps how. */
void servers_check(const struct scenario *s, const char *id, struct own_server sv[RUN_MAX_STRATEGIES]);
/* What an attempt of `strategy` records of its server: "running", how it ended,
 * or NULL for a strategy without one. */
const char *servers_state(const struct scenario *s, const struct own_server sv[RUN_MAX_STRATEGIES],
			  const char *strategy);
/* Ends them: SIGTERM to each one's process group, SIGKILL a second later. */
void servers_end(struct own_server sv[RUN_MAX_STRATEGIES]);

#endif
