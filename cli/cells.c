#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "subcommands.h"

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

int cells_load(struct cells *t, const char *jsonl)
{
	FILE *f = fopen(jsonl, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	memset(t, 0, sizeof(*t));
	if (!f)
		return fail(EXIT_BAD_INPUT, "%s: %s", jsonl, strerror(errno));
	while (!rc && getline(&line, &cap, f) > 0) {
		json_error_t err;
		json_t *r = json_loads(line, 0, &err), *prof, *rtx;
		const char *scen, *st, *a, *b, *outcome, *pred;
		struct cell key = { 0 }, *c;

		lineno++;
		if (!r) {
			rc = fail(EXIT_BAD_INPUT, "%s:%d: %s", jsonl, lineno, err.text);
			break;
		}
		prof = json_object_get(r, "profiles");
		scen = json_string_value(json_object_get(r, "scenario"));
		st = json_string_value(json_object_get(r, "strategy"));
		a = json_string_value(json_object_get(prof, "a"));
		b = json_string_value(json_object_get(prof, "b"));
		outcome = json_string_value(json_object_get(r, "outcome"));
		pred = json_string_value(json_object_get(r, "predicted"));
		rtx = json_object_get(r, "syn_retrans");
		if (!scen || !st || !a || !b || !outcome ||
		    !json_is_number(json_object_get(r, "rtt_ms")) ||
		    !json_is_number(json_object_get(r, "skew_ms"))) {
			json_decref(r);
			rc = fail(EXIT_BAD_INPUT, "%s:%d: not an attempt record", jsonl, lineno);
			break;
		}
		scenario_base(key.scenario, sizeof(key.scenario), scen);
		snprintf(key.strategy, sizeof(key.strategy), "%s", st);
		snprintf(key.a, sizeof(key.a), "%s", a);
		snprintf(key.b, sizeof(key.b), "%s", b);
		key.rtt_ms = json_number_value(json_object_get(r, "rtt_ms"));
		key.skew_ms = json_number_value(json_object_get(r, "skew_ms"));
		c = cell_for(t, &key);
		if (!c) {
			json_decref(r);
			rc = fail(1, "out of memory");
			break;
		}
		if (json_is_false(json_object_get(r, "on_schedule"))) {
			c->off_schedule++;
			json_decref(r);
			continue;
		}
		c->n++;
		c->connected += !strcmp(outcome, "connected");
		c->relayed += !strcmp(outcome, "relayed");
		c->disagree += json_is_false(json_object_get(r, "agrees"));
		snprintf(c->predicted, sizeof(c->predicted), "%s", pred ? pred : "unknown");
		if ((!strcmp(outcome, "connected") || !strcmp(outcome, "relayed")) &&
		    samples_add(&c->ttc, json_number_value(json_object_get(r, "time_to_connect_ms"))))
			rc = fail(1, "out of memory");
		if (samples_add(&c->rtx, json_number_value(json_object_get(rtx, "a")) +
						 json_number_value(json_object_get(rtx, "b"))))
			rc = fail(1, "out of memory");
		json_decref(r);
	}
	free(line);
	fclose(f);
	if (!rc)
		qsort(t->c, (size_t)t->n, sizeof(*t->c), cell_cmp);
	return rc;
}

void cells_free(struct cells *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->c[i].ttc.v);
		free(t->c[i].rtx.v);
	}
	free(t->c);
	memset(t, 0, sizeof(*t));
}
