#include <stdbool.h>
#include <string.h>

#include "../netns/lab.h"
#include "subcommands.h"

static const char usage[] = "down [--timing] [--force] LAB... | --all | --stale\n"
			    "  Ends the lab's processes and removes its namespaces.\n"
			    "  --timing where the time went, phase by phase, on stderr\n"
			    "  --force  also a lab with no bookkeeping in this run directory\n"
			    "  --all    every lab in /run/natlab (or NATLAB_RUN_DIR)\n"
			    "  --stale  labs whose owner has ended, and broken ones (their wire has ended)";

static int down_one(const char *id, json_t *state, void *arg)
{
	const bool *stale_only = arg;
	struct diag d;

	if (*stale_only) {
		/* a lab whose owner or whose wire has ended is of no use any more */
		const char *health = lab_health(state);

		if (strcmp(health, "stale") && strcmp(health, "broken"))
			return 0;
	}
	if (lab_down(id, &d))
		return fail(1, "%s", d.msg);
	return 0;
}

int down_main(int argc, char *argv[])
{
	bool stale_only, force = false;
	struct lab_phases phases, *timed = NULL;
	int rc = 0;

	if (want_help(argc, argv, usage))
		return 0;
	while (argc > 1 && (!strcmp(argv[1], "--timing") || !strcmp(argv[1], "--force"))) {
		if (!strcmp(argv[1], "--timing"))
			timed = &phases;
		else
			force = true;
		argv++;
		argc--;
	}
	if (argc < 2)
		return usage_error(usage);
	if (argc == 2 && (!strcmp(argv[1], "--all") || !strcmp(argv[1], "--stale"))) {
		/* both are about named labs: taken here they would do nothing */
		if (timed || force)
			return fail(EXIT_BAD_INPUT, "down: %s names labs, not %s", timed ? "--timing" : "--force",
				    argv[1]);
		stale_only = !strcmp(argv[1], "--stale");
		if (stale_only)
			lab_reap_temp();
		return lab_foreach(down_one, &stale_only) ? 1 : 0;
	}
	/* every argument looked at before any lab goes */
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-')
			return arg_error(usage, argv[i]);
	for (int i = 1; i < argc; i++) {
		struct diag d;

		/* no such lab is bad input, as for show and exec; a lab that would not
		 * go down is a failure */
		bool known = lab_known(argv[i]);

		if (timed)
			lab_phases_start(timed);
		if (lab_down_timed(argv[i], force, timed, &d))
			rc = fail(known ? 1 : EXIT_BAD_INPUT, "%s", d.msg);
		else if (timed)
			print_phases("down", timed);
	}
	return rc;
}
