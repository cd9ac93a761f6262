/* One lab of natlab run: up, the rendezvous server, its attempts, down. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cli/subcommands.h"
#include "../common/outfile.h"
#include "../common/sibling.h"
#include "../common/strategy.h"
#include "../natsim/conntrack.h"
#include "../netns/lab.h"
#include "attempt.h"
#include "capture.h"
#include "edges.h"
#include "child.h"
#include "lab_job.h"
#include "nats.h"
#include "output.h"
#include "record.h"
#include "servers.h"

#define OFF_SCHEDULE_RETRIES 8

/* Waits for a token of a pipe (a core, an opening), or for a stop: a run whose
 * parent has gone (PDEATHSIG) or was told to stop must not wait on a pipe that
 * the other workers keep open forever. False when it took none (a stop). */
static bool token_take(int fd)
{
	char b;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (lab_stop_pending())
			return false;
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, &b, 1); /* another may have been first */

		if (n > 0)
			return true;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return false;
	}
}

static void token_give(int fd)
{
	while (write(fd, "t", 1) < 0 && errno == EINTR)
		;
}

void core_take(const struct run_ctx *c)
{
	token_take(c->cores[0]);
}

void core_give(const struct run_ctx *c)
{
	token_give(c->cores[1]);
}

bool opening_take(const struct run_ctx *c)
{
	return token_take(c->openings[0]);
}

/* Pays what a retake owed first: the token then stays out, held by the retake. */
void opening_give(const struct run_ctx *c)
{
	char b;

	if (read(c->owed[0], &b, 1) == 1)
		return;
	token_give(c->openings[1]);
}

/* The later side of a skew starts when its instant comes, whoever holds the
 * tokens: a token if one is free, else one owed (the next give pays it), so new
 * openings wait while the machine is past its count (but for a give that came
 * between the read and the write: then one more opening for a moment), and this
 * one never does. */
void opening_retake(const struct run_ctx *c)
{
	char b;

	if (read(c->openings[0], &b, 1) == 1)
		return;
	while (write(c->owed[1], "o", 1) < 0 && errno == EINTR)
		;
}

/* Building and tearing down a lab is kernel work that nothing preempts (these
 * kernels run without preemption) in stretches of milliseconds: perf sched showed
 * wires woken during a namespace's creation (unshare) or a veth's (an expedited
 * RCU grace period) wait that long for their core. So builds go one at a time and
 * only while no attempt is in its timing window: a window holds DIR/.build.lock
 * shared, a build holds it exclusive. flock(2) lets new shared holders in while an
 * exclusive one waits: windows go first, and a build waits for a gap (with every
 * core held by a waiting build, no window starts, so the gap comes). */
static int build_lock_open(const struct run_ctx *c)
{
	return open(c->build_lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

void build_begin(int fd)
{
	if (fd >= 0)
		while (flock(fd, LOCK_EX) && errno == EINTR)
			;
}

void build_end(int fd)
{
	if (fd >= 0)
		flock(fd, LOCK_UN);
}

void window_begin(int fd)
{
	if (fd >= 0)
		while (flock(fd, LOCK_SH) && errno == EINTR)
			;
}

/* auto: each host of the pair classified once per lab (natlab classify against
 * the lab's rendezvous server, which speaks STUN at its port), side by side; its
 * profile into DIR/classified/LAB-HOST.profile for the peers' --profile, and how
 * long it took. -1 with d when a host could not be classified. */
static int classify_pair(const struct scenario *s, const char *id, const struct run_ctx *c, const char *server_ep,
			 struct lab_extras *out, struct diag *d)
{
	char natlab[PATH_MAX], dir[PATH_MAX];
	struct child kid[2] = { CHILD_NONE, CHILD_NONE };
	struct timespec t0;
	int rc = 0;

	if (sibling_program("natlab", natlab, sizeof(natlab)))
		return diag_set(d, "%s: %s", natlab, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/classified", c->outdir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return diag_set(d, "%s: %s", dir, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2; i++) {
		char *argv[] = { natlab, "classify", "--server", (char *)server_ep, NULL };

		if (spawn_in(id, s->nodes[s->run.pair[i]].name, s->cpus, argv, NULL, NULL, &kid[i]))
			kid[i].pid = -1;
	}
	/* both profiles (a few hundred bytes each) read side by side, each timed at
	 * its end, within classify's own guard */
	{
		char text[2][8192];
		size_t len[2] = { 0, 0 };
		bool open[2] = { kid[0].pid > 0, kid[1].pid > 0 };

		while ((open[0] || open[1]) && seconds_since(&t0) < CLASSIFY_MAX_S && !lab_stop_pending()) {
			struct pollfd p[2] = { { .fd = open[0] ? kid[0].out : -1, .events = POLLIN },
					       { .fd = open[1] ? kid[1].out : -1, .events = POLLIN } };

			if (poll(p, 2, 100) < 0)
				break;
			for (int i = 0; i < 2; i++) {
				ssize_t n;

				if (!open[i] || !p[i].revents)
					continue;
				n = read(kid[i].out, text[i] + len[i], sizeof(text[i]) - 1 - len[i]);
				if (n > 0)
					len[i] += (size_t)n;
				if (n <= 0 || len[i] == sizeof(text[i]) - 1) {
					open[i] = false;
					out->side[i].seconds = seconds_since(&t0);
				}
			}
		}
		for (int i = 0; i < 2; i++) {
			struct lab_class *k = &out->side[i];
			int fd, status = -1;

			snprintf(k->path, sizeof(k->path), "%.3900s/%s-%s.profile", dir, id, s->nodes[s->run.pair[i]].name);
			if (kid[i].pid < 0) {
				rc = diag_set(d, "cannot start natlab classify in %s", s->nodes[s->run.pair[i]].name);
				continue;
			}
			close(kid[i].out);
			kill(kid[i].pid, SIGKILL); /* a no-op when it has finished */
			waitpid(kid[i].pid, &status, 0);
			if (open[i])
				k->seconds = seconds_since(&t0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) || !len[i]) {
				rc = diag_set(d, "natlab classify in %s failed (exit %d)", s->nodes[s->run.pair[i]].name,
					      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
				continue;
			}
			fd = outfile_open(k->path, O_TRUNC, 0644);
			if (fd < 0 || write(fd, text[i], len[i]) != (ssize_t)len[i])
				rc = diag_set(d, "%s: %s", k->path, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
	}
	out->done = !rc;
	return rc;
}

static bool lab_broken(const char *id)
{
	struct diag d;
	json_t *st = lab_state_read(id, &d);
	bool broken = st && !strcmp(lab_health(st), "broken");

	json_decref(st);
	return broken;
}

/* A lab that is up, as its attempts need it */
struct lab_run {
	const struct scenario *s;
	const struct run_ctx *c;
	const char *id, *server_ep, *events, *stats;
	int building, wire, count;
	struct ct_watch *const *watch;
	const struct lab_extras *extras;
	struct failed *failed;
	struct child *stay; /* the pair's staying peers (natlab-probe peers) */
	struct own_server *servers; /* the programs' own servers (servers.c) */
};

/* An attempt of the lab's plan, kept; run again while off schedule (the record
 * stays, flagged: it measured another cell), 8 times at most. through: 1 when
 * the last of them was on schedule and got through (connected or relayed), 0
 * when on schedule and not, -1 when never on schedule. edge: an edge probe's
 * search, written into its records. Returns the run's exit code so far. */
static int attempt_kept(struct lab_run *l, const char *strategy, double skew_ms,
			const struct attempt_record *edge, int *through)
{
	const struct scenario *s = l->s;
	int rc = 0;

	for (unsigned tries = 0;; tries++) {
		struct attempt_record rec;
		const char *ps; /* its program's own server: running, or how it ended */
		bool again;

		servers_check(s, l->id, l->servers);
		attempt(s, l->id, l->c, l->building, l->watch, l->server_ep, l->extras, strategy, skew_ms,
			l->count, l->events, l->stats, l->wire, l->stay, &rec);
		ps = servers_state(s, l->servers, strategy);
		if (ps)
			snprintf(rec.program_server, sizeof(rec.program_server), "%s", ps);
		if (edge) {
			rec.edge = edge->edge;
			/* a probe's vote is for its skew only when the NATs emitted it within
			 * half the resolution (the lab's tolerance, 2 ms or more, is wider
			 * than the bracket): else it measured another skew, and runs again */
			if (rec.on_schedule == RECORD_TRUE && rec.timing.emit_error_ms > edge->edge.resolution_ms / 2)
				rec.on_schedule = RECORD_FALSE;
		}
		/* a lab whose wire died measured nothing: said so, and no more */
		if (lab_broken(l->id)) {
			snprintf(rec.outcome, sizeof(rec.outcome), "lab-broken");
			rec.agrees = rec.on_schedule = RECORD_NULL;
			keep_record(l->c, &rec, l->failed);
			record_release(&rec);
			return fail(1, "lab %s broke during its attempt %d (its wire is gone); "
				       "its other attempts are not run", l->id, l->count);
		}
		/* an attempt whose timing the lab did not hold measured another
		 * cell: the record stays, flagged, and the attempt runs again */
		again = rec.on_schedule == RECORD_FALSE && tries < OFF_SCHEDULE_RETRIES;
		/* an attempt cut short by Ctrl-C is no measurement */
		if (lab_stop_pending()) {
			record_release(&rec);
			return 130;
		}
		l->count++;
		if (through)
			*through = rec.on_schedule == RECORD_FALSE ? -1
				   : !strcmp(rec.outcome, "connected") || !strcmp(rec.outcome, "relayed");
		rc = keep_record(l->c, &rec, l->failed);
		record_release(&rec);
		/* 'a': an attempt of the plan done; 'e': an edge probe's; 'r': one to run again */
		if (!rc && write(l->c->progress, again ? "r" : edge ? "e" : "a", 1) < 0) {
			/* a full pipe only slows the bar */
		}
		if (!again || rc)
			return rc;
	}
}

/* How many attempts decide whether a skew gets through: the first two when they
 * agree, else a third; one never on schedule has no vote */
#define EDGE_VOTES 3

struct edge_probe {
	struct lab_run *lab;
	const char *strategy;
	struct attempt_record edge; /* the search, for the records */
	int rc;
};

/* edge_search's probe: the majority of up to EDGE_VOTES attempts at skew_ms (a
 * tie, or no vote at all, counts as not through: an edge is never claimed wider
 * than measured) */
static int probe_skew(double skew_ms, void *arg)
{
	struct edge_probe *p = arg;
	int yes = 0, no = 0;

	for (int k = 0; k < EDGE_VOTES && 2 * yes <= EDGE_VOTES && 2 * no <= EDGE_VOTES; k++) {
		int through;

		if ((p->rc = attempt_kept(p->lab, p->strategy, skew_ms, &p->edge, &through)))
			return -1;
		yes += through == 1;
		no += through == 0;
	}
	return yes > no;
}

/* edges = bisect: each side of the strategy's window around skew 0 searched
 * within skew_ms's range (edges.h), every probe an attempt kept with the search
 * in its record; the report reads the edges off those records. */
static int search_edges(struct lab_run *l, const char *strategy)
{
	const struct run_spec *r = &l->s->run;
	struct edge_probe p = { .lab = l, .strategy = strategy };
	struct model_case mc;
	bool modelled = attempt_model_case(l->s, strategy, 0, &mc);
	double range[2], seed[2] = { NAN, NAN };
	int zero;

	edge_range(r->skews_ms, r->n_skews, range);
	record_init(&p.edge);
	p.edge.edge.on = true;
	p.edge.edge.resolution_ms = r->edge_resolution_ms;
	for (int i = 0; i < 2; i++) {
		int dir = i ? 1 : -1;

		p.edge.edge.range_ms[i] = range[i];
		if (modelled && model_predict(&mc) != PREDICT_UNKNOWN) {
			seed[i] = edge_predicted(&mc, dir, fabs(range[i]));
			/* the model's window in the records: its edge, the range's end where
			 * it reaches beyond */
			p.edge.edge.predicted_ms[i] = isinf(seed[i]) ? range[i] : seed[i] ? dir * seed[i] : 0;
		}
	}
	zero = probe_skew(0, &p);
	if (zero <= 0)
		return p.rc; /* no window at all (or a stop) */
	for (int i = 0; i < 2; i++) {
		struct edge_result res;

		if (range[i] != 0 && edge_search(i ? 1 : -1, fabs(range[i]), r->edge_resolution_ms, seed[i],
						 probe_skew, &p, &res))
			return p.rc;
	}
	return 0;
}

/* One lab: up, the rendezvous server, every attempt of its [run], down. Signals
 * are blocked; one pending stops it between attempts. Holds a core throughout
 * except while it waits. */
int run_lab(const struct scenario *s, const struct run_ctx *c)
{
	char id[LAB_ID_MAX] = "", server_ep[64], buf[INET_ADDRSTRLEN], events[PATH_MAX] = "";
	char stats[PATH_MAX] = "";
	int building;
	struct ct_watch *watch[LAB_MAX_NODES];
	struct lab_opts o = { .owner = getpid() };
	struct child server = CHILD_NONE;
	struct child stay[2] = { CHILD_NONE, CHILD_NONE };
	struct own_server servers[RUN_MAX_STRATEGIES];
	json_t *st;
	struct failed failed = { 0 };
	struct lab_extras extras = { .done = false };
	struct diag d;
	int rc = 0, wire = -1;

	servers_init(servers);
	building = build_lock_open(c);
	core_take(c);
	build_begin(building);
	if (lab_up(s, &o, id, &d)) {
		build_end(building);
		if (building >= 0)
			close(building);
		core_give(c);
		return fail(1, "%s", d.msg);
	}
	watch_nats(s, id, watch);
	st = lab_state_read(id, &d);
	if (st && json_string_value(json_object_get(json_object_get(st, "wire"), "events")))
		snprintf(events, sizeof(events), "%s",
			 json_string_value(json_object_get(json_object_get(st, "wire"), "events")));
	if (st && json_string_value(json_object_get(json_object_get(st, "wire"), "stats")))
		snprintf(stats, sizeof(stats), "%s",
			 json_string_value(json_object_get(json_object_get(st, "wire"), "stats")));
	/* the wire by a pidfd: asked to record before each attempt's events are read,
	 * and never a process that took its PID after it */
	if (st && !strcmp(lab_health(st), "up")) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(json_object_get(st, "wire"), "pid"));

		wire = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	}
	/* relay = turn: the lab's TURN server, and how to log in */
	{
		json_t *sv;
		size_t k;

		json_array_foreach(json_object_get(st, "services"), k, sv)
			if (!strcmp(json_string_value(json_object_get(sv, "service")), "turn")) {
				snprintf(extras.turn_ep, sizeof(extras.turn_ep), "%s:%lld",
					 json_string_value(json_object_get(sv, "addr")),
					 (long long)json_integer_value(json_object_get(sv, "port")));
				snprintf(extras.turn_env, sizeof(extras.turn_env), "NATLAB_TURN_PASSWORD=%s",
					 json_string_value(json_object_get(sv, "password")));
			}
	}
	json_decref(st);
	snprintf(server_ep, sizeof(server_ep), "%s:%u", addr_of(&s->nodes[s->run.server], buf, sizeof(buf)),
		 s->run.server_port);
	{
		/* STUN at its port (and the next), as classify asks it there; a peer
		 * connects and waits for its opening before HELLO (attempt()), seconds
		 * where many labs wait for few openings */
		char stun_port[8], *sargv[] = { (char *)c->probe, "server", server_ep, "--stun-port", stun_port,
						"--hello-timeout", "60", NULL };
		char ready[16] = "";
		struct pollfd p;

		snprintf(stun_port, sizeof(stun_port), "%u", s->run.server_port < 65535 ? s->run.server_port : 0);
		if (spawn_in(id, s->nodes[s->run.server].name, s->cpus, sargv, NULL, NULL, &server)) {
			rc = fail(1, "%s: cannot start the rendezvous server", s->path);
			goto down;
		}
		p.fd = server.out;
		p.events = POLLIN;
		if (poll(&p, 1, 3000) != 1 || read(server.out, ready, sizeof(ready) - 1) <= 0 ||
		    strncmp(ready, "ready", 5)) {
			rc = fail(1, "%s: the rendezvous server did not start", s->path);
			goto down;
		}
	}
	/* the server's start (a process, its tables) is kernel work too: under the lock */
	build_end(building);
	/* the programs' own servers: waited for without the core, as a user's program
	 * takes its time to start */
	if (!rc && servers_any(s)) {
		int started;

		core_give(c);
		started = servers_start(s, id, servers, &d);
		core_take(c);
		rc = started == SERVERS_STOPPED ? 130 : started ? fail(1, "%s", d.msg) : 0;
	}
	for (int k = 0; k < s->run.n_strategies && !rc; k++)
		if (!strcmp(s->run.strategies[k], "auto") && !extras.done) {
			/* classify's probes wait out their seconds: the core is another lab's meanwhile */
			core_give(c);
			if (classify_pair(s, id, c, server_ep, &extras, &d))
				rc = fail(1, "%s: auto: %s", s->path, d.msg);
			core_take(c);
		}
	{
		struct lab_run lab = { .s = s, .c = c, .id = id, .server_ep = server_ep,
				       .events = events[0] ? events : NULL, .stats = stats, .building = building,
				       .wire = wire, .watch = watch, .extras = &extras, .failed = &failed,
				       .stay = stay, .servers = servers };

		for (int k = 0; k < s->run.n_strategies && !rc; k++)
			for (int j = 0; j < s->run.n_skews && !rc; j++)
				for (unsigned r = 0; r < s->run.repeat && !rc; r++)
					rc = attempt_kept(&lab, s->run.strategies[k], s->run.skews_ms[j], NULL, NULL);
		for (int k = 0; k < s->run.n_strategies && !rc && s->run.edges_bisect; k++)
			if (strategy_windowed(strategy_by_name(s->run.strategies[k])))
				rc = search_edges(&lab, s->run.strategies[k]);
	}
	keep_capture(id, c, &failed);
	if (stats[0])
		keep_wire_figures(c, id, stats);
down:
	build_end(building); /* held still where the server did not start */
	servers_end(servers);
	for (int i = 0; i < 2; i++)
		child_end(&stay[i]);
	/* the server and any peer left are the lab's processes: down ends them */
	for (int i = 0; i < s->n; i++)
		ct_watch_close(watch[i]);
	build_begin(building);
	if (lab_down_sync(id, &d))
		rc = fail(1, "%s", d.msg);
	build_end(building);
	if (building >= 0)
		close(building);
	if (server.pid > 0) {
		close(server.out);
		waitpid(server.pid, NULL, 0);
	}
	if (wire >= 0)
		close(wire);
	core_give(c);
	free(failed.a);
	return rc;
}
