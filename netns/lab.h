/* A lab: the namespaces, links and NATs of one scenario, and its bookkeeping in /run/natlab. */
#ifndef NATLAB_LAB_H
#define NATLAB_LAB_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../scenario/scenario.h"

#define LAB_RUN_DIR "/run/natlab"
#define LAB_ID_MAX 48

/* Where labs are kept: $NATLAB_RUN_DIR, else /run/natlab. */
const char *lab_run_dir(void);

/* Where the time of an up or a down went: each phase's name and duration. */
#define LAB_PHASES_MAX 12
struct lab_phases {
	int n;
	struct {
		const char *name;
		int64_t ns;
	} v[LAB_PHASES_MAX];
	int64_t last; /* monotonic ns at the end of the previous phase */
};

/* Starts the clock; then each lab_phase_end() closes a phase at now. */
void lab_phases_start(struct lab_phases *p);
void lab_phase_end(struct lab_phases *p, const char *name);

struct lab_opts {
	/* The process whose death makes the lab stale; 0: the lab outlives its creator. */
	pid_t owner;
	/* NULL, or where the bring-up's phases are timed */
	struct lab_phases *phases;
};

/* Builds the lab; writes its unique name to id. On failure nothing is left behind. */
int lab_up(const struct scenario *s, const struct lab_opts *o, char id[LAB_ID_MAX], struct diag *d);
/* Blocks SIGINT, SIGTERM and SIGHUP (lab_up does so while it builds); old gets the
 * mask to restore. */
void lab_block_signals(sigset_t *old);
/* Is one of those signals pending (blocked, not yet taken)? */
bool lab_stop_pending(void);
/* Takes the pending ones off the queue: handled, they cannot kill on unblocking. */
void lab_stop_take(void);
/* Ends the lab's processes, removes its namespaces and bookkeeping. */
int lab_down(const char *id, struct diag *d);
/* The same, with its phases timed into p (which may be NULL). A lab with
 * namespaces but no bookkeeping in this run directory is refused unless `force`. */
int lab_down_timed(const char *id, bool force, struct lab_phases *p, struct diag *d);
/* The same, but it waits for the wire to end (its socket's RCU grace period):
 * natlab run tears labs down one at a time, away from other labs' timing
 * windows, and wants that kernel work inside its turn. */
int lab_down_sync(const char *id, struct diag *d);
/* Reads the lab's bookkeeping; NULL (and d) if there is no such lab. */
json_t *lab_state_read(const char *id, struct diag *d);
/* Calls fn for every lab with bookkeeping. */
/* A reservation or temp file older than this has lost its writer (a kill). */
#define LAB_RESERVE_GRACE_S 5
/* Removes the state files' temp versions that a killed writer left (older than the
 * grace); the number removed. */
int lab_reap_temp(void);
int lab_foreach(int (*fn)(const char *id, json_t *state, void *arg), void *arg);
/* A lab whose owner died, or whose creator died while building it. */
bool lab_is_stale(json_t *state);
/* What list and show say of a lab: "stale", "broken" (up, but its wire has
 * ended), or its state ("up", "building"). */
const char *lab_health(json_t *state);
/* The namespace of NODE in lab ID. */
void lab_netns_name(char *buf, size_t len, const char *id, const char *node);
/* RUN_DIR/ID.hosts: the lab's nodes by name, which natlab exec shows as /etc/hosts */
void lab_hosts_path(char *buf, size_t len, const char *id);
bool lab_id_valid(const char *id);
/* Bookkeeping or namespaces of lab ID are here (not: no such lab). */
bool lab_known(const char *id);

#endif
