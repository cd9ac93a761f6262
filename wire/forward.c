/* The switch: which port a frame goes to, and when; frames due leave. */
#include <net/ethernet.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int mac_port(struct wire *w, const unsigned char *mac)
{
	for (int i = 0; i < w->n_macs; i++)
		if (!memcmp(w->macs[i].mac, mac, 6))
			return w->macs[i].port;
	return -1;
}

void mac_learn(struct wire *w, const unsigned char *mac, int port)
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

/* A copy of a frame for the capture point's records (pcap and events), in time
 * order at t; one lost before the core (lost) goes to the events only */
static void record(struct wire *w, const struct virtio_net_hdr *vh, const unsigned char *data, size_t len,
		   uint64_t t, int in, int out, int kind, bool lost)
{
	struct frame *rec = frame_new(w, vh, data, len);

	if (!rec)
		return;
	if (w->dump && !lost)
		csum_finish(rec);
	rec->t = t;
	rec->in = in;
	rec->out = out;
	rec->kind = kind;
	rec->lost = lost;
	if (heap_push(&w->rec, rec))
		free(rec);
}

/* One frame in from port `in`, received by the kernel at rx: where it goes, when,
 * and whether it is lost. A frame due now with nothing due before it leaves from
 * where it was read (before the next read); any other waits in the heap. */
void wire_ingress(struct wire *w, int in, const struct virtio_net_hdr *vh,
		  unsigned char *data, size_t len, uint64_t rx, uint64_t now)
{
	const struct wire_config *c = w->c;
	struct pkt_info pi;
	uint64_t core;
	int dst, outs[LAB_MAX_NODES], n_outs = 0;

	if (len < sizeof(struct ether_header))
		return;
	classify(data, len, &pi);
	mac_learn(w, data + 6, in);
	if (!hop(data, len))
		return;
	core = rx;
	if (!link_cross(w, &pi, in, false, len, &core)) {
		/* lost on its way to the core: the events log still says when it would
		 * have got there (the link's delay, no jitter), so that a lost first SYN
		 * is not taken for a late one (its retransmission a second on) */
		if (w->events && pi.event)
			record(w, vh, data, len, rx + (uint64_t)c->ports[in].delay_ns, in, -1, pi.event, true);
		return;
	}

	dst = (data[0] & 1) ? -1 : mac_port(w, data);
	if (dst == in)
		return;
	for (int o = 0; o < c->n_ports; o++)
		if (o != in && (dst < 0 || o == dst))
			outs[n_outs++] = o;

	/* the capture point is the core of the internet, between the two links */
	if (w->dump || (w->events && pi.event))
		record(w, vh, data, len, core, in, dst, pi.event, false);
	for (int k = 0; k < n_outs; k++) {
		int o = outs[k], copies = 1 + link_duplicates(w, o);

		/* a duplicated frame crosses the link twice, one after the other */
		for (int copy = 0; copy < copies; copy++) {
			uint64_t t = core;
			struct frame *f;

			if (!link_cross(w, &pi, o, true, len, &t))
				continue;
			if (t <= now && (!w->out.n || t < w->out.v[0]->t)) {
				w->seq++;
				tx_add(w, o, vh, data, len, t, t == rx, NULL);
				continue;
			}
			f = frame_new(w, vh, data, len);
			if (!f)
				continue;
			f->t = t;
			f->at_once = t == rx;
			f->in = in;
			f->out = o;
			f->kind = pi.event; /* a SYN's lateness is watched on its own (tx_flush) */
			if (heap_push(&w->out, f))
				free(f);
		}
	}
}

void send_due(struct wire *w, uint64_t now)
{
	while (w->out.n && w->out.v[0]->t <= now) {
		struct frame *f = heap_pop(&w->out);

		tx_add(w, f->out, &f->vh, f->data, f->len, f->t, f->at_once, f);
	}
	tx_flush(w);
}
