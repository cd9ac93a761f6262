/* auto: the peers swap their NATs' classifications through the relay (each
 * has its own from natlab classify, --profile) and both pick by the behaviour
 * model, from the same two profiles and ports, the same strategy: udp where the
 * model says it connects, else dcutr, so-listen, retry, else the relay at once
 * (natsim/model.c, model_auto_choice). The report says what it picked, when
 * (decide_ms, from GO) and connect_ms from GO, the decision included. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../natsim/model.h"
#include "../peer.h"
#include "../protocol.h"
#include "strategies.h"

#define CLASS_TAG "06"
/* a classification too long for a line: both sides relay */
#define CLASS_UNTOLD "untold"

/* what the model reads of a profile, as KNOB=VALUE pairs */
static const char *const class_knobs[] = { "mapping", "allocation", "port_range", "filtering", "unsolicited_syn",
					   "syn_in_syn_sent", "translation", "outbound_tcp", "outbound_udp" };

static int class_text(const struct nat_profile *np, unsigned port, unsigned udp_port, char *out, size_t len)
{
	size_t o = 0;
	char buf[160];

	for (size_t i = 0; i < sizeof(class_knobs) / sizeof(class_knobs[0]); i++)
		o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s=%s ", class_knobs[i],
				      nat_profile_value(np, class_knobs[i], buf, sizeof(buf)));
	o += (size_t)snprintf(out + o, o < len ? len - o : 0, "port=%u udpport=%u", port, udp_port);
	return o < len ? 0 : -1;
}

static int class_parse(const char *text, struct nat_profile *np, unsigned *port, unsigned *udp_port)
{
	char buf[PROTO_LINE_MAX], *save = NULL;
	struct diag d;

	nat_profile_defaults(np);
	snprintf(np->name, sizeof(np->name), "partner");
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');

		if (!eq)
			return -1;
		*eq = '\0';
		if (!strcmp(t, "port") || !strcmp(t, "udpport")) {
			unsigned *at = t[0] == 'p' ? port : udp_port;

			if (sscanf(eq + 1, "%u", at) != 1 || *at > 65535)
				return -1;
		} else if (nat_profile_set(np, t, eq + 1, &d))
			return -1;
	}
	return 0;
}

void auto_pick(struct peer *p)
{
	double go = mono(), until = go + p->deadline_s, begun;
	char mine[PROTO_LINE_MAX / 2 - 8], hex[PROTO_LINE_MAX], line[PROTO_LINE_MAX];
	struct nat_profile theirs;
	unsigned their_port = 0, their_udp = 0;
	const struct strategy *st;
	bool got = false, untold = false;

	p->outcome = "error";
	p->err = EPROTO;
	/* port lists too long for a RELAY line: said so, and both relay */
	if (class_text(&p->own, p->port, p->udp_port, mine, sizeof(mine)))
		snprintf(mine, sizeof(mine), CLASS_UNTOLD);
	snprintf(p->class_mine, sizeof(p->class_mine), "%s", mine);
	proto_hex(mine, strlen(mine), hex);
	dprintf(p->rv, "RELAY " CLASS_TAG "%s\n", hex);
	while (!got && read_line(p->rv, p->rbuf, &p->rlen, sizeof(p->rbuf), line, until, &p->rstamp) == 1) {
		char text[PROTO_LINE_MAX / 2];

		if (strncmp(line, "RELAY " CLASS_TAG, 8))
			continue;
		if (proto_unhex(line + 8, text, sizeof(text)))
			return;
		untold = !strcmp(text, CLASS_UNTOLD) || !strcmp(mine, CLASS_UNTOLD);
		if (!untold && class_parse(text, &theirs, &their_port, &their_udp))
			return;
		snprintf(p->class_theirs, sizeof(p->class_theirs), "%s", text);
		got = true;
	}
	if (!got) {
		p->outcome = "timeout";
		p->err = ETIMEDOUT;
		return;
	}
	{
		/* the same case on both sides: side 0's profile is a, its port first */
		struct nat_profile own = p->own;
		struct model_case c = { .strategy = "auto", .a = p->side ? &theirs : &own, .b = p->side ? &own : &theirs,
					.deadline_s = p->deadline_s, .server_port = ntohs(p->server.sin_port),
					.relay_port = p->use_turn ? ntohs(p->turn.sin_port) : 0,
					.local_port = { p->side ? their_port : p->port, p->side ? p->port : their_port },
					.udp_port = { p->side ? their_udp : p->udp_port, p->side ? p->udp_port : their_udp } };

		/* GO without UDP endpoints (a side's UDP did not reach the server): not udp */
		if (!p->go.peer_udp.sin_port)
			own.outbound_udp = theirs.outbound_udp = (struct nat_ports){ .any = false, .n = 0 };
		snprintf(p->decision, sizeof(p->decision), "%s", untold ? "relay" : model_auto_choice(&c));
	}
	if (!p->decision[0])
		snprintf(p->decision, sizeof(p->decision), "relay");
	p->decide_ms = (mono() - go) * 1000;
	/* the strategy's own code runs as if asked for by name */
	p->strategy = p->decision;
	st = strategy_by_name(p->decision);
	if (st->by_clock && st->tcp) {
		punch_prepare(p);
		wait_start(p);
	}
	begun = mono();
	strategy_peer[st->id](p);
	if (p->connect_ms > 0)
		p->connect_ms += (begun - go) * 1000;
}
