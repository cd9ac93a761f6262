/* Did an attempt keep the lab's timing? Its on-schedule judgement and figures. */
#ifndef NATLAB_RUN_SCHEDULE_H
#define NATLAB_RUN_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "../scenario/scenario.h"
#include "record.h"

double relay_path_ms(const struct scenario *s);
double pair_rtt_ms(const struct scenario *s);
double opening_s(const struct scenario *s, const char *strategy, double skew_ms, bool connected);
bool opening_gap(const struct scenario *s, const char *strategy, double skew_ms, bool connected, double *from_s,
		 double *until_s);
enum record_bool on_schedule(const struct scenario *s, const struct attempt_record *rec,
			     json_t *side0);
void attempt_timing(const struct scenario *s, struct attempt_record *rec, json_t *side[2]);

#endif
