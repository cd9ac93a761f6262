#include <dlfcn.h>

#include "dl.h"

int dl_load(void **lib, const char *soname, const char *package, const char *needed_for,
	    const struct dl_fn *fns, size_t n, struct diag *d)
{
	/* once loaded, kept (RTLD_NODELETE): unloaded, it cost natlab up 0.1-0.2 ms of
	 * unmapping, and a process that reads conntrack now and then loaded it again */
	*lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!*lib)
		return diag_set(d, "cannot load %s (Debian's %s, needed %s): %s", soname, package, needed_for,
				dlerror());
	for (size_t i = 0; i < n; i++)
		if (!(*fns[i].slot = dlsym(*lib, fns[i].name))) {
			diag_set(d, "%s has no %s: is %s older than the one natlab was built against?", soname,
				 fns[i].name, package);
			/* nothing left pointing into a library that is gone */
			for (size_t k = 0; k < i; k++)
				*fns[k].slot = NULL;
			dl_unload(lib);
			return -1;
		}
	return 0;
}

void dl_unload(void **lib)
{
	if (*lib)
		dlclose(*lib);
	*lib = NULL;
}
