#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prefault.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void prefault_heap(size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *p = malloc(bytes + 2 * page);
	uintptr_t start;

	if (!p)
		return;
	/* the whole pages inside the block: the first and last are partly malloc's */
	start = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
	(void)madvise((void *)start, bytes, MADV_POPULATE_WRITE);
	free(p);
}
