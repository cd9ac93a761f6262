/* The services a lab's nodes run (PLAN_SERVICE), started last by natlab up.
 * `capture = all` is Debian's dumpcap in each NAT's namespace, on its lan and
 * wan, into LAB.NAT.pcapng in the run directory (one file, an interface each:
 * a frame before and after its translation). `service = turn` is coturn (Debian's turnserver) on the host's address at
 * TURN_PORT, long-term credentials TURN_USER and a password drawn per lab, its
 * files (configuration, log, database, pid) in the run directory as LAB.turn.*. It runs in the
 * host's namespace in a session of its own; natlab down ends it with the lab's
 * other processes. The lab's state says where it is and how to log in. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/cpus.h"
#include "../common/outfile.h"
#include "../plan/plan.h"
#include "lab_internal.h"
#include "netns.h"
#include "service.h"

#define TURN_READY_MS 3000
#define CAPTURE_READY_MS 3000

/* coturn's configuration, 0600 in the run directory: its password is on no
 * command line, which anyone may read */
static int turn_config(const char *path, const char *addr, const char *id, const char *password)
{
	char db[PATH_MAX], log[PATH_MAX], pid[PATH_MAX];
	FILE *f = outfile_fopen(path, 0600);

	if (!f)
		return -1;
	run_path(db, sizeof(db), id, ".turn.db");
	run_path(log, sizeof(log), id, ".turn.log");
	run_path(pid, sizeof(pid), id, ".turn.pid");
	fprintf(f, "listening-ip=%s\nrelay-ip=%s\nlistening-port=%d\nlt-cred-mech\nuser=%s:%s\nrealm=natlab\n"
		   "fingerprint\nno-tls\nno-dtls\nno-cli\nno-stdout-log\nsimple-log\nuserdb=%s\nlog-file=%s\n"
		   "pidfile=%s\n",
		addr, addr, TURN_PORT, TURN_USER, password, db, log, pid);
	return fclose(f) ? -1 : 0;
}

/* a service, detached: fork, into the namespace, a session of its own, exec */
static pid_t spawn_detached(int ns, uint64_t cpus, char *const argv[])
{
	pid_t child = fork();

	if (child == 0) {
		int nul = open("/dev/null", O_RDWR);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (netns_enter(ns) || cpus_bind(0, cpus) || setsid() < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
		    dup2(nul, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return child;
}

/* coturn, detached */
static pid_t turn_spawn(int ns, uint64_t cpus, const char *conf)
{
	char *argv[] = { "turnserver", "-c", (char *)conf, NULL };

	return spawn_detached(ns, cpus, argv);
}

/* ready once its TCP port takes a connection, made from inside its namespace */
static int turn_ready(int ns, int root, const char *addr, pid_t child)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TURN_PORT) };
	struct timespec t0, now;

	inet_pton(AF_INET, addr, &to.sin_addr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int fd, st;

		if (netns_enter(ns))
			return -1;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (netns_enter(root)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&to, sizeof(to))) {
			close(fd);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		if (waitpid(child, &st, WNOHANG) == child) /* it did not start: exec failed, or it quit */
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > TURN_READY_MS)
			return -1;
		usleep(5000);
	}
}

/* dumpcap on the NAT's both sides, detached as coturn is; ready once its file
 * has its header and both interfaces' descriptions (it writes them at its start) */
static pid_t capture_spawn(int ns, uint64_t cpus, const char *path)
{
	char *argv[] = { "dumpcap", "-q", "-i", IF_BRIDGE_NAT, "-i", IF_UPLINK_NAT, "-w", (char *)path, NULL };

	return spawn_detached(ns, cpus, argv);
}

static int capture_ready(const char *path, pid_t child)
{
	for (int waited = 0; waited < CAPTURE_READY_MS; waited += 5) {
		struct stat sb;
		int st;

		if (!stat(path, &sb) && sb.st_size > 0)
			return 0;
		if (waitpid(child, &st, WNOHANG) == child)
			return -1;
		usleep(5000);
	}
	return -1;
}

static int capture_start(const struct lab_plan *p, const struct plan_step *t, const char *id, const int *ns_fd,
			 json_t *list, struct diag *d)
{
	const char *nat = p->s->nodes[t->node].name;
	char ext[80], path[PATH_MAX];
	pid_t child;

	snprintf(ext, sizeof(ext), ".%s.pcapng", nat);
	run_path(path, sizeof(path), id, ext);
	unlink(path); /* dumpcap writes a new one; a symlink there is not followed */
	child = capture_spawn(ns_fd[t->node], p->s->cpus, path);
	if (child < 0 || capture_ready(path, child))
		return diag_set(d, "capture = all: dumpcap did not start in %s (is Debian's tshark installed?)", nat);
	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i}", "node", nat, "service", "capture", "path",
					      path, "pid", (int)child));
	return 0;
}

int services_start(const struct lab_plan *p, const char *id, const int *ns_fd, int root, json_t *st, struct diag *d)
{
	json_t *list = json_array();

	for (int k = 0; k < p->n; k++) {
		const struct plan_step *t = &p->steps[k];
		unsigned char r[12];
		char password[25], log[PATH_MAX], conf[PATH_MAX];
		pid_t child;

		if (t->op != PLAN_SERVICE)
			continue;
		if (!strcmp(t->value, "capture")) {
			/* one that started is ended with the lab's namespaces' processes */
			if (capture_start(p, t, id, ns_fd, list, d)) {
				json_decref(list);
				return -1;
			}
			continue;
		}
		if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
			json_decref(list);
			return diag_set(d, "no random bytes for the TURN password");
		}
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(password + 2 * i, 3, "%02x", r[i]);
		run_path(log, sizeof(log), id, ".turn.log");
		run_path(conf, sizeof(conf), id, ".turn.conf");
		if (turn_config(conf, t->addr, id, password)) {
			json_decref(list);
			return diag_set(d, "%s: %s", conf, strerror(errno));
		}
		child = turn_spawn(ns_fd[t->node], p->s->cpus, conf);
		if (child < 0 || turn_ready(ns_fd[t->node], root, t->addr, child)) {
			json_decref(list);
			return diag_set(d, "service = turn: coturn did not start in %s (is Debian's coturn installed? see %s)",
					p->s->nodes[t->node].name, log);
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:i}", "node",
						      p->s->nodes[t->node].name, "service", "turn", "addr", t->addr,
						      "port", TURN_PORT, "user", TURN_USER, "password", password, "pid",
						      (int)child));
	}
	if (json_array_size(list))
		json_object_set_new(st, "services", list);
	else
		json_decref(list);
	return 0;
}
