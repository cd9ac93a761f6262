#include <arpa/inet.h>
#include <string.h>

#include "tcpseg.h"

void tcpseg_make(struct tcphdr *t, const struct sockaddr_in *from, const struct sockaddr_in *to, uint32_t seq,
		 uint32_t ack, uint8_t flags)
{
	const uint16_t *w = (const uint16_t *)t;
	uint32_t sum;

	memset(t, 0, sizeof(*t));
	t->th_sport = from->sin_port;
	t->th_dport = to->sin_port;
	t->th_seq = htonl(seq);
	t->th_ack = htonl(ack);
	t->th_off = sizeof(*t) / 4;
	t->th_flags = flags;
	t->th_win = htons(64240);
	/* RFC 793's pseudo-header: both addresses, the protocol, the length */
	sum = (ntohl(from->sin_addr.s_addr) >> 16) + (ntohl(from->sin_addr.s_addr) & 0xffff) +
	      (ntohl(to->sin_addr.s_addr) >> 16) + (ntohl(to->sin_addr.s_addr) & 0xffff) + IPPROTO_TCP + sizeof(*t);
	for (size_t i = 0; i < sizeof(*t) / 2; i++)
		sum += ntohs(w[i]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	t->th_sum = htons((uint16_t)~sum);
}
