/* The conntrack observer: a NAT's live mappings, read over ctnetlink (libmnl for
 * the socket, libnetfilter_conntrack for the messages). */
#ifndef NATLAB_CONNTRACK_H
#define NATLAB_CONNTRACK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/diag.h"

struct ct_tuple {
	struct in_addr src, dst;
	uint16_t sport, dport; /* host order */
};

struct ct_entry {
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, ... */
	struct ct_tuple orig, reply;
	uint32_t status;  /* IPS_* bits */
	uint32_t timeout; /* seconds left */
	int tcp_state;    /* -1 when not TCP */
};

/* A NAT mapping as the entry shows it: which inside endpoint got which outside one. */
struct ct_mapping {
	struct in_addr int_addr, ext_addr, remote_addr;
	uint16_t int_port, ext_port, remote_port;
	bool inbound; /* made by an inbound packet (dnat), not by the inside */
};

typedef int (*ct_entry_fn)(const struct ct_entry *e, void *arg);

/* Dumps the conntrack table of the namespace ns_fd (-1: the current one). */
int ct_dump(int ns_fd, ct_entry_fn fn, void *arg, struct diag *d);
/* Empties the table of namespace ns_fd (-1: the current one). */
int ct_flush(int ns_fd, struct diag *d);
/* Watching one NAT: every entry its conntrack confirms, as it happens (NEW
 * events), so that a run can find an attempt's mappings and forget them again
 * by tuple. A dump or a flush walks the machine-wide hash table (262144 buckets
 * here) with no break for anyone: measured 7-12 ms in which no other lab's
 * timer could fire on that core. */
struct ct_watch;
struct ct_watch *ct_watch_open(int ns_fd, struct diag *d);
void ct_watch_close(struct ct_watch *w);
/* fn for every entry made since the last ct_watch_forget. */
int ct_watch_each(struct ct_watch *w, ct_entry_fn fn, void *arg);
/* Deletes those entries from the table, each by its tuple, and forgets them;
 * -1 when some may have been missed (the caller flushes instead). */
int ct_watch_forget(struct ct_watch *w, struct diag *d);
/* Deletes, by tuple, the TCP entries made since the last forget that began in a state
 * other than SYN_SENT, and forgets them: conntrack picked them up from the middle of
 * a connection (tcp_loose), such as the last ACK of a closing one whose entry was
 * forgotten a moment before; such an entry makes the same tuple's next SYN invalid,
 * which then leaves the NAT untranslated. The number deleted, or -1 when a delete
 * failed (that entry stays watched, for the next forget). */
int ct_watch_forget_strays(struct ct_watch *w, struct diag *d);
/* Returns false for entries that are not NAT mappings. */
bool ct_entry_mapping(const struct ct_entry *e, struct ct_mapping *m);
const char *ct_tcp_state_name(int state);
const char *ct_proto_name(uint8_t proto);

#endif
