/* Which planned lab the pool starts next. */
#ifndef NATLAB_RUN_PICK_H
#define NATLAB_RUN_PICK_H

#include <stdbool.h>

#include "jobs.h"

/* Labs of a strategy timed by round trips through the relay (dcutr) at once, per
 * core: pick.c says why. */
#define ROUND_TRIP_LABS_PER_CORE 3

/* The index of the next job to start of jobs[0..n) not yet `started`: a lab timed
 * by round trips while fewer than `cap` of them run (`round_trips`), else the
 * first other one in the plan's order, else (only labs timed by round trips left)
 * the first of those; -1 when nothing is left. */
int jobs_pick(const struct run_job *jobs, int n, const bool *started, int round_trips, int cap);

#endif
