/* Bringing a lab up: a name, the plan applied, the wire started, the state written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cpus.h"
#include "../common/outfile.h"
#include "../common/sibling.h"
#include "../common/timing.h"
#include "../natsim/ruleset.h"
#include "apply.h"
#include "lab.h"
#include "lab_internal.h"
#include "service.h"
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

/* RUN_DIR/ID.hosts: the lab's nodes by name (a host's first address, a NAT's WAN
 * address), which natlab exec shows as /etc/hosts inside the lab: 0644, as
 * /etc/hosts, for a program that drops root */
static int hosts_write(const struct scenario *s, const char *id, struct diag *d)
{
	char path[PATH_MAX], buf[64];
	FILE *f;

	run_path(path, sizeof(path), id, ".hosts");
	f = outfile_fopen(path, 0644);
	if (!f)
		return diag_set(d, "cannot write %s: %s", path, strerror(errno));
	fprintf(f, "# natlab lab %s: its nodes by name\n127.0.0.1\tlocalhost\n::1\tlocalhost\n", id);
	for (int i = 1; i < s->n; i++)
		if (s->nodes[i].n_addr)
			fprintf(f, "%s\t%s %s.%s\n", addr_only(buf, sizeof(buf), s->nodes[i].addr[0]),
				s->nodes[i].name, s->nodes[i].name, id);
	if (fclose(f))
		return diag_set(d, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static json_t *state_new(const struct scenario *s, const char *id)
{
	json_t *st = json_object(), *nodes = json_object(), *ns = json_array();
	char buf[300];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	json_object_set_new(st, "lab", json_string(id));
	/* absolute: natlab bundle reads it again, from whatever directory it runs in */
	{
		char *abs = realpath(s->path, NULL);

		json_object_set_new(st, "scenario", json_string(abs ? abs : s->path));
		free(abs);
	}
	json_object_set_new(st, "state", json_string("building"));
	json_object_set_new(st, "created", json_real((double)now.tv_sec + now.tv_nsec / 1e9));
	json_object_set_new(st, "pcap", json_null());
	json_object_set_new(st, "seed", json_integer(s->seed));
	plan_json_cpus(st, s);
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

/* A descriptor moved to FD_MOVED_MIN or above: posix_spawn's dup2s into 0-5 must
 * not overwrite a source that sits there */
#define FD_MOVED_MIN 16

static int fd_moved(int fd)
{
	int h = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, FD_MOVED_MIN) : -1;

	if (fd >= 0)
		close(fd);
	return h;
}

/* Starts natlab-wire (beside this program) for the internet namespace. It is this
 * process's child, in a session of its own: it outlives `natlab up`, and the lab's
 * teardown ends it with the rest of the lab's processes. Started before the links
 * exist, it loads while they are made, then waits for its configuration on the
 * socket *config (wire_config_write, then close), which says its ports; wire_ready
 * waits for it to forward. Returns the pipe it reports on. */
static int wire_start(int inet_fd, const char *log, uint64_t cpus, int *config, struct diag *d)
{
	char exe[PATH_MAX];
	char *argv[] = { "natlab-wire", NULL };
	int p[2] = { -1, -1 }, c[2] = { -1, -1 }, lg, nul, ns, rc = -1;
	bool on_cpus = false;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid;

	*config = -1;
	if (sibling_program("natlab-wire", exe, sizeof(exe)))
		return diag_set(d, "cannot start the wire: %s: %s (run make)", exe, strerror(errno));
	lg = fd_moved(outfile_open(log, O_TRUNC, 0600));
	nul = fd_moved(open("/dev/null", O_RDWR | O_CLOEXEC));
	/* the namespace's descriptor is high unless the descriptor limit is low */
	ns = fcntl(inet_fd, F_DUPFD_CLOEXEC, FD_MOVED_MIN);
	if (!pipe2(p, O_CLOEXEC) && !socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c))
		for (int k = 0; k < 2; k++) {
			p[k] = fd_moved(p[k]);
			c[k] = fd_moved(c[k]);
		}
	if (nul >= 0 && ns >= 0 && p[0] >= 0 && p[1] >= 0 && c[0] >= 0 && c[1] >= 0) {
		posix_spawn_file_actions_init(&fa);
		posix_spawnattr_init(&at);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
		posix_spawn_file_actions_adddup2(&fa, nul, 0);
		posix_spawn_file_actions_adddup2(&fa, nul, 1);
		posix_spawn_file_actions_adddup2(&fa, lg >= 0 ? lg : nul, 2);
		posix_spawn_file_actions_adddup2(&fa, p[1], 3);
		posix_spawn_file_actions_adddup2(&fa, c[0], 4);
		posix_spawn_file_actions_adddup2(&fa, ns, 5);
		posix_spawn_file_actions_addclosefrom_np(&fa, 6);
		{
			/* a child starts with its parent thread's cores: the wire's
			 * threads are all on its CPUs from its first instruction; this
			 * thread goes back to its own afterwards */
			struct cpus_saved own = { 0 };

			if (cpus && cpus_bind_saving(cpus, &own)) {
				rc = errno;
				on_cpus = true;
			} else {
				rc = posix_spawn(&pid, exe, &fa, &at, argv, environ);
				if (cpus && cpus_restore(&own) && !rc) {
					rc = errno; /* the wire, without its configuration, ends */
					on_cpus = true;
				}
			}
		}
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
		if (rc && on_cpus)
			diag_set(d, "cannot start the wire on its cpus: %s", strerror(rc));
		else if (rc)
			diag_set(d, "cannot start the wire: %s: %s", exe, strerror(rc));
	} else {
		diag_set(d, "cannot start the wire: no descriptors for it (%s)", strerror(errno));
	}
	{
		int held[] = { lg, nul, ns, p[1], c[0] };

		for (size_t k = 0; k < sizeof(held) / sizeof(held[0]); k++)
			if (held[k] >= 0)
				close(held[k]);
	}
	if (rc) {
		if (p[0] >= 0)
			close(p[0]);
		if (c[1] >= 0)
			close(c[1]);
		return -1;
	}
	*config = c[1];
	return p[0];
}

/* natlab-wire, started as soon as the internet namespace exists (by the thread
 * beside the namespaces, or apply's internet_made): its load and its socket's ring (an RCU grace period, 10-15 ms
 * here) overlap the other namespaces and the links instead of following them. */
struct wire_starter {
	const char *log;
	uint64_t cpus;
	int *fd, *config;
	/* its configuration */
	const struct scenario *s;
	const char *id;
	struct wire_config *wc;
};

static int wire_start_early(void *arg, int inet_fd, struct diag *d)
{
	struct wire_starter *ws = arg;

	*ws->fd = wire_start(inet_fd, ws->log, ws->cpus, ws->config, d);
	return *ws->fd < 0 ? -1 : 0;
}

/* The wire's configuration, once its ports exist (a->ports_made): it opens them
 * while the rest of the links are made. */
static int wire_configure(void *arg, struct diag *d)
{
	struct wire_starter *ws = arg;
	struct wire_config *wc = ws->wc;
	int sent;

	if (*ws->config < 0)
		return 0;
	wire_config_from_scenario(wc, ws->s);
	if (ws->s->capture)
		run_path(wc->pcap_path, sizeof(wc->pcap_path), ws->id, ".pcap");
	run_path(wc->events_path, sizeof(wc->events_path), ws->id, ".events");
	run_path(wc->stats_path, sizeof(wc->stats_path), ws->id, ".wire.stats");
	sent = wire_config_write(wc, *ws->config);
	close(*ws->config);
	*ws->config = -1;
	return sent ? diag_set(d, "the wire did not take its configuration (see %s)", ws->log) : 0;
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

/* Work on a thread beside the namespaces and links, started before them:
 * - the wire's start, as soon as the internet namespace is made: posix_spawn holds
 *   the thread that calls it until the wire has exec'd, 0.15-1.8 ms here, which a
 *   namespace worker waited out when it started the wire;
 * - the NATs' rulesets: libnftables' first ruleset in a process is 5 ms of mostly
 *   page faults on a virtual machine. The library loads while the namespaces are
 *   made, and each NAT's ruleset goes in as soon as its namespace is there (its
 *   rules name interfaces, which need not exist yet), while the others and the
 *   links are made: kernel work, 2 cores, each has one. Started after the
 *   namespaces, the thread was waited for (0.4 ms of an up).
 * The rulesets only in a lab of fewer nodes than this: each node holds a netlink
 * socket among the low descriptors until the links are made, and libnftables
 * needs one below FD_SETSIZE (it select()s) */
#define NATS_BESIDE_MAX_NODES 512

struct beside {
	struct lab_apply *a;
	struct wire_starter *wire; /* the lab's wire; NULL: none (internet = bridge) */
	bool wire_here;            /* started by the thread (else by a namespace worker) */
	bool nats;                 /* the rulesets to load on the thread */
	struct nft_api nft;
	struct diag d, wire_d;
	int rc, wire_rc;
	pthread_t t;
	bool on;
	/* each node's namespace made, or the namespaces given up; the wire started
	 * (or not: wire_rc, wire_d) */
	bool made[LAB_MAX_NODES], gave_up, wire_done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static bool plan_has_nats(const struct lab_plan *p)
{
	for (int k = 0; k < p->n; k++)
		if (p->steps[k].op == PLAN_NFT)
			return true;
	return false;
}

/* a->node_made: from a namespace worker */
static void beside_node_made(void *arg, int i)
{
	struct beside *b = arg;

	pthread_mutex_lock(&b->mu);
	b->made[i] = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static int beside_wait(void *arg, int i)
{
	struct beside *b = arg;
	bool made;

	pthread_mutex_lock(&b->mu);
	while (!(made = b->made[i]) && !b->gave_up)
		pthread_cond_wait(&b->cv, &b->mu);
	made = made && !b->gave_up; /* given up: nothing more for a lab being undone */
	pthread_mutex_unlock(&b->mu);
	return made ? 0 : -1;
}

/* The NATs' rulesets by libnftables, loaded for them; with wait, each once its
 * namespace is made */
static int beside_load_nats(struct beside *b, int (*wait)(void *arg, int node), struct diag *d)
{
	int rc = nft_api_load(&b->nft, d);

	if (!rc)
		rc = apply_nats(b->a, &b->nft, wait, b, d);
	nft_api_unload(&b->nft);
	return rc;
}

static void *beside_run(void *arg)
{
	struct beside *b = arg;

	if (b->wire_here) {
		int rc = beside_wait(b, 0) ? diag_set(&b->wire_d, "the namespaces were not made")
					   : wire_start_early(b->wire, b->a->fd[0], &b->wire_d);

		pthread_mutex_lock(&b->mu);
		b->wire_rc = rc;
		b->wire_done = true;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
	}
	if (b->nats)
		b->rc = beside_load_nats(b, beside_wait, &b->d);
	return NULL;
}

/* The thread, told of each namespace by apply_namespaces; without one, the worker
 * that makes the internet namespace starts the wire, as before. */
static void beside_start(struct beside *b, const struct lab_plan *p, int nodes, struct wire_starter *wire)
{
	struct lab_apply *a = b->a;

	b->wire = wire;
	b->wire_here = wire != NULL;
	b->nats = nodes < NATS_BESIDE_MAX_NODES && plan_has_nats(p);
	if (b->wire_here || b->nats) {
		a->node_made = beside_node_made;
		a->node_made_arg = b;
		b->on = !pthread_create(&b->t, NULL, beside_run, b);
	}
	if (!b->on) {
		a->node_made = NULL;
		b->nats = false;
		b->wire_here = false;
		if (wire) {
			a->internet_made = wire_start_early;
			a->internet_arg = wire;
		}
	}
}

/* a->ports_made, and once more after the links: the wire, once started, gets its
 * configuration (once); its start's error is the links phase's */
static int beside_wire(void *arg, struct diag *d)
{
	struct beside *b = arg;

	if (!b->wire)
		return 0;
	if (b->wire_here) {
		pthread_mutex_lock(&b->mu);
		while (!b->wire_done)
			pthread_cond_wait(&b->cv, &b->mu);
		pthread_mutex_unlock(&b->mu);
		if (b->wire_rc) {
			*d = b->wire_d;
			return -1;
		}
	}
	return wire_configure(b->wire, d);
}

/* The rulesets' outcome: the thread's, or (without one) loaded here. */
static int beside_join(struct beside *b, struct diag *d)
{
	if (b->on) {
		pthread_join(b->t, NULL);
		b->on = false;
		if (b->rc) {
			*d = b->d;
			return -1;
		}
		if (b->nats)
			return 0;
	}
	return plan_has_nats(b->a->p) ? beside_load_nats(b, NULL, d) : 0;
}

/* A phase beside the thread failed: it ends before what it uses is undone. */
static void beside_stop(struct beside *b)
{
	if (!b->on)
		return;
	pthread_mutex_lock(&b->mu);
	b->gave_up = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->t, NULL);
	b->on = false;
}

/* [lab] cpus and wire_cpus: every CPU listed is one this process may run on */
static int cpus_check(const struct scenario *s, struct diag *d)
{
	const struct {
		const char *key;
		uint64_t set;
		int line;
	} lists[] = { { "cpus", s->cpus, s->cpus_line }, { "wire_cpus", s->wire_cpus, s->wire_cpus_line } };
	uint64_t own;
	char want[160], have[160];

	if (!s->cpus && !s->wire_cpus) /* any: nothing to ask the kernel on every up */
		return 0;
	own = cpus_usable(~0ULL);
	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		uint64_t not_own = lists[k].set & ~own;

		if (!not_own)
			continue;
		cpus_format(not_own, want, sizeof(want));
		cpus_format(own, have, sizeof(have));
		return diag_set(d, "%s:%d: %s: CPU %s is not one natlab may run on here (it may: %s)", s->path,
				lists[k].line, lists[k].key, want, have[0] ? have : "none known");
	}
	return 0;
}

/* scenario -> plan -> apply: the plan says what the lab will be, apply makes it;
 * this adds the name, the bookkeeping, the wire and the undo. */
int lab_up(const struct scenario *s, const struct lab_opts *o, char id[LAB_ID_MAX], struct diag *d)
{
	struct lab_apply *a = calloc(1, sizeof(*a));
	struct wire_config *wc = calloc(1, sizeof(*wc));
	struct lab_plan plan = { 0 };
	struct beside beside = { .a = a, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct wire_starter wire_starter;
	char wire_log[PATH_MAX], made[LAB_MAX_NODES][128];
	int n_made = 0, root = -1;
	sigset_t old;
	json_t *st;
	int rc = -1, wire_fd = -1, wire_config = -1, lock = -1;

	id[0] = '\0';
	lab_block_signals(&old);
	if (!wc || !a) {
		diag_set(d, "out of memory");
		goto out;
	}
	apply_init(a, &plan, -1); /* nothing held yet: the undo below has nothing to close */
	if (cpus_check(s, d) || reserve_id(s->name, id, &lock, d))
		goto out;
	st = state_new(s, id);
	if (state_write(id, st, d)) {
		json_decref(st);
		goto undo;
	}
	if (hosts_write(s, id, d))
		goto undo_st;
	root = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (root < 0 || plan_build(&plan, s, id, d)) {
		if (root < 0)
			diag_set(d, "open /proc/thread-self/ns/net: %s", strerror(errno));
		json_decref(st);
		goto undo;
	}
	a->root = root;
	if (!s->bridge) {
		run_path(wire_log, sizeof(wire_log), id, ".wire.log");
		wire_starter = (struct wire_starter){ .log = wire_log,
						      .cpus = s->wire_cpus ? s->wire_cpus : s->cpus,
						      .fd = &wire_fd,
						      .config = &wire_config,
						      .s = s,
						      .id = id,
						      .wc = wc };
		a->ports_made = beside_wire;
		a->ports_made_arg = &beside;
	}
	lab_phase_end(o->phases, "name and state");
	apply_fds_grow(a);
	beside_start(&beside, &plan, s->n, s->bridge ? NULL : &wire_starter);
	if (apply_namespaces(a, d))
		goto undo_st;
	lab_phase_end(o->phases, "namespaces and wire started");
	if (apply_links(a, d))
		goto undo_st;
	lab_phase_end(o->phases, "links and addresses");
	if (apply_wait_running(a, d))
		goto undo_st;
	lab_phase_end(o->phases, "links running");
	apply_close_sockets(a);
	/* configured as its ports were made (a lab whose internet has no link: now) */
	if (beside_wire(&beside, d))
		goto undo_st;
	if (beside_join(&beside, d))
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
	/* the services last: they answer on the internet from their start */
	if (services_start(&plan, id, a->fd, root, st, d))
		goto undo_st;
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
	beside_stop(&beside); /* first: it may be starting the wire */
	if (wire_config >= 0)
		close(wire_config); /* the wire, without its configuration, ends */
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
