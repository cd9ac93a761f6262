/* Apply: the plan's steps, phase by phase, in the lab's namespaces. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/socket.h>

#include "../common/cpus.h"
#include "../common/timing.h"
#include "../natsim/ruleset.h"
#include "apply.h"
#include "link.h"
#include "netns.h"

/* more threads than cores only queue in the kernel */
#define NS_WORKERS_MAX 4

/* Where a lab's own descriptors go (a namespace's, an ioctl socket): above what
 * select(2) can take, so that the libraries that still use it (libnftables) get the
 * low ones, however many nodes the lab has. Left where it was if the limit is lower. */
#define FD_HIGH_MIN 1024

static int fd_high(int fd)
{
	int h = fd >= 0 && fd < FD_HIGH_MIN ? fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH_MIN) : -1;

	if (h < 0)
		return fd;
	close(fd);
	return h;
}

static int interrupted(struct diag *d)
{
	return lab_stop_pending() ? diag_set(d, "interrupted") : 0;
}

void apply_init(struct lab_apply *a, const struct lab_plan *p, int root)
{
	a->p = p;
	a->root = root;
	for (int i = 0; i < LAB_MAX_NODES; i++) {
		a->fd[i] = a->io[i] = -1;
		a->sk[i] = NULL;
	}
	a->internet_made = NULL;
	a->internet_arg = NULL;
	a->node_made = NULL;
	a->node_made_arg = NULL;
	a->ports_made = NULL;
	a->ports_made_arg = NULL;
}

static int apply_sysctl(const struct lab_apply *a, const struct plan_step *t, struct diag *d)
{
	char name[160];

	if (!sysctl_write(t->addr, t->value) || !t->must)
		return 0;
	if (t->phase == PLAN_PHASE_NETNS) {
		plan_netns(a->p, t->node, name, sizeof(name));
		return diag_set(d, "%s: cannot enable forwarding", name);
	}
	return diag_set(d, "[nat.%s]: cannot set %s: %s", a->p->s->nodes[t->node].name, t->addr, strerror(errno));
}

/* One node's namespace phase: the steps from `first` on that are its own. */
static int apply_node_ns(struct lab_apply *a, int first, struct diag *d)
{
	const struct lab_plan *p = a->p;
	int i = p->steps[first].node, rc = 0;
	char name[160];

	plan_netns(p, i, name, sizeof(name));
	a->fd[i] = fd_high(netns_create(name, a->root, d));
	if (a->fd[i] < 0)
		return -1;
	if (!(a->sk[i] = rtnl_open(d)))
		rc = -1;
	if (!rc && (a->io[i] = fd_high(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0))) < 0)
		rc = diag_set(d, "socket: %s", strerror(errno));
	for (int k = first + 1; !rc && k < p->n && p->steps[k].node == i && p->steps[k].phase == PLAN_PHASE_NETNS &&
				p->steps[k].op != PLAN_NETNS;
	     k++) {
		const struct plan_step *t = &p->steps[k];

		if (t->op == PLAN_SYSCTL)
			rc = apply_sysctl(a, t, d);
		else if (t->op == PLAN_LINK_UP)
			rc = link_set_up(a->sk[i], t->ifindex, d);
		else if (t->op == PLAN_BRIDGE)
			rc = bridge_add(a->sk[i], t->dev, t->ifindex, d);
	}
	if (netns_enter(a->root) && !rc)
		rc = diag_set(d, "cannot return to the root namespace: %s", strerror(errno));
	if (!rc && i == 0 && a->internet_made)
		rc = a->internet_made(a->internet_arg, a->fd[0], d);
	return rc;
}

/* The namespaces, built by a thread per core: each thread enters the namespace it
 * makes (setns and unshare are per thread). No faster on a quiet kernel (3.5 ms
 * for six either way); while the previous lab's namespaces are still being torn
 * down, 23 ms against 34 (median of 20 cycles), as the threads wait in parallel. */
struct ns_worker {
	struct lab_apply *a;
	const int *firsts; /* each node's PLAN_NETNS step, in build order */
	int n;
	atomic_int *next;
	int failed_at; /* the node (in build order) whose namespace failed, or -1 */
	struct diag d;
};

static void *ns_worker_run(void *arg)
{
	struct ns_worker *w = arg;
	int k;

	while ((k = atomic_fetch_add(w->next, 1)) < w->n) {
		if (apply_node_ns(w->a, w->firsts[k], &w->d)) {
			w->failed_at = k;
			atomic_store(w->next, w->n); /* the others stop too */
			break;
		}
		if (w->a->node_made)
			w->a->node_made(w->a->node_made_arg, w->a->p->steps[w->firsts[k]].node);
	}
	return NULL;
}

/* The kernel grows a descriptor table that threads share only after an RCU grace
 * period (expand_fdtable's synchronize_rcu): the namespace workers' first fd_high
 * waited for it, 8-17 ms of the namespace phase's 13-18 here. A table never
 * shrinks: done once, it costs nothing after. */
void apply_fds_grow(struct lab_apply *a)
{
	struct rlimit rl;
	int nodes = 0, fd = a->root, h;
	long want;

	for (int k = 0; k < a->p->n; k++)
		nodes += a->p->steps[k].op == PLAN_NETNS;
	want = FD_HIGH_MIN + 2L * nodes + 8;
	if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want >= rl.rlim_cur)
		want = (long)rl.rlim_cur - 1;
	h = want >= FD_HIGH_MIN ? fcntl(fd, F_DUPFD_CLOEXEC, (int)want) : -1;
	if (h >= 0)
		close(h);
}

int apply_namespaces(struct lab_apply *a, struct diag *d)
{
	int firsts[LAB_MAX_NODES];
	struct ns_worker w[NS_WORKERS_MAX];
	pthread_t t[NS_WORKERS_MAX];
	atomic_int next = 0;
	long cores = cpus_count(0); /* a natlab under taskset or a cpuset has fewer */
	int nodes = 0, n, started = 0, rc = 0;

	for (int k = 0; k < a->p->n && nodes < LAB_MAX_NODES; k++)
		if (a->p->steps[k].op == PLAN_NETNS)
			firsts[nodes++] = k;
	n = cores < 1 ? 1 : cores > NS_WORKERS_MAX ? NS_WORKERS_MAX : (int)cores;
	if (n > nodes)
		n = nodes;
	for (int k = 0; k < n; k++) {
		w[k] = (struct ns_worker){ .a = a, .firsts = firsts, .n = nodes, .next = &next, .failed_at = -1 };
		/* the first in this thread: a thread that cannot start leaves the rest to it */
		if (k && pthread_create(&t[k], NULL, ns_worker_run, &w[k]))
			break;
		started = k + 1;
	}
	if (started)
		ns_worker_run(&w[0]);
	for (int k = 1; k < started; k++)
		pthread_join(t[k], NULL);
	/* the node earliest in build order is the error that is reported */
	for (int k = 0, first = nodes; k < started; k++)
		if (w[k].failed_at >= 0 && w[k].failed_at < first) {
			first = w[k].failed_at;
			*d = w[k].d;
			rc = -1;
		}
	return rc ? rc : interrupted(d);
}

static int apply_link_step(struct lab_apply *a, const struct plan_step *t, struct diag *d)
{
	int i = t->node;

	switch (t->op) {
	case PLAN_VETH:
		return veth_add(a->sk[i], t->dev, t->ifindex, t->master[0] ? IFINDEX_BRIDGE : 0, t->peer_dev,
				a->fd[t->peer], t->peer_ifindex, t->has_mac ? t->mac : NULL, d) ||
		       link_set_up(a->sk[t->peer], t->peer_ifindex, d);
	case PLAN_OFFLOADS_OFF:
		return link_offloads_off(a->io[i], t->dev, d);
	case PLAN_GSO_PLAIN:
		return link_gso_plain(a->io[i], t->dev, d);
	case PLAN_ADDR:
		return addr_add(a->sk[i], t->ifindex, t->addr, d);
	case PLAN_ROUTE:
		return route_add(a->sk[i], t->ifindex, t->dst, t->addr, d);
	case PLAN_ROUTE_BLACKHOLE:
		return route_blackhole_add(a->sk[i], d);
	case PLAN_NEIGH:
		return neigh_add(a->sk[i], t->ifindex, t->addr, t->mac, d);
	default:
		return 0;
	}
}

int apply_links(struct lab_apply *a, struct diag *d)
{
	const struct lab_plan *p = a->p;
	int ports = -1; /* the last step on the internet's links (the wire's ports) */

	for (int k = 0; k < p->n; k++)
		if (p->steps[k].phase == PLAN_PHASE_LINKS && p->steps[k].node == 0)
			ports = k;
	for (int k = 0; k < p->n; k++) {
		const struct plan_step *t = &p->steps[k];

		if (t->phase != PLAN_PHASE_LINKS && t->phase != PLAN_PHASE_NEIGH)
			continue;
		if (apply_link_step(a, t, d))
			return -1;
		if (k == ports && a->ports_made && a->ports_made(a->ports_made_arg, d))
			return -1;
		/* a node's links done: a stop asked for meanwhile is taken now */
		if (t->phase == PLAN_PHASE_LINKS &&
		    (k + 1 == p->n || p->steps[k + 1].op == PLAN_VETH || p->steps[k + 1].phase != PLAN_PHASE_LINKS) &&
		    interrupted(d))
			return -1;
	}
	return 0;
}

/* Ready means ready: every node's uplink, both ends, running before `up` returns (programs
 * that look for usable interfaces, ICE stacks, skip one that is not). The kernel
 * sets it at once for our veths (IFINDEX_CHILD_BASE); this makes it certain. */
int apply_wait_running(struct lab_apply *a, struct diag *d)
{
	const struct scenario *s = a->p->s;
	int64_t until = timing_now(CLOCK_MONOTONIC) + 2000000000LL;

	for (int i = 1; i < s->n; i++) {
		int r;

		for (;;) {
			r = link_running(a->sk[i], IFINDEX_UPLINK, d);
			if (r > 0)
				r = link_running(a->sk[s->nodes[i].parent], IFINDEX_CHILD_BASE + i, d);
			if (r)
				break;
			if (timing_now(CLOCK_MONOTONIC) > until)
				return diag_set(d, "%s: its link is not running 2 s after it came up", s->nodes[i].name);
			usleep(200);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

void apply_close_sockets(struct lab_apply *a)
{
	for (int i = 0; i < LAB_MAX_NODES; i++) {
		if (a->sk[i])
			nl_socket_free(a->sk[i]);
		a->sk[i] = NULL;
		if (a->io[i] >= 0)
			close(a->io[i]);
		a->io[i] = -1;
	}
}

int apply_nats(struct lab_apply *a, const struct nft_api *nft, int (*wait)(void *arg, int node), void *arg,
	       struct diag *d)
{
	const struct lab_plan *p = a->p;
	int rc = 0;

	for (int k = 0; k < p->n && !rc; k++) {
		int i = p->steps[k].node;

		if (p->steps[k].op != PLAN_NFT)
			continue;
		if (wait && wait(arg, i)) {
			rc = diag_set(d, "the namespaces were not made");
			break;
		}
		if (netns_enter(a->fd[i])) {
			rc = diag_set(d, "setns: %s", strerror(errno));
			break;
		}
		rc = nat_ruleset_load(nft, p->steps[k].text, d);
		/* the profile's sysctls follow its ruleset */
		for (int j = k + 1; !rc && j < p->n && p->steps[j].op == PLAN_SYSCTL && p->steps[j].node == i; j++)
			rc = apply_sysctl(a, &p->steps[j], d);
		if (netns_enter(a->root) && !rc)
			rc = diag_set(d, "cannot return to the root namespace: %s", strerror(errno));
		if (!rc && interrupted(d))
			rc = -1;
	}
	return rc ? -1 : 0;
}

void apply_release(struct lab_apply *a)
{
	apply_close_sockets(a);
	for (int i = 0; i < LAB_MAX_NODES; i++) {
		if (a->fd[i] >= 0)
			close(a->fd[i]);
		a->fd[i] = -1;
	}
}
