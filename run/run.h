/* natlab run's machinery (run/): what the command calls. */
#ifndef NATLAB_RUN_RUN_H
#define NATLAB_RUN_RUN_H

/* Runs every lab of the files, side by side, into `out` (NULL: results/RUN-ID/);
 * at most `jobs` labs busy at once (0: the cores, halved on a machine whose
 * timer wake-ups are late). Prints the out dir; the exit code. */
int run_files(const char *const *names, int n_files, const char *out, long jobs);

#endif
