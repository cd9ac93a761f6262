/* population.csv and the report's population section: each strategy's expected
 * success over a population of NATs (a mix file: shares of presets, with its
 * source), from the run's measured skew-0 cells of every pair in the mix. Two
 * peers draw their NATs from the mix independently, so pair (a, b) weighs
 * share(a) x share(b); the interval sums the cells' Wilson bounds with the same
 * weights, which is wider than the truth (it takes every cell at its bound at
 * once) and leaves out the mix's own sampling error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/subcommands.h"
#include "../common/inifile.h"
#include "../common/stats.h"
#include "../natsim/profile.h"
#include "report.h"

#define MIX_MAX 16
#define MIX_PUBLISHED 4

struct nat_mix {
	char name[128], source[512];
	char published[MIX_PUBLISHED][512];
	int n_published, n, shares_line;
	char profile[MIX_MAX][64];
	double share[MIX_MAX]; /* % */
	char section[16];
};

static int mix_section(void *user, const char *section, int line, struct diag *d)
{
	struct nat_mix *m = user;

	if (strcmp(section, "mix") && strcmp(section, "shares"))
		return diag_set(d, "unknown section [%s] (expected [mix] and [shares])", section);
	if (!strcmp(section, "shares"))
		m->shares_line = line;
	snprintf(m->section, sizeof(m->section), "%s", section);
	return 0;
}

static int mix_key(void *user, const char *section, const char *key, const char *value, int line,
		   struct diag *d)
{
	struct nat_mix *m = user;
	char *end;

	(void)line;
	if (!m->section[0])
		return diag_set(d, "\"%s\" outside [mix] and [shares]", key);
	if (!strcmp(section, "mix")) {
		if (!strcmp(key, "name"))
			snprintf(m->name, sizeof(m->name), "%s", value);
		else if (!strcmp(key, "source"))
			snprintf(m->source, sizeof(m->source), "%s", value);
		else if (!strcmp(key, "published") && m->n_published == MIX_PUBLISHED)
			return diag_set(d, "published: at most %d lines", MIX_PUBLISHED);
		else if (!strcmp(key, "published"))
			snprintf(m->published[m->n_published++], sizeof(m->published[0]), "%s", value);
		else
			return diag_set(d, "unknown key \"%s\" in [mix] (expected name, source, published)", key);
		return 0;
	}
	if (m->n == MIX_MAX)
		return diag_set(d, "more than %d NATs in a mix", MIX_MAX);
	if (strlen(key) >= sizeof(m->profile[0]))
		return diag_set(d, "\"%s\": not a preset", key);
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->profile[i], key))
			return diag_set(d, "%s twice", key);
	{
		struct nat_profile p;
		struct diag sub;

		/* a preset's name, as the run's tables have them: a typo would match nothing */
		if (strchr(key, '/') || nat_profile_load(&p, key, NULL, &sub))
			return diag_set(d, "no preset \"%s\" (natlab presets lists them)", key);
	}
	m->share[m->n] = strtod(value, &end);
	if (end == value || *end || !(m->share[m->n] > 0) || m->share[m->n] > 100)
		return diag_set(d, "%s: \"%s\" is not a share in %% (above 0, at most 100)", key, value);
	snprintf(m->profile[m->n++], sizeof(m->profile[0]), "%s", key);
	return 0;
}

/* A mix file; 0, or -1 with "FILE:LINE: ..." or "FILE: ..." in d. */
static int mix_load(const char *path, struct nat_mix *m, struct diag *d)
{
	struct ini_cb cb = { mix_section, mix_key, m };
	double sum = 0;

	memset(m, 0, sizeof(*m));
	if (ini_file_parse(path, &cb, d))
		return -1;
	if (!m->name[0] || !m->source[0])
		return diag_set(d, "%s: a mix names itself and its source ([mix] name, source)", path);
	if (!m->n)
		return diag_set(d, "%s: no [shares]", path);
	for (int i = 0; i < m->n; i++)
		sum += m->share[i];
	if (fabs(sum - 100) > 0.05)
		return diag_set(d, "%s:%d: the shares sum to %g %%, not 100", path, m->shares_line, sum);
	return 0;
}

struct estimate {
	double pct, lo, hi; /* direct connections, % (the weights are shares in %) */
	double relayed;     /* through the relay, % */
	int pairs;          /* cells measured of the mix's pairs */
};

/* The mix over one scenario, strategy and round trip; false where a pair of it
 * was not measured at skew 0 (the population is not covered). */
static bool mix_estimate(const struct cells *t, const struct nat_mix *m, const char *scen, const char *st,
			 double rtt, struct estimate *e)
{
	*e = (struct estimate){ 0 };
	for (int i = 0; i < m->n; i++)
		for (int j = 0; j < m->n; j++) {
			const struct cell *c = cell_at(t, scen, st, rtt, m->profile[i], m->profile[j]);
			double w = m->share[i] * m->share[j] / 100, lo, hi;
			int ok;

			if (!c || !c->n)
				return false;
			ok = c->connected;
			stats_wilson95((unsigned)ok, (unsigned)c->n, &lo, &hi);
			e->pct += w * ok / c->n;
			e->relayed += w * c->relayed / c->n;
			e->lo += w * lo;
			e->hi += w * hi;
			e->pairs += j >= i;
		}
	return true;
}

/* The mixes natlab ships: beside the presets, in ../mixes */
static int shipped_mixes(char paths[][PATH_MAX], int max)
{
	char dir[PATH_MAX], buf[PATH_MAX], names[8][64];
	int n;

	snprintf(dir, sizeof(dir), "%s/../mixes", nat_profile_dir(buf, sizeof(buf)));
	n = natsim_names(dir, ".mix", names, max < 8 ? max : 8);
	for (int i = 0; i < n; i++)
		snprintf(paths[i], PATH_MAX, "%.3000s/%.64s.mix", dir, names[i]);
	return n;
}

int population_check(const char *const *mix_paths, int n_paths)
{
	for (int p = 0; p < n_paths; p++) {
		struct nat_mix m;
		struct diag d;

		if (mix_load(mix_paths[p], &m, &d))
			return fail(EXIT_BAD_INPUT, "%s", d.msg);
	}
	return 0;
}

int write_population(const struct cells *t, const char *dir, const char *const *mix_paths, int n_paths,
		     FILE *rep)
{
	char shipped[8][PATH_MAX];
	const char *paths[8];
	int rc = 0, rows = 0;
	FILE *csv;

	if (!mix_paths) {
		n_paths = shipped_mixes(shipped, 8);
		for (int i = 0; i < n_paths; i++)
			paths[i] = shipped[i];
		mix_paths = paths;
	}
	csv = open_out(dir, "population.csv", &rc);
	if (rc)
		return rc;
	fputs("mix,strategy,scenario,rtt_ms,direct_pct,ci_low,ci_high,relayed_pct,pairs\n", csv);
	for (int p = 0; p < n_paths; p++) {
		struct nat_mix m;
		struct diag d;
		bool head = false;

		if (mix_load(mix_paths[p], &m, &d)) {
			rc = fail(EXIT_BAD_INPUT, "%s", d.msg);
			break;
		}
		/* every series at skew 0 the mix's pairs were all measured in */
		for (int k = 0; k < t->n; k++) {
			const struct cell *c = &t->c[k];
			struct estimate e;
			bool seen = false;

			if (c->skew_ms != 0)
				continue;
			for (int j = 0; j < k && !seen; j++)
				seen = t->c[j].skew_ms == 0 && !strcmp(t->c[j].scenario, c->scenario) &&
				       !strcmp(t->c[j].strategy, c->strategy) && t->c[j].rtt_ms == c->rtt_ms;
			if (seen || !mix_estimate(t, &m, c->scenario, c->strategy, c->rtt_ms, &e))
				continue;
			if (!head) {
				if (!rows)
					fputs("\n## Over a population of NATs\n\nHow often each strategy connects the "
					      "peers directly (and how often through the relay) when both peers' NATs "
					      "are drawn from a published population (a mix: shares of presets), from "
					      "this run's cells at skew 0: pair (a, b) weighs share(a) × share(b). "
					      "The interval sums the cells' 95 % Wilson bounds "
					      "with the same weights (wider than the truth) and leaves out the "
					      "mix's own sampling error. Data: [population.csv](population.csv).\n", rep);
				fprintf(rep, "\n### %s\n\nSource: %s. Shares:", m.name, m.source);
				for (int i = 0; i < m.n; i++)
					fprintf(rep, "%s %s %g %%", i ? "," : "", m.profile[i], m.share[i]);
				fputs(".\n\n", rep);
				for (int i = 0; i < m.n_published; i++)
					fprintf(rep, "- Published: %s\n", m.published[i]);
				fputs("\n| strategy | scenario | RTT | direct [95 % bounds] | relayed | pairs |\n"
				      "|---|---|---|---|---|---|\n", rep);
				head = true;
			}
			fprintf(rep, "| %s | %s | %g | %.0f%% [%.0f–%.0f] | %.0f%% | %d |\n", c->strategy, c->scenario,
				c->rtt_ms, e.pct, e.lo, e.hi, e.relayed, e.pairs);
			fprintf(csv, "\"%s\",%s,%s,%g,%.1f,%.1f,%.1f,%.1f,%d\n", m.name, c->strategy, c->scenario,
				c->rtt_ms, e.pct, e.lo, e.hi, e.relayed, e.pairs);
			rows++;
		}
		if (!head)
			fprintf(rep, "\n(Population \"%s\": no series of this run measured every pair of its NATs at "
				     "skew 0, so no estimate.)\n", m.name);
	}
	fclose(csv);
	return rc;
}
