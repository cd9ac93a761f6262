/* A program natlab run starts inside a node (a peer, the rendezvous server):
 * its stdout on a pipe, read whole, then reaped. */
#ifndef NATLAB_RUN_CHILD_H
#define NATLAB_RUN_CHILD_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct child {
	pid_t pid;
	int out; /* its stdout */
	int in;  /* a staying child's stdin, else -1 */
};

/* a child not (or no longer) started */
#define CHILD_NONE { .pid = -1, .out = -1, .in = -1 }

/* argv in the namespace of `node`, on `cpus` ([lab] cpus; 0 for any); the
 * attempt's secret and more variables (`env`, NAME=VALUE each, NULL at the end)
 * in its environment where given */
int spawn_in(const char *id, const char *node, uint64_t cpus, char *const argv[], const char *secret,
	     const char *const *env, struct child *c);
json_t *collect(struct child *c, double secs);
/* A program's own server (docs/programs.md): argv in `node`'s namespace, started
 * in `dir`, the leader of a process group of its own, its output on natlab
 * run's stderr (c->out is -1). */
int spawn_server(const char *id, const char *node, uint64_t cpus, char *const argv[], const char *const *env,
		 const char *dir, struct child *c);
/* A gated staying peer's first line (natlab-probe peer --gate): 1 for
 * "connected"; 0 where its report came instead (*report: it could not connect);
 * -1 where nothing came in `secs` (the child is ended, as by collect_line, and
 * *report says no-report). */
int gate_read(struct child *c, double secs, json_t **report);
/* A child that stays for many attempts (natlab-probe peers): a line on its stdin
 * each, a line of its stdout back (collect_line); child_end ends it. */
int spawn_staying(const char *id, const char *node, uint64_t cpus, char *const argv[], const char *const *env,
		  struct child *c);
json_t *collect_line(struct child *c, double secs);
void child_end(struct child *c);
bool wait_peers(const struct child kid[2], double secs);
double seconds_since(const struct timespec *t0);

#endif
