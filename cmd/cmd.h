/*
 * Commands.  Each is `int cmd_<name>(int argc, char **argv)` with argv[0]
 * the command's name; it returns the exit status.  Only code in cmd/ prints
 * usage text or decides an exit status.
 *
 * Exit statuses (the man page's EXIT STATUS lists the same):
 *   0   success
 *   1   a run failed: a violated invariant, a stuck primitive, an I/O error
 *   2   usage error: bad command, option, value or primitive; nothing ran
 *   3   this machine cannot run it (a required capability is missing)
 *   130 interrupted by the user; every completed point was kept
 *
 * Adding a command:
 *   1. write cmd/<name>.c with cmd_<name>(); its options are a local
 *      `struct sl_opt opts[]` pointing into a local config struct (util/opt.h);
 *      `--help` must work without topology or perf access;
 *   2. add one row to the table in cmd/main.c and the prototype below;
 *   3. document it in man/synclab.1 (a test checks every command is there and
 *      answers --help).
 */
#ifndef SL_CMD_CMD_H
#define SL_CMD_CMD_H

#include <stdatomic.h>

#include "util/err.h"

enum sl_exit {
	SL_EXIT_OK = 0,
	SL_EXIT_FAIL = 1,
	SL_EXIT_USAGE = 2,
	SL_EXIT_UNSUPPORTED = 3,
	SL_EXIT_INTERRUPTED = 130,
};

int cmd_bench(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_topo(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Print "synclab CMD: MSG" on stderr and return SL_EXIT_USAGE. */
int sl_usage_error(const char *cmd, const char *msg);

/* Set by SIGINT/SIGTERM once sl_catch_interrupts() ran; the runner polls
 * it and abandons the current point. */
extern atomic_int sl_interrupt_flag;
void sl_catch_interrupts(void);

#endif
