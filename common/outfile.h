/* Files natlab writes, never through a symlink: a link planted where natlab
 * writes (a run directory, an out directory) would redirect its writes. */
#ifndef NATLAB_OUTFILE_H
#define NATLAB_OUTFILE_H

#include <stdio.h>
#include <sys/types.h>

/* open(2) for writing, created with `mode` (umask applies), O_NOFOLLOW and
 * close-on-exec, plus `flags` (O_EXCL, O_TRUNC, O_APPEND); -1 with errno set. */
int outfile_open(const char *path, int flags, mode_t mode);
/* The same, truncated, as a stdio stream; NULL with errno set. */
FILE *outfile_fopen(const char *path, mode_t mode);
/* from's bytes (not through a symlink either) into a new `to`; -1 with errno set */
int outfile_copy(const char *from, const char *to, mode_t mode);

#endif
