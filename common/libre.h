/* libre (Debian's libre0), loaded when a STUN message is first needed: its STUN
 * codec for the server, its RFC 5780 tests (natbd) for `natlab classify`. Loaded,
 * not linked: libre pulls in libcrypto, 3-4 ms more at every start of a program,
 * and natlab-probe starts twice an attempt as a peer that never speaks STUN. */
#ifndef NATLAB_LIBRE_H
#define NATLAB_LIBRE_H

/* libre's headers want to be told what the system has */
#define HAVE_INTTYPES_H 1
#define HAVE_STDBOOL_H 1
#define HAVE_INET6 1
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <re.h>
/* for dbg_init: its header wants a module and a level of its own (unused here) */
#define DEBUG_MODULE "natlab"
#define DEBUG_LEVEL 0
#include <re_dbg.h>

#include "diag.h"
#include "dl.h"

/* the functions natlab uses, each a member of struct re_api by its own name */
#define RE_FUNCS(X)                                                                        \
	X(mem_deref) X(mbuf_alloc) X(stun_msg_decode) X(stun_msg_encode) X(stun_msg_class) \
	X(stun_msg_method) X(stun_msg_tid) X(stun_msg_attr) X(stun_msg_mcookie)            \
	X(libre_init) X(libre_close) X(re_main) X(re_cancel) X(tmr_init) X(tmr_start)      \
	X(tmr_cancel) X(sa_set_in) X(sa_in) X(sa_port) X(udp_listen) X(udp_local_get)      \
	X(stun_alloc) X(stun_request) X(stun_recv) X(nat_mapping_alloc)                    \
	X(nat_mapping_start) X(nat_filtering_alloc) X(nat_filtering_start)                 \
	X(nat_hairpinning_alloc) X(nat_hairpinning_start) X(dbg_init) X(tcp_connect)        \
	X(turnc_alloc) X(turnc_recv) X(turnc_send) X(turnc_add_perm)

struct re_api {
	void *lib;
	RE_FUNCS(DL_MEMBER)
};

/* Fills api from libre.so.0; -1 with d saying what is missing. */
int re_api_load(struct re_api *api, struct diag *d);
void re_api_unload(struct re_api *api);

#endif
