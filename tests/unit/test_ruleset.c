/* What each knob puts into the generated ruleset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../natsim/ruleset.h"

static const struct nat_iface ifc = { "wan", "198.19.0.1", "10.0.1.0/24" };

static char *render(const char *const *kv)
{
	struct nat_profile p;
	struct diag d;

	nat_profile_defaults(&p);
	for (; kv && kv[0]; kv += 2)
		assert_int_equal(nat_profile_set(&p, kv[0], kv[1], &d), 0);
	return nat_ruleset_render(&p, &ifc);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void apdf_has_no_inbound_dnat(void **state)
{
	const char *kv[] = { "filtering", "apdf", NULL };
	char *r = render(kv);

	(void)state;
	assert_int_equal(count(r, "dnat"), 0);
	free(r);
}

static void adf_guards_dnat_with_permit_set(void **state)
{
	const char *kv[] = { "filtering", "adf", NULL };
	char *r = render(kv);

	(void)state;
	assert_int_equal(count(r, "dport . ip saddr @adf_"), 2); /* tcp and udp */
	assert_int_equal(count(r, "update @adf_"), 2);
	free(r);
}

static void sequential_map_steps_by_delta(void **state)
{
	const char *kv[] = { "mapping", "apdm", "allocation", "sequential", "port_range", "30000-30011",
			     "delta", "4", NULL };
	char *r = render(kv);

	(void)state;
	/* ports 30000, 30004, 30008: three, then the counter wraps */
	assert_non_null(strstr(r, "numgen inc mod 3 map { 0 : 30000, 1 : 30004, 2 : 30008 }"));
	free(r);
}

static void port_maps_are_bounded(void **state)
{
	const char *kv[] = { "mapping", "apdm", "allocation", "sequential", "port_range", "1024-65535", NULL };
	char *r = render(kv);

	(void)state;
	assert_int_equal(count(r, "numgen inc mod 512 map"), 2);
	assert_null(strstr(r, " 512 : "));
	free(r);
}

/* adm keeps a mapping per internal endpoint and remote address, as eim per
 * internal endpoint: a hash of them into a port map gave two endpoints the same
 * port now and then, and the second one's packets were dropped as a clash */
static void adm_maps_by_remote_address(void **state)
{
	const char *kv[] = { "mapping", "adm", NULL };
	char *r = render(kv);

	(void)state;
	assert_null(strstr(r, "jhash"));
	assert_int_equal(count(r, "type ipv4_addr . inet_service . ipv4_addr : ipv4_addr . inet_service"), 2);
	assert_non_null(strstr(r, "ip saddr . udp sport . ip daddr @adm_udp snat ip to ip saddr . udp sport . ip daddr map @adm_udp"));
	assert_non_null(strstr(r, "update @adm_udp { ct original ip saddr . ct original proto-src . ip daddr : ip saddr . udp sport }"));
	/* preserve would keep the inside port for every remote address: new ones draw a port */
	assert_non_null(strstr(r, "meta l4proto udp snat ip to 198.19.0.1:20000-29999 random"));
	free(r);
}

static void answers(void **state)
{
	const char *rst[] = { "unsolicited_syn", "rst", "syn_in_syn_sent", "rst", NULL };
	const char *stack[] = { "unsolicited_syn", "stack", NULL };
	const char *icmp[] = { "unsolicited_syn", "icmp", "udp_unsolicited", "icmp", NULL };
	char *r;

	(void)state;
	r = render(rst);
	assert_int_equal(count(r, "reject with tcp reset"), 2);
	assert_non_null(strstr(r, "ct direction reply tcp flags & (syn | ack) == syn reject with tcp reset"));
	free(r);
	r = render(stack);
	/* the router's own stack answers: no TCP rule at all, and no SYN_SENT2 chain */
	assert_null(strstr(r, "tcp flags & (syn | ack) == syn"));
	free(r);
	r = render(icmp);
	assert_non_null(strstr(r, "admin-prohibited"));
	assert_non_null(strstr(r, "udp reject with icmp type port-unreachable"));
	free(r);
}

static void hairpin_and_timeouts(void **state)
{
	const char *kv[] = { "hairpin", "on", "mapping", "apdm", "filtering", "apdf", "udp_timeout", "5",
			     "udp_stream_timeout", "7", NULL };
	char *r = render(kv);
	struct nat_profile p;
	struct nat_sysctl sc[4];
	struct diag d;

	(void)state;
	/* hairpin needs the external -> internal map even without eim or eif */
	assert_int_equal(count(r, "map rev_"), 2);
	assert_int_equal(count(r, "iifname != \"wan\" ip daddr 198.19.0.1"), 2);
	assert_non_null(strstr(r, "ip saddr 10.0.1.0/24 ip daddr 10.0.1.0/24 snat ip to 198.19.0.1"));
	/* the udp map lives as long as the longer conntrack timeout */
	assert_non_null(strstr(r, "timeout 7s"));
	free(r);
	nat_profile_defaults(&p);
	nat_profile_set(&p, "udp_timeout", "5", &d);
	assert_int_equal(nat_sysctls(&p, sc), 1);
	assert_string_equal(sc[0].path, "net/netfilter/nf_conntrack_udp_timeout");
	assert_int_equal(sc[0].value, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(apdf_has_no_inbound_dnat),
		cmocka_unit_test(adf_guards_dnat_with_permit_set),
		cmocka_unit_test(sequential_map_steps_by_delta),
		cmocka_unit_test(port_maps_are_bounded),
		cmocka_unit_test(adm_maps_by_remote_address),
		cmocka_unit_test(answers),
		cmocka_unit_test(hairpin_and_timeouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
