#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/inifile.h"
#include "profile.h"

#ifndef NATLAB_PROFILE_DIR
#define NATLAB_PROFILE_DIR "natsim/profiles"
#endif

enum knob_kind { KNOB_ENUM, KNOB_BOOL, KNOB_SECONDS, KNOB_RANGE, KNOB_DELTA, KNOB_PORTS };

static const char *const mapping_names[] = { "eim", "adm", "apdm", NULL };
static const char *const allocation_names[] = { "preserve", "sequential", "random", NULL };
static const char *const filtering_names[] = { "eif", "adf", "apdf", NULL };
/* Indexed by enum nat_answer; NULL where a knob does not take that value. */
static const char *const unsolicited_syn_names[] = { "stack", NULL, "drop", "rst", "icmp" };
static const char *const syn_in_syn_sent_names[] = { NULL, "accept", "drop", "rst", NULL };
static const char *const udp_unsolicited_names[] = { NULL, NULL, "drop", NULL, "icmp" };

struct knob {
	const char *key;
	enum knob_kind kind;
	size_t off;
	const char *const *names;
	int n_names;
};

#define ENUM_KNOB(k, field, arr, n) { k, KNOB_ENUM, offsetof(struct nat_profile, field), arr, n }
#define SEC_KNOB(k) { #k, KNOB_SECONDS, offsetof(struct nat_profile, k), NULL, 0 }

static const struct knob knobs[] = {
	ENUM_KNOB("mapping", mapping, mapping_names, 3),
	ENUM_KNOB("allocation", allocation, allocation_names, 3),
	{ "port_range", KNOB_RANGE, 0, NULL, 0 },
	{ "delta", KNOB_DELTA, offsetof(struct nat_profile, delta), NULL, 0 },
	ENUM_KNOB("filtering", filtering, filtering_names, 3),
	ENUM_KNOB("unsolicited_syn", unsolicited_syn, unsolicited_syn_names, 5),
	ENUM_KNOB("syn_in_syn_sent", syn_in_syn_sent, syn_in_syn_sent_names, 5),
	ENUM_KNOB("udp_unsolicited", udp_unsolicited, udp_unsolicited_names, 5),
	{ "hairpin", KNOB_BOOL, offsetof(struct nat_profile, hairpin), NULL, 0 },
	{ "translation", KNOB_BOOL, offsetof(struct nat_profile, translation), NULL, 0 },
	{ "outbound_tcp", KNOB_PORTS, offsetof(struct nat_profile, outbound_tcp), NULL, 0 },
	{ "outbound_udp", KNOB_PORTS, offsetof(struct nat_profile, outbound_udp), NULL, 0 },
	SEC_KNOB(tcp_syn_sent_timeout),
	SEC_KNOB(tcp_established_timeout),
	SEC_KNOB(udp_timeout),
	SEC_KNOB(udp_stream_timeout),
};

static const struct knob *knob_find(const char *key)
{
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (!strcmp(knobs[i].key, key))
			return &knobs[i];
	return NULL;
}

void nat_profile_defaults(struct nat_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->mapping = MAPPING_EIM;
	p->allocation = ALLOC_PRESERVE;
	p->port_lo = 20000;
	p->port_hi = 29999;
	p->delta = 1;
	p->filtering = FILTER_APDF;
	p->unsolicited_syn = ANSWER_DROP;
	p->syn_in_syn_sent = ANSWER_ACCEPT;
	p->udp_unsolicited = ANSWER_DROP;
	p->translation = true;
	p->outbound_tcp.any = p->outbound_udp.any = true;
}

bool nat_ports_has(const struct nat_ports *s, unsigned port)
{
	if (s->any)
		return true;
	for (int i = 0; i < s->n; i++)
		if (port >= s->lo[i] && port <= s->hi[i])
			return true;
	return false;
}

/* "any", "none", or a comma-separated list of ports and LOW-HIGH ranges. */
static int parse_ports(struct nat_ports *out, const char *key, const char *value, struct diag *d)
{
	struct nat_ports s = { 0 };
	const char *c = value;

	if (!strcmp(value, "any") || !strcmp(value, "none")) {
		s.any = !strcmp(value, "any");
		*out = s;
		return 0;
	}
	while (*c) {
		unsigned long lo, hi;
		char *end;

		if (*c < '0' || *c > '9')
			goto bad;
		lo = hi = strtoul(c, &end, 10);
		if (*end == '-') {
			c = end + 1;
			if (*c < '0' || *c > '9')
				goto bad;
			hi = strtoul(c, &end, 10);
		}
		if (lo < 1 || hi > 65535 || hi < lo || s.n == NAT_PORTS_MAX || (*end && *end != ','))
			goto bad;
		s.lo[s.n] = (unsigned short)lo;
		s.hi[s.n++] = (unsigned short)hi;
		c = *end ? end + 1 : end;
		if (*end && !*c)
			goto bad;
	}
	if (!s.n)
		goto bad;
	*out = s;
	return 0;
bad:
	return diag_set(d, "%s: \"%s\" is not any, none, or up to %d ports and LOW-HIGH ranges (1-65535) "
			"separated by commas", key, value, NAT_PORTS_MAX);
}

static const char *ports_text(const struct nat_ports *s, char *buf, size_t len)
{
	size_t used = 0;

	if (s->any || !s->n)
		return s->any ? "any" : "none";
	buf[0] = '\0';
	for (int i = 0; i < s->n; i++) {
		if (s->lo[i] == s->hi[i])
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%u", i ? "," : "", s->lo[i]);
		else
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%u-%u", i ? "," : "",
						 s->lo[i], s->hi[i]);
	}
	return buf;
}

bool nat_profile_is_knob(const char *key)
{
	return knob_find(key) != NULL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -1;
	return 0;
}

static void expected_names(const struct knob *k, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < k->n_names; i++) {
		if (!k->names[i])
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? ", " : "", k->names[i]);
	}
}

int nat_profile_set(struct nat_profile *p, const char *key, const char *value, struct diag *d)
{
	const struct knob *k = knob_find(key);
	char *field;
	unsigned long n, lo, hi;
	char buf[128];

	if (!k)
		return diag_set(d, "unknown knob \"%s\"", key);
	field = (char *)p + k->off;
	switch (k->kind) {
	case KNOB_ENUM:
		for (int i = 0; i < k->n_names; i++) {
			if (k->names[i] && !strcmp(k->names[i], value)) {
				*(int *)field = i;
				return 0;
			}
		}
		expected_names(k, buf, sizeof(buf));
		return diag_set(d, "%s: unknown value \"%s\" (expected %s)", key, value, buf);
	case KNOB_BOOL:
		if (!strcmp(value, "on") || !strcmp(value, "off")) {
			*(bool *)field = !strcmp(value, "on");
			return 0;
		}
		return diag_set(d, "%s: unknown value \"%s\" (expected on, off)", key, value);
	case KNOB_SECONDS:
		if (parse_uint(value, 2147483647UL, &n) || n == 0)
			return diag_set(d, "%s: \"%s\" is not a number of seconds (1 or more)", key,
					value);
		*(unsigned *)field = (unsigned)n;
		return 0;
	case KNOB_DELTA:
		if (parse_uint(value, 1000, &n) || n == 0)
			return diag_set(d, "delta: \"%s\" is not a port step from 1 to 1000", value);
		p->delta = (unsigned)n;
		return 0;
	case KNOB_RANGE: {
		const char *dash = strchr(value, '-');
		char lo_s[16];

		if (!dash || (size_t)(dash - value) >= sizeof(lo_s))
			goto bad_range;
		memcpy(lo_s, value, (size_t)(dash - value));
		lo_s[dash - value] = '\0';
		if (parse_uint(lo_s, 65535, &lo) || parse_uint(dash + 1, 65535, &hi) || lo < 1024 ||
		    hi < lo)
			goto bad_range;
		p->port_lo = (unsigned)lo;
		p->port_hi = (unsigned)hi;
		return 0;
	bad_range:
		return diag_set(d, "port_range: \"%s\" is not LOW-HIGH with 1024 <= LOW <= HIGH <= 65535",
				value);
	}
	case KNOB_PORTS:
		return parse_ports((struct nat_ports *)field, key, value, d);
	}
	return diag_set(d, "%s: unhandled knob", key);
}

const char *nat_profile_value(const struct nat_profile *p, const char *key, char *buf, size_t len)
{
	const struct knob *k = knob_find(key);
	const char *field;

	if (!k)
		return NULL;
	field = (const char *)p + k->off;
	switch (k->kind) {
	case KNOB_ENUM:
		return k->names[*(const int *)field];
	case KNOB_BOOL:
		return *(const bool *)field ? "on" : "off";
	case KNOB_SECONDS:
		if (!*(const unsigned *)field)
			return "default";
		snprintf(buf, len, "%u", *(const unsigned *)field);
		return buf;
	case KNOB_DELTA:
		snprintf(buf, len, "%u", p->delta);
		return buf;
	case KNOB_RANGE:
		snprintf(buf, len, "%u-%u", p->port_lo, p->port_hi);
		return buf;
	case KNOB_PORTS:
		return ports_text((const struct nat_ports *)field, buf, len);
	}
	return NULL;
}

static int profile_section(void *user, const char *section, int line, struct diag *d)
{
	(void)user;
	(void)line;
	if (strcmp(section, "nat"))
		return diag_set(d, "unknown section [%s] (a profile has only [nat])", section);
	return 0;
}

static int profile_key(void *user, const char *section, const char *key, const char *value,
		       int line, struct diag *d)
{
	(void)line;
	if (strcmp(section, "nat"))
		/* most likely not a profile at all: its words are not echoed */
		return diag_set(d, "a key outside the [nat] section (is this a natlab profile?)");
	return nat_profile_set(user, key, value, d);
}

static void profile_name_from_path(struct nat_profile *p, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strcspn(base, ".");
	if (n >= sizeof(p->name))
		n = sizeof(p->name) - 1;
	memcpy(p->name, base, n);
	p->name[n] = '\0';
}

int nat_profile_parse_file(struct nat_profile *p, const char *path, struct diag *d)
{
	const struct ini_cb cb = { .section = profile_section, .key = profile_key, .user = p };

	nat_profile_defaults(p);
	profile_name_from_path(p, path);
	return ini_file_parse(path, &cb, d);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int natsim_names(const char *dir, const char *suffix, char names[][64], int max)
{
	struct dirent **e;
	size_t sl = strlen(suffix);
	int n = scandir(dir, &e, NULL, by_name), got = 0;

	for (int i = 0; i < n; i++) {
		size_t len = strlen(e[i]->d_name);

		if (len > sl && !strcmp(e[i]->d_name + len - sl, suffix) && got < max && len - sl < 64)
			snprintf(names[got++], 64, "%.*s", (int)(len - sl), e[i]->d_name);
		free(e[i]);
	}
	if (n >= 0)
		free(e);
	return got;
}

int nat_profile_presets(char names[][64], int max)
{
	char dir[PATH_MAX];

	return natsim_names(nat_profile_dir(dir, sizeof(dir)), ".profile", names, max);
}

const char *nat_profile_dir(char *buf, size_t len)
{
	const char *env = getenv("NATLAB_PROFILE_DIR");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	struct stat st;

	if (env && *env)
		return env;
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(buf, len, "%s/../share/natlab/profiles", exe) < len &&
			    !stat(buf, &st) && S_ISDIR(st.st_mode))
				return buf;
		}
	}
	return NATLAB_PROFILE_DIR;
}

bool nat_profile_file(const char *spec, const char *base_dir, char *buf, size_t len)
{
	if (!strchr(spec, '/') && !strstr(spec, ".profile"))
		return false;
	if (spec[0] == '/' || !base_dir)
		snprintf(buf, len, "%s", spec);
	else
		snprintf(buf, len, "%s/%s", base_dir, spec);
	return true;
}

int nat_profile_load(struct nat_profile *p, const char *spec, const char *base_dir, struct diag *d)
{
	char path[PATH_MAX];
	struct stat st;

	if (!*spec)
		return diag_set(d, "empty profile name");
	if (!nat_profile_file(spec, base_dir, path, sizeof(path))) {
		for (const char *c = spec; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '_'))
				return diag_set(d, "bad preset name \"%s\"", spec);
		char dir[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s.profile", nat_profile_dir(dir, sizeof(dir)), spec);
		if (access(path, R_OK))
			return diag_set(d, "no preset \"%s\" (looked in %s)", spec, nat_profile_dir(dir, sizeof(dir)));
	}
	if (stat(path, &st) || access(path, R_OK))
		return diag_set(d, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return diag_set(d, "%s: not a regular file", path);
	return nat_profile_parse_file(p, path, d) ? NAT_PROFILE_EFILE : 0;
}
