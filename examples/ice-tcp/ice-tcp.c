/* ICE-TCP (RFC 6544) between the two sides of a natlab attempt, by libnice: TCP
 * candidates only, swapped as SDP lines over natlab's signalling descriptor
 * (NATLAB_SIGNAL_FD, docs/programs.md). Exit 0 once a pair is selected and each
 * side's hello crossed it. The last line says what it gathered, what the partner
 * offered and the pair chosen, for the record:
 *   {"path": "direct", "state": "ready", "local": {"active": 1, "passive": 1, "so": 0,
 *    "srflx": 0, "relay": 0}, "remote": {...}, "pair": "A:P active > B:Q passive"}
 * Run by examples/ice-tcp.ini as exec:ice-tcp beside natlab's own so. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <agent.h>
#include <glib-unix.h>
#include <glib.h>

/* candidates by what they are: TCP type and, for those not on the host, kind */
struct tally {
	unsigned active, passive, so, srflx, relay;
};

struct ice {
	GMainLoop *loop;
	NiceAgent *agent;
	guint stream;
	int sig;
	char inbuf[4096];
	size_t inlen;
	GString *remote; /* the partner's SDP, until its "." line */
	bool sent_hello, got_hello;
	const char *node, *peer;
	const char *state, *error;
	struct tally local, theirs;
	char pair[160];
	int exit_code;
	bool finished;
	guint hello_timer;
};

static void tally_sdp(struct tally *t, const char *sdp)
{
	for (const char *l = sdp; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n');
		char line[512];
		size_t n = end ? (size_t)(end - l) : strlen(l);

		if (strncmp(l, "a=candidate:", 12) || n >= sizeof(line))
			continue;
		memcpy(line, l, n);
		line[n] = '\0';
		t->srflx += strstr(line, " typ srflx") != NULL;
		t->relay += strstr(line, " typ relay") != NULL;
		t->active += strstr(line, " tcptype active") != NULL;
		t->passive += strstr(line, " tcptype passive") != NULL;
		t->so += strstr(line, " tcptype so") != NULL;
	}
}

static void print_tally(const char *name, const struct tally *t)
{
	printf("\"%s\": {\"active\": %u, \"passive\": %u, \"so\": %u, \"srflx\": %u, \"relay\": %u}", name,
	       t->active, t->passive, t->so, t->srflx, t->relay);
}

static gboolean quit(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

/* the last line natlab keeps, then out */
static void finish(struct ice *ice, int code, const char *error)
{
	if (ice->finished)
		return;
	ice->finished = true;
	if (ice->hello_timer)
		g_source_remove(ice->hello_timer);
	ice->hello_timer = 0;
	if (!ice->error)
		ice->error = error;
	ice->exit_code = code;
	printf("{\"path\": \"%s\", \"state\": \"%s\", ", code ? "none" : "direct", ice->state);
	print_tally("local", &ice->local);
	printf(", ");
	print_tally("remote", &ice->theirs);
	printf(", \"pair\": \"%s\"", ice->pair);
	if (ice->error)
		printf(", \"error\": \"%s\"", ice->error);
	printf("}\n");
	fflush(stdout);
	if (code)
		g_main_loop_quit(ice->loop);
	else /* our hello may still be in libnice's queue: a moment to send it */
		g_timeout_add(300, quit, ice->loop);
}

static const char *tcp_type(const NiceCandidate *c)
{
	switch (c->transport) {
	case NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE:
		return "active";
	case NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE:
		return "passive";
	case NICE_CANDIDATE_TRANSPORT_TCP_SO:
		return "so";
	default:
		return "udp";
	}
}

static void send_line(struct ice *ice, const char *line, size_t n)
{
	if (write(ice->sig, line, n) != (ssize_t)n || write(ice->sig, "\n", 1) != 1)
		fprintf(stderr, "ice-tcp: signalling: %s\n", strerror(errno));
}

/* our SDP, a line at a time, and "." after it */
static void on_gathered(NiceAgent *agent, guint stream, gpointer data)
{
	struct ice *ice = data;
	gchar *sdp = nice_agent_generate_local_sdp(agent);

	tally_sdp(&ice->local, sdp);
	for (char *l = sdp, *end; l && *l; l = end ? end + 1 : NULL) {
		end = strchr(l, '\n');
		send_line(ice, l, end ? (size_t)(end - l) : strlen(l));
	}
	send_line(ice, ".", 1);
	g_free(sdp);
}

/* our hello over the selected pair, again every 100 ms until the partner's came */
static gboolean hello(gpointer data)
{
	struct ice *ice = data;
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "hello from %s", ice->node);

	if (ice->finished)
		return G_SOURCE_REMOVE;
	if (nice_agent_send(ice->agent, ice->stream, 1, (guint)n, msg) == n)
		ice->sent_hello = true;
	if (ice->sent_hello && ice->got_hello) {
		finish(ice, 0, NULL);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
	struct ice *ice = data;
	NiceCandidate *mine, *theirs;

	ice->state = nice_component_state_to_string(state);
	if (state == NICE_COMPONENT_STATE_READY && !ice->hello_timer) {
		if (nice_agent_get_selected_pair(agent, stream, component, &mine, &theirs)) {
			char a[NICE_ADDRESS_STRING_LEN], b[NICE_ADDRESS_STRING_LEN];

			nice_address_to_string(&mine->addr, a);
			nice_address_to_string(&theirs->addr, b);
			snprintf(ice->pair, sizeof(ice->pair), "%s:%u %s > %s:%u %s", a,
				 nice_address_get_port(&mine->addr), tcp_type(mine), b,
				 nice_address_get_port(&theirs->addr), tcp_type(theirs));
		}
		ice->hello_timer = g_timeout_add(100, hello, ice);
		hello(ice);
	} else if (state == NICE_COMPONENT_STATE_FAILED) {
		finish(ice, 1, "ICE failed: no pair answered its checks");
	}
}

static void on_data(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	struct ice *ice = data;
	char want[64];
	int n = snprintf(want, sizeof(want), "hello from %s", ice->peer);

	if (len == (guint)n && !memcmp(buf, want, len)) {
		ice->got_hello = true;
		if (ice->sent_hello)
			finish(ice, 0, NULL);
	}
}

/* the partner's SDP lines; at its "." the lot goes to the agent */
static gboolean on_signal(gint fd, GIOCondition cond, gpointer data)
{
	struct ice *ice = data;
	ssize_t n = read(fd, ice->inbuf + ice->inlen, sizeof(ice->inbuf) - ice->inlen);
	char *start = ice->inbuf, *nl;

	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return G_SOURCE_CONTINUE;
		finish(ice, 1, "signalling closed before the partner's candidates came");
		return G_SOURCE_REMOVE;
	}
	ice->inlen += (size_t)n;
	while ((nl = memchr(start, '\n', ice->inlen - (size_t)(start - ice->inbuf)))) {
		*nl = '\0';
		if (!strcmp(start, ".")) {
			tally_sdp(&ice->theirs, ice->remote->str);
			if (nice_agent_parse_remote_sdp(ice->agent, ice->remote->str) < 0)
				finish(ice, 1, "the partner's SDP did not parse");
		} else {
			g_string_append_printf(ice->remote, "%s\n", start);
		}
		start = nl + 1;
	}
	ice->inlen -= (size_t)(start - ice->inbuf);
	memmove(ice->inbuf, start, ice->inlen);
	if (ice->inlen == sizeof(ice->inbuf)) {
		finish(ice, 1, "a signalling line too long");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_deadline(gpointer data)
{
	struct ice *ice = data;

	if (ice->finished) /* done, lingering for its hello: out before natlab's SIGTERM */
		g_main_loop_quit(ice->loop);
	finish(ice, 1, "no pair before the deadline");
	return G_SOURCE_REMOVE;
}

static const char *need(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "ice-tcp: %s is not set: run me as a natlab exec: strategy\n", name);
		exit(2);
	}
	return v;
}

int main(void)
{
	struct ice ice = { .state = "gathering" };
	double start = atof(need("NATLAB_START")), deadline = atof(need("NATLAB_DEADLINE_S"));
	char server[64];
	char *colon;
	gint64 left_ms;

	ice.node = need("NATLAB_NODE");
	ice.peer = need("NATLAB_PEER");
	ice.sig = atoi(need("NATLAB_SIGNAL_FD"));
	snprintf(server, sizeof(server), "%s", need("NATLAB_RENDEZVOUS"));
	colon = strrchr(server, ':');
	if (colon)
		*colon = '\0';
	ice.remote = g_string_new(NULL);
	ice.loop = g_main_loop_new(NULL, FALSE);
	ice.agent = nice_agent_new(g_main_loop_get_context(ice.loop), NICE_COMPATIBILITY_RFC5245);
	/* TCP candidates only; side 0 controls. The lab's STUN server (natlab's
	 * rendezvous host answers STUN on 3478) is offered: libnice 0.1.21 gathers
	 * no server-reflexive TCP candidate from it, which the tally shows */
	g_object_set(ice.agent, "ice-udp", FALSE, "ice-tcp", TRUE, "controlling-mode",
		     atoi(need("NATLAB_SIDE")) == 0, "stun-server", server, "stun-server-port", 3478, NULL);
	g_signal_connect(ice.agent, "candidate-gathering-done", G_CALLBACK(on_gathered), &ice);
	g_signal_connect(ice.agent, "component-state-changed", G_CALLBACK(on_state), &ice);
	ice.stream = nice_agent_add_stream(ice.agent, 1);
	nice_agent_attach_recv(ice.agent, ice.stream, 1, g_main_loop_get_context(ice.loop), on_data, &ice);
	g_unix_fd_add(ice.sig, G_IO_IN | G_IO_HUP, on_signal, &ice);
	/* our own word before natlab's SIGTERM at the deadline */
	left_ms = (gint64)((start + deadline) * 1000) - g_get_real_time() / 1000 - 200;
	g_timeout_add((guint)(left_ms > 0 ? left_ms : 0), on_deadline, &ice);
	if (!nice_agent_gather_candidates(ice.agent, ice.stream))
		finish(&ice, 1, "libnice gathered no candidate");
	else
		g_main_loop_run(ice.loop);
	g_object_unref(ice.agent);
	g_main_loop_unref(ice.loop);
	g_string_free(ice.remote, TRUE);
	return ice.exit_code;
}
