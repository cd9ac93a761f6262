/* A program's own server on the run's rendezvous host (docs/programs.md). */
#ifndef NATLAB_RUN_SERVERS_H
#define NATLAB_RUN_SERVERS_H

#include "../common/diag.h"
#include "../scenario/scenario.h"
#include "child.h"

/* Starts the server_command of each of the run's programs that has one, kid[k]
 * for strategy k, and waits until each listens on its server_port. */
int servers_start(const struct scenario *s, const char *id, struct child kid[RUN_MAX_STRATEGIES], struct diag *d);
/* Says once, on stderr, of each server that has ended meanwhile. */
void servers_check(const struct scenario *s, const char *id, struct child kid[RUN_MAX_STRATEGIES]);
/* Ends them: SIGTERM to each one's process group, SIGKILL half a second later. */
void servers_end(struct child kid[RUN_MAX_STRATEGIES]);

#endif
