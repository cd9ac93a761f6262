#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "inifile.h"

struct ini_run {
	FILE *f;
	const char *name;
	const struct ini_cb *cb;
	struct diag *d;
	int line;
	bool failed;
	char *buf; /* the line as read, NUL bytes and all */
	size_t cap;
};

static int fail_at(struct ini_run *r, struct diag *sub)
{
	if (!r->failed)
		diag_set(r->d, "%s:%d: %s", r->name, r->line, sub->msg);
	r->failed = true;
	return 0;
}

/* inih calls the reader once per line, so counting here gives the handler its line. */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct ini_run *r = stream;
	struct diag sub;
	char *s;
	size_t len;

	ssize_t got;

	if (r->failed || (got = getline(&r->buf, &r->cap, r->f)) < 0)
		return NULL;
	r->line++;
	len = (size_t)got;
	if (memchr(r->buf, '\0', len)) {
		/* C strings would cut the line there and read on as if nothing were lost */
		diag_set(&sub, "a NUL byte in the line");
		fail_at(r, &sub);
		return NULL;
	}
	if (len - (len && r->buf[len - 1] == '\n') > (size_t)num - 2) {
		diag_set(&sub, "line longer than %d characters", num - 2);
		fail_at(r, &sub);
		return NULL;
	}
	memcpy(str, r->buf, len + 1);
	for (s = str; *s == ' ' || *s == '\t'; s++)
		;
	if (*s == '[' && r->cb->section) {
		char sec[128];
		char *end = strchr(s, ']');

		if (end && (size_t)(end - s - 1) >= sizeof(sec)) {
			diag_set(&sub, "section name longer than %zu characters", sizeof(sec) - 1);
			fail_at(r, &sub);
			return NULL;
		}
		if (end) {
			memcpy(sec, s + 1, (size_t)(end - s - 1));
			sec[end - s - 1] = '\0';
			if (r->cb->section(r->cb->user, sec, r->line, &sub) < 0) {
				fail_at(r, &sub);
				return NULL;
			}
		}
	}
	return str;
}

static int ini_handle(void *user, const char *section, const char *key, const char *value)
{
	struct ini_run *r = user;
	struct diag sub;

	if (r->failed)
		return 0;
	if (r->cb->key(r->cb->user, section, key, value, r->line, &sub) < 0)
		return fail_at(r, &sub);
	return 1;
}

int ini_stream_parse(FILE *f, const char *name, const struct ini_cb *cb, struct diag *d)
{
	struct ini_run r = { .f = f, .name = name, .cb = cb, .d = d };
	int rc = ini_parse_stream(ini_read_line, &r, ini_handle, &r);

	free(r.buf);

	if (r.failed)
		return -1;
	if (ferror(f))
		return diag_set(d, "%s: read error: %s", name, strerror(errno));
	if (rc != 0)
		return diag_set(d, "%s:%d: syntax error: expected \"[section]\" or \"key = value\"",
				name, rc > 0 ? rc : r.line);
	return 0;
}

FILE *ini_file_open(const char *path, struct diag *d)
{
	FILE *f = fopen(path, "re");
	struct stat st;

	if (!f) {
		diag_set(d, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* a device or a pipe never ends (/dev/zero) or is nothing (/dev/null) */
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		diag_set(d, "%s: not a regular file", path);
		fclose(f);
		return NULL;
	}
	return f;
}

int ini_file_parse(const char *path, const struct ini_cb *cb, struct diag *d)
{
	FILE *f = ini_file_open(path, d);
	int rc;

	if (!f)
		return -1;
	rc = ini_stream_parse(f, path, cb, d);
	fclose(f);
	return rc;
}
