/* natlab bundle: a lab packed so that someone without natlab (a router vendor, a
 * bug tracker) can rebuild it with sh and see the same NAT behaviour. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/outfile.h"
#include "../netns/lab.h"
#include "../netns/netns.h"
#include "../plan/plan.h"
#include "../scenario/scenario.h"
#include "subcommands.h"

static const char usage[] =
	"bundle LAB -o FILE.tar.gz\n"
	"  Packs what rebuilds lab LAB without natlab: its scenario, a sh script of ip\n"
	"  and nft commands that builds the same lab (natlab plan --script: namespaces\n"
	"  NAME-sh-NODE, the internet a kernel bridge), each NAT's ruleset as it is in\n"
	"  force, natlab show's view now (mappings), the capture so far and a README\n"
	"  saying how to use them. FILE is written anew, never through a symlink.";

/* Runs argv with stdout to out_fd, inside namespace netns (NULL: here); its exit. */
static int run_to(char *const argv[], int out_fd, const char *netns)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (netns) {
			int fd = netns_open(netns);

			if (fd < 0 || netns_enter(fd))
				_exit(126);
		}
		if (dup2(out_fd, STDOUT_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int write_readme(const char *path, const char *lab, const char *script_id, json_t *st, bool pcap)
{
	FILE *f = outfile_fopen(path, 0644);
	struct utsname u;
	char when[64];
	time_t now = time(NULL);
	const char *name;
	json_t *node;

	if (!f)
		return -1;
	uname(&u);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	fprintf(f, "# natlab lab %s, bundled %s on %s %s\n\n", lab, when, u.sysname, u.release);
	fprintf(f, "The lab: a NAT behaviour lab of network namespaces, real nftables + conntrack\n"
		   "NATs between them. What its NATs do is in rules/; what they held is in\n"
		   "show.txt; what crossed the internet is in capture.pcap (when it captured).\n\n"
		   "## Rebuild it (as root; Linux with nftables and conntrack; no natlab needed)\n\n"
		   "    sh lab.sh up\n"
		   "    ip netns exec %s-NODE COMMAND...   # run something in a node\n"
		   "    sh lab.sh down\n\n"
		   "The nodes (namespaces %s-NODE):\n\n",
		script_id, script_id);
	json_object_foreach(json_object_get(st, "nodes"), name, node) {
		json_t *a;
		size_t k;

		fprintf(f, "- %s (%s)", name, json_string_value(json_object_get(node, "kind")));
		/* every address: a rendezvous host with two is a STUN server's */
		json_array_foreach(json_object_get(node, "addrs"), k, a)
			fprintf(f, "%s%s", k ? ", " : " ", json_string_value(a));
		if (json_object_get(node, "profile"))
			fprintf(f, ", profile %s", json_string_value(json_object_get(node, "profile")));
		fputc('\n', f);
	}
	fprintf(f, "\nIn lab.sh the internet is a kernel bridge: the links' delay, jitter and loss\n"
		   "that natlab's wire applied are comments there; add them with tc netem to match.\n\n"
		   "## Files\n\n"
		   "- scenario.ini: the natlab scenario the lab was built from (`natlab up scenario.ini`)\n"
		   "- profiles/NAT.profile: a NAT's profile, where the scenario gave it as a file\n"
		   "- lab.sh: the same lab in ip and nft commands (natlab plan --script)\n"
		   "- rules/NAT.nft: each NAT's ruleset as it was in force (nft list ruleset)\n"
		   "- show.txt: natlab show: nodes, addresses, the NATs' mappings and how late the\n"
		   "  wire released frames, when bundled\n"
		   "%s",
		pcap ? "- capture.pcap: every frame at the internet's core until then (tshark, wireshark)\n" : "");
	return fclose(f);
}

/* SUB/scenario.ini: the scenario as it was, but that a NAT's profile given as a file
 * (a classified device's) is packed as profiles/NODE.profile and its line points
 * there, so that `natlab up scenario.ini` works where the bundle is unpacked. */
static int copy_scenario(const struct scenario *s, const char *spath, const char *sub)
{
	char path[PATH_MAX + 64], from[PATH_MAX * 2], *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	FILE *in = fopen(spath, "re"), *out;

	if (!in)
		return fail(1, "cannot read %s: %s", spath, strerror(errno));
	snprintf(path, sizeof(path), "%s/scenario.ini", sub);
	out = outfile_fopen(path, 0644);
	if (!out) {
		fclose(in);
		return fail(1, "cannot write %s: %s", path, strerror(errno));
	}
	while (!rc && getline(&line, &cap, in) > 0) {
		const struct lab_node *n = NULL;

		lineno++;
		/* a file as natlab up found it: absolute, or beside the scenario */
		for (int i = 1; i < s->n && !n; i++)
			if (s->nodes[i].kind == NODE_NAT && s->nodes[i].profile_line == lineno &&
			    nat_profile_file(s->nodes[i].profile_spec, s->dir, from, sizeof(from)))
				n = &s->nodes[i];
		if (!n) {
			fputs(line, out);
			continue;
		}
		snprintf(path, sizeof(path), "%s/profiles", sub);
		if (mkdir(path, 0755) && errno != EEXIST) {
			rc = fail(1, "cannot make %s: %s", path, strerror(errno));
			break;
		}
		snprintf(path, sizeof(path), "%s/profiles/%s.profile", sub, n->name);
		if (outfile_copy(from, path, 0644))
			rc = fail(1, "cannot copy %s's profile %s into the bundle: %s", n->name, from, strerror(errno));
		fprintf(out, "profile = profiles/%s.profile\n", n->name);
	}
	if (!rc && ferror(in))
		rc = fail(1, "cannot read %s: %s", spath, strerror(errno));
	free(line);
	fclose(in);
	snprintf(path, sizeof(path), "%s/scenario.ini", sub);
	if ((ferror(out) | fclose(out)) && !rc)
		rc = fail(1, "cannot write %s: %s", path, strerror(errno));
	return rc;
}

int bundle_main(int argc, char *argv[])
{
	const char *lab = NULL, *out = NULL, *spath, *name;
	char dir[PATH_MAX - 128], sub[PATH_MAX], path[PATH_MAX + 64], script_id[LAB_ID_MAX];
	const char *tmp = getenv("TMPDIR");
	struct scenario *s = NULL;
	struct lab_plan p;
	struct diag d;
	json_t *st, *node;
	FILE *f;
	int rc = 1, fd;
	bool planned = false;

	if (want_help(argc, argv, usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-' || lab)
			return arg_error(usage, argv[i]);
		else
			lab = argv[i];
	}
	if (!lab || !out)
		return usage_error(usage);
	st = lab_state_read(lab, &d);
	if (!st)
		return fail(EXIT_BAD_INPUT, "%s", d.msg);
	spath = json_string_value(json_object_get(st, "scenario"));
	s = malloc(sizeof(*s));
	if (!s || !spath) {
		json_decref(st);
		free(s);
		return fail(1, "lab %s: %s", lab, s ? "its bookkeeping names no scenario" : "out of memory");
	}
	if (scenario_load(s, spath, &d)) {
		rc = fail(1, "lab %s: its scenario, as natlab up was given it: %s", lab, d.msg);
		goto out_free;
	}
	if (s->matrix.line) {
		rc = fail(EXIT_BAD_INPUT, "lab %s: a cell of %s's [matrix]: only a lab of its own file is bundled", lab,
			  spath);
		goto out_free;
	}
	snprintf(script_id, sizeof(script_id), "%s-sh", s->name);
	/* the work folder where temporary files go ($TMPDIR, as mktemp has it) */
	snprintf(dir, sizeof(dir), "%s/natlab-bundle-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		rc = fail(1, "cannot make a folder in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
		goto out_free;
	}
	snprintf(sub, sizeof(sub), "%s/%s", dir, lab);
	snprintf(path, sizeof(path), "%s/rules", sub);
	if (mkdir(sub, 0755) || mkdir(path, 0755)) {
		rc = fail(1, "%s: %s", path, strerror(errno));
		goto out_rm;
	}
	rc = copy_scenario(s, spath, sub); /* it says what failed */
	if (rc)
		goto out_rm;
	if (plan_build(&p, s, script_id, &d)) {
		rc = fail(1, "%s", d.msg);
		goto out_rm;
	}
	planned = true;
	snprintf(path, sizeof(path), "%s/lab.sh", sub);
	f = outfile_fopen(path, 0755);
	if (!f || plan_print_script(&p, f) || fclose(f)) {
		rc = fail(1, "cannot write %s", path);
		goto out_rm;
	}
	json_object_foreach(json_object_get(st, "nodes"), name, node) {
		char *nft[] = { "nft", "list", "ruleset", NULL };

		if (strcmp(json_string_value(json_object_get(node, "kind")), "nat"))
			continue;
		snprintf(path, sizeof(path), "%s/rules/%s.nft", sub, name);
		fd = outfile_open(path, O_TRUNC, 0644);
		if (fd < 0 || run_to(nft, fd, json_string_value(json_object_get(node, "netns")))) {
			if (fd >= 0)
				close(fd);
			rc = fail(1, "lab %s: cannot list %s's ruleset", lab, name);
			goto out_rm;
		}
		close(fd);
	}
	{
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		char *show[] = { self, "show", (char *)lab, NULL };

		snprintf(path, sizeof(path), "%s/show.txt", sub);
		fd = n > 0 ? outfile_open(path, O_TRUNC, 0644) : -1;
		if (n > 0)
			self[n] = '\0';
		if (fd < 0 || run_to(show, fd, NULL)) {
			if (fd >= 0)
				close(fd);
			rc = fail(1, "lab %s: natlab show failed", lab);
			goto out_rm;
		}
		close(fd);
	}
	if (json_is_string(json_object_get(st, "pcap"))) {
		snprintf(path, sizeof(path), "%s/capture.pcap", sub);
		if (outfile_copy(json_string_value(json_object_get(st, "pcap")), path, 0644)) {
			rc = fail(1, "lab %s: cannot copy its capture: %s", lab, strerror(errno));
			goto out_rm;
		}
	}
	snprintf(path, sizeof(path), "%s/README.md", sub);
	if (write_readme(path, lab, script_id, st, json_is_string(json_object_get(st, "pcap")))) {
		rc = fail(1, "cannot write %s", path);
		goto out_rm;
	}
	/* the archive through a descriptor natlab opened: never through a symlink */
	fd = outfile_open(out, O_TRUNC, 0644);
	if (fd < 0) {
		rc = fail(1, "%s: %s", out, strerror(errno));
		goto out_rm;
	}
	{
		char *tar[] = { "tar", "-C", dir, "-czf", "-", (char *)lab, NULL };

		rc = run_to(tar, fd, NULL) ? fail(1, "%s: tar failed", out) : 0;
	}
	if (close(fd) && !rc)
		rc = fail(1, "%s: %s", out, strerror(errno));
	if (rc)
		unlink(out);
	else
		printf("%s\n", out);
out_rm:
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	if (planned)
		plan_free(&p);
out_free:
	free(s);
	json_decref(st);
	return rc;
}
