/* The attempt record: to JSON and back, the reader's refusals, and the
 * reference run's records read and written again unchanged (but for "schema"). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../run/record.h"

static void fill(struct attempt_record *r)
{
	record_init(r);
	snprintf(r->scenario, sizeof(r->scenario), "scenarios/suite/sweeps.ini");
	snprintf(r->lab, sizeof(r->lab), "sweeps-5038");
	r->attempt = 3;
	snprintf(r->strategy, sizeof(r->strategy), "so");
	snprintf(r->profile[0], sizeof(r->profile[0]), "linux-default");
	snprintf(r->profile[1], sizeof(r->profile[1]), "none");
	r->rtt_ms = 20;
	r->skew_ms = -4.5;
	r->skew_wire_ms = -4.25;
	r->skew_emit_ms = -4.125;
	snprintf(r->outcome, sizeof(r->outcome), "connected");
	snprintf(r->predicted, sizeof(r->predicted), "connected");
	snprintf(r->predicted_wire, sizeof(r->predicted_wire), "connected");
	r->agrees = RECORD_TRUE;
	r->on_schedule = RECORD_FALSE;
	r->timing.emit_error_ms = 0.375;
	r->timing.send_late_us[0] = 14.1; /* [1] stays null */
	r->timing.realtime = RECORD_TRUE;
	snprintf(r->err[0], sizeof(r->err[0]), "ECONNREFUSED");
	r->err_null[0] = false; /* [1]: that side never reported */
	r->time_to_connect_ms = 12.5;
	r->syn_retrans[0] = 2;
	r->wire.first_syn[0] = 1796083872.25;
	r->wire.syns[0] = 3;
	r->wire.rsts[1] = 1;
	snprintf(r->wire.endpoints[0], sizeof(r->wire.endpoints[0]), "198.19.0.1:43945");
	r->n_ext[0] = 2;
	r->ext_port[0][0] = 43945;
	r->ext_port[0][1] = 1024;
	r->sides[0] = json_pack("{s:s,s:i}", "outcome", "connected", "syn_retrans", 2);
	r->duration_ms = 165.25;
	r->wire_window[0] = 1796083872.0;
	r->wire_window[1] = 1796083872.5;
	snprintf(r->kernel, sizeof(r->kernel), "Linux 6.18");
	r->seed = 7;
	r->edge.on = true;
	r->edge.resolution_ms = 1;
	r->edge.range_ms[0] = -3000;
	r->edge.range_ms[1] = 3000;
	r->edge.predicted_ms[0] = -10; /* [1]: none predicted, null */
}

static int from_text(const char *text, struct attempt_record *r, struct diag *d)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(j);
	record_init(r);
	rc = record_from_json(j, r, d);
	json_decref(j);
	return rc;
}

static void round_trips(void **state)
{
	struct attempt_record a, b;
	struct diag d;
	json_t *j, *k;
	char *s1, *s2;

	(void)state;
	fill(&a);
	j = record_to_json(&a);
	assert_int_equal(json_integer_value(json_object_get(j, "schema")), RECORD_SCHEMA);
	/* schema first, then the fields in the order natlab always wrote them */
	assert_string_equal(json_object_iter_key(json_object_iter(j)), "schema");
	record_init(&b);
	assert_int_equal(record_from_json(j, &b, &d), 0);
	assert_string_equal(b.scenario, a.scenario);
	assert_string_equal(b.profile[1], "none");
	assert_true(b.rtt_ms == 20 && b.skew_ms == -4.5 && b.skew_emit_ms == -4.125);
	assert_int_equal(b.on_schedule, RECORD_FALSE);
	assert_int_equal(b.agrees, RECORD_TRUE);
	assert_true(b.timing.send_late_us[0] == 14.1 && isnan(b.timing.send_late_us[1]));
	assert_false(b.err_null[0]);
	assert_true(b.err_null[1]);
	assert_int_equal(b.syn_retrans[0], 2);
	assert_int_equal(b.syn_retrans[1], -1);
	assert_true(isnan(b.wire.first_syn[1]));
	assert_int_equal(b.n_ext[0], 2);
	assert_int_equal(b.ext_port[0][1], 1024);
	assert_int_equal(b.n_ext[1], 0);
	assert_null(b.sides[1]);
	assert_int_equal(b.seed, 7);
	assert_true(b.edge.on && b.edge.resolution_ms == 1 && b.edge.range_ms[1] == 3000);
	assert_true(b.edge.predicted_ms[0] == -10 && isnan(b.edge.predicted_ms[1]));
	/* and back again: the same text */
	k = record_to_json(&b);
	s1 = json_dumps(j, JSON_COMPACT);
	s2 = json_dumps(k, JSON_COMPACT);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	json_decref(j);
	json_decref(k);
	record_release(&a);
	record_release(&b);
}

static void nulls_stay_null(void **state)
{
	struct attempt_record a, b;
	struct diag d;
	json_t *j;

	(void)state;
	record_init(&a);
	snprintf(a.strategy, sizeof(a.strategy), "udp");
	j = record_to_json(&a);
	assert_true(json_is_null(json_object_get(j, "skew_emit_ms")));
	assert_true(json_is_null(json_object_get(j, "on_schedule")));
	assert_true(json_is_null(json_object_get(j, "predicted_wire")));
	assert_true(json_is_null(json_object_get(json_object_get(j, "timing"), "emit_error_ms")));
	assert_true(json_is_null(json_object_get(json_object_get(j, "syn_retrans"), "a")));
	record_init(&b);
	assert_int_equal(record_from_json(j, &b, &d), 0);
	assert_true(isnan(b.skew_emit_ms) && isnan(b.timing.emit_error_ms));
	assert_int_equal(b.on_schedule, RECORD_NULL);
	assert_string_equal(b.predicted_wire, "");
	/* a grid attempt: no edge_search at all */
	assert_null(json_object_get(j, "edge_search"));
	assert_false(b.edge.on);
	json_decref(j);
	record_release(&b);
}

#define MINIMAL "\"scenario\":\"x/odd.ini\",\"strategy\":\"so\",\"profiles\":{\"a\":\"p\",\"b\":\"q\"}," \
		"\"outcome\":\"connected\",\"rtt_ms\":20,\"skew_ms\":0"

static void the_reader_refuses(void **state)
{
	struct attempt_record r;
	struct diag d;

	(void)state;
	/* what a cell needs, and no more: the rest is optional (no schema: 1) */
	assert_int_equal(from_text("{" MINIMAL "}", &r, &d), 0);
	assert_int_equal(r.schema, 1);
	assert_string_equal(r.predicted, "unknown");
	assert_int_equal(r.on_schedule, RECORD_NULL);
	record_release(&r);
	/* a missing required field */
	assert_int_equal(from_text("{\"strategy\":\"so\"}", &r, &d), -1);
	assert_string_equal(d.msg, "not an attempt record");
	assert_int_equal(from_text("{" MINIMAL ",\"profiles\":{\"a\":\"p\"}}", &r, &d), -1);
	assert_string_equal(d.msg, "not an attempt record");
	assert_int_equal(from_text("[1]", &r, &d), -1);
	/* a wrong type, required or not */
	assert_int_equal(from_text("{" MINIMAL ",\"rtt_ms\":\"20\"}", &r, &d), -1);
	assert_string_equal(d.msg, "not an attempt record");
	assert_int_equal(from_text("{" MINIMAL ",\"on_schedule\":\"yes\"}", &r, &d), -1);
	assert_string_equal(d.msg, "not an attempt record: \"on_schedule\" is not true, false or null");
	assert_int_equal(from_text("{" MINIMAL ",\"timing\":{\"send_late_us\":[1]}}", &r, &d), -1);
	assert_string_equal(d.msg, "not an attempt record: \"send_late_us\" is not a pair");
	assert_int_equal(from_text("{" MINIMAL ",\"syn_retrans\":{\"a\":1.5}}", &r, &d), -1);
	assert_string_equal(d.msg, "not an attempt record: \"syn_retrans\" is not an integer");
	/* a higher schema: refused for that, whatever else the record holds */
	assert_int_equal(from_text("{\"schema\":3}", &r, &d), -1);
	assert_string_equal(d.msg, "record schema 3 is newer than this natlab reads (2): a newer natlab wrote it");
	assert_int_equal(from_text("{\"schema\":\"1\"," MINIMAL "}", &r, &d), -1);
	assert_string_equal(d.msg, "not an attempt record: \"schema\" is not an integer");
	assert_int_equal(from_text("{\"schema\":1," MINIMAL "}", &r, &d), 0);
	record_release(&r);
}

static int count(const struct attempt_record *r, void *arg)
{
	(*(int *)arg)++;
	return r->attempt == 1 ? 42 : 0;
}

static void a_file_names_its_line(void **state)
{
	char path[] = "/tmp/natlab-test-record-XXXXXX";
	int fd = mkstemp(path), n = 0;
	FILE *f = fdopen(fd, "w");
	struct diag d;
	char want[600];

	(void)state;
	assert_non_null(f);
	fputs("{" MINIMAL "}\n{\"schema\":1," MINIMAL ",\"attempt\":0}\n{\"schema\":3}\n", f);
	fclose(f);
	assert_int_equal(record_read_file(path, count, &n, &d), -1);
	assert_int_equal(n, 2);
	snprintf(want, sizeof(want), "%s:3: record schema 3 is newer than this natlab reads (2): a newer "
				     "natlab wrote it", path);
	assert_string_equal(d.msg, want);
	/* each() stops the reading with its own code */
	f = fopen(path, "w");
	fputs("{" MINIMAL ",\"attempt\":1}\n{\"schema\":3}\n", f);
	fclose(f);
	n = 0;
	assert_int_equal(record_read_file(path, count, &n, &d), 42);
	assert_int_equal(n, 1);
	unlink(path);
	assert_int_equal(record_read_file(path, count, &n, &d), -1);
}

/* Every record of the committed reference run, read and written again, is
 * the line it was (with "schema":1 in front, for a record from before the
 * field): downstream parsers see no change. */
static void the_reference_run_reads_back_unchanged(void **state)
{
	FILE *f = fopen("results/reference/attempts.jsonl", "r");
	char *line = NULL, *out;
	size_t cap = 0, len;
	int lines = 0;
	struct attempt_record *r = malloc(sizeof(*r));

	(void)state;
	if (!f)
		skip(); /* run from elsewhere than the repository's top */
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		struct diag d;

		assert_non_null(j);
		record_init(r);
		assert_int_equal(record_from_json(j, r, &d), 0);
		out = record_line(r, &len);
		assert_non_null(out);
		/* a record keeps its schema; one from before the field gets 1 */
		if (strncmp(line, "{\"schema\":", 10)) {
			assert_int_equal(strncmp(out, "{\"schema\":1,", 12), 0);
			assert_string_equal(out + 12, line + 1);
		} else {
			assert_string_equal(out, line);
		}
		free(out);
		record_release(r);
		json_decref(j);
		lines++;
	}
	assert_true(lines > 3000);
	free(line);
	free(r);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trips),
		cmocka_unit_test(nulls_stay_null),
		cmocka_unit_test(the_reader_refuses),
		cmocka_unit_test(a_file_names_its_line),
		cmocka_unit_test(the_reference_run_reads_back_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
