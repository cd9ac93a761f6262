#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../report/cells.h"
#include "precision.h"
#include "record.h"
#include "wire_figures.h"

/* one list of values per strategy, in the order strategies first appear */
struct by_strategy {
	char name[32];
	struct samples emit, late;
	unsigned records, off;
};

#define MAX_STRATEGIES 32

static struct by_strategy *strategy_of(struct by_strategy *t, int *n, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	if (*n == MAX_STRATEGIES)
		return NULL;
	snprintf(t[*n].name, sizeof(t[*n].name), "%s", name);
	return &t[(*n)++];
}

static json_t *round3(double x)
{
	return json_real(round(x * 1000) / 1000);
}

/* The wire's lateness histograms of every lab, merged: p50 and p99 in us. */
static int wire_figures(const char *dir, json_t *out, json_t *warnings, struct diag *d)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	struct late_hist *h = calloc(1, sizeof(*h));
	int lineno = 0;
	FILE *f;

	if (!h)
		return diag_set(d, "out of memory");
	h->realtime = true;
	snprintf(path, sizeof(path), "%s/wire.jsonl", dir);
	f = fopen(path, "re");
	if (!f && errno != ENOENT) {
		free(h);
		return diag_set(d, "%s: %s", path, strerror(errno));
	}
	while (f && getline(&line, &cap, f) > 0) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e);

		lineno++;
		if (!json_is_object(j)) {
			json_decref(j);
			fclose(f);
			free(h);
			free(line);
			return diag_set(d, "%s:%d: not a JSON object", path, lineno);
		}
		late_hist_add(h, j);
		json_decref(j);
	}
	if (f)
		fclose(f);
	free(line);
	late_hist_run(h, out, warnings);
	free(h);
	return 0;
}

/* What the records say, strategy by strategy. */
struct tally {
	struct by_strategy *t;
	int n;
	unsigned records, off_all, not_rt;
};

static int tally(const struct attempt_record *r, void *arg)
{
	struct tally *tl = arg;
	struct by_strategy *b = strategy_of(tl->t, &tl->n, r->strategy);

	if (!b)
		return 0;
	tl->records++;
	b->records++;
	if (r->on_schedule == RECORD_FALSE) {
		b->off++;
		tl->off_all++;
	}
	tl->not_rt += r->timing.realtime == RECORD_FALSE;
	/* every attempt, on schedule or not: the ones run again are imprecision too */
	if (!isnan(r->timing.emit_error_ms))
		samples_add(&b->emit, r->timing.emit_error_ms);
	for (int i = 0; i < 2; i++)
		if (!isnan(r->timing.send_late_us[i]))
			samples_add(&b->late, r->timing.send_late_us[i]);
	return 0;
}

json_t *precision_of_run(const char *dir, double timer_p50, double timer_p99, struct diag *d)
{
	struct by_strategy *t = calloc(MAX_STRATEGIES, sizeof(*t));
	json_t *out = json_object(), *warnings = json_array(), *emit = json_object(),
	       *late = json_object(), *off = json_object(), *bounds;
	char path[4096];
	struct tally tl = { .t = t };

	if (!t)
		goto fail_mem;
	snprintf(path, sizeof(path), "%s/attempts.jsonl", dir);
	if (record_read_file(path, tally, &tl, d))
		goto fail;

	if (timer_p50 >= 0) {
		json_object_set_new(out, "timer_late_us", json_pack("{s:o,s:o}", "p50", round3(timer_p50),
								    "p99", round3(timer_p99)));
		if (timer_p99 > PRECISION_TIMER_P99_US)
			figures_warn(warnings, "timer wake-ups were %.0f us late at p99 when the run began (bound: %d): "
					       "the machine is starved", timer_p99, PRECISION_TIMER_P99_US);
	} else {
		json_object_set_new(out, "timer_late_us", json_null());
	}
	if (wire_figures(dir, out, warnings, d))
		goto fail;
	if (tl.not_rt)
		figures_warn(warnings, "in %u of %u attempts a peer ran without real-time scheduling "
				       "(NATLAB_NO_REALTIME, or no CAP_SYS_NICE)", tl.not_rt, tl.records);
	for (int i = 0; i < tl.n; i++) {
		struct by_strategy *b = &t[i];
		double share = b->records ? (double)b->off / b->records : 0;

		if (b->emit.n) {
			double p50 = samples_quantile(&b->emit, 0.5), p95 = samples_quantile(&b->emit, 0.95);

			json_object_set_new(emit, b->name, json_pack("{s:o,s:o,s:i}", "p50", round3(p50), "p95",
								      round3(p95), "n", (json_int_t)b->emit.n));
			if (p50 > PRECISION_EMIT_P50_MS || p95 > PRECISION_EMIT_P95_MS)
				figures_warn(warnings, "%s: the NATs emitted %.3f ms (p50) and %.3f ms (p95) off the "
						       "skew asked (bound: %g and %g)", b->name, p50, p95,
					     PRECISION_EMIT_P50_MS, PRECISION_EMIT_P95_MS);
		}
		if (b->late.n)
			json_object_set_new(late, b->name, json_pack("{s:o,s:o,s:i}", "p50",
								      round3(samples_quantile(&b->late, 0.5)), "p99",
								      round3(samples_quantile(&b->late, 0.99)), "n",
								      (json_int_t)b->late.n));
		json_object_set_new(off, b->name, round3(share));
		if (share > PRECISION_OFF_SCHEDULE)
			figures_warn(warnings, "%s: %u of %u attempts ran off schedule (%.1f %%; bound: %g %%)",
				     b->name, b->off, b->records, 100 * share, 100 * PRECISION_OFF_SCHEDULE);
		free(b->emit.v);
		free(b->late.v);
	}
	json_object_set_new(off, "all", round3(tl.records ? (double)tl.off_all / tl.records : 0));
	json_object_set_new(out, "emit_error_ms", emit);
	json_object_set_new(out, "send_late_us", late);
	json_object_set_new(out, "off_schedule", off);
	bounds = json_pack("{s:{s:i,s:i},s:{s:i},s:{s:f,s:f},s:f,s:{s:i}}", "wire_delay_error_us", "p50",
			   PRECISION_WIRE_P50_US, "p99", PRECISION_WIRE_P99_US, "wire_at_once_us", "p99_under",
			   PRECISION_WIRE_AT_ONCE_P99_US, "emit_error_ms", "p50", PRECISION_EMIT_P50_MS, "p95",
			   PRECISION_EMIT_P95_MS, "off_schedule", PRECISION_OFF_SCHEDULE, "timer_late_us", "p99",
			   PRECISION_TIMER_P99_US);
	json_object_set_new(out, "bounds", bounds);
	json_object_set_new(out, "warnings", warnings);
	free(t);
	return out;
fail_mem:
	diag_set(d, "out of memory");
fail:
	for (int i = 0; t && i < tl.n; i++) {
		free(t[i].emit.v);
		free(t[i].late.v);
	}
	free(t);
	json_decref(out);
	json_decref(warnings);
	json_decref(emit);
	json_decref(late);
	json_decref(off);
	return NULL;
}

void precision_print_warnings(FILE *f, const json_t *precision, const char *lead)
{
	size_t i;
	json_t *w;

	json_array_foreach(json_object_get(precision, "warnings"), i, w)
		fprintf(f, "%s%s\n", lead, json_string_value(w));
}
