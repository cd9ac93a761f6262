/* A frame crossing one link: loss, scripted faults, delay and jitter. */
#include <math.h>

#include "internal.h"

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

/* A frame crosses one link, out of the node at `port` (inbound false) or into it:
 * loss, scripted faults, delay and jitter. *t is when it enters the link and becomes
 * when it leaves; false when it is lost on the way. */
/* A rate-limited link holds at most this much sending time queued: past it a
 * frame is dropped at the tail, as a router's buffer would (50 ms: a home
 * router's, neither bloated nor starved) */
#define RATE_QUEUE_NS 50000000ULL

bool link_duplicates(struct wire *w, int port)
{
	return w->c->ports[port].duplicate > 0 && rng_unit(&w->ps[port].rng) < w->c->ports[port].duplicate;
}

bool link_cross(struct wire *w, const struct pkt_info *pi, int port, bool inbound, size_t len,
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
	if (c->ports[port].rate_bps > 0) {
		/* sent after the frames before it, for its bits' time; then the delay */
		uint64_t *free = inbound ? &ps->free_out : &ps->free_core;
		uint64_t start = *free > *t ? *free : *t;

		if (start - *t > RATE_QUEUE_NS)
			return false;
		*free = start + (uint64_t)llround((double)len * 8e9 / c->ports[port].rate_bps);
		*t = *free;
	}
	*t += (uint64_t)link_delay(w, port);
	if (!c->reorder && *t < *last)
		*t = *last;
	*last = *t;
	if (fk >= 0) /* a delayed class leaves the FIFO: others may overtake it */
		*t += (uint64_t)llround(c->faults[fk].extra_ms * 1e6);
	return true;
}
