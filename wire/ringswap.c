/* The receive ring, made while the wire already forwards. Making a ring waits for an
 * RCU grace period (packet_set_ring's synchronize_net), 10-15 ms here, a third of
 * natlab up's time when the wire waited for it before saying it was ready. So the
 * wire starts on a socket read by recvmmsg, and a thread of its own makes a second
 * socket with the ring, then hands every frame over to it, none lost and none twice:
 *
 *   the first socket forms a fanout group (PACKET_FANOUT_CBPF) whose program sends
 *   every frame to member 0, itself;
 *   the second, its ring made, its filter dropping everything, binds and joins as
 *   member 1: what its own hook took in the meantime the filter dropped;
 *   the program set again (to member 0): the kernel waits a grace period, after
 *   which its own hook has no frame in flight; the filter goes;
 *   the program set to member 1: after its grace period no frame reaches the
 *   first socket. The wire reads both till then, reads the first empty, and sends
 *   on the second from there; the thread closes the first (a grace period too).
 *
 * Each frame goes to one socket; only frames that crossed the switch on two cores at
 * once can be read out of their order, in the moment of the switch. The group needs
 * PACKET_FANOUT_FLAG_IGNORE_OUTGOING (Linux 6.2), or the wire would take in every
 * frame it sends; an older kernel accepts the flag and ignores it, so on one the
 * ring is made on the first socket before the wire is ready, as before. */
#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"

#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif
#define GROUP_TYPE (PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_IGNORE_OUTGOING)

/* The words between the wire and the thread, a byte each on a socket pair */
enum {
	TO_THREAD_GROUPED = 'G', /* the first socket formed the group: join it */
	TO_THREAD_NO_GROUP = 'N',
	TO_THREAD_DONE = 'D',   /* the socket the thread is to close is no longer read */
	TO_WIRE_READ_RING = 'R', /* the ring is in the group: read it too */
	TO_WIRE_SWITCHED = 'S',  /* no frame comes to the first socket any more */
	TO_WIRE_FAILED = 'F',    /* no ring: keep to the first socket */
};

struct ringswap {
	pthread_t t;
	int first, second; /* the wire's socket, the ring's */
	int group;
	int ctl[2];        /* the wire's end (read with MSG_DONTWAIT), the thread's */
	atomic_uint posted; /* words the thread sent; taken: words the wire read */
	unsigned taken;
	struct ring ring;
	char why[96]; /* the failure, for the log */
};

static int to_member(int fd, unsigned member)
{
	struct sock_filter ret = BPF_STMT(BPF_RET | BPF_K, member);
	struct sock_fprog prog = { .len = 1, .filter = &ret };

	return setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof(prog));
}

static void tell_wire(struct ringswap *s, char word)
{
	atomic_fetch_add(&s->posted, 1);
	if (write(s->ctl[1], &word, 1) != 1)
		atomic_fetch_sub(&s->posted, 1);
}

static char hear(int fd)
{
	char word = 0;

	return read(fd, &word, 1) == 1 ? word : 0;
}

static void failed(struct ringswap *s, const char *step)
{
	snprintf(s->why, sizeof(s->why), "%s: %s", step, strerror(errno));
}

/* Ends the thread: what is its own goes when the wire let go of it (its word
 * heard: the wire neither reads nor frees them after); else the process is ending */
static void *swap_end(struct ringswap *s, bool let_go, int sock)
{
	close(s->ctl[1]);
	if (!let_go)
		return NULL;
	if (sock == s->second)
		ring_free(&s->ring);
	if (sock >= 0)
		close(sock); /* a grace period: here, not in the wire's loop */
	free(s);
	return NULL;
}

static void *swap_run(void *arg)
{
	struct ringswap *s = arg;
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog drop = { .len = 1, .filter = &none };
	int join, zero = 0;
	char word;

	/* the ring's grace period passes while the wire is configured and starts */
	s->second = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->second < 0 || socket_prepare(s->second))
		failed(s, "socket");
	else if (ring_make(&s->ring, s->second))
		failed(s, "ring");
	else if (setsockopt(s->second, SOL_SOCKET, SO_ATTACH_FILTER, &drop, sizeof(drop)))
		failed(s, "filter");
	word = hear(s->ctl[1]);
	if (word != TO_THREAD_GROUPED) /* no group: the wire makes its ring itself */
		return swap_end(s, word == TO_THREAD_NO_GROUP, s->second);
	join = s->group | (GROUP_TYPE << 16);
	if (!s->why[0] && (socket_bind(s->second) ||
			   setsockopt(s->second, SOL_PACKET, PACKET_FANOUT, &join, sizeof(join))))
		failed(s, "joining the group");
	if (!s->why[0]) {
		tell_wire(s, TO_WIRE_READ_RING);
		/* a grace period: the second socket's own hook, gone when it joined, has
		 * no frame in flight after it (till then its filter drops them) */
		if (to_member(s->second, 0) ||
		    setsockopt(s->second, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero)))
			failed(s, "taking the filter off");
		else if (to_member(s->second, 1))
			failed(s, "the switch");
	}
	if (!s->why[0]) {
		/* past its grace period: no frame reaches the first socket */
		tell_wire(s, TO_WIRE_SWITCHED);
		return swap_end(s, hear(s->ctl[1]) == TO_THREAD_DONE, s->first);
	}
	tell_wire(s, TO_WIRE_FAILED);
	return swap_end(s, hear(s->ctl[1]) == TO_THREAD_DONE, s->second);
}

/* Linux 6.2 or later: fanout's IGNORE_OUTGOING is honoured (58ba426388d9) */
static bool kernel_ignores_outgoing(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	return !uname(&u) && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	       (major > 6 || (major == 6 && minor >= 2));
}

int ringswap_start(struct wire *w)
{
	struct ringswap *s;
	pthread_attr_t at;
	sigset_t all, old;
	int rc;

	if (!kernel_ignores_outgoing()) {
		fprintf(stderr, "wire: the receive ring is made before the wire is ready (a kernel before 6.2)\n");
		errno = ENOTSUP;
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->first = w->fd;
	s->second = -1;
	s->ring = (struct ring){ .fd = -1 };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->ctl)) {
		free(s);
		return -1;
	}
	/* every signal is the wire's loop's (its signalfd): the thread blocks them all */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&s->t, &at, swap_run, s);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(s->ctl[0]);
		close(s->ctl[1]);
		free(s);
		errno = rc;
		return -1;
	}
	w->swap = s;
	return 0;
}

int ringswap_group(struct wire *w)
{
	struct ringswap *s = w->swap;
	int arg = (GROUP_TYPE | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
	socklen_t len = sizeof(arg);
	char word;

	/* member 0 by a program (the second setting of a program waits for a grace
	 * period, the first does not: this is the first) */
	if (setsockopt(w->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) ||
	    getsockopt(w->fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) || to_member(w->fd, 0)) {
		fprintf(stderr, "wire: no fanout group for the receive ring (%s): it is made before the wire is ready\n",
			strerror(errno));
		word = TO_THREAD_NO_GROUP;
		if (write(s->ctl[0], &word, 1) != 1)
			return -1;
		close(s->ctl[0]);
		w->swap = NULL; /* the thread frees its socket, its ring and this, and ends */
		return -1;
	}
	s->group = arg & 0xffff;
	word = TO_THREAD_GROUPED;
	return write(s->ctl[0], &word, 1) == 1 ? 0 : -1;
}

bool ringswap_news(const struct wire *w)
{
	return atomic_load_explicit(&w->swap->posted, memory_order_acquire) != w->swap->taken;
}

int ringswap_fd(const struct wire *w)
{
	return w->swap ? w->swap->ctl[0] : -1;
}

void ringswap_take(struct wire *w)
{
	struct ringswap *s = w->swap;
	char word;

	while (s && recv(s->ctl[0], &word, 1, MSG_DONTWAIT) == 1) {
		s->taken++;
		if (word == TO_WIRE_READ_RING) {
			w->ring = s->ring;
			continue;
		}
		if (word == TO_WIRE_SWITCHED) {
			/* the last of the first socket's frames, its drops, then the second
			 * carries everything */
			struct tpacket_stats ps;
			socklen_t ps_len = sizeof(ps);

			read_socket(w);
			if (!getsockopt(w->fd, SOL_PACKET, PACKET_STATISTICS, &ps, &ps_len))
				w->rx_dropped += ps.tp_drops;
			w->fd = s->second;
			fprintf(stderr, "wire: the receive ring took over after %llu frames\n",
				(unsigned long long)(w->rx_stamped + w->rx_unstamped));
		} else {
			say_no_ring(s->why);
			w->ring = (struct ring){ .fd = -1 };
		}
		word = TO_THREAD_DONE;
		if (write(s->ctl[0], &word, 1) != 1)
			fprintf(stderr, "wire: the receive ring's thread is gone\n");
		close(s->ctl[0]);
		w->swap = s = NULL; /* the thread frees it, and what it no longer reads */
	}
}
