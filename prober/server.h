/* The rendezvous server's state, shared by its parts: connections
 * (server_clients.c), the attempt table (server_attempts.c) and the loop
 * (server.c). */
#ifndef NATLAB_SERVER_H
#define NATLAB_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "../common/timing.h"
#include "protocol.h"
#include "stun.h"

#define MAX_CLIENTS 4096
/* probes (server_probes.c) */
#define PROBES_PER_CONNECTION 16
/* natlab classify runs three at once; two hosts behind one NAT, six */
#define PROBES_PER_SOURCE 8
#define PROBES_IN_FLIGHT 64
/* SYNLIFE holds its two descriptors for its wait (seconds, not one round trip):
 * counted apart, so that it leaves the others theirs; classify's rounds take 8
 * at once */
#define SYNLIFES_PER_SOURCE 8
#define SYNLIFES_IN_FLIGHT 32
/* descriptors kept beside the clients': the loop's, the STUN side's UDP sockets
 * and TCP listeners (4 per address), two per probe in flight */
#define FD_RESERVE (16 + 4 * STUN_MAX_ADDRS + 2 * (PROBES_IN_FLIGHT + SYNLIFES_IN_FLIGHT))

struct limits {
	int hello_s;    /* a new connection says HELLO within this */
	int partner_s;  /* a registered side waits this long for its partner */
	int idle_s;     /* after GO: this long without a line closes */
	int per_source; /* connections from one address */
};

struct outbound_seen {
	int n[2]; /* TCP, UDP */
	uint16_t port[2][PROBE_OUTBOUND_PORTS];
};

struct client {
	int fd; /* -1: free */
	char buf[PROTO_LINE_MAX];
	size_t len;
	int64_t stamp;   /* when the kernel received what buf holds last, real ns */
	time_t since;    /* connected */
	time_t deadline; /* the next step is due by then, or the connection closes */
	struct in_addr from;
	int attempt; /* -1 until HELLO */
	int side;
	bool stun;   /* it speaks STUN (its first byte said so), not lines */
	bool spoken; /* it has sent something: its first byte is behind it */
	/* PROBE (natlab classify's server-side tests), before any HELLO */
	int probe_fd;  /* -1: none in flight */
	int probe_aux; /* SYNSENT, SYNLIFE: the listener that swallows the asker's SYN;
			* OUTBOUND: the raw UDP socket (probe_fd the raw TCP one); -1 */
	struct outbound_seen *seen; /* OUTBOUND: the ports reached so far */
	enum probe_kind probe_kind;
	uint16_t probe_port; /* SYNSENT, SYNLIFE: that listener's port */
	bool probe_syn_seen; /* SYNSENT, SYNLIFE: the asker's SYN came (SYNSENT: the server's went) */
	/* SYNLIFE: the SYN-ACK is due probe_seconds after the asker's SYN, to where it
	 * came from (peer) from where it went (self), acknowledging its seq (isn) */
	unsigned probe_seconds;
	bool probe_synack_sent;
	uint32_t probe_isn;
	struct sockaddr_in probe_peer, probe_self;
	int64_t probe_until; /* monotonic ns */
	int64_t idle_until;  /* PROBE IDLE: monotonic ns when it says alive; 0: none */
	int probes;
};

struct attempt {
	int used;
	char id[PROTO_TOKEN_MAX];
	char secret[PROTO_SECRET_MAX + 1];
	int client[2]; /* index, -1 */
	struct sockaddr_in udp[2];
	int has_udp[2];
	int brings_udp[2]; /* that side's strategy brings a UDP socket: both must, for a UDP wait */
	int go_sent;
	int timed_relay;  /* dcutr: its relay messages' holds are in its schedule */
	unsigned lead_ms; /* the larger of the sides' HELLO LEAD: GO's start that much further off */
	int64_t udp_until; /* monotonic ns: GO without the missing UDP endpoint then; 0: not waiting */
};

struct server {
	int lfd, ufd, ep;
	struct sockaddr_in ep_addr; /* where lfd and ufd are bound */
	bool stun_on;
	struct stun_server stun;
	int max_clients, n_clients, n_probes;
	int n_synlifes; /* of n_probes, SYNLIFEs: their own caps */
	int n_udp_waits; /* attempts with udp_until set */
	int n_idles;     /* connections with idle_until set */
	struct limits lim;
	struct client *c;
	struct attempt *a; /* as many as clients: each attempt has one */
	struct timing tm;
};

void say(struct server *s, int ci, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void drop_client(struct server *s, int ci);
void refuse(struct server *s, int ci, const char *why);
/* now, monotonic, in whole seconds: the deadlines' clock */
time_t now_s(void);
void read_client(struct server *s, int ci);
/* new connections on listener fd: the rendezvous's or a STUN one */
void accept_clients(struct server *s, int fd);
void expire(struct server *s, time_t now);
int client_room(void);

/* A client's line: HELLO registers it in an attempt, RELAY goes to its partner. */
void handle_line(struct server *s, int ci, const char *line);
void read_udp(struct server *s);
/* The UDP wait of an attempt (PROTO_UDP_WAIT_NS): ended (GO, or a side left); swept */
void udp_wait_end(struct server *s, struct attempt *a);
void udp_waits_sweep(struct server *s);

/* epoll tags: a client's connection is its index, its probe's socket this */
#define TAG_PROBE(ci) ((uint32_t)(MAX_CLIENTS + (ci)))
/* PROBE: a datagram or a SYN to the asker's own address, at the port it names */
void probe_start(struct server *s, int ci, const struct msg *m);
/* its socket has news: an ICMP error, an RST, an answer */
void probe_event(struct server *s, int ci);
/* says "none" for each probe whose second is up */
void probe_sweep(struct server *s);
/* says "PROBED IDLE alive" on each connection whose idle time is up */
void idle_sweep(struct server *s);
/* ends a probe, saying `outcome` unless NULL (the connection is going) */
void probe_end(struct server *s, int ci, const char *outcome);

#endif
