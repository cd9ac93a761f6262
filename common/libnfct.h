/* libnetfilter_conntrack (Debian's libnetfilter-conntrack3), loaded when a command
 * first reads a NAT's conntrack (natlab run, show): linked, it and libnfnetlink were
 * mapped and relocated at every start of natlab, up and down too, which never call
 * it (common/dl.h says what that costs). */
#ifndef NATLAB_LIBNFCT_H
#define NATLAB_LIBNFCT_H

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "diag.h"
#include "dl.h"

/* the functions natsim/conntrack.c uses, each a member of struct nfct_api by its
 * own name */
#define NFCT_FUNCS(X)                                                                    \
	X(nfct_new) X(nfct_destroy) X(nfct_nlmsg_parse) X(nfct_nlmsg_build)              \
	X(nfct_get_attr_u8) X(nfct_get_attr_u16) X(nfct_get_attr_u32) X(nfct_attr_is_set) \
	X(nfct_set_attr_u8) X(nfct_set_attr_u16) X(nfct_set_attr_u32)

struct nfct_api {
	void *lib;
	NFCT_FUNCS(DL_MEMBER)
};

/* Fills api from libnetfilter_conntrack.so.3 (a second load of a loaded library
 * only counts it); -1 with d saying what is missing. */
int nfct_api_load(struct nfct_api *api, struct diag *d);
void nfct_api_unload(struct nfct_api *api);

#endif
