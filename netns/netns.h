/* Named network namespaces, compatible with `ip netns` (/run/netns/NAME bind mounts). */
#ifndef NATLAB_NETNS_H
#define NATLAB_NETNS_H

#include "../common/diag.h"

#define NETNS_RUN_DIR "/run/netns"

/* Creates /run/netns/NAME and leaves the calling thread inside the new namespace;
 * returns an fd for it. On error the thread is back where it was. */
int netns_create(const char *name, int back_fd, struct diag *d);
int netns_open(const char *name);
int netns_enter(int fd);
/* Removes the name; the namespace dies with its last process. ENOENT is success. */
int netns_remove(const char *name);
/* Writes /proc/sys/PATH in the current namespace. */
int sysctl_write(const char *path, const char *value);
/* The namespace's inode (its identity in /proc/PID/ns/net), 0 if it has none. */
unsigned long netns_inode(const char *name);

#endif
