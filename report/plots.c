/* The plots of a run: data files in RUN_DIR/plots, what to draw in plots.tsv,
 * and report/plots.gp (built in) beside them to draw it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/strategy.h"
#include "report.h"
#include "plots_gp.h" /* plots_gp[]: report/plots.gp, made by the Makefile */

#define MAX_RTTS 8

static int by_value(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* Adds a round trip to a list of distinct ones. */
static void rtt_add(double rtts[MAX_RTTS], int *n, double rtt)
{
	for (int i = 0; i < *n; i++)
		if (rtts[i] == rtt)
			return;
	if (*n < MAX_RTTS)
		rtts[(*n)++] = rtt;
}

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

void plot_heatmap(const struct cells *t, const char *dir, const char *st, FILE *tsv, FILE *rep)
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
	fprintf(tsv, "heatmap\t%s\t0\t%d\t%s\n", st, n_rtt, scen);
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
		fprintf(tsv, "grid\t%s\t%.17g\t%d\t-\n", st, rtts[r], r);
		for (int i = 0; i < n; i++)
			fprintf(tsv, "tic\t%s\t%.17g\t%d\t%s\n", st, rtts[r], i, names[i]);
	}
	fclose(dat);
	fprintf(rep, "\n![success by NAT pair, %s](plots/heatmap-%s.svg)\n", st, st);
}

/* Success against skew, one plot per round trip, a line per series with >= 3 skews. */
void plot_windows(const struct cells *t, const char *dir, FILE *tsv, FILE *rep)
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
		int drawn = 0;
		bool have_ttc = false, have_rtx = false; /* a panel of no point is gnuplot's error */

		for (int k = 0; k < t->n;) {
			int end = cells_series_end(t, k);

			if (end - k >= 3 && t->c[k].rtt_ms == rtts[r]) {
				fprintf(dat, "# %s %s %s-%s RTT %g\n", t->c[k].scenario, t->c[k].strategy,
					t->c[k].a, t->c[k].b, t->c[k].rtt_ms);
				/* skew, success %, median SYN retransmissions (TCP strategies only: a
				 * datagram has none to count), median time to connect */
				const struct strategy *sti = strategy_by_name(t->c[k].strategy);
				bool tcp = sti && sti->tcp;
				int points = 0;

				for (int j = k; j < end; j++)
					if (t->c[j].n) {
						double rtx = tcp && t->c[j].rtx.n ? samples_median(&t->c[j].rtx) : NAN;
						double ttc = t->c[j].ttc.n ? samples_median(&t->c[j].ttc) : NAN;

						have_rtx |= !isnan(rtx);
						have_ttc |= !isnan(ttc);
						fprintf(dat, "%g %.1f %g %g\n", t->c[j].skew_ms, pct(&t->c[j]), rtx, ttc);
						points++;
					}
				fputs("\n\n", dat);
				/* a series of fewer than two skews on schedule is no line (and an x
				 * range of one value is gnuplot's error): its block stays unplotted */
				if (points >= 2) {
					fprintf(tsv, "series\t%s\t%.17g\t%d\t%s %s ↔ %s\n", t->c[k].strategy,
						t->c[k].rtt_ms, idx, t->c[k].strategy, t->c[k].a, t->c[k].b);
					drawn++;
				}
				idx++;
			}
			k = end;
		}
		if (!drawn)
			continue;
		fprintf(tsv, "window\t-\t%.17g\t0\t%s\n", rtts[r],
			have_ttc && have_rtx ? "ttc rtx" : have_ttc ? "ttc" : have_rtx ? "rtx" : "-");
		fprintf(rep, "\n![success, time to connect and SYN retransmissions against skew, RTT %g ms]"
			     "(plots/window-rtt%g.svg)\n", rtts[r], rtts[r]);
	}
	fclose(dat);
}

/* Success against skew and round trip: for each pair swept at two round trips or
 * more, a heatmap panel (a row per RTT, a column per skew tried at any of them,
 * in order) in skew-rtt.svg. */
void plot_skew_rtt(const struct cells *t, const char *dir, FILE *tsv, FILE *rep)
{
	int rc = 0, block = 0;
	FILE *dat = NULL;

	for (int k = 0; k < t->n; k = cells_series_end(t, k)) {
		double rtts[MAX_RTTS], skews[256];
		int n_rtt = 0, n_skew = 0;
		bool seen = false;

		/* the first series of its group (scenario, strategy, pair) only */
		for (int j = 0; j < k && !seen; j = cells_series_end(t, j))
			seen = !strcmp(t->c[j].scenario, t->c[k].scenario) && !strcmp(t->c[j].strategy, t->c[k].strategy) &&
			       !strcmp(t->c[j].a, t->c[k].a) && !strcmp(t->c[j].b, t->c[k].b);
		if (seen)
			continue;
		for (int j = 0; j < t->n; j = cells_series_end(t, j))
			if (!strcmp(t->c[j].scenario, t->c[k].scenario) && !strcmp(t->c[j].strategy, t->c[k].strategy) &&
			    !strcmp(t->c[j].a, t->c[k].a) && !strcmp(t->c[j].b, t->c[k].b) &&
			    cells_series_end(t, j) - j >= 3) {
				rtt_add(rtts, &n_rtt, t->c[j].rtt_ms);
				for (int i = j; i < cells_series_end(t, j); i++) {
					bool have = false;

					for (int x = 0; x < n_skew && !have; x++)
						have = skews[x] == t->c[i].skew_ms;
					if (!have && n_skew < 256)
						skews[n_skew++] = t->c[i].skew_ms;
				}
			}
		if (n_rtt < 2)
			continue;
		qsort(rtts, (size_t)n_rtt, sizeof(rtts[0]), by_value);
		qsort(skews, (size_t)n_skew, sizeof(skews[0]), by_value);
		if (!dat && !(dat = open_out(dir, "skew-rtt.dat", &rc)))
			return;
		fprintf(dat, "# %s %s %s-%s: skew index, RTT index, success %%\n", t->c[k].scenario, t->c[k].strategy,
			t->c[k].a, t->c[k].b);
		for (int r = 0; r < n_rtt; r++) {
			for (int x = 0; x < n_skew; x++) {
				const struct cell *c = NULL;

				for (int i = 0; i < t->n && !c; i++)
					if (!strcmp(t->c[i].scenario, t->c[k].scenario) &&
					    !strcmp(t->c[i].strategy, t->c[k].strategy) && !strcmp(t->c[i].a, t->c[k].a) &&
					    !strcmp(t->c[i].b, t->c[k].b) && t->c[i].rtt_ms == rtts[r] &&
					    t->c[i].skew_ms == skews[x] && t->c[i].n)
						c = &t->c[i];
				if (c)
					fprintf(dat, "%d %d %.0f\n", x, r, pct(c));
				else
					fprintf(dat, "%d %d NaN\n", x, r);
			}
			fputc('\n', dat);
		}
		fputs("\n\n", dat);
		fprintf(tsv, "skewmap\t%s\t%d\t%d\t%s %s ↔ %s\n", t->c[k].strategy, n_rtt, block, t->c[k].strategy,
			t->c[k].a, t->c[k].b);
		for (int x = 0; x < n_skew; x++)
			fprintf(tsv, "skewtic\t-\t%d\t%d\t%g\n", block, x, skews[x]);
		for (int r = 0; r < n_rtt; r++)
			fprintf(tsv, "rtttic\t-\t%d\t%d\t%g\n", block, r, rtts[r]);
		block++;
	}
	if (!dat)
		return;
	fclose(dat);
	fputs("\n![success against skew and round trip](plots/skew-rtt.svg)\n", rep);
}

/* did an attempt of one of the n_st strategies connect at this round trip? */
static bool any_connected(const struct cells *t, char st[][64], int n_st, double rtt)
{
	for (int k = 0; k < t->n; k++)
		for (int s = 0; s < n_st; s++)
			if (!strcmp(t->c[k].strategy, st[s]) && t->c[k].rtt_ms == rtt && t->c[k].ttc.n > 0)
				return true;
	return false;
}

/* Distributions per round trip (times to connect and retransmissions follow
 * it): SYN retransmissions per attempt and time to connect, by TCP strategy. For
 * each RTT, a block of retransmission counts (a row per count, a column per
 * strategy) and then a block per strategy of its sorted times to connect. */
void plot_distributions(const struct cells *t, const char *dir, FILE *tsv, FILE *rep)
{
	char st[8][64];
	double rtts[MAX_RTTS];
	int n_st = 0, n_rtt = 0, rc = 0, block = 0;
	FILE *dat = open_out(dir, "distributions.dat", &rc);

	if (!dat)
		return;
	for (int k = 0; k < t->n; k++)
		if (strategy_by_name(t->c[k].strategy) && strategy_by_name(t->c[k].strategy)->tcp && n_st < 8) {
			name_add(st, &n_st, t->c[k].strategy);
			rtt_add(rtts, &n_rtt, t->c[k].rtt_ms);
		}
	qsort(rtts, (size_t)n_rtt, sizeof(rtts[0]), by_value);
	for (int r = 0; r < n_rtt; r++) {
		fprintf(dat, "# RTT %g ms: rtx", rtts[r]);
		for (int s = 0; s < n_st; s++)
			fprintf(dat, " %s", st[s]);
		fputc('\n', dat);
		for (int x = 0; x <= 8; x++) {
			fprintf(dat, "%d", x);
			for (int s = 0; s < n_st; s++) {
				int count = 0;

				for (int k = 0; k < t->n; k++)
					if (!strcmp(t->c[k].strategy, st[s]) && t->c[k].rtt_ms == rtts[r])
						for (int i = 0; i < t->c[k].rtx.n; i++)
							count += x == 8 ? t->c[k].rtx.v[i] >= 8
									: (int)t->c[k].rtx.v[i] == x;
				fprintf(dat, " %d", count);
			}
			fputc('\n', dat);
		}
		fputs("\n\n", dat);
		/* none connected at this RTT: plots.gp draws the panel empty (an
		 * x range of no points is gnuplot's error, and the plots after it
		 * were not drawn) */
		fprintf(tsv, "distrtt\t-\t%.17g\t%d\t%s\n", rtts[r], block++,
			any_connected(t, st, n_st, rtts[r]) ? "-" : "none");
		for (int s = 0; s < n_st; s++) {
			struct samples all = { 0 };

			for (int k = 0; k < t->n; k++)
				if (!strcmp(t->c[k].strategy, st[s]) && t->c[k].rtt_ms == rtts[r])
					for (int i = 0; i < t->c[k].ttc.n; i++)
						if (samples_add(&all, t->c[k].ttc.v[i]))
							break; /* out of memory: a shorter curve */
			if (all.n)
				samples_median(&all); /* sorts */
			fprintf(dat, "# RTT %g ms: %s\n", rtts[r], st[s]);
			for (int i = 0; i < all.n; i++)
				fprintf(dat, "%g %g\n", all.v[i], 100.0 * (i + 1) / all.n);
			fputs(all.n ? "\n\n" : "NaN NaN\n\n\n", dat);
			free(all.v);
			block++;
		}
	}
	fclose(dat);
	if (!n_st)
		return;
	for (int s = 0; s < n_st; s++)
		fprintf(tsv, "distribution\t%s\t0\t%d\t-\n", st[s], s + 1);
	fputs("\n![SYN retransmissions and time to connect, per round trip](plots/distributions.svg)\n", rep);
}

/* plots.gp, the built-in script, and plots.tsv, its header row written; NULL
 * with *rc set after saying why when either cannot be written. */
FILE *plots_open(const char *dir, int *rc)
{
	FILE *gp = open_out(dir, "plots.gp", rc), *tsv;

	if (!gp)
		return NULL;
	fwrite(plots_gp, 1, sizeof(plots_gp) - 1, gp);
	fclose(gp);
	tsv = open_out(dir, "plots.tsv", rc);
	if (tsv)
		fputs("what\tstrategy\trtt_ms\tindex\ttext\n", tsv);
	return tsv;
}

/* Runs gnuplot on plots/plots.gp in the plots folder (report.h says what it returns). */
int plots_draw(const char *dir)
{
	/* gnuplot's messages are shown when it fails; its warnings otherwise (an
	 * axis of one value, "empty y range") are noise in natlab report's output */
	FILE *said = tmpfile(); /* none: its messages go to stderr as they come */
	int status, rc = PLOTS_FAILED;
	pid_t pid = fork();

	if (pid < 0) {
		if (said)
			fclose(said);
		return PLOTS_NOT_STARTED;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (chdir(dir) || null < 0 || dup2(null, 1) < 0 || (said && dup2(fileno(said), 2) < 0))
			_exit(126);
		execlp("gnuplot", "gnuplot", "plots.gp", (char *)NULL);
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		rc = !WEXITSTATUS(status) ? PLOTS_DRAWN : WEXITSTATUS(status) == 127 ? PLOTS_NO_GNUPLOT : PLOTS_FAILED;
	if (rc == PLOTS_FAILED && said) {
		char buf[4096];
		size_t n;

		rewind(said);
		while ((n = fread(buf, 1, sizeof(buf), said)) > 0)
			fwrite(buf, 1, n, stderr);
	}
	if (said)
		fclose(said);
	return rc;
}
