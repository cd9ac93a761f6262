/* Programs started inside a lab's nodes, and what they report. */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../netns/lab.h"
#include "../netns/netns.h"
#include "../prober/protocol.h"
#include "../common/cpus.h"
#include "../common/diag.h"
#include "child.h"

extern char **environ;

/* A child that shares its parent's memory until it execs (clone with CLONE_VM |
 * CLONE_VFORK, as posix_spawn does, which cannot enter a namespace): a fork copied
 * a worker's page tables, and each page the worker wrote afterwards was copied
 * again, a page fault each (tens of microseconds on a virtual machine). It starts
 * a lab's staying peers, its server, a user's program's peers. It only makes
 * system calls, on its own stack and its own copy of the signal handlers, then
 * execs. */
#define SPAWN_STACK 32768

struct spawn_args {
	int ns, out, in; /* in: -1 for the worker's own */
	const char *dir; /* where it starts; NULL: here */
	bool group;      /* the leader of a process group of its own */
	uint64_t cpus;   /* [lab] cpus, 0 for any */
	char *const *argv;
	char **env;
};

static int spawn_child(void *arg)
{
	const struct spawn_args *a = arg;
	sigset_t none;

	signal(SIGPIPE, SIG_DFL); /* a worker ignores it; a program starts as usual */
	if (netns_enter(a->ns) || cpus_bind(0, a->cpus) || dup2(a->out, 1) < 0 || (a->in >= 0 && dup2(a->in, 0) < 0))
		_exit(127);
	if ((a->dir && chdir(a->dir)) || (a->group && setpgid(0, 0)))
		_exit(126);
	if (a->group) { /* a server reads nothing of natlab run's input */
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (nul < 0 || dup2(nul, 0) < 0)
			_exit(126);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(a->argv[0], a->argv, a->env);
	_exit(127);
}

/* Starts argv inside the namespace of `node`, its stdout on a pipe (and, with_in,
 * its stdin on another); with the attempt's secret in its environment if one is
 * given (not in argv: a command line is anyone's to read). */
static int spawn(const char *id, const char *node, uint64_t cpus, char *const argv[], const char *secret,
		 const char *const *more, bool with_in, const char *dir, struct child *c)
{
	char ns[128], var[PROTO_SECRET_MAX + 32], **env;
	size_t n = 0, all = 0;
	int p[2], in[2] = { -1, -1 }, fd;

	c->in = -1;

	/* built before fork, the whole environment: the child only execs */
	while (environ[all])
		all++;
	size_t n_more = 0;

	while (more && more[n_more])
		n_more++;
	env = malloc((all + 2 + n_more) * sizeof(*env));
	if (!env)
		return -1;
	for (size_t i = 0; i < all; i++) {
		bool keep = strncmp(environ[i], "NATLAB_PROBE_SECRET=", 20);

		for (size_t k = 0; k < n_more && keep; k++)
			keep = strncmp(environ[i], more[k], strcspn(more[k], "=") + 1);
		if (keep)
			env[n++] = environ[i];
	}
	if (secret) {
		snprintf(var, sizeof(var), "NATLAB_PROBE_SECRET=%s", secret);
		env[n++] = var;
	}
	for (size_t k = 0; k < n_more; k++)
		env[n++] = (char *)more[k];
	env[n] = NULL;

	lab_netns_name(ns, sizeof(ns), id, node);
	fd = netns_open(ns);
	if (fd < 0 || pipe2(p, O_CLOEXEC)) {
		if (fd >= 0)
			close(fd);
		free(env);
		return -1;
	}
	if (with_in && pipe2(in, O_CLOEXEC)) {
		close(fd);
		close(p[0]);
		close(p[1]);
		free(env);
		return -1;
	}
	{
		/* a program's server writes where natlab run's own errors go, and runs
		 * as a program's peers do: in the scenario's folder, a group of its own */
		struct spawn_args a = { .ns = fd, .out = dir ? 2 : p[1], .in = in[0], .cpus = cpus, .argv = argv,
					.env = env, .dir = dir, .group = dir != NULL };
		/* its own stack: the child runs in this memory until it execs */
		_Alignas(16) char stack[SPAWN_STACK];

		c->pid = clone(spawn_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	}
	free(env);
	close(fd);
	close(p[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (c->pid < 0) {
		close(p[0]);
		if (in[1] >= 0)
			close(in[1]);
		return -1;
	}
	c->out = p[0];
	c->in = in[1];
	return 0;
}

int spawn_in(const char *id, const char *node, uint64_t cpus, char *const argv[], const char *secret,
	     const char *const *more, struct child *c)
{
	return spawn(id, node, cpus, argv, secret, more, false, NULL, c);
}

int spawn_server(const char *id, const char *node, uint64_t cpus, char *const argv[], const char *const *env,
		 const char *dir, struct child *c)
{
	if (spawn(id, node, cpus, argv, NULL, env, false, dir, c))
		return -1;
	close(c->out); /* its output is natlab run's stderr, not a pipe */
	c->out = -1;
	return 0;
}

int spawn_staying(const char *id, const char *node, uint64_t cpus, char *const argv[], const char *const *more,
		  struct child *c)
{
	return spawn(id, node, cpus, argv, NULL, more, true, NULL, c);
}

/* Reads c's stdout into buf (NUL-terminated, cap - 1 bytes at most) until its
 * end, or with `line` its first newline, or `secs`, or a stop; returns how much. */
static size_t read_out(const struct child *c, char *buf, size_t cap, double secs, bool line)
{
	size_t len = 0;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(line && memchr(buf, '\n', len))) {
		struct pollfd p = { .fd = c->out, .events = POLLIN };
		double left = secs - seconds_since(&t0);
		ssize_t n;
		int r;

		/* a stop (Ctrl-C, the run's end by PDEATHSIG) does not wait out a peer */
		if (left <= 0 || lab_stop_pending())
			break;
		r = poll(&p, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		n = read(c->out, buf + len, cap - 1 - len);
		if (n <= 0 || (len += (size_t)n) == cap - 1)
			break;
	}
	buf[len] = '\0';
	return len;
}

/* One line of a staying child's stdout (until its newline or `secs`) into buf;
 * false where it said nothing in time, or ended: then it is ended and reaped
 * (pid -1), and the next attempt starts another. */
static bool read_line_of(struct child *c, double secs, char *buf, size_t cap)
{
	if (memchr(buf, '\n', read_out(c, buf, cap, secs, true)))
		return true;
	child_end(c);
	return false;
}

/* A line as a peer's report; "no-report" where it is none */
static json_t *report_of(const char *line)
{
	json_t *j = line ? json_loads(line, JSON_DISABLE_EOF_CHECK, NULL) : NULL;

	return j ? j : json_pack("{s:s}", "outcome", "no-report");
}

json_t *collect_line(struct child *c, double secs)
{
	char buf[4096];

	return report_of(read_line_of(c, secs, buf, sizeof(buf)) ? buf : NULL);
}

int gate_read(struct child *c, double secs, json_t **report)
{
	char buf[4096];
	bool got = read_line_of(c, secs, buf, sizeof(buf));

	*report = NULL;
	if (got && !strcmp(buf, "connected\n"))
		return 1;
	*report = report_of(got ? buf : NULL);
	return got ? 0 : -1;
}

void child_end(struct child *c)
{
	if (c->pid <= 0)
		return;
	if (c->in >= 0)
		close(c->in);
	close(c->out);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	*c = (struct child)CHILD_NONE;
}

double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Reads a child's whole stdout (until EOF or `secs`), then ends and reaps it. */
json_t *collect(struct child *c, double secs)
{
	char buf[4096];
	json_t *j;

	read_out(c, buf, sizeof(buf), secs, false);
	child_end(c); /* its kill a no-op when it has finished, as it should have */
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	/* a peer's report speaks the peer protocol (prober/PROTOCOL.md), not the record's schema */
	return j ? j : json_pack("{s:s}", "outcome", "no-report");
}

/* Until both peers have reported (true) or `secs` have passed. */
bool wait_peers(const struct child kid[2], double secs)
{
	struct timespec t0;
	bool done[2] = { kid[0].pid <= 0, kid[1].pid <= 0 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!done[0] || !done[1]) {
		struct pollfd p[2];
		int n = 0, which[2];
		double left;

		for (int i = 0; i < 2; i++)
			if (!done[i]) {
				p[n] = (struct pollfd){ .fd = kid[i].out, .events = POLLIN };
				which[n++] = i;
			}
		left = secs - seconds_since(&t0);
		if (left <= 0 || poll(p, (nfds_t)n, (int)(left * 1000) + 1) < 0)
			return false;
		for (int k = 0; k < n; k++)
			if (p[k].revents)
				done[which[k]] = true;
	}
	return true;
}
