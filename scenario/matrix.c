/* [matrix]: the standard topology, one lab per profile pair and round trip; its
 * defaults, and each cell as a scenario of its own. */
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strategy.h"
#include "internal.h"

int matrix_key(struct scenario *s, const char *key, const char *value, int line,
	       struct diag *d)
{
	struct matrix_spec *m = &s->matrix;
	char buf[512], *save = NULL, *t;
	int rc = attempts_key(s, &m->run, key, value, line, d);

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
		m->rtts_line = line;
		m->n_rtts = 0;
		for (t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
			if (m->n_rtts == MATRIX_MAX_RTTS)
				return diag_set(d, "rtt_ms: at most %d values", MATRIX_MAX_RTTS);
			if (parse_double(t, 0, 4000, &m->rtts_ms[m->n_rtts++]))
				return diag_set(d, "rtt_ms: \"%s\" is not a number of ms from 0 to 4000", t);
			for (int i = 0; i < m->n_rtts - 1; i++)
				if (m->rtts_ms[i] == m->rtts_ms[m->n_rtts - 1])
					return diag_set(d, "rtt_ms: %g twice", m->rtts_ms[i]);
		}
		if (!m->n_rtts)
			return diag_set(d, "rtt_ms: no value");
	} else if (!strcmp(key, "link")) {
		struct link_preset p;

		if (link_preset_load(value, &p, d))
			return -1;
		snprintf(m->link, sizeof(m->link), "%s", value);
		m->link_line = line;
	} else if (!strcmp(key, "loss") || !strcmp(key, "jitter_ms")) {
		double v;

		if (link_figure(key, value, &v, d) < 0)
			return -1;
		snprintf(!strcmp(key, "loss") ? m->loss : m->jitter_ms, sizeof(m->loss), "%.17g", v);
	} else {
		return diag_set(d, "unknown key \"%s\" in [matrix] (expected profiles, pairs, rtt_ms, strategies, skew_ms, repeat, deadline_s, server_port, local_port, relay, edges, edge_resolution_ms, link, loss, jitter_ms, seed)",
				key);
	}
	return 0;
}

/* Every preset in the profile directory, in name order. */
static int all_presets(struct matrix_spec *m)
{
	return m->n_profiles = nat_profile_presets(m->profiles, MATRIX_MAX_PROFILES);
}

int resolve_matrix(struct scenario *s, struct diag *d)
{
	struct matrix_spec *m = &s->matrix;

	if (!m->line)
		return 0;
	if (s->other_line)
		return diag_set(d, "%s:%d: [matrix] builds the standard topology itself; only [lab] and [strategy.NAME] may stand beside it",
				s->path, s->other_line);
	if (!m->n_profiles && !all_presets(m)) {
		char dir[PATH_MAX];

		return diag_set(d, "%s:%d: [matrix]: no presets in %s", s->path, m->line,
				nat_profile_dir(dir, sizeof(dir)));
	}
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
				snprintf(m->run.strategies[m->run.n_strategies++], STRATEGY_NAME_MAX, "%s", strategy_table[i].name);
	if (!m->run.n_skews)
		m->run.n_skews = 1;
	if (!m->run.repeat)
		m->run.repeat = 5;
	if (!m->run.deadline_s)
		m->run.deadline_s = 3;
	if (!m->run.server_port)
		m->run.server_port = RUN_SERVER_PORT;
	if (resolve_edges(s, &m->run, m->line, d))
		return -1;
	if (m->link[0]) {
		struct link_preset p;
		struct diag sub;

		if (m->rtts_line)
			return diag_set(d, "%s:%d: link = %s sets the links' delay, so the round trip: leave out rtt_ms",
					s->path, m->rtts_line, m->link);
		if (link_preset_load(m->link, &p, &sub))
			return diag_set(d, "%s:%d: %s", s->path, m->link_line, sub.msg);
		/* each uplink a quarter of the round trip between the sites */
		m->rtts_ms[m->n_rtts++] = 4 * p.delay_ms;
		if (!m->loss[0])
			snprintf(m->loss, sizeof(m->loss), "%.17g", p.loss);
		if (!m->jitter_ms[0])
			snprintf(m->jitter_ms, sizeof(m->jitter_ms), "%.17g", p.jitter_ms);
		if (p.rate_mbit > 0)
			snprintf(m->rate_mbit, sizeof(m->rate_mbit), "%.17g", p.rate_mbit);
	}
	if (!m->n_rtts) {
		m->rtts_ms[m->n_rtts++] = 20;
		m->rtts_ms[m->n_rtts++] = 100;
	}
	/* the cells' links are the wire's: said here, not as each cell's refusal */
	for (int i = 0; s->bridge && i < m->n_rtts; i++)
		if (m->rtts_ms[i] || strtod(m->loss, NULL) || strtod(m->jitter_ms, NULL) || m->rate_mbit[0])
			return diag_set(d, "%s:%d: internet = bridge emulates no link: a [matrix] through it needs "
					   "rtt_ms = 0 and no loss, jitter_ms or link",
					s->path, s->bridge_line);
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
	char seed[16], delay[32];
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
	/* each uplink a quarter of the round trip between the two sites; an error
	 * in a cell points at the [matrix] line that made it */
	snprintf(seed, sizeof(seed), "%u", m->seed);
	snprintf(delay, sizeof(delay), "%g", rtt / 4);
	{
		int at = mx->line, pl = mx->profiles_line ? mx->profiles_line : mx->line;
		/* none: the links' own defaults, 0 */
		const char *loss = mx->loss[0] ? mx->loss : "0", *jitter = mx->jitter_ms[0] ? mx->jitter_ms : "0";
		const struct scenario_entry cell[] = {
			{ "lab", NULL, NULL, at },
			{ "lab", "name", m->name, at },
			{ "lab", "seed", seed, at },
			{ "lab", "capture", scenario_capture_name(m), at },
			{ "lab", "reorder", m->reorder ? "on" : "off", at },
			/* a bridge takes no delay: a cell with a round trip is refused at this line */
			{ "lab", "internet", m->bridge ? "bridge" : "wire", m->bridge ? m->bridge_line : at },
			{ "nat.na", NULL, NULL, at },
			{ "nat.na", "profile", mx->profiles[pa], pl },
			{ "nat.na", "delay_ms", delay, at },
			{ "nat.na", "loss", loss, at },
			{ "nat.na", "jitter_ms", jitter, at },
			{ "nat.nb", NULL, NULL, at },
			{ "nat.nb", "profile", mx->profiles[pb], pl },
			{ "nat.nb", "delay_ms", delay, at },
			{ "nat.nb", "loss", loss, at },
			{ "nat.nb", "jitter_ms", jitter, at },
			{ "host.a", NULL, NULL, at },
			{ "host.a", "behind", "na", at },
			{ "host.b", NULL, NULL, at },
			{ "host.b", "behind", "nb", at },
			{ "host.rv", NULL, NULL, at },
			{ "host.rv", "behind", "internet", at },
			/* two addresses: a STUN server that can tell mapping and filtering (auto's classify) */
			{ "host.rv", "addresses", "2", at },
			{ "run", NULL, NULL, at },
			{ "run", "pair", "a b", at },
			/* relay = turn: a TURN server of its own in the internet */
			{ "host.turn", NULL, NULL, at },
			{ "host.turn", "behind", "internet", at },
			{ "host.turn", "service", "turn", at },
		};
		int n_cell = (int)(sizeof(cell) / sizeof(cell[0])) - (mx->run.relay_turn ? 0 : 3);

		rc = scenario_from_entries(out, m->path, cell, n_cell, d);
	}
	if (rc)
		return rc;
	/* link = NAME with a bandwidth: both NATs' links limited so */
	for (int i = 0; mx->rate_mbit[0] && i < 2; i++)
		out->nodes[scenario_find(out, i ? "nb" : "na")].rate_mbit = strtod(mx->rate_mbit, NULL);
	out->run.n_strategies = mx->run.n_strategies;
	memcpy(out->run.strategies, mx->run.strategies, sizeof(out->run.strategies));
	out->run.n_skews = mx->run.n_skews;
	memcpy(out->run.skews_ms, mx->run.skews_ms, sizeof(out->run.skews_ms));
	out->run.repeat = mx->run.repeat;
	out->run.deadline_s = mx->run.deadline_s;
	out->run.server_port = mx->run.server_port;
	out->run.local_port = mx->run.local_port;
	out->run.relay_turn = mx->run.relay_turn;
	out->run.edges_bisect = mx->run.edges_bisect;
	out->run.edge_resolution_ms = mx->run.edge_resolution_ms;
	out->n_programs = m->n_programs;
	memcpy(out->programs, m->programs, sizeof(out->programs));
	out->unreachable = m->unreachable;
	out->cpus = m->cpus;
	out->cpus_line = m->cpus_line;
	out->wire_cpus = m->wire_cpus;
	out->wire_cpus_line = m->wire_cpus_line;
	return 0;
}
