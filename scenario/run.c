/* [run]: what natlab run does in the lab; and the keys of the attempts that [matrix]
 * shares with it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/strategy.h"
#include "internal.h"

/* Keys that [run] and [matrix] share; 1 when `key` is none of them. */
int attempts_key(struct scenario *s, struct run_spec *r, const char *key, const char *value, int line,
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
			const struct strategy *st = strategy_by_name(t);

			if (r->n_strategies == RUN_MAX_STRATEGIES)
				return diag_set(d, "strategies: at most %d", RUN_MAX_STRATEGIES);
			if (st && st->id != STRATEGY_EXEC)
				snprintf(r->strategies[r->n_strategies++], STRATEGY_NAME_MAX, "%s", t);
			else if (program_token(s, t, line, r->strategies[r->n_strategies++], STRATEGY_NAME_MAX, d))
				return -1;
			/* twice would double its cells' n, unevenly beside the others */
			for (int i = 0; i < r->n_strategies - 1; i++)
				if (!strcmp(r->strategies[i], r->strategies[r->n_strategies - 1]))
					return diag_set(d, "strategies: \"%s\" twice", t);
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
		/* a value in two ranges (or a range and a list) would double its cells' n */
		for (int i = 1; i < r->n_skews; i++)
			for (int j = 0; j < i; j++)
				if (fabs(r->skews_ms[i] - r->skews_ms[j]) < 1e-9)
					return diag_set(d, "skew_ms: %g twice", r->skews_ms[i]);
	} else if (!strcmp(key, "repeat")) {
		if (parse_int(value, 1, 10000, &v))
			return diag_set(d, "repeat: \"%s\" is not a number from 1 to 10000", value);
		r->repeat = (unsigned)v;
	} else if (!strcmp(key, "deadline_s")) {
		if (parse_double(value, 0.1, 600, &r->deadline_s))
			return diag_set(d, "deadline_s: \"%s\" is not a number of seconds from 0.1 to 600", value);
	} else if (!strcmp(key, "server_port") || !strcmp(key, "local_port")) {
		bool server = !strcmp(key, "server_port");

		if (parse_int(value, server, 65535, &v))
			return diag_set(d, "%s: \"%s\" is not a port from %d to 65535", key, value, server);
		*(server ? &r->server_port : &r->local_port) = (unsigned)v;
	} else if (!strcmp(key, "relay")) {
		if (strcmp(value, "builtin") && strcmp(value, "turn"))
			return diag_set(d, "relay: \"%s\" is not builtin or turn", value);
		r->relay_turn = !strcmp(value, "turn");
	} else if (!strcmp(key, "edges")) {
		if (strcmp(value, "grid") && strcmp(value, "bisect"))
			return diag_set(d, "edges: \"%s\" is not grid or bisect", value);
		r->edges_bisect = !strcmp(value, "bisect");
	} else if (!strcmp(key, "edge_resolution_ms")) {
		if (parse_double(value, EDGE_RESOLUTION_MIN_MS, 10000, &r->edge_resolution_ms))
			return diag_set(d, "edge_resolution_ms: \"%s\" is not a number of ms from %g (the lab's timing precision) to 10000",
					value, EDGE_RESOLUTION_MIN_MS);
	} else if (!strcmp(key, "seed")) {
		if (parse_int(value, 0, 4294967295L, &v))
			return diag_set(d, "seed: \"%s\" is not a number from 0 to 4294967295", value);
		s->seed = (unsigned)v;
	} else {
		return 1;
	}
	return 0;
}

/* edges = bisect searches within skew_ms's range, from 0 outwards: it needs one
 * skew besides 0 */
int resolve_edges(const struct scenario *s, struct run_spec *r, int line, struct diag *d)
{
	bool beyond_zero = false;

	if (!r->edge_resolution_ms)
		r->edge_resolution_ms = 1;
	for (int k = 0; k < r->n_skews; k++)
		beyond_zero |= r->skews_ms[k] != 0;
	if (r->edges_bisect && !beyond_zero)
		return diag_set(d, "%s:%d: edges = bisect searches within skew_ms's range: give skew_ms a range (e.g. -200:200:50)",
				s->path, line);
	return 0;
}

int run_key(struct scenario *s, const char *key, const char *value, int line, struct diag *d)
{
	struct run_spec *r = &s->run;
	char buf[512], *save = NULL, *t;
	int rc = attempts_key(s, r, key, value, line, d);

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
		return diag_set(d, "unknown key \"%s\" in [run] (expected pair, server, strategies, skew_ms, repeat, deadline_s, server_port, local_port, relay, edges, edge_resolution_ms, seed)",
				key);
	}
	return 0;
}

int resolve_run(struct scenario *s, struct diag *d)
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
		snprintf(r->strategies[0], STRATEGY_NAME_MAX, "%s", strategy_table[STRATEGY_SO].name);
		r->n_strategies = 1;
	}
	if (!r->n_skews)
		r->n_skews = 1;
	if (!r->repeat)
		r->repeat = 1;
	if (!r->deadline_s)
		r->deadline_s = 5;
	if (!r->server_port)
		r->server_port = RUN_SERVER_PORT;
	if (resolve_edges(s, r, r->line, d))
		return -1;
	if (r->relay_turn) {
		bool turn = false;

		for (int i = 1; i < s->n; i++)
			turn |= s->nodes[i].turn;
		if (!turn)
			return diag_set(d, "%s:%d: relay = turn needs a host with service = turn", s->path, r->line);
	}
	return 0;
}
