/* Profile knobs and the shipped presets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../natsim/profile.h"

static void every_knob_value_parses(void **state)
{
	static const struct {
		const char *key, *value;
		size_t off;
		int want;
	} cases[] = {
		{ "mapping", "eim", offsetof(struct nat_profile, mapping), MAPPING_EIM },
		{ "mapping", "adm", offsetof(struct nat_profile, mapping), MAPPING_ADM },
		{ "mapping", "apdm", offsetof(struct nat_profile, mapping), MAPPING_APDM },
		{ "allocation", "sequential", offsetof(struct nat_profile, allocation), ALLOC_SEQUENTIAL },
		{ "allocation", "random", offsetof(struct nat_profile, allocation), ALLOC_RANDOM },
		{ "filtering", "eif", offsetof(struct nat_profile, filtering), FILTER_EIF },
		{ "filtering", "adf", offsetof(struct nat_profile, filtering), FILTER_ADF },
		{ "unsolicited_syn", "stack", offsetof(struct nat_profile, unsolicited_syn), ANSWER_STACK },
		{ "unsolicited_syn", "rst", offsetof(struct nat_profile, unsolicited_syn), ANSWER_RST },
		{ "unsolicited_syn", "icmp", offsetof(struct nat_profile, unsolicited_syn), ANSWER_ICMP },
		{ "syn_in_syn_sent", "drop", offsetof(struct nat_profile, syn_in_syn_sent), ANSWER_DROP },
		{ "syn_in_syn_sent", "rst", offsetof(struct nat_profile, syn_in_syn_sent), ANSWER_RST },
		{ "udp_unsolicited", "icmp", offsetof(struct nat_profile, udp_unsolicited), ANSWER_ICMP },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nat_profile p;
		struct diag d;

		nat_profile_defaults(&p);
		assert_int_equal(nat_profile_set(&p, cases[i].key, cases[i].value, &d), 0);
		assert_int_equal(*(int *)((char *)&p + cases[i].off), cases[i].want);
	}
}

static void values_a_knob_does_not_take_are_refused(void **state)
{
	struct nat_profile p;
	struct diag d;

	(void)state;
	nat_profile_defaults(&p);
	/* "accept" is for syn_in_syn_sent only; "rst" means nothing for UDP */
	assert_int_equal(nat_profile_set(&p, "unsolicited_syn", "accept", &d), -1);
	assert_non_null(strstr(d.msg, "expected stack, drop, rst, icmp"));
	assert_int_equal(nat_profile_set(&p, "udp_unsolicited", "rst", &d), -1);
	assert_int_equal(nat_profile_set(&p, "syn_in_syn_sent", "stack", &d), -1);
	assert_int_equal(nat_profile_set(&p, "hairpin", "yes", &d), -1);
	assert_int_equal(nat_profile_set(&p, "colour", "red", &d), -1);
	assert_string_equal(d.msg, "unknown knob \"colour\"");
}

static void port_sets(void **state)
{
	struct nat_profile p;
	struct diag d;
	char buf[160];

	(void)state;
	nat_profile_defaults(&p);
	assert_true(p.translation);
	assert_true(nat_ports_has(&p.outbound_tcp, 1));
	assert_int_equal(nat_profile_set(&p, "outbound_tcp", "80,443,8000-8100", &d), 0);
	assert_true(nat_ports_has(&p.outbound_tcp, 443));
	assert_true(nat_ports_has(&p.outbound_tcp, 8050));
	assert_false(nat_ports_has(&p.outbound_tcp, 444));
	assert_string_equal(nat_profile_value(&p, "outbound_tcp", buf, sizeof(buf)), "80,443,8000-8100");
	assert_int_equal(nat_profile_set(&p, "outbound_udp", "none", &d), 0);
	assert_false(nat_ports_has(&p.outbound_udp, 53));
	assert_string_equal(nat_profile_value(&p, "outbound_udp", buf, sizeof(buf)), "none");
	static const char *const bad[] = { "", "0", "80,", ",80", "443-80", "70000", "80;443", "1-2,3-4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19", "any,80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(nat_profile_set(&p, "outbound_tcp", bad[i], &d), -1);
		assert_non_null(strstr(d.msg, "is not any, none, or"));
	}
	/* a refused value leaves the knob as it was */
	assert_string_equal(nat_profile_value(&p, "outbound_tcp", buf, sizeof(buf)), "80,443,8000-8100");
}

static void numbers_and_ranges(void **state)
{
	struct nat_profile p;
	struct diag d;

	(void)state;
	nat_profile_defaults(&p);
	assert_int_equal(nat_profile_set(&p, "port_range", "1024-65535", &d), 0);
	assert_int_equal(p.port_lo, 1024);
	assert_int_equal(p.port_hi, 65535);
	assert_int_equal(nat_profile_set(&p, "port_range", "1023-2000", &d), -1);
	assert_int_equal(nat_profile_set(&p, "port_range", "3000-2000", &d), -1);
	assert_int_equal(nat_profile_set(&p, "port_range", "3000-65536", &d), -1);
	assert_int_equal(nat_profile_set(&p, "port_range", "-5", &d), -1);
	assert_int_equal(nat_profile_set(&p, "delta", "1001", &d), -1);
	assert_int_equal(nat_profile_set(&p, "delta", "7", &d), 0);
	assert_int_equal(p.delta, 7);
	assert_int_equal(nat_profile_set(&p, "udp_timeout", "0", &d), -1);
	assert_int_equal(nat_profile_set(&p, "udp_timeout", "-3", &d), -1);
	assert_int_equal(nat_profile_set(&p, "udp_timeout", "12x", &d), -1);
	assert_int_equal(nat_profile_set(&p, "udp_timeout", "12", &d), 0);
	assert_int_equal(p.udp_timeout, 12);
}

/* The presets mean what their names say (RFC 4787 / 5382 vocabulary). */
static void presets_match_their_names(void **state)
{
	static const struct {
		const char *name;
		int mapping, filtering, unsolicited_syn, syn_in_syn_sent;
	} presets[] = {
		{ "full-cone", MAPPING_EIM, FILTER_EIF, ANSWER_DROP, ANSWER_ACCEPT },
		{ "restricted-cone", MAPPING_EIM, FILTER_ADF, ANSWER_DROP, ANSWER_ACCEPT },
		{ "port-restricted-cone", MAPPING_EIM, FILTER_APDF, ANSWER_DROP, ANSWER_ACCEPT },
		{ "symmetric", MAPPING_APDM, FILTER_APDF, ANSWER_DROP, ANSWER_ACCEPT },
		{ "symmetric-sequential", MAPPING_APDM, FILTER_APDF, ANSWER_DROP, ANSWER_ACCEPT },
		{ "rst-on-syn", MAPPING_EIM, FILTER_APDF, ANSWER_RST, ANSWER_RST },
		{ "linux-default", MAPPING_APDM, FILTER_APDF, ANSWER_STACK, ANSWER_ACCEPT },
		{ "rfc5382", MAPPING_EIM, FILTER_ADF, ANSWER_DROP, ANSWER_ACCEPT },
		{ "cgnat", MAPPING_EIM, FILTER_EIF, ANSWER_DROP, ANSWER_ACCEPT },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		struct nat_profile p;
		struct diag d;

		assert_int_equal(nat_profile_load(&p, presets[i].name, NULL, &d), 0);
		assert_string_equal(p.name, presets[i].name);
		assert_int_equal(p.mapping, presets[i].mapping);
		assert_int_equal(p.filtering, presets[i].filtering);
		assert_int_equal(p.unsolicited_syn, presets[i].unsolicited_syn);
		assert_int_equal(p.syn_in_syn_sent, presets[i].syn_in_syn_sent);
	}
}

static void unknown_preset_and_bad_names(void **state)
{
	struct nat_profile p;
	struct diag d;

	(void)state;
	assert_int_equal(nat_profile_load(&p, "no-such", NULL, &d), -1);
	assert_non_null(strstr(d.msg, "no preset \"no-such\""));
	assert_int_equal(nat_profile_load(&p, "Evil;Name", NULL, &d), -1);
	assert_int_equal(nat_profile_load(&p, "", NULL, &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_knob_value_parses),
		cmocka_unit_test(values_a_knob_does_not_take_are_refused),
		cmocka_unit_test(numbers_and_ranges),
		cmocka_unit_test(port_sets),
		cmocka_unit_test(presets_match_their_names),
		cmocka_unit_test(unknown_preset_and_bad_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
