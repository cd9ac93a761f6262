/* The services a lab's hosts run (service.c): coturn for `service = turn`. */
#ifndef NATLAB_SERVICE_H
#define NATLAB_SERVICE_H

#include <jansson.h>

#include "../common/diag.h"

struct lab_plan;

/* Starts each PLAN_SERVICE of p in its node's namespace (ns_fd by node; root:
 * this process's own), waits until it answers, lists them in st ("services"). */
int services_start(const struct lab_plan *p, const char *id, const int *ns_fd, int root, json_t *st,
		   struct diag *d);

#endif
