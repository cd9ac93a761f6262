/* natlab report: the tables, windows and plots of a run, from its attempts.jsonl. */
#include "../report/report.h"
#include "subcommands.h"

static const char usage[] =
	"report RUN_DIR\n"
	"  From RUN_DIR/attempts.jsonl: matrix-STRATEGY.csv and .md (success %, median\n"
	"  time to connect, median SYN retransmissions, verdict, the model's prediction,\n"
	"  disagreements), windows.csv (the skews a punch survives, measured and\n"
	"  predicted), plots/*.svg (gnuplot) and report.md, findings first.";

int report_main(int argc, char *argv[])
{
	if (want_help(argc, argv, usage))
		return 0;
	if (argc != 2 || argv[1][0] == '-')
		return usage_error(usage);
	return report_write(argv[1]);
}
