/* Bringing a lab up: a name, the plan applied, the wire started, the state written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/outfile.h"
#include "../common/timing.h"
#include "../natsim/ruleset.h"
#include "apply.h"
#include "lab.h"
#include "lab_internal.h"
#include "link.h"
#include "netns.h"
#include "../wire/wire.h"

static const char *addr_only(char *buf, size_t len, const char *cidr)
{
	snprintf(buf, len, "%.*s", (int)strcspn(cidr, "/"), cidr);
	return buf;
}

/* The address the internet sees for a node: its outermost NAT's WAN address. */
static const char *public_addr(const struct scenario *s, int i, char *buf, size_t len)
{
	while (s->nodes[i].parent != 0)
		i = s->nodes[i].parent;
	return addr_only(buf, len, s->nodes[i].addr[0]);
}

static json_t *state_new(const struct scenario *s, const char *id)
{
	json_t *st = json_object(), *nodes = json_object(), *ns = json_array();
	char buf[300];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	json_object_set_new(st, "lab", json_string(id));
	json_object_set_new(st, "scenario", json_string(s->path));
	json_object_set_new(st, "state", json_string("building"));
	json_object_set_new(st, "created", json_real((double)now.tv_sec + now.tv_nsec / 1e9));
	json_object_set_new(st, "pcap", json_null());
	json_object_set_new(st, "seed", json_integer(s->seed));
	json_object_set_new(st, "owner",
			    json_pack("{s:i,s:I}", "pid", (int)getpid(), "start",
				      (json_int_t)proc_start(getpid())));
	for (int oi = 0; oi < s->n; oi++) {
		const struct lab_node *n = &s->nodes[s->order[oi]];
		json_t *node = json_object(), *addrs = json_array();

		lab_netns_name(buf, sizeof(buf), id, n->name);
		json_array_append_new(ns, json_string(buf));
		json_object_set_new(node, "kind", json_string(node_kind_name(n->kind)));
		json_object_set_new(node, "netns", json_string(buf));
		for (int j = 0; j < n->n_addr; j++)
			json_array_append_new(addrs, json_string(n->addr[j]));
		json_object_set_new(node, "addrs", addrs);
		if (n->kind != NODE_INTERNET) {
			json_object_set_new(node, n->kind == NODE_NAT ? "uplink" : "behind",
					    json_string(s->nodes[n->parent].name));
			json_object_set_new(node, "wan",
					    json_string(public_addr(s, s->order[oi], buf, sizeof(buf))));
		}
		if (n->gw[0])
			json_object_set_new(node, "gateway", json_string(n->gw));
		if (n->kind == NODE_HOST)
			json_object_set_new(node, "clock_offset_ms", json_integer(n->clock_offset_ms));
		if (n->kind == NODE_NAT) {
			json_object_set_new(node, "profile", json_string(n->profile.name));
			json_object_set_new(node, "wan", json_string(addr_only(buf, sizeof(buf), n->addr[0])));
			json_object_set_new(node, "lan", json_string(n->lan_addr));
		}
		json_object_set_new(nodes, n->name, node);
	}
	json_object_set_new(st, "nodes", nodes);
	json_object_set_new(st, "netns", ns);
	return st;
}


/* The signals that end a bring-up: they wait (blocked) until the lab is whole or gone. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void lab_block_signals(sigset_t *old)
{
	sigset_t block;

	stop_signals(&block);
	sigprocmask(SIG_BLOCK, &block, old);
}

bool lab_stop_pending(void)
{
	sigset_t pending, stop;

	sigpending(&pending);
	stop_signals(&stop);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&stop, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

void lab_stop_take(void)
{
	sigset_t stop;
	struct timespec zero = { 0, 0 };

	stop_signals(&stop);
	while (sigtimedwait(&stop, NULL, &zero) > 0)
		;
}

/* Starts the wire in the internet namespace, detached (it outlives `natlab up`; the lab's
 * teardown ends it with the rest of the lab's processes). It gets ready while the
 * NATs' rulesets load; wire_ready waits for it. Returns the pipe it reports on. */
static int wire_start(int inet_fd, struct wire_config *wc, const char *log, struct diag *d)
{
	int p[2], status;
	pid_t child;

	if (pipe2(p, O_CLOEXEC))
		return diag_set(d, "pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		int nul, lg;
		pid_t pid;

		setsid();
		if (fork() != 0)
			_exit(0);
		nul = open("/dev/null", O_RDWR);
		lg = outfile_open(log, O_TRUNC, 0600);
		if (netns_enter(inet_fd) || nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
		    dup2(lg >= 0 ? lg : nul, 2) < 0 || dup2(p[1], 3) < 0)
			_exit(1);
		close_range(4, ~0U, 0);
		prctl(PR_SET_NAME, "natlab-wire", 0, 0, 0);
		pid = getpid();
		if (write(3, &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		_exit(wire_run(wc, 3));
	}
	close(p[1]);
	if (child < 0) {
		close(p[0]);
		return diag_set(d, "fork: %s", strerror(errno));
	}
	waitpid(child, &status, 0);
	return p[0];
}

/* The first thing the wire sends: its pid (0 when it sent none within 3 s). */
static pid_t wire_pid(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	pid_t pid = 0;

	if (poll(&pfd, 1, 3000) != 1 || read(fd, &pid, sizeof(pid)) != sizeof(pid))
		return 0;
	return pid;
}

/* The wire's pid, then one byte once every port is open; the lab's state says where
 * its files are. */
static int wire_ready(int fd, const struct wire_config *wc, const char *log, json_t *st, struct diag *d)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	pid_t pid = wire_pid(fd);
	char ready = 0;
	int rc = -1;

	if (pid > 0 && poll(&pfd, 1, 3000) == 1 && read(fd, &ready, 1) == 1)
		rc = 0;
	else
		diag_set(d, "the wire did not start (see %s)", log);
	close(fd);
	if (pid > 0)
		json_object_set_new(st, "wire", json_pack("{s:i,s:I,s:s,s:s,s:s}", "pid", (int)pid, "start",
							   (json_int_t)proc_start(pid), "events", wc->events_path,
							   "log", log, "stats", wc->stats_path));
	if (!rc && wc->pcap_path[0])
		json_object_set_new(st, "pcap", json_string(wc->pcap_path));
	return rc;
}

/* A lab that failed after its wire started: the wire may not be in the internet
 * namespace yet, where down would find it, so it ends here by the pid it sends. */
static void wire_abort(int fd)
{
	pid_t pid = wire_pid(fd);

	if (pid > 0)
		kill(pid, SIGKILL);
	close(fd);
}

void lab_phases_start(struct lab_phases *p)
{
	p->n = 0;
	p->last = timing_now(CLOCK_MONOTONIC);
}

void lab_phase_end(struct lab_phases *p, const char *name)
{
	int64_t now;

	if (!p)
		return;
	now = timing_now(CLOCK_MONOTONIC);
	/* a phase met twice (one per node) adds up under one name */
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].name, name)) {
			p->v[i].ns += now - p->last;
			p->last = now;
			return;
		}
	if (p->n < LAB_PHASES_MAX) {
		p->v[p->n].name = name;
		p->v[p->n++].ns = now - p->last;
	}
	p->last = now;
}

/* scenario -> plan -> apply: the plan says what the lab will be, apply makes it;
 * this adds the name, the bookkeeping, the wire and the undo. */
int lab_up(const struct scenario *s, const struct lab_opts *o, char id[LAB_ID_MAX], struct diag *d)
{
	struct lab_apply *a = calloc(1, sizeof(*a));
	struct wire_config *wc = calloc(1, sizeof(*wc));
	struct lab_plan plan = { 0 };
	char wire_log[PATH_MAX], made[LAB_MAX_NODES][128];
	int n_made = 0, root = -1;
	sigset_t old;
	json_t *st;
	int rc = -1, wire_fd = -1, lock = -1;

	id[0] = '\0';
	lab_block_signals(&old);
	if (!wc || !a) {
		diag_set(d, "out of memory");
		goto out;
	}
	apply_init(a, &plan, -1); /* nothing held yet: the undo below has nothing to close */
	if (reserve_id(s->name, id, &lock, d))
		goto out;
	st = state_new(s, id);
	if (state_write(id, st, d)) {
		json_decref(st);
		goto undo;
	}
	root = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (root < 0 || plan_build(&plan, s, id, d)) {
		if (root < 0)
			diag_set(d, "open /proc/thread-self/ns/net: %s", strerror(errno));
		json_decref(st);
		goto undo;
	}
	a->root = root;
	lab_phase_end(o->phases, "name and state");
	if (apply_namespaces(a, d))
		goto undo_st;
	lab_phase_end(o->phases, "namespaces");
	if (apply_links(a, d))
		goto undo_st;
	lab_phase_end(o->phases, "links and addresses");
	if (apply_wait_running(a, d))
		goto undo_st;
	lab_phase_end(o->phases, "links running");
	apply_close_sockets(a);
	if (!s->bridge) {
		wire_config_from_scenario(wc, s);
		if (s->capture)
			run_path(wc->pcap_path, sizeof(wc->pcap_path), id, ".pcap");
		run_path(wc->events_path, sizeof(wc->events_path), id, ".events");
		run_path(wc->stats_path, sizeof(wc->stats_path), id, ".wire.stats");
		run_path(wire_log, sizeof(wire_log), id, ".wire.log");
		if ((wire_fd = wire_start(a->fd[0], wc, wire_log, d)) < 0)
			goto undo_st;
	}
	lab_phase_end(o->phases, "wire started");
	if (apply_nats(a, d))
		goto undo_st;
	lab_phase_end(o->phases, "nat rulesets");
	if (wire_fd >= 0) {
		rc = wire_ready(wire_fd, wc, wire_log, st, d);
		wire_fd = -1;
		if (rc)
			goto undo_st;
		rc = -1;
	}
	lab_phase_end(o->phases, "wire ready");
	json_object_set_new(st, "state", json_string("up"));
	if (o->owner == 0)
		json_object_set_new(st, "owner", json_null());
	else
		json_object_set_new(st, "owner",
				    json_pack("{s:i,s:I}", "pid", (int)o->owner, "start",
					      (json_int_t)proc_start(o->owner)));
	if (state_write(id, st, d))
		goto undo_st;
	rc = 0;
	lab_phase_end(o->phases, "state up");
undo_st:
	json_decref(st);
	if (wire_fd >= 0)
		wire_abort(wire_fd);
undo:
	/* undone, only what this bring-up made: a namespace of that name that it could
	 * not create is another lab's */
	for (int i = 0; rc && i < s->n; i++)
		if (a->fd[i] >= 0)
			lab_netns_name(made[n_made++], sizeof(made[0]), id, s->nodes[i].name);
	apply_release(a);
	plan_free(&plan);
	if (root >= 0)
		close(root);
	if (!rc)
		lab_phase_end(o->phases, "close");
	if (rc && id[0]) {
		struct diag ignore;

		teardown(id, made, n_made, false, NULL, &ignore);
	}
out:
	lab_unlock(id, lock, rc != 0);
	free(wc);
	free(a);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
