/* natlab: a NAT behaviour lab. A tiny dispatcher; one file per subcommand. */
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/timing.h"
#include "../netns/lab.h"
#include "../scenario/scenario.h"

#include "subcommands.h"

const char *prog = "natlab";

static const struct {
	const char *name;
	int (*fn)(int, char *[]);
	const char *what;
} subcommands[] = {
	{ "up", up_main, "Builds the lab a scenario file describes; prints its name" },
	{ "down", down_main, "Tears labs down (one, --all, or --stale ones)" },
	{ "list", list_main, "Lists the labs in /run/natlab (or NATLAB_RUN_DIR)" },
	{ "show", show_main, "Shows a lab's nodes, addresses, NAT profiles and live mappings" },
	{ "exec", exec_main, "Runs a command inside a node's network namespace" },
	{ "bundle", bundle_main, "Packs a lab so that it rebuilds without natlab (sh, ip, nft)" },
	{ "plan", plan_main, "Prints what a scenario's lab will be, as JSON or as an ip/nft script" },
	{ "rules", rules_main, "Prints the nftables ruleset a NAT profile generates" },
	{ "presets", presets_main, "Lists the NAT presets, a line each" },
	{ "run", run_main, "Runs scenarios' attempts in labs side by side; one JSON record each" },
	{ "merge", merge_main, "Combines the shards of a run (run --shard I/N) into one run directory" },
	{ "report", report_main, "Writes a run's tables, windows, plots and report from its records" },
	{ "check", check_main, "Compares a run's verdicts with the expected ones, cell by cell" },
	{ "classify", classify_main, "Tells the NAT in front of this host, as a profile (STUN, RFC 5780)" },
};

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: %s <command> [<args>]\n\nCommands:\n", prog);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].what);
	fprintf(f, "\n'%s <command> --help' tells more; man natlab(8) tells all; '%s --version' which natlab this is.\n",
		prog, prog);
}

int want_help(int argc, char *argv[], const char *usage)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: %s %s\n", prog, usage);
			return 1;
		}
	}
	return 0;
}

int usage_error(const char *usage)
{
	fprintf(stderr, "Usage: %s %s\n", prog, usage);
	return EXIT_BAD_INPUT;
}

/* where the usage shows option opt ("--out" in "[--out DIR]", not in "--outdir"),
 * or NULL */
static const char *usage_option(const char *usage, const char *opt)
{
	size_t len = strlen(opt);

	for (const char *in = strstr(usage, opt); in; in = strstr(in + 1, opt))
		if ((in == usage || strchr(" [|", in[-1])) && !(isalnum((unsigned char)in[len]) || in[len] == '-'))
			return in;
	return NULL;
}

int arg_error(const char *usage, const char *arg)
{
	int cmd = (int)strcspn(usage, " \n"); /* the usage starts with the command's name */
	const char *in = arg[0] == '-' ? usage_option(usage, arg) : NULL;
	size_t len = strlen(arg);

	if (!in)
		fprintf(stderr, "%s %.*s: %s \"%s\"\n", prog, cmd, usage,
			arg[0] == '-' ? "unknown option" : "one argument too many:", arg);
	else if (in[len] == ' ' && isupper((unsigned char)in[len + 1]))
		fprintf(stderr, "%s %.*s: %s needs a value\n", prog, cmd, usage, arg); /* "--out DIR" */
	else
		fprintf(stderr, "%s %.*s: %s is not taken there (see the usage)\n", prog, cmd, usage, arg);
	return usage_error(usage);
}

void print_phases(const char *what, const struct lab_phases *p)
{
	int64_t total = 0;

	for (int i = 0; i < p->n; i++) {
		fprintf(stderr, "timing: %s %s %.2f ms\n", what, p->v[i].name, (double)p->v[i].ns / 1e6);
		total += p->v[i].ns;
	}
	fprintf(stderr, "timing: %s total %.2f ms\n", what, (double)total / 1e6);
}

int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

struct scenario *scenario_for_lab(const char *file, int *code)
{
	struct scenario *s = malloc(sizeof(*s));
	struct diag d;

	if (!s) {
		*code = fail(1, "out of memory");
		return NULL;
	}
	if (scenario_load(s, file, &d)) {
		*code = fail(EXIT_BAD_INPUT, "%s", d.msg);
	} else if (geteuid() != 0) {
		*code = fail(1, "building a lab needs root (network namespaces, nftables)");
	} else {
		return s;
	}
	free(s);
	return NULL;
}

int main(int argc, char *argv[])
{
	/* libnftables' second ruleset in a process cost 3.3 ms with glibc's default
	 * thresholds, 0.7 ms without */
	timing_keep_heap();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		show_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_BAD_INPUT : 0;
	}
	/* which natlab made a run or a bug report */
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("natlab %s\n", NATLAB_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command \"%s\"\n", prog, argv[1]);
	show_usage(stderr);
	return EXIT_BAD_INPUT;
}
