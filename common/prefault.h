/* Memory touched for the first time costs a page fault each, 10-45 us on a virtual
 * machine (the fault's entry and exit are calls to the host); one madvise that fills
 * the page tables in the kernel costs about 1 us a page. A thread that will soon
 * touch a lot of fresh heap (libnftables' caches, 128 KB hash tables each) takes it
 * in one go here, then frees it: with the trim threshold natlab sets (cli/natlab.c)
 * the pages stay in its malloc arena for what follows. */
#ifndef NATLAB_PREFAULT_H
#define NATLAB_PREFAULT_H

#include <stddef.h>

/* Fills `bytes` of the calling thread's heap and leaves them free in it; does
 * nothing where the kernel cannot (MADV_POPULATE_WRITE: Linux 5.14) */
void prefault_heap(size_t bytes);

#endif
