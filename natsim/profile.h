/* NAT profiles: the knobs of docs/profiles.md, read from small INI files. */
#ifndef NATLAB_PROFILE_H
#define NATLAB_PROFILE_H

#include <limits.h>
#include <stdbool.h>

#include "../common/diag.h"

enum nat_mapping_kind { MAPPING_EIM, MAPPING_ADM, MAPPING_APDM };
enum nat_allocation { ALLOC_PRESERVE, ALLOC_SEQUENTIAL, ALLOC_RANDOM };
enum nat_filtering_kind { FILTER_EIF, FILTER_ADF, FILTER_APDF };
/* What a NAT does with a packet it did not expect; not every knob takes every value. */
enum nat_answer { ANSWER_STACK, ANSWER_ACCEPT, ANSWER_DROP, ANSWER_RST, ANSWER_ICMP };

/* A set of destination ports: every port, none, or up to NAT_PORTS_MAX ranges. */
#define NAT_PORTS_MAX 16
struct nat_ports {
	bool any;
	int n;
	unsigned short lo[NAT_PORTS_MAX], hi[NAT_PORTS_MAX];
};

bool nat_ports_has(const struct nat_ports *s, unsigned port);

struct nat_profile {
	char name[64];
	int mapping;
	int allocation;
	unsigned port_lo, port_hi, delta;
	int filtering;
	int unsolicited_syn;
	int syn_in_syn_sent;
	int udp_unsolicited;
	bool hairpin;
	/* off: a firewall that forwards the inside's own addresses (routed), and filters */
	bool translation;
	/* what the inside may open outward, by destination port */
	struct nat_ports outbound_tcp, outbound_udp;
	/* conntrack timeouts in seconds; 0 keeps the kernel's default */
	unsigned tcp_syn_sent_timeout, tcp_established_timeout, udp_timeout, udp_stream_timeout;
};

void nat_profile_defaults(struct nat_profile *p);
bool nat_profile_is_knob(const char *key);
/* Sets one knob; d->msg has no file prefix (the caller knows the line). */
int nat_profile_set(struct nat_profile *p, const char *key, const char *value, struct diag *d);
/* spec: a preset name (looked up in the profile directory) or a path, relative to base_dir.
 * Returns 0; -1 when spec names no readable profile; NAT_PROFILE_EFILE when the file
 * itself is wrong (then d->msg starts with "FILE:LINE:"). */
#define NAT_PROFILE_EFILE (-2)
int nat_profile_load(struct nat_profile *p, const char *spec, const char *base_dir, struct diag *d);
/* Where spec's file is when spec is a path, not a preset's name (a "/" or
 * ".profile" in it): true, and the path (absolute, or under base_dir) in buf. */
bool nat_profile_file(const char *spec, const char *base_dir, char *buf, size_t len);
int nat_profile_parse_file(struct nat_profile *p, const char *path, struct diag *d);
/* Where the presets are: $NATLAB_PROFILE_DIR, an installed natlab's
 * PREFIX/share/natlab/profiles (beside its bin/), or the checkout's. buf (PATH_MAX)
 * may hold the answer. */
const char *nat_profile_dir(char *buf, size_t len);
/* The presets' names there, in name order (at most max); how many. */
int nat_profile_presets(char names[][64], int max);
/* The names of dir's files that end in suffix, the suffix cut, in name order (at
 * most max, each under 64 characters); how many: the data natlab ships beside
 * the presets (links/NAME.link, mixes/NAME.mix) is listed so too. */
int natsim_names(const char *dir, const char *suffix, char names[][64], int max);
/* Name of a knob's value, for show and records. */
const char *nat_profile_value(const struct nat_profile *p, const char *key, char *buf, size_t len);

#endif
