/* What a run leaves in its directory: attempts.jsonl, wire.jsonl, meta.json. */
#ifndef NATLAB_RUN_OUTPUT_H
#define NATLAB_RUN_OUTPUT_H

#include <stdint.h>

#include "capture.h"
#include "lab_job.h"
#include "record.h"

/* a lab's exit status when the out dir took no more records (EX_IOERR): the run
 * stops every lab, as no further attempt could be kept */
#define RUN_OUTPUT_FAILED 74

int mkdirs(const char *path);
int keep_record(const struct run_ctx *c, const struct attempt_record *rec, struct failed *failed);
void keep_wire_figures(const struct run_ctx *c, const char *id, const char *stats);
/* meta.json: the run's facts, outcomes and precision (recomputed from the
 * directory's records and wire figures); run_more's keys (taken) join "run" */
int write_meta(const char *outdir, long jobs, unsigned done, unsigned again, int64_t late_p50,
	       int64_t late_p99, json_t *run_more);

#endif
