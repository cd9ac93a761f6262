#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../classify/classify.h"
#include "../prober/protocol.h"
#include "subcommands.h"

static const char usage[] =
	"classify --server ADDR[:PORT] [--json] [--timeouts]\n"
	"  Tells the NAT between here and an RFC 5780 STUN server (natlab-probe server,\n"
	"  port 3478 unless given) and prints it as a natlab profile, a comment per knob\n"
	"  saying which test found it; --json: each verdict with its evidence. Over\n"
	"  UDP: mapping, allocation (and delta), filtering, hairpin, translation (over\n"
	"  TCP where UDP is blocked); by the server's probes: unsolicited_syn,\n"
	"  udp_unsolicited, syn_in_syn_sent, outbound_tcp and outbound_udp (which of\n"
	"  some well-known ports are let out). Behind a firewall that lets only the web\n"
	"  out, run the server at 443 (natlab-probe server ADDR:443 --stun-port 443).\n"
	"  --timeouts: also udp_timeout, tcp_established_timeout and\n"
	"  tcp_syn_sent_timeout, how long a UDP mapping, an idle TCP connection and an\n"
	"  unanswered SYN's entry live (2-4 times that long, side by side; 9 minutes\n"
	"  at most, each on stderr as it is known). Root is needed only for\n"
	"  tcp_syn_sent_timeout (one SYN on a raw socket, TCP_REPAIR); without it\n"
	"  that one is not told, and says so.";

/* each verdict; a profile knob, or (mapping_tcp) only a comment beside one */
static const struct {
	const char *knob;
	size_t at;
	bool is_knob;
} verdicts[] = {
	{ "mapping", offsetof(struct classification, mapping), true },
	{ "mapping_tcp", offsetof(struct classification, mapping_tcp), false },
	{ "allocation", offsetof(struct classification, allocation), true },
	{ "filtering", offsetof(struct classification, filtering), true },
	{ "filtering_tcp", offsetof(struct classification, filtering_tcp), false },
	{ "hairpin", offsetof(struct classification, hairpin), true },
	{ "unsolicited_syn", offsetof(struct classification, unsolicited_syn), true },
	{ "udp_unsolicited", offsetof(struct classification, udp_unsolicited), true },
	{ "syn_in_syn_sent", offsetof(struct classification, syn_in_syn_sent), true },
	{ "translation", offsetof(struct classification, translation), true },
	{ "outbound_tcp", offsetof(struct classification, outbound_tcp), true },
	{ "outbound_udp", offsetof(struct classification, outbound_udp), true },
	{ "udp_timeout", offsetof(struct classification, udp_timeout), true },
	{ "tcp_established_timeout", offsetof(struct classification, tcp_established_timeout), true },
	{ "tcp_syn_sent_timeout", offsetof(struct classification, tcp_syn_sent_timeout), true },
};
#define N_VERDICTS (sizeof(verdicts) / sizeof(verdicts[0]))

static const struct verdict *verdict_of(const struct classification *c, size_t i)
{
	return (const struct verdict *)((const char *)c + verdicts[i].at);
}

static void print_profile(const struct classification *c, const char *server)
{
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	printf("; natlab classify: the NAT between this host and %s, %s (%.1f s).\n"
	       "; The knobs no test here tells (port_range, the ports a random or sequential\n"
	       "; allocation draws from; udp_stream_timeout, and without --timeouts\n"
	       "; udp_timeout, tcp_established_timeout and tcp_syn_sent_timeout) keep\n"
	       "; natlab's defaults.\n[nat]\n",
	       server, when, c->seconds);
	for (size_t i = 0; i < N_VERDICTS; i++) {
		const struct verdict *v = verdict_of(c, i);

		if (!v->value[0] && !v->evidence[0])
			continue; /* not asked for */
		if (!v->value[0]) {
			printf("; %s: not told (%s)\n", verdicts[i].knob, v->evidence);
			continue;
		}
		/* an eif or adf NAT lets new traffic in through its own map past
		 * conntrack's entry: the life measured is that map's, not udp_timeout's */
		if (!verdicts[i].is_knob || (!strcmp(verdicts[i].knob, "udp_timeout") && strcmp(c->filtering.value, "apdf"))) {
			/* natlab's mapping knob is for TCP and UDP alike */
			printf("; %s: %s (%s)\n", verdicts[i].knob, v->value, v->evidence);
			continue;
		}
		printf("; %s\n%s = %s\n", v->evidence, verdicts[i].knob, v->value);
		if (!strcmp(verdicts[i].knob, "allocation") && !strcmp(v->value, "sequential"))
			printf("delta = %u\n", c->delta);
	}
}

static void print_json(const struct classification *c, const char *server)
{
	json_t *o = json_pack("{s:s, s:f, s:s}", "server", server, "seconds", c->seconds, "udp",
			      c->udp_blocked ? "blocked" : "open");
	json_t *vs = json_object();

	for (size_t i = 0; i < N_VERDICTS; i++) {
		const struct verdict *v = verdict_of(c, i);

		if (!v->value[0] && !v->evidence[0])
			continue;
		json_object_set_new(vs, verdicts[i].knob,
				    json_pack("{s:o, s:s}", "value", v->value[0] ? json_string(v->value) : json_null(),
					      "evidence", v->evidence));
	}
	if (!strcmp(c->allocation.value, "sequential"))
		json_object_set_new(o, "delta", json_integer(c->delta));
	json_object_set_new(o, "verdicts", vs);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(o);
}

int classify_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeouts", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	char server[64] = "";
	struct sockaddr_in addr;
	struct classification c;
	struct diag d;
	bool json = false, timeouts = false;
	int o;

	if (want_help(argc, argv, usage))
		return 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 's')
			snprintf(server, sizeof(server), strchr(optarg, ':') ? "%s" : "%s:3478", optarg);
		else if (o == 'j')
			json = true;
		else if (o == 't')
			timeouts = true;
		else
			return usage_error(usage);
	}
	if (optind != argc || !server[0])
		return usage_error(usage);
	if (proto_endpoint(server, &addr))
		return fail(EXIT_BAD_INPUT, "classify: --server %s: not an IPv4 ADDR[:PORT]", server);
	if (classify_nat(&addr, timeouts, &c, &d))
		return fail(1, "classify: %s", d.msg);
	if (c.udp_blocked && !c.tcp_reached)
		return fail(1, "classify: no STUN answer from %s over UDP (4 tries in 1.5 s) and no TCP connection "
			       "to it: no server listens there, or the way is blocked", server);
	if (json)
		print_json(&c, server);
	else
		print_profile(&c, server);
	return 0;
}
