/* The wire's configuration handed from natlab up to natlab-wire through a file
 * descriptor, as the bytes of this build's struct (the same build writes and reads
 * it): the ports in use, then everything after them. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

static int move_all(int fd, void *buf, size_t len, bool out)
{
	char *p = buf;

	while (len) {
		/* a wire gone before it read is an error here, not a SIGPIPE for natlab */
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static size_t tail_offset(void)
{
	return offsetof(struct wire_config, n_faults);
}

int wire_config_write(const struct wire_config *c, int fd)
{
	if (move_all(fd, (void *)&c->n_ports, sizeof(c->n_ports), true) ||
	    move_all(fd, (void *)c->ports, (size_t)c->n_ports * sizeof(c->ports[0]), true))
		return -1;
	return move_all(fd, (char *)c + tail_offset(), sizeof(*c) - tail_offset(), true);
}

int wire_config_read(struct wire_config *c, int fd)
{
	memset(c, 0, sizeof(*c));
	if (move_all(fd, &c->n_ports, sizeof(c->n_ports), false) || c->n_ports < 0 ||
	    c->n_ports > LAB_MAX_NODES ||
	    move_all(fd, c->ports, (size_t)c->n_ports * sizeof(c->ports[0]), false))
		return -1;
	if (move_all(fd, (char *)c + tail_offset(), sizeof(*c) - tail_offset(), false) || c->n_faults < 0 ||
	    c->n_faults > LAB_MAX_FAULTS)
		return -1;
	/* a natlab-wire of another build would read garbage: at least no path runs on */
	c->pcap_path[sizeof(c->pcap_path) - 1] = c->events_path[sizeof(c->events_path) - 1] =
		c->stats_path[sizeof(c->stats_path) - 1] = '\0';
	return 0;
}
