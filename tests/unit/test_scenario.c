/* Scenario parsing and the address plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../scenario/scenario.h"

static int load(struct scenario *s, const char *text, struct diag *d)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc = scenario_load_stream(s, f, "t.ini", d);

	fclose(f);
	return rc;
}

static const struct lab_node *node(const struct scenario *s, const char *name)
{
	int i = scenario_find(s, name);

	assert_true(i >= 0);
	return &s->nodes[i];
}

static void nested_nats_and_order(void **state)
{
	/* the child comes first in the file; overrides come before the profile line */
	static const char text[] = "[nat.home]\nudp_timeout = 9\nprofile = full-cone\nuplink = cgn\n"
				   "[host.a]\nbehind = home\n[host.b]\nbehind = home\n"
				   "[nat.cgn]\nprofile = cgnat\n"
				   "[host.rv]\nbehind = internet\naddresses = 2\n";
	struct scenario *s = malloc(sizeof(*s));
	struct diag d;

	(void)state;
	assert_int_equal(load(s, text, &d), 0);
	/* parents before children */
	int seen_cgn = 0;
	for (int k = 0; k < s->n; k++) {
		const char *n = s->nodes[s->order[k]].name;
		if (!strcmp(n, "cgn"))
			seen_cgn = 1;
		if (!strcmp(n, "home"))
			assert_true(seen_cgn);
	}
	assert_int_equal(node(s, "home")->profile.udp_timeout, 9);
	assert_int_equal(node(s, "home")->profile.filtering, FILTER_EIF);
	/* a NAT with NATs behind it has RFC 6598 space inside */
	assert_string_equal(node(s, "cgn")->lan_addr, "100.64.2.1/24");
	assert_string_equal(node(s, "home")->addr[0], "100.64.2.2/24");
	assert_string_equal(node(s, "home")->gw, "100.64.2.1");
	assert_string_equal(node(s, "a")->addr[0], "10.0.1.2/24");
	assert_string_equal(node(s, "b")->addr[0], "10.0.1.3/24");
	assert_string_equal(node(s, "b")->gw, "10.0.1.1");
	assert_string_equal(node(s, "cgn")->addr[0], "198.19.0.1/15");
	assert_int_equal(node(s, "rv")->n_addr, 2);
	assert_string_equal(node(s, "rv")->addr[1], "198.18.1.1/15");
	assert_string_equal(node(s, "rv")->gw, "");
	free(s);
}

static void name_defaults_to_file(void **state)
{
	struct scenario *s = malloc(sizeof(*s));
	struct diag d;
	FILE *f = fmemopen((void *)"[host.x]\nbehind = internet\n", 26, "r");

	(void)state;
	assert_int_equal(scenario_load_stream(s, f, "dir/My-Test.ini", &d), 0);
	fclose(f);
	assert_string_equal(s->name, "my_test");
	assert_string_equal(s->dir, "dir");
	free(s);
}

static void errors_name_the_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[lab]\n\n[nat.x]\nprofile = full-cone\nmapping = none\n", "t.ini:5: mapping: unknown value" },
		{ "[nat.x]\nprofile = full-cone\n[nat.x]\n", "t.ini:3: duplicate node \"x\" (first at line 1)" },
		{ "[nat.x]\nprofile = full-cone\nuplink = y\n[nat.y]\nprofile = full-cone\nuplink = x\n",
		  "t.ini:3: uplink: cycle" },
		{ "[lab]\nname = a-b\n", "t.ini:2: name \"a-b\" may use only" },
		{ "[lab]\nseed = -1\n", "t.ini:2: seed:" },
		{ "[host.h]\nbehind = internet\nclock_offset_ms = x\n", "t.ini:3: clock_offset_ms:" },
		{ "[host.h]\nbehind = internet\nclock_offset_ms = 10001\n", "t.ini:3: clock_offset_ms:" },
		{ "[host.h]\nbehind = internet\nclock_offset_ms = 9500\n[strategy.p]\ncommand = x\nlead_ms = 1000\n",
		  "t.ini:3: clock_offset_ms: 9500 ms ahead and [strategy.p]'s lead_ms 1000" },
		{ "[host.h]\nbehind = internet\nloss = 1.5\n", "t.ini:3: loss:" },
		{ "[host.abcdefghijklmnop]\n", "t.ini:1: name \"abcdefghijklmnop\" must have 1 to 15" },
		/* found by fuzz/scenario_fuzz: sections the reader and inih see differently */
		{ "[sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
		  "ssssssssssssssssssssssssssssssssssssssssssssssssnat,x]\nprofile = x\n",
		  "t.ini:1: section name longer than 127" },
		{ "[sssssssssssssssssssssssssssssssssssssssssssssssssssssssss]\nkey = 1\n",
		  "t.ini:1: unknown section" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scenario *s = malloc(sizeof(*s));
		struct diag d;

		assert_int_equal(load(s, cases[i].text, &d), -1);
		if (strncmp(d.msg, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, d.msg, cases[i].want);
		free(s);
	}
}

static void too_many_nodes(void **state)
{
	struct scenario *s = malloc(sizeof(*s));
	char *text = malloc(LAB_MAX_NODES * 40), *p = text;
	struct diag d;

	(void)state;
	for (int i = 0; i < LAB_MAX_NODES; i++)
		p += sprintf(p, "[host.h%d]\nbehind = internet\n", i);
	assert_int_equal(load(s, text, &d), -1);
	assert_non_null(strstr(d.msg, "too many nodes"));
	/* and past the plan's 250 hosts in the internet */
	p = text;
	for (int i = 0; i < 251; i++)
		p += sprintf(p, "[host.h%d]\nbehind = internet\n", i);
	assert_int_equal(load(s, text, &d), -1);
	assert_non_null(strstr(d.msg, "more than 250 hosts in the internet"));
	free(text);
	free(s);
}

/* A carrier NAT with 300 subscribers' NATs: its inside is a /16 of its own, the
 * NATs behind it count on past .255, and the 260th NAT's inside past 10.0.255. */
static void big_lans(void **state)
{
	struct scenario *s = malloc(sizeof(*s));
	char *text = malloc(400 * 80), *p = text;
	struct diag d;

	(void)state;
	p += sprintf(p, "[nat.cgn]\nprofile = symmetric\n");
	for (int i = 0; i < 300; i++)
		p += sprintf(p, "[nat.h%d]\nprofile = full-cone\nuplink = cgn\n", i);
	p += sprintf(p, "[host.a]\nbehind = h299\n");
	assert_int_equal(load(s, text, &d), 0);
	assert_string_equal(node(s, "cgn")->lan_addr, "100.96.0.1/16");
	assert_string_equal(node(s, "cgn")->lan_net, "100.96.0.0/16");
	assert_string_equal(node(s, "h0")->addr[0], "100.96.0.2/16");
	assert_string_equal(node(s, "h299")->addr[0], "100.96.1.45/16"); /* 2 + 299 = 301 */
	assert_string_equal(node(s, "h299")->gw, "100.96.0.1");
	/* NATs are counted in file order: cgn 1, h0 2, ..., h299 301 */
	assert_string_equal(node(s, "h253")->lan_net, "10.0.255.0/24");
	assert_string_equal(node(s, "h254")->lan_net, "10.1.0.0/24");
	assert_string_equal(node(s, "h299")->lan_net, "10.1.45.0/24");
	assert_string_equal(node(s, "a")->addr[0], "10.1.45.2/24");
	free(text);
	free(s);
}

static void matrix_cells_are_built_as_data(void **state)
{
	static const char text[] = "[lab]\nname = mx\nseed = 7\n[matrix]\n"
				   "profiles = full-cone, symmetric\nrtt_ms = 20, 100\nstrategies = so\n";
	struct scenario *m = malloc(sizeof(*m)), *c = malloc(sizeof(*c));
	struct diag d;

	(void)state;
	assert_int_equal(load(m, text, &d), 0);
	/* pairs full-cone/full-cone, full-cone/symmetric, symmetric/symmetric; two round trips */
	assert_int_equal(scenario_matrix_cells(m), 6);
	assert_int_equal(scenario_matrix_cell(m, 4, c, &d), 0); /* the second pair at 100 ms */
	assert_string_equal(c->name, "mx");
	assert_int_equal(c->seed, 7);
	assert_string_equal(node(c, "na")->profile_spec, "full-cone");
	assert_string_equal(node(c, "nb")->profile_spec, "symmetric");
	assert_true(node(c, "na")->delay_ms == 25 && node(c, "nb")->delay_ms == 25);
	assert_int_equal(node(c, "a")->parent, scenario_find(c, "na"));
	assert_int_equal(c->run.pair[1], scenario_find(c, "b"));
	assert_int_equal(c->run.n_strategies, 1);
	/* a profile that does not load: the error points at the [matrix] profiles line */
	snprintf(m->matrix.profiles[1], sizeof(m->matrix.profiles[1]), "no-such-profile");
	assert_int_equal(scenario_matrix_cell(m, 1, c, &d), -1);
	assert_non_null(strstr(d.msg, "t.ini:5:"));
	free(m);
	free(c);
}

/* what [lab] says reaches every cell: capture = all, reorder, internet = bridge */
static void matrix_cells_keep_the_lab_keys(void **state)
{
	static const char kept[] = "[lab]\nname = mx\ncapture = all\nreorder = on\n[matrix]\n"
				   "profiles = full-cone\nrtt_ms = 20\njitter_ms = 1\nstrategies = so\n";
	static const char bridge[] = "[lab]\nname = mx\ninternet = bridge\n[matrix]\n"
				     "profiles = full-cone\nrtt_ms = 0\nstrategies = so\n";
	static const char bridge_rtt[] = "[lab]\nname = mx\ninternet = bridge\n[matrix]\n"
					 "profiles = full-cone\nstrategies = so\n";
	struct scenario *m = malloc(sizeof(*m)), *c = malloc(sizeof(*c));
	struct diag d;

	(void)state;
	assert_int_equal(load(m, kept, &d), 0);
	assert_int_equal(scenario_matrix_cell(m, 0, c, &d), 0);
	assert_true(c->capture && c->capture_nats && c->reorder && !c->bridge);
	assert_int_equal(load(m, bridge, &d), 0);
	assert_int_equal(scenario_matrix_cell(m, 0, c, &d), 0);
	assert_true(c->bridge && !c->capture);
	/* the default round trips are the wire's: refused at the internet line */
	assert_int_equal(load(m, bridge_rtt, &d), -1);
	assert_non_null(strstr(d.msg, "t.ini:3: internet = bridge emulates no link"));
	free(m);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nested_nats_and_order),
		cmocka_unit_test(name_defaults_to_file),
		cmocka_unit_test(errors_name_the_line),
		cmocka_unit_test(too_many_nodes),
		cmocka_unit_test(big_lans),
		cmocka_unit_test(matrix_cells_are_built_as_data),
		cmocka_unit_test(matrix_cells_keep_the_lab_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
