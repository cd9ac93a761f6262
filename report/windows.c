/* windows.csv and the report's window table: the skews around 0 a punch survives. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

static bool success(const struct cell *c)
{
	return 2 * (c->connected + c->relayed) >= c->n && c->n;
}

/* A probed skew got through as the search decided it: a strict majority (a tie
 * is not through: an edge is never claimed wider than measured) */
static bool searched_through(const struct cell *c)
{
	return 2 * (c->connected + c->relayed) > c->n;
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

/* dir: -1 the window's low end, +1 its high one; a step < 0: the sweep ended inside */
static void fmt_edge(char *buf, size_t len, double edge, double step, int dir)
{
	if (step < 0)
		snprintf(buf, len, "%s%g", dir < 0 ? "≤ " : "≥ ", edge);
	else
		snprintf(buf, len, "%g", edge);
}

/* Does the model's edge p lie between the last skew that got through and the
 * first that did not (widened by the run's precision)? Where the window reached
 * the range's end, does the model's too? */
static bool edge_agrees(double good, double step, int dir, double p, double range, double prec)
{
	double bad = good + dir * step;

	if (isnan(p))
		return false;
	if (step < 0)
		return fabs(p) >= fabs(range);
	return p >= fmin(good, bad) - prec && p <= fmax(good, bad) + prec;
}

/* the model's edge on one side of a bisect search: marked as fmt_edge marks one
 * where it lies at or past the range searched */
static void fmt_predicted(char *buf, size_t len, double p, double range, int dir)
{
	if (isnan(p))
		snprintf(buf, len, "-");
	else
		fmt_edge(buf, len, p, fabs(p) >= fabs(range) ? -1 : 0, dir);
}

/* edges = bisect: a row per searched window, read off its probes the way the
 * grid's are off its cells (the last skew that got through, and how far the next
 * probe beyond it lay), and whether the model's edge lies in that bracket. A side
 * whose range is empty (skew_ms all on the other side) was not searched: "-". */
static void write_searched(const struct cells *e, FILE *csv, FILE *rep, const json_t *precision)
{
	int rows = 0;

	for (int k = 0; k < e->n;) {
		int end = cells_series_end(e, k);
		const struct cell *c = &e->c[k];
		double edge[2] = { 0, 0 }, step[2] = { -1, -1 }, prec = strategy_precision(precision, c->strategy);
		bool m = window(e, k, end, searched_through, &edge[0], &edge[1]), agrees = true;
		char ms[2][32] = { "-", "-" }, ps[2][32] = { "-", "-" }, steps[2][32] = { "", "" },
		     ms_csv[2][32] = { "-", "-" }, pcsv[2][32] = { "-", "-" }, prec_s[32] = "";

		if (prec >= 0)
			snprintf(prec_s, sizeof(prec_s), "%g", prec);
		for (int i = 0; i < 2; i++) {
			int dir = i ? 1 : -1;
			double p = c->search.predicted_ms[i];

			if (c->search.range_ms[i] == 0)
				continue; /* not searched */
			fmt_predicted(ps[i], 32, p, c->search.range_ms[i], dir);
			if (!isnan(p))
				snprintf(pcsv[i], 32, "%g", p);
			if (!m) {
				agrees &= isnan(p);
				continue;
			}
			step[i] = edge_step(e, k, end, edge[i], dir);
			fmt_edge(ms[i], 32, edge[i], step[i], dir);
			snprintf(ms_csv[i], 32, "%g", edge[i]);
			if (step[i] >= 0)
				snprintf(steps[i], 32, "%g", step[i]);
			agrees &= edge_agrees(edge[i], step[i], dir, p, c->search.range_ms[i], prec > 0 ? prec : 0);
		}
		fprintf(csv, "%s,%s,%s,%s,%g,%d,%g,%g,%s,%s,%s,%s,%s,%s,%s,bisect,%s\n", c->scenario, c->strategy,
			c->a, c->b, c->rtt_ms, end - k, c->search.range_ms[0], c->search.range_ms[1], ms_csv[0],
			ms_csv[1], pcsv[0], pcsv[1], steps[0], steps[1], prec_s, agrees ? "yes" : "no");
		if (!rows++)
			fputs("\n## Window edges searched by bisection\n\n"
			      "Each edge found by probing skews outwards from 0, from the model's edge "
			      "(edges = bisect), to the resolution the scenario asks (edge_resolution_ms): the "
			      "last skew that got through (two of three attempts, each emitted within half the "
			      "resolution of its skew), how far the first that did not lay beyond it, and the "
			      "run's timing precision; \"agrees\" when the model's edge lies in that bracket. "
			      "Data: [windows.csv](windows.csv), method bisect.\n\n"
			      "| scenario | strategy | a | b | RTT | asked | measured | found to: lo / hi · precision | predicted | skews probed | agrees |\n"
			      "|---|---|---|---|---|---|---|---|---|---|---|\n", rep);
		fprintf(rep, "| %s | %s | %s | %s | %g | %g | %s … %s | %s / %s%s%s | %s … %s | %d | %s |\n", c->scenario,
			c->strategy, c->a, c->b, c->rtt_ms, c->search.resolution_ms, ms[0], ms[1],
			step[0] >= 0 ? steps[0] : "-", step[1] >= 0 ? steps[1] : "-", prec >= 0 ? " · ±" : "", prec_s,
			ps[0], ps[1], end - k, agrees ? "yes" : "**no**");
		k = end;
	}
}

int write_windows(const struct cells *t, const struct cells *edges, const char *dir, FILE *rep,
		  const json_t *precision)
{
	int rc = 0, rows = 0;
	FILE *csv = open_out(dir, "windows.csv", &rc);

	if (rc)
		return rc;
	fputs("scenario,strategy,profile_a,profile_b,rtt_ms,skews,skew_min_ms,skew_max_ms,"
	      "measured_lo_ms,measured_hi_ms,predicted_lo_ms,predicted_hi_ms,step_lo_ms,step_hi_ms,"
	      "emit_p95_ms,method,agrees\n", csv);
	for (int k = 0; k < t->n;) {
		int end = cells_series_end(t, k);
		double mlo, mhi, plo, phi;
		bool m, p;
		char ms[2][32] = { "-", "-" }, ps[2][32] = { "-", "-" }, pr[2][32] = { "-", "-" },
		     steps[2][32] = { "", "" }, res[64] = "-", prec[32] = "", ms_csv[2][32];
		double step[2] = { -1, -1 }, emit_p95 = strategy_precision(precision, t->c[k].strategy);

		if (emit_p95 >= 0)
			snprintf(prec, sizeof(prec), "%g", emit_p95);
		if (end - k >= 3) {
			m = window(t, k, end, success, &mlo, &mhi);
			p = window(t, k, end, cell_predicted_success, &plo, &phi);
			if (m) {
				step[0] = edge_step(t, k, end, mlo, -1);
				step[1] = edge_step(t, k, end, mhi, +1);
				fmt_edge(ms[0], 32, mlo, step[0], -1);
				fmt_edge(ms[1], 32, mhi, step[1], +1);
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
				/* where the model's window reaches the sweep's end, as the
				 * measured one's is marked (dcutr's, which no skew bounds) */
				fmt_edge(pr[0], 32, plo, plo <= t->c[k].skew_ms ? -1 : 0, -1);
				fmt_edge(pr[1], 32, phi, phi >= t->c[end - 1].skew_ms ? -1 : 0, +1);
			}
			fprintf(csv, "%s,%s,%s,%s,%g,%d,%g,%g,%s,%s,%s,%s,%s,%s,%s,grid,%s\n", t->c[k].scenario,
				t->c[k].strategy, t->c[k].a, t->c[k].b, t->c[k].rtt_ms, end - k,
				t->c[k].skew_ms, t->c[end - 1].skew_ms, m ? ms_csv[0] : "-", m ? ms_csv[1] : "-",
				ps[0], ps[1], steps[0], steps[1], prec,
				m == p && (!m || (mlo == plo && mhi == phi)) ? "yes" : "no");
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
				pr[0], pr[1]);
		}
		k = end;
	}
	write_searched(edges, csv, rep, precision);
	fclose(csv);
	return 0;
}
