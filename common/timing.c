#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "timing.h"

void timing_init(struct timing *t)
{
	memset(t, 0, sizeof(*t));
	t->early_ns = TIMING_EARLY_DEFAULT_NS;
	/* the default 50 us timer slack would show in every wake-up */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };
}

int64_t timing_now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int by_value(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* the k-th largest of v[0..n), k <= 4: one pass, no sort per wake-up */
static int64_t kth_largest(const int64_t *v, unsigned n, unsigned k)
{
	int64_t top[4] = { 0 };

	for (unsigned i = 0; i < n; i++) {
		unsigned j = k;

		while (j > 0 && v[i] > top[j - 1]) {
			if (j < k)
				top[j] = top[j - 1];
			j--;
		}
		if (j < k)
			top[j] = v[i];
	}
	return top[k - 1];
}

void timing_track(struct timing *t, int64_t target, int64_t woke)
{
	int64_t e;
	unsigned n;

	t->late[t->n++ % TIMING_RING] = woke > target ? woke - target : 0;
	n = t->n < TIMING_RING ? t->n : TIMING_RING;
	/* the 99th percentile of the last few: on a kernel that does not preempt
	 * kernel code (PREEMPT_NONE), a wake-up waits for whatever another task is
	 * doing in the kernel, and a loaded 2-core VM has such stretches of 0.2-1 ms
	 * every few hundred wake-ups; a process already awake and spinning does not
	 * wait for them (measured: p99 of a wire's lateness under a second lab's
	 * bulk TCP 420-900 us with the p90, 120-300 us with the p99) */
	e = kth_largest(t->late, n, n / 100 + 1) + 10000;
	/* the default stands until there is something to go on, unless it is short */
	if (n < 8 && e < TIMING_EARLY_DEFAULT_NS)
		e = TIMING_EARLY_DEFAULT_NS;
	t->early_ns = e < TIMING_EARLY_MIN_NS ? TIMING_EARLY_MIN_NS
		    : e > TIMING_EARLY_MAX_NS ? TIMING_EARLY_MAX_NS : e;
}

int64_t timing_sleep_until(struct timing *t, clockid_t clk, int64_t deadline)
{
	int64_t now = timing_now(clk), target;

	if (deadline - now > TIMING_STEPS_FOR_NS) {
		int64_t until = deadline - TIMING_STEPS_FOR_NS;
		struct timespec ts = ts_of(until);

		while (clock_nanosleep(clk, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		now = timing_now(clk);
	}
	/* the rest of a long wait is slept in steps, each one a measurement of this moment's
	 * wake-ups, so the last step wakes early by what the machine does now */
	while (deadline - now > t->early_ns + 2 * TIMING_STEP_NS) {
		int64_t step = now + TIMING_STEP_NS;
		struct timespec ts = ts_of(step);

		while (clock_nanosleep(clk, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		now = timing_now(clk);
		timing_track(t, step, now);
	}
	target = deadline - t->early_ns;
	if (target > now) {
		struct timespec ts = ts_of(target);

		while (clock_nanosleep(clk, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		now = timing_now(clk);
		timing_track(t, target, now);
	}
	while (now < deadline) {
		timing_spin_yield();
		now = timing_now(clk);
	}
	return now - deadline;
}

void timing_urgent(struct timing *t)
{
	struct sched_param sp;
	int policy;

	/* already urgent: no system call (a wait for the build lock asks every 0.5 ms) */
	if (t->calm_prio)
		return;
	policy = sched_getscheduler(0);
	if (policy >= 0 && (policy & ~SCHED_RESET_ON_FORK) == SCHED_FIFO && !sched_getparam(0, &sp)) {
		int calm = sp.sched_priority;

		sp.sched_priority = TIMING_URGENT_PRIO;
		if (!sched_setparam(0, &sp))
			t->calm_prio = calm;
	}
}

int64_t timing_sleep_until_urgent(struct timing *t, clockid_t clk, int64_t deadline)
{
	/* to the urgent stretch with a plain sleep: its lateness costs nothing, and a
	 * spin there would be one more on the cores */
	if (timing_now(clk) < deadline - TIMING_URGENT_LEAD_NS) {
		struct timespec ts = ts_of(deadline - TIMING_URGENT_LEAD_NS);

		while (clock_nanosleep(clk, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	timing_urgent(t);
	return timing_sleep_until(t, clk, deadline);
}

void timing_calm(struct timing *t)
{
	struct sched_param sp = { .sched_priority = t->calm_prio };

	if (t->calm_prio && !sched_setparam(0, &sp))
		t->calm_prio = 0;
}

void timing_spin_yield(void)
{
	/* a real-time spinner would keep every other one of its priority off this
	 * core until its deadline: it lets them run between its looks at the clock */
	sched_yield();
}

void timing_spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

ssize_t timing_recv(int fd, void *buf, size_t cap, int flags, int64_t *stamp)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} c;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
			    .msg_controllen = stamp ? sizeof(c.buf) : 0 };
	ssize_t n = recvmsg(fd, &m, flags);

	if (n <= 0 || !stamp)
		return n;
	*stamp = timing_now(CLOCK_REALTIME);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(h), sizeof(ts));
			*stamp = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	return n;
}

void timing_measure_late(int n, int64_t step_ns, int64_t *p50, int64_t *p99)
{
	int64_t *v = calloc((size_t)n, sizeof(*v));

	*p50 = *p99 = 0;
	if (!v || n <= 0) {
		free(v);
		return;
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (int i = 0; i < n; i++) {
		int64_t target = timing_now(CLOCK_MONOTONIC) + step_ns;
		struct timespec ts = ts_of(target);

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		v[i] = timing_now(CLOCK_MONOTONIC) - target;
	}
	qsort(v, (size_t)n, sizeof(v[0]), by_value);
	*p50 = v[n / 2];
	*p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	free(v);
}

void timing_keep_heap(void)
{
	mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's most (HEAP_MAX_SIZE / 2): above, refused */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

int timing_realtime(int prio, char *why, size_t len)
{
	struct sched_param sp = { .sched_priority = prio };

	if (getenv("NATLAB_NO_REALTIME")) {
		snprintf(why, len, "NATLAB_NO_REALTIME is set: timing at normal priority");
		return -1;
	}
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp)) {
		snprintf(why, len, "no real-time scheduling (%s): timing at normal priority", strerror(errno));
		return -1;
	}
	/* a major fault (a page swapped out) in the middle of a deadline costs more
	 * than the deadline's margin; without the lock the process stays real-time
	 * all the same. On fault, not at once: locking every library page up front
	 * cost a wire's start-up 2.3 ms of its 3.5; a page first touched later is a
	 * minor fault, 10-45 us on a virtual machine, once (the wire keeps what it
	 * frees: wire/main.c) */
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		snprintf(why, len, "real-time, but memory not locked (%s)", strerror(errno));
	return 0;
}
