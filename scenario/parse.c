#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/inifile.h"
#include "../common/strategy.h"
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

static int parse_double(const char *v, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return (errno || end == v || *end || !(*out >= lo && *out <= hi)) ? -1 : 0;
}

/* delay_ms, jitter_ms, loss: the node's link into the internet, in the wire. */
static int link_key(struct lab_node *n, const char *key, const char *value, int line,
		    struct diag *d)
{
	bool loss = !strcmp(key, "loss");
	double v;

	if (parse_double(value, 0, loss ? 1 : 60000, &v))
		return diag_set(d, "%s: \"%s\" is not a %s", key, value,
				loss ? "fraction from 0 to 1" : "number of ms from 0 to 60000");
	if (!strcmp(key, "delay_ms"))
		n->delay_ms = v;
	else if (!strcmp(key, "jitter_ms"))
		n->jitter_ms = v;
	else
		n->loss = v;
	if (!n->link_line)
		n->link_line = line;
	return 0;
}

static bool is_link_key(const char *key)
{
	return !strcmp(key, "delay_ms") || !strcmp(key, "jitter_ms") || !strcmp(key, "loss");
}

static int set_once(int *seen, int line, const char *key, struct diag *d)
{
	if (*seen)
		return diag_set(d, "duplicate key \"%s\" (first at line %d)", key, *seen);
	*seen = line;
	return 0;
}

static const char *const match_names[] = { "any", "tcp", "tcp-syn", "tcp-synack", "tcp-ack",
					   "tcp-rst", "udp", "icmp", NULL };

const char *fault_match_name(int m)
{
	return match_names[m];
}

static int fault_find(const struct scenario *s, const char *name)
{
	for (int i = 0; i < s->n_faults; i++)
		if (!strcmp(s->faults[i].name, name))
			return i;
	return -1;
}

static int fault_section(struct scenario *s, const char *name, int line, struct diag *d)
{
	struct wire_fault *f;
	int prev;

	if (check_name(name, NODE_NAME_MAX, d))
		return -1;
	prev = fault_find(s, name);
	if (prev >= 0)
		return diag_set(d, "duplicate fault \"%s\" (first at line %d)", name, s->faults[prev].line);
	if (s->n_faults >= LAB_MAX_FAULTS)
		return diag_set(d, "too many faults (at most %d)", LAB_MAX_FAULTS);
	f = &s->faults[s->n_faults++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->line = line;
	return 0;
}

static int fault_key(struct wire_fault *f, const char *key, const char *value, int line,
		     struct diag *d)
{
	long v;

	if (!strcmp(key, "at")) {
		if (set_once(&f->at_line, line, key, d))
			return -1;
		if (strlen(value) >= sizeof(f->at_name))
			return diag_set(d, "at: no node \"%s\"", value);
		snprintf(f->at_name, sizeof(f->at_name), "%s", value);
	} else if (!strcmp(key, "match")) {
		for (int i = 0; match_names[i]; i++)
			if (!strcmp(match_names[i], value)) {
				f->match = i;
				return 0;
			}
		return diag_set(d, "match: unknown value \"%s\" (expected any, tcp, tcp-syn, tcp-synack, tcp-ack, tcp-rst, udp, icmp)",
				value);
	} else if (!strcmp(key, "action")) {
		if (set_once(&f->action_line, line, key, d))
			return -1;
		if (strcmp(value, "drop") && strcmp(value, "delay"))
			return diag_set(d, "action: expected drop or delay, not \"%s\"", value);
		f->action = !strcmp(value, "drop") ? FAULT_DROP : FAULT_DELAY;
	} else if (!strcmp(key, "direction")) {
		if (strcmp(value, "out") && strcmp(value, "in"))
			return diag_set(d, "direction: expected out or in, not \"%s\"", value);
		f->inbound = !strcmp(value, "in");
	} else if (!strcmp(key, "count")) {
		if (parse_int(value, 0, 1000000, &v))
			return diag_set(d, "count: \"%s\" is not a number from 0 to 1000000", value);
		f->count = (unsigned)v;
	} else if (!strcmp(key, "extra_ms")) {
		if (set_once(&f->extra_line, line, key, d))
			return -1;
		if (parse_double(value, 0, 60000, &f->extra_ms))
			return diag_set(d, "extra_ms: \"%s\" is not a number of ms from 0 to 60000", value);
	} else {
		return diag_set(d, "unknown key \"%s\" in [fault.%s] (expected at, match, action, direction, count, extra_ms)",
				key, f->name);
	}
	return 0;
}


/* Keys that [run] and [matrix] share; 1 when `key` is none of them. */
static int attempts_key(struct run_spec *r, unsigned *seed, const char *key, const char *value,
			struct diag *d)
{
	char buf[512], *save = NULL, *t;
	long v;

	if (strlen(value) >= sizeof(buf))
		return diag_set(d, "%s: value too long", key);
	strcpy(buf, value);
	if (!strcmp(key, "strategies")) {
		r->n_strategies = 0;
		for (t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			if (!strategy_by_name(t)) {
				char known[128] = "";

				for (int k = 0; k < STRATEGY_COUNT; k++)
					snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
						 k ? ", " : "", strategy_table[k].name);
				return diag_set(d, "strategies: unknown strategy \"%s\" (expected %s)", t, known);
			}
			if (r->n_strategies == RUN_MAX_STRATEGIES)
				return diag_set(d, "strategies: at most %d", RUN_MAX_STRATEGIES);
			snprintf(r->strategies[r->n_strategies++], 16, "%s", t);
		}
		if (!r->n_strategies)
			return diag_set(d, "strategies: none given");
	} else if (!strcmp(key, "skew_ms")) {
		r->n_skews = 0;
		/* a comma-separated list of values and FROM:TO:STEP ranges */
		for (t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			double lo, hi, step;
			char *c1 = strchr(t, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

			if (!c1) {
				if (parse_double(t, -600000, 600000, &lo) || r->n_skews == RUN_MAX_SKEWS)
					return diag_set(d, "skew_ms: \"%s\" is not a number of ms or FROM:TO:STEP", t);
				r->skews_ms[r->n_skews++] = lo;
				continue;
			}
			if (!c2)
				return diag_set(d, "skew_ms: \"%s\" is not FROM:TO:STEP", t);
			*c1 = *c2 = '\0';
			if (parse_double(t, -600000, 600000, &lo) || parse_double(c1 + 1, -600000, 600000, &hi) ||
			    parse_double(c2 + 1, 0.001, 600000, &step) || hi < lo)
				return diag_set(d, "skew_ms: \"%s:%s:%s\" is not FROM:TO:STEP with FROM <= TO, STEP > 0",
						t, c1 + 1, c2 + 1);
			for (int k = 0; lo + k * step <= hi + step * 1e-9; k++) {
				if (r->n_skews == RUN_MAX_SKEWS)
					return diag_set(d, "skew_ms: more than %d values", RUN_MAX_SKEWS);
				r->skews_ms[r->n_skews++] = lo + k * step;
			}
		}
		if (!r->n_skews)
			return diag_set(d, "skew_ms: no value");
	} else if (!strcmp(key, "repeat")) {
		if (parse_int(value, 1, 10000, &v))
			return diag_set(d, "repeat: \"%s\" is not a number from 1 to 10000", value);
		r->repeat = (unsigned)v;
	} else if (!strcmp(key, "deadline_s")) {
		if (parse_double(value, 0.1, 600, &r->deadline_s))
			return diag_set(d, "deadline_s: \"%s\" is not a number of seconds from 0.1 to 600", value);
	} else if (!strcmp(key, "seed")) {
		if (parse_int(value, 0, 4294967295L, &v))
			return diag_set(d, "seed: \"%s\" is not a number from 0 to 4294967295", value);
		*seed = (unsigned)v;
	} else {
		return 1;
	}
	return 0;
}

static int run_key(struct scenario *s, const char *key, const char *value, int line, struct diag *d)
{
	struct run_spec *r = &s->run;
	char buf[512], *save = NULL, *t;
	int rc = attempts_key(r, &s->seed, key, value, d);

	if (rc <= 0)
		return rc;
	snprintf(buf, sizeof(buf), "%s", value);
	if (!strcmp(key, "pair")) {
		int n = 0;

		if (set_once(&r->pair_line, line, key, d))
			return -1;
		for (t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			if (n == 2 || strlen(t) >= NODE_NAME_MAX)
				return diag_set(d, "pair: expected two host names");
			snprintf(r->pair_name[n++], NODE_NAME_MAX, "%s", t);
		}
		if (n != 2)
			return diag_set(d, "pair: expected two host names");
	} else if (!strcmp(key, "server")) {
		if (set_once(&r->server_line, line, key, d))
			return -1;
		if (strlen(value) >= NODE_NAME_MAX)
			return diag_set(d, "server: no host \"%s\"", value);
		snprintf(r->server_name, NODE_NAME_MAX, "%s", value);
	} else {
		return diag_set(d, "unknown key \"%s\" in [run] (expected pair, server, strategies, skew_ms, repeat, deadline_s, seed)",
				key);
	}
	return 0;
}

static int resolve_run(struct scenario *s, struct diag *d)
{
	struct run_spec *r = &s->run;

	if (!r->line)
		return 0;
	if (!r->pair_line)
		return diag_set(d, "%s:%d: [run] has no \"pair\" (two hosts)", s->path, r->line);
	for (int i = 0; i < 2; i++) {
		r->pair[i] = scenario_find(s, r->pair_name[i]);
		if (r->pair[i] <= 0 || s->nodes[r->pair[i]].kind != NODE_HOST)
			return diag_set(d, "%s:%d: pair: no host \"%s\"", s->path, r->pair_line, r->pair_name[i]);
	}
	if (r->pair[0] == r->pair[1])
		return diag_set(d, "%s:%d: pair: two different hosts, please", s->path, r->pair_line);
	if (r->server_line) {
		r->server = scenario_find(s, r->server_name);
		if (r->server <= 0 || s->nodes[r->server].kind != NODE_HOST || s->nodes[r->server].parent)
			return diag_set(d, "%s:%d: server: \"%s\" is not a host in the internet", s->path,
					r->server_line, r->server_name);
	} else {
		r->server = 0;
		for (int i = 1; i < s->n && !r->server; i++)
			if (s->nodes[i].kind == NODE_HOST && !s->nodes[i].parent && i != r->pair[0] &&
			    i != r->pair[1])
				r->server = i;
		if (!r->server)
			return diag_set(d, "%s:%d: [run] needs a host in the internet for the rendezvous server",
					s->path, r->line);
	}
	if (!r->n_strategies) {
		snprintf(r->strategies[0], 16, "%s", strategy_table[STRATEGY_SO].name);
		r->n_strategies = 1;
	}
	if (!r->n_skews)
		r->n_skews = 1;
	if (!r->repeat)
		r->repeat = 1;
	if (!r->deadline_s)
		r->deadline_s = 5;
	return 0;
}

static int matrix_key(struct scenario *s, const char *key, const char *value, int line,
		      struct diag *d)
{
	struct matrix_spec *m = &s->matrix;
	char buf[512], *save = NULL, *t;
	int rc = attempts_key(&m->run, &s->seed, key, value, d);

	if (rc <= 0)
		return rc;
	snprintf(buf, sizeof(buf), "%s", value);
	if (!strcmp(key, "profiles")) {
		if (set_once(&m->profiles_line, line, key, d))
			return -1;
		for (t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			if (m->n_profiles == MATRIX_MAX_PROFILES || strlen(t) >= sizeof(m->profiles[0]))
				return diag_set(d, "profiles: at most %d names of at most %zu characters",
						MATRIX_MAX_PROFILES, sizeof(m->profiles[0]) - 1);
			for (int i = 0; i < m->n_profiles; i++)
				if (!strcmp(m->profiles[i], t))
					return diag_set(d, "profiles: \"%s\" twice", t);
			snprintf(m->profiles[m->n_profiles++], sizeof(m->profiles[0]), "%s", t);
		}
		if (!m->n_profiles)
			return diag_set(d, "profiles: none given");
	} else if (!strcmp(key, "pairs")) {
		if (strcmp(value, "all") && strcmp(value, "same"))
			return diag_set(d, "pairs: expected all or same, not \"%s\"", value);
		m->diagonal = !strcmp(value, "same");
	} else if (!strcmp(key, "rtt_ms")) {
		m->n_rtts = 0;
		for (t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			if (m->n_rtts == MATRIX_MAX_RTTS)
				return diag_set(d, "rtt_ms: at most %d values", MATRIX_MAX_RTTS);
			if (parse_double(t, 0, 4000, &m->rtts_ms[m->n_rtts++]))
				return diag_set(d, "rtt_ms: \"%s\" is not a number of ms from 0 to 4000", t);
		}
		if (!m->n_rtts)
			return diag_set(d, "rtt_ms: no value");
	} else {
		return diag_set(d, "unknown key \"%s\" in [matrix] (expected profiles, pairs, rtt_ms, strategies, skew_ms, repeat, deadline_s, seed)",
				key);
	}
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every preset in the profile directory, in name order. */
static int all_presets(struct matrix_spec *m)
{
	struct dirent **e;
	int n = scandir(nat_profile_dir(), &e, NULL, by_name);

	for (int i = 0; i < n; i++) {
		size_t len = strlen(e[i]->d_name);

		if (len > 8 && !strcmp(e[i]->d_name + len - 8, ".profile") &&
		    m->n_profiles < MATRIX_MAX_PROFILES && len - 8 < sizeof(m->profiles[0]))
			snprintf(m->profiles[m->n_profiles++], sizeof(m->profiles[0]), "%.*s",
				 (int)(len - 8), e[i]->d_name);
		free(e[i]);
	}
	if (n >= 0)
		free(e);
	return m->n_profiles;
}

static int resolve_matrix(struct scenario *s, struct diag *d)
{
	struct matrix_spec *m = &s->matrix;

	if (!m->line)
		return 0;
	if (s->other_line)
		return diag_set(d, "%s:%d: [matrix] builds the standard topology itself; only [lab] may stand beside it",
				s->path, s->other_line);
	if (!m->n_profiles && !all_presets(m))
		return diag_set(d, "%s:%d: [matrix]: no presets in %s", s->path, m->line, nat_profile_dir());
	for (int i = 0; i < m->n_profiles; i++) {
		struct nat_profile p;
		struct diag sub;

		switch (nat_profile_load(&p, m->profiles[i], s->dir, &sub)) {
		case 0:
			break;
		case NAT_PROFILE_EFILE:
			return diag_set(d, "%s", sub.msg);
		default:
			return diag_set(d, "%s:%d: profiles: %s", s->path,
					m->profiles_line ? m->profiles_line : m->line, sub.msg);
		}
	}
	if (!m->run.n_strategies)
		for (int i = 0; i < STRATEGY_COUNT; i++)
			if (strategy_table[i].in_matrix)
				snprintf(m->run.strategies[m->run.n_strategies++], 16, "%s", strategy_table[i].name);
	if (!m->run.n_skews)
		m->run.n_skews = 1;
	if (!m->run.repeat)
		m->run.repeat = 5;
	if (!m->run.deadline_s)
		m->run.deadline_s = 3;
	if (!m->n_rtts) {
		m->rtts_ms[m->n_rtts++] = 20;
		m->rtts_ms[m->n_rtts++] = 100;
	}
	return 0;
}

int scenario_matrix_cells(const struct scenario *m)
{
	int n = m->matrix.n_profiles;

	return (m->matrix.diagonal ? n : n * (n + 1) / 2) * m->matrix.n_rtts;
}

int scenario_matrix_cell(const struct scenario *m, int k, struct scenario *out, struct diag *d)
{
	const struct matrix_spec *mx = &m->matrix;
	int n = mx->n_profiles, n_pairs = mx->diagonal ? n : n * (n + 1) / 2;
	int pa = 0, pb = 0, p = k % n_pairs;
	double rtt = mx->rtts_ms[k / n_pairs];
	char text[1024];
	FILE *f;
	int rc;

	if (k < 0 || k >= scenario_matrix_cells(m))
		return diag_set(d, "%s: no matrix cell %d", m->path, k);
	if (mx->diagonal) {
		pa = pb = p;
	} else {
		/* the upper triangle, row by row: (0,0) (0,1) ... (1,1) ... */
		while (p >= n - pa) {
			p -= n - pa;
			pa++;
		}
		pb = pa + p;
	}
	/* each uplink a quarter of the round trip between the two sites */
	snprintf(text, sizeof(text),
		 "[lab]\nname = %s\nseed = %u\ncapture = %s\n"
		 "[nat.na]\nprofile = %s\ndelay_ms = %g\n[nat.nb]\nprofile = %s\ndelay_ms = %g\n"
		 "[host.a]\nbehind = na\n[host.b]\nbehind = nb\n[host.rv]\nbehind = internet\n"
		 "[run]\npair = a b\n",
		 m->name, m->seed, m->capture ? "on" : "off", mx->profiles[pa], rtt / 4,
		 mx->profiles[pb], rtt / 4);
	f = fmemopen(text, strlen(text), "r");
	if (!f)
		return diag_set(d, "%s: %s", m->path, strerror(errno));
	rc = scenario_load_stream(out, f, m->path, d);
	fclose(f);
	if (rc)
		return rc;
	out->run.n_strategies = mx->run.n_strategies;
	memcpy(out->run.strategies, mx->run.strategies, sizeof(out->run.strategies));
	out->run.n_skews = mx->run.n_skews;
	memcpy(out->run.skews_ms, mx->run.skews_ms, sizeof(out->run.skews_ms));
	out->run.repeat = mx->run.repeat;
	out->run.deadline_s = mx->run.deadline_s;
	out->unreachable = m->unreachable;
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
		return diag_set(d, "unknown section [%s] (expected [lab], [run], [matrix], [nat.NAME], [host.NAME] or [fault.NAME])",
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

static int lab_key(struct scenario *s, const char *key, const char *value, int line, struct diag *d)
{
	long v;

	if (!strcmp(key, "name")) {
		if (check_name(value, 17, d))
			return -1;
		snprintf(s->name, sizeof(s->name), "%s", value);
	} else if (!strcmp(key, "capture")) {
		if (parse_onoff(value, &s->capture))
			return diag_set(d, "capture: expected on or off, not \"%s\"", value);
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
	} else if (!strcmp(key, "seed")) {
		if (parse_int(value, 0, 4294967295L, &v))
			return diag_set(d, "seed: \"%s\" is not a number from 0 to 4294967295", value);
		s->seed = (unsigned)v;
	} else {
		return diag_set(d, "unknown key \"%s\" in [lab] (expected name, capture, seed, reorder, internet, "
				   "unroutable)",
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
	/* the reader registered every node section; anything else is not one */
	i = strchr(section, '.') ? scenario_find(s, strchr(section, '.') + 1) : -1;
	if (i < 0)
		return diag_set(d, "unknown section [%s]", section);
	return node_key(&s->nodes[i], key, value, line, d);
}

void scenario_node_mac(int node, unsigned char mac[6])
{
	const unsigned char m[6] = { 0x02, 0x4e, 0x4c, 0x00, (unsigned char)(node >> 8),
				     (unsigned char)node };

	memcpy(mac, m, 6);
}

bool scenario_needs_wire(const struct scenario *s)
{
	if (s->capture || s->n_faults)
		return true;
	for (int i = 1; i < s->n; i++)
		if (s->nodes[i].delay_ms || s->nodes[i].jitter_ms || s->nodes[i].loss)
			return true;
	return false;
}

/* Link keys and faults act on links into the internet, which only the wire has. */
static int resolve_wire(struct scenario *s, struct diag *d)
{
	for (int i = 1; i < s->n; i++)
		if (s->nodes[i].link_line && s->nodes[i].parent != 0)
			return diag_set(d, "%s:%d: only links into the internet are emulated; [%s.%s] is behind %s",
					s->path, s->nodes[i].link_line, node_kind_name(s->nodes[i].kind),
					s->nodes[i].name, s->nodes[s->nodes[i].parent].name);
	for (int k = 0; k < s->n_faults; k++) {
		struct wire_fault *f = &s->faults[k];

		if (!f->at_line)
			return diag_set(d, "%s:%d: [fault.%s] has no \"at\" (a node in the internet)", s->path,
					f->line, f->name);
		f->at = scenario_find(s, f->at_name);
		if (f->at <= 0 || s->nodes[f->at].parent != 0)
			return diag_set(d, "%s:%d: at: \"%s\" is not a node attached to the internet", s->path,
					f->at_line, f->at_name);
		if (!f->action_line)
			return diag_set(d, "%s:%d: [fault.%s] has no \"action\" (drop or delay)", s->path,
					f->line, f->name);
		if (f->action == FAULT_DELAY && !f->extra_line)
			return diag_set(d, "%s:%d: action = delay needs extra_ms", s->path, f->action_line);
		if (f->action == FAULT_DROP && f->extra_line)
			return diag_set(d, "%s:%d: extra_ms goes with action = delay", s->path, f->extra_line);
	}
	if (s->bridge && scenario_needs_wire(s))
		return diag_set(d, "%s:%d: internet = bridge cannot emulate links, faults or capture",
				s->path, s->bridge_line);
	return 0;
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
	return resolve_wire(s, d) || resolve_run(s, d) || resolve_matrix(s, d);
}

static void fmt_addr(char *buf, size_t len, uint32_t a, int prefix)
{
	snprintf(buf, len, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, prefix);
}

/* Addresses, in order: the internet's hosts 198.18.J.I/15 (I-th host, J-th
 * address), its NATs 198.19.0.0/15 from .1 on; the k-th NAT's inside 10.0.k.0/24
 * (a carrier NAT's, with NATs behind it: 100.64.k.0/24, RFC 6598), past k = 255 on
 * into the next second octet; a NAT with more than 250 nodes behind it gets a
 * /16 of its own (10.128.0.0/16 on, 100.96.0.0/16 on). Its .1 is the NAT, the
 * nodes behind it count from .2. */
static void plan(struct scenario *s)
{
	int k = 0, n_inet_hosts = 0, n_top_nats = 0, n_nats = 0, n_big[2] = { 0, 0 };
	static const uint32_t small_base[2] = { 10u << 24, (100u << 24) | (64u << 16) };
	static const uint32_t big_base[2] = { (10u << 24) | (128u << 16), (100u << 24) | (96u << 16) };
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
		int nested = 0;
		uint32_t net;

		if (n->kind != NODE_NAT)
			continue;
		n_nats++;
		for (int j = 1; j < s->n; j++)
			if (s->nodes[j].parent == i && s->nodes[j].kind == NODE_NAT)
				nested = 1;
		if (n->n_children > LAB_SMALL_LAN) {
			n->lan_prefix = 16;
			net = big_base[nested] + ((uint32_t)n_big[nested]++ << 16);
		} else {
			n->lan_prefix = 24;
			net = small_base[nested] + ((uint32_t)n_nats << 8);
		}
		n->lan_base = net;
		fmt_addr(n->lan_net, sizeof(n->lan_net), net, n->lan_prefix);
		fmt_addr(n->lan_addr, sizeof(n->lan_addr), net + 1, n->lan_prefix);
	}
	for (int oi = 1; oi < s->n; oi++) {
		int i = s->order[oi];
		struct lab_node *n = &s->nodes[i];
		struct lab_node *p = &s->nodes[n->parent];

		if (n->parent == 0) {
			if (n->kind == NODE_NAT) {
				fmt_addr(n->addr[0], sizeof(n->addr[0]), (198u << 24) | (19u << 16) | (uint32_t)++n_top_nats,
					 15);
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
		fmt_addr(n->addr[0], sizeof(n->addr[0]), p->lan_base + 2 + (uint32_t)child_no[n->parent]++,
			 p->lan_prefix);
		n->n_addr = 1;
		fmt_addr(n->gw, sizeof(n->gw), p->lan_base + 1, 32);
		n->gw[strcspn(n->gw, "/")] = '\0';
	}
}

static int check_plan(const struct scenario *s, struct diag *d)
{
	int n_top = 0, n_host = 0, n_nat = 0, n_big[2] = { 0, 0 };

	for (int i = 1; i < s->n; i++) {
		const struct lab_node *n = &s->nodes[i];

		n_nat += n->kind == NODE_NAT;
		n_top += n->parent == 0 && n->kind == NODE_NAT;
		n_host += n->parent == 0 && n->kind == NODE_HOST;
		n_big[n->lan_base >> 24 == 100] += n->kind == NODE_NAT && n->lan_prefix == 16;
	}
	/* what the address plan above has room for */
	if (n_host > 250)
		return diag_set(d, "%s: more than 250 hosts in the internet", s->path);
	if (n_big[0] > 64 || n_big[1] > 32 || n_nat > 8000)
		return diag_set(d, "%s: too many NATs", s->path);
	(void)n_top;
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
	/* a file with nothing in it is a mistake, not an empty lab */
	if (s->n == 1 && !s->matrix.line)
		return diag_set(d, "%s: no [host.NAME] or [nat.NAME] section: nothing to build", name);
	plan(s);
	return check_plan(s, d);
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
