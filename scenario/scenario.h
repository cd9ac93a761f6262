/* Scenario files (docs/scenarios.md): nodes, their links and NAT profiles, and the address plan. */
#ifndef NATLAB_SCENARIO_H
#define NATLAB_SCENARIO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/diag.h"
#include "../natsim/profile.h"
#include "../common/strategy.h"

/* 1,000 nodes and more: a carrier NAT with 500 subscribers' NATs and hosts */
#define LAB_MAX_NODES 1100
/* more nodes than this behind a NAT and its inside is a /16, not a /24 */
#define LAB_SMALL_LAN 250
#define LAB_MAX_ADDRS 8
#define LAB_NAME_MAX 24
#define NODE_NAME_MAX 16 /* also an interface name in the parent's namespace */
#define NODE_MAX_OVERRIDES 16

enum node_kind { NODE_INTERNET, NODE_NAT, NODE_HOST };

struct knob_override {
	char key[32];
	char value[64];
	int line;
};

struct lab_node {
	char name[NODE_NAME_MAX];
	enum node_kind kind;
	int line; /* of its [section] */
	char parent_name[NODE_NAME_MAX];
	int parent_line; /* of its uplink/behind key; 0 when absent */
	int parent;      /* index in scenario.nodes; the internet is 0 */
	char profile_spec[128];
	int profile_line;
	struct nat_profile profile;
	struct knob_override ov[NODE_MAX_OVERRIDES];
	int n_ov;
	unsigned addresses;
	int addresses_line;
	int clock_offset_ms;
	int clock_line;
	bool turn;       /* service = turn: a TURN server (coturn) runs here, at TURN_PORT */
	int service_line;
	/* its link into the internet, emulated by the wire (each direction) */
	double delay_ms, jitter_ms, loss;
	double rate_mbit;  /* a bandwidth limit, each direction; 0: none */
	double duplicate;  /* a share of frames sent twice, each direction */
	int link_line; /* of the first link key; 0 when none */
	unsigned char link_keys; /* given as keys (1 << link_figure_index(key)): a link preset leaves them */

	/* The address plan, filled by plan_addresses() (addresses.c) once the file is read. */
	int depth;
	int n_children;
	char addr[LAB_MAX_ADDRS][32]; /* "a.b.c.d/len" on its uplink */
	int n_addr;
	char gw[32];      /* default route, "" for none */
	char lan_net[32]; /* NATs: inside subnet, CIDR */
	char lan_addr[32];/* NATs: inside address, CIDR */
	uint32_t lan_base; /* NATs: the inside's network address, host order */
	int lan_prefix;    /* NATs: 24, or 16 for more than LAB_SMALL_LAN nodes behind it */
};

/* A scripted fault on the wire (section [fault.NAME]). */
enum fault_match { MATCH_ANY, MATCH_TCP, MATCH_TCP_SYN, MATCH_TCP_SYNACK, MATCH_TCP_ACK,
		   MATCH_TCP_RST, MATCH_UDP, MATCH_ICMP };
enum fault_action { FAULT_DROP, FAULT_DELAY };
#define LAB_MAX_FAULTS 16

struct wire_fault {
	char name[NODE_NAME_MAX];
	int line;
	char at_name[NODE_NAME_MAX];
	int at;      /* node index; frames on its link */
	bool inbound;/* towards the node (direction = in) instead of from it */
	int match;
	int action;
	unsigned count; /* the first count matching frames; 0: all */
	double extra_ms;
	int at_line, action_line, extra_line;
};

/* The [run] section: what `natlab run` does in the lab. */
#define RUN_MAX_STRATEGIES 8
#define RUN_MAX_SKEWS 1024
/* the rendezvous server's port, unless [run] says: STUN's, which it also speaks there */
#define RUN_SERVER_PORT 3478

struct run_spec {
	int line;            /* of [run]; 0 when absent */
	int pair[2];         /* node indexes */
	char pair_name[2][NODE_NAME_MAX];
	int pair_line;
	int server;          /* node index of the rendezvous host */
	char server_name[NODE_NAME_MAX];
	int server_line;
	int n_strategies;
	char strategies[RUN_MAX_STRATEGIES][STRATEGY_NAME_MAX];
	int n_skews;
	double skews_ms[RUN_MAX_SKEWS];
	unsigned repeat;
	double deadline_s;
	unsigned server_port; /* the rendezvous server's TCP and UDP port */
	unsigned local_port;  /* the peers' own port; 0: the kernel's choice */
	bool relay_turn;      /* relay = turn: through the lab's TURN server (service = turn) */
	/* edges = bisect: each window's edges searched by bisection on skew, within
	 * skew_ms's range, to edge_resolution_ms (run/edges.h); grid: read off skew_ms */
	bool edges_bisect;
	double edge_resolution_ms;
};

/* The finest edge resolution a scenario may ask for: the emitted skew's p95 bound
 * (run/precision.h, PRECISION_EMIT_P95_MS); an edge is never finer than the lab's timing. */
#define EDGE_RESOLUTION_MIN_MS 0.5

/* [strategy.NAME], or exec:COMMAND in a strategies list: a user's program run on
 * both peers at the agreed instant; its attempts are strategy "exec:NAME". */
#define PROGRAM_NAME_MAX 24
struct run_program {
	char name[PROGRAM_NAME_MAX];
	char command[512];  /* run by /bin/sh -c in the scenario's folder */
	char like[16];      /* the built-in the model predicts it by; "": unknown */
	double lead_ms;     /* started this long before the instant (NATLAB_START), to be ready at it */
	/* its own server, on the run's rendezvous host for the lab's attempts; "": none */
	char server_command[512];
	unsigned server_port; /* where that server listens: its attempts wait for it */
	int line, command_line, ref_line, server_line, server_port_line;
	bool declared;      /* by its section */
	bool from_path;     /* exec:PATH */
	bool exec_named;    /* exec:NAME: without a section, the command NAME */
};

/* The [matrix] section: the standard topology (two NATs, a host behind each, a
 * rendezvous host in the internet), one lab per profile pair and round trip. */
#define MATRIX_MAX_PROFILES 32
#define MATRIX_MAX_RTTS 8

struct matrix_spec {
	int line;          /* of [matrix]; 0 when absent */
	int n_profiles;
	char profiles[MATRIX_MAX_PROFILES][64];
	int profiles_line;
	bool diagonal;     /* pairs = same: each profile with itself only */
	int n_rtts;
	double rtts_ms[MATRIX_MAX_RTTS];
	/* loss, jitter_ms: on both NATs' links into the internet, as a node's keys
	 * (the impairment scenarios); "" for none */
	char loss[32], jitter_ms[32], rate_mbit[32];
	/* link = NAME: both NATs' links as that preset (natsim/links), the round trip
	 * four times its delay; loss and jitter_ms given beside it override it */
	char link[72];
	int link_line, rtts_line;
	struct run_spec run; /* strategies, skew_ms, repeat, deadline_s */
};

struct scenario {
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char name[LAB_NAME_MAX]; /* from [lab] name or the file name; a suffix is added per run */
	bool capture;
	bool capture_nats; /* capture = all: each NAT's lan and wan too (dumpcap) */
	bool reorder;   /* jitter may reorder frames on a link */
	bool bridge;    /* internet = bridge: a kernel bridge instead of the wire */
	bool unreachable; /* unroutable = unreachable: a NAT answers ICMP, not silence */
	int bridge_line;
	uint64_t cpus;  /* [lab] cpus: the cores its wire and its nodes' programs run on; 0: any */
	int cpus_line;
	uint64_t wire_cpus; /* [lab] wire_cpus: the wire's own, where not cpus; 0: as cpus */
	int wire_cpus_line;
	unsigned seed;
	int n_faults;
	struct wire_fault faults[LAB_MAX_FAULTS];
	struct run_spec run;
	struct matrix_spec matrix;
	int other_line; /* of the first section besides [lab] and [matrix] */
	int n_programs;
	struct run_program programs[RUN_MAX_STRATEGIES];
	int n;
	struct lab_node nodes[LAB_MAX_NODES];
	int order[LAB_MAX_NODES]; /* parents before children */
};

/* service = turn: coturn's port and user (the password is drawn per lab) */
#define TURN_PORT 3478
#define TURN_USER "natlab"

/* Interface names inside a node's namespace. */
#define IF_UPLINK_NAT "wan"
#define IF_UPLINK_HOST "eth0"
#define IF_BRIDGE_NAT "lan"
#define IF_BRIDGE_INTERNET "inet"
#define IFINDEX_UPLINK 2
#define IFINDEX_BRIDGE 3
/* a child's link in its parent's namespace: this plus the child's node index. Never
 * the child's own (2): the kernel takes a link change as urgent only where a
 * veth's two ends have different indexes, and otherwise leaves the link's
 * operational state "down" for up to a second (linkwatch's batching), which ICE
 * stacks read as "not running" and skip */
#define IFINDEX_CHILD_BASE 16

/* Parses, loads profiles, applies overrides and plans addresses; d->msg = "FILE:LINE: ...". */
int scenario_load(struct scenario *s, const char *path, struct diag *d);
int scenario_load_stream(struct scenario *s, FILE *f, const char *name, struct diag *d);
/* A scenario given as data, a section or key = value per entry (key NULL: the
 * [section] itself), read as the same lines of a file named `name` would be. */
struct scenario_entry {
	const char *section, *key, *value;
	int line; /* what an error points at */
};
int scenario_from_entries(struct scenario *s, const char *name, const struct scenario_entry *e, int n,
			  struct diag *d);
int scenario_find(const struct scenario *s, const char *name);
/* The user's program a strategy "exec:NAME" runs; NULL for a built-in. */
const struct run_program *scenario_program(const struct scenario *s, const char *strategy);
/* True when the scenario asks the wire for anything a bridge cannot do. */
bool scenario_needs_wire(const struct scenario *s);
const char *fault_match_name(int m);
/* [lab] capture as a scenario says it: off, on or all */
const char *scenario_capture_name(const struct scenario *s);
/* Nodes in the internet have fixed MACs, 02:4e:4c:00:HI:LO by node index. */
void scenario_node_mac(int node, unsigned char mac[6]);
const char *node_kind_name(enum node_kind k);
/* A matrix scenario's labs: pairs x round trips; cell k as a scenario of its own. */
int scenario_matrix_cells(const struct scenario *m);
int scenario_matrix_cell(const struct scenario *m, int k, struct scenario *out, struct diag *d);

#endif
