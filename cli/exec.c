#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <string.h>
#include <unistd.h>

#include "../common/cpus.h"
#include "../netns/lab.h"
#include "../netns/netns.h"
#include "subcommands.h"

static const char usage[] = "exec LAB NODE -- CMD [ARG...]\n  (-- may be left out where CMD does not begin with -)\n  Runs CMD inside NODE's network namespace, with NATLAB_LAB and NATLAB_NODE set\n  (and on the lab's [lab] cpus, where it has them).";

int exec_main(int argc, char *argv[])
{
	char name[128];
	struct diag d;
	uint64_t cpus = 0;
	json_t *st;
	int fd, cmd = 4;

	if (want_help(argc, argv, usage))
		return 0;
	if (argc < 4 || strcmp(argv[3], "--")) {
		if (argc < 4 || argv[3][0] == '-')
			return usage_error(usage);
		cmd = 3;
	}
	if (cmd >= argc)
		return usage_error(usage);
	st = lab_state_read(argv[1], &d);
	if (!st)
		return fail(EXIT_BAD_INPUT, "%s", d.msg);
	if (!json_object_get(json_object_get(st, "nodes"), argv[2])) {
		json_decref(st);
		return fail(EXIT_BAD_INPUT, "lab %s has no node \"%s\"", argv[1], argv[2]);
	}
	/* [lab] cpus: the program on the lab's cores, as its wire */
	if (json_object_get(st, "cpus")) {
		const char *list = json_string_value(json_object_get(st, "cpus"));
		char have[160] = "";
		int rc = 0;

		if (!list || cpus_parse(list, &cpus)) {
			rc = fail(1, "lab %s: its state's cpus is not a list of CPUs", argv[1]);
		} else if (cpus_bind(0, cpus)) { /* a cpuset without them; offline ones */
			int e = errno;

			cpus_format(cpus_usable(~0ULL), have, sizeof(have));
			rc = fail(1, "lab %s runs on cpus %s, which this process cannot (%s; it may use %s)", argv[1],
				  list, strerror(e), have[0] ? have : "none known");
		}
		if (rc) {
			json_decref(st);
			return rc;
		}
	}
	json_decref(st);
	lab_netns_name(name, sizeof(name), argv[1], argv[2]);
	fd = netns_open(name);
	if (fd < 0 || netns_enter(fd))
		return fail(1, "cannot enter %s: %s", name, strerror(errno));
	close(fd);
	/* as `ip netns exec`: a private /sys, so /sys/class/net shows the node's links,
	 * and the lab's hosts file as /etc/hosts, so nodes resolve by name */
	if (!unshare(CLONE_NEWNS) && !mount("", "/", NULL, MS_SLAVE | MS_REC, NULL)) {
		char hosts[PATH_MAX];

		if (!umount2("/sys", MNT_DETACH))
			mount(name, "/sys", "sysfs", 0, NULL);
		lab_hosts_path(hosts, sizeof(hosts), argv[1]);
		mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL); /* a lab from before hosts files: none */
	}
	/* what a program run in a lab may want to know of where it is */
	if (setenv("NATLAB_LAB", argv[1], 1) || setenv("NATLAB_NODE", argv[2], 1))
		return fail(1, "cannot set NATLAB_LAB/NATLAB_NODE: %s", strerror(errno));
	execvp(argv[cmd], argv + cmd);
	return fail(127, "%s: %s", argv[cmd], strerror(errno));
}
