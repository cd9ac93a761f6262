/* natlab classify's tests over TCP (probes.c): the server's PROBEs, and STUN
 * bindings over TCP where UDP does not pass. */
#ifndef NATLAB_CLASSIFY_PROBES_H
#define NATLAB_CLASSIFY_PROBES_H

#include <netinet/in.h>
#include <stdbool.h>

#include "../common/libre.h"
#include "classify.h"

/* a verdict: its value ("" when no test could tell) and what the test saw */
void say(struct verdict *v, const char *value, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The server's probes from a control connection to server (its rendezvous port):
 * outbound_tcp/udp, udp_unsolicited, unsolicited_syn, filtering_tcp,
 * syn_in_syn_sent; tcp_reached when that connection was made. */
void server_probes(const struct sockaddr_in *server, struct classification *c);
/* a connected TCP socket to `to` within ms (blocking once connected), or -1 with
 * errno; bound first to `port` (SO_REUSEADDR, so that a listener can share it) */
int tcp_to(const struct sockaddr_in *to, uint16_t port, int ms);
/* one line from the server on fd, each byte within ms, without its newline;
 * false on timeout or close (buf then holds what came) */
bool line_from(int fd, char *buf, size_t len, int ms);
/* A STUN binding over a fresh TCP connection: its local and mapped endpoints; -1
 * (errno), -2 where the connection itself was not made. */
int tcp_binding(const struct re_api *re, const struct sockaddr_in *server, struct sockaddr_in *local,
		struct sockaddr_in *mapped);

#endif
