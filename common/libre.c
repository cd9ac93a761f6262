#include <string.h>

#include "dl.h"
#include "libre.h"

#define RE_FN(f) DL_FN(api, f)

int re_api_load(struct re_api *api, struct diag *d)
{
	const struct dl_fn fns[] = { RE_FUNCS(RE_FN) };

	memset(api, 0, sizeof(*api));
	return dl_load(&api->lib, "libre.so.0", "libre0", "for STUN", fns, sizeof(fns) / sizeof(fns[0]), d);
}

void re_api_unload(struct re_api *api)
{
	dl_unload(&api->lib);
	memset(api, 0, sizeof(*api));
}
