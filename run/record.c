/* The attempt record to and from JSON (the fields: docs/records.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

static const char *const side_key[2] = { "a", "b" };

void record_init(struct attempt_record *r)
{
	memset(r, 0, sizeof(*r));
	r->schema = RECORD_SCHEMA;
	r->skew_wire_ms = r->skew_emit_ms = NAN;
	snprintf(r->predicted, sizeof(r->predicted), "unknown");
	r->agrees = r->on_schedule = r->timing.realtime = RECORD_NULL;
	r->timing.emit_error_ms = NAN;
	r->timing.wire_syn_late_us = NAN;
	r->pick.decide_ms = NAN;
	r->edge.resolution_ms = NAN;
	for (int i = 0; i < 2; i++) {
		r->pick.classify_s[i] = NAN;
		r->timing.send_late_us[i] = NAN;
		r->err_null[i] = true;
		r->syn_retrans[i] = -1;
		r->wire.first_syn[i] = NAN;
		r->edge.range_ms[i] = r->edge.predicted_ms[i] = NAN;
	}
}

void record_release(struct attempt_record *r)
{
	for (int i = 0; i < 2; i++) {
		json_decref(r->sides[i]);
		r->sides[i] = NULL;
	}
}

/* ---- writing ---- */

/* json_real refuses NAN: that is null here */
static json_t *num(double x)
{
	return isnan(x) ? json_null() : json_real(x);
}

static json_t *tri(enum record_bool b)
{
	return b == RECORD_NULL ? json_null() : json_boolean(b == RECORD_TRUE);
}

static json_t *pair_of(json_t *a, json_t *b)
{
	json_t *arr = json_array();

	json_array_append_new(arr, a);
	json_array_append_new(arr, b);
	return arr;
}

static json_t *int_pair(const int v[2])
{
	return pair_of(json_integer(v[0]), json_integer(v[1]));
}

/* {"a": x, "b": y}, taking both */
static json_t *sides_of(json_t *a, json_t *b)
{
	json_t *o = json_object();

	json_object_set_new(o, "a", a ? a : json_null());
	json_object_set_new(o, "b", b ? b : json_null());
	return o;
}

static json_t *ports_of(const struct attempt_record *r, int i)
{
	json_t *arr = json_array();

	for (int k = 0; k < r->n_ext[i]; k++)
		json_array_append_new(arr, json_integer(r->ext_port[i][k]));
	return arr;
}

/* Field order is the one natlab wrote before "schema" came first: parsers
 * downstream may read the lines as text. */
json_t *record_to_json(const struct attempt_record *r)
{
	json_t *o = json_object(), *timing = json_object(), *wire = json_object();
	json_t *err[2], *rtx[2];

	for (int i = 0; i < 2; i++) {
		err[i] = r->err_null[i] ? json_null() : json_string(r->err[i]);
		rtx[i] = r->syn_retrans[i] < 0 ? json_null() : json_integer(r->syn_retrans[i]);
	}
	json_object_set_new(o, "schema", json_integer(r->schema));
	json_object_set_new(o, "scenario", json_string(r->scenario));
	json_object_set_new(o, "lab", json_string(r->lab));
	json_object_set_new(o, "attempt", json_integer(r->attempt));
	json_object_set_new(o, "strategy", json_string(r->strategy));
	json_object_set_new(o, "profiles", sides_of(json_string(r->profile[0]), json_string(r->profile[1])));
	json_object_set_new(o, "rtt_ms", num(r->rtt_ms));
	json_object_set_new(o, "skew_ms", num(r->skew_ms));
	json_object_set_new(o, "skew_wire_ms", num(r->skew_wire_ms));
	json_object_set_new(o, "skew_emit_ms", num(r->skew_emit_ms));
	json_object_set_new(o, "outcome", json_string(r->outcome));
	json_object_set_new(o, "predicted", json_string(r->predicted));
	json_object_set_new(o, "predicted_wire", r->predicted_wire[0] ? json_string(r->predicted_wire) : json_null());
	json_object_set_new(o, "agrees", tri(r->agrees));
	json_object_set_new(o, "on_schedule", tri(r->on_schedule));
	json_object_set_new(timing, "emit_error_ms", num(r->timing.emit_error_ms));
	json_object_set_new(timing, "send_late_us", pair_of(num(r->timing.send_late_us[0]),
							    num(r->timing.send_late_us[1])));
	json_object_set_new(timing, "realtime", tri(r->timing.realtime));
	/* written only where measured: records from before it read back unchanged */
	if (!isnan(r->timing.wire_syn_late_us))
		json_object_set_new(timing, "wire_syn_late_us", num(r->timing.wire_syn_late_us));
	json_object_set_new(o, "timing", timing);
	json_object_set_new(o, "errno", sides_of(err[0], err[1]));
	json_object_set_new(o, "time_to_connect_ms", num(r->time_to_connect_ms));
	/* written for relayed attempts only */
	if (r->relay[0])
		json_object_set_new(o, "relay", json_string(r->relay));
	/* written for a program with a server of its own only */
	if (r->program_server[0])
		json_object_set_new(o, "program_server", json_string(r->program_server));
	/* written for auto only */
	if (r->pick.decision[0])
		json_object_set_new(o, "auto", json_pack("{s:s, s:o, s:o}", "decision", r->pick.decision, "decide_ms",
							 num(r->pick.decide_ms), "classify_s",
							 sides_of(num(r->pick.classify_s[0]), num(r->pick.classify_s[1]))));
	/* written for edge probes only */
	if (r->edge.on)
		json_object_set_new(o, "edge_search", json_pack("{s:o, s:o, s:o}", "resolution_ms",
								num(r->edge.resolution_ms), "range_ms",
								pair_of(num(r->edge.range_ms[0]), num(r->edge.range_ms[1])),
								"predicted_ms",
								pair_of(num(r->edge.predicted_ms[0]),
									num(r->edge.predicted_ms[1]))));
	json_object_set_new(o, "syn_retrans", sides_of(rtx[0], rtx[1]));
	json_object_set_new(wire, "first_syn", pair_of(num(r->wire.first_syn[0]), num(r->wire.first_syn[1])));
	json_object_set_new(wire, "syns", int_pair(r->wire.syns));
	json_object_set_new(wire, "synacks", int_pair(r->wire.synacks));
	json_object_set_new(wire, "rsts", int_pair(r->wire.rsts));
	json_object_set_new(wire, "icmps", int_pair(r->wire.icmps));
	json_object_set_new(wire, "endpoints", pair_of(json_string(r->wire.endpoints[0]),
							json_string(r->wire.endpoints[1])));
	json_object_set_new(o, "wire", wire);
	json_object_set_new(o, "external_ports", sides_of(ports_of(r, 0), ports_of(r, 1)));
	json_object_set_new(o, "sides", sides_of(json_incref(r->sides[0]), json_incref(r->sides[1])));
	json_object_set_new(o, "duration_ms", num(r->duration_ms));
	json_object_set_new(o, "wire_window", pair_of(num(r->wire_window[0]), num(r->wire_window[1])));
	json_object_set_new(o, "kernel", json_string(r->kernel));
	json_object_set_new(o, "seed", json_integer(r->seed));
	return o;
}

char *record_line(const struct attempt_record *r, size_t *len)
{
	json_t *j = record_to_json(r);
	char *s = json_dumps(j, JSON_COMPACT), *line;

	json_decref(j);
	if (!s)
		return NULL;
	*len = strlen(s) + 1;
	line = realloc(s, *len + 1);
	if (!line) {
		free(s);
		return NULL;
	}
	line[*len - 1] = '\n';
	line[*len] = '\0';
	return line;
}

/* ---- reading ---- */

/* Fields a record cannot do without: what makes it a cell of a table. A record
 * missing one is "not an attempt record", as natlab has always said. */
static int not_a_record(struct diag *d)
{
	return diag_set(d, "not an attempt record");
}

static int bad_type(struct diag *d, const char *key, const char *want)
{
	return diag_set(d, "not an attempt record: \"%s\" is not %s", key, want);
}

static int str_at(json_t *v, const char *key, char *out, size_t len, struct diag *d)
{
	if (!json_is_string(v))
		return bad_type(d, key, "a string");
	if (json_string_length(v) >= len)
		return diag_set(d, "not an attempt record: \"%s\" is too long", key);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int need_str(json_t *o, const char *key, char *out, size_t len, struct diag *d)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? str_at(v, key, out, len, d) : not_a_record(d);
}

static int need_num(json_t *o, const char *key, double *out, struct diag *d)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return not_a_record(d);
	*out = json_number_value(v);
	return 0;
}

/* Optional fields: absent leaves the value record_init gave it. */
static int opt_str(json_t *o, const char *key, char *out, size_t len, struct diag *d)
{
	json_t *v = json_object_get(o, key);

	return v ? str_at(v, key, out, len, d) : 0;
}

static int num_at(json_t *v, const char *key, double *out, bool nullable, struct diag *d)
{
	if (json_is_null(v) && nullable)
		*out = NAN;
	else if (json_is_number(v))
		*out = json_number_value(v);
	else
		return bad_type(d, key, nullable ? "a number or null" : "a number");
	return 0;
}

static int opt_num(json_t *o, const char *key, double *out, bool nullable, struct diag *d)
{
	json_t *v = json_object_get(o, key);

	return v ? num_at(v, key, out, nullable, d) : 0;
}

static int int_at(json_t *v, const char *key, long long *out, struct diag *d)
{
	if (!json_is_integer(v))
		return bad_type(d, key, "an integer");
	*out = json_integer_value(v);
	return 0;
}

static int opt_int(json_t *o, const char *key, int *out, struct diag *d)
{
	json_t *v = json_object_get(o, key);
	long long x = 0;

	if (!v)
		return 0;
	if (int_at(v, key, &x, d))
		return -1;
	*out = (int)x;
	return 0;
}

static int opt_tri(json_t *o, const char *key, enum record_bool *out, struct diag *d)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		*out = RECORD_NULL;
	else if (json_is_boolean(v))
		*out = json_is_true(v) ? RECORD_TRUE : RECORD_FALSE;
	else
		return bad_type(d, key, "true, false or null");
	return 0;
}

/* key: [x, y] of numbers (nullable: or null) */
static int opt_num_pair(json_t *o, const char *key, double out[2], bool nullable, struct diag *d)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) != 2)
		return bad_type(d, key, "a pair");
	for (int i = 0; i < 2; i++)
		if (num_at(json_array_get(v, i), key, &out[i], nullable, d))
			return -1;
	return 0;
}

static int opt_int_pair(json_t *o, const char *key, int out[2], struct diag *d)
{
	json_t *v = json_object_get(o, key);
	long long x = 0;

	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) != 2)
		return bad_type(d, key, "a pair");
	for (int i = 0; i < 2; i++) {
		if (int_at(json_array_get(v, i), key, &x, d))
			return -1;
		out[i] = (int)x;
	}
	return 0;
}

/* key: {"a": ..., "b": ...}; NULL when absent */
static json_t *by_side(json_t *o, const char *key, struct diag *d, int *rc)
{
	json_t *v = json_object_get(o, key);

	if (v && !json_is_object(v))
		*rc = bad_type(d, key, "an object of sides a and b");
	return v;
}

static int read_sides(json_t *j, struct attempt_record *r, struct diag *d)
{
	int rc = 0;
	json_t *prof = json_object_get(j, "profiles");
	json_t *err = by_side(j, "errno", d, &rc), *rtx = by_side(j, "syn_retrans", d, &rc);
	json_t *ext = by_side(j, "external_ports", d, &rc), *sides = by_side(j, "sides", d, &rc);

	for (int i = 0; i < 2 && !rc; i++) {
		json_t *e = json_object_get(err, side_key[i]), *x = json_object_get(rtx, side_key[i]);
		json_t *ports = json_object_get(ext, side_key[i]);
		size_t k;

		if (need_str(prof, side_key[i], r->profile[i], sizeof(r->profile[i]), d))
			return -1;
		r->err_null[i] = !e || json_is_null(e);
		if (!r->err_null[i] && str_at(e, "errno", r->err[i], sizeof(r->err[i]), d))
			return -1;
		if (x && !json_is_null(x)) {
			long long n = 0;

			if (int_at(x, "syn_retrans", &n, d))
				return -1;
			r->syn_retrans[i] = (int)n;
		}
		if (ports && (!json_is_array(ports) || json_array_size(ports) > RECORD_MAX_NATS))
			return bad_type(d, "external_ports", "a list of ports");
		json_array_foreach(ports, k, x) {
			long long n = 0;

			if (int_at(x, "external_ports", &n, d))
				return -1;
			r->ext_port[i][r->n_ext[i]++] = (int)n;
		}
		x = json_object_get(sides, side_key[i]);
		r->sides[i] = json_is_null(x) ? NULL : json_incref(x);
	}
	return rc;
}

static int read_wire(json_t *j, struct attempt_record *r, struct diag *d)
{
	json_t *w = json_object_get(j, "wire"), *ep;

	if (!w)
		return 0;
	if (!json_is_object(w))
		return bad_type(d, "wire", "an object");
	if (opt_num_pair(w, "first_syn", r->wire.first_syn, true, d) ||
	    opt_int_pair(w, "syns", r->wire.syns, d) || opt_int_pair(w, "synacks", r->wire.synacks, d) ||
	    opt_int_pair(w, "rsts", r->wire.rsts, d) || opt_int_pair(w, "icmps", r->wire.icmps, d))
		return -1;
	ep = json_object_get(w, "endpoints");
	if (!ep)
		return 0;
	if (!json_is_array(ep) || json_array_size(ep) != 2)
		return bad_type(d, "endpoints", "a pair");
	for (int i = 0; i < 2; i++)
		if (str_at(json_array_get(ep, i), "endpoints", r->wire.endpoints[i],
			   sizeof(r->wire.endpoints[i]), d))
			return -1;
	return 0;
}

static int read_timing(json_t *j, struct attempt_record *r, struct diag *d)
{
	json_t *t = json_object_get(j, "timing");

	if (!t || json_is_null(t))
		return 0;
	if (!json_is_object(t))
		return bad_type(d, "timing", "an object");
	return opt_num(t, "emit_error_ms", &r->timing.emit_error_ms, true, d) ||
	       opt_num_pair(t, "send_late_us", r->timing.send_late_us, true, d) ||
	       opt_tri(t, "realtime", &r->timing.realtime, d) ||
	       opt_num(t, "wire_syn_late_us", &r->timing.wire_syn_late_us, true, d) ? -1 : 0;
}

static int read_pick(json_t *j, struct attempt_record *r, struct diag *d)
{
	json_t *t = json_object_get(j, "auto"), *cs;

	if (!t || json_is_null(t))
		return 0;
	if (!json_is_object(t))
		return bad_type(d, "auto", "an object");
	if (opt_str(t, "decision", r->pick.decision, sizeof(r->pick.decision), d) ||
	    opt_num(t, "decide_ms", &r->pick.decide_ms, true, d))
		return -1;
	cs = json_object_get(t, "classify_s");
	if (cs && !json_is_object(cs))
		return bad_type(d, "classify_s", "an object");
	return cs && (opt_num(cs, "a", &r->pick.classify_s[0], true, d) || opt_num(cs, "b", &r->pick.classify_s[1], true, d))
		       ? -1 : 0;
}

static int read_edge(json_t *j, struct attempt_record *r, struct diag *d)
{
	json_t *t = json_object_get(j, "edge_search");

	if (!t || json_is_null(t))
		return 0;
	if (!json_is_object(t))
		return bad_type(d, "edge_search", "an object");
	r->edge.on = true;
	return opt_num(t, "resolution_ms", &r->edge.resolution_ms, false, d) ||
	       opt_num_pair(t, "range_ms", r->edge.range_ms, false, d) ||
	       opt_num_pair(t, "predicted_ms", r->edge.predicted_ms, true, d) ? -1 : 0;
}

static int read_schema(json_t *j, struct attempt_record *r, struct diag *d)
{
	json_t *v = json_object_get(j, "schema");
	long long n = 0;

	if (!v) {
		r->schema = 1; /* records from before the field */
		return 0;
	}
	if (int_at(v, "schema", &n, d))
		return -1;
	if (n > RECORD_SCHEMA)
		return diag_set(d, "record schema %lld is newer than this natlab reads (%d): a newer natlab wrote it",
				n, RECORD_SCHEMA);
	if (n < 1)
		return diag_set(d, "record schema %lld is not one natlab wrote", n);
	r->schema = (int)n;
	return 0;
}

int record_from_json(json_t *j, struct attempt_record *r, struct diag *d)
{
	json_t *seed = json_object_get(j, "seed");
	long long n = 0;

	if (!json_is_object(j))
		return not_a_record(d);
	/* the schema first: a newer record is refused for that, not for its fields */
	if (read_schema(j, r, d) || need_str(j, "scenario", r->scenario, sizeof(r->scenario), d) ||
	    need_str(j, "strategy", r->strategy, sizeof(r->strategy), d) ||
	    need_str(j, "outcome", r->outcome, sizeof(r->outcome), d) || need_num(j, "rtt_ms", &r->rtt_ms, d) ||
	    need_num(j, "skew_ms", &r->skew_ms, d) || read_sides(j, r, d))
		return -1;
	if (opt_str(j, "lab", r->lab, sizeof(r->lab), d) || opt_int(j, "attempt", &r->attempt, d) ||
	    opt_num(j, "skew_wire_ms", &r->skew_wire_ms, true, d) ||
	    opt_num(j, "skew_emit_ms", &r->skew_emit_ms, true, d) ||
	    opt_str(j, "predicted", r->predicted, sizeof(r->predicted), d) ||
	    (!json_is_null(json_object_get(j, "predicted_wire")) &&
	     opt_str(j, "predicted_wire", r->predicted_wire, sizeof(r->predicted_wire), d)) ||
	    opt_tri(j, "agrees", &r->agrees, d) || opt_tri(j, "on_schedule", &r->on_schedule, d) ||
	    read_timing(j, r, d) || opt_num(j, "time_to_connect_ms", &r->time_to_connect_ms, false, d) ||
	    read_pick(j, r, d) || opt_str(j, "relay", r->relay, sizeof(r->relay), d) ||
	    opt_str(j, "program_server", r->program_server, sizeof(r->program_server), d) || read_edge(j, r, d) ||
	    read_wire(j, r, d) || opt_num(j, "duration_ms", &r->duration_ms, false, d) ||
	    opt_num_pair(j, "wire_window", r->wire_window, false, d) ||
	    opt_str(j, "kernel", r->kernel, sizeof(r->kernel), d))
		return -1;
	if (seed && int_at(seed, "seed", &n, d))
		return -1;
	r->seed = seed ? n : 0;
	return 0;
}

int record_read_file(const char *path, int (*each)(const struct attempt_record *r, void *arg), void *arg,
		     struct diag *d)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	struct attempt_record *r = malloc(sizeof(*r)); /* 5 KB: off the stack */

	if (!f || !r) {
		rc = f ? diag_set(d, "out of memory") : diag_set(d, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (ssize_t n; !rc && (n = getline(&line, &cap, f)) > 0;) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);
		struct diag why;

		lineno++;
		record_init(r);
		if (!j && line[n - 1] != '\n') {
			/* a run stopped mid-write (a full disk, a kill): the records before
			 * it are whole, and this one is said to be lost, not read */
			fprintf(stderr, "natlab: warning: %s:%d: the last record is cut short; left out\n",
				path, lineno);
			break;
		}
		if (!j)
			rc = diag_set(d, "%s:%d: %s", path, lineno, err.text);
		else if (record_from_json(j, r, &why))
			rc = diag_set(d, "%s:%d: %s", path, lineno, why.msg);
		else
			rc = each(r, arg);
		record_release(r);
		json_decref(j);
	}
out:
	if (f)
		fclose(f);
	free(line);
	free(r);
	return rc;
}
