/* One attempt of a lab's [run]: its two peers, their reports, its record. */
#ifndef NATLAB_RUN_ATTEMPT_H
#define NATLAB_RUN_ATTEMPT_H

#include <stdio.h>

#include "../natsim/conntrack.h"
#include "../natsim/model.h"
#include "../scenario/scenario.h"
#include "child.h"
#include "lab_job.h"
#include "record.h"

/* The model's case for the lab's pair at skew_ms (a program: as the built-in it
 * is like); false where the model does not cover the pair (a host without a NAT,
 * a NAT behind another). */
bool attempt_model_case(const struct scenario *s, const char *strategy, double skew_ms, struct model_case *mc);
void attempt(const struct scenario *s, const char *id, const struct run_ctx *c,
	     int building, struct ct_watch *const *watch, const char *server_ep,
	     const struct lab_extras *extras, const char *strategy, double skew_ms, int n, const char *events,
	     const char *stats, int wire, struct child *stay, struct attempt_record *rec);

#endif
