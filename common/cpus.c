/* A lab's cores: parsing the list, binding a process to it. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cpus.h"

static int cpu_number(const char **p, int *cpu)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno || v < 0 || v >= CPUS_MAX)
		return -1;
	*cpu = (int)v;
	*p = end;
	return 0;
}

int cpus_parse(const char *list, uint64_t *mask)
{
	const char *p = list;
	uint64_t m = 0;

	for (;;) {
		int lo, hi;

		while (*p == ' ')
			p++;
		if (cpu_number(&p, &lo))
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			if (cpu_number(&p, &hi) || hi < lo)
				goto bad;
		}
		for (int c = lo; c <= hi; c++)
			m |= 1ULL << c;
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (*p++ != ',')
			goto bad;
	}
	*mask = m;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

void cpus_format(uint64_t mask, char *buf, size_t len)
{
	size_t at = 0;

	if (len)
		buf[0] = 0;
	for (int c = 0; c < CPUS_MAX && at < len; c++) {
		int hi = c;

		if (!(mask >> c & 1))
			continue;
		while (hi + 1 < CPUS_MAX && (mask >> (hi + 1) & 1))
			hi++;
		at += (size_t)snprintf(buf + at, len - at, hi > c ? "%s%d-%d" : "%s%d", at ? "," : "", c, hi);
		c = hi;
	}
}

/* this process's affinity, in a set as large as the kernel's (sched_getaffinity
 * refuses one smaller than its CPU count: EINVAL); NULL where it cannot tell */
static cpu_set_t *affinity(size_t *size)
{
	for (int n = 1024; n <= 1 << 20; n *= 2) {
		cpu_set_t *set = CPU_ALLOC(n);

		if (!set)
			return NULL;
		*size = CPU_ALLOC_SIZE(n);
		if (!sched_getaffinity(0, *size, set))
			return set;
		CPU_FREE(set);
		if (errno != EINVAL)
			return NULL;
	}
	return NULL;
}

uint64_t cpus_usable(uint64_t mask)
{
	size_t size;
	cpu_set_t *set = affinity(&size);
	uint64_t own = 0;

	if (!set)
		return 0;
	for (int c = 0; c < CPUS_MAX; c++)
		if (CPU_ISSET_S(c, size, set))
			own |= 1ULL << c;
	CPU_FREE(set);
	return mask & own;
}

long cpus_count(uint64_t mask)
{
	size_t size;
	cpu_set_t *set;
	long n;

	if (mask)
		return __builtin_popcountll(cpus_usable(mask));
	set = affinity(&size);
	if (!set) {
		n = sysconf(_SC_NPROCESSORS_ONLN); /* reads a file: only where it must */
		return n > 0 ? n : 1;
	}
	n = CPU_COUNT_S(size, set);
	CPU_FREE(set);
	return n > 0 ? n : 1;
}

int cpus_bind_saving(uint64_t mask, struct cpus_saved *saved)
{
	saved->set = affinity(&saved->size);
	if (!saved->set) /* errno says why */
		return -1;
	if (cpus_bind(0, mask)) {
		int e = errno;

		CPU_FREE(saved->set);
		saved->set = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

int cpus_restore(struct cpus_saved *saved)
{
	int rc = saved->set ? sched_setaffinity(0, saved->size, saved->set) : 0, e = errno;

	CPU_FREE(saved->set);
	saved->set = NULL;
	errno = e;
	return rc;
}

int cpus_bind(pid_t pid, uint64_t mask)
{
	cpu_set_t set;

	if (!mask)
		return 0;
	CPU_ZERO(&set);
	for (int c = 0; c < CPUS_MAX; c++)
		if (mask >> c & 1)
			CPU_SET(c, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}
