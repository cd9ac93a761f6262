#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "protocol.h"

int proto_endpoint(const char *s, struct sockaddr_in *out)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		return -1;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

void proto_fmt_endpoint(const struct sockaddr_in *a, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
}

static int token_ok(const char *t, size_t max)
{
	size_t n = strlen(t);

	if (!n || n >= max)
		return 0;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
		      *t == '-' || *t == '_' || *t == '.'))
			return 0;
	return 1;
}

static int hex_ok(const char *t, size_t max)
{
	size_t n = strlen(t);

	if (!n || n >= max || n % 2)
		return 0;
	for (; *t; t++)
		if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f')))
			return 0;
	return 1;
}

int proto_random_hex(char *out, size_t bytes)
{
	unsigned char r[PROTO_SECRET_MAX / 2];
	size_t got = 0;

	if (bytes > sizeof(r))
		return -1;
	while (got < bytes) {
		ssize_t n = getrandom(r + got, bytes - got, 0);

		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			return -1;
	}
	proto_hex(r, bytes, out);
	return 0;
}

void proto_hex(const void *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = bytes;

	for (size_t i = 0; i < n; i++) {
		*out++ = digits[b[i] >> 4];
		*out++ = digits[b[i] & 15];
	}
	*out = '\0';
}

int proto_unhex(const char *hex, char *out, size_t len)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 >= len)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;

		if (sscanf(hex + i, "%2x", &v) != 1 || !v)
			return -1;
		*out++ = (char)v;
	}
	*out = '\0';
	return 0;
}

int proto_secret_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= PROTO_SECRET_MIN && n <= PROTO_SECRET_MAX && hex_ok(s, PROTO_SECRET_MAX + 1) ? 0
												: -1;
}

int proto_secret_eq(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char d = na != nb;

	for (size_t i = 0; i < na && i < nb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

const char *const probe_kind_name[PROBE_KINDS] = { "UDP", "SYN", "SYNSENT", "ALTSYN", "OUTBOUND", "IDLE",
							     "SYNLIFE" };

static int probe_kind_of(const char *s, enum probe_kind *k)
{
	for (int i = 0; i < PROBE_KINDS; i++)
		if (!strcmp(s, probe_kind_name[i]))
			return *k = (enum probe_kind)i, 0;
	return -1;
}

static int port_of(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || *s < '0' || *s > '9' || v < 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int proto_parse(const char *line, struct msg *m, const char **why)
{
	char buf[PROTO_LINE_MAX], *tok[8], *save = NULL, *t;
	int n = 0;

	memset(m, 0, sizeof(*m));
	if (strlen(line) >= sizeof(buf))
		return *why = "line too long", -1;
	strcpy(buf, line);
	for (t = strtok_r(buf, " ", &save); t && n < 8; t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	if (t)
		return *why = "too many fields", -1;
	if (n == 0)
		return *why = "empty line", -1;
	if ((!strcmp(tok[0], "HELLO") && (n == 5 || n == 6)) || (!strcmp(tok[0], "UDPHELLO") && n == 4)) {
		m->type = tok[0][0] == 'H' ? MSG_HELLO : MSG_UDPHELLO;
		if (!token_ok(tok[1], sizeof(m->attempt)))
			return *why = "bad attempt id", -1;
		strcpy(m->attempt, tok[1]);
		if (strcmp(tok[2], "0") && strcmp(tok[2], "1"))
			return *why = "side must be 0 or 1", -1;
		m->side = tok[2][0] - '0';
		if (m->type == MSG_HELLO) {
			/* a user's program: exec:NAME */
			size_t pre = strncmp(tok[3], STRATEGY_EXEC_PREFIX, strlen(STRATEGY_EXEC_PREFIX))
					     ? 0 : strlen(STRATEGY_EXEC_PREFIX);

			if (!token_ok(tok[3] + pre, sizeof(m->strategy) - pre))
				return *why = "bad strategy", -1;
			strcpy(m->strategy, tok[3]);
			m->lead_ms = 0;
			if (n == 6) {
				char *end;
				unsigned long v = strtoul(tok[4], &end, 10);

				if (!*tok[4] || *end || v > PROTO_LEAD_MAX_MS || tok[4][0] == '-' || tok[4][0] == '+')
					return *why = "bad lead", -1;
				m->lead_ms = (unsigned)v;
			}
		}
		if (proto_secret_ok(tok[n - 1]))
			return *why = "bad secret", -1;
		strcpy(m->secret, tok[n - 1]);
		return 0;
	}
	if (!strcmp(tok[0], "HELLO"))
		return *why = "HELLO wants ATTEMPT SIDE STRATEGY SECRET", -1;
	if (!strcmp(tok[0], "UDPHELLO"))
		return *why = "UDPHELLO wants ATTEMPT SIDE SECRET", -1;
	if (!strcmp(tok[0], "RELAY") && n == 2) {
		m->type = MSG_RELAY;
		if (!hex_ok(tok[1], sizeof(m->data)))
			return *why = "relay data must be lowercase hex", -1;
		strcpy(m->data, tok[1]);
		return 0;
	}
	if (!strcmp(tok[0], "SEEN") && n == 2) {
		m->type = MSG_SEEN;
		return proto_endpoint(tok[1], &m->ep) ? (*why = "bad endpoint", -1) : 0;
	}
	if (!strcmp(tok[0], "GO") && n == 6) {
		char *end;

		m->type = MSG_GO;
		if (proto_endpoint(tok[1], &m->peer_tcp) || proto_endpoint(tok[2], &m->peer_udp))
			return *why = "bad endpoint", -1;
		errno = 0;
		m->start_ns = strtoull(tok[3], &end, 10);
		if (errno || *end || end == tok[3])
			return *why = "bad start time", -1;
		if (!hex_ok(tok[4], sizeof(m->nonce)) || !hex_ok(tok[5], sizeof(m->peer_nonce)))
			return *why = "bad nonce", -1;
		strcpy(m->nonce, tok[4]);
		strcpy(m->peer_nonce, tok[5]);
		return 0;
	}
	if (!strcmp(tok[0], "PROBE") && (n == 2 || n == 3)) {
		m->type = MSG_PROBE;
		if (probe_kind_of(tok[1], &m->probe))
			return *why = "PROBE is of UDP, SYN, ALTSYN, SYNSENT, OUTBOUND, IDLE or SYNLIFE", -1;
		if (m->probe == PROBE_IDLE || m->probe == PROBE_SYNLIFE) {
			char *end;
			long v = n == 3 ? strtol(tok[2], &end, 10) : 0;

			if (n != 3 || *end || tok[2][0] < '1' || tok[2][0] > '9' ||
			    v > (m->probe == PROBE_IDLE ? PROBE_IDLE_MAX_S : PROBE_SYNLIFE_MAX_S))
				return *why = m->probe == PROBE_IDLE ? "PROBE IDLE wants 1 to 600 seconds"
								     : "PROBE SYNLIFE wants 1 to 300 seconds", -1;
			m->seconds = (unsigned)v;
			return 0;
		}
		/* UDP, SYN and ALTSYN name the asker's port (SYN and ALTSYN: 0 for its
		 * connection's); SYNSENT may name the server's; OUTBOUND nothing */
		if ((n == 2 && m->probe != PROBE_SYNSENT && m->probe != PROBE_OUTBOUND) ||
		    (n == 3 && (m->probe == PROBE_OUTBOUND || port_of(tok[2], &m->port) ||
				(!m->port && m->probe != PROBE_SYN && m->probe != PROBE_ALTSYN))))
			return *why = "PROBE UDP|SYN|ALTSYN PORT, PROBE SYNSENT [PORT] or PROBE OUTBOUND", -1;
		return 0;
	}
	if (!strcmp(tok[0], "PROBED") && n == 4 && !strcmp(tok[1], "OUTBOUND")) {
		m->type = MSG_PROBED;
		m->probe = PROBE_OUTBOUND;
		strcpy(m->outcome, "seen");
		for (int i = 0; i < 2; i++) {
			const char *l = tok[2 + i];

			if (strncmp(l, i ? "U:" : "T:", 2) || strlen(l + 2) >= sizeof(m->ports[i]) || !l[2] ||
			    strspn(l + 2, strcmp(l + 2, "-") ? "0123456789," : "-") != strlen(l + 2))
				return *why = "PROBED OUTBOUND wants T:PORTS U:PORTS", -1;
			strcpy(m->ports[i], l + 2);
		}
		return 0;
	}
	if (!strcmp(tok[0], "PROBING") && n == 2) {
		m->type = MSG_PROBING;
		return port_of(tok[1], &m->port) ? (*why = "bad port", -1) : 0;
	}
	if (!strcmp(tok[0], "PROBED") && (n == 3 || n == 5)) {
		m->type = MSG_PROBED;
		if (probe_kind_of(tok[1], &m->probe))
			return *why = "PROBED is of UDP, SYN, ALTSYN, SYNSENT, OUTBOUND, IDLE or SYNLIFE", -1;
		if (n == 3 && (!strcmp(tok[2], "none") || !strcmp(tok[2], "rst") || !strcmp(tok[2], "answered") ||
			       !strcmp(tok[2], "alive") ||
			       !strcmp(tok[2], "nosyn") || !strcmp(tok[2], "error"))) {
			strcpy(m->outcome, tok[2]);
			return 0;
		}
		if (n == 5 && !strcmp(tok[2], "icmp") && sscanf(tok[3], "%3d", &m->icmp_type) == 1 &&
		    sscanf(tok[4], "%3d", &m->icmp_code) == 1 && m->icmp_type >= 0 && m->icmp_type < 256 &&
		    m->icmp_code >= 0 && m->icmp_code < 256) {
			strcpy(m->outcome, "icmp");
			return 0;
		}
		return *why = "bad PROBED outcome", -1;
	}
	if (!strcmp(tok[0], "ERR")) {
		m->type = MSG_ERR;
		snprintf(m->data, sizeof(m->data), "%s", line + 3 + (line[3] == ' '));
		return 0;
	}
	return *why = "unknown message", -1;
}
