#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dl.h"
#include "ruleset.h"

/* Counter maps list their ports explicitly: a numgen result used directly as the
 * snat port comes out byte-swapped in nft 1.0.6 (offset 20000 gave 8270, 8526, ...). */
#define PORT_MAP_MAX 512

static const char *const protos[] = { "tcp", "udp" };

static unsigned map_timeout(const struct nat_profile *p, const char *proto)
{
	unsigned a, b;

	/* a TCP mapping idles out with its established connection (an unanswered SYN
	 * keeps only its own conntrack entry); a UDP one with the longer UDP timeout */
	if (!strcmp(proto, "tcp"))
		return p->tcp_established_timeout ? p->tcp_established_timeout : 432000;
	a = p->udp_timeout ? p->udp_timeout : 30;
	b = p->udp_stream_timeout ? p->udp_stream_timeout : 120;
	return a > b ? a : b;
}

static void port_map(FILE *f, const struct nat_profile *p)
{
	unsigned n = (p->port_hi - p->port_lo) / p->delta + 1;

	if (n > PORT_MAP_MAX)
		n = PORT_MAP_MAX;
	fprintf(f, "mod %u", n);
	fputs(" map {", f);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s%u : %u", i ? ", " : " ", i, p->port_lo + i * p->delta);
	fputs(" }", f);
}

/* How a connection without a kept mapping gets its external port. */
static void fresh_mapping(FILE *f, const struct nat_profile *p, const struct nat_iface *ifc,
			  const char *pr, bool keep_map)
{
	const char *w = ifc->wan_if;
	/* adm: a new remote address is a new mapping, so its port is not the inside
	 * one even where allocation says preserve (conntrack would keep it) */
	int allocation = p->mapping == MAPPING_ADM && p->allocation == ALLOC_PRESERVE ? ALLOC_RANDOM : p->allocation;

	switch (allocation) {
	case ALLOC_PRESERVE:
		if (keep_map) /* the internal port is another endpoint's external port already */
			fprintf(f, "\t\toifname \"%s\" %s sport @rev_%s snat ip to %s:%u-%u random\n", w,
				pr, pr, ifc->wan_addr, p->port_lo, p->port_hi);
		fprintf(f, "\t\toifname \"%s\" meta l4proto %s snat ip to %s\n", w, pr, ifc->wan_addr);
		break;
	case ALLOC_SEQUENTIAL:
		fprintf(f, "\t\toifname \"%s\" meta l4proto %s snat ip to %s : numgen inc ", w, pr,
			ifc->wan_addr);
		port_map(f, p);
		fputc('\n', f);
		break;
	case ALLOC_RANDOM:
		fprintf(f, "\t\toifname \"%s\" meta l4proto %s snat ip to %s:%u-%u random\n", w, pr,
			ifc->wan_addr, p->port_lo, p->port_hi);
		break;
	}
}

/* An nft set expression of ports: "{ 80, 443, 1000-2000 }". */
static void ports_expr(FILE *f, const struct nat_ports *s)
{
	fputs("{ ", f);
	for (int i = 0; i < s->n; i++) {
		fprintf(f, "%s%u", i ? ", " : "", s->lo[i]);
		if (s->hi[i] != s->lo[i])
			fprintf(f, "-%u", s->hi[i]);
	}
	fputs(" }", f);
}

static const char *answer_stmt(int answer, bool tcp)
{
	switch (answer) {
	case ANSWER_DROP:
		return "drop";
	case ANSWER_RST:
		return "reject with tcp reset";
	case ANSWER_ICMP:
		/* TCP: admin-prohibited (EHOSTUNREACH) so it is not mistaken for a RST */
		return tcp ? "reject with icmp type admin-prohibited"
			   : "reject with icmp type port-unreachable";
	}
	return NULL;
}

/* What the inside may open: new connections to other ports are dropped before
 * they are translated, so they open no mapping either. */
static void outbound_policy(FILE *f, const struct nat_profile *p, const char *w)
{
	const struct nat_ports *ports[2] = { &p->outbound_tcp, &p->outbound_udp };

	for (int i = 0; i < 2; i++) {
		if (ports[i]->any)
			continue;
		fprintf(f, "\t\tiifname != \"%s\" ct state new meta l4proto %s", w, protos[i]);
		if (ports[i]->n) {
			fprintf(f, " %s dport != ", protos[i]);
			ports_expr(f, ports[i]);
		}
		fputs(" drop\n", f);
	}
}

/* Without translation the inside's addresses are routed, and the firewall's
 * filtering knob says which new inbound connections pass: those to an inside
 * endpoint that has sent out (eif), to the address it sent to (adf), none
 * beyond conntrack's own (apdf). The rest is answered as unsolicited_syn and
 * udp_unsolicited say; `stack` lets a SYN reach the host, whose stack answers. */
static void inbound_filter(FILE *f, const struct nat_profile *p, const char *w, bool open_set)
{
	const bool adf = p->filtering == FILTER_ADF;

	for (int i = 0; open_set && i < 2; i++) {
		fprintf(f, "\t\tiifname != \"%s\" ct state new meta l4proto %s update @open_%s { ip saddr . %s sport%s }\n",
			w, protos[i], protos[i], protos[i], adf ? " . ip daddr" : "");
		fprintf(f, "\t\tiifname \"%s\" ct state new ip daddr . %s dport%s @open_%s accept\n", w, protos[i],
			adf ? " . ip saddr" : "", protos[i]);
	}
	if (answer_stmt(p->unsolicited_syn, true))
		fprintf(f, "\t\tiifname \"%s\" ct state new tcp flags & (syn | ack) == syn %s\n", w,
			answer_stmt(p->unsolicited_syn, true));
	else
		fprintf(f, "\t\tiifname \"%s\" ct state new tcp flags & (syn | ack) == syn accept\n", w);
	fprintf(f, "\t\tiifname \"%s\" ct state new meta l4proto udp %s\n", w,
		answer_stmt(p->udp_unsolicited, false));
	fprintf(f, "\t\tiifname \"%s\" ct state new drop\n", w);
}

char *nat_ruleset_render(const struct nat_profile *p, const struct nat_iface *ifc)
{
	const bool nat = p->translation;
	const bool eim = nat && p->mapping == MAPPING_EIM;
	const bool adm = nat && p->mapping == MAPPING_ADM;
	const bool adf = p->filtering == FILTER_ADF;
	const bool rev = nat && (eim || p->filtering != FILTER_APDF || p->hairpin);
	/* without translation the filter keeps what the inside opened: by inside
	 * endpoint (eif), and remote address (adf) */
	const bool open_set = !nat && p->filtering != FILTER_APDF;
	const char *w = ifc->wan_if;
	struct nat_sysctl sc[4];
	char knob[160];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int n;

	if (!f)
		return NULL;
	fprintf(f, "# natlab NAT profile \"%s\":", p->name);
	{
		static const char *const keys[] = { "mapping", "allocation", "port_range", "delta",
						    "filtering", "unsolicited_syn", "syn_in_syn_sent",
						    "udp_unsolicited", "hairpin", "translation", "outbound_tcp",
						    "outbound_udp" };
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			fprintf(f, "%s %s=%s", i % 4 == 3 ? "\n#  " : "", keys[i],
				nat_profile_value(p, keys[i], knob, sizeof(knob)));
	}
	fprintf(f, "\n# WAN %s (%s), inside %s\n", w, ifc->wan_addr, ifc->lan_net);
	n = nat_sysctls(p, sc);
	if (n)
		fputs("# conntrack timeouts, set as sysctls in the NAT's namespace:\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "#   %s = %u\n", sc[i].path, sc[i].value);
	fputs("table ip natlab {\n", f);
	for (int i = 0; i < 2; i++) {
		const char *pr = protos[i];
		unsigned t = map_timeout(p, pr);

		if (eim)
			fprintf(f, "\tmap eim_%s { # internal addr.port -> external addr.port\n"
				   "\t\ttype ipv4_addr . inet_service : ipv4_addr . inet_service\n"
				   "\t\tflags dynamic,timeout; timeout %us\n\t}\n", pr, t);
		if (adm)
			fprintf(f, "\tmap adm_%s { # internal addr.port . remote addr -> external addr.port\n"
				   "\t\ttype ipv4_addr . inet_service . ipv4_addr : ipv4_addr . inet_service\n"
				   "\t\tflags dynamic,timeout; timeout %us\n\t}\n", pr, t);
		if (rev)
			fprintf(f, "\tmap rev_%s { # external port -> internal addr.port\n"
				   "\t\ttype inet_service : ipv4_addr . inet_service\n"
				   "\t\tflags dynamic,timeout; timeout %us\n\t}\n", pr, t);
		if (adf && nat)
			fprintf(f, "\tset adf_%s { # external port . remote addr it has sent to\n"
				   "\t\ttype inet_service . ipv4_addr\n"
				   "\t\tflags dynamic,timeout; timeout %us\n\t}\n", pr, t);
		if (open_set)
			fprintf(f, "\tset open_%s { # inside addr . port%s it has sent from\n"
				   "\t\ttype ipv4_addr . inet_service%s\n"
				   "\t\tflags dynamic,timeout; timeout %us\n\t}\n", pr, adf ? " . remote addr" : "",
				adf ? " . ipv4_addr" : "", t);
	}
	if (!nat)
		goto filter;

	fputs("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n", f);
	for (int i = 0; i < 2 && p->filtering != FILTER_APDF; i++)
		fprintf(f, "\t\tiifname \"%s\" ct state new %s%s%s%sdnat ip to %s dport map @rev_%s\n", w,
			adf ? protos[i] : "", adf ? " dport . ip saddr @adf_" : "",
			adf ? protos[i] : "", adf ? " " : "", protos[i], protos[i]);
	for (int i = 0; i < 2 && p->hairpin; i++)
		fprintf(f, "\t\tiifname != \"%s\" ip daddr %s ct state new dnat ip to %s dport map @rev_%s\n",
			w, ifc->wan_addr, protos[i], protos[i]);
	fputs("\t}\n", f);

	fputs("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n", f);
	if (p->hairpin)
		fprintf(f, "\t\toifname != \"%s\" ct status dnat ip saddr %s ip daddr %s snat ip to %s\n",
			w, ifc->lan_net, ifc->lan_net, ifc->wan_addr);
	for (int i = 0; i < 2; i++) {
		if (eim)
			fprintf(f, "\t\toifname \"%s\" ip saddr . %s sport @eim_%s snat ip to ip saddr . %s sport map @eim_%s\n",
				w, protos[i], protos[i], protos[i], protos[i]);
		if (adm)
			fprintf(f, "\t\toifname \"%s\" ip saddr . %s sport . ip daddr @adm_%s snat ip to ip saddr . %s sport . "
				   "ip daddr map @adm_%s\n", w, protos[i], protos[i], protos[i], protos[i]);
		fresh_mapping(f, p, ifc, protos[i], eim);
	}
	fprintf(f, "\t\toifname \"%s\" snat ip to %s\n\t}\n", w, ifc->wan_addr);

	if (rev || adf || eim || adm) { /* (all false without translation) */
		/* After srcnat the packet carries its external port: remember the mapping. */
		fputs("\tchain record {\n\t\ttype filter hook postrouting priority srcnat + 100; policy accept;\n", f);
		for (int i = 0; i < 2; i++) {
			const char *pr = protos[i];

			fprintf(f, "\t\toifname \"%s\" ct direction original ct status snat meta l4proto %s", w, pr);
			if (rev)
				fprintf(f, " update @rev_%s { %s sport : ct original ip saddr . ct original proto-src }",
					pr, pr);
			if (eim)
				fprintf(f, " update @eim_%s { ct original ip saddr . ct original proto-src : ip saddr . %s sport }",
					pr, pr);
			if (adm)
				fprintf(f, " update @adm_%s { ct original ip saddr . ct original proto-src . ip daddr : "
					   "ip saddr . %s sport }", pr, pr);
			if (adf)
				fprintf(f, " update @adf_%s { %s sport . ip daddr }", pr, pr);
			fputc('\n', f);
		}
		fputs("\t}\n", f);
	}

filter:
	fputs("\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n", f);
	if (answer_stmt(p->unsolicited_syn, true))
		fprintf(f, "\t\tiifname \"%s\" ct state new tcp flags & (syn | ack) == syn %s\n", w,
			answer_stmt(p->unsolicited_syn, true));
	fprintf(f, "\t\tiifname \"%s\" ct state new meta l4proto udp %s\n", w,
		answer_stmt(p->udp_unsolicited, false));
	fputs("\t}\n", f);

	if (answer_stmt(p->syn_in_syn_sent, true) || !nat || !p->outbound_tcp.any || !p->outbound_udp.any) {
		fputs("\tchain forward_filter {\n\t\ttype filter hook forward priority filter; policy accept;\n", f);
		/* A SYN in the reply direction: the simultaneous-open case (conntrack SYN_SENT2). */
		if (answer_stmt(p->syn_in_syn_sent, true))
			fprintf(f, "\t\tiifname \"%s\" ct direction reply tcp flags & (syn | ack) == syn %s\n", w,
				answer_stmt(p->syn_in_syn_sent, true));
		outbound_policy(f, p, w);
		if (!nat)
			inbound_filter(f, p, w, open_set);
		fputs("\t}\n", f);
	}
	fputs("}\n", f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int nat_sysctls(const struct nat_profile *p, struct nat_sysctl out[4])
{
	const struct nat_sysctl all[4] = {
		{ "net/netfilter/nf_conntrack_tcp_timeout_syn_sent", p->tcp_syn_sent_timeout },
		{ "net/netfilter/nf_conntrack_tcp_timeout_established", p->tcp_established_timeout },
		{ "net/netfilter/nf_conntrack_udp_timeout", p->udp_timeout },
		{ "net/netfilter/nf_conntrack_udp_timeout_stream", p->udp_stream_timeout },
	};
	int n = 0;

	for (int i = 0; i < 4; i++)
		if (all[i].value)
			out[n++] = all[i];
	return n;
}

#define NFT_FN(f) DL_FN(api, f)

int nft_api_load(struct nft_api *api, struct diag *d)
{
	const struct dl_fn fns[] = { NFT_FUNCS(NFT_FN) };

	memset(api, 0, sizeof(*api));
	return dl_load(&api->lib, "libnftables.so.1", "libnftables1", "to build a NAT", fns,
		       sizeof(fns) / sizeof(fns[0]), d);
}

void nft_api_unload(struct nft_api *api)
{
	dl_unload(&api->lib);
	memset(api, 0, sizeof(*api));
}

int nat_ruleset_load(const struct nft_api *nft, const char *text, struct diag *d)
{
	struct nft_ctx *ctx = nft->nft_ctx_new(NFT_CTX_DEFAULT);
	int rc;

	if (!ctx)
		return diag_set(d, "libnftables: cannot create a context");
	nft->nft_ctx_buffer_error(ctx);
	nft->nft_ctx_buffer_output(ctx);
	rc = nft->nft_run_cmd_from_buffer(ctx, text);
	if (rc) {
		const char *err = nft->nft_ctx_get_error_buffer(ctx);
		size_t n = strcspn(err, "\n");

		diag_set(d, "nftables rejected the ruleset: %.*s", (int)(n < 300 ? n : 300), err);
	}
	nft->nft_ctx_free(ctx);
	return rc ? -1 : 0;
}
