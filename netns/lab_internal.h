/* What lab.c (up), down.c and state.c share; not for use outside netns/. */
#ifndef NATLAB_LAB_INTERNAL_H
#define NATLAB_LAB_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lab.h"

/* A lab's files in the run directory: ID.json (bookkeeping), ID.pcap, ID.events, ID.wire.log */
void run_path(char *buf, size_t len, const char *id, const char *ext);
void state_path(char *buf, size_t len, const char *id);
/* Start time of a process, to tell a reused PID apart; 0 when it is gone or exiting. */
unsigned long long proc_start(pid_t pid);
/* Writes the lab's state whole (a temp file renamed over it). */
int state_write(const char *id, json_t *state, struct diag *d);
/* LAB.lock, held through an up or a down of that lab; -1 when it cannot be had. */
int lab_lock(const char *id, bool wait);
void lab_unlock(const char *id, int fd, bool gone);
/* A unique name for a lab of base name `base`, its bookkeeping file made and its lock held. */
int reserve_id(const char *base, char id[LAB_ID_MAX], int *lock, struct diag *d);
/* The namespaces of lab `id` on this machine (at most max); their number. */
int lab_netns_list(const char *id, char names[][128], int max);
/* Ends the processes in the namespaces `names`, removes them, the lab's files and
 * its bookkeeping. */
int teardown(const char *id, char names[][128], int n, bool wait_wire, struct lab_phases *p, struct diag *d);

#endif
