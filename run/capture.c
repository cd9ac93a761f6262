/* Cutting a lab's capture: each failed attempt's frames, and with one lab the whole. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/diag.h"
#include "../common/libpcap.h"
#include "../common/outfile.h"
#include "../netns/lab.h"
#include "capture.h"

/* One cut of a capture: the frames of [from, until] (wall clock) into out. */
struct cut {
	const char *out;
	double from, until;
	pcap_dumper_t *dump;
};

/* cuts made in one reading of the capture: each is an open file meanwhile */
#define CUTS_PER_PASS 64

/* Makes cuts[0..n) in one reading of `in` (a lab's capture is read once, not once
 * per failed attempt: 25 failed attempts of a matrix cell read it 25 times); a cut
 * that cannot be written is removed and said. */
static void cut_pass(const struct pcap_api *pc, const char *in, struct cut *cuts, int n)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pc->pcap_open_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *data;

	if (!p)
		return; /* no capture to cut: nothing to say */
	for (int k = 0; k < n; k++) {
		FILE *f;

		/* (an errno from before, EEXIST of the pcap directory, is not this one's) */
		errno = 0;
		/* a capture holds the lab's traffic: its owner's only */
		f = outfile_fopen(cuts[k].out, 0600);

		cuts[k].dump = f ? pc->pcap_dump_fopen(p, f) : NULL;
		if (!cuts[k].dump) {
			fprintf(stderr, "natlab: warning: %s: %s; that capture is not kept\n", cuts[k].out,
				strerror(errno ? errno : EIO));
			/* not closed here: libpcap closed f when its header would not go
			 * out, the one way it fails for the wire's link type */
			if (f)
				unlink(cuts[k].out);
		}
	}
	while (pc->pcap_next_ex(p, &h, &data) == 1) {
		double t = (double)h->ts.tv_sec + h->ts.tv_usec / 1e9;

		for (int k = 0; k < n; k++)
			if (cuts[k].dump && t >= cuts[k].from && t <= cuts[k].until)
				pc->pcap_dump((u_char *)cuts[k].dump, h, data);
	}
	for (int k = 0; k < n; k++) {
		pcap_dumper_t *dump = cuts[k].dump;
		int e;

		if (!dump)
			continue;
		/* pcap_dump says nothing of a full disk: the flush and the close do */
		e = pc->pcap_dump_flush(dump) || ferror(pc->pcap_dump_file(dump)) ? errno ? errno : EIO : 0;
		/* the dumper is its FILE: pcap_dump_close would fclose it and say nothing */
		if (fclose(pc->pcap_dump_file(dump)) && !e)
			e = errno;
		if (e) {
			unlink(cuts[k].out); /* a capture cut short would mislead */
			fprintf(stderr, "natlab: warning: %s: %s; that capture is not kept\n", cuts[k].out,
				strerror(e));
		}
	}
	pc->pcap_close(p);
}

/* capture = all: each NAT's dumpcap is ended (it writes out what it holds, 2 s
 * at most) and its file kept whole as DIR/pcap/LAB-NAT.pcapng */
static void keep_nat_captures(json_t *st, const char *id, const struct run_ctx *c)
{
	json_t *sv;
	size_t k;

	json_array_foreach(json_object_get(st, "services"), k, sv) {
		const char *path = json_string_value(json_object_get(sv, "path"));
		pid_t pid = (pid_t)json_integer_value(json_object_get(sv, "pid"));
		char to[PATH_MAX + 256];
		int fd;

		if (!path || pid <= 0)
			continue;
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (fd >= 0 && !syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0))
			poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 2000);
		if (fd >= 0)
			close(fd);
		waitpid(pid, NULL, WNOHANG); /* natlab run's child: not left a zombie */
		snprintf(to, sizeof(to), "%s/pcap", c->outdir);
		mkdir(to, 0755);
		snprintf(to, sizeof(to), "%s/pcap/%s-%s.pcapng", c->outdir, id,
			 json_string_value(json_object_get(sv, "node")));
		if (outfile_copy(path, to, 0600)) /* the lab's traffic: its owner's only */
			fprintf(stderr, "natlab: warning: %s: %s; that capture is not kept\n", to, strerror(errno));
	}
}

/* The lab's capture outlives it: each failed attempt's frames in
 * DIR/pcap/LAB-aN-STRATEGY-A-B-skewSms.pcap, and with one lab only the whole of
 * it as DIR/wire.pcap. */
void keep_capture(const char *id, const struct run_ctx *c, const struct failed *failed)
{
	char from[PATH_MAX], to[PATH_MAX + 64], (*names)[PATH_MAX + 64];
	struct pcap_api pc = { 0 };
	struct diag d;
	json_t *st = lab_state_read(id, &d);
	const char *pcap = json_string_value(json_object_get(st, "pcap"));

	keep_nat_captures(st, id, c);
	if (!pcap) {
		json_decref(st);
		return;
	}
	snprintf(from, sizeof(from), "%s", pcap);
	json_decref(st);
	/* every attempt connected, and other labs beside: nothing to cut, nothing to load */
	if (!failed->n && !c->whole_pcap)
		return;
	if (pcap_api_load(&pc, "to cut captures", &d)) {
		fprintf(stderr, "natlab: warning: %s; the lab's capture %s is not cut\n", d.msg, from);
		return;
	}
	if (failed->n) {
		snprintf(to, sizeof(to), "%s/pcap", c->outdir);
		mkdir(to, 0755);
	}
	names = malloc((CUTS_PER_PASS + 1) * sizeof(*names));
	if (!names)
		fprintf(stderr, "natlab: warning: %s: out of memory; its cuts are not kept\n", from);
	for (int i = 0; names && (i < failed->n || (i == 0 && c->whole_pcap)); i += CUTS_PER_PASS) {
		struct cut cuts[CUTS_PER_PASS + 1];
		int n = 0;

		for (int k = i; k < failed->n && k < i + CUTS_PER_PASS; k++, n++) {
			snprintf(names[n], sizeof(names[n]), "%s/pcap/%s", c->outdir, failed->a[k].name);
			cuts[n] = (struct cut){ names[n], failed->a[k].from, failed->a[k].until, NULL };
		}
		if (i == 0 && c->whole_pcap) {
			snprintf(names[n], sizeof(names[n]), "%s/wire.pcap", c->outdir);
			cuts[n] = (struct cut){ names[n], 0, 1e12, NULL };
			n++;
		}
		cut_pass(&pc, from, cuts, n);
	}
	free(names);
	pcap_api_unload(&pc);
}
