/* The cells of a run: attempts grouped by scenario, strategy, profile pair,
 * round trip and skew, from RUN_DIR/attempts.jsonl. What report and check share. */
#ifndef NATLAB_CELLS_H
#define NATLAB_CELLS_H

#include <stdbool.h>
#include "../common/strategy.h"

struct samples {
	double *v;
	int n, cap;
};

struct cell {
	char scenario[128]; /* the scenario file's name without folder and .ini */
	char strategy[STRATEGY_NAME_MAX], a[64], b[64];
	double rtt_ms, skew_ms;
	int n, connected, relayed, disagree; /* attempts on schedule only */
	int off_schedule; /* attempts whose SYNs left at another skew than meant */
	int first_try;    /* connections on the first try: no SYN sent again, no second dial
			   * (TCP strategies; -1 for the others) */
	char predicted[16]; /* the model's, at the scheduled skew */
	struct samples ttc; /* time to connect of the successes */
	char pick[16];      /* auto: the strategy it picked ("mixed" where its attempts differed) */
	struct samples classify_s; /* auto: how long each side's classification took */
	struct samples rtx; /* SYN retransmissions, both sides, every attempt */
	/* edge probes (edges = bisect): the search's resolution and range, the
	 * model's window (NAN: none) */
	struct {
		double resolution_ms, range_ms[2], predicted_ms[2];
	} search;
};

struct cells {
	struct cell *c;
	int n, cap;
	bool edges; /* the edge probes' cells, not the grid's */
};

/* Reads every record of the grid (every one but the edge probes); on a bad one
 * says which line (exit code 2) and returns it. */
int cells_load(struct cells *t, const char *jsonl);
/* The edge probes' records (edges = bisect) as cells, a series per searched window. */
int cells_load_edges(struct cells *t, const char *jsonl);
void cells_free(struct cells *t);
/* connected, relayed, failed (no attempt got through) or mixed */
const char *cell_verdict(const struct cell *c);
double samples_median(struct samples *s);
/* Nearest rank: the smallest value with at least a share q of them at or below it. */
double samples_quantile(struct samples *s, double q);
int samples_add(struct samples *s, double v);
/* Does the model predict that the attempts get through (connected or relayed)? */
bool cell_predicted_success(const struct cell *c);
/* Are (scenario, strategy, a, b, rtt) the same? */
bool cell_same_series(const struct cell *x, const struct cell *y);
/* One past the last cell of the series cell k starts (cells are sorted by series, then skew). */
int cells_series_end(const struct cells *t, int k);

#endif
