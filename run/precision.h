/* How precisely a run kept its own timing: the "precision" object of meta.json,
 * computed from DIR/attempts.jsonl and DIR/wire.jsonl (one line per lab's wire). */
#ifndef NATLAB_PRECISION_H
#define NATLAB_PRECISION_H

#include <jansson.h>
#include <stdio.h>

#include "../common/diag.h"

/* The bounds natlab documents (README, "Precision"); a figure past one is a warning. */
#define PRECISION_WIRE_P50_US 20
#define PRECISION_WIRE_P99_US 100
/* frames due as they came (links without delay) leave when the wire wakes: 10-35
 * us at the median here, no bound of the delay's; a p99 of a millisecond is a
 * wire held up (the histogram's last bucket, WIRE_AT_ONCE_BUCKETS) */
#define PRECISION_WIRE_AT_ONCE_P99_US 1000
#define PRECISION_EMIT_P50_MS 0.1
#define PRECISION_EMIT_P95_MS 0.5
#define PRECISION_OFF_SCHEDULE 0.05
#define PRECISION_TIMER_P99_US 500 /* the longest spin: later wake-ups are not absorbed */

/* {"timer_late_us":{p50,p99}, "wire_delay_error_us":{p50,p99,max,frames,labs,realtime},
 *  "wire_at_once_us":{p50,p99,max,frames} (frames due as they came),
 *  "emit_error_ms":{STRATEGY:{p50,p95,n}}, "send_late_us":{STRATEGY:{p50,p99,n}},
 *  "off_schedule":{STRATEGY:share,...,"all":share}, "bounds":{...}, "warnings":[...]}
 * timer_p50/p99 in us, measured by the caller; negative: not measured (null). */
json_t *precision_of_run(const char *dir, double timer_p50, double timer_p99, struct diag *d);

/* The warnings of a precision object, one per line, each prefixed with `lead`. */
void precision_print_warnings(FILE *f, const json_t *precision, const char *lead);

#endif
