/* A program's own server ([strategy.NAME] server_command): started on the run's
 * rendezvous host before the lab's first attempt, waited for until it listens on
 * its server_port, watched between attempts, ended after the last one. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/diag.h"
#include "../netns/lab.h"
#include "../scenario/scenario.h"
#include "child.h"
#include "nats.h"
#include "servers.h"

/* how long a server has to listen: a program's start (Python's 20-40 ms) many
 * times over on a loaded machine */
#define SERVER_READY_S 10.0
#define SERVER_GRACE_S 1.0

/* whether a socket in pid's namespace listens on TCP port (or is bound to UDP
 * port): its namespace's tables, as ss reads them; IPv6's too, where a dual-stack
 * server (Go's, Node's) listens for IPv4 as well */
static bool listening(pid_t pid, unsigned port)
{
	static const char *const tables[] = { "tcp", "udp", "tcp6", "udp6" };

	for (int t = 0; t < 4; t++) {
		char path[64], line[256];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, tables[t]);
		if (!(f = fopen(path, "re")))
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned local, state;

			/* "  0: 00000000:2328 00000000:0000 0A ...", a 32-digit address in
			 * IPv6's; the header line does not scan */
			if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &local, &state) == 2 &&
			    local == port && (t % 2 || state == 0x0A)) {
				fclose(f);
				return true;
			}
		}
		fclose(f);
	}
	return false;
}

/* "exit N" or "signal N" of a wait status */
static const char *ended_how(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	return buf;
}

void servers_init(struct own_server sv[RUN_MAX_STRATEGIES])
{
	for (int k = 0; k < RUN_MAX_STRATEGIES; k++)
		sv[k] = (struct own_server){ .kid = CHILD_NONE };
}

bool servers_any(const struct scenario *s)
{
	for (int k = 0; k < s->run.n_strategies; k++) {
		const struct run_program *p = scenario_program(s, s->run.strategies[k]);

		if (p && p->server_command[0])
			return true;
	}
	return false;
}

int servers_start(const struct scenario *s, const char *id, struct own_server sv[RUN_MAX_STRATEGIES],
		  struct diag *d)
{
	const struct lab_node *host = &s->nodes[s->run.server];
	char addr[INET_ADDRSTRLEN];

	addr_of(host, addr, sizeof(addr));
	for (int k = 0; k < s->run.n_strategies; k++) {
		const struct run_program *p = scenario_program(s, s->run.strategies[k]);
		char lab[96], node[96], strategy[64], a[64], port[32], how[32];
		const char *env[] = { lab, node, strategy, a, port, NULL };
		char *argv[] = { "/bin/sh", "-c", NULL, NULL };
		struct child *kid = &sv[k].kid;
		struct timespec t0;
		int status;
		useconds_t pause = 1000; /* doubled to 20 ms: a slow start costs few looks */

		if (!p || !p->server_command[0])
			continue;
		snprintf(lab, sizeof(lab), "NATLAB_LAB=%s", id);
		snprintf(node, sizeof(node), "NATLAB_NODE=%s", host->name);
		snprintf(strategy, sizeof(strategy), "NATLAB_STRATEGY=%s", s->run.strategies[k]);
		snprintf(a, sizeof(a), "NATLAB_SERVER_ADDR=%s", addr);
		snprintf(port, sizeof(port), "NATLAB_SERVER_PORT=%u", p->server_port);
		argv[2] = (char *)p->server_command;
		if (spawn_server(id, host->name, s->cpus, argv, env, s->dir, kid))
			return diag_set(d, "%s:%d: [strategy.%s]: cannot start its server_command: %s", s->path,
					p->server_line, p->name, strerror(errno));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (!listening(kid->pid, p->server_port)) {
			if (lab_stop_pending())
				return SERVERS_STOPPED;
			if (waitpid(kid->pid, &status, WNOHANG) == kid->pid) {
				kid->pid = -1;
				return diag_set(d, "%s:%d: [strategy.%s]: its server_command ended (%s) before it listened on port %u",
						s->path, p->server_line, p->name, ended_how(status, how, sizeof(how)),
						p->server_port);
			}
			if (seconds_since(&t0) > SERVER_READY_S)
				return diag_set(d, "%s:%d: [strategy.%s]: its server_command did not listen on port %u within %.0f s",
						s->path, p->server_line, p->name, p->server_port, SERVER_READY_S);
			usleep(pause);
			pause = pause < 20000 ? 2 * pause : pause;
		}
	}
	return 0;
}

void servers_check(const struct scenario *s, const char *id, struct own_server sv[RUN_MAX_STRATEGIES])
{
	for (int k = 0; k < s->run.n_strategies; k++) {
		const struct run_program *p = scenario_program(s, s->run.strategies[k]);
		int status;

		if (sv[k].kid.pid > 0 && waitpid(sv[k].kid.pid, &status, WNOHANG) == sv[k].kid.pid) {
			sv[k].kid.pid = -1;
			ended_how(status, sv[k].ended, sizeof(sv[k].ended));
			fprintf(stderr, "natlab run: %s: [strategy.%s]'s server_command ended (%s) with attempts of the lab left\n",
				id, p ? p->name : s->run.strategies[k], sv[k].ended);
		}
	}
}

const char *servers_state(const struct scenario *s, const struct own_server sv[RUN_MAX_STRATEGIES],
			  const char *strategy)
{
	const struct run_program *p = scenario_program(s, strategy);

	for (int k = 0; p && p->server_command[0] && k < s->run.n_strategies; k++)
		if (!strcmp(s->run.strategies[k], strategy))
			return sv[k].ended[0] ? sv[k].ended : "running";
	return NULL;
}

void servers_end(struct own_server sv[RUN_MAX_STRATEGIES])
{
	struct timespec t0;

	/* SIGTERM to each group, a second of grace for all (a program at normal
	 * priority beside labs' real-time peers and wires may wait its turn), then
	 * SIGKILL to a group whose leader is still there (what it left is the lab's:
	 * down ends it) */
	for (int k = 0; k < RUN_MAX_STRATEGIES; k++)
		if (sv[k].kid.pid > 0)
			kill(-sv[k].kid.pid, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < RUN_MAX_STRATEGIES; k++) {
		struct child *kid = &sv[k].kid;

		while (kid->pid > 0 && seconds_since(&t0) < SERVER_GRACE_S) {
			if (waitpid(kid->pid, NULL, WNOHANG) == kid->pid)
				kid->pid = -1;
			else
				usleep(5000);
		}
		if (kid->pid > 0) {
			kill(-kid->pid, SIGKILL);
			waitpid(kid->pid, NULL, 0);
			kid->pid = -1;
		}
	}
}
