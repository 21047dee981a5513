/*
 * synclab: the command table and dispatch.  Help, the command list and
 * "did you mean" come from the one table below.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/opt.h"
#include "util/version.h"


static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

struct sl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct sl_cmd commands[] = {
	{ "bench", cmd_bench, "run primitives under contention: table, CSV, chart" },
	{ "check", cmd_check, "torture primitives for their invariants (for CI)" },
	{ "compare", cmd_compare, "compare two results CSVs point by point: exit 1 on a regression" },
	{ "env", cmd_env, "print the environment fingerprint and warn about noisy settings" },
	{ "list", cmd_list, "list primitives, CSV columns or counters" },
	{ "plot", cmd_plot, "draw charts (gnuplot) from a results CSV" },
	{ "sweep", cmd_sweep, "run a grid of primitives, dials and thread counts into a results directory" },
	{ "demo", cmd_demo, "run a lab experiment that shows a phenomenon of concurrency" },
	{ "topo", cmd_topo, "show the topology and where threads would be placed" },
	{ "help", cmd_help, "show help for synclab or one command" },
	{ "version", cmd_version, "print the version" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

atomic_int sl_interrupt_flag;

static void on_interrupt(int sig)
{
	(void)sig;
	atomic_store_explicit(&sl_interrupt_flag, 1, memory_order_relaxed);
}

void sl_catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int sl_usage_error(const char *cmd, const char *msg)
{
	if (cmd)
		fprintf(stderr, "synclab %s: %s\n", cmd, msg);
	else
		fprintf(stderr, "synclab: %s\n", msg);
	return SL_EXIT_USAGE;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synclab <command> [options]\n"
		"       synclab help <command> | synclab <command> --help\n"
		"       synclab --version\n\n"
		"A concurrency lab and lock benchmark harness: pins threads, runs one\n"
		"synchronization primitive under the contention you dial in, counts what\n"
		"the hardware and kernel saw, verifies the primitive kept its promise, and\n"
		"writes a table, CSV and charts.\n\n"
		"commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nexample:\n  synclab bench mutex,pthread-mutex --threads 1,2,4,8 --csv out.csv\n"
		   "\nSee synclab(1) for every option, primitive and CSV column.\n");
}

static const struct sl_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	const char *names[NCOMMANDS];
	const char *s;
	char msg[256];

	for (size_t i = 0; i < NCOMMANDS; i++)
		names[i] = commands[i].name;
	s = sl_suggest(name, names, NCOMMANDS);
	if (s)
		snprintf(msg, sizeof(msg),
			 "unknown command '%s' (did you mean '%s'?)", name, s);
	else
		snprintf(msg, sizeof(msg),
			 "unknown command '%s' (see 'synclab --help')", name);
	return sl_usage_error(NULL, msg);
}

static int cmd_help(int argc, char **argv)
{
	const struct sl_cmd *c;
	char *help_argv[] = { NULL, "--help", NULL };

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return SL_EXIT_OK;
	}
	if (argc > 2)
		return sl_usage_error("help", "takes one command name");
	c = find_command(argv[1]);
	if (!c)
		return unknown_command(argv[1]);
	if (c->fn == cmd_help) {
		usage(stdout);
		return SL_EXIT_OK;
	}
	help_argv[0] = (char *)c->name;
	return c->fn(2, help_argv);
}

static int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
		return sl_usage_error("version", "takes no arguments");
	if (argc > 1) {
		printf("usage: synclab version\n\nPrint synclab's version.\n");
		return SL_EXIT_OK;
	}
	printf("synclab %s\n", sl_version());
	return SL_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct sl_cmd *c;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return SL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		rc = SL_EXIT_OK;
	} else if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		rc = cmd_version(1, argv + 1);
	} else if (argv[1][0] == '-') {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "unknown option '%s' before the command (accepted: --help, --version)",
			 argv[1]);
		return sl_usage_error(NULL, msg);
	} else {
		c = find_command(argv[1]);
		if (!c)
			return unknown_command(argv[1]);
		rc = c->fn(argc - 1, argv + 1);
	}
	/* A full disk or a closed pipe is never a silent success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "synclab: write failure on standard output: %s\n",
			strerror(errno));
		return rc ? rc : SL_EXIT_FAIL;
	}
	return rc;
}
