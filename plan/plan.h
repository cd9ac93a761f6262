/* The plan: everything a lab will be, as data, before anything is built — its
 * namespaces, sysctls, bridges, veths, addresses, routes, neighbours, each NAT's
 * ruleset and the wire's ports. `natlab plan` prints it as JSON or as a shell
 * script of ip and nft commands; it needs no root and touches nothing. */
#ifndef NATLAB_PLAN_H
#define NATLAB_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "../netns/lab.h"

enum plan_op {
	PLAN_NETNS,           /* the node's namespace */
	PLAN_SYSCTL,          /* value written to /proc/sys/<path> in the node */
	PLAN_LINK_UP,         /* dev set up (lo) */
	PLAN_BRIDGE,          /* a bridge dev, up */
	PLAN_VETH,            /* dev in the node, its peer in node `peer`, both up */
	PLAN_OFFLOADS_OFF,    /* segmentation offloads off on dev (a wire that sees each frame) */
	PLAN_GSO_PLAIN,       /* on dev, GSO of TCP and UDP only (a clean wire's uplink: no tunnel's, SCTP's) */
	PLAN_ADDR,            /* addr on dev */
	PLAN_ROUTE,           /* dst (a CIDR, or default) via addr on dev */
	PLAN_ROUTE_BLACKHOLE, /* default route that drops */
	PLAN_NEIGH,           /* permanent neighbour: addr is at mac on dev */
	PLAN_NFT,             /* the NAT's ruleset, loaded whole */
	PLAN_WIRE_PORT,       /* a port of the wire: the node's link into the internet */
	PLAN_SERVICE,         /* a service the node runs, started last: value says which (turn at addr; capture: a NAT's lan and wan) */
};

/* When apply does a step: the namespaces (a thread per core, each node's steps
 * together), then links and addresses node by node, the neighbours, and after
 * the wire has started the NATs' rulesets. */
enum plan_phase { PLAN_PHASE_NETNS, PLAN_PHASE_LINKS, PLAN_PHASE_NEIGH, PLAN_PHASE_NAT, PLAN_PHASE_WIRE,
		  PLAN_PHASE_SERVICES };

struct plan_step {
	enum plan_op op;
	enum plan_phase phase;
	bool must;           /* PLAN_SYSCTL: the lab is not built if it fails */
	int node;            /* the node whose namespace it acts in */
	int peer;            /* PLAN_VETH, PLAN_WIRE_PORT: the child node */
	char dev[16];
	int ifindex;         /* 0: the kernel's choice */
	char peer_dev[16];
	int peer_ifindex;
	char master[16];     /* "" for none */
	char addr[64];       /* an address, a gateway, or a sysctl's path */
	char value[16];      /* a sysctl's value */
	char dst[20];        /* PLAN_ROUTE: "default" or a CIDR */
	unsigned char mac[6];
	bool has_mac;
	char *text;          /* PLAN_NFT: the ruleset (owned) */
	double delay_ms, jitter_ms, loss; /* PLAN_WIRE_PORT, each direction */
	double rate_mbit, duplicate;
};

struct lab_plan {
	const struct scenario *s;
	char id[LAB_ID_MAX];
	int n, cap;
	struct plan_step *steps;
	bool wire; /* the internet is the wire, not a kernel bridge */
};

/* The plan of scenario s as lab `id`: 0, or -1 with d set (out of memory). */
int plan_build(struct lab_plan *p, const struct scenario *s, const char *id, struct diag *d);
void plan_free(struct lab_plan *p);
/* The namespace a step acts in. */
void plan_netns(const struct lab_plan *p, int node, char *buf, size_t len);

/* The plan as one JSON document. */
int plan_print_json(const struct lab_plan *p, FILE *out);
/* The lab's CPUs ([lab] cpus and wire_cpus, where given) into obj, as the plan
 * and the lab's state both say them. */
void plan_json_cpus(json_t *obj, const struct scenario *s);
/* A POSIX sh script: `sh FILE up` builds the lab with ip and nft, `sh FILE down`
 * removes it. The wire is natlab's own: the script's internet is a kernel bridge,
 * and the links' impairments are listed as comments. */
int plan_print_script(const struct lab_plan *p, FILE *out);

#endif
