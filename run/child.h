/* A program natlab run starts inside a node (a peer, the rendezvous server):
 * its stdout on a pipe, read whole, then reaped. */
#ifndef NATLAB_RUN_CHILD_H
#define NATLAB_RUN_CHILD_H

#include <jansson.h>
#include <sys/types.h>
#include <time.h>

struct child {
	pid_t pid;
	int out; /* its stdout */
};

/* argv in the namespace of `node`; the attempt's secret and more variables
 * (`env`, NAME=VALUE each, NULL at the end) in its environment where given */
int spawn_in(const char *id, const char *node, char *const argv[], const char *secret, const char *const *env,
	     struct child *c);
json_t *collect(struct child *c, double secs);
void wait_peers(const struct child kid[2], double secs);
double seconds_since(const struct timespec *t0);

#endif
