/* natlab run: up, the scenario's attempts, one JSON record each, down. The
 * machinery is in run/; here the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../run/run.h"
#include "subcommands.h"

static const char usage[] =
	"run [-j N] [--out DIR] [--shard I/N] FILE...\n"
	"  Builds each scenario's lab (a [matrix] scenario: one lab per profile pair,\n"
	"  round trip and up to 16 skews for the strategies timed by the clock, and\n"
	"  dcutr's own likewise), runs the attempts, appends one JSON\n"
	"  record per attempt to DIR/attempts.jsonl (default results/STAMP-NAME/: a UTC\n"
	"  stamp, the first file's scenario name), tears\n"
	"  each lab down. Labs run side by side: at most N of them busy at once\n"
	"  (default: the CPUs of natlab's affinity, or of the labs' [lab] cpus (with\n"
	"  their wire_cpus) where every file has them and they are fewer; halved\n"
	"  when the timer wake-ups measured at the start are past their bound), up\n"
	"  to 16N in flight, since an attempt waiting\n"
	"  on its peers holds no core, and at most 4N attempts in their opening (the\n"
	"  rendezvous from HELLO on: a lab's staying peers connect to the server\n"
	"  first; the punch, its answers) at once: past it a failing attempt only\n"
	"  waits out its deadline (a refused retry redials: under a 10 ms round trip it\n"
	"  holds its opening to the end; a skew of seconds gives it back between its\n"
	"  sides' starts). An attempt off schedule runs again (8 times at most).\n"
	"  DIR/meta.json states the run's precision; figures past their bounds are\n"
	"  printed as warnings. --shard I/N runs every N-th lab of the plan from the\n"
	"  I-th on (the same slice on every machine): N shards, then natlab merge.";

int run_main(int argc, char *argv[])
{
	const char *out = NULL;
	const char **names = calloc((size_t)argc, sizeof(*names));
	struct run_shard shard = { .index = 0 };
	long jarg = 0;
	int n_files = 0, rc, used = 0;

	if (want_help(argc, argv, usage))
		return 0;
	if (!names)
		return fail(1, "out of memory");
	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
			jarg = strtol(argv[++i], &end, 10);
			if (*end || jarg < 1 || jarg > 64) {
				free(names);
				return fail(EXIT_BAD_INPUT, "-j: \"%s\" is not a number from 1 to 64", argv[i]);
			}
		} else if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
			if (sscanf(argv[++i], "%d/%d%n", &shard.index, &shard.count, &used) != 2 || argv[i][used] ||
			    shard.count < 1 || shard.count > 100000 || shard.index < 1 || shard.index > shard.count) {
				free(names);
				return fail(EXIT_BAD_INPUT, "--shard: \"%s\" is not I/N with 1 <= I <= N", argv[i]);
			}
		} else if (argv[i][0] == '-') {
			free(names);
			return arg_error(usage, argv[i]);
		} else {
			names[n_files++] = argv[i];
		}
	}
	if (!n_files) {
		free(names);
		return usage_error(usage);
	}
	rc = run_files(names, n_files, out, jarg, &shard);
	free(names);
	return rc;
}
