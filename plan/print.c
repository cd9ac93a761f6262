/* A plan printed: as JSON (one print path for every step) and as a sh script. */
#include <jansson.h>
#include <string.h>

#include "../common/cpus.h"
#include "plan.h"

static const char *const op_names[] = {
	[PLAN_NETNS] = "netns",	    [PLAN_SYSCTL] = "sysctl",
	[PLAN_LINK_UP] = "link-up",	    [PLAN_BRIDGE] = "bridge",
	[PLAN_VETH] = "veth",	    [PLAN_OFFLOADS_OFF] = "offloads-off",
	[PLAN_GSO_PLAIN] = "gso-plain",
	[PLAN_ADDR] = "addr",	    [PLAN_ROUTE] = "route",
	[PLAN_ROUTE_BLACKHOLE] = "route-blackhole", [PLAN_NEIGH] = "neigh",
	[PLAN_NFT] = "nft",		    [PLAN_WIRE_PORT] = "wire-port",
	[PLAN_SERVICE] = "service",
};

static void mac_text(const unsigned char m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static json_t *step_json(const struct lab_plan *p, const struct plan_step *t)
{
	json_t *j = json_object();
	char ns[160], mac[18];

	plan_netns(p, t->node, ns, sizeof(ns));
	json_object_set_new(j, "op", json_string(op_names[t->op]));
	json_object_set_new(j, "netns", json_string(ns));
	if (t->dev[0])
		json_object_set_new(j, "dev", json_string(t->dev));
	if (t->ifindex)
		json_object_set_new(j, "ifindex", json_integer(t->ifindex));
	if (t->op == PLAN_VETH) {
		plan_netns(p, t->peer, ns, sizeof(ns));
		json_object_set_new(j, "peer_netns", json_string(ns));
		json_object_set_new(j, "peer_dev", json_string(t->peer_dev));
		json_object_set_new(j, "peer_ifindex", json_integer(t->peer_ifindex));
		if (t->master[0])
			json_object_set_new(j, "master", json_string(t->master));
	}
	if (t->has_mac) {
		mac_text(t->mac, mac);
		json_object_set_new(j, t->op == PLAN_VETH ? "peer_mac" : "mac", json_string(mac));
	}
	if (t->op == PLAN_SERVICE)
		json_object_set_new(j, "service", json_string(t->value));
	if (t->op == PLAN_SYSCTL) {
		json_object_set_new(j, "path", json_string(t->addr));
		json_object_set_new(j, "value", json_string(t->value));
	} else if (t->addr[0]) {
		json_object_set_new(j, t->op == PLAN_ROUTE ? "via" : "addr", json_string(t->addr));
	}
	if (t->op == PLAN_ROUTE)
		json_object_set_new(j, "dst", json_string(t->dst));
	if (t->text)
		json_object_set_new(j, "ruleset", json_string(t->text));
	if (t->op == PLAN_WIRE_PORT)
		json_object_set_new(j, "link", json_pack("{s:f,s:f,s:f,s:f,s:f}", "delay_ms", t->delay_ms, "jitter_ms",
							 t->jitter_ms, "loss", t->loss, "rate_mbit", t->rate_mbit,
							 "duplicate", t->duplicate));
	return j;
}

void plan_json_cpus(json_t *obj, const struct scenario *s)
{
	const struct {
		const char *key;
		uint64_t set;
	} lists[] = { { "cpus", s->cpus }, { "wire_cpus", s->wire_cpus } };
	char buf[160];

	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
		if (lists[k].set) {
			cpus_format(lists[k].set, buf, sizeof(buf));
			json_object_set_new(obj, lists[k].key, json_string(buf));
		}
}

/* What the wire does beside its ports: up hands it over on its configuration pipe */
static json_t *wire_json(const struct scenario *s)
{
	json_t *faults = json_array();

	for (int i = 0; i < s->n_faults; i++) {
		const struct wire_fault *f = &s->faults[i];

		json_array_append_new(faults, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f}", "name", f->name, "at",
							s->nodes[f->at].name, "direction", f->inbound ? "in" : "out",
							"match", fault_match_name(f->match), "action",
							f->action == FAULT_DELAY ? "delay" : "drop", "count", (int)f->count,
							"extra_ms", f->extra_ms));
	}
	return json_pack("{s:I,s:b,s:s,s:o}", "seed", (json_int_t)s->seed, "reorder", s->reorder, "capture",
			 scenario_capture_name(s), "faults", faults);
}

int plan_print_json(const struct lab_plan *p, FILE *out)
{
	json_t *root = json_object(), *steps = json_array();
	int rc;

	json_object_set_new(root, "lab", json_string(p->id));
	json_object_set_new(root, "scenario", json_string(p->s->path));
	json_object_set_new(root, "internet", json_string(p->wire ? "wire" : "bridge"));
	plan_json_cpus(root, p->s);
	if (p->wire)
		json_object_set_new(root, "wire", wire_json(p->s));
	for (int k = 0; k < p->n; k++)
		json_array_append_new(steps, step_json(p, &p->steps[k]));
	json_object_set_new(root, "steps", steps);
	rc = json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
	return rc;
}

/* The script's internet is a bridge: where natlab hangs a node on the wire, the
 * script hangs it on this one (what `internet = bridge` does). */
static const char *script_master(const struct lab_plan *p, const struct plan_step *t)
{
	if (t->master[0])
		return t->master;
	return p->wire && t->node == 0 ? IF_BRIDGE_INTERNET : "";
}

static void script_step(const struct lab_plan *p, const struct plan_step *t, FILE *o)
{
	char ns[160], peer[160], mac[18];

	plan_netns(p, t->node, ns, sizeof(ns));
	switch (t->op) {
	case PLAN_NETNS:
		fprintf(o, "\tip netns add '%s'\n", ns);
		if (t->node == 0 && p->wire && p->s->nodes[0].n_children)
			fprintf(o, "\tip -n '%s' link add name %s index %d type bridge\n\tip -n '%s' link set dev %s up\n", ns,
				IF_BRIDGE_INTERNET, IFINDEX_BRIDGE, ns, IF_BRIDGE_INTERNET);
		break;
	case PLAN_SYSCTL:
		fprintf(o, "\tip netns exec '%s' sh -c 'echo %s > /proc/sys/%s'\n", ns, t->value, t->addr);
		break;
	case PLAN_LINK_UP:
		fprintf(o, "\tip -n '%s' link set dev %s up\n", ns, t->dev);
		break;
	case PLAN_BRIDGE:
		fprintf(o, "\tip -n '%s' link add name %s index %d type bridge\n\tip -n '%s' link set dev %s up\n", ns, t->dev,
			t->ifindex, ns, t->dev);
		break;
	case PLAN_VETH:
		plan_netns(p, t->peer, peer, sizeof(peer));
		/* iproute2 6.1 takes the peer's address only before its index */
		fprintf(o, "\tip -n '%s' link add name %s index %d type veth peer name %s", ns, t->dev, t->ifindex,
			t->peer_dev);
		if (t->has_mac) {
			mac_text(t->mac, mac);
			fprintf(o, " address %s", mac);
		}
		fprintf(o, " index %d netns '%s'\n", t->peer_ifindex, peer);
		if (script_master(p, t)[0])
			fprintf(o, "\tip -n '%s' link set dev %s master %s\n", ns, t->dev, script_master(p, t));
		fprintf(o, "\tip -n '%s' link set dev %s up\n\tip -n '%s' link set dev %s up\n", ns, t->dev, peer,
			t->peer_dev);
		break;
	case PLAN_OFFLOADS_OFF:
		fprintf(o, "\t# %s %s: natlab turns offloads off for its wire; a bridge needs not\n", ns, t->dev);
		break;
	case PLAN_GSO_PLAIN:
		fprintf(o, "\t# %s %s: natlab keeps GSO to TCP and UDP for its wire; a bridge needs not\n", ns, t->dev);
		break;
	case PLAN_ADDR:
		fprintf(o, "\tip -n '%s' addr add %s dev %s\n", ns, t->addr, t->dev);
		break;
	case PLAN_ROUTE:
		fprintf(o, "\tip -n '%s' route add %s via %s dev %s\n", ns, t->dst, t->addr, t->dev);
		break;
	case PLAN_ROUTE_BLACKHOLE:
		fprintf(o, "\tip -n '%s' route add blackhole default\n", ns);
		break;
	case PLAN_NEIGH:
		mac_text(t->mac, mac);
		fprintf(o, "\tip -n '%s' neigh replace %s lladdr %s dev %s nud permanent\n", ns, t->addr, mac, t->dev);
		break;
	case PLAN_NFT:
		fprintf(o, "\tip netns exec '%s' nft -f - <<'NATLAB_RULESET'\n%s%sNATLAB_RULESET\n", ns, t->text,
			t->text[0] && t->text[strlen(t->text) - 1] == '\n' ? "" : "\n");
		break;
	case PLAN_WIRE_PORT:
		fprintf(o, "\t# wire port %s: delay_ms %g, jitter_ms %g, loss %g, rate_mbit %g, duplicate %g "
			   "(natlab's wire; not on the bridge)\n",
			t->dev, t->delay_ms, t->jitter_ms, t->loss, t->rate_mbit, t->duplicate);
		break;
	case PLAN_SERVICE:
		if (!strcmp(t->value, "capture")) { /* a NAT's both sides, as natlab captures them */
			fprintf(o, "	ip netns exec '%s' dumpcap -q -i " IF_BRIDGE_NAT " -i " IF_UPLINK_NAT
				   " -w \"$PWD/%s.%s.pcapng\" >/dev/null 2>&1 &\n",
				ns, p->id, p->s->nodes[t->node].name);
			break;
		}
		/* coturn, as natlab starts it (netns/service.c); the password is yours to choose */
		fprintf(o, "\tturn_dir=$(mktemp -d)\n\tumask 077\n\tprintf '%%s\\n' listening-ip=%s relay-ip=%s "
			   "listening-port=%d lt-cred-mech \"user=%s:${TURN_PASSWORD:?set TURN_PASSWORD}\" realm=natlab "
			   "fingerprint no-tls no-dtls no-cli no-stdout-log simple-log \"log-file=$turn_dir/log\" \"userdb=$turn_dir/db\" "
			   "\"pidfile=$turn_dir/pid\" >\"$turn_dir/conf\"\n\techo \"coturn's files (its password too): $turn_dir\" >&2\n\tip netns exec '%s' turnserver -c \"$turn_dir/conf\" >/dev/null 2>&1 &\n",
			t->addr, t->addr, TURN_PORT, TURN_USER, ns);
		break;
	}
}

int plan_print_script(const struct lab_plan *p, FILE *o)
{
	char ns[160];

	fprintf(o, "#!/bin/sh\n# The lab of %s as %s, without natlab: `sh THIS_FILE up` builds it with ip\n"
		   "# and nft, `sh THIS_FILE down` removes it. Generated by `natlab plan --script`.\n",
		p->s->path, p->id);
	if (p->wire) {
		fprintf(o, "# natlab's internet here is its wire (delay, jitter, loss, faults, capture); this\n"
			   "# script's is a kernel bridge, as with `internet = bridge`: the links' figures are\n"
			   "# listed as comments, and not applied.\n"
			   "# wire: seed %u, reorder %s, capture %s\n",
			p->s->seed, p->s->reorder ? "on" : "off", scenario_capture_name(p->s));
		for (int i = 0; i < p->s->n_faults; i++) {
			const struct wire_fault *f = &p->s->faults[i];

			fprintf(o, "# wire fault %s: at %s, direction %s, match %s, %s", f->name, p->s->nodes[f->at].name,
				f->inbound ? "in" : "out", fault_match_name(f->match),
				f->action == FAULT_DELAY ? "delay" : "drop");
			if (f->action == FAULT_DELAY)
				fprintf(o, " %g ms", f->extra_ms);
			fprintf(o, ", count %u%s\n", f->count, f->count ? "" : " (every matching frame)");
		}
	}
	fprintf(o, "set -e\n\nup() {\n");
	for (int k = 0; k < p->n; k++)
		script_step(p, &p->steps[k], o);
	/* a namespace outlives its removal while a process is in it: coturn, dumpcap,
	 * whatever the user ran there, as natlab down ends them all (TERM, and KILL
	 * half a second later for what is left) */
	fprintf(o, "}\n\n# end_in NS: what runs in namespace NS\nend_in() {\n"
		   "\tp=$(ip netns pids \"$1\" 2>/dev/null) || return 0\n\t[ -n \"$p\" ] || return 0\n"
		   "\tkill $p 2>/dev/null || :\n\tfor i in 1 2 3 4 5; do\n"
		   "\t\t[ -n \"$(ip netns pids \"$1\" 2>/dev/null)\" ] || return 0\n\t\tsleep 0.1\n\tdone\n"
		   "\tkill -9 $(ip netns pids \"$1\" 2>/dev/null) 2>/dev/null || :\n}\n\ndown() {\n\trc=0\n");
	for (int oi = p->s->n - 1; oi >= 0; oi--) {
		plan_netns(p, p->s->order[oi], ns, sizeof(ns));
		fprintf(o, "\tend_in '%s'\n\tip netns del '%s' || rc=1\n", ns, ns);
	}
	fprintf(o, "\treturn $rc\n}\n\ncase \"${1:-}\" in\nup) up ;;\ndown) down ;;\n"
		   "*) echo \"usage: sh $0 up|down\" >&2; exit 2 ;;\nesac\n");
	return ferror(o) ? -1 : 0;
}
