/* natlab's other programs (natlab-wire, natlab-probe), found beside the running one:
 * a checkout's build/ and an installed bin/ alike. */
#ifndef NATLAB_SIBLING_H
#define NATLAB_SIBLING_H

#include <stddef.h>

/* The path of program `name` in this program's directory, in out; 0 when it can
 * be run, else -1 with errno set (out holds the path looked for). */
int sibling_program(const char *name, char *out, size_t len);

#endif
