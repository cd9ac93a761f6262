/* The rendezvous server's state, shared by its parts: connections
 * (server_clients.c), the attempt table (server_attempts.c) and the loop
 * (server.c). */
#ifndef NATLAB_SERVER_H
#define NATLAB_SERVER_H

#include <netinet/in.h>
#include <stdint.h>
#include <time.h>

#include "../common/timing.h"
#include "protocol.h"
#include "stun.h"

#define MAX_CLIENTS 4096

struct limits {
	int hello_s;    /* a new connection says HELLO within this */
	int partner_s;  /* a registered side waits this long for its partner */
	int idle_s;     /* after GO: this long without a line closes */
	int per_source; /* connections from one address */
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
};

struct attempt {
	int used;
	char id[PROTO_TOKEN_MAX];
	char secret[PROTO_SECRET_MAX + 1];
	int client[2]; /* index, -1 */
	struct sockaddr_in udp[2];
	int has_udp[2];
	int needs_udp;
	int go_sent;
};

struct server {
	int lfd, ufd, ep;
	struct sockaddr_in ep_addr; /* where lfd and ufd are bound */
	bool stun_on;
	struct stun_server stun;
	int max_clients, n_clients;
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
void accept_clients(struct server *s);
void expire(struct server *s, time_t now);
int client_room(void);

/* A client's line: HELLO registers it in an attempt, RELAY goes to its partner. */
void handle_line(struct server *s, int ci, const char *line);
void read_udp(struct server *s);

#endif
