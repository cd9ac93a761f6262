/* What the files of the wire share: its frames, its state, and the steps of the
 * forwarding loop (wire.c) that live in files of their own. Not for outside wire/. */
#ifndef NATLAB_WIRE_INTERNAL_H
#define NATLAB_WIRE_INTERNAL_H

#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "../common/libpcap.h"
#include "../common/timing.h"
#include "wire.h"

#define FRAME_MAX 2048
/* a GSO super-frame: an IPv4 packet of up to 64 KB and its Ethernet header */
#define GSO_FRAME_MAX (65536 + 64)
#define BATCH 32
#define MAC_MAX 256

struct frame {
	uint64_t t; /* monotonic ns: when it leaves (sends) or reaches the core (records) */
	uint64_t seq;
	int out;    /* output port; for records: the destination port or -1 (flooded) */
	int in;
	int kind;   /* records: which event it is, 0 for none */
	bool lost;  /* records: lost on its link before the core (events log only) */
	bool at_once; /* sends: due as it came (no delay on either link) */
	uint32_t len;
	struct virtio_net_hdr vh; /* offloads: GSO, a checksum left to finish */
	unsigned char data[];
};

struct heap {
	struct frame **v;
	size_t n, cap;
};

struct port_state {
	int ifindex;
	uint64_t rng;
	uint64_t last_core, last_out; /* FIFO per link and direction (out of the node, into it) */
	uint64_t free_core, free_out; /* rate_bps: when the link is done sending, each direction */
};

/* A packet socket's receive ring (ports.c) */
struct ring {
	int fd;            /* the socket it belongs to */
	unsigned char *map;
	size_t len, frame; /* the mapping; a frame's slot (in blocks of RING_BLOCK) */
	unsigned per_block, n, head; /* slots in a block, in all; the next one filled */
};

struct ringswap;

struct wire {
	const struct wire_config *c;
	int fd; /* one AF_PACKET socket for every port: one RCU wait to open and close */
	struct port_state ps[LAB_MAX_NODES];
	unsigned fault_hits[LAB_MAX_FAULTS];
	struct {
		unsigned char mac[6];
		int port;
	} macs[MAC_MAX];
	int n_macs;
	struct heap out, rec;
	uint64_t seq;
	int64_t wall_offset; /* realtime - monotonic, ns */
	struct pcap_api pc; /* loaded for a capture only */
	pcap_t *pcap;
	pcap_dumper_t *dump;
	FILE *events;
	/* frames are read where the kernel put them, in the receive ring (below), and
	 * sent from there when due at once; only a frame that waits is copied. A frame
	 * too large for its slot, and every frame where there is no ring, is read into
	 * bufs (BATCH of frame_max) instead */
	unsigned char *bufs;
	size_t frame_max;
	struct ring ring;
	/* the ring being made beside the running wire (ringswap.c); NULL once it took
	 * over, or there is none to wait for. Till then fd is read by recvmmsg too */
	struct ringswap *swap;
	struct virtio_net_hdr rx_vh[BATCH];
	struct {
		struct mmsghdr msgs[BATCH];
		struct iovec iov[BATCH][2];
		struct sockaddr_ll to[BATCH];
		struct virtio_net_hdr vh[BATCH];
		struct frame *own[BATCH]; /* freed once sent; NULL: it lives in the ring or bufs */
		int port[BATCH];
		uint64_t t[BATCH];
		bool at_once[BATCH]; /* due as it came: counted in at_once_us */
		int n;
	} tx;
	struct timing tm;   /* wake early by the lateness seen, spin the rest */
	bool realtime;
	unsigned synced; /* SIGUSR1s answered: everything received before each is recorded */
	/* the latest a SYN or SYN-ACK left since the last of them: a SYN late past the
	 * model's band moves a window's edge, and the attempt is judged by it */
	uint64_t syn_late_max_us;
	/* how late each frame left against its time; written to stats_path */
	uint32_t late_us[WIRE_LATE_BUCKETS];
	uint32_t at_once_us[WIRE_AT_ONCE_BUCKETS]; /* frames due as they came */
	uint64_t sent, rx_stamped, rx_unstamped;
	uint64_t rx_dropped; /* frames the kernel dropped before the wire read them */
	bool stats_dirty;
	int out_err; /* the first error writing the capture or the events: they stop there */
	uint64_t stats_written; /* monotonic ns */
	int stats_fd;
	size_t stats_len;
	/* every bucket "[9999,4294967295]," */
	char stats_buf[(WIRE_LATE_BUCKETS + WIRE_AT_ONCE_BUCKETS) * 18 + 256];
};

static inline uint64_t mono_ns(void)
{
	return (uint64_t)timing_now(CLOCK_MONOTONIC);
}

enum event_kind { EV_NONE, EV_SYN, EV_SYNACK, EV_RST, EV_ICMP };

struct pkt_info {
	int match_bits; /* 1 << enum fault_match for every class the frame is in */
	int event;
	struct in_addr src, dst;
	uint16_t sport, dport;
	uint8_t proto, icmp_type, icmp_code;
};

/* frame.c: frames and the heaps that hold them in time order */
int heap_push(struct heap *h, struct frame *f);
struct frame *heap_pop(struct heap *h);
struct frame *frame_new(struct wire *w, const struct virtio_net_hdr *vh,
			const unsigned char *data, size_t len);
/* packet.c: what a frame is, and what the core does to it */
void classify(const unsigned char *d, size_t len, struct pkt_info *pi);
void csum_finish(struct frame *f);
bool hop(unsigned char *data, size_t len);
/* impair.c: a link's loss, faults, delay and jitter */
bool link_cross(struct wire *w, const struct pkt_info *pi, int port, bool inbound, size_t len, uint64_t *t);
/* A frame into the node at `port` sent twice (duplicate)? */
bool link_duplicates(struct wire *w, int port);
/* forward.c: the switch */
void mac_learn(struct wire *w, const unsigned char *mac, int port);
void wire_ingress(struct wire *w, int in, const struct virtio_net_hdr *vh,
		  unsigned char *data, size_t len, uint64_t rx, uint64_t now);
void send_due(struct wire *w, uint64_t now);
/* ports.c: the packet socket */
void tx_flush(struct wire *w);
void tx_add(struct wire *w, int out, const struct virtio_net_hdr *vh, unsigned char *data,
	    size_t len, uint64_t t, bool at_once, struct frame *own);
/* the socket and its ring (before the configuration), then bound to the ports */
int ports_socket(struct wire *w);
int open_ports(struct wire *w);
/* a ring on socket fd (which has its virtio_net_hdr): 0, or -1 with errno */
int ring_make(struct ring *r, int fd);
void ring_free(struct ring *r);
/* the one log line for a wire without a ring, and why */
void say_no_ring(const char *why);
/* its options, on every socket the wire reads: PACKET_VNET_HDR, the buffer */
int socket_prepare(int fd);
/* bound to every port, with the options the wire reads and sends by */
int socket_bind(int fd);
/* Without a ring: frames read from w->fd by recvmmsg. */
void read_socket(struct wire *w);
/* ringswap.c: the ring made while the wire already forwards (the grace periods
 * making it and changing sockets take are spent in a thread of its own) */
int ringswap_start(struct wire *w);
/* w->fd bound: it forms the group the ring's socket joins; -1 if it cannot */
int ringswap_group(struct wire *w);
/* what the thread reported since the last look: a ring to read too, the switch */
void ringswap_take(struct wire *w);
/* the descriptor to poll for its reports, -1 for none */
int ringswap_fd(const struct wire *w);
/* whether it has news (cheap: read in the spin) */
bool ringswap_news(const struct wire *w);
void close_ports(struct wire *w);
void read_ports(struct wire *w);
/* capture.c: the capture and the events log */
void flush_records(struct wire *w, uint64_t now, bool all);
/* stats.c: the figures for natlab run */
void write_stats(struct wire *w, uint64_t now);

#endif
