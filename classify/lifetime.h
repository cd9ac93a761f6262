/* How long a NAT keeps a UDP mapping (natlab classify --timeouts). */
#ifndef NATLAB_LIFETIME_H
#define NATLAB_LIFETIME_H

#include <netinet/in.h>

#include "../common/libre.h"
#include "classify.h"

/* Runs its own rounds of libre's loop (libre set up by the caller); the
 * lifetime in s into v (no value when not found: v->evidence says why). */
void udp_lifetime(const struct re_api *re, const struct sockaddr_in *server, const struct stun_conf *conf,
		  struct verdict *v);
/* How long an idle established TCP connection's mapping lives: the server's
 * PROBE IDLE T on fresh connections side by side, rounds as udp_lifetime's. */
void tcp_lifetime(const struct sockaddr_in *server, struct verdict *v);
/* How long an unanswered SYN's entry lives (tcp_syn_sent_timeout): one SYN on
 * a raw socket, the server's SYN-ACK (PROBE SYNLIFE T) T s after it, rounds as
 * tcp_lifetime's. Needs CAP_NET_RAW and CAP_NET_ADMIN (TCP_REPAIR). */
void tcp_syn_sent_lifetime(const struct sockaddr_in *server, struct verdict *v);

#endif
