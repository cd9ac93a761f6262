/* An attempt's timing against the lab's: when its SYNs should have left, and
 * whether they did. */
#include <math.h>
#include <stdbool.h>

#include "../common/strategy.h"
#include "../natsim/model.h"
#include "../prober/protocol.h"
#include "nats.h"
#include "schedule.h"

/* The round trip through the relay that dcutr should measure: both sites' links
 * and the server's, there and back, twice. */
double relay_path_ms(const struct scenario *s)
{
	const struct run_spec *r = &s->run;

	return 2 * (link_delay(s, r->pair[0]) + link_delay(s, r->pair[1]) + 2 * link_delay(s, r->server));
}

/* The round trip between the two sites' links into the internet. */
double pair_rtt_ms(const struct scenario *s)
{
	return 2 * (link_delay(s, s->run.pair[0]) + link_delay(s, s->run.pair[1]));
}

/* How far apart the pair's hosts' clocks may put their instants (the server
 * moves the start by their offsets). */
static double clocks_ms(const struct scenario *s)
{
	const struct run_spec *r = &s->run;

	return fabs((double)s->nodes[r->pair[0]].clock_offset_ms) + fabs((double)s->nodes[r->pair[1]].clock_offset_ms);
}

/* Below this round trip a refused retry's redials are a load (opening_s()). */
#define RETRY_QUIET_RTT_MS 10

/* Links that lose or jitter frames move an attempt's timing by design (a lost
 * SYN's retransmission, a relay message sent again, a frame held up): there the
 * timing is the measurement, and the lab's own precision cannot be told apart */
static bool impaired(const struct scenario *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].loss > 0 || s->nodes[i].jitter_ms > 0)
			return true;
	return false;
}

/* How long an attempt's opening lasts at most, from handing it to its peers
 * (`connected`: from letting them on, their connects to the server done):
 * their rendezvous and the start the server gives them, the punch and its
 * answers, dcutr's relay round trip and SYNC instead; then its skew, the hosts'
 * clock offsets (the server moves the start by them) and a program's lead.
 * A built-in TCP punch started by the clock has its start at most three and a
 * half of the slower side's round trips to the server after it is handed
 * (connect, HELLO's way there and the two GO sets it ahead by) and 5 ms, its
 * answers the pair's round trip after its SYNs: where no link jitters or loses
 * frames, which would move those by more than the 50 ms to spare. The rest
 * (dcutr, udp, the relay, auto, a user's program, impaired links) take four
 * and a half of the relay's round trips, which is at least each of those even
 * with all the delay on one site's link; dcutr's six relay holds come on top
 * (the server's on ready, CONNECT twice and SYNC, side 1's on CONNECT and
 * SYNC). Peers that connected first have a round trip to the server less
 * to go. Past it a failing attempt only waits
 * out its deadline. But retry, refused, dials again a round trip and 1 ms apart
 * until its deadline: under a 10 ms round trip that is more traffic than an
 * opening, so its opening lasts to the deadline there (the suite's, 20 ms and
 * more, took at most 15 tries a side). */
double opening_s(const struct scenario *s, const char *strategy, double skew_ms, bool connected)
{
	const struct run_program *prog = scenario_program(s, strategy);
	const struct strategy *st = strategy_by_name(strategy);
	const struct run_spec *r = &s->run;
	double redials_s = st && st->retries && pair_rtt_ms(s) < RETRY_QUIET_RTT_MS ? r->deadline_s : 0;
	double to_server_ms = 2 * (fmax(link_delay(s, r->pair[0]), link_delay(s, r->pair[1])) + link_delay(s, r->server));
	double punch_ms = st && st->tcp && st->by_clock && !prog && !impaired(s)
				  ? 3.5 * to_server_ms + 5 + pair_rtt_ms(s)
				  : 4.5 * relay_path_ms(s) + (st && st->by_round_trips ? 6 * PROTO_RELAY_HOLD_NS / 1e6 : 0);

	if (connected)
		punch_ms -= to_server_ms;

	return 0.05 + redials_s + (fabs(skew_ms) + clocks_ms(s) + (prog ? prog->lead_ms : 0) + punch_ms) / 1000;
}

/* A skew of seconds leaves a gap in a built-in TCP punch's opening: the first
 * side's punch and its answers are over long before the other side's first SYN,
 * and meanwhile only a SYN retransmission or two crosses the wire (udp sends
 * every 20 ms, a user's program what it likes: they keep theirs). The opening
 * lets go of its token there: from when it would have ended with no skew
 * (*from_s) until 50 ms before the later side's earliest start (*until_s: the
 * skew after GO, itself after the handing; the server adds the clock offsets
 * and a lead to the start that the peers take off again), both from handing the
 * attempt to its peers. False where that leaves less than 100 ms, or where the
 * opening lasts to the deadline anyway. */
bool opening_gap(const struct scenario *s, const char *strategy, double skew_ms, bool connected, double *from_s,
		 double *until_s)
{
	const struct strategy *st = strategy_by_name(strategy);

	*from_s = opening_s(s, strategy, 0, connected);
	*until_s = fabs(skew_ms) / 1000 - 0.05;
	return st && st->tcp && !scenario_program(s, strategy) && *until_s - *from_s >= 0.1 &&
	       *from_s < s->run.deadline_s;
}

/* The skew the NATs should emit their SYNs with, had the lab held its timing; NAN
 * where nothing is scheduled. For peers started by the clock (so, so-listen,
 * retry): the schedule less the hosts' clock offsets, which are meant. For dcutr,
 * whose timing is its own: side 0 dials half its measured round trip after
 * sending SYNC, side 1 when SYNC arrives, which is then, whatever the links'
 * delays, as long as each leg of the relay takes as long as the others: 0. How
 * far its round trip is from the links' is judged on its own (on_schedule). */
/* A program like a built-in is held to that built-in's schedule: told the
 * instant (NATLAB_START), its SYNs leaving 16 ms after it measured another cell
 * (a Python so.py on a busy machine) */
static const struct strategy *timed_as(const struct scenario *s, const char *strategy)
{
	const struct run_program *prog = scenario_program(s, strategy);

	return strategy_by_name(prog && prog->like[0] ? prog->like : strategy);
}

static double expected_emit_ms(const struct scenario *s, const char *strategy, double skew_ms,
			       json_t *side0)
{
	const struct run_spec *r = &s->run;
	const struct strategy *st = timed_as(s, strategy);

	if (st && st->by_round_trips)
		return json_number_value(json_object_get(side0, "relay_rtt_ms")) > 0 ? 0 : NAN;
	/* SYNs started by the clock; a datagram's or the relay's times are not watched */
	if (!st || !st->tcp || !st->by_clock)
		return NAN;
	/* a host whose clock runs ahead starts early in real time */
	return skew_ms - (s->nodes[r->pair[1]].clock_offset_ms - s->nodes[r->pair[0]].clock_offset_ms);
}

/* Did the lab hold its own timing? The NATs' measured skew against the expected
 * one and, for dcutr, the round trip it measured through the relay against the
 * lab's delays on that path. Null where nothing tells, and on impaired links. */
enum record_bool on_schedule(const struct scenario *s, const struct attempt_record *rec,
				    json_t *side0)
{
	const struct run_spec *r = &s->run;
	double tol = MODEL_SCHEDULE_MS(link_delay(s, r->pair[0]) + link_delay(s, r->pair[1]));
	double want = expected_emit_ms(s, rec->strategy, rec->skew_ms, side0);

	if (isnan(want) || isnan(rec->skew_emit_ms) || impaired(s))
		return RECORD_NULL;
	if (timed_as(s, rec->strategy)->by_round_trips &&
	    fabs(json_number_value(json_object_get(side0, "relay_rtt_ms")) - relay_path_ms(s)) > tol)
		return RECORD_FALSE;
	return fabs(rec->skew_emit_ms - want) <= tol ? RECORD_TRUE : RECORD_FALSE;
}

/* How well this attempt kept time: the NATs' skew against the expected one, each
 * peer's first send against its schedule, and whether both ran real-time. */
void attempt_timing(const struct scenario *s, struct attempt_record *rec, json_t *side[2])
{
	double want = expected_emit_ms(s, rec->strategy, rec->skew_ms, side[0]);
	bool rt = true, told = false;

	for (int i = 0; i < 2; i++) {
		double sched = json_number_value(json_object_get(side[i], "syn_sched"));
		double sent = json_number_value(json_object_get(side[i], "syn_sent"));

		rec->timing.send_late_us[i] = sched > 0 && sent > 0 ? round((sent - sched) * 1e7) / 10 : NAN;
		/* a peer that never reported says nothing either way */
		if (json_is_boolean(json_object_get(side[i], "realtime"))) {
			rt &= json_is_true(json_object_get(side[i], "realtime"));
			told = true;
		}
	}
	rec->timing.emit_error_ms = !isnan(want) && !isnan(rec->skew_emit_ms) && !impaired(s)
					    ? round(fabs(rec->skew_emit_ms - want) * 1000) / 1000
					    : NAN;
	rec->timing.realtime = !told ? RECORD_NULL : rt ? RECORD_TRUE : RECORD_FALSE;
}
