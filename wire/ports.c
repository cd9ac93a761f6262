/* The ports: one packet socket for all of them, read and written in batches. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "internal.h"

/* Sends what tx holds, one sendmmsg for all ports, and notes how late each frame
 * left against the time its delay ended. */
void tx_flush(struct wire *w)
{
	int n = w->tx.n, sent;
	uint64_t now;

	if (!n)
		return;
	now = mono_ns();
	for (int k = 0; k < n; k++) {
		uint64_t late = now > w->tx.t[k] ? (now - w->tx.t[k]) / 1000 : 0;

		w->late_us[late < WIRE_LATE_BUCKETS ? late : WIRE_LATE_BUCKETS - 1]++;
		if (w->tx.own[k] && (w->tx.own[k]->kind == EV_SYN || w->tx.own[k]->kind == EV_SYNACK) &&
		    late > w->syn_late_max_us)
			w->syn_late_max_us = late;
	}
	for (int k = 0; k < n; k += sent > 0 ? sent : 1) {
		sent = sendmmsg(w->fd, w->tx.msgs + k, (unsigned)(n - k), MSG_DONTWAIT);
		/* ENOBUFS and the like: that frame is lost, as on a real link */
		if (sent < 0 && errno != EAGAIN && errno != ENOBUFS)
			fprintf(stderr, "wire: send on %s: %s\n", w->c->ports[w->tx.port[k]].name,
				strerror(errno));
	}
	for (int k = 0; k < n; k++)
		free(w->tx.own[k]);
	w->tx.n = 0;
	w->sent += (uint64_t)n;
	w->stats_dirty = true;
}

/* Queues a frame to leave on port `out`; own is freed once it is sent. */
void tx_add(struct wire *w, int out, const struct virtio_net_hdr *vh, unsigned char *data,
	    size_t len, uint64_t t, struct frame *own)
{
	int k;

	if (w->tx.n == BATCH)
		tx_flush(w);
	k = w->tx.n++;
	w->tx.to[k] = (struct sockaddr_ll){ .sll_family = AF_PACKET, .sll_ifindex = w->ps[out].ifindex };
	/* what the sender left to offloads goes on as it came: GSO and a partial checksum */
	w->tx.vh[k] = *vh;
	w->tx.vh[k].flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	w->tx.iov[k][0] = (struct iovec){ .iov_base = &w->tx.vh[k], .iov_len = sizeof(*vh) };
	w->tx.iov[k][1] = (struct iovec){ .iov_base = data, .iov_len = len };
	w->tx.msgs[k].msg_hdr = (struct msghdr){ .msg_name = &w->tx.to[k],
						 .msg_namelen = sizeof(w->tx.to[k]),
						 .msg_iov = w->tx.iov[k], .msg_iovlen = 2 };
	w->tx.t[k] = t;
	w->tx.own[k] = own;
	w->tx.port[k] = out;
}

int open_ports(struct wire *w)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int one = 1;

	for (int i = 0; i < w->c->n_ports; i++) {
		w->ps[i].ifindex = (int)if_nametoindex(w->c->ports[i].name);
		if (!w->ps[i].ifindex) {
			fprintf(stderr, "wire: no port %s\n", w->c->ports[i].name);
			return -1;
		}
	}
	/* protocol 0 here, ETH_P_ALL at bind: rebinding a live hook waits for an RCU
	 * grace period (synchronize_net) */
	w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* a virtio_net_hdr before every frame, both ways: a GSO super-frame and a
	 * checksum left to offloads pass through as they are (no hook change: no wait) */
	if (w->fd < 0 || setsockopt(w->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    bind(w->fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(w->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one))) {
		fprintf(stderr, "wire: AF_PACKET socket: %s\n", strerror(errno));
		return -1;
	}
	/* frames leave when the wire decided, without a queue of their own */
	setsockopt(w->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	/* a frame's delay starts when the kernel received it, not when the wire got
	 * round to reading it */
	setsockopt(w->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	return 0;
}

static int port_of_ifindex(const struct wire *w, int ifindex)
{
	for (int i = 0; i < w->c->n_ports; i++)
		if (w->ps[i].ifindex == ifindex)
			return i;
	return -1;
}

void read_ports(struct wire *w)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH][2];
	struct sockaddr_ll from[BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl[BATCH];
	int n;

	for (int k = 0; k < BATCH; k++) {
		iov[k][0] = (struct iovec){ .iov_base = &w->rx_vh[k], .iov_len = sizeof(w->rx_vh[k]) };
		iov[k][1] = (struct iovec){ .iov_base = w->bufs + k * w->frame_max, .iov_len = w->frame_max };
		memset(&msgs[k], 0, sizeof(msgs[k]));
		msgs[k].msg_hdr.msg_name = &from[k];
		msgs[k].msg_hdr.msg_iov = iov[k];
		msgs[k].msg_hdr.msg_iovlen = 2;
		msgs[k].msg_hdr.msg_control = ctl[k].buf;
	}
	for (;;) {
		uint64_t now;
		int64_t real_less_mono;

		for (int k = 0; k < BATCH; k++) {
			msgs[k].msg_hdr.msg_namelen = sizeof(from[k]);
			msgs[k].msg_hdr.msg_controllen = sizeof(ctl[k].buf);
		}
		n = recvmmsg(w->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		now = mono_ns();
		/* the kernel stamps in real time: the offset taken now, so a clock step
		 * since start-up does not move a delay */
		real_less_mono = timing_now(CLOCK_REALTIME) - (int64_t)now;
		for (int k = 0; k < n; k++) {
			int port = port_of_ifindex(w, from[k].sll_ifindex);
			struct cmsghdr *cm;
			uint64_t rx = now;

			/* larger than the wire carries, or from no port (lo) */
			if (port < 0 || (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) ||
			    msgs[k].msg_len < sizeof(w->rx_vh[k]))
				continue;
			for (cm = CMSG_FIRSTHDR(&msgs[k].msg_hdr); cm; cm = CMSG_NXTHDR(&msgs[k].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					int64_t t;

					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					t = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - real_less_mono;
					/* a stamp from the future or from long ago is no stamp */
					if (t > 0 && (uint64_t)t <= now && now - (uint64_t)t < 1000000000ULL)
						rx = (uint64_t)t;
				}
			if (rx != now)
				w->rx_stamped++;
			else
				w->rx_unstamped++;
			wire_ingress(w, port, &w->rx_vh[k], w->bufs + k * w->frame_max,
				     msgs[k].msg_len - sizeof(w->rx_vh[k]), rx, now);
		}
		/* before bufs are read into again */
		tx_flush(w);
		if (n < BATCH)
			break;
	}
}
