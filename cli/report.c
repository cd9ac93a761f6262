/* natlab report: the tables of a run, from its attempts.jsonl. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subcommands.h"

static const char usage[] = "report RUN_DIR\n"
			    "  Writes RUN_DIR/matrix-STRATEGY.csv and .md (success %, median time to\n"
			    "  connect, median SYN retransmissions, the model's prediction, disagreements)\n"
			    "  and RUN_DIR/report.md, from RUN_DIR/attempts.jsonl.";

#define MAX_CELLS 2048
#define MAX_NAMES 64

struct cell {
	char strategy[16], a[64], b[64];
	int n, ok, disagree;
	char predicted[16];
	double ttc[256], rtx[256];
	int n_ttc, n_rtx;
};

struct table {
	struct cell *c;
	int n;
	char strategies[8][64];
	int n_strategies;
	char profiles[MAX_NAMES][64];
	int n_profiles;
};

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* The median; for an even count, the mean of the middle two. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void name_add(char names[][64], int *n, int max, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(names[i], name))
			return;
	if (*n < max)
		snprintf(names[(*n)++], 64, "%s", name);
}

static struct cell *cell_for(struct table *t, const char *st, const char *a, const char *b)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->c[i].strategy, st) && !strcmp(t->c[i].a, a) && !strcmp(t->c[i].b, b))
			return &t->c[i];
	if (t->n == MAX_CELLS)
		return NULL;
	memset(&t->c[t->n], 0, sizeof(t->c[0]));
	snprintf(t->c[t->n].strategy, sizeof(t->c[0].strategy), "%s", st);
	snprintf(t->c[t->n].a, sizeof(t->c[0].a), "%s", a);
	snprintf(t->c[t->n].b, sizeof(t->c[0].b), "%s", b);
	return &t->c[t->n++];
}

static int load(struct table *t, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1 << 16];
	int lineno = 0;

	if (!f)
		return fail(EXIT_BAD_INPUT, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		json_error_t err;
		json_t *r = json_loads(line, 0, &err), *prof;
		const char *st, *a, *b, *outcome, *pred;
		struct cell *c;

		lineno++;
		if (!r) {
			fclose(f);
			return fail(EXIT_BAD_INPUT, "%s:%d: %s", path, lineno, err.text);
		}
		prof = json_object_get(r, "profiles");
		st = json_string_value(json_object_get(r, "strategy"));
		a = json_string_value(json_object_get(prof, "a"));
		b = json_string_value(json_object_get(prof, "b"));
		outcome = json_string_value(json_object_get(r, "outcome"));
		pred = json_string_value(json_object_get(r, "predicted"));
		if (!st || !a || !b || !outcome) {
			json_decref(r);
			fclose(f);
			return fail(EXIT_BAD_INPUT, "%s:%d: not an attempt record", path, lineno);
		}
		name_add(t->strategies, &t->n_strategies, 8, st);
		name_add(t->profiles, &t->n_profiles, MAX_NAMES, a);
		name_add(t->profiles, &t->n_profiles, MAX_NAMES, b);
		c = cell_for(t, st, a, b);
		if (c) {
			bool ok = !strcmp(outcome, "connected") || !strcmp(outcome, "relayed");
			json_t *rtx = json_object_get(r, "syn_retrans");

			c->n++;
			c->ok += ok;
			c->disagree += json_is_false(json_object_get(r, "agrees"));
			snprintf(c->predicted, sizeof(c->predicted), "%s", pred ? pred : "unknown");
			if (ok && c->n_ttc < 256)
				c->ttc[c->n_ttc++] = json_number_value(json_object_get(r, "time_to_connect_ms"));
			if (c->n_rtx < 256)
				c->rtx[c->n_rtx++] = json_number_value(json_object_get(rtx, "a")) +
						     json_number_value(json_object_get(rtx, "b"));
		}
		json_decref(r);
	}
	fclose(f);
	return 0;
}

static void fmt_median(char *buf, size_t len, double *v, int n, const char *unit)
{
	if (n)
		snprintf(buf, len, "%.1f%s", median(v, n), unit);
	else
		snprintf(buf, len, "-");
}

static int write_strategy(const struct table *t, const char *dir, const char *st, FILE *rep)
{
	char path[PATH_MAX + 32];
	FILE *csv, *md;

	snprintf(path, sizeof(path), "%s/matrix-%s.csv", dir, st);
	csv = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/matrix-%s.md", dir, st);
	md = fopen(path, "w");
	if (!csv || !md) {
		if (csv)
			fclose(csv);
		if (md)
			fclose(md);
		return fail(1, "%s: %s", path, strerror(errno));
	}
	fputs("profile_a,profile_b,attempts,success_pct,median_time_to_connect_ms,median_syn_retrans,"
	      "predicted,disagreements\n", csv);
	fprintf(md, "# %s\n\nRows: the NAT of side a; columns: side b. A cell: success rate, "
		    "median time to connect, median SYN retransmissions (both sides), the model's "
		    "prediction; **!** marks a disagreement.\n\n| a \\ b |", st);
	for (int j = 0; j < t->n_profiles; j++)
		fprintf(md, " %s |", t->profiles[j]);
	fputs("\n|---|", md);
	for (int j = 0; j < t->n_profiles; j++)
		fputs("---|", md);
	fputc('\n', md);
	for (int i = 0; i < t->n_profiles; i++) {
		fprintf(md, "| **%s** |", t->profiles[i]);
		for (int j = 0; j < t->n_profiles; j++) {
			struct cell *c = NULL;
			char ttc[32], rtx[32];

			for (int k = 0; k < t->n; k++)
				if (!strcmp(t->c[k].strategy, st) && !strcmp(t->c[k].a, t->profiles[i]) &&
				    !strcmp(t->c[k].b, t->profiles[j]))
					c = &t->c[k];
			if (!c) {
				fputs(" |", md);
				continue;
			}
			fmt_median(ttc, sizeof(ttc), c->ttc, c->n_ttc, "");
			fmt_median(rtx, sizeof(rtx), c->rtx, c->n_rtx, "");
			fprintf(csv, "%s,%s,%d,%.1f,%s,%s,%s,%d\n", c->a, c->b, c->n, 100.0 * c->ok / c->n,
				ttc, rtx, c->predicted, c->disagree);
			fprintf(md, " %.0f%% · %s ms · %s rtx · model: %s%s |", 100.0 * c->ok / c->n, ttc,
				rtx, c->predicted, c->disagree ? " **!**" : "");
			if (c->disagree)
				fprintf(rep, "- **%s**, %s ↔ %s: %d of %d attempts disagree with the model (%s)\n",
					st, c->a, c->b, c->disagree, c->n, c->predicted);
		}
		fputc('\n', md);
	}
	fclose(csv);
	fclose(md);
	return 0;
}

int report_main(int argc, char *argv[])
{
	char path[PATH_MAX + 32];
	struct table t = { 0 };
	FILE *rep;
	long where;
	int rc;

	if (want_help(argc, argv, usage))
		return 0;
	if (argc != 2 || argv[1][0] == '-')
		return usage_error(usage);
	t.c = calloc(MAX_CELLS, sizeof(*t.c));
	if (!t.c)
		return fail(1, "out of memory");
	snprintf(path, sizeof(path), "%s/attempts.jsonl", argv[1]);
	rc = load(&t, path);
	snprintf(path, sizeof(path), "%s/report.md", argv[1]);
	rep = rc ? NULL : fopen(path, "w");
	if (!rc && !rep)
		rc = fail(1, "%s: %s", path, strerror(errno));
	if (!rc) {
		fputs("# natlab run report\n\n## Findings\n\nAttempts whose outcome the behaviour model "
		      "did not predict (a NAT bug reproduced, or a model error):\n\n", rep);
		where = ftell(rep);
		for (int k = 0; k < t.n_strategies && !rc; k++)
			rc = write_strategy(&t, argv[1], t.strategies[k], rep);
		if (ftell(rep) == where)
			fputs("- none\n", rep);
		fputs("\n## Matrices\n\n", rep);
		for (int k = 0; k < t.n_strategies; k++)
			fprintf(rep, "- [%s](matrix-%s.md) ([CSV](matrix-%s.csv))\n", t.strategies[k],
				t.strategies[k], t.strategies[k]);
		fputs("\nRecords: [attempts.jsonl](attempts.jsonl).\n", rep);
		fclose(rep);
	}
	free(t.c);
	return rc;
}
