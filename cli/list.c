#include <stdio.h>

#include "../netns/lab.h"
#include "subcommands.h"

static const char usage[] = "list\n  One line per lab: name, state (up, building, stale, broken), nodes, scenario.";

static int list_one(const char *id, json_t *st, void *arg)
{
	const char *file = json_string_value(json_object_get(st, "scenario"));

	(void)arg;
	printf("%-24s %-8s %3zu nodes  %s\n", id, lab_health(st),
	       json_object_size(json_object_get(st, "nodes")), file ? file : "");
	return 0;
}

int list_main(int argc, char *argv[])
{
	if (want_help(argc, argv, usage))
		return 0;
	if (argc != 1)
		return arg_error(usage, argv[1]);
	return lab_foreach(list_one, NULL) ? 1 : 0;
}
