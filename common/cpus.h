/* The cores a lab's processes may run on ([lab] cpus): a list as taskset takes
 * it ("1", "0,2", "0-3"), held as a mask of CPUs 0-63; 0 means any. */
#ifndef NATLAB_CPUS_H
#define NATLAB_CPUS_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CPUS_MAX 64

/* "0-1,3" into *mask: 0, or -1 for anything else (no CPU, a CPU past 63, junk) */
int cpus_parse(const char *list, uint64_t *mask);
/* the mask as a list, "0-1,3" */
void cpus_format(uint64_t mask, char *buf, size_t len);
/* the CPUs of mask this process may use now (its own affinity, online ones) */
uint64_t cpus_usable(uint64_t mask);
/* how many CPUs of mask (0: any, however many the machine has) this process may
 * use: its affinity (taskset, a cpuset); the online count where it cannot tell */
long cpus_count(uint64_t mask);
/* pid (0: the calling thread) bound to mask; nothing for 0. 0, or -1 with errno */
int cpus_bind(pid_t pid, uint64_t mask);
/* The calling thread bound to mask for a while (a child it starts meanwhile
 * starts there), its own affinity kept in *saved (as large as the kernel's) for
 * cpus_restore, which frees it. 0, or -1 with errno and nothing kept. */
struct cpus_saved {
	cpu_set_t *set;
	size_t size;
};
int cpus_bind_saving(uint64_t mask, struct cpus_saved *saved);
int cpus_restore(struct cpus_saved *saved);

#endif
