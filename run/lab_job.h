/* One lab of a run: up, the rendezvous server, its attempts, down; and what
 * the labs of one run share (the core tokens, the build lock). */
#ifndef NATLAB_RUN_LAB_JOB_H
#define NATLAB_RUN_LAB_JOB_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "../scenario/scenario.h"

/* What the labs of one run share. */
struct run_ctx {
	const char *probe;
	const char *outdir;
	int records;   /* DIR/attempts.jsonl, O_APPEND: one write(2) per record */
	int wires;     /* DIR/wire.jsonl: each lab's wire figures, a line per lab */
	int progress;  /* a byte per attempt done, to the parent */
	int cores[2];  /* a pipe holding a byte per core: taken while busy */
	int openings[2]; /* a pipe holding a byte per attempt that may be in its opening at once */
	int owed[2];     /* a byte per opening taken back beyond them (opening_retake) */
	char build_lock[PATH_MAX + 16]; /* see build_begin */
	bool whole_pcap; /* one lab only: keep its whole capture as DIR/wire.pcap */
};


/* What a lab's attempts take beside its scenario: auto's classifications of the
 * pair's hosts (once per lab), the lab's TURN server (relay = turn) */
#define CLASSIFY_MAX_S 30
struct lab_extras {
	bool done; /* classified */
	struct lab_class {
		char path[PATH_MAX];
		double seconds;
	} side[2];
	char turn_ep[64], turn_env[96]; /* ADDR:PORT; NATLAB_TURN_PASSWORD=... */
};

void core_take(const struct run_ctx *c);
void core_give(const struct run_ctx *c);
/* An attempt's opening (its peers' rendezvous, punch and first answers) holds
 * one of these; the rest of it (a deadline waited out) does not: pool.c says why.
 * opening_take is false when it took none (a stop): nothing to give back then */
bool opening_take(const struct run_ctx *c);
void opening_give(const struct run_ctx *c);
void opening_retake(const struct run_ctx *c);
/* DIR/.build.lock, held by a build exclusive, by an attempt's window shared */
void build_begin(int fd);
void build_end(int fd);
void window_begin(int fd);

int run_lab(const struct scenario *s, const struct run_ctx *c);

#endif
