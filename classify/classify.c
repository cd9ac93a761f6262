/* natlab classify's tests. First the port allocation, alone so that no other
 * test's mappings come between its own: fresh sockets one after another, each
 * asking the server for its mapped endpoint (mapped port = local port:
 * preserve; a constant step: sequential; else random). Then RFC 5780's mapping
 * (4.3), filtering (4.4) and hairpinning tests side by side, as libre's natbd
 * runs them, on libre's event loop over UDP. Last, over a TCP connection to the
 * server's rendezvous port, what the NAT does with a datagram and a SYN that the
 * server sends to a port of it where no mapping is (PROBE, prober/PROTOCOL.md). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../common/libre.h"
#include "../common/timing.h"
#include "../prober/protocol.h"
#include "classify.h"
#include "lifetime.h"

#define ALLOC_SOCKETS 4
/* the whole run gives up after this: a test's own timeouts come first */
#define GUARD_MS 20000

struct run {
	const struct re_api *re;
	struct classification *c;
	const struct sockaddr_in *server;
	pthread_t prober;
	bool probing;
	struct sa srv, any;
	struct stun_conf conf;
	struct stun *stun;
	struct udp_sock *us[ALLOC_SOCKETS];
	unsigned local[ALLOC_SOCKETS], mapped[ALLOC_SOCKETS];
	int n;
	struct nat_mapping *nm, *nm_tcp;
	bool tcp_pending;   /* the TCP mapping test: its SYN may go unanswered */
	struct tmr tcp_guard;
	struct nat_filtering *nf;
	struct nat_hairpinning *nh;
	int pending;
	struct tmr guard, start;
};

static const char *const nat_type_knob[][4] = {
	/* by enum nat_type: unknown, endpoint-independent, address-, address-and-port-dependent */
	{ "", "eim", "adm", "apdm" },
	{ "", "eif", "adf", "apdf" },
};

static void say(struct verdict *v, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct verdict *v, const char *value, const char *fmt, ...)
{
	va_list ap;

	snprintf(v->value, sizeof(v->value), "%s", value);
	va_start(ap, fmt);
	vsnprintf(v->evidence, sizeof(v->evidence), fmt, ap);
	va_end(ap);
}

static void one_done(struct run *r)
{
	if (--r->pending == 0)
		r->re->re_cancel();
}

/* a natbd test's verdict, a knob of row `row` of nat_type_knob: `test` names it
 * when it failed, section and how[t] say what it saw */
static void say_type(struct verdict *v, int row, int err, enum nat_type t, const char *test, const char *section,
		     const char *const how[4])
{
	if (err || t < NAT_TYPE_ENDP_INDEP || t > NAT_TYPE_ADDR_PORT_DEP)
		say(v, "", "RFC 5780 %s failed: %s", test, err ? strerror(err) : "no verdict");
	else
		say(v, nat_type_knob[row][t], "RFC 5780 %s%s", section, how[t]);
}

static void mapping_done(int err, enum nat_type t, void *arg)
{
	struct run *r = arg;
	static const char *const how[] = {
		"", "the same mapped endpoint toward the server's other address and port",
		"a new mapped endpoint toward the server's other address, the same toward its other port",
		"a new mapped endpoint toward each of the server's other address and port",
	};

	say_type(&r->c->mapping, 0, err, t, "mapping test", "4.3: ", how);
	one_done(r);
}

static void mapping_tcp_done(int err, enum nat_type t, void *arg)
{
	struct run *r = arg;
	static const char *const how[] = { "", "", "", "" };

	if (!r->tcp_pending)
		return;
	r->tcp_pending = false;
	r->re->tmr_cancel(&r->tcp_guard);
	say_type(&r->c->mapping_tcp, 0, err, t, "mapping test over TCP", "4.3 over TCP", how);
	one_done(r);
}

/* libre times a TCP transaction from its connection on: a SYN that nobody
 * answers would hold the run for the kernel's two minutes */
static void tcp_guard_expired(void *arg)
{
	struct run *r = arg;

	r->nm_tcp = r->re->mem_deref(r->nm_tcp);
	mapping_tcp_done(ETIMEDOUT, NAT_TYPE_UNKNOWN, r);
}

static void filtering_done(int err, enum nat_type t, void *arg)
{
	struct run *r = arg;
	static const char *const how[] = {
		"", "an answer from the server's other address and port came in (test II)",
		"an answer from the server's other port came in, none from its other address (tests II, III)",
		"no answer from another address or port came in (tests II, III)",
	};

	say_type(&r->c->filtering, 1, err, t, "filtering test", "4.4: ", how);
	one_done(r);
}

static void hairpin_done(int err, bool supported, void *arg)
{
	struct run *r = arg;

	if (err)
		say(&r->c->hairpin, "", "RFC 5780 hairpinning test failed: %s", strerror(err));
	else
		say(&r->c->hairpin, supported ? "on" : "off", "RFC 5780 4.5: a request to its own mapped endpoint %s",
		    supported ? "came back in" : "did not come back");
	one_done(r);
}

static void *probes_thread(void *arg);

static void start_rfc5780(struct run *r)
{
	const struct re_api *re = r->re;

	/* the server's probes beside them: their TCP connection's mapping no longer
	 * comes between the allocation test's */
	r->probing = !pthread_create(&r->prober, NULL, probes_thread, r);

	r->pending = 4;
	if (re->nat_mapping_alloc(&r->nm, &r->any, &r->srv, IPPROTO_UDP, &r->conf, mapping_done, r) ||
	    re->nat_mapping_start(r->nm))
		mapping_done(EINVAL, NAT_TYPE_UNKNOWN, r);
	r->tcp_pending = true;
	re->tmr_init(&r->tcp_guard);
	re->tmr_start(&r->tcp_guard, r->conf.ti, tcp_guard_expired, r);
	if (re->nat_mapping_alloc(&r->nm_tcp, &r->any, &r->srv, IPPROTO_TCP, &r->conf, mapping_tcp_done, r) ||
	    re->nat_mapping_start(r->nm_tcp))
		mapping_tcp_done(EINVAL, NAT_TYPE_UNKNOWN, r);
	if (re->nat_filtering_alloc(&r->nf, &r->srv, &r->conf, filtering_done, r) ||
	    re->nat_filtering_start(r->nf))
		filtering_done(EINVAL, NAT_TYPE_UNKNOWN, r);
	if (re->nat_hairpinning_alloc(&r->nh, &r->srv, IPPROTO_UDP, &r->conf, hairpin_done, r) ||
	    re->nat_hairpinning_start(r->nh))
		hairpin_done(EINVAL, false, r);
}

static void judge_allocation(struct run *r)
{
	struct verdict *v = &r->c->allocation;
	bool preserved = true, constant = true;
	int step = (int)r->mapped[1] - (int)r->mapped[0];
	char seen[128] = "";
	size_t o = 0;

	for (int i = 0; i < ALLOC_SOCKETS; i++) {
		preserved &= r->mapped[i] == r->local[i];
		if (i > 0)
			constant &= (int)r->mapped[i] - (int)r->mapped[i - 1] == step;
		o += (size_t)snprintf(seen + o, sizeof(seen) - o, "%s%u->%u", i ? ", " : "", r->local[i], r->mapped[i]);
	}
	if (preserved)
		say(v, "preserve", "%d new sockets kept their ports (%s)", ALLOC_SOCKETS, seen);
	else if (constant && step >= 1 && step <= 1000) {
		r->c->delta = (unsigned)step;
		say(v, "sequential", "%d new sockets' mappings went up by %d (%s)", ALLOC_SOCKETS, step, seen);
	} else
		say(v, "random", "%d new sockets' mappings kept no port and no step (%s)", ALLOC_SOCKETS, seen);
}

static void next_binding(struct run *r);

static void binding_done(int err, uint16_t scode, const char *reason, const struct stun_msg *msg, void *arg)
{
	struct run *r = arg;
	const struct re_api *re = r->re;
	struct stun_attr *m = NULL;
	struct sa local;

	if (!err && !scode && msg)
		m = re->stun_msg_attr(msg, STUN_ATTR_XOR_MAPPED_ADDR);
	if (!m && !err && !scode && msg)
		m = re->stun_msg_attr(msg, STUN_ATTR_MAPPED_ADDR);
	if (!m) {
		if (r->n == 0 && err == ETIMEDOUT) {
			/* not one answer: nothing else can be learnt over UDP */
			r->c->udp_blocked = true;
			re->re_cancel();
			return;
		}
		say(&r->c->allocation, "", "binding request %d of %d failed: %s", r->n + 1, ALLOC_SOCKETS,
		    err ? strerror(err) : reason ? reason : "no mapped address");
		start_rfc5780(r);
		return;
	}
	re->udp_local_get(r->us[r->n], &local);
	r->local[r->n] = re->sa_port(&local);
	r->mapped[r->n] = re->sa_port(&m->v.sa);
	if (++r->n < ALLOC_SOCKETS) {
		next_binding(r);
		return;
	}
	judge_allocation(r);
	start_rfc5780(r);
}

static void alloc_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct run *r = arg;

	(void)src;
	r->re->stun_recv(r->stun, mb);
}

static void next_binding(struct run *r)
{
	const struct re_api *re = r->re;
	int err = re->udp_listen(&r->us[r->n], &r->any, alloc_recv, r);

	if (!err)
		err = re->stun_request(NULL, r->stun, IPPROTO_UDP, r->us[r->n], &r->srv, 0, STUN_METHOD_BINDING,
				       NULL, 0, false, binding_done, r, 0);
	if (err)
		binding_done(err, 0, NULL, NULL, r);
}

/* the first request, from inside the loop: a failure at once cancels a loop that
 * runs (a cancel before re_main starts would be lost) */
static void first_binding(void *arg)
{
	next_binding(arg);
}

static void guard_expired(void *arg)
{
	struct run *r = arg;

	r->re->re_cancel();
}

/* a line to the server; a closed connection is an error, not a SIGPIPE */
static void send_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_line(int fd, const char *fmt, ...)
{
	char line[PROTO_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)send(fd, line, (size_t)n, MSG_NOSIGNAL);
}

/* one line from fd within ms, without its newline; false on timeout or close */
static bool read_line(int fd, char *buf, size_t len, int ms)
{
	size_t n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (n + 1 < len && poll(&p, 1, ms) == 1) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return false;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return true;
		}
		n++;
	}
	return false;
}

/* a port of the NAT that no mapping of ours holds: a random one, 1024-65535 */
static uint16_t unmapped_port(void)
{
	uint16_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint16_t)getpid();
	return (uint16_t)(1024 + r % (65536 - 1024));
}

static const char *const probed_what[PROBE_KINDS] = {
	"a datagram from the server to port %u of the NAT",
	"a SYN from the server to port %u of the NAT",
	"the server's SYN from port %u, to the NAT's entry of our SYN to it (in SYN_SENT),",
};

/* one PROBE and what it met, into v; the port is ours to name for UDP and SYN */
static void probe(int fd, enum probe_kind kind, const struct sockaddr_in *server, struct verdict *v)
{
	static const char *const knob_of[PROBE_KINDS][3] = {
		/* none, rst, answered */
		{ "drop", "", "" }, { "drop", "rst", "" }, { "drop", "rst", "accept" },
	};
	char line[PROTO_LINE_MAX] = "", what[128];
	uint16_t port = unmapped_port();
	const char *why;
	struct msg m;
	int syn = -1;

	if (kind == PROBE_SYNSENT) {
		struct sockaddr_in to = *server;

		send_line(fd, "PROBE SYNSENT\n");
		if (!read_line(fd, line, sizeof(line), 4000) || proto_parse(line, &m, &why) || m.type != MSG_PROBING)
			return say(v, "", "the server would not probe: %s", line[0] ? line : "no answer");
		port = m.port;
		/* our SYN, which the server swallows: the NAT's entry stays in SYN_SENT */
		to.sin_port = htons(port);
		syn = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (syn < 0 || (connect(syn, (struct sockaddr *)&to, sizeof(to)) && errno != EINPROGRESS)) {
			say(v, "", "no SYN to the server's port %u: %s", port, strerror(errno));
			if (syn >= 0)
				close(syn);
			return;
		}
	} else
		send_line(fd, "PROBE %s %u\n", probe_kind_name[kind], port);
	line[0] = '\0';
	if (!read_line(fd, line, sizeof(line), 5000) || proto_parse(line, &m, &why) || m.type != MSG_PROBED)
		say(v, "", "the server did not say what its probe met: %s", line[0] ? line : "no answer");
	else {
		snprintf(what, sizeof(what), probed_what[kind], port);
		if (!strcmp(m.outcome, "none"))
			say(v, knob_of[kind][0], "%s met nothing (no answer, no error)", what);
		else if (!strcmp(m.outcome, "rst") && knob_of[kind][1][0])
			/* a rule's RST and the NAT's own stack's look the same from outside */
			say(v, knob_of[kind][1], "%s was answered with an RST", what);
		else if (!strcmp(m.outcome, "answered") && knob_of[kind][2][0])
			say(v, knob_of[kind][2], "%s was let through: we answered it, a simultaneous open", what);
		else if (!strcmp(m.outcome, "icmp") && kind != PROBE_SYNSENT)
			say(v, "icmp", "%s was answered with ICMP type %d code %d", what, m.icmp_type, m.icmp_code);
		else if (!strcmp(m.outcome, "nosyn"))
			say(v, "", "our SYN to the server's port %u never reached it (outbound TCP blocked there?)", port);
		else
			say(v, "", "%s met %s, which no knob says", what, m.outcome);
	}
	if (syn >= 0)
		close(syn);
}

/* What the server's datagram and SYNs to the NAT met. */
static void server_probes(const struct sockaddr_in *server, struct classification *c)
{
	struct verdict *v[PROBE_KINDS] = { &c->udp_unsolicited, &c->unsolicited_syn, &c->syn_in_syn_sent };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t l = sizeof(err);

	if (fd < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) || (connect(fd, (const struct sockaddr *)server, sizeof(*server)) &&
							 errno != EINPROGRESS) ||
	    poll(&p, 1, 2000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
		for (int i = 0; i < PROBE_KINDS; i++)
			say(v[i], "", "no TCP connection to the server's port for its probes: %s",
			    strerror(err ? err : errno ? errno : ETIMEDOUT));
		if (fd >= 0)
			close(fd);
		return;
	}
	for (int i = 0; i < PROBE_KINDS; i++)
		probe(fd, (enum probe_kind)i, server, v[i]);
	close(fd);
}

static void *probes_thread(void *arg)
{
	struct run *r = arg;

	server_probes(r->server, r->c);
	return NULL;
}

int classify_nat(const struct sockaddr_in *server, bool timeouts, struct classification *c, struct diag *d)
{
	struct re_api re;
	struct run r;
	struct sigaction pipe_was;
	int64_t t0 = timing_now(CLOCK_MONOTONIC);

	memset(c, 0, sizeof(*c));
	if (re_api_load(&re, d))
		return -1;
	memset(&r, 0, sizeof(r));
	r.re = &re;
	r.c = c;
	r.server = server;
	/* transmissions at 0, 100, 300, 700 ms, given up at 1.5 s (libre: rto, rc, rm) */
	r.conf = (struct stun_conf){ .rto = 100, .rc = 4, .rm = 8, .ti = 3000, .tos = 0 };
	re.sa_set_in(&r.srv, ntohl(server->sin_addr.s_addr), ntohs(server->sin_port));
	re.sa_set_in(&r.any, INADDR_ANY, 0);
	sigaction(SIGPIPE, NULL, &pipe_was);
	if (re.libre_init()) {
		sigaction(SIGPIPE, &pipe_was, NULL);
		re_api_unload(&re);
		return diag_set(d, "libre would not start");
	}
	if (re.stun_alloc(&r.stun, &r.conf, NULL, NULL)) {
		re.libre_close();
		sigaction(SIGPIPE, &pipe_was, NULL);
		re_api_unload(&re);
		return diag_set(d, "libre: no STUN instance");
	}
	re.tmr_init(&r.guard);
	re.tmr_init(&r.start);
	re.tmr_start(&r.guard, GUARD_MS, guard_expired, &r);
	re.tmr_start(&r.start, 0, first_binding, &r);
	re.re_main(NULL);
	re.tmr_cancel(&r.guard);
	re.tmr_cancel(&r.start);
	if (r.tcp_pending)
		re.tmr_cancel(&r.tcp_guard);
	/* the tests end here, whatever is still under way: nothing of theirs may
	 * cancel the lifetime probes' loop below */
	r.pending = -1;
	r.nm = re.mem_deref(r.nm);
	r.nm_tcp = re.mem_deref(r.nm_tcp);
	r.nf = re.mem_deref(r.nf);
	r.nh = re.mem_deref(r.nh);
	/* the probes' thread first: it may still be talking to the server */
	if (r.probing)
		pthread_join(r.prober, NULL);
	/* what the guard cut short says so, not nothing */
	{
		struct verdict *all[] = { &c->mapping, &c->mapping_tcp, &c->filtering, &c->hairpin };

		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && !c->udp_blocked; i++)
			if (!all[i]->value[0] && !all[i]->evidence[0])
				say(all[i], "", "no verdict within %d s", GUARD_MS / 1000);
	}
	if (timeouts && !c->udp_blocked)
		udp_lifetime(&re, server, &r.conf, &c->udp_timeout);
	for (int i = 0; i < ALLOC_SOCKETS; i++)
		re.mem_deref(r.us[i]);
	re.mem_deref(r.stun);
	re.libre_close();
	/* libre put its own SIGPIPE handler in, which dlclose would leave dangling */
	sigaction(SIGPIPE, &pipe_was, NULL);
	re_api_unload(&re);
	c->seconds = (double)(timing_now(CLOCK_MONOTONIC) - t0) / 1e9;
	return 0;
}
