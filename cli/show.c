#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../natsim/conntrack.h"
#include "../netns/lab.h"
#include "../netns/netns.h"
#include "../run/wire_figures.h"
#include "subcommands.h"

static const char usage[] = "show LAB [--json] [--wire]\n"
			    "  Nodes, namespaces, addresses, NAT profiles, live NAT mappings, pcap path,\n"
			    "  and how late the wire has released frames against their due time so far\n"
			    "  (its figures are at most 10 ms old), with a warning past its bounds;\n"
			    "  frames due as they came (links without delay) apart: how soon after they\n"
			    "  arrived they left, the wire's wake-up.\n"
			    "  --wire: the wire's figures alone (JSON: the object, null before the first\n"
			    "  frame); they read no NAT's mappings, a walk of the kernel's conntrack\n"
			    "  table that holds a core for milliseconds.";

/* The wire's figures into wire.precision (null: no frame yet) */
static void add_wire_precision(json_t *wire)
{
	const char *path = json_string_value(json_object_get(wire, "stats"));
	json_t *stats = path ? wire_stats_load(path, 5) : NULL;

	if (json_is_object(wire))
		json_object_set_new(wire, "precision", stats ? precision_of_wire(stats) : json_null());
	json_decref(stats);
}

static void print_wire(const json_t *wire)
{
	static const char *const figure[] = { "p50", "p99", "max" };
	const json_t *p = json_object_get(wire, "precision"), *w;
	size_t i;

	if (!wire)
		return; /* internet = bridge */
	if (!json_is_object(p)) {
		printf("wire: no frame yet\n");
		return;
	}
	if (json_integer_value(json_object_get(p, "frames"))) {
		printf("wire: %lld frames, released late by", (long long)json_integer_value(json_object_get(p, "frames")));
		for (size_t k = 0; k < sizeof(figure) / sizeof(figure[0]); k++) {
			json_int_t us = json_integer_value(json_object_get(p, figure[k]));

			/* the wire's last bucket holds that and anything later */
			printf("%s %s %lld%s us", k ? "," : "", figure[k], (long long)us,
			       us >= WIRE_LATE_BUCKETS - 1 ? "+" : "");
		}
		printf(" (bounds %lld and %lld us)%s\n",
		       (long long)json_integer_value(json_object_get(json_object_get(p, "bounds"), "p50")),
		       (long long)json_integer_value(json_object_get(json_object_get(p, "bounds"), "p99")),
		       json_is_true(json_object_get(p, "realtime")) ? ", real-time" : "");
	} else {
		printf("wire: no frame with a delay to keep yet%s\n",
		       json_is_true(json_object_get(p, "realtime")) ? " (real-time)" : "");
	}
	if (json_is_object(json_object_get(p, "at_once"))) {
		const json_t *a = json_object_get(p, "at_once");
		json_int_t max = json_integer_value(json_object_get(a, "max"));

		/* their due time is their arrival: the wire's wake-up, which no bound covers */
		printf("  and %lld frames due as they came (no delay on their links), sent p50 %lld us, p99 %lld us, "
		       "max %lld%s us after they arrived\n",
		       (long long)json_integer_value(json_object_get(a, "frames")),
		       (long long)json_integer_value(json_object_get(a, "p50")),
		       (long long)json_integer_value(json_object_get(a, "p99")), (long long)max,
		       max >= WIRE_AT_ONCE_BUCKETS - 1 ? "+" : "");
	}
	json_array_foreach(json_object_get(p, "warnings"), i, w)
		printf("  warning: %s\n", json_string_value(w));
}

static int add_mapping(const struct ct_entry *e, void *arg)
{
	json_t *list = arg;
	struct ct_mapping m;
	char a[INET_ADDRSTRLEN], buf[64];
	json_t *o;

	if (!ct_entry_mapping(e, &m))
		return 0;
	o = json_object();
	json_object_set_new(o, "proto", json_string(ct_proto_name(e->proto)));
	snprintf(buf, sizeof(buf), "%s:%u", inet_ntop(AF_INET, &m.int_addr, a, sizeof(a)), m.int_port);
	json_object_set_new(o, "internal", json_string(buf));
	snprintf(buf, sizeof(buf), "%s:%u", inet_ntop(AF_INET, &m.ext_addr, a, sizeof(a)), m.ext_port);
	json_object_set_new(o, "external", json_string(buf));
	snprintf(buf, sizeof(buf), "%s:%u", inet_ntop(AF_INET, &m.remote_addr, a, sizeof(a)),
		 m.remote_port);
	json_object_set_new(o, "remote", json_string(buf));
	json_object_set_new(o, "inbound", json_boolean(m.inbound));
	json_object_set_new(o, "state", e->tcp_state >= 0 ? json_string(ct_tcp_state_name(e->tcp_state))
						       : json_null());
	json_object_set_new(o, "timeout", json_integer(e->timeout));
	json_array_append_new(list, o);
	return 0;
}

static void print_text(json_t *st)
{
	const char *name;
	json_t *node;

	printf("lab %s (%s)  scenario %s\n", json_string_value(json_object_get(st, "lab")),
	       lab_health(st),
	       json_string_value(json_object_get(st, "scenario")));
	printf("pcap: %s\n", json_is_string(json_object_get(st, "pcap"))
				     ? json_string_value(json_object_get(st, "pcap")) : "none");
	print_wire(json_object_get(st, "wire"));
	{
		json_t *sv;
		size_t k;

		json_array_foreach(json_object_get(st, "services"), k, sv)
			if (json_is_string(json_object_get(sv, "path"))) /* capture = all */
				printf("%s: %s (%s's lan and wan)\n", json_string_value(json_object_get(sv, "service")),
				       json_string_value(json_object_get(sv, "path")),
				       json_string_value(json_object_get(sv, "node")));
			else
				printf("%s: %s:%lld on %s, user %s, password %s\n", json_string_value(json_object_get(sv, "service")),
			       json_string_value(json_object_get(sv, "addr")),
			       (long long)json_integer_value(json_object_get(sv, "port")),
			       json_string_value(json_object_get(sv, "node")), json_string_value(json_object_get(sv, "user")),
			       json_string_value(json_object_get(sv, "password")));
	}
	printf("%-16s %-8s %-28s %s\n", "NODE", "KIND", "NETNS", "ADDRESSES");
	json_object_foreach(json_object_get(st, "nodes"), name, node) {
		json_t *addrs = json_object_get(node, "addrs"), *a, *maps;
		size_t i;

		printf("%-16s %-8s %-28s", name, json_string_value(json_object_get(node, "kind")),
		       json_string_value(json_object_get(node, "netns")));
		json_array_foreach(addrs, i, a)
			printf(" %s", json_string_value(a));
		if (json_object_get(node, "profile"))
			printf("  profile %s, inside %s",
			       json_string_value(json_object_get(node, "profile")),
			       json_string_value(json_object_get(node, "lan")));
		else if (json_object_get(node, "behind"))
			printf("  behind %s", json_string_value(json_object_get(node, "behind")));
		putchar('\n');
		maps = json_object_get(node, "mappings");
		json_array_foreach(maps, i, a)
			printf("    %s %s -> %s  remote %s%s %s %llds\n",
			       json_string_value(json_object_get(a, "proto")),
			       json_string_value(json_object_get(a, "internal")),
			       json_string_value(json_object_get(a, "external")),
			       json_string_value(json_object_get(a, "remote")),
			       json_is_true(json_object_get(a, "inbound")) ? " (inbound)" : "",
			       json_is_string(json_object_get(a, "state"))
				       ? json_string_value(json_object_get(a, "state")) : "",
			       (long long)json_integer_value(json_object_get(a, "timeout")));
	}
}

int show_main(int argc, char *argv[])
{
	const char *id = NULL, *name;
	struct diag d;
	json_t *st, *node;
	int json = 0, wire_only = 0, rc = 0;

	if (want_help(argc, argv, usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--wire"))
			wire_only = 1;
		else if (argv[i][0] == '-' || id)
			return arg_error(usage, argv[i]);
		else
			id = argv[i];
	}
	if (!id)
		return usage_error(usage);
	st = lab_state_read(id, &d);
	if (!st)
		return fail(EXIT_BAD_INPUT, "%s", d.msg);
	if (wire_only) {
		json_t *wire = json_object_get(st, "wire");

		add_wire_precision(wire);
		if (json) {
			json_t *p = wire ? json_object_get(wire, "precision") : NULL;

			json_dumpf(p ? p : json_null(), stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
			putchar('\n');
		} else if (wire) {
			print_wire(wire);
		} else {
			printf("wire: none (internet = bridge)\n");
		}
		json_decref(st);
		return 0;
	}
	json_object_foreach(json_object_get(st, "nodes"), name, node) {
		json_t *maps;
		int fd;

		if (strcmp(json_string_value(json_object_get(node, "kind")), "nat"))
			continue;
		fd = netns_open(json_string_value(json_object_get(node, "netns")));
		maps = json_array();
		if (fd < 0 || ct_dump(fd, add_mapping, maps, &d))
			rc = fail(1, "%s: cannot read mappings: %s", name, fd < 0 ? "no namespace" : d.msg);
		if (fd >= 0)
			close(fd);
		json_object_set_new(node, "mappings", maps);
	}
	add_wire_precision(json_object_get(st, "wire"));
	json_object_del(st, "netns"); /* bookkeeping, not part of the shown shape */
	if (json) {
		json_dumpf(st, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		print_text(st);
	}
	json_decref(st);
	return rc;
}
