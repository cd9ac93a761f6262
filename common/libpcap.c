#include <string.h>

#include "dl.h"
#include "libpcap.h"

#define PCAP_FN(f) DL_FN(api, f)

int pcap_api_load(struct pcap_api *api, const char *needed_for, struct diag *d)
{
	const struct dl_fn fns[] = { PCAP_FUNCS(PCAP_FN) };

	memset(api, 0, sizeof(*api));
	return dl_load(&api->lib, "libpcap.so.0.8", "libpcap0.8", needed_for, fns,
		       sizeof(fns) / sizeof(fns[0]), d);
}

void pcap_api_unload(struct pcap_api *api)
{
	dl_unload(&api->lib);
	memset(api, 0, sizeof(*api));
}
