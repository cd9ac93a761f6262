/* libFuzzer target: the rendezvous line parser. `make fuzz` builds and runs it. */
#include <stdint.h>
#include <string.h>

#include "../protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[PROTO_LINE_MAX + 64];
	const char *why;
	struct msg m;

	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = '\0';
	if (proto_parse(line, &m, &why) == 0 && m.type == MSG_GO) {
		char ep[32];

		proto_fmt_endpoint(&m.peer_tcp, ep, sizeof(ep));
	}
	return 0;
}
