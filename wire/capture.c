/* The capture point at the core: the pcap and the events log, in time order. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void write_event(struct wire *w, const struct frame *f)
{
	static const char *const names[] = { "", "syn", "synack", "rst", "icmp" };
	struct pkt_info pi;
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	uint64_t wall = f->t + (uint64_t)w->wall_offset;

	classify(f->data, f->len, &pi);
	inet_ntop(AF_INET, &pi.src, src, sizeof(src));
	inet_ntop(AF_INET, &pi.dst, dst, sizeof(dst));
	fprintf(w->events,
		"{\"t\":%llu.%09llu,\"kind\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"proto\":%u,"
		"\"src\":\"%s:%u\",\"dst\":\"%s:%u\"",
		(unsigned long long)(wall / 1000000000ULL), (unsigned long long)(wall % 1000000000ULL),
		names[f->kind], w->c->ports[f->in].name, f->out >= 0 ? w->c->ports[f->out].name : "*",
		pi.proto, src, pi.sport, dst, pi.dport);
	if (f->kind == EV_ICMP)
		fprintf(w->events, ",\"icmp_type\":%u,\"icmp_code\":%u", pi.icmp_type, pi.icmp_code);
	if (f->lost)
		fputs(",\"lost\":true", w->events);
	fputs("}\n", w->events);
}

/* An output that met a full disk (or another write error): said once in the log
 * and in the figures; the caller closes it and writes no more to it. */
static void output_stops(struct wire *w, const char *path, const char *what)
{
	w->out_err = errno ? errno : EIO;
	fprintf(stderr, "wire: %s: %s; the %s stops here\n", path, strerror(w->out_err), what);
	w->stats_dirty = true;
}

/* Records whose core time has come, in time order: pcap and events. */
void flush_records(struct wire *w, uint64_t now, bool all)
{
	bool wrote = false;

	while (w->rec.n && (all || w->rec.v[0]->t <= now)) {
		struct frame *f = heap_pop(&w->rec);
		uint64_t wall = f->t + (uint64_t)w->wall_offset;

		if (w->dump && !f->lost) {
			struct pcap_pkthdr h = { .caplen = f->len, .len = f->len };

			h.ts.tv_sec = (time_t)(wall / 1000000000ULL);
			h.ts.tv_usec = (suseconds_t)(wall % 1000000000ULL); /* nanosecond file */
			w->pc.pcap_dump((u_char *)w->dump, &h, f->data);
		}
		if (w->events && f->kind)
			write_event(w, f);
		free(f);
		wrote = true;
	}
	if (wrote) {
		if (w->dump && (w->pc.pcap_dump_flush(w->dump) || ferror(w->pc.pcap_dump_file(w->dump)))) {
			output_stops(w, w->c->pcap_path, "capture");
			w->pc.pcap_dump_close(w->dump);
			w->dump = NULL;
		}
		if (w->events && (fflush(w->events) || ferror(w->events))) {
			output_stops(w, w->c->events_path, "events log");
			fclose(w->events);
			w->events = NULL;
		}
	}
}
