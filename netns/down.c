/* Taking a lab down: its processes ended, its namespaces, files and bookkeeping removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/outfile.h"
#include "../common/timing.h"
#include "../natsim/ruleset.h"
#include "apply.h"
#include "lab.h"
#include "lab_internal.h"
#include "link.h"
#include "netns.h"
#include "../wire/wire.h"

/* The lab's processes, watched through pidfds (which also see an exit that no
 * parent has reaped yet). */
struct lab_procs {
	struct pollfd *pfd;
	pid_t *pid;
	int n, cap;
};

static bool procs_add(struct lab_procs *p, pid_t pid, int fd)
{
	if (p->n == p->cap) {
		int cap = p->cap ? 2 * p->cap : 64;
		struct pollfd *pfd = realloc(p->pfd, sizeof(*pfd) * (size_t)cap);
		pid_t *pids = pfd ? realloc(p->pid, sizeof(*pids) * (size_t)cap) : NULL;

		if (pfd)
			p->pfd = pfd;
		if (!pids)
			return false;
		p->pid = pids;
		p->cap = cap;
	}
	p->pid[p->n] = pid;
	p->pfd[p->n].fd = fd;
	p->pfd[p->n++].events = POLLIN;
	return true;
}

static void procs_free(struct lab_procs *p)
{
	free(p->pfd);
	free(p->pid);
}

static void procs_term(struct lab_procs *p, pid_t pid)
{
	int fd;

	for (int i = 0; i < p->n; i++)
		if (p->pid[i] == pid)
			return;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		/* out of descriptors (a lab of thousands of processes): no clean end for
		 * this one, but an end; the PID was seen in the lab's namespace just now */
		if (errno == EMFILE || errno == ENFILE)
			kill(pid, SIGKILL);
		return;
	}
	if (syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0) || !procs_add(p, pid, fd))
		close(fd);
}

/* SIGKILL now, and left out of the wait (and of procs_term's SIGTERM) */
static void procs_kill_unwaited(struct lab_procs *p, pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return;
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
	procs_add(p, pid, -1); /* poll skips it; procs_wait counts it gone */
}

static bool pid_in_netns(pid_t pid, unsigned long ino)
{
	char path[64], link[64], want[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return false;
	link[len] = '\0';
	snprintf(want, sizeof(want), "net:[%lu]", ino);
	return !strcmp(link, want);
}

/* Every process living in one of the lab's namespaces belongs to the lab: each gets
 * SIGTERM (p) or, with p NULL, SIGKILL at once. The number found. */
static int procs_term_in(struct lab_procs *p, const unsigned long *inodes, int n, pid_t skip)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	pid_t self = getpid();
	int found = 0;

	if (!proc)
		return 0;
	while (n > 0 && (e = readdir(proc))) {
		char path[300], link[64];
		unsigned long ino;
		ssize_t len;
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid <= 0 || pid == self || pid == skip)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "net:[%lu]", &ino) != 1)
			continue;
		for (int i = 0; i < n; i++)
			if (inodes[i] == ino) {
				found++;
				if (p)
					procs_term(p, pid);
				else
					kill(pid, SIGKILL);
			}
	}
	closedir(proc);
	return found;
}

/* Half a second to end cleanly, then SIGKILL. */
static void procs_wait(struct lab_procs *p)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int alive = 0, left;

		for (int i = 0; i < p->n; i++)
			alive += p->pfd[i].fd >= 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = 500 - (int)((now.tv_sec - start.tv_sec) * 1000 +
				   (now.tv_nsec - start.tv_nsec) / 1000000);
		if (!alive || left <= 0 || poll(p->pfd, (nfds_t)p->n, left) <= 0)
			break;
		for (int i = 0; i < p->n; i++)
			if (p->pfd[i].fd >= 0 && p->pfd[i].revents) {
				close(p->pfd[i].fd);
				p->pfd[i].fd = -1; /* poll skips negative fds */
			}
	}
	for (int i = 0; i < p->n; i++)
		if (p->pfd[i].fd >= 0) {
			syscall(SYS_pidfd_send_signal, p->pfd[i].fd, SIGKILL, NULL, 0);
			close(p->pfd[i].fd);
		}
}

int lab_down(const char *id, struct diag *d)
{
	return lab_down_timed(id, false, NULL, d);
}

/* Ends the processes in the namespaces `names` (n of them, lab id's), removes
 * them, the lab's files and its bookkeeping. */
int teardown(const char *id, char names[][128], int n, bool wait_wire, struct lab_phases *p,
		    struct diag *d)
{
	unsigned long inodes[LAB_MAX_NODES] = { 0 }, pinned[LAB_MAX_NODES] = { 0 };
	int pins[LAB_MAX_NODES];
	char path[256];
	int ni = 0, np = 0, rc = 0;
	struct lab_procs *procs;
	struct diag ignore;
	json_t *st;
	pid_t wire;

	state_path(path, sizeof(path), id);
	procs = calloc(1, sizeof(*procs));
	if (!procs)
		return diag_set(d, "out of memory");
	/* the internet first: the wire lives there. Each namespace is held open until
	 * the end: a namespace freed after its removal gives its inode number to the
	 * next one made, perhaps another lab's, whose processes the last pass would
	 * kill. One that cannot be held (out of descriptors) is left out of that pass. */
	for (int i = 0; i < n; i++) {
		int fd = netns_open(names[i]);
		struct stat sb;
		unsigned long ino = fd >= 0 && !fstat(fd, &sb) ? (unsigned long)sb.st_ino : netns_inode(names[i]);
		bool inet = !strcmp(names[i] + strlen(id) + 1, "internet");

		if (fd >= 0 && ino) {
			pins[np] = fd;
			pinned[np++] = ino;
		} else if (fd >= 0) {
			close(fd);
		}
		if (!ino)
			continue;
		if (inet && ni) {
			inodes[ni++] = inodes[0];
			inodes[0] = ino;
		} else {
			inodes[ni++] = ino;
		}
	}
	/* The wire is killed, not waited for: closing its packet socket waits for an
	 * RCU grace period (10-20 ms here), which passes after down has returned;
	 * nothing can reach it meanwhile, and its files go with the lab. */
	st = lab_state_read(id, &ignore);
	wire = (pid_t)json_integer_value(json_object_get(json_object_get(st, "wire"), "pid"));
	lab_phase_end(p, "find");
	if (wire > 0 && ni > 0 && pid_in_netns(wire, inodes[0]))
		wait_wire ? procs_term(procs, wire) : procs_kill_unwaited(procs, wire);
	procs_term_in(procs, inodes, ni, wire);
	lab_phase_end(p, "signal processes");
	for (int i = 0; i < n; i++)
		if (netns_remove(names[i]))
			rc = diag_set(d, "cannot remove netns %s: %s", names[i], strerror(errno));
	lab_phase_end(p, "namespaces");
	procs_wait(procs);
	procs_free(procs);
	free(procs);
	/* what forked meanwhile, or was past the descriptors: killed until none is left
	 * (the wire is on its way out already, and not waited for) */
	for (int pass = 0; pass < 50 && procs_term_in(NULL, pinned, np, wire); pass++)
		usleep(10000);
	for (int i = 0; i < np; i++)
		close(pins[i]);
	lab_phase_end(p, "wait for processes");
	/* once the services have ended: coturn ending writes its database, and a
	 * journal removed before that was made again (2 downs of 4, 2026-12-03) */
	for (const char *const *ext = (const char *const[]){ ".pcap", ".events", ".wire.log", ".wire.stats", ".hosts",
							      ".turn.log", ".turn.db", ".turn.db-journal", ".turn.pid",
							      ".turn.conf", ".json.tmp", NULL };
	     *ext; ext++) {
		char file[PATH_MAX];

		run_path(file, sizeof(file), id, *ext);
		unlink(file);
	}
	{
		/* capture = all: each NAT's capture (natlab run has kept a copy) */
		json_t *sv;
		size_t k;

		json_array_foreach(json_object_get(st, "services"), k, sv)
			if (json_is_string(json_object_get(sv, "path")))
				unlink(json_string_value(json_object_get(sv, "path")));
		json_decref(st);
	}
	lab_phase_end(p, "files");
	if (!rc && unlink(path) && errno != ENOENT)
		rc = diag_set(d, "cannot remove %s: %s", path, strerror(errno));
	lab_phase_end(p, "state");
	return rc;
}

static int down(const char *id, bool force, bool wait_wire, struct lab_phases *p, struct diag *d);

int lab_down_timed(const char *id, bool force, struct lab_phases *p, struct diag *d)
{
	return down(id, force, false, p, d);
}

bool lab_known(const char *id)
{
	char path[PATH_MAX], names[LAB_MAX_NODES][128];

	if (!lab_id_valid(id))
		return false;
	state_path(path, sizeof(path), id);
	return !access(path, F_OK) || lab_netns_list(id, names, LAB_MAX_NODES) > 0;
}

int lab_down_sync(const char *id, struct diag *d)
{
	return down(id, false, true, NULL, d);
}

static int down_locked(const char *id, bool force, bool wait_wire, struct lab_phases *p, struct diag *d)
{
	char names[LAB_MAX_NODES][128], path[256];
	int n;

	if (!lab_id_valid(id))
		return diag_set(d, "\"%s\" is not a lab name", id);
	state_path(path, sizeof(path), id);
	n = lab_netns_list(id, names, LAB_MAX_NODES);
	if (n == 0 && access(path, F_OK))
		return diag_set(d, "no lab \"%s\" (see natlab list)", id);
	/* namespaces are the machine's, bookkeeping is a run directory's: without it
	 * here, the lab is most likely another run directory's, and not ours to end */
	if (n > 0 && access(path, F_OK) && !force)
		return diag_set(d, "lab \"%s\" has namespaces but no bookkeeping in %s (another run "
				   "directory's?); natlab down --force %s removes them", id, lab_run_dir(), id);
	return teardown(id, names, n, wait_wire, p, d);
}

static int down(const char *id, bool force, bool wait_wire, struct lab_phases *p, struct diag *d)
{
	int lock, rc;

	if (!lab_id_valid(id))
		return diag_set(d, "\"%s\" is not a lab name", id);
	/* an up of this lab still under way finishes first, and is then taken down */
	char path[256];

	lock = lab_lock(id, true);
	rc = down_locked(id, force, wait_wire, p, d);
	state_path(path, sizeof(path), id);
	lab_unlock(id, lock, access(path, F_OK) && errno == ENOENT);
	return rc;
}
