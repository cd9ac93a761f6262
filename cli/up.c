#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../netns/lab.h"
#include "subcommands.h"

static const char usage[] = "up FILE [--owner PID] [--timing]\n"
			    "  Builds the lab FILE describes and prints its name.\n"
			    "  --owner PID  the lab is stale once PID has ended (natlab down --stale reaps it)\n"
			    "  --timing     where the time went, phase by phase, on stderr";

int up_main(int argc, char *argv[])
{
	struct scenario *s;
	struct lab_opts o = { 0 };
	struct lab_phases phases;
	struct diag d;
	char id[LAB_ID_MAX] = "";
	const char *file = NULL;
	sigset_t old;
	int rc;

	if (want_help(argc, argv, usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--owner") && i + 1 < argc) {
			char *end;
			long pid = strtol(argv[++i], &end, 10);

			if (*end || end == argv[i] || pid <= 0 || pid > 4194304)
				return fail(EXIT_BAD_INPUT, "--owner: \"%s\" is not a PID", argv[i]);
			/* init never ends, and a process that has would make the lab stale at once */
			if (pid == 1)
				return fail(EXIT_BAD_INPUT, "--owner: 1 never ends: leave --owner out for a lab that outlives its creator");
			if (kill((pid_t)pid, 0) && errno == ESRCH)
				return fail(EXIT_BAD_INPUT, "--owner: no process %ld", pid);
			o.owner = (pid_t)pid;
		} else if (!strcmp(argv[i], "--timing")) {
			o.phases = &phases;
		} else if (argv[i][0] == '-' || file) {
			return arg_error(usage, argv[i]);
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return usage_error(usage);
	if (o.phases)
		lab_phases_start(o.phases);
	s = scenario_for_lab(file, &rc);
	if (!s)
		return rc;
	if (s->matrix.line) {
		rc = fail(EXIT_BAD_INPUT, "%s:%d: a [matrix] scenario is a set of labs; natlab run builds them",
			  file, s->matrix.line);
		free(s);
		return rc;
	}
	/* a signal that comes once the lab stands waits until its name is out */
	lab_block_signals(&old);
	lab_phase_end(o.phases, "read scenario");
	rc = lab_up(s, &o, id, &d);
	free(s);
	if (rc)
		rc = fail(1, "%s", d.msg);
	else
		printf("%s\n", id);
	fflush(stdout);
	if (!rc && o.phases)
		print_phases("up", o.phases);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
