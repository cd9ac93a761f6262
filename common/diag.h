/* One-line diagnostics: "FILE:LINE: what is wrong", carried up to the command. */
#ifndef NATLAB_DIAG_H
#define NATLAB_DIAG_H

#include <stddef.h>

struct diag {
	char msg[512];
};

/* Formats msg and returns -1, so callers can write `return diag_set(d, ...)`. */
int diag_set(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
