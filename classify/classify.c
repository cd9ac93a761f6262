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
#include "probes.h"

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
	struct in_addr mapped_addr; /* of the first binding: the NAT's outside (0: none) */
	bool answered, other_addr; /* a binding came back; it named the server's other address */
	int64_t sent_ns, rtt_ns;     /* the allocation test's last request; its quickest answer */
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

static void one_done(struct run *r)
{
	if (--r->pending == 0)
		r->re->re_cancel();
}

/* RFC 5780's tests need a server with two addresses, which its answers name
 * (OTHER-ADDRESS): where it named none, that is why a test failed (libre says
 * EPROTO or EINVAL) */
static bool one_address(const struct run *r, struct verdict *v, int err, const char *test)
{
	if (!err || !r->answered || r->other_addr)
		return false;
	say(v, "", "RFC 5780 %s needs a server with two addresses, and this one's answers name no other "
		   "(OTHER-ADDRESS): natlab-probe server on a host with two",
	    test);
	return true;
}

/* a natbd test's verdict, a knob of row `row` of nat_type_knob: `test` names it
 * when it failed, section and how[t] say what it saw */
static void say_type(struct verdict *v, int row, int err, enum nat_type t, const char *test, const char *section,
		     const char *const how[4], const struct run *r)
{
	if (one_address(r, v, err, test))
		return;
	if (err || t < NAT_TYPE_ENDP_INDEP || t > NAT_TYPE_ADDR_PORT_DEP)
		say(v, "", "RFC 5780 %s failed: %s", test, err ? strerror(err) : "no verdict");
	else
		say(v, nat_type_knob[row][t], "RFC 5780 %s%s", section, how[t]);
}

static const char *const mapping_how[] = {
	"", "the same mapped endpoint toward the server's other address and port",
	"a new mapped endpoint toward the server's other address, the same toward its other port",
	"a new mapped endpoint toward each of the server's other address and port",
};

static void mapping_done(int err, enum nat_type t, void *arg)
{
	struct run *r = arg;

	say_type(&r->c->mapping, 0, err, t, "mapping test", "4.3: ", mapping_how, r);
	one_done(r);
}

static void mapping_tcp_done(int err, enum nat_type t, void *arg)
{
	struct run *r = arg;

	if (!r->tcp_pending)
		return;
	r->tcp_pending = false;
	r->re->tmr_cancel(&r->tcp_guard);
	say_type(&r->c->mapping_tcp, 0, err, t, "mapping test over TCP", "4.3 over TCP: ", mapping_how, r);
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

	say_type(&r->c->filtering, 1, err, t, "filtering test", "4.4: ", how, r);
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

	/* UDP blocked: RFC 5780's mapping and hairpinning tests over TCP, filtering
	 * by the server's probes */
	r->pending = r->c->udp_blocked ? 2 : 4;
	if (!r->c->udp_blocked &&
	    (re->nat_mapping_alloc(&r->nm, &r->any, &r->srv, IPPROTO_UDP, &r->conf, mapping_done, r) ||
	     re->nat_mapping_start(r->nm)))
		mapping_done(EINVAL, NAT_TYPE_UNKNOWN, r);
	r->tcp_pending = true;
	re->tmr_init(&r->tcp_guard);
	re->tmr_start(&r->tcp_guard, r->conf.ti, tcp_guard_expired, r);
	if (re->nat_mapping_alloc(&r->nm_tcp, &r->any, &r->srv, IPPROTO_TCP, &r->conf, mapping_tcp_done, r) ||
	    re->nat_mapping_start(r->nm_tcp))
		mapping_tcp_done(EINVAL, NAT_TYPE_UNKNOWN, r);
	if (!r->c->udp_blocked &&
	    (re->nat_filtering_alloc(&r->nf, &r->srv, &r->conf, filtering_done, r) || re->nat_filtering_start(r->nf)))
		filtering_done(EINVAL, NAT_TYPE_UNKNOWN, r);
	if (re->nat_hairpinning_alloc(&r->nh, &r->srv, r->c->udp_blocked ? IPPROTO_TCP : IPPROTO_UDP, &r->conf,
				      hairpin_done, r) ||
	    re->nat_hairpinning_start(r->nh))
		hairpin_done(EINVAL, false, r);
}

static void judge_allocation(struct run *r, const char *sockets)
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
		say(v, "preserve", "%d new %s kept their ports (%s)", ALLOC_SOCKETS, sockets, seen);
	else if (constant && step >= 1 && step <= 1000) {
		r->c->delta = (unsigned)step;
		say(v, "sequential", "%d new %s' mappings went up by %d (%s)", ALLOC_SOCKETS, sockets, step, seen);
	} else
		say(v, "random", "%d new %s' mappings kept no port and no step (%s)", ALLOC_SOCKETS, sockets, seen);
}

static void next_binding(struct run *r);

/* UDP blocked: the allocation test over TCP, a STUN binding on each of four new
 * connections (each its own 5-tuple, as the UDP test's sockets) */
static int tcp_allocation(struct run *r)
{
	for (r->n = 0; r->n < ALLOC_SOCKETS; r->n++) {
		struct sockaddr_in local, mapped;

		int rc = tcp_binding(r->re, r->server, &local, &mapped);

		if (rc) {
			say(&r->c->allocation, "", "a STUN binding over TCP (connection %d of %d) failed: %s", r->n + 1,
			    ALLOC_SOCKETS, strerror(errno));
			/* the first connection not made: TCP is blocked too, and the
			 * tests over it would only wait out their timers (20 s) */
			return r->n == 0 && rc == -2 ? -1 : 0;
		}
		if (r->n == 0)
			r->mapped_addr = mapped.sin_addr;
		r->local[r->n] = ntohs(local.sin_port);
		r->mapped[r->n] = ntohs(mapped.sin_port);
	}
	judge_allocation(r, "TCP connections");
	return 0;
}

/* the address this host sends from toward the server: a connected UDP socket's
 * (a route lookup; nothing is sent) */
static struct in_addr source_addr(const struct sockaddr_in *server)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)server, sizeof(*server)) ||
	    getsockname(fd, (struct sockaddr *)&a, &l))
		a.sin_addr.s_addr = 0;
	if (fd >= 0)
		close(fd);
	return a.sin_addr;
}

/* Where UDP is blocked, TCP's verdicts stand for natlab's knobs (which are for
 * both); without translation, nothing hairpins: the host's address is its own. */
static void conclude(struct run *r)
{
	struct classification *c = r->c;
	struct in_addr here = source_addr(r->server);
	char a[INET_ADDRSTRLEN] = "?";

	if (r->mapped_addr.s_addr) {
		inet_ntop(AF_INET, &r->mapped_addr, a, sizeof(a));
		if (r->mapped_addr.s_addr == here.s_addr)
			say(&c->translation, "off", "the server saw our own address, %s: no translation on the way", a);
		else
			say(&c->translation, "on", "the server saw us at %s, not at our own address", a);
	} else
		say(&c->translation, "", "no binding said where the server saw us");
	if (c->udp_blocked) {
		struct verdict *over_tcp[][2] = { { &c->mapping, &c->mapping_tcp }, { &c->filtering, &c->filtering_tcp } };

		for (int i = 0; i < 2; i++) {
			snprintf(over_tcp[i][0]->value, sizeof(over_tcp[i][0]->value), "%s", over_tcp[i][1]->value);
			snprintf(over_tcp[i][0]->evidence, sizeof(over_tcp[i][0]->evidence), "over TCP, UDP being "
				 "blocked: %.200s", over_tcp[i][1]->evidence);
		}
	}
	if (!strcmp(c->translation.value, "off"))
		say(&c->hairpin, "", "no translation: the host's own address is its endpoint, nothing to hairpin");
}

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
			if (tcp_allocation(r)) {
				re->re_cancel(); /* neither way: said at once */
				return;
			}
			start_rfc5780(r);
			return;
		}
		say(&r->c->allocation, "", "binding request %d of %d failed: %s", r->n + 1, ALLOC_SOCKETS,
		    err ? strerror(err) : reason ? reason : "no mapped address");
		start_rfc5780(r);
		return;
	}
	if (r->n == 0) {
		r->mapped_addr = m->v.sa.u.in.sin_addr;
		r->answered = true;
		r->other_addr = re->stun_msg_attr(msg, STUN_ATTR_OTHER_ADDR) != NULL;
	}
	{
		int64_t rtt = timing_now(CLOCK_MONOTONIC) - r->sent_ns;

		if (!r->rtt_ns || rtt < r->rtt_ns)
			r->rtt_ns = rtt;
	}
	re->udp_local_get(r->us[r->n], &local);
	r->local[r->n] = re->sa_port(&local);
	r->mapped[r->n] = re->sa_port(&m->v.sa);
	if (++r->n < ALLOC_SOCKETS) {
		next_binding(r);
		return;
	}
	judge_allocation(r, "sockets");
	/* the tests' retransmissions by the round trip just measured: twice it, 30 to
	 * 100 ms, so a test that waits for no answer gives up in 0.45-1.5 s */
	r->conf.rto = (uint32_t)(2 * r->rtt_ns / 1000000);
	r->conf.rto = r->conf.rto < 30 ? 30 : r->conf.rto > 100 ? 100 : r->conf.rto;
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

	r->sent_ns = timing_now(CLOCK_MONOTONIC);
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

struct tcp_life_arg {
	const struct sockaddr_in *server;
	struct verdict *v;
};

/* --timeouts takes minutes: each lifetime on stderr as soon as it is known */
static void said(const char *knob, const struct verdict *v)
{
	fprintf(stderr, "natlab classify: %s: %s\n", knob, v->value[0] ? v->value : "not told");
}

static void *tcp_life_run(void *arg)
{
	struct tcp_life_arg *a = arg;

	tcp_lifetime(a->server, a->v);
	said("tcp_established_timeout", a->v);
	return NULL;
}

static void *syn_life_run(void *arg)
{
	struct tcp_life_arg *a = arg;

	tcp_syn_sent_lifetime(a->server, a->v);
	said("tcp_syn_sent_timeout", a->v);
	return NULL;
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
	/* its tests' warnings (a TCP connection refused, ...) are evidence here, said once */
	re.dbg_init(DBG_ERR, DBG_NONE);
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
	conclude(&r);
	if (timeouts) {
		/* TCP's and SYN_SENT's beside UDP's: each takes two to four times its lifetime */
		fprintf(stderr, "natlab classify: timing how long the NAT keeps its entries (--timeouts): probes of 1 "
				"to 256 s side by side, then finer ones between; two to four times the longest "
				"lifetime, 9 minutes at most\n");
		pthread_t tcp, syn;
		struct tcp_life_arg a = { server, &c->tcp_established_timeout }, b = { server, &c->tcp_syn_sent_timeout };
		bool beside = !pthread_create(&tcp, NULL, tcp_life_run, &a);
		bool syn_beside = !pthread_create(&syn, NULL, syn_life_run, &b);

		if (!c->udp_blocked) {
			udp_lifetime(&re, server, &r.conf, &c->udp_timeout);
			said("udp_timeout", &c->udp_timeout);
		}
		if (beside)
			pthread_join(tcp, NULL);
		else
			tcp_life_run(&a);
		if (syn_beside)
			pthread_join(syn, NULL);
		else
			syn_life_run(&b);
	}
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
