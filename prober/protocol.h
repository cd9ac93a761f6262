/* The rendezvous line protocol (prober/PROTOCOL.md): parsing and formatting. */
#ifndef NATLAB_PROTOCOL_H
#define NATLAB_PROTOCOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include "../common/strategy.h"

#define PROTO_LINE_MAX 512
#define PROTO_TOKEN_MAX 64
/* HELLO's LEAD: the most a peer may ask the start to be ahead of GO (a program's start-up) */
#define PROTO_LEAD_MAX_MS 10000
/* an attempt's secret: 16 to 32 random bytes in lowercase hex, shared by its two
 * peers and no one else; the server knows an attempt by its id and secret together */
#define PROTO_SECRET_MIN 32
#define PROTO_SECRET_MAX 64
/* The server passes a RELAY line on this long after the kernel received it (and
 * dcutr's side 1 answers that long after): a fixed time that a timed round trip
 * can take out again, where a wake-up on a loaded host would differ each time.
 * Longer than the server's wake-up in a suite: at 1 ms, 38 of dcutr's ~2,500
 * holds in one suite left 0.3-2.8 ms late (the server, below the wires' priority,
 * woke up to 3.8 ms after the message came); at 3 ms, 11, most of them late in
 * the hold's last spin, which no hold outlasts (2026-12-02). */
#define PROTO_RELAY_HOLD_NS 3000000
/* Both sides here over TCP, a UDPHELLO still missing: GO goes out this long after
 * without it (0.0.0.0:0), where UDP is blocked a peer learns so at once */
#define PROTO_UDP_WAIT_NS 1000000000LL

enum msg_type { MSG_HELLO, MSG_UDPHELLO, MSG_RELAY, MSG_SEEN, MSG_GO, MSG_ERR, MSG_PROBE, MSG_PROBING, MSG_PROBED };

/* what a PROBE sends toward the asker: a datagram, a SYN (from the server's other
 * address: ALTSYN), or (SYNSENT) a SYN from the port the asker's own SYN went to,
 * while the NAT's entry is in SYN_SENT; OUTBOUND sends nothing and notes which
 * ports the asker's SYNs and datagrams reach; SYNLIFE answers the asker's one SYN
 * with a SYN-ACK that many seconds later */
enum probe_kind { PROBE_UDP, PROBE_SYN, PROBE_SYNSENT, PROBE_ALTSYN, PROBE_OUTBOUND, PROBE_IDLE, PROBE_SYNLIFE,
		  PROBE_KINDS };
/* IDLE: the server says PROBED IDLE alive on the idle connection this many
 * seconds on (at most), which reaches the asker while its NAT keeps the mapping */
#define PROBE_IDLE_MAX_S 600
/* SYNLIFE's wait at most: it holds two descriptors of the server's meanwhile
 * (classify asks 128 s at most) */
#define PROBE_SYNLIFE_MAX_S 300
/* OUTBOUND: how many ports of each protocol the server notes at most */
#define PROBE_OUTBOUND_PORTS 32
extern const char *const probe_kind_name[PROBE_KINDS];

struct msg {
	enum msg_type type;
	char attempt[PROTO_TOKEN_MAX];
	int side; /* 0 or 1 */
	char strategy[STRATEGY_NAME_MAX];
	unsigned lead_ms; /* HELLO: how long before the start the peer must know it (a program's start-up) */
	char secret[PROTO_SECRET_MAX + 1]; /* HELLO, UDPHELLO */
	char data[PROTO_LINE_MAX]; /* RELAY payload (hex), ERR text */
	struct sockaddr_in ep, peer_tcp, peer_udp; /* SEEN; GO */
	uint64_t start_ns;	      /* GO: wall-clock start, ns since the epoch */
	char nonce[33], peer_nonce[33];
	/* PROBE, PROBING, PROBED: what the server sent toward the asker's own address */
	enum probe_kind probe;
	unsigned seconds;   /* PROBE IDLE */
	uint16_t port;      /* PROBE: to this port of the asker's (0: its connection's);
			     * PROBING: the server's port (0: OUTBOUND) */
	char ports[2][PROBE_OUTBOUND_PORTS * 6 + 1]; /* PROBED OUTBOUND: TCP, UDP ports, "-" for none */
	char outcome[12];   /* PROBED: none, rst, answered, icmp; SYNSENT also nosyn, error */
	int icmp_type, icmp_code; /* PROBED icmp */
};

/* Parses one line (without its newline). Returns 0, or -1 with why set. */
int proto_parse(const char *line, struct msg *m, const char **why);
int proto_endpoint(const char *s, struct sockaddr_in *out);
/* `bytes` random bytes (at most PROTO_SECRET_MAX / 2) as lowercase hex into out
 * (2 * bytes + 1 chars): a secret or a nonce. -1 with errno when the kernel gives none. */
int proto_random_hex(char *out, size_t bytes);
/* n bytes as lowercase hex into out (2n + 1 chars): a RELAY payload */
void proto_hex(const void *bytes, size_t n, char *out);
/* hex (even length, no NUL byte in it) back to text in out (len with its NUL); -1 */
int proto_unhex(const char *hex, char *out, size_t len);
/* 0 when s is a secret as PROTO_SECRET_* say; -1 */
int proto_secret_ok(const char *s);
/* a and b equal, in time that does not depend on where they differ */
int proto_secret_eq(const char *a, const char *b);
void proto_fmt_endpoint(const struct sockaddr_in *a, char *buf, size_t len);

#endif
