/* A profile → the nftables ruleset (and conntrack sysctls) that make a NAT behave so. */
#ifndef NATLAB_RULESET_H
#define NATLAB_RULESET_H

#include <nftables/libnftables.h>

#include "../common/diag.h"
#include "../common/dl.h"
#include "profile.h"

struct nat_iface {
	const char *wan_if;  /* uplink interface name inside the NAT's namespace */
	const char *wan_addr; /* its address, the NAT's external address */
	const char *lan_net;  /* CIDR of the inside, for hairpin */
};

struct nat_sysctl {
	const char *path; /* below /proc/sys */
	unsigned value;
};

/* Returns a malloc'd ruleset text, or NULL on allocation failure. */
char *nat_ruleset_render(const struct nat_profile *p, const struct nat_iface *ifc);
/* Fills up to 4 sysctls the profile sets; returns how many. */
int nat_sysctls(const struct nat_profile *p, struct nat_sysctl out[4]);
/* libnftables, loaded by the commands that build NATs (common/dl.h says why) */
#define NFT_FUNCS(X)                                                                        \
	X(nft_ctx_new) X(nft_ctx_free) X(nft_ctx_buffer_error) X(nft_ctx_buffer_output)    \
	X(nft_run_cmd_from_buffer) X(nft_ctx_get_error_buffer)

struct nft_api {
	void *lib;
	NFT_FUNCS(DL_MEMBER)
};

int nft_api_load(struct nft_api *api, struct diag *d);
void nft_api_unload(struct nft_api *api);
/* Loads text with libnftables into the current network namespace. */
int nat_ruleset_load(const struct nft_api *nft, const char *text, struct diag *d);

#endif
