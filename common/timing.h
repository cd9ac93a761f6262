/* Keeping time on a busy machine: a timer wakes a process 40-200 us late on a
 * virtualised 2-core host, so a deadline is met by waking early by the lateness
 * measured so far and spinning the short rest. Real-time scheduling keeps other
 * work from standing between a wake-up and the deadline. One struct per user:
 * no state shared between labs or threads. */
#ifndef NATLAB_TIMING_H
#define NATLAB_TIMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define TIMING_RING 256
/* the longest spin: beyond this a wake-up is counted late instead of spun for.
 * Past it are the host's stalls (a virtual CPU taken away for 1-4 ms, 2-4 times a
 * second here), which no spin outlasts: a longer cap only made every wire on the
 * machine spin that long per frame, on the cores the other labs need */
#define TIMING_EARLY_MAX_NS 500000
#define TIMING_EARLY_MIN_NS 20000
/* what a process starts with before it has measured its own wake-ups: the p99 of
 * timer lateness measured on loaded 2-core VMs of this project's kind */
#define TIMING_EARLY_DEFAULT_NS 250000
/* a long sleep goes in steps of this, each one measuring the wake-ups */
#define TIMING_STEP_NS 1000000
#define TIMING_STEPS_FOR_NS 20000000

/* The last stretch before a send whose moment is measured goes at this real-time
 * priority, above every wire's (20): a wire spins out each frame's delay at its
 * own priority, and another lab's wire doing so on both cores kept a peer from
 * its SYN for 0.5-1.9 ms in the suite's worst attempts. The stretch is the
 * stepped part of the sleep (asleep but for a wake-up a millisecond, then one
 * spin of early_ns and the send) and a wire it displaces moves to the other core.
 * It was the last 2 ms: a wake-up at the peers' own priority 2 ms ahead, behind
 * the wires, came back too late for the rest in the worst attempts (a peer's
 * send late p99 0.4-0.9 ms where dcutr's side 1, urgent throughout, had 0.1) */
#define TIMING_URGENT_PRIO 30
#define TIMING_URGENT_LEAD_NS TIMING_STEPS_FOR_NS

struct timing {
	int64_t early_ns;          /* wake this much before a deadline, then spin */
	int64_t late[TIMING_RING]; /* the last coarse wake-ups against their targets */
	unsigned n;
	int calm_prio;             /* while urgent: the priority to go back to, else 0 */
};

void timing_init(struct timing *t);
int64_t timing_now(clockid_t clk);
/* Sleeps until `deadline` (ns on clk, absolute), waking early and spinning.
 * Returns how late the return is, ns (>= 0). */
int64_t timing_sleep_until(struct timing *t, clockid_t clk, int64_t deadline);
/* timing_sleep_until, its last TIMING_URGENT_LEAD_NS at TIMING_URGENT_PRIO where
 * the process is real-time; it stays urgent until timing_calm(), which the caller
 * calls right after the send the deadline was for. */
int64_t timing_sleep_until_urgent(struct timing *t, clockid_t clk, int64_t deadline);
/* Urgent from now (a process that real-time work is waiting on), until timing_calm(). */
void timing_urgent(struct timing *t);
void timing_calm(struct timing *t);
/* One turn of a spin: lets other real-time work of the same priority run. */
void timing_spin_yield(void);
/* One turn of a spin that keeps the core: for a process whose rivals at its
 * priority are better moved to the other core by the scheduler than run here. */
void timing_spin_pause(void);
/* Records one coarse wake-up that was aimed at `target` and came at `woke`, and
 * adjusts early_ns: the 99th percentile of the last TIMING_RING plus a margin. */
void timing_track(struct timing *t, int64_t target, int64_t woke);

/* recv() that also tells, in *stamp (if not NULL), the real time in ns the kernel
 * received the data: SO_TIMESTAMPNS on fd, or the time of the read without it. A
 * process that acts a fixed time after a message came keeps its own wake-up out. */
ssize_t timing_recv(int fd, void *buf, size_t cap, int flags, int64_t *stamp);

/* Timer lateness of this process as it is scheduled now: n sleeps of `step_ns`,
 * p50 and p99 of how late each wake-up came. Takes about n * step_ns. */
void timing_measure_late(int n, int64_t step_ns, int64_t *p50, int64_t *p99);

/* SCHED_FIFO at `prio` and memory locked. 0 when real-time (memory may still be
 * unlocked), or -1 with the reason in why (the caller goes on at normal priority
 * and says so). */
int timing_realtime(int prio, char *why, size_t len);
/* Memory a process frees stays in it (malloc's thresholds): a page first touched
 * costs a fault of 10-45 us on a virtual machine, and glibc's default gives back,
 * to fault in again later, every block above 128 KB. For a whole program (natlab,
 * the wire), at its start. */
void timing_keep_heap(void);

#endif
