/* One attempt: the NATs forget, a peer on each host of the pair (the lab's staying
 * one, or one started for it), their reports and the wire's events make its record. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../common/strategy.h"
#include "../natsim/model.h"
#include "../wire/events.h"
#include "../prober/protocol.h"
#include "attempt.h"
#include "child.h"
#include "nats.h"
#include "schedule.h"

/* A new attempt's secret: only its two peers learn it (prober/PROTOCOL.md). */
static void attempt_secret(char out[PROTO_SECRET_MIN + 1])
{
	if (proto_random_hex(out, PROTO_SECRET_MIN / 2)) {
		fprintf(stderr, "natlab run: no random bytes for an attempt's secret: %s\n", strerror(errno));
		exit(1);
	}
}

/* The wire's count of answered requests; -1 when its figures cannot be read (a read
 * that met half of a rewrite reads again). */
static long wire_synced(const char *stats, double *syn_late_us)
{
	json_error_t e;
	json_t *j = json_load_file(stats, 0, &e);
	json_t *n = json_object_get(j, "synced"), *late = json_object_get(j, "syn_late_max_us");
	long v = json_is_integer(n) ? (long)json_integer_value(n) : -1;

	if (syn_late_us)
		*syn_late_us = json_is_integer(late) ? (double)json_integer_value(late) : NAN;
	json_decref(j);
	return v;
}

/* Asks the wire (SIGUSR1 by pidfd) to take in and record everything it has received,
 * and waits until its figures say it did (200 ms at most): an attempt's events are
 * read after that, not while a busy machine still holds some in the wire's socket.
 * Returns how late the latest SYN since the previous sync left the wire (us; NAN
 * when the wire did not answer). */
static double wire_sync(const char *stats, int wire)
{
	long before, now;
	double late = NAN;

	if (!stats[0] || wire < 0)
		return NAN;
	before = wire_synced(stats, NULL);
	if (syscall(SYS_pidfd_send_signal, wire, SIGUSR1, NULL, 0))
		return NAN;
	for (int i = 0; i < 400; i++) {
		now = wire_synced(stats, &late);
		if (now >= 0 && now != before)
			return late;
		usleep(500);
	}
	return NAN;
}

/* dcutr's window: its lab's wire at the peers' urgent priority from its start
 * (on) to its end (off), SIGUSR2 with the value (the record's SIGUSR1 calms it
 * too) */
static void wire_urgency(int wire, const char *stats, bool on)
{
	siginfo_t si = { .si_signo = SIGUSR2, .si_code = SI_QUEUE };

	if (wire < 0 || !stats[0])
		return;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = on;
	syscall(SYS_pidfd_send_signal, wire, SIGUSR2, &si, 0);
}

/* The attempt's opening (*opened: a token got), the NATs' strays forgotten, then
 * dcutr's window with its wire raised; once (*taken). Called with a core, which
 * it gives back while it waits for the opening (a core held while waiting for one
 * could leave none to end another's); a window starts only with a core held, so
 * a build that waits holding one gets its gap. */
static void attempt_open(const struct run_ctx *c, bool timed, int building, int wire, const char *stats,
			 const struct scenario *s, struct ct_watch *const *watch, bool *taken, bool *opened)
{
	if (*taken)
		return;
	*taken = true;
	core_give(c);
	*opened = opening_take(c);
	core_take(c);
	/* the last moment before the punch (staying peers wait for their go): the
	 * NATs' entries picked up from the last attempt's late closing segments */
	forget_strays(s, watch);
	if (timed) {
		window_begin(building);
		wire_urgency(wire, stats, true);
	}
}

/* An attempt's arguments (argv, from --server on) and its secret as the line a
 * staying peer reads; -1 when an argument would not survive the split at spaces
 * (nothing sent), -2 when the peer has gone. */
static int send_attempt(struct child *peer, char *const argv[], const char *secret)
{
	char line[2048];
	size_t len = 0;
	int n;

	for (int i = 0; argv[i]; i++) {
		if (!argv[i][0] || strpbrk(argv[i], " \n"))
			return -1;
		n = snprintf(line + len, sizeof(line) - len, "%s ", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - len)
			return -1;
		len += (size_t)n;
	}
	n = snprintf(line + len, sizeof(line) - len, "--secret %s\n", secret);
	if (n < 0 || (size_t)n >= sizeof(line) - len)
		return -1;
	len += (size_t)n;
	return write(peer->in, line, len) == (ssize_t)len ? 0 : -2;
}

bool attempt_model_case(const struct scenario *s, const char *strategy, double skew_ms, struct model_case *mc)
{
	const struct run_spec *r = &s->run;
	const struct run_program *prog = scenario_program(s, strategy);
	bool modelled = true;

	/* a user's program: as the built-in it says it is like, else unknown */
	*mc = (struct model_case){ .strategy = prog && prog->like[0] ? prog->like : strategy, .skew_ms = skew_ms,
				   .one_way_ms = link_delay(s, r->pair[0]) + link_delay(s, r->pair[1]),
				   .deadline_s = r->deadline_s, .server_port = r->server_port,
				   .relay_port = r->relay_turn ? TURN_PORT : 0,
				   .local_port = { r->local_port, r->local_port } };
	/* from the knobs of the NATs right above the pair, only when those NATs hang
	 * on the internet themselves */
	for (int i = 0; i < 2; i++) {
		int nat = nat_above(s, r->pair[i]);

		*(i ? &mc->b : &mc->a) = nat > 0 ? &s->nodes[nat].profile : NULL;
		modelled &= nat > 0 && s->nodes[nat].parent == 0;
	}
	return modelled;
}

/* One attempt, its record in rec (record_release it after). The peers' reports
 * (side[i]) are read by their own keys: the peer protocol's, prober/PROTOCOL.md,
 * not the record's. */
void attempt(const struct scenario *s, const char *id, const struct run_ctx *c,
		    int building, struct ct_watch *const *watch, const char *server_ep,
		    const struct lab_extras *extras, const char *strategy, double skew_ms, int n, const char *events,
		    const char *stats, int wire, struct child *stay, struct attempt_record *rec)
{
	const char *probe = c->probe;
	const struct run_spec *r = &s->run;
	struct child kid[2];
	json_t *side[2];
	char attempt_id[32], offs[2][32], side_s[2][4], deadline[32], clock[2][32];
	char secret[PROTO_SECRET_MIN + 1];
	char (*wep)[64] = rec->wire.endpoints, ttl[2][8], lport[8];
	struct wire_summary ws;
	struct diag d;
	struct timespec now;
	const char *oc[2];
	const struct strategy *st = strategy_by_name(strategy);
	const struct run_program *prog = scenario_program(s, strategy);
	bool tcp = st->tcp;
	double since;
	struct utsname u;
	struct timespec t_begin, t_handed, t_end;
	double rtt_ms = pair_rtt_ms(s);
	bool opened = false;
	double gap_from, gap_until;
	/* A strategy that times itself by round trips through the lab (dcutr: the
	 * relay's, then half of it) has every leg of its path in its schedule, and a
	 * build beside it stretched those legs by milliseconds (12 % of its attempts
	 * off schedule in the suite); one started by the clock has only its own
	 * wake-up in it, which the spin absorbs, and its window would cost every
	 * build a wait (the suite's wall time went from 168 to 252 s). */
	bool timed_by_round_trips = st->by_round_trips;
	char lock_env[PATH_MAX + 64];
	/* a staying peer has the lock's path whatever strategy started it: it takes
	 * the lock for the strategies that want it (window_begin_before) */
	const char *stay_env[] = { lock_env, NULL };
	bool stayed[2] = { false, false };
	/* a staying peer connects to the server before the opening and waits there
	 * (--gate): its report instead where it could not */
	bool gated[2] = { false, false }, connected;
	json_t *early[2] = { NULL, NULL };
	bool taken = false; /* the opening (opened: whether it got a token) */

	/* a built-in strategy (auto too: its profile is an argument) runs in the lab's
	 * staying peers (natlab-probe peers), a line each, not in two new processes;
	 * a user's program and TURN's password in the environment start their own */
	bool staying = stay && !prog && !(r->relay_turn && extras->turn_ep[0]);

	snprintf(lock_env, sizeof(lock_env), "NATLAB_BUILD_LOCK=%s", c->build_lock);

	record_init(rec);
	attempt_secret(secret); /* before the opening: its exit would keep one */
	/* Let the last attempt's closing segments cross the wire before the NATs forget
	 * them: flushed mid-close, they would come back as RSTs in this attempt's record
	 * (one later than this is picked up anew and forgotten again: attempt_open) */
	core_give(c);
	if (n > 0) {
		usleep((useconds_t)((rtt_ms + 5) * 1000));
		/* and, where the peers dial from the same port every time, no sooner
		 * than their FINs are acknowledged (a stall held a last ACK; a port
		 * left in FIN_WAIT1 refuses every later attempt). Elsewhere a socket
		 * left so takes no later attempt's port, and the wait cost the suite
		 * a fifth of its time */
		if (r->local_port)
			hosts_wait_acked(s, id, 100 + 2 * rtt_ms);
	}
	core_take(c);
	flush_nats(s, id, watch);
	snprintf(attempt_id, sizeof(attempt_id), "a%d", n);
	snprintf(deadline, sizeof(deadline), "%g", r->deadline_s);
	clock_gettime(CLOCK_REALTIME, &now);
	since = (double)now.tv_sec + now.tv_nsec / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &t_begin);
	/* staying peers take the opening once connected (below) */
	if (!staying)
		attempt_open(c, timed_by_round_trips, building, wire, stats, s, watch, &taken, &opened);
	for (int i = 0; i < 2; i++) {
		/* skew = when b starts minus when a starts */
		double off = i == 0 ? (skew_ms < 0 ? -skew_ms : 0) : (skew_ms > 0 ? skew_ms : 0);
		const struct lab_node *h = &s->nodes[r->pair[i]];
		char *argv[] = { (char *)probe, "peer", "--server", (char *)server_ep, "--attempt",
				 attempt_id, "--side", side_s[i], "--strategy", (char *)strategy,
				 "--offset-ms", offs[i], "--deadline-s", deadline, "--clock-offset-ms",
				 clock[i], "--low-ttl", ttl[i], "--local-port", lport, NULL, NULL, NULL, NULL, NULL,
				 NULL, NULL, NULL, NULL, NULL, NULL, NULL };
		int more = 20, n_env = 0;
		const char *env[6] = { NULL };
		char lab_env[96], node_env[64], peer_env[64], lead[32];

		/* the build lock, which a clock-started punch holds around its SYN */
		if (st->tcp && st->by_clock)
			env[n_env++] = lock_env;
		if (r->relay_turn && extras->turn_ep[0])
			env[n_env++] = extras->turn_env;

		snprintf(offs[i], sizeof(offs[i]), "%.3f", off);
		snprintf(lport, sizeof(lport), "%u", r->local_port);
		/* one hop per NAT above the host, and not the internet's */
		snprintf(ttl[i], sizeof(ttl[i]), "%d", h->depth);
		snprintf(side_s[i], sizeof(side_s[i]), "%d", i);
		snprintf(clock[i], sizeof(clock[i]), "%d", h->clock_offset_ms);
		if (st->rule == RULE_AUTO) { /* this host's classification */
			argv[more++] = "--profile";
			argv[more++] = (char *)extras->side[i].path;
		}
		if (prog) { /* a user's program: what it runs, where, and where it is */
			argv[more++] = "--command";
			argv[more++] = (char *)prog->command;
			argv[more++] = "--cwd";
			argv[more++] = (char *)s->dir;
			snprintf(lead, sizeof(lead), "%g", prog->lead_ms);
			argv[more++] = "--lead-ms";
			argv[more++] = lead;
			snprintf(lab_env, sizeof(lab_env), "NATLAB_LAB=%s", id);
			snprintf(node_env, sizeof(node_env), "NATLAB_NODE=%s", h->name);
			snprintf(peer_env, sizeof(peer_env), "NATLAB_PEER=%s", s->nodes[r->pair[1 - i]].name);
			env[n_env++] = lab_env;
			env[n_env++] = node_env;
			env[n_env++] = peer_env;
		}
		if (r->relay_turn && extras->turn_ep[0]) { /* its password in the environment */
			argv[more++] = "--turn";
			argv[more++] = (char *)extras->turn_ep;
			argv[more++] = "--turn-user";
			argv[more++] = TURN_USER;
		}
		if (staying) {
			char *peers[] = { (char *)probe, "peers", NULL };
			int sent = -1;

			if (stay[i].pid <= 0 && spawn_staying(id, h->name, s->cpus, peers, stay_env, &stay[i]))
				stay[i].pid = -1;
			argv[more] = "--gate";
			if (stay[i].pid > 0 && (sent = send_attempt(&stay[i], argv + 2, secret)) == -2)
				child_end(&stay[i]); /* gone: the next attempt starts another */
			argv[more] = NULL;
			stayed[i] = gated[i] = sent == 0;
			if (stayed[i])
				kid[i] = stay[i];
		}
		/* else, or where the staying peer could not take it: a peer of its own,
		 * in the opening from its start */
		if (!stayed[i]) {
			attempt_open(c, timed_by_round_trips, building, wire, stats, s, watch, &taken, &opened);
			if (spawn_in(id, h->name, s->cpus, argv, secret, env, &kid[i]))
				kid[i].pid = -1;
		}
	}
	/* waiting on the peers' timers: the core is another lab's meanwhile */
	core_give(c);
	if (staying) {
		/* both connected (their first round trip to the server, the NATs'
		 * mappings made): the opening from here, HELLO on */
		for (int i = 0; i < 2; i++)
			if (gated[i]) {
				int g = gate_read(&kid[i], 15, &early[i]);

				if (g < 0) /* said nothing: ended (the next attempt starts another) */
					stay[i] = kid[i];
				if (g != 1) {
					gated[i] = false;
					kid[i].pid = -1; /* reported, or gone: nothing to wait for */
				}
			}
		/* (a side that started its own peer took it already) */
		if (!taken && (gated[0] || gated[1])) {
			core_take(c);
			attempt_open(c, timed_by_round_trips, building, wire, stats, s, watch, &taken, &opened);
			core_give(c);
		}
		for (int i = 0; i < 2; i++)
			if (gated[i] && write(kid[i].in, "go\n", 3) != 3) {
				child_end(&stay[i]);
				kid[i] = stay[i];
				early[i] = json_pack("{s:s}", "outcome", "no-report");
				gated[i] = false;
			}
	}
	connected = gated[0] && gated[1];
	clock_gettime(CLOCK_MONOTONIC, &t_handed);
	/* the window: the peers' start and rendezvous, the relay round trip, SYNC,
	 * both first SYNs and their answers; past it (a failing attempt's
	 * retransmissions a second on) a build may go on beside it */
	if (timed_by_round_trips && taken) {
		wait_peers(kid, 0.05 + 3 * relay_path_ms(s) / 1000 + 6 * PROTO_RELAY_HOLD_NS / 1e9);
		wire_urgency(wire, stats, false);
		build_end(building);
	}
	/* past its opening, a failing attempt only waits out its deadline: another
	 * lab's attempt may open meanwhile; and so in the gap a skew of seconds
	 * leaves, taken back for the later side's start */
	if (opened && opening_gap(s, strategy, skew_ms, connected, &gap_from, &gap_until) &&
	    !wait_peers(kid, gap_from - seconds_since(&t_handed))) {
		opening_give(c);
		opened = !wait_peers(kid, gap_until - seconds_since(&t_handed));
		if (opened)
			opening_retake(c);
	}
	wait_peers(kid, opening_s(s, strategy, skew_ms, connected) - seconds_since(&t_handed));
	if (opened)
		opening_give(c);
	for (int i = 0; i < 2; i++)
		side[i] = early[i]		  ? early[i]
			  : kid[i].pid <= 0 ? json_pack("{s:s}", "outcome", "no-start")
			  : stayed[i]	  ? collect_line(&stay[i], r->deadline_s + 20)
					  : collect(&kid[i], r->deadline_s + 20);
	core_take(c);
	/* auto: the strategy it picked is what the wire and the record look at */
	if (st->rule == RULE_AUTO) {
		const char *pick = json_string_value(json_object_get(side[0], "decision"));

		snprintf(rec->pick.decision, sizeof(rec->pick.decision), "%s", pick && *pick ? pick : "none");
		for (int i = 0; i < 2; i++) {
			json_t *dm = json_object_get(side[i], "decide_ms");

			if (json_is_number(dm) && (isnan(rec->pick.decide_ms) || json_number_value(dm) > rec->pick.decide_ms))
				rec->pick.decide_ms = json_number_value(dm);
			rec->pick.classify_s[i] = extras->side[i].seconds;
		}
		if (strategy_by_name(pick))
			st = strategy_by_name(pick);
		tcp = st->tcp;
	}
	for (int i = 0; i < 2; i++) {
		json_int_t port = json_integer_value(json_object_get(side[i], tcp ? "local_port" : "udp_port"));

		if (port > 0 && st->direct)
			wire_endpoint(s, id, watch, r->pair[i], (uint16_t)port,
				      json_string_value(json_object_get(side[i], tcp ? "peer_tcp" : "peer_udp")),
				      tcp ? IPPROTO_TCP : IPPROTO_UDP, wep[i], sizeof(wep[i]), rec->ext_port[i],
				      &rec->n_ext[i]);
		if (!s->nodes[r->pair[i]].parent && port > 0) {
			char buf[INET_ADDRSTRLEN];

			snprintf(wep[i], sizeof(wep[i]), "%s:%lld",
				 addr_of(&s->nodes[r->pair[i]], buf, sizeof(buf)), (long long)port);
		}
		oc[i] = json_string_value(json_object_get(side[i], "outcome"));
		if (!oc[i])
			oc[i] = "no-report";
	}
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&ws, 0, sizeof(ws));
	{
		/* The sides as the internet sees them: their public addresses, any port (a
		 * refused attempt's NAT entries are gone by now); their endpoints when both
		 * share one address. */
		char pub[2][INET_ADDRSTRLEN];
		bool same;

		for (int i = 0; i < 2; i++)
			addr_of(&s->nodes[outermost(s, r->pair[i])], pub[i], sizeof(pub[i]));
		same = !strcmp(pub[0], pub[1]);
		if (events && (!same || (wep[0][0] && wep[1][0]))) {
			rec->timing.wire_syn_late_us = wire_sync(stats, wire);
			wire_summary_read(events, same ? wep[0] : pub[0], same ? wep[1] : pub[1], since,
					  (double)now.tv_sec + now.tv_nsec / 1e9, &ws, &d);
		}
	}
	snprintf(rec->scenario, sizeof(rec->scenario), "%s", s->path);
	snprintf(rec->lab, sizeof(rec->lab), "%s", id);
	rec->attempt = n;
	snprintf(rec->strategy, sizeof(rec->strategy), "%s", strategy);
	for (int i = 0; i < 2; i++) {
		int nat = nat_above(s, r->pair[i]);
		json_t *e = json_object_get(side[i], "errno"), *rtx = json_object_get(side[i], "syn_retrans");

		snprintf(rec->profile[i], sizeof(rec->profile[i]), "%s", nat > 0 ? s->nodes[nat].profile.name : "none");
		rec->err_null[i] = !json_is_string(e);
		snprintf(rec->err[i], sizeof(rec->err[i]), "%s", json_is_string(e) ? json_string_value(e) : "");
		rec->syn_retrans[i] = json_is_integer(rtx) ? (int)json_integer_value(rtx) : -1;
		rec->sides[i] = side[i];
	}
	rec->rtt_ms = rtt_ms;
	rec->skew_ms = skew_ms;
	if (ws.first_syn[0] > 0 && ws.first_syn[1] > 0) {
		rec->skew_wire_ms = (ws.first_syn[1] - ws.first_syn[0]) * 1000;
		/* when the NATs emitted them: the core's time less each site's link delay */
		rec->skew_emit_ms = rec->skew_wire_ms - link_delay(s, r->pair[1]) + link_delay(s, r->pair[0]);
	}
	/* one outcome for the pair: both must agree to call it a success */
	snprintf(rec->outcome, sizeof(rec->outcome), "%s",
		 !strcmp(oc[0], oc[1]) || strcmp(oc[0], "connected") ? oc[0] : oc[1]);
	/* a program that connected through a relay of its own says so on its last line */
	if (prog && !strcmp(rec->outcome, "connected"))
		for (int i = 0; i < 2; i++) {
			const char *text = json_string_value(json_object_get(json_object_get(side[i], "program"), "last"));
			json_t *last = text ? json_loads(text, 0, NULL) : NULL;

			if (json_is_string(json_object_get(last, "path")) &&
			    !strcmp(json_string_value(json_object_get(last, "path")), "relayed"))
				snprintf(rec->outcome, sizeof(rec->outcome), "relayed");
			json_decref(last);
		}
	{
		struct model_case mc;
		bool modelled = attempt_model_case(s, strategy, skew_ms, &mc), wire_moved_edge = false,
		     port_by_chance = false;
		enum model_outcome want = modelled ? model_predict(&mc) : PREDICT_UNKNOWN;

		snprintf(rec->predicted, sizeof(rec->predicted), "%s", model_outcome_name(want));
		if (want != PREDICT_UNKNOWN) {
			/* judged at the skew the NATs really emitted with: a process wakes
			 * up late by a millisecond or more on a busy machine, and near a
			 * window's edge that is the difference; the wire's own clock is
			 * good to a fraction of a millisecond, hence the band around it */
			bool ok = false;

			if (!isnan(rec->skew_emit_ms)) {
				/* a SYN the wire let go late arrived that much later than the
				 * lab's delays say, either way. A peer that called connect() late
				 * woke on a stalled CPU, which may take in the partner's SYN as
				 * late (seen: b 2 ms late at RTT 0, a's early SYN then met its
				 * SYN_SENT): a's stall makes b's SYN later to a (skew up), b's
				 * a's (skew down). The edge it met moved by up to that much. */
				double wire_late = rec->timing.wire_syn_late_us > 0 ? rec->timing.wire_syn_late_us / 1000 : 0;
				double late[2] = { wire_late, wire_late }; /* skew down, up */

				for (int i = 0; i < 2; i++) {
					double sched = json_number_value(json_object_get(side[i], "syn_sched"));
					double sent = json_number_value(json_object_get(side[i], "syn_sent"));

					if (sched > 0 && sent > 0 && (sent - sched) * 1000 > late[1 - i])
						late[1 - i] = (sent - sched) * 1000;
				}
				mc.emitted = true;
				mc.skew_ms = rec->skew_emit_ms;
				snprintf(rec->predicted_wire, sizeof(rec->predicted_wire), "%s",
					 model_outcome_name(model_predict(&mc)));
				for (int k = -1; k <= 1 && !ok; k++) {
					mc.skew_ms = rec->skew_emit_ms + k * MODEL_WIRE_BAND_MS;
					ok = model_outcome_matches(model_predict(&mc), rec->outcome);
				}
				/* every 0.1 ms of the widening, not its ends alone: a window
				 * narrower than the lateness (RTT 0) lies inside it */
				for (int k = -1; k <= 1 && !ok && !wire_moved_edge; k += 2) {
					/* past 200 ms late the schedule is off anyway (on_schedule) */
					double l = late[(k + 1) / 2] < 200 ? late[(k + 1) / 2] : 200;

					for (double x = 0.1; x < l + 0.1 && !wire_moved_edge; x += 0.1) {
						mc.skew_ms = rec->skew_emit_ms + k * (MODEL_WIRE_BAND_MS + (x < l ? x : l));
						wire_moved_edge = model_outcome_matches(model_predict(&mc), rec->outcome);
					}
				}
			} else {
				ok = model_outcome_matches(want, rec->outcome);
			}
			rec->agrees = ok ? RECORD_TRUE : wire_moved_edge ? RECORD_NULL : RECORD_FALSE;
			for (int i = 0; i < 2 && rec->agrees == RECORD_FALSE; i++)
				if (model_port_by_chance(&mc, i, rec->outcome, rec->wire.endpoints[i],
							 json_string_value(json_object_get(side[i], "seen")))) {
					rec->agrees = RECORD_NULL;
					port_by_chance = true;
				}
		}
		rec->on_schedule = on_schedule(s, rec, side[0]);
		/* the verdict differs within the band but not within the wire's or a
		 * peer's lateness past it: the lab did not hold this window's edge, so the
		 * model is not judged on it and the attempt runs again */
		if (wire_moved_edge || port_by_chance)
			rec->on_schedule = RECORD_FALSE;
		attempt_timing(s, rec, side);
	}
	if (!strcmp(rec->outcome, "relayed")) {
		const char *via = json_string_value(json_object_get(side[0], "relay"));

		snprintf(rec->relay, sizeof(rec->relay), "%s", prog ? "program" : via ? via : "builtin");
	}
	{
		double t0 = json_number_value(json_object_get(side[0], "connect_ms"));
		double t1 = json_number_value(json_object_get(side[1], "connect_ms"));

		rec->time_to_connect_ms = t0 > t1 ? t0 : t1;
	}
	for (int i = 0; i < 2; i++) {
		rec->wire.first_syn[i] = ws.first_syn[i] > 0 ? ws.first_syn[i] : NAN;
		rec->wire.syns[i] = (int)ws.syns[i];
		rec->wire.synacks[i] = (int)ws.synacks[i];
		rec->wire.rsts[i] = (int)ws.rsts[i];
		rec->wire.icmps[i] = (int)ws.icmps[i];
	}
	clock_gettime(CLOCK_MONOTONIC, &t_end);
	/* from handing the attempt to its peers (a staying peer's start-up only in
	 * the lab's first, none's exit) to this record: what an attempt costs */
	rec->duration_ms = (double)(t_end.tv_sec - t_begin.tv_sec) * 1e3 + (t_end.tv_nsec - t_begin.tv_nsec) / 1e6;
	/* the wall-clock span of the wire's timestamps that belong to this attempt */
	rec->wire_window[0] = since;
	rec->wire_window[1] = (double)now.tv_sec + now.tv_nsec / 1e9;
	uname(&u);
	snprintf(rec->kernel, sizeof(rec->kernel), "%s %s", u.sysname, u.release);
	rec->seed = s->seed;
}
