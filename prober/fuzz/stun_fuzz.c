/* libFuzzer target: the STUN side of the rendezvous server (prober/stun.c), with
 * libre's codec. Whatever comes, no crash, and an answer only to a binding
 * request exactly as long as its header says. `make fuzz` builds and runs it. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../stun.h"

static struct stun_server st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct diag d;

	(void)argc;
	(void)argv;
	if (re_api_load(&st.re, &d))
		abort();
	st.port[0] = STUN_PORT;
	st.port[1] = STUN_PORT + 1;
	for (int a = 0; a < STUN_MAX_ADDRS; a++)
		st.sock[a][0] = st.sock[a][1] = st.lsock[a][0] = st.lsock[a][1] = -1;
	inet_pton(AF_INET, "198.18.0.1", &st.addr[0]);
	inet_pton(AF_INET, "198.18.1.1", &st.addr[1]);
	st.n_addr = 2;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct stun_answer a;

	inet_pton(AF_INET, "198.19.0.1", &from.sin_addr);
	if (stuns_answer(&st, data, size, &from, st.addr[size & 1], (int)(size >> 1 & 1), size >> 2 & 1, &a)) {
		/* a binding request (type 0x0001) of exactly its stated length */
		if (size < 20 || data[0] != 0 || data[1] != 1 || size != 20u + (data[2] << 8 | data[3]))
			abort();
		if (a.len < 20 || a.len > sizeof(a.buf) || a.port < 0 || a.port > 1)
			abort();
	}
	return 0;
}
