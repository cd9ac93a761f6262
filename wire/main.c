/* natlab-wire: the wire as a program of its own. natlab up (netns/lab.c) starts it
 * with fd 3 the pipe it reports on (its pid, then one byte once it forwards), fd 4
 * the socket its configuration comes on (wire_config_write, once its ports exist)
 * and fd 5 the lab's internet namespace.
 * Exec'd, not forked from natlab: a fork copies natlab's page tables and makes each
 * page natlab writes afterwards a copy-on-write fault (5-10 ms of every up here). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/timing.h"
#include "wire.h"

int main(int argc, char *argv[])
{
	pid_t pid = getpid();

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "natlab-wire: natlab up starts this program; it takes no arguments\n");
		return 2;
	}
	/* the pid first: natlab ends a wire it started by it if the lab fails */
	if (write(3, &pid, sizeof(pid)) != sizeof(pid))
		return 1;
	/* a frame that waits is a malloc, and a fault in the middle of forwarding costs
	 * its delay. Filling 4 MB up front (MADV_POPULATE_WRITE) was tried: up and down
	 * each took 1.5 ms longer (20 interleaved cycles), the zeroing and the larger exit */
	timing_keep_heap();
	if (setns(5, CLONE_NEWNET)) {
		perror("natlab-wire: setns to the internet namespace (fd 5)");
		return 1;
	}
	close(5);
	/* natlab writes the configuration on fd 4 once the ports exist: loading this
	 * program and making its socket overlap their making */
	return wire_run(4, 3);
}
