/* Libraries loaded when a command first needs them, not linked into natlab: a
 * linked library is mapped and relocated at every start of every command, whether
 * it is used or not, tens of page faults of some 40 us each on a virtual machine
 * (libpcap and its dependencies 80 of them, libnftables and its 58: about half of
 * what `natlab down` cost to start). An API is a struct of function pointers, each
 * member named for its function, filled by dl_load from the list DL_FN makes. */
#ifndef NATLAB_DL_H
#define NATLAB_DL_H

#include <stddef.h>

#include "diag.h"

struct dl_fn {
	const char *name;
	void **slot;
};

/* a member of an API struct: f's pointer, named f */
#define DL_MEMBER(f) __typeof__(f) *f;
/* one entry of the list: { "f", &api->f } */
#define DL_FN(api, f) { #f, (void **)&(api)->f },

/* Opens soname and fills every slot; -1 with d naming the library and its Debian
 * package (`needed_for`: what the command wanted it for) or the missing function. */
int dl_load(void **lib, const char *soname, const char *package, const char *needed_for,
	    const struct dl_fn *fns, size_t n, struct diag *d);
void dl_unload(void **lib);

#endif
