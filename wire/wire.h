/* The wire: a userspace switch in the internet namespace that delays, jitters,
 * loses and captures the frames between the links into the internet (docs/scenarios.md). */
#ifndef NATLAB_WIRE_H
#define NATLAB_WIRE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "../scenario/scenario.h"

struct wire_port {
	char name[NODE_NAME_MAX]; /* the veth end in the internet namespace: the node's name */
	unsigned char mac[6];     /* the node's, so the switch knows it before any frame */
	int64_t delay_ns, jitter_ns; /* one way, each direction */
	double loss;                 /* each direction */
	double rate_bps;             /* a bandwidth limit, each direction; 0: none */
	double duplicate;            /* a share of frames sent twice, into the node */
};

struct wire_config {
	int n_ports;
	struct wire_port ports[LAB_MAX_NODES];
	int n_faults;
	struct wire_fault faults[LAB_MAX_FAULTS]; /* .at is a port index here */
	bool reorder;
	bool gso; /* wire_carries_gso: offloads stay on, frames up to 64 KB */
	uint64_t seed;
	char pcap_path[PATH_MAX];   /* "" for no capture */
	char events_path[PATH_MAX]; /* SYN, SYN-ACK, RST and ICMP errors, one JSON line each */
	char stats_path[PATH_MAX];  /* "" for none: how late frames left, rewritten as it runs */
};

/* How late the wire sent frames against the time their delay ended, in
 * microseconds: a histogram with 1 us buckets, the last one "this late or more".
 * Frames with no delay to keep (both links without delay, jitter or rate: due
 * as they arrive) are counted on their own: the wire cannot wake before them,
 * and what they show is its wake-up (at_once_us). */
#define WIRE_LATE_BUCKETS 10000
#define WIRE_AT_ONCE_BUCKETS 1001 /* the last, 1000: a millisecond or later */

/* Whether the wire of scenario s carries segmentation offloads' super-frames (a TCP
 * burst of up to 64 KB as one frame): only on a clean wire, without loss, faults or
 * reordering, which act per packet on a line. Other wires turn offloads off on their
 * links and see every frame as it would be on the line, at most an MTU. */
bool wire_carries_gso(const struct scenario *s);
/* The ports and faults of scenario s: every node attached to the internet. */
void wire_config_from_scenario(struct wire_config *c, const struct scenario *s);
/* The configuration through a stream socket, from natlab up to natlab-wire (the
 * same build): 0, or -1 on a short read or write (a wire gone: EPIPE, no signal). */
int wire_config_write(const struct wire_config *c, int fd);
int wire_config_read(struct wire_config *c, int fd);
/* Runs the wire in the current network namespace until SIGTERM, SIGINT or SIGHUP
 * (which the caller has blocked): makes its packet socket, reads its configuration
 * from config_fd (wire_config_write's), opens its ports and writes one byte to
 * ready_fd once it forwards. */
int wire_run(int config_fd, int ready_fd);

#endif
