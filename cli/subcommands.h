#ifndef NATLAB_SUBCOMMANDS_H
#define NATLAB_SUBCOMMANDS_H

#include <stdbool.h>
#include <sys/types.h>
#include <stdio.h>

extern const char *prog;

int up_main(int argc, char *argv[]);
int down_main(int argc, char *argv[]);
int list_main(int argc, char *argv[]);
int show_main(int argc, char *argv[]);
int exec_main(int argc, char *argv[]);
int rules_main(int argc, char *argv[]);
int presets_main(int argc, char *argv[]);
int bundle_main(int argc, char *argv[]);
int plan_main(int argc, char *argv[]);
int run_main(int argc, char *argv[]);
int merge_main(int argc, char *argv[]);
int report_main(int argc, char *argv[]);
int check_main(int argc, char *argv[]);
int classify_main(int argc, char *argv[]);

/* Exit codes: 1 the work failed, 2 the input was wrong. */
#define EXIT_BAD_INPUT 2

/* true when argv[1] asks for help; prints usage to stdout then */
int want_help(int argc, char *argv[], const char *usage);
int usage_error(const char *usage);
/* arg, an option the command does not take (or one missing its value) or an
 * argument too many, said in one line; then the usage */
int arg_error(const char *usage, const char *arg);
struct scenario;
/* Loads a scenario for building a lab (root needed); NULL with *code set after
 * telling why. The caller frees it. */
struct scenario *scenario_for_lab(const char *file, int *code);
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct lab_phases;
/* `--timing`: one line per phase on stderr, "timing: up namespaces 3.21 ms", then the total */
void print_phases(const char *what, const struct lab_phases *p);

#endif
