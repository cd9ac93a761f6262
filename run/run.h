/* natlab run's machinery (run/): what the command calls. */
#ifndef NATLAB_RUN_RUN_H
#define NATLAB_RUN_RUN_H

/* --shard INDEX/COUNT: this run does every COUNT-th lab of the plan from the
 * INDEX-th (1-based) on; count 0: no shard, all of it. plan_jobs and plan: the
 * whole plan's labs and digest, filled in by the run (its meta.json says them,
 * for natlab merge: shards of different files, presets or builds differ there). */
struct run_shard {
	int index, count;
	int plan_jobs;
	char plan[17]; /* the whole plan's digest: the files' text and every lab in order (hex) */
};

/* Runs every lab of the files (or of a shard), side by side, into `out` (NULL:
 * results/RUN-ID/); at most `jobs` labs busy at once (0: the cores, halved on a
 * machine whose timer wake-ups are late). Prints the out dir; the exit code. */
int run_files(const char *const *names, int n_files, const char *out, long jobs, struct run_shard *shard);

/* natlab merge: the shards' records, wire figures, captures and classifications
 * into one run directory `out`, its meta.json recomputed; the exit code. */
int merge_runs(const char *const *dirs, int n_dirs, const char *out);

#endif
