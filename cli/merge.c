/* natlab merge: shards of one plan into one run. The machinery is run/merge.c. */
#include <stdlib.h>
#include <string.h>

#include "../run/run.h"
#include "subcommands.h"

static const char usage[] =
	"merge SHARD_DIR... --out DIR\n"
	"  Combines the run directories of natlab run --shard 1/N ... N/N (run on one\n"
	"  machine or many, the same files in the same order) into a new DIR, as if one\n"
	"  machine had run the whole plan: attempts.jsonl and wire.jsonl in shard order,\n"
	"  pcap/ and classified/ beside them, meta.json recomputed (its precision from\n"
	"  the merged records; timer lateness the worst shard's). Every shard must be\n"
	"  there, once, of one plan (the same files, presets and natlab), and whole\n"
	"  (its run's exit 0); all is checked before anything is written. Then natlab\n"
	"  report DIR and natlab check DIR as for any run.";

int merge_main(int argc, char *argv[])
{
	const char *out = NULL, **dirs;
	int n = 0, rc;

	if (want_help(argc, argv, usage))
		return 0;
	dirs = calloc((size_t)argc, sizeof(*dirs));
	if (!dirs)
		return fail(1, "out of memory");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] == '-') {
			free(dirs);
			return arg_error(usage, argv[i]);
		} else {
			dirs[n++] = argv[i];
		}
	}
	if (n <= 0 || !out) {
		free(dirs);
		return usage_error(usage);
	}
	rc = merge_runs(dirs, n, out);
	if (!rc)
		printf("%s\n", out);
	free(dirs);
	return rc;
}
