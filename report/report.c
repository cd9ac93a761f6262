/* natlab report: the tables, windows and plots of a run, from its attempts.jsonl,
 * and report.md around them: findings first, the precision section last. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "../run/precision.h"
#include "../cli/subcommands.h"
#include "../common/outfile.h"
#include "../common/stats.h"
#include "report.h"

void name_add(char names[][64], int *n, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(names[i], name))
			return;
	if (*n < MAX_NAMES)
		snprintf(names[(*n)++], 64, "%s", name);
}

int by_name(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* Success % of the attempts on schedule; NaN when none was. */
double pct(const struct cell *c)
{
	return c->n ? 100.0 * (c->connected + c->relayed) / c->n : NAN;
}

FILE *open_out(const char *dir, const char *name, int *rc)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = outfile_fopen(path, 0644);
	if (!f && !*rc)
		*rc = fail(1, "%s: %s", path, strerror(errno));
	return f;
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
	      "\"Precision\")", rep);
	if (!p) {
		/* no link: a run cut short (Ctrl-C) wrote no meta.json */
		fputs(".\n\nThis run states none (no meta.json with a precision object: a run cut short "
		      "writes none).\n", rep);
		return;
	}
	fputs("; from [meta.json](meta.json).\n\n", rep);
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
	/* links without delay: their frames leave when the wire wakes, no delay's bound */
	x = json_object_get(p, "wire_at_once_us");
	if (json_is_object(x))
		fprintf(rep, "| frames due as they came (no delay on their links): sent after they arrived, p50 / p99, "
			     "%lld frames | %lld / %lld µs | p99 under %d µs | %s |\n",
			(long long)json_integer_value(json_object_get(x, "frames")),
			(long long)json_integer_value(json_object_get(x, "p50")),
			(long long)json_integer_value(json_object_get(x, "p99")), PRECISION_WIRE_AT_ONCE_P99_US,
			within(json_integer_value(json_object_get(x, "p99")) < PRECISION_WIRE_AT_ONCE_P99_US));
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

/* On which try the connections came, per strategy and scenario: the first (no
 * SYN sent again, no second dial) or a later one; beside the field's published
 * figure */
static void write_first_try(const struct cells *t, char strategies[][64], int n_st, FILE *rep)
{
	char scenarios[MAX_NAMES][64];
	int n_sc = 0;
	bool head = false;

	for (int k = 0; k < t->n; k++)
		name_add(scenarios, &n_sc, t->c[k].scenario);
	qsort(scenarios, (size_t)n_sc, 64, by_name);
	for (int s = 0; s < n_st; s++)
		for (int sc = 0; sc < n_sc; sc++) {
			int connected = 0, first = 0;
			double lo, hi;

			for (int k = 0; k < t->n; k++)
				if (!strcmp(t->c[k].strategy, strategies[s]) && !strcmp(t->c[k].scenario, scenarios[sc]) &&
				    t->c[k].first_try >= 0) {
					connected += t->c[k].connected;
					first += t->c[k].first_try;
				}
			if (!connected)
				continue;
			if (!head) {
				fputs("\n## On the first try\n\nOf each TCP strategy's direct connections, those made "
				      "on the first try: neither side sent a SYN again (a SYN retransmission) nor "
				      "dialed a second time (retry). Published beside it: libp2p DCUtR in the wild, "
				      "97.6 % of successes on the first attempt (Trautwein et al. 2025). On links "
				      "without loss nearly every connection comes on the first try (a SYN sent "
				      "again there is one a NAT dropped on purpose); the impairment scenarios "
				      "(`./run_all.sh --long`, scenarios/long) ask the question. Where the round "
				      "trip is past the kernel's 1 s initial SYN timeout (a geostationary link), "
				      "every SYN is sent again before its answer can come: spurious, no loss.\n\n"
				      "| strategy | scenario | connections | on the first try | share [95 % CI] |\n"
				      "|---|---|---|---|---|\n", rep);
				head = true;
			}
			stats_wilson95((unsigned)first, (unsigned)connected, &lo, &hi);
			fprintf(rep, "| %s | %s | %d | %d | %.1f%% [%.1f–%.1f] |\n", strategies[s], scenarios[sc],
				connected, first, 100.0 * first / connected, 100 * lo, 100 * hi);
		}
}

int report_write(const char *run, const char *const *mixes, int n_mixes)
{
	char path[PATH_MAX + 64], strategies[MAX_NAMES][64], plots[PATH_MAX + 16];
	struct cells t, e = { 0 };
	int n_st = 0, rc, attempts = 0, off = 0, probes = 0;
	FILE *rep = NULL, *tsv = NULL, *findings = NULL;
	json_t *meta, *precision;
	json_error_t jerr;
	char *fbuf = NULL;
	size_t flen = 0;

	snprintf(path, sizeof(path), "%s/meta.json", run);
	meta = json_load_file(path, 0, &jerr);
	precision = json_object_get(meta, "precision");
	snprintf(path, sizeof(path), "%s/attempts.jsonl", run);
	rc = population_check(mixes, mixes ? n_mixes : 0);
	if (!rc && !(rc = cells_load(&t, path)) && (rc = cells_load_edges(&e, path)))
		cells_free(&t);
	if (rc) {
		json_decref(meta);
		return rc;
	}
	for (int k = 0; k < e.n; k++)
		probes += e.c[k].n + e.c[k].off_schedule;
	for (int k = 0; k < t.n; k++) {
		name_add(strategies, &n_st, t.c[k].strategy);
		attempts += t.c[k].n + t.c[k].off_schedule;
		off += t.c[k].off_schedule;
	}
	qsort(strategies, (size_t)n_st, 64, by_name);
	findings = open_memstream(&fbuf, &flen);
	rep = open_out(run, "report.md.new", &rc);
	snprintf(plots, sizeof(plots), "%s/plots", run);
	if (!rc && mkdir(plots, 0755) && errno != EEXIST)
		rc = fail(1, "%s: %s", plots, strerror(errno));
	tsv = rc ? NULL : plots_open(plots, &rc);
	if (!findings && !rc)
		rc = fail(1, "out of memory");
	for (int k = 0; k < n_st && !rc; k++)
		rc = write_strategy(&t, run, strategies[k], findings);
	if (!rc) {
		FILE *body;
		char *bbuf = NULL;
		size_t blen = 0;

		body = open_memstream(&bbuf, &blen);
		fputs("\n## Success by NAT type\n\nEach strategy's table: success % with its 95 % Wilson "
		      "interval and n, median time to connect, median SYN retransmissions, verdict and the "
		      "model's prediction.\n\n", body);
		for (int k = 0; k < n_st; k++)
			/* ./: a program's "exec:NAME" is no URL scheme */
			fprintf(body, "- `%s`: [table](./matrix-%s.md), [CSV](./matrix-%s.csv)\n", strategies[k],
				strategies[k], strategies[k]);
		for (int k = 0; k < n_st; k++)
			plot_heatmap(&t, plots, strategies[k], tsv, body);
		write_auto(&t, body, findings);
		write_first_try(&t, strategies, n_st, body);
		rc = write_population(&t, run, mixes, n_mixes, body);
		if (!rc)
			rc = write_windows(&t, &e, run, body, precision);
		plot_windows(&t, plots, tsv, body);
		plot_skew_rtt(&t, plots, tsv, body);
		fputs("\n## Distributions\n", body);
		plot_distributions(&t, plots, tsv, body);
		fclose(body);
		fclose(tsv); /* plots.tsv: what the script is to draw */
		tsv = NULL;
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
		if (probes)
			fprintf(rep, "; and %d attempts probing window edges (not in the tables: see "
				     "[the search](#window-edges-searched-by-bisection))", probes);
		snprintf(path, sizeof(path), "%s/meta.json", run);
		if (!stat(path, &st)) {
			json_t *r = json_object_get(meta, "run");
			const char *by = json_string_value(json_object_get(r, "natlab")),
				   *kernel = json_string_value(json_object_get(r, "kernel"));

			fputs("; run facts: [meta.json](meta.json)", rep);
			/* what a reader needs to make the run again */
			if (by && kernel)
				fprintf(rep, " (natlab %s, %s)", by, kernel);
		}
		snprintf(path, sizeof(path), "%s/pcap", run);
		if (!stat(path, &st))
			fputs("; captures of failed attempts: [pcap/](pcap/)", rep);
		snprintf(path, sizeof(path), "%s/check.txt", run);
		if (!stat(path, &st))
			fputs("; verdicts against scenarios/expected: [check.txt](check.txt)", rep);
		fprintf(rep, ".\n\n## Findings\n\nCells whose outcome the behaviour model did not "
			     "predict (a NAT bug reproduced, or a model error):\n\n%s",
			flen ? fbuf : "- none\n");
		fputs(bbuf ? bbuf : "", rep);
		free(bbuf);
		write_precision(rep, precision);
		switch (plots_draw(plots)) {
		case PLOTS_NO_GNUPLOT:
			fprintf(stderr, "natlab: no gnuplot (Debian: gnuplot-nox); the plots in %s are not drawn\n", plots);
			break;
		case PLOTS_NOT_STARTED:
			fprintf(stderr, "natlab: cannot start gnuplot: %s; the plots in %s are not drawn\n",
				strerror(errno), plots);
			break;
		case PLOTS_FAILED:
			fprintf(stderr, "natlab: gnuplot failed on %s/plots.gp (its messages above); plots after the "
					"failing one are not drawn\n",
				plots);
			break;
		}
	}
	if (tsv)
		fclose(tsv);
	if (findings)
		fclose(findings);
	free(fbuf);
	if (rep) {
		char final[PATH_MAX + 64];

		fclose(rep);
		/* whole or not at all: written aside, then renamed over the old one */
		snprintf(path, sizeof(path), "%s/report.md.new", run);
		snprintf(final, sizeof(final), "%s/report.md", run);
		if (!rc && rename(path, final))
			rc = fail(1, "%s: %s", final, strerror(errno));
	}
	cells_free(&t);
	cells_free(&e);
	json_decref(meta);
	return rc;
}
