#include <dlfcn.h>
#include <string.h>

#include "libre.h"

int re_api_load(struct re_api *api, struct diag *d)
{
	memset(api, 0, sizeof(*api));
	api->lib = dlopen("libre.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!api->lib)
		return diag_set(d, "cannot load libre (Debian's libre0, needed for STUN): %s", dlerror());
#define RE_LOAD(f)                                                                         \
	if (!(*(void **)&api->f = dlsym(api->lib, #f))) {                                  \
		diag_set(d, "libre.so.0 has no %s: a libre older than 0.6?", #f);          \
		re_api_unload(api);                                                        \
		return -1;                                                                 \
	}
	RE_FUNCS(RE_LOAD)
#undef RE_LOAD
	return 0;
}

void re_api_unload(struct re_api *api)
{
	if (api->lib)
		dlclose(api->lib);
	memset(api, 0, sizeof(*api));
}
