/* A bare TCP segment (a header, no options, no data) for a raw socket, where
 * natlab classify and its server need one segment that no socket of theirs
 * would send: the asker's one SYN whose entry's life the server times, and the
 * server's SYN-ACK to it (classify/lifetime.c, prober/server_probes.c). */
#ifndef NATLAB_TCPSEG_H
#define NATLAB_TCPSEG_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>

/* from:port -> to:port (network order in the sockaddrs), seq and ack in host
 * order, flags TH_SYN, TH_ACK, ...; the checksum over the IPv4 pseudo-header */
void tcpseg_make(struct tcphdr *t, const struct sockaddr_in *from, const struct sockaddr_in *to, uint32_t seq,
		 uint32_t ack, uint8_t flags);

#endif
