/* What a frame is (its class, for faults and events) and what the core does to
 * it: the router hop, and for the capture the checksum offloads left undone. */
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

void classify(const unsigned char *d, size_t len, struct pkt_info *pi)
{
	const struct ether_header *eh = (const void *)d;
	const struct iphdr *ip;
	size_t ihl;

	memset(pi, 0, sizeof(*pi));
	pi->match_bits = 1 << MATCH_ANY;
	if (len < sizeof(*eh) + sizeof(*ip) || ntohs(eh->ether_type) != ETHERTYPE_IP)
		return;
	ip = (const void *)(d + sizeof(*eh));
	ihl = (size_t)ip->ihl * 4;
	if (ihl < sizeof(*ip) || len < sizeof(*eh) + ihl)
		return;
	pi->src.s_addr = ip->saddr;
	pi->dst.s_addr = ip->daddr;
	pi->proto = ip->protocol;
	d += sizeof(*eh) + ihl;
	len -= sizeof(*eh) + ihl;
	if (ip->protocol == IPPROTO_TCP && len >= sizeof(struct tcphdr)) {
		const struct tcphdr *th = (const void *)d;

		pi->sport = ntohs(th->source);
		pi->dport = ntohs(th->dest);
		pi->match_bits |= 1 << MATCH_TCP;
		if (th->syn && !th->ack) {
			pi->match_bits |= 1 << MATCH_TCP_SYN;
			pi->event = EV_SYN;
		} else if (th->syn && th->ack) {
			pi->match_bits |= 1 << MATCH_TCP_SYNACK;
			pi->event = EV_SYNACK;
		} else if (th->rst) {
			pi->match_bits |= 1 << MATCH_TCP_RST;
			pi->event = EV_RST;
		} else if (th->ack) {
			pi->match_bits |= 1 << MATCH_TCP_ACK;
		}
	} else if (ip->protocol == IPPROTO_UDP && len >= 4) {
		pi->sport = (uint16_t)(d[0] << 8 | d[1]);
		pi->dport = (uint16_t)(d[2] << 8 | d[3]);
		pi->match_bits |= 1 << MATCH_UDP;
	} else if (ip->protocol == IPPROTO_ICMP && len >= 2) {
		pi->match_bits |= 1 << MATCH_ICMP;
		pi->icmp_type = d[0];
		pi->icmp_code = d[1];
		if (d[0] == ICMP_DEST_UNREACH || d[0] == ICMP_TIME_EXCEEDED)
			pi->event = EV_ICMP;
	}
}

/* A frame whose transport checksum the sender left to the NIC (tx checksum offload)
 * carries only the pseudo-header's sum there: finished here, for the capture, as a
 * line would show it. The frame that goes on is left as it is: its receiver's
 * kernel takes a partial checksum as verified. */
void csum_finish(struct frame *f)
{
	size_t start = f->vh.csum_start, at = start + f->vh.csum_offset;
	uint32_t sum = 0;
	uint16_t v;

	if (!(f->vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || at + 2 > f->len)
		return;
	for (size_t i = start; i + 1 < f->len; i += 2)
		sum += (uint32_t)(f->data[i] << 8 | f->data[i + 1]);
	if ((f->len - start) & 1)
		sum += (uint32_t)f->data[f->len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	/* a sum whose complement is 0 goes as 0 (RFC 1624: 0xffff, the other zero, only
	 * for all-zero data; Wireshark calls it bad), except to UDP, to which 0 means
	 * "no checksum" (RFC 768: all ones). 0xffff for TCP, about one frame in 65,536,
	 * was test_bulk_tcp_through_clean_wire's rare failure */
	v = (uint16_t)~sum;
	if (!v && f->vh.csum_offset == offsetof(struct udphdr, check))
		v = 0xffff;
	v = htons(v);
	memcpy(f->data + at, &v, 2);
	f->vh.flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

/* The internet is one router hop: IPv4 TTL goes down by one at the core (the
 * checksum follows, RFC 1624), and a packet whose TTL runs out dies there silently,
 * as a low-TTL SYN (STUNT) should. Returns false for such a packet. */
bool hop(unsigned char *data, size_t len)
{
	struct iphdr *ip = (void *)(data + sizeof(struct ether_header));
	uint32_t sum;

	if (len < sizeof(struct ether_header) + sizeof(*ip) ||
	    ntohs(((struct ether_header *)data)->ether_type) != ETHERTYPE_IP)
		return true;
	if (ip->ttl <= 1)
		return false;
	ip->ttl--;
	/* the TTL is the high byte of a 16-bit word: the sum grows by 0x0100 */
	sum = (uint32_t)ntohs(ip->check) + 0x0100;
	ip->check = htons((uint16_t)(sum + (sum >> 16)));
	return true;
}
