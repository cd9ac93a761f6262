/* The rendezvous server's STUN side: binding requests (RFC 8489) with RFC 5780's
 * OTHER-ADDRESS, RESPONSE-ORIGIN and CHANGE-REQUEST, on every IPv4 address of the
 * host at a primary and an alternate port, so that any RFC 5780 client (natlab
 * classify among them) can tell a NAT's mapping and filtering. The codec is
 * libre's; this file picks the answer and the socket it leaves from. */
#ifndef NATLAB_STUN_H
#define NATLAB_STUN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/libre.h"

#define STUN_PORT 3478
#define STUN_MAX_ADDRS 16
#define STUN_ANSWER_MAX 256

struct stun_server {
	struct re_api re; /* loaded at the first STUN message (stuns_load) */
	bool re_failed;   /* and said so, once */
	uint16_t port[2]; /* primary, alternate (primary + 1) */
	struct in_addr addr[STUN_MAX_ADDRS]; /* the host's, the rendezvous address first */
	int n_addr;
	/* sock[a][p]: bound to addr[a] at port[p], each of its own (no SO_REUSEADDR: no
	 * other local user can bind beside it and read what comes); where the
	 * rendezvous's UDP socket is bound there (or to any address at port[p]),
	 * that one, shared and not owned */
	int sock[STUN_MAX_ADDRS][2];
	bool own[STUN_MAX_ADDRS][2];
	/* TCP listeners likewise (STUN over TCP, RFC 8489 6.2); where the
	 * rendezvous listens, its own (-1 here): a connection says which it speaks
	 * by its first byte */
	int lsock[STUN_MAX_ADDRS][2];
};
/* a socket of the STUN side by one number: a * 2 + p */
#define STUN_SOCKS (STUN_MAX_ADDRS * 2)

struct stun_answer {
	uint8_t buf[STUN_ANSWER_MAX];
	size_t len;
	int port; /* index into port[]: the socket it leaves from */
	struct in_addr src;
	uint16_t to_port; /* RESPONSE-PORT (RFC 5780 7.5): the asker's port it goes to; 0: the one it came from */
};

/* Opens the STUN side at `port` and port + 1 on every address of the host, UDP
 * and TCP; the rendezvous's UDP socket `shared`, bound to rv, serves where it is
 * bound, as its TCP listener does. -1 with d saying why. */
int stuns_open(struct stun_server *st, uint16_t port, int shared, const struct sockaddr_in *rv,
	      struct diag *d);
void stuns_close(struct stun_server *st);

/* RFC 7983's test: the first two bits zero and the magic cookie in place */
bool stuns_looks_like(const void *buf, size_t n);

/* libre, loaded the first time a STUN message comes: a server that never gets
 * one (natlab run's) never pays for it (4-5 ms of page faults, libcrypto's
 * mostly, under mlockall). False when it cannot be had, said once on stderr. */
bool stuns_load(struct stun_server *st);

/* The answer to message `req` from `from`, which came to address `to` at
 * port[port] over UDP or (tcp) a TCP connection; false: none is due (not a
 * well-formed binding request). Over TCP the answer goes back on the
 * connection, so a CHANGE-REQUEST there gets 400 (RFC 5780, 7.2). */
bool stuns_answer(const struct stun_server *st, const uint8_t *req, size_t n, const struct sockaddr_in *from,
		  struct in_addr to, int port, bool tcp, struct stun_answer *a);
/* the index into port[] of a local port, -1 for neither */
int stuns_port_index(const struct stun_server *st, uint16_t port);

/* recvfrom that also tells the address the datagram came to (IP_PKTINFO) */
ssize_t stuns_recv(int fd, void *buf, size_t len, struct sockaddr_in *from, struct in_addr *to);
/* answers one STUN datagram received on port[port] */
void stuns_reply(struct stun_server *st, const uint8_t *req, size_t n,
		const struct sockaddr_in *from, struct in_addr to, int port);
/* reads the STUN side's own socket k (a * 2 + p), answering: a bounded batch, so
 * that a flood on it does not keep the server's loop from the rest */
void stuns_read(struct stun_server *st, int k);

#endif
