/* The ports: one packet socket for all of them, read and written in batches. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

		if (w->tx.at_once[k])
			w->at_once_us[late < WIRE_AT_ONCE_BUCKETS ? late : WIRE_AT_ONCE_BUCKETS - 1]++;
		else
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
	    size_t len, uint64_t t, bool at_once, struct frame *own)
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
	w->tx.at_once[k] = at_once;
	w->tx.own[k] = own;
	w->tx.port[k] = out;
}

/* The receive ring: TPACKET_V2, a frame per slot and a status word each, so a frame
 * is the wire's as soon as the kernel has written it. Not TPACKET_V3: it hands
 * over whole blocks, when full or at a timeout of a millisecond at the least,
 * which is a delay no frame may have (libpcap's immediate mode keeps to V2 for the
 * same reason). The spin before a frame's time then reads memory, not a system
 * call (recvmmsg's return was a call to the host here: 22 % of a suite's samples).
 * A slot holds the ring's headers, the virtio_net_hdr and a frame of FRAME_MAX; a
 * larger one (a GSO super-frame) is cut short in its slot, marked TP_STATUS_COPY,
 * and queued whole on the socket as well (PACKET_COPY_THRESH), where the wire reads
 * it by recvmsg in the ring's order. Slots of 64 KB for GSO made the ring 16 MB,
 * which the kernel zeroes page by page at set-up in work nothing preempts; on a
 * virtual machine whose free pages go back to the host each is a fault there too.
 * A risk the ring has and recvmmsg has not: a GSO frame the kernel cannot put in a
 * virtio_net_hdr (a type neither TCP nor UDP, SCTP's say) is dropped with its slot
 * still marked taken (tpacket_rcv's rx_owner_map), and every frame after it too.
 * natlab up offers the wire's ports GSO of TCP and UDP only (link_gso_plain). */
#define RING_HEADROOM 128
/* As many slots as a socket's default buffer holds small frames (about 270), in
 * blocks of 64 KB: 512 KB in all */
#define RING_SLOTS 240
#define RING_BLOCK (1u << 16)
/* the socket's buffer for the super-frames' copies: about 60 of them */
#define RING_COPY_BUF (4 << 20)

int ring_make(struct ring *r, int fd)
{
	int v = TPACKET_V2, one = 1;
	unsigned slot = TPACKET_ALIGN(RING_HEADROOM + FRAME_MAX), per_block = RING_BLOCK / slot;
	struct tpacket_req req = { .tp_block_size = RING_BLOCK, .tp_frame_size = slot,
				   .tp_block_nr = (RING_SLOTS + per_block - 1) / per_block };
	void *map;

	req.tp_frame_nr = req.tp_block_nr * per_block;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
		return -1;
	map = mmap(NULL, (size_t)RING_BLOCK * req.tp_block_nr, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		/* a ring no one reads takes every frame: gone, they reach recvmmsg again */
		int e = errno;
		struct tpacket_req none = { 0 };

		setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof(none));
		errno = e;
		return -1;
	}
	*r = (struct ring){ .fd = fd, .map = map, .len = (size_t)RING_BLOCK * req.tp_block_nr,
			    .frame = slot, .per_block = per_block, .n = req.tp_frame_nr };
	fprintf(stderr, "wire: receive ring of %u slots\n", r->n);
	return 0;
}

void say_no_ring(const char *why)
{
	fprintf(stderr, "wire: no receive ring (%s): frames are read by system calls\n", why);
}

void ring_free(struct ring *r)
{
	if (r->map)
		munmap(r->map, r->len);
	*r = (struct ring){ .fd = -1 };
}

int socket_prepare(int fd)
{
	int one = 1;

	/* only the copies of super-frames (and, read by recvmmsg, every frame) are
	 * charged to the socket's buffer: at the default (208 KB) three fit, and a
	 * burst's fourth was lost (1-2 % of a bulk transfer's frames at 0 delay). The
	 * kernel caps it at rmem_max */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ RING_COPY_BUF }, sizeof(int));
	/* a virtio_net_hdr before every frame, both ways: a GSO super-frame and a
	 * checksum left to offloads pass through as they are (no hook change: no wait) */
	return setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one));
}

int socket_bind(int fd)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int one = 1;

	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)))
		return -1;
	/* frames leave when the wire decided, without a queue of their own */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	/* a frame's delay starts when the kernel received it, not when the wire got
	 * round to reading it */
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	return 0;
}

/* The packet socket, made before the wire knows its ports. Its receive ring is
 * made beside it (ringswap.c) and takes over once made: making a ring waits for
 * an RCU grace period (packet_set_ring's synchronize_net, bound or not), 10-15 ms
 * here, that natlab up waited for, a third of its time. */
int ports_socket(struct wire *w)
{
	const char *no_ring = getenv("NATLAB_WIRE_NO_RING") ? "NATLAB_WIRE_NO_RING" : NULL;

	w->ring = (struct ring){ .fd = -1 };
	/* protocol 0 here, ETH_P_ALL at bind: rebinding a live hook waits for an RCU
	 * grace period (synchronize_net) too, and an unbound socket takes no frame */
	w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0 || socket_prepare(w->fd)) {
		fprintf(stderr, "wire: AF_PACKET socket: %s\n", strerror(errno));
		return -1;
	}
	/* NATLAB_WIRE_NO_RING, or a kernel that makes none, leaves the socket as it
	 * is: read by recvmmsg */
	if (no_ring)
		say_no_ring(no_ring);
	else if (ringswap_start(w) && ring_make(&w->ring, w->fd))
		say_no_ring(strerror(errno));
	return 0;
}

/* The socket bound to every port, once they exist and the configuration says which. */
int open_ports(struct wire *w)
{
	for (int i = 0; i < w->c->n_ports; i++) {
		w->ps[i].ifindex = (int)if_nametoindex(w->c->ports[i].name);
		if (!w->ps[i].ifindex) {
			fprintf(stderr, "wire: no port %s\n", w->c->ports[i].name);
			return -1;
		}
	}
	/* a batch of whole frames: a ring's frames too large for their slot are read
	 * into it */
	w->bufs = malloc(BATCH * w->frame_max);
	if (!w->bufs) {
		fprintf(stderr, "wire: out of memory\n");
		return -1;
	}
	if (socket_bind(w->fd)) {
		fprintf(stderr, "wire: AF_PACKET socket: %s\n", strerror(errno));
		return -1;
	}
	/* no fanout group to hand the frames over in: the ring on this socket, made
	 * here, before the wire says it is ready (a grace period) */
	if (w->swap && ringswap_group(w) && ring_make(&w->ring, w->fd))
		say_no_ring(strerror(errno));
	return 0;
}

void close_ports(struct wire *w)
{
	/* a ring not yet taken over is its thread's (the process ends after this) */
	if (w->swap)
		return;
	if (w->ring.fd >= 0 && w->ring.fd != w->fd)
		close(w->ring.fd);
	ring_free(&w->ring);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

static int port_of_ifindex(const struct wire *w, int ifindex)
{
	for (int i = 0; i < w->c->n_ports; i++)
		if (w->ps[i].ifindex == ifindex)
			return i;
	return -1;
}

/* A kernel receive stamp (real time) as monotonic ns; `now` where there is none:
 * one from the future or from long ago is no stamp */
static uint64_t rx_time(struct wire *w, int64_t real_ns, int64_t real_less_mono, uint64_t now)
{
	int64_t t = real_ns - real_less_mono;

	if (real_ns && t > 0 && (uint64_t)t <= now && now - (uint64_t)t < 1000000000ULL) {
		w->rx_stamped++;
		return (uint64_t)t;
	}
	w->rx_unstamped++;
	return now;
}

static struct tpacket2_hdr *ring_slot(const struct wire *w, unsigned i)
{
	return (struct tpacket2_hdr *)(w->ring.map + (size_t)(i / w->ring.per_block) * RING_BLOCK +
				      (size_t)(i % w->ring.per_block) * w->ring.frame);
}

/* The frame a TP_STATUS_COPY slot of `want` bytes stands for, from the socket's
 * queue into data (frame_max bytes): 0, or -1 where there is none whole. The
 * kernel queues each copy as it fills its slot, so they come in the ring's order;
 * one of another length means the two are out of step (never seen): the queue is
 * emptied, and the slots whose copies went with it find none and are dropped. */
static int read_copy(struct wire *w, uint32_t want, struct virtio_net_hdr *vh, unsigned char *data,
		     size_t *len)
{
	struct iovec iov[2] = { { .iov_base = vh, .iov_len = sizeof(*vh) },
				{ .iov_base = data, .iov_len = w->frame_max } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = recvmsg(w->ring.fd, &m, MSG_DONTWAIT);

	if (n < (ssize_t)sizeof(*vh) || (m.msg_flags & MSG_TRUNC))
		return -1;
	*len = (size_t)n - sizeof(*vh);
	if (*len == want)
		return 0;
	fprintf(stderr, "wire: a copy of %zu bytes for a slot of %u: queue and ring out of step, queue emptied\n",
		*len, want);
	m.msg_iovlen = 1; /* the rest of each frame is cut off */
	for (int i = 0; i < RING_SLOTS && recvmsg(w->ring.fd, &m, MSG_DONTWAIT) >= 0; i++)
		;
	return -1;
}

/* Up to BATCH frames at a time from the ring, each handled where it lies; the due
 * ones are sent (tx_flush) before their slots go back to the kernel. */
static void read_ring(struct wire *w)
{
	for (;;) {
		unsigned first = w->ring.head, got = 0, copies = 0;
		int64_t real_less_mono;
		uint64_t now;

		while (got < BATCH) {
			struct tpacket2_hdr *h = ring_slot(w, w->ring.head);

			if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
				break;
			w->ring.head = (w->ring.head + 1) % w->ring.n;
			got++;
		}
		if (!got)
			return;
		now = mono_ns();
		/* the kernel stamps in real time: the offset taken now, so a clock step
		 * since start-up does not move a delay */
		real_less_mono = timing_now(CLOCK_REALTIME) - (int64_t)now;
		for (unsigned k = 0; k < got; k++) {
			struct tpacket2_hdr *h = ring_slot(w, (first + k) % w->ring.n);
			const struct sockaddr_ll *sll =
				(const void *)((unsigned char *)h + TPACKET_ALIGN(sizeof(*h)));
			int port = port_of_ifindex(w, sll->sll_ifindex);
			int64_t stamp = (int64_t)h->tp_sec * 1000000000LL + h->tp_nsec;
			unsigned char *data = (unsigned char *)h + h->tp_mac;
			size_t len = h->tp_snaplen;
			struct virtio_net_hdr vh;

			if (h->tp_status & TP_STATUS_COPY) {
				/* too large for its slot: whole on the socket, next in its queue
				 * (into bufs by the count of copies: few of its pages are touched) */
				data = w->bufs + copies++ * w->frame_max;
				if (read_copy(w, h->tp_len, &vh, data, &len) || port < 0)
					continue;
			} else if (port < 0) {
				continue; /* from no port (lo) */
			} else if (h->tp_snaplen < h->tp_len) {
				/* cut short with no copy: the socket's buffer was full, or the
				 * kernel could not make one */
				w->rx_dropped++;
				continue;
			} else if (h->tp_mac < sizeof(vh) + sizeof(*h)) {
				continue;
			} else {
				memcpy(&vh, data - sizeof(vh), sizeof(vh));
			}
			wire_ingress(w, port, &vh, data, len, rx_time(w, stamp, real_less_mono, now), now);
		}
		tx_flush(w);
		for (unsigned k = 0; k < got; k++)
			__atomic_store_n(&ring_slot(w, (first + k) % w->ring.n)->tp_status, TP_STATUS_KERNEL,
					 __ATOMIC_RELEASE);
		if (got < BATCH)
			return;
	}
}

/* Without a ring: BATCH frames a recvmmsg into bufs. */
void read_socket(struct wire *w)
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
			int64_t stamp = 0;
			uint64_t rx;

			/* larger than the wire carries, or from no port (lo) */
			if (port < 0 || (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) ||
			    msgs[k].msg_len < sizeof(w->rx_vh[k]))
				continue;
			for (cm = CMSG_FIRSTHDR(&msgs[k].msg_hdr); cm; cm = CMSG_NXTHDR(&msgs[k].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;

					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					stamp = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
				}
			rx = rx_time(w, stamp, real_less_mono, now);
			wire_ingress(w, port, &w->rx_vh[k], w->bufs + k * w->frame_max,
				     msgs[k].msg_len - sizeof(w->rx_vh[k]), rx, now);
		}
		/* before bufs are read into again */
		tx_flush(w);
		if (n < BATCH)
			break;
	}
}

void read_ports(struct wire *w)
{
	if (w->swap && ringswap_news(w))
		ringswap_take(w);
	/* while a ring is made, and after (until its thread says no more frames come
	 * to it), the first socket is read too */
	if (!w->ring.map || w->swap)
		read_socket(w);
	if (w->ring.map)
		read_ring(w);
}
