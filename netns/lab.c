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
#include "link.h"
#include "netns.h"
#include "../wire/wire.h"

void lab_netns_name(char *buf, size_t len, const char *id, const char *node)
{
	snprintf(buf, len, "%s-%s", id, node);
}

bool lab_id_valid(const char *id)
{
	if (!*id || strlen(id) >= LAB_ID_MAX)
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return false;
	return true;
}

const char *lab_run_dir(void)
{
	const char *env = getenv("NATLAB_RUN_DIR");

	return env && *env ? env : LAB_RUN_DIR;
}

/* A lab's files in the run directory: ID.json (bookkeeping), ID.pcap, ID.events, ID.wire.log */
static void run_path(char *buf, size_t len, const char *id, const char *ext)
{
	snprintf(buf, len, "%s/%s%s", lab_run_dir(), id, ext);
}

static void state_path(char *buf, size_t len, const char *id)
{
	run_path(buf, len, id, ".json");
}

/* the kernel's PF_EXITING (include/linux/sched.h), in field 9 of /proc/PID/stat */
#define PROC_FLAG_EXITING 0x4

/* Start time of a process (field 22 of /proc/PID/stat), to tell a reused PID apart;
 * 0 for none, for one that has ended but is not reaped yet (a zombie), and for one
 * on its way out: a killed wire takes milliseconds to close its sockets and die,
 * and an attempt that ends meanwhile must not take it for alive. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024], state = 0;
	unsigned long long start = 0;
	unsigned flags = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* after ")": state is field 3, flags 9, starttime 22 */
		if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			   &state, &flags, &start) != 3 || state == 'Z' || state == 'X' ||
		    (flags & PROC_FLAG_EXITING))
			start = 0;
	}
	fclose(f);
	return start;
}

static int state_write(const char *id, json_t *state, struct diag *d)
{
	char path[256], tmp[300];
	int fd, rc;

	state_path(path, sizeof(path), id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* a .tmp left by a killed writer is ours to replace, a symlink is not followed */
	unlink(tmp);
	fd = outfile_open(tmp, O_EXCL, 0600);
	if (fd < 0)
		return diag_set(d, "cannot write %s: %s", tmp, strerror(errno));
	rc = json_dumpfd(state, fd, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (close(fd) || rc || rename(tmp, path)) {
		unlink(tmp);
		return diag_set(d, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* The run directory: made private; one that others may write to, or that is not
 * ours, would let them plant or read a lab's files */
static int run_dir_check(struct diag *d)
{
	const char *dir = lab_run_dir();
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return diag_set(d, "mkdir %s: %s", dir, strerror(errno));
	if (lstat(dir, &st))
		return diag_set(d, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return diag_set(d, "%s: not a directory (a symlink?): refusing it as the run directory", dir);
	if (st.st_uid != geteuid())
		return diag_set(d, "%s: owned by uid %u, not %u: refusing it as the run directory", dir,
				(unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return diag_set(d, "%s: writable by others (mode %03o): refusing it as the run directory", dir,
				(unsigned)(st.st_mode & 0777));
	return 0;
}

json_t *lab_state_read(const char *id, struct diag *d)
{
	char path[256];
	json_error_t err;
	json_t *st;

	if (!lab_id_valid(id)) {
		diag_set(d, "\"%s\" is not a lab name", id);
		return NULL;
	}
	state_path(path, sizeof(path), id);
	st = json_load_file(path, 0, &err);
	if (!st)
		diag_set(d, "no lab \"%s\" (see natlab list)", id);
	return st;
}

bool lab_is_stale(json_t *state)
{
	json_t *owner = json_object_get(state, "owner");
	pid_t pid;

	if (!json_is_object(owner))
		return false;
	pid = (pid_t)json_integer_value(json_object_get(owner, "pid"));
	return pid <= 0 ||
	       proc_start(pid) != (unsigned long long)json_integer_value(json_object_get(owner, "start"));
}

const char *lab_health(json_t *state)
{
	json_t *wire = json_object_get(state, "wire");
	const char *s = json_string_value(json_object_get(state, "state"));

	if (lab_is_stale(state))
		return "stale";
	/* the wire is the lab's internet: without it nothing crosses */
	if (s && !strcmp(s, "up") && json_is_object(wire)) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(wire, "pid"));
		json_t *start = json_object_get(wire, "start");
		unsigned long long now = pid > 0 ? proc_start(pid) : 0;

		if (!now || (json_is_integer(start) && now != (unsigned long long)json_integer_value(start)))
			return "broken";
	}
	/* and a node whose namespace someone removed: nothing reaches it */
	if (s && !strcmp(s, "up")) {
		size_t i;
		json_t *ns;

		json_array_foreach(json_object_get(state, "netns"), i, ns) {
			char path[256];
			struct stat sb;

			snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, json_string_value(ns));
			if (json_is_string(ns) && lstat(path, &sb))
				return "broken";
		}
	}
	return s ? s : "?";
}

static int lab_netns_list(const char *id, char names[][128], int max);

static int lab_netns_count(const char *id)
{
	char names[1][128];

	return lab_netns_list(id, names, 1);
}

/* up and down of one lab go one at a time: each holds LAB.lock (flock) throughout,
 * up from before its name exists. Returns the held fd, -1 (errno). */
static int lab_lock(const char *id, bool wait)
{
	char path[256];
	int fd;

	run_path(path, sizeof(path), id, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)))
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	return fd;
}

/* Done with a lab's lock; with `gone` the lab is, and the lock file goes too. */
static void lab_unlock(const char *id, int fd, bool gone)
{
	char path[256];

	if (fd < 0)
		return;
	if (gone) {
		run_path(path, sizeof(path), id, ".lock");
		unlink(path);
	}
	close(fd);
}

/* Reserves a unique name by creating its bookkeeping file, its lock held first so
 * that no down can come between (*lock: the held fd). */
static int reserve_id(const char *base, char id[LAB_ID_MAX], int *lock, struct diag *d)
{
	if (run_dir_check(d))
		return -1;
	for (int tries = 0; tries < 100; tries++) {
		unsigned short r;
		char path[256];
		int fd;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (unsigned short)(getpid() + tries);
		snprintf(id, LAB_ID_MAX, "%s-%04x", base, r);
		/* namespaces are the machine's: a name another run directory's lab has */
		if (lab_netns_count(id))
			continue;
		*lock = lab_lock(id, false);
		if (*lock < 0) {
			if (errno == EWOULDBLOCK)
				continue; /* a lab of that name is being taken down */
			return diag_set(d, "cannot lock %s: %s", id, strerror(errno));
		}
		state_path(path, sizeof(path), id);
		fd = outfile_open(path, O_EXCL, 0600);
		if (fd >= 0) {
			/* the builder is named at once: killed before its first full state,
			 * the lab is stale at once, and not "building" for the grace period */
			dprintf(fd, "{\"lab\": \"%s\", \"state\": \"building\", \"owner\": {\"pid\": %d, \"start\": %llu}}\n",
				id, (int)getpid(), proc_start(getpid()));
			close(fd);
			return 0;
		}
		lab_unlock(id, *lock, false);
		*lock = -1;
		if (errno != EEXIST)
			return diag_set(d, "cannot create %s: %s", path, strerror(errno));
	}
	return diag_set(d, "no free lab name for \"%s\"", base);
}

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

static int teardown(const char *id, char names[][128], int n, bool wait_wire, struct lab_phases *p,
		    struct diag *d);

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

static int interrupted(struct diag *d)
{
	return lab_stop_pending() ? diag_set(d, "interrupted") : 0;
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
	apply_init(a, &plan, -1);
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
	apply_init(a, &plan, root);
	lab_phase_end(o->phases, "name and state");
	if (apply_namespaces(a, d) || interrupted(d))
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

/* The lab's processes, watched through pidfds (which also see an exit that no
 * parent has reaped yet). */
struct lab_procs {
	struct pollfd *pfd;
	pid_t *pid;
	int n, cap;
};

static bool procs_add(struct lab_procs *p, pid_t pid, int fd)
{
	if (p->n == p->cap) {
		int cap = p->cap ? 2 * p->cap : 64;
		struct pollfd *pfd = realloc(p->pfd, sizeof(*pfd) * (size_t)cap);
		pid_t *pids = pfd ? realloc(p->pid, sizeof(*pids) * (size_t)cap) : NULL;

		if (pfd)
			p->pfd = pfd;
		if (!pids)
			return false;
		p->pid = pids;
		p->cap = cap;
	}
	p->pid[p->n] = pid;
	p->pfd[p->n].fd = fd;
	p->pfd[p->n++].events = POLLIN;
	return true;
}

static void procs_free(struct lab_procs *p)
{
	free(p->pfd);
	free(p->pid);
}

static void procs_term(struct lab_procs *p, pid_t pid)
{
	int fd;

	for (int i = 0; i < p->n; i++)
		if (p->pid[i] == pid)
			return;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		/* out of descriptors (a lab of thousands of processes): no clean end for
		 * this one, but an end; the PID was seen in the lab's namespace just now */
		if (errno == EMFILE || errno == ENFILE)
			kill(pid, SIGKILL);
		return;
	}
	if (syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0) || !procs_add(p, pid, fd))
		close(fd);
}

/* SIGKILL now, and left out of the wait (and of procs_term's SIGTERM) */
static void procs_kill_unwaited(struct lab_procs *p, pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return;
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
	procs_add(p, pid, -1); /* poll skips it; procs_wait counts it gone */
}

static bool pid_in_netns(pid_t pid, unsigned long ino)
{
	char path[64], link[64], want[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return false;
	link[len] = '\0';
	snprintf(want, sizeof(want), "net:[%lu]", ino);
	return !strcmp(link, want);
}

/* Every process living in one of the lab's namespaces belongs to the lab: each gets
 * SIGTERM (p) or, with p NULL, SIGKILL at once. The number found. */
static int procs_term_in(struct lab_procs *p, const unsigned long *inodes, int n, pid_t skip)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	int found = 0;

	if (!proc)
		return 0;
	while (n > 0 && (e = readdir(proc))) {
		char path[300], link[64];
		unsigned long ino;
		ssize_t len;
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid <= 0 || pid == getpid() || pid == skip)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "net:[%lu]", &ino) != 1)
			continue;
		for (int i = 0; i < n; i++)
			if (inodes[i] == ino) {
				found++;
				if (p)
					procs_term(p, pid);
				else
					kill(pid, SIGKILL);
			}
	}
	closedir(proc);
	return found;
}

/* Half a second to end cleanly, then SIGKILL. */
static void procs_wait(struct lab_procs *p)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int alive = 0, left;

		for (int i = 0; i < p->n; i++)
			alive += p->pfd[i].fd >= 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = 500 - (int)((now.tv_sec - start.tv_sec) * 1000 +
				   (now.tv_nsec - start.tv_nsec) / 1000000);
		if (!alive || left <= 0 || poll(p->pfd, (nfds_t)p->n, left) <= 0)
			break;
		for (int i = 0; i < p->n; i++)
			if (p->pfd[i].fd >= 0 && p->pfd[i].revents) {
				close(p->pfd[i].fd);
				p->pfd[i].fd = -1; /* poll skips negative fds */
			}
	}
	for (int i = 0; i < p->n; i++)
		if (p->pfd[i].fd >= 0) {
			syscall(SYS_pidfd_send_signal, p->pfd[i].fd, SIGKILL, NULL, 0);
			close(p->pfd[i].fd);
		}
}

/* The lab's namespaces are exactly "<id>-<node>": ids are "<base>-<hex>" and neither
 * part nor a node name has a '-', so this finds them even without bookkeeping. */
static int lab_netns_list(const char *id, char names[][128], int max)
{
	DIR *dir = opendir(NETNS_RUN_DIR);
	size_t idlen = strlen(id);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)) && n < max) {
		size_t len = strlen(e->d_name);

		if (!strncmp(e->d_name, id, idlen) && e->d_name[idlen] == '-' &&
		    !strchr(e->d_name + idlen + 1, '-') && len < 128)
			memcpy(names[n++], e->d_name, len + 1);
	}
	closedir(dir);
	return n;
}

int lab_down(const char *id, struct diag *d)
{
	return lab_down_timed(id, false, NULL, d);
}

/* Ends the processes in the namespaces `names` (n of them, lab id's), removes
 * them, the lab's files and its bookkeeping. */
static int teardown(const char *id, char names[][128], int n, bool wait_wire, struct lab_phases *p,
		    struct diag *d)
{
	unsigned long inodes[LAB_MAX_NODES], pinned[LAB_MAX_NODES];
	int pins[LAB_MAX_NODES];
	char path[256];
	int ni = 0, np = 0, rc = 0;
	struct lab_procs *procs;
	struct diag ignore;
	json_t *st;
	pid_t wire;

	state_path(path, sizeof(path), id);
	procs = calloc(1, sizeof(*procs));
	if (!procs)
		return diag_set(d, "out of memory");
	/* the internet first: the wire lives there. Each namespace is held open until
	 * the end: a namespace freed after its removal gives its inode number to the
	 * next one made, perhaps another lab's, whose processes the last pass would
	 * kill. One that cannot be held (out of descriptors) is left out of that pass. */
	for (int i = 0; i < n; i++) {
		int fd = netns_open(names[i]);
		struct stat sb;
		unsigned long ino = fd >= 0 && !fstat(fd, &sb) ? (unsigned long)sb.st_ino : netns_inode(names[i]);
		bool inet = !strcmp(names[i] + strlen(id) + 1, "internet");

		if (fd >= 0 && ino) {
			pins[np] = fd;
			pinned[np++] = ino;
		} else if (fd >= 0) {
			close(fd);
		}
		if (!ino)
			continue;
		if (inet && ni) {
			inodes[ni++] = inodes[0];
			inodes[0] = ino;
		} else {
			inodes[ni++] = ino;
		}
	}
	/* The wire is killed, not waited for: closing its packet socket waits for an
	 * RCU grace period (10-20 ms here), which passes after down has returned;
	 * nothing can reach it meanwhile, and its files go with the lab. */
	st = lab_state_read(id, &ignore);
	wire = (pid_t)json_integer_value(json_object_get(json_object_get(st, "wire"), "pid"));
	json_decref(st);
	lab_phase_end(p, "find");
	if (wire > 0 && ni > 0 && pid_in_netns(wire, inodes[0]))
		wait_wire ? procs_term(procs, wire) : procs_kill_unwaited(procs, wire);
	procs_term_in(procs, inodes, ni, wire);
	lab_phase_end(p, "signal processes");
	for (int i = 0; i < n; i++)
		if (netns_remove(names[i]))
			rc = diag_set(d, "cannot remove netns %s: %s", names[i], strerror(errno));
	lab_phase_end(p, "namespaces");
	for (const char *const *ext = (const char *const[]){ ".pcap", ".events", ".wire.log", ".wire.stats", NULL };
	     *ext; ext++) {
		char file[PATH_MAX];

		run_path(file, sizeof(file), id, *ext);
		unlink(file);
	}
	lab_phase_end(p, "files");
	procs_wait(procs);
	procs_free(procs);
	free(procs);
	/* what forked meanwhile, or was past the descriptors: killed until none is left
	 * (the wire is on its way out already, and not waited for) */
	for (int pass = 0; pass < 50 && procs_term_in(NULL, pinned, np, wire); pass++)
		usleep(10000);
	for (int i = 0; i < np; i++)
		close(pins[i]);
	lab_phase_end(p, "wait for processes");
	if (!rc && unlink(path) && errno != ENOENT)
		rc = diag_set(d, "cannot remove %s: %s", path, strerror(errno));
	lab_phase_end(p, "state");
	return rc;
}

static int down(const char *id, bool force, bool wait_wire, struct lab_phases *p, struct diag *d);

int lab_down_timed(const char *id, bool force, struct lab_phases *p, struct diag *d)
{
	return down(id, force, false, p, d);
}

int lab_down_sync(const char *id, struct diag *d)
{
	return down(id, false, true, NULL, d);
}

static int down_locked(const char *id, bool force, bool wait_wire, struct lab_phases *p, struct diag *d)
{
	char names[LAB_MAX_NODES][128], path[256];
	int n;

	if (!lab_id_valid(id))
		return diag_set(d, "\"%s\" is not a lab name", id);
	state_path(path, sizeof(path), id);
	n = lab_netns_list(id, names, LAB_MAX_NODES);
	if (n == 0 && access(path, F_OK))
		return diag_set(d, "no lab \"%s\" (see natlab list)", id);
	/* namespaces are the machine's, bookkeeping is a run directory's: without it
	 * here, the lab is most likely another run directory's, and not ours to end */
	if (n > 0 && access(path, F_OK) && !force)
		return diag_set(d, "lab \"%s\" has namespaces but no bookkeeping in %s (another run "
				   "directory's?); natlab down --force %s removes them", id, lab_run_dir(), id);
	return teardown(id, names, n, wait_wire, p, d);
}

static int down(const char *id, bool force, bool wait_wire, struct lab_phases *p, struct diag *d)
{
	int lock, rc;

	if (!lab_id_valid(id))
		return diag_set(d, "\"%s\" is not a lab name", id);
	/* an up of this lab still under way finishes first, and is then taken down */
	char path[256];

	lock = lab_lock(id, true);
	rc = down_locked(id, force, wait_wire, p, d);
	state_path(path, sizeof(path), id);
	lab_unlock(id, lock, access(path, F_OK) && errno == ENOENT);
	return rc;
}

int lab_reap_temp(void)
{
	DIR *dir = opendir(lab_run_dir());
	struct dirent *e;
	int n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		struct stat sb;

		bool tmp = len > 9 && !strcmp(e->d_name + len - 9, ".json.tmp");
		bool lock = len > 5 && !strcmp(e->d_name + len - 5, ".lock");

		/* a state file's next version, left by a writer killed before its rename;
		 * the lock of a lab that is no more */
		if (lock) {
			char state[NAME_MAX + 8];

			snprintf(state, sizeof(state), "%.*s.json", (int)(len - 5), e->d_name);
			if (!faccessat(dirfd(dir), state, F_OK, AT_SYMLINK_NOFOLLOW) || errno != ENOENT)
				continue;
		}
		if ((tmp || lock) && !fstatat(dirfd(dir), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) &&
		    time(NULL) - sb.st_mtime > LAB_RESERVE_GRACE_S && !unlinkat(dirfd(dir), e->d_name, 0))
			n++;
	}
	closedir(dir);
	return n;
}

int lab_foreach(int (*fn)(const char *id, json_t *state, void *arg), void *arg)
{
	DIR *dir = opendir(lab_run_dir());
	struct dirent *e;
	int rc = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		char id[LAB_ID_MAX + 8];
		size_t len = strlen(e->d_name);
		json_t *st;
		struct diag ignore;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") || len - 5 >= LAB_ID_MAX)
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(len - 5), e->d_name);
		st = lab_state_read(id, &ignore);
		if (!st) {
			/* a name reserved but not yet written, or a torn file: still a lab,
			 * and its builder's if young; one that stayed so for seconds lost its
			 * builder between the reservation and the first write (a kill): stale */
			struct stat sb;
			bool old = !fstatat(dirfd(dir), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) &&
				   time(NULL) - sb.st_mtime > LAB_RESERVE_GRACE_S;

			st = json_pack("{s:s,s:s,s:o}", "lab", id, "state", "building", "owner",
				       old ? json_pack("{s:i,s:i}", "pid", 0, "start", 0) : json_null());
		}
		if (fn(id, st, arg))
			rc = -1;
		json_decref(st);
	}
	closedir(dir);
	return rc;
}
