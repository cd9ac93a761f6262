/* natlab report: the tables, windows and plots of a run, from its attempts.jsonl. */
#include <stdlib.h>
#include <string.h>

#include "../report/report.h"
#include "subcommands.h"

static const char usage[] =
	"report RUN_DIR [--mix FILE]...\n"
	"  From RUN_DIR/attempts.jsonl: matrix-STRATEGY.csv and .md (success %, median\n"
	"  time to connect, median SYN retransmissions, verdict, the model's prediction,\n"
	"  disagreements), windows.csv (the skews a punch survives, measured and\n"
	"  predicted), population.csv (each strategy over a population of NATs: a mix\n"
	"  file's shares of presets, with its source; default the shipped mixes),\n"
	"  plots/*.svg (gnuplot) and report.md, findings first.";

int report_main(int argc, char *argv[])
{
	const char **mixes = calloc((size_t)argc, sizeof(*mixes)), *run = NULL;
	int n = 0, rc;

	if (want_help(argc, argv, usage)) {
		free(mixes);
		return 0;
	}
	if (!mixes)
		return fail(1, "out of memory");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mix") && i + 1 < argc) {
			mixes[n++] = argv[++i];
		} else if (argv[i][0] == '-' || run) {
			free(mixes);
			return arg_error(usage, argv[i]);
		} else {
			run = argv[i];
		}
	}
	if (!run) {
		free(mixes);
		return usage_error(usage);
	}
	rc = report_write(run, n ? mixes : NULL, n);
	free(mixes);
	return rc;
}
