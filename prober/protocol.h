/* The rendezvous line protocol (prober/PROTOCOL.md): parsing and formatting. */
#ifndef NATLAB_PROTOCOL_H
#define NATLAB_PROTOCOL_H

#include <netinet/in.h>
#include <stdint.h>

#define PROTO_LINE_MAX 512
#define PROTO_TOKEN_MAX 64
/* The server passes a RELAY line on this long after the kernel received it (and
 * dcutr's side 1 answers that long after): a fixed time that a timed round trip
 * can take out again, where a wake-up on a loaded host would differ each time. */
#define PROTO_RELAY_HOLD_NS 1000000

enum msg_type { MSG_HELLO, MSG_UDPHELLO, MSG_RELAY, MSG_SEEN, MSG_GO, MSG_ERR };

struct msg {
	enum msg_type type;
	char attempt[PROTO_TOKEN_MAX];
	int side; /* 0 or 1 */
	char strategy[16];
	char data[PROTO_LINE_MAX]; /* RELAY payload (hex), ERR text */
	struct sockaddr_in ep, peer_tcp, peer_udp; /* SEEN; GO */
	uint64_t start_ns;	      /* GO: wall-clock start, ns since the epoch */
	char nonce[33], peer_nonce[33];
};

/* Parses one line (without its newline). Returns 0, or -1 with why set. */
int proto_parse(const char *line, struct msg *m, const char **why);
int proto_endpoint(const char *s, struct sockaddr_in *out);
void proto_fmt_endpoint(const struct sockaddr_in *a, char *buf, size_t len);

#endif
