/* The labs of a run, as jobs for the pool. */
#ifndef NATLAB_RUN_JOBS_H
#define NATLAB_RUN_JOBS_H

#include <stdio.h>

#include "../scenario/scenario.h"

/* A lab to run: a file's own, or one cell of a matrix file, for one of its
 * strategies and a few of its skews: short labs keep the pool busy to the end. */
struct run_job {
	int file;
	int cell;     /* -1: the file's own lab, all of its [run] */
	int strategy; /* matrix cells: index into the strategies */
	int skew_from, n_skews;
	double cost;  /* seconds it should take: the longest start first */
};

struct scenario *job_scenario(struct scenario *const *files, const struct run_job *j,
			      struct diag *d);
/* Reads and checks every file (before any lab is built), then plans their jobs,
 * longest first, and counts their attempts; the exit code of the first bad file. */
int jobs_plan(struct scenario **files, const char *const *names, int n_files,
	      struct run_job **jobs, int *n_jobs, unsigned *total);

#endif
