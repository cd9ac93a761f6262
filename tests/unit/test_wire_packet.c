/* The wire's per-frame work: the checksum it finishes for the capture, checked
 * by summing the frame as a receiver does (RFC 1071), and the value it writes
 * when the sum comes to zero (RFC 1624 for TCP, RFC 768 for UDP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../wire/internal.h"

#define L4 (14 + 20)

static uint32_t sum16(const unsigned char *d, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* The pseudo-header's sum, which a sender leaving the checksum to the NIC puts in
 * the field (CHECKSUM_PARTIAL) */
static uint16_t pseudo(const unsigned char *f, size_t len)
{
	return fold(sum16(f + 26, 8, (uint32_t)f[23] + (uint32_t)(len - L4)));
}

/* An Ethernet + IPv4 frame of proto with l4_len bytes after the IP header, the
 * payload p (seeded), the checksum at csum_offset left to finish */
static struct frame *frame_of(int proto, size_t l4_len, uint16_t csum_offset, unsigned seed)
{
	struct frame *f = calloc(1, sizeof(*f) + L4 + l4_len);
	size_t len = L4 + l4_len;

	assert_non_null(f);
	f->len = (uint32_t)len;
	put16(f->data + 12, 0x0800);
	f->data[14] = 0x45;
	put16(f->data + 16, (uint16_t)(len - 14));
	f->data[22] = 64;
	f->data[23] = (unsigned char)proto;
	memcpy(f->data + 26, "\xc0\x00\x02\x01\xc6\x33\x64\x02", 8);
	for (size_t i = L4; i < len; i++)
		f->data[i] = (unsigned char)(seed = seed * 1103515245u + 12345u) >> 16;
	f->vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f->vh.csum_start = L4;
	f->vh.csum_offset = csum_offset;
	put16(f->data + L4 + csum_offset, pseudo(f->data, len));
	return f;
}

/* The receiver's check: pseudo-header and segment, the field included, sum to
 * 0xffff (either zero, as RFC 1071 verifies) */
static bool verifies(const struct frame *f)
{
	uint32_t sum = sum16(f->data + 26, 8, (uint32_t)f->data[23] + (f->len - L4));

	return fold(sum16(f->data + L4, f->len - L4, sum)) == 0xffff;
}

/* Makes the finished checksum come to zero: one payload word (at `at`) chosen so
 * that everything else sums to 0xffff with it */
static void zero_sum(struct frame *f, size_t at)
{
	put16(f->data + at, 0);
	put16(f->data + at, (uint16_t)(0xffff - fold(sum16(f->data + L4, f->len - L4, 0))));
}

static void finished_checksums_verify(void **state)
{
	(void)state;
	/* odd and even lengths, a pure ACK and a segment, TCP and UDP */
	for (unsigned seed = 1; seed <= 200; seed++) {
		bool tcp = seed & 1;
		size_t l4_len = (tcp ? 20 : 8) + (seed * 37) % 1500;
		struct frame *f = frame_of(tcp ? IPPROTO_TCP : IPPROTO_UDP, l4_len, tcp ? 16 : 6, seed);

		csum_finish(f);
		assert_true(verifies(f));
		assert_false(f->vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
		free(f);
	}
}

static void zero_sum_is_0000_for_tcp_ffff_for_udp(void **state)
{
	struct frame *tcp = frame_of(IPPROTO_TCP, 20 + 12 + 100, 16, 7);
	struct frame *udp = frame_of(IPPROTO_UDP, 8 + 100, 6, 7);

	(void)state;
	zero_sum(tcp, L4 + 40);
	csum_finish(tcp);
	assert_true(verifies(tcp));
	/* 0xffff would verify too, but RFC 1624 has it only for all-zero data, and
	 * Wireshark marks it bad */
	assert_int_equal(get16(tcp->data + L4 + 16), 0x0000);
	zero_sum(udp, L4 + 20);
	csum_finish(udp);
	assert_true(verifies(udp));
	/* 0 would say "no checksum" */
	assert_int_equal(get16(udp->data + L4 + 6), 0xffff);
	free(tcp);
	free(udp);
}

static void complete_checksum_is_left_alone(void **state)
{
	struct frame *f = frame_of(IPPROTO_TCP, 60, 16, 3);

	(void)state;
	f->vh.flags = 0;
	put16(f->data + L4 + 16, 0x1234);
	csum_finish(f);
	assert_int_equal(get16(f->data + L4 + 16), 0x1234);
	/* a checksum field past the frame's end: nothing written */
	f->vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f->vh.csum_offset = 59;
	csum_finish(f);
	assert_int_equal(get16(f->data + L4 + 16), 0x1234);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finished_checksums_verify),
		cmocka_unit_test(zero_sum_is_0000_for_tcp_ffff_for_udp),
		cmocka_unit_test(complete_checksum_is_left_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
