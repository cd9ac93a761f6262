/* natlab check: a run's verdicts against the expected ones, cell by cell. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../cli/subcommands.h"
#include "../common/outfile.h"
#include "../common/stats.h"
#include "report.h"

/* What check found of each cell of the run: the one record the text and the
 * JUnit XML are both printed from. */
enum cell_status { CELL_UNCHECKED, CELL_AS_EXPECTED, CELL_DIFFERS, CELL_EDGE, CELL_UNJUDGED };

struct cell_result {
	enum cell_status status;
	char why[200]; /* CELL_DIFFERS: what differs; CELL_UNJUDGED: why not */
};

/* An expected cell the run has not: a failure in the text and in the XML */
struct missing_cell {
	char scenario[128], strategy[STRATEGY_NAME_MAX], name[200], why[96];
};

struct missing {
	struct missing_cell *v;
	int n, cap;
};

/* a cell within its scenario and strategy: a JUnit testcase's name */
static void case_name(char *buf, size_t len, double rtt, double skew, const char *a, const char *b)
{
	snprintf(buf, len, "RTT %g ms skew %g ms %s × %s", rtt, skew, a, b);
}

static void cell_name(char *buf, size_t len, const struct cell *c)
{
	char name[200];

	case_name(name, sizeof(name), c->rtt_ms, c->skew_ms, c->a, c->b);
	snprintf(buf, len, "%s %s %s", c->scenario, c->strategy, name);
}

/* Cells on either side of a change in the model's prediction along a skew
 * series: the edge lies between them, and a millisecond decides there. */
static bool at_edge(const struct cells *t, int k)
{
	for (int j = k - 1; j <= k + 1; j += 2)
		if (j >= 0 && j < t->n && cell_same_series(&t->c[j], &t->c[k]) &&
		    cell_predicted_success(&t->c[j]) != cell_predicted_success(&t->c[k]))
			return true;
	return false;
}

static int write_expected(const struct cells *t, const char *dir)
{
	/* a new folder of expected verdicts (a project's own, in its CI): made, one level */
	if (mkdir(dir, 0755) && errno != EEXIST)
		return fail(1, "cannot make %s: %s", dir, strerror(errno));
	for (int k = 0; k < t->n; k++) {
		char path[PATH_MAX + 160];
		FILE *f;

		if (k > 0 && !strcmp(t->c[k - 1].scenario, t->c[k].scenario))
			continue;
		snprintf(path, sizeof(path), "%s/%s.csv", dir, t->c[k].scenario);
		f = outfile_fopen(path, 0644);
		if (!f)
			return fail(1, "%s: %s", path, strerror(errno));
		fprintf(f, "# natlab check: the expected verdict of each cell of %s.ini\n"
			   "# (edge: next to a window edge the model predicts, not compared)\n"
			   "strategy,rtt_ms,skew_ms,profile_a,profile_b,verdict\n", t->c[k].scenario);
		for (int j = k; j < t->n && !strcmp(t->c[j].scenario, t->c[k].scenario); j++) {
			char name[400];

			/* no attempt on schedule is no verdict to expect: left out, so that a
			 * later check names the cell (no expected verdict), and said */
			if (!t->c[j].n) {
				cell_name(name, sizeof(name), &t->c[j]);
				fprintf(stderr, "natlab: %s: unmeasured (no attempt on schedule), not written\n", name);
				continue;
			}
			fprintf(f, "%s,%g,%g,%s,%s,%s\n", t->c[j].strategy, t->c[j].rtt_ms, t->c[j].skew_ms,
				t->c[j].a, t->c[j].b, at_edge(t, j) ? "edge" : cell_verdict(&t->c[j]));
		}
		if (fclose(f))
			return fail(1, "%s: %s", path, strerror(errno));
		fprintf(stderr, "natlab: wrote %s\n", path);
	}
	return 0;
}

/* A scenario without expected verdicts (a user's own, new): each cell is held
 * to the behaviour model instead, attempt by attempt as the run judged them
 * (`agrees`); a cell the model does not predict (a host without a NAT above
 * it, a program without like) is not judged, and counted; a cell with no
 * attempt on schedule fails. */
static int against_model(const struct cells *t, int first, const char *path, struct cell_result *res, int *changed)
{
	const char *scen = t->c[first].scenario;
	int unknown = 0, n = 0;

	for (int k = first; k < t->n && !strcmp(t->c[k].scenario, scen); k++, n++) {
		res[k].status = CELL_AS_EXPECTED;
		if (!t->c[k].n) { /* every attempt off schedule: no data is no pass */
			res[k].status = CELL_DIFFERS;
			snprintf(res[k].why, sizeof(res[k].why), "unmeasured: none of its %d attempts on schedule",
				 t->c[k].off_schedule);
			(*changed)++;
			continue;
		}
		if (!strcmp(t->c[k].predicted, "unknown")) {
			unknown++;
			res[k].status = CELL_UNJUDGED;
			snprintf(res[k].why, sizeof(res[k].why), "the model does not predict it (a host without a NAT "
								  "above it, or a program without like =)");
			continue;
		}
		if (!t->c[k].disagree)
			continue;
		res[k].status = CELL_DIFFERS;
		snprintf(res[k].why, sizeof(res[k].why), "%s, the model predicts %s (%d of %d attempts disagree)",
			 cell_verdict(&t->c[k]), t->c[k].predicted, t->c[k].disagree, t->c[k].n);
		(*changed)++;
	}
	fprintf(stderr, "natlab: %s: no expected verdicts (natlab check --write makes them): its %d cells are held "
			"to the behaviour model\n", path, n);
	if (unknown)
		fprintf(stderr, "natlab: %d of them the model does not predict (a host without a NAT above it, or "
				"a program of yours without like =)\n", unknown);
	return 0;
}

static struct missing_cell *missing_add(struct missing *miss)
{
	if (miss->n == miss->cap) {
		void *v = realloc(miss->v, (size_t)(miss->cap * 2 + 16) * sizeof(*miss->v));

		if (!v)
			return NULL;
		miss->v = v;
		miss->cap = miss->cap * 2 + 16;
	}
	return &miss->v[miss->n++];
}

/* Reads one scenario's expected verdicts and compares; counts what differs. */
static int compare(const struct cells *t, int first, const char *dir, struct cell_result *res, int *changed,
		   int *edges, bool *by_model, struct missing *miss)
{
	const char *scen = t->c[first].scenario;
	char path[PATH_MAX + 160], *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.csv", dir, scen);
	f = fopen(path, "r");
	if (!f && errno == ENOENT) {
		*by_model = true;
		return against_model(t, first, path, res, changed);
	}
	if (!f)
		return fail(1, "%s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char st[STRATEGY_NAME_MAX], a[64], b[64], verdict[16];
		double rtt, skew;
		int k;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line || *line == '#' || !strncmp(line, "strategy,", 9))
			continue;
		if (sscanf(line, "%31[^,],%lf,%lf,%63[^,],%63[^,],%15s", st, &rtt, &skew, a, b, verdict) != 6) {
			rc = fail(EXIT_BAD_INPUT, "%s:%d: expected STRATEGY,RTT_MS,SKEW_MS,PROFILE_A,PROFILE_B,VERDICT",
				  path, lineno);
			break;
		}
		for (k = first; k < t->n && !strcmp(t->c[k].scenario, scen); k++)
			if (!strcmp(t->c[k].strategy, st) && t->c[k].rtt_ms == rtt &&
			    t->c[k].skew_ms == skew && !strcmp(t->c[k].a, a) && !strcmp(t->c[k].b, b))
				break;
		if (k == t->n || strcmp(t->c[k].scenario, scen)) {
			struct missing_cell *m = missing_add(miss);

			if (!m) {
				rc = fail(1, "out of memory");
				break;
			}
			snprintf(m->scenario, sizeof(m->scenario), "%s", scen);
			snprintf(m->strategy, sizeof(m->strategy), "%s", st);
			case_name(m->name, sizeof(m->name), rtt, skew, a, b);
			snprintf(m->why, sizeof(m->why), "expected %s, not in the run", verdict);
			printf("  %s %s %s: %s\n", scen, st, m->name, m->why);
			continue;
		}
		res[k].status = CELL_AS_EXPECTED;
		if (!strcmp(verdict, "edge")) {
			res[k].status = CELL_EDGE;
			(*edges)++;
			continue;
		}
		if (strcmp(verdict, cell_verdict(&t->c[k]))) {
			res[k].status = CELL_DIFFERS;
			snprintf(res[k].why, sizeof(res[k].why), "expected %s, got %s (%d of %d got through)", verdict,
				 cell_verdict(&t->c[k]), t->c[k].connected + t->c[k].relayed, t->c[k].n);
			(*changed)++;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* XML text: the five characters that are markup escaped */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(*s, f);
		}
}

static void junit_case(FILE *f, const char *scenario, const char *strategy, const char *name, const char *tag,
		       const char *why)
{
	fputs("    <testcase classname=\"", f);
	xml_text(f, scenario);
	fputc('.', f);
	xml_text(f, strategy);
	fputs("\" name=\"", f);
	xml_text(f, name);
	if (!tag) {
		fputs("\"/>\n", f);
		return;
	}
	fprintf(f, "\">\n      <%s message=\"", tag);
	xml_text(f, why);
	fputs("\"/>\n    </testcase>\n", f);
}

/* The verdicts as JUnit XML, what CI systems show: a testsuite per scenario, a
 * testcase per cell (classname SCENARIO.STRATEGY), a failure where it differs or
 * is not in the run, skipped at a window edge or where the model judges nothing. */
static int write_junit(const struct cells *t, const struct cell_result *res, const struct missing *miss,
		       const char *path)
{
	FILE *f = outfile_fopen(path, 0644);
	int failures = miss->n;

	if (!f)
		return fail(1, "%s: %s", path, strerror(errno));
	for (int k = 0; k < t->n; k++)
		failures += res[k].status == CELL_DIFFERS;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"natlab check\" tests=\"%d\" "
		   "failures=\"%d\">\n", t->n + miss->n, failures);
	for (int k = 0; k < t->n; k++) {
		int end = k, n_fail = 0, n_skip = 0, n_miss = 0;

		if (k > 0 && !strcmp(t->c[k - 1].scenario, t->c[k].scenario))
			continue;
		while (end < t->n && !strcmp(t->c[end].scenario, t->c[k].scenario)) {
			n_fail += res[end].status == CELL_DIFFERS;
			n_skip += res[end].status == CELL_EDGE || res[end].status == CELL_UNJUDGED;
			end++;
		}
		for (int m = 0; m < miss->n; m++)
			n_miss += !strcmp(miss->v[m].scenario, t->c[k].scenario);
		fputs("  <testsuite name=\"", f);
		xml_text(f, t->c[k].scenario);
		fprintf(f, "\" tests=\"%d\" failures=\"%d\" skipped=\"%d\">\n", end - k + n_miss, n_fail + n_miss,
			n_skip);
		for (int j = k; j < end; j++) {
			char name[200];
			enum cell_status st = res[j].status;

			case_name(name, sizeof(name), t->c[j].rtt_ms, t->c[j].skew_ms, t->c[j].a, t->c[j].b);
			junit_case(f, t->c[j].scenario, t->c[j].strategy, name,
				   st == CELL_DIFFERS ? "failure" : st == CELL_EDGE || st == CELL_UNJUDGED ? "skipped" : NULL,
				   st == CELL_EDGE ? "next to a window edge the model predicts" : res[j].why);
		}
		/* what the expected verdicts have and the run has not: failures too */
		for (int m = 0; m < miss->n; m++)
			if (!strcmp(miss->v[m].scenario, t->c[k].scenario))
				junit_case(f, miss->v[m].scenario, miss->v[m].strategy, miss->v[m].name, "failure",
					   miss->v[m].why);
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	return fclose(f) ? fail(1, "%s: %s", path, strerror(errno)) : 0;
}

int check_run(const char *run, const char *dir, bool dir_given, bool write, const char *junit)
{
	char path[PATH_MAX + 32];
	struct cells t;
	struct cell_result *res;
	struct missing miss = { 0 };
	struct stat sb;
	int rc, changed = 0, edges = 0, unjudged = 0;
	bool by_model = false;

	/* a folder named and not there is a typo, not a scenario of one's own */
	if (!write && dir_given && stat(dir, &sb))
		return fail(EXIT_BAD_INPUT, "%s: %s (a folder of expected verdicts: natlab check --write makes one)",
			    dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/attempts.jsonl", run);
	rc = cells_load(&t, path);
	if (rc)
		return rc;
	if (write) {
		rc = write_expected(&t, dir);
		cells_free(&t);
		return rc;
	}
	res = calloc((size_t)t.n + 1, sizeof(*res));
	if (!res) {
		cells_free(&t);
		return fail(1, "out of memory");
	}
	for (int k = 0; k < t.n && !rc; k++)
		if (k == 0 || strcmp(t.c[k - 1].scenario, t.c[k].scenario))
			rc = compare(&t, k, dir, res, &changed, &edges, &by_model, &miss);
	for (int k = 0; k < t.n && !rc; k++) {
		char name[400];

		unjudged += res[k].status == CELL_UNJUDGED;
		if (res[k].status == CELL_UNCHECKED) {
			res[k].status = CELL_DIFFERS;
			snprintf(res[k].why, sizeof(res[k].why), "%s, no expected verdict", cell_verdict(&t.c[k]));
			changed++;
		}
		if (res[k].status != CELL_DIFFERS)
			continue;
		cell_name(name, sizeof(name), &t.c[k]);
		printf("  %s: %s\n", name, res[k].why);
	}
	if (!rc && junit)
		rc = write_junit(&t, res, &miss, junit);
	if (!rc && (changed || miss.n)) {
		fprintf(stderr, "natlab: %d of the run's %d cells differ from %s", changed, t.n, dir);
		if (miss.n)
			fprintf(stderr, ", and %d expected cells are not in the run", miss.n);
		fprintf(stderr, " (listed above)\n");
		rc = 1;
	} else if (!rc) {
		fprintf(stderr, "natlab: all %d cells as expected in %s (%d at a window edge, not compared%s)\n",
			t.n - unjudged, dir, edges, by_model ? "; those without expected verdicts as the model says" : "");
	}
	fflush(stdout);
	free(miss.v);
	free(res);
	cells_free(&t);
	return rc;
}

/* natlab check RUN --against OTHER: a regression as a statistical statement. Each
 * cell of RUN beside the same cell of OTHER (scenario, strategy, RTT, skew, pair):
 * their success counts differ when Fisher's exact test says p < CHECK_ALPHA. Each
 * cell is tested on its own: over many cells between 0 and 100 %, some 5 % of
 * them differ by chance alone; cells at 0 or 100 % in both never do. */
#define CHECK_ALPHA 0.05

static bool same_cell(const struct cell *x, const struct cell *y)
{
	return cell_same_series(x, y) && x->skew_ms == y->skew_ms;
}

int check_against(const char *run, const char *other)
{
	char path[PATH_MAX + 32];
	struct cells a, b;
	int rc, compared = 0, differ = 0, alone = 0;

	snprintf(path, sizeof(path), "%s/attempts.jsonl", run);
	rc = cells_load(&a, path);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/attempts.jsonl", other);
	rc = cells_load(&b, path);
	if (rc) {
		cells_free(&a);
		return rc;
	}
	for (int k = 0; k < a.n; k++) {
		const struct cell *x = &a.c[k], *y = NULL;
		char name[400];
		unsigned kx = (unsigned)(x->connected + x->relayed), ky;
		double p, lx, hx, ly, hy;

		for (int j = 0; j < b.n && !y; j++)
			if (same_cell(x, &b.c[j]))
				y = &b.c[j];
		cell_name(name, sizeof(name), x);
		if (!y || !x->n || !y->n) {
			alone++;
			printf("  %s: %s\n", name, !y ? "not in the other run" : "no attempt on schedule in one of the runs");
			continue;
		}
		compared++;
		ky = (unsigned)(y->connected + y->relayed);
		p = stats_fisher_two_sided(kx, (unsigned)x->n, ky, (unsigned)y->n);
		if (p >= CHECK_ALPHA)
			continue;
		differ++;
		stats_wilson95(kx, (unsigned)x->n, &lx, &hx);
		stats_wilson95(ky, (unsigned)y->n, &ly, &hy);
		printf("  %s: %.0f%% [%.0f-%.0f] n=%d here, %.0f%% [%.0f-%.0f] n=%d there (p = %.3g)\n", name,
		       pct(x), 100 * lx, 100 * hx, x->n, pct(y), 100 * ly, 100 * hy, y->n, p);
	}
	for (int j = 0; j < b.n; j++) {
		bool found = false;

		for (int k = 0; k < a.n && !found; k++)
			found = same_cell(&a.c[k], &b.c[j]);
		if (!found)
			alone++;
	}
	cells_free(&a);
	cells_free(&b);
	/* two runs with no cell in common (another scenario, a run cut short) say nothing */
	if (!compared)
		return fail(1, "%s and %s have no cell in common with attempts on schedule in both: nothing compared",
			    run, other);
	fprintf(stderr, "natlab: %d of %d cells differ from %s (Fisher's exact test, p < %g each)%s", differ,
		compared, other, CHECK_ALPHA, alone ? "; " : "\n");
	if (alone)
		fprintf(stderr, "%d cells are in one run only (or without an attempt on schedule in one)\n", alone);
	return differ ? 1 : 0;
}
