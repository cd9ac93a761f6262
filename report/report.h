/* report/: what a run's records become. The two entries, one per command
 * (cli/report.c, cli/check.c), then what the room's own files share. */
#ifndef NATLAB_REPORT_H
#define NATLAB_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cells.h"

/* natlab report: the tables, windows and plots of RUN_DIR and its report.md,
 * with each strategy over the populations of the mix files given (NULL: the
 * shipped ones, natsim/mixes); 0, or the exit code after saying why. */
int report_write(const char *run, const char *const *mixes, int n_mixes);
/* natlab check: the run's verdicts against DIR/SCENARIO.csv, or (write) the
 * run's verdicts written there as the expected ones; 0, 1 when a cell differs.
 * junit (or NULL): the verdicts as JUnit XML there too. dir_given: DIR was named,
 * so a DIR that is not there is an error (else: every scenario by the model). */
int check_run(const char *run, const char *dir, bool dir_given, bool write, const char *junit);
/* Each cell of RUN against the same cell of OTHER (Fisher's exact test); exit 1
 * when one differs. */
int check_against(const char *run, const char *other);

/* ---- shared by the files of report/ ---- */

#define MAX_NAMES 64

/* report.c */
void name_add(char names[][64], int *n, const char *name);
int by_name(const void *x, const void *y);
double pct(const struct cell *c);
/* DIR/NAME for writing (never through a symlink); NULL with *rc set after saying why */
FILE *open_out(const char *dir, const char *name, int *rc);
/* tables.c: matrix-STRATEGY.csv and .md; a line in findings per disagreeing cell */
struct cell *cell_at(const struct cells *t, const char *scen, const char *st, double rtt,
		     const char *a, const char *b);
int grid_names(const struct cells *t, const char *scen, const char *st, double rtt,
	       char names[][64]);
int write_strategy(struct cells *t, const char *dir, const char *st, FILE *findings);
/* auto.c: auto's cells beside the best single strategy's; a line in findings
 * per cell where auto missed a direct connection or relayed late */
void write_auto(const struct cells *t, FILE *rep, FILE *findings);
/* population.c: population.csv and the report's population section, per mix
 * file (NULL: the shipped ones) */
int write_population(const struct cells *t, const char *dir, const char *const *mix_paths, int n_paths,
		     FILE *rep);
/* The mix files read and checked (before a report writes anything) */
int population_check(const char *const *mix_paths, int n_paths);
/* windows.c: windows.csv and the report's window table */
int write_windows(const struct cells *t, const struct cells *edges, const char *dir, FILE *rep,
		  const json_t *precision);

/* plots.c: data files in the plots folder and a row each in plots.tsv (tsv)
 * saying what report/plots.gp is to draw; a link in rep for each plot */
FILE *plots_open(const char *dir, int *rc);
void plot_heatmap(const struct cells *t, const char *dir, const char *st, FILE *tsv, FILE *rep);
void plot_windows(const struct cells *t, const char *dir, FILE *tsv, FILE *rep);
void plot_skew_rtt(const struct cells *t, const char *dir, FILE *tsv, FILE *rep);
void plot_distributions(const struct cells *t, const char *dir, FILE *tsv, FILE *rep);
/* gnuplot on DIR/plots.gp: PLOTS_DRAWN, PLOTS_FAILED (its messages on stderr),
 * PLOTS_NO_GNUPLOT, or PLOTS_NOT_STARTED (no process: errno) */
enum { PLOTS_DRAWN, PLOTS_FAILED, PLOTS_NO_GNUPLOT, PLOTS_NOT_STARTED };
int plots_draw(const char *dir);

#endif
