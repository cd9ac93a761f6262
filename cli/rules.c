#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../natsim/ruleset.h"
#include "subcommands.h"

static const char usage[] =
	"rules PROFILE [--wan ADDR] [--lan CIDR] [KNOB=VALUE...] | rules --list\n"
	"  Prints the nftables ruleset PROFILE (a preset name or a file) generates,\n"
	"  for a NAT whose uplink is \"wan\" with address ADDR (default 198.19.0.1)\n"
	"  and whose inside is CIDR (default 10.0.1.0/24). KNOB=VALUE overrides a knob.\n"
	"  --list: the presets, a line each (the first of its file's comment).";

/* The presets, each with the first line of its file's comment. */
static int list_presets(void)
{
	char names[64][64], dir[PATH_MAX];
	int n = nat_profile_presets(names, 64);

	if (!n)
		return fail(1, "no presets in %s", nat_profile_dir(dir, sizeof(dir)));
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 80], line[256] = "";
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.profile", nat_profile_dir(dir, sizeof(dir)), names[i]);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(line, sizeof(line), f) || line[0] != ';')
				line[0] = '\0';
			fclose(f);
		}
		line[strcspn(line, "\n")] = '\0';
		printf("%-22s %s\n", names[i], line[0] == ';' ? line + 1 + (line[1] == ' ') : "");
	}
	return 0;
}

/* an IPv4 address, or (with a prefix length 0-32) a network: the ruleset quotes
 * it as it is, and nft would fail on it only where the rules are loaded */
static bool ipv4_ok(const char *text, bool cidr)
{
	char addr[INET_ADDRSTRLEN], *end;
	const char *slash = strchr(text, '/');
	struct in_addr a;
	long len;

	if (!cidr || !slash)
		return !cidr && strlen(text) < sizeof(addr) && inet_pton(AF_INET, text, &a) == 1;
	if ((size_t)(slash - text) >= sizeof(addr))
		return false;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	len = strtol(slash + 1, &end, 10);
	return inet_pton(AF_INET, addr, &a) == 1 && end != slash + 1 && !*end && len >= 0 && len <= 32;
}

/* natlab presets: the same list, as a command of its own */
int presets_main(int argc, char *argv[])
{
	if (want_help(argc, argv, "presets\n  Lists the NAT presets, a line each (as natlab rules --list)."))
		return 0;
	if (argc > 1)
		return usage_error("presets");
	return list_presets();
}

int rules_main(int argc, char *argv[])
{
	struct nat_profile p;
	struct nat_iface ifc = { .wan_if = "wan", .wan_addr = "198.19.0.1", .lan_net = "10.0.1.0/24" };
	struct diag d;
	const char *spec = NULL;
	char *ov[32];
	int n_ov = 0;
	char *text;
	int rc;

	if (want_help(argc, argv, usage))
		return 0;
	if (argc == 2 && !strcmp(argv[1], "--list"))
		return list_presets();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wan") && i + 1 < argc)
			ifc.wan_addr = argv[++i];
		else if (!strcmp(argv[i], "--lan") && i + 1 < argc)
			ifc.lan_net = argv[++i];
		else if (argv[i][0] == '-')
			return arg_error(usage, argv[i]);
		else if (spec && !strchr(argv[i], '='))
			return fail(EXIT_BAD_INPUT, "rules: \"%s\" is not KNOB=VALUE (the profile's knobs are set so)",
				    argv[i]);
		else if (n_ov == 32)
			return fail(EXIT_BAD_INPUT, "rules: at most 32 KNOB=VALUE overrides");
		else if (!spec)
			spec = argv[i];
		else
			ov[n_ov++] = argv[i];
	}
	if (!spec)
		return usage_error(usage);
	if (!ipv4_ok(ifc.wan_addr, false))
		return fail(EXIT_BAD_INPUT, "--wan: \"%s\" is not an IPv4 address", ifc.wan_addr);
	if (!ipv4_ok(ifc.lan_net, true))
		return fail(EXIT_BAD_INPUT, "--lan: \"%s\" is not an IPv4 network (ADDR/0-32)", ifc.lan_net);
	rc = nat_profile_load(&p, spec, ".", &d);
	if (rc)
		return fail(EXIT_BAD_INPUT, "%s", d.msg);
	for (int i = 0; i < n_ov; i++) {
		char *eq = strchr(ov[i], '=');

		*eq = '\0';
		if (nat_profile_set(&p, ov[i], eq + 1, &d))
			return fail(EXIT_BAD_INPUT, "%s", d.msg);
	}
	text = nat_ruleset_render(&p, &ifc);
	if (!text)
		return fail(1, "out of memory");
	fputs(text, stdout);
	free(text);
	return 0;
}
