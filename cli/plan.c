/* natlab plan: what a scenario's lab will be, printed; nothing is built. */
#include <stdlib.h>
#include <string.h>

#include "../plan/plan.h"
#include "subcommands.h"

static const char usage[] =
	"plan FILE [--json | --script] [--name ID]\n"
	"  Prints what `natlab up FILE` would build, without root and without building\n"
	"  anything: namespaces, sysctls, bridges, veths, addresses, routes, neighbours,\n"
	"  each NAT's ruleset and the wire's ports. --json (the default) as one JSON\n"
	"  document; --script as a sh script of ip and nft commands that builds the same\n"
	"  lab without natlab (`sh FILE up`, `sh FILE down`), on a kernel bridge where\n"
	"  natlab's internet is its wire. The namespaces are named ID-NODE (default ID:\n"
	"  the scenario's name and \"-sh\").";

int plan_main(int argc, char *argv[])
{
	const char *file = NULL, *name = NULL;
	bool script = false;
	struct scenario *s;
	struct lab_plan p;
	struct diag d;
	char id[LAB_ID_MAX];
	int rc;

	if (want_help(argc, argv, usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			script = false;
		else if (!strcmp(argv[i], "--script"))
			script = true;
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (argv[i][0] == '-' || file)
			return arg_error(usage, argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return usage_error(usage);
	if (!(s = malloc(sizeof(*s))))
		return fail(1, "out of memory");
	if (scenario_load(s, file, &d)) {
		free(s);
		return fail(EXIT_BAD_INPUT, "%s", d.msg);
	}
	if (s->matrix.line) {
		int line = s->matrix.line;

		free(s);
		return fail(EXIT_BAD_INPUT, "%s:%d: a [matrix] scenario is a lab per cell; natlab plan takes a file of one lab",
			    file, line);
	}
	snprintf(id, sizeof(id), "%s-sh", s->name);
	if (name && !lab_id_valid(name)) {
		free(s);
		return fail(EXIT_BAD_INPUT, "--name: \"%s\" is not a lab name", name);
	}
	if (plan_build(&p, s, name ? name : id, &d)) {
		free(s);
		return fail(1, "%s", d.msg);
	}
	rc = script ? plan_print_script(&p, stdout) : plan_print_json(&p, stdout);
	plan_free(&p);
	free(s);
	if (rc || fflush(stdout))
		return fail(1, "cannot write the plan");
	return 0;
}
