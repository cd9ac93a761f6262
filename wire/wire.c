/* The wire's loop: sleeps to the next frame's time, wakes early and spins the rest,
 * takes in what the ports received and what natlab asks by signal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../common/outfile.h"
#include "../common/timing.h"
#include "internal.h"

/* above the peers' and the server's: their packets wait on the wire */
#define WIRE_RT_PRIO 20
/* the stats file at most this often (and this long after the last frame) */
#define STATS_EVERY_NS 10000000ULL

/* A file of the lab's, private to its owner and never through a symlink */
int wire_run(int config_fd, int ready_fd)
{
	struct wire *w = calloc(1, sizeof(*w));
	struct wire_config *c = calloc(1, sizeof(*c));
	struct pollfd pfd[5];
	struct timespec rt;
	sigset_t stop;
	int sfd = -1, tfd = -1, rc = 1;

	if (!w || !c) {
		free(w);
		free(c);
		return 1;
	}
	w->c = c;
	w->stats_fd = -1;
	w->fd = -1;
	/* the socket's ring takes an RCU grace period to make: it passes while natlab
	 * makes the links, then writes this (once the ports exist) */
	if (ports_socket(w))
		goto out;
	if (wire_config_read(c, config_fd)) {
		fprintf(stderr, "natlab-wire: no configuration on fd %d (natlab up gave up on the lab)\n",
			config_fd);
		goto out;
	}
	close(config_fd);
	w->frame_max = c->gso ? GSO_FRAME_MAX : FRAME_MAX;
	timing_init(&w->tm);
	{
		char why[160];

		/* forwarding is every lab user's clock: it goes before other work */
		w->realtime = !timing_realtime(WIRE_RT_PRIO, why, sizeof(why));
		if (!w->realtime)
			fprintf(stderr, "wire: %s\n", why);
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	w->wall_offset = ((int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec) - (int64_t)mono_ns();
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	/* SIGUSR1: "record what you have": blocked before the wire says it is ready,
	 * so that no request can end it; SIGUSR2: dcutr's window begins (its value
	 * 1) or ends (0), below */
	sigaddset(&stop, SIGUSR1);
	sigaddset(&stop, SIGUSR2);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		goto out;
	for (int i = 0; i < c->n_ports; i++) {
		w->ps[i].rng = c->seed * 0x100000001b3ULL + (uint64_t)i * 0x9e3779b97f4a7c15ULL + 1;
		mac_learn(w, c->ports[i].mac, i);
	}
	if (open_ports(w))
		goto out;
	pfd[0].fd = w->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	/* an absolute timer: poll's own timeout gets 0.1 % slack (select_estimate_accuracy),
	 * 0.4 ms on a 400 ms round trip */
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0)
		goto out;
	pfd[2].fd = tfd;
	pfd[2].events = POLLIN;
	/* while the receive ring is made beside: its thread's reports, then the ring */
	pfd[3].events = pfd[4].events = POLLIN;
	if (c->pcap_path[0]) {
		/* a GSO super-frame is one record, as a capture on a host with GRO shows it */
		FILE *f = outfile_fopen(c->pcap_path, 0600);
		struct diag d;

		if (pcap_api_load(&w->pc, "to write a capture", &d)) {
			if (f)
				fclose(f);
			fprintf(stderr, "wire: %s\n", d.msg);
			goto out;
		}
		w->pcap = w->pc.pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144,
								      PCAP_TSTAMP_PRECISION_NANO);
		w->dump = w->pcap && f ? w->pc.pcap_dump_fopen(w->pcap, f) : NULL;
		if (!w->dump) {
			if (f)
				fclose(f);
			fprintf(stderr, "wire: cannot write %s\n", c->pcap_path);
			goto out;
		}
	}
	w->stats_fd = c->stats_path[0] ? outfile_open(c->stats_path, O_TRUNC, 0600) : -1;
	if (c->stats_path[0] && w->stats_fd < 0) {
		fprintf(stderr, "wire: cannot write %s: %s\n", c->stats_path, strerror(errno));
		goto out;
	}
	if (c->events_path[0] && !(w->events = outfile_fopen(c->events_path, 0600))) {
		fprintf(stderr, "wire: cannot write %s: %s\n", c->events_path, strerror(errno));
		goto out;
	}
	if (write(ready_fd, "1", 1) != 1)
		goto out;
	close(ready_fd);

	for (;;) {
		uint64_t now = mono_ns(), next = UINT64_MAX, target = 0;
		bool tracked = false;
		struct itimerspec its = { 0 };

		send_due(w, now);
		flush_records(w, now, false);
		/* the figures for natlab run, a little after the last frame left */
		if (w->stats_dirty && !w->out.n && now >= w->stats_written + STATS_EVERY_NS)
			write_stats(w, now);
		if (w->out.n)
			next = w->out.v[0]->t;
		if (w->rec.n && w->rec.v[0]->t < next)
			next = w->rec.v[0]->t;
		if (next != UINT64_MAX && next <= now)
			continue;
		if (w->out.n && next - now <= (uint64_t)w->tm.early_ns) {
			/* the next frame is due within a wake-up's lateness: spin to it,
			 * taking in what arrives meanwhile */
			while (mono_ns() < next) {
				/* no yield: another wire at this priority that wakes meanwhile is
				 * moved to the other core, not handed this one mid-spin */
				timing_spin_pause();
				read_ports(w);
				if (w->out.v[0]->t < next)
					next = w->out.v[0]->t;
			}
			continue;
		}
		if (w->stats_dirty && !w->out.n && w->stats_written + STATS_EVERY_NS < next)
			next = w->stats_written + STATS_EVERY_NS;
		if (next != UINT64_MAX) {
			/* wake early by the lateness measured so far, then spin the rest; a
			 * record needs no such care: it is written, not sent. A long sleep
			 * comes back late in proportion to its length on a virtual machine's
			 * timer (about 0.1 %): it ends a little early and a short one follows. */
			target = next;
			if (w->out.n && next == w->out.v[0]->t)
				target = next - (uint64_t)w->tm.early_ns -
					 (next - now > 2000000 ? (next - now) / 256 : 0);
			tracked = target == next - (uint64_t)w->tm.early_ns;
			its.it_value.tv_sec = (time_t)(target / 1000000000ULL);
			its.it_value.tv_nsec = (long)(target % 1000000000ULL);
		}
		/* a zero it_value disarms: nothing is waiting */
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		pfd[0].fd = w->fd;
		pfd[3].fd = ringswap_fd(w);
		pfd[4].fd = w->ring.map && w->ring.fd != w->fd ? w->ring.fd : -1;
		if (poll(pfd, 5, -1) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				break;
			if (tracked)
				timing_track(&w->tm, (int64_t)target, (int64_t)mono_ns());
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			bool stop_now = false, sync = false;
			int urgent = -1; /* SIGUSR2's last value; -1: none came */

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				stop_now |= si.ssi_signo != SIGUSR1 && si.ssi_signo != SIGUSR2;
				sync |= si.ssi_signo == SIGUSR1;
				if (si.ssi_signo == SIGUSR2)
					urgent = si.ssi_int != 0;
			}
			if (stop_now) {
				rc = 0;
				break;
			}
			/* dcutr's relay frames are its schedule: through its window
			 * this wire goes at the peers' urgent priority, above the
			 * other wires, whose spins held them up (26 of a suite's 31
			 * worst dcutr attempts had a relay frame 0.3-2.9 ms late, most
			 * with no other wire late then, 2026-12-02). A record calms it
			 * too; a sync left over from the last attempt goes first. */
			if (sync || urgent == 0)
				timing_calm(&w->tm);
			if (urgent == 1)
				timing_urgent(&w->tm);
			if (!sync)
				continue;
			/* natlab run reads an attempt's events: everything received so far
			 * is taken in and recorded, then the figures say so */
			read_ports(w);
			flush_records(w, mono_ns(), false);
			w->synced++;
			write_stats(w, mono_ns());
			w->syn_late_max_us = 0; /* the next attempt's SYNs from here */
			continue;
		}
		if ((pfd[0].revents | pfd[3].revents | pfd[4].revents) & POLLIN)
			read_ports(w);
	}
out:
	flush_records(w, 0, true);
	write_stats(w, mono_ns());
	if (w->dump)
		w->pc.pcap_dump_close(w->dump);
	if (w->pcap)
		w->pc.pcap_close(w->pcap);
	pcap_api_unload(&w->pc);
	if (w->events)
		fclose(w->events);
	while (w->out.n)
		free(heap_pop(&w->out));
	close_ports(w);
	if (w->stats_fd >= 0)
		close(w->stats_fd);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	free(w->out.v);
	free(w->rec.v);
	free(w->bufs);
	free(w);
	free(c);
	return rc;
}
