/* libpcap (Debian's libpcap0.8), loaded when a capture is written or cut: linked, it
 * pulls in libdbus, libsystemd, libgcrypt and five more, 100 page faults at every
 * start of a program (common/dl.h says what one costs), and a lab without a capture
 * never calls it. */
#ifndef NATLAB_LIBPCAP_H
#define NATLAB_LIBPCAP_H

#include <pcap/pcap.h>

#include "diag.h"
#include "dl.h"

/* the functions natlab uses (the wire writes, natlab run cuts), each a member of
 * struct pcap_api by its own name */
#define PCAP_FUNCS(X)                                                                      \
	X(pcap_open_dead_with_tstamp_precision) X(pcap_open_offline_with_tstamp_precision) \
	X(pcap_next_ex) X(pcap_dump_fopen) X(pcap_dump) X(pcap_dump_flush)                 \
	X(pcap_dump_file) X(pcap_dump_close) X(pcap_close)

struct pcap_api {
	void *lib;
	PCAP_FUNCS(DL_MEMBER)
};

/* Fills api from libpcap.so.0.8; -1 with d saying what is missing and what it was
 * `needed_for` ("to cut captures"). */
int pcap_api_load(struct pcap_api *api, const char *needed_for, struct diag *d);
void pcap_api_unload(struct pcap_api *api);

#endif
