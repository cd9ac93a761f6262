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
	struct model_case c = { "dcutr", &a, &b, 40, 10, 10, false };

	(void)state;
	/* scheduled 40 ms apart by the clocks: dcutr does not use them */
	assert_int_equal(model_predict(&c), PREDICT_CONNECTED);
	/* but SYNs measured 40 ms apart at the wire meet a refusing stack */
	c.emitted = true;
	assert_int_equal(model_predict(&c), PREDICT_FAILED);
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
		cmocka_unit_test(outcomes_that_fit),
		cmocka_unit_test(dcutr_ignores_clocks_not_emission),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
