/* One attempt of a lab's [run]: its two peers, their reports, its record. */
#ifndef NATLAB_RUN_ATTEMPT_H
#define NATLAB_RUN_ATTEMPT_H

#include <stdio.h>

#include "../natsim/conntrack.h"
#include "../scenario/scenario.h"
#include "lab_job.h"
#include "record.h"

void attempt(const struct scenario *s, const char *id, const struct run_ctx *c,
	     int building, struct ct_watch *const *watch, const char *server_ep,
	     const struct lab_extras *extras, const char *strategy, double skew_ms, int n, const char *events,
	     const char *stats, int wire, struct attempt_record *rec);

#endif
