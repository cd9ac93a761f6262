/* The behaviour model on cases worked out by hand from the knobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../natsim/model.h"

static struct nat_profile preset(const char *name)
{
	struct nat_profile p;
	struct diag d;

	assert_int_equal(nat_profile_load(&p, name, NULL, &d), 0);
	return p;
}

static enum model_outcome predict(const char *strategy, const char *pa, const char *pb,
				  double skew_ms, double one_way_ms)
{
	struct nat_profile a = preset(pa), b = preset(pb);
	struct model_case c = { .strategy = strategy, .a = &a, .b = &b, .skew_ms = skew_ms,
				 .one_way_ms = one_way_ms, .deadline_s = 10 };

	return model_predict(&c);
}

static void window_of_a_refusing_nat(void **state)
{
	(void)state;
	/* linux-default answers a stray SYN with RST: |skew| <= one-way delay */
	assert_int_equal(predict("so", "linux-default", "linux-default", 10, 10), PREDICT_CONNECTED);
	assert_int_equal(predict("so", "linux-default", "linux-default", -10, 10), PREDICT_CONNECTED);
	assert_int_equal(predict("so", "linux-default", "linux-default", 11, 10), PREDICT_FAILED);
	/* retry dials again into the opening */
	assert_int_equal(predict("retry", "linux-default", "linux-default", 500, 10), PREDICT_CONNECTED);
	/* dcutr needs no agreed clock */
	assert_int_equal(predict("dcutr", "linux-default", "linux-default", 500, 10), PREDICT_CONNECTED);
}

static void dropping_nats_wait(void **state)
{
	(void)state;
	assert_int_equal(predict("so", "port-restricted-cone", "port-restricted-cone", 3000, 0),
			 PREDICT_CONNECTED);
	/* a full cone hands the early SYN to its host, which refuses it... */
	assert_int_equal(predict("so", "port-restricted-cone", "full-cone", 100, 5), PREDICT_FAILED);
	/* ...unless the host listens */
	assert_int_equal(predict("so-listen", "port-restricted-cone", "full-cone", 100, 5),
			 PREDICT_CONNECTED);
}

static void symmetric(void **state)
{
	(void)state;
	assert_int_equal(predict("so", "symmetric", "port-restricted-cone", 0, 10), PREDICT_FAILED);
	assert_int_equal(predict("udp", "symmetric", "symmetric", 0, 10), PREDICT_FAILED);
	assert_int_equal(predict("udp", "symmetric", "port-restricted-cone", 0, 10), PREDICT_FAILED);
	/* the full cone lets the symmetric side's datagrams in from any port, but the
	 * full cone's go to the port the symmetric NAT opened for the server only */
	assert_int_equal(predict("udp", "symmetric", "full-cone", 0, 10), PREDICT_FAILED);
	/* an ADF cone admits the symmetric side's new port; the symmetric side still
	 * drops the cone's datagrams */
	assert_int_equal(predict("udp", "restricted-cone", "symmetric", 0, 10), PREDICT_FAILED);
	assert_int_equal(predict("udp", "restricted-cone", "full-cone", 0, 10), PREDICT_CONNECTED);
	assert_int_equal(predict("relay", "symmetric", "symmetric", 0, 10), PREDICT_RELAYED);
}

static void random_port_met_by_chance(void **state)
{
	struct nat_profile a = preset("rfc5382"), b = preset("symmetric"), seq = preset("symmetric-sequential");
	struct model_case c = { .strategy = "retry", .a = &a, .b = &b, .one_way_ms = 10, .deadline_s = 10 };

	(void)state;
	assert_int_equal(model_predict(&c), PREDICT_FAILED);
	/* the symmetric side's random port to a came out the server's (seen in a suite) */
	assert_true(model_port_by_chance(&c, 1, "connected", "198.19.0.2:31596", "198.19.0.2:31596"));
	/* another port: the model is judged as ever */
	assert_false(model_port_by_chance(&c, 1, "connected", "198.19.0.2:40000", "198.19.0.2:31596"));
	assert_false(model_port_by_chance(&c, 1, "connected", "", ""));
	/* no connection, nothing by chance; nor on the cone's side, whose port is the same by design */
	assert_false(model_port_by_chance(&c, 1, "failed", "198.19.0.2:31596", "198.19.0.2:31596"));
	assert_false(model_port_by_chance(&c, 0, "connected", "198.19.0.1:443", "198.19.0.1:443"));
	/* a sequential NAT's next port is no draw */
	c.b = &seq;
	assert_false(model_port_by_chance(&c, 1, "connected", "198.19.0.2:20001", "198.19.0.2:20001"));
}

static void rst_on_syn(void **state)
{
	(void)state;
	/* both answer a SYN for a SYN_SENT entry with RST: no SYN gets through */
	assert_int_equal(predict("so", "rst-on-syn", "rst-on-syn", 0, 10), PREDICT_FAILED);
	/* inside the window the cone passes the SYN, and the RST reaches a host in
	 * SYN_RECV (the matrix measured it so) */
	assert_int_equal(predict("so", "rst-on-syn", "port-restricted-cone", 0, 10), PREDICT_CONNECTED);
	/* outside it the RST refuses the late side */
	assert_int_equal(predict("so", "rst-on-syn", "port-restricted-cone", 100, 10), PREDICT_FAILED);
	assert_int_equal(predict("so", "rst-on-syn", "port-restricted-cone", -100, 10), PREDICT_FAILED);
	/* so-listen: a symmetric peer's SYN from a fresh port reaches a listening host
	 * behind a NAT without port filtering */
	assert_int_equal(predict("so-listen", "symmetric", "full-cone", 0, 10), PREDICT_CONNECTED);
	assert_int_equal(predict("so-listen", "symmetric", "restricted-cone", 0, 10), PREDICT_CONNECTED);
	assert_int_equal(predict("so-listen", "symmetric", "port-restricted-cone", 0, 10), PREDICT_FAILED);
	assert_int_equal(predict("so", "symmetric", "full-cone", 0, 10), PREDICT_FAILED);
	assert_int_equal(predict("lowttl", "port-restricted-cone", "rst-on-syn", 0, 10),
			 PREDICT_CONNECTED);
	assert_int_equal(predict("lowttl", "rst-on-syn", "port-restricted-cone", 0, 10),
			 PREDICT_FAILED);
}

static void dcutr_ignores_clocks_not_emission(void **state)
{
	struct nat_profile a = preset("linux-default"), b = preset("linux-default");
	struct model_case c = { .strategy = "dcutr", .a = &a, .b = &b, .skew_ms = 40, .one_way_ms = 10,
				 .deadline_s = 10 };

	(void)state;
	/* scheduled 40 ms apart by the clocks: dcutr does not use them */
	assert_int_equal(model_predict(&c), PREDICT_CONNECTED);
	/* but SYNs measured 40 ms apart at the wire meet a refusing stack */
	c.emitted = true;
	assert_int_equal(model_predict(&c), PREDICT_FAILED);
}

/* corporate lets TCP out to 80 and 443 only, UDP to 53 only */
static enum model_outcome ported(const char *strategy, const char *pa, const char *pb, unsigned server_port,
				 unsigned local_port)
{
	struct nat_profile a = preset(pa), b = preset(pb);
	struct model_case c = { .strategy = strategy, .a = &a, .b = &b, .one_way_ms = 10, .deadline_s = 3,
				 .server_port = server_port, .local_port = { local_port, local_port } };

	return model_predict(&c);
}

static void corporate_reaches_port_443_only(void **state)
{
	(void)state;
	/* the rendezvous server itself out of reach: nothing, not even the relay */
	assert_int_equal(ported("relay", "corporate", "full-cone", 3478, 443), PREDICT_FAILED);
	assert_int_equal(ported("relay", "corporate", "full-cone", 443, 0), PREDICT_RELAYED);
	/* the partner's NAT keeps its port 443: TCP goes through */
	assert_int_equal(ported("so", "corporate", "port-restricted-cone", 443, 443), PREDICT_CONNECTED);
	assert_int_equal(ported("so", "port-restricted-cone", "corporate", 443, 443), PREDICT_CONNECTED);
	assert_int_equal(ported("dcutr", "corporate", "port-restricted-cone", 443, 443), PREDICT_CONNECTED);
	/* an ephemeral port, or one the partner's NAT replaces, is out of bounds */
	assert_int_equal(ported("so", "corporate", "port-restricted-cone", 443, 0), PREDICT_FAILED);
	assert_int_equal(ported("so", "corporate", "symmetric-sequential", 443, 443), PREDICT_FAILED);
	/* the partner's SYN alone finds corporate's NAT without an entry: dropped */
	assert_int_equal(ported("so-listen", "corporate", "full-cone", 443, 0), PREDICT_FAILED);
	assert_int_equal(ported("so-listen", "full-cone", "corporate", 443, 0), PREDICT_FAILED);
	/* UDP is blocked: to the server (443), and to the partner (443 too) */
	assert_int_equal(ported("udp", "corporate", "full-cone", 443, 443), PREDICT_FAILED);
	assert_int_equal(ported("udp", "full-cone", "full-cone", 443, 443), PREDICT_CONNECTED);
}

static void a_relay_out_of_reach_relays_nothing(void **state)
{
	struct nat_profile a = preset("corporate"), b = preset("symmetric");
	struct model_case c = { .strategy = "relay", .a = &a, .b = &b, .one_way_ms = 10, .deadline_s = 3,
				 .server_port = 443, .relay_port = 3478 };

	(void)state;
	/* a TURN server at 3478: corporate lets TCP out to 80 and 443 only */
	assert_int_equal(model_predict(&c), PREDICT_FAILED);
	c.strategy = "auto";
	assert_int_equal(model_predict(&c), PREDICT_FAILED);
	assert_string_equal(model_auto_choice(&c), "");
	c.relay_port = 443;
	assert_int_equal(model_predict(&c), PREDICT_RELAYED);
	assert_string_equal(model_auto_choice(&c), "relay");
}

static void block_inbound_keeps_its_endpoint(void **state)
{
	(void)state;
	/* no translation: the endpoint the server saw is the host's own */
	assert_int_equal(predict("so", "block-inbound", "symmetric", 0, 10), PREDICT_FAILED);
	assert_int_equal(predict("so", "block-inbound", "block-inbound", 0, 10), PREDICT_CONNECTED);
	assert_int_equal(predict("udp", "block-inbound", "port-restricted-cone", 0, 10), PREDICT_CONNECTED);
	assert_int_equal(predict("so", "block-inbound", "port-restricted-cone", 3000, 0), PREDICT_CONNECTED);
}

static void outcomes_that_fit(void **state)
{
	(void)state;
	/* any way of not connecting is a failure; a relay is not a punch */
	assert_true(model_outcome_matches(PREDICT_FAILED, "refused"));
	assert_true(model_outcome_matches(PREDICT_FAILED, "timeout"));
	assert_false(model_outcome_matches(PREDICT_FAILED, "connected"));
	assert_false(model_outcome_matches(PREDICT_FAILED, "relayed"));
	assert_true(model_outcome_matches(PREDICT_CONNECTED, "connected"));
	assert_false(model_outcome_matches(PREDICT_CONNECTED, "reset"));
	assert_true(model_outcome_matches(PREDICT_RELAYED, "relayed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(window_of_a_refusing_nat),
		cmocka_unit_test(dropping_nats_wait),
		cmocka_unit_test(symmetric),
		cmocka_unit_test(rst_on_syn),
		cmocka_unit_test(random_port_met_by_chance),
		cmocka_unit_test(outcomes_that_fit),
		cmocka_unit_test(dcutr_ignores_clocks_not_emission),
		cmocka_unit_test(corporate_reaches_port_443_only),
		cmocka_unit_test(block_inbound_keeps_its_endpoint),
		cmocka_unit_test(a_relay_out_of_reach_relays_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
