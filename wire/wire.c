#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <math.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
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
#include "wire.h"

#define FRAME_MAX 2048
/* a GSO super-frame: an IPv4 packet of up to 64 KB and its Ethernet header */
#define GSO_FRAME_MAX (65536 + 64)
#define BATCH 32
#define MAC_MAX 256
/* above the peers' and the server's: their packets wait on the wire */
#define WIRE_RT_PRIO 20
/* the stats file at most this often (and this long after the last frame) */
#define STATS_EVERY_NS 10000000ULL

bool wire_carries_gso(const struct scenario *s)
{
	if (s->n_faults || s->reorder)
		return false;
	for (int i = 1; i < s->n; i++)
		if (s->nodes[i].parent == 0 && s->nodes[i].loss > 0)
			return false;
	return true;
}

void wire_config_from_scenario(struct wire_config *c, const struct scenario *s)
{
	int port_of[LAB_MAX_NODES];

	memset(c, 0, sizeof(*c));
	for (int i = 1; i < s->n; i++) {
		const struct lab_node *n = &s->nodes[i];
		struct wire_port *p;

		port_of[i] = -1;
		if (n->parent != 0)
			continue;
		port_of[i] = c->n_ports;
		p = &c->ports[c->n_ports++];
		snprintf(p->name, sizeof(p->name), "%s", n->name);
		scenario_node_mac(i, p->mac);
		p->delay_ns = (int64_t)llround(n->delay_ms * 1e6);
		p->jitter_ns = (int64_t)llround(n->jitter_ms * 1e6);
		p->loss = n->loss;
	}
	for (int k = 0; k < s->n_faults; k++) {
		c->faults[k] = s->faults[k];
		c->faults[k].at = port_of[s->faults[k].at];
	}
	c->n_faults = s->n_faults;
	c->reorder = s->reorder;
	c->gso = wire_carries_gso(s);
	c->seed = s->seed;
}

/* splitmix64: small, seedable, one state per port so a run repeats. */
static uint64_t rng_next(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *st)
{
	return (double)(rng_next(st) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_normal(uint64_t *st)
{
	double u1 = rng_unit(st), u2 = rng_unit(st);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
}

struct frame {
	uint64_t t; /* monotonic ns: when it leaves (sends) or reaches the core (records) */
	uint64_t seq;
	int out;    /* output port; for records: the destination port or -1 (flooded) */
	int in;
	int kind;   /* records: which event it is, 0 for none */
	uint32_t len;
	struct virtio_net_hdr vh; /* offloads: GSO, a checksum left to finish */
	unsigned char data[];
};

struct heap {
	struct frame **v;
	size_t n, cap;
};

static bool earlier(const struct frame *a, const struct frame *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(struct heap *h, struct frame *f)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct frame **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	i = h->n++;
	while (i && earlier(f, h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = f;
	return 0;
}

static struct frame *heap_pop(struct heap *h)
{
	struct frame *top = h->v[0], *last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && earlier(h->v[c + 1], h->v[c]))
			c++;
		if (!earlier(h->v[c], last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

struct port_state {
	int ifindex;
	uint64_t rng;
	uint64_t last_core, last_out; /* FIFO per link and direction (out of the node, into it) */
};

struct wire {
	const struct wire_config *c;
	int fd; /* one AF_PACKET socket for every port: one RCU wait to open and close */
	struct port_state ps[LAB_MAX_NODES];
	unsigned fault_hits[LAB_MAX_FAULTS];
	struct {
		unsigned char mac[6];
		int port;
	} macs[MAC_MAX];
	int n_macs;
	struct heap out, rec;
	uint64_t seq;
	int64_t wall_offset; /* realtime - monotonic, ns */
	pcap_t *pcap;
	pcap_dumper_t *dump;
	FILE *events;
	/* frames are read into bufs (BATCH of frame_max) and sent from there when due
	 * at once; only a frame that waits is copied */
	unsigned char *bufs;
	size_t frame_max;
	struct virtio_net_hdr rx_vh[BATCH];
	struct {
		struct mmsghdr msgs[BATCH];
		struct iovec iov[BATCH][2];
		struct sockaddr_ll to[BATCH];
		struct virtio_net_hdr vh[BATCH];
		struct frame *own[BATCH]; /* freed once sent; NULL: it lives in bufs */
		int port[BATCH];
		uint64_t t[BATCH];
		int n;
	} tx;
	struct timing tm;   /* wake early by the lateness seen, spin the rest */
	bool realtime;
	unsigned synced; /* SIGUSR1s answered: everything received before each is recorded */
	/* how late each frame left against its time; written to stats_path */
	uint32_t late_us[WIRE_LATE_BUCKETS];
	uint64_t sent, rx_stamped, rx_unstamped;
	bool stats_dirty;
	int out_err; /* the first error writing the capture or the events: they stop there */
	uint64_t stats_written; /* monotonic ns */
	int stats_fd;
	size_t stats_len;
	char stats_buf[WIRE_LATE_BUCKETS * 18 + 256]; /* every bucket "[9999,4294967295]," */
};

static uint64_t mono_ns(void)
{
	return (uint64_t)timing_now(CLOCK_MONOTONIC);
}

enum event_kind { EV_NONE, EV_SYN, EV_SYNACK, EV_RST, EV_ICMP };

struct pkt_info {
	int match_bits; /* 1 << enum fault_match for every class the frame is in */
	int event;
	struct in_addr src, dst;
	uint16_t sport, dport;
	uint8_t proto, icmp_type, icmp_code;
};

static void classify(const unsigned char *d, size_t len, struct pkt_info *pi)
{
	const struct ether_header *eh = (const void *)d;
	const struct iphdr *ip;
	size_t ihl;

	memset(pi, 0, sizeof(*pi));
	pi->match_bits = 1 << MATCH_ANY;
	if (len < sizeof(*eh) + sizeof(*ip) || ntohs(eh->ether_type) != ETHERTYPE_IP)
		return;
	ip = (const void *)(d + sizeof(*eh));
	ihl = (size_t)ip->ihl * 4;
	if (ihl < sizeof(*ip) || len < sizeof(*eh) + ihl)
		return;
	pi->src.s_addr = ip->saddr;
	pi->dst.s_addr = ip->daddr;
	pi->proto = ip->protocol;
	d += sizeof(*eh) + ihl;
	len -= sizeof(*eh) + ihl;
	if (ip->protocol == IPPROTO_TCP && len >= sizeof(struct tcphdr)) {
		const struct tcphdr *th = (const void *)d;

		pi->sport = ntohs(th->source);
		pi->dport = ntohs(th->dest);
		pi->match_bits |= 1 << MATCH_TCP;
		if (th->syn && !th->ack) {
			pi->match_bits |= 1 << MATCH_TCP_SYN;
			pi->event = EV_SYN;
		} else if (th->syn && th->ack) {
			pi->match_bits |= 1 << MATCH_TCP_SYNACK;
			pi->event = EV_SYNACK;
		} else if (th->rst) {
			pi->match_bits |= 1 << MATCH_TCP_RST;
			pi->event = EV_RST;
		} else if (th->ack) {
			pi->match_bits |= 1 << MATCH_TCP_ACK;
		}
	} else if (ip->protocol == IPPROTO_UDP && len >= 4) {
		pi->sport = (uint16_t)(d[0] << 8 | d[1]);
		pi->dport = (uint16_t)(d[2] << 8 | d[3]);
		pi->match_bits |= 1 << MATCH_UDP;
	} else if (ip->protocol == IPPROTO_ICMP && len >= 2) {
		pi->match_bits |= 1 << MATCH_ICMP;
		pi->icmp_type = d[0];
		pi->icmp_code = d[1];
		if (d[0] == ICMP_DEST_UNREACH || d[0] == ICMP_TIME_EXCEEDED)
			pi->event = EV_ICMP;
	}
}

/* The first matching fault that still has hits left decides; returns its index or -1. */
static int fault_for(struct wire *w, const struct pkt_info *pi, int port, bool inbound)
{
	for (int k = 0; k < w->c->n_faults; k++) {
		const struct wire_fault *f = &w->c->faults[k];

		if (f->at != port || f->inbound != inbound || !(pi->match_bits & (1 << f->match)))
			continue;
		if (f->count && w->fault_hits[k] >= f->count)
			continue;
		w->fault_hits[k]++;
		return k;
	}
	return -1;
}

static int64_t link_delay(struct wire *w, int port)
{
	const struct wire_port *p = &w->c->ports[port];
	int64_t d = p->delay_ns;

	if (p->jitter_ns)
		d += (int64_t)llround(rng_normal(&w->ps[port].rng) * (double)p->jitter_ns);
	return d < 0 ? 0 : d;
}

static struct frame *frame_new(struct wire *w, const struct virtio_net_hdr *vh,
			       const unsigned char *data, size_t len)
{
	struct frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	memcpy(f->data, data, len);
	f->len = (uint32_t)len;
	f->vh = *vh;
	f->seq = w->seq++;
	f->kind = EV_NONE;
	return f;
}

/* A frame whose transport checksum the sender left to the NIC (tx checksum offload)
 * carries only the pseudo-header's sum there: finished here, for the capture, as a
 * line would show it. The frame that goes on is left as it is: its receiver's
 * kernel takes a partial checksum as verified. */
static void csum_finish(struct frame *f)
{
	size_t start = f->vh.csum_start, at = start + f->vh.csum_offset;
	uint32_t sum = 0;
	uint16_t v;

	if (!(f->vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || at + 2 > f->len)
		return;
	for (size_t i = start; i + 1 < f->len; i += 2)
		sum += (uint32_t)(f->data[i] << 8 | f->data[i + 1]);
	if ((f->len - start) & 1)
		sum += (uint32_t)f->data[f->len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	/* 0 means "no checksum" to UDP; the same sum as 0xffff to TCP */
	v = htons((uint16_t)~sum ? (uint16_t)~sum : 0xffff);
	memcpy(f->data + at, &v, 2);
	f->vh.flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

static int mac_port(struct wire *w, const unsigned char *mac)
{
	for (int i = 0; i < w->n_macs; i++)
		if (!memcmp(w->macs[i].mac, mac, 6))
			return w->macs[i].port;
	return -1;
}

static void mac_learn(struct wire *w, const unsigned char *mac, int port)
{
	if (mac[0] & 1)
		return;
	for (int i = 0; i < w->n_macs; i++)
		if (!memcmp(w->macs[i].mac, mac, 6)) {
			w->macs[i].port = port;
			return;
		}
	if (w->n_macs < MAC_MAX) {
		memcpy(w->macs[w->n_macs].mac, mac, 6);
		w->macs[w->n_macs++].port = port;
	}
}

/* A frame crosses one link, out of the node at `port` (inbound false) or into it:
 * loss, scripted faults, delay and jitter. *t is when it enters the link and becomes
 * when it leaves; false when it is lost on the way. */
static bool link_cross(struct wire *w, const struct pkt_info *pi, int port, bool inbound,
		       uint64_t *t)
{
	const struct wire_config *c = w->c;
	struct port_state *ps = &w->ps[port];
	uint64_t *last = inbound ? &ps->last_out : &ps->last_core;
	int fk;

	if (c->ports[port].loss > 0 && rng_unit(&ps->rng) < c->ports[port].loss)
		return false;
	fk = fault_for(w, pi, port, inbound);
	if (fk >= 0 && c->faults[fk].action == FAULT_DROP)
		return false;
	*t += (uint64_t)link_delay(w, port);
	if (!c->reorder && *t < *last)
		*t = *last;
	*last = *t;
	if (fk >= 0) /* a delayed class leaves the FIFO: others may overtake it */
		*t += (uint64_t)llround(c->faults[fk].extra_ms * 1e6);
	return true;
}

/* The internet is one router hop: IPv4 TTL goes down by one at the core (the
 * checksum follows, RFC 1624), and a packet whose TTL runs out dies there silently,
 * as a low-TTL SYN (STUNT) should. Returns false for such a packet. */
static bool hop(unsigned char *data, size_t len)
{
	struct iphdr *ip = (void *)(data + sizeof(struct ether_header));
	uint32_t sum;

	if (len < sizeof(struct ether_header) + sizeof(*ip) ||
	    ntohs(((struct ether_header *)data)->ether_type) != ETHERTYPE_IP)
		return true;
	if (ip->ttl <= 1)
		return false;
	ip->ttl--;
	/* the TTL is the high byte of a 16-bit word: the sum grows by 0x0100 */
	sum = (uint32_t)ntohs(ip->check) + 0x0100;
	ip->check = htons((uint16_t)(sum + (sum >> 16)));
	return true;
}

/* Sends what tx holds, one sendmmsg for all ports, and notes how late each frame
 * left against the time its delay ended. */
static void tx_flush(struct wire *w)
{
	int n = w->tx.n, sent;
	uint64_t now;

	if (!n)
		return;
	now = mono_ns();
	for (int k = 0; k < n; k++) {
		uint64_t late = now > w->tx.t[k] ? (now - w->tx.t[k]) / 1000 : 0;

		w->late_us[late < WIRE_LATE_BUCKETS ? late : WIRE_LATE_BUCKETS - 1]++;
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
static void tx_add(struct wire *w, int out, const struct virtio_net_hdr *vh, unsigned char *data,
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

/* One frame in from port `in`, received by the kernel at rx: where it goes, when,
 * and whether it is lost. A frame due now with nothing due before it leaves from
 * where it was read (before the next read); any other waits in the heap. */
static void wire_ingress(struct wire *w, int in, const struct virtio_net_hdr *vh,
			 unsigned char *data, size_t len, uint64_t rx, uint64_t now)
{
	const struct wire_config *c = w->c;
	struct pkt_info pi;
	uint64_t core;
	int dst, outs[LAB_MAX_NODES], n_outs = 0;
	struct frame *rec;

	if (len < sizeof(struct ether_header))
		return;
	classify(data, len, &pi);
	mac_learn(w, data + 6, in);
	if (!hop(data, len))
		return;
	core = rx;
	if (!link_cross(w, &pi, in, false, &core))
		return;

	dst = (data[0] & 1) ? -1 : mac_port(w, data);
	if (dst == in)
		return;
	for (int o = 0; o < c->n_ports; o++)
		if (o != in && (dst < 0 || o == dst))
			outs[n_outs++] = o;

	/* the capture point is the core of the internet, between the two links */
	if (w->dump || (w->events && pi.event)) {
		rec = frame_new(w, vh, data, len);
		if (rec) {
			if (w->dump)
				csum_finish(rec);
			rec->t = core;
			rec->in = in;
			rec->out = dst;
			rec->kind = pi.event;
			heap_push(&w->rec, rec);
		}
	}
	for (int k = 0; k < n_outs; k++) {
		int o = outs[k];
		uint64_t t;
		struct frame *f;

		t = core;
		if (!link_cross(w, &pi, o, true, &t))
			continue;
		if (t <= now && (!w->out.n || t < w->out.v[0]->t)) {
			w->seq++;
			tx_add(w, o, vh, data, len, t, NULL);
			continue;
		}
		f = frame_new(w, vh, data, len);
		if (!f)
			continue;
		f->t = t;
		f->in = in;
		f->out = o;
		if (heap_push(&w->out, f))
			free(f);
	}
}

static void write_event(struct wire *w, const struct frame *f)
{
	static const char *const names[] = { "", "syn", "synack", "rst", "icmp" };
	struct pkt_info pi;
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	uint64_t wall = f->t + (uint64_t)w->wall_offset;

	classify(f->data, f->len, &pi);
	inet_ntop(AF_INET, &pi.src, src, sizeof(src));
	inet_ntop(AF_INET, &pi.dst, dst, sizeof(dst));
	fprintf(w->events,
		"{\"t\":%llu.%09llu,\"kind\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"proto\":%u,"
		"\"src\":\"%s:%u\",\"dst\":\"%s:%u\"",
		(unsigned long long)(wall / 1000000000ULL), (unsigned long long)(wall % 1000000000ULL),
		names[f->kind], w->c->ports[f->in].name, f->out >= 0 ? w->c->ports[f->out].name : "*",
		pi.proto, src, pi.sport, dst, pi.dport);
	if (f->kind == EV_ICMP)
		fprintf(w->events, ",\"icmp_type\":%u,\"icmp_code\":%u", pi.icmp_type, pi.icmp_code);
	fputs("}\n", w->events);
}

/* Records whose core time has come, in time order: pcap and events. */
static void flush_records(struct wire *w, uint64_t now, bool all)
{
	bool wrote = false;

	while (w->rec.n && (all || w->rec.v[0]->t <= now)) {
		struct frame *f = heap_pop(&w->rec);
		uint64_t wall = f->t + (uint64_t)w->wall_offset;

		if (w->dump) {
			struct pcap_pkthdr h = { .caplen = f->len, .len = f->len };

			h.ts.tv_sec = (time_t)(wall / 1000000000ULL);
			h.ts.tv_usec = (suseconds_t)(wall % 1000000000ULL); /* nanosecond file */
			pcap_dump((u_char *)w->dump, &h, f->data);
		}
		if (w->events && f->kind)
			write_event(w, f);
		free(f);
		wrote = true;
	}
	if (wrote) {
		/* a full disk: said once in the log and in the figures, then no more writes */
		if (w->dump && (pcap_dump_flush(w->dump) || ferror(pcap_dump_file(w->dump)))) {
			w->out_err = errno ? errno : EIO;
			fprintf(stderr, "wire: %s: %s; the capture stops here\n", w->c->pcap_path,
				strerror(w->out_err));
			pcap_dump_close(w->dump);
			w->dump = NULL;
			w->stats_dirty = true;
		}
		if (w->events && (fflush(w->events) || ferror(w->events))) {
			w->out_err = errno ? errno : EIO;
			fprintf(stderr, "wire: %s: %s; the events stop here\n", w->c->events_path,
				strerror(w->out_err));
			fclose(w->events);
			w->events = NULL;
			w->stats_dirty = true;
		}
	}
}

static void send_due(struct wire *w, uint64_t now)
{
	while (w->out.n && w->out.v[0]->t <= now) {
		struct frame *f = heap_pop(&w->out);

		tx_add(w, f->out, &f->vh, f->data, f->len, f->t, f);
	}
	tx_flush(w);
}

/* {"frames":N,"realtime":B,"early_us":E,"rx_stamped":N,"late_us":[[US,COUNT],...]}
 * over the file opened at start, padded to what was there: no create, rename or
 * directory lock in the forwarding loop (a rename here waited up to 49 ms on the
 * run directory's other labs). A reader that meets half a write reads again. */
static void write_stats(struct wire *w, uint64_t now)
{
	char *b = w->stats_buf;
	size_t cap = sizeof(w->stats_buf), len;
	int n;

	w->stats_dirty = false;
	w->stats_written = now;
	if (w->stats_fd < 0)
		return;
	n = snprintf(b, cap, "{\"frames\":%llu,\"synced\":%u,\"realtime\":%s,\"early_us\":%lld,\"rx_stamped\":%llu,"
			     "\"rx_unstamped\":%llu,\"late_us\":[",
		     (unsigned long long)w->sent, w->synced, w->realtime ? "true" : "false",
		     (long long)(w->tm.early_ns / 1000), (unsigned long long)w->rx_stamped,
		     (unsigned long long)w->rx_unstamped);
	len = (size_t)n;
	for (int i = 0; i < WIRE_LATE_BUCKETS && len + 40 < cap; i++)
		if (w->late_us[i])
			len += (size_t)snprintf(b + len, cap - len, "%s[%d,%u]", b[len - 1] == '[' ? "" : ",",
						i, w->late_us[i]);
	len += (size_t)snprintf(b + len, cap - len, "]");
	if (w->out_err && len + 80 < cap)
		len += (size_t)snprintf(b + len, cap - len, ",\"output_error\":\"%s\"", strerror(w->out_err));
	len += (size_t)snprintf(b + len, cap - len, "}\n");
	if (len < w->stats_len) { /* blank out the tail of a longer earlier one */
		memset(b + len, ' ', w->stats_len - len);
		len = w->stats_len;
	}
	if (pwrite(w->stats_fd, b, len, 0) == (ssize_t)len)
		w->stats_len = len;
}

static int open_ports(struct wire *w)
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

static void read_ports(struct wire *w)
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

/* A file of the lab's, private to its owner and never through a symlink */
int wire_run(const struct wire_config *c, int ready_fd)
{
	struct wire *w = calloc(1, sizeof(*w));
	struct pollfd pfd[3];
	struct timespec rt;
	sigset_t stop;
	int sfd, tfd = -1, rc = 1;

	if (!w)
		return 1;
	w->c = c;
	w->stats_fd = -1;
	w->fd = -1;
	w->frame_max = c->gso ? GSO_FRAME_MAX : FRAME_MAX;
	w->bufs = malloc(BATCH * w->frame_max);
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
	 * so that no request can end it */
	sigaddset(&stop, SIGUSR1);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		goto out;
	for (int i = 0; i < c->n_ports; i++) {
		w->ps[i].rng = c->seed * 0x100000001b3ULL + (uint64_t)i * 0x9e3779b97f4a7c15ULL + 1;
		mac_learn(w, c->ports[i].mac, i);
	}
	if (!w->bufs || open_ports(w))
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
	if (c->pcap_path[0]) {
		/* a GSO super-frame is one record, as a capture on a host with GRO shows it */
		FILE *f = outfile_fopen(c->pcap_path, 0600);

		w->pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
		w->dump = w->pcap && f ? pcap_dump_fopen(w->pcap, f) : NULL;
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
		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
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
			bool stop_now = false;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				stop_now |= si.ssi_signo != SIGUSR1;
			if (stop_now) {
				rc = 0;
				break;
			}
			/* natlab run reads an attempt's events: everything received so far
			 * is taken in and recorded, then the figures say so */
			read_ports(w);
			flush_records(w, mono_ns(), false);
			w->synced++;
			write_stats(w, mono_ns());
			continue;
		}
		if (pfd[0].revents & POLLIN)
			read_ports(w);
	}
out:
	flush_records(w, 0, true);
	write_stats(w, mono_ns());
	if (w->dump)
		pcap_dump_close(w->dump);
	if (w->pcap)
		pcap_close(w->pcap);
	if (w->events)
		fclose(w->events);
	while (w->out.n)
		free(heap_pop(&w->out));
	if (w->fd >= 0)
		close(w->fd);
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
	return rc;
}
