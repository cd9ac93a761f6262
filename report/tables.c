/* matrix-STRATEGY.csv and .md: a row per cell, a grid per scenario and round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/stats.h"
#include "report.h"

static void fmt_median(char *buf, size_t len, struct samples *s)
{
	if (s->n)
		snprintf(buf, len, "%.1f", samples_median(s));
	else
		snprintf(buf, len, "-");
}

/* The skew-0 cell of a and b in one scenario and round trip, either way round. */
struct cell *cell_at(const struct cells *t, const char *scen, const char *st, double rtt,
		     const char *a, const char *b)
{
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < t->n; k++) {
			struct cell *c = &t->c[k];

			if (!strcmp(c->scenario, scen) && !strcmp(c->strategy, st) && c->rtt_ms == rtt &&
			    c->skew_ms == 0 && !strcmp(c->a, pass ? b : a) && !strcmp(c->b, pass ? a : b))
				return c;
		}
	return NULL;
}

/* Profiles that meet at skew 0 in one scenario and round trip, by name. */
int grid_names(const struct cells *t, const char *scen, const char *st, double rtt,
	       char names[][64])
{
	int n = 0;

	for (int k = 0; k < t->n; k++) {
		const struct cell *c = &t->c[k];

		if (!strcmp(c->scenario, scen) && !strcmp(c->strategy, st) && c->rtt_ms == rtt &&
		    c->skew_ms == 0) {
			name_add(names, &n, c->a);
			name_add(names, &n, c->b);
		}
	}
	qsort(names, (size_t)n, 64, by_name);
	return n;
}

int write_strategy(struct cells *t, const char *dir, const char *st, FILE *findings)
{
	char name[600], names[MAX_NAMES][64];
	int rc = 0, grids = 0;
	FILE *csv, *md;

	snprintf(name, sizeof(name), "matrix-%s.csv", st);
	csv = open_out(dir, name, &rc);
	snprintf(name, sizeof(name), "matrix-%s.md", st);
	md = open_out(dir, name, &rc);
	if (rc) {
		if (csv)
			fclose(csv);
		if (md)
			fclose(md);
		return rc;
	}
	fputs("scenario,rtt_ms,skew_ms,profile_a,profile_b,n,successes,ci_low,ci_high,off_schedule,success_pct,"
	      "median_time_to_connect_ms,median_syn_retrans,verdict,predicted,disagreements\n", csv);
	fprintf(md, "# Strategy `%s`\n\nA cell: success rate [its 95 %% Wilson interval] and how many "
		    "attempts stand behind it · median time to connect · median SYN "
		    "retransmissions (both sides) · the model's prediction; **!** marks attempts that "
		    "disagree with it. Attempts off schedule (the lab did not hold its own timing in "
		    "them) are counted apart and left out. Both peers start together (skew 0); each unordered pair ran "
		    "once, so the grid is mirrored.\n", st);
	for (int k = 0; k < t->n; k++) {
		struct cell *c = &t->c[k];
		char ttc[32], rtx[32];
		double lo, hi;

		fmt_median(ttc, sizeof(ttc), &c->ttc);
		fmt_median(rtx, sizeof(rtx), &c->rtx);
		stats_wilson95((unsigned)(c->connected + c->relayed), (unsigned)c->n, &lo, &hi);
		if (!strcmp(c->strategy, st))
			fprintf(csv, "%s,%g,%g,%s,%s,%d,%d,%.1f,%.1f,%d,%.1f,%s,%s,%s,%s,%d\n", c->scenario,
				c->rtt_ms, c->skew_ms, c->a, c->b, c->n, c->connected + c->relayed, 100 * lo,
				100 * hi, c->off_schedule, pct(c), ttc, rtx, cell_verdict(c), c->predicted,
				c->disagree);
		if (!strcmp(c->strategy, st) && c->disagree)
			fprintf(findings,
				"- **%s** `%s`, %s ↔ %s, RTT %g ms, skew %g ms: %d of %d attempts "
				"disagree with the model (predicted %s, got %s)\n",
				st, c->scenario, c->a, c->b, c->rtt_ms, c->skew_ms, c->disagree, c->n,
				c->predicted, cell_verdict(c));
	}
	/* a grid per scenario and round trip where profiles meet at skew 0 */
	for (int k = 0; k < t->n; k++) {
		struct cell *c = &t->c[k];
		int n;
		bool seen = false;

		if (strcmp(c->strategy, st) || c->skew_ms != 0)
			continue;
		/* one grid per scenario and round trip: skip those out already */
		for (int j = 0; j < k && !seen; j++)
			seen = !strcmp(t->c[j].scenario, c->scenario) && !strcmp(t->c[j].strategy, st) &&
			       t->c[j].rtt_ms == c->rtt_ms && t->c[j].skew_ms == 0;
		if (seen)
			continue;
		n = grid_names(t, c->scenario, st, c->rtt_ms, names);
		grids++;
		fprintf(md, "\n## %s, RTT %g ms\n\n| a \\ b |", c->scenario, c->rtt_ms);
		for (int j = 0; j < n; j++)
			fprintf(md, " %s |", names[j]);
		fputs("\n|---|", md);
		for (int j = 0; j < n; j++)
			fputs("---|", md);
		fputc('\n', md);
		for (int i = 0; i < n; i++) {
			fprintf(md, "| **%s** |", names[i]);
			for (int j = 0; j < n; j++) {
				struct cell *x = cell_at(t, c->scenario, st, c->rtt_ms, names[i], names[j]);
				char ttc[32], rtx[32];
				double lo, hi;

				if (!x) {
					fputs(" |", md);
					continue;
				}
				if (!x->n) { /* every attempt off schedule: no rate to give */
					fprintf(md, " unmeasured (%d off schedule) · %s |", x->off_schedule, x->predicted);
					continue;
				}
				fmt_median(ttc, sizeof(ttc), &x->ttc);
				fmt_median(rtx, sizeof(rtx), &x->rtx);
				stats_wilson95((unsigned)(x->connected + x->relayed), (unsigned)x->n, &lo, &hi);
				fprintf(md, " %.0f%% [%.0f–%.0f] n=%d · %s ms · %s rtx · %s%s", pct(x), 100 * lo,
					100 * hi, x->n, ttc, rtx, x->predicted, x->disagree ? " **!**" : "");
				if (x->off_schedule)
					fprintf(md, " (%d off schedule)", x->off_schedule);
				fputs(" |", md);
			}
			fputc('\n', md);
		}
	}
	if (!grids) /* a sweep that skips 0: its cells are all in the CSV */
		fprintf(md, "\nNo grid: no attempt at skew 0 in this run. Every cell is in [matrix-%s.csv](matrix-%s.csv).\n",
			st, st);
	fclose(csv);
	fclose(md);
	return 0;
}
