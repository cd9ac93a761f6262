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

uint64_t cpus_usable(uint64_t mask)
{
	cpu_set_t set;
	uint64_t own = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPUS_MAX; c++)
		if (CPU_ISSET(c, &set))
			own |= 1ULL << c;
	return mask & own;
}

long cpus_count(uint64_t mask)
{
	uint64_t usable = cpus_usable(mask ? mask : ~0ULL);
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (usable)
		return __builtin_popcountll(usable);
	return mask ? 0 : online > 0 ? online : 1; /* only CPUs past 63, or no answer */
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
