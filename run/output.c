/* The run's directory: records appended whole, the wires' figures, meta.json. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../cli/subcommands.h"
#include "../common/outfile.h"
#include "output.h"
#include "precision.h"
#include "record.h"
#include "wire_figures.h"

/* What the run's attempts came to, per strategy in the order first met: the
 * records that stand (an attempt run again off schedule counts once, as its
 * last run). */
#define OUTCOME_STRATEGIES 32
struct outcomes {
	int n;
	struct {
		char name[STRATEGY_NAME_MAX];
		unsigned attempts, connected, relayed, failed, disagree;
		unsigned off_schedule; /* runs: a strategy with none on schedule still shows */
		unsigned unjudged;     /* the model predicts nothing (a program without like) */
	} s[OUTCOME_STRATEGIES];
};

static int count_outcome(const struct attempt_record *r, void *arg)
{
	struct outcomes *o = arg;
	int k = 0;

	/* the plan's attempts: an edge probe sits at the model's edge by design,
	 * where disagreeing is what it looks for (the window table reports it) */
	if (r->edge.on)
		return 0;
	while (k < o->n && strcmp(o->s[k].name, r->strategy))
		k++;
	if (k == o->n) {
		if (o->n == OUTCOME_STRATEGIES)
			return 0;
		memset(&o->s[k], 0, sizeof(o->s[k]));
		snprintf(o->s[k].name, sizeof(o->s[k].name), "%s", r->strategy);
		o->n++;
	}
	if (r->on_schedule == RECORD_FALSE) {
		o->s[k].off_schedule++;
		return 0;
	}
	o->s[k].attempts++;
	if (!strcmp(r->outcome, "connected"))
		o->s[k].connected++;
	else if (!strcmp(r->outcome, "relayed"))
		o->s[k].relayed++;
	else
		o->s[k].failed++;
	if (r->agrees == RECORD_FALSE)
		o->s[k].disagree++;
	o->s[k].unjudged += !strcmp(r->predicted, "unknown");
	return 0;
}

/* The summary natlab run prints, and meta.json's "outcomes". */
static json_t *outcomes_of_run(const char *outdir, struct diag *d)
{
	char path[PATH_MAX + 16];
	struct outcomes *o = calloc(1, sizeof(*o));
	json_t *j = json_object();

	snprintf(path, sizeof(path), "%s/attempts.jsonl", outdir);
	if (!o || !j || record_read_file(path, count_outcome, o, d)) {
		free(o);
		json_decref(j);
		return NULL;
	}
	for (int k = 0; k < o->n; k++) {
		fprintf(stderr, "natlab: %-12s %5u attempts: %5u connected, %5u relayed, %5u failed; %u disagree with the model",
			o->s[k].name, o->s[k].attempts, o->s[k].connected, o->s[k].relayed, o->s[k].failed,
			o->s[k].disagree);
		if (o->s[k].unjudged)
			fprintf(stderr, " (%u not judged: the model predicts nothing for them)", o->s[k].unjudged);
		if (o->s[k].off_schedule)
			fprintf(stderr, "; %u run%s off schedule, not counted", o->s[k].off_schedule,
				o->s[k].off_schedule == 1 ? "" : "s");
		fputc('\n', stderr);
		json_object_set_new(j, o->s[k].name,
				    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "attempts", (json_int_t)o->s[k].attempts,
					      "connected", (json_int_t)o->s[k].connected, "relayed",
					      (json_int_t)o->s[k].relayed, "failed", (json_int_t)o->s[k].failed,
					      "disagree", (json_int_t)o->s[k].disagree, "unjudged",
					      (json_int_t)o->s[k].unjudged, "off_schedule", (json_int_t)o->s[k].off_schedule));
	}
	free(o);
	return j;
}

int mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

/* Appends a record to DIR/attempts.jsonl in one write(2), so that labs side by
 * side never interleave lines, and whole or not at all: under a lock that the
 * other labs' processes respect (fcntl's are per process), a write cut short (a
 * full disk) is undone, and the error is the one the disk gave. A failed
 * attempt's span also goes to `failed`. */
static int append_whole(int fd, const char *line, size_t len)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	size_t done = 0;
	int err = 0;

	while (fcntl(fd, F_SETLKW, &lk) && errno == EINTR)
		;
	if (fstat(fd, &st))
		err = errno;
	while (!err && done < len) {
		ssize_t n = write(fd, line + done, len - done);

		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno != EINTR)
			err = errno;
		else if (n == 0)
			err = ENOSPC;
	}
	if (err && done && ftruncate(fd, st.st_size))
		err = errno;
	lk.l_type = F_UNLCK;
	fcntl(fd, F_SETLK, &lk);
	errno = err;
	return err ? -1 : 0;
}

int keep_record(const struct run_ctx *c, const struct attempt_record *rec, struct failed *failed)
{
	size_t len;
	char *line = record_line(rec, &len);
	int rc = 0;

	if (line) {
		if (append_whole(c->records, line, len))
			rc = fail(RUN_OUTPUT_FAILED, "%s/attempts.jsonl: %s", c->outdir, strerror(errno));
		free(line);
	}
	if (strcmp(rec->outcome, "connected") && strcmp(rec->outcome, "relayed")) {
		if (failed->n == failed->cap) {
			int cap = failed->cap ? 2 * failed->cap : 16;
			void *more = realloc(failed->a, sizeof(*failed->a) * (size_t)cap);

			if (!more)
				return rc; /* its capture only is lost */
			failed->a = more;
			failed->cap = cap;
		}
		/* named for what it tried: a folder of them reads as a list of failures;
		 * past a file name's 255 bytes (long names of everything), LAB-aN.pcap */
		if (snprintf(failed->a[failed->n].name, sizeof(failed->a[failed->n].name),
			     "%s-a%d-%s-%s-%s-skew%+gms.pcap", rec->lab, rec->attempt, rec->strategy, rec->profile[0],
			     rec->profile[1], rec->skew_ms + 0.0) > NAME_MAX)
			snprintf(failed->a[failed->n].name, sizeof(failed->a[failed->n].name), "%s-a%d.pcap", rec->lab,
				 rec->attempt);
		/* profile names are a user's file names: nothing of a shell's or a path's */
		for (char *ch = failed->a[failed->n].name; *ch; ch++)
			if (!isalnum((unsigned char)*ch) && !strchr("._+-", *ch))
				*ch = '_';
		failed->a[failed->n].attempt = rec->attempt;
		failed->a[failed->n].from = rec->wire_window[0];
		failed->a[failed->n++].until = rec->wire_window[1];
	}
	return rc;
}

/* The wire's own figures (how late it released frames) as DIR/wire.jsonl's line
 * for this lab. The wire rewrites them 10 ms after its last frame at most: wait
 * that long so the last attempt is in. */
void keep_wire_figures(const struct run_ctx *c, const char *id, const char *stats)
{
	json_t *j;
	char *line;

	core_give(c);
	usleep(15000);
	core_take(c);
	j = wire_stats_load(stats, 3);
	if (!j)
		return; /* a wire that never forwarded a frame writes nothing */
	if (json_string_value(json_object_get(j, "output_error")))
		fprintf(stderr, "natlab: warning: lab %s: the wire's capture and events stopped: %s; "
				"its later attempts lack wire figures and pcaps\n",
			id, json_string_value(json_object_get(j, "output_error")));
	json_object_set_new(j, "lab", json_string(id));
	line = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (line) {
		size_t len = strlen(line);

		line[len] = '\n';
		if (write(c->wires, line, len + 1) != (ssize_t)(len + 1))
			fail(1, "%s/wire.jsonl: %s", c->outdir, strerror(errno));
		free(line);
	}
}

/* DIR/meta.json: what this run did and how precisely it kept time; the
 * precision's warnings go to stderr too. run_all.sh adds its own fields to it. */
int write_meta(const char *outdir, long jobs, unsigned done, unsigned again, int64_t late_p50,
	       int64_t late_p99, json_t *run_more)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 32], kernel[2 * 65 + 2];
	struct diag d;
	json_t *p = precision_of_run(outdir, (double)late_p50 / 1000, (double)late_p99 / 1000, &d), *meta, *oc;
	struct utsname u;
	FILE *f;

	if (!p) {
		json_decref(run_more);
		return fail(1, "%s", d.msg);
	}
	oc = outcomes_of_run(outdir, &d);
	if (!oc) {
		json_decref(run_more);
		json_decref(p);
		return fail(1, "%s", d.msg);
	}
	precision_print_warnings(stderr, p, "natlab: warning: ");
	uname(&u);
	snprintf(kernel, sizeof(kernel), "%s %s", u.sysname, u.release);
	meta = json_pack("{s:{s:s,s:I,s:I,s:I,s:s},s:o,s:o}", "run", "natlab", NATLAB_VERSION, "jobs",
			 (json_int_t)jobs, "attempts", (json_int_t)done, "run_again", (json_int_t)again,
			 "kernel", kernel, "outcomes", oc, "precision", p);
	if (!meta) {
		json_decref(run_more);
		return fail(1, "out of memory");
	}
	if (run_more)
		json_object_update(json_object_get(meta, "run"), run_more);
	json_decref(run_more);
	snprintf(path, sizeof(path), "%s/meta.json", outdir);
	snprintf(tmp, sizeof(tmp), "%s/.meta.json.tmp", outdir);
	f = outfile_fopen(tmp, 0644);
	if (!f || json_dumpf(meta, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) || fputc('\n', f) == EOF ||
	    fclose(f) || rename(tmp, path)) {
		int e = errno;

		json_decref(meta);
		unlink(tmp);
		return fail(1, "cannot write %s: %s", path, strerror(e));
	}
	json_decref(meta);
	return 0;
}
