/* The jobs of a run: each file's own lab, or a matrix file's cells cut into labs
 * of a strategy and a few skews, longest first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/subcommands.h"
#include "../natsim/model.h"
#include "jobs.h"

#define JOB_SKEWS 8

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

		memmove(r->strategies[0], r->strategies[j->strategy], sizeof(r->strategies[0]));
		r->n_strategies = 1;
		memmove(r->skews_ms, r->skews_ms + j->skew_from, sizeof(r->skews_ms[0]) * (size_t)j->n_skews);
		r->n_skews = j->n_skews;
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
	for (int k = 0; k < r->n_skews; k++) {
		struct model_case mc = { .strategy = r->strategies[0], .skew_ms = r->skews_ms[k],
					 .one_way_ms = rtt / 2, .deadline_s = r->deadline_s,
					 .a = &na->profile, .b = &nb->profile };
		enum model_outcome o = model_predict(&mc);

		cost += r->repeat * (o == PREDICT_FAILED ? r->deadline_s
							  : (fabs(r->skews_ms[k]) + 2 * rtt) / 1000);
	}
	free(s);
	return cost;
}

static int by_cost(const void *x, const void *y)
{
	const struct run_job *a = x, *b = y;

	return (a->cost < b->cost) - (a->cost > b->cost);
}

static unsigned attempts_of(const struct run_spec *r)
{
	return (unsigned)r->n_strategies * (unsigned)r->n_skews * r->repeat;
}

int jobs_plan(struct scenario **files, const char *const *names, int n_files,
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
			jobs[n_jobs++] = (struct run_job){ i, -1, 0, 0, 0, 0 };
			total += attempts_of(&files[i]->run);
		} else if (!rc) {
			const struct run_spec *r = &files[i]->matrix.run;
			int cells = scenario_matrix_cells(files[i]);
			int chunks = (r->n_skews + JOB_SKEWS - 1) / JOB_SKEWS;
			struct run_job *more = realloc(jobs, sizeof(*jobs) * (size_t)(n_jobs + cells * r->n_strategies * chunks));

			if (!more) {
				rc = fail(1, "out of memory");
				break;
			}
			jobs = more;
			for (int k = 0; k < cells; k++)
				for (int st = 0; st < r->n_strategies; st++)
					for (int from = 0; from < r->n_skews; from += JOB_SKEWS)
					{
						jobs[n_jobs] = (struct run_job){
							i, k, st, from,
							r->n_skews - from < JOB_SKEWS ? r->n_skews - from : JOB_SKEWS, 0
						};
						jobs[n_jobs].cost = job_cost(files, &jobs[n_jobs]);
						n_jobs++;
					}
			total += (unsigned)cells * attempts_of(r);
		}
	}
	if (!rc)
		/* longest first: the pool does not end on one long lab */
		qsort(jobs, (size_t)n_jobs, sizeof(*jobs), by_cost);
	*jobs_out = jobs;
	*n_jobs_out = n_jobs;
	*total_out = total;
	return rc;
}
