#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"

/* As iproute2 does: /run/netns is a shared mount so the bind mounts show in every
 * mount namespace. */
static int netns_run_dir(struct diag *d)
{
	if (mkdir(NETNS_RUN_DIR, 0755) && errno != EEXIST)
		return diag_set(d, "mkdir %s: %s", NETNS_RUN_DIR, strerror(errno));
	if (!mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL))
		return 0;
	if (errno != EINVAL)
		return diag_set(d, "mount --make-shared %s: %s", NETNS_RUN_DIR, strerror(errno));
	if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) ||
	    mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL))
		return diag_set(d, "mount %s: %s", NETNS_RUN_DIR, strerror(errno));
	return 0;
}

int netns_create(const char *name, int back_fd, struct diag *d)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0 && errno == ENOENT) {
		if (netns_run_dir(d))
			return -1;
		fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	}
	if (fd < 0)
		return diag_set(d, "netns %s: %s", name, strerror(errno));
	close(fd);
	if (unshare(CLONE_NEWNET)) {
		diag_set(d, "unshare(CLONE_NEWNET): %s%s", strerror(errno),
			 errno == EPERM ? " (natlab needs root or CAP_SYS_ADMIN)" : "");
		unlink(path);
		return -1;
	}
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL)) {
		if (errno == EINVAL && netns_run_dir(d) == 0 &&
		    !mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL))
			goto mounted;
		diag_set(d, "mount netns %s: %s", name, strerror(errno));
		setns(back_fd, CLONE_NEWNET);
		unlink(path);
		return -1;
	}
mounted:
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_set(d, "open netns %s: %s", name, strerror(errno));
		setns(back_fd, CLONE_NEWNET);
		netns_remove(name);
	}
	return fd;
}

int netns_open(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int netns_enter(int fd)
{
	return setns(fd, CLONE_NEWNET);
}

int netns_remove(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	umount2(path, MNT_DETACH);
	if (unlink(path) && errno != ENOENT)
		return -1;
	return 0;
}

unsigned long netns_inode(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	if (stat(path, &st))
		return 0;
	return (unsigned long)st.st_ino;
}

int sysctl_write(const char *path, const char *value)
{
	char full[256];
	int fd, rc = 0;
	size_t len = strlen(value);

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, value, len) != (ssize_t)len)
		rc = -1;
	close(fd);
	return rc;
}
