#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../run/record.h"
#include "../cli/subcommands.h"
#include "cells.h"

int samples_add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 8;
		double *more = realloc(s->v, sizeof(*more) * (size_t)cap);

		if (!more)
			return -1;
		s->v = more;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* The median; for an even count, the mean of the middle two. */
double samples_median(struct samples *s)
{
	qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_double);
	return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

/* Nearest rank: the smallest value with at least q of them at or below it. */
double samples_quantile(struct samples *s, double q)
{
	int k = (int)ceil(q * s->n);

	qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_double);
	return s->v[k ? k - 1 : 0];
}

const char *cell_verdict(const struct cell *c)
{
	if (!c->n)
		return "unmeasured";
	if (c->connected == c->n)
		return "connected";
	if (c->relayed == c->n)
		return "relayed";
	if (!c->connected && !c->relayed)
		return "failed";
	return "mixed";
}

bool cell_same_series(const struct cell *x, const struct cell *y)
{
	return !strcmp(x->scenario, y->scenario) && !strcmp(x->strategy, y->strategy) &&
	       !strcmp(x->a, y->a) && !strcmp(x->b, y->b) && x->rtt_ms == y->rtt_ms;
}

int cells_series_end(const struct cells *t, int k)
{
	int end = k + 1;

	while (end < t->n && cell_same_series(&t->c[k], &t->c[end]))
		end++;
	return end;
}

bool cell_predicted_success(const struct cell *c)
{
	return !strcmp(c->predicted, "connected") || !strcmp(c->predicted, "relayed");
}

static int cell_cmp(const void *p, const void *q)
{
	const struct cell *x = p, *y = q;
	int r = strcmp(x->scenario, y->scenario);

	if (!r)
		r = strcmp(x->strategy, y->strategy);
	if (!r)
		r = (x->rtt_ms > y->rtt_ms) - (x->rtt_ms < y->rtt_ms);
	if (!r)
		r = strcmp(x->a, y->a);
	if (!r)
		r = strcmp(x->b, y->b);
	if (!r)
		r = (x->skew_ms > y->skew_ms) - (x->skew_ms < y->skew_ms);
	return r;
}

static struct cell *cell_for(struct cells *t, const struct cell *key)
{
	for (int i = 0; i < t->n; i++)
		if (cell_same_series(&t->c[i], key) && t->c[i].skew_ms == key->skew_ms)
			return &t->c[i];
	if (t->n == t->cap) {
		int cap = t->cap ? 2 * t->cap : 64;
		struct cell *more = realloc(t->c, sizeof(*more) * (size_t)cap);

		if (!more)
			return NULL;
		t->c = more;
		t->cap = cap;
	}
	t->c[t->n] = *key;
	return &t->c[t->n++];
}

static void scenario_base(char *out, size_t len, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(base);

	if (n > 4 && !strcmp(base + n - 4, ".ini"))
		n -= 4;
	snprintf(out, len, "%.*s", (int)n, base);
}

/* One record into its cell; 1 (exit code) when out of memory. */
static int cell_add(const struct attempt_record *r, void *arg)
{
	struct cells *t = arg;
	struct cell key = { 0 }, *c;
	bool got_through = !strcmp(r->outcome, "connected") || !strcmp(r->outcome, "relayed");

	if (!strcmp(r->outcome, "lab-broken"))
		return 0; /* no measurement: the lab's wire died under it */
	if (r->edge.on != t->edges)
		return 0;

	scenario_base(key.scenario, sizeof(key.scenario), r->scenario);
	snprintf(key.strategy, sizeof(key.strategy), "%s", r->strategy);
	snprintf(key.a, sizeof(key.a), "%s", r->profile[0]);
	snprintf(key.b, sizeof(key.b), "%s", r->profile[1]);
	key.rtt_ms = r->rtt_ms;
	key.skew_ms = r->skew_ms;
	key.search.resolution_ms = r->edge.resolution_ms;
	for (int i = 0; i < 2; i++) {
		key.search.range_ms[i] = r->edge.range_ms[i];
		key.search.predicted_ms[i] = r->edge.predicted_ms[i];
	}
	c = cell_for(t, &key);
	if (!c)
		return fail(1, "out of memory");
	if (r->on_schedule == RECORD_FALSE) {
		c->off_schedule++;
		return 0;
	}
	c->n++;
	c->connected += !strcmp(r->outcome, "connected");
	c->relayed += !strcmp(r->outcome, "relayed");
	c->disagree += r->agrees == RECORD_FALSE;
	snprintf(c->predicted, sizeof(c->predicted), "%s", r->predicted);
	if (r->pick.decision[0]) {
		if (!c->pick[0] || !strcmp(c->pick, r->pick.decision))
			snprintf(c->pick, sizeof(c->pick), "%s", r->pick.decision);
		else
			snprintf(c->pick, sizeof(c->pick), "mixed");
		for (int i = 0; i < 2; i++)
			if (!isnan(r->pick.classify_s[i]) && samples_add(&c->classify_s, r->pick.classify_s[i]))
				return fail(1, "out of memory");
	}
	if (!strategy_by_name(r->strategy) || !strategy_by_name(r->strategy)->tcp) {
		c->first_try = -1; /* a datagram or a relay has no SYN to send again */
	} else if (!strcmp(r->outcome, "connected")) {
		bool first = true;

		/* each side's own word (the peer protocol's keys, prober/PROTOCOL.md) */
		for (int i = 0; i < 2; i++) {
			json_t *tries = json_object_get(r->sides[i], "tries");

			first &= r->syn_retrans[i] <= 0 && (!json_is_integer(tries) || json_integer_value(tries) <= 1);
		}
		c->first_try += first;
	}
	if (got_through && samples_add(&c->ttc, r->time_to_connect_ms))
		return fail(1, "out of memory");
	/* a side that never reported counts none */
	if (samples_add(&c->rtx, (r->syn_retrans[0] > 0 ? r->syn_retrans[0] : 0) +
					 (r->syn_retrans[1] > 0 ? r->syn_retrans[1] : 0)))
		return fail(1, "out of memory");
	return 0;
}

static int load(struct cells *t, const char *jsonl, bool edges)
{
	struct diag d;
	int rc;

	memset(t, 0, sizeof(*t));
	t->edges = edges;
	rc = record_read_file(jsonl, cell_add, t, &d);
	if (rc < 0)
		return fail(EXIT_BAD_INPUT, "%s", d.msg);
	if (!rc)
		qsort(t->c, (size_t)t->n, sizeof(*t->c), cell_cmp);
	return rc;
}

int cells_load(struct cells *t, const char *jsonl)
{
	return load(t, jsonl, false);
}

int cells_load_edges(struct cells *t, const char *jsonl)
{
	return load(t, jsonl, true);
}

void cells_free(struct cells *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->c[i].ttc.v);
		free(t->c[i].rtx.v);
		free(t->c[i].classify_s.v);
	}
	free(t->c);
	memset(t, 0, sizeof(*t));
}
