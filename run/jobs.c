/* The jobs of a run: each file's own lab, or a matrix file's cells cut into labs,
 * longest first. A cell's lab takes JOB_SKEWS of its skews for every strategy timed
 * by the clock (a lab per strategy was 611 bring-ups in the suite, and the wall
 * time went from 3:32 to 3:04 with 216); a strategy timed by round trips through
 * the relay (dcutr) gets labs of its own: in the same labs as the others its
 * emitted skew's p95 went from 0.7-0.84 to 0.93-0.97 ms. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/subcommands.h"
#include "../common/strategy.h"
#include "../natsim/model.h"
#include "attempt.h"
#include "edges.h"
#include "jobs.h"

#define JOB_SKEWS 16

static bool by_round_trips(const char *strategy)
{
	const struct strategy *st = strategy_by_name(strategy);

	return st && st->by_round_trips;
}

struct scenario *job_scenario(struct scenario *const *files, const struct run_job *j,
				     struct diag *d)
{
	struct scenario *s;

	if (j->cell < 0)
		return files[j->file];
	s = malloc(sizeof(*s));
	if (s && scenario_matrix_cell(files[j->file], j->cell, s, d)) {
		free(s);
		return NULL;
	}
	if (s) {
		struct run_spec *r = &s->run;
		int n = 0;

		/* the strategies of this job: one timed by round trips alone, or the others;
		 * or one whose edges it searches, within all of skew_ms's range */
		for (int k = 0; k < r->n_strategies; k++)
			if (j->strategy >= 0 ? k == j->strategy : !by_round_trips(r->strategies[k]))
				memmove(r->strategies[n++], r->strategies[k], sizeof(r->strategies[0]));
		r->n_strategies = n;
		r->edges_bisect = j->edges;
		if (!j->edges) {
			memmove(r->skews_ms, r->skews_ms + j->skew_from, sizeof(r->skews_ms[0]) * (size_t)j->n_skews);
			r->n_skews = j->n_skews;
		}
		r->repeat = j->edges ? 0 : r->repeat; /* the search's attempts only */
	}
	return s;
}

/* What a matrix job should take, from the model: an attempt that connects
 * lasts about its skew and two round trips, one that fails its deadline. */
static double job_cost(struct scenario *const *files, const struct run_job *j)
{
	struct diag d;
	struct scenario *s = job_scenario(files, j, &d);
	const struct run_spec *r;
	const struct lab_node *na, *nb;
	double cost = 0, rtt;

	if (!s)
		return 0;
	r = &s->run;
	na = &s->nodes[scenario_find(s, "na")];
	nb = &s->nodes[scenario_find(s, "nb")];
	rtt = 2 * (na->delay_ms + nb->delay_ms);
	if (j->edges) {
		/* the search, when the model is right: skew 0, then each side's edge
		 * from just inside and just outside, two attempts each (edges.h); the
		 * one outside fails, which costs a deadline as in the grid's estimate */
		struct model_case mc;
		double range[2];

		attempt_model_case(s, r->strategies[0], 0, &mc);
		edge_range(r->skews_ms, r->n_skews, range);
		cost = 2 * 2 * rtt / 1000;
		for (int i = 0; i < 2; i++) {
			double edge = range[i] ? edge_predicted(&mc, i ? 1 : -1, fabs(range[i])) : NAN;

			cost += isnan(edge) ? 0
				: isinf(edge) ? 2 * (fabs(range[i]) + 2 * rtt) / 1000
					      : 2 * (edge + 2 * rtt) / 1000 + 2 * r->deadline_s;
		}
	}
	for (int st = 0; st < r->n_strategies; st++)
		for (int k = 0; k < r->n_skews; k++) {
			struct model_case mc;
			enum model_outcome o;

			attempt_model_case(s, r->strategies[st], r->skews_ms[k], &mc);
			o = model_predict(&mc);

			cost += r->repeat * (o == PREDICT_FAILED ? r->deadline_s
								  : (fabs(r->skews_ms[k]) + 2 * rtt) / 1000);
		}
	free(s);
	return cost;
}

/* Longest first; equal costs in the order planned, so that every machine that
 * plans the same files cuts the same shards (qsort alone need not keep it). */
static int by_cost(const void *x, const void *y)
{
	const struct run_job *a = x, *b = y;

	if (a->cost != b->cost)
		return (a->cost < b->cost) - (a->cost > b->cost);
	return (a->order > b->order) - (a->order < b->order);
}

static unsigned attempts_of(const struct run_spec *r)
{
	return (unsigned)r->n_strategies * (unsigned)r->n_skews * r->repeat;
}

/* FNV-1a, 64 bits: enough to tell two plans apart, not a defence */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* The plan's digest: every file's text, then every lab in order (which cell,
 * strategy, skews, search, and its cost, which the presets and the model decide) */
static void plan_digest(const char *const *names, int n_files, const struct run_job *jobs, int n_jobs,
			char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < n_files; i++) {
		FILE *f = fopen(names[i], "re");
		char buf[4096];
		size_t n;

		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			h = fnv(h, buf, n);
		if (f)
			fclose(f);
	}
	for (int k = 0; k < n_jobs; k++) {
		long long v[7] = { jobs[k].file, jobs[k].cell, jobs[k].strategy, jobs[k].skew_from, jobs[k].n_skews,
				   jobs[k].edges, llround(jobs[k].cost * 1000) };

		h = fnv(h, v, sizeof(v));
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The attempts a job plans (an edge search's are its own to decide: none). */
static unsigned job_attempts(struct scenario *const *files, const struct run_job *j)
{
	struct diag d;
	struct scenario *s;
	unsigned n;

	if (j->cell < 0)
		return attempts_of(&files[j->file]->run);
	s = job_scenario(files, j, &d);
	n = s ? attempts_of(&s->run) : 0;
	free(s);
	return n;
}

int jobs_plan(struct scenario **files, const char *const *names, int n_files, struct run_shard *shard,
	      struct run_job **jobs_out, int *n_jobs_out, unsigned *total_out)
{
	struct run_job *jobs = NULL;
	int n_jobs = 0, rc = 0;
	unsigned total = 0;

	/* every file is read and checked before any lab is built */
	for (int i = 0; i < n_files && !rc; i++) {
		files[i] = scenario_for_lab(names[i], &rc);
		if (files[i] && !files[i]->run.line && !files[i]->matrix.line)
			rc = fail(EXIT_BAD_INPUT, "%s: no [run] or [matrix] section", names[i]);
		if (!rc && !files[i]->matrix.line) {
			struct run_job *more = realloc(jobs, sizeof(*jobs) * (size_t)(n_jobs + 1));

			if (!more) {
				rc = fail(1, "out of memory");
				break;
			}
			jobs = more;
			jobs[n_jobs++] = (struct run_job){ .file = i, .cell = -1, .strategy = -1 };
			total += attempts_of(&files[i]->run);
		} else if (!rc) {
			const struct run_spec *r = &files[i]->matrix.run;
			int cells = scenario_matrix_cells(files[i]);
			int chunks = (r->n_skews + JOB_SKEWS - 1) / JOB_SKEWS, others = 0;
			struct run_job *more = realloc(jobs, sizeof(*jobs) * (size_t)(n_jobs + cells * (chunks + 1) * (r->n_strategies + 1)));

			if (!more) {
				rc = fail(1, "out of memory");
				break;
			}
			jobs = more;
			for (int st = 0; st < r->n_strategies; st++)
				others += !by_round_trips(r->strategies[st]);
			/* per cell and chunk of skews: st = -1 the strategies timed by the
			 * clock together (if any), then each one timed by round trips */
			for (int k = 0; k < cells; k++)
				for (int from = 0; from < r->n_skews; from += JOB_SKEWS)
					for (int st = -1; st < r->n_strategies; st++) {
						if (st < 0 ? !others : !by_round_trips(r->strategies[st]))
							continue;
						jobs[n_jobs] = (struct run_job){
							.file = i, .cell = k, .strategy = st, .skew_from = from,
							.n_skews = r->n_skews - from < JOB_SKEWS ? r->n_skews - from : JOB_SKEWS,
							.round_trips = st >= 0
						};
						jobs[n_jobs].cost = job_cost(files, &jobs[n_jobs]);
						n_jobs++;
					}
			/* edges = bisect: per cell, a lab per strategy with a window to search
			 * its edges (how many attempts, the search decides) */
			for (int k = 0; k < cells && r->edges_bisect; k++)
				for (int st = 0; st < r->n_strategies; st++)
					if (strategy_windowed(strategy_by_name(r->strategies[st]))) {
						jobs[n_jobs] = (struct run_job){ .file = i, .cell = k, .strategy = st, .edges = true };
						jobs[n_jobs].cost = job_cost(files, &jobs[n_jobs]);
						n_jobs++;
					}
			total += (unsigned)cells * attempts_of(r);
		}
	}
	for (int k = 0; k < n_jobs; k++)
		jobs[k].order = k;
	if (!rc)
		/* longest first: the pool does not end on one long lab */
		qsort(jobs, (size_t)n_jobs, sizeof(*jobs), by_cost);
	if (!rc && shard && shard->count) {
		/* a shard: every count-th job from its index on, so that each shard
		 * gets long and short labs alike */
		int kept = 0;

		plan_digest(names, n_files, jobs, n_jobs, shard->plan);
		total = 0;
		for (int k = 0; k < n_jobs; k++)
			if (k % shard->count == shard->index - 1) {
				jobs[kept++] = jobs[k];
				total += job_attempts(files, &jobs[k]);
			}
		shard->plan_jobs = n_jobs;
		n_jobs = kept;
	}
	*jobs_out = jobs;
	*n_jobs_out = n_jobs;
	*total_out = total;
	return rc;
}
