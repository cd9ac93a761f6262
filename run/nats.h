/* Where the pair's hosts sit in the lab, and what the NATs above them hold. */
#ifndef NATLAB_RUN_NATS_H
#define NATLAB_RUN_NATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../natsim/conntrack.h"
#include "../scenario/scenario.h"

/* A node's first address without its prefix length. */
const char *addr_of(const struct lab_node *n, char *buf, size_t len);
int nat_above(const struct scenario *s, int host);
int outermost(const struct scenario *s, int node);
/* The one-way delay of the link the host's site hangs on the internet by. */
double link_delay(const struct scenario *s, int host);
void wire_endpoint(const struct scenario *s, const char *id, struct ct_watch *const *watch, int host,
		   uint16_t port, const char *peer_ep, uint8_t proto, char *out, size_t len,
		   int *ext, int *n_ext);
/* Until every FIN the pair's hosts and the server sent is acknowledged, or patience_ms. */
void hosts_wait_acked(const struct scenario *s, const char *id, double patience_ms);
void flush_nats(const struct scenario *s, const char *id, struct ct_watch *const *watch);
int forget_strays(const struct scenario *s, struct ct_watch *const *watch);
void watch_nats(const struct scenario *s, const char *id, struct ct_watch **watch);

#endif
