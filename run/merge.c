/* natlab merge: the shards of one plan (natlab run --shard I/N, on one machine
 * or many) into one run directory, as if one machine had run it all: records
 * and wire figures in shard order, captures and classifications beside them,
 * meta.json recomputed from them. Every shard must be there, once, of the same
 * plan, and whole (its run's exit 0); all is read and checked before anything is
 * written, and nothing where something already is. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/subcommands.h"
#include "../common/outfile.h"
#include "output.h"
#include "record.h"
#include "run.h"

struct shard {
	const char *dir;
	json_t *meta; /* its meta.json */
	int index;
};

static int by_index(const void *x, const void *y)
{
	const struct shard *a = x, *b = y;

	return (a->index > b->index) - (a->index < b->index);
}

/* Appends file `from` to descriptor `to` (a missing file is nothing to add when
 * `optional`); never through a symlink. */
static int append_file(int to, const char *from, bool optional, const char *to_name)
{
	char buf[65536];
	ssize_t n;
	int fd = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return optional && errno == ENOENT ? 0 : fail(1, "%s: %s", from, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(to, buf, (size_t)n) != n) {
			int e = errno;

			close(fd);
			return fail(1, "%s: %s", to_name, strerror(e));
		}
	close(fd);
	return n < 0 ? fail(1, "%s: %s", from, strerror(errno)) : 0;
}

/* Copies the regular files of DIR/sub into OUT/sub; a name that is there already
 * (two shards' labs of one name) is an error, not an overwrite. */
static int copy_folder(const char *dir, const char *out, const char *sub)
{
	char from[PATH_MAX], to[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	snprintf(from, sizeof(from), "%s/%s", dir, sub);
	d = opendir(from);
	if (!d)
		return errno == ENOENT ? 0 : fail(1, "%s: %s", from, strerror(errno));
	snprintf(to, sizeof(to), "%s/%s", out, sub);
	if (mkdir(to, 0755) && errno != EEXIST) {
		closedir(d);
		return fail(1, "%s: %s", to, strerror(errno));
	}
	while (!rc && (e = readdir(d))) {
		char src[PATH_MAX], dst[PATH_MAX];
		struct stat st;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%.2000s/%.1000s", from, e->d_name);
		snprintf(dst, sizeof(dst), "%.2000s/%.1000s", to, e->d_name);
		if (lstat(src, &st) || !S_ISREG(st.st_mode))
			continue; /* a symlink or a folder is nothing a run writes */
		fd = outfile_open(dst, O_EXCL, 0644);
		if (fd < 0) {
			rc = fail(1, "%s: %s%s", dst, strerror(errno),
				  errno == EEXIST ? " (two shards wrote a file of that name)" : "");
			break;
		}
		rc = append_file(fd, src, false, dst);
		close(fd);
	}
	closedir(d);
	return rc;
}

/* Would two shards write one file of DIR/sub? Said before anything is written. */
static int names_collide(const struct shard *sh, int n, const char *sub)
{
	for (int i = 0; i < n; i++) {
		char dir[PATH_MAX];
		DIR *d;
		struct dirent *e;
		int rc = 0;

		snprintf(dir, sizeof(dir), "%s/%s", sh[i].dir, sub);
		if (!(d = opendir(dir)))
			continue;
		while (!rc && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			for (int j = i + 1; j < n && !rc; j++) {
				char other[PATH_MAX];
				struct stat st;

				snprintf(other, sizeof(other), "%.2000s/%s/%.1000s", sh[j].dir, sub, e->d_name);
				if (!lstat(other, &st))
					rc = fail(EXIT_BAD_INPUT, "%s and %s/%s/%s: two shards wrote a file of one name", other,
						  sh[i].dir, sub, e->d_name);
			}
		}
		closedir(d);
		if (rc)
			return rc;
	}
	return 0;
}

static int count_record(const struct attempt_record *r, void *arg)
{
	(void)r;
	(*(unsigned *)arg)++;
	return 0;
}

/* Reads and checks the shards: each a run of --shard I/N, all of one plan, every
 * index from 1 to N once. */
static int read_shards(const char *const *dirs, int n, struct shard *sh)
{
	json_t *first = NULL;

	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		json_error_t e;
		json_t *s;

		sh[i].dir = dirs[i];
		snprintf(path, sizeof(path), "%s/meta.json", dirs[i]);
		sh[i].meta = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
		if (!sh[i].meta)
			return fail(EXIT_BAD_INPUT, "%s: %s", path, e.text);
		s = json_object_get(json_object_get(sh[i].meta, "run"), "shard");
		if (!json_is_integer(json_object_get(s, "index")) || !json_is_integer(json_object_get(s, "count")))
			return fail(EXIT_BAD_INPUT, "%s: not a shard (a run of natlab run --shard I/N)", path);
		sh[i].index = (int)json_integer_value(json_object_get(s, "index"));
		if (!first) {
			first = s;
			continue;
		}
		/* the same plan: the same files' text cut into the same labs in the same
		 * order (the digest), and as many shards */
		if (!json_equal(json_object_get(s, "count"), json_object_get(first, "count")) ||
		    !json_equal(json_object_get(s, "plan_jobs"), json_object_get(first, "plan_jobs")) ||
		    !json_equal(json_object_get(s, "plan"), json_object_get(first, "plan")) ||
		    !json_equal(json_object_get(s, "scenarios"), json_object_get(first, "scenarios")))
			return fail(EXIT_BAD_INPUT, "%s: a shard of another plan than %s's (files, presets, natlab "
						    "or count differ)", dirs[i], dirs[0]);
	}
	for (int i = 0; i < n; i++) {
		json_t *s = json_object_get(json_object_get(sh[i].meta, "run"), "shard"), *x = json_object_get(s, "exit");

		/* a shard whose run failed (a lab that did not come up or broke) lacks labs */
		if (!json_is_integer(x) || json_integer_value(x))
			return fail(EXIT_BAD_INPUT, "%s: its run did not finish all of its labs (exit %lld): run it again",
				    sh[i].dir, json_is_integer(x) ? (long long)json_integer_value(x) : -1LL);
	}
	qsort(sh, (size_t)n, sizeof(*sh), by_index);
	{
		int count = (int)json_integer_value(json_object_get(first, "count"));

		for (int i = 0, want = 1; want <= count; want++) {
			if (i < n && sh[i].index == want) {
				if (++i < n && sh[i].index == want)
					return fail(EXIT_BAD_INPUT, "%s and %s: both are shard %d/%d", sh[i - 1].dir,
						    sh[i].dir, want, count);
				continue;
			}
			return fail(EXIT_BAD_INPUT, "shard %d/%d is missing: a merge needs all %d", want, count, count);
		}
	}
	return 0;
}

int merge_runs(const char *const *dirs, int n, const char *out)
{
	struct shard *sh = calloc((size_t)n, sizeof(*sh));
	char path[PATH_MAX], from[PATH_MAX];
	unsigned attempts = 0, again = 0;
	int64_t late[2] = { -1000, -1000 }; /* ns, as the run measures; -1 us: not stated */
	json_int_t jobs = 0, cpus = 0; /* the most of any shard */
	json_t *from_dirs;
	int rc, fd;

	if (!sh)
		return fail(1, "out of memory");
	rc = read_shards(dirs, n, sh);
	/* everything read and checked before anything is written */
	for (int i = 0; i < n && !rc; i++) {
		struct diag d;
		unsigned records = 0;

		snprintf(from, sizeof(from), "%s/attempts.jsonl", sh[i].dir);
		if (record_read_file(from, count_record, &records, &d) < 0)
			rc = fail(EXIT_BAD_INPUT, "%s", d.msg);
	}
	if (!rc)
		rc = names_collide(sh, n, "pcap") || names_collide(sh, n, "classified") ? EXIT_BAD_INPUT : 0;
	if (!rc) {
		/* its parents as needed, itself new: never into what is there */
		char parent[PATH_MAX], *slash;

		snprintf(parent, sizeof(parent), "%s", out);
		slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			rc = mkdirs(parent);
		}
		if (!rc && mkdir(out, 0755))
			rc = fail(errno == EEXIST ? EXIT_BAD_INPUT : 1, "%s: %s", out,
				  errno == EEXIST ? "exists; natlab merge writes a new directory" : strerror(errno));
	}
	/* the records, each shard's read whole first: a bad line is named, not merged */
	snprintf(path, sizeof(path), "%s/attempts.jsonl", out);
	fd = rc ? -1 : outfile_open(path, O_EXCL, 0644);
	if (!rc && fd < 0)
		rc = fail(1, "%s: %s", path, strerror(errno));
	for (int i = 0; i < n && !rc; i++) {
		json_t *run = json_object_get(sh[i].meta, "run"),
		       *timer = json_object_get(json_object_get(sh[i].meta, "precision"), "timer_late_us");

		snprintf(from, sizeof(from), "%s/attempts.jsonl", sh[i].dir);
		rc = append_file(fd, from, false, path);
		attempts += (unsigned)json_integer_value(json_object_get(run, "attempts"));
		again += (unsigned)json_integer_value(json_object_get(run, "run_again"));
		/* the run's timer lateness: the worst shard's (by its p99), both figures
		 * of it, as one machine must hold it all */
		if (json_is_number(json_object_get(timer, "p99")) && json_is_number(json_object_get(timer, "p50")) &&
		    json_number_value(json_object_get(timer, "p99")) * 1000 > late[1]) {
			late[1] = (int64_t)(json_number_value(json_object_get(timer, "p99")) * 1000);
			late[0] = (int64_t)(json_number_value(json_object_get(timer, "p50")) * 1000);
		}
		/* the most any shard kept busy, and counted */
		if (json_integer_value(json_object_get(run, "jobs")) > jobs)
			jobs = json_integer_value(json_object_get(run, "jobs"));
		if (json_integer_value(json_object_get(run, "cpus")) > cpus)
			cpus = json_integer_value(json_object_get(run, "cpus"));
	}
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/wire.jsonl", out);
	fd = rc ? -1 : outfile_open(path, O_EXCL, 0644);
	if (!rc && fd < 0)
		rc = fail(1, "%s: %s", path, strerror(errno));
	for (int i = 0; i < n && !rc; i++) {
		snprintf(from, sizeof(from), "%s/wire.jsonl", sh[i].dir);
		rc = append_file(fd, from, true, path);
	}
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < n && !rc; i++)
		rc = copy_folder(sh[i].dir, out, "pcap") || copy_folder(sh[i].dir, out, "classified");
	from_dirs = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(from_dirs, json_string(sh[i].dir));
	if (!rc) {
		json_t *more = json_pack("{s:{s:i,s:o}}", "merged", "shards", n, "from", from_dirs);

		if (more && cpus) /* where no shard stated it, none */
			json_object_set_new(more, "cpus", json_integer(cpus));
		rc = write_meta(out, (long)jobs, attempts, again, late[0], late[1], more);
	}
	else
		json_decref(from_dirs);
	for (int i = 0; i < n; i++)
		json_decref(sh[i].meta);
	free(sh);
	return rc;
}
