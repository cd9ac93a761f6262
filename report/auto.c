/* auto beside the strategies it picks from: for each of its cells, what it
 * picked and its time to connect, and the best single strategy's of the same
 * cell (the fastest to connect directly, else to relay). auto should connect
 * directly wherever any direct strategy did, and relay at once elsewhere: in
 * under 3 round trips from GO (its classification is cached, and timed apart). */
#include <stdio.h>
#include <string.h>

#include "report.h"

#define AUTO_RELAY_RTTS 3

static bool is_direct(const struct cell *c)
{
	return c->connected > 0 && c->relayed == 0;
}

/* The best of the other strategies of auto's cell: connected first, then by median time. */
static const struct cell *best_single(const struct cells *t, const struct cell *a)
{
	const struct cell *best = NULL;

	for (int k = 0; k < t->n; k++) {
		const struct cell *c = &t->c[k];
		struct samples s = c->ttc;

		if (c == a || !strcmp(c->strategy, "auto") || strcmp(c->scenario, a->scenario) || strcmp(c->a, a->a) ||
		    strcmp(c->b, a->b) || c->rtt_ms != a->rtt_ms || c->skew_ms != a->skew_ms || !s.n)
			continue;
		/* every attempt through, one way or the other */
		if (strcmp(cell_verdict(c), "connected") && strcmp(cell_verdict(c), "relayed"))
			continue;
		if (!best || is_direct(c) > is_direct(best) ||
		    (is_direct(c) == is_direct(best) && samples_median(&s) < samples_median((struct samples *)&best->ttc)))
			best = c;
	}
	return best;
}

/* a median to a tenth, "-" for none */
static const char *ms(struct samples *s, char *buf, size_t len)
{
	if (!s->n)
		return "-";
	snprintf(buf, len, "%.1f", samples_median(s));
	return buf;
}

void write_auto(const struct cells *t, FILE *rep, FILE *findings)
{
	bool any = false;

	for (int k = 0; k < t->n; k++) {
		const struct cell *a = &t->c[k], *b;
		struct samples s = a->ttc, cs = a->classify_s;
		char best[96] = "-", verdict[32], ttc[16], cls[16], bttc[16];
		const char *ok = "yes";

		if (strcmp(a->strategy, "auto"))
			continue;
		if (!any) {
			fprintf(rep, "\n## auto beside the best single strategy\n\nauto's pick and median time to "
				     "connect (from GO, the pick included; its classification, cached per lab, "
				     "apart), and the best other strategy of the same cell (from its own start) (connected before relayed, then the "
				     "fastest). auto should connect directly where any strategy did, and "
				     "else relay in under %d round trips.\n\n"
				     "| scenario | a | b | RTT ms | skew ms | auto | picked | ms | classify s | best single | ms | as it should |\n"
				     "|---|---|---|---|---|---|---|---|---|---|---|---|\n", AUTO_RELAY_RTTS);
			any = true;
		}
		b = best_single(t, a);
		if (b)
			snprintf(best, sizeof(best), "%s (%s)", b->strategy, cell_verdict(b));
		snprintf(verdict, sizeof(verdict), "%s", cell_verdict(a));
		if (b && is_direct(b) && !is_direct(a))
			ok = "NO: missed a direct connection";
		else if (!is_direct(a) && (!s.n || samples_quantile(&s, 1) > AUTO_RELAY_RTTS * a->rtt_ms))
			ok = "NO: slow or no relay";
		fprintf(rep, "| %s | %s | %s | %g | %g | %s | %s | %s | %s | %s | %s | %s |\n", a->scenario, a->a, a->b,
			a->rtt_ms, a->skew_ms, verdict, a->pick[0] ? a->pick : "-", ms(&s, ttc, sizeof(ttc)),
			ms(&cs, cls, sizeof(cls)), best, b ? ms((struct samples *)&b->ttc, bttc, sizeof(bttc)) : "-", ok);
		if (strcmp(ok, "yes"))
			fprintf(findings, "- `auto` %s × %s, RTT %g ms, skew %g ms: %s (picked %s; best single: %s)\n",
				a->a, a->b, a->rtt_ms, a->skew_ms, ok + 4, a->pick[0] ? a->pick : "-", best);
	}
}
