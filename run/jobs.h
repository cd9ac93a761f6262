/* The labs of a run, as jobs for the pool. */
#ifndef NATLAB_RUN_JOBS_H
#define NATLAB_RUN_JOBS_H

#include <stdbool.h>
#include <stdio.h>

#include "../scenario/scenario.h"
#include "run.h"

/* A lab to run: a file's own, or one cell of a matrix file for up to JOB_SKEWS of
 * its skews and either every strategy timed by the clock (and the relay's, udp's)
 * or one timed by round trips through the relay (dcutr): see jobs.c. */
struct run_job {
	int file;
	int cell;     /* -1: the file's own lab, all of its [run] */
	int strategy; /* matrix cells: a strategy timed by round trips, or -1 for the others */
	int skew_from, n_skews;
	double cost;  /* seconds it should take: the longest start first */
	bool edges;   /* edges = bisect: the search for the strategy's window edges, in a lab of its own */
	bool round_trips; /* its strategy is timed by round trips through the relay (dcutr) */
	int order;    /* as planned: ties in cost keep it */
};

struct scenario *job_scenario(struct scenario *const *files, const struct run_job *j,
			      struct diag *d);
/* Reads and checks every file (before any lab is built), then plans their jobs,
 * longest first (a shard: its slice of them), and counts their attempts; the
 * exit code of the first bad file. */
int jobs_plan(struct scenario **files, const char *const *names, int n_files, struct run_shard *shard,
	      struct run_job **jobs, int *n_jobs, unsigned *total);

#endif
