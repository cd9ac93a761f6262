/* relay through a TURN server (coturn, `service = turn`): each side allocates
 * a relayed address over a TCP connection to the server (libre's TURN client,
 * RFC 8656 over TCP: a network that lets no UDP out still gets there), the two
 * swap their relayed addresses through the rendezvous (RELAY 07), each lets the
 * other's in (a permission), and the nonces cross the server as in udp: PUNCH
 * every 20 ms until the partner's comes, then GOT. Not RFC 6062's TCP
 * allocations: no library Debian ships has their client side (libre, libnice
 * relay over UDP), and natlab does not hand-write one. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../common/libre.h"
#include "../peer.h"
#include "../protocol.h"
#include "strategies.h"

#define TURN_TAG "07"

struct turn_run {
	const struct re_api *re;
	struct peer *p;
	struct tcp_conn *tc;
	struct turnc *turnc;
	struct sa srv, relay, partner;
	bool allocated, exchanging, got, acked, failed;
	double got_at;
	uint8_t buf[4096]; /* the TCP stream, until a whole message is in */
	size_t len;
	struct tmr guard, tick;
	char punch[64], gotmsg[64];
};

static void stop(struct turn_run *t, bool failed)
{
	t->failed |= failed;
	t->re->re_cancel();
}

static void allocated(int err, uint16_t scode, const char *reason, const struct sa *relay, const struct sa *mapped,
		      const struct stun_msg *msg, void *arg)
{
	struct turn_run *t = arg;

	(void)reason;
	(void)mapped;
	(void)msg;
	if (err || scode || !relay)
		return stop(t, true);
	t->relay = *relay;
	t->allocated = true;
	stop(t, false);
}

static void connected(void *arg)
{
	struct turn_run *t = arg;

	if (t->re->turnc_alloc(&t->turnc, NULL, IPPROTO_TCP, t->tc, 0, &t->srv, t->p->turn_user,
			       t->p->turn_password, TURN_DEFAULT_LIFETIME, allocated, t))
		stop(t, true);
}

static void data_in(struct turn_run *t, const uint8_t *d, size_t n)
{
	char want_punch[64], want_got[64], got[64];

	snprintf(want_punch, sizeof(want_punch), "PUNCH %s", t->p->go.peer_nonce);
	snprintf(want_got, sizeof(want_got), "GOT %s", t->p->go.peer_nonce);
	snprintf(got, sizeof(got), "%.*s", (int)(n < sizeof(got) - 1 ? n : sizeof(got) - 1), (const char *)d);
	if (strcmp(got, want_punch) && strcmp(got, want_got))
		return;
	if (!t->got) {
		t->got = true;
		t->got_at = mono();
	}
	t->acked |= !strcmp(got, want_got);
}

/* whole STUN messages and ChannelData frames out of the stream, each to the
 * TURN client; what it leaves in the buffer is a peer's data */
static void received(struct mbuf *mb, void *arg)
{
	struct turn_run *t = arg;
	size_t n = mbuf_get_left(mb);

	if (n > sizeof(t->buf) - t->len)
		return stop(t, true);
	memcpy(t->buf + t->len, mbuf_buf(mb), n);
	t->len += n;
	while (t->len >= 4 && t->turnc) {
		unsigned type = (unsigned)t->buf[0] << 8 | t->buf[1], len = (unsigned)t->buf[2] << 8 | t->buf[3];
		/* STUN: a 20-byte header; ChannelData: 4, padded to 4 bytes over TCP */
		size_t whole = type < 0x4000 ? 20 + len : type < 0x8000 ? 4 + len : 0, padded = (whole + 3) & ~(size_t)3;
		struct mbuf *m;
		struct sa src;

		if (!whole)
			return stop(t, true);
		if (t->len < (type < 0x4000 ? whole : padded))
			break;
		m = t->re->mbuf_alloc(whole);
		if (!m)
			return stop(t, true);
		memcpy(m->buf, t->buf, whole);
		m->end = whole;
		if (!t->re->turnc_recv(t->turnc, &src, m) && mbuf_get_left(m))
			data_in(t, mbuf_buf(m), mbuf_get_left(m));
		t->re->mem_deref(m);
		if (type >= 0x4000)
			whole = padded;
		memmove(t->buf, t->buf + whole, t->len - whole);
		t->len -= whole;
	}
}

static void closed(int err, void *arg)
{
	(void)err;
	stop(arg, true);
}

/* headroom before the data: libre writes the Send indication's header there */
#define SEND_HEADROOM 64

static void send_text(struct turn_run *t, const char *s)
{
	struct mbuf *m = t->re->mbuf_alloc(SEND_HEADROOM + strlen(s));

	if (!m)
		return;
	memcpy(m->buf + SEND_HEADROOM, s, strlen(s));
	m->pos = SEND_HEADROOM;
	m->end = SEND_HEADROOM + strlen(s);
	t->re->turnc_send(t->turnc, &t->partner, m);
	t->re->mem_deref(m);
}

/* PUNCH every 20 ms until the partner's came, then GOT; done once it confirmed ours, or 1 s later */
static void tick(void *arg)
{
	struct turn_run *t = arg;

	if (t->got && (t->acked || mono() > t->got_at + 1)) {
		send_text(t, t->gotmsg); /* a last one, so the partner need not wait its second */
		return stop(t, false);
	}
	if (!t->p->syn_sent)
		mark_sent(t->p);
	send_text(t, t->got ? t->gotmsg : t->punch);
	t->p->tries++;
	t->re->tmr_start(&t->tick, 20, tick, t);
}

static void permitted(void *arg)
{
	tick(arg);
}

static void expired(void *arg)
{
	stop(arg, true);
}

/* The partner's relayed address, from the rendezvous */
static bool swap_relays(struct turn_run *t, double until)
{
	char mine[32], line[PROTO_LINE_MAX], hex[80] = "", text[40];
	struct in_addr a = { htonl(t->re->sa_in(&t->relay)) };
	struct sockaddr_in theirs;

	snprintf(mine, sizeof(mine), "%s:%u", inet_ntoa(a), t->re->sa_port(&t->relay));
	proto_hex(mine, strlen(mine), hex);
	dprintf(t->p->rv, "RELAY " TURN_TAG "%s\n", hex);
	while (read_line(t->p->rv, t->p->rbuf, &t->p->rlen, sizeof(t->p->rbuf), line, until, &t->p->rstamp) == 1) {
		size_t n = strlen(line + 8);

		if (strncmp(line, "RELAY " TURN_TAG, 8) || n % 2 || n / 2 >= sizeof(text))
			continue;
		if (proto_unhex(line + 8, text, sizeof(text)) || proto_endpoint(text, &theirs))
			return false;
		t->re->sa_set_in(&t->partner, ntohl(theirs.sin_addr.s_addr), ntohs(theirs.sin_port));
		return true;
	}
	return false;
}

void relay_turn(struct peer *p)
{
	double start = mono(), until = start + p->deadline_s;
	struct re_api re;
	struct turn_run t;
	struct diag d;
	bool ok = false;

	p->outcome = "error";
	p->err = EPROTO;
	p->relay_via = "turn";
	if (re_api_load(&re, &d)) {
		fprintf(stderr, "natlab-probe peer: %s\n", d.msg);
		return;
	}
	if (re.libre_init()) {
		re_api_unload(&re);
		return;
	}
	re.dbg_init(DBG_ERR, DBG_NONE);
	memset(&t, 0, sizeof(t));
	t.re = &re;
	t.p = p;
	snprintf(t.punch, sizeof(t.punch), "PUNCH %s", p->go.nonce);
	snprintf(t.gotmsg, sizeof(t.gotmsg), "GOT %s", p->go.nonce);
	re.sa_set_in(&t.srv, ntohl(p->turn.sin_addr.s_addr), ntohs(p->turn.sin_port));
	re.tmr_init(&t.guard);
	re.tmr_init(&t.tick);
	re.tmr_start(&t.guard, (uint64_t)(p->deadline_s * 1000), expired, &t);
	/* an allocation, over TCP */
	if (!re.tcp_connect(&t.tc, &t.srv, connected, received, closed, &t))
		re.re_main(NULL);
	/* the partner's relayed address, and ours to it */
	if (t.allocated && !t.failed && swap_relays(&t, until) &&
	    !re.turnc_add_perm(t.turnc, &t.partner, permitted, &t)) {
		re.re_main(NULL);
		ok = t.got;
	}
	re.tmr_cancel(&t.guard);
	re.tmr_cancel(&t.tick);
	if (ok) {
		p->outcome = "relayed";
		p->err = 0;
		p->nonce_ok = true;
		p->connect_ms = (t.got_at - start) * 1000;
	} else if (mono() >= until) {
		p->outcome = "timeout";
		p->err = ETIMEDOUT;
	}
	re.mem_deref(t.turnc);
	re.mem_deref(t.tc);
	re.libre_close();
	re_api_unload(&re);
}
