/* libinih with line numbers and empty sections, for profile and scenario files. */
#ifndef NATLAB_INIFILE_H
#define NATLAB_INIFILE_H

#include <stdio.h>

#include "diag.h"

struct ini_cb {
	/* Called for every "[section]" line, also for sections without keys. */
	int (*section)(void *user, const char *section, int line, struct diag *d);
	int (*key)(void *user, const char *section, const char *key, const char *value, int line,
		   struct diag *d);
	void *user;
};

/* Both return 0, or -1 with d->msg = "NAME:LINE: what is wrong". */
int ini_stream_parse(FILE *f, const char *name, const struct ini_cb *cb, struct diag *d);
int ini_file_parse(const char *path, const struct ini_cb *cb, struct diag *d);
/* The file at path opened for reading, if it is a regular file; NULL and d otherwise. */
FILE *ini_file_open(const char *path, struct diag *d);

#endif
