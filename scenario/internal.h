/* What the files of the scenario parser share: the value readers, each section's
 * keys, and the steps of scenario_load_stream() (parse.c). Not for outside scenario/. */
#ifndef NATLAB_SCENARIO_INTERNAL_H
#define NATLAB_SCENARIO_INTERNAL_H

#include "scenario.h"

/* parse.c: values, as every section reads them */
int check_name(const char *name, size_t max, struct diag *d);
int parse_int(const char *v, long lo, long hi, long *out);
int parse_double(const char *v, double lo, double hi, double *out);
/* link.c: a named link condition, natsim/links/NAME.link */
struct link_preset {
	double delay_ms, jitter_ms, loss, rate_mbit; /* rate 0: none */
};
int link_preset_load(const char *name, struct link_preset *p, struct diag *d);
/* A link figure's key (delay_ms, jitter_ms, loss, rate_mbit, duplicate): its
 * index, the bit 1 << index of lab_node.link_keys; -1 for none */
int link_figure_index(const char *key);
/* Such a key's value read into out within its bounds: its index; -1 with d for
 * a bad value, or when key is none */
int link_figure(const char *key, const char *value, double *out, struct diag *d);
int set_once(int *seen, int line, const char *key, struct diag *d);
/* fault.c: [fault.NAME] */
int fault_find(const struct scenario *s, const char *name);
int fault_section(struct scenario *s, const char *name, int line, struct diag *d);
int fault_key(struct wire_fault *f, const char *key, const char *value, int line,
	      struct diag *d);
/* run.c: [run], and the keys [matrix] shares with it */
int attempts_key(struct scenario *s, struct run_spec *r, const char *key, const char *value, int line,
		 struct diag *d);
/* edge_resolution_ms's default; edges = bisect needs a range to search */
int resolve_edges(const struct scenario *s, struct run_spec *r, int line, struct diag *d);
/* program.c: [strategy.NAME], a user's program; a strategies token that names
 * none of the built-ins becomes "exec:NAME" in out */
int program_find(const struct scenario *s, const char *name);
int program_section(struct scenario *s, const char *name, int line, struct diag *d);
int program_key(struct run_program *p, const char *key, const char *value, int line, struct diag *d);
int program_token(struct scenario *s, const char *tok, int line, char *out, size_t len, struct diag *d);
int resolve_programs(struct scenario *s, struct diag *d);
int run_key(struct scenario *s, const char *key, const char *value, int line, struct diag *d);
int resolve_run(struct scenario *s, struct diag *d);
/* matrix.c: [matrix] */
int matrix_key(struct scenario *s, const char *key, const char *value, int line,
	       struct diag *d);
int resolve_matrix(struct scenario *s, struct diag *d);
/* validate.c: what holds only once the whole file is read */
int resolve(struct scenario *s, struct diag *d);
/* addresses.c: the address plan */
void plan_addresses(struct scenario *s);
int check_addresses(const struct scenario *s, struct diag *d);

#endif
