/* natlab check: a run's verdicts against the expected ones, cell by cell. */
#include <stdbool.h>
#include <string.h>

#include "../report/report.h"
#include "subcommands.h"

static const char usage[] =
	"check RUN_DIR [--expected DIR] [--write | --junit FILE] | check RUN_DIR --against OTHER_DIR\n"
	"  Compares the verdict of every cell of RUN_DIR/attempts.jsonl (connected,\n"
	"  relayed, failed or mixed) with DIR/SCENARIO.csv (default scenarios/expected)\n"
	"  and names each cell that differs; exit 1 when one does. A scenario without\n"
	"  that file (a new one, your own) is held to the behaviour model instead.\n"
	"  --write records the run's verdicts as the expected ones (cells next to a\n"
	"  window edge the model predicts are written as \"edge\" and not compared).\n"
	"  --junit FILE: the verdicts as JUnit XML too, for CI systems (a testsuite\n"
	"  per scenario, a testcase per cell, a failure where it differs).\n"
	"  --against OTHER_DIR: each cell against the same cell of another run instead:\n"
	"  it differs when their success counts do by Fisher's exact test (p < 0.05,\n"
	"  each cell on its own); both rates with their 95 % Wilson intervals.";

int check_main(int argc, char *argv[])
{
	const char *run = NULL, *dir = "scenarios/expected", *junit = NULL, *against = NULL;
	bool write = false, dir_given = false;

	if (want_help(argc, argv, usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expected") && i + 1 < argc)
			dir = argv[++i], dir_given = true;
		else if (!strcmp(argv[i], "--write"))
			write = true;
		else if (!strcmp(argv[i], "--junit") && i + 1 < argc)
			junit = argv[++i];
		else if (!strcmp(argv[i], "--against") && i + 1 < argc)
			against = argv[++i];
		else if (argv[i][0] == '-' || run)
			return arg_error(usage, argv[i]);
		else
			run = argv[i];
	}
	if (!run)
		return usage_error(usage);
	/* each of these would be taken and do nothing */
	if (against && (write || junit || dir_given))
		return fail(EXIT_BAD_INPUT, "check: --against compares two runs: no %s with it",
			    write ? "--write" : junit ? "--junit" : "--expected");
	if (write && junit)
		return fail(EXIT_BAD_INPUT, "check: --write records the verdicts and compares none: no --junit with it");
	return against ? check_against(run, against) : check_run(run, dir, dir_given, write, junit);
}
