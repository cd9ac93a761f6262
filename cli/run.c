/* natlab run: up, the scenario's attempts, one JSON record each, down. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/outfile.h"
#include "../natsim/conntrack.h"
#include "../natsim/model.h"
#include "../netns/lab.h"
#include "../netns/netns.h"
#include "../wire/events.h"
#include "../common/strategy.h"
#include "../common/timing.h"
#include "../prober/protocol.h"
#include "precision.h"
#include "record.h"
#include "subcommands.h"

static const char usage[] =
	"run [-j N] [--out DIR] FILE...\n"
	"  Builds each scenario's lab (a [matrix] scenario: one lab per profile pair,\n"
	"  round trip, strategy and up to 8 skews), runs the attempts, appends one JSON\n"
	"  record per attempt to DIR/attempts.jsonl (default results/RUN-ID/), tears\n"
	"  each lab down. Labs run side by side: at most N of them busy at once\n"
	"  (default: the number of cores, halved when the timer wake-ups measured at\n"
	"  the start are past their bound), up to 8N in flight, since an attempt waiting\n"
	"  on its peers holds no core. An attempt off schedule runs again (8 times at most).\n"
	"  DIR/meta.json states the run's precision; figures past their bounds are\n"
	"  printed as warnings.";

/* What the labs of one run share. */
struct run_ctx {
	const char *probe;
	const char *outdir;
	int records;   /* DIR/attempts.jsonl, O_APPEND: one write(2) per record */
	int wires;     /* DIR/wire.jsonl: each lab's wire figures, a line per lab */
	int progress;  /* a byte per attempt done, to the parent */
	int cores[2];  /* a pipe holding a byte per core: taken while busy */
	char build_lock[PATH_MAX + 16]; /* see build_begin */
	bool whole_pcap; /* one lab only: keep its whole capture as DIR/wire.pcap */
};

/* Waits for a core, or for a stop: a run whose parent has gone (PDEATHSIG) or was
 * told to stop must not wait on a pipe that the other workers keep open forever. */
static void core_take(const struct run_ctx *c)
{
	char b;

	for (;;) {
		struct pollfd p = { .fd = c->cores[0], .events = POLLIN };

		if (lab_stop_pending())
			return;
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(c->cores[0], &b, 1); /* another may have been first */

		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			return;
	}
}

static void core_give(const struct run_ctx *c)
{
	while (write(c->cores[1], "c", 1) < 0 && errno == EINTR)
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

static void build_begin(int fd)
{
	if (fd >= 0)
		while (flock(fd, LOCK_EX) && errno == EINTR)
			;
}

static void build_end(int fd)
{
	if (fd >= 0)
		flock(fd, LOCK_UN);
}

static void window_begin(int fd)
{
	if (fd >= 0)
		while (flock(fd, LOCK_SH) && errno == EINTR)
			;
}


struct child {
	pid_t pid;
	int out; /* its stdout */
};

extern char **environ;

/* A new attempt's secret: only its two peers learn it (prober/PROTOCOL.md). */
static void attempt_secret(char out[PROTO_SECRET_MIN + 1])
{
	if (proto_random_hex(out, PROTO_SECRET_MIN / 2)) {
		fprintf(stderr, "natlab run: no random bytes for an attempt's secret: %s\n", strerror(errno));
		exit(1);
	}
}

/* Starts argv inside the namespace of `node`, its stdout on a pipe; with the
 * attempt's secret in its environment if one is given (not in argv: a command
 * line is anyone's to read). */
static int spawn_in(const char *id, const char *node, char *const argv[], const char *secret,
		    struct child *c)
{
	char ns[128], var[PROTO_SECRET_MAX + 32], **env;
	size_t n = 0, all = 0;
	int p[2], fd;

	/* built before fork, the whole environment: the child only execs */
	while (environ[all])
		all++;
	env = malloc((all + 2) * sizeof(*env));
	if (!env)
		return -1;
	for (size_t i = 0; i < all; i++)
		if (strncmp(environ[i], "NATLAB_PROBE_SECRET=", 20))
			env[n++] = environ[i];
	if (secret) {
		snprintf(var, sizeof(var), "NATLAB_PROBE_SECRET=%s", secret);
		env[n++] = var;
	}
	env[n] = NULL;

	lab_netns_name(ns, sizeof(ns), id, node);
	fd = netns_open(ns);
	if (fd < 0 || pipe2(p, O_CLOEXEC)) {
		if (fd >= 0)
			close(fd);
		free(env);
		return -1;
	}
	c->pid = fork();
	if (c->pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL); /* a worker ignores it; a program starts as usual */
		if (netns_enter(fd) || dup2(p[1], 1) < 0)
			_exit(127);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	close(fd);
	close(p[1]);
	if (c->pid < 0) {
		close(p[0]);
		return -1;
	}
	c->out = p[0];
	return 0;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Reads a child's whole stdout (until EOF or `secs`), then reaps it. */
static json_t *collect(struct child *c, double secs)
{
	char buf[4096];
	size_t len = 0;
	struct timespec t0;
	json_t *j;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = c->out, .events = POLLIN };
		ssize_t n;
		double left;

		int r;

		left = secs - seconds_since(&t0);
		/* a stop (Ctrl-C, the run's end by PDEATHSIG) does not wait out a peer */
		if (left <= 0 || lab_stop_pending())
			break;
		r = poll(&p, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		n = read(c->out, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(c->out);
	kill(c->pid, SIGKILL); /* a no-op when it has finished, as it should have */
	waitpid(c->pid, NULL, 0);
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	/* a peer's report speaks the peer protocol (prober/PROTOCOL.md), not the record's schema */
	return j ? j : json_pack("{s:s}", "outcome", "no-report");
}

static const char *addr_of(const struct lab_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)strcspn(n->addr[0], "/"), n->addr[0]);
	return buf;
}

/* The first NAT above a host, -1 for a host in the internet. */
static int nat_above(const struct scenario *s, int host)
{
	return s->nodes[host].parent ? s->nodes[host].parent : -1;
}

/* Outermost node on the way from `node` to the internet. */
static int outermost(const struct scenario *s, int node)
{
	while (s->nodes[node].parent)
		node = s->nodes[node].parent;
	return node;
}

struct ct_find {
	struct in_addr int_addr, remote;
	uint16_t int_port;
	uint8_t proto;
	struct ct_mapping found;
	int hit;
};

static int find_mapping(const struct ct_entry *e, void *arg)
{
	struct ct_find *f = arg;
	struct ct_mapping m;

	/* the last match: an entry made again within the attempt supersedes the first */
	if (e->proto != f->proto || !ct_entry_mapping(e, &m))
		return 0;
	if (m.int_addr.s_addr == f->int_addr.s_addr && m.int_port == f->int_port &&
	    (!f->remote.s_addr || m.remote_addr.s_addr == f->remote.s_addr)) {
		f->found = m;
		f->hit = 1;
	}
	return 0;
}

/* The endpoint the internet saw side `host`'s punch come from: follow its mapping
 * through every NAT above it. "" when a NAT holds none. Each NAT's external
 * port goes to ext (n_ext of them). */
static void wire_endpoint(const struct scenario *s, const char *id, struct ct_watch *const *watch, int host,
			  uint16_t port, const char *peer_ep, uint8_t proto, char *out, size_t len,
			  int *ext, int *n_ext)
{
	struct sockaddr_in peer;
	struct in_addr addr;
	char buf[INET_ADDRSTRLEN];
	int node = host;

	memset(&peer, 0, sizeof(peer));
	if (peer_ep) {
		char ip[INET_ADDRSTRLEN];

		snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(peer_ep, ":"), peer_ep);
		inet_pton(AF_INET, ip, &peer.sin_addr);
	}
	inet_pton(AF_INET, addr_of(&s->nodes[host], buf, sizeof(buf)), &addr);
	out[0] = '\0';
	while (s->nodes[node].parent) {
		int nat = s->nodes[node].parent;
		struct ct_find f = { .int_addr = addr, .remote = peer.sin_addr, .int_port = port,
				     .proto = proto };

		if (watch[nat]) {
			ct_watch_each(watch[nat], find_mapping, &f);
		} else {
			/* no watch on this NAT (its socket could not be had): the dump,
			 * which walks the whole table (see natsim/conntrack.h) */
			char ns[128];
			struct diag d;
			int fd;

			lab_netns_name(ns, sizeof(ns), id, s->nodes[nat].name);
			fd = netns_open(ns);
			if (fd < 0)
				return;
			ct_dump(fd, find_mapping, &f, &d);
			close(fd);
		}
		if (!f.hit)
			return;
		addr = f.found.ext_addr;
		port = f.found.ext_port;
		if (*n_ext < RECORD_MAX_NATS)
			ext[(*n_ext)++] = port;
		node = nat;
	}
	snprintf(out, len, "%s:%u", inet_ntop(AF_INET, &addr, buf, sizeof(buf)), port);
}

static double link_delay(const struct scenario *s, int host)
{
	return s->nodes[outermost(s, host)].delay_ms;
}

/* Every attempt meets NATs with no entries: each forgets what the last attempt
 * made, entry by entry (a flush would walk the machine-wide table); where its
 * watch missed some, the whole flush after all. */
static void flush_nats(const struct scenario *s, const char *id, struct ct_watch *const *watch)
{
	for (int i = 1; i < s->n; i++) {
		char ns[128];
		struct diag d;
		int fd;

		if (s->nodes[i].kind != NODE_NAT || (watch[i] && !ct_watch_forget(watch[i], &d)))
			continue;
		lab_netns_name(ns, sizeof(ns), id, s->nodes[i].name);
		fd = netns_open(ns);
		if (fd >= 0) {
			ct_flush(fd, &d);
			close(fd);
		}
	}
}

/* A watch on each NAT's conntrack, from before its first packet. */
static void watch_nats(const struct scenario *s, const char *id, struct ct_watch **watch)
{
	for (int i = 0; i < s->n; i++) {
		char ns[128];
		struct diag d;
		int fd;

		watch[i] = NULL;
		if (s->nodes[i].kind != NODE_NAT)
			continue;
		lab_netns_name(ns, sizeof(ns), id, s->nodes[i].name);
		fd = netns_open(ns);
		if (fd >= 0) {
			watch[i] = ct_watch_open(fd, &d);
			close(fd);
		}
	}
}

/* The round trip through the relay that dcutr should measure: both sites' links
 * and the server's, there and back, twice. */
static double relay_path_ms(const struct scenario *s)
{
	const struct run_spec *r = &s->run;

	return 2 * (link_delay(s, r->pair[0]) + link_delay(s, r->pair[1]) + 2 * link_delay(s, r->server));
}

/* The skew the NATs should emit their SYNs with, had the lab held its timing; NAN
 * where nothing is scheduled. For peers started by the clock (so, so-listen,
 * retry): the schedule less the hosts' clock offsets, which are meant. For dcutr,
 * whose timing is its own: side 0 dials half its measured round trip after
 * sending SYNC, side 1 when SYNC arrives, which is then, whatever the links'
 * delays, as long as each leg of the relay takes as long as the others: 0. How
 * far its round trip is from the links' is judged on its own (on_schedule). */
static double expected_emit_ms(const struct scenario *s, const char *strategy, double skew_ms,
			       json_t *side0)
{
	const struct run_spec *r = &s->run;
	const struct strategy *st = strategy_by_name(strategy);

	if (st && st->by_round_trips)
		return json_number_value(json_object_get(side0, "relay_rtt_ms")) > 0 ? 0 : NAN;
	/* SYNs started by the clock; a datagram's or the relay's times are not watched */
	if (!st || !st->tcp || !st->by_clock)
		return NAN;
	/* a host whose clock runs ahead starts early in real time */
	return skew_ms - (s->nodes[r->pair[1]].clock_offset_ms - s->nodes[r->pair[0]].clock_offset_ms);
}

/* Did the lab hold its own timing? The NATs' measured skew against the expected
 * one and, for dcutr, the round trip it measured through the relay against the
 * lab's delays on that path. Null where nothing tells. */
static enum record_bool on_schedule(const struct scenario *s, const struct attempt_record *rec,
				    json_t *side0)
{
	const struct run_spec *r = &s->run;
	double tol = MODEL_SCHEDULE_MS(link_delay(s, r->pair[0]) + link_delay(s, r->pair[1]));
	double want = expected_emit_ms(s, rec->strategy, rec->skew_ms, side0);

	if (isnan(want) || isnan(rec->skew_emit_ms))
		return RECORD_NULL;
	if (strategy_by_name(rec->strategy)->by_round_trips &&
	    fabs(json_number_value(json_object_get(side0, "relay_rtt_ms")) - relay_path_ms(s)) > tol)
		return RECORD_FALSE;
	return fabs(rec->skew_emit_ms - want) <= tol ? RECORD_TRUE : RECORD_FALSE;
}

/* How well this attempt kept time: the NATs' skew against the expected one, each
 * peer's first send against its schedule, and whether both ran real-time. */
static void attempt_timing(const struct scenario *s, struct attempt_record *rec, json_t *side[2])
{
	double want = expected_emit_ms(s, rec->strategy, rec->skew_ms, side[0]);
	bool rt = true, told = false;

	for (int i = 0; i < 2; i++) {
		double sched = json_number_value(json_object_get(side[i], "syn_sched"));
		double sent = json_number_value(json_object_get(side[i], "syn_sent"));

		rec->timing.send_late_us[i] = sched > 0 && sent > 0 ? round((sent - sched) * 1e7) / 10 : NAN;
		/* a peer that never reported says nothing either way */
		if (json_is_boolean(json_object_get(side[i], "realtime"))) {
			rt &= json_is_true(json_object_get(side[i], "realtime"));
			told = true;
		}
	}
	rec->timing.emit_error_ms = !isnan(want) && !isnan(rec->skew_emit_ms)
					    ? round(fabs(rec->skew_emit_ms - want) * 1000) / 1000
					    : NAN;
	rec->timing.realtime = !told ? RECORD_NULL : rt ? RECORD_TRUE : RECORD_FALSE;
}

/* Until both peers have reported or `secs` have passed. */
static void wait_peers(const struct child kid[2], double secs)
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
			return;
		for (int k = 0; k < n; k++)
			if (p[k].revents)
				done[which[k]] = true;
	}
}

/* One attempt, its record in rec (record_release it after). The peers' reports
 * (side[i]) are read by their own keys: the peer protocol's, prober/PROTOCOL.md,
 * not the record's. */
/* The wire's count of answered requests; -1 when its figures cannot be read (a read
 * that met half of a rewrite reads again). */
static long wire_synced(const char *stats)
{
	json_error_t e;
	json_t *j = json_load_file(stats, 0, &e);
	json_t *n = json_object_get(j, "synced");
	long v = json_is_integer(n) ? (long)json_integer_value(n) : -1;

	json_decref(j);
	return v;
}

/* Asks the wire (SIGUSR1 by pidfd) to take in and record everything it has received,
 * and waits until its figures say it did (200 ms at most): an attempt's events are
 * read after that, not while a busy machine still holds some in the wire's socket. */
static void wire_sync(const char *stats, int wire)
{
	long before, now;

	if (!stats[0] || wire < 0)
		return;
	before = wire_synced(stats);
	if (syscall(SYS_pidfd_send_signal, wire, SIGUSR1, NULL, 0))
		return;
	for (int i = 0; i < 400; i++) {
		now = wire_synced(stats);
		if (now >= 0 && now != before)
			return;
		usleep(500);
	}
}

static void attempt(const struct scenario *s, const char *id, const struct run_ctx *c,
		    int building, struct ct_watch *const *watch, const char *server_ep,
		    const char *strategy, double skew_ms, int n, const char *events,
		    const char *stats, int wire, struct attempt_record *rec)
{
	const char *probe = c->probe;
	const struct run_spec *r = &s->run;
	struct child kid[2];
	json_t *side[2];
	char attempt_id[32], offs[2][32], side_s[2][4], deadline[32], clock[2][32];
	char secret[PROTO_SECRET_MIN + 1];
	char (*wep)[64] = rec->wire.endpoints, ttl[2][8];
	struct wire_summary ws;
	struct diag d;
	struct timespec now;
	const char *oc[2];
	const struct strategy *st = strategy_by_name(strategy);
	bool tcp = st->tcp;
	double since;
	struct utsname u;
	struct timespec t_begin, t_end;
	/* A strategy that times itself by round trips through the lab (dcutr: the
	 * relay's, then half of it) has every leg of its path in its schedule, and a
	 * build beside it stretched those legs by milliseconds (12 % of its attempts
	 * off schedule in the suite); one started by the clock has only its own
	 * wake-up in it, which the spin absorbs, and its window would cost every
	 * build a wait (the suite's wall time went from 168 to 252 s). */
	bool timed_by_round_trips = st->by_round_trips;

	record_init(rec);
	/* Let the last attempt's closing segments cross the wire before the NATs forget
	 * them: flushed mid-close, they would come back as RSTs in this attempt's record. */
	if (n > 0) {
		core_give(c);
		usleep((useconds_t)((2 * (link_delay(s, r->pair[0]) + link_delay(s, r->pair[1])) + 5) * 1000));
		core_take(c);
	}
	flush_nats(s, id, watch);
	snprintf(attempt_id, sizeof(attempt_id), "a%d", n);
	attempt_secret(secret);
	snprintf(deadline, sizeof(deadline), "%g", r->deadline_s);
	clock_gettime(CLOCK_REALTIME, &now);
	since = (double)now.tv_sec + now.tv_nsec / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &t_begin);
	if (timed_by_round_trips)
		window_begin(building);
	for (int i = 0; i < 2; i++) {
		/* skew = when b starts minus when a starts */
		double off = i == 0 ? (skew_ms < 0 ? -skew_ms : 0) : (skew_ms > 0 ? skew_ms : 0);
		const struct lab_node *h = &s->nodes[r->pair[i]];
		char *argv[] = { (char *)probe, "peer", "--server", (char *)server_ep, "--attempt",
				 attempt_id, "--side", side_s[i], "--strategy", (char *)strategy,
				 "--offset-ms", offs[i], "--deadline-s", deadline, "--clock-offset-ms",
				 clock[i], "--low-ttl", ttl[i], NULL };

		snprintf(offs[i], sizeof(offs[i]), "%.3f", off);
		/* one hop per NAT above the host, and not the internet's */
		snprintf(ttl[i], sizeof(ttl[i]), "%d", h->depth);
		snprintf(side_s[i], sizeof(side_s[i]), "%d", i);
		snprintf(clock[i], sizeof(clock[i]), "%d", h->clock_offset_ms);
		if (spawn_in(id, h->name, argv, secret, &kid[i]))
			kid[i].pid = -1;
	}
	/* waiting on the peers' timers: the core is another lab's meanwhile */
	core_give(c);
	/* the window: the peers' start and rendezvous, the relay round trip, SYNC,
	 * both first SYNs and their answers; past it (a failing attempt's
	 * retransmissions a second on) a build may go on beside it */
	if (timed_by_round_trips) {
		wait_peers(kid, 0.05 + 3 * relay_path_ms(s) / 1000);
		build_end(building);
	}
	for (int i = 0; i < 2; i++)
		side[i] = kid[i].pid > 0 ? collect(&kid[i], r->deadline_s + 20)
					 : json_pack("{s:s}", "outcome", "no-start");
	core_take(c);
	for (int i = 0; i < 2; i++) {
		json_int_t port = json_integer_value(json_object_get(side[i], tcp ? "local_port" : "udp_port"));

		if (port > 0 && st->direct)
			wire_endpoint(s, id, watch, r->pair[i], (uint16_t)port,
				      json_string_value(json_object_get(side[i], tcp ? "peer_tcp" : "peer_udp")),
				      tcp ? IPPROTO_TCP : IPPROTO_UDP, wep[i], sizeof(wep[i]), rec->ext_port[i],
				      &rec->n_ext[i]);
		if (!s->nodes[r->pair[i]].parent && port > 0) {
			char buf[INET_ADDRSTRLEN];

			snprintf(wep[i], sizeof(wep[i]), "%s:%lld",
				 addr_of(&s->nodes[r->pair[i]], buf, sizeof(buf)), (long long)port);
		}
		oc[i] = json_string_value(json_object_get(side[i], "outcome"));
		if (!oc[i])
			oc[i] = "no-report";
	}
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&ws, 0, sizeof(ws));
	{
		/* The sides as the internet sees them: their public addresses, any port (a
		 * refused attempt's NAT entries are gone by now); their endpoints when both
		 * share one address. */
		char pub[2][INET_ADDRSTRLEN];
		bool same;

		for (int i = 0; i < 2; i++)
			addr_of(&s->nodes[outermost(s, r->pair[i])], pub[i], sizeof(pub[i]));
		same = !strcmp(pub[0], pub[1]);
		if (events && (!same || (wep[0][0] && wep[1][0]))) {
			wire_sync(stats, wire);
			wire_summary_read(events, same ? wep[0] : pub[0], same ? wep[1] : pub[1], since,
					  (double)now.tv_sec + now.tv_nsec / 1e9, &ws, &d);
		}
	}
	snprintf(rec->scenario, sizeof(rec->scenario), "%s", s->path);
	snprintf(rec->lab, sizeof(rec->lab), "%s", id);
	rec->attempt = n;
	snprintf(rec->strategy, sizeof(rec->strategy), "%s", strategy);
	for (int i = 0; i < 2; i++) {
		int nat = nat_above(s, r->pair[i]);
		json_t *e = json_object_get(side[i], "errno"), *rtx = json_object_get(side[i], "syn_retrans");

		snprintf(rec->profile[i], sizeof(rec->profile[i]), "%s", nat > 0 ? s->nodes[nat].profile.name : "none");
		rec->err_null[i] = !json_is_string(e);
		snprintf(rec->err[i], sizeof(rec->err[i]), "%s", json_is_string(e) ? json_string_value(e) : "");
		rec->syn_retrans[i] = json_is_integer(rtx) ? (int)json_integer_value(rtx) : -1;
		rec->sides[i] = side[i];
	}
	/* the round trip between the two sites' links into the internet */
	rec->rtt_ms = 2 * (link_delay(s, r->pair[0]) + link_delay(s, r->pair[1]));
	rec->skew_ms = skew_ms;
	if (ws.first_syn[0] > 0 && ws.first_syn[1] > 0) {
		rec->skew_wire_ms = (ws.first_syn[1] - ws.first_syn[0]) * 1000;
		/* when the NATs emitted them: the core's time less each site's link delay */
		rec->skew_emit_ms = rec->skew_wire_ms - link_delay(s, r->pair[1]) + link_delay(s, r->pair[0]);
	}
	/* one outcome for the pair: both must agree to call it a success */
	snprintf(rec->outcome, sizeof(rec->outcome), "%s",
		 !strcmp(oc[0], oc[1]) || strcmp(oc[0], "connected") ? oc[0] : oc[1]);
	{
		/* the model, from the knobs of the NATs right above the pair (only when those
		 * NATs hang on the internet themselves) */
		const struct nat_profile *np[2];
		struct model_case mc = { .strategy = strategy, .skew_ms = skew_ms,
					 .one_way_ms = link_delay(s, r->pair[0]) + link_delay(s, r->pair[1]),
					 .deadline_s = r->deadline_s };
		enum model_outcome want;
		bool modelled = true;

		for (int i = 0; i < 2; i++) {
			int nat = nat_above(s, r->pair[i]);

			np[i] = nat > 0 ? &s->nodes[nat].profile : NULL;
			modelled &= nat > 0 && s->nodes[nat].parent == 0;
		}
		mc.a = np[0];
		mc.b = np[1];
		want = modelled ? model_predict(&mc) : PREDICT_UNKNOWN;
		snprintf(rec->predicted, sizeof(rec->predicted), "%s", model_outcome_name(want));
		if (want != PREDICT_UNKNOWN) {
			/* judged at the skew the NATs really emitted with: a process wakes
			 * up late by a millisecond or more on a busy machine, and near a
			 * window's edge that is the difference; the wire's own clock is
			 * good to a fraction of a millisecond, hence the band around it */
			bool ok = false;

			if (!isnan(rec->skew_emit_ms)) {
				mc.emitted = true;
				mc.skew_ms = rec->skew_emit_ms;
				snprintf(rec->predicted_wire, sizeof(rec->predicted_wire), "%s",
					 model_outcome_name(model_predict(&mc)));
				for (int k = -1; k <= 1 && !ok; k++) {
					mc.skew_ms = rec->skew_emit_ms + k * MODEL_WIRE_BAND_MS;
					ok = model_outcome_matches(model_predict(&mc), rec->outcome);
				}
			} else {
				ok = model_outcome_matches(want, rec->outcome);
			}
			rec->agrees = ok ? RECORD_TRUE : RECORD_FALSE;
		}
		rec->on_schedule = on_schedule(s, rec, side[0]);
		attempt_timing(s, rec, side);
	}
	{
		double t0 = json_number_value(json_object_get(side[0], "connect_ms"));
		double t1 = json_number_value(json_object_get(side[1], "connect_ms"));

		rec->time_to_connect_ms = t0 > t1 ? t0 : t1;
	}
	for (int i = 0; i < 2; i++) {
		rec->wire.first_syn[i] = ws.first_syn[i] > 0 ? ws.first_syn[i] : NAN;
		rec->wire.syns[i] = (int)ws.syns[i];
		rec->wire.synacks[i] = (int)ws.synacks[i];
		rec->wire.rsts[i] = (int)ws.rsts[i];
		rec->wire.icmps[i] = (int)ws.icmps[i];
	}
	clock_gettime(CLOCK_MONOTONIC, &t_end);
	/* from spawning the peers to this record: what an attempt costs */
	rec->duration_ms = (double)(t_end.tv_sec - t_begin.tv_sec) * 1e3 + (t_end.tv_nsec - t_begin.tv_nsec) / 1e6;
	/* the wall-clock span of the wire's timestamps that belong to this attempt */
	rec->wire_window[0] = since;
	rec->wire_window[1] = (double)now.tv_sec + now.tv_nsec / 1e9;
	uname(&u);
	snprintf(rec->kernel, sizeof(rec->kernel), "%s %s", u.sysname, u.release);
	rec->seed = s->seed;
}

/* Copies the frames of [from, until] (wall clock) from one capture to a new file. */
static int pcap_cut(const char *in, const char *out, double from, double until)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, err);
	pcap_dumper_t *dump;
	struct pcap_pkthdr *h;
	const u_char *data;

	if (!p)
		return errno = 0, -1; /* no capture to cut: nothing to say */
	{
		/* a capture holds the lab's traffic: its owner's only */
		FILE *f = outfile_fopen(out, 0600);

		dump = f ? pcap_dump_fopen(p, f) : NULL;
		if (!dump) {
			if (f)
				fclose(f);
			pcap_close(p);
			return -1;
		}
	}
	while (pcap_next_ex(p, &h, &data) == 1) {
		double t = (double)h->ts.tv_sec + h->ts.tv_usec / 1e9;

		if (t >= from && t <= until)
			pcap_dump((u_char *)dump, h, data);
	}
	/* pcap_dump says nothing of a full disk: the flush and the close do */
	{
		int e = pcap_dump_flush(dump) || ferror(pcap_dump_file(dump)) ? errno ? errno : EIO : 0;

		/* the dumper is its FILE: pcap_dump_close would fclose it and say nothing */
		if (fclose(pcap_dump_file(dump)) && !e)
			e = errno;
		pcap_close(p);
		if (e) {
			unlink(out); /* a capture cut short would mislead */
			errno = e;
			return -1;
		}
	}
	return 0;
}

/* The failed attempts of a lab: which, and their span on the wire's clock. */
struct failed {
	struct {
		int attempt;
		double from, until;
	} *a;
	int n, cap;
};

/* The lab's capture outlives it: each failed attempt's frames in
 * DIR/pcap/LAB-aN.pcap, and with one lab only the whole of it as DIR/wire.pcap. */
static void keep_capture(const char *id, const struct run_ctx *c, const struct failed *failed)
{
	char from[PATH_MAX], to[PATH_MAX + 64];
	struct diag d;
	json_t *st = lab_state_read(id, &d);
	const char *pcap = json_string_value(json_object_get(st, "pcap"));

	if (!pcap) {
		json_decref(st);
		return;
	}
	snprintf(from, sizeof(from), "%s", pcap);
	json_decref(st);
	if (failed->n) {
		snprintf(to, sizeof(to), "%s/pcap", c->outdir);
		mkdir(to, 0755);
	}
	for (int i = 0; i < failed->n; i++) {
		snprintf(to, sizeof(to), "%s/pcap/%s-a%d.pcap", c->outdir, id, failed->a[i].attempt);
		if (pcap_cut(from, to, failed->a[i].from, failed->a[i].until) && errno)
			fprintf(stderr, "natlab: warning: %s: %s; that capture is not kept\n", to,
				strerror(errno));
	}
	if (c->whole_pcap) {
		snprintf(to, sizeof(to), "%s/wire.pcap", c->outdir);
		if (pcap_cut(from, to, 0, 1e12) && errno)
			fprintf(stderr, "natlab: warning: %s: %s; the capture is not kept\n", to,
				strerror(errno));
	}
}

static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

#define OFF_SCHEDULE_RETRIES 8
/* a lab's exit status when the out dir took no more records (EX_IOERR): the run
 * stops every lab, as no further attempt could be kept */
#define RUN_OUTPUT_FAILED 74

/* Appends a record to DIR/attempts.jsonl in one write(2), so that labs side by
 * side never interleave lines, and whole or not at all: under a lock that the
 * other labs' processes respect (fcntl's are per process), a write cut short (a
 * full disk) is undone, and the error is the one the disk gave. A failed
 * attempt's span also goes to `failed`. */
static int append_whole(int fd, const char *line, size_t len)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	size_t done = 0;
	int err = 0;

	while (fcntl(fd, F_SETLKW, &lk) && errno == EINTR)
		;
	if (fstat(fd, &st))
		err = errno;
	while (!err && done < len) {
		ssize_t n = write(fd, line + done, len - done);

		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno != EINTR)
			err = errno;
		else if (n == 0)
			err = ENOSPC;
	}
	if (err && done && ftruncate(fd, st.st_size))
		err = errno;
	lk.l_type = F_UNLCK;
	fcntl(fd, F_SETLK, &lk);
	errno = err;
	return err ? -1 : 0;
}

static int keep_record(const struct run_ctx *c, const struct attempt_record *rec, struct failed *failed)
{
	size_t len;
	char *line = record_line(rec, &len);
	int rc = 0;

	if (line) {
		if (append_whole(c->records, line, len))
			rc = fail(RUN_OUTPUT_FAILED, "%s/attempts.jsonl: %s", c->outdir, strerror(errno));
		free(line);
	}
	if (strcmp(rec->outcome, "connected") && strcmp(rec->outcome, "relayed")) {
		if (failed->n == failed->cap) {
			int cap = failed->cap ? 2 * failed->cap : 16;
			void *more = realloc(failed->a, sizeof(*failed->a) * (size_t)cap);

			if (!more)
				return rc; /* its capture only is lost */
			failed->a = more;
			failed->cap = cap;
		}
		failed->a[failed->n].attempt = rec->attempt;
		failed->a[failed->n].from = rec->wire_window[0];
		failed->a[failed->n++].until = rec->wire_window[1];
	}
	return rc;
}

/* The wire's own figures (how late it released frames) as DIR/wire.jsonl's line
 * for this lab. The wire rewrites them 10 ms after its last frame at most: wait
 * that long so the last attempt is in. */
static void keep_wire_figures(const struct run_ctx *c, const char *id, const char *stats)
{
	json_error_t e;
	json_t *j;
	char *line;

	core_give(c);
	usleep(15000);
	core_take(c);
	/* the wire rewrites it in place: a read that met half a write reads again */
	for (int tries = 0; tries < 3; tries++) {
		j = json_load_file(stats, 0, &e);
		if (json_is_object(j))
			break;
		json_decref(j);
		j = NULL;
		usleep(1000);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return; /* a wire that never forwarded a frame writes nothing */
	}
	if (json_string_value(json_object_get(j, "output_error")))
		fprintf(stderr, "natlab: warning: lab %s: the wire's capture and events stopped: %s; "
				"its later attempts lack wire figures and pcaps\n",
			id, json_string_value(json_object_get(j, "output_error")));
	json_object_set_new(j, "lab", json_string(id));
	line = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (line) {
		size_t len = strlen(line);

		line[len] = '\n';
		if (write(c->wires, line, len + 1) != (ssize_t)(len + 1))
			fail(1, "%s/wire.jsonl: %s", c->outdir, strerror(errno));
		free(line);
	}
}

static bool lab_broken(const char *id)
{
	struct diag d;
	json_t *st = lab_state_read(id, &d);
	bool broken = st && !strcmp(lab_health(st), "broken");

	json_decref(st);
	return broken;
}

/* One lab: up, the rendezvous server, every attempt of its [run], down. Signals
 * are blocked; one pending stops it between attempts. Holds a core throughout
 * except while it waits. */
static int run_lab(const struct scenario *s, const struct run_ctx *c)
{
	char id[LAB_ID_MAX] = "", server_ep[64], buf[INET_ADDRSTRLEN], events[PATH_MAX] = "";
	char stats[PATH_MAX] = "";
	int building;
	struct ct_watch *watch[LAB_MAX_NODES];
	struct lab_opts o = { .owner = getpid() };
	struct child server = { .pid = -1, .out = -1 };
	json_t *st;
	struct failed failed = { 0 };
	struct diag d;
	int rc = 0, count = 0, wire = -1;

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
	build_end(building);
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
	json_decref(st);
	snprintf(server_ep, sizeof(server_ep), "%s:3478", addr_of(&s->nodes[s->run.server], buf, sizeof(buf)));
	{
		char *sargv[] = { (char *)c->probe, "server", server_ep, NULL };
		char ready[16] = "";
		struct pollfd p;

		if (spawn_in(id, s->nodes[s->run.server].name, sargv, NULL, &server)) {
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
	for (int k = 0; k < s->run.n_strategies && !rc; k++)
		for (int j = 0; j < s->run.n_skews && !rc; j++)
			for (unsigned r = 0; r < s->run.repeat && !rc; r++)
				for (unsigned tries = 0;; tries++) {
					struct attempt_record rec;
					bool again;

					attempt(s, id, c, building, watch, server_ep, s->run.strategies[k],
						s->run.skews_ms[j], count, events[0] ? events : NULL, stats, wire,
						&rec);
					/* a lab whose wire died measured nothing: said so, and no more */
					if (lab_broken(id)) {
						snprintf(rec.outcome, sizeof(rec.outcome), "lab-broken");
						rec.agrees = rec.on_schedule = RECORD_NULL;
						keep_record(c, &rec, &failed);
						record_release(&rec);
						rc = fail(1, "lab %s broke during its attempt %d (its wire is gone); "
							     "its other attempts are not run", id, count);
						break;
					}
					/* an attempt whose timing the lab did not hold measured another
					 * cell: the record stays, flagged, and the attempt runs again */
					again = rec.on_schedule == RECORD_FALSE && tries < OFF_SCHEDULE_RETRIES;
					/* an attempt cut short by Ctrl-C is no measurement */
					if (lab_stop_pending()) {
						record_release(&rec);
						rc = 130;
						break;
					}
					count++;
					rc = keep_record(c, &rec, &failed);
					record_release(&rec);
					/* 'a': an attempt of the plan done; 'r': one to run again */
					if (!rc && write(c->progress, again ? "r" : "a", 1) < 0) {
						/* a full pipe only slows the bar */
					}
					if (!again || rc)
						break;
				}
	keep_capture(id, c, &failed);
	if (stats[0])
		keep_wire_figures(c, id, stats);
down:
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

/* A lab to run: a file's own, or one cell of a matrix file, for one of its
 * strategies and a few of its skews: short labs keep the pool busy to the end. */
struct run_job {
	int file;
	int cell;     /* -1: the file's own lab, all of its [run] */
	int strategy; /* matrix cells: index into the strategies */
	int skew_from, n_skews;
	double cost;  /* seconds it should take: the longest start first */
};

#define JOB_SKEWS 8
/* Labs in flight per core: an attempt mostly waits on its peers' timers. */
#define LABS_PER_CORE 8

static struct scenario *job_scenario(struct scenario *const *files, const struct run_job *j,
				     struct diag *d)
{
	struct scenario *s;

	if (j->cell < 0)
		return files[j->file];
	s = malloc(sizeof(*s));
	if (s && scenario_matrix_cell(files[j->file], j->cell, s, d)) {
		free(s);
		return NULL;
	}
	if (s) {
		struct run_spec *r = &s->run;

		memmove(r->strategies[0], r->strategies[j->strategy], sizeof(r->strategies[0]));
		r->n_strategies = 1;
		memmove(r->skews_ms, r->skews_ms + j->skew_from, sizeof(r->skews_ms[0]) * (size_t)j->n_skews);
		r->n_skews = j->n_skews;
	}
	return s;
}

/* What a matrix job should take, from the model: an attempt that connects
 * lasts about its skew and two round trips, one that fails its deadline. */
static double job_cost(struct scenario *const *files, const struct run_job *j)
{
	struct diag d;
	struct scenario *s = job_scenario(files, j, &d);
	const struct run_spec *r;
	const struct lab_node *na, *nb;
	double cost = 0, rtt;

	if (!s)
		return 0;
	r = &s->run;
	na = &s->nodes[scenario_find(s, "na")];
	nb = &s->nodes[scenario_find(s, "nb")];
	rtt = 2 * (na->delay_ms + nb->delay_ms);
	for (int k = 0; k < r->n_skews; k++) {
		struct model_case mc = { .strategy = r->strategies[0], .skew_ms = r->skews_ms[k],
					 .one_way_ms = rtt / 2, .deadline_s = r->deadline_s,
					 .a = &na->profile, .b = &nb->profile };
		enum model_outcome o = model_predict(&mc);

		cost += r->repeat * (o == PREDICT_FAILED ? r->deadline_s
							  : (fabs(r->skews_ms[k]) + 2 * rtt) / 1000);
	}
	free(s);
	return cost;
}

static int by_cost(const void *x, const void *y)
{
	const struct run_job *a = x, *b = y;

	return (a->cost < b->cost) - (a->cost > b->cost);
}

static unsigned attempts_of(const struct run_spec *r)
{
	return (unsigned)r->n_strategies * (unsigned)r->n_skews * r->repeat;
}

static void count_progress(const char *b, ssize_t n, unsigned *done, unsigned *again)
{
	for (ssize_t i = 0; i < n; i++) {
		if (b[i] == 'r')
			(*again)++;
		else
			(*done)++;
	}
}

/* A bar with done/total and an ETA on a terminal; a plain line per tenth if not. */
static void show_progress(unsigned done, unsigned total, int labs, const struct timespec *t0,
			  bool tty, unsigned *last_tenth, bool final)
{
	double el = seconds_since(t0), eta = done ? el / done * (total - done) : 0;
	int width = 30, fill = total ? (int)((double)done / total * width) : width;

	if (tty) {
		fprintf(stderr, "\r[%.*s%.*s] %u/%u attempts, %d labs, %02d:%02d elapsed, ETA %02d:%02d ",
			fill, "##############################", width - fill,
			"..............................", done, total, labs, (int)el / 60, (int)el % 60,
			(int)eta / 60, (int)eta % 60);
		if (final)
			fputc('\n', stderr);
	} else if (total && (done * 10 / total > *last_tenth || (final && *last_tenth < 10))) {
		*last_tenth = done * 10 / total;
		fprintf(stderr, "natlab: %u/%u attempts, %.0f s elapsed, ETA %.0f s\n", done, total, el, eta);
	}
}

/* DIR/meta.json: what this run did and how precisely it kept time; the
 * precision's warnings go to stderr too. run_all.sh adds its own fields to it. */
static int write_meta(const char *outdir, long jobs, unsigned done, unsigned again, int64_t late_p50,
		      int64_t late_p99)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 32], kernel[2 * 65 + 2];
	struct diag d;
	json_t *p = precision_of_run(outdir, (double)late_p50 / 1000, (double)late_p99 / 1000, &d), *meta;
	struct utsname u;
	FILE *f;

	if (!p)
		return fail(1, "%s", d.msg);
	precision_print_warnings(stderr, p, "natlab: warning: ");
	uname(&u);
	snprintf(kernel, sizeof(kernel), "%s %s", u.sysname, u.release);
	meta = json_pack("{s:{s:I,s:I,s:I,s:s},s:o}", "run", "jobs", (json_int_t)jobs, "attempts",
			 (json_int_t)done, "run_again", (json_int_t)again, "kernel", kernel, "precision", p);
	if (!meta)
		return fail(1, "out of memory");
	snprintf(path, sizeof(path), "%s/meta.json", outdir);
	snprintf(tmp, sizeof(tmp), "%s/.meta.json.tmp", outdir);
	f = outfile_fopen(tmp, 0644);
	if (!f || json_dumpf(meta, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) || fputc('\n', f) == EOF ||
	    fclose(f) || rename(tmp, path)) {
		int e = errno;

		json_decref(meta);
		unlink(tmp);
		return fail(1, "cannot write %s: %s", path, strerror(e));
	}
	json_decref(meta);
	return 0;
}

int run_main(int argc, char *argv[])
{
	const char *out = NULL;
	char outdir[PATH_MAX], path[PATH_MAX + 32], probe[PATH_MAX], exe[PATH_MAX];
	const char **names = calloc((size_t)argc, sizeof(*names));
	struct scenario **files = calloc((size_t)argc, sizeof(*files));
	struct run_job *jobs = NULL;
	struct run_ctx c = { .probe = probe, .outdir = outdir, .cores = { -1, -1 }, .wires = -1 };
	int64_t late_p50, late_p99;
	struct timespec t0;
	sigset_t old;
	long cores = sysconf(_SC_NPROCESSORS_ONLN), jarg = 0;
	int n_files = 0, n_jobs = 0, next = 0, running = 0, rc = 0, progress[2] = { -1, -1 };
	unsigned total = 0, done = 0, again = 0, last_tenth = 0;
	pid_t kids[LABS_PER_CORE * 64] = { 0 }, parent;
	bool tty = isatty(2), told = false, output_failed = false;
	ssize_t n;

	if (want_help(argc, argv, usage))
		return 0;
	if (!names || !files)
		return fail(1, "out of memory");
	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
			jarg = strtol(argv[++i], &end, 10);
			if (*end || jarg < 1 || jarg > 64) {
				free(names);
				free(files);
				return fail(EXIT_BAD_INPUT, "-j: \"%s\" is not a number from 1 to 64", argv[i]);
			}
		} else if (argv[i][0] == '-') {
			free(names);
			free(files);
			return usage_error(usage);
		} else {
			names[n_files++] = argv[i];
		}
	}
	if (!n_files) {
		free(names);
		free(files);
		return usage_error(usage);
	}
	if (cores < 1)
		cores = 1;
	/* how late this machine wakes a sleeper right now: it states the run's
	 * precision, and a machine that cannot wake on time gets fewer labs at once */
	/* 500 wake-ups: the host takes a core away for 1-4 ms once or twice a
	 * second here, which spoils one or two of them, not the p99 */
	timing_measure_late(500, 1000000, &late_p50, &late_p99);
	if (late_p99 / 1000 > PRECISION_TIMER_P99_US) {
		/* one bad moment is not a starved machine: the better of two looks */
		int64_t p50, p99;

		usleep(100000);
		timing_measure_late(500, 1000000, &p50, &p99);
		if (p99 < late_p99) {
			late_p50 = p50;
			late_p99 = p99;
		}
	}
	if (jarg) {
		cores = jarg;
	} else if (late_p99 / 1000 > PRECISION_TIMER_P99_US && cores > 1) {
		fprintf(stderr, "natlab: timer wake-ups are %lld us late at p99 (bound %d): %ld labs busy "
				"at once instead of %ld\n", (long long)(late_p99 / 1000), PRECISION_TIMER_P99_US,
			cores / 2, cores);
		cores /= 2;
	}
	/* every file is read and checked before any lab is built */
	for (int i = 0; i < n_files && !rc; i++) {
		files[i] = scenario_for_lab(names[i], &rc);
		if (files[i] && !files[i]->run.line && !files[i]->matrix.line)
			rc = fail(EXIT_BAD_INPUT, "%s: no [run] or [matrix] section", names[i]);
		if (!rc && !files[i]->matrix.line) {
			struct run_job *more = realloc(jobs, sizeof(*jobs) * (size_t)(n_jobs + 1));

			if (!more) {
				rc = fail(1, "out of memory");
				break;
			}
			jobs = more;
			jobs[n_jobs++] = (struct run_job){ i, -1, 0, 0, 0, 0 };
			total += attempts_of(&files[i]->run);
		} else if (!rc) {
			const struct run_spec *r = &files[i]->matrix.run;
			int cells = scenario_matrix_cells(files[i]);
			int chunks = (r->n_skews + JOB_SKEWS - 1) / JOB_SKEWS;
			struct run_job *more = realloc(jobs, sizeof(*jobs) * (size_t)(n_jobs + cells * r->n_strategies * chunks));

			if (!more) {
				rc = fail(1, "out of memory");
				break;
			}
			jobs = more;
			for (int k = 0; k < cells; k++)
				for (int st = 0; st < r->n_strategies; st++)
					for (int from = 0; from < r->n_skews; from += JOB_SKEWS)
					{
						jobs[n_jobs] = (struct run_job){
							i, k, st, from,
							r->n_skews - from < JOB_SKEWS ? r->n_skews - from : JOB_SKEWS, 0
						};
						jobs[n_jobs].cost = job_cost(files, &jobs[n_jobs]);
						n_jobs++;
					}
			total += (unsigned)cells * attempts_of(r);
		}
	}
	if (rc)
		goto out;
	/* longest first: the pool does not end on one long lab */
	qsort(jobs, (size_t)n_jobs, sizeof(*jobs), by_cost);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(probe, sizeof(probe), "%.*s/natlab-probe", (int)(strrchr(exe, '/') ? strrchr(exe, '/') - exe : 0), exe);
	if (access(probe, X_OK)) {
		rc = fail(1, "%s: %s (run make)", probe, strerror(errno));
		goto out;
	}
	if (out) {
		snprintf(outdir, sizeof(outdir), "%s", out);
	} else {
		char stamp[32];
		time_t t = time(NULL);

		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&t));
		snprintf(outdir, sizeof(outdir), "results/%s-%s", stamp, files[0]->name);
	}
	snprintf(path, sizeof(path), "%s/attempts.jsonl", outdir);
	if (mkdirs(outdir) ||
	    (c.records = outfile_open(path, O_APPEND, 0644)) < 0) {
		rc = fail(1, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/wire.jsonl", outdir);
	if ((c.wires = outfile_open(path, O_APPEND, 0644)) < 0) {
		rc = fail(1, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(c.build_lock, sizeof(c.build_lock), "%s/.build.lock", outdir);
	{
		int fd = outfile_open(c.build_lock, 0, 0644);

		if (fd < 0) {
			rc = fail(1, "cannot write %s: %s", c.build_lock, strerror(errno));
			goto out;
		}
		close(fd);
	}
	if (pipe2(c.cores, O_CLOEXEC | O_NONBLOCK) || pipe2(progress, O_CLOEXEC | O_NONBLOCK)) {
		rc = fail(1, "pipe: %s", strerror(errno));
		goto out;
	}
	if (cores > 64)
		cores = 64;
	for (long i = 0; i < cores; i++)
		core_give(&c);

	c.progress = progress[1];
	c.whole_pcap = n_jobs == 1;
	/* Ctrl-C stops every lab between attempts: the records so far stay, the labs go */
	lab_block_signals(&old);
	parent = getpid();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(stdout);
	fflush(stderr);
	while (next < n_jobs || running) {
		struct pollfd p = { .fd = progress[0], .events = POLLIN };
		char b[256];
		int status;
		pid_t pid = 0;

		while (next < n_jobs && running < LABS_PER_CORE * cores && !lab_stop_pending()) {
			pid = fork();
			if (pid == 0) {
				struct diag d;
				struct scenario *s;
				int r;

				/* run killed outright: each lab stops after its attempt and goes
				 * (SIGTERM stays blocked: it is taken between attempts) */
				prctl(PR_SET_PDEATHSIG, SIGTERM);
				if (getppid() != parent)
					raise(SIGTERM);
				/* with the run gone, writing it our progress must not kill us
				 * before our lab is down */
				signal(SIGPIPE, SIG_IGN);
				s = job_scenario(files, &jobs[next], &d);

				close(progress[0]);
				if (!s)
					_exit(fail(1, "%s", d.msg));
				r = run_lab(s, &c);
				fflush(stderr);
				_exit(r);
			}
			if (pid < 0) {
				rc = fail(1, "fork: %s", strerror(errno));
				break;
			}
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (!kids[k]) {
					kids[k] = pid;
					break;
				}
			next++;
			running++;
		}
		if (pid < 0 && !running)
			break;
		if (poll(&p, 1, 250) > 0 && (n = read(progress[0], b, sizeof(b))) > 0)
			count_progress(b, n, &done, &again);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (kids[k] == pid)
					kids[k] = 0;
			running--;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;

				if (!rc || code == 130)
					rc = code;
				output_failed |= code == RUN_OUTPUT_FAILED;
			}
		}
		if (output_failed && !told) {
			/* nothing more can be kept: the other labs stop after their attempt */
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (kids[k])
					kill(kids[k], SIGTERM);
			n_jobs = next;
			told = true;
		}
		if (lab_stop_pending() && !told) {
			/* a signal for this process alone: pass it to the labs, start no more */
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (kids[k])
					kill(kids[k], SIGTERM);
			n_jobs = next;
			told = true;
		}
		show_progress(done, total, running, &t0, tty, &last_tenth, false);
	}
	while ((n = read(progress[0], path, sizeof(path))) > 0)
		count_progress(path, n, &done, &again);
	show_progress(done, total, 0, &t0, tty, &last_tenth, true);
	if (output_failed) {
		rc = fail(1, "stopped: %s takes no more records; the %u in attempts.jsonl are whole",
			  outdir, done + again);
	} else if (lab_stop_pending() || rc == 130) {
		rc = fail(130, "interrupted; %u records in %s/attempts.jsonl", done + again, outdir);
	} else if (!rc) {
		fprintf(stderr, "natlab: %u attempts (and %u run again off schedule) in %s/attempts.jsonl\n",
			done, again, outdir);
	}
	if (!lab_stop_pending() && rc != 130 && !output_failed && write_meta(outdir, cores, done, again, late_p50, late_p99))
		rc = rc ? rc : 1;
	printf("%s\n", outdir);
	fflush(stdout);
	/* the signal is handled: taken off the queue, it cannot kill us on unblocking */
	lab_stop_take();
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	if (c.wires >= 0)
		close(c.wires);
	if (c.build_lock[0])
		unlink(c.build_lock);
	for (int i = 0; i < 2; i++) {
		if (c.cores[i] >= 0)
			close(c.cores[i]);
		if (progress[i] >= 0)
			close(progress[i]);
	}
	if (c.records > 0)
		close(c.records);
	for (int i = 0; i < n_files; i++)
		free(files[i]);
	free(files);
	free(names);
	free(jobs);
	return rc;
}
