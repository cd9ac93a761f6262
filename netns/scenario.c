#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/inifile.h"
#include "scenario.h"

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

static int check_name(const char *name, size_t max, struct diag *d)
{
	if (!*name || strlen(name) >= max)
		return diag_set(d, "name \"%s\" must have 1 to %zu characters", name, max - 1);
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return diag_set(d, "name \"%s\" may use only a-z, 0-9 and _", name);
	return 0;
}

static int parse_int(const char *v, long lo, long hi, long *out)
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

/* Link emulation keys wait for the userspace wire; a zero is harmless, anything else is refused. */
static int link_key(const char *key, const char *value, struct diag *d)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || *end || v < 0 || (!strcmp(key, "loss") && v > 1))
		return diag_set(d, "%s: \"%s\" is not a %s", key, value,
				!strcmp(key, "loss") ? "fraction from 0 to 1" : "number of ms >= 0");
	if (v != 0)
		return diag_set(d, "%s: link emulation is not supported yet (the internet is a plain bridge)",
				key);
	return 0;
}

static bool is_link_key(const char *key)
{
	return !strcmp(key, "delay_ms") || !strcmp(key, "jitter_ms") || !strcmp(key, "loss");
}

static int scn_section(void *user, const char *section, int line, struct diag *d)
{
	struct scenario *s = user;
	const char *dot = strchr(section, '.');
	enum node_kind kind;
	struct lab_node *n;

	if (!strcmp(section, "lab"))
		return 0;
	if (dot && !strncmp(section, "nat.", 4))
		kind = NODE_NAT;
	else if (dot && !strncmp(section, "host.", 5))
		kind = NODE_HOST;
	else
		return diag_set(d, "unknown section [%s] (expected [lab], [nat.NAME] or [host.NAME])",
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

static int lab_key(struct scenario *s, const char *key, const char *value, struct diag *d)
{
	long v;

	if (!strcmp(key, "name")) {
		if (check_name(value, 17, d))
			return -1;
		snprintf(s->name, sizeof(s->name), "%s", value);
	} else if (!strcmp(key, "capture")) {
		if (parse_onoff(value, &s->capture))
			return diag_set(d, "capture: expected on or off, not \"%s\"", value);
		if (s->capture)
			return diag_set(d, "capture: not supported yet (the internet is a plain bridge)");
	} else if (!strcmp(key, "seed")) {
		if (parse_int(value, 0, 4294967295L, &v))
			return diag_set(d, "seed: \"%s\" is not a number from 0 to 4294967295", value);
		s->seed = (unsigned)v;
	} else {
		return diag_set(d, "unknown key \"%s\" in [lab] (expected name, capture, seed)", key);
	}
	return 0;
}

static int set_once(int *seen, int line, const char *key, struct diag *d)
{
	if (*seen)
		return diag_set(d, "duplicate key \"%s\" (first at line %d)", key, *seen);
	*seen = line;
	return 0;
}

static int node_key(struct lab_node *n, const char *key, const char *value, int line, struct diag *d)
{
	long v;

	if (is_link_key(key))
		return link_key(key, value, d);
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
	if (n->kind == NODE_HOST && !strcmp(key, "clock_offset_ms")) {
		if (set_once(&n->clock_line, line, key, d))
			return -1;
		if (parse_int(value, -3600000, 3600000, &v))
			return diag_set(d, "clock_offset_ms: \"%s\" is not a whole number of ms", value);
		n->clock_offset_ms = (int)v;
		return 0;
	}
	if (n->kind == NODE_NAT)
		return diag_set(d, "unknown key \"%s\" in [nat.%s] (expected profile, uplink, delay_ms, jitter_ms, loss or a profile knob)",
				key, n->name);
	return diag_set(d, "unknown key \"%s\" in [host.%s] (expected behind, addresses, clock_offset_ms, delay_ms, jitter_ms, loss)",
			key, n->name);
}

static int scn_key(void *user, const char *section, const char *key, const char *value, int line,
		   struct diag *d)
{
	struct scenario *s = user;
	int i;

	if (!*section)
		return diag_set(d, "\"%s\" before any [section]", key);
	if (!strcmp(section, "lab"))
		return lab_key(s, key, value, d);
	/* the reader registered every node section; anything else is not one */
	i = strchr(section, '.') ? scenario_find(s, strchr(section, '.') + 1) : -1;
	if (i < 0)
		return diag_set(d, "unknown section [%s]", section);
	return node_key(&s->nodes[i], key, value, line, d);
}

/* Parents, cycles, profiles; errors point at the line that causes them. */
static int resolve(struct scenario *s, struct diag *d)
{
	for (int i = 1; i < s->n; i++) {
		struct lab_node *n = &s->nodes[i];
		const char *key = n->kind == NODE_NAT ? "uplink" : "behind";

		if (!n->parent_line) {
			if (n->kind == NODE_HOST)
				return diag_set(d, "%s:%d: [host.%s] has no \"behind\" (a NAT's name or internet)",
						s->path, n->line, n->name);
			n->parent = 0; /* a NAT's uplink defaults to the internet */
			continue;
		}
		n->parent = scenario_find(s, n->parent_name);
		if (n->parent < 0 || s->nodes[n->parent].kind == NODE_HOST)
			return diag_set(d, "%s:%d: %s: no NAT named \"%s\" (a NAT's name or internet)",
					s->path, n->parent_line, key, n->parent_name);
		if (n->parent == i)
			return diag_set(d, "%s:%d: uplink: [nat.%s] cannot be its own uplink", s->path,
					n->parent_line, n->name);
	}
	for (int i = 1; i < s->n; i++) {
		int p = i, steps = 0;

		while (p != 0 && steps <= s->n) {
			p = s->nodes[p].parent;
			steps++;
		}
		if (p != 0)
			return diag_set(d, "%s:%d: uplink: cycle through [nat.%s]", s->path,
					s->nodes[i].parent_line, s->nodes[i].name);
		s->nodes[i].depth = steps;
	}
	for (int i = 1; i < s->n; i++) {
		struct lab_node *n = &s->nodes[i];
		struct diag sub;

		if (n->kind == NODE_HOST && n->parent != 0 && n->addresses_line && n->addresses > 1)
			return diag_set(d, "%s:%d: addresses: only hosts in the internet have several",
					s->path, n->addresses_line);
		if (n->kind != NODE_NAT)
			continue;
		if (!n->profile_line)
			return diag_set(d, "%s:%d: [nat.%s] has no \"profile\"", s->path, n->line, n->name);
		switch (nat_profile_load(&n->profile, n->profile_spec, s->dir, &sub)) {
		case 0:
			break;
		case NAT_PROFILE_EFILE: /* the profile file's own error names its file and line */
			return diag_set(d, "%s", sub.msg);
		default:
			return diag_set(d, "%s:%d: profile: %s", s->path, n->profile_line, sub.msg);
		}
		for (int k = 0; k < n->n_ov; k++)
			if (nat_profile_set(&n->profile, n->ov[k].key, n->ov[k].value, &sub))
				return diag_set(d, "%s:%d: %s", s->path, n->ov[k].line, sub.msg);
	}
	return 0;
}

static void plan(struct scenario *s)
{
	int k = 0, n_inet_hosts = 0, n_top_nats = 0, n_nats = 0;
	int child_no[LAB_MAX_NODES] = { 0 };

	/* parents before children: by depth, then file order */
	for (int depth = 0; k < s->n; depth++)
		for (int i = 0; i < s->n; i++)
			if (s->nodes[i].depth == depth)
				s->order[k++] = i;
	for (int i = 1; i < s->n; i++)
		s->nodes[s->nodes[i].parent].n_children++;
	for (int i = 1; i < s->n; i++) {
		struct lab_node *n = &s->nodes[i];
		bool nested = false;

		if (n->kind != NODE_NAT)
			continue;
		n_nats++;
		for (int j = 1; j < s->n; j++)
			if (s->nodes[j].parent == i && s->nodes[j].kind == NODE_NAT)
				nested = true;
		/* a NAT with NATs behind it is a carrier NAT: shared address space (RFC 6598) */
		snprintf(n->lan_net, sizeof(n->lan_net), "%s.%d.0/24", nested ? "100.64" : "10.0", n_nats);
		snprintf(n->lan_addr, sizeof(n->lan_addr), "%s.%d.1/24", nested ? "100.64" : "10.0",
			 n_nats);
	}
	for (int oi = 1; oi < s->n; oi++) {
		int i = s->order[oi];
		struct lab_node *n = &s->nodes[i];
		struct lab_node *p = &s->nodes[n->parent];

		if (n->parent == 0) {
			if (n->kind == NODE_NAT) {
				snprintf(n->addr[0], sizeof(n->addr[0]), "198.19.0.%d/15", ++n_top_nats);
				n->n_addr = 1;
			} else {
				n_inet_hosts++;
				for (unsigned j = 0; j < n->addresses; j++)
					snprintf(n->addr[j], sizeof(n->addr[0]), "198.18.%u.%d/15", j,
						 n_inet_hosts);
				n->n_addr = (int)n->addresses;
			}
			continue;
		}
		/* the parent's inside is a /24 whose .1 is the parent: children count from .2 */
		unsigned a, b, c;

		sscanf(p->lan_addr, "%u.%u.%u.", &a, &b, &c);
		snprintf(n->addr[0], sizeof(n->addr[0]), "%u.%u.%u.%d/24", a & 255, b & 255, c & 255,
			 (2 + child_no[n->parent]++) & 255);
		n->n_addr = 1;
		snprintf(n->gw, sizeof(n->gw), "%u.%u.%u.1", a & 255, b & 255, c & 255);
	}
}

static int check_plan(const struct scenario *s, struct diag *d)
{
	int n_top = 0, n_host = 0, n_nat = 0;

	for (int i = 1; i < s->n; i++) {
		n_nat += s->nodes[i].kind == NODE_NAT;
		n_top += s->nodes[i].parent == 0 && s->nodes[i].kind == NODE_NAT;
		n_host += s->nodes[i].parent == 0 && s->nodes[i].kind == NODE_HOST;
		if (s->nodes[i].n_children > 250)
			return diag_set(d, "%s:%d: more than 250 nodes behind [nat.%s]", s->path,
					s->nodes[i].line, s->nodes[i].name);
	}
	if (n_top > 250 || n_host > 250 || n_nat > 250)
		return diag_set(d, "%s: too many nodes", s->path);
	return 0;
}

int scenario_load_stream(struct scenario *s, FILE *f, const char *name, struct diag *d)
{
	const struct ini_cb cb = { .section = scn_section, .key = scn_key, .user = s };
	char tmp[PATH_MAX];
	const char *base;

	memset(s, 0, sizeof(*s));
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
	if (ini_stream_parse(f, name, &cb, d) || resolve(s, d))
		return -1;
	plan(s);
	return check_plan(s, d);
}

int scenario_load(struct scenario *s, const char *path, struct diag *d)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f)
		return diag_set(d, "%s: %s", path, strerror(errno));
	rc = scenario_load_stream(s, f, path, d);
	fclose(f);
	return rc;
}
