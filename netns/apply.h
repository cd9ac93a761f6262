/* Apply: carries out a lab's plan (plan/) over netlink, ioctl and libnftables. */
#ifndef NATLAB_APPLY_H
#define NATLAB_APPLY_H

#include "../plan/plan.h"

struct nft_api;

struct nl_sock;

/* What applying holds while the lab is built: each node's namespace, an rtnetlink
 * socket and an ioctl socket in it. */
struct lab_apply {
	const struct lab_plan *p;
	int root; /* the namespace to come back to */
	int fd[LAB_MAX_NODES];
	int io[LAB_MAX_NODES];
	struct nl_sock *sk[LAB_MAX_NODES];
	/* called once node 0's namespace (the internet) exists, by the thread that made
	 * it, while the others are still being made: natlab up starts the wire there
	 * when it has no thread beside the namespaces to do it. Its error is the
	 * namespace phase's. NULL: none */
	int (*internet_made)(void *arg, int fd, struct diag *d);
	void *internet_arg;
	/* called once node i's namespace and its steps are made, by the thread that
	 * made it (natlab up's thread beside the namespaces waits for the internet's,
	 * to start the wire, and for the NATs', to load their rulesets). NULL: none */
	void (*node_made)(void *arg, int i);
	void *node_made_arg;
	/* called by apply_links once the internet's links exist (the wire's ports),
	 * before the rest are made: natlab up has the wire open them meanwhile. Its
	 * error is the links phase's. NULL: none */
	int (*ports_made)(void *arg, struct diag *d);
	void *ports_made_arg;
};

void apply_init(struct lab_apply *a, const struct lab_plan *p, int root);
/* The descriptor table grown to hold every node's descriptors above FD_HIGH_MIN,
 * while this process has one thread (before apply_namespaces and any thread). */
void apply_fds_grow(struct lab_apply *a);
/* Each phase takes a stop asked for meanwhile (SIGINT, SIGTERM, SIGHUP, blocked
 * while a lab is built) as an error, "interrupted", once its work is whole. */
/* The namespace phase: a thread per core, each doing one node's steps at a time. */
int apply_namespaces(struct lab_apply *a, struct diag *d);
/* Links, addresses and routes node by node, then the neighbours. */
int apply_links(struct lab_apply *a, struct diag *d);
/* Until every uplink, both ends, is running (2 s at most). */
int apply_wait_running(struct lab_apply *a, struct diag *d);
/* Netlink and ioctl done: their descriptors go before libnftables needs low ones. */
void apply_close_sockets(struct lab_apply *a);
/* Each NAT's ruleset and profile sysctls, by libnftables as loaded in nft; with
 * wait, each once wait(arg, node) says its namespace is made (0; -1: given up). */
int apply_nats(struct lab_apply *a, const struct nft_api *nft, int (*wait)(void *arg, int node), void *arg,
	       struct diag *d);
/* Closes what is left. */
void apply_release(struct lab_apply *a);

#endif
