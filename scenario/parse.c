/* Reading a scenario file: its sections and the keys of [lab], [nat.X] and [host.X];
 * the other sections' keys in fault.c, run.c and matrix.c. */
#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cpus.h"
#include "../common/inifile.h"
#include "internal.h"

static const char *const reserved_names[] = { "internet", "lab", "wan", "lan", "inet", "eth0", "lo",
					      NULL };

const char *node_kind_name(enum node_kind k)
{
	return k == NODE_NAT ? "nat" : k == NODE_HOST ? "host" : "internet";
}

int scenario_find(const struct scenario *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->nodes[i].name, name))
			return i;
	return -1;
}

int check_name(const char *name, size_t max, struct diag *d)
{
	if (!*name || strlen(name) >= max)
		return diag_set(d, "name \"%s\" must have 1 to %zu characters", name, max - 1);
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return diag_set(d, "name \"%s\" may use only a-z, 0-9 and _", name);
	return 0;
}

int parse_int(const char *v, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	return (errno || end == v || *end || *out < lo || *out > hi) ? -1 : 0;
}

static int parse_onoff(const char *v, bool *out)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		return -1;
	*out = !strcmp(v, "on");
	return 0;
}

int parse_double(const char *v, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return (errno || end == v || *end || !(*out >= lo && *out <= hi)) ? -1 : 0;
}

/* delay_ms, jitter_ms, loss, rate_mbit, duplicate: the node's link into the
 * internet, in the wire (their bounds: link.c);
 * link = NAME: a named condition (natsim/links), whose figures the keys beside
 * it override, before or after it. */
static int link_key(struct lab_node *n, const char *key, const char *value, int line,
		    struct diag *d)
{
	double v, *field[] = { &n->delay_ms, &n->jitter_ms, &n->loss, &n->rate_mbit, &n->duplicate };
	int k;

	if (!strcmp(key, "link")) {
		struct link_preset p;

		if (link_preset_load(value, &p, d))
			return -1;
		if (!(n->link_keys & 1))
			n->delay_ms = p.delay_ms;
		if (!(n->link_keys & 2))
			n->jitter_ms = p.jitter_ms;
		if (!(n->link_keys & 4))
			n->loss = p.loss;
		if (!(n->link_keys & 8))
			n->rate_mbit = p.rate_mbit;
		if (!n->link_line)
			n->link_line = line;
		return 0;
	}
	if ((k = link_figure(key, value, &v, d)) < 0)
		return -1;
	*field[k] = v;
	n->link_keys |= (unsigned char)(1 << k);
	if (!n->link_line)
		n->link_line = line;
	return 0;
}

static bool is_link_key(const char *key)
{
	return !strcmp(key, "link") || link_figure_index(key) >= 0;
}

int set_once(int *seen, int line, const char *key, struct diag *d)
{
	if (*seen)
		return diag_set(d, "duplicate key \"%s\" (first at line %d)", key, *seen);
	*seen = line;
	return 0;
}

static int scn_section(void *user, const char *section, int line, struct diag *d)
{
	struct scenario *s = user;
	const char *dot = strchr(section, '.');
	enum node_kind kind;
	struct lab_node *n;

	if (!strcmp(section, "lab"))
		return 0;
	if (!strcmp(section, "matrix")) {
		if (s->matrix.line)
			return diag_set(d, "duplicate section [matrix] (first at line %d)", s->matrix.line);
		s->matrix.line = line;
		return 0;
	}
	/* a program may stand beside [matrix] too */
	if (dot && !strncmp(section, "strategy.", 9))
		return program_section(s, dot + 1, line, d);
	if (!s->other_line)
		s->other_line = line;
	if (!strcmp(section, "run")) {
		if (s->run.line)
			return diag_set(d, "duplicate section [run] (first at line %d)", s->run.line);
		s->run.line = line;
		return 0;
	}
	if (dot && !strncmp(section, "fault.", 6))
		return fault_section(s, dot + 1, line, d);
	if (dot && !strncmp(section, "nat.", 4))
		kind = NODE_NAT;
	else if (dot && !strncmp(section, "host.", 5))
		kind = NODE_HOST;
	else
		return diag_set(d, "unknown section [%s] (expected [lab], [run], [matrix], [nat.NAME], [host.NAME], [fault.NAME] or [strategy.NAME])",
				section);
	if (check_name(dot + 1, NODE_NAME_MAX, d))
		return -1;
	for (int i = 0; reserved_names[i]; i++)
		if (!strcmp(dot + 1, reserved_names[i]))
			return diag_set(d, "node name \"%s\" is reserved", dot + 1);
	int prev = scenario_find(s, dot + 1);
	if (prev >= 0)
		return diag_set(d, "duplicate node \"%s\" (first at line %d)", dot + 1,
				s->nodes[prev].line);
	if (s->n >= LAB_MAX_NODES)
		return diag_set(d, "too many nodes (at most %d)", LAB_MAX_NODES - 1);
	n = &s->nodes[s->n++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", dot + 1);
	n->kind = kind;
	n->line = line;
	n->addresses = 1;
	return 0;
}

const char *scenario_capture_name(const struct scenario *s)
{
	return s->capture_nats ? "all" : s->capture ? "on" : "off";
}

static int lab_key(struct scenario *s, const char *key, const char *value, int line, struct diag *d)
{
	long v;

	if (!strcmp(key, "name")) {
		if (check_name(value, 17, d))
			return -1;
		snprintf(s->name, sizeof(s->name), "%s", value);
	} else if (!strcmp(key, "capture")) {
		s->capture_nats = !strcmp(value, "all");
		if (!s->capture_nats && parse_onoff(value, &s->capture))
			return diag_set(d, "capture: expected on, off or all, not \"%s\"", value);
		s->capture |= s->capture_nats;
	} else if (!strcmp(key, "reorder")) {
		if (parse_onoff(value, &s->reorder))
			return diag_set(d, "reorder: expected on or off, not \"%s\"", value);
	} else if (!strcmp(key, "internet")) {
		if (strcmp(value, "wire") && strcmp(value, "bridge"))
			return diag_set(d, "internet: expected wire or bridge, not \"%s\"", value);
		s->bridge = !strcmp(value, "bridge");
		s->bridge_line = line;
	} else if (!strcmp(key, "unroutable")) {
		if (strcmp(value, "drop") && strcmp(value, "unreachable"))
			return diag_set(d, "unroutable: expected drop or unreachable, not \"%s\"", value);
		s->unreachable = !strcmp(value, "unreachable");
	} else if (!strcmp(key, "cpus") || !strcmp(key, "wire_cpus")) {
		bool wire = key[0] == 'w';

		if (cpus_parse(value, wire ? &s->wire_cpus : &s->cpus))
			return diag_set(d, "%s: expected a list of CPUs from 0 to %d (as \"1\", \"0,2\", \"0-3\"), not \"%s\"",
					key, CPUS_MAX - 1, value);
		*(wire ? &s->wire_cpus_line : &s->cpus_line) = line;
	} else if (!strcmp(key, "seed")) {
		if (parse_int(value, 0, 4294967295L, &v))
			return diag_set(d, "seed: \"%s\" is not a number from 0 to 4294967295", value);
		s->seed = (unsigned)v;
	} else {
		return diag_set(d, "unknown key \"%s\" in [lab] (expected name, capture, seed, reorder, internet, "
				   "unroutable, cpus, wire_cpus)",
				key);
	}
	return 0;
}

static int node_key(struct lab_node *n, const char *key, const char *value, int line, struct diag *d)
{
	long v;

	if (is_link_key(key))
		return link_key(n, key, value, line, d);
	if (n->kind == NODE_NAT && !strcmp(key, "profile")) {
		if (set_once(&n->profile_line, line, key, d))
			return -1;
		if (strlen(value) >= sizeof(n->profile_spec))
			return diag_set(d, "profile: name too long");
		snprintf(n->profile_spec, sizeof(n->profile_spec), "%s", value);
		return 0;
	}
	if ((n->kind == NODE_NAT && !strcmp(key, "uplink")) ||
	    (n->kind == NODE_HOST && !strcmp(key, "behind"))) {
		if (set_once(&n->parent_line, line, key, d))
			return -1;
		if (strlen(value) >= sizeof(n->parent_name))
			return diag_set(d, "%s: no node \"%s\"", key, value);
		snprintf(n->parent_name, sizeof(n->parent_name), "%s", value);
		return 0;
	}
	if (n->kind == NODE_NAT && nat_profile_is_knob(key)) {
		struct nat_profile probe;

		for (int i = 0; i < n->n_ov; i++)
			if (!strcmp(n->ov[i].key, key))
				return diag_set(d, "duplicate key \"%s\" (first at line %d)", key,
						n->ov[i].line);
		/* check the value now, so the error points here */
		nat_profile_defaults(&probe);
		if (nat_profile_set(&probe, key, value, d))
			return -1;
		if (n->n_ov >= NODE_MAX_OVERRIDES || strlen(value) >= sizeof(n->ov[0].value))
			return diag_set(d, "%s: too many or too long overrides", key);
		snprintf(n->ov[n->n_ov].key, sizeof(n->ov[0].key), "%s", key);
		snprintf(n->ov[n->n_ov].value, sizeof(n->ov[0].value), "%s", value);
		n->ov[n->n_ov++].line = line;
		return 0;
	}
	if (n->kind == NODE_HOST && !strcmp(key, "addresses")) {
		if (set_once(&n->addresses_line, line, key, d))
			return -1;
		if (parse_int(value, 1, LAB_MAX_ADDRS, &v))
			return diag_set(d, "addresses: \"%s\" is not a number from 1 to %d", value,
					LAB_MAX_ADDRS);
		n->addresses = (unsigned)v;
		return 0;
	}
	if (n->kind == NODE_HOST && !strcmp(key, "service")) {
		if (set_once(&n->service_line, line, key, d))
			return -1;
		if (strcmp(value, "turn"))
			return diag_set(d, "service: unknown service \"%s\" (expected turn)", value);
		n->turn = true;
		return 0;
	}
	if (n->kind == NODE_HOST && !strcmp(key, "clock_offset_ms")) {
		if (set_once(&n->clock_line, line, key, d))
			return -1;
		/* ahead by more than the rendezvous may put an instant off
		 * (PROTO_LEAD_MAX_MS), the host would find every instant past */
		if (parse_int(value, -3600000, 10000, &v))
			return diag_set(d, "clock_offset_ms: \"%s\" is not a whole number of ms from -3600000 to 10000", value);
		n->clock_offset_ms = (int)v;
		return 0;
	}
	if (n->kind == NODE_NAT)
		return diag_set(d, "unknown key \"%s\" in [nat.%s] (expected profile, uplink, link, delay_ms, jitter_ms, loss, rate_mbit, duplicate or a profile knob)",
				key, n->name);
	return diag_set(d, "unknown key \"%s\" in [host.%s] (expected behind, addresses, clock_offset_ms, service, link, delay_ms, jitter_ms, loss, rate_mbit, duplicate)",
			key, n->name);
}

static int scn_key(void *user, const char *section, const char *key, const char *value, int line,
		   struct diag *d)
{
	struct scenario *s = user;
	int i;

	if (!*section)
		/* most likely not a scenario at all: its words are not echoed */
		return diag_set(d, "a key before any [section] (is this a natlab scenario?)");
	if (!strcmp(section, "lab"))
		return lab_key(s, key, value, line, d);
	if (!strcmp(section, "run"))
		return run_key(s, key, value, line, d);
	if (!strcmp(section, "matrix"))
		return matrix_key(s, key, value, line, d);
	if (!strncmp(section, "fault.", 6)) {
		i = fault_find(s, section + 6);
		if (i < 0)
			return diag_set(d, "unknown section [%s]", section);
		return fault_key(&s->faults[i], key, value, line, d);
	}
	if (!strncmp(section, "strategy.", 9)) {
		i = program_find(s, section + 9);
		if (i < 0)
			return diag_set(d, "unknown section [%s]", section);
		return program_key(&s->programs[i], key, value, line, d);
	}
	/* the reader registered every node section; anything else is not one */
	i = strchr(section, '.') ? scenario_find(s, strchr(section, '.') + 1) : -1;
	if (i < 0)
		return diag_set(d, "unknown section [%s]", section);
	return node_key(&s->nodes[i], key, value, line, d);
}

static void scenario_begin(struct scenario *s, const char *name)
{
	char tmp[PATH_MAX];
	const char *base;

	/* the header and the internet only: each node is zeroed as it is added. A
	 * whole struct scenario is 2.5 MB, and touching it all cost 11 ms of page
	 * faults on a virtual machine, a quarter of `natlab up` */
	memset(s, 0, offsetof(struct scenario, nodes));
	memset(&s->nodes[0], 0, sizeof(s->nodes[0]));
	snprintf(s->path, sizeof(s->path), "%s", name);
	snprintf(tmp, sizeof(tmp), "%s", name);
	snprintf(s->dir, sizeof(s->dir), "%s", dirname(tmp));
	base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	/* the file's name, folded to what a lab name may hold */
	for (size_t i = 0; base[i] && base[i] != '.' && i < 16; i++) {
		char c = base[i] >= 'A' && base[i] <= 'Z' ? (char)(base[i] - 'A' + 'a') : base[i];

		s->name[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
	}
	if (!s->name[0])
		snprintf(s->name, sizeof(s->name), "lab");
	snprintf(s->nodes[0].name, sizeof(s->nodes[0].name), "internet");
	s->nodes[0].kind = NODE_INTERNET;
	s->n = 1;
}

/* What holds once every section is read: names resolved, addresses planned. */
static int scenario_end(struct scenario *s, const char *name, struct diag *d)
{
	if (resolve(s, d))
		return -1;
	/* a file with nothing in it is a mistake, not an empty lab */
	if (s->n == 1 && !s->matrix.line)
		return diag_set(d, "%s: no [host.NAME] or [nat.NAME] section: nothing to build", name);
	plan_addresses(s);
	return check_addresses(s, d);
}

int scenario_load_stream(struct scenario *s, FILE *f, const char *name, struct diag *d)
{
	const struct ini_cb cb = { .section = scn_section, .key = scn_key, .user = s };

	scenario_begin(s, name);
	if (ini_stream_parse(f, name, &cb, d))
		return -1;
	return scenario_end(s, name, d);
}

int scenario_from_entries(struct scenario *s, const char *name, const struct scenario_entry *e, int n,
			  struct diag *d)
{
	scenario_begin(s, name);
	for (int k = 0; k < n; k++) {
		struct diag sub;
		int rc = e[k].key ? scn_key(s, e[k].section, e[k].key, e[k].value, e[k].line, &sub)
				  : scn_section(s, e[k].section, e[k].line, &sub);

		if (rc < 0)
			return diag_set(d, "%s:%d: %s", name, e[k].line, sub.msg);
	}
	return scenario_end(s, name, d);
}

int scenario_load(struct scenario *s, const char *path, struct diag *d)
{
	FILE *f = ini_file_open(path, d);
	int rc;

	if (!f)
		return -1;
	rc = scenario_load_stream(s, f, path, d);
	fclose(f);
	return rc;
}
