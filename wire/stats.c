/* The wire's figures for natlab run (LAB.wire.stats): how late frames left. */
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* {"frames":N,"synced":N,"syn_late_max_us":US,"realtime":B,"early_us":E,"rx_stamped":N,
 *  "rx_unstamped":N,"rx_dropped":N,"late_us":[[US,COUNT],...],"at_once_us":[[US,COUNT],...]}
 * over the file opened at start, padded to what was there: no create, rename or
 * directory lock in the forwarding loop (a rename here waited up to 49 ms on the
 * run directory's other labs). A reader that meets half a write reads again. */
/* a histogram's non-empty buckets, "[US,COUNT]" each, after b's `len` bytes (its
 * "[" included); the new length */
static size_t put_buckets(char *b, size_t len, size_t cap, const uint32_t *count, int buckets)
{
	for (int i = 0; i < buckets && len + 40 < cap; i++)
		if (count[i])
			len += (size_t)snprintf(b + len, cap - len, "%s[%d,%u]", b[len - 1] == '[' ? "" : ",", i,
						count[i]);
	return len;
}

void write_stats(struct wire *w, uint64_t now)
{
	char *b = w->stats_buf;
	size_t cap = sizeof(w->stats_buf), len;
	int n;

	w->stats_dirty = false;
	w->stats_written = now;
	if (w->stats_fd < 0)
		return;
	{
		/* the kernel's count since the last look (reading it resets it): frames
		 * that found the socket's buffer or ring full, lost as on a real link */
		struct tpacket_stats ps;
		socklen_t ps_len = sizeof(ps);

		if (w->fd >= 0 && !getsockopt(w->fd, SOL_PACKET, PACKET_STATISTICS, &ps, &ps_len))
			w->rx_dropped += ps.tp_drops;
	}
	n = snprintf(b, cap, "{\"frames\":%llu,\"synced\":%u,\"syn_late_max_us\":%llu,\"realtime\":%s,"
			     "\"early_us\":%lld,\"rx_stamped\":%llu,\"rx_unstamped\":%llu,\"rx_dropped\":%llu,"
			     "\"late_us\":[",
		     (unsigned long long)w->sent, w->synced, (unsigned long long)w->syn_late_max_us,
		     w->realtime ? "true" : "false",
		     (long long)(w->tm.early_ns / 1000), (unsigned long long)w->rx_stamped,
		     (unsigned long long)w->rx_unstamped, (unsigned long long)w->rx_dropped);
	len = put_buckets(b, (size_t)n, cap, w->late_us, WIRE_LATE_BUCKETS);
	len += (size_t)snprintf(b + len, cap - len, "],\"at_once_us\":[");
	len = put_buckets(b, len, cap, w->at_once_us, WIRE_AT_ONCE_BUCKETS);
	len += (size_t)snprintf(b + len, cap - len, "]");
	if (w->out_err && len + 80 < cap)
		len += (size_t)snprintf(b + len, cap - len, ",\"output_error\":\"%s\"", strerror(w->out_err));
	len += (size_t)snprintf(b + len, cap - len, "}\n");
	if (len < w->stats_len) { /* blank out the tail of a longer earlier one */
		memset(b + len, ' ', w->stats_len - len);
		len = w->stats_len;
	}
	if (pwrite(w->stats_fd, b, len, 0) == (ssize_t)len)
		w->stats_len = len;
}
