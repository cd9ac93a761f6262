#include <string.h>

#include "libnfct.h"

#define NFCT_FN(f) DL_FN(api, f)

int nfct_api_load(struct nfct_api *api, struct diag *d)
{
	const struct dl_fn fns[] = { NFCT_FUNCS(NFCT_FN) };

	memset(api, 0, sizeof(*api));
	return dl_load(&api->lib, "libnetfilter_conntrack.so.3", "libnetfilter-conntrack3",
		       "to read the NATs' conntrack", fns, sizeof(fns) / sizeof(fns[0]), d);
}

void nfct_api_unload(struct nfct_api *api)
{
	dl_unload(&api->lib);
	memset(api, 0, sizeof(*api));
}
