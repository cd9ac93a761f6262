/* natlab report: the tables, windows and plots of a run, from its attempts.jsonl. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/outfile.h"
#include "../common/strategy.h"
#include "cells.h"
#include "../run/precision.h"
#include "subcommands.h"

static const char usage[] =
	"report RUN_DIR\n"
	"  From RUN_DIR/attempts.jsonl: matrix-STRATEGY.csv and .md (success %, median\n"
	"  time to connect, median SYN retransmissions, verdict, the model's prediction,\n"
	"  disagreements), windows.csv (the skews a punch survives, measured and\n"
	"  predicted), plots/*.svg (gnuplot) and report.md, findings first.";

#define MAX_NAMES 64

static void name_add(char names[][64], int *n, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(names[i], name))
			return;
	if (*n < MAX_NAMES)
		snprintf(names[(*n)++], 64, "%s", name);
}

static int by_name(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* Success % of the attempts on schedule; NaN when none was. */
static double pct(const struct cell *c)
{
	return c->n ? 100.0 * (c->connected + c->relayed) / c->n : NAN;
}

static bool success(const struct cell *c)
{
	return 2 * (c->connected + c->relayed) >= c->n && c->n;
}

static void fmt_median(char *buf, size_t len, struct samples *s)
{
	if (s->n)
		snprintf(buf, len, "%.1f", samples_median(s));
	else
		snprintf(buf, len, "-");
}

static FILE *open_out(const char *dir, const char *name, int *rc)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = outfile_fopen(path, 0644);
	if (!f && !*rc)
		*rc = fail(1, "%s: %s", path, strerror(errno));
	return f;
}

/* The skew-0 cell of a and b in one scenario and round trip, either way round. */
static struct cell *cell_at(const struct cells *t, const char *scen, const char *st, double rtt,
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
static int grid_names(const struct cells *t, const char *scen, const char *st, double rtt,
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

static int write_strategy(struct cells *t, const char *dir, const char *st, FILE *findings)
{
	char name[600], names[MAX_NAMES][64];
	int rc = 0;
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
	fputs("scenario,rtt_ms,skew_ms,profile_a,profile_b,attempts,off_schedule,success_pct,"
	      "median_time_to_connect_ms,median_syn_retrans,verdict,predicted,disagreements\n", csv);
	fprintf(md, "# Strategy `%s`\n\nA cell: success rate · median time to connect · median SYN "
		    "retransmissions (both sides) · the model's prediction; **!** marks attempts that "
		    "disagree with it. Attempts off schedule (the lab did not hold its own timing in "
		    "them) are counted apart and left out. Both peers start together (skew 0); each unordered pair ran "
		    "once, so the grid is mirrored.\n", st);
	for (int k = 0; k < t->n; k++) {
		struct cell *c = &t->c[k];
		char ttc[32], rtx[32];

		fmt_median(ttc, sizeof(ttc), &c->ttc);
		fmt_median(rtx, sizeof(rtx), &c->rtx);
		if (!strcmp(c->strategy, st))
			fprintf(csv, "%s,%g,%g,%s,%s,%d,%d,%.1f,%s,%s,%s,%s,%d\n", c->scenario, c->rtt_ms,
				c->skew_ms, c->a, c->b, c->n, c->off_schedule, pct(c), ttc, rtx,
				cell_verdict(c), c->predicted, c->disagree);
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

				if (!x) {
					fputs(" |", md);
					continue;
				}
				fmt_median(ttc, sizeof(ttc), &x->ttc);
				fmt_median(rtx, sizeof(rtx), &x->rtx);
				fprintf(md, " %.0f%% · %s ms · %s rtx · %s%s", pct(x), ttc, rtx,
					x->predicted, x->disagree ? " **!**" : "");
				if (x->off_schedule)
					fprintf(md, " (%d off schedule)", x->off_schedule);
				fputs(" |", md);
			}
			fputc('\n', md);
		}
	}
	fclose(csv);
	fclose(md);
	return 0;
}

/* The edges of the run of successes around skew 0 in a series sorted by skew
 * (cells from..to-1); false when skew 0 itself fails or was not tried. */
static bool window(const struct cells *t, int from, int to, bool (*ok)(const struct cell *),
		   double *lo, double *hi)
{
	int z = -1;

	for (int k = from; k < to; k++)
		if (t->c[k].skew_ms == 0)
			z = k;
	if (z < 0 || !ok(&t->c[z]))
		return false;
	*lo = *hi = 0;
	for (int k = z; k >= from && ok(&t->c[k]); k--)
		*lo = t->c[k].skew_ms;
	for (int k = z; k < to && ok(&t->c[k]); k++)
		*hi = t->c[k].skew_ms;
	return true;
}

/* How far an edge of a measured window could lie from where it is written: the
 * sweep's step to the next skew tried beyond it; -1 when nothing was tried beyond
 * (the window may be wider than the sweep). */
static double edge_step(const struct cells *t, int from, int to, double edge, int dir)
{
	for (int k = from; k < to; k++)
		if (t->c[k].skew_ms == edge)
			return k + dir >= from && k + dir < to ? fabs(t->c[k + dir].skew_ms - edge) : -1;
	return -1;
}

/* The run's timing precision for a strategy: the p95 of |emitted skew - asked|,
 * from meta.json; -1 when the run did not state it. */
static double strategy_precision(const json_t *precision, const char *strategy)
{
	json_t *x = json_object_get(json_object_get(json_object_get(precision, "emit_error_ms"), strategy), "p95");

	return json_is_number(x) ? json_number_value(x) : -1;
}

static void fmt_edge(char *buf, size_t len, double edge, double step)
{
	if (step < 0)
		snprintf(buf, len, "%s%g", edge < 0 ? "≤ " : "≥ ", edge); /* the sweep ended inside */
	else
		snprintf(buf, len, "%g", edge);
}

static int write_windows(const struct cells *t, const char *dir, FILE *rep, const json_t *precision)
{
	int rc = 0, rows = 0;
	FILE *csv = open_out(dir, "windows.csv", &rc);

	if (rc)
		return rc;
	fputs("scenario,strategy,profile_a,profile_b,rtt_ms,skews,skew_min_ms,skew_max_ms,"
	      "measured_lo_ms,measured_hi_ms,predicted_lo_ms,predicted_hi_ms,step_lo_ms,step_hi_ms,"
	      "emit_p95_ms\n", csv);
	for (int k = 0; k < t->n;) {
		int end = cells_series_end(t, k);
		double mlo, mhi, plo, phi;
		bool m, p;
		char ms[2][32] = { "-", "-" }, ps[2][32] = { "-", "-" }, steps[2][32] = { "", "" },
		     res[64] = "-", prec[32] = "", ms_csv[2][32];
		double step[2] = { -1, -1 }, emit_p95 = strategy_precision(precision, t->c[k].strategy);

		if (emit_p95 >= 0)
			snprintf(prec, sizeof(prec), "%g", emit_p95);
		if (end - k >= 3) {
			m = window(t, k, end, success, &mlo, &mhi);
			p = window(t, k, end, cell_predicted_success, &plo, &phi);
			if (m) {
				step[0] = edge_step(t, k, end, mlo, -1);
				step[1] = edge_step(t, k, end, mhi, +1);
				fmt_edge(ms[0], 32, mlo, step[0]);
				fmt_edge(ms[1], 32, mhi, step[1]);
				snprintf(ms_csv[0], 32, "%g", mlo);
				snprintf(ms_csv[1], 32, "%g", mhi);
				for (int e = 0; e < 2; e++)
					if (step[e] >= 0)
						snprintf(steps[e], 32, "%g", step[e]);
				snprintf(res, sizeof(res), "%s / %s%s%s", step[0] >= 0 ? steps[0] : "-",
					 step[1] >= 0 ? steps[1] : "-", emit_p95 >= 0 ? " · ±" : "", prec);
			}
			if (p) {
				snprintf(ps[0], 32, "%g", plo);
				snprintf(ps[1], 32, "%g", phi);
			}
			fprintf(csv, "%s,%s,%s,%s,%g,%d,%g,%g,%s,%s,%s,%s,%s,%s,%s\n", t->c[k].scenario,
				t->c[k].strategy, t->c[k].a, t->c[k].b, t->c[k].rtt_ms, end - k,
				t->c[k].skew_ms, t->c[end - 1].skew_ms, m ? ms_csv[0] : "-", m ? ms_csv[1] : "-",
				ps[0], ps[1], steps[0], steps[1], prec);
			if (!rows++)
				fputs("\n## Timing windows\n\nThe skews around 0 at which the punch "
				      "succeeds (at least half the attempts), measured and predicted; "
				      "all in ms. An edge is good to the sweep's step beyond it (lo / hi) and "
				      "to the run's timing precision (the p95 of |skew the NATs emitted − "
				      "skew asked| for the strategy); \"≥ X\" where the sweep ended inside "
				      "the window. Data: [windows.csv](windows.csv).\n\n"
				      "| scenario | strategy | a | b | RTT | measured | resolution: step lo / hi · precision | predicted |\n"
				      "|---|---|---|---|---|---|---|---|\n", rep);
			fprintf(rep, "| %s | %s | %s | %s | %g | %s … %s | %s | %s … %s |\n", t->c[k].scenario,
				t->c[k].strategy, t->c[k].a, t->c[k].b, t->c[k].rtt_ms, ms[0], ms[1], res,
				ps[0], ps[1]);
		}
		k = end;
	}
	fclose(csv);
	return 0;
}

static const char *within(bool ok)
{
	return ok ? "within" : "**outside**";
}

/* The run's own precision (meta.json), each figure beside its documented bound. */
static void write_precision(FILE *rep, const json_t *p)
{
	json_t *x, *v;
	const char *name;

	fputs("\n## Precision\n\nHow well the lab kept its own timing in this run (README, "
	      "\"Precision\"); from [meta.json](meta.json).\n\n", rep);
	if (!p) {
		fputs("This run states none (no meta.json with a precision object).\n", rep);
		return;
	}
	fputs("| figure | measured | bound | |\n|---|---|---|---|\n", rep);
	x = json_object_get(p, "timer_late_us");
	if (json_is_object(x))
		fprintf(rep, "| timer wake-up lateness at the start, p50 / p99 | %.0f / %.0f µs | p99 ≤ %d µs | %s |\n",
			json_number_value(json_object_get(x, "p50")), json_number_value(json_object_get(x, "p99")),
			PRECISION_TIMER_P99_US,
			within(json_number_value(json_object_get(x, "p99")) <= PRECISION_TIMER_P99_US));
	x = json_object_get(p, "wire_delay_error_us");
	if (json_is_object(x))
		fprintf(rep, "| the wire's delay error (applied − configured), p50 / p99, %lld frames | %lld / %lld µs | %d / %d µs | %s |\n",
			(long long)json_integer_value(json_object_get(x, "frames")),
			(long long)json_integer_value(json_object_get(x, "p50")),
			(long long)json_integer_value(json_object_get(x, "p99")), PRECISION_WIRE_P50_US,
			PRECISION_WIRE_P99_US,
			within(json_integer_value(json_object_get(x, "p50")) <= PRECISION_WIRE_P50_US &&
			       json_integer_value(json_object_get(x, "p99")) <= PRECISION_WIRE_P99_US));
	json_object_foreach(json_object_get(p, "emit_error_ms"), name, v) {
		double p50 = json_number_value(json_object_get(v, "p50")), p95 = json_number_value(json_object_get(v, "p95"));

		fprintf(rep, "| `%s`: \\|skew the NATs emitted − skew asked\\|, p50 / p95, %lld attempts | %.3f / %.3f ms | %g / %g ms | %s |\n",
			name, (long long)json_integer_value(json_object_get(v, "n")), p50, p95,
			PRECISION_EMIT_P50_MS, PRECISION_EMIT_P95_MS,
			within(p50 <= PRECISION_EMIT_P50_MS && p95 <= PRECISION_EMIT_P95_MS));
	}
	json_object_foreach(json_object_get(p, "off_schedule"), name, v)
		fprintf(rep, "| `%s`: attempts off schedule (run again) | %.1f %% | ≤ %g %% | %s |\n", name,
			100 * json_number_value(v), 100 * PRECISION_OFF_SCHEDULE,
			within(json_number_value(v) <= PRECISION_OFF_SCHEDULE));
}

/* ---- plots: data files and one gnuplot script in RUN_DIR/plots ---- */

#define MAX_RTTS 8

/* Adds a round trip to a list of distinct ones. */
static void rtt_add(double rtts[MAX_RTTS], int *n, double rtt)
{
	for (int i = 0; i < *n; i++)
		if (rtts[i] == rtt)
			return;
	if (*n < MAX_RTTS)
		rtts[(*n)++] = rtt;
}

static const char svg[] = "set terminal svg size %d,%d dynamic font 'sans,11' background '#ffffff'\n";

/* The scenario with the most skew-0 cells for a strategy: the matrix. */
static const char *matrix_scenario(const struct cells *t, const char *st)
{
	const char *best = NULL;
	int best_n = 0;

	for (int k = 0; k < t->n; k++) {
		int n = 0;

		for (int j = 0; j < t->n; j++)
			n += !strcmp(t->c[j].scenario, t->c[k].scenario) && !strcmp(t->c[j].strategy, st) &&
			     t->c[j].skew_ms == 0;
		if (n > best_n) {
			best_n = n;
			best = t->c[k].scenario;
		}
	}
	return best;
}

static void plot_heatmap(const struct cells *t, const char *dir, const char *st, FILE *gp,
			 FILE *rep)
{
	const char *scen = matrix_scenario(t, st);
	char names[MAX_NAMES][64], path[PATH_MAX + 64];
	double rtts[MAX_RTTS];
	int n_rtt = 0, n, rc = 0;
	FILE *dat;

	if (!scen)
		return;
	for (int k = 0; k < t->n; k++)
		if (!strcmp(t->c[k].scenario, scen) && !strcmp(t->c[k].strategy, st))
			rtt_add(rtts, &n_rtt, t->c[k].rtt_ms);
	snprintf(path, sizeof(path), "heatmap-%s.dat", st);
	dat = open_out(dir, path, &rc);
	if (!dat)
		return;
	fprintf(gp, svg, 560 * n_rtt, 480);
	fprintf(gp, "set output 'heatmap-%s.svg'\nset multiplot layout 1,%d title \"strategy %s: "
		    "success %% by NAT pair (%s, skew 0)\"\nset cbrange [0:100]\n"
		    "set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')\n"
		    "set xtics rotate by 45 right\nunset key\nset size ratio -1\n",
		st, n_rtt, st, scen);
	for (int r = 0; r < n_rtt; r++) {
		n = grid_names(t, scen, st, rtts[r], names);
		fprintf(dat, "# RTT %g ms\n", rtts[r]);
		for (int i = 0; i < n; i++) {
			for (int j = 0; j < n; j++) {
				struct cell *c = cell_at(t, scen, st, rtts[r], names[i], names[j]);

				if (c && c->n)
					fprintf(dat, "%d %d %.0f\n", j, i, pct(c));
				else
					fprintf(dat, "%d %d NaN\n", j, i);
			}
			fputc('\n', dat);
		}
		fputs("\n\n", dat);
		fputs("set xtics (", gp);
		for (int i = 0; i < n; i++)
			fprintf(gp, "%s'%s' %d", i ? ", " : "", names[i], i);
		fputs(")\nset ytics (", gp);
		for (int i = 0; i < n; i++)
			fprintf(gp, "%s'%s' %d", i ? ", " : "", names[i], i);
		fprintf(gp, ")\nset xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\nset title 'RTT %g ms'\n"
			    "plot 'heatmap-%s.dat' index %d using 1:2:3 with image, "
			    "'' index %d using 1:2:(sprintf('%%d', $3)) with labels\n",
			n - 1, n - 1, rtts[r], st, r, r);
	}
	fputs("unset multiplot\nunset xtics\nunset ytics\nset xtics\nset ytics\nset size noratio\n"
	      "set autoscale\nunset title\n", gp);
	fclose(dat);
	fprintf(rep, "\n![success by NAT pair, %s](plots/heatmap-%s.svg)\n", st, st);
}

/* Success against skew, one plot per round trip, a line per series with >= 3 skews. */
static void plot_windows(const struct cells *t, const char *dir, FILE *gp, FILE *rep)
{
	double rtts[MAX_RTTS];
	int n_rtt = 0, rc = 0, idx = 0;
	FILE *dat = open_out(dir, "windows.dat", &rc);

	if (!dat)
		return;
	for (int k = 0; k < t->n; k = cells_series_end(t, k))
		if (cells_series_end(t, k) - k >= 3)
			rtt_add(rtts, &n_rtt, t->c[k].rtt_ms);
	for (int r = 0; r < n_rtt; r++) {
		char titles[2048] = "", ttc[2048] = "", rtx[2048] = "";
		int first = idx;

		for (int k = 0; k < t->n;) {
			int end = cells_series_end(t, k);

			if (end - k >= 3 && t->c[k].rtt_ms == rtts[r]) {
				fprintf(dat, "# %s %s %s-%s RTT %g\n", t->c[k].scenario, t->c[k].strategy,
					t->c[k].a, t->c[k].b, t->c[k].rtt_ms);
				/* skew, success %, median SYN retransmissions, median time to connect */
				for (int j = k; j < end; j++)
					if (t->c[j].n)
						fprintf(dat, "%g %.1f %g %g\n", t->c[j].skew_ms, pct(&t->c[j]),
							samples_median(&t->c[j].rtx),
							t->c[j].ttc.n ? samples_median(&t->c[j].ttc) : NAN);
				fputs("\n\n", dat);
				snprintf(titles + strlen(titles), sizeof(titles) - strlen(titles),
					 "%s'windows.dat' index %d using 1:2 with linespoints title '%s %s ↔ %s'",
					 titles[0] ? ", " : "", idx, t->c[k].strategy, t->c[k].a, t->c[k].b);
				snprintf(ttc + strlen(ttc), sizeof(ttc) - strlen(ttc),
					 "%s'windows.dat' index %d using 1:4 with points title '%s %s ↔ %s'",
					 ttc[0] ? ", " : "", idx, t->c[k].strategy, t->c[k].a, t->c[k].b);
				snprintf(rtx + strlen(rtx), sizeof(rtx) - strlen(rtx),
					 "%s'windows.dat' index %d using 1:3 with linespoints title '%s %s ↔ %s'",
					 rtx[0] ? ", " : "", idx++, t->c[k].strategy, t->c[k].a, t->c[k].b);
			}
			k = end;
		}
		if (idx == first)
			continue;
		fprintf(gp, svg, 1100, 900);
		fprintf(gp, "set output 'window-rtt%g.svg'\nset multiplot layout 2,2 title 'against "
			    "skew (b starts later by skew), RTT %g ms'\nset key center right "
			    "font ',9'\nset yrange [-5:105]\nset ylabel 'success %%'\nset xlabel 'skew (ms)'\n"
			    "set xrange [*:*]\nset title 'success, whole sweep'\nplot %s\nset title 'success around 0'\n"
			    "set xrange [%g:%g]\nunset key\nplot %s\nset xrange [*:*]\nset yrange [0:*]\n"
			    "set title 'time to connect (median of the successes)'\nset ylabel 'ms'\n"
			    "plot %s\nset title 'SYN retransmissions (median, both sides)'\n"
			    "set ylabel 'retransmissions'\nplot %s\nunset multiplot\nset autoscale\n"
			    "unset xlabel\nunset ylabel\nunset title\n",
			rtts[r], rtts[r], titles, -2 * rtts[r], 2 * rtts[r], titles, ttc, rtx);
		fprintf(rep, "\n![success, time to connect and SYN retransmissions against skew, RTT %g ms]"
			     "(plots/window-rtt%g.svg)\n", rtts[r], rtts[r]);
	}
	fclose(dat);
}

/* Distributions: SYN retransmissions per attempt and time to connect, by strategy. */
static void plot_distributions(const struct cells *t, const char *dir, FILE *gp, FILE *rep)
{
	char st[8][64];
	int n_st = 0, rc = 0;
	FILE *dat = open_out(dir, "distributions.dat", &rc);

	if (!dat)
		return;
	for (int k = 0; k < t->n; k++)
		if (strategy_by_name(t->c[k].strategy) && strategy_by_name(t->c[k].strategy)->tcp && n_st < 8)
			name_add(st, &n_st, t->c[k].strategy);
	/* block 0: a row per retransmission count, a column per strategy */
	fputs("# rtx", dat);
	for (int s = 0; s < n_st; s++)
		fprintf(dat, " %s", st[s]);
	fputc('\n', dat);
	for (int r = 0; r <= 8; r++) {
		fprintf(dat, "%d", r);
		for (int s = 0; s < n_st; s++) {
			int count = 0;

			for (int k = 0; k < t->n; k++)
				if (!strcmp(t->c[k].strategy, st[s]))
					for (int i = 0; i < t->c[k].rtx.n; i++)
						count += r == 8 ? t->c[k].rtx.v[i] >= 8
								: (int)t->c[k].rtx.v[i] == r;
			fprintf(dat, " %d", count);
		}
		fputc('\n', dat);
	}
	fputs("\n\n", dat);
	/* blocks 1..: each strategy's times to connect, sorted, with their rank */
	for (int s = 0; s < n_st; s++) {
		struct samples all = { 0 };

		for (int k = 0; k < t->n; k++)
			if (!strcmp(t->c[k].strategy, st[s]))
				for (int i = 0; i < t->c[k].ttc.n; i++)
					if (samples_add(&all, t->c[k].ttc.v[i]))
						break; /* out of memory: a shorter curve */
		if (all.n)
			samples_median(&all); /* sorts */
		fprintf(dat, "# %s\n", st[s]);
		for (int i = 0; i < all.n; i++)
			fprintf(dat, "%g %g\n", all.v[i], 100.0 * (i + 1) / all.n);
		fputs(all.n ? "\n\n" : "NaN NaN\n\n\n", dat);
		free(all.v);
	}
	fclose(dat);
	if (!n_st)
		return;
	fprintf(gp, svg, 1100, 450);
	fputs("set output 'distributions.svg'\nset multiplot layout 1,2\n"
	      "set title 'SYN retransmissions per attempt (both sides)'\nset style data histograms\n"
	      "set style histogram clustered\nset style fill solid 0.8\nset xlabel 'retransmissions (8: 8 or more)'\n"
	      "set ylabel 'attempts'\nset yrange [0:*]\nset key top right\nplot ", gp);
	for (int s = 0; s < n_st; s++)
		fprintf(gp, "%s'distributions.dat' index 0 using %d:xtic(1) title '%s'", s ? ", " : "",
			s + 2, st[s]);
	fputs("\nset autoscale y\nset style data lines\nset title 'time to connect (successes)'\nset logscale x\n"
	      "set xlabel 'ms'\nset ylabel 'attempts connected by then (%)'\nset key bottom right\nplot ", gp);
	for (int s = 0; s < n_st; s++)
		fprintf(gp, "%s'distributions.dat' index %d using 1:2 with steps title '%s'",
			s ? ", " : "", s + 1, st[s]);
	fputs("\nunset multiplot\nunset logscale x\n", gp);
	fputs("\n![SYN retransmissions and time to connect](plots/distributions.svg)\n", rep);
}

/* Runs gnuplot on plots/plots.gp in the plots folder; false when it is missing or fails. */
static bool gnuplot(const char *dir)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (chdir(dir) || null < 0 || dup2(null, 1) < 0)
			_exit(127);
		execlp("gnuplot", "gnuplot", "plots.gp", (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       !WEXITSTATUS(status);
}

int report_main(int argc, char *argv[])
{
	char path[PATH_MAX + 64], strategies[8][64], plots[PATH_MAX + 16];
	struct cells t;
	int n_st = 0, rc, attempts = 0, off = 0;
	FILE *rep = NULL, *gp = NULL, *findings = NULL;
	json_t *meta, *precision;
	json_error_t jerr;
	char *fbuf = NULL;
	size_t flen = 0;

	if (want_help(argc, argv, usage))
		return 0;
	if (argc != 2 || argv[1][0] == '-')
		return usage_error(usage);
	snprintf(path, sizeof(path), "%s/meta.json", argv[1]);
	meta = json_load_file(path, 0, &jerr);
	precision = json_object_get(meta, "precision");
	snprintf(path, sizeof(path), "%s/attempts.jsonl", argv[1]);
	rc = cells_load(&t, path);
	if (rc) {
		json_decref(meta);
		return rc;
	}
	for (int k = 0; k < t.n; k++) {
		name_add(strategies, &n_st, t.c[k].strategy);
		attempts += t.c[k].n + t.c[k].off_schedule;
		off += t.c[k].off_schedule;
	}
	qsort(strategies, (size_t)n_st, 64, by_name);
	findings = open_memstream(&fbuf, &flen);
	rep = open_out(argv[1], "report.md.new", &rc);
	snprintf(plots, sizeof(plots), "%s/plots", argv[1]);
	if (!rc && mkdir(plots, 0755) && errno != EEXIST)
		rc = fail(1, "%s: %s", plots, strerror(errno));
	gp = rc ? NULL : open_out(plots, "plots.gp", &rc);
	if (!findings && !rc)
		rc = fail(1, "out of memory");
	for (int k = 0; k < n_st && !rc; k++)
		rc = write_strategy(&t, argv[1], strategies[k], findings);
	if (!rc) {
		FILE *body;
		char *bbuf = NULL;
		size_t blen = 0;

		body = open_memstream(&bbuf, &blen);
		fputs("\n## Success by NAT type\n\nEach strategy's table: success %, median time to "
		      "connect, median SYN retransmissions, verdict and the model's prediction.\n\n", body);
		for (int k = 0; k < n_st; k++)
			fprintf(body, "- `%s`: [table](matrix-%s.md), [CSV](matrix-%s.csv)\n", strategies[k],
				strategies[k], strategies[k]);
		for (int k = 0; k < n_st; k++)
			plot_heatmap(&t, plots, strategies[k], gp, body);
		rc = write_windows(&t, argv[1], body, precision);
		plot_windows(&t, plots, gp, body);
		fputs("\n## Distributions\n", body);
		plot_distributions(&t, plots, gp, body);
		fclose(body);
		fclose(gp);
		gp = NULL;
		fclose(findings);
		findings = NULL;
		struct stat st;

		fputs("# natlab run report\n\n", rep);
		if (json_array_size(json_object_get(precision, "warnings"))) {
			fputs("> **Warning: this run did not keep the precision natlab documents.** Its "
			      "figures are in [Precision](#precision); the records say which attempts "
			      "were affected (`on_schedule`, `timing`).\n>\n", rep);
			precision_print_warnings(rep, precision, "> - ");
			fputc('\n', rep);
		}
		fprintf(rep, "%d attempts in %d cells (%d off schedule: the lab "
			     "did not hold its own timing in them, so the tables leave them out). "
			     "Records: [attempts.jsonl](attempts.jsonl)", attempts, t.n, off);
		snprintf(path, sizeof(path), "%s/meta.json", argv[1]);
		if (!stat(path, &st))
			fputs("; run facts: [meta.json](meta.json)", rep);
		snprintf(path, sizeof(path), "%s/pcap", argv[1]);
		if (!stat(path, &st))
			fputs("; captures of failed attempts: [pcap/](pcap/)", rep);
		snprintf(path, sizeof(path), "%s/check.txt", argv[1]);
		if (!stat(path, &st))
			fputs("; verdicts against scenarios/expected: [check.txt](check.txt)", rep);
		fprintf(rep, ".\n\n## Findings\n\nCells whose outcome the behaviour model did not "
			     "predict (a NAT bug reproduced, or a model error):\n\n%s",
			flen ? fbuf : "- none\n");
		fputs(bbuf ? bbuf : "", rep);
		free(bbuf);
		write_precision(rep, precision);
		if (!gnuplot(plots))
			fprintf(stderr, "natlab: gnuplot failed or is missing (gnuplot-nox); the plots in %s are not drawn\n",
				plots);
	}
	if (gp)
		fclose(gp);
	if (findings)
		fclose(findings);
	free(fbuf);
	if (rep) {
		char final[PATH_MAX + 64];

		fclose(rep);
		/* whole or not at all: written aside, then renamed over the old one */
		snprintf(path, sizeof(path), "%s/report.md.new", argv[1]);
		snprintf(final, sizeof(final), "%s/report.md", argv[1]);
		if (!rc && rename(path, final))
			rc = fail(1, "%s: %s", final, strerror(errno));
	}
	cells_free(&t);
	json_decref(meta);
	return rc;
}
