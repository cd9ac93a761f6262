/* The peer's state, and what its strategies share: the rendezvous connection,
 * the dial's helpers, the times a report carries. */
#ifndef NATLAB_PEER_H
#define NATLAB_PEER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "../common/timing.h"
#include "../natsim/profile.h"
#include "protocol.h"

struct peer {
	struct sockaddr_in server;
	const char *attempt, *strategy, *secret;
	int side;
	int64_t offset_ns, clock_offset_ns;
	double deadline_s;
	int rv, udp;
	char rbuf[PROTO_LINE_MAX];
	size_t rlen;
	int64_t rstamp; /* real time the kernel received what rbuf holds last */
	uint16_t port, udp_port;
	uint16_t local_port; /* asked for; 0: the kernel's choice */
	struct msg seen, go;
	/* what happened */
	const char *outcome;
	int err;
	double connect_ms;
	unsigned syn_retrans, tries;
	bool nonce_ok;
	double start_real;
	double relay_rtt_ms; /* dcutr: the round trip it measured through the relay */
	double rendezvous_ms; /* from its connect to the server to GO, less a gate's wait */
	/* --gate (natlab-probe peers only): connected, say so on stdout and wait for
	 * a "go" line on stdin before HELLO (natlab run's opening starts there) */
	bool gated;
	int low_ttl;         /* lowttl: a TTL that passes this side's NATs and no more */
	/* when the first SYN (or datagram) was meant to leave and when it did, real
	 * time in ns; 0 where there is no schedule */
	int64_t syn_sched, syn_sent;
	/* a dialling strategy's sockets, made and bound before its instant (punch_prepare),
	 * so that only listen() and connect() are left at it; -1 until then */
	int dial_fd, listen_fd;
	struct timing tm;
	bool realtime;
	/* auto: its own classification (--profile), what the two sides swapped, what
	 * it picked and when; `asked` is the strategy it was started with, as
	 * `strategy` becomes the pick */
	const char *asked;
	struct nat_profile own;
	char class_mine[256], class_theirs[256];
	char decision[16];
	double decide_ms;
	/* relay through a TURN server (--turn) instead of the rendezvous; which carried it */
	bool use_turn;
	struct sockaddr_in turn;
	const char *turn_user, *turn_password;
	const char *relay_via;
	/* natlab run's build lock (NATLAB_BUILD_LOCK), held shared around this side's
	 * first SYN: no lab is built or torn down beside it meanwhile; -1 */
	int window_fd;
	double window_until; /* monotonic s: let go then (0: not yet known) */
	/* exec:NAME: the user's command (sh -c), its folder, its exit status and the
	 * last line it printed */
	const char *command, *cwd;
	int64_t lead_ns; /* started this much ahead of its instant (--lead-ms) */
	int program_exit;
	char program_last[1024];
	/* lines its signalling channel passed each way, and those it could not */
	unsigned signal_sent, signal_received, signal_dropped;
};

void mark_sent(struct peer *p);
/* now, monotonic, in seconds */
double mono(void);
/* a socket of `type` bound to `port` (0: any) with SO_REUSEADDR + SO_REUSEPORT; -1 */
int reuse_socket(int type, uint16_t port);
int read_line(int fd, char *buf, size_t *len, size_t cap, char *line, double until,
	      int64_t *stamp);
/* TCP_INFO's tcpi_total_retrans of fd; 0 */
unsigned total_retrans(int fd);
bool exchange_nonce(struct peer *p, int fd);
bool relay_wait(struct peer *p, const char *want, double until);
/* waits for GO's start time (plus this side's offset), by this host's clock */
void wait_start(struct peer *p);
/* lets the build lock go once its time is up (now, with force) */
void window_end(struct peer *p, bool force);

#endif
