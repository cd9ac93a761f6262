/* The attempt record: one JSON line per attempt in RUN_DIR/attempts.jsonl,
 * written by natlab run and read by report, check and the precision block.
 * This module is the only code that names its fields; docs/records.md says
 * what each one means. */
#ifndef NATLAB_RECORD_H
#define NATLAB_RECORD_H

#include <jansson.h>
#include <stdbool.h>

#include "../common/diag.h"
#include "../common/strategy.h"

/* Raised when a field changes meaning or goes; readers refuse records newer
 * than theirs. A record without "schema" (written before it) is schema 1. */
#define RECORD_SCHEMA 2

#define RECORD_MAX_NATS 64 /* external ports per side: one per NAT above it (LAB_MAX_NODES) */

/* JSON true, false or null */
enum record_bool { RECORD_NULL = -1, RECORD_FALSE = 0, RECORD_TRUE = 1 };

/* Numbers that may be null are NAN when null; ints that may be, -1. */
struct attempt_record {
	int schema;
	char scenario[4096]; /* the scenario file as given to natlab run */
	char lab[64];
	int attempt;
	char strategy[STRATEGY_NAME_MAX];
	char profile[2][64]; /* the NAT profile right above side a, b; "none" */
	double rtt_ms, skew_ms, skew_wire_ms, skew_emit_ms;
	char outcome[32];
	char predicted[16], predicted_wire[16]; /* predicted_wire: "" for null */
	enum record_bool agrees, on_schedule;
	struct {
		double emit_error_ms;
		double send_late_us[2];
		double wire_syn_late_us; /* the latest a SYN left the wire past its delay */
		enum record_bool realtime;
	} timing;
	char err[2][32];   /* "errno": each side's errno name, "" for none */
	bool err_null[2];  /* that side said nothing (it never reported) */
	double time_to_connect_ms;
	/* auto: what it picked (side a's word; "" for other strategies), when, from
	 * GO (the later side), and how long each host's classification took */
	struct {
		char decision[16];
		double decide_ms;
		double classify_s[2];
	} pick;
	char relay[16]; /* a relayed attempt: which relay carried it, builtin or turn ("" otherwise) */
	/* a program's own server (server_command) as the attempt began: "running",
	 * or how it had ended ("exit 3", "signal 9"); "" for a strategy without one */
	char program_server[24];
	/* edges = bisect: the attempt probed a timing window's edges (not a cell of
	 * the grid); the search's resolution and range, and the model's window (skews,
	 * the range's end where it reaches beyond; NAN: none predicted) */
	struct {
		bool on;
		double resolution_ms;
		double range_ms[2];
		double predicted_ms[2];
	} edge;
	int syn_retrans[2];
	struct {
		double first_syn[2]; /* wall time, seconds */
		int syns[2], synacks[2], rsts[2], icmps[2];
		char endpoints[2][64];
	} wire;
	int n_ext[2];
	int ext_port[2][RECORD_MAX_NATS];
	/* each peer's own report, as natlab-probe printed it (the peer protocol's
	 * schema, prober/PROTOCOL.md, not this one); owned, may be NULL */
	json_t *sides[2];
	double duration_ms;
	double wire_window[2];
	char kernel[160];
	long long seed;
};

/* Every field null, empty or zero; schema RECORD_SCHEMA. */
void record_init(struct attempt_record *r);
/* Drops the sides. */
void record_release(struct attempt_record *r);

/* The record as JSON, fields in their documented order. */
json_t *record_to_json(const struct attempt_record *r);
/* One line of attempts.jsonl, '\n' and NUL ending it; malloc'd, NULL when out of memory. */
char *record_line(const struct attempt_record *r, size_t *len);

/* Fills r (record_init first, record_release after) from one record; -1 with a
 * one-line reason in d when it is none or from a newer natlab. */
int record_from_json(json_t *j, struct attempt_record *r, struct diag *d);

/* Calls each() on every record of an attempts.jsonl in order. Returns 0, -1
 * with "PATH:LINE: reason" (or "PATH: error") in d, or what each() returned
 * when it was not 0 (it stops there). */
int record_read_file(const char *path, int (*each)(const struct attempt_record *r, void *arg), void *arg,
		     struct diag *d);

#endif
