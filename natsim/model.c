#include <stdbool.h>
#include <string.h>

#include "../common/strategy.h"
#include "model.h"

const char *model_outcome_name(enum model_outcome o)
{
	static const char *const names[] = { "connected", "failed", "relayed", "unknown" };

	return names[o];
}

bool model_outcome_matches(enum model_outcome want, const char *outcome)
{
	if (want == PREDICT_FAILED)
		return strcmp(outcome, "connected") && strcmp(outcome, "relayed");
	return !strcmp(model_outcome_name(want), outcome);
}

/* Linux SYN retransmissions, seconds after the first SYN: from 6.5 a 1 s initial
 * RTO, then linear for tcp_syn_linear_timeouts (4) tries, then exponential. */
static const double syn_retries[] = { 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 };

/* Does a SYN the early side sends at some time in [from, until) exist? */
static int syn_between(double from, double until)
{
	if (from <= 0)
		return until > 0;
	for (size_t i = 0; i < sizeof(syn_retries) / sizeof(syn_retries[0]); i++)
		if (syn_retries[i] >= from && syn_retries[i] < until)
			return 1;
	return 0;
}

/* Does a NAT keep the endpoint the server saw for a new destination? EIM does;
 * so does a NAT that preserves ports per 5-tuple (Linux masquerade), as long as
 * nothing else holds the port. */
static bool keeps_endpoint(const struct nat_profile *p)
{
	return !p->translation || p->mapping == MAPPING_EIM ||
	       (p->mapping == MAPPING_APDM && p->allocation == ALLOC_PRESERVE);
}

/* The ports a side's endpoint may have on the internet, from its local one. */
static void external_ports(const struct nat_profile *x, unsigned local, unsigned *lo, unsigned *hi)
{
	bool keeps_port = !x->translation || (x->allocation == ALLOC_PRESERVE && x->mapping != MAPPING_ADM);

	if (keeps_port && local) {
		*lo = *hi = local;
	} else if (keeps_port) { /* Linux's ephemeral ports (ip_local_port_range) */
		*lo = 32768;
		*hi = 60999;
	} else {
		*lo = x->port_lo;
		*hi = x->port_hi;
	}
}

/* Does x's outbound policy let it open to every port in lo..hi? */
static bool may_open(const struct nat_ports *out, unsigned lo, unsigned hi)
{
	if (out->any)
		return true;
	for (int i = 0; i < out->n; i++)
		if (out->lo[i] <= lo && hi <= out->hi[i])
			return true;
	return false;
}

/* May side i (x) send the first packet of a connection to the other side's endpoint? */
static bool may_dial(const struct model_case *c, int i, bool tcp)
{
	const struct nat_profile *x = i ? c->b : c->a, *y = i ? c->a : c->b;
	unsigned lo, hi, port = !tcp && c->udp_port[!i] ? c->udp_port[!i] : c->local_port[!i];

	external_ports(y, port, &lo, &hi);
	return may_open(tcp ? &x->outbound_tcp : &x->outbound_udp, lo, hi);
}

/* Can both sides reach the rendezvous server (over UDP too, for a UDP strategy)? */
static bool reach_server(const struct model_case *c, bool udp)
{
	const struct nat_profile *side[2] = { c->a, c->b };

	for (int i = 0; i < 2 && c->server_port; i++) {
		if (!side[i])
			continue;
		if (!nat_ports_has(&side[i]->outbound_tcp, c->server_port) ||
		    (udp && !nat_ports_has(&side[i]->outbound_udp, c->server_port)))
			return false;
	}
	return true;
}

/* Can both sides reach the relay, over TCP: the server, or a TURN server's port? */
static bool reach_relay(const struct model_case *c)
{
	const struct nat_profile *side[2] = { c->a, c->b };

	for (int i = 0; i < 2 && c->relay_port; i++)
		if (side[i] && !nat_ports_has(&side[i]->outbound_tcp, c->relay_port))
			return false;
	return true;
}

/* UDP: each side sends only to the endpoint the server saw for the other, E_x
 * and E_y. y's datagrams reach x's NAT at E_x, from E_y when y keeps it; x's
 * NAT lets them in when its filter admits y on E_x: always (EIF), or when x
 * sent to y from E_x, i.e. x keeps its endpoint, to y's address (ADF) or to
 * y's very endpoint (APDF). */
static int udp_passes(const struct nat_profile *x, const struct nat_profile *y)
{
	if (x->filtering == FILTER_EIF)
		return 1;
	return keeps_endpoint(x) && (x->filtering == FILTER_ADF || keeps_endpoint(y));
}

/* TCP simultaneous open, early side e, late side l, the late one starting delta
 * seconds after; d: one-way seconds between the NATs. */
static enum model_outcome tcp_punch(const struct model_case *c, int early, double delta, double d)
{
	const struct nat_profile *e = early ? c->b : c->a, *l = early ? c->a : c->b;
	const struct strategy *st = strategy_by_name(c->strategy);
	bool listen_too = st->listens;
	bool retry = st->retries;

	if (delta + 2 * d >= c->deadline_s)
		return PREDICT_FAILED;
	/* a side whose firewall stops its SYN opens nothing: the other's SYN finds
	 * it without an entry, and only an open (eif) NAT hands it to a listener */
	{
		bool dial_e = may_dial(c, early, true), dial_l = may_dial(c, !early, true);

		if (!dial_e || !dial_l) {
			const struct nat_profile *k = dial_e ? l : e;

			return (dial_e || dial_l) && listen_too && k->filtering == FILTER_EIF ? PREDICT_CONNECTED
											       : PREDICT_FAILED;
		}
	}
	/* each side dials the endpoint the server saw for the other */
	if (!keeps_endpoint(e) || !keeps_endpoint(l)) {
		/* the side k that keeps it gets the other's SYN from a port k never sent
		 * to: k's NAT lets it in without port filtering (EIF; ADF once k's own
		 * SYN to that address has left), and then only a listening socket takes it */
		const struct nat_profile *k = keeps_endpoint(e) ? e : keeps_endpoint(l) ? l : NULL;

		if (!listen_too || !k)
			return PREDICT_FAILED;
		if (k->filtering == FILTER_EIF || (k->filtering == FILTER_ADF && (k == e || delta <= d)))
			return PREDICT_CONNECTED;
		return PREDICT_FAILED;
	}
	if (delta <= d)
		/* the early SYN reaches l's NAT after l's own SYN left it, and the other way
		 * round: one NAT that passes a SYN for its SYN_SENT entry is enough. The
		 * other NAT's RST, if it answers so, reaches a host already in SYN_RECV and
		 * falls outside its window. */
		return e->syn_in_syn_sent == ANSWER_ACCEPT || l->syn_in_syn_sent == ANSWER_ACCEPT
			       ? PREDICT_CONNECTED : PREDICT_FAILED;
	/* outside the window, a RST for the late SYN refuses the late side */
	if (e->syn_in_syn_sent == ANSWER_RST)
		return PREDICT_FAILED;
	/* the early SYN finds l's NAT without an entry */
	if (l->filtering == FILTER_EIF)
		/* handed to l's host: its stack refuses, unless something listens there */
		return listen_too ? PREDICT_CONNECTED : PREDICT_FAILED;
	switch (l->unsolicited_syn) {
	case ANSWER_DROP:
		/* l's SYN meets e's SYN_SENT entry; or a retransmission of e's meets l's */
		if (e->syn_in_syn_sent == ANSWER_ACCEPT)
			return PREDICT_CONNECTED;
		return l->syn_in_syn_sent == ANSWER_ACCEPT && syn_between(delta - d, c->deadline_s)
			       ? PREDICT_CONNECTED : PREDICT_FAILED;
	case ANSWER_RST:
	case ANSWER_STACK:
		/* refused; retry dials again until its SYN finds l's entry */
		return retry && l->syn_in_syn_sent == ANSWER_ACCEPT ? PREDICT_CONNECTED : PREDICT_FAILED;
	default: /* ICMP: EHOSTUNREACH, which retry does not retry */
		return PREDICT_FAILED;
	}
}

const char *model_auto_choice(const struct model_case *c)
{
	static const char *const candidates[] = { "udp", "dcutr", "so-listen", "retry" };

	if (!reach_server(c, false))
		return "";
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		struct model_case k = *c;

		k.strategy = candidates[i];
		if (model_predict(&k) == PREDICT_CONNECTED)
			return candidates[i];
	}
	return reach_relay(c) ? "relay" : "";
}

enum model_outcome model_predict(const struct model_case *c)
{
	const struct nat_profile *a = c->a, *b = c->b;
	const struct strategy *st = strategy_by_name(c->strategy);
	double d = c->one_way_ms / 1000, skew = c->skew_ms / 1000;

	if (!st || st->rule == RULE_PROGRAM)
		return PREDICT_UNKNOWN;
	/* every strategy registers over TCP first (the relay carries the connection) */
	if (!reach_server(c, st->rule == RULE_UDP))
		return PREDICT_FAILED;
	if (st->rule == RULE_RELAYED)
		return reach_relay(c) ? PREDICT_RELAYED : PREDICT_FAILED;
	if (!a || !b)
		return PREDICT_UNKNOWN; /* hosts without a NAT: not modelled */
	if (st->rule == RULE_AUTO) {
		const char *pick = model_auto_choice(c);

		return !*pick ? PREDICT_FAILED : strcmp(pick, "relay") ? PREDICT_CONNECTED : PREDICT_RELAYED;
	}
	switch (st->rule) {
	case RULE_UDP:
		return udp_passes(a, b) && udp_passes(b, a) && may_dial(c, 0, false) && may_dial(c, 1, false)
			       ? PREDICT_CONNECTED : PREDICT_FAILED;
	case RULE_LOW_TTL:
		/* a's SYN opens a's NAT only; b's SYN then meets a's SYN_SENT entry */
		return keeps_endpoint(a) && keeps_endpoint(b) && a->syn_in_syn_sent == ANSWER_ACCEPT &&
			       may_dial(c, 0, true) && may_dial(c, 1, true)
			       ? PREDICT_CONNECTED : PREDICT_FAILED;
	case RULE_SIMULTANEOUS_OPEN:
		/* timed by round trips, both NATs emit their SYNs together, whatever the
		 * clocks say */
		if (st->by_round_trips && !c->emitted)
			skew = 0;
		return skew >= 0 ? tcp_punch(c, 0, skew, d) : tcp_punch(c, 1, -skew, d);
	default:
		return PREDICT_UNKNOWN;
	}
}

bool model_port_by_chance(const struct model_case *c, int side, const char *outcome, const char *toward_peer,
			  const char *seen_by_server)
{
	const struct nat_profile *nat = side ? c->b : c->a;

	return nat && nat->mapping != MAPPING_EIM && nat->allocation == ALLOC_RANDOM && outcome &&
	       !strcmp(outcome, "connected") && toward_peer && seen_by_server && toward_peer[0] &&
	       !strcmp(toward_peer, seen_by_server);
}
