/* A lab's bookkeeping in the run directory: names, state files, locks, health. */
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

void lab_netns_name(char *buf, size_t len, const char *id, const char *node)
{
	snprintf(buf, len, "%s-%s", id, node);
}

bool lab_id_valid(const char *id)
{
	if (!*id || strlen(id) >= LAB_ID_MAX)
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return false;
	return true;
}

const char *lab_run_dir(void)
{
	const char *env = getenv("NATLAB_RUN_DIR");

	return env && *env ? env : LAB_RUN_DIR;
}

/* A lab's files in the run directory: ID.json (bookkeeping), ID.pcap, ID.events, ID.wire.log */
void run_path(char *buf, size_t len, const char *id, const char *ext)
{
	snprintf(buf, len, "%s/%s%s", lab_run_dir(), id, ext);
}

void state_path(char *buf, size_t len, const char *id)
{
	run_path(buf, len, id, ".json");
}

void lab_hosts_path(char *buf, size_t len, const char *id)
{
	run_path(buf, len, id, ".hosts");
}

/* the kernel's PF_EXITING (include/linux/sched.h), in field 9 of /proc/PID/stat */
#define PROC_FLAG_EXITING 0x4

/* Start time of a process (field 22 of /proc/PID/stat), to tell a reused PID apart;
 * 0 for none, for one that has ended but is not reaped yet (a zombie), and for one
 * on its way out: a killed wire takes milliseconds to close its sockets and die,
 * and an attempt that ends meanwhile must not take it for alive. */
unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024], state = 0;
	unsigned long long start = 0;
	unsigned flags = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* after ")": state is field 3, flags 9, starttime 22 */
		if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			   &state, &flags, &start) != 3 || state == 'Z' || state == 'X' ||
		    (flags & PROC_FLAG_EXITING))
			start = 0;
	}
	fclose(f);
	return start;
}

/* path replaced by tmp at once for its readers: exchanged with it, and the old
 * content, now at tmp, removed. Not a rename over path: ext4 (where /run is on some
 * machines) writes a file renamed over another out at once (auto_da_alloc), 0.07 to
 * 0.35 ms of every state written here; an exchange it leaves to writeback. */
static int replace(const char *tmp, const char *path)
{
	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE)) {
		unlink(tmp); /* one left is the next write's to replace, or down's */
		return 0;
	}
	/* no path yet, or a file system without exchange */
	return errno == ENOENT || errno == EINVAL ? rename(tmp, path) : -1;
}

int state_write(const char *id, json_t *state, struct diag *d)
{
	char path[256], tmp[300];
	/* one write, not jansson's write per token (hundreds of system calls, 2 ms of
	 * every up); a short write is a failed one */
	char *text = json_dumps(state, JSON_INDENT(1) | JSON_SORT_KEYS);
	size_t len = text ? strlen(text) : 0;
	int fd, rc;

	state_path(path, sizeof(path), id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* a .tmp left by a killed writer is ours to replace, a symlink is not followed */
	unlink(tmp);
	fd = text ? outfile_open(tmp, O_EXCL, 0600) : -1;
	if (fd < 0) {
		free(text);
		return diag_set(d, "cannot write %s: %s", tmp, text ? strerror(errno) : "out of memory");
	}
	errno = ENOSPC;
	rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	free(text);
	if (close(fd) || rc || replace(tmp, path)) {
		unlink(tmp);
		return diag_set(d, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* The run directory: made private; one that others may write to, or that is not
 * ours, would let them plant or read a lab's files */
static int run_dir_check(struct diag *d)
{
	const char *dir = lab_run_dir();
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return diag_set(d, "mkdir %s: %s", dir, strerror(errno));
	if (lstat(dir, &st))
		return diag_set(d, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return diag_set(d, "%s: not a directory (a symlink?): refusing it as the run directory", dir);
	if (st.st_uid != geteuid())
		return diag_set(d, "%s: owned by uid %u, not %u: refusing it as the run directory", dir,
				(unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return diag_set(d, "%s: writable by others (mode %03o): refusing it as the run directory", dir,
				(unsigned)(st.st_mode & 0777));
	return 0;
}

json_t *lab_state_read(const char *id, struct diag *d)
{
	char path[256];
	json_error_t err;
	json_t *st;

	if (!lab_id_valid(id)) {
		diag_set(d, "\"%s\" is not a lab name", id);
		return NULL;
	}
	state_path(path, sizeof(path), id);
	st = json_load_file(path, 0, &err);
	if (!st)
		diag_set(d, "no lab \"%s\" (see natlab list)", id);
	return st;
}

bool lab_is_stale(json_t *state)
{
	json_t *owner = json_object_get(state, "owner");
	pid_t pid;

	if (!json_is_object(owner))
		return false;
	pid = (pid_t)json_integer_value(json_object_get(owner, "pid"));
	return pid <= 0 ||
	       proc_start(pid) != (unsigned long long)json_integer_value(json_object_get(owner, "start"));
}

const char *lab_health(json_t *state)
{
	json_t *wire = json_object_get(state, "wire");
	const char *s = json_string_value(json_object_get(state, "state"));

	if (lab_is_stale(state))
		return "stale";
	/* the wire is the lab's internet: without it nothing crosses */
	if (s && !strcmp(s, "up") && json_is_object(wire)) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(wire, "pid"));
		json_t *start = json_object_get(wire, "start");
		unsigned long long now = pid > 0 ? proc_start(pid) : 0;

		if (!now || (json_is_integer(start) && now != (unsigned long long)json_integer_value(start)))
			return "broken";
	}
	/* and a node whose namespace someone removed: nothing reaches it */
	if (s && !strcmp(s, "up")) {
		size_t i;
		json_t *ns;

		json_array_foreach(json_object_get(state, "netns"), i, ns) {
			char path[256];
			struct stat sb;

			snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, json_string_value(ns));
			if (json_is_string(ns) && lstat(path, &sb))
				return "broken";
		}
	}
	return s ? s : "?";
}


static int lab_netns_count(const char *id)
{
	char names[1][128];

	return lab_netns_list(id, names, 1);
}

/* up and down of one lab go one at a time: each holds LAB.lock (flock) throughout,
 * up from before its name exists. Returns the held fd, -1 (errno). */
int lab_lock(const char *id, bool wait)
{
	char path[256];
	int fd;

	run_path(path, sizeof(path), id, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)))
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	return fd;
}

/* Done with a lab's lock; with `gone` the lab is, and the lock file goes too. */
void lab_unlock(const char *id, int fd, bool gone)
{
	char path[256];

	if (fd < 0)
		return;
	if (gone) {
		run_path(path, sizeof(path), id, ".lock");
		unlink(path);
	}
	close(fd);
}

/* Reserves a unique name by creating its bookkeeping file, its lock held first so
 * that no down can come between (*lock: the held fd). */
int reserve_id(const char *base, char id[LAB_ID_MAX], int *lock, struct diag *d)
{
	if (run_dir_check(d))
		return -1;
	for (int tries = 0; tries < 100; tries++) {
		unsigned short r;
		char path[256];
		int fd;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (unsigned short)(getpid() + tries);
		snprintf(id, LAB_ID_MAX, "%s-%04x", base, r);
		/* namespaces are the machine's: a name another run directory's lab has */
		if (lab_netns_count(id))
			continue;
		*lock = lab_lock(id, false);
		if (*lock < 0) {
			if (errno == EWOULDBLOCK)
				continue; /* a lab of that name is being taken down */
			return diag_set(d, "cannot lock %s: %s", id, strerror(errno));
		}
		state_path(path, sizeof(path), id);
		fd = outfile_open(path, O_EXCL, 0600);
		if (fd >= 0) {
			/* the builder is named at once: killed before its first full state,
			 * the lab is stale at once, and not "building" for the grace period */
			dprintf(fd, "{\"lab\": \"%s\", \"state\": \"building\", \"owner\": {\"pid\": %d, \"start\": %llu}}\n",
				id, (int)getpid(), proc_start(getpid()));
			close(fd);
			return 0;
		}
		lab_unlock(id, *lock, false);
		*lock = -1;
		if (errno != EEXIST)
			return diag_set(d, "cannot create %s: %s", path, strerror(errno));
	}
	return diag_set(d, "no free lab name for \"%s\"", base);
}


/* The lab's namespaces are exactly "<id>-<node>": ids are "<base>-<hex>" and neither
 * part nor a node name has a '-', so this finds them even without bookkeeping. */
int lab_netns_list(const char *id, char names[][128], int max)
{
	DIR *dir = opendir(NETNS_RUN_DIR);
	size_t idlen = strlen(id);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)) && n < max) {
		size_t len = strlen(e->d_name);

		if (!strncmp(e->d_name, id, idlen) && e->d_name[idlen] == '-' &&
		    !strchr(e->d_name + idlen + 1, '-') && len < 128)
			memcpy(names[n++], e->d_name, len + 1);
	}
	closedir(dir);
	return n;
}


int lab_reap_temp(void)
{
	DIR *dir = opendir(lab_run_dir());
	struct dirent *e;
	int n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		struct stat sb;

		bool tmp = len > 9 && !strcmp(e->d_name + len - 9, ".json.tmp");
		bool lock = len > 5 && !strcmp(e->d_name + len - 5, ".lock");

		/* a state file's next version, left by a writer killed before its
		 * exchange, or its last one, left between the exchange and the unlink;
		 * the lock of a lab that is no more */
		if (lock) {
			char state[NAME_MAX + 8];

			snprintf(state, sizeof(state), "%.*s.json", (int)(len - 5), e->d_name);
			if (!faccessat(dirfd(dir), state, F_OK, AT_SYMLINK_NOFOLLOW) || errno != ENOENT)
				continue;
		}
		if ((tmp || lock) && !fstatat(dirfd(dir), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) &&
		    time(NULL) - sb.st_mtime > LAB_RESERVE_GRACE_S && !unlinkat(dirfd(dir), e->d_name, 0))
			n++;
	}
	closedir(dir);
	return n;
}

/* A lab's name is its base and four hex digits (reserve_id): other .json files in
 * the directory (a run's meta.json, where a run directory doubles as an output
 * directory) are not labs. */
static bool id_shaped(const char *id, size_t len)
{
	if (len < 6 || id[len - 5] != '-')
		return false;
	for (size_t i = len - 4; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

int lab_foreach(int (*fn)(const char *id, json_t *state, void *arg), void *arg)
{
	DIR *dir = opendir(lab_run_dir());
	struct dirent *e;
	int rc = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		char id[LAB_ID_MAX + 8];
		size_t len = strlen(e->d_name);
		json_t *st;
		struct diag ignore;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") || len - 5 >= LAB_ID_MAX ||
		    !id_shaped(e->d_name, len - 5))
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(len - 5), e->d_name);
		st = lab_state_read(id, &ignore);
		if (!st) {
			/* a name reserved but not yet written, or a torn file: still a lab,
			 * and its builder's if young; one that stayed so for seconds lost its
			 * builder between the reservation and the first write (a kill): stale */
			struct stat sb;
			bool old = !fstatat(dirfd(dir), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) &&
				   time(NULL) - sb.st_mtime > LAB_RESERVE_GRACE_S;

			st = json_pack("{s:s,s:s,s:o}", "lab", id, "state", "building", "owner",
				       old ? json_pack("{s:i,s:i}", "pid", 0, "start", 0) : json_null());
		}
		if (fn(id, st, arg))
			rc = -1;
		json_decref(st);
	}
	closedir(dir);
	return rc;
}
