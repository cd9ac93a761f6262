/* The behaviour model: from two NAT profiles, the skew and the one-way delay
 * between the NATs to the outcome each strategy should have. Derived from the
 * knobs (how each NAT treats a stray SYN, a SYN for an entry in SYN_SENT, which
 * inbound packets it lets through), never from measurements; where a run
 * disagrees, either a NAT or the model is wrong, and that is a finding. */
#ifndef NATLAB_MODEL_H
#define NATLAB_MODEL_H

#include <stdbool.h>

#include "profile.h"

enum model_outcome { PREDICT_CONNECTED, PREDICT_FAILED, PREDICT_RELAYED, PREDICT_UNKNOWN };

struct model_case {
	const char *strategy;
	const struct nat_profile *a, *b; /* NULL: that host is in the internet (no NAT) */
	double skew_ms;    /* when b starts, minus when a starts */
	double one_way_ms; /* from one NAT to the other */
	double deadline_s;
	bool emitted;      /* skew_ms is when the NATs emitted the SYNs (measured), not the
			    * schedule: it holds for dcutr too, which otherwise starts both at 0 */
	unsigned server_port;   /* the rendezvous server's; 0: not judged */
	unsigned relay_port;    /* where relay goes over TCP when not the server (TURN); 0: the server */
	unsigned local_port[2]; /* the peers' own ports; 0: the kernel's choice */
	unsigned udp_port[2];   /* their UDP ports where not the same as local_port's */
};

/* How far a skew measured at the wire may be from the NATs' true one. */
#define MODEL_WIRE_BAND_MS 0.5
/* How far the lab's timing may stray (the NATs' measured skew from the
 * schedule; dcutr's relay round trip from the delays on its path) before an
 * attempt is off schedule: it then measured some other cell, and the tables
 * leave it out (and count it). */
#define MODEL_SCHEDULE_MS(one_way_ms) ((one_way_ms) / 10 > 2 ? (one_way_ms) / 10 : 2)

enum model_outcome model_predict(const struct model_case *c);
/* auto's pick: the first of udp, dcutr, so-listen, retry the model says connects
 * at the case's skew, else relay; "" where the rendezvous server is out of
 * reach. The peers call it with their classifications, the run with the lab's
 * profiles (whose prediction is the pick's). */
const char *model_auto_choice(const struct model_case *c);
const char *model_outcome_name(enum model_outcome o);
/* A connection (outcome) the model holds impossible because side (0: a, 1: b)
 * maps to the peer from another port than to the server, where its NAT draws
 * that port at random and it came out the server's anyway: toward_peer, the
 * side's external endpoint to the peer, is seen_by_server. The model's
 * assumption failed (1 draw in the NAT's range), so it is not judged on it. */
bool model_port_by_chance(const struct model_case *c, int side, const char *outcome, const char *toward_peer,
			  const char *seen_by_server);
/* Does an attempt's outcome ("connected", "refused", ...) fit a prediction?
 * "failed" stands for every outcome short of a connection or a relay. */
bool model_outcome_matches(enum model_outcome want, const char *outcome);

#endif
