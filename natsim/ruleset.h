/* A profile → the nftables ruleset (and conntrack sysctls) that make a NAT behave so. */
#ifndef NATLAB_RULESET_H
#define NATLAB_RULESET_H

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
/* Loads text with libnftables into the current network namespace. */
int nat_ruleset_load(const char *text, struct diag *d);

#endif
