/* A lab's capture, cut and kept in the run's directory before the lab goes. */
#ifndef NATLAB_RUN_CAPTURE_H
#define NATLAB_RUN_CAPTURE_H

#include "lab_job.h"

/* The failed attempts of a lab: which, and their span on the wire's clock. */
struct failed {
	struct {
		int attempt;
		double from, until;
		char name[320]; /* its capture's: LAB-aN-STRATEGY-A-B-skewSms.pcap */
	} *a;
	int n, cap;
};

void keep_capture(const char *id, const struct run_ctx *c, const struct failed *failed);

#endif
